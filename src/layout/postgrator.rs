//! `postgrator` (Node): `<version>.do[.<name>].sql` and
//! `<version>.undo[.<name>].sql` files. As postgrator reads them
//! (rickbergfalk/postgrator `postgrator.js`, `getMigrations`):
//!
//! - a file's name without `.sql` is split at `.` into version, action and
//!   name; the version is a number (`001` is 1); files whose version is not a
//!   number are not migrations;
//! - `do` files are the migrations, run in version order; the `undo` file of
//!   the same version is its down migration; two files of one version and
//!   action make postgrator refuse;
//! - postgrator sends a file as one query (PostgreSQL runs it as one implicit
//!   transaction);
//! - `.js` migrations (`generateSql()`) are code twice cannot run.

use super::{whole, Folder, Plan};
use crate::model::{LayoutKind, Migration};
use std::collections::BTreeMap;

/// The postgrator layout.
pub struct Postgrator;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("postgrator");

/// `002.do.add-users.sql` → (`2`, `do`, `add-users`).
fn parse(base: &str) -> Option<(String, &str, &str)> {
    let stem = base.strip_suffix(".sql").or_else(|| {
        [".js", ".cjs", ".mjs"]
            .iter()
            .find_map(|x| base.strip_suffix(x))
    })?;
    let mut pieces = stem.split('.');
    let version = pieces.next()?;
    let action = pieces.next()?;
    let name = pieces.next().unwrap_or("");
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = version.trim_start_matches('0');
    Some((if v.is_empty() { "0" } else { v }.to_string(), action, name))
}

impl super::Layout for Postgrator {
    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .find(|e| parse(e.base()).is_some_and(|(_, a, _)| a == "do"))
            .map(|e| format!("<version>.do.sql names ({})", e.rel))
    }

    fn code_migration(&self, rel: &str) -> Option<String> {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        parse(base)
            .filter(|(_, a, _)| *a == "do" && !base.ends_with(".sql"))
            .map(|(v, _, _)| v)
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        let base = name.rsplit('/').next().unwrap_or(name);
        match parse(base) {
            Some((_, "undo", _)) if !base.ends_with(".sql") => {
                Some("a JavaScript undo migration: twice reads only SQL".into())
            }
            Some(_) if !base.ends_with(".sql") => Some(
                "a JavaScript migration: postgrator runs its generateSql() between the SQL ones; \
                 twice reads only SQL, so what it creates is missing during replay"
                    .into(),
            ),
            _ => None,
        }
    }

    fn checksum_advice(&self) -> Option<&'static str> {
        Some(
            "postgrator checks the md5 of every applied SQL migration (validateChecksums, on by \
             default) and stops when one changed: keep these edits to migrations not applied \
             anywhere yet",
        )
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    // version → (do, undo)
    let mut by_version: BTreeMap<(usize, String), (Option<usize>, Option<usize>)> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        let Some((version, action, _)) = parse(e.base()) else {
            plan.skipped.push((
                i,
                "not named <version>.do[.<name>].sql or <version>.undo[.<name>].sql: postgrator \
                 leaves it out"
                    .into(),
            ));
            continue;
        };
        let slot = by_version
            .entry((version.len(), version.clone()))
            .or_default();
        let (place, what) = match action {
            "do" => (&mut slot.0, "do"),
            "undo" => (&mut slot.1, "undo"),
            _ => {
                plan.skipped.push((
                    i,
                    format!(
                        "action `{action}` is neither `do` nor `undo`: postgrator never runs it"
                    ),
                ));
                continue;
            }
        };
        if let Some(first) = *place {
            plan.problem(
                i,
                0..0,
                format!(
                    "postgrator refuses to run: two migrations found with version {version} and \
                     action {what} ({} and {})",
                    folder.entries[first].base(),
                    e.base()
                ),
                "give each migration its own version",
            );
            continue;
        }
        *place = Some(i);
    }
    for ((_, version), (up, down)) in by_version {
        match up {
            Some(u) => {
                let base = folder.entries[u].base();
                let name = parse(base).map_or("", |(_, _, n)| n);
                let name = if name.is_empty() {
                    version.clone()
                } else {
                    name.to_string()
                };
                plan.migrations.push(Migration::new(
                    version.clone(),
                    name,
                    whole(folder, u),
                    down.map(|d| whole(folder, d)),
                ));
            }
            None => {
                if let Some(d) = down {
                    plan.skipped.push((
                        d,
                        format!("an undo migration without a do migration of version {version}"),
                    ));
                }
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_postgrator_splits_them() {
        assert_eq!(parse("001.do.sql"), Some(("1".into(), "do", "")));
        assert_eq!(
            parse("002.undo.add-users.sql"),
            Some(("2".into(), "undo", "add-users"))
        );
        assert_eq!(parse("000.do.x.sql"), Some(("0".into(), "do", "x")));
        assert_eq!(parse("x.do.sql"), None);
        assert_eq!(parse("001.sql"), None);
    }
}
