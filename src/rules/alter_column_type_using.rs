//! `alter-column-type-using`: `ALTER COLUMN c TYPE t USING <expression>`
//! where the expression only makes sense on the old type: a second run
//! applies it to the converted column.

use super::dml::collapse;
use super::index::Key;
use super::{Context, Rule, RuleMeta};
use crate::analysis::Statement;
use crate::classify::{AlterOp, Kind, Toks};
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "alter-column-type-using",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "ALTER COLUMN ... TYPE ... USING an expression of the old value: a second run applies it to the converted column",
    doc: r#"## What it does
Flags PostgreSQL `ALTER TABLE t ALTER [COLUMN] c [SET DATA] TYPE newtype USING expression`
when the expression does more with the column than cast it: it calls a function on it,
compares it, computes with it (`USING c <> 0`, `USING to_timestamp(c)`, `USING c * 100`,
`USING nullif(c, '')::int`, `USING CASE WHEN c = 'Y' THEN true ELSE false END`).

Not flagged: a plain cast of the column (`USING c::bigint`, `USING CAST(c AS uuid)`,
`USING c::text::int`), which gives the same result when applied to a value that already has
the new type; an expression that does not read the column; a column of a table the same
migration created afresh; and the statement inside a `DO` block under a check of the
column's current type.

## Why it matters
The second run finds the column already converted and applies the expression to the new
type: `USING c <> 0` on a boolean fails with "operator does not exist: boolean <> integer",
`USING to_timestamp(c)` on a timestamp fails, and `USING c * 100` silently multiplies the
values a second time.

## Example
```sql
-- flagged
ALTER TABLE items ALTER COLUMN active TYPE boolean USING active <> 0;

-- idempotent: converts only while the column still has the old type
DO $$
BEGIN
  IF (SELECT atttypid FROM pg_attribute
      WHERE attrelid = 'items'::regclass AND attname = 'active') <> 'boolean'::regtype THEN
    ALTER TABLE items ALTER COLUMN active TYPE boolean USING active <> 0;
  END IF;
END $$;
```

## Fix
Run the conversion only while the column has its old type: wrap it in a `DO` block that
compares the column's type (`pg_attribute.atttypid`) with the new one (`'boolean'::regtype`)
first. There is no automatic fix.
"#,
    fixable: false,
};

pub struct AlterColumnTypeUsing;
pub static RULE: AlterColumnTypeUsing = AlterColumnTypeUsing;

impl Rule for AlterColumnTypeUsing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        if !matches!(cx.dialect, Dialect::Postgres | Dialect::Generic) {
            return;
        }
        for unit in super::units(stmt) {
            let Kind::AlterTable(a) = unit.kind else {
                continue;
            };
            if unit.guarded {
                continue;
            }
            let Some(table) = &a.table else { continue };
            let t = unit.toks(cx);
            for act in &a.actions {
                let AlterOp::AlterColumn { name: Some(col) } = &act.op else {
                    continue;
                };
                // The action's tokens.
                let toks: Vec<usize> = (0..t.len())
                    .filter(|&i| {
                        let s = t.span(i);
                        s.start >= act.span.start && s.end <= act.span.end
                    })
                    .collect();
                let (Some(&first), Some(&last)) = (toks.first(), toks.last()) else {
                    continue;
                };
                let Some(using) = (first..=last).find(|&i| t.kw(i, "USING")) else {
                    continue;
                };
                if !(first..using).any(|i| t.kw(i, "TYPE")) {
                    continue;
                }
                let expr = using + 1..last + 1;
                let column = col.object();
                if !reads_column(&t, expr.clone(), column) || only_casts(&t, expr.clone(), column) {
                    continue;
                }
                let key = Key::column(table, column);
                if cx.index().exists_at(
                    stmt.group,
                    &key,
                    Some(&Key::table(table)),
                    act.span.start.max(unit.pos()),
                ) == Some(false)
                {
                    continue;
                }
                let tname = table.text(&cx.file.text);
                let written = collapse(cx.text(t.span_of(expr.clone())));
                let ty = (first..using)
                    .position(|i| t.kw(i, "TYPE"))
                    .map(|p| collapse(cx.text(t.span_of(first + p + 1..using))))
                    .unwrap_or_default();
                let mut f = cx.finding_at(
                    &META,
                    &unit,
                    act.span.clone(),
                    format!(
                        "ALTER TABLE {tname} ALTER COLUMN {} TYPE {ty} USING {} runs only once: a second run applies `{}` to the column it already converted, and fails or converts the values again",
                        col.text(&cx.file.text),
                        super::text::excerpt(&written, 50),
                        super::text::excerpt(&written, 50),
                    ),
                );
                f.help = Some(format!(
                    "convert only while the column has its old type: `DO $$ BEGIN IF (SELECT atttypid FROM pg_attribute WHERE attrelid = '{}'::regclass AND attname = '{}') <> '{}'::regtype THEN ALTER TABLE {tname} ALTER COLUMN {} TYPE {ty} USING {}; END IF; END $$;`",
                    tname.replace('\'', "''"),
                    column.replace('\'', "''"),
                    ty.replace('\'', "''"),
                    col.text(&cx.file.text),
                    super::text::excerpt(&written, 50),
                ));
                out.push(f);
            }
        }
    }
}

/// The expression reads the column (unqualified, or qualified by anything).
fn reads_column(t: &Toks, r: std::ops::Range<usize>, column: &str) -> bool {
    r.filter(|&i| t.is_ident(i) && !t.punct(i + 1, "(") && !t.punct(i + 1, "."))
        .any(|i| t.ident(i).is_some_and(|n| n.eq_ignore_ascii_case(column)))
}

/// `c`, `(c)`, `c::T`, `c::T::U`, `CAST(c AS T)` (also nested casts):
/// applied to a value of the new type, it gives the same value.
fn only_casts(t: &Toks, r: std::ops::Range<usize>, column: &str) -> bool {
    let (mut i, end) = (r.start, r.end.min(t.len()));
    // Strip `CAST(` ... `AS T)` and parentheses around the column.
    let mut opens = 0;
    while i < end && (t.punct(i, "(") || t.kw(i, "CAST") && t.punct(i + 1, "(")) {
        i += if t.punct(i, "(") { 1 } else { 2 };
        opens += 1;
    }
    // The column, possibly qualified.
    let Some((name, mut j)) = t.name(i) else {
        return false;
    };
    if !name.object().eq_ignore_ascii_case(column) {
        return false;
    }
    // Then only type casts, `AS type` and closing parentheses.
    while j < end {
        if t.punct(j, "::") || t.kw(j, "AS") {
            j += 1;
            // A type name: words, `(n)`, `[]`, `.`.
            let mut any = false;
            while j < end
                && (t.is_ident(j) || t.punct(j, ".") || t.punct(j, "[") || t.punct(j, "]"))
            {
                j += 1;
                any = true;
            }
            if t.punct(j, "(") {
                j = t.close_paren(j) + 1;
            }
            if !any {
                return false;
            }
        } else if t.punct(j, ")") && opens > 0 {
            opens -= 1;
            j += 1;
        } else {
            return false;
        }
    }
    true
}
