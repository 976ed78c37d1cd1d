//! `second-run-data-loss`: the second run removes rows or puts back values
//! written after the first run.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "second-run-data-loss",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "Applying a migration again destroys rows or values written since its first run",
    doc: r#"## What it does
In production a migration does not run twice back to back: it runs, the
application writes for hours or weeks, and then a re-deploy, a lost version
table or a restored backup runs it again. Replay does the same: after the
first run it writes to the tables the migration names as an application would
(a few new rows made like `--seed` rows, with types from the schema and
foreign keys that point at existing rows, and new values in the columns of one
existing row), then runs the migration a second time. A row the second run
removed, or a changed value it put back to what it was before the write, is
this finding, at the statement responsible (the DROP, DELETE or TRUNCATE of
the table, or the UPDATE that resets the column). The notes show sample rows;
the JSON `evidence` carries the table, the rows lost, the values put back and
the statements.

A value put back by an upsert of the migration's own rows (`INSERT ... ON
CONFLICT (key) DO UPDATE`, `ON DUPLICATE KEY UPDATE`, `INSERT OR REPLACE`)
while every other row survives is the weaker `second-run-overwrites`
(warning). Rows the second run changes into something new (a backfill that
recomputes a column), and values an `UPDATE` computes from other data (an
aggregate, a copy of another column) that come back because that data did
not change, are not reported here. This second run is a trial of its own,
after the ordinary one: `second-run-data-change` and the other replay rules
compare the second run with the first on the same rows, without the write.

`--no-interleave` or `[replay] interleave = false` in twice.toml turns the
write between the runs off.

## Why it matters
"Idempotent" in the sense that two runs in a row leave the same state is not
enough. This migration runs twice without an error and leaves the same state
each time, yet a second run in production deletes every setting users saved:
```sql
DROP TABLE IF EXISTS settings;
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO settings VALUES ('theme', 'dark');
```
The same holds for `DELETE FROM t; INSERT INTO t ...` reloads, `TRUNCATE` +
reload, `CREATE TABLE new AS SELECT` + rename swaps and `UPDATE t SET col =
<default>` resets.

## Example
```sql
DELETE FROM plans;
INSERT INTO plans (code, price) VALUES ('free', 0), ('pro', 10);
```

## Fix
Keep what is there: `CREATE TABLE IF NOT EXISTS` instead of DROP + CREATE,
`ALTER TABLE` instead of copying the table and swapping names, and `INSERT
... ON CONFLICT DO NOTHING` (MySQL `INSERT IGNORE`, SQLite `INSERT OR IGNORE`)
instead of emptying the table and loading it again:
```sql
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO settings VALUES ('theme', 'dark') ON CONFLICT (key) DO NOTHING;
```
"#,
    fixable: false,
};
