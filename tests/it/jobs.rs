//! `--jobs`: the static pass checks files on several threads and replay runs
//! independent sequences side by side, yet the output is byte for byte the
//! output of one thread, in every format, on the fixtures and on a generated
//! corpus.

#[path = "../../benches/support/corpus.rs"]
mod corpus;

use std::path::Path;
use std::process::{Command, Stdio};

const FORMATS: &[&str] = &["human", "json", "sarif", "github", "gitlab"];

fn twice(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twice"));
    for var in [
        "GITHUB_ACTIONS",
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "TWICE_DATABASE_URL",
        "TERM",
    ] {
        c.env_remove(var);
    }
    c.current_dir(dir);
    c.stdin(Stdio::null());
    c
}

/// Exit code, stdout and stderr of `twice check ARGS -j JOBS` in `dir`,
/// with the times replay shows (rows written with `datetime('now')`, which
/// differ from run to run) replaced by `<time>`.
fn run(dir: &Path, args: &[&str], jobs: &str) -> (Option<i32>, String, String) {
    let out = twice(dir)
        .arg("check")
        .args(args)
        .args(["--jobs", jobs])
        .output()
        .expect("run twice");
    (
        out.status.code(),
        without_times(&String::from_utf8_lossy(&out.stdout)),
        without_times(&String::from_utf8_lossy(&out.stderr)),
    )
}

/// `text` with every `YYYY-MM-DD HH:MM:SS` replaced by `<time>`.
fn without_times(text: &str) -> String {
    const SHAPE: &[u8] = b"dddd-dd-dd dd:dd:dd";
    let b = text.as_bytes();
    let matches = |i: usize| {
        b.len() >= i + SHAPE.len()
            && SHAPE.iter().zip(&b[i..]).all(|(s, c)| match s {
                b'd' => c.is_ascii_digit(),
                s => s == c,
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        if matches(i) {
            out.push_str(&text[copied..i]);
            out.push_str("<time>");
            i += SHAPE.len();
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[test]
fn times_are_masked() {
    assert_eq!(
        without_times("(2, 'x', '2026-12-05 22:05:12') é 2026-12-05"),
        "(2, 'x', '<time>') é 2026-12-05"
    );
}

/// Checks that `-j 1` and `-j 4` print the same thing in every format, and
/// that the check found something (so that the comparison is not between two
/// empty outputs).
fn same_output(dir: &Path, args: &[&str]) {
    for format in FORMATS {
        let mut a = args.to_vec();
        a.extend(["--format", format]);
        let one = run(dir, &a, "1");
        let four = run(dir, &a, "4");
        assert!(
            matches!(one.0, Some(0..=2)),
            "{args:?} {format}: exit {:?}\n{}",
            one.0,
            one.2
        );
        assert!(
            !one.1.is_empty() || !one.2.is_empty(),
            "{args:?} {format}: nothing printed"
        );
        assert_eq!(one, four, "{} {args:?} --format {format}", dir.display());
    }
}

#[test]
fn fixtures_print_the_same_with_one_thread_and_four() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Every layout, the rule fixtures (many small files in one run), the
    // replay fixtures (one sequence each, and all of them together: several
    // sequences replayed side by side) and the examples.
    same_output(root, &["fixtures/layouts"]);
    same_output(root, &["--no-replay", "fixtures/rules"]);
    same_output(
        root,
        &[
            "fixtures/replay/clean",
            "fixtures/replay/data-change",
            "fixtures/replay/downs",
            "fixtures/replay/first-run-error",
            "fixtures/replay/schema-change",
            "fixtures/replay/second-run-error",
            "fixtures/replay/transactions",
        ],
    );
    same_output(root, &["fixtures/examples", "fixtures/render/migrations"]);
}

#[test]
fn a_generated_corpus_prints_the_same_with_one_thread_and_four() {
    let dir = tempfile::tempdir().expect("temp dir");
    corpus::write(&dir.path().join("app"), 150, true).expect("write corpus");
    corpus::write(&dir.path().join("static"), 400, false).expect("write corpus");
    // Replayed, downs included: two sequences side by side.
    same_output(dir.path(), &["app", "static"]);
    // Static rules only, on many files.
    same_output(dir.path(), &["--no-replay", "static"]);
}

#[test]
fn jobs_are_checked_and_read_from_the_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for bad in ["0", "x", "-3", "100000"] {
        let out = twice(root)
            .args(["check", &format!("--jobs={bad}"), "fixtures/examples"])
            .output()
            .expect("run twice");
        assert_eq!(out.status.code(), Some(2), "--jobs {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("number of threads from 1 to"), "{err}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("twice.toml"), "jobs = 0\n").expect("write config");
    std::fs::write(dir.path().join("1_a.sql"), "CREATE TABLE a (id int);\n").expect("write");
    let out = twice(dir.path()).arg("check").output().expect("run twice");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("twice.toml:1:8: `jobs`: bad value 0"), "{err}");
    std::fs::write(dir.path().join("twice.toml"), "jobs = 3\n").expect("write config");
    let out = twice(dir.path()).arg("check").output().expect("run twice");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_flag_beats_the_file_and_the_file_beats_the_cores() {
    use clap::Parser;
    use twice::cli::{check_options, Cli, Command as Sub};
    let args =
        |flags: &[&str]| match Cli::try_parse_from(["twice", "check"].iter().chain(flags.iter())) {
            Ok(Cli {
                command: Sub::Check(a),
            }) => a,
            other => panic!("bad test flags {flags:?}: {other:?}"),
        };
    let cfg = twice::config::parse("twice.toml", Path::new("."), "jobs = 3\n").expect("config");
    assert_eq!(cfg.jobs, Some(3));
    let cores = twice::parallel::default_jobs();
    assert_eq!(check_options(&args(&[]), None).0.jobs, cores);
    assert_eq!(check_options(&args(&[]), Some(&cfg)).0.jobs, 3);
    assert_eq!(check_options(&args(&["-j", "1"]), Some(&cfg)).0.jobs, 1);
    assert_eq!(check_options(&args(&["--jobs", "7"]), None).0.jobs, 7);
}

/// One throwaway PostgreSQL cluster serves every sequence of a check (with
/// one thread), each sequence in its own scratch database, and what one
/// sequence's setup script adds to the cluster (a role) is gone before the
/// next one starts; with two threads, at most two clusters and the same
/// report; nothing is left behind at the end.
#[test]
#[ignore = "needs PostgreSQL: the server binaries (initdb, postgres); run with --include-ignored"]
fn one_throwaway_cluster_serves_every_sequence() {
    use twice::check::{check, Engine, Options};
    use twice::discover::Input;
    use twice::replay::postgres::cluster;
    let dir = tempfile::tempdir().expect("temp dir");
    let setup = dir.path().join("setup.sql");
    std::fs::write(&setup, "CREATE ROLE app_reader;\n").expect("write setup");
    let mut inputs = Vec::new();
    for name in ["a", "b", "c"] {
        let folder = dir.path().join("postgres").join(name);
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::write(
            folder.join("1_init.sql"),
            "CREATE TABLE IF NOT EXISTS t (id int);\nGRANT SELECT ON t TO app_reader;\n",
        )
        .expect("write migration");
        inputs.push(Input::Path(folder));
    }
    let opts = Options {
        engine: Engine::Postgres,
        jobs: 1,
        setup: vec![twice::replay::setup::SetupScript {
            path: setup,
            sequence: None,
            within: None,
        }],
        ..Options::default()
    };
    let before = cluster::started();
    let report = match check(&inputs, &opts) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        cluster::started() - before,
        1,
        "one cluster for three sequences"
    );
    assert_eq!(report.summary.sequences.len(), 3);
    for s in &report.summary.sequences {
        assert_eq!(s.replay, "replayed", "{}", s.root);
    }
    assert!(
        report.findings.is_empty(),
        "{:?}",
        report
            .findings
            .iter()
            .map(|f| &f.message)
            .collect::<Vec<_>>()
    );
    // Side by side: a cluster per thread at most, the same report.
    let before = cluster::started();
    let two = match check(&inputs, &Options { jobs: 2, ..opts }) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let started = cluster::started() - before;
    assert!(
        (1..=2).contains(&started),
        "{started} clusters for 2 threads"
    );
    assert_eq!(
        format!("{:?}", two.summary),
        format!("{:?}", report.summary)
    );
    assert!(two.findings.is_empty());
    // The clusters are stopped and their folders removed when the check ends.
    let mine = format!("twice-pg-{}-", std::process::id());
    let left: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .expect("read temp dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&mine))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Prints the same with `-j 1` and `-j 2` (`--format json` and human):
/// with two jobs a single sequence runs its second runs on copies of the
/// database on a second thread (see `replay::algorithm`).
fn same_with_copies(dir: &Path, args: &[&str]) {
    for format in ["json", "human"] {
        let mut a = args.to_vec();
        a.extend(["--format", format]);
        let one = run(dir, &a, "1");
        let two = run(dir, &a, "2");
        assert!(
            matches!(one.0, Some(0..=2)),
            "{args:?} {format}: exit {:?}\n{}",
            one.0,
            one.2
        );
        assert_eq!(one, two, "{} {args:?} --format {format}", dir.display());
    }
}

#[test]
fn second_runs_on_copies_print_the_same_as_on_one_thread() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Each replay fixture and example on its own: one sequence, which
    // gets both jobs (the sandbox and time-limit fixtures wait for their
    // limits and are left to the replay tests).
    for parent in ["fixtures/replay", "fixtures/examples"] {
        let mut dirs: Vec<_> = std::fs::read_dir(root.join(parent))
            .expect("fixture folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .filter(|p| !p.ends_with("sandbox") && !p.ends_with("timeout"))
            .collect();
        dirs.sort();
        for d in dirs {
            same_with_copies(root, &[d.to_str().expect("utf-8 path")]);
        }
    }
    // A popx-shaped history (table rebuilds, each with a down), with each
    // of the switches that change which runs happen.
    let dir = tempfile::tempdir().expect("temp dir");
    corpus::write_popx(&dir.path().join("popx"), 120).expect("write corpus");
    for extra in [
        &[][..],
        &["--no-down"],
        &["--no-seed"],
        &["--no-interleave"],
        &["--no-seed", "--no-interleave"],
    ] {
        let mut args = extra.to_vec();
        args.push("popx");
        same_with_copies(dir.path(), &args);
    }
}
