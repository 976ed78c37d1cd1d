//! `sequence-reset`: a statement that sets a PostgreSQL sequence (or an
//! identity column's sequence) to a fixed value, so a second run moves it back
//! below the ids the application took since.

use super::index::Key;
use super::{Context, Rule, RuleMeta, Unit};
use crate::analysis::Statement;
use crate::classify::{Name, ObjectKind, Toks};
use crate::dialect::Dialect;
use crate::finding::{Applicability, Edit, Finding, Fix, Origin, Severity};
use crate::lexer::TokenKind;
use std::ops::Range;

pub static META: RuleMeta = RuleMeta {
    id: "sequence-reset",
    severity: Severity::Warning,
    origin: Origin::Static,
    summary: "setval() to a fixed value or RESTART sets a sequence back on every run: new rows then take ids that rows written since hold",
    doc: r#"## What it does
Flags, in PostgreSQL migrations, statements that set a sequence to a value fixed in the SQL:
`SELECT setval('users_id_seq', 100)` (also `pg_catalog.setval`, with `is_called`, several calls
in one `SELECT`, or `PERFORM setval(...)` in a `DO` block), `ALTER SEQUENCE s RESTART [WITH n]`
and an identity column's `ALTER TABLE t ALTER COLUMN id RESTART [WITH n]`.

Not flagged: a value computed from the data or from the sequence itself
(`setval('s', (SELECT max(id) FROM users))`, `setval('s', max(id)) FROM users`,
`GREATEST(100, (SELECT last_value FROM s))`), a `SELECT setval(...)` with a `FROM` or `WHERE`
clause (it runs only for the rows it selects), a call inside a `DO` block's existence check,
and a sequence or table the migration created afresh before the statement (dropped and made
again, so it holds only what this run wrote). `ALTER SEQUENCE ... START WITH` alone changes
only the value a later `RESTART` goes back to and is not flagged. SQLite's
`sqlite_sequence` and MySQL's `AUTO_INCREMENT = n` are not flagged: those databases never
hand out an id below the largest one a table holds.

## Why it matters
Between the first run and a re-run the application inserts rows, and the sequence moves on.
A second run puts it back to the fixed value, so the next inserts take ids that existing rows
hold: `duplicate key value violates unique constraint "users_pkey"` on every insert until
the sequence passes them again, or, in tables without a key, two rows with one id. Nothing
fails during the re-run itself, so the deploy looks fine. Replay does not report this (it
does not insert again after the second run), so this rule is the only warning.

## Example
```sql
-- flagged
INSERT INTO roles (id, name) VALUES (1, 'admin'), (2, 'user') ON CONFLICT DO NOTHING;
SELECT setval('roles_id_seq', 2);
ALTER SEQUENCE invoice_number_seq RESTART WITH 1000;

-- idempotent: never moves the sequence back
SELECT setval('roles_id_seq', GREATEST(2, (SELECT last_value FROM roles_id_seq)));
SELECT setval('roles_id_seq', (SELECT max(id) FROM roles));
```

## Fix
Compute the value so that a second run never lowers it: from the table
(`(SELECT max(id) FROM roles)`) or from the sequence
(`GREATEST(2, (SELECT last_value FROM roles_id_seq))`). `--fix --unsafe-fixes` rewrites a
`setval` whose sequence is a string literal in the second form (with `is_called` false, the
value the sequence hands out next). `RESTART` has no automatic fix: replace it with such a
`setval`.

## Fix safety
**Unsafe**: a first run on a sequence that is already past the value no longer sets it back,
which a migration that also deletes the table's rows may have meant to do.
"#,
    fixable: true,
};

pub struct SequenceReset;
pub static RULE: SequenceReset = SequenceReset;

impl Rule for SequenceReset {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        if cx.dialect != Dialect::Postgres {
            return;
        }
        for unit in super::units(stmt) {
            if unit.guarded {
                continue;
            }
            let t = unit.toks(cx);
            if t.kw_any(0, &["SELECT", "PERFORM"]) {
                for call in setval_calls(&t) {
                    report_setval(cx, &unit, stmt, &t, &call, out);
                }
            } else if t.kws(0, &["ALTER", "SEQUENCE"]) {
                report_sequence_restart(cx, &unit, stmt, &t, out);
            } else if t.kws(0, &["ALTER", "TABLE"]) {
                report_identity_restart(cx, &unit, stmt, &t, out);
            }
        }
    }
}

/// A `setval(sequence, value [, is_called])` call, as token ranges.
struct Call {
    /// `[pg_catalog.]setval` to the closing parenthesis.
    whole: Range<usize>,
    sequence: Range<usize>,
    value: Range<usize>,
    is_called: Option<Range<usize>>,
}

/// The `setval` calls of a `SELECT` (or `PERFORM`) whose select list is all
/// there is: a `FROM`, `WHERE` or anything else after the list makes the
/// calls depend on rows, and nothing is reported.
fn setval_calls(t: &Toks) -> Vec<Call> {
    let mut end = 1;
    let mut depth = 0usize;
    while end < t.len() {
        if t.punct(end, "(") || t.punct(end, "[") {
            depth += 1;
        } else if t.punct(end, ")") || t.punct(end, "]") {
            depth = depth.saturating_sub(1);
        } else if depth == 0
            && (t.kind(end) == Some(TokenKind::Semicolon)
                || t.kw_any(
                    end,
                    &[
                        "FROM",
                        "WHERE",
                        "GROUP",
                        "HAVING",
                        "ORDER",
                        "LIMIT",
                        "OFFSET",
                        "UNION",
                        "INTERSECT",
                        "EXCEPT",
                        "INTO",
                        "FETCH",
                        "WINDOW",
                    ],
                ))
        {
            break;
        }
        end += 1;
    }
    let rest_is_end = (end..t.len()).all(|j| t.kind(j) == Some(TokenKind::Semicolon));
    if !rest_is_end {
        return Vec::new();
    }
    let mut calls = Vec::new();
    for item in t.split_commas(1, end) {
        let mut i = item.start;
        if t.kw(i, "pg_catalog") && t.punct(i + 1, ".") {
            i += 2;
        }
        if !(t.kw(i, "setval") && t.punct(i + 1, "(")) {
            continue;
        }
        let close = t.close_paren(i + 1);
        if close >= item.end {
            continue;
        }
        // Only `AS alias` or an alias may follow the call.
        let after = close + 1..item.end;
        let alias_only = match after.len() {
            0 => true,
            1 => t.is_ident(after.start),
            2 => t.kw(after.start, "AS") && t.is_ident(after.start + 1),
            _ => false,
        };
        if !alias_only {
            continue;
        }
        let args = t.split_commas(i + 2, close);
        if args.len() < 2 || args.len() > 3 {
            continue;
        }
        calls.push(Call {
            whole: item.start..close + 1,
            sequence: args[0].clone(),
            value: args[1].clone(),
            is_called: args.get(2).cloned(),
        });
    }
    calls
}

/// The value is written in the SQL: numbers, strings, arithmetic,
/// parentheses and casts, nothing read from a table, a column or the
/// sequence.
fn fixed_value(t: &Toks, r: Range<usize>) -> bool {
    if r.is_empty() {
        return false;
    }
    let mut after_cast = false;
    for j in r {
        let ok = match t.kind(j) {
            Some(TokenKind::Number | TokenKind::String) => true,
            Some(TokenKind::Punct) => {
                matches!(t.text(j), "+" | "-" | "*" | "/" | "(" | ")" | "::")
            }
            // Type names after `::` or `AS` (`100::bigint`,
            // `CAST(100 AS bigint)`, `double precision`).
            Some(TokenKind::Word) => {
                after_cast
                    || t.kw_any(j, &["CAST", "AS"])
                    || (t.kw(j, "precision") && t.kw(j.wrapping_sub(1), "double"))
            }
            _ => false,
        };
        if !ok {
            return false;
        }
        after_cast = t.punct(j, "::") || t.kw(j, "AS");
    }
    true
}

/// The name a string literal holds (`'public.users_id_seq'`,
/// `'"Users_id_seq"'`), as PostgreSQL reads a `regclass` value, with the
/// text to write it as a relation in SQL.
fn literal_name(t: &Toks, r: &Range<usize>) -> Option<(Name, String)> {
    let mut end = r.end;
    // `'s'::regclass`
    if end >= r.start + 3 && t.punct(end - 2, "::") && t.kw(end - 1, "regclass") {
        end -= 2;
    }
    if end != r.start + 1 || t.kind(r.start) != Some(TokenKind::String) {
        return None;
    }
    let raw = t.text(r.start);
    let inner = raw.strip_prefix('\'')?.strip_suffix('\'')?;
    if inner.is_empty() || inner.contains('\'') || inner.contains(char::is_whitespace) {
        return None;
    }
    let mut parts = Vec::new();
    let mut shown = Vec::new();
    for part in inner.split('.') {
        if let Some(q) = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            if q.is_empty() || q.contains('"') {
                return None;
            }
            parts.push(q.to_string());
            shown.push(q.to_string());
        } else {
            if part.is_empty() || part.contains('"') {
                return None;
            }
            parts.push(part.to_ascii_lowercase());
            shown.push(part.to_ascii_lowercase());
        }
    }
    let span = t.span(r.start);
    Some((Name { parts, shown, span }, inner.to_string()))
}

/// The sequence, or the table whose serial column it belongs to by
/// PostgreSQL's naming (`<table>_<column>_seq`), was made afresh earlier in
/// the migration: it holds only what this run wrote.
fn fresh_sequence(cx: &Context, stmt: &Statement, unit: &Unit, name: &Name) -> bool {
    let index = cx.index();
    if index.fresh_before(
        stmt.group,
        &Key::object(ObjectKind::Sequence, name),
        unit.pos(),
    ) {
        return true;
    }
    let object = name.object();
    let Some(stem) = object.strip_suffix("_seq") else {
        return false;
    };
    stem.match_indices('_').any(|(at, _)| {
        let table = Name {
            parts: vec![stem[..at].to_string()],
            shown: vec![stem[..at].to_string()],
            span: name.span.clone(),
        };
        index.fresh_before(stmt.group, &Key::table(&table), unit.pos())
    })
}

fn report_setval(
    cx: &Context,
    unit: &Unit,
    stmt: &Statement,
    t: &Toks,
    call: &Call,
    out: &mut Vec<Finding>,
) {
    if !fixed_value(t, call.value.clone()) {
        return;
    }
    let literal = literal_name(t, &call.sequence);
    if let Some((name, _)) = &literal {
        if fresh_sequence(cx, stmt, unit, name) {
            return;
        }
    }
    let written = super::text::code(&super::dml::collapse(
        cx.text(t.span_of(call.whole.clone())),
    ));
    let value = super::dml::collapse(cx.text(t.span_of(call.value.clone())));
    let called = match &call.is_called {
        None => Some(true),
        Some(r) if r.len() == 1 && t.kw(r.start, "true") => Some(true),
        Some(r) if r.len() == 1 && t.kw(r.start, "false") => Some(false),
        Some(_) => None,
    };
    let mut f = cx.finding_at(
        &META,
        unit,
        t.span_of(call.whole.clone()),
        format!(
            "{written} sets the sequence back to {value} on every run: after a second run, new \
             rows take ids that rows written since the first run already hold"
        ),
    );
    let last = match (&literal, called) {
        (Some((_, rel)), Some(true)) => Some(format!("(SELECT last_value FROM {rel})")),
        (Some((_, rel)), Some(false)) => Some(format!(
            "(SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {rel})"
        )),
        _ => None,
    };
    f.help = Some(match &last {
        Some(last) => format!(
            "compute the value so a second run never lowers it: `GREATEST({value}, {last})`, or \
             from the table (`(SELECT max(id) FROM <table>)`)"
        ),
        None => "compute the value so a second run never lowers it: from the table \
                 (`(SELECT max(id) FROM <table>)`), or `GREATEST(<value>, (SELECT last_value \
                 FROM <sequence>))`"
            .to_string(),
    });
    if let Some(last) = last {
        f.fix = Some(Fix {
            description: "never move the sequence back (`GREATEST` with its current value)".into(),
            edits: vec![Edit {
                span: t.span_of(call.value.clone()),
                replacement: format!("GREATEST({value}, {last})"),
            }],
            applicability: Applicability::Unsafe,
        });
    }
    out.push(f);
}

/// The `RESTART [WITH n]` clause at depth 0 in `from..`: its token range.
fn restart_clause(t: &Toks, from: usize, to: usize) -> Option<Range<usize>> {
    let mut depth = 0usize;
    for j in from..to.min(t.len()) {
        if t.punct(j, "(") {
            depth += 1;
        } else if t.punct(j, ")") {
            depth = depth.saturating_sub(1);
        } else if depth == 0
            && t.kw(j, "RESTART")
            && !t.punct(j.wrapping_sub(1), ".")
            && !t.punct(j + 1, "(")
        {
            let mut end = j + 1;
            if t.kw(end, "WITH") {
                end += 1;
            }
            if t.kind(end) == Some(TokenKind::Number)
                || (t.punct(end, "-") && t.kind(end + 1) == Some(TokenKind::Number))
            {
                end += if t.punct(end, "-") { 2 } else { 1 };
            }
            return Some(j..end);
        }
    }
    None
}

/// Where the name of `ALTER <kind> [IF EXISTS] name` starts.
fn after_if_exists(t: &Toks) -> usize {
    if t.kws(2, &["IF", "EXISTS"]) {
        4
    } else {
        2
    }
}

fn report_sequence_restart(
    cx: &Context,
    unit: &Unit,
    stmt: &Statement,
    t: &Toks,
    out: &mut Vec<Finding>,
) {
    let Some((name, after)) = t.name(after_if_exists(t)) else {
        return;
    };
    let Some(clause) = restart_clause(t, after, t.len()) else {
        return;
    };
    if fresh_sequence(cx, stmt, unit, &name) {
        return;
    }
    let shown = name.text(&cx.file.text).to_string();
    let written = super::dml::collapse(cx.text(t.span_of(clause.clone())));
    let mut f = cx.finding_at(
        &META,
        unit,
        t.span_of(clause),
        format!(
            "ALTER SEQUENCE {shown} {written} sets the sequence back on every run: after a second \
             run, new rows take ids that rows written since the first run already hold"
        ),
    );
    f.help = Some(format!(
        "set it with a value a second run never lowers instead: `SELECT setval('{shown}', \
         GREATEST(<value>, (SELECT last_value FROM {shown})))`"
    ));
    out.push(f);
}

fn report_identity_restart(
    cx: &Context,
    unit: &Unit,
    stmt: &Statement,
    t: &Toks,
    out: &mut Vec<Finding>,
) {
    let mut i = after_if_exists(t);
    if t.kw(i, "ONLY") {
        i += 1;
    }
    let Some((table, after)) = t.name(i) else {
        return;
    };
    if cx
        .index()
        .fresh_before(stmt.group, &Key::table(&table), unit.pos())
    {
        return;
    }
    let shown = table.text(&cx.file.text).to_string();
    for action in t.split_commas(after, t.len()) {
        let mut j = action.start;
        if !t.kw(j, "ALTER") {
            continue;
        }
        j += 1;
        if t.kw(j, "COLUMN") {
            j += 1;
        }
        if !t.is_ident(j) {
            continue;
        }
        let column = t.text(j).to_string();
        let Some(clause) = restart_clause(t, j + 1, action.end) else {
            continue;
        };
        let written = super::dml::collapse(cx.text(t.span_of(clause.clone())));
        let mut f = cx.finding_at(
            &META,
            unit,
            t.span_of(clause),
            format!(
                "ALTER TABLE {shown} ALTER COLUMN {column} {written} sets the identity back on every \
                 run: after a second run, new rows take ids that rows written since the first run \
                 already hold"
            ),
        );
        f.help = Some(format!(
            "set it with a value a second run never lowers instead: `SELECT \
             setval(pg_get_serial_sequence('{shown}', '{column}'), GREATEST(<value>, (SELECT \
             max({column}) FROM {shown})))`"
        ));
        out.push(f);
    }
}
