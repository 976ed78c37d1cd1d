//! The replay algorithm, for any [`Engine`]: first run kept, second run
//! observed and undone, down checks. See the module documentation of
//! [`crate::replay`] for the steps.

use super::control::{self, Control};
use super::diff::{self, SchemaDiff};
use super::engine::{
    Engine, EngineError, FailureKind, Observation, SchemaImage, Special, StmtError, TableData,
};
use super::Outcome;
use crate::analysis::Statement;
use crate::check::{FileUnit, Options, Workspace};
use crate::error::Result;
use crate::finding::{Finding, FindingBuilder, Origin};
use crate::model::{Migration, Part, Sequence};
use crate::rules::{self, RuleMeta};
use std::collections::BTreeMap;
use std::ops::Range;

/// Savepoint names replay uses; migrations cannot touch them.
pub const SAVEPOINT_PREFIX: &str = "twice_replay_";
const TX_SAVEPOINT: &str = "twice_replay_tx";
const DOWN_SAVEPOINT: &str = "twice_replay_down";

/// Which run of which part is executing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    First,
    Second,
    DownFirst,
    DownSecond,
    /// The up again after its down, to restore its state; reports nothing.
    Reapply,
}

impl Run {
    fn stops_on_error(self) -> bool {
        matches!(self, Run::First | Run::DownFirst | Run::Reapply)
    }

    fn phrase(self) -> &'static str {
        match self {
            Run::First => "first run",
            Run::Second => "second run",
            Run::DownFirst => "down migration",
            Run::DownSecond => "second run of the down migration",
            Run::Reapply => "re-run of the up migration",
        }
    }
}

/// A statement that failed during a run.
struct Failure {
    /// Index of the statement in its file.
    stmt: usize,
    /// The piece that failed, in file offsets.
    span: Range<usize>,
    /// Where the error points (file offset), for the line in the message.
    at: usize,
    error: StmtError,
}

#[derive(Default)]
struct RunReport {
    failures: Vec<Failure>,
    /// Pieces the engine handled itself: statement, span, explanation.
    handled: Vec<(usize, Range<usize>, String)>,
}

struct Replayer<'a, E: Engine> {
    engine: &'a mut E,
    ws: &'a Workspace,
    opts: &'a Options,
    findings: Vec<Finding>,
}

/// Replays `seq` on `engine` and returns the findings.
pub fn replay<E: Engine>(
    engine: &mut E,
    ws: &Workspace,
    seq: &Sequence,
    opts: &Options,
) -> Result<Outcome> {
    let mut r = Replayer {
        engine,
        ws,
        opts,
        findings: Vec::new(),
    };
    for (i, m) in seq.migrations.iter().enumerate() {
        opts.progress(&seq.root, i, seq.migrations.len());
        if let Err(e) = r.migration(m) {
            let file = &ws.files[m.up.file].source.name;
            return Ok(Outcome::Stopped {
                findings: r.findings,
                reason: format!("replay stopped at {file}: {e}"),
            });
        }
    }
    Ok(Outcome::Replayed(r.findings))
}

impl<E: Engine> Replayer<'_, E> {
    fn unit(&self, part: &Part) -> &FileUnit {
        &self.ws.files[part.file]
    }

    fn texts<'p>(ws: &'p Workspace, part: &'p Part) -> Vec<&'p str> {
        let unit = &ws.files[part.file];
        part.statements
            .iter()
            .filter_map(|&i| unit.statements.get(i))
            .map(|s| s.sql.as_str())
            .collect()
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

    fn migration(&mut self, m: &Migration) -> Result<(), EngineError> {
        if self.opts.seed {
            self.engine.seed()?;
        }
        if !self.runnable(&m.up) {
            return Ok(());
        }
        if m.apply_only {
            return self.apply_only(m);
        }
        let down = m
            .down
            .as_ref()
            .filter(|d| self.opts.down && self.runnable(d));

        // First run: kept.
        let texts = Self::texts(self.ws, &m.up);
        self.engine.begin(&texts)?;
        if down.is_some() {
            self.engine.observe_start()?;
        }
        let first = self.run_part(&m.up, Run::First);
        let up_obs = if down.is_some() {
            Some(self.engine.observe_stop()?)
        } else {
            None
        };
        self.report_handled(m, &m.up, &first);
        if let Some(f) = first.failures.first() {
            self.report_failure(m, &m.up, f, Run::First);
            self.engine.rollback()?;
            return Ok(());
        }
        self.engine.end_run()?;
        self.engine.commit()?;

        // Second run: observed, then undone.
        self.engine.begin(&texts)?;
        self.engine.observe_start()?;
        let second = self.run_part(&m.up, Run::Second);
        self.engine.end_run()?;
        let obs = self.engine.observe_stop()?;
        for f in &second.failures {
            self.report_failure(m, &m.up, f, Run::Second);
        }
        let reported = self.report_changes(m, &m.up, &obs, Run::Second);
        self.engine.undo(!reported && unchanged(&obs))?;

        if let (Some(down), Some(up_obs)) = (down, up_obs) {
            self.down_checks(m, down, &up_obs)?;
        }
        Ok(())
    }

    /// A migration of the starting state (`--since`, `--from`): applied
    /// once and kept; only a failure to apply is reported (it breaks the
    /// state the audited migrations start from). No second run, no downs.
    fn apply_only(&mut self, m: &Migration) -> Result<(), EngineError> {
        let texts = Self::texts(self.ws, &m.up);
        self.engine.begin(&texts)?;
        let first = self.run_part(&m.up, Run::First);
        if let Some(f) = first.failures.first() {
            self.report_failure(m, &m.up, f, Run::First);
            if let Some(last) = self.findings.last_mut() {
                last.notes.push(crate::model::APPLY_ONLY_NOTE.into());
            }
            return self.engine.rollback();
        }
        self.engine.end_run()?;
        self.engine.commit()
    }

    fn down_checks(
        &mut self,
        m: &Migration,
        down: &Part,
        up_obs: &Observation,
    ) -> Result<(), EngineError> {
        let lost = self.engine.lost_count();
        let texts = Self::texts(self.ws, down);
        self.engine.begin(&texts)?;
        self.engine.observe_start()?;
        let first = self.run_part(down, Run::DownFirst);
        let down_obs = self.engine.observe_stop()?;
        self.report_handled(m, down, &first);
        if let Some(f) = first.failures.first() {
            self.report_failure(m, down, f, Run::DownFirst);
            return self.engine.rollback();
        }

        // The schema before the up, for every object the up or down touched.
        let mut before = up_obs.schema_before.clone();
        for (k, v) in &down_obs.schema_before {
            before.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let mut now = up_obs.schema_after.clone();
        now.extend(down_obs.schema_after.clone());
        let reverted = match diff::schema_diff(
            &before,
            &now,
            "before the up migration",
            "after the up and down migrations",
        ) {
            Some(d) => {
                self.report_not_reverted(m, down, &down_obs, &d);
                false
            }
            None => true,
        };

        // Second run of the down, in a savepoint.
        self.engine
            .savepoint(DOWN_SAVEPOINT)
            .map_err(EngineError::from)?;
        self.engine.observe_start()?;
        let second = self.run_part(down, Run::DownSecond);
        self.engine.end_run()?;
        let obs = self.engine.observe_stop()?;
        for f in &second.failures {
            self.report_failure(m, down, f, Run::DownSecond);
        }
        let reported = self.report_changes(m, down, &obs, Run::DownSecond);
        self.engine
            .undo_to(DOWN_SAVEPOINT, !reported && unchanged(&obs))?;

        // Back to the state the up left: run the up again when the down
        // reverted it exactly and the result matches, else roll back.
        if reverted && self.engine.lost_count() == lost {
            self.engine.observe_start()?;
            let again = self.run_part(&m.up, Run::Reapply);
            let obs = self.engine.observe_stop()?;
            if again.failures.is_empty()
                && self.engine.lost_count() == lost
                && restores(&obs, up_obs, &down_obs, &now)
            {
                self.engine.end_run()?;
                return self.engine.commit();
            }
        }
        self.engine.rollback()
    }

    /// Runs the statements of `part`. Runs that stop on error stop at the
    /// first failing statement.
    fn run_part(&mut self, part: &Part, run: Run) -> RunReport {
        let mut report = RunReport::default();
        let ws = self.ws;
        let unit = &ws.files[part.file];
        let mut tx_open = false;
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
                report.handled.push((
                    i,
                    st.span.clone(),
                    "not run: it holds a placeholder with no value (see undefined-placeholder); pass --define to replay it".into(),
                ));
                continue;
            }
            self.engine.set_tag(i);
            let failed = self.run_statement(unit, st, run, &mut tx_open, &mut report);
            if failed && run.stops_on_error() {
                return report;
            }
        }
        if tx_open {
            // A BEGIN without COMMIT: keep what ran, as the tool's own
            // transaction would at its end.
            let _ = self.engine.release(TX_SAVEPOINT);
        }
        report
    }

    /// Runs one statement, piece by piece. Returns whether a piece failed.
    fn run_statement(
        &mut self,
        unit: &FileUnit,
        st: &Statement,
        run: Run,
        tx_open: &mut bool,
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
                        if let Err(error) = self.emulate(c, tx_open) {
                            report.failures.push(Failure {
                                stmt: st.index,
                                span: to_file(piece.clone()),
                                at: at_file(piece.start),
                                error,
                            });
                            failed = true;
                            if run.stops_on_error() {
                                return true;
                            }
                        }
                        off += next.max(1);
                        continue;
                    }
                    if let Some(sp) = self.engine.special(&sql[piece.clone()]) {
                        match sp {
                            Special::Skip(text) | Special::Deferred(text) => {
                                report.handled.push((st.index, to_file(piece), text));
                            }
                            Special::Refuse(message) => {
                                report.failures.push(Failure {
                                    stmt: st.index,
                                    span: to_file(piece.clone()),
                                    at: at_file(piece.start),
                                    error: StmtError {
                                        kind: FailureKind::Denied,
                                        message,
                                        offset: None,
                                        resume: None,
                                    },
                                });
                                failed = true;
                                if run.stops_on_error() {
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
                    if let Err(error) = self.engine.step() {
                        let at = off + range.start + error.offset.unwrap_or(0);
                        report.failures.push(Failure {
                            stmt: st.index,
                            span: to_file(piece),
                            at: at_file(at),
                            error,
                        });
                        failed = true;
                        if run.stops_on_error() {
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
                        Some(n) if !run.stops_on_error() => {
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
    fn emulate(&mut self, c: Control, tx_open: &mut bool) -> Result<(), StmtError> {
        let misplaced = |e: &E| match e.control_error(c) {
            Some(msg) => Err(StmtError::error(msg)),
            None => Ok(()),
        };
        match c {
            Control::Begin if *tx_open => misplaced(self.engine),
            Control::Begin => {
                self.engine.savepoint(TX_SAVEPOINT)?;
                *tx_open = true;
                Ok(())
            }
            Control::Commit | Control::Rollback if !*tx_open => misplaced(self.engine),
            Control::Commit => {
                *tx_open = false;
                self.engine.release(TX_SAVEPOINT)
            }
            Control::Rollback => {
                *tx_open = false;
                self.engine.rollback_to(TX_SAVEPOINT)?;
                self.engine.release(TX_SAVEPOINT)
            }
        }
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

    fn report_handled(&mut self, m: &Migration, part: &Part, report: &RunReport) {
        for (stmt, span, text) in &report.handled {
            let f = self.finding(
                m,
                part,
                *stmt,
                Some(span.clone()),
                &rules::replay_statement_skipped::META,
                text.clone(),
            );
            self.findings.push(f);
        }
    }

    fn report_failure(&mut self, m: &Migration, part: &Part, f: &Failure, run: Run) {
        let line = self.line_of(part, f.at);
        let stops = run.stops_on_error();
        let (rule, message) = match f.error.kind {
            FailureKind::Error => {
                let rule = match run {
                    Run::First | Run::DownFirst | Run::Reapply => &rules::first_run_error::META,
                    Run::Second => &rules::second_run_error::META,
                    Run::DownSecond => &rules::down_second_run_error::META,
                };
                let message = match run {
                    Run::DownFirst => format!(
                        "down migration fails at line {line} on the state its up left: {}",
                        f.error.message
                    ),
                    _ => format!("{} fails at line {line}: {}", run.phrase(), f.error.message),
                };
                (rule, message)
            }
            FailureKind::Denied => (
                &rules::replay_denied::META,
                format!(
                    "the replay sandbox refused this statement on the {} (line {line}): {}",
                    run.phrase(),
                    f.error.message
                ),
            ),
            FailureKind::Timeout => (
                &rules::replay_timeout::META,
                format!(
                    "statement stopped on the {} (line {line}): it ran longer than the replay \
                     time limit of {} (--timeout)",
                    run.phrase(),
                    seconds(self.opts.timeout)
                ),
            ),
            FailureKind::Limit => (
                &rules::replay_resource_limit::META,
                format!(
                    "statement stopped on the {} (line {line}): {}",
                    run.phrase(),
                    f.error.message
                ),
            ),
        };
        let mut finding = self.finding(m, part, f.stmt, Some(f.span.clone()), rule, message);
        match (f.error.kind, run) {
            (FailureKind::Error, Run::First) => {
                finding.help = Some(
                    "the migration must apply on the state the migrations before it leave: \
                     check the order of the files and the objects this statement needs"
                        .into(),
                );
            }
            (FailureKind::Error, Run::DownFirst) => {
                finding.help = Some(
                    "the down migration must apply right after its up: check the objects \
                     it drops or changes"
                        .into(),
                );
            }
            (FailureKind::Error, _) => {
                finding.help = Some(help_for_error(&f.error.message).into());
            }
            _ => {}
        }
        if stops {
            finding.notes.push(match run {
                Run::DownFirst => {
                    "replay undid this down migration and did not check it further".to_string()
                }
                _ => "replay rolled this migration back, did not run the rest of it, and went \
                      on with the next migration"
                    .to_string(),
            });
        }
        self.findings.push(finding);
    }

    /// Reports schema and data changes a second run made. Returns whether
    /// anything was reported.
    fn report_changes(&mut self, m: &Migration, part: &Part, obs: &Observation, run: Run) -> bool {
        let (schema_rule, data_rule, old, new) = match run {
            Run::DownSecond => (
                &rules::down_second_run_change::META,
                &rules::down_second_run_change::META,
                "after the down migration",
                "after its second run",
            ),
            _ => (
                &rules::second_run_schema_change::META,
                &rules::second_run_data_change::META,
                "after the first run",
                "after the second run",
            ),
        };
        let mut any = false;
        if let Some(d) = diff::schema_diff(&obs.schema_before, &obs.schema_after, old, new) {
            any = true;
            let mut writers: Vec<usize> = d
                .objects
                .iter()
                .filter_map(|(k, _)| obs.schema_writers.get(k))
                .flatten()
                .copied()
                .collect();
            writers.sort_unstable();
            writers.dedup();
            let stmt = writers
                .first()
                .copied()
                .unwrap_or_else(|| self.first_statement(part));
            let message = format!("{} changes the schema: {}", run.phrase(), d.summary());
            let mut f = self.finding(m, part, stmt, None, schema_rule, message);
            f.notes
                .push(format!("schema diff:\n{}", d.unified.trim_end()));
            self.note_other_writers(part, &mut f, &writers, stmt);
            f.help = Some(
                "make the statement converge: guard it so that a second run leaves the \
                 schema as the first run did"
                    .into(),
            );
            f.evidence = Some(schema_evidence(&d));
            self.findings.push(f);
        }
        for (table, after) in &obs.data_after {
            if obs.internal_tables.contains(table) {
                continue;
            }
            let (Some(Some(before)), Some(after)) = (obs.data_before.get(table), after) else {
                continue;
            };
            let Some(d) = diff::data_diff(table, before, after) else {
                continue;
            };
            any = true;
            let writers = obs.writers.get(table).cloned().unwrap_or_default();
            let stmt = writers
                .first()
                .copied()
                .unwrap_or_else(|| self.first_statement(part));
            let message = format!("{} changes data in `{table}`: {}", run.phrase(), d.counts());
            let mut f = self.finding(m, part, stmt, None, data_rule, message);
            if d.summary_only {
                f.notes
                    .push("the table is too large to keep its rows: only counts are shown".into());
            } else {
                f.notes.push(format!(
                    "rows of {table}:\n{}",
                    d.sample_text(old, new).trim_end()
                ));
            }
            self.note_other_writers(part, &mut f, &writers, stmt);
            f.help = Some(
                "make the write converge: insert with a unique key and `ON CONFLICT DO \
                 NOTHING`, guard copies with `WHERE NOT EXISTS`, set absolute values in updates"
                    .into(),
            );
            let mut ev = d.evidence();
            if let Some(obj) = ev.as_object_mut() {
                let unit = self.unit(part);
                let stmts: Vec<serde_json::Value> = writers
                    .iter()
                    .filter_map(|&i| unit.statements.get(i))
                    .map(|s| {
                        serde_json::json!({
                            "file": unit.source.name,
                            "line": unit.source.line_col(s.span.start).0,
                            "statement": s.index,
                        })
                    })
                    .collect();
                obj.insert("statements".into(), serde_json::Value::Array(stmts));
            }
            f.evidence = Some(ev);
            self.findings.push(f);
        }
        any
    }

    fn note_other_writers(&self, part: &Part, f: &mut Finding, writers: &[usize], shown: usize) {
        let unit = self.unit(part);
        let lines: Vec<String> = writers
            .iter()
            .filter(|&&i| i != shown)
            .filter_map(|&i| unit.statements.get(i))
            .map(|s| unit.source.line_col(s.span.start).0.to_string())
            .collect();
        if !lines.is_empty() {
            f.notes.push(format!(
                "also written by the statement{} at line{} {}",
                if lines.len() == 1 { "" } else { "s" },
                if lines.len() == 1 { "" } else { "s" },
                lines.join(", ")
            ));
        }
    }

    fn report_not_reverted(
        &mut self,
        m: &Migration,
        down: &Part,
        down_obs: &Observation,
        d: &SchemaDiff,
    ) {
        let mut writers: Vec<usize> = d
            .objects
            .iter()
            .filter_map(|(k, _)| down_obs.schema_writers.get(k))
            .flatten()
            .copied()
            .collect();
        writers.sort_unstable();
        let stmt = writers
            .first()
            .copied()
            .unwrap_or_else(|| self.first_statement(down));
        let parts: Vec<String> = d
            .objects
            .iter()
            .take(4)
            .map(|(k, c)| {
                let what = match c {
                    diff::Change::Added => "is left behind",
                    diff::Change::Removed => "is not restored",
                    diff::Change::Changed => "differs",
                };
                format!("{} {} {what}", k.kind, k.name)
            })
            .collect();
        let mut summary = parts.join(", ");
        if d.objects.len() > 4 {
            summary.push_str(&format!(" and {} more", d.objects.len() - 4));
        }
        let message = format!("down migration does not revert its up: {summary}");
        let mut f = self.finding(
            m,
            down,
            stmt,
            None,
            &rules::down_does_not_revert::META,
            message,
        );
        f.notes
            .push(format!("schema diff:\n{}", d.unified.trim_end()));
        let up_name = &self.unit(&m.up).source.name;
        f.notes.push(format!("the up migration is {up_name}"));
        f.help = Some(
            "make the down undo everything the up does, in reverse order (e.g. `DROP TABLE IF \
             EXISTS` for each table the up creates)"
                .into(),
        );
        f.evidence = Some(schema_evidence(d));
        self.findings.push(f);
    }
}

/// Whether an observation shows no difference at all, bookkeeping tables
/// included (so the engine may keep the observed work instead of undoing it).
fn unchanged(obs: &Observation) -> bool {
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

/// Whether re-running the up after its down restored the state the up's
/// first run left, for everything the up, the down and the re-run touched.
fn restores(
    again: &Observation,
    up: &Observation,
    down: &Observation,
    after_down: &SchemaImage,
) -> bool {
    // Schema: expected = state after the up (down's before-images are exact
    // for what it touched), actual = after the re-run.
    let mut expected: SchemaImage = up.schema_after.clone();
    expected.extend(down.schema_before.clone());
    let keys: Vec<_> = expected
        .keys()
        .chain(again.schema_after.keys())
        .cloned()
        .collect();
    for k in keys {
        let want = expected.get(&k).or_else(|| again.schema_before.get(&k));
        let have = again.schema_after.get(&k).or_else(|| after_down.get(&k));
        match (want, have) {
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
    // Data.
    let mut want_data: BTreeMap<&String, &Option<TableData>> = up.data_after.iter().collect();
    want_data.extend(down.data_before.iter());
    let tables: Vec<&String> = want_data
        .keys()
        .copied()
        .chain(again.data_after.keys())
        .collect();
    for t in tables {
        let Some(want) = want_data.get(t) else {
            return false;
        };
        let have = again
            .data_after
            .get(t)
            .or_else(|| down.data_after.get(t))
            .or_else(|| up.data_after.get(t));
        let same = match (want, have) {
            (None, Some(None)) => true,
            (Some(w), Some(Some(h))) => diff::data_diff(t, w, h).is_none(),
            _ => false,
        };
        if !same {
            return false;
        }
    }
    true
}

fn schema_evidence(d: &SchemaDiff) -> serde_json::Value {
    serde_json::json!({
        "objects": d.objects.iter().map(|(k, c)| serde_json::json!({
            "kind": k.kind, "name": k.name, "change": c.name(),
        })).collect::<Vec<_>>(),
        "diff": d.unified,
    })
}

fn seconds(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// An actionable help line for a statement that fails on a re-run, from the
/// engine's error text.
fn help_for_error(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("already exists") {
        "use `IF NOT EXISTS` so that the statement does nothing when the object is already there"
    } else if m.contains("duplicate column") {
        "SQLite has no `ADD COLUMN IF NOT EXISTS`: create the table in its final shape with \
         `CREATE TABLE IF NOT EXISTS`, or make the migration tool record the migration as \
         applied in the same transaction"
    } else if m.contains("unique constraint") || m.contains("duplicate key") {
        "skip rows that are already there: `INSERT ... ON CONFLICT DO NOTHING` (SQLite also \
         has `INSERT OR IGNORE`)"
    } else if m.contains("no such table")
        || m.contains("no such index")
        || m.contains("no such view")
        || m.contains("no such trigger")
        || m.contains("does not exist")
    {
        "use `IF EXISTS`, or guard the statement so that it does nothing when the first run \
         already removed or renamed the object"
    } else if m.contains("no such column") {
        "the first run renamed or dropped this column: guard the statement or fold the change \
         into a table rebuild"
    } else {
        "make the statement safe to run again, or make sure the migration tool records the \
         migration as applied in the same transaction"
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
