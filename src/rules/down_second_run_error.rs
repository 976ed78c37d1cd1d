//! `down-second-run-error`: a down migration fails when run again.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "down-second-run-error",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "A statement of a down migration fails when the down runs a second time",
    doc: r#"## What it does
After applying a migration's up and then its down, replay applies the down a
second time and reports every statement that fails, with the database's error
text (`no such table: tags`). The second run is undone afterwards.

## Why it matters
Down migrations are retried as often as up migrations: a rollback interrupted
half-way, run again by hand, or run by a tool that lost track of the version.
A down that fails on a retry leaves the database stuck between two versions.

## Example
```sql
-- 0003_tags.down.sql
DROP TABLE tags;        -- second run: no such table: tags
```

## Fix
Use `DROP TABLE IF EXISTS`, `DROP INDEX IF EXISTS`, `DROP VIEW IF EXISTS`,
`DROP TRIGGER IF EXISTS`, and deletes that match nothing on a second run.
"#,
    fixable: false,
};
