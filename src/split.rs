//! Splits a script into statements with byte spans.
//!
//! A `;` ends a statement unless it sits in a string, quoted identifier,
//! comment, dollar-quoted body, or in the `BEGIN ... END` body of a trigger,
//! function or procedure. MySQL client `DELIMITER` lines are honoured.

use crate::dialect::Dialect;
use crate::lexer::{LexError, Lexer, Token, TokenKind};
use std::ops::Range;

/// One statement of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawStatement {
    /// From the first to the end of the last significant token, without the
    /// terminating `;` (or delimiter).
    pub span: Range<usize>,
    /// The terminator, when there is one.
    pub terminator: Option<Range<usize>>,
    /// A string or comment that is never closed.
    pub error: Option<LexError>,
    /// The significant tokens of `span` (no whitespace or comments), as the
    /// splitter read them: analysis uses them instead of lexing again.
    pub tokens: Vec<Token>,
}

impl RawStatement {
    /// The span including the terminator.
    pub fn full_span(&self) -> Range<usize> {
        match &self.terminator {
            Some(t) => self.span.start..t.end,
            None => self.span.clone(),
        }
    }
}

/// Splits `text[range]` into statements. Statements that consist only of
/// comments and whitespace are dropped; empty statements (`;;`) too.
pub fn split(text: &str, range: Range<usize>, dialect: Dialect) -> Vec<RawStatement> {
    let mut out = Vec::new();
    let mut lexer = Lexer::new(text, range, dialect);
    let mut cur = Current::default();
    let mut delimiter: Option<String> = None;
    let mut at_line_start = true;
    // Whether the MySQL versioned comment open now began inside a statement.
    let mut versioned_in_statement: Option<bool> = None;

    loop {
        // MySQL client: `DELIMITER //` on its own line between statements.
        if dialect == Dialect::Mysql && cur.start.is_none() && at_line_start {
            if let Some((new_delim, consumed)) = delimiter_directive(lexer.rest()) {
                lexer.seek(lexer.pos() + consumed);
                delimiter = if new_delim == ";" {
                    None
                } else {
                    Some(new_delim)
                };
                continue;
            }
        }
        // psql: a meta-command (`\connect db`, `\set ON_ERROR_STOP on`,
        // `\i file`) on its own line between statements is a client
        // directive, not SQL, and ends at the end of its line.
        if dialect == Dialect::Postgres && cur.start.is_none() && at_line_start {
            if let Some(consumed) = psql_meta_command(lexer.rest()) {
                lexer.seek(lexer.pos() + consumed);
                continue;
            }
        }
        // sqlite3 shell: a dot-command (`.timeout 30000`, `.bail on`,
        // `.headers on`) on its own line between statements is a client
        // directive, not SQL, and ends at the end of its line.
        if dialect == Dialect::Sqlite && cur.start.is_none() && at_line_start {
            if let Some(consumed) = sqlite_dot_command(lexer.rest()) {
                lexer.seek(lexer.pos() + consumed);
                continue;
            }
        }
        // psql: `\g` and its kin (`\gset`, `\gexec`, `\gx`, `\gdesc`,
        // `\watch`, `\crosstabview`) inside a statement send the query
        // buffer as `;` does: the statement ends there, the command (to the
        // end of its line) being its terminator. (Other meta-commands there
        // are rare and stay part of the statement's text.)
        if dialect == Dialect::Postgres && cur.start.is_some() && cur.depth == 0 {
            if let Some((name, consumed)) = psql_inline_meta(lexer.rest()) {
                if psql_sends_buffer(name) {
                    let p = lexer.pos();
                    let lead = consumed - lexer.rest()[..consumed].trim_start().len();
                    lexer.seek(p + consumed);
                    cur.finish(&mut out, Some(p + lead..p + consumed), lexer.error.take());
                    at_line_start = false;
                    continue;
                }
            }
        }
        if let Some(d) = &delimiter {
            if cur.depth == 0 && lexer.rest().starts_with(d.as_str()) {
                let p = lexer.pos();
                lexer.seek(p + d.len());
                cur.finish(&mut out, Some(p..p + d.len()), lexer.error.take());
                at_line_start = false;
                continue;
            }
        }
        let Some(mut tok) = lexer.next() else { break };
        // The mysql client ends a statement at its delimiter wherever it
        // appears outside strings and comments, also inside a word
        // (`END$$`: `$` is an identifier character in MySQL).
        if let Some(d) = &delimiter {
            if matches!(
                tok.kind,
                TokenKind::Word | TokenKind::Punct | TokenKind::Number | TokenKind::Param
            ) {
                if let Some(i) = text[tok.span.clone()].find(d.as_str()).filter(|&i| i > 0) {
                    lexer.seek(tok.span.start + i);
                    tok.span = tok.span.start..tok.span.start + i;
                }
            }
        }
        at_line_start = tok.kind == TokenKind::Whitespace && text[tok.span.clone()].contains('\n')
            || tok.kind == TokenKind::LineComment;
        // A MySQL versioned comment opened inside a statement
        // (`) /*! CHARACTER SET utf8 */;`) is closed inside it too: its
        // `*/` is trivia to the rules, but the server must see it.
        if tok.kind == TokenKind::BlockComment {
            let t = &text[tok.span.clone()];
            if (t.starts_with("/*!") || t.starts_with("/*M!")) && !t.ends_with("*/") {
                versioned_in_statement = Some(cur.start.is_some());
            } else if t == "*/"
                && versioned_in_statement.take() == Some(true)
                && cur.start.is_some()
            {
                cur.end = tok.span.end;
            }
        }
        match tok.kind {
            TokenKind::Whitespace | TokenKind::LineComment | TokenKind::BlockComment => {}
            TokenKind::Semicolon if cur.depth == 0 && delimiter.is_none() => {
                let err = lexer.error.take();
                cur.finish(&mut out, Some(tok.span.clone()), err);
                // psql: `COPY ... FROM stdin;` is followed by its rows, up to
                // a line `\.`: data, not SQL.
                if dialect == Dialect::Postgres
                    && out.last().is_some_and(|s| copy_from_stdin(text, &s.tokens))
                {
                    lexer.seek(lexer.pos() + copy_data_len(lexer.rest()));
                }
            }
            _ => cur.push(text, &tok),
        }
    }
    let err = lexer.error.take();
    cur.finish(&mut out, None, err);
    out
}

/// State of the statement being read.
#[derive(Default)]
struct Current {
    start: Option<usize>,
    end: usize,
    /// The significant tokens read so far.
    tokens: Vec<Token>,
    /// How many leading words were looked at (up to 16), to know whether a
    /// BEGIN opens a body.
    head: usize,
    /// The first word is CREATE.
    create: bool,
    /// Nesting of BEGIN/CASE ... END inside a body.
    depth: usize,
    /// The previous significant word was END.
    prev_end: bool,
    /// The statement creates a trigger, function, procedure or event.
    has_body: bool,
}

fn is(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

impl Current {
    fn push(&mut self, text: &str, tok: &Token) {
        if self.start.is_none() {
            self.start = Some(tok.span.start);
        }
        self.end = tok.span.end;
        self.tokens.push(tok.clone());
        if tok.kind != TokenKind::Word {
            if tok.kind != TokenKind::Punct || &text[tok.span.clone()] != "." {
                self.prev_end = false;
            }
            return;
        }
        let word = &text[tok.span.clone()];
        if self.head < 16 {
            if self.head == 0 {
                self.create = is(word, "CREATE");
            }
            if (self.head == 0 || self.create)
                && ["TRIGGER", "FUNCTION", "PROCEDURE", "EVENT"]
                    .iter()
                    .any(|k| is(word, k))
            {
                self.has_body = true;
            }
            self.head += 1;
        }
        if self.has_body {
            if is(word, "BEGIN") {
                self.depth += 1;
            } else if is(word, "CASE") {
                if self.depth > 0 && !self.prev_end {
                    self.depth += 1;
                }
            } else if is(word, "END") {
                self.depth = self.depth.saturating_sub(1);
            } else if self.prev_end
                && ["IF", "LOOP", "WHILE", "REPEAT", "FOR"]
                    .iter()
                    .any(|k| is(word, k))
            {
                // `END IF`, `END LOOP`, ... close blocks that never counted.
                self.depth += 1;
            }
        }
        self.prev_end = is(word, "END");
    }

    fn finish(
        &mut self,
        out: &mut Vec<RawStatement>,
        terminator: Option<Range<usize>>,
        error: Option<LexError>,
    ) {
        if let Some(start) = self.start {
            out.push(RawStatement {
                span: start..self.end,
                terminator,
                error,
                tokens: {
                    // Exact size: a long script keeps every statement's
                    // tokens, and growth slack would add up to half again.
                    let mut t = std::mem::take(&mut self.tokens);
                    t.shrink_to_fit();
                    t
                },
            });
        } else if let Some(error) = error {
            // An unterminated comment with nothing before it.
            out.push(RawStatement {
                span: error.offset..error.offset,
                terminator: None,
                error: Some(error),
                tokens: Vec::new(),
            });
        }
        *self = Current::default();
    }
}

/// `COPY ... FROM STDIN`: the statement psql feeds the lines after it to.
pub fn copy_from_stdin(text: &str, tokens: &[Token]) -> bool {
    let word = |t: &Token, w: &str| {
        t.kind == TokenKind::Word && text[t.span.clone()].eq_ignore_ascii_case(w)
    };
    tokens.first().is_some_and(|t| word(t, "COPY"))
        && tokens
            .windows(2)
            .any(|p| word(&p[0], "FROM") && word(&p[1], "STDIN"))
}

/// `COPY ... TO STDOUT`: the statement whose rows psql prints.
pub fn copy_to_stdout(text: &str, tokens: &[Token]) -> bool {
    let word = |t: &Token, w: &str| {
        t.kind == TokenKind::Word && text[t.span.clone()].eq_ignore_ascii_case(w)
    };
    tokens.first().is_some_and(|t| word(t, "COPY"))
        && tokens
            .windows(2)
            .any(|p| word(&p[0], "TO") && word(&p[1], "STDOUT"))
}

/// The rows of a `COPY ... FROM stdin` whose terminator ends at `after`:
/// the lines after the terminator's line, up to the end marker `\.` (or
/// the end of the text), as a range of `text`.
pub fn copy_data(text: &str, after: usize) -> std::ops::Range<usize> {
    let rest = text.get(after..).unwrap_or("");
    let Some(first_nl) = rest.find('\n') else {
        return text.len()..text.len();
    };
    let start = after + first_nl + 1;
    let end = after + copy_data_len(rest);
    // Leave out the marker line itself.
    let marker = text[start.min(end)..end]
        .rfind('\n')
        .map_or(start.min(end), |i| start + i + 1);
    if text[marker..end].trim_end_matches('\r') == "\\." {
        start..marker
    } else {
        start..end.max(start)
    }
}

/// The bytes of COPY data at the start of `rest`: the rest of the current
/// line, then every line up to and including the end marker `\.` (to the
/// end of the text when there is none).
fn copy_data_len(rest: &str) -> usize {
    let Some(first_nl) = rest.find('\n') else {
        return rest.len();
    };
    let mut pos = first_nl + 1;
    while pos < rest.len() {
        let line_end = rest[pos..].find('\n').map_or(rest.len(), |i| pos + i);
        let line = rest[pos..line_end].trim_end_matches('\r');
        if line == "\\." {
            return line_end;
        }
        pos = line_end + 1;
    }
    rest.len()
}

/// Recognises a psql meta-command (a backslash command) at the start of
/// `rest` (after optional blanks), returning the bytes it takes (to the end
/// of its line, the line break not included).
fn psql_meta_command(rest: &str) -> Option<usize> {
    let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
    let lead = rest.len() - trimmed.len();
    let after = trimmed.strip_prefix('\\')?;
    if !after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '!' || c == '?') {
        return None;
    }
    let line_end = trimmed.find(['\n', '\r']).unwrap_or(trimmed.len());
    Some(lead + line_end)
}

/// A psql meta-command where the next token would start (after blanks and
/// line breaks): its name (the letters after the backslash) and the bytes
/// it takes to the end of its line. Outside quotes a backslash is not
/// PostgreSQL syntax, so psql reads any as a command.
fn psql_inline_meta(rest: &str) -> Option<(&str, usize)> {
    let first = rest
        .bytes()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))?;
    if rest.as_bytes()[first] != b'\\' {
        return None;
    }
    let consumed = psql_meta_command(rest)?;
    let after = &rest[first + 1..consumed];
    let n = after
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(after.len());
    Some((&after[..n], consumed))
}

/// Whether the psql meta-command `name` sends the query buffer to the server
/// (ends the statement, as `;` does).
fn psql_sends_buffer(name: &str) -> bool {
    matches!(
        name,
        "g" | "gx" | "gset" | "gexec" | "gdesc" | "watch" | "crosstabview"
    )
}

/// Whether a statement ends with psql's `\gexec`: psql runs it, then each
/// value of its result as a statement of its own.
pub fn ends_with_gexec(text: &str, terminator: Option<&Range<usize>>) -> bool {
    terminator
        .and_then(|t| text.get(t.clone()))
        .and_then(|t| t.strip_prefix("\\gexec"))
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Recognises a sqlite3 shell dot-command (a `.` and a letter) at the start
/// of `rest` (after optional blanks), returning the bytes it takes (to the
/// end of its line, the line break not included). No SQL statement starts
/// with a `.`.
fn sqlite_dot_command(rest: &str) -> Option<usize> {
    let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
    let lead = rest.len() - trimmed.len();
    let after = trimmed.strip_prefix('.')?;
    if !after.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let line_end = trimmed.find(['\n', '\r']).unwrap_or(trimmed.len());
    Some(lead + line_end)
}

/// Recognises `DELIMITER x` at the start of `rest` (after optional blanks),
/// returning the new delimiter and the bytes consumed (to the end of line).
fn delimiter_directive(rest: &str) -> Option<(String, usize)> {
    let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
    let lead = rest.len() - trimmed.len();
    if !trimmed
        .as_bytes()
        .get(..9)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"DELIMITER"))
    {
        return None;
    }
    let after = &trimmed[9..];
    if !after.starts_with([' ', '\t']) {
        return None;
    }
    let line_end = after.find(['\n', '\r']).unwrap_or(after.len());
    let delim = after[..line_end].trim();
    if delim.is_empty() {
        return None;
    }
    Some((delim.to_string(), lead + 9 + line_end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str, d: Dialect) -> Vec<&str> {
        split(sql, 0..sql.len(), d)
            .into_iter()
            .map(|s| &sql[s.span])
            .collect()
    }

    /// A versioned comment opened inside a statement is sent whole (the
    /// server reads an unclosed `/*!` as a syntax error); one holding a
    /// whole statement gives its content.
    #[test]
    fn versioned_comments_close_inside_their_statement() {
        let sql =
            "CREATE TABLE a (\n  n bigint /*! unsigned */ NOT NULL\n) /*! CHARACTER SET utf8 */;\n\
                   /*!40014 SET FOREIGN_KEY_CHECKS=0 */;\nDROP TABLE b /* plain */;";
        assert_eq!(
            texts(sql, Dialect::Mysql),
            [
                "CREATE TABLE a (\n  n bigint /*! unsigned */ NOT NULL\n) /*! CHARACTER SET utf8 */",
                "SET FOREIGN_KEY_CHECKS=0",
                "DROP TABLE b",
            ]
        );
    }

    #[test]
    fn copy_from_stdin_data_is_not_sql() {
        let sql = "COPY public.t (a, b) FROM stdin;\n1\tx;y\n2\t'z\n\\.\n\nCOPY u FROM STDIN;\r\n3\r\n\\.\r\nDROP TABLE v;\nCOPY w FROM stdin;\n4\n";
        assert_eq!(
            texts(sql, Dialect::Postgres),
            vec![
                "COPY public.t (a, b) FROM stdin",
                "COPY u FROM STDIN",
                "DROP TABLE v",
                "COPY w FROM stdin"
            ]
        );
    }

    #[test]
    fn copy_data_is_the_rows_before_the_end_marker() {
        let sql = "COPY t FROM stdin;\n1\tx\n2\ty\n\\.\nSELECT 1;";
        let after = sql.find(';').unwrap() + 1;
        assert_eq!(&sql[copy_data(sql, after)], "1\tx\n2\ty\n");
        let open = "COPY t FROM stdin;\n1\n2";
        assert_eq!(&open[copy_data(open, 18)], "1\n2");
        let empty = "COPY t FROM stdin;\n\\.\n";
        assert_eq!(&empty[copy_data(empty, 18)], "");
    }

    #[test]
    fn psql_meta_commands_are_not_statements() {
        let sql = "\\set ON_ERROR_STOP on\nCREATE TABLE a (id int);\n  \\connect other\r\nDROP TABLE b;\nSELECT 1 \\gset\n";
        assert_eq!(
            texts(sql, Dialect::Postgres),
            vec!["CREATE TABLE a (id int)", "DROP TABLE b", "SELECT 1"]
        );
        // Only PostgreSQL has psql.
        assert_eq!(texts(sql, Dialect::Sqlite).len(), 3);
    }

    #[test]
    fn psql_send_commands_end_statements() {
        let sql = "SELECT 1 AS one\n\\gset\nCREATE TABLE a (id int);\nSELECT format('CREATE TABLE %I ()', 'b')\n  \\gexec\nSELECT 2 \\g /dev/null\nSELECT 3\n\\echo hi\nFROM t;\nSELECT E'\\\\gset', '\\g' \\gx\nSELECT 4 \\gsetx\n;\n";
        let stmts = split(sql, 0..sql.len(), Dialect::Postgres);
        let texts: Vec<&str> = stmts.iter().map(|s| &sql[s.span.clone()]).collect();
        assert_eq!(
            texts,
            vec![
                "SELECT 1 AS one",
                "CREATE TABLE a (id int)",
                "SELECT format('CREATE TABLE %I ()', 'b')",
                "SELECT 2",
                "SELECT 3\n\\echo hi\nFROM t",
                "SELECT E'\\\\gset', '\\g'",
                "SELECT 4 \\gsetx",
            ]
        );
        let gexec: Vec<bool> = stmts
            .iter()
            .map(|s| ends_with_gexec(sql, s.terminator.as_ref()))
            .collect();
        assert_eq!(gexec, vec![false, false, true, false, false, false, false]);
        // Only psql has them.
        assert_eq!(texts_of(sql, Dialect::Sqlite).len(), 3);
    }

    fn texts_of(sql: &str, d: Dialect) -> Vec<String> {
        split(sql, 0..sql.len(), d)
            .iter()
            .map(|s| sql[s.span.clone()].to_string())
            .collect()
    }

    #[test]
    fn sqlite3_dot_commands_are_not_statements() {
        let sql = ".timeout 30000\nPRAGMA foreign_keys = ON;\n  .bail on\r\nCREATE TABLE a (x);\n.headers on\nSELECT 1.5;\n";
        assert_eq!(
            texts(sql, Dialect::Sqlite),
            vec![
                "PRAGMA foreign_keys = ON",
                "CREATE TABLE a (x)",
                "SELECT 1.5"
            ]
        );
        // Inside a statement a line starting with `.` is the statement's.
        let sql = "SELECT 1\n.5;\n";
        assert_eq!(texts(sql, Dialect::Sqlite), vec!["SELECT 1\n.5"]);
        // Only SQLite has the sqlite3 shell.
        assert_eq!(texts(".timeout 1\nSELECT 1;", Dialect::Postgres).len(), 1);
    }

    #[test]
    fn splits_on_semicolons_outside_strings_and_comments() {
        let sql =
            "create table a(x text default ';'); -- c;\n/* ; */ insert into a values ('x;y');";
        assert_eq!(
            texts(sql, Dialect::Sqlite),
            vec![
                "create table a(x text default ';')",
                "insert into a values ('x;y')"
            ]
        );
    }

    #[test]
    fn trigger_bodies_keep_their_semicolons() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = CASE WHEN 1 THEN 2 END;\n  DELETE FROM c;\nEND;\nSELECT 1;";
        let t = texts(sql, Dialect::Sqlite);
        assert_eq!(t.len(), 2);
        assert!(t[0].ends_with("END"));
        assert_eq!(t[1], "SELECT 1");
    }

    #[test]
    fn begin_transaction_is_its_own_statement() {
        let sql = "BEGIN; CREATE TABLE a(x); COMMIT;";
        assert_eq!(
            texts(sql, Dialect::Sqlite),
            vec!["BEGIN", "CREATE TABLE a(x)", "COMMIT"]
        );
    }

    #[test]
    fn dollar_quoted_function_bodies() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\nDO $do$ BEGIN PERFORM 1; END $do$;";
        let t = texts(sql, Dialect::Postgres);
        assert_eq!(t.len(), 2);
        assert!(t[1].starts_with("DO $do$"));
    }

    #[test]
    fn postgres_begin_atomic_body() {
        let sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT 3;";
        assert_eq!(texts(sql, Dialect::Postgres).len(), 2);
    }

    #[test]
    fn mysql_delimiter_and_procedures() {
        let sql = "DELIMITER //\nCREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; END //\nDELIMITER ;\nSELECT 2;";
        let t = texts(sql, Dialect::Mysql);
        assert_eq!(t.len(), 2, "{t:?}");
        assert!(t[0].ends_with("END"));
        assert_eq!(t[1], "SELECT 2");
    }

    #[test]
    fn mysql_delimiter_glued_to_a_word() {
        let sql = "DELIMITER $$\nCREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW BEGIN INSERT INTO b VALUES (1); END$$\n\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nCALL p();";
        let s = split(sql, 0..sql.len(), Dialect::Mysql);
        let texts: Vec<&str> = s.iter().map(|r| &sql[r.span.clone()]).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(texts[0].ends_with("END"), "{texts:?}");
        assert!(texts[1].starts_with("CREATE PROCEDURE"), "{texts:?}");
        assert!(texts[1].ends_with("END"), "{texts:?}");
        assert_eq!(texts[2], "CALL p()");
    }

    #[test]
    fn mysql_procedure_without_delimiter() {
        let sql = "CREATE PROCEDURE p() BEGIN IF 1 THEN SELECT 1; END IF; SELECT 2; END; SELECT 3;";
        assert_eq!(texts(sql, Dialect::Mysql).len(), 2);
    }

    #[test]
    fn unterminated_string_reports_its_start() {
        let sql = "SELECT 1;\nSELECT 'abc;\nSELECT 2;";
        let s = split(sql, 0..sql.len(), Dialect::Sqlite);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].error.unwrap().offset, 17);
    }

    #[test]
    fn only_comments_is_no_statement() {
        assert!(split("-- hi\n/* x */\n;;", 0..16, Dialect::Sqlite).is_empty());
    }
}
