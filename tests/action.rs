#![cfg(unix)]
//! The GitHub Action and the pre-commit hook: both manifests parse and have
//! what GitHub and pre-commit need, and the action's script
//! (scripts/twice-action.sh) runs against fixture folders with the twice
//! built for these tests on PATH, as a runner would run it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn load_yaml(path: &str) -> Yaml {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(docs.len(), 1, "{path}: one YAML document");
    docs.remove(0)
}

fn s<'a>(y: &'a Yaml, key: &str) -> &'a str {
    y[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {y:?}"))
}

#[test]
fn pre_commit_manifest_has_a_static_twice_hook_on_sql_files() {
    let hooks = load_yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_vec().expect("a list of hooks");
    let ids: Vec<&str> = hooks.iter().map(|h| s(h, "id")).collect();
    assert!(ids.contains(&"twice"), "{ids:?}");
    for h in hooks {
        // The keys pre-commit requires of every hook.
        for key in ["id", "name", "entry", "language"] {
            assert!(!s(h, key).is_empty(), "{key} in {h:?}");
        }
        assert_eq!(s(h, "language"), "rust");
        assert!(s(h, "entry").starts_with("twice check"));
        let files = s(h, "files");
        assert_eq!(files, r"\.sql$");
    }
    let twice = hooks.iter().find(|h| s(h, "id") == "twice").unwrap();
    let args: Vec<&str> = twice["args"]
        .as_vec()
        .expect("args")
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(args, vec!["--no-replay"], "static only by default");
    assert!(
        twice["pass_filenames"].is_badvalue() || twice["pass_filenames"].as_bool() == Some(true),
        "the static hook gets the staged file names"
    );
}

#[test]
fn the_pre_commit_hook_command_checks_the_files_it_is_given() {
    // What pre-commit runs: entry + args + the staged file names.
    let hooks = load_yaml(".pre-commit-hooks.yaml");
    let twice = hooks
        .as_vec()
        .unwrap()
        .iter()
        .find(|h| s(h, "id") == "twice")
        .unwrap()
        .clone();
    let mut argv: Vec<String> = s(&twice, "entry")
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect();
    argv.extend(
        twice["args"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str().map(String::from)),
    );
    let run = |files: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_twice"))
            .args(&argv)
            .args(files)
            .env_remove("GITHUB_ACTIONS")
            .output()
            .unwrap()
    };
    let clean = run(&["fixtures/action/clean/001_select.sql"]);
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    let dirty = run(&[
        "fixtures/action/clean/001_select.sql",
        "fixtures/action/dirty/001_stale.sql",
    ]);
    assert_eq!(dirty.status.code(), Some(1), "{dirty:?}");
    assert!(String::from_utf8_lossy(&dirty.stdout).contains("unused-suppression"));
}

/// Every `${{ inputs.X }}` names a declared input, every `steps.ID` a step
/// with that id.
fn expressions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${{") {
        let after = &rest[i + 3..];
        let end = after.find("}}").expect("closed expression");
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

#[test]
fn action_manifest_is_a_composite_action_with_the_documented_inputs() {
    let text = std::fs::read_to_string("action.yml").unwrap();
    let a = load_yaml("action.yml");
    assert!(!s(&a, "name").is_empty());
    assert!(!s(&a, "description").is_empty());
    assert_eq!(s(&a["runs"], "using"), "composite");

    let inputs: BTreeSet<String> = a["inputs"]
        .as_hash()
        .expect("inputs")
        .keys()
        .filter_map(|k| k.as_str().map(String::from))
        .collect();
    for want in [
        "paths",
        "args",
        "version",
        "install",
        "upload-sarif",
        "sarif-file",
        "category",
        "working-directory",
    ] {
        assert!(inputs.contains(want), "input {want} missing: {inputs:?}");
        let input = &a["inputs"][want];
        assert!(
            !s(input, "description").is_empty(),
            "{want} needs a description"
        );
        assert!(!input["default"].is_badvalue(), "{want} needs a default");
    }

    let steps = a["runs"]["steps"].as_vec().expect("steps");
    let ids: BTreeSet<&str> = steps.iter().filter_map(|st| st["id"].as_str()).collect();
    for expr in expressions(&text) {
        for word in expr.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_'))
        {
            if let Some(name) = word.strip_prefix("inputs.") {
                assert!(inputs.contains(name), "`{expr}` names an unknown input");
            }
            if let Some(rest) = word.strip_prefix("steps.") {
                let id = rest.split('.').next().unwrap();
                assert!(ids.contains(id), "`{expr}` names an unknown step");
            }
        }
    }

    // Composite run steps need a shell; the scripts they call exist.
    let mut uses = Vec::new();
    for st in steps {
        if let Some(run) = st["run"].as_str() {
            assert!(st["shell"].as_str().is_some(), "step without shell: {st:?}");
            if let Some(i) = run.find("$GITHUB_ACTION_PATH/") {
                let rel: String = run[i + "$GITHUB_ACTION_PATH/".len()..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect();
                assert!(Path::new(&rel).is_file(), "{rel} does not exist");
            }
        } else {
            uses.push(s(st, "uses").to_string());
        }
    }
    assert_eq!(uses, vec!["github/codeql-action/upload-sarif@v3"]);
    let upload = steps
        .iter()
        .find(|st| st["uses"].as_str().is_some())
        .unwrap();
    assert!(s(upload, "if").contains("inputs.upload-sarif == 'true'"));
    assert!(s(&upload["with"], "sarif_file").contains("steps.run.outputs.sarif-file"));

    // The last step fails the job by twice's exit code.
    let last = steps.last().unwrap();
    assert!(s(last, "if").contains("steps.run.outputs.exit-code != '0'"));
    assert!(s(last, "run").contains("exit \"${TWICE_EXIT_CODE"));
    for out in ["exit-code", "sarif-file"] {
        assert!(
            s(&a["outputs"][out], "value").contains(&format!("steps.run.outputs.{out}")),
            "output {out}"
        );
    }
}

/// A sandbox for the script: a PATH with the test build of twice (or not),
/// GITHUB_OUTPUT and GITHUB_PATH files, GITHUB_ACTIONS set.
struct Runner {
    dir: tempfile::TempDir,
    path: String,
}

impl Runner {
    fn new(with_twice: bool) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        if with_twice {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_twice"), bin.join("twice")).unwrap();
        }
        // Only system folders besides ours, so no other twice is found.
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
        Runner { dir, path }
    }

    fn output_file(&self) -> PathBuf {
        self.dir.path().join("github_output")
    }

    fn run(&self, sub: &str, env: &[(&str, &str)]) -> (i32, String, String) {
        let mut cmd = Command::new("bash");
        cmd.arg("scripts/twice-action.sh")
            .arg(sub)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", self.dir.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", self.output_file())
            .env("GITHUB_PATH", self.dir.path().join("github_path"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The step outputs written so far, as name=value lines.
    fn outputs(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(self.output_file())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

#[test]
fn script_run_passes_on_a_clean_folder_and_fails_on_findings() {
    let r = Runner::new(true);
    let (code, out, err) = r.run("run", &[("INPUT_PATHS", "fixtures/action/clean")]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(r.outputs(), vec![("exit-code".into(), "0".into())]);

    let r = Runner::new(true);
    let (code, out, err) = r.run(
        "run",
        &[(
            "INPUT_PATHS",
            "fixtures/action/clean\nfixtures/action/dirty",
        )],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("unused-suppression"), "{out}");
    assert!(err.contains("twice exited with code 1"), "{err}");
    assert_eq!(r.outputs(), vec![("exit-code".into(), "1".into())]);
}

#[test]
fn script_run_passes_args_split_like_a_shell() {
    let r = Runner::new(true);
    // --fail-on never turns the warning into a pass; the quoted path with a
    // blank stays one path.
    let (code, out, err) = r.run(
        "run",
        &[
            (
                "INPUT_PATHS",
                "fixtures/action/dirty \"fixtures/action/clean/with space\"",
            ),
            ("INPUT_ARGS", "--no-replay  --fail-on 'never'"),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("+ twice check --no-replay --fail-on never"),
        "{err}"
    );

    let (code, _, err) = r.run("run", &[("INPUT_ARGS", "--dialect 'postgres")]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot split"), "{err}");

    // A bad flag is twice's exit code 2, reported as the step's outcome.
    let r = Runner::new(true);
    let (code, _, _) = r.run(
        "run",
        &[
            ("INPUT_ARGS", "--no-such-flag"),
            ("INPUT_PATHS", "fixtures/action/clean"),
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(r.outputs(), vec![("exit-code".into(), "2".into())]);
}

#[test]
fn script_run_can_leave_failing_to_a_later_step() {
    let r = Runner::new(true);
    let (code, _, err) = r.run(
        "run",
        &[
            ("INPUT_PATHS", "fixtures/action/dirty"),
            ("TWICE_ACTION_DEFER_EXIT", "1"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(r.outputs(), vec![("exit-code".into(), "1".into())]);
}

#[test]
fn script_run_writes_sarif_when_asked() {
    let r = Runner::new(true);
    let sarif = r.dir.path().join("out.sarif");
    let (code, out, err) = r.run(
        "run",
        &[
            ("INPUT_PATHS", "fixtures/action/dirty"),
            ("INPUT_ARGS", "--format json"),
            ("INPUT_UPLOAD_SARIF", "true"),
            ("INPUT_SARIF_FILE", sarif.to_str().unwrap()),
        ],
    );
    // The user's --format applies to the log; exit code from that run.
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.trim_start().starts_with('{'), "{out}");
    let outputs = r.outputs();
    assert_eq!(outputs[0], ("exit-code".into(), "1".into()));
    let sarif_supported = Command::new(env!("CARGO_BIN_EXE_twice"))
        .args([
            "check",
            "--format",
            "sarif",
            "--no-replay",
            "fixtures/action/clean",
        ])
        .output()
        .unwrap()
        .status
        .code()
        != Some(2);
    if sarif_supported {
        assert_eq!(
            outputs.get(1),
            Some(&(
                "sarif-file".to_string(),
                sarif.to_string_lossy().into_owned()
            ))
        );
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
        assert_eq!(doc["version"], "2.1.0");
        assert!(doc["runs"][0]["results"]
            .as_array()
            .is_some_and(|r| !r.is_empty()));
    } else {
        // A twice without SARIF: no file and no upload, the check's own
        // result stands.
        assert_eq!(outputs.len(), 1, "{outputs:?}");
        assert!(!sarif.exists());
        assert!(err.contains("could not write the SARIF report"), "{err}");
    }
}

#[test]
fn script_run_says_when_twice_is_missing() {
    let r = Runner::new(false);
    let (code, _, err) = r.run("run", &[("INPUT_PATHS", "fixtures/action/clean")]);
    assert_eq!(code, 2);
    assert!(err.contains("twice is not on PATH"), "{err}");
    let (code, _, err) = r.run("deploy", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("usage:"), "{err}");
}

/// A local git repository with a tag and a branch, to stand for the
/// action's repository.
fn git_repo(dir: &Path) -> String {
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README"), "x").unwrap();
    git(&["add", "README"]);
    git(&["commit", "-q", "-m", "x"]);
    git(&["tag", "v9.9.9"]);
    git(&["branch", "next"]);
    dir.to_string_lossy().into_owned()
}

#[test]
fn script_install_picks_path_tag_branch_or_commit() {
    let r = Runner::new(false);
    let repo_dir = tempfile::tempdir().unwrap();
    let url = git_repo(repo_dir.path());
    let install = |version: &str, extra: &[(&str, &str)]| {
        let mut env = vec![
            ("TWICE_ACTION_DRY_RUN", "1"),
            ("INPUT_VERSION", version),
            ("TWICE_ACTION_REPO_URL", url.as_str()),
        ];
        env.extend_from_slice(extra);
        r.run("install", &env)
    };
    let here = std::env::current_dir().unwrap();
    let (code, out, err) = install("", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        format!("cargo install --locked --force --path {}", here.display())
    );
    let action = tempfile::tempdir().unwrap();
    let action_path = action.path().to_str().unwrap();
    let (code, _, err) = install("", &[("GITHUB_ACTION_PATH", action_path)]);
    assert_eq!(code, 2);
    assert!(err.contains("no Cargo.toml"), "{err}");
    std::fs::write(action.path().join("Cargo.toml"), "").unwrap();
    let (_, out, _) = install("", &[("GITHUB_ACTION_PATH", action_path)]);
    assert_eq!(
        out.trim(),
        format!("cargo install --locked --force --path {action_path}")
    );
    let (_, out, _) = install("v9.9.9", &[]);
    assert_eq!(
        out.trim(),
        format!("cargo install --locked --force --git {url} --tag v9.9.9 twice")
    );
    let (_, out, _) = install("next", &[]);
    assert_eq!(
        out.trim(),
        format!("cargo install --locked --force --git {url} --branch next twice")
    );
    let (_, out, _) = install("0123abcd", &[]);
    assert_eq!(
        out.trim(),
        format!("cargo install --locked --force --git {url} --rev 0123abcd twice")
    );
    let (code, _, err) = install("no-such-ref", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a commit, tag or branch"), "{err}");
}
