//! `replay-timeout`: a statement ran past the replay time limit.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "replay-timeout",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "A statement ran longer than the replay time limit (--timeout) and was stopped",
    doc: r#"## What it does
Replay gives every statement a time limit (`--timeout`, 5 seconds by default)
and stops a statement that runs longer, for example a recursive query without an
end. The finding names the limit. When it happens on a migration's first run,
the rest of that migration is not replayed.

## Why it matters
Replay runs on a nearly empty in-memory database; a statement that needs
seconds there will likely run for a very long time, or forever, in production.

## Example
```sql
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
SELECT count(*) FROM c;
```

## Fix
Give recursive queries a bound (`WHERE x < 1000`) and batch large data
migrations. If the statement is fine but slow, raise `--timeout`.
"#,
    fixable: false,
};
