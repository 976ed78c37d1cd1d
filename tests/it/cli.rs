//! The `twice` binary as users run it: exit codes, error messages, formats
//! and colour, GitHub Actions, stdin, broken pipes, panics, and the committed
//! completions and man pages (refresh them with `TWICE_BLESS=1 cargo test
//! --test cli`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FIXTURE: &str = "fixtures/render/migrations";

/// The binary, with the environment that changes its behaviour cleared and
/// the crate root as working folder.
fn twice() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twice"));
    for var in [
        "GITHUB_ACTIONS",
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "RUST_BACKTRACE",
        "RUST_LIB_BACKTRACE",
        "TWICE_DATABASE_URL",
        "TWICE_DEBUG_PANIC",
        "TERM",
    ] {
        c.env_remove(var);
    }
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.stdin(Stdio::null());
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

fn output(mut c: Command) -> Out {
    let o = c.output().expect("twice runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Out {
    let mut c = twice();
    c.args(args);
    output(c)
}

fn run_in(dir: &Path, args: &[&str]) -> Out {
    let mut c = twice();
    c.args(args).current_dir(dir);
    output(c)
}

fn run_stdin(args: &[&str], input: &str) -> Out {
    let mut c = twice();
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("twice runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn json(out: &Out) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", out.stdout))
}

/// Asserts the shape of every "could not do its job" failure: exit 2,
/// nothing on stdout, one line on stderr that names `what`.
fn assert_tool_error(out: &Out, what: &str) {
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", out.stderr);
    assert!(lines[0].contains(what), "{:?} names {what:?}", lines[0]);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

fn temp_sql(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

// ---------------------------------------------------------------------------
// Exit codes

#[test]
fn findings_at_or_above_fail_on_exit_1() {
    // The fixture has errors, warnings and an info.
    let out = run(&["check", "--no-replay", "--format", "json", FIXTURE]);
    let doc = json(&out);
    assert!(doc["summary"]["errors"].as_u64().unwrap() > 0);
    assert!(doc["summary"]["warnings"].as_u64().unwrap() > 0);
    assert_eq!(out.code, 1);
    for (fail_on, code) in [("error", 1), ("warning", 1), ("never", 0)] {
        let out = run(&["check", "--no-replay", "--fail-on", fail_on, FIXTURE]);
        assert_eq!(out.code, code, "--fail-on {fail_on}: {}", out.stderr);
    }
}

#[test]
fn warnings_fail_only_at_warning_level() {
    let (dir, _) = temp_sql(
        "001_touch.sql",
        "UPDATE settings SET changed_at = CURRENT_TIMESTAMP WHERE id = 1;\n",
    );
    let out = run_in(dir.path(), &["check", "--no-replay", "--format", "json"]);
    let doc = json(&out);
    assert_eq!(doc["summary"]["errors"], 0, "{}", out.stdout);
    assert!(doc["summary"]["warnings"].as_u64().unwrap() >= 1);
    assert_eq!(out.code, 1, "default --fail-on is warning");
    for (fail_on, code) in [("error", 0), ("warning", 1), ("never", 0)] {
        let out = run_in(dir.path(), &["check", "--no-replay", "--fail-on", fail_on]);
        assert_eq!(out.code, code, "--fail-on {fail_on}");
    }
}

#[test]
fn a_clean_folder_exits_0() {
    let (dir, _) = temp_sql(
        "001_init.sql",
        "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT);\n\
         CREATE INDEX IF NOT EXISTS t_name ON t (name);\n\
         INSERT INTO t (id, name) VALUES (1, 'a') ON CONFLICT DO NOTHING;\n",
    );
    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("no findings"), "{}", out.stdout);
    let out = run_in(dir.path(), &["check", "--format", "json"]);
    assert_eq!(out.code, 0);
    assert_eq!(json(&out)["findings"], serde_json::json!([]));
}

// ---------------------------------------------------------------------------
// Paths twice cannot read: exit 2, one line naming the path

#[test]
fn a_missing_path_exits_2_naming_it() {
    let out = run(&["check", "no/such/migrations"]);
    assert_tool_error(&out, "no/such/migrations");
    // Also next to a good path, and in every format.
    for format in ["human", "json", "sarif", "github", "gitlab"] {
        let out = run(&["check", "--format", format, FIXTURE, "missing.sql"]);
        assert_tool_error(&out, "missing.sql");
    }
}

#[test]
fn an_unreadable_file_exits_2() {
    let (dir, path) = temp_sql("001_secret.sql", "CREATE TABLE t (id INTEGER);\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        // root reads anything: then this case cannot be produced here (the
        // tests below cover the error path another way).
        if std::fs::read(&path).is_err() {
            let out = run_in(dir.path(), &["check", "001_secret.sql"]);
            assert_tool_error(&out, "001_secret.sql");
            let out = run_in(dir.path(), &["check", "."]);
            assert_tool_error(&out, "001_secret.sql");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let _ = (dir, path);
}

#[cfg(unix)]
#[test]
fn a_dangling_symlink_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("gone.sql", dir.path().join("002_link.sql")).unwrap();
    let out = run_in(dir.path(), &["check", "002_link.sql"]);
    assert_tool_error(&out, "002_link.sql");
    // Inside a folder too: a migration that cannot be read is not skipped.
    std::fs::write(dir.path().join("001_ok.sql"), "SELECT 1;\n").unwrap();
    let out = run_in(dir.path(), &["check", "."]);
    assert_tool_error(&out, "002_link.sql");
}

#[test]
fn a_path_through_a_file_exits_2() {
    let (dir, _) = temp_sql("001.sql", "SELECT 1;\n");
    let out = run_in(dir.path(), &["check", "001.sql/002.sql"]);
    assert_tool_error(&out, "001.sql/002.sql");
}

#[cfg(unix)]
#[test]
fn a_fifo_named_like_a_migration_exits_2_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("001_pipe.sql");
    let status = Command::new("mkfifo").arg(&fifo).status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo is not available; skipped");
        return;
    }
    let mut child = twice()
        .args(["check", "001_pipe.sql"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("twice hangs on a FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert_tool_error(&out, "001_pipe.sql");
    assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// Arguments

#[test]
fn bad_flag_values_exit_2() {
    for (args, mentions) in [
        (vec!["check", "--format", "xml"], "xml"),
        (vec!["check", "--fail-on", "sometimes"], "sometimes"),
        (vec!["check", "--color", "maybe"], "maybe"),
        (vec!["check", "--dialect", "oracle"], "oracle"),
        (vec!["check", "--timeout", "-3"], "-3"),
        (vec!["check", "--define", "novalue"], "novalue"),
        (vec!["check", "--no-such-flag"], "--no-such-flag"),
        (vec!["completions", "tcsh"], "tcsh"),
        (vec!["frobnicate"], "frobnicate"),
    ] {
        let out = run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(out.stderr.contains(mentions), "{args:?}: {}", out.stderr);
    }
    let out = run(&["check", "--format", "xml"]);
    for format in ["human", "json", "sarif", "github", "gitlab"] {
        assert!(out.stderr.contains(format), "{}", out.stderr);
    }
}

#[test]
fn help_and_version_exit_0() {
    for args in [vec!["--help"], vec!["check", "--help"], vec!["--version"]] {
        let out = run(&args);
        assert_eq!(out.code, 0, "{args:?}");
        assert!(!out.stdout.is_empty());
    }
    let help = run(&["check", "--help"]).stdout;
    for format in ["human", "json", "sarif", "github", "gitlab"] {
        assert!(help.contains(format), "{help}");
    }
}

// ---------------------------------------------------------------------------
// rules and explain

#[test]
fn rules_lists_every_rule() {
    let out = run(&["rules"]);
    assert_eq!(out.code, 0);
    let registry = twice::rules::registry();
    assert!(registry.len() >= 10, "the rules are registered");
    for meta in registry {
        let line = out
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(meta.id))
            .unwrap_or_else(|| panic!("{} is listed:\n{}", meta.id, out.stdout));
        assert!(line.contains(meta.severity.name()), "{line}");
        assert!(line.contains(meta.summary), "{line}");
    }
    assert_eq!(out.stdout.lines().count(), registry.len());
}

#[test]
fn explain_prints_every_rule_s_documentation() {
    for meta in twice::rules::registry() {
        let out = run(&["explain", meta.id]);
        assert_eq!(out.code, 0, "{}: {}", meta.id, out.stderr);
        assert!(out.stdout.starts_with(meta.id), "{}", out.stdout);
        for section in [
            "## What it does",
            "## Why it matters",
            "## Example",
            "## Fix",
        ] {
            assert!(
                out.stdout.contains(section),
                "{} lacks {section}:\n{}",
                meta.id,
                out.stdout
            );
        }
    }
}

#[test]
fn explain_an_unknown_rule_exits_2_with_a_hint() {
    let out = run(&["explain", "no-such-rule"]);
    assert_tool_error(&out, "no-such-rule");
    assert!(out.stderr.contains("twice rules"), "{}", out.stderr);
    let out = run(&["explain", "relative-updat"]);
    assert_tool_error(&out, "relative-updat");
    assert!(
        out.stderr.contains("did you mean `relative-update`?"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------
// Broken pipes and panics

#[test]
fn a_closed_stdout_ends_quietly() {
    for args in [
        vec!["rules"],
        vec!["explain", "create-without-if-not-exists"],
        vec!["completions", "zsh"],
        vec!["check", "--no-replay", FIXTURE],
        vec!["check", "--no-replay", "--format", "sarif", FIXTURE],
    ] {
        // The reader goes away before twice writes anything.
        let mut child = twice()
            .args(&args)
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        assert!(matches!(status.code(), Some(0 | 1)), "{args:?}: {status}");
    }
}

#[test]
fn head_1_reads_one_line_and_twice_stops_quietly() {
    let mut child = twice()
        .args(["check", "--no-replay", "--format", "sarif", FIXTURE])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(stderr.is_empty(), "{stderr}");
    // The exit code still tells whether there were findings.
    assert_eq!(status.code(), Some(1));
}

#[test]
fn users_never_see_a_backtrace() {
    let mut c = twice();
    c.args(["check", "does-not-exist.sql"])
        .env("RUST_BACKTRACE", "full");
    let out = output(c);
    assert_tool_error(&out, "does-not-exist.sql");
    assert!(!out.stderr.contains("backtrace"));

    // A bug (a panic) is one line that says so and asks for a report, exit
    // 2 (as for any other failure to do the job; documented in
    // `cli::EXIT_STATUS`), no backtrace whatever RUST_BACKTRACE says. The
    // trigger (`TWICE_DEBUG_PANIC`, in `cli::run`) exists in debug builds
    // only.
    if cfg!(debug_assertions) {
        for (var, value) in [
            ("RUST_BACKTRACE", "1"),
            ("RUST_BACKTRACE", "full"),
            ("RUST_LIB_BACKTRACE", "1"),
        ] {
            for args in [vec!["rules"], vec!["check", "--no-replay", FIXTURE]] {
                let mut c = twice();
                c.args(&args).env(var, value).env("TWICE_DEBUG_PANIC", "1");
                let out = output(c);
                let ctx = format!("{var}={value} {args:?}: {}", out.stderr);
                assert_tool_error(&out, "internal error in twice");
                assert!(out.stderr.contains("this is a bug"), "{ctx}");
                assert!(out.stderr.contains("please report it"), "{ctx}");
                assert!(!out.stderr.contains("backtrace"), "{ctx}");
                assert!(!out.stderr.contains("stack backtrace"), "{ctx}");
                assert!(!out.stderr.contains("RUST_BACKTRACE"), "{ctx}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// stdin

#[test]
fn stdin_with_a_file_name() {
    let sql = "CREATE TABLE customers (id INTEGER PRIMARY KEY);\n";
    let out = run_stdin(
        &[
            "check",
            "--no-replay",
            "--format",
            "json",
            "-",
            "--stdin-filename",
            "db/migrations/001_init.sql",
        ],
        sql,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = json(&out);
    assert_eq!(doc["findings"][0]["file"], "db/migrations/001_init.sql");
    assert_eq!(doc["findings"][0]["rule"], "create-without-if-not-exists");
    assert_eq!(doc["findings"][0]["line"], 1);

    let out = run_stdin(&["check", "--no-replay", "-"], sql);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("--> <stdin>:1:1"), "{}", out.stdout);
    assert!(
        out.stdout.contains("1 | CREATE TABLE customers"),
        "{}",
        out.stdout
    );

    let out = run_stdin(&["check", "--no-replay", "-"], "");
    assert_eq!(out.code, 0, "an empty script is clean: {}", out.stderr);
}

// ---------------------------------------------------------------------------
// Colour

#[test]
fn colour_follows_the_flag_and_no_color() {
    let has_escape = |out: &Out| out.stdout.contains('\u{1b}');
    let args = |color: &'static str| vec!["check", "--no-replay", "--color", color, FIXTURE];
    assert!(has_escape(&run(&args("always"))));
    assert!(!has_escape(&run(&args("never"))));
    // stdout is a pipe here: `auto` means no colour.
    assert!(!has_escape(&run(&args("auto"))));
    assert!(!has_escape(&run(&["check", "--no-replay", FIXTURE])));
    // NO_COLOR turns `auto` off; an explicit `always` still wins.
    let mut c = twice();
    c.args(args("always")).env("NO_COLOR", "1");
    assert!(has_escape(&output(c)));
    // Machine formats never carry escapes.
    for format in ["json", "sarif", "github", "gitlab"] {
        let out = run(&[
            "check",
            "--no-replay",
            "--color",
            "always",
            "--format",
            format,
            FIXTURE,
        ]);
        assert!(!has_escape(&out), "{format}");
        assert!(!out.stderr.contains('\u{1b}'), "{format}");
    }
}

// ---------------------------------------------------------------------------
// Formats and GitHub Actions

#[test]
fn human_output_of_the_fixture() {
    let out = run(&["check", "--no-replay", FIXTURE]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    snapshot!("human_output_of_the_fixture", out.stdout);
}

#[test]
fn machine_formats_are_clean_documents() {
    // --dialect mysql: replay is skipped with a notice, which must go to
    // stderr, never into the document.
    for format in ["json", "sarif", "gitlab"] {
        let out = run(&["check", "--dialect", "mysql", "--format", format, FIXTURE]);
        assert_eq!(out.code, 1, "{format}: {}", out.stderr);
        json(&out);
        assert!(
            out.stderr.contains("twice: note:") && out.stderr.contains("replay"),
            "{format}: {}",
            out.stderr
        );
    }
    let out = run(&["check", "--dialect", "mysql", "--format", "github", FIXTURE]);
    for line in out.stdout.lines() {
        assert!(line.starts_with("::"), "{line}");
    }
    assert!(out.stderr.contains("twice: note:"));
    // In the human format the notice is part of the report, before the summary.
    let out = run(&["check", "--dialect", "mysql", FIXTURE]);
    let note = out.stdout.find("note: ").expect("a note line");
    let summary = out.stdout.find("twice: checked").expect("a summary line");
    assert!(note < summary, "{}", out.stdout);
}

#[test]
fn github_actions_adds_annotations_to_human_output_only() {
    let gha = |args: &[&str]| {
        let mut c = twice();
        c.args(args).env("GITHUB_ACTIONS", "true");
        output(c)
    };
    let out = gha(&["check", "--no-replay", FIXTURE]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("error[create-without-if-not-exists]"));
    let annotations: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("::")).collect();
    let findings = json(&run(&["check", "--no-replay", "--format", "json", FIXTURE]))["findings"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(annotations.len(), findings, "{}", out.stdout);
    assert!(annotations.iter().any(|a| a.starts_with("::error file=")));
    assert!(annotations.iter().any(|a| a.starts_with("::warning file=")));
    assert!(annotations.iter().any(|a| a.starts_with("::notice file=")));
    // The human output comes first, the annotations after it.
    let summary = out.stdout.find("twice: checked").unwrap();
    let first = out.stdout.find("\n::").unwrap();
    assert!(summary < first);

    // An explicit --format is respected as it is.
    let out = gha(&["check", "--no-replay", "--format", "human", FIXTURE]);
    assert!(!out.stdout.lines().any(|l| l.starts_with("::")));
    for format in ["json", "sarif", "gitlab"] {
        let out = gha(&["check", "--no-replay", "--format", format, FIXTURE]);
        json(&out);
        assert!(!out.stdout.contains("::error"), "{format}");
    }
    let out = gha(&["check", "--no-replay", "--format", "github", FIXTURE]);
    assert_eq!(out.stdout.lines().count(), findings);

    // Without GITHUB_ACTIONS: no annotations.
    let out = run(&["check", "--no-replay", FIXTURE]);
    assert!(!out.stdout.lines().any(|l| l.starts_with("::")));
}

// ---------------------------------------------------------------------------
// Generated files: completions and man pages

/// Compares a generated file with the committed one, or rewrites it when
/// `TWICE_BLESS=1`.
fn check_generated(path: &str, generated: &[u8]) {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("TWICE_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, generated).unwrap();
        return;
    }
    let committed = std::fs::read(&full).unwrap_or_default();
    assert!(
        committed == generated,
        "{path} is stale: the command line changed. Regenerate the completions and \
         man pages with `TWICE_BLESS=1 cargo test --test it cli::` and commit them."
    );
}

const SHELLS: [(clap_complete::Shell, &str); 5] = [
    (clap_complete::Shell::Bash, "completions/twice.bash"),
    (clap_complete::Shell::Zsh, "completions/_twice"),
    (clap_complete::Shell::Fish, "completions/twice.fish"),
    (clap_complete::Shell::PowerShell, "completions/_twice.ps1"),
    (clap_complete::Shell::Elvish, "completions/twice.elv"),
];

#[test]
fn committed_completions_are_up_to_date() {
    for (shell, path) in SHELLS {
        let mut buf = Vec::new();
        twice::cli::write_completions(shell, &mut buf).unwrap();
        assert!(!buf.is_empty());
        check_generated(path, &buf);
        // `twice completions SHELL` prints the same script.
        let out = twice()
            .args(["completions", &shell.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(out.stdout == buf, "twice completions {shell}");
    }
    let bash = std::fs::read_to_string("completions/twice.bash").unwrap();
    for word in [
        "check",
        "explain",
        "--format",
        "sarif",
        "gitlab",
        "--fail-on",
    ] {
        assert!(bash.contains(word), "{word}");
    }
}

#[test]
fn committed_man_pages_are_up_to_date() {
    let pages = twice::cli::man_pages().unwrap();
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"twice.1") && names.contains(&"twice-check.1"));
    for (name, text) in &pages {
        check_generated(&format!("man/{name}"), text);
    }
    // No page left over from a subcommand that is gone.
    let mut committed: Vec<String> = std::fs::read_dir("man")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1"))
        .collect();
    committed.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(
        committed, expected,
        "man/ holds other pages than the generated ones; run `TWICE_BLESS=1 cargo test --test it cli::`"
    );
    let check_page = pages
        .iter()
        .find(|(n, _)| n == "twice-check.1")
        .map(|(_, t)| String::from_utf8_lossy(t).into_owned())
        .unwrap();
    for flag in [
        "\\-\\-format",
        "\\-\\-fail\\-on",
        "\\-\\-stdin\\-filename",
        "sarif",
    ] {
        assert!(check_page.contains(flag), "{flag} in twice-check.1");
    }
}

/// The write between the runs is on by default; `--no-interleave` and
/// `[replay] interleave = false` turn it off (exit codes follow).
#[test]
fn no_interleave_turns_the_write_between_the_runs_off() {
    let file = "fixtures/shared/rerun/006_flags.sql";
    let out = run(&["check", file]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("second-run-overwrites"),
        "{}",
        out.stdout
    );
    let out = run(&["check", file, "--no-interleave"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("twice.toml"),
        "[replay]\ninterleave = false\n",
    )
    .unwrap();
    std::fs::copy(file, dir.path().join("006_flags.sql")).unwrap();
    let out = run_in(dir.path(), &["check", "006_flags.sql"]);
    assert_eq!(out.code, 0, "{} {}", out.stdout, out.stderr);
}
