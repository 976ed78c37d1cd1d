//! `version-folders`: a folder of release-named sub-folders (`0.22/`,
//! `v1.4.0/`), each holding the SQL files of that release, such as memos'
//! `store/migration/<driver>/<version>/NN__name.sql` (usememos/memos
//! `store/migrator.go`, `applyMigrations`). Runners of this shape upgrade a
//! database release by release:
//!
//! - the releases run in version order (numerically, part by part: `0.9`
//!   before `0.10`), and the files of one release in file-name order;
//! - each file runs once (the runner records the schema version it reached);
//! - SQL files beside the release folders (memos' `LATEST.sql`) are the full
//!   schema a new database gets instead of the releases: not on the upgrade
//!   path, they are left out with a notice (named on the command line, such
//!   a file is read on its own).
//!
//! A folder is read this way by its shape: at least two release folders
//! holding SQL files, most of its sub-folders release folders, and at most
//! two SQL files of its own. Without this layout each release folder was a
//! sequence of its own, replayed on an empty database.

use super::{is_sql_name, parts_cmp, whole, Folder, Plan};
use crate::model::{LayoutKind, Migration};
use std::path::Path;

/// The release-folders layout.
pub struct VersionFolders;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("version-folders");

/// Why an SQL file beside the release folders is not a migration.
const LOOSE: &str = "not in a release folder: the full schema a new database gets instead of the \
                     releases (or a script run on its own), not a step of the upgrade path";

/// A release folder's name, read as a semantic version: at least two
/// numeric parts after an optional `v` (`0.22`, `v1.4.0`), then an optional
/// pre-release (`-beta.2`, `-dev`) and build (`+build.5`, ignored), as
/// release folders of upgrade scripts are often named after the version a
/// development build reports (`0.1.0-beta.2.dev`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Release<'a> {
    core: Vec<&'a str>,
    pre: Vec<&'a str>,
}

impl Release<'_> {
    /// The name the migrations' versions carry (`1.4.0`, `0.1.1-dev`).
    fn text(&self) -> String {
        let core = self.core.join(".");
        if self.pre.is_empty() {
            core
        } else {
            format!("{core}-{}", self.pre.join("."))
        }
    }
}

impl Ord for Release<'_> {
    /// Semantic version order: numeric parts first (`0.9` before `0.10`);
    /// a pre-release comes before its release; pre-release identifiers
    /// compare numerically when both are numbers, numbers before words,
    /// and a shorter list before a longer one it starts.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        parts_cmp(&self.core, &other.core).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let number = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
                        let o = match (number(a), number(b)) {
                            (true, true) => super::numeric_cmp(a, b),
                            (true, false) => Ordering::Less,
                            (false, true) => Ordering::Greater,
                            (false, false) => a.cmp(b),
                        };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            }
        })
    }
}

impl PartialOrd for Release<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A release folder's version (`v1.4.0` → 1, 4, 0; `0.1.1-dev` → 0, 1, 1
/// and `dev`), or `None` for any other name.
fn release(name: &str) -> Option<Release<'_>> {
    let bare = name
        .strip_prefix('v')
        .or_else(|| name.strip_prefix('V'))
        .unwrap_or(name);
    let bare = bare.split_once('+').map_or(bare, |(v, _build)| v);
    let (core, pre) = match bare.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (bare, None),
    };
    let core: Vec<&str> = core.split('.').collect();
    let numeric = core.len() >= 2
        && core
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()));
    let pre: Vec<&str> = match pre {
        None => Vec::new(),
        Some(pre) => {
            let ids: Vec<&str> = pre.split('.').collect();
            let fine = ids.iter().all(|p| {
                !p.is_empty()
                    && p.len() <= 40
                    && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
            if !fine {
                return None;
            }
            ids
        }
    };
    numeric.then_some(Release { core, pre })
}

/// The release folder of a relative path (`0.22/00__x.sql` → `0.22`), when
/// the file sits directly in one.
fn release_of(rel: &str) -> Option<&str> {
    let (dir, file) = rel.split_once('/')?;
    (!file.contains('/') && release(dir).is_some()).then_some(dir)
}

impl super::Layout for VersionFolders {
    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, _folder: &Folder) -> Option<String> {
        // Known by the shape of the folder on disk (`claims_dir`).
        None
    }

    fn claims_dir(&self, dir: &Path, listed: &[super::Listed]) -> Option<String> {
        let (mut releases, mut others, mut loose_sql) = (Vec::new(), 0usize, 0usize);
        for e in listed.iter().take(10_000) {
            let name = e.name.clone();
            if e.is_dir {
                if name.starts_with('.') {
                    continue;
                }
                let has_sql = || {
                    std::fs::read_dir(dir.join(&name)).ok().is_some_and(|r| {
                        r.flatten()
                            .take(10_000)
                            .any(|f| is_sql_name(&f.file_name().to_string_lossy()))
                    })
                };
                if release(&name).is_some() && has_sql() {
                    releases.push(name);
                } else {
                    others += 1;
                }
            } else if is_sql_name(&name) {
                loose_sql += 1;
            }
        }
        if releases.len() < 2 || others > releases.len() || loose_sql > 2 {
            return None;
        }
        releases.sort_by(|a, b| release(a).cmp(&release(b)));
        Some(format!(
            "{} release folders ({} to {})",
            releases.len(),
            releases.first()?,
            releases.last()?
        ))
    }

    fn absorbs_subfolder(&self, rel: &str, _folder: &Folder) -> bool {
        !rel.contains('/') && release(rel).is_some()
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        (!name.contains('/') && is_sql_name(name)).then(|| LOOSE.into())
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut files: Vec<(Release<'_>, &str, usize)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        match release_of(&e.rel) {
            Some(name) => files.push((release(name).unwrap_or_default(), e.base(), i)),
            None if e.dir().is_empty() => plan.skipped.push((i, LOOSE.into())),
            None => plan
                .skipped
                .push((i, "not directly in a release folder".into())),
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    for (release, base, i) in files {
        let stem = base.strip_suffix(".sql").unwrap_or(base);
        plan.migrations.push(Migration::new(
            format!("{}/{stem}", release.text()),
            stem.to_string(),
            whole(folder, i),
            None,
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn releases_in_version_order_files_by_name() {
        let f = folder(&[
            ("0.10/00__b.sql", "select 10;"),
            ("0.9/01__z.sql", "select 9.1;"),
            ("0.9/00__a.sql", "select 9.0;"),
            ("v1.2/00__c.sql", "select 12;"),
            ("LATEST.sql", "select 'all';"),
        ]);
        let p = plan(&f);
        let versions: Vec<&str> = p.migrations.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(
            versions,
            ["0.9/00__a", "0.9/01__z", "0.10/00__b", "1.2/00__c"]
        );
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn release_names() {
        assert!(release("0.22").is_some());
        assert!(release("v1.4.0").is_some());
        assert!(release("0.1.0-beta.2.dev").is_some());
        assert!(release("1.2.3+build.7").is_some());
        assert!(release("12").is_none());
        assert!(release("1.x").is_none());
        assert!(release("2024-01-01").is_none());
        assert!(release("1.2-").is_none());
        assert!(release("1.2-a..b").is_none());
        assert!(release("1.2-a b").is_none());
    }

    #[test]
    fn pre_releases_in_semantic_version_order() {
        let mut names = vec![
            "0.10.0-dev",
            "0.1.1",
            "0.1.0",
            "0.1.0-beta.11",
            "0.1.0-beta.2.dev",
            "0.1.0-beta.2",
            "0.1.0-alpha",
            "0.1.1-dev",
            "0.2.2-dev",
        ];
        names.sort_by(|a, b| release(a).cmp(&release(b)));
        assert_eq!(
            names,
            [
                "0.1.0-alpha",
                "0.1.0-beta.2",
                "0.1.0-beta.2.dev",
                "0.1.0-beta.11",
                "0.1.0",
                "0.1.1-dev",
                "0.1.1",
                "0.2.2-dev",
                "0.10.0-dev",
            ]
        );
    }
}
