//! `twice plan`: what twice read, without running anything. For each
//! sequence: its root, the layout and why, the dialect and what decided it,
//! the replay engine, and the migrations in run order with their up and down
//! parts and transaction mode; then the files skipped (with the reason), the
//! other notices, and what discovery found (`malformed-migration`: what a
//! migration tool would refuse; `undefined-placeholder`).
//!
//! The JSON document (`twice plan --format json`) is:
//! ```json
//! {
//!   "version": 1,
//!   "sequences": [{
//!     "root": "db/migrations", "layout": "goose", "layout_reason": "...",
//!     "dialect": "postgres", "dialect_reason": "...",
//!     "engine": "postgres" | null, "engine_reason": "..." (when null),
//!     "setup": "db/prereqs.sql" (only when configured, or the layout's
//!                               stand-in for its platform),
//!     "schemas": {"names": ["app"], "from": "flyway.schemas in ../flyway.conf",
//!                 "replay": "..."} (only when the tool's settings name schemas
//!                 it creates before migrating),
//!     "unwrapped": "..." (only when the tool would wrap each migration in a
//!                 transaction and was told not to: golang-migrate's SQLite
//!                 drivers with `NoTxWrap`),
//!     "migrations": [{
//!       "version": "1", "name": "create_users",
//!       "up": {"file": "...", "lines": [2, 9], "statements": 3, "transaction": true},
//!       ("transaction": the tool runs the part in a transaction of its own;
//!       false for a part marked to run outside one and for every part of a
//!       tool that opens none: golang-migrate, Prisma, plain folders)
//!       "down": {...} | null,
//!       "rerun": "..." (only for migrations the tool re-runs),
//!       "starting_state": "..." (only for a full schema a layout applies first)
//!     }]
//!   }],
//!   "skipped": [{"path": "...", "reason": "..."}],
//!   "notices": ["..."],
//!   "problems": [{"file": "...", "line": 1, "message": "..."}]
//! }
//! ```

use crate::dialect::Dialect;
use crate::model::Part;
use crate::options::{Engine, Options};
use crate::report::Workspace;
use serde::Serialize;
use std::io::{self, Write};

/// The whole plan document.
#[derive(Debug, Serialize)]
pub struct PlanDoc {
    pub version: u32,
    pub sequences: Vec<SequencePlan>,
    pub skipped: Vec<Skipped>,
    pub notices: Vec<String>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Serialize)]
pub struct SequencePlan {
    pub root: String,
    pub layout: &'static str,
    pub layout_reason: String,
    pub dialect: &'static str,
    pub dialect_reason: String,
    /// The engine replay would use, `None` when the sequence cannot be
    /// replayed (then `engine_reason` says why).
    pub engine: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<String>,
    /// The schemas the tool creates before it migrates (Flyway's `schemas`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schemas: Option<SchemasPlan>,
    /// Why the tool runs the migrations in no transaction of its own
    /// although it wraps each in one by default (golang-migrate's SQLite
    /// drivers told `NoTxWrap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unwrapped: Option<String>,
    pub migrations: Vec<MigrationPlan>,
}

#[derive(Debug, Serialize)]
pub struct SchemasPlan {
    pub names: Vec<String>,
    /// Where the setting was read.
    pub from: String,
    /// What replay does with them on its engine.
    pub replay: String,
}

/// What replay on `engine` does with the tool's schemas `names`.
fn schemas_replay(names: &[String], engine: Option<&str>) -> String {
    let first = names.first().map_or("", String::as_str);
    match engine {
        Some("postgres") => format!(
            "created before the first migration (CREATE SCHEMA IF NOT EXISTS, as the migration \
             role), {first} first on the search_path"
        ),
        Some("mysql") if names.len() > 1 => format!(
            "{first} is the database replay runs in; the others are not created (the migration \
             user may use the scratch database only)"
        ),
        Some("mysql") => format!("{first} is the database replay runs in"),
        Some(_) => "nothing to create: SQLite has no schemas".into(),
        None => "not replayed".into(),
    }
}

#[derive(Debug, Serialize)]
pub struct MigrationPlan {
    pub version: String,
    pub name: String,
    pub up: PartPlan,
    pub down: Option<PartPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerun: Option<String>,
    /// Why the layout made the migration the starting state (a full schema
    /// snapshot): applied once, not audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_state: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PartPlan {
    pub file: String,
    /// First and last line (1-based) of the part's text; `None` for an
    /// empty part.
    pub lines: Option<[usize; 2]>,
    pub statements: usize,
    /// The tool runs it inside a transaction of its own (`false`: goose
    /// `NO TRANSACTION`, sql-migrate `notransaction`, ...; and every part of
    /// a tool that runs no transaction: golang-migrate, Prisma, plain
    /// folders).
    pub transaction: bool,
    /// Marked to run outside a transaction (`NO TRANSACTION`,
    /// `CONCURRENTLY`, ...), as against a tool that wraps nothing.
    #[serde(skip)]
    pub no_transaction: bool,
}

#[derive(Debug, Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// The engine replay would use for a sequence of `dialect`, or why none
/// (the table `check` reads, [`crate::replay::engine_for`]).
fn engine_for(dialect: Dialect, opts: &Options) -> (Option<&'static str>, Option<String>) {
    match crate::replay::engine_for(dialect, opts) {
        Ok(Engine::Postgres) => (Some("postgres"), None),
        Ok(Engine::Mysql) => (Some("mysql"), None),
        Ok(Engine::Sqlite | Engine::Auto) => (Some("sqlite"), None),
        Err(why) => (None, Some(why)),
    }
}

fn part_plan(ws: &Workspace, p: &Part) -> PartPlan {
    let unit = &ws.files[p.file];
    let lines = match (p.regions.first(), p.regions.last()) {
        (Some(a), Some(b)) => {
            let text = &unit.source.text;
            // Trim blank lines around the part, so the range shows its text.
            let start = a.range.start
                + text
                    .get(a.range.clone())
                    .map_or(0, |t| t.len() - t.trim_start().len());
            // And what follows its last statement: comments before the next
            // part, such as a Liquibase changeset's `--rollback` lines,
            // which are the down's.
            let last = p
                .statements
                .last()
                .and_then(|&i| unit.statements.get(i))
                .map(|s| s.terminator.as_ref().map_or(s.span.end, |t| t.end));
            let end = match last {
                Some(last) if last > start => b.range.end.min(last),
                _ => b.range.end,
            };
            let end = end.max(start);
            let end = start + text.get(start..end).map_or(0, |t| t.trim_end().len());
            let (first, _) = unit.source.line_col(start);
            let (last, _) = unit.source.line_col(end.saturating_sub(1).max(start));
            (end > start).then_some([first, last])
        }
        _ => None,
    };
    PartPlan {
        file: unit.source.name.clone(),
        lines,
        statements: p.statements.len(),
        transaction: p.tool_transaction,
        no_transaction: p.no_transaction,
    }
}

/// Builds the plan of a loaded workspace, with each sequence's setup script
/// as `--setup` or `twice.toml` names it.
pub fn build(ws: &Workspace, opts: &Options) -> PlanDoc {
    let sequences = ws
        .sequences
        .iter()
        .map(|seq| {
            let (engine, engine_reason) = match ws.foreign.get(&seq.root) {
                // Written in a dialect twice does not support: check
                // replays none of it (the notice says which).
                Some(family) => (
                    None,
                    Some(format!(
                        "written in {}, which twice cannot replay",
                        family.title()
                    )),
                ),
                None => engine_for(seq.dialect, opts),
            };
            SequencePlan {
                root: seq.root.clone(),
                layout: seq.layout.name(),
                layout_reason: seq.layout_why.clone(),
                dialect: seq.dialect.name(),
                dialect_reason: seq.dialect_why.clone(),
                engine,
                engine_reason,
                // The setup script given, else the layout's stand-in for
                // its platform where replay would run it.
                setup: crate::replay::setup::chosen(opts, seq)
                    .map(|s| crate::source::display_path(&s.path))
                    .or_else(|| {
                        (engine == Some("postgres"))
                            .then(|| crate::replay::setup::platform(opts, seq))
                            .flatten()
                            .map(|s| s.name)
                    }),
                unwrapped: seq.unwrapped.clone(),
                schemas: seq.schemas.as_ref().map(|t| SchemasPlan {
                    names: t.names.clone(),
                    from: t.from.clone(),
                    replay: schemas_replay(&t.names, engine),
                }),
                migrations: seq
                    .migrations
                    .iter()
                    .map(|m| MigrationPlan {
                        version: m.version.clone(),
                        name: m.name.clone(),
                        up: part_plan(ws, &m.up),
                        down: m.down.as_ref().map(|d| part_plan(ws, d)),
                        rerun: m.rerun_note.clone(),
                        starting_state: m.start_note.clone().filter(|_| m.apply_only),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut skipped = Vec::new();
    let mut notices = Vec::new();
    for n in &ws.notices {
        match n.split_once(": skipped: ") {
            Some((path, reason)) => skipped.push(Skipped {
                path: path.to_string(),
                reason: reason.to_string(),
            }),
            None => notices.push(n.clone()),
        }
    }
    let problems = ws
        .findings
        .iter()
        .map(|f| Problem {
            file: f.file.clone(),
            line: f.line,
            message: format!("[{}] {}", f.rule, f.message),
        })
        .collect();
    PlanDoc {
        version: 1,
        sequences,
        skipped,
        notices,
        problems,
    }
}

/// A part's line. `ddl_commits`: the dialect commits each DDL statement at
/// once (MySQL), so "in a transaction" holds for its other statements only.
/// `unwrapped`: the tool was told to open none (see `transactions:`).
fn part_line(label: &str, p: &PartPlan, ddl_commits: bool, unwrapped: bool) -> String {
    let lines = match p.lines {
        Some([a, b]) if a == b => format!(" line {a},"),
        Some([a, b]) => format!(" lines {a}-{b},"),
        None => " (empty),".into(),
    };
    format!(
        "{label}{}{lines} {} statement{}, {}",
        p.file,
        p.statements,
        if p.statements == 1 { "" } else { "s" },
        if p.transaction && ddl_commits {
            "in a transaction, but each DDL statement commits at once on MySQL (a failure keeps \
             what ran before it)"
        } else if p.transaction {
            "in a transaction"
        } else if p.no_transaction {
            "outside a transaction"
        } else if unwrapped {
            "in no transaction (the tool is told to open none: see transactions above)"
        } else {
            "in no transaction (the tool opens none)"
        }
    )
}

/// The plan for people.
pub fn write_human(doc: &PlanDoc, out: &mut dyn Write) -> io::Result<()> {
    if doc.sequences.is_empty() {
        writeln!(out, "no migration sequences found")?;
    }
    for (i, s) in doc.sequences.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", s.root)?;
        writeln!(out, "  layout:  {} ({})", s.layout, s.layout_reason)?;
        writeln!(out, "  dialect: {} ({})", s.dialect, s.dialect_reason)?;
        match (s.engine, &s.engine_reason) {
            (Some(e), _) => writeln!(out, "  engine:  {e}")?,
            (None, Some(why)) => writeln!(out, "  engine:  none: static rules only ({why})")?,
            (None, None) => writeln!(out, "  engine:  none")?,
        }
        if let Some(setup) = &s.setup {
            writeln!(out, "  setup:   {setup}")?;
        }
        if let Some(t) = &s.schemas {
            writeln!(
                out,
                "  schemas: {} ({}): {}",
                t.names.join(", "),
                t.from,
                t.replay
            )?;
        }
        if let Some(why) = &s.unwrapped {
            writeln!(out, "  transactions: none: {why}")?;
        }
        writeln!(
            out,
            "  {} migration{}, in run order:",
            s.migrations.len(),
            if s.migrations.len() == 1 { "" } else { "s" }
        )?;
        let unwrapped = s.unwrapped.is_some();
        for m in &s.migrations {
            // A version that already ends in the name (a release folder's
            // `0.17/00__inbox`) is shown once.
            let label = if m.name.is_empty() || m.version.ends_with(&format!("/{}", m.name)) {
                m.version.clone()
            } else if m.version.is_empty() || m.name.starts_with(&m.version) {
                m.name.clone()
            } else {
                format!("{} {}", m.version, m.name)
            };
            writeln!(out, "    {label}")?;
            let ddl_commits = s.dialect == Dialect::Mysql.name();
            writeln!(
                out,
                "      {}",
                part_line("up:   ", &m.up, ddl_commits, unwrapped)
            )?;
            match &m.down {
                Some(d) => writeln!(
                    out,
                    "      {}",
                    part_line("down: ", d, ddl_commits, unwrapped)
                )?,
                None => writeln!(out, "      down: none")?,
            }
            if let Some(r) = &m.rerun {
                writeln!(out, "      rerun: {r}")?;
            }
            if let Some(r) = &m.starting_state {
                writeln!(out, "      starting state: {r}")?;
            }
        }
    }
    if !doc.skipped.is_empty() {
        writeln!(out, "\nskipped:")?;
        for s in &doc.skipped {
            writeln!(out, "  {}: {}", s.path, s.reason)?;
        }
    }
    if !doc.notices.is_empty() {
        writeln!(out, "\nnotices:")?;
        for n in &doc.notices {
            writeln!(out, "  {n}")?;
        }
    }
    if !doc.problems.is_empty() {
        writeln!(
            out,
            "\nfound while reading (malformed migrations, undefined placeholders):"
        )?;
        for p in &doc.problems {
            writeln!(out, "  {}:{}: {}", p.file, p.line, p.message)?;
        }
    }
    Ok(())
}
