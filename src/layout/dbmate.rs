//! `dbmate` (`dbmate up`): one file per migration, named `<version>*.sql`
//! (the version is the leading digits), with a `-- migrate:up` and a
//! `-- migrate:down` section.
//!
//! As dbmate (v2) does: migrations run in file-name order (text order: dbmate
//! versions are fixed-width timestamps); files not starting with a digit
//! are ignored; the up section runs from its marker to the down marker, the
//! down section from its marker to the end of the file; options after a
//! marker (`-- migrate:up transaction:false`) apply to that section. dbmate
//! refuses a file without `-- migrate:up`, without `-- migrate:down`, with
//! the down marker first, or with statements before the up marker: those
//! are `malformed-migration` findings (the file is still read, the up part
//! being the whole file when there is no up marker).

use super::{lines, part, region, Folder, Line, Plan};
use crate::dialect::Dialect;
use crate::model::Migration;

/// A `-- migrate:up` / `-- migrate:down` marker line.
struct Marker {
    line: Line,
    no_transaction: bool,
}

/// Finds the first marker line for `word` (`up` or `down`).
fn marker(text: &str, all: &[Line], word: &str) -> Option<Marker> {
    find_marker(text, all, word, false)
}

/// A marker line with blanks before its `--`: dbmate does not read it (its
/// markers start in column 0), but the author meant one.
fn indented_marker(text: &str, all: &[Line], word: &str) -> Option<Marker> {
    find_marker(text, all, word, true)
}

fn find_marker(text: &str, all: &[Line], word: &str, indented: bool) -> Option<Marker> {
    let directive = format!("migrate:{word}");
    for l in all {
        let line = &text[l.start..l.end];
        let s = if indented {
            let t = line.trim_start();
            if t.len() == line.len() {
                continue;
            }
            t
        } else {
            line
        };
        let Some(rest) = s.strip_prefix("--") else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(after) = rest.strip_prefix(directive.as_str()) else {
            continue;
        };
        if !(after.is_empty() || after.starts_with(char::is_whitespace)) {
            continue;
        }
        let no_transaction = after.split_whitespace().any(|opt| {
            opt.split_once(':')
                .is_some_and(|(k, v)| k == "transaction" && v == "false")
        });
        return Some(Marker {
            line: *l,
            no_transaction,
        });
    }
    None
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut order: Vec<usize> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "dbmate reads only the files directly in its folder".into(),
            ));
        } else if !e.base().starts_with(|c: char| c.is_ascii_digit()) || !e.base().ends_with(".sql")
        {
            plan.skipped.push((
                i,
                "dbmate migration names start with a version number".into(),
            ));
        } else {
            order.push(i);
        }
    }
    order.sort_by(|&a, &b| folder.entries[a].base().cmp(folder.entries[b].base()));
    for i in order {
        let e = &folder.entries[i];
        let text = &e.file.text;
        let all = lines(text);
        let up = marker(text, &all, "up");
        let mut down = marker(text, &all, "down");
        if down.is_none() {
            // An indented `-- migrate:down`: dbmate refuses the file; twice
            // says why and still reads the section as the down part.
            if let Some(d) = indented_marker(text, &all, "down") {
                plan.problem(
                    i,
                    d.line.start..d.line.end,
                    "dbmate refuses this migration: its `-- migrate:down` line is indented, and dbmate reads markers only at the start of a line".into(),
                    "move `-- migrate:down` to the start of its line",
                );
                down = Some(d);
            }
        }
        let version = super::leading_digits(e.base()).to_string();
        let name = e.base()[version.len()..]
            .trim_start_matches('_')
            .trim_end_matches(".sql")
            .to_string();
        let Some(up) = up else {
            match indented_marker(text, &all, "up") {
                Some(u) => plan.problem(
                    i,
                    u.line.start..u.line.end,
                    "dbmate refuses this migration: its `-- migrate:up` line is indented, and dbmate reads markers only at the start of a line".into(),
                    "move `-- migrate:up` to the start of its line",
                ),
                None => plan.problem(
                    i,
                    0..0,
                    "dbmate refuses this migration: it has no `-- migrate:up` section".into(),
                    "start the migration with a `-- migrate:up` line and put its rollback under `-- migrate:down`",
                ),
            }
            plan.migrations
                .push(Migration::new(version, name, super::whole(folder, i), None));
            continue;
        };
        if let Some(l) = all[..all.iter().position(|l| *l == up.line).unwrap_or(0)]
            .iter()
            .find(|l| {
                let s = text[l.start..l.end].trim();
                !s.is_empty() && !s.starts_with("--")
            })
        {
            plan.problem(
                i,
                l.start..l.end,
                "dbmate refuses this migration: statements come before the `-- migrate:up` line"
                    .into(),
                "move these statements below `-- migrate:up`",
            );
        }
        let (up_range, down_range) = match &down {
            None => {
                plan.problem(
                    i,
                    up.line.start..up.line.end,
                    "dbmate refuses this migration: it has no `-- migrate:down` section".into(),
                    "add a `-- migrate:down` line (followed by the rollback, or nothing) after the up section",
                );
                (up.line.next..text.len(), None)
            }
            Some(d) if d.line.start > up.line.start => {
                (up.line.next..d.line.start, Some(d.line.next..text.len()))
            }
            Some(d) => {
                plan.problem(
                    i,
                    d.line.start..d.line.end,
                    "dbmate refuses this migration: `-- migrate:down` comes before `-- migrate:up`"
                        .into(),
                    "put the up section first",
                );
                (up.line.next..text.len(), Some(d.line.next..up.line.start))
            }
        };
        let mut up_part = part(i, vec![region(up_range)]);
        up_part.no_transaction = up.no_transaction;
        let down_part = down.as_ref().zip(down_range).map(|(d, r)| {
            let mut p = part(i, vec![region(r)]);
            p.no_transaction = d.no_transaction;
            p
        });
        plan.migrations
            .push(Migration::new(version, name, up_part, down_part));
    }
    super::duplicate_versions(&mut plan, folder, "dbmate", |m| Some(m.version.clone()));
    plan
}

/// The dbmate layout.
pub struct Dbmate;

impl super::Layout for Dbmate {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`-- migrate:up transaction:false`")
    }

    /// dbmate's `schema_migrations (version)`.
    fn bookkeeping_sql(&self, _engine: Dialect) -> Option<&'static str> {
        Some("CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY)")
    }

    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::Dbmate
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .find(|e| e.marks.has(self.kind()))
            .map(|e| format!("`-- migrate:up` markers in {}", e.rel))
    }

    fn line_mark(&self) -> Option<fn(&str) -> bool> {
        Some(super::detect::is_dbmate_marker)
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

#[cfg(test)]
mod indent_tests {
    use super::super::test_util::*;

    #[test]
    fn an_indented_down_marker_is_said_to_be_indented() {
        let f = folder(&[(
            "1_a.sql",
            "-- migrate:up\nCREATE TABLE a (id int);\n  -- migrate:down\nDROP TABLE a;\n",
        )]);
        let p = super::plan(&f);
        assert_eq!(p.problems.len(), 1);
        assert!(
            p.problems[0].message.contains("indented"),
            "{:?}",
            p.problems
        );
        let m = &p.migrations[0];
        assert_eq!(texts(&f, &m.up), "CREATE TABLE a (id int);");
        assert_eq!(texts(&f, m.down.as_ref().unwrap()), "DROP TABLE a;");
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;

    #[test]
    fn sections_and_options() {
        let f = folder(&[
            (
                "20240102_b.sql",
                "-- comment\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t(x);\n-- migrate:down\nDROP INDEX i;\n",
            ),
            ("20240101_a.sql", "--migrate:up\r\nCREATE TABLE t(x);\r\n--  migrate:down\r\nDROP TABLE t;"),
            ("schema.sql", "CREATE TABLE t(x);"),
        ]);
        let p = super::plan(&f);
        assert_eq!(
            order(&f, &p),
            vec!["20240101 20240101_a.sql", "20240102 20240102_b.sql"]
        );
        assert_eq!(texts(&f, &p.migrations[0].up), "CREATE TABLE t(x);");
        assert_eq!(
            texts(&f, p.migrations[0].down.as_ref().unwrap()),
            "DROP TABLE t;"
        );
        assert!(p.migrations[1].up.no_transaction);
        assert!(!p.migrations[1].down.as_ref().unwrap().no_transaction);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn what_dbmate_refuses() {
        let f = folder(&[
            ("1_no_up.sql", "CREATE TABLE t(x);"),
            ("2_no_down.sql", "-- migrate:up\nCREATE TABLE u(x);"),
            (
                "3_before.sql",
                "CREATE TYPE s;\n-- migrate:up\nSELECT 1;\n-- migrate:down\n",
            ),
            (
                "4_upgrade.sql",
                "-- migrate:upgrade\nSELECT 1;\n-- migrate:up\nSELECT 2;\n-- migrate:down\n",
            ),
        ]);
        let p = super::plan(&f);
        assert_eq!(p.problems.len(), 4, "{:?}", p.problems);
        assert_eq!(texts(&f, &p.migrations[0].up), "CREATE TABLE t(x);");
        assert_eq!(texts(&f, &p.migrations[3].up), "SELECT 2;");
    }
}
