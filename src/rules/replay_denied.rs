//! `replay-denied`: the replay sandbox refused a statement.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "replay-denied",
    severity: Severity::Warning,
    origin: Origin::Replay,
    summary: "The replay sandbox refused a statement that reaches beyond the scratch database",
    doc: r#"## What it does
Migrations are untrusted input, so replay runs them in a sandbox that never
reaches beyond its scratch database. On SQLite, `ATTACH`/`DETACH`, `VACUUM INTO`,
`load_extension()` and pragmas that name files or directories or raise resource
limits are refused. On PostgreSQL and MySQL the migrations run as a role (a user)
that owns only the scratch database: what needs more privileges is refused by the
server (SQLSTATE 42501, MySQL errors 1044, 1142, 1227, ...): creating databases,
roles or users, reading or writing server files (`COPY ... PROGRAM`,
`pg_read_file`, `LOAD DATA INFILE`, `SELECT ... INTO OUTFILE`), server settings
(`ALTER SYSTEM`, `SET GLOBAL`), untrusted extensions, other databases' tables.
This finding marks such a statement, with the server's error and what to do.
When it happens on a migration's first run, the rest of that migration is not
replayed.

## Why it matters
Nothing is wrong with the migration as such, but replay could not check it (or
the rest of its migration); a migration that writes files on the database host
also deserves a second look.

## Example
```sql
ATTACH DATABASE '/var/lib/app/archive.db' AS archive;
VACUUM INTO '/tmp/backup.db';
SELECT load_extension('/usr/lib/sqlite3/pcre.so');
-- PostgreSQL, MySQL: the server bootstrap a docker entrypoint script does
CREATE DATABASE reports;
COPY audit FROM PROGRAM 'curl https://example.com/data.csv';
```

## Fix
Keep file handling, extension loading and server bootstrap (databases, roles,
users) in the migration tool's configuration or in deployment scripts, not in
migrations. A prerequisite the migrations need (an extension, a role) can be
given to replay in a setup script (`--setup FILE`, `[replay] setup`), which runs
before the first migration (on twice's own PostgreSQL cluster with the migration
role's rights, the roles it creates made by twice; with `--database-url` as the
URL's role); a migration that itself needs such rights replays only on a
disposable server given with `--database-url` and `--database-url-trusted`.
Where a statement must stay, the finding can be suppressed.
"#,
    fixable: false,
};
