//! `--since` benchmark: what a history costs when only the newest migration
//! is audited. For each size, a git repository holds a generated history
//! of N committed migrations and one new (uncommitted) migration; measured
//! in the same run, each in its own child process (best CPU time of `--runs`):
//!
//! - `apply`: a plain single apply of the N + 1 files (`execute_batch` per
//!   file on an in-memory SQLite), as a migration tool would;
//! - `since`: `twice check --since HEAD` (the N old migrations applied once,
//!   the new one audited: static rules, first and second run);
//! - `check`: the full `twice check`, for reference.
//!
//! The ratio `since / apply` is what the history costs over a plain apply;
//! the goal is about 1 (plus git and reading the files).
//!
//! `cargo bench --bench since [-- --sizes 100,1000] [--runs 3]`

#[path = "support/corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn cpu_nanos() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    ticks * 10_000_000
}

fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect()
        })
        .unwrap_or_default();
    files.sort_by(|a, b| twice::discover::natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
    files
}

/// Child side: one measurement, printed as `RESULT wall_nanos cpu_nanos info`.
fn child(mode: &str, dir: &Path) {
    let start = Instant::now();
    let cpu_start = cpu_nanos();
    let info = match mode {
        "apply" => {
            let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
            let mut failed = 0;
            for f in sql_files(dir) {
                let sql = std::fs::read_to_string(&f).unwrap_or_default();
                if conn.execute_batch(&sql).is_err() {
                    failed += 1;
                    let _ = conn.execute_batch("ROLLBACK");
                }
            }
            format!("failed_files={failed}")
        }
        "since" | "check" => {
            let opts = twice::check::Options {
                since: (mode == "since").then(|| "HEAD".to_string()),
                ..twice::check::Options::default()
            };
            let report = twice::check::check(&[twice::discover::Input::Path(dir.into())], &opts)
                .expect("twice check");
            format!("findings={}", report.findings.len())
        }
        _ => panic!("unknown mode {mode}"),
    };
    let nanos = start.elapsed().as_nanos();
    let cpu = cpu_nanos() - cpu_start;
    println!("RESULT {nanos} {cpu} {info}");
}

struct Measure {
    time: Duration,
    cpu: Duration,
    info: String,
}

fn measure(mode: &str, dir: &Path, runs: usize) -> Measure {
    let exe = std::env::current_exe().expect("current exe");
    let mut best: Option<Measure> = None;
    for _ in 0..runs {
        let out = Command::new(&exe)
            .args(["--child", mode])
            .arg(dir)
            .output()
            .expect("run child");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.starts_with("RESULT "))
            .unwrap_or_else(|| {
                panic!(
                    "child {mode} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        let mut parts = line.splitn(4, ' ').skip(1);
        let nanos: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let cpu: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let m = Measure {
            time: Duration::from_nanos(nanos),
            cpu: Duration::from_nanos(cpu),
            info: parts.next().unwrap_or("").to_string(),
        };
        if best.as_ref().is_none_or(|b| m.cpu < b.cpu) {
            best = Some(m);
        }
    }
    best.expect("at least one run")
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git {args:?} failed (the benchmark needs git)");
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(&args[1], Path::new(&args[2]));
        return;
    }
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let sizes: Vec<usize> = value("--sizes")
        .unwrap_or_else(|| "100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let root = std::env::temp_dir().join(format!("twice-bench-since-{}", std::process::id()));
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8}   info",
        "history",
        "apply ms",
        "since ms",
        "check ms",
        "since/ap",
        "apply cpu",
        "since cpu",
        "cpu rat"
    );
    for n in sizes {
        let dir = root.join(format!("history-{n}"));
        let files = corpus::write(&dir, n + 1, false).expect("write corpus");
        git(&dir, &["init", "-q"]);
        for f in &files[..n] {
            git(&dir, &["add", &f.to_string_lossy()]);
        }
        git(&dir, &["commit", "-qm", "history"]);
        let apply = measure("apply", &dir, runs);
        let since = measure("since", &dir, runs);
        let check = measure("check", &dir, runs);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let cpu_ratio = if ms(apply.cpu) >= 50.0 {
            format!("{:.2}x", ms(since.cpu) / ms(apply.cpu))
        } else {
            "-".to_string()
        };
        println!(
            "{:<16} {:>10.1} {:>10.1} {:>10.1} {:>7.2}x {:>10.1} {:>10.1} {:>8}   {} | {} | {}",
            format!("{n} + 1 new"),
            ms(apply.time),
            ms(since.time),
            ms(check.time),
            ms(since.time) / ms(apply.time).max(1e-9),
            ms(apply.cpu),
            ms(since.cpu),
            cpu_ratio,
            apply.info,
            since.info,
            check.info,
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}
