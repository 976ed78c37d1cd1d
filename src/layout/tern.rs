//! `tern` (jackc/tern, `tern migrate`): `<number>_<name>.sql` files, the up
//! part above a `---- create above / drop below ----` line and the down part
//! below it.
//!
//! As tern does (github.com/jackc/tern, `migrate/migrate.go`:
//! `FindMigrations`, `LoadMigrations`, `AppendMigration`):
//! - migrations are the files directly in the folder named `^\d+_.+\.sql$`,
//!   run by number; two files with one number, or a number missing from
//!   the sequence 1, 2, 3, ... make tern refuse the folder;
//! - the text above `---- create above / drop below ----` is the up part,
//!   the text below it the down part (no such line: no down part);
//! - `---- tern: disable-tx ----` runs the migration outside a transaction;
//! - every migration is a Go `text/template` rendered with the values of
//!   `tern.conf` before it runs: `{{ ... }}` is a placeholder twice cannot
//!   resolve, so that migration's replay is skipped with a notice (its
//!   statements are still read by the static rules), not reported as a
//!   syntax error.

use super::{region, Folder, Plan};
use crate::model::{LayoutKind, Migration, Part};
use std::collections::BTreeMap;

/// The tern layout.
pub struct Tern;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("tern");

const SEPARATOR: &str = "---- create above / drop below ----";
const DISABLE_TX: &str = "---- tern: disable-tx ----";

impl super::Layout for Tern {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`---- tern: disable-tx ----` at the top of the file")
    }

    /// tern's `public.schema_version` (one row holding the version), as
    /// `tern migrate` creates it; tern runs on PostgreSQL only.
    fn bookkeeping_sql(&self, engine: crate::dialect::Dialect) -> Option<&'static str> {
        match engine {
            crate::dialect::Dialect::Postgres => Some(
                "CREATE TABLE IF NOT EXISTS public.schema_version (version int4 NOT NULL); \
                 INSERT INTO public.schema_version (version) SELECT 0 \
                 WHERE 0 = (SELECT count(*) FROM public.schema_version)",
            ),
            _ => None,
        }
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn line_mark(&self) -> Option<fn(&str) -> bool> {
        Some(|line| line.contains(SEPARATOR))
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        if let Some(e) = folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .find(|e| e.marks.has(self.kind()))
        {
            return Some(format!("`{SEPARATOR}` in {}", e.rel));
        }
        (folder.aux.contains_key("tern.conf")
            && folder
                .entries
                .iter()
                .any(|e| parse_name(e.base()).is_some()))
        .then(|| "tern.conf beside <number>_<name>.sql files".into())
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        rel == "tern.conf"
    }
}

/// `^(\d+)_(.+)\.sql$` → (number, name).
pub fn parse_name(base: &str) -> Option<(&str, &str)> {
    let (n, rest) = super::version_underscore(base)?;
    let name = rest.strip_suffix(".sql")?;
    (!name.is_empty()).then_some((n, name))
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut by_number: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "tern reads only the files directly in its folder (sub-folders hold shared templates)"
                    .into(),
            ));
            continue;
        }
        match parse_name(e.base()).and_then(|(n, _)| n.parse::<u64>().ok()) {
            Some(n) => by_number.entry(n).or_default().push(i),
            None => plan
                .skipped
                .push((i, "tern migration names are <number>_<name>.sql".into())),
        }
    }
    let mut expected = 1u64;
    for (n, files) in by_number {
        let first = files[0];
        if n > expected {
            plan.problem(
                first,
                0..0,
                format!("tern refuses to run this folder: migration {expected} is missing (tern numbers migrations 1, 2, 3, ... without gaps)"),
                "renumber the migrations so that none is missing",
            );
        }
        expected = n + 1;
        for &extra in &files[1..] {
            plan.problem(
                extra,
                0..0,
                format!(
                    "tern refuses to run this folder: duplicate migration {n} ({} and {})",
                    folder.entries[first].rel, folder.entries[extra].rel
                ),
                "give every migration its own number",
            );
        }
        let e = &folder.entries[first];
        let text = &e.file.text;
        let (up, down) = match text.find(SEPARATOR) {
            Some(at) => (0..at, Some(at + SEPARATOR.len()..text.len())),
            None => (0..text.len(), None),
        };
        let no_tx = text.lines().any(|l| l.trim() == DISABLE_TX);
        let mk = |r: std::ops::Range<usize>| Part {
            file: first,
            regions: vec![region(r)],
            statements: Vec::new(),
            no_transaction: no_tx,
            tool_transaction: false,
        };
        if text.contains("{{") {
            plan.unresolvable.push((
                first,
                "a tern migration with `{{ ... }}` template actions, which tern fills from tern.conf".into(),
            ));
            continue;
        }
        let (num, name) = parse_name(e.base()).unwrap_or(("", ""));
        plan.migrations.push(Migration::new(
            num.to_string(),
            name.to_string(),
            mk(up),
            down.map(mk),
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Layout;
    use super::*;

    #[test]
    fn sections_numbers_and_templates() {
        let f = folder(&[
            (
                "001_create.sql",
                "CREATE TABLE a (id int);\n---- create above / drop below ----\nDROP TABLE a;\n",
            ),
            (
                "002_grant.sql",
                "---- tern: disable-tx ----\nGRANT SELECT ON a TO {{ .app_user }};\n",
            ),
            ("004_gap.sql", "SELECT 1;"),
        ]);
        assert!(Tern.detect(&f).is_some());
        let p = plan(&f);
        assert_eq!(order(&f, &p), ["001 001_create.sql", "004 004_gap.sql"]);
        assert_eq!(texts(&f, &p.migrations[0].up), "CREATE TABLE a (id int);");
        assert_eq!(
            texts(&f, p.migrations[0].down.as_ref().unwrap()),
            "DROP TABLE a;"
        );
        assert_eq!(p.unresolvable.len(), 1);
        let f = folder(&[("001_a.sql", "---- tern: disable-tx ----\nSELECT 1;\n")]);
        assert!(plan(&f).migrations[0].up.no_transaction);
        assert!(p.problems[0].message.contains("migration 3 is missing"));
    }
}
