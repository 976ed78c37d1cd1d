//! The names a part's statements may touch, read from its tokens (which
//! objects to look up, copy or refresh): the walkers of the MySQL engine's
//! catalog and copy database. Moved out of `observe.rs` as it was (issue 12's
//! size mark).

use crate::lexer::TokenKind;
use crate::model::Part;
use crate::report::FileUnit;
use std::collections::BTreeSet;
/// MySQL's reserved words that migrations use most, reserved in MariaDB
/// too: an unquoted word among them is never an object's name, so
/// [`raw_names`] leaves them out (each name costs a catalog lookup).
pub(super) const RESERVED: &[&str] = &[
    "add",
    "all",
    "alter",
    "and",
    "as",
    "asc",
    "before",
    "between",
    "bigint",
    "binary",
    "blob",
    "both",
    "by",
    "call",
    "cascade",
    "case",
    "change",
    "char",
    "character",
    "check",
    "collate",
    "column",
    "constraint",
    "convert",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "database",
    "decimal",
    "declare",
    "default",
    "delete",
    "desc",
    "deterministic",
    "distinct",
    "double",
    "drop",
    "each",
    "else",
    "elseif",
    "exists",
    "false",
    "float",
    "for",
    "foreign",
    "from",
    "fulltext",
    "grant",
    "group",
    "having",
    "if",
    "ignore",
    "in",
    "index",
    "inner",
    "insert",
    "int",
    "integer",
    "interval",
    "into",
    "is",
    "join",
    "key",
    "keys",
    "leading",
    "left",
    "like",
    "limit",
    "lock",
    "longtext",
    "mediumint",
    "mediumtext",
    "not",
    "null",
    "on",
    "or",
    "order",
    "outer",
    "primary",
    "procedure",
    "references",
    "rename",
    "replace",
    "restrict",
    "return",
    "right",
    "select",
    "set",
    "show",
    "smallint",
    "spatial",
    "table",
    "then",
    "tinyint",
    "tinytext",
    "to",
    "trigger",
    "true",
    "union",
    "unique",
    "unsigned",
    "update",
    "using",
    "values",
    "varchar",
    "when",
    "where",
    "while",
    "with",
];

/// The names a part's statements use as written (identifiers, unquoted;
/// unquoted reserved words left out), for [`refresh_catalog`].
pub(super) fn raw_names(file: &FileUnit, part: &Part) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for &i in &part.statements {
        let Some(st) = file.statements.get(i) else {
            continue;
        };
        let mut after_dot = false;
        for t in &st.tokens {
            let raw = &file.source.text[t.span.clone()];
            let dot = after_dot;
            if !t.kind.is_trivia() {
                after_dot = t.kind == TokenKind::Punct && raw == ".";
            }
            match t.kind {
                TokenKind::Word => {
                    // A reserved word after a dot is a name (`db.order`).
                    if !dot && !raw.contains('.') && RESERVED.contains(&raw.to_lowercase().as_str())
                    {
                        continue;
                    }
                    for w in raw.split('.') {
                        if !w.is_empty() {
                            out.insert(w.to_string());
                        }
                    }
                }
                TokenKind::QuotedIdent => {
                    let inner = raw
                        .trim_start_matches(['`', '"', '['])
                        .trim_end_matches(['`', '"', ']']);
                    out.insert(inner.replace("``", "`"));
                }
                _ => {}
            }
        }
    }
    out
}

/// The names a part's statements can create, change or drop a routine or
/// event by, as written: those after `FUNCTION`, `PROCEDURE` or `EVENT`
/// (past `IF [NOT] EXISTS`; a qualified name's parts), and after `RENAME
/// TO` (`ALTER EVENT e RENAME TO f`). Nothing else in a
/// statement changes a routine, short of SQL built at run time or a
/// routine call (the caller reads everything again then).
pub(super) fn routine_names(file: &FileUnit, part: &Part) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for &i in &part.statements {
        let Some(st) = file.statements.get(i) else {
            continue;
        };
        let tokens: Vec<&crate::lexer::Token> =
            st.tokens.iter().filter(|t| !t.kind.is_trivia()).collect();
        let text = |t: &crate::lexer::Token| &file.source.text[t.span.clone()];
        let is_word = |t: &crate::lexer::Token, words: &[&str]| {
            t.kind == TokenKind::Word && words.contains(&text(t).to_ascii_lowercase().as_str())
        };
        for (j, t) in tokens.iter().enumerate() {
            let mut k = j + 1;
            if is_word(t, &["rename"]) && tokens.get(k).is_some_and(|t| is_word(t, &["to"])) {
                k += 1;
            } else if !is_word(t, &["function", "procedure", "event"]) {
                continue;
            }
            while tokens
                .get(k)
                .is_some_and(|t| is_word(t, &["if", "not", "exists"]))
            {
                k += 1;
            }
            // `name`, `db.name`, `` `db`.`name` ``.
            while let Some(t) = tokens.get(k) {
                let raw = text(t);
                match t.kind {
                    TokenKind::Word => {
                        out.extend(raw.split('.').filter(|w| !w.is_empty()).map(String::from))
                    }
                    TokenKind::QuotedIdent => {
                        let inner = raw
                            .trim_start_matches(['`', '"', '['])
                            .trim_end_matches(['`', '"', ']']);
                        out.insert(inner.replace("``", "`"));
                    }
                    _ => break,
                }
                // A dot goes on to the next part of the name.
                match tokens.get(k + 1) {
                    Some(d) if d.kind == TokenKind::Punct && text(d) == "." => k += 2,
                    _ => break,
                }
            }
        }
    }
    out
}

/// Lower-case identifier-like words of a text (bodies, definitions).
pub(super) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
}

/// The names a part's statements mention (lower case), and whether one of
/// them builds SQL at run time (then everything is in reach).
pub(super) fn mentioned(file: &FileUnit, part: &Part, out: &mut BTreeSet<String>) -> bool {
    let mut dynamic = false;
    for &i in &part.statements {
        let Some(st) = file.statements.get(i) else {
            continue;
        };
        for t in &st.tokens {
            let raw = &file.source.text[t.span.clone()];
            match t.kind {
                TokenKind::Word => {
                    let w = raw.to_lowercase();
                    if w == "prepare" || w == "execute" {
                        dynamic = true;
                    }
                    out.insert(w);
                }
                TokenKind::QuotedIdent => {
                    let inner = raw
                        .trim_start_matches(['`', '"', '['])
                        .trim_end_matches(['`', '"', ']']);
                    out.insert(inner.replace("``", "`").to_lowercase());
                }
                // Qualified names (`db.t`) lex as one word in some dialects.
                _ => {}
            }
        }
        // The statement text may differ from the tokens (placeholders).
        out.extend(words(&st.sql));
    }
    dynamic
}
