//! `replay-denied`: the replay sandbox refused a statement.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "replay-denied",
    severity: Severity::Warning,
    origin: Origin::Replay,
    summary: "The replay sandbox refused a statement that would touch files or load code",
    doc: r#"## What it does
Migrations are untrusted input, so replay runs them in a sandbox that never
touches the filesystem or the network: `ATTACH`/`DETACH`, `VACUUM INTO`,
`load_extension()` and pragmas that name files or directories or raise resource
limits are refused. This finding marks such a statement and says why. When it
happens on a migration's first run, the rest of that migration is not replayed.

## Why it matters
Nothing is wrong with the migration as such, but replay could not check it (or
the rest of its migration); a migration that writes files on the database host
also deserves a second look.

## Example
```sql
ATTACH DATABASE '/var/lib/app/archive.db' AS archive;
VACUUM INTO '/tmp/backup.db';
SELECT load_extension('/usr/lib/sqlite3/pcre.so');
```

## Fix
Keep file handling and extension loading in the migration tool's configuration
or in deployment scripts, not in migrations. Where a statement must stay, the
finding can be suppressed.
"#,
    fixable: false,
};
