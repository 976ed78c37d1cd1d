//! `replay-resource-limit`: a statement hit a sandbox memory or size limit.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "replay-resource-limit",
    severity: Severity::Warning,
    origin: Origin::Replay,
    summary: "A statement hit the replay sandbox's memory ceiling or value size limit",
    doc: r#"## What it does
Replay caps the memory the database may use and the size of a single string or
blob (64 MiB), so that a migration cannot exhaust the machine. A statement that
hits one of these limits is stopped and marked with this finding. When it
happens on a migration's first run, the rest of that migration is not replayed.

## Why it matters
Replay could not check the statement. A migration that builds values this large
on an almost empty database is also likely to be a problem in production.

## Example
```sql
SELECT randomblob(900000000);
```

## Fix
Build large values incrementally or outside migrations; suppress the finding if
the statement is intended.
"#,
    fixable: false,
};
