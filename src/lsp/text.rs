//! Positions: LSP counts lines from 0 and characters in UTF-16 code units
//! (or in bytes when the client and server agree on `utf-8`); twice counts
//! bytes in the decoded text. Line breaks are `\n`, `\r\n` and a lone `\r`,
//! as in [`crate::source::SourceFile`] and the LSP specification.

use lsp_types::Position;
use std::ops::Range;

/// How a position's `character` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf16,
    Utf8,
}

/// Line starts of a text, for converting between byte offsets and positions.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        let b = text.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        LineIndex { text, starts }
    }

    /// The byte range of a 0-based line, without its line break.
    fn line(&self, line: usize) -> Range<usize> {
        let start = self.starts[line];
        let end = self
            .starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let s = &self.text[start..end];
        let trimmed = s.trim_end_matches(['\n', '\r']).len();
        start..start + trimmed
    }

    /// The position of a byte offset (clamped to the text, moved back to a
    /// character boundary).
    pub fn position(&self, offset: usize, enc: Encoding) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let before = &self.text[start..offset];
        let character = match enc {
            Encoding::Utf8 => before.len(),
            Encoding::Utf16 => before.encode_utf16().count(),
        };
        Position {
            line: line as u32,
            character: character as u32,
        }
    }

    /// The byte offset of a position. A line past the end means the end of
    /// the text; a character past the end of its line means the end of the
    /// line; one inside a character (half a surrogate pair, a byte inside a
    /// UTF-8 sequence) means the start of that character.
    pub fn offset(&self, pos: Position, enc: Encoding) -> usize {
        let line = pos.line as usize;
        if line >= self.starts.len() {
            return self.text.len();
        }
        let range = self.line(line);
        let want = pos.character as usize;
        let mut units = 0;
        for (i, ch) in self.text[range.clone()].char_indices() {
            let w = match enc {
                Encoding::Utf8 => ch.len_utf8(),
                Encoding::Utf16 => ch.len_utf16(),
            };
            if units + w > want {
                return range.start + i;
            }
            units += w;
        }
        range.end
    }

    /// The byte offset of a 1-based line and 1-based column counted in
    /// characters (the CLI's JSON positions).
    pub fn offset_of_line_col(&self, line: usize, column: usize) -> usize {
        let Some(l) = line.checked_sub(1).filter(|&l| l < self.starts.len()) else {
            return self.text.len();
        };
        let range = self.line(l);
        self.text[range.clone()]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(range.end, |(i, _)| range.start + i)
    }

    /// The LSP range of a byte span.
    pub fn range(&self, span: &Range<usize>, enc: Encoding) -> lsp_types::Range {
        lsp_types::Range {
            start: self.position(span.start, enc),
            end: self.position(span.end.max(span.start), enc),
        }
    }

    /// The byte offset where a 0-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.text.len())
    }
}

/// Applies one `didChange` content change to `text`: a range edit, or the
/// whole new text when the change has no range.
pub fn apply_change(
    text: &mut String,
    change: &lsp_types::TextDocumentContentChangeEvent,
    enc: Encoding,
) {
    match change.range {
        None => text.clone_from(&change.text),
        Some(r) => {
            let idx = LineIndex::new(text);
            let start = idx.offset(r.start, enc);
            let end = idx.offset(r.end, enc).max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn utf16_counts_surrogate_pairs_twice_and_utf8_counts_bytes() {
        // "é" is 2 bytes and 1 UTF-16 unit; "😀" is 4 bytes and 2 units.
        let text = "a\r\n-- é😀 x\rDROP";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(idx.position(x, Encoding::Utf16), pos(1, 7));
        assert_eq!(idx.position(x, Encoding::Utf8), pos(1, 10));
        assert_eq!(idx.offset(pos(1, 7), Encoding::Utf16), x);
        assert_eq!(idx.offset(pos(1, 10), Encoding::Utf8), x);
        let drop = text.find("DROP").unwrap();
        assert_eq!(idx.position(drop, Encoding::Utf16), pos(2, 0));
        // Inside the surrogate pair: the start of the emoji.
        let emoji = text.find('😀').unwrap();
        assert_eq!(idx.offset(pos(1, 5), Encoding::Utf16), emoji);
        // Past the line's end: the end of the line, before its break.
        assert_eq!(idx.offset(pos(0, 99), Encoding::Utf16), 1);
        assert_eq!(idx.offset(pos(9, 0), Encoding::Utf16), text.len());
        assert_eq!(idx.offset_of_line_col(2, 7), x);
        assert_eq!(idx.offset_of_line_col(3, 1), drop);
    }

    #[test]
    fn range_changes_apply_where_the_client_says() {
        let mut text = String::from("-- ü\nCREATE TABLE t (x);\n");
        let change = lsp_types::TextDocumentContentChangeEvent {
            range: Some(lsp_types::Range {
                start: pos(1, 12),
                end: pos(1, 12),
            }),
            range_length: None,
            text: " IF NOT EXISTS".into(),
        };
        apply_change(&mut text, &change, Encoding::Utf16);
        assert_eq!(text, "-- ü\nCREATE TABLE IF NOT EXISTS t (x);\n");
    }
}
