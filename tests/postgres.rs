//! `--engine postgres`: replay on a real PostgreSQL server.
//!
//! The tests use `TWICE_TEST_DATABASE_URL` when it is set (`.ci/postgres.sh`
//! sets it); otherwise they start one throwaway cluster for this test binary
//! with the same code twice uses without `--database-url`. When neither is
//! possible they print why and skip — except under CI (`CI` set), where
//! they fail.

mod common;

use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use twice::check::{self, Engine, Options, Report};
use twice::dialect::Dialect;
use twice::discover::Input;
use twice::finding::{Finding, Origin, Severity};
use twice::render::Format;
use twice::replay::postgres::{self as pg, cluster::Cluster};

/// The throwaway cluster shared by the tests of this binary, stopped at exit.
static CLUSTER: Mutex<Option<Cluster>> = Mutex::new(None);
static URL: OnceLock<Result<String, String>> = OnceLock::new();

extern "C" fn stop_cluster() {
    if let Ok(mut c) = CLUSTER.lock() {
        drop(c.take());
    }
}

fn server_url() -> Result<String, String> {
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TWICE_TEST_DATABASE_URL") {
            if !url.trim().is_empty() {
                return Ok(url);
            }
        }
        match Cluster::start() {
            Ok(c) => {
                let url = format!(
                    "host={} port={} user={} dbname=postgres",
                    c.dir.display(),
                    c.port,
                    c.user
                );
                *CLUSTER.lock().unwrap() = Some(c);
                // SAFETY: registers a plain function to run at process exit.
                unsafe {
                    libc::atexit(stop_cluster);
                }
                Ok(url)
            }
            Err(e) => Err(e.message),
        }
    })
    .clone()
}

/// Options for a replay on the test server, or `None` (skip) when there is
/// no server; under CI a missing server fails the test.
fn pg_opts() -> Option<Options> {
    match server_url() {
        Ok(url) => Some(Options {
            engine: Engine::Postgres,
            database_url: Some(url),
            ..Options::default()
        }),
        Err(why) => {
            if std::env::var_os("CI").is_some() {
                panic!("no PostgreSQL server for the tests under CI: {why}");
            }
            eprintln!(
                "SKIPPED: no PostgreSQL server: set TWICE_TEST_DATABASE_URL or install the \
                 server binaries (initdb, pg_ctl). {why}"
            );
            None
        }
    }
}

fn run(folder: &str, opts: &Options) -> Report {
    common::check_paths(&[folder], opts)
}

fn replay_findings(r: &Report) -> Vec<&Finding> {
    r.findings
        .iter()
        .filter(|f| f.source == Origin::Replay)
        .collect()
}

fn rules(r: &Report) -> Vec<(String, String, usize)> {
    replay_findings(r)
        .iter()
        .map(|f| {
            (
                f.rule.clone(),
                Path::new(&f.file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                f.line,
            )
        })
        .collect()
}

fn has(r: &Report, rule: &str) -> bool {
    r.findings.iter().any(|f| f.rule == rule)
}

/// Human and JSON output, for snapshots.
fn outputs(r: &Report) -> String {
    format!(
        "{}\n---- json ----\n{}",
        common::render(r, Format::Human),
        common::render(r, Format::Json)
    )
}

fn assert_no_scratch_names(text: &str) {
    assert!(
        !text.contains("twice_scratch_"),
        "scratch name leaked: {text}"
    );
}

#[test]
fn engine_postgres_implies_postgres_dialect() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/clean", &opts);
    assert_eq!(r.summary.sequences[0].dialect, "postgres");
    assert_eq!(r.summary.sequences[0].replay, "replayed");
}

#[test]
fn clean_folder_has_no_replay_findings() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/clean", &opts);
    assert!(replay_findings(&r).is_empty(), "{:#?}", r.findings);
    // Also with --seed: seeded rows must not make idempotent SQL look bad.
    let r = run("fixtures/postgres/clean", &Options { seed: true, ..opts });
    assert!(replay_findings(&r).is_empty(), "{:#?}", r.findings);
}

#[test]
fn seed_shows_a_copy_that_is_invisible_on_empty_tables() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/seed", &opts);
    assert!(replay_findings(&r).is_empty(), "{:#?}", r.findings);
    let seeded = run("fixtures/postgres/seed", &Options { seed: true, ..opts });
    // Only the copy of `accounts`: `frozen` refuses every row (its trigger),
    // so its copy stays empty.
    assert_eq!(
        rules(&seeded),
        vec![(
            "second-run-data-change".to_string(),
            "002_archive.sql".to_string(),
            4
        )]
    );
    let f = replay_findings(&seeded)[0];
    let ev = f.evidence.as_ref().unwrap();
    assert_eq!(ev["table"], "public.accounts_archive");
    assert_eq!(ev["added"], 3);
    // The seeded rows satisfy the types and constraints of `accounts`.
    let rows = ev["sample_added"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let mut emails = std::collections::BTreeSet::new();
    let mut teams = std::collections::BTreeSet::new();
    for row in rows {
        let status = row["status"].as_str().unwrap();
        assert!(status == "active" || status == "suspended", "{row}");
        let plan = row["plan"].as_str().unwrap();
        assert!(plan == "free" || plan == "pro", "{row}");
        // Points at a seeded team (ids 1..3 from its serial).
        let team = row["team_id"].as_i64().unwrap();
        assert!((1..=3).contains(&team), "{row}");
        teams.insert(team);
        assert_eq!(row["settings"], serde_json::json!({}), "{row}");
        assert_eq!(row["tags"], serde_json::json!([]), "{row}");
        assert_eq!(row["id"].as_str().unwrap().len(), 36, "{row}");
        assert_eq!(row["code"].as_str().unwrap().len(), 4, "{row}");
        assert!(row["active"].is_boolean(), "{row}");
        assert!(
            row["opened_on"].as_str().unwrap().starts_with("20"),
            "{row}"
        );
        emails.insert(row["email"].as_str().unwrap().to_string());
    }
    assert_eq!(emails.len(), 3, "emails are unique: {emails:?}");
    assert_eq!(teams.len(), 3, "{teams:?}");
    insta::assert_snapshot!("pg_seed", outputs(&seeded));
}

#[test]
fn seed_refills_tables_emptied_since_the_last_seeding() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/seed_reseed", &opts);
    assert!(replay_findings(&r).is_empty(), "{:#?}", r.findings);
    let seeded = run(
        "fixtures/postgres/seed_reseed",
        &Options { seed: true, ..opts },
    );
    // 002 empties `notes` (DELETE) and `events` (TRUNCATE, through its
    // partition); 004 empties `notes` again outside a transaction. Each
    // copy after them finds seeded rows.
    assert_eq!(
        rules(&seeded),
        vec![
            (
                "second-run-data-change".to_string(),
                "003_copy.sql".to_string(),
                3
            ),
            (
                "second-run-data-change".to_string(),
                "003_copy.sql".to_string(),
                5
            ),
            (
                "second-run-data-change".to_string(),
                "005_archive.sql".to_string(),
                2
            ),
        ]
    );
    for f in replay_findings(&seeded) {
        assert_eq!(f.evidence.as_ref().unwrap()["added"], 3, "{f:#?}");
    }
    // `notes` got rows although its identity (GENERATED ALWAYS) and
    // generated columns refuse any value: they were left to the server.
    let ev = replay_findings(&seeded)[0]
        .evidence
        .as_ref()
        .unwrap()
        .clone();
    assert_eq!(ev["table"], "public.notes_copy");
    let bodies = ev["sample_added"].as_array().unwrap();
    assert!(bodies
        .iter()
        .all(|r| r["body"].as_str().unwrap().starts_with("body ")));
}

#[test]
fn second_run_errors_carry_sqlstate() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/second_run_errors", &opts);
    let found = rules(&r);
    let errs: Vec<usize> = found
        .iter()
        .filter(|(rule, _, _)| rule == "second-run-error")
        .map(|(_, _, l)| *l)
        .collect();
    assert_eq!(errs, vec![2, 7, 9, 11], "{found:?}");
    let msgs: Vec<&str> = replay_findings(&r)
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert!(msgs[0].contains("relation \"customers\" already exists (SQLSTATE 42P07)"));
    assert!(msgs[1]
        .contains("column \"phone\" of relation \"customers\" already exists (SQLSTATE 42701)"));
    assert!(msgs[3].contains("duplicate key value violates unique constraint"));
    assert!(msgs[3].contains("23505"));
    for f in replay_findings(&r) {
        assert!(f.statement.is_some());
        assert_eq!(f.evidence.as_ref().unwrap()["engine"], "postgres");
    }
    let out = outputs(&r);
    assert_no_scratch_names(&out);
    insta::assert_snapshot!("pg_second_run_errors", out);
}

#[test]
fn unnamed_index_and_check_change_the_schema() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/schema_change", &opts);
    let f: Vec<&Finding> = replay_findings(&r)
        .into_iter()
        .filter(|f| f.rule == "second-run-schema-change")
        .collect();
    // One finding per statement, with the objects it changed.
    assert_eq!(f.len(), 2, "{:#?}", r.findings);
    assert_eq!((f[0].line, f[1].line), (8, 11));
    let diff = f[0].evidence.as_ref().unwrap()["diff"].as_str().unwrap();
    assert!(
        diff.contains("+index public.orders_customer_id_idx1"),
        "{diff}"
    );
    let diff = f[1].evidence.as_ref().unwrap()["diff"].as_str().unwrap();
    assert!(
        diff.contains("+  constraint orders_total_cents_check1 CHECK"),
        "{diff}"
    );
    assert!(!has(&r, "second-run-error"));
    let out = outputs(&r);
    assert_no_scratch_names(&out);
    insta::assert_snapshot!("pg_schema_change", out);
}

#[test]
fn data_changes_per_table() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/data_change", &opts);
    let data: Vec<&Finding> = replay_findings(&r)
        .into_iter()
        .filter(|f| f.rule == "second-run-data-change")
        .collect();
    assert_eq!(data.len(), 2, "{:#?}", r.findings);
    let tables: Vec<&str> = data
        .iter()
        .map(|f| f.evidence.as_ref().unwrap()["table"].as_str().unwrap())
        .collect();
    assert!(tables.contains(&"public.plans"));
    assert!(tables.contains(&"public.audit_log"));
    let plans = data
        .iter()
        .find(|f| f.message.contains("public.plans"))
        .unwrap();
    assert_eq!(plans.evidence.as_ref().unwrap()["changed"], 1);
    assert_eq!(
        plans.evidence.as_ref().unwrap()["sample_changed"][0]["after"]["price"],
        200
    );
    // Pointed at the UPDATE, which names the table.
    assert!(plans.line == 11 || plans.line == 15, "{}", plans.line);
    let out = outputs(&r);
    insta::assert_snapshot!("pg_data_change", out);
}

#[test]
fn upsert_sequence_advance_is_info() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/sequence_advance", &opts);
    let found = replay_findings(&r);
    assert_eq!(found.len(), 1, "{:#?}", r.findings);
    assert_eq!(found[0].rule, "second-run-sequence-advance");
    assert_eq!(found[0].severity, Severity::Info);
    assert!(found[0].message.contains("public.accounts_id_seq"));
    let ev = found[0].evidence.as_ref().unwrap();
    assert_eq!(ev["before"], 2);
    assert_eq!(ev["after"], 4);
    insta::assert_snapshot!("pg_sequence_advance", outputs(&r));
}

#[test]
fn first_run_error_rolls_back_and_goes_on() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/first_run_error", &opts);
    let found = rules(&r);
    assert_eq!(
        found,
        vec![
            (
                "first-run-error".to_string(),
                "002_broken.sql".to_string(),
                4
            ),
            // Its first run passed: 002 left no `members` table behind.
            (
                "second-run-error".to_string(),
                "003_after.sql".to_string(),
                2
            ),
        ],
        "{:#?}",
        r.findings
    );
    assert!(replay_findings(&r)[0]
        .message
        .contains("relation \"team\" does not exist (SQLSTATE 42P01)"));
    insta::assert_snapshot!("pg_first_run_error", outputs(&r));
}

#[test]
fn do_blocks_and_dollar_quoted_functions() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/do_and_functions", &opts);
    let found = rules(&r);
    let errs: Vec<usize> = found
        .iter()
        .filter(|(rule, _, _)| rule == "second-run-error")
        .map(|(_, _, l)| *l)
        .collect();
    // CREATE FUNCTION without OR REPLACE, and the unguarded DO block.
    assert_eq!(errs, vec![16, 29], "{:#?}", r.findings);
    assert_eq!(found.len(), 2, "{:#?}", r.findings);
    let msgs: Vec<&str> = replay_findings(&r)
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert!(msgs[0].contains("42723"), "{}", msgs[0]);
    assert!(
        msgs[1].contains("relation \"item_tags\" already exists"),
        "{}",
        msgs[1]
    );
    insta::assert_snapshot!("pg_do_and_functions", outputs(&r));
}

#[test]
fn concurrently_runs_outside_a_transaction() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/concurrently", &opts);
    let found = rules(&r);
    assert_eq!(
        found,
        vec![(
            "second-run-error".to_string(),
            "002_indexes.sql".to_string(),
            4
        )],
        "{:#?}",
        r.findings
    );
    assert!(replay_findings(&r)[0]
        .message
        .contains("relation \"events_at\" already exists"));
    insta::assert_snapshot!("pg_concurrently", outputs(&r));
}

#[test]
fn no_transaction_part_is_replayed_in_a_copy() {
    let Some(opts) = pg_opts() else { return };
    let mut ws = check::load(
        &[Input::Path("fixtures/postgres/data_change".into())],
        &Options {
            dialect: Some(Dialect::Postgres),
            ..opts.clone()
        },
    )
    .unwrap();
    for m in &mut ws.sequences[0].migrations {
        m.up.no_transaction = true;
    }
    let r = pg::replay_detailed(&ws, &ws.sequences[0], &opts).unwrap();
    let mut rules: Vec<&str> = r.findings.iter().map(|f| f.rule.as_str()).collect();
    rules.sort();
    assert_eq!(
        rules,
        vec!["second-run-data-change", "second-run-data-change"],
        "{:#?}",
        r.findings
    );
}

#[test]
fn enum_add_value_with_and_without_if_not_exists() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/enums", &opts);
    let found = rules(&r);
    assert_eq!(
        found,
        vec![(
            "second-run-error".to_string(),
            "002_add_values.sql".to_string(),
            3
        )],
        "{:#?}",
        r.findings
    );
    assert!(replay_findings(&r)[0]
        .message
        .contains("enum label \"ecstatic\" already exists"));
    insta::assert_snapshot!("pg_enums", outputs(&r));
}

#[test]
fn own_begin_commit_does_not_keep_the_second_run() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/own_transaction", &opts);
    // The second INSERT is seen as a data change; 002 still finds one row.
    let found = rules(&r);
    assert_eq!(
        found,
        vec![(
            "second-run-data-change".to_string(),
            "001_seed.sql".to_string(),
            5
        )],
        "{:#?}",
        r.findings
    );
    insta::assert_snapshot!("pg_own_transaction", outputs(&r));
}

#[test]
fn statement_timeout_is_reported_on_the_statement() {
    let Some(mut opts) = pg_opts() else { return };
    opts.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let r = run("fixtures/postgres/timeout", &opts);
    assert!(started.elapsed() < Duration::from_secs(20));
    let f = replay_findings(&r);
    assert_eq!(f.len(), 1, "{:#?}", r.findings);
    assert_eq!(f[0].rule, "replay-timeout");
    assert_eq!(f[0].line, 3);
    assert!(
        f[0].message.contains("first run (line 3)") && f[0].message.contains("time limit"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].evidence.as_ref().unwrap()["sqlstate"], "57014");
}

#[test]
fn watchdog_stops_a_statement_when_the_migration_turns_the_limit_off() {
    let Some(mut opts) = pg_opts() else { return };
    opts.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let r = run("fixtures/postgres/timeout_off", &opts);
    assert!(started.elapsed() < Duration::from_secs(20));
    let f = replay_findings(&r);
    assert_eq!(f.len(), 1, "{:#?}", r.findings);
    assert_eq!(f[0].rule, "replay-timeout");
    assert_eq!(f[0].line, 4);
}

fn database_exists(url: &str, name: &str) -> bool {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.query_one(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
        &[&name],
    )
    .unwrap()
    .get(0)
}

#[test]
fn scratch_database_is_dropped_after_a_failing_migration() {
    let Some(opts) = pg_opts() else { return };
    let url = opts.database_url.clone().unwrap();
    for folder in [
        "fixtures/postgres/first_run_error",
        "fixtures/postgres/concurrently",
    ] {
        let ws = check::load(
            &[Input::Path(folder.into())],
            &Options {
                dialect: Some(Dialect::Postgres),
                ..opts.clone()
            },
        )
        .unwrap();
        let r = pg::replay_detailed(&ws, &ws.sequences[0], &opts).unwrap();
        assert!(!r.findings.is_empty());
        assert!(r.scratch.starts_with("twice_scratch_"), "{}", r.scratch);
        assert!(
            !database_exists(&url, &r.scratch),
            "{} is still in pg_database",
            r.scratch
        );
        for copy in &r.copies {
            assert!(
                !database_exists(&url, copy),
                "{copy} is still in pg_database"
            );
        }
    }
}

#[test]
fn down_migrations() {
    let Some(opts) = pg_opts() else { return };
    let ws = check::load(
        &[Input::Path("fixtures/postgres/down".into())],
        &Options {
            dialect: Some(Dialect::Postgres),
            ..opts.clone()
        },
    )
    .unwrap();
    // `N_x.up.sql` / `N_x.down.sql`: the golang-migrate layout pairs them.
    assert!(ws.sequences[0].migrations.iter().all(|m| m.down.is_some()));
    let r = pg::replay_detailed(&ws, &ws.sequences[0], &opts).unwrap();
    let mut got: Vec<(String, String, usize)> = r
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.file.clone(), f.line))
        .collect();
    got.sort();
    let want = vec![
        (
            "down-does-not-revert".to_string(),
            "fixtures/postgres/down/002_phone.down.sql".to_string(),
            2,
        ),
        (
            "down-does-not-revert".to_string(),
            "fixtures/postgres/down/003_seed.down.sql".to_string(),
            2,
        ),
        (
            "down-second-run-change".to_string(),
            "fixtures/postgres/down/003_seed.down.sql".to_string(),
            2,
        ),
        (
            "down-second-run-error".to_string(),
            "fixtures/postgres/down/002_phone.down.sql".to_string(),
            2,
        ),
    ];
    assert_eq!(got, want, "{:#?}", r.findings);
    let revert = r
        .findings
        .iter()
        .find(|f| f.rule == "down-does-not-revert" && f.file.contains("002"))
        .unwrap();
    assert!(
        revert.message.contains("table public.users"),
        "{}",
        revert.message
    );
}

#[test]
fn throwaway_cluster_without_a_url() {
    // Same code path as `twice check --engine postgres` with nothing set up.
    if pg::cluster::find_bindir().is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("no PostgreSQL server binaries under CI");
        }
        eprintln!("SKIPPED: no initdb/pg_ctl found for a throwaway cluster");
        return;
    }
    let opts = Options {
        engine: Engine::Postgres,
        database_url: None,
        ..Options::default()
    };
    let r = run("fixtures/postgres/sequence_advance", &opts);
    assert_eq!(rules(&r).len(), 1, "{:#?}", r.findings);
    assert!(has(&r, "second-run-sequence-advance"));
    // The cluster folder is gone.
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("twice-pg-{}-", std::process::id()))
        })
        .count();
    // The shared test cluster (when no URL was given) lives in one such folder.
    assert!(leftovers <= 1, "{leftovers} cluster folders left");
}

#[test]
fn ctrl_c_drops_the_scratch_database() {
    let Some(opts) = pg_opts() else { return };
    let url = opts.database_url.clone().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_twice"))
        .args([
            "check",
            "--engine",
            "postgres",
            "--timeout",
            "60",
            "fixtures/postgres/timeout",
        ])
        .env("TWICE_DATABASE_URL", &url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!("twice_scratch_{}_%", child.id());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let count = |c: &mut postgres::Client| -> i64 {
        c.query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE $1",
            &[&prefix],
        )
        .unwrap()
        .get(0)
    };
    // Wait until it is inside `SELECT pg_sleep(30)`.
    let started = std::time::Instant::now();
    loop {
        let sleeping: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE $1 \
                 AND query LIKE '%pg_sleep%'",
                &[&prefix],
            )
            .unwrap()
            .get(0);
        if sleeping > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "twice never reached the slow statement"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(count(&mut c), 1);
    // SAFETY: sends SIGINT to the child we spawned.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(count(&mut c), 0, "scratch database left after Ctrl-C");
}

#[test]
fn unreachable_server_exits_2_with_a_reason() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twice"))
        .args([
            "check",
            "--engine",
            "postgres",
            "--database-url",
            "postgres://twice@127.0.0.1:1/postgres?connect_timeout=5",
            "fixtures/postgres/clean",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to the --database-url server"),
        "{err}"
    );
    assert!(!err.contains("127.0.0.1:1/postgres"), "URL echoed: {err}");
}

#[test]
fn bad_url_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twice"))
        .args([
            "check",
            "--engine",
            "postgres",
            "--database-url",
            "mysql://nope",
            "fixtures/postgres/clean",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--database-url"));
}

#[test]
fn goose_no_transaction_part_runs_in_autocommit() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/goose_no_transaction", &opts);
    assert_eq!(r.summary.sequences[0].layout, "goose");
    let found = rules(&r);
    assert!(
        !found.iter().any(|(rule, _, _)| rule == "first-run-error"),
        "{:#?}",
        r.findings
    );
    assert!(
        !found
            .iter()
            .any(|(rule, file, _)| rule == "second-run-error" && file == "00002_happy.sql"),
        "{:#?}",
        r.findings
    );
    // Its down part is not checked, and says so.
    assert!(
        found
            .iter()
            .any(|(rule, file, _)| rule == "replay-statement-skipped" && file == "00002_happy.sql"),
        "{:#?}",
        r.findings
    );
}

#[test]
fn server_wide_statements_are_not_run_on_a_url_server() {
    let Some(opts) = pg_opts() else { return };
    let url = opts.database_url.clone().unwrap();
    let r = run("fixtures/postgres/server_wide", &opts);
    let found = rules(&r);
    assert_eq!(
        found,
        vec![(
            "replay-statement-skipped".to_string(),
            "001_roles.sql".to_string(),
            1
        )],
        "{:#?}",
        r.findings
    );
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname = 'twice_fixture_reader'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the role was created on the server");
}

/// psql's `COPY ... FROM stdin` with its rows after it (pg_dump output): the
/// rows are COPY data, not statements, and replay feeds them to the server.
/// Into a table with a key the second run fails; into one without, it adds
/// the rows again.
#[test]
fn copy_from_stdin_is_fed_its_rows() {
    let Some(opts) = pg_opts() else { return };
    let r = run("fixtures/postgres/copy_stdin", &opts);
    assert_eq!(r.summary.statements, 5, "{:#?}", r.findings);
    assert!(!has(&r, "unparsed-statement"), "{:#?}", r.findings);
    let got = rules(&r);
    assert!(
        got.contains(&("second-run-error".into(), "001_data.sql".into(), 5)),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|(rule, _, _)| rule == "first-run-error"),
        "{got:?}"
    );
    let dup = replay_findings(&r)
        .into_iter()
        .find(|f| f.rule == "second-run-data-change")
        .unwrap_or_else(|| panic!("{got:?}"));
    assert!(dup.message.contains("public.events"), "{}", dup.message);
    assert_eq!(dup.line, 10);
}

/// `--from` (and `--since`, which marks migrations the same way): the
/// migrations before the version are applied once, on PostgreSQL too, with
/// only a failure to apply reported; the ones from it on are audited as in a
/// full run. Both the transactional and the autocommit (CONCURRENTLY) paths.
#[test]
fn migrations_of_the_starting_state_are_applied_once() {
    let Some(opts) = pg_opts() else { return };
    let from = |v: &str| Options {
        from: Some(v.to_string()),
        ..opts.clone()
    };
    // 002 fails to apply: reported once (no second run), with the note.
    let r = run("fixtures/postgres/first_run_error", &from("003"));
    assert_eq!(
        rules(&r),
        vec![
            (
                "first-run-error".to_string(),
                "002_broken.sql".to_string(),
                4
            ),
            (
                "second-run-error".to_string(),
                "003_after.sql".to_string(),
                2
            ),
        ],
        "{:#?}",
        r.findings
    );
    assert!(r.findings[0]
        .notes
        .iter()
        .any(|n| n.contains("part of the starting state")));
    // Only 003's static findings are reported.
    assert!(r
        .findings
        .iter()
        .all(|f| f.source == Origin::Replay || f.file.ends_with("003_after.sql")));
    // Everything old: nothing but the failure to apply.
    let r = run("fixtures/postgres/first_run_error", &from("999"));
    assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
    // An old migration that must run outside a transaction is applied too:
    // the audited one after it sees its indexes.
    let full = run("fixtures/postgres/concurrently", &opts);
    let r = run("fixtures/postgres/concurrently", &from("002"));
    assert_eq!(rules(&r), rules(&full));
    let r = run("fixtures/postgres/concurrently", &from("999"));
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}
