//! `applied-migration-changed`: a migration file that was already committed
//! at the `--since` revision has been edited since. Reported by
//! [`crate::since`], not by a statement check.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "applied-migration-changed",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "A migration that already existed at the --since revision was edited after it",
    doc: r#"## What it does
With `twice check --since REF`, reports every migration file that existed at
the git revision `REF` (so it has most likely been applied where `REF` is
deployed) and whose content differs now. The file is also audited in full,
like a new one.

## Why it matters
Migration tools run each migration once and record that it ran. A database
that applied the old text never runs the new one, so databases drift apart:
new environments get the edited migration, old ones keep the original. Tools
that checksum applied files (Flyway, sqlx, Liquibase) refuse to go on at
all until someone repairs the history by hand. And when a tool is told to
re-apply the edited file, its statements meet objects that already exist:
the classic way a re-run bites.

## Example
`migrations/0003_add_phone.sql` was merged last week; this pull request
edits it:

```sql
-- at origin/main
ALTER TABLE customers ADD COLUMN phone text;
-- in the pull request
ALTER TABLE customers ADD COLUMN phone varchar(20);
```

`twice check --since origin/main migrations/` reports the file.

## Fix
Leave applied migrations as they are and add a new migration that makes the
change (`ALTER TABLE customers ALTER COLUMN phone ...`). If the migration
never ran anywhere (it was merged but not deployed), the finding can be
turned off for this run with `--ignore applied-migration-changed`, or the
comparison can start at a later revision (`--since`).
"#,
    fixable: false,
};
