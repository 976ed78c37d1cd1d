//! `insert-without-conflict-clause`: an INSERT that adds its rows again on
//! every run.

use super::index::Key;
use super::{Context, Rule, RuleMeta};
use crate::analysis::Statement;
use crate::classify::{InsertSource, Kind};
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "insert-without-conflict-clause",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "INSERT with no conflict clause or anti-join guard adds its rows again on every run",
    doc: r#"## What it does
Flags `INSERT ... VALUES` and `INSERT ... SELECT` (also multi-row, and with a `WITH` in
front) that have none of `ON CONFLICT`, `OR IGNORE`, `OR REPLACE`, `REPLACE INTO`,
`INSERT IGNORE`, `ON DUPLICATE KEY UPDATE`, and no anti-join guard in the query
(`WHERE NOT EXISTS (...)`, `WHERE id NOT IN (SELECT ...)`, `EXCEPT`,
`LEFT JOIN ... WHERE x IS NULL`), also where the guard sits in a CTE that the INSERT reads
(`WITH m AS (SELECT ... WHERE k NOT IN (SELECT k FROM t)) INSERT INTO t SELECT ... FROM m`).

Also flags PostgreSQL `COPY t FROM stdin` (or from a file or program): it loads its rows
again on every run, and COPY has no conflict clause.

Not flagged: an INSERT into a table the same migration created afresh or emptied
(`DELETE FROM t` / `TRUNCATE t`) earlier, and an INSERT inside a Postgres `DO` block under
an existence check (`IF NOT EXISTS (SELECT 1 FROM t WHERE ...)`).

## Why it matters
A second run inserts the same rows again. With a unique key the migration stops with a
duplicate-key error; without one the table silently holds every seed row twice, and
code that expects one row per key starts returning two.

## Example
```sql
-- flagged
INSERT INTO roles (name) VALUES ('admin'), ('editor');

-- idempotent
INSERT INTO roles (name) VALUES ('admin'), ('editor') ON CONFLICT (name) DO NOTHING;
INSERT INTO roles (name)
SELECT 'admin' WHERE NOT EXISTS (SELECT 1 FROM roles WHERE name = 'admin');
```

## Fix
Add a conflict clause that matches a PRIMARY KEY or UNIQUE constraint:
`ON CONFLICT DO NOTHING` (Postgres, SQLite 3.24+), `INSERT OR IGNORE` (SQLite),
`INSERT IGNORE` or `ON DUPLICATE KEY UPDATE col = VALUES(col)` (MySQL). When the table
has no such key, insert only the missing rows with `WHERE NOT EXISTS`.

`twice check --fix` adds `INSERT OR IGNORE` (SQLite), `ON CONFLICT DO NOTHING` (Postgres) or
`INSERT IGNORE` (MySQL) only when the migrations before the INSERT give the table a PRIMARY
KEY or UNIQUE constraint (or unique index) on columns the INSERT sets: then a second run
conflicts with the first run's rows and the clause skips them. Otherwise, and in the generic
dialect, it offers no fix and a note says why: a conflict clause without such a key would
not stop the duplicates.

## Fix safety
**Unsafe** in SQLite and MySQL, **safe** in Postgres. SQLite's `INSERT OR IGNORE` skips
not only the row whose key is already there but also rows that break a NOT NULL or CHECK
constraint, and MySQL's `INSERT IGNORE` turns such errors, and values that are too long or out of range, into
warnings: rows the migration used to reject loudly are dropped or truncated in silence. So
`--fix` leaves these INSERTs alone and marks the finding "unsafe fix available";
`twice check --fix --unsafe-fixes` applies them (read the INSERT first: is every row
valid?). Postgres' `ON CONFLICT DO NOTHING` skips unique and exclusion conflicts only, and
`--fix` applies it.
"#,
    fixable: true,
};

pub struct InsertWithoutConflictClause;
pub static RULE: InsertWithoutConflictClause = InsertWithoutConflictClause;

impl Rule for InsertWithoutConflictClause {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        if let Some(f) = copy_from(cx, stmt) {
            out.push(f);
        }
        for unit in super::units(stmt) {
            let Kind::Insert(ins) = unit.kind else {
                continue;
            };
            if unit.guarded || ins.conflict.is_guard() || ins.anti_join {
                continue;
            }
            if let Some(t) = &ins.table {
                if cx
                    .index()
                    .rows_reset_before(stmt.group, &Key::table(t), unit.pos())
                {
                    continue;
                }
            }
            let table = ins
                .table
                .as_ref()
                .map_or("the table", |n| n.text(&cx.file.text));
            let message = match ins.source {
                InsertSource::Select => format!(
                    "INSERT INTO {table} ... SELECT copies the rows again on every run: a second run duplicates them, or fails on a unique key"
                ),
                _ => format!(
                    "INSERT INTO {table} inserts the same rows again on every run: a second run duplicates them, or fails on a unique key"
                ),
            };
            let mut f = cx.finding(&META, &unit, message);
            let anti = format!(
                "insert only missing rows: `INSERT INTO {table} (...) SELECT ... WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE ...)`"
            );
            f.help = Some(match cx.dialect {
                Dialect::Sqlite if ins.source == InsertSource::Select => format!(
                    "write `INSERT OR IGNORE INTO {table} ...`, or add `ON CONFLICT DO NOTHING` (after a WHERE clause: SQLite needs `... WHERE true ON CONFLICT DO NOTHING` after a SELECT); both need a PRIMARY KEY or UNIQUE constraint that identifies the rows. Without one, {anti}"
                ),
                Dialect::Sqlite => format!(
                    "write `INSERT OR IGNORE INTO {table} ...` or add `ON CONFLICT DO NOTHING`; both need a PRIMARY KEY or UNIQUE constraint that identifies the rows. Without one, {anti}"
                ),
                Dialect::Postgres => format!(
                    "add `ON CONFLICT DO NOTHING` (or `ON CONFLICT (key) DO UPDATE SET col = excluded.col` to refresh the rows); it needs a PRIMARY KEY or UNIQUE constraint that identifies the rows. Without one, {anti}"
                ),
                Dialect::Mysql => format!(
                    "write `INSERT IGNORE INTO {table} ...` or add `ON DUPLICATE KEY UPDATE col = VALUES(col)`; both need a PRIMARY KEY or UNIQUE index that identifies the rows. Without one, {anti}"
                ),
                Dialect::Generic => format!(
                    "add a conflict clause your database has (`ON CONFLICT DO NOTHING`, `INSERT IGNORE`, `MERGE`), or {anti}"
                ),
            });
            out.push(f);
        }
    }
}

/// PostgreSQL `COPY t [(columns)] FROM stdin | 'file' | PROGRAM ...`: loads
/// its rows again on every run, and COPY has no conflict clause.
fn copy_from(cx: &Context, stmt: &Statement) -> Option<Finding> {
    if cx.dialect != Dialect::Postgres || stmt.lex_error.is_some() || stmt.facts.keyword != "COPY" {
        return None;
    }
    let t = crate::classify::Toks {
        text: &cx.file.text,
        toks: &stmt.tokens,
        dialect: cx.dialect,
    };
    let (name, after) = t.name(1)?;
    let after = t.skip_parens(after);
    if !t.kw(after, "FROM") {
        return None;
    }
    if cx
        .index()
        .rows_reset_before(stmt.group, &Key::table(&name), stmt.span.start)
    {
        return None;
    }
    let table = name.text(&cx.file.text);
    let unit = super::units(stmt).next()?;
    let mut f = cx.finding(
        &META,
        &unit,
        format!(
            "COPY {table} FROM loads the same rows again on every run: a second run duplicates them, or fails on a unique key"
        ),
    );
    f.help = Some(format!(
        "COPY has no conflict clause: load into a staging table and `INSERT INTO {table} SELECT ... FROM staging ON CONFLICT DO NOTHING` (it needs a PRIMARY KEY or UNIQUE constraint), or empty {table} first in the same migration (`TRUNCATE {table}`)"
    ));
    Some(f)
}
