//! The SQLite engine: a sandboxed in-memory database ([`sandbox`]).
//!
//! Statements are compiled with `sqlite3_prepare_v2` and its tail pointer, so
//! a text holding several statements runs one at a time with byte offsets for
//! errors (`sqlite3_error_offset`). Observation uses what the authorizer
//! reports at prepare time: before a statement runs, the engine captures the
//! `sqlite_schema` rows of objects it may drop or alter and the rows of
//! tables it may write; at the stop it reads the same rows again (by
//! `sqlite_schema` rowid, plus rows added since the start, so renamed and new
//! objects are found without scanning the schema).
//!
//! A virtual table's shadow tables (FTS3/4/5's `<name>_content`, `_data`,
//! ..., R*Tree's `<name>_node`, ..., whatever its module's `xShadowName`
//! accepts) are dropped and renamed with it while the statement runs, which
//! the authorizer does not announce: their rows are captured with the
//! virtual table's, so a rowid they free and a later object takes is read
//! again at the stop. Made again, they sit at new rowids past the start's
//! last one, which is no change: the images leave them out wherever they
//! are shadow tables, and the virtual table's own row stands for them.

pub mod heap;
mod nesting;
mod part;
pub mod sandbox;
pub mod schema;
mod seed;
pub mod statements;

use super::control;
use super::engine::{
    EngineError, ErrorClass, FailureKind, ObjectKey, Observation, RowKey, SchemaImage, StmtError,
    TableData, Value,
};
pub use part::SqliteReplay;
use rusqlite::{ffi, Connection};
pub use sandbox::SandboxConfig;
use sandbox::{lock, Event, SharedRef};
pub use statements::StatementEngine;
use statements::{Control, Special};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CStr;
use std::ops::Range;
use std::os::raw::c_char;
use std::time::Instant;

/// Stack of the thread replay runs on (reserved, not used, until needed).
/// SQLite compiles a statement through views and triggers nested
/// [`nesting::MAX_NESTING`] deep in less than 1 MiB of stack (measured:
/// under 1 KB a level); this leaves a wide margin for the rest.
pub const REPLAY_STACK: usize = 64 << 20;

/// Runs `f` (a replay on the SQLite engine) on a thread of its own with a
/// [`REPLAY_STACK`] stack, whatever the stack of the calling thread.
pub fn on_replay_stack<T: Send>(f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name("twice-replay".into())
            .stack_size(REPLAY_STACK)
            .spawn_scoped(s, f)?;
        match h.join() {
            Ok(v) => Ok(v),
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// [`SqliteEngine::fork`] copies the database only while SQLite holds less
/// than this share of the heap ceiling (two copies may be in flight besides
/// the engine's database, each about its size).
const COPY_HEAP_SHARE: i64 = 8;

/// Nor when the database is larger than this: a copy costs its size (the
/// pages, then the copy's parse of the whole schema), so copying a database
/// that grows with the history at every migration made replay quadratic in
/// the number of migrations (a new table each: 28 s for 2,000). Past it, the
/// second run runs in the trial itself, which costs what the migration does.
const COPY_MAX_BYTES: i64 = 2 << 20;

/// Tables larger than this are compared by count and hash only.
pub const MAX_SNAPSHOT_ROWS: usize = 100_000;

/// A statement compiled from user SQL, finalized on drop.
struct RawStmt(*mut ffi::sqlite3_stmt);

// SAFETY: a statement belongs to its connection and moves with it (the
// engine owns both, and a copy of the engine is used by one thread at a
// time); the bundled SQLite is built thread-safe.
unsafe impl Send for RawStmt {}

impl Drop for RawStmt {
    fn drop(&mut self) {
        // SAFETY: the pointer came from sqlite3_prepare_v2 and is finalized once.
        unsafe {
            ffi::sqlite3_finalize(self.0);
        }
    }
}

/// A `sqlite_schema` row: its rowid, key and normalised text.
type SchemaRow = (i64, ObjectKey, String);

/// What an observation window has seen so far.
#[derive(Default)]
struct Window {
    schema_before: SchemaImage,
    /// `sqlite_schema` rowids whose rows were captured.
    rowids: BTreeSet<i64>,
    /// Shadow tables (lower case) among the captured rows: the tables a
    /// virtual table module keeps its content in (FTS5's `<name>_data`,
    /// R*Tree's `<name>_node`), made and dropped with their virtual table.
    shadows: BTreeSet<String>,
    max_rowid: i64,
    data_before: BTreeMap<String, Option<TableData>>,
    internal: BTreeSet<String>,
    writers: BTreeMap<String, Vec<usize>>,
    schema_writers: BTreeMap<ObjectKey, Vec<usize>>,
    schema_version: i64,
    total_changes: i64,
    /// Bytes the snapshots of this window hold so far.
    held: usize,
    /// Why capturing a before-image failed (twice's own query, not the
    /// statement): the window cannot tell what changed.
    failed: Option<String>,
}

/// The sandboxed in-memory SQLite engine.
pub struct SqliteEngine {
    // Declared first: dropped (finalized) before the connection.
    /// The statement compiled by `prepare_next`, its text, and the time
    /// its compilation left of the statement's time limit.
    pending: Option<(RawStmt, String, std::time::Duration)>,
    conn: Connection,
    shared: SharedRef,
    cfg: SandboxConfig,
    tag: usize,
    window: Option<Window>,
    events: Vec<Event>,
    in_tx: bool,
    /// Schema version when the transaction began.
    tx_schema_version: i64,
    savepoints: Vec<String>,
    lost: u64,
    /// `PRAGMA foreign_keys` value asked for inside a transaction.
    fk_pending: Option<bool>,
    /// The `PRAGMA foreign_keys` value the statements of the run that began
    /// last open with (applied before it, as a script run outside a
    /// transaction applies it), and whether a statement other than such
    /// pragmas and transaction control has run since.
    fk_lead: Option<bool>,
    ran_statement: bool,
    /// Tables to look at on the next `--seed` (None: all of them but the
    /// set-up's).
    seed_dirty: Option<BTreeSet<String>>,
    /// Tables that existed before the first migration (the setup script's,
    /// the migration tool's bookkeeping table), lower case: never seeded,
    /// never written between runs.
    setup_tables: BTreeSet<String>,
    /// Makes synthetic values unique across the database.
    seed_counter: i64,
    /// The synthetic rows inserted, oldest first, for `unseed`.
    seeded: Vec<seed::SeededRow>,
    /// Every distinctive synthetic value ever written (text with a digit,
    /// ids from [`crate::replay::SYNTHETIC_IDS`]), as JSON: `unseed` also
    /// deletes the rows migrations derived from synthetic rows by copying
    /// such a value.
    synthetic_values: BTreeSet<String>,
    /// What views, triggers and cascades can make SQLite recurse into.
    nesting: nesting::Nesting,
    /// A `PRAGMA` other than `foreign_keys` ran (a migration's or a setup
    /// script's): the connection may hold settings a copy would not have,
    /// so no copies ([`SqliteEngine::fork`]) from then on.
    other_pragmas: bool,
}

/// A copy of an engine's state between runs ([`SqliteEngine::image`]),
/// taken on the engine's thread and opened as an engine of its own
/// ([`Image::open`]) on the thread that runs it.
pub(crate) struct Image {
    pages: Pages,
    foreign_keys: bool,
    last_rowid: i64,
    tag: usize,
    lost: u64,
    nesting: nesting::Nesting,
    cfg: SandboxConfig,
}

/// A database image from `sqlite3_serialize`, freed on drop unless handed
/// to `sqlite3_deserialize`.
struct Pages {
    ptr: *mut u8,
    len: i64,
}

// SAFETY: the buffer is plain bytes owned by this value alone (allocated by
// SQLite's allocator, which is thread-safe in the bundled build).
unsafe impl Send for Pages {}

impl Drop for Pages {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: the buffer came from sqlite3_serialize and is freed once.
            unsafe { ffi::sqlite3_free(self.ptr.cast()) };
        }
    }
}

impl Image {
    /// Opens the copy: a new in-memory connection holding the pages
    /// (`sqlite3_deserialize`), then the sandbox ([`sandbox::install`]:
    /// authorizer, limits, defensive mode, time limit; the heap ceiling is
    /// process-wide) before any migration SQL runs on it, then the engine's
    /// `foreign_keys` setting and last row id. SQLite parses the copy's
    /// schema at its first statement, on the thread that opens it.
    pub(crate) fn open(mut self) -> Result<SqliteEngine, EngineError> {
        sandbox::heap_ceiling(&self.cfg);
        let conn = Connection::open_in_memory().map_err(eerr)?;
        let (ptr, len) = (self.pages.ptr, self.pages.len);
        // SQLite owns the buffer from here on (freed when the connection
        // closes, or by the call itself when it fails).
        self.pages.ptr = std::ptr::null_mut();
        // SAFETY: a valid open handle on which nothing runs yet; `ptr` holds
        // `len` bytes from sqlite3_malloc64, given up above.
        let rc = unsafe {
            ffi::sqlite3_deserialize(
                conn.handle(),
                c"main".as_ptr(),
                ptr,
                len,
                len,
                ffi::SQLITE_DESERIALIZE_FREEONCLOSE | ffi::SQLITE_DESERIALIZE_RESIZEABLE,
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(EngineError(format!(
                "SQLite could not open a copy of the database for a second run (error code {rc}); \
                 run with --jobs 1 to replay without copies"
            )));
        }
        let (conn, shared) = sandbox::install(conn, &self.cfg).map_err(eerr)?;
        let mut copy = SqliteEngine::on(conn, shared, &self.cfg);
        copy.apply_foreign_keys(self.foreign_keys)?;
        // SAFETY: a valid handle.
        unsafe { ffi::sqlite3_set_last_insert_rowid(copy.conn.handle(), self.last_rowid) };
        copy.tag = self.tag;
        copy.lost = self.lost;
        copy.nesting = std::mem::take(&mut self.nesting);
        Ok(copy)
    }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn eerr(e: rusqlite::Error) -> EngineError {
    EngineError(format!("SQLite: {e}"))
}

impl SqliteEngine {
    pub fn open(cfg: &SandboxConfig) -> Result<SqliteEngine, EngineError> {
        let (conn, shared) = sandbox::open(cfg).map_err(eerr)?;
        Ok(SqliteEngine::on(conn, shared, cfg))
    }

    /// An engine on a sandboxed connection ([`sandbox::install`]).
    fn on(conn: Connection, shared: SharedRef, cfg: &SandboxConfig) -> SqliteEngine {
        SqliteEngine {
            pending: None,
            conn,
            shared,
            cfg: cfg.clone(),
            tag: 0,
            window: None,
            events: Vec::new(),
            in_tx: false,
            tx_schema_version: 0,
            savepoints: Vec::new(),
            lost: 0,
            fk_pending: None,
            fk_lead: None,
            ran_statement: false,
            seed_dirty: None,
            setup_tables: BTreeSet::new(),
            seed_counter: 0,
            seeded: Vec::new(),
            synthetic_values: BTreeSet::new(),
            nesting: nesting::Nesting::default(),
            other_pragmas: false,
        }
    }

    /// An independent copy of the engine between runs ([`SqliteEngine::image`]
    /// then [`Image::open`], on this thread).
    #[cfg(test)]
    pub(crate) fn fork(&self) -> Option<SqliteEngine> {
        self.image()?.open().ok()
    }

    /// A copy of the engine's state between runs, to open as an independent
    /// engine ([`Image::open`], on another thread): the database's pages
    /// (`sqlite3_serialize`: a page copy, no schema parse), the connection's
    /// `foreign_keys` setting and last row id, and what runs check against
    /// (the nesting graph), for trials: not the seeding's bookkeeping, so
    /// the copy neither seeds nor writes between runs. `None` when a copy could
    /// not stand in (inside a run, a `PRAGMA foreign_keys` waiting, other
    /// pragmas set on the connection) or could not be made.
    pub(crate) fn image(&self) -> Option<Image> {
        if self.in_tx || !self.autocommit() {
            return None;
        }
        self.image_in_trial()
    }

    /// [`SqliteEngine::image`] between two steps of a trial: the state as
    /// the trial's transaction has it so far (the copy starts outside any
    /// transaction, with the same data and schema).
    pub(crate) fn image_in_trial(&self) -> Option<Image> {
        if self.pending.is_some()
            || self.window.is_some()
            || self.fk_pending.is_some()
            || self.other_pragmas
            // Copies share the process-wide heap ceiling with the engine: a
            // large database is not copied, so that a copy never makes the
            // engine's own statements run out of memory.
            // SAFETY: reads a process-wide counter.
            || unsafe { ffi::sqlite3_memory_used() } > self.cfg.heap_limit / COPY_HEAP_SHARE
        {
            return None;
        }
        let size: i64 = self
            .internal(|c| {
                c.query_row(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                    [],
                    |r| r.get(0),
                )
            })
            .ok()?;
        if size > COPY_MAX_BYTES {
            return None;
        }
        let mut len: i64 = 0;
        // SAFETY: a valid open handle, used by this thread only; SQLite
        // returns a buffer from sqlite3_malloc64 (owned by `Pages`) or null.
        // Internal: the page count query it prepares is twice's own.
        let ptr = self
            .internal(|c| {
                Ok(unsafe { ffi::sqlite3_serialize(c.handle(), c"main".as_ptr(), &mut len, 0) })
            })
            .ok()?;
        let pages = Pages { ptr, len };
        if pages.ptr.is_null() || pages.len <= 0 {
            return None;
        }
        let fk: i64 = self
            .internal(|c| c.query_row("PRAGMA foreign_keys", [], |r| r.get(0)))
            .ok()?;
        Some(Image {
            pages,
            foreign_keys: fk != 0,
            // SAFETY: a valid handle.
            last_rowid: unsafe { ffi::sqlite3_last_insert_rowid(self.conn.handle()) },
            tag: self.tag,
            lost: self.lost,
            nesting: self.nesting.clone(),
            cfg: self.cfg.clone(),
        })
    }

    /// The connection, for tests and benchmarks.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs one statement of a setup script (see [`crate::replay::setup`])
    /// in the sandbox, under the time limit; nothing it does is recorded.
    pub fn run_setup_statement(&mut self, sql: &str) -> Result<(), String> {
        {
            let mut s = lock(&self.shared);
            s.deadline = Some(std::time::Instant::now() + self.cfg.timeout);
            s.timed_out = false;
            s.denied = None;
        }
        let r = self.conn.execute_batch(sql);
        self.note_setup_tables();
        self.other_pragmas |= sql.to_ascii_lowercase().contains("pragma");
        let mut s = lock(&self.shared);
        s.deadline = None;
        s.events.clear();
        let denied = s.denied.take();
        let timed_out = std::mem::take(&mut s.timed_out);
        r.map_err(|e| {
            if timed_out {
                "it ran longer than the replay time limit (--timeout)".to_string()
            } else if let Some(why) = denied {
                format!("{e}: {why}")
            } else {
                e.to_string()
            }
        })
    }

    /// Runs engine-internal SQL (nothing recorded, no time limit).
    fn internal<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, EngineError> {
        let was = {
            let mut s = lock(&self.shared);
            let was = s.internal;
            s.internal = true;
            was
        };
        let r = f(&self.conn);
        lock(&self.shared).internal = was;
        r.map_err(eerr)
    }

    fn batch(&self, sql: &str) -> Result<(), EngineError> {
        self.internal(|c| c.execute_batch(sql))
    }

    /// Makes SQLite read the schema again before the next statement. After
    /// a rollback that undid DDL SQLite does so itself, except when a
    /// statement failed part-way through DDL (`ALTER TABLE ... DROP COLUMN`
    /// refused for an index on the column) and another statement read the
    /// schema before the rollback: then SQLite 3.50 keeps the undone
    /// schema in memory, and the next `ADD COLUMN` of the undone column
    /// fails with "duplicate column name" (a false first-run failure of the
    /// up after its down's failed check).
    fn forget_schema(&self) -> Result<(), EngineError> {
        self.batch("PRAGMA writable_schema = RESET")
    }

    fn schema_version(&self) -> Result<i64, EngineError> {
        self.internal(|c| {
            c.prepare_cached("PRAGMA schema_version")?
                .query_row([], |r| r.get(0))
        })
    }

    fn total_changes(&self) -> i64 {
        // SAFETY: valid handle.
        unsafe { ffi::sqlite3_total_changes64(self.conn.handle()) }
    }

    fn autocommit(&self) -> bool {
        // SAFETY: valid handle.
        unsafe { ffi::sqlite3_get_autocommit(self.conn.handle()) != 0 }
    }

    fn errmsg(&self) -> String {
        // SAFETY: valid handle; sqlite3_errmsg returns a NUL-terminated string.
        unsafe {
            let p = ffi::sqlite3_errmsg(self.conn.handle());
            if p.is_null() {
                "unknown error".into()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        }
    }

    /// Turns a failed return code into a statement error.
    fn stmt_error(&self, rc: i32, offset: Option<usize>) -> StmtError {
        let message = self.errmsg();
        let (denied, timed_out) = {
            let mut s = lock(&self.shared);
            let timed_out = std::mem::take(&mut s.timed_out);
            (s.denied.take(), timed_out)
        };
        let primary = rc & 0xff;
        let (kind, message) = if let Some(why) = denied {
            (FailureKind::Denied, why)
        } else if primary == ffi::SQLITE_AUTH {
            (FailureKind::Denied, format!("not authorized: {message}"))
        } else if primary == ffi::SQLITE_INTERRUPT && timed_out {
            (FailureKind::Timeout, message)
        } else if primary == ffi::SQLITE_TOOBIG {
            (
                FailureKind::Limit,
                format!(
                    "it builds a string or blob larger than the replay sandbox allows ({} MiB): \
                     {message}",
                    self.cfg.max_length >> 20
                ),
            )
        } else if primary == ffi::SQLITE_NOMEM {
            (
                FailureKind::Limit,
                format!(
                    "it needs more memory than the replay sandbox allows ({} MiB): {message}",
                    self.cfg.heap_limit >> 20
                ),
            )
        } else if primary == ffi::SQLITE_ERROR && message.contains("too many attached") {
            (
                FailureKind::Denied,
                "it would attach another database; replay never touches files".into(),
            )
        } else {
            (FailureKind::Error, message)
        };
        let class = if kind == FailureKind::Error {
            error_class(&message)
        } else {
            ErrorClass::Other
        };
        StmtError {
            class,
            offset,
            object: named_object(class, &message).map(Into::into),
            ..StmtError::new(kind, message)
        }
    }

    /// After an error, SQLite may have rolled back the whole transaction:
    /// start a new one with the same savepoints so nothing becomes permanent.
    fn recover_transaction(&mut self) -> Result<(), EngineError> {
        if self.in_tx && self.autocommit() {
            self.lost += 1;
            self.batch("BEGIN")?;
            for sp in self.savepoints.clone() {
                self.batch(&format!("SAVEPOINT {}", quote(&sp)))?;
            }
        }
        Ok(())
    }

    fn apply_foreign_keys(&mut self, on: bool) -> Result<(), EngineError> {
        self.batch(if on {
            "PRAGMA foreign_keys = ON"
        } else {
            "PRAGMA foreign_keys = OFF"
        })
    }

    // ---- observation ------------------------------------------------------

    /// `sqlite_schema` rows matching a query.
    fn schema_rows(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<SchemaRow>, EngineError> {
        self.internal(|c| {
            let mut st = c.prepare_cached(sql)?;
            let rows = st.query_map(params, |r| {
                let rowid: i64 = r.get(0)?;
                let kind: String = r.get(1)?;
                let name: String = r.get(2)?;
                let table: String = r.get(3)?;
                let sql: Option<String> = r.get(4)?;
                Ok((rowid, kind, name, table, sql))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (rowid, kind, name, table, sql) = row?;
                let Some(sql) = sql else { continue };
                if name.to_ascii_lowercase().starts_with("sqlite_") {
                    continue;
                }
                let text = schema::normalise(&kind, &sql);
                out.push((
                    rowid,
                    ObjectKey {
                        kind,
                        name: name.to_ascii_lowercase(),
                        table: table.to_ascii_lowercase(),
                    },
                    text,
                ));
            }
            Ok(out)
        })
    }

    /// Captures the before-image of schema objects and tables the pending
    /// statement may touch.
    fn capture_before(&mut self, piece: &str) -> Result<(), EngineError> {
        let events = self.events.clone();
        let mut schema_queries: Vec<(String, bool)> = Vec::new();
        let mut tables: Vec<(String, bool)> = Vec::new();
        for ev in &events {
            match ev {
                Event::Write { table, insert } => tables.push((table.clone(), *insert)),
                Event::Drop { kind, name, table } => {
                    schema_queries.push((name.clone(), false));
                    if *kind == "table" {
                        tables.push((table.clone(), false));
                    }
                }
                Event::Alter { table } => {
                    let rename = piece.to_ascii_uppercase().contains("RENAME");
                    schema_queries.push((table.clone(), rename));
                    tables.push((table.clone(), false));
                }
                Event::Create { .. } => {}
            }
        }
        for (name, mentions) in schema_queries {
            let rows = if mentions {
                self.schema_rows(
                    "SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema \
                     WHERE lower(name) = ?1 OR lower(tbl_name) = ?1 OR instr(lower(sql), ?1) > 0",
                    &[&name],
                )?
            } else {
                self.schema_rows(
                    "SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema \
                     WHERE name = ?1 COLLATE NOCASE OR tbl_name = ?1 COLLATE NOCASE",
                    &[&name],
                )?
            };
            // Dropping or renaming a virtual table drops or renames its
            // shadow tables while the statement runs, without telling the
            // authorizer beforehand: their rows are captured with it.
            let mut shadows = BTreeSet::new();
            let mut rows = rows;
            let virtuals: Vec<String> = rows
                .iter()
                .filter(|(_, key, text)| key.kind == "table" && schema::is_virtual(text))
                .map(|(_, key, _)| key.name.clone())
                .collect();
            for vtab in virtuals {
                let (names, shadow_rows) = self.shadow_rows(&vtab)?;
                shadows.extend(names);
                rows.extend(shadow_rows);
            }
            let Some(w) = self.window.as_mut() else {
                return Ok(());
            };
            w.shadows.extend(shadows);
            for (rowid, key, text) in rows {
                // Rows added in this window did not exist at its start: their
                // before-image is "absent", which the stop fills in.
                if rowid <= w.max_rowid && w.rowids.insert(rowid) {
                    w.schema_before.entry(key).or_insert(Some(text));
                }
            }
        }
        for (table, insert) in tables {
            let known = self
                .window
                .as_ref()
                .is_some_and(|w| w.data_before.contains_key(&table));
            if !known {
                let data = self.snapshot_in_window(&table)?;
                if let Some(w) = self.window.as_mut() {
                    w.data_before.insert(table.clone(), data);
                }
            }
            if insert {
                self.capture_sequence()?;
            }
        }
        Ok(())
    }

    /// The shadow tables of the virtual table `vtab` (lower case): their
    /// names, lower case, and the `sqlite_schema` rows of them and of their
    /// indexes. A shadow table is what its module says it is
    /// (`xShadowName`, which `pragma_table_list` reports as `shadow`), so a
    /// table of the user's that merely shares the prefix is not one.
    fn shadow_rows(&self, vtab: &str) -> Result<(BTreeSet<String>, Vec<SchemaRow>), EngineError> {
        let names: BTreeSet<String> = self.internal(|c| {
            let mut st = c.prepare_cached(
                "SELECT lower(name) FROM main.pragma_table_list \
                 WHERE schema = 'main' AND type = 'shadow' \
                 AND substr(lower(name), 1, length(?1) + 1) = ?1 || '_'",
            )?;
            let rows = st.query_map([vtab], |r| r.get::<_, String>(0))?;
            rows.collect()
        })?;
        let mut rows = Vec::new();
        for name in &names {
            rows.extend(self.schema_rows(
                "SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema \
                 WHERE name = ?1 COLLATE NOCASE OR tbl_name = ?1 COLLATE NOCASE",
                &[name],
            )?);
        }
        Ok((names, rows))
    }

    /// Every shadow table of the schema now (lower case).
    fn shadow_tables(&self) -> Result<BTreeSet<String>, EngineError> {
        self.internal(|c| {
            let mut st = c.prepare_cached(
                "SELECT lower(name) FROM main.pragma_table_list \
                 WHERE schema = 'main' AND type = 'shadow'",
            )?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
    }

    /// `sqlite_sequence` (AUTOINCREMENT counters) is compared too, to decide
    /// whether a run left everything as it was.
    fn capture_sequence(&mut self) -> Result<(), EngineError> {
        let seq = "sqlite_sequence".to_string();
        if self
            .window
            .as_ref()
            .is_some_and(|w| w.data_before.contains_key(&seq))
        {
            return Ok(());
        }
        let data = self.snapshot_in_window(&seq)?;
        if let Some(w) = self.window.as_mut() {
            w.data_before.insert(seq.clone(), data);
            w.internal.insert(seq);
        }
        Ok(())
    }

    /// [`Self::snapshot`] within what the open window may still hold.
    fn snapshot_in_window(&mut self, table: &str) -> Result<Option<TableData>, EngineError> {
        let mut held = self.window.as_ref().map_or(0, |w| w.held);
        let data = self.snapshot(table, &mut held)?;
        if let Some(w) = self.window.as_mut() {
            w.held = held;
        }
        Ok(data)
    }

    /// The rows of a table, or `None` when it does not exist (or is not a
    /// table whose rows can be compared). `held` counts the bytes the
    /// window's snapshots hold; past [`MAX_WINDOW_BYTES`] a table is kept
    /// as its count and hash only.
    fn snapshot(&self, table: &str, held: &mut usize) -> Result<Option<TableData>, EngineError> {
        self.internal(|c| {
            // A view has no rows of its own (`DROP VIEW` and writes through
            // INSTEAD OF triggers reach the authorizer as writes to it), and
            // reading its columns compiles it, which fails once a function
            // or table it uses is gone.
            let view: bool = c
                .prepare_cached(
                    "SELECT count(*) > 0 FROM main.sqlite_schema \
                     WHERE type = 'view' AND name = ?1 COLLATE NOCASE",
                )?
                .query_row([table], |r| r.get(0))?;
            if view {
                return Ok(None);
            }
            // pragma_table_xinfo(name) looks the table up by name; listing
            // tables (pragma_table_list) would be linear in the schema and
            // compile every view.
            let mut cols: Vec<(String, i64)> = Vec::new();
            {
                let mut st = c.prepare_cached(
                    "SELECT name, pk, hidden FROM main.pragma_table_xinfo(?1) ORDER BY cid",
                )?;
                let rows = st.query_map([table], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?;
                for row in rows {
                    let (name, pk, hidden) = row?;
                    if hidden != 1 {
                        cols.push((name, pk));
                    }
                }
            }
            if cols.is_empty() {
                return Ok(None);
            }
            let mut pk: Vec<&(String, i64)> = cols.iter().filter(|c| c.1 > 0).collect();
            pk.sort_by_key(|c| c.1);
            let (columns, key, select_key) = if !pk.is_empty() {
                let mut names: Vec<String> = pk.iter().map(|c| c.0.clone()).collect();
                names.extend(cols.iter().filter(|c| c.1 == 0).map(|c| c.0.clone()));
                (names, RowKey::Declared(pk.len()), None)
            } else {
                // No declared key: a rowid table (WITHOUT ROWID needs a
                // primary key), unless it is a view or a virtual table, whose
                // rowid the SELECT below cannot read.
                let alias = ["rowid", "_rowid_", "oid"]
                    .into_iter()
                    .find(|a| !cols.iter().any(|c| c.0.eq_ignore_ascii_case(a)))
                    .filter(|a| {
                        c.prepare(&format!("SELECT {a} FROM main.{} LIMIT 0", quote(table)))
                            .is_ok()
                    });
                let names: Vec<String> = cols.iter().map(|c| c.0.clone()).collect();
                match alias {
                    Some(a) => (names, RowKey::Hidden, Some(a)),
                    None => (names, RowKey::None, None),
                }
            };
            let mut select: Vec<String> = select_key.iter().map(|a| a.to_string()).collect();
            select.extend(columns.iter().map(|c| quote(c)));
            if select.is_empty() {
                return Ok(None);
            }
            let sql = format!("SELECT {} FROM main.{}", select.join(", "), quote(table));
            let mut st = c.prepare(&sql)?;
            let n = select.len();
            let mut rows = st.query([])?;
            let mut out: Vec<Vec<Value>> = Vec::new();
            let mut count = 0u64;
            let mut hash = 0u64;
            let mut summary = false;
            while let Some(r) = rows.next()? {
                let mut row = Vec::with_capacity(n);
                let mut bytes = std::mem::size_of::<Vec<Value>>();
                for i in 0..n {
                    let v = value(r.get_ref(i)?);
                    bytes += value_bytes(&v);
                    row.push(v);
                }
                count += 1;
                let content = if key == RowKey::Hidden {
                    &row[1..]
                } else {
                    &row[..]
                };
                hash = hash.wrapping_add(super::engine::row_hash(content));
                if !summary {
                    out.push(row);
                    *held += bytes;
                    if out.len() > MAX_SNAPSHOT_ROWS || *held > MAX_WINDOW_BYTES {
                        summary = true;
                        *held = held.saturating_sub(
                            out.iter()
                                .map(|r| {
                                    std::mem::size_of::<Vec<Value>>()
                                        + r.iter().map(value_bytes).sum::<usize>()
                                })
                                .sum(),
                        );
                        out = Vec::new();
                    }
                }
            }
            if summary {
                return Ok(Some(TableData::Summary {
                    columns,
                    count,
                    hash,
                }));
            }
            out.sort();
            Ok(Some(TableData::Rows {
                columns,
                key,
                rows: out,
            }))
        })
    }

    /// Records which statement wrote what, after a successful step.
    fn after_step(&mut self, changes: i64) -> Result<(), EngineError> {
        let tag = self.tag;
        let events = std::mem::take(&mut self.events);
        let Some(w) = self.window.as_mut() else {
            return Ok(());
        };
        for ev in &events {
            match ev {
                Event::Write { table, .. } if changes > 0 => {
                    let v = w.writers.entry(table.clone()).or_default();
                    if v.last() != Some(&tag) {
                        v.push(tag);
                    }
                }
                Event::Create { kind, name, table } | Event::Drop { kind, name, table } => {
                    let key = ObjectKey {
                        kind: kind.to_string(),
                        name: name.clone(),
                        table: table.clone(),
                    };
                    let v = w.schema_writers.entry(key).or_default();
                    if v.last() != Some(&tag) {
                        v.push(tag);
                    }
                }
                Event::Alter { table } => {
                    let key = ObjectKey {
                        kind: "table".into(),
                        name: table.clone(),
                        table: table.clone(),
                    };
                    let v = w.schema_writers.entry(key).or_default();
                    if v.last() != Some(&tag) {
                        v.push(tag);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether `text` starts with a transaction statement replay takes over
    /// (see [`control::classify`]).
    fn is_control(text: &str) -> bool {
        control::simple_piece(text, crate::dialect::Dialect::Sqlite)
            .is_some_and(|(_, _, words)| control::classify(&words).is_some())
    }

    /// The `PRAGMA foreign_keys` value that `upcoming` sets before any
    /// other statement: it applies to the whole run, as it would outside a
    /// transaction.
    fn foreign_keys_lead(upcoming: &[&str]) -> Option<bool> {
        let mut lead = None;
        for text in upcoming {
            match control::leading_word(text, crate::dialect::Dialect::Sqlite).as_deref() {
                Some("PRAGMA") => match Self::foreign_keys_pragma(text) {
                    Some(v) => lead = Some(v),
                    None => continue,
                },
                None => continue,
                Some(w) if control::is_control_word(w) && Self::is_control(text) => continue,
                Some(_) => break,
            }
        }
        lead
    }

    /// The value of `PRAGMA [schema.]foreign_keys = value` (or `(value)`).
    fn foreign_keys_pragma(piece: &str) -> Option<bool> {
        let toks: Vec<&str> = crate::lexer::significant_tokens(
            piece,
            0..piece.len(),
            crate::dialect::Dialect::Sqlite,
        )
        .into_iter()
        .map(|t| &piece[t.span])
        .collect();
        if !toks.first()?.eq_ignore_ascii_case("PRAGMA") {
            return None;
        }
        let name_at = if toks.get(2) == Some(&".") { 3 } else { 1 };
        if !toks.get(name_at)?.eq_ignore_ascii_case("foreign_keys") {
            return None;
        }
        let value = match *toks.get(name_at + 1)? {
            "=" | "(" => toks.get(name_at + 2)?,
            _ => return None,
        };
        match value
            .trim_matches(['\'', '"'])
            .to_ascii_lowercase()
            .as_str()
        {
            "on" | "true" | "yes" | "1" => Some(true),
            "off" | "false" | "no" | "0" => Some(false),
            _ => None,
        }
    }
}

/// The bare name of the object an error is about: the missing one in `no
/// such table: main.t` or `no such column: b.x`; the one already there in
/// `duplicate column name: x`, `table "t" already exists`.
fn named_object(class: ErrorClass, message: &str) -> Option<String> {
    if !matches!(
        class,
        ErrorClass::UndefinedObject
            | ErrorClass::UndefinedColumn
            | ErrorClass::UndefinedFunction
            | ErrorClass::AlreadyExists
            | ErrorClass::DuplicateColumn
    ) {
        return None;
    }
    let name = match message.split_once(": ") {
        Some((_, name)) => name,
        // `table t already exists`, `index "i" already exists`.
        None => message.strip_suffix(" already exists")?.split_once(' ')?.1,
    };
    let name = name
        .trim()
        .rsplit('.')
        .next()?
        .trim_matches(|c| c == '"' || c == '`');
    (!name.is_empty()).then(|| name.to_string())
}

/// What a SQLite error message means (SQLite reports these as plain
/// `SQLITE_ERROR` with a text, so the text is all there is).
fn error_class(message: &str) -> ErrorClass {
    let m = message.to_ascii_lowercase();
    if m.contains("already exists") || m.contains("already another table or index") {
        ErrorClass::AlreadyExists
    } else if m.contains("duplicate column") {
        ErrorClass::DuplicateColumn
    } else if m.contains("unique constraint") || m.contains("duplicate key") {
        ErrorClass::UniqueViolation
    } else if m.contains("no such table")
        || m.contains("no such index")
        || m.contains("no such view")
        || m.contains("no such trigger")
        || m.contains("does not exist")
    {
        ErrorClass::UndefinedObject
    } else if m.contains("no such column") {
        ErrorClass::UndefinedColumn
    } else if m.starts_with("no such function") {
        ErrorClass::UndefinedFunction
    } else if m.starts_with("cannot add a column with non-constant default")
        || m.starts_with("cannot add a not null column with default value null")
        || m.starts_with("cannot add a references column with non-null default value")
        || m.starts_with("cannot add a stored column")
    {
        ErrorClass::FailsOnRows
    } else if m.contains("syntax error")
        || m.starts_with("unrecognized token")
        || m.starts_with("incomplete input")
    {
        ErrorClass::Syntax
    } else {
        ErrorClass::Other
    }
}

pub use crate::replay::engine::MAX_VALUE_BYTES;

/// What the snapshots of one observation window may hold together (an
/// estimate of their heap size); past it, tables are compared by count and
/// hash only, like tables of more than [`MAX_SNAPSHOT_ROWS`] rows.
pub const MAX_WINDOW_BYTES: usize = 64 << 20;

use crate::replay::engine::digest;

fn value(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as V;
    match v {
        V::Null => Value::Null,
        V::Integer(i) => Value::Integer(i),
        V::Real(r) => Value::Real(r),
        V::Text(t) if t.len() > MAX_VALUE_BYTES => digest("text", t),
        V::Blob(b) if b.len() > MAX_VALUE_BYTES => digest("blob", b),
        V::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        V::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// About what a value costs on the heap in a snapshot.
fn value_bytes(v: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match v {
            Value::Text(t) => t.len(),
            Value::Blob(b) => b.len(),
            _ => 0,
        }
}

/// Where the first complete statement of `sql` ends (just past its `;`),
/// by SQLite's own rules (`sqlite3_complete`, which knows trigger bodies).
fn statement_end(sql: &str) -> Option<usize> {
    let lexer = crate::lexer::Lexer::new(sql, 0..sql.len(), crate::dialect::Dialect::Sqlite);
    for t in lexer.filter(|t| t.kind == crate::lexer::TokenKind::Semicolon) {
        let Ok(prefix) = std::ffi::CString::new(&sql[..t.span.end]) else {
            return None;
        };
        // SAFETY: a NUL-terminated string that outlives the call.
        if unsafe { ffi::sqlite3_complete(prefix.as_ptr()) } != 0 {
            return Some(t.span.end);
        }
    }
    None
}

/// Offset just past leading whitespace and comments.
fn skip_trivia(sql: &str) -> usize {
    let mut lexer = crate::lexer::Lexer::new(sql, 0..sql.len(), crate::dialect::Dialect::Sqlite);
    match lexer.find(|t| !t.kind.is_trivia()) {
        Some(t) => t.span.start,
        None => sql.len(),
    }
}

/// End of a statement's text before its tail: without the `;` and blanks.
fn trim_end(sql: &str, start: usize, tail: usize) -> usize {
    let s = &sql[start..tail];
    let t = s.trim_end();
    let t = t.strip_suffix(';').unwrap_or(t).trim_end();
    start + t.len()
}

impl StatementEngine for SqliteEngine {
    fn name(&self) -> String {
        format!("SQLite {}", rusqlite::version())
    }

    fn begin(&mut self, upcoming: &[&str]) -> Result<(), EngineError> {
        self.fk_lead = Self::foreign_keys_lead(upcoming);
        self.ran_statement = false;
        if let Some(v) = self.fk_lead.or(self.fk_pending.take()) {
            self.apply_foreign_keys(v)?;
        }
        self.batch("BEGIN")?;
        self.in_tx = true;
        self.savepoints.clear();
        self.tx_schema_version = self.schema_version()?;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), EngineError> {
        self.pending = None;
        self.batch("COMMIT")?;
        self.in_tx = false;
        self.savepoints.clear();
        if let Some(v) = self.fk_pending.take() {
            self.apply_foreign_keys(v)?;
        }
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), EngineError> {
        self.pending = None;
        if !self.autocommit() {
            let ddl = self.schema_version()? != self.tx_schema_version;
            self.batch("ROLLBACK")?;
            if ddl {
                self.forget_schema()?;
            }
        }
        self.in_tx = false;
        self.savepoints.clear();
        if let Some(v) = self.fk_pending.take() {
            self.apply_foreign_keys(v)?;
        }
        Ok(())
    }

    fn undo(&mut self, unchanged: bool) -> Result<(), EngineError> {
        // Undoing DDL makes SQLite reload the whole schema: when the work is
        // known to have changed nothing, keeping it is equivalent and cheap.
        if unchanged && self.schema_version()? != self.tx_schema_version {
            let fk = self.fk_pending.take();
            self.commit()?;
            self.fk_pending = fk;
            Ok(())
        } else {
            let fk = self.fk_pending.take();
            self.rollback()?;
            self.fk_pending = fk;
            Ok(())
        }
    }

    fn savepoint(&mut self, name: &str) -> Result<(), StmtError> {
        self.batch(&format!("SAVEPOINT {}", quote(name)))
            .map_err(|e| StmtError::error(e.0))?;
        self.savepoints.push(name.to_string());
        Ok(())
    }

    fn release(&mut self, name: &str) -> Result<(), StmtError> {
        self.batch(&format!("RELEASE {}", quote(name)))
            .map_err(|e| StmtError::error(e.0))?;
        if let Some(p) = self.savepoints.iter().rposition(|s| s == name) {
            self.savepoints.truncate(p);
        }
        Ok(())
    }

    fn rollback_to(&mut self, name: &str) -> Result<(), StmtError> {
        let before = self.schema_version().map_err(|e| StmtError::error(e.0))?;
        self.batch(&format!("ROLLBACK TO {}", quote(name)))
            .map_err(|e| StmtError::error(e.0))?;
        if self.schema_version().map_err(|e| StmtError::error(e.0))? != before {
            self.forget_schema().map_err(|e| StmtError::error(e.0))?;
        }
        if let Some(p) = self.savepoints.iter().rposition(|s| s == name) {
            self.savepoints.truncate(p + 1);
        }
        Ok(())
    }

    fn undo_to(&mut self, name: &str, unchanged: bool) -> Result<(), EngineError> {
        if !unchanged {
            self.rollback_to(name).map_err(EngineError::from)?;
        }
        self.release(name).map_err(EngineError::from)
    }

    fn prepare_next(&mut self, sql: &str) -> Result<Option<(Range<usize>, usize)>, StmtError> {
        self.pending = None;
        self.ran_statement = true;
        let mut off = 0usize;
        loop {
            let rest = &sql[off..];
            if rest.trim().is_empty() {
                return Ok(None);
            }
            let Ok(len) = i32::try_from(rest.len()) else {
                return Err(StmtError::new(
                    FailureKind::Limit,
                    "the statement is longer than SQLite accepts",
                ));
            };
            // Compiling is under the time limit too: SQLite expands views,
            // CTEs and triggers while it prepares, which a statement can make
            // take far longer than running it.
            let started = Instant::now();
            {
                let mut s = lock(&self.shared);
                s.events.clear();
                s.denied = None;
                s.internal = false;
                s.timed_out = false;
                s.deadline = Some(started + self.cfg.timeout);
            }
            let mut stmt: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
            let mut tail: *const c_char = std::ptr::null();
            // SAFETY: `rest` is valid for `len` bytes; SQLite does not need a
            // NUL terminator when the length is given. `tail` points into it.
            let rc = unsafe {
                ffi::sqlite3_prepare_v2(
                    self.conn.handle(),
                    rest.as_ptr().cast::<c_char>(),
                    len,
                    &mut stmt,
                    &mut tail,
                )
            };
            self.events = {
                let mut s = lock(&self.shared);
                s.deadline = None;
                std::mem::take(&mut s.events)
            };
            if rc != ffi::SQLITE_OK {
                if !stmt.is_null() {
                    drop(RawStmt(stmt));
                }
                // SAFETY: valid handle.
                let eo = unsafe { ffi::sqlite3_error_offset(self.conn.handle()) };
                let offset = usize::try_from(eo).ok().map(|o| off + o);
                let mut err = self.stmt_error(rc, offset);
                err.resume = statement_end(rest).map(|n| off + n);
                return Err(err);
            }
            let consumed = if tail.is_null() {
                rest.len()
            } else {
                // SAFETY: tail points into `rest` (or at its end).
                let n = unsafe { tail.offset_from(rest.as_ptr().cast::<c_char>()) };
                usize::try_from(n).unwrap_or(rest.len()).min(rest.len())
            };
            if stmt.is_null() {
                // Only a comment or an empty statement (`;`): go on after it.
                if consumed == 0 {
                    return Ok(None);
                }
                off += consumed;
                continue;
            }
            let start = off + skip_trivia(rest);
            let end = trim_end(sql, start, off + consumed).max(start);
            if let Err(deep) = self.nesting.check(&sql[start..end]) {
                drop(RawStmt(stmt));
                return Err(StmtError {
                    resume: Some(off + consumed),
                    ..StmtError::new(
                        FailureKind::Limit,
                        format!(
                            "it nests views, triggers or cascading foreign keys too deep: a \
                         statement reaching them would make SQLite recurse {} levels, more \
                         than the replay sandbox allows ({}); keep chains of views and \
                         triggers shallow",
                            deep.weight,
                            nesting::MAX_NESTING
                        ),
                    )
                });
            }
            let left = self.cfg.timeout.saturating_sub(started.elapsed());
            self.pending = Some((RawStmt(stmt), sql[start..end].to_string(), left));
            return Ok(Some((start..end, off + consumed)));
        }
    }

    fn step(&mut self) -> Result<(), StmtError> {
        let Some((stmt, piece, left)) = self.pending.take() else {
            return Ok(());
        };
        if self.window.is_some() {
            // twice's own queries failing is not the statement's error: the
            // statement runs, and the window reports it at its stop.
            if let Err(e) = self.capture_before(&piece) {
                if let Some(w) = self.window.as_mut() {
                    w.failed.get_or_insert(e.0);
                }
            }
        }
        let tc = self.total_changes();
        {
            let mut s = lock(&self.shared);
            s.internal = false;
            s.denied = None;
            s.timed_out = false;
            s.deadline = Some(Instant::now() + left);
        }
        let rc = loop {
            // SAFETY: a valid prepared statement owned by `stmt`.
            let rc = unsafe { ffi::sqlite3_step(stmt.0) };
            if rc != ffi::SQLITE_ROW {
                break rc;
            }
        };
        lock(&self.shared).deadline = None;
        if rc != ffi::SQLITE_DONE {
            let err = self.stmt_error(rc, None);
            drop(stmt);
            self.events.clear();
            self.recover_transaction()
                .map_err(|e| StmtError::error(e.0))?;
            return Err(err);
        }
        drop(stmt);
        // Writes made by a statement count for its tag.
        let changes = self.total_changes() - tc;
        if let Some(dirty) = self.seed_dirty.as_mut() {
            for ev in &self.events {
                match ev {
                    Event::Create {
                        kind: "table",
                        name,
                        ..
                    }
                    | Event::Alter { table: name }
                    | Event::Write {
                        table: name,
                        insert: false,
                    } => {
                        dirty.insert(name.clone());
                    }
                    _ => {}
                }
            }
        }
        self.after_step(changes)
            .map_err(|e| StmtError::error(e.0))?;
        Ok(())
    }

    fn discard(&mut self) {
        self.pending = None;
        self.events.clear();
    }

    fn special_words(&self) -> &'static [&'static str] {
        &["VACUUM", "PRAGMA"]
    }

    fn special(&mut self, piece: &str) -> Option<Special> {
        let word = control::leading_word(piece, crate::dialect::Dialect::Sqlite)?;
        match word.as_str() {
            "VACUUM" => {
                let (_, _, words) = control::simple_piece(piece, crate::dialect::Dialect::Sqlite)?;
                if words.iter().any(|w| w == "INTO") {
                    return Some(Special::Refuse(
                        "VACUUM INTO writes a database file; replay never touches files".into(),
                    ));
                }
                Some(Special::Skip(
                    "VACUUM is not replayed: it rebuilds the database file, cannot run inside \
                     a transaction, and changes neither schema nor data"
                        .into(),
                ))
            }
            "PRAGMA" => {
                let Some(on) = Self::foreign_keys_pragma(piece) else {
                    self.other_pragmas = true;
                    return None;
                };
                // One of the pragmas the run opens with: applied before
                // it began, as where the tool runs the file outside a
                // transaction; nothing to report.
                if self.in_tx && !self.ran_statement && self.fk_lead == Some(on) {
                    return Some(Special::Applied);
                }
                self.fk_pending = Some(on);
                Some(Special::Deferred(format!(
                    "`PRAGMA foreign_keys = {}` cannot take effect inside a transaction: replay \
                     applies it before the run when it comes before every other statement, and \
                     from the next migration on otherwise",
                    if on { "ON" } else { "OFF" }
                )))
            }
            _ => None,
        }
    }

    fn control_error(&self, control: Control) -> Option<String> {
        Some(
            match control {
                Control::Begin => crate::replay::engine::NESTED_BEGIN_ERROR,
                Control::Commit => "cannot commit - no transaction is active",
                Control::Rollback => "cannot rollback - no transaction is active",
            }
            .into(),
        )
    }

    fn lost_count(&self) -> u64 {
        self.lost
    }

    fn set_tag(&mut self, tag: usize) {
        self.tag = tag;
    }

    fn observe_start(&mut self) -> Result<(), EngineError> {
        // A bare max(rowid) reads the last b-tree entry, no scan.
        let max_rowid: i64 = self
            .internal(|c| {
                c.prepare_cached("SELECT max(rowid) FROM main.sqlite_schema")?
                    .query_row([], |r| r.get::<_, Option<i64>>(0))
            })?
            .unwrap_or(0);
        self.window = Some(Window {
            max_rowid,
            schema_version: self.schema_version()?,
            total_changes: self.total_changes(),
            ..Window::default()
        });
        Ok(())
    }

    fn observe_stop(&mut self) -> Result<Observation, EngineError> {
        let Some(w) = self.window.take() else {
            return Ok(Observation::default());
        };
        if let Some(e) = w.failed {
            return Err(EngineError(format!(
                "could not record what the statements changed: {e}"
            )));
        }
        let schema_changed = self.schema_version()? != w.schema_version;
        let mut schema_before = w.schema_before;
        let mut schema_after = SchemaImage::new();
        if schema_changed || !schema_before.is_empty() {
            let mut rows = self.schema_rows(
                "SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema WHERE rowid > ?1",
                &[&w.max_rowid],
            )?;
            for rowid in &w.rowids {
                rows.extend(self.schema_rows(
                    "SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_schema WHERE rowid = ?1",
                    &[rowid],
                )?);
            }
            // Shadow tables are their virtual table's mechanics: its row
            // says what they are, and one dropped and made again takes new
            // rowids (made at the end of the schema) that the start never
            // saw. A table is left out where it is a shadow table on every
            // side that has it (after: of a virtual table there now).
            let shadows_after = if rows
                .iter()
                .any(|(_, key, text)| key.kind == "table" && schema::is_virtual(text))
            {
                self.shadow_tables()?
            } else {
                BTreeSet::new()
            };
            for (_, key, text) in rows {
                schema_after.insert(key, Some(text));
            }
            let hidden: Vec<ObjectKey> = schema_before
                .keys()
                .chain(schema_after.keys())
                .filter(|k| {
                    k.kind == "table"
                        && (w.shadows.contains(&k.name) || shadows_after.contains(&k.name))
                        && (!schema_before.contains_key(*k) || w.shadows.contains(&k.name))
                        && (!schema_after.contains_key(*k) || shadows_after.contains(&k.name))
                })
                .cloned()
                .collect();
            for k in &hidden {
                schema_before.remove(k);
                schema_after.remove(k);
            }
            for k in schema_before.keys() {
                schema_after.entry(k.clone()).or_insert(None);
            }
            for k in schema_after.keys() {
                schema_before.entry(k.clone()).or_insert(None);
            }
        }
        let mut data_after = BTreeMap::new();
        let mut held = w.held;
        for t in w.data_before.keys() {
            data_after.insert(t.clone(), self.snapshot(t, &mut held)?);
        }
        let nothing_written = !schema_changed && self.total_changes() == w.total_changes;
        Ok(Observation {
            schema_before,
            schema_after,
            data_before: w.data_before,
            data_after,
            internal_tables: w.internal,
            writers: w.writers,
            schema_writers: w.schema_writers,
            nothing_written,
            sequences: BTreeMap::new(),
        })
    }

    fn end_run(&mut self) -> Result<(), EngineError> {
        let temp: Vec<(String, String)> = self.internal(|c| {
            let mut st = c.prepare_cached(
                "SELECT type, name FROM temp.sqlite_schema \
                 WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite_%'",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })?;
        for (kind, name) in temp {
            let kw = match kind.as_str() {
                "view" => "VIEW",
                "trigger" => "TRIGGER",
                _ => "TABLE",
            };
            self.batch(&format!("DROP {kw} IF EXISTS temp.{}", quote(&name)))?;
        }
        Ok(())
    }

    fn seed(&mut self) -> Result<Vec<String>, EngineError> {
        seed::seed(self)
    }

    fn unseed(&mut self) -> Result<bool, EngineError> {
        seed::unseed(self)
    }
}

impl SqliteEngine {
    /// See [`crate::replay::engine::Engine::interleave`]; tables of the
    /// set-up are left alone.
    pub fn interleave(
        &mut self,
        tables: &BTreeSet<String>,
    ) -> Result<Vec<(String, TableData, TableData)>, EngineError> {
        let tables: BTreeSet<String> = tables.difference(&self.setup_tables).cloned().collect();
        seed::interleave(self, &tables)
    }

    /// See [`crate::replay::engine::Engine::put_back`].
    pub fn put_back(&mut self) -> Result<(), EngineError> {
        seed::put_back(self)
    }

    /// Records the tables that exist now as tables of the set-up.
    pub(crate) fn note_setup_tables(&mut self) {
        if let Ok(t) = seed::user_tables(self) {
            self.setup_tables
                .extend(t.into_iter().map(|t| t.to_ascii_lowercase()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::limits::Limit;
    use std::time::Duration;

    /// The object an error names, missing or already there, as the
    /// grouping of follow-on failures reads it.
    #[test]
    fn the_object_an_error_names() {
        for (message, name) in [
            ("no such column: b.status", Some("status")),
            ("no such table: main.t", Some("t")),
            ("duplicate column name: legacy_id", Some("legacy_id")),
            ("table \"billing\" already exists", Some("billing")),
            ("index i already exists", Some("i")),
            ("UNIQUE constraint failed: t.k", None),
        ] {
            assert_eq!(
                named_object(error_class(message), message).as_deref(),
                name,
                "{message}"
            );
        }
    }

    fn engine() -> SqliteEngine {
        let cfg = SandboxConfig {
            timeout: Duration::from_millis(200),
            ..SandboxConfig::default()
        };
        SqliteEngine::open(&cfg).expect("open")
    }

    fn count(e: &SqliteEngine, table: &str) -> i64 {
        e.connection()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }

    /// A withdrawal forgets the synthetic rows a migration deleted, and the
    /// values they were given: looking for them at every withdrawal made
    /// each one slower than the last on a long history.
    #[test]
    fn a_withdrawal_forgets_rows_a_migration_deleted() {
        let mut e = engine();
        e.batch("CREATE TABLE a (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            .expect("table");
        seed::seed(&mut e).expect("seed");
        assert!(count(&e, "a") > 0);
        assert!(!e.seeded.is_empty() && !e.synthetic_values.is_empty());
        // A migration deletes them.
        e.batch("DELETE FROM a").expect("delete");
        assert!(!seed::unseed(&mut e).expect("unseed"), "nothing to delete");
        assert!(e.seeded.is_empty(), "{} records left", e.seeded.len());
        assert!(e.synthetic_values.is_empty(), "{:?}", e.synthetic_values);
    }

    /// A synthetic row the database will not delete yet (here a
    /// migration's trigger refuses) stays, with its values; a later
    /// withdrawal deletes it and forgets them.
    #[test]
    fn a_withdrawal_keeps_a_row_it_may_not_delete_yet() {
        let mut e = engine();
        e.batch(
            "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT NOT NULL); \
             CREATE TABLE q (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        )
        .expect("tables");
        seed::seed(&mut e).expect("seed");
        assert!(e.seeded.len() >= 2);
        let id: i64 = e
            .connection()
            .query_row("SELECT min(id) FROM p", [], |r| r.get(0))
            .expect("id");
        e.batch(&format!(
            "CREATE TRIGGER keep BEFORE DELETE ON p WHEN old.id = {id} \
             BEGIN SELECT RAISE(ABORT, 'kept'); END"
        ))
        .expect("trigger");
        assert!(seed::unseed(&mut e).expect("unseed"));
        assert_eq!(count(&e, "q"), 0);
        assert_eq!(count(&e, "p"), 1, "refused by the trigger");
        assert_eq!(e.seeded.len(), 1);
        let kept = e.seeded[0].remembered();
        assert!(!kept.is_empty());
        // Its values stay (it holds them: the delete of the rows holding
        // them was refused too, and all stay while one is).
        assert!(kept.iter().all(|v| e.synthetic_values.contains(v)));
        // Allowed now: the next withdrawal deletes it.
        e.batch("DROP TRIGGER keep").expect("drop");
        assert!(seed::unseed(&mut e).expect("unseed"));
        assert_eq!(count(&e, "p"), 0);
        assert!(e.seeded.is_empty() && e.synthetic_values.is_empty());
    }

    #[test]
    fn a_copy_holds_the_data_and_settings_and_is_independent() {
        let mut e = engine();
        e.run_setup_statement("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
            .expect("setup");
        e.apply_foreign_keys(true).expect("fk");
        let copy = e.fork().expect("a copy");
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .expect("count")
        };
        assert_eq!(count(copy.connection()), 2);
        let fk: i64 = copy
            .connection()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .expect("fk");
        assert_eq!(fk, 1);
        copy.connection()
            .execute_batch("INSERT INTO t VALUES (3)")
            .expect("insert");
        assert_eq!(count(copy.connection()), 3);
        assert_eq!(count(e.connection()), 2);
    }

    #[test]
    fn the_sandbox_holds_on_a_copy() {
        let e = engine();
        let mut copy = e.fork().expect("a copy");
        let c = copy.connection();
        assert_eq!(c.limit(Limit::SQLITE_LIMIT_ATTACHED), Ok(0));
        assert_eq!(c.limit(Limit::SQLITE_LIMIT_LENGTH), Ok(sandbox::MAX_LENGTH));
        let attach = copy
            .run_setup_statement("ATTACH DATABASE '/tmp/twice-copy.db' AS other")
            .expect_err("ATTACH refused");
        assert!(attach.contains("replay never touches files"), "{attach}");
        let ext = copy
            .run_setup_statement("SELECT load_extension('/tmp/twice-copy.so')")
            .expect_err("load_extension refused");
        assert!(ext.contains("never loads extensions"), "{ext}");
        let vacuum = copy
            .run_setup_statement("VACUUM INTO '/tmp/twice-copy.db'")
            .expect_err("VACUUM INTO refused");
        assert!(vacuum.contains("replay never touches files"), "{vacuum}");
        let forever = copy
            .run_setup_statement(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                 SELECT count(*) FROM c",
            )
            .expect_err("stopped at the time limit");
        assert!(forever.contains("time limit"), "{forever}");
        assert!(!std::path::Path::new("/tmp/twice-copy.db").exists());
        use rusqlite::config::DbConfig;
        let c = copy.connection();
        assert_eq!(c.db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE), Ok(true));
        assert_eq!(
            c.db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA),
            Ok(false)
        );
        let writable = copy
            .run_setup_statement("PRAGMA writable_schema = ON")
            .expect_err("writable_schema refused");
        assert!(writable.contains("writable_schema"), "{writable}");
    }

    /// A database past [`COPY_MAX_BYTES`] is not copied for a second run
    /// (each copy costs its size): the trial runs it in place.
    #[test]
    fn a_database_past_the_copy_size_is_not_copied() {
        let mut e = engine();
        e.run_setup_statement("CREATE TABLE t (x BLOB);")
            .expect("setup");
        assert!(e.image().is_some(), "a small database is copied");
        e.run_setup_statement(&format!(
            "INSERT INTO t VALUES (zeroblob({}));",
            COPY_MAX_BYTES + 4096
        ))
        .expect("a large row");
        assert!(e.image().is_none(), "a large one is not");
    }

    #[test]
    fn a_copy_taken_inside_a_trial_holds_its_uncommitted_state() {
        let mut e = engine();
        e.run_setup_statement("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .expect("setup");
        e.begin(&[]).expect("begin");
        e.batch("INSERT INTO t VALUES (2); CREATE TABLE u (y)")
            .expect("writes");
        assert!(e.image().is_none(), "not between runs");
        let copy = e
            .image_in_trial()
            .expect("an image")
            .open()
            .expect("a copy");
        e.rollback().expect("rollback");
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .expect("count")
        };
        assert_eq!(count(copy.connection()), 2);
        assert_eq!(count(e.connection()), 1);
        let tables = |c: &Connection| -> i64 {
            c.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'u'",
                [],
                |r| r.get(0),
            )
            .expect("schema")
        };
        assert_eq!(tables(copy.connection()), 1);
        assert_eq!(tables(e.connection()), 0);
        assert!(copy.autocommit(), "the copy starts outside a transaction");
    }

    #[test]
    fn no_copy_once_a_pragma_changed_the_connection_or_one_waits() {
        let mut e = engine();
        assert!(e.fork().is_some());
        e.fk_pending = Some(true);
        assert!(e.fork().is_none(), "a PRAGMA foreign_keys waits");
        e.fk_pending = None;
        e.run_setup_statement("PRAGMA recursive_triggers = ON")
            .expect("pragma");
        assert!(e.fork().is_none(), "a setting of the connection");
    }

    #[test]
    fn second_runs_with_pragmas_triggers_or_foreign_keys_stay_on_the_engine() {
        use super::part::second_run_forkable as ok;
        assert!(ok(&["CREATE TABLE a (x)", "INSERT INTO a VALUES (1)"]));
        assert!(ok(&[
            "PRAGMA foreign_keys = OFF",
            "BEGIN",
            "CREATE TABLE a (x)"
        ]));
        assert!(!ok(&["CREATE TABLE a (x)", "PRAGMA foreign_keys = ON"]));
        assert!(!ok(&[
            "PRAGMA recursive_triggers = ON",
            "CREATE TABLE a (x)"
        ]));
        assert!(!ok(&[
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END"
        ]));
        assert!(!ok(&["CREATE TABLE b (a_id INTEGER REFERENCES a (id))"]));
    }
}
