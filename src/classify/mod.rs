//! Token-level classification of statements.
//!
//! sqlparser rejects a good deal of valid SQL (`CREATE TRIGGER IF NOT EXISTS`,
//! `PRAGMA x = ON`, Postgres `DO $$ ... $$`, fts5 options, many MySQL and
//! Postgres forms). The classifier reads a statement's significant tokens
//! instead, so the facts the rules need — what is created, dropped, altered
//! or written, with which guards, and where each piece is written in the file
//! — exist whether or not sqlparser parsed the statement.
//!
//! It never fails: what it does not recognise is [`Kind::Unknown`] (nothing
//! could be said) or [`Kind::Other`] (a statement it knows has nothing to do
//! with the rules, such as `GRANT` or `COMMENT ON`).
//!
//! Token indexes in the facts (`Range<usize>` fields named `value`, `range`,
//! `tokens`, ...) index the token slice the statement was classified from;
//! byte spans (`span`, `*_at`) are offsets into the file text.

use crate::dialect::Dialect;
use crate::lexer::{significant_tokens, Token, TokenKind};
use crate::source::SourceFile;
use std::ops::Range;

pub mod control;
mod cursor;
mod ddl;
mod dml;
mod model;
mod plpgsql;

pub use cursor::*;
pub use model::*;

/// Classifies one statement. `tokens` are its significant tokens.
pub fn classify(file: &SourceFile, tokens: &[Token], dialect: Dialect) -> Facts {
    let keyword = tokens
        .first()
        .map(|t| file.text[t.span.clone()].to_ascii_uppercase())
        .unwrap_or_default();
    Facts {
        keyword,
        kind: classify_tokens(&file.text, tokens, dialect),
    }
}

/// Classifies the statement made of `toks` (significant tokens of `text`).
pub fn classify_tokens(text: &str, toks: &[Token], dialect: Dialect) -> Kind {
    let t = Toks {
        text,
        toks,
        dialect,
    };
    t.statement(0)
}

impl<'a> Toks<'a> {
    // ---------------------------------------------------------------
    // Statements

    pub(super) fn statement(&self, i: usize) -> Kind {
        let Some(w) = self.word(i) else {
            return if self.punct(i, "(") {
                Kind::Query
            } else {
                Kind::Unknown
            };
        };
        let w = Upper::new(w);
        match w.as_str() {
            "CREATE" => self.create(i),
            "DROP" => self.drop(i),
            "ALTER" => self.alter(i),
            "RENAME" => self.rename_tables(i),
            "INSERT" | "REPLACE" => self.insert(i),
            "UPDATE" => self.update(i),
            "DELETE" => self.delete(i),
            "TRUNCATE" => self.truncate(i),
            "WITH" => self.with(i),
            w if control::LEADING_WORDS.contains(&w) => self.transaction(i),
            "PRAGMA" => self.pragma(i),
            "SET" => self.set(i),
            "DO" => self.do_block(i),
            "SELECT" | "VALUES" | "TABLE" | "SHOW" | "EXPLAIN" | "DESCRIBE" | "DESC" => Kind::Query,
            "GRANT" | "REVOKE" | "COMMENT" | "ANALYZE" | "ANALYSE" | "VACUUM" | "REINDEX"
            | "CLUSTER" | "CHECKPOINT" | "CALL" | "EXEC" | "EXECUTE" | "LOCK" | "UNLOCK"
            | "COPY" | "REFRESH" | "NOTIFY" | "LISTEN" | "UNLISTEN" | "DISCARD" | "RESET"
            | "USE" | "ATTACH" | "DETACH" | "LOAD" | "DECLARE" | "FETCH" | "CLOSE" | "MOVE"
            | "DEALLOCATE" | "SECURITY" | "IMPORT" | "OPTIMIZE" | "FLUSH" | "KILL" | "MERGE"
            | "REASSIGN" | "REPAIR" | "CHECK" | "INSTALL" | "UNINSTALL" | "HANDLER" | "CACHE"
            | "PURGE" | "SIGNAL" | "RESIGNAL" | "PERFORM" => Kind::Other,
            _ => Kind::Unknown,
        }
    }

    /// `WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (...), ... <stmt>`.
    pub(super) fn with(&self, i: usize) -> Kind {
        let mut j = i + 1;
        if self.kw(j, "RECURSIVE") {
            j += 1;
        }
        // `WITH moved AS (DELETE ... RETURNING ...) INSERT ...` moves rows:
        // a second run finds nothing left to move.
        let mut consumes = false;
        // CTEs that only keep rows the target does not have yet
        // (`WHERE k NOT IN (SELECT k FROM t)`): an INSERT that reads them
        // is guarded like one with the anti-join in its own SELECT.
        let mut guarded_ctes = Vec::new();
        loop {
            // name [(cols)] AS [NOT] [MATERIALIZED] ( query )
            if !self.is_ident(j) {
                return Kind::Unknown;
            }
            let name = self.ident(j);
            j = self.skip_parens(j + 1);
            if !self.kw(j, "AS") {
                return Kind::Unknown;
            }
            j += 1;
            if self.kw(j, "NOT") {
                j += 1;
            }
            if self.kw(j, "MATERIALIZED") {
                j += 1;
            }
            if !self.punct(j, "(") {
                return Kind::Unknown;
            }
            consumes |= self.kw(j + 1, "DELETE");
            let close = self.close_paren(j);
            if self.anti_join(j + 1, close) {
                guarded_ctes.extend(name);
            }
            j = close + 1;
            if self.punct(j, ",") {
                j += 1;
                continue;
            }
            break;
        }
        if j >= self.len() {
            return Kind::Unknown;
        }
        match self.statement(j) {
            Kind::Unknown if self.punct(j, "(") => Kind::Query,
            Kind::Insert(mut ins) => {
                ins.anti_join |= consumes;
                if !guarded_ctes.is_empty() {
                    // The INSERT reads a guarded CTE: `FROM m`, `JOIN m`.
                    ins.anti_join |= (j..self.len()).any(|x| {
                        self.kw_any(x, &["FROM", "JOIN"])
                            && self.ident(x + 1).is_some_and(|n| {
                                guarded_ctes.iter().any(|g| g.eq_ignore_ascii_case(&n))
                            })
                    });
                }
                Kind::Insert(ins)
            }
            k => k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(sql: &str, d: Dialect) -> Kind {
        let toks = significant_tokens(sql, 0..sql.len(), d);
        classify_tokens(sql, &toks, d)
    }

    #[test]
    fn create_table_if_not_exists_with_comments() {
        let sql = "create /* x */ temp table if not exists \"Main\".T (a int)";
        let Kind::Create(c) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        assert_eq!(c.kind, ObjectKind::Table);
        assert!(c.temporary && c.if_not_exists);
        let n = c.name.unwrap();
        assert_eq!(n.parts, vec!["Main".to_string(), "t".to_string()]);
        assert_eq!(&sql[c.keyword_span], "table");
    }

    #[test]
    fn create_unique_index_concurrently_and_unnamed() {
        let sql = "CREATE UNIQUE INDEX CONCURRENTLY idx ON ONLY public.users (email)";
        let Kind::Create(c) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        assert!(c.unique && c.concurrently);
        assert_eq!(
            &sql[..c.if_not_exists_at],
            "CREATE UNIQUE INDEX CONCURRENTLY"
        );
        assert_eq!(c.table.unwrap().object(), "users");
        let Kind::Create(c) = kind("CREATE INDEX ON t (a)", Dialect::Postgres) else {
            panic!()
        };
        assert!(c.name.is_none());
        assert_eq!(c.table.unwrap().object(), "t");
    }

    #[test]
    fn mysql_definer_trigger() {
        let sql = "CREATE DEFINER=`root`@`localhost` TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1";
        let Kind::Create(c) = kind(sql, Dialect::Mysql) else {
            panic!()
        };
        assert_eq!(c.kind, ObjectKind::Trigger);
        assert_eq!(c.name.unwrap().object(), "trg");
        assert_eq!(c.table.unwrap().object(), "t");
    }

    #[test]
    fn mysql_add_constraint_without_its_symbol_names_the_index() {
        let added = |sql: &str| -> Vec<(Option<String>, ConstraintKind)> {
            let Kind::AlterTable(a) = kind(sql, Dialect::Mysql) else {
                panic!("{sql}")
            };
            a.actions
                .iter()
                .filter_map(|x| match &x.op {
                    AlterOp::AddConstraint {
                        name, constraint, ..
                    } => Some((name.as_ref().map(|n| n.object().to_string()), *constraint)),
                    _ => None,
                })
                .collect()
        };
        let named = |n: &str, c| vec![(Some(n.to_string()), c)];
        use ConstraintKind::*;
        for sql in [
            "ALTER TABLE t ADD CONSTRAINT UNIQUE uk_a (a)",
            "ALTER TABLE t ADD CONSTRAINT UNIQUE KEY uk_a (a)",
            "alter table t add constraint unique index `uk_a` (a)",
            "ALTER TABLE t ADD CONSTRAINT uk_a UNIQUE (a)",
        ] {
            assert_eq!(added(sql), named("uk_a", Unique), "{sql}");
        }
        assert_eq!(
            added("ALTER TABLE t ADD CONSTRAINT UNIQUE (a)"),
            vec![(None, Unique)]
        );
        assert_eq!(
            added("ALTER TABLE t ADD CONSTRAINT PRIMARY KEY (a)"),
            vec![(None, PrimaryKey)]
        );
        assert_eq!(
            added("ALTER TABLE t ADD CONSTRAINT FOREIGN KEY fk_a (a) REFERENCES p (id)"),
            named("fk_a", ForeignKey)
        );
        assert_eq!(
            added("ALTER TABLE t ADD CONSTRAINT fk_a FOREIGN KEY (a) REFERENCES p (id)"),
            named("fk_a", ForeignKey)
        );
        assert_eq!(
            added("ALTER TABLE t ADD CONSTRAINT CHECK (a > 0)"),
            vec![(None, Check)]
        );
        // In parentheses, as Oracle writes them and MySQL takes them: no
        // column named `CONSTRAINT`.
        assert_eq!(
            added(
                "ALTER TABLE c ADD (\n  CONSTRAINT c_fk_pid FOREIGN KEY (pid) REFERENCES p (id))"
            ),
            named("c_fk_pid", ForeignKey)
        );
        let sql = "ALTER TABLE c ADD (x int, CONSTRAINT uk_x UNIQUE (x), INDEX ix_y (y), y int)";
        assert_eq!(
            added(sql),
            vec![(Some("uk_x".into()), Unique), (Some("ix_y".into()), Index)]
        );
        let Kind::AlterTable(a) = kind(sql, Dialect::Mysql) else {
            panic!("{sql}")
        };
        let columns: Vec<&str> = a
            .actions
            .iter()
            .filter_map(|x| match &x.op {
                AlterOp::AddColumn { name, .. } => Some(name.object()),
                _ => None,
            })
            .collect();
        assert_eq!(columns, ["x", "y"]);
    }

    #[test]
    fn alter_table_every_action() {
        let sql = "ALTER TABLE IF EXISTS ONLY t ADD COLUMN IF NOT EXISTS a int, ADD b text, DROP COLUMN c, ADD CONSTRAINT k UNIQUE (a), ADD PRIMARY KEY (a), DROP CONSTRAINT IF EXISTS z, ALTER COLUMN a SET DEFAULT 1";
        let Kind::AlterTable(a) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        assert!(a.if_exists && a.only);
        assert_eq!(a.actions.len(), 7);
        assert!(matches!(
            &a.actions[0].op,
            AlterOp::AddColumn {
                if_not_exists: true,
                ..
            }
        ));
        assert!(
            matches!(&a.actions[1].op, AlterOp::AddColumn { name, if_not_exists: false, .. } if name.object() == "b")
        );
        assert!(matches!(
            &a.actions[2].op,
            AlterOp::DropColumn {
                if_exists: false,
                ..
            }
        ));
        assert!(
            matches!(&a.actions[3].op, AlterOp::AddConstraint { name: Some(n), constraint: ConstraintKind::Unique, .. } if n.object() == "k")
        );
        assert!(matches!(
            &a.actions[4].op,
            AlterOp::AddConstraint {
                name: None,
                constraint: ConstraintKind::PrimaryKey,
                ..
            }
        ));
        assert!(matches!(
            &a.actions[5].op,
            AlterOp::DropConstraint {
                if_exists: true,
                ..
            }
        ));
        assert!(matches!(&a.actions[6].op, AlterOp::AlterColumn { .. }));
    }

    #[test]
    fn renames() {
        let Kind::AlterTable(a) = kind("ALTER TABLE t RENAME a TO b", Dialect::Sqlite) else {
            panic!()
        };
        assert!(
            matches!(&a.actions[0].op, AlterOp::RenameColumn { from, to } if from.object() == "a" && to.object() == "b")
        );
        let Kind::RenameTables(p) = kind("RENAME TABLE a TO b, c TO d", Dialect::Mysql) else {
            panic!()
        };
        assert_eq!(p.len(), 2);
        let Kind::AlterObject(o) = kind("ALTER INDEX IF EXISTS i RENAME TO j", Dialect::Postgres)
        else {
            panic!()
        };
        assert!(o.if_exists);
        assert!(matches!(o.op, AlterObjectOp::RenameTo { .. }));
    }

    #[test]
    fn inserts_and_guards() {
        let Kind::Insert(i) = kind(
            "WITH s AS (SELECT 1) INSERT OR IGNORE INTO t (a) SELECT x FROM s",
            Dialect::Sqlite,
        ) else {
            panic!()
        };
        assert_eq!(i.conflict, Conflict::OrIgnore);
        assert_eq!(i.source, InsertSource::Select);
        let Kind::Insert(i) = kind(
            "INSERT INTO t (a, b) SELECT 1, 2 WHERE NOT EXISTS (SELECT 1 FROM t WHERE a = 1)",
            Dialect::Postgres,
        ) else {
            panic!()
        };
        assert!(i.anti_join);
        let Kind::Insert(i) = kind(
            "INSERT INTO t AS x (id, n) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET n = x.n + 1 WHERE x.n < 5 RETURNING id",
            Dialect::Postgres,
        ) else {
            panic!()
        };
        assert_eq!(i.conflict, Conflict::DoUpdate);
        assert_eq!(i.alias.as_deref(), Some("x"));
        assert_eq!(i.columns, vec!["id", "n"]);
        assert_eq!(i.first_row.len(), 2);
        assert_eq!(i.update.len(), 1);
        assert!(i.update_where.is_some());
        let Kind::Insert(i) = kind(
            "INSERT IGNORE INTO t VALUES (1) ON DUPLICATE KEY UPDATE n = n + 1",
            Dialect::Mysql,
        ) else {
            panic!()
        };
        assert_eq!(i.conflict, Conflict::DuplicateKeyUpdate);
    }

    #[test]
    fn update_assignments_and_where() {
        let sql = "UPDATE accounts a SET balance = a.balance * 1.05, (x, y) = (1, 2) FROM b WHERE NOT migrated";
        let Kind::Update(u) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        assert_eq!(u.alias.as_deref(), Some("a"));
        assert_eq!(u.assignments.len(), 2);
        assert_eq!(u.assignments[1].columns, vec!["x", "y"]);
        assert!(u.where_range.is_some());
    }

    #[test]
    fn do_block_guards() {
        let sql = "DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN\n    CREATE TYPE mood AS ENUM ('a');\n  END IF;\n  CREATE TABLE x (a int);\n  BEGIN\n    ALTER TABLE x ADD CONSTRAINT k UNIQUE (a);\n  EXCEPTION WHEN duplicate_object THEN NULL;\n  END;\nEND $$";
        let Kind::Do(d) = kind(sql, Dialect::Postgres) else {
            panic!()
        };
        let g: Vec<(bool, &str)> = d
            .inner
            .iter()
            .map(|s| (s.guarded, &sql[s.span.clone()]))
            .collect();
        assert_eq!(g.len(), 3, "{g:?}");
        assert!(g[0].0 && g[0].1.starts_with("CREATE TYPE"));
        assert!(!g[1].0 && g[1].1 == "CREATE TABLE x (a int)");
        assert!(g[2].0 && g[2].1.starts_with("ALTER TABLE"));
    }

    #[test]
    fn exception_handlers_guard_what_they_catch() {
        let guarded = |body: &str, handler: &str| {
            let sql = format!("DO $$ BEGIN {body}; EXCEPTION WHEN {handler} THEN NULL; END $$");
            let Kind::Do(d) = kind(&sql, Dialect::Postgres) else {
                panic!()
            };
            d.inner[0].guarded
        };
        let value = "ALTER TYPE mood RENAME VALUE 'sad' TO 'unhappy'";
        assert!(guarded(value, "invalid_parameter_value"));
        assert!(guarded(value, "SQLSTATE '22023'"));
        assert!(guarded(value, "check_violation OR others"));
        assert!(!guarded(value, "check_violation"));
        assert!(!guarded(value, "SQLSTATE 'P0001'"));
        let column = "ALTER TABLE t RENAME COLUMN a TO b";
        assert!(guarded(column, "undefined_column"));
        assert!(guarded(column, "sqlstate '42703'"));
        assert!(!guarded(column, "invalid_parameter_value"));
        assert!(guarded("ALTER TABLE t RENAME TO u", "undefined_table"));
        assert!(guarded("ALTER TABLE t RENAME TO u", "SQLSTATE '42P01'"));
        assert!(guarded(
            "ALTER TABLE t RENAME CONSTRAINT k TO l",
            "undefined_object"
        ));
        assert!(guarded("CREATE TABLE t (a int)", "SQLSTATE '42P07'"));
        assert!(!guarded(
            "CREATE TABLE t (a int)",
            "invalid_parameter_value"
        ));
    }

    #[test]
    fn an_insert_without_a_table_name_is_not_understood() {
        for sql in ["INSERT INTO SELECT * FROM posts", "insert into values (1)"] {
            assert!(matches!(kind(sql, Dialect::Sqlite), Kind::Unknown), "{sql}");
        }
        assert!(matches!(
            kind("INSERT INTO posts SELECT * FROM old", Dialect::Sqlite),
            Kind::Insert(_)
        ));
    }

    #[test]
    fn names_keep_their_case_where_the_database_shows_it() {
        let column = |d| {
            let Kind::AlterTable(a) = kind("ALTER TABLE Notes ADD blobId TEXT", d) else {
                panic!()
            };
            let AlterOp::AddColumn { name, .. } = &a.actions[0].op else {
                panic!()
            };
            let table = a.table.unwrap();
            (
                name.object().to_string(),
                name.shown().to_string(),
                table.shown().to_string(),
            )
        };
        assert_eq!(
            column(Dialect::Sqlite),
            ("blobid".into(), "blobId".into(), "Notes".into())
        );
        assert_eq!(
            column(Dialect::Mysql),
            ("blobid".into(), "blobId".into(), "Notes".into())
        );
        assert_eq!(
            column(Dialect::Postgres),
            ("blobid".into(), "blobid".into(), "notes".into())
        );
    }

    #[test]
    fn transactions_pragmas_and_unknowns() {
        assert!(matches!(
            kind("BEGIN IMMEDIATE", Dialect::Sqlite),
            Kind::Transaction(Transaction::Begin)
        ));
        assert!(matches!(
            kind("ROLLBACK TO SAVEPOINT a", Dialect::Sqlite),
            Kind::Transaction(Transaction::RollbackTo)
        ));
        let Kind::Pragma(p) = kind("PRAGMA main.foreign_keys = ON", Dialect::Sqlite) else {
            panic!()
        };
        assert_eq!(p.name, "foreign_keys");
        assert_eq!(p.value.as_deref(), Some("ON"));
        assert!(matches!(
            kind("frobnicate x", Dialect::Sqlite),
            Kind::Unknown
        ));
        assert!(matches!(kind("", Dialect::Sqlite), Kind::Unknown));
    }
}
