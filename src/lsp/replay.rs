//! Replay on save, in the background.
//!
//! Replay runs `twice check --format json` on the saved file's history in a
//! child process: it can take seconds, it must never block the editor, and
//! a child can be stopped at once (SQLite cannot be interrupted half-way
//! through a statement from another thread, and a runaway replay must not
//! take the server's memory with it). Its replay findings about the file are
//! read from the JSON document (version 1).

use crate::finding::{Finding, Origin};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a replay produced.
pub enum Outcome {
    /// Replay findings about the file, the run's notices, and the
    /// sequences that were not replayed (and why).
    Done(Vec<Finding>, Vec<String>, Vec<String>),
    /// It was cancelled.
    Cancelled,
    /// It could not run, and why.
    Failed(String),
}

/// A running replay; dropping it does not stop it, [`Running::cancel`] does.
pub struct Running {
    cancel: Arc<AtomicBool>,
    child: Arc<Mutex<Option<Child>>>,
}

impl Running {
    /// Stops the child at once (before the server may exit).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        if let Ok(mut guard) = self.child.lock() {
            if let Some(child) = guard.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Starts `exe check --format json [--config FILE] TARGET` and calls `done`
/// with the replay findings about `name` when it ends.
pub fn start(
    exe: &Path,
    target: &Path,
    config: Option<&Path>,
    name: String,
    done: impl FnOnce(Outcome) + Send + 'static,
) -> Running {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut cmd = Command::new(exe);
    cmd.args(["check", "--format", "json", "--fail-on", "never"]);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    cmd.arg(target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let flag = Arc::clone(&cancel);
    let slot = Arc::new(Mutex::new(None));
    let spawned = cmd.spawn().map(|mut child| {
        let pipes = (child.stdout.take(), child.stderr.take());
        if let Ok(mut s) = slot.lock() {
            *s = Some(child);
        }
        pipes
    });
    let shared = Arc::clone(&slot);
    std::thread::spawn(move || {
        done(match spawned {
            Ok(pipes) => wait(&shared, pipes, &flag, &name),
            Err(e) => Outcome::Failed(format!("cannot start replay: {e}")),
        })
    });
    Running {
        cancel,
        child: slot,
    }
}

type Pipes = (
    Option<std::process::ChildStdout>,
    Option<std::process::ChildStderr>,
);

fn wait(
    child: &Mutex<Option<Child>>,
    (stdout, stderr): Pipes,
    cancel: &AtomicBool,
    name: &str,
) -> Outcome {
    // Drain both pipes so the child never blocks on a full one.
    let out = stdout.map(|mut s| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = s.read_to_end(&mut v);
            v
        })
    });
    let err = stderr.map(|mut s| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = s.read_to_end(&mut v);
            v
        })
    });
    let status = loop {
        if cancel.load(Ordering::SeqCst) {
            // `Running::cancel` killed it.
            return Outcome::Cancelled;
        }
        let polled = match child.lock() {
            Ok(mut c) => c.as_mut().map(Child::try_wait),
            Err(_) => None,
        };
        match polled {
            Some(Ok(Some(status))) => break status,
            Some(Ok(None)) => std::thread::sleep(Duration::from_millis(20)),
            Some(Err(e)) => return Outcome::Failed(format!("replay: {e}")),
            None => return Outcome::Failed("replay: the child process is gone".into()),
        }
    };
    if cancel.load(Ordering::SeqCst) {
        return Outcome::Cancelled;
    }
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    if status.code() == Some(2) || stdout.is_empty() {
        let why = String::from_utf8_lossy(&stderr);
        let why = why.trim();
        return Outcome::Failed(if why.is_empty() {
            format!("replay ended without a report ({status})")
        } else {
            why.to_string()
        });
    }
    match parse(&stdout, name) {
        Some((f, n)) => Outcome::Done(f, n, not_replayed(&stdout)),
        None => Outcome::Failed("replay: the JSON report could not be read".into()),
    }
}

/// The replay findings about `name` and the notices of a JSON report.
pub fn parse(json: &[u8], name: &str) -> Option<(Vec<Finding>, Vec<String>)> {
    #[derive(serde::Deserialize)]
    struct Doc {
        findings: Vec<Finding>,
        #[serde(default)]
        notices: Vec<String>,
    }
    let doc: Doc = serde_json::from_slice(json).ok()?;
    let findings = doc
        .findings
        .into_iter()
        .filter(|f| f.source == Origin::Replay && f.file == name)
        .collect();
    Some((findings, doc.notices))
}

/// The sequences of a JSON report that were not replayed (skipped or
/// stopped part-way), as `root: replay skipped: why`.
pub fn not_replayed(json: &[u8]) -> Vec<String> {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(json) else {
        return Vec::new();
    };
    doc["summary"]["sequences"]
        .as_array()
        .map(|seqs| {
            seqs.iter()
                .filter_map(|s| {
                    let status = s["replay"].as_str()?;
                    (status != "replayed" && status != "off")
                        .then(|| format!("{}: replay {status}", s["root"].as_str().unwrap_or("?")))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The twice executable to run replay with.
pub fn current_exe() -> Option<PathBuf> {
    std::env::current_exe().ok()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_replay_stops_its_child() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("slow-twice");
        std::fs::write(&exe, "#!/bin/sh\nexec sleep 60\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let running = start(&exe, dir.path(), None, "x.sql".into(), move |o| {
            let _ = tx.send(o);
        });
        running.cancel();
        let outcome = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert!(matches!(outcome, Outcome::Cancelled));
    }

    #[test]
    fn replay_findings_of_the_file_are_read_from_the_json_report() {
        let json = br#"{"version": 1, "findings": [
            {"id": 0, "rule": "second-run-error", "severity": "error", "source": "replay",
             "file": "m/1.sql", "line": 2, "column": 1, "end_line": 2, "end_column": 9,
             "message": "m"},
            {"id": 1, "rule": "second-run-error", "severity": "error", "source": "replay",
             "file": "m/2.sql", "line": 1, "column": 1, "end_line": 1, "end_column": 2,
             "message": "m"},
            {"id": 2, "rule": "drop-without-if-exists", "severity": "error", "source": "static",
             "file": "m/1.sql", "line": 1, "column": 1, "end_line": 1, "end_column": 2,
             "message": "m"}],
            "summary": {}, "notices": ["n"]}"#;
        let (findings, notices) = parse(json, "m/1.sql").unwrap();
        assert_eq!(findings.len(), 1);
        assert_eq!((findings[0].line, findings[0].end_column), (2, 9));
        assert_eq!(notices, ["n"]);
        assert!(parse(b"not json", "m/1.sql").is_none());
        let json = br#"{"summary": {"sequences": [
            {"root": "a", "replay": "replayed"},
            {"root": "b", "replay": "skipped: SQLite cannot run PostgreSQL migrations"}]}}"#;
        assert_eq!(
            not_replayed(json),
            ["b: replay skipped: SQLite cannot run PostgreSQL migrations"]
        );
    }
}
