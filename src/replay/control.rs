//! Transaction control inside migrations, recognised from the text of a
//! piece so it can be emulated instead of run.
//!
//! Replay keeps every run inside its own transaction. A migration's own
//! `BEGIN`/`COMMIT`/`ROLLBACK` would break that (a `COMMIT` would make a
//! second run permanent), so the algorithm emulates them with a savepoint
//! nested in replay's transaction. `SAVEPOINT`, `RELEASE` and `ROLLBACK TO`
//! nest naturally and run as they are.

use crate::dialect::Dialect;
use crate::lexer::TokenKind;
use std::ops::Range;

/// A transaction-control statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// `BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION]`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END` (with optional `TRANSACTION`/`WORK`).
    Commit,
    /// `ROLLBACK` or `ABORT` without `TO`.
    Rollback,
}

/// The first piece of `text` when it is a simple statement that needs no
/// engine to delimit it: from its first significant token to (not including)
/// the first `;`. Returns the piece's range, the offset just past its `;` (or
/// the end of the text), and the piece's leading words, upper-cased (at most
/// four).
pub fn simple_piece(text: &str, dialect: Dialect) -> Option<(Range<usize>, usize, Vec<String>)> {
    let mut lexer = crate::lexer::Lexer::new(text, 0..text.len(), dialect);
    let mut start = None;
    let mut last_end = 0;
    let mut next = text.len();
    let mut words = Vec::new();
    for t in lexer.by_ref().filter(|t| !t.kind.is_trivia()) {
        if t.kind == TokenKind::Semicolon {
            next = t.span.end;
            break;
        }
        if start.is_none() {
            if t.kind != TokenKind::Word {
                return None;
            }
            start = Some(t.span.start);
        }
        if words.len() < 4 {
            words.push(if t.kind == TokenKind::Word {
                text[t.span.clone()].to_ascii_uppercase()
            } else {
                String::new()
            });
        }
        last_end = t.span.end;
    }
    Some((start?..last_end, next, words))
}

/// The leading word of `text`, upper-cased, if it starts (after trivia) with one.
pub fn leading_word(text: &str, dialect: Dialect) -> Option<String> {
    let mut lexer = crate::lexer::Lexer::new(text, 0..text.len(), dialect);
    let tok = lexer.find(|t| !t.kind.is_trivia())?;
    (tok.kind == TokenKind::Word).then(|| text[tok.span].to_ascii_uppercase())
}

/// Words that may start a statement [`classify`] or an engine's
/// `special` handles; only pieces starting with one of these are delimited
/// with [`simple_piece`].
pub fn is_control_word(word: &str) -> bool {
    matches!(
        word,
        "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "START" | "ABORT"
    )
}

/// Classifies a simple piece from its leading words.
pub fn classify(words: &[String]) -> Option<Control> {
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match w(0) {
        "BEGIN" => Some(Control::Begin),
        "START" if w(1) == "TRANSACTION" => Some(Control::Begin),
        "COMMIT" | "END" => Some(Control::Commit),
        "ROLLBACK" | "ABORT" => {
            // ROLLBACK [TRANSACTION|WORK] TO [SAVEPOINT] name: a savepoint
            // rollback, which runs as it is.
            let to = (1..words.len()).any(|i| w(i) == "TO");
            (!to).then_some(Control::Rollback)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(s: &str) -> (String, usize, Option<Control>) {
        let (r, next, words) = simple_piece(s, Dialect::Sqlite).unwrap();
        (s[r].to_string(), next, classify(&words))
    }

    #[test]
    fn recognises_transaction_statements() {
        assert_eq!(
            piece("  BEGIN IMMEDIATE TRANSACTION; CREATE TABLE t(x)"),
            (
                "BEGIN IMMEDIATE TRANSACTION".into(),
                30,
                Some(Control::Begin)
            )
        );
        assert_eq!(piece("commit").2, Some(Control::Commit));
        assert_eq!(piece("END TRANSACTION").2, Some(Control::Commit));
        assert_eq!(piece("rollback").2, Some(Control::Rollback));
        assert_eq!(piece("ROLLBACK TO SAVEPOINT a").2, None);
        assert_eq!(piece("ROLLBACK TRANSACTION TO a").2, None);
        assert_eq!(piece("START TRANSACTION").2, Some(Control::Begin));
        assert_eq!(piece("SAVEPOINT a").2, None);
    }

    #[test]
    fn comments_and_strings_do_not_end_a_piece() {
        let (text, next, _) = piece("/* x; */ VACUUM INTO 'a;b'; SELECT 1");
        assert_eq!(text, "VACUUM INTO 'a;b'");
        assert_eq!(next, 27);
    }

    #[test]
    fn leading_word_skips_comments() {
        assert_eq!(
            leading_word("-- hi\n  pragma x", Dialect::Sqlite).as_deref(),
            Some("PRAGMA")
        );
        assert_eq!(leading_word("(select 1)", Dialect::Sqlite), None);
    }
}
