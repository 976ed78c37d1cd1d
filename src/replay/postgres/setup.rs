//! The PostgreSQL side of setup scripts (see [`crate::replay::setup`]) and
//! the session check that keeps what twice reads equal to what the server
//! runs.

use super::run::Watchdog;
use super::server::{describe, ident, literal, Server};
use crate::analysis::Statement;
use crate::error::{Error, Result};
use crate::replay::setup::StatementError;
use crate::source::SourceFile;
use postgres::Client;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

pub use crate::replay::setup::{for_sequence, Script};

/// The `search_path` of twice's own statements on an admin session in a
/// database the migration role owns, where untrusted SQL has run: only the
/// system catalog, so that no function or operator the migrations (or a
/// setup script run as their role) made in `public`, and no
/// `ALTER DATABASE ... SET search_path` of the owner, can stand in for a
/// built-in one and run as the admin (a superuser on twice's own cluster).
/// `pg_temp` is named last so that temporary tables are not searched first.
pub(super) const SAFE_SEARCH_PATH: &str = "SET search_path = pg_catalog, pg_temp";

/// The scratch database's schemas (the session's `search_path` set to
/// [`SAFE_SEARCH_PATH`]'s for this query only: a setup script may run on
/// the same session after it).
fn schemas(c: &mut Client) -> Result<BTreeSet<String>> {
    let failed =
        |e: postgres::Error| Error::new(format!("cannot read the schemas: {}", describe(&e)));
    let mut t = c.transaction().map_err(failed)?;
    t.batch_execute(&SAFE_SEARCH_PATH.replacen("SET ", "SET LOCAL ", 1))
        .map_err(failed)?;
    let rows = t
        .query(
            "SELECT nspname::text FROM pg_catalog.pg_namespace \
             WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', '_twice')",
            &[],
        )
        .map_err(failed)?;
    t.commit().map_err(failed)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Prepares the scratch database `db`: runs the setup script, if any (as the
/// admin role, or as the migration role for a user's script on twice's own
/// cluster), then, as the admin role, lets the migration role use what the
/// template and the script put there (see [`grant_scratch`]).
pub fn prepare_scratch(
    server: &mut Server,
    db: &str,
    setup: Option<(&Script, &str)>,
    timeout: Duration,
    data_limit: u64,
) -> Result<()> {
    let role = server.migration_role().map(str::to_string);
    if setup.is_none() && role.is_none() {
        return Ok(());
    }
    let mut admin = server.admin_connect_to(db)?;
    let before = schemas(&mut admin)?;
    if let Some((script, root)) = setup {
        // Each statement of the script under the replay time limit, as the
        // migrations' are: stopped by the server's statement_timeout, or
        // cancelled and then its backend ended by the watchdog when the
        // script turned that off.
        let watchdog = Watchdog::start(server.terminator(), server.data_dir(), data_limit);
        let limits = Limits {
            watchdog: &watchdog,
            timeout,
        };
        match &role {
            // A user's script on twice's own cluster runs as the migration
            // role: as the cluster's superuser it could run programs on this
            // machine (`COPY ... TO PROGRAM`), and it may come from the pull
            // request being checked.
            Some(r) if server.own_cluster && !script.own => {
                let mut runner = server.connect_to(db)?;
                run_setup_as_role(&mut admin, &mut runner, r, script, root, &limits, true)?;
            }
            // On a --database-url server, a script named in twice.toml runs
            // as the migration role too: twice.toml may come from the pull
            // request, and the URL's role may grant itself the server's
            // programs and files (CREATEROLE before PostgreSQL 16). Roles
            // are not made for it there (they would outlive the run): the
            // URL's role runs a script given with --setup.
            Some(r) if script.from_file && !script.own => {
                let mut runner = server.connect_to(db)?;
                run_setup_as_role(&mut admin, &mut runner, r, script, root, &limits, false)?;
            }
            _ => run_setup(&mut admin, role.as_deref(), script, root, &limits)?,
        }
    }
    match role {
        Some(role) => grant_scratch(&mut admin, &role, &before),
        None => Ok(()),
    }
}

/// The time limit of a setup script's statements.
struct Limits<'w> {
    watchdog: &'w Watchdog,
    timeout: Duration,
}

impl Limits<'_> {
    /// Prepares `client` for a setup script: the server's statement time
    /// limit, and the backend the watchdog ends when the script turned
    /// that limit off.
    fn prepare(&self, client: &mut Client) -> std::result::Result<i32, postgres::Error> {
        let ms = self.timeout.as_millis().clamp(1, i32::MAX as u128);
        client.batch_execute(&format!("SET statement_timeout = {ms}"))?;
        client
            .query_one("SELECT pg_catalog.pg_backend_pid()", &[])
            .map(|r| r.get(0))
    }

    /// Runs `sql` on `client` (backend `backend`) under the time limit.
    fn run(
        &self,
        client: &mut Client,
        backend: i32,
        sql: &str,
    ) -> std::result::Result<(), postgres::Error> {
        self.watchdog.arm(
            Instant::now() + self.timeout + Duration::from_secs(1),
            client.cancel_token(),
            backend,
        );
        let r = client.batch_execute(sql);
        self.watchdog.disarm();
        r
    }
}

/// What a setup statement's error says, with "(it ran longer than ...)"
/// when the time limit stopped it.
fn timed_out_note(e: &postgres::Error, timeout: Duration) -> Option<String> {
    (e.code() == Some(&postgres::error::SqlState::QUERY_CANCELED)
        || e.code() == Some(&postgres::error::SqlState::ADMIN_SHUTDOWN)
        || e.as_db_error().is_none())
    .then(|| {
        format!(
            " (the setup script's statement ran longer than the replay time limit of {} s, \
             --timeout, and was stopped)",
            timeout.as_secs_f64()
        )
    })
}

/// Runs the setup script on `admin` (connected to the scratch database).
/// The custom setting `twice.migration_role` names the role the migrations
/// will run as (for `GRANT`s of its own).
fn run_setup(
    admin: &mut Client,
    role: Option<&str>,
    script: &Script,
    root: &str,
    limits: &Limits,
) -> Result<()> {
    let set = format!("SET twice.migration_role = {}", literal(role.unwrap_or("")));
    admin
        .batch_execute(&set)
        .map_err(|e| Error::new(format!("cannot prepare the setup script: {}", describe(&e))))?;
    let backend = limits
        .prepare(admin)
        .map_err(|e| Error::new(format!("cannot prepare the setup script: {}", describe(&e))))?;
    let result =
        crate::replay::setup::run(script, crate::dialect::Dialect::Postgres, root, |sql| {
            limits.run(admin, backend, sql).map_err(|e| StatementError {
                message: format!(
                    "{}{}",
                    describe(&e),
                    timed_out_note(&e, limits.timeout).unwrap_or_default()
                ),
                position: e.as_db_error().and_then(|d| match d.position() {
                    Some(postgres::error::ErrorPosition::Original(p)) => {
                        Some((*p as usize).saturating_sub(1))
                    }
                    _ => None,
                }),
            })
        });
    // (twice's own statements on this session after the script: no limit.)
    let _ = admin.batch_execute("RESET statement_timeout");
    result
}

/// A setup statement on roles: `CREATE ROLE|USER|GROUP name ...` (the
/// role's name, folded as the server folds it), or another statement that
/// changes a role (`ALTER ROLE`, `DROP ROLE`).
pub(super) enum RoleStatement {
    Create(String),
    Other,
}

pub(super) fn role_statement(sql: &str) -> Option<RoleStatement> {
    use crate::lexer::{Lexer, TokenKind};
    let words: Vec<(TokenKind, &str)> =
        Lexer::new(sql, 0..sql.len(), crate::dialect::Dialect::Postgres)
            .filter(|t| !t.kind.is_trivia())
            .take(3)
            .map(|t| (t.kind, &sql[t.span]))
            .collect();
    let word = |i: usize| words.get(i).map(|(_, w)| w.to_ascii_uppercase());
    if !matches!(word(1).as_deref(), Some("ROLE" | "USER" | "GROUP")) {
        return None;
    }
    match word(0).as_deref() {
        Some("CREATE") => {
            let (kind, name) = words.get(2)?;
            let name = match kind {
                TokenKind::QuotedIdent => name
                    .strip_prefix('"')
                    .and_then(|n| n.strip_suffix('"'))?
                    .replace("\"\"", "\""),
                TokenKind::Word => name.to_ascii_lowercase(),
                _ => return None,
            };
            Some(RoleStatement::Create(name))
        }
        Some("ALTER" | "DROP") => Some(RoleStatement::Other),
        _ => None,
    }
}

/// Runs a user's setup script as the migration role `role` on twice's own
/// cluster (see [`prepare_scratch`]). Its `CREATE ROLE name ...` statements
/// are made by twice instead, as the admin: `name` as a plain `NOLOGIN`
/// role (whatever attributes the statement asks for), which the migration
/// role may grant (`WITH ADMIN OPTION`: `GRANT name TO other` and `CREATE
/// SCHEMA ... AUTHORIZATION name` then work), when no role of that name
/// exists (an existing one is left as it is, and not granted); `ALTER ROLE`
/// and `DROP ROLE` are not run. Everything else runs with the migration role's rights: a
/// statement that needs a superuser fails, and the error says why.
fn run_setup_as_role(
    admin: &mut Client,
    runner: &mut Client,
    role: &str,
    script: &Script,
    root: &str,
    limits: &Limits,
    own_cluster: bool,
) -> Result<()> {
    let set = format!("SET twice.migration_role = {}", literal(role));
    runner
        .batch_execute(&set)
        .map_err(|e| Error::new(format!("cannot prepare the setup script: {}", describe(&e))))?;
    let backend = limits
        .prepare(runner)
        .map_err(|e| Error::new(format!("cannot prepare the setup script: {}", describe(&e))))?;
    let timeout = limits.timeout;
    let failed = |e: postgres::Error| {
        let mut message = describe(&e);
        if let Some(note) = timed_out_note(&e, timeout) {
            message.push_str(&note);
        }
        if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
            message.push_str(if own_cluster {
                " (on twice's own cluster a setup script runs as the migration role, not as a \
                 superuser, which could run programs on this machine: what needs a superuser, \
                 such as an untrusted extension, needs a server given with --database-url)"
            } else {
                " (a setup script named in twice.toml runs as the migration role, not as the \
                 --database-url role: twice.toml may come from the pull request being checked; \
                 give the script with --setup FILE to run it as the URL's role)"
            });
        }
        StatementError {
            message,
            position: e.as_db_error().and_then(|d| match d.position() {
                Some(postgres::error::ErrorPosition::Original(p)) => {
                    Some((*p as usize).saturating_sub(1))
                }
                _ => None,
            }),
        }
    };
    crate::replay::setup::run(script, crate::dialect::Dialect::Postgres, root, |sql| {
        match role_statement(sql) {
            Some(RoleStatement::Create(name)) if own_cluster => make_plain_role(admin, role, &name)
                .map(|_| ())
                .map_err(failed),
            Some(RoleStatement::Other) if own_cluster => Ok(()),
            _ => limits.run(runner, backend, sql).map_err(failed),
        }
    })
}

/// Makes `name` as the admin: a plain `NOLOGIN` role with no attribute,
/// which the migration role `role` may grant (`WITH ADMIN OPTION`: `GRANT
/// name TO other` and `CREATE SCHEMA ... AUTHORIZATION name` then work).
/// Only a role made here is granted: an existing one (a predefined `pg_*`
/// role, the admin) stays out of reach and nothing is done (`false`). The
/// name goes in as a bound parameter and as a quoted identifier, never
/// inside other quoting (a `DO $tag$` body would end at a name holding its
/// tag).
pub(super) fn make_plain_role(
    admin: &mut Client,
    role: &str,
    name: &str,
) -> std::result::Result<bool, postgres::Error> {
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&name],
        )?
        .is_some();
    if exists {
        return Ok(false);
    }
    let sql = format!(
        "CREATE ROLE {r} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
         NOBYPASSRLS; GRANT {r} TO {m} WITH ADMIN OPTION",
        r = ident(name),
        m = ident(role),
    );
    admin.batch_execute(&sql)?;
    Ok(true)
}

/// Inside the scratch database only: `USAGE` and `CREATE` on the schemas
/// made since `before` (by the setup script) and every right on the tables
/// and sequences of its schemas (from the template or the setup script), so
/// the migrations can use them as they would on the real database.
fn grant_scratch(admin: &mut Client, role: &str, before: &BTreeSet<String>) -> Result<()> {
    admin.batch_execute(SAFE_SEARCH_PATH).map_err(|e| {
        Error::new(format!(
            "cannot let the migration role use the scratch database's tables: {}",
            describe(&e)
        ))
    })?;
    let after = schemas(admin)?;
    let r = ident(role);
    let mut grants = Vec::new();
    for s in after.difference(before) {
        grants.push(format!("GRANT USAGE, CREATE ON SCHEMA {} TO {r}", ident(s)));
    }
    for s in &after {
        let s = ident(s);
        grants.push(format!("GRANT USAGE ON SCHEMA {s} TO {r}"));
        grants.push(format!("GRANT ALL ON ALL TABLES IN SCHEMA {s} TO {r}"));
        grants.push(format!("GRANT ALL ON ALL SEQUENCES IN SCHEMA {s} TO {r}"));
    }
    // Best effort, one by one: on a --database-url server the admin role
    // may not hold the rights to pass on (a template's schema of another
    // owner); the migrations then meet the same refusal the server gives.
    for g in grants {
        match admin.batch_execute(&g) {
            Ok(()) => {}
            Err(e) if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) => {}
            Err(e) => {
                return Err(Error::new(format!(
                    "cannot let the migration role use the scratch database's tables: {}",
                    describe(&e)
                )))
            }
        }
    }
    Ok(())
}

/// Keeps twice's transaction from being ended for idling, whatever a
/// migration set (the batched runs in `run.rs` and [`check_session`]).
pub(super) const IDLE_PIN: &str =
    "SELECT pg_catalog.set_config('idle_in_transaction_session_timeout', '0', true)";

/// After a statement ran: a migration that turns
/// `standard_conforming_strings` off would make the server read later
/// statements differently from twice (a backslash would escape a quote, so
/// one statement twice reads could run as several). Replay stops there
/// (exit 2) instead of running text it no longer reads as the server does.
pub fn check_session(client: &mut Client, file: &SourceFile, stmt: &Statement) -> Result<()> {
    // With twice's own transaction kept from idling out (`IDLE_PIN`).
    let rows = client
        .simple_query(&format!("{}; SHOW standard_conforming_strings", IDLE_PIN))
        .map_err(|e| {
            Error::new(format!(
                "PostgreSQL replay: cannot read the session settings: {}",
                describe(&e)
            ))
        })?;
    let off = rows
        .iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .last()
        .is_some_and(|r| r.get(0) == Some("off"));
    if off {
        let line = file.line_col(stmt.span.start).0;
        return Err(Error::new(format!(
            "line {line} turns standard_conforming_strings off: the server would then read a \
             backslash in a string as an escape and no longer run the statements as twice \
             reads them, so replay stops here; remove it (on is PostgreSQL's default since \
             9.1) or check this folder with --no-replay"
        )));
    }
    Ok(())
}
