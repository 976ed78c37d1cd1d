//! Flyway scans each of its locations recursively and runs every versioned
//! migration under it as one history, in version order
//! (`db/migration/1.0/ddl/V1.0_1__init.sql` and
//! `db/migration/1.1/ddl/V1.1_1__email.sql` are one history). The walker
//! makes a sequence of each folder holding SQL files; a folder with SQL
//! files of its own takes in its sub-folders (`Layout::absorbs_subfolder`),
//! but a location with none of its own (release folders only) left each
//! sub-folder a history of its own, replayed on an empty database.
//!
//! Here the sequences of one location are joined: the location is the
//! nearest folder above a sequence's folder that the project's Flyway
//! settings name (`spring.flyway.locations`, `flyway.locations`, ...: see
//! [`crate::layout::flyway::settings::locations`]), else Flyway's default
//! `db/migration`; a folder named for a database between the two
//! (`db/migration/postgres/`, as `classpath:db/migration/{vendor}` points)
//! is the location instead. Sequences of the same location, layout and
//! dialect become one, named after the location, unless two of them hold
//! one version (Flyway refuses such a location; they stay apart, with a
//! notice). The project's files are then looked for from the location.

use super::walk::Built;
use super::{append_files, display_path};
use crate::layout::{self, flyway::settings};
use crate::model::Migration;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How many folders above a sequence's folder its location and the
/// project's Flyway settings are looked for (metersphere's
/// `backend/services/x/src/main/resources/migration/3.0.0/ddl/`).
const LEVELS: usize = 10;

/// Flyway's default location (`classpath:db/migration`).
const DEFAULT_LOCATION: &str = "db/migration";

/// Whether a folder's name names a database (a dialect, or one twice does
/// not read, such as `h2`): such a folder holds another history.
fn names_database(name: &str) -> bool {
    crate::dialect::dialect_from_path(name).is_some()
        || crate::sniff::unsupported_in_path(name).is_some()
}

/// The folders from `leaf` up (itself first), up to [`LEVELS`] above it
/// and not above the repository's root (the folder holding `.git`).
fn chain(leaf: &Path) -> Vec<&Path> {
    let mut out = Vec::new();
    for a in leaf.ancestors().take(LEVELS + 1) {
        out.push(a);
        if a.join(".git").exists() {
            break;
        }
    }
    out
}

/// The locations the project's Flyway settings name, from the nearest of
/// each settings file above `leaf`.
fn configured(chain: &[&Path]) -> Vec<String> {
    let mut aux: BTreeMap<String, String> = BTreeMap::new();
    for name in settings::FILES {
        if let Some(text) = chain
            .iter()
            .map(|a| a.join(name))
            .find(|p| p.is_file())
            .and_then(|p| super::declared::head(&p, 1 << 20))
        {
            aux.insert(format!("../{name}"), text);
        }
    }
    settings::locations(&aux)
}

/// The location a sequence's folder is in (canonical), when it is a Flyway
/// folder below one; with the sequence's folder (canonical).
fn location_of(b: &Built) -> Option<(PathBuf, PathBuf)> {
    // A folder of versioned migrations, or of repeatables or callbacks
    // only (a group is joined only if one of its folders has versions).
    let tool = layout::get(b.sequence.layout);
    if !b.sequence.migrations.iter().any(|m| {
        tool.location_key(m).is_some() || tool.location_slot(m).is_some() || m.rerun_note.is_some()
    }) {
        return None;
    }
    let leaf = std::fs::canonicalize(&b.sequence.root).ok()?;
    if !leaf.is_dir() {
        return None;
    }
    let chain = chain(&leaf);
    let configured = configured(&chain);
    let found = configured
        .iter()
        .find_map(|l| chain.iter().position(|a| a.ends_with(l)))
        .or_else(|| chain.iter().position(|a| a.ends_with(DEFAULT_LOCATION)))
        // A folder right below a `resources` folder (`src/main/resources/
        // migration`): a classpath location the settings of another module
        // name (metersphere's `classpath:migration`).
        .or_else(|| {
            chain.iter().position(|a| {
                a.parent()
                    .and_then(|p| p.file_name())
                    .is_some_and(|n| n == "resources")
            })
        })?;
    // The nearest folder named for a database between them, else the
    // location found.
    let at = (0..found)
        .find(|&i| {
            chain[i]
                .file_name()
                .is_some_and(|n| names_database(&crate::source::os_text(n)))
        })
        .unwrap_or(found);
    Some((chain[at].to_path_buf(), leaf))
}

/// The run order of Flyway's migrate over migrations of several folders:
/// `beforeMigrate` callbacks, versioned migrations by version,
/// `afterVersioned`/`beforeRepeatables` callbacks, repeatables by
/// description, `afterMigrate` callbacks; each stable (the first folder's
/// first).
fn migrate_order(tool: &dyn layout::Layout, a: &Migration, b: &Migration) -> Ordering {
    let rank = |m: &Migration| -> (u8, Option<Vec<String>>) {
        match (tool.location_slot(m), tool.location_key(m)) {
            (Some(0), _) => (0, None),
            (_, Some(k)) => (1, Some(k)),
            (Some(1), _) => (2, None),
            (Some(_), _) => (4, None),
            (None, None) => (3, None),
        }
    };
    let (ra, ka) = rank(a);
    let (rb, kb) = rank(b);
    ra.cmp(&rb).then_with(|| match (ka, kb) {
        (Some(x), Some(y)) => tool.key_cmp(&x, &y),
        _ if ra == 3 => a.name.cmp(&b.name),
        _ => (&a.version, &a.name).cmp(&(&b.version, &b.name)),
    })
}

/// Two migrations of different folders that Flyway would refuse together:
/// one version, or repeatables of one description. Their files, and what.
fn collision(tool: &dyn layout::Layout, members: &[&Built]) -> Option<String> {
    let mut seen: Vec<(Vec<String>, &str)> = Vec::new();
    let mut repeatables: BTreeMap<&str, &str> = BTreeMap::new();
    for b in members {
        let mut own: Vec<(Vec<String>, &str)> = Vec::new();
        for m in &b.sequence.migrations {
            let file = b.files[m.up.file].name.as_str();
            match tool.location_key(m) {
                Some(k) => {
                    if let Some((_, other)) = seen
                        .iter()
                        .find(|(x, _)| tool.key_cmp(x, &k) == Ordering::Equal)
                    {
                        return Some(format!(
                            "version {} is used by both {other} and {file}",
                            m.version
                        ));
                    }
                    own.push((k, file));
                }
                None if m.rerun_note.is_some() && tool.location_slot(m).is_none() => {
                    if let Some(other) = repeatables.insert(m.name.as_str(), file) {
                        if other != file {
                            return Some(format!(
                                "repeatable migrations {other} and {file} have the same description"
                            ));
                        }
                    }
                }
                None => {}
            }
        }
        seen.extend(own);
    }
    None
}

/// How many folders `leaf` is below `root`.
fn depth_below(leaf: &Path, root: &Path) -> usize {
    leaf.strip_prefix(root)
        .map_or(0, |r| r.components().count())
}

/// The display of `root`, an ancestor `depth` folders above the folder
/// shown as `shown`.
fn shown_above(shown: &str, depth: usize, root: &Path) -> String {
    let mut p = Path::new(shown);
    for _ in 0..depth {
        match p.parent() {
            Some(q) if p.file_name().is_some() => p = q,
            _ => return display_path(root),
        }
    }
    let s = display_path(p);
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

/// Joins the sequences of one Flyway location (see the module's docs).
pub(super) fn join_location_trees(builts: &mut Vec<Built>, notices: &mut Vec<String>) {
    let found: Vec<Option<(PathBuf, PathBuf)>> = builts.iter().map(location_of).collect();
    // Members by location, layout and dialect, in the walk's order.
    type Key = (PathBuf, crate::model::LayoutKind, crate::dialect::Dialect);
    let mut groups: Vec<(Key, Vec<usize>)> = Vec::new();
    for (i, f) in found.iter().enumerate() {
        let Some((root, _)) = f else { continue };
        let key = (
            root.clone(),
            builts[i].sequence.layout,
            builts[i].sequence.dialect,
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let mut joins: Vec<(PathBuf, Vec<usize>)> = Vec::new();
    for ((root, kind, _), members) in groups {
        if members.len() < 2 {
            continue;
        }
        let tool = layout::get(kind);
        let refs: Vec<&Built> = members.iter().map(|&i| &builts[i]).collect();
        // Not a tool that orders locations by version (re-run migrations of
        // Liquibase), or no versioned migration at all.
        if !refs.iter().any(|b| {
            b.sequence
                .migrations
                .iter()
                .any(|m| tool.location_key(m).is_some())
        }) {
            continue;
        }
        if let Some(what) = collision(tool, &refs) {
            let roots: Vec<&str> = refs.iter().map(|b| b.sequence.root.as_str()).collect();
            let shown = found[members[0]].as_ref().map_or_else(
                || display_path(&root),
                |(_, leaf)| shown_above(roots[0], depth_below(leaf, &root), &root),
            );
            notices.push(format!(
                "{}: not read as one history, although they are in one {} location ({}): {what}, \
                 and {} refuses a location with such migrations (each folder is read on its own)",
                roots.join(", "),
                kind.name(),
                shown,
                kind.name()
            ));
            continue;
        }
        joins.push((root, members));
    }
    if joins.is_empty() {
        return;
    }
    // Take the members out, highest index first; put each joined sequence
    // where its first member was.
    let mut slots: Vec<Option<Built>> = std::mem::take(builts).into_iter().map(Some).collect();
    let mut joined_at: BTreeMap<usize, Built> = BTreeMap::new();
    for (root, members) in joins {
        let first = members[0];
        let Some((_, leaf)) = &found[first] else {
            continue;
        };
        let depth = depth_below(leaf, &root);
        let mut taken = members.iter().filter_map(|&i| slots[i].take());
        let Some(mut joined) = taken.next() else {
            continue;
        };
        let tool = layout::get(joined.sequence.layout);
        let mut roots = vec![joined.sequence.root.clone()];
        let mut settled = joined.dialect_settled;
        let mut migrations = std::mem::take(&mut joined.sequence.migrations);
        for b in taken {
            roots.push(b.sequence.root.clone());
            settled &= b.dialect_settled;
            if joined.sequence.schemas.is_none() {
                joined.sequence.schemas = b.sequence.schemas.clone();
            }
            if joined.sequence.placeholders.is_none() {
                joined.sequence.placeholders = b.sequence.placeholders.clone();
            }
            joined
                .sequence
                .code_gaps
                .extend(b.sequence.code_gaps.clone());
            migrations.extend(append_files(&mut joined, b));
        }
        migrations.sort_by(|a, b| migrate_order(tool, a, b));
        joined.sequence.migrations = migrations;
        joined.dialect_settled = settled;
        // The project's Flyway settings, read from above the location (a
        // release folder may be too deep below the build file).
        if joined.sequence.schemas.is_none() || joined.sequence.placeholders.is_none() {
            let mut aux: BTreeMap<String, String> = BTreeMap::new();
            for name in settings::FILES {
                if let Some(text) = super::skips::nearest_ancestor_file(&root, name) {
                    aux.insert(format!("../{name}"), text);
                }
            }
            if joined.sequence.schemas.is_none() {
                joined.sequence.schemas = settings::schemas(&aux);
            }
            if joined.sequence.placeholders.is_none() {
                joined.sequence.placeholders = settings::placeholders(&aux);
            }
        }
        let shown = shown_above(&roots[0], depth, &root);
        // The folders joined, as paths below the location.
        let below: Vec<&str> = roots
            .iter()
            .map(|r| {
                r.strip_prefix(shown.as_str())
                    .map_or(r.as_str(), |x| x.trim_start_matches('/'))
            })
            .collect();
        let list = crate::words::first_of(&below, below.len(), 4);
        notices.push(format!(
            "{shown}: its folders {list} read as one history: {} scans a location with its \
             sub-folders and runs all their migrations in version order (use [[sequence]] in \
             twice.toml to say otherwise)",
            joined.sequence.layout.name()
        ));
        joined.sequence.layout_why = format!(
            "{}; the folders {list} of one location, joined",
            joined.sequence.layout_why
        );
        joined.sequence.root = shown;
        joined_at.insert(first, joined);
    }
    for (i, slot) in slots.into_iter().enumerate() {
        if let Some(j) = joined_at.remove(&i) {
            builts.push(j);
        } else if let Some(b) = slot {
            builts.push(b);
        }
    }
}
