//! `twice check --fix` and `--diff` end to end, per dialect: each fixture
//! folder under `fixtures/fix/<dialect>/<case>` is the "before"; it is copied
//! to a temporary folder, `--diff` must leave every byte (and mtime) alone,
//! `--fix` rewrites it (snapshot: the fixed files, what stderr says, the
//! findings that remain, the exit code), and a second `--fix` changes nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn twice(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twice"));
    for var in ["GITHUB_ACTIONS", "NO_COLOR", "TWICE_DATABASE_URL", "TERM"] {
        c.env_remove(var);
    }
    c.current_dir(dir).stdin(Stdio::null());
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Out {
    let o = twice(dir).args(args).output().expect("twice runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Copies `fixtures/fix/<dialect>/<case>` to `<tmp>/<case>`.
fn copy_fixture(dialect: &str, case: &str) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fix")
        .join(dialect)
        .join(case);
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join(case);
    std::fs::create_dir(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    (tmp, dst)
}

/// Every file of a folder: name -> bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn mtimes(dir: &Path) -> BTreeMap<String, std::time::SystemTime> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect()
}

/// File contents with a BOM and carriage returns made visible.
fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8(bytes.to_vec()).expect("fixtures are UTF-8");
    let (bom, text) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("<BOM>", rest),
        None => ("", text.as_str()),
    };
    format!("{bom}{}", text.replace('\r', "␍"))
}

/// The findings of a JSON report: where, which rule, the help and any
/// "no automatic fix" note.
fn remaining(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).expect("JSON output");
    let mut out = String::new();
    for f in v["findings"].as_array().unwrap() {
        out.push_str(&format!(
            "{}:{} [{}] {}\n",
            f["file"].as_str().unwrap(),
            f["line"],
            f["rule"].as_str().unwrap(),
            f["message"].as_str().unwrap()
        ));
        if let Some(h) = f["help"].as_str() {
            out.push_str(&format!("    help: {h}\n"));
        }
        for n in f["notes"].as_array().into_iter().flatten() {
            let n = n.as_str().unwrap();
            if n.starts_with("no automatic fix") {
                out.push_str(&format!("    note: {n}\n"));
            }
        }
    }
    out
}

/// Runs the whole story on one fixture and returns the snapshot text.
/// `extra` flags go to every run (`--unsafe-fixes`).
fn fix_story(dialect: &str, case: &str, replay: bool, extra: &[&'static str]) -> String {
    let (tmp, dir) = copy_fixture(dialect, case);
    let mut args = vec!["check", "--dialect", dialect];
    if !replay {
        args.push("--no-replay");
    }
    args.extend_from_slice(extra);
    let with = |extra: &[&'static str]| {
        let mut a = args.clone();
        a.extend_from_slice(extra);
        a.push(case);
        a
    };
    let before = files(&dir);
    let before_mtimes = mtimes(&dir);

    // --diff writes nothing and exits 1: there is something to fix.
    let diff = run(tmp.path(), &with(&["--diff"]));
    assert_eq!(files(&dir), before, "--diff changed a file");
    assert_eq!(mtimes(&dir), before_mtimes, "--diff touched a file");
    assert_eq!(diff.code, 1, "--diff exit code; stderr:\n{}", diff.stderr);
    assert!(diff.stdout.starts_with("--- a/"), "{}", diff.stdout);

    // --fix rewrites.
    let fix = run(tmp.path(), &with(&["--fix", "--format", "json"]));
    let fixed = files(&dir);
    assert_ne!(fixed, before, "--fix changed nothing");
    // What --diff showed is what --fix did.
    // (File by file: --diff follows the migrations' order, which is not
    // always the order of their names, as with Flyway's `R__` after `V1__`.)
    assert_eq!(
        per_file(&diff.stdout),
        per_file(&unified(case, &before, &fixed)),
        "--diff and --fix disagree"
    );

    // Idempotent: a second --fix writes nothing and reports nothing fixed,
    // and --diff then has nothing to show (exit 0).
    let fixed_mtimes = mtimes(&dir);
    let again = run(tmp.path(), &with(&["--fix", "--format", "json"]));
    assert_eq!(files(&dir), fixed, "the second --fix changed a file");
    assert_eq!(mtimes(&dir), fixed_mtimes, "the second --fix wrote a file");
    assert!(
        !again.stderr.contains("twice: fixed"),
        "second --fix: {}",
        again.stderr
    );
    assert_eq!(remaining(&again.stdout), remaining(&fix.stdout));
    let diff2 = run(tmp.path(), &with(&["--diff"]));
    assert_eq!(
        (diff2.code, diff2.stdout.as_str()),
        (0, ""),
        "{}",
        diff2.stderr
    );

    let mut snap = format!(
        "$ twice {}\n--- exit code: {}\n--- stderr:\n{}--- remaining findings:\n{}",
        with(&["--fix"]).join(" "),
        fix.code,
        fix.stderr,
        remaining(&fix.stdout)
    );
    snap.push_str(&format!("--- diff (exit {}):\n{}", diff.code, diff.stdout));
    for (name, bytes) in &fixed {
        snap.push_str(&format!("--- {case}/{name} after --fix:\n{}", show(bytes)));
    }
    snap
}

/// A unified diff cut into its files, in name order.
fn per_file(diff: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for line in diff.split_inclusive('\n') {
        if line.starts_with("--- a/") || parts.is_empty() {
            parts.push(String::new());
        }
        parts.last_mut().unwrap().push_str(line);
    }
    parts.sort();
    parts
}

/// The unified diff `--diff` should print for these before/after files.
fn unified(
    case: &str,
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> String {
    let mut out = String::new();
    for (name, old) in before {
        let new = &after[name];
        if old == new {
            continue;
        }
        let strip = |b: &[u8]| {
            let s = String::from_utf8(b.to_vec()).unwrap();
            s.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(s)
        };
        let (old, new) = (strip(old), strip(new));
        let path = format!("{case}/{name}");
        out.push_str(
            &similar::TextDiff::from_lines(&old, &new)
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{path}"), &format!("b/{path}"))
                .to_string(),
        );
    }
    out
}

/// The SQLite and MySQL stories include INSERT fixes, which are unsafe
/// (`INSERT OR IGNORE` / `INSERT IGNORE`): they run with the flag that
/// applies them. What happens without it: `unsafe_fixes_need_the_flag`.
const UNSAFE: &[&str] = &["--unsafe-fixes"];

#[test]
fn sqlite_ddl_with_replay() {
    snapshot!("sqlite_ddl", fix_story("sqlite", "ddl", true, UNSAFE));
}

#[test]
fn sqlite_keys_follow_renames_and_dropped_indexes() {
    snapshot!(
        "sqlite_history",
        fix_story("sqlite", "history", true, UNSAFE)
    );
}

#[test]
fn sqlite_crlf_and_bom_keep_their_bytes() {
    let story = fix_story("sqlite", "crlf_bom", true, UNSAFE);
    // Every line still ends in CRLF and the BOM is still there.
    let (tmp, dir) = copy_fixture("sqlite", "crlf_bom");
    run(
        tmp.path(),
        &["check", "--fix", "--unsafe-fixes", "crlf_bom"],
    );
    for (name, bytes) in files(&dir) {
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{name} lost its BOM");
        let lf = bytes.iter().filter(|&&b| b == b'\n').count();
        let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
        assert_eq!(lf, crlf, "{name} has a bare LF");
    }
    snapshot!("sqlite_crlf_bom", story);
}

#[test]
fn postgres_ddl() {
    snapshot!("postgres_ddl", fix_story("postgres", "ddl", false, &[]));
}

#[test]
fn mysql_ddl() {
    snapshot!("mysql_ddl", fix_story("mysql", "ddl", false, UNSAFE));
}

/// The generic dialect fixes nothing: each database has its own clause.
#[test]
fn generic_fixes_nothing() {
    let (tmp, dir) = copy_fixture("generic", "ddl");
    let before = files(&dir);
    let diff = run(
        tmp.path(),
        &["check", "--dialect", "generic", "--diff", "ddl"],
    );
    assert_eq!(
        (diff.code, diff.stdout.as_str()),
        (0, ""),
        "{}",
        diff.stderr
    );
    let fix = run(
        tmp.path(),
        &[
            "check",
            "--dialect",
            "generic",
            "--fix",
            "--format",
            "json",
            "ddl",
        ],
    );
    assert_eq!(files(&dir), before);
    assert!(!fix.stderr.contains("twice: fixed"), "{}", fix.stderr);
    snapshot!(
        "generic_ddl",
        format!("exit code: {}\n{}", fix.code, remaining(&fix.stdout))
    );
}

/// A fix that would make a later migration fail its first run is refused:
/// 002 re-creates `users` (its first run failed, so 003 added the column);
/// with `IF NOT EXISTS` 002 would succeed and 003 would then fail.
#[test]
fn a_fix_that_breaks_a_first_run_is_refused() {
    let (tmp, dir) = copy_fixture("sqlite", "refused");
    let before = files(&dir);
    let diff = run(tmp.path(), &["check", "--diff", "refused"]);
    assert_eq!(files(&dir), before);
    let fix = run(
        tmp.path(),
        &["check", "--fix", "--format", "json", "refused"],
    );
    let after = files(&dir);
    // Only 001 changed; 002 and 003 are as they were.
    assert_ne!(after["001_users.sql"], before["001_users.sql"]);
    assert_eq!(after["002_users_name.sql"], before["002_users_name.sql"]);
    assert_eq!(after["003_add_name.sql"], before["003_add_name.sql"]);
    // The fixed history still applies as it did: no new first-run error.
    let check = run(tmp.path(), &["check", "--format", "json", "refused"]);
    let v: serde_json::Value = serde_json::from_str(&check.stdout).unwrap();
    let first_run: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "first-run-error")
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !first_run.iter().any(|f| f.ends_with("003_add_name.sql")),
        "{first_run:?}"
    );
    snapshot!(
        "sqlite_refused",
        format!(
            "--- diff (exit {}):\n{}--- diff stderr:\n{}--- fix (exit {}) stderr:\n{}",
            diff.code, diff.stdout, diff.stderr, fix.code, fix.stderr
        )
    );
}

fn run_stdin(args: &[&str], input: &[u8]) -> Out {
    let mut child = twice(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let o = child.wait_with_output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn fix_from_stdin_prints_the_fixed_script() {
    let script =
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT);\nINSERT INTO kv (k, v) VALUES ('a', '1');\n";
    // Without --unsafe-fixes the INSERT keeps its text (OR IGNORE would
    // also skip rows that break NOT NULL or CHECK) and stderr says why.
    let safe = run_stdin(&["check", "--fix", "-"], script.as_bytes());
    assert_eq!(
        safe.stdout,
        "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT);\nINSERT INTO kv (k, v) VALUES ('a', '1');\n"
    );
    assert_eq!(safe.code, 1, "{}", safe.stderr);
    assert!(
        safe.stderr.contains("twice: unsafe fix not applied: <stdin>:2 [insert-without-conflict-clause] use `INSERT OR IGNORE`"),
        "{}",
        safe.stderr
    );
    let out = run_stdin(
        &["check", "--fix", "--unsafe-fixes", "-"],
        script.as_bytes(),
    );
    assert_eq!(
        out.stdout,
        "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT);\nINSERT OR IGNORE INTO kv (k, v) VALUES ('a', '1');\n"
    );
    // Verified with replay: the fixed script is clean, so exit 0.
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("twice: fixed 2 findings in <stdin>"),
        "{}",
        out.stderr
    );
    // Its own output has nothing left to fix: echoed unchanged.
    let again = run_stdin(&["check", "--fix", "-"], out.stdout.as_bytes());
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, out.stdout.as_str())
    );
    assert!(!again.stderr.contains("twice: fixed"), "{}", again.stderr);
    // --diff from stdin: a diff, exit 1, and with nothing to fix exit 0.
    let diff = run_stdin(
        &["check", "--diff", "--unsafe-fixes", "-"],
        script.as_bytes(),
    );
    assert_eq!(diff.code, 1);
    assert!(
        diff.stdout.starts_with("--- a/<stdin>\n+++ b/<stdin>\n"),
        "{}",
        diff.stdout
    );
    let clean = run_stdin(&["check", "--diff", "-"], out.stdout.as_bytes());
    assert_eq!((clean.code, clean.stdout.as_str()), (0, ""));
}

#[test]
fn diff_of_a_clean_folder_exits_0_and_prints_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("001.sql"),
        "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY);\n",
    )
    .unwrap();
    let out = run(tmp.path(), &["check", "--diff", "."]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

/// Flyway (like sqlx and Liquibase) checks the files of applied migrations
/// against recorded checksums: `--fix` says so when it edits them.
#[test]
fn fixing_a_flyway_folder_warns_about_checksums() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/layouts/flyway/sql");
    let dst = tmp.path().join("sql");
    std::fs::create_dir(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
        }
    }
    let out = run(&dst, &["check", "--no-replay", "--fix"]);
    assert!(out.stderr.contains("twice: fixed"), "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("flyway repair").count(),
        1,
        "{}",
        out.stderr
    );
    // Nothing left to fix: no warning.
    let again = run(&dst, &["check", "--no-replay", "--fix"]);
    assert!(!again.stderr.contains("checksum"), "{}", again.stderr);
}

/// Atlas writes other tools' formats with its `atlas.sum` beside the files
/// (`--dir-format goose`): the folder is read as goose, the sum file is named
/// for what it is, and `--fix` warns that Atlas's check will fail.
#[test]
fn fixing_a_goose_folder_atlas_wrote_warns_about_atlas_sum() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("20240101000000_init.sql"),
        "-- +goose Up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n\n-- +goose Down\nDROP TABLE t;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("atlas.sum"),
        "h1:AAAA=\n20240101000000_init.sql h1:BBBB=\n",
    )
    .unwrap();
    let check = run(tmp.path(), &["check", "--no-replay", "migrations"]);
    let told = format!("{}{}", check.stdout, check.stderr);
    assert!(
        told.contains("goose layout")
            && told.contains(
                "migrations/atlas.sum: skipped: Atlas's checksum file (`atlas migrate` checks \
                 the folder against it; goose does not read it), not a migration"
            ),
        "{told}"
    );
    let out = run(tmp.path(), &["check", "--no-replay", "--fix", "migrations"]);
    assert!(out.stderr.contains("twice: fixed"), "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("atlas migrate hash").count(),
        1,
        "{}",
        out.stderr
    );
    let again = run(tmp.path(), &["check", "--no-replay", "--fix", "migrations"]);
    assert!(
        !again.stderr.contains("atlas migrate hash"),
        "{}",
        again.stderr
    );
}

/// Reads a JSON report's findings: (rule, file name, applicability of the
/// fix or "" without one).
fn fixes_in(json: &str) -> Vec<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).expect("JSON output");
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"] == "static")
        .map(|f| {
            let file = f["file"].as_str().unwrap();
            (
                f["rule"].as_str().unwrap().to_string(),
                file.rsplit('/').next().unwrap().to_string(),
                f["fix"]["applicability"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// `INSERT OR IGNORE` (SQLite) and `INSERT IGNORE` (MySQL) also swallow
/// NOT NULL, CHECK and truncation errors: unsafe fixes. `--fix` and `--diff`
/// leave them out (and say so) unless `--unsafe-fixes` is given; the text
/// formats mark them "unsafe fix available"; JSON and SARIF carry the
/// applicability of every fix.
#[test]
fn unsafe_fixes_need_the_flag() {
    for (dialect, clause) in [("sqlite", "INSERT OR IGNORE"), ("mysql", "INSERT IGNORE")] {
        let (tmp, dir) = copy_fixture(dialect, "unsafe_insert");
        let before = files(&dir);
        let base = ["check", "--dialect", dialect, "--no-replay"];
        let with = |extra: &[&str]| -> Vec<String> {
            base.iter()
                .chain(extra)
                .chain(&["unsafe_insert"])
                .map(|s| s.to_string())
                .collect()
        };
        let go = |extra: &[&str]| {
            let args = with(extra);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(tmp.path(), &args)
        };

        // Applicability in JSON.
        let json = go(&["--format", "json"]);
        assert_eq!(
            fixes_in(&json.stdout),
            vec![
                (
                    "create-without-if-not-exists".to_string(),
                    "001_kv.sql".to_string(),
                    "safe".to_string()
                ),
                (
                    "insert-without-conflict-clause".to_string(),
                    "002_seed.sql".to_string(),
                    "unsafe".to_string()
                ),
            ],
            "{dialect}"
        );
        // ... and in SARIF, as a property of each fix.
        let sarif = go(&["--format", "sarif"]);
        let v: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
        let mut seen = BTreeMap::new();
        for r in v["runs"][0]["results"].as_array().unwrap() {
            let rule = r["ruleId"].as_str().unwrap().to_string();
            let text = r["message"]["text"].as_str().unwrap().to_string();
            let a = r["fixes"][0]["properties"]["applicability"]
                .as_str()
                .unwrap_or("")
                .to_string();
            seen.insert(rule, (a, text));
        }
        let (a, text) = &seen["insert-without-conflict-clause"];
        assert_eq!(a, "unsafe", "{dialect}");
        assert!(
            text.contains("(unsafe fix available: `twice check --fix --unsafe-fixes`)"),
            "{text}"
        );
        let (a, text) = &seen["create-without-if-not-exists"];
        assert_eq!(a, "safe", "{dialect}");
        assert!(
            text.contains("(fixable with `twice check --fix`)"),
            "{text}"
        );
        // The human output marks both kinds.
        let human = go(&[]);
        assert!(
            human
                .stdout
                .contains("(unsafe fix available: `twice check --fix --unsafe-fixes`)"),
            "{}",
            human.stdout
        );
        assert!(
            human.stdout.contains("(fixable with `twice check --fix`)"),
            "{}",
            human.stdout
        );

        // --diff without the flag: the safe edit only, and a line on stderr.
        let diff = go(&["--diff"]);
        assert_eq!(diff.code, 1, "{}", diff.stderr);
        assert!(diff.stdout.contains("IF NOT EXISTS"), "{}", diff.stdout);
        assert!(!diff.stdout.contains("IGNORE"), "{}", diff.stdout);
        assert!(
            diff.stderr.contains(&format!(
                "twice: unsafe fix not applied: unsafe_insert/002_seed.sql:2 [insert-without-conflict-clause] use `{clause}`"
            )),
            "{}",
            diff.stderr
        );
        assert!(
            diff.stderr.contains("`--unsafe-fixes` applies it"),
            "{}",
            diff.stderr
        );

        // --fix without the flag: the INSERT stays as it was.
        let fix = go(&["--fix"]);
        let after = files(&dir);
        assert_ne!(after["001_kv.sql"], before["001_kv.sql"], "{}", fix.stderr);
        assert_eq!(
            after["002_seed.sql"], before["002_seed.sql"],
            "{}",
            fix.stderr
        );
        assert!(
            fix.stderr.contains("twice: unsafe fix not applied"),
            "{}",
            fix.stderr
        );
        // Only the unsafe fix is left: --diff has nothing to show without
        // the flag (exit 0), and shows it with the flag.
        let diff = go(&["--diff"]);
        assert_eq!(
            (diff.code, diff.stdout.as_str()),
            (0, ""),
            "{}",
            diff.stderr
        );
        let diff = go(&["--diff", "--unsafe-fixes"]);
        assert_eq!(diff.code, 1, "{}", diff.stderr);
        assert!(
            diff.stdout.contains(&format!("+{clause} INTO kv")),
            "{}",
            diff.stdout
        );

        // --fix --unsafe-fixes applies it, and a second run changes nothing.
        let fix = go(&["--fix", "--unsafe-fixes"]);
        let seed = String::from_utf8(files(&dir)["002_seed.sql"].clone()).unwrap();
        assert!(
            seed.contains(&format!("{clause} INTO kv (k, v)")),
            "{seed}\n{}",
            fix.stderr
        );
        assert!(
            fix.stderr
                .contains("twice: fixed 1 finding in unsafe_insert/002_seed.sql"),
            "{}",
            fix.stderr
        );
        let fixed = files(&dir);
        let again = go(&["--fix", "--unsafe-fixes"]);
        assert_eq!(files(&dir), fixed);
        assert!(!again.stderr.contains("twice: fixed"), "{}", again.stderr);
    }
}

/// `ON CONFLICT DO NOTHING` skips conflicts only: a safe fix, applied by a
/// plain `--fix` (the postgres story runs without `--unsafe-fixes`).
#[test]
fn postgres_on_conflict_do_nothing_is_a_safe_fix() {
    let (tmp, _dir) = copy_fixture("postgres", "ddl");
    let out = run(
        tmp.path(),
        &[
            "check",
            "--dialect",
            "postgres",
            "--no-replay",
            "--format",
            "json",
            "ddl",
        ],
    );
    let inserts: Vec<_> = fixes_in(&out.stdout)
        .into_iter()
        .filter(|(rule, _, a)| rule == "insert-without-conflict-clause" && !a.is_empty())
        .collect();
    assert!(!inserts.is_empty(), "{}", out.stdout);
    assert!(inserts.iter().all(|(_, _, a)| a == "safe"), "{inserts:?}");
}

/// A Flyway repeatable migration runs again whenever it changes: there
/// `CREATE VIEW IF NOT EXISTS` would keep the old view. SQLite has no
/// `CREATE OR REPLACE VIEW`, so the view (and the trigger) get no fix and a
/// help that says to drop them first; the index in the same file, and the
/// table of the versioned migration, are fixed as usual.
#[test]
fn sqlite_flyway_repeatable_views_are_not_fixed_with_if_not_exists() {
    let story = fix_story("sqlite", "flyway_repeatable", true, &[]);
    let (tmp, dir) = copy_fixture("sqlite", "flyway_repeatable");
    run(tmp.path(), &["check", "--fix", "flyway_repeatable"]);
    let r = String::from_utf8(files(&dir)["R__user_views.sql"].clone()).unwrap();
    assert!(r.contains("\nCREATE VIEW active_users AS"), "{r}");
    assert!(r.contains("\nCREATE TRIGGER users_keep_one"), "{r}");
    assert!(
        r.contains("\nCREATE INDEX IF NOT EXISTS users_active"),
        "{r}"
    );
    assert!(
        story.contains("drop it first with `DROP VIEW IF EXISTS active_users;`"),
        "{story}"
    );
    assert!(
        story.contains("drop it first with `DROP TRIGGER IF EXISTS users_keep_one;`"),
        "{story}"
    );
    snapshot!("sqlite_flyway_repeatable", story);
}

/// In PostgreSQL the view of a repeatable becomes `CREATE OR REPLACE VIEW`
/// (as everywhere); the materialized view, which has no OR REPLACE, gets no
/// fix there.
#[test]
fn postgres_flyway_repeatable_views_get_or_replace() {
    let story = fix_story("postgres", "flyway_repeatable", false, &[]);
    let (tmp, dir) = copy_fixture("postgres", "flyway_repeatable");
    run(
        tmp.path(),
        &[
            "check",
            "--dialect",
            "postgres",
            "--no-replay",
            "--fix",
            "flyway_repeatable",
        ],
    );
    let r = String::from_utf8(files(&dir)["R__user_views.sql"].clone()).unwrap();
    assert!(
        r.contains("\nCREATE OR REPLACE VIEW active_users AS"),
        "{r}"
    );
    assert!(
        r.contains("\nCREATE MATERIALIZED VIEW user_counts AS"),
        "{r}"
    );
    assert!(
        story.contains("drop it first with `DROP MATERIALIZED VIEW IF EXISTS user_counts;`"),
        "{story}"
    );
    snapshot!("postgres_flyway_repeatable", story);
}

/// Every rule whose findings can carry a fix says in its documentation (what
/// `twice explain` prints) how safe that fix is; and the rules that produce
/// fixes in these fixtures are the ones marked fixable.
#[test]
fn every_fixable_rule_documents_its_fix_safety() {
    let registry = twice::rules::registry();
    let fixable: Vec<&str> = registry
        .iter()
        .filter(|m| m.fixable)
        .map(|m| m.id)
        .collect();
    assert!(
        fixable.contains(&"insert-without-conflict-clause"),
        "{fixable:?}"
    );
    for meta in registry.iter().filter(|m| m.fixable) {
        let doc = meta.doc;
        let at = doc
            .find("\n## Fix safety\n")
            .unwrap_or_else(|| panic!("{}: no `## Fix safety` section", meta.id));
        let fix = doc.find("\n## Fix\n").expect("a Fix section");
        assert!(fix < at, "{}: Fix safety comes after Fix", meta.id);
        let body = &doc[at..];
        assert!(
            body.contains("**Safe**") || body.contains("**Unsafe**"),
            "{}: the section says safe or unsafe",
            meta.id
        );
        let explain = run(Path::new(env!("CARGO_MANIFEST_DIR")), &["explain", meta.id]);
        assert!(
            explain.stdout.contains("Fix safety"),
            "{}: {}",
            meta.id,
            explain.stdout
        );
    }
    let insert = registry
        .iter()
        .find(|m| m.id == "insert-without-conflict-clause")
        .unwrap();
    assert!(insert.doc.contains("**Unsafe** in SQLite and MySQL"));
    // Whatever carries a fix in the fixtures is marked fixable.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (dialect, case) in [
        ("sqlite", "ddl"),
        ("sqlite", "unsafe_insert"),
        ("sqlite", "flyway_repeatable"),
        ("postgres", "ddl"),
        ("postgres", "flyway_repeatable"),
        ("mysql", "ddl"),
        ("mysql", "unsafe_insert"),
    ] {
        let path = format!("fixtures/fix/{dialect}/{case}");
        let out = run(
            root,
            &[
                "check",
                "--dialect",
                dialect,
                "--no-replay",
                "--format",
                "json",
                &path,
            ],
        );
        for (rule, file, a) in fixes_in(&out.stdout) {
            if !a.is_empty() {
                assert!(
                    fixable.contains(&rule.as_str()),
                    "{rule} fixes {file} but is not marked fixable"
                );
            }
        }
    }
}

/// The temporary file `--fix` writes beside a file is named after it: with a
/// name near the 255-byte limit, the temporary name went over it and the fix
/// was refused as "its folder is not writable" (File name too long).
#[test]
fn a_file_with_a_name_near_the_length_limit_is_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("001_{}.sql", "a".repeat(247));
    assert_eq!(name.len(), 255);
    std::fs::write(dir.path().join(&name), "CREATE TABLE a (id INTEGER);\n").unwrap();
    let out = run(dir.path(), &["check", "--no-replay", "--fix", "."]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(&name)).unwrap(),
        "CREATE TABLE IF NOT EXISTS a (id INTEGER);\n"
    );
    // No temporary file is left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// A history in a dialect twice does not support (T-SQL here, known by its
/// folder's name) gets its findings without fixes: twice writes fixes in the
/// SQL of the dialects it supports, and SQL Server has no `CREATE TABLE IF
/// NOT EXISTS`. Its `GO` batches are no missing `;` either.
#[test]
fn a_history_in_an_unsupported_dialect_is_not_fixed() {
    let (tmp, dst) = copy_fixture("tsql", "sqlserver");
    let before = files(&dst);
    let out = run(
        tmp.path(),
        &["check", "--no-replay", "--color", "never", "sqlserver"],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("error[create-without-if-not-exists]"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("syntax-error"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "no fix is offered: this history is written in T-SQL (SQL Server), which twice does not support"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("fixable"), "{}", out.stdout);
    let fixed = run(tmp.path(), &["check", "--fix", "--no-replay", "sqlserver"]);
    assert_eq!(fixed.code, 1, "{}{}", fixed.stdout, fixed.stderr);
    assert_eq!(files(&dst), before);
}
