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
mod help;

pub use help::{MYSQL_PERMISSION_HELP, PERMISSION_HELP};

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
    /// Lower-case bare names of what the sequence's migrations create (see
    /// `failures::created_names`): an object missing on a first run that
    /// none of them creates comes from a schema made elsewhere.
    made_here: BTreeSet<String>,
    /// The root (index in `roots`) of the first failure on such an object:
    /// the later ones are listed under it.
    baseline: Option<usize>,
    /// The root of the first failure on SQL the server does not read
    /// (MySQL 8 syntax on MariaDB): the later ones are listed under it.
    unreadable: Option<usize>,
    /// The roots of first failures on errors a strict `sql_mode` makes
    /// (MySQL's 1364, ...), by the error and the table the statement writes
    /// ([`failures`]' `strict_key`): later failures with the same key are
    /// listed under them.
    strict: std::collections::BTreeMap<String, usize>,
    /// The root of the first failure on a missing object after migrations
    /// twice cannot run (Go, Python): the later ones are listed under it.
    gap_missing: Option<usize>,
    /// The sequence's migrations twice cannot run ([`Sequence::code_gaps`]).
    gaps: &'a [(String, String)],
    /// The sequence's migrations, in order (for [`Migration::code_before`]).
    migrations: &'a [Migration],
    /// The sequence's root (to tell it from the workspace's others).
    root: &'a str,
    /// The sequence's layout (its tool's words in help).
    layout: crate::model::LayoutKind,
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
    /// Lower-case bare names of the objects and columns it (and its
    /// followers) would have dropped (or renamed) and not made again.
    dropped: BTreeSet<String>,
    follow_on: Vec<serde_json::Value>,
    /// For each of `follow_on`: whether it failed on another object no
    /// migration of the sequence creates (the same reason as this root's,
    /// when this root is the sequence's `baseline`), not for want of what
    /// this root would have created.
    elsewhere: Vec<bool>,
    /// What the failures of `follow_on` marked in `elsewhere` share with
    /// this root, when it is not the baseline's reason (objects no
    /// migration creates).
    reason: Option<String>,
}

/// Work handed to the pipeline thread, each trial on its own copy of the
/// database.
enum Job<'a> {
    /// A second run: a copy of the state after the first run for the
    /// trial of the part, and, when the application's write between runs
    /// wrote something, a copy of the state after it for the trial again,
    /// with what was written.
    Second {
        part: &'a Part,
        second: Box<dyn Engine + Send>,
        again: Option<(Box<dyn Engine + Send>, Interleaved)>,
    },
    /// The down's second run of the down checks, on a copy of the state
    /// after the up and the down's first run
    /// ([`Engine::trial_keeping_first_forking_last`]).
    DownSecond {
        down: &'a Part,
        copy: Box<dyn Engine + Send>,
    },
}

/// What the copies' trials gave.
enum Done {
    Second {
        second: Result<Trial, EngineError>,
        again: Option<(Interleaved, Result<Trial, EngineError>)>,
    },
    DownSecond(Result<Trial, EngineError>),
}

/// A job on the thread, by migration, in the order sent.
struct InFlight<'a> {
    index: usize,
    m: &'a Migration,
    /// For a down's second run: the part, and how many findings there were
    /// before the migration's down checks reported any (a copy that fails
    /// stops replay there, as the engine failing in the down checks would).
    down: Option<(&'a Part, usize)>,
}

/// The second-run thread: its jobs run in the order sent, at most one
/// waiting besides the one running (the copies of the database besides
/// the engine's own), and are collected before the findings of the next
/// migration are built, so they are those of a run without it.
struct Pipeline<'a> {
    jobs: mpsc::SyncSender<Job<'a>>,
    done: mpsc::Receiver<Done>,
    in_flight: std::collections::VecDeque<InFlight<'a>>,
}

/// The trials of a [`Job`], each on its copy (dropped after it: nothing
/// needs undoing).
fn second_runs(ws: &Workspace, job: Job<'_>) -> Done {
    match job {
        Job::Second {
            part,
            second,
            again,
        } => {
            let step = Step {
                part,
                stop_on_error: false,
            };
            let mut copy = second;
            let second = copy.trial(ws, &[step]);
            drop(copy);
            let again = again.map(|(mut copy, written)| {
                let again = copy.trial(ws, &[step]);
                (written, again)
            });
            Done::Second { second, again }
        }
        Job::DownSecond { down, mut copy } => {
            let step = Step {
                part: down,
                stop_on_error: false,
            };
            Done::DownSecond(copy.trial(ws, &[step]))
        }
    }
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
                in_flight: std::collections::VecDeque::new(),
            })
        });
        let r = Replayer {
            engine,
            ws,
            opts,
            caps,
            findings: Vec::new(),
            roots: Vec::new(),
            made_here: failures::made_by(ws, seq),
            baseline: None,
            unreadable: None,
            strict: Default::default(),
            gap_missing: None,
            gaps: &seq.code_gaps,
            migrations: &seq.migrations,
            root: &seq.root,
            layout: seq.layout,
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
        if let Some(schemas) = &seq.schemas {
            if let Err(e) = r.engine.tool_schemas(&schemas.names) {
                return Ok(Outcome::Stopped {
                    findings: Vec::new(),
                    reason: format!(
                        "replay could not create the schemas the migration tool creates ({}): {e}",
                        schemas.from
                    ),
                });
            }
        }
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
                // The runs still on copies come first (an earlier stop
                // among them wins).
                stop = Some(match (r.stopped_at, r.collect(usize::MAX, false)) {
                    (Some(j), _) => (j, e),
                    (None, Err(e)) => (r.stopped_at.unwrap_or(i), e),
                    (None, Ok(())) => (i, e),
                });
            }
            if stop.is_none() && i + 1 == seq.migrations.len() {
                stop = r
                    .collect(usize::MAX, false)
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
        let mut again = None;
        let mut here = None;
        let mut written_any = false;
        if self.opts.interleave && self.may_destroy(&m.up) {
            let names = self.names_in(&m.up);
            // An error stops replay after this migration's second run (its
            // findings first, as on one thread).
            let written = match self.engine.interleave(&names) {
                Ok(w) => w,
                Err(e) => return self.send_then_stop(index, m, &m.up, second, e),
            };
            if !written_tables(&written).is_empty() {
                written_any = true;
                match self.engine.fork(self.ws, &m.up) {
                    Ok(Some(copy)) => again = Some((copy, written)),
                    Ok(None) => here = Some(written),
                    Err(e) => return self.send_then_stop(index, m, &m.up, second, e),
                }
            }
        }
        let job = Job::Second {
            part: &m.up,
            second,
            again,
        };
        if !self.send(index, m, job, None) {
            return Err(EngineError("the second-run thread stopped".into()));
        }
        if let Some(written) = here {
            self.collect(usize::MAX, false)?;
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
                self.collect(usize::MAX, false)?;
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
        part: &'a Part,
        second: Box<dyn Engine + Send>,
        e: EngineError,
    ) -> Result<(), EngineError> {
        let job = Job::Second {
            part,
            second,
            again: None,
        };
        if self.send(index, m, job, None) {
            self.collect(usize::MAX, true)?;
        }
        Err(e)
    }

    /// Hands `job` to the second-run thread; `false` when it is gone.
    fn send(
        &mut self,
        index: usize,
        m: &'a Migration,
        job: Job<'a>,
        down: Option<(&'a Part, usize)>,
    ) -> bool {
        let Some(p) = self.pipeline.as_mut() else {
            return false;
        };
        if p.jobs.send(job).is_err() {
            return false;
        }
        p.in_flight.push_back(InFlight { index, m, down });
        true
    }

    /// Waits for the runs on copies of migrations before `before` (by
    /// index; `usize::MAX`: all of them), in the order sent, and builds
    /// their findings as [`Replayer::migration`] and
    /// [`Replayer::down_checks`] do for runs on the engine. With
    /// `first_only`, only those of a second run's trial (the engine stopped
    /// at the write between runs: see [`Replayer::send_then_stop`]). An
    /// error is the copy's: replay stops at that migration
    /// ([`Replayer::stopped_at`]), with the findings it would have had
    /// stopping there on the engine.
    fn collect(&mut self, before: usize, first_only: bool) -> Result<(), EngineError> {
        loop {
            let Some(p) = self.pipeline.as_mut() else {
                return Ok(());
            };
            if p.in_flight.front().is_none_or(|f| f.index >= before) {
                return Ok(());
            }
            let Some(InFlight { index, m, down }) = p.in_flight.pop_front() else {
                return Ok(());
            };
            let Ok(done) = p.done.recv() else {
                self.stopped_at = Some(index);
                return Err(EngineError("the second-run thread stopped".into()));
            };
            let r = match (done, down) {
                (Done::Second { second, again }, _) => {
                    self.report_second_runs(m, second, again, first_only)
                }
                (Done::DownSecond(trial), Some((down, mark))) => match trial {
                    Ok(trial) => {
                        self.report_down_second(m, down, trial);
                        Ok(())
                    }
                    Err(e) => {
                        // On the engine, replay would have stopped in the
                        // down checks: nothing of this migration or after
                        // it is reported.
                        self.findings.truncate(mark);
                        self.roots.retain(|r| r.finding < mark);
                        Err(e)
                    }
                },
                (Done::DownSecond(_), None) => Err(EngineError(
                    "the second-run thread answered out of order".into(),
                )),
            };
            if r.is_err() {
                self.stopped_at = Some(index);
                return r;
            }
        }
    }

    fn report_second_runs(
        &mut self,
        m: &Migration,
        second: Result<Trial, EngineError>,
        again: Option<(Interleaved, Result<Trial, EngineError>)>,
        first_only: bool,
    ) -> Result<(), EngineError> {
        let Some(failures) = self.report_second_run(m, second?) else {
            return Ok(());
        };
        if first_only {
            return Ok(());
        }
        if let Some((written, again)) = again {
            if let Trial::Ran(outcomes) = again? {
                let again = outcomes.into_iter().next().unwrap_or_default();
                let from = self.findings.len();
                self.report_interleaved(m, &m.up, &again.observation, &written_tables(&written));
                // (The ordinary second run's failures: the same statements,
                // whichever thread ran the trial.)
                self.note_changes_past_failure(from, &m.up, &failures);
            }
        }
        Ok(())
    }
}

impl<'a, E: Engine> Replayer<'a, E> {
    /// Reports the ordinary second run of `m`'s up (on the engine or on a
    /// copy): its failures and what it changed. Its failures when it ran;
    /// `None` when it could not be run (reported as not checked): nothing
    /// after it is checked.
    fn report_second_run(&mut self, m: &Migration, second: Trial) -> Option<Vec<Failure>> {
        match second {
            Trial::Ran(outcomes) => {
                let second = outcomes.into_iter().next().unwrap_or_default();
                for f in &second.failures {
                    self.report_failure(m, &m.up, f, Run::Second);
                }
                let from = self.findings.len();
                self.report_changes(m, &m.up, &second.observation, Run::Second, &second.failures);
                self.note_changes_past_failure(from, &m.up, &second.failures);
                Some(second.failures)
            }
            Trial::NotPossible(why) => {
                let message = format!("second run not checked: {why}");
                self.report_not_checked(m, &m.up, message);
                None
            }
        }
    }

    /// A second run goes on past a failing statement so that every one is
    /// reported, but the tool stops at the first: the changes found in
    /// `self.findings[from..]` that the tool's run would not make (all of
    /// them when the part runs in a transaction, which the failure rolls
    /// back; else, and on MySQL, where DDL commits as it goes, those of
    /// statements after the failure) say so.
    fn note_changes_past_failure(&mut self, from: usize, part: &Part, failures: &[Failure]) {
        let Some(first) = failures.iter().min_by_key(|f| (f.stmt, f.at)) else {
            return;
        };
        let line = self.line_of(part, first.at);
        let kept = part.no_transaction || self.caps.dialect == crate::dialect::Dialect::Mysql;
        let note = if kept {
            format!(
                "the second run failed first at line {line}, where the tool stops: this \
                 statement runs again only once that failure is fixed"
            )
        } else {
            format!(
                "the second run failed first at line {line}, where the tool stops and rolls the \
                 migration back: this change happens once that failure is fixed"
            )
        };
        for f in &mut self.findings[from..] {
            let after = f.statement.is_some_and(|s| s > first.stmt);
            if kept && !after {
                continue;
            }
            f.notes.push(note.clone());
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
                self.collect(index, false)?;
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
            let checks = self.down_checks(index, m, down, true, true)?;
            up_failed = checks.up_failed;
            kept_up = checks.kept_up;
            // The up failed in the down checks while synthetic rows were
            // there: they are withdrawn now and the checks made again,
            // while the state before the up is still there to check the
            // down on (a first run that fails part-way where DDL commits,
            // as on MySQL, leaves no such state behind it).
            if let Some(f) = checks.up_failure.filter(|f| self.withdrawable(f)) {
                if self.engine.unseed()? {
                    let again = self.down_checks(index, m, down, false, true)?;
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
        // The previous migrations' runs on copies are reported before
        // anything of this one.
        self.collect(index, false)?;
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
                    self.down_checks(index, m, down, false, false)?;
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
        let Some(failures) = self.report_second_run(m, second) else {
            return Ok(());
        };

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
            let from = self.findings.len();
            self.report_interleaved(m, &m.up, &again.observation, &written);
            self.note_changes_past_failure(from, &m.up, &failures);
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
    ///
    /// With the second-run thread, the down's second run may go to a copy
    /// ([`Engine::trial_keeping_first_forking_last`]): nothing here depends
    /// on it, and its findings are built when it is collected.
    fn down_checks(
        &mut self,
        index: usize,
        m: &'a Migration,
        down: &'a Part,
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
        let (trial, kept, copy) = if keep && self.pipeline.is_some() {
            self.engine
                .trial_keeping_first_forking_last(self.ws, &steps)?
        } else if keep {
            let (trial, kept) = self.engine.trial_keeping_first(self.ws, &steps)?;
            (trial, kept, None)
        } else {
            (self.engine.trial(self.ws, &steps)?, false, None)
        };
        // On its copy at once, behind the previous migrations' runs.
        if let Some(copy) = copy {
            let job = Job::DownSecond { down, copy };
            if !self.send(index, m, job, Some((down, 0))) {
                return Err(EngineError("the second-run thread stopped".into()));
            }
        }
        self.collect(index, false)?;
        // The findings before this migration's down checks: where replay
        // stops if the down's second run fails on its copy.
        let mark = self.findings.len();
        if let Some(p) = self.pipeline.as_mut() {
            for f in p.in_flight.iter_mut().filter(|f| f.index == index) {
                if let Some((_, at)) = f.down.as_mut() {
                    *at = (*at).max(mark);
                }
            }
        }
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
                let again = self.down_checks(index, m, down, false, keep)?;
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
        // A column the down adds back comes back last: not a difference.
        if let Some(d) = diff::schema_diff_ignoring_column_order(
            &net.schema_before,
            &net.schema_after,
            "before the up migration",
            "after the up and down migrations",
        ) {
            self.report_not_reverted(m, down, &first.observation, &d);
        }
        if let Some(second) = outcomes.next() {
            self.report_down_second_outcome(m, down, second);
        }
        Ok(done)
    }

    /// The down's second run of the down checks, run on a copy
    /// ([`Replayer::collect`]).
    fn report_down_second(&mut self, m: &Migration, down: &Part, trial: Trial) {
        match trial {
            Trial::Ran(outcomes) => {
                if let Some(second) = outcomes.into_iter().next() {
                    self.report_down_second_outcome(m, down, second);
                }
            }
            Trial::NotPossible(why) => {
                let message = format!("second run of the down migration not checked: {why}");
                self.report_not_checked(m, down, message);
            }
        }
    }

    fn report_down_second_outcome(&mut self, m: &Migration, down: &Part, second: RunOutcome) {
        for f in &second.failures {
            self.report_failure(m, down, f, Run::DownSecond);
        }
        let from = self.findings.len();
        self.report_changes(
            m,
            down,
            &second.observation,
            Run::DownSecond,
            &second.failures,
        );
        self.note_changes_past_failure(from, down, &second.failures);
    }

    /// Whether a first run's failure may come from twice's synthetic rows
    /// (an engine error, or a statement that ran out of time, while seeding
    /// or the write between runs is on): then they are withdrawn and the run
    /// tried again without them. A statement that fails on any row at all
    /// (`ErrorClass::FailsOnRows`: a NOT NULL column added without a
    /// default) is retried too, so that the history goes on, but stays a
    /// `first-run-error` (see `report_seed_withdrawn`). A timeout qualifies because a migration can wait on
    /// rows (a loop until a queue table is drained, which synthetic rows
    /// never are); the retry runs under the same time limit, so a statement
    /// that runs away whatever the rows costs at most twice the limit and
    /// is then reported as before.
    fn withdrawable(&self, f: &Failure) -> bool {
        (self.opts.seed || self.opts.interleave)
            && matches!(f.error.kind, FailureKind::Error | FailureKind::Timeout)
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
        self.first_statement_that(part, |_| true).unwrap_or(0)
    }

    /// The first statement of `part` with SQL that `keep` accepts.
    fn first_statement_that(
        &self,
        part: &Part,
        keep: impl Fn(&crate::analysis::Statement) -> bool,
    ) -> Option<usize> {
        let unit = self.unit(part);
        part.statements.iter().copied().find(|&i| {
            unit.statements
                .get(i)
                .is_some_and(|s| !s.sql.trim().is_empty() && keep(s))
        })
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
