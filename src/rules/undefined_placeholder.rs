//! `undefined-placeholder`: a `${name}` placeholder with no value.
//! Reported by discovery (see [`crate::placeholder`]), not by a statement
//! check.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "undefined-placeholder",
    severity: Severity::Error,
    origin: Origin::Static,
    summary:
        "A `${name}` placeholder has no value, so the statement cannot be checked or run as written",
    doc: r#"## What it does
Flags `${name}` placeholders that no `--define name=value` gives a value to.

Flyway and Liquibase substitute `${name}` anywhere in a migration (strings
and comments included) before running it, and goose does in
`-- +goose ENVSUB ON` sections: there every undefined placeholder is
flagged. Other tools never substitute, so there only a `${name}` where SQL
code goes is flagged (inside a string it is plain data). Flyway's built-in
placeholders (`${flyway:defaultSchema}`, `${flyway:user}`,
`${flyway:timestamp}`, ...) are always defined in Flyway folders.

Template actions where SQL code goes (`{{.FlagInvalid}}`, `{{ schema }}`:
SQL an application fills in with Go's `text/template` or Jinja before it
runs it) are flagged the same way, in every layout; inside a string or a
comment they are data. `--define FlagInvalid=4` fills `{{.FlagInvalid}}`.

In PostgreSQL files, psql variables where SQL code goes (`:name`,
`:'name'` for a string literal, `:"name"` for a quoted identifier) are
flagged the same way when nothing gives them a value: Sqitch runs its
PostgreSQL changes through psql with its `--set` variables, psql scripts
`\set` their own, and graphile-migrate fills its `.gmrc` placeholders
written `:NAME`. A file's `\set name value` lines give values (one set
from a shell command in backticks gives none); casts (`x::text`), `:=`,
array slices and colons in strings, comments and bodies are not variables.
`--define name=value` fills `:name` (the name without its colon), quoted
as the form asks.

## Why it matters
twice replays migrations and parses their statements after substitution. A
placeholder left in the text is not SQL: without this finding the statement
would show up as a confusing syntax error, or replay would run something
other than what the migration tool runs (Flyway stops with "No value
provided for placeholder", Liquibase runs the literal text, goose puts an
empty string in its place).

## Example
```sql
-- V3__grants.sql, checked without --define
CREATE TABLE ${schema}.audit (id INTEGER PRIMARY KEY);
```

## Fix
Give twice the values the migration tool uses:

```sh
twice check --define schema=public db/migration
```

`--define` is repeatable. While a placeholder stays undefined where code
goes, twice checks the statement with the placeholder replaced by a quoted
identifier of its name, and replay leaves the statement out.
"#,
    fixable: false,
};
