//! Replay: runs every migration twice and reports what the second run
//! changes.
//!
//! # Design
//!
//! Replay is split into an engine-neutral algorithm and engines:
//!
//! - [`engine`]: the [`engine::Engine`] trait (run one statement with errors
//!   tied to it, transactions and savepoints, observation of what a run
//!   touched with before/after images, seeding) and the neutral data types
//!   (errors, values, rows, normalised schema images).
//! - [`algorithm`]: what replay *means*, for any engine. For each migration
//!   of a sequence, in order:
//!   1. `--seed`: the engine fills tables with synthetic rows (committed).
//!   2. **First run** of the up part inside a transaction. A failing statement
//!      is a `first-run-error`; the transaction is rolled back (the partial
//!      state is kept out of the way) and replay goes on with the next
//!      migration. Otherwise it is committed: the state a real deploy has.
//!   3. **Second run** inside a transaction, observed: every failing statement
//!      is a `second-run-error` (the run goes on after a failure, so all are
//!      reported); the before/after images of what it touched give
//!      `second-run-schema-change` (unified diff of normalised objects) and
//!      `second-run-data-change` (per table: rows added/removed/changed).
//!      Then it is undone.
//!   4. **Down checks** (when the migration has a down part and `--no-down`
//!      is not given): the down runs on the state the up left (observed); the
//!      objects the up or the down touched are compared with their state
//!      before the up (`down-does-not-revert`); the down runs a second time
//!      in a savepoint (`down-second-run-error`, `down-second-run-change`);
//!      finally the state the up left is restored, by running the up again
//!      when the down reverted it exactly (checked against the images), else
//!      by rolling back.
//!
//!   Transaction control inside a migration (`BEGIN`, `COMMIT`, `END`,
//!   `ROLLBACK`, `SAVEPOINT`, `RELEASE`) is emulated with savepoints nested in
//!   replay's own transaction, so a `COMMIT` in a migration never makes a
//!   second run permanent ([`control`]).
//! - [`sqlite`]: the sandboxed in-memory SQLite engine.
//!
//! ## Cost
//! A plain apply pays for every statement once; replay adds a second run
//! (usually cheap: it fails at prepare time or is a no-op) and observation,
//! whose cost grows with what the second run touches, never with the whole
//! database: before-images are captured only for objects and tables a
//! statement is about to touch, data only for tables it writes. Undo is a
//! rollback, which SQLite makes expensive only when the undone work changed
//! the schema (it then reloads the whole schema); when an observation shows
//! the second run left everything as it was, the engine may keep it instead.

pub mod algorithm;
pub mod control;
pub mod diff;
pub mod engine;
pub mod postgres;
pub mod sqlite;

/// Rows `--seed` gives each table that has fewer, on every engine.
pub const SEED_ROWS: i64 = 3;

use crate::check::{Engine as EngineChoice, Options, Workspace};
use crate::dialect::Dialect;
use crate::error::Result;
use crate::finding::Finding;
use crate::model::Sequence;

/// What replay did for one sequence.
pub enum Outcome {
    Replayed(Vec<Finding>),
    /// Replay could not run for this sequence; the reason is shown once.
    Skipped(String),
    /// Replay stopped part-way (the engine itself failed): the findings so
    /// far, and why it stopped (shown once).
    Stopped {
        findings: Vec<Finding>,
        reason: String,
    },
}

/// Replays one sequence of migrations.
pub fn replay_sequence(ws: &Workspace, seq: &Sequence, opts: &Options) -> Result<Outcome> {
    match opts.engine {
        EngineChoice::Sqlite => {}
        EngineChoice::Postgres => {
            if seq.dialect == Dialect::Mysql {
                return Ok(Outcome::Skipped(
                    "MySQL migrations cannot be replayed on PostgreSQL (--engine postgres); \
                     static rules still ran"
                        .into(),
                ));
            }
            return postgres::replay_sequence(ws, seq, opts);
        }
    }
    match seq.dialect {
        Dialect::Sqlite | Dialect::Generic => {}
        Dialect::Postgres => {
            return Ok(Outcome::Skipped(
                "SQLite cannot run PostgreSQL migrations; static rules still ran \
                 (use `--engine postgres` to replay them on PostgreSQL)"
                    .into(),
            ))
        }
        Dialect::Mysql => {
            return Ok(Outcome::Skipped(
                "SQLite cannot run MySQL migrations and there is no MySQL replay engine; \
                 static rules still ran"
                    .into(),
            ))
        }
    }
    let run = || {
        let mut engine =
            match sqlite::SqliteEngine::open(&sqlite::SandboxConfig::from_options(opts)) {
                Ok(e) => e,
                Err(e) => return Ok(Outcome::Skipped(format!("cannot open SQLite: {e}"))),
            };
        algorithm::replay(&mut engine, ws, seq, opts)
    };
    match sqlite::on_replay_stack(run) {
        Ok(outcome) => outcome,
        Err(e) => Ok(Outcome::Skipped(format!(
            "cannot start the replay thread ({} MiB stack): {e}",
            sqlite::REPLAY_STACK >> 20
        ))),
    }
}
