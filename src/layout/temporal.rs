//! `temporal-sql-tool`: version folders with a `manifest.json` each, as
//! Temporal's `temporal-sql-tool update-schema` reads them (and Cadence's
//! `cadence-sql-tool`, which it was forked from):
//! `schema/mysql/v8/temporal/versioned/v1.5/manifest.json` beside the SQL
//! files of version 1.5. twice reads any folder of that shape the way the
//! tool does (temporalio/temporal, `tools/common/schema/updatetask.go`,
//! `buildChangeSet`, `readSchemaDir`, `readManifest`):
//!
//! - the version folders are the sub-folders named `v<digits>[.<digits>...]`
//!   (the tool's `^v[\d.]+`, parsed as a semantic version), run in version
//!   order (`v1.9` before `v1.10`, `v2` after both); a new database runs all
//!   of them (`setup-schema -v 0.0`, then `update-schema`);
//! - inside one, only the files the manifest's `SchemaUpdateCqlFiles` lists
//!   run, in the order it lists them (not by name); other SQL files there
//!   are not run;
//! - the tool refuses to update when a manifest is missing or not JSON, when
//!   its `CurrVersion` is not the folder's version, when `MinCompatibleVersion`
//!   is missing, when it lists no file (without `AllowNoCqlFiles`), or when a
//!   listed file is missing: these are `malformed-migration` findings;
//! - a full schema (`schema.sql`, for `setup-schema --schema-file`) and the
//!   `CREATE DATABASE` script (`database.sql`) beside `versioned/` are not
//!   part of the versioned history: skipped with a notice (name them to
//!   check them);
//! - the tool runs each statement on its own, outside a transaction, and
//!   carries on past an error whose text holds `already exist` or
//!   `not found` (its own guard against a half-applied version): twice
//!   still reports such statements, since a re-run by anything else (or an
//!   error worded otherwise, such as MySQL's `Duplicate column name`) stops.
//!
//! A folder is read in this layout when it holds such version folders, or a
//! `versioned/` folder that does, even without SQL files of its own.

use super::{is_sql_name, whole, Folder, Plan};
use crate::model::{LayoutKind, Migration};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The Temporal/Cadence SQL schema tool's layout.
pub struct TemporalSql;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("temporal-sql-tool");

const MANIFEST: &str = "manifest.json";
const VERSIONED: &str = "versioned";
/// The key the manifest lists its files under (the same for SQL and CQL).
const FILES_KEY: &str = "SchemaUpdateCqlFiles";

/// The version a folder name stands for: `v1.10` → `["1", "10"]` (compared
/// with [`super::parts_cmp`], missing parts are zero, as the tool's tolerant
/// semver parse reads them); `None` for any other name.
fn version(name: &str) -> Option<Vec<&str>> {
    let rest = name.strip_prefix('v')?;
    let parts: Vec<&str> = rest.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some(parts)
}

/// Where a path relative to the migrations folder sits: `(version folder
/// as a relative path, version folder name, rest)` for `v1.5/x.sql` and
/// `versioned/v1.5/x.sql`.
fn place(rel: &str) -> Option<(&str, &str, &str)> {
    let (dir, rest) = match rel.split_once('/') {
        Some((VERSIONED, r)) => {
            let (v, rest) = r.split_once('/')?;
            (&rel[..VERSIONED.len() + 1 + v.len()], rest)
        }
        Some((v, rest)) => (v, rest),
        None => return None,
    };
    let name = dir.rsplit('/').next().unwrap_or(dir);
    (version(name).is_some() && !rest.is_empty() && !rest.contains('/'))
        .then_some((dir, name, rest))
}

/// Whether `dir` holds a version folder with a manifest that lists files
/// and at least one SQL file (not Temporal's Cassandra `.cql` folders nor
/// its Elasticsearch `.json` ones).
fn holds_versions(dir: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        version(&name).is_some() && e.path().is_dir() && is_version(&e.path())
    })
}

/// [`holds_versions`] of a folder whose entries discovery listed.
fn holds_versions_listed(dir: &Path, listed: &[super::Listed]) -> bool {
    listed
        .iter()
        .any(|e| version(&e.name).is_some() && e.is_dir && is_version(&dir.join(&e.name)))
}

/// Whether the folder at `path` has a manifest that lists files and at
/// least one SQL file.
fn is_version(path: &Path) -> bool {
    std::fs::read_to_string(path.join(MANIFEST)).is_ok_and(|m| m.contains(FILES_KEY))
        && std::fs::read_dir(path).is_ok_and(|files| {
            files
                .flatten()
                .any(|f| is_sql_name(&f.file_name().to_string_lossy()))
        })
}

impl super::Layout for TemporalSql {
    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .aux
            .keys()
            .find(|k| place(k).is_some_and(|(_, _, f)| f == MANIFEST))
            .map(|k| format!("version folders with a manifest.json ({k})"))
    }

    fn claims_dir(&self, dir: &Path, listed: &[super::Listed]) -> Option<String> {
        if holds_versions_listed(dir, listed) {
            return Some("v<version>/ folders with a manifest.json in it".into());
        }
        holds_versions(&dir.join(VERSIONED))
            .then(|| format!("{VERSIONED}/v<version>/ folders with a manifest.json"))
    }

    fn absorbs_subfolder(&self, rel: &str, _folder: &Folder) -> bool {
        match rel.split('/').collect::<Vec<_>>()[..] {
            [VERSIONED] => true,
            [v] | [VERSIONED, v] => version(v).is_some(),
            _ => false,
        }
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        place(rel).is_some_and(|(_, _, f)| f == MANIFEST)
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

/// One version folder as the plan sees it.
#[derive(Default)]
struct VersionDir<'a> {
    name: &'a str,
    manifest: Option<&'a str>,
    /// Its SQL files: file name → entry.
    files: BTreeMap<&'a str, usize>,
}

/// What the tool reads of a manifest, or why it refuses it.
struct Manifest {
    curr: String,
    files: Vec<String>,
}

fn read_manifest(text: &str) -> Result<Manifest, String> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("its manifest.json is not JSON the tool can read ({e})"))?;
    let text_of = |key: &str| v.get(key).and_then(|x| x.as_str()).unwrap_or("").trim();
    let curr = text_of("CurrVersion").to_string();
    if curr.is_empty() {
        return Err("its manifest.json has no CurrVersion".into());
    }
    if text_of("MinCompatibleVersion").is_empty() {
        return Err("its manifest.json has no MinCompatibleVersion".into());
    }
    let files: Vec<String> = v
        .get(FILES_KEY)
        .and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str())
                .map(|f| f.trim_start_matches("./").to_string())
                .collect()
        })
        .unwrap_or_default();
    let allow_none = v.get("AllowNoCqlFiles").and_then(|x| x.as_bool()) == Some(true);
    if files.is_empty() && !allow_none {
        return Err(format!("its manifest.json lists no file ({FILES_KEY})"));
    }
    Ok(Manifest { curr, files })
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut dirs: BTreeMap<&str, VersionDir> = BTreeMap::new();
    for (key, text) in &folder.aux {
        if let Some((dir, name, MANIFEST)) = place(key) {
            let d = dirs.entry(dir).or_default();
            d.name = name;
            d.manifest = Some(text);
        }
    }
    for (i, e) in folder.entries.iter().enumerate() {
        match place(&e.rel) {
            Some((dir, name, file)) => {
                let d = dirs.entry(dir).or_default();
                d.name = name;
                d.files.insert(file, i);
            }
            None => plan.skipped.push((
                i,
                "not in a v<version>/ folder: `update-schema` runs only the files a \
                 manifest.json lists (a full schema or a CREATE DATABASE script is not part of \
                 the versioned history; name it to check it)"
                    .into(),
            )),
        }
    }
    let mut ordered: Vec<(&str, VersionDir)> = dirs.into_iter().collect();
    ordered.sort_by(|a, b| {
        let (va, vb) = (version(a.1.name), version(b.1.name));
        super::parts_cmp(va.as_deref().unwrap_or(&[]), vb.as_deref().unwrap_or(&[]))
            .then_with(|| a.0.cmp(b.0))
    });
    for (dir, d) in ordered {
        let first = d.files.values().next().copied();
        let refuse = |plan: &mut Plan, why: String| {
            match first {
            Some(i) => plan.problem(
                i,
                0..0,
                format!("temporal-sql-tool refuses to update: version folder {dir}: {why}"),
                "fix the version folder's manifest.json: the tool checks every version before it runs any",
            ),
            None => plan.notices.push(format!(
                "{}/{dir}: temporal-sql-tool refuses to update: {why}",
                folder.display
            )),
        }
        };
        let Some(text) = d.manifest else {
            refuse(&mut plan, "it has no manifest.json".into());
            for &i in d.files.values() {
                plan.skipped
                    .push((i, format!("{dir} has no manifest.json to list it")));
            }
            continue;
        };
        let m = match read_manifest(text) {
            Ok(m) => m,
            Err(why) => {
                refuse(&mut plan, why);
                for &i in d.files.values() {
                    plan.skipped
                        .push((i, format!("{dir}/manifest.json cannot be read")));
                }
                continue;
            }
        };
        let shown = d.name.trim_start_matches('v');
        if m.curr != shown {
            refuse(
                &mut plan,
                format!(
                    "its manifest.json says CurrVersion {:?}, not the folder's version {shown:?}",
                    m.curr
                ),
            );
        }
        let mut listed: HashSet<&str> = HashSet::new();
        for f in &m.files {
            if listed.contains(f.as_str()) {
                plan.notices.push(format!(
                    "{}/{dir}/manifest.json lists {f} twice: the tool runs it twice; twice reads it once",
                    folder.display
                ));
                continue;
            }
            listed.insert(f);
            let Some(&i) = d.files.get(f.as_str()) else {
                refuse(
                    &mut plan,
                    format!("its manifest.json lists {f}, which is not an SQL file in the folder"),
                );
                continue;
            };
            let name = f.split_once('.').map_or(f.as_str(), |(s, _)| s);
            let mut up = whole(folder, i);
            // Each statement is sent on its own, in autocommit.
            up.no_transaction = true;
            plan.migrations.push(Migration::new(
                shown.to_string(),
                name.to_string(),
                up,
                None,
            ));
        }
        for (f, &i) in &d.files {
            if !listed.contains(f) {
                plan.skipped.push((
                    i,
                    format!("not listed in {dir}/manifest.json: the tool does not run it"),
                ));
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_as_the_tool_orders_them() {
        let mut names = vec!["v1.10", "v2", "v1.9", "v1.0", "v1.9.1", "v0.30"];
        names.sort_by(|a, b| crate::layout::parts_cmp(&version(a).unwrap(), &version(b).unwrap()));
        assert_eq!(names, ["v0.30", "v1.0", "v1.9", "v1.9.1", "v1.10", "v2"]);
        for bad in ["1.0", "v", "v1.", "v1..2", "v1.2.3.4", "v1.0-rc", "version"] {
            assert!(version(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn places_files_in_version_folders() {
        assert_eq!(place("v1.5/event.sql"), Some(("v1.5", "v1.5", "event.sql")));
        assert_eq!(
            place("versioned/v1.5/manifest.json"),
            Some(("versioned/v1.5", "v1.5", "manifest.json"))
        );
        assert_eq!(place("schema.sql"), None);
        assert_eq!(place("versioned/schema.sql"), None);
        assert_eq!(place("v1.5/sub/x.sql"), None);
        assert_eq!(place("other/v1.5/x.sql"), None);
    }

    #[test]
    fn manifests_the_tool_refuses() {
        assert!(read_manifest("{").is_err());
        assert!(
            read_manifest(r#"{"CurrVersion":"1.0","SchemaUpdateCqlFiles":["a.sql"]}"#).is_err()
        );
        assert!(read_manifest(r#"{"CurrVersion":"1.0","MinCompatibleVersion":"1.0"}"#).is_err());
        let ok = read_manifest(
            r#"{"CurrVersion":"1.0","MinCompatibleVersion":"1.0","AllowNoCqlFiles":true}"#,
        )
        .unwrap();
        assert!(ok.files.is_empty());
        let m = read_manifest(
            r#"{"CurrVersion":" 1.2 ","MinCompatibleVersion":"1.0","SchemaUpdateCqlFiles":["b.sql","./a.sql"]}"#,
        )
        .unwrap();
        assert_eq!(m.curr, "1.2");
        assert_eq!(m.files, ["b.sql", "a.sql"]);
    }
}
