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
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

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
                .is_some_and(|t| is_config(t)))
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

    fn platform_setup(&self, engine: Dialect) -> Option<&'static str> {
        (engine == Dialect::Postgres).then_some(PLATFORM)
    }
}

/// `^([0-9]+)_(.*)\.sql$` → (version, name).
pub fn parse_name(base: &str) -> Option<(&str, &str)> {
    let (version, rest) = super::version_underscore(base)?;
    rest.strip_suffix(".sql").map(|name| (version, name))
}

/// Whether a `config.toml` is the Supabase CLI's (`supabase init` writes
/// `project_id = "..."`).
pub fn is_config(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim_start().starts_with("project_id"))
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

/// A stand-in for what a Supabase database has before its migrations run
/// (`supabase start` makes it): the API roles (`anon`, `authenticated`,
/// `service_role`, ...) and a `postgres` role where the server has none,
/// the `auth`, `storage`, `extensions` (with `pgcrypto` and `uuid-ossp`
/// where the server has them, on the search path) and `realtime` schemas,
/// `auth.users`
/// with the columns migrations read, `auth.uid()`/`auth.role()`/
/// `auth.email()`/`auth.jwt()`, `storage.buckets`/`storage.objects` with
/// their helper functions, and the `supabase_realtime` publication. Run as
/// the admin role on twice's throwaway server only; the migration role is
/// made a member of the stand-in roles (plain `NOLOGIN` roles, never one
/// with a privilege attribute), so `ALTER ... OWNER TO postgres` and
/// `SET ROLE authenticated` work as on Supabase.
pub const PLATFORM: &str = r#"
DO $twice$
DECLARE
  r text;
  migration text := current_setting('twice.migration_role', true);
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role', 'authenticator',
      'postgres', 'supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin',
      'dashboard_user', 'supabase_realtime_admin', 'pgbouncer'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    IF coalesce(migration, '') <> '' AND EXISTS (
        SELECT FROM pg_roles WHERE rolname = r AND NOT rolsuper AND NOT rolcreaterole
          AND NOT rolcreatedb AND NOT rolreplication AND NOT rolbypassrls AND NOT rolcanlogin) THEN
      EXECUTE format('GRANT %I TO %I', r, migration);
    END IF;
  END LOOP;
END
$twice$;
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS storage;
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE SCHEMA IF NOT EXISTS realtime;
CREATE SCHEMA IF NOT EXISTS graphql_public;
CREATE TABLE IF NOT EXISTS auth.users (
  instance_id uuid,
  id uuid PRIMARY KEY,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text UNIQUE,
  phone_confirmed_at timestamptz,
  phone_change text,
  confirmed_at timestamptz,
  banned_until timestamptz,
  reauthentication_token varchar(255),
  is_sso_user boolean NOT NULL DEFAULT false,
  deleted_at timestamptz,
  is_anonymous boolean NOT NULL DEFAULT false
);
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('request.jwt.claim.role', true), '')::text $$;
CREATE OR REPLACE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('request.jwt.claim.email', true), '')::text $$;
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS
  $$ SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;
CREATE TABLE IF NOT EXISTS storage.buckets (
  id text PRIMARY KEY,
  name text NOT NULL UNIQUE,
  owner uuid,
  owner_id text,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  public boolean DEFAULT false,
  avif_autodetection boolean DEFAULT false,
  file_size_limit bigint,
  allowed_mime_types text[]
);
CREATE TABLE IF NOT EXISTS storage.objects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  bucket_id text REFERENCES storage.buckets (id),
  name text,
  owner uuid,
  owner_id text,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  last_accessed_at timestamptz DEFAULT now(),
  metadata jsonb,
  path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
  version text,
  user_metadata jsonb
);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
CREATE OR REPLACE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE sql IMMUTABLE AS
  $$ SELECT (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1] $$;
CREATE OR REPLACE FUNCTION storage.filename(name text) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)] $$;
CREATE OR REPLACE FUNCTION storage.extension(name text) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT reverse(split_part(reverse(name), '.', 1)) $$;
DO $twice$
BEGIN
  -- Supabase installs these in `extensions`, on the search path.
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
    CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
  EXCEPTION WHEN undefined_file OR feature_not_supported OR invalid_parameter_value THEN NULL;
  END;
  EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, extensions',
    current_database());
END
$twice$;
DO $twice$
BEGIN
  BEGIN
    CREATE PUBLICATION supabase_realtime;
  EXCEPTION WHEN duplicate_object THEN NULL;
  END;
  -- Owned by `postgres` (a member can add tables to it), which may own
  -- things in this database only.
  EXECUTE format('GRANT CREATE ON DATABASE %I TO postgres', current_database());
  ALTER PUBLICATION supabase_realtime OWNER TO postgres;
END
$twice$;
GRANT USAGE ON SCHEMA auth, storage, extensions, realtime, graphql_public
  TO anon, authenticated, service_role;
-- Owned as on Supabase, by roles the migration role is a member of: its
-- triggers and policies on auth.users and storage.objects can be dropped
-- and made again.
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
ALTER TABLE storage.buckets OWNER TO supabase_storage_admin;
ALTER TABLE storage.objects OWNER TO supabase_storage_admin;
"#;

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
