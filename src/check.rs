//! The pipeline: discover → split/parse → static rules and replay →
//! findings. Rendering is the caller's business.

use crate::analysis::Statement;
use crate::dialect::Dialect;
use crate::discover::{self, Input};
use crate::error::Result;
use crate::finding::{Finding, FindingBuilder, Origin, Severity};
use crate::model::Sequence;
use crate::rules::{self, Context};
use crate::source::SourceFile;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Everything `twice check` can be told.
#[derive(Clone, Debug)]
pub struct Options {
    /// `None`: what a folder name implies, else what the SQL is clearly written in, else sqlite.
    pub dialect: Option<Dialect>,
    pub layout: Option<crate::model::LayoutKind>,
    pub replay: bool,
    pub down: bool,
    pub seed: bool,
    pub timeout: Duration,
    pub defines: BTreeMap<String, String>,
    pub stdin_filename: Option<String>,
    pub engine: Engine,
    pub database_url: Option<String>,
    /// File contents to use instead of what is on disk, by path (as
    /// discovery reaches it): `--fix` checks its edits with them before
    /// writing anything.
    pub overlay: Option<std::sync::Arc<std::collections::HashMap<std::path::PathBuf, Vec<u8>>>>,
    /// `exclude` globs from twice.toml (see [`Options::excluded`]).
    pub exclude: Option<crate::config::Exclude>,
    /// `[rules]` levels from twice.toml, by rule id.
    pub rules: BTreeMap<String, crate::config::RuleLevel>,
}

/// Where replay runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// In-memory SQLite, sandboxed.
    Sqlite,
    /// A PostgreSQL server (`--database-url`) or a throwaway local cluster.
    Postgres,
}

impl Options {
    /// The bytes of `path`: from the overlay when it holds the path, else
    /// from disk.
    pub fn read_bytes(&self, path: &std::path::Path) -> std::io::Result<Vec<u8>> {
        if let Some(bytes) = self.overlay.as_ref().and_then(|o| o.get(path)) {
            return Ok(bytes.clone());
        }
        std::fs::read(path)
    }

    /// The overlay key for the script read from stdin: `--fix -` verifies
    /// its edits with the fixed script in place of stdin.
    pub const STDIN_OVERLAY: &'static str = "-";

    /// The fixed script to read instead of stdin, when `--fix` set one.
    pub fn stdin_overlay(&self) -> Option<Vec<u8>> {
        self.overlay
            .as_ref()
            .and_then(|o| o.get(std::path::Path::new(Self::STDIN_OVERLAY)))
            .cloned()
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dialect: None,
            layout: None,
            replay: true,
            down: true,
            seed: false,
            timeout: Duration::from_secs(5),
            defines: BTreeMap::new(),
            stdin_filename: None,
            engine: Engine::Sqlite,
            database_url: None,
            overlay: None,
            exclude: None,
            rules: BTreeMap::new(),
        }
    }
}

/// A file with its analysed statements.
#[derive(Debug)]
pub struct FileUnit {
    pub source: SourceFile,
    pub dialect: Dialect,
    pub statements: Vec<Statement>,
}

/// Everything read, analysed and ordered.
#[derive(Debug)]
pub struct Workspace {
    pub files: Vec<FileUnit>,
    pub sequences: Vec<Sequence>,
    pub notices: Vec<String>,
    /// Findings of discovery itself: `malformed-migration` (the migration
    /// tool would refuse the file) and `undefined-placeholder`.
    pub findings: Vec<Finding>,
    /// (file, statement) pairs holding an undefined `${placeholder}` where
    /// SQL code goes: their text cannot run as written, so replay should
    /// leave them out (see [`crate::placeholder`]).
    pub unresolved: BTreeSet<(usize, usize)>,
}

/// Counts for the summary line and the JSON `summary` object.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub files: usize,
    pub statements: usize,
    pub migrations: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// One entry per sequence: folder, layout and dialect.
    pub sequences: Vec<SequenceSummary>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SequenceSummary {
    pub root: String,
    pub layout: &'static str,
    pub dialect: &'static str,
    pub migrations: usize,
    /// "replayed", "skipped: <why>" or "off".
    pub replay: String,
}

/// The result of a check, ready to render.
#[derive(Debug, Default)]
pub struct Report {
    pub files: Vec<SourceFile>,
    /// Byte spans (without terminator) of each file's statements, parallel to
    /// `files`: `statements[i][s]` is statement `s` of `files[i]`. Renderers
    /// use them for code frames and stable fingerprints.
    pub statements: Vec<Vec<std::ops::Range<usize>>>,
    /// Sorted by file (in input order), then line, column and rule.
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// Notices for the user (skipped files, replay skipped, ...).
    pub notices: Vec<String>,
}

impl Report {
    pub fn file(&self, name: &str) -> Option<&SourceFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The byte span of statement `index` of the file named `name`.
    pub fn statement_span(&self, name: &str, index: usize) -> Option<std::ops::Range<usize>> {
        let i = self.files.iter().position(|f| f.name == name)?;
        self.statements.get(i)?.get(index).cloned()
    }

    /// The highest severity among findings.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Reads and analyses the inputs.
pub fn load(inputs: &[Input], opts: &Options) -> Result<Workspace> {
    // `--engine postgres` implies `--dialect postgres` unless one was given.
    let implied;
    let opts = if opts.engine == Engine::Postgres && opts.dialect.is_none() {
        implied = Options {
            dialect: Some(Dialect::Postgres),
            ..opts.clone()
        };
        &implied
    } else {
        opts
    };
    let mut d = discover::discover(inputs, opts)?;
    let a = discover::analyze(&mut d, opts);
    let files = d
        .files
        .into_iter()
        .zip(a.statements)
        .zip(a.dialects)
        .map(|((source, statements), dialect)| FileUnit {
            source,
            dialect,
            statements,
        })
        .collect();
    let mut notices = d.notices;
    notices.extend(opts.exclude_notices());
    Ok(Workspace {
        files,
        sequences: d.sequences,
        notices,
        findings: a.findings,
        unresolved: a.unresolved,
    })
}

/// Statements whose rules run before their parsed ASTs are dropped: the
/// rules parse INSERTs and UPDATEs, and a script of 200,000 INSERTs must not
/// keep 200,000 ASTs.
const AST_BATCH: usize = 256;

/// Runs the static rules on one file. The sqlparser ASTs the rules asked for
/// are dropped as it goes (they are parsed again if asked for later).
pub fn static_findings(unit: &mut FileUnit) -> Vec<Finding> {
    let mut out = Vec::new();
    let b = FindingBuilder { file: &unit.source };
    if unit.source.binary {
        out.push(b.at(
            "binary-file",
            Severity::Error,
            Origin::Static,
            0..0,
            "this file is binary (it holds NUL or control bytes), not SQL text".into(),
        ));
        return out;
    }
    let mut index = None;
    let mut start = 0;
    while start < unit.statements.len() {
        let end = (start + AST_BATCH).min(unit.statements.len());
        let cx = Context::with_index(&unit.source, unit.dialect, &unit.statements, index);
        for stmt in &unit.statements[start..end] {
            let before = out.len();
            for rule in rules::static_rules() {
                rule.check(&cx, stmt, &mut out);
            }
            for f in &mut out[before..] {
                f.statement.get_or_insert(stmt.index);
            }
        }
        index = cx.into_index();
        for stmt in &mut unit.statements[start..end] {
            stmt.forget_parse();
        }
        start = end;
    }
    out
}

/// The whole check: static rules on every file, replay on every sequence.
pub fn check(inputs: &[Input], opts: &Options) -> Result<Report> {
    let mut ws = load(inputs, opts)?;
    let mut findings = Vec::new();
    for (fi, unit) in ws.files.iter_mut().enumerate() {
        let mut found = static_findings(unit);
        // A statement that an undefined placeholder keeps from parsing is
        // reported by `undefined-placeholder` alone.
        found.retain(|f| {
            !f.statement.is_some_and(|s| {
                ws.unresolved.contains(&(fi, s))
                    && unit.statements.get(s).is_some_and(|st| st.ast().is_none())
            })
        });
        findings.extend(found);
    }
    findings.extend(ws.findings.iter().cloned());
    crate::fix::attach_insert_fixes(&ws, &mut findings);
    crate::fix::withdraw_stale_definition_fixes(&ws, &mut findings);
    let mut notices = ws.notices.clone();
    let mut sequences = Vec::new();
    let mut replayed = std::collections::BTreeSet::new();
    for seq in &ws.sequences {
        let replay = if opts.replay {
            match crate::replay::replay_sequence(&ws, seq, opts)? {
                crate::replay::Outcome::Replayed(f) => {
                    findings.extend(f);
                    replayed.extend(seq.migrations.iter().flat_map(|m| {
                        std::iter::once(m.up.file).chain(m.down.as_ref().map(|d| d.file))
                    }));
                    "replayed".to_string()
                }
                crate::replay::Outcome::Skipped(why) => {
                    notices.push(format!("{}: replay skipped: {why}", seq.root));
                    format!("skipped: {why}")
                }
                crate::replay::Outcome::Stopped {
                    findings: f,
                    reason,
                } => {
                    findings.extend(f);
                    notices.push(format!("{}: {reason}", seq.root));
                    format!("stopped: {reason}")
                }
            }
        } else {
            "off".to_string()
        };
        sequences.push(SequenceSummary {
            root: seq.root.clone(),
            layout: seq.layout.name(),
            dialect: seq.dialect.name(),
            migrations: seq.migrations.len(),
            replay,
        });
    }
    let mut findings = crate::suppress::apply(&ws, findings, &|f| replayed.contains(&f));
    opts.apply_rule_levels(&mut findings);
    let file_order: BTreeMap<&str, usize> = ws
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.source.name.as_str(), i))
        .collect();
    findings.sort_by(|a, b| {
        let fa = file_order
            .get(a.file.as_str())
            .copied()
            .unwrap_or(usize::MAX);
        let fb = file_order
            .get(b.file.as_str())
            .copied()
            .unwrap_or(usize::MAX);
        (fa, a.line, a.column, a.source, &a.rule).cmp(&(fb, b.line, b.column, b.source, &b.rule))
    });
    add_rerun_notes(&ws, &mut findings);
    link_related(&mut findings);
    let summary = Summary {
        files: ws.files.len(),
        statements: ws.files.iter().map(|f| f.statements.len()).sum(),
        migrations: ws.sequences.iter().map(|s| s.migrations.len()).sum(),
        errors: count(&findings, Severity::Error),
        warnings: count(&findings, Severity::Warning),
        infos: count(&findings, Severity::Info),
        sequences,
    };
    let statements = ws
        .files
        .iter()
        .map(|f| f.statements.iter().map(|s| s.span.clone()).collect())
        .collect();
    Ok(Report {
        files: ws.files.into_iter().map(|f| f.source).collect(),
        statements,
        findings,
        summary,
        notices,
    })
}

fn count(f: &[Finding], s: Severity) -> usize {
    f.iter().filter(|f| f.severity == s).count()
}

/// Findings in migrations that their tool re-runs by design (Flyway
/// repeatables, Liquibase `runOnChange`/`runAlways`) say so.
fn add_rerun_notes(ws: &Workspace, findings: &mut [Finding]) {
    let mut notes: BTreeMap<(&str, usize), &str> = BTreeMap::new();
    for seq in &ws.sequences {
        for m in &seq.migrations {
            let Some(note) = &m.rerun_note else { continue };
            let Some(unit) = ws.files.get(m.up.file) else {
                continue;
            };
            for &s in &m.up.statements {
                notes.insert((unit.source.name.as_str(), s), note.as_str());
            }
        }
    }
    for f in findings {
        if let Some(n) = f.statement.and_then(|s| notes.get(&(f.file.as_str(), s))) {
            // Replay adds the note to its own findings already.
            if !f.notes.iter().any(|x| x == n) {
                f.notes.push(n.to_string());
            }
        }
    }
}

/// Links static and replay findings about the same statement both ways.
fn link_related(findings: &mut [Finding]) {
    let mut by_stmt: BTreeMap<(String, usize), Vec<usize>> = BTreeMap::new();
    for (i, f) in findings.iter().enumerate() {
        if let Some(s) = f.statement {
            by_stmt.entry((f.file.clone(), s)).or_default().push(i);
        }
    }
    for group in by_stmt.values() {
        for &i in group {
            let others: Vec<usize> = group
                .iter()
                .copied()
                .filter(|&j| j != i && findings[j].source != findings[i].source)
                .collect();
            findings[i].related = others;
        }
    }
}
