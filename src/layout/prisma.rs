//! `prisma` (Prisma Migrate, `prisma migrate deploy`): one folder per
//! migration, `<timestamp>_<name>/migration.sql`, and a
//! `migration_lock.toml` naming the database provider.
//!
//! As Prisma does (prisma/prisma-engines,
//! `schema-engine/connectors/schema-connector/src/migrations_directory.rs`,
//! and the CLI's migrations-directory listing):
//! - every sub-folder of the migrations folder holding `migration.sql` is a
//!   migration, named by the folder (`{timestamp}_{name}`); migrations run
//!   in folder-name order;
//! - files directly in the migrations folder are not migrations, and a
//!   migration folder's other files are not run;
//! - `migration_lock.toml` names the provider on its `provider = "..."`
//!   line; it decides the dialect (`postgresql` and `cockroachdb` are
//!   PostgreSQL, `mysql`, `sqlite`), before the SQL's own signs;
//! - Prisma records a checksum of every applied `migration.sql` and warns
//!   when one changes.

use super::{whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::{LayoutKind, Migration};

/// The Prisma layout.
pub struct Prisma;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("prisma");

const LOCK: &str = "migration_lock.toml";

impl super::Layout for Prisma {
    /// Prisma Migrate's `_prisma_migrations`, as its schema engine creates
    /// it on each provider.
    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        Some(match engine {
            Dialect::Postgres => {
                "CREATE TABLE IF NOT EXISTS _prisma_migrations (id varchar(36) PRIMARY KEY NOT NULL, \
                 checksum varchar(64) NOT NULL, finished_at timestamptz, migration_name \
                 varchar(255) NOT NULL, logs text, rolled_back_at timestamptz, started_at \
                 timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0)"
            }
            Dialect::Mysql => {
                "CREATE TABLE IF NOT EXISTS _prisma_migrations (id varchar(36) PRIMARY KEY NOT NULL, \
                 checksum varchar(64) NOT NULL, finished_at datetime(3), migration_name \
                 varchar(255) NOT NULL, logs text, rolled_back_at datetime(3), started_at \
                 datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), applied_steps_count int \
                 unsigned NOT NULL DEFAULT 0)"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS _prisma_migrations (id TEXT PRIMARY KEY NOT NULL, \
                 checksum TEXT NOT NULL, finished_at DATETIME, migration_name TEXT NOT NULL, logs \
                 TEXT, rolled_back_at DATETIME, started_at DATETIME NOT NULL DEFAULT \
                 current_timestamp, applied_steps_count INTEGER UNSIGNED NOT NULL DEFAULT 0)"
            }
        })
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    /// `<dir>/migration.sql` entries, with `migration_lock.toml` beside them
    /// or folder names that start with a timestamp as Prisma writes them.
    fn detect(&self, folder: &Folder) -> Option<String> {
        let dirs: Vec<&str> = folder
            .entries
            .iter()
            .filter(|e| {
                e.base() == "migration.sql" && !e.dir().is_empty() && !e.dir().contains('/')
            })
            .map(|e| e.dir())
            .collect();
        if dirs.is_empty() {
            return None;
        }
        if folder.aux.contains_key(LOCK) {
            return Some(format!("<migration>/migration.sql folders and {LOCK}"));
        }
        dirs.iter()
            .all(|d| super::version_underscore(d).is_some())
            .then(|| "<timestamp>_<name>/migration.sql folders".into())
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn migration_dir_file(&self) -> Option<&'static str> {
        Some("migration.sql")
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        rel == LOCK
    }

    fn dialect(&self, folder: &Folder) -> Option<(Dialect, String)> {
        let provider = provider(folder.aux.get(LOCK)?)?;
        let dialect = match provider.as_str() {
            "postgresql" | "postgres" | "cockroachdb" => Dialect::Postgres,
            "mysql" => Dialect::Mysql,
            "sqlite" => Dialect::Sqlite,
            _ => return None,
        };
        Some((dialect, format!("{LOCK}: provider = \"{provider}\"")))
    }

    fn checksum_advice(&self) -> Option<&'static str> {
        Some(
            "Prisma records a checksum of every applied migration and `prisma migrate dev` warns (and offers to reset the database) when an applied file changes: \
             keep these edits to migrations not applied anywhere yet",
        )
    }
}

/// The provider on the lock file's `provider = "..."` line, as Prisma reads it.
pub fn provider(lock: &str) -> Option<String> {
    lock.lines()
        .map(str::trim)
        .find(|l| l.starts_with("provider"))
        .and_then(|l| l.split_once('='))
        .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase())
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut dirs: Vec<(String, usize)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if e.dir().is_empty() {
            plan.skipped.push((
                i,
                "Prisma migrations are folders holding migration.sql".into(),
            ));
        } else if e.dir().contains('/') || e.base() != "migration.sql" {
            plan.skipped
                .push((i, "Prisma runs only <migration>/migration.sql".into()));
        } else {
            dirs.push((e.dir().to_string(), i));
        }
    }
    dirs.sort();
    for (dir, i) in dirs {
        let digits = super::leading_digits(&dir);
        plan.migrations.push(Migration::new(
            if digits.is_empty() { &dir } else { digits }.to_string(),
            dir.clone(),
            whole(folder, i),
            None,
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
    fn folders_in_name_order_and_provider() {
        let mut f = folder(&[
            ("20240102000000_b/migration.sql", "SELECT 2;"),
            ("20240101000000_a/migration.sql", "SELECT 1;"),
            ("stray.sql", "SELECT 3;"),
        ]);
        f.aux.insert(
            LOCK.into(),
            "# Please do not edit\nprovider = \"postgresql\"\n".into(),
        );
        assert!(Prisma.detect(&f).is_some());
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            [
                "20240101000000 20240101000000_a/migration.sql",
                "20240102000000 20240102000000_b/migration.sql"
            ]
        );
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(Prisma.dialect(&f).map(|d| d.0), Some(Dialect::Postgres));
        assert_eq!(
            provider("provider = \"sqlserver\""),
            Some("sqlserver".into())
        );
    }
}
