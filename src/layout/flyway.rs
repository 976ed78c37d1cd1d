//! `flyway` (`flyway migrate`, default naming): versioned migrations
//! `V<version>__<description>.sql`, repeatable migrations
//! `R__<description>.sql`, undo migrations `U<version>__<description>.sql`.
//!
//! As Flyway does:
//! - the version is split into parts on `.` and `_` (`V1_1__x` is 1.1) and
//!   compared part by part as numbers, so 1.1 < 1.9 < 1.10 < 2, and trailing
//!   zero parts do not count (1.0 is 1); a version with anything but digits,
//!   `.` and `_` makes Flyway refuse the folder, and so do two migrations
//!   with one version (or two repeatables with one description);
//! - repeatables run after all versioned migrations, in description order,
//!   and again whenever they change: their findings carry a note saying so;
//! - `U` files are the down migrations of the version they name;
//! - sub-folders are scanned too (discovery hands them in with their path);
//! - a script configuration file `<script>.sql.conf` with
//!   `executeInTransaction=false` runs the script outside a transaction;
//! - SQL callbacks (`<event>.sql` or `<event>__<description>.sql`) run on
//!   every `flyway migrate`, so they are checked with a note saying so:
//!   `beforeMigrate` first, `afterVersioned` and `beforeRepeatables` between
//!   the versioned and the repeatable migrations, `afterMigrate` and
//!   `afterMigrateApplied` last (each event's scripts in description order).
//!   Callbacks around each migration or statement, error callbacks and
//!   callbacks of other commands (clean, info, ...) are skipped with a notice.
//!
//! - baseline migrations (`B<version>__<description>.sql`): a new database
//!   starts from the latest one, and the versioned migrations up to its
//!   version are ignored there (Flyway's `MigrationInfoServiceImpl`); the
//!   baseline is the starting state (applied once, not audited: Flyway runs
//!   it only on an empty database), older baselines are skipped and the
//!   versioned migrations it stands for are left out with a notice.
//!
//! - a folder of SQL callbacks only (a `callbackLocations` folder) is a
//!   callback location: detected as Flyway's, and joined by discovery to
//!   the Flyway history beside it ([`crate::layout::Layout::location_slot`]);
//! - the `schemas` setting (and `defaultSchema`), read from the project's
//!   Flyway, Maven, Gradle or Spring Boot files above the folder
//!   ([`settings`]): replay creates the schemas first and runs in the first.
//!
//! Out of scope (documented, not guessed): custom prefixes, separators and
//! suffixes (`sqlMigrationPrefix` & co.) and Java or script (non-SQL)
//! migrations.

pub mod settings;

use super::{whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::Migration;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// What a Flyway file name says.
#[derive(Debug, PartialEq, Eq)]
pub enum Name<'a> {
    Versioned {
        version: &'a str,
        description: &'a str,
    },
    Undo {
        version: &'a str,
        description: &'a str,
    },
    Repeatable {
        description: &'a str,
    },
    Baseline {
        version: &'a str,
        description: &'a str,
    },
    Callback {
        event: &'a str,
        description: &'a str,
    },
}

/// Flyway's callback events (`Event` in Flyway), by the name of their script.
const CALLBACKS: &[&str] = &[
    "beforeMigrate",
    "beforeEachMigrate",
    "beforeEachMigrateStatement",
    "afterEachMigrateStatement",
    "afterEachMigrateStatementError",
    "afterEachMigrate",
    "afterEachMigrateError",
    "afterMigrate",
    "afterMigrateApplied",
    "afterVersioned",
    "afterMigrateError",
    "beforeRepeatables",
    "beforeUndo",
    "beforeEachUndo",
    "beforeEachUndoStatement",
    "afterEachUndoStatement",
    "afterEachUndoStatementError",
    "afterEachUndo",
    "afterEachUndoError",
    "afterUndo",
    "afterUndoError",
    "beforeClean",
    "afterClean",
    "afterCleanError",
    "beforeInfo",
    "afterInfo",
    "afterInfoError",
    "beforeValidate",
    "afterValidate",
    "afterValidateError",
    "beforeBaseline",
    "afterBaseline",
    "afterBaselineError",
    "beforeRepair",
    "afterRepair",
    "afterRepairError",
    "createSchema",
    "beforeConnect",
    "afterConnect",
    "beforeEachConnect",
    "afterEachConnect",
];

/// Where a callback runs in `flyway migrate`: 0 before everything, 1
/// between versioned and repeatable migrations, 2 after everything.
fn callback_slot(event: &str) -> Option<u8> {
    match event {
        "beforeMigrate" => Some(0),
        "afterVersioned" | "beforeRepeatables" => Some(1),
        "afterMigrate" | "afterMigrateApplied" => Some(2),
        _ => None,
    }
}

/// Parses a Flyway file name (`None` when it is not one).
pub fn parse_name(base: &str) -> Option<Name<'_>> {
    let stem = base.strip_suffix(".sql")?;
    let (event, description) = stem.split_once("__").unwrap_or((stem, ""));
    if let Some(event) = CALLBACKS.iter().find(|c| **c == event) {
        return Some(Name::Callback { event, description });
    }
    let (prefix, rest) = stem.split_at_checked(1)?;
    if prefix == "R" {
        return rest
            .strip_prefix("__")
            .map(|description| Name::Repeatable { description });
    }
    let (version, description) = rest.split_once("__")?;
    if version.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    match prefix {
        "V" => Some(Name::Versioned {
            version,
            description,
        }),
        "U" => Some(Name::Undo {
            version,
            description,
        }),
        "B" => Some(Name::Baseline {
            version,
            description,
        }),
        _ => None,
    }
}

/// The numeric parts of a Flyway version without trailing zero parts, or
/// `None` when the version holds anything but digits, `.` and `_`.
pub fn version_parts(v: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    for p in v.split(['.', '_']) {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let t = p.trim_start_matches('0');
        parts.push(if t.is_empty() {
            "0".into()
        } else {
            t.to_string()
        });
    }
    while parts.len() > 1 && parts.last().is_some_and(|p| p == "0") {
        parts.pop();
    }
    Some(parts)
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan {
        schemas: settings::schemas(&folder.aux),
        placeholders: settings::placeholders(&folder.aux),
        ..Plan::default()
    };
    let mut versioned: Vec<(Vec<String>, usize)> = Vec::new();
    let mut undo: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let mut repeatable: Vec<(String, usize)> = Vec::new();
    let mut callbacks: Vec<(u8, String, String, usize)> = Vec::new();
    let mut baselines: Vec<(Vec<String>, usize)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        let base = e.base();
        match parse_name(base) {
            None => plan.skipped.push((
                i,
                "not a Flyway migration name (V<version>__<description>.sql, R__<description>.sql or U<version>__<description>.sql)".into(),
            )),
            Some(Name::Baseline { version, .. }) => match version_parts(version) {
                Some(parts) => baselines.push((parts, i)),
                None => plan.problem(
                    i,
                    0..0,
                    format!("Flyway refuses to run this folder: invalid version `{version}` in {base} (only digits separated by `.` or `_` are allowed)"),
                    "rename the file to B<digits>[.<digits>...]__<description>.sql",
                ),
            },
            Some(Name::Callback { event, description }) => match callback_slot(event) {
                Some(slot) => callbacks.push((slot, event.to_string(), description.to_string(), i)),
                None => plan.skipped.push((
                    i,
                    format!("a Flyway `{event}` callback: twice checks only the callbacks that run once per migrate (beforeMigrate, afterVersioned, beforeRepeatables, afterMigrate, afterMigrateApplied)"),
                )),
            },
            Some(Name::Repeatable { .. }) => {
                let Some(Name::Repeatable { description }) = parse_name(base) else { continue };
                repeatable.push((description.to_string(), i));
            }
            Some(Name::Versioned { version, .. }) | Some(Name::Undo { version, .. }) => {
                let Some(parts) = version_parts(version) else {
                    plan.problem(
                        i,
                        0..0,
                        format!("Flyway refuses to run this folder: invalid version `{version}` in {base} (only digits separated by `.` or `_` are allowed)"),
                        "rename the file to V<digits>[.<digits>...]__<description>.sql",
                    );
                    continue;
                };
                if base.starts_with('V') {
                    versioned.push((parts, i));
                } else if let Some(first) = undo.insert(parts, i) {
                    plan.problem(
                        i,
                        0..0,
                        format!(
                            "Flyway refuses to run this folder: {} and {} undo the same version",
                            folder.entries[first].rel, e.rel
                        ),
                        "give every migration its own version",
                    );
                }
            }
        }
    }
    versioned.sort_by(|a, b| {
        super::parts_cmp(&a.0, &b.0)
            .then_with(|| folder.entries[a.1].rel.cmp(&folder.entries[b.1].rel))
    });
    // Baseline migrations: a new database starts from the latest, and the
    // versioned migrations up to its version are ignored there.
    baselines.sort_by(|a, b| {
        super::parts_cmp(&a.0, &b.0)
            .then_with(|| folder.entries[a.1].rel.cmp(&folder.entries[b.1].rel))
    });
    let baseline = baselines.pop();
    if let Some((parts, b)) = &baseline {
        let latest = folder.entries[*b].base();
        for (_, i) in &baselines {
            plan.skipped.push((
                *i,
                format!("an older Flyway baseline migration: a new database starts from the latest, {latest}"),
            ));
        }
        let covered = |p: &Vec<String>| super::parts_cmp(p, parts) != Ordering::Greater;
        let before: Vec<usize> = versioned
            .iter()
            .filter(|(p, _)| covered(p))
            .map(|(_, i)| *i)
            .collect();
        versioned.retain(|(p, _)| !covered(p));
        undo.retain(|p, _| !covered(p));
        if let (Some(first), Some(last)) = (before.first(), before.last()) {
            plan.notices.push(format!(
                "{}: {} up to version {} not read: Flyway starts a new database from its latest \
                 baseline migration {latest} and ignores the versioned migrations it stands for \
                 (name a file to check it)",
                folder.display,
                if before.len() == 1 {
                    folder.entries[*first].base().to_string()
                } else {
                    format!(
                        "{} versioned migrations ({} to {})",
                        before.len(),
                        folder.entries[*first].base(),
                        folder.entries[*last].base()
                    )
                },
                parts.join(".")
            ));
        }
        let (shown, description) = match parse_name(latest) {
            Some(Name::Baseline {
                version,
                description,
            }) => (version.replace('_', "."), description),
            _ => (parts.join("."), ""),
        };
        plan.migrations.push(
            Migration::new(
                shown,
                description.to_string(),
                script_part(folder, *b),
                None,
            )
            .starting_state(
                "this file is a Flyway baseline migration: a new database starts from it (Flyway \
                 runs it only on an empty database), so it is applied once as the starting state \
                 and not audited, but the migrations after it need what it creates",
            ),
        );
    }
    let mut prev: Option<&(Vec<String>, usize)> = None;
    for item in &versioned {
        let (parts, i) = item;
        if let Some((pp, pi)) = prev {
            if super::parts_cmp(pp, parts) == Ordering::Equal {
                plan.problem(
                    *i,
                    0..0,
                    format!(
                        "Flyway refuses to run this folder: version {} is used by both {} and {}",
                        parts.join("."),
                        folder.entries[*pi].rel,
                        folder.entries[*i].rel
                    ),
                    "give every migration its own version",
                );
                continue;
            }
        }
        prev = Some(item);
        let base = folder.entries[*i].base();
        let description = match parse_name(base) {
            Some(Name::Versioned { description, .. }) => description,
            _ => "",
        };
        let down = undo.remove(parts).map(|u| script_part(folder, u));
        // Flyway records and shows the version as written, `_` read as `.`
        // (`V2.0` is 2.0, `V001` is 001); it compares the parts as numbers.
        let shown = match parse_name(base) {
            Some(Name::Versioned { version, .. }) => version.replace('_', "."),
            _ => parts.join("."),
        };
        plan.migrations.push(Migration::new(
            shown,
            description.to_string(),
            script_part(folder, *i),
            down,
        ));
    }
    for (_, u) in undo {
        plan.skipped.push((
            u,
            "an undo migration without a versioned migration of the same version".into(),
        ));
    }
    let n_versioned = plan.migrations.len();
    repeatable.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| folder.entries[a.1].rel.cmp(&folder.entries[b.1].rel))
    });
    let mut prev_desc: Option<(&str, usize)> = None;
    for (description, i) in &repeatable {
        if let Some((d, pi)) = prev_desc {
            if d == description {
                plan.problem(
                    *i,
                    0..0,
                    format!(
                        "Flyway refuses to run this folder: repeatable migrations {} and {} have the same description",
                        folder.entries[pi].rel, folder.entries[*i].rel
                    ),
                    "give every repeatable migration its own description",
                );
                continue;
            }
        }
        prev_desc = Some((description, *i));
        let base = folder.entries[*i].base();
        plan.migrations.push(
            Migration::new("R".into(), description.clone(), script_part(folder, *i), None)
                .rerun_by_design(format!(
                    "{base} is a Flyway repeatable migration: Flyway runs it again whenever its checksum changes, on databases where it already ran, so every statement in it must be safe to run twice"
                )),
        );
    }
    if !callbacks.is_empty() {
        callbacks.sort();
        let to_migration = |(_, event, description, i): &(u8, String, String, usize)| {
            Migration::new(event.clone(), description.clone(), script_part(folder, *i), None)
                .rerun_by_design(format!(
                    "{} is a Flyway `{event}` callback: Flyway runs it on every migrate, so every statement in it must be safe to run twice",
                    folder.entries[*i].base()
                ))
        };
        let rest = plan.migrations.split_off(n_versioned);
        let versioned = std::mem::take(&mut plan.migrations);
        for slot in 0..3u8 {
            if slot == 1 {
                plan.migrations.extend(versioned.iter().cloned());
            }
            if slot == 2 {
                plan.migrations.extend(rest.iter().cloned());
            }
            plan.migrations
                .extend(callbacks.iter().filter(|c| c.0 == slot).map(to_migration));
        }
    }
    plan
}

/// A Flyway callback location (`callbackLocations`, a folder given to
/// Flyway for its callbacks only): every SQL file is named for a Flyway
/// callback event, and one at least for an event of `flyway migrate`.
fn callback_location(folder: &Folder) -> Option<String> {
    let mut migrate = None;
    for e in &folder.entries {
        match parse_name(e.base()) {
            Some(Name::Callback { event, .. }) => {
                if migrate.is_none() && callback_slot(event).is_some() {
                    migrate = Some(e);
                }
            }
            _ => return None,
        }
    }
    migrate.map(|e| {
        format!(
            "Flyway callback names only ({}): a callback location",
            e.rel
        )
    })
}

/// The whole script, honouring its `.conf` file.
fn script_part(folder: &Folder, i: usize) -> crate::model::Part {
    let mut p = whole(folder, i);
    let conf = format!("{}.conf", folder.entries[i].rel);
    if let Some(text) = folder.aux.get(&conf) {
        p.no_transaction = !execute_in_transaction(text);
    }
    p
}

/// `executeInTransaction` from a Flyway script configuration file.
fn execute_in_transaction(conf: &str) -> bool {
    for line in conf.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == "executeInTransaction" {
                return !v.trim().eq_ignore_ascii_case("false");
            }
        }
    }
    true
}

/// The Flyway layout.
pub struct Flyway;

impl super::Layout for Flyway {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`executeInTransaction=false` in the migration's `.conf` file")
    }

    /// Flyway's PostgreSQL support finds the statements that cannot run in
    /// a transaction and runs their migration without one.
    fn runs_refused_outside(&self) -> bool {
        true
    }

    /// Flyway's `flyway_schema_history`, as its PostgreSQL (also its MySQL
    /// driver's shape) and SQLite support create it.
    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        Some(match engine {
            Dialect::Postgres | Dialect::Mysql => {
                "CREATE TABLE IF NOT EXISTS flyway_schema_history (installed_rank integer NOT NULL \
                 PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL, type \
                 varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum integer, installed_by \
                 varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(), \
                 execution_time integer NOT NULL, success boolean NOT NULL)"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS flyway_schema_history (installed_rank INT NOT NULL \
                 PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type \
                 VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by \
                 VARCHAR(100) NOT NULL, installed_on TEXT NOT NULL DEFAULT \
                 (strftime('%Y-%m-%d %H:%M:%f','now')), execution_time INT NOT NULL, success \
                 BOOLEAN NOT NULL)"
            }
        })
    }

    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::Flyway
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .find(|e| {
                matches!(
                    parse_name(e.base()),
                    Some(Name::Versioned { .. } | Name::Undo { .. } | Name::Repeatable { .. })
                )
            })
            .map(|e| format!("Flyway file names ({})", e.rel))
            .or_else(|| callback_location(folder))
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        rel.ends_with(".sql.conf")
    }

    /// The project's Flyway settings (its `schemas`): see [`settings`].
    fn ancestor_side_files(&self) -> &'static [&'static str] {
        settings::FILES
    }

    fn uses_side_file(&self, rel: &str, folder: &Folder) -> bool {
        rel.ends_with(".sql.conf")
            && folder
                .entries
                .iter()
                .any(|e| format!("{}.conf", e.rel) == rel)
    }

    fn absorbs_subfolder(&self, rel: &str, _folder: &Folder) -> bool {
        // Sub-folders named for a dialect hold another history.
        crate::dialect::dialect_from_path(rel.rsplit('/').next().unwrap_or(rel)).is_none()
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        matches!(
            ext.to_ascii_lowercase().as_str(),
            "java" | "kt" | "class" | "sh" | "ps1" | "bat" | "cmd" | "py"
        )
        .then(|| "a Flyway Java or script migration: not SQL, so twice cannot check it".into())
    }

    fn location_slot(&self, m: &crate::model::Migration) -> Option<u8> {
        m.rerun_note.as_ref()?;
        callback_slot(&m.version)
    }

    fn location_key(&self, m: &crate::model::Migration) -> Option<Vec<String>> {
        // Versioned migrations only: repeatables and callbacks have none.
        m.rerun_note
            .is_none()
            .then(|| version_parts(&m.version))
            .flatten()
    }

    fn key_cmp(&self, a: &[String], b: &[String]) -> Ordering {
        super::parts_cmp(a, b)
    }

    fn placeholders(&self, _envsub: bool) -> super::PlaceholderPolicy {
        super::PlaceholderPolicy {
            scope: crate::placeholder::Scope::Everywhere,
            tool: "Flyway",
            flyway_builtins: true,
            undefined_runs_as_written: false,
        }
    }

    fn checksum_advice(&self) -> Option<&'static str> {
        Some(
            "Flyway records a checksum of every applied migration and `flyway validate` fails when an applied file changes: \
             keep these edits to migrations not applied anywhere yet, or run `flyway repair` where they were",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn parts(v: &str) -> Vec<String> {
        version_parts(v).unwrap()
    }

    #[test]
    fn version_order() {
        let mut v = vec!["2", "1.10", "1.9", "1_1", "1.1.1", "1"];
        v.sort_by(|a, b| crate::layout::parts_cmp(&parts(a), &parts(b)));
        assert_eq!(v, vec!["1", "1_1", "1.1.1", "1.9", "1.10", "2"]);
        assert_eq!(
            crate::layout::parts_cmp(&parts("1.0"), &parts("1")),
            Ordering::Equal
        );
        assert!(version_parts("1a").is_none());
    }

    #[test]
    fn versioned_then_repeatables_with_undo_as_down() {
        let mut f = folder(&[
            ("R__views.sql", ""),
            ("R__a_functions.sql", ""),
            ("V1.10__c.sql", ""),
            ("V1.9__b.sql", ""),
            ("V1_1__a.sql", ""),
            ("U1.9__b.sql", ""),
            ("V2__d.sql", ""),
            ("V2.0.010__e.sql", ""),
            ("sub/V1.2__sub.sql", ""),
            ("afterMigrate.sql", ""),
            ("beforeMigrate__a.sql", ""),
            ("afterEachMigrate.sql", ""),
            ("README.sql", ""),
            ("B1__base.sql", ""),
        ]);
        f.aux.insert(
            "V2__d.sql.conf".into(),
            "executeInTransaction=false\n".into(),
        );
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            vec![
                "beforeMigrate beforeMigrate__a.sql",
                "1 B1__base.sql",
                "1.1 V1_1__a.sql",
                "1.2 sub/V1.2__sub.sql",
                "1.9 V1.9__b.sql",
                "1.10 V1.10__c.sql",
                "2 V2__d.sql",
                "2.0.010 V2.0.010__e.sql",
                "R R__a_functions.sql",
                "R R__views.sql",
                "afterMigrate afterMigrate.sql",
            ]
        );
        assert!(p.migrations[1].apply_only);
        assert!(p.migrations[4].down.is_some());
        assert!(p.migrations[6].up.no_transaction);
        assert!(p.migrations[8].rerun_note.is_some());
        assert!(p.migrations[0]
            .rerun_note
            .as_deref()
            .unwrap()
            .contains("callback"));
        assert_eq!(p.skipped.len(), 2);
    }

    #[test]
    fn a_new_database_starts_from_the_latest_baseline() {
        let f = folder(&[
            ("V1__init.sql", ""),
            ("U1__init.sql", ""),
            ("V1.5__a.sql", ""),
            ("V2__b.sql", ""),
            ("B1_5__old_base.sql", ""),
            ("B2__base.sql", ""),
            ("V2.1__c.sql", ""),
            ("U2.1__c.sql", ""),
            ("R__views.sql", ""),
        ]);
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            vec!["2 B2__base.sql", "2.1 V2.1__c.sql", "R R__views.sql"]
        );
        assert!(p.migrations[0].apply_only && p.migrations[0].down.is_none());
        assert!(!p.migrations[1].apply_only && p.migrations[1].down.is_some());
        assert_eq!(p.skipped.len(), 1, "{:?}", p.skipped);
        assert!(p.skipped[0].1.contains("older Flyway baseline"));
        assert_eq!(p.notices.len(), 1);
        assert!(
            p.notices[0].contains(
                "3 versioned migrations (V1__init.sql to V2__b.sql) up to version 2 not read"
            ),
            "{}",
            p.notices[0]
        );
        // Without a versioned migration it stands for, no notice.
        let p = plan(&folder(&[("B3__base.sql", ""), ("V4__d.sql", "")]));
        assert!(p.notices.is_empty());
        assert_eq!(p.migrations.len(), 2);
        // A baseline's version is checked as a versioned one's.
        let p = plan(&folder(&[("B1x__base.sql", ""), ("V2__d.sql", "")]));
        assert_eq!(p.problems.len(), 1);
    }

    #[test]
    fn same_version_twice_is_a_problem() {
        let f = folder(&[("V1__a.sql", ""), ("V1.0__b.sql", ""), ("V1x__c.sql", "")]);
        let p = plan(&f);
        assert_eq!(p.migrations.len(), 1);
        assert_eq!(p.problems.len(), 2);
    }
}
