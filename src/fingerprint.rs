//! Fingerprints: what identifies a finding across runs (its rule, its file as
//! CI tools name it, and its statement's text normalized, with a count for
//! repeats), for baselines (`baseline.rs`, whose module documentation gives
//! the scheme) and for SARIF and GitLab output. A leaf: it reads a `Report`.

use crate::dialect::Dialect;
use crate::finding::Finding;
use crate::lexer::{significant_tokens, TokenKind};
use crate::report::Report;
use crate::source::artifact_path;
use std::collections::HashMap;
use std::path::Path;

/// The fingerprint scheme, as named in SARIF `partialFingerprints`.
pub const FINGERPRINT_SCHEME: &str = "twice/v2";

/// `text` with comments and whitespace dropped, unquoted words in lower
/// case and one space between tokens.
pub fn normalized_statement(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for t in significant_tokens(text, 0..text.len(), Dialect::Generic) {
        let Some(piece) = text.get(t.span.clone()) else {
            continue;
        };
        if !out.is_empty() {
            out.push(' ');
        }
        if t.kind == TokenKind::Word {
            out.push_str(&piece.to_lowercase());
        } else {
            out.push_str(piece);
        }
    }
    out
}

/// The text a finding is about (its statement, else its own span), normalized.
fn finding_text(files: &crate::report::Files, f: &Finding) -> String {
    let Some(file) = files.file(&f.file) else {
        return String::new();
    };
    let span = f
        .statement
        .and_then(|s| files.statement_span(&f.file, s))
        .unwrap_or_else(|| f.span.clone());
    normalized_statement(file.text.get(span).unwrap_or(""))
}

/// Fingerprints of `report.findings`, computed over the whole list (see the
/// module documentation). `base` is the folder paths are made relative to.
pub fn compute(report: &Report, base: Option<&Path>) -> Vec<String> {
    compute_on(report, base, 1)
}

/// [`compute`] on `jobs` threads (the same result).
pub fn compute_on(report: &Report, base: Option<&Path>, jobs: usize) -> Vec<String> {
    use sha2::{Digest, Sha256};
    let files = crate::report::Files::new(report);
    // What each finding is about (the costly part: its statement's text,
    // normalised), side by side.
    let mut keyed: Vec<&Finding> = report.findings.iter().collect();
    let keys = crate::parallel::map(jobs, &mut keyed, |_, f| {
        (
            f.rule.clone(),
            artifact_path(&f.file, base),
            finding_text(&files, f),
        )
    });
    // The occurrence of each key counts in report order.
    let mut seen: HashMap<&(String, String, String), usize> = HashMap::new();
    let mut numbered: Vec<(&(String, String, String), usize)> = keys
        .iter()
        .map(|key| {
            let n = seen.entry(key).or_insert(0);
            let occurrence = *n;
            *n += 1;
            (key, occurrence)
        })
        .collect();
    crate::parallel::map(jobs, &mut numbered, |_, (key, occurrence)| {
        let mut h = Sha256::new();
        for part in [key.0.as_str(), key.1.as_str(), key.2.as_str()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(occurrence.to_string().as_bytes());
        let digest = h.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// Fingerprints that identify each finding across runs, parallel to
/// `report.findings`: the ones stamped by [`crate::baseline::stamp`] (over
/// every finding, before a baseline hid some), else computed now. See
/// [`compute`] for what they hash.
pub fn fingerprints(report: &Report, base: Option<&Path>) -> Vec<String> {
    fingerprints_on(report, base, 1)
}

/// [`fingerprints`], computed (when not stamped) on `jobs` threads.
pub fn fingerprints_on(report: &Report, base: Option<&Path>, jobs: usize) -> Vec<String> {
    if report.findings.iter().all(|f| f.fingerprint.is_some()) {
        return report
            .findings
            .iter()
            .map(|f| f.fingerprint.clone().unwrap_or_default())
            .collect();
    }
    compute_on(report, base, jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_ignores_layout_comments_and_keyword_case() {
        let a = normalized_statement("CREATE TABLE t (\n  id int -- key\n);");
        let b = normalized_statement("create   table T /* c */ (id INT);");
        assert_eq!(a, b);
        assert_eq!(a, "create table t ( id int ) ;");
        // Strings and quoted names keep their case.
        assert_ne!(
            normalized_statement("INSERT INTO t VALUES ('A')"),
            normalized_statement("INSERT INTO t VALUES ('a')")
        );
        assert_ne!(
            normalized_statement("CREATE TABLE \"T\" (x int)"),
            normalized_statement("CREATE TABLE \"t\" (x int)")
        );
    }
}
