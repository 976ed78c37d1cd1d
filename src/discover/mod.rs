//! Finds migration files and orders them into sequences.
//!
//! # Folders
//! A folder given on the command line is walked recursively (sub-folders in
//! name order; hidden folders, `node_modules` and `exclude` globs of the
//! config file are not entered, except a hidden folder a tool's config
//! beside it names as its migrations, drizzle-kit's `out: ".drizzle"`; a
//! hidden folder holding SQL files is named in a notice). Every folder that holds `.sql` files, or
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
//! locations recursively), except sub-folders named for a dialect; the
//! Flyway folders below one location with no SQL files of its own
//! (`db/migration/1.0/ddl/`, `db/migration/1.1/ddl/`) are joined into one
//! sequence of that location (module `locations`).
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
use crate::finding::Finding;
use crate::layout::{self, Entry, Folder, Plan, Problem};
use crate::model::{LayoutKind, Migration, Part, Region, Sequence};
use crate::options::Options;
use crate::placeholder::{self, Placeholders};
use crate::sniff::Verdict;
pub use crate::source::display_path;
use crate::source::{FileSource, SourceFile};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};

mod analyze;
mod declared;
mod locations;
mod project;
mod skips;
mod walk;

pub use crate::dialect::dialect_from_path;
pub use crate::layout::natural_cmp;
pub use analyze::*;
use walk::*;

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
        tool_transaction: false,
    }
}

/// A single script (stdin or a file named directly) as its own sequence.
pub fn script_sequence(d: &mut Discovered, file: SourceFile, opts: &Options) -> Sequence {
    let root = file.name.clone();
    let idx = d.add_file(file);
    let (dialect, dialect_why) = match opts.dialect {
        Some(d) => (d, "--dialect".to_string()),
        None => {
            let (d, why) = opts.unnamed_dialect();
            (d, why.to_string())
        }
    };
    Sequence {
        root,
        layout: LayoutKind::Script,
        layout_why: "a single script".into(),
        dialect,
        dialect_why,
        migrations: vec![Migration::new(
            String::new(),
            d.files[idx].name.clone(),
            whole_file_part(&d.files, idx),
            None,
        )],
        code_gaps: Vec::new(),
        schemas: None,
        placeholders: None,
        unwrapped: None,
    }
}

pub fn is_sql(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("sql"))
}

/// How much of a sequence whose dialect is settled (its path, its tool's
/// files) is read for signs of a database twice does not read.
const SETTLED_SNIFF_BYTES: usize = 256 * 1024;

/// Reads every input into files and sequences, the files' bytes from
/// `files`.
pub fn discover(inputs: &[Input], opts: &Options, files: &FileSource) -> Result<Discovered> {
    let mut w = Walker {
        opts,
        files,
        visited: std::collections::HashMap::new(),
        notices: Vec::new(),
        root: None,
        ignores: ignores::Ignores::default(),
        changelogs: Vec::new(),
        hidden: Vec::new(),
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
        if w.visited.contains_key(&n.canon) {
            w.notices.push(format!(
                "{shown}: already read as part of another folder given; read once"
            ));
            continue;
        }
        let mut out = Vec::new();
        let mut ancestors = Vec::new();
        w.root = Some(n.canon.clone());
        w.changelogs.clear();
        w.hidden.clear();
        w.walk(&n.path, &shown, &mut ancestors, &mut out)?;
        w.root = None;
        if out.is_empty() && !w.changelogs.is_empty() {
            w.notices.push(format!(
                "{shown}: no SQL migrations found in this folder: its Liquibase changelogs ({}) \
                 hold changesets of Liquibase's change types (`createTable`, `addColumn`, ...) or \
                 inline `<sql>`, not SQL files; twice reads SQL files (formatted SQL, and the files \
                 a changelog includes with `include` or `sqlFile`): `liquibase update-sql` prints \
                 the SQL Liquibase would run, which twice can check",
                w.changelogs.join(", ")
            ));
        } else if out.is_empty() && !w.hidden.is_empty() {
            let which = crate::words::first_of(&w.hidden, w.hidden.len(), 3);
            w.notices.push(format!(
                "{shown}: no SQL migrations found in this folder: hidden folders are not entered, \
                 and {which} {} SQL files (name {} to check it)",
                if w.hidden.len() == 1 { "holds" } else { "hold" },
                if w.hidden.len() == 1 { "it" } else { "one" },
            ));
        } else if out.is_empty() {
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
        if is_sql(&n.path) && w.visited.contains_key(&parent_canon) {
            w.notices.push(format!(
                "{shown}: already read as part of a folder given; read once"
            ));
            continue;
        }
        let file = match files.read(&n.path) {
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
            .map(|b| crate::source::os_text(b).into_owned())
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
                .map(|s| crate::source::os_text(s).into_owned())
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
        let bytes = match files.stdin() {
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
                    .map(|b| crate::source::os_text(b).into_owned())
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
    if opts.sequences.is_empty() {
        locations::join_location_trees(&mut builts, &mut w.notices);
        join_sibling_locations(&mut builts, &mut w.notices);
        join_callback_locations(&mut builts, &mut w.notices);
    }
    let mut d = Discovered {
        notices: std::mem::take(&mut w.notices),
        ..Discovered::default()
    };
    {
        // The projects around the folders, read once each.
        let mut projects = project::Projects::default();
        for b in builts {
            let offset = d.files.len();
            d.files.extend(b.files);
            let mut seq = b.sequence;
            // No --dialect and no dialect in the path: what the SQL itself
            // is written in, when it says so clearly.
            // (Not where pop or Liquibase picked files and changesets by
            // dialect, or the tool's own files or the path name it:
            // `dialect_settled` is set then; only a database twice does not
            // read, a ClickHouse folder beside a crate whose Cargo.toml
            // names diesel's `postgres`, outweighs them. `--dialect` is
            // never second-guessed.)
            if !b.dialect_settled || opts.dialect.is_none() {
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
                // Texts are scanned on `--jobs` threads, their signs added
                // in order.
                let mut texts: Vec<&str> = if b.dialect_settled {
                    // Settled: only a database twice does not read could
                    // outweigh it, and such a history shows its signs from
                    // its first files: up to 256 KiB of them are read.
                    let mut budget = SETTLED_SNIFF_BYTES;
                    texts
                        .take_while(|t| {
                            let go = budget > 0;
                            budget = budget.saturating_sub(t.len());
                            go
                        })
                        .collect()
                } else {
                    texts.collect()
                };
                let signs =
                    crate::parallel::map(opts.jobs, &mut texts, |_, t| crate::sniff::signs_of(t));
                let mut evidence = crate::sniff::Evidence::new();
                signs.into_iter().for_each(|s| evidence.add_signs(s));
                // A folder named for a database twice does not read
                // (`migrations/h2/`) is that database's, whatever its signs.
                // (Not a settled folder: its path or tool named a dialect.)
                let in_path = (!b.dialect_settled)
                    .then(|| crate::sniff::unsupported_in_path(&seq.root))
                    .flatten();
                let verdict = match in_path {
                    Some(family) => Verdict::Unsupported {
                        family,
                        signs: "the folder name".into(),
                    },
                    None => evidence.verdict(),
                };
                let settled = b.dialect_settled && !matches!(verdict, Verdict::Unsupported { .. });
                match verdict {
                    _ if settled => {}
                    // The SQL names no dialect: the project's driver may.
                    Verdict::Unknown => {
                        if let Some((dialect, why)) = projects.dialect(&seq.root) {
                            seq.dialect_why = format!("the SQL names no dialect; {why}");
                            if dialect != seq.dialect {
                                d.notices.push(format!(
                                    "{}: read as {dialect}: the SQL names no dialect, and {why} (pass --dialect to choose another)",
                                    seq.root
                                ));
                                seq.dialect = dialect;
                            }
                        }
                    }
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
                    Verdict::Tie { signs } => match projects.dialect(&seq.root) {
                        // The project's driver breaks the tie.
                        Some((dialect, why)) => {
                            seq.dialect_why = format!(
                                "the SQL shows signs of more than one dialect, none clearly ahead: {signs}; {why}"
                            );
                            d.notices.push(format!(
                                "{}: read as {dialect}: the SQL shows signs of more than one dialect, none clearly ahead: {signs}; {why} (pass --dialect to choose another)",
                                seq.root
                            ));
                            seq.dialect = dialect;
                        }
                        None => {
                            seq.dialect_why = format!(
                            "{}; the SQL shows signs of more than one dialect, none clearly ahead: {signs}",
                            seq.dialect_why
                        );
                            d.notices.push(format!(
                            "{}: read as {}: the SQL shows signs of more than one dialect, none clearly ahead: {signs}; pass --dialect to decide",
                            seq.root, seq.dialect
                        ))
                        }
                    },
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
            // Whether the tool wraps each migration in a transaction, once
            // the dialect is known (golang-migrate: on SQLite only).
            let layout = crate::layout::get(seq.layout);
            let wraps = layout.wraps_migrations_in(seq.dialect);
            let retx = wraps != layout.wraps_migrations();
            for m in &mut seq.migrations {
                m.up.file += offset;
                if let Some(down) = &mut m.down {
                    down.file += offset;
                }
                if retx {
                    for p in std::iter::once(&mut m.up).chain(m.down.as_mut()) {
                        p.tool_transaction = wraps && !p.no_transaction;
                    }
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
    one_name_per_file(&d.files)?;
    Ok(d)
}

/// Findings, fixes and baselines find a file by its name: two different
/// files that print as the same name (a name with bytes that are not UTF-8
/// beside one spelling them `\xFF`) would hide each other's findings and
/// could take each other's fixes, so the check stops and says which.
fn one_name_per_file(files: &[SourceFile]) -> Result<()> {
    let mut by_name: HashMap<&str, &Path> = HashMap::with_capacity(files.len());
    for f in files {
        let Some(path) = f.path.as_deref() else {
            continue;
        };
        match by_name.insert(f.name.as_str(), path) {
            Some(other) if other != path => {
                return Err(Error::new(format!(
                    "{}: two different files print as this name (bytes of a name that are \
                     not UTF-8 print as `\\xFF`); twice tells files apart by their printed \
                     name, so rename one of them",
                    crate::escape::printable(&f.name),
                )))
            }
            _ => {}
        }
    }
    Ok(())
}

pub use crate::sniff::sniff_dialect;

/// Moves the files of `b` (and what points into them) into `joined`;
/// returns `b`'s migrations, pointing at their files' new places.
fn append_files(joined: &mut Built, b: Built) -> Vec<Migration> {
    let offset = joined.files.len();
    joined.files.extend(b.files);
    let mut migrations = b.sequence.migrations;
    for m in &mut migrations {
        m.up.file += offset;
        if let Some(d) = &mut m.down {
            d.file += offset;
        }
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
    migrations
}

/// Sibling folders of a tool that reads several locations as one history
/// ordered by version (Flyway: `locations=db/migration,db/migration_data`,
/// [`crate::layout::Layout::location_key`]) are joined when they look like
/// one: same parent folder, layout and dialect, no version shared, and each
/// smaller folder only versioned migrations starting after the largest
/// folder's first (`V13.2__backfill.sql` beside `V1__init.sql` ...
/// `V18__x.sql`), not a history of its own from `V1`. Their migrations run
/// in version order, as the tool runs them; a notice says so.
fn join_sibling_locations(builts: &mut Vec<Built>, notices: &mut Vec<String>) {
    type Key = Vec<String>;
    let keys = |b: &Built| -> Option<Vec<Option<Key>>> {
        let tool = layout::get(b.sequence.layout);
        let k: Vec<Option<Key>> = b
            .sequence
            .migrations
            .iter()
            .map(|m| tool.location_key(m))
            .collect();
        k.iter().any(Option::is_some).then_some(k)
    };
    let mut i = 0;
    while i < builts.len() {
        let (Some(main_keys), Some(dir)) = (keys(&builts[i]), parent_folder(&builts[i])) else {
            i += 1;
            continue;
        };
        let tool = layout::get(builts[i].sequence.layout);
        let main_min = main_keys
            .iter()
            .flatten()
            .min_by(|a, b| tool.key_cmp(a, b))
            .cloned();
        let mut taken: HashSet<Key> = main_keys.iter().flatten().cloned().collect();
        let mut extras: Vec<usize> = Vec::new();
        for (j, b) in builts.iter().enumerate() {
            if j == i
                || b.sequence.layout != builts[i].sequence.layout
                || b.sequence.dialect != builts[i].sequence.dialect
                || b.sequence.migrations.len() >= builts[i].sequence.migrations.len()
                || parent_folder(b).as_ref() != Some(&dir)
            {
                continue;
            }
            let Some(k) = keys(b) else { continue };
            let all: Option<Vec<Key>> = k.into_iter().collect();
            let Some(all) = all else { continue };
            let after_start = main_min.as_ref().is_some_and(|min| {
                all.iter()
                    .all(|x| tool.key_cmp(x, min) == std::cmp::Ordering::Greater)
            });
            if after_start && !all.iter().any(|x| taken.contains(x)) {
                taken.extend(all);
                extras.push(j);
            }
        }
        if extras.is_empty() {
            i += 1;
            continue;
        }
        let roots: Vec<String> = extras
            .iter()
            .map(|&j| builts[j].sequence.root.clone())
            .collect();
        let mut moved: Vec<Built> = Vec::new();
        for &j in extras.iter().rev() {
            moved.push(builts.remove(j));
        }
        let at = i - extras.iter().filter(|&&j| j < i).count();
        let joined = &mut builts[at];
        let mut incoming: Vec<(Key, Migration)> = Vec::new();
        for b in moved.into_iter().rev() {
            for m in append_files(joined, b) {
                if let Some(k) = tool.location_key(&m) {
                    incoming.push((k, m));
                }
            }
        }
        // Each before the first migration of a later version, else after
        // the last versioned one (repeatables and callbacks after); of equal
        // versions, the main folder's first. One merge: inserting them one
        // by one, each looked for from the start, took minutes for two
        // locations of 10,000 migrations.
        incoming.sort_by(|a, b| tool.key_cmp(&a.0, &b.0));
        let old = std::mem::take(&mut joined.sequence.migrations);
        let keys: Vec<Option<Key>> = old.iter().map(|x| tool.location_key(x)).collect();
        let last_keyed = keys.iter().rposition(Option::is_some);
        let mut pending = incoming.into_iter().peekable();
        let mut merged: Vec<Migration> = Vec::with_capacity(old.len() + pending.len());
        if last_keyed.is_none() {
            merged.extend(pending.by_ref().map(|(_, m)| m));
        }
        for (at, (x, kx)) in old.into_iter().zip(keys).enumerate() {
            if let Some(kx) = &kx {
                while let Some((_, m)) =
                    pending.next_if(|(k, _)| tool.key_cmp(kx, k) == std::cmp::Ordering::Greater)
                {
                    merged.push(m);
                }
            }
            merged.push(x);
            if Some(at) == last_keyed {
                merged.extend(pending.by_ref().map(|(_, m)| m));
            }
        }
        joined.sequence.migrations = merged;
        notices.push(format!(
            "{}: read with {} as one history: {} runs the migrations of all its locations in \
             version order, and their versions interleave (use [[sequence]] in twice.toml to \
             say otherwise)",
            joined.sequence.root,
            roots.join(", "),
            joined.sequence.layout.name()
        ));
        joined.sequence.layout_why = format!(
            "{}; joined with sibling locations {}",
            joined.sequence.layout_why,
            roots.join(", ")
        );
        i = at + 1;
    }
}

/// A sibling folder whose migrations all run in slots of another history
/// ([`crate::layout::Layout::location_slot`]: a Flyway callback location,
/// `callbacks/` beside `migrations/`) is joined to the one history of the
/// same layout and dialect in the same parent folder that has migrations of
/// its own, each migration in its slot (after the ones of that slot already
/// there). With no such history, or several, it stays on its own.
fn join_callback_locations(builts: &mut Vec<Built>, notices: &mut Vec<String>) {
    let mut i = 0;
    while i < builts.len() {
        let tool = layout::get(builts[i].sequence.layout);
        let slots: Option<Vec<u8>> = builts[i]
            .sequence
            .migrations
            .iter()
            .map(|m| tool.location_slot(m))
            .collect();
        let (Some(slots), Some(dir)) = (slots, parent_folder(&builts[i])) else {
            i += 1;
            continue;
        };
        if slots.is_empty() {
            i += 1;
            continue;
        }
        let homes: Vec<usize> = (0..builts.len())
            .filter(|&j| {
                let b = &builts[j];
                j != i
                    && b.sequence.layout == builts[i].sequence.layout
                    && b.sequence.dialect == builts[i].sequence.dialect
                    && b.sequence
                        .migrations
                        .iter()
                        .any(|m| tool.location_slot(m).is_none())
                    && parent_folder(b).as_ref() == Some(&dir)
            })
            .collect();
        let [home] = homes[..] else {
            i += 1;
            continue;
        };
        let b = builts.remove(i);
        let root = b.sequence.root.clone();
        let home = if home > i { home - 1 } else { home };
        let joined = &mut builts[home];
        for (m, slot) in append_files(joined, b).into_iter().zip(slots) {
            let migrations = &joined.sequence.migrations;
            let pos = match slot {
                0 => migrations
                    .iter()
                    .position(|x| tool.location_slot(x) != Some(0))
                    .unwrap_or(migrations.len()),
                1 => migrations
                    .iter()
                    .rposition(|x| {
                        tool.location_key(x).is_some()
                            || tool.location_slot(x).is_some_and(|s| s <= 1)
                    })
                    .map_or(0, |p| p + 1),
                _ => migrations.len(),
            };
            joined.sequence.migrations.insert(pos, m);
        }
        notices.push(format!(
            "{}: read with {root} as one history: its files are all {} callbacks, which run in \
             the history's migrate (use [[sequence]] in twice.toml to say otherwise)",
            joined.sequence.root,
            joined.sequence.layout.name()
        ));
        joined.sequence.layout_why = format!(
            "{}; joined with the callback location {root}",
            joined.sequence.layout_why
        );
        // `i` now holds the next sequence.
    }
}

/// The folder a sequence's root is in (its canonical path's parent).
fn parent_folder(b: &Built) -> Option<std::path::PathBuf> {
    std::fs::canonicalize(&b.sequence.root)
        .ok()
        .and_then(|c| c.parent().map(Path::to_path_buf))
}

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
            let migrations = append_files(&mut joined, b);
            joined.sequence.migrations.extend(migrations);
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
        // The folder that names it, for the plan's why.
        use crate::dialect::dialect_folder_in_path as folder;
        assert_eq!(
            folder("migrations/sqlite/2020-08-02-025025_add_favorites_table"),
            Some((Dialect::Sqlite, "migrations/sqlite"))
        );
        assert_eq!(
            folder("db/postgres/"),
            Some((Dialect::Postgres, "db/postgres"))
        );
        assert_eq!(
            folder("/srv/app/mysql-migrations/./v1"),
            Some((Dialect::Mysql, "/srv/app/mysql-migrations"))
        );
        assert_eq!(folder("db/migrations"), None);
        assert_eq!(folder("/"), None);
        assert_eq!(folder(""), None);
        for p in [
            "db/migrations",
            "mysql/postgresql",
            "a\\sqlite\\x",
            "generic",
            "../pg/x",
        ] {
            assert_eq!(folder(p).map(|(d, _)| d), dialect_from_path(p), "{p}");
        }
    }

    #[test]
    fn files_that_vanish_after_listing_are_notices() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("1_a.sql"), "SELECT 1;").unwrap();
        std::fs::write(d.path().join("2_b.sql"), "SELECT 2;").unwrap();
        let opts = Options::default();
        let mut w = Walker {
            opts: &opts,
            files: &FileSource::disk(),
            visited: std::collections::HashMap::new(),
            notices: Vec::new(),
            root: None,
            ignores: ignores::Ignores::default(),
            changelogs: Vec::new(),
            hidden: Vec::new(),
        };
        let listing = w.list_at(d.path(), None, "m").unwrap().unwrap();
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
