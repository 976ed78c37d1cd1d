//! `diesel` (`diesel migration run`): one folder per migration,
//! `<version>_<name>/up.sql` with an optional `down.sql`, inside the
//! migrations folder; `diesel setup` adds `00000000000000_diesel_initial_setup`.
//!
//! As diesel does: the version is the folder name before its first `_`
//! with `-` removed (`2024-01-31-120000_create_users` → `20240131120000`),
//! and migrations run in version order compared as text (diesel's versions
//! are fixed-width timestamps); `metadata.toml` with
//! `run_in_transaction = false` runs the migration outside a transaction.
//! Files directly in the migrations folder are not migrations. A folder
//! holding `up.sql` itself (a single migration named directly) is that one
//! migration.

use super::{whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::Migration;
use std::collections::BTreeMap;

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    // migration folder -> (up, down)
    let mut dirs: BTreeMap<String, (Option<usize>, Option<usize>)> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        let dir = e.dir();
        if dir.contains('/') {
            plan.skipped.push((
                i,
                "diesel reads only <migration>/up.sql and down.sql".into(),
            ));
            continue;
        }
        let dir = if dir.is_empty() {
            // The folder itself is one migration.
            folder
                .display
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("")
        } else {
            dir
        };
        let slot = dirs.entry(dir.to_string()).or_default();
        match e.base() {
            "up.sql" => slot.0 = Some(i),
            "down.sql" => slot.1 = Some(i),
            _ if e.dir().is_empty() => plan.skipped.push((
                i,
                "diesel migrations are folders holding up.sql and down.sql".into(),
            )),
            _ => plan
                .skipped
                .push((i, "diesel runs only up.sql and down.sql".into())),
        }
    }
    type UpDown = (Option<usize>, Option<usize>);
    let mut list: Vec<(String, String, UpDown)> = dirs
        .into_iter()
        .map(|(dir, files)| (version_of(&dir), dir, files))
        .collect();
    list.sort();
    for (version, dir, (up, down)) in list {
        let Some(up) = up else {
            if let Some(d) = down {
                plan.skipped
                    .push((d, "the migration folder has no up.sql".into()));
            }
            continue;
        };
        let name = dir.split_once('_').map_or("", |(_, n)| n).to_string();
        let meta_key = if folder.entries[up].dir().is_empty() {
            "metadata.toml".to_string()
        } else {
            format!("{dir}/metadata.toml")
        };
        let no_tx = folder
            .aux
            .get(&meta_key)
            .is_some_and(|t| !run_in_transaction(t));
        let mut up_part = whole(folder, up);
        up_part.no_transaction = no_tx;
        let down = down.map(|d| {
            let mut p = whole(folder, d);
            p.no_transaction = no_tx;
            p
        });
        plan.migrations
            .push(Migration::new(version, name, up_part, down));
    }
    super::duplicate_versions(&mut plan, folder, "diesel", |m| Some(m.version.clone()));
    plan
}

/// Diesel's version of a migration folder name.
pub fn version_of(dir: &str) -> String {
    dir.split('_').next().unwrap_or("").replace('-', "")
}

/// `run_in_transaction` from a diesel `metadata.toml` (default true).
fn run_in_transaction(toml_text: &str) -> bool {
    toml_text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("run_in_transaction").and_then(|v| v.as_bool()))
        .unwrap_or(true)
}

/// The diesel layout.
pub struct Diesel;

impl super::Layout for Diesel {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`run_in_transaction = false` in the migration's `metadata.toml`")
    }

    /// diesel's `__diesel_schema_migrations`.
    fn bookkeeping_sql(&self, _engine: Dialect) -> Option<&'static str> {
        Some(
            "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY \
             KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        )
    }

    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::Diesel
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        let direct: Vec<&super::Entry> = folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .collect();
        if folder
            .entries
            .iter()
            .any(|e| !e.dir().is_empty() && e.base() == "up.sql")
        {
            return Some("migration folders holding up.sql".into());
        }
        (!direct.is_empty()
            && direct.iter().any(|e| e.base() == "up.sql")
            && direct
                .iter()
                .all(|e| matches!(e.base(), "up.sql" | "down.sql")))
        .then(|| "a migration folder holding up.sql".into())
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &["Cargo.toml"]
    }

    fn dialect(&self, folder: &Folder) -> Option<(crate::dialect::Dialect, String)> {
        super::cargo_feature_dialect(folder.aux.get("../Cargo.toml")?, "diesel")
    }

    fn migration_dir_file(&self) -> Option<&'static str> {
        Some("up.sql")
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        rel.split_once('/')
            .is_some_and(|(dir, f)| !dir.is_empty() && f == "metadata.toml")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;

    #[test]
    fn folders_in_version_order() {
        let mut f = folder(&[
            ("2024-01-02-000000_b/up.sql", ""),
            ("2024-01-02-000000_b/down.sql", ""),
            ("00000000000000_diesel_initial_setup/up.sql", ""),
            ("2023-12-31-235959_a/up.sql", ""),
            ("schema.sql", ""),
        ]);
        f.aux.insert(
            "2024-01-02-000000_b/metadata.toml".into(),
            "run_in_transaction = false\n".into(),
        );
        let p = super::plan(&f);
        assert_eq!(
            order(&f, &p),
            vec![
                "00000000000000 00000000000000_diesel_initial_setup/up.sql",
                "20231231235959 2023-12-31-235959_a/up.sql",
                "20240102000000 2024-01-02-000000_b/up.sql",
            ]
        );
        assert!(p.migrations[2].up.no_transaction);
        assert!(p.migrations[2].down.is_some());
        assert_eq!(p.migrations[1].name, "a");
        assert_eq!(p.skipped.len(), 1);
    }
}
