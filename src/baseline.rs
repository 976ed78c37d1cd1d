//! Baselines: findings accepted once, not reported again.
//!
//! `twice check --write-baseline FILE` records every current finding;
//! `--baseline FILE` (or `baseline = "FILE"` in twice.toml) then reports
//! only findings that are not in it. The summary counts the baselined ones.
//!
//! # Fingerprints
//! A finding is recognised by its fingerprint, a hash of:
//! - the rule id;
//! - the file path as CI tools show it (relative to the working folder,
//!   forward slashes; see [`crate::source::artifact_path`]);
//! - the statement's normalized text: comments and whitespace dropped,
//!   unquoted words (keywords and names) in lower case, one space between
//!   tokens; strings and quoted names as written;
//! - the occurrence index among findings with the same rule, path and text
//!   (two identical statements in one file are two findings).
//!
//! Line numbers are not part of it: inserting lines above a statement,
//! re-indenting it or changing the case of its keywords keeps the finding
//! baselined; changing what the statement does reports it again. The same
//! fingerprint is SARIF's `partialFingerprints["twice/v2"]` and GitLab's
//! `fingerprint`.
//!
//! # The file
//! JSON, written by twice and readable in review:
//!
//! ```json
//! {
//!   "version": 1,
//!   "tool": "twice",
//!   "fingerprint": "twice/v2",
//!   "findings": [
//!     {"fingerprint": "3f0c…", "rule": "create-without-if-not-exists",
//!      "file": "migrations/001_init.sql", "line": 3,
//!      "message": "CREATE TABLE customers runs only once: …"}
//!   ]
//! }
//! ```
//!
//! Only `fingerprint` is used for matching (as a multiset: an entry matches
//! one finding); `rule`, `file`, `line` and `message` are there for people.
//! Entries that match no finding any more (fixed, or their statement
//! changed) are reported once, as one notice listing them, not as findings:
//! they point at code that is gone and must not fail a build. Writing the
//! baseline again drops them.

use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::fingerprint::fingerprints as stamped_or_computed;
pub use crate::fingerprint::FINGERPRINT_SCHEME;
use crate::report::Report;
use crate::source::artifact_path;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The version of the baseline file format.
pub const FORMAT_VERSION: u32 = 1;
/// A baseline file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    #[serde(default)]
    pub tool: String,
    #[serde(default)]
    pub fingerprint: String,
    pub findings: Vec<Entry>,
}

/// One accepted finding.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub file: String,
    #[serde(default)]
    pub line: usize,
    #[serde(default)]
    pub message: String,
}

/// Stores each finding's fingerprint in it, so that hiding some findings
/// later (a baseline) does not change the others'. `jobs`: threads.
pub fn stamp(report: &mut Report, base: Option<&Path>, jobs: usize) {
    let prints = crate::fingerprint::compute_on(report, base, jobs);
    for (f, p) in report.findings.iter_mut().zip(prints) {
        f.fingerprint = Some(p);
    }
}

/// The baseline that accepts every finding of `report`.
pub fn from_report(report: &Report, base: Option<&Path>) -> Baseline {
    let prints = stamped_or_computed(report, base);
    Baseline {
        version: FORMAT_VERSION,
        tool: "twice".into(),
        fingerprint: FINGERPRINT_SCHEME.into(),
        findings: report
            .findings
            .iter()
            .zip(prints)
            .map(|(f, fingerprint)| Entry {
                fingerprint,
                rule: f.rule.clone(),
                file: artifact_path(&f.file, base),
                line: f.line,
                message: crate::render::split_message(&f.message).0.to_string(),
            })
            .collect(),
    }
}

/// Writes `baseline` to `path` (pretty JSON, one entry per finding).
pub fn write(path: &Path, baseline: &Baseline) -> Result<()> {
    let name = crate::source::display_path(path);
    let mut text = serde_json::to_string_pretty(baseline)
        .map_err(|e| Error::new(format!("{name}: cannot write the baseline: {e}")))?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| Error::io(&name, &e))
}

/// Reads a baseline file.
pub fn load(path: &Path) -> Result<Baseline> {
    let name = crate::source::display_path(path);
    // A regular file only (the path may come from twice.toml): a FIFO or a
    // device such as `/dev/zero` would be read forever.
    let bytes = crate::source::read_regular(path).map_err(|e| {
        let mut err = Error::io(&name, &e);
        if e.kind() == std::io::ErrorKind::NotFound {
            err.message
                .push_str(" (create it with `twice check --write-baseline FILE`)");
        }
        err
    })?;
    let b: Baseline = serde_json::from_slice(&bytes).map_err(|e| {
        Error::new(format!(
            "{name}:{}:{}: not a twice baseline: {e} (write one with `twice check --write-baseline {name}`)",
            e.line(),
            e.column()
        ))
    })?;
    if b.version != FORMAT_VERSION {
        return Err(Error::new(format!(
            "{name}: baseline format version {} is not supported (this twice reads version {FORMAT_VERSION}); write it again with `twice check --write-baseline {name}`",
            b.version
        )));
    }
    if !b.fingerprint.is_empty() && b.fingerprint != FINGERPRINT_SCHEME {
        return Err(Error::new(format!(
            "{name}: the baseline holds `{}` fingerprints, this twice computes `{FINGERPRINT_SCHEME}`; write it again with `twice check --write-baseline {name}`",
            b.fingerprint
        )));
    }
    Ok(b)
}

/// Moves the findings `baseline` accepts from `report.findings` to
/// `report.baselined` (a replay finding that only confirms a baselined
/// static finding goes with it), counts them in the summary and adds one
/// notice for the entries that matched nothing. `name` names the baseline
/// file in that notice.
pub fn apply(report: &mut Report, baseline: &Baseline, name: &str, base: Option<&Path>) {
    let prints = stamped_or_computed(report, base);
    let mut available: HashMap<&str, usize> = HashMap::new();
    for e in &baseline.findings {
        *available.entry(e.fingerprint.as_str()).or_insert(0) += 1;
    }
    let mut accepted: Vec<bool> = prints
        .iter()
        .map(|p| match available.get_mut(p.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .collect();
    // A replay finding merged into a baselined static finding goes with it.
    let plan = crate::render::Plan::new(&report.findings);
    for (s, confirmations) in plan.confirmations.iter().enumerate() {
        if accepted[s] {
            for &(r, _) in confirmations {
                accepted[r] = true;
            }
        }
    }
    // Entries of files that were not audited (`--since`) are not stale.
    let skipped: std::collections::HashSet<String> = report
        .not_audited
        .iter()
        .map(|n| artifact_path(n, base))
        .collect();
    let stale: Vec<&Entry> = {
        let mut left = available;
        baseline
            .findings
            .iter()
            .filter(|e| !skipped.contains(&e.file))
            .filter(|e| match left.get_mut(e.fingerprint.as_str()) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            })
            .collect()
    };
    if !stale.is_empty() {
        let shown: Vec<String> = stale
            .iter()
            .take(5)
            .map(|e| format!("{} at {}:{}", e.rule, e.file, e.line))
            .collect();
        let more = if stale.len() > shown.len() {
            format!(", and {} more", stale.len() - shown.len())
        } else {
            String::new()
        };
        report.notices.push(format!(
            "baseline {name}: {} no longer {} any finding (fixed, or the statement changed): {}{more}; \
             run `twice check --write-baseline {name}` to drop {}",
            if stale.len() == 1 {
                "1 entry".to_string()
            } else {
                format!("{} entries", stale.len())
            },
            if stale.len() == 1 { "matches" } else { "match" },
            shown.join(", "),
            if stale.len() == 1 { "it" } else { "them" },
        ));
    }
    for (f, p) in report.findings.iter_mut().zip(prints) {
        f.fingerprint = Some(p);
    }
    let (kept, gone) = split(std::mem::take(&mut report.findings), &accepted);
    report.findings = kept;
    report.summary.baselined += gone.len();
    report.baselined.extend(gone);
    report.baseline = Some(name.to_string());
    report.recount();
}

/// Splits `findings` into (kept, removed) by `remove`, renumbering
/// `related` within each list (links between the lists are dropped).
fn split(findings: Vec<Finding>, remove: &[bool]) -> (Vec<Finding>, Vec<Finding>) {
    let removed = |i: usize| remove.get(i).copied().unwrap_or(false);
    let mut new_index = Vec::with_capacity(findings.len());
    let (mut k, mut g) = (0, 0);
    for i in 0..findings.len() {
        if removed(i) {
            new_index.push(g);
            g += 1;
        } else {
            new_index.push(k);
            k += 1;
        }
    }
    let mut kept = Vec::new();
    let mut gone = Vec::new();
    for (i, mut f) in findings.into_iter().enumerate() {
        f.related = f
            .related
            .iter()
            .filter(|&&r| r < new_index.len() && removed(r) == removed(i))
            .map(|&r| new_index[r])
            .collect();
        if removed(i) {
            gone.push(f);
        } else {
            kept.push(f);
        }
    }
    (kept, gone)
}
