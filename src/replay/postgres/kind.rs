//! What a statement means to the replay mechanics, from its leading words:
//! transaction control (which twice takes over), statements that cannot run
//! in a transaction block, and statements that change the whole server.

use crate::analysis::Statement;
use crate::source::SourceFile;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An ordinary statement.
    Plain,
    /// `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`
    /// (see [`crate::replay::control::Control`]): twice owns the
    /// transactions, so these are not sent to the server.
    TxnControl,
    /// Cannot run inside a transaction block (`CREATE INDEX CONCURRENTLY`,
    /// `VACUUM`, ...).
    NoTransaction,
}

/// Upper-cased leading words (up to `n`) of a statement.
pub fn words(file: &SourceFile, stmt: &Statement, n: usize) -> Vec<String> {
    stmt.leading_words(&file.text, n)
}

/// Classifies a statement for the replay mechanics.
pub fn classify(file: &SourceFile, stmt: &Statement) -> Kind {
    let w = words(file, stmt, 12);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    classify_words(&w)
}

/// `ALTER TYPE ... ADD VALUE` runs in a transaction from PostgreSQL 12 on;
/// on older servers the server's own refusal (SQLSTATE 25001) moves the
/// migration to autocommit mode.
pub fn classify_words(w: &[&str]) -> Kind {
    // `ROLLBACK TO [SAVEPOINT] x` is the migration's own business.
    if crate::replay::control::classify(w).is_some() {
        Kind::TxnControl
    } else if crate::classify::control::refused_in_transaction(w) {
        Kind::NoTransaction
    } else {
        Kind::Plain
    }
}

/// The statements of `part` that are a `SET TRANSACTION ...` right after
/// the migration's own `BEGIN` (or `START TRANSACTION`), with nothing but
/// other `SET TRANSACTION`s between: PostgreSQL takes them there, as the
/// first statements of the transaction, and psql runs them so. Replay
/// emulates the `BEGIN` inside its own transaction, which has already run
/// queries, where the server refuses them (SQLSTATE 25001): replay leaves
/// them out. One that comes later, after a query, fails on PostgreSQL too
/// and is sent as written.
pub fn set_transaction_after_begin(
    file: &crate::report::FileUnit,
    part: &crate::model::Part,
) -> std::collections::BTreeSet<usize> {
    let mut out = std::collections::BTreeSet::new();
    let mut after_begin = false;
    for &i in &part.statements {
        let Some(stmt) = file.statements.get(i) else {
            continue;
        };
        if stmt.tokens.is_empty() {
            continue;
        }
        let w = words(&file.source, stmt, 16);
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        if crate::replay::control::classify(&w) == Some(crate::replay::control::Control::Begin) {
            after_begin = true;
        } else if after_begin && w.first() == Some(&"SET") && w.get(1) == Some(&"TRANSACTION") {
            out.insert(i);
        } else {
            after_begin = false;
        }
    }
    out
}

/// When the statement changes objects shared by the whole server (roles,
/// databases, tablespaces, server settings), a short description of what it
/// does; twice runs such statements only on its own throwaway cluster.
pub fn server_wide(file: &SourceFile, stmt: &Statement) -> Option<&'static str> {
    let w = words(file, stmt, 4);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    // `ALTER DATABASE name SET ...` runs on the scratch database
    // (`run::database_names`): it changes that database only.
    server_wide_words(&w).filter(|_| super::run::database_names(&stmt.sql).is_empty())
}

/// Whether the statement creates, changes or drops a role.
pub fn changes_roles(file: &SourceFile, stmt: &Statement) -> bool {
    let w = words(file, stmt, 2);
    matches!(
        w.first().map(String::as_str),
        Some("CREATE" | "ALTER" | "DROP")
    ) && matches!(
        w.get(1).map(String::as_str),
        Some("ROLE" | "USER" | "GROUP")
    )
}

/// `CREATE DATABASE name ...` or `DROP DATABASE [IF EXISTS] name`: whether
/// it creates, and the database's name (unquoted, lower case unless quoted,
/// as the server folds it).
pub fn database_named(file: &SourceFile, stmt: &Statement) -> Option<(bool, String)> {
    let w = words(file, stmt, 6);
    let create = match (w.first()?.as_str(), w.get(1)?.as_str()) {
        ("CREATE", "DATABASE") => true,
        ("DROP", "DATABASE") => false,
        _ => return None,
    };
    let mut i = 2;
    while matches!(w.get(i).map(String::as_str), Some("IF" | "EXISTS")) {
        i += 1;
    }
    Some((create, fold_name(w.get(i)?)))
}

/// A name as PostgreSQL folds it: a quoted one as written, else lower case.
fn fold_name(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => name.to_ascii_lowercase(),
    }
}

/// The databases a psql script connects to (`\c name`, `\connect name`
/// on a line of their own), folded as the server folds them.
pub fn connected_databases(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("\\connect")
                .or_else(|| l.strip_prefix("\\c"))?;
            if !rest.starts_with(char::is_whitespace) {
                return None;
            }
            let name = rest.split_whitespace().next()?;
            // `\c -` keeps the current database; a connection string is
            // another server's business.
            (name != "-" && !name.contains('=') && !name.contains("://")).then(|| fold_name(name))
        })
        .collect()
}

pub fn server_wide_words(w: &[&str]) -> Option<&'static str> {
    let verb = *w.first()?;
    let object = w.get(1).copied().unwrap_or("");
    match (verb, object) {
        ("CREATE" | "ALTER" | "DROP", "ROLE" | "USER" | "GROUP") => Some("changes a role"),
        ("CREATE" | "ALTER" | "DROP", "DATABASE") => Some("changes a database"),
        ("CREATE" | "ALTER" | "DROP", "TABLESPACE") => Some("changes a tablespace"),
        ("ALTER", "SYSTEM") => Some("changes server settings"),
        ("REASSIGN", _) => Some("reassigns objects between roles"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_a_script_connects_to() {
        let text = "CREATE DATABASE \"Shop\";\n\\connect \"Shop\"\n  \\c app user\n\\c -\n\\cd /tmp\n\\c host=x\n";
        let names: Vec<String> = connected_databases(text).into_iter().collect();
        assert_eq!(names, ["Shop", "app"]);
    }

    #[test]
    fn kinds() {
        let k = |s: &str| {
            let w: Vec<&str> = s.split_whitespace().collect();
            classify_words(&w)
        };
        assert_eq!(k("BEGIN"), Kind::TxnControl);
        assert_eq!(k("START TRANSACTION"), Kind::TxnControl);
        assert_eq!(k("COMMIT"), Kind::TxnControl);
        assert_eq!(k("ROLLBACK"), Kind::TxnControl);
        assert_eq!(k("ROLLBACK TO SAVEPOINT a"), Kind::Plain);
        assert_eq!(k("BEGIN ISOLATION LEVEL SERIALIZABLE"), Kind::TxnControl);
        assert_eq!(k("END WORK"), Kind::TxnControl);
        assert_eq!(k("ABORT"), Kind::TxnControl);
        assert_eq!(k("COMMIT AND CHAIN"), Kind::TxnControl);
        // Two-phase commit is the server's to accept or refuse (it refuses
        // COMMIT PREPARED in a transaction block: autocommit mode).
        assert_eq!(k("COMMIT PREPARED 'x'"), Kind::Plain);
        assert_eq!(k("SAVEPOINT a"), Kind::Plain);
        assert_eq!(
            k("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)"),
            Kind::NoTransaction
        );
        assert_eq!(
            k("DROP INDEX CONCURRENTLY IF EXISTS i"),
            Kind::NoTransaction
        );
        assert_eq!(k("VACUUM ANALYZE t"), Kind::NoTransaction);
        assert_eq!(k("CREATE TABLE t (a int)"), Kind::Plain);
        assert_eq!(k("ALTER TYPE mood ADD VALUE 'x'"), Kind::Plain);
    }

    #[test]
    fn server_wide_statements() {
        let s = |s: &str| {
            let w: Vec<&str> = s.split_whitespace().collect();
            server_wide_words(&w)
        };
        assert!(s("CREATE ROLE app").is_some());
        assert!(s("ALTER USER app PASSWORD 'x'").is_some());
        assert!(s("CREATE TABLE roles (a int)").is_none());
        assert!(s("GRANT SELECT ON t TO app").is_none());
    }
}
