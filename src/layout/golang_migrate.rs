//! `golang-migrate` (`migrate -path DIR up`): `<version>_<title>.up.sql` and
//! `<version>_<title>.down.sql` directly in the folder.
//!
//! As golang-migrate does: the version is the leading number (an unsigned
//! 64-bit integer; no zero padding needed) and migrations run in numeric
//! order, so `10_x` runs after `2_x`; files that do not match the pattern
//! are ignored; two up (or two down) files for one version make it refuse
//! the folder ("duplicate migration file"). golang-migrate does not wrap
//! migrations in a transaction itself, so `no_transaction` is left to the
//! statements (the driver runs the file as one multi-statement exec).

use super::{numeric_cmp, whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::Migration;
use std::collections::BTreeMap;

/// `<version>_<name>.up.sql`/`.down.sql` names directly in the folder
/// (golang-migrate, sqlx or pop without dialect marks).
pub fn reversible(folder: &Folder) -> bool {
    folder
        .entries
        .iter()
        .filter(|e| e.dir().is_empty())
        .any(|e| super::pop::parse_name(e.base()).is_some() || parse_name(e.base()).is_some())
}

/// `<version>_<title>.(up|down).sql` → (version, title, is_up), as
/// golang-migrate's `^([0-9]+)_(.*)\.(down|up)\.(.*)$` reads it: the title
/// runs to the last `.up.` or `.down.`, and whatever follows is the
/// extension (`30_x.up..sql` is an up migration; twice reads `.sql` files).
pub fn parse_name(base: &str) -> Option<(&str, &str, bool)> {
    let (version, rest) = super::version_underscore(base)?;
    if !rest.ends_with(".sql") {
        return None;
    }
    let up = rest.rfind(".up.");
    let down = rest.rfind(".down.");
    match (up, down) {
        (Some(u), Some(d)) if d > u => Some((version, &rest[..d], false)),
        (Some(u), _) => Some((version, &rest[..u], true)),
        (None, Some(d)) => Some((version, &rest[..d], false)),
        (None, None) => None,
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut by_version: BTreeMap<String, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "golang-migrate reads only the files directly in its folder".into(),
            ));
            continue;
        }
        let Some((version, _, up)) = parse_name(e.base()) else {
            plan.skipped
                .push((i, "not named <version>_<title>.up.sql or .down.sql".into()));
            continue;
        };
        let key = version.trim_start_matches('0').to_string();
        if key.len() > 20 || (key.len() == 20 && key.as_str() > "18446744073709551615") {
            plan.problem(
                i,
                0..0,
                format!("golang-migrate refuses to run this folder: version {version} does not fit in 64 bits"),
                "use a shorter version number",
            );
            continue;
        }
        let slot = by_version.entry(key).or_default();
        if up {
            slot.0.push(i);
        } else {
            slot.1.push(i);
        }
    }
    type UpsDowns = (Vec<usize>, Vec<usize>);
    let mut versions: Vec<(String, UpsDowns)> = by_version.into_iter().collect();
    versions.sort_by(|a, b| numeric_cmp(&a.0, &b.0));
    for (_, (ups, downs)) in versions {
        for list in [&ups, &downs] {
            for &extra in list.iter().skip(1) {
                plan.problem(
                    extra,
                    0..0,
                    format!(
                        "golang-migrate refuses to run this folder: duplicate migration file {} (same version and direction as {})",
                        folder.entries[extra].rel, folder.entries[list[0]].rel
                    ),
                    "give every migration its own version",
                );
            }
        }
        let Some(&up) = ups.first() else {
            for d in downs {
                plan.skipped
                    .push((d, "a down migration without its .up.sql file".into()));
            }
            continue;
        };
        let (version, title, _) = parse_name(folder.entries[up].base()).unwrap_or_default();
        plan.migrations.push(Migration::new(
            version.to_string(),
            title.to_string(),
            whole(folder, up),
            downs.first().map(|&d| whole(folder, d)),
        ));
    }
    plan
}

/// The golang-migrate layout.
pub struct GolangMigrate;

impl super::Layout for GolangMigrate {
    /// golang-migrate's `schema_migrations (version, dirty)`, as its
    /// `database/postgres` (also its MySQL driver's shape) and
    /// `database/sqlite3` drivers create it.
    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        Some(match engine {
            Dialect::Postgres | Dialect::Mysql => {
                "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, \
                 dirty boolean NOT NULL)"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64, dirty bool); \
                 CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)"
            }
        })
    }

    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::GolangMigrate
    }

    /// The `sqlite3` and `sqlite` drivers run each file in a transaction of
    /// their own (unless the database URL sets `x-no-tx-wrap=true`, which
    /// twice cannot see); the PostgreSQL and MySQL drivers open none.
    fn wraps_migrations_in(&self, dialect: crate::dialect::Dialect) -> bool {
        dialect == crate::dialect::Dialect::Sqlite
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        reversible(folder).then(|| "<version>_<title>.up.sql/.down.sql names".into())
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;

    #[test]
    fn numeric_order_without_padding() {
        let f = folder(&[
            ("10_ten.up.sql", ""),
            ("10_ten.down.sql", ""),
            ("2_two.up.sql", ""),
            ("1_one.up.sql", ""),
            ("1_one.down.sql", ""),
            ("seed.sql", ""),
        ]);
        let p = super::plan(&f);
        assert_eq!(
            order(&f, &p),
            vec!["1 1_one.up.sql", "2 2_two.up.sql", "10 10_ten.up.sql"]
        );
        assert!(p.migrations[1].down.is_none());
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn names_read_as_the_library_reads_them() {
        use super::parse_name;
        assert_eq!(parse_name("1_init.up.sql"), Some(("1", "init", true)));
        assert_eq!(parse_name("1_init.down.sql"), Some(("1", "init", false)));
        // The extension is whatever follows the direction.
        assert_eq!(
            parse_name("30_ignore_autotag.up..sql"),
            Some(("30", "ignore_autotag", true))
        );
        assert_eq!(parse_name("2_a.up.down.sql"), Some(("2", "a.up", false)));
        assert_eq!(parse_name("3_a.down.up.sql"), Some(("3", "a.down", true)));
        assert_eq!(parse_name("4_upgrade.sql"), None);
        assert_eq!(parse_name("5_x.up.sql.bak"), None);
        assert_eq!(parse_name("x_1.up.sql"), None);
    }

    #[test]
    fn duplicates_are_problems() {
        let f = folder(&[("1_a.up.sql", ""), ("01_b.up.sql", "")]);
        let p = super::plan(&f);
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.migrations.len(), 1);
    }
}
