//! What a check is told: [`Options`] (from flags and `twice.toml`), with the
//! types its fields hold (`exclude` globs, `[rules]` levels, setup scripts).
//! A leaf: every stage reads it, it imports no stage.

use crate::dialect::Dialect;
use crate::finding::Severity;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Everything `twice check` can be told.
#[derive(Clone, Debug)]
pub struct Options {
    /// `None`: what a folder name implies, else what the SQL is clearly
    /// written in, else [`Options::unnamed_dialect`]. `Some`: every sequence
    /// is read in it (`--dialect`).
    pub dialect: Option<Dialect>,
    pub layout: Option<crate::model::LayoutKind>,
    pub replay: bool,
    pub down: bool,
    /// Seed tables with synthetic rows before each migration's first run
    /// (on by default; `--no-seed`, `[replay] seed = false`).
    pub seed: bool,
    /// Write like an application between the first and the second run, and
    /// check the second run keeps it (on by default; `--no-interleave`,
    /// `[replay] interleave = false`).
    pub interleave: bool,
    pub timeout: Duration,
    pub defines: BTreeMap<String, String>,
    pub stdin_filename: Option<String>,
    pub engine: Engine,
    pub database_url: Option<String>,
    /// `--database-url-trusted`: the server is disposable; migrations may
    /// run as the URL's role when it cannot create roles.
    pub database_url_trusted: bool,
    /// `--template`: the database scratch databases are copied from
    /// (PostgreSQL; `template1` when `None`).
    pub template: Option<String>,
    /// `[replay] mysql_sql_mode`: the `sql_mode` MySQL replay sessions use
    /// (`None`: the server's default).
    pub mysql_sql_mode: Option<String>,
    /// `[replay] mysql_foreign_key_checks = false`: MySQL replay sessions
    /// run with `foreign_key_checks = 0`, as tools that run their
    /// migrations so do (vaultwarden, `mysqldump` output).
    pub mysql_foreign_key_checks: bool,
    /// `[replay] mysql_explicit_defaults_for_timestamp`: the value MySQL
    /// replay sessions set (`false`: the first TIMESTAMP column of a table
    /// gets `DEFAULT CURRENT_TIMESTAMP`, as on MySQL 5.7 and older; `None`:
    /// the server's default).
    pub mysql_explicit_defaults_for_timestamp: Option<bool>,
    /// How much the data folder of twice's throwaway server (MySQL,
    /// PostgreSQL) may grow while migrations run (`None`:
    /// [`crate::replay::DATA_LIMIT`]); a statement that takes it past is
    /// stopped (`replay-resource-limit`).
    pub data_limit: Option<u64>,
    /// `--setup` / `[replay] setup`: scripts run before the first migration
    /// of a sequence (see [`crate::replay::setup`]).
    pub setup: Vec<SetupScript>,
    /// `exclude` globs from twice.toml (see [`Options::excluded`]).
    pub exclude: Option<Exclude>,
    /// `[rules]` levels from twice.toml, by rule id.
    pub rules: BTreeMap<String, RuleLevel>,
    /// `[[sequence]]` tables from twice.toml: folders whose migrations form
    /// one history, in order.
    pub sequences: Vec<Vec<std::path::PathBuf>>,
    /// `--since REF`: migrations unchanged since this git revision are the
    /// starting state (see [`crate::since`]).
    pub since: Option<String>,
    /// `--from VERSION`: migrations before this version are the starting state.
    pub from: Option<String>,
    /// Told how far the check is (for a progress indicator).
    pub progress: Option<ProgressHook>,
    /// `--jobs`: threads for the static pass and for replaying independent
    /// sequences side by side (1: everything on the calling thread).
    pub jobs: usize,
    /// Throwaway PostgreSQL clusters shared by the sequences of a check
    /// (`check` sets it; see [`crate::replay::postgres::cluster::ClusterPool`]).
    pub clusters: Option<std::sync::Arc<crate::replay::postgres::cluster::ClusterPool>>,
}

/// Called as the check goes with what it does, how many steps of it are
/// done and how many there are (`--progress` on a terminal).
#[derive(Clone)]
pub struct ProgressHook(pub std::sync::Arc<ProgressFn>);

/// The `what` of progress reports about the static rules (counted in files);
/// replay reports name the sequence's folder (counted in migrations).
pub const STATIC_PROGRESS: &str = "\0static rules";

/// What a [`ProgressHook`] calls: (what, done, total).
pub type ProgressFn = dyn Fn(&str, usize, usize) + Send + Sync;

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressHook")
    }
}

/// Where replay runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// In-memory SQLite, sandboxed.
    Sqlite,
    /// A PostgreSQL server (`--database-url`) or a throwaway local cluster.
    Postgres,
    /// A MariaDB/MySQL server (`--database-url mysql://...`) or a throwaway
    /// local server.
    Mysql,
    /// Each sequence on the engine of its dialect, when that engine is
    /// available (see [`crate::replay::auto_engine`]).
    Auto,
}

impl Options {
    /// The dialect of a sequence nothing names (no `--dialect`, no dialect
    /// in its path, its tool's files, its SQL or its project), and what
    /// decided it: the dialect of the engine given (`--engine postgres`
    /// reads such a sequence as PostgreSQL), else SQLite. Sequences whose
    /// dialect something names keep it, whatever the engine: replay skips
    /// those the engine does not run (see [`crate::replay::engine_for`]).
    pub fn unnamed_dialect(&self) -> (Dialect, &'static str) {
        match self.engine {
            Engine::Postgres => (
                Dialect::Postgres,
                "--engine postgres: nothing else names a dialect",
            ),
            Engine::Mysql => (
                Dialect::Mysql,
                "--engine mysql: nothing else names a dialect",
            ),
            Engine::Sqlite | Engine::Auto => (Dialect::Sqlite, "default: nothing names a dialect"),
        }
    }

    /// The dialect of a file no sequence reads: `--dialect`, else
    /// [`Options::unnamed_dialect`].
    pub fn default_dialect(&self) -> Dialect {
        self.dialect.unwrap_or(self.unnamed_dialect().0)
    }

    /// Reports progress to the hook, if any.
    pub fn progress(&self, what: &str, done: usize, total: usize) {
        if let Some(p) = &self.progress {
            (p.0)(what, done, total);
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dialect: None,
            layout: None,
            replay: true,
            down: true,
            seed: true,
            interleave: true,
            timeout: Duration::from_secs(5),
            defines: BTreeMap::new(),
            stdin_filename: None,
            engine: Engine::Sqlite,
            database_url: None,
            database_url_trusted: false,
            template: None,
            mysql_sql_mode: None,
            mysql_foreign_key_checks: true,
            mysql_explicit_defaults_for_timestamp: None,
            data_limit: None,
            setup: Vec::new(),
            exclude: None,
            rules: BTreeMap::new(),
            sequences: Vec::new(),
            since: None,
            from: None,
            progress: None,
            jobs: crate::parallel::default_jobs(),
            clusters: None,
        }
    }
}

/// What `[rules]` says about one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleLevel {
    /// Drop the rule's findings.
    Off,
    /// Report the rule's findings with this severity.
    On(Severity),
}

impl RuleLevel {
    pub fn from_name(s: &str) -> Option<RuleLevel> {
        match s {
            "off" => Some(RuleLevel::Off),
            _ => Severity::from_name(s).map(RuleLevel::On),
        }
    }
}

/// A setup script as configured: the file, and the sequence (its folder)
/// it is for (`None`: every sequence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupScript {
    pub path: PathBuf,
    pub sequence: Option<PathBuf>,
    /// For a script named in twice.toml, the config file's folder: the
    /// script must be in it (symbolic links followed). twice.toml comes with
    /// the migrations, from a pull request too, and a setup script's text
    /// is quoted in its error messages: `/proc/self/environ` would print
    /// twice's environment (CI secrets) to the log. `None` for `--setup`.
    pub within: Option<PathBuf>,
}

/// Compiled `exclude` globs. Cheap to clone; clones share the record of
/// what was excluded, which [`Exclude::take_notices`] turns into notices.
#[derive(Clone, Debug)]
pub struct Exclude {
    /// The config file's folder, canonical.
    base: PathBuf,
    /// Shown in notices ("exclude in twice.toml").
    source: String,
    patterns: Vec<String>,
    set: globset::GlobSet,
    /// For each glob in `set`, the index of the pattern it came from.
    glob_pattern: Vec<usize>,
    /// Per pattern: how many files it excluded and the first of them.
    hits: Arc<Mutex<Vec<(usize, String)>>>,
    /// Per pattern: whether it ever excluded a file.
    used: Arc<Mutex<Vec<bool>>>,
}

impl Exclude {
    /// Compiles `patterns` (relative to `base`). On a bad pattern, returns
    /// its index and globset's reason.
    pub fn new(
        base: &Path,
        source: &str,
        patterns: &[String],
    ) -> std::result::Result<Exclude, (usize, String)> {
        let mut builder = globset::GlobSetBuilder::new();
        let mut glob_pattern = Vec::new();
        for (i, raw) in patterns.iter().enumerate() {
            let p = raw.replace('\\', "/");
            let p = p.trim_start_matches("./");
            let anchored = p.starts_with('/') || p.trim_end_matches('/').contains('/');
            let p = p.trim_start_matches('/').trim_end_matches('/');
            if p.is_empty() {
                return Err((i, "the pattern is empty".into()));
            }
            let p = if anchored || p.starts_with("**") {
                p.to_string()
            } else {
                format!("**/{p}")
            };
            // The pattern itself, and everything below what it names.
            for g in [p.clone(), format!("{p}/**")] {
                let glob = globset::GlobBuilder::new(&g)
                    .literal_separator(true)
                    .backslash_escape(false)
                    .build()
                    .map_err(|e| (i, e.kind().to_string()))?;
                builder.add(glob);
                glob_pattern.push(i);
            }
        }
        let set = builder.build().map_err(|e| (0, e.kind().to_string()))?;
        Ok(Exclude {
            base: canonical(base),
            source: source.to_string(),
            patterns: patterns.to_vec(),
            set,
            glob_pattern,
            hits: Arc::new(Mutex::new(vec![(0, String::new()); patterns.len()])),
            used: Arc::new(Mutex::new(vec![false; patterns.len()])),
        })
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The path that patterns are matched against: relative to the config
    /// folder, or the whole absolute path (without its root) for files
    /// outside it, which only name patterns (`**/...`) can match.
    fn match_path(&self, path: &Path) -> String {
        let abs = canonical(path);
        let rel = abs.strip_prefix(&self.base).unwrap_or(&abs);
        rel.components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Whether `path` is excluded; remembers it for the notices.
    pub fn matches(&self, path: &Path) -> bool {
        let rel = self.match_path(path);
        let hit = self.set.matches(&rel);
        let Some(&first) = hit.first() else {
            return false;
        };
        let pattern = self.glob_pattern.get(first).copied().unwrap_or(0);
        if let Ok(mut hits) = self.hits.lock() {
            if let Some(h) = hits.get_mut(pattern) {
                if h.0 == 0 {
                    h.1 = crate::source::display_path(path);
                }
                h.0 += 1;
            }
        }
        if let Ok(mut used) = self.used.lock() {
            if let Some(u) = used.get_mut(pattern) {
                *u = true;
            }
        }
        true
    }

    /// One notice per pattern that excluded files since the last call.
    pub fn take_notices(&self) -> Vec<String> {
        let Ok(mut hits) = self.hits.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, h) in hits.iter_mut().enumerate() {
            if h.0 == 0 {
                continue;
            }
            let what = if h.0 == 1 {
                h.1.clone()
            } else {
                format!("{} files (first: {})", h.0, h.1)
            };
            out.push(format!(
                "excluded {what}: matches `{}` (exclude in {})",
                self.patterns[i], self.source
            ));
            *h = (0, String::new());
        }
        if let Ok(used) = self.used.lock() {
            for (i, u) in used.iter().enumerate() {
                if !u {
                    out.push(format!(
                        "`exclude` pattern `{}` (in {}) matched no file: a typo, or a \
                         path that moved? Patterns are relative to the folder of {}",
                        self.patterns[i], self.source, self.source
                    ));
                }
            }
        }
        out
    }
}

/// `path` made absolute and canonical where possible (symlinks resolved),
/// else made absolute against the current folder with `.` and `..` folded.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}
