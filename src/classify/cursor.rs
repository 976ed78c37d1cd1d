//! The token cursor: [`Toks`], the significant tokens of a statement with
//! the helpers the recognisers read them with.

use super::*;

/// Significant tokens with the text they index, and the helpers the
/// classifier reads them with.
#[derive(Clone, Copy)]
pub struct Toks<'a> {
    pub text: &'a str,
    pub toks: &'a [Token],
    pub dialect: Dialect,
}

/// Words that can never be a table alias.
pub(super) const NOT_ALIAS: &[&str] = &[
    "SET",
    "WHERE",
    "FROM",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "CROSS",
    "NATURAL",
    "STRAIGHT_JOIN",
    "ON",
    "USING",
    "VALUES",
    "VALUE",
    "SELECT",
    "DEFAULT",
    "RETURNING",
    "ORDER",
    "LIMIT",
    "OUTPUT",
    "WITH",
    "OVERRIDING",
    "PARTITION",
    "USE",
    "FORCE",
    "IGNORE",
    "TABLE",
];

impl<'a> Toks<'a> {
    pub fn len(&self) -> usize {
        self.toks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.toks.is_empty()
    }

    pub fn kind(&self, i: usize) -> Option<TokenKind> {
        self.toks.get(i).map(|t| t.kind)
    }

    /// The text of token `i` (empty past the end).
    pub fn text(&self, i: usize) -> &'a str {
        self.toks
            .get(i)
            .and_then(|t| self.text.get(t.span.clone()))
            .unwrap_or("")
    }

    pub fn span(&self, i: usize) -> Range<usize> {
        self.toks
            .get(i)
            .map_or(self.end_offset()..self.end_offset(), |t| t.span.clone())
    }

    pub(super) fn end_offset(&self) -> usize {
        self.toks.last().map_or(0, |t| t.span.end)
    }

    /// File span of tokens `range` (first start to last end).
    pub fn span_of(&self, range: Range<usize>) -> Range<usize> {
        if range.start >= range.end || range.start >= self.toks.len() {
            let p = self.span(range.start).start;
            return p..p;
        }
        let end = range.end.min(self.toks.len());
        self.toks[range.start].span.start..self.toks[end - 1].span.end
    }

    /// The text of a word token.
    pub fn word(&self, i: usize) -> Option<&'a str> {
        (self.kind(i)? == TokenKind::Word).then(|| self.text(i))
    }

    /// Token `i` is the keyword `k` (given in upper case).
    pub fn kw(&self, i: usize, k: &str) -> bool {
        self.word(i).is_some_and(|w| w.eq_ignore_ascii_case(k))
    }

    /// Token `i` is one of the keywords `ks`.
    pub fn kw_any(&self, i: usize, ks: &[&str]) -> bool {
        self.word(i)
            .is_some_and(|w| ks.iter().any(|k| w.eq_ignore_ascii_case(k)))
    }

    /// Tokens from `i` are the keywords `ks`.
    pub fn kws(&self, i: usize, ks: &[&str]) -> bool {
        ks.iter().enumerate().all(|(j, k)| self.kw(i + j, k))
    }

    pub fn punct(&self, i: usize, p: &str) -> bool {
        self.kind(i) == Some(TokenKind::Punct) && self.text(i) == p
    }

    /// `IF NOT EXISTS` at `i`: returns the index after it.
    pub(super) fn if_not_exists(&self, i: usize) -> Option<usize> {
        self.kws(i, &["IF", "NOT", "EXISTS"]).then_some(i + 3)
    }

    /// `IF EXISTS` at `i`.
    pub(super) fn if_exists(&self, i: usize) -> Option<usize> {
        self.kws(i, &["IF", "EXISTS"]).then_some(i + 2)
    }

    /// Token `i` can be an identifier. An unquoted `IF` that starts a guard
    /// (`IF EXISTS`, `IF NOT EXISTS`) cannot: where a name was expected it
    /// is a guard written in the wrong place or of the wrong kind (`DROP
    /// COLUMN IF NOT EXISTS c`), which no database reads as a name.
    pub fn is_ident(&self, i: usize) -> bool {
        if self.kind(i) == Some(TokenKind::Word)
            && (self.kws(i, &["IF", "EXISTS"]) || self.kws(i, &["IF", "NOT", "EXISTS"]))
        {
            return false;
        }
        matches!(
            self.kind(i),
            Some(TokenKind::Word) | Some(TokenKind::QuotedIdent)
        ) || (self.dialect == Dialect::Mysql && self.kind(i) == Some(TokenKind::String))
    }

    /// The normalised identifier at `i`: quotes removed, case folded as the
    /// dialect does (Postgres keeps the case of quoted names; SQLite and
    /// MySQL compare names without case).
    pub fn ident(&self, i: usize) -> Option<String> {
        if !self.is_ident(i) {
            return None;
        }
        let raw = self.text(i);
        let quoted = self.kind(i) != Some(TokenKind::Word);
        let s = if quoted {
            unquote(raw)
        } else {
            raw.to_string()
        };
        let fold = !quoted || matches!(self.dialect, Dialect::Sqlite | Dialect::Mysql);
        Some(if fold { s.to_lowercase() } else { s })
    }

    /// The identifier at `i` as the database shows it (in its messages and
    /// catalogs): Postgres folds unquoted names to lower case, SQLite and
    /// MySQL keep the case they were written in (and only match names
    /// without case).
    pub fn shown_ident(&self, i: usize) -> Option<String> {
        match self.dialect {
            Dialect::Sqlite | Dialect::Mysql if self.is_ident(i) => Some(unquote(self.text(i))),
            _ => self.ident(i),
        }
    }

    /// A possibly qualified name at `i`; returns it and the index after it.
    pub fn name(&self, i: usize) -> Option<(Name, usize)> {
        let first = self.ident(i)?;
        let mut parts = vec![first];
        let mut shown = vec![self.shown_ident(i)?];
        let mut j = i + 1;
        while self.punct(j, ".") {
            match (self.ident(j + 1), self.shown_ident(j + 1)) {
                (Some(p), Some(s)) => {
                    parts.push(p);
                    shown.push(s);
                    j += 2;
                }
                _ => break,
            }
        }
        let span = self.span(i).start..self.span(j - 1).end;
        Some((Name { parts, shown, span }, j))
    }

    /// The index of the token that closes the parenthesis opened at `i`
    /// (or the end of the statement).
    pub fn close_paren(&self, i: usize) -> usize {
        let mut depth = 0usize;
        let mut j = i;
        while j < self.len() {
            if self.punct(j, "(") {
                depth += 1;
            } else if self.punct(j, ")") {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j;
                }
            }
            j += 1;
        }
        self.len()
    }

    /// Skips a parenthesised group at `i` if there is one.
    pub fn skip_parens(&self, i: usize) -> usize {
        if self.punct(i, "(") {
            (self.close_paren(i) + 1).min(self.len())
        } else {
            i
        }
    }

    /// The first index in `from..to` at parenthesis depth 0 where `pred` holds.
    pub fn find_depth0(
        &self,
        from: usize,
        to: usize,
        mut pred: impl FnMut(usize) -> bool,
    ) -> Option<usize> {
        let mut depth = 0usize;
        let to = to.min(self.len());
        let mut j = from;
        while j < to {
            if self.punct(j, "(") {
                depth += 1;
            } else if self.punct(j, ")") {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
            } else if depth == 0 && pred(j) {
                return Some(j);
            }
            j += 1;
        }
        None
    }

    /// Splits `from..to` at depth-0 commas.
    pub fn split_commas(&self, from: usize, to: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = from;
        let mut depth = 0usize;
        let to = to.min(self.len());
        for j in from..to {
            if self.punct(j, "(") || self.punct(j, "[") {
                depth += 1;
            } else if self.punct(j, ")") || self.punct(j, "]") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.punct(j, ",") {
                out.push(start..j);
                start = j + 1;
            }
        }
        if start < to {
            out.push(start..to);
        }
        out
    }
}

/// Decodes PostgreSQL's Unicode escapes (`\0061`, `\+000061`, `\\`);
/// an escape that is not one is kept as written.
fn unicode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let (digits, skip) = if rest[1..].starts_with('+') {
            (rest.get(2..8), 8)
        } else {
            (rest.get(1..5), 5)
        };
        if rest[1..].starts_with('\\') {
            out.push('\\');
            rest = &rest[2..];
            continue;
        }
        match digits
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .and_then(char::from_u32)
        {
            Some(c) => {
                out.push(c);
                rest = &rest[skip..];
            }
            None => {
                out.push('\\');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A word upper-cased on the stack, to match keywords without allocating.
/// Words longer than any keyword read as empty.
pub(super) struct Upper {
    pub(super) buf: [u8; 24],
    pub(super) len: usize,
}

impl Upper {
    pub(super) fn new(w: &str) -> Upper {
        let mut buf = [0u8; 24];
        if w.len() > buf.len() {
            return Upper { buf, len: 0 };
        }
        for (i, b) in w.bytes().enumerate() {
            buf[i] = b.to_ascii_uppercase();
        }
        Upper { buf, len: w.len() }
    }

    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// Removes the quotes of a quoted identifier or string (doubled quotes
/// inside become one).
pub fn unquote(raw: &str) -> String {
    // PostgreSQL's `U&"..."`: quotes removed, then its escapes decoded.
    if let Some(rest) = raw
        .strip_prefix("U&")
        .or_else(|| raw.strip_prefix("u&"))
        .filter(|r| r.starts_with('"'))
    {
        return unicode_escapes(&unquote(rest));
    }
    let mut chars = raw.chars();
    let (open, close) = match chars.next() {
        Some('"') => ('"', '"'),
        Some('`') => ('`', '`'),
        Some('[') => ('[', ']'),
        Some('\'') => ('\'', '\''),
        _ => return raw.to_string(),
    };
    let _ = open;
    let inner = &raw[1..];
    let inner = inner.strip_suffix(close).unwrap_or(inner);
    let doubled: String = [close, close].iter().collect();
    inner.replace(&doubled, &close.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn unicode_escaped_names_are_decoded() {
        assert_eq!(super::unquote(r#"U&"\0061dmin""#), "admin");
        assert_eq!(super::unquote(r#"u&"d\+000061ta""#), "data");
        assert_eq!(super::unquote(r#"U&"a\\b""#), r"a\b");
        assert_eq!(super::unquote(r#"U&"x""y""#), r#"x"y"#);
        // Not an escape: kept as written.
        assert_eq!(super::unquote(r#"U&"a\zz""#), r"a\zz");
        assert_eq!(super::unquote(r#"U&"\00e""#), r"\00e");
        assert_eq!(super::unquote(r#""plain""#), "plain");
    }
}
