//! `add-column-without-if-not-exists`: ALTER TABLE ADD COLUMN that fails when
//! the migration runs again.

use super::index::Key;
use super::text::{cased, column_ways_out, excerpt, insert_fix};
use super::{Context, Rule, RuleMeta};
use crate::analysis::Statement;
use crate::classify::{AlterOp, Kind};
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "add-column-without-if-not-exists",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "ALTER TABLE ADD COLUMN without IF NOT EXISTS fails when the migration runs again",
    doc: r#"## What it does
Flags `ALTER TABLE ... ADD [COLUMN]` without `IF NOT EXISTS`, for every column of the
statement (also MySQL's `ADD (a int, b int)`). When one statement has several actions, each
finding points at its own `ADD`, on its own line.

Not flagged: a column the same migration dropped earlier (also earlier in the same
statement: `ALTER TABLE t DROP COLUMN x, ADD COLUMN x bigint`), a column of a table the
migration created afresh earlier (after `DROP TABLE IF EXISTS`), and an ADD COLUMN inside a
Postgres `DO` block under an `IF NOT EXISTS (SELECT ... FROM information_schema.columns ...)`
check or an `EXCEPTION WHEN duplicate_column` handler. An ADD COLUMN on a table that
the same migration drops and makes again *later* (a rebuild: `DROP TABLE t; ALTER TABLE
t_new RENAME TO t`) is flagged: the second run meets the rebuilt table, which the first run
made with the column.

## Why it matters
The second run stops with "column already exists" (SQLite: "duplicate column name"),
and the statements after it never run again. SQLite and MySQL have no
`ADD COLUMN IF NOT EXISTS` at all, so there the statement can only be made safe from the
outside.

## Example
```sql
-- flagged
ALTER TABLE users ADD COLUMN last_login timestamptz;

-- idempotent (Postgres, MariaDB)
ALTER TABLE users ADD COLUMN IF NOT EXISTS last_login timestamptz;
```

## Fix
In Postgres (and MariaDB) add `IF NOT EXISTS` after `ADD COLUMN`; `twice check --fix` does
this for Postgres only. The mysql dialect covers MySQL and MariaDB, and MySQL (8.x included)
rejects `ADD COLUMN IF NOT EXISTS` as a syntax error, so `--fix` leaves the statement as it
is there; on MariaDB write the clause by hand. In SQLite and MySQL there is no such clause: rely on the migration
tool's version table to run the statement once, check the column in application code
first (`SELECT 1 FROM pragma_table_info('users') WHERE name = 'last_login' COLLATE NOCASE`
in SQLite, which matches column names without case, `information_schema.columns` in
MySQL; the messages and checks keep the case a name is written in, as SQLite and MySQL
do), or rebuild the table with the new column
(`CREATE TABLE users_new ...; INSERT INTO users_new SELECT ...; DROP TABLE users;
ALTER TABLE users_new RENAME TO users`).

## Fix safety
**Safe**: `ADD COLUMN IF NOT EXISTS` adds the column on the first run and does nothing
once it exists. (A column that exists with another type or default is left as it is;
that was already so on the second run.)
"#,
    fixable: true,
};

pub struct AddColumnWithoutIfNotExists;
pub static RULE: AddColumnWithoutIfNotExists = AddColumnWithoutIfNotExists;

impl Rule for AddColumnWithoutIfNotExists {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        for unit in super::units(stmt) {
            let Kind::AlterTable(a) = unit.kind else {
                continue;
            };
            if unit.guarded {
                continue;
            }
            let Some(table) = &a.table else { continue };
            let tkey = Key::table(table);
            let tname = table.text(&cx.file.text);
            let t = unit.toks(cx);
            // Several actions in one statement: each finding points at its
            // own action, not all at the statement's start.
            let several = a.actions.len() > 1;
            for act in &a.actions {
                let AlterOp::AddColumn {
                    name,
                    if_not_exists: false,
                    insert_at,
                } = &act.op
                else {
                    continue;
                };
                let key = Key::column(table, name.object());
                if cx.index().exists_at(
                    stmt.group,
                    &key,
                    Some(&tkey),
                    act.span.start.max(unit.pos()),
                ) == Some(false)
                {
                    continue;
                }
                let col = name.text(&cx.file.text);
                let (error, message, help, fix) = match cx.dialect {
                    Dialect::Postgres => {
                        let ine = cased(t.text(0), " IF NOT EXISTS");
                        let fixed = excerpt(
                            &format!(
                                "{}{ine}{}",
                                cx.text(act.span.start..*insert_at),
                                cx.text(*insert_at..act.span.end)
                            ),
                            80,
                        );
                        (
                            format!(
                                "column \"{}\" of relation \"{}\" already exists",
                                name.shown(),
                                table.shown()
                            ),
                            None,
                            format!("use `ALTER TABLE {tname} {fixed}`"),
                            Some(insert_fix(format!("insert `{}`", ine.trim()), *insert_at, ine)),
                        )
                    }
                    Dialect::Sqlite => (
                        format!("duplicate column name: {}", name.shown()),
                        Some("SQLite has no ADD COLUMN IF NOT EXISTS"),
                        format!(
                            "SQLite cannot guard ADD COLUMN itself: {}",
                            column_ways_out(cx.dialect, table, name.shown())
                        ),
                        None,
                    ),
                    Dialect::Mysql => (
                        format!("Duplicate column name '{}'", name.shown()),
                        Some("MySQL has no ADD COLUMN IF NOT EXISTS"),
                        format!(
                            "no automatic fix: `ADD COLUMN IF NOT EXISTS` is MariaDB syntax that MySQL rejects, so the rewrite would break a MySQL server. On MariaDB write `ALTER TABLE {tname} ADD COLUMN IF NOT EXISTS {col} ...`; on MySQL {}",
                            column_ways_out(cx.dialect, table, name.shown())
                        ),
                        None,
                    ),
                    Dialect::Generic => (
                        format!("column {} already exists", name.shown()),
                        None,
                        format!(
                            "use `ALTER TABLE {tname} ADD COLUMN IF NOT EXISTS {col} ...` if your database has it; otherwise let the migration tool's version table make sure it runs once"
                        ),
                        None,
                    ),
                };
                let mut msg = format!(
                    "ALTER TABLE {tname} ADD COLUMN {col} runs only once: a second run fails with '{error}'"
                );
                if let Some(m) = message {
                    msg.push_str(", and ");
                    msg.push_str(m);
                }
                let mut f = if several {
                    cx.finding_at(&META, &unit, act.span.clone(), msg)
                } else {
                    cx.finding(&META, &unit, msg)
                };
                f.help = Some(help);
                f.fix = fix;
                out.push(f);
            }
        }
    }
}
