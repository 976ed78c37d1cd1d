//! `first-run-error`: a migration does not apply on the state before it.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "first-run-error",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "A migration fails when applied once, on the state the migrations before it left",
    doc: r#"## What it does
Replay applies the migrations of a folder in order on a fresh in-memory
database. This finding marks the statement where a migration (or a down
migration, applied right after its up) failed on its *first* run, with the
database's own error text.

Replay keeps the failed migration's partial work out of the way (it is rolled
back) and carries on with the next migration, so one broken migration does not
hide the findings of the others; later migrations that depend on it may fail too.

## Why it matters
A migration that cannot be applied once will fail the deploy. Typical causes:
the folder order is not the order the migration tool uses, a migration refers to
an object that an earlier migration never created, SQL of another dialect, or
(with `--seed`) a constraint that existing rows violate.

## Example
```sql
-- 0001_orders.sql
ALTER TABLE orders ADD COLUMN note TEXT;   -- no such table: orders
-- 0002_create_orders.sql
CREATE TABLE orders (id INTEGER PRIMARY KEY);
```

## Fix
Apply the migration on the state before it and correct the statement, or fix
the order of the files (check the layout twice detected with the summary line,
and `--layout`). For SQL that SQLite does not understand, give the right
`--dialect`.
"#,
    fixable: false,
};
