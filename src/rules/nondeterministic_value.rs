//! `nondeterministic-value`: values that differ on every run (clock, random,
//! sequences) written by INSERT or UPDATE.

use super::dml::{collapse, inserted_nondet, update_writes, upsert_writes};
use super::{Context, Rule, RuleMeta, Unit};
use crate::analysis::Statement;
use crate::classify::Kind;
use crate::classify::Toks;
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};
use crate::lexer::TokenKind;

pub static META: RuleMeta = RuleMeta {
    id: "nondeterministic-value",
    severity: Severity::Warning,
    origin: Origin::Static,
    summary: "INSERT/UPDATE writes now(), random(), a new UUID or nextval(), or a view or default freezes the time: each run writes something else",
    doc: r#"## What it does
Flags values that INSERT (VALUES rows, SELECT projections) and UPDATE (`SET`, an upsert's
`DO UPDATE SET`) write from the clock, a random generator or a sequence: `now()`,
`CURRENT_TIMESTAMP`, `CURRENT_DATE`, `CURRENT_TIME`, `LOCALTIMESTAMP`, `random()`,
`rand()`, `randomblob()`, `gen_random_uuid()`, `uuid()`, `uuid_generate_v4()`, `newid()`,
`nextval(...)`, `sysdate()`, `clock_timestamp()`, and SQLite's `datetime('now')`,
`date('now')`, `strftime(..., 'now')`, `julianday('now')`, `unixepoch()`.

Also flags values frozen into definitions when the statement runs again: `'now'`,
`'today'` (`'now'::timestamp`, `DATE 'today'`) in a `CREATE OR REPLACE VIEW`, which
PostgreSQL converts once, when the view is created; `ALTER COLUMN ... SET DEFAULT
'now'::timestamp`, which makes the time of the run the default; and `now()`, `random()` and
the like in a materialized view created afresh on each run (dropped first).
Not flagged: such calls in WHERE clauses or column defaults of `CREATE TABLE`, `now()` in a
view or a default (read when the view is queried or the row inserted); inserts that
a conflict clause or anti-join guard keeps from writing twice (`ON CONFLICT DO NOTHING`,
`INSERT OR IGNORE`, `INSERT IGNORE`, `WHERE NOT EXISTS`, also inside the CTE the INSERT
reads); an upsert whose update part does not write the value; an UPDATE whose WHERE only
matches rows it has not set yet (`SET updated_at = now() WHERE updated_at IS NULL`); a value
that can never be written: `COALESCE(created_at, now())` where the WHERE keeps only rows with
`created_at IS NOT NULL` (or compares `created_at`), or where `created_at` is declared
`NOT NULL` by the history so far (the `CREATE TABLE` and `ALTER TABLE` statements of earlier
migrations, followed statically).

## Why it matters
A second run writes different timestamps, ids and random values than the first: rows
change although nothing was meant to, generated ids stop matching what other systems
stored, and the two runs cannot be compared. This is a warning, not an error: sometimes
"the time this ran" is exactly what is wanted, but then the statement should run once.

## Example
```sql
-- flagged
INSERT INTO settings (key, value, created_at) VALUES ('theme', 'dark', now());
UPDATE users SET updated_at = CURRENT_TIMESTAMP;

-- idempotent
INSERT INTO settings (key, value, created_at) VALUES ('theme', 'dark', now())
  ON CONFLICT (key) DO NOTHING;
UPDATE users SET updated_at = CURRENT_TIMESTAMP WHERE updated_at IS NULL;
UPDATE users SET seen_at = COALESCE(created_at, now()) WHERE created_at IS NOT NULL;
```

## Fix
Write a fixed value (a literal timestamp or id) so every run writes the same, or make a
second run write nothing: a conflict clause that skips existing rows for INSERT, a WHERE
condition that only matches rows not yet set for UPDATE. There is no automatic fix.
"#,
    fixable: false,
};

pub struct NondeterministicValue;
pub static RULE: NondeterministicValue = NondeterministicValue;

impl Rule for NondeterministicValue {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        for unit in super::units(stmt) {
            if unit.guarded {
                continue;
            }
            match unit.kind {
                Kind::Update(u) => {
                    let w = cx.writes(&unit, || update_writes(cx, &unit, u));
                    if w.guarded() {
                        continue;
                    }
                    let nd = w.nondeterministic();
                    let Some(first) = nd.first() else { continue };
                    let table = u
                        .table
                        .as_ref()
                        .map_or("the table", |n| n.text(&cx.file.text));
                    let call = first.nondet.clone().unwrap_or_default();
                    let col = first.columns.first().map_or("col", String::as_str);
                    let mut f = cx.finding(
                        &META,
                        &unit,
                        format!(
                            "UPDATE {table} sets {}{}: each run writes {}",
                            super::text::code_excerpt(&first.text, 60),
                            from(&first.text, &call),
                            what_changes(&call)
                        ),
                    );
                    f.help = Some(format!(
                        "write a fixed value instead, or make a second run match no rows, e.g. `... WHERE {col} IS NULL`"
                    ));
                    out.push(f);
                }
                Kind::Insert(ins) => {
                    if ins.conflict.skips_existing() || ins.anti_join {
                        continue;
                    }
                    let table = ins
                        .table
                        .as_ref()
                        .map_or("the table", |n| n.text(&cx.file.text));
                    if ins.conflict.updates() {
                        let w = cx.writes(&unit, || upsert_writes(cx, &unit, ins));
                        if w.guarded() {
                            continue;
                        }
                        let nd = w.nondeterministic();
                        let Some(first) = nd.first() else { continue };
                        let call = first.nondet.clone().unwrap_or_default();
                        let mut f = cx.finding(
                            &META,
                            &unit,
                            format!(
                                "the upsert into {table} sets {}{} when the row exists: each run writes {}",
                                super::text::code_excerpt(&first.text, 60),
                                from(&first.text, &call),
                                what_changes(&call)
                            ),
                        );
                        f.help = Some(
                            "leave the column out of the update part so existing rows keep their value, or write a fixed value".to_string(),
                        );
                        out.push(f);
                        continue;
                    }
                    let Some(call) = inserted_nondet(cx, &unit, ins) else {
                        continue;
                    };
                    let mut f = cx.finding(
                        &META,
                        &unit,
                        format!(
                            "INSERT INTO {table} writes {}: each run stores {}",
                            super::text::code_excerpt(&call, 60),
                            what_changes(&call)
                        ),
                    );
                    let skip = match cx.dialect {
                        Dialect::Sqlite => {
                            "`INSERT OR IGNORE`, `ON CONFLICT DO NOTHING` or `WHERE NOT EXISTS`"
                        }
                        Dialect::Postgres => "`ON CONFLICT DO NOTHING` or `WHERE NOT EXISTS`",
                        Dialect::Mysql => "`INSERT IGNORE` or `WHERE NOT EXISTS`",
                        Dialect::Generic => "a conflict clause or `WHERE NOT EXISTS`",
                    };
                    f.help = Some(if ins.conflict.replaces() {
                        format!("a REPLACE rewrites the row on every run: write a fixed value, or skip rows that exist ({skip})")
                    } else {
                        format!("write a fixed value (a literal timestamp or id), or skip rows that exist already ({skip}) so a second run writes nothing")
                    });
                    out.push(f);
                }
                Kind::Create(c) => frozen_in_view(cx, &unit, c, out),
                Kind::AlterTable(_) => frozen_default(cx, &unit, out),
                _ => {}
            }
        }
    }
}

/// `'now'`, `'today'`, `'tomorrow'`, `'yesterday'` as a date/time value at
/// token `k`: PostgreSQL converts the string when the statement runs and
/// stores the result. `bare`: a plain string counts too (a default, which
/// takes the column's type); otherwise it needs a cast or a type prefix.
fn now_literal(t: &Toks, k: usize, bare: bool) -> bool {
    if t.kind(k) != Some(TokenKind::String) {
        return false;
    }
    let v = t.text(k).trim_matches('\'').trim().to_ascii_lowercase();
    if !matches!(v.as_str(), "now" | "today" | "tomorrow" | "yesterday") {
        return false;
    }
    const TYPES: &[&str] = &["TIMESTAMP", "TIMESTAMPTZ", "DATE", "TIME", "TIMETZ"];
    bare || t.punct(k + 1, "::")
        || (k > 0 && t.kw_any(k - 1, TYPES))
        || (k > 1 && t.punct(k - 1, "(") && t.kw(k - 2, "CAST"))
        || (k > 0 && t.kw(k - 1, "ZONE"))
}

/// `CREATE OR REPLACE VIEW v AS SELECT 'now'::timestamp`: the view stores
/// the time it was created, so each run stores another. A materialized view
/// created afresh on each run (dropped first) also stores `now()`,
/// `random()` and the like.
fn frozen_in_view(cx: &Context, unit: &Unit, c: &crate::classify::Create, out: &mut Vec<Finding>) {
    use crate::classify::ObjectKind;
    if !matches!(c.kind, ObjectKind::View | ObjectKind::MaterializedView) || c.if_not_exists {
        return;
    }
    let Some(name) = &c.name else { return };
    let afresh = c.or_replace
        || cx.index().exists_at(
            unit.stmt.group,
            &super::index::Key::object(c.kind, name),
            None,
            unit.pos(),
        ) == Some(false);
    if !afresh {
        // A second run fails (`create-without-if-not-exists`) or skips it.
        return;
    }
    let t = unit.toks(cx);
    let found = (c.head_end..t.len())
        .find(|&k| now_literal(&t, k, false))
        .map(|k| {
            // `'now'::timestamp`, or `TIMESTAMP 'now'`.
            let (start, end) = if t.punct(k + 1, "::") {
                (k, k + 3)
            } else if k > 0 && t.kind(k - 1) == Some(TokenKind::Word) {
                (k - 1, k + 1)
            } else {
                (k, k + 1)
            };
            collapse(t.text.get(t.span_of(start..end)).unwrap_or(""))
        })
        .or_else(|| {
            (c.kind == ObjectKind::MaterializedView)
                .then(|| super::dml::tok_nondet(&t, c.head_end..t.len()))
                .flatten()
        });
    let Some(value) = found else { return };
    let written = name.text(&cx.file.text);
    let what = match (c.kind == ObjectKind::MaterializedView, c.or_replace) {
        (true, _) => "MATERIALIZED VIEW",
        (false, true) => "OR REPLACE VIEW",
        (false, false) => "VIEW",
    };
    let mut f = cx.finding(
        &META,
        unit,
        format!(
            "CREATE {what} {written} stores the value of {} at the time it runs: each run stores {}",
            super::text::code_excerpt(&value, 60),
            what_changes(&value)
        ),
    );
    f.help = Some(if c.kind == ObjectKind::MaterializedView {
        "write a fixed value, or create the view once (`CREATE MATERIALIZED VIEW IF NOT EXISTS`) and let `REFRESH MATERIALIZED VIEW` decide when the value changes".to_string()
    } else {
        format!(
            "{} is converted once, when the view is created: use `now()`, `CURRENT_TIMESTAMP` or `CURRENT_DATE`, which are read each time the view is queried, or write a fixed value",
            super::text::code_excerpt(&value, 40)
        )
    });
    out.push(f);
}

/// `ALTER COLUMN c SET DEFAULT 'now'::timestamp`: the default becomes the
/// time of the run, so each run stores another.
fn frozen_default(cx: &Context, unit: &Unit, out: &mut Vec<Finding>) {
    let t = unit.toks(cx);
    for k in 0..t.len() {
        if !t.kws(k, &["SET", "DEFAULT"]) {
            continue;
        }
        let mut j = k + 2;
        while t.punct(j, "(") {
            j += 1;
        }
        if !now_literal(&t, j, true) {
            continue;
        }
        let end = if t.punct(j + 1, "::") { j + 3 } else { j + 1 };
        let value = collapse(t.text.get(t.span_of(j..end)).unwrap_or(""));
        let mut f = cx.finding_at(
            &META,
            unit,
            t.span_of(k..end),
            format!(
                "SET DEFAULT {} stores the time the statement runs as the default: each run stores a different time",
                super::text::excerpt(&value, 40)
            ),
        );
        f.help = Some(
            "write `SET DEFAULT now()` (or `CURRENT_TIMESTAMP`), which is read when each row is inserted, or a fixed timestamp".to_string(),
        );
        out.push(f);
    }
}

/// ` (from now())` when the assignment does not show the call itself.
fn from(text: &str, call: &str) -> String {
    if text
        .to_ascii_lowercase()
        .contains(&call.to_ascii_lowercase())
    {
        String::new()
    } else {
        format!(" (from `{call}`)")
    }
}

/// What differs between runs, by the kind of call.
fn what_changes(call: &str) -> &'static str {
    let c = call.to_ascii_lowercase();
    if c.contains("uuid") || c.contains("newid") {
        "a new UUID"
    } else if c.contains("nextval") {
        "the next sequence number"
    } else if c.contains("rand") {
        "a different random value"
    } else {
        "a different time"
    }
}

/// Drops `nondeterministic-value` findings on UPDATEs whose nondeterministic
/// value can never be written because the column that comes first in its
/// `COALESCE` is declared `NOT NULL` by the history so far (followed
/// statically with [`crate::schema::Catalog`], one catalog per sequence:
/// up parts in order, each down part against the state its up left).
///
/// The statements are parsed on `jobs` threads, a few ahead of the catalog
/// (see [`crate::rules::sequence_fixes::attach_insert_fixes`], which follows
/// histories the same way).
pub fn drop_unreachable(ws: &crate::report::Workspace, findings: &mut Vec<Finding>, jobs: usize) {
    use std::collections::HashSet;
    // Only UPDATEs can be cleared, and only sequences that hold them are
    // followed.
    let wanted: HashSet<(&str, usize)> = findings
        .iter()
        .filter(|f| f.rule == META.id && f.message.starts_with("UPDATE "))
        .filter_map(|f| f.statement.map(|s| (f.file.as_str(), s)))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let wanted_files: HashSet<&str> = wanted.iter().map(|(f, _)| *f).collect();
    let mut unreachable: HashSet<(String, usize)> = HashSet::new();
    for seq in &ws.sequences {
        let touches = seq.migrations.iter().any(|m| {
            std::iter::once(&m.up).chain(m.down.as_ref()).any(|p| {
                ws.files
                    .get(p.file)
                    .is_some_and(|u| wanted_files.contains(u.source.name.as_str()))
            })
        });
        if !touches {
            continue;
        }
        // The statements to parse, in history order: the flagged UPDATEs,
        // and the up parts' statements that shape tables; `true` for an
        // UPDATE.
        let mut order: Vec<(
            &crate::report::FileUnit,
            usize,
            &crate::analysis::Statement,
            bool,
        )> = Vec::new();
        for m in &seq.migrations {
            for (part, apply) in
                std::iter::once((&m.up, true)).chain(m.down.as_ref().map(|d| (d, false)))
            {
                let Some(unit) = ws.files.get(part.file) else {
                    continue;
                };
                for &si in &part.statements {
                    let Some(stmt) = unit.statements.get(si) else {
                        continue;
                    };
                    let want = wanted.contains(&(unit.source.name.as_str(), si));
                    let schema = matches!(
                        stmt.facts.kind,
                        Kind::Create(_) | Kind::AlterTable(_) | Kind::Drop(_)
                    );
                    if want || apply && schema {
                        order.push((unit, si, stmt, want));
                    }
                }
            }
        }
        let done: crate::parallel::Recycler<Box<sqlparser::ast::Statement>> = Default::default();
        crate::parallel::stream(
            jobs,
            &order,
            crate::rules::sequence_fixes::PARSE_AHEAD,
            crate::rules::sequence_fixes::PARSE_AHEAD_BYTES,
            |(_, _, stmt, _)| stmt.sql.len(),
            |(_, _, stmt, _)| {
                drop(done.take_own());
                stmt.parse_transient().map(crate::parallel::Made::here)
            },
            |parsed| {
                let mut catalog = crate::schema::Catalog::default();
                for (&(unit, si, _, want), ast) in order.iter().zip(parsed) {
                    let Some(ast) = ast else {
                        continue;
                    };
                    if want {
                        if never_written(&catalog, &ast.value) {
                            unreachable.insert((unit.source.name.clone(), si));
                        }
                    } else {
                        catalog.apply(&ast.value);
                    }
                    done.give_back(ast);
                }
            },
        );
    }
    findings.retain(|f| {
        !(f.rule == META.id
            && f.statement
                .is_some_and(|s| unreachable.contains(&(f.file.clone(), s))))
    });
}

/// Every nondeterministic value the UPDATE writes sits behind a `NOT NULL`
/// column in a `COALESCE`.
fn never_written(catalog: &crate::schema::Catalog, ast: &sqlparser::ast::Statement) -> bool {
    let sqlparser::ast::Statement::Update(up) = ast else {
        return false;
    };
    let sqlparser::ast::TableFactor::Table { name, .. } = &up.table.relation else {
        return false;
    };
    let Some(table) = catalog.table(&crate::schema::object_key(name)) else {
        return false;
    };
    let guards = super::dml::update_nondet_guards(up);
    !guards.is_empty()
        && guards
            .iter()
            .all(|g| g.iter().any(|c| table.not_null.contains(c)))
}
