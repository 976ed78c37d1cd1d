//! `syntax-error`: a statement that cannot be read at all (an unterminated
//! string, quoted identifier, comment or dollar-quoted body).

use super::{Context, Rule, RuleMeta};
use crate::analysis::Statement;
use crate::dialect::Dialect;
use crate::finding::{Finding, FindingBuilder, Origin, Severity};
use crate::lexer::LexErrorKind;

pub static META: RuleMeta = RuleMeta {
    id: "syntax-error",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "A statement that cannot be read: an unterminated string, identifier or comment",
    doc: r#"## What it does
Reports a statement that is broken at the level of characters: a string literal, quoted
identifier, block comment or dollar-quoted body that is opened and never closed. Everything
from the opening quote to the end of the file is swallowed, so twice reports where the
statement starts and where the unclosed construct begins.

## Why it matters
The database rejects the statement, and with it every statement the unclosed quote
swallowed. None of the other rules can say anything about that part of the file.

## Example
```sql
-- flagged: the quote in O'Brien ends the string early, the last one is never closed
INSERT INTO authors (name) VALUES ('O'Brien');

-- fixed
INSERT INTO authors (name) VALUES ('O''Brien');
```

## Fix
Close the construct: double a quote inside a string (`'it''s'`), end block comments with
`*/` (in Postgres comments nest, so every `/*` needs its own `*/`), and end a
dollar-quoted body with the same tag that opened it (`$body$ ... $body$`).
"#,
    fixable: false,
};

pub struct SyntaxError;
pub static RULE: SyntaxError = SyntaxError;

impl Rule for SyntaxError {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>) {
        let Some(err) = stmt.lex_error else { return };
        let (line, col) = cx.file.line_col(err.offset);
        let b = FindingBuilder { file: cx.file };
        let mut f = b.at(
            META.id,
            META.severity,
            META.origin,
            stmt.span.clone(),
            format!(
                "this statement cannot be read: the {} that starts at line {line}, column {col} is never closed, so it swallows the rest of the file",
                err.kind.describe().trim_start_matches("unterminated ")
            ),
        );
        f.statement = Some(stmt.index);
        f.help = Some(
            match err.kind {
                LexErrorKind::UnterminatedString => {
                    if cx.dialect == Dialect::Mysql {
                        "close the string; a quote inside a string is written twice ('it''s') or escaped (\\')"
                    } else {
                        "close the string; a quote inside a string is written twice ('it''s')"
                    }
                }
                LexErrorKind::UnterminatedQuotedIdent => {
                    "close the quoted identifier; a quote inside it is written twice"
                }
                LexErrorKind::UnterminatedComment => {
                    if cx.dialect.nested_comments() {
                        "close the comment with `*/`; comments nest here, so every `/*` needs its own `*/`"
                    } else {
                        "close the comment with `*/`"
                    }
                }
                LexErrorKind::UnterminatedDollarQuote => {
                    "close the dollar-quoted body with the same tag that opened it ($$ ... $$, $body$ ... $body$)"
                }
            }
            .to_string(),
        );
        out.push(f);
    }
}
