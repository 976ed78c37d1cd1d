//! The fixes that need the whole sequence, attached after the statement
//! rules ran: the INSERT fix, which needs the schema at that point of the
//! migration history, and the withdrawal of definition fixes a later
//! migration makes stale. Called by the pipeline (`check.rs`); `fix.rs`
//! applies what findings carry.

use crate::finding::{Edit, Finding};
use std::collections::BTreeSet;

/// Rule whose fix needs the schema.
const INSERT_RULE: &str = super::insert_without_conflict_clause::META.id;

/// Statements parsed ahead of the catalog by [`attach_insert_fixes`] with
/// several threads, and their SQL at most (an AST takes about 85 bytes per
/// byte of SQL, so the ASTs waiting stay under about 20 MiB; those the
/// catalog is done with wait for a parsing thread to drop them, about as
/// many at most).
pub(crate) const PARSE_AHEAD: usize = 64;
pub(crate) const PARSE_AHEAD_BYTES: usize = 256 << 10;

/// Attaches fixes to `insert-without-conflict-clause` findings, where the
/// target table has a primary key or unique constraint covering the inserted
/// columns at that point of the migration history; elsewhere adds a note
/// saying why there is no fix. The history is followed statically (see
/// [`crate::schema::Catalog`]), one catalog per sequence.
pub fn attach_insert_fixes(ws: &crate::report::Workspace, findings: &mut [Finding], jobs: usize) {
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
        let stmts: Vec<(&crate::report::FileUnit, usize, &crate::analysis::Statement)> = seq
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
        // An INSERT the static rules parsed already left what its fix needs
        // (`insert_target`).
        let parse: Vec<bool> = stmts
            .iter()
            .map(|&(unit, si, stmt)| {
                (wanted.contains_key(&(unit.source.name.as_str(), si))
                    && stmt.insert_target.is_none())
                    || (changes_schema(&stmt.facts.kind)
                        && relevant
                            .as_mut()
                            .is_none_or(|names| mentions(unit, stmt, names)))
            })
            .collect();
        // They are parsed on `jobs` threads, a few ahead of the catalog
        // (with one thread, one at a time): a long history's ASTs never sit
        // in memory together. The catalog follows the history in order, on
        // this thread, while the others parse what comes next.
        // The ASTs the catalog is done with are dropped by the thread that
        // parsed each, before its next parse (see `parallel::Recycler`).
        let done: crate::parallel::Recycler<Box<sqlparser::ast::Statement>> = Default::default();
        let to_parse: Vec<usize> = (0..stmts.len()).filter(|&k| parse[k]).collect();
        crate::parallel::stream(
            jobs,
            &to_parse,
            PARSE_AHEAD,
            PARSE_AHEAD_BYTES,
            |&k| stmts[k].2.sql.len(),
            |&k| {
                drop(done.take_own());
                stmts[k]
                    .2
                    .parse_transient()
                    .map(crate::parallel::Made::here)
            },
            |parsed| {
                let mut catalog = crate::schema::Catalog::default();
                let mut parsed = to_parse.iter().copied().zip(parsed).peekable();
                for (k, &(unit, si, stmt)) in stmts.iter().enumerate() {
                    let ast = match parsed.next_if(|(p, _)| *p == k) {
                        // Not parsable: no fix, and nothing for the catalog.
                        Some((_, None)) => continue,
                        Some((_, Some(ast))) => Some(ast),
                        None => None,
                    };
                    if let Some(idxs) = wanted.get(&(unit.source.name.as_str(), si)) {
                        let target = match (&ast, &stmt.insert_target) {
                            (Some(ast), _) => Some(std::borrow::Cow::Owned(
                                super::dml::insert_target(&ast.value),
                            )),
                            (None, Some(kept)) => Some(std::borrow::Cow::Borrowed(&**kept)),
                            (None, None) => None,
                        };
                        if let Some(target) = target {
                            let outcome = insert_fix(&catalog, unit, stmt, &target);
                            outcomes.extend(idxs.iter().map(|&i| (i, outcome.clone())));
                        }
                    }
                    if let Some(ast) = ast {
                        catalog.apply(&ast.value);
                        done.give_back(ast);
                    }
                }
            },
        );
    }
    for (i, outcome) in outcomes {
        match outcome {
            Ok(fix) => findings[i].fix = Some(fix),
            Err(why) => findings[i].notes.push(why),
        }
    }
}

/// Migrations that their tool runs again by design (Flyway repeatables, which
/// run again whenever they change; Flyway callbacks; Liquibase `runOnChange` /
/// `runAlways`) are re-run *to change* what they define. There
/// `CREATE VIEW IF NOT EXISTS` (or a trigger's or materialized view's) would
/// keep the old definition on a database where it already exists, so that fix
/// is taken back; the help says to drop the object first. `CREATE OR REPLACE`
/// fixes (views in PostgreSQL and MySQL) stay: they do what a re-run means.
pub fn withdraw_stale_definition_fixes(ws: &crate::report::Workspace, findings: &mut [Finding]) {
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
        if f.rule != super::create_without_if_not_exists::META.id
            || !rerun.contains(&(f.file.as_str(), s))
        {
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
    unit: &crate::report::FileUnit,
    stmt: &crate::analysis::Statement,
    relevant: &mut std::collections::HashSet<String>,
) -> bool {
    use crate::lexer::TokenKind;
    // Every word of every schema-changing statement is looked up: a bare
    // ASCII word is lowered into one buffer, not into two new strings.
    let mut lower = String::new();
    let hit = stmt.tokens.iter().any(|t| {
        let raw = || unit.source.text.get(t.span.clone()).unwrap_or("");
        match t.kind {
            TokenKind::Word if raw().is_ascii() => {
                lower.clear();
                lower.push_str(raw());
                lower.make_ascii_lowercase();
                relevant.contains(lower.as_str())
            }
            TokenKind::Word | TokenKind::QuotedIdent => {
                relevant.contains(&crate::classify::unquote(raw()).to_lowercase())
            }
            _ => false,
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

fn insert_fix(
    catalog: &crate::schema::Catalog,
    unit: &crate::report::FileUnit,
    stmt: &crate::analysis::Statement,
    target: &crate::schema::InsertTarget,
) -> Result<crate::finding::Fix, String> {
    use crate::dialect::Dialect;
    use crate::lexer::TokenKind;
    use crate::schema::InsertTarget;
    let no_fix = "no automatic fix";
    let (table, shown, columns, random) = match target {
        InsertTarget::Unreadable => {
            return Err(format!("{no_fix}: the INSERT could not be read"));
        }
        InsertTarget::NotATable => {
            return Err(format!("{no_fix}: the target is not a plain table"));
        }
        InsertTarget::Table {
            key,
            shown,
            columns,
            random,
        } => (key, shown, columns, random),
    };
    let Some(info) = catalog.table(table) else {
        return Err(format!(
            "{no_fix}: table `{shown}` is not created by the migrations before this one, so its keys are unknown"
        ));
    };
    let all;
    let columns: &BTreeSet<String> = match columns {
        Some(c) => c,
        None => {
            all = info.columns.iter().cloned().collect();
            &all
        }
    };
    if !catalog.has_key_within(table, columns) {
        return Err(format!(
            "{no_fix}: `{shown}` has no primary key or unique constraint on the inserted columns, so a conflict clause would not stop duplicates; guard the insert instead (`INSERT INTO {shown} (...) SELECT ... WHERE NOT EXISTS (SELECT 1 FROM {shown} WHERE ...)`)"
        ));
    }
    // A key filled with a new value on every run (`gen_random_uuid()`,
    // `nextval(...)`) never conflicts: the clause would not stop duplicates.
    if !catalog.has_stable_key_within(table, columns, random) {
        let cols: Vec<String> = random.iter().map(|c| format!("`{c}`")).collect();
        return Err(format!(
            "{no_fix}: every key of `{shown}` the INSERT fills gets a new value on each run ({}), so a conflict clause would never fire and a second run would still add the rows; guard the insert on what identifies a row instead (`INSERT INTO {shown} (...) SELECT ... WHERE NOT EXISTS (SELECT 1 FROM {shown} WHERE ...)`)",
            crate::words::first_of(&cols, cols.len(), 3)
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
