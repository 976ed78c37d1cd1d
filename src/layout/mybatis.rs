//! `mybatis` (MyBatis Migrations, `migrate up`): `<id>_<description>.sql`
//! scripts whose undo part follows a `-- //@UNDO` line, in a `scripts/`
//! folder. As MyBatis Migrations reads them (mybatis/migrations
//! `FileMigrationLoader`, `MigrationReader`, `Change.compareTo`):
//!
//! - every `.sql` file but `bootstrap.sql` and `onabort.sql` is a migration;
//!   its id is the name up to the first `_`, a number, and migrations run in
//!   id order (a name whose id is not a number makes the tool stop);
//! - the part before the first line reading `--` `//` `@UNDO` (spaces
//!   allowed between them) is the migration, the part after it the undo;
//! - `bootstrap.sql` is what `migrate bootstrap` runs once on an empty
//!   database to create the schema that existed before the first migration:
//!   the starting state here (applied once, not audited); `onabort.sql` runs
//!   only when a migration fails, and is not read;
//! - `${name}` placeholders are replaced from the environment's properties;
//!   `${changelog}` (the changelog table, which the first script `migrate
//!   init` writes creates) is `CHANGELOG`.

use super::{part, region, whole, Folder, PlaceholderPolicy, Plan};
use crate::model::{LayoutKind, Migration};
use crate::placeholder::Scope;

/// The MyBatis Migrations layout.
pub struct Mybatis;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("mybatis");

/// The byte offset of the `-- //@UNDO` line, as `MigrationReader` finds it.
fn undo_at(text: &str) -> Option<usize> {
    super::lines(text)
        .into_iter()
        .find(|l| is_undo(&text[l.start..l.end]))
        .map(|l| l.start)
}

/// `line` is a `-- //@UNDO` line.
fn is_undo(line: &str) -> bool {
    line.trim_start()
        .strip_prefix("--")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("//"))
        .is_some_and(|r| r.trim_start().starts_with("@UNDO"))
}

/// The id of a script: the name up to the first `_` (or the extension), as
/// a decimal number.
fn id(base: &str) -> Option<&str> {
    let stem = base.rsplit_once('.').map_or(base, |(s, _)| s);
    let id = stem.split('_').next().unwrap_or(stem);
    let mut dots = 0;
    let ok = !id.is_empty()
        && id.bytes().all(|b| {
            dots += usize::from(b == b'.');
            b.is_ascii_digit() || b == b'.'
        })
        && dots <= 1
        && id.bytes().any(|b| b.is_ascii_digit());
    ok.then_some(id)
}

fn special(base: &str) -> bool {
    base == "bootstrap.sql" || base == "onabort.sql"
}

impl super::Layout for Mybatis {
    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .find(|e| !special(e.base()) && e.marks.has(self.kind()))
            .map(|e| format!("`-- //@UNDO` sections ({})", e.rel))
    }

    /// [`undo_at`]'s test, whose lines also end at a lone `\r`.
    fn line_mark(&self) -> Option<fn(&str) -> bool> {
        Some(|line| line.split('\r').any(is_undo))
    }

    fn placeholders(&self, _envsub: bool) -> PlaceholderPolicy {
        PlaceholderPolicy {
            scope: Scope::Everywhere,
            tool: "MyBatis Migrations",
            flyway_builtins: false,
            undefined_runs_as_written: true,
        }
    }

    /// `${changelog}` is the changelog table's name, `CHANGELOG` unless the
    /// environment says otherwise; the first script `migrate init` writes
    /// creates that table with it.
    fn text_macros(
        &self,
        _dialect: crate::dialect::Dialect,
    ) -> &'static [(&'static str, &'static str)] {
        &[("${changelog}", "CHANGELOG")]
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

/// Compares two decimal ids as numbers.
fn id_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |s: &str| {
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        (
            i.trim_start_matches('0').to_string(),
            f.trim_end_matches('0').to_string(),
        )
    };
    let (ai, af) = split(a);
    let (bi, bf) = split(b);
    ai.len()
        .cmp(&bi.len())
        .then_with(|| ai.cmp(&bi))
        .then_with(|| af.cmp(&bf))
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut scripts: Vec<(&str, usize)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "in a sub-folder: MyBatis Migrations reads only the scripts folder".into(),
            ));
            continue;
        }
        match e.base() {
            "bootstrap.sql" => plan.migrations.push(
                Migration::new("bootstrap".into(), "bootstrap".into(), whole(folder, i), None)
                    .starting_state(
                        "`migrate bootstrap` runs this script once on an empty database, before \
                         the first migration: it is applied once as the starting state and not \
                         audited, but the migrations after it need what it creates",
                    ),
            ),
            "onabort.sql" => plan.skipped.push((
                i,
                "runs only when a migration fails (`onabort.sql`), not part of the history".into(),
            )),
            base => match id(base) {
                Some(v) => scripts.push((v, i)),
                None => plan.problem(
                    i,
                    0..0,
                    format!("MyBatis Migrations stops: the id of {base} (before its first `_`) is not a number"),
                    "name scripts `<number>_<description>.sql` (`migrate new` writes a timestamp)",
                ),
            },
        }
    }
    scripts.sort_by(|a, b| id_cmp(a.0, b.0).then_with(|| a.1.cmp(&b.1)));
    for (v, i) in scripts {
        let e = &folder.entries[i];
        let text = &e.file.text;
        let (up, down) = match undo_at(text) {
            Some(u) => (
                part(i, vec![region(0..u)]),
                Some(part(i, vec![region(u..text.len())])),
            ),
            None => (whole(folder, i), None),
        };
        let stem = super::strip_suffix_ci(e.base(), ".sql").unwrap_or(e.base());
        plan.migrations
            .push(Migration::new(v.to_string(), stem.to_string(), up, down));
    }
    super::duplicate_versions(&mut plan, folder, "MyBatis Migrations", |m| {
        (!m.apply_only).then(|| m.version.clone())
    });
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_agree_with_undo_at() {
        for t in super::super::test_util::MARK_TEXTS {
            let m = super::super::Marks::of(t);
            assert_eq!(m.has(KIND), undo_at(t).is_some(), "{t:?}");
        }
    }

    #[test]
    fn undo_lines_and_ids() {
        assert_eq!(
            undo_at("CREATE TABLE t (a int);\n-- //@UNDO\nDROP TABLE t;\n"),
            Some(24)
        );
        assert_eq!(undo_at("x;\n  --   //   @UNDO -- drop\n"), Some(3));
        assert_eq!(undo_at("-- @UNDO\n"), None);
        assert_eq!(
            id("20240101120000_create_users.sql"),
            Some("20240101120000")
        );
        assert_eq!(id("1.5_x.sql"), Some("1.5"));
        assert_eq!(id("v1_x.sql"), None);
        assert_eq!(id_cmp("9", "10"), std::cmp::Ordering::Less);
        assert_eq!(id_cmp("1.10", "1.9"), std::cmp::Ordering::Less);
    }
}
