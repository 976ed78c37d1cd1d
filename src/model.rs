//! What discovery hands to the checks: files, and the migration sequences
//! (ordered up/down parts) that live in them.

use crate::dialect::Dialect;
use std::ops::Range;

/// How a folder of migrations is laid out, i.e. which tool runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutKind {
    Plain,
    Sqlx,
    GolangMigrate,
    Diesel,
    Flyway,
    Dbmate,
    Goose,
    Pop,
    Liquibase,
    /// A single script read from stdin or named directly.
    Script,
}

impl LayoutKind {
    pub const ALL: [LayoutKind; 9] = [
        LayoutKind::Plain,
        LayoutKind::Sqlx,
        LayoutKind::GolangMigrate,
        LayoutKind::Diesel,
        LayoutKind::Flyway,
        LayoutKind::Dbmate,
        LayoutKind::Goose,
        LayoutKind::Pop,
        LayoutKind::Liquibase,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LayoutKind::Plain => "plain",
            LayoutKind::Sqlx => "sqlx",
            LayoutKind::GolangMigrate => "golang-migrate",
            LayoutKind::Diesel => "diesel",
            LayoutKind::Flyway => "flyway",
            LayoutKind::Dbmate => "dbmate",
            LayoutKind::Goose => "goose",
            LayoutKind::Pop => "pop",
            LayoutKind::Liquibase => "liquibase",
            LayoutKind::Script => "script",
        }
    }

    pub fn from_name(s: &str) -> Option<LayoutKind> {
        LayoutKind::ALL.into_iter().find(|l| l.name() == s)
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
    /// Index into [`crate::check::Workspace::files`].
    pub file: usize,
    pub regions: Vec<Region>,
    /// Indexes of the part's statements in the file's statement list, in order
    /// (filled in by analysis).
    pub statements: Vec<usize>,
    /// Runs outside a transaction (goose `NO TRANSACTION`, pop `.autocommit`,
    /// Postgres `CONCURRENTLY`, ...).
    pub no_transaction: bool,
}

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
    /// Part of the starting state, not under audit (`--since`, `--from`):
    /// replay applies the up part once and reports nothing but a failure to
    /// apply; no second run, no down checks. False by default.
    pub apply_only: bool,
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
    pub dialect: Dialect,
    pub migrations: Vec<Migration>,
}
