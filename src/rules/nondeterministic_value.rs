//! `nondeterministic-value`: values that differ on every run (clock, random,
//! sequences) written by INSERT or UPDATE.

use super::dml::{inserted_nondet, update_writes, upsert_writes};
use super::{Context, Rule, RuleMeta};
use crate::analysis::Statement;
use crate::classify::Kind;
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "nondeterministic-value",
    severity: Severity::Warning,
    origin: Origin::Static,
    summary: "INSERT/UPDATE writes now(), random(), a new UUID or nextval(): each run writes something else",
    doc: r#"## What it does
Flags values that INSERT (VALUES rows, SELECT projections) and UPDATE (`SET`, an upsert's
`DO UPDATE SET`) write from the clock, a random generator or a sequence: `now()`,
`CURRENT_TIMESTAMP`, `CURRENT_DATE`, `CURRENT_TIME`, `LOCALTIMESTAMP`, `random()`,
`rand()`, `randomblob()`, `gen_random_uuid()`, `uuid()`, `uuid_generate_v4()`, `newid()`,
`nextval(...)`, `sysdate()`, `clock_timestamp()`, and SQLite's `datetime('now')`,
`date('now')`, `strftime(..., 'now')`, `julianday('now')`, `unixepoch()`.

Not flagged: such calls in WHERE clauses or column defaults of `CREATE TABLE`; inserts that
a conflict clause or anti-join guard keeps from writing twice (`ON CONFLICT DO NOTHING`,
`INSERT OR IGNORE`, `INSERT IGNORE`, `WHERE NOT EXISTS`); an upsert whose update part does
not write the value; an UPDATE whose WHERE only matches rows it has not set yet
(`SET updated_at = now() WHERE updated_at IS NULL`).

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
                            "UPDATE {table} sets `{}`{}: each run writes {}",
                            super::text::excerpt(&first.text, 60),
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
                                "the upsert into {table} sets `{}`{} when the row exists: each run writes {}",
                                super::text::excerpt(&first.text, 60),
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
                            "INSERT INTO {table} writes `{}`: each run stores {}",
                            super::text::excerpt(&call, 60),
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
                _ => {}
            }
        }
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
pub fn drop_unreachable(ws: &crate::check::Workspace, findings: &mut Vec<Finding>) {
    use std::collections::HashSet;
    let wanted: HashSet<(&str, usize)> = findings
        .iter()
        .filter(|f| f.rule == META.id)
        .filter_map(|f| f.statement.map(|s| (f.file.as_str(), s)))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let mut unreachable: HashSet<(String, usize)> = HashSet::new();
    for seq in &ws.sequences {
        let mut catalog = crate::schema::Catalog::default();
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
                    if !(want || apply && schema) {
                        continue;
                    }
                    let Some(ast) = stmt.parse_transient() else {
                        continue;
                    };
                    if want {
                        if never_written(&catalog, &ast) {
                            unreachable.insert((unit.source.name.clone(), si));
                        }
                    } else {
                        catalog.apply(&ast);
                    }
                }
            }
        }
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
