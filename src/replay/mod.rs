//! Replay: runs every migration twice and reports what the second run
//! changes. (Engine work lives in submodules.)

use crate::check::{Options, Workspace};
use crate::error::Result;
use crate::finding::Finding;
use crate::model::Sequence;

/// What replay did for one sequence.
pub enum Outcome {
    Replayed(Vec<Finding>),
    /// Replay could not run for this sequence; the reason is shown once.
    Skipped(String),
}

pub fn replay_sequence(_ws: &Workspace, seq: &Sequence, _opts: &Options) -> Result<Outcome> {
    Ok(Outcome::Skipped(format!(
        "replay is not available for the {} dialect yet",
        seq.dialect
    )))
}
