//! Migration layouts: how each tool names, orders and splits its migration
//! files. Each tool is one file here implementing [`Layout`] (detection,
//! side files and sub-folders, planning, skip reasons, placeholder policy,
//! the dialect its own files name, checksum advice), listed once in
//! [`registry`]. Discovery ([`crate::discover`]) reads a folder into a
//! [`Folder`] (with the side files the layouts ask for), [`detect::detect`]
//! asks the layouts in registry order, and the layout's `plan` turns the
//! folder into ordered [`Migration`]s whose parts point at regions of the
//! folder's files. Discovery knows no layout by name.
//!
//! Every layout follows the tool that runs it (see each module's docs for
//! the rules and the tool behaviour they copy). Files a layout does not
//! recognise are skipped with a reason that discovery shows as a notice;
//! files the tool itself would refuse (a dbmate file without
//! `-- migrate:up`, two Flyway migrations with one version, ...) become
//! `malformed-migration` findings.

use crate::dialect::Dialect;
use crate::model::{LayoutKind, Migration, Part, Region};
use crate::placeholder::Scope;
use crate::source::SourceFile;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Range;

pub mod atlas;
pub mod db_migrate;
pub mod dbmate;
pub mod detect;
pub mod diesel;
pub mod drizzle;
pub mod flyway;
pub mod golang_migrate;
pub mod goose;
pub mod graphile;
pub mod liquibase;
pub mod maragu;
pub mod mybatis;
pub mod node_pg_migrate;
pub mod plain;
pub mod play;
pub mod pop;
pub mod postgrator;
pub mod prisma;
pub mod refinery;
pub mod schema_delta;
pub mod sqitch;
pub mod sql_migrate;
pub mod sqlx;
pub mod supabase;
pub mod temporal;
pub mod tern;
pub mod up_down;
pub mod version_folders;
pub mod yoyo;

/// One SQL file of a migration folder, read.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Path relative to the folder with `/` separators: `V1__x.sql`,
    /// `2024-01-01-000000_create_users/up.sql`, `2024/V5__y.sql`.
    pub rel: String,
    pub file: SourceFile,
    /// The layouts whose line marks the file's text carries.
    pub marks: Marks,
}

impl Entry {
    /// The entry of `file`, its text's marks found (see [`Marks::of`]).
    pub fn new(rel: String, file: SourceFile) -> Entry {
        let marks = Marks::of(&file.text);
        Entry::with_marks(rel, file, marks)
    }

    /// The entry of `file`, whose text's marks `marks` holds (found on the
    /// thread that read it).
    pub fn with_marks(rel: String, file: SourceFile, marks: Marks) -> Entry {
        Entry { rel, file, marks }
    }

    /// The last path component.
    pub fn base(&self) -> &str {
        self.rel.rsplit('/').next().unwrap_or(&self.rel)
    }

    /// The folder part of `rel` (empty for a file directly in the folder).
    pub fn dir(&self) -> &str {
        self.rel.rsplit_once('/').map_or("", |(d, _)| d)
    }
}

/// The layouts whose mark ([`Layout::line_mark`]) some line of a file
/// carries: found in one pass over the file's text for every layout, on the
/// thread that reads the file, so that detection asks each file once and
/// not once per layout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marks(Box<[LayoutKind]>);

impl Marks {
    /// The marks of `text`: its lines (split at `\n`) that hold `--` or `#`,
    /// tested for the mark of every layout of the [`registry`] that has one.
    pub fn of(text: &str) -> Marks {
        type Test = (LayoutKind, fn(&str) -> bool);
        static TESTS: std::sync::OnceLock<Vec<Test>> = std::sync::OnceLock::new();
        let tests = TESTS.get_or_init(|| {
            registry()
                .iter()
                .filter_map(|l| l.line_mark().map(|t| (l.kind(), t)))
                .collect()
        });
        let mut found: Vec<LayoutKind> = Vec::new();
        for line in comment_lines(text) {
            for (kind, test) in tests {
                if !found.contains(kind) && test(line) {
                    found.push(*kind);
                }
            }
        }
        Marks(found.into_boxed_slice())
    }

    /// Whether a line carries the mark of the layout `kind`.
    pub fn has(&self, kind: LayoutKind) -> bool {
        self.0.contains(&kind)
    }
}

/// One entry of a folder as discovery listed it (see [`Layout::claims_dir`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    /// A folder, links followed (`false` when that could not be told).
    pub is_dir: bool,
}

/// The lines of `text` (split at `\n`) that hold `--` or `#`, in order:
/// found by searching for the signs (`memchr`), not by looking at every
/// line.
fn comment_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut starts: Vec<usize> = Vec::new();
    for (sign, twice) in [('-', true), ('#', false)] {
        let mut at = 0;
        while let Some(i) = text[at..].find(sign).map(|i| at + i) {
            if twice && text.as_bytes().get(i + 1) != Some(&b'-') {
                at = i + 1;
                continue;
            }
            starts.push(text[..i].rfind('\n').map_or(0, |n| n + 1));
            at = text[i..].find('\n').map_or(text.len(), |n| i + n + 1);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts.into_iter().map(move |s| {
        let end = text[s..].find('\n').map_or(text.len(), |n| s + n);
        &text[s..end]
    })
}

/// Natural order of file names: digit runs compare as numbers, so
/// `2_x.sql` < `10_x.sql` and `V1.9` < `V1.10`; leading zeros do not count
/// (`0002_x` < `00010_y`, as tools that parse the number read them), other
/// text compares case-insensitively, and names equal so far compare byte by
/// byte.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn runs(s: &str) -> impl Iterator<Item = (bool, &str)> {
        let bytes = s.as_bytes();
        let mut i = 0;
        std::iter::from_fn(move || {
            if i >= bytes.len() {
                return None;
            }
            let digit = bytes[i].is_ascii_digit();
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() == digit {
                i += 1;
            }
            // Runs end at ASCII digits, so `i` is a char boundary.
            Some((digit, &s[start..i]))
        })
    }
    let (mut x, mut y) = (runs(a), runs(b));
    loop {
        let o = match (x.next(), y.next()) {
            (None, None) => break,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some((true, p)), Some((true, q))) => numeric_cmp(p, q),
            (Some((_, p)), Some((_, q))) => p
                .chars()
                .map(|c| c.to_ascii_lowercase())
                .cmp(q.chars().map(|c| c.to_ascii_lowercase())),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.cmp(b)
}

/// A migration folder as discovery hands it to a layout.
#[derive(Clone, Debug)]
pub struct Folder {
    /// The folder as the user would write it.
    pub display: String,
    /// The SQL files, sorted by `rel` (byte order).
    pub entries: Vec<Entry>,
    /// Side files a layout reads for settings, by `rel`: Flyway's
    /// `V1__x.sql.conf`, diesel's `<migration>/metadata.toml`.
    pub aux: BTreeMap<String, String>,
    /// The dialect of the sequence (decides pop's and Liquibase's
    /// dialect-specific files).
    pub dialect: Dialect,
    /// A `Cargo.toml` sits beside the folder: a Rust crate's `migrations/`
    /// (tells sqlx apart from golang-migrate).
    pub cargo_crate: bool,
    /// The dialects the folder has files written for, as the layout says
    /// ([`Layout::variant_dialects`]); empty when it has none.
    pub variants: Vec<Dialect>,
    /// Discovery makes one sequence per dialect of `variants` (no
    /// `--dialect` chose one): files for the other dialects are read there.
    pub split: bool,
}

impl Default for Folder {
    fn default() -> Folder {
        Folder {
            display: String::new(),
            entries: Vec::new(),
            aux: BTreeMap::new(),
            dialect: Dialect::Sqlite,
            cargo_crate: false,
            variants: Vec::new(),
            split: false,
        }
    }
}

impl Folder {
    /// The index of the entry whose `rel` is `rel`: a binary search, as
    /// `entries` is sorted by `rel` (a plan that looks up every name a
    /// project file lists stays linear in the names: `sqitch.plan`,
    /// `_journal.json`, `.gmrc`, Liquibase includes).
    pub fn index_of(&self, rel: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|e| e.rel.as_str().cmp(rel))
            .ok()
    }
}

/// Something the migration tool itself would refuse; reported as a
/// `malformed-migration` finding on the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Index into [`Folder::entries`] (into the discovered files once
    /// discovery has placed them).
    pub file: usize,
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

/// What a layout makes of a folder.
#[derive(Debug, Default)]
pub struct Plan {
    /// In the order the tool runs them; `Part::file` indexes
    /// [`Folder::entries`].
    pub migrations: Vec<Migration>,
    /// Entries that are not migrations of this layout, with the reason.
    pub skipped: Vec<(usize, String)>,
    /// Other things to tell the user about this folder.
    pub notices: Vec<String>,
    pub problems: Vec<Problem>,
    /// Byte ranges of entries where placeholders are substituted from the
    /// environment (goose `-- +goose ENVSUB ON`).
    pub envsub: Vec<(usize, Range<usize>)>,
    /// (entry, region start, text): the statement that ends the region
    /// continues with `text`, which lies outside any region (Liquibase
    /// `--rollback` lines joined into one statement).
    pub continuations: Vec<(usize, usize, String)>,
    /// Entries whose text the tool fills in before running it in a way twice
    /// cannot (tern's `{{ ... }}` templates), with what they are: they are
    /// not among `migrations` (replay cannot run them), and the static
    /// rules still read them.
    pub unresolvable: Vec<(usize, String)>,
    /// The schemas the tool creates before it migrates, as the project's
    /// settings name them (Flyway's `schemas`, read from the files above
    /// the folder): replay creates them first and runs in the first one.
    pub schemas: Option<crate::model::ToolSchemas>,
    /// The placeholder settings of the tool's configuration (Flyway's,
    /// read from the files above the folder).
    pub placeholders: Option<crate::model::ToolPlaceholders>,
}

impl Plan {
    pub fn problem(&mut self, file: usize, span: Range<usize>, message: String, help: &str) {
        self.problems.push(Problem {
            file,
            span,
            message,
            help: (!help.is_empty()).then(|| help.to_string()),
        });
    }
}

/// Where a layout's tool substitutes `${name}` placeholders (see
/// [`crate::placeholder`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaceholderPolicy {
    pub scope: Scope,
    /// The tool named in placeholder findings.
    pub tool: &'static str,
    /// Flyway's built-in `flyway:*` placeholders are defined.
    pub flyway_builtins: bool,
    /// An undefined `${name}` outside code is run as written (Liquibase,
    /// MyBatis Migrations); otherwise the tool refuses the statement
    /// (Flyway: "No value provided for placeholder") or runs something else
    /// (goose ENVSUB: an empty string), and replay leaves it out.
    pub undefined_runs_as_written: bool,
}

impl PlaceholderPolicy {
    /// The tool never substitutes: only `${...}` where code goes is flagged.
    pub const NEVER: PlaceholderPolicy = PlaceholderPolicy {
        scope: Scope::CodeOnly,
        tool: "the migration tool",
        flyway_builtins: false,
        undefined_runs_as_written: true,
    };
}

/// One migration tool's way of laying out, ordering and splitting its
/// migrations. Each tool is one file of this module implementing it, listed
/// once in [`registry`]; discovery asks the layouts and knows none of them
/// by name.
pub trait Layout: Sync {
    /// The layout's name (`--layout NAME`, `summary.sequences[].layout`).
    fn kind(&self) -> LayoutKind;

    /// Whether `folder` is this tool's, with the sign that says so (shown
    /// by `twice plan`). Layouts are asked in [`registry`] order and the
    /// first that answers wins.
    fn detect(&self, folder: &Folder) -> Option<String>;

    /// The test of whether `line` (one line of a file's text, split at
    /// `\n`: it may end with `\r`, or hold a lone one) carries the mark
    /// `detect` looks for in files' text (a `-- +goose` annotation, a
    /// `-- migrate:up` line); `None` when `detect` reads no file's text
    /// line by line. Run on every line of every file holding `--` or `#`
    /// (every such mark is a comment), on the thread that reads it;
    /// `detect` reads the answers from [`Entry::marks`].
    fn line_mark(&self) -> Option<fn(&str) -> bool> {
        None
    }

    /// The folder's migrations in the order the tool runs them.
    fn plan(&self, folder: &Folder) -> Plan;

    /// The folder's histories when it may hold several, each run against a
    /// database of its own (Liquibase: one per root changelog), with what
    /// makes each one (for `twice plan`; `None`: what [`Layout::detect`]
    /// said). Discovery makes one sequence of each. Files no history runs
    /// are in the first plan's `skipped`. The default: [`Layout::plan`].
    fn plans(&self, folder: &Folder) -> Vec<(Option<String>, Plan)> {
        vec![(None, self.plan(folder))]
    }

    /// A file that, inside a sub-folder, makes that sub-folder one migration
    /// of the folder above (diesel's `up.sql`, Prisma's `migration.sql`).
    fn migration_dir_file(&self) -> Option<&'static str> {
        None
    }

    /// A side file the layout reads for settings (`rel` is relative to the
    /// migrations folder): Flyway's `V1__x.sql.conf`, diesel's
    /// `<migration>/metadata.toml`. Discovery reads these into
    /// [`Folder::aux`] before detection.
    fn reads_side_file(&self, _rel: &str) -> bool {
        false
    }

    /// SQL that stands in for the platform the tool's migrations are written
    /// against (Supabase's roles, `auth` and `storage` schemas), run as a
    /// setup script before the first migration when no setup script is
    /// given and replay runs on its own throwaway server. `None` (the
    /// default): the migrations need nothing but the database.
    fn platform_setup(&self, _engine: Dialect) -> Option<&'static str> {
        None
    }

    /// Files the layout reads from the folders above the migrations folder
    /// (the nearest one, up to a few levels): sqlx's and diesel's
    /// `Cargo.toml`, Supabase's `config.toml`. Discovery reads each into
    /// [`Folder::aux`] as `../<name>`.
    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &[]
    }

    /// Sub-folders of the migrations folder that hold only side files
    /// (Drizzle's `meta/`): their files the layout reads go into
    /// [`Folder::aux`] as `<dir>/<name>`, and the folder is not walked.
    fn side_dirs(&self) -> &'static [&'static str] {
        &[]
    }

    /// A file in a sub-folder the layout absorbs ([`Layout::absorbs_subfolder`])
    /// that it reads for what the file names (Liquibase's changelogs there,
    /// which include more files), into [`Folder::aux`]; unlike
    /// [`Layout::reads_side_file`]'s, such a file is reported as skipped
    /// unless [`Layout::uses_side_file`] says it is used.
    fn reads_nested_side_file(&self, _rel: &str) -> bool {
        false
    }

    /// Whether a side file read into `folder` is used by this layout (then
    /// it is not reported as skipped).
    fn uses_side_file(&self, rel: &str, _folder: &Folder) -> bool {
        self.reads_side_file(rel)
    }

    /// Sub-folders (by path relative to the migrations folder, `a` then
    /// `a/b`) whose files the tool reads as part of this folder's sequence
    /// (Flyway scans its locations recursively; Sqitch reads `deploy/`,
    /// `revert/`, `verify/`). Otherwise sub-folders are walked on their own.
    fn absorbs_subfolder(&self, _rel: &str, _folder: &Folder) -> bool {
        false
    }

    /// Whether the folder at `dir` is this tool's by the shape of its
    /// sub-folders alone (the `delta/<N>/` and `full_schemas/<N>/` folders
    /// of the `schema-delta` layout), with the sign that says so; such a
    /// folder is read in this layout even without SQL files of its own.
    /// `listed` is every entry of `dir` as discovery listed it (in the order
    /// the file system gave them), so that the folder is not listed again.
    fn claims_dir(&self, _dir: &std::path::Path, _listed: &[Listed]) -> Option<String> {
        None
    }

    /// The dialects the folder has files written for (`x.sql.postgres`,
    /// `x.sql.sqlite`): without `--dialect`, discovery plans the folder
    /// once for each, one sequence per dialect. Empty: one sequence.
    fn variant_dialects(&self, _folder: &Folder) -> Vec<Dialect> {
        Vec::new()
    }

    /// With variants: the dialect of the files named for no database, when
    /// they are what the other databases run (`ddl.sql` beside
    /// `ddl.postgresql.sql`) and their SQL names one the file names do not
    /// give: one more sequence, of that dialect. With why.
    fn shared_dialect(&self, _folder: &Folder) -> Option<(Dialect, String)> {
        None
    }

    /// Whether a file of this name may make its folder a migrations folder
    /// of this layout even without SQL files beside it (Sqitch's
    /// `sqitch.plan`, a Liquibase changelog); the layout reads it as a side
    /// file and its `detect` decides.
    fn project_file(&self, _name: &str) -> bool {
        false
    }

    /// Why a file that is not `.sql` is not read in this layout (`None`:
    /// "not a `<layout>` migration").
    fn skip_reason(&self, _name: &str) -> Option<String> {
        None
    }

    /// Where the tool substitutes placeholders; `envsub` is true for a
    /// region the plan marked as substituted from the environment
    /// ([`Plan::envsub`]).
    /// The tool runs each migration inside a transaction of its own (unless
    /// the migration says otherwise: [`crate::model::Part::no_transaction`]).
    /// A migration's `COMMIT` then ends the tool's transaction and its
    /// `BEGIN` opens the next, which the tool commits at the end.
    fn wraps_migrations(&self) -> bool {
        false
    }

    /// Whether the tool, which wraps migrations in a transaction, runs a
    /// migration holding a statement PostgreSQL refuses inside one
    /// (`CREATE INDEX CONCURRENTLY`, `VACUUM`, ...:
    /// [`crate::classify::control::refused_in_transaction`]) outside a
    /// transaction by itself, as Flyway does on PostgreSQL. The other tools
    /// that wrap run it in their transaction, where the server refuses it,
    /// unless the migration is marked to run outside one (goose `NO
    /// TRANSACTION`, ...), and replay reports that refusal.
    fn runs_refused_outside(&self) -> bool {
        false
    }

    /// How a migration is marked to run outside the tool's transaction
    /// (goose `-- +goose NO TRANSACTION`), for help on a statement
    /// PostgreSQL refuses inside one; `None` when the tool has no way.
    fn outside_transaction_marker(&self) -> Option<&'static str> {
        None
    }

    /// [`Layout::wraps_migrations`] once the sequence's dialect is known,
    /// for a tool whose drivers differ (golang-migrate wraps each file in a
    /// transaction on SQLite only).
    fn wraps_migrations_in(&self, _dialect: crate::dialect::Dialect) -> bool {
        self.wraps_migrations()
    }

    /// Why the tool runs the migrations of `seq` in no transaction of its
    /// own although [`Layout::wraps_migrations_in`] says it wraps them: the
    /// project turned the wrapping off (golang-migrate's `NoTxWrap`), or the
    /// migrations open their own, which they could not inside the tool's.
    /// `statements`: every file's analysed statements. `None`: it wraps them.
    fn unwrapped(
        &self,
        _seq: &crate::model::Sequence,
        _statements: &[Vec<crate::analysis::Statement>],
    ) -> Option<String> {
        None
    }

    fn placeholders(&self, _envsub: bool) -> PlaceholderPolicy {
        PlaceholderPolicy::NEVER
    }

    /// The version of a migration written in a language twice cannot run
    /// (a goose `.go` migration, a Synapse `.py` delta), by its path
    /// relative to the folder: replay runs without it, and says so on a
    /// first-run failure after it.
    fn code_migration(&self, _rel: &str) -> Option<String> {
        None
    }

    /// For a tool that reads several folders (locations) as one history
    /// ordered by version (Flyway), the version of a versioned migration as
    /// the tool orders it; `None` for the others (repeatables, callbacks)
    /// and for tools that read one folder. Discovery joins sibling folders
    /// whose versions interleave.
    fn location_key(&self, _m: &Migration) -> Option<Vec<String>> {
        None
    }

    /// For a tool that reads several folders (locations) as one history,
    /// where a migration of a folder that holds only such migrations runs in
    /// the history of a sibling folder: 0 before every migration, 1 after the
    /// versioned ones (before the repeatables), 2 after everything (Flyway's
    /// `beforeMigrate`, `afterVersioned`, `afterMigrate` callbacks). `None`
    /// for the others. Discovery joins a sibling folder holding only such
    /// migrations to the one history beside it (a callback location).
    fn location_slot(&self, _m: &Migration) -> Option<u8> {
        None
    }

    /// The tool's order of two [`Layout::location_key`]s.
    fn key_cmp(&self, a: &[String], b: &[String]) -> Ordering {
        a.cmp(b)
    }

    /// Text the tool replaces in a file before running it, whatever the
    /// placeholder syntax, with what it becomes in `dialect` (Synapse's
    /// `$%AUTO_INCREMENT_PRIMARY_KEY%$`).
    fn text_macros(&self, _dialect: Dialect) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// The SQL that creates the tool's own bookkeeping tables on a database
    /// of `engine` (the dialect of the replay engine), as the tool's driver
    /// for that database creates them; `None`: the tool keeps none, or twice
    /// does not create it. Replay runs it before the first migration and
    /// outside any observed run, so migrations that read or alter the table
    /// (one real migration alters `schema_migrations`) run as they do in
    /// production, and the table is never reported as a migration's change.
    fn bookkeeping_sql(&self, _engine: Dialect) -> Option<&'static str> {
        None
    }

    /// What to tell a user whose applied migrations `--fix` edited, when the
    /// tool records checksums of applied migrations.
    fn checksum_advice(&self) -> Option<&'static str> {
        None
    }

    /// The dialect the tool's own files name (Prisma's
    /// `migration_lock.toml`, ...), with the file that says so.
    fn dialect(&self, _folder: &Folder) -> Option<(Dialect, String)> {
        None
    }

    /// The tool picks this folder's files or changesets by dialect (pop's
    /// dialect files, Liquibase's `dbms` filters): the dialect must not be
    /// changed after planning from the SQL's signs.
    fn picks_by_dialect(&self, _folder: &Folder) -> bool {
        false
    }
}

/// Every layout, in detection order. Adding a layout: its file, one line
/// here, and fixtures.
pub fn registry() -> &'static [&'static dyn Layout] {
    &[
        &sqitch::Sqitch,
        &diesel::Diesel,
        &prisma::Prisma,
        &liquibase::Liquibase,
        &goose::Goose,
        &sql_migrate::SqlMigrate,
        &tern::Tern,
        &dbmate::Dbmate,
        &node_pg_migrate::NodePgMigrate,
        &drizzle::Drizzle,
        &supabase::Supabase,
        &graphile::Graphile,
        &schema_delta::SchemaDelta,
        &temporal::TemporalSql,
        &version_folders::VersionFolders,
        &refinery::Refinery,
        &flyway::Flyway,
        &maragu::MaraguMigrate,
        &pop::Pop,
        &atlas::Atlas,
        &sqlx::Sqlx,
        &golang_migrate::GolangMigrate,
        &postgrator::Postgrator,
        &db_migrate::DbMigrate,
        &yoyo::Yoyo,
        &mybatis::Mybatis,
        &play::PlayEvolutions,
        &up_down::UpDown,
        &plain::Plain,
    ]
}

/// The layout of `kind` (`script` reads like `plain`).
pub fn get(kind: LayoutKind) -> &'static dyn Layout {
    if kind == LayoutKind::Script {
        return &plain::Script;
    }
    registry()
        .iter()
        .copied()
        .find(|l| l.kind() == kind)
        .unwrap_or(&plain::Plain)
}

/// The layout named `name` (as `--layout` takes it).
pub fn by_name(name: &str) -> Option<LayoutKind> {
    registry()
        .iter()
        .map(|l| l.kind())
        .find(|k| k.name() == name)
}

/// The names of every layout, in alphabetical order (for messages).
pub fn names() -> Vec<&'static str> {
    let mut n: Vec<&'static str> = registry().iter().map(|l| l.kind().name()).collect();
    n.sort_unstable();
    n
}

/// Turns `folder` into migrations the way `kind` does.
pub fn plan(kind: LayoutKind, folder: &Folder) -> Plan {
    get(kind).plan(folder)
}

/// The histories of `folder` in the layout `kind` (see [`Layout::plans`]).
pub fn plans(kind: LayoutKind, folder: &Folder) -> Vec<(Option<String>, Plan)> {
    get(kind).plans(folder)
}

/// A part made of the whole of entry `file`.
pub fn whole(folder: &Folder, file: usize) -> Part {
    let len = folder.entries.get(file).map_or(0, |e| e.file.text.len());
    part(file, vec![region(0..len)])
}

pub fn part(file: usize, regions: Vec<Region>) -> Part {
    Part {
        file,
        regions,
        statements: Vec::new(),
        no_transaction: false,
        tool_transaction: false,
    }
}

pub fn region(range: Range<usize>) -> Region {
    Region {
        range,
        single_statement: false,
    }
}

/// One line of a text: `start..end` without the line ending, `next` is
/// where the following line starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    pub end: usize,
    pub next: usize,
}

/// The lines of `text` (`\n`, `\r\n` and a lone `\r` end a line, as in
/// [`SourceFile`]'s line index).
pub fn lines(text: &str) -> Vec<Line> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                out.push(Line {
                    start,
                    end: i,
                    next: i + 1,
                });
                start = i + 1;
            }
            b'\r' => {
                let next = if b.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                out.push(Line {
                    start,
                    end: i,
                    next,
                });
                start = next;
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if start < b.len() {
        out.push(Line {
            start,
            end: b.len(),
            next: b.len(),
        });
    }
    out
}

/// The dialect a Rust crate's `Cargo.toml` selects for `krate` (`sqlx`,
/// `diesel`): the one database feature among `postgres`, `sqlite` and
/// `mysql` in `[dependencies]` (or `[workspace.dependencies]`). `None` when
/// the crate is not a dependency or selects no or several databases.
/// Whether a `Cargo.toml` depends on `krate` (in `[dependencies]`,
/// `[dev-dependencies]`, `[build-dependencies]` or a workspace's
/// `[workspace.dependencies]`).
pub fn cargo_depends_on(cargo_toml: &str, krate: &str) -> bool {
    let Ok(table) = cargo_toml.parse::<toml::Table>() else {
        return false;
    };
    let has = |t: Option<&toml::Value>| t.and_then(|d| d.get(krate)).is_some();
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .any(|k| has(table.get(*k)))
        || has(table.get("workspace").and_then(|w| w.get("dependencies")))
}

pub fn cargo_feature_dialect(cargo_toml: &str, krate: &str) -> Option<(Dialect, String)> {
    let table: toml::Table = cargo_toml.parse().ok()?;
    let dep = table
        .get("dependencies")
        .and_then(|d| d.get(krate))
        .or_else(|| {
            table
                .get("workspace")
                .and_then(|w| w.get("dependencies"))
                .and_then(|d| d.get(krate))
        })?;
    let features: Vec<&str> = dep
        .get("features")
        .and_then(|f| f.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let mut found: Vec<(Dialect, &str)> = Vec::new();
    for f in features {
        let d = match f {
            "postgres" | "postgres_backend" | "tokio-postgres" => Dialect::Postgres,
            "sqlite" | "returning_clauses_for_sqlite_3_35" | "rusqlite" | "rusqlite-bundled" => {
                Dialect::Sqlite
            }
            "mysql" | "mysql_backend" | "mysql_async" => Dialect::Mysql,
            _ => continue,
        };
        if !found.iter().any(|(x, _)| *x == d) {
            found.push((d, f));
        }
    }
    match found.as_slice() {
        [(d, f)] => Some((
            *d,
            format!("the nearest Cargo.toml: {krate} with the `{f}` feature"),
        )),
        _ => None,
    }
}

/// The modules a `go.mod` requires, each with whether it is only an
/// indirect requirement (`// indirect`): the first word of each line, after
/// `require` or inside a `require (...)` block (other directives' first
/// words, `module`, `go`, `replace`, never match a module path).
pub fn go_requirements(go_mod: &str) -> impl Iterator<Item = (&str, bool)> {
    go_mod.lines().filter_map(|line| {
        let indirect = line.contains("// indirect");
        let line = line.split("//").next().unwrap_or("").trim();
        let line = line.strip_prefix("require").map_or(line, str::trim_start);
        line.split_whitespace().next().map(|m| (m, indirect))
    })
}

/// Whether a Go module path is `path` or a package below it
/// (`github.com/jackc/pgx/v5` is `github.com/jackc/pgx`'s).
pub fn go_module_is(module: &str, path: &str) -> bool {
    module
        .strip_prefix(path)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `x.sql.postgres` → postgres: a file written for one dialect (the last
/// extension names it, after `.sql`).
pub fn dialect_variant(name: &str) -> Option<Dialect> {
    let (stem, ext) = name.rsplit_once('.')?;
    if !ends_with_ci(stem, ".sql") {
        return None;
    }
    Dialect::from_name(ext).filter(|d| *d != Dialect::Generic)
}

/// Whether a file of this name is SQL: `.sql`, or `.sql.<dialect>`.
pub fn is_sql_name(name: &str) -> bool {
    ends_with_ci(name, ".sql") || dialect_variant(name).is_some()
}

/// Compares two strings of ASCII digits as numbers of any size.
pub fn numeric_cmp(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Compares versions split into numeric parts (`1.10` as `["1", "10"]`),
/// part by part as numbers of any size, a missing part counting as 0: the
/// order of Flyway's versions and of semantic versions.
pub fn parts_cmp<S: AsRef<str>>(a: &[S], b: &[S]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).map_or("0", AsRef::as_ref);
        let y = b.get(i).map_or("0", AsRef::as_ref);
        let o = numeric_cmp(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The leading ASCII digits of `s`.
pub fn leading_digits(s: &str) -> &str {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    &s[..n]
}

/// `<digits>_<rest>` → (`digits`, `rest`).
pub fn version_underscore(name: &str) -> Option<(&str, &str)> {
    let digits = leading_digits(name);
    if digits.is_empty() {
        return None;
    }
    name[digits.len()..]
        .strip_prefix('_')
        .map(|rest| (digits, rest))
}

/// Whether `s` (a file name) ends with `suffix`, ignoring ASCII case.
pub fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.is_char_boundary(s.len() - suffix.len())
        && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// `s` without `suffix` (ASCII case ignored).
pub fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    ends_with_ci(s, suffix).then(|| &s[..s.len() - suffix.len()])
}

/// `s` without `prefix` (ASCII case ignored).
pub fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Reports migrations that share a version: every tool here refuses to run
/// a folder with two migrations of one version. `key` gives the version as
/// the tool compares it; migrations must already be sorted by it.
pub fn duplicate_versions(
    plan: &mut Plan,
    folder: &Folder,
    tool: &str,
    key: impl Fn(&Migration) -> Option<String>,
) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for m in &plan.migrations {
        let Some(k) = key(m) else { continue };
        match seen.get(&k) {
            Some(&first) => problems.push(Problem {
                file: m.up.file,
                span: 0..0,
                message: format!(
                    "{tool} refuses to run this folder: version {} is used by both {} and {}",
                    m.version, folder.entries[first].rel, folder.entries[m.up.file].rel
                ),
                help: Some("give every migration its own version".into()),
            }),
            None => {
                seen.insert(k, m.up.file);
            }
        }
    }
    plan.problems.extend(problems);
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// Texts whose marks ([`Marks::of`], line by line) must agree with
    /// each layout's reading of the whole text: line ends `\n`, `\r\n` and
    /// a lone `\r`, marks inside lines and on the last line.
    pub const MARK_TEXTS: &[&str] = &[
        "",
        "CREATE TABLE t (a int);\n",
        "-- +goose Up\nCREATE TABLE t (a int);\n-- +goose Down\n",
        "x;\r-- +goose Up\r\n",
        "  -- +goose Up\n",
        "-- migrate:up\r\nCREATE TABLE t (a int);",
        "--migrate:up transaction:false",
        "-- migrate:upgrade\n",
        "select 1; -- migrate:up\n",
        "  -- +migrate Up\n",
        "-- +migrate down\r",
        "-- +migrate\n",
        "CREATE TABLE t (a int);\r-- //@UNDO\rDROP TABLE t;",
        "x;\n  --   //   @UNDO -- drop\n",
        "-- @UNDO\n",
        "---- Up Migration ----\r\n",
        "a;\r-- Up Migration\r",
        "-- Up\r\nMigration\n",
        "-- upmigration\n",
        "SELECT 1; -- up migration\n",
        "# --- !Ups\nCREATE TABLE u (id int);\n# --- !Downs\nDROP TABLE u;\n",
        "  -- !Ups\r\n",
        "SELECT '!Ups'",
        "a;\r# --- !Ups",
        "SELECT 1; ---- create above / drop below ----\n",
        "---- create above / drop below ----",
        "----\r---- create above / drop below ----",
        "SELECT -1, 'a-b';\n-- +goose Up\n#x\n-- migrate:up # and --\n",
        "a-\n-- +migrate Up",
        "-",
        "#",
        "--",
        "x #\n\n--+goose",
    ];

    /// A folder of in-memory files.
    pub fn folder(files: &[(&str, &str)]) -> Folder {
        let mut entries: Vec<Entry> = files
            .iter()
            .map(|(rel, text)| {
                Entry::new(
                    rel.to_string(),
                    SourceFile::from_text(format!("m/{rel}"), *text),
                )
            })
            .collect();
        entries.sort_by(|a, b| a.rel.cmp(&b.rel));
        Folder {
            display: "m".into(),
            entries,
            ..Folder::default()
        }
    }

    /// `version name` of each migration, in order.
    pub fn order(f: &Folder, p: &Plan) -> Vec<String> {
        p.migrations
            .iter()
            .map(|m| format!("{} {}", m.version, f.entries[m.up.file].rel))
            .collect()
    }

    /// The text of every region of a part, joined with `|`.
    pub fn texts(f: &Folder, part: &Part) -> String {
        let t = &f.entries[part.file].file.text;
        part.regions
            .iter()
            .map(|r| t[r.range.clone()].trim())
            .collect::<Vec<_>>()
            .join("|")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_lines_are_the_lines_holding_a_comment_sign() {
        for t in test_util::MARK_TEXTS {
            let want: Vec<&str> = t
                .split('\n')
                .filter(|l| l.contains("--") || l.contains('#'))
                .collect();
            assert_eq!(comment_lines(t).collect::<Vec<_>>(), want, "{t:?}");
        }
    }

    /// Every tool's bookkeeping table can be created on SQLite, and again
    /// (replay's set-up must itself survive a second run).
    #[test]
    fn bookkeeping_tables_create_on_sqlite_twice() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for l in registry() {
            if let Some(sql) = l.bookkeeping_sql(Dialect::Sqlite) {
                for _ in 0..2 {
                    db.execute_batch(sql)
                        .unwrap_or_else(|e| panic!("{:?}: {e}", l.kind()));
                }
            }
        }
        let tables: i64 = db
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(tables >= 10, "{tables} tables");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert_eq!(numeric_cmp("9", "10"), Ordering::Less);
        assert_eq!(numeric_cmp("0010", "9"), Ordering::Greater);
        assert_eq!(numeric_cmp("007", "7"), Ordering::Equal);
        assert_eq!(
            numeric_cmp("99999999999999999999999", "100000000000000000000000"),
            Ordering::Less
        );
    }

    #[test]
    fn lines_keep_offsets_for_every_line_ending() {
        let l = lines("a\r\nbc\rd\n\ne");
        let spans: Vec<(usize, usize)> = l.iter().map(|l| (l.start, l.end)).collect();
        assert_eq!(spans, vec![(0, 1), (3, 5), (6, 7), (8, 8), (9, 10)]);
    }

    #[test]
    fn cargo_features_name_the_dialect() {
        let toml = "[package]\nname = \"app\"\n[dependencies]\nsqlx = { version = \"0.8\", features = [\"runtime-tokio\", \"postgres\", \"macros\"] }\n";
        assert_eq!(
            cargo_feature_dialect(toml, "sqlx").map(|d| d.0),
            Some(Dialect::Postgres)
        );
        assert_eq!(cargo_feature_dialect(toml, "diesel"), None);
        let both = "[dependencies.diesel]\nversion = \"2\"\nfeatures = [\"sqlite\", \"mysql\"]\n";
        assert_eq!(cargo_feature_dialect(both, "diesel"), None);
        let ws =
            "[workspace.dependencies]\ndiesel = { version = \"2\", features = [\"sqlite\"] }\n";
        assert_eq!(
            cargo_feature_dialect(ws, "diesel").map(|d| d.0),
            Some(Dialect::Sqlite)
        );
        assert_eq!(cargo_feature_dialect("not toml [", "sqlx"), None);
    }

    #[test]
    fn version_prefixes() {
        assert_eq!(version_underscore("10_x_y.sql"), Some(("10", "x_y.sql")));
        assert_eq!(version_underscore("x_1.sql"), None);
        assert_eq!(version_underscore("10.sql"), None);
    }
}
