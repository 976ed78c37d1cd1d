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

/// The package version in Cargo.toml (what the wheel, the crate and the
/// release tag are numbered by).
fn cargo_version() -> String {
    let text = std::fs::read_to_string("Cargo.toml").unwrap();
    let table: toml::Table = text.parse().unwrap();
    table["package"]["version"].as_str().unwrap().to_string()
}

#[test]
fn pre_commit_manifest_has_static_twice_hooks_on_sql_files() {
    let hooks = load_yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_vec().expect("a list of hooks");
    let ids: Vec<&str> = hooks.iter().map(|h| s(h, "id")).collect();
    for want in ["twice", "twice-replay", "twice-py", "twice-replay-py"] {
        assert!(ids.contains(&want), "{want} missing: {ids:?}");
    }
    let version = cargo_version();
    for h in hooks {
        // The keys pre-commit requires of every hook.
        for key in ["id", "name", "entry", "language"] {
            assert!(!s(h, key).is_empty(), "{key} in {h:?}");
        }
        assert!(s(h, "entry").starts_with("twice check"));
        let files = s(h, "files");
        assert_eq!(files, r"\.sql$");
        match s(h, "language") {
            "rust" => {
                assert!(!s(h, "id").ends_with("-py"), "{h:?}");
                assert!(h["additional_dependencies"].is_badvalue(), "{h:?}");
            }
            "python" => {
                // The wheel of this very version, from PyPI: no build.
                assert!(s(h, "id").ends_with("-py"), "{h:?}");
                let deps: Vec<&str> = h["additional_dependencies"]
                    .as_vec()
                    .expect("additional_dependencies")
                    .iter()
                    .filter_map(Yaml::as_str)
                    .collect();
                assert_eq!(deps, vec![format!("twice-sql=={version}")], "{h:?}");
            }
            other => panic!("unexpected language {other} in {h:?}"),
        }
    }
    for id in ["twice", "twice-py"] {
        let hook = hooks.iter().find(|h| s(h, "id") == id).unwrap();
        let args: Vec<&str> = hook["args"]
            .as_vec()
            .expect("args")
            .iter()
            .filter_map(Yaml::as_str)
            .collect();
        assert_eq!(args, vec!["--no-replay"], "{id}: static only by default");
        assert!(
            hook["pass_filenames"].is_badvalue() || hook["pass_filenames"].as_bool() == Some(true),
            "{id}: the static hook gets the staged file names"
        );
    }
    // The Python hooks mirror the Rust ones, key for key.
    for (rust, py) in [("twice", "twice-py"), ("twice-replay", "twice-replay-py")] {
        let r = hooks.iter().find(|h| s(h, "id") == rust).unwrap();
        let p = hooks.iter().find(|h| s(h, "id") == py).unwrap();
        for key in ["entry", "args", "files", "pass_filenames", "require_serial"] {
            assert_eq!(r[key], p[key], "{rust} vs {py}: {key}");
        }
    }
}

/// README, docs and the hooks name the published package and the current
/// version, not the crate name `twice` (another program on crates.io).
#[test]
fn install_instructions_name_the_twice_sql_package_and_this_version() {
    let version = cargo_version();
    let readme = std::fs::read_to_string("README.md").unwrap();
    for want in [
        "cargo install --locked twice-sql".to_string(),
        "pip install twice-sql".to_string(),
        "pipx run twice-sql".to_string(),
        "uvx twice-sql".to_string(),
        format!("twice-sql=={version}"),
        format!("twice-sql/twice@v{version}"),
        format!("rev: v{version}"),
    ] {
        assert!(readme.contains(&want), "README.md does not say `{want}`");
    }
    for (file, text) in [
        ("README.md", readme.as_str()),
        (
            "docs/release.md",
            &std::fs::read_to_string("docs/release.md").unwrap(),
        ),
        (
            "action.yml",
            &std::fs::read_to_string("action.yml").unwrap(),
        ),
        (
            "scripts/twice-action.sh",
            &std::fs::read_to_string("scripts/twice-action.sh").unwrap(),
        ),
    ] {
        for bad in [
            "cargo install twice\n",
            "cargo install twice ",
            "pip install twice\n",
            "pip install twice ",
        ] {
            assert!(!text.contains(bad), "{file} says `{}`", bad.trim());
        }
    }
    // The wheel (python/) and the pre-commit shim (the root, which
    // pre-commit installs with pip: it must build nothing).
    let py: toml::Table = std::fs::read_to_string("python/pyproject.toml")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(py["project"]["name"].as_str(), Some("twice-sql"));
    assert_eq!(py["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    assert_eq!(
        py["tool"]["maturin"]["manifest-path"].as_str(),
        Some("../Cargo.toml")
    );
    let shim: toml::Table = std::fs::read_to_string("pyproject.toml")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        shim["build-system"]["build-backend"].as_str(),
        Some("setuptools.build_meta")
    );
    assert!(shim["project"].get("dependencies").is_none());
    let cargo: toml::Table = std::fs::read_to_string("Cargo.toml")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(cargo["package"]["name"].as_str(), Some("twice-sql"));
    assert_eq!(cargo["lib"]["name"].as_str(), Some("twice"));
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
        "since",
        "format",
        "fail-on",
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
    assert_eq!(
        uses,
        vec!["actions/cache@v5", "github/codeql-action/upload-sarif@v3"]
    );
    // The cache sits between resolving (which gives its key and folder) and
    // installing (which skips the download when the cache was restored).
    let position = |pred: &dyn Fn(&Yaml) -> bool| steps.iter().position(pred).unwrap();
    let resolve = position(&|st| st["id"].as_str() == Some("resolve"));
    let cache = position(&|st| st["uses"].as_str() == Some("actions/cache@v5"));
    let install = position(&|st| st["id"].as_str() == Some("install"));
    assert!(
        resolve < cache && cache < install,
        "{resolve} {cache} {install}"
    );
    assert!(s(&steps[resolve], "run").ends_with("twice-action.sh\" resolve"));
    assert!(s(&steps[install], "run").ends_with("twice-action.sh\" install"));
    assert_eq!(
        s(&steps[cache]["with"], "key"),
        "${{ steps.resolve.outputs.key }}"
    );
    assert_eq!(
        s(&steps[cache]["with"], "path"),
        "${{ steps.resolve.outputs.dir }}"
    );
    for i in [resolve, cache, install] {
        assert_eq!(s(&steps[i], "if"), "inputs.install == 'true'");
    }
    // Every input reaches the script that uses it.
    let run = steps
        .iter()
        .find(|st| st["id"].as_str() == Some("run"))
        .unwrap();
    for (var, input) in [
        ("INPUT_PATHS", "paths"),
        ("INPUT_SINCE", "since"),
        ("INPUT_FORMAT", "format"),
        ("INPUT_FAIL_ON", "fail-on"),
        ("INPUT_ARGS", "args"),
    ] {
        assert_eq!(s(&run["env"], var), format!("${{{{ inputs.{input} }}}}"));
    }
    assert_eq!(s(&a["inputs"]["since"], "default"), "auto");
    let upload = steps
        .iter()
        .find(|st| {
            st["uses"]
                .as_str()
                .is_some_and(|u| u.contains("upload-sarif"))
        })
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
fn script_install_falls_back_to_cargo_for_path_tag_branch_or_commit() {
    let r = Runner::new(false);
    let repo_dir = tempfile::tempdir().unwrap();
    let url = git_repo(repo_dir.path());
    // No release assets at all: every version falls back to cargo.
    let releases = tempfile::tempdir().unwrap();
    let release_url = format!("file://{}", releases.path().display());
    let dir = r.dir.path().join("install");
    let dir_s = dir.to_str().unwrap().to_string();
    let install = |version: &str, extra: &[(&str, &str)]| {
        let mut env = vec![
            ("TWICE_ACTION_DRY_RUN", "1"),
            ("INPUT_VERSION", version),
            ("TWICE_ACTION_REPO_URL", url.as_str()),
            ("TWICE_ACTION_RELEASE_URL", release_url.as_str()),
            ("TWICE_ACTION_INSTALL_DIR", dir_s.as_str()),
            ("TWICE_ACTION_TARGET", "x86_64-unknown-linux-musl"),
        ];
        env.extend_from_slice(extra);
        r.run("install", &env)
    };
    let here = std::env::current_dir().unwrap();
    let version = cargo_version();
    // Empty: the release of the action's own version; there is none, so
    // the action's checkout is built.
    let (code, out, err) = install("", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("no release binary at {release_url}/v{version}/twice-sql-v{version}-x86_64-unknown-linux-musl.tar.gz")),
        "{err}"
    );
    assert!(err.contains("building twice-sql"), "{err}");
    assert_eq!(
        out.trim(),
        format!(
            "cargo install --locked --force --root {dir_s} --path {}",
            here.display()
        )
    );
    let (_, out, _) = install("source", &[]);
    assert_eq!(
        out.trim(),
        format!(
            "cargo install --locked --force --root {dir_s} --path {}",
            here.display()
        )
    );
    let action = tempfile::tempdir().unwrap();
    let action_path = action.path().to_str().unwrap();
    let (code, _, err) = install("", &[("GITHUB_ACTION_PATH", action_path)]);
    assert_eq!(code, 2);
    assert!(err.contains("no Cargo.toml"), "{err}");
    std::fs::write(
        action.path().join("Cargo.toml"),
        "[package]\nname = \"twice-sql\"\nversion = \"9.8.7\"\n",
    )
    .unwrap();
    let (_, out, err) = install("", &[("GITHUB_ACTION_PATH", action_path)]);
    assert!(err.contains("/v9.8.7/twice-sql-v9.8.7-"), "{err}");
    assert_eq!(
        out.trim(),
        format!("cargo install --locked --force --root {dir_s} --path {action_path}")
    );
    // A release number: that crate from crates.io.
    for v in ["v9.9.9", "9.9.9"] {
        let (_, out, _) = install(v, &[]);
        assert_eq!(
            out.trim(),
            format!("cargo install --locked --force --root {dir_s} twice-sql --version =9.9.9")
        );
    }
    let (_, out, _) = install("v1.0.0-rc.1", &[]);
    assert!(
        out.trim().ends_with("twice-sql --version =1.0.0-rc.1"),
        "{out}"
    );
    // Anything else is a git ref of the action's repository.
    let (_, out, _) = install("next", &[]);
    assert_eq!(
        out.trim(),
        format!(
            "cargo install --locked --force --root {dir_s} --git {url} --branch next twice-sql"
        )
    );
    let (_, out, _) = install("0123abcd", &[]);
    assert_eq!(
        out.trim(),
        format!(
            "cargo install --locked --force --root {dir_s} --git {url} --rev 0123abcd twice-sql"
        )
    );
    let (code, _, err) = install("no-such-ref", &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("is not a release (X.Y.Z), a commit, a tag or a branch"),
        "{err}"
    );
    // Without cargo and without a release there is nothing to install with
    // (the Runner's PATH has only system folders besides its own).
    if !["/usr/local/bin/cargo", "/usr/bin/cargo", "/bin/cargo"]
        .iter()
        .any(|c| Path::new(c).exists())
    {
        let (code, _, err) = install("9.9.9", &[("TWICE_ACTION_DRY_RUN", "0")]);
        assert_eq!(code, 2);
        assert!(err.contains("cargo is not installed"), "{err}");
        assert!(!dir.exists());
    }
}

/// A folder laid out like GitHub's release downloads, holding one archive
/// of `twice-sql-v{version}-{target}` with an executable `twice` in it.
struct FakeRelease {
    dir: tempfile::TempDir,
}

impl FakeRelease {
    fn new(version: &str, target: &str, binary: &str) -> FakeRelease {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("twice-sql-v{version}-{target}");
        let stage = dir.path().join("stage").join(&name);
        std::fs::create_dir_all(&stage).unwrap();
        let bin = stage.join("twice");
        std::fs::write(&bin, binary).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tag = dir.path().join(format!("v{version}"));
        std::fs::create_dir_all(&tag).unwrap();
        let archive = tag.join(format!("{name}.tar.gz"));
        let out = Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .arg("-C")
            .arg(dir.path().join("stage"))
            .arg(&name)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let bytes = std::fs::read(&archive).unwrap();
        let sum = sha256_hex(&bytes);
        std::fs::write(
            tag.join(format!("{name}.tar.gz.sha256")),
            format!("{sum}  {name}.tar.gz\n"),
        )
        .unwrap();
        FakeRelease { dir }
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    fn asset(&self, version: &str, target: &str, ext: &str) -> PathBuf {
        self.dir
            .path()
            .join(format!("v{version}"))
            .join(format!("twice-sql-v{version}-{target}.{ext}"))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const FAKE_TWICE: &str = "#!/bin/sh\necho \"twice 9.9.9 (from the fake release)\"\n";
const TARGET: &str = "x86_64-unknown-linux-musl";

#[test]
fn script_install_downloads_verifies_and_reuses_the_release_binary() {
    let release = FakeRelease::new("9.9.9", TARGET, FAKE_TWICE);
    let r = Runner::new(false);
    let dir = r.dir.path().join("tool-cache");
    let url = release.url();
    let env = [
        ("INPUT_VERSION", "9.9.9"),
        ("TWICE_ACTION_RELEASE_URL", url.as_str()),
        ("TWICE_ACTION_INSTALL_DIR", dir.to_str().unwrap()),
        ("TWICE_ACTION_TARGET", TARGET),
    ];
    let (code, out, err) = r.run("install", &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("verified twice-sql-v9.9.9-x86_64-unknown-linux-musl.tar.gz"),
        "{err}"
    );
    assert!(
        err.contains("twice: release v9.9.9 for x86_64-unknown-linux-musl"),
        "{err}"
    );
    assert_eq!(out.trim(), "twice 9.9.9 (from the fake release)");
    assert_eq!(
        std::fs::read_to_string(dir.join("bin/twice")).unwrap(),
        FAKE_TWICE
    );
    let path_file = std::fs::read_to_string(r.dir.path().join("github_path")).unwrap();
    assert_eq!(path_file.trim(), dir.join("bin").to_str().unwrap());
    assert!(r
        .outputs()
        .contains(&("dir".to_string(), dir.to_str().unwrap().to_string())));

    // Restored from the cache: no download (the release is gone).
    std::fs::remove_file(release.asset("9.9.9", TARGET, "tar.gz")).unwrap();
    let (code, out, err) = r.run("install", &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("twice: cached in"), "{err}");
    assert!(!err.contains("verified"), "{err}");
    assert_eq!(out.trim(), "twice 9.9.9 (from the fake release)");
}

#[test]
fn script_install_refuses_a_download_that_does_not_match_its_checksum() {
    let release = FakeRelease::new("9.9.9", TARGET, FAKE_TWICE);
    let sum = release.asset("9.9.9", TARGET, "tar.gz.sha256");
    let r = Runner::new(false);
    let dir = r.dir.path().join("tool-cache");
    let url = release.url();
    let env = [
        ("INPUT_VERSION", "v9.9.9"),
        ("TWICE_ACTION_RELEASE_URL", url.as_str()),
        ("TWICE_ACTION_INSTALL_DIR", dir.to_str().unwrap()),
        ("TWICE_ACTION_TARGET", TARGET),
        // Were it to fall back, this would show.
        ("TWICE_ACTION_DRY_RUN", "1"),
    ];
    std::fs::write(&sum, format!("{}  x.tar.gz\n", "0".repeat(64))).unwrap();
    let (code, out, err) = r.run("install", &env);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(
        err.contains(&format!("expected {}", "0".repeat(64))),
        "{err}"
    );
    assert!(out.is_empty(), "no cargo fallback: {out}");
    assert!(!dir.join("bin").exists());

    std::fs::remove_file(&sum).unwrap();
    let (code, out, err) = r.run("install", &env);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("cannot be verified"), "{err}");
    assert!(!dir.join("bin").exists());
}

#[test]
fn script_resolve_names_the_binary_for_each_runner_and_a_stable_cache_key() {
    let r = Runner::new(false);
    let version = cargo_version();
    for (os, arch, target) in [
        ("Linux", "X64", "x86_64-unknown-linux-musl"),
        ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
        ("macOS", "X64", "x86_64-apple-darwin"),
        ("macOS", "ARM64", "aarch64-apple-darwin"),
        ("Windows", "X64", "x86_64-pc-windows-msvc"),
    ] {
        let r = Runner::new(false);
        let env = [
            ("RUNNER_OS", os),
            ("RUNNER_ARCH", arch),
            ("RUNNER_TOOL_CACHE", "/opt/hostedtoolcache"),
        ];
        let (code, out, err) = r.run("resolve", &env);
        assert_eq!(code, 0, "{out}{err}");
        let key = format!("twice-sql-v{version}-{target}");
        assert_eq!(
            r.outputs(),
            vec![
                ("key".to_string(), key.clone()),
                (
                    "dir".to_string(),
                    format!("/opt/hostedtoolcache/twice-sql/{key}")
                ),
                ("target".to_string(), target.to_string()),
                ("version".to_string(), version.clone()),
            ]
        );
    }
    // A source build is keyed by what it builds from.
    let (code, out, err) = r.run(
        "resolve",
        &[("INPUT_VERSION", "source"), ("TWICE_ACTION_TARGET", TARGET)],
    );
    assert_eq!(code, 0, "{out}{err}");
    let first = r.outputs()[0].1.clone();
    assert!(
        first.starts_with(&format!("twice-sql-src-{version}-")),
        "{first}"
    );
    assert!(first.ends_with(TARGET), "{first}");
    let (_, _, _) = r.run(
        "resolve",
        &[("INPUT_VERSION", "source"), ("TWICE_ACTION_TARGET", TARGET)],
    );
    assert_eq!(r.outputs()[4].1, first, "same tree, same key");
}

/// A `twice` on PATH that prints the arguments it was given, one a line.
fn echo_runner() -> Runner {
    let r = Runner::new(false);
    let bin = r.dir.path().join("bin/twice");
    std::fs::write(&bin, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    r
}

fn git(dir: &Path, args: &[&str]) {
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
}

#[test]
fn script_run_passes_since_format_and_fail_on() {
    // The project: a clone whose origin has `main` (the pull request's base)
    // and nothing fetched yet, as a shallow pull_request checkout may be.
    let origin = tempfile::tempdir().unwrap();
    git_repo(origin.path());
    let work = tempfile::tempdir().unwrap();
    git(work.path(), &["init", "-q", "-b", "topic"]);
    let origin_url = format!("file://{}", origin.path().display());
    git(work.path(), &["remote", "add", "origin", &origin_url]);
    std::fs::write(work.path().join("1.sql"), "select 1;\n").unwrap();

    let r = echo_runner();
    let script = std::env::current_dir()
        .unwrap()
        .join("scripts/twice-action.sh");
    let run = |env: &[(&str, &str)]| {
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .arg("run")
            .current_dir(work.path())
            .env_clear()
            .env("PATH", &r.path)
            .env("HOME", r.dir.path())
            .env("GITHUB_ACTIONS", "true")
            .env("INPUT_PATHS", "1.sql");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let args: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        (args, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let pr = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_BASE_REF", "main"),
    ];

    // auto (the default) on a pull request: the base branch, fetched.
    let (args, err) = run(&pr);
    assert_eq!(
        args,
        ["check", "--since", "origin/main", "--", "1.sql"],
        "{err}"
    );
    // ... and now that it is there, without fetching.
    let (args, _) = run(&[pr[0], pr[1], ("INPUT_SINCE", "auto")]);
    assert_eq!(args, ["check", "--since", "origin/main", "--", "1.sql"]);
    // Not a pull request, or "none": every migration.
    let (args, _) = run(&[("GITHUB_EVENT_NAME", "push")]);
    assert_eq!(args, ["check", "--", "1.sql"]);
    let (args, _) = run(&[pr[0], pr[1], ("INPUT_SINCE", "none")]);
    assert_eq!(args, ["check", "--", "1.sql"]);
    // A base branch that cannot be fetched: everything, with a warning.
    let (args, err) = run(&[pr[0], ("GITHUB_BASE_REF", "gone"), ("INPUT_SINCE", "auto")]);
    assert_eq!(args, ["check", "--", "1.sql"]);
    assert!(err.contains("cannot fetch the base branch gone"), "{err}");
    // An explicit ref, the format and fail-on inputs, and args after them.
    let (args, err) = run(&[
        ("INPUT_SINCE", "v9.9.9"),
        ("INPUT_FORMAT", "json"),
        ("INPUT_FAIL_ON", "error"),
        ("INPUT_ARGS", "--no-replay"),
    ]);
    assert_eq!(
        args,
        [
            "check",
            "--format",
            "json",
            "--fail-on",
            "error",
            "--since",
            "v9.9.9",
            "--no-replay",
            "--",
            "1.sql"
        ]
    );
    assert!(
        err.contains(
            "+ twice check --format json --fail-on error --since v9.9.9 --no-replay 1.sql"
        ),
        "{err}"
    );
    // The SARIF run keeps since and fail-on but not the log's format.
    let sarif = r.dir.path().join("x.sarif");
    let (args, _) = run(&[
        ("INPUT_SINCE", "v9.9.9"),
        ("INPUT_FORMAT", "json"),
        ("INPUT_UPLOAD_SARIF", "true"),
        ("INPUT_SARIF_FILE", sarif.to_str().unwrap()),
    ]);
    assert_eq!(
        args,
        ["check", "--format", "json", "--since", "v9.9.9", "--", "1.sql"]
    );
    let sarif_args = std::fs::read_to_string(&sarif).unwrap();
    assert_eq!(
        sarif_args.lines().collect::<Vec<_>>(),
        ["check", "--since", "v9.9.9", "--format", "sarif", "--", "1.sql"]
    );
}

/// `twice-sql` (what `pipx run twice-sql` and `uvx twice-sql` run) is twice:
/// same version, same output, same exit codes.
#[test]
fn the_twice_sql_command_runs_twice() {
    let run = |exe: &str, args: &[&str]| {
        let out = Command::new(exe)
            .args(args)
            .env_remove("GITHUB_ACTIONS")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (out.status.code(), out.stdout, out.stderr)
    };
    let twice = env!("CARGO_BIN_EXE_twice");
    let alias = env!("CARGO_BIN_EXE_twice-sql");
    for args in [
        &["--version"][..],
        &["check", "--no-replay", "fixtures/action/clean"],
        &["check", "--no-replay", "fixtures/action/dirty"],
        &["check", "--no-such-flag"],
    ] {
        assert_eq!(run(alias, args), run(twice, args), "{args:?}");
    }
    assert_eq!(
        run(alias, &["check", "--no-replay", "fixtures/action/dirty"]).0,
        Some(1)
    );
    assert_eq!(run(alias, &["check", "--no-such-flag"]).0, Some(2));
}
