//! `down-does-not-revert`: up + down leaves a different schema.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "down-does-not-revert",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "A down migration does not bring the schema back to what it was before its up",
    doc: r#"## What it does
For migrations with a down part (golang-migrate and sqlx `.down.sql`, diesel
`down.sql`, dbmate and goose down sections, Flyway `U` files, Liquibase
`--rollback`), replay applies the up, then the down, and compares the schema
with the schema before the up: every object the up or the down touched, as a
unified diff. `--no-down` skips down checks. A column the up drops and the
down adds back comes back at the end of the table; neither PostgreSQL nor
SQLite can add one at a position, so a table whose columns and constraints
differ only in their order counts as reverted.

## Why it matters
A rollback that leaves a table, an index or a column behind makes the next
`migrate up` fail (`table already exists`) exactly when you are recovering from
an incident, and leaves a schema no migration describes.

## Example
```sql
-- 0003_tags.up.sql
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT);
CREATE INDEX tags_name ON tags (name);
-- 0003_tags.down.sql
DROP INDEX tags_name;          -- the table stays
```

## Fix
Make the down undo everything the up does, in reverse order (`DROP TABLE IF
EXISTS tags;`). If a migration is deliberately irreversible, say so in a down
that fails with a clear message instead of one that half-reverts.
"#,
    fixable: false,
};
