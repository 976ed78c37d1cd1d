//! Which Liquibase changelogs of a folder are roots, and what each root
//! runs, in order.
//!
//! As Liquibase reads them (`DatabaseChangeLog.include`/`includeAll`):
//! - a root changelog is one no other changelog of the folder includes (a
//!   changelog including itself does not count); a folder may hold several
//!   (one per database, each `liquibase update --changelog-file` of its
//!   own), and each root is a history of its own;
//! - `include file`, `includeAll path` and `sqlFile path` are followed in
//!   document order, into the XML, YAML and JSON changelogs they name
//!   (recursively) and to the SQL files (formatted SQL changelogs read by
//!   changeset, other SQL files whole);
//! - `includeAll` takes every changelog below its folder, sub-folders
//!   included, sorted by path (Liquibase's standard comparator compares
//!   the paths as strings);
//! - a path with `relativeToChangelogFile="true"` starts at the including
//!   changelog's folder; any other path starts at a search-path root twice
//!   does not know, so it is matched by its end (the longest match: the
//!   classpath path `db/changelog/changes/x.sql` finds `changes/x.sql`);
//! - a changelog already read is not read again (Liquibase runs a changeset
//!   once per root), so cycles and self-includes end there.
//!
//! Only files inside the folder are read: a path that leads out of it names
//! nothing (a changelog named that way is a gap, as one of change types).
//! Changelogs that hold changesets of Liquibase's change types (anything
//! but `sqlFile`) are gaps in the order: replay runs without them
//! ([`crate::model::Migration::code_before`]).

use super::{is_changelog_file, references, Reference};
use crate::layout::Folder;
use std::collections::{HashMap, HashSet};

/// The folder's changelogs of Liquibase's own formats (XML, YAML, JSON
/// holding `databaseChangeLog`), at any depth, by path.
pub(super) fn changelogs(folder: &Folder) -> Vec<(&str, &str)> {
    folder
        .aux
        .iter()
        .filter(|(rel, text)| {
            !rel.starts_with("../") && is_changelog_file(rel) && text.contains("databaseChangeLog")
        })
        .map(|(rel, text)| (rel.as_str(), text.as_str()))
        .collect()
}

/// What a root changelog runs.
#[derive(Debug)]
pub(super) struct History<'a> {
    /// The root changelog's path in the folder.
    pub root: &'a str,
    /// The SQL entries, in the order Liquibase runs them.
    pub order: Vec<usize>,
    /// The changelogs of change types it runs, each with the number of SQL
    /// entries run before it.
    pub gaps: Vec<(usize, String)>,
}

/// What a reference names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Sql(usize),
    Log(usize),
    /// A changelog (by its name) that is not among the folder's: change
    /// types twice cannot read, or a file outside the folder.
    Unread(String),
}

/// The changelogs and SQL files of a folder and what each changelog names.
struct Graph<'a> {
    logs: Vec<(&'a str, &'a str)>,
    /// Per changelog, what its references name, in document order.
    targets: Vec<Vec<Target>>,
    /// Per changelog, its references as written.
    refs: Vec<Vec<Reference>>,
}

/// Every path of the folder that a reference may name: SQL entries and
/// changelogs, by path, and the folders they are in (each lookup costs the
/// reference's length, not the folder's size).
struct Paths<'a> {
    by_rel: HashMap<&'a str, Target>,
    /// Every folder holding a path (`a/b` for `a/b/c.sql`, and `a`).
    dirs: HashSet<&'a str>,
    /// Every (path, target), sorted by path: the paths below a folder are
    /// one run of it.
    all: Vec<(&'a str, Target)>,
}

impl<'a> Paths<'a> {
    fn of(folder: &'a Folder, logs: &[(&'a str, &'a str)]) -> Paths<'a> {
        let mut all: Vec<(&str, Target)> = folder
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.rel.as_str(), Target::Sql(i)))
            .chain(
                logs.iter()
                    .enumerate()
                    .map(|(j, (rel, _))| (*rel, Target::Log(j))),
            )
            .collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        let mut by_rel: HashMap<&str, Target> = HashMap::with_capacity(all.len());
        let mut dirs: HashSet<&str> = HashSet::new();
        for (rel, t) in &all {
            by_rel.entry(rel).or_insert_with(|| t.clone());
            let mut d = *rel;
            while let Some((up, _)) = d.rsplit_once('/') {
                if !dirs.insert(up) {
                    break;
                }
                d = up;
            }
        }
        Paths { by_rel, dirs, all }
    }

    /// The paths below the folder `dir` (everything for the folder itself),
    /// by path.
    fn below(&self, dir: &str) -> &[(&'a str, Target)] {
        if dir.is_empty() {
            return &self.all;
        }
        let prefix = format!("{dir}/");
        let start = self.all.partition_point(|(rel, _)| *rel < prefix.as_str());
        let len = self.all[start..].partition_point(|(rel, _)| rel.starts_with(&prefix));
        &self.all[start..start + len]
    }
}

/// The tails of a search-path path at its `/`s, longest first (`a/b/c.sql`,
/// `b/c.sql`, `c.sql`).
fn tails(p: &str) -> impl Iterator<Item = &str> {
    std::iter::once(p)
        .chain(p.match_indices('/').map(move |(i, _)| &p[i + 1..]))
        .filter(|t| !t.is_empty())
}

/// `path`'s components with `.` and empty ones left out and `..` applied;
/// `None` when `..` leads above the start. `\` separates too.
fn components(path: &str) -> Option<Vec<&str>> {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// How a reference is resolved: an exact path in the folder, or a path
/// whose end names one.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Exact(String),
    Suffix(String),
    Outside,
}

/// Where `reference`, written in the changelog at `from`, points.
/// `display` is the folder as shown, whose last components let a relative
/// path leave the folder and come back into it (`../changelog/x.sql` from
/// a changelog in `changelog/`).
fn wanted(display: &str, from: &str, reference: &Reference) -> Wanted {
    let path = reference.path.trim();
    let path = path
        .strip_prefix("classpath*:")
        .or_else(|| path.strip_prefix("classpath:"))
        .unwrap_or(path);
    if !reference.relative {
        // From a search-path root: only its end can be matched. Leading
        // `..` components climb out of a root twice does not know.
        let kept: Vec<&str> = path
            .split(['/', '\\'])
            .filter(|c| !c.is_empty() && *c != ".")
            .skip_while(|c| *c == "..")
            .collect();
        return match components(&kept.join("/")) {
            Some(c) => Wanted::Suffix(c.join("/")),
            None => Wanted::Outside,
        };
    }
    let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
    let mut climbed = 0;
    let mut out: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    let mut rest: Vec<&str> = Vec::new();
    for c in path.split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." if out.is_empty() && rest.is_empty() => climbed += 1,
            ".." => {
                if rest.pop().is_none() {
                    out.pop();
                }
            }
            _ if climbed > 0 => rest.push(c),
            _ => out.push(c),
        }
    }
    if climbed == 0 {
        return Wanted::Exact(out.join("/"));
    }
    // Out of the folder by `climbed` levels: back in only through the
    // folder's own name(s).
    let own: Vec<&str> = display
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if own.len() < climbed || own.contains(&"..") || rest.len() < climbed {
        return Wanted::Outside;
    }
    if rest[..climbed] != own[own.len() - climbed..] {
        return Wanted::Outside;
    }
    Wanted::Exact(rest[climbed..].join("/"))
}

/// `rel` in the folder shown as `display`, as discovery shows files.
pub(super) fn join_display(display: &str, rel: &str) -> String {
    if display == "." || display.is_empty() {
        rel.to_string()
    } else {
        format!("{}/{rel}", display.trim_end_matches('/'))
    }
}

impl<'a> Graph<'a> {
    fn of(folder: &'a Folder) -> Graph<'a> {
        let logs = changelogs(folder);
        let paths = Paths::of(folder, &logs);
        let mut targets = Vec::with_capacity(logs.len());
        let mut refs = Vec::with_capacity(logs.len());
        for (j, (rel, text)) in logs.iter().enumerate() {
            let rs = references(text);
            let mut ts: Vec<Target> = Vec::new();
            for r in &rs {
                resolve(folder, &paths, j, rel, r, &mut ts);
            }
            targets.push(ts);
            refs.push(rs);
        }
        Graph {
            logs,
            targets,
            refs,
        }
    }

    /// The changelogs no other one includes, top-level ones first, each
    /// group by path. Changelogs that only a cycle of includes reaches
    /// (`a.xml` includes `b.xml`, which includes `a.xml`) are taken as
    /// Liquibase would be started on them: the one with the most includes
    /// first, and a root another root includes is not one.
    fn roots(&self) -> Vec<usize> {
        let n = self.logs.len();
        let mut included = vec![false; n];
        for (j, ts) in self.targets.iter().enumerate() {
            for t in ts {
                if let Target::Log(k) = t {
                    included[*k] |= *k != j;
                }
            }
        }
        let mut candidates: Vec<usize> = (0..n).collect();
        candidates.sort_by_key(|&j| {
            (
                included[j],
                std::cmp::Reverse(self.targets[j].len()),
                self.logs[j].0.contains('/'),
                self.logs[j].0,
            )
        });
        let mut reached = vec![false; n];
        let mut root = vec![false; n];
        let mut stack: Vec<usize> = Vec::new();
        for c in candidates {
            if reached[c] {
                continue;
            }
            root[c] = true;
            reached[c] = true;
            stack.push(c);
            while let Some(j) = stack.pop() {
                for t in &self.targets[j] {
                    let Target::Log(k) = *t else { continue };
                    if root[k] && k != c {
                        root[k] = false;
                    } else if !reached[k] {
                        reached[k] = true;
                        stack.push(k);
                    }
                }
            }
        }
        let mut roots: Vec<usize> = (0..n).filter(|&j| root[j]).collect();
        roots.sort_by_key(|&j| (self.logs[j].0.contains('/'), self.logs[j].0));
        roots
    }

    /// Entering the changelog `j` after `run` SQL entries: a gap there
    /// when it holds change types.
    fn enter(&self, folder: &Folder, j: usize, run: usize, gaps: &mut Vec<(usize, String)>) {
        let (rel, text) = self.logs[j];
        if has_change_types(text) {
            gaps.push((run, join_display(&folder.display, rel)));
        }
    }

    /// What the root `root` runs.
    fn history(&self, folder: &Folder, root: usize) -> History<'a> {
        let mut seen_log = vec![false; self.logs.len()];
        let mut seen_sql = vec![false; folder.entries.len()];
        let mut order: Vec<usize> = Vec::new();
        let mut gaps: Vec<(usize, String)> = Vec::new();
        // (changelog, next target): an explicit stack, so that a deep chain
        // of includes cannot exhaust the thread's stack.
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        seen_log[root] = true;
        self.enter(folder, root, 0, &mut gaps);
        while let Some(top) = stack.last_mut() {
            let (j, next) = *top;
            let Some(t) = self.targets[j].get(next) else {
                stack.pop();
                continue;
            };
            top.1 += 1;
            match t {
                Target::Sql(i) if !seen_sql[*i] => {
                    seen_sql[*i] = true;
                    order.push(*i);
                }
                Target::Log(k) if !seen_log[*k] => {
                    seen_log[*k] = true;
                    self.enter(folder, *k, order.len(), &mut gaps);
                    stack.push((*k, 0));
                }
                Target::Unread(name) => gaps.push((order.len(), name.clone())),
                _ => {}
            }
        }
        History {
            root: self.logs[root].0,
            order,
            gaps,
        }
    }
}

/// What the reference `r` of the changelog `from` (index `j`) names, in
/// the order Liquibase runs it, appended to `out`.
fn resolve(
    folder: &Folder,
    paths: &Paths<'_>,
    j: usize,
    from: &str,
    r: &Reference,
    out: &mut Vec<Target>,
) {
    let w = wanted(&folder.display, from, r);
    if !r.folder {
        let hit = match &w {
            Wanted::Exact(p) => paths.by_rel.get(p.as_str()),
            // The longest path of the folder that ends the reference.
            Wanted::Suffix(p) => tails(p).find_map(|t| paths.by_rel.get(t)),
            Wanted::Outside => None,
        };
        match hit {
            Some(t) => out.push(t.clone()),
            // A changelog twice has not read (outside the folder, or not
            // one of Liquibase's formats): a gap where it runs.
            None if is_changelog_file(&r.path) => out.push(Target::Unread(r.path.clone())),
            None => {}
        }
        return;
    }
    // `includeAll`: everything below the folder, by path.
    let dir = match w {
        Wanted::Exact(p) => Some(p),
        // The longest folder of the tree whose path ends the reference.
        Wanted::Suffix(p) => tails(&p)
            .find(|t| paths.dirs.contains(t))
            .map(str::to_string),
        Wanted::Outside => None,
    };
    let Some(dir) = dir else { return };
    out.extend(
        paths
            .below(&dir)
            .iter()
            .filter(|(_, t)| *t != Target::Log(j))
            .map(|(_, t)| t.clone()),
    );
}

/// Every root changelog's history (roots in [`Graph::roots`] order), with
/// the references of each root as written; `None` without changelogs.
pub(super) fn histories(folder: &Folder) -> Option<Vec<(History<'_>, Vec<Reference>)>> {
    let g = Graph::of(folder);
    if g.logs.is_empty() {
        return None;
    }
    Some(
        g.roots()
            .into_iter()
            .map(|r| (g.history(folder, r), g.refs[r].clone()))
            .collect(),
    )
}

/// The first root changelog that runs SQL files of the folder, else the
/// first root changelog (see [`Graph::roots`]).
pub(super) fn first_root(folder: &Folder) -> Option<&str> {
    let g = Graph::of(folder);
    let roots = g.roots();
    roots
        .iter()
        .find(|&&r| !g.history(folder, r).order.is_empty())
        .or(roots.first())
        .map(|&r| g.logs[r].0)
}

/// Whether a changelog holds changesets of Liquibase's change types
/// (`createTable`, `sql`, ...: anything but `sqlFile`), which twice cannot
/// read. Rollbacks, preconditions and comments do not count.
pub(super) fn has_change_types(text: &str) -> bool {
    if text.trim_start().starts_with('<') {
        xml_change_types(text)
    } else {
        keyed_change_types(text)
    }
}

fn xml_change_types(text: &str) -> bool {
    let mut rest = text;
    let mut in_set = false;
    // The element whose content does not count, until it closes.
    let mut skip: Option<&str> = None;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        for (open, close) in [("!--", "-->"), ("![CDATA[", "]]>")] {
            if rest.starts_with(open) {
                rest = rest.find(close).map_or("", |e| &rest[e + close.len()..]);
            }
        }
        if rest.starts_with(['?', '!']) {
            continue;
        }
        // A tag ends at its `>`, or at the next `<` (which XML does not
        // allow in a tag): each byte is read once or twice, even in a text
        // of `<`s without `>`.
        let end = rest.find(['<', '>']).unwrap_or(rest.len());
        let tag = rest[..end].trim();
        let closing = tag.starts_with('/');
        let empty = tag.ends_with('/');
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        if let Some(s) = skip {
            if closing && local == s {
                skip = None;
            }
            continue;
        }
        match local {
            "changeSet" => in_set = !closing && !empty,
            _ if !in_set || closing || local.is_empty() => {}
            "rollback" | "preConditions" | "comment" | "validCheckSum" => {
                if !empty {
                    skip = Some(local);
                }
            }
            "sqlFile" => {}
            _ => return true,
        }
    }
    false
}

/// The keys of a YAML or JSON changeset that are not change types.
const NOT_CHANGES: &[&str] = &[
    "databaseChangeLog",
    "changeSet",
    "id",
    "author",
    "changes",
    "sqlFile",
    "path",
    "relativeToChangelogFile",
    "splitStatements",
    "stripComments",
    "endDelimiter",
    "encoding",
    "dbms",
    "context",
    "contextFilter",
    "labels",
    "runOnChange",
    "runAlways",
    "runInTransaction",
    "failOnError",
    "comment",
    "comments",
    "validCheckSum",
    "include",
    "includeAll",
    "file",
    "errorIfMissing",
    "errorIfMissingOrEmpty",
    "ignore",
    "logicalFilePath",
    "objectQuotingStrategy",
    "created",
    "runOrder",
    "onValidationFail",
    "property",
    "name",
    "value",
    "global",
];

/// YAML or JSON (one key a line, as both are written): a key after a
/// `changeSet` that is not one of [`NOT_CHANGES`]; `rollback` and
/// `preConditions` are left out with what is indented below them.
fn keyed_change_types(text: &str) -> bool {
    let mut in_set = false;
    let mut skip_below: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim().trim_start_matches(['-', '{', '[', ' ']).trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(i) = skip_below {
            if indent > i {
                continue;
            }
            skip_below = None;
        }
        let Some((key, _)) = t.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(['"', '\'']);
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        match key {
            "changeSet" => in_set = true,
            "rollback" | "preConditions" => skip_below = Some(indent),
            _ if !in_set || NOT_CHANGES.contains(&key) => {}
            _ => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(path: &str, relative: bool) -> Reference {
        Reference {
            path: path.into(),
            folder: false,
            relative,
        }
    }

    #[test]
    fn relative_paths_start_at_the_changelog() {
        let w = |from, p, rel| wanted("a/changelog", from, &r(p, rel));
        assert_eq!(w("m.xml", "x.sql", true), Wanted::Exact("x.sql".into()));
        assert_eq!(
            w("sub/m.xml", "./x/../y.sql", true),
            Wanted::Exact("sub/y.sql".into())
        );
        assert_eq!(
            w("sub/m.xml", "../y.sql", true),
            Wanted::Exact("y.sql".into())
        );
        // Out of the folder and back in through its own name.
        assert_eq!(
            w("m.xml", "../changelog/y.sql", true),
            Wanted::Exact("y.sql".into())
        );
        assert_eq!(w("m.xml", "../other/y.sql", true), Wanted::Outside);
        assert_eq!(w("m.xml", "../../../y.sql", true), Wanted::Outside);
        assert_eq!(
            w("sub/m.xml", "classpath:db/y.sql", false),
            Wanted::Suffix("db/y.sql".into())
        );
        assert_eq!(
            w("m.xml", "../db/./y.sql", false),
            Wanted::Suffix("db/y.sql".into())
        );
        assert_eq!(
            tails("db/changelog/x.sql").collect::<Vec<_>>(),
            ["db/changelog/x.sql", "changelog/x.sql", "x.sql"]
        );
        assert_eq!(tails("x.sql").collect::<Vec<_>>(), ["x.sql"]);
    }

    #[test]
    fn change_types_are_told_from_sql_files() {
        let only_sql = r#"<databaseChangeLog><!-- <createTable/> -->
            <changeSet id="1" author="a"><comment>x</comment><sqlFile path="a.sql"/>
            <rollback><dropTable tableName="t"/></rollback></changeSet></databaseChangeLog>"#;
        assert!(!has_change_types(only_sql));
        let sql = r#"<databaseChangeLog><changeSet id="1" author="a"><sql>SELECT 1</sql></changeSet></databaseChangeLog>"#;
        assert!(has_change_types(sql));
        assert!(!has_change_types(
            "<databaseChangeLog><include file=\"a.xml\"/></databaseChangeLog>"
        ));
        let yaml = "databaseChangeLog:\n  - changeSet:\n      id: 1\n      author: a\n      changes:\n        - sqlFile:\n            path: a.sql\n      rollback:\n        - dropTable:\n            tableName: t\n";
        assert!(!has_change_types(yaml));
        let yaml = "databaseChangeLog:\n  - changeSet:\n      id: 1\n      author: a\n      changes:\n        - createTable:\n            tableName: t\n";
        assert!(has_change_types(yaml));
        let json = "{\"databaseChangeLog\": [\n  {\"changeSet\": {\n    \"id\": \"1\",\n    \"changes\": [\n      {\"addColumn\": {}}\n    ]\n  }}\n]}";
        assert!(has_change_types(json));
    }
}
