//! `yoyo` (yoyo-migrations, Python) SQL migrations: `<id>.sql` files, the
//! rollback of each in `<id>.rollback.sql`, with `-- depends: <id> ...` and
//! `-- transactional: false` in their leading comments. As yoyo reads them
//! (yoyo `migrations.py`, `read_sql_migration`, `read_migrations`,
//! `topological_sort`; its documentation, *Migration files* and *Post-apply
//! hooks*):
//!
//! - a migration's id is its file name without `.sql`; migrations are sorted
//!   by id, then each runs after the ones its `-- depends:` line names (a
//!   dependency that is not there, or a cycle, makes yoyo refuse);
//! - `<id>.rollback.sql` is the down migration of `<id>`;
//! - `-- transactional: false` in the leading comments runs the migration
//!   outside a transaction;
//! - `post-apply.sql` (and `post-apply*.sql`) runs after every `yoyo apply`
//!   that applied something: again and again on the same database, so its
//!   findings say so;
//! - `.py` migrations are code twice cannot run.

use super::{whole, Folder, Plan};
use crate::model::{LayoutKind, Migration};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The yoyo layout.
pub struct Yoyo;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("yoyo");

const ROLLBACK: &str = ".rollback.sql";

/// The leading comment lines' `key: value` directives (`depends`,
/// `transactional`).
fn directives(text: &str) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let Some(c) = t.strip_prefix("--") else { break };
        if let Some((k, v)) = c.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                out.push((k, v.trim()));
            }
        }
    }
    out
}

fn is_hook(id: &str) -> bool {
    id.starts_with("post-apply")
}

impl super::Layout for Yoyo {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`-- transactional: false` in the leading comments")
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        let names: BTreeSet<&str> = folder.entries.iter().map(|e| e.rel.as_str()).collect();
        if let Some(e) = folder.entries.iter().find(|e| {
            e.rel
                .strip_suffix(ROLLBACK)
                .is_some_and(|id| names.contains(format!("{id}.sql").as_str()))
        }) {
            return Some(format!("<id>.rollback.sql files ({})", e.rel));
        }
        folder
            .entries
            .iter()
            .find(|e| directives(&e.file.text).iter().any(|(k, _)| k == "depends"))
            .map(|e| format!("`-- depends:` lines ({})", e.rel))
    }

    fn code_migration(&self, rel: &str) -> Option<String> {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        base.strip_suffix(".py")
            .filter(|id| !id.starts_with("__") && !id.ends_with(".rollback"))
            .map(str::to_string)
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        self.code_migration(name).map(|_| {
            "a Python migration: yoyo runs it as code between the SQL ones; twice reads only SQL, \
             so what it creates is missing during replay"
                .into()
        })
    }

    fn bookkeeping_sql(&self, _engine: crate::dialect::Dialect) -> Option<&'static str> {
        Some(
            "CREATE TABLE IF NOT EXISTS _yoyo_migration (migration_hash VARCHAR(64) PRIMARY KEY, \
             migration_id VARCHAR(255), applied_at_utc TIMESTAMP)",
        )
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut ups: BTreeMap<String, usize> = BTreeMap::new();
    let mut downs: BTreeMap<String, usize> = BTreeMap::new();
    let mut hooks: Vec<usize> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "in a sub-folder: yoyo reads only the folder's own files".into(),
            ));
            continue;
        }
        if let Some(id) = e.base().strip_suffix(ROLLBACK) {
            downs.insert(id.to_string(), i);
        } else if let Some(id) = super::strip_suffix_ci(e.base(), ".sql") {
            if is_hook(id) {
                hooks.push(i);
            } else {
                ups.insert(id.to_string(), i);
            }
        }
    }
    for (id, &d) in &downs {
        if !ups.contains_key(id) {
            plan.skipped
                .push((d, format!("a rollback without the migration {id}.sql")));
        }
    }
    // Sorted by id, then every migration after its dependencies (yoyo's
    // topological sort keeps the id order where dependencies allow).
    let ids: Vec<String> = ups.keys().cloned().collect();
    let deps: BTreeMap<&str, Vec<String>> = ids
        .iter()
        .map(|id| {
            let text = &folder.entries[ups[id]].file.text;
            let d = directives(text)
                .into_iter()
                .filter(|(k, _)| k == "depends")
                .flat_map(|(_, v)| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .collect();
            (id.as_str(), d)
        })
        .collect();
    for (id, d) in &deps {
        for dep in d {
            if !ups.contains_key(dep) {
                plan.problem(
                    ups[*id],
                    0..0,
                    format!(
                        "yoyo refuses to apply: {id} depends on {dep}, which is not in the folder"
                    ),
                    "name an existing migration in `-- depends:` (its file name without .sql)",
                );
            }
        }
    }
    // Kahn's algorithm, taking the first ready id each time (a migration
    // waits for the dependencies that are in the folder).
    let place: HashMap<&str, usize> = (ids.iter().enumerate())
        .map(|(a, id)| (id.as_str(), a))
        .collect();
    let mut waiting = vec![0usize; ids.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    for (a, id) in ids.iter().enumerate() {
        for d in &deps[id.as_str()] {
            if let Some(&b) = place.get(d.as_str()) {
                waiting[a] += 1;
                dependents[b].push(a);
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..ids.len()).filter(|&a| waiting[a] == 0).collect();
    let mut done = vec![false; ids.len()];
    let mut order: Vec<&str> = Vec::new();
    while let Some(a) = ready.pop_first() {
        done[a] = true;
        order.push(&ids[a]);
        for &x in &dependents[a] {
            waiting[x] -= 1;
            if waiting[x] == 0 {
                ready.insert(x);
            }
        }
    }
    if order.len() < ids.len() {
        let stuck: Vec<&str> = (0..ids.len())
            .filter(|&a| !done[a])
            .map(|a| ids[a].as_str())
            .collect();
        plan.problem(
            ups[stuck[0]],
            0..0,
            format!(
                "yoyo refuses to apply: the `-- depends:` lines of {} form a cycle",
                stuck.join(", ")
            ),
            "remove the dependency that closes the cycle",
        );
        order.extend(stuck);
    }
    for id in order {
        let i = ups[id];
        let mut up = whole(folder, i);
        up.no_transaction = directives(&folder.entries[i].file.text)
            .iter()
            .any(|(k, v)| k == "transactional" && v.eq_ignore_ascii_case("false"));
        plan.migrations.push(Migration::new(
            id.split('.').next().unwrap_or(id).to_string(),
            id.to_string(),
            up,
            downs.get(id).map(|&d| whole(folder, d)),
        ));
    }
    for i in hooks {
        let id = super::strip_suffix_ci(folder.entries[i].base(), ".sql").unwrap_or("post-apply");
        plan.migrations.push(
            Migration::new("post-apply".into(), id.to_string(), whole(folder, i), None)
                .rerun_by_design(
                    "yoyo runs its post-apply hook again after every `yoyo apply` that applies a \
                     migration",
                ),
        );
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_comment_directives() {
        let d = directives("-- a comment\n-- depends: 0001.a 0002.b\n--transactional: false\n\nCREATE TABLE t (a int); -- depends: x\n");
        assert_eq!(
            d,
            [
                ("depends".to_string(), "0001.a 0002.b"),
                ("transactional".to_string(), "false")
            ]
        );
    }
}
