//! Replay benchmark: the full `twice check` (static rules + replay) against a
//! plain single apply of the same migrations (`execute_batch` per file on an
//! in-memory SQLite, in one process), measured in the same run, on generated
//! corpora and on the example folders. Each measurement runs in a child
//! process so that its peak memory (VmHWM) is its own.
//!
//! `cargo bench --bench replay [-- --sizes 100,1000,5000] [--runs 3]`

#[path = "support/corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// CPU time (user + system) of this process so far, from /proc/self/stat.
fn cpu_nanos() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 here.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    ticks * 10_000_000 // USER_HZ = 100 on Linux
}

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The `.sql` files of a folder in natural order (what the plain layout reads).
fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walk(dir);
    files.sort_by(|a, b| {
        let (a, b) = (a.to_string_lossy(), b.to_string_lossy());
        twice::discover::natural_cmp(&a, &b)
    });
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("sql"))
                && !p.to_string_lossy().ends_with(".down.sql")
            {
                out.push(p);
            }
        }
    }
    out
}

/// Child side: runs one measurement and prints `RESULT nanos peak_kib info`.
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
        "check" | "static" => {
            let opts = twice::check::Options {
                replay: mode == "check",
                ..twice::check::Options::default()
            };
            let report = twice::check::check(&[twice::discover::Input::Path(dir.into())], &opts)
                .expect("twice check");
            format!(
                "findings={} statements={}",
                report.findings.len(),
                report.summary.statements
            )
        }
        _ => panic!("unknown mode {mode}"),
    };
    let nanos = start.elapsed().as_nanos();
    let cpu = cpu_nanos() - cpu_start;
    println!("RESULT {nanos} {cpu} {} {info}", peak_kib());
}

struct Measure {
    time: Duration,
    cpu: Duration,
    peak_kib: u64,
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
        let mut parts = line.splitn(5, ' ').skip(1);
        let nanos: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let cpu: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let peak: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let info = parts.next().unwrap_or("").to_string();
        let m = Measure {
            time: Duration::from_nanos(nanos),
            cpu: Duration::from_nanos(cpu),
            peak_kib: peak,
            info,
        };
        if best.as_ref().is_none_or(|b| m.cpu < b.cpu) {
            best = Some(m);
        }
    }
    best.expect("at least one run")
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
        .unwrap_or_else(|| "100,1000,5000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let root = std::env::temp_dir().join(format!("twice-bench-{}", std::process::id()));
    let mut folders: Vec<(String, PathBuf)> = Vec::new();
    for n in &sizes {
        let dir = root.join(format!("corpus-{n}"));
        corpus::write(&dir, *n, false).expect("write corpus");
        folders.push((format!("generated {n}"), dir));
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for base in ["fixtures/examples", "fixtures/replay"] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(manifest.join(base))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        dirs.sort();
        for d in dirs {
            // Folders made to hit the time limit or the sandbox limits measure
            // those limits, not replay.
            if d.ends_with("timeout") || d.ends_with("sandbox") {
                continue;
            }
            let name = d.strip_prefix(manifest).unwrap_or(&d).display().to_string();
            folders.push((name, d));
        }
    }
    println!(
        "{:<32} {:>6} {:>10} {:>10} {:>7} {:>10} {:>10} {:>7} {:>10} {:>9} {:>9}",
        "folder",
        "files",
        "apply ms",
        "check ms",
        "ratio",
        "apply cpu",
        "check cpu",
        "ratio",
        "static cpu",
        "apply MiB",
        "check MiB"
    );
    for (name, dir) in &folders {
        let files = sql_files(dir).len();
        let apply = measure("apply", dir, runs);
        let check = measure("check", dir, runs);
        let stat = measure("static", dir, runs);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        // CPU time comes in clock ticks (10 ms): no ratio below a few ticks.
        let cpu_ratio = if ms(apply.cpu) >= 50.0 {
            format!("{:.2}x", ms(check.cpu) / ms(apply.cpu))
        } else {
            "-".to_string()
        };
        println!(
            "{:<32} {:>6} {:>10.1} {:>10.1} {:>6.2}x {:>10.1} {:>10.1} {:>7} {:>10.1} {:>9.1} {:>9.1}   {} | {}",
            name,
            files,
            ms(apply.time),
            ms(check.time),
            ms(check.time) / ms(apply.time).max(1e-9),
            ms(apply.cpu),
            ms(check.cpu),
            cpu_ratio,
            ms(stat.cpu),
            apply.peak_kib as f64 / 1024.0,
            check.peak_kib as f64 / 1024.0,
            apply.info,
            check.info,
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}
