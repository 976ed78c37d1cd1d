//! `--format human`: rustc-style diagnostics, drawn by annotate-snippets.
//!
//! One block per finding:
//!
//! ```text
//! error[create-without-if-not-exists]: CREATE TABLE customers runs only once
//!   --> migrations/001_init.sql:3:1
//!    |
//!  3 | CREATE TABLE customers (
//!    | ^^^^^^
//! ...
//!  9 | );
//!    |
//!    = help: write `CREATE TABLE IF NOT EXISTS customers` (fixable with `twice check --fix`)
//!    = note: confirmed by replay: second run failed: table customers already exists
//! ```
//!
//! - The frame shows the whole statement; a statement longer than
//!   [`MAX_FRAME_LINES`] shows its first [`HEAD_LINES`] lines, the line of the
//!   reported position and its last line, with `...` for what is left out.
//!   The caret underlines the token at the reported position.
//! - A replay finding about the same statement as a static finding
//!   ([`Finding::related`]) is not printed as a block of its own: the static
//!   block says "confirmed by replay: ..." and carries the replay finding's
//!   notes and details. (Only when the replay finding is more severe than
//!   every static finding it confirms does it keep its own block, so a
//!   severity is never understated; both blocks then point at each other.)
//!   The JSON output keeps both findings.
//! - A message of several lines (replay's schema and row diffs) shows its
//!   first line as the title and the rest after the frame, in the gutter;
//!   diff lines are coloured `+`/`-` when colour is on.
//! - `Finding::evidence` is for programs (JSON, SARIF); whatever a person must
//!   read is in the message and notes.
//! - [`Report::notices`] are printed as `note:` lines before the summary.
//! - The summary names files, statements and the findings shown by severity
//!   (a replay finding merged into a static one is not counted again), the
//!   findings the baseline accepted, then one line per migration sequence
//!   with its layout, dialect and replay status. With [`BIG_REPORT`] findings
//!   or more it adds the count per rule and the [`TOP_FILES`] files with the
//!   most findings.
//!
//! Text from the input (SQL, file names) goes through annotate-snippets'
//! normalisation, so control characters cannot reach the terminal.

use super::{split_message, Plan, RenderOptions, Renderer};
use crate::finding::{Finding, Severity};
use crate::report::Report;
use crate::source::SourceFile;
use annotate_snippets::renderer::{AnsiColor, Effects, Style};
use annotate_snippets::{
    normalize_untrusted_str, AnnotationKind, Group, Level, Patch, Renderer as Drawer, Snippet,
};
use std::io::{self, Write};
use std::ops::Range;

/// A report with at least this many findings shown ends with counts per
/// rule and the files with the most findings.
pub const BIG_REPORT: usize = 20;
/// Files named in that line.
pub const TOP_FILES: usize = 5;

/// Statements up to this many lines are shown whole.
pub const MAX_FRAME_LINES: usize = 8;
/// Lines shown from the start of a longer statement.
pub const HEAD_LINES: usize = 4;

pub struct Human<'a> {
    opts: RenderOptions<'a>,
}

impl<'a> Human<'a> {
    pub fn new(opts: RenderOptions<'a>) -> Human<'a> {
        Human { opts }
    }

    fn drawer(&self) -> Drawer {
        if self.opts.color {
            Drawer::styled()
        } else {
            Drawer::plain()
        }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.opts.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

/// Findings drawn ahead of the writing, at most (see `render`).
const RENDER_BATCH: usize = 512;

/// Findings drawn together by one thread (see `render`).
const RENDER_CHUNK: usize = 16;

const GUTTER: Style = AnsiColor::BrightBlue.on_default().effects(Effects::BOLD);
const ADDED: Style = AnsiColor::Green.on_default();
const REMOVED: Style = AnsiColor::Red.on_default();
const HUNK: Style = AnsiColor::Cyan.on_default();
const BOLD: Style = Style::new().effects(Effects::BOLD);
const ERROR: Style = AnsiColor::BrightRed.on_default().effects(Effects::BOLD);
const WARNING: Style = AnsiColor::Yellow.on_default().effects(Effects::BOLD);
const INFO: Style = AnsiColor::BrightBlue.on_default().effects(Effects::BOLD);
const NOTE: Style = AnsiColor::BrightGreen.on_default().effects(Effects::BOLD);

impl Renderer for Human<'_> {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let plan = Plan::new(&report.findings);
        let drawer = self.drawer();
        let files = super::Files::new(report);
        if self.opts.jobs <= 1 {
            for (i, f) in report.findings.iter().enumerate() {
                if plan.merged[i] {
                    continue;
                }
                self.block(report, &files, &plan, i, f, &drawer, out)?;
            }
        } else {
            // Findings are drawn on `jobs` threads, a few hundred ahead of
            // the writing (so that a huge report is not held in memory
            // twice), and written in order by this thread as they come; a
            // few at a time, so that the threads meet once per handful.
            let shown: Vec<usize> = (0..report.findings.len())
                .filter(|&i| !plan.merged[i])
                .collect();
            // Each thread draws into the buffers it made before, handed back
            // once written (see `parallel::Recycler`).
            let chunks: Vec<&[usize]> = shown.chunks(RENDER_CHUNK).collect();
            let written: crate::parallel::Recycler<Vec<u8>> = Default::default();
            crate::parallel::stream(
                self.opts.jobs,
                &chunks,
                RENDER_BATCH / RENDER_CHUNK,
                usize::MAX,
                |_| 1,
                |chunk| {
                    let mut buf = written.take_own().pop().unwrap_or_default();
                    buf.clear();
                    for &i in *chunk {
                        self.block(
                            report,
                            &files,
                            &plan,
                            i,
                            &report.findings[i],
                            &drawer,
                            &mut buf,
                        )?;
                    }
                    Ok::<_, io::Error>(crate::parallel::Made::here(buf))
                },
                |drawn| {
                    for text in drawn {
                        let text = text?;
                        out.write_all(&text.value)?;
                        written.give_back(text);
                    }
                    Ok::<(), io::Error>(())
                },
            )?;
        }
        for notice in &super::notices_for_people(&report.notices) {
            writeln!(
                out,
                "{}: {}",
                self.paint(NOTE, "note"),
                crate::escape::printable(notice)
            )?;
        }
        if !report.notices.is_empty() {
            writeln!(out)?;
        }
        self.summary(report, &plan, out)
    }
}

impl Human<'_> {
    /// The summary without the findings (`--quiet`, `--statistics`,
    /// `--output-file`): the summary line alone with `line_only`, else also
    /// the sequence lines and the big-report lines.
    pub fn summary_block(
        &self,
        report: &Report,
        line_only: bool,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let plan = Plan::new(&report.findings);
        if !line_only {
            return self.summary(report, &plan, out);
        }
        let mut buf = Vec::new();
        self.summary(report, &plan, &mut buf)?;
        let text = String::from_utf8_lossy(&buf);
        writeln!(out, "{}", text.lines().next().unwrap_or(""))
    }

    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        report: &Report,
        files: &super::Files,
        plan: &Plan,
        i: usize,
        f: &Finding,
        drawer: &Drawer,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let findings = &report.findings;
        let (title, rest) = split_message(&f.message);
        let mut details: Vec<&str> = rest.into_iter().collect();
        let mut notes: Vec<String> = f.notes.clone();
        // Help lines of replay findings folded into this block that say
        // something the static help does not: a replay that failed for
        // another reason than the one the static rule gives (a first run
        // refused for want of privileges) needs its own way out. A second
        // run's failure confirms the static finding, whose help applies.
        let mut replay_helps: Vec<String> = Vec::new();
        for &(r, with_details) in &plan.confirmations[i] {
            let replay = &findings[r];
            let (_, more) = split_message(&replay.message);
            notes.push(super::replay_note(replay));
            if with_details {
                for n in &replay.notes {
                    // The same note (a Flyway repeatable's) once.
                    if !notes.contains(n) {
                        notes.push(n.clone());
                    }
                }
                details.extend(more);
                if let Some(h) = replay.help.as_ref().filter(|h| {
                    !replay.rule.starts_with("second-run-")
                        && !replay.rule.starts_with("down-second-run-")
                        && f.help.as_ref() != Some(*h)
                        && !replay_helps.contains(*h)
                }) {
                    replay_helps.push(h.clone());
                }
            }
        }
        for &r in &plan.see_below[i] {
            let replay = &findings[r];
            notes.push(format!(
                "replay reports this statement too, below as {}[{}]: {}",
                replay.severity,
                replay.rule,
                split_message(&replay.message).0
            ));
        }
        for &s in &plan.see_above[i] {
            // Two findings of one rule on the statement say it once.
            let note = format!(
                "the static rules report this statement too, above as {}[{}]",
                findings[s].severity, findings[s].rule
            );
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        // A fix small enough to show is drawn as a suggestion (the edited
        // lines with `+++` under what is inserted); otherwise the help line
        // carries the marker.
        let marker = f.fix.as_ref().map_or("", |fix| fix.applicability.marker());
        let suggestion = f.fix.as_ref().and_then(|fix| {
            files
                .file(&f.file)
                .and_then(|file| Suggestion::new(file, fix))
        });
        let help = match (&f.help, &f.fix, &suggestion) {
            (Some(h), Some(_), None) => Some(format!("{h} {marker}")),
            (None, Some(fix), None) => Some(format!("{} {marker}", fix.description)),
            (Some(h), _, _) => Some(h.clone()),
            (None, _, _) => None,
        };

        let (level, level_name) = match f.severity {
            Severity::Error => (Level::ERROR, "error"),
            Severity::Warning => (Level::WARNING, "warning"),
            Severity::Info => (Level::INFO, "info"),
        };
        // Everything from the input goes through the same normalisation as
        // the source lines, so no control character reaches the terminal.
        let clean = |s: &str| normalize_untrusted_str(&s.replace("\r\n", "\n").replace('\r', "\n"));
        let path = crate::escape::printable(&f.file).into_owned();
        let (title, rule) = (clean(title), clean(&f.rule));
        let stmt = f.statement.and_then(|s| files.statement_span(&f.file, s));
        let frame = files
            .file(&f.file)
            .filter(|file| !file.binary)
            .and_then(|file| Frame::new(file, stmt, f));
        let has_suggestion = suggestion.is_some() && f.fix.is_some();
        let fix_title = f
            .fix
            .as_ref()
            .map(|fix| clean(&format!("{} {marker}", fix.description)));
        // The common shapes are drawn here (see `super::plain`); debug
        // builds draw them with annotate-snippets too and compare.
        let plain = match &frame {
            Some(frame) if !self.opts.color && frame.drawn_column.is_none() => {
                super::plain::draw(&super::plain::Block {
                    level: level_name,
                    id: &rule,
                    title: &title,
                    path: &path,
                    source: &frame.source,
                    line_start: frame.line_start,
                    primary: frame.primary.clone(),
                    visible: &frame.visible,
                    fold: frame.fold,
                    suggestion: match (&suggestion, &fix_title) {
                        (Some(sug), Some(description)) => Some(super::plain::Insertions {
                            description,
                            source: &sug.source,
                            line_start: sug.line_start,
                            edits: &sug.edits,
                        }),
                        _ => None,
                    },
                })
            }
            _ => None,
        };
        // (as drawn, as it should read) for the `-->` line of a clipped frame.
        let mut fix_column: Option<(String, String)> = None;
        let mut all = match plain {
            Some(drawn) if !cfg!(debug_assertions) => drawn,
            plain => {
                let mut group = Group::with_title(level.primary_title(title).id(rule));
                match frame {
                    Some(frame) => {
                        if let Some(c) = frame.drawn_column {
                            fix_column = Some((
                                format!("{path}:{}:{c}", f.line),
                                format!("{path}:{}:{}", f.line, f.column),
                            ));
                        }
                        let mut snippet = Snippet::source(frame.source)
                            .line_start(frame.line_start)
                            .path(path.as_str())
                            .fold(frame.fold)
                            .annotation(AnnotationKind::Primary.span(frame.primary));
                        for v in frame.visible {
                            snippet = snippet.annotation(AnnotationKind::Visible.span(v));
                        }
                        group = group.element(snippet);
                    }
                    None => {
                        group = group.element(
                            annotate_snippets::Origin::path(path.as_str())
                                .line(f.line)
                                .char_column(f.column),
                        );
                    }
                }
                let mut groups = vec![group];
                if let (Some(sug), Some(description)) = (suggestion, fix_title) {
                    groups.push(
                        Group::with_title(Level::HELP.secondary_title(description)).element(
                            Snippet::source(sug.source)
                                .line_start(sug.line_start)
                                .path(path.as_str())
                                .patches(
                                    sug.edits
                                        .into_iter()
                                        .map(|(span, text)| Patch::new(span, clean(&text))),
                                ),
                        ),
                    );
                }
                let drawn = drawer.render(&groups);
                if let Some(plain) = plain {
                    debug_assert_eq!(plain, drawn, "plain drawing differs from annotate-snippets");
                }
                drawn
            }
        };
        if let Some((drawn, right)) = fix_column {
            // A clipped line starts mid-line: the position annotate-snippets
            // computes from it is corrected in the first `-->` line.
            if let Some(at) = all.find(&drawn) {
                all.replace_range(at..at + drawn.len(), &right);
            }
        }
        // The suggestion group starts with a `help:` line at column 0; help
        // and notes of the finding go between the frame and it.
        let split = if has_suggestion {
            all.match_indices('\n')
                .map(|(i, _)| i + 1)
                .find(|&i| {
                    strip_ansi(&all[i..all[i..].find('\n').map_or(all.len(), |e| i + e)])
                        .starts_with("help: ")
                })
                .unwrap_or(all.len())
        } else {
            all.len()
        };
        let (drawn, suggested) = all.split_at(split);
        let drawn = drawn.trim_end_matches('\n');
        writeln!(out, "{drawn}")?;
        // help and notes are drawn here rather than by annotate-snippets, in
        // its layout (`= help: ...`), so that multi-line notes (replay's
        // schema and row diffs) can be coloured line by line.
        let mut messages: Vec<(&str, &str)> = Vec::new();
        if let Some(h) = &help {
            messages.push(("help", h));
        }
        for h in &replay_helps {
            messages.push(("help", h));
        }
        for n in &notes {
            messages.push(("note", n));
        }
        let bar_width = gutter_width(drawn) + 1;
        // annotate-snippets closes some frames with an empty gutter line
        // already (when the last line shown has no caret).
        let ends_with_bar = drawn
            .lines()
            .last()
            .is_some_and(|l| strip_ansi(l).trim() == "|");
        if !messages.is_empty() && !ends_with_bar {
            writeln!(
                out,
                "{}",
                self.paint(GUTTER, &format!("{:bar_width$}|", ""))
            )?;
        }
        for (kind, text) in messages {
            let lines = text_lines(text);
            let diff = looks_like_diff(&lines);
            let indent = " ".repeat(bar_width + kind.len() + 4);
            for (i, line) in lines.iter().enumerate() {
                let line = defuse(&normalize_untrusted_str(line)).into_owned();
                if i == 0 {
                    writeln!(
                        out,
                        "{:bar_width$}{} {}: {line}",
                        "",
                        self.paint(GUTTER, "="),
                        self.paint(BOLD, kind)
                    )?;
                } else {
                    writeln!(out, "{indent}{}", self.diff_line(&line, diff))?;
                }
            }
        }
        if !details.is_empty() {
            let bar = self.paint(GUTTER, &format!("{:bar_width$}|", ""));
            let lines: Vec<&str> = details.iter().flat_map(|d| text_lines(d)).collect();
            let diff = looks_like_diff(&lines);
            writeln!(out, "{bar}")?;
            for line in lines {
                let line = normalize_untrusted_str(line);
                if line.is_empty() {
                    writeln!(out, "{bar}")?;
                } else {
                    writeln!(out, "{bar} {}", self.diff_line(&line, diff))?;
                }
            }
        }
        if !suggested.is_empty() {
            writeln!(out, "{}", suggested.trim_end_matches('\n'))?;
        }
        writeln!(out)
    }

    /// A line of a diff, coloured by its first character.
    fn diff_line(&self, line: &str, diff: bool) -> String {
        if !diff {
            line.to_string()
        } else if line.starts_with("+++") || line.starts_with("---") {
            self.paint(BOLD, line)
        } else if line.starts_with('+') {
            self.paint(ADDED, line)
        } else if line.starts_with('-') {
            self.paint(REMOVED, line)
        } else if line.starts_with("@@") {
            self.paint(HUNK, line)
        } else {
            line.to_string()
        }
    }

    fn summary(&self, report: &Report, plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
        let s = &report.summary;
        let mut counts = Vec::new();
        let findings = &report.findings;
        for (n, word, style) in [
            (plan.count(findings, Severity::Error), "error", ERROR),
            (plan.count(findings, Severity::Warning), "warning", WARNING),
            (plan.count(findings, Severity::Info), "info", INFO),
        ] {
            if n > 0 {
                counts.push(self.paint(style, &plural(n, word)));
            }
        }
        let found = if counts.is_empty() {
            "no findings".to_string()
        } else {
            counts.join(", ")
        };
        let mut checked = vec![plural(s.files, "file"), plural(s.statements, "statement")];
        if s.migrations > 0 {
            checked.push(plural(s.migrations, "migration"));
        }
        // Replay findings drawn under a static finding: a second run's
        // confirms it; another (a statement the sandbox refused, a run
        // that timed out) was found by replay; a
        // statement replay left out was not replayed (see
        // `super::replay_note`).
        let (mut confirming, mut found_by_replay, mut not_replayed) = (0, 0, 0);
        for (i, f) in findings.iter().enumerate() {
            if plan.merged.get(i).copied().unwrap_or(false) {
                let note = super::replay_note(f);
                if note.starts_with("confirmed") {
                    confirming += 1;
                } else if note.starts_with("not replayed") {
                    not_replayed += 1;
                } else {
                    found_by_replay += 1;
                }
            }
        }
        let merged = confirming + found_by_replay + not_replayed;
        let merged_note = if found_by_replay + not_replayed == 0 && merged > 0 {
            format!(
                " ({} shown with the static {} {} confirm{})",
                plural(merged, "replay finding"),
                if merged == 1 { "finding" } else { "findings" },
                if merged == 1 { "it" } else { "they" },
                if merged == 1 { "s" } else { "" },
            )
        } else if merged > 0 {
            let mut kinds = vec![format!("{confirming} confirming them")];
            if found_by_replay > 0 {
                kinds.push(format!("{found_by_replay} found by replay"));
            }
            if not_replayed > 0 {
                kinds.push(format!(
                    "{not_replayed} saying replay did not run the statement"
                ));
            }
            format!(
                " ({} shown with the static findings of the same statements: {})",
                plural(merged, "replay finding"),
                kinds.join(", ")
            )
        } else {
            String::new()
        };
        let baselined = if s.baselined > 0 {
            format!("; {} accepted by the baseline, not shown", s.baselined)
        } else {
            String::new()
        };
        if s.files == 0 && s.sequences.is_empty() && findings.is_empty() {
            // Nothing was found to check: not to be taken for a pass.
            writeln!(
                out,
                "{}: checked 0 files: no migrations found, nothing was checked (see the notes above)",
                self.paint(BOLD, "twice"),
            )?;
            return self.big_summary(report, plan, out);
        }
        writeln!(
            out,
            "{}: checked {}: {found}{merged_note}{baselined}",
            self.paint(BOLD, "twice"),
            checked.join(", ")
        )?;
        for seq in &s.sequences {
            let replay = match seq.replay.as_str() {
                "replayed" => match seq.engine {
                    Some(e) => format!("replayed on {e} (--engine auto)"),
                    None => "replayed".to_string(),
                },
                "off" => "not replayed (--no-replay)".to_string(),
                other if other.starts_with("skipped") => "replay skipped (see note above)".into(),
                other => format!("replay: {other}"),
            };
            writeln!(
                out,
                "  {}: {} layout, {}, {}, {replay}",
                crate::escape::printable(&seq.root),
                seq.layout,
                seq.dialect,
                plural(seq.migrations, "migration"),
            )?;
        }
        self.big_summary(report, plan, out)
    }

    /// On a big report: the rules and the files with the most findings.
    fn big_summary(&self, report: &Report, plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
        let shown = (0..report.findings.len())
            .filter(|&i| plan.shown(i))
            .count();
        if shown < BIG_REPORT {
            return Ok(());
        }
        let by_rule = super::statistics(report);
        let rules: Vec<String> = by_rule
            .iter()
            .map(|(rule, n)| format!("{rule} {n}"))
            .collect();
        writeln!(out, "  by rule: {}", rules.join(", "))?;
        let by_file = super::top_files(report, TOP_FILES);
        let files: Vec<String> = by_file
            .iter()
            .map(|(file, n)| format!("{} {n}", normalize_untrusted_str(file)))
            .collect();
        writeln!(out, "  most findings: {}", files.join(", "))
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The width of the line numbers of a drawn block: annotate-snippets
/// indents `-->` by it.
fn gutter_width(drawn: &str) -> usize {
    drawn
        .lines()
        .find_map(|l| {
            let plain = strip_ansi(l);
            let trimmed = plain.trim_start();
            trimmed
                .starts_with("-->")
                .then(|| plain.len() - trimmed.len())
        })
        .unwrap_or(0)
}

/// Lines of a message, whatever its line ends (LF, CRLF or CR).
/// A line of a note that starts (after blanks) like a CI workflow command
/// (`::error ...`, `##[error]`, `##vso[...]`): a name or a value with a line
/// break in it, from the input. Shown with a backslash in front, so that the
/// CI runner reading twice's output does not take it for a command.
fn defuse(line: &str) -> std::borrow::Cow<'_, str> {
    let body = line.trim_start();
    if body.starts_with("::") || body.starts_with("##[") || body.starts_with("##vso[") {
        let at = line.len() - body.len();
        std::borrow::Cow::Owned(format!("{}\\{body}", &line[..at]))
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

fn text_lines(text: &str) -> Vec<&str> {
    text.split("\r\n")
        .flat_map(|l| l.split(['\n', '\r']))
        .collect()
}

/// A diff (unified, or bare `+`/`-` lines of rows) rather than prose.
fn looks_like_diff(lines: &[&str]) -> bool {
    lines.iter().any(|l| l.starts_with("@@"))
        || (lines.iter().any(|l| l.starts_with('+')) && lines.iter().any(|l| l.starts_with('-')))
}

fn strip_ansi(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\u{1b}') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params final-byte
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The lines of a statement as a snippet: the source is rebuilt from the
/// file's lines joined by `\n`, so CRLF and lone CR line ends number lines
/// exactly as [`SourceFile::line_col`] does.
struct Frame {
    source: String,
    line_start: usize,
    primary: Range<usize>,
    visible: Vec<Range<usize>>,
    fold: bool,
    /// When a line was cut to [`MAX_FRAME_LINE_BYTES`]: the column the drawing shows in its `-->` line, to be put right.
    drawn_column: Option<usize>,
}

/// Lines longer than this are cut, around the reported position on its
/// line and to their start on the others, before they are drawn (no
/// terminal shows more): drawing a finding then costs the same on a
/// 160 kB line as on a short one, and a line with 80,000 findings is drawn
/// in linear time.
pub const MAX_FRAME_LINE_BYTES: usize = 512;

/// `line` cut to about [`MAX_FRAME_LINE_BYTES`] around byte `at` (or from its
/// start), on character boundaries: the kept text and where it starts.
fn clip(line: &str, at: Option<usize>) -> (&str, usize) {
    if line.len() <= MAX_FRAME_LINE_BYTES {
        return (line, 0);
    }
    let half = MAX_FRAME_LINE_BYTES / 2;
    let mut start = at.map_or(0, |a| a.saturating_sub(half));
    let mut end = (start + MAX_FRAME_LINE_BYTES).min(line.len());
    start = start.min(end.saturating_sub(MAX_FRAME_LINE_BYTES));
    while !line.is_char_boundary(start) {
        start -= 1;
    }
    while !line.is_char_boundary(end) {
        end += 1;
    }
    (&line[start..end], start)
}

impl Frame {
    fn new(file: &SourceFile, stmt: Option<Range<usize>>, f: &Finding) -> Option<Frame> {
        let line_count = file.line_count().max(1);
        if f.line == 0 || f.line > line_count {
            return None;
        }
        let (mut first, mut last) = match stmt {
            Some(span) => {
                let start = file.line_col(span.start).0;
                let end = file.line_col(span.end.saturating_sub(1).max(span.start)).0;
                (start, end)
            }
            None => {
                // A span that ends at the start of a line ends on the line before.
                let end = if f.end_column <= 1 && f.end_line > f.line {
                    f.end_line - 1
                } else {
                    f.end_line
                };
                (f.line, end)
            }
        };
        first = first.min(f.line).max(1);
        last = last.max(f.line).min(line_count);
        let n = last - first + 1;
        let elide = n > MAX_FRAME_LINES;
        // Lines that an elided frame never shows are left empty: folding
        // hides them anyway, and a 50,000-line INSERT stays cheap to draw.
        // A single line between two shown lines is drawn rather than
        // replaced by `...` (annotate-snippets' rule), so it is kept too.
        let kept = |l: usize| l < first + HEAD_LINES || l == f.line || l == last;
        let shown = |l: usize| !elide || kept(l) || (l > first && kept(l - 1) && kept(l + 1));
        // Where the position is in its line (bytes), to clip around it.
        let own = file.line_text(f.line);
        let line_start = file.line_start(f.line);
        let at_in_line = if f.span.start >= line_start
            && f.span.start - line_start <= own.len()
            && own.is_char_boundary(f.span.start - line_start)
        {
            // The span's start is the position: no need to count characters.
            f.span.start - line_start
        } else {
            own.char_indices()
                .nth(f.column.saturating_sub(1))
                .map_or(own.len(), |(b, _)| b)
        };
        let mut source = String::new();
        let mut starts = Vec::new();
        let mut clipped = false;
        let mut cut_at = 0;
        for line in first..=last {
            if line > first {
                source.push('\n');
            }
            starts.push(source.len());
            if shown(line) {
                let (kept, from) =
                    clip(file.line_text(line), (line == f.line).then_some(at_in_line));
                clipped |= kept.len() < file.line_text(line).len();
                if line == f.line {
                    cut_at = from;
                }
                source.push_str(kept);
            }
        }
        let line_of = |l: usize| -> Range<usize> {
            let i = l - first;
            let start = starts[i];
            let end = starts.get(i + 1).map_or(source.len(), |&n| n - 1);
            start..end
        };
        let here = line_of(f.line);
        let text = &source[here.clone()];
        let at = (at_in_line - cut_at).min(text.len());
        // The column annotate-snippets will compute from the clipped line.
        let drawn_column = clipped.then(|| text[..at].chars().count() + 1);
        let token = token_len(&text[at..]);
        let primary = here.start + at..here.start + at + token;

        let (fold, visible) = if !elide {
            (false, Vec::new())
        } else {
            let mut v: Vec<Range<usize>> = (first..first + HEAD_LINES).map(line_of).collect();
            v.push(line_of(last));
            (true, v)
        };
        Some(Frame {
            source,
            line_start: first,
            primary,
            visible,
            fold,
            drawn_column,
        })
    }
}

/// A fix drawn as a suggestion: the lines its edits touch (at most
/// [`MAX_SUGGESTION_LINES`]), with the edits as spans of that text.
struct Suggestion {
    source: String,
    line_start: usize,
    edits: Vec<(Range<usize>, String)>,
}

/// Fixes that touch more lines are described, not drawn.
pub const MAX_SUGGESTION_LINES: usize = 3;

impl Suggestion {
    fn new(file: &SourceFile, fix: &crate::finding::Fix) -> Option<Suggestion> {
        if fix.edits.is_empty() || file.binary {
            return None;
        }
        let mut edits: Vec<&crate::finding::Edit> = fix.edits.iter().collect();
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        for pair in edits.windows(2) {
            if pair[1].span.start < pair[0].span.end {
                return None;
            }
        }
        // Where each end of each edit falls: (line, byte offset in the line).
        let place = |o: usize| -> Option<(usize, usize)> {
            if o > file.text.len() || !file.text.is_char_boundary(o) {
                return None;
            }
            let line = file.line_col(o).0;
            let within = o - file.line_start(line);
            (within <= file.line_text(line).len()).then_some((line, within))
        };
        let mut placed = Vec::new();
        for e in &edits {
            if e.span.end < e.span.start {
                return None;
            }
            placed.push((
                place(e.span.start)?,
                place(e.span.end)?,
                e.replacement.clone(),
            ));
        }
        let first = placed.iter().map(|p| p.0 .0).min()?;
        let last = placed.iter().map(|p| p.1 .0).max()?;
        if last + 1 - first > MAX_SUGGESTION_LINES {
            return None;
        }
        // A long line is drawn clipped around the edits, like frames (a
        // suggestion shows its whole line: on a 160 kB line, each finding
        // would print it again).
        if (first..=last).any(|l| file.line_text(l).len() > MAX_FRAME_LINE_BYTES) {
            if first != last {
                return None;
            }
            let text = file.line_text(first);
            let lo = placed.iter().map(|p| p.0 .1).min()?;
            let hi = placed.iter().map(|p| p.1 .1).max()?;
            if hi - lo > MAX_FRAME_LINE_BYTES {
                return None;
            }
            let half = MAX_FRAME_LINE_BYTES / 2;
            let mut start = lo.saturating_sub(half);
            let mut end = (hi + half).min(text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            while !text.is_char_boundary(end) {
                end += 1;
            }
            // `...` where the line goes on, as frames show it.
            let lead = if start > 0 { "..." } else { "" };
            let tail = if end < text.len() { "..." } else { "" };
            let shift = |o: usize| o - start + lead.len();
            let edits = placed
                .into_iter()
                .map(|(s, e, t)| (shift(s.1)..shift(e.1), t))
                .collect();
            return Some(Suggestion {
                source: format!("{lead}{}{tail}", &text[start..end]),
                line_start: first,
                edits,
            });
        }
        let mut source = String::new();
        let mut starts = Vec::new();
        for line in first..=last {
            if line > first {
                source.push('\n');
            }
            starts.push(source.len());
            source.push_str(file.line_text(line));
        }
        let at = |(line, within): (usize, usize)| starts[line - first] + within;
        let edits = placed
            .into_iter()
            .map(|(s, e, text)| (at(s)..at(e), text))
            .collect();
        Some(Suggestion {
            source,
            line_start: first,
            edits,
        })
    }
}

/// Byte length of the token at the start of `s`: a word, a quoted name or
/// string, or one character.
fn token_len(s: &str) -> usize {
    let mut chars = s.char_indices();
    let Some((_, c)) = chars.next() else {
        return 0;
    };
    if c.is_alphanumeric() || c == '_' {
        return s
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .map_or(s.len(), |(i, _)| i);
    }
    let close = match c {
        '"' => Some('"'),
        '`' => Some('`'),
        '[' => Some(']'),
        '\'' => Some('\''),
        _ => None,
    };
    if let Some(close) = close {
        if let Some((i, _)) = chars.find(|&(_, ch)| ch == close) {
            return i + close.len_utf8();
        }
    }
    c.len_utf8()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(token_len("CREATE TABLE"), 6);
        assert_eq!(token_len("\"my table\" x"), 10);
        assert_eq!(token_len("(a)"), 1);
        assert_eq!(token_len("çé x"), 4);
        assert_eq!(token_len("'unterminated"), 1);
        assert_eq!(token_len(""), 0);
    }

    #[test]
    fn strips_ansi() {
        assert_eq!(strip_ansi("\u{1b}[1m\u{1b}[94m  --> \u{1b}[0mx"), "  --> x");
    }
}
