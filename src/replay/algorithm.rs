//! The replay algorithm, for any [`Engine`]: down checks, first run kept,
//! second run observed and undone. This is the only place that builds
//! replay findings: engines report neutral failures and observations (see
//! [`super::engine`]), so a rule id has the same message, help and evidence
//! shape on every engine. See the module documentation of [`crate::replay`]
//! for the steps.

use super::diff::{self, SchemaDiff};
use super::engine::{
    Caps, Engine, EngineError, ErrorClass, Failure, FailureKind, Handled, Interleaved, ObjectKey,
    Observation, RunOutcome, SchemaImage, Step, Trial,
};
use super::interleave::{self as il, Fate, Written};
use super::Outcome;
use crate::error::Result;
use crate::finding::{Finding, FindingBuilder, Origin};
use crate::model::{Migration, Part, Sequence};
use crate::options::Options;
use crate::report::{FileUnit, Workspace};
use crate::rules::{self, RuleMeta};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

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

/// How many follow-on failures a root's note lists by name.
const FOLLOW_ON_SHOWN: usize = 10;

/// Replays `seq` on `engine` and returns the findings.
pub fn replay<E: Engine>(
    engine: &mut E,
    ws: &Workspace,
    seq: &Sequence,
    opts: &Options,
) -> Result<Outcome> {
    let caps = engine.caps();
    let mut r = Replayer {
        engine,
        ws,
        opts,
        caps,
        findings: Vec::new(),
        roots: Vec::new(),
        gaps: &seq.code_gaps,
    };
    if let Some(sql) = super::bookkeeping::setup_sql(seq.layout, r.engine.id()) {
        if let Err(e) = r.engine.setup(sql) {
            return Ok(Outcome::Stopped {
                findings: Vec::new(),
                reason: format!("replay could not create the migration tool's table: {e}"),
            });
        }
    }
    for (i, m) in seq.migrations.iter().enumerate() {
        opts.progress(&seq.root, i, seq.migrations.len());
        if let Err(e) = r.migration(m) {
            let file = &ws.files[m.up.file].source.name;
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

/// Lower-case bare names a statement creates: the object of `CREATE ...`,
/// the column of `ALTER TABLE ... ADD [COLUMN]`, the new name of a `RENAME`.
fn created_names(sql: &str, out: &mut BTreeSet<String>) {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.rsplit('.')
                .next()
                .unwrap_or(w)
                .trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
                .to_ascii_lowercase()
        })
        .collect();
    let upper = |i: usize| words.get(i).map(|w| w.to_ascii_uppercase());
    let name_after = |mut i: usize| -> Option<String> {
        while matches!(
            upper(i).as_deref(),
            Some("IF" | "NOT" | "EXISTS" | "CONCURRENTLY" | "COLUMN" | "ONLY")
        ) {
            i += 1;
        }
        words.get(i).cloned()
    };
    match upper(0).as_deref() {
        Some("CREATE") => {
            let mut i = 1;
            while matches!(
                upper(i).as_deref(),
                Some(
                    "OR" | "REPLACE"
                        | "UNIQUE"
                        | "TEMP"
                        | "TEMPORARY"
                        | "MATERIALIZED"
                        | "RECURSIVE"
                        | "UNLOGGED"
                        | "GLOBAL"
                        | "LOCAL"
                        | "VIRTUAL"
                )
            ) {
                i += 1;
            }
            if let Some(n) = name_after(i + 1) {
                out.insert(n);
            }
        }
        Some("ALTER") => {
            for (i, w) in words.iter().enumerate() {
                let w = w.to_ascii_uppercase();
                if w == "ADD" {
                    if let Some(n) = name_after(i + 1) {
                        if !matches!(
                            n.to_ascii_uppercase().as_str(),
                            "CONSTRAINT" | "PRIMARY" | "UNIQUE" | "FOREIGN" | "CHECK" | "VALUE"
                        ) {
                            out.insert(n);
                        }
                    }
                } else if w == "TO" {
                    if let Some(n) = words.get(i + 1) {
                        out.insert(n.clone());
                    }
                }
            }
        }
        _ => {}
    }
}

impl<E: Engine> Replayer<'_, E> {
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

    fn migration(&mut self, m: &Migration) -> Result<(), EngineError> {
        if m.apply_only {
            // The starting state: applied once, nothing of its own checked.
            if self.runnable(&m.up) {
                let applied = self.engine.apply(self.ws, &m.up)?;
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
        if let Some(down) = down {
            self.down_checks(m, down)?;
        }

        // First run: kept.
        let applied = self.engine.apply(self.ws, &m.up)?;
        self.report_handled(m, &m.up, &applied.handled);
        if let Some(f) = &applied.failure {
            let run = Run::First {
                partial: applied.partial,
            };
            self.report_failure(m, &m.up, f, run);
            return Ok(());
        }

        // Second run: observed, then undone.
        let step = Step {
            part: &m.up,
            stop_on_error: false,
        };
        match self.engine.trial(self.ws, &[step])? {
            Trial::Ran(outcomes) => {
                let second = outcomes.into_iter().next().unwrap_or_default();
                for f in &second.failures {
                    self.report_failure(m, &m.up, f, Run::Second);
                }
                self.report_changes(m, &m.up, &second.observation, Run::Second);
            }
            Trial::NotPossible(why) => {
                let message = format!("second run not checked: {why}");
                self.report_not_checked(m, &m.up, message);
                return Ok(());
            }
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
        Ok(())
    }

    /// Down checks, on the state before the up: up, down (observed: does it
    /// revert the up?), down again (observed: does it converge?), all undone.
    fn down_checks(&mut self, m: &Migration, down: &Part) -> Result<(), EngineError> {
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
        let outcomes = match self.engine.trial(self.ws, &steps)? {
            Trial::Ran(o) => o,
            Trial::NotPossible(why) => {
                let message = format!("down migration not checked: {why}");
                self.report_not_checked(m, down, message);
                return Ok(());
            }
        };
        let mut outcomes = outcomes.into_iter();
        let (Some(up), Some(first)) = (outcomes.next(), outcomes.next()) else {
            // The up failed: its own first run reports that.
            return Ok(());
        };
        if !up.failures.is_empty() {
            return Ok(());
        }
        self.report_handled(m, down, &first.handled);
        if let Some(f) = first.failures.first() {
            self.report_failure(m, down, f, Run::DownFirst);
            return Ok(());
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
        Ok(())
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

    /// Whether statement `stmt` of `part` is an `ALTER ... RENAME`.
    fn renames(&self, part: &Part, stmt: usize) -> bool {
        let Some(st) = self.unit(part).statements.get(stmt) else {
            return false;
        };
        let mut words = st
            .sql
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty());
        words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("ALTER"))
            && words.any(|w| w.eq_ignore_ascii_case("RENAME"))
    }

    /// The help for a definition (view, function, trigger, ...) that
    /// already exists when a migration its tool re-runs because it changed
    /// (a Flyway repeatable, Liquibase `runOnChange`) runs again: there
    /// `IF NOT EXISTS` would keep the old definition, so the advice is
    /// `CREATE OR REPLACE` where the dialect has it, else dropping it first
    /// (as the static rule's help and fix say).
    fn rerun_create_help(&self, m: &Migration, part: &Part, f: &Failure) -> Option<String> {
        use crate::classify::{Kind, ObjectKind};
        use crate::dialect::Dialect;
        if m.rerun_note.is_none() || f.error.class != ErrorClass::AlreadyExists {
            return None;
        }
        let unit = self.unit(part);
        let st = unit.statements.get(f.stmt)?;
        let Kind::Create(c) = &st.facts.kind else {
            return None;
        };
        let (word, replace) = match (c.kind, st.dialect) {
            (ObjectKind::View, Dialect::Postgres | Dialect::Mysql) => ("VIEW", true),
            (ObjectKind::View, _) => ("VIEW", false),
            (ObjectKind::Function, Dialect::Postgres | Dialect::Mysql) => ("FUNCTION", false),
            (ObjectKind::Procedure, _) => ("PROCEDURE", st.dialect == Dialect::Postgres),
            (ObjectKind::Trigger, Dialect::Postgres) => ("TRIGGER", true),
            (ObjectKind::Trigger, _) => ("TRIGGER", false),
            (ObjectKind::MaterializedView, _) => ("MATERIALIZED VIEW", false),
            (ObjectKind::Rule, Dialect::Postgres) => ("RULE", true),
            _ => return None,
        };
        // PostgreSQL functions take OR REPLACE; MySQL's do not.
        let replace =
            replace || (c.kind == ObjectKind::Function && st.dialect == Dialect::Postgres);
        let name = c
            .name
            .as_ref()
            .map_or("", |n| n.text(&unit.source.text))
            .to_string();
        let table = if c.kind == ObjectKind::Trigger || c.kind == ObjectKind::Rule {
            c.table
                .as_ref()
                .filter(|_| st.dialect == Dialect::Postgres)
                .map(|t| format!(" ON {}", t.text(&unit.source.text)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let trigger_note = if c.kind == ObjectKind::Trigger && replace {
            " (PostgreSQL 14 or later; before that, drop it first)"
        } else {
            ""
        };
        Some(if replace {
            format!(
                "this migration runs again whenever it changes, and `IF NOT EXISTS` would keep the \
                 old definition: use `CREATE OR REPLACE {word} {name} ...`{trigger_note}"
            )
        } else {
            format!(
                "this migration runs again whenever it changes, and `IF NOT EXISTS` would keep the \
                 old definition: drop it first with `DROP {word} IF EXISTS {name}{table};`"
            )
        })
    }

    fn report_handled(&mut self, m: &Migration, part: &Part, handled: &[Handled]) {
        for h in handled {
            let dup = {
                let file = &self.unit(part).source.name;
                self.findings.iter().any(|o| {
                    o.rule == rules::replay_statement_skipped::META.id
                        && &o.file == file
                        && o.span == h.span
                })
            };
            if dup {
                continue;
            }
            let mut f = self.finding(
                m,
                part,
                h.stmt,
                Some(h.span.clone()),
                &rules::replay_statement_skipped::META,
                h.text.clone(),
            );
            f.help = h.help.clone();
            self.findings.push(f);
        }
    }

    /// A part (or its second run) the engine could not check, at its first
    /// statement.
    fn report_not_checked(&mut self, m: &Migration, part: &Part, message: String) {
        let stmt = self.first_statement(part);
        let f = self.finding(
            m,
            part,
            stmt,
            None,
            &rules::replay_statement_skipped::META,
            message,
        );
        self.findings.push(f);
    }

    /// What a failed part would have created (see [`created_names`]).
    fn created_by(&self, part: &Part) -> BTreeSet<String> {
        let unit = self.unit(part);
        let mut out = BTreeSet::new();
        for &i in &part.statements {
            if let Some(st) = unit.statements.get(i) {
                created_names(&st.sql, &mut out);
            }
        }
        out
    }

    /// A first run that fails for want of what an earlier failed migration
    /// would have created is listed under that root, not reported again.
    /// Returns whether it was.
    fn follows_a_root(&mut self, part: &Part, f: &Failure) -> bool {
        let Some(object) = f.error.object.as_deref().map(str::to_ascii_lowercase) else {
            return false;
        };
        let Some(root) = self.roots.iter().rposition(|r| r.created.contains(&object)) else {
            return false;
        };
        let created = self.created_by(part);
        let unit = self.unit(part);
        let entry = serde_json::json!({
            "file": unit.source.name,
            "line": unit.source.line_col(f.at).0,
            "error": f.error.text(),
        });
        let r = &mut self.roots[root];
        r.created.extend(created);
        r.follow_on.push(entry);
        true
    }

    /// Adds to each root's finding the failures that follow from it.
    fn finish_roots(&mut self) {
        for r in std::mem::take(&mut self.roots) {
            let Some(f) = self.findings.get_mut(r.finding) else {
                continue;
            };
            let n = r.follow_on.len();
            if n > 0 {
                let mut shown: Vec<String> = r
                    .follow_on
                    .iter()
                    .take(FOLLOW_ON_SHOWN)
                    .map(|e| {
                        format!(
                            "{}:{} ({})",
                            e["file"].as_str().unwrap_or(""),
                            e["line"],
                            e["error"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                if n > FOLLOW_ON_SHOWN {
                    shown.push(format!("and {} more", n - FOLLOW_ON_SHOWN));
                }
                f.notes.push(format!(
                    "{n} later migration{} fail{} because this one did: {}",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "s" } else { "" },
                    shown.join("; ")
                ));
            }
            if let Some(ev) = f.evidence.as_mut().and_then(|e| e.as_object_mut()) {
                ev.insert("follow_on".into(), serde_json::Value::Array(r.follow_on));
            }
        }
    }

    fn report_failure(&mut self, m: &Migration, part: &Part, f: &Failure, run: Run) {
        let first = matches!(run, Run::First { .. } | Run::Start { .. })
            && f.error.kind == FailureKind::Error;
        if first && self.follows_a_root(part, f) {
            return;
        }
        let line = self.line_of(part, f.at);
        let text = f.error.text();
        let (rule, message) = match f.error.kind {
            FailureKind::Error => {
                let rule = match run {
                    Run::First { .. } | Run::DownFirst | Run::Start { .. } => {
                        &rules::first_run_error::META
                    }
                    Run::Second => &rules::second_run_error::META,
                    Run::DownSecond => &rules::down_second_run_error::META,
                };
                let message = match run {
                    Run::DownFirst => format!(
                        "down migration fails at line {line} on the state its up left: {text}"
                    ),
                    Run::Start { .. } => format!(
                        "migration applied as the starting state fails at line {line}: {text}"
                    ),
                    _ => format!("{} fails at line {line}: {text}", run.phrase()),
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
        if f.error.kind == FailureKind::Error {
            finding.help = Some(match run {
                // Whatever the run: the sandbox refused it, not the state.
                _ if f.error.class == ErrorClass::PermissionDenied => PERMISSION_HELP.into(),
                Run::First { .. } => "the migration must apply on the state the migrations \
                     before it leave: check the order of the files and the objects this \
                     statement needs"
                    .into(),
                Run::Start { .. } => "the migrations before the checked range are applied \
                     once to build the starting state: each must apply on the state the ones \
                     before it leave"
                    .into(),
                Run::DownFirst => "the down migration must apply right after its up: check \
                     the objects it drops or changes"
                    .into(),
                Run::Second | Run::DownSecond if self.renames(part, f.stmt) => {
                    match f.error.class {
                        // The new name is taken: `IF NOT EXISTS` is not the fix.
                        ErrorClass::AlreadyExists => "the first run already renamed it: guard \
                             the rename (`ALTER ... IF EXISTS ... RENAME` where the database has \
                             it, or check the catalog first), or let the migration tool's version \
                             table make sure it runs once"
                            .into(),
                        class => help_for(class, self.caps).into(),
                    }
                }
                Run::Second | Run::DownSecond => self
                    .rerun_create_help(m, part, f)
                    .unwrap_or_else(|| help_for(f.error.class, self.caps).into()),
            });
        }
        if run.stops_on_error() {
            finding.notes.push(match run {
                Run::DownFirst => {
                    "replay undid this down migration and did not check it further".to_string()
                }
                Run::First { partial: true } | Run::Start { partial: true } => {
                    "this migration runs outside a transaction: what ran before the failing \
                     statement stays applied, as in a real deploy, and replay went on with the \
                     next migration"
                        .to_string()
                }
                _ => "replay rolled this migration back, did not run the rest of it, and went \
                      on with the next migration"
                    .to_string(),
            });
        }
        if let (Run::First { .. }, FailureKind::Error) = (run, f.error.kind) {
            let before: Vec<&str> = self
                .gaps
                .iter()
                .filter(|(v, _)| {
                    crate::since::version_cmp(v, &m.version) != std::cmp::Ordering::Greater
                })
                .map(|(_, file)| file.as_str())
                .collect();
            match before.as_slice() {
                [] => {}
                [one] => finding.notes.push(format!(
                    "replay ran without a migration the tool runs before this one and twice \
                     cannot read ({one}): if it creates what this statement needs, the failure \
                     comes from its absence, not from this migration"
                )),
                [.., last] => finding.notes.push(format!(
                    "replay ran without {} migrations the tool runs before this one and twice \
                     cannot read (the last: {last}): if one of them creates what this statement \
                     needs, the failure comes from their absence, not from this migration",
                    before.len()
                )),
            }
        }
        if let Run::Start { .. } = run {
            finding.notes.push(
                m.start_note
                    .clone()
                    .unwrap_or_else(|| crate::model::APPLY_ONLY_NOTE.into()),
            );
        }
        if let Some(c) = &f.error.context {
            finding
                .notes
                .push(format!("context: {}", c.replace('\n', "; ")));
        }
        let (l, c) = self.unit(part).source.line_col(f.at);
        finding.evidence = Some(serde_json::json!({
            "engine": self.engine.id(),
            "error": f.error.message,
            "sqlstate": f.error.code,
            "timed_out": f.error.kind == FailureKind::Timeout,
            "position": {"line": l, "column": c},
            "context": f.error.context,
        }));
        if rule.id == rules::first_run_error::META.id {
            // The later first-run failures that follow from this one (see
            // `finish_roots`).
            if let Some(ev) = finding.evidence.as_mut().and_then(|e| e.as_object_mut()) {
                ev.insert("follow_on".into(), serde_json::Value::Array(Vec::new()));
            }
        }
        self.findings.push(finding);
        if first {
            let created = self.created_by(part);
            self.roots.push(Root {
                finding: self.findings.len() - 1,
                created,
                follow_on: Vec::new(),
            });
        }
    }

    /// Whether a second run of `part` could remove or rewrite rows: it has a
    /// statement other than `CREATE` (of any object), `ALTER TABLE` without
    /// a rename, and transaction, `PRAGMA` and `SET` statements. Parts that
    /// only create or add things skip the write between the runs (it costs
    /// a snapshot of each table the part names).
    fn may_destroy(&self, part: &Part) -> bool {
        use crate::classify::{AlterOp, Kind};
        let unit = self.unit(part);
        part.statements
            .iter()
            .filter_map(|&i| unit.statements.get(i))
            .any(|s| match &s.facts.kind {
                Kind::Create(_) | Kind::Transaction(_) | Kind::Pragma(_) | Kind::Set(_) => false,
                Kind::AlterTable(a) => a
                    .actions
                    .iter()
                    .any(|act| matches!(act.op, AlterOp::RenameTo { .. })),
                _ => true,
            })
    }

    /// Lower-case bare names the statements of `part` mention (a superset of
    /// the tables it touches), for [`Engine::interleave`].
    fn names_in(&self, part: &Part) -> BTreeSet<String> {
        let unit = self.unit(part);
        let text = &unit.source.text;
        let mut out = BTreeSet::new();
        for &i in &part.statements {
            let Some(st) = unit.statements.get(i) else {
                continue;
            };
            for t in &st.tokens {
                if matches!(
                    t.kind,
                    crate::lexer::TokenKind::Word | crate::lexer::TokenKind::QuotedIdent
                ) {
                    let w = text.get(t.span.clone()).unwrap_or("");
                    let w = w.trim_matches(|c| matches!(c, '"' | '`' | '[' | ']'));
                    out.insert(w.to_ascii_lowercase());
                }
            }
        }
        out
    }

    /// Reports what the second run did to the rows written since the first
    /// run: `second-run-data-loss` for rows it removed or values it put
    /// back, `second-run-overwrites` for values an upsert of the
    /// migration's own rows put back (see [`super::interleave`]).
    fn report_interleaved(
        &mut self,
        m: &Migration,
        part: &Part,
        obs: &Observation,
        written: &BTreeMap<String, Written>,
    ) {
        for (table, w) in written {
            // A table the second run did not touch kept everything.
            let Some((name, after)) = obs
                .data_after
                .iter()
                .find(|(t, _)| t.eq_ignore_ascii_case(table))
            else {
                continue;
            };
            let Some(fates) = w.fates(after.as_ref()) else {
                continue;
            };
            let lost: Vec<&il::WrittenRow> = w
                .rows
                .iter()
                .zip(&fates)
                .filter(|(_, f)| **f == Fate::Lost)
                .map(|(r, _)| r)
                .collect();
            // A value an UPDATE computes from other data (an aggregate, a
            // backfill from other columns) comes back when that data did not
            // change: a recomputation, not a reset. Only values the part's
            // UPDATEs set to constants, or that a reload or upsert writes,
            // count as put back.
            let computed = if lost.is_empty() && self.remover(part, table).is_none() {
                self.computed_columns(part, table)
            } else {
                BTreeSet::new()
            };
            let reverted: Vec<(&il::WrittenRow, &Vec<String>, &il::RowMap)> = w
                .rows
                .iter()
                .zip(&fates)
                .filter_map(|(r, f)| match f {
                    Fate::Reverted { columns, after }
                        if !columns.iter().all(|c| computed.contains(c)) =>
                    {
                        Some((r, columns, after))
                    }
                    _ => None,
                })
                .collect();
            if lost.is_empty() && reverted.is_empty() {
                continue;
            }
            let writers = self.table_writers(part, obs, name);
            // Values put back while every row is still there, by a write of
            // the migration's own rows by key (an upsert of a fixed row, an
            // UPDATE with a WHERE): the weaker case. An UPDATE of every row
            // (a reset) or a table emptied on the way is the strong one.
            let upsert = writers
                .iter()
                .copied()
                .find(|&i| self.write_kind(part, i) == WriteKind::ByKey);
            let resets = writers
                .iter()
                .any(|&i| self.write_kind(part, i) == WriteKind::EveryRow);
            let weak = lost.is_empty() && !resets && upsert.is_some();
            let (overwritten, loss_reverted): (Vec<_>, Vec<_>) =
                reverted.into_iter().partition(|_| weak);
            let added = w.rows.iter().filter(|r| r.before.is_none()).count();
            let changed = w.rows.len() - added;
            if !lost.is_empty() || !loss_reverted.is_empty() {
                let stmt = self
                    .destroyer(part, table)
                    .or_else(|| writers.first().copied())
                    .unwrap_or_else(|| self.first_statement(part));
                let mut what = Vec::new();
                let lost_added = lost.iter().filter(|r| r.before.is_none()).count();
                let put_back = lost.len() - lost_added + loss_reverted.len();
                let plural = |n: usize, one: &str, many: &str| {
                    if n == 1 {
                        format!("{n} {one}")
                    } else {
                        format!("{n} {many}")
                    }
                };
                if lost_added > 0 {
                    what.push(format!(
                        "{} of the {added} added since {} gone",
                        plural(lost_added, "row", "rows"),
                        if lost_added == 1 { "is" } else { "are" }
                    ));
                }
                if put_back > 0 {
                    what.push(format!(
                        "{} of the {changed} changed since {} back to {} value before",
                        plural(put_back, "row", "rows"),
                        if put_back == 1 { "is" } else { "are" },
                        if put_back == 1 { "its" } else { "their" }
                    ));
                }
                let message = format!(
                    "second run destroys data written since the first run in `{table}`: {}",
                    what.join("; ")
                );
                let rule = &rules::second_run_data_loss::META;
                let mut f = self.finding(m, part, stmt, None, rule, message);
                f.notes.push(
                    "between the two runs replay wrote to the table as an application would \
                     (new rows, new values in an existing row); a re-run in production meets \
                     such rows"
                        .into(),
                );
                let mut sample: Vec<String> = lost
                    .iter()
                    .take(3)
                    .map(|r| format!("lost: {}", il::row_text(&r.values)))
                    .collect();
                sample.extend(
                    loss_reverted
                        .iter()
                        .take(3)
                        .map(|(r, cols, now)| reverted_text(r, cols, now)),
                );
                f.notes
                    .push(format!("rows of {table}:\n{}", sample.join("\n")));
                self.note_other_writers(part, &mut f, &writers, stmt);
                f.help = Some(self.loss_help(part, stmt).into());
                f.evidence = Some(serde_json::json!({
                    "table": table,
                    "lost": lost.iter().map(|r| il::row_json(&r.values)).collect::<Vec<_>>(),
                    "reverted": loss_reverted
                        .iter()
                        .map(|(r, cols, now)| reverted_json(r, cols, now))
                        .collect::<Vec<_>>(),
                    "statements": self.statements_json(part, &writers),
                }));
                self.findings.push(f);
            }
            if let (Some(stmt), false) = (upsert, overwritten.is_empty()) {
                let columns: BTreeSet<&String> =
                    overwritten.iter().flat_map(|(_, c, _)| c.iter()).collect();
                let message = format!(
                    "second run puts back {} in {} row{} of `{table}` changed since the first \
                     run: the migration writes its own value again",
                    columns
                        .into_iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    overwritten.len(),
                    if overwritten.len() == 1 { "" } else { "s" }
                );
                let rule = &rules::second_run_overwrites::META;
                let mut f = self.finding(m, part, stmt, None, rule, message);
                f.notes.push(format!(
                    "rows of {table}:\n{}",
                    overwritten
                        .iter()
                        .take(3)
                        .map(|(r, cols, now)| reverted_text(r, cols, now))
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
                f.help = Some(
                    "if the application may change this value, insert the row only when it is \
                     missing: `ON CONFLICT (key) DO NOTHING` (MySQL `INSERT IGNORE`, SQLite \
                     `INSERT OR IGNORE`), and update it only while it holds the old value \
                     (`UPDATE ... WHERE key = ... AND value = <old>`); keep `DO UPDATE` for \
                     values the migration owns"
                        .into(),
                );
                f.evidence = Some(serde_json::json!({
                    "table": table,
                    "reverted": overwritten
                        .iter()
                        .map(|(r, cols, now)| reverted_json(r, cols, now))
                        .collect::<Vec<_>>(),
                    "statements": self.statements_json(part, &[stmt]),
                }));
                self.findings.push(f);
            }
        }
    }

    /// The statements of `part` that removed or wrote rows of `table`, in
    /// order: those that wrote rows and those that dropped, created or
    /// altered the table.
    fn table_writers(&self, part: &Part, obs: &Observation, table: &str) -> Vec<usize> {
        let bare = |n: &str| n.rsplit('.').next().unwrap_or(n).to_ascii_lowercase();
        let mut out: Vec<usize> = obs.writers.get(table).cloned().unwrap_or_default();
        for (k, w) in &obs.schema_writers {
            if k.kind == "table" && bare(&k.name) == bare(table) {
                out.extend(w);
            }
        }
        out.retain(|i| part.statements.contains(i));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The first statement of `part` that removes the rows of `table`
    /// (`DROP TABLE`, `DELETE` without `WHERE`, `TRUNCATE`), as the statement
    /// classifier reads them.
    fn remover(&self, part: &Part, table: &str) -> Option<usize> {
        use crate::classify::Kind;
        let bare = table.rsplit('.').next().unwrap_or(table);
        let is = |n: &crate::classify::Name| n.object().eq_ignore_ascii_case(bare);
        let unit = self.unit(part);
        part.statements.iter().copied().find(|&i| {
            unit.statements.get(i).is_some_and(|s| match &s.facts.kind {
                Kind::Drop(d) => d.kind.is_table() && d.names.iter().any(is),
                Kind::Delete(d) => !d.has_where && d.table.as_ref().is_some_and(is),
                Kind::Truncate(names) => names.iter().any(is),
                _ => false,
            })
        })
    }

    /// The statement a lost row or a value put back is attributed to, the
    /// same on every engine: the [`Self::remover`], else the first `UPDATE`
    /// of every row of `table`.
    fn destroyer(&self, part: &Part, table: &str) -> Option<usize> {
        use crate::classify::Kind;
        let bare = table.rsplit('.').next().unwrap_or(table);
        let unit = self.unit(part);
        self.remover(part, table).or_else(|| {
            part.statements.iter().copied().find(|&i| {
                unit.statements.get(i).is_some_and(|s| {
                    matches!(&s.facts.kind, Kind::Update(u)
                        if u.table.as_ref().is_some_and(|n| n.object().eq_ignore_ascii_case(bare)))
                }) && self.write_kind(part, i) == WriteKind::EveryRow
            })
        })
    }

    /// The help line of a `second-run-data-loss` at statement `stmt`.
    fn loss_help(&self, part: &Part, stmt: usize) -> &'static str {
        use crate::classify::Kind;
        match self.unit(part).statements.get(stmt).map(|s| &s.facts.kind) {
            Some(Kind::Drop(_)) => {
                "keep the table: `CREATE TABLE IF NOT EXISTS` instead of DROP + CREATE, \
                 `ALTER TABLE` to change its shape instead of a new table swapped in, and fixed \
                 rows inserted with `INSERT ... ON CONFLICT DO NOTHING`"
            }
            Some(Kind::Delete(_) | Kind::Truncate(_)) => {
                "keep the rows that are there: insert the fixed rows only when missing \
                 (`INSERT ... ON CONFLICT DO NOTHING`; MySQL `INSERT IGNORE`, SQLite `INSERT OR \
                 IGNORE`) instead of emptying the table and loading it again"
            }
            Some(Kind::Update(_)) => {
                "change a value only while it holds the old one (`UPDATE ... SET col = <new> \
                 WHERE col = <old>`), so a second run leaves what the application wrote since"
            }
            _ => {
                "keep what is there: `CREATE TABLE IF NOT EXISTS` instead of DROP + CREATE, \
                 `INSERT ... ON CONFLICT DO NOTHING` instead of emptying the table and loading \
                 it again, and updates that change a value only while it holds the old one"
            }
        }
    }

    /// Columns of `table` that the part's UPDATEs set only to values
    /// computed from other data: an expression with a
    /// column reference or a subquery (lower case). A column some statement
    /// sets to a constant is not one.
    fn computed_columns(&self, part: &Part, table: &str) -> BTreeSet<String> {
        use crate::classify::Kind;
        let bare = table.rsplit('.').next().unwrap_or(table);
        let unit = self.unit(part);
        let mut computed = BTreeSet::new();
        let mut constant = BTreeSet::new();
        for st in part
            .statements
            .iter()
            .filter_map(|&i| unit.statements.get(i))
        {
            // An upsert's DO UPDATE writes the inserted row's values
            // (`excluded.value`): those count as constants.
            let Kind::Update(u) = &st.facts.kind else {
                continue;
            };
            let (target, assigns) = (u.table.as_ref(), &u.assignments);
            if !target.is_some_and(|n| n.object().eq_ignore_ascii_case(bare)) {
                continue;
            }
            for a in assigns {
                let set = if is_constant(&unit.source.text, &st.tokens, a.value.clone()) {
                    &mut constant
                } else {
                    &mut computed
                };
                set.extend(a.columns.iter().map(|c| c.to_ascii_lowercase()));
            }
        }
        computed.retain(|c| !constant.contains(c));
        computed
    }

    /// How statement `stmt` writes rows (see [`WriteKind`]).
    fn write_kind(&self, part: &Part, stmt: usize) -> WriteKind {
        let unit = self.unit(part);
        let Some(st) = unit.statements.get(stmt) else {
            return WriteKind::Other;
        };
        let words: Vec<String> = st
            .tokens
            .iter()
            .filter(|t| t.kind == crate::lexer::TokenKind::Word)
            .map(|t| {
                unit.source
                    .text
                    .get(t.span.clone())
                    .unwrap_or("")
                    .to_ascii_uppercase()
            })
            .collect();
        let has = |seq: &[&str]| words.windows(seq.len()).any(|w| w == seq);
        match words.first().map(String::as_str) {
            Some("REPLACE" | "MERGE") => WriteKind::ByKey,
            Some("INSERT")
                if has(&["OR", "REPLACE"])
                    || has(&["DUPLICATE", "KEY", "UPDATE"])
                    || (has(&["ON", "CONFLICT"]) && has(&["DO", "UPDATE"])) =>
            {
                WriteKind::ByKey
            }
            Some("UPDATE") if has(&["WHERE"]) => WriteKind::ByKey,
            Some("UPDATE") => WriteKind::EveryRow,
            _ => WriteKind::Other,
        }
    }

    /// Reports schema and data changes (and sequence moves) a second run
    /// made.
    fn report_changes(&mut self, m: &Migration, part: &Part, obs: &Observation, run: Run) {
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
        if let Some(d) = diff::schema_diff(&obs.schema_before, &obs.schema_after, old, new) {
            // One finding per statement that made the changes.
            let fallback = self.first_statement(part);
            let mut groups: BTreeMap<usize, Vec<&ObjectKey>> = BTreeMap::new();
            for (k, _) in &d.objects {
                let stmt = obs
                    .schema_writers
                    .get(k)
                    .and_then(|w| {
                        w.iter()
                            .copied()
                            .filter(|i| part.statements.contains(i))
                            .min()
                    })
                    .unwrap_or(fallback);
                groups.entry(stmt).or_default().push(k);
            }
            for (stmt, keys) in groups {
                let pick = |img: &SchemaImage| -> SchemaImage {
                    keys.iter()
                        .filter_map(|k| img.get(*k).map(|v| ((*k).clone(), v.clone())))
                        .collect()
                };
                let Some(g) = diff::schema_diff(
                    &pick(&obs.schema_before),
                    &pick(&obs.schema_after),
                    old,
                    new,
                ) else {
                    continue;
                };
                let mut writers: Vec<usize> = keys
                    .iter()
                    .filter_map(|k| obs.schema_writers.get(*k))
                    .flatten()
                    .copied()
                    .collect();
                writers.sort_unstable();
                writers.dedup();
                let message = format!("{} changes the schema: {}", run.phrase(), g.summary());
                let mut f = self.finding(m, part, stmt, None, schema_rule, message);
                f.notes
                    .push(format!("schema diff:\n{}", g.unified.trim_end()));
                self.note_other_writers(part, &mut f, &writers, stmt);
                f.help = Some(
                    "make the statement converge: guard it so that a second run leaves the \
                     schema as the first run did"
                        .into(),
                );
                f.evidence = Some(schema_evidence(&g));
                self.findings.push(f);
            }
        }
        let mut changed_tables = BTreeSet::new();
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
            changed_tables.insert(table.clone());
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
                obj.insert("statements".into(), self.statements_json(part, &writers));
            }
            f.evidence = Some(ev);
            self.findings.push(f);
        }
        // Sequences that moved while no row of their table changed
        // (sequences outside transactions: the engine put them back).
        for (name, mv) in &obs.sequences {
            if mv.before == mv.after
                || mv
                    .table
                    .as_ref()
                    .is_some_and(|t| changed_tables.contains(t))
            {
                continue;
            }
            let stmt = mv
                .writers
                .first()
                .copied()
                .unwrap_or_else(|| self.first_statement(part));
            let shown = |v: Option<i64>| v.map_or_else(|| "unused".to_string(), |v| v.to_string());
            let message = format!(
                "{} advances sequence {name} (last value {} -> {}) without changing any row{}",
                run.phrase(),
                shown(mv.before),
                shown(mv.after),
                mv.table
                    .as_ref()
                    .map(|t| format!(" of {t}"))
                    .unwrap_or_default()
            );
            let mut f = self.finding(
                m,
                part,
                stmt,
                None,
                &rules::second_run_sequence_advance::META,
                message,
            );
            f.help = Some(
                "usually harmless (ids get gaps); to avoid it, skip the INSERT when the row \
                 exists (INSERT ... SELECT ... WHERE NOT EXISTS) instead of relying on \
                 ON CONFLICT DO NOTHING"
                    .into(),
            );
            f.evidence = Some(serde_json::json!({
                "sequence": name,
                "table": mv.table,
                "before": mv.before,
                "after": mv.after,
            }));
            self.findings.push(f);
        }
    }

    fn statements_json(&self, part: &Part, stmts: &[usize]) -> serde_json::Value {
        let unit = self.unit(part);
        serde_json::Value::Array(
            stmts
                .iter()
                .filter_map(|&i| unit.statements.get(i))
                .map(|s| {
                    serde_json::json!({
                        "file": unit.source.name,
                        "line": unit.source.line_col(s.span.start).0,
                        "statement": s.index,
                    })
                })
                .collect(),
        )
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
            .filter(|i| down.statements.contains(i))
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

/// How a statement writes rows, for what putting back a value written
/// since the first run means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteKind {
    /// Rows it names by key: an upsert (`INSERT ... ON CONFLICT ... DO
    /// UPDATE`, `ON DUPLICATE KEY UPDATE`, `INSERT OR REPLACE`, `REPLACE`,
    /// `MERGE`) or an `UPDATE ... WHERE`.
    ByKey,
    /// `UPDATE` without `WHERE`: every row.
    EveryRow,
    Other,
}

/// Whether the tokens `range` of an expression hold no column reference
/// and no subquery: literals, operators, casts, function calls on those,
/// `NULL`, `TRUE`, `DEFAULT`, `CURRENT_TIMESTAMP` and the like.
fn is_constant(text: &str, tokens: &[crate::lexer::Token], range: Range<usize>) -> bool {
    use crate::lexer::TokenKind;
    let toks = tokens.get(range).unwrap_or(&[]);
    let word = |i: usize| -> String {
        toks.get(i)
            .filter(|t| t.kind == TokenKind::Word)
            .and_then(|t| text.get(t.span.clone()))
            .unwrap_or("")
            .to_ascii_uppercase()
    };
    let punct = |i: usize, p: &str| {
        toks.get(i)
            .is_some_and(|t| t.kind == TokenKind::Punct && text.get(t.span.clone()) == Some(p))
    };
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            TokenKind::QuotedIdent => return false,
            TokenKind::Word => {
                let w = word(i);
                let keyword = matches!(
                    w.as_str(),
                    "NULL"
                        | "TRUE"
                        | "FALSE"
                        | "DEFAULT"
                        | "CURRENT_TIMESTAMP"
                        | "CURRENT_DATE"
                        | "CURRENT_TIME"
                        | "LOCALTIMESTAMP"
                        | "LOCALTIME"
                        | "INTERVAL"
                        | "AS"
                        | "CAST"
                        | "AND"
                        | "OR"
                        | "NOT"
                );
                let function = punct(i + 1, "(") && w != "SELECT";
                // A type name: after `::`, or after AS in CAST(... AS type).
                let type_name = i > 0 && (punct(i - 1, "::") || word(i - 1) == "AS");
                if !(keyword || function || type_name) {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// The rows each table got between the runs.
fn written_tables(i: &Interleaved) -> BTreeMap<String, Written> {
    i.tables
        .iter()
        .filter_map(|(t, (pre, post))| Some((t.clone(), Written::between(pre, post)?)))
        .collect()
}

/// `col: 'x' (written since) -> 'y' (after the second run)` for a row whose
/// changed values were put back.
fn reverted_text(r: &il::WrittenRow, cols: &[String], now: &il::RowMap) -> String {
    let key: il::RowMap = if r.id.is_empty() {
        r.values.clone()
    } else {
        r.values
            .iter()
            .filter(|(c, _)| !cols.contains(c))
            .take(2)
            .map(|(c, v)| (c.clone(), v.clone()))
            .collect()
    };
    let changes: Vec<String> = cols
        .iter()
        .map(|c| {
            let shown = |m: &il::RowMap| m.get(c).map_or("NULL".to_string(), |v| v.to_string());
            format!(
                "{c}: {} written since, {} after the second run",
                shown(&r.values),
                shown(now)
            )
        })
        .collect();
    format!(
        "put back: row {}: {}",
        il::row_text(&key),
        changes.join("; ")
    )
}

fn reverted_json(r: &il::WrittenRow, cols: &[String], now: &il::RowMap) -> serde_json::Value {
    serde_json::json!({
        "row": il::row_json(&r.values),
        "columns": cols,
        "after": il::row_json(now),
    })
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

/// The help line of a statement refused for want of privileges
/// ([`ErrorClass::PermissionDenied`], SQLSTATE 42501), on any run: the
/// PostgreSQL engine runs migrations as a role of its own (see
/// [`super::postgres::roles`]).
pub const PERMISSION_HELP: &str = "replay runs migrations as a role that owns only the scratch \
     database and is not a superuser, so statements that reach outside it (running programs or \
     reading server files with COPY ... PROGRAM, pg_read_file, lo_export or pg_ls_dir, ALTER \
     SYSTEM, superuser roles, untrusted extensions) are refused; if a migration really needs \
     such a prerequisite, put it in a setup script (--setup FILE, or `setup` under [replay] in \
     twice.toml), which runs as the admin role before the first migration; a migration that \
     itself needs such rights (`ALTER TABLE ... DISABLE TRIGGER ALL` reaches the foreign-key \
     triggers, which only a superuser may) replays only on a disposable server given with \
     --database-url and --database-url-trusted, where it runs as that URL's role";

/// An actionable help line for a statement that fails on a re-run: one
/// table for every engine, by error class.
fn help_for(class: ErrorClass, caps: Caps) -> &'static str {
    match class {
        ErrorClass::PermissionDenied => PERMISSION_HELP,
        ErrorClass::AlreadyExists => {
            "use `IF NOT EXISTS` so that the statement does nothing when the object is already \
             there"
        }
        ErrorClass::DuplicateColumn if caps.add_column_if_not_exists => {
            "add the column only when missing: `ALTER TABLE ... ADD COLUMN IF NOT EXISTS`"
        }
        ErrorClass::DuplicateColumn => {
            "SQLite has no `ADD COLUMN IF NOT EXISTS`: create the table in its final shape with \
             `CREATE TABLE IF NOT EXISTS`, or make the migration tool record the migration as \
             applied in the same transaction"
        }
        ErrorClass::DuplicateEnumValue => {
            "add the value only when missing: `ALTER TYPE ... ADD VALUE IF NOT EXISTS`"
        }
        ErrorClass::UniqueViolation => {
            "skip rows that are already there: `INSERT ... ON CONFLICT DO NOTHING` (SQLite also \
             has `INSERT OR IGNORE`)"
        }
        ErrorClass::UndefinedObject => {
            "use `IF EXISTS`, or guard the statement so that it does nothing when the first run \
             already removed or renamed the object"
        }
        ErrorClass::UndefinedColumn => {
            "the first run renamed or dropped this column: guard the statement or fold the change \
             into a table rebuild"
        }
        ErrorClass::Other => {
            "make the statement safe to run again, or make sure the migration tool records the \
             migration as applied in the same transaction"
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn constants_and_computed_values() {
        let constant = |sql: &str| {
            let toks: Vec<crate::lexer::Token> = crate::lexer::significant_tokens(
                sql,
                0..sql.len(),
                crate::dialect::Dialect::Postgres,
            );
            super::is_constant(sql, &toks, 0..toks.len())
        };
        for c in [
            "'active'",
            "0",
            "NULL",
            "DEFAULT",
            "datetime('now')",
            "'x'::text",
            "CAST(1 AS integer)",
            "CURRENT_TIMESTAMP",
        ] {
            assert!(constant(c), "{c}");
        }
        for c in [
            "first || ' ' || last",
            "(SELECT count(*) FROM users)",
            "price * 2",
            "\"label\"",
            "upper(code)",
        ] {
            assert!(!constant(c), "{c}");
        }
    }

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
