//! The server twice replays on and the scratch databases and roles it makes
//! there.
//!
//! twice's admin connection goes to the maintenance database named by
//! `--database-url` (or `postgres` on a throwaway cluster) and only creates
//! and drops what twice names itself: a per-run role and the scratch
//! database it owns (`twice_scratch_<host>_<pid>_<random>`, and copies of
//! it), see [`super::roles`]. The migrations run on connections of the
//! per-run role. The admin role needs `CREATEDB` and `CREATEROLE`; without
//! `CREATEROLE` twice refuses, unless the server is declared disposable
//! (`--database-url-trusted`), where the migrations run as the admin role
//! itself. Scratch databases and the role are dropped at the end, on errors,
//! and on Ctrl-C / SIGTERM; a later run drops the leftovers of a killed run
//! made on the same host.

use super::cluster::{self, Cluster};
use super::roles;
use crate::error::{Error, Result};
use postgres::{CancelToken, Client, Config, NoTls};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

/// How the server is reached and who runs the migrations.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// `--database-url`; `None`: a throwaway cluster.
    pub url: Option<String>,
    /// `--database-url-trusted`: the server is disposable, the migrations
    /// may run as the URL's role when it cannot create roles.
    pub trusted: bool,
    /// The database scratch databases are copied from (`template1`).
    pub template: Option<String>,
    /// Throwaway clusters to take one from and give it back to (see
    /// [`cluster::ClusterPool`]); `None`: a cluster of its own.
    pub pool: Option<std::sync::Arc<cluster::ClusterPool>>,
}

/// What to clean up if the process is interrupted.
struct Active {
    id: u64,
    admin: Config,
    databases: Vec<String>,
    roles: Vec<String>,
    cancel: Vec<CancelToken>,
    own_cluster: bool,
}

static ACTIVE: Mutex<Vec<Active>> = Mutex::new(Vec::new());

fn with_active<R>(f: impl FnOnce(&mut Vec<Active>) -> R) -> R {
    let mut guard = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut guard)
}

/// Registers (once) the Ctrl-C / SIGTERM clean-ups of PostgreSQL replay
/// (see [`crate::replay::interrupt`]): cancel running queries and drop
/// every scratch database and role, then stop throwaway clusters (also
/// those still starting).
fn register_cleanup() {
    use crate::replay::interrupt::{on_interrupt, Phase};
    on_interrupt("postgres scratch databases", Phase::Drop, emergency_cleanup);
    on_interrupt(
        "throwaway servers",
        Phase::Stop,
        cluster::emergency_stop_all,
    );
}

/// For the Ctrl-C handler: cancels the running queries and drops the
/// scratch databases and roles of every PostgreSQL replay (a throwaway
/// cluster goes as a whole, at [`cluster::emergency_stop_all`]).
fn emergency_cleanup() {
    for a in with_active(std::mem::take) {
        for c in &a.cancel {
            let _ = c.cancel_query(NoTls);
        }
        if a.own_cluster {
            continue;
        }
        if let Ok(mut admin) = connect(&a.admin) {
            for db in &a.databases {
                let _ = drop_database(&mut admin, db);
            }
            for r in &a.roles {
                let _ = admin.batch_execute(&format!("DROP ROLE IF EXISTS {}", ident(r)));
            }
        }
    }
}

fn connect(config: &Config) -> Result<Client, postgres::Error> {
    config.connect(NoTls)
}

/// Quotes an identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal (standard_conforming_strings on).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn drop_database(admin: &mut Client, name: &str) -> Result<(), postgres::Error> {
    // WITH (FORCE) (PostgreSQL 13+) ends sessions still connected; older
    // servers get a few retries instead.
    let force = admin
        .query_one(
            "SELECT current_setting('server_version_num')::int >= 130000",
            &[],
        )
        .map(|r| r.get::<_, bool>(0))
        .unwrap_or(false);
    let sql = if force {
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(name))
    } else {
        format!("DROP DATABASE IF EXISTS {}", ident(name))
    };
    retry_busy(|| admin.batch_execute(&sql))
}

/// Retries `f` while the server says a database is still in use by a
/// session that is closing (SQLSTATE 55006).
fn retry_busy(mut f: impl FnMut() -> Result<(), postgres::Error>) -> Result<(), postgres::Error> {
    let mut wait = Duration::from_millis(5);
    for _ in 0..40 {
        match f() {
            Err(e) if e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE) => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_millis(250));
            }
            other => return other,
        }
    }
    f()
}

/// Describes a client error for users: the server's message and SQLSTATE.
pub fn describe(e: &postgres::Error) -> String {
    crate::replay::engine::bounded_error_text(describe_all(e))
}

fn describe_all(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                source = inner.source();
            }
            s
        }
    }
}

/// Who runs the migrations.
#[derive(Clone, Debug)]
enum Runner {
    /// A per-run role with this name and password.
    Role { name: String, password: String },
    /// The admin role itself (`--database-url-trusted` without CREATEROLE).
    Admin,
}

/// Ends a statement that outlives its time limit and ignores cancels: used
/// by the replay watchdog from its own thread.
#[derive(Clone)]
pub struct Terminator {
    admin: Config,
    server_pid: Option<i32>,
}

impl Terminator {
    /// Terminates backend `pid` (a FATAL error no exception handler can
    /// catch); if it is still there a few seconds later and the server is
    /// twice's throwaway cluster, stops the server.
    pub fn terminate(&self, pid: i32) {
        let gone = |c: &mut Client| {
            c.query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1)",
                &[&pid],
            )
            .map(|r| r.get::<_, bool>(0))
            .unwrap_or(false)
        };
        if let Ok(mut c) = connect(&self.admin) {
            let _ = c.query_one("SELECT pg_catalog.pg_terminate_backend($1)", &[&pid]);
            for _ in 0..60 {
                if gone(&mut c) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Some(server) = self.server_pid {
            // SAFETY: signals the throwaway server twice started.
            unsafe { libc::kill(server, libc::SIGQUIT) };
        }
    }
}

/// A connection to the server with the right to create databases.
pub struct Server {
    id: u64,
    admin: Client,
    admin_config: Config,
    /// The connection settings as given (the admin's without its options).
    base: Config,
    runner: Runner,
    template: String,
    pub version_num: i32,
    /// Whether the admin role is a superuser: event triggers (which report
    /// the DDL a run did) need one; twice installs them with the admin role.
    pub event_triggers: bool,
    /// The cluster is twice's own throwaway one (statements on roles and
    /// server settings are sent: the server's privileges decide).
    pub own_cluster: bool,
    /// The migration role may create roles (throwaway cluster, PostgreSQL
    /// 16+): role statements are sent, not skipped.
    pub roles_allowed: bool,
    databases: Vec<String>,
    roles: Vec<String>,
    /// Why the run is incomplete, found while cleaning up.
    problems: Vec<String>,
    /// On a throwaway cluster: the roles and databases it had before this
    /// sequence. What the sequence (its setup script, its migrations) added
    /// to them is dropped at the end, and the cluster serves the next
    /// sequence only when it is back to exactly these.
    shared_before: Option<SharedCatalogs>,
    /// Where the throwaway cluster goes back when the sequence is done.
    pool: Option<std::sync::Arc<cluster::ClusterPool>>,
    // Declared last: dropped after the admin connection.
    cluster: Option<Cluster>,
}

/// The names in a cluster's shared catalogs that sequences may add to.
#[derive(Debug, PartialEq, Eq)]
struct SharedCatalogs {
    roles: BTreeSet<String>,
    databases: BTreeSet<String>,
}

fn shared_catalogs(admin: &mut Client) -> std::result::Result<SharedCatalogs, postgres::Error> {
    let names =
        |admin: &mut Client, sql: &str| -> std::result::Result<BTreeSet<String>, postgres::Error> {
            Ok(admin.query(sql, &[])?.iter().map(|r| r.get(0)).collect())
        };
    Ok(SharedCatalogs {
        roles: names(admin, "SELECT rolname::text FROM pg_catalog.pg_roles")?,
        databases: names(admin, "SELECT datname::text FROM pg_catalog.pg_database")?,
    })
}

static NEXT_ID: Mutex<u64> = Mutex::new(0);

/// Adds `-c NAME=VALUE` settings to a connection's options.
fn add_options(c: &mut Config, settings: &str) {
    let mut options = c.get_options().unwrap_or("").to_string();
    if !options.is_empty() {
        options.push(' ');
    }
    options.push_str(settings);
    c.options(&options);
}

fn url_config(url: &str) -> Result<Config> {
    let mut config: Config = url.parse().map_err(|e| {
        Error::new(format!(
            "--database-url: not a PostgreSQL connection string ({e}); expected \
             e.g. postgres://user@localhost:5432/postgres"
        ))
    })?;
    if config.get_dbname().is_none() {
        config.dbname("postgres");
    }
    config.application_name("twice");
    Ok(config)
}

impl Server {
    /// Connects to `opts.url`, or starts a throwaway cluster when it is
    /// `None`; creates the per-run role.
    pub fn open(opts: &ServerOptions) -> Result<Server> {
        register_cleanup();
        let (admin_config, cluster) = match opts.url.as_deref() {
            Some(url) => (url_config(url)?, None),
            None => {
                // One cluster serves the sequences of a check one after
                // another (see ClusterPool).
                let cluster = match &opts.pool {
                    Some(pool) => pool.take()?,
                    None => Cluster::start()?,
                };
                let mut config = Config::new();
                config
                    .host_path(cluster.socket_dir())
                    .port(cluster.port)
                    .user(&cluster.user)
                    .dbname("postgres")
                    .application_name("twice");
                (config, Some(cluster))
            }
        };
        // twice's own statements never wait for ever on a lock a migration
        // left (a prepared transaction holds its locks until rolled back).
        let base = admin_config.clone();
        let mut admin_config = admin_config;
        add_options(&mut admin_config, "-c lock_timeout=60000");
        let mut admin = connect(&admin_config).map_err(|e| {
            let target = if opts.url.is_some() {
                "the --database-url server"
            } else {
                "the throwaway cluster"
            };
            Error::new(format!("cannot connect to {target}: {}", describe(&e)))
        })?;
        let row = admin
            .query_one(
                "SELECT current_setting('server_version_num')::int, r.rolsuper, \
                 r.rolcreatedb OR r.rolsuper, r.rolcreaterole OR r.rolsuper, current_user::text \
                 FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
                &[],
            )
            .map_err(|e| Error::new(format!("cannot query the server: {}", describe(&e))))?;
        let version_num: i32 = row.get(0);
        let admin_super: bool = row.get(1);
        let createdb: bool = row.get(2);
        let createrole: bool = row.get(3);
        let admin_name: String = row.get(4);
        if !createdb {
            return Err(Error::new(format!(
                "the --database-url role `{admin_name}` cannot create databases: twice replays \
                 in a scratch database it creates and drops; grant it with `ALTER ROLE {} \
                 CREATEDB`",
                ident(&admin_name)
            )));
        }
        let own_cluster = cluster.is_some();
        let runner = if own_cluster {
            // The cluster lives for this run only: the migration role can
            // have the name a stock installation's superuser has.
            Runner::Role {
                name: cluster::STOCK_ROLE.to_string(),
                password: roles::password(),
            }
        } else if opts.trusted {
            // A disposable server: the migrations run as the URL's role,
            // with all its rights (a migration that needs superuser, such as
            // `DISABLE TRIGGER ALL` on foreign-key triggers, replays there).
            Runner::Admin
        } else if createrole {
            Runner::Role {
                name: roles::run_name(roles::ROLE_PREFIX),
                password: roles::password(),
            }
        } else {
            return Err(Error::new(format!(
                "the --database-url role `{admin_name}` cannot create roles: twice runs the \
                 migrations as a fresh role of its own that owns only the scratch database, so \
                 that they cannot change anything else on the server. Grant it with `ALTER \
                 ROLE {} CREATEROLE`, or, if nothing on this server matters (a disposable CI \
                 service), pass --database-url-trusted (twice.toml: database_url_trusted = true \
                 under [replay]) to run the migrations as `{admin_name}` itself",
                ident(&admin_name)
            )));
        };
        let id = {
            let mut n = NEXT_ID.lock().unwrap_or_else(|p| p.into_inner());
            *n += 1;
            *n
        };
        with_active(|a| {
            a.push(Active {
                id,
                admin: admin_config.clone(),
                databases: Vec::new(),
                roles: Vec::new(),
                cancel: vec![admin.cancel_token()],
                own_cluster,
            })
        });
        let roles_allowed = own_cluster && version_num >= 160000;
        let shared_before =
            if own_cluster {
                Some(shared_catalogs(&mut admin).map_err(|e| {
                    Error::new(format!("cannot query the server: {}", describe(&e)))
                })?)
            } else {
                None
            };
        let mut server = Server {
            id,
            admin,
            admin_config,
            base,
            event_triggers: admin_super,
            runner,
            template: opts.template.clone().unwrap_or_else(|| "template1".into()),
            version_num,
            own_cluster,
            roles_allowed,
            databases: Vec::new(),
            roles: Vec::new(),
            problems: Vec::new(),
            shared_before,
            pool: opts.pool.clone(),
            cluster,
        };
        if !own_cluster {
            server.drop_leftovers();
        }
        server.create_role(admin_super)?;
        Ok(server)
    }

    /// Drops scratch databases and roles made on this host by twice runs
    /// whose process is gone (killed before they could clean up).
    fn drop_leftovers(&mut self) {
        let own = std::process::id();
        let dead = |name: &str, prefix: &str| {
            roles::owner_pid(name, prefix).is_some_and(|p| p != own && !roles::pid_alive(p))
        };
        let pattern =
            |prefix: &str| format!("{}{}\\_%", prefix.replace('_', "\\_"), roles::host_tag());
        let names = |c: &mut Client, sql: &str, prefix: &str| -> Vec<String> {
            c.query(sql, &[&pattern(prefix)])
                .map(|rows| {
                    rows.iter()
                        .map(|r| r.get::<_, String>(0))
                        .collect::<Vec<String>>()
                })
                .unwrap_or_default()
                .into_iter()
                .filter(|n: &String| dead(n, prefix))
                .collect()
        };
        let dbs = names(
            &mut self.admin,
            "SELECT datname::text FROM pg_catalog.pg_database WHERE datname LIKE $1",
            roles::SCRATCH_PREFIX,
        );
        for db in dbs {
            let _ = self.rollback_prepared(&db);
            let _ = drop_database(&mut self.admin, &db);
        }
        let old_roles = names(
            &mut self.admin,
            "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname LIKE $1",
            roles::ROLE_PREFIX,
        );
        for r in old_roles {
            let _ = self
                .admin
                .batch_execute(&format!("DROP ROLE IF EXISTS {}", ident(&r)));
        }
    }

    /// Creates the per-run role: a login role with no special attribute,
    /// `standard_conforming_strings` pinned on.
    fn create_role(&mut self, admin_super: bool) -> Result<()> {
        let Runner::Role { name, password } = self.runner.clone() else {
            return Ok(());
        };
        self.roles.push(name.clone());
        let id = self.id;
        with_active(|a| {
            if let Some(a) = a.iter_mut().find(|a| a.id == id) {
                a.roles.push(name.clone());
            }
        });
        let createrole = if self.roles_allowed {
            "CREATEROLE"
        } else {
            "NOCREATEROLE"
        };
        let mut sql = format!(
            "CREATE ROLE {r} LOGIN NOSUPERUSER NOCREATEDB {createrole} NOREPLICATION \
             PASSWORD {pw}; ALTER ROLE {r} SET standard_conforming_strings = on;",
            r = ident(&name),
            pw = literal(&password),
        );
        if !admin_super {
            // To create databases it owns, drop them and end its sessions.
            sql.push_str(&format!(" GRANT {} TO CURRENT_USER;", ident(&name)));
        }

        self.admin.batch_execute(&sql).map_err(|e| {
            Error::new(format!(
                "cannot create the role the migrations run as ({name}): {}",
                describe(&e)
            ))
        })
    }

    /// Whether a statement that changes the whole server is sent to it
    /// (`roles`: it changes roles). On a throwaway cluster the server's
    /// privileges decide, except for role statements where the migration
    /// role cannot create roles (PostgreSQL before 16, where a role allowed
    /// to could grant itself a superuser's powers); on a `--database-url`
    /// server they are not run.
    pub fn sends(&self, roles: bool) -> bool {
        self.own_cluster && (!roles || self.roles_allowed)
    }

    /// The message and help of a server-wide statement that is not sent.
    pub fn skipped(&self, what: &str) -> (String, String) {
        if self.own_cluster {
            (
                format!(
                    "not replayed: the statement {what}; on PostgreSQL {} twice's throwaway \
                     cluster does not let migrations create or change roles (a role allowed to \
                     could make itself a superuser before PostgreSQL 16)",
                    self.version_num / 10000
                ),
                "create the roles the migrations need in a setup script (--setup FILE: twice \
                 makes the roles it creates), or use a PostgreSQL 16+ server"
                    .into(),
            )
        } else {
            (
                format!(
                    "not replayed: the statement {what}, which affects the whole server; \
                     twice runs such statements only on its own throwaway cluster"
                ),
                "run without --database-url (twice then starts a throwaway cluster) to replay it"
                    .into(),
            )
        }
    }

    /// For a `CREATE ROLE|USER|GROUP name ...` of a migration that is not
    /// sent (a throwaway cluster before PostgreSQL 16, where the migration
    /// role may not create roles): makes `name` as a plain role the
    /// migrations can grant and name (see [`super::setup::make_plain_role`]),
    /// so that the statements after it that need the role run; the
    /// statement's own options (`SUPERUSER`, `LOGIN`, a password, ...) are
    /// not applied. Returns the message and help of the statement's note
    /// when the role was made; `None` when nothing was (another statement,
    /// a `--database-url` server, a name already taken, an error), and the
    /// statement is skipped as before. The role is dropped with the
    /// sequence's other additions to the cluster (see [`Server::finish`]).
    pub fn make_migration_role(&mut self, sql: &str, what: &str) -> Option<(String, String)> {
        if !self.own_cluster || self.roles_allowed {
            return None;
        }
        let Some(super::setup::RoleStatement::Create(name)) = super::setup::role_statement(sql)
        else {
            return None;
        };
        let role = self.migration_role()?.to_string();
        let admin = self.admin().ok()?;
        if !super::setup::make_plain_role(admin, &role, &name).ok()? {
            return None;
        }
        Some((
            format!(
                "not replayed: the statement {what}, which on PostgreSQL {} twice's \
                 throwaway cluster migrations may not do (a role allowed to could make itself a \
                 superuser before PostgreSQL 16); twice made the role `{name}` itself, as a plain \
                 NOLOGIN role without the statement's options, so that the statements granting \
                 to it or naming it run",
                self.version_num / 10000
            ),
            "to replay the role's own options, use a PostgreSQL 16+ server, or create the role \
             in a setup script (--setup FILE)"
                .into(),
        ))
    }

    /// The role the migrations run as.
    pub fn migration_role(&self) -> Option<&str> {
        match &self.runner {
            Runner::Role { name, .. } => Some(name),
            Runner::Admin => None,
        }
    }

    fn register(&mut self, name: &str) {
        self.databases.push(name.to_string());
        let id = self.id;
        with_active(|a| {
            if let Some(a) = a.iter_mut().find(|a| a.id == id) {
                a.databases.push(name.to_string());
            }
        });
    }

    fn unregister(&mut self, name: &str) {
        self.databases.retain(|d| d != name);
        let id = self.id;
        with_active(|a| {
            if let Some(a) = a.iter_mut().find(|a| a.id == id) {
                a.databases.retain(|d| d != name);
            }
        });
    }

    /// Registers a connection whose running query Ctrl-C should cancel.
    pub fn watch(&self, client: &Client) {
        let id = self.id;
        let token = client.cancel_token();
        with_active(|a| {
            if let Some(a) = a.iter_mut().find(|a| a.id == id) {
                a.cancel.push(token);
            }
        });
    }

    /// The admin connection, reconnected when it was lost (a migration may
    /// have ended it): that makes the run incomplete.
    fn admin(&mut self) -> Result<&mut Client> {
        let lost = self.admin.is_closed() || self.admin.simple_query("SELECT 1").is_err();
        if lost {
            let msg = "twice's own connection to the server was closed during replay (a \
                       migration may have ended it with pg_terminate_backend, or the server \
                       went away)";
            if !self.problems.iter().any(|p| p == msg) {
                self.problems.push(msg.to_string());
            }
            self.admin = connect(&self.admin_config).map_err(|e| {
                Error::new(format!("cannot reconnect to the server: {}", describe(&e)))
            })?;
        }
        Ok(&mut self.admin)
    }

    fn owner_clause(&self) -> String {
        match &self.runner {
            Runner::Role { name, .. } => format!(" OWNER {}", ident(name)),
            Runner::Admin => String::new(),
        }
    }

    /// Creates a new scratch database (a copy of the template, `template1`
    /// unless `--template` names another) owned by the migration role, and
    /// returns its name.
    pub fn create_scratch(&mut self) -> Result<String> {
        let name = roles::run_name(roles::SCRATCH_PREFIX);
        self.register(&name);
        let sql = format!(
            "CREATE DATABASE {}{} TEMPLATE {}",
            ident(&name),
            self.owner_clause(),
            ident(&self.template)
        );
        let template = self.template.clone();
        let admin = self.admin()?;
        retry_busy(|| admin.batch_execute(&sql)).map_err(|e| {
            let busy = e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE);
            Error::new(format!(
                "cannot create the scratch database {name} from template {template}: {}{}",
                describe(&e),
                if busy {
                    " (a template cannot be copied while sessions are connected to it: \
                     close them, or pick another one with --template)"
                } else {
                    ""
                }
            ))
        })?;
        Ok(name)
    }

    /// Creates `name` as a copy of `template` (which must have no sessions).
    pub fn clone_database(&mut self, template: &str) -> Result<String> {
        let name = format!("{template}_c{}", super::random_suffix());
        self.register(&name);
        let sql = format!(
            "CREATE DATABASE {}{} TEMPLATE {}",
            ident(&name),
            self.owner_clause(),
            ident(template)
        );
        let admin = self.admin()?;
        retry_busy(|| admin.batch_execute(&sql)).map_err(|e| {
            Error::new(format!(
                "cannot copy the scratch database for undo: {}",
                describe(&e)
            ))
        })?;
        Ok(name)
    }

    /// Rolls back transactions a migration left prepared (`PREPARE
    /// TRANSACTION`) in `db`, which would keep it from being dropped.
    /// Returns how many there were.
    fn rollback_prepared(&mut self, db: &str) -> Result<usize> {
        let rows = self
            .admin()?
            .query(
                "SELECT gid, owner::text FROM pg_catalog.pg_prepared_xacts WHERE database = $1",
                &[&db],
            )
            .map_err(|e| Error::new(describe(&e)))?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut c = self.admin_config.clone();
        c.dbname(db);
        let mut client = connect(&c).map_err(|e| Error::new(describe(&e)))?;
        client
            .batch_execute(super::setup::SAFE_SEARCH_PATH)
            .map_err(|e| Error::new(describe(&e)))?;
        for r in &rows {
            let gid: String = r.get(0);
            let owner: String = r.get(1);
            // One statement each: ROLLBACK PREPARED cannot run in the
            // transaction block a multi-statement string is.
            for sql in [
                format!("SET ROLE {}", ident(&owner)),
                format!("ROLLBACK PREPARED {}", literal(&gid)),
                "RESET ROLE".to_string(),
            ] {
                client
                    .batch_execute(&sql)
                    .map_err(|e| Error::new(describe(&e)))?;
            }
        }
        Ok(rows.len())
    }

    /// Drops a database twice created.
    pub fn drop_database(&mut self, name: &str) -> Result<()> {
        if !self.databases.iter().any(|d| d == name) {
            return Err(Error::new(format!(
                "internal: refusing to drop {name}, which twice did not create"
            )));
        }
        match self.rollback_prepared(name) {
            Ok(0) => {}
            Ok(_) => self.problems.push(
                "a migration left a prepared transaction (PREPARE TRANSACTION); twice rolled \
                 it back"
                    .into(),
            ),
            Err(e) => self.problems.push(format!(
                "cannot roll back a prepared transaction a migration left: {e}"
            )),
        }
        drop_database(self.admin()?, name).map_err(|e| {
            Error::new(format!(
                "cannot drop the scratch database {name}: {}",
                describe(&e)
            ))
        })?;
        self.unregister(name);
        Ok(())
    }

    /// The connection settings of the migration role for database `db`,
    /// with `standard_conforming_strings` pinned on.
    fn runner_config(&self, db: &str) -> Config {
        let mut c = self.base.clone();
        c.dbname(db);
        if let Runner::Role { name, password } = &self.runner {
            c.user(name).password(password.as_bytes());
        }
        add_options(&mut c, "-c standard_conforming_strings=on");
        c
    }

    /// Connects to a database twice created, as the migration role.
    pub fn connect_to(&self, db: &str) -> Result<Client> {
        let client = connect(&self.runner_config(db)).map_err(|e| {
            let hint = match &self.runner {
                Runner::Role { name, .. } if !self.own_cluster => format!(
                    "; twice runs the migrations as the role {name}, which it creates with a \
                     password: the server's pg_hba.conf must let such a role log in with a \
                     password (scram-sha-256 or md5) on the connection --database-url \
                     describes (not `peer` or `ident`), or pass --database-url-trusted on a \
                     disposable server"
                ),
                _ => String::new(),
            };
            Error::new(format!(
                "cannot connect to the scratch database: {}{hint}",
                describe(&e)
            ))
        })?;
        self.watch(&client);
        Ok(client)
    }

    /// Connects to a database twice created, as the admin role (setup
    /// scripts).
    pub fn admin_connect_to(&self, db: &str) -> Result<Client> {
        let mut c = self.admin_config.clone();
        c.dbname(db);
        let client = connect(&c).map_err(|e| {
            Error::new(format!(
                "cannot connect to the scratch database: {}",
                describe(&e)
            ))
        })?;
        self.watch(&client);
        Ok(client)
    }

    /// What the replay watchdog uses to end a statement that ignores cancels.
    /// The throwaway cluster's data folder (`None` with `--database-url`).
    pub fn data_dir(&self) -> Option<std::path::PathBuf> {
        self.cluster.as_ref().map(|c| c.data_dir())
    }

    pub fn terminator(&self) -> Terminator {
        Terminator {
            admin: self.admin_config.clone(),
            server_pid: self.cluster.as_ref().and_then(|c| c.server_pid()),
        }
    }

    /// Whether a database exists (for tests and sanity checks).
    pub fn database_exists(&mut self, name: &str) -> Result<bool> {
        self.admin()?
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1)",
                &[&name],
            )
            .map(|r| r.get(0))
            .map_err(|e| Error::new(describe(&e)))
    }

    /// A connection to the maintenance database (holds a client slot while
    /// the scratch database must have no session).
    pub fn maintenance_client(&self) -> Result<Client> {
        connect(&self.admin_config)
            .map_err(|e| Error::new(format!("cannot connect to the server: {}", describe(&e))))
    }

    /// Drops what twice made (scratch databases, then the role) and returns
    /// why the run is incomplete, if it is: the admin connection was lost, a
    /// prepared transaction was left, or something could not be dropped.
    pub fn finish(&mut self) -> Vec<String> {
        for db in self.databases.clone() {
            if let Err(e) = self.drop_database(&db) {
                self.problems.push(e.message);
            }
        }
        // Roles the setup script or the migrations created on twice's own
        // cluster: they would be there for the next sequence.
        let before = self.shared_before.take();
        if let Some(before) = &before {
            let added: Vec<String> = self
                .admin()
                .ok()
                .and_then(|a| shared_catalogs(a).ok())
                .map(|now| {
                    now.roles
                        .difference(&before.roles)
                        .filter(|r| !self.roles.contains(r))
                        .map(|r| ident(r))
                        .collect()
                })
                .unwrap_or_default();
            if !added.is_empty() {
                if let Ok(a) = self.admin() {
                    // When this fails the cluster is not reused (below).
                    let _ = a.batch_execute(&format!("DROP ROLE IF EXISTS {}", added.join(", ")));
                }
            }
        }
        for r in std::mem::take(&mut self.roles) {
            let dropped = self.admin().map_err(|e| e.message).and_then(|a| {
                a.batch_execute(&format!("DROP ROLE IF EXISTS {}", ident(&r)))
                    .map_err(|e| describe(&e))
            });
            if let Err(e) = dropped {
                self.problems
                    .push(format!("cannot drop the role {r} twice created: {e}"));
            }
        }
        let id = self.id;
        with_active(|a| a.retain(|a| a.id != id));
        if let Some(c) = self.cluster.take() {
            // The next sequence gets the cluster only as this one found it.
            let clean = self.problems.is_empty()
                && before.as_ref().is_some_and(|before| {
                    self.admin()
                        .ok()
                        .and_then(|a| shared_catalogs(a).ok())
                        .is_some_and(|now| &now == before)
                });
            match &self.pool {
                Some(pool) => pool.give_back(c, clean),
                None => drop(c),
            }
        }
        std::mem::take(&mut self.problems)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
