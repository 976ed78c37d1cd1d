//! Replay: fixture folders under `fixtures/replay/`, human and JSON output
//! of the replay findings snapshotted (static findings are left out so these
//! snapshots only change when replay does).

use crate::common;

use common::{check_paths, render};
use std::time::Duration;
use twice::check::{self, Options, Report, Summary};
use twice::discover::Input;
use twice::finding::{Finding, Origin};
use twice::render::Format;
use twice::replay::{self, Outcome};

fn opts() -> Options {
    Options {
        timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

/// Replay on empty tables with nothing written between the runs
/// (`--no-seed --no-interleave`), for fixtures about that.
fn bare() -> Options {
    Options {
        seed: false,
        interleave: false,
        ..opts()
    }
}

/// The report with only replay findings (and the summary counts of those).
fn replay_only(mut report: Report) -> Report {
    report.findings.retain(|f| f.source == Origin::Replay);
    for f in &mut report.findings {
        f.related.clear();
    }
    let count = |s| report.findings.iter().filter(|f| f.severity == s).count();
    use twice::finding::Severity;
    report.summary.errors = count(Severity::Error);
    report.summary.warnings = count(Severity::Warning);
    report.summary.infos = count(Severity::Info);
    report
}

fn run(dir: &str, opts: &Options) -> Report {
    replay_only(check_paths(&[dir], opts))
}

fn snapshot(name: &str, report: &Report) {
    snapshot!(format!("{name}_human"), render(report, Format::Human));
    snapshot!(format!("{name}_json"), render(report, Format::Json));
}

/// (rule, file, line) of each finding.
fn ids(report: &Report) -> Vec<(String, String, usize)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.file.clone(), f.line))
        .collect()
}

fn of_rule<'r>(report: &'r Report, rule: &str) -> Vec<&'r twice::finding::Finding> {
    report.findings.iter().filter(|f| f.rule == rule).collect()
}

fn has(report: &Report, rule: &str, file_suffix: &str, line: usize) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.rule == rule && f.file.ends_with(file_suffix) && f.line == line)
}

#[test]
fn clean_folder_has_no_replay_finding() {
    let r = run("fixtures/replay/clean", &opts());
    assert!(r.findings.is_empty(), "{:#?}", ids(&r));
    assert_eq!(r.summary.sequences[0].replay, "replayed");
    // Also on empty tables and without the write between the runs.
    let r = run("fixtures/replay/clean", &bare());
    assert!(r.findings.is_empty(), "{:#?}", ids(&r));
}

#[test]
fn second_run_errors_are_all_reported() {
    let r = run("fixtures/replay/second-run-error", &opts());
    for (file, line) in [
        ("001_create.sql", 1),
        ("001_create.sql", 2),
        ("001_create.sql", 3),
        ("002_phone.sql", 1),
        ("002_phone.sql", 2),
    ] {
        assert!(
            has(&r, "second-run-error", file, line),
            "{file}:{line} {:#?}",
            ids(&r)
        );
    }
    let msgs: Vec<&str> = r.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(msgs
        .iter()
        .any(|m| m.contains("table customers already exists")));
    assert!(msgs
        .iter()
        .any(|m| m.contains("duplicate column name: phone")));
    assert!(msgs
        .iter()
        .any(|m| m.contains("UNIQUE constraint failed: customers.email")));
    // Each finding is tied to its statement, for linking with static findings.
    assert!(r.findings.iter().all(|f| f.statement.is_some()));
    snapshot("second_run_error", &r);
}

#[test]
fn schema_change_is_a_unified_diff() {
    let r = run("fixtures/replay/schema-change", &opts());
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "second-run-schema-change")
        .unwrap_or_else(|| panic!("{:#?}", ids(&r)));
    assert!(f.file.ends_with("002_rename.sql"));
    assert!(f
        .notes
        .iter()
        .any(|n| n.contains("+CREATE TABLE events_new (")));
    assert!(has(&r, "second-run-error", "002_rename.sql", 5));
    let ev = f.evidence.as_ref().unwrap();
    assert_eq!(ev["objects"][0]["name"], "events_new");
    assert_eq!(ev["objects"][0]["change"], "added");
    snapshot("schema_change", &r);
}

#[test]
fn data_change_has_counts_samples_and_writers() {
    let r = run("fixtures/replay/data-change", &opts());
    let products = r
        .findings
        .iter()
        .find(|f| f.rule == "second-run-data-change" && f.message.contains("products"))
        .unwrap_or_else(|| panic!("{:#?}", ids(&r)));
    assert_eq!(products.line, 1);
    assert!(products.file.ends_with("002_raise_prices.sql"));
    let ev = products.evidence.as_ref().unwrap();
    assert_eq!(ev["table"], "products");
    // tea and cake (001's write between its runs renamed tea), and the rows
    // written since: every row of the table.
    assert_eq!(ev["changed"], 5);
    assert_eq!(ev["added"], 0);
    assert_eq!(ev["samples"]["changed"][0]["before"]["id"], 1);
    assert_eq!(ev["statements"][0]["line"], 1);
    assert!(has(&r, "second-run-data-change", "002_raise_prices.sql", 2));
    // The guarded delete is idempotent: no finding on line 3.
    assert!(!r.findings.iter().any(|f| f.line == 3));
    snapshot("data_change", &r);
}

#[test]
fn on_conflict_do_nothing_without_a_unique_key_duplicates_rows() {
    let r = run("fixtures/replay/on-conflict-no-key", &opts());
    assert_eq!(
        ids(&r),
        vec![(
            "second-run-data-change".to_string(),
            "fixtures/replay/on-conflict-no-key/001_settings.sql".to_string(),
            3
        )]
    );
    assert_eq!(r.findings[0].evidence.as_ref().unwrap()["added"], 1);
    snapshot("on_conflict_no_key", &r);
}

#[test]
fn seed_shows_a_copy_that_is_invisible_on_empty_tables() {
    let r = run("fixtures/replay/seed-copy", &bare());
    assert!(r.findings.is_empty(), "{:#?}", ids(&r));
    let seeded = run(
        "fixtures/replay/seed-copy",
        &Options {
            interleave: false,
            ..opts()
        },
    );
    assert!(
        has(&seeded, "second-run-data-change", "002_copy.sql", 9),
        "{:#?}",
        ids(&seeded)
    );
    let f = &seeded.findings[0];
    let ev = f.evidence.as_ref().unwrap();
    assert_eq!(ev["table"], "users");
    assert_eq!(ev["added"], 3);
    // Seeded rows satisfy the CHECK constraint and the NOT NULLs.
    let status = &ev["samples"]["added"][0]["status"];
    assert!(status == "active" || status == "disabled", "{status}");
    snapshot("seed_copy", &seeded);
}

#[test]
fn a_first_run_that_fails_only_among_seeded_rows_is_checked_without_them() {
    // Unseeded: clean.
    let r = run("fixtures/replay/seed-withdrawn", &bare());
    let kinds = |r: &Report| {
        ids(r)
            .into_iter()
            .filter(|(rule, ..)| rule != "replay-statement-skipped")
            .collect::<Vec<_>>()
    };
    assert!(kinds(&r).is_empty(), "{:#?}", ids(&r));
    // Seeded (the default): each failure the seeded rows cause is withdrawn,
    // no first-run-error, and the cause is told.
    let seeded = run("fixtures/replay/seed-withdrawn", &opts());
    let path = |f: &str| format!("fixtures/replay/seed-withdrawn/{f}");
    assert_eq!(
        kinds(&seeded),
        vec![
            ("replay-seed-withdrawn".into(), path("002_key_value.sql"), 4),
            ("replay-seed-withdrawn".into(), path("003_json.sql"), 2),
            (
                "replay-seed-withdrawn".into(),
                path("004_foreign_key.sql"),
                8
            ),
        ],
        "{:#?}",
        ids(&seeded)
    );
    let errors: Vec<String> = seeded
        .findings
        .iter()
        .filter(|f| f.rule == "replay-seed-withdrawn")
        .map(|f| f.evidence.as_ref().unwrap()["seed_error"].to_string())
        .collect();
    assert_eq!(
        errors,
        [
            "\"UNIQUE constraint failed: app_settings.key\"",
            "\"malformed JSON\"",
            "\"FOREIGN KEY constraint failed\""
        ]
    );
    assert_eq!(seeded.summary.errors, 0);
    snapshot("seed_withdrawn", &seeded);
    // The copy seeding exists for is still flagged (seed-copy), and a
    // failure that is not the seeding's is still reported.
    let r = run("fixtures/replay/first-run-error", &opts());
    assert!(
        r.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:#?}",
        ids(&r)
    );
    assert!(
        r.findings.iter().all(|f| f.rule != "replay-seed-withdrawn"),
        "{:#?}",
        ids(&r)
    );
}

#[test]
fn synthetic_rows_are_withdrawn_whatever_migrations_did_to_them() {
    // The first-run and down failures seeding alone causes, on rows an
    // earlier migration changed (and renamed, and rebuilt by a copy, in a
    // table with a key and one without): the same first-run-error and
    // down failures as without seeding (none), each withdrawal told.
    let kept = |r: &Report| {
        ids(r)
            .into_iter()
            .filter(|(rule, ..)| rule == "first-run-error" || rule == "replay-seed-withdrawn")
            .collect::<Vec<_>>()
    };
    for dir in [
        "fixtures/replay/seed-changed",
        "fixtures/replay/seed-changed-down",
    ] {
        let r = run(dir, &bare());
        assert!(kept(&r).is_empty(), "{dir}: {:#?}", ids(&r));
    }
    let r = run("fixtures/replay/seed-changed", &opts());
    assert_eq!(
        kept(&r),
        vec![(
            "replay-seed-withdrawn".to_string(),
            "fixtures/replay/seed-changed/004_checks.sql".to_string(),
            9
        )],
        "{:#?}",
        ids(&r)
    );
    let r = run("fixtures/replay/seed-changed-down", &opts());
    assert_eq!(
        kept(&r),
        vec![(
            "replay-seed-withdrawn".to_string(),
            "fixtures/replay/seed-changed-down/003_drop_latest.down.sql".to_string(),
            5
        )],
        "{:#?}",
        ids(&r)
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "replay-seed-withdrawn")
        .unwrap();
    assert_eq!(
        f.evidence.as_ref().unwrap()["seed_error"],
        "UNIQUE constraint failed: latest_rates.base, latest_rates.quote"
    );
}

#[test]
fn seed_fills_tables_with_constraints_and_foreign_keys() {
    use twice::replay::sqlite::StatementEngine;
    use twice::replay::sqlite::{SandboxConfig, SqliteEngine};
    let mut e = SqliteEngine::open(&SandboxConfig::default()).unwrap();
    e.connection()
        .execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
             CREATE TABLE users (
                 id INTEGER PRIMARY KEY,
                 email TEXT NOT NULL UNIQUE,
                 kind TEXT NOT NULL CHECK (kind IN ('admin', 'member')),
                 score INTEGER CHECK (score >= 0),
                 team_id INTEGER NOT NULL REFERENCES teams (id),
                 full_name TEXT GENERATED ALWAYS AS (email || '!') VIRTUAL
             );
             CREATE TABLE pairs (a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
             CREATE TABLE impossible (x INTEGER NOT NULL CHECK (x < 0 AND x > 0));",
        )
        .unwrap();
    let mut seeded = e.seed().unwrap();
    seeded.sort();
    assert_eq!(seeded, vec!["pairs", "teams", "users"]);
    let count = |t: &str| -> i64 {
        e.connection()
            .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count("users"), 3);
    assert_eq!(count("teams"), 3);
    assert_eq!(count("impossible"), 0);
    let bad_fk: i64 = e
        .connection()
        .query_row(
            "SELECT count(*) FROM users WHERE team_id NOT IN (SELECT id FROM teams)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad_fk, 0);
    // Already full: nothing to do the next time.
    assert!(e.seed().unwrap().is_empty());
}

/// A history that starts from a schema made elsewhere: the first first run
/// failing on an object no migration creates is the root, and a down
/// migration failing on such an object later is listed under it too.
#[test]
fn downs_failing_on_a_schema_made_elsewhere_follow_the_first_such_failure() {
    let r = run("fixtures/replay/baseline-downs", &opts());
    let errors = of_rule(&r, "first-run-error");
    assert_eq!(errors.len(), 1, "{:#?}", r.findings);
    assert!(errors[0].file.ends_with("1_note.up.sql"));
    assert!(
        errors[0].notes.iter().any(|n| n.starts_with(
            "1 later migration fails for the same reason (on objects no migration of this history \
             creates): fixtures/replay/baseline-downs/2_items.down.sql:2"
        )),
        "{:#?}",
        errors[0].notes
    );
}

/// A history whose first migration changes a table no migration of it
/// creates, beside a full schema read as a history of its own (Kill Bill's
/// `ddl.sql` above its Flyway `migration/` folder): the help names that file
/// as the setup script to start from, and with it as one the history replays.
#[test]
fn a_missing_object_another_history_creates_is_named_in_the_help() {
    let r = run("fixtures/replay/schema-elsewhere", &opts());
    let errors = of_rule(&r, "first-run-error");
    assert_eq!(errors.len(), 1, "{:#?}", r.findings);
    assert_eq!(
        errors[0].help.as_deref(),
        Some(
            "no migration of this history creates `accounts`, but \
             fixtures/replay/schema-elsewhere/ddl.sql (read as a history of its own) does: if the \
             history starts from that schema, give it to replay in a setup script (`--setup \
             fixtures/replay/schema-elsewhere/ddl.sql`, `[replay] setup`), which runs once before \
             the first migration"
        )
    );
    let mut with_setup = opts();
    with_setup.setup = vec![twice::replay::setup::SetupScript {
        path: "fixtures/replay/schema-elsewhere/ddl.sql".into(),
        sequence: None,
        within: None,
    }];
    let r = run("fixtures/replay/schema-elsewhere/migration", &with_setup);
    assert!(
        !r.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:#?}",
        r.findings
    );
}

/// A first migration that rebuilds a table by copy-and-swap presumes the
/// table: the rename that gives the name back does not make it here, so a
/// history whose first migration rebuilds a table it never creates starts
/// from a schema made elsewhere (not "check the order"), and a later
/// failure on that table fails for the same reason, not because of it.
#[test]
fn a_rebuilt_table_no_migration_creates_is_a_schema_made_elsewhere() {
    let r = run("fixtures/replay/rebuild-elsewhere", &opts());
    let errors = of_rule(&r, "first-run-error");
    assert_eq!(errors.len(), 1, "{:#?}", r.findings);
    assert!(errors[0].file.ends_with("001_rebuild_jobs.sql"));
    assert_eq!(errors[0].line, 4);
    let help = errors[0].help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with("no migration of this history creates `jobs`: the history starts"),
        "{help}"
    );
    let notes = errors[0].notes.join("\n");
    assert!(
        notes.contains(
            "1 later migration fails for the same reason (on objects no migration of this \
             history creates): fixtures/replay/rebuild-elsewhere/002_jobs_priority.sql:1"
        ),
        "{notes}"
    );
    assert!(!notes.contains("because this one did"), "{notes}");
}

/// `DROP TABLE t` (no `IF EXISTS`) and then `CREATE TABLE t` presume `t`
/// was there: when no migration before makes it, the history starts from a
/// schema made elsewhere, not a wrong order. With `IF EXISTS` the migration
/// makes the table itself.
#[test]
fn a_table_dropped_and_made_again_no_migration_creates_is_a_schema_made_elsewhere() {
    let r = run("fixtures/replay/dropped-elsewhere", &opts());
    let errors = of_rule(&r, "first-run-error");
    assert_eq!(errors.len(), 1, "{:#?}", r.findings);
    assert!(errors[0].file.ends_with("001_replace_members.sql"));
    assert_eq!(errors[0].line, 3);
    let help = errors[0].help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with("no migration of this history creates `members`: the history starts"),
        "{help}"
    );
}

/// A first run the sandbox refuses is rolled back like a failed one: what
/// it would have created is missing, and the later first runs that fail for
/// want of it are listed under its `replay-denied` finding, not reported
/// again; a failure on something else is still its own finding.
#[test]
fn failures_after_a_refused_first_run_follow_from_it() {
    let r = run("fixtures/replay/denied-root", &opts());
    let kept: Vec<(String, String, usize)> = ids(&r)
        .into_iter()
        .filter(|(rule, ..)| rule == "first-run-error" || rule == "replay-denied")
        .collect();
    assert_eq!(
        kept,
        [
            (
                "replay-denied".to_string(),
                "fixtures/replay/denied-root/001_archive.sql".to_string(),
                4
            ),
            (
                "first-run-error".to_string(),
                "fixtures/replay/denied-root/004_tags.sql".to_string(),
                3
            ),
        ],
        "{:#?}",
        ids(&r)
    );
    let denied = r
        .findings
        .iter()
        .find(|f| f.rule == "replay-denied")
        .unwrap();
    assert!(
        denied
            .notes
            .iter()
            .any(|n| n.starts_with("2 later migrations fail because this one did")),
        "{:#?}",
        denied.notes
    );
    snapshot("denied_root", &r);
}

#[test]
fn first_run_error_rolls_back_and_carries_on() {
    let r = run("fixtures/replay/first-run-error", &opts());
    let f = &r.findings[0];
    assert_eq!(f.rule, "first-run-error");
    assert!(f.file.ends_with("001_add_note.sql"));
    assert!(f.message.contains("no such table: orders"), "{}", f.message);
    // The next migrations were replayed: 003's plain CREATE TABLE fails on
    // its second run.
    assert!(
        has(&r, "second-run-error", "003_items.sql", 2),
        "{:#?}",
        ids(&r)
    );
    snapshot("first_run_error", &r);
}

#[test]
fn transaction_statements_inside_migrations() {
    // 002's CHECK counts the rows of 001's table: no other rows wanted.
    let r = run("fixtures/replay/transactions", &bare());
    // COMMIT inside 001 did not make its second run permanent: 002's CHECK
    // (exactly one row) holds on its first run.
    assert!(has(&r, "second-run-data-change", "001_begin_commit.sql", 3));
    assert!(!r
        .findings
        .iter()
        .any(|f| f.rule == "first-run-error" && f.file.ends_with("002_guard.sql")));
    // ROLLBACK undid `CREATE TABLE scratch`: 004 creates it again on its first
    // run (and fails on its second). SAVEPOINT/ROLLBACK TO/RELEASE and END ran.
    assert!(!r
        .findings
        .iter()
        .any(|f| f.file.ends_with("003_rollback_end_savepoint.sql")));
    assert!(has(&r, "second-run-error", "004_pragmas_vacuum.sql", 3));
    assert!(!r
        .findings
        .iter()
        .any(|f| f.rule == "first-run-error" && f.file.ends_with("004_pragmas_vacuum.sql")));
    // A PRAGMA foreign_keys the migration opens with is applied before the
    // run, as outside a transaction: nothing to say. A later one and VACUUM
    // are handled, with a note.
    assert!(!has(
        &r,
        "replay-statement-skipped",
        "004_pragmas_vacuum.sql",
        1
    ));
    for line in [4, 6] {
        // (line 5, `PRAGMA defer_foreign_keys`, runs as it is.)
        assert!(
            has(
                &r,
                "replay-statement-skipped",
                "004_pragmas_vacuum.sql",
                line
            ),
            "{line}"
        );
    }
    // A COMMIT with no transaction is an error, as in SQLite.
    assert!(has(&r, "first-run-error", "005_stray_commit.sql", 2));
    snapshot("transactions", &r);
}

#[test]
fn a_commit_or_rollback_may_end_the_transaction_the_tool_opened() {
    // drizzle runs each migration inside a BEGIN ... COMMIT of its own: a
    // migration's leading COMMIT ends it (to turn foreign keys off), its
    // BEGIN opens the next, and a ROLLBACK undoes what ran since the start.
    let r = run("fixtures/replay/tool-transaction", &bare());
    assert!(
        !r.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:#?}",
        r.findings
    );
    // The migration behind the COMMIT is checked: its ADD COLUMN's second run fails.
    assert!(has(&r, "second-run-error", "0001_foreign_keys_off.sql", 9));
    // The CREATE rolled back is made again by line 7 on the first run; the
    // second run's line 1 finds it.
    assert!(has(
        &r,
        "second-run-error",
        "0002_rollback_ends_the_tools_transaction.sql",
        1
    ));
    snapshot("tool-transaction", &r);
}

#[test]
fn a_statement_that_fails_on_any_row_is_the_migrations_failure_not_the_seeds() {
    // SQLite refuses these ADD COLUMNs on a table with rows, whatever the
    // rows hold: the failure is the migration's, not the synthetic rows'
    // (no replay-seed-withdrawn), but the rows are withdrawn and the
    // migration run again without them, so the history goes on and the
    // second runs are checked.
    let r = run("fixtures/replay/fails-on-rows", &opts());
    assert!(has(&r, "first-run-error", "002_created_at.sql", 2));
    assert!(has(&r, "first-run-error", "003_slug.sql", 2));
    assert!(has(&r, "second-run-error", "003_slug.sql", 2));
    assert!(!r.findings.iter().any(|f| f.rule == "replay-seed-withdrawn"));
    snapshot("fails-on-rows", &r);
    // Without rows in the tables, both run.
    let r = run("fixtures/replay/fails-on-rows", &bare());
    assert!(!r.findings.iter().any(|f| f.rule == "first-run-error"));
}

#[test]
fn changes_a_second_run_makes_past_its_first_failure_say_the_tool_stops_there() {
    let r = run("fixtures/replay/changes-past-failure", &opts());
    assert!(has(&r, "second-run-error", "002_roles.sql", 4));
    let note = "the second run failed first at line 4, where the tool stops and rolls the \
                migration back: this change happens once that failure is fixed";
    for rule in ["second-run-data-change", "second-run-data-loss"] {
        let f = r
            .findings
            .iter()
            .find(|f| f.rule == rule && f.file.ends_with("002_roles.sql"))
            .unwrap_or_else(|| panic!("{rule}: {:#?}", r.findings));
        assert!(f.notes.iter().any(|n| n == note), "{rule}: {:#?}", f.notes);
    }
    // The failure itself carries no such note.
    assert!(r
        .findings
        .iter()
        .filter(|f| f.rule == "second-run-error")
        .all(|f| !f.notes.iter().any(|n| n == note)));
}

#[test]
fn a_table_set_aside_is_not_written_between_runs() {
    // `ALTER TABLE sites RENAME TO sites_old; CREATE TABLE sites ...`: the
    // application writes to sites, never to the backup, so a second run that
    // drops the first run's backup loses nothing of it.
    let r = run("fixtures/replay/set-aside", &opts());
    assert!(!r
        .findings
        .iter()
        .any(|f| f.file.ends_with("002_sites_autoincrement.sql")
            && matches!(
                f.rule.as_str(),
                "second-run-data-loss" | "second-run-data-change"
            )));
    // The backup's shape is the rebuilt table's after a second run.
    assert!(has(
        &r,
        "second-run-schema-change",
        "002_sites_autoincrement.sql",
        3
    ));
    // Made again empty: the rows written to events are lost, and the old
    // rows with the backup the second run drops.
    assert!(has(&r, "second-run-data-loss", "003_events_reset.sql", 4));
    assert!(has(&r, "second-run-data-change", "003_events_reset.sql", 3));
    snapshot("set-aside", &r);
}

#[test]
fn virtual_tables_and_their_shadow_tables() {
    // A virtual table dropped and made again takes new places at the end of
    // the schema with its shadow tables (FTS5's notes_fts_data, ...): no
    // change, whatever comes before (a PRAGMA) or after it (an index).
    let r = run("fixtures/replay/virtual-tables", &opts());
    let schema = of_rule(&r, "second-run-schema-change");
    for clean in ["002_notes_search.sql", "003_fts4_and_rtree.sql"] {
        // (The PRAGMAs' notices aside.)
        assert!(
            !r.findings
                .iter()
                .any(|f| f.file.ends_with(clean) && f.rule != "replay-statement-skipped"),
            "{clean}: {:#?}",
            ids(&r)
        );
    }
    // A true change names the virtual table, not its shadow tables, at the
    // statement that made it.
    let drafts: Vec<_> = schema
        .iter()
        .filter(|f| f.file.ends_with("004_drafts_search.sql"))
        .collect();
    assert_eq!(drafts.len(), 1, "{:#?}", ids(&r));
    assert_eq!(drafts[0].line, 7);
    assert!(drafts[0]
        .message
        .ends_with("changes the schema: table drafts_fts_new added"));
    assert_eq!(
        drafts[0].evidence.as_ref().unwrap()["objects"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(!schema
        .iter()
        .any(|f| f.message.contains("_config") || f.notes.iter().any(|n| n.contains("_content"))));
    // Objects made where the dropped shadow tables were are seen.
    assert!(has(&r, "second-run-schema-change", "005_labels.sql", 6));
    assert!(has(&r, "second-run-schema-change", "005_labels.sql", 7));
    snapshot("virtual_tables", &r);
}

#[test]
fn a_failure_after_a_liquibase_changelog_of_change_types_names_it() {
    // The master changelog includes a YAML `createTable` between two SQL
    // files: replay runs without it, and the failure for want of its table
    // says so (not "a schema made elsewhere").
    let r = run("fixtures/replay/liquibase-change-types", &opts());
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "first-run-error" && f.file.ends_with("003-backfill-plans.sql"))
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    assert!(f
        .help
        .as_deref()
        .is_some_and(|h| h.starts_with("changelogs twice cannot run (Liquibase change types")));
    assert!(
        f.notes.iter().any(|n| n.contains(
            "(fixtures/replay/liquibase-change-types/db/changelog/changes/002-create-plans.yaml)"
        )),
        "{:#?}",
        f.notes
    );
    // The migration before the YAML changelog is not affected.
    assert!(!r
        .findings
        .iter()
        .any(|f| f.file.ends_with("001-accounts.sql") && f.rule == "first-run-error"));
    snapshot("liquibase-change-types", &r);
}

#[test]
fn a_column_a_down_adds_back_last_is_reverted() {
    // Dropped by the up and added again by the down, a column comes back
    // at the end of the table: not a difference. Another type is one.
    let r = with_downs("fixtures/replay/down-column-order", &opts());
    let not_reverted: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.rule == "down-does-not-revert")
        .collect();
    assert_eq!(not_reverted.len(), 1, "{not_reverted:#?}");
    assert!(not_reverted[0].file.ends_with("003_drop_name.down.sql"));
}

#[test]
fn a_down_the_server_cannot_parse_gets_the_syntax_help() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("1_t.up.sql"),
        "CREATE TABLE IF NOT EXISTS t (id INTEGER);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("1_t.down.sql"),
        "DROP TABLE IF EXISTS t WHERE;\n",
    )
    .unwrap();
    let r = run(dir.path().to_str().unwrap(), &opts());
    let f = r
        .findings
        .iter()
        .find(|f| f.file.ends_with("1_t.down.sql"))
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    assert!(
        f.help
            .as_deref()
            .is_some_and(|h| h.contains("cannot parse this statement")),
        "{f:#?}"
    );
}

#[test]
fn no_transaction_parts_replay_the_same() {
    let o = opts();
    let inputs = [Input::Path("fixtures/replay/transactions".into())];
    let mut ws = check::load(&inputs, &o).unwrap();
    let mut seq = ws.sequences.remove(0);
    let before = findings_of(&ws, &seq, &o);
    for m in &mut seq.migrations {
        m.up.no_transaction = true;
    }
    let after = findings_of(&ws, &seq, &o);
    assert!(!before.is_empty());
    assert_eq!(
        before.iter().map(|f| (&f.rule, f.line)).collect::<Vec<_>>(),
        after.iter().map(|f| (&f.rule, f.line)).collect::<Vec<_>>()
    );
}

fn findings_of(ws: &check::Workspace, seq: &twice::model::Sequence, o: &Options) -> Vec<Finding> {
    match replay::replay_sequence(ws, seq, o).unwrap() {
        Outcome::Replayed(f) => f,
        Outcome::Skipped(why) => panic!("skipped: {why}"),
        Outcome::Stopped { reason, .. } => panic!("stopped: {reason}"),
    }
}

#[test]
fn sandbox_refuses_files_and_extensions_and_limits_sizes() {
    let r = run("fixtures/replay/sandbox", &opts());
    assert!(
        has(&r, "replay-denied", "001_attach.sql", 1),
        "{:#?}",
        ids(&r)
    );
    assert!(has(&r, "replay-denied", "002_vacuum_into.sql", 1));
    assert!(has(&r, "replay-denied", "003_load_extension.sql", 1));
    assert!(has(&r, "replay-denied", "004_file_pragmas.sql", 1));
    assert!(has(&r, "replay-denied", "005_detach.sql", 1));
    // twice resets the schema with this pragma itself; a migration may not.
    assert!(has(&r, "replay-denied", "008_writable_schema_reset.sql", 2));
    assert!(has(&r, "replay-resource-limit", "006_big_blob.sql", 1));
    assert!(!r
        .findings
        .iter()
        .any(|f| f.file.ends_with("007_ignored_pragmas.sql")));
    for f in ["/tmp/twice-replay-attach.db", "/tmp/twice-replay-vacuum.db"] {
        assert!(!std::path::Path::new(f).exists(), "{f} was created");
    }
    snapshot("sandbox", &r);
}

#[test]
fn endless_statement_is_stopped_by_the_timeout() {
    let started = std::time::Instant::now();
    let r = run(
        "fixtures/replay/timeout",
        &Options {
            timeout: Duration::from_millis(500),
            ..opts()
        },
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        ids(&r),
        vec![(
            "replay-timeout".to_string(),
            "fixtures/replay/timeout/001_endless.sql".to_string(),
            2
        )]
    );
    assert!(r.findings[0].message.contains("500 ms") || r.findings[0].message.contains("0.5 s"));
}

/// A first run that runs out of time only among twice's synthetic rows (it
/// waits for a queue table to drain) is withdrawn and run again without them,
/// as a failing one is; one that runs away whatever the rows times out on the
/// retry too, under the same limit, and is reported.
#[test]
fn a_first_run_that_times_out_only_among_synthetic_rows_is_checked_without_them() {
    let o = Options {
        timeout: Duration::from_millis(500),
        ..opts()
    };
    let path = |f: &str| format!("fixtures/replay/seed-timeout/{f}");
    let started = std::time::Instant::now();
    let r = run("fixtures/replay/seed-timeout", &o);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        ids(&r),
        vec![
            (
                "replay-seed-withdrawn".into(),
                path("002_wait_for_queue.sql"),
                3
            ),
            ("replay-timeout".into(), path("003_endless.sql"), 3),
        ]
    );
    let withdrawn = &r.findings[0];
    assert!(
        withdrawn
            .message
            .contains("made the first run time out at line 3"),
        "{}",
        withdrawn.message
    );
    assert_eq!(withdrawn.evidence.as_ref().unwrap()["timed_out"], true);
    // Without synthetic rows: only the runaway.
    let bare = run(
        "fixtures/replay/seed-timeout",
        &Options {
            seed: false,
            interleave: false,
            ..o
        },
    );
    assert_eq!(
        ids(&bare),
        vec![("replay-timeout".into(), path("003_endless.sql"), 3)]
    );
}

#[test]
fn postgres_and_mysql_are_skipped_with_a_notice() {
    for (dialect, needle) in [
        (twice::dialect::Dialect::Postgres, "--engine postgres"),
        (twice::dialect::Dialect::Mysql, "MySQL"),
    ] {
        let r = check_paths(
            &["fixtures/replay/clean"],
            &Options {
                dialect: Some(dialect),
                ..opts()
            },
        );
        assert!(r.findings.iter().all(|f| f.source != Origin::Replay));
        assert_eq!(r.notices.len(), 1, "{:?}", r.notices);
        assert!(r.notices[0].contains(needle), "{}", r.notices[0]);
        assert!(r.summary.sequences[0].replay.starts_with("skipped"));
    }
}

#[test]
fn generic_dialect_replays() {
    let r = run(
        "fixtures/replay/on-conflict-no-key",
        &Options {
            dialect: Some(twice::dialect::Dialect::Generic),
            ..opts()
        },
    );
    assert_eq!(r.findings.len(), 1);
}

/// Loads a folder of `NNN_name.up.sql` / `NNN_name.down.sql` files and
/// pairs them (discovery pairs them itself when it detects the layout; the
/// plain layout read each file as an up migration).
fn with_downs(dir: &str, o: &Options) -> Report {
    let inputs = [Input::Path(dir.into())];
    let mut ws = check::load(&inputs, o).unwrap();
    let seq = &mut ws.sequences[0];
    let all = std::mem::take(&mut seq.migrations);
    let name = |m: &twice::model::Migration| ws.files[m.up.file].source.name.clone();
    for m in &all {
        let n = name(m);
        if let Some(stem) = n.strip_suffix(".up.sql") {
            let mut m = m.clone();
            if m.down.is_none() {
                m.down = all
                    .iter()
                    .find(|d| name(d) == format!("{stem}.down.sql"))
                    .map(|d| d.up.clone());
            }
            seq.migrations.push(m);
        }
    }
    let seq = ws.sequences[0].clone();
    let mut findings = findings_of(&ws, &seq, o);
    findings.sort_by(|a, b| (&a.file, a.line, &a.rule).cmp(&(&b.file, b.line, &b.rule)));
    Report {
        statements: ws
            .files
            .iter()
            .map(|f| f.statements.iter().map(|s| s.span.clone()).collect())
            .collect(),
        files: ws.files.into_iter().map(|f| f.source).collect(),
        findings,
        summary: Summary::default(),
        notices: Vec::new(),
        ..Report::default()
    }
}

/// A down SQLite refuses part-way through its DDL (`DROP COLUMN` of an
/// indexed column), after which the engine read the schema: SQLite 3.50 kept
/// the undone column in memory after the rollback, and the up's first run
/// failed with "duplicate column name". The down's failure is the only one.
#[test]
fn a_down_refused_part_way_leaves_no_false_first_run_failure() {
    let r = run("fixtures/replay/down-drop-indexed", &opts());
    let failures: Vec<(&str, &str, usize)> = r
        .findings
        .iter()
        .filter(|f| f.rule.ends_with("-error"))
        .map(|f| {
            (
                f.rule.as_str(),
                f.file.rsplit('/').next().unwrap_or(""),
                f.line,
            )
        })
        .collect();
    assert!(
        failures.contains(&("first-run-error", "2_archived.down.sql", 1)),
        "{failures:#?}"
    );
    // The up's second run fails on ADD COLUMN, as it should; its first run
    // does not.
    assert!(
        !failures.contains(&("first-run-error", "2_archived.up.sql", 2)),
        "{failures:#?}"
    );
    assert!(
        failures.contains(&("second-run-error", "2_archived.up.sql", 2)),
        "{failures:#?}"
    );
}

#[test]
fn down_migrations_are_checked() {
    let r = with_downs("fixtures/replay/downs", &opts());
    // 001: the down leaves the table behind and fails on its second run.
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "down-does-not-revert")
        .unwrap_or_else(|| panic!("{:#?}", ids(&r)));
    assert!(f.file.ends_with("001_tags.down.sql"));
    assert!(
        f.message.contains("table tags is left behind"),
        "{}",
        f.message
    );
    assert!(
        f.notes[0].contains("-CREATE TABLE tags (") || f.notes[0].contains("+CREATE TABLE tags (")
    );
    assert!(has(&r, "down-second-run-error", "001_tags.down.sql", 2));
    // 002: a good down.
    assert!(!r.findings.iter().any(|f| f.file.contains("002_notes.down")));
    // 003: DROP COLUMN fails on a second run; the up was restored after the
    // down checks, so 004 can use the column on its first run.
    assert!(has(&r, "down-second-run-error", "003_title.down.sql", 1));
    assert!(
        !r.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:#?}",
        ids(&r)
    );
    // 004: the down inserts a row again on its second run.
    assert!(
        has(&r, "down-second-run-change", "004_defaults.down.sql", 3),
        "{:#?}",
        ids(&r)
    );
    // Only 003 and 004 downs reverted the schema.
    assert_eq!(
        r.findings
            .iter()
            .filter(|f| f.rule == "down-does-not-revert")
            .count(),
        1,
        "{:#?}",
        r.findings
    );
    snapshot("downs", &r);

    // --no-down skips them.
    let r = with_downs(
        "fixtures/replay/downs",
        &Options {
            down: false,
            ..opts()
        },
    );
    assert!(
        !r.findings.iter().any(|f| f.rule.starts_with("down-")),
        "{:#?}",
        ids(&r)
    );
}

#[test]
fn several_statements_in_one_piece_run_one_by_one() {
    // A goose StatementBegin/End block holding several SQLite statements:
    // read as its statements, so errors point at the right one (the data
    // change at the INSERT itself).
    use twice::analysis::{analyze_regions, NoSubstitution};
    use twice::model::{LayoutKind, Migration, Part, Region, Sequence};
    use twice::source::SourceFile;
    let text = "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\nCREATE TABLE b (y);\n";
    let source = SourceFile::from_text("block.sql", text);
    let regions = vec![Region {
        range: 0..text.len(),
        single_statement: true,
    }];
    let mut statements = Vec::new();
    let idx = analyze_regions(
        &source,
        &regions,
        twice::dialect::Dialect::Sqlite,
        &NoSubstitution,
        &mut statements,
    );
    // The block is read as its three statements (the static rules see each).
    assert_eq!(statements.len(), 3);
    let ws = check::Workspace {
        files: vec![check::FileUnit {
            source,
            dialect: twice::dialect::Dialect::Sqlite,
            statements,
        }],
        sequences: Vec::new(),
        notices: Vec::new(),
        findings: Vec::new(),
        unresolved: Default::default(),
        foreign: Default::default(),
        created_in: Default::default(),
    };
    let seq = Sequence {
        root: "block.sql".into(),
        layout: LayoutKind::Script,
        layout_why: String::new(),
        dialect_why: String::new(),
        dialect: twice::dialect::Dialect::Sqlite,
        migrations: vec![Migration {
            version: String::new(),
            name: "block".into(),
            up: Part {
                file: 0,
                regions,
                statements: idx,
                no_transaction: false,
                tool_transaction: false,
            },
            down: None,
            rerun_note: None,
            apply_only: false,
            start_note: None,
            code_before: Vec::new(),
        }],
        code_gaps: Vec::new(),
        schemas: None,
        placeholders: None,
        unwrapped: None,
    };
    let f = findings_of(&ws, &seq, &opts());
    let got: Vec<(&str, usize)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        vec![
            ("second-run-error", 1),
            ("second-run-error", 3),
            ("second-run-data-change", 2)
        ]
    );
    assert!(f[1].message.contains("table b already exists"));
    let at: Vec<Option<usize>> = f.iter().map(|f| f.statement).collect();
    assert_eq!(at, [Some(0), Some(2), Some(1)]);
}

/// A table rebuild whose copy leaves a new NOT NULL column without a value
/// fails on any row: a `first-run-error` with its own help (it was an info,
/// `replay-seed-withdrawn`, blaming twice's synthetic rows), and the history
/// goes on from the run without them.
#[test]
fn a_copy_that_leaves_a_not_null_column_empty_fails_on_any_row() {
    let r = run("fixtures/replay/copy-omits-not-null", &opts());
    assert!(has(&r, "first-run-error", "002_item_pos.sql", 4));
    assert!(!r.findings.iter().any(|f| f.rule == "replay-seed-withdrawn"));
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "first-run-error")
        .unwrap();
    assert!(
        f.help
            .as_deref()
            .is_some_and(|h| h.starts_with("every row the query copies fails")),
        "{:?}",
        f.help
    );
    // On empty tables it runs.
    let r = run("fixtures/replay/copy-omits-not-null", &bare());
    assert!(!r.findings.iter().any(|f| f.rule == "first-run-error"));
}

/// `PRAGMA query_only = ON` and a tiny `max_page_count` made every later
/// write fail (the next migration's, blamed on it, and replay's own): they
/// are ignored, as the pragmas that raise limits are.
#[test]
fn connection_pragmas_that_refuse_writes_are_ignored() {
    let r = run("fixtures/replay/connection-pragmas", &opts());
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn sandbox_settings_are_in_place() {
    use rusqlite::config::DbConfig;
    use rusqlite::limits::Limit;
    use twice::replay::sqlite::{SandboxConfig, SqliteEngine};
    let e = SqliteEngine::open(&SandboxConfig::default()).unwrap();
    let c = e.connection();
    assert!(c.db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE).unwrap());
    assert!(!c
        .db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA)
        .unwrap());
    assert_eq!(c.limit(Limit::SQLITE_LIMIT_ATTACHED).unwrap(), 0);
    assert_eq!(c.limit(Limit::SQLITE_LIMIT_LENGTH).unwrap(), 64 << 20);
    let get = |p: &str| -> i64 {
        c.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(get("temp_store"), 2, "temporary data in memory");
    assert_eq!(get("foreign_keys"), 0, "stock SQLite default");
    // Defensive mode: even with the authorizer out of the way, SQL cannot
    // make the schema table writable.
    c.execute_batch("PRAGMA writable_schema = ON").ok();
    assert!(c
        .execute_batch("UPDATE sqlite_schema SET sql = 'x' WHERE 0")
        .is_err());
    // The database lives in memory only.
    let file: String = c
        .query_row(
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(file, "");
}

/// `(rule, file name, line)` of findings, sorted.
fn located(findings: &[Finding]) -> Vec<(String, String, usize)> {
    let mut v: Vec<(String, String, usize)> = findings
        .iter()
        .map(|f| {
            let name = f.file.rsplit('/').next().unwrap_or(&f.file).to_string();
            (f.rule.clone(), name, f.line)
        })
        .collect();
    v.sort();
    v
}

/// `apply_only` migrations (before `--since`/`--from`) are the starting
/// state: applied once, with no findings of their own, no second run and no
/// down checks; a failure to apply one is reported once, as such.
#[test]
fn apply_only_migrations_are_applied_once_as_the_starting_state() {
    let o = Options {
        dialect: Some(twice::dialect::Dialect::Sqlite),
        ..opts()
    };
    let ws = check::load(&[Input::Path("fixtures/shared/apply-only".into())], &o).unwrap();
    let seq = &ws.sequences[0];
    // Checked in full, 001 has findings of its own (up and down).
    let all = located(&findings_of(&ws, seq, &o));
    assert!(all.iter().any(|f| f.1 == "001_base.up.sql"), "{all:?}");
    assert!(all.iter().any(|f| f.1 == "001_base.down.sql"), "{all:?}");
    let mut seq = seq.clone();
    seq.migrations[0].apply_only = true;
    seq.migrations[1].apply_only = true;
    let f = findings_of(&ws, &seq, &o);
    let s = |x: &str| x.to_string();
    assert_eq!(
        located(&f),
        vec![
            (s("down-second-run-error"), s("003_teams.down.sql"), 1),
            (s("first-run-error"), s("002_broken.up.sql"), 2),
            (s("second-run-error"), s("003_teams.up.sql"), 2),
        ]
    );
    let broken = f.iter().find(|f| f.rule == "first-run-error").unwrap();
    assert!(
        broken
            .message
            .starts_with("migration applied as the starting state fails at line 2: "),
        "{}",
        broken.message
    );
}

/// Cascades: a migration whose first run fails takes what it would have
/// created and dropped with it; later migrations that fail for want of it
/// (a missing table, a missing column named with its table's alias) or
/// because it is still there (a column it would have dropped, added again)
/// are listed under that root once, not reported each on their own. A
/// failure with its own cause stays its own finding.
#[test]
fn first_run_failures_that_follow_from_an_earlier_one_are_listed_under_it() {
    let r = run("fixtures/shared/cascade", &opts());
    let found: Vec<(String, String, usize)> = located(&r.findings);
    let s = |x: &str| x.to_string();
    assert_eq!(
        found,
        vec![
            (s("first-run-error"), s("001_teams.sql"), 3),
            (s("first-run-error"), s("005_gone.sql"), 2),
            (s("first-run-error"), s("007_switch.sql"), 5),
        ]
    );
    let root = &r.findings[0];
    assert!(
        root.notes.iter().any(|n| n.starts_with(
            "2 later migrations fail because this one did: fixtures/shared/cascade/002_index.sql:1 ("
        )),
        "{:#?}",
        root.notes
    );
    let ev = root.evidence.as_ref().unwrap();
    let follow: Vec<(&str, i64)> = ev["follow_on"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["file"].as_str().unwrap(), e["line"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        follow,
        vec![
            ("fixtures/shared/cascade/002_index.sql", 1),
            ("fixtures/shared/cascade/003_size.sql", 2)
        ]
    );
    assert_eq!(
        r.findings[1].evidence.as_ref().unwrap()["follow_on"],
        serde_json::json!([])
    );
    let switch = r.findings[2].evidence.as_ref().unwrap();
    let follow: Vec<(&str, &str)> = switch["follow_on"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["file"].as_str().unwrap(), e["error"].as_str().unwrap()))
        .collect();
    assert_eq!(
        follow,
        vec![
            (
                "fixtures/shared/cascade/008_use_status.sql",
                "no such column: m.status"
            ),
            (
                "fixtures/shared/cascade/009_back_to_legacy.sql",
                "duplicate column name: legacy_code"
            )
        ]
    );
}

/// A history that starts from a schema made elsewhere: the first failure on
/// an object no migration creates says so (and how to give replay that
/// schema); later failures on such objects are listed under it, not each
/// reported.
#[test]
fn failures_on_objects_no_migration_creates_are_one_cause() {
    let r = run("fixtures/shared/baseline", &opts());
    let s = |x: &str| x.to_string();
    let errors: Vec<(String, String, usize)> = located(&r.findings)
        .into_iter()
        .filter(|(rule, _, _)| rule == "first-run-error")
        .collect();
    assert_eq!(
        errors,
        vec![(s("first-run-error"), s("001_nickname.sql"), 2)]
    );
    let root = r
        .findings
        .iter()
        .find(|f| f.rule == "first-run-error")
        .unwrap();
    assert!(
        root.help
            .as_deref()
            .unwrap_or_default()
            .starts_with("no migration of this history creates `accounts`"),
        "{:?}",
        root.help
    );
    assert!(
        root.notes.iter().any(|n| n.starts_with(
            "1 later migration fails for the same reason (on objects no migration of this history creates): fixtures/shared/baseline/002_sessions_index.sql:2 ("
        )),
        "{:#?}",
        root.notes
    );
}

/// The migration tool's bookkeeping table exists during replay, as the tool
/// creates it (golang-migrate: `schema_migrations`): a migration that alters
/// it applies, and only its real re-run problems are reported.
#[test]
fn the_tools_bookkeeping_table_exists_during_replay() {
    let r = run("fixtures/shared/bookkeeping", &opts());
    let s = |x: &str| x.to_string();
    assert_eq!(
        located(&r.findings),
        vec![
            (s("down-second-run-error"), s("002_track.down.sql"), 1),
            (s("second-run-error"), s("002_track.up.sql"), 3),
        ]
    );
    // Not reported as a change of the first migration.
    assert!(r
        .findings
        .iter()
        .all(|f| !f.message.contains("schema_migrations") || f.file.contains("002_")));
    // Every tool's table can be created on SQLite (PostgreSQL: see
    // tests/postgres.rs).
    use twice::replay::sqlite::{SandboxConfig, SqliteEngine};
    let e = SqliteEngine::open(&SandboxConfig::default()).unwrap();
    for l in twice::layout::registry() {
        let layout = l.kind();
        if let Some(sql) = l.bookkeeping_sql(twice::dialect::Dialect::Sqlite) {
            e.connection()
                .execute_batch(&format!("SAVEPOINT b; {sql}; ROLLBACK TO b; RELEASE b"))
                .unwrap_or_else(|err| panic!("{layout:?}: {err}"));
        }
    }
}

/// A setup script runs in the SQLite sandbox before the first migration
/// and is never audited; a statement the sandbox refuses stops the check
/// with the script's file and line.
#[test]
fn setup_script_runs_in_the_sqlite_sandbox() {
    use twice::replay::setup::SetupScript;
    let folder = "fixtures/replay_setup/migrations";
    let with = |script: &str| twice::check::Options {
        setup: vec![SetupScript {
            path: script.into(),
            sequence: Some(folder.into()),
            within: None,
        }],
        ..twice::check::Options::default()
    };
    let run = |opts: &twice::check::Options| {
        twice::check::check(&[twice::discover::Input::Path(folder.into())], opts)
    };
    let bare = run(&twice::check::Options::default()).unwrap();
    assert!(
        bare.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:#?}",
        bare.findings
    );
    let r = run(&with("fixtures/replay_setup/prereqs.sql")).unwrap();
    assert!(
        r.findings.iter().all(|f| f.rule != "first-run-error"),
        "{:#?}",
        r.findings
    );
    assert!(r.findings.iter().all(|f| !f.file.contains("prereqs")));
    // For another sequence only: not used here.
    let other = twice::check::Options {
        setup: vec![SetupScript {
            path: "fixtures/replay_setup/prereqs.sql".into(),
            sequence: Some("fixtures/replay".into()),
            within: None,
        }],
        ..twice::check::Options::default()
    };
    let r = run(&other).unwrap();
    assert!(r.findings.iter().any(|f| f.rule == "first-run-error"));
    let err = run(&with("fixtures/replay_setup/escape.sql")).expect_err("refused");
    assert!(
        err.message
            .contains("setup script fixtures/replay_setup/escape.sql:3:"),
        "{}",
        err.message
    );
    assert!(!std::path::Path::new("/tmp/twice-setup-escape.db").exists());
}

/// The setup script and the migration tool's bookkeeping table both exist
/// when the first migration runs (the script runs first, then twice creates
/// the table): the migration uses both and is clean; without the script it
/// fails (PostgreSQL: see tests/postgres.rs).
#[test]
fn setup_script_and_bookkeeping_table_are_both_there() {
    use twice::replay::setup::SetupScript;
    let folder = "fixtures/shared/setup-bookkeeping";
    let o = Options {
        dialect: Some(twice::dialect::Dialect::Sqlite),
        ..opts()
    };
    let without = replay_only(run(folder, &o));
    assert_eq!(without.summary.sequences[0].layout, "golang-migrate");
    assert_eq!(
        located(&without.findings),
        vec![(
            "first-run-error".to_string(),
            "001_things.up.sql".to_string(),
            4
        )],
        "{:#?}",
        without.findings
    );
    let with = Options {
        setup: vec![SetupScript {
            path: "fixtures/shared/setup_scripts/platform.sql".into(),
            sequence: None,
            within: None,
        }],
        ..o
    };
    let r = run(folder, &with);
    assert_eq!(r.summary.sequences[0].replay, "replayed");
    assert!(
        r.findings.iter().all(|f| f.source != Origin::Replay),
        "{:#?}",
        r.findings
    );
}

/// The write between the runs (issue #17): each destructive shape of
/// `fixtures/shared/rerun` is reported at the statement responsible, the safe
/// forms stay clean, and the static finding about the same statement is
/// linked as one problem.
#[test]
fn rows_written_between_the_runs_must_survive_the_second() {
    let r = run("fixtures/shared/rerun", &opts());
    let got: Vec<(String, String, usize)> = ids(&r)
        .into_iter()
        .map(|(rule, file, line)| (rule, file.rsplit('/').next().unwrap().to_string(), line))
        .collect();
    let want: Vec<(String, String, usize)> = [
        ("second-run-data-loss", "001_settings.sql", 2),
        ("second-run-data-loss", "002_plans.sql", 3),
        ("second-run-data-loss", "003_prices.sql", 4),
        ("second-run-data-loss", "005_reset.sql", 2),
        ("second-run-overwrites", "006_flags.sql", 4),
        ("second-run-overwrites", "011_flags_later.sql", 4),
    ]
    .iter()
    .map(|(r, f, l)| (r.to_string(), f.to_string(), *l))
    .collect();
    assert_eq!(got, want);
    let loss = &r.findings[0];
    assert_eq!(loss.severity, twice::finding::Severity::Error);
    let ev = loss.evidence.as_ref().unwrap();
    assert_eq!(ev["table"], "settings");
    assert_eq!(ev["lost"].as_array().unwrap().len(), 3);
    assert_eq!(ev["reverted"][0]["columns"][0], "value");
    assert_eq!(ev["reverted"][0]["after"]["value"], "dark");
    let warn = &r.findings[4];
    assert_eq!(warn.severity, twice::finding::Severity::Warning);
    assert!(warn.message.contains("`label`"), "{}", warn.message);
    snapshot("rerun", &r);

    // The static rule says the same about the same statements, and each
    // pair is one problem.
    let all = check_paths(&["fixtures/shared/rerun"], &opts());
    for (file, line) in [
        ("001_settings.sql", 2),
        ("002_plans.sql", 3),
        ("003_prices.sql", 4),
    ] {
        let at = |rule: &str| {
            all.findings
                .iter()
                .position(|f| f.rule == rule && f.file.ends_with(file) && f.line == line)
                .unwrap_or_else(|| panic!("{rule} at {file}:{line}"))
        };
        let (s, d) = (at("destructive-rerun"), at("second-run-data-loss"));
        assert_eq!(all.findings[s].related, vec![d], "{file}");
        assert_eq!(all.findings[d].related, vec![s], "{file}");
    }

    // Without the write between the runs: every migration here converges.
    let off = run(
        "fixtures/shared/rerun",
        &Options {
            interleave: false,
            ..opts()
        },
    );
    assert!(off.findings.is_empty(), "{:#?}", ids(&off));
}

/// `fixtures/shared/keyless`, a table without a key (the shared scenario set
/// of PostgreSQL and MySQL, where nothing but its values names a row): the
/// rows the write added that a backfill's second run recomputes are changed,
/// not lost; the rows a drop and re-create deletes are lost.
#[test]
fn rows_without_a_key_a_second_run_changes_are_not_lost() {
    let r = run("fixtures/shared/keyless", &opts());
    assert_eq!(
        located(&r.findings),
        vec![(
            "second-run-data-loss".to_string(),
            "003_channels.sql".to_string(),
            3
        )]
    );
}

/// A first run that calls a function SQLite does not have (one the
/// application registers with `sqlite3_create_function`, say): the help names
/// the function and says replay cannot run it, instead of blaming the order
/// of the files.
#[test]
fn a_function_the_application_registers_is_named_in_the_help() {
    let r = run("fixtures/shared/missing-function", &opts());
    assert_eq!(
        located(&r.findings)
            .into_iter()
            .filter(|(rule, ..)| rule == "first-run-error")
            .collect::<Vec<_>>(),
        vec![(
            "first-run-error".to_string(),
            "002_backfill.sql".to_string(),
            2
        )]
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "first-run-error")
        .unwrap();
    assert!(
        f.message.contains("no such function: normalize_handle"),
        "{}",
        f.message
    );
    let help = f.help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with("SQLite has no function `normalize_handle`, and SQL cannot create one"),
        "{help}"
    );
    assert!(!help.contains("order of the files"), "{help}");
}

/// A first run the engine cannot parse: the help names the engine and its
/// version, and what to do (the line is the one the error is on).
#[test]
fn a_statement_the_engine_cannot_parse_names_the_engine() {
    let r = run("fixtures/shared/syntax", &opts());
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "first-run-error")
        .unwrap_or_else(|| panic!("{:#?}", located(&r.findings)));
    assert!(
        f.file.ends_with("002_broken.sql") && f.line == 2,
        "{}:{}",
        f.file,
        f.line
    );
    let help = f.help.as_deref().unwrap_or_default();
    assert!(help.starts_with("SQLite 3."), "{help}");
    assert!(help.contains("cannot parse this statement"), "{help}");
}

/// The write between runs changes a value in a row a migration inserted
/// (`library`'s `state`), and puts it back once the second run is checked:
/// a later migration that reads that row sees it as the migrations left it,
/// so its own second-run failure is still found (harbor's quota migration
/// lost two `second-run-error`s to the kept change).
#[test]
fn the_write_between_runs_puts_back_the_migrations_own_rows() {
    let plain = Options {
        seed: false,
        interleave: false,
        ..opts()
    };
    for o in [opts(), plain] {
        let r = replay_only(run("fixtures/replay/interleave-puts-back", &o));
        assert_eq!(
            located(&r.findings),
            vec![
                (
                    "second-run-error".to_string(),
                    "001_projects.sql".to_string(),
                    1
                ),
                (
                    "second-run-error".to_string(),
                    "001_projects.sql".to_string(),
                    6
                ),
                (
                    "second-run-error".to_string(),
                    "002_quota.sql".to_string(),
                    2
                ),
            ],
            "seed {} interleave {}",
            o.seed,
            o.interleave
        );
    }
}

/// `DROP VIEW` of a view that no longer compiles (a function the
/// application registers, a table a rebuild dropped) converges: a view has
/// no rows for the second run's before-image, and twice's own capture
/// failing is never the statement's error (grocy's 15 second-run-errors).
#[test]
fn dropping_a_view_that_no_longer_compiles_is_no_second_run_error() {
    for o in [opts(), bare()] {
        let r = run("fixtures/replay/drop-broken-view", &o);
        assert!(
            r.findings.is_empty(),
            "seed {}: {:#?}",
            o.seed,
            located(&r.findings)
        );
    }
}

/// sqlite3 shell dot-commands (`.timeout 30000`, `.bail on`) between
/// statements are client directives: not glued to the next statement, not
/// replayed (pi-hole's migrations all failed on them).
#[test]
fn sqlite3_dot_commands_are_client_directives() {
    let r = check_paths(&["fixtures/replay/sqlite3-dot-commands"], &opts());
    assert!(
        r.findings.iter().all(|f| f.rule != "unparsed-statement"
            && f.rule != "first-run-error"
            && f.rule != "second-run-error"),
        "{:#?}",
        located(&r.findings)
    );
    assert_eq!(r.summary.sequences[0].replay, "replayed");
}

/// Tools that run each migration in a transaction of their own (sqlx, and
/// golang-migrate's SQLite drivers) make a migration's own `BEGIN` fail on
/// SQLite, which has no nested transactions; sqlx's `-- no-transaction`
/// migration may open its own.
#[test]
fn a_begin_inside_the_tools_transaction_fails_on_sqlite() {
    let r = check_paths(&["fixtures/replay/begin-inside-tool-transaction"], &opts());
    let failed: Vec<(String, usize)> = of_rule(&r, "first-run-error")
        .iter()
        .map(|f| {
            (
                f.file.rsplit('/').next().unwrap_or_default().to_string(),
                f.line,
            )
        })
        .collect();
    assert_eq!(
        failed,
        vec![
            ("2_pinned.up.sql".to_string(), 2),
            ("20240101000000_tags.sql".to_string(), 2)
        ],
        "{:#?}",
        located(&r.findings)
    );
    for f in of_rule(&r, "first-run-error") {
        let help = f.help.as_deref().unwrap_or_default();
        assert!(help.contains("no nested transactions"), "{help}");
    }
    // The plan says so too (it said "in no transaction" for golang-migrate).
    let ws = twice::check::load(
        &[twice::discover::Input::Path(
            "fixtures/replay/begin-inside-tool-transaction/golang-migrate".into(),
        )],
        &opts(),
    )
    .unwrap();
    let plan = twice::plan::build(&ws, &opts());
    assert!(plan.sequences[0]
        .migrations
        .iter()
        .all(|m| m.up.transaction && m.down.as_ref().is_some_and(|d| d.transaction)));
}

/// golang-migrate's SQLite drivers told not to wrap each file in a
/// transaction: by `NoTxWrap: true` in the module's Go code (not a vendored
/// package's), or as a folder whose every migration opens and commits its
/// own must be. Their own `BEGIN` then runs, and the plan says why.
#[test]
fn golang_migrate_sqlite_without_the_drivers_transaction() {
    let base = "fixtures/replay/no-tx-wrap";
    let r = check_paths(&[base], &opts());
    let failed: Vec<String> = of_rule(&r, "first-run-error")
        .iter()
        .map(|f| f.file.clone())
        .collect();
    assert_eq!(
        failed,
        vec![format!("{base}/vendored/migrations/2_pinned.up.sql")],
        "{:#?}",
        located(&r.findings)
    );
    let ws = twice::check::load(&[twice::discover::Input::Path(base.into())], &opts()).unwrap();
    let plan = twice::plan::build(&ws, &opts());
    let why: Vec<(&str, Option<&str>, bool)> = plan
        .sequences
        .iter()
        .map(|s| {
            (
                s.root.as_str(),
                s.unwrapped.as_deref(),
                s.migrations.iter().any(|m| m.up.transaction),
            )
        })
        .collect();
    assert_eq!(
        why,
        vec![
            (
                "fixtures/replay/no-tx-wrap/go-config/migrations",
                Some(
                    "`NoTxWrap: true` in fixtures/replay/no-tx-wrap/go-config/internal/db/migrate.go:14 \
                     turns off the SQLite driver's transaction around each file"
                ),
                false
            ),
            (
                "fixtures/replay/no-tx-wrap/own-transactions/migrations",
                Some(
                    "every up migration opens and commits its own transaction (BEGIN ... COMMIT), \
                     which it could not inside the SQLite driver's: the project must run them with \
                     `NoTxWrap: true` or `x-no-tx-wrap=true`"
                ),
                false
            ),
            ("fixtures/replay/no-tx-wrap/vendored/migrations", None, true),
        ]
    );
    let mut human = Vec::new();
    twice::plan::write_human(&plan, &mut human).unwrap();
    let human = String::from_utf8(human).unwrap();
    assert!(
        human.contains(
            "2_pinned.up.sql lines 1-4, 3 statements, in no transaction (the tool is told to open \
             none: see transactions above)"
        ),
        "{human}"
    );
    // The help of the failure left names both ways to say so.
    let help = of_rule(&r, "first-run-error")[0]
        .help
        .clone()
        .unwrap_or_default();
    assert!(
        help.contains("`NoTxWrap: true` in the SQLite driver's Config"),
        "{help}"
    );
}

/// Rows written between the runs point a column named like a reference
/// (`task_id`, no declared foreign key) at a row of that table, as an
/// application's would: an orphan cleanup (`WHERE task_id NOT IN (SELECT id
/// FROM tasks)`) deletes none of them, so no rows are lost (grocy 0124).
#[test]
fn rows_written_between_runs_are_no_orphans_of_an_undeclared_reference() {
    let no_seed = Options {
        seed: false,
        ..opts()
    };
    for o in [opts(), no_seed] {
        let r = run("fixtures/replay/orphan-cleanup", &o);
        assert!(
            of_rule(&r, "second-run-data-loss").is_empty(),
            "seed {}: {:#?}",
            o.seed,
            located(&r.findings)
        );
    }
}

/// Rows lost through a foreign key's `ON DELETE CASCADE` are put on the
/// statement that removes the parent rows (the `DROP TABLE`), not on the
/// child table's `CREATE TABLE IF NOT EXISTS` (whose help then advised the
/// `IF NOT EXISTS` it already has: flipt's segment tables).
#[test]
fn rows_lost_through_a_cascade_are_put_on_the_statement_that_drops_the_parent() {
    let r = replay_only(run("fixtures/replay/cascade-loss", &opts()));
    let loss: Vec<_> = located(&r.findings)
        .into_iter()
        .filter(|(rule, _, _)| rule == "second-run-data-loss")
        .collect();
    assert_eq!(
        loss,
        vec![(
            "second-run-data-loss".to_string(),
            "002_sessions.sql".to_string(),
            11
        )],
        "{:#?}",
        located(&r.findings)
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "second-run-data-loss")
        .unwrap();
    assert!(f.message.contains("`sessions`"), "{}", f.message);
    assert!(
        f.notes.iter().any(|n| n.contains("ON DELETE CASCADE")),
        "{:#?}",
        f.notes
    );
    // The help for a dropped table, not for the child's own statement.
    assert!(
        f.help
            .as_deref()
            .unwrap_or("")
            .starts_with("keep the table:"),
        "{:?}",
        f.help
    );
}

/// A down migration's second run goes on past its first failure, as an
/// up's does, and the changes found past it say that the tool stops there
/// (pocket-id's oauth2 down: the note was only on up migrations).
#[test]
fn a_down_s_changes_past_its_first_failure_say_where_the_tool_stops() {
    let r = replay_only(run("fixtures/replay/down-changes-past-failure", &opts()));
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "down-second-run-change")
        .unwrap_or_else(|| panic!("{:#?}", located(&r.findings)));
    assert_eq!((f.file.ends_with("0002_flag.down.sql"), f.line), (true, 5));
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("the second run failed first at line 4, where the tool stops")),
        "{:#?}",
        f.notes
    );
}

/// A down's second-run failure that confirms a static finding adds no help
/// of its own (a generic "use `IF EXISTS`" after SQLite's "has no DROP
/// COLUMN IF EXISTS" contradicted it), as an up's does not.
#[test]
fn a_confirmed_down_failure_keeps_the_static_help_alone() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twice"))
        .args(["check", "fixtures/replay/down-confirmed-help"])
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains("SQLite has no DROP COLUMN IF EXISTS"),
        "{human}"
    );
    assert!(
        human.contains("help: use `DROP TABLE IF EXISTS t`"),
        "{human}"
    );
    assert!(
        !human.contains("help: use `IF EXISTS`, or guard"),
        "{human}"
    );
    assert_eq!(
        human
            .matches("note: confirmed by replay: second run of the down migration fails")
            .count(),
        2,
        "{human}"
    );
}
