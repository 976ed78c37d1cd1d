//! A small, total SQL lexer: every byte of the input belongs to exactly one
//! token, nothing is ever rejected, and unterminated strings or comments are
//! reported rather than fatal. The splitter and the token-level classifier
//! are built on it; sqlparser does the real parsing afterwards.

use crate::dialect::Dialect;
use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Unquoted identifier or keyword.
    Word,
    /// `"x"`, `` `x` ``, `[x]`.
    QuotedIdent,
    /// `'...'` with optional E/N/X/B/U& prefix.
    String,
    /// `$$...$$` or `$tag$...$tag$`.
    DollarString,
    Number,
    /// `?`, `?1`, `:name`, `@name`, `$1`.
    Param,
    /// Any other punctuation or operator.
    Punct,
    Semicolon,
    LineComment,
    BlockComment,
    Whitespace,
}

impl TokenKind {
    pub fn is_trivia(self) -> bool {
        matches!(
            self,
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Range<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexErrorKind {
    UnterminatedString,
    UnterminatedQuotedIdent,
    UnterminatedComment,
    UnterminatedDollarQuote,
}

impl LexErrorKind {
    pub fn describe(self) -> &'static str {
        match self {
            LexErrorKind::UnterminatedString => "unterminated string literal",
            LexErrorKind::UnterminatedQuotedIdent => "unterminated quoted identifier",
            LexErrorKind::UnterminatedComment => "unterminated block comment",
            LexErrorKind::UnterminatedDollarQuote => "unterminated dollar-quoted string",
        }
    }
}

/// A construct that runs to the end of the input without being closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LexError {
    pub kind: LexErrorKind,
    /// Byte offset where the construct starts.
    pub offset: usize,
}

/// Lexes `text[range]`, yielding tokens whose spans are offsets into `text`.
pub struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    dialect: Dialect,
    pub error: Option<LexError>,
    /// Inside a MySQL versioned comment (`/*!40014 ... */`), whose content
    /// the server runs: its opening and its `*/` are comment tokens, what
    /// is between them is lexed as SQL.
    versioned: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str, range: Range<usize>, dialect: Dialect) -> Lexer<'a> {
        let end = range.end.min(text.len());
        Lexer {
            text,
            bytes: text.as_bytes(),
            pos: range.start.min(end),
            end,
            dialect,
            error: None,
            versioned: false,
        }
    }

    /// At `/*!` or `/*M!` (MariaDB's) in MySQL, closed later: the length of
    /// the opening with its version number (`/*!40014`).
    fn versioned_opening(&self) -> Option<usize> {
        if self.dialect != Dialect::Mysql || self.versioned {
            return None;
        }
        let rest = &self.text[self.pos..self.end];
        let head = if rest.starts_with("/*!") {
            3
        } else if rest.starts_with("/*M!") {
            4
        } else {
            return None;
        };
        rest[head..]
            .contains("*/")
            .then(|| head + rest[head..].bytes().take_while(u8::is_ascii_digit).count())
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves the lexer to `pos` (must be a token boundary).
    pub fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.end);
    }

    pub fn rest(&self) -> &'a str {
        &self.text[self.pos..self.end]
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        let i = self.pos + ahead;
        if i < self.end {
            Some(self.bytes[i])
        } else {
            None
        }
    }

    fn fail(&mut self, kind: LexErrorKind, offset: usize) {
        if self.error.is_none() {
            self.error = Some(LexError { kind, offset });
        }
        self.pos = self.end;
    }

    /// Advances past a quoted run that starts at `self.pos` with `quote`
    /// (doubling the quote escapes it; backslash too where `backslash`).
    fn quoted(&mut self, quote: u8, backslash: bool, on_eof: LexErrorKind) {
        let start = self.pos;
        let mut i = self.pos + 1;
        while i < self.end {
            let b = self.bytes[i];
            if backslash && b == b'\\' {
                i += 2;
                continue;
            }
            if b == quote {
                if i + 1 < self.end && self.bytes[i + 1] == quote {
                    i += 2;
                    continue;
                }
                self.pos = i + 1;
                return;
            }
            i += 1;
        }
        self.fail(on_eof, start);
    }

    fn block_comment(&mut self) {
        let start = self.pos;
        let nested = self.dialect.nested_comments();
        let mut depth = 0usize;
        let mut i = self.pos;
        while i + 1 < self.end {
            let (a, b) = (self.bytes[i], self.bytes[i + 1]);
            if a == b'/' && b == b'*' && (nested || depth == 0) {
                depth += 1;
                i += 2;
            } else if a == b'*' && b == b'/' {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    self.pos = i;
                    return;
                }
            } else {
                i += 1;
            }
        }
        self.fail(LexErrorKind::UnterminatedComment, start);
    }

    /// `$tag$` at the current position, if one starts here.
    fn dollar_tag(&self) -> Option<usize> {
        if !self.dialect.dollar_quotes() || self.peek(0) != Some(b'$') {
            return None;
        }
        let mut i = self.pos + 1;
        while i < self.end {
            let b = self.bytes[i];
            if b == b'$' {
                return Some(i + 1 - self.pos);
            }
            let ok = b == b'_'
                || b.is_ascii_alphabetic()
                || b >= 0x80
                || (i > self.pos + 1 && b.is_ascii_digit());
            if !ok {
                return None;
            }
            i += 1;
        }
        None
    }

    fn dollar_string(&mut self, tag_len: usize) {
        let start = self.pos;
        let tag = &self.text[self.pos..self.pos + tag_len];
        let body = self.pos + tag_len;
        match self.text[body..self.end].find(tag) {
            Some(i) => self.pos = body + i + tag_len,
            None => self.fail(LexErrorKind::UnterminatedDollarQuote, start),
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) {
        while let Some(b) = self.peek(0) {
            if !f(b) {
                break;
            }
            self.pos += 1;
        }
    }

    fn bump_char(&mut self) {
        let ch_len = self.text[self.pos..]
            .chars()
            .next()
            .map_or(1, char::len_utf8);
        self.pos = (self.pos + ch_len).min(self.end);
    }
}

fn is_word_start(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphabetic() || b >= 0x80
}

fn is_word_byte(b: u8) -> bool {
    b == b'_' || b == b'$' || b.is_ascii_alphanumeric() || b >= 0x80
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        if self.pos >= self.end {
            return None;
        }
        let start = self.pos;
        let b = self.bytes[self.pos];
        let next = self.peek(1);
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
                self.take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c));
                TokenKind::Whitespace
            }
            b'-' if next == Some(b'-') => {
                self.take_while(|b| b != b'\n' && b != b'\r');
                TokenKind::LineComment
            }
            b'#' if self.dialect.hash_comments() => {
                self.take_while(|b| b != b'\n' && b != b'\r');
                TokenKind::LineComment
            }
            b'*' if self.versioned && next == Some(b'/') => {
                self.pos += 2;
                self.versioned = false;
                TokenKind::BlockComment
            }
            b'/' if next == Some(b'*') => {
                match self.versioned_opening() {
                    Some(n) => {
                        self.pos += n;
                        self.versioned = true;
                    }
                    None => self.block_comment(),
                }
                TokenKind::BlockComment
            }
            b'\'' => {
                self.quoted(
                    b'\'',
                    self.dialect.backslash_escapes(),
                    LexErrorKind::UnterminatedString,
                );
                TokenKind::String
            }
            b'"' => {
                if self.dialect == Dialect::Mysql {
                    self.quoted(b'"', true, LexErrorKind::UnterminatedString);
                    TokenKind::String
                } else {
                    self.quoted(b'"', false, LexErrorKind::UnterminatedQuotedIdent);
                    TokenKind::QuotedIdent
                }
            }
            b'`' => {
                self.quoted(b'`', false, LexErrorKind::UnterminatedQuotedIdent);
                TokenKind::QuotedIdent
            }
            b'[' if matches!(self.dialect, Dialect::Sqlite) => {
                match self.text[self.pos..self.end].find(']') {
                    Some(i) => self.pos += i + 1,
                    None => self.fail(LexErrorKind::UnterminatedQuotedIdent, start),
                }
                TokenKind::QuotedIdent
            }
            b';' => {
                self.pos += 1;
                TokenKind::Semicolon
            }
            b'$' => {
                if let Some(tag_len) = self.dollar_tag() {
                    self.dollar_string(tag_len);
                    TokenKind::DollarString
                } else {
                    self.pos += 1;
                    self.take_while(is_word_byte);
                    if self.pos == start + 1 {
                        TokenKind::Punct
                    } else {
                        TokenKind::Param
                    }
                }
            }
            b'?' => {
                self.pos += 1;
                self.take_while(|b| b.is_ascii_digit());
                TokenKind::Param
            }
            b':' if next.is_some_and(is_word_start) => {
                self.pos += 1;
                self.take_while(is_word_byte);
                TokenKind::Param
            }
            b'@' if next.is_some_and(is_word_start) => {
                self.pos += 1;
                self.take_while(|b| is_word_byte(b) || b == b'@');
                TokenKind::Param
            }
            b'0'..=b'9' => {
                self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
                TokenKind::Number
            }
            b'.' if next.is_some_and(|b| b.is_ascii_digit()) => {
                self.pos += 1;
                self.take_while(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
                TokenKind::Number
            }
            _ if is_word_start(b) => {
                // String prefixes: E'..', N'..', X'..', B'..', U&'..'.
                let prefix_quote = match (b.to_ascii_uppercase(), next) {
                    (b'E' | b'N' | b'X' | b'B', Some(b'\'')) => Some(1),
                    (b'U', Some(b'&')) if self.peek(2) == Some(b'\'') => Some(2),
                    _ => None,
                };
                // PostgreSQL's Unicode-escaped name: U&"d\0061ta".
                let unicode_name = b.eq_ignore_ascii_case(&b'U')
                    && next == Some(b'&')
                    && self.peek(2) == Some(b'"')
                    && self.dialect == Dialect::Postgres;
                if unicode_name {
                    self.pos += 2;
                    self.quoted(b'"', false, LexErrorKind::UnterminatedQuotedIdent);
                    TokenKind::QuotedIdent
                } else if let Some(skip) = prefix_quote {
                    self.pos += skip;
                    let backslash =
                        b.eq_ignore_ascii_case(&b'E') || self.dialect.backslash_escapes();
                    self.quoted(b'\'', backslash, LexErrorKind::UnterminatedString);
                    TokenKind::String
                } else {
                    while self.pos < self.end && is_word_byte(self.bytes[self.pos]) {
                        if self.bytes[self.pos] >= 0x80 {
                            self.bump_char();
                        } else {
                            self.pos += 1;
                        }
                    }
                    TokenKind::Word
                }
            }
            _ => {
                // Two-character operators stay together so `::`, `||`, `<=` read as one.
                let two = [b, next.unwrap_or(0)];
                let pair = matches!(
                    &two,
                    b"::"
                        | b"||"
                        | b"<="
                        | b">="
                        | b"<>"
                        | b"!="
                        | b"=="
                        | b"->"
                        | b"=>"
                        | b"<<"
                        | b">>"
                        | b"#>"
                        | b"@>"
                        | b"<@"
                        | b"&&"
                );
                if pair {
                    self.pos += 2;
                    if &two == b"->" && self.peek(0) == Some(b'>') {
                        self.pos += 1;
                    }
                } else {
                    self.bump_char();
                }
                TokenKind::Punct
            }
        };
        Some(Token {
            kind,
            span: start..self.pos,
        })
    }
}

/// All tokens of `text[range]` that are not whitespace or comments.
pub fn significant_tokens(text: &str, range: Range<usize>, dialect: Dialect) -> Vec<Token> {
    Lexer::new(text, range, dialect)
        .filter(|t| !t.kind.is_trivia())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str, d: Dialect) -> Vec<(TokenKind, &str)> {
        Lexer::new(sql, 0..sql.len(), d)
            .filter(|t| t.kind != TokenKind::Whitespace)
            .map(|t| (t.kind, &sql[t.span]))
            .collect()
    }

    #[test]
    fn strings_comments_and_dollar_quotes() {
        let sql = "select 'a;''b', $x$ ; $x$, /* /* ; */ */ e'\\'' -- ;\n";
        let k = kinds(sql, Dialect::Postgres);
        assert_eq!(k[1], (TokenKind::String, "'a;''b'"));
        assert_eq!(k[3], (TokenKind::DollarString, "$x$ ; $x$"));
        assert_eq!(k[5], (TokenKind::BlockComment, "/* /* ; */ */"));
        assert_eq!(k[6], (TokenKind::String, "e'\\''"));
        assert_eq!(k[7].0, TokenKind::LineComment);
    }

    #[test]
    fn mysql_runs_what_a_versioned_comment_holds() {
        let sql =
            "/*!40014 SET FOREIGN_KEY_CHECKS=0 */; CREATE DATABASE /*!32312 IF NOT EXISTS*/ d; \
                   /*M!100100 SET x='*/' */ /* plain */ /*!";
        let k = kinds(sql, Dialect::Mysql);
        let words: Vec<&str> = k
            .iter()
            .filter(|(t, _)| !t.is_trivia())
            .map(|(_, w)| *w)
            .collect();
        assert_eq!(
            words,
            [
                "SET",
                "FOREIGN_KEY_CHECKS",
                "=",
                "0",
                ";",
                "CREATE",
                "DATABASE",
                "IF",
                "NOT",
                "EXISTS",
                "d",
                ";",
                "SET",
                "x",
                "=",
                "'*/'"
            ]
        );
        assert_eq!(k[0], (TokenKind::BlockComment, "/*!40014"));
        assert_eq!(k[5], (TokenKind::BlockComment, "*/"));
        assert!(k.contains(&(TokenKind::BlockComment, "/* plain */")));
        // Never closed: an ordinary unterminated comment.
        let mut l = Lexer::new(sql, 0..sql.len(), Dialect::Mysql);
        l.by_ref().for_each(drop);
        assert_eq!(
            l.error.map(|e| e.kind),
            Some(LexErrorKind::UnterminatedComment)
        );
        // Other dialects: a comment.
        let k = kinds("/*!40014 SET x=0 */", Dialect::Sqlite);
        assert_eq!(k, [(TokenKind::BlockComment, "/*!40014 SET x=0 */")]);
    }

    #[test]
    fn sqlite_comments_do_not_nest() {
        let k = kinds("/* /* */ x", Dialect::Sqlite);
        assert_eq!(k[0], (TokenKind::BlockComment, "/* /* */"));
        assert_eq!(k[1], (TokenKind::Word, "x"));
    }

    #[test]
    fn unterminated_string_is_an_error_not_a_panic() {
        let sql = "select 'abc";
        let mut lx = Lexer::new(sql, 0..sql.len(), Dialect::Sqlite);
        let toks: Vec<_> = lx.by_ref().collect();
        assert_eq!(toks.last().unwrap().span, 7..11);
        assert_eq!(
            lx.error,
            Some(LexError {
                kind: LexErrorKind::UnterminatedString,
                offset: 7
            })
        );
    }

    #[test]
    fn positional_params_are_not_dollar_quotes() {
        let k = kinds("select $1, $2", Dialect::Postgres);
        assert_eq!(k[1], (TokenKind::Param, "$1"));
    }
}
