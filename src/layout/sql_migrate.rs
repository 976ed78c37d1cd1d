//! `sql-migrate` (rubenv/sql-migrate, `sql-migrate up`, `migrate.Exec`): one
//! `.sql` file per migration with `-- +migrate Up` and `-- +migrate Down`
//! sections.
//!
//! As sql-migrate does (its `sqlparse.ParseMigration` and
//! `FileMigrationSource`, github.com/rubenv/sql-migrate `sqlparse/sqlparse.go`
//! and `migrate.go`):
//! - every file directly in the folder whose name ends in `.sql` is a
//!   migration; its id is the file name; sub-folders are not read;
//! - migrations run by id: ids with a leading number (`^(\d+)`) first, by
//!   that number, then by the whole id as text; ids without one after them,
//!   as text;
//! - commands are lines starting with exactly `-- +migrate ` (case matters:
//!   `Up`, `Down`, `StatementBegin`, `StatementEnd`); `notransaction` after
//!   `Up` or `Down` runs that direction outside a transaction;
//! - lines before the first `Up`/`Down` are ignored; other lines starting
//!   with `-- ` are comments;
//! - a statement ends at a line whose last word (before a `--` comment)
//!   ends with `;`, except between `StatementBegin` and `StatementEnd`,
//!   whose lines are sent as one statement (twice's static rules still see
//!   each statement of such a block).
//!
//! sql-migrate refuses a file without any `Up`/`Down` command, a statement
//! left without its `;` when the next section starts or the file ends, and
//! a `StatementBegin` never closed: those are `malformed-migration` findings
//! (the file is still read, as a whole up part when it has no sections).
//!
//! A Go module whose `go.mod` (the nearest above the folder) requires no
//! sql-migrate (rubenv's or a fork) and that has no `dbconfig.yml` for the
//! sql-migrate command runs the annotated files with a runner of its own
//! (target/goalert's): its sections are read as above, but split into
//! statements as the database's client would (dollar quotes and strings
//! respected), not at each line ending in `;`; a notice says so.

use super::{lines, numeric_cmp, part, whole, Folder, Plan};
use crate::model::{LayoutKind, Migration, Region};
use std::cmp::Ordering;
use std::ops::Range;

/// The sql-migrate layout.
pub struct SqlMigrate;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("sql-migrate");

const PREFIX: &str = "-- +migrate ";

impl super::Layout for SqlMigrate {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`-- +migrate Up notransaction`")
    }

    /// sql-migrate's `gorp_migrations` (its `migrate.SetTable` default), as
    /// its `MigrationRecord` maps it.
    fn bookkeeping_sql(&self, engine: crate::dialect::Dialect) -> Option<&'static str> {
        use crate::dialect::Dialect;
        Some(match engine {
            Dialect::Postgres => {
                "CREATE TABLE IF NOT EXISTS gorp_migrations (id text NOT NULL PRIMARY KEY, \
                 applied_at timestamp with time zone)"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS gorp_migrations (id varchar(255) NOT NULL PRIMARY KEY, \
                 applied_at datetime)"
            }
        })
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    /// sql-migrate refuses a migration without annotations, so a folder
    /// of its migrations has them in most files: one annotated file among
    /// many others (a pop history with one file written for sql-migrate,
    /// ory/hydra's) does not make the folder sql-migrate's.
    fn detect(&self, folder: &Folder) -> Option<String> {
        let own: Vec<&super::Entry> = folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .collect();
        let marked: Vec<&&super::Entry> = own.iter().filter(|e| e.marks.has(self.kind())).collect();
        let first = marked.first()?;
        (marked.len() * 2 > own.len()).then(|| {
            format!(
                "`-- +migrate Up`/`Down` annotations in {} ({} of {} files)",
                first.rel,
                marked.len(),
                own.len()
            )
        })
    }

    fn line_mark(&self) -> Option<fn(&str) -> bool> {
        Some(is_marker)
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &["dbconfig.yml", "go.mod"]
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        rel == "dbconfig.yml"
    }

    /// `dialect:` of the environments in sql-migrate's `dbconfig.yml`
    /// (beside the folder or above it), when they all name one.
    fn dialect(&self, folder: &Folder) -> Option<(crate::dialect::Dialect, String)> {
        use crate::dialect::Dialect;
        let text = folder
            .aux
            .get("dbconfig.yml")
            .or_else(|| folder.aux.get("../dbconfig.yml"))?;
        let mut found: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("dialect:"))
            .map(|v| v.trim().trim_matches(['"', '\'']))
            .collect();
        found.dedup();
        let [name] = found.as_slice() else {
            return None;
        };
        let d = match *name {
            "sqlite3" | "sqlite" => Dialect::Sqlite,
            "postgres" => Dialect::Postgres,
            "mysql" => Dialect::Mysql,
            _ => return None,
        };
        Some((d, format!("dbconfig.yml: dialect: {name}")))
    }
}

/// A `-- +migrate Up` or `Down` line (any case, maybe indented: detection
/// takes the author's intent; the plan then says what sql-migrate refuses).
pub fn has_marker(text: &str) -> bool {
    text.lines().any(is_marker)
}

/// `line` is a `-- +migrate Up` or `Down` line.
fn is_marker(line: &str) -> bool {
    line.trim_start()
        .strip_prefix("--")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("+migrate"))
        .and_then(|r| r.split_whitespace().next())
        .is_some_and(|w| w.eq_ignore_ascii_case("up") || w.eq_ignore_ascii_case("down"))
}

/// sql-migrate's end-of-statement test: the last word before a `--`
/// comment ends with `;`.
fn ends_with_semicolon(line: &str) -> bool {
    let mut prev = "";
    for word in line.split_whitespace() {
        if word.starts_with("--") {
            break;
        }
        prev = word;
    }
    prev.ends_with(';')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    None,
    Up,
    Down,
}

/// The sections of one file.
#[derive(Debug, Default)]
pub struct Sections {
    pub up: Option<Vec<Region>>,
    pub down: Option<Vec<Region>>,
    pub up_no_transaction: bool,
    pub down_no_transaction: bool,
    pub problems: Vec<(Range<usize>, String, &'static str)>,
}

/// How a section is cut into statements.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Split {
    /// sql-migrate's: at each line whose last word ends with `;`.
    Lines,
    /// The database client's: the section is one text, split by the
    /// dialect's tokens (a project's own runner reading the annotations).
    Sql,
}

/// Whether the folder's migrations run with a runner of the project's own
/// rather than sql-migrate: the nearest `go.mod` requires no module named
/// `sql-migrate` and there is no `dbconfig.yml` (the sql-migrate command's
/// settings) beside or above the folder.
pub fn own_runner(folder: &Folder) -> bool {
    let Some(go_mod) = folder.aux.get("../go.mod") else {
        return false;
    };
    let sql_migrate =
        super::go_requirements(go_mod).any(|(m, _)| m.rsplit('/').next() == Some("sql-migrate"));
    !sql_migrate
        && !folder.aux.contains_key("dbconfig.yml")
        && !folder.aux.contains_key("../dbconfig.yml")
}

pub fn sections(text: &str) -> Sections {
    sections_split(text, Split::Lines)
}

pub fn sections_split(text: &str, split: Split) -> Sections {
    let mut s = Sections::default();
    let mut dir = Dir::None;
    let mut in_block = false;
    // The statement being read: its range and whether it is a block.
    let mut chunk: Option<(Range<usize>, bool)> = None;
    let mut begin_line = 0..0;
    let push = |s: &mut Sections, dir: Dir, (range, single): (Range<usize>, bool)| {
        let region = Region {
            range,
            single_statement: single,
        };
        match dir {
            Dir::Up => s.up.get_or_insert_with(Vec::new).push(region),
            Dir::Down => s.down.get_or_insert_with(Vec::new).push(region),
            Dir::None => {}
        }
    };
    let unterminated = |s: &mut Sections, r: Range<usize>| {
        if split == Split::Sql {
            return;
        }
        s.problems.push((
            r,
            "sql-migrate refuses this migration: the statement does not end with `;` (the last statement must be ended by a semicolon or `-- +migrate StatementEnd`)".into(),
            "end the statement with `;` at the end of its last line",
        ));
    };
    for l in lines(text) {
        let t = &text[l.start..l.end];
        if let Some(cmd) = t.strip_prefix(PREFIX) {
            let mut words = cmd.split_whitespace();
            let word = words.next().unwrap_or("");
            let no_tx = words.any(|w| w == "notransaction");
            match word {
                "Up" | "Down" => {
                    if let Some(c) = chunk.take() {
                        unterminated(&mut s, c.0.clone());
                        push(&mut s, dir, c);
                    }
                    if word == "Up" {
                        dir = Dir::Up;
                        s.up.get_or_insert_with(Vec::new);
                        s.up_no_transaction |= no_tx;
                    } else {
                        dir = Dir::Down;
                        s.down.get_or_insert_with(Vec::new);
                        s.down_no_transaction |= no_tx;
                    }
                }
                "StatementBegin" if dir != Dir::None => {
                    if let Some(c) = chunk.take() {
                        // The lines before the block run with it, as one text.
                        chunk = Some((c.0, true));
                    }
                    in_block = true;
                    begin_line = l.start..l.end;
                }
                "StatementEnd" if dir != Dir::None => {
                    if in_block {
                        if let Some(c) = chunk.take() {
                            push(&mut s, dir, (c.0, true));
                        }
                    }
                    in_block = false;
                }
                _ => {}
            }
            continue;
        }
        if dir == Dir::None || t.starts_with("-- +") {
            continue;
        }
        if t.starts_with("-- ") || (chunk.is_none() && t.trim().is_empty()) {
            continue;
        }
        let c = chunk.get_or_insert((l.start..l.end, in_block));
        c.0.end = l.end;
        if !in_block && split == Split::Lines && ends_with_semicolon(t) {
            if let Some(c) = chunk.take() {
                push(&mut s, dir, c);
            }
        }
    }
    if in_block {
        s.problems.push((
            begin_line,
            "sql-migrate refuses this migration: `-- +migrate StatementBegin` is never closed by `-- +migrate StatementEnd`".into(),
            "add `-- +migrate StatementEnd` after the statement",
        ));
    }
    if let Some(c) = chunk.take() {
        if !text[c.0.clone()].trim().is_empty() && !in_block {
            unterminated(&mut s, c.0.clone());
        }
        push(&mut s, dir, c);
    }
    if s.up.is_none() && s.down.is_none() {
        let indented = text.lines().any(|l| {
            l.starts_with(char::is_whitespace) && l.trim_start().starts_with(PREFIX.trim_end())
        });
        let (message, help) = if indented {
            (
                "sql-migrate refuses this migration: its `-- +migrate` annotations are indented, and sql-migrate reads them only at the start of a line",
                "move `-- +migrate Up` and `-- +migrate Down` to the start of their lines",
            )
        } else if has_marker(text) {
            (
                "sql-migrate refuses this migration: its annotations are not written `-- +migrate Up` / `-- +migrate Down` exactly (sql-migrate reads them case-sensitively, after `-- ` with one space)",
                "write the annotations as `-- +migrate Up` and `-- +migrate Down`",
            )
        } else {
            (
                "sql-migrate refuses this migration: it has no `-- +migrate Up` or `-- +migrate Down` annotation",
                "start the file with `-- +migrate Up` (and put the rollback under `-- +migrate Down`)",
            )
        };
        s.problems.push((0..0, message.into(), help));
    }
    s
}

/// sql-migrate's order of ids: a leading number first (compared as a
/// number), then the id as text; ids without a number last.
fn id_cmp(a: &str, b: &str) -> Ordering {
    let (da, db) = (super::leading_digits(a), super::leading_digits(b));
    match (da.is_empty(), db.is_empty()) {
        (false, false) => numeric_cmp(da, db).then_with(|| a.cmp(b)),
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        (true, true) => a.cmp(b),
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut order: Vec<usize> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "sql-migrate reads only the files directly in its folder".into(),
            ));
        } else if !e.base().ends_with(".sql") {
            plan.skipped
                .push((i, "sql-migrate reads only names ending in `.sql`".into()));
        } else {
            order.push(i);
        }
    }
    order.sort_by(|&a, &b| id_cmp(folder.entries[a].base(), folder.entries[b].base()));
    let split = if own_runner(folder) {
        plan.notices.push(format!(
            "{}: the `-- +migrate` sections are split into statements as the database's client \
             would, not at each line ending in `;` as sql-migrate does: the nearest go.mod requires \
             no sql-migrate and there is no dbconfig.yml, so a runner of the project's own reads \
             them (add the dbconfig.yml the sql-migrate command reads to have them split as it does)",
            folder.display
        ));
        Split::Sql
    } else {
        Split::Lines
    };
    for i in order {
        let e = &folder.entries[i];
        let s = sections_split(&e.file.text, split);
        for (span, message, help) in s.problems {
            plan.problem(i, span, message, help);
        }
        let (mut up, down) = match (s.up, s.down) {
            (None, None) => (whole(folder, i), None),
            (up, down) => (
                part(i, up.unwrap_or_default()),
                down.map(|regions| {
                    let mut p = part(i, regions);
                    p.no_transaction = s.down_no_transaction;
                    p
                }),
            ),
        };
        up.no_transaction = s.up_no_transaction;
        let stem = e.base().strip_suffix(".sql").unwrap_or(e.base());
        let digits = super::leading_digits(stem);
        plan.migrations.push(Migration::new(
            if digits.is_empty() { stem } else { digits }.to_string(),
            stem.to_string(),
            up,
            down,
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn one_annotated_file_among_many_does_not_make_the_folder_sql_migrate() {
        use super::super::Layout;
        let stray = folder(&[
            ("1_a.up.sql", "CREATE TABLE a (id int);"),
            ("1_a.down.sql", "DROP TABLE a;"),
            (
                "2_b.cockroach.up.sql",
                "-- +migrate Up\nCREATE TABLE b (id int);",
            ),
            ("2_b.up.sql", "CREATE TABLE b (id int);"),
        ]);
        assert_eq!(super::SqlMigrate.detect(&stray), None);
        let most = folder(&[
            ("1_a.sql", "-- +migrate Up\nCREATE TABLE a (id int);"),
            ("2_b.sql", "-- +migrate Up\nCREATE TABLE b (id int);"),
            ("3_c.sql", "CREATE TABLE c (id int);"),
        ]);
        assert!(super::SqlMigrate
            .detect(&most)
            .is_some_and(|w| w.contains("(2 of 3 files)")));
    }

    #[test]
    fn sections_split_like_sql_migrate() {
        let text = "-- header\n-- +migrate Up notransaction\nCREATE TABLE a (id int);\n-- a comment;\n-- +migrate StatementBegin\nCREATE FUNCTION f() RETURNS int AS 'SELECT 1;' LANGUAGE sql;\n-- +migrate StatementEnd\n\n-- +migrate Down\nDROP TABLE a;\n";
        let f = folder(&[("1_a.sql", text)]);
        let p = plan(&f);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let m = &p.migrations[0];
        assert!(m.up.no_transaction);
        assert_eq!(
            texts(&f, &m.up),
            "CREATE TABLE a (id int);|CREATE FUNCTION f() RETURNS int AS 'SELECT 1;' LANGUAGE sql;"
        );
        assert!(m.up.regions[1].single_statement);
        let d = m.down.as_ref().unwrap();
        assert!(!d.no_transaction);
        assert_eq!(texts(&f, d), "DROP TABLE a;");
    }

    #[test]
    fn dialect_from_dbconfig() {
        use super::super::Layout;
        let mut f = folder(&[("1_a.sql", "-- +migrate Up\n")]);
        f.aux.insert(
            "../dbconfig.yml".into(),
            "development:\n  dialect: mysql\n  dir: sql\nproduction:\n  dialect: mysql\n".into(),
        );
        assert_eq!(
            SqlMigrate.dialect(&f).map(|d| d.0),
            Some(crate::dialect::Dialect::Mysql)
        );
        f.aux.insert(
            "../dbconfig.yml".into(),
            "a:\n  dialect: mysql\nb:\n  dialect: postgres\n".into(),
        );
        assert_eq!(SqlMigrate.dialect(&f), None);
    }

    #[test]
    fn order_is_numeric_then_text() {
        let f = folder(&[
            ("10_c.sql", "-- +migrate Up\n"),
            ("9_b.sql", "-- +migrate Up\n"),
            ("init.sql", "-- +migrate Up\n"),
            ("9_a.sql", "-- +migrate Up\n"),
        ]);
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            ["9 9_a.sql", "9 9_b.sql", "10 10_c.sql", "init init.sql"]
        );
    }

    #[test]
    fn what_sql_migrate_refuses() {
        let p = plan(&folder(&[("1_a.sql", "CREATE TABLE a (id int);\n")]));
        assert!(p.problems[0].message.contains("no `-- +migrate Up`"));
        let p = plan(&folder(&[("1_a.sql", "  -- +migrate Up\nSELECT 1;\n")]));
        assert!(p.problems[0].message.contains("indented"));
        let p = plan(&folder(&[("1_a.sql", "-- +migrate up\nSELECT 1;\n")]));
        assert!(p.problems[0].message.contains("exactly"));
        let p = plan(&folder(&[(
            "1_a.sql",
            "-- +migrate Up\nSELECT 1\n-- +migrate Down\nSELECT 2;\n",
        )]));
        assert!(p.problems[0].message.contains("does not end with `;`"));
        let p = plan(&folder(&[(
            "1_a.sql",
            "-- +migrate Up\n-- +migrate StatementBegin\nSELECT 1;\n",
        )]));
        assert!(p.problems[0].message.contains("never closed"));
    }
}
