//! `second-run-overwrites`: the second run's upsert puts back a value
//! written after the first run.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "second-run-overwrites",
    severity: Severity::Warning,
    origin: Origin::Replay,
    summary: "Applying a migration again resets a row the application may have changed since",
    doc: r#"## What it does
Between a migration's first and second run replay writes to the tables the
migration names as an application would (see `second-run-data-loss`). When
every row written survives the second run but a value changed since is put
back by the migration's own write of a fixed row by key (an upsert: `INSERT
... ON CONFLICT (key) DO UPDATE SET value = excluded.value`, MySQL `ON
DUPLICATE KEY UPDATE`, SQLite `INSERT OR REPLACE`, `REPLACE INTO`, `MERGE`;
or an `UPDATE ... WHERE key = ...`), this finding points at that statement.
An `UPDATE` without `WHERE` that resets a column in every row, or a table
emptied and loaded again, is `second-run-data-loss` instead. The JSON `evidence` carries the table, the rows and the columns
put back.

## Why it matters
It is weaker than `second-run-data-loss`: nothing is deleted, and the upsert
may be meant to own the value (a version number, a feature flag the migration
controls). But when the application or its users may change the value, a
re-run silently puts the migration's value back: a user's theme, a price an
operator edited, a limit raised by support.

## Example
```sql
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO settings VALUES ('theme', 'dark')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;
```

## Fix
If the value belongs to the application once written, insert the row only
when it is missing, and change it only while it still holds the old value:
```sql
INSERT INTO settings VALUES ('theme', 'dark') ON CONFLICT (key) DO NOTHING;
UPDATE settings SET value = 'light' WHERE key = 'theme' AND value = 'dark';
```
Keep `DO UPDATE` for values the migration owns, and suppress the finding on
that statement with a reason.
"#,
    fixable: false,
};
