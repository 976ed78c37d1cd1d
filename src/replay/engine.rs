//! The interface between the replay algorithm and a database engine.
//!
//! The algorithm ([`super::algorithm`]) knows migrations, runs and findings;
//! an [`Engine`] knows how to run a migration part on its database, how to
//! keep or undo it, and what it changed. It never decides what a finding
//! says: engines return neutral data (failures with an [`ErrorClass`] and an
//! optional SQLSTATE, observations as normalised schema images and rows), and
//! [`super::algorithm`] is the only place that turns them into findings, so a
//! rule id reads the same on every engine.
//!
//! ## Granularity: a migration part
//! An engine is driven with two operations:
//! - [`Engine::apply`]: run one part for real (the first run) and keep what
//!   it did. A transactional engine stops at the first failing statement and
//!   undoes the part; a part that runs outside a transaction keeps what ran
//!   before the failure, as a real deploy does ([`Applied::partial`]).
//! - [`Engine::trial`]: run a list of parts in order on the current state,
//!   observe what each one changed, then undo all of it. The engine chooses
//!   how: SQLite captures before-images as statements are about to touch
//!   objects and rolls back; PostgreSQL runs in a transaction with a savepoint
//!   per part, reads the catalogs after the run, and rolls back savepoint by
//!   savepoint to read each earlier state (a part that cannot run in a
//!   transaction runs in a copy of the database); a MySQL engine, where DDL
//!   commits, would run the trial on a copied database and drop it.
//!   Observation and undo are one operation because an engine may only be
//!   able to read the state before a run by undoing it.
//!
//! What differs between engines and matters to the algorithm is in [`Caps`].
//!
//! Implementations: [`super::sqlite`] (sandboxed in-memory SQLite; it runs
//! statements through its own statement-level session, see
//! `sqlite::statements`) and [`super::postgres`] (a scratch database on a
//! real server).
//!
//! ## Observation
//! An [`Observation`] holds, for every schema object and table the observed
//! part could have touched (a superset is fine: equal images compare equal),
//! its image before and after the part, plus which statements wrote what. The
//! single comparator is [`super::diff`].

use crate::model::Part;
use crate::report::Workspace;
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

/// What an engine error means, for the help line (one table for every
/// engine, in the algorithm). Engines map their own codes or texts to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The object to create is already there (`42P07`, `42710`, `42723`).
    AlreadyExists,
    /// The column to add is already there (`42701`).
    DuplicateColumn,
    /// The enum value to add is already there.
    DuplicateEnumValue,
    /// A row with the same key is already there (`23505`).
    UniqueViolation,
    /// The object to drop, alter or use is not there (`42P01`, `42704`,
    /// `3F000` for a schema, ...).
    UndefinedObject,
    /// The column to drop, alter or use is not there (`42703`).
    UndefinedColumn,
    /// The function a statement calls is not there (`42883` on a function,
    /// SQLite's `no such function`, MySQL's 1305 on a function): on a first
    /// run, usually one the application or an extension provides.
    UndefinedFunction,
    /// The server could not parse the statement (`42601`, MySQL 1064,
    /// SQLite's `syntax error`): on a first run, often syntax of another
    /// server or version than the one replay runs on.
    Syntax,
    /// The statement fails on any table that holds rows, whatever their
    /// values (SQLite's `ADD COLUMN` with a non-constant default, a NOT NULL
    /// column without a default, a REFERENCES column with a default, a
    /// STORED column): a database in use has rows, so the failure is the
    /// migration's even when twice's synthetic rows were the ones there.
    FailsOnRows,
    /// The replay role may not do this (`42501`): the statement reaches
    /// outside what the engine's sandbox lets migrations touch.
    PermissionDenied,
    /// Anything else.
    Other,
}

/// A statement that failed, with the engine's own error text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StmtError {
    pub kind: FailureKind,
    pub class: ErrorClass,
    /// The engine's message (`table customers already exists`).
    pub message: String,
    /// The engine's error code, when it has a standard one (SQLSTATE).
    pub code: Option<Box<str>>,
    /// Where inside a function or block the error happened, as the engine
    /// tells it (PostgreSQL's CONTEXT).
    pub context: Option<Box<str>>,
    /// Byte offset, in the text given to the engine, of the token the error
    /// is about, when the engine knows it.
    pub offset: Option<usize>,
    /// For a statement that did not compile: where the text after it starts,
    /// when the engine could tell, so the rest of the text can still run.
    pub resume: Option<usize>,
    /// For a missing object ([`ErrorClass::UndefinedObject`],
    /// [`ErrorClass::UndefinedColumn`], [`ErrorClass::UndefinedFunction`]) or
    /// one already there ([`ErrorClass::AlreadyExists`],
    /// [`ErrorClass::DuplicateColumn`]): its name as the error gives it,
    /// without schema or table qualifier (read the class before the name).
    pub object: Option<Box<str>>,
}

/// The most of an engine's error text (message, context) a finding keeps:
/// a migration can make the server's message as long as it likes
/// (`RAISE EXCEPTION '%', repeat('x', 500000000)`), and each finding holds
/// it and each output prints it.
pub const MAX_ERROR_TEXT: usize = 4096;

/// `text` cut to [`MAX_ERROR_TEXT`] bytes (at a character boundary), saying
/// how much was left out.
pub fn bounded_error_text(text: String) -> String {
    if text.len() <= MAX_ERROR_TEXT {
        return text;
    }
    let mut end = MAX_ERROR_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… ({} more bytes of the error not shown)",
        &text[..end],
        text.len() - end
    )
}

impl StmtError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> StmtError {
        StmtError {
            kind,
            class: ErrorClass::Other,
            message: bounded_error_text(message.into()),
            code: None,
            context: None,
            offset: None,
            resume: None,
            object: None,
        }
    }

    pub fn error(message: impl Into<String>) -> StmtError {
        StmtError::new(FailureKind::Error, message)
    }

    /// The message with the code, as findings show it.
    pub fn text(&self) -> String {
        match &self.code {
            Some(c) => format!("{} (SQLSTATE {c})", self.message),
            None => self.message.clone(),
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

impl From<crate::error::Error> for EngineError {
    fn from(e: crate::error::Error) -> EngineError {
        EngineError(e.message)
    }
}

/// A single value in a row, engine-neutral.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// A structured value (boolean, JSON document, array, composite) as
    /// canonical JSON text; shown and exported as that JSON.
    Json(String),
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
                Json(_) => 5,
            }
        }
        match (self, other) {
            (Integer(a), Integer(b)) => a.cmp(b),
            (Real(a), Real(b)) => a.total_cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            (Blob(a), Blob(b)) => a.cmp(b),
            (Json(a), Json(b)) => a.cmp(b),
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
            Value::Json(j) => (5u8, j).hash(h),
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
            Value::Json(j) => serde_json::from_str(j)
                .unwrap_or_else(|_| serde_json::Value::String(shorten(j, 200))),
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
            Value::Json(j) => f.write_str(&shorten(j, 60)),
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
    /// For each table, the statements (indexes in their file)
    /// that wrote rows to it.
    pub writers: BTreeMap<String, Vec<usize>>,
    /// For each schema object, the tags of the statements that changed it.
    pub schema_writers: BTreeMap<ObjectKey, Vec<usize>>,
    /// The observed statements changed nothing at all (no row written, no
    /// schema change): the cheapest possible undo is to keep it.
    pub nothing_written: bool,
    /// Sequences whose value moved (engines whose sequences are not
    /// transactional), by name.
    pub sequences: BTreeMap<String, SequenceMove>,
}

impl Observation {
    /// The net observation of consecutive observations: for every object
    /// and table, its image before the first that saw it and after the last.
    pub fn compose<'a>(steps: impl IntoIterator<Item = &'a Observation>) -> Observation {
        let mut net = Observation {
            nothing_written: true,
            ..Observation::default()
        };
        for o in steps {
            for (k, v) in &o.schema_before {
                net.schema_before
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            net.schema_after
                .extend(o.schema_after.iter().map(|(k, v)| (k.clone(), v.clone())));
            for (k, v) in &o.data_before {
                net.data_before
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            net.data_after
                .extend(o.data_after.iter().map(|(k, v)| (k.clone(), v.clone())));
            net.internal_tables
                .extend(o.internal_tables.iter().cloned());
            for (t, w) in &o.writers {
                net.writers.entry(t.clone()).or_default().extend(w);
            }
            for (k, w) in &o.schema_writers {
                net.schema_writers.entry(k.clone()).or_default().extend(w);
            }
            net.nothing_written &= o.nothing_written;
        }
        net
    }
}

/// What the engine can and cannot do, where the algorithm must know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// The SQL the engine runs, for the forms help lines suggest
    /// (`INSERT IGNORE` on MySQL, `ON CONFLICT DO NOTHING` elsewhere).
    pub dialect: crate::dialect::Dialect,
    /// Sequence values survive a rollback (PostgreSQL): the engine puts them
    /// back after a trial and reports their moves in
    /// [`Observation::sequences`].
    pub nontransactional_sequences: bool,
    /// Failures carry SQLSTATE codes.
    pub sqlstate: bool,
    /// `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` exists (for help lines).
    pub add_column_if_not_exists: bool,
}

/// A sequence whose value a run moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceMove {
    /// Last value before and after (`None`: never used).
    pub before: Option<i64>,
    pub after: Option<i64>,
    /// The table whose column owns it, if any (a key of
    /// [`Observation::data_after`] when that table was observed).
    pub table: Option<String>,
    /// Statements that may have used it.
    pub writers: Vec<usize>,
}

/// A statement that failed during a run.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Index of the statement in its file.
    pub stmt: usize,
    /// What failed, in file offsets (the statement, or the piece of it).
    pub span: Range<usize>,
    /// Where the error points (file offset), for the line in the message.
    pub at: usize,
    pub error: StmtError,
}

/// A statement (or piece) the engine did not run, with why.
#[derive(Clone, Debug)]
pub struct Handled {
    pub stmt: usize,
    pub span: Range<usize>,
    pub text: String,
    /// What the user can do to have it replayed, when there is something.
    pub help: Option<String>,
}

impl Handled {
    /// A statement not run because it holds an undefined `${placeholder}`
    /// where code goes (the text is not what the tool would run; see
    /// `crate::placeholder`); `undefined-placeholder` reports it.
    pub fn unresolved_placeholder(stmt: usize, span: Range<usize>) -> Handled {
        Handled {
            stmt,
            span,
            text: "not run: it holds a placeholder with no value (see undefined-placeholder), or \
                   a psql variable that the file's `\\gset` sets from a query's result when psql \
                   runs it; pass --define to replay it"
                .into(),
            help: None,
        }
    }
}

/// One part's run in a trial.
#[derive(Clone, Debug, Default)]
pub struct RunOutcome {
    /// Failing statements: at most one when the step stops on error.
    pub failures: Vec<Failure>,
    pub handled: Vec<Handled>,
    /// What the part changed. Empty when a step that stops on error failed.
    pub observation: Observation,
}

/// The first run of a part, kept.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    /// The failing statement, if one failed (the run stopped there).
    pub failure: Option<Failure>,
    pub handled: Vec<Handled>,
    /// On failure: what ran before the failing statement stays applied
    /// (a part that runs outside a transaction); otherwise it was undone.
    pub partial: bool,
}

/// One part of a trial, in order.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    pub part: &'a Part,
    /// Stop the trial at this part's first failing statement (a first run);
    /// otherwise run every statement and report each failure.
    pub stop_on_error: bool,
}

/// What [`Engine::interleave`] wrote: for each table written (named as in
/// [`Observation::data_before`]), its rows just before and just after the
/// write. The algorithm tells the rows written from the two images.
#[derive(Clone, Debug, Default)]
pub struct Interleaved {
    pub tables: BTreeMap<String, (TableData, TableData)>,
}

/// The result of [`Engine::trial`].
#[derive(Clone, Debug)]
pub enum Trial {
    /// One outcome per step that ran (fewer than the steps when a step that
    /// stops on error failed: it is the last one).
    Ran(Vec<RunOutcome>),
    /// The engine cannot run these steps as a trial (e.g. several parts
    /// that must run outside a transaction); the text says why.
    NotPossible(String),
}

/// A copy of an engine for another thread ([`Engine::fork`]).
pub type EngineCopy = Box<dyn Engine + Send>;

/// A database engine replay can run on. See the module documentation.
pub trait Engine {
    /// A name for messages, e.g. `SQLite 3.50.2`.
    fn name(&self) -> String;
    /// A short stable name for evidence (`sqlite`, `postgres`).
    fn id(&self) -> &'static str;
    fn caps(&self) -> Caps;
    /// Fills tables with a few synthetic rows that satisfy their declared
    /// types and constraints (`--seed`); kept.
    fn seed(&mut self) -> Result<(), EngineError>;
    /// Withdraws twice's synthetic rows: deletes, newest first, every row
    /// [`Engine::seed`] and [`Engine::interleave`] inserted that is still
    /// there with the values it was given (found by those values, one row
    /// each, so a row a migration changed or deleted is left alone), each
    /// delete under a savepoint (one the database refuses is skipped), and
    /// seeds every table again at the next [`Engine::seed`]. Returns whether
    /// it deleted any. Called right after a first run that failed and was
    /// undone. Plain SQL (`DELETE ... WHERE <key> IN (SELECT ... WHERE col =
    /// value ... LIMIT 1)`), so a server engine without transactional DDL
    /// can do it too.
    fn unseed(&mut self) -> Result<bool, EngineError>;
    /// Writes as an application would between a migration's first and
    /// second run, and keeps it (until [`Engine::put_back`] puts back what it
    /// changed in rows that are not synthetic): in each existing table whose bare name
    /// (lower case) is in `tables`, new values in the columns of one existing
    /// row (primary key and foreign key columns left alone; a row the
    /// migrations wrote rather than a synthetic one where there is one, the
    /// newest by the table's own order), then
    /// [`super::SEED_ROWS`] more synthetic rows made as [`Engine::seed`]
    /// makes them, whatever the table holds. Plain SQL, each write under a
    /// savepoint; a write the database refuses is skipped.
    fn interleave(&mut self, tables: &BTreeSet<String>) -> Result<Interleaved, EngineError>;
    /// After the second run that followed [`Engine::interleave`] was
    /// observed and undone: puts back the values the write changed in rows
    /// that are not synthetic (a row a migration inserted, such as a
    /// project named `library`), so later migrations find the migrations'
    /// own rows as they left them and see what they would see without the
    /// write. The synthetic rows the write inserted, and values it wrote to
    /// synthetic rows, stay. Plain SQL, each write under a savepoint.
    fn put_back(&mut self) -> Result<(), EngineError>;
    /// Runs twice's own set-up SQL (e.g. the migration tool's bookkeeping
    /// table), kept, before the first migration; never observed or reported,
    /// and the tables it creates (like the setup script's) are never seeded
    /// or written between runs.
    fn setup(&mut self, sql: &str) -> Result<(), EngineError>;
    /// Twice's own set-up for the schemas the migration tool creates before
    /// it migrates ([`crate::model::ToolSchemas`], Flyway's `schemas`): made
    /// before the first migration, never observed or reported, the first
    /// being where the migrations run. The default (SQLite): nothing, as a
    /// SQLite database has no schemas to make.
    fn tool_schemas(&mut self, _names: &[String]) -> Result<(), EngineError> {
        Ok(())
    }
    /// Runs `part` for real and keeps it (see [`Applied`]). Statements of
    /// `part` whose placeholders have no value are not run.
    fn apply(&mut self, ws: &Workspace, part: &Part) -> Result<Applied, EngineError>;
    /// Right after an [`Engine::apply`] that failed part-way
    /// ([`Applied::partial`]): whether the engine kept the point of the
    /// failure (what had committed, the session) and can go on from it
    /// after [`Engine::unseed`] ([`Engine::resume`]). The default: no.
    fn resumable(&self) -> bool {
        false
    }
    /// Goes on with the first run of `part` that [`Engine::apply`] left
    /// partial and [`Engine::resumable`], after [`Engine::unseed`]: runs
    /// again what the failure undid (the failing statement, or, in a
    /// transaction that was rolled back, every statement from the one that
    /// began it) and the rest of the part; what had committed stays. The
    /// result stands for the whole part (handled pieces of both runs).
    fn resume(&mut self, ws: &Workspace, part: &Part) -> Result<Applied, EngineError> {
        let _ = (ws, part);
        Err(EngineError(
            "replay: this engine cannot go on with a first run that failed part-way".into(),
        ))
    }
    /// Runs `steps` in order on the current state, observes each, and undoes
    /// all of them: afterwards the state is what it was before.
    fn trial(&mut self, ws: &Workspace, steps: &[Step<'_>]) -> Result<Trial, EngineError>;
    /// [`Engine::trial`] of steps whose first one is the first run of a
    /// part that [`Engine::apply`] would run right after the trial (down
    /// checks: up, down, down again, then the up's first run). When the
    /// engine can tell that keeping that first step leaves the state a fresh
    /// apply would, it undoes only the later steps, keeps the first, and
    /// returns `true`: the part then counts as applied, with no failure and
    /// the first step's handled pieces, and runs once instead of twice.
    /// Otherwise everything is as after [`Engine::trial`] (returns `false`).
    /// The default always does the latter.
    fn trial_keeping_first(
        &mut self,
        ws: &Workspace,
        steps: &[Step<'_>],
    ) -> Result<(Trial, bool), EngineError> {
        Ok((self.trial(ws, steps)?, false))
    }
    /// [`Engine::trial_keeping_first`], where the engine may hand the last
    /// step to a copy: after the steps before it, a copy of the state as the
    /// trial has it (as [`Engine::fork`] gives one) on which a one-step trial
    /// of the last step gives what it would have given here. Then the
    /// outcomes stop before the last step and the copy is returned; what the
    /// trial keeps or undoes is as if the last step had run and been undone.
    /// Only for a last step whose outcome nothing here depends on (the
    /// algorithm's down's second run). The default never hands one out.
    fn trial_keeping_first_forking_last(
        &mut self,
        ws: &Workspace,
        steps: &[Step<'_>],
    ) -> Result<(Trial, bool, Option<EngineCopy>), EngineError> {
        self.trial_keeping_first(ws, steps)
            .map(|(t, k)| (t, k, None))
    }
    /// Whether the engine can hand out copies of itself ([`Engine::fork`]),
    /// and the stack a thread running one needs. `None` (the default): it
    /// cannot, and every run happens on this engine.
    fn fork_stack(&self) -> Option<usize> {
        None
    }
    /// An independent copy of the engine's current state that runs on
    /// another thread while this engine goes on, for one [`Engine::trial`]
    /// of `part` alone (a second run; the copy is dropped after it, and is
    /// never seeded or written between runs). `None` when the copy cannot
    /// stand in: running the trial there instead of here must leave this
    /// engine as running it here would have (nothing of a trial of `part`
    /// outlives it on the engine: no setting, no pending statement, no mark
    /// for the next seeding), and the copy must give the same observations.
    /// An engine that forks never answers [`Trial::NotPossible`] for a
    /// one-part trial. The default never forks.
    fn fork(
        &mut self,
        _ws: &Workspace,
        _part: &Part,
    ) -> Result<Option<Box<dyn Engine + Send>>, EngineError> {
        Ok(None)
    }
}

/// The error of a database without nested transactions (SQLite) for a
/// `BEGIN` inside a transaction: the engine gives it, and the algorithm's
/// help knows it.
pub const NESTED_BEGIN_ERROR: &str = "cannot start a transaction within a transaction";

/// Strings and blobs longer than this are kept as their length and digest
/// in twice's copies of rows (every engine): equal values still compare
/// equal, and a table of 63 MB blobs costs a few bytes a value instead of a
/// copy of each.
pub const MAX_VALUE_BYTES: usize = 4096;

/// A stand-in for a value too long to copy ([`MAX_VALUE_BYTES`]).
pub fn digest(what: &str, bytes: &[u8]) -> Value {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(bytes);
    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    Value::Text(format!("<{what} of {} bytes, sha256 {hex}>", bytes.len()))
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

#[cfg(test)]
mod bounded_tests {
    #[test]
    fn error_text_is_bounded_at_a_character_boundary() {
        assert_eq!(super::bounded_error_text("short".into()), "short");
        let long = "é".repeat(super::MAX_ERROR_TEXT);
        let cut = super::bounded_error_text(long.clone());
        assert!(cut.len() < super::MAX_ERROR_TEXT + 64, "{}", cut.len());
        assert!(cut.ends_with(&format!(
            "… ({} more bytes of the error not shown)",
            long.len() - super::MAX_ERROR_TEXT
        )));
    }
}
