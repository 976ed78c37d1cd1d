//! Who runs the migrations on PostgreSQL, and the names twice gives the
//! databases and roles it makes (issue 15).
//!
//! twice's **admin** connection (the `--database-url` role, or the
//! bootstrap superuser `postgres` of a throwaway cluster) only creates and
//! drops things. The migrations run on connections of a **per-run role**
//! (`twice_run_<host>_<pid>_<random>`): a login role with no special
//! attribute (not a superuser, no `CREATEDB`, no `CREATEROLE`, except
//! `CREATEROLE` on a throwaway cluster of PostgreSQL 16+, where it cannot
//! grant itself anything) that owns only the scratch database. So reading or
//! writing server files, running programs, changing server settings, other
//! databases or other roles fail with "permission denied" (SQLSTATE 42501),
//! which replay reports as the migration's error with
//! [`crate::replay::algorithm::PERMISSION_HELP`] (error class
//! [`crate::replay::engine::ErrorClass::PermissionDenied`]).
//! Both are dropped at the end of the run.
//!
//! Names carry the host and the process id, so a later run on the same host
//! can tell the leftovers of a killed run (its process is gone) from those of
//! runs still going, here or on other hosts.

/// Prefix of scratch database names.
pub const SCRATCH_PREFIX: &str = "twice_scratch_";
/// Prefix of per-run role names.
pub const ROLE_PREFIX: &str = "twice_run_";

/// A short tag for this host (from /etc/machine-id, else the host name), so
/// names made here are told apart from names made by twice on other hosts
/// using the same server.
pub fn host_tag() -> String {
    let id = std::fs::read_to_string("/etc/machine-id")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(hostname);
    // FNV-1a: stable across runs and builds (std's hasher is not).
    let mut h: u32 = 0x811c_9dc5;
    for b in id.trim().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{:06x}", h & 0x00ff_ffff)
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // when the name fits.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// `<prefix><host>_<pid>_<random>`.
pub fn run_name(prefix: &str) -> String {
    format!(
        "{prefix}{}_{}_{}",
        host_tag(),
        std::process::id(),
        super::random_suffix()
    )
}

/// The process id in a name made by [`run_name`] on this host (clones of a
/// scratch database add `_c<random>`), or `None` when the name is not one.
pub fn owner_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let rest = rest.strip_prefix(&host_tag())?.strip_prefix('_')?;
    let (pid, tail) = rest.split_once('_')?;
    if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process with this id runs on this host.
pub fn pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    pid != 0 && (unsafe { libc::kill(pid as libc::pid_t, 0) } == 0 || errno_is_eperm())
}

fn errno_is_eperm() -> bool {
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A password for the per-run role (it logs in over the same connection
/// settings as the admin role).
pub fn password() -> String {
    (0..4).map(|_| super::random_suffix()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_host_and_pid() {
        let n = run_name(SCRATCH_PREFIX);
        assert_eq!(owner_pid(&n, SCRATCH_PREFIX), Some(std::process::id()));
        let clone = format!("{n}_cdeadbeef");
        assert_eq!(owner_pid(&clone, SCRATCH_PREFIX), Some(std::process::id()));
        assert_eq!(owner_pid("twice_scratch_other_1_2", SCRATCH_PREFIX), None);
        assert_eq!(owner_pid(&n, ROLE_PREFIX), None);
        assert!(n.len() < 50, "{n}");
    }
}
