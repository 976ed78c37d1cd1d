//! `twice plan`: what twice read, without running anything (human and JSON
//! output, exit codes).

use std::process::Command;

fn twice() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twice"));
    c.env_remove("GITHUB_ACTIONS")
        .env_remove("TWICE_DATABASE_URL")
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = twice().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn plan_shows_layout_dialect_engine_and_run_order() {
    let (code, out, err) = run(&[
        "plan",
        "fixtures/layouts/sql-migrate",
        "fixtures/layouts/prisma-clean",
        "fixtures/layouts/goose",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    snapshot!("plan_human", out);
}

#[test]
fn plan_json_is_a_documented_document() {
    let (code, out, err) = run(&[
        "plan",
        "--format",
        "json",
        "fixtures/layouts/sql-migrate",
        "fixtures/layouts/prisma-clean",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], 1);
    let seqs = v["sequences"].as_array().unwrap();
    assert_eq!(seqs[0]["layout"], "sql-migrate");
    assert_eq!(seqs[1]["dialect"], "postgres");
    assert_eq!(
        seqs[1]["dialect_reason"],
        "migration_lock.toml: provider = \"postgresql\""
    );
    assert!(seqs[1]["engine"].is_null());
    assert_eq!(seqs[0]["migrations"][3]["up"]["transaction"], false);
    assert_eq!(v["skipped"][0]["reason"], "not a sql-migrate migration");
    snapshot!("plan_json", out);
}

#[test]
fn plan_follows_the_engine_and_forced_options() {
    let (code, out, _) = run(&[
        "plan",
        "--engine",
        "postgres",
        "--no-down",
        "fixtures/layouts/prisma-clean",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("engine:  postgres"), "{out}");
    assert!(out.contains("down: none"), "{out}");
    // `--engine postgres` sets the dialect of a folder nothing else names
    // one for, as for `twice check`.
    let (_, out, _) = run(&["plan", "--engine", "postgres", "fixtures/layouts/plain"]);
    assert!(
        out.contains("dialect: postgres (--engine postgres: nothing else names a dialect)"),
        "{out}"
    );
    let (_, out, _) = run(&["plan", "--dialect", "mysql", "fixtures/layouts/plain"]);
    assert!(out.contains("dialect: mysql (--dialect)"), "{out}");
    // plain runs no transaction of its own.
    assert!(
        out.contains("in no transaction (the tool opens none)"),
        "{out}"
    );
    // MySQL commits DDL at once: the plan does not promise a transaction.
    let (_, out, _) = run(&["plan", "--dialect", "mysql", "fixtures/layouts/goose"]);
    assert!(
        out.contains("in a transaction, but each DDL statement commits at once on MySQL"),
        "{out}"
    );
    let (_, out, _) = run(&["plan", "fixtures/layouts/goose"]);
    assert!(!out.contains("commits at once"), "{out}");
    let (_, out, _) = run(&["plan", "--layout", "plain", "fixtures/layouts/sql-migrate"]);
    assert!(out.contains("layout:  plain (--layout)"), "{out}");
    // A dialect twice cannot replay: no engine, as `twice check` says.
    let (_, out, _) = run(&["plan", "fixtures/layouts/sniff/tsql"]);
    assert!(
        out.contains("engine:  none: static rules only (written in T-SQL (SQL Server), which twice cannot replay)"),
        "{out}"
    );
    // `check --engine auto` names no engine for it either.
    let (_, out, _) = run(&[
        "check",
        "--engine",
        "auto",
        "--format",
        "json",
        "fixtures/layouts/sniff/tsql",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let seq = &doc["summary"]["sequences"][0];
    assert!(seq.get("engine").is_none(), "{seq}");
    assert!(
        seq["replay"]
            .as_str()
            .is_some_and(|r| r.contains("which twice cannot replay")),
        "{seq}"
    );
}

#[test]
fn plan_of_a_missing_path_exits_2_naming_it() {
    let (code, out, err) = run(&["plan", "fixtures/no/such/folder"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("fixtures/no/such/folder"), "{err}");
}

/// The setup script a check would run is shown per sequence: from
/// `--setup`, or from `[[replay.setup]]` for the folder it names, else none.
#[test]
fn plan_shows_each_sequences_setup_script() {
    let (code, out, err) = run(&[
        "plan",
        "--format",
        "json",
        "--setup",
        "fixtures/replay_setup/prereqs.sql",
        "fixtures/layouts/goose",
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["sequences"][0]["setup"], "fixtures/replay_setup/prereqs.sql",
        "{out}"
    );
    let (code, out, err) = run(&["plan", "fixtures/layouts/goose"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("setup:"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("db/migrations");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("001_a.sql"),
        "CREATE TABLE IF NOT EXISTS a (x int);\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("prereqs.sql"), "SELECT 1;\n").unwrap();
    std::fs::write(
        dir.path().join("twice.toml"),
        "[[replay.setup]]\npath = \"prereqs.sql\"\nsequence = \"db/migrations\"\n",
    )
    .unwrap();
    let out = twice()
        .current_dir(dir.path())
        .args(["plan", "db/migrations"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("  setup:   "), "{text}");
    assert!(text.contains("prereqs.sql"), "{text}");
}

/// A Supabase history replayed on twice's own PostgreSQL runs the stand-in
/// for the platform as its setup: the plan names it. Not with the default
/// engine (no replay), nor with a server given by TWICE_DATABASE_URL (no
/// stand-in there).
#[test]
fn plan_names_the_platform_stand_in() {
    let folder = "fixtures/postgres/supabase_platform";
    let (code, out, err) = run(&["plan", "--format", "json", "--engine", "postgres", folder]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["sequences"][0]["setup"], "twice's stand-in for the supabase platform",
        "{out}"
    );
    let (code, out, err) = run(&["plan", folder]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("setup:"), "{out}");
    let out = twice()
        .env("TWICE_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .args(["plan", "--engine", "postgres", folder])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!text.contains("setup:"), "{text}");
}

#[test]
fn plan_shows_the_schemas_flyway_creates() {
    let folder = "fixtures/layouts/flyway-schemas";
    let (code, out, err) = run(&["plan", "--engine", "postgres", folder]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "  schemas: billing, audit (<flyway.schemas> in ../pom.xml): created before the \
             first migration (CREATE SCHEMA IF NOT EXISTS, as the migration role), billing first \
             on the search_path\n"
        ),
        "{out}"
    );
    // (Its SQL is PostgreSQL's: `--dialect` has MySQL's engine replay it.)
    let (code, out, err) = run(&[
        "plan",
        "--format",
        "json",
        "--engine",
        "mysql",
        "--dialect",
        "mysql",
        folder,
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let schemas = &doc["sequences"][0]["schemas"];
    assert_eq!(
        schemas["names"],
        serde_json::json!(["billing", "audit"]),
        "{out}"
    );
    assert!(
        schemas["replay"]
            .as_str()
            .unwrap()
            .starts_with("billing is the database replay runs in; the others are not created"),
        "{out}"
    );
    // A folder without Flyway settings above it has none.
    let (_, out, _) = run(&["plan", "--format", "json", "fixtures/layouts/flyway"]);
    assert!(!out.contains("\"schemas\""), "{out}");
}

/// A tool that opens no transaction (Prisma, golang-migrate, plain folders)
/// is not said to run its migrations in one; goose is.
#[test]
fn plan_says_which_tools_run_a_transaction() {
    let (code, out, err) = run(&[
        "plan",
        "--format",
        "json",
        "fixtures/layouts/prisma-clean",
        "fixtures/layouts/goose",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let seqs = v["sequences"].as_array().unwrap();
    assert_eq!(seqs[0]["layout"], "prisma");
    assert_eq!(seqs[0]["migrations"][0]["up"]["transaction"], false);
    assert_eq!(seqs[1]["layout"], "goose");
    assert_eq!(seqs[1]["migrations"][0]["up"]["transaction"], true);
    let (code, out, err) = run(&["plan", "fixtures/layouts/prisma-clean"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("in no transaction (the tool opens none)"),
        "{out}"
    );
    assert!(!out.contains("in a transaction"), "{out}");
}

/// `--engine postgres` (mysql) reads only the folders nothing names a
/// dialect for as PostgreSQL (MySQL): a `sqlite/` folder beside `postgres/`
/// stays SQLite, for the static rules as for replay, which leaves it out
/// with a reason naming the engine that would replay it. `--dialect` still
/// reads every folder in its dialect.
#[test]
fn an_explicit_engine_keeps_the_dialect_a_folder_names() {
    let folder = "fixtures/layouts/mixed";
    let (code, out, err) = run(&["plan", "--engine", "postgres", folder]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "fixtures/layouts/mixed/sqlite\n  layout:  plain (no migration tool's marks: every \
             .sql file, in natural order)\n  dialect: sqlite (the folder name: fixtures/layouts/mixed/sqlite)\n  \
             engine:  none: static rules only (SQLite migrations, and --engine postgres replays \
             PostgreSQL (use --engine auto to replay each folder on its own engine))\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "dialect: postgres (the folder name: fixtures/layouts/mixed/postgres)\n  engine:  \
             postgres\n"
        ),
        "{out}"
    );
    // The static rules read the SQLite folder as SQLite: no PostgreSQL
    // syntax error on its AUTOINCREMENT.
    for engine in ["postgres", "mysql"] {
        let (code, out, err) = run(&[
            "check",
            "--no-replay",
            "--engine",
            engine,
            "--format",
            "json",
            folder,
        ]);
        assert_eq!(code, 1, "{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let dialects: Vec<(&str, &str)> = doc["summary"]["sequences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["root"].as_str().unwrap(), s["dialect"].as_str().unwrap()))
            .collect();
        assert_eq!(
            dialects,
            [
                ("fixtures/layouts/mixed/postgres", "postgres"),
                ("fixtures/layouts/mixed/sqlite", "sqlite")
            ],
            "{out}"
        );
        let rules: Vec<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(!rules.contains(&"syntax-error"), "{out}");
    }
    // With MySQL's engine, neither folder is replayed, each with its reason.
    let (_, out, _) = run(&["plan", "--format", "json", "--engine", "mysql", folder]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let reasons: Vec<&str> = doc["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["engine_reason"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        reasons,
        [
            "PostgreSQL migrations, and --engine mysql replays MariaDB/MySQL (use --engine auto \
             to replay each folder on its own engine)",
            "SQLite migrations, and --engine mysql replays MariaDB/MySQL (use --engine auto to \
             replay each folder on its own engine)"
        ],
        "{out}"
    );
    // `--dialect` reads every folder in its dialect, as before.
    let (_, out, _) = run(&[
        "plan",
        "--engine",
        "postgres",
        "--dialect",
        "postgres",
        folder,
    ]);
    assert!(!out.contains("dialect: sqlite"), "{out}");
    assert_eq!(out.matches("engine:  postgres\n").count(), 2, "{out}");
}

#[test]
fn a_changesets_up_lines_end_at_its_last_statement_not_at_its_rollback() {
    // The up's region runs to the next changeset; its `--rollback` lines
    // are the down's, and were shown in the up's range too.
    let (code, out, err) = run(&["plan", "fixtures/layouts/liquibase"]);
    assert_eq!(code, 0, "{err}");
    let ups: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("up:"))
        .collect();
    assert!(
        ups.iter()
            .any(|l| l.contains("001-schema.sql lines 4-6, 2 statements")),
        "{out}"
    );
    assert!(
        ups.iter()
            .any(|l| l.contains("002-data.sql line 4, 1 statement")),
        "{out}"
    );
    assert!(
        ups.iter()
            .any(|l| l.contains("002-data.sql line 8, 1 statement")),
        "{out}"
    );
}

#[test]
fn plan_names_a_release_folders_migration_once() {
    let (code, out, err) = run(&["plan", "fixtures/layouts/version-folders"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\n    0.9/00__memo\n"), "{out}");
    assert!(!out.contains("00__memo 00__memo"), "{out}");
}
