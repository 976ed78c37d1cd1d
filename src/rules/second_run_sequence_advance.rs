//! `second-run-sequence-advance`: reported by the PostgreSQL replay.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "second-run-sequence-advance",
    severity: Severity::Info,
    origin: Origin::Replay,
    summary: "The second run consumes sequence values without changing any row",
    doc: r#"## What it does
Reported by replay on PostgreSQL (`--engine postgres`) when the second run of a
migration leaves every row as it was but moves a sequence forward. twice reads
each sequence's `last_value` before and after the second run; when a sequence
moved and no row of the table that owns it changed, this finding names the
sequence, its table, and the values before and after.

## Why it matters
PostgreSQL takes a value from the sequence before it checks for a conflict, and
sequence values are never rolled back. So `INSERT ... ON CONFLICT DO NOTHING`
into a table with a `serial` or identity key burns an id on every run even
when it inserts nothing. The data stays right, which is why this is only
`info`: ids get gaps, and code or tests that expect dense or predictable ids
(`id = 3` for the third seed row) drift from one deploy to the next. Rows that
do change are reported as `second-run-data-change` instead.

## Example
```sql
CREATE TABLE IF NOT EXISTS accounts (
    id   serial PRIMARY KEY,
    name text UNIQUE NOT NULL
);
-- Idempotent for the rows, but each run advances accounts_id_seq.
INSERT INTO accounts (name) VALUES ('admin') ON CONFLICT (name) DO NOTHING;
```

## Fix
When the gap matters, insert only missing rows, so no default is evaluated:
```sql
INSERT INTO accounts (name)
SELECT 'admin'
WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE name = 'admin');
```
Otherwise leave it: the finding is informational and does not fail
`--fail-on warning` or `--fail-on error`.
"#,
    fixable: false,
};
