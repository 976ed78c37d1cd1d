//! Replay on a real PostgreSQL server (`--engine postgres`).
//!
//! Where: `--database-url` / `TWICE_DATABASE_URL` (twice creates a scratch
//! database there and drops it afterwards; the role needs `CREATEDB`), or a
//! throwaway cluster started from the local server binaries ([`cluster`]).
//!
//! How, per migration, with the same finding ids as the SQLite replay:
//! - `--seed` first fills tables that have fewer than a few rows with
//!   synthetic rows (committed; see `seed.rs`).
//! - The first run is kept: the up part runs statement by statement in one
//!   transaction that is committed. A failing statement is a
//!   `first-run-error`; the migration is rolled back and replay goes on.
//! - The second run is observed and undone: it runs in a transaction, each
//!   statement under a savepoint so every failing statement is reported
//!   (`second-run-error`); then twice reads what it touched — the objects its
//!   DDL reported through event triggers, the tables it wrote
//!   (`pg_stat_xact_user_tables`) or whose catalog row changed — rolls back,
//!   reads the same again and compares: `second-run-schema-change`,
//!   `second-run-data-change`, and `second-run-sequence-advance` when only
//!   sequence values moved (sequences are not transactional; twice puts
//!   them back with `setval`).
//! - `BEGIN`/`COMMIT`/`ROLLBACK` inside a migration are not sent: twice owns
//!   the transactions, so a `COMMIT` cannot make the second run permanent.
//! - Parts that cannot run in a transaction (goose `NO TRANSACTION`, pop
//!   `.autocommit`, dbmate `transaction:false`, `CREATE INDEX CONCURRENTLY`,
//!   `VACUUM`, ... or a statement the server refuses with SQLSTATE 25001)
//!   run in autocommit mode; their second run happens in a copy of the
//!   scratch database (`CREATE DATABASE ... TEMPLATE`), which is compared with
//!   the original and dropped.
//! - Down parts: run after the up part, then a second time
//!   (`down-second-run-error`, `down-second-run-change`), and the state after
//!   the down is compared with the state before the up (`down-does-not-revert`);
//!   all of it is rolled back before the up part's real first run.

pub mod cluster;
pub mod compare;
pub mod kind;
mod seed;
pub mod server;
pub mod snapshot;

use crate::analysis::Statement;
use crate::check::{FileUnit, Options, Workspace};
use crate::error::{Error, Result};
use crate::finding::{Finding, FindingBuilder, Origin, Severity};
use crate::model::{Migration, Part, Sequence};
use crate::replay::Outcome;
use kind::Kind;
use postgres::{CancelToken, Client};
use server::{describe, Server};
use snapshot::{Scope, SeqState};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the Postgres replay found for one sequence, with what tests look at.
#[derive(Debug, Default)]
pub struct Replayed {
    pub findings: Vec<Finding>,
    /// Why replay stopped part-way (the server or connection failed), if it did.
    pub stopped: Option<String>,
    /// The scratch database used (dropped by now; for tests).
    pub scratch: String,
    /// Copies made for runs outside a transaction (dropped by now).
    pub copies: Vec<String>,
}

/// A short random hex string for database and folder names.
pub fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: Mutex<u64> = Mutex::new(0);
    let n = {
        let mut c = COUNTER.lock().unwrap_or_else(|p| p.into_inner());
        *c += 1;
        *c
    };
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:08x}", h.finish() as u32)
}

/// Replays one sequence on PostgreSQL. Not reaching a server is an error
/// (exit 2); a failure part-way stops replay with the findings so far.
pub fn replay_sequence(ws: &Workspace, seq: &Sequence, opts: &Options) -> Result<Outcome> {
    let r = replay_detailed(ws, seq, opts)?;
    Ok(match r.stopped {
        None => Outcome::Replayed(r.findings),
        Some(reason) => Outcome::Stopped {
            findings: r.findings,
            reason,
        },
    })
}

/// [`replay_sequence`], with the names of the databases it used.
pub fn replay_detailed(ws: &Workspace, seq: &Sequence, opts: &Options) -> Result<Replayed> {
    let server = Server::open(opts.database_url.as_deref())?;
    let mut runner = Runner::new(ws, opts, server)?;
    let mut stopped = None;
    for (i, m) in seq.migrations.iter().enumerate() {
        opts.progress(&seq.root, i, seq.migrations.len());
        let r = runner.migration(m);
        server::wait_if_interrupted();
        if let Err(e) = r {
            let file = &ws.files[m.up.file].source.name;
            stopped = Some(format!("replay stopped at {file}: {e}"));
            break;
        }
    }
    let Runner {
        out,
        client,
        server,
        watchdog,
        db,
        copies,
        ..
    } = runner;
    watchdog.stop();
    drop(client);
    // Dropping the server drops the scratch databases (and the cluster).
    drop(server);
    Ok(Replayed {
        findings: out,
        stopped,
        scratch: db,
        copies,
    })
}

/// A statement that failed on the server.
#[derive(Debug, Clone)]
struct Failure {
    /// Index in the file's statement list.
    stmt: usize,
    message: String,
    code: String,
    /// Byte offset in the file the server pointed at.
    at: Option<usize>,
    /// Where inside a function or DO block it failed (the server's CONTEXT).
    context: Option<String>,
    timed_out: bool,
}

/// How a part runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
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

/// Cancels the running query when a statement outlives its time limit by
/// more than a second (the server's `statement_timeout` normally fires
/// first; this catches migrations that turn it off).
struct Watchdog {
    slot: Arc<Mutex<Option<(Instant, CancelToken)>>>,
    stop: Arc<AtomicBool>,
}

impl Watchdog {
    fn start() -> Watchdog {
        let slot: Arc<Mutex<Option<(Instant, CancelToken)>>> = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (slot.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let mut g = s.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((deadline, token)) = g.as_ref() {
                    if Instant::now() >= *deadline {
                        let _ = token.cancel_query(postgres::NoTls);
                        *g = None;
                    }
                }
            }
        });
        Watchdog { slot, stop }
    }

    fn arm(&self, deadline: Instant, token: CancelToken) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some((deadline, token));
    }

    fn disarm(&self) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Runner<'a> {
    ws: &'a Workspace,
    opts: &'a Options,
    server: Server,
    db: String,
    client: Client,
    /// Event triggers report DDL (needs a superuser); without them every
    /// schema comparison reads the whole schema.
    events: bool,
    watchdog: Watchdog,
    out: Vec<Finding>,
    copies: Vec<String>,
    /// Last known value of every sequence, by OID: refreshed for the
    /// sequences each kept run uses, so the second run's use of a sequence
    /// can be told without reading every sequence.
    seqs: BTreeMap<u32, SeqState>,
    /// Catalog queries prepared on `client` (reset when it changes).
    catalog: Option<snapshot::Catalog>,
    /// `--seed`: the tables to look at before the next migration (`None`:
    /// all of them), and the counter that makes seeded values distinct.
    seed_dirty: Option<BTreeSet<String>>,
    seed_counter: i64,
}

const EVENT_TRIGGERS: &str = r#"
CREATE SCHEMA _twice;
CREATE FUNCTION _twice.log_ddl() RETURNS event_trigger LANGUAGE plpgsql
SET search_path = pg_catalog AS $twice$
DECLARE
  r record;
  acc text;
  stmt text := coalesce(current_setting('twice.stmt', true), '');
BEGIN
  IF coalesce(current_setting('twice.record', true), '') <> 'on' THEN
    RETURN;
  END IF;
  acc := coalesce(current_setting('twice.ddl', true), '');
  BEGIN
    IF TG_EVENT = 'sql_drop' THEN
      FOR r IN SELECT o.address_names AS names FROM pg_event_trigger_dropped_objects() o LOOP
        acc := acc || stmt || chr(30) || array_to_string(r.names, chr(31)) || chr(10);
      END LOOP;
    ELSE
      FOR r IN SELECT a.object_names AS names
               FROM (SELECT * FROM pg_event_trigger_ddl_commands()
                     WHERE command_tag NOT IN ('GRANT', 'REVOKE', 'COMMENT',
                                               'ALTER DEFAULT PRIVILEGES')) c,
               LATERAL pg_identify_object_as_address(c.classid, c.objid, c.objsubid) a LOOP
        acc := acc || stmt || chr(30) || array_to_string(r.names, chr(31)) || chr(10);
      END LOOP;
    END IF;
  EXCEPTION WHEN OTHERS THEN
    acc := acc || '*' || chr(10);
  END;
  PERFORM set_config('twice.ddl', acc, false);
END
$twice$;
CREATE EVENT TRIGGER twice_ddl_end ON ddl_command_end EXECUTE PROCEDURE _twice.log_ddl();
CREATE EVENT TRIGGER twice_sql_drop ON sql_drop EXECUTE PROCEDURE _twice.log_ddl();
"#;

impl<'a> Runner<'a> {
    fn new(ws: &'a Workspace, opts: &'a Options, mut server: Server) -> Result<Runner<'a>> {
        let db = server.create_scratch()?;
        let mut client = server.connect_to(&db)?;
        let events = server.superuser;
        if events {
            client.batch_execute(EVENT_TRIGGERS).map_err(|e| {
                Error::new(format!(
                    "cannot prepare the scratch database: {}",
                    describe(&e)
                ))
            })?;
        }
        let mut r = Runner {
            ws,
            opts,
            server,
            db,
            client,
            events,
            watchdog: Watchdog::start(),
            out: Vec::new(),
            copies: Vec::new(),
            seqs: BTreeMap::new(),
            catalog: None,
            seed_dirty: None,
            seed_counter: 0,
        };
        r.setup_session()?;
        Ok(r)
    }

    fn setup_session(&mut self) -> Result<()> {
        let ms = self.opts.timeout.as_millis().max(1);
        // Generic plans for twice's catalog query (planning it costs more
        // than running it); PostgreSQL 12+.
        let pcm = if self.server.version_num >= 120000 {
            "SET plan_cache_mode = force_generic_plan;"
        } else {
            ""
        };
        self.client
            .batch_execute(&format!(
                "SET statement_timeout = {ms}; SET client_min_messages = warning; {pcm} \
                 SELECT set_config('twice.ddl', '', false), set_config('twice.record', 'off', false);"
            ))
            .map_err(|e| tool_error("cannot set up the replay session", &e))
    }

    fn file(&self, part: &Part) -> &'a FileUnit {
        &self.ws.files[part.file]
    }

    fn stmt(&self, part: &Part, i: usize) -> &'a Statement {
        &self.ws.files[part.file].statements[i]
    }

    /// One migration: down checks (if any), then the up part's first run
    /// (kept) and second run (observed, undone).
    fn migration(&mut self, m: &Migration) -> Result<()> {
        if self.opts.seed {
            self.seed()?;
        }
        if self.file(&m.up).source.binary {
            return Ok(());
        }
        if m.apply_only {
            return self.apply_only(m);
        }
        let autocommit = self.needs_autocommit(&m.up);
        let down = m
            .down
            .as_ref()
            .filter(|d| self.opts.down && !self.file(d).source.binary);
        if let Some(down) = down {
            if autocommit || self.needs_autocommit(down) {
                let file = self.file(down);
                if let Some(first) = first_statement(file, down) {
                    let meta = &crate::rules::replay_statement_skipped::META;
                    let b = FindingBuilder { file: &file.source };
                    let mut f = b.at(
                        meta.id,
                        meta.severity,
                        Origin::Replay,
                        first.span.clone(),
                        "down migration not checked: it (or its up migration) must run outside \
                         a transaction, and the down checks run inside one to undo them"
                            .into(),
                    );
                    f.statement = Some(first.index);
                    self.push(m, f);
                }
            } else {
                self.check_down(m, down)?;
            }
        }
        if !autocommit {
            match self.up_in_transaction(m)? {
                TxnResult::Done => return Ok(()),
                TxnResult::NeedsAutocommit => {}
            }
        }
        self.up_autocommit(m)
    }

    /// A migration of the starting state (`--since`, `--from`): applied
    /// once and kept; only a failure to apply is reported. No second run,
    /// no down checks.
    fn apply_only(&mut self, m: &Migration) -> Result<()> {
        let part = &m.up;
        let before = self.out.len();
        let mut autocommit = self.needs_autocommit(part);
        if !autocommit {
            let since = self.begin(false)?;
            let failures = self.run_part(part, Mode::FirstInTxn)?;
            match failures.into_iter().next() {
                None => self.commit_kept(since)?,
                Some(f) => {
                    self.exec_admin("ROLLBACK")?;
                    self.reload_sequences()?;
                    if f.code == "25001" {
                        autocommit = true;
                    } else {
                        self.report_failure(m, part, &f, Run::First);
                    }
                }
            }
        }
        if autocommit {
            let failures = self.run_part(part, Mode::FirstAutocommit)?;
            let _ = self.client.batch_execute("ROLLBACK");
            self.seed_dirty = None;
            self.reload_sequences()?;
            if let Some(f) = failures.into_iter().next() {
                self.report_failure(m, part, &f, Run::FirstKept);
            }
        }
        for f in &mut self.out[before..] {
            f.notes.push(crate::model::APPLY_ONLY_NOTE.into());
        }
        Ok(())
    }

    /// Whether a part must run outside a transaction block.
    fn needs_autocommit(&self, part: &Part) -> bool {
        part.no_transaction
            || part.statements.iter().any(|&i| {
                kind::classify(&self.file(part).source, self.stmt(part, i)) == Kind::NoTransaction
            })
    }

    fn exec_admin(&mut self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .map_err(|e| tool_error("replay bookkeeping failed", &e))
    }

    fn record(&mut self, on: bool) -> Result<()> {
        if !self.events {
            return Ok(());
        }
        let sql = if on {
            "SELECT set_config('twice.ddl', '', false), set_config('twice.record', 'on', false)"
        } else {
            "SELECT set_config('twice.record', 'off', false)"
        };
        self.exec_admin(sql)
    }

    /// Object names the DDL reported since recording started (see
    /// [`parse_ddl_log`]); `None` when unknown.
    fn reported_objects(&mut self) -> Result<Option<BTreeMap<String, Option<usize>>>> {
        if !self.events {
            return Ok(None);
        }
        let rows = snapshot::run_batch(
            &mut self.client,
            &["SELECT coalesce(current_setting('twice.ddl', true), '')".to_string()],
        )
        .map_err(|e| tool_error("cannot read the DDL log", &e))?;
        let text = snapshot::first_column(rows.into_iter().flatten())
            .into_iter()
            .next()
            .unwrap_or_default();
        Ok(parse_ddl_log(&text))
    }

    /// After an observed run in a transaction, in one round trip: stops the
    /// DDL log and reads it, the tables written, and the sequences used.
    fn observed(&mut self, since: i64) -> Result<Observed> {
        let mut queries = Vec::new();
        if self.events {
            queries.push("SELECT set_config('twice.record', 'off', false)".to_string());
            queries.push("SELECT coalesce(current_setting('twice.ddl', true), '')".to_string());
        }
        queries.push(snapshot::touched_tables_sql(since));
        queries.push(snapshot::sequences_sql(&snapshot::used_condition(None)));
        let mut results = snapshot::run_batch(&mut self.client, &queries)
            .map_err(|e| tool_error("cannot read what the run touched", &e))?
            .into_iter();
        let ddl = if self.events {
            results.next();
            let text = snapshot::first_column(results.next().unwrap_or_default())
                .into_iter()
                .next()
                .unwrap_or_default();
            parse_ddl_log(&text)
        } else {
            None
        };
        let tables = snapshot::first_column(results.next().unwrap_or_default());
        let now = snapshot::parse_sequences(results.next().unwrap_or_default());
        let (seq_before, seq_after) = self.split_used(now);
        Ok(Observed {
            ddl,
            tables,
            seq_before,
            seq_after,
        })
    }

    /// Runs a part's statements. Returns the failures (at most one in the
    /// `First*` modes, where the run stops).
    fn run_part(&mut self, part: &Part, mode: Mode) -> Result<Vec<Failure>> {
        let file = self.file(part);
        let in_txn = matches!(mode, Mode::FirstInTxn | Mode::ObservedInTxn);
        let mut failures = Vec::new();
        for &i in &part.statements {
            // An undefined `${placeholder}` keeps the text from running as
            // written; `undefined-placeholder` reports it.
            if self.ws.unresolved.contains(&(part.file, i)) {
                continue;
            }
            let stmt = self.stmt(part, i);
            let k = kind::classify(&file.source, stmt);
            if in_txn && k == Kind::TxnControl {
                continue;
            }
            if !self.server.own_cluster {
                if let Some(what) = kind::server_wide(&file.source, stmt) {
                    let meta = &crate::rules::replay_statement_skipped::META;
                    let b = FindingBuilder { file: &file.source };
                    let mut f = b.at(
                        meta.id,
                        meta.severity,
                        Origin::Replay,
                        stmt.span.clone(),
                        format!(
                            "not replayed: the statement {what}, which affects the whole server; \
                             twice runs such statements only on its own throwaway cluster"
                        ),
                    );
                    f.statement = Some(stmt.index);
                    f.help = Some(
                        "run without --database-url (twice then starts a throwaway cluster) \
                         to replay it"
                            .into(),
                    );
                    let dup = self
                        .out
                        .iter()
                        .any(|o| o.rule == f.rule && o.file == f.file && o.span == f.span);
                    if !dup {
                        self.out.push(f);
                    }
                    continue;
                }
            }
            // One savepoint per statement, never released: releasing would
            // also release savepoints the migration made itself.
            let mut prefix = String::new();
            if mode == Mode::ObservedInTxn {
                prefix.push_str("SAVEPOINT twice_s; ");
            }
            if self.events && matches!(mode, Mode::ObservedInTxn | Mode::ObservedAutocommit) {
                // Tells the event trigger which statement runs. Sent apart in
                // autocommit mode: a multi-statement string is a transaction.
                let set = format!("SELECT set_config('twice.stmt', '{}', false);", stmt.index);
                if mode == Mode::ObservedInTxn {
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
                    (self.timed_copy(&prefix, &stmt.sql, &rows), 0)
                }
                None => {
                    let sql = format!("{prefix}{}", stmt.sql);
                    (self.timed(&sql), prefix.chars().count())
                }
            };
            let Err(e) = result else { continue };
            server::wait_if_interrupted();
            if self.client.is_closed() {
                failures.push(self.failure(file, stmt, &e, prefix_chars));
                self.reconnect()?;
                return Ok(failures);
            }
            let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
            // After a failure inside the migration's own BEGIN block (in
            // autocommit mode), the rest fails with 25P02: not news.
            if code == "25P02" && mode == Mode::ObservedAutocommit {
                continue;
            }
            failures.push(self.failure(file, stmt, &e, prefix_chars));
            match mode {
                Mode::FirstInTxn | Mode::FirstAutocommit => return Ok(failures),
                Mode::ObservedInTxn => self.exec_admin("ROLLBACK TO SAVEPOINT twice_s")?,
                Mode::ObservedAutocommit => {}
            }
        }
        Ok(failures)
    }

    /// Runs `work` on the connection under the time limit (the watchdog
    /// cancels it a second after `--timeout`).
    fn timed_with(
        &mut self,
        work: impl FnOnce(&mut Client) -> Result<(), postgres::Error>,
    ) -> Result<(), postgres::Error> {
        let grace = self.opts.timeout + Duration::from_secs(1);
        self.watchdog
            .arm(Instant::now() + grace, self.client.cancel_token());
        let r = work(&mut self.client);
        self.watchdog.disarm();
        r
    }

    /// Runs one statement under the time limit.
    fn timed(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.timed_with(|c| c.batch_execute(sql))
    }

    /// Runs `prefix`, then `COPY ... FROM stdin` fed with `rows`, under the
    /// time limit.
    fn timed_copy(&mut self, prefix: &str, sql: &str, rows: &[u8]) -> Result<(), postgres::Error> {
        use std::io::Write;
        self.timed_with(|c| {
            if !prefix.trim().is_empty() {
                c.batch_execute(prefix)?;
            }
            let mut w = c.copy_in(sql)?;
            // A write error surfaces from finish() as the server's error.
            let _ = w.write_all(rows);
            w.finish().map(|_| ())
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
        let timed_out = code == "57014";
        let context = e
            .as_db_error()
            .and_then(|db| db.where_())
            .map(str::to_string);
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
        Failure {
            stmt: stmt.index,
            message,
            code,
            at,
            context,
            timed_out,
        }
    }

    fn reconnect(&mut self) -> Result<()> {
        self.client = self.server.connect_to(&self.db)?;
        self.catalog = None;
        self.setup_session()
    }

    /// `BEGIN`, returning the transaction id; with `record`, the event
    /// triggers start logging DDL.
    fn begin(&mut self, record: bool) -> Result<i64> {
        // The time limit again, in case an earlier migration changed it.
        let ms = self.opts.timeout.as_millis().max(1);
        let sql = if record && self.events {
            format!(
                "BEGIN; SET LOCAL statement_timeout = {ms}; SELECT txid_current(), \
                 set_config('twice.ddl', '', false), set_config('twice.record', 'on', false)"
            )
        } else {
            format!("BEGIN; SET LOCAL statement_timeout = {ms}; SELECT txid_current()")
        };
        let rows = self
            .client
            .simple_query(&sql)
            .map_err(|e| tool_error("cannot start a transaction", &e))?;
        Ok(rows
            .into_iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse().ok()),
                _ => None,
            })
            .unwrap_or(0))
    }

    /// Reads every sequence again (after runs whose use of sequences cannot
    /// be told: failures, autocommit).
    fn reload_sequences(&mut self) -> Result<()> {
        self.seqs = snapshot::read_sequences(&mut self.client, "true")
            .map_err(|e| tool_error("cannot read sequences", &e))?;
        Ok(())
    }

    /// Commits a kept run: first records the sequences it used or created
    /// (and, with `--seed`, the tables it may have emptied or changed), and
    /// asks the server to flush its statistics so the next transaction's
    /// counters start from zero.
    fn commit_kept(&mut self, since: i64) -> Result<()> {
        let mut sql = snapshot::sequences_sql(&snapshot::used_condition(Some(since)));
        let track = self.opts.seed && self.seed_dirty.is_some();
        if track {
            sql.push_str("; ");
            sql.push_str(&seed::dirty_tables_sql(since, self.server.version_num));
        }
        if self.server.version_num >= 150000 {
            sql.push_str("; SELECT pg_stat_force_next_flush()");
        }
        sql.push_str("; COMMIT");
        let messages = self
            .client
            .simple_query(&sql)
            .map_err(|e| tool_error("cannot commit the first run", &e))?;
        let mut results: Vec<Vec<Vec<Option<String>>>> = vec![Vec::new()];
        for m in messages {
            match m {
                postgres::SimpleQueryMessage::Row(r) => {
                    if let Some(rows) = results.last_mut() {
                        rows.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                    }
                }
                postgres::SimpleQueryMessage::CommandComplete(_) => results.push(Vec::new()),
                _ => {}
            }
        }
        let mut results = results.into_iter();
        self.seqs.extend(snapshot::parse_sequences(
            results.next().unwrap_or_default(),
        ));
        if track {
            let dirty = snapshot::first_column(results.next().unwrap_or_default());
            if let Some(set) = self.seed_dirty.as_mut() {
                set.extend(dirty);
            }
        }
        Ok(())
    }

    /// The sequences the open transaction used: their values before it (the
    /// cache) and now, keyed by name.
    #[allow(clippy::type_complexity)]
    fn used_sequences(
        &mut self,
    ) -> Result<(BTreeMap<String, SeqState>, BTreeMap<String, SeqState>)> {
        let now = snapshot::read_sequences(&mut self.client, &snapshot::used_condition(None))
            .map_err(|e| tool_error("cannot read sequences", &e))?;
        Ok(self.split_used(now))
    }

    /// Pairs sequences read now with their cached values, keyed by name.
    #[allow(clippy::type_complexity)]
    fn split_used(
        &self,
        now: BTreeMap<u32, SeqState>,
    ) -> (BTreeMap<String, SeqState>, BTreeMap<String, SeqState>) {
        let mut before = BTreeMap::new();
        let mut after = BTreeMap::new();
        for (oid, a) in now {
            if let Some(b) = self.seqs.get(&oid) {
                before.insert(a.name.clone(), b.clone());
                after.insert(a.name.clone(), a);
            }
        }
        (before, after)
    }

    /// The up part inside a transaction. Returns `NeedsAutocommit` when the
    /// server refused a statement in a transaction block (nothing is kept).
    fn up_in_transaction(&mut self, m: &Migration) -> Result<TxnResult> {
        let part = &m.up;
        let since = self.begin(false)?;
        let failures = self.run_part(part, Mode::FirstInTxn)?;
        if let Some(f) = failures.into_iter().next() {
            self.exec_admin("ROLLBACK")?;
            self.reload_sequences()?;
            if f.code == "25001" {
                return Ok(TxnResult::NeedsAutocommit);
            }
            self.report_failure(m, part, &f, Run::First);
            return Ok(TxnResult::Done);
        }
        self.commit_kept(since)?;

        // Second run, observed and rolled back.
        let since = self.begin(true)?;
        let failures = self.run_part(part, Mode::ObservedInTxn)?;
        let Observed {
            ddl,
            tables,
            seq_before,
            seq_after,
        } = self.observed(since)?;
        let scope = Scope {
            objects: ddl.as_ref().map(|m| m.keys().cloned().collect()),
            tables: Some(tables),
        };
        let after = self.snapshot(&scope)?;
        self.exec_admin("ROLLBACK")?;
        let before = self.snapshot(&scope)?;
        snapshot::restore_sequences(&mut self.client, &seq_before, &seq_after)
            .map_err(|e| tool_error("cannot put sequences back", &e))?;
        self.report_second_run(
            m,
            part,
            &failures,
            ddl.as_ref(),
            (&before, &after),
            (&seq_before, &seq_after),
        );
        Ok(TxnResult::Done)
    }

    /// The up part outside a transaction: first run for real, second run in
    /// a copy of the database.
    fn up_autocommit(&mut self, m: &Migration) -> Result<()> {
        let part = &m.up;
        let failures = self.run_part(part, Mode::FirstAutocommit)?;
        // A BEGIN the migration left open ends here.
        let _ = self.client.batch_execute("ROLLBACK");
        // What an autocommit run changed cannot be told: seed looks at
        // every table next time.
        self.seed_dirty = None;
        self.reload_sequences()?;
        if let Some(f) = failures.into_iter().next() {
            self.report_failure(m, part, &f, Run::FirstKept);
            return Ok(());
        }
        // Copy the database (no session may be connected to the template).
        let copy = self.close_and_clone()?;
        let mut observed = self.server.connect_to(&copy)?;
        let mut observed_catalog = None;
        std::mem::swap(&mut self.client, &mut observed);
        std::mem::swap(&mut self.catalog, &mut observed_catalog);
        self.setup_session()?;
        self.record(true)?;
        let failures = self.run_part(part, Mode::ObservedAutocommit)?;
        let _ = self.client.batch_execute("ROLLBACK");
        self.record(false)?;
        let ddl = self.reported_objects()?;
        let scope = Scope {
            objects: ddl.as_ref().map(|m| m.keys().cloned().collect()),
            tables: None,
        };
        let after = self.snapshot(&scope)?;
        let seq_after = self.sequences()?;
        // Back to the scratch database, which holds the first run's state.
        std::mem::swap(&mut self.client, &mut observed);
        std::mem::swap(&mut self.catalog, &mut observed_catalog);
        drop(observed_catalog);
        drop(observed);
        let before = self.snapshot(&scope)?;
        let seq_before = self.sequences()?;
        self.server.drop_database(&copy)?;
        self.report_second_run(
            m,
            part,
            &failures,
            ddl.as_ref(),
            (&before, &after),
            (&seq_before, &seq_after),
        );
        Ok(())
    }

    /// Closes the scratch connection, copies the scratch database, and
    /// reconnects to it. Returns the copy's name.
    fn close_and_clone(&mut self) -> Result<String> {
        let old = std::mem::replace(&mut self.client, dummy_client(&self.server, &self.db)?);
        drop(old);
        // `dummy_client` connected to the maintenance database instead.
        let copy = self.server.clone_database(&self.db)?;
        self.copies.push(copy.clone());
        self.client = self.server.connect_to(&self.db)?;
        self.catalog = None;
        self.setup_session()?;
        Ok(copy)
    }

    /// Down checks inside one transaction that is rolled back:
    /// up, down, down again; compare.
    fn check_down(&mut self, m: &Migration, down: &Part) -> Result<()> {
        let since = self.begin(true)?;
        self.exec_admin("SAVEPOINT twice_base")?;
        let up_fail = self.run_part(&m.up, Mode::FirstInTxn)?;
        if !up_fail.is_empty() {
            // The up part's own run reports this.
            return self.abandon_down();
        }
        let down_fail = self.run_part(down, Mode::FirstInTxn)?;
        if let Some(f) = down_fail.into_iter().next() {
            self.abandon_down()?;
            if f.code != "25001" {
                self.report_failure(m, down, &f, Run::DownFirst);
            }
            return Ok(());
        }
        self.exec_admin("SAVEPOINT twice_down1")?;
        let failures = self.run_part(down, Mode::ObservedInTxn)?;
        self.record(false)?;
        let ddl = self.reported_objects()?;
        let scope = Scope {
            objects: ddl.as_ref().map(|m| m.keys().cloned().collect()),
            tables: Some(
                snapshot::touched_tables(&mut self.client, since)
                    .map_err(|e| tool_error("cannot read table statistics", &e))?,
            ),
        };
        let after2 = self.snapshot(&scope)?;
        self.exec_admin("ROLLBACK TO SAVEPOINT twice_down1")?;
        let after1 = self.snapshot(&scope)?;
        self.exec_admin("ROLLBACK TO SAVEPOINT twice_base")?;
        let before_up = self.snapshot(&scope)?;
        let (seq_before, seq_now) = self.used_sequences()?;
        self.exec_admin("ROLLBACK")?;
        snapshot::restore_sequences(&mut self.client, &seq_before, &seq_now)
            .map_err(|e| tool_error("cannot put sequences back", &e))?;

        let file = self.file(down);
        let b = FindingBuilder { file: &file.source };
        for f in &failures {
            self.report_failure(m, down, f, Run::DownSecond);
        }
        let Some(first) = first_statement(file, down) else {
            return Ok(());
        };
        let again = compare::compare(&after1, &after2);
        if let Some(schema) = &again.schema_diff {
            let mut finding = b.at(
                "down-second-run-change",
                Severity::Error,
                Origin::Replay,
                first.span.clone(),
                format!(
                    "running the down migration a second time changes the schema again: {}",
                    again.schema_summary()
                ),
            );
            finding.statement = Some(first.index);
            finding.notes.push(schema.clone());
            finding.evidence = Some(serde_json::json!({
                "kind": "schema", "diff": schema, "objects": again.changed_objects,
            }));
            self.push(m, finding);
        }
        for t in &again.tables {
            let mut finding = b.at(
                "down-second-run-change",
                Severity::Error,
                Origin::Replay,
                first.span.clone(),
                format!(
                    "running the down migration a second time changes rows of {}: {}",
                    t.table,
                    t.summary()
                ),
            );
            finding.statement = Some(first.index);
            finding.notes.extend(t.sample_notes());
            finding.evidence = Some(t.evidence());
            self.push(m, finding);
        }
        let revert = compare::compare(&before_up, &after1);
        if revert.schema_diff.is_some() || !revert.tables.is_empty() {
            let mut what = Vec::new();
            if revert.schema_diff.is_some() {
                what.push(format!("schema: {}", revert.schema_summary()));
            }
            for t in &revert.tables {
                what.push(format!("rows of {}: {}", t.table, t.summary()));
            }
            let mut finding = b.at(
                "down-does-not-revert",
                Severity::Error,
                Origin::Replay,
                first.span.clone(),
                format!(
                    "the down migration does not bring back the state before the up migration \
                     ({})",
                    what.join("; ")
                ),
            );
            finding.statement = Some(first.index);
            if let Some(d) = &revert.schema_diff {
                finding
                    .notes
                    .push(format!("before up (-) vs after up and down (+):\n{d}"));
            }
            for t in &revert.tables {
                finding.notes.extend(t.sample_notes());
            }
            finding.evidence = Some(serde_json::json!({
                "schema_diff": revert.schema_diff,
                "objects": revert.changed_objects,
                "tables": revert.tables.iter().map(|t| t.evidence()).collect::<Vec<_>>(),
            }));
            self.push(m, finding);
        }
        Ok(())
    }

    /// Ends the down checks' transaction after a failure: back to the start
    /// (the transaction is usable again), sequences put back, rolled back.
    fn abandon_down(&mut self) -> Result<()> {
        self.exec_admin("ROLLBACK TO SAVEPOINT twice_base")?;
        self.record(false)?;
        let (before, now) = self.used_sequences()?;
        self.exec_admin("ROLLBACK")?;
        snapshot::restore_sequences(&mut self.client, &before, &now)
            .map_err(|e| tool_error("cannot put sequences back", &e))
    }

    fn snapshot(&mut self, scope: &Scope) -> Result<snapshot::Snapshot> {
        snapshot::take(&mut self.client, &mut self.catalog, scope)
            .map_err(|e| tool_error("cannot read the database state", &e))
    }

    fn sequences(&mut self) -> Result<std::collections::BTreeMap<String, snapshot::SeqState>> {
        snapshot::sequences(&mut self.client).map_err(|e| tool_error("cannot read sequences", &e))
    }

    fn push(&mut self, m: &Migration, mut f: Finding) {
        if let Some(note) = &m.rerun_note {
            f.notes.push(note.clone());
        }
        self.out.push(f);
    }

    /// A failing statement as a finding, worded like the SQLite replay's.
    fn report_failure(&mut self, m: &Migration, part: &Part, f: &Failure, run: Run) {
        let file = self.file(part);
        let Some(stmt) = file.statements.get(f.stmt) else {
            return;
        };
        let line = file.source.line_col(f.at.unwrap_or(stmt.span.start)).0;
        let b = FindingBuilder { file: &file.source };
        let (meta, message) = if f.timed_out {
            (
                &crate::rules::replay_timeout::META,
                format!(
                    "statement stopped on the {} (line {line}): it ran longer than the replay \
                     time limit of {} (--timeout)",
                    run.phrase(),
                    seconds(self.opts.timeout)
                ),
            )
        } else {
            let meta = match run {
                Run::First | Run::FirstKept | Run::DownFirst => {
                    &crate::rules::first_run_error::META
                }
                Run::Second => &crate::rules::second_run_error::META,
                Run::DownSecond => &crate::rules::down_second_run_error::META,
            };
            let text = failure_text(f);
            let message = match run {
                Run::DownFirst => {
                    format!("down migration fails at line {line} on the state its up left: {text}")
                }
                _ => format!("{} fails at line {line}: {text}", run.phrase()),
            };
            (meta, message)
        };
        let mut finding = b.at(
            meta.id,
            meta.severity,
            Origin::Replay,
            stmt.span.clone(),
            message,
        );
        finding.statement = Some(stmt.index);
        if !f.timed_out {
            finding.help = Some(match run {
                Run::First | Run::FirstKept => "the migration must apply on the state the \
                    migrations before it leave: check the order of the files and the objects \
                    this statement needs"
                    .into(),
                Run::DownFirst => "the down migration must apply right after its up: check \
                    the objects it drops or changes"
                    .into(),
                Run::Second | Run::DownSecond => second_run_help(&f.code, &f.message),
            });
        }
        match run {
            Run::First => finding.notes.push(
                "replay rolled this migration back, did not run the rest of it, and went on \
                 with the next migration"
                    .into(),
            ),
            Run::FirstKept => finding.notes.push(
                "this migration runs outside a transaction: what ran before the failing \
                 statement stays applied, as in a real deploy, and replay went on with the \
                 next migration"
                    .into(),
            ),
            Run::DownFirst => finding
                .notes
                .push("replay undid this down migration and did not check it further".into()),
            _ => {}
        }
        finding.evidence = Some(failure_evidence(f, &file.source));
        add_position_note(&mut finding, f, &file.source);
        self.push(m, finding);
    }

    #[allow(clippy::too_many_arguments)]
    fn report_second_run(
        &mut self,
        m: &Migration,
        part: &Part,
        failures: &[Failure],
        ddl: Option<&BTreeMap<String, Option<usize>>>,
        (before, after): (&snapshot::Snapshot, &snapshot::Snapshot),
        (seq_before, seq_after): (&BTreeMap<String, SeqState>, &BTreeMap<String, SeqState>),
    ) {
        let file = self.file(part);
        let b = FindingBuilder { file: &file.source };
        let Some(first) = first_statement(file, part) else {
            return;
        };
        for f in failures {
            self.report_failure(m, part, f, Run::Second);
        }
        let file = self.file(part);
        let cmp = compare::compare(before, after);
        // Group the changed objects by the statement whose DDL touched them.
        let mut groups: BTreeMap<Option<usize>, Vec<&String>> = BTreeMap::new();
        for (_, header) in &cmp.changed {
            let owners = after
                .owners
                .get(header)
                .or_else(|| before.owners.get(header));
            let stmt = ddl.and_then(|d| {
                owners
                    .into_iter()
                    .flatten()
                    .filter_map(|k| d.get(k).copied().flatten())
                    .min()
            });
            groups.entry(stmt).or_default().push(header);
        }
        for (stmt_index, headers) in groups {
            let sub = compare::Comparison {
                changed_objects: cmp
                    .changed
                    .iter()
                    .filter(|(_, h)| headers.contains(&h))
                    .map(|(w, h)| format!("{w} {h}"))
                    .collect(),
                ..Default::default()
            };
            let stmt = stmt_index
                .filter(|i| part.statements.contains(i))
                .map(|i| &file.statements[i])
                .or_else(|| statement_mentioning(file, part, &sub.changed_names()))
                .unwrap_or(first);
            let diff = compare::schema_diff(before, after, &headers);
            let mut finding = b.at(
                "second-run-schema-change",
                Severity::Error,
                Origin::Replay,
                stmt.span.clone(),
                format!(
                    "the second run changes the schema: {}",
                    sub.schema_summary()
                ),
            );
            finding.statement = Some(stmt.index);
            finding.notes.push(format!(
                "after the first run (-) vs after the second run (+):\n{diff}"
            ));
            finding.help = Some(
                "guard the statement so a second run finds nothing to do (IF NOT EXISTS, \
                 CREATE OR REPLACE with the same definition, a DO block that checks the catalog); \
                 name indexes and constraints so a second run cannot add them again under a new name"
                    .into(),
            );
            finding.evidence = Some(serde_json::json!({
                "diff": diff,
                "objects": sub.changed_objects,
            }));
            self.push(m, finding);
        }
        let mut changed_tables = BTreeSet::new();
        for t in &cmp.tables {
            changed_tables.insert(t.table.clone());
            let bare = t.table.rsplit_once('.').map_or(t.table.as_str(), |x| x.1);
            let writers = writers_of(file, part, bare);
            let stmt = writers
                .first()
                .map(|&i| &file.statements[i])
                .unwrap_or(first);
            let mut finding = b.at(
                "second-run-data-change",
                Severity::Error,
                Origin::Replay,
                stmt.span.clone(),
                format!(
                    "the second run changes rows of {}: {}",
                    t.table,
                    t.summary()
                ),
            );
            finding.statement = Some(stmt.index);
            finding.notes.extend(t.sample_notes());
            if writers.len() > 1 {
                let mut lines: Vec<usize> = writers
                    .iter()
                    .map(|&i| file.source.line_col(file.statements[i].span.start).0)
                    .collect();
                lines.sort_unstable();
                let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
                finding.notes.push(format!(
                    "statements that name {bare}: lines {}",
                    lines.join(", ")
                ));
            }
            finding.help = Some(
                "make the write conditional (INSERT ... ON CONFLICT DO NOTHING with a unique \
                 key, WHERE NOT EXISTS, an UPDATE that sets absolute values)"
                    .into(),
            );
            let mut ev = t.evidence();
            if let Some(o) = ev.as_object_mut() {
                o.insert("statements".into(), serde_json::json!(writers.clone()));
            }
            finding.evidence = Some(ev);
            self.push(m, finding);
        }
        // Sequences that moved while no row of their table changed.
        for (name, b_state) in seq_before {
            let Some(a_state) = seq_after.get(name) else {
                continue;
            };
            if a_state.last_value == b_state.last_value {
                continue;
            }
            if let Some(t) = &a_state.table {
                if changed_tables.contains(t) {
                    continue;
                }
            }
            let bare_table = a_state
                .table
                .as_deref()
                .map(|t| t.rsplit_once('.').map_or(t, |x| x.1).to_string());
            let seq_bare = name.rsplit_once('.').map_or(name.as_str(), |x| x.1);
            let stmt = bare_table
                .as_deref()
                .and_then(|t| writers_of(file, part, t).first().copied())
                .map(|i| &file.statements[i])
                .or_else(|| statement_mentioning(file, part, &[seq_bare.to_string()]))
                .unwrap_or(first);
            let fmt = |v: Option<i64>| v.map_or_else(|| "unused".to_string(), |v| v.to_string());
            let mut finding = b.at(
                "second-run-sequence-advance",
                Severity::Info,
                Origin::Replay,
                stmt.span.clone(),
                format!(
                    "the second run advances sequence {name} (last value {} -> {}) without \
                     changing any row{}",
                    fmt(b_state.last_value),
                    fmt(a_state.last_value),
                    a_state
                        .table
                        .as_ref()
                        .map(|t| format!(" of {t}"))
                        .unwrap_or_default()
                ),
            );
            finding.statement = Some(stmt.index);
            finding.help = Some(
                "usually harmless (ids get gaps); to avoid it, skip the INSERT when the row \
                 exists (INSERT ... SELECT ... WHERE NOT EXISTS) instead of relying on \
                 ON CONFLICT DO NOTHING"
                    .into(),
            );
            finding.evidence = Some(serde_json::json!({
                "sequence": name,
                "table": a_state.table,
                "before": b_state.last_value,
                "after": a_state.last_value,
            }));
            self.push(m, finding);
        }
    }
}

/// What an observed run touched.
struct Observed {
    ddl: Option<BTreeMap<String, Option<usize>>>,
    tables: BTreeSet<String>,
    seq_before: BTreeMap<String, SeqState>,
    seq_after: BTreeMap<String, SeqState>,
}

/// Parses the event triggers' log: one line per object, `stmt RS names`
/// with names separated by US; `*` means the log is incomplete. Returns each
/// object's `schema.name` (or bare name) with the first statement that
/// reported it, or `None` when the log is incomplete.
fn parse_ddl_log(text: &str) -> Option<BTreeMap<String, Option<usize>>> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let (stmt, names) = line.split_once('\u{1e}').unwrap_or(("", line));
        if names == "*" {
            return None;
        }
        let names: Vec<&str> = names.split('\u{1f}').collect();
        let key = match names.as_slice() {
            [] | [""] => continue,
            // Types come as one formatted name: `public."Mood"`, `public.t[]`.
            [one] => unquote_qualified(one.trim_end_matches("[]")),
            [schema, name, ..] => format!("{schema}.{name}"),
        };
        map.entry(key).or_insert_with(|| stmt.parse().ok());
    }
    Some(map)
}

/// `public."My Type"` → `public.My Type`: the parts of a qualified name as
/// stored, joined with dots.
fn unquote_qualified(name: &str) -> String {
    let mut parts = vec![String::new()];
    let mut chars = name.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(p) = parts.last_mut() {
                    p.push('"');
                }
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(String::new()),
            c => {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    parts.join(".")
}

enum TxnResult {
    Done,
    NeedsAutocommit,
}

/// A connection to the maintenance database, used only to hold the
/// `client` slot while the scratch database has no session.
fn dummy_client(server: &Server, _db: &str) -> Result<Client> {
    server
        .admin_config()
        .connect(postgres::NoTls)
        .map_err(|e| tool_error("cannot connect to the server", &e))
}

fn tool_error(what: &str, e: &postgres::Error) -> Error {
    Error::new(format!("PostgreSQL replay: {what}: {}", describe(e)))
}

/// The byte offset in the file of character `chars` of the statement's SQL,
/// when the SQL is the file text (no substitution).
fn char_offset(file: &FileUnit, stmt: &Statement, chars: usize) -> Option<usize> {
    let text = &file.source.text[stmt.span.clone()];
    if text != stmt.sql {
        return None;
    }
    text.char_indices()
        .nth(chars)
        .map(|(b, _)| stmt.span.start + b)
}

fn failure_text(f: &Failure) -> String {
    if f.code.is_empty() {
        f.message.clone()
    } else {
        format!("{} (SQLSTATE {})", f.message, f.code)
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// Which run of which part a failure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// First run in a transaction (rolled back on failure).
    First,
    /// First run outside a transaction (what ran stays).
    FirstKept,
    Second,
    DownFirst,
    DownSecond,
}

impl Run {
    fn phrase(self) -> &'static str {
        match self {
            Run::First | Run::FirstKept => "first run",
            Run::Second => "second run",
            Run::DownFirst => "down migration",
            Run::DownSecond => "second run of the down migration",
        }
    }
}

fn failure_evidence(f: &Failure, source: &crate::source::SourceFile) -> serde_json::Value {
    let pos = f.at.map(|b| {
        let (line, column) = source.line_col(b);
        serde_json::json!({"line": line, "column": column})
    });
    serde_json::json!({
        "engine": "postgres",
        "sqlstate": f.code,
        "error": f.message,
        "timed_out": f.timed_out,
        "position": pos,
        "context": f.context,
    })
}

fn add_position_note(finding: &mut Finding, f: &Failure, source: &crate::source::SourceFile) {
    if let Some(c) = &f.context {
        finding
            .notes
            .push(format!("server context: {}", c.replace('\n', "; ")));
    }
    if let Some(b) = f.at {
        let (line, column) = source.line_col(b);
        if (line, column) != (finding.line, finding.column) {
            finding
                .notes
                .push(format!("the server points at line {line}, column {column}"));
        }
    }
}

fn second_run_help(code: &str, message: &str) -> String {
    match code {
        "42710" if message.starts_with("enum label") => {
            "add the value only when missing: ALTER TYPE ... ADD VALUE IF NOT EXISTS".into()
        }
        "42P07" | "42710" | "42723" => {
            "create it only when missing: CREATE ... IF NOT EXISTS (or CREATE OR REPLACE)".into()
        }
        "42701" => {
            "add the column only when missing: ALTER TABLE ... ADD COLUMN IF NOT EXISTS".into()
        }
        "42P01" | "42704" | "42703" | "42883" => {
            "drop or alter it only when present: ... IF EXISTS".into()
        }
        "23505" => {
            "skip rows that are already there: INSERT ... ON CONFLICT DO NOTHING (or DO UPDATE)"
                .into()
        }
        _ => "make the statement safe to run again (IF [NOT] EXISTS, ON CONFLICT, or a guard in \
              a DO block)"
            .into(),
    }
}

fn first_statement<'f>(file: &'f FileUnit, part: &Part) -> Option<&'f Statement> {
    part.statements.first().map(|&i| &file.statements[i])
}

/// Statements of `part` that name one of `names` (unquoted, any case).
fn statements_mentioning(file: &FileUnit, part: &Part, names: &[String]) -> Vec<usize> {
    let wanted: BTreeSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    part.statements
        .iter()
        .copied()
        .filter(|&i| {
            file.statements[i].tokens.iter().any(|t| {
                let text = file.source.text[t.span.clone()]
                    .trim_matches('"')
                    .to_ascii_lowercase();
                wanted.contains(&text)
            })
        })
        .collect()
}

/// Statements of `part` that name table `bare`, those that write rows
/// (INSERT, UPDATE, DELETE, ...) first.
fn writers_of(file: &FileUnit, part: &Part, bare: &str) -> Vec<usize> {
    let found = statements_mentioning(file, part, &[bare.to_string()]);
    let writes = |i: &usize| {
        let kw = kind::words(&file.source, &file.statements[*i], 1);
        matches!(
            kw.first().map(String::as_str),
            Some(
                "INSERT"
                    | "UPDATE"
                    | "DELETE"
                    | "MERGE"
                    | "TRUNCATE"
                    | "COPY"
                    | "WITH"
                    | "DO"
                    | "CALL"
                    | "SELECT"
            )
        )
    };
    let writers: Vec<usize> = found.iter().copied().filter(writes).collect();
    if writers.is_empty() {
        found
    } else {
        writers
    }
}

fn statement_mentioning<'f>(
    file: &'f FileUnit,
    part: &Part,
    names: &[String],
) -> Option<&'f Statement> {
    statements_mentioning(file, part, names)
        .first()
        .map(|&i| &file.statements[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_log_keys() {
        let log = "3\u{1e}public\u{1f}orders\n\
                   4\u{1e}public\u{1f}orders\u{1f}orders_check1\n\
                   5\u{1e}public.\"Mood\"\n\
                   5\u{1e}public.vv[]\n\
                   \u{1e}pgcrypto\n";
        let m = parse_ddl_log(log).unwrap();
        assert_eq!(m.get("public.orders"), Some(&Some(3)));
        assert_eq!(m.get("public.Mood"), Some(&Some(5)));
        assert_eq!(m.get("public.vv"), Some(&Some(5)));
        assert_eq!(m.get("pgcrypto"), Some(&None));
        assert!(parse_ddl_log("1\u{1e}*\n").is_none());
    }

    #[test]
    fn unquotes_names() {
        assert_eq!(
            unquote_qualified("public.\"My \"\"T\"\".x\""),
            "public.My \"T\".x"
        );
        assert_eq!(unquote_qualified("app.mood"), "app.mood");
    }
}
