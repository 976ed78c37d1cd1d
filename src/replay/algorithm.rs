//! The replay algorithm, for any [`Engine`]: down checks, first run kept,
//! second run observed and undone. This is the only place that builds
//! replay findings: engines report neutral failures and observations (see
//! [`super::engine`]), so a rule id has the same message, help and evidence
//! shape on every engine. See the module documentation of [`crate::replay`]
//! for the steps.
//!
//! This file is the driver (the steps, for each migration); the findings
//! are built in [`failures`] (statements that fail) and [`changes`] (what a
//! run changed: schema, rows, sequences, rows written since the first run,
//! a down that does not revert its up).

use super::diff;
use super::engine::{
    Applied, Caps, Engine, EngineError, Failure, FailureKind, Interleaved, Observation, RunOutcome,
    Step, Trial,
};
use super::Outcome;
use crate::error::Result;
use crate::finding::{Finding, FindingBuilder, Origin};
use crate::model::{Migration, Part, Sequence};
use crate::options::Options;
use crate::report::{FileUnit, Workspace};
use crate::rules::RuleMeta;
use changes::written_tables;
use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::mpsc;

mod changes;
mod failures;

pub use failures::{MYSQL_PERMISSION_HELP, PERMISSION_HELP};

/// Which run of which part a failure or change comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// The up part's first run; `partial`: it ran outside a transaction and
    /// what ran before a failure stays applied.
    First {
        partial: bool,
    },
    Second,
    DownFirst,
    DownSecond,
    /// An `apply_only` migration, applied once as the starting state.
    Start {
        partial: bool,
    },
}

impl Run {
    fn phrase(self) -> &'static str {
        match self {
            Run::First { .. } => "first run",
            Run::Second => "second run",
            Run::DownFirst => "down migration",
            Run::DownSecond => "second run of the down migration",
            Run::Start { .. } => "starting-state run",
        }
    }

    fn stops_on_error(self) -> bool {
        matches!(self, Run::First { .. } | Run::DownFirst | Run::Start { .. })
    }
}

/// What [`Replayer::down_checks`] found out for the rest of the migration.
#[derive(Default)]
struct DownChecks {
    /// They stopped because the up failed.
    up_failed: bool,
    /// How the up failed, when it did.
    up_failure: Option<Failure>,
    /// The down's first run failed.
    down_failed: bool,
    /// The up's run was kept as its first run (its handled pieces): it is
    /// not applied again.
    kept_up: Option<Vec<super::engine::Handled>>,
}

struct Replayer<'a, E: Engine> {
    engine: &'a mut E,
    ws: &'a Workspace,
    opts: &'a Options,
    caps: Caps,
    findings: Vec<Finding>,
    /// Migrations whose first run failed, for the failures that follow from
    /// them (cascades).
    roots: Vec<Root>,
    /// The sequence's migrations twice cannot run ([`Sequence::code_gaps`]).
    gaps: &'a [(String, String)],
    /// The thread running second runs on copies, when there is one.
    pipeline: Option<Pipeline<'a>>,
    /// The migration (index) a second run on a copy stopped at, when one did.
    stopped_at: Option<usize>,
}

/// A migration whose first run failed: what it would have created, and the
/// later first-run failures that need it.
struct Root {
    /// Index of its `first-run-error` in the findings.
    finding: usize,
    /// Lower-case bare names of the objects and columns it (and its
    /// followers) would have created.
    created: BTreeSet<String>,
    follow_on: Vec<serde_json::Value>,
}

/// A second run handed to the pipeline thread: a copy of the state after
/// the first run for the trial of the part, and, when the application's
/// write between runs wrote something, a copy of the state after it for
/// the trial again, with what was written.
struct Job<'a> {
    part: &'a Part,
    second: Box<dyn Engine + Send>,
    again: Option<(Box<dyn Engine + Send>, Interleaved)>,
}

/// What the copies' trials gave.
struct Done {
    second: Result<Trial, EngineError>,
    again: Option<(Interleaved, Result<Trial, EngineError>)>,
}

/// The second-run thread: at most one job in flight (one copy of the
/// database besides the engine's own), collected before the findings of
/// the next migration are built, so they come in the order of a run
/// without it.
struct Pipeline<'a> {
    jobs: mpsc::SyncSender<Job<'a>>,
    done: mpsc::Receiver<Done>,
    /// The migration whose second run is on the thread, by index.
    in_flight: Option<(usize, &'a Migration)>,
}

/// The trials of a [`Job`], each on its copy (dropped after it: nothing
/// needs undoing).
fn second_runs(ws: &Workspace, job: Job<'_>) -> Done {
    let step = Step {
        part: job.part,
        stop_on_error: false,
    };
    let mut copy = job.second;
    let second = copy.trial(ws, &[step]);
    drop(copy);
    let again = job.again.map(|(mut copy, written)| {
        let again = copy.trial(ws, &[step]);
        (written, again)
    });
    Done { second, again }
}

/// Replays `seq` on `engine` and returns the findings.
pub fn replay<E: Engine>(
    engine: &mut E,
    ws: &Workspace,
    seq: &Sequence,
    opts: &Options,
) -> Result<Outcome> {
    let caps = engine.caps();
    // Second runs go to a thread of their own, on copies of the database,
    // when the engine can copy itself and this sequence has a second core
    // (`--jobs` shared among the sequences replayed side by side: see
    // `check`); the engine's own thread goes on with the next migration.
    let stack = engine.fork_stack().filter(|_| opts.jobs >= 2);
    std::thread::scope(|s| {
        let pipeline = stack.and_then(|stack| {
            let (jobs, jobs_rx) = mpsc::sync_channel::<Job<'_>>(1);
            let (done_tx, done) = mpsc::channel::<Done>();
            std::thread::Builder::new()
                .name("twice-second-run".into())
                .stack_size(stack)
                .spawn_scoped(s, move || {
                    for job in jobs_rx {
                        if done_tx.send(second_runs(ws, job)).is_err() {
                            break;
                        }
                    }
                })
                .ok()?;
            Some(Pipeline {
                jobs,
                done,
                in_flight: None,
            })
        });
        let r = Replayer {
            engine,
            ws,
            opts,
            caps,
            findings: Vec::new(),
            roots: Vec::new(),
            gaps: &seq.code_gaps,
            pipeline,
            stopped_at: None,
        };
        r.replay(seq)
        // Dropping the replayer closes the job channel: the thread ends.
    })
}

impl<'a, E: Engine> Replayer<'a, E> {
    fn replay(self, seq: &'a Sequence) -> Result<Outcome> {
        let (ws, opts) = (self.ws, self.opts);
        let mut r = self;
        let bookkeeping = crate::dialect::Dialect::from_name(r.engine.id())
            .and_then(|engine| crate::layout::get(seq.layout).bookkeeping_sql(engine));
        if let Some(sql) = bookkeeping {
            if let Err(e) = r.engine.setup(sql) {
                return Ok(Outcome::Stopped {
                    findings: Vec::new(),
                    reason: format!("replay could not create the migration tool's table: {e}"),
                });
            }
        }
        for (i, m) in seq.migrations.iter().enumerate() {
            opts.progress(&seq.root, i, seq.migrations.len());
            let mut stop = r.migration(i, m).err().map(|e| (i, e));
            if let Some((_, e)) = stop.take() {
                // The previous migration's second run, still on its copy,
                // comes first.
                stop = Some(match (r.stopped_at, r.collect(false)) {
                    (Some(j), _) => (j, e),
                    (None, Err(e)) => (r.stopped_at.unwrap_or(i), e),
                    (None, Ok(())) => (i, e),
                });
            }
            if stop.is_none() && i + 1 == seq.migrations.len() {
                stop = r
                    .collect(false)
                    .err()
                    .map(|e| (r.stopped_at.unwrap_or(i), e));
            }
            if let Some((at, e)) = stop {
                let file = &ws.files[seq.migrations[at].up.file].source.name;
                r.finish_roots();
                return Ok(Outcome::Stopped {
                    findings: r.findings,
                    reason: format!("replay stopped at {file}: {e}"),
                });
            }
        }
        r.finish_roots();
        Ok(Outcome::Replayed(r.findings))
    }

    /// The second run of `m` on a copy (`second`, the state after the first
    /// run) on the second-run thread, while this thread goes on: the write
    /// between runs happens here (kept), the trial again on a copy of the
    /// state after it, and then [`Engine::put_back`] here. Without a copy of
    /// that state, the trial again runs here, after the second run's
    /// findings.
    fn second_runs_on_copies(
        &mut self,
        index: usize,
        m: &'a Migration,
        second: Box<dyn Engine + Send>,
    ) -> Result<(), EngineError> {
        let mut job = Job {
            part: &m.up,
            second,
            again: None,
        };
        let mut here = None;
        let mut written_any = false;
        if self.opts.interleave && self.may_destroy(&m.up) {
            let names = self.names_in(&m.up);
            // An error stops replay after this migration's second run (its
            // findings first, as on one thread).
            let written = match self.engine.interleave(&names) {
                Ok(w) => w,
                Err(e) => return self.send_then_stop(index, m, job, e),
            };
            if !written_tables(&written).is_empty() {
                written_any = true;
                match self.engine.fork(self.ws, &m.up) {
                    Ok(Some(copy)) => job.again = Some((copy, written)),
                    Ok(None) => here = Some(written),
                    Err(e) => return self.send_then_stop(index, m, job, e),
                }
            }
        }
        if !self.send(index, m, job) {
            return Err(EngineError("the second-run thread stopped".into()));
        }
        if let Some(written) = here {
            self.collect(false)?;
            let step = Step {
                part: &m.up,
                stop_on_error: false,
            };
            if let Trial::Ran(outcomes) = self.engine.trial(self.ws, &[step])? {
                let again = outcomes.into_iter().next().unwrap_or_default();
                self.report_interleaved(m, &m.up, &again.observation, &written_tables(&written));
            }
        }
        if written_any {
            // The migrations' own rows as they left them, for the
            // migrations after this one (the copy of the state after the
            // write is taken).
            if let Err(e) = self.engine.put_back() {
                self.collect(false)?;
                return Err(e);
            }
        }
        Ok(())
    }

    /// The engine stopped at the write between runs of `m` (or at the copy
    /// after it): the second run on its copy still runs, and its findings
    /// come before the stop.
    fn send_then_stop(
        &mut self,
        index: usize,
        m: &'a Migration,
        job: Job<'a>,
        e: EngineError,
    ) -> Result<(), EngineError> {
        if self.send(index, m, job) {
            self.collect(true)?;
        }
        Err(e)
    }

    /// Hands `job` to the second-run thread; `false` when it is gone.
    fn send(&mut self, index: usize, m: &'a Migration, job: Job<'a>) -> bool {
        let Some(p) = self.pipeline.as_mut() else {
            return false;
        };
        if p.jobs.send(job).is_err() {
            return false;
        }
        p.in_flight = Some((index, m));
        true
    }

    /// Waits for the second run on the copy, if one is in flight, and
    /// builds its findings as [`Replayer::migration`] does for a second run
    /// on the engine. With `first_only`, only those of the trial (the
    /// engine stopped at the write between runs: see
    /// [`Replayer::send_then_stop`]). An error is the copy's:
    /// replay stops at that migration ([`Replayer::stopped_at`]).
    fn collect(&mut self, first_only: bool) -> Result<(), EngineError> {
        let Some(p) = self.pipeline.as_mut() else {
            return Ok(());
        };
        let Some((index, m)) = p.in_flight.take() else {
            return Ok(());
        };
        let Ok(done) = p.done.recv() else {
            self.stopped_at = Some(index);
            return Err(EngineError("the second-run thread stopped".into()));
        };
        let r = self.report_second_runs(m, done, first_only);
        if r.is_err() {
            self.stopped_at = Some(index);
        }
        r
    }

    fn report_second_runs(
        &mut self,
        m: &Migration,
        done: Done,
        first_only: bool,
    ) -> Result<(), EngineError> {
        if !self.report_second_run(m, done.second?) {
            return Ok(());
        }
        if first_only {
            return Ok(());
        }
        if let Some((written, again)) = done.again {
            if let Trial::Ran(outcomes) = again? {
                let again = outcomes.into_iter().next().unwrap_or_default();
                self.report_interleaved(m, &m.up, &again.observation, &written_tables(&written));
            }
        }
        Ok(())
    }
}

impl<'a, E: Engine> Replayer<'a, E> {
    /// Reports the ordinary second run of `m`'s up (on the engine or on a
    /// copy): its failures and what it changed. `false` when it could not
    /// be run (reported as not checked): nothing after it is checked.
    fn report_second_run(&mut self, m: &Migration, second: Trial) -> bool {
        match second {
            Trial::Ran(outcomes) => {
                let second = outcomes.into_iter().next().unwrap_or_default();
                for f in &second.failures {
                    self.report_failure(m, &m.up, f, Run::Second);
                }
                self.report_changes(m, &m.up, &second.observation, Run::Second);
                true
            }
            Trial::NotPossible(why) => {
                let message = format!("second run not checked: {why}");
                self.report_not_checked(m, &m.up, message);
                false
            }
        }
    }

    fn unit(&self, part: &Part) -> &FileUnit {
        &self.ws.files[part.file]
    }

    fn runnable(&self, part: &Part) -> bool {
        let unit = self.unit(part);
        !unit.source.binary
            && part.statements.iter().any(|&i| {
                unit.statements
                    .get(i)
                    .is_some_and(|s| !s.sql.trim().is_empty())
            })
    }

    fn migration(&mut self, index: usize, m: &'a Migration) -> Result<(), EngineError> {
        if m.apply_only {
            // The starting state: applied once, nothing of its own checked.
            if self.runnable(&m.up) {
                let applied = self.engine.apply(self.ws, &m.up)?;
                self.collect(false)?;
                if let Some(f) = &applied.failure {
                    let run = Run::Start {
                        partial: applied.partial,
                    };
                    self.report_failure(m, &m.up, f, run);
                }
            }
            return Ok(());
        }
        if self.opts.seed {
            self.engine.seed()?;
        }
        if !self.runnable(&m.up) {
            return Ok(());
        }
        let down = m
            .down
            .as_ref()
            .filter(|d| self.opts.down && self.runnable(d));
        let mut up_failed = false;
        let mut kept_up = None;
        // A failure caused by twice's synthetic rows, found before the
        // first run (see below).
        let mut seed_failure = None;
        if let Some(down) = down {
            let checks = self.down_checks(m, down, true, true)?;
            up_failed = checks.up_failed;
            kept_up = checks.kept_up;
            // The up failed in the down checks while synthetic rows were
            // there: they are withdrawn now and the checks made again,
            // while the state before the up is still there to check the
            // down on (a first run that fails part-way where DDL commits,
            // as on MySQL, leaves no such state behind it).
            if let Some(f) = checks.up_failure.filter(|f| self.withdrawable(f)) {
                if self.engine.unseed()? {
                    let again = self.down_checks(m, down, false, true)?;
                    up_failed = again.up_failed;
                    kept_up = again.kept_up;
                    if !up_failed {
                        seed_failure = Some(f);
                    }
                }
            }
        }

        // First run: kept (already, when the down checks' run of the up
        // could be kept as it).
        let mut applied = match kept_up {
            Some(handled) => Applied {
                failure: None,
                handled,
                partial: false,
            },
            None => self.engine.apply(self.ws, &m.up)?,
        };
        // The previous migration's second run, if it went to the copy, is
        // reported before anything of this one.
        self.collect(false)?;
        // A first run that fails among twice's own synthetic rows (seeded,
        // or written between an earlier migration's runs) may fail because
        // of them: they are withdrawn and the first run tried again without
        // them. If it now runs, the failure was twice's, not the
        // migration's: the migration is checked without them, with a note.
        // A first run undone by its failure runs again from the start; one
        // that failed part-way, keeping what ran before the failure, goes
        // on from the failure where the engine can ([`Engine::resume`]).
        let retry = match &applied.failure {
            Some(f)
                if self.withdrawable(f)
                    && (!applied.partial || self.engine.resumable())
                    && self.engine.unseed()? =>
            {
                Some(f.clone())
            }
            _ => None,
        };
        if let Some(f) = retry {
            if applied.partial {
                applied = self.engine.resume(self.ws, &m.up)?;
            } else {
                if let (Some(down), true) = (down, up_failed) {
                    // They stopped at the up, which failed among the seeds too.
                    self.down_checks(m, down, false, false)?;
                }
                applied = self.engine.apply(self.ws, &m.up)?;
            }
            seed_failure = Some(f);
        }
        if let (None, Some(f)) = (&applied.failure, &seed_failure) {
            self.report_seed_withdrawn(m, &m.up, f);
        }
        self.report_handled(m, &m.up, &applied.handled);
        if let Some(f) = &applied.failure {
            let run = Run::First {
                partial: applied.partial,
            };
            self.report_failure(m, &m.up, f, run);
            return Ok(());
        }

        // Second run: observed, then undone; on a copy of the database on
        // the second-run thread when the engine can hand one out for this
        // part (see `second_runs_on_copies`).
        if self.pipeline.is_some() {
            if let Some(second) = self.engine.fork(self.ws, &m.up)? {
                return self.second_runs_on_copies(index, m, second);
            }
        }
        let step = Step {
            part: &m.up,
            stop_on_error: false,
        };
        let second = self.engine.trial(self.ws, &[step])?;
        if !self.report_second_run(m, second) {
            return Ok(());
        }

        // The second run again, after the application wrote (kept): what
        // became of what it wrote. A trial of its own, so the rules above
        // compare the second run with the first on the same rows, as
        // without the write.
        if !self.opts.interleave || !self.may_destroy(&m.up) {
            return Ok(());
        }
        let names = self.names_in(&m.up);
        let written = written_tables(&self.engine.interleave(&names)?);
        if written.is_empty() {
            return Ok(());
        }
        if let Trial::Ran(outcomes) = self.engine.trial(self.ws, &[step])? {
            let again = outcomes.into_iter().next().unwrap_or_default();
            self.report_interleaved(m, &m.up, &again.observation, &written);
        }
        // The migrations' own rows as they left them, for the migrations
        // after this one (the new synthetic rows stay).
        self.engine.put_back()?;
        Ok(())
    }

    /// Down checks, on the state before the up: up, down (observed: does it
    /// revert the up?), down again (observed: does it converge?), all undone.
    /// With `withdraw`, a down whose first run fails among synthetic rows is
    /// checked again without them (as the up's first run is, see
    /// [`Replayer::migration`]). With `keep`, the engine may keep the up's
    /// run as its first run ([`Engine::trial_keeping_first`]), which the
    /// caller then does not apply again.
    fn down_checks(
        &mut self,
        m: &Migration,
        down: &Part,
        withdraw: bool,
        keep: bool,
    ) -> Result<DownChecks, EngineError> {
        let steps = [
            Step {
                part: &m.up,
                stop_on_error: true,
            },
            Step {
                part: down,
                stop_on_error: true,
            },
            Step {
                part: down,
                stop_on_error: false,
            },
        ];
        let (trial, kept) = if keep {
            self.engine.trial_keeping_first(self.ws, &steps)?
        } else {
            (self.engine.trial(self.ws, &steps)?, false)
        };
        self.collect(false)?;
        let outcomes = match trial {
            Trial::Ran(o) => o,
            Trial::NotPossible(why) => {
                let message = format!("down migration not checked: {why}");
                self.report_not_checked(m, down, message);
                return Ok(DownChecks::default());
            }
        };
        let mut outcomes = outcomes.into_iter();
        let up = outcomes.next();
        let up_failure = up.as_ref().and_then(|u| u.failures.first().cloned());
        let (Some(up), Some(first), None) = (up, outcomes.next(), &up_failure) else {
            // The up failed: its own first run reports that.
            return Ok(DownChecks {
                up_failed: true,
                up_failure,
                ..DownChecks::default()
            });
        };
        let done = DownChecks {
            kept_up: kept.then_some(up.handled),
            ..DownChecks::default()
        };
        self.report_handled(m, down, &first.handled);
        if let Some(f) = first.failures.first() {
            if withdraw && self.withdrawable(f) && self.engine.unseed()? {
                let f = f.clone();
                // A kept up stays applied: the checks again would run it
                // on top of itself.
                let keep = keep && done.kept_up.is_none();
                let again = self.down_checks(m, down, false, keep)?;
                if !again.up_failed && !again.down_failed {
                    self.report_seed_withdrawn(m, down, &f);
                }
                return Ok(again);
            }
            self.report_failure(m, down, f, Run::DownFirst);
            return Ok(DownChecks {
                down_failed: true,
                ..done
            });
        }
        // The schema before the up vs after the up and the down, for every
        // object either touched.
        let net = Observation::compose([&up.observation, &first.observation]);
        if let Some(d) = diff::schema_diff(
            &net.schema_before,
            &net.schema_after,
            "before the up migration",
            "after the up and down migrations",
        ) {
            self.report_not_reverted(m, down, &first.observation, &d);
        }
        if let Some(RunOutcome {
            failures,
            observation,
            ..
        }) = outcomes.next()
        {
            for f in &failures {
                self.report_failure(m, down, f, Run::DownSecond);
            }
            self.report_changes(m, down, &observation, Run::DownSecond);
        }
        Ok(done)
    }

    /// Whether a first run's failure may come from twice's synthetic rows
    /// (an engine error while seeding or the write between runs is on):
    /// then they are withdrawn and the run tried again without them.
    fn withdrawable(&self, f: &Failure) -> bool {
        (self.opts.seed || self.opts.interleave) && f.error.kind == FailureKind::Error
    }

    // ---- findings -------------------------------------------------------

    fn finding(
        &self,
        m: &Migration,
        part: &Part,
        stmt: usize,
        span: Option<Range<usize>>,
        rule: &RuleMeta,
        message: String,
    ) -> Finding {
        let unit = self.unit(part);
        let span =
            span.unwrap_or_else(|| unit.statements.get(stmt).map_or(0..0, |s| s.span.clone()));
        let b = FindingBuilder { file: &unit.source };
        let mut f = b.at(rule.id, rule.severity, Origin::Replay, span, message);
        f.statement = Some(stmt);
        if let Some(note) = &m.rerun_note {
            f.notes.push(note.clone());
        }
        f
    }

    fn line_of(&self, part: &Part, offset: usize) -> usize {
        self.unit(part).source.line_col(offset).0
    }

    fn first_statement(&self, part: &Part) -> usize {
        let unit = self.unit(part);
        part.statements
            .iter()
            .copied()
            .find(|&i| {
                unit.statements
                    .get(i)
                    .is_some_and(|s| !s.sql.trim().is_empty())
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rules_are_registered() {
        for id in [
            "first-run-error",
            "second-run-error",
            "second-run-schema-change",
            "second-run-data-change",
            "second-run-sequence-advance",
            "second-run-data-loss",
            "second-run-overwrites",
            "down-does-not-revert",
            "down-second-run-error",
            "down-second-run-change",
            "replay-denied",
            "replay-timeout",
            "replay-resource-limit",
            "replay-statement-skipped",
        ] {
            let m = crate::rules::find(id).unwrap_or_else(|| panic!("{id} is not registered"));
            assert_eq!(m.origin, crate::finding::Origin::Replay);
            for section in [
                "## What it does",
                "## Why it matters",
                "## Example",
                "## Fix",
            ] {
                assert!(m.doc.contains(section), "{id}: no {section}");
            }
        }
    }
}
