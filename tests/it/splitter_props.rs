//! Property tests for the lexer and the statement splitter: on any input they
//! never panic, their spans are in order and do not overlap, and the
//! statements together with the gaps between them reproduce the input
//! byte for byte, with nothing but blanks, comments and terminators in the gaps.

use proptest::prelude::*;
use twice::dialect::Dialect;
use twice::lexer::{Lexer, TokenKind};
use twice::split::split;

/// SQL-ish fragments that exercise every lexer state, mixed with arbitrary text.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(";".to_string()),
        Just("'".to_string()),
        Just("''".to_string()),
        Just("\"".to_string()),
        Just("`".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("--".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just("$$".to_string()),
        Just("$tag$".to_string()),
        Just("$1".to_string()),
        Just("\\".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("E'".to_string()),
        Just("#".to_string()),
        Just("DELIMITER //\n".to_string()),
        Just("//".to_string()),
        Just("CREATE TRIGGER t AFTER INSERT ON a ".to_string()),
        Just("CREATE PROCEDURE p() ".to_string()),
        Just("BEGIN".to_string()),
        Just("END".to_string()),
        Just("CASE".to_string()),
        Just("END IF".to_string()),
        Just("SELECT 1".to_string()),
        Just("é€😀".to_string()),
        "[a-zA-Z_ ]{1,8}",
        any::<String>(),
    ]
}

fn script() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..40).prop_map(|v| v.concat())
}

fn dialect() -> impl Strategy<Value = Dialect> {
    prop::sample::select(Dialect::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn tokens_cover_the_input_exactly(sql in script(), d in dialect()) {
        let mut pos = 0;
        for tok in Lexer::new(&sql, 0..sql.len(), d) {
            prop_assert_eq!(tok.span.start, pos);
            prop_assert!(tok.span.end > tok.span.start);
            prop_assert!(sql.is_char_boundary(tok.span.end));
            pos = tok.span.end;
        }
        prop_assert_eq!(pos, sql.len());
    }

    #[test]
    fn statement_tokens_are_the_tokens_of_their_span(sql in script(), d in dialect()) {
        // Analysis reuses the splitter's tokens instead of lexing each
        // statement again: they must be what lexing the span gives.
        for s in split(&sql, 0..sql.len(), d) {
            let relexed = twice::lexer::significant_tokens(&sql, s.span.clone(), d);
            prop_assert_eq!(&s.tokens, &relexed, "statement {:?}", &sql[s.span.clone()]);
        }
    }

    #[test]
    fn statements_and_gaps_reproduce_the_input(sql in script(), d in dialect()) {
        let stmts = split(&sql, 0..sql.len(), d);
        let mut rebuilt = String::new();
        let mut pos = 0;
        let mut prev_copy = false;
        for s in &stmts {
            let full = s.full_span();
            prop_assert!(full.start >= pos, "spans overlap or go backwards");
            prop_assert!(full.end <= sql.len());
            prop_assert!(s.span.start <= s.span.end);
            prop_assert!(sql.is_char_boundary(full.start) && sql.is_char_boundary(full.end));
            let gap = &sql[pos..full.start];
            // Nothing significant is lost between statements (MySQL's
            // DELIMITER lines are client directives and may sit there).
            // After psql's `COPY ... FROM stdin;` come its data rows.
            let after_copy = d == Dialect::Postgres
                && prev_copy;
            prev_copy = {
                let t = sql[s.span.clone()].to_ascii_uppercase();
                t.starts_with("COPY") && t.contains("STDIN")
            };
            if d != Dialect::Mysql && !after_copy {
                // psql meta-commands (`\connect db`) are client directives
                // too, each on its own line: blank them out, keeping the
                // line breaks, before looking at what is left.
                // The sqlite3 shell's dot-commands (`.timeout 30000`) are
                // likewise, with `--dialect sqlite`.
                let gap_text: String = if d == Dialect::Postgres || d == Dialect::Sqlite {
                    gap.split_inclusive('\n')
                        .map(|line| {
                            // (As the splitter reads them: a backslash and
                            // a letter, `!` or `?`; `\//` is no command; a
                            // `.` and a letter for the sqlite3 shell.)
                            let body = line.trim_start_matches([' ', '\t', '\r']);
                            let command = if d == Dialect::Postgres {
                                body.strip_prefix('\\').is_some_and(|a| {
                                    a.starts_with(|c: char| {
                                        c.is_ascii_alphabetic() || c == '!' || c == '?'
                                    })
                                })
                            } else {
                                body.strip_prefix('.')
                                    .is_some_and(|a| a.starts_with(|c: char| c.is_ascii_alphabetic()))
                            };
                            if command {
                                line.chars()
                                    .map(|c| if c == '\n' || c == '\r' { c } else { ' ' })
                                    .collect()
                            } else {
                                line.to_string()
                            }
                        })
                        .collect()
                } else {
                    gap.to_string()
                };
                for tok in Lexer::new(&gap_text, 0..gap_text.len(), d) {
                    prop_assert!(
                        tok.kind.is_trivia() || tok.kind == TokenKind::Semicolon,
                        "significant token {:?} {:?} in a gap", tok.kind, &gap_text[tok.span.clone()]
                    );
                }
            }
            rebuilt.push_str(gap);
            rebuilt.push_str(&sql[full.clone()]);
            pos = full.end;
        }
        rebuilt.push_str(&sql[pos..]);
        prop_assert_eq!(rebuilt, sql);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), d in dialect()) {
        let text = String::from_utf8_lossy(&bytes);
        let stmts = split(&text, 0..text.len(), d);
        for s in stmts {
            prop_assert!(s.full_span().end <= text.len());
        }
    }
}
