//! `replay-seed-withdrawn`: twice's own synthetic rows made a first run
//! fail, so replay checked that migration without them.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "replay-seed-withdrawn",
    severity: Severity::Info,
    origin: Origin::Replay,
    summary: "Synthetic rows made a migration's first run fail; it was checked without them",
    doc: r#"## What it does
Replay seeds tables with a few synthetic rows before each migration's first run
(unless `--no-seed` or `[replay] seed = false`), so that copies and relative
updates show what they do on the second run. Those rows are twice's, not yours:
a first run can fail only because of them, e.g. a one-row settings table copied
into a key/value table (a seeded row collides with the migration's own key),
synthetic text in a column the migration reads as JSON, or a foreign key the
migration adds that a synthetic value does not satisfy.

When a first run (or a down migration's first run) fails, or runs longer than
the replay time limit (a migration that waits until a queue table is drained
waits for ever on synthetic rows), while synthetic rows are in the tables
(seeded, or written between an earlier migration's runs), replay deletes every
synthetic row that is still there as it was inserted (a row a migration changed
or copied elsewhere stays) and runs it again. If it now
succeeds, the failure was caused by the synthetic rows: there is no
`first-run-error`, the migration is checked (second run, down checks) without
them, and this informational finding says so, at the statement that failed,
with the error the synthetic rows caused (`seed_error` in the JSON evidence,
`timed_out` when the run ran out of time). If it fails again, that failure is
reported as `first-run-error` (or `replay-timeout`: the run again has the same
time limit), as without seeding. Later migrations are seeded as usual.

## Why it matters
It tells you why a migration was replayed without synthetic rows, and so that a
copy or relative update in it was checked on the rows the earlier migrations
left, not on synthetic ones.

## Example
```sql
-- 001: CREATE TABLE settings (id INTEGER PRIMARY KEY, theme TEXT);
--      INSERT INTO settings (id, theme) VALUES (1, 'dark');
-- 002: the seeded settings rows all become key 'theme'
CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO app_settings (key, value) SELECT 'theme', theme FROM settings;
```

## Fix
Nothing to fix. Informational findings do not change the exit code. If the
error shows a real constraint your production rows could violate too (rows the
application wrote may look like the synthetic ones), make the migration robust
to them.
"#,
    fixable: false,
};
