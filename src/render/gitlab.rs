//! `--format gitlab`: a GitLab Code Quality report (a subset of the Code
//! Climate issue format): a JSON array with one issue per finding:
//!
//! ```json
//! [{"type": "issue", "check_name": "create-without-if-not-exists",
//!   "description": "...", "categories": ["Bug Risk"],
//!   "fingerprint": "…", "severity": "major",
//!   "location": {"path": "m/001.sql", "lines": {"begin": 3, "end": 3}}}]
//! ```
//!
//! One issue per problem: a replay finding that confirms a static one is
//! part of its description, not an issue of its own (see [`super::Plan`]).
//!
//! Severities: error → `major`, warning → `minor`, info → `info` (GitLab's
//! scale is info, minor, major, critical, blocker; `critical` and `blocker`
//! are left for problems worse than a migration that breaks on a re-run).
//! `fingerprint` is the same stable hash as SARIF's (see
//! [`super::fingerprints`]); it is unique per finding, as GitLab shows only
//! the first issue of each fingerprint. `description` is the message, then
//! the `help:` and `note:` lines.

use super::{artifact_path, fingerprints_on, RenderOptions, Renderer};
use crate::finding::Severity;
use crate::report::Report;
use serde::Serialize;
use std::io::{self, Write};

pub struct Gitlab<'a> {
    opts: RenderOptions<'a>,
}

impl<'a> Gitlab<'a> {
    pub fn new(opts: RenderOptions<'a>) -> Gitlab<'a> {
        Gitlab { opts }
    }
}

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: &'a str,
    description: String,
    categories: [&'static str; 1],
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

impl Renderer for Gitlab<'_> {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let base = self.opts.base.as_deref();
        // One issue per problem (see [`super::Plan`]).
        let plan = super::Plan::new(&report.findings);
        let issues: Vec<Issue> = report
            .findings
            .iter()
            .zip(fingerprints_on(report, base, self.opts.jobs))
            .enumerate()
            .filter(|(i, _)| plan.shown(*i))
            .map(|(i, (f, fingerprint))| {
                let begin = f.line.max(1);
                // A span that ends at the start of a line ends on the line before.
                let end = if f.end_column <= 1 && f.end_line > f.line {
                    f.end_line - 1
                } else {
                    f.end_line
                };
                Issue {
                    kind: "issue",
                    check_name: &f.rule,
                    description: super::sarif::message_text(report, i),
                    categories: ["Bug Risk"],
                    fingerprint,
                    severity: severity(f.severity),
                    location: Location {
                        path: artifact_path(&f.file, base),
                        lines: Lines {
                            begin,
                            end: end.max(begin),
                        },
                    },
                }
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &issues)?;
        writeln!(out)
    }
}
