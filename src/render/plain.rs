//! The common shapes of a `--format human` block, drawn directly when colour
//! is off: byte for byte what annotate-snippets draws for them, at a
//! fraction of its cost (drawing the findings was a third of a static run's
//! time on large reports, issue #18).
//!
//! A block qualifies when everything drawn is printable ASCII without tabs
//! (nothing for annotate-snippets to normalise or measure), every line fits
//! the 140 columns annotate-snippets draws in without trimming its left
//! margin, and the fix, if any, only inserts text on one line (drawn with
//! `+++` under what is inserted). Anything else returns `None` and goes to
//! annotate-snippets. Debug builds (the tests) draw every qualifying block
//! both ways and compare.

use std::fmt::Write as _;
use std::ops::Range;

/// What annotate-snippets is given for one block: a title, a frame of
/// source lines with the primary span (and, when folded, the lines kept
/// visible), and an optional suggestion.
pub(super) struct Block<'a> {
    pub level: &'a str,
    pub id: &'a str,
    pub title: &'a str,
    pub path: &'a str,
    pub source: &'a str,
    pub line_start: usize,
    pub primary: Range<usize>,
    pub visible: &'a [Range<usize>],
    pub fold: bool,
    pub suggestion: Option<Insertions<'a>>,
}

/// A fix drawn as a suggestion: its description and the source line(s) with
/// the edits as spans of that text.
pub(super) struct Insertions<'a> {
    pub description: &'a str,
    pub source: &'a str,
    pub line_start: usize,
    pub edits: &'a [(Range<usize>, String)],
}

/// annotate-snippets' default terminal width.
const TERM_WIDTH: usize = 140;
/// Leading blanks annotate-snippets leaves before it trims a left margin
/// (its `LONG_WHITESPACE` plus the `ELLIPSIS_PASSING` it takes off first).
const UNTRIMMED_INDENT: usize = 20 + 6;

fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// `\n`s in `s`, not counting one at its very end (annotate-snippets'
/// count of the lines after the first).
fn newline_count(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count() - usize::from(s.ends_with('\n'))
}

fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn leading_blanks(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The block as annotate-snippets would draw it without colour, or `None`
/// when it is not one of the shapes drawn here.
pub(super) fn draw(b: &Block) -> Option<String> {
    if ![b.level, b.id, b.title, b.path]
        .iter()
        .all(|s| printable(s))
        || !b
            .source
            .bytes()
            .all(|c| c == b'\n' || (0x20..=0x7e).contains(&c))
        || b.primary.start > b.primary.end
        || b.primary.end > b.source.len()
        // (annotate-snippets does not draw a last line that is empty)
        || b.source.ends_with('\n')
    {
        return None;
    }
    let lines: Vec<&str> = b.source.split('\n').collect();
    let mut starts = Vec::with_capacity(lines.len());
    let mut at = 0;
    for l in &lines {
        starts.push(at);
        at += l.len() + 1;
    }
    // The line holding an offset (an offset at a line's end is on it).
    let line_of = |o: usize| starts.partition_point(|&s| s <= o) - 1;
    let p_line = line_of(b.primary.start);
    if line_of(b.primary.end) != p_line {
        return None;
    }
    let p_col = b.primary.start - starts[p_line];
    // An empty span is drawn one column wide.
    let p_width = (b.primary.end - b.primary.start).max(1);

    // The lines drawn, with (at most) one line between two of them drawn
    // too and a longer gap drawn as `...`.
    let annotated: Vec<usize> = if b.fold {
        let mut keep = vec![p_line];
        for v in b.visible {
            if v.start > v.end || v.end > b.source.len() {
                return None;
            }
            keep.extend(line_of(v.start)..=line_of(v.end));
        }
        keep.sort_unstable();
        keep.dedup();
        keep
    } else {
        (0..lines.len()).collect()
    };
    let mut max_line = if b.fold {
        let end = b
            .visible
            .iter()
            .map(|v| v.end)
            .chain([b.primary.end])
            .max()
            .unwrap_or(b.source.len())
            .min(b.source.len());
        b.line_start + newline_count(&b.source[..end])
    } else {
        b.line_start + newline_count(b.source)
    };

    // The suggestion: insertions only, on its one line.
    let suggestion = match &b.suggestion {
        None => None,
        Some(s) => {
            if !printable(s.description)
                || !printable(s.source)
                || s.edits.is_empty()
                || s.edits.iter().any(|(span, text)| {
                    !span.is_empty()
                        || span.start > s.source.len()
                        || !printable(text)
                        || text.trim().is_empty()
                })
                || s.edits.windows(2).any(|w| w[1].0.start < w[0].0.start)
            {
                return None;
            }
            let mut line = String::with_capacity(s.source.len() + 32);
            let mut from = 0;
            let mut underline = String::new();
            let mut shift = 0;
            for (span, text) in s.edits {
                line.push_str(&s.source[from..span.start]);
                line.push_str(text);
                from = span.start;
                let lead = text.len() - text.trim_start().len();
                let start = span.start + shift + lead;
                while underline.len() < start {
                    underline.push(' ');
                }
                underline.truncate(start);
                underline.push_str(&"+".repeat(text.trim().len()));
                shift += text.len();
            }
            line.push_str(&s.source[from..]);
            // annotate-snippets shows a sole insertion that is all the
            // line holds differently.
            if s.edits.len() == 1 && s.edits[0].1.trim() == line.trim() {
                return None;
            }
            max_line = max_line.max(s.line_start);
            Some((s.description, s.line_start, line, underline))
        }
    };

    let w = digits(max_line);
    let column_width = TERM_WIDTH.saturating_sub(3 + w);
    // Every line that may be drawn fits, and the left margin is not trimmed.
    let mut indent = usize::MAX;
    for &i in &annotated {
        if lines[i].len() > column_width {
            return None;
        }
        if !lines[i].trim().is_empty() {
            indent = indent.min(leading_blanks(lines[i]));
        }
    }
    for pair in annotated.windows(2) {
        if pair[1] - pair[0] == 2 && lines[pair[0] + 1].len() > column_width {
            return None;
        }
    }
    if indent == usize::MAX {
        indent = 0;
    }
    if indent.min(p_col) > UNTRIMMED_INDENT {
        return None;
    }

    let mut out = String::with_capacity(b.source.len() + 256);
    let bar = |out: &mut String| {
        out.extend(std::iter::repeat_n(' ', w + 1));
        out.push('|');
    };
    let code = |out: &mut String, i: usize| {
        let _ = write!(out, "{:>w$} |", b.line_start + i);
        if !lines[i].is_empty() {
            out.push(' ');
            out.push_str(lines[i]);
        }
        out.push('\n');
    };
    let _ = writeln!(out, "{}[{}]: {}", b.level, b.id, b.title);
    out.extend(std::iter::repeat_n(' ', w));
    let _ = writeln!(
        out,
        "--> {}:{}:{}",
        b.path,
        b.line_start + p_line,
        p_col + 1
    );
    bar(&mut out);
    out.push('\n');
    for (k, &i) in annotated.iter().enumerate() {
        code(&mut out, i);
        if i == p_line {
            bar(&mut out);
            out.extend(std::iter::repeat_n(' ', 1 + p_col));
            out.extend(std::iter::repeat_n('^', p_width));
            out.push('\n');
        }
        if let Some(&next) = annotated.get(k + 1) {
            match next - i {
                2 => code(&mut out, i + 1),
                d if d > 2 => out.push_str("...\n"),
                _ => {}
            }
        }
    }
    if suggestion.is_some() || annotated.last() != Some(&p_line) {
        bar(&mut out);
        out.push('\n');
    }
    if let Some((description, n, line, underline)) = suggestion {
        let _ = writeln!(out, "help: {description}");
        bar(&mut out);
        out.push('\n');
        let _ = writeln!(out, "{n:>w$} | {line}");
        bar(&mut out);
        out.push(' ');
        out.push_str(&underline);
        out.push('\n');
    }
    // annotate-snippets ends without a line end.
    out.pop();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use annotate_snippets::{AnnotationKind, Group, Level, Patch, Renderer, Snippet};

    /// What `human` hands annotate-snippets for the same block.
    fn annotate(b: &Block) -> String {
        let level = match b.level {
            "error" => Level::ERROR,
            "warning" => Level::WARNING,
            _ => Level::INFO,
        };
        let mut snippet = Snippet::source(b.source)
            .line_start(b.line_start)
            .path(b.path)
            .fold(b.fold)
            .annotation(AnnotationKind::Primary.span(b.primary.clone()));
        for v in b.visible {
            snippet = snippet.annotation(AnnotationKind::Visible.span(v.clone()));
        }
        let mut groups =
            vec![Group::with_title(level.primary_title(b.title).id(b.id)).element(snippet)];
        if let Some(s) = &b.suggestion {
            groups.push(
                Group::with_title(Level::HELP.secondary_title(s.description)).element(
                    Snippet::source(s.source)
                        .line_start(s.line_start)
                        .path(b.path)
                        .patches(
                            s.edits
                                .iter()
                                .map(|(span, text)| Patch::new(span.clone(), text.as_str())),
                        ),
                ),
            );
        }
        Renderer::plain().render(&groups)
    }

    /// A frame as `human::Frame` builds it: `n` lines from `first`, the
    /// primary span on line `at` (0-based), folded past 8 lines with the
    /// first 4 and the last line visible.
    fn frame(
        lines: &[String],
        at: usize,
        col: usize,
        len: usize,
    ) -> (String, Range<usize>, Vec<Range<usize>>, bool) {
        let source = lines.join("\n");
        let mut starts = Vec::new();
        let mut o = 0;
        for l in lines {
            starts.push(o);
            o += l.len() + 1;
        }
        let line = |i: usize| starts[i]..starts[i] + lines[i].len();
        let col = col.min(lines[at].len());
        let end = (col + len).min(lines[at].len());
        let primary = starts[at] + col..starts[at] + end;
        let fold = lines.len() > 8;
        let visible = if fold {
            (0..4).map(line).chain([line(lines.len() - 1)]).collect()
        } else {
            Vec::new()
        };
        (source, primary, visible, fold)
    }

    #[test]
    fn draws_what_annotate_snippets_draws() {
        let mut drawn = 0;
        let mut declined = 0;
        let words = [
            "CREATE TABLE t (",
            "  id INT,",
            "",
            "    name TEXT NOT NULL",
            ");",
        ];
        for n in [1usize, 2, 3, 8, 9, 10, 12] {
            for indent in [0usize, 4, 26, 27, 40] {
                for width in [10usize, 100, 130, 134, 135, 136, 137, 200] {
                    for line_start in [1usize, 7, 95, 998] {
                        let lines: Vec<String> = (0..n)
                            .map(|i| {
                                let w = words[i % words.len()];
                                let mut l = format!("{}{w}", " ".repeat(indent));
                                if i == n / 2 {
                                    while l.len() < width {
                                        l.push('x');
                                    }
                                }
                                l
                            })
                            .collect();
                        for at in [0, n / 2, n - 1] {
                            for (col, len) in
                                [(0, 6), (indent, 0), (indent + 2, 3), (usize::MAX, 0)]
                            {
                                let (source, primary, visible, fold) = frame(&lines, at, col, len);
                                let first = &lines[0];
                                let mut inserts = vec![
                                    None,
                                    Some(vec![(
                                        first.len().min(6)..first.len().min(6),
                                        " IF NOT EXISTS".to_string(),
                                    )]),
                                    Some(vec![
                                        (0..0, "x ".to_string()),
                                        (first.len()..first.len(), " ;".to_string()),
                                    ]),
                                ];
                                if first.trim().is_empty() {
                                    inserts.push(Some(vec![(
                                        first.len()..first.len(),
                                        "y".to_string(),
                                    )]));
                                }
                                for edits in inserts {
                                    let edits = edits.unwrap_or_default();
                                    let b = Block {
                                        level: "warning",
                                        id: "rule-id",
                                        title: "a title",
                                        path: "db/001.sql",
                                        source: &source,
                                        line_start,
                                        primary: primary.clone(),
                                        visible: &visible,
                                        fold,
                                        suggestion: (!edits.is_empty()).then(|| Insertions {
                                            description: "insert it (fixable)",
                                            source: first,
                                            line_start,
                                            edits: &edits,
                                        }),
                                    };
                                    match draw(&b) {
                                        Some(plain) => {
                                            assert_eq!(plain, annotate(&b), "n={n} indent={indent} width={width} line_start={line_start} at={at} col={col}");
                                            drawn += 1;
                                        }
                                        None => declined += 1,
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Both ways are taken: the comparison above is not empty, and the
        // shapes drawn here are not everything.
        assert!(drawn > 5_000, "{drawn} drawn");
        assert!(declined > 1_000, "{declined} declined");
    }

    #[test]
    fn declines_what_it_does_not_draw() {
        let b = |source: &'static str| Block {
            level: "error",
            id: "r",
            title: "t",
            path: "p.sql",
            source,
            line_start: 1,
            primary: 0..1,
            visible: &[],
            fold: false,
            suggestion: None,
        };
        assert!(draw(&b("SELECT 1;")).is_some());
        assert!(draw(&b("S\tELECT 1;")).is_none(), "a tab");
        assert!(draw(&b("SÉLECT 1;")).is_none(), "not ASCII");
        assert!(draw(&b("S\u{1b}[31m;")).is_none(), "a control character");
        let edits = [(0..1, "Y".to_string())];
        let mut replacing = b("SELECT 1;");
        replacing.suggestion = Some(Insertions {
            description: "d",
            source: "SELECT 1;",
            line_start: 1,
            edits: &edits,
        });
        assert!(draw(&replacing).is_none(), "a replacement");
    }
}
