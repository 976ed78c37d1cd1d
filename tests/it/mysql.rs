//! `--engine mysql`: replay on a real MariaDB or MySQL server.
//!
//! The tests use `TWICE_TEST_MYSQL_URL` when it is set; otherwise they start
//! one throwaway server for this test binary with the code twice uses
//! without `--database-url`, and reach it by a `mysql://` URL (the test of
//! the throwaway path itself starts a server of its own). Tests that need a
//! server are `#[ignore]`d with the reason, so a plain `cargo test` reports
//! them as ignored; `cargo test --test it mysql:: -- --include-ignored` runs them
//! (`.ci/run` does, after installing `mariadb-server`) and fails each with a
//! message saying how to provide a server when there is none.

use crate::common;

use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use twice::check::{Engine, Options, Report};
use twice::dialect::Dialect;
use twice::finding::{Finding, Origin};
use twice::replay::mysql::server::Throwaway;

static SERVER: Mutex<Option<Throwaway>> = Mutex::new(None);
static URL: OnceLock<Result<String, String>> = OnceLock::new();

extern "C" fn stop_server() {
    if let Ok(mut s) = SERVER.lock() {
        drop(s.take());
    }
}

fn server_url() -> Result<String, String> {
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TWICE_TEST_MYSQL_URL") {
            if !url.trim().is_empty() {
                return Ok(url);
            }
        }
        match Throwaway::start() {
            Ok(t) => {
                let url = format!(
                    "mysql://root@localhost/mysql?socket={}",
                    t.socket().display()
                );
                *SERVER.lock().unwrap() = Some(t);
                // SAFETY: registers a plain function to run at process exit.
                unsafe {
                    libc::atexit(stop_server);
                }
                Ok(url)
            }
            Err(e) => Err(e.message),
        }
    })
    .clone()
}

const NEEDS_MYSQL: &str = "needs MariaDB/MySQL";

/// Options for a replay on the test server.
fn my_opts() -> Options {
    match server_url() {
        Ok(url) => Options {
            engine: Engine::Mysql,
            dialect: Some(Dialect::Mysql),
            database_url: Some(url),
            ..Options::default()
        },
        Err(why) => panic!(
            "{NEEDS_MYSQL}: no MariaDB/MySQL server for this test: set TWICE_TEST_MYSQL_URL or \
             install the server binaries (apt-get install mariadb-server). {why}"
        ),
    }
}

fn run(folder: &str, opts: &Options) -> Report {
    common::check_paths(&[folder], opts)
}

/// The MySQL engine's own account of replaying the folder's first sequence
/// (copies made, objects copied, where it stopped).
fn detailed(folder: &str, opts: &Options) -> twice::replay::mysql::Replayed {
    let ws = twice::check::load(&[twice::discover::Input::Path(folder.into())], opts).unwrap();
    twice::replay::mysql::replay_detailed(&ws, &ws.sequences[0], opts).unwrap()
}

fn replay_findings(r: &Report) -> Vec<&Finding> {
    r.findings
        .iter()
        .filter(|f| f.source == Origin::Replay)
        .collect()
}

/// (rule, file name, line) of every replay finding, sorted.
/// [`rules`] of the rules `names` only.
fn rules_among(r: &Report, names: &[&str]) -> Vec<(String, String, usize)> {
    rules(r)
        .into_iter()
        .filter(|(rule, ..)| names.contains(&rule.as_str()))
        .collect()
}

fn rules(r: &Report) -> Vec<(String, String, usize)> {
    let mut v: Vec<_> = replay_findings(r)
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
        .collect();
    v.sort();
    v
}

fn find<'a>(r: &'a Report, rule: &str, file: &str, line: usize) -> &'a Finding {
    replay_findings(r)
        .into_iter()
        .find(|f| f.rule == rule && f.file.ends_with(file) && f.line == line)
        .unwrap_or_else(|| panic!("no {rule} at {file}:{line} in {:#?}", rules(r)))
}

fn s(x: &str) -> String {
    x.to_string()
}

/// The shared scenarios whose meaning is the same in MySQL. Left out, each
/// for a MySQL reason: `on-conflict-no-key` and `data_change` are
/// PostgreSQL/SQLite syntax (`ON CONFLICT`, a `text` primary key); `downs`
/// drops an index without its table (`DROP INDEX i`); `cascade` and
/// `first_run_error` build on a failed first run being rolled back, which
/// MySQL's auto-committed DDL does not do (see
/// `a_failed_first_run_stays_half_applied`).
const SHARED_ON_MYSQL: &[&str] = &[
    "fixtures/replay/first-run-error",
    "fixtures/replay/schema-change",
    "fixtures/postgres/second_run_errors",
    "fixtures/shared/apply-only",
    "fixtures/shared/bookkeeping",
    "fixtures/shared/keyless",
];

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn shared_scenarios_read_the_same_on_sqlite_and_mysql() {
    common::assert_reads_like_sqlite(SHARED_ON_MYSQL, &my_opts(), "MySQL");
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn second_run_of_a_ddl_migration_fails_half_way_with_mysql_codes() {
    let r = run("fixtures/mysql/half_applied", &my_opts());
    assert_eq!(r.summary.sequences[0].replay, "replayed");
    assert_eq!(
        rules(&r),
        vec![
            (s("second-run-data-change"), s("002_phone.sql"), 7),
            (s("second-run-error"), s("002_phone.sql"), 3),
            (s("second-run-error"), s("002_phone.sql"), 4),
        ]
    );
    let col = find(&r, "second-run-error", "002_phone.sql", 3);
    assert!(
        col.message.contains("(MySQL error 1060)"),
        "{}",
        col.message
    );
    let ev = col.evidence.as_ref().unwrap();
    assert_eq!(ev["engine"], "mysql");
    assert_eq!(ev["sqlstate"], "42S21");
    let idx = find(&r, "second-run-error", "002_phone.sql", 4);
    assert!(
        idx.message.contains("(MySQL error 1061)"),
        "{}",
        idx.message
    );
    // DDL commits as it goes: the tool stops at line 3 with what ran before
    // kept, and the UPDATE after it runs again only once that is fixed.
    let update = find(&r, "second-run-data-change", "002_phone.sql", 7);
    assert!(
        update.notes.iter().any(|n| n
            == "the second run failed first at line 3, where the tool stops: this statement \
                runs again only once that failure is fixed"),
        "{:#?}",
        update.notes
    );
    // No scratch or copy database name leaks into messages.
    for f in replay_findings(&r) {
        assert!(!f.message.contains("twice_"), "{}", f.message);
    }
}

/// The write between the runs changes a row the migrations wrote, not one
/// of replay's synthetic rows, so an upsert in a later migration than the
/// table's is still seen to put its value back.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn an_upsert_in_a_later_migration_than_its_table_overwrites() {
    let r = run("fixtures/mysql/upsert_later", &my_opts());
    assert_eq!(
        rules(&r),
        vec![(s("second-run-overwrites"), s("002_theme.sql"), 4)]
    );
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_failed_first_run_stays_half_applied() {
    // 001 creates teams, then fails: teams stays, as in a real deploy, so
    // 003's ALTER applies and its second run fails on the column.
    let r = run("fixtures/shared/cascade", &my_opts());
    let root = find(&r, "first-run-error", "001_teams.sql", 3);
    assert!(
        root.notes
            .iter()
            .any(|n| n.contains("runs outside a transaction")),
        "{:?}",
        root.notes
    );
    assert!(rules(&r).contains(&(s("second-run-error"), s("003_size.sql"), 2)));
}

/// A first run that fails before its `DROP COLUMN` and `ADD COLUMN` (nothing
/// after the failure runs): a later migration that adds the column it would
/// have dropped (MySQL error 1060), and one that reads the column it would have
/// added through its table's alias (1054), are listed under it.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn failures_on_what_a_failed_migration_would_have_dropped_are_listed_under_it() {
    let r = run("fixtures/mysql/cascade_dropped", &my_opts());
    assert_eq!(
        rules_among(&r, &["first-run-error"]),
        vec![(s("first-run-error"), s("002_switch.sql"), 3)]
    );
    let root = find(&r, "first-run-error", "002_switch.sql", 3);
    let follow: Vec<String> = root.evidence.as_ref().unwrap()["follow_on"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["file"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        follow,
        vec![s("003_use_status.sql"), s("004_back_to_legacy.sql")]
    );
}

/// An AUTO_INCREMENT counter a second run moves is reported on the
/// statement that writes its table (`INSERT IGNORE INTO kinds`, no row kept),
/// not on a later `INSERT ... SELECT ... FROM kinds` that only reads it and
/// writes rows elsewhere.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_counter_advance_is_reported_where_its_table_is_written() {
    let r = run("fixtures/mysql/counter_read_elsewhere", &my_opts());
    let advances = rules_among(&r, &["second-run-sequence-advance"]);
    assert_eq!(
        advances,
        vec![(s("second-run-sequence-advance"), s("002_defaults.sql"), 1)],
        "{:#?}",
        r.findings
    );
    let adv = find(&r, "second-run-sequence-advance", "002_defaults.sql", 1);
    assert!(
        adv.message.contains("kinds AUTO_INCREMENT"),
        "{}",
        adv.message
    );
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn date_and_time_values_are_shown_as_text() {
    // The text protocol gives DATETIME and DATE values the `binary`
    // character set; they were shown as bytes (`x'323030...'`).
    let r = run("fixtures/mysql/datetime_values", &my_opts());
    let loss = find(&r, "second-run-data-loss", "002_clear_notes.sql", 2);
    let notes = loss.notes.join("\n");
    assert!(notes.contains("put back"), "{notes}");
    assert!(!notes.contains("x'"), "{notes}");
    assert!(notes.contains("seen_at = '2000-01-"), "{notes}");
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn insert_ignore_counters_and_upserts_that_count() {
    let r = run("fixtures/mysql/counters", &my_opts());
    assert_eq!(
        rules(&r),
        vec![
            (s("second-run-data-change"), s("002_visits.sql"), 3),
            (s("second-run-error"), s("003_roles.sql"), 3),
            (s("second-run-sequence-advance"), s("001_settings.sql"), 8),
        ]
    );
    // Help lines in MySQL's words: no `ON CONFLICT`, which MySQL lacks.
    for f in replay_findings(&r) {
        let help = f.help.as_deref().unwrap_or_default();
        assert!(!help.contains("ON CONFLICT"), "{}: {help}", f.rule);
    }
    let dup = find(&r, "second-run-error", "003_roles.sql", 3);
    assert!(
        dup.message.contains("(MySQL error 1062)"),
        "{}",
        dup.message
    );
    let help = dup.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("ON DUPLICATE KEY UPDATE id = id") && help.contains("INSERT IGNORE"),
        "{help}"
    );
    let adv = find(&r, "second-run-sequence-advance", "001_settings.sql", 8);
    assert!(
        adv.message
            .contains("advances sequence settings AUTO_INCREMENT (last value 1 -> 2)"),
        "{}",
        adv.message
    );
    let help = adv.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("instead of relying on `INSERT IGNORE` or `ON DUPLICATE KEY UPDATE`"),
        "{help}"
    );
    let upsert = find(&r, "second-run-data-change", "002_visits.sql", 3);
    assert!(
        upsert.message.contains("1 row changed"),
        "{}",
        upsert.message
    );
    assert!(
        upsert
            .notes
            .iter()
            .any(|n| n.contains("- ('home', 1)") && n.contains("+ ('home', 2)")),
        "{:?}",
        upsert.notes
    );
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn delimiter_blocks_triggers_routines_and_views_replay() {
    let r = run("fixtures/mysql/routines", &my_opts());
    assert_eq!(
        rules(&r),
        vec![
            (s("second-run-data-change"), s("004_view.sql"), 2),
            (s("second-run-error"), s("002_trigger.sql"), 4),
            (s("second-run-error"), s("002_trigger.sql"), 10),
        ]
    );
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn the_sandbox_refuses_files_other_databases_and_server_settings() {
    let r = run("fixtures/mysql/sandbox", &my_opts());
    let got = rules(&r);
    // Files need the FILE privilege: MariaDB 10.11.14 said 1045 (access
    // denied), 10.11.19 says 1227 (needs the FILE privilege).
    for (file, codes) in [
        ("002_read_file.sql", &["1045", "1227"][..]),
        ("003_outfile.sql", &["1045", "1227"]),
        ("004_local.sql", &[""]),
        ("005_accounts.sql", &["1142"]),
        ("006_other_db.sql", &["1044"]),
        ("007_global.sql", &["1227"]),
    ] {
        // 004's LOAD DATA LOCAL is refused by the client, not the server.
        let rule = if file == "004_local.sql" {
            "first-run-error"
        } else {
            "replay-denied"
        };
        let f = find(&r, rule, file, 2);
        assert!(
            codes
                .iter()
                .any(|code| f.message.contains(&format!("MySQL error {code}"))),
            "{file}: {}",
            f.message
        );
        if file != "004_local.sql" {
            assert_eq!(
                f.help.as_deref(),
                Some(twice::replay::algorithm::MYSQL_PERMISSION_HELP),
                "{file}"
            );
        }
    }
    assert_eq!(got.len(), 6, "{got:#?}");
    assert!(!Path::new("/tmp/twice-outfile-test").exists());
}

/// A first run that runs out of time only among twice's synthetic rows is
/// withdrawn and run again without them; one that runs away whatever the rows
/// is still reported.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_timeout_among_synthetic_rows_is_withdrawn() {
    let opts = Options {
        timeout: Duration::from_secs(1),
        ..my_opts()
    };
    let started = std::time::Instant::now();
    let r = run("fixtures/mysql/seed_timeout", &opts);
    assert_eq!(
        rules(&r),
        vec![
            (s("replay-seed-withdrawn"), s("002_wait_for_queue.sql"), 3),
            (s("replay-timeout"), s("003_endless.sql"), 3),
        ]
    );
    let f = find(&r, "replay-seed-withdrawn", "002_wait_for_queue.sql", 3);
    assert_eq!(f.evidence.as_ref().unwrap()["timed_out"], true);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_runaway_statement_stops_at_the_time_limit() {
    let opts = Options {
        timeout: Duration::from_secs(1),
        ..my_opts()
    };
    let started = std::time::Instant::now();
    let r = run("fixtures/mysql/timeout", &opts);
    assert_eq!(
        rules(&r),
        vec![
            (s("replay-timeout"), s("001_sleep.sql"), 2),
            (s("replay-timeout"), s("002_spin.sql"), 11),
        ]
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn long_values_are_kept_by_digest_as_on_sqlite() {
    // A few bytes of SQL make the server hold values of any size; twice's
    // copies of rows keep each long value as its length and digest, so its
    // own memory does not follow the data.
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("001_long.sql"),
        "CREATE TABLE IF NOT EXISTS t (a LONGTEXT, b LONGBLOB);\n\
         INSERT INTO t VALUES (REPEAT('x', 10000), REPEAT(_binary 'y', 5000));\n",
    )
    .unwrap();
    let r = run(m.to_str().unwrap(), &my_opts());
    find(&r, "second-run-data-change", "001_long.sql", 2);
    let json = common::render(&r, twice::render::Format::Json);
    assert!(json.contains("<text of 10000 bytes, sha256 "), "{json}");
    assert!(json.contains("<blob of 5000 bytes, sha256 "), "{json}");
    assert!(!json.contains(&"x".repeat(4097)), "{json}");
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn the_throwaway_server_is_removed_afterwards() {
    assert!(
        twice::replay::mysql::server::find_binaries().is_some(),
        "{NEEDS_MYSQL}: this test starts a throwaway server and needs mariadbd and \
         mariadb-install-db (apt-get install mariadb-server)"
    );
    let opts = Options {
        engine: Engine::Mysql,
        ..Options::default()
    };
    let mine = || -> Vec<String> {
        // In /dev/shm when it can (`throwaway_base`), else the temp folder.
        std::fs::read_dir(twice::replay::mysql::server::throwaway_base())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("twice-my-{}-", std::process::id())))
            .collect()
    };
    let r = run("fixtures/mysql/counters", &opts);
    assert_eq!(r.summary.sequences[0].replay, "replayed");
    assert!(!replay_findings(&r).is_empty());
    // The shared server of this binary is the only one left, if any.
    let left = mine();
    let shared = SERVER
        .lock()
        .unwrap()
        .as_ref()
        .map(|t| t.dir.file_name().unwrap().to_string_lossy().into_owned());
    assert!(left.iter().all(|d| Some(d) == shared.as_ref()), "{left:?}");
}

/// twice's throwaway server keeps its data in memory (`/dev/shm`) when it
/// can: a statement that makes it grow past the cap (2 GiB; 32 MiB here) is
/// stopped, `replay-resource-limit`, instead of filling the machine's memory.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn data_growing_past_the_cap_stops_the_statement() {
    assert!(
        twice::replay::mysql::server::find_binaries().is_some(),
        "{NEEDS_MYSQL}: this test starts a throwaway server and needs mariadbd and \
         mariadb-install-db (apt-get install mariadb-server)"
    );
    let opts = Options {
        engine: Engine::Mysql,
        seed: false,
        interleave: false,
        data_limit: Some(32 << 20),
        ..Options::default()
    };
    let r = run("fixtures/mysql/data_growth", &opts);
    let f = find(&r, "replay-resource-limit", "001_blobs.sql", 4);
    assert!(f.message.contains("grew past 32 MiB"), "{}", f.message);
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn copies_reach_only_what_the_migration_names() {
    // Without the write between runs, which makes trials of its own.
    let opts = Options {
        interleave: false,
        ..my_opts()
    };
    let r = detailed("fixtures/mysql/routines", &opts);
    assert!(r.stopped.is_none(), "{:?}", r.stopped);
    // Four migrations, a second run each: four copies. 001 reaches its two
    // tables; 002 orders, its trigger's order_log and the procedure; 003 the
    // procedure, orders, its trigger and order_log; 004 orders, order_log
    // and its view, plus the trigger on orders.
    assert_eq!(r.copies, 4);
    assert!(r.copied_objects <= 2 + 4 + 4 + 5, "{}", r.copied_objects);
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn the_copy_is_kept_between_trials_and_reads_the_same() {
    // With the write between runs: a second trial per migration that
    // reaches what the first reached. 002's second run changes a row of
    // visits in the copy: the next trial gives it its rows again and sees
    // the same change.
    let opts = my_opts();
    let r = detailed("fixtures/mysql/counters", &opts);
    assert!(r.stopped.is_none(), "{:?}", r.stopped);
    assert!(r.copies >= 4, "{}", r.copies);
    assert!(
        r.reused_objects > 0,
        "nothing reused in {} trials",
        r.copies
    );
    let mut got: Vec<(String, usize)> = r
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.line))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (s("second-run-data-change"), 3),
            (s("second-run-error"), 3),
            (s("second-run-sequence-advance"), 8),
        ]
    );
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn engine_auto_replays_each_sequence_on_the_engine_of_its_dialect() {
    let opts = Options {
        engine: Engine::Auto,
        dialect: None,
        ..my_opts()
    };
    let r = common::check_paths(
        &[
            "fixtures/mysql/counters",
            "fixtures/replay/schema-change",
            "fixtures/postgres/data_change",
        ],
        &opts,
    );
    let got: Vec<(&str, &str, Option<&str>)> = r
        .summary
        .sequences
        .iter()
        .map(|s| (s.dialect, s.replay.as_str(), s.engine))
        .collect();
    assert_eq!(got[0], ("mysql", "replayed", Some("mysql")));
    assert_eq!(got[1], ("sqlite", "replayed", Some("sqlite")));
    // The one URL names a MySQL server: PostgreSQL migrations say so.
    assert_eq!(got[2].0, "postgres");
    assert!(
        got[2]
            .1
            .starts_with("skipped: PostgreSQL migrations, and --database-url names a MySQL"),
        "{}",
        got[2].1
    );
    assert_eq!(got[2].2, None);
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn seed_fills_tables_so_copies_show_on_their_second_run() {
    // Without the write between runs, which also fills the tables.
    let base = Options {
        interleave: false,
        seed: false,
        ..my_opts()
    };
    let plain = run("fixtures/mysql/seed", &base);
    assert!(
        !rules(&plain)
            .iter()
            .any(|r| r.0 == "second-run-data-change"),
        "{:?}",
        rules(&plain)
    );
    let seeded = run("fixtures/mysql/seed", &Options { seed: true, ..base });
    let f = find(&seeded, "second-run-data-change", "002_archive.sql", 3);
    assert!(f.message.contains("3 rows added"), "{}", f.message);
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn sql_mode_is_the_servers_unless_configured() {
    let strict = run("fixtures/mysql/sql_mode", &my_opts());
    let f = find(&strict, "first-run-error", "001_counts.sql", 4);
    assert!(f.message.contains("MySQL error 1366"), "{}", f.message);
    let lax = run(
        "fixtures/mysql/sql_mode",
        &Options {
            mysql_sql_mode: Some(String::new()),
            ..my_opts()
        },
    );
    assert_eq!(
        rules(&lax),
        vec![(s("second-run-data-change"), s("001_counts.sql"), 4)]
    );
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn the_write_between_runs_reaches_mysql_tables() {
    // posts_archive is empty after its first run; the application's write
    // between the runs adds posts, which the second run copies again.
    let r = run("fixtures/mysql/seed", &my_opts());
    let f = find(&r, "second-run-data-change", "002_archive.sql", 3);
    assert!(f.message.contains("rows added"), "{}", f.message);
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_first_run_that_fails_only_among_synthetic_rows_is_checked_without_them() {
    let bare = Options {
        seed: false,
        interleave: false,
        ..my_opts()
    };
    let first_run_errors = |r: &Report| {
        rules(r)
            .into_iter()
            .filter(|(rule, _, _)| rule == "first-run-error")
            .collect::<Vec<_>>()
    };
    let plain = run("fixtures/mysql/seed_withdrawn", &bare);
    assert_eq!(first_run_errors(&plain), vec![], "{:#?}", plain.findings);
    // Seeded, as by default: the duplicate key, the CHECK and the foreign
    // key the synthetic rows alone break are withdrawn, with the cause told.
    let seeded = run(
        "fixtures/mysql/seed_withdrawn",
        &Options {
            seed: true,
            interleave: true,
            ..bare.clone()
        },
    );
    assert_eq!(first_run_errors(&seeded), vec![], "{:#?}", seeded.findings);
    let withdrawn: Vec<_> = rules(&seeded)
        .into_iter()
        .filter(|(rule, _, _)| rule == "replay-seed-withdrawn")
        .collect();
    assert_eq!(
        withdrawn,
        vec![
            (s("replay-seed-withdrawn"), s("002_key_value.sql"), 3),
            (s("replay-seed-withdrawn"), s("003_json.sql"), 3),
            (s("replay-seed-withdrawn"), s("004_foreign_key.sql"), 2),
        ],
        "{:#?}",
        seeded.findings
    );
    let f = find(&seeded, "replay-seed-withdrawn", "004_foreign_key.sql", 2);
    let evidence = f.evidence.as_ref().expect("evidence");
    assert!(
        evidence["seed_error"].to_string().contains("1452"),
        "{evidence}"
    );
}

/// Every tool's bookkeeping table can be created on MySQL, statement by
/// statement as the engine's `setup` runs it (in a database of its own,
/// dropped at the end: MySQL DDL is not transactional).
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn bookkeeping_tables_create_on_mysql() {
    use mysql::prelude::Queryable;
    let url = my_opts().database_url.unwrap();
    let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
    c.query_drop("CREATE DATABASE twice_test_bookkeeping")
        .unwrap();
    c.query_drop("USE twice_test_bookkeeping").unwrap();
    let mut failed = Vec::new();
    for l in twice::layout::registry() {
        if let Some(sql) = l.bookkeeping_sql(Dialect::Mysql) {
            for stmt in sql.split(';').filter(|s| !s.trim().is_empty()) {
                if let Err(e) = c.query_drop(stmt) {
                    failed.push(format!("{:?}: {e}", l.kind()));
                }
            }
        }
    }
    c.query_drop("DROP DATABASE twice_test_bookkeeping")
        .unwrap();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn synthetic_rows_are_withdrawn_whatever_migrations_did_to_them() {
    // CHECKs over synthetic rows an earlier migration changed, and over a
    // migration's own row whose value the write between runs changed: the
    // same first-run-errors as without seeding (none), the cause told.
    let bare = Options {
        seed: false,
        interleave: false,
        ..my_opts()
    };
    let kept = |r: &Report| {
        rules(r)
            .into_iter()
            .filter(|(rule, _, _)| rule == "first-run-error" || rule == "replay-seed-withdrawn")
            .collect::<Vec<_>>()
    };
    let plain = run("fixtures/mysql/seed_changed", &bare);
    assert_eq!(kept(&plain), vec![], "{:#?}", plain.findings);
    let seeded = run(
        "fixtures/mysql/seed_changed",
        &Options {
            seed: true,
            interleave: true,
            ..bare.clone()
        },
    );
    assert_eq!(
        kept(&seeded),
        vec![(s("replay-seed-withdrawn"), s("003_checks.sql"), 4)],
        "{:#?}",
        seeded.findings
    );
}

/// (rule, file name, line) of findings.
type Found = Vec<(String, String, usize)>;

/// The first-run, second-run and down errors of a replay (what seeding must
/// not change), and the `replay-seed-withdrawn` findings.
fn errors_and_withdrawn(r: &Report) -> (Found, Found) {
    rules(r)
        .into_iter()
        .filter(|(rule, _, _)| rule.ends_with("-error") || rule == "replay-seed-withdrawn")
        .partition(|(rule, _, _)| rule != "replay-seed-withdrawn")
}

/// Replays `folder` without seeding and the write between runs, then with
/// both (the defaults): the same errors, and the withdrawn failures at
/// `withdrawn` (file, line).
fn same_errors_as_without_seeding(folder: &str, withdrawn: &[(&str, usize)]) {
    let bare = Options {
        seed: false,
        interleave: false,
        ..my_opts()
    };
    let plain = run(folder, &bare);
    let (plain_errors, none) = errors_and_withdrawn(&plain);
    assert!(none.is_empty(), "{none:?}");
    let seeded = run(
        folder,
        &Options {
            seed: true,
            interleave: true,
            ..bare
        },
    );
    let (errors, got) = errors_and_withdrawn(&seeded);
    assert_eq!(errors, plain_errors, "{:#?}", seeded.findings);
    let want: Vec<_> = withdrawn
        .iter()
        .map(|(file, line)| (s("replay-seed-withdrawn"), s(file), *line))
        .collect();
    assert_eq!(got, want, "{:#?}", seeded.findings);
}

/// A key to a table created later fails while the server checks foreign
/// keys (MariaDB enforces inline `REFERENCES` from 10.5): the help names
/// `[replay] mysql_foreign_key_checks`, and with it off the sessions run as
/// the tool's do.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn foreign_key_checks_can_be_turned_off_as_the_tool_does() {
    let r = run("fixtures/mysql/fk_later", &my_opts());
    let errors: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.rule == "first-run-error")
        .collect();
    // MySQL before 9 ignores inline REFERENCES: nothing fails there.
    if let [f] = errors.as_slice() {
        let help = f.help.as_deref().unwrap_or_default();
        assert!(
            help.contains("`[replay] mysql_foreign_key_checks = false`"),
            "{help}"
        );
    } else {
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let off = Options {
        mysql_foreign_key_checks: false,
        ..my_opts()
    };
    let r = run("fixtures/mysql/fk_later", &off);
    assert!(
        !r.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:#?}",
        r.findings
    );
}

/// `[replay] mysql_foreign_key_checks = false` from the fixture's twice.toml
/// holds in every session that runs migration SQL, not only the first runs':
/// an up that drops a referenced table (its second run on the copy came
/// after twice's own copying turned the checks off and on again: 1451), a
/// down that drops a parent before its child, and a first run that drops a
/// referenced table, fail nowhere.
/// Without the setting both fail with error 1451, as the server says.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn foreign_key_checks_off_hold_for_downs_and_second_runs() {
    let folder = "fixtures/mysql/fk_checks_off";
    let cfg = twice::config::load(None, Path::new(folder))
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("the fixture's twice.toml");
    let mut off = my_opts();
    twice::config::merge(Some(&cfg), &Default::default(), &mut off);
    assert!(!off.mysql_foreign_key_checks);
    let errors = ["first-run-error", "second-run-error"];
    let r = run(folder, &off);
    assert_eq!(rules_among(&r, &errors), [], "{:#?}", r.findings);
    // Without the setting: the server refuses both drops of a parent.
    let r = run(folder, &my_opts());
    let got = rules_among(&r, &errors);
    assert_eq!(
        got,
        [
            (s("first-run-error"), s("000001_notes.up.sql"), 9),
            (s("first-run-error"), s("000002_groups.down.sql"), 2),
            (s("first-run-error"), s("000003_no_groups.up.sql"), 2),
        ],
        "{:#?}",
        r.findings
    );
    for f in replay_findings(&r)
        .into_iter()
        .filter(|f| errors.contains(&f.rule.as_str()))
    {
        assert!(f.message.contains("(MySQL error 1451)"), "{f:#?}");
    }
}

/// A TIMESTAMP column without a default, left out of the inserts of every
/// migration (a MySQL 5.x log table): on the strict sql_mode and
/// `explicit_defaults_for_timestamp` ON of twice's server each insert fails
/// with 1364. One finding, whose help names the server's modes and the
/// settings (not the order of the files), lists the later migrations that
/// fail the same way; either setting replays as MySQL 5.7 did.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn strict_mode_failures_say_so_and_are_listed_once() {
    let folder = "fixtures/mysql/strict_defaults";
    let r = run(folder, &my_opts());
    let errors = ["first-run-error", "second-run-error"];
    assert_eq!(
        rules_among(&r, &errors),
        [(s("first-run-error"), s("001_log.sql"), 12)],
        "{:#?}",
        r.findings
    );
    let f = find(&r, "first-run-error", "001_log.sql", 12);
    assert!(f.message.contains("(MySQL error 1364)"), "{}", f.message);
    let help = f.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("is in a strict sql_mode")
            && help.contains("explicit_defaults_for_timestamp OFF")
            && help.contains("leaves `created_at` out")
            && help.contains("`[replay] mysql_sql_mode = \"...\"`")
            && help.contains("`mysql_explicit_defaults_for_timestamp = false`")
            && !help.contains("order of the files"),
        "{help}"
    );
    let note = f
        .notes
        .iter()
        .find(|n| n.contains("later migrations"))
        .unwrap_or_else(|| panic!("{:#?}", f.notes));
    assert!(
        note.starts_with(
            "3 later migrations fail for the same reason (Field 'created_at' doesn't have a \
             default value (MySQL error 1364): the server's strict sql_mode): "
        ),
        "{note}"
    );
    let follow_on = &f.evidence.as_ref().unwrap()["follow_on"];
    assert_eq!(follow_on.as_array().map(Vec::len), Some(3), "{follow_on}");
    // As MySQL 5.7 did (the first TIMESTAMP column defaults to the time),
    // or a non-strict sql_mode (the zero date, with a warning): no failure.
    for opts in [
        Options {
            mysql_explicit_defaults_for_timestamp: Some(false),
            ..my_opts()
        },
        Options {
            mysql_sql_mode: Some(s("NO_ENGINE_SUBSTITUTION")),
            ..my_opts()
        },
    ] {
        let r = run(folder, &opts);
        assert_eq!(rules_among(&r, &errors), [], "{:#?}", r.findings);
    }
}

/// A foreign key to a table no migration of the history creates fails with
/// errno 150, which names no table: the help names the referenced table and
/// the setup script, not the order of the keys.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_foreign_key_to_a_table_made_elsewhere_names_it() {
    let r = run("fixtures/mysql/fk_elsewhere", &my_opts());
    let f = find(&r, "first-run-error", "001_filestore.sql", 3);
    let help = f.help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with(
            "the foreign key references `accounts`, which no migration of this history creates"
        ),
        "{help}"
    );
}

/// MySQL runs what a versioned comment holds (`/*!40014 SET
/// FOREIGN_KEY_CHECKS=0 */`, `CREATE TABLE /*!32312 IF NOT EXISTS*/ t`, as
/// mysqldump writes them): replay runs it too, so a key to a table created
/// later is fine with the checks the dump turned off, and the static rules
/// read the `IF NOT EXISTS`. A comment opened inside a statement is sent
/// with its `*/` (`) ENGINE=InnoDB /*! CHARACTER SET utf8 */;` was cut
/// before it: a syntax error on the first run).
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn versioned_comments_run_as_the_server_runs_them() {
    let r = run("fixtures/mysql/versioned_comments", &my_opts());
    assert_eq!(r.summary.statements, 6, "{:#?}", r.summary);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

/// An install script that creates its own database and switches to it
/// (`CREATE DATABASE IF NOT EXISTS shop; USE shop;`, as many MySQL projects
/// ship): replay runs it in the scratch database, says so for the CREATE
/// and DROP it does not run, and checks the rest; a database the script
/// never switches to is still refused.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_script_that_makes_its_own_database_runs_in_the_scratch_one() {
    let r = run("fixtures/mysql/own_database", &my_opts());
    let replay = rules_among(
        &r,
        &[
            "replay-statement-skipped",
            "replay-denied",
            "first-run-error",
            "second-run-error",
        ],
    );
    assert_eq!(
        replay,
        [
            (s("replay-denied"), s("002_other.sql"), 2),
            (s("replay-statement-skipped"), s("001_install.sql"), 2),
            (s("replay-statement-skipped"), s("001_install.sql"), 3),
            (s("second-run-error"), s("001_install.sql"), 6),
        ],
        "{:#?}",
        r.findings
    );
    let skipped = find(&r, "replay-statement-skipped", "001_install.sql", 3);
    assert!(
        skipped
            .message
            .contains("creates the database `shop` the script then uses"),
        "{}",
        skipped.message
    );
}

/// A history that makes its own database and names its tables with it
/// (`USE shop; ... REPLACE INTO shop.plan`, and later `ALTER TABLE
/// shop.plan ...`, as vran-dev/databasir's Flyway history does): those names
/// resolve to the scratch database (and to the copy in second runs), in the
/// migration that `USE`s it and in the later ones, so they are checked
/// instead of refused; a string that reads like such a name is left as it is
/// (the CHECK of `label` refuses any other value), and another database is
/// still refused.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn names_qualified_with_the_historys_own_database_resolve_to_the_scratch_one() {
    let r = run("fixtures/mysql/own_database_names", &my_opts());
    let replay = rules_among(
        &r,
        &[
            "replay-statement-skipped",
            "replay-denied",
            "first-run-error",
            "second-run-error",
            "second-run-data-change",
        ],
    );
    assert_eq!(
        replay,
        [
            (s("replay-denied"), s("005_other_database.sql"), 2),
            (s("replay-statement-skipped"), s("001_init.sql"), 3),
            (s("second-run-data-change"), s("004_add_pro.sql"), 2),
            (s("second-run-error"), s("002_plan_price.sql"), 2),
        ],
        "{:#?}",
        r.findings
    );
    let dup = find(&r, "second-run-error", "002_plan_price.sql", 2);
    assert!(
        dup.message
            .contains("Duplicate column name 'price' (MySQL error 1060)"),
        "{}",
        dup.message
    );
    // The first run and the copy are the database replay runs in: no
    // message names either (a refusal names the migration user, also
    // `twice_...`).
    for f in replay_findings(&r)
        .into_iter()
        .filter(|f| f.rule != "replay-denied")
    {
        assert!(!f.message.contains("twice_"), "{}", f.message);
    }
    let denied = find(&r, "replay-denied", "005_other_database.sql", 2);
    assert!(denied.message.contains("`archive`"), "{}", denied.message);
}

/// Atlas writes names qualified with the database its env url names
/// (`` `inventory`.`stock` ``): they resolve to the scratch database, so the
/// history is checked instead of refused.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn names_qualified_with_the_atlas_env_database_resolve_to_the_scratch_one() {
    let r = run("fixtures/layouts/atlas-mysql-env", &my_opts());
    let replay = rules_among(
        &r,
        &[
            "replay-denied",
            "replay-statement-skipped",
            "first-run-error",
            "second-run-error",
        ],
    );
    // Its `CREATE DATABASE IF NOT EXISTS` is not run: the tool connects to
    // that database, so it is there already.
    assert_eq!(
        replay,
        [
            (
                s("replay-statement-skipped"),
                s("20250301000000_stock.sql"),
                2
            ),
            (s("second-run-error"), s("20250301000000_stock.sql"), 4),
            (s("second-run-error"), s("20250302000000_qty.sql"), 2),
        ],
        "{:#?}",
        r.findings
    );
    let skipped = find(
        &r,
        "replay-statement-skipped",
        "20250301000000_stock.sql",
        2,
    );
    assert!(
        skipped
            .message
            .contains("the migration tool's settings run the migrations in"),
        "{}",
        skipped.message
    );
}

/// A table named in another case than it was created in fails on a Linux
/// server (`lower_case_table_names=0`): the help says so, naming both.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_table_named_in_another_case_is_explained() {
    let r = run("fixtures/mysql/table_case", &my_opts());
    let f = find(&r, "first-run-error", "002_lower_emails.sql", 2);
    let help = f.help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with(
            "the migrations before this one create `User`, and this statement names `user`"
        ),
        "{help}"
    );
}

/// MySQL 8's default collation (`utf8mb4_0900_ai_ci`, written by mysqldump,
/// Atlas and Prisma) is unknown to MariaDB before 11.4.5: the failure says
/// the history is written for MySQL 8 and to replay it there, and the later
/// failures on MySQL 8 SQL are listed under it (kestra's history: 17
/// first-run errors on MariaDB before, one now).
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_mysql8_collation_on_mariadb_says_to_replay_on_mysql8() {
    let r = run("fixtures/mysql/mysql8", &my_opts());
    let errors: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.rule == "first-run-error")
        .collect();
    match errors.as_slice() {
        // MySQL 8.
        [] => {}
        [f] if f.message.contains("utf8mb4_0900_ai_ci") => {
            let help = f.help.as_deref().unwrap_or_default();
            assert!(
                help.starts_with("`utf8mb4_0900_ai_ci` is a MySQL 8 collation, which MariaDB")
                    && help.contains("replay it on a MySQL 8 server"),
                "{help}"
            );
            // The later failures on MySQL 8 SQL (`->>`, the collation
            // again) are listed under the first, not reported each.
            let note = f
                .notes
                .iter()
                .find(|n| n.contains("later migrations fail for the same reason"))
                .unwrap_or_else(|| panic!("{:#?}", f.notes));
            assert!(
                note.starts_with("2 later migrations fail for the same reason (SQL MariaDB ")
                    && note.contains("does not read: the history is written for another server)")
                    && note.contains("002_settings.sql:")
                    && note.contains("003_orders.sql:"),
                "{note}"
            );
            // 004 needs the table 002 would have made: it follows too.
            assert!(
                f.notes.iter().any(|n| n
                    .starts_with("1 later migration fails because this one did: ")
                    && n.contains("004_settings_theme_index.sql:2")),
                "{:#?}",
                f.notes
            );
            let follow_on = f.evidence.as_ref().unwrap()["follow_on"]
                .as_array()
                .unwrap();
            assert_eq!(follow_on.len(), 3, "{follow_on:?}");
        }
        // A MariaDB that knows the collation: the `->>` alone.
        [f] => assert!(f.file.ends_with("002_settings.sql"), "{f:#?}"),
        more => panic!("{more:#?}"),
    }
}

/// MariaDB refuses some expressions in a generated column that MySQL 8
/// accepts (error 1901): the help says so and names replaying on MySQL, not
/// "check the order of the files" (CapSoftware/Cap's drizzle history).
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn an_expression_mariadb_refuses_in_a_generated_column_says_so() {
    let r = run("fixtures/mysql/generated_expression", &my_opts());
    let errors: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.rule == "first-run-error")
        .collect();
    match errors.as_slice() {
        // MySQL 8 accepts it.
        [] => {}
        [f] => {
            assert!(f.file.ends_with("002_event_day.sql"), "{f:#?}");
            let help = f.help.as_deref().unwrap_or_default();
            assert!(
                help.starts_with("MariaDB ")
                    && help.contains("in a GENERATED ALWAYS AS clause")
                    && help.contains("replay it on a MySQL server"),
                "{help}"
            );
        }
        more => panic!("{more:#?}"),
    }
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_function_the_application_provides_is_named_in_the_help() {
    let r = run("fixtures/shared/missing-function", &my_opts());
    let f = find(&r, "first-run-error", "002_backfill.sql", 2);
    assert!(f.message.contains("normalize_handle"), "{}", f.message);
    let help = f.help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with("no function `normalize_handle` with these argument types exists"),
        "{help}"
    );
    assert!(help.contains("--setup FILE"), "{help}");
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_first_run_that_fails_part_way_among_synthetic_rows_goes_on_from_the_failure() {
    // 002: DDL before the failure committed: the run goes on from the
    // foreign key, not from the start (the column would be there twice).
    // 003: a transaction open at the failure was rolled back: the run goes
    // on from START TRANSACTION (the audit row is there, as the second
    // run's duplicate key shows). 004: the failing ALTER committed the
    // transaction before it: the run goes on from the ALTER (the audit row
    // is not inserted twice).
    same_errors_as_without_seeding(
        "fixtures/mysql/seed_resumed",
        &[
            ("002_region_fk.sql", 7),
            ("003_defaults.sql", 7),
            ("004_checks.sql", 6),
        ],
    );
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn rows_copied_from_synthetic_rows_are_withdrawn_with_them() {
    // 003 withdraws the synthetic users, and the addresses and handles 002
    // copied from them: 004's foreign keys then hold (its own seeded rows
    // break the first one, and are withdrawn in turn).
    same_errors_as_without_seeding(
        "fixtures/mysql/seed_derived",
        &[("003_short_logins.sql", 3), ("004_foreign_keys.sql", 3)],
    );
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn synthetic_rows_are_followed_into_renamed_tables() {
    // RENAME TABLE, then ALTER TABLE ... RENAME TO (a mixed-case name): the
    // synthetic jobs are found in QueueItems and withdrawn.
    same_errors_as_without_seeding("fixtures/mysql/seed_renamed", &[("004_codes.sql", 3)]);
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_statement_the_server_cannot_parse_names_the_server_and_the_line() {
    let r = run("fixtures/shared/syntax", &my_opts());
    let f = find(&r, "first-run-error", "002_broken.sql", 2);
    // MySQL says `near ';' at line 2`: the message points at line 3 of the file.
    assert!(
        f.message.starts_with("first run fails at line 3: "),
        "{}",
        f.message
    );
    assert!(f.message.contains("(MySQL error 1064)"), "{}", f.message);
    let help = f.help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with("MariaDB ") || help.starts_with("MySQL "),
        "{help}"
    );
    assert!(help.contains("cannot parse this statement"), "{help}");
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn the_write_between_runs_puts_back_the_migrations_own_rows() {
    // See the SQLite test of the same name.
    let plain = Options {
        seed: false,
        interleave: false,
        ..my_opts()
    };
    for o in [my_opts(), plain] {
        let r = run("fixtures/replay/interleave-puts-back", &o);
        assert_eq!(
            rules(&r),
            vec![
                (s("second-run-error"), s("001_projects.sql"), 1),
                (s("second-run-error"), s("001_projects.sql"), 6),
                (s("second-run-error"), s("002_quota.sql"), 2),
            ],
            "seed {} interleave {}",
            o.seed,
            o.interleave
        );
    }
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn the_setup_scripts_tables_are_not_seeded() {
    // Seeded, `platform_tenants` would give the INSERT ... SELECT a duplicate
    // key on its first run (withdrawn: `replay-seed-withdrawn`); left alone,
    // as on the other engines, only the second run fails.
    use twice::replay::setup::SetupScript;
    let o = Options {
        setup: vec![SetupScript {
            path: "fixtures/mysql/setup_platform.sql".into(),
            sequence: None,
            within: None,
        }],
        ..my_opts()
    };
    let r = run("fixtures/mysql/setup_not_seeded", &o);
    assert_eq!(
        rules(&r),
        vec![(s("second-run-error"), s("001_default_tenant.sql"), 2)]
    );
}

/// A setup script's statement runs under the replay time limit: one that
/// turns the server's limit off and sleeps is stopped, and the check stops
/// with the script's line (an interrupted SLEEP returns no error).
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_runaway_setup_script_is_stopped() {
    use twice::replay::setup::SetupScript;
    let o = Options {
        setup: vec![SetupScript {
            path: "fixtures/mysql/setup_runs_away.sql".into(),
            sequence: None,
            within: None,
        }],
        timeout: Duration::from_secs(1),
        ..my_opts()
    };
    let started = std::time::Instant::now();
    let err = twice::check::check(
        &[twice::discover::Input::Path(
            "fixtures/mysql/setup_not_seeded".into(),
        )],
        &o,
    )
    .expect_err("the setup script is stopped");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.message.contains("setup_runs_away.sql:4:")
            && err
                .message
                .contains("ran longer than the replay time limit"),
        "{}",
        err.message
    );
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn what_a_migration_leaves_in_its_session_does_not_reach_the_next() {
    // A run's session is reset after it only when the server reports that
    // the run changed it (or cannot say): foreign key checks turned off, a
    // temporary table, a transaction left open and a user variable must all
    // be gone for the next migration, as in a tool's fresh session.
    for opts in [
        my_opts(),
        Options {
            seed: false,
            interleave: false,
            ..my_opts()
        },
    ] {
        let r = run("fixtures/mysql/session_reset", &opts);
        let first: Vec<(String, usize)> = replay_findings(&r)
            .iter()
            .filter(|f| f.rule == "first-run-error")
            .map(|f| {
                let file = Path::new(&f.file).file_name().unwrap_or_default();
                (file.to_string_lossy().into_owned(), f.line)
            })
            .collect();
        assert_eq!(
            first,
            vec![
                (s("002_missing_parent.sql"), 2),
                (s("004_uses_scratch_table.sql"), 2),
                (s("008_reads_variable.sql"), 3),
            ],
            "{:#?}",
            rules(&r)
        );
        let f = find(&r, "first-run-error", "002_missing_parent.sql", 2);
        assert!(f.message.contains("MySQL error 1005"), "{}", f.message);
    }
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_trigger_fired_by_twices_own_rows_leaves_nothing_in_the_session() {
    // Seeding inserts rows into `events`, whose trigger sets a user
    // variable: the session is reset after twice's own writes when a
    // trigger may have fired, so the next migration reads NULL.
    let r = run("fixtures/mysql/session_trigger", &my_opts());
    let f = find(&r, "first-run-error", "002_seen.sql", 3);
    assert!(f.message.contains("MySQL error 1048"), "{}", f.message);
}

/// A migration that leaves an XA transaction prepared: it outlives the
/// session (MariaDB 10.5+, MySQL 8) with its locks, so the scratch database
/// could be neither read nor dropped (left on the server, after a 50-second
/// wait). twice rolls it back on the session that began it, and the run is
/// incomplete (what the migration wrote was not kept), never clean.
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn an_xa_transaction_left_prepared_is_rolled_back_and_the_run_is_incomplete() {
    use mysql::prelude::Queryable;
    let opts = my_opts();
    let r = detailed("fixtures/hostile/mysql_xa_left", &opts);
    let stopped = r.stopped.expect("an incomplete run");
    assert!(stopped.contains("XA transaction"), "{stopped}");
    let url = opts.database_url.clone().unwrap();
    let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
    let left: Vec<mysql::Row> = c.query("XA RECOVER").unwrap();
    // (Other tests share the server; none uses XA.)
    assert!(left.is_empty(), "{left:?}");
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_migration_that_changes_its_own_password_does_not_stop_replay() {
    // Before, the next connection was refused (1045) and replay stopped
    // with exit 2 and the client library's raw error.
    let r = run("fixtures/mysql/own_password", &my_opts());
    let seq = &r.summary.sequences[0];
    assert_eq!(seq.replay, "replayed", "{:#?}", r.notices);
    let f = find(&r, "second-run-error", "005_ledgers.sql", 2);
    assert!(f.message.contains("1050"), "{}", f.message);
    // The migration that ends its own connection fails, and is the only
    // one that does.
    let first: Vec<String> = replay_findings(&r)
        .iter()
        .filter(|f| f.rule == "first-run-error")
        .map(|f| f.file.clone())
        .collect();
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].ends_with("004_kill.sql"), "{first:?}");
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn an_anonymous_account_does_not_shadow_the_migration_user() {
    // `''@'localhost'` (which mysql_install_db makes without
    // --skip-test-db) is matched before `'twice_...'@'%'` for a client on
    // localhost: the migration user is made at the host the server sees.
    let _ = server_url();
    let t = match Throwaway::start() {
        Ok(t) => t,
        Err(e) => panic!("{NEEDS_MYSQL}: {}", e.message),
    };
    let url = format!(
        "mysql://root@localhost/mysql?socket={}",
        t.socket().display()
    );
    {
        use mysql::prelude::Queryable;
        let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
        c.query_drop("CREATE USER ''@'localhost'").unwrap();
    }
    let opts = Options {
        database_url: Some(url),
        ..my_opts()
    };
    let r = run("fixtures/mysql/own_password", &opts);
    assert_eq!(
        r.summary.sequences[0].replay, "replayed",
        "{:#?}",
        r.notices
    );
    find(&r, "second-run-error", "005_ledgers.sql", 2);
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn an_error_in_any_statement_of_twices_own_batches_is_seen() {
    // twice sends its copies and resyncs as several statements in one round
    // trip. The client library's `query_drop` returns the first statement's
    // error only: a copy's `INSERT ... SELECT` stopped by the time limit
    // left an empty table that read as "second run removes every row".
    use mysql::prelude::Queryable;
    let url = server_url().unwrap_or_else(|e| panic!("{NEEDS_MYSQL}: {e}"));
    let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
    let batch = "SELECT 1;\nSELECT * FROM mysql.twice_no_such_table;\nSELECT 2";
    assert!(
        c.query_drop(batch).is_ok(),
        "the client library now reports later errors: exec_all may go"
    );
    let e = twice::replay::mysql::server::exec_all(&mut c, batch).unwrap_err();
    assert!(e.to_string().contains("1146"), "{e}");
    twice::replay::mysql::server::exec_all(&mut c, "SELECT 1;\nSELECT 2").unwrap();
}

#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn an_sql_mode_the_server_refuses_is_an_error_not_ignored() {
    // The session settings go in one round trip; the `sql_mode` is the
    // second statement, whose error the client library dropped unread, so
    // replay ran with the server's default mode instead.
    let opts = Options {
        mysql_sql_mode: Some(s("NO_SUCH_MODE")),
        ..my_opts()
    };
    let inputs = [twice::discover::Input::Path(
        "fixtures/mysql/sql_mode".into(),
    )];
    let e = twice::check::check(&inputs, &opts).unwrap_err();
    assert!(e.to_string().contains("ERROR 1231"), "{e}");
    assert!(e.to_string().contains("NO_SUCH_MODE"), "{e}");
}

/// MariaDB quotes a statement it cannot parse with its line breaks: the
/// finding's message stays one line (the tail of it was printed as stray
/// lines after the notes: kestra's initial migration).
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_server_error_quoting_several_lines_is_one_line() {
    let r = run("fixtures/mysql/multiline_error", &my_opts());
    let f = replay_findings(&r)
        .into_iter()
        .find(|f| f.rule == "first-run-error")
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    assert!(!f.message.contains('\n'), "{:?}", f.message);
    assert!(f.message.contains("note TEXT )'"), "{:?}", f.message);
}

/// `DROP FOREIGN KEY t_ibfk_1` and an unnamed `ADD FOREIGN KEY` on `t`:
/// the server gives the new key the freed name, so the pair converges.
/// Replay says so, and the static rules no longer say otherwise (flipt's
/// namespace migration had two static errors replay disproved).
#[test]
#[ignore = "needs MariaDB/MySQL: cargo test --test it mysql:: -- --include-ignored"]
fn a_generated_foreign_key_name_dropped_and_added_again_converges() {
    let r = run("fixtures/mysql/fk_generated_name", &my_opts());
    assert_eq!(r.summary.sequences[0].replay, "replayed", "{:?}", r.notices);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}
