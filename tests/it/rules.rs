//! Fixture-driven tests of the static rules.
//!
//! `fixtures/rules/<rule-id>/` holds `flagged*.sql` files (each must yield at
//! least one finding of that rule) and `clean*.sql` files (none of that rule).
//! The dialect comes from the name: `flagged.postgres.sql` is Postgres,
//! anything else SQLite. Each folder's findings (every rule, not only the
//! folder's) are snapshotted as a compact listing, with each fix applied to
//! show what it writes. Fixes are also checked to be valid: applied, the
//! statement still parses (when it parsed before) and the rule goes quiet.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use twice::analysis::{analyze_regions, NoSubstitution};
use twice::check::{static_findings, FileUnit, Options};
use twice::dialect::Dialect;
use twice::finding::{Finding, Origin};
use twice::model::Region;
use twice::rules;
use twice::source::SourceFile;

const ROOT: &str = "fixtures/rules";

/// Static rules reported from a comparison with a git revision (`--since`).
const HISTORY_RULES: &[&str] = &["applied-migration-changed"];

fn dialect_of(path: &Path) -> Dialect {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() >= 3 {
        if let Some(d) = Dialect::from_name(parts[parts.len() - 2]) {
            return d;
        }
    }
    Dialect::Sqlite
}

fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

fn rule_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(ROOT)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn check_file(path: &Path) -> (twice::check::Report, Dialect) {
    let d = dialect_of(path);
    let opts = Options {
        dialect: Some(d),
        ..common::static_opts()
    };
    let p = path.to_str().unwrap();
    (common::check_paths(&[p], &opts), d)
}

/// Applies non-overlapping edits to `text` (later edits first).
fn apply(text: &str, fixes: &[&Finding]) -> String {
    let mut edits: Vec<(std::ops::Range<usize>, String)> = fixes
        .iter()
        .filter_map(|f| f.fix.as_ref())
        .flat_map(|fix| {
            fix.edits
                .iter()
                .map(|e| (e.span.clone(), e.replacement.clone()))
        })
        .collect();
    edits.sort_by_key(|(s, _)| std::cmp::Reverse(s.start));
    let mut out = text.to_string();
    for (span, rep) in edits {
        out.replace_range(span, &rep);
    }
    out
}

/// The line around byte `at` of `text`.
fn line_at(text: &str, at: usize) -> &str {
    let start = text[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let end = text[at..].find(['\n', '\r']).map_or(text.len(), |i| at + i);
    text[start..end].trim()
}

fn listing(report: &twice::check::Report, d: Dialect) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&format!(
            "{}:{} {} {} {}\n",
            f.line, f.column, f.rule, f.severity, f.message
        ));
        if let Some(h) = &f.help {
            out.push_str(&format!("    help: {h}\n"));
        }
        if let Some(fix) = &f.fix {
            let file = report.file(&f.file).unwrap();
            let fixed = apply(&file.text, &[f]);
            let at = fix.edits[0].span.start;
            out.push_str(&format!(
                "    fix: {} => {}\n",
                fix.description,
                line_at(&fixed, at)
            ));
        }
    }
    let _ = d;
    out
}

/// Static findings for `text` analysed as one file.
fn static_on_text(name: &str, text: &str, d: Dialect) -> (Vec<Finding>, FileUnit) {
    let source = SourceFile::from_text(name, text);
    let mut statements = Vec::new();
    analyze_regions(
        &source,
        &[Region {
            range: 0..source.text.len(),
            single_statement: false,
        }],
        d,
        &NoSubstitution,
        &mut statements,
    );
    let mut unit = FileUnit {
        source,
        dialect: d,
        statements,
    };
    (static_findings(&mut unit), unit)
}

/// H2 and HSQLDB take `DROP TABLE t IF EXISTS` (spring-petclinic's
/// `db/h2/schema.sql`): in a folder read as generic (H2 is not a dialect
/// twice reads) it is no syntax error, and it counts as guarded.
#[test]
fn if_exists_after_the_name_is_h2s_guard() {
    let (findings, _) = static_on_text(
        "schema.sql",
        "DROP TABLE vets IF EXISTS;\nCREATE TABLE vets (id INT PRIMARY KEY);\n",
        Dialect::Generic,
    );
    assert!(
        !findings
            .iter()
            .any(|f| f.rule == "syntax-error" || f.rule == "drop-without-if-exists"),
        "{findings:#?}"
    );
    let (findings, _) = static_on_text(
        "schema.sql",
        "DROP TABLE vets IF EXISTS;\n",
        Dialect::Postgres,
    );
    assert!(
        findings.iter().any(|f| f.rule == "syntax-error"),
        "{findings:#?}"
    );
}

#[test]
fn rule_fixtures() {
    let mut problems = Vec::new();
    for dir in rule_dirs() {
        let rule = dir.file_name().unwrap().to_str().unwrap().to_string();
        let mut snap = String::new();
        for path in sql_files(&dir) {
            let (report, d) = check_file(&path);
            let stem = path.file_name().unwrap().to_str().unwrap();
            let mine = report.findings.iter().filter(|f| f.rule == rule).count();
            if stem.starts_with("flagged") && mine == 0 {
                problems.push(format!("{}: no `{rule}` finding", path.display()));
            }
            if stem.starts_with("clean") && mine > 0 {
                problems.push(format!(
                    "{}: {mine} `{rule}` finding(s), expected none:\n{}",
                    path.display(),
                    listing(&report, d)
                ));
            }
            for f in &report.findings {
                assert_eq!(f.source, Origin::Static);
                assert!(f.line >= 1 && f.column >= 1, "{f:?}");
            }
            snap.push_str(&format!("=== {} ({d})\n", path.display()));
            snap.push_str(&listing(&report, d));
            snap.push('\n');
        }
        snapshot!(rule.clone(), snap);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every fix, applied, leaves valid SQL (it still parses when it did before)
/// and silences its rule for that statement.
#[test]
fn fixes_are_valid_and_silence_their_rule() {
    for dir in rule_dirs() {
        for path in sql_files(&dir) {
            let (report, d) = check_file(&path);
            let with_fix: Vec<&Finding> =
                report.findings.iter().filter(|f| f.fix.is_some()).collect();
            if with_fix.is_empty() {
                continue;
            }
            let file = report.file(&path.display().to_string()).unwrap();
            let (_, before) = static_on_text("before.sql", &file.text, d);
            let fixed = apply(&file.text, &with_fix);
            let (after_findings, after) = static_on_text("after.sql", &fixed, d);
            assert_eq!(
                before.statements.len(),
                after.statements.len(),
                "{}: fixing changed the statement count:\n{fixed}",
                path.display()
            );
            for f in &with_fix {
                // Fixes of findings about a comment, not a statement
                // (unused-suppression), are checked in tests/it/suppress.rs.
                let Some(i) = f.statement else { continue };
                let (b, a) = (&before.statements[i], &after.statements[i]);
                // sqlparser does not know SQLite's CREATE TRIGGER IF NOT
                // EXISTS; `sqlite_fixes_run_twice` checks those with SQLite.
                let sqlparser_gap = d == Dialect::Sqlite
                    && a.facts.keyword == "CREATE"
                    && matches!(&a.facts.kind, twice::classify::Kind::Create(c) if c.kind == twice::classify::ObjectKind::Trigger);
                if b.ast().is_some() && !sqlparser_gap {
                    assert!(
                        a.ast().is_some(),
                        "{}: fixed statement no longer parses: {}\n{:?}",
                        path.display(),
                        a.text(&after.source),
                        a.parse_error()
                    );
                }
                let still: Vec<&Finding> = after_findings
                    .iter()
                    .filter(|g| g.rule == f.rule && g.statement == Some(i) && g.fix.is_some())
                    .collect();
                assert!(
                    still.is_empty(),
                    "{}: `{}` still fires after its fix on: {}",
                    path.display(),
                    f.rule,
                    a.text(&after.source)
                );
            }
        }
    }
}

#[test]
fn every_rule_is_documented_and_has_fixtures() {
    let mut seen = BTreeSet::new();
    for meta in rules::registry() {
        assert!(seen.insert(meta.id), "duplicate rule id {}", meta.id);
        assert!(
            !meta.id.is_empty()
                && meta.id.split('-').all(|p| !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())),
            "rule id `{}` is not kebab-case",
            meta.id
        );
        assert!(!meta.summary.is_empty() && !meta.summary.contains('\n'));
        let mut last = 0;
        for section in [
            "## What it does",
            "## Why it matters",
            "## Example",
            "## Fix",
        ] {
            let at = meta
                .doc
                .find(section)
                .unwrap_or_else(|| panic!("{}: doc lacks `{section}`", meta.id));
            assert!(at >= last, "{}: `{section}` out of order", meta.id);
            last = at;
        }
        assert!(
            meta.doc.contains("```"),
            "{}: the example has no code block",
            meta.id
        );
        // Rules that compare with a git history have their fixtures in
        // fixtures/since/ and their tests in tests/it/since.rs.
        if meta.origin == Origin::Static && !HISTORY_RULES.contains(&meta.id) {
            let dir = Path::new(ROOT).join(meta.id);
            let files: Vec<String> = sql_files(&dir)
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            assert!(
                files.iter().any(|f| f.starts_with("flagged")),
                "{}: no flagged fixture in {}",
                meta.id,
                dir.display()
            );
            assert!(
                files.iter().any(|f| f.starts_with("clean")),
                "{}: no clean fixture in {}",
                meta.id,
                dir.display()
            );
        }
    }
    for rule in rules::static_rules() {
        assert!(
            rules::find(rule.meta().id).is_some(),
            "{} runs but is not registered",
            rule.meta().id
        );
    }
    // Every fixture folder belongs to a registered rule.
    for dir in rule_dirs() {
        let id = dir.file_name().unwrap().to_str().unwrap();
        assert!(rules::find(id).is_some(), "fixtures for unknown rule {id}");
    }
}

/// The SQLite CREATE fixtures, with every fix applied, run twice on SQLite.
#[test]
fn sqlite_fixes_run_twice() {
    let dir = Path::new(ROOT).join("create-without-if-not-exists");
    for path in sql_files(&dir) {
        if dialect_of(&path) != Dialect::Sqlite
            || !path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("flagged")
        {
            continue;
        }
        let (report, _) = check_file(&path);
        let fixes: Vec<&Finding> = report.findings.iter().filter(|f| f.fix.is_some()).collect();
        assert!(!fixes.is_empty(), "{}: no fixes", path.display());
        let file = report.file(&path.display().to_string()).unwrap();
        let fixed = apply(&file.text, &fixes);
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for run in 1..=2 {
            db.execute_batch(&fixed).unwrap_or_else(|e| {
                panic!(
                    "{}: run {run} of the fixed file fails: {e}\n{fixed}",
                    path.display()
                )
            });
        }
    }
}
