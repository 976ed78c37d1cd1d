//! `twice-sql`: the package's name as a command, so that `pipx run
//! twice-sql ...` and `uvx twice-sql ...` (which run the command named like
//! the package) work. It runs the `twice` installed beside it (or, failing
//! that, the one on PATH) with the same arguments and exits with its code.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

fn twice_beside_me() -> Option<PathBuf> {
    let me = std::env::current_exe().ok()?;
    let twice = me
        .parent()?
        .join(format!("twice{}", std::env::consts::EXE_SUFFIX));
    twice.is_file().then_some(twice)
}

fn main() -> ExitCode {
    let program = twice_beside_me().unwrap_or_else(|| PathBuf::from("twice"));
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut cmd = Command::new(&program);
    cmd.args(&args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Replaces this process: signals and the exit code are twice's own.
        let err = cmd.exec();
        eprintln!(
            "twice-sql: error: cannot run {}: {err}; reinstall the twice-sql package (pip install --force-reinstall twice-sql)",
            program.display()
        );
        ExitCode::from(2)
    }
    #[cfg(not(unix))]
    {
        match cmd.status() {
            Ok(status) => match status.code() {
                Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(2)),
                None => ExitCode::from(2),
            },
            Err(err) => {
                eprintln!(
                    "twice-sql: error: cannot run {}: {err}; reinstall the twice-sql package (pip install --force-reinstall twice-sql)",
                    program.display()
                );
                ExitCode::from(2)
            }
        }
    }
}
