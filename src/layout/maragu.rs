//! `maragu-migrate`: Go's `maragu.dev/migrate` (formerly
//! `github.com/maragudk/migrate`), as gitness (Harness) embeds it. Its
//! version is the whole name before `.up.sql`, not a number: every
//! `*.up.sql` file directly in the folder is a migration, run in the order of
//! the file names (Go's `fs.ReadDir`, byte order) in its own transaction, so
//! `0001_create_table_a.up.sql` and `0001_create_table_b.up.sql` are two
//! migrations, which golang-migrate and sqlx would refuse as one version
//! used twice. The down of a migration is the `*.down.sql` file of the same
//! version.
//!
//! The names are matched as the library's patterns match them,
//! `^([\w-]+).up.sql$` and `^([\w-]+).down.sql`, whose unescaped `.` takes
//! any character: `0021_add_column_up.sql` and `0021_add_column_down.sql`
//! are read as version `0021_add_column`'s up and down, as the library
//! runs them.
//!
//! Recognised by the project's `go.mod` (up to six folders above) requiring
//! the library: the file names alone look like golang-migrate's or sqlx's.

use super::{whole, Folder, Plan};
use crate::model::{LayoutKind, Migration};

/// The layout.
pub struct MaraguMigrate;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("maragu-migrate");

/// The library's module paths, old and new.
const MODULES: &[&str] = &["github.com/maragudk/migrate", "maragu.dev/migrate"];

/// `[\w-]`, as Go's RE2 reads it (ASCII only).
fn word_or_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// The version of a file name matching `^([\w-]+).<dir>.sql` (`$` at the
/// end when `anchored`), where each `.` is any one character: the longest
/// prefix that lets the rest match, as the greedy group takes it.
fn version<'n>(name: &'n str, dir: &str, anchored: bool) -> Option<&'n str> {
    let b = name.as_bytes();
    // The group, then one character, `dir`, one character, `sql`.
    for end in (1..b.len()).rev() {
        if !b[..end].iter().all(|&c| word_or_dash(c)) {
            continue;
        }
        // One character after the group (any, even multi-byte).
        let after = name.get(end..)?;
        let mut chars = after.chars();
        chars.next()?;
        let rest = chars.as_str();
        let Some(rest) = rest.strip_prefix(dir) else {
            continue;
        };
        let mut chars = rest.chars();
        if chars.next().is_none() {
            continue;
        }
        let Some(tail) = chars.as_str().strip_prefix("sql") else {
            continue;
        };
        if !anchored || tail.is_empty() {
            return Some(&name[..end]);
        }
    }
    None
}

/// The version of an up file (`^([\w-]+).up.sql$`).
pub fn up_version(name: &str) -> Option<&str> {
    version(name, "up", true)
}

/// The version of a down file (`^([\w-]+).down.sql`, unanchored at the end).
pub fn down_version(name: &str) -> Option<&str> {
    version(name, "down", false)
}

/// The library's module path a `go.mod` requires (directly), if it does.
fn required_module(go_mod: &str) -> Option<&'static str> {
    super::go_requirements(go_mod)
        .find_map(|(m, _)| MODULES.iter().copied().find(|p| super::go_module_is(m, p)))
}

impl super::Layout for MaraguMigrate {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        let go_mod = folder.aux.get("../go.mod")?;
        let module = required_module(go_mod)?;
        folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .find(|e| up_version(e.base()).is_some())
            .map(|e| {
                format!(
                    "*.up.sql names ({}) beside a go.mod requiring {}",
                    e.rel, module
                )
            })
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    /// The library's `migrations` table (its default `Options.Table`), as
    /// `createMigrationsTable` makes it on every database: one text column
    /// and one row holding the version, empty before the first migration.
    fn bookkeeping_sql(&self, _engine: crate::dialect::Dialect) -> Option<&'static str> {
        Some(
            "CREATE TABLE IF NOT EXISTS migrations (version text NOT NULL); \
             INSERT INTO migrations (version) SELECT '' \
             WHERE 0 = (SELECT count(*) FROM migrations)",
        )
    }

    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &["go.mod"]
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    // Entries are sorted by `rel` in byte order: the library's order.
    let mut downs: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut ups: Vec<(usize, &str)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "maragu.dev/migrate reads only the files directly in its folder".into(),
            ));
        } else if let Some(v) = up_version(e.base()) {
            ups.push((i, v));
        } else if let Some(v) = down_version(e.base()) {
            // The first down of a version is the one the library runs.
            downs.entry(v).or_insert(i);
        } else {
            plan.skipped
                .push((i, "not named <version>.up.sql or <version>.down.sql".into()));
        }
    }
    for (i, v) in ups {
        let down = downs.remove(v).map(|d| whole(folder, d));
        plan.migrations.push(Migration::new(
            v.to_string(),
            v.to_string(),
            whole(folder, i),
            down,
        ));
    }
    for (_, d) in downs {
        plan.skipped
            .push((d, "a down migration without its up migration".into()));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Layout;
    use super::*;

    #[test]
    fn names_match_as_the_library_matches_them() {
        assert_eq!(up_version("0001_users.up.sql"), Some("0001_users"));
        assert_eq!(up_version("0021_add_col_up.sql"), Some("0021_add_col"));
        assert_eq!(up_version("0001_users.up.sql.bak"), None);
        assert_eq!(up_version("notes.sql"), None);
        assert_eq!(up_version("a b.up.sql"), None);
        assert_eq!(down_version("0001_users.down.sql"), Some("0001_users"));
        assert_eq!(down_version("0021_add_col_down.sql"), Some("0021_add_col"));
        assert_eq!(down_version("0001_users.up.sql"), None);
    }

    #[test]
    fn go_mod_requirement() {
        assert_eq!(
            required_module("module x\n\nrequire (\n\tgithub.com/maragudk/migrate v0.4.3\n)\n"),
            Some("github.com/maragudk/migrate")
        );
        assert_eq!(
            required_module("require maragu.dev/migrate v0.6.0\n"),
            Some("maragu.dev/migrate")
        );
        assert_eq!(
            required_module("require github.com/golang-migrate/migrate/v4 v4.17.0\n"),
            None
        );
    }

    #[test]
    fn every_up_file_in_name_order_with_its_down() {
        let mut f = folder(&[
            ("0001_a_users.up.sql", "CREATE TABLE users (id int);"),
            ("0001_a_users.down.sql", "DROP TABLE users;"),
            ("0001_b_teams.up.sql", "CREATE TABLE teams (id int);"),
            ("0002_index_up.sql", "CREATE INDEX u ON users (id);"),
            ("0002_index_down.sql", "DROP INDEX u;"),
            ("0003_orphan.down.sql", "SELECT 1;"),
            ("README.md.sql", "x"),
        ]);
        assert!(MaraguMigrate.detect(&f).is_none(), "no go.mod, no claim");
        f.aux.insert(
            "../go.mod".into(),
            "require github.com/maragudk/migrate v0.4.3\n".into(),
        );
        assert!(MaraguMigrate.detect(&f).is_some());
        let p = plan(&f);
        let got: Vec<(String, bool)> = p
            .migrations
            .iter()
            .map(|m| (m.version.clone(), m.down.is_some()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("0001_a_users".to_string(), true),
                ("0001_b_teams".to_string(), false),
                ("0002_index".to_string(), true),
            ]
        );
        assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
    }
}
