//! `second-run-data-change`: rows differ after the second run.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "second-run-data-change",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "Applying a migration a second time adds, removes or changes rows",
    doc: r#"## What it does
Replay compares, for every table the second run wrote to, its rows after the
second run with its rows after the first run: rows added, removed and changed
(matched by primary key, or by content for tables without one), with a few
example rows as a diff. The finding points at the statement that wrote them;
the JSON `evidence` carries the table, the counts and the sample rows.

Empty tables hide many data bugs (`INSERT INTO new SELECT * FROM old` copies
nothing twice when `old` is empty): replay fills every table with a few
synthetic rows before each migration (`--no-seed` turns that off). The rows
replay writes between the two runs (see `second-run-data-loss`) are left out
of this comparison, so it judges what the migration does to its own rows.

## Why it matters
A re-run that duplicates seed rows, re-applies a price increase or copies data
again does not fail; it corrupts data quietly. `INSERT ... ON CONFLICT DO
NOTHING` does not help when the table has no unique key for the conflict to
happen on.

## Example
```sql
CREATE TABLE IF NOT EXISTS settings (name TEXT, value TEXT);
INSERT INTO settings (name, value) VALUES ('theme', 'dark')
  ON CONFLICT DO NOTHING;   -- no unique key: a second row on every run
UPDATE products SET price = price * 1.1;   -- 10% more on every run
```

## Fix
Give the table a unique key the insert conflicts on (`name TEXT PRIMARY KEY`),
use `INSERT ... ON CONFLICT (key) DO NOTHING`/`DO UPDATE`, `INSERT ... SELECT
... WHERE NOT EXISTS (...)`, and write updates that set absolute values
(`SET price = 11.00 WHERE price = 10.00`).
"#,
    fixable: false,
};
