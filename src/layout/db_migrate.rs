//! `db-migrate` (Node) SQL files: `<timestamp>-<name>-up.sql` and
//! `<timestamp>-<name>-down.sql`, which the `.js` migration of the same name
//! (written by `db-migrate create --sql-file`) reads and runs, usually in a
//! `sqls/` folder beside those `.js` files. As db-migrate orders its
//! migrations (db-migrate/node-db-migrate `lib/migration.js`, file names
//! sorted): by name; the `-down.sql` file is the down migration of the
//! `-up.sql` file of the same name.

use super::{whole, Folder, Plan};
use crate::model::{LayoutKind, Migration};
use std::collections::BTreeMap;

/// The db-migrate layout.
pub struct DbMigrate;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("db-migrate");

/// `20150101000000-add-users-up.sql` → (`20150101000000-add-users`, up?).
fn parse(base: &str) -> Option<(&str, bool)> {
    if let Some(s) = base.strip_suffix("-up.sql") {
        return (!s.is_empty()).then_some((s, true));
    }
    base.strip_suffix("-down.sql")
        .filter(|s| !s.is_empty())
        .map(|s| (s, false))
}

impl super::Layout for DbMigrate {
    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        let own: Vec<&str> = folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .map(|e| e.base())
            .collect();
        let ups = own
            .iter()
            .filter(|b| parse(b).is_some_and(|(_, up)| up))
            .count();
        let paired = own.iter().filter(|b| parse(b).is_some()).count();
        // Most of the folder's files are -up.sql/-down.sql.
        (ups > 0 && paired * 2 > own.len()).then(|| "<name>-up.sql / <name>-down.sql files".into())
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut pairs: BTreeMap<&str, (Option<usize>, Option<usize>)> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        match parse(e.base()).filter(|_| e.dir().is_empty()) {
            Some((name, true)) => pairs.entry(name).or_default().0 = Some(i),
            Some((name, false)) => pairs.entry(name).or_default().1 = Some(i),
            None => plan.skipped.push((
                i,
                "not named <name>-up.sql or <name>-down.sql: no db-migrate migration reads it"
                    .into(),
            )),
        }
    }
    for (name, (up, down)) in pairs {
        let Some(up) = up else {
            if let Some(d) = down {
                plan.skipped.push((
                    d,
                    "a down file without the -up.sql file of the same name".into(),
                ));
            }
            continue;
        };
        let digits = super::leading_digits(name);
        plan.migrations.push(Migration::new(
            if digits.is_empty() { name } else { digits }.to_string(),
            name.to_string(),
            whole(folder, up),
            down.map(|d| whole(folder, d)),
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_by_name() {
        assert_eq!(
            parse("20150101000000-add-users-up.sql"),
            Some(("20150101000000-add-users", true))
        );
        assert_eq!(
            parse("20150101000000-add-users-down.sql"),
            Some(("20150101000000-add-users", false))
        );
        assert_eq!(parse("-up.sql"), None);
        assert_eq!(parse("x.up.sql"), None);
    }
}
