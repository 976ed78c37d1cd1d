//! What the pipeline reads and produces: the [`Workspace`] (files, their
//! statements, the sequences discovery found) and the [`Report`] the
//! renderers print. A leaf: no stage of the pipeline is imported here.

use crate::analysis::Statement;
use crate::dialect::Dialect;
use crate::finding::{Finding, Severity};
use crate::model::Sequence;
use crate::source::SourceFile;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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
    /// Sequences (by root) written in a dialect twice does not support
    /// (T-SQL, Oracle, libSQL): static rules only, no replay.
    pub foreign: BTreeMap<String, crate::sniff::Family>,
    /// What the up migrations of every sequence create (lower-case bare
    /// names), each with the first (sequence, file) creating it: built once,
    /// when a replay first needs it (see `replay::algorithm::failures`).
    pub created_in: std::sync::OnceLock<BTreeMap<String, (usize, usize)>>,
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
    /// Findings not reported because the baseline (`--baseline`) accepts
    /// them; not counted in `errors`, `warnings` and `infos`.
    #[serde(skip_serializing_if = "is_zero")]
    pub baselined: usize,
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
    /// With `--engine auto`: the engine chosen for the sequence (`sqlite`,
    /// `postgres`, `mysql`), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<&'static str>,
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
    /// Findings the baseline accepts (see [`crate::baseline::apply`]): not
    /// reported, except as SARIF results with `baselineState: unchanged`.
    pub baselined: Vec<Finding>,
    /// The baseline file applied, as named to the user (SARIF marks results
    /// `new`/`unchanged` only when there is one).
    pub baseline: Option<String>,
    /// Files whose findings were not looked for (`--since`/`--from`: only
    /// migrations of the starting state use them), by name.
    pub not_audited: BTreeSet<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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

    /// Counts the findings by severity again (after some were removed).
    pub fn recount(&mut self) {
        self.summary.errors = count(&self.findings, Severity::Error);
        self.summary.warnings = count(&self.findings, Severity::Warning);
        self.summary.infos = count(&self.findings, Severity::Info);
    }

    /// The highest severity among findings.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// How many of `f` have severity `s`.
pub(crate) fn count(f: &[Finding], s: Severity) -> usize {
    f.iter().filter(|f| f.severity == s).count()
}

/// A report's files by name: [`Report::file`] and
/// [`Report::statement_span`] without a scan of every file per finding
/// (renderers and fingerprints ask once per finding).
pub struct Files<'r> {
    report: &'r Report,
    by_name: std::collections::HashMap<&'r str, usize>,
}

impl<'r> Files<'r> {
    pub fn new(report: &'r Report) -> Files<'r> {
        let mut by_name = std::collections::HashMap::with_capacity(report.files.len());
        for (i, f) in report.files.iter().enumerate() {
            // The first file of a name, as `Report::file` finds it.
            by_name.entry(f.name.as_str()).or_insert(i);
        }
        Files { report, by_name }
    }

    /// The file named `name`.
    pub fn file(&self, name: &str) -> Option<&'r crate::source::SourceFile> {
        self.report.files.get(*self.by_name.get(name)?)
    }

    /// The byte span of statement `index` of the file named `name`.
    pub fn statement_span(&self, name: &str, index: usize) -> Option<std::ops::Range<usize>> {
        let i = *self.by_name.get(name)?;
        self.report.statements.get(i)?.get(index).cloned()
    }
}
