//! Where MySQL replay runs: a `--database-url mysql://...` server, or a
//! throwaway MariaDB (or MySQL) server that twice starts from the installed
//! binaries, with the guarantees of the PostgreSQL throwaway cluster (the
//! account, private folders, registry of live servers, Ctrl-C handling and
//! sweeping of leftovers are shared: see [`crate::replay::postgres::cluster`]):
//!
//! - **Its own OS account** (`twice-sandbox` when twice runs as root, else the
//!   invoking user) and a minimal environment.
//! - **Socket only**: `skip-networking`, the socket in a private folder.
//! - **No files**: `local_infile` off, `secure_file_priv` set to an empty
//!   folder the server may not write, so `LOAD DATA`, `SELECT ... INTO
//!   OUTFILE` and `LOAD_FILE()` reach nothing.
//! - **No rights beyond the scratch database**: migrations run as a fresh
//!   user granted only the scratch database and its sibling copy (no FILE,
//!   SUPER, PROCESS, no `mysql.*`); twice's own admin is the bootstrap `root`.
//! - **Nothing left behind**: the server is stopped and its folder removed
//!   on drop, on Ctrl-C / SIGTERM, and by a later run after a SIGKILL.

use crate::error::{Error, Result};
use crate::replay::postgres::cluster::{self, RunAs};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Prefix of throwaway server folders in the temporary folder.
const DIR_PREFIX: &str = "twice-my-";
/// The server's pid file, relative to its folder.
const PID_FILE: &str = "sock/server.pid";

/// Quotes an identifier with backticks.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Quotes a string literal (no backslash escapes are produced: quotes are
/// doubled, backslashes doubled too for the default `sql_mode`).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// The message when no server could be found or reached.
pub fn no_server_message(detail: &str) -> String {
    format!(
        "--engine mysql needs a MariaDB or MySQL server: {detail}. Pass --database-url \
         mysql://USER:PASSWORD@HOST/DB (or set TWICE_DATABASE_URL; the user needs CREATE, DROP, \
         CREATE USER and GRANT OPTION), or install the server binaries so twice can start a \
         throwaway server (`apt-get install mariadb-server` on Debian/Ubuntu, `dnf install \
         mariadb-server` on Fedora, `brew install mariadb` on macOS); or use --no-replay"
    )
}

/// Folders where server binaries are looked for, after `PATH`.
const SEARCH_DIRS: &[&str] = &[
    "/usr/sbin",
    "/usr/libexec",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/local/mysql/bin",
    "/opt/homebrew/opt/mariadb/bin",
    "/opt/homebrew/opt/mysql/bin",
    "/opt/homebrew/bin",
    "/usr/local/opt/mariadb/bin",
    "/usr/local/opt/mysql/bin",
];

/// The shared-memory file system where a throwaway server's folder goes
/// when it can ([`throwaway_base`]).
const SHM: &str = "/dev/shm";
/// Room `/dev/shm` must have free for the throwaway server's folder there
/// (its data folder starts at about 35 MB; copies and history add to it).
const SHM_MIN_FREE: u64 = 1 << 30;

/// Where the throwaway server's folder goes: the folder `TMPDIR` names when
/// it is set; else `/dev/shm` when it is a writable folder with at least
/// 1 GiB free (a tmpfs on Linux: the server's data is thrown away anyway,
/// and there its DDL does not wait for the disk, which is most of a
/// replay's time on a disk); else the temporary folder.
pub fn throwaway_base() -> PathBuf {
    if std::env::var_os("TMPDIR").is_some_and(|v| !v.is_empty()) {
        return std::env::temp_dir();
    }
    let shm = Path::new(SHM);
    if shm_usable(shm) {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// Whether `dir` is a folder this process may write, with
/// [`SHM_MIN_FREE`] free.
fn shm_usable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if !dir.is_dir() {
        return false;
    }
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid C string; `st` is written by statvfs.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return false;
    }
    let free = (st.f_bavail as u64).saturating_mul(st.f_frsize as u64);
    // SAFETY: `c` is a valid C string.
    let writable = unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0;
    writable && free >= SHM_MIN_FREE
}

/// The installed server: the daemon and how to initialise a data folder.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub server: PathBuf,
    /// `mariadb-install-db` / `mysql_install_db` (MariaDB); `None` for
    /// MySQL, initialised with `mysqld --initialize-insecure`.
    pub install_db: Option<PathBuf>,
    pub mariadb: bool,
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds `mariadbd` (or `mysqld`) and its install tool: `PATH` first, then
/// the usual package folders.
pub fn find_binaries() -> Option<Binaries> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(SEARCH_DIRS.iter().map(PathBuf::from));
    let find = |names: &[&str]| -> Option<PathBuf> {
        dirs.iter()
            .flat_map(|d| names.iter().map(move |n| d.join(n)))
            .find(|p| is_executable(p))
    };
    if let Some(server) = find(&["mariadbd"]) {
        let install_db = find(&["mariadb-install-db", "mysql_install_db"])?;
        return Some(Binaries {
            server,
            install_db: Some(install_db),
            mariadb: true,
        });
    }
    let server = find(&["mysqld"])?;
    // mysqld is MariaDB's old name too: ask it.
    let version = Command::new(&server)
        .arg("--version")
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let mariadb = String::from_utf8_lossy(&version.stdout).contains("MariaDB");
    let install_db = if mariadb {
        Some(find(&["mariadb-install-db", "mysql_install_db"])?)
    } else {
        None
    };
    Some(Binaries {
        server,
        install_db,
        mariadb,
    })
}

/// A running throwaway server. Dropping it stops the server and removes
/// the folder.
#[derive(Debug)]
pub struct Throwaway {
    pub dir: PathBuf,
    pub bins: Binaries,
    run_as: Option<RunAs>,
    child: Option<Child>,
}

impl Throwaway {
    /// Removes leftovers of killed runs, finds the binaries, initialises a
    /// data folder and starts the server.
    pub fn start() -> Result<Throwaway> {
        let base = throwaway_base();
        for b in [std::env::temp_dir(), PathBuf::from(SHM)] {
            cluster::sweep_leftovers_with(&b, DIR_PREFIX, PID_FILE);
        }
        let bins = find_binaries().ok_or_else(|| {
            Error::new(no_server_message(
                "no --database-url was given and no mariadbd (with mariadb-install-db) or mysqld \
                 was found on PATH or in /usr/sbin, /usr/libexec or Homebrew's folders",
            ))
        })?;
        let run_as = cluster::run_as_for(
            "twice does not run a database server with root's rights; it runs its throwaway \
             MariaDB/MySQL server",
        )?;
        let dir = cluster::make_dirs_in(&base, run_as.as_ref(), DIR_PREFIX)?;
        let mut t = Throwaway {
            dir,
            bins,
            run_as,
            child: None,
        };
        t.init_and_start()?;
        Ok(t)
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("sock").join("server.sock")
    }

    /// Connection options for the bootstrap `root` (no password, socket).
    pub fn admin_opts(&self) -> Opts {
        OptsBuilder::new()
            .socket(Some(self.socket().to_string_lossy().into_owned()))
            .user(Some("root"))
            .into()
    }

    /// The server's process id, while it runs.
    pub fn server_pid(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        let mut path = String::from("/usr/bin:/bin:/usr/sbin:/sbin");
        if let Some(d) = program.parent() {
            path = format!("{}:{path}", d.display());
        }
        cmd.env_clear()
            .env("PATH", path)
            .env("LC_ALL", "C")
            .env("HOME", &self.dir)
            .stdin(Stdio::null())
            .current_dir(&self.dir)
            .process_group(0);
        if let Some(acct) = &self.run_as {
            cmd.uid(acct.uid).gid(acct.gid);
        }
        cmd
    }

    fn failed(&self, program: &str, output: &str) -> Error {
        cluster::start_failure(
            "a throwaway MariaDB/MySQL server",
            program,
            output,
            &self.dir.join("sock").join("server.log"),
            self.run_as.as_ref(),
        )
    }

    fn init_and_start(&mut self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let data = self.dir.join("data");
        let sock = self.dir.join("sock");
        // secure_file_priv: an empty folder the server may not write.
        let nofiles = self.dir.join("nofiles");
        std::fs::create_dir(&nofiles)
            .and_then(|_| {
                std::fs::set_permissions(&nofiles, std::fs::Permissions::from_mode(0o555))
            })
            .map_err(|e| Error::new(format!("cannot prepare the throwaway server: {e}")))?;
        let (program, args) = init_command(&self.bins, &data, &sock);
        let mut init = self.command(&program);
        init.args(args);
        init.stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = cluster::spawn_registered(&self.dir, &mut init, false)
            .and_then(|c| c.wait_with_output())
            .map_err(|e| {
                cluster::wait_if_stopping();
                Error::new(format!("cannot initialise the throwaway server: {e}"))
            })?;
        cluster::with_live(|live| {
            if let Some(l) = live.iter_mut().find(|l| l.dir == self.dir) {
                l.pgid = None;
            }
        });
        if !out.status.success() {
            let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
            if text.trim().is_empty() {
                text = String::from_utf8_lossy(&out.stdout).into_owned();
            }
            let name = self
                .bins
                .install_db
                .as_ref()
                .unwrap_or(&self.bins.server)
                .display()
                .to_string();
            return Err(self.failed(&name, &text));
        }
        let log = cluster::private_file(&sock.join("server.log"))
            .map_err(|e| Error::new(format!("cannot create the server log: {e}")))?;
        if let Some(acct) = &self.run_as {
            let _ =
                std::os::unix::fs::chown(sock.join("server.log"), Some(acct.uid), Some(acct.gid));
        }
        let log2 = log
            .try_clone()
            .map_err(|e| Error::new(format!("cannot create the server log: {e}")))?;
        let mut server = self.command(&self.bins.server.clone());
        server
            .args(server_args(self.bins.mariadb, &self.dir))
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        let child = cluster::spawn_registered(&self.dir, &mut server, true)
            .map_err(|e| Error::new(format!("cannot run {}: {e}", self.bins.server.display())))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    let name = self.bins.server.display().to_string();
                    return Err(self.failed(&name, &format!("the server exited ({status})")));
                }
            }
            if self.socket().exists() && Conn::new(self.admin_opts()).is_ok() {
                return Ok(());
            }
            if Instant::now() >= until {
                let name = self.bins.server.display().to_string();
                return Err(self.failed(&name, "the server did not start within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Stops the server and removes the folder.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The data is thrown away: no clean shutdown is needed.
            cluster::stop_group(child.id() as i32, false);
            let _ = child.wait();
        }
        let dir = self.dir.clone();
        cluster::with_live(|live| live.retain(|l| l.dir != dir));
        crate::replay::postgres::cluster::remove_dir_patiently(&self.dir);
    }
}

/// The program and arguments that initialise the data folder `data`:
/// `mariadb-install-db` for MariaDB, `mysqld --initialize-insecure` for
/// MySQL (no root password; the server listens on a private socket only).
/// The bootstrap's temporary files go to `tmp`, the private folder the
/// server uses later, not to the shared `/tmp` where other servers (or a
/// clean-up) could meet them.
fn init_command(bins: &Binaries, data: &Path, tmp: &Path) -> (PathBuf, Vec<String>) {
    let datadir = format!("--datadir={}", data.display());
    let tmpdir = format!("--tmpdir={}", tmp.display());
    match &bins.install_db {
        Some(tool) => {
            let mut args = vec![
                "--no-defaults".to_string(),
                datadir,
                "--auth-root-authentication-method=normal".into(),
                "--skip-test-db".into(),
                "--skip-name-resolve".into(),
                // Passed on to the bootstrap server.
                tmpdir,
            ];
            // The bootstrap server waits for the disk no more than the
            // server does, and makes a redo log of the server's size.
            args.extend(mariadb_no_wait_args());
            if let Some(base) = bins.server.parent().and_then(|p| p.parent()) {
                if base != Path::new("/usr") {
                    args.push(format!("--basedir={}", base.display()));
                }
            }
            (tool.clone(), args)
        }
        None => (
            bins.server.clone(),
            vec![
                "--no-defaults".to_string(),
                "--initialize-insecure".into(),
                datadir,
                tmpdir,
            ],
        ),
    }
}

/// The server's arguments, for the throwaway folder `dir`: socket only, no
/// files, no binary log; and, since its data is thrown away, no waiting
/// for the disk: InnoDB does not flush its log at each commit nor write
/// pages twice, and MariaDB neither syncs `.frm` files (`sync_frm`, gone in
/// MySQL 8) nor flushes data files (`innodb_flush_method=nosync`). DDL is
/// what a replay on MySQL spends its time on (a copy per trial), and every
/// DDL statement waited for several `fsync`s.
fn server_args(mariadb: bool, dir: &Path) -> Vec<String> {
    let sock = dir.join("sock");
    let mut args = vec![
        "--no-defaults".to_string(),
        format!("--datadir={}", dir.join("data").display()),
        format!("--socket={}", sock.join("server.sock").display()),
        format!("--pid-file={}", dir.join(PID_FILE).display()),
        format!("--secure-file-priv={}", dir.join("nofiles").display()),
        format!("--tmpdir={}", sock.display()),
    ];
    args.extend(
        [
            "--skip-networking",
            "--local-infile=0",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--event-scheduler=OFF",
            "--performance-schema=OFF",
            "--character-set-server=utf8mb4",
            "--default-time-zone=+00:00",
            "--max-connections=30",
            "--innodb-buffer-pool-size=32M",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--sync-binlog=0",
            "--skip-symbolic-links",
        ]
        .map(String::from),
    );
    if mariadb {
        for a in mariadb_no_wait_args() {
            if !args.contains(&a) {
                args.push(a);
            }
        }
    }
    args
}

/// MariaDB's options for a server whose data is thrown away, beyond those
/// MySQL 8 knows too: no `.frm` sync, no data-file flushes, and a 16 MB
/// redo log instead of 96 MB (the folder is on a tmpfs when it can be:
/// memory).
fn mariadb_no_wait_args() -> Vec<String> {
    [
        "--sync-frm=0",
        "--innodb-flush-method=nosync",
        "--innodb-flush-log-at-trx-commit=0",
        "--innodb-doublewrite=0",
        "--innodb-log-file-size=16M",
    ]
    .map(String::from)
    .to_vec()
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Scratch databases and users to drop on Ctrl-C (`--database-url`
/// servers; a throwaway server goes as a whole).
struct Active {
    id: u64,
    admin: Opts,
    databases: Vec<String>,
    users: Vec<String>,
}

static ACTIVE: Mutex<Vec<Active>> = Mutex::new(Vec::new());

fn with_active<R>(f: impl FnOnce(&mut Vec<Active>) -> R) -> R {
    let mut g = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut g)
}

/// For the Ctrl-C handler: drops the scratch databases and users of every
/// MySQL replay running on a `--database-url` server.
pub fn emergency_cleanup() {
    for a in with_active(std::mem::take) {
        let Ok(mut c) = Conn::new(a.admin) else {
            continue;
        };
        for db in &a.databases {
            let _ = c.query_drop(format!("DROP DATABASE IF EXISTS {}", ident(db)));
        }
        for u in &a.users {
            let _ = c.query_drop(format!("DROP USER IF EXISTS {u}"));
        }
    }
}

/// The server replay runs on, with its admin connection options and the
/// migration user made for this run.
pub struct Server {
    pub admin: Opts,
    /// What the migrations connect as (without a database).
    pub user_opts: Opts,
    pub version: String,
    pub mariadb: bool,
    /// `user@host` as SQL, when twice made it (dropped at the end).
    user: Option<String>,
    databases: Vec<String>,
    id: u64,
    own: Option<Throwaway>,
}

impl Server {
    /// The data folder of twice's throwaway server (`None` on a server
    /// given with `--database-url`).
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.own.as_ref().map(|t| t.dir.join("data"))
    }

    /// `url`: a `mysql://` URL, else a throwaway server. `trusted`: the
    /// migrations run as the URL's user instead of a user of their own.
    pub fn open(url: Option<&str>, trusted: bool) -> Result<Server> {
        {
            use crate::replay::interrupt::{on_interrupt, Phase};
            on_interrupt("mysql scratch databases", Phase::Drop, emergency_cleanup);
            on_interrupt(
                "throwaway servers",
                Phase::Stop,
                cluster::emergency_stop_all,
            );
        }
        let (admin, own) = match url {
            Some(u) => {
                let opts = Opts::from_url(u).map_err(|e| {
                    Error::new(format!(
                        "--database-url is not a valid MySQL URL ({e}): expected \
                         mysql://USER:PASSWORD@HOST:PORT/DB"
                    ))
                })?;
                (opts, None)
            }
            None => {
                let t = Throwaway::start()?;
                (t.admin_opts(), Some(t))
            }
        };
        let mut conn = Conn::new(admin.clone()).map_err(|e| {
            Error::new(no_server_message(&format!(
                "cannot connect to the server: {}",
                error_text(&e)
            )))
        })?;
        let version: String = conn
            .query_first("SELECT VERSION()")
            .ok()
            .flatten()
            .unwrap_or_default();
        let mariadb = version.contains("MariaDB");
        let id = next_id();
        with_active(|a| {
            a.push(Active {
                id,
                admin: admin.clone(),
                databases: Vec::new(),
                users: Vec::new(),
            })
        });
        let mut server = Server {
            user_opts: admin.clone(),
            admin,
            version,
            mariadb,
            user: None,
            databases: Vec::new(),
            id,
            own,
        };
        if !trusted {
            server.make_user(&mut conn)?;
        }
        Ok(server)
    }

    /// The engine's name for messages.
    pub fn name(&self) -> String {
        let v = self.version.split('-').next().unwrap_or(&self.version);
        if self.mariadb {
            format!("MariaDB {v}")
        } else {
            format!("MySQL {v}")
        }
    }

    /// Whether twice started this server itself.
    pub fn throwaway(&self) -> Option<&Throwaway> {
        self.own.as_ref()
    }

    pub fn admin_conn(&self) -> Result<Conn> {
        Conn::new(self.admin.clone()).map_err(|e| {
            Error::new(format!(
                "MySQL replay: cannot connect as the admin: {}",
                error_text(&e)
            ))
        })
    }

    /// A connection as the migration user, on `db`.
    pub fn connect_to(&self, db: &str) -> Result<Conn> {
        // Session tracking: the server reports, with each statement's
        // result, when a transaction begins and ends (see `run`).
        let opts: Opts = OptsBuilder::from_opts(self.user_opts.clone())
            .db_name(Some(db))
            .additional_capabilities(mysql::consts::CapabilityFlags::CLIENT_SESSION_TRACK)
            .into();
        let fail = |e: mysql::Error| {
            Error::new(format!(
                "MySQL replay: cannot connect as the migration user: {}",
                error_text(&e)
            ))
        };
        match Conn::new(opts.clone()) {
            Ok(c) => Ok(c),
            // Any account may change its own password (`SET PASSWORD =
            // ...`, `ALTER USER CURRENT_USER() IDENTIFIED BY ...`), which
            // no privilege forbids on MariaDB: a migration that did is
            // given twice's password back, and the connection tried again.
            Err(mysql::Error::MySqlError(m)) if m.code == 1045 && self.user.is_some() => {
                self.reset_password()?;
                Conn::new(opts).map_err(fail)
            }
            Err(e) => Err(fail(e)),
        }
    }

    /// Sets the migration user's password back to twice's.
    fn reset_password(&self) -> Result<()> {
        let (Some(user), Some(password)) = (&self.user, self.user_opts.get_pass()) else {
            return Ok(());
        };
        let mut c = self.admin_conn()?;
        c.query_drop(format!(
            "ALTER USER {user} IDENTIFIED BY {}",
            literal(password)
        ))
        .map_err(|e| {
            Error::new(format!(
                "MySQL replay: a migration changed the migration user's password, and twice \
                 cannot set it back: {}",
                error_text(&e)
            ))
        })
    }

    fn make_user(&mut self, conn: &mut Conn) -> Result<()> {
        let name = format!("twice_{}", crate::replay::postgres::random_suffix());
        let password = format!(
            "{}{}",
            crate::replay::postgres::random_suffix(),
            crate::replay::postgres::random_suffix()
        );
        // The client's host as the server sees it (from the admin's
        // session: the migration user connects the same way). `'%'` would
        // lose to an anonymous account at that host (`''@'localhost'`,
        // which `mysql_install_db` makes), which the server matches first.
        let seen: Option<String> = conn.query_first("SELECT USER()").ok().flatten();
        let host = match seen.as_deref().and_then(|u| u.rsplit_once('@')) {
            _ if self.own.is_some() => "localhost".to_string(),
            Some((_, h)) if !h.is_empty() => h.to_string(),
            _ => "%".to_string(),
        };
        let user = format!("{}@{}", literal(&name), literal(&host));
        conn.query_drop(format!(
            "CREATE USER {user} IDENTIFIED BY {}",
            literal(&password)
        ))
        .map_err(|e| {
            Error::new(format!(
                "MySQL replay: cannot create the migration user ({}); the --database-url user \
                 needs CREATE USER and GRANT OPTION, or pass --database-url-trusted to run the \
                 migrations as that user",
                error_text(&e)
            ))
        })?;
        with_active(|a| {
            if let Some(x) = a.iter_mut().find(|x| x.id == self.id) {
                x.users.push(user.clone());
            }
        });
        self.user = Some(user);
        self.user_opts = OptsBuilder::from_opts(self.admin.clone())
            .user(Some(name))
            .pass(Some(password))
            .db_name(None::<String>)
            .into();
        Ok(())
    }

    /// Creates a database (dropped by [`Server::finish`]) and grants it to
    /// the migration user.
    pub fn create_database(&mut self, name: &str) -> Result<()> {
        let mut c = self.admin_conn()?;
        c.query_drop(format!(
            "CREATE DATABASE {} CHARACTER SET utf8mb4",
            ident(name)
        ))
        .map_err(|e| {
            Error::new(format!(
                "MySQL replay: cannot create a scratch database: {}",
                error_text(&e)
            ))
        })?;
        self.databases.push(name.to_string());
        with_active(|a| {
            if let Some(x) = a.iter_mut().find(|x| x.id == self.id) {
                x.databases.push(name.to_string());
            }
        });
        if let Some(user) = &self.user {
            c.query_drop(format!(
                "GRANT ALL PRIVILEGES ON {}.* TO {user}",
                ident(name)
            ))
            .map_err(|e| {
                Error::new(format!(
                    "MySQL replay: cannot grant the scratch database to the migration user: {}",
                    error_text(&e)
                ))
            })?;
        }
        Ok(())
    }

    /// Drops a database made by [`Server::create_database`].
    pub fn drop_database(&mut self, name: &str) -> Result<()> {
        let mut c = self.admin_conn()?;
        c.query_drop(format!("DROP DATABASE IF EXISTS {}", ident(name)))
            .map_err(|e| {
                Error::new(format!(
                    "MySQL replay: cannot drop database {name}: {}",
                    error_text(&e)
                ))
            })?;
        Ok(())
    }

    /// Drops the databases and the user (and stops a throwaway server).
    /// Returns what could not be cleaned up.
    pub fn finish(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.own.is_none() {
            match self.admin_conn() {
                Ok(mut c) => {
                    for db in std::mem::take(&mut self.databases) {
                        if let Err(e) =
                            c.query_drop(format!("DROP DATABASE IF EXISTS {}", ident(&db)))
                        {
                            problems.push(format!("cannot drop database {db}: {e}"));
                        }
                    }
                    if let Some(u) = self.user.take() {
                        if let Err(e) = c.query_drop(format!("DROP USER IF EXISTS {u}")) {
                            problems.push(format!("cannot drop user {u}: {e}"));
                        }
                    }
                }
                Err(e) => problems.push(e.message),
            }
        }
        with_active(|a| a.retain(|x| x.id != self.id));
        self.own = None;
        problems
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.finish();
    }
}

fn next_id() -> u64 {
    static N: Mutex<u64> = Mutex::new(0);
    let mut g = N.lock().unwrap_or_else(|p| p.into_inner());
    *g += 1;
    *g
}

/// Runs statements sent in one round trip, and returns the first error of
/// any of them. (`query_drop` returns the first statement's alone: the
/// client library drops the results of the others unread, errors included,
/// so a copy's `INSERT ... SELECT` stopped by the time limit left an empty
/// table that read as "every row removed".)
pub fn exec_all(conn: &mut Conn, sql: &str) -> Result<(), mysql::Error> {
    let mut result = conn.query_iter(sql)?;
    while let Some(set) = result.iter() {
        for row in set {
            row?;
        }
    }
    Ok(())
}

/// A MySQL client error as a message says it: the server's `ERROR 1045
/// (28000): Access denied ...` without the crate's `MySqlError { ... }`
/// around it.
pub(crate) fn error_text(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => m.to_string(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(mariadb: bool, server: &str, install_db: Option<&str>) -> Binaries {
        Binaries {
            server: server.into(),
            install_db: install_db.map(PathBuf::from),
            mariadb,
        }
    }

    #[test]
    fn mysql_8_is_initialised_by_mysqld_itself() {
        let (program, args) = init_command(
            &bins(false, "/usr/sbin/mysqld", None),
            Path::new("/tmp/x/data"),
            Path::new("/tmp/x/sock"),
        );
        assert_eq!(program, Path::new("/usr/sbin/mysqld"));
        assert_eq!(
            args,
            [
                "--no-defaults",
                "--initialize-insecure",
                "--datadir=/tmp/x/data",
                "--tmpdir=/tmp/x/sock"
            ]
        );
    }

    #[test]
    fn mariadb_is_initialised_by_its_install_tool() {
        let (program, args) = init_command(
            &bins(
                true,
                "/usr/sbin/mariadbd",
                Some("/usr/bin/mariadb-install-db"),
            ),
            Path::new("/tmp/x/data"),
            Path::new("/tmp/x/sock"),
        );
        assert_eq!(program, Path::new("/usr/bin/mariadb-install-db"));
        assert!(args.contains(&"--auth-root-authentication-method=normal".to_string()));
        assert!(
            args.contains(&"--tmpdir=/tmp/x/sock".to_string()),
            "{args:?}"
        );
        assert!(!args.iter().any(|a| a.starts_with("--basedir")), "{args:?}");
        // A server outside /usr (Homebrew, a tarball) names its base folder.
        let (_, args) = init_command(
            &bins(
                true,
                "/opt/homebrew/opt/mariadb/bin/mariadbd",
                Some("/opt/homebrew/opt/mariadb/bin/mariadb-install-db"),
            ),
            Path::new("/tmp/x/data"),
            Path::new("/tmp/x/sock"),
        );
        assert!(
            args.contains(&"--basedir=/opt/homebrew/opt/mariadb".to_string()),
            "{args:?}"
        );
    }

    #[test]
    fn server_options_are_the_sandboxs_and_each_server_knows_them() {
        let dir = Path::new("/tmp/twice-my-1-ab");
        for mariadb in [true, false] {
            let args = server_args(mariadb, dir);
            for a in [
                "--skip-networking",
                "--local-infile=0",
                "--socket=/tmp/twice-my-1-ab/sock/server.sock",
                "--secure-file-priv=/tmp/twice-my-1-ab/nofiles",
                "--innodb-flush-log-at-trx-commit=0",
            ] {
                assert!(
                    args.contains(&a.to_string()),
                    "{mariadb}: {a} not in {args:?}"
                );
            }
            // MySQL 8 refuses to start on options it does not know.
            let mariadb_only = args
                .iter()
                .any(|a| a.starts_with("--sync-frm") || a.contains("nosync"));
            assert_eq!(mariadb_only, mariadb, "{args:?}");
        }
    }
}
