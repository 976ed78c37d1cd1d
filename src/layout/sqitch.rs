//! `sqitch` (`sqitch deploy`): a project folder with `sqitch.plan` and the
//! `deploy/`, `revert/` and `verify/` script folders.
//!
//! As Sqitch does (sqitchers/sqitch, `lib/App/Sqitch/Plan.pm` and
//! `sqitch-plan.pod`, `sqitch-configuration.pod`):
//! - `sqitch.plan` gives the order: one change per line
//!   (`name [deps] timestamp planner <email> # note`), after `%pragma`
//!   lines; `@tag` lines tag the change before them; `#` starts a comment;
//! - a change's scripts are `deploy/<name>.sql` (the up part),
//!   `revert/<name>.sql` (the down part) and `verify/<name>.sql`, a
//!   read-only check run after deploying: it is never replayed as a
//!   migration (skipped with a notice);
//! - a change planned again after a tag (a rework) keeps its earlier
//!   scripts as `<name>@<tag>.sql`, the tag being the first one after the
//!   earlier occurrence;
//! - `[dep ...]` lists the changes a change requires (`!name` a conflict):
//!   a required change that is not planned before it makes Sqitch refuse
//!   the plan (reported as a notice naming both);
//! - `sqitch.conf`'s `engine` (`pg`, `sqlite`, `mysql`) decides the
//!   dialect; scripts run in a transaction unless they manage their own.

use super::{whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::{LayoutKind, Migration};
use std::collections::BTreeSet;

/// The Sqitch layout.
pub struct Sqitch;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("sqitch");

const PLAN: &str = "sqitch.plan";
const CONF: &str = "sqitch.conf";

impl super::Layout for Sqitch {
    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .aux
            .contains_key(PLAN)
            .then(|| format!("{PLAN} with deploy/ and revert/ scripts"))
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        rel == PLAN || rel == CONF
    }

    fn project_file(&self, name: &str) -> bool {
        name == PLAN
    }

    fn absorbs_subfolder(&self, rel: &str, _folder: &Folder) -> bool {
        matches!(rel.split('/').next(), Some("deploy" | "revert" | "verify"))
    }

    fn dialect(&self, folder: &Folder) -> Option<(Dialect, String)> {
        let conf = folder.aux.get(CONF)?;
        let engine = conf.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "engine").then(|| v.trim().trim_matches('"').to_string())
        })?;
        let d = match engine.as_str() {
            "pg" | "cockroach" => Dialect::Postgres,
            "sqlite" => Dialect::Sqlite,
            "mysql" => Dialect::Mysql,
            _ => return None,
        };
        Some((d, format!("{CONF}: engine = {engine}")))
    }
}

/// One change line of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    pub requires: Vec<String>,
    /// The 1-based line in sqitch.plan.
    pub line: usize,
    /// The file stem of its scripts (`name`, or `name@tag` when reworked).
    pub stem: String,
}

/// The changes of a plan, in order, with rework stems resolved.
pub fn parse_plan(text: &str) -> Vec<Change> {
    // (change index, tags after it)
    let mut changes: Vec<Change> = Vec::new();
    let mut tags_after: Vec<Vec<String>> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or(raw).trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('%') {
            continue;
        }
        if let Some(tag) = line.strip_prefix('@') {
            let tag = tag.split_whitespace().next().unwrap_or("").to_string();
            if let Some(t) = tags_after.last_mut() {
                t.push(tag);
            }
            continue;
        }
        let line = line.trim_start_matches(['+', '-']);
        let name = line.split_whitespace().next().unwrap_or("").to_string();
        if name.is_empty() {
            continue;
        }
        let requires = match (line.find('['), line.find(']')) {
            (Some(a), Some(b)) if a < b => line[a + 1..b]
                .split_whitespace()
                .filter(|d| !d.starts_with('!'))
                .map(|d| d.split('@').next().unwrap_or(d).to_string())
                .collect(),
            _ => Vec::new(),
        };
        changes.push(Change {
            stem: name.clone(),
            name,
            requires,
            line: n + 1,
        });
        tags_after.push(Vec::new());
    }
    // A change planned again later: its earlier scripts carry the first tag
    // that follows the earlier occurrence.
    for i in 0..changes.len() {
        let reworked_later = changes[i + 1..].iter().any(|c| c.name == changes[i].name);
        if !reworked_later {
            continue;
        }
        if let Some(tag) = tags_after[i..].iter().flatten().next() {
            changes[i].stem = format!("{}@{tag}", changes[i].name);
        }
    }
    changes
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let changes = parse_plan(folder.aux.get(PLAN).map_or("", String::as_str));
    let find = |dir: &str, stem: &str| {
        let rel = format!("{dir}/{stem}.sql");
        folder.entries.iter().position(|e| e.rel == rel)
    };
    let mut used = BTreeSet::new();
    let mut planned: BTreeSet<&str> = BTreeSet::new();
    for c in &changes {
        for r in &c.requires {
            if !planned.contains(r.as_str()) {
                plan.notices.push(format!(
                    "{}/{PLAN}:{}: Sqitch refuses this plan: change {} requires {r}, which is not planned before it",
                    folder.display, c.line, c.name
                ));
            }
        }
        planned.insert(&c.name);
        let Some(deploy) = find("deploy", &c.stem) else {
            plan.notices.push(format!(
                "{}/{PLAN}:{}: change {} has no deploy/{}.sql (Sqitch would fail to deploy it)",
                folder.display, c.line, c.name, c.stem
            ));
            continue;
        };
        used.insert(deploy);
        let revert = find("revert", &c.stem);
        if let Some(r) = revert {
            used.insert(r);
        }
        plan.migrations.push(Migration::new(
            String::new(),
            c.stem.clone(),
            whole(folder, deploy),
            revert.map(|r| whole(folder, r)),
        ));
    }
    for (i, e) in folder.entries.iter().enumerate() {
        if used.contains(&i) {
            continue;
        }
        let why = if e.rel.starts_with("verify/") {
            "a Sqitch verify script: a read-only check Sqitch runs after deploying, not a migration; not replayed"
        } else {
            "not a script of a change in sqitch.plan"
        };
        plan.skipped.push((i, why.into()));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn plan_order_reworks_and_requirements() {
        let text = "%syntax-version=1.0.0\n%project=shop\n\nschema 2024-01-01T00:00:00Z A <a@x> # schema\nusers [schema] 2024-01-02T00:00:00Z A <a@x> # users\n@v1.0 2024-01-03T00:00:00Z A <a@x> # tag\nusers [users@v1.0] 2024-01-04T00:00:00Z A <a@x> # rework\norders [payments] 2024-01-05T00:00:00Z A <a@x>\n";
        let c = parse_plan(text);
        let stems: Vec<&str> = c.iter().map(|c| c.stem.as_str()).collect();
        assert_eq!(stems, ["schema", "users@v1.0", "users", "orders"]);
        let mut f = folder(&[
            ("deploy/schema.sql", "CREATE SCHEMA s;"),
            ("deploy/users@v1.0.sql", "CREATE TABLE s.users (id int);"),
            ("deploy/users.sql", "ALTER TABLE s.users ADD COLUMN n text;"),
            ("revert/users.sql", "ALTER TABLE s.users DROP COLUMN n;"),
            ("deploy/orders.sql", "CREATE TABLE s.orders (id int);"),
            ("verify/orders.sql", "SELECT id FROM s.orders WHERE false;"),
        ]);
        f.aux.insert(PLAN.into(), text.into());
        let p = plan(&f);
        let names: Vec<&str> = p.migrations.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["schema", "users@v1.0", "users", "orders"]);
        assert!(p.migrations[2].down.is_some());
        assert!(p.skipped.iter().any(|(_, why)| why.contains("verify")));
        assert!(p.notices.iter().any(|n| n.contains("requires payments")));
    }
}
