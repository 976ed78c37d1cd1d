//! Hostile inputs (issue 15 §3 and §4): deep nesting inside SQLite, inputs
//! that multiply memory, quadratic output, FIFOs, symlinks, control
//! characters in names, interrupted fixes. Most run the binary, in a
//! process of its own, so that an abort is a failed test and not a crash of
//! the test runner. Unix only (FIFOs, symbolic links, `wait4`).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn twice() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twice"));
    for var in [
        "GITHUB_ACTIONS",
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "RUST_BACKTRACE",
        "TWICE_DATABASE_URL",
        "TERM",
    ] {
        c.env_remove(var);
    }
    c.stdin(Stdio::null());
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn output(mut c: Command) -> Out {
    let o = c.output().expect("twice runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run_in(dir: &Path, args: &[&str]) -> Out {
    let mut c = twice();
    c.current_dir(dir).args(args);
    output(c)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

// ---- §3: nesting inside SQLite ---------------------------------------------

/// A chain of `n` views, each reading the one before, then a statement that
/// reaches the last one.
fn view_chain(n: usize, per_view_subqueries: usize) -> String {
    let mut s = String::from("CREATE TABLE IF NOT EXISTS t0 (a INTEGER);\n");
    s.push_str("CREATE VIEW IF NOT EXISTS v0 AS SELECT a FROM t0;\n");
    for i in 1..n {
        let inner = format!("v{}", i - 1);
        let mut from = inner;
        for _ in 0..per_view_subqueries {
            from = format!("(SELECT a FROM {from})");
        }
        s.push_str(&format!(
            "CREATE VIEW IF NOT EXISTS v{i} AS SELECT a FROM {from};\n"
        ));
    }
    s.push_str(&format!(
        "INSERT INTO t0 SELECT count(*) FROM v{};\n",
        n - 1
    ));
    s
}

fn trigger_chain(n: usize) -> String {
    let mut s = String::new();
    for i in 0..=n {
        s.push_str(&format!("CREATE TABLE IF NOT EXISTS t{i} (a INTEGER);\n"));
    }
    for i in 0..n {
        s.push_str(&format!(
            "CREATE TRIGGER IF NOT EXISTS g{i} AFTER INSERT ON t{i} BEGIN INSERT INTO t{} VALUES (new.a); END;\n",
            i + 1
        ));
    }
    s.push_str("INSERT INTO t0 VALUES (1);\n");
    s
}

#[test]
fn views_nested_12_000_deep_are_a_finding_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/001_views.sql", &view_chain(12_000, 0));
    let out = run_in(dir.path(), &["check", "--format", "json", "m"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let limit = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "replay-resource-limit")
        .expect("a resource-limit finding");
    assert!(
        limit["message"]
            .as_str()
            .unwrap()
            .contains("nests views, triggers"),
        "{limit}"
    );
    // The first view past the cap (1,000 levels) is the one refused.
    assert_eq!(limit["line"], 1002, "{limit}");
}

#[test]
fn triggers_chained_12_000_deep_are_a_finding_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/001_triggers.sql", &trigger_chain(12_000));
    let out = run_in(dir.path(), &["check", "--format", "json", "m"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("nests views, triggers or cascading foreign keys too deep"),
        "{}",
        out.stdout
    );
}

#[test]
fn nesting_just_under_the_cap_replays_on_the_replay_stack() {
    // The heaviest chains the cap lets through, reached by a statement:
    // SQLite must compile them without running out of stack.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/001.sql", &view_chain(999, 0));
    write(dir.path(), "b/001.sql", &view_chain(90, 10));
    write(dir.path(), "c/001.sql", &trigger_chain(499));
    for m in ["a", "b", "c"] {
        let out = run_in(dir.path(), &["check", "--format", "json", m]);
        assert!(out.code == 0 || out.code == 1, "{m}: {}", out.stderr);
        assert!(!out.stdout.contains("too deep"), "{m}: {}", out.stdout);
        assert!(
            !out.stdout.contains("replay-resource-limit"),
            "{m}: {}",
            out.stdout
        );
    }
}

/// Views that double at each level: a statement reaching the last one makes
/// SQLite expand 2^(n-1) copies of the first while it compiles the
/// statement, before a single row is read.
fn doubling_views(n: usize, width: usize) -> String {
    let expr = vec!["x"; width].join(" + ");
    let mut sql = format!("CREATE VIEW v0 AS SELECT {expr} AS x FROM (SELECT 1 AS x);\n");
    for i in 1..n {
        sql.push_str(&format!(
            "CREATE VIEW v{i} AS SELECT x FROM v{p} UNION ALL SELECT x FROM v{p};\n",
            p = i - 1
        ));
    }
    sql.push_str(&format!("SELECT count(*) FROM v{} WHERE 0;\n", n - 1));
    sql
}

#[test]
fn a_statement_that_takes_long_to_compile_is_stopped_by_the_time_limit() {
    // 32,768 copies of a 20-term expression: over half a second of
    // compiling (sqlite3_prepare, about 200 MB) for a statement that then
    // reads nothing. The time limit covers the compiling, not only the run.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/001_views.sql", &doubling_views(16, 20));
    let out = run_in(
        dir.path(),
        &["check", "--format", "json", "--timeout", "0.05", "m"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let timeout = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "replay-timeout")
        .unwrap_or_else(|| panic!("a replay-timeout finding: {}", out.stdout));
    assert_eq!(timeout["line"], 17, "{timeout}");
}

#[test]
fn a_trigger_that_runs_forever_on_synthetic_rows_stops_replay_once_with_a_reason() {
    // Seeding inserts rows into `t` before the second migration; the
    // migration's trigger makes each insert run until the time limit. The
    // interrupted insert takes SQLite's transaction with it: replay stops
    // at the first one (exit 2) and says why, instead of trying every row
    // and ending on "cannot commit - no transaction is active".
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m/001_t.sql",
        "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, a TEXT);\n\
         CREATE TRIGGER IF NOT EXISTS endless AFTER INSERT ON t BEGIN\n\
         INSERT INTO t(a) SELECT count(*) FROM (WITH RECURSIVE c(x) AS \
         (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c);\n\
         END;\n",
    );
    write(
        dir.path(),
        "m/002_u.sql",
        "CREATE TABLE IF NOT EXISTS u(id INTEGER PRIMARY KEY);\n",
    );
    let out = run_in(
        dir.path(),
        &["check", "--timeout", "0.2", "--color", "never", "m"],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains(
            "replay stopped at m/002_u.sql: a synthetic row twice writes (`INSERT INTO main.\"t\""
        ) && all.contains("ran longer than the replay time limit (--timeout)")
            && all.contains("`--no-seed` and `--no-interleave` turn these writes off"),
        "{all}"
    );
    // Without the writes, the migrations replay.
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--timeout",
            "0.2",
            "--no-seed",
            "--no-interleave",
            "m",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

// ---- §3: memory --------------------------------------------------------------

/// Runs the binary and returns its exit code and peak resident memory
/// (`wait4`'s `ru_maxrss`, for this child alone).
fn peak_memory(dir: &Path, args: &[&str]) -> (i32, u64, String) {
    let stdout = dir.join("stdout.txt");
    let mut c = twice();
    c.current_dir(dir)
        .args(args)
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(Stdio::null());
    let child = c.spawn().expect("twice runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter; the pid is our child,
    // reaped here (the Child handle is never waited on).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    std::mem::forget(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    // ru_maxrss is in KiB on Linux.
    (
        code,
        usage.ru_maxrss as u64 * 1024,
        std::fs::read_to_string(stdout).unwrap_or_default(),
    )
}

#[test]
fn fourteen_63_mb_blobs_stay_under_one_and_a_half_gigabytes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m/001.sql",
        "CREATE TABLE IF NOT EXISTS b (x);\n\
         INSERT INTO b SELECT randomblob(63000000) FROM (WITH RECURSIVE c(x) AS \
         (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 14) SELECT x FROM c);\n",
    );
    let (code, peak, stdout) = peak_memory(dir.path(), &["check", "--format", "json", "m"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(peak < 1536 << 20, "peak resident memory {} MiB", peak >> 20);
    // The duplicated rows are still seen (by length and digest), and SQLite's
    // own ceiling stops the second run.
    assert!(
        stdout.contains("\"rule\": \"replay-resource-limit\""),
        "{stdout}"
    );
    assert!(stdout.contains("needs more memory"), "{stdout}");
}

#[test]
fn long_values_are_compared_by_digest_and_shown_as_one() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m/001.sql",
        "CREATE TABLE IF NOT EXISTS t (x);\n\
         INSERT INTO t VALUES (printf('%.*c', 10000, 'x'));\n",
    );
    let out = run_in(dir.path(), &["check", "m"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // The second run's added row is seen, and shown by length and digest.
    assert!(
        out.stdout.contains("<text of 10000 bytes, sha256 "),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&"x".repeat(5000)), "{}", out.stdout);
}

// ---- §3: output on long lines --------------------------------------------------

#[test]
fn a_160_kb_line_of_80_000_statements_is_drawn_clipped_around_each_position() {
    // Before, each frame carried the whole line through annotate-snippets:
    // quadratic, 107 s for this input. (Time is measured in benches/.)
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "m/001.sql",
        &format!("{}\n", "a;".repeat(80_000)),
    );
    let out = run_in(dir.path(), &["check", "--no-replay", "m"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let origins: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("--> "))
        .collect();
    // 10,000 findings listed, then one that counts the rest.
    assert_eq!(origins.len(), 10_001);
    // Positions are the real ones, not the clipped line's.
    assert_eq!(origins[0].trim(), "--> m/001.sql:1:1");
    assert_eq!(origins[5_000].trim(), "--> m/001.sql:1:10001");
    assert_eq!(origins[9_999].trim(), "--> m/001.sql:1:19999");
    assert_eq!(origins[10_000].trim(), "--> m/001.sql:1:20001");
    assert!(
        out.stdout.contains(
            "70000 more `unparsed-statement` findings in this file are not listed: twice lists \
             at most 10000 findings of one rule in one file"
        ),
        "{}",
        &out.stdout[out.stdout.len().saturating_sub(2000)..]
    );
    // No drawn line carries the whole source line.
    let longest = out.stdout.lines().map(str::len).max().unwrap();
    assert!(longest < 1_000, "a line of {longest} bytes");
}

#[test]
fn a_million_tiny_statements_stay_within_a_bounded_memory() {
    // 2 MB of `a;`: one `unparsed-statement` each, about 1.7 KB of findings
    // and records per statement before findings were capped per rule and
    // file (1.7 GB here; 8.3 GB for 10 MB).
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/001.sql", &"a;\n".repeat(1_000_000));
    let (code, peak, stdout) = peak_memory(
        dir.path(),
        &["check", "--no-replay", "--format", "json", "m"],
    );
    assert_eq!(code, 0, "{}", &stdout[..stdout.len().min(2000)]);
    assert!(peak < 900 << 20, "peak resident memory {} MiB", peak >> 20);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["summary"]["statements"], 1_000_000);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 10_001);
    let last = &findings[10_000];
    assert_eq!(last["rule"], "unparsed-statement");
    assert_eq!(last["line"], 10_001);
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .starts_with("990000 more `unparsed-statement` findings"),
        "{last}"
    );
}

#[test]
fn replay_findings_are_capped_per_rule_and_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut sql = String::from("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY);\n");
    for i in 0..10_005 {
        sql.push_str(&format!("INSERT INTO t VALUES ({i});\n"));
    }
    write(dir.path(), "m/001.sql", &sql);
    let out = run_in(dir.path(), &["check", "--format", "json", "m"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let second: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "second-run-error")
        .collect();
    assert_eq!(second.len(), 10_001);
    let last = second.last().unwrap();
    assert_eq!(last["line"], 10_002);
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .starts_with("5 more `second-run-error` findings in this file are not listed"),
        "{last}"
    );
}

#[test]
fn forty_thousand_findings_on_one_statement_are_linked_without_pairing_each_two() {
    // One finding per undefined `${x}`, all on one statement: linking
    // static and replay findings compared every finding with every other of
    // its statement (17 s for 25,000 in a debug build, minutes for this).
    // Time is measured in benches/ (`--only placeholders`).
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m/001.sql", &"${x}".repeat(40_000));
    let out = run_in(
        dir.path(),
        &["check", "--no-replay", "--format", "json", "m"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    // At most 10,000 of one rule in one file, and one finding for the rest.
    assert_eq!(findings.len(), 10_001);
    assert!(findings
        .iter()
        .all(|f| f["rule"] == "undefined-placeholder" && f["line"] == 1));
    assert!(findings[10_000]["message"]
        .as_str()
        .unwrap()
        .starts_with("30000 more `undefined-placeholder` findings"));
}

#[test]
fn fix_suggestions_on_a_long_line_are_clipped_too() {
    // Each suggestion used to print the whole 160 kB line again: 2.2 GB of
    // output for 8,000 CREATE TABLEs on one line.
    let dir = tempfile::tempdir().unwrap();
    let line: String = (0..8000)
        .map(|i| format!("CREATE TABLE t{i} (a);"))
        .collect();
    write(dir.path(), "m/001.sql", &format!("{line}\n"));
    let out = run_in(dir.path(), &["check", "--no-replay", "m"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout.len() < 40_000_000,
        "{} bytes of output",
        out.stdout.len()
    );
    let longest = out.stdout.lines().map(str::len).max().unwrap();
    assert!(longest < 1_100, "a line of {longest} bytes");
    // The suggestion still shows the edit in place.
    assert!(
        out.stdout.contains(
            "CREATE TABLE t3990 (a);CREATE TABLE t3991 (a);CREATE TABLE IF NOT EXISTS t3992 (a);"
        ),
        "suggestion not drawn"
    );
}

// ---- §3: placeholders that multiply ---------------------------------------------

#[test]
fn a_1_mb_define_used_20_000_times_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "twice.toml",
        &format!("[define]\nbig = \"{}\"\n", "x".repeat(1 << 20)),
    );
    let mut sql = String::from("CREATE TABLE IF NOT EXISTS t (v TEXT);\n");
    for _ in 0..20_000 {
        sql.push_str("INSERT INTO t VALUES ('${big}');\n");
    }
    write(dir.path(), "m/001.sql", &sql);
    let out = run_in(dir.path(), &["check", "--no-replay", "m"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // 64 MiB are reached on the 65th use, line 66.
    assert!(
        out.stderr.contains(
            "m/001.sql:66: placeholder values would make this file more than 64 MiB longer"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

// ---- §3: a FIFO where a file was --------------------------------------------------

#[test]
fn a_fifo_in_place_of_a_listed_file_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("001_init.sql");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    // What discovery does once it has listed the file: read it. A FIFO with
    // no writer used to block here forever.
    let (tx, rx) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(twice::source::FileSource::disk().read(&path));
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("reading a FIFO returned instead of blocking");
    let err = got.expect_err("a FIFO is not read as a file");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    // And config files: a twice.toml that is a FIFO.
    let cfg = dir.path().join("twice.toml");
    let c = std::ffi::CString::new(cfg.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let mut cmd = twice();
    cmd.current_dir(dir.path())
        .args(["check", "--config", "twice.toml", "x.sql"]);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let status = status.expect("twice did not hang on a FIFO config file");
    assert_eq!(status.code(), Some(2));
    // A FIFO in a walked folder is skipped with a notice, not in silence.
    std::fs::remove_file(&cfg).unwrap();
    let out = run_in(
        dir.path(),
        &["check", "--no-replay", "--format", "json", "."],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = json(&out);
    assert!(
        notices(&doc)
            .iter()
            .any(|n| n == "001_init.sql: not a regular file (a pipe, socket or device); skipped"),
        "{:?}",
        notices(&doc)
    );
}

// ---- §4: output injection -------------------------------------------------------------

#[test]
fn control_characters_in_names_never_start_a_line_or_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "m/001_x\n::error file=evil.sql,line=1::forged in a file name.sql",
        "CREATE TABLE t (a);\n",
    );
    write(d, "m/README\n::error::forged in a notice", "hello\n");
    write(d, "m/002_\u{1b}[31mred\u{7}.sql", "CREATE TABLE u (a);\n");
    write(
        d,
        "n/001.sql",
        "CREATE TABLE \"x\n::error file=evil.sql::forged in an identifier\" (a);\n\
         CREATE TABLE \"e\u{1b}[31mred\u{7}\" (a);\n",
    );
    for format in ["human", "github", "json", "sarif", "gitlab"] {
        for gha in [false, true] {
            let mut c = twice();
            c.current_dir(d)
                .args(["check", "--format", format, "m", "n"]);
            if gha {
                c.env("GITHUB_ACTIONS", "true");
            }
            let out = output(c);
            assert_eq!(out.code, 1, "{format}: {}", out.stderr);
            for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                assert!(
                    !text.contains('\u{1b}') && !text.contains('\u{7}'),
                    "{format} {stream}: a raw control character\n{text}"
                );
                for line in text.lines() {
                    // GitHub's runner takes a line as a command after
                    // trimming leading blanks.
                    if line.trim_start().starts_with("::") {
                        // Only twice's own annotations, about the real files.
                        assert!(
                            line.starts_with("::error file=m/")
                                || line.starts_with("::error file=n/"),
                            "{format} {stream}: forged line {line:?}"
                        );
                    }
                }
            }
        }
    }
    // The names are shown escaped where people read them.
    let out = run_in(d, &["check", "m", "n"]);
    assert!(
        out.stdout
            .contains("m/001_x\\n::error file=evil.sql,line=1::forged in a file name.sql:1:1"),
        "{}",
        out.stdout
    );
    // Identifiers in messages too, in every format.
    assert!(
        out.stdout.contains(
            "CREATE TABLE \"x\\n::error file=evil.sql::forged in an identifier\" runs only once"
        ),
        "{}",
        out.stdout
    );
    let out = run_in(d, &["check", "--format", "json", "m", "n"]);
    assert!(
        out.stderr
            .contains("m/README\\n::error::forged in a notice"),
        "{}",
        out.stderr
    );
    let out = run_in(d, &["check", "--format", "github", "m", "n"]);
    assert!(
        out.stdout.contains("\\u{1b}[31mred\\u{7}"),
        "{}",
        out.stdout
    );
}

// ---- §4: --fix writes safely -------------------------------------------------------------

fn no_temp_files(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains("twice-fix"), "left behind: {name}");
    }
}

#[test]
fn fix_keeps_permissions_and_leaves_no_temporary_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "m/001.sql", "CREATE TABLE t (a);\n");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = run_in(dir.path(), &["check", "--fix", "m"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        "CREATE TABLE IF NOT EXISTS t (a);\n"
    );
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    no_temp_files(&dir.path().join("m"));
}

#[test]
fn fix_writes_nothing_when_one_file_of_the_set_is_not_writable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "m/001.sql", "CREATE TABLE a (x);\n");
    let b = write(dir.path(), "m/002.sql", "CREATE TABLE b (x);\n");
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = run_in(dir.path(), &["check", "--fix", "m"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("m/002.sql: is not writable"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    // The writable file was not fixed either: no half-fixed folder.
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        "CREATE TABLE a (x);\n"
    );
    assert_eq!(
        std::fs::read_to_string(&b).unwrap(),
        "CREATE TABLE b (x);\n"
    );
    no_temp_files(&dir.path().join("m"));
}

#[test]
fn fix_refuses_a_file_changed_on_disk_since_it_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "m/001.sql", "CREATE TABLE a (x);\n");
    let inputs = [twice::discover::Input::Path(dir.path().join("m"))];
    let run = twice::fix::run(&inputs, &twice::check::Options::default()).unwrap();
    assert!(run.plans.iter().any(|p| p.changed()));
    // Someone edits the file between the check and the write.
    std::fs::write(&a, "CREATE TABLE a (x, y);\n").unwrap();
    let err = twice::fix::write_all(&run.plans, &inputs).unwrap_err();
    assert!(
        err.message.contains("changed on disk since twice read it"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        "CREATE TABLE a (x, y);\n"
    );
    no_temp_files(&dir.path().join("m"));
}

#[test]
fn fix_never_writes_through_a_link_to_a_file_outside_what_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let outside = write(dir.path(), "outside/secret.sql", "CREATE TABLE s (x);\n");
    std::fs::create_dir_all(dir.path().join("m")).unwrap();
    let link = dir.path().join("m/001.sql");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let plan = twice::fix::FilePlan {
        name: "m/001.sql".into(),
        path: Some(link.clone()),
        had_bom: false,
        utf16: None,
        original: "CREATE TABLE s (x);\n".into(),
        fixed: "CREATE TABLE IF NOT EXISTS s (x);\n".into(),
        applied: vec![(1, "create-without-if-not-exists".into(), "x".into())],
        refused: Vec::new(),
        unsafe_skipped: Vec::new(),
    };
    let inputs = [twice::discover::Input::Path(dir.path().join("m"))];
    let err = twice::fix::write_all(std::slice::from_ref(&plan), &inputs).unwrap_err();
    assert!(err.message.contains("is a symbolic link to"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "CREATE TABLE s (x);\n"
    );
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    // Named on the command line, the link is followed and its target fixed.
    let inputs = [twice::discover::Input::Path(link.clone())];
    twice::fix::write_all(std::slice::from_ref(&plan), &inputs).unwrap();
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "CREATE TABLE IF NOT EXISTS s (x);\n"
    );
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

/// A link beside the file it names (`002_b.sql -> 001_a.sql`): the one file
/// is written once, the link kept. Before, the second name found the file
/// already fixed and `--fix` stopped half-way with exit 2.
#[test]
fn fix_writes_a_file_reached_by_two_names_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "m/001_a.sql", "CREATE TABLE a (id int);\n");
    std::os::unix::fs::symlink("001_a.sql", dir.path().join("m/002_b.sql")).unwrap();
    let out = run_in(dir.path(), &["check", "--no-replay", "--fix", "m"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "CREATE TABLE IF NOT EXISTS a (id int);\n"
    );
    assert!(std::fs::symlink_metadata(dir.path().join("m/002_b.sql"))
        .unwrap()
        .file_type()
        .is_symlink());
    no_temp_files(&dir.path().join("m"));
    // Two names whose fixes differ: nothing is written.
    let plan = |name: &str, fixed: &str| twice::fix::FilePlan {
        name: name.into(),
        path: Some(dir.path().join(name)),
        had_bom: false,
        utf16: None,
        original: "CREATE TABLE IF NOT EXISTS a (id int);\n".into(),
        fixed: fixed.into(),
        applied: vec![(1, "x".into(), "x".into())],
        refused: Vec::new(),
        unsafe_skipped: Vec::new(),
    };
    let plans = [
        plan(
            "m/001_a.sql",
            "-- one\nCREATE TABLE IF NOT EXISTS a (id int);\n",
        ),
        plan(
            "m/002_b.sql",
            "-- two\nCREATE TABLE IF NOT EXISTS a (id int);\n",
        ),
    ];
    let inputs = [twice::discover::Input::Path(dir.path().join("m"))];
    let err = twice::fix::write_all(&plans, &inputs).unwrap_err();
    assert!(
        err.message
            .contains("the fixes planned under the two names differ"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "CREATE TABLE IF NOT EXISTS a (id int);\n"
    );
    no_temp_files(&dir.path().join("m"));
}

/// 40,000 directive lines above one statement: each directive's search for
/// the statement it covers is a look-up, not a walk over every directive
/// after it (quadratic: 12 s for 25,000 in a release build). The statement
/// is covered by every one of them, so none is unused.
#[test]
fn forty_thousand_suppression_lines_are_read_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}DROP TABLE t;\n",
        "-- twice:ignore drop-without-if-exists\n".repeat(40_000)
    );
    write(dir.path(), "m/001.sql", &text);
    let out = run_in(dir.path(), &["check", "--no-replay", "m"]);
    assert_eq!(
        out.code,
        0,
        "{}{}",
        out.stderr,
        &out.stdout[..out.stdout.len().min(2000)]
    );
    assert!(
        out.stdout.contains("no findings"),
        "{}",
        &out.stdout[..out.stdout.len().min(2000)]
    );
}

// ---- §4 / issue 14: the walker ------------------------------------------------------------------

fn json(out: &Out) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn files_of(doc: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn notices(doc: &serde_json::Value) -> Vec<String> {
    doc["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_link_leaving_the_folder_is_not_followed_but_a_named_link_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "secret.env", "PASSWORD=hunter2\n");
    write(d, "other/002_b.sql", "CREATE TABLE b (x);\n");
    write(d, "m/001_a.sql", "CREATE TABLE a (x);\n");
    write(d, "m/sub/003_c.sql", "CREATE TABLE c (x);\n");
    std::os::unix::fs::symlink(d.join("secret.env"), d.join("m/002_secret.sql")).unwrap();
    std::os::unix::fs::symlink(d.join("other"), d.join("m/linked")).unwrap();
    // A link inside the folder is still followed.
    std::os::unix::fs::symlink(d.join("m/sub/003_c.sql"), d.join("m/004_inside.sql")).unwrap();
    let out = run_in(d, &["check", "--no-replay", "--format", "json", "m"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
    let doc = json(&out);
    assert_eq!(
        files_of(&doc),
        ["m/001_a.sql", "m/004_inside.sql", "m/sub/003_c.sql"]
    );
    let n = notices(&doc).join("\n");
    assert!(n.contains("m/002_secret.sql: symbolic link to"), "{n}");
    assert!(n.contains("m/linked: symbolic link to"), "{n}");
    assert!(
        n.contains("outside the folder being checked; not followed"),
        "{n}"
    );
    // Named on the command line, a link is followed.
    let out = run_in(d, &["check", "--no-replay", "--format", "json", "m/linked"]);
    assert_eq!(files_of(&json(&out)), ["m/linked/002_b.sql"]);
}

#[test]
fn gitignore_and_ignore_files_are_respected_and_named_folders_walked_anyway() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join(".git")).unwrap();
    write(
        d,
        ".gitignore",
        "build/\n*.generated.sql\n!keep.generated.sql\n",
    );
    write(d, "db/.ignore", "scratch.sql\n");
    write(d, "db/001_a.sql", "CREATE TABLE a (x);\n");
    write(d, "db/002_b.generated.sql", "CREATE TABLE b (x);\n");
    write(d, "db/003_keep.generated.sql", "CREATE TABLE k (x);\n");
    write(d, "db/keep.generated.sql", "CREATE TABLE kk (x);\n");
    write(d, "db/scratch.sql", "CREATE TABLE s (x);\n");
    write(d, "build/out/001_c.sql", "CREATE TABLE c (x);\n");
    let out = run_in(d, &["check", "--no-replay", "--format", "json", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = json(&out);
    assert_eq!(files_of(&doc), ["db/001_a.sql", "db/keep.generated.sql"]);
    let n = notices(&doc).join("\n");
    assert!(
        n.contains(".: not read, as .gitignore or .ignore says: build/"),
        "{n}"
    );
    assert!(
        n.contains("db: not read, as .gitignore or .ignore says: 002_b.generated.sql, 003_keep.generated.sql, scratch.sql"),
        "{n}"
    );
    // The ignore files themselves are read, not "skipped".
    assert!(!n.contains(".ignore: skipped"), "{n}");
    // An ignored folder named on the command line is read.
    let out = run_in(d, &["check", "--no-replay", "--format", "json", "build"]);
    assert_eq!(files_of(&json(&out)), ["build/out/001_c.sql"]);
    // Outside a git repository, .gitignore means nothing (.ignore still does).
    std::fs::remove_dir_all(d.join(".git")).unwrap();
    let out = run_in(d, &["check", "--no-replay", "--format", "json", "db"]);
    assert_eq!(
        files_of(&json(&out)),
        [
            "db/001_a.sql",
            "db/002_b.generated.sql",
            "db/003_keep.generated.sql",
            "db/keep.generated.sql"
        ]
    );
}

#[test]
fn an_exclude_pattern_that_matches_nothing_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "twice.toml",
        "exclude = [\"db/001_*.sql\", \"legacy/**\"]\n",
    );
    write(d, "db/001_a.sql", "CREATE TABLE a (x);\n");
    write(d, "db/002_b.sql", "CREATE TABLE b (x);\n");
    let out = run_in(d, &["check", "--no-replay", "--format", "json", "db"]);
    let n = notices(&json(&out)).join("\n");
    assert!(n.contains("excluded db/001_a.sql"), "{n}");
    assert!(
        n.contains("`exclude` pattern `legacy/**` (in twice.toml) matched no file"),
        "{n}"
    );
    assert!(
        !n.contains("`db/001_*.sql` (in twice.toml) matched no file"),
        "{n}"
    );
}

#[test]
fn a_folder_without_sql_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "docs/readme.md", "nothing here\n");
    let out = run_in(dir.path(), &["check", "docs"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .contains("docs: no SQL migrations found in this folder"),
        "{}",
        out.stdout
    );
}

#[test]
fn utf16_files_with_a_bom_are_read_and_fixed_in_utf16() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = "-- é\nCREATE TABLE t (a);\nDROP TABLE ü;\n";
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(
            text.replace("t (", "u (")
                .encode_utf16()
                .flat_map(u16::to_be_bytes),
        )
        .collect();
    std::fs::create_dir_all(d.join("m")).unwrap();
    std::fs::write(d.join("m/001_le.sql"), &le).unwrap();
    std::fs::write(d.join("m/002_be.sql"), &be).unwrap();
    let out = run_in(d, &["check", "--no-replay", "--format", "json", "m"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = json(&out);
    let at: Vec<(String, String, u64, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    for file in ["m/001_le.sql", "m/002_be.sql"] {
        assert!(
            at.contains(&(file.into(), "create-without-if-not-exists".into(), 2, 1)),
            "{at:?}"
        );
        assert!(
            at.contains(&(file.into(), "drop-without-if-exists".into(), 3, 1)),
            "{at:?}"
        );
    }
    let out = run_in(d, &["check", "--no-replay", "--fix", "m"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let fixed_le = std::fs::read(d.join("m/001_le.sql")).unwrap();
    assert_eq!(&fixed_le[..2], &[0xFF, 0xFE]);
    let units: Vec<u16> = fixed_le[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    assert_eq!(
        String::from_utf16(&units).unwrap(),
        "-- é\nCREATE TABLE IF NOT EXISTS t (a);\nDROP TABLE IF EXISTS ü;\n"
    );
    let fixed_be = std::fs::read(d.join("m/002_be.sql")).unwrap();
    assert_eq!(&fixed_be[..2], &[0xFE, 0xFF]);
    let units: Vec<u16> = fixed_be[2..]
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    assert_eq!(
        String::from_utf16(&units).unwrap(),
        "-- é\nCREATE TABLE IF NOT EXISTS u (a);\nDROP TABLE IF EXISTS ü;\n"
    );
}

#[test]
fn snapshots_of_one_window_hold_at_most_64_mib() {
    use twice::replay::engine::TableData;
    use twice::replay::sqlite::{SandboxConfig, SqliteEngine, StatementEngine};
    let mut e = SqliteEngine::open(&SandboxConfig::default()).unwrap();
    e.begin(&[]).unwrap();
    // 25,000 rows of 3,000 bytes (under the 4 KiB digest threshold, under
    // the 100,000-row threshold): 75 MB that used to be copied whole, once
    // before and once after.
    let sql = "CREATE TABLE t (v TEXT); INSERT INTO t SELECT printf('%.*c', 3000, 'x') || x FROM \
               (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 25000) \
               SELECT x FROM c)";
    let mut rest = 0;
    while let Some((_, next)) = e.prepare_next(&sql[rest..]).unwrap() {
        e.step().unwrap();
        rest += next;
    }
    e.observe_start().unwrap();
    let sql = "UPDATE t SET v = v || 'y' WHERE rowid = 1";
    e.prepare_next(sql).unwrap().unwrap();
    e.step().unwrap();
    let obs = e.observe_stop().unwrap();
    for data in [&obs.data_before["t"], &obs.data_after["t"]] {
        match data {
            Some(TableData::Summary { count, .. }) => assert_eq!(*count, 25_000),
            other => panic!("kept whole: {:?}", other.as_ref().map(|d| d.columns())),
        }
    }
    // The change is still seen.
    assert_ne!(
        format!("{:?}", obs.data_before["t"]),
        format!("{:?}", obs.data_after["t"])
    );
}

/// The project files read for a folder's dialect (`Cargo.toml`,
/// `package.json`, `go.mod`, a compose file) may be anything: nested 150,000
/// deep, binary, or lines of garbage. The check goes on, with the default
/// dialect, and never overflows the stack.
#[test]
fn setup_scripts_named_in_twice_toml_stay_in_its_folder_and_are_regular_files() {
    // twice.toml comes with the migrations, from pull requests too, and a
    // setup script's text is quoted in its error messages: one naming
    // `/proc/self/environ` printed twice's environment (CI secrets), one
    // naming `/dev/zero` read until memory ran out.
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let secret = write(outside.path(), "secret.sql", "TOKEN=s3cr3t-value;\n");
    write(
        dir.path(),
        "m/001.sql",
        "CREATE TABLE IF NOT EXISTS t (a int);\n",
    );
    write(
        dir.path(),
        "db/ok.sql",
        "CREATE TABLE IF NOT EXISTS base (a int);\n",
    );
    std::os::unix::fs::symlink(&secret, dir.path().join("db/link.sql")).unwrap();
    let fifo = dir.path().join("db/fifo.sql");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let cases = [
        (
            "/proc/self/environ".to_string(),
            "outside the folder of twice.toml",
        ),
        (
            secret.display().to_string(),
            "outside the folder of twice.toml",
        ),
        (
            format!(
                "../{}/secret.sql",
                outside.path().file_name().unwrap().to_str().unwrap()
            ),
            "outside the folder of twice.toml",
        ),
        (
            "db/link.sql".to_string(),
            "outside the folder of twice.toml",
        ),
        ("/dev/zero".to_string(), "outside the folder of twice.toml"),
        ("db/fifo.sql".to_string(), "not a regular file"),
    ];
    for (setup, expect) in cases {
        let toml = format!("[replay]\nsetup = {}\n", serde_json::json!(setup));
        write(dir.path(), "twice.toml", &toml);
        let mut c = twice();
        c.current_dir(dir.path())
            .env("TWICE_TEST_SECRET", "s3cr3t-value")
            .args(["check", "--color", "never", "m"]);
        let out = output(c);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert_eq!(out.code, 2, "{setup}: {all}");
        assert!(all.contains(expect), "{setup}: {all}");
        assert!(!all.contains("s3cr3t-value"), "{setup}: {all}");
    }
    // A script in the folder runs; `--setup` may name one anywhere.
    write(
        dir.path(),
        "twice.toml",
        "[replay]\nsetup = \"db/ok.sql\"\n",
    );
    let out = run_in(dir.path(), &["check", "m"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let out = run_in(
        dir.path(),
        &["check", "--setup", secret.to_str().unwrap(), "m"],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("setup script"), "{}", out.stderr);
}

#[test]
fn hostile_project_files_are_read_without_harm() {
    let dir = tempfile::tempdir().unwrap();
    let n = 150_000;
    write(
        dir.path(),
        "Cargo.toml",
        &format!(
            "[dependencies]\nx = {}1{}\n",
            "{a=".repeat(n),
            "}".repeat(n)
        ),
    );
    write(
        dir.path(),
        "package.json",
        &format!("{{\"dependencies\":{}{}}}", "[".repeat(n), "]".repeat(n)),
    );
    std::fs::write(dir.path().join("go.mod"), [0xffu8, 0, 0x80, b'\n', 0xc3]).unwrap();
    write(
        dir.path(),
        "compose.yaml",
        &"image: \"\u{1b}[31m\n  image:\n".repeat(10_000),
    );
    write(dir.path(), "db/001_t.sql", "CREATE TABLE t (id INT);\n");
    let out = run_in(
        dir.path(),
        &["check", "--no-replay", "--format", "json", "db"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["sequences"][0]["dialect"], "sqlite");
}

// ---- CI log commands anywhere in a line --------------------------------------

/// GitHub's runner reads `##[command]` (its legacy form) anywhere in a line
/// and `::command::` after leading blanks; Azure's agent `##vso[...]`. A file
/// name, a folder name, a quoted identifier, a comment in a code frame or an
/// engine's message holding one reached the log as such: `##[stop-commands]`
/// in a file name paused the runner's reading of twice's own annotations,
/// and a folder named `::error file=x.sql::PWNED` checked as `.` started a
/// summary line. No format lets one through; the JSON formats keep the exact
/// text (`\u005b` is `[` to a JSON reader).
#[test]
fn ci_log_commands_from_the_input_never_reach_the_log() {
    let d = tempfile::tempdir().unwrap();
    let folder = d.path().join("::error file=x.sql::PWNED");
    write(
        &folder,
        "001_##[stop-commands]tok.sql",
        "CREATE TABLE \"##[add-mask]t\" (id int);\n-- ##vso[task.setvariable variable=x]1\n\
         SELECT raise(ABORT, '##[error]forged');\n",
    );
    write(d.path(), "seed_##[debug]y.sql", "x");
    let runs: Vec<(&str, Vec<&str>, bool)> = vec![
        ("human", vec!["check", "."], false),
        ("human in Actions", vec!["check", "."], true),
        ("github", vec!["check", ".", "--format", "github"], false),
        ("json", vec!["check", ".", "--format", "json"], false),
        ("sarif", vec!["check", ".", "--format", "sarif"], false),
        ("gitlab", vec!["check", ".", "--format", "gitlab"], false),
        ("plan", vec!["plan", "."], false),
        ("plan json", vec!["plan", ".", "--format", "json"], false),
    ];
    for (what, args, actions) in runs {
        let mut c = twice();
        c.current_dir(d.path()).args(&args);
        if actions {
            c.env("GITHUB_ACTIONS", "true");
        }
        let out = output(c);
        for line in out.stdout.lines().chain(out.stderr.lines()) {
            let lower = line.to_ascii_lowercase();
            assert!(
                !lower.contains("##[") && !lower.contains("##vso["),
                "{what}: {line}"
            );
            let body = line.trim_start();
            if body.starts_with("::") {
                // Only twice's own annotations, whose file= is escaped.
                let file = body.split_once("file=").map(|(_, f)| f.split(',').next());
                assert!(
                    (what == "github" || what == "human in Actions")
                        && ["::error file=", "::warning file=", "::notice file="]
                            .iter()
                            .any(|c| body.starts_with(c))
                        && file.flatten().is_some_and(|f| !f.contains("::")),
                    "{what}: {line}"
                );
            }
        }
        if what.contains("json") || what == "gitlab" || what == "sarif" {
            let v: serde_json::Value = serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("{what}: {e}\n{}", out.stdout));
            if what != "sarif" {
                assert!(v.to_string().contains("##[stop-commands]tok"), "{what}");
            }
        }
    }
}

// ---- project files that list many things (fourteenth session) ----------------

/// `twice plan --format json` in `dir`, killed after `secs` seconds: a
/// planner that reads a project file once per thing it lists takes hours on
/// these inputs (a hang, as a FIFO's was), and minutes become hours as the
/// input grows; read once, they take seconds.
fn plan_or_hang(dir: &Path, path: &str, secs: u64) -> serde_json::Value {
    let mut cmd = twice();
    cmd.current_dir(dir)
        .args(["plan", "--format", "json", path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: the pid of our own child, which has not been reaped.
            unsafe { libc::kill(id as i32, libc::SIGKILL) };
            panic!("twice plan {path} hung (killed after {secs} s)");
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Liquibase: a changelog of 100,000 changesets (each changeset's rollback
/// was looked for among all the file's lines), a master changelog including
/// 20,000 SQL files (each include compared with every file) and then 100,000
/// changelogs of change types (each looked for its next migration among all
/// of them), ending in 1,000,000 `<` without a `>` (each searched to the end
/// of the file). Each took over 100 s in a debug build; read once, the
/// whole folder takes about 10 s.
#[test]
fn liquibase_changelogs_that_list_many_things_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut changesets = String::from("--liquibase formatted sql\n");
    for i in 0..100_000 {
        changesets.push_str(&format!(
            "--changeset a:{i}\nSELECT {i};\n--rollback SELECT {i};\n"
        ));
    }
    write(dir.path(), "db/big/all.sql", &changesets);
    let mut master = String::from("<databaseChangeLog>\n");
    for i in 0..20_000 {
        write(
            dir.path(),
            &format!("db/changes/{i:05}.sql"),
            &format!("SELECT {i};\n"),
        );
        master.push_str(&format!("<include file=\"changes/{i:05}.sql\"/>\n"));
    }
    master.push_str("<include file=\"big/all.sql\"/>\n");
    for i in 0..100_000 {
        master.push_str(&format!("<include file=\"types/x{i}.xml\"/>\n"));
    }
    master.push_str("</databaseChangeLog>\n");
    master.push_str(&"<".repeat(1_000_000));
    write(dir.path(), "db/changelog.xml", &master);
    let doc = plan_or_hang(dir.path(), "db", 90);
    let seq = &doc["sequences"][0];
    assert_eq!(seq["layout"], "liquibase", "{seq}");
    let migrations = seq["migrations"].as_array().unwrap();
    assert_eq!(migrations.len(), 120_000);
    assert!(migrations[0]["up"]["file"]
        .as_str()
        .unwrap()
        .ends_with("changes/00000.sql"));
    assert!(migrations[119_999]["up"]["file"]
        .as_str()
        .unwrap()
        .ends_with("big/all.sql"));
}

/// Sqitch: 30,000 changes, then each planned again after a tag of its own.
/// Every earlier occurrence's rework tags were copied out (450 million tag
/// names in all) and each one's script looked for among the files: over
/// 100 s and gigabytes; read once, seconds. A tag declared twice, which
/// Sqitch refuses, is said so.
#[test]
fn a_sqitch_plan_reworking_every_change_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let n = 30_000;
    let mut plan = String::from("%syntax-version=1.0.0\n%project=x\n");
    let line = "2020-01-01T00:00:00Z a <a@b> # note\n";
    for i in 0..n {
        plan.push_str(&format!("c{i} {line}"));
    }
    plan.push_str(&format!("@v1 {line}"));
    for i in 0..n {
        plan.push_str(&format!("c{i} {line}@t{i} {line}"));
    }
    plan.push_str(&format!("@v1 {line}"));
    write(dir.path(), "sqitch.plan", &plan);
    write(dir.path(), "sqitch.conf", "[core]\n\tengine = sqlite\n");
    write(dir.path(), "deploy/c0@v1.sql", "CREATE TABLE c (x INT);\n");
    write(dir.path(), "deploy/c1@t0.sql", "CREATE TABLE d (x INT);\n");
    write(dir.path(), "deploy/c0.sql", "ALTER TABLE c ADD y INT;\n");
    let doc = plan_or_hang(dir.path(), ".", 90);
    let seq = &doc["sequences"][0];
    assert_eq!(seq["layout"], "sqitch", "{seq}");
    let files: Vec<&str> = seq["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["up"]["file"].as_str().unwrap())
        .collect();
    // c1's first occurrence tries t0 (the tag before its rework) first.
    assert_eq!(
        files,
        ["deploy/c0@v1.sql", "deploy/c1@t0.sql", "deploy/c0.sql"]
    );
    let notices: Vec<&str> = doc["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(
        notices.iter().any(|x| x.contains(&format!(
            "sqitch.plan:{}: Sqitch refuses this plan: tag @v1 is declared again (first on line {})",
            3 * n + 4,
            n + 3
        ))),
        "{:?}",
        &notices[..notices.len().min(5)]
    );
}

/// Other project files that list things, each of which twice looked up
/// among all the others (over 100 s each in a debug build; seconds read
/// once): yoyo's `-- depends:` (20,000 migrations each depending on the
/// next: every step of the order looked at every migration again), a
/// Temporal `manifest.json` listing 100,000 files, an `atlas.sum` of 500,000
/// lines, and `flyway.schemas` naming 100,000 schemas.
#[test]
fn project_files_listing_many_things_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 20_000;
    for i in 0..n {
        let dep = if i + 1 < n {
            format!("-- depends: m{:05}\n", i + 1)
        } else {
            String::new()
        };
        write(
            d,
            &format!("yoyo/m{i:05}.sql"),
            &format!("{dep}CREATE TABLE IF NOT EXISTS t{i} (x INT);\n"),
        );
    }
    write(d, "yoyo/m00000.rollback.sql", "DROP TABLE t0;\n");
    let doc = plan_or_hang(d, "yoyo", 90);
    let migrations = doc["sequences"][0]["migrations"].as_array().unwrap();
    assert_eq!(doc["sequences"][0]["layout"], "yoyo");
    assert_eq!(migrations.len(), n);
    assert_eq!(migrations[0]["up"]["file"], "yoyo/m19999.sql");
    assert_eq!(migrations[n - 1]["up"]["file"], "yoyo/m00000.sql");

    let files: Vec<String> = (0..100_000).map(|i| format!("f{i}.sql")).collect();
    let v = "temporal/schema/postgresql/v12/temporal/versioned/v1.0";
    write(
        d,
        &format!("{v}/manifest.json"),
        &serde_json::json!({"CurrVersion": "1.0", "MinCompatibleVersion": "1.0",
            "SchemaUpdateCqlFiles": files})
        .to_string(),
    );
    write(d, &format!("{v}/f0.sql"), "CREATE TABLE a (x INT);\n");
    let doc = plan_or_hang(d, "temporal", 90);
    assert_eq!(
        doc["sequences"][0]["migrations"].as_array().unwrap().len(),
        1
    );

    for i in 0..2_000 {
        write(
            d,
            &format!("atlas/{i:05}_a.sql"),
            &format!("CREATE TABLE t{i} (x INT);\n"),
        );
    }
    write(
        d,
        "atlas/atlas.sum",
        &format!("h1:x=\n{}", "01999_a.sql h1:abc=\n".repeat(500_000)),
    );
    let doc = plan_or_hang(d, "atlas", 90);
    assert_eq!(doc["sequences"][0]["layout"], "atlas");
    assert_eq!(
        doc["sequences"][0]["migrations"].as_array().unwrap().len(),
        2_000
    );

    let schemas: Vec<String> = (0..100_000).map(|i| format!("s{i}")).collect();
    write(
        d,
        "flyway/flyway.conf",
        &format!("flyway.schemas={},s0\n", schemas.join(",")),
    );
    write(
        d,
        "flyway/db/migration/V1__a.sql",
        "CREATE TABLE a (x INT);\n",
    );
    let doc = plan_or_hang(d, "flyway/db/migration", 90);
    let named = doc["sequences"][0]["schemas"]["names"].as_array().unwrap();
    assert_eq!(named.len(), 100_000);
    assert_eq!(named[99_999], "s99999");
}

/// A folder of 20,000 Liquibase changelogs: whether each side file is one
/// the layout uses was answered by listing all of them again (a debug build
/// took 25 s for 5,000, minutes for 20,000); now by reading that one file.
#[test]
fn a_folder_of_many_liquibase_changelogs_is_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20_000 {
        write(
            dir.path(),
            &format!("db/c{i:05}.xml"),
            &format!("<databaseChangeLog><include file=\"s/{i:05}.sql\"/></databaseChangeLog>\n"),
        );
    }
    write(dir.path(), "db/s/00000.sql", "SELECT 0;\n");
    let doc = plan_or_hang(dir.path(), "db", 90);
    let seq = &doc["sequences"][0];
    assert_eq!(seq["layout"], "liquibase", "{seq}");
    assert_eq!(seq["migrations"][0]["up"]["file"], "db/s/00000.sql");
}

/// Settings read from the folders above a migrations folder (Flyway's
/// schemas from `flyway.conf`, `pom.xml`, `application.yml`) stop at the
/// repository's root, as the project's manifests do: a `flyway.conf` of the
/// runner's, above the checkout, named schemas that replay then created.
#[test]
fn settings_above_the_repository_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "flyway.conf", "flyway.schemas=runner_secret\n");
    std::fs::create_dir_all(d.join("repo/.git")).unwrap();
    write(
        d,
        "repo/db/migration/V1__a.sql",
        "CREATE TABLE a (x INT);\n",
    );
    let doc = plan_or_hang(&d.join("repo"), "db/migration", 60);
    assert!(doc["sequences"][0]["schemas"].is_null(), "{doc}");
    // Inside the repository it is read.
    write(d, "repo/flyway.conf", "flyway.schemas=app\n");
    let doc = plan_or_hang(&d.join("repo"), "db/migration", 60);
    assert_eq!(doc["sequences"][0]["schemas"]["names"][0], "app", "{doc}");
    // A migrations folder at the root of its repository reads nothing above.
    std::fs::create_dir_all(d.join("repo/db/migration/.git")).unwrap();
    let doc = plan_or_hang(&d.join("repo"), "db/migration", 60);
    assert!(doc["sequences"][0]["schemas"].is_null(), "{doc}");
}

/// Two Flyway locations whose versions interleave are joined into one
/// history: the 14,999 migrations of the second were inserted one by one,
/// each place looked for from the start with every version parsed again
/// (10,000 + 9,999 took 110 s in a debug build); one merge now.
#[test]
fn interleaved_flyway_locations_are_joined_in_one_merge() {
    let dir = tempfile::tempdir().unwrap();
    let n = 15_000;
    for i in 1..=n {
        write(
            dir.path(),
            &format!("db/migration/V{i}__a.sql"),
            &format!("CREATE TABLE IF NOT EXISTS a{i} (x INT);\n"),
        );
        if i < n {
            write(
                dir.path(),
                &format!("db/migration_data/V{i}.5__b.sql"),
                &format!("CREATE TABLE IF NOT EXISTS b{i} (x INT);\n"),
            );
        }
    }
    let doc = plan_or_hang(dir.path(), "db", 90);
    let seqs = doc["sequences"].as_array().unwrap();
    assert_eq!(seqs.len(), 1, "{seqs:?}");
    let versions: Vec<&str> = seqs[0]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions.len(), 2 * n - 1);
    assert_eq!(&versions[..4], ["1", "1.5", "2", "2.5"]);
    assert_eq!(versions[2 * n - 2], n.to_string());
}
