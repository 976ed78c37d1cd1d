//! `play-evolutions` (Play Framework's database evolutions):
//! `conf/evolutions/<db>/1.sql`, `2.sql`, ... each holding a `# --- !Ups`
//! section and a `# --- !Downs` one. As Play reads them (playframework
//! `play-jdbc-evolutions`, `ResourceEvolutionsReader.evolutions`):
//!
//! - the evolutions are `1.sql`, `2.sql`, ... read from revision 1 upwards
//!   until the first revision that has no file: a file after a gap, or one
//!   with another name (`001.sql`), is never run;
//! - in a file, a line that starts with `#` (or `--`, as newer Play versions
//!   also accept) and holds `!Ups` starts the up part, one holding `!Downs`
//!   the down part; text before the first marker belongs to neither;
//! - Play runs an evolution's statements one by one, in a transaction when
//!   the database can roll DDL back (`autocommit` off by default);
//! - Play replaces `;;` with `;` in each statement it sends (a `;` inside a
//!   function body is written `;;`); twice does the same inside the
//!   statements it cuts (it cuts at `;` outside quotes and dollar-quoted
//!   bodies, where Play cuts at every single `;`).

use super::{part, region, Folder, Plan};
use crate::model::{LayoutKind, Migration};

/// The Play evolutions layout.
pub struct PlayEvolutions;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("play-evolutions");

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Marker {
    Ups,
    Downs,
}

/// The marker a line is, as Play's `^#.*!Ups.*$` (after trimming).
fn marker(line: &str) -> Option<Marker> {
    let t = line.trim();
    if !(t.starts_with('#') || t.starts_with("--")) {
        return None;
    }
    if t.contains("!Ups") {
        Some(Marker::Ups)
    } else if t.contains("!Downs") {
        Some(Marker::Downs)
    } else {
        None
    }
}

/// The byte ranges of a file's up and down sections (the first of each
/// kind; Play joins several sections of one kind, which real files do not
/// have).
fn sections(
    text: &str,
) -> (
    Option<std::ops::Range<usize>>,
    Option<std::ops::Range<usize>>,
) {
    // (marker, where its line starts, where the line after it starts)
    let marks: Vec<(Marker, usize, usize)> = super::lines(text)
        .into_iter()
        .filter_map(|l| Some((marker(&text[l.start..l.end])?, l.start, l.next)))
        .collect();
    // A section runs from the line after its marker (Play drops the marker
    // line: `#` is no comment to most databases) to the next marker.
    let range = |k: Marker| {
        let i = marks.iter().position(|(m, _, _)| *m == k)?;
        let start = marks[i].2;
        let end = marks.get(i + 1).map_or(text.len(), |(_, a, _)| *a);
        Some(start..end)
    };
    (range(Marker::Ups), range(Marker::Downs))
}

/// `12.sql` → 12.
fn revision(base: &str) -> Option<u64> {
    let stem = base.strip_suffix(".sql")?;
    if stem.starts_with('0') || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

impl super::Layout for PlayEvolutions {
    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .find(|e| revision(e.base()).is_some() && e.marks.has(self.kind()))
            .map(|e| format!("`# --- !Ups` sections in numbered files ({})", e.rel))
    }

    fn line_mark(&self) -> Option<fn(&str) -> bool> {
        Some(|line| marker(line) == Some(Marker::Ups))
    }

    /// Play replaces `;;` with `;` in every statement it sends (users write
    /// `;;` for a `;` inside a function body, since Play splits at `;`).
    fn text_macros(
        &self,
        _dialect: crate::dialect::Dialect,
    ) -> &'static [(&'static str, &'static str)] {
        &[(";;", ";")]
    }

    fn bookkeeping_sql(&self, _engine: crate::dialect::Dialect) -> Option<&'static str> {
        Some(
            "CREATE TABLE IF NOT EXISTS play_evolutions (id INT NOT NULL PRIMARY KEY, hash \
             VARCHAR(255) NOT NULL, applied_at TIMESTAMP NOT NULL, apply_script TEXT, \
             revert_script TEXT, state VARCHAR(255), last_problem TEXT)",
        )
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut by_revision: std::collections::BTreeMap<u64, usize> = Default::default();
    for (i, e) in folder.entries.iter().enumerate() {
        match revision(e.base()).filter(|_| e.dir().is_empty()) {
            Some(r) => {
                by_revision.insert(r, i);
            }
            None => plan.skipped.push((
                i,
                "not named <revision>.sql (1.sql, 2.sql, ...): Play never runs it".into(),
            )),
        }
    }
    let mut next = 1;
    for (&r, &i) in &by_revision {
        if r != next {
            plan.skipped.push((
                i,
                format!("Play reads 1.sql, 2.sql, ... up to the first missing revision ({next}.sql), so it never runs this one"),
            ));
            continue;
        }
        next += 1;
        let text = &folder.entries[i].file.text;
        let (ups, downs) = sections(text);
        let Some(ups) = ups else {
            plan.problem(
                i,
                0..0,
                format!(
                    "{r}.sql has no `# --- !Ups` section: Play applies nothing for revision {r}"
                ),
                "start the migration with a `# --- !Ups` line (and the revert with `# --- !Downs`)",
            );
            continue;
        };
        plan.migrations.push(Migration::new(
            r.to_string(),
            r.to_string(),
            part(i, vec![region(ups)]),
            downs.map(|d| part(i, vec![region(d)])),
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_agree_with_the_ups_marker() {
        for t in super::super::test_util::MARK_TEXTS {
            let m = super::super::Marks::of(t);
            let ups = t.split('\n').any(|l| marker(l) == Some(Marker::Ups));
            assert_eq!(m.has(KIND), ups, "{t:?}");
        }
    }

    #[test]
    fn markers_and_revisions_as_play_reads_them() {
        let t = "# Users schema\n\n# --- !Ups\nCREATE TABLE u (id int);\n\n# --- !Downs\nDROP TABLE u;\n";
        let (u, d) = sections(t);
        assert_eq!(&t[u.unwrap()], "CREATE TABLE u (id int);\n\n");
        assert_eq!(&t[d.unwrap()], "DROP TABLE u;\n");
        assert_eq!(marker("  -- !Ups"), Some(Marker::Ups));
        assert_eq!(marker("SELECT '!Ups'"), None);
        assert_eq!(revision("12.sql"), Some(12));
        assert_eq!(revision("012.sql"), None);
        assert_eq!(revision("1_init.sql"), None);
    }
}
