//! `replay-statement-skipped`: a statement replay does not run.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "replay-statement-skipped",
    severity: Severity::Info,
    origin: Origin::Replay,
    summary: "A statement was not run as written during replay (it is explained why)",
    doc: r#"## What it does
A few statements cannot run inside replay's transaction and change neither the
schema nor the data, or only change a connection setting. Replay handles them
itself and says so with this informational finding:

- `VACUUM` is skipped (it rebuilds the database file and cannot run inside a
  transaction).
- `PRAGMA foreign_keys = ...` cannot change inside a transaction; replay applies
  it the way a script run outside a transaction would: a value set before the
  migration's first data or schema statement applies to the whole run (applied
  before the run begins, as asked: no finding), and one set later applies from
  the next migration on (this finding says so).

Transaction statements (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`) are emulated with
savepoints and do not produce this finding.

## Why it matters
It tells you exactly what replay did not check, so a clean report is not read
as more than it is.

## Example
```sql
PRAGMA foreign_keys = OFF;
VACUUM;
```

## Fix
Nothing to fix. Informational findings do not change the exit code.
"#,
    fixable: false,
};
