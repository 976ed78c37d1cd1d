//! `rename-without-guard`: a rename whose old name is gone on the second run.

use super::index::Key;
use super::text::{db, literal, schema_filter};
use super::{Context, Rule, RuleMeta, Unit};
use crate::analysis::Statement;
use crate::classify::{AlterObjectOp, AlterOp, Kind, Name, ObjectKind};
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "rename-without-guard",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "RENAME fails when the migration runs again: the old name is gone",
    doc: r#"## What it does
Flags `ALTER TABLE ... RENAME TO`, `RENAME [COLUMN] a TO b`, `RENAME CONSTRAINT`,
MySQL's `RENAME INDEX`, `CHANGE old new ...` and `RENAME TABLE a TO b`, `ALTER TABLE ...
SET SCHEMA`, and `ALTER INDEX / VIEW / SEQUENCE / TYPE / FUNCTION / ... RENAME TO` (and
Postgres `ALTER TYPE ... RENAME VALUE`).

Not flagged: `ALTER TABLE IF EXISTS old RENAME TO new` (and the same for other objects
that take `IF EXISTS`), renames inside a Postgres `DO` block under an existence check
or in a block whose handler catches what the second run raises (`undefined_column` for
RENAME COLUMN, `undefined_table` for RENAME TO, `undefined_object` for RENAME CONSTRAINT
and types, `invalid_parameter_value` for RENAME VALUE, `OTHERS`, or the SQLSTATE code:
`WHEN SQLSTATE '22023'`), and renames the same migration makes safe (SQLite's table
rebuild renames a table it created a few statements earlier).

## Why it matters
After the first run the old name no longer exists, so the second run stops with "no such
table" or "column does not exist". Renames are also the statements most often replayed
by hand when a deploy half-failed.

## Example
```sql
-- flagged
ALTER TABLE users RENAME COLUMN name TO full_name;
ALTER TABLE customer RENAME TO customers;

-- idempotent (Postgres)
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_schema = current_schema()
               AND table_name = 'users' AND column_name = 'name') THEN
    ALTER TABLE users RENAME COLUMN name TO full_name;
  END IF;
END $$;
ALTER TABLE IF EXISTS customer RENAME TO customers;
```

## Fix
For a table (or index, view, sequence) rename in Postgres, use `ALTER ... IF EXISTS old
RENAME TO new`. Column and constraint renames have no such clause: guard them with a
catalog check in a `DO` block (Postgres), a stored procedure (MySQL), or let the
migration tool's version table make sure they run once (SQLite). There is no automatic fix.
"#,
    fixable: false,
};

pub struct RenameWithoutGuard;
pub static RULE: RenameWithoutGuard = RenameWithoutGuard;

impl Rule for RenameWithoutGuard {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        for unit in super::units(stmt) {
            if unit.guarded {
                continue;
            }
            match unit.kind {
                Kind::AlterTable(a) => {
                    let Some(table) = &a.table else { continue };
                    let tname = table.text(&cx.file.text);
                    let tkey = Key::table(table);
                    for act in &a.actions {
                        match &act.op {
                            AlterOp::RenameTo { new } if !a.if_exists => {
                                let nkey = Key::table(new);
                                if safe(cx, &unit, &tkey, &nkey, None) {
                                    continue;
                                }
                                let mut f = table_rename(cx, &unit, "TABLE", table, new, true);
                                // The migration makes the old name again and
                                // keeps the new one (`RENAME TO t_old; CREATE
                                // TABLE t`): on a second run the new name is
                                // the one in the way.
                                let idx = cx.index();
                                let (g, pos) = (unit.stmt.group, unit.pos());
                                if idx.exists_at(g, &tkey, None, pos) == Some(true)
                                    && idx.exists_at(g, &nkey, None, pos) == Some(true)
                                {
                                    f.message = format!(
                                        "ALTER TABLE {tname} RENAME TO {} runs only once: a \
                                         second run fails with {} (the first run made it)",
                                        new.text(&cx.file.text),
                                        exists_error(cx.dialect, new)
                                    );
                                }
                                out.push(f);
                            }
                            AlterOp::SetSchema { schema } if !a.if_exists => {
                                let s = schema.text(&cx.file.text);
                                let mut f = cx.finding(
                                    &META,
                                    &unit,
                                    format!(
                                        "ALTER TABLE {tname} SET SCHEMA {s} runs only once: a second run fails because {tname} is no longer in its old schema"
                                    ),
                                );
                                f.help = Some(format!(
                                    "use `ALTER TABLE IF EXISTS {tname} SET SCHEMA {s}`"
                                ));
                                out.push(f);
                            }
                            AlterOp::RenameColumn { from, to }
                            | AlterOp::ChangeColumn { from, to } => {
                                if from.object() == to.object() {
                                    continue;
                                }
                                let (k1, k2) = (
                                    Key::column(table, from.object()),
                                    Key::column(table, to.object()),
                                );
                                if safe(cx, &unit, &k1, &k2, Some(&tkey)) {
                                    continue;
                                }
                                out.push(member_rename(cx, &unit, table, "COLUMN", from, to));
                            }
                            AlterOp::RenameConstraint { from, to } => {
                                let (k1, k2) = (
                                    Key::constraint(table, from.object()),
                                    Key::constraint(table, to.object()),
                                );
                                if safe(cx, &unit, &k1, &k2, Some(&tkey)) {
                                    continue;
                                }
                                out.push(member_rename(cx, &unit, table, "CONSTRAINT", from, to));
                            }
                            AlterOp::RenameIndex { from, to } => {
                                let (k1, k2) = (
                                    Key::object(ObjectKind::Index, from),
                                    Key::object(ObjectKind::Index, to),
                                );
                                if safe(cx, &unit, &k1, &k2, Some(&tkey)) {
                                    continue;
                                }
                                out.push(member_rename(cx, &unit, table, "INDEX", from, to));
                            }
                            _ => {}
                        }
                    }
                }
                Kind::RenameTables(pairs) => {
                    // MySQL renames the pairs in order: an earlier pair frees
                    // its old name and takes its new one (`RENAME TABLE t TO
                    // t_old, t_new TO t`).
                    let idx = cx.index();
                    let (g, pos) = (unit.stmt.group, unit.pos());
                    let mut freed: Vec<Key> = Vec::new();
                    let mut taken: Vec<Key> = Vec::new();
                    for (n, p) in pairs.iter().enumerate() {
                        let (from, to) = (Key::table(&p.from), Key::table(&p.to));
                        let exists = |k: &Key| -> Option<bool> {
                            if taken.contains(k) {
                                Some(true)
                            } else if freed.contains(k) {
                                Some(false)
                            } else {
                                idx.exists_at(g, k, None, pos)
                            }
                        };
                        let is_safe = exists(&from) == Some(true) && exists(&to) == Some(false);
                        taken.retain(|k| *k != from);
                        freed.retain(|k| *k != to);
                        freed.push(from);
                        taken.push(to);
                        if !is_safe {
                            let mut f = table_rename(cx, &unit, "TABLE", &p.from, &p.to, false);
                            // A later pair takes the old name again (`t TO
                            // t_old, t_new TO t`): on a second run it is
                            // there, and the new name is the one taken.
                            if pairs[n + 1..].iter().any(|q| q.to.same_object(&p.from)) {
                                f.message = format!(
                                    "RENAME TABLE {} TO {} runs only once: a second run fails \
                                     with {} (the first run made it)",
                                    p.from.text(&cx.file.text),
                                    p.to.text(&cx.file.text),
                                    exists_error(cx.dialect, &p.to)
                                );
                            }
                            out.push(f);
                        }
                    }
                }
                Kind::AlterObject(o) if !o.if_exists => {
                    let Some(name) = &o.name else { continue };
                    let written = name.text(&cx.file.text);
                    match &o.op {
                        AlterObjectOp::RenameTo { new } => {
                            let parent = o.table.as_ref().map(Key::table);
                            if safe(
                                cx,
                                &unit,
                                &Key::object(o.kind, name),
                                &Key::object(o.kind, new),
                                parent.as_ref(),
                            ) {
                                continue;
                            }
                            out.push(table_rename(cx, &unit, o.kind.sql(), name, new, true));
                        }
                        AlterObjectOp::RenameMember { member, from, to } => {
                            if *member == "value" {
                                let (k1, k2) =
                                    (Key::enum_value(name, from), Key::enum_value(name, to));
                                if safe(cx, &unit, &k1, &k2, None) {
                                    continue;
                                }
                            }
                            let mut f = cx.finding(
                                &META,
                                &unit,
                                format!(
                                    "ALTER {} {written} RENAME {} {from} TO {to} runs only once: a second run fails because {member} {from} no longer exists",
                                    o.kind.sql(),
                                    member.to_ascii_uppercase()
                                ),
                            );
                            f.help = Some(format!(
                                "guard it in a DO block that checks the catalog first (e.g. `IF EXISTS (SELECT 1 FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = '{}' AND e.enumlabel = {from}) THEN ... END IF`)",
                                name.shown()
                            ));
                            out.push(f);
                        }
                        AlterObjectOp::SetSchema => {
                            let mut f = cx.finding(
                                &META,
                                &unit,
                                format!(
                                    "ALTER {} {written} SET SCHEMA runs only once: a second run fails because {written} is no longer in its old schema",
                                    o.kind.sql()
                                ),
                            );
                            f.help = Some(format!(
                                "use `ALTER {} IF EXISTS {written} SET SCHEMA ...` where the database has it, or guard it with a catalog check",
                                o.kind.sql()
                            ));
                            out.push(f);
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
}

/// The rename works on a second run: `from` is there again and `to` is not.
fn safe(cx: &Context, unit: &Unit, from: &Key, to: &Key, parent: Option<&Key>) -> bool {
    let idx = cx.index();
    let g = unit.stmt.group;
    idx.exists_at(g, from, parent, unit.pos()) == Some(true)
        && idx.exists_at(g, to, parent, unit.pos()) == Some(false)
}

/// The error a rename to `to` meets when a table of that name exists.
fn exists_error(dialect: Dialect, to: &Name) -> String {
    let name = to.shown();
    match dialect {
        Dialect::Mysql => format!("'Table '{name}' already exists'"),
        Dialect::Postgres => format!("'relation \"{name}\" already exists'"),
        Dialect::Sqlite => {
            format!("'there is already another table or index with this name: {name}'")
        }
        _ => format!("'{name} already exists'"),
    }
}

fn table_rename(
    cx: &Context,
    unit: &Unit,
    kind: &str,
    from: &Name,
    to: &Name,
    alter: bool,
) -> Finding {
    let (f_txt, t_txt) = (from.text(&cx.file.text), to.text(&cx.file.text));
    let statement = if alter {
        format!("ALTER {kind} {f_txt} RENAME TO {t_txt}")
    } else {
        format!("RENAME TABLE {f_txt} TO {t_txt}")
    };
    let error = match (cx.dialect, kind) {
        (Dialect::Sqlite, _) => format!("no such table: {}", from.shown()),
        (Dialect::Postgres, _) => format!("relation \"{}\" does not exist", from.shown()),
        (Dialect::Mysql, _) => format!("Table '{}' doesn't exist", from.shown()),
        _ => format!("{} does not exist", from.shown()),
    };
    let mut f = cx.finding(
        &META,
        unit,
        format!(
            "{statement} runs only once: a second run fails with '{error}' (the old name is gone)"
        ),
    );
    f.help = Some(match cx.dialect {
        Dialect::Postgres if alter => format!("use `ALTER {kind} IF EXISTS {f_txt} RENAME TO {t_txt}`"),
        Dialect::Mysql => format!(
            "MySQL has no RENAME IF EXISTS (MariaDB has `{}`): check information_schema.tables first, or let the migration tool's version table make sure it runs once",
            if alter {
                format!("ALTER TABLE IF EXISTS {f_txt} RENAME TO {t_txt}")
            } else {
                format!("RENAME TABLE IF EXISTS {f_txt} TO {t_txt}")
            }
        ),
        Dialect::Sqlite => format!(
            "SQLite has no ALTER TABLE IF EXISTS: let the migration tool's version table make sure it runs once, or check `SELECT 1 FROM sqlite_master WHERE name = '{}' COLLATE NOCASE` in application code first",
            literal(from.shown())
        ),
        _ => format!(
            "use `ALTER {kind} IF EXISTS {f_txt} RENAME TO {t_txt}` if your database has it, or check the catalog first"
        ),
    });
    f
}

fn member_rename(
    cx: &Context,
    unit: &Unit,
    table: &Name,
    what: &str,
    from: &Name,
    to: &Name,
) -> Finding {
    let tname = table.text(&cx.file.text);
    let (f_txt, t_txt) = (from.text(&cx.file.text), to.text(&cx.file.text));
    let noun = what.to_ascii_lowercase();
    let error = match (cx.dialect, what) {
        (Dialect::Sqlite, "COLUMN") => format!("no such column: \"{}\"", from.shown()),
        (Dialect::Postgres, "COLUMN") => format!("column \"{}\" does not exist", from.shown()),
        (Dialect::Postgres, _) => format!(
            "constraint \"{}\" for table \"{}\" does not exist",
            from.shown(),
            table.shown()
        ),
        (Dialect::Mysql, "COLUMN") => {
            format!("Unknown column '{}' in '{}'", from.shown(), table.shown())
        }
        (Dialect::Mysql, _) => format!(
            "Key '{}' doesn't exist in table '{}'",
            from.shown(),
            table.shown()
        ),
        _ => format!("{noun} {} does not exist", from.shown()),
    };
    let mut f = cx.finding(
        &META,
        unit,
        format!(
            "ALTER TABLE {tname} RENAME {what} {f_txt} TO {t_txt} runs only once: a second run fails with '{error}' (the old name is gone)"
        ),
    );
    f.help = Some(match cx.dialect {
        Dialect::Postgres => {
            let check = if what == "COLUMN" {
                format!(
                    "SELECT 1 FROM information_schema.columns WHERE {} AND table_name = '{}' AND column_name = '{}'",
                    schema_filter(cx.dialect, table),
                    literal(table.shown()),
                    literal(from.shown())
                )
            } else {
                format!(
                    "SELECT 1 FROM pg_constraint WHERE conrelid = '{tname}'::regclass AND conname = '{}'",
                    literal(from.shown())
                )
            };
            format!(
                "PostgreSQL has no RENAME {what} IF EXISTS: guard it in a DO block: `DO $$ BEGIN IF EXISTS ({check}) THEN ALTER TABLE {tname} RENAME {what} {f_txt} TO {t_txt}; END IF; END $$;`"
            )
        }
        Dialect::Sqlite => format!(
            "SQLite cannot guard a rename itself: let the migration tool's version table make sure it runs once, or check `SELECT 1 FROM pragma_table_info('{}') WHERE name = '{}' COLLATE NOCASE` in application code first",
            literal(table.shown()),
            literal(from.shown())
        ),
        Dialect::Mysql => format!(
            "{} has no IF EXISTS for this rename: check information_schema.{} first, in a stored procedure or in the tool that runs the migration",
            db(cx.dialect),
            if what == "COLUMN" { "columns" } else { "statistics" }
        ),
        Dialect::Generic => format!(
            "check the catalog for {noun} {} before renaming, or let the migration tool's version table make sure it runs once",
            from.shown()
        ),
    });
    f
}
