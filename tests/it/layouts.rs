//! Layouts: detection, ordering, up/down splitting and placeholders on the
//! fixture folders under `fixtures/layouts/`, and discovery's handling of
//! file-system trouble (symbolic link loops, unreadable and vanishing files,
//! non-UTF-8 names, paths given twice).

use crate::common;

use common::{check_paths, render, static_opts};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use twice::check::{self, Options, Workspace};
use twice::dialect::Dialect;
use twice::discover::Input;
use twice::model::LayoutKind;
use twice::render::Format;

fn load(paths: &[&str], opts: &Options) -> Workspace {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.into())).collect();
    check::load(&inputs, opts).unwrap_or_else(|e| panic!("load failed: {e}"))
}

/// The detected layouts, the ordered migrations (version, name, up file and
/// statement count, down), notices and discovery findings.
fn outline(ws: &Workspace) -> String {
    let mut s = String::new();
    for seq in &ws.sequences {
        writeln!(
            s,
            "sequence {} (layout {}, dialect {})",
            seq.root,
            seq.layout.name(),
            seq.dialect.name()
        )
        .unwrap();
        for m in &seq.migrations {
            let part = |p: &twice::model::Part| {
                format!(
                    "{} ({} statement{}{})",
                    ws.files[p.file].source.name,
                    p.statements.len(),
                    if p.statements.len() == 1 { "" } else { "s" },
                    if p.no_transaction {
                        ", no transaction"
                    } else {
                        ""
                    }
                )
            };
            writeln!(s, "  {} | {}", m.version, m.name).unwrap();
            writeln!(s, "    up:   {}", part(&m.up)).unwrap();
            match &m.down {
                Some(d) => writeln!(s, "    down: {}", part(d)).unwrap(),
                None => writeln!(s, "    down: -").unwrap(),
            }
            if let Some(n) = &m.rerun_note {
                writeln!(s, "    rerun: {n}").unwrap();
            }
        }
    }
    for n in &ws.notices {
        writeln!(s, "notice: {n}").unwrap();
    }
    for f in &ws.findings {
        writeln!(
            s,
            "finding: {}:{}:{} [{}] {}",
            f.file, f.line, f.column, f.rule, f.message
        )
        .unwrap();
    }
    s
}

/// The statement texts of every up (or down) part of a sequence, in order.
fn statements(ws: &Workspace, seq: usize, down: bool) -> Vec<String> {
    let mut out = Vec::new();
    for m in &ws.sequences[seq].migrations {
        let part = if down { m.down.as_ref() } else { Some(&m.up) };
        if let Some(p) = part {
            let unit = &ws.files[p.file];
            for &i in &p.statements {
                out.push(unit.statements[i].sql.clone());
            }
        }
    }
    out
}

fn versions(ws: &Workspace, seq: usize) -> Vec<String> {
    ws.sequences[seq]
        .migrations
        .iter()
        .map(|m| m.version.clone())
        .collect()
}

/// Snapshots the outline and the human and JSON output of the static check.
/// Checks `path` with `opts` and asserts it has no finding at all (a clean
/// fixture: every statement safe to run twice, in the tool's order).
fn assert_no_findings(path: &str, opts: &Options) {
    let report = check_paths(&[path], opts);
    assert!(report.findings.is_empty(), "{path}: {:#?}", report.findings);
}

/// The files of `report`'s findings of `rule`, in report order.
fn files_of<'r>(report: &'r twice::report::Report, rule: &str) -> Vec<&'r str> {
    report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.file.as_str())
        .collect()
}

fn snapshot_layout(name: &str, paths: &[&str], opts: &Options) {
    let ws = load(paths, opts);
    snapshot!(format!("{name}_outline"), outline(&ws));
    let report = check_paths(paths, opts);
    snapshot!(format!("{name}_human"), render(&report, Format::Human));
    snapshot!(format!("{name}_json"), render(&report, Format::Json));
}

#[test]
fn plain_natural_order() {
    let ws = load(&["fixtures/layouts/plain"], &static_opts());
    assert_eq!(ws.sequences[0].layout, LayoutKind::Plain);
    let names: Vec<&str> = ws.sequences[0]
        .migrations
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "1_create_users",
            "2_add_name",
            "9_create_posts",
            "10_add_title"
        ]
    );
    assert!(ws.notices.iter().any(|n| n.contains("README.md")));
    snapshot_layout("plain", &["fixtures/layouts/plain"], &static_opts());
}

#[test]
fn sqlx_numeric_order_and_reversible() {
    let ws = load(&["fixtures/layouts/sqlx"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, LayoutKind::Sqlx);
    assert_eq!(versions(&ws, 0), ["1", "2", "9", "10"]);
    assert!(seq.migrations[1].down.is_some());
    assert!(seq.migrations[3].up.no_transaction);
    // The down part never runs in the up sequence.
    assert!(!statements(&ws, 0, false)
        .iter()
        .any(|s| s.contains("DROP TABLE")));
    assert_eq!(statements(&ws, 0, true), ["DROP TABLE posts"]);
    snapshot_layout("sqlx", &["fixtures/layouts/sqlx"], &static_opts());
}

#[test]
fn golang_migrate_numeric_order() {
    let ws = load(&["fixtures/layouts/golang-migrate"], &static_opts());
    assert_eq!(ws.sequences[0].layout, LayoutKind::GolangMigrate);
    assert_eq!(versions(&ws, 0), ["1", "2", "9", "10"]);
    assert!(ws.sequences[0].migrations.iter().all(|m| m.down.is_some()));
    assert!(ws.notices.iter().any(|n| n.contains(".keep")));
    snapshot_layout(
        "golang_migrate",
        &["fixtures/layouts/golang-migrate"],
        &static_opts(),
    );
}

#[test]
fn diesel_found_from_the_crate_root() {
    let ws = load(&["fixtures/layouts/diesel"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, LayoutKind::Diesel);
    assert_eq!(seq.root, "fixtures/layouts/diesel/migrations");
    assert_eq!(
        versions(&ws, 0),
        ["00000000000000", "20240101000000", "20240102000000"]
    );
    assert!(seq.migrations[2].up.no_transaction);
    snapshot_layout("diesel", &["fixtures/layouts/diesel"], &static_opts());
}

#[test]
fn flyway_versions_repeatables_and_undo() {
    let ws = load(&["fixtures/layouts/flyway"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, LayoutKind::Flyway);
    assert_eq!(
        versions(&ws, 0),
        [
            "1",
            "1.1",
            "1.9",
            "1.10",
            "2",
            "2.1",
            "R",
            "R",
            "afterMigrate"
        ]
    );
    let names: Vec<&str> = seq.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names[6..8], ["a_report", "customer_view"]);
    assert!(
        seq.migrations[3].down.is_some(),
        "U1.10 is the down of V1.10"
    );
    assert!(seq.migrations[5].up.no_transaction, "V2.1__x.sql.conf");
    assert!(seq.migrations[7].rerun_note.is_some());
    assert!(seq.migrations[8]
        .rerun_note
        .as_deref()
        .unwrap()
        .contains("callback"));
    // ${flyway:defaultSchema} is a built-in.
    assert!(statements(&ws, 0, false)[0].starts_with("CREATE TABLE main.customers"));
    assert!(ws.findings.is_empty(), "{:?}", ws.findings);
    snapshot_layout("flyway", &["fixtures/layouts/flyway"], &static_opts());
}

/// sqlc's query files and Atlas's desired schema are not migrations: the
/// files `sqlc.yaml` (`queries`) and `atlas.hcl` (`src`) name, and query
/// files known by sqlc's `-- name: X :one` comments, are left out of a
/// walked folder with a notice; named on the command line they are read.
#[test]
fn sqlc_queries_and_atlas_desired_schema_are_not_migrations() {
    let ws = load(&["fixtures/layouts/sqlc-atlas"], &static_opts());
    // schema/ is imported by the desired schema (`-- atlas:import schema/`).
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("db/postgres/schema/types.sql: skipped: Atlas's desired schema")));
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        [
            "fixtures/layouts/sqlc-atlas/db/postgres/migrations",
            "fixtures/layouts/sqlc-atlas/db/reports"
        ]
    );
    let named = load(
        &["fixtures/layouts/sqlc-atlas/db/postgres/query.sql"],
        &static_opts(),
    );
    assert_eq!(named.sequences.len(), 1);
    snapshot_layout(
        "sqlc_atlas",
        &["fixtures/layouts/sqlc-atlas"],
        &static_opts(),
    );
}

#[test]
fn dbmate_sections() {
    let ws = load(&["fixtures/layouts/dbmate"], &static_opts());
    // db/ holds dbmate's schema dump (skipped with a notice), db/migrations
    // the dbmate history.
    assert_eq!(ws.sequences.len(), 1);
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("db/schema.sql: skipped: a schema dump")));
    let named = load(&["fixtures/layouts/dbmate/db/schema.sql"], &static_opts());
    assert_eq!(named.sequences.len(), 1);
    let i = ws
        .sequences
        .iter()
        .position(|s| s.layout == LayoutKind::Dbmate)
        .unwrap();
    let ups = statements(&ws, i, false);
    assert_eq!(ups.len(), 4);
    assert!(ups.iter().all(|s| !s.starts_with("DROP")), "{ups:?}");
    assert_eq!(statements(&ws, i, true).len(), 3);
    assert!(ws.sequences[i].migrations[1].up.no_transaction);
    assert!(ws
        .findings
        .iter()
        .any(|f| f.rule == "malformed-migration" && f.message.contains("migrate:down")));
    snapshot_layout("dbmate", &["fixtures/layouts/dbmate"], &static_opts());
}

#[test]
fn goose_sections_and_statement_blocks() {
    let ws = load(&["fixtures/layouts/goose"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, LayoutKind::Goose);
    assert_eq!(versions(&ws, 0), ["1", "2", "9", "10", "11"]);
    let ups = statements(&ws, 0, false);
    // The trigger with inner `;` is one statement.
    let trigger = ups.iter().find(|s| s.contains("TRIGGER")).unwrap();
    assert!(trigger.contains("SELECT 1;") && trigger.trim_end().ends_with("END"));
    assert!(!ups.iter().any(|s| s.starts_with("DROP")));
    assert!(seq.migrations[3].up.no_transaction);
    assert!(ws.notices.iter().any(|n| n.contains("3_go_migration.go")));
    assert!(ws
        .findings
        .iter()
        .any(|f| f.file.ends_with("11_no_annotation.sql") && f.rule == "malformed-migration"));
    snapshot_layout("goose", &["fixtures/layouts/goose"], &static_opts());
}

#[test]
fn pop_dialect_files_replace_generic_ones() {
    let ws = load(&["fixtures/layouts/pop"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, LayoutKind::Pop);
    assert_eq!(seq.migrations.len(), 2);
    assert!(ws.files[seq.migrations[0].up.file]
        .source
        .name
        .ends_with("20200101000000_identities.sqlite3.up.sql"));
    assert!(seq.migrations[1].up.no_transaction);
    assert!(ws.notices.iter().any(|n| n.contains(".fizz")));
    snapshot_layout("pop", &["fixtures/layouts/pop"], &static_opts());

    let pg = Options {
        dialect: Some(Dialect::Postgres),
        ..static_opts()
    };
    let ws = load(&["fixtures/layouts/pop"], &pg);
    assert!(ws.files[ws.sequences[0].migrations[0].up.file]
        .source
        .name
        .ends_with("20200101000000_identities.postgres.up.sql"));
}

/// pop renders its SQL migrations as Go templates: a migration with
/// `{{ ... }}` actions (up or down) is not replayed, one notice names them
/// all, and the static rules still read the files (supabase/auth: 70 such
/// migrations were 70 false first-run errors).
#[test]
fn pop_template_migrations_are_not_replayed() {
    let ws = load(&["fixtures/layouts/pop-templates"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let versions: Vec<&str> = ws.sequences[0]
        .migrations
        .iter()
        .map(|m| m.version.as_str())
        .collect();
    assert_eq!(versions, ["20210301000000"]);
    assert_eq!(ws.files.len(), 4);
    snapshot_layout(
        "pop_templates",
        &["fixtures/layouts/pop-templates"],
        &static_opts(),
    );
}

/// Release folders (`0.9/`, `0.10/`, memos' `store/migration/<driver>/`):
/// one sequence, releases in version order (0.9 before 0.10), files by name
/// within a release; the full schema beside them (`LATEST.sql`) is not on
/// the upgrade path.
#[test]
fn version_folders_are_one_sequence_in_release_order() {
    let ws = load(&["fixtures/layouts/version-folders"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.sequences[0].layout.name(), "version-folders");
    assert_eq!(
        versions(&ws, 0),
        [
            "0.9/00__memo",
            "0.9/01__welcome",
            "0.10/00__memo_pinned",
            "0.11/00__pinned_index"
        ]
    );
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("LATEST.sql: skipped: not in a release folder")));
    snapshot_layout(
        "version_folders",
        &["fixtures/layouts/version-folders"],
        &static_opts(),
    );
    assert_no_findings("fixtures/layouts/version-folders-clean", &static_opts());
}

/// sqlx migrations kept inside a crate's sources (`sqlx::migrate!(
/// "src/db/migrations")`, as tensorzero's crates do): the crate's
/// `Cargo.toml` above, which depends on sqlx, makes the folder sqlx's, and
/// its feature the dialect.
#[test]
fn sqlx_migrations_nested_in_a_crate() {
    let ws = load(&["fixtures/layouts/sqlx-nested"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout.name(), "sqlx");
    assert_eq!(
        seq.layout_why,
        "<version>_<name>.sql names in a crate that depends on sqlx"
    );
    assert_eq!(seq.dialect, twice::dialect::Dialect::Postgres);
    assert_eq!(versions(&ws, 0), ["20240101000000", "20240102000000"]);
}

/// A golang-migrate folder of a Go module (stash's `pkg/sqlite/migrations`):
/// a file with a doubled dot before its extension (`3_x.up..sql`) is an up,
/// as the library's pattern reads it (it was read as a `<version>_<name>.sql`
/// beside the pairs, which made the folder sqlx's).
#[test]
fn golang_migrate_in_a_go_module_reads_names_as_the_library() {
    let ws = load(
        &["fixtures/layouts/golang-migrate-go-module"],
        &static_opts(),
    );
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.sequences[0].layout.name(), "golang-migrate");
    assert_eq!(versions(&ws, 0), ["1", "2", "3"]);
    snapshot_layout(
        "golang_migrate_go_module",
        &["fixtures/layouts/golang-migrate-go-module"],
        &static_opts(),
    );
}

/// Files named for a database (`schema-mysql.sql`, `derby-schema.sql`): the
/// ones for a database twice does not read (H2, Derby) are left out, a
/// second file for one dialect (`schema-mariadb.sql` beside
/// `schema-mysql.sql`) too, and each database twice reads is a sequence;
/// files naming none (`2.1.0-upgrade.sql`) are in each.
#[test]
fn files_named_for_databases_twice_does_not_read_are_left_out() {
    let ws = load(&["fixtures/layouts/plain-platforms"], &static_opts());
    let seqs: Vec<(String, String, Vec<String>)> = ws
        .sequences
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.root.clone(),
                s.dialect.name().to_string(),
                versions(&ws, i).iter().map(|v| v.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        seqs,
        [
            (
                "fixtures/layouts/plain-platforms/server".to_string(),
                "mysql".to_string(),
                vec!["2".to_string(), "mysql-schema".to_string()]
            ),
            (
                "fixtures/layouts/plain-platforms/spring".to_string(),
                "mysql".to_string(),
                vec!["schema-mysql".to_string()]
            ),
            (
                "fixtures/layouts/plain-platforms/spring".to_string(),
                "postgres".to_string(),
                vec!["schema-postgresql".to_string()]
            ),
        ]
    );
    for (file, why) in [
        (
            "server/derby-schema.sql",
            "written for Apache Derby (its name), which twice does not read",
        ),
        (
            "spring/schema-h2.sql",
            "written for H2 (its name), which twice does not read",
        ),
        (
            "spring/schema-mariadb.sql",
            "written for mariadb, an alternative to schema-mysql.sql for mysql",
        ),
    ] {
        let notice = format!("fixtures/layouts/plain-platforms/{file}: skipped: {why}");
        assert!(
            ws.notices.iter().any(|n| n == &notice),
            "{notice}\n{:#?}",
            ws.notices
        );
    }
    snapshot_layout(
        "plain_platforms",
        &["fixtures/layouts/plain-platforms"],
        &static_opts(),
    );
}

/// Release folders named as development builds report their version
/// (`0.1.0-beta.2.dev/`, `0.1.1-dev/`, as promscale's `versions/dev/`):
/// semantic version order, a pre-release before its release.
#[test]
fn version_folders_with_pre_releases_are_in_semantic_version_order() {
    let ws = load(
        &["fixtures/layouts/version-folders-prerelease"],
        &static_opts(),
    );
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.sequences[0].layout.name(), "version-folders");
    assert_eq!(
        versions(&ws, 0),
        [
            "0.1.0-beta.2.dev/1-create_labels",
            "0.1.0/1-default_label",
            "0.1.1-dev/1-label_colour",
            "0.2.0-dev/1-label_index",
            "0.10.0-dev/1-label_rank"
        ]
    );
    snapshot_layout(
        "version_folders_prerelease",
        &["fixtures/layouts/version-folders-prerelease"],
        &static_opts(),
    );
}

/// A `tests/` folder inside a migrations folder (supabase/postgres keeps
/// `migrations/db/` and `migrations/tests/`) holds tests, not migrations.
#[test]
fn tests_inside_a_migrations_folder_are_not_migrations() {
    let ws = load(&["fixtures/layouts/tests-in-migrations"], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        ["fixtures/layouts/tests-in-migrations/migrations/db"]
    );
    assert!(
        ws.notices.iter().any(|n| n
            == "fixtures/layouts/tests-in-migrations/migrations/tests: skipped: tests beside or in the migrations folder (pgTAP and the like), not migrations (name it to check it)"),
        "{:#?}",
        ws.notices
    );
}

/// A pop folder whose dialect files name PostgreSQL (and CockroachDB) but no
/// sqlite3 is checked as PostgreSQL: on SQLite only its generic files would
/// run.
#[test]
fn pop_without_sqlite_files_takes_the_dialect_its_files_name() {
    let ws = load(&["fixtures/layouts/pop-postgres"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.sequences[0].dialect, twice::dialect::Dialect::Postgres);
    assert_eq!(ws.sequences[0].migrations.len(), 2);
    snapshot_layout(
        "pop_postgres",
        &["fixtures/layouts/pop-postgres"],
        &static_opts(),
    );
}

/// A changelog that includes only changelogs of Liquibase change types
/// (XML): the notice names what it includes; its SQL files are read on their
/// own, and without `dbms` filters their dialect comes from the SQL's signs
/// (was: SQLite, whatever the SQL).
#[test]
fn liquibase_changelog_of_xml_changes_and_sql_read_on_its_own() {
    let ws = load(&["fixtures/layouts/liquibase-xml-changes"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.sequences[0].dialect, twice::dialect::Dialect::Mysql);
    assert!(
        ws.notices.iter().any(|n| n.contains(
            "Liquibase changelog changelog.xml: it includes changes/ but none of this folder's SQL files"
        )),
        "{:#?}",
        ws.notices
    );
    snapshot_layout(
        "liquibase_xml_changes",
        &["fixtures/layouts/liquibase-xml-changes"],
        &static_opts(),
    );
}

/// A folder whose Liquibase changelogs hold only Liquibase's change types
/// (`createTable`) has no SQL to check: the notice says why and what to
/// run to get the SQL, instead of only that nothing was found.
#[test]
fn liquibase_changelogs_without_sql_are_named() {
    let ws = load(&["fixtures/layouts/liquibase-xml-only"], &static_opts());
    assert!(ws.sequences.is_empty());
    assert!(
        ws.notices.iter().any(|n| n.starts_with(
            "fixtures/layouts/liquibase-xml-only: no SQL migrations found in this folder: its \
             Liquibase changelogs (fixtures/layouts/liquibase-xml-only/src/main/resources/db/\
             changelog/db.changelog-master.xml) hold changesets of Liquibase's change types"
        ) && n.contains("`liquibase update-sql`")),
        "{:#?}",
        ws.notices
    );
}

#[test]
fn liquibase_changesets_and_rollbacks() {
    let ws = load(&["fixtures/layouts/liquibase"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, LayoutKind::Liquibase);
    assert_eq!(
        versions(&ws, 0),
        [
            "alice:create-people",
            "alice:people-view",
            "bob:audit-trigger",
            "carol:seed",
            "carol:multi-line-rollback"
        ]
    );
    assert!(seq.migrations[1].rerun_note.is_some());
    assert!(seq.migrations[3].rerun_note.is_some());
    // Rollback regions point into the comment text after `--rollback `.
    let m = &seq.migrations[0];
    let unit = &ws.files[m.up.file];
    let down = m.down.as_ref().unwrap();
    let first = &unit.statements[down.statements[0]];
    assert_eq!(unit.source.line_col(first.span.start), (7, 12));
    assert_eq!(first.sql, "DROP INDEX people_name");
    assert!(ws.notices.iter().any(|n| n.contains("master.xml")));
    assert!(ws.notices.iter().any(|n| n.contains("dbms")));
    // Two `--rollback` lines joined into one statement, as Liquibase does.
    let m = &seq.migrations[4];
    let unit = &ws.files[m.up.file];
    let down = m.down.as_ref().unwrap();
    assert_eq!(down.statements.len(), 1);
    let joined = &unit.statements[down.statements[0]];
    assert_eq!(joined.sql, "ALTER TABLE people\nDROP COLUMN age");
    assert_eq!(unit.source.line_col(joined.span.start), (9, 12));
    assert!(joined.ast().is_some());
    snapshot_layout("liquibase", &["fixtures/layouts/liquibase"], &static_opts());
}

#[test]
fn rerun_notes_reach_findings() {
    let report = check_paths(&["fixtures/layouts/flyway"], &static_opts());
    let ws = load(&["fixtures/layouts/flyway"], &static_opts());
    // Whatever the static rules say about the repeatable's statements, each
    // finding on them carries the note.
    let repeatable = &ws.sequences[0].migrations[7];
    let name = &ws.files[repeatable.up.file].source.name;
    for f in report.findings.iter().filter(|f| &f.file == name) {
        assert!(f.notes.iter().any(|n| n.contains("repeatable")), "{f:?}");
    }
}

#[test]
fn mixed_dialect_folders_are_separate_sequences() {
    let ws = load(&["fixtures/layouts/mixed"], &static_opts());
    let seqs: Vec<(String, Dialect)> = ws
        .sequences
        .iter()
        .map(|s| (s.root.clone(), s.dialect))
        .collect();
    assert_eq!(
        seqs,
        [
            (
                "fixtures/layouts/mixed/postgres".to_string(),
                Dialect::Postgres
            ),
            ("fixtures/layouts/mixed/sqlite".to_string(), Dialect::Sqlite),
        ]
    );
    // The function body with inner `;` is split the Postgres way.
    assert_eq!(statements(&ws, 0, false).len(), 2);
    let forced = Options {
        dialect: Some(Dialect::Mysql),
        ..static_opts()
    };
    let ws = load(&["fixtures/layouts/mixed"], &forced);
    assert!(ws.sequences.iter().all(|s| s.dialect == Dialect::Mysql));
    snapshot_layout("mixed", &["fixtures/layouts/mixed"], &static_opts());
}

#[test]
fn prisma_folders_and_lock_file() {
    let ws = load(&["fixtures/layouts/prisma-shaped"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::prisma::KIND);
    assert_eq!(seq.root, "fixtures/layouts/prisma-shaped/migrations");
    assert_eq!(versions(&ws, 0), ["20210101000000", "20210102000000"]);
    // The lock file is read (for the dialect), not skipped.
    assert!(!ws.notices.iter().any(|n| n.contains("migration_lock.toml")));
    assert!(seq.dialect_why.contains("provider = \"sqlite\""));
    // The dialect comes from migration_lock.toml, not from the SQL.
    let ws = load(&["fixtures/layouts/prisma-clean"], &static_opts());
    assert_eq!(ws.sequences[0].dialect, Dialect::Postgres);
    assert_eq!(
        ws.sequences[0].dialect_why,
        "migration_lock.toml: provider = \"postgresql\""
    );
    assert_no_findings("fixtures/layouts/prisma-clean", &static_opts());
    snapshot_layout(
        "prisma_shaped",
        &["fixtures/layouts/prisma-shaped"],
        &static_opts(),
    );
}

#[test]
fn irreversible_down_migrations_are_read_as_down_parts() {
    // Replay decides whether the downs revert; discovery pairs them.
    let ws = load(&["fixtures/layouts/irreversible"], &static_opts());
    assert_eq!(ws.sequences[0].layout, LayoutKind::GolangMigrate);
    assert_eq!(
        statements(&ws, 0, true),
        [
            "DROP INDEX sessions_token",
            "ALTER TABLE sessions DROP COLUMN expires"
        ]
    );
    snapshot_layout(
        "irreversible",
        &["fixtures/layouts/irreversible"],
        &static_opts(),
    );
}

#[test]
fn layout_override() {
    let opts = Options {
        layout: Some(LayoutKind::Plain),
        ..static_opts()
    };
    let ws = load(&["fixtures/layouts/flyway"], &opts);
    assert_eq!(ws.sequences[0].layout, LayoutKind::Plain);
    // Plain knows no repeatables nor undo files: natural order of names,
    // and the sub-folder is a sequence of its own.
    assert_eq!(ws.sequences[0].migrations[0].name, "afterMigrate");
    assert_eq!(ws.sequences.len(), 2);
}

#[test]
fn placeholders_without_defines() {
    let ws = load(&["fixtures/layouts/placeholders"], &static_opts());
    let names: Vec<String> = ws
        .findings
        .iter()
        .filter(|f| f.rule == "undefined-placeholder")
        .map(|f| format!("{}:{} {}", f.line, f.column, f.message))
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names[0].starts_with("1:14 placeholder `${schema}`"));
    assert!(names[1].starts_with("1:78 placeholder `${owner}`"));
    assert!(names[2].starts_with("4:34 placeholder `${code_length}`"));
    // `${schema}` in code: neutral identifier, still parsed.
    let sql = statements(&ws, 0, false);
    assert!(sql[0].starts_with("CREATE TABLE \"schema\".accounts"));
    assert!(sql[1].contains("INSERT INTO main.accounts (owner) VALUES ('twice')"));
    assert_eq!(ws.unresolved.len(), 2);
    snapshot_layout(
        "placeholders_undefined",
        &["fixtures/layouts/placeholders"],
        &static_opts(),
    );
}

#[test]
fn placeholders_with_defines() {
    let mut opts = static_opts();
    for (k, v) in [("schema", "main"), ("owner", "bob"), ("code_length", "8")] {
        opts.defines.insert(k.into(), v.into());
    }
    let ws = load(&["fixtures/layouts/placeholders"], &opts);
    assert!(ws.findings.is_empty(), "{:?}", ws.findings);
    assert!(ws.unresolved.is_empty());
    let sql = statements(&ws, 0, false);
    assert_eq!(
        sql[0],
        "CREATE TABLE main.accounts (id INTEGER PRIMARY KEY, owner TEXT DEFAULT 'bob')"
    );
    assert_eq!(sql[2], "CREATE TABLE codes (code VARCHAR(8))");
    // Spans stay on the original text.
    let unit = &ws.files[0];
    assert_eq!(
        unit.statements[2].text(&unit.source),
        "CREATE TABLE codes (code VARCHAR(${code_length}))"
    );
    assert!(unit.statements.iter().all(|s| s.ast().is_some()));
    snapshot_layout(
        "placeholders_defined",
        &["fixtures/layouts/placeholders"],
        &opts,
    );
}

#[test]
fn goose_envsub_sections() {
    let ws = load(&["fixtures/layouts/goose-envsub"], &static_opts());
    let undefined: Vec<(usize, String)> = ws
        .findings
        .iter()
        .map(|f| {
            (
                f.line,
                f.message.split('`').nth(1).unwrap_or("").to_string(),
            )
        })
        .collect();
    // ENVSUB ON: flagged in code and strings; `${X:-default}` has a value;
    // after ENVSUB OFF a string is data; the down section is code.
    assert_eq!(
        undefined,
        [
            (3, "${TABLE_PREFIX}".to_string()),
            (4, "${TABLE_PREFIX}".to_string()),
            (4, "${ADMIN_ROLE}".to_string()),
            (10, "${TABLE_PREFIX}".to_string()),
        ]
    );
    let mut opts = static_opts();
    opts.defines.insert("TABLE_PREFIX".into(), "app".into());
    opts.defines.insert("ADMIN_ROLE".into(), "admin".into());
    let ws = load(&["fixtures/layouts/goose-envsub"], &opts);
    assert!(ws.findings.is_empty(), "{:?}", ws.findings);
    let sql = statements(&ws, 0, false);
    assert_eq!(
        sql[0],
        "CREATE TABLE IF NOT EXISTS app_roles (name TEXT DEFAULT 'reader')"
    );
    assert_eq!(
        sql[2],
        "INSERT OR IGNORE INTO audit_log (msg) VALUES ('literal ${NOT_A_PLACEHOLDER}')"
    );
}

#[test]
fn layout_option_applies_to_named_files() {
    let opts = Options {
        layout: Some(LayoutKind::Dbmate),
        ..static_opts()
    };
    let ws = load(&["fixtures/layouts/plain/1_create_users.sql"], &opts);
    assert_eq!(ws.sequences[0].layout, LayoutKind::Dbmate);
    assert!(ws.findings.iter().any(|f| f.rule == "malformed-migration"));
}

#[test]
fn named_files_follow_their_layout() {
    // Shell globs name the files of one folder: one sequence in layout order.
    let ws = load(
        &[
            "fixtures/layouts/golang-migrate/10_index_ledger.up.sql",
            "fixtures/layouts/golang-migrate/9_create_ledger.up.sql",
            "fixtures/layouts/golang-migrate/9_create_ledger.down.sql",
        ],
        &static_opts(),
    );
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.sequences[0].layout, LayoutKind::GolangMigrate);
    assert_eq!(versions(&ws, 0), ["9", "10"]);
    // A dbmate file named alone keeps its down section out of the up part.
    let ws = load(
        &["fixtures/layouts/dbmate/db/migrations/20240101000000_create_users.sql"],
        &static_opts(),
    );
    assert_eq!(ws.sequences[0].layout, LayoutKind::Dbmate);
    assert!(statements(&ws, 0, false)
        .iter()
        .all(|s| !s.starts_with("DROP")));
    // A single unclaimed file is a script; a non-.sql file named is read.
    let ws = load(&["fixtures/layouts/plain/README.md"], &static_opts());
    assert_eq!(ws.sequences[0].layout, LayoutKind::Script);
    assert_eq!(ws.files.len(), 1);
}

// ---------------------------------------------------------------- file system

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn load_abs(paths: &[&Path], opts: &Options) -> twice::error::Result<Workspace> {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.to_path_buf())).collect();
    check::load(&inputs, opts)
}

/// A folder reached twice (a symbolic link to it sorts first): the notice
/// names the path it was read at, not "one already read".
#[cfg(unix)]
#[test]
fn a_folder_reached_twice_names_where_it_was_read() {
    let d = tmp();
    write(d.path(), "b/m/1_a.sql", "CREATE TABLE a(x);");
    std::fs::create_dir_all(d.path().join("a")).unwrap();
    std::os::unix::fs::symlink("../b/m", d.path().join("a/m")).unwrap();
    let ws = load_abs(&[d.path()], &static_opts()).unwrap();
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("b/m: same folder as ")
                && n.contains("a/m, already read; read once")),
        "{:#?}",
        ws.notices
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_notices() {
    let d = tmp();
    write(d.path(), "m/1_a.sql", "CREATE TABLE a(x);");
    std::os::unix::fs::symlink(d.path().join("m"), d.path().join("m/loop")).unwrap();
    std::os::unix::fs::symlink("self.sql", d.path().join("m/self.sql")).unwrap();
    let ws = load_abs(&[d.path()], &static_opts()).unwrap();
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.files.len(), 1);
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("m/loop") && n.contains("loop")),
        "{:?}",
        ws.notices
    );
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("self.sql") && n.contains("loop")),
        "{:?}",
        ws.notices
    );
}

#[cfg(unix)]
#[test]
fn dangling_sql_link_is_an_error() {
    let d = tmp();
    write(d.path(), "1_a.sql", "SELECT 1;");
    std::os::unix::fs::symlink("gone.sql", d.path().join("2_b.sql")).unwrap();
    let e = load_abs(&[d.path()], &static_opts()).unwrap_err();
    assert!(
        e.message.contains("2_b.sql") && e.message.contains("broken symbolic link"),
        "{e}"
    );
}

#[test]
fn missing_named_path_is_an_error_naming_it() {
    let e = check::load(
        &[Input::Path("fixtures/layouts/nope".into())],
        &static_opts(),
    )
    .unwrap_err();
    assert_eq!(e.message, "fixtures/layouts/nope: no such file or folder");
}

#[cfg(target_os = "linux")]
#[test]
fn unreadable_file_in_a_folder_is_an_error() {
    // /proc/self/mem is a regular file that cannot be read from offset 0,
    // whoever we are (chmod does not stop root).
    let d = tmp();
    write(d.path(), "1_a.sql", "SELECT 1;");
    std::os::unix::fs::symlink("/proc/self/mem", d.path().join("2_b.sql")).unwrap();
    // In a walked folder, a link out of it is not followed (issue 15): a
    // notice, not a read.
    let ws = load_abs(&[d.path()], &static_opts()).unwrap();
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("2_b.sql: symbolic link to") && n.contains("not followed")),
        "{:?}",
        ws.notices
    );
    // Named directly, it is followed, and the read fails.
    let e = load_abs(&[&d.path().join("2_b.sql")], &static_opts()).unwrap_err();
    assert!(e.message.contains("2_b.sql"), "{e}");
}

#[cfg(unix)]
#[test]
fn unreadable_folder_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let d = tmp();
    write(d.path(), "ok/1_a.sql", "SELECT 1;");
    let locked = d.path().join("locked");
    write(d.path(), "locked/1_b.sql", "SELECT 1;");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let privileged = std::fs::read_dir(&locked).is_ok();
    let result = load_abs(&[d.path()], &static_opts());
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    if privileged {
        // Running as root: permissions do not apply; nothing to test here.
        assert!(result.is_ok());
        return;
    }
    let e = result.unwrap_err();
    assert!(
        e.message.contains("locked") && e.message.contains("permission denied"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn non_utf8_names_are_read_and_shown_with_their_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let d = tmp();
    let name = std::ffi::OsStr::from_bytes(b"1_caf\xe9.sql");
    std::fs::write(d.path().join(name), "CREATE TABLE c(x);").unwrap();
    let ws = load_abs(&[d.path()], &static_opts()).unwrap();
    assert_eq!(ws.files.len(), 1);
    assert!(
        ws.files[0].source.name.ends_with("1_caf\\xE9.sql"),
        "{}",
        ws.files[0].source.name
    );
    assert_eq!(ws.files[0].statements.len(), 1);
    let ws = load_abs(&[&d.path().join(name)], &static_opts()).unwrap();
    assert_eq!(ws.files[0].statements.len(), 1);
}

/// Files are told apart by their printed name: two names that differ only
/// in bytes that are not UTF-8 were both `1_\u{FFFD}.sql`, and the findings
/// of one hid the other's (a `CREATE TABLE` in the second was never
/// reported). Each byte now prints as itself; a name that still meets
/// another (one spelling `\xFF` out) stops the check and says so.
#[cfg(unix)]
#[test]
fn names_that_differ_in_bytes_that_are_not_utf8_stay_two_files() {
    use std::os::unix::ffi::OsStrExt;
    let d = tmp();
    let a = std::ffi::OsStr::from_bytes(b"1_\xfe.sql");
    let b = std::ffi::OsStr::from_bytes(b"1_\xff.sql");
    std::fs::write(
        d.path().join(a),
        "SELECT 1;\nCREATE TABLE IF NOT EXISTS a(x);\n",
    )
    .unwrap();
    std::fs::write(d.path().join(b), "CREATE TABLE b(x);\n").unwrap();
    let report = check_paths(&[d.path().to_str().unwrap()], &static_opts());
    assert_eq!(report.files.len(), 2);
    let names: Vec<&str> = report.files.iter().map(|f| f.name.as_str()).collect();
    assert!(
        names[0].ends_with("1_\\xFE.sql") && names[1].ends_with("1_\\xFF.sql"),
        "{names:?}"
    );
    let found: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.file.as_str(), f.rule.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].0.ends_with("1_\\xFF.sql"), "{found:?}");
    // A third file spelling the byte out prints as the second.
    std::fs::write(d.path().join("1_\\xFF.sql"), "SELECT 2;").unwrap();
    let e = check::check(&[Input::Path(d.path().to_path_buf())], &static_opts()).unwrap_err();
    assert!(
        e.message
            .contains("1_\\xFF.sql: two different files print as this name")
            && e.message.contains("rename one of them"),
        "{e}"
    );
}

#[test]
fn paths_given_twice_are_read_once() {
    let d = tmp();
    let f = write(d.path(), "m/1_a.sql", "CREATE TABLE a(x);");
    let m = d.path().join("m");
    for inputs in [
        vec![m.as_path(), m.as_path()],
        vec![m.as_path(), f.as_path()],
        vec![f.as_path(), m.as_path()],
        vec![d.path(), m.as_path()],
        vec![m.as_path(), d.path()],
    ] {
        let ws = load_abs(&inputs, &static_opts()).unwrap();
        assert_eq!(ws.files.len(), 1, "{inputs:?}");
        assert_eq!(ws.sequences.len(), 1, "{inputs:?}");
        assert!(!ws.notices.is_empty(), "{inputs:?}");
    }
}

#[test]
fn very_deep_folders_are_not_a_stack_overflow() {
    let d = tmp();
    let mut p = d.path().to_path_buf();
    for _ in 0..80 {
        p.push("d");
    }
    write(&p, "1_a.sql", "SELECT 1;");
    write(d.path(), "d/1_top.sql", "SELECT 1;");
    let ws = load_abs(&[d.path()], &static_opts()).unwrap();
    assert_eq!(ws.sequences.len(), 1);
    assert!(
        ws.notices.iter().any(|n| n.contains("folders deep")),
        "{:?}",
        ws.notices
    );
}

#[test]
fn an_empty_folder_says_so() {
    let d = tmp();
    write(d.path(), "README.md", "nothing here");
    let ws = load_abs(&[d.path()], &static_opts()).unwrap();
    assert!(ws.sequences.is_empty());
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("no SQL migrations found")),
        "{:?}",
        ws.notices
    );
}

#[test]
fn no_down_drops_down_parts() {
    let opts = Options {
        down: false,
        ..static_opts()
    };
    let ws = load(&["fixtures/layouts/golang-migrate"], &opts);
    assert!(ws.sequences[0].migrations.iter().all(|m| m.down.is_none()));
    assert_eq!(ws.files.len(), 4);
}

// ------------------------------------------------------------ never panics

mod props {
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use twice::analysis::Substitute;
    use twice::dialect::Dialect;
    use twice::layout::{self, Entry, Folder};
    use twice::placeholder::{Placeholders, Scope};
    use twice::source::SourceFile;

    /// Layout markers and SQL-ish pieces, mixed with arbitrary text.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("-- +goose Up\n".to_string()),
            Just("-- +goose Down\n".to_string()),
            Just("-- +goose StatementBegin\n".to_string()),
            Just("-- +goose StatementEnd\n".to_string()),
            Just("-- +goose ENVSUB ON\n".to_string()),
            Just("-- migrate:up transaction:false\n".to_string()),
            Just("-- migrate:down\n".to_string()),
            Just("--liquibase formatted sql\n".to_string()),
            Just("--changeset a:1 endDelimiter:/ splitStatements:false\n".to_string()),
            Just("--changeset \"x y\":2 runOnChange:true dbms:postgresql\n".to_string()),
            Just("--rollback ".to_string()),
            Just("/* liquibase rollback\n".to_string()),
            Just("*/".to_string()),
            Just("/\n".to_string()),
            Just("${a}".to_string()),
            Just("${flyway:user}".to_string()),
            Just("${B:-x}".to_string()),
            Just("${".to_string()),
            Just("'".to_string()),
            Just(";".to_string()),
            Just(";\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just("é€".to_string()),
            Just("CREATE TABLE t(x);\n".to_string()),
            "[ -~]{0,12}".prop_map(|s| s),
            any::<String>().prop_map(|s| s.chars().take(6).collect()),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("1_a.sql".to_string()),
            Just("10_b.up.sql".to_string()),
            Just("10_b.down.sql".to_string()),
            Just("V1.2__x.sql".to_string()),
            Just("R__r.sql".to_string()),
            Just("U1.2__x.sql".to_string()),
            Just("afterMigrate.sql".to_string()),
            Just("2_p.sqlite3.autocommit.up.sql".to_string()),
            Just("m/up.sql".to_string()),
            Just("m/down.sql".to_string()),
            "[0-9a-zA-Z_.éV]{0,10}\\.sql".prop_map(|s| s),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn layouts_never_panic_and_regions_stay_in_the_file(
            files in prop::collection::vec((name(), text()), 1..5),
            kind in 0usize..layout::registry().len(),
        ) {
            let mut entries: Vec<Entry> = files
                .iter()
                .map(|(n, t)| Entry::new(n.clone(), SourceFile::from_text(n.clone(), t.clone())))
                .collect();
            entries.sort_by(|a, b| a.rel.cmp(&b.rel));
            let folder = Folder { display: "m".into(), entries, ..Folder::default() };
            let detected = layout::detect::detect(&folder);
            for k in [layout::registry()[kind].kind(), detected] {
                let plan = layout::plan(k, &folder);
                for m in &plan.migrations {
                    for p in std::iter::once(&m.up).chain(m.down.as_ref()) {
                        let text = &folder.entries[p.file].file.text;
                        for r in &p.regions {
                            prop_assert!(r.range.start <= r.range.end && r.range.end <= text.len());
                            prop_assert!(text.is_char_boundary(r.range.start) && text.is_char_boundary(r.range.end));
                        }
                    }
                }
                for pr in &plan.problems {
                    let text = &folder.entries[pr.file].file.text;
                    prop_assert!(pr.span.end <= text.len());
                }
                // Statements analyse without panicking, placeholders included.
                let defines = BTreeMap::new();
                let ph = Placeholders {
                    defines: &defines,
                    builtins: BTreeMap::new(),
                    dialect: Dialect::Postgres,
                    scope: Scope::Everywhere,
                    env_syntax: true,
                    tool: "test",
                    macros: &[],
                    psql_sets: folder.entries.first().map(|e| twice::placeholder::psql_sets(&e.file.text)).unwrap_or_default(),
                    psql_gsets: folder.entries.first().map(|e| twice::placeholder::psql_gset_names(&e.file.text)).unwrap_or_default(),
                };
                for m in &plan.migrations {
                    let f = &folder.entries[m.up.file].file;
                    let mut out = Vec::new();
                    twice::analysis::analyze_regions(f, &m.up.regions, Dialect::Sqlite, &ph, &mut out);
                    for s in &out {
                        let t = &f.text[s.span.clone()];
                        let _ = ph.substitute(t);
                        for o in ph.undefined(t) {
                            prop_assert!(o.range.end <= t.len());
                        }
                    }
                }
            }
        }
    }
}

/// Template actions where SQL code goes (`{{.FlagInvalid}}`, as syncthing
/// fills its migrations with Go's `text/template`) are placeholders no
/// migration tool fills: flagged, left out of replay, filled by `--define`;
/// in a string they are data.
#[test]
fn template_actions_are_placeholders() {
    let report = check_paths(&["fixtures/layouts/go-templates"], &Options::default());
    let found: Vec<(&str, usize, usize)> = report
        .findings
        .iter()
        .filter(|f| {
            matches!(
                f.rule.as_str(),
                "undefined-placeholder" | "replay-statement-skipped" | "first-run-error"
            )
        })
        .map(|f| (f.rule.as_str(), f.line, f.column))
        .collect();
    assert_eq!(
        found,
        [
            ("replay-statement-skipped", 2, 1),
            ("undefined-placeholder", 2, 34)
        ],
        "{:#?}",
        report.findings
    );
    snapshot_layout(
        "go_templates",
        &["fixtures/layouts/go-templates"],
        &static_opts(),
    );
    let mut opts = Options::default();
    opts.defines.insert("FlagInvalid".into(), "4".into());
    let report = check_paths(&["fixtures/layouts/go-templates"], &opts);
    assert!(
        !report.findings.iter().any(|f| matches!(
            f.rule.as_str(),
            "undefined-placeholder" | "replay-statement-skipped" | "first-run-error"
        )),
        "{:#?}",
        report.findings
    );
}

#[test]
fn replay_leaves_out_statements_with_undefined_placeholders() {
    let report = check_paths(&["fixtures/layouts/placeholders"], &Options::default());
    let replay: Vec<(&str, usize)> = report
        .findings
        .iter()
        .filter(|f| f.source == twice::finding::Origin::Replay)
        .map(|f| (f.rule.as_str(), f.line))
        .collect();
    // Line 1 holds `${schema}` where code goes: not run, and said so (the
    // INSERT on line 3 then fails: the table was never created).
    assert!(
        replay.contains(&("replay-statement-skipped", 1)),
        "{replay:?}"
    );
    assert!(!replay.contains(&("first-run-error", 1)), "{replay:?}");
    let mut opts = Options::default();
    for (k, v) in [("schema", "main"), ("owner", "bob"), ("code_length", "8")] {
        opts.defines.insert(k.into(), v.into());
    }
    let report = check_paths(&["fixtures/layouts/placeholders"], &opts);
    assert!(!report
        .findings
        .iter()
        .any(|f| f.rule == "replay-statement-skipped" || f.rule == "first-run-error"));
}

/// Flyway substitutes `${name}` in strings too, and refuses to run a
/// migration when one has no value: replay leaves such a statement out as
/// well (it ran the literal `'${auditor}'`, a row Flyway would never write).
#[test]
fn replay_leaves_out_statements_with_undefined_placeholders_in_strings() {
    let base = "fixtures/layouts/placeholders-in-strings";
    let report = check_paths(&[base], &Options::default());
    let found: Vec<(&str, usize)> = report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.line))
        .collect();
    assert!(found.contains(&("undefined-placeholder", 4)), "{found:?}");
    assert!(
        found.contains(&("replay-statement-skipped", 4)),
        "{found:?}"
    );
    let mut opts = Options::default();
    opts.defines.insert("auditor".into(), "ops".into());
    let report = check_paths(&[base], &opts);
    assert!(!report
        .findings
        .iter()
        .any(|f| f.rule == "replay-statement-skipped" || f.rule == "undefined-placeholder"));
    // The row is written once per run: its second run is reported.
    assert!(
        report.findings.iter().any(|f| f.line == 4),
        "{:#?}",
        report.findings
    );
}

#[test]
fn rerun_notes_are_not_repeated_on_replay_findings() {
    let report = check_paths(&["fixtures/layouts/flyway"], &Options::default());
    for f in &report.findings {
        let mut notes = f.notes.clone();
        notes.dedup();
        assert_eq!(notes.len(), f.notes.len(), "{f:?}");
    }
    assert!(report
        .findings
        .iter()
        .any(|f| f.source == twice::finding::Origin::Replay
            && f.notes.iter().any(|n| n.contains("callback"))));
}

/// With replay on, every layout fixture runs in its tool's order without a
/// first-run error: each folder has a migration that needs an earlier one
/// (`10` altering what `9` created, `V1.10` indexing `V1.9`'s table, ...).
#[test]
fn replay_runs_every_layout_in_order() {
    for dir in [
        "plain",
        "sqlx",
        "golang-migrate",
        "diesel",
        "flyway",
        "dbmate",
        "goose",
        "pop",
        "liquibase",
        "prisma-shaped",
        "irreversible",
        "sql-migrate-clean",
        "drizzle-clean",
        "temporal-sql-tool-clean",
        "atlas-clean",
        "refinery-clean",
        "postgrator-clean",
        "db-migrate-clean",
        "yoyo-clean",
        "mybatis-clean",
        "play-evolutions-clean",
        "version-folders-clean",
        "up-down",
        "sqitch",
        "sqitch-rework",
        "tern",
        "liquibase-yaml",
    ] {
        let path = format!("fixtures/layouts/{dir}");
        let report = check_paths(&[&path], &Options::default());
        let first: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.rule == "first-run-error")
            .map(|f| format!("{}:{} {}", f.file, f.line, f.message))
            .collect();
        assert!(first.is_empty(), "{dir}: {first:#?}");
        assert!(
            report
                .summary
                .sequences
                .iter()
                .all(|s| s.replay == "replayed"),
            "{dir}: {:?}",
            report.summary.sequences
        );
    }
    // The down migration that leaves its table behind is caught.
    let report = check_paths(&["fixtures/layouts/irreversible"], &Options::default());
    assert!(report
        .findings
        .iter()
        .any(|f| f.rule == "down-does-not-revert" && f.file.ends_with("1_sessions.down.sql")));
    // Control: read as plain files, the .down.sql files run as up migrations
    // and the first run fails.
    let plain = Options {
        layout: Some(LayoutKind::Plain),
        ..Options::default()
    };
    let report = check_paths(&["fixtures/layouts/golang-migrate"], &plain);
    assert!(report.findings.iter().any(|f| f.rule == "first-run-error"));
}

/// goose reads each statement of a section as its own region; the statements
/// of one section still run together, so a `DROP TABLE x; CREATE TABLE x`
/// pair that re-creates a table is as idempotent as it is in a plain script.
#[test]
fn goose_statements_of_one_section_are_judged_together() {
    let report = check_paths(&["fixtures/layouts/goose-rebuild"], &static_opts());
    let found: Vec<(String, usize, String)> = report
        .findings
        .iter()
        .map(|f| (f.file.clone(), f.line, f.rule.clone()))
        .collect();
    // Only `destructive-rerun`: the pair re-creates the table empty, which
    // says the two statements are read as one part.
    let b: Vec<&str> = found
        .iter()
        .filter(|(file, _, _)| file.ends_with("002_b.sql"))
        .map(|(_, _, rule)| rule.as_str())
        .collect();
    assert_eq!(b, vec!["destructive-rerun"], "{found:?}");
    // The first migration's plain CREATE and its down's plain DROP are still
    // flagged.
    assert_eq!(found.len(), 3, "{found:?}");
}

/// Without `--dialect` and without a dialect in the path, the SQL itself
/// decides when it clearly belongs to one database (a notice says so).
#[test]
fn dialect_is_read_from_the_sql_when_the_path_names_none() {
    let ws = load(&["fixtures/layouts/sniff"], &static_opts());
    let mut got: Vec<(String, String)> = ws
        .sequences
        .iter()
        .map(|s| (s.root.clone(), s.dialect.to_string()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "fixtures/layouts/sniff/appdb/migrations".to_string(),
                "postgres".to_string()
            ),
            (
                "fixtures/layouts/sniff/clickhouse".to_string(),
                "generic".to_string()
            ),
            (
                "fixtures/layouts/sniff/events-beside-diesel/ch_migrations".to_string(),
                "generic".to_string()
            ),
            (
                "fixtures/layouts/sniff/events-beside-diesel/migrations".to_string(),
                "postgres".to_string()
            ),
            (
                "fixtures/layouts/sniff/h2".to_string(),
                "generic".to_string()
            ),
            (
                "fixtures/layouts/sniff/ksqldb".to_string(),
                "generic".to_string()
            ),
            (
                "fixtures/layouts/sniff/libsql".to_string(),
                "sqlite".to_string()
            ),
            (
                "fixtures/layouts/sniff/lite_diesel/migrations".to_string(),
                "sqlite".to_string()
            ),
            (
                "fixtures/layouts/sniff/mixed".to_string(),
                "sqlite".to_string()
            ),
            (
                "fixtures/layouts/sniff/notes".to_string(),
                "sqlite".to_string()
            ),
            (
                "fixtures/layouts/sniff/oracle".to_string(),
                "generic".to_string()
            ),
            (
                "fixtures/layouts/sniff/pgmajority".to_string(),
                "postgres".to_string()
            ),
            (
                "fixtures/layouts/sniff/shop".to_string(),
                "mysql".to_string()
            ),
            (
                "fixtures/layouts/sniff/teams/m".to_string(),
                "postgres".to_string()
            ),
            (
                "fixtures/layouts/sniff/tsql".to_string(),
                "sqlite".to_string()
            ),
        ]
    );
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("sniff/appdb/migrations: read as postgres")
                && n.contains("--dialect")),
        "{:?}",
        ws.notices
    );
    // The function body is one statement, not cut at its inner `;`.
    let report = check_paths(&["fixtures/layouts/sniff/appdb"], &static_opts());
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.rule == "unparsed-statement"),
        "{:?}",
        report.findings
    );
    // --dialect wins.
    let forced = load(
        &["fixtures/layouts/sniff/shop"],
        &twice::check::Options {
            dialect: Some(twice::dialect::Dialect::Sqlite),
            ..static_opts()
        },
    );
    assert_eq!(forced.sequences[0].dialect.to_string(), "sqlite");
}

/// Issue 13's repro: backticks in a string beside SERIAL are no MySQL sign;
/// the folder is PostgreSQL and its first run has no error.
#[test]
fn backticks_in_strings_do_not_vote() {
    let report = check_paths(
        &["fixtures/layouts/sniff/teams"],
        &twice::check::Options::default(),
    );
    assert_eq!(report.summary.sequences[0].dialect, "postgres");
    assert!(
        !report.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:?}",
        report.findings
    );
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.contains("teams/m: read as postgres") && n.contains("serial columns")),
        "{:?}",
        report.notices
    );
}

/// Backticks are SQLite names too: a diesel SQLite history with backticks
/// in its down files stays SQLite, is replayed, and nothing is announced.
#[test]
fn backtick_names_are_no_mysql_sign() {
    let report = check_paths(
        &["fixtures/layouts/sniff/lite_diesel"],
        &twice::check::Options::default(),
    );
    assert_eq!(report.summary.sequences[0].dialect, "sqlite");
    assert_eq!(report.summary.sequences[0].replay, "replayed");
    assert!(
        !report.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:?}",
        report.findings
    );
    assert!(
        !report.notices.iter().any(|n| n.contains("lite_diesel")),
        "{:?}",
        report.notices
    );
}

/// Signs of two dialects with none clearly ahead: the default stays, and a
/// notice names the signs and says `--dialect` decides. A clear majority
/// wins and names the signs it outvoted.
#[test]
fn dialect_ties_and_majorities_are_announced() {
    let ws = load(&["fixtures/layouts/sniff/mixed"], &static_opts());
    assert_eq!(ws.sequences[0].dialect.to_string(), "sqlite");
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("sniff/mixed: read as sqlite")
                && n.contains("PostgreSQL (serial columns)")
                && n.contains("MySQL (AUTO_INCREMENT)")
                && n.contains("pass --dialect to decide")),
        "{:?}",
        ws.notices
    );
    let ws = load(&["fixtures/layouts/sniff/pgmajority"], &static_opts());
    assert_eq!(ws.sequences[0].dialect.to_string(), "postgres");
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("read as postgres") && n.contains("outvoted: MySQL (UNSIGNED)")),
        "{:?}",
        ws.notices
    );
}

/// T-SQL, Oracle, libSQL, ClickHouse and H2 (by its folder's name) histories: one notice each naming the dialect
/// and what twice does (static rules only, no replay), no replay, and no
/// `unparsed-statement` per statement.
#[test]
fn unsupported_dialects_get_one_notice() {
    for (dir, name) in [
        ("tsql", "T-SQL (SQL Server)"),
        ("oracle", "Oracle (PL/SQL)"),
        ("libsql", "libSQL"),
        ("clickhouse", "ClickHouse"),
        ("h2", "H2"),
    ] {
        let path = format!("fixtures/layouts/sniff/{dir}");
        let report = check_paths(&[&path], &twice::check::Options::default());
        let said: Vec<_> = report
            .notices
            .iter()
            .filter(|n| n.starts_with(&path))
            .collect();
        assert_eq!(said.len(), 1, "{dir}: {:?}", report.notices);
        assert!(
            said[0].contains(&format!("written in {name}"))
                && said[0].contains("only the static rules ran")
                && said[0].contains("no replay"),
            "{said:?}"
        );
        assert!(
            report.summary.sequences[0].replay.starts_with("skipped"),
            "{dir}: {:?}",
            report.summary.sequences
        );
        assert!(
            !report
                .findings
                .iter()
                .any(|f| f.rule == "unparsed-statement" || f.rule == "first-run-error"),
            "{dir}: {:?}",
            report.findings
        );
    }
    // A ClickHouse folder in a crate whose Cargo.toml names diesel's
    // `postgres` feature is still ClickHouse's; the diesel folder beside it
    // is PostgreSQL's.
    let report = check_paths(
        &["fixtures/layouts/sniff/events-beside-diesel"],
        &static_opts(),
    );
    let dialects: Vec<(String, String)> = report
        .summary
        .sequences
        .iter()
        .map(|s| (s.root.clone(), s.dialect.to_string()))
        .collect();
    assert_eq!(
        dialects,
        [
            (
                "fixtures/layouts/sniff/events-beside-diesel/ch_migrations".to_string(),
                "generic".to_string()
            ),
            (
                "fixtures/layouts/sniff/events-beside-diesel/migrations".to_string(),
                "postgres".to_string()
            )
        ]
    );
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.contains("ch_migrations: written in ClickHouse")),
        "{:?}",
        report.notices
    );
    // Told which dialect to use, twice takes it at its word.
    let ws = load(
        &["fixtures/layouts/sniff/tsql"],
        &twice::check::Options {
            dialect: Some(twice::dialect::Dialect::Sqlite),
            ..static_opts()
        },
    );
    assert!(ws.foreign.is_empty());
}

#[test]
fn sql_migrate_sections_order_and_blocks() {
    let ws = load(&["fixtures/layouts/sql-migrate"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::sql_migrate::KIND);
    assert_eq!(versions(&ws, 0), ["1", "2", "10", "11", "12"]);
    // The down part never runs in the up sequence.
    assert!(!statements(&ws, 0, false)
        .iter()
        .any(|s| s.starts_with("DROP TABLE accounts")));
    assert!(seq.migrations[3].up.no_transaction, "Up notransaction");
    assert!(ws
        .findings
        .iter()
        .any(|f| f.rule == "malformed-migration" && f.message.contains("indented")));
    snapshot_layout(
        "sql_migrate",
        &["fixtures/layouts/sql-migrate"],
        &static_opts(),
    );
    let clean = check_paths(&["fixtures/layouts/sql-migrate-clean"], &Options::default());
    assert!(clean.findings.is_empty(), "{:#?}", clean.findings);
    assert_eq!(clean.summary.sequences[0].replay, "replayed");
    // The block holding DROP TRIGGER and CREATE TRIGGER is read as both.
    let ws = load(&["fixtures/layouts/sql-migrate-clean"], &static_opts());
    assert!(statements(&ws, 0, false)
        .iter()
        .any(|s| s.starts_with("DROP TRIGGER IF EXISTS tags_log")));
}

/// `-- +migrate` files of a Go module that requires no sql-migrate and has
/// no dbconfig.yml: a runner of its own reads them, and its sections are
/// split as the database's client splits them (a function body without
/// `StatementBegin` is one statement), with a notice saying so. With a
/// dbconfig.yml beside them, sql-migrate's line splitting holds.
#[test]
fn sql_migrate_annotations_of_an_own_runner_are_split_by_the_sql() {
    let ws = load(&["fixtures/layouts/sql-migrate-own-runner"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::sql_migrate::KIND);
    let up = statements(&ws, 0, false);
    assert_eq!(up.len(), 5, "{up:#?}");
    assert!(
        up[2].starts_with("CREATE OR REPLACE FUNCTION fn_queue_alert()")
            && up[2].ends_with("LANGUAGE plpgsql"),
        "{up:#?}"
    );
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("split into statements as the database's client would")),
        "{:?}",
        ws.notices
    );
    let report = check_paths(&["fixtures/layouts/sql-migrate-own-runner"], &static_opts());
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.rule == "syntax-error" || f.rule == "malformed-migration"),
        "{:#?}",
        report.findings
    );
    // The sql-migrate command's settings beside the folder: its splitting.
    let dir = tempfile::Builder::new()
        .prefix("own-runner")
        .tempdir()
        .unwrap();
    let root = dir.path().join("app");
    std::fs::create_dir_all(root.join("store/migrations")).unwrap();
    for f in [
        "go.mod",
        "store/migrations/20240101000000-init.sql",
        "store/migrations/20240102000000-queue.sql",
    ] {
        std::fs::copy(
            format!("fixtures/layouts/sql-migrate-own-runner/{f}"),
            root.join(f),
        )
        .unwrap();
    }
    std::fs::write(
        root.join("store/dbconfig.yml"),
        "development:\n  dialect: postgres\n  dir: migrations\n",
    )
    .unwrap();
    let ws = load(&[root.to_str().unwrap()], &static_opts());
    assert!(
        !ws.notices
            .iter()
            .any(|n| n.contains("split into statements")),
        "{:?}",
        ws.notices
    );
    let report = check_paths(&[root.to_str().unwrap()], &static_opts());
    assert!(
        report.findings.iter().any(|f| f.rule == "syntax-error"),
        "sql-migrate cuts the function body at its first `;` line: {:#?}",
        report.findings
    );
}

#[test]
fn goose_blocks_holding_several_statements_are_checked_statement_by_statement() {
    let ws = load(&["fixtures/layouts/goose-blocks"], &static_opts());
    let up = statements(&ws, 0, false);
    assert!(
        up.iter()
            .any(|s| s.starts_with("DROP FUNCTION legacy_touch")),
        "{up:#?}"
    );
    assert!(!ws.findings.iter().any(|f| f.rule == "unparsed-statement"));
    snapshot_layout(
        "goose_blocks",
        &["fixtures/layouts/goose-blocks"],
        &static_opts(),
    );
}

#[test]
fn supabase_migrations_seed_and_folders_that_are_not_migrations() {
    let ws = load(&["fixtures/layouts/supabase-app"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::supabase::KIND);
    assert_eq!(seq.dialect, Dialect::Postgres);
    assert_eq!(
        versions(&ws, 0),
        ["20240105120000", "20240106120000", "20240107120000"]
    );
    for skipped in [
        "seed.sql",
        "draft.sql",
        "queries",
        "testdata",
        "supabase/tests",
        "supabase/schemas",
        "supabase/20240108120000_run_by_hand.sql: skipped: a SQL file in a Supabase project folder",
    ] {
        assert!(
            ws.notices
                .iter()
                .any(|n| n.contains(skipped) && n.contains("skipped")),
            "{skipped}: {:#?}",
            ws.notices
        );
    }
    snapshot_layout(
        "supabase",
        &["fixtures/layouts/supabase-app"],
        &static_opts(),
    );
    // Named directly, a folder of test data and a seed file are checked.
    let ws = load(&["fixtures/layouts/supabase-app/testdata"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let ws = load(
        &["fixtures/layouts/supabase-app/supabase/seed.sql"],
        &static_opts(),
    );
    assert_eq!(ws.sequences.len(), 1);
    // The clean migration has no finding.
    let report = check_paths(
        &["fixtures/layouts/supabase-app/supabase/migrations/20240107120000_guarded.sql"],
        &static_opts(),
    );
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

/// pgTAP tests in a Sqitch project's `t/` are not a history of their own.
#[test]
fn sqitch_projects_tests_are_not_migrations() {
    let base = "fixtures/layouts/sqitch-tests";
    let ws = load(&[base], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(roots, [base]);
    let want = format!(
        "{base}/t: skipped: tests beside a Sqitch project (pgTAP and the like), not migrations \
         (name it to check it)"
    );
    assert!(ws.notices.contains(&want), "{want}\n{:#?}", ws.notices);
    let ws = load(&[&format!("{base}/t")], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
}

#[test]
fn dialect_from_the_tools_own_files() {
    // sqlx with the postgres feature in the crate's Cargo.toml.
    let ws = load(&["fixtures/layouts/sqlx-postgres"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, LayoutKind::Sqlx);
    assert_eq!(seq.dialect, Dialect::Postgres);
    assert!(seq.dialect_why.contains("sqlx with the `postgres` feature"));
    // --dialect still wins.
    let forced = Options {
        dialect: Some(Dialect::Sqlite),
        ..static_opts()
    };
    let ws = load(&["fixtures/layouts/sqlx-postgres"], &forced);
    assert_eq!(ws.sequences[0].dialect, Dialect::Sqlite);
    assert_eq!(ws.sequences[0].dialect_why, "--dialect");
    snapshot_layout(
        "sqlx_postgres",
        &["fixtures/layouts/sqlx-postgres"],
        &static_opts(),
    );
}

#[test]
fn drizzle_journal_order_breakpoints_and_dialect() {
    let ws = load(&["fixtures/layouts/drizzle"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::drizzle::KIND);
    assert_eq!(seq.dialect, Dialect::Postgres);
    assert_eq!(
        seq.dialect_why,
        "meta/_journal.json: dialect \"postgresql\""
    );
    assert_eq!(versions(&ws, 0), ["0000", "0001"]);
    assert_eq!(statements(&ws, 0, false).len(), 4);
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("0002_not_in_journal.sql") && n.contains("_journal.json")));
    snapshot_layout("drizzle", &["fixtures/layouts/drizzle"], &static_opts());
    let ws = load(&["fixtures/layouts/drizzle-clean"], &static_opts());
    assert_eq!(ws.sequences[0].dialect, Dialect::Sqlite);
}

#[test]
fn versioned_up_down_pairs_are_not_plain_files() {
    let ws = load(&["fixtures/layouts/up-down"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::up_down::KIND);
    assert_eq!(versions(&ws, 0), ["0001", "0002", "0010"]);
    assert!(seq.migrations.iter().all(|m| m.down.is_some()));
    assert!(!statements(&ws, 0, false)
        .iter()
        .any(|s| s.starts_with("DROP")));
    snapshot_layout("up_down", &["fixtures/layouts/up-down"], &static_opts());
    // Read as plain files, the down of V0001 would run before its up.
    let plain = Options {
        layout: Some(LayoutKind::Plain),
        ..Options::default()
    };
    let report = check_paths(&["fixtures/layouts/up-down"], &plain);
    assert!(report.findings.iter().any(|f| f.rule == "first-run-error"));
}

#[test]
fn files_the_tool_refuses_are_still_checked_and_said_why() {
    // golang-migrate refuses a second up file of one version: it is still
    // read by the static rules, never replayed.
    let report = check_paths(
        &["fixtures/layouts/golang-migrate-duplicate"],
        &Options::default(),
    );
    let rules: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.file.rsplit('/').next().unwrap_or("")))
        .collect();
    assert!(
        rules.contains(&("malformed-migration", "1_items_archive.up.sql")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("create-without-if-not-exists", "1_items_archive.up.sql")),
        "{rules:?}"
    );
    assert!(!rules
        .iter()
        .any(|(r, _)| r.starts_with("second-run") || *r == "first-run-error"));
    // dbmate: an indented `-- migrate:down` is said to be indented.
    let ws = load(&["fixtures/layouts/dbmate-indented"], &static_opts());
    let msgs: Vec<&str> = ws.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("`-- migrate:down` line is indented")),
        "{msgs:?}"
    );
    assert_eq!(statements(&ws, 0, true), ["DROP TABLE visits"]);
}

#[test]
fn configured_sequences_join_folders_into_one_history() {
    let cfg = twice::config::parse(
        "fixtures/layouts/joined/twice.toml",
        Path::new("fixtures/layouts/joined"),
        &std::fs::read_to_string("fixtures/layouts/joined/twice.toml").unwrap(),
    )
    .unwrap();
    assert_eq!(cfg.sequences.len(), 1);
    let opts = Options {
        sequences: cfg.sequences.clone(),
        ..Options::default()
    };
    let ws = load(&["fixtures/layouts/joined"], &opts);
    assert_eq!(ws.sequences.len(), 1);
    let names: Vec<&str> = ws.sequences[0]
        .migrations
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["full_schema", "01_email", "01_email_index"]);
    assert!(ws.sequences[0].layout_why.contains("[[sequence]]"));
    // Replayed as one history: the deltas find the schema's table.
    let report = check_paths(&["fixtures/layouts/joined"], &opts);
    assert!(!report.findings.iter().any(|f| f.rule == "first-run-error"));
    // Without the table, each folder is its own sequence.
    let report = check_paths(&["fixtures/layouts/joined"], &Options::default());
    assert_eq!(report.summary.sequences.len(), 3);
    assert!(report.findings.iter().any(|f| f.rule == "first-run-error"));
    // A path that holds no migrations is said so.
    let bad = twice::config::parse(
        "twice.toml",
        Path::new("fixtures/layouts/joined"),
        "[[sequence]]\npaths = [\"schema\", \"nowhere\"]\n",
    )
    .unwrap();
    let ws = load(
        &["fixtures/layouts/joined"],
        &Options {
            sequences: bad.sequences,
            ..Options::default()
        },
    );
    assert!(
        ws.notices.iter().any(|n| n.contains("nowhere")),
        "{:#?}",
        ws.notices
    );
    let err = twice::config::parse(
        "twice.toml",
        Path::new("."),
        "[[sequence]]\npath = [\"a\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown key `path`"), "{err}");
}

#[test]
fn tern_sections_and_templates() {
    let ws = load(&["fixtures/layouts/tern"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::tern::KIND);
    assert_eq!(versions(&ws, 0), ["001", "002"]);
    assert!(seq.migrations[1].up.no_transaction);
    assert_eq!(statements(&ws, 0, true)[0], "DROP TABLE widgets");
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("003_default_widget.sql") && n.contains("template")));
    // The template is neither a syntax error nor replayed.
    let report = check_paths(&["fixtures/layouts/tern"], &Options::default());
    assert!(!report
        .findings
        .iter()
        .any(|f| f.file.ends_with("003_default_widget.sql")));
    assert_eq!(report.summary.sequences[0].replay, "replayed");
    snapshot_layout("tern", &["fixtures/layouts/tern"], &static_opts());
}

#[test]
fn sqitch_plan_order_deploy_revert_and_verify() {
    let ws = load(&["fixtures/layouts/sqitch"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::sqitch::KIND);
    assert_eq!(seq.dialect_why, "sqitch.conf: engine = sqlite");
    let names: Vec<&str> = seq.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["widgets", "widget_index"]);
    assert!(seq.migrations.iter().all(|m| m.down.is_some()));
    assert_eq!(
        ws.notices
            .iter()
            .filter(|n| n.contains("verify/") && n.contains("not replayed"))
            .count(),
        2
    );
    snapshot_layout("sqitch", &["fixtures/layouts/sqitch"], &static_opts());
}

#[test]
fn sqitch_rework_takes_the_first_tag_with_a_script() {
    // Sqitch tries the tags between a change and its rework, the latest
    // change's first (v1.2, then widget_list's own v1.0 and v1.1), and takes
    // the first whose deploy script exists; its revert script follows.
    let ws = load(&["fixtures/layouts/sqitch-rework"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    let names: Vec<&str> = seq.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "widgets",
            "widget_list@v1.1",
            "widget_color",
            "widget_list@v2.0",
            "widget_list",
            "widget_count"
        ]
    );
    let down = seq.migrations[1].down.as_ref().expect("a revert script");
    assert!(ws.files[down.file]
        .source
        .name
        .ends_with("revert/widget_list@v1.1.sql"));
    // No tag between widget_count and its rework has a script: still said.
    let missing: Vec<&String> = ws
        .notices
        .iter()
        .filter(|n| n.contains("would fail to deploy"))
        .collect();
    assert_eq!(missing.len(), 1, "{:#?}", ws.notices);
    assert!(missing[0]
        .contains("sqitch.plan:9: change widget_count has no deploy/widget_count@v2.0.sql"));
    assert!(missing[0].contains("deploy/widget_count@v1.2.sql"));
    assert!(
        !ws.notices.iter().any(|n| n.contains("not a script")),
        "{:#?}",
        ws.notices
    );
    snapshot_layout(
        "sqitch_rework",
        &["fixtures/layouts/sqitch-rework"],
        &static_opts(),
    );
}

#[test]
fn liquibase_xml_and_yaml_changelogs_give_the_order() {
    let ws = load(&["fixtures/layouts/liquibase-xml"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, LayoutKind::Liquibase);
    let names: Vec<&str> = seq.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["1", "2", "backfill.sql"]);
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("unused.sql") && n.contains("not included")));
    snapshot_layout(
        "liquibase_xml",
        &["fixtures/layouts/liquibase-xml"],
        &static_opts(),
    );
    let ws = load(&["fixtures/layouts/liquibase-yaml"], &static_opts());
    let names: Vec<&str> = ws.sequences[0]
        .migrations
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["10", "11"]);
    // A changelog that names no SQL file is said so by name.
    let ws = load(&["fixtures/layouts/liquibase"], &static_opts());
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("Liquibase changelog master.xml")));
}

/// Several root changelogs in one folder (each `includeAll` of a sub-folder
/// of its own, run against a database of its own): one sequence each, its
/// files in Liquibase's order (`includeAll` takes the sub-folders below its
/// folder too); only a file no root includes is skipped (was: the first
/// changelog by name, the other's files skipped as not included).
#[test]
fn liquibase_root_changelogs_are_histories_of_their_own() {
    let ws = load(&["fixtures/layouts/liquibase-roots"], &static_opts());
    assert_eq!(ws.sequences.len(), 2, "{:#?}", ws.notices);
    assert_eq!(
        versions(&ws, 0),
        ["shop:orders-1", "shop:orders-2", "shop:orders-view"]
    );
    assert_eq!(versions(&ws, 1), ["shop:users-1", "shop:users-2"]);
    assert!(ws.sequences[0]
        .layout_why
        .contains("orders-changelog.xml, one of 2"));
    assert!(ws.sequences[1]
        .layout_why
        .contains("users-changelog.xml, one of 2"));
    let skipped: Vec<&String> = ws
        .notices
        .iter()
        .filter(|n| n.contains("skipped"))
        .collect();
    assert_eq!(
        skipped,
        [
            "fixtures/layouts/liquibase-roots/changesets/scratch/notes.sql: skipped: not included \
             by any of the Liquibase root changelogs (orders-changelog.xml, users-changelog.xml)"
        ],
    );
    snapshot_layout(
        "liquibase_roots",
        &["fixtures/layouts/liquibase-roots"],
        &static_opts(),
    );
}

/// A master changelog that includes changelogs (XML, YAML, JSON) which
/// include SQL files or hold `sqlFile`s: the root is the changelog no other
/// includes (was: the first by name), includes are followed in order into
/// them, by classpath path or relative to the changelog, a changelog of
/// change types is a gap before the next SQL file, and a cycle back to the
/// master, a self-include, a commented-out include and a path out of the
/// folder change nothing.
#[test]
fn liquibase_master_changelog_followed_through_nested_changelogs() {
    let ws = load(&["fixtures/layouts/liquibase-nested"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert!(
        seq.layout_why.contains("(master.xml)"),
        "{}",
        seq.layout_why
    );
    let names: Vec<&str> = seq.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["schema.sql", "tags.sql", "4", "5"]);
    let gaps: Vec<&Vec<String>> = seq.migrations.iter().map(|m| &m.code_before).collect();
    assert_eq!(
        gaps,
        [
            &vec![],
            &vec!["fixtures/layouts/liquibase-nested/db/002-add-note.xml".to_string()],
            &vec![],
            &vec![]
        ]
    );
    assert!(ws
        .notices
        .iter()
        .any(|n| n.ends_with("sql/unused.sql: skipped: not included by the Liquibase changelog")));
    assert!(
        ws.notices.iter().any(|n| n.contains(
            "Liquibase changelog 000-retired.xml: no other changelog includes it, and it runs none"
        )),
        "{:#?}",
        ws.notices
    );
    snapshot_layout(
        "liquibase_nested",
        &["fixtures/layouts/liquibase-nested"],
        &static_opts(),
    );
}

#[test]
fn full_schema_and_delta_folders_one_sequence_per_dialect() {
    let ws = load(&["fixtures/layouts/schema-delta"], &static_opts());
    let kinds: Vec<(&str, &str)> = ws
        .sequences
        .iter()
        .map(|s| (s.layout.name(), s.dialect.name()))
        .collect();
    assert_eq!(
        kinds,
        [("schema-delta", "postgres"), ("schema-delta", "sqlite")]
    );
    for (i, variant) in [(0, "full.sql.postgres"), (1, "full.sql.sqlite")] {
        // The newest full schema first, as the starting state, then the
        // deltas after it by version (numerically), then file name.
        let seq = &ws.sequences[i];
        assert!(seq.migrations[..2].iter().all(|m| m.apply_only));
        assert!(ws.files[seq.migrations[1].up.file]
            .source
            .name
            .ends_with(variant));
        assert_eq!(versions(&ws, i), ["3", "3", "4", "4", "5", "5", "10", "10"]);
    }
    snapshot_layout(
        "schema_delta",
        &["fixtures/layouts/schema-delta"],
        &static_opts(),
    );
    // Replayed on SQLite: the sqlite sequence applies the full schema and
    // every delta in order (no first-run error); the shared delta's finding
    // is reported once.
    let report = check_paths(&["fixtures/layouts/schema-delta"], &Options::default());
    let mut rules: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            let file = f.file.rsplit_once("schema-delta/").map_or("", |x| x.1);
            format!("{} {file}", f.rule)
        })
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "add-column-without-if-not-exists main/delta/4/01_add_topic.sql",
            "create-without-if-not-exists main/delta/4/02_topic_index.sql.postgres",
            "create-without-if-not-exists main/delta/4/02_topic_index.sql.sqlite",
            "second-run-error main/delta/4/01_add_topic.sql",
            "second-run-error main/delta/4/02_topic_index.sql.sqlite",
        ],
        "{rules:#?}"
    );
    // --dialect chooses one sequence; the other dialect's files are named.
    let pg = Options {
        dialect: Some(Dialect::Postgres),
        ..static_opts()
    };
    let ws = load(&["fixtures/layouts/schema-delta"], &pg);
    assert_eq!(ws.sequences.len(), 1);
    assert!(
        ws.notices
            .iter()
            .any(|n| n.contains("2 files written for sqlite (.sql.sqlite) not read")),
        "{:#?}",
        ws.notices
    );
}

#[test]
fn clean_delta_folders_have_no_findings() {
    let report = check_paths(
        &["fixtures/layouts/schema-delta-clean"],
        &Options::default(),
    );
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.summary.sequences.len(), 2);
}

#[test]
fn repeatable_replay_help_does_not_say_if_not_exists() {
    // SQLite has no CREATE OR REPLACE VIEW: the replay help of the
    // repeatable's view says to drop it first, as the static help does.
    let report = check_paths(&["fixtures/layouts/flyway"], &Options::default());
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == "second-run-error" && f.file.ends_with("R__customer_view.sql"))
        .expect("the repeatable's view fails on a second run");
    let help = f.help.as_deref().unwrap_or("");
    assert!(
        help.contains("drop it first with `DROP VIEW IF EXISTS customer_orders;`"),
        "{help}"
    );
    assert!(!help.contains("use `IF NOT EXISTS`"), "{help}");
    // Its repeatable note is shown once in the human block it is folded into.
    let human = render(&report, Format::Human);
    let block = human
        .split("\n\n")
        .find(|b| b.contains("CREATE VIEW customer_orders"))
        .unwrap_or_default();
    assert_eq!(
        block.matches("is a Flyway repeatable migration").count(),
        1,
        "{block}"
    );
}

#[test]
fn plain_files_written_for_one_dialect_make_one_sequence_each() {
    let ws = load(&["fixtures/layouts/plain-variants"], &static_opts());
    let seqs: Vec<(&str, Vec<String>)> = ws
        .sequences
        .iter()
        .map(|s| {
            (
                s.dialect.name(),
                s.migrations
                    .iter()
                    .map(|m| {
                        let name = &ws.files[m.up.file].source.name;
                        name.rsplit('/').next().unwrap_or(name).to_string()
                    })
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        seqs,
        [
            (
                "postgres",
                vec!["001_init.postgres.sql".to_string(), "002_index.sql".into()]
            ),
            (
                "sqlite",
                vec!["001_init.sqlite.sql".to_string(), "002_index.sql".into()]
            ),
        ]
    );
    // The SQLite sequence replays without a first-run error (the postgres
    // file's `TEXT[]` never reaches SQLite), and nothing is flagged.
    let report = check_paths(&["fixtures/layouts/plain-variants"], &Options::default());
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.summary.sequences[1].replay, "replayed");
}

#[test]
fn sibling_flyway_locations_with_interleaving_versions_are_one_history() {
    let ws = load(&["fixtures/layouts/flyway-locations"], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        [
            "fixtures/layouts/flyway-locations/archive",
            "fixtures/layouts/flyway-locations/migration"
        ]
    );
    assert_eq!(versions(&ws, 1), ["1", "1.1", "2"]);
    assert!(
        ws.notices.iter().any(|n| n
            .contains("read with fixtures/layouts/flyway-locations/migration_data as one history")),
        "{:#?}",
        ws.notices
    );
    // Replayed in version order, the backfill finds its table.
    let report = check_paths(&["fixtures/layouts/flyway-locations"], &Options::default());
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    // [[sequence]] in twice.toml decides instead when present.
    let configured = Options {
        sequences: vec![vec!["fixtures/layouts/flyway-locations/migration".into()]],
        ..static_opts()
    };
    assert_eq!(
        load(&["fixtures/layouts/flyway-locations"], &configured)
            .sequences
            .len(),
        3
    );
}

/// Flyway scans a location recursively: release folders below
/// `db/migration` (which holds no SQL file of its own) are one history in
/// version order, whatever their number of files and depth, and the
/// project's files are looked for from the location (the pom.xml seven
/// folders above the release folders names MySQL).
#[test]
fn flyway_folders_below_one_location_are_one_history() {
    let ws = load(&["fixtures/layouts/flyway-release-folders"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert_eq!(
        seq.root,
        "fixtures/layouts/flyway-release-folders/src/main/resources/db/migration"
    );
    assert_eq!(seq.dialect, Dialect::Mysql, "{}", seq.dialect_why);
    assert_eq!(versions(&ws, 0), ["1.0.1", "1.0.2", "1.1.1"]);
    let (code, out, err) = twice_plan(&["plan", "fixtures/layouts/flyway-release-folders"]);
    assert_eq!(code, 0, "{err}");
    snapshot!("flyway_release_folders_plan", out);

    // No settings in reach and no db/migration: a folder right below
    // `resources` is the classpath location (`classpath:migration`, named
    // in another module's settings).
    let ws = load(
        &["fixtures/layouts/flyway-classpath-location"],
        &static_opts(),
    );
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        ["fixtures/layouts/flyway-classpath-location/domain/src/main/resources/migration"],
        "{:#?}",
        ws.notices
    );
    assert_eq!(versions(&ws, 0), ["2.0.1", "2.1.1"]);

    // One file in each sub-folder: the ALTER of v2 finds the table of v1.
    let ws = load(
        &["fixtures/layouts/flyway-location-subfolders"],
        &static_opts(),
    );
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        ["fixtures/layouts/flyway-location-subfolders/db/migration"]
    );
    assert_eq!(versions(&ws, 0), ["1", "2"]);
    assert!(
        ws.notices.iter().any(|n| n.starts_with(
            "fixtures/layouts/flyway-location-subfolders/db/migration: its folders v1, v2 read as \
             one history: flyway scans a location with its sub-folders"
        )),
        "{:#?}",
        ws.notices
    );
    let report = check_paths(
        &["fixtures/layouts/flyway-location-subfolders"],
        &Options::default(),
    );
    assert!(
        !report.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:#?}",
        report.findings
    );
}

/// A folder named for a database below `db/migration` is the location
/// (`classpath:db/migration/{vendor}`): its release folders are joined,
/// repeatables and callbacks after the versioned migrations, as Flyway runs
/// them.
#[test]
fn flyway_vendor_folder_is_the_location_and_keeps_flyway_run_order() {
    let ws = load(&["fixtures/layouts/flyway-vendor-location"], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        ["fixtures/layouts/flyway-vendor-location/db/migration/postgres"],
        "{:#?}",
        ws.notices
    );
    assert_eq!(ws.sequences[0].dialect, Dialect::Postgres);
    assert_eq!(versions(&ws, 0), ["1", "2", "R", "afterMigrate"]);
}

/// The location Spring Boot's `spring.flyway.locations` names joins its
/// sub-folders; sub-folders whose versions collide stay apart, said so.
#[test]
fn flyway_configured_location_joins_and_colliding_versions_stay_apart() {
    let ws = load(
        &["fixtures/layouts/flyway-configured-location"],
        &static_opts(),
    );
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        [
            "fixtures/layouts/flyway-configured-location/db/migration/a",
            "fixtures/layouts/flyway-configured-location/db/migration/b",
            "fixtures/layouts/flyway-configured-location/src/main/resources/releases",
        ]
    );
    assert_eq!(versions(&ws, 2), ["3.0.0.1", "3.0.1.1"]);
    assert!(
        ws.notices.iter().any(|n| n.contains(
            "not read as one history, although they are in one flyway location \
             (fixtures/layouts/flyway-configured-location/db/migration): version 1 is used by both \
             fixtures/layouts/flyway-configured-location/db/migration/a/V1__tenant_a.sql and \
             fixtures/layouts/flyway-configured-location/db/migration/b/V1__tenant_b.sql"
        )),
        "{:#?}",
        ws.notices
    );
}

/// A hidden migrations folder that drizzle-kit's config names (`out:
/// ".drizzle"`) is read; one no config names is not entered, said so, and a
/// check that found nothing says it checked nothing.
#[test]
fn hidden_folders_named_by_a_tool_config_are_read_others_are_said_so() {
    let ws = load(&["fixtures/layouts/drizzle-hidden"], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        ["fixtures/layouts/drizzle-hidden/.drizzle"],
        "{:#?}",
        ws.notices
    );
    assert_eq!(ws.sequences[0].layout.name(), "drizzle");
    assert_eq!(ws.sequences[0].migrations.len(), 2);

    let ws = load(&["fixtures/layouts/hidden-folder"], &static_opts());
    assert!(ws.sequences.is_empty());
    assert_eq!(
        ws.notices,
        [
            "fixtures/layouts/hidden-folder/.scratch: skipped: a hidden folder (its name starts \
             with `.`) holding SQL files, not entered (name it to check it)",
            "fixtures/layouts/hidden-folder: no SQL migrations found in this folder: hidden \
             folders are not entered, and fixtures/layouts/hidden-folder/.scratch holds SQL files \
             (name it to check it)"
        ]
    );
    let (code, out, err) = twice_plan(&["check", "fixtures/layouts/hidden-folder"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.ends_with(
            "twice: checked 0 files: no migrations found, nothing was checked (see the notes above)\n"
        ),
        "{out}{err}"
    );
    // Named, it is read.
    let ws = load(&["fixtures/layouts/hidden-folder/.scratch"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
}

fn twice_plan(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twice"))
        .env_remove("GITHUB_ACTIONS")
        .env_remove("TWICE_DATABASE_URL")
        .env("NO_COLOR", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn first_run_failure_after_a_migration_twice_cannot_run_says_so() {
    let report = check_paths(&["fixtures/layouts/goose-go"], &Options::default());
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == "first-run-error")
        .expect("the index needs the table the Go migration creates");
    assert!(
        f.notes.iter().any(|n| n.contains(
            "replay ran without a migration the tool runs before this one and twice cannot read \
             (fixtures/layouts/goose-go/00001_create_users.go)"
        )),
        "{:#?}",
        f.notes
    );
    // A test file beside them is not a migration replay ran without.
    assert!(
        report.notices.iter().any(|n| n
            == "fixtures/layouts/goose-go/migrations_test.go: skipped: Go code, not a migration \
                (goose migrations start with a version number)"),
        "{:#?}",
        report.notices
    );
    // What to do about it: the schema the code migrations build, in a setup script.
    let help = f.help.as_deref().unwrap_or_default();
    assert!(
        help.starts_with("migrations twice cannot run (code, not SQL) come before this one")
            && help.contains("`--setup FILE`"),
        "{help}"
    );
    // The later first run that fails on another table a Go migration makes
    // is listed under the first, not reported again (navidrome: 9 errors,
    // one now).
    let errors = report
        .findings
        .iter()
        .filter(|f| f.rule == "first-run-error")
        .count();
    assert_eq!(errors, 1, "{:#?}", report.findings);
    assert!(
        f.notes.iter().any(|n| n.starts_with(
            "1 later migration fails for the same reason (on what is missing after migrations \
             twice cannot run): fixtures/layouts/goose-go/00004_default_theme.sql:2 (no such \
             table: settings)"
        )),
        "{:#?}",
        f.notes
    );
}

#[test]
fn temporal_sql_tool_runs_versions_in_semver_order_and_files_in_manifest_order() {
    let ws = load(&["fixtures/layouts/temporal-sql-tool"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::temporal::KIND);
    // v1.10 after v1.9; in v1.2 the manifest's order, not the names'.
    assert_eq!(
        versions(&ws, 0),
        ["1.0", "1.2", "1.2", "1.9", "1.10", "1.11"]
    );
    let names: Vec<&str> = seq.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "base",
            "tasks",
            "add_owner",
            "owner_default",
            "owner_index",
            "done_flag"
        ]
    );
    // The tool sends each statement on its own.
    assert!(seq.migrations.iter().all(|m| m.up.no_transaction));
    for skipped in ["draft.sql", "/schema.sql", "/database.sql"] {
        assert!(
            ws.notices
                .iter()
                .any(|n| n.contains(skipped) && n.contains("skipped")),
            "{skipped}: {:#?}",
            ws.notices
        );
    }
    snapshot_layout(
        "temporal_sql_tool",
        &["fixtures/layouts/temporal-sql-tool"],
        &static_opts(),
    );
    let report = check_paths(&["fixtures/layouts/temporal-sql-tool"], &Options::default());
    assert_eq!(
        files_of(&report, "malformed-migration"),
        ["fixtures/layouts/temporal-sql-tool/versioned/v1.11/done_flag.sql"]
    );
    // Run in the tool's order, nothing fails on its first run.
    assert!(!report.findings.iter().any(|f| f.rule == "first-run-error"));
    // Pointing at `versioned/` itself reads the same history.
    let ws = load(
        &["fixtures/layouts/temporal-sql-tool/versioned"],
        &static_opts(),
    );
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(
        versions(&ws, 0),
        ["1.0", "1.2", "1.2", "1.9", "1.10", "1.11"]
    );
    assert_no_findings(
        "fixtures/layouts/temporal-sql-tool-clean",
        &Options::default(),
    );
}

#[test]
fn atlas_reads_checkpoints_delimiters_txmode_and_its_sum_file() {
    let ws = load(&["fixtures/layouts/atlas"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::atlas::KIND);
    // A new database starts from the last checkpoint: the file before it
    // is left out, the checkpoint is the starting state.
    assert_eq!(
        versions(&ws, 0),
        [
            "20240201000000",
            "20240301000000",
            "20240401000000",
            "20240501000000"
        ]
    );
    assert!(seq.migrations[0].apply_only);
    assert!(!seq.migrations[1].apply_only);
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("1 file before the checkpoint 20240201000000_checkpoint.sql")));
    // `-- atlas:delimiter //`: the trigger's `;` does not end it.
    let audit = &seq.migrations[1].up;
    assert_eq!(audit.statements.len(), 2);
    assert!(!audit.no_transaction);
    // `-- atlas:txmode none` in the header.
    assert!(seq.migrations[2].up.no_transaction);
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("README.md: skipped: not an atlas migration")));
    snapshot_layout("atlas", &["fixtures/layouts/atlas"], &static_opts());
    // The last file changed after `atlas migrate hash`.
    let report = check_paths(&["fixtures/layouts/atlas"], &Options::default());
    assert_eq!(
        files_of(&report, "malformed-migration"),
        ["fixtures/layouts/atlas/20240501000000_admin.sql"]
    );
    assert!(report
        .findings
        .iter()
        .any(|f| f.rule == "create-without-if-not-exists" && f.message.contains("users_audit")));
    assert_no_findings("fixtures/layouts/atlas-clean", &Options::default());
    let ws = load(&["fixtures/layouts/atlas-clean"], &static_opts());
    // `-- atlas:delimiter \n\n`: a blank line ends each statement.
    assert_eq!(ws.sequences[0].migrations[1].up.statements.len(), 2);
}

#[test]
fn refinery_reads_unversioned_migrations_as_forward_ones() {
    let ws = load(&["fixtures/layouts/refinery"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::refinery::KIND);
    assert_eq!(seq.dialect, Dialect::Sqlite);
    assert_eq!(
        seq.dialect_why,
        "the nearest Cargo.toml: refinery with the `rusqlite` feature"
    );
    // `U2` is refinery's unversioned migration, not Flyway's undo; sub-folders
    // are read too.
    assert_eq!(versions(&ws, 0), ["1", "2", "3"]);
    assert!(seq.migrations.iter().all(|m| m.down.is_none()));
    for skipped in [
        "V4__audit.rs: skipped: a Rust migration",
        "V5__index-posts.sql: skipped",
    ] {
        assert!(
            ws.notices.iter().any(|n| n.contains(skipped)),
            "{skipped}: {:#?}",
            ws.notices
        );
    }
    snapshot_layout("refinery", &["fixtures/layouts/refinery"], &static_opts());
    let report = check_paths(&["fixtures/layouts/refinery"], &Options::default());
    assert!(!report.findings.iter().any(|f| f.rule == "first-run-error"));
    assert_no_findings("fixtures/layouts/refinery-clean", &Options::default());
    // Without the dependency the same names are Flyway's (U = undo).
    let ws = load(&["fixtures/layouts/refinery/migrations"], &{
        let mut o = static_opts();
        o.layout = Some(LayoutKind::Flyway);
        o
    });
    assert_eq!(ws.sequences[0].layout, LayoutKind::Flyway);
}

#[test]
fn graphile_migrate_reads_committed_current_and_after_reset() {
    let ws = load(&["fixtures/layouts/graphile-migrate"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::graphile::KIND);
    assert_eq!(seq.dialect, Dialect::Postgres);
    // afterReset's schema.sql is the starting state, then committed/, then
    // the current migration, which `watch` runs again.
    assert_eq!(
        versions(&ws, 0),
        ["reset", "000001", "000002", "000003", "current"]
    );
    assert!(seq.migrations[0].apply_only);
    assert!(seq.migrations[2].up.no_transaction);
    assert!(!seq.migrations[1].up.no_transaction);
    assert!(seq.migrations[4].rerun_note.is_some());
    for notice in [
        "schema_snapshot.sql: skipped",
        "afterReset runs `./scripts/seed-roles.sh`",
        "placeholders :DATABASE_VISITOR",
    ] {
        assert!(
            ws.notices.iter().any(|n| n.contains(notice)),
            "{notice}: {:#?}",
            ws.notices
        );
    }
    snapshot_layout(
        "graphile_migrate",
        &["fixtures/layouts/graphile-migrate"],
        &static_opts(),
    );
    // 000003.sql was edited after it was committed.
    let report = check_paths(&["fixtures/layouts/graphile-migrate"], &static_opts());
    assert_eq!(
        files_of(&report, "malformed-migration"),
        ["fixtures/layouts/graphile-migrate/migrations/committed/000003.sql"]
    );
    assert_no_findings("fixtures/layouts/graphile-migrate-clean", &static_opts());
}

/// Down parts found by each tool's own names: never run as forward
/// migrations.
fn downs(ws: &Workspace) -> Vec<bool> {
    ws.sequences[0]
        .migrations
        .iter()
        .map(|m| m.down.is_some())
        .collect()
}

#[test]
fn postgrator_pairs_do_and_undo_in_version_order() {
    let ws = load(&["fixtures/layouts/postgrator"], &static_opts());
    assert_eq!(ws.sequences[0].layout, twice::layout::postgrator::KIND);
    assert_eq!(versions(&ws, 0), ["1", "2", "10"]);
    assert_eq!(downs(&ws), [true, true, false]);
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("003.do.js-step.js: skipped: a JavaScript migration")));
    snapshot_layout(
        "postgrator",
        &["fixtures/layouts/postgrator"],
        &static_opts(),
    );
    assert_no_findings("fixtures/layouts/postgrator-clean", &Options::default());
}

#[test]
fn db_migrate_pairs_up_and_down_sql_files() {
    let ws = load(&["fixtures/layouts/db-migrate"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    assert_eq!(ws.sequences[0].layout, twice::layout::db_migrate::KIND);
    assert_eq!(versions(&ws, 0), ["20150101000000", "20150102000000"]);
    assert_eq!(downs(&ws), [true, true]);
    snapshot_layout(
        "db_migrate",
        &["fixtures/layouts/db-migrate"],
        &static_opts(),
    );
    assert_no_findings("fixtures/layouts/db-migrate-clean", &Options::default());
}

#[test]
fn yoyo_follows_depends_rollbacks_and_the_post_apply_hook() {
    let ws = load(&["fixtures/layouts/yoyo"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::yoyo::KIND);
    let names: Vec<&str> = seq.migrations.iter().map(|m| m.name.as_str()).collect();
    // 0002 depends on 0003, so 0003 runs first; the hook comes last.
    assert_eq!(
        names,
        [
            "0001.users",
            "0003.audit",
            "0002.audit-trigger",
            "0004.vacuum",
            "post-apply"
        ]
    );
    assert_eq!(downs(&ws), [true, false, false, false, false]);
    assert!(seq.migrations[3].up.no_transaction);
    assert!(seq.migrations[4].rerun_note.is_some());
    snapshot_layout("yoyo", &["fixtures/layouts/yoyo"], &static_opts());
    let report = check_paths(&["fixtures/layouts/yoyo"], &Options::default());
    assert!(!report.findings.iter().any(|f| f.rule == "first-run-error"));
    assert_no_findings("fixtures/layouts/yoyo-clean", &Options::default());
}

#[test]
fn node_pg_migrate_splits_up_and_down_and_orders_by_time() {
    let ws = load(&["fixtures/layouts/node-pg-migrate"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::node_pg_migrate::KIND);
    assert_eq!(seq.dialect, Dialect::Postgres);
    // 20220101000000000 is 2022-01-01 (UTC), between the two millisecond
    // timestamps (2021-12-20 and 2022-04-15).
    assert_eq!(
        versions(&ws, 0),
        ["1640000000000", "20220101000000000", "1650000000000"]
    );
    assert_eq!(downs(&ws), [true, true, false]);
    assert_eq!(statements(&ws, 0, false).len(), 3);
    snapshot_layout(
        "node_pg_migrate",
        &["fixtures/layouts/node-pg-migrate"],
        &static_opts(),
    );
    assert_no_findings("fixtures/layouts/node-pg-migrate-clean", &static_opts());
}

#[test]
fn mybatis_splits_at_undo_and_starts_from_bootstrap() {
    let ws = load(&["fixtures/layouts/mybatis"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::mybatis::KIND);
    assert_eq!(
        versions(&ws, 0),
        [
            "bootstrap",
            "20240101000000",
            "20240102000000",
            "20240103000000"
        ]
    );
    assert!(seq.migrations[0].apply_only);
    assert_eq!(downs(&ws), [false, true, true, true]);
    assert!(ws
        .notices
        .iter()
        .any(|n| n.contains("onabort.sql: skipped")));
    snapshot_layout("mybatis", &["fixtures/layouts/mybatis"], &static_opts());
    // `${changelog}` is the changelog table's name, not an undefined
    // placeholder; --define still wins.
    let report = check_paths(&["fixtures/layouts/mybatis"], &Options::default());
    assert!(!report
        .findings
        .iter()
        .any(|f| f.rule == "undefined-placeholder" || f.rule == "first-run-error"));
    assert_no_findings("fixtures/layouts/mybatis-clean", &Options::default());
}

#[test]
fn play_evolutions_read_ups_and_downs_up_to_the_first_gap() {
    let ws = load(&["fixtures/layouts/play-evolutions"], &static_opts());
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::play::KIND);
    // 4.sql comes after a gap: Play never reads it.
    assert_eq!(versions(&ws, 0), ["1", "2"]);
    assert_eq!(downs(&ws), [true, true]);
    assert!(ws.notices.iter().any(|n| n.contains("4.sql: skipped")));
    // The `# --- !Ups` marker lines are not SQL (and no MySQL sign).
    assert_eq!(seq.dialect, Dialect::Sqlite);
    assert!(statements(&ws, 0, false)
        .iter()
        .all(|s| !s.contains("!Ups")));
    snapshot_layout(
        "play_evolutions",
        &["fixtures/layouts/play-evolutions"],
        &static_opts(),
    );
    assert_no_findings(
        "fixtures/layouts/play-evolutions-clean",
        &Options::default(),
    );
}

/// A folder whose SQL names no dialect takes the one its project's files
/// name: a direct `go.mod` requirement (not the `// indirect` ones), a
/// `package.json` dependency (before its devDependencies), a `pom.xml`
/// dependency for a Liquibase folder that picks changesets by `dbms`. A folder whose
/// project runs two databases keeps the default and says nothing; signs of
/// two dialects with none ahead are settled by the project's driver.
#[test]
fn generic_sql_takes_the_dialect_its_project_names() {
    let ws = load(&["fixtures/layouts/project-driver"], &static_opts());
    let dialects: Vec<(String, String)> = ws
        .sequences
        .iter()
        .map(|s| (s.root.clone(), s.dialect.to_string()))
        .collect();
    assert_eq!(
        dialects,
        vec![
            (
                "fixtures/layouts/project-driver/go-service/db/migrations".to_string(),
                "mysql".to_string()
            ),
            (
                "fixtures/layouts/project-driver/java-liquibase/src/main/resources/db/changelog"
                    .to_string(),
                "postgres".to_string()
            ),
            (
                "fixtures/layouts/project-driver/node-app/migrations".to_string(),
                "postgres".to_string()
            ),
            // pop's files for each database: the SQLite ones, whatever
            // driver go.mod requires.
            (
                "fixtures/layouts/project-driver/pop-service/migrations".to_string(),
                "sqlite".to_string()
            ),
            (
                "fixtures/layouts/project-driver/python-tie/migrations".to_string(),
                "postgres".to_string()
            ),
            (
                "fixtures/layouts/project-driver/two-databases/migrations".to_string(),
                "sqlite".to_string()
            ),
        ]
    );
    assert!(
        !ws.notices.iter().any(|n| n.contains("two-databases")),
        "{:?}",
        ws.notices
    );
    // Liquibase picks changesets by `dbms` before the SQL is read: the
    // project's pom.xml picks the PostgreSQL index, not the MySQL one.
    assert_eq!(versions(&ws, 1), vec!["ana:1", "ana:2"]);
    // --dialect still wins.
    let forced = load(
        &["fixtures/layouts/project-driver/node-app"],
        &twice::check::Options {
            dialect: Some(twice::dialect::Dialect::Sqlite),
            ..static_opts()
        },
    );
    assert_eq!(forced.sequences[0].dialect.to_string(), "sqlite");
    snapshot_layout(
        "project_driver",
        &["fixtures/layouts/project-driver"],
        &static_opts(),
    );
}

/// A walked folder no tool claims whose files are all application queries
/// (bind parameters such as `$1`, or read-only `SELECT ... FROM`) is left out
/// with a notice: replayed, each query failed its first run on an empty
/// database. A `SELECT` that changes things (`create_hypertable`) keeps its
/// folder in; named on the command line, a query folder is read.
#[test]
fn query_folders_are_not_migrations() {
    let ws = load(&["fixtures/layouts/query-folders"], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        vec![
            "fixtures/layouts/query-folders/db/migrations",
            "fixtures/layouts/query-folders/db/timescale",
            "fixtures/layouts/query-folders/site/sqlpage/migrations",
        ]
    );
    // SQLPage's pages (`SELECT 'list' AS component`, `sqlpage.cookie(...)`)
    // are queries whatever they write; its `sqlpage/migrations/` is read.
    // pgTyped's (`/* @name countVisit */`, `:id!`) too.
    for folder in ["app/models/user", "app/reports", "app/statements", "site"] {
        assert!(
            ws.notices.iter().any(|n| n
                == &format!(
                "fixtures/layouts/query-folders/{folder}: skipped: a folder of query files (each \
                     has bind parameters such as `$1` or pgTyped's `:id!` and `/* @name */` tags, \
                     only reads: `SELECT ... FROM`, or is a SQLPage page), not migrations (name it \
                     to check it)"
            )),
            "{:?}",
            ws.notices
        );
    }
    // An editor package's syntax tests.
    assert!(
        ws.notices.iter().any(|n| n
            == "fixtures/layouts/query-folders/editor/syntaxes/SQL: skipped: Sublime Text syntax \
                tests (`syntax_test_*` files starting `-- SYNTAX TEST`), not migrations (name it to \
                check it)"),
        "{:?}",
        ws.notices
    );
    let named = load(
        &["fixtures/layouts/query-folders/app/reports"],
        &static_opts(),
    );
    assert_eq!(named.sequences.len(), 1);
    assert_eq!(named.sequences[0].migrations.len(), 2);
    snapshot_layout(
        "query_folders",
        &["fixtures/layouts/query-folders"],
        &static_opts(),
    );
}

/// Schema dumps beside a migrations folder (also one level down, as
/// `db/migrations/`) are left out: `schema-16.sql` by its name, a file that
/// starts as pg_dump writes it by its content. A dump with no migrations
/// folder beside it is read.
#[test]
fn schema_dumps_beside_migrations_are_not_migrations() {
    let ws = load(&["fixtures/layouts/schema-dumps"], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    // go-app's `internal/migrations/` holds Go code, not SQL migrations:
    // its schema.sql is read.
    assert_eq!(
        roots,
        vec![
            "fixtures/layouts/schema-dumps/db/migrations",
            "fixtures/layouts/schema-dumps/go-app",
            "fixtures/layouts/schema-dumps/restore",
        ]
    );
    // Rails' `db/structure.sql` beside its `db/migrate/` of Ruby.
    for file in ["baseline.sql", "schema-16.sql", "rails/structure.sql"] {
        assert!(
            ws.notices.iter().any(|n| n
                == &format!(
                    "fixtures/layouts/schema-dumps/{file}: skipped: a schema dump beside the \
                     migrations folder, not a migration (name it to check it)"
                )),
            "{:?}",
            ws.notices
        );
    }
    snapshot_layout(
        "schema_dumps",
        &["fixtures/layouts/schema-dumps"],
        &static_opts(),
    );
}

/// A PostgreSQL extension's source tree is not migrations: below a folder
/// holding the extension's control file (`geo.control`), the SQL is the
/// scripts CREATE EXTENSION and ALTER EXTENSION ... UPDATE run once each, and
/// pg_regress tests (`sql/` beside `expected/`); extension scripts are known
/// without a control file by their guard (`\echo Use "CREATE EXTENSION ...`)
/// and names (`counter--1.0--1.1.sql`). Double dashes alone keep a file in;
/// a file named on the command line is read.
#[test]
fn database_dumps_outside_migration_folders_are_not_migrations() {
    // `sqlite3 .schema` output (with SQLite's own sqlite_sequence and the
    // tool's version table) and dump files in folders no tool claims are
    // left out by name in `skipped`; a numbered migration that makes a
    // version table of its own is read.
    let base = "fixtures/layouts/database-dumps";
    let ws = load(&[base], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        vec![format!("{base}/bootstrap"), format!("{base}/db/migrations")]
    );
    assert_eq!(ws.sequences[0].migrations.len(), 2);
    for (file, sign) in [
        ("backups/nightly.sql", "it creates `schema_migrations`"),
        ("backups/notes.sql", "it creates `sqlite_sequence`"),
        ("db/schema/schema.sql", "it creates `_sqlx_migrations`"),
    ] {
        let want = format!(
            "{base}/{file}: skipped: a schema dump ({sign}), not a migration (name it to check it)"
        );
        assert!(ws.notices.contains(&want), "{want}\n{:#?}", ws.notices);
    }
    // Nothing else said of the emptied folders.
    assert!(
        !ws.notices
            .iter()
            .any(|n| n.contains("no plain migrations found")),
        "{:#?}",
        ws.notices
    );
    // Named on the command line, the folder is read.
    let ws = load(&[&format!("{base}/db/schema")], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    snapshot_layout("database_dumps", &[base], &static_opts());
}

/// Flyway baseline migrations: a new database starts from the latest
/// `B<version>__x.sql` (applied once as the starting state, not audited),
/// and the versioned migrations up to its version are left out with a
/// notice, as Flyway ignores them there.
#[test]
fn flyway_starts_a_new_database_from_its_latest_baseline() {
    let base = "fixtures/layouts/flyway-baseline/db/migration";
    let ws = load(&[base], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, LayoutKind::Flyway);
    assert_eq!(versions(&ws, 0), ["2", "3"]);
    assert!(seq.migrations[0].apply_only);
    assert!(seq.migrations[1].down.is_some());
    let want = format!(
        "{base}: 2 versioned migrations (V1__customers.sql to V2__orders.sql) up to version 2 not \
         read: Flyway starts a new database from its latest baseline migration B2__baseline.sql \
         and ignores the versioned migrations it stands for (name a file to check it)"
    );
    assert!(ws.notices.contains(&want), "{want}\n{:#?}", ws.notices);
    snapshot_layout("flyway_baseline", &[base], &static_opts());
    // Replayed from the baseline: V3 finds the table it creates.
    let report = check_paths(&[base], &Options::default());
    assert!(
        !report.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:#?}",
        report.findings
    );
}

/// Maven's and Gradle's test source sets (`src/test/`, `src/integrationTest/`,
/// `src/testFixtures/` beside `src/main/`) hold SQL the tests load (Spring's
/// `@Sql` scripts), not migrations: walking leaves them out by name; named
/// on the command line, a folder in them is read.
#[test]
fn maven_and_gradle_test_source_sets_are_not_migrations() {
    let base = "fixtures/layouts/maven-test-sources";
    let ws = load(&[base], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        vec![format!("{base}/service/src/main/resources/db/migration")]
    );
    for set in ["integrationTest", "test", "testFixtures"] {
        let want = format!(
            "{base}/service/src/{set}: skipped: a Maven or Gradle test source set (`src/main/` \
             beside it is what ships), not migrations (name it to check it)"
        );
        assert!(ws.notices.contains(&want), "{want}\n{:#?}", ws.notices);
    }
    let named = format!("{base}/service/src/test/resources/sql/orders");
    let ws = load(&[&named], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.sequences[0].migrations.len(), 2);
    snapshot_layout("maven_test_sources", &[base], &static_opts());
}

#[test]
fn postgres_extension_sources_are_not_migrations() {
    let base = "fixtures/layouts/pg-extensions";
    let ws = load(&[base], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        vec![
            format!("{base}/app/db/migrations"),
            format!("{base}/dash-names"),
            format!("{base}/loose"),
        ]
    );
    let names = |seq: usize| -> Vec<String> {
        ws.sequences[seq]
            .migrations
            .iter()
            .map(|m| m.name.clone())
            .collect()
    };
    assert_eq!(
        names(1),
        vec!["2024-01-01--add-users", "2024-02-01--add-orders"]
    );
    assert_eq!(names(2), vec!["001_counters"]);
    let expected = [
        format!(
            "{base}/geo/sql, {base}/geo/test: skipped: the sources and tests of the PostgreSQL \
             extension `geo` ({base}/geo/geo.control), which CREATE EXTENSION, ALTER EXTENSION \
             geo UPDATE and pg_regress run, not migrations (name a folder to check it)"
        ),
        format!(
            "2 files ({base}/loose/counter--1.0--1.1.sql to {base}/loose/counter--1.0.sql): \
             skipped: scripts of the PostgreSQL extension `counter`, not migrations: CREATE \
             EXTENSION and ALTER EXTENSION counter UPDATE run each once and record it in \
             pg_extension (and PostgreSQL advises against IF NOT EXISTS and OR REPLACE in them: \
             an object someone else made would be taken over); name a file to check it"
        ),
        format!(
            "{base}/regress/sql: skipped: pg_regress test scripts (each file's expected output \
             is in `expected/` beside it), not migrations (name it to check it)"
        ),
    ];
    for e in &expected {
        assert!(ws.notices.contains(e), "{e}\n{:?}", ws.notices);
    }
    // Named, a folder of extension scripts still leaves them out (each is
    // named by its control file); a script named on its own is read.
    let named = load(&[&format!("{base}/geo/sql")], &static_opts());
    assert!(named.sequences.is_empty());
    let one = load(
        &[&format!("{base}/geo/sql/geo--1.0--1.1.sql")],
        &static_opts(),
    );
    assert_eq!(one.sequences.len(), 1);
    // A pg_regress folder named on the command line is read.
    let regress = load(&[&format!("{base}/regress/sql")], &static_opts());
    assert_eq!(regress.sequences.len(), 1);
    snapshot_layout("pg_extensions", &[base], &static_opts());
}

/// Files whose names differ only in a last word naming a database
/// (`init-mysql.sql`, `init-postgres.sql`, `init-sqlite.sql`: docker
/// entrypoint scripts, one per database) are the same script for each, not
/// one history: one sequence per dialect, each file in its own.
#[test]
fn plain_files_differing_in_a_dialect_word_are_alternatives() {
    let ws = load(&["fixtures/layouts/plain-alternatives"], &static_opts());
    let seqs: Vec<(Dialect, Vec<String>)> = ws
        .sequences
        .iter()
        .map(|s| {
            (
                s.dialect,
                s.migrations.iter().map(|m| m.name.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        seqs,
        vec![
            (Dialect::Mysql, vec!["init-mysql".to_string()]),
            (Dialect::Postgres, vec!["init-postgres".to_string()]),
            (Dialect::Sqlite, vec!["init-sqlite".to_string()]),
        ]
    );
    // --dialect reads one of them, and says what it left out.
    let ws = load(
        &["fixtures/layouts/plain-alternatives"],
        &Options {
            dialect: Some(Dialect::Postgres),
            ..static_opts()
        },
    );
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.sequences[0].migrations.len(), 1);
    snapshot_layout(
        "plain_alternatives",
        &["fixtures/layouts/plain-alternatives"],
        &static_opts(),
    );
}

/// A file named for one database beside the shared file of the same name
/// (`ddl-postgresql.sql` beside `ddl.sql`, as Kill Bill keeps its DDL)
/// replaces it for that database; the shared files are what the other
/// databases run: their own sequence, of the dialect their SQL names. A
/// shared file every sequence replaces is said to be left out. Spring Boot's
/// `schema.sql` runs beside `schema-<platform>.sql`: nothing replaced there.
#[test]
fn shared_files_beside_database_named_ones() {
    let base = "fixtures/layouts/plain-shared";
    let ws = load(&[base], &static_opts());
    let seqs: Vec<(String, Dialect, Vec<String>)> = ws
        .sequences
        .iter()
        .map(|s| {
            (
                s.root.clone(),
                s.dialect,
                s.migrations.iter().map(|m| m.name.clone()).collect(),
            )
        })
        .collect();
    let v = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        seqs,
        vec![
            (
                format!("{base}/billing"),
                Dialect::Postgres,
                v(&["cleanup", "ddl-postgresql"])
            ),
            (
                format!("{base}/billing"),
                Dialect::Mysql,
                v(&["cleanup", "ddl"])
            ),
            (
                format!("{base}/mariadb"),
                Dialect::Mysql,
                v(&["setup-mariadb"])
            ),
            (
                format!("{base}/spring/src/main/resources"),
                Dialect::Mysql,
                v(&["schema-mysql", "schema"])
            ),
        ]
    );
    assert!(
        ws.sequences[1].dialect_why.starts_with(
            "the files named for no database (cleanup.sql, ddl.sql), which the other databases \
             run: their SQL uses `/*!` versioned comments"
        ),
        "{}",
        ws.sequences[1].dialect_why
    );
    let left =
        format!("{base}/mariadb/setup.sql: skipped: setup-mariadb.sql replaces it for mysql");
    assert!(ws.notices.contains(&left), "{:?}", ws.notices);
    snapshot_layout("plain_shared", &[base], &static_opts());
}

/// Go's maragu.dev/migrate (gitness): found by the module's go.mod; every
/// `*.up.sql` is a migration in file-name order, files sharing a number are
/// two migrations, and `_up.sql`/`_down.sql` are read as the library's
/// unescaped `.` reads them.
#[test]
fn maragu_migrate_runs_every_up_file_in_name_order() {
    let ws = load(&["fixtures/layouts/maragu-migrate"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    assert_eq!(ws.sequences[0].layout, twice::layout::maragu::KIND);
    assert_eq!(
        versions(&ws, 0),
        vec![
            "0001_create_table_a_users",
            "0001_create_table_b_teams",
            "0002_add_users_team"
        ]
    );
    assert!(ws.sequences[0].migrations.iter().all(|m| m.down.is_some()));
    snapshot_layout(
        "maragu_migrate",
        &["fixtures/layouts/maragu-migrate"],
        &static_opts(),
    );
    assert_no_findings("fixtures/layouts/maragu-migrate-clean", &Options::default());
}

/// Spring Boot's SQL initialization scripts run on every start, schema.sql
/// before data.sql (name order would put the data first, on tables that do
/// not exist yet); the project's application.properties names the database.
#[test]
fn spring_init_scripts_run_schema_before_data() {
    let ws = load(&["fixtures/layouts/spring-init"], &static_opts());
    assert_eq!(ws.sequences.len(), 1, "{:#?}", ws.notices);
    assert_eq!(ws.sequences[0].dialect, Dialect::Postgres);
    let names: Vec<&str> = ws.sequences[0]
        .migrations
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, vec!["schema", "data"]);
    snapshot_layout(
        "spring_init",
        &["fixtures/layouts/spring-init"],
        &static_opts(),
    );
}

#[test]
fn flyway_reads_the_schemas_its_settings_name() {
    let base = "fixtures/layouts/flyway-schemas";
    let ws = load(&[base], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let s = ws.sequences[0]
        .schemas
        .as_ref()
        .expect("schemas from pom.xml");
    assert_eq!(s.names, ["billing", "audit"]);
    assert_eq!(s.from, "<flyway.schemas> in ../pom.xml");
    assert!(ws.sequences.iter().all(|q| q.dialect == Dialect::Postgres));
}

/// Flyway's `placeholders.<name>` settings (here Spring Boot's
/// `spring.flyway.placeholders.*` in application.yml, one a Spring property
/// reference with a default, one a reference to another property of the
/// file) give the placeholders their values; `--define` still wins.
#[test]
fn flyway_placeholder_values_come_from_its_settings() {
    let base = "fixtures/layouts/flyway-placeholder-settings";
    let ws = load(&[base], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let t = ws.sequences[0]
        .placeholders
        .as_ref()
        .expect("placeholder settings from application.yml");
    assert_eq!(t.from, "../application.yml");
    assert!(
        !ws.findings
            .iter()
            .any(|f| f.rule == "undefined-placeholder"),
        "{:#?}",
        ws.findings
    );
    let defaults = |ws: &Workspace| -> Vec<String> {
        ws.files
            .iter()
            .flat_map(|f| &f.statements)
            .filter_map(|s| {
                s.sql
                    .split("DEFAULT ")
                    .nth(1)
                    .map(|d| d.trim_end_matches(';').to_string())
            })
            .collect()
    };
    assert_eq!(defaults(&ws), ["true", "false", "30"]);
    let mut opts = static_opts();
    opts.defines.insert("hash-files".into(), "false".into());
    let ws = load(&[base], &opts);
    assert_eq!(defaults(&ws), ["false", "false", "30"]);
    // Replay runs them as Flyway would: nothing is left out.
    let report = check_paths(&[base], &Options::default());
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.rule == "undefined-placeholder" || f.rule == "replay-statement-skipped"),
        "{:#?}",
        report.findings
    );
}

/// With `placeholderReplacement=false` Flyway substitutes nothing: a
/// `${...}` in a string is plain text, not an undefined placeholder.
#[test]
fn flyway_placeholder_replacement_off_leaves_dollar_braces_alone() {
    let base = "fixtures/layouts/flyway-placeholder-replacement-off";
    let report = check_paths(&[base], &Options::default());
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.rule == "undefined-placeholder" || f.rule == "replay-statement-skipped"),
        "{:#?}",
        report.findings
    );
    let ws = load(&[base], &static_opts());
    assert_eq!(ws.sequences[0].layout, LayoutKind::Flyway);
    assert!(ws.files[0].statements[1]
        .sql
        .contains("'/report/${reportId}/view'"));
}

/// Atlas's `atlas.hcl` names the database in each env's `url`: its kind is
/// the dialect, and a MySQL url's database the one the migrations run in
/// (names qualified with it resolve to replay's scratch database). A `dev`
/// url and `getenv(...)` are not env urls read.
#[test]
fn atlas_reads_the_database_its_env_urls_name() {
    let ws = load(&["fixtures/layouts/atlas-mysql-env"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let seq = &ws.sequences[0];
    assert_eq!(seq.layout, twice::layout::atlas::KIND);
    assert_eq!(seq.dialect, Dialect::Mysql);
    assert_eq!(seq.dialect_why, "../atlas.hcl: env url mysql");
    let s = seq
        .schemas
        .as_ref()
        .expect("the database the env urls name");
    assert_eq!(s.names, ["inventory"]);
    assert_eq!(s.from, "the env url in ../atlas.hcl");
    assert!(
        !ws.findings.iter().any(|f| f.rule == "malformed-migration"),
        "{:#?}",
        ws.findings
    );
}

#[test]
fn a_flyway_callback_location_runs_in_the_history_beside_it() {
    let base = "fixtures/layouts/flyway-callbacks";
    let ws = load(&[base], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(
        roots,
        ["fixtures/layouts/flyway-callbacks/migrations"],
        "{:#?}",
        ws.notices
    );
    assert_eq!(ws.sequences[0].layout, LayoutKind::Flyway);
    assert_eq!(
        versions(&ws, 0),
        ["beforeMigrate", "1", "2", "R", "afterMigrate"]
    );
    assert!(ws.sequences[0].migrations[4]
        .rerun_note
        .as_deref()
        .is_some_and(|n| n.contains("Flyway runs it on every migrate")));
    assert!(
        ws.notices.iter().any(|n| n.contains(
            "fixtures/layouts/flyway-callbacks/migrations: read with \
             fixtures/layouts/flyway-callbacks/callbacks as one history"
        )),
        "{:#?}",
        ws.notices
    );
    snapshot_layout("flyway_callbacks", &[base], &static_opts());
    // Alone, a callback location is still Flyway's, its callbacks marked as such.
    let ws = load(
        &["fixtures/layouts/flyway-callbacks/callbacks"],
        &static_opts(),
    );
    assert_eq!(ws.sequences[0].layout, LayoutKind::Flyway);
    assert!(ws.sequences[0].layout_why.contains("a callback location"));
}

/// The sequences' roots, dialects and versions.
fn roots_dialects_versions(ws: &Workspace) -> Vec<(String, &'static str, Vec<String>)> {
    ws.sequences
        .iter()
        .enumerate()
        .map(|(i, s)| (s.root.clone(), s.dialect.name(), versions(ws, i)))
        .collect()
}

/// Files named with a dialect as the first dotted word (roundcube's
/// `mysql.initial.sql`, Icinga's `pgsql.schema.sql`): one script per
/// database, a sequence each, not one history replaying MySQL on SQLite.
/// `pgsql` (PHP PDO's name) is PostgreSQL.
#[test]
fn dialect_as_first_dotted_word_splits_the_folder() {
    let ws = load(&["fixtures/layouts/dialect-first-word"], &static_opts());
    let root = "fixtures/layouts/dialect-first-word".to_string();
    assert_eq!(
        roots_dialects_versions(&ws),
        [
            (root.clone(), "mysql", vec!["mysql.initial".to_string()]),
            (root.clone(), "postgres", vec!["pgsql.initial".to_string()]),
            (root, "sqlite", vec!["sqlite.initial".to_string()]),
        ]
    );
}

/// A folder named `pgsql-upgrades` (Icinga, tt-rss's `pgsql/`) is
/// PostgreSQL's, as `postgresql-upgrades` is.
#[test]
fn pgsql_in_a_folder_name_is_postgres() {
    let ws = load(&["fixtures/layouts/pgsql-folder"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    assert_eq!(ws.sequences[0].dialect, Dialect::Postgres);
    assert_eq!(
        ws.sequences[0].dialect_why,
        "the folder name: fixtures/layouts/pgsql-folder/pgsql-upgrades"
    );
    for alias in ["pgsql", "psql", "pg", "postgresql"] {
        assert_eq!(
            Dialect::from_name(alias),
            Some(Dialect::Postgres),
            "{alias}"
        );
    }
    assert_eq!(Dialect::from_name("sqlite3"), Some(Dialect::Sqlite));
    assert_eq!(Dialect::from_name("mariadb"), Some(Dialect::Mysql));
    assert_eq!(Dialect::from_name("page"), None);
}

/// A ClickHouse folder whose later migrations (`MODIFY COLUMN`,
/// materialized views) also look like MySQL's and PostgreSQL's, under a
/// `clickhouse/` folder, in a project whose docker-compose runs `postgres`
/// (langfuse's `clickhouse/migrations/unclustered/`): ClickHouse's, static
/// rules only, never replayed on PostgreSQL.
#[test]
fn clickhouse_signs_and_path_outweigh_the_projects_postgres() {
    let ws = load(&["fixtures/layouts/clickhouse-path"], &static_opts());
    assert_eq!(ws.sequences.len(), 1);
    let seq = &ws.sequences[0];
    assert_eq!(seq.migrations.len(), 4);
    assert_eq!(
        ws.foreign.get(&seq.root),
        Some(&twice::sniff::Family::Clickhouse),
        "{}",
        seq.dialect_why
    );
}

/// CockroachDB histories (flipt's `cockroachdb/` folder beside its
/// `postgres/` one) are written in PostgreSQL's language with statements of
/// their own: known by a `cockroachdb` folder, or by those statements
/// (`unique_rowid()`, hash-sharded indexes), they get the static rules (read
/// as PostgreSQL) and are not replayed on PostgreSQL, where `STRING` columns
/// and `ALTER PRIMARY KEY` failed their first run.
#[test]
fn cockroachdb_histories_are_read_for_the_static_rules_only() {
    let root = "fixtures/layouts/ledger-histories";
    let ws = load(&[root], &static_opts());
    let mut got: Vec<(String, Option<twice::sniff::Family>, String)> = ws
        .sequences
        .iter()
        .map(|s| {
            (
                s.root.clone(),
                ws.foreign.get(&s.root).copied(),
                s.dialect.to_string(),
            )
        })
        .collect();
    got.sort();
    let cockroach = Some(twice::sniff::Family::Cockroach);
    assert_eq!(
        got,
        [
            (
                format!("{root}/by-signs"),
                cockroach,
                "postgres".to_string()
            ),
            (
                format!("{root}/cockroachdb"),
                cockroach,
                "postgres".to_string()
            ),
        ]
    );
    let by_signs = ws.sequences.iter().find(|s| s.root.ends_with("by-signs"));
    assert!(
        by_signs.is_some_and(|s| s.dialect_why.contains("unique_rowid()")),
        "{:?}",
        by_signs.map(|s| &s.dialect_why)
    );
    let report = check_paths(&[root], &twice::check::Options::default());
    for seq in &report.summary.sequences {
        assert!(seq.replay.starts_with("skipped"), "{:?}", seq);
    }
    assert!(
        report
            .notices
            .iter()
            .filter(|n| n.contains("written in CockroachDB"))
            .count()
            == 2,
        "{:#?}",
        report.notices
    );
    assert!(
        !report.findings.iter().any(|f| f.rule == "first-run-error"),
        "{:#?}",
        report.findings
    );
}

/// Code generators' templates (JeecgBoot's
/// `java/${bussiPackage}/.../V${currentDate}_1__menu_insert_${entityName}.sql`,
/// `{{module}}/` folders) are left out with a notice; the real migrations
/// beside them are read.
#[test]
fn code_generator_templates_are_not_migrations() {
    let ws = load(&["fixtures/layouts/codegen-templates"], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(roots, ["fixtures/layouts/codegen-templates/db/migration"]);
    for notice in [
        "fixtures/layouts/codegen-templates/code-template/one/java/${bussiPackage}: skipped: a code generator's templates (the folder name holds a placeholder), not migrations (name it to check it)",
        "fixtures/layouts/codegen-templates/code-template/tree/{{module}}: skipped: a code generator's templates (the folder name holds a placeholder), not migrations (name it to check it)",
        "fixtures/layouts/codegen-templates/code-template/flat/V${version}__create_${table}.sql: skipped: a code generator's template (the file name holds a placeholder), not a migration (name it to check it)",
    ] {
        assert!(
            ws.notices.iter().any(|n| n == notice),
            "{notice}\n{:#?}",
            ws.notices
        );
    }
}

/// A `tests/` folder at the top of the folder walked (roundcube's
/// `tests/src/sql/`) is the project's tests, left out with a notice even
/// with no migrations folder beside it; named, it is read.
#[test]
fn a_top_level_tests_folder_is_not_migrations() {
    let ws = load(&["fixtures/layouts/root-tests"], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(roots, ["fixtures/layouts/root-tests/SQL/sqlite"]);
    let notice = "fixtures/layouts/root-tests/tests: skipped: a folder of tests at the top of the project, not migrations (name it to check it)";
    assert!(
        ws.notices.iter().any(|n| n == notice),
        "{notice}\n{:#?}",
        ws.notices
    );
    let ws = load(&["fixtures/layouts/root-tests/tests"], &static_opts());
    let roots: Vec<&str> = ws.sequences.iter().map(|s| s.root.as_str()).collect();
    assert_eq!(roots, ["fixtures/layouts/root-tests/tests/src/sql"]);
}
