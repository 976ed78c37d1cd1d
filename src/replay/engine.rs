//! The interface between the replay algorithm and a database engine.
//!
//! The algorithm ([`super::algorithm`]) knows migrations, runs and findings;
//! an [`Engine`] knows how to run SQL, undo it, and say what it touched. The
//! SQLite engine ([`super::sqlite`]) implements it on a sandboxed in-memory
//! database; a PostgreSQL engine implements the same trait on a scratch
//! database. Nothing engine-specific appears in the algorithm or in the
//! findings it builds: errors are text, schema objects are normalised text,
//! rows are lists of [`Value`]s.
//!
//! ## Statement execution
//! The algorithm hands the engine one statement's text at a time (as the
//! splitter cut it, placeholders substituted). That text may still hold
//! several statements for the engine (a goose `StatementBegin` block, or a
//! statement the splitter could not separate), so execution is two-step:
//! [`Engine::prepare_next`] compiles the first statement of a text and says
//! how far it reaches; the algorithm looks at that piece (transaction control
//! is emulated, not run) and then calls [`Engine::step`] or
//! [`Engine::discard`]. Errors carry byte offsets into the text they were given.
//!
//! ## Observation
//! Between [`Engine::observe_start`] and [`Engine::observe_stop`] the engine
//! records, for the statements it runs, every schema object and every table
//! they could touch, and captures each one's *before* image the first time it
//! is about to be touched (before the statement runs). At the stop it captures
//! the *after* images of the same objects and tables. Cost therefore grows
//! with what the observed statements touch, not with the database.

pub use super::control::Control;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

/// Why a statement did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The engine rejected or failed the statement (syntax, constraint, ...).
    Error,
    /// The sandbox refused it (files, extensions, attached databases).
    Denied,
    /// It ran longer than the per-statement time limit and was stopped.
    Timeout,
    /// It hit a sandbox resource limit (memory ceiling, length limit).
    Limit,
}

/// A statement that failed, with the engine's own error text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StmtError {
    pub kind: FailureKind,
    /// The engine's message (`table customers already exists`).
    pub message: String,
    /// Byte offset, in the text given to the engine, of the token the error
    /// is about, when the engine knows it.
    pub offset: Option<usize>,
    /// For a statement that did not compile: where the text after it starts,
    /// when the engine could tell, so the rest of the text can still run.
    pub resume: Option<usize>,
}

impl StmtError {
    pub fn error(message: impl Into<String>) -> StmtError {
        StmtError {
            kind: FailureKind::Error,
            message: message.into(),
            offset: None,
            resume: None,
        }
    }
}

impl fmt::Display for StmtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The engine itself failed (not a statement): replay of the sequence stops
/// and the reason is reported to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineError(pub String);

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<StmtError> for EngineError {
    fn from(e: StmtError) -> EngineError {
        EngineError(e.message)
    }
}

/// A piece the engine handles itself instead of running it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Special {
    /// Not run at all; the text says why (shown as an info finding).
    Skip(String),
    /// Recorded and applied by the engine at the next point where it can be
    /// (e.g. a connection setting that cannot change inside a transaction);
    /// the text says how it was handled.
    Deferred(String),
    /// Refused by the sandbox (a [`FailureKind::Denied`] failure); the text
    /// says why.
    Refuse(String),
}

/// A single value in a row, engine-neutral.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Value) -> std::cmp::Ordering {
        use Value::*;
        fn rank(v: &Value) -> u8 {
            match v {
                Null => 0,
                Integer(_) => 1,
                Real(_) => 2,
                Text(_) => 3,
                Blob(_) => 4,
            }
        }
        match (self, other) {
            (Integer(a), Integer(b)) => a.cmp(b),
            (Real(a), Real(b)) => a.total_cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (Blob(a), Blob(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match self {
            Value::Null => 0u8.hash(h),
            Value::Integer(i) => (1u8, i).hash(h),
            Value::Real(r) => (2u8, r.to_bits()).hash(h),
            Value::Text(s) => (3u8, s).hash(h),
            Value::Blob(b) => (4u8, b).hash(h),
        }
    }
}

impl Value {
    /// As JSON, for finding evidence (blobs as `x'..'` text, long values cut).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Integer(i) => serde_json::Value::from(*i),
            Value::Real(r) => serde_json::Number::from_f64(*r)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|| serde_json::Value::String(r.to_string())),
            Value::Text(s) => serde_json::Value::String(shorten(s, 200)),
            Value::Blob(b) => serde_json::Value::String(blob_literal(b)),
        }
    }
}

impl fmt::Display for Value {
    /// SQL literal form, long values cut.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Real(r) => write!(f, "{r:?}"),
            Value::Text(s) => write!(f, "'{}'", shorten(s, 60).replace('\'', "''")),
            Value::Blob(b) => f.write_str(&blob_literal(b)),
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

fn blob_literal(b: &[u8]) -> String {
    let mut s = String::from("x'");
    for byte in b.iter().take(32) {
        s.push_str(&format!("{byte:02x}"));
    }
    if b.len() > 32 {
        s.push('…');
    }
    s.push('\'');
    s
}

/// How rows of a table are identified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowKey {
    /// By the declared primary key: the first `n` values of each row.
    Declared(usize),
    /// By an engine row id that is not a column (SQLite `rowid`): the first
    /// value of each row, which is not shown. Rows that only moved to a new
    /// id count as unchanged.
    Hidden,
    /// No key: rows compare as a multiset.
    None,
}

/// The rows of one table at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableData {
    /// Every row, sorted. With a [`RowKey::Hidden`] key, each row starts with
    /// the hidden id and `columns` does not name it.
    Rows {
        columns: Vec<String>,
        key: RowKey,
        rows: Vec<Vec<Value>>,
    },
    /// Too large to keep: only a row count and an order-independent hash.
    Summary {
        columns: Vec<String>,
        count: u64,
        hash: u64,
    },
}

impl TableData {
    pub fn columns(&self) -> &[String] {
        match self {
            TableData::Rows { columns, .. } | TableData::Summary { columns, .. } => columns,
        }
    }
}

/// An object key in a schema image: kind and name (`table customers`).
/// Names are kept as the engine reports them; engines that fold case
/// lower-case them so the same object always has the same key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// `table`, `view`, `index`, `trigger`, or engine-specific kinds.
    pub kind: String,
    pub name: String,
    /// The table an index or trigger belongs to (for ordering the output
    /// next to its table); the object's own name for tables and views.
    pub table: String,
}

/// Normalised schema objects: the text describes the object completely
/// (columns, constraints, definition), one line per column or clause, so a
/// line diff reads naturally. `None`: the object does not exist.
pub type SchemaImage = BTreeMap<ObjectKey, Option<String>>;

/// What an observation window saw.
#[derive(Clone, Debug, Default)]
pub struct Observation {
    /// Every schema object the observed statements could have touched, as
    /// it was before the first of them ran and as it is at the stop.
    pub schema_before: SchemaImage,
    pub schema_after: SchemaImage,
    /// Every table the observed statements could have written, before and
    /// after. `None`: the table did not exist.
    pub data_before: BTreeMap<String, Option<TableData>>,
    pub data_after: BTreeMap<String, Option<TableData>>,
    /// Tables the engine compares only to decide whether a run left things
    /// as they were (bookkeeping tables such as `sqlite_sequence`); they are
    /// never reported.
    pub internal_tables: BTreeSet<String>,
    /// For each table, the tags (see [`Engine::set_tag`]) of the statements
    /// that wrote rows to it.
    pub writers: BTreeMap<String, Vec<usize>>,
    /// For each schema object, the tags of the statements that changed it.
    pub schema_writers: BTreeMap<ObjectKey, Vec<usize>>,
    /// The observed statements changed nothing at all (no row written, no
    /// schema change): the cheapest possible undo is to keep it.
    pub nothing_written: bool,
}

/// A database engine replay can run on. See the module documentation.
pub trait Engine {
    /// A name for messages, e.g. `SQLite 3.50.2`.
    fn name(&self) -> String;

    /// Starts a transaction. `upcoming` is the text of the statements about
    /// to run, for engines that must apply session settings those statements
    /// ask for before the transaction starts (SQLite `PRAGMA foreign_keys`).
    fn begin(&mut self, upcoming: &[&str]) -> Result<(), EngineError>;
    fn commit(&mut self) -> Result<(), EngineError>;
    fn rollback(&mut self) -> Result<(), EngineError>;
    /// Undoes the open transaction. `unchanged`: an observation showed it left
    /// schema and data as they were, so the engine may keep it instead when
    /// that is cheaper (SQLite must reload its whole schema after undoing DDL).
    fn undo(&mut self, unchanged: bool) -> Result<(), EngineError>;

    /// Savepoints inside the open transaction.
    fn savepoint(&mut self, name: &str) -> Result<(), StmtError>;
    fn release(&mut self, name: &str) -> Result<(), StmtError>;
    fn rollback_to(&mut self, name: &str) -> Result<(), StmtError>;
    /// Like [`Engine::undo`] for a savepoint: roll back to it (or keep it when
    /// `unchanged` and cheaper) and release it.
    fn undo_to(&mut self, name: &str, unchanged: bool) -> Result<(), EngineError>;

    /// Compiles the first statement of `sql`. Returns its byte range in `sql`
    /// (without leading trivia and terminator) and the offset where the rest
    /// of `sql` starts, or `None` when only comments and blanks are left. The
    /// compiled statement stays pending until [`Engine::step`] or
    /// [`Engine::discard`]. Error offsets are relative to `sql`.
    fn prepare_next(&mut self, sql: &str) -> Result<Option<(Range<usize>, usize)>, StmtError>;
    /// Runs the pending statement to completion.
    fn step(&mut self) -> Result<(), StmtError>;
    /// Drops the pending statement without running it.
    fn discard(&mut self);
    /// Leading words (upper case) of statements [`Engine::special`] may
    /// handle; pieces starting with them are shown to it before preparing.
    fn special_words(&self) -> &'static [&'static str];
    /// Engine-specific statements the engine handles itself (e.g. SQLite
    /// `VACUUM`, which cannot run inside a transaction). Called with the
    /// text of one piece before it is prepared.
    fn special(&mut self, piece: &str) -> Option<Special>;
    /// The error the engine gives for a misplaced transaction statement:
    /// `BEGIN` inside a transaction, `COMMIT`/`ROLLBACK` outside one. `None`:
    /// the engine accepts it (perhaps with a warning) and nothing happens.
    fn control_error(&self, control: Control) -> Option<String>;
    /// How many times an error rolled back the engine's whole transaction
    /// (SQLite does so on an interrupt or out-of-memory during a write, and
    /// for `OR ROLLBACK`). The engine then starts a new transaction at once,
    /// with the same savepoints, so nothing after it becomes permanent; the
    /// algorithm uses the count to know that earlier work was undone.
    fn lost_count(&self) -> u64;

    /// Tags the statements that follow (for [`Observation::writers`]).
    fn set_tag(&mut self, tag: usize);
    fn observe_start(&mut self) -> Result<(), EngineError>;
    fn observe_stop(&mut self) -> Result<Observation, EngineError>;
    /// Removes session-local objects (temporary tables, ...) a run left
    /// behind, so the next run starts like a new session would.
    fn end_run(&mut self) -> Result<(), EngineError>;

    /// Fills tables with a few synthetic rows that satisfy their declared
    /// types and constraints (`--seed`). Commits. Returns the tables seeded.
    fn seed(&mut self) -> Result<Vec<String>, EngineError>;
}

/// Hash of one row (deterministic across runs).
pub fn row_hash(row: &[Value]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    row.hash(&mut h);
    h.finish()
}

/// Order-independent hash of a set of rows, for [`TableData::Summary`].
pub fn rows_hash(rows: &[Vec<Value>]) -> u64 {
    rows.iter()
        .fold(0u64, |acc, r| acc.wrapping_add(row_hash(r)))
}
