//! A throwaway PostgreSQL cluster: `initdb` into a fresh temporary folder,
//! a server listening only on a Unix socket in that folder (no TCP), stopped
//! and removed when dropped.
//!
//! `initdb` and the server refuse to run as root, so when twice runs as root
//! the cluster is run as an unprivileged account (`postgres` when it exists,
//! else `nobody`); the folder is made over to that account and is private to
//! it (mode 0700). Root can still reach the socket.

use crate::error::{Error, Result};
use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// The folder holding `initdb`, `pg_ctl` and `postgres`, if any: `PATH`
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
        dirs.sort_by(|a, b| natord::compare(&b.to_string_lossy(), &a.to_string_lossy()));
        for dir in dirs {
            if let Some(d) = server_bindir(&dir) {
                return Some(d);
            }
        }
    }
    None
}

/// `dir` if it has `initdb` and `pg_ctl`, resolving symlinks so that
/// `postgres` is found beside them (Debian links only some into PATH).
fn server_bindir(dir: &Path) -> Option<PathBuf> {
    let initdb = dir.join("initdb");
    let pg_ctl = dir.join("pg_ctl");
    if !is_executable(&initdb) || !is_executable(&pg_ctl) {
        return None;
    }
    let real = std::fs::canonicalize(&pg_ctl).ok()?;
    let real_dir = real.parent()?.to_path_buf();
    if is_executable(&real_dir.join("initdb")) && is_executable(&real_dir.join("postgres")) {
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

/// `None` when twice does not run as root (the cluster then runs as the
/// current user); else an unprivileged account to run it as.
fn run_as() -> Result<Option<RunAs>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Some(acct) = lookup_user(name) {
            return Ok(Some(acct));
        }
    }
    Err(Error::new(
        "twice runs as root, and PostgreSQL refuses to run a server as root; no `postgres` \
         or `nobody` account exists to run the throwaway cluster as. Run twice as an ordinary \
         user, create a `postgres` account, or pass --database-url",
    ))
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

/// A running throwaway cluster. Dropping it stops the server and removes the
/// folder.
#[derive(Debug)]
pub struct Cluster {
    pub bindir: PathBuf,
    /// The temporary folder: data directory, socket and log live inside.
    pub dir: PathBuf,
    pub run_as: Option<RunAs>,
    /// Superuser created by `initdb`.
    pub user: String,
    pub port: u16,
    stopped: bool,
}

/// Why no throwaway cluster could be started, worded for the user.
pub fn no_server_message(detail: &str) -> String {
    format!(
        "--engine postgres needs a PostgreSQL server: {detail}. Pass --database-url \
         postgres://USER@HOST/DB (or set TWICE_DATABASE_URL; the role needs CREATEDB), or \
         install the PostgreSQL server binaries (initdb and pg_ctl: `apt-get install \
         postgresql` on Debian/Ubuntu, `brew install postgresql@16` on macOS) so twice can \
         start a throwaway cluster; or use --no-replay"
    )
}

impl Cluster {
    /// Finds the binaries, creates the cluster and starts it.
    pub fn start() -> Result<Cluster> {
        let bindir = find_bindir().ok_or_else(|| {
            Error::new(no_server_message(
                "no --database-url was given and initdb/pg_ctl were not found on PATH or in \
                 /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin or Homebrew's folders",
            ))
        })?;
        let run_as = run_as()?;
        let dir = make_private_dir(run_as.as_ref())?;
        let mut cluster = Cluster {
            bindir,
            dir,
            run_as,
            user: "twice".into(),
            port: 5432,
            stopped: true,
        };
        cluster.init_and_start()?;
        Ok(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .current_dir(&self.dir)
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGHOST")
            .env_remove("PGPORT");
        if let Some(acct) = &self.run_as {
            cmd.uid(acct.uid).gid(acct.gid).env("HOME", &self.dir);
        }
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<()> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| Error::new(format!("cannot run {program}: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if text.is_empty() {
            text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        if !tail.is_empty() {
            text.push_str("\nserver log:\n");
            for l in tail.into_iter().rev() {
                text.push_str(l);
                text.push('\n');
            }
        }
        let who = self
            .run_as
            .as_ref()
            .map(|a| format!(" (as user {})", a.name))
            .unwrap_or_default();
        Err(Error::new(format!(
            "starting a throwaway PostgreSQL cluster failed: {program}{who}: {}",
            text.trim_end()
        )))
    }

    fn init_and_start(&mut self) -> Result<()> {
        let data = self.data_dir();
        let data_s = data.to_string_lossy().into_owned();
        self.run(
            "initdb",
            &[
                "-D",
                &data_s,
                "-U",
                &self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        // Only a Unix socket in our private folder, and no durability: the
        // cluster lives for one run.
        let conf = format!(
            "\n# added by twice\nlisten_addresses = ''\nunix_socket_directories = '{}'\n\
             port = {}\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             max_connections = 20\nshared_buffers = 32MB\nlog_min_messages = warning\n",
            self.dir.to_string_lossy().replace('\'', "''"),
            self.port
        );
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(conf.as_bytes()))
            .map_err(|e| Error::new(format!("cannot configure the throwaway cluster: {e}")))?;
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        self.stopped = false;
        self.run(
            "pg_ctl",
            &["-D", &data_s, "-l", &log, "-w", "-t", "60", "-s", "start"],
        )
    }

    /// Stops the server (fast, no checkpoint wait) and removes the folder.
    pub fn stop(&mut self) {
        if !self.stopped {
            let data = self.data_dir().to_string_lossy().into_owned();
            let _ = self
                .command("pg_ctl")
                .args(["-D", &data, "-m", "immediate", "-w", "-s", "stop"])
                .output();
            self.stopped = true;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Creates `<tmp>/twice-pg-<pid>-<random>` with mode 0700, owned by the
/// account the server will run as.
fn make_private_dir(run_as: Option<&RunAs>) -> Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let base = std::env::temp_dir();
    for _ in 0..16 {
        let dir = base.join(format!(
            "twice-pg-{}-{}",
            std::process::id(),
            super::random_suffix()
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
                if let Some(acct) = run_as {
                    std::os::unix::fs::chown(&dir, Some(acct.uid), Some(acct.gid)).map_err(
                        |e| {
                            let _ = std::fs::remove_dir(&dir);
                            Error::new(format!(
                                "cannot hand {} to user {}: {e}",
                                dir.display(),
                                acct.name
                            ))
                        },
                    )?;
                }
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::new(format!(
                    "cannot create a folder for the throwaway cluster in {}: {e}",
                    base.display()
                )))
            }
        }
    }
    Err(Error::new(format!(
        "cannot create a folder for the throwaway cluster in {}",
        base.display()
    )))
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
}
