//! Inline suppressions: placement, file-wide, block comments, unused and
//! unknown ids, strings that only look like suppressions.
//!
//! Most tests load fixture files and give every statement a synthetic
//! `rule-a` and `rule-b` finding (static rules, known through
//! `suppress::apply_with`), so placement is tested independently of which
//! real rules exist. The CLI tests at the end run the real pipeline.

use std::process::Command;
use twice::check::{self, Options, Report, Workspace};
use twice::dialect::Dialect;
use twice::discover::Input;
use twice::finding::{Finding, FindingBuilder, Origin, Severity};
use twice::suppress::{self, Scope};

const KNOWN: &[(&str, Origin)] = &[
    ("rule-a", Origin::Static),
    ("rule-b", Origin::Static),
    ("rule-c", Origin::Static),
    ("replay-r", Origin::Replay),
];

fn load(path: &str, dialect: Dialect) -> Workspace {
    let opts = Options {
        dialect: Some(dialect),
        replay: false,
        ..Options::default()
    };
    check::load(&[Input::Path(path.into())], &opts).expect("fixture loads")
}

/// A `rule-a` and a `rule-b` finding on every statement, its message the
/// statement's first line.
fn synthetic(ws: &Workspace) -> Vec<Finding> {
    let mut out = Vec::new();
    for unit in &ws.files {
        let b = FindingBuilder { file: &unit.source };
        for stmt in &unit.statements {
            let (line, _) = unit.source.line_col(stmt.span.start);
            let first = unit.source.line_text(line).trim().to_string();
            for rule in ["rule-a", "rule-b"] {
                let mut f = b.at(
                    rule,
                    Severity::Error,
                    Origin::Static,
                    stmt.first_token_span(),
                    first.clone(),
                );
                f.statement = Some(stmt.index);
                out.push(f);
            }
        }
    }
    out
}

fn run(ws: &Workspace, findings: Vec<Finding>, replayed: bool) -> Vec<Finding> {
    let mut out = suppress::apply_with(ws, findings, &|_| replayed, KNOWN);
    out.sort_by(|a, b| {
        (&a.file, a.line, a.column, &a.rule).cmp(&(&b.file, b.line, b.column, &b.rule))
    });
    out
}

/// One line per finding (plus help and fix), stable across renderers.
fn listing(findings: &[Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        s.push_str(&format!(
            "{}:{}:{}-{}:{} {}[{}] {}\n",
            f.file, f.line, f.column, f.end_line, f.end_column, f.severity, f.rule, f.message
        ));
        if let Some(h) = &f.help {
            s.push_str(&format!("    help: {h}\n"));
        }
        if let Some(fix) = &f.fix {
            for e in &fix.edits {
                s.push_str(&format!(
                    "    fix: {} ({}..{} -> {:?})\n",
                    fix.description, e.span.start, e.span.end, e.replacement
                ));
            }
        }
    }
    s
}

fn surviving(findings: &[Finding]) -> Vec<(usize, String, String)> {
    findings
        .iter()
        .map(|f| (f.line, f.rule.clone(), f.message.clone()))
        .collect()
}

#[test]
fn placement_above_same_line_block_and_strings() {
    let ws = load("fixtures/suppress/placement.sql", Dialect::Sqlite);
    let out = run(&ws, synthetic(&ws), false);
    snapshot!("placement_above_same_line_block_and_strings", listing(&out));
}

#[test]
fn placement_is_the_same_with_crlf_line_endings() {
    let text = std::fs::read_to_string("fixtures/suppress/placement.sql").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lf = dir.path().join("lf.sql");
    let crlf = dir.path().join("crlf.sql");
    std::fs::write(&lf, &text).unwrap();
    std::fs::write(&crlf, text.replace('\n', "\r\n")).unwrap();
    let a = load(lf.to_str().unwrap(), Dialect::Sqlite);
    let b = load(crlf.to_str().unwrap(), Dialect::Sqlite);
    let fa = surviving(&run(&a, synthetic(&a), false));
    let fb: Vec<_> = surviving(&run(&b, synthetic(&b), false))
        .into_iter()
        .map(|(l, r, m)| (l, r, m.replace('\r', "")))
        .collect();
    assert_eq!(fa, fb);
    assert!(fa.len() > 10, "placement fixture lost its findings: {fa:?}");
}

#[test]
fn unused_unknown_and_misspelled_suppressions_are_reported() {
    let ws = load("fixtures/suppress/unused.sql", Dialect::Sqlite);
    let out = run(&ws, synthetic(&ws), false);
    snapshot!(
        "unused_unknown_and_misspelled_suppressions_are_reported",
        listing(&out)
    );
}

#[test]
fn replay_rule_suppressions_are_judged_only_when_replay_ran() {
    let ws = load("fixtures/suppress/unused.sql", Dialect::Sqlite);
    let not_replayed = run(&ws, synthetic(&ws), false);
    let replayed = run(&ws, synthetic(&ws), true);
    let mentions = |v: &[Finding]| {
        v.iter()
            .filter(|f| f.message.contains("`replay-r`"))
            .count()
    };
    assert_eq!(mentions(&not_replayed), 0);
    assert_eq!(mentions(&replayed), 1, "{}", listing(&replayed));

    // A replay finding on that statement uses the suppression.
    let mut findings = synthetic(&ws);
    let unit = &ws.files[0];
    let stmt = unit
        .statements
        .iter()
        .find(|s| s.sql.contains("replay_rule"))
        .unwrap();
    let mut f = FindingBuilder { file: &unit.source }.at(
        "replay-r",
        Severity::Error,
        Origin::Replay,
        stmt.first_token_span(),
        "second run differs".into(),
    );
    f.statement = Some(stmt.index);
    findings.push(f);
    let out = run(&ws, findings, true);
    assert!(
        out.iter().all(|f| f.rule != "replay-r"),
        "{}",
        listing(&out)
    );
    assert_eq!(mentions(&out), 0, "{}", listing(&out));
}

#[test]
fn file_wide_suppressions() {
    let ws = load("fixtures/suppress/file_wide.sql", Dialect::Sqlite);
    let out = run(&ws, synthetic(&ws), false);
    // rule-b is gone from the file; the stale `twice:ignore rule-c` is not
    // reported because the file silences `unused-suppression`.
    snapshot!("file_wide", listing(&out));

    let ws = load("fixtures/suppress/file_wide_all.sql", Dialect::Sqlite);
    let out = run(&ws, synthetic(&ws), false);
    assert_eq!(listing(&out), "");

    // Without findings, an id-less file-wide suppression is itself unused.
    let out = run(&ws, Vec::new(), true);
    snapshot!("file_wide_all_unused", listing(&out));
}

#[test]
fn findings_without_a_statement_match_by_line() {
    let ws = load("fixtures/suppress/placement.sql", Dialect::Sqlite);
    let unit = &ws.files[0];
    let b = FindingBuilder { file: &unit.source };
    let line_start = |l: usize| unit.source.line_start(l);
    // Line 5 is `CREATE TABLE above`, under `-- twice:ignore rule-a`;
    // line 7 ends with `-- twice:ignore rule-a`; line 30 has no suppression.
    let mut findings = Vec::new();
    for line in [5, 7, 30] {
        let at = line_start(line);
        findings.push(b.at(
            "rule-a",
            Severity::Warning,
            Origin::Replay,
            at..at + 6,
            format!("no statement, line {line}"),
        ));
    }
    let out = run(&ws, findings, false);
    let left: Vec<_> = out
        .iter()
        .filter(|f| f.rule == "rule-a")
        .map(|f| f.line)
        .collect();
    assert_eq!(left, vec![30], "{}", listing(&out));
}

#[test]
fn comments_inside_dollar_quotes_and_strings_are_not_suppressions() {
    let ws = load("fixtures/suppress/dollar.sql", Dialect::Postgres);
    let scan = suppress::scan(&ws.files[0]);
    assert_eq!(scan.suppressions.len(), 1, "{scan:?}");
    assert_eq!(scan.suppressions[0].scope, Scope::Statement);
    let out = run(&ws, synthetic(&ws), false);
    snapshot!(
        "comments_inside_dollar_quotes_and_strings_are_not_suppressions",
        listing(&out)
    );
}

#[test]
fn mysql_hash_comments_are_suppressions_and_strings_are_not() {
    let ws = load("fixtures/suppress/mysql_hash.sql", Dialect::Mysql);
    let out = run(&ws, synthetic(&ws), false);
    let left: Vec<_> = out.iter().map(|f| (f.line, f.rule.as_str())).collect();
    assert_eq!(
        left,
        vec![(2, "rule-b"), (3, "rule-a"), (3, "rule-b")],
        "{}",
        listing(&out)
    );
}

#[test]
fn fixes_remove_unused_suppressions_and_leave_nothing_to_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unused.sql");
    std::fs::copy("fixtures/suppress/unused.sql", &path).unwrap();
    let ws = load(path.to_str().unwrap(), Dialect::Sqlite);
    let findings = run(&ws, synthetic(&ws), true);
    let report = Report {
        files: ws.files.iter().map(|f| f.source.clone()).collect(),
        findings,
        ..Default::default()
    };
    let plans = twice::fix::plan(&report);
    assert_eq!(plans.len(), 1);
    assert!(plans[0].refused.is_empty(), "{:?}", plans[0].refused);
    snapshot!(
        "fixes_remove_unused_suppressions_and_leave_nothing_to_report",
        plans[0]
            .diff()
            .replace(&*path.to_string_lossy(), "unused.sql")
    );

    std::fs::write(&path, &plans[0].fixed).unwrap();
    let ws = load(path.to_str().unwrap(), Dialect::Sqlite);
    let out = run(&ws, synthetic(&ws), true);
    // What is left has no fix: unknown ids, a misspelled directive and a
    // comment that is not next to a statement.
    let left: Vec<&Finding> = out
        .iter()
        .filter(|f| f.rule == "unused-suppression")
        .collect();
    assert_eq!(left.len(), 4, "{}", listing(&out));
    assert!(left.iter().all(|f| f.fix.is_none()), "{}", listing(&out));
}

// ---- the real pipeline, through the command line ----

fn twice(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_twice"))
        .args(args)
        .output()
        .expect("twice runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_findings(stdout: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("JSON output");
    v["findings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn cli_reports_stale_suppressions_as_warnings() {
    let (code, stdout, stderr) = twice(&[
        "check",
        "--format",
        "json",
        "fixtures/suppress/cli/stale.sql",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let found: Vec<(String, u64, String)> = json_findings(&stdout)
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["severity"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("unused-suppression".to_string(), 3, "warning".to_string()),
            ("unused-suppression".to_string(), 6, "warning".to_string()),
            ("unused-suppression".to_string(), 9, "warning".to_string()),
        ],
        "{stdout}"
    );
    let messages: Vec<String> = json_findings(&stdout)
        .iter()
        .map(|f| f["message"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(messages[0].contains("silences nothing"), "{messages:?}");
    assert!(
        messages[1].contains("unknown rule `no-such-rule`"),
        "{messages:?}"
    );
    assert!(
        messages[2].contains("unknown directive `twice:ignroe`"),
        "{messages:?}"
    );
}

#[test]
fn cli_suppressions_obey_rule_levels_and_file_wide_silencing() {
    // `[rules] unused-suppression = "off"` in a config.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("twice.toml");
    std::fs::write(&cfg, "[rules]\nunused-suppression = \"off\"\n").unwrap();
    let (code, stdout, _) = twice(&[
        "check",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
        "fixtures/suppress/cli/stale.sql",
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(json_findings(&stdout).is_empty(), "{stdout}");

    std::fs::write(&cfg, "[rules]\nunused-suppression = \"error\"\n").unwrap();
    let (code, stdout, _) = twice(&[
        "check",
        "--format",
        "json",
        "--fail-on",
        "error",
        "--config",
        cfg.to_str().unwrap(),
        "fixtures/suppress/cli/stale.sql",
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(json_findings(&stdout)
        .iter()
        .all(|f| f["severity"] == "error"));

    let (code, stdout, _) = twice(&[
        "check",
        "--format",
        "json",
        "fixtures/suppress/cli/quiet.sql",
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(json_findings(&stdout).is_empty(), "{stdout}");
}

fn rule_lines(stdout: &str) -> Vec<(String, u64, String)> {
    json_findings(stdout)
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["severity"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn cli_real_rules_are_silenced_next_to_their_statements() {
    let (code, stdout, stderr) = twice(&[
        "check",
        "--no-replay",
        "--format",
        "json",
        "fixtures/suppress/cli/real.sql",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let s = |r: &str, l: u64, sev: &str| (r.to_string(), l, sev.to_string());
    assert_eq!(
        rule_lines(&stdout),
        vec![
            s("create-without-if-not-exists", 8, "error"),
            s("unused-suppression", 13, "warning"),
            s("insert-without-conflict-clause", 16, "error"),
        ],
        "{stdout}"
    );

    // Rule levels from the config apply after the suppressions.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("twice.toml");
    std::fs::write(
        &cfg,
        "fail-on = \"error\"\n[rules]\ncreate-without-if-not-exists = \"off\"\ninsert-without-conflict-clause = \"info\"\n",
    )
    .unwrap();
    let (code, stdout, _) = twice(&[
        "check",
        "--no-replay",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
        "fixtures/suppress/cli/real.sql",
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        rule_lines(&stdout),
        vec![
            s("unused-suppression", 13, "warning"),
            s("insert-without-conflict-clause", 16, "info"),
        ],
        "{stdout}"
    );
}

#[test]
fn fixes_keep_crlf_line_endings_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crlf.sql");
    let text = std::fs::read_to_string("fixtures/suppress/unused.sql").unwrap();
    std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
    let ws = load(path.to_str().unwrap(), Dialect::Sqlite);
    let report = Report {
        files: ws.files.iter().map(|f| f.source.clone()).collect(),
        findings: run(&ws, synthetic(&ws), true),
        ..Default::default()
    };
    let plans = twice::fix::plan(&report);
    let fixed = &plans[0].fixed;
    assert!(plans[0].changed());
    assert_eq!(
        fixed.matches('\n').count(),
        fixed.matches("\r\n").count(),
        "{fixed:?}"
    );
    assert_eq!(
        fixed.matches('\r').count(),
        fixed.matches("\r\n").count(),
        "{fixed:?}"
    );
    assert!(!fixed.contains("twice:ignore rule-c"), "{fixed:?}");
}
