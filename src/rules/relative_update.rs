//! `relative-update`: an assignment that transforms a column's current value,
//! so every run applies the change again.

use super::dml::{update_writes, upsert_writes, AssignInfo};
use super::index::Key;
use super::{Context, Rule, RuleMeta};
use crate::analysis::Statement;
use crate::classify::Kind;
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "relative-update",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "UPDATE or upsert that computes a column from its current value applies the change again on every run",
    doc: r#"## What it does
Flags assignments whose new value is computed from the column's current value through
arithmetic, concatenation, negation or a non-idempotent function: `SET n = n + 1`,
`x = x * 1.05`, `s = s || 'x'`, `n = coalesce(n, 0) + 1`, `flag = NOT flag`,
`tags = array_append(tags, 'x')`, qualified or not (`t.hits + 1`). It looks at UPDATE
(also SQLite's `UPDATE OR ...`, Postgres' `UPDATE ... FROM` and MySQL's multi-table form)
and at the update part of upserts (`ON CONFLICT DO UPDATE SET hits = t.hits + 1`,
`ON DUPLICATE KEY UPDATE n = n + 1`).

Not flagged: `x = x`, idempotent functions of the column (`lower(x)`, `trim(x)`,
`coalesce(x, 0)`, `replace(x, 'a', 'b')`, but not `replace(x, 'a', 'aa')`, whose result holds
what it replaces), a `CASE` on the column that maps values to ones it leaves alone (not one that
maps them onto each other: a swap swaps back), values from the inserted row (`excluded.col`,
MySQL `VALUES(col)` or a row alias), JSON edits that converge (merging a constant object:
`data = data || '{"a": 1}'::jsonb`, also without the cast, `jsonb_build_object(...)`; deleting keys: `data - 'k'`,
`data #- '{a,b}'`, `json_remove(data, '$.k')`; merging a patch: `json_patch`, MySQL's
`JSON_MERGE_PATCH`; appending to an array is flagged), an UPDATE whose WHERE filters on a column that the
same UPDATE sets to a fixed value (`SET balance = balance * 1.05, migrated = true WHERE NOT
migrated`), pins the changed column (`SET version = version + 1 WHERE version = 3`) or
picks the rows whose changed column fails a test of its form that the new value passes
(`SET v = JSON_OBJECT('v', v) WHERE NOT JSON_VALID(v)`, `SET url = 'https://' || url WHERE
url NOT LIKE 'https://%'`, `!~`, `IS FALSE`; a comparison such as `WHERE NOT n >= 10` is no
such test), moves a JSON key out of the column that the WHERE asks for (`SET data =
jsonb_set(data - 'old', '{new}', data -> 'old') WHERE data ? 'old'`, or `data -> 'old' IS NOT
NULL`: a second run matches no row), and an UPDATE of a table the migration created afresh.

## Why it matters
Run twice, the change is applied twice: prices go up 10.25% instead of 5%, counters count
double, suffixes are appended twice. Nothing fails, so nobody notices until the data is
wrong.

## Example
```sql
-- flagged
UPDATE products SET price = price * 1.05;
INSERT INTO page_views (path, hits) VALUES ('/', 1)
  ON CONFLICT (path) DO UPDATE SET hits = page_views.hits + 1;

-- idempotent
UPDATE products SET price = price * 1.05, repriced = true WHERE NOT repriced;
INSERT INTO page_views (path, hits) VALUES ('/', 1)
  ON CONFLICT (path) DO UPDATE SET hits = excluded.hits;
```

## Fix
Set an absolute value (a constant, another column, the inserted row's value), or make a
second run match no rows: set a marker column in the same UPDATE and filter on it, or
filter on the old value itself. There is no automatic fix.
"#,
    fixable: false,
};

pub struct RelativeUpdate;
pub static RULE: RelativeUpdate = RelativeUpdate;

impl Rule for RelativeUpdate {
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
                    if let Some(t) = &u.table {
                        if cx
                            .index()
                            .fresh_before(stmt.group, &Key::table(t), unit.pos())
                        {
                            continue;
                        }
                    }
                    let w = cx.writes(&unit, || update_writes(cx, &unit, u));
                    if w.guarded() {
                        continue;
                    }
                    let rel = w.relative();
                    if rel.is_empty() {
                        continue;
                    }
                    let table = u
                        .table
                        .as_ref()
                        .map_or("the table", |n| n.text(&cx.file.text));
                    let mut f = cx.finding(
                        &META,
                        &unit,
                        format!(
                            "UPDATE {table} computes {} from {} ({}): every run applies the change again",
                            columns(&rel),
                            if rel.len() == 1 && rel[0].columns.len() == 1 {
                                "its current value"
                            } else {
                                "their current values"
                            },
                            assignments(&rel)
                        ),
                    );
                    f.help = Some(format!(
                        "set an absolute value instead, or make a second run match no rows: set a marker in the same UPDATE and filter on it, e.g. `UPDATE {table} SET {}, migrated = true WHERE NOT migrated`",
                        rel[0].text
                    ));
                    out.push(f);
                }
                Kind::Insert(ins) if ins.conflict.updates() => {
                    let w = cx.writes(&unit, || upsert_writes(cx, &unit, ins));
                    if w.guarded() {
                        continue;
                    }
                    let rel = w.relative();
                    if rel.is_empty() {
                        continue;
                    }
                    let table = ins
                        .table
                        .as_ref()
                        .map_or("the table", |n| n.text(&cx.file.text));
                    let clause = if cx.dialect == Dialect::Mysql
                        || matches!(ins.conflict, crate::classify::Conflict::DuplicateKeyUpdate)
                    {
                        "ON DUPLICATE KEY UPDATE"
                    } else {
                        "ON CONFLICT DO UPDATE"
                    };
                    let mut f = cx.finding(
                        &META,
                        &unit,
                        format!(
                            "the upsert into {table} computes {} from the existing row in its {clause} ({}): every run applies the change again",
                            columns(&rel),
                            assignments(&rel)
                        ),
                    );
                    let col = rel[0].columns.first().map_or("col", String::as_str);
                    f.help = Some(if clause == "ON DUPLICATE KEY UPDATE" {
                        format!(
                            "assign the inserted value (`{col} = VALUES({col})`), or use `INSERT IGNORE` if existing rows must stay as they are"
                        )
                    } else {
                        format!(
                            "assign the inserted value (`{col} = excluded.{col}`), or use `ON CONFLICT DO NOTHING` if existing rows must stay as they are"
                        )
                    });
                    out.push(f);
                }
                _ => {}
            }
        }
    }
}

fn columns(rel: &[&AssignInfo]) -> String {
    let cols: Vec<String> = rel
        .iter()
        .flat_map(|a| a.columns.iter())
        .map(|c| format!("`{c}`"))
        .collect();
    cols.join(", ")
}

fn assignments(rel: &[&AssignInfo]) -> String {
    let texts: Vec<String> = rel
        .iter()
        .map(|a| super::text::code_excerpt(&a.text, 60))
        .collect();
    texts.join(", ")
}
