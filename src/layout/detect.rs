//! Which tool a folder belongs to.
//!
//! Detection asks each layout of [`super::registry`] in turn whether the
//! folder's SQL files (names and contents) and side files carry its mark,
//! and takes the first that does, so the result never depends on
//! file-system order. The order today:
//!
//! 1. `diesel`: migration folders holding `up.sql` (discovery only hands in
//!    `<dir>/up.sql` entries when the folder looks like a diesel one), or a
//!    folder whose SQL files are just `up.sql` (and `down.sql`);
//! 2. `liquibase`: a file starting with `--liquibase formatted sql`;
//! 3. `goose`: a `-- +goose Up` (or any `-- +goose` annotation) line;
//! 4. `dbmate`: a `-- migrate:up` line;
//! 5. `flyway`: a `V<version>__x.sql`, `U<version>__x.sql` or `R__x.sql` name;
//! 6. `pop`: `<version>_<name>.<dialect>[.autocommit].(up|down).sql` or
//!    `<version>_<name>.autocommit.(up|down).sql` names;
//! 7. `sqlx` or `golang-migrate`: `<version>_<name>.up.sql`/`.down.sql`
//!    names. The two tools read such folders identically (numeric version
//!    order, `.down.sql` as the down part); twice says `sqlx` when a
//!    `Cargo.toml` sits beside the folder (a Rust crate's `migrations/`) or
//!    when simple `<version>_<name>.sql` files sit beside the reversible
//!    ones (golang-migrate would ignore those), and `golang-migrate`
//!    otherwise;
//! 8. `sqlx`: only `<version>_<name>.sql` names and a `Cargo.toml` beside
//!    the folder;
//! 9. `plain` otherwise.

use super::{golang_migrate, pop, registry, Folder};
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

/// `<version>_<name>.up.sql`/`.down.sql` names directly in the folder
/// (golang-migrate, sqlx or pop without dialect marks).
pub fn reversible(folder: &Folder) -> bool {
    folder
        .entries
        .iter()
        .filter(|e| e.dir().is_empty())
        .any(|e| {
            pop::parse_name(e.base()).is_some() || golang_migrate::parse_name(e.base()).is_some()
        })
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
