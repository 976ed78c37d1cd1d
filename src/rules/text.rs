//! Helpers for messages, help lines and fixes.

use crate::classify::{Name, Toks};
use crate::dialect::Dialect;
use crate::finding::{Edit, Fix};

/// Renders tokens `from..to` as the statement writes them, comments dropped
/// and whitespace collapsed, with `insert` put after token `after`.
pub fn head(t: &Toks, from: usize, to: usize, after: Option<(usize, &str)>) -> String {
    let to = to.min(t.len());
    let mut out = String::new();
    for k in from..to {
        if k > from {
            let gap = t.span(k - 1).end < t.span(k).start;
            if gap {
                out.push(' ');
            }
        }
        out.push_str(t.text(k));
        if let Some((a, s)) = after {
            if a == k {
                out.push_str(s);
            }
        }
    }
    out
}

/// The statement's head (`CREATE TABLE customers`) with ` IF NOT EXISTS`
/// (or another clause) inserted, followed by ` (...)` or ` ...` when the
/// statement goes on.
pub fn with_clause(t: &Toks, from: usize, head_end: usize, after: usize, clause: &str) -> String {
    let mut s = head(t, from, head_end, Some((after, clause)));
    if head_end < t.len() {
        if t.punct(head_end, "(") {
            let adjacent = head_end > 0 && t.span(head_end - 1).end == t.span(head_end).start;
            s.push_str(if adjacent { "(...)" } else { " (...)" });
        } else {
            s.push_str(" ...");
        }
    }
    s
}

/// `kw` in the case the statement uses for its keywords (lower case when
/// `sample` is lower case).
pub fn cased(sample: &str, kw: &str) -> String {
    if !sample.is_empty() && sample.chars().all(|c| !c.is_ascii_uppercase()) {
        kw.to_ascii_lowercase()
    } else {
        kw.to_string()
    }
}

/// A fix that inserts `text` at byte offset `at`.
pub fn insert_fix(description: String, at: usize, text: String) -> Fix {
    Fix {
        description,
        edits: vec![Edit {
            span: at..at,
            replacement: text,
        }],
        applicability: crate::finding::Applicability::Safe,
    }
}

/// Names the database as people do.
pub fn db(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
        Dialect::Mysql => "MySQL",
        Dialect::Generic => "this database",
    }
}

/// `s` as a code span for messages: in backticks, or, when it holds a
/// backtick itself (a MySQL quoted name), in double backticks with a space
/// inside each (Markdown's form, so that the span still reads as one).
pub fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// A short excerpt of `s` for messages (at most `max` characters), as a
/// [`code`] span.
pub fn code_excerpt(s: &str, max: usize) -> String {
    code(&excerpt(s, max))
}

/// A short excerpt of `s` for messages (at most `max` characters).
pub fn excerpt(s: &str, max: usize) -> String {
    let s = super::dml::collapse(s);
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max).collect();
    // Cut at a word boundary when there is one in the second half.
    if let Some(i) = out.rfind(' ').filter(|&i| i > max / 2) {
        out.truncate(i);
    }
    out.push_str(" …");
    out
}

/// The ways out when the dialect has no guard clause for an ALTER TABLE
/// action on a column (SQLite, MySQL).
/// `table` and `column` are the names as the database shows them (SQLite and
/// MySQL keep the case they were written in); SQLite's check matches the
/// column without case, as SQLite itself does.
pub fn column_ways_out(d: Dialect, table: &Name, column: &str) -> String {
    let (tl, cl) = (literal(table.shown()), literal(column));
    let shown = table.shown();
    match d {
        Dialect::Sqlite => format!(
            "let the migration tool's version table make sure it runs once, check the column first in application code (`SELECT 1 FROM pragma_table_info('{tl}') WHERE name = '{cl}' COLLATE NOCASE`), or rebuild the table (`CREATE TABLE {shown}_new (...); INSERT INTO {shown}_new SELECT ...; DROP TABLE {shown}; ALTER TABLE {shown}_new RENAME TO {shown};`)"
        ),
        _ => format!(
            "let the migration tool's version table make sure it runs once, or check information_schema.columns first (`SELECT 1 FROM information_schema.columns WHERE {} AND table_name = '{tl}' AND column_name = '{cl}'`) in a stored procedure or in application code",
            schema_filter(d, table)
        ),
    }
}

/// The `table_schema = ...` condition of an `information_schema` check for
/// `table`: its own schema when the name is qualified, else the one the
/// migration runs in (`current_schema()` in Postgres, `DATABASE()` in MySQL).
pub fn schema_filter(d: Dialect, table: &Name) -> String {
    match table.shown_qualifier() {
        Some(schema) => format!("table_schema = '{}'", literal(schema)),
        None if d == Dialect::Mysql => "table_schema = DATABASE()".to_string(),
        None => "table_schema = current_schema()".to_string(),
    }
}

/// `s` as the inside of a SQL string literal (quotes doubled).
pub fn literal(s: &str) -> String {
    s.replace('\'', "''")
}

/// The last part of a dotted name as written (`"a.b"` is one part).
pub fn last_part(written: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, ch) in written.char_indices() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None => match ch {
                '"' | '`' => quote = Some(ch),
                '[' => quote = Some(']'),
                '.' => start = i + 1,
                _ => {}
            },
        }
    }
    &written[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_part_of_a_name_as_written() {
        assert_eq!(last_part("main.\"a.b\""), "\"a.b\"");
        assert_eq!(last_part("`db`.`T`"), "`T`");
        assert_eq!(last_part("[s.x].[Y]"), "[Y]");
        assert_eq!(last_part("Users"), "Users");
    }
}

#[cfg(test)]
mod code_tests {
    #[test]
    fn a_code_span_holding_backticks_takes_double_ones() {
        assert_eq!(super::code("n = n + 1"), "`n = n + 1`");
        assert_eq!(super::code("`n` = `n` + 1"), "`` `n` = `n` + 1 ``");
    }
}
