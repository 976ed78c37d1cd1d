//! SQL files other tools' project files declare as something other than
//! migrations, left out of a walked folder with a notice (named on the
//! command line, a file is read):
//!
//! - sqlc's query files: the `queries` paths of the nearest `sqlc.yaml`,
//!   `sqlc.yml` or `sqlc.json` (sqlc resolves them from the file's folder;
//!   a path names a file or a folder whose own files are queries). A file named like a query file
//!   (`query.sql`, `queries.sql`, `users.query.sql`) whose first statement
//!   carries a query name tag (sqlc's `-- name: <Name> :<command>`, yesql's
//!   and dotsql's `-- name: <name>`, HugSQL's `-- :name <name>`) is a query
//!   file too, with or without a configuration file found;
//! - Atlas's desired schema: the `src = "file://..."` paths of the nearest
//!   `atlas.hcl` (`atlas migrate diff` writes migrations from them; they are
//!   never applied as migrations), and what they import
//!   (`-- atlas:import <path>`, a file or a folder, relative to the importing
//!   file).
//!
//! The project files are looked for in the folder and up to five folders
//! above it. Their formats are read leniently, line by line: a key this
//! reader does not understand leaves the files in.

use crate::dialect::Dialect;
use std::path::{Path, PathBuf};

/// How many folders above a migration folder a project file is looked for.
const LEVELS: usize = 5;

/// At most this many paths are declared (imports are followed up to it).
const MAX_IMPORTS: usize = 10_000;

/// The first `limit` bytes of a file, as text.
pub(super) fn head(path: &Path, limit: u64) -> Option<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    // Without blocking: a FIFO put in place of a listed file is no text.
    crate::source::open_regular(path)
        .ok()?
        .0
        .take(limit)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Paths (canonical; a file, or a folder whose files all count) declared as
/// not migrations, with the reason.
#[derive(Default)]
pub(super) struct Declared {
    paths: Vec<(PathBuf, String)>,
}

impl Declared {
    /// What the project files around `dir` (canonical) declare.
    pub(super) fn around(dir: &Path) -> Declared {
        let mut out = Declared::default();
        if let Some((at, text)) = nearest(dir, &["sqlc.yaml", "sqlc.yml", "sqlc.json"]) {
            for p in values(&text, "queries") {
                out.add(
                    &at.0,
                    &p,
                    format!("a sqlc query file (`queries` in {})", at.1),
                );
            }
        }
        if let Some((at, text)) = nearest(dir, &["atlas.hcl"]) {
            let why =
                "Atlas's desired schema (`src` in atlas.hcl: `atlas migrate diff` writes the \
                       migrations from it)";
            let first = out.paths.len();
            for p in values(&text, "src") {
                let Some(p) = p.strip_prefix("file://") else {
                    continue;
                };
                out.add(&at.0, p, why.to_string());
            }
            // The files those import (`-- atlas:import <path>`, relative to
            // the importing file; a folder imports its files), followed to
            // any depth, each file once.
            let mut i = first;
            while i < out.paths.len() && out.paths.len() < MAX_IMPORTS {
                let p = out.paths[i].0.clone();
                i += 1;
                if !p.is_file() {
                    continue;
                }
                let (Some(base), Some(text)) = (p.parent(), head(&p, 1 << 20)) else {
                    continue;
                };
                for line in text.lines() {
                    if let Some(rel) = line.trim().strip_prefix("-- atlas:import ") {
                        out.add(base, rel, why.to_string());
                    }
                }
            }
        }
        out
    }

    fn add(&mut self, base: &Path, rel: &str, why: String) {
        let rel = rel.trim().trim_start_matches("./");
        if rel.is_empty() || rel.contains(['*', '?', '{']) || self.paths.len() >= MAX_IMPORTS {
            return;
        }
        if let Ok(p) = std::fs::canonicalize(base.join(rel)) {
            if !self.paths.iter().any(|(q, _)| *q == p) {
                self.paths.push((p, why));
            }
        }
    }

    /// Why the file at `path` (canonical) is not a migration, if declared:
    /// the file itself, or a file directly in a declared folder (sqlc and
    /// Atlas read a folder's own files, not its sub-folders').
    pub(super) fn why(&self, path: &Path) -> Option<&str> {
        self.paths
            .iter()
            .find(|(p, _)| path == p || path.parent() == Some(p.as_path()))
            .map(|(_, w)| w.as_str())
    }
}

/// The nearest of `names` in `dir` or the folders above it: (its folder and
/// name, its text).
fn nearest(dir: &Path, names: &[&'static str]) -> Option<((PathBuf, &'static str), String)> {
    let mut at = Some(dir);
    for _ in 0..=LEVELS {
        let d = at?;
        for name in names {
            let p = d.join(name);
            if p.is_file() {
                // Project files are small: a huge one is read in part.
                let text = head(&p, 1 << 20)?;
                return Some(((d.to_path_buf(), name), text));
            }
        }
        at = d.parent();
    }
    None
}

/// The string values of `key` in a YAML, JSON or HCL text, read line by
/// line: `key: a`, `key = "a"`, `"key": "a"`, `key: [a, b]`, and a YAML
/// block list (`key:` followed by `- a` lines).
fn values(text: &str, key: &str) -> Vec<String> {
    let quoted = format!("\"{key}\"");
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start().trim_start_matches("- ").trim_start();
        let rest = match t.strip_prefix(key) {
            Some(r) => r,
            // JSON: the key anywhere on the line.
            None => match t.find(&quoted) {
                Some(i) => &t[i + quoted.len()..],
                None => continue,
            },
        };
        let rest = rest.trim_start();
        let Some(value) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) else {
            continue;
        };
        let value = strip_comment(value).trim();
        if value.is_empty() {
            // A YAML block list below the key.
            while let Some(next) = lines.peek() {
                let n = next.trim();
                match n.strip_prefix('-') {
                    Some(item) if !item.contains(": ") && !item.trim_end().ends_with(':') => {
                        out.push(unquote(strip_comment(item)));
                        lines.next();
                    }
                    _ => break,
                }
            }
            continue;
        }
        if let Some(list) = value.strip_prefix('[') {
            let list = &list[..list.find(']').unwrap_or(list.len())];
            out.extend(list.split(',').map(unquote).filter(|v| !v.is_empty()));
        } else if let Some(q) = value.strip_prefix(['"', '\'']) {
            let close = value.as_bytes()[0] as char;
            out.push(q[..q.find(close).unwrap_or(q.len())].to_string());
        } else {
            out.push(unquote(value.split(',').next().unwrap_or("")));
        }
    }
    out
}

fn strip_comment(v: &str) -> &str {
    match v.find(" #") {
        Some(i) => &v[..i],
        None => v,
    }
}

fn unquote(v: &str) -> String {
    v.trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .trim()
        .to_string()
}

/// Whether a file named like a query file (`query.sql`, `queries.sql`,
/// `x.query.sql`, `user_queries.sql`) starts, after comments and blank lines,
/// with a query's name tag: sqlc's `-- name: <Name> :<command>`, yesql's,
/// dotsql's and goyesql's `-- name: <name>`, HugSQL's `-- :name <name>`.
pub(super) fn is_query_file(name: &str, path: &Path) -> bool {
    let lower = name.to_ascii_lowercase();
    if !lower.contains("quer") {
        return false;
    }
    let Some(head) = head(path, 8192) else {
        return false;
    };
    for line in head.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let Some(c) = t.strip_prefix("--") else {
            return false;
        };
        // sqlc: `-- name: GetUser :one`; yesql, dotsql, goyesql:
        // `-- name: get-user`; HugSQL: `-- :name get-user :? :1`.
        let c = c.trim_start();
        if let Some(rest) = c.strip_prefix("name:").or_else(|| c.strip_prefix(":name ")) {
            return rest.split_whitespace().next().is_some();
        }
    }
    false
}

/// Whether a file's SQL is an application's query rather than a
/// migration: it has a bind parameter (`$1` outside any string or
/// dollar-quoted body: a migration tool would fail on it; pgTyped's
/// `:email!` or its `/* @name getUser */` tags), or every
/// statement reads only (`SELECT ... FROM`, `WITH ... SELECT ... FROM`,
/// with no writing word: not `INTO`, `INSERT`, `UPDATE`, `CREATE`, ...).
/// A `SELECT` without `FROM` (`SELECT create_hypertable('t', 'at')`,
/// `SELECT cron.schedule(...)`) may change the database: not a query.
/// A SQLPage page is a query file too, whatever it writes (SQLPage runs it
/// on every request to build a web page): it selects a `component` column
/// (`SELECT 'list' AS component`) or calls SQLPage's functions
/// (`sqlpage.cookie(...)`).
pub(super) fn is_query_text(text: &str) -> bool {
    use crate::lexer::TokenKind;
    const WRITES: &[&str] = &[
        "into", "insert", "update", "delete", "merge", "create", "alter", "drop", "truncate",
        "grant", "revoke", "comment", "call", "do", "copy", "set", "refresh", "vacuum", "analyze",
        "cluster", "reindex", "lock", "perform", "execute", "rename", "replace", "upsert", "load",
    ];
    // One pass over the tokens, nothing kept but the current statement's
    // verdict (any file size, constant memory).
    let mut param = false;
    let mut page = false;
    // The last two significant tokens: `AS component`, `sqlpage .`.
    let mut last: [Option<(TokenKind, &str)>; 2] = [None, None];
    let mut all_read = true;
    let mut statements = 0;
    // The statement so far: its first word was SELECT/WITH, it has a FROM,
    // it has a writing word; `None` before its first word.
    let mut stmt: Option<(bool, bool, bool)> = None;
    let mut close = |stmt: &mut Option<(bool, bool, bool)>| {
        if let Some((read, from, writes)) = stmt.take() {
            statements += 1;
            if !(read && from && !writes) {
                all_read = false;
            }
        }
    };
    for t in crate::lexer::Lexer::new(text, 0..text.len(), Dialect::Postgres) {
        // pgTyped's query files: each query tagged `/* @name getUser */`.
        if t.kind == TokenKind::BlockComment
            && text[t.span.clone()]
                .trim_start_matches("/*")
                .trim_start()
                .strip_prefix("@name")
                .is_some_and(|r| r.starts_with(char::is_whitespace))
        {
            param = true;
        }
        if t.kind.is_trivia() {
            continue;
        }
        let here = &text[t.span.clone()];
        let name = match t.kind {
            TokenKind::Word => Some(here),
            // (An unterminated one runs to the end of the text: `get`, as
            // its last byte may be inside a character.)
            TokenKind::QuotedIdent => here.get(1..here.len().saturating_sub(1)),
            _ => None,
        };
        let after_as =
            matches!(last[1], Some((TokenKind::Word, w)) if w.eq_ignore_ascii_case("as"));
        if name.is_some_and(|n| n.eq_ignore_ascii_case("component")) && after_as {
            page = true;
        }
        if t.kind == TokenKind::Punct
            && here == "."
            && matches!(last[1], Some((TokenKind::Word, w)) if w.eq_ignore_ascii_case("sqlpage"))
        {
            page = true;
        }
        last = [last[1], Some((t.kind, here))];
        match t.kind {
            TokenKind::Param
                if text[t.span.clone()]
                    .strip_prefix('$')
                    .is_some_and(|n| n.bytes().next().is_some_and(|b| b.is_ascii_digit())) =>
            {
                param = true;
            }
            // pgTyped's required parameter `:email!` (psql's `:var`, which
            // migration scripts use, has no `!`).
            TokenKind::Param if here.starts_with(':') && text[t.span.end..].starts_with('!') => {
                param = true;
            }
            TokenKind::Semicolon => close(&mut stmt),
            TokenKind::Word => {
                let w = &text[t.span.clone()];
                match &mut stmt {
                    None => {
                        let read =
                            w.eq_ignore_ascii_case("select") || w.eq_ignore_ascii_case("with");
                        let writes = WRITES.iter().any(|x| x.eq_ignore_ascii_case(w));
                        stmt = Some((read, false, writes));
                    }
                    Some((_, from, writes)) => {
                        *from |= w.eq_ignore_ascii_case("from");
                        *writes |= WRITES.iter().any(|x| x.eq_ignore_ascii_case(w));
                    }
                }
            }
            _ => {}
        }
    }
    close(&mut stmt);
    param || page || (all_read && statements > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project file, control file or query file swapped for a FIFO after
    /// it was listed is no text: read without blocking, not waited on.
    #[cfg(unix)]
    #[test]
    fn the_head_of_a_fifo_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("vector.control");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(head(&fifo, 4096), None);
        let file = dir.path().join("go.mod");
        std::fs::write(&file, "module x\n").unwrap();
        assert_eq!(head(&file, 4096).as_deref(), Some("module x\n"));
    }

    #[test]
    fn query_texts() {
        // Bind parameters, whatever the statement.
        assert!(is_query_text(
            "WITH b AS (SELECT id FROM t LIMIT $1) UPDATE t SET n = n + 1 FROM b WHERE t.id = b.id"
        ));
        // Read-only queries.
        assert!(is_query_text(
            "-- categories\nSELECT c.id, sum(c2.n)::int FROM c JOIN c2 ON c2.x = c.x\n{} LIMIT 10;"
        ));
        // `$1` in a function body is the function's parameter.
        assert!(!is_query_text(
            "CREATE FUNCTION f(int) RETURNS int AS $$ SELECT $1 + 1 $$ LANGUAGE sql;"
        ));
        // SELECTs that change things, and statements that write.
        assert!(!is_query_text("SELECT create_hypertable('m', 'at');"));
        assert!(!is_query_text("SELECT * INTO backup FROM t;"));
        assert!(!is_query_text("SELECT 1 FROM t; CREATE TABLE u (id int);"));
        assert!(!is_query_text("-- nothing\n"));
    }

    #[test]
    fn pgtyped_query_files_are_query_files() {
        // The `@name` tag, whatever the statement writes.
        assert!(is_query_text(
            "/* @name countVisit */\nUPDATE users SET visits = visits + 1 WHERE id = 1;"
        ));
        // A required parameter `:id!`.
        assert!(is_query_text(
            "UPDATE users SET visits = visits + 1 WHERE id = :id!;"
        ));
        // psql's variables in a migration script, a `@name` elsewhere, a cast:
        // none is a sign.
        assert!(!is_query_text("GRANT CONNECT ON DATABASE :dbname TO app;"));
        assert!(!is_query_text(
            "/* see @name in the docs */ CREATE TABLE t (id int);"
        ));
        assert!(!is_query_text("/* @names */ UPDATE t SET n = n::int + 1;"));
    }

    #[test]
    fn sqlpage_pages_are_query_files() {
        assert!(is_query_text(
            "SELECT 'list' AS component, 'Tasks' AS title;\nSELECT title FROM tasks;"
        ));
        assert!(is_query_text(
            "INSERT INTO tasks (title) VALUES (:title)\nRETURNING 'redirect' AS \"component\", '/' AS link;"
        ));
        assert!(is_query_text(
            "SET user = (SELECT name FROM sessions WHERE id = sqlpage.cookie('session'));\nUPDATE users SET seen = now() WHERE name = $user;"
        ));
        // A column named `component` is not a page.
        assert!(!is_query_text(
            "CREATE TABLE parts (id int, component text);\nINSERT INTO parts (component) VALUES ('as component');"
        ));
        assert!(!is_query_text(
            "ALTER TABLE parts RENAME COLUMN kind TO component;"
        ));
        // An unterminated quoted name ending inside a character.
        assert!(!is_query_text("CREATE TABLE t (a int); SELECT 1 AS \"é"));
        assert!(!is_query_text("\""));
    }

    #[test]
    fn reads_the_shapes_of_sqlc_and_atlas_files() {
        let yaml = "version: \"2\"\nsql:\n- schema: \"postgres/schema.sql\"\n  queries: \"postgres/query.sql\" # here\n  engine: postgresql\n- schema: db/migrations\n  queries:\n    - db/a.sql\n    - 'db/b'\n  engine: sqlite\n";
        assert_eq!(
            values(yaml, "queries"),
            ["postgres/query.sql", "db/a.sql", "db/b"]
        );
        let json = "{\"sql\": [{\"queries\": [\"q1.sql\", \"q2\"], \"schema\": \"s\"}]}";
        assert_eq!(values(json, "queries"), ["q1.sql", "q2"]);
        let json = "{\"sql\": [{\"queries\": \"q.sql\", \"schema\": \"s\"}]}";
        assert_eq!(values(json, "queries"), ["q.sql"]);
        let json = "{\n  \"sql\": [{\n    \"queries\": [\"q1.sql\", \"q2\"],\n    \"schema\": \"s\"\n  }]\n}";
        assert_eq!(values(json, "queries"), ["q1.sql", "q2"]);
        let v1 = "packages:\n  - name: db\n    queries: ./sql/query/\n";
        assert_eq!(values(v1, "queries"), ["./sql/query/"]);
        let hcl = "env \"local\" {\n  src = \"file://schema.sql\"\n  dev = \"docker://postgres/16/dev\"\n}\nenv \"b\" {\n  src = [\"file://a.hcl\", \"file://b.sql\"]\n}\n";
        assert_eq!(
            values(hcl, "src"),
            ["file://schema.sql", "file://a.hcl", "file://b.sql"]
        );
        // Other keys that start like the key are not it.
        assert!(values("sources: x\nsrc_dir = \"y\"\n", "src").is_empty());
    }

    #[test]
    fn a_declared_folder_covers_its_own_files_only() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("db");
        std::fs::create_dir_all(db.join("migrations")).unwrap();
        std::fs::write(
            db.join("sqlc.yaml"),
            "sql:\n  - queries: \".\"\n    schema: migrations\n",
        )
        .unwrap();
        std::fs::write(db.join("users.sql"), "-- name: GetUser :one\nSELECT 1;\n").unwrap();
        std::fs::write(
            db.join("migrations/001_init.sql"),
            "CREATE TABLE u (id int);\n",
        )
        .unwrap();
        let db = std::fs::canonicalize(&db).unwrap();
        let d = Declared::around(&db.join("migrations"));
        assert!(d.why(&db.join("users.sql")).is_some());
        assert_eq!(d.why(&db.join("migrations/001_init.sql")), None);
    }

    #[test]
    fn tells_query_files_by_sqlc_comment() {
        let tmp = tempfile::tempdir().unwrap();
        let q = tmp.path().join("query.sql");
        std::fs::write(
            &q,
            "-- queries of the app\n\n-- name: GetUser :one\nSELECT 1;\n",
        )
        .unwrap();
        assert!(is_query_file("query.sql", &q));
        let m = tmp.path().join("queries.sql");
        std::fs::write(&m, "CREATE TABLE t (id int);\n-- name: GetUser :one\n").unwrap();
        assert!(!is_query_file("queries.sql", &m));
        let n = tmp.path().join("001_init.sql");
        std::fs::write(&n, "-- name: GetUser :one\nSELECT 1;\n").unwrap();
        assert!(!is_query_file("001_init.sql", &n));
        let o = tmp.path().join("x.query.sql");
        std::fs::write(&o, "--name: load-key-pair\nSELECT 1;\n").unwrap();
        assert!(is_query_file("x.query.sql", &o));
        let h = tmp.path().join("user_queries.sql");
        std::fs::write(&h, "-- :name get-user :? :1\nSELECT 1;\n").unwrap();
        assert!(is_query_file("user_queries.sql", &h));
        let e = tmp.path().join("queries.sql");
        std::fs::write(&e, "-- name:\nSELECT 1;\n").unwrap();
        assert!(!is_query_file("queries.sql", &e));
    }
}
