//! Normalised text of SQLite schema objects, from their `sqlite_schema` SQL:
//! comments and layout dropped, keywords upper-cased, needless identifier
//! quotes removed, one column or constraint per line for tables and one
//! statement per line for trigger bodies. Two objects that SQLite treats the
//! same way normalise to the same text, and a line diff of two versions
//! shows the columns or clauses that changed.

use crate::dialect::Dialect;
use crate::lexer::{Lexer, TokenKind};

/// Whether SQLite treats `word` as a keyword.
fn is_keyword(word: &str) -> bool {
    let Ok(len) = std::os::raw::c_int::try_from(word.len()) else {
        return false;
    };
    // SAFETY: the pointer and length describe `word`; SQLite only reads them.
    unsafe { rusqlite::ffi::sqlite3_keyword_check(word.as_ptr().cast(), len) != 0 }
}

/// Common type names, upper-cased like keywords so that `integer` and
/// `INTEGER` normalise alike (SQLite keeps declared types as written).
fn is_type_name(word: &str) -> bool {
    const TYPES: &[&str] = &[
        "INT",
        "INTEGER",
        "TINYINT",
        "SMALLINT",
        "MEDIUMINT",
        "BIGINT",
        "TEXT",
        "CLOB",
        "VARCHAR",
        "CHAR",
        "NCHAR",
        "NVARCHAR",
        "CHARACTER",
        "REAL",
        "DOUBLE",
        "FLOAT",
        "NUMERIC",
        "DECIMAL",
        "BOOLEAN",
        "BOOL",
        "DATE",
        "DATETIME",
        "TIMESTAMP",
        "BLOB",
        "JSON",
        "UUID",
        "STRICT",
    ];
    TYPES.iter().any(|t| t.eq_ignore_ascii_case(word))
}

fn simple_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A token as it appears in normalised text.
fn token_text(text: &str, kind: TokenKind) -> String {
    match kind {
        TokenKind::Word => {
            if is_keyword(text) || is_type_name(text) {
                text.to_ascii_uppercase()
            } else {
                text.to_string()
            }
        }
        TokenKind::QuotedIdent => {
            let inner = &text[1..text.len().saturating_sub(1).max(1)];
            if simple_ident(inner) && !is_keyword(inner) {
                inner.to_string()
            } else {
                text.to_string()
            }
        }
        _ => text.to_string(),
    }
}

/// Whether a space goes between two normalised tokens.
fn space_between(prev: &str, next: &str) -> bool {
    !(prev.is_empty()
        || prev == "("
        || prev == "."
        || next == ")"
        || next == ","
        || next == "."
        || next == ";"
        || (next == "(" && !is_keyword(prev) && prev != ","))
}

/// Whether a table's SQL (normalised or as stored) makes a virtual table:
/// `CREATE VIRTUAL TABLE ...`.
pub fn is_virtual(sql: &str) -> bool {
    let mut words = sql.split_ascii_whitespace();
    words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("CREATE"))
        && words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("VIRTUAL"))
}

/// Normalises the SQL of one schema object.
pub fn normalise(kind: &str, sql: &str) -> String {
    let toks: Vec<(String, TokenKind)> = Lexer::new(sql, 0..sql.len(), Dialect::Sqlite)
        .filter(|t| !t.kind.is_trivia())
        .map(|t| (token_text(&sql[t.span.clone()], t.kind), t.kind))
        .collect();
    match kind {
        "table" => layout_table(&toks),
        "trigger" => layout_trigger(&toks),
        _ => join(toks.iter().map(|(t, _)| t.as_str())),
    }
}

fn join<'a>(toks: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut prev = "";
    for t in toks {
        if space_between(prev, t) && !out.is_empty() && !out.ends_with('\n') && !out.ends_with(' ')
        {
            out.push(' ');
        }
        out.push_str(t);
        prev = t;
    }
    out
}

/// `CREATE TABLE t (` then one element per line, `)` and table options.
fn layout_table(toks: &[(String, TokenKind)]) -> String {
    let Some(open) = toks.iter().position(|(t, _)| t == "(") else {
        return join(toks.iter().map(|(t, _)| t.as_str()));
    };
    // `CREATE TABLE t AS SELECT ...` has no column list before AS.
    if toks[..open].iter().any(|(t, _)| t == "AS") {
        return join(toks.iter().map(|(t, _)| t.as_str()));
    }
    let mut out = join(toks[..open].iter().map(|(t, _)| t.as_str()));
    out.push_str(" (\n");
    let mut depth = 0usize;
    let mut element: Vec<&str> = Vec::new();
    let mut close = toks.len();
    for (i, (t, _)) in toks.iter().enumerate().skip(open + 1) {
        match t.as_str() {
            "(" => depth += 1,
            ")" if depth == 0 => {
                close = i;
                break;
            }
            ")" => depth -= 1,
            "," if depth == 0 => {
                out.push_str("  ");
                out.push_str(&join(element.drain(..)));
                out.push_str(",\n");
                continue;
            }
            _ => {}
        }
        element.push(t);
    }
    if !element.is_empty() {
        out.push_str("  ");
        out.push_str(&join(element.drain(..)));
        out.push('\n');
    }
    out.push(')');
    let rest = join(toks.iter().skip(close + 1).map(|(t, _)| t.as_str()));
    if !rest.is_empty() {
        out.push(' ');
        out.push_str(&rest);
    }
    out
}

/// The trigger header on one line, then each body statement on its own.
fn layout_trigger(toks: &[(String, TokenKind)]) -> String {
    let Some(begin) = toks
        .iter()
        .position(|(t, k)| *k == TokenKind::Word && t == "BEGIN")
    else {
        return join(toks.iter().map(|(t, _)| t.as_str()));
    };
    let mut out = join(toks[..=begin].iter().map(|(t, _)| t.as_str()));
    out.push('\n');
    let mut stmt: Vec<&str> = Vec::new();
    for (t, k) in &toks[begin + 1..] {
        if t == ";" {
            out.push_str("  ");
            out.push_str(&join(stmt.drain(..)));
            out.push_str(";\n");
        } else if *k == TokenKind::Word && t == "END" && stmt.is_empty() {
            out.push_str("END");
        } else {
            stmt.push(t);
        }
    }
    if !stmt.is_empty() {
        out.push_str("  ");
        out.push_str(&join(stmt.drain(..)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_get_one_column_per_line() {
        let a = normalise(
            "table",
            "create table \"users\" (id integer primary key, -- id\n  email text not null, \
             price numeric(10, 2), check (price > 0)) strict",
        );
        assert_eq!(
            a,
            "CREATE TABLE users (\n  id INTEGER PRIMARY KEY,\n  email TEXT NOT NULL,\n  \
             price NUMERIC(10, 2),\n  CHECK (price > 0)\n) STRICT"
        );
        let b = normalise(
            "table",
            "CREATE TABLE users(id INTEGER PRIMARY KEY,email TEXT NOT NULL,price \
             NUMERIC(10,2),CHECK(price>0))STRICT",
        );
        assert_eq!(a, b);
    }

    #[test]
    fn keyword_identifiers_keep_their_quotes() {
        assert_eq!(
            normalise("index", "CREATE INDEX \"i\" ON \"order\"(\"x\")"),
            "CREATE INDEX i ON \"order\"(x)"
        );
    }

    #[test]
    fn trigger_bodies_get_one_statement_per_line() {
        assert_eq!(
            normalise(
                "trigger",
                "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (new.x); \
                 UPDATE c SET n = n + 1; END"
            ),
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (new.x);\n  \
             UPDATE c SET n = n + 1;\nEND"
        );
    }
}
