//! A migration file as twice reads it: decoded, with a line index.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};

/// Where the pipeline reads migration files from: the disk, or the disk
/// with some files' bytes replaced (an overlay, by path as discovery reaches
/// it). `--fix` checks its edits through an overlay before writing
/// anything; the language server checks an editor's unsaved text.
#[derive(Clone, Debug, Default)]
pub struct FileSource {
    overlay: std::collections::HashMap<PathBuf, Vec<u8>>,
}

impl FileSource {
    /// The overlay key of the script read from stdin: `--fix -` verifies
    /// its edits with the fixed script in place of stdin.
    pub const STDIN: &'static str = "-";

    /// Files as they are on disk.
    pub fn disk() -> FileSource {
        FileSource::default()
    }

    /// The disk, with the files of `overlay` (by path; [`Self::STDIN`] for
    /// the script read from stdin) replaced by its bytes.
    pub fn with_overlay(overlay: std::collections::HashMap<PathBuf, Vec<u8>>) -> FileSource {
        FileSource { overlay }
    }

    /// The bytes of `path`: from the overlay when it holds the path, else
    /// from disk ([`read_regular`]).
    pub fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match self.overlay.get(path) {
            Some(bytes) => Ok(bytes.clone()),
            None => read_regular(path),
        }
    }

    /// The script to read instead of stdin, when the overlay holds one.
    pub fn stdin(&self) -> Option<Vec<u8>> {
        self.overlay.get(Path::new(Self::STDIN)).cloned()
    }
}

/// The bytes of a regular file. The file is opened without blocking and
/// the opened handle is checked: a path replaced by a FIFO (or a device)
/// after it was listed as a file is an error, not a read that never ends.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let (f, meta) = open_regular(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // Through `take`: `File::read_to_end` would ask the size and the
    // position again (a `statx` and an `lseek` per file, thousands per run);
    // the room reserved from the size read above serves the same purpose.
    f.take(u64::MAX).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A regular file opened for reading without blocking, the opened handle
/// checked (see [`read_regular`]), with its metadata.
pub fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_NONBLOCK);
    }
    let f = open.open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a pipe, socket or device, perhaps put in place of the file \
             after it was listed); give regular files, or `-` to read stdin",
        ));
    }
    Ok((f, meta))
}

/// One input file (or stdin), decoded to text.
///
/// Decoding is lossy: a UTF-8 byte-order mark is dropped, invalid UTF-8
/// sequences become U+FFFD, and line endings are kept as they are, so line
/// numbers always match what an editor shows. All byte offsets used elsewhere
/// (statement spans, finding spans, fixes) are offsets into [`SourceFile::text`].
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user would write it (relative where the input was).
    pub name: String,
    /// The real path on disk, if the file came from disk.
    pub path: Option<PathBuf>,
    /// The decoded text, without a byte-order mark.
    pub text: String,
    /// The file started with a UTF-8 byte-order mark.
    pub had_bom: bool,
    /// The file was not valid UTF-8 and was decoded lossily.
    pub lossy: bool,
    /// The file looks binary (NUL bytes or mostly undecodable bytes).
    pub binary: bool,
    /// The file was UTF-16 with a byte-order mark (decoded to `text`).
    pub utf16: Option<Utf16>,
    line_starts: Vec<usize>,
    /// Characters before each [`CHAR_BLOCK`]-byte block of `text` (empty
    /// when `text` is ASCII): columns in constant time whatever the length
    /// of the line, so findings on one long line cost linear time in all.
    char_blocks: Vec<usize>,
}

/// Block size of [`SourceFile::char_blocks`], in bytes.
const CHAR_BLOCK: usize = 4096;

/// Characters starting in `bytes` (every byte but UTF-8 continuation bytes;
/// a slice may begin or end inside a character).
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

/// Byte order of a UTF-16 file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf16 {
    Le,
    Be,
}

/// The bytes of `text` as a file in its encoding: UTF-8 (with a BOM when
/// `bom`), or UTF-16 with its BOM.
pub fn encode(text: &str, bom: bool, utf16: Option<Utf16>) -> Vec<u8> {
    match utf16 {
        None => {
            let mut out = Vec::with_capacity(text.len() + 3);
            if bom {
                out.extend_from_slice(b"\xEF\xBB\xBF");
            }
            out.extend_from_slice(text.as_bytes());
            out
        }
        Some(order) => {
            let mut out = Vec::with_capacity(2 * text.len() + 2);
            for unit in std::iter::once(0xFEFF).chain(text.encode_utf16()) {
                out.extend_from_slice(&match order {
                    Utf16::Le => unit.to_le_bytes(),
                    Utf16::Be => unit.to_be_bytes(),
                });
            }
            out
        }
    }
}

/// Decodes UTF-16 (after its BOM); `true` when some of it was invalid.
fn decode_utf16(body: &[u8], order: Utf16) -> (String, bool) {
    let units = body.chunks(2).map(|c| {
        let pair = [c[0], c.get(1).copied().unwrap_or(0)];
        match order {
            Utf16::Le => u16::from_le_bytes(pair),
            Utf16::Be => u16::from_be_bytes(pair),
        }
    });
    let mut lossy = body.len() % 2 == 1;
    let text = char::decode_utf16(units)
        .map(|r| {
            r.unwrap_or_else(|_| {
                lossy = true;
                char::REPLACEMENT_CHARACTER
            })
        })
        .collect();
    (text, lossy)
}

impl SourceFile {
    pub fn from_bytes(name: impl Into<String>, path: Option<&Path>, bytes: &[u8]) -> SourceFile {
        let order = if bytes.starts_with(b"\xFF\xFE") {
            Some(Utf16::Le)
        } else if bytes.starts_with(b"\xFE\xFF") {
            Some(Utf16::Be)
        } else {
            None
        };
        if let Some(order) = order {
            let (text, lossy) = decode_utf16(&bytes[2..], order);
            let binary = looks_binary(text.as_bytes());
            let mut f = SourceFile::build(
                name.into(),
                path.map(Path::to_path_buf),
                text,
                false,
                lossy,
                binary,
            );
            f.utf16 = Some(order);
            return f;
        }
        let (had_bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
            Some(rest) => (true, rest),
            None => (false, bytes),
        };
        let binary = looks_binary(body);
        let (text, lossy) = match std::str::from_utf8(body) {
            Ok(s) => (s.to_owned(), false),
            Err(_) => (String::from_utf8_lossy(body).into_owned(), true),
        };
        SourceFile::build(
            name.into(),
            path.map(Path::to_path_buf),
            text,
            had_bom,
            lossy,
            binary,
        )
    }

    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let binary = looks_binary(text.as_bytes());
        SourceFile::build(name.into(), None, text, false, false, binary)
    }

    fn build(
        name: String,
        path: Option<PathBuf>,
        text: String,
        had_bom: bool,
        lossy: bool,
        binary: bool,
    ) -> SourceFile {
        let mut line_starts = vec![0];
        let bytes = text.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            // A lone CR (old Mac) also ends a line; CRLF counts once.
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                line_starts.push(i + 1);
            }
        }
        // Kept for the whole run, for every file: no room left from growing.
        line_starts.shrink_to_fit();
        let char_blocks = if text.is_ascii() {
            Vec::new()
        } else {
            let mut before = 0;
            bytes
                .chunks(CHAR_BLOCK)
                .map(|block| {
                    let at = before;
                    before += char_starts(block);
                    at
                })
                .collect()
        };
        SourceFile {
            name,
            path,
            text,
            had_bom,
            lossy,
            binary,
            utf16: None,
            line_starts,
            char_blocks,
        }
    }

    /// Number of lines (a trailing newline does not start a new line).
    pub fn line_count(&self) -> usize {
        let n = self.line_starts.len();
        if n > 1 && self.line_starts[n - 1] == self.text.len() {
            n - 1
        } else {
            n
        }
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.floor_char_boundary(offset.min(self.text.len()));
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line_idx];
        (line_idx + 1, self.chars_between(start, offset) + 1)
    }

    /// Characters in `text[start..end]` (both char boundaries, `start <=
    /// end`): bytes on ASCII text, counted directly on short spans, from the
    /// block counts on long ones.
    fn chars_between(&self, start: usize, end: usize) -> usize {
        if self.char_blocks.is_empty() {
            return end - start;
        }
        if end - start <= 2 * CHAR_BLOCK {
            return self.text[start..end].chars().count();
        }
        let bytes = self.text.as_bytes();
        // Characters before a byte offset: the block's count plus those of
        // the block before it.
        let before = |at: usize| -> Option<usize> {
            let block = at / CHAR_BLOCK;
            Some(self.char_blocks.get(block)? + char_starts(bytes.get(block * CHAR_BLOCK..at)?))
        };
        match (before(start), before(end)) {
            (Some(a), Some(b)) if b >= a => b - a,
            _ => self.text[start..end].chars().count(),
        }
    }

    /// Byte offset of the start of a 1-based line.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The text of a 1-based line without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_start(line);
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Start and end positions (line, column) of a span; the end is the
    /// position of the span's last character (inclusive), as SARIF and editors
    /// expect for `endColumn` when exclusive is +1.
    pub fn span_lines(&self, span: &Range<usize>) -> ((usize, usize), (usize, usize)) {
        let start = self.line_col(span.start);
        let end = self.line_col(span.end.max(span.start));
        (start, end)
    }

    fn floor_char_boundary(&self, mut i: usize) -> usize {
        while i > 0 && !self.text.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

/// A file is treated as binary when it holds NUL bytes in its first 8 KiB or
/// when more than a tenth of them are control bytes that text never has.
fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    if head.is_empty() {
        return false;
    }
    let odd = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c))
        .count();
    odd * 10 > head.len()
}

/// A name for a path as the user would write it.
///
/// Files are found by this name (findings, fixes, baselines), so two paths
/// must not share one: bytes that are not UTF-8 are written `\xFF` (never
/// U+FFFD, which made `001_\xfe.sql` and `001_\xff.sql` one file whose
/// findings hid each other's). Discovery refuses the rare two names that
/// still meet ([`crate::discover`]).
pub fn display_path(p: &Path) -> String {
    let s = os_text(p.as_os_str());
    let s = s.strip_prefix("./").unwrap_or(&s);
    if s.is_empty() {
        ".".to_string()
    } else {
        s.to_string()
    }
}

/// An OS string as text: valid UTF-8 as it is, every other byte as `\xFF`.
#[cfg(unix)]
pub fn os_text(s: &std::ffi::OsStr) -> std::borrow::Cow<'_, str> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = s.as_bytes();
    if let Ok(text) = std::str::from_utf8(bytes) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    std::borrow::Cow::Owned(out)
}

/// An OS string as text (Windows: unpaired surrogates as U+FFFD).
#[cfg(not(unix))]
pub fn os_text(s: &std::ffi::OsStr) -> std::borrow::Cow<'_, str> {
    s.to_string_lossy()
}

/// The path of a finding's file as CI tools want it: relative to `base`
/// (the working folder, normally the repository root) when it lies under it,
/// with forward slashes, without `./`; a path that climbs out of `base`
/// (`../other/x.sql`) becomes absolute. Names that are not paths
/// (`<stdin>`, `--stdin-filename` values) stay as they are.
pub fn artifact_path(file: &str, base: Option<&Path>) -> String {
    let mut name = file.to_string();
    if let Some(base) = base {
        let path = Path::new(file);
        let full = if path.is_absolute() {
            Some(lexical_normalize(path))
        } else if path.components().any(|c| c == Component::ParentDir) {
            Some(lexical_normalize(&base.join(path)))
        } else {
            None
        };
        if let Some(full) = full {
            name = match full.strip_prefix(lexical_normalize(base)) {
                Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
                _ => full.to_string_lossy().into_owned(),
            };
        }
    }
    if cfg!(windows) {
        // On Windows `\` separates folders; elsewhere it is part of a name
        // (and becomes `%5C` in a URI).
        name = name.replace('\\', "/");
    }
    while let Some(rest) = name.strip_prefix("./") {
        name = rest.to_string();
    }
    name
}

/// `a/./b/../c` → `a/c`, without touching the filesystem.
fn lexical_normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let f = SourceFile::from_text("a.sql", "ab\r\nçd\nx");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 1));
        assert_eq!(f.line_col(6), (2, 2)); // after the two-byte ç
        assert_eq!(f.line_col(8), (3, 1));
        assert_eq!(f.line_count(), 3);
        assert_eq!(f.line_text(1), "ab");
    }

    #[test]
    fn columns_on_long_lines_are_the_characters_before_them() {
        // Long lines of one-, two-, three- and four-byte characters, blocks
        // boundaries falling inside characters: the block counts give the
        // same columns as counting.
        let mut text = String::from("x\n");
        for i in 0..30_000 {
            text.push(['a', 'é', '€', '𝄞'][i % 4]);
            if i % 7 == 0 {
                text.push(';');
            }
        }
        text.push_str("\nçz");
        for t in [text.clone(), text.replace(['é', '€', '𝄞', 'ç'], "b")] {
            let f = SourceFile::from_text("a.sql", t.as_str());
            for (offset, _) in t.char_indices().step_by(97).chain([(t.len(), ' ')]) {
                let start = t[..offset].rfind('\n').map_or(0, |i| i + 1);
                let line = t[..offset].matches('\n').count() + 1;
                let col = t[start..offset].chars().count() + 1;
                assert_eq!(f.line_col(offset), (line, col), "at {offset}");
            }
        }
    }

    #[test]
    fn bom_is_dropped_and_invalid_utf8_is_lossy() {
        let f = SourceFile::from_bytes("a.sql", None, b"\xEF\xBB\xBFselect 1;\n\xff;");
        assert!(f.had_bom);
        assert!(f.lossy);
        assert!(f.text.starts_with("select"));
        assert_eq!(f.line_col(f.text.len()), (2, 3));
    }

    #[test]
    fn nul_bytes_mean_binary() {
        let f = SourceFile::from_bytes("a.sql", None, b"SQLite format 3\0\0\0");
        assert!(f.binary);
    }
}
