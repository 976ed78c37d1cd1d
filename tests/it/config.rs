//! twice.toml: precedence (flag > file > default, key by key), discovery
//! from parent folders, and every kind of config error (exit code 2, the
//! message names the file, the line and the key).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use twice::cli::{check_options, CheckArgs, Cli, Command as Sub, FailOn};
use twice::config::{self, Config, RuleLevel};
use twice::dialect::Dialect;
use twice::model::LayoutKind;

use clap::Parser;

fn args(flags: &[&str]) -> CheckArgs {
    let argv = ["twice", "check"].iter().chain(flags.iter());
    match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Sub::Check(a),
        }) => a,
        other => panic!("bad test flags {flags:?}: {other:?}"),
    }
}

fn cfg(text: &str) -> Config {
    config::parse("twice.toml", Path::new("."), text).unwrap_or_else(|e| panic!("{e}"))
}

const FULL: &str = r#"
dialect = "postgres"
layout = "sqlx"
fail-on = "error"
exclude = ["legacy/**"]

[rules]
unused-suppression = "off"

[define]
schema = "app"
owner = "ops"
version = 3

[replay]
timeout = 10
seed = true
"#;

#[test]
fn defaults_without_a_config() {
    let (o, fail_on) = check_options(&args(&[]), None);
    assert_eq!(o.dialect, None);
    assert_eq!(o.layout, None);
    assert_eq!(fail_on, FailOn::Warning);
    assert!(o.exclude.is_none());
    assert!(o.rules.is_empty());
    assert!(o.defines.is_empty());
    assert_eq!(o.timeout, Duration::from_secs(5));
    // Seeded replay and the interleaved write are the defaults.
    assert!(o.seed);
    assert!(o.interleave);
}

#[test]
fn the_file_beats_the_defaults() {
    let c = cfg(FULL);
    let (o, fail_on) = check_options(&args(&[]), Some(&c));
    assert_eq!(o.dialect, Some(Dialect::Postgres));
    assert_eq!(o.layout, Some(LayoutKind::Sqlx));
    assert_eq!(fail_on, FailOn::Error);
    assert_eq!(
        o.exclude.as_ref().map(|e| e.patterns().to_vec()),
        Some(vec!["legacy/**".to_string()])
    );
    assert_eq!(o.rules.get("unused-suppression"), Some(&RuleLevel::Off));
    assert_eq!(o.defines.get("schema").map(String::as_str), Some("app"));
    assert_eq!(o.defines.get("version").map(String::as_str), Some("3"));
    assert_eq!(o.timeout, Duration::from_secs(10));
    assert!(o.seed);
}

#[test]
fn flags_beat_the_file_key_by_key() {
    let c = cfg(FULL);
    let (o, fail_on) = check_options(
        &args(&[
            "--dialect",
            "mysql",
            "--layout",
            "flyway",
            "--fail-on",
            "never",
            "-D",
            "schema=tenant",
            "--timeout",
            "2",
        ]),
        Some(&c),
    );
    assert_eq!(o.dialect, Some(Dialect::Mysql));
    assert_eq!(o.layout, Some(LayoutKind::Flyway));
    assert_eq!(fail_on, FailOn::Never);
    // Per key: the flag's `schema`, the file's `owner`.
    assert_eq!(o.defines.get("schema").map(String::as_str), Some("tenant"));
    assert_eq!(o.defines.get("owner").map(String::as_str), Some("ops"));
    assert_eq!(o.timeout, Duration::from_secs(2));

    // `--seed` turns seeding on when the file turns it off, `--no-seed`
    // off when the file turns it on; the last of the two flags wins.
    let c = cfg("[replay]\nseed = false\n");
    assert!(!check_options(&args(&[]), Some(&c)).0.seed);
    assert!(check_options(&args(&["--seed"]), Some(&c)).0.seed);
    let c = cfg("[replay]\nseed = true\n");
    assert!(!check_options(&args(&["--no-seed"]), Some(&c)).0.seed);
    assert!(!check_options(&args(&["--seed", "--no-seed"]), None).0.seed);
    assert!(check_options(&args(&["--no-seed", "--seed"]), None).0.seed);
    // `[replay] interleave = false` and `--no-interleave`.
    let c = cfg("[replay]\ninterleave = false\n");
    assert!(!check_options(&args(&[]), Some(&c)).0.interleave);
    assert!(
        !check_options(&args(&["--no-interleave"]), None)
            .0
            .interleave
    );
    assert!(check_options(&args(&[]), None).0.interleave);
    // `--fail-on warning` beats `fail-on = "never"`.
    let c = cfg("fail-on = \"never\"\n");
    assert_eq!(
        check_options(&args(&["--fail-on", "warning"]), Some(&c)).1,
        FailOn::Warning
    );
}

#[test]
fn values_the_file_accepts() {
    let c = cfg("dialect = \"postgresql\"\n[replay]\ntimeout = 2.5\n");
    assert_eq!(c.dialect, Some(Dialect::Postgres));
    assert_eq!(c.timeout, Some(Duration::from_millis(2500)));
    let c = cfg("[replay]\ntimeout = \"30s\"\n");
    assert_eq!(c.timeout, Some(Duration::from_secs(30)));
    let c = cfg("[replay]\ntimeout = 300\n");
    assert_eq!(c.timeout, Some(Duration::from_secs(300)));
    // More is the choice of whoever runs twice, not of the file (it may
    // come from the pull request being checked).
    let err = config::parse("twice.toml", Path::new("."), "[replay]\ntimeout = 86400\n")
        .expect_err("a day is refused from the file");
    assert!(err.to_string().contains("--timeout 86400"), "{err}");
    let c = cfg("rules = { unused-suppression = \"error\" }\n");
    assert_eq!(
        c.rules.get("unused-suppression"),
        Some(&RuleLevel::On(twice::finding::Severity::Error))
    );
    let c = cfg("\u{feff}# only a comment\n");
    assert!(c.dialect.is_none() && c.rules.is_empty());
}

// ---- through the command line ----

fn twice_in(dir: &Path, argv: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_twice"))
        .args(argv)
        .current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("twice runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn project_config_applies_in_its_folder_and_flags_win() {
    let dir = Path::new("fixtures/config/project");
    // The file: postgres, fail-on error (the warning does not fail), legacy
    // excluded with a notice.
    let (code, stdout, stderr) = twice_in(dir, &["check", "--no-replay", "--format", "json", "db"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let doc = json(&stdout);
    assert_eq!(doc["summary"]["sequences"][0]["dialect"], "postgres");
    assert_eq!(doc["summary"]["files"], 1);
    let notices = doc["notices"].to_string();
    assert!(
        notices
            .contains("excluded db/legacy/000_old.sql: matches `legacy` (exclude in twice.toml)"),
        "{notices}"
    );
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, vec!["unused-suppression"]);

    // The flags win.
    let (code, stdout, _) = twice_in(
        dir,
        &[
            "check",
            "--no-replay",
            "--format",
            "json",
            "--dialect",
            "mysql",
            "--fail-on",
            "warning",
            "db",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(json(&stdout)["summary"]["sequences"][0]["dialect"], "mysql");

    // A file named on the command line is excluded too (pre-commit passes
    // file names).
    let (code, stdout, _) = twice_in(
        dir,
        &[
            "check",
            "--no-replay",
            "--format",
            "json",
            "db/legacy/000_old.sql",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(json(&stdout)["summary"]["files"], 0);
}

#[test]
fn config_is_found_in_the_nearest_parent_folder() {
    let root = tempfile::tempdir().unwrap();
    let deep = root.path().join("services/api/db");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(
        deep.join("1.sql"),
        "-- twice:ignore no-such-rule\nSELECT 1;\n",
    )
    .unwrap();

    // No config anywhere up to the temp root: the warning fails the run.
    let (code, _, _) = twice_in(&deep, &["check", "--no-replay", "."]);
    assert_eq!(code, 1);

    std::fs::write(root.path().join("twice.toml"), "fail-on = \"never\"\n").unwrap();
    let (code, out, err) = twice_in(&deep, &["check", "--no-replay", "."]);
    assert_eq!(code, 0, "{out}{err}");

    // The nearest file wins over one further up.
    std::fs::write(
        root.path().join("services/twice.toml"),
        "fail-on = \"warning\"\n",
    )
    .unwrap();
    let (code, _, _) = twice_in(&deep, &["check", "--no-replay", "."]);
    assert_eq!(code, 1);

    // --config wins over discovery.
    let (code, _, _) = twice_in(
        &deep,
        &[
            "check",
            "--no-replay",
            "--config",
            "../../../twice.toml",
            ".",
        ],
    );
    assert_eq!(code, 0);

    // Errors in a parent's file name it as the user would reach it.
    std::fs::write(root.path().join("services/twice.toml"), "fail-on = 1\n").unwrap();
    let (code, _, err) = twice_in(&deep, &["check", "--no-replay", "."]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: ../../twice.toml:1:11: `fail-on` must be a string"),
        "{err}"
    );

    assert_eq!(
        config::find(&deep).map(|(_, name)| name),
        Some("../../twice.toml".to_string())
    );
}

#[test]
fn exclude_patterns_are_relative_to_the_config_folder() {
    let root = tempfile::tempdir().unwrap();
    let db = root.path().join("db");
    std::fs::create_dir_all(db.join("old")).unwrap();
    std::fs::create_dir_all(db.join("new")).unwrap();
    for f in ["old/1.sql", "new/2.sql", "new/2_seed.sql"] {
        std::fs::write(db.join(f), "SELECT 1;\n").unwrap();
    }
    std::fs::write(
        root.path().join("twice.toml"),
        "exclude = [\"db/old/**\", \"*_seed.sql\"]\n",
    )
    .unwrap();
    // Run from the db folder: patterns stay anchored at the config folder.
    let (code, stdout, err) = twice_in(&db, &["check", "--no-replay", "--format", "json", "."]);
    assert_eq!(code, 0, "{err}");
    let doc = json(&stdout);
    assert_eq!(doc["summary"]["files"], 1, "{stdout}");
    assert_eq!(doc["summary"]["sequences"][0]["migrations"], 1, "{stdout}");
    let notices: Vec<String> = doc["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        notices,
        vec![
            "excluded old/1.sql: matches `db/old/**` (exclude in ../twice.toml)",
            "excluded new/2_seed.sql: matches `*_seed.sql` (exclude in ../twice.toml)",
        ]
    );
}

#[test]
fn exclude_patterns_are_capped_in_size() {
    // 200,000 patterns (4.7 MB) took 3.4 GB to compile, then failed on the
    // first pattern ("error building NFA"); 64 KiB of them are an error at
    // the one past the cap.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("m")).unwrap();
    std::fs::write(root.path().join("m/001.sql"), "SELECT 1;\n").unwrap();
    let patterns: Vec<String> = (0..20_000).map(|i| format!("\"d{i}/**\"")).collect();
    std::fs::write(
        root.path().join("twice.toml"),
        format!("exclude = [\n{}\n]\n", patterns.join(",\n")),
    )
    .unwrap();
    let (code, _, err) = twice_in(root.path(), &["check", "--no-replay", "m"]);
    assert_eq!(code, 2, "{err}");
    // 64 KiB is passed by the pattern on line 8,332 (`"d8330/**"`).
    assert!(
        err.contains("twice.toml:8332:")
            && err.contains("`exclude`: the patterns add up to more than 64 KiB"),
        "{err}"
    );
}

fn error_fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir("fixtures/config/errors")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_config_error_exits_2_naming_file_line_and_key() {
    let crate_root = Path::new(".");
    let mut transcript = String::new();
    for path in error_fixtures() {
        let name = path.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{name}: first line must be `# expect: ...`"));
        let (code, stdout, stderr) = twice_in(
            crate_root,
            &[
                "check",
                "--no-replay",
                "--config",
                &name,
                "fixtures/config/project/db",
            ],
        );
        assert_eq!(code, 2, "{name}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{name}: printed {stdout}");
        assert!(
            stderr.starts_with(&format!("error: {name}:")),
            "{name}: the message must start with the file and line: {stderr}"
        );
        assert!(
            stderr.contains(expect),
            "{name}: expected `{expect}` in {stderr}"
        );
        transcript.push_str(&format!("$ twice check --config {name}\n{stderr}\n"));
    }
    snapshot!(
        "every_config_error_exits_2_naming_file_line_and_key",
        transcript
    );
}

#[test]
fn unreadable_configs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(String, &str)> = {
        let bad_utf8 = dir.path().join("latin1.toml");
        std::fs::write(&bad_utf8, b"dialect = \"caf\xe9\"\n").unwrap();
        vec![
            (bad_utf8.to_string_lossy().into_owned(), "not valid UTF-8"),
            (
                dir.path()
                    .join("missing.toml")
                    .to_string_lossy()
                    .into_owned(),
                "no such file or folder (given with --config)",
            ),
            (
                dir.path().to_string_lossy().into_owned(),
                "is a folder; --config takes a file",
            ),
        ]
    };
    for (path, expect) in cases {
        let (code, _, err) = twice_in(
            Path::new("."),
            &[
                "check",
                "--no-replay",
                "--config",
                &path,
                "fixtures/config/project/db",
            ],
        );
        assert_eq!(code, 2, "{path}: {err}");
        assert!(err.contains(&path) && err.contains(expect), "{path}: {err}");
    }
}

/// What turns the replay sandbox off (`database_url_trusted = true`) or
/// copies another database's data into the scratch databases (a `template`
/// other than template0/template1) is not taken from twice.toml, which may
/// come from the pull request being checked: exit 2 naming the flag.
#[test]
fn the_sandbox_is_not_turned_off_from_twice_toml() {
    for (text, flag) in [
        (
            "[replay]\ndatabase_url_trusted = true\n",
            "--database-url-trusted",
        ),
        ("[replay]\ntemplate = \"prod\"\n", "--template prod"),
    ] {
        let err = config::parse("twice.toml", Path::new("proj"), text)
            .err()
            .unwrap_or_else(|| panic!("{text} was taken"));
        let msg = err.to_string();
        assert!(msg.contains(flag) && msg.contains("pull request"), "{msg}");
    }
    let c = config::parse(
        "twice.toml",
        Path::new("proj"),
        "[replay]\ntemplate = \"template1\"\n",
    )
    .unwrap();
    let (opts, _) = check_options(
        &args(&["--database-url-trusted", "--template", "tpl"]),
        Some(&c),
    );
    assert!(opts.database_url_trusted);
    assert_eq!(opts.template.as_deref(), Some("tpl"));
}

/// Setup scripts: one for every sequence, or one per sequence folder; paths
/// are relative to the config file's folder; `--setup` replaces them.
#[test]
fn setup_scripts_from_the_file_and_the_flag() {
    use twice::replay::setup::SetupScript;
    let c = config::parse(
        "twice.toml",
        Path::new("proj"),
        "[replay]\nsetup = \"db/prereqs.sql\"\ntemplate = \"template0\"\ndatabase_url_trusted = false\n",
    )
    .unwrap();
    assert_eq!(
        c.setup,
        vec![SetupScript {
            path: PathBuf::from("proj/db/prereqs.sql"),
            sequence: None,
            within: Some(PathBuf::from("proj")),
        }]
    );
    let (opts, _) = check_options(&args(&[]), Some(&c));
    assert_eq!(opts.setup, c.setup);
    assert_eq!(opts.template.as_deref(), Some("template0"));
    assert!(!opts.database_url_trusted);
    let (opts, _) = check_options(
        &args(&["--setup", "other.sql", "--template", "t2"]),
        Some(&c),
    );
    assert_eq!(
        opts.setup,
        vec![SetupScript {
            path: PathBuf::from("other.sql"),
            sequence: None,
            within: None,
        }]
    );
    assert_eq!(opts.template.as_deref(), Some("t2"));

    let c = config::parse(
        "twice.toml",
        Path::new("proj"),
        "[[replay.setup]]\npath = \"a.sql\"\nsequence = \"db/one\"\n\n\
         [[replay.setup]]\npath = \"b.sql\"\n",
    )
    .unwrap();
    assert_eq!(
        c.setup,
        vec![
            SetupScript {
                path: PathBuf::from("proj/a.sql"),
                sequence: Some(PathBuf::from("proj/db/one")),
                within: Some(PathBuf::from("proj")),
            },
            SetupScript {
                path: PathBuf::from("proj/b.sql"),
                sequence: None,
                within: Some(PathBuf::from("proj")),
            }
        ]
    );
}
