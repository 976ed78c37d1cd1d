//! A history's own database, named in qualified names (`shop.plan`,
//! `` `shop`.`plan` ``, `shop.plan.col`): resolved to the database replay
//! runs in, as `USE shop` is.
//!
//! A script that makes its own database (`CREATE DATABASE IF NOT EXISTS
//! shop; USE shop;`) runs in the scratch database: every `USE` goes there,
//! and a `CREATE`/`DROP DATABASE` of a database the part switches to is not
//! run. The names a sequence `USE`s are its own from that part on (the
//! whole part, as the skip of its `CREATE DATABASE` is decided for the
//! whole part), and in every later migration and down; a qualifier naming
//! one of them is rewritten, token by token ([`crate::lexer`]), to the
//! database the part runs in (the scratch database, or its copy in a
//! trial). Strings and comments are never touched, and neither is any
//! other database's name: the migration user is still refused those.
//!
//! The text sent changes, not the statement's span: findings point at the
//! file as written, as for the `USE` that is sent as `USE <scratch>`.

use crate::dialect::Dialect;
use crate::lexer::{Lexer, Token, TokenKind};
use std::collections::BTreeSet;

/// The server's own databases: never a script's own, whatever it `USE`s
/// (`SELECT ... FROM information_schema.COLUMNS` must keep reading the
/// server's catalog).
const SYSTEM: [&str; 4] = ["information_schema", "performance_schema", "mysql", "sys"];

/// Whether qualifiers naming `name` may be resolved to the scratch database.
pub(super) fn may_own(name: &str) -> bool {
    !SYSTEM.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Words before which a two-part name `a.b` names a table (or routine,
/// view, ...) and so `a` a database, whatever else the statement holds.
const OBJECT_POSITION: &[&str] = &[
    "call",
    "exists",
    "from",
    "into",
    "join",
    "like",
    "procedure",
    "function",
    "references",
    "table",
    "to",
    "trigger",
    "update",
    "view",
];

/// `sql` with every qualifier that names a database of `own` rewritten to
/// `` `db` ``; `None` when there is none. Database names compare as written
/// (case-sensitive, as on a Linux server).
///
/// `a.b.c` is always database, table, column. `a.b` is a database and an
/// object unless the statement also names `a` on its own (a table, an alias
/// or a column called like the database, where `a.b` can be a table's
/// column): then only after a word such as `FROM`, `INTO`, `TABLE`.
pub(super) fn resolve(sql: &str, own: &BTreeSet<String>, db: &str) -> Option<String> {
    if own.is_empty() {
        return None;
    }
    let toks: Vec<Token> = Lexer::new(sql, 0..sql.len(), Dialect::Mysql)
        .filter(|t| !t.kind.is_trivia())
        .collect();
    let text = |t: &Token| &sql[t.span.clone()];
    let name = |t: Option<&Token>| -> Option<String> {
        let t = t?;
        match t.kind {
            TokenKind::Word => Some(text(t).to_string()),
            TokenKind::QuotedIdent if text(t).starts_with('`') => {
                let raw = text(t);
                let inner = raw.strip_prefix('`')?.strip_suffix('`')?;
                Some(inner.replace("``", "`"))
            }
            _ => None,
        }
    };
    let dot = |t: Option<&Token>| t.is_some_and(|t| t.kind == TokenKind::Punct && text(t) == ".");
    let at = |i: usize| toks.get(i);
    let before = |i: usize| i.checked_sub(1).and_then(|j| toks.get(j));
    // Own names the statement writes on their own, not next to a dot.
    let bare: BTreeSet<String> = (0..toks.len())
        .filter(|&i| !dot(before(i)) && !dot(at(i + 1)))
        .filter_map(|i| name(at(i)))
        .filter(|n| own.contains(n))
        .collect();
    let mut out = String::with_capacity(sql.len() + 32);
    let mut last = 0;
    let mut changed = false;
    for (i, tok) in toks.iter().enumerate() {
        let Some(n) = name(Some(tok)) else {
            continue;
        };
        if !own.contains(&n) || dot(before(i)) || !dot(at(i + 1)) || name(at(i + 2)).is_none() {
            continue;
        }
        let three_parts = dot(at(i + 3)) && name(at(i + 4)).is_some();
        let object_position = before(i).is_some_and(|p| {
            p.kind == TokenKind::Word
                && OBJECT_POSITION.contains(&text(p).to_ascii_lowercase().as_str())
        });
        if bare.contains(&n) && !three_parts && !object_position {
            continue;
        }
        let span = &tok.span;
        out.push_str(&sql[last..span.start]);
        out.push_str(&super::server::ident(db));
        last = span.end;
        changed = true;
    }
    if !changed {
        return None;
    }
    out.push_str(&sql[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn r(sql: &str) -> String {
        resolve(sql, &own(&["shop"]), "twice_1").unwrap_or_else(|| sql.to_string())
    }

    #[test]
    fn qualifiers_of_the_own_database_go_to_the_scratch_one() {
        assert_eq!(
            r("ALTER TABLE shop.plan ADD COLUMN price INT"),
            "ALTER TABLE `twice_1`.plan ADD COLUMN price INT"
        );
        assert_eq!(
            r("REPLACE INTO `shop`.`plan` (id) VALUES (1)"),
            "REPLACE INTO `twice_1`.`plan` (id) VALUES (1)"
        );
        assert_eq!(
            r("SELECT shop.plan.id FROM shop . plan"),
            "SELECT `twice_1`.plan.id FROM `twice_1` . plan"
        );
        // Versioned comments hold SQL the server runs.
        assert_eq!(
            r("CREATE TABLE /*!32312 IF NOT EXISTS*/ shop.t (a INT)"),
            "CREATE TABLE /*!32312 IF NOT EXISTS*/ `twice_1`.t (a INT)"
        );
        // A routine's body.
        assert_eq!(
            r("CREATE PROCEDURE p() BEGIN\n  DELETE FROM shop.plan;\nEND"),
            "CREATE PROCEDURE p() BEGIN\n  DELETE FROM `twice_1`.plan;\nEND"
        );
    }

    #[test]
    fn strings_comments_and_other_databases_stay() {
        for sql in [
            "INSERT INTO t (s) VALUES ('shop.plan', \"shop.plan\")",
            "SELECT 1 -- shop.plan\n",
            "SELECT 1 # shop.plan\n",
            "SELECT /* shop.plan */ 1",
            "SELECT * FROM archive.plan",
            "SELECT * FROM SHOP.plan",
            "SELECT * FROM plan.shop",
            "SELECT * FROM other.shop.x",
            "USE shop",
        ] {
            assert_eq!(resolve(sql, &own(&["shop"]), "twice_1"), None, "{sql}");
        }
        assert_eq!(
            r("UPDATE shop.plan SET name = 'shop.plan' /* shop.plan */"),
            "UPDATE `twice_1`.plan SET name = 'shop.plan' /* shop.plan */"
        );
    }

    #[test]
    fn a_table_or_alias_called_like_the_database_keeps_its_columns() {
        // `shop` is also a table here: `shop.plan` in the select list is
        // its column, `shop.shop` after FROM the database's table.
        assert_eq!(
            r("SELECT shop.plan FROM shop.shop AS shop WHERE shop.shop.id > 0"),
            "SELECT shop.plan FROM `twice_1`.shop AS shop WHERE `twice_1`.shop.id > 0"
        );
        assert_eq!(
            r("UPDATE items shop SET shop.n = 1"),
            "UPDATE items shop SET shop.n = 1"
        );
    }

    #[test]
    fn the_servers_own_databases_are_never_a_scripts() {
        assert!(may_own("shop"));
        assert!(!may_own("information_schema"));
        assert!(!may_own("MySQL"));
    }
}
