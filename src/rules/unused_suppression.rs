//! `unused-suppression`: a `twice:ignore` comment that silences nothing.
//!
//! Reported by [`crate::suppress::apply`] after the static rules and replay
//! ran, not by a per-statement check.

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "unused-suppression",
    severity: Severity::Warning,
    origin: Origin::Static,
    summary: "A `twice:ignore` comment silences nothing, names an unknown rule or is misspelled",
    doc: r#"## What it does
Reports an inline suppression comment that has no effect:

- a `-- twice:ignore rule-id` (or `/* twice:ignore rule-id */`) whose statement
  has no finding of that rule, or a `twice:ignore` without ids on a statement
  with no findings at all;
- a `-- twice:ignore-file rule-id` in a file with no finding of that rule;
- a `twice:ignore` that is not next to a statement: it must sit on the line
  directly above the statement (other comment lines may come between, a blank
  line may not) or at the end of the statement's first line;
- a rule id that twice does not know, or a misspelled directive such as
  `twice:ingore`.

Suppressions of replay rules are only judged when replay ran on the file
(not with `--no-replay`).

## Why it matters
A suppression outlives the problem it hid: the statement gets fixed, the rule
stops firing, and the comment stays, ready to hide the next real problem in
the same place. A misspelled rule id or directive silences nothing while
looking as if it did.

## Example
```sql
-- twice:ignore create-without-if-not-exists
CREATE TABLE IF NOT EXISTS users (id integer primary key);
```
The statement is already idempotent, so the comment silences nothing.

## Fix
Remove the comment, or the ids in it that no longer apply (the finding
carries this edit as its fix). To keep a file's stale suppressions quiet on purpose, add
`-- twice:ignore-file unused-suppression`; to turn the rule off, set
`unused-suppression = "off"` under `[rules]` in `twice.toml`.

## Fix safety
**Safe**: it removes a comment (or ids in it) that silences nothing; the SQL that runs
is unchanged.
"#,
    fixable: true,
};
