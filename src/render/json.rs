//! `--format json`: one document, stable for scripts (version 1).

use super::Renderer;
use crate::check::Report;
use serde::Serialize;
use std::io::{self, Write};

pub struct Json;

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    findings: Vec<FindingOut<'a>>,
    summary: &'a crate::check::Summary,
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
