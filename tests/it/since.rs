//! Adopting twice on a project with history: `--since`, `--from`,
//! baselines, and the CI conventions (`--select`, `--ignore`,
//! `--output-file`, `--quiet`, `--statistics`), through the real binary on
//! git repositories built in temporary folders. These tests need the `git`
//! program, as `--since` does.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn twice(dir: &Path, args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_twice"))
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("TWICE_DATABASE_URL")
        .env_remove("FORCE_COLOR")
        .env("NO_COLOR", "1")
        .output()
        .expect("twice runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("these tests need the `git` program");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Migration `i` of the history: each creates a table (no IF NOT EXISTS),
/// and every fifth also adds a column and seeds a row, so each one is
/// flagged by the static rules and by replay, and each needs the ones
/// before it.
fn old_migration(i: usize) -> String {
    let mut sql = format!("CREATE TABLE t{i} (id integer PRIMARY KEY, name text);\n");
    if i > 1 {
        sql.push_str(&format!("CREATE INDEX t{i}_prev ON t{} (name);\n", i - 1));
    }
    if i.is_multiple_of(5) {
        sql.push_str(&format!("ALTER TABLE t{i} ADD COLUMN extra integer;\n"));
        sql.push_str(&format!("INSERT INTO t{i} (name) VALUES ('seed');\n"));
    }
    sql
}

const NEW_MIGRATION: &str = "CREATE TABLE orders (id integer PRIMARY KEY, t50 integer);\n\
                             CREATE INDEX orders_t50 ON orders (t50);\n\
                             INSERT INTO orders (t50) SELECT id FROM t50;\n";

fn name(i: usize) -> String {
    format!("m/{i:03}_step.sql")
}

/// A repository with 50 committed migrations in `m/`.
fn history() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    std::fs::create_dir_all(dir.join("m")).unwrap();
    git(&dir, &["init", "-q"]);
    for i in 1..=50 {
        std::fs::write(dir.join(name(i)), old_migration(i)).unwrap();
    }
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "fifty migrations"]);
    (tmp, dir)
}

fn findings(out: &Out) -> Vec<serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    doc["findings"].as_array().unwrap().clone()
}

/// (file, line, rule) of each finding, for comparisons.
fn keys(findings: &[serde_json::Value]) -> Vec<(String, u64, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn since_reports_exactly_the_new_migration() {
    let (_tmp, dir) = history();
    // The history alone is full of findings...
    let all = twice(&dir, &["check", "m", "--format", "json"]);
    assert_eq!(all.code, 1, "{}", all.stderr);
    assert!(findings(&all).len() >= 100);
    // ...and none of them is new since HEAD.
    let out = twice(&dir, &["check", "m", "--since", "HEAD"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("no findings"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("50 migrations unchanged since then applied once as the starting state"),
        "{}",
        out.stdout
    );

    // One new bad migration, committed.
    std::fs::write(dir.join(name(51)), NEW_MIGRATION).unwrap();
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "orders"]);
    let out = twice(
        &dir,
        &["check", "m", "--since", "HEAD~1", "--format", "json"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let new = findings(&out);
    assert!(!new.is_empty());
    assert!(
        new.iter().all(|f| f["file"] == name(51).as_str()),
        "{new:#?}"
    );
    // Exactly what a full check says about that file: static and replay.
    let full = twice(&dir, &["check", "m", "--format", "json"]);
    let expected: Vec<_> = keys(&findings(&full))
        .into_iter()
        .filter(|k| k.0 == name(51))
        .collect();
    assert_eq!(keys(&new), expected);
    assert!(new.iter().any(|f| f["source"] == "replay"), "{new:#?}");

    // The same migration, not committed yet (the usual pull request state
    // against `--since origin/main`): the same findings.
    git(&dir, &["reset", "-q", "--soft", "HEAD~1"]);
    git(&dir, &["reset", "-q"]);
    let out = twice(&dir, &["check", "m", "--since", "HEAD", "--format", "json"]);
    assert_eq!(out.code, 1);
    assert_eq!(keys(&findings(&out)), expected);

    // Without the new file: clean again.
    std::fs::remove_file(dir.join(name(51))).unwrap();
    let out = twice(&dir, &["check", "m", "--since", "HEAD"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn from_version_applies_the_migrations_before_it() {
    let (_tmp, dir) = history();
    std::fs::write(dir.join(name(51)), NEW_MIGRATION).unwrap();
    let since = twice(&dir, &["check", "m", "--since", "HEAD", "--format", "json"]);
    let from = twice(&dir, &["check", "m", "--from", "051", "--format", "json"]);
    assert_eq!(from.code, 1, "{}", from.stderr);
    assert_eq!(keys(&findings(&from)), keys(&findings(&since)));
    // Versions compare as numbers: 51 is 051.
    let from = twice(&dir, &["check", "m", "--from", "51", "--format", "json"]);
    assert_eq!(keys(&findings(&from)), keys(&findings(&since)));
    // A version after every migration: nothing to audit, and a notice says so.
    let out = twice(&dir, &["check", "m", "--from", "999"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("no migration has this version"),
        "{}",
        out.stdout
    );
    // A value that is no version (a typo) is an error, not a pass that
    // audited nothing.
    let out = twice(&dir, &["check", "m", "--from", "latest"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("--from latest: not a version (the migrations' versions have digits"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_applied_migration_edited_since_is_an_error_and_audited() {
    let (_tmp, dir) = history();
    let path = dir.join(name(7));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("name text", "name varchar(20)")).unwrap();
    let out = twice(&dir, &["check", "m", "--since", "HEAD", "--format", "json"]);
    assert_eq!(out.code, 1);
    let found = findings(&out);
    assert!(
        found.iter().all(|f| f["file"] == name(7).as_str()),
        "{found:#?}"
    );
    let changed: Vec<_> = found
        .iter()
        .filter(|f| f["rule"] == "applied-migration-changed")
        .collect();
    assert_eq!(changed.len(), 1, "{found:#?}");
    assert_eq!(changed[0]["severity"], "error");
    assert!(changed[0]["message"]
        .as_str()
        .unwrap()
        .contains("already existed at HEAD"));
    // Audited in full: its own findings are there too.
    assert!(found
        .iter()
        .any(|f| f["rule"] == "create-without-if-not-exists"));
    // The rule can be turned off like any other.
    let out = twice(
        &dir,
        &[
            "check",
            "m",
            "--since",
            "HEAD",
            "--format",
            "json",
            "--ignore",
            "applied-migration-changed",
        ],
    );
    assert!(findings(&out)
        .iter()
        .all(|f| f["rule"] != "applied-migration-changed"));
}

#[test]
fn an_old_migration_that_fails_to_apply_is_reported_once() {
    let (_tmp, dir) = history();
    // Committed broken: the last migration needs a table nothing creates
    // (an earlier one would also break the ones after it, each reported).
    let last = dir.join(name(50));
    let text = std::fs::read_to_string(&last).unwrap();
    std::fs::write(
        &last,
        format!("{text}CREATE INDEX broken ON missing_table (x);\n"),
    )
    .unwrap();
    git(&dir, &["commit", "-qam", "broken"]);
    let out = twice(&dir, &["check", "m", "--since", "HEAD", "--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let found = findings(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["rule"], "first-run-error");
    assert_eq!(found[0]["file"], name(50).as_str());
    assert!(found[0]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("part of the starting state")));
}

#[test]
fn since_explains_what_it_needs() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("m")).unwrap();
    std::fs::write(tmp.path().join("m/001.sql"), "CREATE TABLE a (x int);\n").unwrap();
    // Not a repository.
    let out = twice(tmp.path(), &["check", "m", "--since", "HEAD"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("not in a git repository"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--from VERSION"), "{}", out.stderr);
    // An unknown revision.
    let (_t, dir) = history();
    let out = twice(&dir, &["check", "m", "--since", "origin/nope"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no such commit"), "{}", out.stderr);
    assert!(out.stderr.contains("fetch-depth: 0"), "{}", out.stderr);
    // Not a revision at all.
    let out = twice(&dir, &["check", "m", "--since=--exec=x"]);
    assert_eq!(out.code, 2);
    // --since and --from exclude each other.
    let out = twice(&dir, &["check", "m", "--since", "HEAD", "--from", "1"]);
    assert_eq!(out.code, 2);
}

// ---------------------------------------------------------------------------
// Baselines

#[test]
fn a_baseline_accepts_what_exists_and_reports_what_is_new() {
    let (_tmp, dir) = history();
    let out = twice(
        &dir,
        &["check", "m", "--write-baseline", "twice-baseline.json"],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("wrote twice-baseline.json"),
        "{}",
        out.stderr
    );
    let text = std::fs::read_to_string(dir.join("twice-baseline.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["fingerprint"], "twice/v2");
    let entries = doc["findings"].as_array().unwrap().len();
    assert!(entries >= 100);

    let out = twice(&dir, &["check", "m", "--baseline", "twice-baseline.json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("no findings; {entries} accepted by the baseline")),
        "{}",
        out.stdout
    );

    // A blank line at the top of an old file and a keyword in lower case:
    // still accepted (fingerprints hold no line numbers).
    let p = dir.join(name(5));
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        format!("\n{}", text.replace("CREATE INDEX", "create index")),
    )
    .unwrap();
    let out = twice(&dir, &["check", "m", "--baseline", "twice-baseline.json"]);
    assert_eq!(out.code, 0, "{}", out.stdout);

    // A changed statement in an old file is reported, and the entries it
    // no longer matches are listed once as stale.
    let p = dir.join(name(12));
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replace("name text", "name text NOT NULL")).unwrap();
    // And a new migration.
    std::fs::write(dir.join(name(51)), NEW_MIGRATION).unwrap();
    let out = twice(
        &dir,
        &[
            "check",
            "m",
            "--baseline",
            "twice-baseline.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1);
    let found = findings(&out);
    let files: std::collections::BTreeSet<&str> =
        found.iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        [name(12).as_str(), name(51).as_str()].into_iter().collect(),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f["file"] == name(12).as_str() && f["rule"] == "create-without-if-not-exists"),
        "{found:#?}"
    );
    assert_eq!(
        out.stderr.matches("no longer match").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("at {}:1", name(12))),
        "{}",
        out.stderr
    );

    // SARIF: new and unchanged results, one per problem, valid.
    let out = twice(
        &dir,
        &[
            "check",
            "m",
            "--baseline",
            "twice-baseline.json",
            "--format",
            "sarif",
        ],
    );
    let doc = common::assert_valid_sarif(&out.stdout);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let state = |s: &str| results.iter().filter(|r| r["baselineState"] == s).count();
    assert!(
        state("new") >= 2 && state("unchanged") >= 50,
        "{}",
        out.stdout
    );
    assert_eq!(state("new") + state("unchanged"), results.len());
    for r in results.iter().filter(|r| r["baselineState"] == "unchanged") {
        assert_eq!(r["suppressions"][0]["kind"], "external");
    }
    // A second-run-error that confirms a static finding is not a result.
    assert!(results.iter().all(|r| r["ruleId"] != "second-run-error"));

    // With --since, the entries of files not audited are not stale: only
    // those of the changed file are.
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "changes"]);
    let out = twice(
        &dir,
        &[
            "check",
            "m",
            "--since",
            "HEAD~1",
            "--baseline",
            "twice-baseline.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.stderr.matches("no longer match").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("at {}:1", name(12))),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("more"), "{}", out.stderr);

    // The same from twice.toml.
    std::fs::write(
        dir.join("twice.toml"),
        "baseline = \"twice-baseline.json\"\n",
    )
    .unwrap();
    let out = twice(&dir, &["check", "m", "--format", "json"]);
    assert_eq!(keys(&findings(&out)), keys(&found));
}

#[test]
fn a_missing_or_broken_baseline_is_an_error_that_says_what_to_do() {
    let (_tmp, dir) = history();
    let out = twice(&dir, &["check", "m", "--baseline", "nope.json"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--write-baseline"), "{}", out.stderr);
    std::fs::write(dir.join("bad.json"), "{\"version\": 7, \"findings\": []}").unwrap();
    let out = twice(&dir, &["check", "m", "--baseline", "bad.json"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("version 7"), "{}", out.stderr);
    // The path may come from twice.toml: a FIFO (or `/dev/zero`) is an
    // error, not a read that never ends.
    #[cfg(unix)]
    {
        let fifo = std::ffi::CString::new(dir.join("fifo.json").to_str().unwrap()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        std::fs::write(dir.join("twice.toml"), "baseline = \"fifo.json\"\n").unwrap();
        let out = twice(&dir, &["check", "m"]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
    }
}

// ---------------------------------------------------------------------------
// Rule selection and output conventions

#[test]
fn a_static_rule_turned_off_takes_its_replay_confirmation_with_it() {
    let (_tmp, dir) = history();
    let out = twice(
        &dir,
        &[
            "check",
            "m",
            "--format",
            "json",
            "--ignore",
            "create-without-if-not-exists",
        ],
    );
    let found = findings(&out);
    // Every CREATE TABLE and CREATE INDEX was confirmed by a second-run-error;
    // none is left. The ALTER TABLE ones (another static rule) stay.
    for f in &found {
        assert_ne!(f["rule"], "create-without-if-not-exists");
    }
    let second: Vec<_> = found
        .iter()
        .filter(|f| f["rule"] == "second-run-error")
        .collect();
    assert!(!second.is_empty());
    assert!(
        second
            .iter()
            .all(|f| f["message"].as_str().unwrap().contains("duplicate column")),
        "{second:#?}"
    );
    // The same from twice.toml, and a lower level lowers the confirmation.
    std::fs::write(
        dir.join("twice.toml"),
        "[rules]\ncreate-without-if-not-exists = \"warning\"\n",
    )
    .unwrap();
    let out = twice(&dir, &["check", "m", "--format", "json"]);
    let found = findings(&out);
    for f in found.iter().filter(|f| {
        f["rule"] == "second-run-error"
            && !f["message"].as_str().unwrap().contains("duplicate column")
    }) {
        assert_eq!(f["severity"], "warning", "{f:#}");
    }
    // --select wins over the file.
    let out = twice(
        &dir,
        &[
            "check",
            "m",
            "--format",
            "json",
            "--select",
            "add-column-without-if-not-exists",
        ],
    );
    let rules: std::collections::BTreeSet<String> = findings(&out)
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        rules,
        ["add-column-without-if-not-exists".to_string()]
            .into_iter()
            .collect()
    );
    // Unknown ids are refused with a hint.
    let out = twice(
        &dir,
        &["check", "m", "--ignore", "create-without-if-not-exist"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("did you mean"), "{}", out.stderr);
}

#[test]
fn output_file_quiet_and_statistics() {
    let (_tmp, dir) = history();
    // --output-file: the report in the file, the summary on stderr.
    let out = twice(
        &dir,
        &[
            "check",
            "m",
            "--format",
            "sarif",
            "--output-file",
            "out.sarif",
        ],
    );
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("twice: checked 50 files"),
        "{}",
        out.stderr
    );
    let sarif = std::fs::read_to_string(dir.join("out.sarif")).unwrap();
    common::assert_valid_sarif(&sarif);

    // --quiet: the summary line only; nothing when clean.
    let out = twice(&dir, &["check", "m", "--quiet"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out.stdout.starts_with("twice: checked 50 files"));
    let out = twice(&dir, &["check", "m", "--quiet", "--since", "HEAD"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "");

    // --statistics: counts per rule, most frequent first, then the summary.
    let out = twice(&dir, &["check", "m", "--statistics"]);
    assert_eq!(out.code, 1);
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.contains("create-without-if-not-exists"),
        "{}",
        out.stdout
    );
    let n: usize = first.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(n, 99, "50 tables and 49 indexes: {}", out.stdout);
    assert!(
        !out.stdout.contains("-->"),
        "no findings shown: {}",
        out.stdout
    );
    let out = twice(&dir, &["check", "m", "--statistics", "--format", "json"]);
    assert_eq!(out.code, 2);

    // A big report ends with counts per rule and the files with most findings.
    let out = twice(&dir, &["check", "m"]);
    assert!(
        out.stdout
            .contains("  by rule: create-without-if-not-exists 99"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("  most findings: "), "{}", out.stdout);
}

/// `applied-migration-changed` on its fixture: an applied migration edited
/// after the revision, next to a new migration that is clean.
#[test]
fn applied_migration_changed_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/since/applied");
    std::fs::create_dir_all(dir.join("m")).unwrap();
    git(&dir, &["init", "-q"]);
    let copy = |from: &str| {
        for e in std::fs::read_dir(fixture.join(from)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.join("m").join(p.file_name().unwrap())).unwrap();
        }
    };
    copy("at-rev");
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "deployed"]);
    let out = twice(&dir, &["check", "m", "--since", "HEAD"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    copy("edited");
    let out = twice(&dir, &["check", "m", "--since", "HEAD"]);
    assert_eq!(out.code, 1);
    snapshot!("applied_migration_changed_fixture", out.stdout);
}
