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
    escape(s, false)
}

/// Like [`printable`] but keeps line breaks (`\n`, and `\r\n` as `\n`):
/// for messages whose lines are twice's own. Tabs are kept too.
pub fn printable_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
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
    }
}
