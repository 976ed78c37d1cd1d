//! Text from the input (file names, identifiers, values) made safe to print.
//!
//! A file name or a quoted identifier can hold any character, a newline or
//! an escape sequence included. Printed as it is, a newline in a file name
//! starts a line of twice's output with text of the author's choosing (a
//! forged `::error file=...::` workflow command under GitHub Actions), and
//! an escape sequence rewrites the terminal. Everything from the input that
//! is printed goes through [`printable`] (one-line values) or
//! [`printable_lines`] (multi-line text whose line breaks are twice's own).

use std::borrow::Cow;

/// Characters shown escaped: C0 and C1 controls, DEL, and the Unicode
/// bidirectional overrides and isolates (which reorder what a terminal or a
/// browser shows, "Trojan Source"), and the line and paragraph separators.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// `s` with every control character escaped (`\n`, `\r`, `\t`, `\u{1b}`):
/// for values printed on one line (file names, identifiers, notices).
pub fn printable(s: &str) -> Cow<'_, str> {
    inert_markers(escape(s, false))
}

/// Like [`printable`] but keeps line breaks (`\n`, and `\r\n` as `\n`):
/// for messages whose lines are twice's own. Tabs are kept too.
pub fn printable_lines(s: &str) -> Cow<'_, str> {
    inert_markers(escape(s, true))
}

/// `##[` and `##vso[` (CI log commands wherever they are in a line, see
/// [`CiInert`]) with their `[` as `\u{5b}`.
fn inert_markers(s: Cow<'_, str>) -> Cow<'_, str> {
    if !s.contains("##") {
        return s;
    }
    let mut w = CiInert::new(Vec::new(), false, false);
    let _ = std::io::Write::write_all(&mut w, s.as_bytes());
    let _ = std::io::Write::flush(&mut w);
    let out = std::mem::take(&mut w.inner);
    match String::from_utf8(out) {
        Ok(t) if t != *s => Cow::Owned(t),
        _ => s,
    }
}

fn escape(s: &str, keep_lines: bool) -> Cow<'_, str> {
    // Most text is printable ASCII: one pass over its bytes says so (every
    // finding's message, help and notes go through here).
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(s);
    }
    let keep = |c: char| keep_lines && (c == '\n' || c == '\t');
    if !s.chars().any(|c| needs_escape(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if keep_lines && c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if needs_escape(c) && !keep(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls() {
        assert_eq!(printable("plain/name.sql"), "plain/name.sql");
        assert_eq!(
            printable("a\n::error file=x::y\r\t\u{1b}[31m\u{7}\u{85}\u{202e}"),
            "a\\n::error file=x::y\\r\\t\\u{1b}[31m\\u{7}\\u{85}\\u{202e}"
        );
        assert_eq!(printable_lines("one\r\ntwo\u{1b}\tx"), "one\ntwo\\u{1b}\tx");
        assert!(matches!(printable("é ü 名"), Cow::Borrowed(_)));
        assert_eq!(
            printable("a##[error]b ##VSO[x] # [ ##"),
            "a##\\u{5b}error]b ##VSO\\u{5b}x] # [ ##"
        );
    }
}

/// A writer that keeps CI log commands out of what passes through it:
/// GitHub's runner takes `##[command]` (its legacy form) anywhere in a line,
/// and Azure's agent `##vso[command]`, so a file name, a quoted identifier
/// or a server's message holding `##[stop-commands]tok` could pause the
/// runner's reading of twice's own annotations, or forge `##[error]` and
/// `##[add-mask]` lines. Their `[` is written escaped: `\u{5b}` in text
/// output, `\u005b` in JSON (the same string to a JSON reader; `#` appears
/// in JSON only inside strings). With `line_starts` (human output), a line
/// that starts, after blanks, with `::` (the runner trims blanks before
/// reading `::command::`) gets a backslash in front.
pub struct CiInert<W: std::io::Write> {
    inner: W,
    pending: Vec<u8>,
    /// What `drain` writes, kept for the next drain (no allocation per write).
    out: Vec<u8>,
    json: bool,
    line_starts: bool,
    /// The next byte written starts a line.
    at_line_start: bool,
}

/// The longest marker, less one: the bytes kept back when a write ends,
/// in case a marker goes on in the next one.
const KEEP: usize = 5;

/// Pending bytes are scanned and passed on once there are this many (the
/// writer below is buffered anyway; a flush passes everything on).
const DRAIN_AT: usize = 1024;

impl<W: std::io::Write> CiInert<W> {
    pub fn new(inner: W, json: bool, line_starts: bool) -> CiInert<W> {
        CiInert {
            inner,
            pending: Vec::new(),
            out: Vec::new(),
            json,
            line_starts,
            at_line_start: true,
        }
    }

    /// Writes out what is pending, all of it when `all`, else all but the
    /// bytes that could begin a marker (or, for `line_starts`, a line's
    /// blanks not yet followed by anything else).
    fn drain(&mut self, all: bool) -> std::io::Result<()> {
        let mut p = std::mem::take(&mut self.pending);
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        let mut i = 0;
        let stop = if all {
            p.len()
        } else {
            p.len().saturating_sub(KEEP)
        };
        while i < stop {
            if self.line_starts && self.at_line_start {
                let blanks = p[i..]
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                let rest = &p[i + blanks..];
                if !all && rest.len() < 2 {
                    break;
                }
                if rest.starts_with(b"::") {
                    out.extend_from_slice(&p[i..i + blanks]);
                    out.push(b'\\');
                    i += blanks;
                }
                self.at_line_start = false;
                continue;
            }
            // Up to the next byte that may matter, in one copy: a `#` (a
            // marker may start there) or, with `line_starts`, a line end.
            let next = if self.line_starts {
                memchr::memchr2(b'#', b'\n', &p[i..stop])
            } else {
                memchr::memchr(b'#', &p[i..stop])
            };
            let Some(k) = next else {
                out.extend_from_slice(&p[i..stop]);
                self.at_line_start = false;
                i = stop;
                break;
            };
            out.extend_from_slice(&p[i..i + k]);
            i += k;
            if p[i] == b'\n' {
                out.push(b'\n');
                self.at_line_start = true;
                i += 1;
                continue;
            }
            self.at_line_start = false;
            if p[i..].starts_with(b"##[") {
                out.extend_from_slice(b"##");
                out.extend_from_slice(self.bracket());
                i += 3;
                continue;
            }
            if p.len() - i >= 6 && p[i..i + 6].eq_ignore_ascii_case(b"##vso[") {
                out.extend_from_slice(&p[i..i + 5]);
                out.extend_from_slice(self.bracket());
                i += 6;
                continue;
            }
            out.push(b'#');
            i += 1;
        }
        p.drain(..i);
        self.pending = p;
        let written = self.inner.write_all(&out);
        self.out = out;
        written
    }

    fn bracket(&self) -> &'static [u8] {
        if self.json {
            b"\\u005b"
        } else {
            b"\\u{5b}"
        }
    }
}

impl<W: std::io::Write> std::io::Write for CiInert<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() > DRAIN_AT {
            self.drain(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.drain(true)?;
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for CiInert<W> {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}

/// `s` with CI log commands made inert as [`CiInert`] does for text
/// output (`##[`, `##vso[`, and `::` at the start of a line after blanks).
pub fn ci_inert(s: &str) -> String {
    let mut w = CiInert::new(Vec::new(), false, true);
    let _ = std::io::Write::write_all(&mut w, s.as_bytes());
    let _ = std::io::Write::flush(&mut w);
    String::from_utf8_lossy(&std::mem::take(&mut w.inner)).into_owned()
}

#[cfg(test)]
mod ci_tests {
    use super::*;
    use std::io::Write;

    fn through(parts: &[&str], json: bool, line_starts: bool) -> String {
        let mut w = CiInert::new(Vec::new(), json, line_starts);
        for p in parts {
            w.write_all(p.as_bytes()).unwrap();
        }
        w.flush().unwrap();
        String::from_utf8(std::mem::take(&mut w.inner)).unwrap()
    }

    #[test]
    fn log_commands_are_made_inert_wherever_they_are_and_however_written() {
        let text =
            "a ##[stop-commands]tok b\n  ::error::x\n##VSO[task.setvariable]y\nok # [ ## :: z\n";
        let want = "a ##\\u{5b}stop-commands]tok b\n  \\::error::x\n##VSO\\u{5b}task.setvariable]y\nok # [ ## :: z\n";
        assert_eq!(through(&[text], false, true), want);
        // Split anywhere between writes: the same.
        for cut in 0..text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(through(&[a, b], false, true), want, "cut at {cut}");
        }
        // JSON: the same string to a JSON reader; `::` left alone.
        assert_eq!(
            through(&["{\"m\": \"##[error]x\"}\n::"], true, false),
            "{\"m\": \"##\\u005berror]x\"}\n::"
        );
        assert_eq!(ci_inert("x ##[add-mask]y"), "x ##\\u{5b}add-mask]y");
        let long = "é".repeat(100) + "##[x]";
        assert_eq!(
            through(&[&long], false, false),
            "é".repeat(100) + "##\\u{5b}x]"
        );
    }

    /// What the writer must give, line by line, without its buffering.
    fn reference(text: &str) -> String {
        let mut out = String::new();
        for line in text.split_inclusive('\n') {
            if line.trim_start_matches([' ', '\t']).starts_with("::") {
                let blanks = line.len() - line.trim_start_matches([' ', '\t']).len();
                out.push_str(&line[..blanks]);
                out.push('\\');
                out.push_str(&line[blanks..]);
            } else {
                out.push_str(line);
            }
        }
        let mut done = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find("##") {
            done.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("##[") {
                done.push_str("##\\u{5b}");
                rest = after;
            } else if tail.len() >= 6 && tail[..6].eq_ignore_ascii_case("##vso[") {
                done.push_str(&tail[..5]);
                done.push_str("\\u{5b}");
                rest = &tail[6..];
            } else {
                done.push('#');
                rest = &tail[1..];
            }
        }
        done.push_str(rest);
        done
    }

    #[test]
    fn long_output_in_small_writes_is_made_inert_across_every_drain() {
        // Markers and line starts around every multiple of the drain size,
        // written a few bytes at a time and in one piece.
        let mut text = String::new();
        let mut n = 0;
        while text.len() < 5 * DRAIN_AT {
            n += 1;
            text.push_str(&"x".repeat(n % 13));
            text.push_str(
                [
                    "##[error]a",
                    "##VsO[b]",
                    "#",
                    "##",
                    "\n  ::warning::c",
                    "\n::",
                    "\n\t ::d",
                ][n % 7],
            );
        }
        let want = reference(&text);
        assert_eq!(through(&[&text], false, true), want);
        for step in [1, 3, 7, 64, 1000] {
            let parts: Vec<&str> = text
                .as_bytes()
                .chunks(step)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            assert_eq!(
                through(&parts, false, true),
                want,
                "written {step} bytes at a time"
            );
        }
    }
}
