//! Finds migration files and orders them into sequences.
//!
//! # Folders
//! A folder given on the command line is walked recursively (sub-folders in
//! name order; hidden folders, `node_modules` and `exclude` globs of the
//! config file are not entered). Every folder that holds `.sql` files, or
//! one folder per migration (diesel's `<dir>/up.sql`, Prisma's
//! `<dir>/migration.sql`), or a layout's project file (`sqitch.plan`, a
//! Liquibase changelog) is a migration folder: its layout is detected
//! ([`crate::layout::detect`]) or taken from `--layout`, and it becomes one
//! [`Sequence`]. The walker asks the layouts (the registry in
//! [`crate::layout`]) which side files, side folders and sub-folders they
//! read; it knows none of them by name. Seeds and folders of test data,
//! fixtures and queries are left out of a walk with a notice
//! (`not_migrations_dir`), and `[[sequence]]` tables of the config join
//! sequences into one history. So a repository
//! root with `db/migrations/` finds that folder, and `sqlite/`, `postgres/`
//! and `mysql/` sub-folders of one history are separate sequences; the
//! dialect of a sequence is `--dialect`, else what the tool's own files
//! name ([`crate::layout::Layout::dialect`]), else the nearest folder name in
//! its path that names a dialect (`sqlite`, `sqlite3`, `postgres`,
//! `postgresql`, `pg`, `mysql`, `mariadb`, ..., also as a `-`/`_`/`.`-separated
//! word of the name, as in `migrations_postgres`), else what the SQL is
//! written in, else sqlite. A Flyway folder
//! takes in the Flyway-named files of its sub-folders (Flyway scans its
//! locations recursively), except sub-folders named for a dialect.
//!
//! Files a layout does not recognise in a migration folder (a README, a
//! `.keep`, a stray `.txt`, an SQL file with the wrong name) are skipped
//! with a notice, never silently. So is a `schema.sql` or `structure.sql`
//! alone beside a `migrations/` folder: the schema dump dbmate (or Rails)
//! writes after migrating, not a migration (named directly, it is read).
//!
//! # Files
//! Files named on the command line are read whatever their extension. Named
//! `.sql` files of one folder form one sequence in the order of the layout
//! detected from them (so `twice check migrations/*.sql` reads like
//! `twice check migrations`); a single file no layout claims is a `script`.
//! A named file that its layout does not recognise, or that is not `.sql`,
//! is checked as a script of its own.
//!
//! # File-system trouble
//! - A named path that does not exist or cannot be read stops the check
//!   (exit 2) with a message naming it.
//! - Inside a walked folder, a file or folder that cannot be read stops the
//!   check too, naming it: silently skipping a migration would give a wrong
//!   verdict. So does a dangling symbolic link named `*.sql`.
//! - A symbolic link that leads back into a folder being walked (a loop) is
//!   not followed: the user asked for the folder, so the loop is a notice.
//! - A symbolic link (to a `.sql` file or a folder) that leads out of the
//!   folder named on the command line is not followed (a notice): a link to
//!   `../../.git/config` or `/etc/passwd` must not end up in code frames. A
//!   link named on the command line is followed.
//! - `.gitignore` (inside a git repository) and `.ignore` files are
//!   respected (module `ignores` below); what they leave out is listed in a notice per
//!   folder. A folder named on the command line is walked even if ignored.
//! - Files are opened without blocking and must be regular files once open
//!   ([`crate::source::read_regular`]): a FIFO swapped in after listing is
//!   an error, not a hang.
//! - A file or folder that disappears between listing and reading is a
//!   notice: it is no longer part of the folder.
//! - Names that are not UTF-8 are shown lossily (U+FFFD) and still read.
//! - A path given twice, or a path inside another one given, is read once
//!   (with a notice).

use crate::analysis::{analyze_regions, Statement, Substitute};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::finding::{Finding, FindingBuilder, Origin, Severity};
use crate::layout::{self, Entry, Folder, Plan, Problem};
use crate::model::{LayoutKind, Migration, Part, Region, Sequence};
use crate::options::Options;
use crate::placeholder::{self, Placeholders};
use crate::sniff::Verdict;
pub use crate::source::display_path;
use crate::source::SourceFile;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// What the user asked to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file or folder, as the user wrote it.
    Path(PathBuf),
    /// `-`: one script from stdin.
    Stdin,
}

/// Files read and the sequences they form.
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<SourceFile>,
    pub sequences: Vec<Sequence>,
    /// Things skipped, said to the user ("skipped x: not a .sql file").
    pub notices: Vec<String>,
    /// What the migration tools would refuse (`malformed-migration`);
    /// `Problem::file` indexes `files`.
    pub problems: Vec<Problem>,
    /// Byte ranges of files where placeholders come from the environment
    /// (goose `ENVSUB ON`).
    pub envsub: Vec<(usize, Range<usize>)>,
    /// (file, region start) → text the region's last statement continues
    /// with (see [`crate::layout::Plan::continuations`]).
    pub continuations: BTreeMap<(usize, usize), String>,
    /// Sequences (by root) written in a dialect twice does not support:
    /// static rules only, no replay.
    pub foreign: BTreeMap<String, crate::sniff::Family>,
    /// The dialect of each file a problem is about, or that is unresolvable
    /// (its sequence's): such a file may belong to no migration part (a
    /// golang-migrate duplicate version, a tern template) and is still
    /// checked statically.
    pub problem_dialects: BTreeMap<usize, Dialect>,
    /// Files the tool fills in before running in a way twice cannot (tern
    /// templates): replay leaves their statements out.
    pub unresolvable: BTreeSet<usize>,
}

impl Discovered {
    pub fn add_file(&mut self, file: SourceFile) -> usize {
        self.files.push(file);
        self.files.len() - 1
    }
}

pub fn read_file(path: &Path) -> Result<SourceFile> {
    let name = display_path(path);
    let bytes = crate::source::read_regular(path).map_err(|e| Error::io(&name, &e))?;
    Ok(SourceFile::from_bytes(name, Some(path), &bytes))
}

/// Natural order of file names: digit runs compare as numbers, so
/// `2_x.sql` < `10_x.sql` and `V1.9` < `V1.10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    natord::compare_ignore_case(a, b).then_with(|| a.cmp(b))
}

/// A whole file as one up part.
pub fn whole_file_part(files: &[SourceFile], file: usize) -> Part {
    Part {
        file,
        regions: vec![Region {
            range: 0..files[file].text.len(),
            single_statement: false,
        }],
        statements: Vec::new(),
        no_transaction: false,
    }
}

/// A single script (stdin or a file named directly) as its own sequence.
pub fn script_sequence(d: &mut Discovered, file: SourceFile, opts: &Options) -> Sequence {
    let root = file.name.clone();
    let idx = d.add_file(file);
    let (dialect, dialect_why) = match opts.dialect {
        Some(d) => (d, "--dialect".to_string()),
        None => (
            crate::dialect::Dialect::Sqlite,
            "default: nothing names a dialect".to_string(),
        ),
    };
    Sequence {
        root,
        layout: LayoutKind::Script,
        layout_why: "a single script".into(),
        dialect,
        dialect_why,
        migrations: vec![Migration {
            version: String::new(),
            name: d.files[idx].name.clone(),
            up: whole_file_part(&d.files, idx),
            down: None,
            apply_only: false,
            rerun_note: None,
        }],
    }
}

pub fn is_sql(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("sql"))
}

/// `Option<Dialect>` with twice's default.
pub trait DialectDefault {
    fn unwrap_or_default_dialect(self) -> crate::dialect::Dialect;
}

impl DialectDefault for Option<crate::dialect::Dialect> {
    fn unwrap_or_default_dialect(self) -> crate::dialect::Dialect {
        self.unwrap_or(crate::dialect::Dialect::Sqlite)
    }
}

/// The dialect a folder path names: the nearest component that is a dialect
/// name, or has one as a `-`, `_` or `.`-separated word.
pub fn dialect_from_path(display: &str) -> Option<Dialect> {
    let comps: Vec<&str> = display
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .collect();
    for c in comps.iter().rev() {
        if let Some(d) = dialect_word(c) {
            return Some(d);
        }
        for w in c.split(['-', '_', '.']) {
            if let Some(d) = dialect_word(w) {
                return Some(d);
            }
        }
    }
    None
}

fn dialect_word(w: &str) -> Option<Dialect> {
    match w.to_ascii_lowercase().as_str() {
        // `generic` and `ansi` are twice's names, not folder conventions.
        "generic" | "ansi" => None,
        other => Dialect::from_name(other),
    }
}

mod ignores {
    //! `.gitignore` and `.ignore` files, read as git and ripgrep do (the
    //! `ignore` crate's matcher): a folder's own files first, then its
    //! parents'; `.ignore` before `.gitignore` at the same level; the first
    //! rule that matches decides (a `!pattern` keeps the path). `.gitignore`
    //! files (and `.git/info/exclude`) count inside a git repository only,
    //! up to its top; `.ignore` files count anywhere. A folder given on the
    //! command line is walked even when ignored: only its entries are
    //! matched, never the folder itself.
    use ignore::gitignore::{Gitignore, GitignoreBuilder};
    use ignore::Match;
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::rc::Rc;

    /// The rules a folder's own files hold.
    #[derive(Default)]
    struct Level {
        matchers: Vec<Gitignore>,
    }

    #[derive(Default)]
    pub struct Ignores {
        levels: HashMap<PathBuf, Rc<Level>>,
        /// The top of the git repository a folder is in (None: not in one).
        repos: HashMap<PathBuf, Option<PathBuf>>,
    }

    /// The rules that apply in one folder, innermost first.
    pub struct Rules(Vec<Rc<Level>>);

    impl Rules {
        pub fn ignored(&self, path: &Path, is_dir: bool) -> bool {
            for level in &self.0 {
                for m in &level.matchers {
                    match m.matched(path, is_dir) {
                        Match::Ignore(_) => return true,
                        Match::Whitelist(_) => return false,
                        Match::None => {}
                    }
                }
            }
            false
        }
    }

    fn load(dir: &Path, name: &str) -> Option<Gitignore> {
        let file = dir.join(name);
        if !file.is_file() {
            return None;
        }
        let mut b = GitignoreBuilder::new(dir);
        // A line that does not parse is left out, as git does.
        let _ = b.add(&file);
        b.build().ok().filter(|g| !g.is_empty())
    }

    impl Ignores {
        fn repo_of(&mut self, dir: &Path) -> Option<PathBuf> {
            if let Some(r) = self.repos.get(dir) {
                return r.clone();
            }
            let r = dir
                .ancestors()
                .find(|a| a.join(".git").exists())
                .map(Path::to_path_buf);
            self.repos.insert(dir.to_path_buf(), r.clone());
            r
        }

        fn level(&mut self, dir: &Path, git: bool, top: bool) -> Rc<Level> {
            let key = dir.to_path_buf();
            if let Some(l) = self.levels.get(&key) {
                return l.clone();
            }
            let mut matchers = Vec::new();
            matchers.extend(load(dir, ".ignore"));
            if git {
                matchers.extend(load(dir, ".gitignore"));
                if top {
                    matchers.extend(load(&dir.join(".git").join("info"), "exclude").map(|g| {
                        // Its patterns are relative to the repository's top.
                        let mut b = GitignoreBuilder::new(dir);
                        let _ = b.add(dir.join(".git").join("info").join("exclude"));
                        b.build().unwrap_or(g)
                    }));
                }
            }
            let l = Rc::new(Level { matchers });
            self.levels.insert(key, l.clone());
            l
        }

        /// The rules for the entries of `dir` (canonical).
        pub fn for_folder(&mut self, dir: &Path) -> Rules {
            let repo = self.repo_of(dir);
            let mut chain = Vec::new();
            for a in dir.ancestors() {
                let in_repo = repo.as_deref().is_some_and(|r| a.starts_with(r));
                let top = repo.as_deref() == Some(a);
                let l = self.level(a, in_repo, top);
                if !l.matchers.is_empty() {
                    chain.push(l);
                }
            }
            Rules(chain)
        }
    }
}

/// How deep a walk goes below the folder given (the walk recurses once per
/// level; real migration trees are a few levels deep).
const MAX_DEPTH: usize = 64;

/// A sequence under construction, with its own files.
struct Built {
    files: Vec<SourceFile>,
    sequence: Sequence,
    /// The dialect was chosen by `--dialect`, the path or the tool's own
    /// files: the SQL's signs do not change it.
    dialect_settled: bool,
    problems: Vec<Problem>,
    envsub: Vec<(usize, Range<usize>)>,
    continuations: Vec<(usize, usize, String)>,
    unresolvable: Vec<usize>,
}

/// The state of one discovery.
struct Walker<'o> {
    opts: &'o Options,
    /// Canonical folders already read (walked or absorbed into a sequence).
    visited: HashSet<PathBuf>,
    notices: Vec<String>,
    /// The folder named on the command line being walked (canonical):
    /// symbolic links that lead out of it are not followed.
    root: Option<PathBuf>,
    /// `.gitignore` / `.ignore` rules, per canonical folder.
    ignores: ignores::Ignores,
}

/// A folder's entries, sorted by name.
#[derive(Default)]
struct Listing {
    /// Regular files (after following links) named `*.sql`.
    sql: Vec<(String, PathBuf)>,
    /// Other files (names only).
    others: Vec<String>,
    dirs: Vec<(String, PathBuf)>,
}

fn join_display(display: &str, name: &str) -> String {
    if display == "." {
        name.to_string()
    } else if display.ends_with('/') {
        format!("{display}{name}")
    } else {
        format!("{display}/{name}")
    }
}

fn io_error(display: &str, e: &std::io::Error) -> Error {
    Error::io(display, e)
}

/// ELOOP: too many levels of symbolic links.
fn is_loop(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(40) || e.raw_os_error() == Some(62)
}

impl Walker<'_> {
    /// Lists `dir`; `None` when it vanished.
    fn list(&mut self, dir: &Path, display: &str) -> Result<Option<Listing>> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.notices.push(format!(
                    "{display}: the folder disappeared before it could be read; skipped"
                ));
                return Ok(None);
            }
            Err(e) => return Err(io_error(display, &e)),
        };
        let mut l = Listing::default();
        let canon_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let rules = self.ignores.for_folder(&canon_dir);
        // (.sql files and folders) left out by .gitignore/.ignore, and
        // links that lead out of the folder being checked.
        let mut ignored: Vec<String> = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| io_error(display, &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let shown = join_display(display, &name);
            let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    let link = std::fs::symlink_metadata(&path)
                        .map(|m| m.file_type().is_symlink())
                        .unwrap_or(false);
                    if !link && e.kind() == ErrorKind::NotFound {
                        self.notices.push(format!(
                            "{shown}: disappeared before it could be read; skipped"
                        ));
                    } else if link && is_loop(&e) {
                        self.notices
                            .push(format!("{shown}: symbolic link loop; not followed"));
                    } else if link && e.kind() == ErrorKind::NotFound {
                        if is_sql(Path::new(&name)) {
                            return Err(Error::new(format!(
                                "{shown}: broken symbolic link (its target does not exist)"
                            )));
                        }
                        self.notices
                            .push(format!("{shown}: broken symbolic link; skipped"));
                    } else {
                        return Err(io_error(&shown, &e));
                    }
                    continue;
                }
            };
            if rules.ignored(&canon_dir.join(&name), meta.is_dir()) {
                if meta.is_dir() {
                    ignored.push(format!("{name}/"));
                } else if is_sql(Path::new(&name)) {
                    ignored.push(name);
                }
                continue;
            }
            if is_link && (meta.is_dir() || is_sql(Path::new(&name))) {
                if let Some(root) = &self.root {
                    let target = std::fs::canonicalize(&path).ok();
                    if !target.as_ref().is_some_and(|t| t.starts_with(root)) {
                        self.notices.push(format!(
                            "{shown}: symbolic link to {}, outside the folder being checked; not \
                             followed (name it on the command line to check it)",
                            target
                                .as_deref()
                                .map_or_else(|| "?".to_string(), display_path)
                        ));
                        continue;
                    }
                }
            }
            if meta.is_dir() {
                l.dirs.push((name, path));
            } else if self.opts.excluded(&path) {
                // `exclude` in twice.toml: the config reports it.
            } else if meta.is_file() && is_sql(Path::new(&name)) {
                l.sql.push((name, path));
            } else if meta.is_file() && matches!(name.as_str(), ".gitignore" | ".ignore") {
                // Read by the walker itself (see `ignores`), not skipped.
            } else if meta.is_file() {
                l.others.push(name);
            } else {
                l.others.push(format!("{name} (not a regular file)"));
            }
        }
        if !ignored.is_empty() {
            ignored.sort();
            let n = ignored.len();
            let mut names = ignored.into_iter().take(5).collect::<Vec<_>>().join(", ");
            if n > 5 {
                names.push_str(&format!(" and {} more", n - 5));
            }
            self.notices.push(format!(
                "{display}: not read, as .gitignore or .ignore says: {names} (name them on the \
                 command line to check them)"
            ));
        }
        l.sql.sort();
        l.others.sort();
        l.dirs.sort();
        Ok(Some(l))
    }

    /// Reads one file of a folder; `None` when it vanished.
    fn read(&mut self, path: &Path, shown: &str) -> Result<Option<SourceFile>> {
        match self.opts.read_bytes(path) {
            Ok(bytes) => Ok(Some(SourceFile::from_bytes(shown, Some(path), &bytes))),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.notices.push(format!(
                    "{shown}: disappeared before it could be read; skipped"
                ));
                Ok(None)
            }
            Err(e) => Err(io_error(shown, &e)),
        }
    }

    /// The dialect of a folder before its files are read, what decided it,
    /// and whether that is settled (`--dialect` or the path).
    fn dialect_why(&self, display: &str) -> (Dialect, String, bool) {
        if let Some(d) = self.opts.dialect {
            return (d, "--dialect".into(), true);
        }
        match dialect_from_path(display) {
            Some(d) => (d, format!("the folder name: {display}"), true),
            None => (
                Dialect::Sqlite,
                "default: nothing names a dialect".into(),
                false,
            ),
        }
    }

    /// The layout forced by `--layout` or detected, and why; then the
    /// dialect the tool's own files name, when `--dialect` does not decide.
    fn choose(&self, folder: &mut Folder) -> (LayoutKind, String, String, bool) {
        let (kind, layout_why) = match self.opts.layout {
            Some(k) => (k, "--layout".to_string()),
            None => layout::detect::detect_why(folder),
        };
        let (dialect, mut dialect_why, mut settled) = self.dialect_why(&folder.display);
        folder.dialect = dialect;
        if self.opts.dialect.is_none() {
            if let Some((d, why)) = layout::get(kind).dialect(folder) {
                folder.dialect = d;
                dialect_why = why;
                settled = true;
            }
        }
        (kind, layout_why, dialect_why, settled)
    }

    /// Walks `dir` (shown as `display`), appending its sequences to `out`.
    fn walk(
        &mut self,
        dir: &Path,
        display: &str,
        ancestors: &mut Vec<PathBuf>,
        out: &mut Vec<Built>,
    ) -> Result<()> {
        let canon = match std::fs::canonicalize(dir) {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.notices.push(format!(
                    "{display}: the folder disappeared before it could be read; skipped"
                ));
                return Ok(());
            }
            Err(e) => return Err(io_error(display, &e)),
        };
        if !self.visited.insert(canon.clone()) {
            self.notices.push(format!(
                "{display}: same folder as one already read; read once"
            ));
            return Ok(());
        }
        if ancestors.len() >= MAX_DEPTH {
            self.notices.push(format!(
                "{display}: more than {MAX_DEPTH} folders deep; not entered (name it directly to check it)"
            ));
            return Ok(());
        }
        let Some(listing) = self.list(dir, display)? else {
            return Ok(());
        };
        ancestors.push(canon.clone());
        let result = self.walk_listing(dir, display, &canon, listing, ancestors, out);
        ancestors.pop();
        result
    }

    fn walk_listing(
        &mut self,
        dir: &Path,
        display: &str,
        canon: &Path,
        mut listing: Listing,
        ancestors: &mut Vec<PathBuf>,
        out: &mut Vec<Built>,
    ) -> Result<()> {
        // Seed data is not a migration: when a folder is walked, `seed.sql`
        // is left out (named directly, it is read).
        listing.sql.retain(|(name, _)| {
            let seed = is_seed(name);
            if seed {
                self.notices.push(format!(
                    "{}: skipped: seed data, not a migration (name it to check it)",
                    join_display(display, name)
                ));
            }
            !seed
        });
        // The layouts this folder may be read in: the one `--layout` forces
        // (with `plain`, any folder shape), else all of them.
        let candidates: Vec<&'static dyn layout::Layout> = match self.opts.layout {
            Some(k) if k != LayoutKind::Plain => vec![layout::get(k)],
            _ => layout::registry().to_vec(),
        };
        // One folder per migration: a sub-folder holding the file a layout
        // names (diesel's `<dir>/up.sql`, Prisma's `<dir>/migration.sql`).
        let markers: Vec<&str> = candidates
            .iter()
            .filter_map(|l| l.migration_dir_file())
            .collect();
        let diesel_dirs: Vec<&(String, PathBuf)> = listing
            .dirs
            .iter()
            .filter(|(n, p)| !n.starts_with('.') && markers.iter().any(|m| p.join(m).is_file()))
            .collect();
        let side_file = |rel: &str| candidates.iter().any(|l| l.reads_side_file(rel));
        let use_diesel = !diesel_dirs.is_empty()
            && (listing.sql.is_empty() || diesel_dirs.len() >= listing.sql.len());
        let mut consumed: BTreeSet<String> = BTreeSet::new();
        // `db/schema.sql` beside `db/migrations/` is the schema dump dbmate
        // (and Rails, as structure.sql) writes after migrating, not a migration.
        let schema_dump = !use_diesel
            && !listing.sql.is_empty()
            && listing
                .sql
                .iter()
                .all(|(n, _)| matches!(n.as_str(), "schema.sql" | "structure.sql"))
            && listing
                .dirs
                .iter()
                .any(|(n, p)| n == "migrations" && p.is_dir());
        if schema_dump {
            for (name, _) in &listing.sql {
                self.notices.push(format!(
                    "{}: skipped: a schema dump beside the migrations folder, not a migration (name it to check it)",
                    join_display(display, name)
                ));
            }
        }
        // A layout whose project file marks the folder (Sqitch's
        // `sqitch.plan`, its scripts in sub-folders).
        let project_file = candidates
            .iter()
            .any(|l| listing.others.iter().any(|o| l.project_file(o)));
        // Entered for a project file alone: when no layout turns it into
        // migrations, the folder is passed over silently.
        let project_only = project_file && !use_diesel && listing.sql.is_empty();
        if !schema_dump && (use_diesel || project_file || !listing.sql.is_empty()) {
            let mut folder = Folder {
                display: display.to_string(),
                cargo_crate: canon
                    .parent()
                    .is_some_and(|p| p.join("Cargo.toml").is_file()),
                ..Folder::default()
            };
            // Files the layouts read from the folders above this one.
            let mut wanted: Vec<&str> = candidates
                .iter()
                .flat_map(|l| l.ancestor_side_files().iter().copied())
                .collect();
            wanted.sort_unstable();
            wanted.dedup();
            for name in wanted {
                if let Some(text) = nearest_ancestor_file(canon, name) {
                    folder.aux.insert(format!("../{name}"), text);
                }
            }
            let mut other_names: Vec<String> = Vec::new();
            // Side files read into `folder.aux`: reported as skipped unless
            // the chosen layout uses them.
            let mut side: Vec<String> = Vec::new();
            // Sub-folders of side files (Drizzle's `meta/`).
            let side_dirs: BTreeSet<&str> = candidates
                .iter()
                .flat_map(|l| l.side_dirs().iter().copied())
                .collect();
            for (name, path) in &listing.dirs {
                if !side_dirs.contains(name.as_str()) {
                    continue;
                }
                let shown_dir = join_display(display, name);
                let Some(sub) = self.list(path, &shown_dir)? else {
                    continue;
                };
                let mut read_any = false;
                for o in &sub.others {
                    let rel = format!("{name}/{o}");
                    if side_file(&rel) {
                        if let Some(f) = self.read(&path.join(o), &join_display(&shown_dir, o))? {
                            folder.aux.insert(rel.clone(), f.text);
                            side.push(rel);
                            read_any = true;
                        }
                    }
                }
                if read_any && sub.sql.is_empty() {
                    consumed.insert(name.clone());
                }
            }
            for o in &listing.others {
                if side_file(o) {
                    if let Some(f) = self.read(&dir.join(o), &join_display(display, o))? {
                        folder.aux.insert(o.clone(), f.text);
                        side.push(o.clone());
                        continue;
                    }
                }
                other_names.push(o.clone());
            }
            if use_diesel {
                for (name, path) in &diesel_dirs {
                    consumed.insert(name.clone());
                    if let Ok(c) = std::fs::canonicalize(path) {
                        self.visited.insert(c);
                    }
                    let shown_dir = join_display(display, name);
                    let Some(sub) = self.list(path, &shown_dir)? else {
                        continue;
                    };
                    for (fname, fpath) in &sub.sql {
                        let shown = join_display(&shown_dir, fname);
                        if let Some(file) = self.read(fpath, &shown)? {
                            folder.entries.push(Entry {
                                rel: format!("{name}/{fname}"),
                                file,
                            });
                        }
                    }
                    for o in &sub.others {
                        let rel = format!("{name}/{o}");
                        if side_file(&rel) {
                            let shown = join_display(&shown_dir, o);
                            if let Some(f) = self.read(&path.join(o), &shown)? {
                                folder.aux.insert(rel.clone(), f.text);
                                side.push(rel);
                            }
                        } else {
                            other_names.push(rel);
                        }
                    }
                }
            }
            for (name, path) in &listing.sql {
                let shown = join_display(display, name);
                if let Some(file) = self.read(path, &shown)? {
                    folder.entries.push(Entry {
                        rel: name.clone(),
                        file,
                    });
                }
            }
            folder.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
            let (kind, layout_why, dialect_why, settled) = self.choose(&mut folder);
            let tool = layout::get(kind);
            self.absorb(
                display,
                &listing,
                tool,
                &mut folder,
                &mut consumed,
                &mut other_names,
                ancestors,
            )?;
            folder.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
            let passed_over = project_only && folder.entries.is_empty();
            // Side files the layout reads are not "skipped".
            for o in side {
                if !tool.uses_side_file(&o, &folder) {
                    other_names.push(o);
                }
            }
            other_names.sort();
            if passed_over {
                other_names.clear();
            }
            for o in other_names {
                self.notices.push(format!(
                    "{}: skipped: {}",
                    join_display(display, &o),
                    skip_reason(kind, &o)
                ));
            }
            let plan = layout::plan(kind, &folder);
            if passed_over {
                // Nothing of a migration here (a package.json at a
                // repository root).
            } else if let Some(mut b) = self.assemble(folder, plan, kind, display) {
                b.sequence.layout_why = layout_why;
                b.sequence.dialect_why = dialect_why;
                b.dialect_settled = settled;
                out.push(b);
            }
        }
        for (name, path) in &listing.dirs {
            if consumed.contains(name) || name.starts_with('.') || name == "node_modules" {
                continue;
            }
            let shown = join_display(display, name);
            if let Some(why) = not_migrations_dir(name, &listing) {
                if folder_has_sql(path) {
                    self.notices.push(format!(
                        "{shown}: skipped: {why}, not migrations (name it to check it)"
                    ));
                }
                continue;
            }
            match std::fs::canonicalize(path) {
                Ok(c) if ancestors.contains(&c) => {
                    self.notices.push(format!(
                        "{shown}: symbolic link loop (leads back to {}); not followed",
                        display_path(&c)
                    ));
                }
                Ok(_) => self.walk(path, &shown, ancestors, out)?,
                Err(e) if e.kind() == ErrorKind::NotFound => self.notices.push(format!(
                    "{shown}: disappeared before it could be read; skipped"
                )),
                Err(e) if is_loop(&e) => self
                    .notices
                    .push(format!("{shown}: symbolic link loop; not followed")),
                Err(e) => return Err(io_error(&shown, &e)),
            }
        }
        Ok(())
    }

    /// Adds the files of the sub-folders the layout reads as part of the
    /// folder (recursively: Flyway scans its locations) to `folder`.
    #[allow(clippy::too_many_arguments)]
    fn absorb(
        &mut self,
        display: &str,
        listing: &Listing,
        tool: &dyn layout::Layout,
        folder: &mut Folder,
        consumed: &mut BTreeSet<String>,
        other_names: &mut Vec<String>,
        ancestors: &mut [PathBuf],
    ) -> Result<()> {
        // (path relative to the migrations folder, path)
        let mut stack: Vec<(String, PathBuf)> = listing
            .dirs
            .iter()
            .filter(|(n, _)| {
                !n.starts_with('.')
                    && n != "node_modules"
                    && !consumed.contains(n)
                    && tool.absorbs_subfolder(n, folder)
            })
            .map(|(n, p)| (n.clone(), p.clone()))
            .collect();
        stack.reverse();
        let top: BTreeSet<String> = stack.iter().map(|(n, _)| n.clone()).collect();
        while let Some((rel, path)) = stack.pop() {
            let shown = join_display(display, &rel);
            let canon = match std::fs::canonicalize(&path) {
                Ok(c) => c,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) if is_loop(&e) => {
                    self.notices
                        .push(format!("{shown}: symbolic link loop; not followed"));
                    continue;
                }
                Err(e) => return Err(io_error(&shown, &e)),
            };
            if ancestors.contains(&canon) {
                self.notices.push(format!(
                    "{shown}: symbolic link loop (leads back to {}); not followed",
                    display_path(&canon)
                ));
                continue;
            }
            if !self.visited.insert(canon) {
                self.notices.push(format!(
                    "{shown}: same folder as one already read; read once"
                ));
                continue;
            }
            if top.contains(&rel) {
                consumed.insert(rel.clone());
            }
            let Some(sub) = self.list(&path, &shown)? else {
                continue;
            };
            for (fname, fpath) in &sub.sql {
                let f_shown = join_display(&shown, fname);
                if let Some(file) = self.read(fpath, &f_shown)? {
                    folder.entries.push(Entry {
                        rel: format!("{rel}/{fname}"),
                        file,
                    });
                }
            }
            for o in &sub.others {
                let o_rel = format!("{rel}/{o}");
                if tool.reads_side_file(&o_rel) {
                    if let Some(f) = self.read(&path.join(o), &join_display(&shown, o))? {
                        folder.aux.insert(o_rel.clone(), f.text);
                        continue;
                    }
                }
                other_names.push(o_rel);
            }
            for (n, p) in sub.dirs.iter().rev() {
                let n_rel = format!("{rel}/{n}");
                if !n.starts_with('.')
                    && n != "node_modules"
                    && tool.absorbs_subfolder(&n_rel, folder)
                {
                    stack.push((n_rel, p.clone()));
                }
            }
        }
        Ok(())
    }

    /// Turns a planned folder into a sequence with only the files it uses.
    fn assemble(
        &mut self,
        folder: Folder,
        mut plan: Plan,
        kind: LayoutKind,
        root: &str,
    ) -> Option<Built> {
        if !self.opts.down {
            for m in &mut plan.migrations {
                m.down = None;
            }
        }
        let mut map: BTreeMap<usize, usize> = BTreeMap::new();
        let mut order: Vec<usize> = Vec::new();
        let use_file = |i: usize, map: &mut BTreeMap<usize, usize>, order: &mut Vec<usize>| {
            if let std::collections::btree_map::Entry::Vacant(v) = map.entry(i) {
                v.insert(order.len());
                order.push(i);
            }
        };
        for m in &plan.migrations {
            use_file(m.up.file, &mut map, &mut order);
            if let Some(d) = &m.down {
                use_file(d.file, &mut map, &mut order);
            }
        }
        for p in &plan.problems {
            use_file(p.file, &mut map, &mut order);
        }
        for (i, _) in &plan.unresolvable {
            use_file(*i, &mut map, &mut order);
        }
        for (i, why) in &plan.skipped {
            if !map.contains_key(i) {
                self.notices
                    .push(format!("{}: skipped: {why}", folder.entries[*i].file.name));
            }
        }
        for (i, why) in &plan.unresolvable {
            if map.contains_key(i) {
                self.notices.push(format!(
                    "{}: {why}: not replayed (twice cannot fill the template in); the static rules still read it",
                    folder.entries[*i].file.name
                ));
            }
        }
        self.notices.append(&mut plan.notices);
        if plan.migrations.is_empty() && plan.problems.is_empty() {
            self.notices.push(format!(
                "{root}: no {} migrations found in this folder",
                kind.name()
            ));
            return None;
        }
        let mut slots: Vec<Option<SourceFile>> =
            folder.entries.into_iter().map(|e| Some(e.file)).collect();
        let files: Vec<SourceFile> = order
            .iter()
            .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
            .collect();
        let remap = |p: &mut Part| p.file = map[&p.file];
        for m in &mut plan.migrations {
            remap(&mut m.up);
            if let Some(d) = &mut m.down {
                remap(d);
            }
        }
        for p in &mut plan.problems {
            p.file = map[&p.file];
        }
        let envsub = plan
            .envsub
            .into_iter()
            .filter_map(|(i, r)| map.get(&i).map(|&j| (j, r)))
            .collect();
        let unresolvable = plan
            .unresolvable
            .iter()
            .filter_map(|(i, _)| map.get(i).copied())
            .collect();
        let continuations = plan
            .continuations
            .into_iter()
            .filter_map(|(i, at, t)| map.get(&i).map(|&j| (j, at, t)))
            .collect();
        Some(Built {
            files,
            sequence: Sequence {
                root: root.to_string(),
                layout: kind,
                layout_why: String::new(),
                dialect: folder.dialect,
                dialect_why: String::new(),
                migrations: plan.migrations,
            },
            dialect_settled: false,
            problems: plan.problems,
            envsub,
            continuations,
            unresolvable,
        })
    }

    /// Named files of one folder: one sequence in the layout's order, plus
    /// a script for each file the layout does not claim.
    fn named_group(
        &mut self,
        display: &str,
        cargo_crate: bool,
        files: Vec<(String, SourceFile)>,
        out: &mut Vec<Built>,
    ) {
        let mut folder = Folder {
            display: display.to_string(),
            cargo_crate,
            ..Folder::default()
        };
        for (rel, file) in files {
            folder.entries.push(Entry { rel, file });
        }
        folder.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
        let (detected, mut layout_why, dialect_why, settled) = self.choose(&mut folder);
        let single = folder.entries.len() == 1;
        let kind = if detected == LayoutKind::Plain && single && self.opts.layout.is_none() {
            layout_why = "a single file no migration tool's marks claim".into();
            LayoutKind::Script
        } else {
            detected
        };
        let mut plan = layout::plan(kind, &folder);
        // Named files are never dropped: what the layout does not claim is a script.
        let skipped: Vec<(usize, String)> = std::mem::take(&mut plan.skipped);
        let claimed: BTreeSet<usize> = plan
            .migrations
            .iter()
            .flat_map(|m| std::iter::once(m.up.file).chain(m.down.as_ref().map(|d| d.file)))
            .chain(plan.problems.iter().map(|p| p.file))
            .collect();
        let mut scripts = Vec::new();
        for (i, why) in skipped {
            if claimed.contains(&i) {
                continue;
            }
            self.notices.push(format!(
                "{}: {why}; checked as a script",
                folder.entries[i].file.name
            ));
            scripts.push(i);
        }
        let root = if single {
            folder.entries[0].file.name.clone()
        } else {
            display.to_string()
        };
        let script_files: Vec<SourceFile> = scripts
            .iter()
            .map(|&i| folder.entries[i].file.clone())
            .collect();
        if kind == LayoutKind::Script {
            for m in &mut plan.migrations {
                m.version = String::new();
                m.name = folder.entries[m.up.file].file.name.clone();
            }
        }
        let claims_any = !plan.migrations.is_empty() || !plan.problems.is_empty();
        if claims_any {
            if let Some(mut b) = self.assemble(folder, plan, kind, &root) {
                b.sequence.layout_why = layout_why;
                b.sequence.dialect_why = dialect_why;
                b.dialect_settled = settled;
                out.push(b);
            }
        }
        for f in script_files {
            out.push(self.script(f));
        }
    }

    fn script(&self, file: SourceFile) -> Built {
        let len = file.text.len();
        // The dialect comes from the folders, not from the file's own name.
        let folder = Path::new(&file.name)
            .parent()
            .map(display_path)
            .unwrap_or_default();
        let (dialect, dialect_why, settled) = self.dialect_why(&folder);
        Built {
            dialect_settled: settled,
            sequence: Sequence {
                root: file.name.clone(),
                layout: LayoutKind::Script,
                layout_why: "a single script".into(),
                dialect,
                dialect_why,
                migrations: vec![Migration {
                    version: String::new(),
                    name: file.name.clone(),
                    up: layout::part(0, vec![layout::region(0..len)]),
                    down: None,
                    apply_only: false,
                    rerun_note: None,
                }],
            },
            files: vec![file],
            problems: Vec::new(),
            envsub: Vec::new(),
            continuations: Vec::new(),
            unresolvable: Vec::new(),
        }
    }
}

/// `seed.sql` and the like: seed data (Supabase's `supabase/seed.sql`,
/// Prisma's and others' seeds), loaded by hand, not a migration.
fn is_seed(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "seed.sql" | "seeds.sql")
}

/// Why a sub-folder met while walking holds no migrations: test data,
/// fixtures, query files (sqlc's `queries/`; `src/` beside a migrations
/// folder), tests beside a migrations folder, Supabase's declarative
/// `schemas/`.
fn not_migrations_dir(name: &str, parent: &Listing) -> Option<&'static str> {
    let beside_migrations = parent
        .dirs
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("migrations"));
    match name.to_ascii_lowercase().as_str() {
        "testdata" | "test-data" | "test_data" => Some("a folder of test data"),
        "fixtures" | "fixture" => Some("a folder of test fixtures"),
        "queries" | "query" => Some("a folder of query files"),
        "src" if beside_migrations => {
            Some("source files beside the migrations folder (query files)")
        }
        "tests" | "test" if beside_migrations => {
            Some("tests beside the migrations folder (pgTAP and the like)")
        }
        // Supabase declarative schemas (`supabase/schemas/`): the source
        // `supabase db diff` writes migrations from, not migrations.
        "schemas" if beside_migrations && parent.others.iter().any(|o| o == "config.toml") => Some(
            "Supabase declarative schema files (supabase db diff writes the migrations from them)",
        ),
        _ => None,
    }
}

/// Whether `dir` holds `.sql` files (at any depth, up to a few levels), so
/// that skipping it is worth a notice.
fn folder_has_sql(dir: &Path) -> bool {
    fn walk(dir: &Path, depth: usize) -> bool {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return false;
        };
        rd.flatten().any(|e| {
            let p = e.path();
            if p.is_dir() {
                depth < 4 && walk(&p, depth + 1)
            } else {
                is_sql(&p)
            }
        })
    }
    walk(dir, 0)
}

/// The text of the nearest file named `name` in the folders above `dir`
/// (its parent first, up to four levels).
fn nearest_ancestor_file(dir: &Path, name: &str) -> Option<String> {
    let mut at = dir.parent();
    for _ in 0..4 {
        let d = at?;
        let p = d.join(name);
        if p.is_file() {
            return std::fs::read_to_string(&p).ok();
        }
        at = d.parent();
    }
    None
}

/// Why a non-SQL file of a migration folder is not read.
fn skip_reason(kind: LayoutKind, name: &str) -> String {
    layout::get(kind)
        .skip_reason(name)
        .unwrap_or_else(|| format!("not a {} migration", kind.name()))
}

/// Reads every input into files and sequences.
pub fn discover(inputs: &[Input], opts: &Options) -> Result<Discovered> {
    let mut w = Walker {
        opts,
        visited: HashSet::new(),
        notices: Vec::new(),
        root: None,
        ignores: ignores::Ignores::default(),
    };
    // Per input position, what it produced.
    let mut pieces: Vec<(usize, Vec<Built>)> = Vec::new();
    // Resolve every named path first: a missing one stops everything.
    struct Named {
        pos: usize,
        path: PathBuf,
        canon: PathBuf,
        is_dir: bool,
    }
    let mut named: Vec<Named> = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for (pos, input) in inputs.iter().enumerate() {
        let Input::Path(path) = input else { continue };
        let shown = display_path(path);
        let meta = std::fs::metadata(path).map_err(|e| io_error(&shown, &e))?;
        if !meta.is_dir() && !meta.is_file() {
            // A FIFO with no writer would block forever; devices never end.
            return Err(Error::new(format!(
                "{shown}: not a regular file (a pipe, socket or device); give files or folders, or `-` to read stdin"
            )));
        }
        let canon = std::fs::canonicalize(path).map_err(|e| io_error(&shown, &e))?;
        if !seen.insert(canon.clone()) {
            w.notices
                .push(format!("{shown}: given more than once; read once"));
            continue;
        }
        named.push(Named {
            pos,
            path: path.clone(),
            canon,
            is_dir: meta.is_dir(),
        });
    }
    // Folders first, so that a file inside a named folder is read once.
    for n in named.iter().filter(|n| n.is_dir) {
        let shown = display_path(&n.path);
        if w.visited.contains(&n.canon) {
            w.notices.push(format!(
                "{shown}: already read as part of another folder given; read once"
            ));
            continue;
        }
        let mut out = Vec::new();
        let mut ancestors = Vec::new();
        w.root = Some(n.canon.clone());
        w.walk(&n.path, &shown, &mut ancestors, &mut out)?;
        w.root = None;
        if out.is_empty() {
            w.notices
                .push(format!("{shown}: no SQL migrations found in this folder"));
        }
        pieces.push((n.pos, out));
    }
    // Named files, grouped by folder (diesel's up.sql/down.sql by the
    // migrations folder above theirs).
    /// Input position, display, Cargo crate beside, files.
    type Group = (usize, String, bool, Vec<(String, SourceFile)>);
    let mut groups: BTreeMap<PathBuf, Group> = BTreeMap::new();
    for n in named.iter().filter(|n| !n.is_dir) {
        let shown = display_path(&n.path);
        if opts.excluded(&n.path) {
            continue;
        }
        let parent_canon = n.canon.parent().map(Path::to_path_buf).unwrap_or_default();
        if is_sql(&n.path) && w.visited.contains(&parent_canon) {
            w.notices.push(format!(
                "{shown}: already read as part of a folder given; read once"
            ));
            continue;
        }
        let file = match opts.read_bytes(&n.path) {
            Ok(bytes) => SourceFile::from_bytes(shown.clone(), Some(&n.path), &bytes),
            Err(e) => return Err(io_error(&shown, &e)),
        };
        if !is_sql(&n.path) {
            pieces.push((n.pos, vec![w.script(file)]));
            continue;
        }
        let base = n
            .path
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent_shown = n
            .path
            .parent()
            .map(display_path)
            .unwrap_or_else(|| ".".into());
        let diesel = matches!(base.as_str(), "up.sql" | "down.sql");
        let (key, display, rel) = if diesel {
            let dir_name = n
                .canon
                .parent()
                .and_then(Path::file_name)
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let gp = parent_canon
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let gp_shown = n
                .path
                .parent()
                .and_then(Path::parent)
                .map(display_path)
                .unwrap_or_else(|| ".".into());
            (gp, gp_shown, format!("{dir_name}/{base}"))
        } else {
            (parent_canon.clone(), parent_shown, base)
        };
        let cargo = key.parent().is_some_and(|p| p.join("Cargo.toml").is_file());
        let slot = groups
            .entry(key)
            .or_insert_with(|| (n.pos, display, cargo, Vec::new()));
        slot.3.push((rel, file));
    }
    for (_, (pos, display, cargo, files)) in groups {
        let mut out = Vec::new();
        w.named_group(&display, cargo, files, &mut out);
        pieces.push((pos, out));
    }
    // Stdin.
    for (pos, input) in inputs.iter().enumerate() {
        if *input != Input::Stdin {
            continue;
        }
        let bytes = match opts.stdin_overlay() {
            Some(bytes) => bytes,
            None => {
                let mut bytes = Vec::new();
                use std::io::Read;
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::new(format!("<stdin>: {e}")))?;
                bytes
            }
        };
        let name = opts
            .stdin_filename
            .clone()
            .unwrap_or_else(|| "<stdin>".into());
        let file = SourceFile::from_bytes(name.clone(), None, &bytes);
        let out = match opts.layout {
            Some(kind) if kind != LayoutKind::Plain && kind != LayoutKind::Script => {
                let mut v = Vec::new();
                let display = Path::new(&name)
                    .parent()
                    .map(display_path)
                    .unwrap_or_else(|| ".".into());
                let base = Path::new(&name)
                    .file_name()
                    .map(|b| b.to_string_lossy().into_owned())
                    .unwrap_or_else(|| name.clone());
                w.named_group(&display, false, vec![(base, file)], &mut v);
                v
            }
            _ => vec![w.script(file)],
        };
        pieces.push((pos, out));
    }
    pieces.sort_by_key(|(pos, _)| *pos);
    let mut builts: Vec<Built> = pieces.into_iter().flat_map(|(_, b)| b).collect();
    join_configured_sequences(&mut builts, &opts.sequences, &mut w.notices);
    let mut d = Discovered {
        notices: std::mem::take(&mut w.notices),
        ..Discovered::default()
    };
    {
        for b in builts {
            let offset = d.files.len();
            d.files.extend(b.files);
            let mut seq = b.sequence;
            // No --dialect and no dialect in the path: what the SQL itself
            // is written in, when it says so clearly.
            // (Not for pop and Liquibase: they pick files and changesets by
            // dialect, which the dialect must not change after the fact.)
            if !b.dialect_settled && !layout::get(seq.layout).picks_by_dialect() {
                let files = &d.files[offset..];
                let texts = seq.migrations.iter().flat_map(|m| {
                    std::iter::once(&m.up).chain(m.down.as_ref()).flat_map(|p| {
                        p.regions.iter().filter_map(|r| {
                            files
                                .get(p.file)
                                .filter(|f| !f.binary)
                                .and_then(|f| f.text.get(r.range.clone()))
                        })
                    })
                });
                let mut evidence = crate::sniff::Evidence::new();
                texts.for_each(|t| evidence.add(t));
                match evidence.verdict() {
                    Verdict::Unknown => {}
                    Verdict::Clear {
                        dialect,
                        signs,
                        others,
                    } => {
                        let also = if others.is_empty() {
                            String::new()
                        } else {
                            format!("; outvoted: {others}")
                        };
                        seq.dialect_why = format!("the SQL uses {signs}{also}");
                        if dialect != seq.dialect {
                            d.notices.push(format!(
                                "{}: read as {dialect}: the SQL uses {signs}{also} (pass --dialect to choose another)",
                                seq.root
                            ));
                            seq.dialect = dialect;
                        } else if !also.is_empty() {
                            d.notices.push(format!(
                                "{}: read as {dialect}: the SQL uses {signs}{also} (pass --dialect to choose another)",
                                seq.root
                            ));
                        }
                    }
                    Verdict::Tie { signs } => {
                        seq.dialect_why = format!(
                            "{}; the SQL shows signs of more than one dialect, none clearly ahead: {signs}",
                            seq.dialect_why
                        );
                        d.notices.push(format!(
                            "{}: read as {}: the SQL shows signs of more than one dialect, none clearly ahead: {signs}; pass --dialect to decide",
                            seq.root, seq.dialect
                        ))
                    }
                    Verdict::Unsupported { family, signs } => {
                        seq.dialect = family.closest();
                        seq.dialect_why = format!(
                            "written in {} ({signs}), which twice does not support: read as {} for the static rules only",
                            family.title(),
                            seq.dialect
                        );
                        d.foreign.insert(seq.root.clone(), family);
                        d.notices.push(format!(
                            "{}: written in {} ({signs}), which twice does not support: only the static rules ran (read as {}), no replay, and statements they could not read are not listed one by one",
                            seq.root,
                            family.title(),
                            seq.dialect
                        ));
                    }
                }
            }
            for m in &mut seq.migrations {
                m.up.file += offset;
                if let Some(down) = &mut m.down {
                    down.file += offset;
                }
            }
            for f in b
                .problems
                .iter()
                .map(|p| p.file)
                .chain(b.unresolvable.iter().copied())
            {
                d.problem_dialects.insert(f + offset, seq.dialect);
            }
            d.sequences.push(seq);
            d.problems.extend(b.problems.into_iter().map(|mut p| {
                p.file += offset;
                p
            }));
            d.envsub
                .extend(b.envsub.into_iter().map(|(f, r)| (f + offset, r)));
            d.unresolvable
                .extend(b.unresolvable.iter().map(|f| f + offset));
            d.continuations.extend(
                b.continuations
                    .into_iter()
                    .map(|(f, at, t)| ((f + offset, at), t)),
            );
        }
    }
    Ok(d)
}

pub use crate::sniff::sniff_dialect;

/// `[[sequence]]` in twice.toml: the sequences found at the listed folders
/// become one history, in the listed order, replayed on one database (a
/// full schema and its delta folders, or a history split over folders as
/// pop/Ory projects do). The joined sequence takes the place of its first
/// part and that part's layout and dialect.
fn join_configured_sequences(
    builts: &mut Vec<Built>,
    groups: &[Vec<PathBuf>],
    notices: &mut Vec<String>,
) {
    for group in groups {
        let canon_of = |b: &Built| std::fs::canonicalize(&b.sequence.root).ok();
        let mut members: Vec<usize> = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        for path in group {
            let want = std::fs::canonicalize(path).ok();
            let found = want.as_ref().and_then(|w| {
                builts
                    .iter()
                    .position(|b| canon_of(b).as_ref() == Some(w))
                    .or_else(|| {
                        // A folder whose migrations live one level down
                        // (`db/` holding `db/migrations/`).
                        builts.iter().position(|b| {
                            canon_of(b).is_some_and(|c| c.parent() == Some(w.as_path()))
                        })
                    })
            });
            match found {
                Some(i) if !members.contains(&i) => members.push(i),
                Some(_) => {}
                None => missing.push(display_path(path)),
            }
        }
        if !missing.is_empty() {
            notices.push(format!(
                "[[sequence]] in twice.toml: no migrations found at {} (not among the paths checked, or not a migration folder)",
                missing.join(", ")
            ));
        }
        if members.len() < 2 {
            continue;
        }
        let roots: Vec<String> = members
            .iter()
            .map(|&i| builts[i].sequence.root.clone())
            .collect();
        // Take the members out (highest index first), keep their order.
        let first = members[0];
        let mut sorted = members.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let mut taken: BTreeMap<usize, Built> = BTreeMap::new();
        for i in sorted {
            taken.insert(i, builts.remove(i));
        }
        let mut parts = members.iter().filter_map(|i| taken.remove(i));
        let Some(mut joined) = parts.next() else {
            continue;
        };
        for b in parts {
            let offset = joined.files.len();
            joined.files.extend(b.files);
            for mut m in b.sequence.migrations {
                m.up.file += offset;
                if let Some(d) = &mut m.down {
                    d.file += offset;
                }
                joined.sequence.migrations.push(m);
            }
            joined.problems.extend(b.problems.into_iter().map(|mut p| {
                p.file += offset;
                p
            }));
            joined
                .envsub
                .extend(b.envsub.into_iter().map(|(f, r)| (f + offset, r)));
            joined
                .unresolvable
                .extend(b.unresolvable.iter().map(|f| f + offset));
            joined.continuations.extend(
                b.continuations
                    .into_iter()
                    .map(|(f, at, t)| (f + offset, at, t)),
            );
        }
        joined.sequence.layout_why = format!(
            "[[sequence]] in twice.toml joins {}; {}",
            roots.join(" + "),
            joined.sequence.layout_why
        );
        let at = first.min(builts.len());
        builts.insert(at, joined);
    }
}

/// A region whose last statement continues with text outside the region
/// (Liquibase `--rollback` lines joined into one statement): that
/// statement's `sql` gets the rest appended before substitution.
struct Continued<'a> {
    inner: &'a dyn Substitute,
    /// The region's text, trailing blanks trimmed.
    region: &'a str,
    rest: &'a str,
}

impl Substitute for Continued<'_> {
    fn substitute<'s>(&self, sql: &'s str) -> std::borrow::Cow<'s, str> {
        if self.region.ends_with(sql) {
            let joined = format!("{sql}{}", self.rest);
            let joined = self.inner.substitute(&joined).into_owned();
            // Like Liquibase, the statement ends at its `;`.
            let t = joined.trim_end();
            let t = t.strip_suffix(';').unwrap_or(t).trim_end();
            std::borrow::Cow::Owned(t.to_string())
        } else {
            self.inner.substitute(sql)
        }
    }
}

/// The result of analysing discovered files.
#[derive(Debug, Default)]
pub struct Analysed {
    /// Statements of each file, in file order.
    pub statements: Vec<Vec<Statement>>,
    /// The dialect each file is read in (its sequence's).
    pub dialects: Vec<Dialect>,
    /// Findings of discovery: `malformed-migration`, `undefined-placeholder`.
    pub findings: Vec<Finding>,
    /// (file, statement) pairs with an undefined placeholder where SQL code
    /// goes: their text cannot run as written.
    pub unresolved: BTreeSet<(usize, usize)>,
}

/// Splits and analyses every part of every sequence, filling
/// `Part::statements`. Statements of a file are numbered in file order
/// (regions are analysed by position, whichever part they belong to), and
/// each region gets the placeholder settings of its layout.
pub fn analyze(d: &mut Discovered, opts: &Options) -> Result<Analysed> {
    let n = d.files.len();
    let mut a = Analysed {
        statements: (0..n).map(|_| Vec::new()).collect(),
        dialects: vec![opts.dialect.unwrap_or_default_dialect(); n],
        ..Analysed::default()
    };
    // (file, start, end, seq, migration, is_down, region)
    let mut jobs: Vec<(usize, usize, usize, usize, usize, bool, usize)> = Vec::new();
    for (si, seq) in d.sequences.iter().enumerate() {
        for (mi, m) in seq.migrations.iter().enumerate() {
            a.dialects[m.up.file] = seq.dialect;
            for (is_down, part) in
                std::iter::once((false, &m.up)).chain(m.down.as_ref().map(|p| (true, p)))
            {
                a.dialects[part.file] = seq.dialect;
                for (ri, r) in part.regions.iter().enumerate() {
                    jobs.push((part.file, r.range.start, r.range.end, si, mi, is_down, ri));
                }
            }
        }
    }
    jobs.sort();
    // Statements of one migration part run together: one group per part,
    // whatever number of regions (goose statement blocks, liquibase
    // changesets' pieces) it was read from.
    let mut part_groups: std::collections::HashMap<(usize, usize, bool), usize> =
        std::collections::HashMap::new();
    // Bytes placeholder substitution has added to each file so far.
    let mut grown: BTreeMap<usize, usize> = BTreeMap::new();
    for (file, start, end, si, mi, is_down, ri) in jobs {
        let src = &d.files[file];
        if src.binary {
            continue;
        }
        let seq = &d.sequences[si];
        let layout = seq.layout;
        let dialect = seq.dialect;
        let envsub = d
            .envsub
            .iter()
            .any(|(f, r)| *f == file && r.start <= start && end <= r.end);
        let policy = layout::get(layout).placeholders(envsub);
        let base = src
            .name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&src.name)
            .to_string();
        let ph = Placeholders {
            defines: &opts.defines,
            builtins: if policy.flyway_builtins {
                placeholder::flyway_builtins(dialect, &base)
            } else {
                BTreeMap::new()
            },
            dialect,
            scope: policy.scope,
            env_syntax: envsub,
            tool: policy.tool,
        };
        {
            let so_far = grown.entry(file).or_insert(0);
            let budget = placeholder::MAX_SUBSTITUTED_BYTES - *so_far;
            let (added, over) = ph.growth(&src.text[start..end], budget);
            if let Some(at) = over {
                let (line, _) = src.line_col(start + at);
                return Err(Error::new(format!(
                    "{}:{line}: placeholder values would make this file more than {} MiB \
                     longer ({} MiB and counting); a `--define` value is probably much \
                     longer than intended, or used far more often than expected: check the \
                     values given with `--define` (or `[define]` in twice.toml)",
                    src.name,
                    placeholder::MAX_SUBSTITUTED_BYTES >> 20,
                    added >> 20
                )));
            }
            *so_far += added;
        }
        let m = &d.sequences[si].migrations[mi];
        let part = if is_down {
            m.down.as_ref()
        } else {
            Some(&m.up)
        };
        let Some(region) = part.and_then(|p| p.regions.get(ri)).cloned() else {
            continue;
        };
        let continued;
        let subst: &dyn Substitute = match d.continuations.get(&(file, start)) {
            Some(rest) => {
                continued = Continued {
                    inner: &ph,
                    region: src.text[region.range.clone()].trim_end(),
                    rest,
                };
                &continued
            }
            None => &ph,
        };
        let idxs = analyze_regions(src, &[region], dialect, subst, &mut a.statements[file]);
        if let Some(&first) = idxs.first() {
            let group = *part_groups.entry((si, mi, is_down)).or_insert(first);
            for &i in &idxs {
                a.statements[file][i].group = group;
            }
        }
        let b = FindingBuilder { file: src };
        for &i in &idxs {
            let stmt = &a.statements[file][i];
            let text = &src.text[stmt.span.clone()];
            for o in ph.undefined(text) {
                let span = stmt.span.start + o.range.start..stmt.span.start + o.range.end;
                let (message, help) = ph.describe(&o);
                let mut f = b.at(
                    "undefined-placeholder",
                    Severity::Error,
                    Origin::Static,
                    span,
                    message,
                );
                f.help = Some(help);
                f.statement = Some(i);
                a.findings.push(f);
                if o.in_code {
                    a.unresolved.insert((file, i));
                }
            }
        }
        let m = &mut d.sequences[si].migrations[mi];
        let part = if is_down {
            m.down.as_mut()
        } else {
            Some(&mut m.up)
        };
        if let Some(p) = part {
            p.statements.extend(idxs);
        }
    }
    // Files the tool would refuse outright and that are part of no
    // migration (a golang-migrate duplicate version): the static rules
    // still read them, replay does not run them.
    let orphans: BTreeSet<usize> = d
        .problems
        .iter()
        .map(|p| p.file)
        .chain(d.unresolvable.iter().copied())
        .filter(|&f| f < n && a.statements[f].is_empty())
        .collect();
    for f in orphans {
        let src = &d.files[f];
        if src.binary {
            continue;
        }
        let dialect = d.problem_dialects.get(&f).copied().unwrap_or(a.dialects[f]);
        a.dialects[f] = dialect;
        let len = src.text.len();
        let idxs = analyze_regions(
            src,
            &[layout::region(0..len)],
            dialect,
            &crate::analysis::NoSubstitution,
            &mut a.statements[f],
        );
        if d.unresolvable.contains(&f) {
            // Template text where code goes: not a syntax error.
            a.unresolved.extend(idxs.into_iter().map(|i| (f, i)));
        }
    }
    for p in &d.problems {
        let Some(src) = d.files.get(p.file) else {
            continue;
        };
        let span = p.span.start.min(src.text.len())..p.span.end.min(src.text.len());
        let mut f = FindingBuilder { file: src }.at(
            "malformed-migration",
            Severity::Error,
            Origin::Static,
            span,
            p.message.clone(),
        );
        f.help = p.help.clone();
        a.findings.push(f);
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_from_folder_names() {
        assert_eq!(dialect_from_path("db/postgres"), Some(Dialect::Postgres));
        assert_eq!(
            dialect_from_path("db/sqlite3/migrations"),
            Some(Dialect::Sqlite)
        );
        assert_eq!(dialect_from_path("migrations_mysql"), Some(Dialect::Mysql));
        assert_eq!(
            dialect_from_path("mysql/postgresql"),
            Some(Dialect::Postgres)
        );
        assert_eq!(dialect_from_path("db/migrations"), None);
        assert_eq!(dialect_from_path("generic"), None);
    }

    #[test]
    fn files_that_vanish_after_listing_are_notices() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("1_a.sql"), "SELECT 1;").unwrap();
        std::fs::write(d.path().join("2_b.sql"), "SELECT 2;").unwrap();
        let opts = Options::default();
        let mut w = Walker {
            opts: &opts,
            visited: HashSet::new(),
            notices: Vec::new(),
            root: None,
            ignores: ignores::Ignores::default(),
        };
        let listing = w.list(d.path(), "m").unwrap().unwrap();
        assert_eq!(listing.sql.len(), 2);
        std::fs::remove_file(d.path().join("2_b.sql")).unwrap();
        let (name, path) = &listing.sql[1];
        assert!(w.read(path, name).unwrap().is_none());
        assert!(w.notices[0].contains("disappeared"), "{:?}", w.notices);
        // A whole folder vanishing between listing and walking.
        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::remove_dir(&sub).unwrap();
        let mut out = Vec::new();
        w.walk(&sub, "m/sub", &mut Vec::new(), &mut out).unwrap();
        assert!(out.is_empty());
        assert!(w.notices[1].contains("disappeared"), "{:?}", w.notices);
    }
}
