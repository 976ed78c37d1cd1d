//! The finding model: what every check produces and every renderer consumes.
//! Its JSON form is a public contract (see `render::json`).

use serde::{Deserialize, Serialize};
use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn from_name(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a finding comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The static rules, from reading the SQL.
    Static,
    /// Replay, from running the SQL twice.
    Replay,
}

/// A text edit that makes a statement idempotent: replace `span` of the
/// original file text with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub span: Range<usize>,
    pub replacement: String,
}

/// How safe a fix is to apply (ruff's applicability levels).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Keeps what the statement means on its first run: `--fix` applies it.
    #[default]
    Safe,
    /// Makes the statement idempotent but can change what it does otherwise
    /// (`INSERT OR IGNORE` also swallows NOT NULL and CHECK errors): applied
    /// only with `--unsafe-fixes`, shown as "unsafe fix available".
    Unsafe,
    /// Shown as a suggestion, never applied.
    DisplayOnly,
}

impl Applicability {
    /// The word JSON and SARIF use: `safe`, `unsafe`, `display-only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::DisplayOnly => "display-only",
        }
    }

    /// The marker the text formats put after a fixable help line.
    pub fn marker(self) -> &'static str {
        match self {
            Applicability::Safe => "(fixable with `twice check --fix`)",
            Applicability::Unsafe => "(unsafe fix available: `twice check --fix --unsafe-fixes`)",
            Applicability::DisplayOnly => "(suggested fix; `--fix` does not apply it)",
        }
    }
}

/// A rewrite for a finding, with how safe it is to apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// What the fix does, e.g. "insert `IF NOT EXISTS`".
    pub description: String,
    pub edits: Vec<Edit>,
    /// Safe fixes are applied by `--fix`; unsafe ones only with
    /// `--unsafe-fixes`; display-only ones never. (Read as safe when absent.)
    #[serde(default)]
    pub applicability: Applicability,
}

/// One problem found in one statement (or file).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. `create-without-if-not-exists`.
    pub rule: String,
    pub severity: Severity,
    pub source: Origin,
    /// The file as the user would write it.
    pub file: String,
    /// 1-based position of the statement's first token (columns in characters).
    pub line: usize,
    pub column: usize,
    /// 1-based position just past the end of the reported span.
    pub end_line: usize,
    pub end_column: usize,
    /// Byte span in the decoded file text (for code frames and fixes).
    #[serde(skip)]
    pub span: Range<usize>,
    /// Index of the statement in its file (0-based), if the finding is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
    pub message: String,
    /// The idempotent form or what to do instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Extra context lines ("note: ...").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// A safe rewrite, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Structured evidence (replay diffs, rows); free-form per rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
    /// Indexes (in the final sorted list) of findings about the same statement
    /// from the other source: a static finding confirmed by replay and back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<usize>,
    /// The stable fingerprint (see [`crate::fingerprint::compute`]), once
    /// stamped on the whole list of findings; renderers compute it when unset.
    #[serde(skip)]
    pub fingerprint: Option<String>,
}

impl Finding {
    pub fn is_at_least(&self, level: Severity) -> bool {
        self.severity >= level
    }
}

/// Builds findings for one file with positions computed from byte spans.
pub struct FindingBuilder<'a> {
    pub file: &'a crate::source::SourceFile,
}

impl FindingBuilder<'_> {
    pub fn at(
        &self,
        rule: &str,
        severity: Severity,
        source: Origin,
        span: Range<usize>,
        message: String,
    ) -> Finding {
        let (line, column) = self.file.line_col(span.start);
        let (end_line, end_column) = self.file.line_col(span.end.max(span.start));
        Finding {
            rule: rule.to_string(),
            severity,
            source,
            file: self.file.name.clone(),
            line,
            column,
            end_line,
            end_column,
            span,
            statement: None,
            message,
            help: None,
            notes: Vec::new(),
            fix: None,
            evidence: None,
            related: Vec::new(),
            fingerprint: None,
        }
    }
}

/// At most this many findings of one rule are listed for one file: the rest
/// are counted into one finding of the rule that says how many there are.
/// Each finding costs about a kilobyte (message, help, notes, fix), so a
/// hostile file of five million `a;` statements would otherwise need
/// gigabytes for findings nobody reads one by one.
pub const MAX_FINDINGS_PER_RULE: usize = 10_000;

/// Counts a file's findings per rule and holds back those past
/// [`MAX_FINDINGS_PER_RULE`].
#[derive(Default)]
pub struct FindingCap {
    listed: std::collections::HashMap<String, usize>,
    /// Per rule past the cap, in the order they overflowed: the first finding
    /// held back (where the summary points) and how many were held back.
    held: Vec<(Finding, usize)>,
}

impl FindingCap {
    /// Keeps the findings of `out[from..]` whose rule is still under the cap.
    pub fn admit(&mut self, out: &mut Vec<Finding>, from: usize) {
        let mut i = from;
        while i < out.len() {
            let count = match self.listed.get_mut(out[i].rule.as_str()) {
                Some(count) => count,
                None => self.listed.entry(out[i].rule.clone()).or_default(),
            };
            *count += 1;
            if *count <= MAX_FINDINGS_PER_RULE {
                i += 1;
                continue;
            }
            let f = out.remove(i);
            match self.held.iter_mut().find(|(first, _)| first.rule == f.rule) {
                Some((first, n)) => {
                    first.severity = first.severity.max(f.severity);
                    *n += 1;
                }
                None => self.held.push((f, 1)),
            }
        }
    }

    /// One finding per rule past the cap, at the first finding held back.
    pub fn summarise(self, out: &mut Vec<Finding>) {
        for (mut f, n) in self.held {
            let findings = if n == 1 { "finding" } else { "findings" };
            f.message = format!(
                "{n} more `{}` {findings} in this file are not listed: twice lists at most \
                 {MAX_FINDINGS_PER_RULE} findings of one rule in one file",
                f.rule
            );
            f.help = Some(
                "fix the findings listed (`twice check --fix` applies their safe fixes) and run \
                 twice again to list the rest"
                    .into(),
            );
            f.notes = vec![format!(
                "this is the first of them; a `-- twice:ignore-file {}` comment silences the rule \
                 in this file",
                f.rule
            )];
            f.fix = None;
            f.evidence = None;
            f.related = Vec::new();
            f.statement = None;
            out.push(f);
        }
    }
}

/// Applies [`MAX_FINDINGS_PER_RULE`] to findings of several files (a
/// sequence's replay findings): each file's capped on its own, in order.
pub fn cap_per_file(findings: &mut Vec<Finding>) {
    let mut caps: Vec<FindingCap> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut kept = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        let i = match index.get(f.file.as_str()) {
            Some(&i) => i,
            None => {
                index.insert(f.file.clone(), caps.len());
                caps.push(FindingCap::default());
                caps.len() - 1
            }
        };
        kept.push(f);
        let from = kept.len() - 1;
        caps[i].admit(&mut kept, from);
    }
    for cap in caps {
        cap.summarise(&mut kept);
    }
    *findings = kept;
}
