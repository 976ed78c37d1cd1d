//! `second-run-schema-change`: the schema differs after the second run.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "second-run-schema-change",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "Applying a migration a second time changes the schema again",
    doc: r#"## What it does
Replay compares the schema after a migration's second run with the schema after
its first run: tables with their columns and constraints, indexes, views and
triggers, normalised (whitespace, comments and identifier quoting do not count)
and shown as a unified diff. Only the objects the second run touched are
compared. A virtual table is compared by its definition: the shadow tables its
module keeps its content in (SQLite's FTS5 `<name>_data`, R*Tree `<name>_node`)
are made and dropped with it and are not listed on their own. The finding points at the statement that made the change.

## Why it matters
A statement that succeeds on a re-run but leaves a different schema is worse
than one that fails: nothing stops the deploy, and the database silently drifts
from what the migrations describe (a column dropped and re-added loses its data,
a view recreated from an older definition, an index created under a new name
each time).

## Example
```sql
DROP VIEW IF EXISTS active_users;
CREATE VIEW active_users AS SELECT * FROM users WHERE active;  -- fine
ALTER TABLE users RENAME TO members;                             -- reruns: no such table
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY);       -- reruns: a new `users`
```

## Fix
Make each statement converge to the same end state: guard renames and drops,
use `IF NOT EXISTS`/`IF EXISTS`, and avoid statements whose effect depends on
whether they ran before.
"#,
    fixable: false,
};
