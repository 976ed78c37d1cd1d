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
    text.lines().any(|l| {
        l.strip_prefix("--")
            .map(str::trim_start)
            .and_then(|r| r.get(..6))
            .is_some_and(|w| w.eq_ignore_ascii_case("+goose"))
    })
}

/// A `-- migrate:up` line.
pub fn has_dbmate_marker(text: &str) -> bool {
    text.lines().any(|l| {
        l.strip_prefix("--")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix("migrate:up"))
            .is_some_and(|after| after.is_empty() || after.starts_with(char::is_whitespace))
    })
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
    fn markers_must_start_lines() {
        assert!(!has_dbmate_marker("select 1; -- migrate:up"));
        assert!(!has_dbmate_marker("-- migrate:upgrade"));
        assert!(has_dbmate_marker("--migrate:up transaction:false"));
        assert!(!has_goose_annotation("  -- +goose Up"));
    }
}
