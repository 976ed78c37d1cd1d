//! Big inputs (issue 7): time and peak memory of the `twice` binary on
//!
//! - `inserts`: one ~20 MB script of 200,000 INSERTs (each one is flagged by
//!   `insert-without-conflict-clause`, so the report holds 200,000 findings);
//! - `files`: a folder of 20,000 small migrations (the shared generated
//!   corpus, `benches/support/corpus.rs`);
//! - `longline`: 80,000 `a;` on one 160 kB line (80,000 findings on one
//!   line: human output used to be quadratic in it, issue 15);
//! - `blobs`: a 215-byte migration that inserts 14 rows of 63 MB random
//!   blobs (replay's snapshot memory, issue 15);
//! - `placeholders`: 100,000 `${x}` in one statement (100,000 findings on one
//!   statement: linking them to replay findings was quadratic, 17 s for
//!   25,000 in a debug build).
//!
//! For each input it runs `twice check --no-replay` and the full `twice check`
//! (replay) as child processes of the release binary, with the human output
//! written to a file, and prints the wall time, the CPU time and the peak
//! resident memory (`ru_maxrss` from `wait4`, the child's VmHWM).
//!
//! `cargo bench --bench big_inputs [-- --inserts 200000] [--files 20000]
//!  [--only inserts|files|longline|blobs|placeholders] [--modes static,replay]`

#[path = "support/corpus.rs"]
mod corpus;

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Writes `n` INSERTs (about 100 bytes each) after one CREATE TABLE.
fn write_inserts(path: &Path, n: usize) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "CREATE TABLE IF NOT EXISTS big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT);"
    )?;
    let mut line = String::new();
    for i in 0..n {
        line.clear();
        let _ = writeln!(
            line,
            "INSERT INTO big (id, name, note) VALUES ({i}, 'name number {i}', 'a note of some thirty bytes');"
        );
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

struct Measure {
    wall: Duration,
    cpu: Duration,
    peak_kib: i64,
    code: i32,
    output_bytes: u64,
    summary: String,
}

/// Runs the release binary once and measures it with `wait4`.
fn measure(args: &[&str], target: &Path, out_file: &Path) -> Measure {
    let out = std::fs::File::create(out_file).expect("output file");
    let start = Instant::now();
    // Reaped by `wait4` below, which also returns the child's own rusage
    // (`Child::wait` would not).
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_twice"))
        .args(args)
        .arg(target)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("run twice");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child, not yet waited for; the pointers are
    // to live locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert!(pid > 0, "wait4 failed: {}", std::io::Error::last_os_error());
    let status = std::process::ExitStatus::from_raw(status);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let text = std::fs::read(out_file).unwrap_or_default();
    let summary = String::from_utf8_lossy(&text)
        .lines()
        .rev()
        .find(|l| l.starts_with("twice: checked"))
        .unwrap_or("")
        .to_string();
    Measure {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        peak_kib: usage.ru_maxrss,
        code: status.code().unwrap_or(-1),
        output_bytes: text.len() as u64,
        summary,
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let inserts: usize = value("--inserts")
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let files: usize = value("--files")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let only = value("--only");
    let modes = value("--modes").unwrap_or_else(|| "static,replay".into());
    let root = std::env::temp_dir().join(format!("twice-big-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("temp folder");

    let mut inputs: Vec<(String, PathBuf)> = Vec::new();
    if only.as_deref().is_none_or(|o| o == "inserts") {
        let path = root.join("inserts.sql");
        let size = write_inserts(&path, inserts).expect("write script");
        inputs.push((
            format!("{inserts} INSERTs, one {:.1} MB file", size as f64 / 1e6),
            path,
        ));
    }
    if only.as_deref().is_none_or(|o| o == "files") {
        let dir = root.join("migrations");
        let written = corpus::write(&dir, files, false).expect("write corpus");
        let bytes: u64 = written
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        inputs.push((format!("{files} files, {:.1} MB", bytes as f64 / 1e6), dir));
    }

    if only.as_deref().is_none_or(|o| o == "longline") {
        let path = root.join("longline.sql");
        std::fs::write(&path, format!("{}\n", "a;".repeat(80_000))).expect("write script");
        inputs.push(("80,000 `a;` on one 160 kB line".into(), path));
    }
    if only.as_deref().is_none_or(|o| o == "blobs") {
        let path = root.join("blobs.sql");
        std::fs::write(
            &path,
            "CREATE TABLE IF NOT EXISTS b (x);\n\
             INSERT INTO b SELECT randomblob(63000000) FROM (WITH RECURSIVE c(x) AS \
             (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 14) SELECT x FROM c);\n",
        )
        .expect("write script");
        inputs.push(("14 rows of 63 MB blobs".into(), path));
    }

    if only.as_deref().is_none_or(|o| o == "placeholders") {
        let path = root.join("placeholders.sql");
        std::fs::write(&path, format!("{}\n", "${x}".repeat(100_000))).expect("write script");
        inputs.push(("100,000 `${x}` in one statement".into(), path));
    }

    println!(
        "{:<34} {:<22} {:>9} {:>9} {:>10} {:>4} {:>10}",
        "input", "command", "wall s", "cpu s", "peak MiB", "exit", "output MB"
    );
    for (name, path) in &inputs {
        for mode in modes.split(',') {
            let (label, args): (&str, &[&str]) = match mode.trim() {
                "static" => ("check --no-replay", &["check", "--no-replay"]),
                "replay" => ("check (replay)", &["check"]),
                other => panic!("unknown mode {other} (static, replay)"),
            };
            let m = measure(args, path, &root.join("output.txt"));
            println!(
                "{:<34} {:<22} {:>9.2} {:>9.2} {:>10.1} {:>4} {:>10.1}",
                name,
                label,
                m.wall.as_secs_f64(),
                m.cpu.as_secs_f64(),
                m.peak_kib as f64 / 1024.0,
                m.code,
                m.output_bytes as f64 / 1e6,
            );
            if !m.summary.is_empty() {
                println!("    {}", m.summary);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}
