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
//!   scripts as `<name>@<tag>.sql`. `sqitch rework` names them after the
//!   last tag before the rework, but tags may be added later, so since
//!   Sqitch 0.951 (`Plan.pm` collects the rework tags, `Plan/Change.pm`'s
//!   `_path_segments` picks one) the earlier occurrence tries every tag
//!   between it and its next occurrence: the tags of the changes from the
//!   last one before the rework back to the earlier occurrence's own (each
//!   change's tags in plan order), and takes the first whose `deploy/`
//!   script exists; its `revert/` and `verify/` scripts take the same name.
//!   When none exists Sqitch looks for the first tag's script and fails (a
//!   notice naming it). A change reworked again does the same with the tags
//!   before its own next occurrence; a change planned twice with no tag
//!   between makes Sqitch refuse the plan (a notice);
//! - `[dep ...]` lists the changes a change requires (`!name` a conflict):
//!   a required change that is not planned before it makes Sqitch refuse
//!   the plan (reported as a notice naming both);
//! - `sqitch.conf`'s `engine` (`pg`, `sqlite`, `mysql`) decides the
//!   dialect; scripts run in a transaction unless they manage their own.

use super::{whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::{LayoutKind, Migration};
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

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
    /// The index of this change's next occurrence, for a change planned
    /// again later (reworked).
    pub next: Option<usize>,
    /// The line of the next occurrence of a change planned again with no tag
    /// between (Sqitch refuses such a plan).
    pub duplicated_at: Option<usize>,
}

/// A parsed `sqitch.plan`: its changes in order and the tags of each.
#[derive(Debug, Default)]
pub struct SqitchPlan {
    pub changes: Vec<Change>,
    /// The tags declared after each change (before the next one), in order.
    pub tags: Vec<Vec<String>>,
    /// A tag declared again: (tag, its first line, the line repeating it).
    pub repeated_tags: Vec<(String, usize, usize)>,
    /// For each change, the latest change at or before it with a tag.
    last_tagged: Vec<Option<usize>>,
}

impl SqitchPlan {
    /// For a change planned again later (reworked): the tags between this
    /// occurrence and the next, in the order Sqitch tries them for the
    /// scripts' `@tag` suffix (the tags of the latest change first, this
    /// change's own last; each change's tags in plan order). Empty when the
    /// change is not reworked, or is planned again with no tag between.
    /// Lazy: a plan of 30,000 changes each planned again after 30,000 tags
    /// would hold 900 million of them.
    pub fn rework_tags(&self, i: usize) -> impl Iterator<Item = &str> {
        let j = self.changes[i].next.unwrap_or(i);
        (i..j)
            .rev()
            .flat_map(move |k| self.tags[k].iter().map(String::as_str))
    }

    /// The first of [`Self::rework_tags`], found without walking them.
    fn first_rework_tag(&self, i: usize) -> Option<&str> {
        let j = self.changes[i].next?;
        let k = self.last_tagged[j - 1].filter(|&k| k >= i)?;
        self.tags[k].first().map(String::as_str)
    }
}

/// The changes of a plan, in order, with the tags of each.
pub fn parse_plan(text: &str) -> SqitchPlan {
    let mut plan = SqitchPlan::default();
    let mut tag_lines: HashMap<String, usize> = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split(" #").next().unwrap_or(raw).trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('%') {
            continue;
        }
        if let Some(tag) = line.strip_prefix('@') {
            let tag = tag.split_whitespace().next().unwrap_or("").to_string();
            // Sqitch refuses a tag declared twice; the first counts.
            if let Some(&first) = tag_lines.get(&tag) {
                plan.repeated_tags.push((tag, first, n + 1));
                continue;
            }
            tag_lines.insert(tag.clone(), n + 1);
            if let Some(t) = plan.tags.last_mut() {
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
        plan.changes.push(Change {
            name,
            requires,
            line: n + 1,
            next: None,
            duplicated_at: None,
        });
        plan.tags.push(Vec::new());
    }
    let mut last = None;
    plan.last_tagged = (plan.tags.iter().enumerate())
        .map(|(k, t)| {
            if !t.is_empty() {
                last = Some(k);
            }
            last
        })
        .collect();
    // A change planned again later: Sqitch (Plan.pm, on reading the later
    // occurrence) lists the tags of the changes from the one before the
    // later occurrence back to the earlier occurrence's own, last.
    let mut later: HashMap<&str, usize> = HashMap::new();
    let mut next = vec![None; plan.changes.len()];
    for (i, c) in plan.changes.iter().enumerate().rev() {
        next[i] = later.insert(c.name.as_str(), i);
    }
    for (i, j) in next.into_iter().enumerate() {
        plan.changes[i].next = j;
        if let Some(j) = j {
            if plan.first_rework_tag(i).is_none() {
                plan.changes[i].duplicated_at = Some(plan.changes[j].line);
            }
        }
    }
    plan
}

/// A `deploy/<name>@<tag>.sql` script: the index of the change its tag
/// follows, the tag's place among that change's tags (reversed: Sqitch
/// tries the earlier first), its stem.
type TaggedScript<'a> = (usize, Reverse<usize>, &'a str);

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let parsed = parse_plan(folder.aux.get(PLAN).map_or("", String::as_str));
    let find = |dir: &str, stem: &str| folder.index_of(&format!("{dir}/{stem}.sql"));
    // The `deploy/<name>@<tag>.sql` scripts, by change name: (the index of
    // the change the tag follows, the tag's place among its tags, stem), in
    // the order Sqitch prefers them last.
    let mut tag_at: HashMap<&str, (usize, usize)> = HashMap::new();
    for (k, tags) in parsed.tags.iter().enumerate() {
        for (at, t) in tags.iter().enumerate() {
            tag_at.insert(t.as_str(), (k, at));
        }
    }
    let mut tagged: HashMap<&str, Vec<TaggedScript>> = HashMap::new();
    for e in &folder.entries {
        let Some(stem) = (e.rel.strip_prefix("deploy/")).and_then(|r| r.strip_suffix(".sql"))
        else {
            continue;
        };
        if let Some((name, tag)) = stem.rsplit_once('@') {
            if let Some(&(k, at)) = tag_at.get(tag) {
                tagged.entry(name).or_default().push((k, Reverse(at), stem));
            }
        }
    }
    for v in tagged.values_mut() {
        v.sort_unstable();
    }
    // The stem of change `i`'s scripts, as Sqitch picks it: `name`, or for a
    // reworked change `name@tag` with the first of its rework tags whose
    // deploy script exists, else with the first of them (the script Sqitch
    // looks for and does not find).
    let stem = |i: usize| -> String {
        let c = &parsed.changes[i];
        let Some(j) = c.next else {
            return c.name.clone();
        };
        let found = tagged.get(c.name.as_str()).and_then(|v| {
            let before = v.partition_point(|(k, _, _)| *k < j);
            v[..before].last().filter(|(k, _, _)| *k >= i)
        });
        match (found, parsed.first_rework_tag(i)) {
            (Some((_, _, s)), _) => s.to_string(),
            (None, Some(t)) => format!("{}@{t}", c.name),
            (None, None) => c.name.clone(),
        }
    };
    for (tag, first, again) in &parsed.repeated_tags {
        plan.notices.push(format!(
            "{}/{PLAN}:{again}: Sqitch refuses this plan: tag @{tag} is declared again (first on line {first})",
            folder.display
        ));
    }
    let mut used = BTreeSet::new();
    let mut planned: BTreeSet<&str> = BTreeSet::new();
    for (i, c) in parsed.changes.iter().enumerate() {
        for r in &c.requires {
            if !planned.contains(r.as_str()) {
                plan.notices.push(format!(
                    "{}/{PLAN}:{}: Sqitch refuses this plan: change {} requires {r}, which is not planned before it",
                    folder.display, c.line, c.name
                ));
            }
        }
        planned.insert(&c.name);
        if let Some(at) = c.duplicated_at {
            plan.notices.push(format!(
                "{}/{PLAN}:{at}: Sqitch refuses this plan: change {} is planned again with no tag since its declaration on line {} (a rework needs a tag between)",
                folder.display, c.name, c.line
            ));
        }
        let stem = stem(i);
        let Some(deploy) = find("deploy", &stem) else {
            // Sqitch looks for the first tag's script and says it is missing;
            // name the next few it tried too.
            let others: Vec<String> = (parsed.rework_tags(i).skip(1).take(4))
                .map(|t| format!("deploy/{}@{t}.sql", c.name))
                .collect();
            let why = if others.is_empty() {
                "Sqitch would fail to deploy it".to_string()
            } else {
                format!(
                    "nor {}{}: Sqitch tries each tag between it and its rework, and would fail to deploy it",
                    others[..others.len().min(3)].join(" or "),
                    if others.len() > 3 { " or ..." } else { "" }
                )
            };
            plan.notices.push(format!(
                "{}/{PLAN}:{}: change {} has no deploy/{stem}.sql ({why})",
                folder.display, c.line, c.name
            ));
            continue;
        };
        used.insert(deploy);
        let revert = find("revert", &stem);
        if let Some(r) = revert {
            used.insert(r);
        }
        plan.migrations.push(Migration::new(
            String::new(),
            stem,
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

    /// A plan line: `name [deps]` or `@tag`, with Sqitch's timestamp and planner.
    fn plan_text(lines: &[&str]) -> String {
        let mut t = String::from("%syntax-version=1.0.0\n%project=p\n\n");
        for l in lines {
            let (head, deps) = l.split_once(' ').map_or((*l, ""), |(h, d)| (h, d));
            let deps = if deps.is_empty() {
                String::new()
            } else {
                format!(" {deps}")
            };
            t += &format!("{head}{deps} 2024-01-01T00:00:00Z A <a@x> # note\n");
        }
        t
    }

    fn sqitch_folder(lines: &[&str], files: &[&str]) -> (Folder, Plan) {
        let files: Vec<(&str, &str)> = files.iter().map(|f| (*f, "SELECT 1;")).collect();
        let mut f = folder(&files);
        f.aux.insert(PLAN.into(), plan_text(lines));
        let p = plan(&f);
        (f, p)
    }

    fn names(p: &Plan) -> Vec<&str> {
        p.migrations.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn rework_tags_in_sqitch_order_bounded_by_the_next_occurrence() {
        // Sqitch's t/plan.t: the tags of the latest change first, the
        // reworked change's own last, each change's in plan order.
        let text = plan_text(&[
            "f", "@a", "@b", "g", "@c", "h", "f [f@c]", "@d", "f [f@d]", "f2",
        ]);
        let c = parse_plan(&text);
        let tags: Vec<(&str, Vec<&str>)> = (c.changes.iter().enumerate())
            .map(|(i, ch)| (ch.name.as_str(), c.rework_tags(i).collect()))
            .collect();
        assert_eq!(
            tags,
            [
                ("f", vec!["c", "a", "b"]),
                ("g", vec![]),
                ("h", vec![]),
                ("f", vec!["d"]),
                ("f", vec![]),
                ("f2", vec![])
            ]
        );
        // The first whose deploy script exists, else the first.
        let stems = |files: &[&str]| {
            let (_, p) = sqitch_folder(
                &[
                    "f", "@a", "@b", "g", "@c", "h", "f [f@c]", "@d", "f [f@d]", "f2",
                ],
                files,
            );
            names(&p).join(" ")
        };
        let mut all = vec![
            "deploy/f.sql",
            "deploy/g.sql",
            "deploy/h.sql",
            "deploy/f2.sql",
        ];
        all.extend(["deploy/f@b.sql", "deploy/f@d.sql"]);
        assert_eq!(stems(&all), "f@b g h f@d f f2");
        all.extend(["deploy/f@a.sql", "deploy/f@c.sql"]);
        assert_eq!(stems(&all), "f@c g h f@d f f2");
    }

    #[test]
    fn a_tag_declared_again_is_refused_and_the_first_counts() {
        let (_, p) = sqitch_folder(
            &["f", "@a", "g", "@a", "f [f@a]"],
            &["deploy/f@a.sql", "deploy/f.sql", "deploy/g.sql"],
        );
        assert_eq!(names(&p), ["f@a", "g", "f"]);
        assert_eq!(
            p.notices,
            ["m/sqitch.plan:7: Sqitch refuses this plan: tag @a is declared again (first on line 5)"]
        );
    }

    #[test]
    fn rework_takes_a_later_tag_whose_script_exists() {
        // Two tags on the change before its rework; the copy is named after
        // the second.
        let (f, p) = sqitch_folder(
            &["widgets", "bump", "@v1.0", "@v1.1", "bump [bump@v1.1]"],
            &[
                "deploy/widgets.sql",
                "deploy/bump@v1.1.sql",
                "deploy/bump.sql",
                "revert/bump@v1.0.sql",
                "revert/bump@v1.1.sql",
                "revert/bump.sql",
                "verify/bump@v1.1.sql",
            ],
        );
        assert_eq!(names(&p), ["widgets", "bump@v1.1", "bump"]);
        assert!(p.notices.is_empty(), "{:?}", p.notices);
        // The revert script takes the deploy script's tag, although one for
        // the first tag exists.
        let down = p.migrations[1].down.as_ref().expect("revert of bump@v1.1");
        assert_eq!(f.entries[down.file].rel, "revert/bump@v1.1.sql");
        let skipped: Vec<(&str, &str)> = p
            .skipped
            .iter()
            .map(|(i, why)| (f.entries[*i].rel.as_str(), why.as_str()))
            .collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].0 == "revert/bump@v1.0.sql" && skipped[0].1.contains("not a script"));
        assert!(skipped[1].0 == "verify/bump@v1.1.sql" && skipped[1].1.contains("verify script"));
    }

    #[test]
    fn rework_tries_the_latest_tags_before_the_first_one_after_it() {
        // chef-server's oc_bifrost shape: the first tag after `u` tags a
        // later change (t1), the copy is named after a tag of the change
        // before the rework (t2), which Sqitch tries first.
        let (_, p) = sqitch_folder(
            &[
                "u", "d", "@t1", "b", "@t2", "@t3", "u [u@t2]", "@t4", "@t5", "u [u@t4]",
            ],
            &[
                "deploy/u@t2.sql",
                "deploy/u@t4.sql",
                "deploy/u.sql",
                "deploy/d.sql",
                "deploy/b.sql",
            ],
        );
        assert_eq!(names(&p), ["u@t2", "d", "b", "u@t4", "u"]);
        assert!(p.notices.is_empty(), "{:?}", p.notices);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    }

    #[test]
    fn reworked_twice_each_occurrence_looks_before_its_next() {
        let (_, p) = sqitch_folder(
            &["f", "@a", "@b", "f [f@b]", "@c", "f [f@c]"],
            &[
                "deploy/f@a.sql",
                "deploy/f@c.sql",
                "deploy/f.sql",
                "deploy/f@b.sql",
            ],
        );
        // The first tries its own tags a, b in plan order (f@b stays unused);
        // the second only c, the tag before its own rework.
        assert_eq!(names(&p), ["f@a", "f@c", "f"]);
        assert_eq!(p.skipped.len(), 1, "{:?}", p.skipped);
    }

    #[test]
    fn rework_without_any_tagged_script_is_reported() {
        let (_, p) = sqitch_folder(
            &["f", "@a", "g", "@b", "f [f@b]"],
            &["deploy/g.sql", "deploy/f.sql", "revert/f@b.sql"],
        );
        assert_eq!(names(&p), ["g", "f"]);
        assert_eq!(
            p.notices,
            ["m/sqitch.plan:4: change f has no deploy/f@b.sql (nor deploy/f@a.sql: Sqitch tries each tag between it and its rework, and would fail to deploy it)"]
        );
        let (_, p) = sqitch_folder(&["f", "@a", "f [f@a]"], &["deploy/f.sql"]);
        assert_eq!(
            p.notices,
            ["m/sqitch.plan:4: change f has no deploy/f@a.sql (Sqitch would fail to deploy it)"]
        );
    }

    #[test]
    fn planned_twice_without_a_tag_between_is_refused() {
        let (_, p) = sqitch_folder(&["f", "g", "f", "@a"], &["deploy/f.sql", "deploy/g.sql"]);
        assert!(
            p.notices.iter().any(|n| n.starts_with("m/sqitch.plan:6: Sqitch refuses this plan: change f is planned again with no tag since its declaration on line 4")),
            "{:?}",
            p.notices
        );
    }
}
