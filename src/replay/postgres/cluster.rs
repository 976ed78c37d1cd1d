//! A throwaway PostgreSQL cluster, run as a sandbox: `initdb` into a fresh
//! temporary folder, then the server as a child process of twice, listening
//! only on a Unix socket in a private folder (no TCP).
//!
//! What keeps it from reaching the host (issue 15):
//! - **Its own OS account.** `initdb` and the server refuse to run as root;
//!   when twice runs as root, the cluster runs as `twice-sandbox`, a system
//!   account twice creates for this (no home, no shell) and that owns
//!   nothing else. Never as `postgres`, the account of the host's own
//!   cluster. When twice is not root, the cluster runs as the invoking user.
//! - **A minimal environment**: the children get `PATH=/usr/bin:/bin`,
//!   `LC_ALL=C` and `HOME` (the cluster folder) only, so no secret of
//!   twice's environment is visible to the server (`COPY ... FROM PROGRAM
//!   'env'`, were it allowed).
//! - **Private folders**: `<tmp>/twice-pg-<pid>-<random>/` holds `data/`
//!   and `sock/` (mode 0700, owned by the server's account) and twice's own
//!   `twice.marker` and `server.log`.
//! - **No superuser for migrations**: the bootstrap superuser (`twice`) is
//!   twice's own admin role; migrations run as a per-run role that only owns
//!   the scratch database (see [`super::server`]), named `postgres` as in a
//!   stock installation but not a superuser.
//! - **Nothing left behind**: the server is stopped and the folder removed
//!   when the [`Cluster`] is dropped, on Ctrl-C / SIGTERM (also while
//!   `initdb` or the server start run: see [`emergency_stop_all`]), and a
//!   later run removes what a killed one (SIGKILL) left: folders whose
//!   `twice.marker` names a twice process that is gone (and the server
//!   running there, when it still runs).

use crate::error::{Error, Result};
use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The OS account the cluster runs as when twice runs as root (the MySQL
/// engine's throwaway server too: see `replay::mysql::server`).
pub const SANDBOX_ACCOUNT: &str = "twice-sandbox";
/// The bootstrap superuser of a throwaway cluster: twice's admin role.
pub const SUPERUSER: &str = "twice";
/// The role a stock installation has. On a throwaway cluster (one per
/// run) the migrations run as a role of this name, made by twice as an
/// ordinary login role (no attribute): `GRANT ... TO postgres` and `ALTER
/// ... OWNER TO postgres` (as in pg_dump output) work as on a stock server.
pub const STOCK_ROLE: &str = "postgres";
/// The marker file that identifies a cluster folder as twice's own.
const MARKER: &str = "twice.marker";
/// Prefix of cluster folders in the temporary folder.
const DIR_PREFIX: &str = "twice-pg-";
/// Where PostgreSQL server binaries are looked for, after `PATH`.
const SEARCH_GLOBS: &[&str] = &[
    // Debian and Ubuntu (postgresql-NN).
    "/usr/lib/postgresql/*/bin",
    // Red Hat family (PGDG packages).
    "/usr/pgsql-*/bin",
    // Homebrew (Apple silicon and Intel), versioned and unversioned kegs.
    "/opt/homebrew/opt/postgresql@*/bin",
    "/opt/homebrew/opt/postgresql/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql/bin",
    "/opt/homebrew/bin",
    // Postgres.app.
    "/Applications/Postgres.app/Contents/Versions/latest/bin",
];

/// The folder holding `initdb` and `postgres`, if any: `PATH`
/// first, then the usual package locations (newest version first).
pub fn find_bindir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if let Some(d) = server_bindir(&dir) {
                return Some(d);
            }
        }
    }
    for pattern in SEARCH_GLOBS {
        let mut dirs = expand(pattern);
        // Newest first: `15` before `9.6`, `postgresql@16` before `@14`.
        dirs.sort_by(|a, b| crate::layout::natural_cmp(&b.to_string_lossy(), &a.to_string_lossy()));
        for dir in dirs {
            if let Some(d) = server_bindir(&dir) {
                return Some(d);
            }
        }
    }
    None
}

/// `dir` if it has `initdb`, resolving symlinks so that `postgres` is
/// found beside it (Debian links only some into PATH).
fn server_bindir(dir: &Path) -> Option<PathBuf> {
    let initdb = dir.join("initdb");
    if !is_executable(&initdb) {
        return None;
    }
    let real = std::fs::canonicalize(&initdb).ok()?;
    let real_dir = real.parent()?.to_path_buf();
    if is_executable(&real_dir.join("postgres")) {
        Some(real_dir)
    } else if is_executable(&dir.join("postgres")) {
        Some(dir.to_path_buf())
    } else {
        None
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Expands one `*` in the last-but-one or last component of `pattern`.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let Some(star) = pattern.find('*') else {
        return vec![PathBuf::from(pattern)];
    };
    let dir_end = pattern[..star].rfind('/').unwrap_or(0);
    let parent = &pattern[..dir_end.max(1)];
    let rest = &pattern[dir_end + 1..];
    let (component, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let (prefix, suffix) = component.split_once('*').unwrap_or((component, ""));
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name.starts_with(prefix) && name.ends_with(suffix) && name.len() >= prefix.len())
                .then(|| Path::new(parent).join(name).join(tail))
        })
        .collect()
}

/// The account a cluster runs as.
#[derive(Clone, Debug)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

// SAFETY (all three): plain system calls without memory arguments.
fn euid() -> u32 {
    unsafe { libc::geteuid() }
}

/// `None` when twice does not run as root (the cluster then runs as the
/// current user); else the sandbox account, created when missing.
fn run_as() -> Result<Option<RunAs>> {
    run_as_for("PostgreSQL refuses to run a server as root; twice runs its throwaway cluster")
}

/// [`run_as`] for any throwaway server: `why` says, for the message when the
/// account cannot be made, why and what runs as it.
pub(crate) fn run_as_for(why: &str) -> Result<Option<RunAs>> {
    if euid() != 0 {
        return Ok(None);
    }
    let acct = match lookup_user(SANDBOX_ACCOUNT) {
        Some(a) => a,
        None => {
            create_sandbox_account();
            lookup_user(SANDBOX_ACCOUNT).ok_or_else(|| {
                Error::new(format!(
                    "twice runs as root, and {why} as the system account `{SANDBOX_ACCOUNT}`, \
                     which does not exist and could not be created. Create it (`useradd --system \
                     --user-group --no-create-home --shell /usr/sbin/nologin {SANDBOX_ACCOUNT}`), \
                     run twice as an ordinary user, or pass --database-url"
                ))
            })?
        }
    };
    if acct.uid == 0 || acct.gid == 0 {
        return Err(Error::new(format!(
            "the account `{SANDBOX_ACCOUNT}` has user or group id 0; twice will not run its \
             throwaway server with root's rights: give it ids of its own"
        )));
    }
    Ok(Some(acct))
}

/// Creates the sandbox account: a system account with its own group, no
/// home folder and no login shell (`useradd`, or BusyBox `adduser`).
fn create_sandbox_account() {
    let nologin = ["/usr/sbin/nologin", "/sbin/nologin", "/bin/false"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("/bin/false");
    let attempts: [&[&str]; 2] = [
        &[
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            nologin,
            SANDBOX_ACCOUNT,
        ],
        &["adduser", "-S", "-D", "-H", "-s", nologin, SANDBOX_ACCOUNT],
    ];
    for args in attempts {
        let ok = Command::new(args[0])
            .args(&args[1..])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return;
        }
    }
}

fn lookup_user(name: &str) -> Option<RunAs> {
    let c = CString::new(name).ok()?;
    // SAFETY: getpwnam takes a NUL-terminated string and returns a pointer to
    // static storage or NULL; we copy the fields out before any other call.
    unsafe {
        let pw = libc::getpwnam(c.as_ptr());
        if pw.is_null() {
            return None;
        }
        Some(RunAs {
            name: name.to_string(),
            uid: (*pw).pw_uid,
            gid: (*pw).pw_gid,
        })
    }
}

/// Clusters being started or running, for [`emergency_stop_all`].
pub(crate) struct Live {
    pub(crate) dir: PathBuf,
    /// Process group of the running child (initdb, or the server).
    pub(crate) pgid: Option<i32>,
    pub(crate) server: bool,
}

static LIVE: Mutex<Vec<Live>> = Mutex::new(Vec::new());
/// Set once [`emergency_stop_all`] runs: the process is about to exit.
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// When the clusters are being stopped for Ctrl-C, a child failed because
/// of it: wait for the handler to end the process (exit 130) instead of
/// reporting the failure (exit 2).
pub(crate) fn wait_if_stopping() {
    while STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn with_live<R>(f: impl FnOnce(&mut Vec<Live>) -> R) -> R {
    let mut g = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut g)
}

/// Stops every cluster this process is starting or running, and removes
/// their folders: for Ctrl-C / SIGTERM, at any moment (also while `initdb`
/// or the server start run).
pub fn emergency_stop_all() {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    let live = with_live(std::mem::take);
    for l in live {
        if let Some(pgid) = l.pgid {
            stop_group(pgid, l.server);
        }
        remove_dir_patiently(&l.dir);
    }
}

/// Removes a cluster folder whose processes were just killed: a SIGKILL
/// lands a moment later, so an `initdb` may still add a file while the
/// folder is being emptied (`remove_dir_all` then fails with "directory
/// not empty"); tried again for up to about two seconds. The marker goes
/// last: a removal cut short (a file that cannot be removed yet, twice
/// killed meanwhile) leaves it, so the next run's sweep finds the folder
/// again ([`sweep_leftovers`]); a folder without it is never swept.
pub(crate) fn remove_dir_patiently(dir: &std::path::Path) {
    for _ in 0..40 {
        match remove_marker_last(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Removes `dir`: its entries, then its marker, then the folder.
fn remove_marker_last(dir: &std::path::Path) -> std::io::Result<()> {
    let gone = |r: std::io::Result<()>| match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    };
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_name() == MARKER {
            continue;
        }
        let path = e.path();
        gone(if e.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        })?;
    }
    gone(std::fs::remove_file(dir.join(MARKER)))?;
    std::fs::remove_dir(dir)
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

/// Stops a process group twice started: the server gets SIGQUIT (immediate
/// shutdown: it ends its backends and removes its shared memory), then
/// whatever is left of the group SIGKILL.
pub(crate) fn stop_group(pgid: i32, server: bool) {
    if pgid <= 1 {
        return;
    }
    if server {
        // SAFETY: signals a process twice started (its group leader).
        unsafe { libc::kill(pgid, libc::SIGQUIT) };
        let until = Instant::now() + Duration::from_secs(5);
        while alive(pgid) && !reaped_or_zombie(pgid) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // SAFETY: signals the process group twice created for the child.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

/// Whether `pid` is a zombie (exited, not yet reaped): it no longer runs.
fn reaped_or_zombie(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => !cfg!(target_os = "linux"),
    }
}

/// The start time of a process (Linux: clock ticks since boot), to tell a
/// process from a later one that got the same id.
fn start_time(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = s.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process a marker names still runs.
fn owner_alive(pid: u32, start: Option<u64>) -> bool {
    if pid == 0 || !alive(pid as i32) {
        return false;
    }
    match (start, start_time(pid)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// A running throwaway cluster. Dropping it stops the server and removes the
/// folder.
#[derive(Debug)]
pub struct Cluster {
    pub bindir: PathBuf,
    /// The temporary folder: `data/`, `sock/`, the marker and the log.
    pub dir: PathBuf,
    pub run_as: Option<RunAs>,
    /// The bootstrap superuser (`twice`).
    pub user: String,
    pub port: u16,
    server: Option<Child>,
}

/// Why no throwaway cluster could be started, worded for the user.
pub fn no_server_message(detail: &str) -> String {
    format!(
        "--engine postgres needs a PostgreSQL server: {detail}. Pass --database-url \
         postgres://USER@HOST/DB (or set TWICE_DATABASE_URL; the role needs CREATEDB and \
         CREATEROLE), or install the PostgreSQL server binaries (initdb and postgres: \
         `apt-get install postgresql` on Debian/Ubuntu, `brew install postgresql@16` on \
         macOS) so twice can start a throwaway cluster; or use --no-replay"
    )
}

impl Cluster {
    /// Removes leftovers of killed runs, finds the binaries, creates the
    /// cluster and starts it.
    pub fn start() -> Result<Cluster> {
        Cluster::start_with("")
    }

    /// [`Cluster::start`] with more `postgresql.conf` lines after twice's
    /// own (a later setting wins), e.g. for tests of server settings.
    pub fn start_with(extra_conf: &str) -> Result<Cluster> {
        sweep_leftovers(&std::env::temp_dir());
        let bindir = find_bindir().ok_or_else(|| {
            Error::new(no_server_message(
                "no --database-url was given and initdb/postgres were not found on PATH or in \
                 /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin or Homebrew's folders",
            ))
        })?;
        let run_as = run_as()?;
        let dir = make_dirs(run_as.as_ref())?;
        let mut cluster = Cluster {
            bindir,
            dir,
            run_as,
            user: SUPERUSER.into(),
            port: 5432,
            server: None,
        };
        cluster.init_and_start(extra_conf)?;
        STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(cluster)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The folder holding the server's Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.join("sock")
    }

    /// A connection string for the bootstrap superuser (`postgres`
    /// database), e.g. for tests.
    pub fn url(&self) -> String {
        format!(
            "host={} port={} user={} dbname=postgres",
            self.socket_dir().display(),
            self.port,
            self.user
        )
    }

    /// The server's process id, while it runs.
    pub fn server_pid(&self) -> Option<i32> {
        self.server.as_ref().map(|c| c.id() as i32)
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("LC_ALL", "C")
            .env("HOME", &self.dir)
            .stdin(Stdio::null())
            .current_dir(&self.dir)
            // Its own process group: Ctrl-C on the terminal reaches twice
            // only, which stops the group in order (see emergency_stop_all).
            .process_group(0);
        if let Some(acct) = &self.run_as {
            cmd.uid(acct.uid).gid(acct.gid);
        }
        cmd
    }

    /// Spawns `cmd` and records its process group, under the registry's
    /// lock so that Ctrl-C cannot come between the two.
    fn spawn(&self, cmd: &mut Command, server: bool) -> std::io::Result<Child> {
        spawn_registered(&self.dir, cmd, server)
    }

    fn failed(&self, program: &str, output: &str) -> Error {
        start_failure(
            "a throwaway PostgreSQL cluster",
            program,
            output,
            &self.dir.join("server.log"),
            self.run_as.as_ref(),
        )
    }

    fn init_and_start(&mut self, extra_conf: &str) -> Result<()> {
        let data = self.data_dir();
        let mut initdb = self.command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                &self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = self
            .spawn(&mut initdb, false)
            .and_then(|c| c.wait_with_output())
            .map_err(|e| {
                wait_if_stopping();
                Error::new(format!("cannot run initdb: {e}"))
            })?;
        with_live(|live| {
            if let Some(l) = live.iter_mut().find(|l| l.dir == self.dir) {
                l.pgid = None;
            }
        });
        if !out.status.success() {
            let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
            if text.trim().is_empty() {
                text = String::from_utf8_lossy(&out.stdout).into_owned();
            }
            return Err(self.failed("initdb", &text));
        }
        // Only a Unix socket in the private folder, and no durability: the
        // cluster lives for one run.
        let mut conf = format!(
            "\n# added by twice\nlisten_addresses = ''\nunix_socket_directories = '{}'\n\
             unix_socket_permissions = 0700\nport = {}\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\nmax_connections = 20\nshared_buffers = 32MB\n\
             log_min_messages = warning\nmax_prepared_transactions = 0\n",
            self.socket_dir().to_string_lossy().replace('\'', "''"),
            self.port
        );
        // With only 20 connections the lock table is small (64 per
        // connection): a migration whose triggers refresh materialized views
        // on rows (lemmy's, on seeded rows) holds more locks than that in
        // one transaction.
        conf.push_str("max_locks_per_transaction = 512\n");
        // Dynamic shared memory in the data folder (`pg_dynshmem/`), not as
        // `/dev/shm/PostgreSQL.*` segments: a server killed with the run
        // (SIGKILL) leaves them in the folder the next run sweeps.
        conf.push_str("dynamic_shared_memory_type = mmap\n");
        conf.push_str(extra_conf);
        conf.push('\n');
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(conf.as_bytes()))
            .map_err(|e| Error::new(format!("cannot configure the throwaway cluster: {e}")))?;
        let log = private_file(&self.dir.join("server.log"))
            .map_err(|e| Error::new(format!("cannot create the server log: {e}")))?;
        let log2 = log
            .try_clone()
            .map_err(|e| Error::new(format!("cannot create the server log: {e}")))?;
        let mut postgres = self.command("postgres");
        postgres
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        let child = self
            .spawn(&mut postgres, true)
            .map_err(|e| Error::new(format!("cannot run postgres: {e}")))?;
        self.server = Some(child);
        self.wait_ready()
    }

    /// Waits until the server accepts connections (up to a minute).
    fn wait_ready(&mut self) -> Result<()> {
        let mut config = postgres::Config::new();
        config
            .host_path(self.socket_dir())
            .port(self.port)
            .user(&self.user)
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(5));
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.server.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.server = None;
                    return Err(self.failed("postgres", &format!("the server exited ({status})")));
                }
            }
            if config.connect(postgres::NoTls).is_ok() {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(self.failed("postgres", "the server did not start within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Stops the server at once (immediate shutdown) and removes the folder.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.server.take() {
            stop_group(child.id() as i32, true);
            let _ = child.wait();
        }
        let dir = self.dir.clone();
        with_live(|live| live.retain(|l| l.dir != dir));
        remove_dir_patiently(&self.dir);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Spawns `cmd` for the throwaway server whose folder is `dir` and records
/// its process group, under the registry's lock so that Ctrl-C cannot come
/// between the two.
pub(crate) fn spawn_registered(
    dir: &Path,
    cmd: &mut Command,
    server: bool,
) -> std::io::Result<Child> {
    with_live(|live| {
        // Ctrl-C has begun: nothing new (nobody would stop it).
        if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::other("interrupted"));
        }
        let child = cmd.spawn()?;
        if let Some(l) = live.iter_mut().find(|l| l.dir == dir) {
            l.pgid = Some(child.id() as i32);
            l.server = server;
        }
        Ok(child)
    })
}

/// The error for a throwaway server (`what`) whose `program` failed with
/// `output`: that output, the last lines of the server's log at `log`, and
/// the account it ran as. Waits instead when Ctrl-C is stopping the servers
/// (the failure is the interruption's, see [`wait_if_stopping`]).
pub(crate) fn start_failure(
    what: &str,
    program: &str,
    output: &str,
    log: &Path,
    run_as: Option<&RunAs>,
) -> Error {
    wait_if_stopping();
    let mut text = output.trim().to_string();
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(5).collect();
    if !tail.is_empty() {
        text.push_str("\nserver log:\n");
        for l in tail.into_iter().rev() {
            text.push_str(l);
            text.push('\n');
        }
    }
    let who = run_as
        .map(|a| format!(" (as user {})", a.name))
        .unwrap_or_default();
    Error::new(format!(
        "starting {what} failed: {program}{who}: {}",
        text.trim_end()
    ))
}

/// Creates `path` for twice's own writing, mode 0600.
pub(crate) fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Clusters this process started (see [`started`]).
static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many throwaway clusters this process has started so far (for tests
/// and benchmarks of [`reuse`]).
pub fn started() -> usize {
    STARTED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Throwaway clusters shared by the sequences of one check: started when
/// the first PostgreSQL sequence needs one ([`ClusterPool::take`]), then
/// serving every sequence after it, one at a time, each in its own scratch
/// database with its own migration role; sequences replayed side by side
/// get a cluster each. Dropping the pool (the check holds it; an error or a
/// panic drops it too) stops the clusters it keeps; Ctrl-C stops them like
/// any other (see [`emergency_stop_all`]). Without a pool every sequence
/// starts its own cluster.
#[derive(Debug, Default)]
pub struct ClusterPool {
    /// The clusters no sequence uses at the moment.
    idle: Mutex<Vec<Cluster>>,
}

impl ClusterPool {
    /// A cluster for one sequence: one an earlier sequence gave back when
    /// one is idle and still runs, else a new one.
    pub fn take(&self) -> Result<Cluster> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(mut c) = idle else {
                return Cluster::start();
            };
            if c.running() {
                return Ok(c);
            }
            c.stop();
        }
    }

    /// Gives back a cluster a sequence is done with, left as [`Self::take`]
    /// gave it (the caller checked that: `clean`); else it is stopped.
    pub fn give_back(&self, mut c: Cluster, clean: bool) {
        if !clean || !c.running() {
            c.stop();
            return;
        }
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(c);
    }
}

impl Cluster {
    /// Whether the server still runs (a watchdog may have stopped it).
    fn running(&mut self) -> bool {
        self.server
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }
}

/// Creates `<tmp>/twice-pg-<pid>-<random>/` with the marker, `data/` and
/// `sock/`, and registers it for [`emergency_stop_all`]. As root the folder
/// is root's (mode 0711) and `data/`, `sock/` belong to the sandbox account
/// (mode 0700); else all of it is the user's, mode 0700.
fn make_dirs(run_as: Option<&RunAs>) -> Result<PathBuf> {
    make_dirs_with(run_as, DIR_PREFIX)
}

/// [`make_dirs`] with the folder name's prefix (one per kind of server, so
/// that each sweeps only its own leftovers).
pub(crate) fn make_dirs_with(run_as: Option<&RunAs>, prefix: &str) -> Result<PathBuf> {
    make_dirs_in(&std::env::temp_dir(), run_as, prefix)
}

/// [`make_dirs_with`] in the folder `base` instead of the temporary folder.
pub(crate) fn make_dirs_in(base: &Path, run_as: Option<&RunAs>, prefix: &str) -> Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let fail = |e: std::io::Error| {
        Error::new(format!(
            "cannot create a folder for the throwaway cluster in {}: {e}",
            base.display()
        ))
    };
    for _ in 0..16 {
        let dir = base.join(format!(
            "{prefix}{}-{}",
            std::process::id(),
            super::random_suffix()
        ));
        let top_mode = if run_as.is_some() { 0o711 } else { 0o700 };
        // Registered before it exists: Ctrl-C from here on removes it.
        let registered = with_live(|live| {
            // Ctrl-C has begun: no new folder (nobody would remove it).
            if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(std::io::Error::other("interrupted"));
            }
            match std::fs::DirBuilder::new().mode(top_mode).create(&dir) {
                Ok(()) => {
                    live.push(Live {
                        dir: dir.clone(),
                        pgid: None,
                        server: false,
                    });
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            }
        })
        .map_err(fail)?;
        if !registered {
            continue;
        }
        let setup = || -> std::io::Result<()> {
            // The mode given to mkdir is masked by the umask.
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(top_mode))?;
            let marker = format!(
                "twice cluster\npid={}\nstart={}\n",
                std::process::id(),
                start_time(std::process::id())
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            );
            use std::io::Write;
            private_file(&dir.join(MARKER))?.write_all(marker.as_bytes())?;
            for sub in ["data", "sock"] {
                let p = dir.join(sub);
                std::fs::DirBuilder::new().mode(0o700).create(&p)?;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700))?;
                if let Some(acct) = run_as {
                    std::os::unix::fs::chown(&p, Some(acct.uid), Some(acct.gid))?;
                }
            }
            Ok(())
        };
        if let Err(e) = setup() {
            with_live(|live| live.retain(|l| l.dir != dir));
            let _ = std::fs::remove_dir_all(&dir);
            return Err(fail(e));
        }
        return Ok(dir);
    }
    Err(Error::new(format!(
        "cannot create a folder for the throwaway cluster in {}",
        base.display()
    )))
}

/// What a marker file says: the twice process that made the folder.
fn read_marker(dir: &Path) -> Option<(u32, Option<u64>)> {
    use std::os::unix::fs::MetadataExt;
    let path = dir.join(MARKER);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    // Only a plain file written by this user is twice's own marker.
    if !meta.file_type().is_file() || meta.uid() != euid() {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != "twice cluster" {
        return None;
    }
    let mut pid = None;
    let mut start = None;
    for l in lines {
        if let Some(v) = l.strip_prefix("pid=") {
            pid = v.parse().ok();
        } else if let Some(v) = l.strip_prefix("start=") {
            start = v.parse().ok();
        }
    }
    Some((pid?, start))
}

/// Removes cluster folders in `base` left by twice runs that were killed
/// (their marker names a process that is gone), stopping the server still
/// running there (Linux: only a process whose working folder is that
/// cluster's data folder). Returns how many folders were removed.
pub fn sweep_leftovers(base: &Path) -> usize {
    sweep_leftovers_with(base, DIR_PREFIX, "data/postmaster.pid")
}

/// [`sweep_leftovers`] for folders named `prefix...` whose server writes its
/// process id on the first line of `pid_file` (relative to the folder).
pub(crate) fn sweep_leftovers_with(base: &Path, prefix: &str, pid_file: &str) -> usize {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.filter_map(|e| e.ok()) {
        if !e.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let dir = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        if !meta.is_dir() || meta.uid() != euid() {
            continue;
        }
        let Some((pid, start)) = read_marker(&dir) else {
            continue;
        };
        if pid == std::process::id() || owner_alive(pid, start) {
            continue;
        }
        if let Some(pm) = leftover_server(&dir, pid_file) {
            stop_group(pm, true);
        }
        remove_dir_patiently(&dir);
        if !dir.exists() {
            removed += 1;
        }
    }
    removed
}

/// The server still running in a leftover cluster folder, if any.
fn leftover_server(dir: &Path, pid_file: &str) -> Option<i32> {
    let data = dir.join("data");
    let text = std::fs::read_to_string(dir.join(pid_file)).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    if !alive(pid) {
        return None;
    }
    // The server runs in its data folder: anything else is not it.
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    (std::fs::canonicalize(&data).ok()? == cwd).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_versioned_folders() {
        let tmp = std::env::temp_dir().join(format!("twice-expand-{}", std::process::id()));
        for v in ["9.6", "15", "13"] {
            std::fs::create_dir_all(tmp.join(format!("pg-{v}")).join("bin")).unwrap();
        }
        let pattern = format!("{}/pg-*/bin", tmp.display());
        let mut got: Vec<String> = expand(&pattern)
            .into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        got.sort();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|p| p.ends_with("/bin")));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn sweeps_only_folders_of_dead_twice_processes() {
        let base = std::env::temp_dir().join(format!("twice-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let mk = |name: &str, marker: Option<String>| {
            let d = base.join(name);
            std::fs::create_dir_all(d.join("data")).unwrap();
            if let Some(m) = marker {
                std::fs::write(d.join(MARKER), m).unwrap();
            }
            d
        };
        // A dead owner: a child that has exited and been reaped.
        let mut child = Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let gone = mk(
            "twice-pg-1-dead",
            Some(format!("twice cluster\npid={dead}\nstart=1\n")),
        );
        let parent = unsafe { libc::getppid() } as u32;
        let live = mk(
            "twice-pg-2-live",
            Some(format!(
                "twice cluster\npid={parent}\nstart={}\n",
                start_time(parent)
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            )),
        );
        let unmarked = mk("twice-pg-3-nomarker", None);
        let other = mk("someone-else", Some(format!("twice cluster\npid={dead}\n")));
        assert_eq!(sweep_leftovers(&base), 1);
        assert!(!gone.exists());
        assert!(live.exists());
        assert!(unmarked.exists());
        assert!(other.exists());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    #[ignore = "needs root and chattr (an immutable file): cargo test --lib -- --include-ignored cluster::"]
    fn a_removal_cut_short_leaves_the_marker_for_the_next_sweep() {
        // Two folders of killed runs stayed in /tmp for good: their removal
        // had taken the marker and then failed, and the sweep skips a folder
        // without one.
        let base = std::env::temp_dir().join(format!("twice-cut-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("twice-pg-1-cut");
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let mut child = Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(dir.join(MARKER), format!("twice cluster\npid={dead}\n")).unwrap();
        for i in 0..20 {
            std::fs::write(dir.join(format!("data/f{i}")), "x").unwrap();
        }
        let stuck = dir.join("data/f7");
        let chattr = |flag: &str| {
            Command::new("chattr")
                .arg(flag)
                .arg(&stuck)
                .status()
                .is_ok_and(|s| s.success())
        };
        assert!(
            chattr("+i"),
            "chattr +i failed (needs root and a file system with attributes)"
        );
        remove_dir_patiently(&dir);
        assert!(dir.join(MARKER).exists(), "the marker went first");
        assert!(chattr("-i"));
        assert_eq!(sweep_leftovers(&base), 1);
        assert!(!dir.exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
