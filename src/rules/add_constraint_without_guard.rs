//! `add-constraint-without-guard`: ALTER TABLE ADD CONSTRAINT (or MySQL ADD
//! INDEX) that a second run repeats.

use super::index::{constraint_key, Key};
use super::{Context, Rule, RuleMeta};
use crate::analysis::Statement;
use crate::classify::{AlterOp, ConstraintKind, Kind};
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "add-constraint-without-guard",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "ALTER TABLE ADD CONSTRAINT that a second run repeats (fails, or adds a duplicate)",
    doc: r#"## What it does
Flags `ALTER TABLE ... ADD CONSTRAINT name ...`, unnamed `ADD PRIMARY KEY`, `ADD UNIQUE`,
`ADD FOREIGN KEY`, `ADD CHECK`, `ADD EXCLUDE`, and MySQL's `ADD INDEX`/`ADD KEY`, unless
something makes the second run safe:
- an earlier `ALTER TABLE ... DROP CONSTRAINT IF EXISTS name` of the same constraint in the
  same migration (`DROP CONSTRAINT IF EXISTS k, ADD CONSTRAINT k ...` in one statement counts too),
- a table the migration created afresh earlier,
- a Postgres `DO` block that checks the catalog (`IF NOT EXISTS (SELECT ... FROM
  pg_constraint ...)`) or catches the error (`EXCEPTION WHEN duplicate_object`),
- MariaDB's `IF NOT EXISTS`,
- for an unnamed MySQL `FOREIGN KEY`, an earlier `DROP FOREIGN KEY t_ibfk_N` of the same
  table in the same migration: the name MySQL generates for it, which the new key takes
  back, so a second run drops the copy the first run added before adding it again (one such
  DROP for each unnamed key: the keys added beyond the drops are flagged, as each run adds
  one more copy of them).

## Why it matters
Postgres has no `ADD CONSTRAINT IF NOT EXISTS`. A named constraint added twice fails with
"already exists"; an unnamed primary key fails with "multiple primary keys"; an unnamed
UNIQUE, CHECK or FOREIGN KEY constraint (or MySQL index) does not fail at all: every run
adds another copy under a new generated name, slowing down every write.

## Example
```sql
-- flagged
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
  FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE orders ADD UNIQUE (reference);

-- idempotent (Postgres)
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_customer_fk;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
  FOREIGN KEY (customer_id) REFERENCES customers (id);

DO $$ BEGIN
  ALTER TABLE orders ADD CONSTRAINT orders_reference_key UNIQUE (reference);
EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL;
END $$;
```

## Fix
Name the constraint, then either drop it first with `DROP CONSTRAINT IF EXISTS`, or add it
in a `DO` block that checks `pg_constraint` or catches the duplicate error. In MySQL,
check `information_schema.table_constraints` (or `statistics` for indexes) first; MariaDB
accepts `IF NOT EXISTS` on `ADD INDEX`, `ADD UNIQUE` and `ADD FOREIGN KEY`. There is no
automatic fix.
"#,
    fixable: false,
};

pub struct AddConstraintWithoutGuard;
pub static RULE: AddConstraintWithoutGuard = AddConstraintWithoutGuard;

impl Rule for AddConstraintWithoutGuard {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        for unit in super::units(stmt) {
            let Kind::AlterTable(a) = unit.kind else {
                continue;
            };
            // SQLite has no ADD CONSTRAINT: `syntax-error` reports it.
            if unit.guarded || cx.dialect == Dialect::Sqlite {
                continue;
            }
            let Some(table) = &a.table else { continue };
            let tkey = Key::table(table);
            let tname = table.text(&cx.file.text);
            for (i, act) in a.actions.iter().enumerate() {
                let AlterOp::AddConstraint {
                    name,
                    constraint,
                    if_not_exists: false,
                } = &act.op
                else {
                    continue;
                };
                // A DROP ... IF EXISTS of the same constraint earlier in this
                // very statement.
                let dropped_here = a.actions[..i].iter().any(|p| match (&p.op, name) {
                    (AlterOp::DropConstraint { name: Some(d), .. }, Some(n)) => {
                        d.object() == n.object()
                    }
                    (
                        AlterOp::DropConstraint {
                            constraint: ConstraintKind::PrimaryKey,
                            ..
                        },
                        None,
                    ) => *constraint == ConstraintKind::PrimaryKey,
                    _ => false,
                });
                if dropped_here
                    || (name.is_none()
                        && super::index::generated_fk_paired(
                            cx,
                            stmt.group,
                            table,
                            (stmt.span.start, i),
                        ))
                {
                    continue;
                }
                let key = constraint_key(table, name.as_ref(), *constraint)
                    .unwrap_or_else(|| Key::constraint(table, "\0unnamed"));
                if cx
                    .index()
                    .exists_at(stmt.group, &key, Some(&tkey), unit.pos())
                    == Some(false)
                {
                    continue;
                }
                let (message, help) = describe(
                    cx,
                    tname,
                    table.shown(),
                    name.as_ref(),
                    *constraint,
                    &act.span,
                );
                let mut f = cx.finding(&META, &unit, message);
                f.help = Some(help);
                out.push(f);
            }
        }
    }
}

fn describe(
    cx: &Context,
    tname: &str,
    tobj: &str,
    name: Option<&crate::classify::Name>,
    ck: ConstraintKind,
    span: &std::ops::Range<usize>,
) -> (String, String) {
    let d = cx.dialect;
    let action = super::text::excerpt(cx.text(span.clone()), 70);
    let full = super::dml::collapse(cx.text(span.clone()));
    let is_index = ck == ConstraintKind::Index;
    match name {
        Some(n) => {
            let written = n.text(&cx.file.text);
            let obj = n.shown();
            let error = match (d, ck) {
                (
                    Dialect::Postgres,
                    ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclude,
                ) => {
                    format!("relation \"{obj}\" already exists")
                }
                (Dialect::Postgres, _) => {
                    format!("constraint \"{obj}\" for relation \"{tobj}\" already exists")
                }
                (Dialect::Mysql, ConstraintKind::ForeignKey) => {
                    format!("Duplicate foreign key constraint name '{obj}'")
                }
                (Dialect::Mysql, ConstraintKind::Check) => {
                    format!("Duplicate check constraint name '{obj}'")
                }
                (Dialect::Mysql, ConstraintKind::PrimaryKey) => {
                    "Multiple primary key defined".into()
                }
                (Dialect::Mysql, _) => format!("Duplicate key name '{obj}'"),
                _ => format!("constraint {obj} already exists"),
            };
            let message = format!(
                "ALTER TABLE {tname} {action} runs only once: a second run fails with '{error}'"
            );
            let help = match d {
                Dialect::Postgres => {
                    let exc = match ck {
                        ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclude => {
                            "duplicate_table"
                        }
                        _ => "duplicate_object",
                    };
                    format!(
                        "PostgreSQL has no ADD CONSTRAINT IF NOT EXISTS: run `ALTER TABLE {tname} DROP CONSTRAINT IF EXISTS {written};` first, or add it in a DO block: `DO $$ BEGIN ALTER TABLE {tname} {full}; EXCEPTION WHEN {exc} THEN NULL; END $$;`"
                    )
                }
                Dialect::Mysql => format!(
                    "MySQL has no IF NOT EXISTS here: check information_schema.{} first, in a stored procedure or in the tool that runs the migration (MariaDB accepts IF NOT EXISTS on ADD INDEX, ADD UNIQUE and ADD FOREIGN KEY)",
                    if is_index { "statistics" } else { "table_constraints" }
                ),
                _ => format!(
                    "drop the constraint first (`ALTER TABLE {tname} DROP CONSTRAINT IF EXISTS {written}`) where the database allows it, or let the migration tool's version table make sure it runs once"
                ),
            };
            (message, help)
        }
        None if ck == ConstraintKind::PrimaryKey => {
            let error = match d {
                Dialect::Mysql => "Multiple primary key defined".to_string(),
                _ => format!("multiple primary keys for table \"{tobj}\" are not allowed"),
            };
            let message = format!(
                "ALTER TABLE {tname} {action} runs only once: a second run fails with '{error}'"
            );
            let help = match d {
                Dialect::Postgres => format!(
                    "add it in a DO block that checks for it: `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '{tname}'::regclass AND contype = 'p') THEN ALTER TABLE {tname} {full}; END IF; END $$;`"
                ),
                _ => "check information_schema.table_constraints first, or let the migration tool's version table make sure it runs once".to_string(),
            };
            (message, help)
        }
        None => {
            let what = if is_index { "index" } else { "constraint" };
            let message = format!(
                "ALTER TABLE {tname} {action} adds an unnamed {what}: every run adds another copy under a new generated name"
            );
            let help = match d {
                Dialect::Postgres => format!(
                    "name it (`ADD CONSTRAINT {tobj}_..._{} ...`) and run `ALTER TABLE {tname} DROP CONSTRAINT IF EXISTS` with that name first, or guard it in a DO block that checks pg_constraint",
                    match ck {
                        ConstraintKind::Unique => "key",
                        ConstraintKind::ForeignKey => "fkey",
                        ConstraintKind::Check => "check",
                        _ => "excl",
                    }
                ),
                Dialect::Mysql => format!(
                    "name the {what} and check information_schema.{} before adding it (MariaDB accepts `ADD {} IF NOT EXISTS name ...`)",
                    if is_index { "statistics" } else { "table_constraints" },
                    if is_index { "INDEX" } else { ck.sql() }
                ),
                _ => format!(
                    "name the {what}, and drop it first or check the catalog before adding it"
                ),
            };
            (message, help)
        }
    }
}
