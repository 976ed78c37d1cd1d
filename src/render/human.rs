//! `--format human`: rustc-style diagnostics.

use super::Renderer;
use crate::check::Report;
use std::io::{self, Write};

pub struct Human {
    pub color: bool,
}

impl Renderer for Human {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        for f in &report.findings {
            writeln!(out, "{}[{}]: {}", f.severity, f.rule, f.message)?;
            writeln!(out, "  --> {}:{}:{}", f.file, f.line, f.column)?;
            if let Some(h) = &f.help {
                writeln!(out, "  = help: {h}")?;
            }
            writeln!(out)?;
        }
        let s = &report.summary;
        writeln!(
            out,
            "{} files, {} statements: {} errors, {} warnings, {} infos",
            s.files, s.statements, s.errors, s.warnings, s.infos
        )
    }
}
