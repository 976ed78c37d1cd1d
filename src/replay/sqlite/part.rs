//! The SQLite engine at the granularity of a migration part: the
//! [`Engine`] the replay algorithm drives, on top of the statement-level
//! session ([`StatementEngine`]).
//!
//! - `apply`: the part runs in a transaction that is committed, or rolled
//!   back at its first failing statement.
//! - `trial`: one transaction for all steps; each step is observed in its
//!   own window (before-images captured as statements are about to touch
//!   objects), then everything is undone. When the composed observation
//!   shows the steps left schema and data as they were, the transaction is
//!   kept instead (equivalent, and cheaper: undoing DDL makes SQLite reload
//!   its whole schema).

use super::statements::{PartRunner, StatementEngine};
use super::{Image, SandboxConfig, SqliteEngine};
use crate::model::Part;
use crate::replay::diff;
use crate::replay::engine::{
    Applied, Caps, Engine, EngineCopy, EngineError, Interleaved, Observation, RunOutcome, Step,
    Trial,
};
use crate::report::Workspace;
use std::collections::BTreeSet;

/// The SQLite replay engine.
pub struct SqliteReplay {
    pub session: SqliteEngine,
}

impl SqliteReplay {
    pub fn open(cfg: &SandboxConfig) -> Result<SqliteReplay, EngineError> {
        Ok(SqliteReplay {
            session: SqliteEngine::open(cfg)?,
        })
    }

    /// Runs one statement of a setup script in the sandbox (see
    /// [`SqliteEngine::run_setup_statement`]), before the bookkeeping table
    /// and the first migration.
    pub fn run_setup_statement(&mut self, sql: &str) -> Result<(), String> {
        self.session.run_setup_statement(sql)
    }
}

fn texts<'p>(ws: &'p Workspace, part: &'p Part) -> Vec<&'p str> {
    let unit = &ws.files[part.file];
    part.statements
        .iter()
        .filter_map(|&i| unit.statements.get(i))
        .map(|s| s.sql.as_str())
        .collect()
}

/// Whether an observation shows no difference at all, bookkeeping tables
/// included.
pub fn unchanged(obs: &Observation) -> bool {
    if diff::schema_diff(&obs.schema_before, &obs.schema_after, "", "").is_some() {
        return false;
    }
    obs.data_after
        .iter()
        .all(|(t, after)| match (obs.data_before.get(t), after) {
            (Some(Some(b)), Some(a)) => diff::data_diff(t, b, a).is_none(),
            (Some(None), None) => true,
            _ => false,
        })
}

const SQLITE_CAPS: Caps = Caps {
    dialect: crate::dialect::Dialect::Sqlite,
    nontransactional_sequences: false,
    sqlstate: false,
    add_column_if_not_exists: false,
};

impl Engine for SqliteReplay {
    fn name(&self) -> String {
        self.session.name()
    }

    fn id(&self) -> &'static str {
        "sqlite"
    }

    fn caps(&self) -> Caps {
        SQLITE_CAPS
    }

    fn seed(&mut self) -> Result<(), EngineError> {
        self.session.seed().map(|_| ())
    }

    fn unseed(&mut self) -> Result<bool, EngineError> {
        self.session.unseed()
    }

    fn put_back(&mut self) -> Result<(), EngineError> {
        self.session.put_back()
    }

    fn setup(&mut self, sql: &str) -> Result<(), EngineError> {
        self.session.batch(sql)?;
        self.session.note_setup_tables();
        self.session.other_pragmas |= sql.to_ascii_lowercase().contains("pragma");
        Ok(())
    }

    fn interleave(&mut self, tables: &BTreeSet<String>) -> Result<Interleaved, EngineError> {
        let written = self.session.interleave(tables)?;
        Ok(Interleaved {
            tables: written
                .into_iter()
                .map(|(t, before, after)| (t, (before, after)))
                .collect(),
        })
    }

    fn apply(&mut self, ws: &Workspace, part: &Part) -> Result<Applied, EngineError> {
        let s = &mut self.session;
        s.begin(&texts(ws, part))?;
        let report = PartRunner { engine: &mut *s }.run_part(ws, part, true);
        if let Some(f) = report.failures.into_iter().next() {
            s.rollback()?;
            return Ok(Applied {
                failure: Some(f),
                handled: report.handled,
                partial: false,
            });
        }
        s.end_run()?;
        s.commit()?;
        Ok(Applied {
            failure: None,
            handled: report.handled,
            partial: false,
        })
    }

    fn trial(&mut self, ws: &Workspace, steps: &[Step<'_>]) -> Result<Trial, EngineError> {
        self.trial_from(ws, steps, false, false).map(|(t, _, _)| t)
    }

    fn trial_keeping_first(
        &mut self,
        ws: &Workspace,
        steps: &[Step<'_>],
    ) -> Result<(Trial, bool), EngineError> {
        let keepable = keepable(ws, steps);
        self.trial_from(ws, steps, keepable, false)
            .map(|(t, kept, _)| (t, kept))
    }

    fn trial_keeping_first_forking_last(
        &mut self,
        ws: &Workspace,
        steps: &[Step<'_>],
    ) -> Result<(Trial, bool, Option<EngineCopy>), EngineError> {
        let keepable = keepable(ws, steps);
        // The last step runs on a copy only when it is the same part as the
        // one before it (a down's second run: what the two runs do to the
        // engine's settings is then already known), is not the first, and
        // its second run could run on a copy at all (see
        // `second_run_forkable`) with no `PRAGMA foreign_keys` of its own
        // (the copy would apply it before its transaction; the trial here
        // runs it inside one).
        let fork_last = match steps {
            [.., before, last] => {
                let t = texts(ws, last.part);
                std::ptr::eq(before.part, last.part)
                    && !last.stop_on_error
                    && second_run_forkable(&t)
                    && SqliteEngine::foreign_keys_lead(&t).is_none()
            }
            _ => false,
        };
        self.trial_from(ws, steps, keepable, fork_last)
    }

    fn fork_stack(&self) -> Option<usize> {
        Some(super::REPLAY_STACK)
    }

    fn fork(
        &mut self,
        ws: &Workspace,
        part: &Part,
    ) -> Result<Option<Box<dyn Engine + Send>>, EngineError> {
        if !second_run_forkable(&texts(ws, part)) {
            return Ok(None);
        }
        Ok(self
            .session
            .image()
            .map(|image| Box::new(SqliteCopy::Image(Box::new(image))) as Box<dyn Engine + Send>))
    }
}

/// A copy of the engine ([`Engine::fork`]): the image taken on the engine's
/// thread, opened ([`Image::open`]) on first use, on the thread that runs
/// it, so the engine's thread pays only for the page copy.
enum SqliteCopy {
    Image(Box<Image>),
    Open(Box<SqliteReplay>),
    /// Opening the image failed (reported by the call that tried).
    Gone,
}

impl SqliteCopy {
    fn engine(&mut self) -> Result<&mut SqliteReplay, EngineError> {
        *self = match std::mem::replace(self, SqliteCopy::Gone) {
            SqliteCopy::Image(image) => SqliteCopy::Open(Box::new(SqliteReplay {
                session: image.open()?,
            })),
            other => other,
        };
        match self {
            SqliteCopy::Open(e) => Ok(e),
            _ => Err(EngineError(
                "the copy of the database for a second run could not be opened".into(),
            )),
        }
    }
}

impl Engine for SqliteCopy {
    fn name(&self) -> String {
        format!("SQLite {}", rusqlite::version())
    }

    fn id(&self) -> &'static str {
        "sqlite"
    }

    fn caps(&self) -> Caps {
        SQLITE_CAPS
    }

    fn seed(&mut self) -> Result<(), EngineError> {
        self.engine()?.seed()
    }

    fn unseed(&mut self) -> Result<bool, EngineError> {
        self.engine()?.unseed()
    }

    fn put_back(&mut self) -> Result<(), EngineError> {
        self.engine()?.put_back()
    }

    fn setup(&mut self, sql: &str) -> Result<(), EngineError> {
        self.engine()?.setup(sql)
    }

    fn interleave(&mut self, tables: &BTreeSet<String>) -> Result<Interleaved, EngineError> {
        self.engine()?.interleave(tables)
    }

    fn apply(&mut self, ws: &Workspace, part: &Part) -> Result<Applied, EngineError> {
        self.engine()?.apply(ws, part)
    }

    fn trial(&mut self, ws: &Workspace, steps: &[Step<'_>]) -> Result<Trial, EngineError> {
        self.engine()?.trial(ws, steps)
    }

    fn trial_keeping_first(
        &mut self,
        ws: &Workspace,
        steps: &[Step<'_>],
    ) -> Result<(Trial, bool), EngineError> {
        self.engine()?.trial_keeping_first(ws, steps)
    }
}

/// Whether the second run of a part with these statements may run on a
/// copy ([`Engine::fork`]): nothing a trial of it does outlives the trial
/// on the engine. Not when it sets a pragma (a setting of the connection,
/// or a `PRAGMA foreign_keys` after its first statements, which waits for
/// the next run), nor when it creates triggers or foreign keys (a second
/// run compiles its statements against them, and may mark tables for the
/// next seeding that the first run did not).
pub(super) fn second_run_forkable(texts: &[&str]) -> bool {
    use crate::dialect::Dialect;
    use crate::lexer::{significant_tokens, TokenKind};
    let mut lead = true;
    for text in texts {
        let word = crate::replay::control::leading_word(text, Dialect::Sqlite);
        match word.as_deref() {
            None => continue,
            Some("PRAGMA") => {
                if !lead || SqliteEngine::foreign_keys_pragma(text).is_none() {
                    return false;
                }
                continue;
            }
            Some(w)
                if crate::replay::control::is_control_word(w) && SqliteEngine::is_control(text) =>
            {
                continue
            }
            Some(_) => lead = false,
        }
        let risky = significant_tokens(text, 0..text.len(), Dialect::Sqlite)
            .into_iter()
            .any(|t| {
                t.kind == TokenKind::Word
                    && (text[t.span.clone()].eq_ignore_ascii_case("TRIGGER")
                        || text[t.span.clone()].eq_ignore_ascii_case("REFERENCES"))
            });
        if risky {
            return false;
        }
    }
    true
}

/// Whether the first step of a trial may be kept as its first run
/// ([`Engine::trial_keeping_first`]).
fn keepable(ws: &Workspace, steps: &[Step<'_>]) -> bool {
    // The first run would begin with the first part's own leading
    // `PRAGMA foreign_keys`; the trial begins with that of all of them.
    let all: Vec<&str> = steps.iter().flat_map(|st| texts(ws, st.part)).collect();
    steps.len() > 1
        && steps[0].stop_on_error
        && SqliteEngine::foreign_keys_lead(&texts(ws, steps[0].part))
            == SqliteEngine::foreign_keys_lead(&all)
}

/// The savepoint between a trial's first step and the others, when the
/// first may be kept.
const FIRST_KEPT: &str = "twice_first_run";

impl SqliteReplay {
    /// [`Engine::trial`]; with `keep_first`, [`Engine::trial_keeping_first`].
    ///
    /// The first step is kept only when the trial would otherwise be rolled
    /// back (undoing DDL makes SQLite reload its schema either way), every
    /// step ran, no transaction was lost and no `PRAGMA foreign_keys` waits
    /// for the next run: then the state is exactly the one the rollback and
    /// a fresh first run would leave, one run of the part cheaper. When the
    /// steps changed nothing at all the trial is kept whole, as without
    /// `keep_first`, and the part is applied again on it.
    ///
    /// With `fork_last`, the last step is not run here when a copy of the
    /// state before it can be made ([`SqliteEngine::image_in_trial`]): the
    /// outcomes stop before it and the copy is returned, for a one-step
    /// trial of it ([`Engine::trial_keeping_first_forking_last`]).
    fn trial_from(
        &mut self,
        ws: &Workspace,
        steps: &[Step<'_>],
        keep_first: bool,
        fork_last: bool,
    ) -> Result<(Trial, bool, Option<EngineCopy>), EngineError> {
        let s = &mut self.session;
        let all: Vec<&str> = steps.iter().flat_map(|st| texts(ws, st.part)).collect();
        let lost = s.lost_count();
        s.begin(&all)?;
        let mut outcomes = Vec::new();
        let mut copy = None;
        for (i, step) in steps.iter().enumerate() {
            if keep_first && i == 1 {
                s.savepoint(FIRST_KEPT).map_err(EngineError::from)?;
            }
            if fork_last && i > 0 && i + 1 == steps.len() {
                if let Some(image) = s.image_in_trial() {
                    copy = Some(
                        Box::new(SqliteCopy::Image(Box::new(image))) as Box<dyn Engine + Send>
                    );
                    break;
                }
            }
            s.observe_start()?;
            let report = PartRunner { engine: &mut *s }.run_part(ws, step.part, step.stop_on_error);
            s.end_run()?;
            let observation = s.observe_stop()?;
            let stop = step.stop_on_error && !report.failures.is_empty();
            outcomes.push(RunOutcome {
                failures: report.failures,
                handled: report.handled,
                observation: if stop {
                    Observation::default()
                } else {
                    observation
                },
            });
            if stop {
                s.rollback()?;
                return Ok((Trial::Ran(outcomes), false, None));
            }
        }
        let kept = s.lost_count() == lost;
        let keep = kept
            && unchanged(&Observation::compose(
                outcomes.iter().map(|o| &o.observation),
            ));
        if keep_first && kept && !keep && s.fk_pending.is_none() {
            let later = unchanged(&Observation::compose(
                outcomes[1..].iter().map(|o| &o.observation),
            ));
            s.undo_to(FIRST_KEPT, later)?;
            s.commit()?;
            return Ok((Trial::Ran(outcomes), true, copy));
        }
        s.undo(keep)?;
        Ok((Trial::Ran(outcomes), false, copy))
    }
}
