//! `malformed-migration`: a file the migration tool itself would refuse.
//! Reported by discovery (see [`crate::layout`]), not by a statement check.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "malformed-migration",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "The migration tool would refuse this file (missing section marker, duplicate version, bad name)",
    doc: r#"## What it does
Reports what the tool that runs the folder refuses before running any SQL,
as twice reads the folder the way that tool does:

- dbmate: no `-- migrate:up` or no `-- migrate:down` line, the down marker
  before the up marker, statements before `-- migrate:up`;
- goose: no `-- +goose Up`, statements before it, `Down` before `Up`, an
  unclosed `-- +goose StatementBegin`, a statement missing its final `;`;
- Flyway, golang-migrate, sqlx, goose, dbmate, diesel, pop: two migrations
  with the same version, a version that is not a number;
- Liquibase: a `--changeset` line that is not `author:id`, the same
  changeset twice, SQL outside any changeset.

## Why it matters
The tool stops at such a file, so nothing after it runs: the deployment
fails however idempotent the statements are. twice still checks the SQL in
the file as well as it can read it.

## Example
```sql
-- 20240101120000_add_users.sql in a dbmate folder
CREATE TABLE users (id INTEGER PRIMARY KEY);
```

## Fix
Follow the tool's format, here:

```sql
-- migrate:up
CREATE TABLE users (id INTEGER PRIMARY KEY);

-- migrate:down
DROP TABLE users;
```
"#,
    fixable: false,
};
