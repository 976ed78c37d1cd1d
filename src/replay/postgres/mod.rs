//! Replay on a real PostgreSQL server (`--engine postgres`): the mechanics
//! of the PostgreSQL [`Engine`]. What replay means (which runs, which
//! findings) is [`crate::replay::algorithm`]'s; this engine runs parts,
//! observes and undoes them.
//!
//! Where: `--database-url` / `TWICE_DATABASE_URL` (twice creates a scratch
//! database there and drops it afterwards; the role needs `CREATEDB`), or a
//! throwaway cluster started from the local server binaries ([`cluster`]).
//! The connection and its roles are set up in `Runner::new` (through
//! [`server::Server`]).
//!
//! How:
//! - `apply` (a first run): the part runs statement by statement in one
//!   transaction that is committed, or rolled back at the first failing
//!   statement. `BEGIN`/`COMMIT`/`ROLLBACK` inside a migration are not sent:
//!   twice owns the transactions.
//! - `trial` (second runs, down checks): one transaction with a savepoint
//!   before each part; parts observed for all their errors run each
//!   statement under its own savepoint. Afterwards twice reads what the
//!   parts touched — the objects their DDL reported through event triggers
//!   (each tagged with its statement), the tables they wrote
//!   (`pg_stat_xact_user_tables`) or whose catalog row changed — then rolls
//!   back savepoint by savepoint, reading the same objects at each boundary
//!   (`observe.rs`). Sequences are not transactional: twice reports the
//!   values a single-part trial moved and puts them back with `setval`.
//! - Parts that cannot run in a transaction (goose `NO TRANSACTION`, pop
//!   `.autocommit`, dbmate `transaction:false`, `CREATE INDEX CONCURRENTLY`,
//!   `VACUUM`, ... or a statement the server refuses with SQLSTATE 25001)
//!   are applied in autocommit mode; their trial runs in a copy of the
//!   scratch database (`CREATE DATABASE ... TEMPLATE`), which is compared
//!   with the original and dropped.
//! - `--seed` fills tables that have fewer than a few rows with synthetic
//!   rows (committed; see `seed.rs`).

pub mod cluster;
pub mod kind;
mod observe;
pub mod roles;
mod run;
mod seed;
pub mod server;
pub mod setup;
pub mod snapshot;

use crate::error::{Error, Result};
use crate::model::Part;
use crate::options::Options;
use crate::replay::engine::{
    Applied, Caps, Engine, EngineError, Observation, RunOutcome, Step, Trial,
};
use crate::replay::interrupt::wait_if_interrupted;
use crate::report::Workspace;
use postgres::Client;
use run::{part_key, Batched, Mode, Watchdog};
use server::{describe, Server};
use snapshot::{Scope, SeqState};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

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

pub use crate::replay::{replay_detailed, Replayed};

/// The PostgreSQL engine: a session on the scratch database.
pub struct Runner<'a> {
    opts: &'a Options,
    server: Server,
    db: String,
    client: Client,
    /// Event triggers report DDL (installed by a superuser admin role);
    /// without them every schema comparison reads the whole schema.
    events: bool,
    watchdog: Watchdog,
    /// Process id of `client`'s backend (for the watchdog).
    backend_pid: i32,
    copies: Vec<String>,
    /// Parts the server refused to run in a transaction block (25001).
    autocommit_parts: BTreeSet<(usize, Option<usize>)>,
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
    /// The synthetic rows inserted, oldest first, for `unseed`.
    seeded: Vec<seed::SeededRow>,
    /// Bare names (lower case) of the tables that existed before the first
    /// migration (the setup script's, the bookkeeping table): never seeded,
    /// never written between runs.
    setup_tables: BTreeSet<String>,
    /// Every distinctive value (as text) written to a synthetic row, to
    /// tell the rows migrations derived from them (see
    /// [`seed::derived`]).
    synthetic_values: BTreeSet<String>,
    /// The backend whose session holds the seeding's prepared catalog reads
    /// (`seed::prepared_sql`).
    seed_prepared: Option<i32>,
    /// How many of the synthetic rows' records (`seeded`, from the first)
    /// are up to date with the catalog, which nothing but a migration's
    /// kept run or the set-up changes (`None`: none is), but for the rows of
    /// the tables in `refollow` (their catalog rows changed since) and in
    /// `unresolved` (no table has their oid, and none had their name).
    followed: Option<usize>,
    refollow: BTreeSet<u32>,
    unresolved: BTreeSet<u32>,
    /// `followed` before the migration's kept run being applied.
    followed_before_run: Option<usize>,
    /// The `search_path` of every session of the run, set by
    /// [`Engine::tool_schemas`] (the tool's default schema first, then the
    /// server's path, as Flyway sets it): set again on each new session.
    search_path: Option<String>,
}

impl<'a> Runner<'a> {
    /// Opens the server (`--database-url`, or a throwaway cluster: see
    /// [`server::Server::open`]) and a scratch database on it, where the
    /// setup script `setup` (with the sequence's folder, for messages) runs
    /// first as the admin role. Not reaching a server is an error (exit 2).
    pub fn open(opts: &'a Options, setup: Option<(&setup::Script, &str)>) -> Result<Runner<'a>> {
        let server = Server::open(&server::ServerOptions {
            url: opts.database_url.clone(),
            trusted: opts.database_url_trusted,
            template: opts.template.clone(),
            pool: opts.clusters.clone(),
        })
        .inspect_err(|_| wait_if_interrupted())?;
        Runner::new(opts, server, setup).inspect_err(|_| wait_if_interrupted())
    }

    /// Ends the session: drops the scratch databases and the migration role
    /// (and stops the cluster). Returns the names of the scratch database
    /// and of the copies made (dropped by now; for tests), and why the run
    /// is incomplete, if it is (the admin connection was lost, a prepared
    /// transaction was left behind, something could not be dropped).
    pub fn finish(self) -> (String, Vec<String>, Vec<String>) {
        let Runner {
            client,
            mut server,
            watchdog,
            db,
            copies,
            ..
        } = self;
        watchdog.stop();
        drop(client);
        let problems = server.finish();
        drop(server);
        (db, copies, problems)
    }

    fn new(
        opts: &'a Options,
        mut server: Server,
        setup: Option<(&setup::Script, &str)>,
    ) -> Result<Runner<'a>> {
        let db = server.create_scratch()?;
        setup::prepare_scratch(
            &mut server,
            &db,
            setup,
            opts.timeout,
            opts.data_limit.unwrap_or(crate::replay::DATA_LIMIT),
        )?;
        // Installed by the admin role (a superuser): they report the DDL
        // of the migration role's sessions too.
        let events = server.event_triggers;
        if events {
            let mut admin = server.admin_connect_to(&db)?;
            let sql = format!("{};\n{}", setup::SAFE_SEARCH_PATH, observe::EVENT_TRIGGERS);
            admin.batch_execute(&sql).map_err(|e| {
                Error::new(format!(
                    "cannot prepare the scratch database: {}",
                    describe(&e)
                ))
            })?;
        }
        let client = server.connect_to(&db)?;
        let watchdog = Watchdog::start(
            server.terminator(),
            server.data_dir(),
            opts.data_limit.unwrap_or(crate::replay::DATA_LIMIT),
        );
        let mut r = Runner {
            opts,
            server,
            db,
            client,
            events,
            watchdog,
            backend_pid: 0,
            copies: Vec::new(),
            autocommit_parts: BTreeSet::new(),
            seqs: BTreeMap::new(),
            catalog: None,
            seed_dirty: None,
            seed_counter: 0,
            seeded: Vec::new(),
            setup_tables: BTreeSet::new(),
            synthetic_values: BTreeSet::new(),
            seed_prepared: None,
            followed: None,
            refollow: BTreeSet::new(),
            unresolved: BTreeSet::new(),
            followed_before_run: None,
            search_path: None,
        };
        r.setup_session()?;
        r.note_setup_tables()?;
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
            .map_err(|e| tool_error("cannot set up the replay session", &e))?;
        if let Some(path) = &self.search_path {
            // Kept in `twice.search_path` as the server shows it, so that
            // the session does not count as changed (`SESSION_CHANGED`).
            self.client
                .batch_execute(&format!(
                    "SELECT set_config('search_path', {}, false); \
                     SELECT set_config('twice.search_path', current_setting('search_path'), false);",
                    server::literal(path)
                ))
                .map_err(|e| tool_error("cannot set the replay session's search_path", &e))?;
        }
        self.backend_pid = self
            .client
            .query_one("SELECT pg_backend_pid()", &[])
            .map(|r| r.get(0))
            .map_err(|e| tool_error("cannot set up the replay session", &e))?;
        Ok(())
    }

    /// After a migration's run: when it left anything in the session (a
    /// temporary table, a setting, a role, a prepared statement, a cursor,
    /// a `LISTEN`, an advisory lock), the session starts again as a new one
    /// would (`DISCARD ALL`, then twice's own settings), so that neither the
    /// migration's second run nor the next migration inherits it. A second
    /// run is a new deploy, in a new session: `CREATE TEMP TABLE tmp`
    /// failed its second run with "relation tmp already exists", and `SET
    /// default_transaction_read_only = on` failed every statement after it.
    /// SQLite drops temporary objects after each run, MySQL resets the
    /// session; the same here. Nothing is done inside a transaction.
    fn fresh_session_if_changed(&mut self) -> Result<()> {
        let changed = self
            .client
            .simple_query(SESSION_CHANGED)
            .map_err(|e| tool_error("cannot read the session's state", &e))?
            .into_iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).map(|v| v == "t"),
                _ => None,
            })
            .unwrap_or(false);
        if !changed {
            return Ok(());
        }
        match self.client.batch_execute("DISCARD ALL") {
            Ok(()) => {}
            // In a transaction (it is undone with it): nothing to do.
            Err(e) if e.code().is_some_and(|c| c.code() == "25001") => return Ok(()),
            Err(e) => return Err(tool_error("cannot reset the session", &e)),
        }
        // DISCARD ALL also dropped twice's prepared statements.
        self.catalog = None;
        self.seed_prepared = None;
        self.setup_session()
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

    /// Stops the DDL log and reads it (`None`: unknown, read everything).
    fn ddl_log(&mut self) -> Result<Option<observe::DdlLog>> {
        if !self.events {
            return Ok(None);
        }
        let rows = snapshot::run_batch(
            &mut self.client,
            &[
                "SELECT set_config('twice.record', 'off', false)".to_string(),
                "SELECT coalesce(current_setting('twice.ddl', true), '')".to_string(),
            ],
        )
        .map_err(|e| tool_error("cannot read the DDL log", &e))?;
        let text = snapshot::first_column(rows.into_iter().nth(1).unwrap_or_default())
            .into_iter()
            .next()
            .unwrap_or_default();
        Ok(observe::parse_ddl_log(&text))
    }

    /// `BEGIN`, returning the transaction id; with `record`, the event
    /// triggers start logging DDL.
    fn begin(&mut self, record: bool) -> Result<i64> {
        let sql = self.begin_commands(record).join("; ");
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

    /// `BEGIN` and `SET CONSTRAINTS ALL IMMEDIATE` in one round trip, for
    /// twice's own writes (seeding, the write between runs): deferred foreign
    /// keys and constraint triggers are checked at each insert, under its
    /// savepoint, not at the commit (where a failure would undo them all).
    /// Returns the transaction id.
    pub(super) fn begin_immediate(&mut self) -> Result<i64> {
        let mut commands = self.begin_commands(false);
        commands.push("SET CONSTRAINTS ALL IMMEDIATE".to_string());
        let rows = self
            .client
            .simple_query(&commands.join("; "))
            .map_err(|e| tool_error("cannot start a transaction", &e))?;
        Ok(txid(rows.into_iter().find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })))
    }

    /// The commands of [`Runner::begin`], one per element (sent alone, or
    /// ahead of a batch); the first row they return holds the transaction
    /// id.
    fn begin_commands(&self, record: bool) -> Vec<String> {
        // The time limit again, in case an earlier migration changed it.
        let ms = self.opts.timeout.as_millis().max(1);
        let select = if record && self.events {
            "SELECT txid_current(), set_config('twice.ddl', '', false), \
             set_config('twice.record', 'on', false)"
        } else {
            "SELECT txid_current()"
        };
        vec![
            "BEGIN".to_string(),
            format!("SET LOCAL statement_timeout = {ms}"),
            select.to_string(),
        ]
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
    /// counters start from zero. The sequences are found among the
    /// relations the transaction locked ([`snapshot::used_condition`]), by a
    /// prepared read ([`snapshot::Read`]). `own`: twice's own write
    /// (seeding, the write between runs), which creates and alters nothing,
    /// so only the sequences it used are read. After a migration's run, also reads
    /// which tables of synthetic rows it may have renamed (see
    /// [`seed::follow_check_sql`]).
    fn commit_kept(&mut self, since: i64, own: bool) -> Result<()> {
        let read = if own {
            snapshot::Read::SeqsUsed
        } else {
            snapshot::Read::SeqsSince(since)
        };
        let (reads, at) = snapshot::prepared_reads(&mut self.catalog, &[read]);
        let mut sql = reads.join("; ");
        let track = self.opts.seed && self.seed_dirty.is_some();
        if track {
            sql.push_str("; ");
            sql.push_str(&seed::dirty_tables_sql(since, self.server.version_num));
        }
        let check = match self.followed_before_run.take() {
            Some(k) if !own => Some((
                k,
                seed::follow_check_sql(&self.seeded[..k.min(self.seeded.len())], since),
            )),
            _ => None,
        };
        if let Some((_, check)) = &check {
            sql.push_str("; ");
            sql.push_str(check);
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
        // The sequences, then (after the setting put back) the rest.
        let mut results = results.into_iter().skip(at);
        self.seqs.extend(snapshot::parse_sequences(
            results.next().unwrap_or_default(),
        ));
        results.next();
        if track {
            let dirty = snapshot::first_column(results.next().unwrap_or_default());
            if let Some(set) = self.seed_dirty.as_mut() {
                set.extend(dirty);
            }
        }
        if let Some((k, _)) = check {
            // NULL: look at every record again.
            let changed = results
                .next()
                .unwrap_or_default()
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next().flatten());
            if let Some(list) = changed {
                self.refollow.extend(
                    list.trim_matches(['{', '}'])
                        .split(',')
                        .filter_map(|o| o.parse::<u32>().ok()),
                );
                self.followed = Some(k);
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

    /// The first run inside a transaction. `None`: the server refused a
    /// statement in a transaction block and no tool wraps the part in one
    /// (nothing is kept; it runs in autocommit mode instead).
    fn apply_in_transaction(&mut self, ws: &Workspace, part: &Part) -> Result<Option<Applied>> {
        // BEGIN goes in the same round trip as the statements.
        let lead = self.begin_commands(false);
        let (since, run) = match self.run_part_batched(ws, part, Mode::FirstInTxn, None, &lead)? {
            (Batched::Ran(run), first) => (txid(first), run),
            (Batched::Failed, _) => {
                self.undo_batch()?;
                let since = self.begin(false)?;
                (since, self.run_part(ws, part, Mode::FirstInTxn, None)?)
            }
        };
        if let Some(f) = run.failures.into_iter().next() {
            if !run.lost {
                self.exec_admin("ROLLBACK")?;
            }
            self.fresh_session_if_changed()?;
            self.reload_sequences()?;
            if f.error.code.as_deref() == Some("25001") && !part.tool_transaction {
                self.autocommit_parts.insert(part_key(part));
                return Ok(None);
            }
            return Ok(Some(Applied {
                failure: Some(f),
                handled: run.handled,
                partial: false,
            }));
        }
        self.commit_kept(since, false)?;
        self.fresh_session_if_changed()?;
        Ok(Some(Applied {
            failure: None,
            handled: run.handled,
            partial: false,
        }))
    }

    /// The first run outside a transaction: what ran stays.
    fn apply_autocommit(&mut self, ws: &Workspace, part: &Part) -> Result<Applied> {
        let run = self.run_part(ws, part, Mode::FirstAutocommit, None)?;
        // A BEGIN the migration left open ends here.
        let _ = self.client.batch_execute("ROLLBACK");
        self.fresh_session_if_changed()?;
        // What an autocommit run changed cannot be told: seed looks at
        // every table next time.
        self.seed_dirty = None;
        self.reload_sequences()?;
        let failure = run.failures.into_iter().next();
        Ok(Applied {
            // Nothing stays when the first statement that ran failed.
            partial: failure.is_some() && run.ran,
            failure,
            handled: run.handled,
        })
    }

    /// Undoes a batch that failed ([`run::Batched::Failed`]): rolls back
    /// twice's transaction and puts back the sequences it used (their values
    /// are not transactional), so that running the part again statement by
    /// statement starts from the same state.
    fn undo_batch(&mut self) -> Result<()> {
        self.exec_admin("ROLLBACK")?;
        let now = snapshot::read_sequences(&mut self.client, "true")
            .map_err(|e| tool_error("cannot read sequences", &e))?;
        let (before, now) = self.split_used(now);
        snapshot::restore_sequences(&mut self.client, &before, &now)
            .map_err(|e| tool_error("cannot put sequences back", &e))
    }

    /// A trial in one transaction: a savepoint before each step, read the
    /// states at every boundary while rolling back, then roll back. Each
    /// step's statements go in one round trip; when one fails, the trial is
    /// undone and run again statement by statement.
    fn trial_in_transaction(&mut self, ws: &Workspace, steps: &[Step<'_>]) -> Result<Trial> {
        match self.trial_in_transaction_as(ws, steps, true)? {
            Some(trial) => Ok(trial),
            None => {
                self.undo_batch()?;
                self.trial_in_transaction_as(ws, steps, false)?
                    .ok_or_else(|| Error::new("PostgreSQL replay: a trial ran twice in batches"))
            }
        }
    }

    /// [`Runner::trial_in_transaction`], with `batch` in one round trip per
    /// step. `None`: a batch failed (the transaction is still open).
    fn trial_in_transaction_as(
        &mut self,
        ws: &Workspace,
        steps: &[Step<'_>],
        batch: bool,
    ) -> Result<Option<Trial>> {
        // Batched, BEGIN goes in the same round trip as the first step.
        let mut since = if batch { 0 } else { self.begin(true)? };
        let mut outcomes = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let mode = Mode::of(step.stop_on_error, true);
            let savepoint = format!("SAVEPOINT twice_step{i}");
            let run = if batch {
                let mut lead = if i == 0 {
                    self.begin_commands(true)
                } else {
                    Vec::new()
                };
                lead.push(savepoint);
                match self.run_part_batched(ws, step.part, mode, Some(i), &lead)? {
                    (Batched::Ran(run), first) => {
                        if i == 0 {
                            since = txid(first);
                        }
                        run
                    }
                    (Batched::Failed, _) => return Ok(None),
                }
            } else {
                self.exec_admin(&savepoint)?;
                self.run_part(ws, step.part, mode, Some(i))?
            };
            let stop = step.stop_on_error && !run.failures.is_empty();
            let lost = run.lost;
            // A part that uses an enum value an earlier part added: the
            // tools commit each part, which one transaction cannot do.
            let needs_commit = i > 0
                && run
                    .failures
                    .iter()
                    .any(|f| f.error.code.as_deref() == Some("55P04"));
            if needs_commit && !lost {
                self.exec_admin("ROLLBACK TO SAVEPOINT twice_step0")?;
                self.record(false)?;
                let (before, now) = self.used_sequences()?;
                self.exec_admin("ROLLBACK")?;
                snapshot::restore_sequences(&mut self.client, &before, &now)
                    .map_err(|e| tool_error("cannot put sequences back", &e))?;
                return self.trial_committed(ws, steps).map(Some);
            }
            outcomes.push(RunOutcome {
                failures: run.failures,
                handled: run.handled,
                observation: Observation::default(),
            });
            if lost {
                // The server rolled the transaction back with the session.
                self.reload_sequences()?;
                return Ok(Some(Trial::Ran(outcomes)));
            }
            if stop {
                self.exec_admin("ROLLBACK TO SAVEPOINT twice_step0")?;
                self.record(false)?;
                let (before, now) = self.used_sequences()?;
                self.exec_admin("ROLLBACK")?;
                snapshot::restore_sequences(&mut self.client, &before, &now)
                    .map_err(|e| tool_error("cannot put sequences back", &e))?;
                return Ok(Some(Trial::Ran(outcomes)));
            }
        }
        let (ddl, tables, seq_before, seq_after) = self.observed(since)?;
        let scope = Scope {
            objects: observe::scope_objects(ddl.as_ref()),
            tables: Some(tables),
        };
        let mut states = vec![self.snapshot(&scope)?];
        for i in (0..steps.len()).rev() {
            // In the snapshot's first round trip.
            let back = format!("ROLLBACK TO SAVEPOINT twice_step{i}");
            states.push(
                snapshot::take_after(&mut self.client, &mut self.catalog, &scope, &back)
                    .map_err(|e| tool_error("cannot read the database state", &e))?,
            );
        }
        states.reverse();
        // The rollback and the sequences put back, in one round trip.
        let setvals = snapshot::restore_sequences_sql(&seq_before, &seq_after);
        self.exec_admin(&format!("ROLLBACK;\n{setvals}"))?;
        let observations = observe::observations(ws, steps, &states, ddl.as_ref());
        for (o, obs) in outcomes.iter_mut().zip(observations) {
            o.observation = obs;
        }
        if let [step] = steps {
            if let Some(o) = outcomes.first_mut() {
                o.observation.sequences =
                    observe::sequence_moves(ws, step.part, &seq_before, &seq_after);
            }
        }
        Ok(Some(Trial::Ran(outcomes)))
    }

    /// A trial whose parts must each be committed before the next (a part
    /// uses an enum value an earlier one added): in a copy of the database,
    /// one transaction per part, the whole state read at every boundary
    /// (rare, so simple), then the copy is dropped.
    fn trial_committed(&mut self, ws: &Workspace, steps: &[Step<'_>]) -> Result<Trial> {
        let copy = self.close_and_clone()?;
        let mut observed = self.server.connect_to(&copy)?;
        let mut observed_catalog = None;
        std::mem::swap(&mut self.client, &mut observed);
        std::mem::swap(&mut self.catalog, &mut observed_catalog);
        let scratch_pid = self.backend_pid;
        self.setup_session()?;
        self.record(true)?;
        let everything = Scope::default();
        let mut states = vec![self.snapshot(&everything)?];
        let mut outcomes = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            self.begin(false)?;
            let mode = Mode::of(step.stop_on_error, true);
            let run = self.run_part(ws, step.part, mode, Some(i))?;
            let stop = step.stop_on_error && !run.failures.is_empty();
            let lost = run.lost;
            outcomes.push(RunOutcome {
                failures: run.failures,
                handled: run.handled,
                observation: Observation::default(),
            });
            if lost {
                break;
            }
            if stop {
                self.exec_admin("ROLLBACK")?;
                break;
            }
            self.exec_admin("COMMIT")?;
            states.push(self.snapshot(&everything)?);
        }
        let ddl = self.ddl_log()?;
        // Back to the scratch database, which the trial did not touch.
        std::mem::swap(&mut self.client, &mut observed);
        std::mem::swap(&mut self.catalog, &mut observed_catalog);
        self.backend_pid = scratch_pid;
        drop(observed_catalog);
        drop(observed);
        self.server.drop_database(&copy)?;
        let observations = observe::observations(ws, steps, &states, ddl.as_ref());
        for (o, obs) in outcomes.iter_mut().zip(observations) {
            o.observation = obs;
        }
        Ok(Trial::Ran(outcomes))
    }

    /// After an observed run in a transaction, in one round trip: stops the
    /// DDL log and reads it, the tables written, and the sequences used.
    #[allow(clippy::type_complexity)]
    fn observed(
        &mut self,
        since: i64,
    ) -> Result<(
        Option<observe::DdlLog>,
        BTreeSet<String>,
        BTreeMap<String, SeqState>,
        BTreeMap<String, SeqState>,
    )> {
        let mut queries = Vec::new();
        if self.events {
            queries.push("SELECT set_config('twice.record', 'off', false)".to_string());
            queries.push("SELECT coalesce(current_setting('twice.ddl', true), '')".to_string());
        }
        let (reads, at) = snapshot::prepared_reads(
            &mut self.catalog,
            &[snapshot::Read::Touched(since), snapshot::Read::SeqsUsed],
        );
        let reads_from = queries.len() + at;
        queries.extend(reads);
        let results = snapshot::run_batch(&mut self.client, &queries)
            .map_err(|e| tool_error("cannot read what the run touched", &e))?;
        let ddl = if self.events {
            let text = snapshot::first_column(results.get(1).cloned().unwrap_or_default())
                .into_iter()
                .next()
                .unwrap_or_default();
            observe::parse_ddl_log(&text)
        } else {
            None
        };
        let mut results = results.into_iter().skip(reads_from);
        let tables = snapshot::first_column(results.next().unwrap_or_default());
        let now = snapshot::parse_sequences(results.next().unwrap_or_default());
        let (seq_before, seq_after) = self.split_used(now);
        Ok((ddl, tables, seq_before, seq_after))
    }

    /// The trial of a part that must run outside a transaction: in a copy of
    /// the database, compared with the original, then dropped.
    fn trial_in_copy(&mut self, ws: &Workspace, step: &Step<'_>) -> Result<Trial> {
        // Copy the database (no session may be connected to the template).
        let copy = self.close_and_clone()?;
        let mut observed = self.server.connect_to(&copy)?;
        let mut observed_catalog = None;
        std::mem::swap(&mut self.client, &mut observed);
        std::mem::swap(&mut self.catalog, &mut observed_catalog);
        let scratch_pid = self.backend_pid;
        self.setup_session()?;
        self.record(true)?;
        let mode = Mode::of(step.stop_on_error, false);
        let run = self.run_part(ws, step.part, mode, Some(0))?;
        let _ = self.client.batch_execute("ROLLBACK");
        let ddl = self.ddl_log()?;
        let scope = Scope {
            objects: observe::scope_objects(ddl.as_ref()),
            tables: None,
        };
        let after = self.snapshot(&scope)?;
        let seq_after = self.sequences()?;
        // Back to the scratch database, which holds the state before.
        std::mem::swap(&mut self.client, &mut observed);
        std::mem::swap(&mut self.catalog, &mut observed_catalog);
        self.backend_pid = scratch_pid;
        drop(observed_catalog);
        drop(observed);
        let before = self.snapshot(&scope)?;
        let seq_before = self.sequences()?;
        self.server.drop_database(&copy)?;
        let mut observation = observe::observations(ws, &[*step], &[before, after], ddl.as_ref())
            .into_iter()
            .next()
            .unwrap_or_default();
        observation.sequences = observe::sequence_moves(ws, step.part, &seq_before, &seq_after);
        Ok(Trial::Ran(vec![RunOutcome {
            failures: run.failures,
            handled: run.handled,
            observation,
        }]))
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
        self.seed_prepared = None;
        self.setup_session()?;
        Ok(copy)
    }

    /// Records the tables that exist now as tables of the set-up.
    fn note_setup_tables(&mut self) -> Result<()> {
        let tables = snapshot::user_tables(&mut self.client)
            .map_err(|e| tool_error("cannot list the tables", &e))?;
        self.setup_tables.extend(tables.iter().map(|t| {
            t.rsplit_once('.')
                .map_or(t.as_str(), |x| x.1)
                .to_ascii_lowercase()
        }));
        Ok(())
    }

    fn snapshot(&mut self, scope: &Scope) -> Result<snapshot::Snapshot> {
        snapshot::take(&mut self.client, &mut self.catalog, scope)
            .map_err(|e| tool_error("cannot read the database state", &e))
    }

    fn sequences(&mut self) -> Result<std::collections::BTreeMap<String, snapshot::SeqState>> {
        snapshot::sequences(&mut self.client).map_err(|e| tool_error("cannot read sequences", &e))
    }
}

impl Engine for Runner<'_> {
    fn name(&self) -> String {
        // `server_version_num` 150004 is 15.4 (9.6.24 was 90624).
        let n = self.server.version_num;
        if n >= 100_000 {
            format!("PostgreSQL {}.{}", n / 10_000, n % 10_000)
        } else {
            format!("PostgreSQL {}.{}.{}", n / 10_000, n / 100 % 100, n % 100)
        }
    }

    fn id(&self) -> &'static str {
        "postgres"
    }

    fn caps(&self) -> Caps {
        Caps {
            dialect: crate::dialect::Dialect::Postgres,
            nontransactional_sequences: true,
            sqlstate: true,
            add_column_if_not_exists: true,
        }
    }

    fn seed(&mut self) -> Result<(), EngineError> {
        let r = Runner::seed(self);
        wait_if_interrupted();
        Ok(r?)
    }

    fn unseed(&mut self) -> Result<bool, EngineError> {
        let r = Runner::unseed(self);
        wait_if_interrupted();
        Ok(r?)
    }

    fn put_back(&mut self) -> Result<(), EngineError> {
        let r = Runner::put_back(self);
        wait_if_interrupted();
        Ok(r?)
    }

    fn interleave(
        &mut self,
        tables: &BTreeSet<String>,
    ) -> Result<crate::replay::engine::Interleaved, EngineError> {
        let tables: BTreeSet<String> = tables.difference(&self.setup_tables).cloned().collect();
        let r = Runner::interleave(self, &tables);
        wait_if_interrupted();
        Ok(crate::replay::engine::Interleaved {
            tables: r?
                .into_iter()
                .map(|(t, b, a)| (t, (observe::table_data(&b), observe::table_data(&a))))
                .collect(),
        })
    }

    fn setup(&mut self, sql: &str) -> Result<(), EngineError> {
        self.followed = None;
        self.exec_admin(sql)?;
        self.note_setup_tables()?;
        // Sequences it made (goose's serial) start from here.
        self.reload_sequences()?;
        Ok(())
    }

    /// `CREATE SCHEMA IF NOT EXISTS` for each, as the migration role (which
    /// owns the scratch database, so it owns them, as the tool's user would),
    /// and the first before the server's `search_path` in every session of
    /// the run, as Flyway sets it on its connection.
    fn tool_schemas(&mut self, names: &[String]) -> Result<(), EngineError> {
        let Some(first) = names.first() else {
            return Ok(());
        };
        let create: String = names
            .iter()
            .map(|n| format!("CREATE SCHEMA IF NOT EXISTS {};\n", server::ident(n)))
            .collect();
        self.followed = None;
        self.exec_admin(&create)?;
        let path = self
            .client
            .query_one("SELECT current_setting('search_path')", &[])
            .map(|r| r.get::<_, String>(0))
            .map_err(|e| tool_error("cannot read the search_path", &e))?;
        self.search_path = Some(format!("{}, {path}", server::ident(first)));
        self.setup_session()?;
        Ok(())
    }

    fn apply(&mut self, ws: &Workspace, part: &Part) -> Result<Applied, EngineError> {
        // The run may rename or re-create tables of synthetic rows: which
        // it changed is read when it is committed (`commit_kept`).
        self.followed_before_run = self.followed.take();
        let r = if self.needs_autocommit(ws, part) {
            self.apply_autocommit(ws, part)
        } else {
            match self.apply_in_transaction(ws, part) {
                Ok(Some(a)) => Ok(a),
                Ok(None) => self.apply_autocommit(ws, part),
                Err(e) => Err(e),
            }
        };
        wait_if_interrupted();
        Ok(r?)
    }

    fn trial(&mut self, ws: &Workspace, steps: &[Step<'_>]) -> Result<Trial, EngineError> {
        let outside = steps.iter().any(|s| self.needs_autocommit(ws, s.part));
        let r = match steps {
            [one] if outside => self.trial_in_copy(ws, one),
            _ if outside => Ok(Trial::NotPossible(
                "it (or its up migration) must run outside a transaction, and the down checks \
                 run inside one to undo them"
                    .into(),
            )),
            _ => self.trial_in_transaction(ws, steps),
        };
        // What is not undone with the trial (a prepared statement, an
        // advisory lock) must not reach the next run either.
        if r.is_ok() {
            self.fresh_session_if_changed()?;
        }
        wait_if_interrupted();
        Ok(r?)
    }
}

/// Whether the session holds something a migration left (see
/// [`Runner::fresh_session_if_changed`]); settings twice sets itself
/// (`statement_timeout`, `client_min_messages`, `plan_cache_mode`) and
/// settings back at their value at the session's start do not count.
const SESSION_CHANGED: &str = "SELECT \
    (pg_catalog.pg_my_temp_schema() <> 0 AND EXISTS (SELECT FROM pg_catalog.pg_class \
        WHERE relnamespace = pg_catalog.pg_my_temp_schema())) \
    OR EXISTS (SELECT FROM pg_catalog.pg_settings WHERE source = 'session' \
        AND setting IS DISTINCT FROM reset_val \
        AND name NOT IN ('statement_timeout', 'client_min_messages', 'plan_cache_mode') \
        AND NOT (name = 'search_path' \
            AND setting IS NOT DISTINCT FROM current_setting('twice.search_path', true))) \
    OR EXISTS (SELECT FROM pg_catalog.pg_prepared_statements \
        WHERE from_sql AND name NOT LIKE 'twice\\_%') \
    OR EXISTS (SELECT FROM pg_catalog.pg_cursors) \
    OR EXISTS (SELECT FROM pg_catalog.pg_listening_channels()) \
    OR EXISTS (SELECT FROM pg_catalog.pg_locks \
        WHERE pid = pg_catalog.pg_backend_pid() AND locktype = 'advisory') \
    OR current_user <> session_user";

/// A connection to the maintenance database, used only to hold the
/// `client` slot while the scratch database has no session.
fn dummy_client(server: &Server, _db: &str) -> Result<Client> {
    server.maintenance_client()
}

/// The transaction id the first row of [`Runner::begin_commands`] holds.
fn txid(first: Option<String>) -> i64 {
    first.and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn tool_error(what: &str, e: &postgres::Error) -> Error {
    let mut text = format!("PostgreSQL replay: {what}: {}", describe(e));
    if e.code() == Some(&postgres::error::SqlState::QUERY_CANCELED) {
        // twice's own reads and writes run under the statement time limit
        // too: tables grown past what it can read in that time stop it.
        text.push_str(
            " (twice's own statement ran longer than the replay time limit, --timeout: the \
             tables the migration left hold more data than replay can read in that time; \
             raise --timeout, or keep such loads out of the replayed migrations)",
        );
    }
    Error::new(text)
}
