//! `destructive-rerun`: a migration that runs twice without an error and
//! leaves the same state, yet a second run destroys what was written since
//! the first (dropped and re-created tables, emptied and reloaded tables,
//! copy-and-swap rebuilds that do not copy the table's own rows, views
//! dropped with CASCADE and re-created).

use super::{Context, Rule, RuleMeta, Unit};
use crate::analysis::Statement;
use crate::classify::{AlterOp, Kind, Name, ObjectKind, Toks};
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "destructive-rerun",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "A second run of the migration destroys rows written since its first run",
    doc: r#"## What it does
Flags, within one migration (its up part, or its down part), the shapes that run twice
without an error and leave the same state twice, yet destroy on a second run what the
application wrote since the first:
- `DROP TABLE [IF EXISTS] t` followed by `CREATE TABLE t`, when `t` is still there at the
  end of the migration (a table the migration keeps is one the application fills). A scratch
  table that the migration creates and drops again is fine.
- `DELETE FROM t` without `WHERE`, or `TRUNCATE t`, followed by an `INSERT INTO t`: a reload.
- A copy-and-swap rebuild (`CREATE TABLE new AS SELECT ...`, or `CREATE TABLE new (...)` +
  `INSERT INTO new SELECT ...`, then `DROP TABLE t` and `ALTER TABLE new RENAME TO t`, or
  MySQL `RENAME TABLE new TO t`) whose copy does not take every row of `t`: it reads another
  table, filters (`WHERE`, `LIMIT`, `DISTINCT`, `GROUP BY`), or there is no copy at all.
  Several filtered copies of `t` (one per kind of row) are not flagged: together they may
  take every row, which the text alone cannot tell (replay can).
- The live table set aside: `DROP TABLE IF EXISTS t_old`, `ALTER TABLE t RENAME TO t_old`,
  `t` made again (`CREATE TABLE t`, or MySQL's `RENAME TABLE t TO t_old, t_new TO t`), when
  the copy into the new `t` filters, or there is none: the old rows live only in `t_old`, and
  a second run drops them for good. With an unfiltered copy the DROP only takes the first
  run's backup, whose rows are in `t` again: not flagged (and replay does not write to the
  backup between the runs: no application writes there).
- `ALTER TABLE t DROP COLUMN c` followed by `ALTER TABLE t ADD COLUMN c` (a column dropped
  and added again to change its type or default): the column comes back empty, or holding its
  default, and a second run wipes the values written to it since. A scratch column that the
  migration adds and drops again is fine.
- `DROP VIEW v ... CASCADE` (or `DROP TABLE ... CASCADE`) followed by `CREATE VIEW v`:
  CASCADE also drops every object that depends on `v`, and a second run drops those created
  since (views and functions of later migrations, or made by hand) without re-creating them.
  Replay cannot see this one (nothing depends on `v` when the second run comes right after the
  first), so only this rule reports it.

Not flagged: a full-text index (`CREATE VIRTUAL TABLE ... USING fts5`, or another virtual table)
dropped, made again and filled again from the table it indexes (`INSERT INTO idx SELECT ... FROM
docs`, filtered or not, or FTS's `INSERT INTO idx(idx) VALUES ('rebuild')`): the rows written
since come back from that table. A column dropped and added again as a generated column
(`GENERATED ALWAYS AS (...) STORED`): its values are computed, not written. Views, functions, triggers and other objects without rows
dropped and re-created (without CASCADE); the standard table rebuild (SQLite's twelve steps: `CREATE TABLE t_new`,
`INSERT INTO t_new SELECT ... FROM t` without a filter, `DROP TABLE t`, `ALTER TABLE t_new
RENAME TO t`): a second run copies every row again, the ones written since included, so it
keeps them (replay checks that too: `second-run-data-loss`). A rebuild that is not guarded
fails on a second run or changes the schema again; the other rules report that.

## Why it matters
In production a migration does not run twice back to back: it runs, the application writes
for hours or weeks, and then a re-deploy, a lost version table or a restored backup runs it
again. "Idempotent" in the sense that two runs in a row leave the same state is not enough:
```sql
DROP TABLE IF EXISTS settings;
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO settings VALUES ('theme', 'dark');
```
runs twice without an error and with the same state, yet its second run deletes every
setting users saved. Replay finds the same problem (`second-run-data-loss`) by writing rows
between the two runs; this rule sees it without replay (`--no-replay`, editors).

## Example
```sql
DELETE FROM plans;
INSERT INTO plans (code, price) VALUES ('free', 0), ('pro', 10);
```

## Fix
Keep what is there: `CREATE TABLE IF NOT EXISTS` instead of DROP + CREATE (and `ALTER TABLE`
to change the table's shape), `INSERT ... ON CONFLICT DO NOTHING` (MySQL `INSERT IGNORE`,
SQLite `INSERT OR IGNORE`) instead of emptying the table and loading it again, a rebuild that
copies every row of the table it replaces, and `DROP VIEW` without CASCADE (or `CREATE OR
REPLACE VIEW`):
```sql
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO settings VALUES ('theme', 'dark') ON CONFLICT (key) DO NOTHING;
```
"#,
    fixable: false,
};

pub struct DestructiveRerun;
pub static RULE: DestructiveRerun = DestructiveRerun;

impl Rule for DestructiveRerun {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        for unit in super::units(stmt) {
            // Inside a DO block only top-level statements are followed.
            if unit.guarded || unit.in_do {
                continue;
            }
            match unit.kind {
                Kind::Drop(d) if d.kind.is_table() && !d.temporary => {
                    for n in &d.names {
                        check_dropped_table(cx, &unit, n, out);
                    }
                }
                Kind::Drop(d)
                    if matches!(d.kind, ObjectKind::View | ObjectKind::MaterializedView)
                        && cascades(cx, &unit) =>
                {
                    for n in &d.names {
                        if let Some(at) = created_later(cx, unit.stmt, n, Some(d.kind)) {
                            let name = n.text(&cx.file.text);
                            let message = format!(
                                "DROP {} {name} ... CASCADE also drops every object that depends \
                                 on {name}, and the CREATE {} at line {} re-creates only {name}: \
                                 a second run drops what later migrations or users built on it \
                                 since the first run",
                                d.kind.sql(),
                                d.kind.sql(),
                                line(cx, at)
                            );
                            let mut f = cx.finding(&META, &unit, message);
                            f.help = Some(format!(
                                "drop {name} without CASCADE (the drop then fails while something \
                                 depends on it, which says what to re-create), or change it in \
                                 place with CREATE OR REPLACE"
                            ));
                            out.push(f);
                        }
                    }
                }
                Kind::AlterTable(a) => {
                    if let Some(t) = &a.table {
                        for act in &a.actions {
                            if let AlterOp::DropColumn { name, .. } = &act.op {
                                check_dropped_column(cx, &unit, t, name, out);
                            }
                        }
                    }
                }
                Kind::Delete(del) if !del.has_where => {
                    if let Some(t) = &del.table {
                        check_reload(cx, &unit, t, "DELETE FROM", out);
                    }
                }
                Kind::Truncate(names) => {
                    for t in names {
                        check_reload(cx, &unit, t, "TRUNCATE", out);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Statements after `stmt` in the same migration part.
fn later<'a>(cx: &Context<'a>, stmt: &'a Statement) -> impl Iterator<Item = &'a Statement> {
    let group = stmt.group;
    cx.statements
        .iter()
        .skip(stmt.index + 1)
        .filter(move |s| s.group == group)
}

/// Statements before `stmt` in the same migration part, nearest first.
fn earlier<'a>(cx: &Context<'a>, stmt: &'a Statement) -> impl Iterator<Item = &'a Statement> {
    let group = stmt.group;
    cx.statements
        .iter()
        .take(stmt.index)
        .rev()
        .filter(move |s| s.group == group)
}

fn line(cx: &Context, stmt: &Statement) -> usize {
    cx.file.line_col(stmt.span.start).0
}

fn cascades(cx: &Context, unit: &Unit) -> bool {
    let t = unit.toks(cx);
    (0..t.len()).any(|i| t.kw(i, "CASCADE"))
}

/// The first later statement of the part that creates `name` (a table
/// when `kind` is `None`).
fn created_later<'a>(
    cx: &Context<'a>,
    stmt: &'a Statement,
    name: &Name,
    kind: Option<ObjectKind>,
) -> Option<&'a Statement> {
    later(cx, stmt).find(|s| match &s.facts.kind {
        Kind::Create(c) => {
            let same_kind = match kind {
                None => c.kind.is_table() && !c.temporary,
                Some(k) => c.kind == k,
            };
            same_kind && c.name.as_ref().is_some_and(|n| n.same_object(name))
        }
        _ => false,
    })
}

/// Whether a statement after `from` drops table `name`, or renames it away
/// (a scratch table: the migration does not keep it under that name; the
/// copy-and-swap rebuild `DROP TABLE IF EXISTS t_new; CREATE TABLE t_new
/// ...; INSERT INTO t_new SELECT ... FROM t; DROP TABLE t; ALTER TABLE t_new
/// RENAME TO t` makes `t_new` anew on every run, and that is its point).
fn dropped_later(cx: &Context, from: &Statement, name: &Name) -> bool {
    later(cx, from).any(|s| match &s.facts.kind {
        Kind::Drop(d) => d.kind.is_table() && d.names.iter().any(|n| n.same_object(name)),
        Kind::AlterTable(a) => {
            a.table.as_ref().is_some_and(|t| t.same_object(name))
                && a.actions
                    .iter()
                    .any(|act| matches!(act.op, AlterOp::RenameTo { .. }))
        }
        Kind::RenameTables(pairs) => pairs.iter().any(|p| p.from.same_object(name)),
        _ => false,
    })
}

/// `ALTER TABLE t DROP COLUMN c` followed by `ALTER TABLE t ADD COLUMN c`
/// in the same part (and not dropped again after): the column comes back
/// empty (or with its default) on every run.
fn check_dropped_column(cx: &Context, unit: &Unit, t: &Name, c: &Name, out: &mut Vec<Finding>) {
    let adds = |s: &Statement, act: fn(&AlterOp) -> Option<&Name>| match &s.facts.kind {
        Kind::AlterTable(a) => {
            a.table.as_ref().is_some_and(|x| x.same_object(t))
                && a.actions
                    .iter()
                    .any(|x| act(&x.op).is_some_and(|n| n.same_object(c)))
        }
        _ => false,
    };
    fn added(op: &AlterOp) -> Option<&Name> {
        match op {
            AlterOp::AddColumn { name, .. } => Some(name),
            _ => None,
        }
    }
    fn dropped(op: &AlterOp) -> Option<&Name> {
        match op {
            AlterOp::DropColumn { name, .. } => Some(name),
            _ => None,
        }
    }
    let Some(add) = later(cx, unit.stmt).find(|s| adds(s, added)) else {
        return;
    };
    // A scratch column, dropped again before the migration ends.
    if later(cx, add).any(|s| adds(s, dropped)) {
        return;
    }
    // A generated column (`GENERATED ALWAYS AS (...) STORED`, MySQL's `AS
    // (...)`) holds nothing written to it: its values are computed again.
    if computed_column(cx, add, c) {
        return;
    }
    let (table, column) = (t.text(&cx.file.text), c.text(&cx.file.text));
    let message = format!(
        "DROP COLUMN {column} and the ADD COLUMN {column} at line {} make a new, empty column: \
         a second run deletes every value written to {table}.{column} since the first run",
        line(cx, add)
    );
    let mut f = cx.finding(&META, unit, message);
    f.help = Some(match cx.dialect {
        crate::dialect::Dialect::Sqlite => format!(
            "keep the values: SQLite cannot change a column in place, so rebuild {table} (create \
             the new shape, copy every row with `INSERT INTO ... SELECT`, drop, rename), which a \
             second run repeats without losing rows"
        ),
        crate::dialect::Dialect::Mysql => format!(
            "keep the values: change {column} in place (`ALTER TABLE {table} MODIFY COLUMN \
             {column} ...`) instead of dropping and adding it"
        ),
        _ => format!(
            "keep the values: change {column} in place (`ALTER TABLE {table} ALTER COLUMN \
             {column} TYPE ... USING ...`, `SET DEFAULT`, `SET NOT NULL`) instead of dropping and \
             adding it"
        ),
    });
    out.push(f);
}

/// Whether `s` adds column `c` as a generated (computed) column: `AS (`
/// after its name, with or without `GENERATED ALWAYS` (an identity column,
/// `GENERATED ... AS IDENTITY`, holds values: not one).
fn computed_column(cx: &Context, s: &Statement, c: &Name) -> bool {
    let Kind::AlterTable(a) = &s.facts.kind else {
        return false;
    };
    let t = Toks {
        text: &cx.file.text,
        toks: &s.tokens,
        dialect: s.dialect,
    };
    a.actions.iter().any(|act| {
        matches!(&act.op, AlterOp::AddColumn { name, .. } if name.same_object(c))
            && (0..t.len()).any(|i| {
                act.span.contains(&t.span(i).start) && t.kw(i, "AS") && t.punct(i + 1, "(")
            })
    })
}

/// `DROP TABLE t` followed by `CREATE TABLE t`, or by a rename swap.
/// How the dialect inserts a row only when its key is not there yet.
fn insert_keeping_rows(dialect: crate::dialect::Dialect) -> &'static str {
    use crate::dialect::Dialect;
    match dialect {
        Dialect::Postgres => "`INSERT ... ON CONFLICT DO NOTHING`",
        Dialect::Sqlite => "`INSERT OR IGNORE` (or `INSERT ... ON CONFLICT DO NOTHING`)",
        Dialect::Mysql => "`INSERT IGNORE` (or `INSERT ... ON DUPLICATE KEY UPDATE`)",
        Dialect::Generic => "an insert that skips rows whose key is there (`ON CONFLICT DO NOTHING`, `INSERT IGNORE`, `INSERT OR IGNORE`)",
    }
}

fn check_dropped_table(cx: &Context, unit: &Unit, t: &Name, out: &mut Vec<Finding>) {
    let name = t.text(&cx.file.text);
    if let Some(create) = created_later(cx, unit.stmt, t, None) {
        if dropped_later(cx, create, t) {
            return;
        }
        let created = match &create.facts.kind {
            Kind::Create(c) => c.kind,
            _ => ObjectKind::Table,
        };
        // A full-text (or other virtual) index filled again from the table
        // it indexes: the rows written since come back from that table.
        if created == ObjectKind::VirtualTable && later(cx, create).any(|s| refills(cx, s, t)) {
            return;
        }
        let cascade = if cascades(cx, unit) {
            "; CASCADE also drops the views and foreign keys that depend on it"
        } else {
            ""
        };
        let message = format!(
            "DROP TABLE {name} and the CREATE {} {name} at line {} make a new, empty table: \
             a second run deletes every row written to {name} since the first run{cascade}",
            created.sql(),
            line(cx, create)
        );
        let mut f = cx.finding(&META, unit, message);
        f.help = Some(format!(
            "keep the table: `CREATE TABLE IF NOT EXISTS {name}` without the DROP, and ALTER \
             TABLE to change its shape; load fixed rows with {}",
            insert_keeping_rows(cx.dialect)
        ));
        out.push(f);
        return;
    }
    // A swap: `new` renamed to `t` after the drop.
    let Some((rename, new)) = later(cx, unit.stmt).find_map(|s| renamed_to(s, t).map(|n| (s, n)))
    else {
        return;
    };
    let new_name = new.text(&cx.file.text).to_string();
    // The live table set aside: `new` is renamed to `t` and made again
    // under its own name, filled from it (`DROP TABLE IF EXISTS t_old;
    // ALTER TABLE t RENAME TO t_old; CREATE TABLE t (...); INSERT INTO t
    // SELECT ... FROM t_old`, or MySQL's `CREATE TABLE t_new ...; INSERT
    // INTO t_new SELECT ... FROM t; RENAME TABLE t TO t_old, t_new TO t`).
    // The DROP takes the copy the first run set aside, whose rows are in
    // the table again, unless the copy leaves some out.
    let remade = created_later(cx, rename, &new, None)
        .map(|create| (create, None))
        .or_else(|| {
            std::iter::once(rename)
                .chain(later(cx, rename))
                .find_map(|s| renamed_to(s, &new).map(|x| (s, Some(x))))
        });
    if let Some((remade, via)) = remade {
        let backs: Vec<(&Statement, Option<String>)> = match &via {
            // Made again by CREATE: filled from `t` after that.
            None => later(cx, remade)
                .filter_map(|s| copies_into(cx, s, &new).map(|c| (s, c)))
                .filter(|(_, (sources, _))| sources.iter().any(|src| src.same_object(t)))
                .map(|(s, (_, filtered))| (s, filtered))
                .collect(),
            // A copy renamed to `new`: filled from `new` (or `t`) before.
            Some(x) => earlier(cx, remade)
                .filter_map(|s| copies_into(cx, s, x).map(|c| (s, c)))
                .filter(|(_, (sources, _))| {
                    sources
                        .iter()
                        .any(|src| src.same_object(t) || src.same_object(&new))
                })
                .map(|(s, (_, filtered))| (s, filtered))
                .collect(),
        };
        let into = via
            .as_ref()
            .map_or(new_name.clone(), |x| x.text(&cx.file.text).to_string());
        let problem = match backs.as_slice() {
            [] => format!("no statement copies them into the new {new_name}"),
            [(s, Some(how))] => format!(
                "the copy at line {} takes only some of them ({how})",
                line(cx, s)
            ),
            // Every row copied, or several filtered copies that may take
            // every row between them.
            _ => return,
        };
        let message = format!(
            "DROP TABLE {name} drops what the first run set aside: the rename of {new_name} to \
             {name} at line {} keeps its old rows there, and {problem}: a second run drops those \
             rows for good",
            line(cx, rename)
        );
        let mut f = cx.finding(&META, unit, message);
        f.help = Some(format!(
            "copy every row of {new_name} into the table that replaces it (`INSERT INTO {into} \
             SELECT ... FROM {}` without a filter), or change {new_name} in place with ALTER TABLE",
            if via.is_some() { &new_name } else { name }
        ));
        out.push(f);
        return;
    }
    let copy = earlier(cx, unit.stmt).find(|s| copies_into(cx, s, &new).is_some());
    // Copies of `t` itself into `new`: several filtered ones may take every
    // row between them (`WHERE is_admin` and `WHERE NOT is_admin`), which
    // the text alone cannot tell.
    let copies_of_t = earlier(cx, unit.stmt)
        .filter_map(|s| copies_into(cx, s, &new))
        .filter(|(sources, _)| sources.iter().any(|src| src.same_object(t)))
        .count();
    if copies_of_t > 1 {
        return;
    }
    let problem = match copy {
        None => Some(format!(
            "no statement copies the rows of {name} into {new_name}"
        )),
        Some(s) => copies_into(cx, s, &new).and_then(|(sources, filtered)| {
            if !sources.iter().any(|src| src.same_object(t)) {
                let from: Vec<&str> = sources.iter().map(|n| n.text(&cx.file.text)).collect();
                Some(format!(
                    "the copy at line {} reads {}, not {name}",
                    line(cx, s),
                    if from.is_empty() {
                        "no table".to_string()
                    } else {
                        from.join(", ")
                    }
                ))
            } else {
                filtered.map(|how| {
                    format!(
                        "the copy at line {} keeps only some rows of {name} ({how})",
                        line(cx, s)
                    )
                })
            }
        }),
    };
    let Some(problem) = problem else { return };
    let message = format!(
        "DROP TABLE {name} and the rename of {new_name} to {name} at line {} replace the table, \
         and {problem}: a second run drops the rows written to {name} since the first run",
        line(cx, rename)
    );
    let mut f = cx.finding(&META, unit, message);
    f.help = Some(format!(
        "copy every row of {name} itself into {new_name} (`INSERT INTO {new_name} SELECT ... \
         FROM {name}` without a filter) before the swap, or change the table in place with \
         ALTER TABLE"
    ));
    out.push(f);
}

/// The table a statement renames to `t` (`ALTER TABLE new RENAME TO t`,
/// MySQL `RENAME TABLE new TO t`).
fn renamed_to(s: &Statement, t: &Name) -> Option<Name> {
    match &s.facts.kind {
        Kind::AlterTable(a) => a.actions.iter().find_map(|act| match &act.op {
            AlterOp::RenameTo { new } if new.same_object(t) => a.table.clone(),
            _ => None,
        }),
        Kind::RenameTables(pairs) => pairs
            .iter()
            .find(|p| p.to.same_object(t))
            .map(|p| p.from.clone()),
        _ => None,
    }
}

/// Whether `s` fills the index `t` again from what it indexes: an
/// `INSERT INTO t ... SELECT ... FROM other`, or FTS's `INSERT
/// INTO t(t) VALUES ('rebuild')` (an external-content index reads its
/// table again).
fn refills(cx: &Context, s: &Statement, t: &Name) -> bool {
    // Filtered or not: an index holds the rows of its table that it is
    // meant to (`WHERE body != ''`, as the trigger that keeps it does).
    if let Some((sources, _)) = copies_into(cx, s, t) {
        return !sources.is_empty() && !sources.iter().any(|n| n.same_object(t));
    }
    let into_t = matches!(&s.facts.kind, Kind::Insert(i) if i.table.as_ref().is_some_and(|n| n.same_object(t)));
    into_t
        && s.tokens.iter().any(|k| {
            k.kind == crate::lexer::TokenKind::String
                && cx
                    .file
                    .text
                    .get(k.span.clone())
                    .is_some_and(|v| v.eq_ignore_ascii_case("'rebuild'"))
        })
}

/// For a statement that copies rows into `new` (`CREATE TABLE new AS
/// SELECT`, `INSERT INTO new ... SELECT`): the tables it reads and, when it
/// keeps only some rows, how.
fn copies_into(cx: &Context, s: &Statement, new: &Name) -> Option<(Vec<Name>, Option<String>)> {
    let into = match &s.facts.kind {
        Kind::Create(c) if c.kind.is_table() => c.name.as_ref(),
        Kind::Insert(i) => i.table.as_ref(),
        _ => None,
    }?;
    if !into.same_object(new) {
        return None;
    }
    let t = Toks {
        text: &cx.file.text,
        toks: &s.tokens,
        dialect: s.dialect,
    };
    let select = (0..t.len()).find(|&i| t.kw(i, "SELECT"))?;
    let mut sources = Vec::new();
    let mut filtered = None;
    let mut depth = 0i32;
    let mut i = select + 1;
    while i < t.len() {
        if t.punct(i, "(") {
            depth += 1;
        } else if t.punct(i, ")") {
            depth -= 1;
        } else if t.kw_any(i, &["FROM", "JOIN"]) {
            if let Some((n, _)) = t.name(i + 1) {
                sources.push(n);
            }
        } else if depth == 0 && filtered.is_none() {
            for (kw, how) in [
                ("WHERE", "WHERE"),
                ("LIMIT", "LIMIT"),
                ("DISTINCT", "DISTINCT"),
                ("GROUP", "GROUP BY"),
                ("HAVING", "HAVING"),
            ] {
                if t.kw(i, kw) {
                    filtered = Some(how.to_string());
                }
            }
        }
        i += 1;
    }
    Some((sources, filtered))
}

/// `DELETE FROM t` / `TRUNCATE t` followed by an INSERT into `t`.
fn check_reload(cx: &Context, unit: &Unit, t: &Name, what: &str, out: &mut Vec<Finding>) {
    // A table this part creates with a plain CREATE TABLE: a second run
    // fails there first (other rules say so).
    let fresh = earlier(cx, unit.stmt).any(|s| match &s.facts.kind {
        Kind::Create(c) => {
            c.kind.is_table()
                && !c.if_not_exists
                && c.name.as_ref().is_some_and(|n| n.same_object(t))
        }
        _ => false,
    });
    if fresh || dropped_later(cx, unit.stmt, t) {
        return;
    }
    let Some(insert) = later(cx, unit.stmt).find(|s| match &s.facts.kind {
        Kind::Insert(i) => i.table.as_ref().is_some_and(|n| n.same_object(t)),
        _ => false,
    }) else {
        return;
    };
    let name = t.text(&cx.file.text);
    let message = format!(
        "{what} {name} empties the table and the INSERT at line {} loads it again: a second run \
         deletes every row written to {name} since the first run",
        line(cx, insert)
    );
    let mut f = cx.finding(&META, unit, message);
    f.help = Some(format!(
        "keep the rows that are there: drop the {what} and insert the fixed rows only when \
         missing (`INSERT ... ON CONFLICT DO NOTHING`; MySQL `INSERT IGNORE`, SQLite `INSERT OR \
         IGNORE`), or delete only the rows the migration owns (`DELETE FROM {name} WHERE ...`)"
    ));
    out.push(f);
}
