//! `--format github`: GitHub Actions workflow commands, one per finding:
//!
//! ```text
//! ::error file=m/001.sql,line=3,col=1,endLine=3,endColumn=7,title=twice create-without-if-not-exists::message%0Ahelp: ...
//! ```
//!
//! One annotation per problem: a replay finding that confirms a static one
//! is part of its message ("note: confirmed by replay: ..."), not an
//! annotation of its own (see [`super::Plan`]). GitHub shows only the first
//! 10 error annotations of a step, so each one counts.
//!
//! `::error`, `::warning` or `::notice` by severity. The message (data) is
//! escaped as GitHub requires (`%` → `%25`, CR → `%0D`, LF → `%0A`), other
//! control characters (ESC, BEL, ...) as text (`\u{1b}`), and
//! property values also escape `:` → `%3A` and `,` → `%2C`. Columns are sent
//! only for a span on one line (GitHub ignores them otherwise); `endColumn` is
//! exclusive like everywhere in twice. Nothing else is printed: notices go to
//! stderr (see [`super`]).

use super::{artifact_path, RenderOptions, Renderer};
use crate::finding::Severity;
use crate::report::Report;
use std::io::{self, Write};

pub struct Github<'a> {
    opts: RenderOptions<'a>,
}

impl<'a> Github<'a> {
    pub fn new(opts: RenderOptions<'a>) -> Github<'a> {
        Github { opts }
    }
}

/// Escapes a workflow command's data (the message): `%`, CR and LF as
/// GitHub requires, and every other control character (ESC, BEL, ...) as
/// text, so that nothing from the input reaches the log as a control.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push_str(&crate::escape::printable(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// Escapes a workflow command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow command for one finding (without a line end).
pub fn annotation(report: &Report, i: usize, opts: &RenderOptions) -> String {
    let f = &report.findings[i];
    let command = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let file = artifact_path(&f.file, opts.base.as_deref());
    let mut props = vec![
        format!("file={}", escape_property(&file)),
        format!("line={}", f.line.max(1)),
    ];
    // A span that ends at the start of a line ends on the line before.
    let (end_line, end_column) = if f.end_column <= 1 && f.end_line > f.line {
        (f.end_line - 1, None)
    } else {
        (f.end_line, Some(f.end_column))
    };
    if end_line <= f.line {
        props.push(format!("col={}", f.column.max(1)));
        if let Some(ec) = end_column.filter(|&ec| ec > f.column) {
            props.push(format!("endLine={}", f.line.max(1)));
            props.push(format!("endColumn={ec}"));
        }
    } else {
        props.push(format!("endLine={end_line}"));
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("twice {}", f.rule))
    ));
    let message = super::sarif::message_text(report, i);
    format!("::{command} {}::{}", props.join(","), escape_data(&message))
}

impl Renderer for Github<'_> {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        // One annotation per problem (see [`super::Plan`]).
        let plan = super::Plan::new(&report.findings);
        for i in (0..report.findings.len()).filter(|&i| plan.shown(i)) {
            writeln!(out, "{}", annotation(report, i, &self.opts))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("100%\r\nok: a,b"), "100%25%0D%0Aok: a,b");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(escape_data("a\u{1b}[31m\u{7}b"), "a\\u{1b}[31m\\u{7}b");
    }
}
