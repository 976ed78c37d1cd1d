//! `supabase` (Supabase CLI, `supabase db push` / `supabase migration up`):
//! `supabase/migrations/<timestamp>_<name>.sql`, always PostgreSQL.
//!
//! As the Supabase CLI does (supabase/cli, `pkg/migration/list.go` and
//! `pkg/migration/file.go`; docs: "Database migrations"):
//! - migrations are the files directly in `supabase/migrations` whose name
//!   matches `^([0-9]+)_(.*)\.sql$`; others are skipped (the CLI warns and
//!   skips them), as are sub-folders;
//! - they run in file-name order (the versions are fixed-width timestamps),
//!   each in a transaction;
//! - `supabase/seed.sql` is seed data, loaded by `supabase db reset`, not a
//!   migration (discovery leaves it out, with a notice);
//! - the database is PostgreSQL: the dialect is postgres unless `--dialect`
//!   says otherwise.

use super::{whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::{LayoutKind, Migration};

/// The Supabase CLI layout.
pub struct Supabase;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("supabase");

impl super::Layout for Supabase {
    /// The Supabase CLI's `supabase_migrations.schema_migrations`; the
    /// CLI runs on PostgreSQL only.
    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        match engine {
            Dialect::Postgres => Some(
                "CREATE SCHEMA IF NOT EXISTS supabase_migrations; CREATE TABLE IF NOT EXISTS \
                 supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY, \
                 statements text[], name text)",
            ),
            _ => None,
        }
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    /// A `supabase/migrations` folder, or a `migrations` folder below a
    /// Supabase `config.toml` (one with a `project_id`).
    fn detect(&self, folder: &Folder) -> Option<String> {
        let d = folder.display.trim_end_matches('/');
        if d == "supabase/migrations" || d.ends_with("/supabase/migrations") {
            return Some("a supabase/migrations folder".into());
        }
        let is_migrations = d == "migrations" || d.ends_with("/migrations") || d == ".";
        (is_migrations
            && folder
                .aux
                .get("../config.toml")
                .is_some_and(|t| t.lines().any(|l| l.trim_start().starts_with("project_id"))))
        .then(|| "a migrations folder beside a Supabase config.toml".into())
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &["config.toml"]
    }

    fn dialect(&self, _folder: &Folder) -> Option<(Dialect, String)> {
        Some((Dialect::Postgres, "Supabase runs PostgreSQL".into()))
    }
}

/// `^([0-9]+)_(.*)\.sql$` → (version, name).
pub fn parse_name(base: &str) -> Option<(&str, &str)> {
    let (version, rest) = super::version_underscore(base)?;
    rest.strip_suffix(".sql").map(|name| (version, name))
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut order: Vec<(&str, usize)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "the Supabase CLI reads only the files directly in supabase/migrations".into(),
            ));
        } else if parse_name(e.base()).is_none() {
            plan.skipped.push((
                i,
                "the Supabase CLI skips it: migration names must match <timestamp>_<name>.sql"
                    .into(),
            ));
        } else {
            order.push((e.base(), i));
        }
    }
    order.sort();
    for (base, i) in order {
        let (version, name) = parse_name(base).unwrap_or((base, ""));
        plan.migrations.push(Migration::new(
            version.to_string(),
            name.to_string(),
            whole(folder, i),
            None,
        ));
    }
    super::duplicate_versions(&mut plan, folder, "the Supabase CLI", |m| {
        Some(m.version.clone())
    });
    plan
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Layout;
    use super::*;

    #[test]
    fn timestamps_in_name_order_and_postgres() {
        let mut f = folder(&[
            ("20240102000000_b.sql", "SELECT 2;"),
            ("20240101000000_a.sql", "SELECT 1;"),
            ("notes.sql", "SELECT 3;"),
        ]);
        f.display = "app/supabase/migrations".into();
        assert!(Supabase.detect(&f).is_some());
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            [
                "20240101000000 20240101000000_a.sql",
                "20240102000000 20240102000000_b.sql"
            ]
        );
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(Supabase.dialect(&f).map(|d| d.0), Some(Dialect::Postgres));
        f.display = "db/migrations".into();
        assert!(Supabase.detect(&f).is_none());
        f.aux
            .insert("../config.toml".into(), "project_id = \"x\"\n".into());
        assert!(Supabase.detect(&f).is_some());
    }
}
