//! Deep nesting and huge statements (issue 7): a finding with the reason,
//! never a stack overflow, a hang or unbounded memory. Run through the
//! library (on the test thread's small stack) and through the binary.

use std::path::Path;
use std::process::Command;
use twice::check::{self, Options, Report};
use twice::dialect::Dialect;
use twice::discover::Input;

const DIALECTS: [Dialect; 4] = [
    Dialect::Sqlite,
    Dialect::Postgres,
    Dialect::Mysql,
    Dialect::Generic,
];

fn check_file(path: &Path, dialect: Dialect, replay: bool) -> Report {
    let opts = Options {
        dialect: Some(dialect),
        replay,
        ..Options::default()
    };
    check::check(&[Input::Path(path.to_path_buf())], &opts).expect("check runs")
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn rules(report: &Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.rule.as_str()).collect()
}

/// `SELECT ((((...1...))))` with `depth` parentheses.
fn deep_parens(depth: usize) -> String {
    format!("SELECT {}1{};\n", "(".repeat(depth), ")".repeat(depth))
}

/// `SELECT * FROM (SELECT * FROM (... (SELECT 1) ...))` nested `depth` deep.
fn deep_subqueries(depth: usize) -> String {
    let mut s = String::from("SELECT * FROM ");
    for _ in 0..depth {
        s.push_str("(SELECT * FROM ");
    }
    s.push_str("(SELECT 1) AS z");
    for _ in 0..depth {
        s.push_str(") AS z");
    }
    s.push_str(";\n");
    s
}

#[test]
fn expressions_nested_100_000_deep_are_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    // A relative update whose right-hand side is 100,000 parentheses deep:
    // too deep for sqlparser, still read (and flagged) by the token-level
    // reading; the CREATE before it is checked as usual.
    let sql = format!(
        "CREATE TABLE t (n INTEGER);\nUPDATE t SET n = n + {};\n",
        deep_parens(100_000)
            .trim_start_matches("SELECT ")
            .trim_end()
            .trim_end_matches(';')
    );
    let p = write(&dir, "deep.sql", &sql);
    for d in DIALECTS {
        let r = check_file(&p, d, false);
        let lines = |id: &str| -> Vec<usize> {
            r.findings
                .iter()
                .filter(|f| f.rule == id)
                .map(|f| f.line)
                .collect()
        };
        assert_eq!(lines("create-without-if-not-exists"), [1], "{d}");
        assert_eq!(lines("relative-update"), [2], "{d}: {:?}", rules(&r));
    }
}

#[test]
fn subqueries_nested_10_000_deep_are_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let sql = format!("INSERT INTO t {}", deep_subqueries(10_000));
    let p = write(&dir, "deep.sql", &sql);
    for d in DIALECTS {
        let r = check_file(&p, d, false);
        // An INSERT the token-level reading understands: still flagged.
        assert!(
            rules(&r).contains(&"insert-without-conflict-clause"),
            "{d}: {:?}",
            rules(&r)
        );
        assert!(r.findings.iter().all(|f| f.line == 1));
    }
}

#[test]
fn an_unknown_deeply_nested_statement_is_unparsed_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    // Not a statement kind the classifier knows, so sqlparser's verdict is
    // all there is: the recursion limit, reported as unparsed-statement.
    let sql = format!("FROBNICATE {};\n", deep_parens(100_000).trim_end());
    let p = write(&dir, "deep.sql", &sql);
    for d in DIALECTS {
        let r = check_file(&p, d, false);
        let f = r
            .findings
            .iter()
            .find(|f| f.rule == "unparsed-statement")
            .expect("unparsed-statement");
        assert_eq!(f.line, 1);
    }
}

#[test]
fn recursion_limit_is_reported_as_the_reason() {
    let sql = deep_parens(10_000);
    let (ast, err) = twice::analysis::parse(sql.trim_end().trim_end_matches(';'), Dialect::Sqlite);
    assert!(ast.is_none());
    let err = err.expect("a parse error");
    assert!(err.to_lowercase().contains("recursion"), "{err}");
}

/// A 10 MB one-line INSERT (the case), through the library.
fn ten_mb_insert() -> String {
    let mut s = String::from("INSERT INTO t (a, b) VALUES ");
    let mut i = 0;
    while s.len() < 10_000_000 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("({i}, 'row {i}')"));
        i += 1;
    }
    s.push_str(";\n");
    s
}

#[test]
fn a_10_mb_statement_is_read_by_tokens_only() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "big.sql", &ten_mb_insert());
    let r = check_file(&p, Dialect::Sqlite, false);
    // Too long for the parser, but the token-level reading knows it is a
    // plain INSERT, so the rule still fires, on the right line.
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "insert-without-conflict-clause")
        .expect("insert rule fires");
    assert_eq!((f.line, f.column), (1, 1));
    assert!(!rules(&r).contains(&"unparsed-statement"));

    // An unknown statement that long says why it was not parsed.
    let big_unknown = format!("FROBNICATE {};\n", "x ".repeat(600_000));
    let p = write(&dir, "unknown.sql", &big_unknown);
    let r = check_file(&p, Dialect::Sqlite, false);
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "unparsed-statement")
        .expect("unparsed-statement");
    assert!(f.message.contains("MiB"), "{}", f.message);
}

/// The binary runs under an address-space cap (`ulimit -v`), so the test
/// fails, rather than the machine, if memory is unbounded.
#[cfg(target_os = "linux")]
#[test]
fn the_binary_checks_a_10_mb_statement_within_a_memory_cap() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "big.sql", &ten_mb_insert());
    // 700 MiB of address space: before the parse cap this input needed
    // about 1.1 GB of resident memory for sqlparser alone.
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 716800 && exec \"$0\" check --format json \"$1\"")
        .arg(env!("CARGO_BIN_EXE_twice"))
        .arg(&p)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"insert-without-conflict-clause"), "{ids:?}");
    // Replay ran it too (the table does not exist: a first-run error).
    assert!(ids.contains(&"first-run-error"), "{ids:?}");
}

#[test]
fn the_binary_survives_deep_nesting_on_its_main_thread() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "deep.sql",
        &format!(
            "{}INSERT INTO t {}",
            deep_parens(100_000),
            deep_subqueries(10_000)
        ),
    );
    for d in ["sqlite", "postgres", "mysql", "generic"] {
        let out = Command::new(env!("CARGO_BIN_EXE_twice"))
            .args(["check", "--format", "json", "--dialect", d])
            .arg(&p)
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "{d}: exit {code:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    }
}
