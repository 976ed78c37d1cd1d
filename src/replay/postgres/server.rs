//! The server twice replays on and the scratch databases it makes there.
//!
//! twice connects to the maintenance database named by `--database-url`
//! (or `postgres` on a throwaway cluster) and runs only `CREATE DATABASE` /
//! `DROP DATABASE` there, for databases it names itself
//! (`twice_scratch_<pid>_<random>` and clones of it). Everything else happens
//! inside the scratch database. The role needs `CREATEDB` (and to be able to
//! connect to the maintenance database). Scratch databases are dropped when
//! the [`Server`] is dropped, on errors, and on Ctrl-C / SIGTERM.

use super::cluster::Cluster;
use crate::error::{Error, Result};
use postgres::{CancelToken, Client, Config, NoTls};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// What to clean up if the process is interrupted.
struct Active {
    id: u64,
    admin: Config,
    databases: Vec<String>,
    cancel: Vec<CancelToken>,
    /// (bindir, data dir, folder) of a throwaway cluster, stopped by pg_ctl.
    cluster: Option<ClusterRef>,
}

struct ClusterRef {
    bindir: std::path::PathBuf,
    dir: std::path::PathBuf,
    run_as: Option<(u32, u32)>,
}

static ACTIVE: Mutex<Vec<Active>> = Mutex::new(Vec::new());
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Called by replay between steps: once Ctrl-C was pressed, the handler
/// thread is cleaning up and will end the process (exit 130); the replay
/// thread waits for it instead of carrying on (and exiting on its own).
pub fn wait_if_interrupted() {
    if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
        loop {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
static HANDLER: OnceLock<()> = OnceLock::new();

fn with_active<R>(f: impl FnOnce(&mut Vec<Active>) -> R) -> R {
    let mut guard = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut guard)
}

/// Installs (once) a Ctrl-C / SIGTERM handler that cancels running queries,
/// drops every scratch database, stops throwaway clusters and exits 130.
fn install_handler() {
    HANDLER.get_or_init(|| {
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            let actives = with_active(std::mem::take);
            for a in actives {
                for c in &a.cancel {
                    let _ = c.cancel_query(NoTls);
                }
                if let Ok(mut admin) = connect(&a.admin) {
                    for db in &a.databases {
                        let _ = drop_database(&mut admin, db);
                    }
                }
                if let Some(c) = a.cluster {
                    let mut cmd = std::process::Command::new(c.bindir.join("pg_ctl"));
                    cmd.args(["-D"])
                        .arg(c.dir.join("data"))
                        .args(["-m", "immediate", "-w", "-s", "stop"])
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null());
                    if let Some((uid, gid)) = c.run_as {
                        use std::os::unix::process::CommandExt;
                        cmd.uid(uid).gid(gid);
                    }
                    let _ = cmd.status();
                    let _ = std::fs::remove_dir_all(&c.dir);
                }
            }
            eprintln!("twice: interrupted; scratch databases dropped");
            std::process::exit(130);
        });
    });
}

fn connect(config: &Config) -> Result<Client, postgres::Error> {
    config.connect(NoTls)
}

/// Quotes an identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn drop_database(admin: &mut Client, name: &str) -> Result<(), postgres::Error> {
    // WITH (FORCE) (PostgreSQL 13+) ends sessions still closing; older
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

/// A connection to the server with the right to create databases.
pub struct Server {
    id: u64,
    admin: Client,
    admin_config: Config,
    /// Base config for connections to scratch databases.
    base: Config,
    pub version_num: i32,
    /// Whether twice's role is a superuser (event triggers need it).
    pub superuser: bool,
    /// The cluster is twice's own throwaway one (cluster-wide statements
    /// such as CREATE ROLE may run).
    pub own_cluster: bool,
    databases: Vec<String>,
    // Declared last: dropped after the admin connection.
    cluster: Option<Cluster>,
}

static NEXT_ID: Mutex<u64> = Mutex::new(0);

impl Server {
    /// Connects to `url`, or starts a throwaway cluster when `url` is `None`.
    pub fn open(url: Option<&str>) -> Result<Server> {
        install_handler();
        let (admin_config, cluster) = match url {
            Some(url) => {
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
                (config, None)
            }
            None => {
                let cluster = Cluster::start()?;
                let mut config = Config::new();
                config
                    .host_path(&cluster.dir)
                    .port(cluster.port)
                    .user(&cluster.user)
                    .dbname("postgres")
                    .application_name("twice");
                (config, Some(cluster))
            }
        };
        let mut admin = connect(&admin_config).map_err(|e| {
            let target = url.map_or_else(
                || "the throwaway cluster".to_string(),
                |_| "the --database-url server".to_string(),
            );
            Error::new(format!("cannot connect to {target}: {}", describe(&e)))
        })?;
        let row = admin
            .query_one(
                "SELECT current_setting('server_version_num')::int, \
                 (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), \
                 (SELECT rolcreatedb OR rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)",
                &[],
            )
            .map_err(|e| Error::new(format!("cannot query the server: {}", describe(&e))))?;
        let version_num: i32 = row.get(0);
        let superuser: bool = row.get::<_, Option<bool>>(1).unwrap_or(false);
        let createdb: bool = row.get::<_, Option<bool>>(2).unwrap_or(false);
        if !createdb {
            return Err(Error::new(
                "the --database-url role cannot create databases: twice replays in a scratch \
                 database it creates and drops; grant it with `ALTER ROLE <role> CREATEDB`",
            ));
        }
        let id = {
            let mut n = NEXT_ID.lock().unwrap_or_else(|p| p.into_inner());
            *n += 1;
            *n
        };
        let base = admin_config.clone();
        let own_cluster = cluster.is_some();
        with_active(|a| {
            a.push(Active {
                id,
                admin: admin_config.clone(),
                databases: Vec::new(),
                cancel: vec![admin.cancel_token()],
                cluster: cluster.as_ref().map(|c| ClusterRef {
                    bindir: c.bindir.clone(),
                    dir: c.dir.clone(),
                    run_as: c.run_as.as_ref().map(|r| (r.uid, r.gid)),
                }),
            })
        });
        Ok(Server {
            id,
            admin,
            admin_config,
            base,
            version_num,
            superuser,
            own_cluster,
            databases: Vec::new(),
            cluster,
        })
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

    /// Creates a new empty scratch database and returns its name.
    pub fn create_scratch(&mut self) -> Result<String> {
        let name = format!(
            "twice_scratch_{}_{}",
            std::process::id(),
            super::random_suffix()
        );
        self.register(&name);
        self.admin
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE template0",
                ident(&name)
            ))
            .map_err(|e| {
                Error::new(format!(
                    "cannot create the scratch database {name}: {}",
                    describe(&e)
                ))
            })?;
        Ok(name)
    }

    /// Creates `name` as a copy of `template` (which must have no sessions).
    pub fn clone_database(&mut self, template: &str) -> Result<String> {
        let name = format!("{template}_c{}", super::random_suffix());
        self.register(&name);
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            ident(&name),
            ident(template)
        );
        retry_busy(|| self.admin.batch_execute(&sql)).map_err(|e| {
            Error::new(format!(
                "cannot copy the scratch database for undo: {}",
                describe(&e)
            ))
        })?;
        Ok(name)
    }

    /// Drops a database twice created.
    pub fn drop_database(&mut self, name: &str) -> Result<()> {
        if !self.databases.iter().any(|d| d == name) {
            return Err(Error::new(format!(
                "internal: refusing to drop {name}, which twice did not create"
            )));
        }
        drop_database(&mut self.admin, name).map_err(|e| {
            Error::new(format!(
                "cannot drop the scratch database {name}: {}",
                describe(&e)
            ))
        })?;
        self.unregister(name);
        Ok(())
    }

    /// Connects to a database twice created.
    pub fn connect_to(&self, db: &str) -> Result<Client> {
        let mut c = self.base.clone();
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

    /// Whether a database exists (for tests and sanity checks).
    pub fn database_exists(&mut self, name: &str) -> Result<bool> {
        self.admin
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1)",
                &[&name],
            )
            .map(|r| r.get(0))
            .map_err(|e| Error::new(describe(&e)))
    }

    /// The maintenance connection's configuration (without secrets shown).
    pub fn admin_config(&self) -> &Config {
        &self.admin_config
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for db in std::mem::take(&mut self.databases) {
            let _ = drop_database(&mut self.admin, &db);
        }
        let id = self.id;
        with_active(|a| a.retain(|a| a.id != id));
        if let Some(c) = &mut self.cluster {
            c.stop();
        }
    }
}
