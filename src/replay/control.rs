//! Transaction control inside migrations, recognised from the text of a
//! piece so it can be emulated instead of run.
//!
//! Replay keeps every run inside its own transaction. A migration's own
//! `BEGIN`/`COMMIT`/`ROLLBACK` would break that (a `COMMIT` would make a
//! second run permanent), so the algorithm emulates them with a savepoint
//! nested in replay's transaction. `SAVEPOINT`, `RELEASE` and `ROLLBACK TO`
//! nest naturally and run as they are. Which statement is which is
//! [`crate::classify::control::transaction_control`]'s to say.

use crate::classify::{control::transaction_control, Transaction};
use crate::dialect::Dialect;
use crate::lexer::TokenKind;
use std::ops::Range;

/// A transaction-control statement replay takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// `BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION]`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END` (with optional `TRANSACTION`/`WORK`).
    Commit,
    /// `ROLLBACK` or `ABORT` without `TO`.
    Rollback,
}

impl Control {
    /// The transaction statements replay takes over: savepoints
    /// (`SAVEPOINT`, `RELEASE`, `ROLLBACK TO`) nest in replay's transaction
    /// and run as they are, and two-phase commit is the database's to
    /// accept or refuse.
    pub fn of(t: Transaction) -> Option<Control> {
        match t {
            Transaction::Begin => Some(Control::Begin),
            Transaction::Commit => Some(Control::Commit),
            Transaction::Rollback => Some(Control::Rollback),
            Transaction::RollbackTo
            | Transaction::Savepoint
            | Transaction::Release
            | Transaction::Other => None,
        }
    }
}

/// The first piece of `text` when it is a simple statement that needs no
/// engine to delimit it: from its first significant token to (not including)
/// the first `;`. Returns the piece's range, the offset just past its `;` (or
/// the end of the text), and the piece's leading tokens, words upper-cased
/// (at most sixteen, as [`transaction_control`] reads them).
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
        if words.len() < 16 {
            words.push(if t.kind == TokenKind::Word {
                text[t.span.clone()].to_ascii_uppercase()
            } else {
                text[t.span.clone()].to_string()
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
    crate::classify::control::LEADING_WORDS.contains(&word)
}

/// The control statement a piece is, from its leading tokens (see
/// [`simple_piece`]), if replay takes it over.
pub fn classify<S: AsRef<str>>(words: &[S]) -> Option<Control> {
    let words: Vec<&str> = words.iter().map(AsRef::as_ref).collect();
    transaction_control(&words).and_then(Control::of)
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
