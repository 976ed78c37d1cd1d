//! `pop` (gobuffalo pop, ory popx): files named
//! `<version>_<name>[.<dialect>][.autocommit].(up|down).sql`.
//!
//! As popx does: for each version and direction, a file for the chosen
//! dialect replaces the generic one (no dialect part); files for other
//! dialects are not run; dialect names are canonical pop names (`sqlite`
//! and `sqlite3` are the same, as are `postgres`, `postgresql` and `pg`;
//! `mariadb` is `mysql`; `cockroach`, `cockroachdb` and `crdb` are
//! CockroachDB, which twice's postgres dialect does not select); a
//! `.autocommit` file runs outside a transaction; migrations run in version
//! order (popx compares versions as text: pop versions are fixed-width
//! timestamps). The chosen dialect is the sequence's dialect (`--dialect`,
//! or the folder name, or sqlite). `.fizz` migrations are not SQL and are
//! skipped with a notice.

use super::{whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::Migration;
use std::collections::{BTreeMap, BTreeSet};

/// A parsed pop file name.
#[derive(Debug, PartialEq, Eq)]
pub struct Name<'a> {
    pub version: &'a str,
    pub name: &'a str,
    /// Canonical pop dialect, or `None` for "all".
    pub dialect: Option<String>,
    pub autocommit: bool,
    pub up: bool,
}

/// pop's canonical name for a dialect segment (`None`: not a dialect pop knows).
pub fn canonical(d: &str) -> Option<&'static str> {
    Some(match d.to_ascii_lowercase().as_str() {
        "sqlite" | "sqlite3" => "sqlite3",
        "postgres" | "postgresql" | "pg" => "postgres",
        "mysql" | "mariadb" => "mysql",
        "cockroach" | "cockroachdb" | "crdb" => "cockroach",
        "mssql" | "sqlserver" | "mssqlserver" => "sqlserver",
        _ => return None,
    })
}

/// The pop dialect twice's dialect selects.
pub fn pop_dialect(d: Dialect) -> Option<&'static str> {
    match d {
        Dialect::Sqlite => Some("sqlite3"),
        Dialect::Postgres => Some("postgres"),
        Dialect::Mysql => Some("mysql"),
        Dialect::Generic => None,
    }
}

/// `^(\d+)_([^.]+)(\.[a-z0-9]+)?(\.autocommit)?\.(up|down)\.sql$`
pub fn parse_name(base: &str) -> Option<Name<'_>> {
    let (version, rest) = super::version_underscore(base)?;
    let stem = rest.strip_suffix(".sql")?;
    let (stem, up) = if let Some(s) = stem.strip_suffix(".up") {
        (s, true)
    } else {
        (stem.strip_suffix(".down")?, false)
    };
    let mut pieces = stem.split('.');
    let name = pieces.next().filter(|n| !n.is_empty())?;
    let rest: Vec<&str> = pieces.collect();
    let (dialect, autocommit) = match rest.as_slice() {
        [] => (None, false),
        ["autocommit"] => (None, true),
        [d] => (Some(*d), false),
        [d, "autocommit"] => (Some(*d), true),
        _ => return None,
    };
    if let Some(d) = dialect {
        if d.is_empty()
            || !d
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return None;
        }
    }
    Some(Name {
        version,
        name,
        dialect: dialect.map(|d| canonical(d).unwrap_or(d).to_string()),
        autocommit,
        up,
    })
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let chosen = pop_dialect(folder.dialect);
    // (version, is_up) -> (generic file, chosen-dialect file)
    let mut slots: BTreeMap<(String, bool), (Option<usize>, Option<usize>)> = BTreeMap::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    let mut other_count = 0;
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped
                .push((i, "pop reads only the files directly in its folder".into()));
            continue;
        }
        let Some(n) = parse_name(e.base()) else {
            plan.skipped.push((
                i,
                "not named <version>_<name>[.<dialect>][.autocommit].(up|down).sql".into(),
            ));
            continue;
        };
        if let Some(d) = &n.dialect {
            if canonical(d).is_none() {
                plan.problem(
                    i,
                    0..0,
                    format!(
                        "pop refuses to run this folder: unsupported dialect `{d}` in {}",
                        e.base()
                    ),
                    "use one of the dialect names pop knows: postgres, mysql, sqlite3, cockroach",
                );
                continue;
            }
        }
        let slot = slots.entry((n.version.to_string(), n.up)).or_default();
        match (&n.dialect, chosen) {
            (None, _) => {
                if let Some(prev) = slot.0.replace(i) {
                    plan.problem(
                        i,
                        0..0,
                        format!(
                            "pop refuses to run this folder: {} and {} are both the generic migration of version {}",
                            folder.entries[prev].rel, e.rel, n.version
                        ),
                        "give every migration its own version",
                    );
                }
            }
            (Some(d), Some(c)) if d == c => {
                if let Some(prev) = slot.1.replace(i) {
                    plan.problem(
                        i,
                        0..0,
                        format!(
                            "pop refuses to run this folder: {} and {} are both the {d} migration of version {}",
                            folder.entries[prev].rel, e.rel, n.version
                        ),
                        "give every migration its own version",
                    );
                }
            }
            (Some(d), _) => {
                others.insert(d.clone());
                other_count += 1;
            }
        }
    }
    if other_count > 0 {
        plan.notices.push(format!(
            "{}: {other_count} migration file(s) for other dialects ({}) are not read; the sequence is checked as {}",
            folder.display,
            others.into_iter().collect::<Vec<_>>().join(", "),
            chosen.unwrap_or("generic (no dialect-specific files)")
        ));
    }
    let mut versions: Vec<String> = slots.keys().map(|(v, _)| v.clone()).collect();
    versions.dedup();
    for version in versions {
        let pick = |up: bool| {
            slots
                .get(&(version.clone(), up))
                .and_then(|(generic, specific)| specific.or(*generic))
        };
        let Some(up) = pick(true) else {
            if let Some(d) = pick(false) {
                plan.skipped
                    .push((d, "a down migration without an up migration".into()));
            }
            continue;
        };
        let part_of = |i: usize| {
            let mut p = whole(folder, i);
            p.no_transaction = parse_name(folder.entries[i].base()).is_some_and(|n| n.autocommit);
            p
        };
        // pop renders every SQL migration as a Go template before running
        // it (`{{ index .Options "Namespace" }}`, filled from the
        // connection's details): twice cannot fill it in.
        let templated = |i: usize| folder.entries[i].file.text.contains("{{");
        if templated(up) || pick(false).is_some_and(templated) {
            for i in std::iter::once(up).chain(pick(false)) {
                plan.unresolvable.push((
                    i,
                    "a pop migration with `{{ ... }}` template actions, which pop fills from the \
                     connection's details"
                        .into(),
                ));
            }
            continue;
        }
        let name = parse_name(folder.entries[up].base())
            .map_or("", |n| n.name)
            .to_string();
        plan.migrations.push(Migration::new(
            version.clone(),
            name,
            part_of(up),
            pick(false).map(part_of),
        ));
    }
    split_groups(folder, &mut plan);
    plan
}

/// Ory's split migrations: one logical migration written as several pop
/// versions `<14-digit timestamp><6-digit part>` (ory/x popx, as kratos,
/// hydra and keto ship them). Their down files undo the whole group when it
/// is rolled back in reverse order, part by part: the down file of a part
/// need not undo that part's own up (`..000002.down.sql` drops the table
/// `..000003.up.sql` creates). Checked right after its own up, such a down
/// would fail for no fault of the project, so the parts of a split group
/// have no down part here, and one notice says so.
fn split_groups(folder: &Folder, plan: &mut Plan) {
    let group = |v: &str| {
        (v.len() == 20 && v.bytes().all(|b| b.is_ascii_digit())).then(|| v[..14].to_string())
    };
    let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
    for m in &plan.migrations {
        if let Some(g) = group(&m.version) {
            *sizes.entry(g).or_default() += 1;
        }
    }
    let mut downs = 0;
    let mut groups = BTreeSet::new();
    for m in &mut plan.migrations {
        let Some(g) = group(&m.version) else { continue };
        if sizes.get(&g).copied().unwrap_or(0) > 1 && m.down.take().is_some() {
            downs += 1;
            groups.insert(g);
        }
    }
    if downs > 0 {
        plan.notices.push(format!(
            "{}: {downs} down files of {} split migrations (Ory's <timestamp><part> versions) not \
             checked: they undo their group in reverse order when it is rolled back, not each \
             its own part, so running one right after its part's up says nothing",
            folder.display,
            groups.len()
        ));
    }
}

/// The pop layout.
pub struct Pop;

impl super::Layout for Pop {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`.autocommit` in the file names: `<version>_<name>.autocommit.up.sql`")
    }

    /// pop / fizz's `schema_migration`.
    fn bookkeeping_sql(&self, _engine: Dialect) -> Option<&'static str> {
        Some(
            "CREATE TABLE IF NOT EXISTS schema_migration (version VARCHAR(14) NOT NULL); \
             CREATE UNIQUE INDEX IF NOT EXISTS schema_migration_version_idx ON schema_migration \
             (version)",
        )
    }

    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::Pop
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .find(|e| {
                parse_name(e.base()).is_some_and(|n| {
                    n.autocommit || n.dialect.as_deref().is_some_and(|d| canonical(d).is_some())
                })
            })
            .map(|e| format!("pop dialect or .autocommit file names ({})", e.rel))
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        super::ends_with_ci(name, ".fizz").then(|| {
            "a pop fizz migration: not SQL, so twice cannot check it (the sequence is checked without it)"
                .into()
        })
    }

    fn picks_by_dialect(&self, folder: &Folder) -> bool {
        folder
            .entries
            .iter()
            .any(|e| parse_name(e.base()).is_some_and(|n| n.dialect.is_some()))
    }

    /// A folder whose dialect files name no sqlite3 file is not run on
    /// SQLite: the dialect its files name (PostgreSQL before MySQL when they
    /// name both; CockroachDB's files alone decide nothing, twice having no
    /// CockroachDB dialect).
    fn dialect(&self, folder: &Folder) -> Option<(Dialect, String)> {
        let named: BTreeSet<String> = folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .filter_map(|e| parse_name(e.base()).and_then(|n| n.dialect))
            .collect();
        if named.is_empty() {
            return None;
        }
        let list: Vec<&str> = named.iter().map(String::as_str).collect();
        // Files for every database the project supports: the SQLite ones,
        // which replay without a server (not the project's driver: Ory's
        // go.mod requires the MySQL driver for its error codes).
        if named.contains("sqlite3") {
            return Some((
                Dialect::Sqlite,
                format!(
                    "the pop dialects its files name ({}): checked as sqlite3, which replays \
                     without a server",
                    list.join(", ")
                ),
            ));
        }
        let (dialect, pop) = if named.contains("postgres") {
            (Dialect::Postgres, "postgres")
        } else if named.contains("mysql") {
            (Dialect::Mysql, "mysql")
        } else {
            return None;
        };
        Some((
            dialect,
            format!(
                "the pop dialects its files name ({}), none of them sqlite3: checked as {pop}",
                list.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Layout;
    use super::*;

    #[test]
    fn split_groups_have_no_down_part() {
        let f = folder(&[
            ("20200101000000000000_a.up.sql", "CREATE TABLE a (x int);"),
            ("20200101000000000000_a.down.sql", "DROP TABLE b;"),
            ("20200101000000000001_a.up.sql", "CREATE TABLE b (x int);"),
            ("20200101000000000001_a.down.sql", "DROP TABLE a;"),
            ("20200202000000_c.up.sql", "CREATE TABLE c (x int);"),
            ("20200202000000_c.down.sql", "DROP TABLE c;"),
        ]);
        let p = Pop.plan(&f);
        let downs: Vec<bool> = p.migrations.iter().map(|m| m.down.is_some()).collect();
        assert_eq!(downs, vec![false, false, true]);
        assert!(p.notices[0].contains("2 down files of 1 split migrations"));
    }

    #[test]
    fn names() {
        let n = parse_name("20200101000000_init.sqlite.autocommit.up.sql").unwrap();
        assert_eq!(n.dialect.as_deref(), Some("sqlite3"));
        assert!(n.autocommit && n.up);
        let n = parse_name("20200101000000_init.autocommit.down.sql").unwrap();
        assert_eq!(n.dialect, None);
        assert!(n.autocommit && !n.up);
        assert!(parse_name("20200101000000_init.sql").is_none());
        assert!(parse_name("x_init.up.sql").is_none());
    }

    #[test]
    fn dialect_file_replaces_generic() {
        let mut f = folder(&[
            ("20200101000000_a.up.sql", "generic"),
            ("20200101000000_a.sqlite3.up.sql", "sqlite"),
            ("20200101000000_a.postgres.up.sql", "pg"),
            ("20200101000000_a.down.sql", ""),
            ("20200102000000_b.up.sql", ""),
            ("20200103000000_c.mysql.up.sql", ""),
            ("20200104000000_d.autocommit.up.sql", ""),
        ]);
        f.dialect = Dialect::Sqlite;
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            vec![
                "20200101000000 20200101000000_a.sqlite3.up.sql",
                "20200102000000 20200102000000_b.up.sql",
                "20200104000000 20200104000000_d.autocommit.up.sql",
            ]
        );
        assert!(p.migrations[0].down.is_some());
        assert!(p.migrations[2].up.no_transaction);
        assert_eq!(p.notices.len(), 1);
        f.dialect = Dialect::Postgres;
        let p = plan(&f);
        assert_eq!(f.entries[p.migrations[0].up.file].file.text, "pg");
    }
}
