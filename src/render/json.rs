//! `--format json`: one document on stdout, stable for scripts (version 1).
//!
//! ```json
//! {
//!   "version": 1,
//!   "findings": [
//!     {
//!       "id": 0,
//!       "rule": "create-without-if-not-exists",
//!       "severity": "error",            // "error" | "warning" | "info"
//!       "source": "static",             // "static" | "replay"
//!       "file": "migrations/001_init.sql",
//!       "line": 3, "column": 1,         // start of the reported span
//!       "end_line": 3, "end_column": 7, // just past its end (exclusive)
//!       "statement": 0,                 // index of the statement in its file
//!       "message": "...",
//!       "help": "...",                  // optional
//!       "notes": ["..."],               // optional
//!       "fix": {"description": "...", "edits": [{"span": {"start": 0, "end": 6}, "replacement": "..."}],
//!               "applicability": "safe"},  // "safe" | "unsafe" (--unsafe-fixes) | "display-only"
//!       "evidence": {...},              // optional, free-form per rule (replay diffs)
//!       "related": [1]                  // optional: ids of findings about the same statement
//!     }
//!   ],
//!   "summary": {"files": 1, "statements": 4, "migrations": 1, "errors": 1, "warnings": 0,
//!               "infos": 0, "sequences": [{"root": "migrations", "layout": "plain",
//!               "dialect": "sqlite", "migrations": 1, "replay": "replayed"}],
//!               "baselined": 3},     // optional: findings a --baseline accepted, not listed
//!   "notices": ["..."]                  // optional: skipped files, replay skipped, ...
//! }
//! ```
//!
//! Positions: `line` and `column` are 1-based; columns count characters
//! (Unicode scalar values), not bytes. `end_line`/`end_column` are 1-based
//! too and exclusive: they name the position just past the last character of
//! the reported span, so a one-line span covers columns `column` up to
//! `end_column - 1` (SARIF uses the same convention). Fix edit spans are byte
//! offsets into the file as decoded (after a UTF-8 byte-order mark).
//! `id` is the finding's index in `findings`; `related` holds ids. Unlike
//! the other formats, the document lists every finding: a replay finding
//! that confirms a static one is a finding of its own here, linked by
//! `related`, and the `summary` counts them all. Findings
//! are sorted by file (in input order), then line, column, source and rule.
//! Fields are only ever added to this document, never renamed or removed,
//! while `version` stays 1.

use super::Renderer;
use crate::report::Report;
use serde::Serialize;
use std::io::{self, Write};

pub struct Json;

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    findings: Vec<FindingOut<'a>>,
    summary: &'a crate::report::Summary,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notices: &'a [String],
}

#[derive(Serialize)]
struct FindingOut<'a> {
    id: usize,
    #[serde(flatten)]
    finding: &'a crate::finding::Finding,
}

impl Renderer for Json {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let doc = Doc {
            version: 1,
            findings: report
                .findings
                .iter()
                .enumerate()
                .map(|(id, finding)| FindingOut { id, finding })
                .collect(),
            summary: &report.summary,
            notices: &report.notices,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}
