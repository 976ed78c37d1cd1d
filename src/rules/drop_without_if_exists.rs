//! `drop-without-if-exists`: a DROP that fails when the migration runs again.

use super::index::{constraint_key, Key};
use super::text::{cased, column_ways_out, db, head, insert_fix, last_part};
use super::{Context, Rule, RuleMeta, Unit};
use crate::analysis::Statement;
use crate::classify::unquote;
use crate::classify::{AlterOp, AlterTable, ConstraintKind, Drop, Kind, ObjectKind};
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "drop-without-if-exists",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "DROP without IF EXISTS fails when the migration runs again",
    doc: r#"## What it does
Flags `DROP TABLE`, `INDEX`, `VIEW`, `TRIGGER`, `TYPE`, `SCHEMA`, `FUNCTION` and every other
`DROP` statement without `IF EXISTS`, and `ALTER TABLE ... DROP COLUMN` / `DROP CONSTRAINT`
(and MySQL's `DROP INDEX`, `DROP FOREIGN KEY`, `DROP PRIMARY KEY`, `DROP CHECK`) without
`IF EXISTS`.

Not flagged: a DROP of an object that the same migration creates earlier (or re-creates
later, as in SQLite's table rebuild: the object is there again when the second run
reaches the DROP), DDL inside a Postgres `DO` block under an existence check, and a MySQL
`DROP FOREIGN KEY t_ibfk_N` (the name MySQL generates for an unnamed foreign key of `t`)
followed in the same migration by an unnamed `ADD FOREIGN KEY` on `t` (one for each such
DROP; drops beyond the adds are flagged): the new key takes the freed name (when it was the
table's highest), so the second run finds it. When the table keeps a key with a higher
number the new one is named past it and a second run's DROP fails: replay
(`--engine mysql`) checks it.

## Why it matters
The first run removes the object; the second run finds nothing to drop and stops with
"does not exist", so the rest of the migration never runs again. This is the most common
way a retried deploy gets stuck halfway.

## Example
```sql
-- flagged
DROP TABLE legacy_sessions;
ALTER TABLE users DROP COLUMN nickname;            -- Postgres

-- idempotent
DROP TABLE IF EXISTS legacy_sessions;
ALTER TABLE users DROP COLUMN IF EXISTS nickname;
```

## Fix
Add `IF EXISTS` after the object keyword (`DROP INDEX CONCURRENTLY IF EXISTS` in Postgres);
`twice check --fix` does this where the dialect has the clause. SQLite has no
`DROP COLUMN IF EXISTS` and MySQL has neither `DROP COLUMN IF EXISTS` nor
`DROP INDEX IF EXISTS` (MariaDB has both): there, let the migration tool's version table
make sure the statement runs once, check the catalog first, or rebuild the table.

## Fix safety
**Safe**: `IF EXISTS` changes nothing when the object is there, and turns the error of a
second run (the object is gone) into a notice.
"#,
    fixable: true,
};

pub struct DropWithoutIfExists;
pub static RULE: DropWithoutIfExists = DropWithoutIfExists;

impl Rule for DropWithoutIfExists {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        for unit in super::units(stmt) {
            if unit.guarded {
                continue;
            }
            match unit.kind {
                Kind::Drop(d) => check_drop(cx, &unit, d, out),
                Kind::AlterTable(a) => check_alter(cx, &unit, a, out),
                _ => {}
            }
        }
    }
}

/// The dialect has `DROP <kind> IF EXISTS`.
fn has_if_exists(d: Dialect, kind: ObjectKind) -> bool {
    use ObjectKind::*;
    match d {
        Dialect::Sqlite => matches!(kind, Table | VirtualTable | Index | View | Trigger),
        Dialect::Postgres => true,
        Dialect::Mysql => matches!(
            kind,
            Table
                | View
                | Database
                | Schema
                | Trigger
                | Procedure
                | Function
                | Event
                | User
                | Role
                | Server
                | Sequence
        ),
        Dialect::Generic => false,
    }
}

fn does_not_exist(d: Dialect, dr: &Drop, name: &str) -> String {
    use ObjectKind::*;
    let noun = dr.kind.noun();
    let table = dr.table.as_ref().map_or("", |t| t.shown());
    match d {
        Dialect::Sqlite => {
            let n = if dr.kind == VirtualTable {
                "table".into()
            } else {
                noun
            };
            format!("no such {n}: {name}")
        }
        Dialect::Postgres => match dr.kind {
            Function | Procedure | Aggregate => format!("{noun} {name} does not exist"),
            Trigger | ConstraintTrigger => {
                format!("trigger \"{name}\" for table \"{table}\" does not exist")
            }
            Policy => format!("policy \"{name}\" for table \"{table}\" does not exist"),
            Role | User | Group => format!("role \"{name}\" does not exist"),
            Domain => format!("type \"{name}\" does not exist"),
            _ => format!("{noun} \"{name}\" does not exist"),
        },
        Dialect::Mysql => match dr.kind {
            Table | View => format!("Unknown table '{name}'"),
            Index => format!("Can't DROP '{name}'; check that column/key exists"),
            Database | Schema => {
                format!("Can't drop database '{name}'; database doesn't exist")
            }
            Trigger => "Trigger does not exist".to_string(),
            Function | Procedure => format!("{} {name} does not exist", dr.kind.sql()),
            User | Role => format!("Operation DROP {} failed for {name}", dr.kind.sql()),
            _ => format!("{noun} {name} does not exist"),
        },
        Dialect::Generic => format!("{noun} {name} does not exist"),
    }
}

fn check_drop(cx: &Context, unit: &Unit, d: &Drop, out: &mut Vec<Finding>) {
    // `IF EXISTS` after the name: `syntax-error` reports it (another
    // `IF EXISTS` before the name would leave it as broken).
    if d.if_exists
        || d.if_exists_after.is_some()
        || d.names.is_empty() && !matches!(d.kind, ObjectKind::Cast | ObjectKind::UserMapping)
    {
        return;
    }
    let group = unit.stmt.group;
    let parent = d.table.as_ref().map(Key::table);
    let missing: Vec<_> = d
        .names
        .iter()
        .filter(|n| {
            let key = Key::object(d.kind, n);
            cx.index()
                .exists_at(group, &key, parent.as_ref(), unit.pos())
                != Some(true)
        })
        .collect();
    if missing.is_empty() && !d.names.is_empty() {
        return;
    }
    let t = unit.toks(cx);
    let names = head(&t, 0, d.head_end, None);
    // SQLite and MySQL print the name as written, without quotes (SQLite
    // with the schema it was written with); PostgreSQL case-folds it.
    let first = missing.first().map_or(String::new(), |n| {
        let written = n.text(&cx.file.text);
        match cx.dialect {
            Dialect::Sqlite => {
                let object = last_part(written);
                let schema = &written[..written.len() - object.len()];
                match schema.strip_suffix('.') {
                    Some(s) if !s.trim().is_empty() => {
                        format!("{}.{}", unquote(s.trim()), unquote(object.trim()))
                    }
                    _ => unquote(object.trim()),
                }
            }
            Dialect::Mysql => unquote(last_part(written).trim()),
            Dialect::Postgres | Dialect::Generic => n.object().to_string(),
        }
    });
    let mut f = cx.finding(
        &META,
        unit,
        format!(
            "{names} runs only once: a second run fails with '{}'",
            does_not_exist(cx.dialect, d, &first)
        ),
    );
    let ie = cased(t.text(0), " IF EXISTS");
    if has_if_exists(cx.dialect, d.kind) {
        let mut fixed = head(&t, 0, d.head_end, Some((d.keyword_token, &ie)));
        if d.head_end < t.len() {
            fixed.push_str(" ...");
        }
        f.help = Some(format!("use `{fixed}`"));
        f.fix = Some(insert_fix(
            format!("insert `{}`", ie.trim()),
            d.if_exists_at,
            ie,
        ));
    } else if cx.dialect == Dialect::Mysql && d.kind == ObjectKind::Index {
        f.help = Some(
            "MySQL has no DROP INDEX IF EXISTS (MariaDB has): check information_schema.statistics first, in a stored procedure or in the tool that runs the migration, or let the migration tool's version table make sure it runs once".to_string(),
        );
    } else if cx.dialect == Dialect::Generic {
        f.help = Some(format!(
            "use `DROP {} IF EXISTS ...` if your database has it",
            d.kind.sql()
        ));
    } else {
        f.help = Some(format!(
            "{} has no DROP {} IF EXISTS: check the catalog before dropping, or let the migration tool's version table make sure it runs once",
            db(cx.dialect),
            d.kind.sql()
        ));
    }
    out.push(f);
}

fn check_alter(cx: &Context, unit: &Unit, a: &AlterTable, out: &mut Vec<Finding>) {
    let Some(table) = &a.table else { return };
    let group = unit.stmt.group;
    let tkey = Key::table(table);
    let tname = table.text(&cx.file.text);
    let t = unit.toks(cx);
    // Several actions in one statement: each finding points at its own
    // action, not all at the statement's start.
    let several = a.actions.len() > 1;
    let finding = |message: String, span: std::ops::Range<usize>| {
        if several {
            cx.finding_at(&META, unit, span, message)
        } else {
            cx.finding(&META, unit, message)
        }
    };
    for (ai, act) in a.actions.iter().enumerate() {
        match &act.op {
            AlterOp::DropColumn {
                name,
                if_exists: false,
                insert_at,
            } => {
                let key = Key::column(table, name.object());
                if cx.index().exists_at(group, &key, Some(&tkey), unit.pos()) == Some(true) {
                    continue;
                }
                let col = name.text(&cx.file.text);
                let error = match cx.dialect {
                    Dialect::Sqlite => format!("no such column: \"{}\"", name.shown()),
                    Dialect::Postgres => format!(
                        "column \"{}\" of relation \"{}\" does not exist",
                        name.shown(),
                        table.shown()
                    ),
                    Dialect::Mysql => {
                        format!(
                            "Can't DROP '{}'; check that column/key exists",
                            name.shown()
                        )
                    }
                    Dialect::Generic => format!("column {} does not exist", name.shown()),
                };
                let action = super::text::excerpt(cx.text(act.span.clone()), 60);
                let mut f = finding(
                    format!(
                        "ALTER TABLE {tname} {action} runs only once: a second run fails with '{error}'"
                    ),
                    act.span.clone(),
                );
                let ie = cased(t.text(0), " IF EXISTS");
                match cx.dialect {
                    Dialect::Postgres => {
                        f.help = Some(format!(
                            "use `ALTER TABLE {tname} DROP COLUMN IF EXISTS {col}`"
                        ));
                        f.fix = Some(insert_fix(
                            format!("insert `{}`", ie.trim()),
                            *insert_at,
                            ie,
                        ));
                    }
                    Dialect::Sqlite => {
                        f.message = format!(
                            "ALTER TABLE {tname} DROP COLUMN {col} runs only once: a second run fails with '{error}', and SQLite has no DROP COLUMN IF EXISTS"
                        );
                        f.help = Some(column_ways_out(cx.dialect, table, name.shown()));
                    }
                    Dialect::Mysql => {
                        f.help = Some(format!(
                            "MySQL has no DROP COLUMN IF EXISTS (MariaDB has: `ALTER TABLE {tname} DROP COLUMN IF EXISTS {col}`): {}",
                            column_ways_out(cx.dialect, table, name.shown())
                        ));
                    }
                    Dialect::Generic => {
                        f.help = Some(format!(
                            "use `ALTER TABLE {tname} DROP COLUMN IF EXISTS {col}` if your database has it"
                        ));
                    }
                }
                out.push(f);
            }
            // SQLite has no such action: `syntax-error` reports it.
            AlterOp::DropConstraint { .. } if cx.dialect == Dialect::Sqlite => {}
            AlterOp::DropConstraint {
                name,
                constraint,
                if_exists: false,
                insert_at,
            } => {
                if let Some(key) = constraint_key(table, name.as_ref(), *constraint) {
                    let parent = (*constraint != ConstraintKind::Index).then_some(&tkey);
                    if cx.index().exists_at(group, &key, parent, unit.pos()) == Some(true) {
                        continue;
                    }
                }
                if name.is_some()
                    && super::index::generated_fk_paired(
                        cx,
                        group,
                        table,
                        (unit.stmt.span.start, ai),
                    )
                {
                    continue;
                }
                let what = match constraint {
                    ConstraintKind::Unspecified => "CONSTRAINT",
                    ConstraintKind::Index => "INDEX",
                    ConstraintKind::ForeignKey => "FOREIGN KEY",
                    ConstraintKind::Check => "CHECK",
                    ConstraintKind::PrimaryKey => "PRIMARY KEY",
                    _ => "CONSTRAINT",
                };
                let cname = name.as_ref().map(|n| n.text(&cx.file.text)).unwrap_or("");
                let obj = name.as_ref().map_or("", |n| n.shown());
                let error = match (cx.dialect, constraint) {
                    (_, ConstraintKind::PrimaryKey) => match cx.dialect {
                        Dialect::Mysql => {
                            "Can't DROP 'PRIMARY'; check that column/key exists".to_string()
                        }
                        _ => "the table has no primary key left".to_string(),
                    },
                    (Dialect::Postgres, _) => format!(
                        "constraint \"{obj}\" of relation \"{}\" does not exist",
                        table.shown()
                    ),
                    (Dialect::Mysql, _) => {
                        format!("Can't DROP '{obj}'; check that column/key exists")
                    }
                    _ => format!("constraint {obj} does not exist"),
                };
                let dropped = if cname.is_empty() {
                    what.to_string()
                } else {
                    format!("{what} {cname}")
                };
                let mut f = finding(
                    format!(
                        "ALTER TABLE {tname} DROP {dropped} runs only once: a second run fails with '{error}'"
                    ),
                    act.span.clone(),
                );
                let ie = cased(t.text(0), " IF EXISTS");
                match (cx.dialect, constraint) {
                    (Dialect::Postgres, ConstraintKind::Unspecified) => {
                        f.help = Some(format!(
                            "use `ALTER TABLE {tname} DROP CONSTRAINT IF EXISTS {cname}`"
                        ));
                        f.fix = Some(insert_fix(
                            format!("insert `{}`", ie.trim()),
                            *insert_at,
                            ie,
                        ));
                    }
                    (_, ConstraintKind::PrimaryKey) => {
                        f.help = Some(format!(
                            "{} has no DROP PRIMARY KEY IF EXISTS: check the catalog first (information_schema.table_constraints), or let the migration tool's version table make sure it runs once",
                            db(cx.dialect)
                        ));
                    }
                    (Dialect::Mysql, _) => {
                        f.help = Some(format!(
                            "MySQL has no DROP {what} IF EXISTS (MariaDB has: `ALTER TABLE {tname} DROP {what} IF EXISTS {cname}`): check information_schema first, in a stored procedure or in the tool that runs the migration"
                        ));
                    }
                    _ => {
                        f.help = Some(format!(
                            "use `ALTER TABLE {tname} DROP {what} IF EXISTS {cname}` if your database has it, or check the catalog first"
                        ));
                    }
                }
                out.push(f);
            }
            _ => {}
        }
    }
}
