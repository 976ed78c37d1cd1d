//! `down-second-run-change`: a down migration changes more when run again.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "down-second-run-change",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "Running a down migration a second time changes the schema or data again",
    doc: r#"## What it does
After applying a migration's up and then its down, replay applies the down a
second time and compares schema (unified diff of the objects it touched) and
data (rows added, removed or changed in the tables it wrote) with the state
after the first down.

## Why it matters
A down that does more on each run (deleting rows by a condition that now
matches others, re-inserting rows it means to restore) damages data on every
retry of a rollback.

## Example
```sql
-- down: restores a default row, twice
INSERT INTO settings (name, value) VALUES ('theme', 'light');
```

## Fix
Make the down converge: `INSERT ... ON CONFLICT DO NOTHING` with a unique key,
deletes and updates keyed on exactly the rows the up created or changed.
"#,
    fixable: false,
};
