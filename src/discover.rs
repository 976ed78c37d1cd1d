//! Finds migration files and orders them into sequences.
//!
//! # Folders
//! A folder given on the command line is walked recursively (sub-folders in
//! name order; hidden folders, `node_modules` and `exclude` globs of the
//! config file are not entered). Every folder that holds `.sql` files, or
//! one folder per migration (diesel's `<dir>/up.sql`, or `<dir>/migration.sql`
//! as Prisma writes them, read as a plain sequence in folder order), is a
//! migration folder: its layout is detected ([`crate::layout::detect`]) or
//! taken from `--layout`, and it becomes one [`Sequence`]. So a repository
//! root with `db/migrations/` finds that folder, and `sqlite/`, `postgres/`
//! and `mysql/` sub-folders of one history are separate sequences; the
//! dialect of a sequence is `--dialect`, else the nearest folder name in its
//! path that names a dialect (`sqlite`, `sqlite3`, `postgres`, `postgresql`,
//! `pg`, `mysql`, `mariadb`, ..., also as a `-`/`_`/`.`-separated word of
//! the name, as in `migrations_postgres`), else sqlite. A Flyway folder
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
use crate::check::Options;
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::finding::{Finding, FindingBuilder, Origin, Severity};
use crate::layout::{self, Entry, Folder, Plan, Problem};
use crate::model::{LayoutKind, Migration, Part, Region, Sequence};
use crate::placeholder::{self, Placeholders, Scope};
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
}

impl Discovered {
    pub fn add_file(&mut self, file: SourceFile) -> usize {
        self.files.push(file);
        self.files.len() - 1
    }
}

/// A name for a path as the user would write it.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    let s = s.strip_prefix("./").unwrap_or(&s);
    if s.is_empty() {
        ".".to_string()
    } else {
        s.to_string()
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
    Sequence {
        root,
        layout: LayoutKind::Script,
        dialect: opts.dialect.unwrap_or_default_dialect(),
        migrations: vec![Migration {
            version: String::new(),
            name: d.files[idx].name.clone(),
            up: whole_file_part(&d.files, idx),
            down: None,
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
    problems: Vec<Problem>,
    envsub: Vec<(usize, Range<usize>)>,
    continuations: Vec<(usize, usize, String)>,
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

    fn dialect_for(&self, display: &str) -> Dialect {
        self.opts
            .dialect
            .or_else(|| dialect_from_path(display))
            .unwrap_or(Dialect::Sqlite)
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
        listing: Listing,
        ancestors: &mut Vec<PathBuf>,
        out: &mut Vec<Built>,
    ) -> Result<()> {
        let layout_opt = self.opts.layout;
        // One folder per migration: diesel's `<dir>/up.sql` (+ `down.sql`),
        // or `<dir>/migration.sql` (Prisma and tools shaped like it, read as
        // a plain sequence in folder-name order).
        let diesel_dirs: Vec<&(String, PathBuf)> = if matches!(
            layout_opt,
            None | Some(LayoutKind::Diesel) | Some(LayoutKind::Plain)
        ) {
            listing
                .dirs
                .iter()
                .filter(|(n, p)| {
                    !n.starts_with('.')
                        && (p.join("up.sql").is_file() || p.join("migration.sql").is_file())
                })
                .collect()
        } else {
            Vec::new()
        };
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
        if !schema_dump && (use_diesel || !listing.sql.is_empty()) {
            let dialect = self.dialect_for(display);
            let mut folder = Folder {
                display: display.to_string(),
                dialect,
                cargo_crate: canon
                    .parent()
                    .is_some_and(|p| p.join("Cargo.toml").is_file()),
                ..Folder::default()
            };
            let mut other_names: Vec<String> = listing.others.clone();
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
                        if o == "metadata.toml" {
                            let shown = join_display(&shown_dir, o);
                            if let Some(f) = self.read(&path.join(o), &shown)? {
                                folder.aux.insert(format!("{name}/{o}"), f.text);
                            }
                        } else {
                            other_names.push(format!("{name}/{o}"));
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
            let kind = layout_opt.unwrap_or_else(|| layout::detect::detect(&folder));
            if kind == LayoutKind::Flyway {
                self.absorb_flyway(
                    display,
                    &listing,
                    &mut folder,
                    &mut consumed,
                    &mut other_names,
                    ancestors,
                )?;
                folder.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
            }
            // Side files the layout reads are not "skipped".
            if kind == LayoutKind::Flyway {
                for o in &listing.others {
                    if o.ends_with(".sql.conf") {
                        let shown = join_display(display, o);
                        if let Some(f) = self.read(&dir.join(o), &shown)? {
                            folder.aux.insert(o.clone(), f.text);
                        }
                    }
                }
                other_names.retain(|o| {
                    !(o.ends_with(".sql.conf")
                        && folder
                            .entries
                            .iter()
                            .any(|e| format!("{}.conf", e.rel) == *o))
                });
            }
            for o in other_names {
                self.notices.push(format!(
                    "{}: skipped: {}",
                    join_display(display, &o),
                    skip_reason(kind, &o)
                ));
            }
            let plan = layout::plan(kind, &folder);
            if let Some(b) = self.assemble(folder, plan, kind, display) {
                out.push(b);
            }
        }
        for (name, path) in &listing.dirs {
            if consumed.contains(name) || name.starts_with('.') || name == "node_modules" {
                continue;
            }
            let shown = join_display(display, name);
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

    /// Adds the Flyway-named files of sub-folders (recursively) to `folder`.
    fn absorb_flyway(
        &mut self,
        display: &str,
        listing: &Listing,
        folder: &mut Folder,
        consumed: &mut BTreeSet<String>,
        other_names: &mut Vec<String>,
        ancestors: &mut [PathBuf],
    ) -> Result<()> {
        // (path relative to the Flyway folder, path)
        let mut stack: Vec<(String, PathBuf)> = listing
            .dirs
            .iter()
            .filter(|(n, _)| {
                !n.starts_with('.') && n != "node_modules" && dialect_from_path(n).is_none()
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
                if o.ends_with(".sql.conf") {
                    if let Some(f) = self.read(&path.join(o), &join_display(&shown, o))? {
                        folder.aux.insert(format!("{rel}/{o}"), f.text);
                        continue;
                    }
                }
                other_names.push(format!("{rel}/{o}"));
            }
            for (n, p) in sub.dirs.iter().rev() {
                if !n.starts_with('.') && n != "node_modules" && dialect_from_path(n).is_none() {
                    stack.push((format!("{rel}/{n}"), p.clone()));
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
        for (i, why) in &plan.skipped {
            if !map.contains_key(i) {
                self.notices
                    .push(format!("{}: skipped: {why}", folder.entries[*i].file.name));
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
                dialect: folder.dialect,
                migrations: plan.migrations,
            },
            problems: plan.problems,
            envsub,
            continuations,
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
        let dialect = self.dialect_for(display);
        let mut folder = Folder {
            display: display.to_string(),
            dialect,
            cargo_crate,
            ..Folder::default()
        };
        for (rel, file) in files {
            folder.entries.push(Entry { rel, file });
        }
        folder.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
        let detected = self
            .opts
            .layout
            .unwrap_or_else(|| layout::detect::detect(&folder));
        let single = folder.entries.len() == 1;
        let kind = if detected == LayoutKind::Plain && single && self.opts.layout.is_none() {
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
            if let Some(b) = self.assemble(folder, plan, kind, &root) {
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
        Built {
            sequence: Sequence {
                root: file.name.clone(),
                layout: LayoutKind::Script,
                dialect: self.dialect_for(&folder),
                migrations: vec![Migration {
                    version: String::new(),
                    name: file.name.clone(),
                    up: layout::part(0, vec![layout::region(0..len)]),
                    down: None,
                    rerun_note: None,
                }],
            },
            files: vec![file],
            problems: Vec::new(),
            envsub: Vec::new(),
            continuations: Vec::new(),
        }
    }
}

/// Why a non-SQL file of a migration folder is not read.
fn skip_reason(kind: LayoutKind, name: &str) -> String {
    let ext = name
        .rsplit_once('.')
        .map_or("", |(_, e)| e)
        .to_ascii_lowercase();
    match (kind, ext.as_str()) {
        (LayoutKind::Goose, "go") => {
            "a goose Go migration: not SQL, so twice cannot check it (the sequence is checked without it)".into()
        }
        (LayoutKind::Pop, "fizz") => {
            "a pop fizz migration: not SQL, so twice cannot check it (the sequence is checked without it)".into()
        }
        (LayoutKind::Liquibase, "xml" | "yaml" | "yml" | "json") => {
            "a Liquibase changelog in XML, YAML or JSON: twice reads formatted SQL changelogs only".into()
        }
        (LayoutKind::Flyway, "java" | "kt" | "class" | "sh" | "ps1" | "bat" | "cmd" | "py") => {
            "a Flyway Java or script migration: not SQL, so twice cannot check it".into()
        }
        _ => format!("not a {} migration", kind.name()),
    }
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
    let mut d = Discovered {
        notices: std::mem::take(&mut w.notices),
        ..Discovered::default()
    };
    for (_, built) in pieces {
        for b in built {
            let offset = d.files.len();
            d.files.extend(b.files);
            let mut seq = b.sequence;
            // No --dialect and no dialect in the path: what the SQL itself
            // is written in, when it says so clearly.
            // (Not for pop and Liquibase: they pick files and changesets by
            // dialect, which the dialect must not change after the fact.)
            if opts.dialect.is_none()
                && dialect_from_path(&seq.root).is_none()
                && !matches!(seq.layout, LayoutKind::Pop | LayoutKind::Liquibase)
            {
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
                if let Some((sniffed, why)) = sniff_dialect(texts) {
                    if sniffed != seq.dialect {
                        d.notices.push(format!(
                            "{}: read as {sniffed}: the SQL uses {why} (pass --dialect to choose another)",
                            seq.root
                        ));
                        seq.dialect = sniffed;
                    }
                }
            }
            for m in &mut seq.migrations {
                m.up.file += offset;
                if let Some(down) = &mut m.down {
                    down.file += offset;
                }
            }
            d.sequences.push(seq);
            d.problems.extend(b.problems.into_iter().map(|mut p| {
                p.file += offset;
                p
            }));
            d.envsub
                .extend(b.envsub.into_iter().map(|(f, r)| (f + offset, r)));
            d.continuations.extend(
                b.continuations
                    .into_iter()
                    .map(|(f, at, t)| ((f + offset, at), t)),
            );
        }
    }
    Ok(d)
}

/// The dialect some SQL texts are clearly written in, from constructs only
/// one database accepts, with the constructs found (for the notice). `None`
/// when nothing points away from the default or the signs disagree.
pub fn sniff_dialect<'t>(texts: impl Iterator<Item = &'t str>) -> Option<(Dialect, String)> {
    const POSTGRES: &[(&str, &str)] = &[
        ("$$", "dollar-quoted bodies"),
        ("language plpgsql", "PL/pgSQL"),
        ("::text", "`::` casts"),
        ("::int", "`::` casts"),
        ("::jsonb", "`::` casts"),
        ("::regclass", "`::` casts"),
        ("::uuid", "`::` casts"),
        ("timestamptz", "timestamptz"),
        ("timestamp with time zone", "timestamp with time zone"),
        (" jsonb", "jsonb"),
        ("bigserial", "serial columns"),
        (" serial ", "serial columns"),
        (" serial,", "serial columns"),
        ("generated always as identity", "identity columns"),
        ("generated by default as identity", "identity columns"),
        ("create extension", "CREATE EXTENSION"),
        ("returns trigger", "trigger functions"),
        ("as enum", "enum types"),
        (" bytea", "bytea"),
        ("alter column", "ALTER COLUMN"),
    ];
    const MYSQL: &[(&str, &str)] = &[
        ("engine=innodb", "ENGINE=InnoDB"),
        ("engine = innodb", "ENGINE=InnoDB"),
        ("auto_increment", "AUTO_INCREMENT"),
        ("default charset", "DEFAULT CHARSET"),
        ("charset=utf8", "CHARSET"),
        (" unsigned", "UNSIGNED"),
        ("delimiter ", "DELIMITER"),
        ("on update current_timestamp", "ON UPDATE CURRENT_TIMESTAMP"),
        ("modify column", "MODIFY COLUMN"),
    ];
    const SQLITE: &[(&str, &str)] = &[
        ("autoincrement", "AUTOINCREMENT"),
        ("without rowid", "WITHOUT ROWID"),
        ("pragma ", "PRAGMA"),
        ("insert or ignore", "INSERT OR IGNORE"),
        ("insert or replace", "INSERT OR REPLACE"),
        ("sqlite_master", "sqlite_master"),
        ("sqlite_schema", "sqlite_schema"),
    ];
    let mut hits = [Vec::new(), Vec::new(), Vec::new()];
    for t in texts {
        // Comments say nothing about the dialect (and often quote names
        // with backticks, Markdown style): leave them out.
        let mut text = String::with_capacity(t.len());
        for tok in crate::lexer::Lexer::new(t, 0..t.len(), Dialect::Postgres) {
            match tok.kind {
                crate::lexer::TokenKind::LineComment | crate::lexer::TokenKind::BlockComment => {
                    text.push(' ')
                }
                crate::lexer::TokenKind::Whitespace => text.push(' '),
                _ => text.push_str(&t[tok.span.clone()]),
            }
        }
        text.make_ascii_lowercase();
        for (i, table) in [POSTGRES, MYSQL, SQLITE].into_iter().enumerate() {
            for (needle, what) in table {
                if text.contains(needle) && !hits[i].contains(what) {
                    hits[i].push(*what);
                }
            }
        }
        // MySQL quotes identifiers with backticks.
        if text.matches('`').count() >= 4 && !hits[1].contains(&"backtick-quoted names") {
            hits[1].push("backtick-quoted names");
        }
    }
    let [pg, my, lite] = hits;
    let (dialect, signs) = match (pg.is_empty(), my.is_empty()) {
        (false, true) => (Dialect::Postgres, pg),
        (true, false) => (Dialect::Mysql, my),
        _ => return None,
    };
    // SQLite-only constructs beside them: mixed signals, keep the default.
    if lite.len() >= signs.len() {
        return None;
    }
    Some((
        dialect,
        signs.iter().take(3).copied().collect::<Vec<_>>().join(", "),
    ))
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
        let envsub = layout == LayoutKind::Goose
            && d.envsub
                .iter()
                .any(|(f, r)| *f == file && r.start <= start && end <= r.end);
        let (scope, tool) = match layout {
            LayoutKind::Flyway => (Scope::Everywhere, "Flyway"),
            LayoutKind::Liquibase => (Scope::Everywhere, "Liquibase"),
            LayoutKind::Goose if envsub => (Scope::Everywhere, "goose (ENVSUB ON)"),
            _ => (Scope::CodeOnly, "the migration tool"),
        };
        let base = src
            .name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&src.name)
            .to_string();
        let ph = Placeholders {
            defines: &opts.defines,
            builtins: if layout == LayoutKind::Flyway {
                placeholder::flyway_builtins(dialect, &base)
            } else {
                BTreeMap::new()
            },
            dialect,
            scope,
            env_syntax: envsub,
            tool,
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
