//! The walk: folders read, `.gitignore`d and excluded files left out, each
//! folder handed to the layouts, and the reasons a folder is skipped.

use super::skips::{
    dump_sign, extension_control, extension_script_name, extension_scripts, folder_has_sql,
    is_dump, is_schema_dump_name, is_seed, is_template_name, nearest_ancestor_file,
    not_migrations_dir, skip_reason,
};
use super::*;

pub(super) mod ignores {
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
        /// No `.gitignore` or `.ignore` applies.
        pub fn none(&self) -> bool {
            self.0.is_empty()
        }

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
            // The nearest folder up from `dir` that holds `.git`: the
            // parent's answer when `dir` holds none (one look per folder,
            // not one per folder above it).
            let r = if dir.join(".git").exists() {
                Some(dir.to_path_buf())
            } else {
                dir.parent().and_then(|p| self.repo_of(p))
            };
            self.repos.insert(dir.to_path_buf(), r.clone());
            r
        }

        fn level(&mut self, dir: &Path, git: bool, top: bool) -> Rc<Level> {
            if let Some(l) = self.levels.get(dir) {
                return l.clone();
            }
            let key = dir.to_path_buf();
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
pub(super) const MAX_DEPTH: usize = 64;

/// Folders with fewer migration files than this are read on one thread.
const PARALLEL_READ_MIN: usize = 8;

/// A sequence under construction, with its own files.
pub(super) struct Built {
    pub(super) files: Vec<SourceFile>,
    pub(super) sequence: Sequence,
    /// The dialect was chosen by `--dialect`, the path or the tool's own
    /// files: the SQL's signs do not change it.
    pub(super) dialect_settled: bool,
    pub(super) problems: Vec<Problem>,
    pub(super) envsub: Vec<(usize, Range<usize>)>,
    pub(super) continuations: Vec<(usize, usize, String)>,
    pub(super) unresolvable: Vec<usize>,
}

/// The state of one discovery.
pub(super) struct Walker<'o> {
    pub(super) opts: &'o Options,
    /// Where file bytes come from (the disk, or an overlay on it).
    pub(super) files: &'o FileSource,
    /// Canonical folders already read (walked or absorbed into a sequence).
    /// Folders read (canonical), with how the first read showed each.
    pub(super) visited: HashMap<PathBuf, String>,
    pub(super) notices: Vec<String>,
    /// The folder named on the command line being walked (canonical):
    /// symbolic links that lead out of it are not followed.
    pub(super) root: Option<PathBuf>,
    /// `.gitignore` / `.ignore` rules, per canonical folder.
    pub(super) ignores: ignores::Ignores,
    /// Liquibase changelogs seen in folders without SQL files (at most
    /// three, as displayed): changesets of Liquibase's own change types,
    /// which the message for a folder with no SQL names.
    pub(super) changelogs: Vec<String>,
    /// Hidden folders holding SQL files that were not entered (as
    /// displayed), which the message for a folder with no SQL names.
    pub(super) hidden: Vec<String>,
}

/// Hidden folders of version control, editors, package managers and build
/// caches: not looked into for SQL files (a big one would cost a walk).
const TOOL_DOT_FOLDERS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".venv",
    ".tox",
    ".cache",
    ".next",
    ".nuxt",
    ".terraform",
    ".idea",
    ".vscode",
    ".gradle",
    ".m2",
    ".cargo",
    ".npm",
    ".yarn",
    ".pnpm-store",
    ".sqlx",
];

/// Whether a migration tool's config in `dir` (one of `others`) names the
/// hidden folder `name` as its migrations folder: drizzle-kit's
/// `drizzle.config.*` with `out: ".drizzle"` (or `"./.drizzle/sql"`).
fn named_by_config(dir: &Path, others: &[String], name: &str) -> bool {
    others
        .iter()
        .filter(|o| layout::drizzle::CONFIG_FILES.contains(&o.as_str()))
        .filter_map(|o| super::declared::head(&dir.join(o), 64 * 1024))
        .filter_map(|text| layout::drizzle::config_out(&text))
        .any(|out| {
            let mut out = out.as_str();
            while let Some(rest) = out.strip_prefix("./") {
                out = rest;
            }
            out.split('/').next() == Some(name)
        })
}

/// A folder's entries, sorted by name.
#[derive(Default)]
pub(super) struct Listing {
    /// Regular files (after following links) named `*.sql`.
    pub(super) sql: Vec<(String, PathBuf)>,
    /// Other files (names only).
    pub(super) others: Vec<String>,
    pub(super) dirs: Vec<(String, PathBuf)>,
    /// The folder's canonical path (`None` when it could not be told).
    pub(super) canon: Option<PathBuf>,
    /// Entries that are symbolic links, or whose names are not UTF-8: their
    /// canonical paths are asked of the file system.
    pub(super) linked: BTreeSet<String>,
    /// Every entry, in the order the file system gave them, for the
    /// layouts that know a folder by its shape (`Layout::claims_dir`).
    pub(super) listed: Vec<layout::Listed>,
}

impl Listing {
    /// The canonical path of the entry `name` (at `path`): the folder's own
    /// with the name joined, unless the entry is a symbolic link (no
    /// `realpath`, a system call per component of the path, per folder).
    pub(super) fn canonical(&self, name: &str, path: &Path) -> std::io::Result<PathBuf> {
        match &self.canon {
            Some(canon) if !self.linked.contains(name) => Ok(canon.join(name)),
            _ => std::fs::canonicalize(path),
        }
    }
}

pub(super) fn join_display(display: &str, name: &str) -> String {
    if display == "." {
        name.to_string()
    } else if display.ends_with('/') {
        format!("{display}{name}")
    } else {
        format!("{display}/{name}")
    }
}

pub(super) fn io_error(display: &str, e: &std::io::Error) -> Error {
    Error::io(display, e)
}

/// ELOOP: too many levels of symbolic links.
pub(super) fn is_loop(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(40) || e.raw_os_error() == Some(62)
}

impl Walker<'_> {
    /// Lists `dir`, whose canonical path is `canon` when the caller knows
    /// it; `None` when it vanished.
    pub(super) fn list_at(
        &mut self,
        dir: &Path,
        canon: Option<&Path>,
        display: &str,
    ) -> Result<Option<Listing>> {
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
        let known = match canon {
            Some(c) => Some(c.to_path_buf()),
            None => std::fs::canonicalize(dir).ok(),
        };
        let canon_dir = known.clone().unwrap_or_else(|| dir.to_path_buf());
        l.canon = known;
        let rules = self.ignores.for_folder(&canon_dir);
        // (.sql files and folders) left out by .gitignore/.ignore, and
        // links that lead out of the folder being checked.
        let mut ignored: Vec<String> = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| io_error(display, &e))?;
            let os_name = entry.file_name();
            // Bytes that are not UTF-8 as `\xFF` (`source::display_path`).
            let name = crate::source::os_text(&os_name).into_owned();
            let path = entry.path();
            // The name as shown, for notices only (not made for every entry).
            let shown = || join_display(display, &name);
            let file_type = entry.file_type().ok();
            let is_link = file_type.is_some_and(|t| t.is_symlink());
            // A name that is not UTF-8 cannot be joined back from its text:
            // its canonical path is asked of the file system, as a link's.
            if is_link || os_name.to_str().is_none() {
                l.linked.insert(name.clone());
            }
            // What the entry is, links followed: the listing says it for all
            // but links (no `stat` per file of a folder of thousands).
            let listed = file_type
                .filter(|t| !t.is_symlink())
                .map(|t| (t.is_dir(), t.is_file()));
            let kind = listed.map_or_else(
                || std::fs::metadata(&path).map(|m| (m.is_dir(), m.is_file())),
                Ok,
            );
            l.listed.push(layout::Listed {
                name: name.clone(),
                is_dir: kind.as_ref().is_ok_and(|k| k.0),
            });
            let (is_dir, is_file) = match kind {
                Ok(kind) => kind,
                Err(e) => {
                    let link = std::fs::symlink_metadata(&path)
                        .map(|m| m.file_type().is_symlink())
                        .unwrap_or(false);
                    if !link && e.kind() == ErrorKind::NotFound {
                        self.notices.push(format!(
                            "{}: disappeared before it could be read; skipped",
                            shown()
                        ));
                    } else if link && is_loop(&e) {
                        self.notices
                            .push(format!("{}: symbolic link loop; not followed", shown()));
                    } else if link && e.kind() == ErrorKind::NotFound {
                        if is_sql(Path::new(&name)) {
                            return Err(Error::new(format!(
                                "{}: broken symbolic link (its target does not exist)",
                                shown()
                            )));
                        }
                        self.notices
                            .push(format!("{}: broken symbolic link; skipped", shown()));
                    } else {
                        return Err(io_error(&shown(), &e));
                    }
                    continue;
                }
            };
            if !rules.none() && rules.ignored(&canon_dir.join(&name), is_dir) {
                if is_dir {
                    ignored.push(format!("{name}/"));
                } else if is_sql(Path::new(&name)) {
                    ignored.push(name);
                }
                continue;
            }
            if is_link && (is_dir || is_sql(Path::new(&name))) {
                if let Some(root) = &self.root {
                    let target = std::fs::canonicalize(&path).ok();
                    if !target.as_ref().is_some_and(|t| t.starts_with(root)) {
                        self.notices.push(format!(
                            "{}: symbolic link to {}, outside the folder being checked; not \
                             followed (name it on the command line to check it)",
                            shown(),
                            target
                                .as_deref()
                                .map_or_else(|| "?".to_string(), display_path)
                        ));
                        continue;
                    }
                }
            }
            if is_dir {
                l.dirs.push((name, path));
            } else if self.opts.excluded(&path) {
                // `exclude` in twice.toml: the config reports it.
            } else if is_file && (is_sql(Path::new(&name)) || layout::is_sql_name(&name)) {
                // `.sql`, and `.sql.postgres` files written for one dialect.
                l.sql.push((name, path));
            } else if is_file && matches!(name.as_str(), ".gitignore" | ".ignore") {
                // Read by the walker itself (see `ignores`), not skipped.
            } else if is_file {
                l.others.push(name);
            } else {
                if is_sql(Path::new(&name)) {
                    // Not read (it would never end), but not in silence.
                    self.notices.push(format!(
                        "{}: not a regular file (a pipe, socket or device); skipped",
                        shown()
                    ));
                }
                l.others.push(format!("{name} (not a regular file)"));
            }
        }
        if !ignored.is_empty() {
            ignored.sort();
            let names = crate::words::first_of(&ignored, ignored.len(), 5);
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
    pub(super) fn read(&mut self, path: &Path, shown: &str) -> Result<Option<SourceFile>> {
        match self.files.read(path) {
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

    /// Reads the files `wanted` (path, shown name) of a folder, bytes,
    /// decoding and the layouts' marks ([`layout::Marks`]) on `--jobs`
    /// threads, results in order: as [`Self::read`] of each in turn (a file
    /// that vanished is a notice and `None`; the first error in order stops
    /// the walk).
    pub(super) fn read_all(
        &mut self,
        wanted: &mut [(PathBuf, String)],
    ) -> Result<Vec<Option<(SourceFile, layout::Marks)>>> {
        // A thread costs more than reading a few small files.
        let jobs = if wanted.len() < PARALLEL_READ_MIN {
            1
        } else {
            self.opts.jobs
        };
        let files = self.files;
        let read = crate::parallel::map(jobs, wanted, |_, (path, shown)| {
            files.read(path).map(|bytes| {
                let file = SourceFile::from_bytes(shown.as_str(), Some(path), &bytes);
                let marks = layout::Marks::of(&file.text);
                (file, marks)
            })
        });
        let mut out = Vec::with_capacity(read.len());
        for (r, (_, shown)) in read.into_iter().zip(wanted.iter()) {
            match r {
                Ok(file) => out.push(Some(file)),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    self.notices.push(format!(
                        "{shown}: disappeared before it could be read; skipped"
                    ));
                    out.push(None);
                }
                Err(e) => return Err(io_error(shown, &e)),
            }
        }
        Ok(out)
    }

    /// The dialect of a folder before its files are read, what decided it,
    /// and whether that is settled (`--dialect` or the path).
    pub(super) fn dialect_why(&self, display: &str) -> (Dialect, String, bool) {
        if let Some(d) = self.opts.dialect {
            return (d, "--dialect".into(), true);
        }
        match crate::dialect::dialect_folder_in_path(display) {
            Some((d, folder)) => (d, format!("the folder name: {folder}"), true),
            None => {
                let (d, why) = self.opts.unnamed_dialect();
                (d, why.into(), false)
            }
        }
    }

    /// The layout forced by `--layout` or detected, and why; then the
    /// dialect the tool's own files name, when `--dialect` does not decide.
    pub(super) fn choose(&mut self, folder: &mut Folder) -> (LayoutKind, String, String, bool) {
        let (kind, layout_why) = match self.opts.layout {
            Some(k) => (k, "--layout".to_string()),
            None => detect_why(folder, self.opts.jobs),
        };
        let (dialect, mut dialect_why, mut settled) = self.dialect_why(&folder.display);
        folder.dialect = dialect;
        if self.opts.dialect.is_none() {
            let tool = layout::get(kind);
            if let Some((d, why)) = tool.dialect(folder) {
                folder.dialect = d;
                dialect_why = why;
                settled = true;
            } else if !settled && tool.picks_by_dialect(folder) {
                // The tool picks files by dialect (Liquibase's `dbms`
                // filters) before the SQL's signs could be read: the
                // database the project names picks them.
                if let Some((d, why)) = super::project::Projects::default().dialect(&folder.display)
                {
                    self.notices.push(format!(
                        "{}: read as {d}: {} picks files by dialect, and {why} (pass --dialect to \
                         choose another)",
                        folder.display,
                        kind.name()
                    ));
                    folder.dialect = d;
                    dialect_why = why;
                    settled = true;
                }
            }
        }
        (kind, layout_why, dialect_why, settled)
    }

    /// Walks `dir` (shown as `display`), appending its sequences to `out`.
    pub(super) fn walk(
        &mut self,
        dir: &Path,
        display: &str,
        ancestors: &mut Vec<PathBuf>,
        out: &mut Vec<Built>,
    ) -> Result<()> {
        self.walk_at(dir, None, display, ancestors, out)
    }

    /// [`Self::walk`], the canonical path of `dir` given when known.
    pub(super) fn walk_at(
        &mut self,
        dir: &Path,
        canon: Option<PathBuf>,
        display: &str,
        ancestors: &mut Vec<PathBuf>,
        out: &mut Vec<Built>,
    ) -> Result<()> {
        let canon = match canon.map_or_else(|| std::fs::canonicalize(dir), Ok) {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.notices.push(format!(
                    "{display}: the folder disappeared before it could be read; skipped"
                ));
                return Ok(());
            }
            Err(e) => return Err(io_error(display, &e)),
        };
        if let Some(first) = self.visited.get(&canon) {
            self.notices.push(format!(
                "{display}: same folder as {first}, already read; read once"
            ));
            return Ok(());
        }
        self.visited.insert(canon.clone(), display.to_string());
        if ancestors.len() >= MAX_DEPTH {
            self.notices.push(format!(
                "{display}: more than {MAX_DEPTH} folders deep; not entered (name it directly to check it)"
            ));
            return Ok(());
        }
        let Some(listing) = self.list_at(dir, Some(&canon), display)? else {
            return Ok(());
        };
        ancestors.push(canon.clone());
        let result = self.walk_listing(dir, display, &canon, listing, ancestors, out);
        ancestors.pop();
        result
    }

    pub(super) fn walk_listing(
        &mut self,
        dir: &Path,
        display: &str,
        canon: &Path,
        mut listing: Listing,
        ancestors: &mut Vec<PathBuf>,
        out: &mut Vec<Built>,
    ) -> Result<()> {
        if listing.sql.is_empty() && self.changelogs.len() < 3 {
            for name in &listing.others {
                let changelog = name.to_ascii_lowercase().contains("changelog")
                    && layout::liquibase::is_changelog_file(name);
                if changelog
                    && self.changelogs.len() < 3
                    && super::declared::head(&dir.join(name), 8192)
                        .is_some_and(|h| h.contains("databaseChangeLog"))
                {
                    self.changelogs.push(join_display(display, name));
                }
            }
        }
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
            // A code generator's template (`V${currentDate}__menu_${entityName}.sql`).
            let template = !seed && is_template_name(name);
            if template {
                self.notices.push(format!(
                    "{}: skipped: a code generator's template (the file name holds a \
                     placeholder), not a migration (name it to check it)",
                    join_display(display, name)
                ));
            }
            !seed && !template
        });
        // A Supabase project folder (`supabase/`: `config.toml` and
        // `migrations/`): the CLI runs `migrations/` and the seed files, not
        // SQL files lying in the project folder itself.
        if !listing.sql.is_empty()
            && listing.dirs.iter().any(|(n, _)| n == "migrations")
            && (canon.file_name().is_some_and(|n| n == "supabase")
                || (listing.others.iter().any(|o| o == "config.toml")
                    && super::declared::head(&dir.join("config.toml"), 8192)
                        .is_some_and(|t| layout::supabase::is_config(&t))))
        {
            for (name, _) in std::mem::take(&mut listing.sql) {
                self.notices.push(format!(
                    "{}: skipped: a SQL file in a Supabase project folder, which the Supabase CLI \
                     does not run (it runs migrations/ and the seed files), not a migration (name it \
                     to check it)",
                    join_display(display, &name)
                ));
            }
        }
        // PostgreSQL extension scripts (`vector--0.1.0--0.1.1.sql` beside or
        // below `vector.control`): CREATE EXTENSION and ALTER EXTENSION ...
        // UPDATE run each once and record it in `pg_extension`.
        if !listing.sql.is_empty() {
            for ext in extension_scripts(canon, &listing.sql) {
                let own = format!("{ext}.sql");
                let mut left: Vec<String> = Vec::new();
                listing.sql.retain(|(name, _)| {
                    let script = *name == own || extension_script_name(name) == Some(ext.as_str());
                    if script {
                        left.push(name.clone());
                    }
                    !script
                });
                let (Some(first), Some(last)) = (left.first(), left.last()) else {
                    continue;
                };
                let which = if left.len() == 1 {
                    join_display(display, first)
                } else {
                    format!(
                        "{} files ({} to {})",
                        left.len(),
                        join_display(display, first),
                        join_display(display, last)
                    )
                };
                self.notices.push(format!(
                    "{which}: skipped: scripts of the PostgreSQL extension `{ext}`, not migrations: \
                     CREATE EXTENSION and ALTER EXTENSION {ext} UPDATE run each once and record it \
                     in pg_extension (and PostgreSQL advises against IF NOT EXISTS and OR REPLACE \
                     in them: an object someone else made would be taken over); name a file to \
                     check it"
                ));
            }
        }
        // Files sqlc's or Atlas's project files declare as queries or as the
        // desired schema (see `declared`).
        if !listing.sql.is_empty() {
            let declared = super::declared::Declared::around(canon);
            listing.sql.retain(|(name, path)| {
                let why = declared
                    .why(&canon.join(name))
                    .map(str::to_string)
                    .or_else(|| {
                        super::declared::is_query_file(name, path).then(|| {
                            "a query file (its statements carry `-- name:` tags, as sqlc, yesql \
                             and dotsql read them)"
                                .to_string()
                        })
                    });
                if let Some(why) = &why {
                    self.notices.push(format!(
                        "{}: skipped: {why}, not a migration (name it to check it)",
                        join_display(display, name)
                    ));
                }
                why.is_none()
            });
        }
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
        // Also `schema-15.sql` and `schema_pg16.sql` (one dump per server
        // version), any file that starts as pg_dump or mysqldump writes
        // it, and a migrations folder of SQL files one level down
        // (`db/migrations/`; not listmonk's `internal/migrations/` of Go).
        // Rails keeps its migrations in `db/migrate/`.
        let schema_dump = !use_diesel
            && !listing.sql.is_empty()
            && listing.dirs.iter().any(|(n, p)| {
                (matches!(n.as_str(), "migrations" | "migrate") && p.is_dir())
                    || folder_has_sql(&p.join("migrations"))
            })
            && listing
                .sql
                .iter()
                .all(|(n, p)| is_schema_dump_name(n) || is_dump(p));
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
        // A layout that knows the folder by its sub-folders' shape (the
        // `delta/<N>/` folders of `schema-delta`).
        let shaped: Option<(LayoutKind, String)> = if use_diesel {
            None
        } else {
            candidates.iter().find_map(|l| {
                l.claims_dir(dir, &listing.listed)
                    .map(|why| (l.kind(), why))
            })
        };
        if !schema_dump
            && (use_diesel || project_file || shaped.is_some() || !listing.sql.is_empty())
        {
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
                let sub_canon = listing.canonical(name, path).ok();
                let Some(sub) = self.list_at(path, sub_canon.as_deref(), &shown_dir)? else {
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
            // The migration files of the folder (and of its migration
            // folders), read together below.
            let mut wanted: Vec<(PathBuf, String)> = Vec::new();
            let mut rels: Vec<String> = Vec::new();
            if use_diesel {
                for (name, path) in &diesel_dirs {
                    consumed.insert(name.clone());
                    let sub_canon = listing.canonical(name, path).ok();
                    let shown_dir = join_display(display, name);
                    if let Some(c) = &sub_canon {
                        self.visited.insert(c.clone(), shown_dir.clone());
                    }
                    let Some(sub) = self.list_at(path, sub_canon.as_deref(), &shown_dir)? else {
                        continue;
                    };
                    for (fname, fpath) in &sub.sql {
                        wanted.push((fpath.clone(), join_display(&shown_dir, fname)));
                        rels.push(format!("{name}/{fname}"));
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
                wanted.push((path.clone(), join_display(display, name)));
                rels.push(name.clone());
            }
            let read = self.read_all(&mut wanted)?;
            for (rel, file) in rels.into_iter().zip(read) {
                if let Some((file, marks)) = file {
                    folder.entries.push(Entry::with_marks(rel, file, marks));
                }
            }
            folder.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
            let (mut kind, mut layout_why, mut dialect_why, mut settled) = self.choose(&mut folder);
            if let Some((k, why)) = shaped.filter(|_| self.opts.layout.is_none()) {
                (kind, layout_why) = (k, why);
                // The dialect the shaped layout's own files name.
                if self.opts.dialect.is_none() {
                    if let Some((d, why)) = layout::get(kind).dialect(&folder) {
                        folder.dialect = d;
                        (dialect_why, settled) = (why, true);
                    }
                }
            }
            let tool = layout::get(kind);
            self.absorb(
                display,
                &listing,
                tool,
                &mut folder,
                &mut consumed,
                &mut other_names,
                &mut side,
                ancestors,
            )?;
            folder.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
            // Dumps of a migrated database (`sqlite3 .schema` output with
            // `sqlite_sequence` and the tool's version table) in a folder no
            // tool claims, under a name that gives no version.
            let mut dumps_only = false;
            if kind == LayoutKind::Plain
                && self.opts.layout.is_none()
                && self.root.as_deref() != Some(canon)
            {
                let before = folder.entries.len();
                let notices = &mut self.notices;
                folder.entries.retain(|e| {
                    let versioned = e
                        .file
                        .name
                        .rsplit('/')
                        .next()
                        .is_some_and(|b| b.starts_with(|c: char| c.is_ascii_digit()));
                    match (!e.file.binary && !versioned)
                        .then(|| dump_sign(&e.file.text))
                        .flatten()
                    {
                        Some(sign) => {
                            notices.push(format!(
                                "{}: skipped: a schema dump ({sign}), not a migration (name it \
                                 to check it)",
                                e.file.name
                            ));
                            false
                        }
                        None => true,
                    }
                });
                dumps_only = before > 0 && folder.entries.is_empty();
            }
            let passed_over = (project_only || dumps_only) && folder.entries.is_empty();
            // A folder no tool claims whose files are all queries (bind
            // parameters, or read-only SELECTs): the application's query
            // files (`include_str!`-ed, loaded by a query runner), not
            // migrations. Named on the command line, it is read.
            // A walked folder no tool claims (named on the command line, a
            // folder is read whatever it holds).
            let unclaimed = !passed_over
                && kind == LayoutKind::Plain
                && self.opts.layout.is_none()
                && self.root.as_deref() != Some(canon)
                && !folder.entries.is_empty();
            let queries = unclaimed
                && folder
                    .entries
                    .iter()
                    .all(|e| !e.file.binary && super::declared::is_query_text(&e.file.text));
            if queries {
                self.notices.push(format!(
                    "{display}: skipped: a folder of query files (each has bind parameters such as \
                     `$1` or pgTyped's `:id!` and `/* @name */` tags, only reads: `SELECT ... FROM`, \
                     or is a SQLPage page), not migrations (name it to check it)"
                ));
            }
            // Sublime Text's syntax tests (`syntax_test_*.sql`, first line
            // `-- SYNTAX TEST "Packages/SQL/SQL.sublime-syntax"`): an editor
            // package's test files, which no tool runs.
            let syntax_tests = unclaimed
                && !queries
                && folder.entries.iter().all(|e| {
                    let name = e.rel.rsplit('/').next().unwrap_or(&e.rel);
                    name.starts_with("syntax_test")
                        && e.file.text.trim_start().starts_with("-- SYNTAX TEST")
                });
            if syntax_tests {
                self.notices.push(format!(
                    "{display}: skipped: Sublime Text syntax tests (`syntax_test_*` files starting \
                     `-- SYNTAX TEST`), not migrations (name it to check it)"
                ));
            }
            let passed_over = passed_over || queries || syntax_tests;
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
            // Migrations the tool runs that twice cannot (Go, Python).
            let gaps: Vec<(String, String)> = other_names
                .iter()
                .filter_map(|o| {
                    tool.code_migration(o)
                        .map(|v| (v, join_display(display, o)))
                })
                .collect();
            for o in other_names {
                self.notices.push(format!(
                    "{}: skipped: {}",
                    join_display(display, &o),
                    skip_reason(kind, &o)
                ));
            }
            // Files written for several dialects (`x.sql.postgres`,
            // `x.sql.sqlite`): one sequence per dialect, unless --dialect
            // chose one.
            folder.variants = tool.variant_dialects(&folder);
            folder.split = self.opts.dialect.is_none() && !folder.variants.is_empty();
            // The shared files' own sequence, for the databases no file
            // name gives (`ddl.sql` of MySQL beside `ddl-postgresql.sql`).
            let shared = if folder.split {
                tool.shared_dialect(&folder)
            } else {
                None
            };
            if let Some((d, _)) = &shared {
                folder.variants.push(*d);
            }
            if passed_over {
                // Nothing of a migration here (a package.json at a
                // repository root).
            } else if !folder.split {
                // One history, or several (Liquibase's root changelogs),
                // each a sequence.
                let mut plans = layout::plans(kind, &folder);
                // A tool that picks files by dialect planned for this one:
                // the SQL's signs must not change it afterwards.
                let picks = tool.picks_by_dialect(&folder);
                let last = plans.pop();
                let mut histories: Vec<(Folder, Option<String>, Plan)> = plans
                    .into_iter()
                    .map(|(why, plan)| (folder.clone(), why, plan))
                    .collect();
                if let Some((why, plan)) = last {
                    histories.push((folder, why, plan));
                }
                for (folder, why, plan) in histories {
                    if let Some(mut b) = self.assemble(folder, plan, kind, display) {
                        b.sequence.code_gaps = gaps.clone();
                        b.sequence.layout_why = match why {
                            Some(w) if self.opts.layout.is_some() => format!("{layout_why}: {w}"),
                            Some(w) => w,
                            None => layout_why.clone(),
                        };
                        b.sequence.dialect_why = dialect_why.clone();
                        b.dialect_settled = settled || picks;
                        out.push(b);
                    }
                }
            } else {
                let shared_d = shared.as_ref().map(|(d, _)| *d);
                let names: Vec<&str> = folder
                    .variants
                    .iter()
                    .filter(|d| Some(**d) != shared_d)
                    .map(|d| d.name())
                    .collect();
                let all = names.join(", ");
                for (n, d) in folder.variants.clone().into_iter().enumerate() {
                    let mut f = folder.clone();
                    f.dialect = d;
                    let mut plan = layout::plan(kind, &f);
                    if n > 0 {
                        // Files skipped for every dialect: said once.
                        plan.skipped.clear();
                    }
                    if let Some(mut b) = self.assemble(f, plan, kind, display) {
                        b.sequence.code_gaps = gaps.clone();
                        b.sequence.layout_why = layout_why.clone();
                        b.sequence.dialect_why =
                            if let Some((_, why)) = shared.as_ref().filter(|(s, _)| *s == d) {
                                why.clone()
                            } else if let Some(other) = shared_d {
                                format!(
                                "files named for {d}: they replace files named for no database, \
                                 which are a sequence of their own ({other})"
                            )
                            } else if names.len() == 1 {
                                format!(
                                    "files named for {d}: the file names give no other database \
                                 twice reads"
                                )
                            } else {
                                format!(
                                    "files named for {d}: one sequence for each database the file \
                                 names give ({all})"
                                )
                            };
                        b.dialect_settled = true;
                        out.push(b);
                    }
                }
            }
        }
        // A PostgreSQL extension's source tree (its control file here): the
        // SQL below is the extension's scripts, their sources and its
        // tests, run by CREATE EXTENSION and ALTER EXTENSION ... UPDATE or
        // by pg_regress, never by a migration tool.
        if let Some((ext, control)) = extension_control(dir, &listing.others) {
            let with_sql: Vec<String> = listing
                .dirs
                .iter()
                .filter(|(n, p)| !consumed.contains(n) && !n.starts_with('.') && folder_has_sql(p))
                .map(|(n, _)| join_display(display, n))
                .collect();
            if !with_sql.is_empty() {
                let which = crate::words::first_of(&with_sql, with_sql.len(), 3);
                self.notices.push(format!(
                    "{which}: skipped: the sources and tests of the PostgreSQL extension `{ext}` \
                     ({}), which CREATE EXTENSION, ALTER EXTENSION {ext} UPDATE and pg_regress \
                     run, not migrations (name a folder to check it)",
                    join_display(display, &control)
                ));
            }
            return Ok(());
        }
        for (name, path) in &listing.dirs {
            if consumed.contains(name) || name == "node_modules" {
                continue;
            }
            let shown = join_display(display, name);
            // Hidden folders are not entered, unless a tool's config beside
            // them names one as its migrations folder (drizzle-kit's
            // `out: ".drizzle"`); one holding SQL files is said so.
            if name.starts_with('.') && !named_by_config(dir, &listing.others, name) {
                if !TOOL_DOT_FOLDERS.contains(&name.as_str()) && folder_has_sql(path) {
                    self.notices.push(format!(
                        "{shown}: skipped: a hidden folder (its name starts with `.`) holding SQL \
                         files, not entered (name it to check it)"
                    ));
                    self.hidden.push(shown);
                }
                continue;
            }
            let at_root = self.root.as_deref() == Some(canon);
            if let Some(why) =
                not_migrations_dir(name, &listing.dirs, &listing.others, dir, at_root)
            {
                if folder_has_sql(path) {
                    self.notices.push(format!(
                        "{shown}: skipped: {why}, not migrations (name it to check it)"
                    ));
                }
                continue;
            }
            match listing.canonical(name, path) {
                Ok(c) if ancestors.contains(&c) => {
                    self.notices.push(format!(
                        "{shown}: symbolic link loop (leads back to {}); not followed",
                        display_path(&c)
                    ));
                }
                Ok(c) => self.walk_at(path, Some(c), &shown, ancestors, out)?,
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
    pub(super) fn absorb(
        &mut self,
        display: &str,
        listing: &Listing,
        tool: &dyn layout::Layout,
        folder: &mut Folder,
        consumed: &mut BTreeSet<String>,
        other_names: &mut Vec<String>,
        side: &mut Vec<String>,
        ancestors: &mut [PathBuf],
    ) -> Result<()> {
        // (path relative to the migrations folder, path, canonical path
        // when known)
        let mut stack: Vec<(String, PathBuf, Option<PathBuf>)> = listing
            .dirs
            .iter()
            .filter(|(n, _)| {
                !n.starts_with('.')
                    && n != "node_modules"
                    && !consumed.contains(n)
                    && tool.absorbs_subfolder(n, folder)
            })
            .map(|(n, p)| (n.clone(), p.clone(), listing.canonical(n, p).ok()))
            .collect();
        stack.reverse();
        let top: BTreeSet<String> = stack.iter().map(|(n, _, _)| n.clone()).collect();
        while let Some((rel, path, known)) = stack.pop() {
            let shown = join_display(display, &rel);
            let canon = match known.map_or_else(|| std::fs::canonicalize(&path), Ok) {
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
            if let Some(first) = self.visited.get(&canon) {
                self.notices.push(format!(
                    "{shown}: same folder as {first}, already read; read once"
                ));
                continue;
            }
            self.visited.insert(canon.clone(), shown.clone());
            if top.contains(&rel) {
                consumed.insert(rel.clone());
            }
            let Some(sub) = self.list_at(&path, Some(&canon), &shown)? else {
                continue;
            };
            let mut wanted: Vec<(PathBuf, String)> = sub
                .sql
                .iter()
                .map(|(fname, fpath)| (fpath.clone(), join_display(&shown, fname)))
                .collect();
            let read = self.read_all(&mut wanted)?;
            for ((fname, _), file) in sub.sql.iter().zip(read) {
                if let Some((file, marks)) = file {
                    folder
                        .entries
                        .push(Entry::with_marks(format!("{rel}/{fname}"), file, marks));
                }
            }
            for o in &sub.others {
                let o_rel = format!("{rel}/{o}");
                let nested = !tool.reads_side_file(&o_rel) && tool.reads_nested_side_file(&o_rel);
                if nested || tool.reads_side_file(&o_rel) {
                    if let Some(f) = self.read(&path.join(o), &join_display(&shown, o))? {
                        folder.aux.insert(o_rel.clone(), f.text);
                        if nested {
                            side.push(o_rel);
                        }
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
                    stack.push((n_rel, p.clone(), sub.canonical(n, p).ok()));
                }
            }
        }
        Ok(())
    }

    /// Turns a planned folder into a sequence with only the files it uses.
    pub(super) fn assemble(
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
        // One notice per reason: the files it is about named, the first
        // few of a long list.
        let mut templated: Vec<(&str, Vec<&str>)> = Vec::new();
        for (i, why) in &plan.unresolvable {
            if map.contains_key(i) {
                let name = folder.entries[*i].file.name.as_str();
                match templated.iter_mut().find(|(w, _)| w == why) {
                    Some((_, names)) => names.push(name),
                    None => templated.push((why, vec![name])),
                }
            }
        }
        for (why, names) in templated {
            let files = match names.as_slice() {
                [one] => one.to_string(),
                [a, b] => format!("{a} and {b}"),
                [first, .., last] => format!("{} files ({first} to {last})", names.len()),
                [] => continue,
            };
            let (each, verb) = if names.len() == 1 {
                ("", "read it")
            } else {
                ("each ", "read them")
            };
            self.notices.push(format!(
                "{files}: {each}{why}: not replayed (twice cannot fill the template in); the static \
                 rules still {verb}"
            ));
        }
        self.notices.append(&mut plan.notices);
        if plan.migrations.is_empty() && plan.problems.is_empty() && plan.unresolvable.is_empty() {
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
        let wraps = layout::get(kind).wraps_migrations();
        let remap = |p: &mut Part| {
            p.file = map[&p.file];
            p.tool_transaction = wraps && !p.no_transaction;
        };
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
                code_gaps: Vec::new(),
                schemas: plan.schemas,
                placeholders: plan.placeholders,
                unwrapped: None,
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
    pub(super) fn named_group(
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
            folder.entries.push(Entry::new(rel, file));
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

    pub(super) fn script(&self, file: SourceFile) -> Built {
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
                migrations: vec![Migration::new(
                    String::new(),
                    file.name.clone(),
                    layout::part(0, vec![layout::region(0..len)]),
                    None,
                )],
                code_gaps: Vec::new(),
                schemas: None,
                placeholders: None,
                unwrapped: None,
            },
            files: vec![file],
            problems: Vec::new(),
            envsub: Vec::new(),
            continuations: Vec::new(),
            unresolvable: Vec::new(),
        }
    }
}

/// Folders with fewer files than this have their layout detected on one
/// thread.
const PARALLEL_DETECT_MIN: usize = 64;

/// The layout whose marks `folder` shows, and why: the first in registry
/// order, as [`layout::detect::detect_why`] finds it, the layouts asked on
/// `--jobs` threads for a large folder (each reads every file's name and
/// most read its text). A layout after one already found is not asked.
fn detect_why(folder: &Folder, jobs: usize) -> (LayoutKind, String) {
    if jobs <= 1 || folder.entries.len() < PARALLEL_DETECT_MIN {
        return layout::detect::detect_why(folder);
    }
    use std::sync::atomic::{AtomicUsize, Ordering};
    let found = AtomicUsize::new(usize::MAX);
    let mut layouts: Vec<&'static dyn layout::Layout> = layout::registry().to_vec();
    let whys = crate::parallel::map(jobs, &mut layouts, |i, l| {
        if found.load(Ordering::Relaxed) < i {
            return None;
        }
        let why = l.detect(folder);
        if why.is_some() {
            found.fetch_min(i, Ordering::Relaxed);
        }
        why.map(|w| (l.kind(), w))
    });
    whys.into_iter()
        .flatten()
        .next()
        // None claims it (`plain` always does): what one thread says then.
        .unwrap_or_else(|| layout::detect::detect_why(folder))
}
