//! `schema-delta`: a full schema snapshot plus numbered delta folders, with
//! files written for one dialect (`x.sql.postgres`, `x.sql.sqlite`) beside
//! the shared `x.sql` ones. Synapse lays out its schema this way
//! (`synapse/storage/schema/<store>/full_schemas/<N>/`,
//! `<store>/delta/<N>/`, stores `common`, `main`, `state`); twice reads any
//! folder of that shape the way Synapse's runner does
//! (element-hq/synapse, `synapse/storage/prepare_database.py`,
//! `_setup_new_database` and `_upgrade_existing_database`):
//!
//! - A new database starts from the newest full schema: the files of
//!   `full_schemas/<N>/` with the highest `N` of every store, sorted by file
//!   name (then path), are applied first. They are the starting state:
//!   applied once, not audited (a full schema runs once, on an empty
//!   database), and a failure to apply one is reported.
//! - Then the deltas of every version after `N`, version by version
//!   (numerically): for one version, the files of `delta/<version>/` of
//!   every store together, sorted by file name (then path). Synapse runs each
//!   delta file once and records it in `applied_schema_deltas`.
//! - Deltas of version `N` and older never run on a new database (the full
//!   schema holds what they made; they ran when older databases were
//!   upgraded): they are left out, with one notice. Without a full schema,
//!   every delta runs, from the lowest version.
//! - `.sql` files run on every engine; `.sql.postgres` only on PostgreSQL and
//!   `.sql.sqlite` only on SQLite (twice also reads `.sql.mysql` and the
//!   other dialect names `--dialect` takes). A folder with files for several
//!   dialects is read as one sequence per dialect, the shared `.sql` files in
//!   each: what each engine would run.
//! - `.py` deltas are Python modules Synapse runs between the SQL ones: twice
//!   cannot read them (skipped with a notice), so what they create is
//!   missing during replay.
//! - Synapse replaces `$%AUTO_INCREMENT_PRIMARY_KEY%$` in a file with its
//!   engine's auto-increment key before running it; so does twice.
//! - Two delta files of one name in one version (in two stores) make Synapse
//!   refuse to start.
//!
//! Files outside `delta/<N>/` and `full_schemas/<N>/` (Synapse's
//! `common/schema_version.sql`, which its runner applies itself before
//! anything else) are not migrations of this layout.

use super::{dialect_variant, is_sql_name, numeric_cmp, whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::{LayoutKind, Migration};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The full schema + deltas layout.
pub struct SchemaDelta;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("schema-delta");

const DELTA: &str = "delta";
/// Synapse's engines replace this with the engine's auto-increment primary
/// key before running a file (`synapse/storage/engines/postgres.py` and
/// `sqlite.py`, `executescript`).
const MACRO: &str = "$%AUTO_INCREMENT_PRIMARY_KEY%$";
const FULL: &str = "full_schemas";

/// Where a file of the folder sits: `(store)/delta/<N>/file` or
/// `(store)/full_schemas/<N>/file`.
#[derive(Debug, PartialEq, Eq)]
struct Place<'a> {
    full: bool,
    version: &'a str,
}

fn place(rel: &str) -> Option<Place<'_>> {
    let parts: Vec<&str> = rel.split('/').collect();
    // `delta/5/x.sql` (the folder is a store) or `main/delta/5/x.sql`.
    let k = match parts.len() {
        3 => 0,
        4 => 1,
        _ => return None,
    };
    let full = match parts[k] {
        DELTA => false,
        FULL => true,
        _ => return None,
    };
    let version = parts[k + 1];
    (!version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()))
        .then_some(Place { full, version })
}

/// Whether `dir` holds `<digits>/` sub-folders with SQL files in them.
fn has_versions(dir: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_digit())
            && e.path().is_dir()
            && std::fs::read_dir(e.path()).is_ok_and(|files| {
                files
                    .flatten()
                    .any(|f| is_sql_name(&f.file_name().to_string_lossy()))
            })
    })
}

/// Whether `dir` is a store: `delta/<N>/` or `full_schemas/<N>/` in it.
fn is_store(dir: &Path) -> bool {
    [DELTA, FULL].iter().any(|d| has_versions(&dir.join(d)))
}

impl super::Layout for SchemaDelta {
    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .find(|e| place(&e.rel).is_some())
            .map(|e| format!("delta/<N>/ or full_schemas/<N>/ folders ({})", e.rel))
    }

    fn claims_dir(&self, dir: &Path, listed: &[super::Listed]) -> Option<String> {
        if is_store(dir) {
            return Some("delta/<N>/ or full_schemas/<N>/ folders in it".into());
        }
        let mut stores: Vec<String> = listed
            .iter()
            .filter(|e| e.is_dir && is_store(&dir.join(&e.name)))
            .map(|e| e.name.clone())
            .collect();
        stores.sort();
        (!stores.is_empty()).then(|| {
            format!(
                "delta/<N>/ or full_schemas/<N>/ folders in {}",
                stores.join(", ")
            )
        })
    }

    fn absorbs_subfolder(&self, rel: &str, _folder: &Folder) -> bool {
        let parts: Vec<&str> = rel.split('/').collect();
        let versioned = |p: &[&str]| match p {
            [d] => *d == DELTA || *d == FULL,
            [d, v] => (*d == DELTA || *d == FULL) && v.bytes().all(|b| b.is_ascii_digit()),
            _ => false,
        };
        // The folder is a store, or holds stores (any sub-folder).
        versioned(&parts) || parts.len() == 1 || (parts.len() <= 3 && versioned(&parts[1..]))
    }

    fn code_migration(&self, rel: &str) -> Option<String> {
        place(rel)
            .filter(|p| !p.full && super::ends_with_ci(rel, ".py"))
            .map(|p| p.version.to_string())
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        let python = super::ends_with_ci(name, ".py") && place(name).is_some_and(|p| !p.full);
        python.then(|| {
            "a Python delta: the tool runs it as a Python module between the SQL deltas; twice \
             reads only SQL, so what it creates is missing during replay"
                .into()
        })
    }

    fn variant_dialects(&self, folder: &Folder) -> Vec<Dialect> {
        let set: BTreeSet<&'static str> = folder
            .entries
            .iter()
            .filter(|e| place(&e.rel).is_some())
            .filter_map(|e| dialect_variant(e.base()))
            .map(Dialect::name)
            .collect();
        set.into_iter().filter_map(Dialect::from_name).collect()
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn text_macros(&self, dialect: Dialect) -> &'static [(&'static str, &'static str)] {
        match dialect {
            Dialect::Postgres => &[(MACRO, "BIGINT PRIMARY KEY GENERATED ALWAYS AS IDENTITY")],
            Dialect::Sqlite => &[(MACRO, "INTEGER PRIMARY KEY AUTOINCREMENT")],
            _ => &[],
        }
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    // version → entries; the newest full schema wins.
    let mut full: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut deltas: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    // Files written for another dialect, by dialect.
    let mut other: BTreeMap<&'static str, (usize, String)> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        let Some(p) = place(&e.rel) else {
            plan.skipped.push((
                i,
                "not in a delta/<N>/ or full_schemas/<N>/ folder, so not a migration of this \
                 layout (Synapse applies its common/schema_version.sql itself on every start)"
                    .into(),
            ));
            continue;
        };
        if let Some(d) = dialect_variant(e.base()) {
            if d != folder.dialect {
                let ext = e.base().rsplit('.').next().unwrap_or("").to_string();
                let slot = other.entry(d.name()).or_insert((0, ext));
                slot.0 += 1;
                continue;
            }
        }
        let key = p.version.trim_start_matches('0').to_string();
        if p.full { &mut full } else { &mut deltas }
            .entry(key)
            .or_default()
            .push(i);
    }
    let by_name = |a: &usize, b: &usize| {
        let (ea, eb) = (&folder.entries[*a], &folder.entries[*b]);
        ea.base().cmp(eb.base()).then_with(|| ea.rel.cmp(&eb.rel))
    };
    let newest = full
        .keys()
        .max_by(|a, b| numeric_cmp(a, b))
        .cloned()
        .map(|v| {
            let files = full.remove(&v).unwrap_or_default();
            (v, files)
        });
    for (v, files) in &full {
        for &i in files {
            plan.skipped.push((
                i,
                format!(
                    "an older full schema (v{}): a new database starts from the newest one",
                    if v.is_empty() { "0" } else { v }
                ),
            ));
        }
    }
    if let Some((v, mut files)) = newest {
        files.sort_by(by_name);
        let shown = if v.is_empty() {
            "0".to_string()
        } else {
            v.clone()
        };
        for i in files {
            let e = &folder.entries[i];
            plan.migrations.push(
                Migration::new(
                    shown.clone(),
                    format!("full schema {}", e.rel),
                    whole(folder, i),
                    None,
                )
                .starting_state(format!(
                    "this file is the full schema v{shown} a new database starts from: it is \
                     applied once as the starting state and not audited, but the deltas after \
                     it need what it creates"
                )),
            );
        }
        let old: Vec<usize> = deltas
            .iter()
            .filter(|(dv, _)| numeric_cmp(dv, &v) != std::cmp::Ordering::Greater)
            .flat_map(|(_, f)| f.iter().copied())
            .collect();
        if !old.is_empty() {
            plan.notices.push(format!(
                "{} ({}): {} of version {shown} and older not read: a new database starts from \
                 the full schema v{shown}, which holds what they made (they ran only when older \
                 databases were upgraded; name a delta folder to check it)",
                folder.display,
                folder.dialect,
                plural(old.len(), "delta file"),
            ));
            deltas.retain(|dv, _| numeric_cmp(dv, &v) == std::cmp::Ordering::Greater);
        }
    }
    let mut versions: Vec<(String, Vec<usize>)> = deltas.into_iter().collect();
    versions.sort_by(|a, b| numeric_cmp(&a.0, &b.0));
    for (v, mut files) in versions {
        files.sort_by(by_name);
        let shown = if v.is_empty() { "0".to_string() } else { v };
        for w in files.windows(2) {
            if folder.entries[w[0]].base() == folder.entries[w[1]].base() {
                plan.problem(
                    w[1],
                    0..0,
                    format!(
                        "the tool refuses to run version {shown}: {} and {} have one file name",
                        folder.entries[w[0]].rel, folder.entries[w[1]].rel
                    ),
                    "give the delta files of one version distinct names",
                );
            }
        }
        for i in files {
            let base = folder.entries[i].base();
            let name = base.split_once('.').map_or(base, |(s, _)| s);
            plan.migrations.push(Migration::new(
                shown.clone(),
                name.to_string(),
                whole(folder, i),
                None,
            ));
        }
    }
    for (d, (n, ext)) in other {
        if !folder.split {
            plan.notices.push(format!(
                "{}: {} written for {d} (.sql.{ext}) not read: this sequence is {} (pass \
                 --dialect {d} to check them)",
                folder.display,
                plural(n, "file"),
                folder.dialect
            ));
        }
    }
    plan
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Layout;
    use super::*;

    fn synapse_like() -> Folder {
        folder(&[
            (
                "common/schema_version.sql",
                "CREATE TABLE IF NOT EXISTS v (x int);",
            ),
            (
                "common/full_schemas/7/full.sql.postgres",
                "CREATE TABLE a (x int);",
            ),
            (
                "common/full_schemas/7/full.sql.sqlite",
                "CREATE TABLE a (x int);",
            ),
            ("main/full_schemas/3/full.sql", "CREATE TABLE old (x int);"),
            (
                "main/full_schemas/7/full.sql.postgres",
                "CREATE TABLE b (x int);",
            ),
            ("main/delta/6/a.sql", "SELECT 1;"),
            ("main/delta/8/02_b.sql", "SELECT 1;"),
            ("main/delta/8/01_c.sql.sqlite", "SELECT 1;"),
            ("main/delta/10/01_d.sql", "SELECT 1;"),
            ("main/delta/9/01_e.sql.postgres", "SELECT 1;"),
            ("state/delta/8/01_a.sql", "SELECT 1;"),
        ])
    }

    #[test]
    fn full_schema_then_deltas_by_version_then_name() {
        let mut f = synapse_like();
        f.dialect = Dialect::Postgres;
        f.variants = vec![Dialect::Postgres, Dialect::Sqlite];
        f.split = true;
        let p = SchemaDelta.plan(&f);
        assert_eq!(
            order(&f, &p),
            vec![
                "7 common/full_schemas/7/full.sql.postgres",
                "7 main/full_schemas/7/full.sql.postgres",
                "8 state/delta/8/01_a.sql",
                "8 main/delta/8/02_b.sql",
                "9 main/delta/9/01_e.sql.postgres",
                "10 main/delta/10/01_d.sql",
            ]
        );
        assert!(p.migrations[0].apply_only && p.migrations[1].apply_only);
        assert!(!p.migrations[2].apply_only);
        // The delta of v6 is older than the full schema; the sqlite files
        // belong to the other sequence and are not mentioned.
        assert_eq!(p.notices.len(), 1, "{:?}", p.notices);
        assert!(p.notices[0].contains("1 delta file of version 7 and older"));
        let skipped: Vec<&str> = p
            .skipped
            .iter()
            .map(|(i, _)| f.entries[*i].rel.as_str())
            .collect();
        assert_eq!(
            skipped,
            vec!["common/schema_version.sql", "main/full_schemas/3/full.sql"]
        );
    }

    #[test]
    fn other_dialects_are_named_when_not_split() {
        let mut f = synapse_like();
        f.dialect = Dialect::Sqlite;
        let p = SchemaDelta.plan(&f);
        assert!(order(&f, &p).contains(&"8 main/delta/8/01_c.sql.sqlite".to_string()));
        assert!(p
            .notices
            .iter()
            .any(|n| n.contains("3 files written for postgres (.sql.postgres) not read")));
        assert_eq!(
            SchemaDelta.variant_dialects(&f),
            vec![Dialect::Postgres, Dialect::Sqlite]
        );
    }

    #[test]
    fn without_a_full_schema_every_delta_runs() {
        let f = folder(&[
            ("delta/2/b.sql", ""),
            ("delta/10/a.sql", ""),
            ("delta/2/a.sql", ""),
        ]);
        assert_eq!(
            order(&f, &SchemaDelta.plan(&f)),
            vec!["2 delta/2/a.sql", "2 delta/2/b.sql", "10 delta/10/a.sql"]
        );
        assert!(SchemaDelta.detect(&f).is_some());
    }

    #[test]
    fn one_name_twice_in_a_version_is_refused() {
        let f = folder(&[("main/delta/3/x.sql", ""), ("state/delta/3/x.sql", "")]);
        let p = SchemaDelta.plan(&f);
        assert_eq!(p.problems.len(), 1);
        assert!(p.problems[0].message.contains("one file name"));
    }

    #[test]
    fn names() {
        use super::super::{dialect_variant, is_sql_name};
        assert_eq!(dialect_variant("a.sql.postgres"), Some(Dialect::Postgres));
        assert_eq!(dialect_variant("a.SQL.sqlite"), Some(Dialect::Sqlite));
        assert_eq!(dialect_variant("a.sql"), None);
        assert_eq!(dialect_variant("a.postgres"), None);
        assert_eq!(dialect_variant("a.sql.generic"), None);
        assert!(is_sql_name("x.sql.mysql") && is_sql_name("x.sql") && !is_sql_name("x.py"));
        assert_eq!(
            place("main/delta/12/x.sql"),
            Some(Place {
                full: false,
                version: "12"
            })
        );
        assert_eq!(place("delta/x/y.sql"), None);
        assert_eq!(place("a/b/delta/1/y.sql"), None);
        assert!(SchemaDelta.skip_reason("main/delta/5/x.py").is_some());
        assert!(SchemaDelta.skip_reason("__init__.py").is_none());
    }
}
