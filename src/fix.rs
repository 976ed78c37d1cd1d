//! `--fix` and `--diff`: apply the safe rewrites that findings carry.
//!
//! Edits are made on the original text at the statements' spans, so comments,
//! formatting and line endings elsewhere stay byte for byte as they were. A
//! file that was not valid UTF-8 is never rewritten (its bytes could not be
//! written back exactly); a byte-order mark is kept.

use crate::check::Report;
use crate::finding::{Applicability, Edit, Finding};
use crate::source::SourceFile;
use std::collections::{BTreeMap, BTreeSet};

/// The edits planned for one file.
#[derive(Clone, Debug)]
pub struct FilePlan {
    /// The file as the user would write it.
    pub name: String,
    pub path: Option<std::path::PathBuf>,
    pub had_bom: bool,
    /// A UTF-16 file is written back in UTF-16, with its BOM.
    pub utf16: Option<crate::source::Utf16>,
    pub original: String,
    pub fixed: String,
    /// (line, rule, description) of each applied fix.
    pub applied: Vec<(usize, String, String)>,
    /// Fixes left out, with the reason.
    pub refused: Vec<(usize, String, String)>,
    /// (line, rule, description) of the unsafe fixes left out because
    /// `--unsafe-fixes` was not given (display-only ones are never listed).
    pub unsafe_skipped: Vec<(usize, String, String)>,
}

/// Which fixes `--fix` and `--diff` apply: the safe ones, and the unsafe
/// ones too with `--unsafe-fixes`; display-only fixes never.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applying {
    pub unsafe_fixes: bool,
}

impl Applying {
    pub fn applies(self, a: Applicability) -> bool {
        match a {
            Applicability::Safe => true,
            Applicability::Unsafe => self.unsafe_fixes,
            Applicability::DisplayOnly => false,
        }
    }
}

impl FilePlan {
    pub fn changed(&self) -> bool {
        self.original != self.fixed
    }

    /// The bytes to write: the fixed text, with the BOM back if it had one.
    pub fn bytes(&self) -> Vec<u8> {
        crate::source::encode(&self.fixed, self.had_bom, self.utf16)
    }

    /// The bytes the file held when it was read (fixes are only planned on
    /// files that were valid UTF-8).
    pub fn original_bytes(&self) -> Vec<u8> {
        crate::source::encode(&self.original, self.had_bom, self.utf16)
    }

    /// A unified diff of the change (empty when nothing changes).
    pub fn diff(&self) -> String {
        if !self.changed() {
            return String::new();
        }
        similar::TextDiff::from_lines(&self.original, &self.fixed)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("a/{}", crate::escape::printable(&self.name)),
                &format!("b/{}", crate::escape::printable(&self.name)),
            )
            .to_string()
    }
}

/// Plans the safe fixes of all findings in a report (see [`plan_with`]).
pub fn plan(report: &Report) -> Vec<FilePlan> {
    plan_with(report, Applying::default())
}

/// Plans the fixes of all findings in a report that `mode` applies, per
/// file, in file order. Overlapping edits keep the first finding's fix and
/// refuse the others.
pub fn plan_with(report: &Report, mode: Applying) -> Vec<FilePlan> {
    let mut by_file: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.fix.is_some()) {
        if let Some(i) = report.files.iter().position(|s| s.name == f.file) {
            by_file.entry(i).or_default().push(f);
        }
    }
    by_file
        .into_iter()
        .map(|(i, findings)| plan_file(&report.files[i], &findings, mode))
        .collect()
}

fn plan_file(file: &SourceFile, findings: &[&Finding], mode: Applying) -> FilePlan {
    let mut plan = FilePlan {
        name: file.name.clone(),
        path: file.path.clone(),
        had_bom: file.had_bom,
        utf16: file.utf16,
        original: file.text.clone(),
        fixed: file.text.clone(),
        applied: Vec::new(),
        refused: Vec::new(),
        unsafe_skipped: Vec::new(),
    };
    let findings: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| {
            let Some(fix) = &f.fix else { return false };
            if mode.applies(fix.applicability) {
                return true;
            }
            if fix.applicability == Applicability::Unsafe {
                plan.unsafe_skipped
                    .push((f.line, f.rule.clone(), fix.description.clone()));
            }
            false
        })
        .collect();
    if file.lossy {
        for f in findings {
            plan.refused.push((
                f.line,
                f.rule.clone(),
                if file.utf16.is_some() {
                    "the file is not valid UTF-16, so it is not rewritten".into()
                } else {
                    "the file is not valid UTF-8, so it is not rewritten".into()
                },
            ));
        }
        return plan;
    }
    let mut taken: Vec<Edit> = Vec::new();
    for f in &findings {
        let Some(fix) = &f.fix else { continue };
        let valid = fix.edits.iter().all(|e| {
            e.span.start <= e.span.end
                && e.span.end <= file.text.len()
                && file.text.is_char_boundary(e.span.start)
                && file.text.is_char_boundary(e.span.end)
        });
        let overlaps = fix
            .edits
            .iter()
            .any(|e| taken.iter().any(|t| overlap(&t.span, &e.span)));
        if !valid {
            plan.refused
                .push((f.line, f.rule.clone(), "the edit is out of range".into()));
        } else if overlaps {
            plan.refused.push((
                f.line,
                f.rule.clone(),
                "it overlaps another fix; run --fix again to apply it".into(),
            ));
        } else {
            taken.extend(fix.edits.iter().cloned());
            plan.applied
                .push((f.line, f.rule.clone(), fix.description.clone()));
        }
    }
    plan.fixed = apply_edits(&file.text, &taken);
    plan
}

/// Two spans overlap, or are the same insertion point (two insertions at one
/// place would have an unclear order).
fn overlap(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    (a.start < b.end && b.start < a.end) || a.start == b.start
}

/// Applies non-overlapping edits to `text`.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    for e in sorted {
        if e.span.start < pos {
            continue;
        }
        out.push_str(&text[pos..e.span.start]);
        out.push_str(&e.replacement);
        pos = e.span.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// Rule whose fix needs the schema.
const INSERT_RULE: &str = "insert-without-conflict-clause";

/// Attaches fixes to `insert-without-conflict-clause` findings, where the
/// target table has a primary key or unique constraint covering the inserted
/// columns at that point of the migration history; elsewhere adds a note
/// saying why there is no fix. The history is followed statically (see
/// [`crate::schema::Catalog`]), one catalog per sequence.
pub fn attach_insert_fixes(ws: &crate::check::Workspace, findings: &mut [Finding], jobs: usize) {
    use std::collections::HashMap;
    let mut wanted: HashMap<(&str, usize), Vec<usize>> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if f.rule == INSERT_RULE && f.fix.is_none() {
            if let Some(s) = f.statement {
                wanted.entry((f.file.as_str(), s)).or_default().push(i);
            }
        }
    }
    // COPY (PostgreSQL) has no conflict clause: nothing to fix.
    let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(ws.files.len());
    for (i, u) in ws.files.iter().enumerate() {
        by_name.entry(u.source.name.as_str()).or_insert(i);
    }
    wanted.retain(|(file, si), _| {
        by_name
            .get(file)
            .and_then(|&i| ws.files.get(i))
            .and_then(|u| u.statements.get(*si))
            .is_none_or(|st| st.facts.keyword != "COPY")
    });
    if wanted.is_empty() {
        return;
    }
    let mut outcomes: Vec<(usize, Result<crate::finding::Fix, String>)> = Vec::new();
    for seq in &ws.sequences {
        let stmts: Vec<(&crate::check::FileUnit, usize, &crate::analysis::Statement)> = seq
            .migrations
            .iter()
            .flat_map(|m| {
                let unit = &ws.files[m.up.file];
                m.up.statements
                    .iter()
                    .filter_map(move |&si| unit.statements.get(si).map(|st| (unit, si, st)))
            })
            .collect();
        let mut relevant = relevant_names(
            stmts
                .iter()
                .filter(|(u, si, _)| wanted.contains_key(&(u.source.name.as_str(), *si)))
                .map(|(_, _, st)| *st),
            stmts.iter().map(|(_, _, st)| *st),
        );
        // Which statements are parsed: the INSERTs to fix, and only the
        // statements that can change the keys of the tables these INSERTs
        // write (parsing is the costly step). Decided in order from the
        // tokens alone (`mentions` follows the names as tables are created).
        let parse: Vec<bool> = stmts
            .iter()
            .map(|&(unit, si, stmt)| {
                wanted.contains_key(&(unit.source.name.as_str(), si))
                    || (changes_schema(&stmt.facts.kind)
                        && relevant
                            .as_mut()
                            .is_none_or(|names| mentions(unit, stmt, names)))
            })
            .collect();
        // They are parsed on `jobs` threads, a window of a few at a time
        // (with one thread, one at a time): a long history's ASTs never sit
        // in memory together. The catalog follows the history in order.
        let mut catalog = crate::schema::Catalog::default();
        let mut start = 0;
        while start < stmts.len() {
            let mut window: Vec<usize> = Vec::new();
            let mut bytes = 0;
            let mut end = start;
            while end < stmts.len()
                && (window.is_empty()
                    || (jobs > 1 && window.len() < PARSE_AHEAD && bytes < PARSE_AHEAD_BYTES))
            {
                if parse[end] {
                    window.push(end);
                    bytes += stmts[end].2.sql.len();
                }
                end += 1;
            }
            let parsed =
                crate::parallel::map(jobs, &mut window, |_, k| stmts[*k].2.parse_transient());
            for (k, parsed) in window.into_iter().zip(parsed) {
                let (unit, si, stmt) = stmts[k];
                let Some(ast) = parsed else {
                    continue;
                };
                if let Some(idxs) = wanted.get(&(unit.source.name.as_str(), si)) {
                    let outcome = insert_fix(&catalog, unit, stmt, &ast);
                    outcomes.extend(idxs.iter().map(|&i| (i, outcome.clone())));
                }
                catalog.apply(&ast);
            }
            start = end;
        }
    }
    for (i, outcome) in outcomes {
        match outcome {
            Ok(fix) => findings[i].fix = Some(fix),
            Err(why) => findings[i].notes.push(why),
        }
    }
}

/// Statements parsed together by [`attach_insert_fixes`] with several
/// threads, and their SQL at most (an AST takes about 85 bytes per byte of
/// SQL, so a window's ASTs stay under about 20 MiB).
const PARSE_AHEAD: usize = 64;
const PARSE_AHEAD_BYTES: usize = 256 << 10;

/// Migrations that their tool runs again by design (Flyway repeatables, which
/// run again whenever they change; Flyway callbacks; Liquibase `runOnChange` /
/// `runAlways`) are re-run *to change* what they define. There
/// `CREATE VIEW IF NOT EXISTS` (or a trigger's or materialized view's) would
/// keep the old definition on a database where it already exists, so that fix
/// is taken back; the help says to drop the object first. `CREATE OR REPLACE`
/// fixes (views in PostgreSQL and MySQL) stay: they do what a re-run means.
pub fn withdraw_stale_definition_fixes(ws: &crate::check::Workspace, findings: &mut [Finding]) {
    use crate::classify::{Kind, ObjectKind};
    let mut rerun: BTreeSet<(&str, usize)> = BTreeSet::new();
    for seq in &ws.sequences {
        for m in seq.migrations.iter().filter(|m| m.rerun_note.is_some()) {
            let Some(unit) = ws.files.get(m.up.file) else {
                continue;
            };
            for &s in &m.up.statements {
                rerun.insert((unit.source.name.as_str(), s));
            }
        }
    }
    if rerun.is_empty() {
        return;
    }
    for f in findings.iter_mut() {
        let Some(s) = f.statement else { continue };
        if f.rule != "create-without-if-not-exists" || !rerun.contains(&(f.file.as_str(), s)) {
            continue;
        }
        let Some(fix) = &f.fix else { continue };
        let if_not_exists = fix
            .edits
            .iter()
            .any(|e| e.replacement.trim().eq_ignore_ascii_case("IF NOT EXISTS"));
        let Some(unit) = ws.files.iter().find(|u| u.source.name == f.file) else {
            continue;
        };
        let Some(Kind::Create(c)) = unit.statements.get(s).map(|st| &st.facts.kind) else {
            continue;
        };
        if !if_not_exists
            || !matches!(
                c.kind,
                ObjectKind::View | ObjectKind::MaterializedView | ObjectKind::Trigger
            )
        {
            continue;
        }
        let kind = c.kind.sql();
        let name = c
            .name
            .as_ref()
            .map_or_else(String::new, |n| format!(" {}", n.text(&unit.source.text)));
        let on = match (&c.table, c.kind, unit.dialect) {
            (Some(t), ObjectKind::Trigger, crate::dialect::Dialect::Postgres) => {
                format!(" ON {}", t.text(&unit.source.text))
            }
            _ => String::new(),
        };
        f.fix = None;
        f.help = Some(format!(
            "this migration runs again when it changes, and `IF NOT EXISTS` would keep the old {noun} where it already exists: drop it first with `DROP {kind} IF EXISTS{name}{on};`",
            noun = kind.to_lowercase(),
        ));
    }
}

/// The lower-cased object names that matter to the catalog for `inserts`:
/// their target tables and, following renames backwards through `all`, the
/// names those tables had before. `None`: an INSERT's table could not be
/// told from its tokens, so every statement matters.
fn relevant_names<'a>(
    inserts: impl Iterator<Item = &'a crate::analysis::Statement>,
    all: impl DoubleEndedIterator<Item = &'a crate::analysis::Statement>,
) -> Option<std::collections::HashSet<String>> {
    use crate::classify::{AlterObjectOp, AlterOp, Kind};
    let mut names = std::collections::HashSet::new();
    for st in inserts {
        match &st.facts.kind {
            Kind::Insert(i) => match &i.table {
                Some(n) if !n.object().is_empty() && !n.object().contains('$') => {
                    names.insert(n.object().to_lowercase());
                }
                _ => return None,
            },
            _ => return None,
        }
    }
    for st in all.rev() {
        let add = |from: &str, to: &str, names: &mut std::collections::HashSet<String>| {
            if names.contains(&to.to_lowercase()) {
                names.insert(from.to_lowercase());
            }
        };
        match &st.facts.kind {
            Kind::AlterTable(a) => {
                for action in &a.actions {
                    if let (AlterOp::RenameTo { new }, Some(t)) = (&action.op, &a.table) {
                        add(t.object(), new.object(), &mut names);
                    }
                }
            }
            Kind::RenameTables(pairs) => {
                for p in pairs {
                    add(p.from.object(), p.to.object(), &mut names);
                }
            }
            Kind::AlterObject(o) => {
                if let (AlterObjectOp::RenameTo { new }, Some(n)) = (&o.op, &o.name) {
                    add(n.object(), new.object(), &mut names);
                }
            }
            _ => {}
        }
    }
    Some(names)
}

/// Whether the statement names one of `relevant` (compared case-blind,
/// quotes removed). An index created on a relevant table makes its own name
/// relevant, so that a later `DROP INDEX name` is followed too.
fn mentions(
    unit: &crate::check::FileUnit,
    stmt: &crate::analysis::Statement,
    relevant: &mut std::collections::HashSet<String>,
) -> bool {
    use crate::lexer::TokenKind;
    let hit = stmt.tokens.iter().any(|t| {
        matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent) && {
            let raw = unit.source.text.get(t.span.clone()).unwrap_or("");
            relevant.contains(&crate::classify::unquote(raw).to_lowercase())
        }
    });
    if hit {
        if let crate::classify::Kind::Create(c) = &stmt.facts.kind {
            if let Some(n) = &c.name {
                relevant.insert(n.object().to_lowercase());
            }
        }
    }
    hit
}

/// Whether a statement of this kind can change the tables and keys that
/// [`crate::schema::Catalog`] follows.
fn changes_schema(kind: &crate::classify::Kind) -> bool {
    use crate::classify::Kind;
    !matches!(
        kind,
        Kind::Insert(_)
            | Kind::Update(_)
            | Kind::Delete(_)
            | Kind::Truncate(_)
            | Kind::Transaction(_)
            | Kind::Pragma(_)
            | Kind::Set(_)
            | Kind::Query
    )
}

fn find_insert(ast: &sqlparser::ast::Statement) -> Option<&sqlparser::ast::Insert> {
    use sqlparser::ast::{SetExpr, Statement};
    match ast {
        Statement::Insert(i) => Some(i),
        Statement::Query(q) => match q.body.as_ref() {
            SetExpr::Insert(Statement::Insert(i)) => Some(i),
            _ => None,
        },
        _ => None,
    }
}

fn insert_fix(
    catalog: &crate::schema::Catalog,
    unit: &crate::check::FileUnit,
    stmt: &crate::analysis::Statement,
    ast: &sqlparser::ast::Statement,
) -> Result<crate::finding::Fix, String> {
    use crate::dialect::Dialect;
    use crate::lexer::TokenKind;
    use crate::schema::{ident_key, object_key};
    let no_fix = "no automatic fix";
    let insert =
        find_insert(ast).ok_or_else(|| format!("{no_fix}: the INSERT could not be read"))?;
    let sqlparser::ast::TableObject::TableName(name) = &insert.table else {
        return Err(format!("{no_fix}: the target is not a plain table"));
    };
    let table = object_key(name);
    // As the statement writes it (with its schema) for the messages.
    let shown = name.to_string();
    let Some(info) = catalog.table(&table) else {
        return Err(format!(
            "{no_fix}: table `{shown}` is not created by the migrations before this one, so its keys are unknown"
        ));
    };
    let columns: BTreeSet<String> = if !insert.assignments.is_empty() {
        // MySQL's `INSERT INTO t SET a = 1, b = 2`.
        insert
            .assignments
            .iter()
            .filter_map(|a| match &a.target {
                sqlparser::ast::AssignmentTarget::ColumnName(n) => {
                    n.0.last().and_then(|p| p.as_ident()).map(ident_key)
                }
                sqlparser::ast::AssignmentTarget::Tuple(_) => None,
            })
            .collect()
    } else if insert.columns.is_empty() {
        info.columns.iter().cloned().collect()
    } else {
        insert
            .columns
            .iter()
            .filter_map(|c| c.0.last().and_then(|p| p.as_ident()).map(ident_key))
            .collect()
    };
    if !catalog.has_key_within(&table, &columns) {
        return Err(format!(
            "{no_fix}: `{shown}` has no primary key or unique constraint on the inserted columns, so a conflict clause would not stop duplicates; guard the insert instead (`INSERT INTO {shown} (...) SELECT ... WHERE NOT EXISTS (SELECT 1 FROM {shown} WHERE ...)`)"
        ));
    }
    let text = &unit.source.text;
    let word = |t: &crate::lexer::Token, w: &str| {
        t.kind == TokenKind::Word && text[t.span.clone()].eq_ignore_ascii_case(w)
    };
    let insert_kw = stmt
        .tokens
        .iter()
        .find(|t| word(t, "INSERT"))
        .ok_or_else(|| format!("{no_fix}: no INSERT keyword found"))?;
    // SQLite's `OR IGNORE` and MySQL's `IGNORE` skip more than the duplicate
    // key: a row that breaks NOT NULL or CHECK (SQLite), or is truncated or
    // out of range (MySQL), is dropped or bent instead of failing the
    // migration. Postgres' `ON CONFLICT DO NOTHING` skips conflicts only.
    use crate::finding::Applicability;
    let (edit, description, applicability) = match unit.dialect {
        Dialect::Generic => {
            // `INSERT OR IGNORE`, `ON CONFLICT` and `INSERT IGNORE` each exist
            // in some databases only: any of them could break the one that
            // runs the migration.
            return Err(format!(
                "{no_fix}: the generic dialect has no conflict clause that every database accepts; name the dialect (`--dialect sqlite|postgres|mysql`) to get one"
            ));
        }
        Dialect::Sqlite => {
            // `INSERT OR ABORT|FAIL|ROLLBACK` becomes `INSERT OR IGNORE`.
            let pos = stmt.tokens.iter().position(|t| t.span == insert_kw.span);
            let or_clause = pos.and_then(|i| {
                let (or, what) = (stmt.tokens.get(i + 1)?, stmt.tokens.get(i + 2)?);
                word(or, "OR").then_some(or.span.start..what.span.end)
            });
            let edit = match or_clause {
                Some(span) => Edit {
                    span,
                    replacement: "OR IGNORE".into(),
                },
                None => Edit {
                    span: insert_kw.span.end..insert_kw.span.end,
                    replacement: " OR IGNORE".into(),
                },
            };
            (edit, "use `INSERT OR IGNORE`", Applicability::Unsafe)
        }
        Dialect::Mysql => (
            Edit {
                span: insert_kw.span.end..insert_kw.span.end,
                replacement: " IGNORE".into(),
            },
            "use `INSERT IGNORE`",
            Applicability::Unsafe,
        ),
        Dialect::Postgres => {
            // Before a top-level RETURNING, else at the end of the statement.
            let mut depth = 0i32;
            let mut at = None;
            for t in &stmt.tokens {
                match &text[t.span.clone()] {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    _ if depth == 0 && word(t, "RETURNING") => {
                        at = Some(t.span.start);
                        break;
                    }
                    _ => {}
                }
            }
            match at {
                Some(p) => (
                    Edit {
                        span: p..p,
                        replacement: "ON CONFLICT DO NOTHING ".into(),
                    },
                    "add `ON CONFLICT DO NOTHING`",
                    Applicability::Safe,
                ),
                None => (
                    Edit {
                        span: stmt.span.end..stmt.span.end,
                        replacement: " ON CONFLICT DO NOTHING".into(),
                    },
                    "add `ON CONFLICT DO NOTHING`",
                    Applicability::Safe,
                ),
            }
        }
    };
    Ok(crate::finding::Fix {
        description: description.into(),
        edits: vec![edit],
        applicability,
    })
}

/// What `--fix` / `--diff` did.
#[derive(Debug)]
pub struct FixRun {
    /// One plan per file that had fixable findings; refused fixes included.
    pub plans: Vec<FilePlan>,
    /// The check of the fixed files (what remains to be done by hand).
    pub report: Report,
}

/// Plans the fixes for `inputs`, verifies them and returns the plans and the
/// report of the fixed text. Nothing is written here.
///
/// Verification: the fixed files are checked again, from memory. A file whose
/// fixed text makes a migration fail its first run on replay, or makes a
/// statement unreadable, keeps its original text (each of its fixes is
/// refused with the reason). `--fix` run on its own output changes nothing.
pub fn run(
    inputs: &[crate::discover::Input],
    opts: &crate::check::Options,
) -> crate::error::Result<FixRun> {
    run_with(inputs, opts, Applying::default())
}

/// [`run`], applying the fixes `mode` allows (`--unsafe-fixes`).
pub fn run_with(
    inputs: &[crate::discover::Input],
    opts: &crate::check::Options,
    mode: Applying,
) -> crate::error::Result<FixRun> {
    use std::collections::HashMap;
    use std::sync::Arc;
    let before = crate::check::check(inputs, opts)?;
    let mut plans = plan_with(&before, mode);
    let broken_before = broken_counts(&before);
    let mut verified = None;
    // Files in the order they were read: migrations in history order.
    let order: BTreeMap<String, usize> = before
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    // Each round either verifies the remaining fixes or refuses at least one
    // more file's fixes, so this ends.
    for _ in 0..=plans.len() {
        let overlay: HashMap<std::path::PathBuf, Vec<u8>> = plans
            .iter()
            .filter(|p| p.changed())
            .map(|p| {
                let key = p
                    .path
                    .clone()
                    .unwrap_or_else(|| crate::check::Options::STDIN_OVERLAY.into());
                (key, p.bytes())
            })
            .collect();
        if overlay.is_empty() {
            break;
        }
        let mut o = opts.clone();
        o.overlay = Some(Arc::new(overlay));
        let after = crate::check::check(inputs, &o)?;
        let broken_after = broken_counts(&after);
        // The first finding of each (file, rule) that broke: where and why.
        let newly_broken: Vec<&Finding> = broken_after
            .iter()
            .filter(|(key, n)| broken_before.get(*key).copied().unwrap_or(0) < **n)
            .filter_map(|((file, rule), _)| {
                after
                    .findings
                    .iter()
                    .find(|f| f.file == *file && f.rule == *rule)
            })
            .collect();
        if newly_broken.is_empty() {
            verified = Some(after);
            break;
        }
        // The file that broke loses its fixes. A break in a file whose fixes
        // are gone already (or that had none) comes from fixes in earlier
        // files of its history (an earlier migration now succeeds, say): the
        // nearest earlier file with fixes loses them, and so on, round by
        // round; with none before it, every remaining fix goes.
        let mut refused_any = false;
        for f in &newly_broken {
            if let Some(p) = plans.iter_mut().find(|p| p.name == f.file && p.changed()) {
                refuse(p, f);
                refused_any = true;
            }
        }
        if !refused_any {
            let broken = newly_broken[0];
            let limit = order.get(broken.file.as_str()).copied().unwrap_or(0);
            let nearest = plans
                .iter_mut()
                .filter(|p| p.changed())
                .filter(|p| order.get(p.name.as_str()).is_some_and(|&i| i < limit))
                .max_by_key(|p| order.get(p.name.as_str()).copied());
            match nearest {
                Some(p) => refuse(p, broken),
                None => {
                    for p in plans.iter_mut().filter(|p| p.changed()) {
                        refuse(p, broken);
                    }
                }
            }
        }
    }
    // Without verified fixes nothing is written: what remains is what was there.
    let report = verified.unwrap_or(before);
    Ok(FixRun { plans, report })
}

/// Writes the changed files of `plans` (those with a path), all or none.
///
/// - Each file is written to a temporary file in its own folder (same
///   permissions), synced, then renamed over the original: a `kill -9` or a
///   full disk leaves either the old file or the new one, never a truncated
///   one.
/// - Before anything is renamed, every file is checked: still the bytes that
///   were read and fixed (else it changed on disk since: refused), a regular
///   file, writable, and its temporary file written and synced. A failure
///   there writes nothing at all, so an error never leaves a half-fixed
///   folder.
/// - A symbolic link is written through (its target is replaced) only when
///   the target lies inside a folder given on the command line or is a file
///   named there; `--fix` never writes to a file outside what was checked.
///
/// Returns the names of the files written.
pub fn write_all(
    plans: &[FilePlan],
    inputs: &[crate::discover::Input],
) -> crate::error::Result<Vec<String>> {
    use crate::error::Error;
    use std::path::{Path, PathBuf};
    let roots: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|i| match i {
            crate::discover::Input::Path(p) => std::fs::canonicalize(p).ok(),
            crate::discover::Input::Stdin => None,
        })
        .collect();
    let inside = |target: &Path| roots.iter().any(|r| target == r || target.starts_with(r));
    /// A temporary file, removed on drop unless renamed.
    struct Temp(Option<PathBuf>);
    impl Drop for Temp {
        fn drop(&mut self) {
            if let Some(p) = self.0.take() {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    // (plan, target, temp)
    let mut staged: Vec<(&FilePlan, PathBuf, Temp)> = Vec::new();
    for plan in plans.iter().filter(|p| p.changed()) {
        let Some(path) = &plan.path else { continue };
        let shown = crate::escape::printable(&plan.name).into_owned();
        let fail = |what: String| {
            Error::new(format!(
                "{shown}: {what}; nothing was written (no file was changed), run `twice check --fix` again"
            ))
        };
        let link = std::fs::symlink_metadata(path)
            .map_err(|e| fail(format!("cannot be read again ({e})")))?;
        // Where the bytes really are (through links, of the file or of a
        // folder on the way): it must be inside what was given.
        let target = std::fs::canonicalize(path)
            .map_err(|e| fail(format!("cannot be found again ({e})")))?;
        if !inside(&target) {
            let how = if link.file_type().is_symlink() {
                "is a symbolic link to"
            } else {
                "lies, through a linked folder, at"
            };
            return Err(fail(format!(
                "{how} {}, outside the folders and files given; --fix does not write there \
                 (name that file to fix it, or replace the link by a copy)",
                crate::escape::printable(&target.to_string_lossy())
            )));
        }
        let meta =
            std::fs::metadata(&target).map_err(|e| fail(format!("cannot be read again ({e})")))?;
        if !meta.is_file() {
            return Err(fail("is no longer a regular file".into()));
        }
        let on_disk = crate::source::read_regular(&target)
            .map_err(|e| fail(format!("cannot be read again ({e})")))?;
        if on_disk != plan.original_bytes() {
            return Err(fail(
                "changed on disk since twice read it, so the fixes were planned and verified \
                 on other text"
                    .into(),
            ));
        }
        if meta.permissions().readonly() || !writable(&target) {
            return Err(fail("is not writable (permission denied)".into()));
        }
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = target
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut temp = Temp(None);
        let mut file = None;
        for n in 0..100u32 {
            let p = dir.join(format!(".{base}.twice-fix-{}-{n}.tmp", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
            {
                Ok(f) => {
                    temp.0 = Some(p);
                    file = Some(f);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(fail(format!(
                        "its folder is not writable, so it cannot be replaced safely ({e})"
                    )))
                }
            }
        }
        let Some(mut file) = file else {
            return Err(fail("no temporary file could be created beside it".into()));
        };
        use std::io::Write;
        file.write_all(&plan.bytes())
            .and_then(|()| file.set_permissions(meta.permissions()))
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                fail(format!(
                    "the fixed text could not be written beside it ({e})"
                ))
            })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            use std::os::unix::io::AsRawFd;
            // Keep the owner when twice may (running as root); else it is
            // the invoking user's file already.
            // SAFETY: a valid open descriptor.
            unsafe {
                libc::fchown(file.as_raw_fd(), meta.uid(), meta.gid());
            }
        }
        staged.push((plan, target, temp));
    }
    let mut written = Vec::new();
    for (plan, target, mut temp) in staged {
        // The last look before the switch: still the text that was fixed.
        if crate::source::read_regular(&target).ok().as_deref() != Some(&plan.original_bytes()[..])
        {
            return Err(Error::new(format!(
                "{}: changed on disk while --fix was writing; left as it is{}",
                crate::escape::printable(&plan.name),
                if written.is_empty() {
                    String::new()
                } else {
                    format!(" (already written: {})", written.join(", "))
                }
            )));
        }
        let Some(tmp) = temp.0.clone() else { continue };
        std::fs::rename(&tmp, &target).map_err(|e| {
            Error::new(format!(
                "{}: could not be replaced by its fixed text ({e}); left as it is{}",
                crate::escape::printable(&plan.name),
                if written.is_empty() {
                    String::new()
                } else {
                    format!(" (already written: {})", written.join(", "))
                }
            ))
        })?;
        temp.0 = None;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        written.push(crate::escape::printable(&plan.name).into_owned());
    }
    Ok(written)
}

/// Whether the current user may write `path` (`access(2)`, which also
/// knows about read-only mounts).
fn writable(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: a NUL-terminated path.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

/// Takes back every fix of `plan`, saying which finding of the fixed text
/// made it unsafe.
fn refuse(plan: &mut FilePlan, broken: &Finding) {
    let what = match broken.rule.as_str() {
        "first-run-error" => "no longer applies cleanly on its first run",
        _ => "can no longer be read",
    };
    let why = format!(
        "with the fixes applied, {}:{} {what} ({}: {})",
        broken.file, broken.line, broken.rule, broken.message
    );
    for (line, rule, _) in plan.applied.drain(..) {
        plan.refused.push((line, rule, why.clone()));
    }
    plan.fixed = plan.original.clone();
}

/// Per (file, rule), how many findings say a statement is broken.
fn broken_counts(r: &Report) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for f in &r.findings {
        if matches!(
            f.rule.as_str(),
            "first-run-error" | "syntax-error" | "unparsed-statement"
        ) {
            *m.entry((f.file.clone(), f.rule.clone())).or_insert(0) += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(span: std::ops::Range<usize>, s: &str) -> Edit {
        Edit {
            span,
            replacement: s.into(),
        }
    }

    #[test]
    fn edits_apply_in_order_and_keep_the_rest() {
        let text = "CREATE TABLE a (x);\r\nDROP TABLE b;\r\n";
        let out = apply_edits(
            text,
            &[edit(31..31, " IF EXISTS"), edit(12..12, " IF NOT EXISTS")],
        );
        assert_eq!(
            out,
            "CREATE TABLE IF NOT EXISTS a (x);\r\nDROP TABLE IF EXISTS b;\r\n"
        );
    }

    #[test]
    fn overlapping_edits_are_detected() {
        assert!(overlap(&(5..5), &(5..5)));
        assert!(overlap(&(3..8), &(5..6)));
        assert!(!overlap(&(3..5), &(5..6)));
    }
}
