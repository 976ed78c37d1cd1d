//! Replay on MariaDB or MySQL (`--engine mysql`): the mechanics of the MySQL
//! [`Engine`]. What replay means is [`crate::replay::algorithm`]'s; this
//! engine runs parts, observes them and undoes trials.
//!
//! Where: `--database-url mysql://...` / `TWICE_DATABASE_URL`, or a throwaway
//! server started from the installed binaries ([`server`]). Migrations run
//! as a user of their own, granted only the scratch database and its
//! sibling copy.
//!
//! How:
//! - `apply` (a first run): statement by statement in autocommit mode, as
//!   the migration tools run MySQL migrations; DDL commits, so a part that
//!   fails half-way keeps what ran before the failure ([`Applied::partial`]).
//! - `trial` (second runs, down checks): DDL cannot be rolled back, so the
//!   objects the parts can reach ([`observe`]'s scope) are copied to a
//!   sibling database (`SHOW CREATE` + `INSERT ... SELECT`), the parts run
//!   there, the state is read at every step boundary, and the copy is
//!   dropped. The scratch database is never touched by a trial.
//! - Errors carry the MySQL error number in the message and the SQLSTATE as
//!   the code; the number decides the shared [`ErrorClass`].
//! - `AUTO_INCREMENT` counters that a second run moves without changing a
//!   row (`INSERT IGNORE`, `ON DUPLICATE KEY UPDATE` on an existing key) are
//!   reported as sequence moves.
//! - Time limit: `max_statement_time` (MariaDB) / `max_execution_time`
//!   (MySQL) per session, and a watchdog that kills the query, then the
//!   connection, a second after `--timeout`.

mod names;
mod observe;
mod own;
mod run;
mod seed;
pub mod server;

use crate::error::{Error, Result};
use crate::model::Part;
use crate::options::Options;
use crate::replay::engine::{
    Applied, Caps, Engine, EngineError, Failure, FailureKind, Handled, Observation, RunOutcome,
    Step, StmtError, Trial,
};
use crate::report::Workspace;
use mysql::prelude::Queryable;
use mysql::Conn;
use observe::State;
use server::{ident, Server};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// What replay did on MySQL for one sequence, with what tests look at.
#[derive(Debug, Default)]
pub struct Replayed {
    pub findings: Vec<crate::finding::Finding>,
    pub stopped: Option<String>,
    /// The scratch database used (dropped by now).
    pub scratch: String,
    /// How many trial copies were made, and the objects copied in all.
    pub copies: usize,
    pub copied_objects: usize,
    /// Objects a trial found in the copy as the scratch database has them
    /// and used without copying them again.
    pub reused_objects: usize,
}

/// The MySQL engine: a session on the scratch database.
pub struct Runner<'a> {
    opts: &'a Options,
    server: Server,
    db: String,
    copy: String,
    conn: Conn,
    watchdog: run::Watchdog,
    copies: usize,
    copied_objects: usize,
    /// `--seed`: makes seeded values distinct across migrations.
    seed: seed::SeedState,
    /// The scratch database's catalog, kept up to date after each kept run
    /// for the names it used (`None`: read it again in full).
    catalog: Option<observe::Catalog>,
    /// The objects the copy database holds between trials, each with its
    /// image when it was last known to equal the scratch database's (see
    /// [`Runner::prepare_copy`]).
    kept: BTreeMap<(String, String), observe::Image>,
    /// The copy database holds objects twice does not know: drop it and
    /// create it again before the next trial.
    copy_unknown: bool,
    /// Objects of the copy database no longer [`Runner::kept`]: dropped
    /// before the next trial.
    stale: BTreeSet<(String, String)>,
    /// Objects a trial found already in the copy, the same as in the
    /// scratch database, and used as they were.
    reused_objects: usize,
    /// The first run that just failed part-way, when it can go on.
    pending: Option<Pending>,
    /// The server reports changes to a session with each statement's
    /// result (`session_track_state_change`, and the transaction state):
    /// a run that changed nothing of its session needs no reset after it.
    tracking: bool,
    /// The XIDs (as written) of the XA transactions the session's
    /// migration began (`XA START 'x'`), rolled back before the session is
    /// reset: a prepared one outlives its session (MariaDB 10.5+, MySQL
    /// 8), holding its locks, and kept the scratch database from being
    /// read or dropped.
    xa: Vec<String>,
    /// A migration left an XA transaction that twice rolled back.
    xa_left: bool,
    /// The databases the sequence made its own so far (the names its
    /// parts `USE`, see [`own`]): qualified names that name one of them
    /// are resolved to the database a part runs in. Kept from first runs;
    /// a trial adds its steps' names for the steps after them and then
    /// forgets them.
    own: BTreeSet<String>,
    /// The database the migration tool's settings say the migrations run
    /// in (Flyway's default schema, Atlas's env url; see
    /// [`Engine::tool_schemas`]): a `CREATE DATABASE IF NOT EXISTS` of it is
    /// not run, as it is there before the tool connects.
    tool_database: Option<String>,
}

/// One part's run.
#[derive(Default)]
struct PartRun {
    failures: Vec<Failure>,
    handled: Vec<Handled>,
    /// Rows each statement affected (statements that ran).
    affected: BTreeMap<usize, u64>,
    /// Statements that ran without error before the first failure.
    ran_before_failure: bool,
    /// Where (a position in the part's statements) the first failure is.
    failed_at: Option<usize>,
    /// The session ended with the failure (it was opened again).
    session_lost: bool,
    /// The run may have left something in its session (a setting, the
    /// current database, a variable, a temporary table, an open
    /// transaction, a lock): it is reset before anything else runs. False
    /// only when the server reported no such change for any statement.
    session_changed: bool,
    /// Tracking the transaction (`apply`): the position of the statement
    /// that began the transaction open after the last statement that ran
    /// (`None`: none was open), as the server's transaction-state tracker
    /// reported it.
    tx_start: Option<usize>,
}

/// A first run that failed part-way and can go on from the failure after
/// the synthetic rows are withdrawn ([`Engine::resume`]): what MySQL kept
/// at the failure stays (each statement before it committed, or the
/// transaction open at the failure was rolled back), and the migration's
/// session with it (user variables, prepared statements, temporary tables,
/// `SET` settings).
struct Pending {
    /// The part (its file and statements).
    file: usize,
    statements: Vec<usize>,
    /// The position in the part's statements the run goes on from.
    from: usize,
    handled: Vec<Handled>,
    /// The migration's session, set aside while [`Engine::unseed`] works on
    /// a session of its own (`None`: it is still [`Runner::conn`]).
    session: Option<Conn>,
}

impl<'a> Runner<'a> {
    /// Opens the server (`--database-url`, or a throwaway server) and a
    /// scratch database on it.
    pub fn open(opts: &'a Options) -> Result<Runner<'a>> {
        let url = opts
            .database_url
            .as_deref()
            .filter(|u| u.starts_with("mysql://") || u.starts_with("mariadb://"));
        let url = url.map(|u| u.replacen("mariadb://", "mysql://", 1));
        if opts.database_url.is_some() && url.is_none() {
            return Err(Error::new(
                "--engine mysql needs a mysql:// URL in --database-url (or TWICE_DATABASE_URL), \
                 e.g. mysql://USER:PASSWORD@HOST:3306/DB; without one twice starts a throwaway \
                 server",
            ));
        }
        let mut server = Server::open(url.as_deref(), opts.database_url_trusted)?;
        let suffix = crate::replay::postgres::random_suffix();
        let db = format!("twice_{suffix}");
        let copy = format!("twice_{suffix}_copy");
        server.create_database(&db)?;
        server.create_database(&copy)?;
        let conn = server.connect_to(&db)?;
        let watchdog = run::Watchdog::start(
            server.admin.clone(),
            server.data_dir(),
            opts.data_limit.unwrap_or(crate::replay::DATA_LIMIT),
        );
        let mut r = Runner {
            opts,
            server,
            db,
            copy,
            conn,
            watchdog,
            copies: 0,
            copied_objects: 0,
            seed: seed::SeedState::default(),
            catalog: None,
            kept: BTreeMap::new(),
            copy_unknown: false,
            stale: BTreeSet::new(),
            reused_objects: 0,
            pending: None,
            tracking: false,
            xa: Vec::new(),
            xa_left: false,
            own: BTreeSet::new(),
            tool_database: None,
        };
        // The session trackers (MySQL 5.7, MariaDB 10.3 on): where the
        // server has them, every session of the run turns them on.
        r.tracking = r.exec(TRACKERS).is_ok();
        r.setup_session()?;
        Ok(r)
    }

    /// Ends the session: drops the databases and the user, stops a
    /// throwaway server. Returns what could not be cleaned up.
    pub fn finish(mut self) -> (String, [usize; 3], Vec<String>) {
        self.watchdog.stop();
        self.rollback_xa();
        let mut problems = Vec::new();
        if self.xa_left {
            problems.push(
                "a migration left an XA transaction open or prepared (XA START without XA \
                 COMMIT); twice rolled it back, so what it wrote was not kept"
                    .to_string(),
            );
        }
        problems.extend(self.server.finish());
        let counts = [self.copies, self.copied_objects, self.reused_objects];
        (self.db.clone(), counts, problems)
    }

    /// Records the tables that exist now as tables of the set-up (the
    /// setup script's, the migration tool's own): never seeded nor written
    /// between runs.
    fn note_setup_tables(&mut self) -> Result<()> {
        let names: Vec<String> = self
            .conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
                (self.db.as_str(),),
            )
            .map_err(|e| {
                Error::new(format!(
                    "MySQL replay: cannot list the tables: {}",
                    server::error_text(&e)
                ))
            })?;
        self.seed
            .setup_tables
            .extend(names.into_iter().map(|n| n.to_lowercase()));
        Ok(())
    }

    /// Session settings: the time limit and `sql_mode` (the server's
    /// default unless `[replay] mysql_sql_mode` sets one).
    fn setup_session(&mut self) -> Result<()> {
        let sql = self.session_settings();
        self.exec(&sql)
    }

    /// The settings every migration session starts with (see
    /// [`session_sql`] and [`fk_sql`]).
    fn session_settings(&self) -> String {
        session_sql(
            self.server.mariadb,
            self.opts.timeout,
            self.opts.mysql_sql_mode.as_deref(),
            self.tracking,
        ) + fk_sql(self.opts.mysql_foreign_key_checks)
            + &timestamp_sql(self.opts.mysql_explicit_defaults_for_timestamp)
    }

    /// Runs `sql` under the replay time limit (the watchdog armed a second
    /// past it), with whether it outlived the limit: an interrupted
    /// `SLEEP()` returns without an error, stopped all the same.
    fn timed_drop(&mut self, sql: &str) -> (std::result::Result<(), mysql::Error>, bool) {
        let grace = self.opts.timeout + Duration::from_secs(1);
        self.watchdog
            .arm(Instant::now() + grace, self.conn.connection_id());
        let started = Instant::now();
        let r = self.conn.query_drop(sql);
        self.watchdog.disarm();
        (r, started.elapsed() >= self.opts.timeout)
    }

    fn exec(&mut self, sql: &str) -> Result<()> {
        // The session settings are several statements: an error in any of
        // them (an `sql_mode` the server does not know) is an error.
        server::exec_all(&mut self.conn, sql).map_err(|e| {
            Error::new(format!(
                "MySQL replay: `{sql}` failed: {}",
                server::error_text(&e)
            ))
        })
    }

    /// A fresh session on `db` (after a part: what a migration set for its
    /// session must not leak into the next one).
    fn reset_session(&mut self, db: &str) -> Result<()> {
        self.rollback_xa();
        if self.conn.reset().is_err() {
            self.conn = self.server.connect_to(db)?;
        }
        let sql = self.session_settings();
        // One round trip.
        self.exec(&format!("USE {};\n{sql}", ident(db)))
    }

    /// Rolls back, on the session that began them, the XA transactions a
    /// migration began ([`Runner::xa`]); one that is no longer there (it
    /// was committed or rolled back) is an error that changes nothing.
    fn rollback_xa(&mut self) {
        for xid in std::mem::take(&mut self.xa) {
            let _ = self.conn.query_drop(format!("XA END {xid}"));
            if self.conn.query_drop(format!("XA ROLLBACK {xid}")).is_ok() {
                self.xa_left = true;
            }
        }
    }

    /// After twice's own writes (seeding, the write between runs, putting
    /// back): plain `INSERT`s, `UPDATE`s and `DELETE`s in autocommit mode,
    /// which leave nothing in the session unless a trigger fires (a trigger
    /// may set variables, or call a routine that sets the session's): the
    /// session is reset when the catalog holds a trigger or is not known.
    fn after_own_writes(&mut self, db: &str) -> Result<()> {
        if self.catalog.as_ref().is_none_or(|c| c.has_trigger()) {
            self.reset_session(db)?;
        }
        Ok(())
    }

    /// Runs a part's statements; stops at the first failure when `stop`.
    fn run_part(&mut self, ws: &Workspace, part: &Part, stop: bool, db: &str) -> Result<PartRun> {
        let out = self.run_statements(ws, part, 0, stop, false, db)?;
        if out.session_changed {
            self.end_session(db)?;
        }
        Ok(out)
    }

    /// Ends the migration's session: a transaction it left open is rolled
    /// back, and what it set for its session must not leak into the next.
    fn end_session(&mut self, db: &str) -> Result<()> {
        // The reset rolls an open transaction back, as a new connection would.
        self.reset_session(db)
    }

    /// Runs a part's statements from position `from`, on the session as it
    /// is (ended by the caller); stops at the first failure when `stop`.
    /// With `track`, follows where the open transaction began
    /// ([`PartRun::tx_start`]), from the server's transaction-state tracker.
    fn run_statements(
        &mut self,
        ws: &Workspace,
        part: &Part,
        from: usize,
        stop: bool,
        track: bool,
        db: &str,
    ) -> Result<PartRun> {
        let file = &ws.files[part.file];
        let mut out = PartRun {
            // Without the trackers, whether a run changed its session is
            // not known: it is reset.
            session_changed: !self.tracking,
            ..PartRun::default()
        };
        // Whether a transaction is open after the last statement that ran.
        let mut open = false;
        // The databases the part switches to (`USE app`): a script that
        // sets up its own database (`CREATE DATABASE IF NOT EXISTS app;
        // USE app;`) runs in the scratch database instead, as the user it
        // runs as may reach no other.
        let used: BTreeSet<String> = part
            .statements
            .iter()
            .filter_map(|&i| file.statements.get(i))
            .filter_map(|st| match database_statement(&st.sql) {
                Some((DatabaseVerb::Use, name)) => Some(name),
                _ => None,
            })
            .collect();
        // Those are the sequence's own from this part on: a name qualified
        // with one (`shop.plan`) is resolved to `db` too ([`own`]).
        self.own
            .extend(used.iter().filter(|n| own::may_own(n)).cloned());
        for (pos, &i) in part.statements.iter().enumerate().skip(from) {
            let Some(stmt) = file.statements.get(i) else {
                continue;
            };
            let mut sql = stmt.sql.trim();
            if sql.is_empty() || is_client_command(sql) {
                continue;
            }
            if ws.unresolved.contains(&(part.file, i)) {
                out.handled
                    .push(Handled::unresolved_placeholder(i, stmt.span.clone()));
                continue;
            }
            let scratch_use;
            let resolved;
            match database_statement(sql) {
                Some((DatabaseVerb::Use, _)) => {
                    scratch_use = format!("USE {}", ident(db));
                    sql = &scratch_use;
                }
                Some((DatabaseVerb::Create, name))
                    if self.tool_database.as_ref() == Some(&name)
                        && sql
                            .split_whitespace()
                            .take(5)
                            .any(|w| w.eq_ignore_ascii_case("EXISTS")) =>
                {
                    out.handled.push(Handled {
                        stmt: i,
                        span: stmt.span.clone(),
                        text: format!(
                            "not run: it creates the database `{name}` the migration tool's \
                             settings run the migrations in, which is there before the tool \
                             connects; replay runs them in its scratch database instead"
                        ),
                        help: None,
                    });
                    continue;
                }
                Some((verb, name)) if used.contains(&name) => {
                    let what = match verb {
                        DatabaseVerb::Create => "creates",
                        _ => "drops",
                    };
                    out.handled.push(Handled {
                        stmt: i,
                        span: stmt.span.clone(),
                        text: format!(
                            "not run: it {what} the database `{name}` the script then uses \
                             (`USE {name}`); replay runs the script in its scratch database \
                             instead"
                        ),
                        help: None,
                    });
                    continue;
                }
                _ => {
                    if let Some(r) = own::resolve(sql, &self.own, db) {
                        resolved = r;
                        sql = &resolved;
                    }
                }
            }
            // Locks (which the trackers do not report) and routines (whose
            // statements report nothing of their own) are reset after
            // whatever the server says; so is any statement that fails.
            if matches!(
                stmt.facts.keyword.as_str(),
                "LOCK" | "UNLOCK" | "HANDLER" | "XA" | "CALL"
            ) || sql.to_ascii_uppercase().contains("GET_LOCK")
            {
                out.session_changed = true;
            }
            if let Some(xid) = xa_start_xid(sql) {
                self.xa.push(xid.to_string());
            }
            let (r, outlived) = self.timed_drop(sql);
            crate::replay::interrupt::wait_if_interrupted();
            // An interrupted SLEEP() returns without an error: a statement
            // that outlived the limit was stopped all the same.
            let r = match r {
                Ok(()) if outlived => {
                    self.watchdog.take_fired();
                    out.session_changed = true;
                    out.failed_at.get_or_insert(pos);
                    out.failures.push(Failure {
                        stmt: i,
                        span: stmt.span.clone(),
                        at: stmt.span.start,
                        error: StmtError::new(
                            FailureKind::Timeout,
                            "the statement ran longer than the time limit and was stopped",
                        ),
                    });
                    if stop {
                        break;
                    }
                    continue;
                }
                r => r,
            };
            match r {
                Ok(()) => {
                    out.affected.insert(i, self.conn.affected_rows());
                    if out.failures.is_empty() {
                        out.ran_before_failure = true;
                    }
                    let (changed, now_open) = if self.tracking {
                        run::session_report(&self.conn)
                    } else {
                        (true, None)
                    };
                    out.session_changed |= changed;
                    if let Some(o) = now_open {
                        open = o;
                    }
                    if track {
                        match now_open {
                            Some(true) => {
                                out.tx_start.get_or_insert(pos);
                            }
                            Some(false) => out.tx_start = None,
                            None => {}
                        }
                    }
                }
                Err(e) => {
                    out.session_changed = true;
                    let fired = self.watchdog.take_fired();
                    let mut error = run::stmt_error(&e, &[&self.db, &self.copy], fired);
                    if self.watchdog.take_grew() {
                        error = StmtError::new(
                            FailureKind::Limit,
                            format!(
                                "{} (it is kept in memory when /dev/shm has room)",
                                crate::replay::data_limit_message(
                                    "server",
                                    self.opts.data_limit.unwrap_or(crate::replay::DATA_LIMIT)
                                )
                            ),
                        );
                    }
                    out.failed_at.get_or_insert(pos);
                    let at = run::syntax_error_at(
                        &e,
                        &file.source.text,
                        stmt.span.clone(),
                        &[&self.db, &self.copy],
                    )
                    .unwrap_or(stmt.span.start);
                    out.failures.push(Failure {
                        stmt: i,
                        span: stmt.span.clone(),
                        at,
                        error,
                    });
                    if run::connection_lost(&e) {
                        self.conn = self.server.connect_to(db)?;
                        self.setup_session()?;
                        out.session_lost = true;
                        return Ok(out);
                    }
                    if stop {
                        break;
                    }
                }
            }
        }
        out.session_changed |= open;
        Ok(out)
    }

    /// A first run (see [`Engine::apply`]). One that fails part-way keeps
    /// its session and the point it can go on from ([`Pending`]) when it
    /// can ([`Runner::resume_point`]).
    fn apply_part(&mut self, ws: &Workspace, part: &Part) -> Result<Applied> {
        self.settle()?;
        let db = self.db.clone();
        // Only a run that may fail because of synthetic rows goes on. The
        // server tells when a transaction begins and ends (MySQL 5.7,
        // MariaDB 10.3 on); where it cannot, a failure part-way is final.
        let synthetic = self.opts.seed || self.opts.interleave;
        let track = synthetic && self.tracking;
        let run = self.run_statements(ws, part, 0, true, track, &db)?;
        self.follow_renames(ws, part, &run);
        let from = match (&run.failures.first(), run.ran_before_failure) {
            (Some(f), true) if track => self.resume_point(ws, part, &run, f),
            _ => None,
        };
        match from {
            Some(from) => {
                self.pending = Some(Pending {
                    file: part.file,
                    statements: part.statements.clone(),
                    from,
                    handled: run.handled.clone(),
                    session: None,
                });
                // The catalog is read again once the run is over (from the
                // migration's session it might read with the migration's
                // settings).
                self.catalog = None;
                self.seed.forget();
            }
            None => {
                if run.session_changed {
                    self.end_session(&db)?;
                }
                self.after_kept_run(ws, part)?;
            }
        }
        let partial = run.ran_before_failure;
        Ok(Applied {
            failure: run.failures.into_iter().next(),
            handled: run.handled,
            partial,
        })
    }

    /// Where a first run that failed part-way can go on after the synthetic
    /// rows are withdrawn, with the migration's session as it is: from the
    /// failing statement, or, when it failed in a transaction that is still
    /// open, from the statement that began it, after rolling it back (a
    /// statement that fails in a transaction undoes only itself, and a
    /// statement that commits implicitly, DDL, commits what came before it
    /// even when it then fails). `None` when it cannot: the error is no
    /// plain error (a time limit, a lost session), a `CALL` failed (the
    /// statements of the routine before the failure committed, and the
    /// `CALL` would run them again), `LOCK TABLES` holds tables, a deadlock
    /// rolled the transaction back, or whether a transaction is still open
    /// cannot be told (MySQL 8 has no `@@in_transaction`).
    fn resume_point(
        &mut self,
        ws: &Workspace,
        part: &Part,
        run: &PartRun,
        f: &Failure,
    ) -> Option<usize> {
        let at = run.failed_at?;
        if f.error.kind != FailureKind::Error || run.session_lost {
            return None;
        }
        if f.error.message.ends_with("(MySQL error 1213)")
            || f.error.message.ends_with("(MySQL error 1205)")
        {
            return None;
        }
        let file = &ws.files[part.file];
        let keyword = |pos: usize| {
            part.statements
                .get(pos)
                .and_then(|&i| file.statements.get(i))
                .map(|s| s.facts.keyword.as_str())
        };
        if keyword(at) == Some("CALL") || (0..at).any(|p| keyword(p) == Some("LOCK")) {
            return None;
        }
        let from = match run.tx_start {
            None => at,
            Some(start) => {
                let open: Option<i64> = self
                    .conn
                    .query_first("SELECT @@in_transaction")
                    .ok()
                    .flatten();
                match open {
                    Some(1) => start,
                    Some(0) => at,
                    _ => return None,
                }
            }
        };
        self.conn.query_drop("ROLLBACK").ok()?;
        Some(from)
    }

    /// Ends a first run left [`Pending`] that will not go on: its session.
    fn settle(&mut self) -> Result<()> {
        if let Some(p) = self.pending.take() {
            if p.session.is_none() {
                let db = self.db.clone();
                self.end_session(&db)?;
            }
        }
        Ok(())
    }

    /// [`Engine::resume`].
    fn resume_part(&mut self, ws: &Workspace, part: &Part) -> Result<Applied> {
        let pending = match self.pending.take() {
            Some(p) if p.file == part.file && p.statements == part.statements => p,
            other => {
                self.pending = other;
                self.settle()?;
                return Err(Error::new(
                    "MySQL replay: no first run of this migration to go on with",
                ));
            }
        };
        if let Some(session) = pending.session {
            self.conn = session;
        }
        let db = self.db.clone();
        let run = self.run_statements(ws, part, pending.from, true, false, &db)?;
        self.follow_renames(ws, part, &run);
        self.end_session(&db)?;
        self.after_kept_run(ws, part)?;
        let from_stmt = part.statements.get(pending.from).copied();
        let mut handled: Vec<Handled> = pending
            .handled
            .into_iter()
            .filter(|h| from_stmt.is_some_and(|s| h.stmt < s))
            .collect();
        handled.extend(run.handled);
        Ok(Applied {
            failure: run.failures.into_iter().next(),
            handled,
            partial: true,
        })
    }

    /// The synthetic rows of tables a kept run renamed (`RENAME TABLE a TO
    /// b, ...`, `ALTER TABLE a RENAME [TO|AS] b`: statements of the run that
    /// ran) are looked for under their new names. MySQL keeps no id of a
    /// table across a copying `ALTER TABLE`, so renames are followed from
    /// the statements; one made by a routine or by SQL built at run time
    /// (`PREPARE`) is not.
    fn follow_renames(&mut self, ws: &Workspace, part: &Part, run: &PartRun) {
        use crate::classify::{AlterOp, Kind};
        let file = &ws.files[part.file];
        let text = &file.source.text;
        for &i in part
            .statements
            .iter()
            .filter(|i| run.affected.contains_key(i))
        {
            let Some(st) = file.statements.get(i) else {
                continue;
            };
            match &st.facts.kind {
                Kind::RenameTables(pairs) => {
                    for p in pairs {
                        let to = server_spelling(text, &p.to.span);
                        self.seed.renamed(p.from.object(), &to);
                    }
                }
                Kind::AlterTable(a) => {
                    let Some(table) = &a.table else {
                        continue;
                    };
                    let mut from = table.object().to_string();
                    for action in &a.actions {
                        if let AlterOp::RenameTo { new } = &action.op {
                            let to = server_spelling(text, &new.span);
                            self.seed.renamed(&from, &to);
                            from = to;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// After a kept run of `part`: what it changed in the catalog.
    fn after_kept_run(&mut self, ws: &Workspace, part: &Part) -> Result<()> {
        let db = self.db.clone();
        // What the kept run changed in the catalog: the objects it names;
        // anything, when it calls routines or builds SQL at run time.
        let file = &ws.files[part.file];
        let mut words = BTreeSet::new();
        let dynamic = observe::mentioned(file, part, &mut words);
        // Copies of views, triggers, routines and events the run names are
        // made again: their images leave out some of what they are (a
        // routine's parameters, a view's CHECK OPTION). Tables are
        // compared whole.
        let stale: Vec<(String, String)> = self
            .kept
            .keys()
            .filter(|(kind, name)| kind != "table" && words.contains(&name.to_lowercase()))
            .cloned()
            .collect();
        for key in stale {
            self.kept.remove(&key);
            self.stale.insert(key);
        }
        if dynamic || words.contains("call") || words.contains("do") {
            self.catalog = None;
            self.seed.forget();
        } else {
            let fail = |e: mysql::Error| {
                Error::new(format!(
                    "MySQL replay: cannot read the catalog: {}",
                    server::error_text(&e)
                ))
            };
            let names = observe::raw_names(file, part);
            let routines = observe::routine_names(file, part);
            let cat = match self.catalog.as_mut() {
                Some(cat) => {
                    observe::refresh_catalog(&mut self.conn, &db, cat, &names, &routines)
                        .map_err(fail)?;
                    cat
                }
                None => self
                    .catalog
                    .insert(observe::catalog(&mut self.conn, &db).map_err(fail)?),
            };
            // The tables the run named, and those it reached through
            // triggers and cascades, are read again before seeding: those
            // the catalog (just brought up to date for these names) holds,
            // and those seeding knows (gone or renamed since).
            let reached = observe::scope(cat, &words, false)
                .into_iter()
                .filter(|(kind, _)| kind == "table")
                .map(|(_, name)| name);
            let known = self.seed.known_tables();
            let named = names
                .into_iter()
                .filter(|n| cat.has_table(n) || known.contains(&n.to_lowercase()));
            let touched: Vec<String> = named.chain(reached).collect();
            self.seed.touched(touched);
        }
        Ok(())
    }

    /// Makes the copy database (the connection's current database) hold
    /// exactly the objects of `scope`, each as the scratch database `db`
    /// has it now (`before`, read there). The copy is kept between trials:
    /// an object already there whose image equals the scratch database's
    /// is used as it is; a table whose rows or counter alone differ gets
    /// its rows again; anything else is copied anew, and objects out of
    /// this scope are dropped. Cheaper than a new database per trial: a
    /// migration's second run and its run after the write between runs
    /// reach the same objects, and the next migration mostly reaches the
    /// tables before it (DDL is what a trial's time goes to).
    fn prepare_copy(
        &mut self,
        db: &str,
        scope: &BTreeSet<(String, String)>,
        before: &State,
        everything: bool,
    ) -> Result<(), mysql::Error> {
        // Twice's statements below turn the foreign key checks off; the
        // session is left with the configured value, as the trial's parts
        // run on it next.
        let fk = self.opts.mysql_foreign_key_checks;
        // The copy becomes the current database with the first round trip.
        let mut use_copy = Some(format!("USE {}", ident(&self.copy)));
        if everything || self.copy_unknown {
            let copy = ident(&self.copy);
            server::exec_all(
                &mut self.conn,
                &format!(
                    "DROP DATABASE IF EXISTS {copy};\nCREATE DATABASE {copy} CHARACTER SET \
                     utf8mb4;\nUSE {copy}"
                ),
            )?;
            use_copy = None;
            self.kept.clear();
            self.stale.clear();
            self.copy_unknown = false;
        }
        let mut drop: BTreeSet<(String, String)> = std::mem::take(&mut self.stale);
        let mut copy: BTreeSet<(String, String)> = BTreeSet::new();
        let mut resync: Vec<(String, Option<i64>, Vec<String>)> = Vec::new();
        // Tables of the copy with a trigger on them: a new copy of their
        // rows would fire it.
        let triggered: BTreeSet<String> = before
            .schema
            .keys()
            .filter(|k| k.kind == "trigger")
            .map(|k| k.table.clone())
            .collect();
        for key in self.kept.keys() {
            if !scope.contains(key) {
                drop.insert(key.clone());
            }
        }
        for (kind, name) in scope {
            let key = (kind.clone(), name.clone());
            let now = before.image(kind, name);
            match self.kept.get(&key) {
                Some(had) if *had == now => self.reused_objects += 1,
                Some(had)
                    if kind == "table" && had.same_schema(&now) && !triggered.contains(name) =>
                {
                    let counter = before.counters.get(name).copied().flatten();
                    let columns = before.columns.get(name).cloned().unwrap_or_default();
                    resync.push((name.clone(), counter, columns));
                }
                Some(_) => {
                    drop.insert(key.clone());
                    copy.insert(key);
                }
                None => {
                    copy.insert(key);
                }
            }
        }
        // A table copied anew loses its triggers: they are copied again.
        let recopied: BTreeSet<String> = copy
            .iter()
            .filter(|(k, _)| k == "table")
            .map(|(_, n)| n.clone())
            .collect();
        for k in before.schema.keys() {
            if k.kind == "trigger" && recopied.contains(&k.table) {
                let key = ("trigger".to_string(), k.name.clone());
                if scope.contains(&key) && self.kept.contains_key(&key) {
                    drop.insert(key.clone());
                    copy.insert(key);
                }
            }
        }
        // Drops and every table's rows again in one round trip (and one
        // more when counters must be set).
        let resync: Vec<observe::Resync> = resync
            .into_iter()
            .map(|(table, counter, columns)| (table, columns, counter))
            .collect();
        let synced =
            observe::drop_and_resync(&mut self.conn, use_copy.as_deref(), &drop, db, &resync, fk)?;
        for key in &drop {
            self.kept.remove(key);
        }
        let mut again = BTreeSet::new();
        for ((table, _, _), ok) in resync.into_iter().zip(synced) {
            if ok {
                self.reused_objects += 1;
            } else {
                again.insert(("table".to_string(), table));
            }
        }
        // Tables whose counter could not be set: copied anew.
        observe::drop_objects(&mut self.conn, &again, fk)?;
        for key in again {
            self.kept.remove(&key);
            copy.insert(key);
        }
        observe::copy_scope(&mut self.conn, db, &copy, fk)?;
        self.copied_objects += copy.len();
        // Kept from now on as the scratch database has them; a trial that
        // changes one drops it again.
        for (kind, name) in scope {
            self.kept
                .insert((kind.clone(), name.clone()), before.image(kind, name));
        }
        Ok(())
    }

    /// [`Engine::trial`]. The databases its steps make their own hold for
    /// the steps after them, not after the trial (see [`Runner::own`]).
    fn trial_steps(&mut self, ws: &Workspace, steps: &[Step<'_>]) -> Result<Trial> {
        let own = self.own.clone();
        let out = self.run_trial(ws, steps);
        self.own = own;
        out
    }

    fn run_trial(&mut self, ws: &Workspace, steps: &[Step<'_>]) -> Result<Trial> {
        let mut names = BTreeSet::new();
        let mut everything = false;
        for s in steps {
            everything |= observe::mentioned(&ws.files[s.part.file], s.part, &mut names);
        }
        let db = self.db.clone();
        let copy = self.copy.clone();
        let limit = self.opts.timeout;
        let fail = move |what: &str, e: mysql::Error| {
            // twice's own statements run under the time limit too: tables
            // grown past what the server copies or sends in that time stop
            // the replay, as on PostgreSQL.
            let stopped =
                matches!(&e, mysql::Error::MySqlError(m) if run::stopped_by_time_limit(m.code));
            let hint = if stopped {
                format!(
                    " (twice's own statement ran longer than the replay time limit of {} s: the \
                     tables are too large to copy and read in that time; a larger --timeout lets \
                     it finish)",
                    limit.as_secs_f64()
                )
            } else {
                String::new()
            };
            Error::new(format!(
                "MySQL replay: cannot {what}: {}{hint}",
                server::error_text(&e)
            ))
        };
        // The state before, read on the scratch database, and the copy.
        let cat = match self.catalog.take() {
            Some(c) => c,
            None => {
                observe::catalog(&mut self.conn, &db).map_err(|e| fail("read the catalog", e))?
            }
        };
        let cat = &*self.catalog.insert(cat);
        let scope = observe::scope(cat, &names, everything);
        let before =
            observe::read_state(&mut self.conn, &db, &scope, &names, everything, Some(cat))
                .map_err(|e| fail("read the state before the run", e))?;
        if let Err(e) = self.prepare_copy(&db, &scope, &before, everything) {
            self.copy_unknown = true;
            return Err(fail("copy the scratch database for the trial", e));
        }
        self.copies += 1;
        let mut states = vec![before];
        let mut outcomes = Vec::new();
        let mut runs = Vec::new();
        for step in steps {
            let run = self.run_part(ws, step.part, step.stop_on_error, &copy)?;
            let stop = step.stop_on_error && !run.failures.is_empty();
            outcomes.push(RunOutcome {
                failures: run.failures.clone(),
                handled: run.handled.clone(),
                observation: Observation::default(),
            });
            runs.push(run);
            if stop {
                break;
            }
            let st = observe::read_state(&mut self.conn, &copy, &scope, &names, everything, None)
                .map_err(|e| fail("read the state after the run", e))?;
            states.push(st);
        }
        // What the trial changed in the copy goes; the rest stays for the
        // next trial. A trial that stopped before its state was read, or
        // that reached everything, leaves a copy to start again.
        if everything || states.len() != steps.len() + 1 {
            self.copy_unknown = true;
        } else if let (Some(first), Some(last)) = (states.first(), states.last()) {
            let mut changed = BTreeSet::new();
            for (kind, name) in first.objects().union(&last.objects()) {
                let key = (kind.clone(), name.clone());
                let (was, is) = (first.image(kind, name), last.image(kind, name));
                if was == is && was.present() {
                    self.kept.insert(key, was);
                } else if was.present() && is.present() && was.same_schema(&is) {
                    // Rows or counter written: kept as they are now, to be
                    // refreshed (not copied anew) by the next trial.
                    self.kept.insert(key, is);
                } else {
                    self.kept.remove(&key);
                    if is.present() {
                        changed.insert(key);
                    }
                }
            }
            let fk = self.opts.mysql_foreign_key_checks;
            if observe::drop_objects(&mut self.conn, &changed, fk).is_err() {
                self.copy_unknown = true;
            }
        }
        self.exec(&format!("USE {}", ident(&db)))?;
        for (i, o) in outcomes.iter_mut().enumerate() {
            let (Some(b), Some(a)) = (states.get(i), states.get(i + 1)) else {
                break;
            };
            let step = &steps[i];
            o.observation = observation(ws, step.part, b, a, &runs[i].affected);
            if steps.len() == 1 {
                o.observation.sequences = observe::counter_moves(
                    &ws.files[step.part.file],
                    step.part,
                    b,
                    a,
                    &runs[i].affected,
                );
            }
        }
        Ok(Trial::Ran(outcomes))
    }
}

/// The session settings of a migration session, as one batch: the time
/// limit (`max_statement_time` in seconds on MariaDB, `max_execution_time`
/// in milliseconds on MySQL, which limits only `SELECT`s; the watchdog
/// covers the rest) and `sql_mode` when configured.
fn session_sql(mariadb: bool, timeout: Duration, sql_mode: Option<&str>, track: bool) -> String {
    let secs = timeout.as_secs_f64().max(0.001);
    let mut sql = if mariadb {
        format!("SET SESSION max_statement_time = {secs}")
    } else {
        format!(
            "SET SESSION max_execution_time = {}",
            (secs * 1000.0).ceil() as u64
        )
    };
    if let Some(mode) = sql_mode {
        sql.push_str(&format!(
            ";\nSET SESSION sql_mode = {}",
            server::literal(mode)
        ));
    }
    if track {
        sql.push_str(";\n");
        sql.push_str(TRACKERS);
    }
    sql
}

/// `[replay] mysql_foreign_key_checks = false`: the sessions do not check
/// foreign keys, as the tool's own sessions (vaultwarden's) do not.
fn fk_sql(checks: bool) -> &'static str {
    if checks {
        ""
    } else {
        ";\nSET SESSION foreign_key_checks = 0"
    }
}

/// `[replay] mysql_explicit_defaults_for_timestamp`: the sessions' value,
/// when set (MariaDB lets any user set it for the session).
fn timestamp_sql(explicit: Option<bool>) -> String {
    explicit.map_or(String::new(), |on| {
        format!(
            ";\nSET SESSION explicit_defaults_for_timestamp = {}",
            u8::from(on)
        )
    })
}

/// The session trackers a migration session runs with: the server then
/// says, with each statement's result, whether the statement changed the
/// session and whether a transaction is open (see `run::session_report`).
const TRACKERS: &str =
    "SET SESSION session_track_state_change = ON, session_track_transaction_info = 'STATE'";

/// Client commands of the `mysql` command-line client that are not SQL
/// (`DELIMITER`, `USE` is SQL): never sent.
/// What a statement does to a database as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DatabaseVerb {
    Create,
    Drop,
    Use,
}

/// `USE app`, `CREATE DATABASE|SCHEMA [IF NOT EXISTS] app ...`, `DROP
/// DATABASE|SCHEMA [IF EXISTS] app`: the verb and the database's name
/// (unquoted, as written).
fn database_statement(sql: &str) -> Option<(DatabaseVerb, String)> {
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .take(8)
        .collect();
    let upper = |i: usize| words.get(i).map(|w| w.to_ascii_uppercase());
    let name = |i: usize| -> Option<String> {
        let w = words.get(i)?;
        let n = w
            .strip_prefix('`')
            .and_then(|w| w.strip_suffix('`'))
            .unwrap_or(w);
        (!n.is_empty() && !n.contains('`') && !n.contains('.')).then(|| n.to_string())
    };
    match upper(0)?.as_str() {
        "USE" if words.len() == 2 => Some((DatabaseVerb::Use, name(1)?)),
        verb @ ("CREATE" | "DROP")
            if matches!(upper(1).as_deref(), Some("DATABASE" | "SCHEMA")) =>
        {
            let mut i = 2;
            while matches!(upper(i).as_deref(), Some("IF" | "NOT" | "EXISTS")) {
                i += 1;
            }
            let verb = if verb == "CREATE" {
                DatabaseVerb::Create
            } else {
                DatabaseVerb::Drop
            };
            Some((verb, name(i)?))
        }
        _ => None,
    }
}

fn is_client_command(sql: &str) -> bool {
    let first = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    first == "DELIMITER"
}

/// The object's own name (the last part) of a possibly qualified name
/// written at `span`, unquoted and as written: the server keeps a table's
/// name as it was written (unlike the classifier's names, folded to lower
/// case).
fn server_spelling(text: &str, span: &std::ops::Range<usize>) -> String {
    let raw = text.get(span.clone()).unwrap_or("");
    let mut last = String::new();
    let mut quote: Option<char> = None;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q && chars.peek() == Some(&q) => {
                chars.next();
                last.push(q);
            }
            Some(q) if c == q => quote = None,
            Some(_) => last.push(c),
            None if c == '`' || c == '"' => quote = Some(c),
            None if c == '.' => last.clear(),
            None if c.is_whitespace() => {}
            None => last.push(c),
        }
    }
    last
}

/// The observation of one step from the states before and after it.
fn observation(
    ws: &Workspace,
    part: &Part,
    before: &State,
    after: &State,
    affected: &BTreeMap<usize, u64>,
) -> Observation {
    let file = &ws.files[part.file];
    let mut obs = Observation::default();
    let keys: BTreeSet<_> = before.schema.keys().chain(after.schema.keys()).collect();
    for k in keys {
        let b = before.schema.get(k).cloned().flatten();
        let a = after.schema.get(k).cloned().flatten();
        if b != a {
            let mut w = observe::writers(file, part, &k.name, affected, false);
            if w.is_empty() {
                w = observe::writers(file, part, &k.table, affected, false);
            }
            obs.schema_writers.insert(k.clone(), w);
        }
        obs.schema_before.insert(k.clone(), b);
        obs.schema_after.insert(k.clone(), a);
    }
    let tables: BTreeSet<_> = before.data.keys().chain(after.data.keys()).collect();
    for t in tables {
        obs.data_before
            .insert(t.clone(), before.data.get(t).cloned().flatten());
        obs.data_after
            .insert(t.clone(), after.data.get(t).cloned().flatten());
        obs.writers
            .insert(t.clone(), observe::writers(file, part, t, affected, true));
    }
    obs
}

impl Engine for Runner<'_> {
    fn name(&self) -> String {
        self.server.name()
    }

    fn id(&self) -> &'static str {
        "mysql"
    }

    fn caps(&self) -> Caps {
        Caps {
            dialect: crate::dialect::Dialect::Mysql,
            // AUTO_INCREMENT counters: reported as moves of a trial.
            nontransactional_sequences: true,
            sqlstate: true,
            add_column_if_not_exists: self.server.mariadb,
        }
    }

    fn seed(&mut self) -> Result<(), EngineError> {
        self.settle()?;
        let db = self.db.clone();
        seed::seed(&mut self.conn, &db, &mut self.seed).map_err(|e| {
            EngineError(format!(
                "MySQL replay: --seed failed: {}",
                server::error_text(&e)
            ))
        })?;
        self.after_own_writes(&db)?;
        Ok(())
    }

    fn unseed(&mut self) -> Result<bool, EngineError> {
        let db = self.db.clone();
        if let Some(p) = self.pending.as_mut().filter(|p| p.session.is_none()) {
            // The migration's session waits, as the failure left it, for
            // the run to go on; the rows are withdrawn in a session of
            // their own.
            let fresh = self.server.connect_to(&db)?;
            p.session = Some(std::mem::replace(&mut self.conn, fresh));
            self.setup_session()?;
        }
        let deleted = seed::unseed(&mut self.conn, &mut self.seed);
        // Then the rows migrations copied out of them.
        let derived = seed::delete_derived(&mut self.conn, &db, &mut self.seed).map_err(|e| {
            EngineError(format!(
                "MySQL replay: cannot withdraw the rows copied from synthetic rows: {}",
                server::error_text(&e)
            ))
        })?;
        if derived > 0 {
            self.seed.forget();
        }
        self.catalog = None;
        self.reset_session(&db)?;
        Ok(deleted || derived > 0)
    }

    fn put_back(&mut self) -> Result<(), EngineError> {
        self.settle()?;
        let db = self.db.clone();
        // Rows only: the catalog (definitions) stays as it is, since a
        // trigger cannot run DDL. Reading it again in full here, after every
        // write between runs, was the one cost that grew with the history.
        if seed::put_back(&mut self.conn, &mut self.seed) {
            self.after_own_writes(&db)?;
        }
        Ok(())
    }

    fn interleave(
        &mut self,
        tables: &BTreeSet<String>,
    ) -> Result<crate::replay::engine::Interleaved, EngineError> {
        self.settle()?;
        let db = self.db.clone();
        let written =
            seed::interleave(&mut self.conn, &db, tables, &mut self.seed).map_err(|e| {
                EngineError(format!(
                    "MySQL replay: the write between runs failed: {}",
                    server::error_text(&e)
                ))
            })?;
        self.after_own_writes(&db)?;
        Ok(crate::replay::engine::Interleaved { tables: written })
    }

    fn setup(&mut self, sql: &str) -> Result<(), EngineError> {
        self.settle()?;
        self.catalog = None;
        self.seed.forget();
        for stmt in sql.split(';').filter(|s| !s.trim().is_empty()) {
            self.exec(stmt)?;
        }
        self.note_setup_tables()?;
        Ok(())
    }

    /// A MySQL schema is a database. The tool's default schema (the first)
    /// is the database its migrations run in: here, the scratch database,
    /// so names qualified with it resolve there ([`own`]), as names of a
    /// database the history `USE`s do. The others are not made: the
    /// migration user is granted the scratch database only, and a database
    /// made on a server given with `--database-url` would outlive the run;
    /// a migration that uses one fails as it would without it.
    fn tool_schemas(&mut self, names: &[String]) -> Result<(), EngineError> {
        if let Some(first) = names.first().filter(|n| own::may_own(n)) {
            self.own.insert(first.clone());
            self.tool_database = Some(first.clone());
        }
        Ok(())
    }

    fn apply(&mut self, ws: &Workspace, part: &Part) -> Result<Applied, EngineError> {
        Ok(self.apply_part(ws, part)?)
    }

    fn resumable(&self) -> bool {
        self.pending.is_some()
    }

    fn resume(&mut self, ws: &Workspace, part: &Part) -> Result<Applied, EngineError> {
        Ok(self.resume_part(ws, part)?)
    }

    fn trial(&mut self, ws: &Workspace, steps: &[Step<'_>]) -> Result<Trial, EngineError> {
        self.settle()?;
        Ok(self.trial_steps(ws, steps)?)
    }
}

/// Replays one sequence on MySQL, with what tests look at. Not reaching a
/// server is an error (exit 2).
pub fn replay_detailed(
    ws: &Workspace,
    seq: &crate::model::Sequence,
    opts: &Options,
) -> Result<Replayed> {
    let mut engine = Runner::open(opts)?;
    if let Some(script) = crate::replay::setup::for_sequence(opts, seq)? {
        // Each statement under the replay time limit, as the migrations'
        // are: the server's limit, and the watchdog (KILL QUERY, then the
        // connection) for what it does not cover or the script turned off.
        // An interrupted SLEEP() returns without an error: one that outlived
        // the limit is an error all the same.
        let timed_out = || {
            format!(
                " (the setup script's statement ran longer than the replay time limit of {} s, \
                 --timeout, and was stopped)",
                opts.timeout.as_secs_f64()
            )
        };
        crate::replay::setup::run(&script, seq.dialect, &seq.root, |sql| {
            let (r, outlived) = engine.timed_drop(sql);
            let fired = engine.watchdog.take_fired();
            match r {
                Ok(()) if fired || outlived => Err(crate::replay::setup::StatementError {
                    message: format!("stopped{}", timed_out()),
                    position: None,
                }),
                Ok(()) => Ok(()),
                Err(e) => Err(crate::replay::setup::StatementError {
                    message: crate::replay::engine::bounded_error_text(if fired {
                        format!("{e}{}", timed_out())
                    } else {
                        e.to_string()
                    }),
                    position: None,
                }),
            }
        })?;
    }
    // The setup script's tables are left alone by seeding and the write
    // between runs.
    engine.note_setup_tables()?;
    let outcome = crate::replay::algorithm::replay(&mut engine, ws, seq, opts)?;
    let (scratch, [copies, copied_objects, reused_objects], problems) = engine.finish();
    let (findings, stopped) = outcome.with_clean_up(&problems);
    Ok(Replayed {
        findings,
        stopped,
        scratch,
        copies,
        copied_objects,
        reused_objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_on_whole_databases() {
        assert_eq!(
            database_statement("USE `shop`"),
            Some((DatabaseVerb::Use, "shop".to_string()))
        );
        assert_eq!(
            database_statement(
                "CREATE DATABASE IF NOT EXISTS `xxl_job` DEFAULT CHARACTER SET utf8mb4"
            ),
            Some((DatabaseVerb::Create, "xxl_job".to_string()))
        );
        assert_eq!(
            database_statement("drop schema if exists shop"),
            Some((DatabaseVerb::Drop, "shop".to_string()))
        );
        assert_eq!(database_statement("CREATE TABLE shop (id int)"), None);
        assert_eq!(database_statement("USE a b"), None);
        assert_eq!(database_statement("USE other.t"), None);
    }

    #[test]
    fn renamed_tables_keep_the_spelling_written() {
        let text = "RENAME TABLE a TO app.`Old``Jobs`, b TO Queue";
        let at = |s: &str| {
            let i = text.find(s).unwrap();
            i..i + s.len()
        };
        assert_eq!(server_spelling(text, &at("app.`Old``Jobs`")), "Old`Jobs");
        assert_eq!(server_spelling(text, &at("Queue")), "Queue");
        assert_eq!(server_spelling("x", &(5..9)), "");
    }

    #[test]
    fn the_time_limit_is_each_servers_own_setting() {
        // MariaDB: seconds, every statement.
        assert_eq!(
            session_sql(true, Duration::from_millis(2500), None, false),
            "SET SESSION max_statement_time = 2.5"
        );
        // MySQL 8: milliseconds (SELECTs only; the watchdog does the rest).
        assert_eq!(
            session_sql(
                false,
                Duration::from_millis(2500),
                Some("ANSI_QUOTES"),
                false
            ),
            "SET SESSION max_execution_time = 2500;\nSET SESSION sql_mode = 'ANSI_QUOTES'"
        );
        // With the session trackers, in the same round trip.
        assert_eq!(
            session_sql(true, Duration::from_secs(5), None, true),
            format!("SET SESSION max_statement_time = 5;\n{TRACKERS}")
        );
    }

    #[test]
    fn the_configured_session_settings_are_set_only_when_configured() {
        assert_eq!(fk_sql(true), "");
        assert_eq!(fk_sql(false), ";\nSET SESSION foreign_key_checks = 0");
        assert_eq!(timestamp_sql(None), "");
        assert_eq!(
            timestamp_sql(Some(false)),
            ";\nSET SESSION explicit_defaults_for_timestamp = 0"
        );
        // twice's own statements that turn the checks off give the session
        // back the configured value, not the server's default.
        assert_eq!(
            observe::fk_restore(false),
            "SET SESSION foreign_key_checks = 0"
        );
        assert_eq!(
            observe::fk_restore(true),
            "SET SESSION foreign_key_checks = 1"
        );
    }
}

/// The XID of `XA START xid [JOIN|RESUME]` (or `XA BEGIN`), as written:
/// literals only (`'gtrid'[, 'bqual'[, formatID]]`), which the server
/// accepts nowhere else (not in stored programs, not in prepared
/// statements), so these are every XA transaction a migration can begin.
fn xa_start_xid(sql: &str) -> Option<&str> {
    fn word(s: &str) -> Option<(&str, &str)> {
        let s = s.trim_start();
        let end = s.find(char::is_whitespace)?;
        Some((&s[..end], &s[end..]))
    }
    let (xa, rest) = word(sql)?;
    let (start, rest) = word(rest)?;
    if !xa.eq_ignore_ascii_case("XA")
        || !(start.eq_ignore_ascii_case("START") || start.eq_ignore_ascii_case("BEGIN"))
    {
        return None;
    }
    let mut rest = rest.trim().trim_end_matches(';').trim_end();
    for tail in ["JOIN", "RESUME"] {
        if let Some(before) = crate::layout::strip_suffix_ci(rest, tail)
            .filter(|before| before.ends_with(char::is_whitespace))
        {
            rest = before.trim_end();
        }
    }
    (!rest.is_empty()).then_some(rest)
}

#[cfg(test)]
mod xa_tests {
    use super::xa_start_xid;

    #[test]
    fn xa_start_names_its_xid() {
        assert_eq!(xa_start_xid("XA START 'x'"), Some("'x'"));
        assert_eq!(xa_start_xid("xa begin 'a','b',3 join;"), Some("'a','b',3"));
        assert_eq!(xa_start_xid("XA  START X'01' RESUME"), Some("X'01'"));
        assert_eq!(xa_start_xid("XA START 'join'"), Some("'join'"));
        assert_eq!(xa_start_xid("XA END 'x'"), None);
        assert_eq!(xa_start_xid("XA START"), None);
        assert_eq!(xa_start_xid("SELECT 1"), None);
        // A multi-byte character where the tail would start: no tail.
        assert_eq!(xa_start_xid("XA START 'ééé'"), Some("'ééé'"));
    }
}
