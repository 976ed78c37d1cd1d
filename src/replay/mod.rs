//! Replay: runs every migration twice and reports what the second run
//! changes. (Engine work lives in submodules.)

pub mod postgres;

use crate::check::{Engine, Options, Workspace};
use crate::error::Result;
use crate::finding::Finding;
use crate::model::Sequence;

/// What replay did for one sequence.
pub enum Outcome {
    /// Findings, and notices for the user (statements not replayed and why).
    Replayed(Vec<Finding>, Vec<String>),
    /// Replay could not run for this sequence; the reason is shown once.
    Skipped(String),
}

pub fn replay_sequence(ws: &Workspace, seq: &Sequence, opts: &Options) -> Result<Outcome> {
    if opts.engine == Engine::Postgres {
        if seq.dialect == crate::dialect::Dialect::Mysql {
            return Ok(Outcome::Skipped(
                "MySQL migrations cannot be replayed on PostgreSQL (--engine postgres)".into(),
            ));
        }
        let r = postgres::replay_sequence(ws, seq, opts)?;
        return Ok(Outcome::Replayed(r.findings, r.notices));
    }
    Ok(Outcome::Skipped(format!(
        "replay is not available for the {} dialect yet",
        seq.dialect
    )))
}
