//! `unparsed-statement`: neither sqlparser nor the token-level classifier
//! could say what a statement does.

use super::{Context, Rule, RuleMeta};
use crate::analysis::Statement;
use crate::finding::{Finding, FindingBuilder, Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "unparsed-statement",
    severity: Severity::Info,
    origin: Origin::Static,
    summary: "The static analyser could not understand a statement (replay still checks it)",
    doc: r#"## What it does
Reports, for information, a statement that sqlparser could not parse in the chosen dialect
and that twice's own token-level classifier did not recognise either. The message carries
sqlparser's reason. Statements sqlparser rejects but the classifier understands
(`CREATE TRIGGER IF NOT EXISTS`, `PRAGMA x = ON`, Postgres `DO` blocks, many MySQL and
Postgres forms) are checked normally and are not reported here.

## Why it matters
The static rules say nothing about such a statement, so a non-idempotent statement could
hide there. Replay still runs it twice and reports what it changes. Often the cause is a
wrong `--dialect`, or a client command (`\connect`, `SOURCE`) that is not SQL.

## Example
```sql
-- reported: not SQL the parser knows
FROBNICATE TABLE users;

-- not reported: understood without sqlparser
CREATE TRIGGER IF NOT EXISTS users_touch AFTER UPDATE ON users
BEGIN UPDATE users SET updated_at = 0 WHERE id = new.id; END;
```

## Fix
Check that `--dialect` matches the database the migrations run on. If the statement is
valid there, nothing needs to change: rely on replay, or suppress the finding.
"#,
    fixable: false,
};

pub struct UnparsedStatement;
pub static RULE: UnparsedStatement = UnparsedStatement;

impl Rule for UnparsedStatement {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        if stmt.lex_error.is_some() || stmt.facts.understood() {
            return;
        }
        let Some(reason) = stmt.parse_error() else {
            return;
        };
        let b = FindingBuilder { file: cx.file };
        let mut f = b.at(
            META.id,
            META.severity,
            META.origin,
            stmt.span.clone(),
            format!(
                "the static rules could not read this statement ({}): {reason}",
                cx.dialect
            ),
        );
        f.statement = Some(stmt.index);
        f.help = Some(format!(
            "if this is valid {} SQL, replay still checks it; otherwise check that --dialect matches the database the migrations run on",
            super::text::db(cx.dialect)
        ));
        out.push(f);
    }
}
