//! `second-run-error`: a statement fails when the migration runs again.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "second-run-error",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "A statement fails when its migration is applied a second time",
    doc: r#"## What it does
After applying a migration, replay applies it a second time on the result and
reports every statement that fails, with the database's error text
(`table customers already exists`, `duplicate column name: phone`,
`UNIQUE constraint failed: customers.email`). The second run is undone
afterwards, so the next migration starts from the state a real deploy has.

## Why it matters
Migrations are re-run more often than anyone plans: a deploy that crashed after
applying the SQL but before recording it, a migration table restored from an
old backup, a script applied by hand and then by the tool, Flyway repeatables
and Liquibase `runOnChange` changesets. A statement that fails on the second
run turns each of these into a failed deploy.

## Example
```sql
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT);
ALTER TABLE customers ADD COLUMN phone TEXT;
```
The second run fails twice: `table customers already exists` and
`duplicate column name: phone`.

## Fix
Use the idempotent form of the statement: `CREATE TABLE IF NOT EXISTS`,
`CREATE INDEX IF NOT EXISTS`, `DROP ... IF EXISTS`, `INSERT ... ON CONFLICT DO
NOTHING` (or `INSERT OR IGNORE`). SQLite has no `ADD COLUMN IF NOT EXISTS`:
rebuild the table with `CREATE TABLE IF NOT EXISTS` of its final shape, or make
sure the migration tool records the migration as applied in the same
transaction.
"#,
    fixable: false,
};
