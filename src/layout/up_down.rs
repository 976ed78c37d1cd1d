//! `up-down`: up/down pairs named by version in shapes golang-migrate and
//! sqlx do not read, such as `V0001.CreateUsers.up.sql` with
//! `V0001.CreateUsers.down.sql` (a `V`, a number, a `.`/`_`/`-`, a name),
//! or `0001.up.sql` / `0001.down.sql`.
//!
//! No one tool owns this shape (small runners in several ecosystems write
//! it); twice reads it the way they all do, and the way the reversible
//! layouts it knows (golang-migrate, sqlx, pop) read theirs: the number is
//! the version and migrations run by it, numerically; the `.down.sql` file of
//! a version is that migration's down part and never runs in the up
//! sequence (read as plain files, every down would run as a forward
//! migration before its up). It is not Flyway: Flyway names need `__` after
//! the version. Two up (or two down) files of one version are reported, as
//! every versioned tool refuses them.

use super::{numeric_cmp, whole, Folder, Plan};
use crate::model::{LayoutKind, Migration};
use std::collections::BTreeMap;

/// The up/down pairs layout.
pub struct UpDown;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("up-down");

impl super::Layout for UpDown {
    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .find(|e| parse_name(e.base()).is_some_and(|n| n.2))
            .map(|e| format!("versioned .up.sql/.down.sql names ({})", e.rel))
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

/// `[V]<digits>[(.|_|-)<name>].(up|down).sql` → (version digits, name, is_up).
pub fn parse_name(base: &str) -> Option<(&str, &str, bool)> {
    let stem = super::strip_suffix_ci(base, ".sql")?;
    let (stem, up) = if let Some(s) = super::strip_suffix_ci(stem, ".up") {
        (s, true)
    } else {
        (super::strip_suffix_ci(stem, ".down")?, false)
    };
    let rest = stem
        .strip_prefix('V')
        .or_else(|| stem.strip_prefix('v'))
        .unwrap_or(stem);
    let digits = super::leading_digits(rest);
    if digits.is_empty() {
        return None;
    }
    let after = &rest[digits.len()..];
    let name = if after.is_empty() {
        ""
    } else {
        after.strip_prefix(['.', '_', '-'])?
    };
    Some((digits, name, up))
}

/// The up files and the down files of one version.
type UpsDowns = (Vec<usize>, Vec<usize>);

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    // version (without leading zeros) -> (ups, downs)
    let mut by_version: BTreeMap<String, UpsDowns> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped
                .push((i, "only the files directly in the folder are read".into()));
            continue;
        }
        let Some((version, _, up)) = parse_name(e.base()) else {
            plan.skipped.push((
                i,
                "not named <version>.<name>.up.sql or .down.sql like the others".into(),
            ));
            continue;
        };
        let slot = by_version
            .entry(version.trim_start_matches('0').to_string())
            .or_default();
        if up {
            slot.0.push(i);
        } else {
            slot.1.push(i);
        }
    }
    let mut list: Vec<(String, UpsDowns)> = by_version.into_iter().collect();
    list.sort_by(|a, b| numeric_cmp(&a.0, &b.0));
    for (version, (ups, downs)) in list {
        for extra in ups.iter().skip(1).chain(downs.iter().skip(1)) {
            plan.problem(
                *extra,
                0..0,
                format!(
                    "two migrations share version {}: {} and {}",
                    if version.is_empty() { "0" } else { &version },
                    folder.entries[ups.first().or(downs.first()).copied().unwrap_or(*extra)].rel,
                    folder.entries[*extra].rel
                ),
                "give every migration its own version",
            );
        }
        let Some(&up) = ups.first() else {
            if let Some(&d) = downs.first() {
                plan.skipped
                    .push((d, "a down migration without its up migration".into()));
            }
            continue;
        };
        let (digits, name, _) = parse_name(folder.entries[up].base()).unwrap_or(("", "", true));
        plan.migrations.push(Migration::new(
            digits.to_string(),
            name.to_string(),
            whole(folder, up),
            downs.first().map(|&d| whole(folder, d)),
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Layout;
    use super::*;

    #[test]
    fn pairs_in_numeric_order() {
        let f = folder(&[
            ("V0010.AddIndex.up.sql", "CREATE INDEX i ON t (x);"),
            ("V0010.AddIndex.down.sql", "DROP INDEX i;"),
            ("V0002.CreateT.up.sql", "CREATE TABLE t (x int);"),
            ("V0002.CreateT.down.sql", "DROP TABLE t;"),
            ("notes.txt.sql", "SELECT 1;"),
        ]);
        assert!(UpDown.detect(&f).is_some());
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            ["0002 V0002.CreateT.up.sql", "0010 V0010.AddIndex.up.sql"]
        );
        assert!(p.migrations.iter().all(|m| m.down.is_some()));
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(parse_name("3.up.sql"), Some(("3", "", true)));
        assert_eq!(parse_name("V1__x.up.sql"), Some(("1", "_x", true)));
        assert_eq!(parse_name("x.up.sql"), None);
    }
}
