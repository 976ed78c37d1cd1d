//! Running a migration part's statements on the server: modes (in twice's
//! transaction or in autocommit), the per-statement time limit and its
//! watchdog, `COPY ... FROM stdin` rows, and the server's errors turned into
//! engine-neutral failures (message, SQLSTATE, class, position, context).

use super::kind::{self, Kind};
use super::{server, tool_error, Runner};
use crate::analysis::Statement;
use crate::error::Result;
use crate::model::Part;
use crate::replay::engine::{ErrorClass, Failure, FailureKind, Handled, StmtError};
use crate::report::{FileUnit, Workspace};
use postgres::{CancelToken, Client};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a part runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// Inside twice's transaction; stop at the first error.
    FirstInTxn,
    /// Inside twice's transaction; each statement under a savepoint, all
    /// errors reported.
    ObservedInTxn,
    /// Autocommit, stop at the first error (a real no-transaction run).
    FirstAutocommit,
    /// Autocommit, go on after errors.
    ObservedAutocommit,
}

impl Mode {
    /// How a trial step runs: stopping at its first error (a first run) or
    /// going on after each (observed), in twice's transaction or not.
    pub(super) fn of(stop_on_error: bool, in_transaction: bool) -> Mode {
        match (stop_on_error, in_transaction) {
            (true, true) => Mode::FirstInTxn,
            (false, true) => Mode::ObservedInTxn,
            (true, false) => Mode::FirstAutocommit,
            (false, false) => Mode::ObservedAutocommit,
        }
    }

    fn stops(self) -> bool {
        matches!(self, Mode::FirstInTxn | Mode::FirstAutocommit)
    }
}

/// Statements tagged for the DDL log carry `step * TAG_STRIDE + statement`.
pub(super) const TAG_STRIDE: usize = 1 << 24;

/// What running a part reported.
#[derive(Default)]
pub(super) struct PartRun {
    pub failures: Vec<Failure>,
    pub handled: Vec<Handled>,
    /// The connection was lost (and re-opened): the open transaction, if
    /// any, is gone.
    pub lost: bool,
    /// A statement ran without error (outside a transaction, what it did
    /// stays even when a later one fails).
    pub ran: bool,
}

/// What a part run in one round trip gave.
pub(super) enum Batched {
    /// Every statement ran (or the part was run statement by statement,
    /// with its failures).
    Ran(PartRun),
    /// A statement failed, or the batch could not be told to have run as
    /// twice reads it: the caller rolls back its transaction, puts the
    /// sequences back ([`Runner::undo_batch`]) and runs the part again
    /// statement by statement, which attributes the failure.
    Failed,
}

/// Whether a statement may run in a batch with others: not `COPY` (its data
/// follows it on the wire), not lexically broken (an open quote or comment
/// would swallow the statements after it), and not touching
/// `standard_conforming_strings` (checked after each statement instead: the
/// server reads a whole batch with the setting it had when the batch
/// arrived, but a `DO` block after the change would not).
fn batchable(file: &FileUnit, stmt: &Statement) -> bool {
    let text = &file.source.text;
    stmt.lex_error.is_none()
        && !stmt
            .tokens
            .first()
            .is_some_and(|t| text[t.span.clone()].eq_ignore_ascii_case("copy"))
        && !stmt
            .sql
            .to_ascii_lowercase()
            .contains("standard_conforming_strings")
}

/// Cancels the running query when a statement outlives its time limit by
/// more than a second (the server's `statement_timeout` normally fires
/// first; this catches migrations that turn it off), and terminates its
/// backend [`TERMINATE_GRACE`] later when it is still running (a statement
/// that catches `query_canceled` in a loop).
pub(super) struct Watchdog {
    slot: Arc<Mutex<Option<Armed>>>,
    stop: Arc<AtomicBool>,
    terminated: Arc<AtomicBool>,
    /// The throwaway cluster's data folder grew past the limit.
    grew: Arc<AtomicBool>,
}

/// How long after the cancel the backend is terminated.
const TERMINATE_GRACE: Duration = Duration::from_secs(3);

struct Armed {
    deadline: Instant,
    token: CancelToken,
    backend: i32,
    cancelled: bool,
}

impl Watchdog {
    /// `data`: the throwaway cluster's data folder, whose growth past
    /// `limit` (from its size now) stops the running statement.
    pub(super) fn start(
        terminator: server::Terminator,
        data: Option<std::path::PathBuf>,
        limit: u64,
    ) -> Watchdog {
        use crate::replay::DataWatch;
        let slot: Arc<Mutex<Option<Armed>>> = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let terminated = Arc::new(AtomicBool::new(false));
        let grew = Arc::new(AtomicBool::new(false));
        let (s, st, term, gr) = (slot.clone(), stop.clone(), terminated.clone(), grew.clone());
        let mut watch = DataWatch::new(data, limit);
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let mut g = s.lock().unwrap_or_else(|p| p.into_inner());
                let Some(a) = g.as_mut() else { continue };
                if !a.cancelled && watch.as_mut().is_some_and(DataWatch::over) {
                    gr.store(true, Ordering::SeqCst);
                } else if Instant::now() < a.deadline {
                    continue;
                }
                if !a.cancelled {
                    let _ = a.token.cancel_query(postgres::NoTls);
                    a.cancelled = true;
                    a.deadline = Instant::now() + TERMINATE_GRACE;
                } else {
                    let backend = a.backend;
                    *g = None;
                    drop(g);
                    term.store(true, Ordering::SeqCst);
                    terminator.terminate(backend);
                }
            }
        });
        Watchdog {
            slot,
            stop,
            terminated,
            grew,
        }
    }

    /// Watches the statement now starting on the backend `backend`, whose
    /// cancel token is `token`.
    pub(super) fn arm(&self, deadline: Instant, token: CancelToken, backend: i32) {
        self.grew.store(false, Ordering::SeqCst);
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Armed {
            deadline,
            token,
            backend,
            cancelled: false,
        });
    }

    /// Whether the watchdog had to terminate a backend since the last call.
    pub(super) fn take_terminated(&self) -> bool {
        self.terminated.swap(false, Ordering::SeqCst)
    }

    /// Whether it stopped the statement for the data folder's growth
    /// rather than for the time limit.
    pub(super) fn take_grew(&self) -> bool {
        self.grew.swap(false, Ordering::SeqCst)
    }

    pub(super) fn disarm(&self) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a SQLSTATE means, for the help line.
fn error_class(code: &str, message: &str) -> ErrorClass {
    match code {
        "42710" if message.starts_with("enum label") => ErrorClass::DuplicateEnumValue,
        "42P07" | "42710" | "42723" => ErrorClass::AlreadyExists,
        "42701" => ErrorClass::DuplicateColumn,
        "42883" if message.starts_with("function ") => ErrorClass::UndefinedFunction,
        // (3F000: `schema "x" does not exist`.)
        "42P01" | "42704" | "42883" | "3F000" => ErrorClass::UndefinedObject,
        "42703" => ErrorClass::UndefinedColumn,
        "23505" => ErrorClass::UniqueViolation,
        "42501" => ErrorClass::PermissionDenied,
        "42601" => ErrorClass::Syntax,
        _ => ErrorClass::Other,
    }
}

impl Runner<'_> {
    /// `sql` as sent: [`crate::model::CURRENT_DATABASE`] (a layout's macro
    /// for its tool's current database) becomes the database replay runs in.
    /// So does the database a statement names in `ALTER DATABASE x SET
    /// ...`, `GRANT`/`REVOKE ... ON DATABASE x` and `COMMENT ON DATABASE
    /// x` ([`database_names`]): in production the migration runs in the
    /// database it names (`REVOKE CONNECT ON DATABASE app FROM PUBLIC`),
    /// and replay runs it in its scratch database, never on another one.
    fn sendable<'a>(&self, sql: &'a str) -> std::borrow::Cow<'a, str> {
        let quoted = || format!("\"{}\"", self.db.replace('"', "\"\""));
        let sql: std::borrow::Cow<'a, str> = if sql.contains(crate::model::CURRENT_DATABASE) {
            sql.replace(crate::model::CURRENT_DATABASE, &quoted())
                .into()
        } else {
            sql.into()
        };
        let names = database_names(&sql);
        if names.is_empty() {
            return sql;
        }
        let mut out = sql.to_string();
        for r in names.into_iter().rev() {
            out.replace_range(r, &quoted());
        }
        out.into()
    }
}

/// `ALTER TABLE t ADD COLUMN c ... NOT NULL` without a default that fails
/// with `column "c" of relation "t" contains null values` (23502): the new
/// column is NULL in every row there is, so it fails on any table holding
/// rows, whatever they hold (not for want of a value in twice's synthetic
/// rows, as `SET NOT NULL` on an existing column may).
fn adds_the_null_column(stmt: &Statement, code: &str, message: &str) -> bool {
    use crate::classify::{AlterOp, Kind};
    if code != "23502" || !message.contains("contains null values") {
        return false;
    }
    let Some(column) = message
        .strip_prefix("column \"")
        .and_then(|r| r.split('"').next())
    else {
        return false;
    };
    let Kind::AlterTable(a) = &stmt.facts.kind else {
        return false;
    };
    a.actions
        .iter()
        .any(|act| matches!(&act.op, AlterOp::AddColumn { name, .. } if name.object() == column))
}

/// The name of the object an error is about, without qualifier: the missing
/// one in `relation "team" does not exist`, `column "x" of relation "t"
/// does not exist`, `column b.x does not exist` (a qualified column is
/// printed without quotes), `function f(integer) does not exist`; the one
/// already there in `column "x" of relation "t" already exists`,
/// `relation "t" already exists`.
fn named_object(code: &str, message: &str) -> Option<String> {
    if !matches!(
        code,
        "42P01" | "42704" | "42883" | "42703" | "3F000" | "42P07" | "42710" | "42723" | "42701"
    ) {
        return None;
    }
    // `column b.status`, `function f(integer)`, `procedure p()`, `type
    // vector` (a type named in a function's arguments): printed without
    // quotes (but for a part that needs them, `b."Status"`).
    let unquoted = |prefix: &str| -> Option<String> {
        let rest = message.strip_prefix(prefix)?;
        if rest.starts_with('"') {
            return None;
        }
        let rest = rest.split(" does not exist").next()?;
        let rest = rest.split(['(', '[']).next()?.trim();
        Some(rest.rsplit('.').next()?.trim_matches('"').to_string())
    };
    let name = match ["column ", "function ", "procedure ", "type "]
        .iter()
        .find_map(|p| unquoted(p))
    {
        Some(name) => name,
        None => {
            let quoted = message.split('"').nth(1)?;
            quoted.rsplit('.').next()?.to_string()
        }
    };
    (!name.is_empty()).then_some(name)
}

/// The byte offset in the file of character `chars` of the statement's SQL,
/// when the SQL is the file text (no substitution). One past the last
/// character (`syntax error at end of input`) is the statement's last
/// character.
fn char_offset(file: &FileUnit, stmt: &Statement, chars: usize) -> Option<usize> {
    let text = &file.source.text[stmt.span.clone()];
    if text != stmt.sql {
        return None;
    }
    match text.char_indices().nth(chars) {
        Some((b, _)) => Some(stmt.span.start + b),
        None if chars == text.chars().count() => {
            text.char_indices().last().map(|(b, _)| stmt.span.start + b)
        }
        None => None,
    }
}

/// A `CREATE`/`DROP DATABASE` of a database the script then connects to
/// (`CREATE DATABASE app; \connect app`, as Docker init scripts do): not
/// run, as the rest of the script runs in the scratch database (psql's
/// `\connect` is a client command replay never runs).
fn own_database(
    source: &crate::source::SourceFile,
    stmt: &crate::analysis::Statement,
    connected: &std::collections::BTreeSet<String>,
) -> Option<Handled> {
    if connected.is_empty() {
        return None;
    }
    let (create, name) = kind::database_named(source, stmt)?;
    connected.contains(&name).then(|| Handled {
        stmt: stmt.index,
        span: stmt.span.clone(),
        text: format!(
            "not run: it {} the database `{name}` the script then connects to (`\\connect \
             {name}`); replay runs the script in its scratch database instead",
            if create { "creates" } else { "drops" }
        ),
        help: None,
    })
}

/// A query psql ends with `\gexec` (it runs each value of the result as a
/// statement of its own), not run: the statements are made by the query,
/// and replay runs what the file holds.
fn gexec_skipped(text: &str, stmt: &crate::analysis::Statement) -> Option<Handled> {
    crate::split::ends_with_gexec(text, stmt.terminator.as_ref()).then(|| Handled {
        stmt: stmt.index,
        span: stmt.span.clone(),
        text: "not run: psql's `\\gexec` runs each value this query returns as a statement of \
               its own, which replay does not do; the statements it makes are not checked"
            .into(),
        help: Some(
            "to have them checked, write the statements the query makes into the migration \
             (or a copy of it that you run `twice check` on)"
                .into(),
        ),
    })
}

/// A `SET TRANSACTION ...` right after the migration's own `BEGIN`, not
/// sent (see [`kind::set_transaction_after_begin`]).
fn set_transaction_skipped(stmt: &crate::analysis::Statement) -> Handled {
    Handled {
        stmt: stmt.index,
        span: stmt.span.clone(),
        text: "not run: it sets the mode of the transaction the migration's `BEGIN` starts, \
               and replay runs the migration inside a transaction of its own that has already \
               run queries, where PostgreSQL refuses `SET TRANSACTION` (SQLSTATE 25001); the \
               statements after it run in replay's transaction as it is (the server's default \
               isolation level), which one session alone does not tell apart"
            .into(),
        help: None,
    }
}

impl Runner<'_> {
    /// Whether a part must run outside a transaction block: it is marked
    /// so, or it holds a statement PostgreSQL refuses inside one and no
    /// tool wraps it in a transaction (a tool that does runs it in its
    /// transaction, where the server refuses the statement: the first run
    /// fails as the tool's would).
    pub(super) fn needs_autocommit(&self, ws: &Workspace, part: &Part) -> bool {
        if part.no_transaction {
            return true;
        }
        if part.tool_transaction {
            return false;
        }
        let file = &ws.files[part.file];
        let connected = kind::connected_databases(&file.source.text);
        self.autocommit_parts.contains(&part_key(part))
            || part.statements.iter().any(|&i| {
                file.statements.get(i).is_some_and(|s| {
                    kind::classify(&file.source, s) == Kind::NoTransaction
                        && own_database(&file.source, s, &connected).is_none()
                })
            })
    }

    /// Runs a part's statements. In the stopping modes the run stops at the
    /// first failure. `tag`: the step number, to tell the DDL log which
    /// statement of which step made each change.
    pub(super) fn run_part(
        &mut self,
        ws: &Workspace,
        part: &Part,
        mode: Mode,
        tag: Option<usize>,
    ) -> Result<PartRun> {
        let file = &ws.files[part.file];
        let in_txn = matches!(mode, Mode::FirstInTxn | Mode::ObservedInTxn);
        let connected = kind::connected_databases(&file.source.text);
        let set_after_begin = kind::set_transaction_after_begin(file, part);
        let mut out = PartRun::default();
        for &i in &part.statements {
            let Some(stmt) = file.statements.get(i) else {
                continue;
            };
            if stmt.sql.trim().is_empty() {
                continue;
            }
            // An undefined `${placeholder}` keeps the text from running as
            // written; `undefined-placeholder` reports it.
            if ws.unresolved.contains(&(part.file, i)) {
                out.handled
                    .push(Handled::unresolved_placeholder(i, stmt.span.clone()));
                continue;
            }
            if let Some(h) = gexec_skipped(&file.source.text, stmt) {
                out.handled.push(h);
                continue;
            }
            let k = kind::classify(&file.source, stmt);
            if in_txn && k == Kind::TxnControl {
                continue;
            }
            if in_txn && set_after_begin.contains(&i) {
                out.handled.push(set_transaction_skipped(stmt));
                continue;
            }
            if let Some(h) = own_database(&file.source, stmt, &connected) {
                out.handled.push(h);
                continue;
            }
            // What the server decides to send (see `Server::sends`): on a
            // --database-url server no server-wide statement, on the
            // throwaway cluster all but role statements where the migration
            // role may not create roles.
            if let Some(what) = kind::server_wide(&file.source, stmt)
                .filter(|_| !self.server.sends(kind::changes_roles(&file.source, stmt)))
            {
                let (text, help) = self
                    .server
                    .make_migration_role(&stmt.sql, what)
                    .unwrap_or_else(|| self.server.skipped(what));
                out.handled.push(Handled {
                    stmt: stmt.index,
                    span: stmt.span.clone(),
                    text,
                    help: Some(help),
                });
                continue;
            }
            // One savepoint per statement, never released: releasing would
            // also release savepoints the migration made itself.
            let mut prefix = String::new();
            if mode == Mode::ObservedInTxn {
                prefix.push_str("SAVEPOINT twice_s; ");
            }
            if let (true, Some(step)) = (self.events, tag) {
                // Tells the event trigger which statement runs. Sent apart in
                // autocommit mode: a multi-statement string is a transaction.
                let set = format!(
                    "SELECT set_config('twice.stmt', '{}', false);",
                    step * TAG_STRIDE + stmt.index
                );
                if in_txn {
                    prefix.push_str(&set);
                } else {
                    self.exec_admin(&set)?;
                }
            }
            if !prefix.is_empty() {
                prefix.push('\n');
            }
            let copy = crate::split::copy_from_stdin(&file.source.text, &stmt.tokens)
                .then(|| stmt.terminator.as_ref().map(|t| t.end))
                .flatten();
            let (result, prefix_chars) = match copy {
                // psql sends the rows after `COPY ... FROM stdin;` as COPY
                // data; so does twice.
                Some(after) => {
                    let data = crate::split::copy_data(&file.source.text, after);
                    let rows = file.source.text[data].as_bytes().to_vec();
                    // (No position of the probe's maps to the statement.)
                    (self.timed_copy(&prefix, &stmt.sql, &rows), usize::MAX / 2)
                }
                // psql prints the rows of `COPY ... TO STDOUT`; twice reads
                // and drops them (the client library refuses the rows of a
                // COPY sent as a plain query).
                None if crate::split::copy_to_stdout(&file.source.text, &stmt.tokens) => {
                    (self.timed_copy_out(&prefix, &stmt.sql), usize::MAX / 2)
                }
                None => {
                    let sql = format!("{prefix}{}", self.sendable(&stmt.sql));
                    (self.timed(&sql), prefix.chars().count())
                }
            };
            let Err(e) = result else {
                // What twice read must be what the server runs.
                super::setup::check_session(&mut self.client, &file.source, stmt)?;
                out.ran = true;
                continue;
            };
            crate::replay::interrupt::wait_if_interrupted();
            if self.connection_lost(&e) {
                out.failures
                    .push(self.failure(file, stmt, &e, prefix_chars));
                self.reconnect()?;
                out.lost = true;
                return Ok(out);
            }
            let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
            // After a failure inside the migration's own BEGIN block (in
            // autocommit mode), the rest fails with 25P02: not news.
            if code == "25P02" && mode == Mode::ObservedAutocommit {
                continue;
            }
            out.failures
                .push(self.failure(file, stmt, &e, prefix_chars));
            if mode.stops() {
                return Ok(out);
            }
            if mode == Mode::ObservedInTxn {
                self.exec_admin("ROLLBACK TO SAVEPOINT twice_s")?;
            }
        }
        Ok(out)
    }

    /// Runs a part inside twice's transaction in one round trip: `lead`
    /// (commands of twice's own, such as the step's savepoint), then each
    /// statement with what `run_part` sends before it (its savepoint, its
    /// tag for the DDL log), then `SHOW standard_conforming_strings`, all in
    /// one simple-query message. PostgreSQL 13+ applies `statement_timeout`
    /// to each statement of such a message; the watchdog gives the whole
    /// batch the time of one statement, and a batch that outlives it is
    /// [`Batched::Failed`] and runs again statement by statement, under the
    /// usual limits. The server answers each command with one
    /// `CommandComplete`: a batch whose count differs (twice did not split
    /// it as the server did) is `Failed` too. Parts that cannot run so
    /// (outside a transaction, `COPY`, see [`batchable`]) run statement by
    /// statement at once, after `lead`.
    pub(super) fn run_part_batched(
        &mut self,
        ws: &Workspace,
        part: &Part,
        mode: Mode,
        tag: Option<usize>,
        lead: &[String],
    ) -> Result<(Batched, Option<String>)> {
        let file = &ws.files[part.file];
        let connected = kind::connected_databases(&file.source.text);
        let can = matches!(mode, Mode::FirstInTxn | Mode::ObservedInTxn)
            && self.server.version_num >= 130000
            && part
                .statements
                .iter()
                .all(|&i| file.statements.get(i).is_none_or(|s| batchable(file, s)));
        if !can {
            let mut first = None;
            if !lead.is_empty() {
                let messages = self
                    .client
                    .simple_query(&lead.join(";\n"))
                    .map_err(|e| tool_error("replay bookkeeping failed", &e))?;
                first = first_value(&messages);
            }
            let run = self.run_part(ws, part, mode, tag)?;
            return Ok((Batched::Ran(run), first));
        }
        let set_after_begin = kind::set_transaction_after_begin(file, part);
        let mut out = PartRun::default();
        let mut sql = String::new();
        let mut expected = 0usize;
        for l in lead {
            sql.push_str(l);
            sql.push_str(";\n");
            expected += 1;
        }
        for &i in &part.statements {
            let Some(stmt) = file.statements.get(i) else {
                continue;
            };
            if stmt.sql.trim().is_empty() {
                continue;
            }
            if ws.unresolved.contains(&(part.file, i)) {
                out.handled
                    .push(Handled::unresolved_placeholder(i, stmt.span.clone()));
                continue;
            }
            if let Some(h) = gexec_skipped(&file.source.text, stmt) {
                out.handled.push(h);
                continue;
            }
            if kind::classify(&file.source, stmt) == Kind::TxnControl {
                continue;
            }
            if set_after_begin.contains(&i) {
                out.handled.push(set_transaction_skipped(stmt));
                continue;
            }
            if let Some(h) = own_database(&file.source, stmt, &connected) {
                out.handled.push(h);
                continue;
            }
            if let Some(what) = kind::server_wide(&file.source, stmt)
                .filter(|_| !self.server.sends(kind::changes_roles(&file.source, stmt)))
            {
                let (text, help) = self
                    .server
                    .make_migration_role(&stmt.sql, what)
                    .unwrap_or_else(|| self.server.skipped(what));
                out.handled.push(Handled {
                    stmt: stmt.index,
                    span: stmt.span.clone(),
                    text,
                    help: Some(help),
                });
                continue;
            }
            if mode == Mode::ObservedInTxn {
                sql.push_str("SAVEPOINT twice_s;\n");
                expected += 1;
            }
            if let (true, Some(step)) = (self.events, tag) {
                sql.push_str(&format!(
                    "SELECT set_config('twice.stmt', '{}', false);\n",
                    step * TAG_STRIDE + stmt.index
                ));
                expected += 1;
            }
            // A line break before the `;`: the statement may end in a `--`
            // comment.
            sql.push_str(&self.sendable(&stmt.sql));
            sql.push_str("\n;\n");
            if !stmt.tokens.is_empty() {
                expected += 1;
            }
        }
        // In the same message, so that no idle moment comes between: a
        // migration's `SET idle_in_transaction_session_timeout = '1ms'`
        // would end twice's session while it reads the state (the setting
        // governs how long a session may idle, and twice's idling is its
        // own, not the migration's); for the rest of twice's transaction.
        sql.push_str(super::setup::IDLE_PIN);
        sql.push_str(";\n");
        expected += 1;
        sql.push_str("SHOW standard_conforming_strings");
        expected += 1;
        match self.timed_with(|c| c.simple_query(&sql)) {
            Ok(messages) => {
                let mut completes = 0;
                let mut last = None;
                for m in &messages {
                    match m {
                        postgres::SimpleQueryMessage::CommandComplete(_) => completes += 1,
                        // A migration's `SELECT FROM t` has rows of no column.
                        postgres::SimpleQueryMessage::Row(r) => {
                            last = r.try_get(0).ok().flatten().map(str::to_string)
                        }
                        _ => {}
                    }
                }
                if completes != expected || last.as_deref() != Some("on") {
                    return Ok((Batched::Failed, None));
                }
                Ok((Batched::Ran(out), first_value(&messages)))
            }
            Err(e) => {
                crate::replay::interrupt::wait_if_interrupted();
                // The statement-by-statement run decides what it was.
                self.watchdog.take_terminated();
                if self.connection_lost(&e) {
                    self.reconnect()?;
                }
                Ok((Batched::Failed, None))
            }
        }
    }

    /// Runs `work` on the connection under the time limit (the watchdog
    /// cancels it a second after `--timeout`).
    fn timed_with<T>(
        &mut self,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, postgres::Error> {
        let grace = self.opts.timeout + Duration::from_secs(1);
        self.watchdog.arm(
            Instant::now() + grace,
            self.client.cancel_token(),
            self.backend_pid,
        );
        let r = work(&mut self.client);
        self.watchdog.disarm();
        r
    }

    /// Runs one statement under the time limit.
    fn timed(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.timed_with(|c| c.batch_execute(sql))
    }

    /// Runs `prefix`, then `COPY ... FROM stdin` fed with `rows`, under the
    /// time limit. A COPY the server refuses before it takes data (a table
    /// or column that is not there) leaves the client library's connection
    /// out of step with the server (the next query fails with "unexpected
    /// message" and the connection closes), so what such a refusal would
    /// name is first looked up with a query that takes no data
    /// ([`copy_probe`]): its error stands for the COPY's.
    fn timed_copy(&mut self, prefix: &str, sql: &str, rows: &[u8]) -> Result<(), postgres::Error> {
        use std::io::Write;
        self.timed_with(|c| {
            if !prefix.trim().is_empty() {
                c.batch_execute(prefix)?;
            }
            if let Some(probe) = copy_probe(sql) {
                c.batch_execute(&probe)?;
            }
            let mut w = c.copy_in(sql)?;
            // A write error surfaces from finish() as the server's error.
            let _ = w.write_all(rows);
            w.finish().map(|_| ())
        })
    }

    /// Runs `prefix`, then `COPY ... TO STDOUT`, reading and dropping its
    /// rows, under the time limit.
    fn timed_copy_out(&mut self, prefix: &str, sql: &str) -> Result<(), postgres::Error> {
        self.timed_with(|c| {
            if !prefix.trim().is_empty() {
                c.batch_execute(prefix)?;
            }
            let mut r = c.copy_out(sql)?;
            // An error while the rows come (a cancel at the time limit)
            // is the server's, inside the reader's.
            match std::io::copy(&mut r, &mut std::io::sink()) {
                Ok(_) => Ok(()),
                Err(e) => match e
                    .into_inner()
                    .map(|inner| inner.downcast::<postgres::Error>())
                {
                    Some(Ok(pg)) => Err(*pg),
                    _ => Ok(()),
                },
            }
        })
    }

    fn failure(
        &self,
        file: &FileUnit,
        stmt: &Statement,
        e: &postgres::Error,
        prefix_chars: usize,
    ) -> Failure {
        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        let context = e
            .as_db_error()
            .and_then(|db| db.where_())
            .map(|w| crate::replay::engine::bounded_error_text(w.to_string()).into());
        let (message, at) = match e.as_db_error() {
            Some(db) => {
                let mut msg = db.message().to_string();
                if let Some(d) = db.detail() {
                    msg.push_str(&format!(" ({d})"));
                }
                let at = match db.position() {
                    Some(postgres::error::ErrorPosition::Original(p)) => {
                        char_offset(file, stmt, (*p as usize).saturating_sub(1 + prefix_chars))
                    }
                    _ => None,
                };
                (msg, at)
            }
            None if self.client.is_closed() => {
                (format!("the server closed the connection: {e}"), None)
            }
            None => (e.to_string(), None),
        };
        // Terminated by the watchdog: the statement ignored the cancel.
        let terminated = self.watchdog.take_terminated();
        let grew = self.watchdog.take_grew();
        let kind = if grew {
            FailureKind::Limit
        } else if code == "57014" || terminated {
            FailureKind::Timeout
        } else {
            FailureKind::Error
        };
        let message = if grew {
            crate::replay::data_limit_message(
                "cluster",
                self.opts.data_limit.unwrap_or(crate::replay::DATA_LIMIT),
            )
        } else {
            message
        };
        Failure {
            stmt: stmt.index,
            span: stmt.span.clone(),
            at: at.unwrap_or(stmt.span.start),
            error: StmtError {
                class: if adds_the_null_column(stmt, &code, &message) {
                    ErrorClass::FailsOnRows
                } else {
                    error_class(&code, &message)
                },
                object: named_object(&code, &message).map(Into::into),
                code: (!code.is_empty()).then(|| code.into()),
                context,
                ..StmtError::new(kind, message)
            },
        }
    }

    /// Whether `e` ended the session (the backend was terminated, the
    /// server went away): the client may not know yet, so it is asked.
    fn connection_lost(&mut self, e: &postgres::Error) -> bool {
        let code = e.code().map(|c| c.code()).unwrap_or("");
        self.client.is_closed()
            || code.starts_with("57P")
            || code.starts_with("08")
            || (e.as_db_error().is_none() && self.client.is_valid(Duration::from_secs(2)).is_err())
    }

    pub(super) fn reconnect(&mut self) -> Result<()> {
        self.client = self.server.connect_to(&self.db)?;
        self.catalog = None;
        self.setup_session()
    }

    pub(super) fn exec_admin(&mut self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .map_err(|e| tool_error("replay bookkeeping failed", &e))
    }
}

/// The first column of the first row among `messages`.
fn first_value(messages: &[postgres::SimpleQueryMessage]) -> Option<String> {
    messages.iter().find_map(|m| match m {
        postgres::SimpleQueryMessage::Row(r) => r.try_get(0).ok().flatten().map(str::to_string),
        _ => None,
    })
}

/// Identifies a part across calls (its file and first statement).
pub(super) fn part_key(part: &Part) -> (usize, Option<usize>) {
    (part.file, part.statements.first().copied())
}

/// The tokens of `sql` read as PostgreSQL, without whitespace and comments.
fn significant_tokens(sql: &str) -> Vec<crate::lexer::Token> {
    crate::lexer::Lexer::new(sql, 0..sql.len(), crate::dialect::Dialect::Postgres)
        .filter(|t| !t.kind.is_trivia())
        .collect()
}

/// Where `sql` names a database it changes or grants on: the name of
/// `ALTER DATABASE name SET|RESET ...`, the names after `ON DATABASE` of a
/// `GRANT` or `REVOKE`, and of `COMMENT ON DATABASE name IS ...`. Other
/// `ALTER DATABASE` forms (rename, owner, tablespace) are left as written.
pub(super) fn database_names(sql: &str) -> Vec<std::ops::Range<usize>> {
    let head = sql.trim_start().get(..8).unwrap_or("").to_ascii_uppercase();
    if !["ALTER", "GRANT", "REVOKE", "COMMENT"]
        .iter()
        .any(|w| head.starts_with(w))
    {
        return Vec::new();
    }
    let toks = significant_tokens(sql);
    let t = crate::classify::Toks {
        text: sql,
        toks: &toks,
        dialect: crate::dialect::Dialect::Postgres,
    };
    let one = |i: usize| t.name(i).map(|_| vec![t.span(i)]).unwrap_or_default();
    if t.kw(0, "ALTER") && t.kw(1, "DATABASE") {
        return if t.kw_any(3, &["SET", "RESET"]) {
            one(2)
        } else {
            Vec::new()
        };
    }
    if t.kw(0, "COMMENT") && t.kw(1, "ON") && t.kw(2, "DATABASE") {
        return one(3);
    }
    if t.kw(0, "GRANT") || t.kw(0, "REVOKE") {
        let Some(on) = (1..t.len()).find(|&i| t.kw(i, "ON")) else {
            return Vec::new();
        };
        if !t.kw(on + 1, "DATABASE") {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut i = on + 2;
        while t.name(i).is_some() && !t.kw_any(i, &["TO", "FROM"]) {
            out.push(t.span(i));
            if !t.punct(i + 1, ",") {
                break;
            }
            i += 2;
        }
        return out;
    }
    Vec::new()
}

/// For `COPY name [(columns)] FROM stdin ...`: `SELECT columns FROM name
/// LIMIT 0`, which fails as the COPY would before taking data when the
/// table or a column is not there, and otherwise reads nothing. `None` for
/// another shape (the COPY then runs as written).
pub(super) fn copy_probe(sql: &str) -> Option<String> {
    let toks = significant_tokens(sql);
    let t = crate::classify::Toks {
        text: sql,
        toks: &toks,
        dialect: crate::dialect::Dialect::Postgres,
    };
    if !t.kw(0, "COPY") {
        return None;
    }
    let (name, after) = t.name(1)?;
    let from = t.skip_parens(after);
    if !t.kw(from, "FROM") {
        return None;
    }
    let columns = if from > after {
        let close = t.close_paren(after);
        if close <= after + 1 {
            return None;
        }
        &sql[t.span_of(after + 1..close)]
    } else {
        "1"
    };
    Some(format!(
        "SELECT {columns} FROM {} LIMIT 0",
        &sql[name.span.clone()]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_name_a_database_are_found() {
        let names = |sql: &str| -> Vec<String> {
            database_names(sql)
                .into_iter()
                .map(|r| sql[r].to_string())
                .collect()
        };
        assert_eq!(
            names("REVOKE CONNECT ON DATABASE appdb FROM PUBLIC"),
            ["appdb"]
        );
        assert_eq!(
            names("grant connect, temp on database \"App\", other to app_user"),
            ["\"App\"", "other"]
        );
        assert_eq!(
            names("ALTER DATABASE appdb SET timezone TO 'UTC'"),
            ["appdb"]
        );
        assert_eq!(names("alter database appdb reset all"), ["appdb"]);
        assert_eq!(names("COMMENT ON DATABASE appdb IS 'x'"), ["appdb"]);
        // Left as written: a rename or a new owner, and grants on other
        // objects.
        assert!(names("ALTER DATABASE appdb RENAME TO b").is_empty());
        assert!(names("ALTER DATABASE appdb OWNER TO b").is_empty());
        assert!(names("GRANT SELECT ON TABLE database TO b").is_empty());
        assert!(names("GRANT SELECT ON ALL TABLES IN SCHEMA public TO b").is_empty());
        assert!(names("CREATE TABLE t (a int)").is_empty());
    }

    #[test]
    fn a_copy_is_probed_by_its_table_and_columns() {
        assert_eq!(
            copy_probe("COPY public.events (id, \"Kind\") FROM stdin WITH (FORMAT csv)").as_deref(),
            Some("SELECT id, \"Kind\" FROM public.events LIMIT 0")
        );
        assert_eq!(
            copy_probe("copy events from STDIN").as_deref(),
            Some("SELECT 1 FROM events LIMIT 0")
        );
        assert_eq!(copy_probe("COPY (SELECT 1) TO stdout"), None);
        assert_eq!(copy_probe("COPY FROM stdin"), None);
        assert_eq!(copy_probe("SELECT 1"), None);
    }

    #[test]
    fn a_missing_schema_is_a_missing_object() {
        let message = "schema \"measure\" does not exist";
        assert_eq!(error_class("3F000", message), ErrorClass::UndefinedObject);
        assert_eq!(named_object("3F000", message).as_deref(), Some("measure"));
        assert_eq!(
            error_class("42P01", "relation \"t\" does not exist"),
            ErrorClass::UndefinedObject
        );
        assert_eq!(error_class("42601", "syntax error"), ErrorClass::Syntax);
    }

    #[test]
    fn a_type_named_without_quotes_is_the_missing_object() {
        // A function's argument type is printed without quotes.
        for (message, name) in [
            ("type vector does not exist", "vector"),
            ("type public.vector does not exist", "vector"),
            ("type vector[] does not exist", "vector"),
            ("type \"vector\" does not exist", "vector"),
            ("function lower(integer) does not exist", "lower"),
        ] {
            let code = if message.starts_with("function") {
                "42883"
            } else {
                "42704"
            };
            assert_eq!(
                named_object(code, message).as_deref(),
                Some(name),
                "{message}"
            );
        }
    }

    /// A column qualified with its table or alias is printed without
    /// quotes; the object an "already exists" error names is found too.
    #[test]
    fn qualified_columns_and_objects_already_there_are_named() {
        for (code, message, name) in [
            ("42703", "column b.status does not exist", "status"),
            ("42703", "column b.\"Status\" does not exist", "Status"),
            ("42703", "column \"status\" does not exist", "status"),
            (
                "42703",
                "column \"status\" of relation \"billing\" does not exist",
                "status",
            ),
            ("42883", "procedure p() does not exist", "p"),
            (
                "42701",
                "column \"legacy_id\" of relation \"billing\" already exists",
                "legacy_id",
            ),
            ("42P07", "relation \"billing\" already exists", "billing"),
            (
                "42710",
                "constraint \"fk\" for relation \"t\" already exists",
                "fk",
            ),
        ] {
            assert_eq!(
                named_object(code, message).as_deref(),
                Some(name),
                "{message}"
            );
        }
        assert_eq!(named_object("42601", "syntax error at or near \"x\""), None);
    }
}
