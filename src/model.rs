//! What discovery hands to the checks: files, and the migration sequences
//! (ordered up/down parts) that live in them.

use crate::dialect::Dialect;
use std::ops::Range;

/// How a folder of migrations is laid out, i.e. which tool runs it: the
/// name of a layout of the registry ([`crate::layout::registry`]), or
/// `script` for a single script read from stdin or named directly.
///
/// Each layout's file defines its own kind (`pub const KIND`); the
/// associated constants below name the layouts twice had before the
/// registry, so code written against them keeps reading the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LayoutKind(&'static str);

#[allow(non_upper_case_globals)]
impl LayoutKind {
    pub const Plain: LayoutKind = LayoutKind("plain");
    pub const Sqlx: LayoutKind = LayoutKind("sqlx");
    pub const GolangMigrate: LayoutKind = LayoutKind("golang-migrate");
    pub const Diesel: LayoutKind = LayoutKind("diesel");
    pub const Flyway: LayoutKind = LayoutKind("flyway");
    pub const Dbmate: LayoutKind = LayoutKind("dbmate");
    pub const Goose: LayoutKind = LayoutKind("goose");
    pub const Pop: LayoutKind = LayoutKind("pop");
    pub const Liquibase: LayoutKind = LayoutKind("liquibase");
    /// A single script read from stdin or named directly.
    pub const Script: LayoutKind = LayoutKind("script");

    /// A layout's kind from its name (as `--layout` takes it).
    pub const fn named(name: &'static str) -> LayoutKind {
        LayoutKind(name)
    }

    pub fn name(self) -> &'static str {
        self.0
    }
}

impl serde::Serialize for LayoutKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// A region of a file that belongs to a migration part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub range: Range<usize>,
    /// The region is one statement whatever `;` it holds
    /// (goose `StatementBegin` ... `StatementEnd`).
    pub single_statement: bool,
}

/// The up or the down half of a migration: regions of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// Index into [`crate::report::Workspace::files`].
    pub file: usize,
    pub regions: Vec<Region>,
    /// Indexes of the part's statements in the file's statement list, in order
    /// (filled in by analysis).
    pub statements: Vec<usize>,
    /// Runs outside a transaction (goose `NO TRANSACTION`, pop `.autocommit`,
    /// Postgres `CONCURRENTLY`, ...).
    pub no_transaction: bool,
    /// The tool runs the part inside a transaction of its own, which a
    /// `COMMIT` in the part may end and a `BEGIN` open again (drizzle's
    /// `COMMIT; PRAGMA foreign_keys=OFF; BEGIN;`): set after planning from
    /// [`crate::layout::Layout::wraps_migrations`], never with
    /// `no_transaction`.
    pub tool_transaction: bool,
}

/// The name a layout's text macro writes where its tool puts the current
/// database's name (graphile-migrate's `:DATABASE_NAME`): each engine sends
/// the name of the database replay runs in instead (quoted), so a `GRANT
/// CONNECT ON DATABASE :DATABASE_NAME` runs on the scratch database.
pub const CURRENT_DATABASE: &str = "twice_current_database__";

/// One migration: a version with an up part and maybe a down part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Version as the tool sees it (`20240101120000`, `1.10`, `R__views`).
    pub version: String,
    /// Human name (`create_users`).
    pub name: String,
    pub up: Part,
    pub down: Option<Part>,
    /// Set when the tool re-runs this migration by design (Flyway repeatable,
    /// Liquibase `runOnChange`/`runAlways`); the text is added to its findings.
    pub rerun_note: Option<String>,
    /// Applied once as the starting state (before `--since`/`--from`): no
    /// findings of its own, no second run, no down checks. A failure to
    /// apply is still reported, once, as such.
    pub apply_only: bool,
    /// Why the layout made this migration part of the starting state (a
    /// full schema snapshot the tool applies to a new database); said on a
    /// failure to apply it instead of [`APPLY_ONLY_NOTE`]. Set with
    /// `apply_only`.
    pub start_note: Option<String>,
    /// Files the tool runs right before this migration that twice cannot
    /// read (a Liquibase changelog of change types the master changelog
    /// includes between two SQL files): replay runs without them, and a
    /// first-run failure from here on says so (as [`Sequence::code_gaps`]).
    pub code_before: Vec<String>,
}

impl Migration {
    /// An ordinary migration: run by the tool once per database, audited,
    /// not re-run by design.
    pub fn new(version: String, name: String, up: Part, down: Option<Part>) -> Migration {
        Migration {
            version,
            name,
            up,
            down,
            rerun_note: None,
            apply_only: false,
            start_note: None,
            code_before: Vec::new(),
        }
    }

    /// This migration as part of the starting state, applied once and not
    /// audited (a full schema the tool applies to a new database), with
    /// `note` saying why on a failure to apply it.
    pub fn starting_state(mut self, note: impl Into<String>) -> Migration {
        self.apply_only = true;
        self.start_note = Some(note.into());
        self
    }

    /// This migration as one the tool runs again by design, with `note`
    /// added to its findings.
    pub fn rerun_by_design(mut self, note: impl Into<String>) -> Migration {
        self.rerun_note = Some(note.into());
        self
    }
}

/// The note on a failure to apply a migration of the starting state.
pub const APPLY_ONLY_NOTE: &str = "this migration is part of the starting state (unchanged since \
     --since REF, or before --from VERSION): it is applied once and not audited, but the \
     migrations after it need what it creates";

/// An ordered history of migrations that run against one database.
#[derive(Clone, Debug)]
pub struct Sequence {
    /// The folder (or file) as the user named it.
    pub root: String,
    pub layout: LayoutKind,
    /// Why the folder was read in this layout (`-- +goose Up` annotations,
    /// `--layout`, ...), for `twice plan`.
    pub layout_why: String,
    pub dialect: Dialect,
    /// What decided the dialect (`--dialect`, the folder name, a tool's
    /// file, the SQL's signs, or the default), for `twice plan`.
    pub dialect_why: String,
    pub migrations: Vec<Migration>,
    /// Migrations of this history that the tool runs and twice cannot (a
    /// goose `.go` migration, a Synapse `.py` delta), as (version, file):
    /// replay runs without them, and a first-run failure after one says so.
    pub code_gaps: Vec<(String, String)>,
    /// The schemas the migration tool creates before it migrates, as its
    /// settings name them (Flyway's `schemas`): replay creates them first,
    /// as twice's own set-up, and runs in the first one.
    pub schemas: Option<ToolSchemas>,
    /// The placeholder settings the migration tool's configuration gives
    /// (Flyway's `placeholders.<name>`, `placeholderReplacement`): values
    /// used like `--define` (which wins over them).
    pub placeholders: Option<ToolPlaceholders>,
    /// Why the tool runs these migrations in no transaction of its own
    /// although it wraps each migration in one by default
    /// ([`crate::layout::Layout::unwrapped`]), for `twice plan` and the help
    /// of a failure.
    pub unwrapped: Option<String>,
}

/// Schemas a migration tool's settings say it creates before migrating,
/// the first being the one migrations run in (Flyway's `schemas` with
/// `createSchemas`, its default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolSchemas {
    /// In the order given; never empty.
    pub names: Vec<String>,
    /// Where the setting was read (`flyway.schemas in ../pom.xml`).
    pub from: String,
}

/// Placeholder settings a migration tool's configuration gives (Flyway's
/// `placeholders.<name>`, `placeholderReplacement`, `placeholderPrefix`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolPlaceholders {
    /// Values by placeholder name.
    pub values: std::collections::BTreeMap<String, String>,
    /// Whether the tool replaces `${name}` at all: false when replacement
    /// is off (`placeholderReplacement=false`) or the placeholders are
    /// written another way (`placeholderPrefix=#(`): `${...}` is then
    /// plain text to the tool.
    pub dollar_braces: bool,
    /// Where the settings were read (`../flyway.conf`).
    pub from: String,
}
