//! `sqlx` (`sqlx migrate run`, `sqlx::migrate!`): files named
//! `<VERSION>_<DESCRIPTION>.sql` (simple) or `<VERSION>_<DESCRIPTION>.up.sql`
//! with an optional `.down.sql` (reversible), directly in the folder.
//!
//! As sqlx does: the version is the text before the first `_` and must parse
//! as an `i64` (sqlx refuses the whole folder otherwise); migrations run by
//! version, numerically; files without `_` or not ending in `.sql` are
//! ignored; a file whose text starts with `-- no-transaction` runs outside a
//! transaction.

use super::{numeric_cmp, whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::Migration;
use std::collections::BTreeMap;

enum Kind {
    Simple,
    Up,
    Down,
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    // version -> (ups, downs, description)
    let mut by_version: BTreeMap<String, (Vec<usize>, Vec<usize>, String)> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped
                .push((i, "sqlx reads only the files directly in its folder".into()));
            continue;
        }
        let base = e.base();
        let Some((version, rest)) = base.split_once('_') else {
            plan.skipped
                .push((i, "not named <VERSION>_<DESCRIPTION>.sql".into()));
            continue;
        };
        if !rest.ends_with(".sql") {
            plan.skipped
                .push((i, "not named <VERSION>_<DESCRIPTION>.sql".into()));
            continue;
        }
        if version.is_empty()
            || !version.bytes().all(|b| b.is_ascii_digit())
            || version.parse::<i64>().is_err()
        {
            plan.problem(
                i,
                0..0,
                format!("sqlx refuses to run this folder: `{version}` (before the first `_` of {base}) is not a version number"),
                "name the file <VERSION>_<DESCRIPTION>.sql with a numeric version, or move it out of the migrations folder",
            );
            continue;
        }
        let (kind, desc) = if let Some(d) = rest.strip_suffix(".up.sql") {
            (Kind::Up, d)
        } else if let Some(d) = rest.strip_suffix(".down.sql") {
            (Kind::Down, d)
        } else {
            (Kind::Simple, rest.strip_suffix(".sql").unwrap_or(rest))
        };
        let slot = by_version
            .entry(version.trim_start_matches('0').to_string())
            .or_insert_with(|| (Vec::new(), Vec::new(), desc.to_string()));
        match kind {
            Kind::Simple | Kind::Up => slot.0.push(i),
            Kind::Down => slot.1.push(i),
        }
    }
    type Slot = (Vec<usize>, Vec<usize>, String);
    let mut versions: Vec<(String, Slot)> = by_version.into_iter().collect();
    versions.sort_by(|a, b| numeric_cmp(&a.0, &b.0));
    for (_, (ups, downs, desc)) in versions {
        let Some(&up) = ups.first() else {
            for d in downs {
                plan.skipped
                    .push((d, "a down migration without its .up.sql file".into()));
            }
            continue;
        };
        let version = super::leading_digits(folder.entries[up].base()).to_string();
        for &extra in ups.iter().skip(1) {
            plan.problem(
                extra,
                0..0,
                format!(
                    "sqlx refuses to run this folder: version {version} is used by both {} and {}",
                    folder.entries[up].rel, folder.entries[extra].rel
                ),
                "give every migration its own version",
            );
        }
        let mut up_part = whole(folder, up);
        up_part.no_transaction = no_transaction(&folder.entries[up].file.text);
        let down = downs.first().map(|&d| {
            let mut p = whole(folder, d);
            p.no_transaction = no_transaction(&folder.entries[d].file.text);
            p
        });
        plan.migrations
            .push(Migration::new(version, desc, up_part, down));
    }
    plan
}

/// sqlx's `-- no-transaction` directive (the very start of the file).
pub fn no_transaction(text: &str) -> bool {
    text.starts_with("-- no-transaction")
}

/// The sqlx layout.
pub struct Sqlx;

impl super::Layout for Sqlx {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`-- no-transaction` as the file's first line")
    }

    /// sqlx's `_sqlx_migrations`, as its PostgreSQL driver creates it, and
    /// its SQLite driver's (which MySQL's equals but for the checksum's
    /// type, a BLOB there too).
    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        Some(match engine {
            Dialect::Postgres => {
                "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version bigint PRIMARY KEY, description \
                 text NOT NULL, installed_on timestamptz NOT NULL DEFAULT now(), success boolean NOT \
                 NULL, checksum bytea NOT NULL, execution_time bigint NOT NULL)"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description \
                 TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success \
                 BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)"
            }
        })
    }

    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::Sqlx
    }

    /// `.up.sql`/`.down.sql` names beside a `Cargo.toml` or beside simple
    /// `<version>_<name>.sql` files (golang-migrate would ignore those), or
    /// only simple names beside a `Cargo.toml`.
    fn detect(&self, folder: &Folder) -> Option<String> {
        let direct: Vec<&super::Entry> = folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .collect();
        // Versions of the `.up.sql`/`.down.sql` pairs: a `<version>_<name>.sql`
        // of one of them is not a simple sqlx migration (sqlx refuses two
        // migrations of one version) but a stray file, often a misspelt
        // direction (`x.dow.sql`), which golang-migrate ignores.
        let paired: std::collections::BTreeSet<&str> = direct
            .iter()
            .filter(|e| super::golang_migrate::parse_name(e.base()).is_some())
            .filter_map(|e| super::version_underscore(e.base()).map(|(v, _)| v))
            .collect();
        let simple = |e: &&super::Entry| {
            super::version_underscore(e.base()).is_some_and(|(v, _)| !paired.contains(v))
                && e.base().ends_with(".sql")
                && super::golang_migrate::parse_name(e.base()).is_none()
        };
        // A crate that depends on sqlx keeps its migrations anywhere in it
        // (`sqlx::migrate!("src/db/postgres/migrations")`).
        let sqlx_crate = !folder.cargo_crate
            && folder
                .aux
                .get("../Cargo.toml")
                .is_some_and(|c| super::cargo_depends_on(c, "sqlx"));
        if super::golang_migrate::reversible(folder) {
            if folder.cargo_crate {
                return Some(".up.sql/.down.sql names beside a Cargo.toml".into());
            }
            if sqlx_crate {
                return Some(".up.sql/.down.sql names in a crate that depends on sqlx".into());
            }
            return direct
                .iter()
                .any(simple)
                .then(|| ".up.sql/.down.sql names beside <version>_<name>.sql files".into());
        }
        if direct.is_empty() || !direct.iter().all(simple) {
            return None;
        }
        if folder.cargo_crate {
            Some("<version>_<name>.sql names beside a Cargo.toml".into())
        } else if sqlx_crate {
            Some("<version>_<name>.sql names in a crate that depends on sqlx".into())
        } else {
            None
        }
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &["Cargo.toml"]
    }

    fn dialect(&self, folder: &Folder) -> Option<(crate::dialect::Dialect, String)> {
        super::cargo_feature_dialect(folder.aux.get("../Cargo.toml")?, "sqlx")
    }

    fn checksum_advice(&self) -> Option<&'static str> {
        Some(
            "sqlx records a checksum of every applied migration and `sqlx migrate run` refuses one whose file changed: \
             keep these edits to migrations not applied anywhere yet",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;

    #[test]
    fn numeric_order_reversible_and_simple() {
        let f = folder(&[
            ("10_ten.sql", "-- no-transaction\nselect 10;"),
            ("9_nine.up.sql", "select 9;"),
            ("9_nine.down.sql", "select -9;"),
            ("README.md.sql.txt", ""),
            ("notes.sql", ""),
        ]);
        let p = super::plan(&f);
        assert_eq!(order(&f, &p), vec!["9 9_nine.up.sql", "10 10_ten.sql"]);
        assert!(p.migrations[1].up.no_transaction);
        assert_eq!(
            f.entries[p.migrations[0].down.as_ref().unwrap().file].rel,
            "9_nine.down.sql"
        );
        assert_eq!(p.skipped.len(), 2);
    }

    #[test]
    fn a_stray_file_of_a_paired_version_is_not_a_simple_migration() {
        use super::super::Layout;
        let f = folder(&[
            ("1_init.up.sql", "select 1;"),
            ("1_init.down.sql", "select -1;"),
            ("2_points.up.sql", "select 2;"),
            ("2_points.down.sql", "select -2;"),
            ("2_points.dow.sql", "select -2;"),
        ]);
        assert_eq!(super::Sqlx.detect(&f), None);
        let with_simple = folder(&[
            ("1_init.up.sql", "select 1;"),
            ("1_init.down.sql", "select -1;"),
            ("3_more.sql", "select 3;"),
        ]);
        assert!(super::Sqlx.detect(&with_simple).is_some());
    }

    #[test]
    fn non_numeric_version_is_a_problem() {
        let f = folder(&[("init_schema.sql", "select 1;")]);
        let p = super::plan(&f);
        assert!(p.migrations.is_empty());
        assert!(p.problems[0].message.contains("`init`"));
    }
}
