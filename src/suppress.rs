//! Inline suppressions in SQL comments.
//!
//! - `-- twice:ignore rule-a, rule-b` on the line directly above a statement
//!   (comment lines may sit between it and the statement, a blank line may
//!   not), or at the end of the statement's first line, silences those rules
//!   for that statement. Without ids it silences every rule.
//! - `-- twice:ignore-file rule-a` anywhere in a file silences the rule for
//!   the whole file; without ids, every rule.
//! - `/* twice:ignore ... */` block comments work in the same places.
//! - A reason may follow the ids after `--`:
//!   `-- twice:ignore create-without-if-not-exists -- created by ops`.
//!
//! Comments are found with the crate's lexer, so `'-- twice:ignore'` inside a
//! string is text, not a suppression. Suppressions apply to static and replay
//! findings alike, after both ran. A suppression (or one of its ids) that
//! silences nothing, an unknown rule id and an unknown `twice:` directive are
//! reported as `unused-suppression`.

use crate::finding::{Edit, Finding, FindingBuilder, Fix, Origin};
use crate::lexer::{Lexer, Token, TokenKind};
use crate::report::{FileUnit, Workspace};
use crate::rules::{self, unused_suppression::META as UNUSED};
use std::collections::BTreeMap;
use std::ops::Range;

/// What a suppression covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `twice:ignore`: one statement.
    Statement,
    /// `twice:ignore-file`: the whole file.
    File,
}

impl Scope {
    pub fn directive(self) -> &'static str {
        match self {
            Scope::Statement => "twice:ignore",
            Scope::File => "twice:ignore-file",
        }
    }
}

/// A rule id written in a suppression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    /// Lower-cased as written.
    pub id: String,
    /// Where it is written (file offsets).
    pub span: Range<usize>,
}

/// One `twice:ignore` or `twice:ignore-file` comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub scope: Scope,
    /// The whole comment (file offsets).
    pub span: Range<usize>,
    /// The span of the id list in the comment (empty when there are none).
    pub ids_span: Range<usize>,
    /// Rule ids; empty means every rule.
    pub ids: Vec<RuleRef>,
    /// Statement scope: indexes of the statements it covers (in the file's
    /// statement list).
    pub statements: Vec<usize>,
    /// Statement scope: the line of the code it annotates; findings that are
    /// not about a statement match on it.
    pub line: Option<usize>,
    /// The comment has nothing else on its lines (it can be removed whole).
    pub own_line: bool,
}

/// A comment that looks like a directive but is not one twice knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadDirective {
    pub span: Range<usize>,
    pub written: String,
}

/// Everything found in one file's comments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSuppressions {
    pub suppressions: Vec<Suppression>,
    pub bad: Vec<BadDirective>,
}

/// The file's tokens, lexed the way the splitter saw them: each statement
/// (with its terminator) on its own, and the gaps between statements.
fn file_tokens(unit: &FileUnit) -> Vec<Token> {
    let text = &unit.source.text;
    let mut spans: Vec<Range<usize>> = unit
        .statements
        .iter()
        .map(|s| {
            let end = s.terminator.as_ref().map_or(s.span.end, |t| t.end);
            s.span.start..end.max(s.span.start)
        })
        .collect();
    spans.sort_by_key(|r| r.start);
    let mut ranges = Vec::new();
    let mut pos = 0;
    for r in spans {
        if r.start < pos {
            continue;
        }
        if r.start > pos {
            ranges.push(pos..r.start);
        }
        pos = r.end.min(text.len());
        ranges.push(r.start..pos);
    }
    if pos < text.len() {
        ranges.push(pos..text.len());
    }
    ranges
        .into_iter()
        .flat_map(|r| Lexer::new(text, r, unit.dialect).collect::<Vec<_>>())
        .collect()
}

/// Line breaks in a whitespace run (`\r\n` counts once).
fn line_breaks(s: &str) -> usize {
    s.matches('\n').count() + s.matches('\r').count() - s.matches("\r\n").count()
}

/// Where the text of a comment starts and ends, without its markers.
fn comment_body(tok: &str, kind: TokenKind) -> Range<usize> {
    match kind {
        TokenKind::BlockComment => {
            let end = if tok.len() >= 4 && tok.ends_with("*/") {
                tok.len() - 2
            } else {
                tok.len()
            };
            let start = 2 + tok[2.min(end)..end]
                .bytes()
                .take_while(|&b| b == b'*' || b == b'!')
                .count();
            start.min(end)..end
        }
        _ => {
            let start = tok.bytes().take_while(|&b| b == b'-' || b == b'#').count();
            start..tok.len()
        }
    }
}

enum Parsed {
    Directive(Scope, Range<usize>, Vec<RuleRef>),
    Bad(String),
}

/// Reads a comment at `offset` in the file. `None` when it is no directive.
fn parse_comment(tok: &str, kind: TokenKind, offset: usize) -> Option<Parsed> {
    let body = comment_body(tok, kind);
    let text = &tok[body.clone()];
    // Block comments may start their lines with `*` (` * twice:ignore`).
    let lead = text.len()
        - text
            .trim_start_matches(|c: char| c.is_whitespace() || c == '*')
            .len();
    let start = body.start + lead;
    let rest = &tok[start..body.end];
    if rest.len() < 6 || !rest.is_char_boundary(6) || !rest[..6].eq_ignore_ascii_case("twice:") {
        return None;
    }
    let after = &rest[6..];
    let word_len = after
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        .count();
    if word_len == 0 {
        // "-- twice: the table is created twice" is prose.
        return None;
    }
    let word = &after[..word_len];
    let scope = match word.to_ascii_lowercase().as_str() {
        "ignore" => Scope::Statement,
        "ignore-file" => Scope::File,
        _ => return Some(Parsed::Bad(format!("twice:{word}"))),
    };
    // Ids run from after the directive (and an optional `:`) to a `--`
    // that starts a reason, or to the end of the comment.
    let mut ids_start = start + 6 + word_len;
    let mut tail = &tok[ids_start..body.end];
    if let Some(t) = tail.strip_prefix(':') {
        ids_start += 1;
        tail = t;
    }
    if let Some(c) = tail.chars().next() {
        if !c.is_whitespace() && c != ',' {
            // `twice:ignored`, `twice:ignore/...`: not ours.
            return Some(Parsed::Bad(format!(
                "twice:{word}{}",
                tail.split_whitespace().next().unwrap_or("")
            )));
        }
    }
    let ids_text = match tail.find("--") {
        Some(i) => &tail[..i],
        None => tail,
    };
    let mut ids = Vec::new();
    let mut i = 0;
    let bytes = ids_text.as_bytes();
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() || bytes[i] == b',' {
            i += 1;
            continue;
        }
        let s = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b',' {
            i += 1;
        }
        ids.push(RuleRef {
            id: ids_text[s..i].to_ascii_lowercase(),
            span: offset + ids_start + s..offset + ids_start + i,
        });
    }
    let ids_span = match (ids.first(), ids.last()) {
        (Some(a), Some(b)) => a.span.start..b.span.end,
        _ => offset + ids_start..offset + ids_start,
    };
    Some(Parsed::Directive(scope, ids_span, ids))
}

/// Reads one comment token (`--`, `#` or `/* */`, as lexed at file offset
/// `offset`): the directive's scope and rule ids when it is a `twice:ignore`
/// or `twice:ignore-file` comment. For the editor's hover.
pub fn parse_directive(tok: &str, kind: TokenKind, offset: usize) -> Option<(Scope, Vec<RuleRef>)> {
    match parse_comment(tok, kind, offset)? {
        Parsed::Directive(scope, _, ids) => Some((scope, ids)),
        Parsed::Bad(_) => None,
    }
}

/// Finds the suppressions in one file and what each one covers.
pub fn scan(unit: &FileUnit) -> FileSuppressions {
    let mut out = FileSuppressions::default();
    let text = &unit.source.text;
    if unit.source.binary || !contains_ignore_case(text, "twice:") {
        return out;
    }
    let toks = file_tokens(unit);
    let starts: BTreeMap<usize, usize> = unit
        .statements
        .iter()
        .map(|s| (s.span.start, s.index))
        .collect();
    let line_of = |offset: usize| unit.source.line_col(offset).0;
    // For each token, the first token from it on that is code or a blank
    // line (white space holding two line breaks): where a statement-scope
    // directive's search for "the next code" stops. Computed once, so that
    // a file of many directives is read in linear time.
    let mut stop = vec![toks.len(); toks.len() + 1];
    for j in (0..toks.len()).rev() {
        let t = &toks[j];
        let here = match t.kind {
            TokenKind::Whitespace => line_breaks(&text[t.span.clone()]) > 1,
            TokenKind::LineComment | TokenKind::BlockComment => false,
            _ => true,
        };
        stop[j] = if here { j } else { stop[j + 1] };
    }
    for (k, tok) in toks.iter().enumerate() {
        if !matches!(tok.kind, TokenKind::LineComment | TokenKind::BlockComment) {
            continue;
        }
        let raw = &text[tok.span.clone()];
        let (scope, ids_span, ids) = match parse_comment(raw, tok.kind, tok.span.start) {
            None => continue,
            Some(Parsed::Bad(written)) => {
                out.bad.push(BadDirective {
                    span: tok.span.clone(),
                    written,
                });
                continue;
            }
            Some(Parsed::Directive(s, span, ids)) => (s, span, ids),
        };
        // Alone on its line(s), or after code?
        let mut own_line = true;
        for prev in toks[..k].iter().rev() {
            match prev.kind {
                TokenKind::Whitespace if line_breaks(&text[prev.span.clone()]) > 0 => break,
                TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment => {}
                _ => {
                    own_line = false;
                    break;
                }
            }
        }
        let mut nothing_after = true;
        for next in &toks[k + 1..] {
            match next.kind {
                TokenKind::Whitespace if line_breaks(&text[next.span.clone()]) > 0 => break,
                TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment => {}
                _ => {
                    nothing_after = false;
                    break;
                }
            }
        }
        let mut statements = Vec::new();
        let mut line = None;
        if scope == Scope::Statement {
            if own_line {
                // The next code, with nothing but comments and at most one
                // line break per gap (no blank line) in between.
                if let Some(next) = toks
                    .get(stop[k + 1])
                    .filter(|t| t.kind != TokenKind::Whitespace)
                {
                    line = Some(line_of(next.span.start));
                    if let Some(&idx) = starts.get(&next.span.start) {
                        statements.push(idx);
                    }
                }
            } else {
                // At the end of a line: the statements that start on it.
                let l = line_of(tok.span.start);
                line = Some(l);
                // (Found from the comment backwards: the statements of the
                // line only, not every statement of the file.)
                let mut on_line: Vec<usize> = starts
                    .range(..tok.span.start)
                    .rev()
                    .take_while(|(&start, _)| line_of(start) == l)
                    .map(|(_, &index)| index)
                    .collect();
                on_line.reverse();
                statements.extend(on_line);
            }
        }
        out.suppressions.push(Suppression {
            scope,
            span: tok.span.clone(),
            ids_span,
            ids,
            statements,
            line,
            own_line: own_line && nothing_after,
        });
    }
    out
}

/// `needle` (ASCII) in `haystack`, ignoring ASCII case, without allocating.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    let h = haystack.as_bytes();
    match n.split_last() {
        // A needle that ends in a character without case (`twice:`, looked
        // for in every file): that character is searched for (a fast
        // search), and what comes before it compared there.
        Some((&last, head)) if last.is_ascii() && !last.is_ascii_alphabetic() => haystack
            .match_indices(char::from(last))
            .any(|(at, _)| at >= head.len() && h[at - head.len()..at].eq_ignore_ascii_case(head)),
        _ => h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)),
    }
}

/// Usage of one suppression: per id (or one flag for "every rule").
struct Usage {
    used: Vec<bool>,
    any: bool,
}

/// Removes suppressed findings and adds `unused-suppression` findings for
/// suppressions that silenced nothing. `replayed(file)` says whether replay
/// ran on a file (index into `ws.files`): a suppression of a replay rule in a
/// file that was not replayed cannot be judged and is not reported.
pub fn apply(
    ws: &Workspace,
    findings: Vec<Finding>,
    replayed: &dyn Fn(usize) -> bool,
) -> Vec<Finding> {
    let known: Vec<(&str, Origin)> = rules::registry().iter().map(|m| (m.id, m.origin)).collect();
    apply_with(ws, findings, replayed, &known)
}

/// [`apply`] with the rule ids (and who reports them) given: `known` stands
/// for the registry.
pub fn apply_with(
    ws: &Workspace,
    findings: Vec<Finding>,
    replayed: &dyn Fn(usize) -> bool,
    known: &[(&str, Origin)],
) -> Vec<Finding> {
    let origin_of = |id: &str| {
        if id == UNUSED.id {
            return Some(Origin::Static);
        }
        known.iter().find(|k| k.0 == id).map(|k| k.1)
    };
    let scans: Vec<FileSuppressions> = ws.files.iter().map(scan).collect();
    if scans
        .iter()
        .all(|s| s.suppressions.is_empty() && s.bad.is_empty())
    {
        return findings;
    }
    let by_name: BTreeMap<&str, usize> = ws
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.source.name.as_str(), i))
        .collect();
    let mut usage: Vec<Vec<Usage>> = scans
        .iter()
        .map(|s| {
            s.suppressions
                .iter()
                .map(|x| Usage {
                    used: vec![false; x.ids.len()],
                    any: false,
                })
                .collect()
        })
        .collect();
    let mut kept = Vec::with_capacity(findings.len());
    for f in findings {
        let Some(&fi) = by_name.get(f.file.as_str()) else {
            kept.push(f);
            continue;
        };
        let mut silenced = false;
        for (si, s) in scans[fi].suppressions.iter().enumerate() {
            let covers = match s.scope {
                Scope::File => true,
                Scope::Statement => match f.statement {
                    Some(idx) => s.statements.contains(&idx),
                    None => s.line == Some(f.line),
                },
            };
            if !covers {
                continue;
            }
            let u = &mut usage[fi][si];
            if s.ids.is_empty() {
                u.any = true;
                silenced = true;
            } else {
                for (ii, r) in s.ids.iter().enumerate() {
                    if r.id == f.rule {
                        u.used[ii] = true;
                        u.any = true;
                        silenced = true;
                    }
                }
            }
        }
        if !silenced {
            kept.push(f);
        }
    }
    let has_replay_rules = known.iter().any(|k| k.1 == Origin::Replay);
    let mut out = kept;
    for (fi, scan) in scans.iter().enumerate() {
        // Reports with the index of the suppression they are about (`None`
        // for a misspelled directive).
        let mut reports: Vec<(Option<usize>, Finding)> = Vec::new();
        // Per suppression: its unknown ids, and the ids (or `usize::MAX`
        // for an id-less one) that silence nothing.
        let mut unknown_of: Vec<Vec<bool>> = Vec::new();
        let mut unused_of: Vec<Vec<usize>> = Vec::new();
        let mut used_of: Vec<Vec<bool>> = Vec::new();
        let unit = &ws.files[fi];
        let b = FindingBuilder { file: &unit.source };
        let judged = |id: Option<&str>| -> bool {
            if replayed(fi) {
                return true;
            }
            match id {
                Some(id) => origin_of(id) != Some(Origin::Replay),
                None => !has_replay_rules,
            }
        };
        for bad in &scan.bad {
            let wanted = ["twice:ignore", "twice:ignore-file"];
            let hint =
                crate::config::did_you_mean(&bad.written.to_ascii_lowercase(), wanted.into_iter());
            let mut f = b.at(
                UNUSED.id,
                UNUSED.severity,
                Origin::Static,
                bad.span.clone(),
                format!("unknown directive `{}` silences nothing{hint}", bad.written),
            );
            f.help = Some(
                "write `twice:ignore rule-id, ...` above a statement or `twice:ignore-file rule-id, ...` anywhere in the file"
                    .into(),
            );
            reports.push((None, f));
        }
        for (si, s) in scan.suppressions.iter().enumerate() {
            let u = &usage[fi][si];
            let directive = s.scope.directive();
            // Unknown ids first: they can never silence anything.
            let unknown: Vec<bool> = s.ids.iter().map(|r| origin_of(&r.id).is_none()).collect();
            let bad: Vec<&RuleRef> = s
                .ids
                .iter()
                .zip(&unknown)
                .filter(|(_, u)| **u)
                .map(|(r, _)| r)
                .collect();
            if let (Some(first), Some(last)) = (bad.first(), bad.last()) {
                let message = if bad.len() == 1 {
                    let hint = crate::config::did_you_mean(&first.id, known.iter().map(|k| k.0));
                    format!(
                        "unknown rule `{}` in `{directive}` silences nothing{hint}",
                        first.id
                    )
                } else {
                    let names: Vec<String> = bad.iter().map(|r| format!("`{}`", r.id)).collect();
                    format!(
                        "unknown rules {} in `{directive}` silence nothing",
                        names.join(", ")
                    )
                };
                let mut f = b.at(
                    UNUSED.id,
                    UNUSED.severity,
                    Origin::Static,
                    first.span.start..last.span.end,
                    message,
                );
                f.help = Some(
                    "run `twice rules` for the rule ids; a reason goes after ` -- `, as in `-- twice:ignore rule-id -- why`"
                        .into(),
                );
                reports.push((Some(si), f));
            }
            // `unused-suppression` in a file-wide suppression is judged
            // below, once the other reports of the file are known.
            let deferred = |ii: usize| s.scope == Scope::File && s.ids[ii].id == UNUSED.id;
            let unused: Vec<usize> = if s.ids.is_empty() {
                if u.any || !judged(None) {
                    Vec::new()
                } else {
                    vec![usize::MAX]
                }
            } else {
                (0..s.ids.len())
                    .filter(|&ii| {
                        !unknown[ii] && !u.used[ii] && !deferred(ii) && judged(Some(&s.ids[ii].id))
                    })
                    .collect()
            };
            unknown_of.push(unknown);
            unused_of.push(unused);
            used_of.push(u.used.clone());
        }
        // A file-wide `unused-suppression` is used when there is another
        // report in the file for it to silence.
        let silencers: Vec<(usize, usize)> = scan
            .suppressions
            .iter()
            .enumerate()
            .filter(|(_, s)| s.scope == Scope::File)
            .flat_map(|(si, s)| {
                s.ids
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.id == UNUSED.id)
                    .map(move |(ii, _)| (si, ii))
            })
            .collect();
        for &(si, ii) in &silencers {
            let other_report = reports.iter().any(|(owner, _)| *owner != Some(si))
                || unused_of
                    .iter()
                    .enumerate()
                    .any(|(x, u)| x != si && !u.is_empty());
            if other_report {
                used_of[si][ii] = true;
            } else {
                unused_of[si].push(ii);
                unused_of[si].sort_unstable();
            }
        }
        for (si, s) in scan.suppressions.iter().enumerate() {
            if !unused_of[si].is_empty() {
                let f = unused_report(unit, s, &unused_of[si], &unknown_of[si], &used_of[si]);
                reports.push((Some(si), f));
            }
        }
        for (owner, f) in reports {
            let silenced = silencers.iter().any(|&(si, _)| Some(si) != owner);
            if !silenced {
                out.push(f);
            }
        }
    }
    out
}

/// The `unused-suppression` finding for suppression `s` whose ids at
/// `unused` (or, with `usize::MAX`, the whole id-less suppression) silence
/// nothing.
fn unused_report(
    unit: &FileUnit,
    s: &Suppression,
    unused: &[usize],
    unknown: &[bool],
    used: &[bool],
) -> Finding {
    let b = FindingBuilder { file: &unit.source };
    let text = &unit.source.text;
    let directive = s.scope.directive();
    let names: Vec<String> = unused
        .iter()
        .filter_map(|&i| s.ids.get(i))
        .map(|r| format!("`{}`", r.id))
        .collect();
    // No id silences anything (the rest are unknown): the comment goes.
    let whole = unused.first() == Some(&usize::MAX) || !used.iter().any(|&u| u);
    let where_ = match s.scope {
        Scope::File => format!("{} has", unit.source.name),
        Scope::Statement => match (s.statements.first(), s.line) {
            (Some(_), Some(l)) if s.statements.len() == 1 => {
                format!("the statement at line {l} has")
            }
            (Some(_), Some(l)) => format!("the statements at line {l} have"),
            _ => String::new(),
        },
    };
    let what = if names.is_empty() {
        "findings".to_string()
    } else {
        format!("{} finding", names.join(" or "))
    };
    let message = if s.scope == Scope::Statement && where_.is_empty() {
        format!("`{directive}` is not next to a statement, so it silences nothing")
    } else if whole {
        format!("`{directive}` silences nothing: {where_} no {what}")
    } else {
        format!(
            "{} in `{directive}` silence{} nothing: {where_} no {what}",
            names.join(", "),
            if names.len() == 1 { "s" } else { "" }
        )
    };
    let mut f = b.at(
        UNUSED.id,
        UNUSED.severity,
        Origin::Static,
        s.span.clone(),
        message,
    );
    f.evidence = Some(serde_json::json!({
        "directive": directive,
        "unused": unused.iter().filter_map(|&i| s.ids.get(i)).map(|r| r.id.clone()).collect::<Vec<_>>(),
    }));
    // The fix: drop the ids that silence nothing, or the whole comment.
    let keep: Vec<&str> = s
        .ids
        .iter()
        .enumerate()
        .filter(|(i, _)| used[*i] || (unknown[*i] && !whole))
        .map(|(_, r)| r.id.as_str())
        .collect();
    if s.scope == Scope::Statement && where_.is_empty() {
        f.help = Some("`twice:ignore` applies to the statement on the line below it (comment lines may come between, a blank line may not) or to the statements whose first line it ends; move it there, or remove it".into());
    } else if whole && keep.is_empty() {
        f.help = Some("remove the comment".into());
        f.fix = Some(Fix {
            description: "remove the unused suppression".into(),
            edits: vec![Edit {
                span: removal_span(text, s),
                replacement: String::new(),
            }],
            applicability: crate::finding::Applicability::Safe,
        });
    } else {
        let joined = keep.join(", ");
        f.help = Some(format!(
            "remove {} from the comment: `{directive} {joined}`",
            names.join(", ")
        ));
        f.fix = Some(Fix {
            description: format!("remove {} from the suppression", names.join(", ")),
            edits: vec![Edit {
                span: s.ids_span.clone(),
                replacement: joined,
            }],
            applicability: crate::finding::Applicability::Safe,
        });
    }
    f
}

/// The span to delete to remove a suppression comment: its whole line when
/// it stands alone, else the comment and the blanks before it.
fn removal_span(text: &str, s: &Suppression) -> Range<usize> {
    let bytes = text.as_bytes();
    let mut start = s.span.start;
    while start > 0 && matches!(bytes[start - 1], b' ' | b'\t') {
        start -= 1;
    }
    let mut end = s.span.end;
    if s.own_line && (start == 0 || matches!(bytes[start - 1], b'\n' | b'\r')) {
        while end < bytes.len() && matches!(bytes[end], b' ' | b'\t') {
            end += 1;
        }
        if bytes.get(end) == Some(&b'\r') {
            end += 1;
        }
        if bytes.get(end) == Some(&b'\n') {
            end += 1;
        }
        start..end
    } else {
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_found_in_any_case() {
        for text in ["-- twice: ignore", "--TWICE:x", "a::b; -- Twice:", "twice:"] {
            assert!(contains_ignore_case(text, "twice:"), "{text}");
        }
        for text in ["", "twice", "twic:", "x::y", ":twice", "twice ;", "wice:"] {
            assert!(!contains_ignore_case(text, "twice:"), "{text}");
        }
        assert!(contains_ignore_case("ab TwIcE", "twice"));
        assert!(!contains_ignore_case("ab twic", "twice"));
    }

    fn parse(c: &str) -> Option<(Scope, Vec<String>)> {
        let kind = if c.starts_with("/*") {
            TokenKind::BlockComment
        } else {
            TokenKind::LineComment
        };
        match parse_comment(c, kind, 0)? {
            Parsed::Directive(s, _, ids) => Some((s, ids.into_iter().map(|r| r.id).collect())),
            Parsed::Bad(w) => Some((Scope::File, vec![format!("BAD {w}")])),
        }
    }

    #[test]
    fn directives_and_ids() {
        assert_eq!(parse("-- twice:ignore"), Some((Scope::Statement, vec![])));
        assert_eq!(
            parse("--twice:ignore a, b c"),
            Some((Scope::Statement, vec!["a".into(), "b".into(), "c".into()]))
        );
        assert_eq!(
            parse("-- TWICE:IGNORE-FILE Rule-A -- reason, with words"),
            Some((Scope::File, vec!["rule-a".into()]))
        );
        assert_eq!(
            parse("/** twice:ignore: a */"),
            Some((Scope::Statement, vec!["a".into()]))
        );
        assert_eq!(parse("-- twice: runs twice"), None);
        assert_eq!(parse("-- see twice:ignore"), None);
        assert_eq!(parse("/* twice:ignore"), Some((Scope::Statement, vec![])));
        assert_eq!(
            parse("-- twice:ingore a"),
            Some((Scope::File, vec!["BAD twice:ingore".into()]))
        );
        assert_eq!(
            parse("-- twice:ignored"),
            Some((Scope::File, vec!["BAD twice:ignored".into()]))
        );
    }

    #[test]
    fn id_spans_point_into_the_comment() {
        let c = "-- twice:ignore  aa,bb -- x";
        let Some(Parsed::Directive(_, span, ids)) = parse_comment(c, TokenKind::LineComment, 10)
        else {
            panic!("not a directive")
        };
        assert_eq!(&c[ids[0].span.start - 10..ids[0].span.end - 10], "aa");
        assert_eq!(&c[ids[1].span.start - 10..ids[1].span.end - 10], "bb");
        assert_eq!(&c[span.start - 10..span.end - 10], "aa,bb");
    }

    #[test]
    fn crlf_counts_as_one_line_break() {
        assert_eq!(line_breaks("\r\n"), 1);
        assert_eq!(line_breaks("\r\n\r\n"), 2);
        assert_eq!(line_breaks("\n\r"), 2);
    }
}
