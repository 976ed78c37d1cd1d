//! Transaction control, PRAGMA and SET.
//!
//! [`transaction_control`] is twice's one recogniser of transaction control:
//! the classifier, the SQLite engine's emulation of a migration's own
//! transactions and the PostgreSQL engine's take-over of them all ask it.

use super::*;

/// Words that may start a transaction-control statement (upper case); a
/// statement starting with another word is none.
pub const LEADING_WORDS: [&str; 9] = [
    "BEGIN",
    "START",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT",
    "RELEASE",
    "PREPARE",
];

/// Whether PostgreSQL refuses the statement inside a transaction block
/// (SQLSTATE 25001): `CREATE`/`DROP INDEX CONCURRENTLY`, `REINDEX
/// CONCURRENTLY`, `VACUUM`, `CREATE`/`DROP DATABASE` and `TABLESPACE`,
/// `CREATE`/`DROP SUBSCRIPTION`, `REINDEX DATABASE`/`SYSTEM`, `ALTER SYSTEM`,
/// `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY` and a bare `CLUSTER`.
/// `words` as for [`transaction_control`] (12 are enough). Replay runs such
/// statements in autocommit mode where the migration tool would (and
/// reports their refusal where the tool wraps the migration in a
/// transaction); Flyway finds them itself (`Layout::runs_refused_outside`).
pub fn refused_in_transaction(words: &[&str]) -> bool {
    let first = words.first().copied().unwrap_or("");
    let has = |s: &str| words.contains(&s);
    let second = words.get(1).copied();
    match first {
        "VACUUM" => true,
        "CREATE" | "DROP" | "REINDEX" if has("CONCURRENTLY") => true,
        "CREATE" | "DROP" => matches!(second, Some("DATABASE" | "TABLESPACE" | "SUBSCRIPTION")),
        "REINDEX" => matches!(second, Some("DATABASE" | "SYSTEM")),
        "ALTER" if second == Some("SYSTEM") => true,
        "ALTER" => second == Some("TABLE") && has("DETACH") && has("CONCURRENTLY"),
        "CLUSTER" => words.len() == 1 || second == Some(";"),
        _ => false,
    }
}

/// What a statement does to transactions, from its leading tokens: `words`
/// are its significant tokens in order, words upper-cased and other tokens
/// as written (16 are enough; a terminating `;` may be included or not).
/// `None`: it is no transaction control, which includes a `BEGIN ... END`
/// block (a PL/pgSQL or MySQL/MariaDB compound statement, `BEGIN ATOMIC`,
/// `BEGIN NOT ATOMIC`), an `END IF`/`END LOOP` of a body, `START SLAVE`,
/// and `PREPARE name AS ...`.
///
/// - `BEGIN [TRANSACTION|WORK] [modes]` (SQLite `DEFERRED`, `IMMEDIATE`,
///   `EXCLUSIVE`; PostgreSQL `ISOLATION LEVEL ...`, `READ WRITE|ONLY`,
///   `[NOT] DEFERRABLE`), `START TRANSACTION [modes]`: [`Transaction::Begin`];
/// - `COMMIT [WORK|TRANSACTION] [AND [NO] CHAIN] [[NO] RELEASE]`,
///   `END [WORK|TRANSACTION] [AND [NO] CHAIN]`: [`Transaction::Commit`];
/// - `ROLLBACK`/`ABORT [WORK|TRANSACTION] [AND [NO] CHAIN]`:
///   [`Transaction::Rollback`]; `ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT]
///   x`: [`Transaction::RollbackTo`];
/// - `SAVEPOINT x`: [`Transaction::Savepoint`]; `RELEASE [SAVEPOINT] x`:
///   [`Transaction::Release`];
/// - two-phase commit (`PREPARE TRANSACTION 'x'`, `COMMIT PREPARED 'x'`,
///   `ROLLBACK PREPARED 'x'`): [`Transaction::Other`].
pub fn transaction_control(words: &[&str]) -> Option<Transaction> {
    let words: Vec<&str> = words.iter().copied().filter(|w| *w != ";").collect();
    let w = |i: usize| words.get(i).copied().unwrap_or("");
    // What may follow BEGIN (or START TRANSACTION) in a transaction
    // statement: anything else makes it a block.
    let mode = |x: &str| {
        matches!(
            x,
            "TRANSACTION"
                | "WORK"
                | "DEFERRED"
                | "IMMEDIATE"
                | "EXCLUSIVE"
                | "ISOLATION"
                | "LEVEL"
                | "READ"
                | "WRITE"
                | "ONLY"
                | "COMMITTED"
                | "UNCOMMITTED"
                | "REPEATABLE"
                | "SERIALIZABLE"
                | "NOT"
                | "DEFERRABLE"
                | ","
        )
    };
    // What may follow COMMIT, END, ROLLBACK or ABORT.
    let ending = |x: &str| {
        matches!(
            x,
            "TRANSACTION" | "WORK" | "AND" | "NO" | "CHAIN" | "RELEASE"
        )
    };
    let rest = || words.iter().skip(1).copied();
    match w(0) {
        "BEGIN" if rest().all(mode) => Some(Transaction::Begin),
        "START" if w(1) == "TRANSACTION" => Some(Transaction::Begin),
        "COMMIT" | "ROLLBACK" if w(1) == "PREPARED" => Some(Transaction::Other),
        "PREPARE" if w(1) == "TRANSACTION" => Some(Transaction::Other),
        "ROLLBACK" if rest().any(|x| x == "TO") => Some(Transaction::RollbackTo),
        "COMMIT" | "END" if rest().all(ending) => Some(Transaction::Commit),
        "ROLLBACK" | "ABORT" if rest().all(ending) => Some(Transaction::Rollback),
        "SAVEPOINT" if words.len() > 1 => Some(Transaction::Savepoint),
        "RELEASE" if words.len() > 1 => Some(Transaction::Release),
        _ => None,
    }
}

impl<'a> Toks<'a> {
    // ---------------------------------------------------------------
    // Transaction control, PRAGMA, SET

    pub(super) fn transaction(&self, i: usize) -> Kind {
        let words: Vec<String> = (i..self.len().min(i + 16))
            .map(|j| match self.word(j) {
                Some(w) => w.to_ascii_uppercase(),
                None => self.text(j).to_string(),
            })
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        transaction_control(&words).map_or(Kind::Other, Kind::Transaction)
    }

    pub(super) fn pragma(&self, i: usize) -> Kind {
        let Some((name, after)) = self.name(i + 1) else {
            return Kind::Unknown;
        };
        let value = if self.punct(after, "=") || self.punct(after, "(") {
            Some(self.text(after + 1).to_string())
        } else {
            None
        };
        Kind::Pragma(Box::new(Pragma {
            name: name.object().to_string(),
            value,
        }))
    }

    pub(super) fn set(&self, i: usize) -> Kind {
        let mut j = i + 1;
        if self.kw_any(
            j,
            &["SESSION", "LOCAL", "GLOBAL", "PERSIST", "PERSIST_ONLY"],
        ) {
            j += 1;
        }
        let name = self
            .word(j)
            .map(str::to_ascii_lowercase)
            .or_else(|| {
                (self.kind(j) == Some(TokenKind::Param)).then(|| self.text(j).to_ascii_lowercase())
            })
            .unwrap_or_default();
        Kind::Set(Set { name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statement's tokens as the recogniser reads them.
    fn tc(sql: &str) -> Option<Transaction> {
        let toks = significant_tokens(sql, 0..sql.len(), Dialect::Generic);
        let words: Vec<String> = toks
            .iter()
            .map(|t| match t.kind {
                TokenKind::Word => sql[t.span.clone()].to_ascii_uppercase(),
                _ => sql[t.span.clone()].to_string(),
            })
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        transaction_control(&words)
    }

    #[test]
    fn begins() {
        for sql in [
            "BEGIN",
            "begin;",
            "BEGIN TRANSACTION",
            "BEGIN WORK",
            "BEGIN DEFERRED",
            "BEGIN IMMEDIATE TRANSACTION",
            "begin exclusive",
            "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, NOT DEFERRABLE",
            "BEGIN TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "START TRANSACTION",
            "START TRANSACTION READ WRITE",
            "START TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "START TRANSACTION WITH CONSISTENT SNAPSHOT",
        ] {
            assert_eq!(tc(sql), Some(Transaction::Begin), "{sql}");
        }
    }

    #[test]
    fn commits_and_rollbacks() {
        for sql in [
            "COMMIT",
            "COMMIT WORK",
            "COMMIT TRANSACTION",
            "COMMIT AND CHAIN",
            "COMMIT WORK AND NO CHAIN NO RELEASE",
            "END",
            "END TRANSACTION",
            "end work;",
        ] {
            assert_eq!(tc(sql), Some(Transaction::Commit), "{sql}");
        }
        for sql in [
            "ROLLBACK",
            "ROLLBACK WORK",
            "ROLLBACK TRANSACTION",
            "ROLLBACK AND NO CHAIN",
            "ABORT",
            "ABORT TRANSACTION",
        ] {
            assert_eq!(tc(sql), Some(Transaction::Rollback), "{sql}");
        }
        for sql in [
            "ROLLBACK TO a",
            "ROLLBACK TO SAVEPOINT a",
            "ROLLBACK TRANSACTION TO SAVEPOINT a",
            "rollback work to a",
        ] {
            assert_eq!(tc(sql), Some(Transaction::RollbackTo), "{sql}");
        }
    }

    #[test]
    fn savepoints_and_two_phase_commit() {
        assert_eq!(tc("SAVEPOINT a"), Some(Transaction::Savepoint));
        assert_eq!(tc("RELEASE a"), Some(Transaction::Release));
        assert_eq!(tc("RELEASE SAVEPOINT a"), Some(Transaction::Release));
        for sql in [
            "PREPARE TRANSACTION 'x'",
            "COMMIT PREPARED 'x'",
            "ROLLBACK PREPARED 'x'",
        ] {
            assert_eq!(tc(sql), Some(Transaction::Other), "{sql}");
        }
    }

    #[test]
    fn blocks_and_look_alikes_are_not_transaction_control() {
        for sql in [
            // PL/pgSQL and SQL-standard bodies, MariaDB compound statements
            // (a DELIMITER body), T-SQL-like blocks cut by a splitter.
            "BEGIN ATOMIC SELECT 1; END",
            "BEGIN NOT ATOMIC INSERT INTO t VALUES (1); END",
            "BEGIN\n  INSERT INTO t VALUES (1);\nEND",
            "BEGIN DECLARE x INT; SET x = 1; END",
            "BEGIN RAISE NOTICE 'x'",
            "END IF",
            "END LOOP",
            "END $$",
            "END label",
            "START SLAVE",
            "START REPLICA",
            "PREPARE stmt FROM 'SELECT 1'",
            "PREPARE q AS SELECT 1",
            "SAVEPOINT",
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END",
            "DO $$ BEGIN PERFORM 1; END $$",
            "XA START 'x'",
            "SELECT 'BEGIN'",
        ] {
            assert_eq!(tc(sql), None, "{sql}");
        }
    }

    #[test]
    fn the_classifier_asks_the_recogniser() {
        let kind = |sql: &str| {
            let toks = significant_tokens(sql, 0..sql.len(), Dialect::Mysql);
            classify_tokens(sql, &toks, Dialect::Mysql)
        };
        assert!(matches!(
            kind("START TRANSACTION READ WRITE"),
            Kind::Transaction(Transaction::Begin)
        ));
        assert!(matches!(
            kind("COMMIT AND CHAIN"),
            Kind::Transaction(Transaction::Commit)
        ));
        assert!(matches!(
            kind("BEGIN NOT ATOMIC SELECT 1; END"),
            Kind::Other
        ));
        assert!(matches!(kind("PREPARE s FROM 'SELECT 1'"), Kind::Other));
        assert!(matches!(kind("START SLAVE"), Kind::Other));
    }
}
