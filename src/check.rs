//! The pipeline: discover → split/parse → static rules and replay →
//! findings. Rendering is the caller's business.

use crate::discover::{self, Input};
use crate::error::Result;
use crate::finding::{Finding, Origin, Severity};
use crate::rules::{self, Context};
use crate::source::FileSource;

// The types live in leaf modules; re-exported here, where they were.
pub use crate::options::{Engine, Options, ProgressFn, ProgressHook, STATIC_PROGRESS};
use crate::report::count;
pub use crate::report::{FileUnit, Report, SequenceSummary, Summary, Workspace};
use std::collections::{BTreeMap, BTreeSet};

/// Reads and analyses the inputs from disk.
pub fn load(inputs: &[Input], opts: &Options) -> Result<Workspace> {
    load_from(inputs, opts, &FileSource::disk())
}

/// Reads and analyses the inputs, the files' bytes from `files`.
pub fn load_from(inputs: &[Input], opts: &Options, files: &FileSource) -> Result<Workspace> {
    // `--engine postgres` (mysql) reads as PostgreSQL (MySQL) only the
    // sequences nothing else names a dialect for
    // (`Options::unnamed_dialect`); the others keep theirs, and replay skips
    // them (`replay::engine_for`).
    let mut d = discover::discover(inputs, opts, files)?;
    let a = discover::analyze(&mut d, opts)?;
    let files = d
        .files
        .into_iter()
        .zip(a.statements)
        .zip(a.dialects)
        .map(|((source, statements), dialect)| FileUnit {
            source,
            dialect,
            statements,
        })
        .collect();
    let mut notices = d.notices;
    notices.extend(opts.exclude_notices());
    Ok(Workspace {
        files,
        sequences: d.sequences,
        foreign: d.foreign,
        notices,
        findings: a.findings,
        unresolved: a.unresolved,
        created_in: std::sync::OnceLock::new(),
    })
}

/// Statements whose rules run before their parsed ASTs are dropped: the
/// rules parse INSERTs and UPDATEs, and a script of 200,000 INSERTs must not
/// keep 200,000 ASTs.
const AST_BATCH: usize = 256;

/// Runs the static rules on one file. The sqlparser ASTs the rules asked for
/// are dropped as it goes (they are parsed again if asked for later).
pub fn static_findings(unit: &mut FileUnit) -> Vec<Finding> {
    let mut out = Vec::new();
    if unit.source.binary {
        out.push(rules::binary_file::META.at(
            &unit.source,
            0..0,
            "this file is binary (it holds NUL or control bytes), not SQL text".into(),
        ));
        return out;
    }
    let mut index = None;
    let mut start = 0;
    let mut cap = crate::finding::FindingCap::default();
    let insert_rule = rules::insert_without_conflict_clause::META.id;
    let mut flagged_inserts = Vec::new();
    while start < unit.statements.len() {
        let end = (start + AST_BATCH).min(unit.statements.len());
        let cx = Context::with_index(&unit.source, unit.dialect, &unit.statements, index);
        for stmt in &unit.statements[start..end] {
            let before = out.len();
            for rule in rules::static_rules() {
                rule.check(&cx, stmt, &mut out);
            }
            for f in &mut out[before..] {
                f.statement.get_or_insert(stmt.index);
            }
            if out.len() > before {
                cap.admit(&mut out, before);
            }
            if out[before..].iter().any(|f| f.rule == insert_rule) {
                flagged_inserts.push(stmt.index);
            }
        }
        index = cx.into_index();
        for stmt in &mut unit.statements[start..end] {
            // What the INSERT fix needs of a flagged INSERT the rules parsed
            // (the fix pass would parse it again otherwise).
            if flagged_inserts.contains(&stmt.index) {
                stmt.insert_target = stmt
                    .ast_if_parsed()
                    .map(|ast| Box::new(rules::dml::insert_target(ast)));
            }
            stmt.forget_parse();
        }
        flagged_inserts.clear();
        start = end;
    }
    cap.summarise(&mut out);
    out
}

/// The files of the sequences written in a dialect twice does not support,
/// with that dialect.
fn foreign_files(ws: &Workspace) -> BTreeMap<&str, crate::sniff::Family> {
    ws.sequences
        .iter()
        .filter_map(|seq| ws.foreign.get(&seq.root).map(|family| (seq, *family)))
        .flat_map(|(seq, family)| {
            seq.migrations
                .iter()
                .flat_map(|m| std::iter::once(m.up.file).chain(m.down.as_ref().map(|d| d.file)))
                .map(move |f| (f, family))
        })
        .filter_map(|(f, family)| ws.files.get(f).map(|u| (u.source.name.as_str(), family)))
        .collect()
}

/// In a sequence written in a dialect twice does not support, every other
/// statement is one the static rules cannot read, and the grammar twice
/// checks is not the one the statements are written in (T-SQL needs no `;`
/// before its next statement, and its `GO` lines are no SQL at all): one
/// notice says so for the sequence (see discovery), instead of one
/// `unparsed-statement` or `syntax-error` per statement.
fn drop_foreign_unread(ws: &Workspace, findings: &mut Vec<Finding>) {
    if ws.foreign.is_empty() {
        return;
    }
    let files = foreign_files(ws);
    let unparsed = rules::unparsed_statement::META.id;
    let syntax = rules::syntax_error::META.id;
    findings.retain(|f| {
        !((f.rule == unparsed || f.rule == syntax) && files.contains_key(f.file.as_str()))
    });
}

/// Fixes are written in the SQL of the dialects twice supports (`CREATE
/// TABLE IF NOT EXISTS`, which SQL Server and Oracle refuse), and replay,
/// which confirms them elsewhere, does not run these dialects: a sequence in
/// one of them gets findings without fixes.
fn withdraw_foreign_fixes(ws: &Workspace, findings: &mut [Finding]) {
    if ws.foreign.is_empty() {
        return;
    }
    let files = foreign_files(ws);
    for f in findings {
        let Some(family) = files.get(f.file.as_str()) else {
            continue;
        };
        if f.fix.take().is_some() {
            f.notes.push(format!(
                "no fix is offered: this history is written in {}, which twice does not support, \
                 and its fixes are written in the SQL of the dialects it supports",
                family.title()
            ));
        }
    }
}

/// The whole check of the files on disk: static rules on every file,
/// replay on every sequence.
pub fn check(inputs: &[Input], opts: &Options) -> Result<Report> {
    check_from(inputs, opts, &FileSource::disk())
}

/// The whole check, the files' bytes read from `files` (`--fix` checks its
/// edits through an overlay before writing them).
pub fn check_from(inputs: &[Input], opts: &Options, files: &FileSource) -> Result<Report> {
    let mut ws = load_from(inputs, opts, files)?;
    let scope = crate::since::mark(&mut ws, opts)?;
    let file_count = ws.files.len();
    // A file read by two sequences (a shared `.sql` beside `.sql.postgres`
    // and `.sql.sqlite` variants) is checked once, in the first; files of
    // the starting state are not checked (their findings are not reported).
    let mut checked: BTreeSet<&str> = BTreeSet::new();
    let mut to_check: Vec<bool> = Vec::with_capacity(file_count);
    for unit in &ws.files {
        let old = scope
            .as_ref()
            .is_some_and(|s| s.old_files.contains(&unit.source.name));
        to_check.push(!old && checked.insert(unit.source.name.as_str()));
    }
    drop(checked);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let unresolved = &ws.unresolved;
    // Files are checked on `--jobs` threads; their findings are merged in
    // file order, as one thread would produce them.
    let per_file = crate::parallel::map(opts.jobs, &mut ws.files, |fi, unit| {
        let started = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        opts.progress(STATIC_PROGRESS, started, file_count);
        if !to_check[fi] {
            return Vec::new();
        }
        let mut found = static_findings(unit);
        // A statement that an undefined placeholder keeps from parsing is
        // reported by `undefined-placeholder` alone.
        found.retain(|f| {
            !f.statement.is_some_and(|s| {
                unresolved.contains(&(fi, s))
                    && unit.statements.get(s).is_some_and(|st| st.ast().is_none())
            })
        });
        found
    });
    let mut findings: Vec<Finding> = per_file.into_iter().flatten().collect();
    drop_foreign_unread(&ws, &mut findings);
    crate::rules::nondeterministic_value::drop_unreachable(&ws, &mut findings, opts.jobs);
    findings.extend(ws.findings.iter().cloned());
    rules::sequence_fixes::attach_insert_fixes(&ws, &mut findings, opts.jobs);
    // Static messages are one line each by construction: a line break (or
    // any other control character) in them comes from a name in the input,
    // and is shown escaped in every format.
    for f in &mut findings {
        escape_names(f);
    }
    rules::sequence_fixes::withdraw_stale_definition_fixes(&ws, &mut findings);
    withdraw_foreign_fixes(&ws, &mut findings);
    let mut notices = ws.notices.clone();
    if let Some(scope) = &scope {
        findings.extend(scope.findings.iter().cloned());
        notices.extend(scope.notices.iter().cloned());
    }
    // Sequences are independent: they replay side by side on `--jobs`
    // threads, each on its own engine (an in-memory SQLite database, or a
    // scratch database on a throwaway cluster of its own), and what they
    // found is merged in sequence order. One throwaway PostgreSQL cluster
    // serves every sequence a thread replays; the clusters stop when the
    // pool goes, at the end of this function (or on an error or a panic).
    let pooled;
    let opts = if opts.clusters.is_none() && opts.replay {
        pooled = Options {
            clusters: Some(Default::default()),
            ..opts.clone()
        };
        &pooled
    } else {
        opts
    };
    let mut seqs: Vec<&crate::model::Sequence> = ws.sequences.iter().collect();
    // The cores are shared: the sequences replayed side by side first, and
    // what is left over goes to each of them (a sequence with two or more
    // runs its second runs on copies of the database, on a thread of its
    // own; see `replay::algorithm`).
    let side_by_side = opts.jobs.min(seqs.len()).max(1);
    let per_sequence = Options {
        jobs: (opts.jobs / side_by_side).max(1),
        ..opts.clone()
    };
    let outcomes = crate::parallel::map(opts.jobs, &mut seqs, |_, seq| {
        if !opts.replay || ws.foreign.contains_key(&seq.root) {
            return Ok(None);
        }
        crate::replay::replay_sequence(&ws, seq, &per_sequence).map(Some)
    });
    let mut sequences = Vec::new();
    let mut replayed = std::collections::BTreeSet::new();
    for (seq, outcome) in ws.sequences.iter().zip(outcomes) {
        let replay = if let Some(family) = ws.foreign.get(&seq.root).filter(|_| opts.replay) {
            format!(
                "skipped: written in {}, which twice cannot replay",
                family.title()
            )
        } else if let Some(outcome) = outcome? {
            match outcome {
                crate::replay::Outcome::Replayed(mut f) => {
                    crate::finding::cap_per_file(&mut f);
                    findings.extend(f);
                    replayed.extend(seq.migrations.iter().flat_map(|m| {
                        std::iter::once(m.up.file).chain(m.down.as_ref().map(|d| d.file))
                    }));
                    "replayed".to_string()
                }
                crate::replay::Outcome::Skipped(why) => {
                    notices.push(format!("{}: replay skipped: {why}", seq.root));
                    format!("skipped: {why}")
                }
                crate::replay::Outcome::Stopped {
                    findings: mut f,
                    reason,
                } => {
                    crate::finding::cap_per_file(&mut f);
                    findings.extend(f);
                    notices.push(format!("{}: {reason}", seq.root));
                    format!("stopped: {reason}")
                }
            }
        } else {
            "off".to_string()
        };
        sequences.push(SequenceSummary {
            root: seq.root.clone(),
            layout: seq.layout.name(),
            dialect: seq.dialect.name(),
            migrations: seq.migrations.len(),
            replay,
            // None for a dialect twice cannot replay (H2, T-SQL, ...), as
            // `twice plan` says.
            engine: (opts.engine == Engine::Auto
                && opts.replay
                && !ws.foreign.contains_key(&seq.root))
            .then(|| crate::replay::auto_engine(seq.dialect, opts).ok())
            .flatten()
            .map(|e| match e {
                Engine::Postgres => "postgres",
                Engine::Mysql => "mysql",
                _ => "sqlite",
            }),
        });
    }
    let mut findings = crate::suppress::apply(&ws, findings, &|f| replayed.contains(&f));
    if let Some(scope) = &scope {
        findings.retain(|f| scope.keeps(f));
    }
    opts.apply_rule_levels(&mut findings);
    // A file read by two sequences keeps its first place.
    let mut file_order: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, f) in ws.files.iter().enumerate() {
        file_order.entry(f.source.name.as_str()).or_insert(i);
    }
    sort_findings(&mut findings, &file_order);
    add_rerun_notes(&ws, &mut findings);
    link_related(&mut findings);
    let summary = Summary {
        files: ws.files.len(),
        statements: ws.files.iter().map(|f| f.statements.len()).sum(),
        migrations: ws.sequences.iter().map(|s| s.migrations.len()).sum(),
        errors: count(&findings, Severity::Error),
        warnings: count(&findings, Severity::Warning),
        infos: count(&findings, Severity::Info),
        baselined: 0,
        sequences,
    };
    let statements = ws
        .files
        .iter()
        .map(|f| f.statements.iter().map(|s| s.span.clone()).collect())
        .collect();
    Ok(Report {
        files: ws.files.into_iter().map(|f| f.source).collect(),
        statements,
        findings,
        summary,
        notices,
        baselined: Vec::new(),
        baseline: None,
        not_audited: scope.map(|s| s.old_files).unwrap_or_default(),
    })
}

/// Sorts findings by file (in `file_order`; files not in it last), line,
/// column, origin and rule, keeping the order of equal ones. Each finding's
/// file is looked up once, not at every comparison.
fn sort_findings(findings: &mut [Finding], file_order: &BTreeMap<&str, usize>) {
    let keys: Vec<(usize, usize, usize, crate::finding::Origin)> = findings
        .iter()
        .map(|f| {
            let file = file_order
                .get(f.file.as_str())
                .copied()
                .unwrap_or(usize::MAX);
            (file, f.line, f.column, f.source)
        })
        .collect();
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&i, &j| {
        keys[i]
            .cmp(&keys[j])
            .then_with(|| findings[i].rule.cmp(&findings[j].rule))
    });
    // Put each finding at its place, one cycle of the permutation at a
    // time: position k takes the finding at `order[k]`.
    for start in 0..order.len() {
        let mut k = start;
        while order[k] != usize::MAX {
            let from = order[k];
            order[k] = usize::MAX;
            if from == start {
                break;
            }
            findings.swap(k, from);
            k = from;
        }
    }
}

/// Findings in migrations that their tool re-runs by design (Flyway
/// repeatables, Liquibase `runOnChange`/`runAlways`) say so.
fn add_rerun_notes(ws: &Workspace, findings: &mut [Finding]) {
    let mut notes: BTreeMap<(&str, usize), &str> = BTreeMap::new();
    for seq in &ws.sequences {
        for m in &seq.migrations {
            let Some(note) = &m.rerun_note else { continue };
            let Some(unit) = ws.files.get(m.up.file) else {
                continue;
            };
            for &s in &m.up.statements {
                notes.insert((unit.source.name.as_str(), s), note.as_str());
            }
        }
    }
    for f in findings {
        if let Some(n) = f.statement.and_then(|s| notes.get(&(f.file.as_str(), s))) {
            // Replay adds the note to its own findings already.
            if !f.notes.iter().any(|x| x == n) {
                f.notes.push(n.to_string());
            }
        }
    }
}

/// Escapes control characters in a static finding's texts (never in the
/// edits of its fix, which must reproduce the file's own bytes).
fn escape_names(f: &mut Finding) {
    let esc = |s: &mut String| {
        if let std::borrow::Cow::Owned(e) = crate::escape::printable(s) {
            *s = e;
        }
    };
    esc(&mut f.message);
    if let Some(h) = &mut f.help {
        esc(h);
    }
    for n in &mut f.notes {
        esc(n);
    }
    if let Some(fix) = &mut f.fix {
        esc(&mut fix.description);
    }
}

/// Links static and replay findings about the same statement both ways.
fn link_related(findings: &mut [Finding]) {
    // The findings of each statement (keys borrowed: no copy of a file name
    // per finding).
    let groups: Vec<Vec<usize>> = {
        let mut by_stmt: BTreeMap<(&str, usize), Vec<usize>> = BTreeMap::new();
        for (i, f) in findings.iter().enumerate() {
            if let Some(s) = f.statement {
                by_stmt.entry((f.file.as_str(), s)).or_default().push(i);
            }
        }
        by_stmt.into_values().collect()
    };
    let expects = |s: &Finding, r: &Finding| {
        expected_error(&s.message).is_some_and(|e| r.message.contains(e))
    };
    for group in &groups {
        // Which pairs confirm each other: with several findings of one
        // source on the statement (one per column of a multi-column ALTER
        // TABLE), a finding of the other source goes with those that
        // expect the error it saw, when any does. Work is proportional to
        // the pairs across the two sources (a statement can have tens of
        // thousands of static findings, one per `${placeholder}`, and a
        // replay finding or two), never to the square of one source's.
        let of = |source: Origin| -> Vec<usize> {
            group
                .iter()
                .copied()
                .filter(|&j| findings[j].source == source)
                .collect()
        };
        let (statics, replays) = (of(Origin::Static), of(Origin::Replay));
        let pair = |a: usize, b: usize| {
            expects(&findings[a], &findings[b]) || expects(&findings[b], &findings[a])
        };
        let fits = |a: usize, b: usize| !misfit(&findings[a], &findings[b]);
        let mut linked: Vec<(usize, Vec<usize>)> = Vec::with_capacity(group.len());
        for (own, others) in [(&statics, &replays), (&replays, &statics)] {
            // The findings of the other source that one of `own` claims
            // (computed once, when needed).
            let mut claimed: Option<BTreeSet<usize>> = None;
            for &i in own {
                let matched: Vec<usize> = others.iter().copied().filter(|&j| pair(i, j)).collect();
                let related = if !matched.is_empty() {
                    matched
                } else if own.len() > 1 {
                    // Those no sibling claims (`i` claims none of them).
                    let claimed = claimed.get_or_insert_with(|| {
                        own.iter()
                            .flat_map(|&k| others.iter().copied().filter(move |&j| pair(k, j)))
                            .collect()
                    });
                    others
                        .iter()
                        .copied()
                        .filter(|j| !claimed.contains(j) && fits(i, *j))
                        .collect()
                } else {
                    others.iter().copied().filter(|&j| fits(i, j)).collect()
                };
                linked.push((i, related));
            }
        }
        for (i, others) in linked {
            findings[i].related = others;
        }
    }
}

/// Two findings about one statement that must not confirm each other: an
/// `insert-without-conflict-clause` finding (rows added again, or a unique
/// key's failure) and a second run that fails for another reason (a column
/// a later statement dropped, say), which a conflict clause would not cure.
fn misfit(a: &Finding, b: &Finding) -> bool {
    let (s, r) = match (a.source, b.source) {
        (Origin::Static, Origin::Replay) => (a, b),
        (Origin::Replay, Origin::Static) => (b, a),
        _ => return false,
    };
    let failure = r.rule == crate::rules::second_run_error::META.id
        || r.rule == crate::rules::down_second_run_error::META.id;
    s.rule == crate::rules::insert_without_conflict_clause::META.id
        && failure
        && ![
            "UNIQUE constraint failed",
            "duplicate key value",
            "Duplicate entry",
            "SQLSTATE 23505",
        ]
        .iter()
        .any(|u| r.message.contains(u))
}

/// The error a static finding expects on a second run: the text quoted in
/// "... a second run fails with '<error>'" (`None` when it says none).
fn expected_error(message: &str) -> Option<&str> {
    let rest = message.split("fails with '").nth(1)?;
    // The error may itself hold quotes: the closing quote is the last one
    // that ends the message or comes before ", " / " (".
    let end = rest
        .char_indices()
        .filter(|&(i, c)| {
            c == '\'' && {
                let after = &rest[i + 1..];
                after.is_empty() || after.starts_with(", ") || after.starts_with(" (")
            }
        })
        .map(|(i, _)| i)
        .next()?;
    let e = &rest[..end];
    (!e.is_empty()).then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{FindingBuilder, Origin};
    use crate::source::SourceFile;

    fn finding(source: Origin, message: &str) -> Finding {
        let file =
            SourceFile::from_text("m.sql", "ALTER TABLE t ADD COLUMN a int, ADD COLUMN b int;");
        let mut f = FindingBuilder { file: &file }.at(
            "x",
            Severity::Error,
            source,
            0..1,
            message.to_string(),
        );
        f.statement = Some(0);
        f
    }

    #[test]
    fn a_replay_finding_confirms_only_the_static_finding_it_matches() {
        let mut f = vec![
            finding(
                Origin::Static,
                "ALTER TABLE t ADD COLUMN a runs only once: a second run fails with 'column \"a\" of relation \"t\" already exists'",
            ),
            finding(
                Origin::Static,
                "ALTER TABLE t ADD COLUMN b runs only once: a second run fails with 'column \"b\" of relation \"t\" already exists'",
            ),
            finding(
                Origin::Replay,
                "second run fails at line 1: column \"a\" of relation \"t\" already exists (SQLSTATE 42701)",
            ),
        ];
        link_related(&mut f);
        assert_eq!(f[0].related, [2]);
        assert!(f[1].related.is_empty());
        assert_eq!(f[2].related, [0]);
        // One static finding: linked as before, whatever the messages say.
        let mut g = vec![
            finding(Origin::Static, "INSERT INTO t inserts the same rows again"),
            finding(Origin::Replay, "second run adds 1 row to t"),
        ];
        link_related(&mut g);
        assert_eq!(g[0].related, [1]);
        assert_eq!(g[1].related, [0]);
        // An INSERT's finding and a second run that fails for another
        // reason than a unique key: not linked; with a unique key: linked.
        for (error, linked) in [
            ("second run fails at line 3: no such column: a", false),
            (
                "second run fails at line 3: UNIQUE constraint failed: t.id",
                true,
            ),
        ] {
            let mut s = finding(Origin::Static, "INSERT INTO t inserts the same rows again");
            s.rule = crate::rules::insert_without_conflict_clause::META.id.into();
            let mut r = finding(Origin::Replay, error);
            r.rule = crate::rules::second_run_error::META.id.into();
            let mut h = vec![s, r];
            link_related(&mut h);
            assert_eq!(h[0].related.len() == 1, linked, "{error}");
            assert_eq!(h[1].related.len() == 1, linked, "{error}");
        }
    }

    #[test]
    fn expected_errors_are_read_from_messages() {
        assert_eq!(
            expected_error("x runs only once: a second run fails with 'duplicate column name: a', and SQLite has none"),
            Some("duplicate column name: a")
        );
        assert_eq!(
            expected_error("a second run fails with 'Duplicate column name 'b''"),
            Some("Duplicate column name 'b'")
        );
        assert_eq!(expected_error("no error quoted"), None);
    }
}
