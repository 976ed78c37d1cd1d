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
        let reason = in_file_coordinates(reason, cx.file.line_col(stmt.span.start));
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
        f.help = Some(match missing_terminator(&reason) {
            Some(next) => format!(
                "a `;` is probably missing before {next}: the next statement was read as part of this one"
            ),
            None => format!(
                "if this is valid {} SQL, replay still checks it; otherwise check that --dialect matches the database the migrations run on",
                super::text::db(cx.dialect)
            ),
        });
        out.push(f);
    }
}

/// `Expected: end of statement, found: DROP at line 3, column 1`: where a
/// statement that lost its terminator meets the next one.
fn missing_terminator(reason: &str) -> Option<String> {
    let rest = reason.split("Expected: end of statement, found: ").nth(1)?;
    let (word, at) = rest.split_once(" at ")?;
    let starts_statement = [
        "CREATE", "DROP", "ALTER", "INSERT", "UPDATE", "DELETE", "SELECT", "WITH", "GRANT",
        "COMMENT", "BEGIN", "COMMIT",
    ]
    .iter()
    .any(|k| word.eq_ignore_ascii_case(k));
    starts_statement.then(|| format!("`{}` ({at})", word.to_ascii_uppercase()))
}

/// sqlparser counts lines and columns from the start of the statement
/// (`... at Line: 2, Column: 1`); say where that is in the file.
fn in_file_coordinates(reason: &str, (line, col): (usize, usize)) -> String {
    let Some(at) = reason.rfind(" at Line: ") else {
        return reason.to_string();
    };
    let pos = &reason[at + " at Line: ".len()..];
    let mut nums = pos
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<usize>().ok());
    let (Some(Some(l)), Some(Some(c))) = (nums.next(), nums.next()) else {
        return reason.to_string();
    };
    if !pos.contains(", Column: ") || l == 0 || c == 0 {
        return reason.to_string();
    }
    let (fl, fc) = if l == 1 {
        (line, col + c - 1)
    } else {
        (line + l - 1, c)
    };
    format!("{} at line {fl}, column {fc}", &reason[..at])
}

#[cfg(test)]
mod tests {
    use super::in_file_coordinates;

    #[test]
    fn positions_are_moved_into_the_file() {
        let r = "sql parser error: Expected: end of statement, found: DROP at Line: 2, Column: 1";
        assert_eq!(
            in_file_coordinates(r, (10, 1)),
            "sql parser error: Expected: end of statement, found: DROP at line 11, column 1"
        );
        assert_eq!(
            in_file_coordinates("x at Line: 1, Column: 5", (3, 4)),
            "x at line 3, column 8"
        );
        assert_eq!(in_file_coordinates("no position", (3, 4)), "no position");
    }
}
