//! SQLite's statement-level session and how a migration part runs on it.
//!
//! [`StatementEngine`] is how the SQLite engine runs SQL: one statement at a
//! time, compiled then stepped, with errors tied to byte offsets, savepoints,
//! and observation windows that capture before-images as statements are
//! about to touch objects. [`PartRunner`] runs a whole migration part on it:
//! transaction control inside a migration (`BEGIN`, `COMMIT`, `END`,
//! `ROLLBACK`, `SAVEPOINT`, `RELEASE`) is emulated with savepoints nested in
//! replay's own transaction, so a `COMMIT` in a migration never makes a
//! second run permanent ([`crate::replay::control`]); engine-specific
//! statements (`VACUUM`, `PRAGMA foreign_keys`) are handled by the engine.
//!
//! The statement text the splitter cut may still hold several statements
//! for SQLite (a goose `StatementBegin` block, or a statement the splitter
//! could not separate), so execution is two-step: [`StatementEngine::prepare_next`]
//! compiles the first statement of a text and says how far it reaches; the
//! runner looks at that piece and then calls [`StatementEngine::step`] or
//! [`StatementEngine::discard`].

use crate::analysis::Statement;
use crate::model::Part;
use crate::replay::control;
pub use crate::replay::control::Control;
use crate::replay::engine::{
    EngineError, ErrorClass, Failure, FailureKind, Handled, Observation, StmtError,
};
use crate::report::{FileUnit, Workspace};
use std::ops::Range;

/// Savepoint names replay uses; migrations cannot touch them.
pub const SAVEPOINT_PREFIX: &str = "twice_replay_";
const TX_SAVEPOINT: &str = "twice_replay_tx";
/// The transaction the tool wraps a migration in ([`Part::tool_transaction`]).
const TOOL_SAVEPOINT: &str = "twice_replay_tool_tx";

/// The transactions open while a part runs, as the database would see them.
#[derive(Default)]
struct Txn {
    /// One the migration began (`BEGIN`), emulated by [`TX_SAVEPOINT`].
    open: bool,
    /// The tool's own, emulated by [`TOOL_SAVEPOINT`], until a `COMMIT` or
    /// `ROLLBACK` of the migration ends it.
    tool: bool,
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
    /// Already applied by the engine as the statement asks (a connection
    /// setting the run opens with, set before it began): nothing to report.
    Applied,
}

/// A statement-level engine session. See the module documentation.
pub trait StatementEngine {
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
    /// Like [`StatementEngine::undo`] for a savepoint: roll back to it (or
    /// keep it when `unchanged` and cheaper) and release it.
    fn undo_to(&mut self, name: &str, unchanged: bool) -> Result<(), EngineError>;

    /// Compiles the first statement of `sql`. Returns its byte range in `sql`
    /// (without leading trivia and terminator) and the offset where the rest
    /// of `sql` starts, or `None` when only comments and blanks are left. The
    /// compiled statement stays pending until [`StatementEngine::step`] or
    /// [`StatementEngine::discard`]. Error offsets are relative to `sql`.
    fn prepare_next(&mut self, sql: &str) -> Result<Option<(Range<usize>, usize)>, StmtError>;
    /// Runs the pending statement to completion.
    fn step(&mut self) -> Result<(), StmtError>;
    /// Drops the pending statement without running it.
    fn discard(&mut self);
    /// Leading words (upper case) of statements [`StatementEngine::special`]
    /// may handle; pieces starting with them are shown to it before preparing.
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
    /// with the same savepoints, so nothing after it becomes permanent.
    fn lost_count(&self) -> u64;

    /// Tags the statements that follow (for [`Observation::writers`]).
    fn set_tag(&mut self, tag: usize);
    /// Between `observe_start` and `observe_stop` the engine records, for
    /// the statements it runs, every schema object and every table they
    /// could touch, and captures each one's *before* image the first time it
    /// is about to be touched. At the stop it captures the *after* images of
    /// the same objects and tables. Cost grows with what the observed
    /// statements touch, not with the database.
    fn observe_start(&mut self) -> Result<(), EngineError>;
    fn observe_stop(&mut self) -> Result<Observation, EngineError>;
    /// Removes session-local objects (temporary tables, ...) a run left
    /// behind, so the next run starts like a new session would.
    fn end_run(&mut self) -> Result<(), EngineError>;

    /// Fills tables with a few synthetic rows that satisfy their declared
    /// types and constraints (`--seed`). Commits. Returns the tables seeded.
    fn seed(&mut self) -> Result<Vec<String>, EngineError>;
    /// Deletes the rows the last [`StatementEngine::seed`] inserted; whether it
    /// removed them (`false`: none, or not all could be, and none was).
    fn unseed(&mut self) -> Result<bool, EngineError>;
}

/// What running a part reported.
#[derive(Default)]
pub struct RunReport {
    pub failures: Vec<Failure>,
    /// Pieces the engine handled itself.
    pub handled: Vec<Handled>,
}

/// Runs migration parts on a [`StatementEngine`].
pub struct PartRunner<'e, E: StatementEngine> {
    pub engine: &'e mut E,
}

impl<E: StatementEngine> PartRunner<'_, E> {
    /// Runs the statements of `part`. Runs that stop on error stop at the
    /// first failing statement.
    pub fn run_part(&mut self, ws: &Workspace, part: &Part, stop: bool) -> RunReport {
        let mut report = RunReport::default();
        let unit = &ws.files[part.file];
        let mut tx = Txn::default();
        if part.tool_transaction && self.engine.savepoint(TOOL_SAVEPOINT).is_ok() {
            tx.tool = true;
        }
        for &i in &part.statements {
            let Some(st) = unit.statements.get(i) else {
                continue;
            };
            if st.sql.trim().is_empty() {
                continue;
            }
            if ws.unresolved.contains(&(part.file, i)) {
                // An undefined `${placeholder}` where code goes: the text is
                // not what the tool would run (see `crate::placeholder`).
                report
                    .handled
                    .push(Handled::unresolved_placeholder(i, st.span.clone()));
                continue;
            }
            self.engine.set_tag(i);
            let failed = self.run_statement(unit, st, stop, &mut tx, &mut report);
            if failed && stop {
                return report;
            }
        }
        if tx.open {
            // A BEGIN without COMMIT: keep what ran, as the tool's own
            // transaction would at its end.
            let _ = self.engine.release(TX_SAVEPOINT);
        }
        if tx.tool {
            // The tool commits its transaction.
            let _ = self.engine.release(TOOL_SAVEPOINT);
        }
        report
    }

    /// Runs one statement, piece by piece. Returns whether a piece failed.
    fn run_statement(
        &mut self,
        unit: &FileUnit,
        st: &Statement,
        stop: bool,
        tx: &mut Txn,
        report: &mut RunReport,
    ) -> bool {
        let sql = st.sql.as_str();
        // Offsets in `sql` map to the file when no placeholder changed it.
        let maps = unit.source.text.get(st.span.clone()) == Some(sql);
        let to_file = |r: Range<usize>| {
            if maps {
                st.span.start + r.start..st.span.start + r.end
            } else {
                st.span.clone()
            }
        };
        let at_file = |o: usize| {
            if maps {
                st.span.start + o
            } else {
                st.span.start
            }
        };
        let mut failed = false;
        let mut off = 0;
        while off < sql.len() {
            let rest = &sql[off..];
            let word = control::leading_word(rest, unit.dialect);
            let simple = word.as_deref().is_some_and(|w| {
                control::is_control_word(w) || self.engine.special_words().contains(&w)
            });
            if simple {
                if let Some((range, next, words)) = control::simple_piece(rest, unit.dialect) {
                    let piece = off + range.start..off + range.end;
                    if let Some(c) = control::classify(&words) {
                        if let Err(error) = self.emulate(c, tx) {
                            report.failures.push(Failure {
                                stmt: st.index,
                                span: to_file(piece.clone()),
                                at: at_file(piece.start),
                                error,
                            });
                            failed = true;
                            if stop {
                                return true;
                            }
                        }
                        off += next.max(1);
                        continue;
                    }
                    if let Some(sp) = self.engine.special(&sql[piece.clone()]) {
                        match sp {
                            Special::Skip(text) | Special::Deferred(text) => {
                                report.handled.push(Handled {
                                    stmt: st.index,
                                    span: to_file(piece),
                                    text,
                                    help: None,
                                });
                            }
                            Special::Applied => {}
                            Special::Refuse(message) => {
                                report.failures.push(Failure {
                                    stmt: st.index,
                                    span: to_file(piece.clone()),
                                    at: at_file(piece.start),
                                    error: StmtError::new(FailureKind::Denied, message),
                                });
                                failed = true;
                                if stop {
                                    return true;
                                }
                            }
                        }
                        off += next.max(1);
                        continue;
                    }
                }
            }
            match self.engine.prepare_next(rest) {
                Ok(None) => break,
                Ok(Some((range, next))) => {
                    let piece = off + range.start..off + range.end;
                    if let Err(mut error) = self.engine.step() {
                        if copy_omits_not_null_column(st, &error) {
                            error.class = ErrorClass::FailsOnRows;
                        }
                        let at = off + range.start + error.offset.unwrap_or(0);
                        report.failures.push(Failure {
                            stmt: st.index,
                            span: to_file(piece),
                            at: at_file(at),
                            error,
                        });
                        failed = true;
                        if stop {
                            return true;
                        }
                    }
                    if next == 0 {
                        break;
                    }
                    off += next;
                }
                Err(error) => {
                    let start = off + (rest.len() - rest.trim_start().len());
                    let at = off + error.offset.unwrap_or(start - off);
                    let resume = error.resume.filter(|&n| n > 0);
                    let end = match resume {
                        Some(n) => {
                            off + rest[..n].trim_end().trim_end_matches(';').trim_end().len()
                        }
                        None => sql.trim_end().len(),
                    };
                    report.failures.push(Failure {
                        stmt: st.index,
                        span: to_file(start..end.max(start)),
                        at: at_file(at),
                        error,
                    });
                    // Without a resume point, nothing after a statement that
                    // does not compile can be delimited: the rest is skipped.
                    match resume {
                        Some(n) if !stop => {
                            failed = true;
                            off += n;
                        }
                        _ => return true,
                    }
                }
            }
        }
        failed
    }

    /// Emulates a transaction statement of the migration with a savepoint.
    /// A `COMMIT` or `ROLLBACK` with no transaction of the migration's
    /// own open ends the tool's, when the tool opened one.
    fn emulate(&mut self, c: Control, tx: &mut Txn) -> Result<(), StmtError> {
        let misplaced = |e: &E| match e.control_error(c) {
            Some(msg) => Err(StmtError::error(msg)),
            None => Ok(()),
        };
        match c {
            Control::Begin if tx.open => misplaced(self.engine),
            // Inside the tool's transaction, a database that has no nested
            // transactions (SQLite) refuses the migration's `BEGIN` as it
            // refuses a second one of its own; PostgreSQL only warns.
            Control::Begin if tx.tool && self.engine.control_error(c).is_some() => {
                misplaced(self.engine)
            }
            Control::Begin => {
                self.engine.savepoint(TX_SAVEPOINT)?;
                tx.open = true;
                Ok(())
            }
            Control::Commit if !tx.open && tx.tool => {
                tx.tool = false;
                self.engine.release(TOOL_SAVEPOINT)
            }
            Control::Rollback if !tx.open && tx.tool => {
                tx.tool = false;
                self.engine.rollback_to(TOOL_SAVEPOINT)?;
                self.engine.release(TOOL_SAVEPOINT)
            }
            Control::Commit | Control::Rollback if !tx.open => misplaced(self.engine),
            Control::Commit => {
                tx.open = false;
                self.engine.release(TX_SAVEPOINT)
            }
            Control::Rollback => {
                tx.open = false;
                self.engine.rollback_to(TX_SAVEPOINT)?;
                self.engine.release(TX_SAVEPOINT)
            }
        }
    }
}

/// An `INSERT INTO t (cols) SELECT ...` that fails with `NOT NULL
/// constraint failed: t.c` for a column `c` its list leaves out: the column
/// has no default, so every row the query gives fails, whatever it holds
/// (a table rebuild adding a required column: any table in use has rows).
fn copy_omits_not_null_column(st: &crate::analysis::Statement, error: &StmtError) -> bool {
    use crate::classify::{InsertSource, Kind};
    let Some(column) = error
        .message
        .strip_prefix("NOT NULL constraint failed: ")
        .and_then(|c| c.rsplit('.').next())
    else {
        return false;
    };
    let Kind::Insert(ins) = &st.facts.kind else {
        return false;
    };
    ins.source == InsertSource::Select
        && !ins.columns.is_empty()
        && !ins.columns.iter().any(|c| c.eq_ignore_ascii_case(column))
}
