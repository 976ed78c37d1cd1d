//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning reads it.
//!
//! - `runs[0].tool.driver` names twice, its version and `informationUri`,
//!   and lists every rule twice can emit (`rules[]`, from the rule metadata
//!   in [`RenderOptions::rules`]): `id`, `shortDescription` (the one-line
//!   summary), `fullDescription` (the "What it does" section), `help` (the
//!   whole documentation, as text and Markdown) and
//!   `defaultConfiguration.level`. A finding whose rule has no metadata still
//!   gets a descriptor, so every `ruleIndex` is valid.
//! - Each finding is a result with `ruleId`, `ruleIndex`, `level`
//!   (`error`/`warning`/`note`), `message.text` (the message, then the `help:`
//!   and `note:` lines), one location (`artifactLocation.uri` relative to the
//!   working folder, forward slashes, percent-encoded; 1-based region with
//!   exclusive end, `columnKind` `unicodeCodePoints`), `partialFingerprints`
//!   (`twice/v2`, see [`crate::baseline`]) and `fixes[]` when the finding
//!   has a fix (`deletedRegion` in line/column form, `insertedContent`).
//! - One result per problem (see [`super::Plan`]): a replay finding that
//!   confirms a static one is not a result; the static result's message
//!   says "confirmed by replay: ..." and `properties.replay` lists the
//!   replay findings (rule, level, message, evidence).
//! - With a baseline (`--baseline`), results carry `baselineState`: `new`
//!   for reported findings, and the accepted findings follow as results with
//!   `baselineState: unchanged` and an `external` suppression naming the
//!   baseline file.
//! - Notices become `invocations[0].toolExecutionNotifications`.

use super::{artifact_path, artifact_uri, fingerprints_on, Plan, RenderOptions, Renderer};
use crate::finding::{Finding, Origin, Severity};
use crate::report::Report;
use crate::rules::RuleMeta;
use crate::source::SourceFile;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The schema the output follows (the `$id` of the official schema, which
/// the tests validate against: `fixtures/render/sarif-schema-2.1.0.json`).
pub const SCHEMA_URI: &str =
    "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json";

/// The key of twice's fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = crate::fingerprint::FINGERPRINT_SCHEME;

pub struct Sarif<'a> {
    opts: RenderOptions<'a>,
}

impl<'a> Sarif<'a> {
    pub fn new(opts: RenderOptions<'a>) -> Sarif<'a> {
        Sarif { opts }
    }
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    invocations: Vec<Invocation>,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'a str,
    semantic_version: &'a str,
    information_uri: &'a str,
    rules: Vec<RuleOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleOut {
    id: String,
    name: String,
    short_description: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    full_description: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<Help>,
    default_configuration: DefaultConfiguration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct DefaultConfiguration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    /// `new` or `unchanged`, when a baseline was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<FixOut>,
    properties: ResultProperties,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    justification: String,
}

/// A replay finding that confirms this (static) result.
#[derive(Serialize)]
struct ReplayEvidence {
    rule: String,
    level: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    /// "static" or "replay".
    source: Origin,
    /// Indexes (into `results`) of results about the same statement.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related: Vec<usize>,
    /// The replay findings that confirm this result, shown as part of it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    replay: Vec<ReplayEvidence>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixOut {
    description: Text,
    artifact_changes: Vec<ArtifactChange>,
    /// `{"applicability": "safe" | "unsafe" | "display-only"}`.
    properties: FixProperties,
}

#[derive(Serialize)]
struct FixProperties {
    applicability: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Region,
    inserted_content: Text,
}

pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The text under a `## heading` of a rule's Markdown documentation.
pub fn doc_section<'d>(doc: &'d str, heading: &str) -> Option<&'d str> {
    let mut start = None;
    let mut offset = 0;
    for line in doc.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(h) = trimmed.strip_prefix("## ") {
            if let Some(s) = start {
                let text = doc[s..offset].trim();
                return (!text.is_empty()).then_some(text);
            }
            if h.trim().eq_ignore_ascii_case(heading) {
                start = Some(offset + line.len());
            }
        }
        offset += line.len();
    }
    let text = doc[start?..].trim();
    (!text.is_empty()).then_some(text)
}

/// `create-without-if-not-exists` → `CreateWithoutIfNotExists`.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rule_out(meta: &RuleMeta) -> RuleOut {
    let full = doc_section(meta.doc, "What it does").unwrap_or(meta.summary);
    let doc = meta.doc.trim();
    RuleOut {
        id: meta.id.to_string(),
        name: pascal_case(meta.id),
        short_description: Text {
            text: meta.summary.to_string(),
        },
        full_description: Some(Text {
            text: full.to_string(),
        }),
        help: (!doc.is_empty()).then(|| Help {
            text: doc.to_string(),
            markdown: doc.to_string(),
        }),
        default_configuration: DefaultConfiguration {
            level: level(meta.severity),
        },
        properties: RuleProperties {
            tags: vec![
                "idempotency",
                match meta.origin {
                    Origin::Static => "static",
                    Origin::Replay => "replay",
                },
            ],
        },
    }
}

/// A region from 1-based positions; the end is left out when it does not
/// lie after the start.
fn region(start: (usize, usize), end: (usize, usize)) -> Region {
    let has_end = end > start;
    Region {
        start_line: start.0.max(1),
        start_column: start.1.max(1),
        end_line: has_end.then_some(end.0),
        end_column: has_end.then_some(end.1.max(1)),
    }
}

/// The full text of finding `i` for formats that show one text: the
/// message, then `help:` (marked when `--fix` can apply it) and `note:`
/// lines, and a line linking static and replay findings about the same
/// statement. Line ends are `\n`.
pub fn message_text(report: &Report, i: usize) -> String {
    message_of(&report.findings, &report.findings[i])
}

/// [`message_text`] for a finding of `list` (the report's findings, or its
/// baselined ones), whose `related` are indexes into `list`.
pub fn message_of(list: &[Finding], f: &Finding) -> String {
    let mut text = normalize_newlines(f.message.trim_end());
    let fixable = f.fix.as_ref().map_or(String::new(), |fix| {
        format!(" {}", fix.applicability.marker())
    });
    match (&f.help, &f.fix) {
        (Some(h), _) => text.push_str(&format!("\nhelp: {h}{fixable}")),
        (None, Some(fix)) => text.push_str(&format!("\nhelp: {}{fixable}", fix.description)),
        (None, None) => {}
    }
    for n in &f.notes {
        text.push_str("\nnote: ");
        text.push_str(n);
    }
    for other in f.related.iter().filter_map(|&r| list.get(r)) {
        match (f.source, other.source) {
            (Origin::Static, Origin::Replay) => {
                text.push_str(&format!("\nnote: {}", super::replay_note(other)))
            }
            (Origin::Replay, Origin::Static) => text.push_str(&format!(
                "\nnote: also reported by the static rule {}",
                other.rule
            )),
            _ => {}
        }
    }
    normalize_newlines(&text)
}

/// The replay findings of `list` merged into finding `i`, as evidence.
fn replay_evidence(list: &[Finding], plan: &Plan, i: usize) -> Vec<ReplayEvidence> {
    plan.confirmations[i]
        .iter()
        .filter_map(|&(c, _)| list.get(c))
        .map(|c| ReplayEvidence {
            rule: c.rule.clone(),
            level: level(c.severity),
            message: normalize_newlines(c.message.trim_end()),
            evidence: c.evidence.clone(),
        })
        .collect()
}

fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fn fix_out(f: &Finding, file: Option<&SourceFile>, uri: &str) -> Vec<FixOut> {
    let (Some(fix), Some(file)) = (&f.fix, file) else {
        return Vec::new();
    };
    if fix.edits.is_empty() || fix.edits.iter().any(|e| e.span.end > file.text.len()) {
        return Vec::new();
    }
    let replacements = fix
        .edits
        .iter()
        .map(|e| {
            let start = file.line_col(e.span.start);
            let end = file.line_col(e.span.end.max(e.span.start));
            Replacement {
                // An insertion is an empty region: start and end are equal.
                deleted_region: Region {
                    start_line: start.0,
                    start_column: start.1,
                    end_line: Some(end.0),
                    end_column: Some(end.1),
                },
                inserted_content: Text {
                    text: e.replacement.clone(),
                },
            }
        })
        .collect();
    vec![FixOut {
        description: Text {
            text: fix.description.clone(),
        },
        artifact_changes: vec![ArtifactChange {
            artifact_location: ArtifactLocation {
                uri: uri.to_string(),
            },
            replacements,
        }],
        properties: FixProperties {
            applicability: fix.applicability.as_str(),
        },
    }]
}

impl Renderer for Sarif<'_> {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let base = self.opts.base.as_deref();
        let mut rules: Vec<RuleOut> = self.opts.rules.iter().map(|m| rule_out(m)).collect();
        let mut index: BTreeMap<String, usize> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        for f in &report.findings {
            if !index.contains_key(&f.rule) {
                index.insert(f.rule.clone(), rules.len());
                rules.push(RuleOut {
                    id: f.rule.clone(),
                    name: pascal_case(&f.rule),
                    short_description: Text {
                        text: f.rule.clone(),
                    },
                    full_description: None,
                    help: None,
                    default_configuration: DefaultConfiguration {
                        level: level(f.severity),
                    },
                    properties: RuleProperties {
                        tags: vec!["idempotency"],
                    },
                });
            }
        }
        // One result per problem: replay findings merged into the static
        // finding they confirm are part of its result.
        let plan = Plan::new(&report.findings);
        let mut result_index = Vec::with_capacity(report.findings.len());
        let mut n = 0;
        for i in 0..report.findings.len() {
            result_index.push(plan.shown(i).then_some(n));
            n += usize::from(plan.shown(i));
        }
        let prints = fingerprints_on(report, base, self.opts.jobs);
        let files = super::Files::new(report);
        let baseline_state = |state| report.baseline.as_ref().map(|_| state);
        let result = |f: &Finding, print: String, text: String| {
            let uri = artifact_uri(&artifact_path(&f.file, base));
            let file = files.file(&f.file);
            SarifResult {
                rule_id: f.rule.clone(),
                rule_index: index[&f.rule],
                level: level(f.severity),
                message: Text { text },
                locations: vec![Location {
                    physical_location: PhysicalLocation {
                        artifact_location: ArtifactLocation { uri: uri.clone() },
                        region: region((f.line, f.column), (f.end_line, f.end_column)),
                    },
                }],
                partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, print)]),
                baseline_state: baseline_state("new"),
                suppressions: Vec::new(),
                fixes: fix_out(f, file, &uri),
                properties: ResultProperties {
                    source: f.source,
                    related: f
                        .related
                        .iter()
                        .filter_map(|&r| result_index.get(r).copied().flatten())
                        .collect(),
                    replay: Vec::new(),
                },
            }
        };
        let mut results: Vec<SarifResult> = report
            .findings
            .iter()
            .zip(prints)
            .enumerate()
            .filter(|(i, _)| plan.shown(*i))
            .map(|(i, (f, print))| {
                let mut r = result(f, print, message_text(report, i));
                r.properties.replay = replay_evidence(&report.findings, &plan, i);
                r
            })
            .collect();
        // Findings the baseline accepts: present, marked unchanged and
        // suppressed, so viewers track them without raising them again.
        if let Some(name) = &report.baseline {
            let base_prints: Vec<String> = report
                .baselined
                .iter()
                .map(|f| f.fingerprint.clone().unwrap_or_default())
                .collect();
            let base_plan = Plan::new(&report.baselined);
            for (i, (f, print)) in report.baselined.iter().zip(base_prints).enumerate() {
                if !base_plan.shown(i) {
                    continue;
                }
                let mut r = result(f, print, message_of(&report.baselined, f));
                r.baseline_state = Some("unchanged");
                r.suppressions = vec![Suppression {
                    kind: "external",
                    justification: format!("accepted in the baseline {name}"),
                }];
                r.properties.related.clear();
                r.properties.replay = replay_evidence(&report.baselined, &base_plan, i);
                results.push(r);
            }
        }
        let log = Log {
            schema: SCHEMA_URI,
            version: "2.1.0",
            runs: vec![Run {
                tool: Tool {
                    driver: Driver {
                        name: "twice",
                        version: self.opts.tool_version,
                        semantic_version: self.opts.tool_version,
                        information_uri: self.opts.information_uri,
                        rules,
                    },
                },
                invocations: vec![Invocation {
                    execution_successful: true,
                    tool_execution_notifications: report
                        .notices
                        .iter()
                        .map(|n| Notification {
                            level: "note",
                            message: Text { text: n.clone() },
                        })
                        .collect(),
                }],
                column_kind: "unicodeCodePoints",
                results,
            }],
        };
        serde_json::to_writer_pretty(&mut *out, &log)?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_of_a_rule_doc() {
        let doc = "## What it does\nFlags X.\n\n## Why it matters\nBecause.\n## Fix\nDo Y.\n";
        assert_eq!(doc_section(doc, "What it does"), Some("Flags X."));
        assert_eq!(doc_section(doc, "Why it matters"), Some("Because."));
        assert_eq!(doc_section(doc, "Fix"), Some("Do Y."));
        assert_eq!(doc_section(doc, "Example"), None);
    }

    #[test]
    fn names() {
        assert_eq!(
            pascal_case("create-without-if-not-exists"),
            "CreateWithoutIfNotExists"
        );
    }
}
