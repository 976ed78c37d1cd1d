//! What the server computes from an [`Analysis`]: diagnostics, code
//! actions (a finding's fix as `--fix` plans it, fix-all, `twice:ignore`)
//! and the rule documentation shown on hover.

use super::analyze::Analysis;
use super::text::{Encoding, LineIndex};
use lsp_types as lt;

/// The `max` most severe findings (in file order within a severity, as
/// they come), and how many there were.
pub(super) fn capped(
    mut spans: Vec<(&crate::finding::Finding, std::ops::Range<usize>)>,
    max: usize,
) -> (
    Vec<(&crate::finding::Finding, std::ops::Range<usize>)>,
    usize,
) {
    let total = spans.len();
    if total > max {
        spans.sort_by_key(|(f, _)| std::cmp::Reverse(f.severity));
        spans.truncate(max);
        spans.sort_by_key(|(_, span)| span.start);
    }
    (spans, total)
}

pub(super) fn fix_all_kind() -> lt::CodeActionKind {
    lt::CodeActionKind::new("source.fixAll.twice")
}

pub(super) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A finding's span in the editor's text.
pub(super) fn span_in_text(a: &Analysis, f: &crate::finding::Finding) -> std::ops::Range<usize> {
    let s = a.shift();
    f.span.start + s..f.span.end.max(f.span.start) + s
}

/// A replay finding's span in the editor's text, from its 1-based line and
/// character columns (end exclusive).
pub(super) fn replay_span(idx: &LineIndex, f: &crate::finding::Finding) -> std::ops::Range<usize> {
    let start = idx.offset_of_line_col(f.line, f.column);
    let end = idx.offset_of_line_col(f.end_line, f.end_column);
    start..end.max(start)
}

/// The documentation of a rule as `twice explain` prints it.
pub(super) fn rule_doc(id: &str) -> Option<String> {
    let meta = crate::rules::find(id)?;
    let mut buf = Vec::new();
    crate::cli_args::explain(meta, &mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    // The first line (id, severity, origin) as a heading.
    Some(format!("### {}", text.trim_end()))
}

/// Where a rule's documentation is published.
pub(super) fn rule_url(id: &str) -> Option<lt::Url> {
    let file = id.replace('-', "_");
    lt::Url::parse(&format!(
        "{}/blob/main/src/rules/{file}.rs",
        env!("CARGO_PKG_REPOSITORY")
    ))
    .ok()
}

pub(super) fn diagnostic(
    uri: &lt::Url,
    f: &crate::finding::Finding,
    span: &std::ops::Range<usize>,
    idx: &LineIndex,
    enc: Encoding,
) -> lt::Diagnostic {
    use crate::finding::Severity;
    let range = idx.range(span, enc);
    let location = lt::Location {
        uri: uri.clone(),
        range,
    };
    let related: Vec<lt::DiagnosticRelatedInformation> = f
        .help
        .iter()
        .map(|h| format!("help: {h}"))
        .chain(f.notes.iter().map(|n| format!("note: {n}")))
        .map(|message| lt::DiagnosticRelatedInformation {
            location: location.clone(),
            message,
        })
        .collect();
    lt::Diagnostic {
        range,
        severity: Some(match f.severity {
            Severity::Error => lt::DiagnosticSeverity::ERROR,
            Severity::Warning => lt::DiagnosticSeverity::WARNING,
            Severity::Info => lt::DiagnosticSeverity::INFORMATION,
        }),
        code: Some(lt::NumberOrString::String(f.rule.clone())),
        code_description: rule_url(&f.rule).map(|href| lt::CodeDescription { href }),
        source: Some(match f.source {
            crate::finding::Origin::Static => "twice".into(),
            crate::finding::Origin::Replay => "twice replay".into(),
        }),
        message: f.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

/// The edits of a finding's fix, when `--fix`'s planning applies it (in
/// `file.text` offsets).
pub(super) fn planned_fix(
    a: &Analysis,
    f: &crate::finding::Finding,
) -> Option<Vec<crate::finding::Edit>> {
    let fix = f.fix.as_ref()?;
    let report = crate::report::Report {
        files: vec![a.file.clone()],
        findings: vec![f.clone()],
        ..Default::default()
    };
    let plans = crate::fix::plan(&report);
    let plan = plans.first()?;
    (!plan.applied.is_empty() && plan.changed()).then(|| fix.edits.clone())
}

/// `--fix`'s whole plan for the file: the edits of the fixes it applies,
/// or (should they not give its text) one edit of the part that changes.
pub(super) fn fix_all(a: &Analysis) -> Option<Vec<crate::finding::Edit>> {
    let report = crate::report::Report {
        files: vec![a.file.clone()],
        findings: a.findings.clone(),
        ..Default::default()
    };
    let plans = crate::fix::plan(&report);
    let plan = plans.first().filter(|p| p.changed())?;
    // The plan lists the fixes it applied in finding order.
    let mut applied = plan.applied.iter().peekable();
    let mut edits = Vec::new();
    for f in &a.findings {
        let Some(fix) = &f.fix else { continue };
        if applied
            .next_if(|(line, rule, what)| {
                *line == f.line && *rule == f.rule && *what == fix.description
            })
            .is_some()
        {
            edits.extend(fix.edits.iter().cloned());
        }
    }
    if applied.peek().is_none() && crate::fix::apply_edits(&plan.original, &edits) == plan.fixed {
        return Some(edits);
    }
    let (old, new) = (plan.original.as_str(), plan.fixed.as_str());
    let mut prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    Some(vec![crate::finding::Edit {
        span: prefix..old.len() - suffix,
        replacement: new[prefix..new.len() - suffix].to_string(),
    }])
}

/// Edits in `file.text` offsets as LSP text edits on the editor's text.
pub(super) fn text_edits(
    a: &Analysis,
    idx: &LineIndex,
    edits: &[crate::finding::Edit],
    enc: Encoding,
) -> Vec<lt::TextEdit> {
    let s = a.shift();
    edits
        .iter()
        .map(|e| lt::TextEdit {
            range: idx.range(&(e.span.start + s..e.span.end + s), enc),
            new_text: e.replacement.clone(),
        })
        .collect()
}

/// The edit that adds `-- twice:ignore <rule>` for a finding's statement:
/// on its own line above the statement, indented like it, or added to the
/// `twice:ignore` comment already there. `None` where a comment above
/// would not reach the statement (it does not start its line) or for
/// findings no comment can silence.
pub(super) fn ignore_edit(
    a: &Analysis,
    f: &crate::finding::Finding,
) -> Option<crate::finding::Edit> {
    use crate::rules::{binary_file, unused_suppression};
    if [binary_file::META.id, unused_suppression::META.id].contains(&f.rule.as_str()) {
        return None;
    }
    let text = &a.file.text;
    let start = match f.statement {
        Some(s) => a.statements.get(s)?.start,
        None => f.span.start,
    };
    let line_start = text.get(..start)?.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    // Only blanks and comments may come before the statement on its line.
    let code_before =
        crate::lexer::Lexer::new(text, line_start..start, a.dialect).any(|t| !t.kind.is_trivia());
    if code_before {
        return None;
    }
    let line = &text[line_start..start];
    let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
    // A `twice:ignore` comment with ids on the line above: add the rule.
    if line_start > 0 {
        let above_end = if text[..line_start].ends_with("\r\n") {
            line_start - 2
        } else {
            line_start - 1
        };
        let above_start = text[..above_end].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let above = &text[above_start..above_end];
        let trimmed = above.trim_start();
        if let Some(rest) = trimmed.strip_prefix("--") {
            let body = rest.trim_start();
            if body.len() >= 12
                && body.is_char_boundary(12)
                && body[..12].eq_ignore_ascii_case("twice:ignore")
                && body[12..].starts_with([' ', '\t'])
            {
                let ids_at = above_start + (above.len() - body.len()) + 12;
                let ids_text = &text[ids_at..above_end];
                let ids_end = ids_text.find("--").unwrap_or(ids_text.len());
                let ids = ids_text[..ids_end].trim_end();
                if !ids.trim().is_empty() {
                    let at = ids_at + ids.len();
                    return Some(crate::finding::Edit {
                        span: at..at,
                        replacement: format!(", {}", f.rule),
                    });
                }
            }
        }
    }
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    Some(crate::finding::Edit {
        span: line_start..line_start,
        replacement: format!("{indent}-- twice:ignore {}{eol}", f.rule),
    })
}

/// The `twice:ignore` / `twice:ignore-file` comment at `at` (an offset in
/// the editor's text): its span and the rule ids to explain (the one under
/// the cursor, else all of them).
pub(super) fn ignore_comment_at(
    a: &Analysis,
    at: usize,
) -> Option<(std::ops::Range<usize>, Vec<String>)> {
    use crate::lexer::{Lexer, TokenKind};
    let s = a.shift();
    let at = at.checked_sub(s)?;
    let text = &a.file.text;
    let tok = Lexer::new(text, 0..text.len(), a.dialect).find(|t| {
        t.span.start <= at
            && at <= t.span.end
            && matches!(t.kind, TokenKind::LineComment | TokenKind::BlockComment)
    })?;
    let (_, ids) =
        crate::suppress::parse_directive(&text[tok.span.clone()], tok.kind, tok.span.start)?;
    let under: Vec<String> = ids
        .iter()
        .filter(|r| r.span.start <= at && at <= r.span.end)
        .map(|r| r.id.clone())
        .collect();
    let ids = if under.is_empty() {
        ids.into_iter().map(|r| r.id).collect()
    } else {
        under
    };
    Some((tok.span.start + s..tok.span.end + s, ids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;

    fn analysis(text: &str) -> Analysis {
        let opts = |_: Option<&crate::config::Config>| Options::default();
        crate::lsp::analyze::analyze(None, "x.sql", 1, text.to_string(), &opts)
    }

    fn ignore(text: &str, rule: &str) -> Option<String> {
        let a = analysis(text);
        let f = a.findings.iter().find(|f| f.rule == rule).unwrap();
        let e = ignore_edit(&a, f)?;
        Some(crate::fix::apply_edits(&a.file.text, &[e]))
    }

    #[test]
    fn the_ignore_comment_goes_above_the_statement_or_joins_the_one_there() {
        assert_eq!(
            ignore("  CREATE TABLE t (x);\r\n", "create-without-if-not-exists").unwrap(),
            "  -- twice:ignore create-without-if-not-exists\r\n  CREATE TABLE t (x);\r\n"
        );
        assert_eq!(
            ignore(
                "-- twice:ignore drop-without-if-exists -- legacy\nCREATE TABLE t (x);\n",
                "create-without-if-not-exists"
            )
            .unwrap(),
            "-- twice:ignore drop-without-if-exists, create-without-if-not-exists -- legacy\nCREATE TABLE t (x);\n"
        );
        // After other code on its line, a comment above would not reach it.
        assert_eq!(
            ignore(
                "SELECT 1; CREATE TABLE t (x);\n",
                "create-without-if-not-exists"
            ),
            None
        );
        // What the action writes silences the finding.
        let fixed = ignore("CREATE TABLE t (x);\n", "create-without-if-not-exists").unwrap();
        assert!(analysis(&fixed).findings.is_empty(), "{fixed}");
    }

    #[test]
    fn fix_all_gives_the_plans_text() {
        let text = "\u{feff}CREATE TABLE a (x);\nDROP TABLE b;\n";
        let a = analysis(text);
        assert_eq!(a.shift(), 3);
        let edits = fix_all(&a).unwrap();
        assert_eq!(edits.len(), 2);
        assert_eq!(
            crate::fix::apply_edits(&a.file.text, &edits),
            "CREATE TABLE IF NOT EXISTS a (x);\nDROP TABLE IF EXISTS b;\n"
        );
        // In the editor's text (with its BOM) the ranges move by one
        // UTF-16 unit on the first line only.
        let idx = LineIndex::new(&a.text);
        let lsp = text_edits(&a, &idx, &edits, Encoding::Utf16);
        assert_eq!(
            lsp[0].range.start,
            lt::Position {
                line: 0,
                character: 13
            }
        );
        assert_eq!(
            lsp[1].range.start,
            lt::Position {
                line: 1,
                character: 10
            }
        );
    }

    #[test]
    fn many_findings_are_capped_keeping_the_most_severe() {
        let mut text = String::new();
        for i in 0..5 {
            text.push_str(&format!("INSERT INTO t VALUES ({i}, now());\n"));
        }
        let a = analysis(&text);
        let spans: Vec<_> = a.findings.iter().map(|f| (f, f.span.clone())).collect();
        assert!(spans.len() >= 10, "{spans:?}");
        let (kept, total) = capped(spans.clone(), 3);
        assert_eq!((kept.len(), total), (3, spans.len()));
        assert!(kept
            .iter()
            .all(|(f, _)| f.severity == crate::finding::Severity::Error));
        assert!(kept.windows(2).all(|w| w[0].1.start <= w[1].1.start));
        assert_eq!(capped(spans.clone(), 100).0.len(), spans.len());
    }

    #[test]
    fn hover_finds_the_rule_id_under_the_cursor() {
        let text =
            "-- twice:ignore relative-update, create-without-if-not-exists\nCREATE TABLE t (x);\n";
        let a = analysis(text);
        let at = text.find("create-without").unwrap() + 3;
        let (_, ids) = ignore_comment_at(&a, at).unwrap();
        assert_eq!(ids, ["create-without-if-not-exists"]);
        let (span, ids) = ignore_comment_at(&a, 5).unwrap();
        assert_eq!(ids, ["relative-update", "create-without-if-not-exists"]);
        assert_eq!(span.start, 0);
        assert!(ignore_comment_at(&a, text.find("TABLE").unwrap()).is_none());
        assert!(rule_doc("create-without-if-not-exists")
            .unwrap()
            .starts_with("### create-without-if-not-exists ("));
        assert!(rule_doc("no-such-rule").is_none());
    }
}
