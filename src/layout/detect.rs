//! Which tool a folder belongs to.
//!
//! Detection asks each layout of [`super::registry`] in turn whether the
//! folder's SQL files (names and contents) and side files carry its mark,
//! and takes the first that does, so the result never depends on
//! file-system order. Each layout's `detect` says what it looks for; the
//! order (the registry's) puts the layouts with the most specific marks
//! first: a project file (`sqitch.plan`), folder shapes (diesel's
//! `<dir>/up.sql`, Prisma's `<dir>/migration.sql`), a changelog or header
//! (Liquibase), annotations in the files (goose, sql-migrate, tern, dbmate),
//! side files (Drizzle's journal, Supabase's folder), file names (Flyway,
//! pop, sqlx/golang-migrate, up-down), and `plain` last. sqlx and
//! golang-migrate read `<version>_<name>.up.sql`/`.down.sql` folders
//! identically; twice says `sqlx` when a `Cargo.toml` sits beside the folder
//! or simple `<version>_<name>.sql` files sit beside the reversible ones
//! (golang-migrate would ignore those), and `golang-migrate` otherwise.

use super::{registry, Folder};
use crate::model::LayoutKind;

/// The layout of `folder`: the first layout of the registry that claims it.
pub fn detect(folder: &Folder) -> LayoutKind {
    detect_why(folder).0
}

/// The layout of `folder` and the sign that decided it.
pub fn detect_why(folder: &Folder) -> (LayoutKind, String) {
    for l in registry() {
        if let Some(why) = l.detect(folder) {
            return (l.kind(), why);
        }
    }
    (LayoutKind::Plain, "no migration tool's marks".into())
}

/// A `-- +goose ...` annotation line.
pub fn has_goose_annotation(text: &str) -> bool {
    text.lines().any(is_goose_annotation)
}

/// `line` is a `-- +goose ...` annotation.
pub fn is_goose_annotation(line: &str) -> bool {
    line.strip_prefix("--")
        .map(str::trim_start)
        .and_then(|r| r.get(..6))
        .is_some_and(|w| w.eq_ignore_ascii_case("+goose"))
}

/// A `-- migrate:up` line.
pub fn has_dbmate_marker(text: &str) -> bool {
    text.lines().any(is_dbmate_marker)
}

/// `line` is a `-- migrate:up` line.
pub fn is_dbmate_marker(line: &str) -> bool {
    line.strip_prefix("--")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("migrate:up"))
        .is_some_and(|after| after.is_empty() || after.starts_with(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::folder;
    use super::*;

    fn kind(files: &[(&str, &str)]) -> LayoutKind {
        detect(&folder(files))
    }

    #[test]
    fn detects_each_layout() {
        assert_eq!(
            kind(&[("a/up.sql", ""), ("a/down.sql", "")]),
            LayoutKind::Diesel
        );
        assert_eq!(
            kind(&[("up.sql", ""), ("down.sql", "")]),
            LayoutKind::Diesel
        );
        assert_eq!(
            kind(&[("c.sql", "--liquibase formatted sql\n")]),
            LayoutKind::Liquibase
        );
        assert_eq!(kind(&[("1_a.sql", "-- +goose Up\n")]), LayoutKind::Goose);
        assert_eq!(kind(&[("1_a.sql", "-- migrate:up\n")]), LayoutKind::Dbmate);
        assert_eq!(kind(&[("V1__a.sql", "")]), LayoutKind::Flyway);
        assert_eq!(kind(&[("R__a.sql", "")]), LayoutKind::Flyway);
        assert_eq!(kind(&[("1_a.postgres.up.sql", "")]), LayoutKind::Pop);
        assert_eq!(kind(&[("1_a.autocommit.up.sql", "")]), LayoutKind::Pop);
        assert_eq!(
            kind(&[("1_a.up.sql", ""), ("1_a.down.sql", "")]),
            LayoutKind::GolangMigrate
        );
        assert_eq!(
            kind(&[("1_a.up.sql", ""), ("2_b.sql", "")]),
            LayoutKind::Sqlx
        );
        assert_eq!(kind(&[("1_a.sql", ""), ("2_b.sql", "")]), LayoutKind::Plain);
        assert_eq!(kind(&[("schema.sql", "")]), LayoutKind::Plain);
        let mut f = folder(&[("1_a.sql", ""), ("2_b.sql", "")]);
        f.cargo_crate = true;
        assert_eq!(detect(&f), LayoutKind::Sqlx);
        f = folder(&[("1_a.up.sql", ""), ("1_a.down.sql", "")]);
        f.cargo_crate = true;
        assert_eq!(detect(&f), LayoutKind::Sqlx);
    }

    #[test]
    fn marks_found_line_by_line_agree_with_each_layout_reading_the_whole_text() {
        use super::super::{node_pg_migrate, sql_migrate, tern, test_util::MARK_TEXTS, Marks};
        for t in MARK_TEXTS {
            let m = Marks::of(t);
            assert_eq!(m.has(LayoutKind::Goose), has_goose_annotation(t), "{t:?}");
            assert_eq!(m.has(LayoutKind::Dbmate), has_dbmate_marker(t), "{t:?}");
            assert_eq!(
                m.has(sql_migrate::KIND),
                sql_migrate::has_marker(t),
                "{t:?}"
            );
            assert_eq!(
                m.has(node_pg_migrate::KIND),
                node_pg_migrate::is_sql_migration(t),
                "{t:?}"
            );
            assert_eq!(
                m.has(tern::KIND),
                t.contains("---- create above / drop below ----"),
                "{t:?}"
            );
        }
        // Each of these marks shows in some text, and none in a plain one.
        for k in [
            LayoutKind::Goose,
            LayoutKind::Dbmate,
            sql_migrate::KIND,
            node_pg_migrate::KIND,
            tern::KIND,
        ] {
            assert!(MARK_TEXTS.iter().any(|t| Marks::of(t).has(k)), "{k:?}");
            assert!(!Marks::of("CREATE TABLE t (a int);\n").has(k), "{k:?}");
        }
    }

    #[test]
    fn markers_must_start_lines() {
        assert!(!has_dbmate_marker("select 1; -- migrate:up"));
        assert!(!has_dbmate_marker("-- migrate:upgrade"));
        assert!(has_dbmate_marker("--migrate:up transaction:false"));
        assert!(!has_goose_annotation("  -- +goose Up"));
    }
}
