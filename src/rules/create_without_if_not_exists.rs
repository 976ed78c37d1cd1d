//! `create-without-if-not-exists`: a CREATE that fails (or duplicates) when
//! the migration runs again.

use super::index::{Key, Ns};
use super::text::{cased, db, insert_fix, last_part, with_clause};
use super::{Context, Rule, RuleMeta, Unit};
use crate::analysis::Statement;
use crate::classify::{AlterObjectOp, Create, Kind, ObjectKind, Toks};
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "create-without-if-not-exists",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "CREATE without IF NOT EXISTS or OR REPLACE fails when the migration runs again",
    doc: r#"## What it does
Flags `CREATE TABLE`, `INDEX`, `VIEW`, `MATERIALIZED VIEW`, `TRIGGER`, `VIRTUAL TABLE`,
`SCHEMA`, `SEQUENCE`, `EXTENSION`, `TYPE`, `DOMAIN`, `ROLE`, `USER`, `FUNCTION`,
`PROCEDURE`, `DATABASE`, `POLICY` and the other CREATE statements that have neither
`IF NOT EXISTS` nor `OR REPLACE`, and Postgres `ALTER TYPE ... ADD VALUE` without
`IF NOT EXISTS`. The help line gives the idempotent form that exists in the chosen
dialect for that kind of object.

Not flagged: temporary objects (they disappear with the session), a CREATE that an
earlier statement of the same migration drops (`DROP TABLE IF EXISTS t; CREATE TABLE t`)
or takes away with something it drops (`DROP SCHEMA s CASCADE` before `CREATE TABLE s.t`;
`DROP TABLE t` or `DROP MATERIALIZED VIEW t` before an index, trigger or view on `t`),
an object the migration itself drops or renames away later (a scratch table, SQLite's
table rebuild), and DDL inside a Postgres `DO` block under an existence check
(`IF NOT EXISTS (SELECT ... FROM pg_...)`) or an `EXCEPTION WHEN duplicate_object` handler.

## Why it matters
A migration runs twice more often than anyone plans: a deploy retried after a timeout, a
migration table restored from an old backup, a script applied by hand and then by the
tool. The second run of a plain `CREATE` stops with "already exists", and everything after
it in the migration never runs. Postgres' unnamed `CREATE INDEX ON t (...)` does not even
fail: it quietly adds another identical index on every run.

## Example
```sql
-- flagged
CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL);
CREATE INDEX customers_email ON customers (email);
CREATE VIEW active_customers AS SELECT * FROM customers WHERE active;  -- Postgres

-- idempotent
CREATE TABLE IF NOT EXISTS customers (id integer PRIMARY KEY, email text NOT NULL);
CREATE INDEX IF NOT EXISTS customers_email ON customers (email);
CREATE OR REPLACE VIEW active_customers AS SELECT * FROM customers WHERE active;
```

## Fix
Add `IF NOT EXISTS` after the object keyword, or use `CREATE OR REPLACE` where that is the
dialect's form (Postgres views, functions, procedures; MySQL views). `twice check --fix`
does this where the rewrite is valid in the dialect. Where no such clause exists (Postgres
`TYPE`, `DOMAIN`, `ROLE`, `POLICY`; MySQL `CREATE INDEX`), drop the object first with
`DROP ... IF EXISTS`, or wrap the statement in a `DO` block that checks the catalog or
catches `duplicate_object`.

## Fix safety
**Safe**: `IF NOT EXISTS` and `OR REPLACE` change nothing on a first run, and a second run
of the same text leaves the object as the first run made it. One exception is handled: a
migration its tool runs again *because it changed* (a Flyway repeatable `R__*.sql`,
Flyway callbacks, Liquibase `runOnChange`/`runAlways`). There `CREATE VIEW IF NOT EXISTS`
(or a trigger's, or a materialized view's) would keep the old definition, so `--fix` does
not offer it: views get `CREATE OR REPLACE` where the dialect has it (Postgres, MySQL),
and otherwise the help says to drop the object first (`DROP VIEW IF EXISTS v;`).
"#,
    fixable: true,
};

pub struct CreateWithoutIfNotExists;
pub static RULE: CreateWithoutIfNotExists = CreateWithoutIfNotExists;

impl Rule for CreateWithoutIfNotExists {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        for unit in super::units(stmt) {
            if unit.guarded {
                continue;
            }
            match unit.kind {
                Kind::Create(c) => check_create(cx, &unit, c, out),
                Kind::AlterObject(o) => {
                    let (
                        Some(name),
                        AlterObjectOp::AddValue {
                            value,
                            if_not_exists: false,
                            insert_at,
                        },
                    ) = (&o.name, &o.op)
                    else {
                        continue;
                    };
                    let key = Key::enum_value(name, value);
                    if cx.index().exists_at(stmt.group, &key, None, unit.pos()) == Some(false) {
                        continue;
                    }
                    let t = unit.toks(cx);
                    let ty = name.text(&cx.file.text);
                    let mut f = cx.finding(
                        &META,
                        &unit,
                        format!(
                            "ALTER TYPE {ty} ADD VALUE {value} runs only once: a second run fails with 'enum label {value} already exists'"
                        ),
                    );
                    let clause = cased(t.text(0), " IF NOT EXISTS");
                    f.help = Some(format!("use `ALTER TYPE {ty} ADD VALUE{clause} {value}`"));
                    if cx.dialect == Dialect::Postgres {
                        f.fix = Some(insert_fix(
                            format!("insert `{}`", clause.trim()),
                            *insert_at,
                            clause,
                        ));
                    }
                    out.push(f);
                }
                _ => {}
            }
        }
    }
}

/// The idempotent form a dialect has for creating a kind of object.
enum Form {
    /// `IF NOT EXISTS` after the object keyword. `fix`: valid in every
    /// supported version of the dialect; `note` qualifies the help.
    IfNotExists {
        fix: bool,
        note: Option<&'static str>,
    },
    /// `CREATE OR REPLACE`.
    OrReplace {
        fix: bool,
        note: Option<&'static str>,
    },
    /// No clause: the help explains the ways out.
    None,
}

fn form(d: Dialect, c: &Create) -> Form {
    use ObjectKind::*;
    let ine = |fix| Form::IfNotExists { fix, note: None };
    let orr = |fix| Form::OrReplace { fix, note: None };
    match d {
        Dialect::Sqlite => match c.kind {
            Table | VirtualTable | Index | View | Trigger => ine(true),
            _ => Form::None,
        },
        Dialect::Postgres => match c.kind {
            Index if c.name.is_none() => Form::None,
            Table | ForeignTable | Index | MaterializedView | Sequence | Schema | Extension
            | Collation | Server | Statistics => ine(true),
            UserMapping => ine(true),
            View | Function | Procedure | Rule | Language | Transform => orr(true),
            Aggregate => Form::OrReplace {
                fix: false,
                note: Some("PostgreSQL 12 and later"),
            },
            Trigger => Form::OrReplace {
                fix: false,
                note: Some("PostgreSQL 14 and later"),
            },
            _ => Form::None,
        },
        Dialect::Mysql => match c.kind {
            Table | Database | Schema | Event | User | Role | Sequence | Server => ine(true),
            View => orr(true),
            Trigger | Function | Procedure => Form::IfNotExists {
                fix: false,
                note: Some("MySQL 8.0.29 and later, MariaDB"),
            },
            _ => Form::None,
        },
        Dialect::Generic => Form::None,
    }
}

/// The object's name as the database's error shows it where that is not the
/// case-folded name (PostgreSQL's, `None`): SQLite's as written, quotes
/// included (an index's without them); MySQL's as written, without quotes.
fn shown_name(d: Dialect, c: &Create, written: &str) -> Option<String> {
    let object = last_part(written);
    let unquoted = || crate::classify::unquote(object.trim());
    match d {
        Dialect::Sqlite if c.kind == ObjectKind::Index => Some(unquoted()),
        Dialect::Sqlite => Some(object.trim().to_string()),
        Dialect::Mysql => Some(unquoted()),
        Dialect::Postgres | Dialect::Generic => None,
    }
}

/// What the database says when the object exists already.
fn already_exists(d: Dialect, c: &Create, name: &str, file_text: &str) -> String {
    use ObjectKind::*;
    let noun = c.kind.noun();
    let table = c.table.as_ref().map_or("", |t| t.shown());
    match d {
        Dialect::Sqlite => {
            let n = match c.kind {
                VirtualTable => "table".to_string(),
                _ => noun,
            };
            format!("{n} {name} already exists")
        }
        Dialect::Postgres => match c.kind {
            Table | ForeignTable | Index | View | MaterializedView | Sequence => {
                format!("relation \"{name}\" already exists")
            }
            Type | Domain => format!("type \"{name}\" already exists"),
            Role | User | Group => format!("role \"{name}\" already exists"),
            Function | Procedure | Aggregate => {
                format!("{noun} {name} already exists with same argument types")
            }
            Trigger | ConstraintTrigger => {
                format!("trigger \"{name}\" for relation \"{table}\" already exists")
            }
            Policy => format!("policy \"{name}\" for table \"{table}\" already exists"),
            _ => format!("{noun} \"{name}\" already exists"),
        },
        Dialect::Mysql => match c.kind {
            Table | View => format!("Table '{name}' already exists"),
            Index => format!("Duplicate key name '{name}'"),
            Database | Schema => format!("Can't create database '{name}'; database exists"),
            Trigger => "Trigger already exists".to_string(),
            Function | Procedure => format!("{} {name} already exists", c.kind.sql()),
            User | Role => format!(
                "Operation CREATE {} failed for {}",
                c.kind.sql(),
                c.name.as_ref().map_or(name, |n| n.text(file_text))
            ),
            _ => format!("{noun} {name} already exists"),
        },
        Dialect::Generic => format!("{noun} {name} already exists"),
    }
}

/// The relations a view's query reads: the names after `FROM` and `JOIN`
/// (and after commas in a `FROM` list), from token `from` on.
fn read_relations(t: &Toks, from: usize) -> Vec<crate::classify::Name> {
    let mut out = Vec::new();
    let mut in_from = false;
    let mut i = from;
    while i < t.len() {
        if t.kw_any(i, &["FROM", "JOIN"]) || in_from && t.punct(i, ",") {
            in_from = true;
            if let Some((name, next)) = t.name(i + 1) {
                out.push(name);
                i = next;
                continue;
            }
        } else if t.kw_any(
            i,
            &["WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "UNION", "ON"],
        ) || t.punct(i, ")")
        {
            in_from = false;
        }
        i += 1;
    }
    out
}

fn check_create(cx: &Context, unit: &Unit, c: &Create, out: &mut Vec<Finding>) {
    if c.if_not_exists || c.or_replace || c.temporary {
        return;
    }
    let group = unit.stmt.group;
    if let Some(name) = &c.name {
        let key = Key::object(c.kind, name);
        let parent = c.table.as_ref().map(Key::table);
        if cx
            .index()
            .exists_at(group, &key, parent.as_ref(), unit.pos())
            == Some(false)
        {
            return;
        }
        // What else takes the object with it when dropped earlier in the
        // part (or created afresh): its schema (`DROP SCHEMA s CASCADE`),
        // and for a view the relations it reads (`DROP TABLE t CASCADE`, or
        // `DROP MATERIALIZED VIEW m` under a view built on it).
        let mut owners = Vec::new();
        if let Some(schema) = name.qualifier() {
            owners.push(Key {
                ns: Ns::Schema,
                name: schema.to_string(),
            });
        }
        if matches!(c.kind, ObjectKind::View | ObjectKind::MaterializedView) {
            owners.extend(
                read_relations(&unit.toks(cx), c.head_end)
                    .iter()
                    .map(Key::table),
            );
        }
        if owners
            .iter()
            .any(|o| cx.index().exists_at(group, &key, Some(o), unit.pos()) == Some(false))
        {
            return;
        }
    }
    let t = unit.toks(cx);
    let kind_sql = format!("{}{}", if c.unique { "UNIQUE " } else { "" }, c.kind.sql());
    let Some(name) = &c.name else {
        out.push(unnamed(cx, unit, &t, c, &kind_sql));
        return;
    };
    let written = name.text(&cx.file.text);
    let mut f = cx.finding(
        &META,
        unit,
        format!(
            "CREATE {kind_sql} {written} runs only once: a second run fails with '{}'",
            already_exists(
                cx.dialect,
                c,
                &shown_name(cx.dialect, c, written).unwrap_or_else(|| name.object().to_string()),
                &cx.file.text
            )
        ),
    );
    let create_tok = 0;
    let ine = cased(t.text(create_tok), " IF NOT EXISTS");
    let orr = cased(t.text(create_tok), " OR REPLACE");
    match form(cx.dialect, c) {
        Form::IfNotExists { fix, note } => {
            let stmt = with_clause(&t, create_tok, c.head_end, c.keyword_token, &ine);
            f.help = Some(match note {
                Some(n) => format!("use `{stmt}` ({n}){}", drop_first(cx, c, name)),
                None => format!("use `{stmt}`"),
            });
            if fix {
                f.fix = Some(insert_fix(
                    format!("insert `{}`", ine.trim()),
                    c.if_not_exists_at,
                    ine,
                ));
            }
        }
        Form::OrReplace { fix, note } => {
            let stmt = with_clause(&t, create_tok, c.head_end, create_tok, &orr);
            f.help = Some(match note {
                Some(n) => format!("use `{stmt}` ({n}){}", drop_first(cx, c, name)),
                None => format!("use `{stmt}`"),
            });
            if fix {
                f.fix = Some(insert_fix(
                    format!("insert `{}`", orr.trim()),
                    c.create_span.end,
                    orr,
                ));
            }
        }
        Form::None => f.help = Some(no_form_help(cx, &t, c, written)),
    }
    out.push(f);
}

/// ", or run `DROP TRIGGER IF EXISTS x ON t;` first".
fn drop_first(cx: &Context, c: &Create, name: &crate::classify::Name) -> String {
    let on = match (&c.table, cx.dialect) {
        (Some(t), Dialect::Postgres) => format!(" ON {}", t.text(&cx.file.text)),
        _ => String::new(),
    };
    format!(
        ", or run `DROP {} IF EXISTS {}{on};` first",
        drop_kind(c.kind),
        name.text(&cx.file.text)
    )
}

fn drop_kind(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::ConstraintTrigger => "TRIGGER",
        k => k.sql(),
    }
}

fn no_form_help(cx: &Context, t: &Toks, c: &Create, written: &str) -> String {
    use ObjectKind::*;
    let d = cx.dialect;
    let head = with_clause(t, 0, c.head_end, usize::MAX, "");
    let kind = c.kind.sql();
    match (d, c.kind) {
        (Dialect::Postgres, Type | Domain) => format!(
            "PostgreSQL has no CREATE {kind} IF NOT EXISTS: wrap it in a DO block that ignores the duplicate: `DO $$ BEGIN {head}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;`"
        ),
        (Dialect::Postgres, Role | User | Group) => format!(
            "PostgreSQL has no CREATE {kind} IF NOT EXISTS: guard it in a DO block: `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{}') THEN {head}; END IF; END $$;`",
            c.name.as_ref().map_or("", |n| n.object())
        ),
        (Dialect::Postgres, Policy) => format!(
            "PostgreSQL has no CREATE POLICY IF NOT EXISTS: run `DROP POLICY IF EXISTS {written}{};` first",
            c.table
                .as_ref()
                .map(|t| format!(" ON {}", t.text(&cx.file.text)))
                .unwrap_or_default()
        ),
        (Dialect::Postgres, ConstraintTrigger) => format!(
            "constraint triggers have no OR REPLACE form: run `DROP TRIGGER IF EXISTS {written}{};` first",
            c.table
                .as_ref()
                .map(|t| format!(" ON {}", t.text(&cx.file.text)))
                .unwrap_or_default()
        ),
        (Dialect::Postgres, Database) => {
            "PostgreSQL has no CREATE DATABASE IF NOT EXISTS, and CREATE DATABASE cannot run inside a transaction or a DO block: create databases outside the migrations (or check pg_database from the tool that runs them)".to_string()
        }
        (Dialect::Postgres, _) => format!(
            "PostgreSQL has no IF NOT EXISTS for CREATE {kind}: run `DROP {} IF EXISTS {written};` first, or wrap it in a DO block with `EXCEPTION WHEN duplicate_object THEN NULL`",
            drop_kind(c.kind)
        ),
        (Dialect::Mysql, Index) => format!(
            "MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has: `CREATE {}INDEX IF NOT EXISTS {written} ...`): check information_schema.statistics before creating it, in a stored procedure or in the tool that runs the migration",
            if c.unique { "UNIQUE " } else { "" }
        ),
        (Dialect::Sqlite, _) | (Dialect::Mysql, _) => format!(
            "{} has no IF NOT EXISTS for CREATE {kind}: run `DROP {} IF EXISTS {written};` first, or let the migration tool's version table make sure it runs once",
            db(d),
            drop_kind(c.kind)
        ),
        (Dialect::Generic, View | MaterializedView | Function | Procedure | Trigger) => format!(
            "use `CREATE OR REPLACE {kind} {written} ...` or `CREATE {kind} IF NOT EXISTS {written} ...`, whichever your database has, or run `DROP {} IF EXISTS {written};` first",
            drop_kind(c.kind)
        ),
        (Dialect::Generic, _) => format!(
            "use `CREATE {kind} IF NOT EXISTS {written} ...` if your database has it, or run `DROP {} IF EXISTS {written};` first",
            drop_kind(c.kind)
        ),
    }
}

/// Unnamed objects: Postgres `CREATE INDEX ON t (...)`, `CREATE SCHEMA
/// AUTHORIZATION r`, `CREATE CAST`, `CREATE USER MAPPING`.
fn unnamed(cx: &Context, unit: &Unit, t: &Toks, c: &Create, kind_sql: &str) -> Finding {
    if c.kind == ObjectKind::Index {
        let table = c
            .table
            .as_ref()
            .map_or("the table", |n| n.text(&cx.file.text));
        let mut f = cx.finding(
            &META,
            unit,
            format!(
                "CREATE {kind_sql} ON {table} has no name: every run adds another, duplicate index (PostgreSQL picks a new name each time)"
            ),
        );
        let suggested = suggested_index_name(cx, t, c);
        f.help = Some(format!(
            "name the index and add IF NOT EXISTS: `CREATE {kind_sql} IF NOT EXISTS {suggested} ON {table} (...)`"
        ));
        return f;
    }
    let mut f = cx.finding(
        &META,
        unit,
        format!(
            "CREATE {kind_sql} runs only once: a second run fails because the {} already exists",
            c.kind.noun()
        ),
    );
    let head = with_clause(
        t,
        0,
        c.head_end,
        c.keyword_token,
        &cased(t.text(0), " IF NOT EXISTS"),
    );
    f.help = Some(match form(cx.dialect, c) {
        Form::IfNotExists { .. } => format!("use `{head}`"),
        _ => format!(
            "drop it first with `DROP {} IF EXISTS ...`, or guard it in a DO block that catches duplicate_object",
            c.kind.sql()
        ),
    });
    if matches!(form(cx.dialect, c), Form::IfNotExists { fix: true, .. }) {
        let ine = cased(t.text(0), " IF NOT EXISTS");
        f.fix = Some(insert_fix(
            format!("insert `{}`", ine.trim()),
            c.if_not_exists_at,
            ine,
        ));
    }
    f
}

/// `orders_customer_id_idx` for `CREATE INDEX ON orders (customer_id)`, as
/// Postgres names it.
fn suggested_index_name(cx: &Context, t: &Toks, c: &Create) -> String {
    let table = c.table.as_ref().map_or("t", |n| n.object());
    let open = (c.head_end..t.len()).find(|&k| t.punct(k, "("));
    let mut cols = Vec::new();
    if let Some(o) = open {
        let close = t.close_paren(o);
        for r in t.split_commas(o + 1, close) {
            if let Some(id) = t.ident(r.start) {
                if !t.punct(r.start + 1, "(") {
                    cols.push(id);
                }
            }
        }
    }
    let _ = cx;
    let suffix = if c.unique { "key" } else { "idx" };
    if cols.is_empty() {
        format!("{table}_{suffix}")
    } else {
        format!("{table}_{}_{suffix}", cols.join("_"))
    }
}
