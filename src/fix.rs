//! `--fix` and `--diff`: apply the safe rewrites that findings carry.
//!
//! Edits are made on the original text at the statements' spans, so comments,
//! formatting and line endings elsewhere stay byte for byte as they were. A
//! file that was not valid UTF-8 is never rewritten (its bytes could not be
//! written back exactly); a byte-order mark is kept.

use crate::check::Report;
use crate::finding::{Edit, Finding};
use crate::source::SourceFile;
use std::collections::BTreeMap;

/// The edits planned for one file.
#[derive(Clone, Debug)]
pub struct FilePlan {
    /// The file as the user would write it.
    pub name: String,
    pub path: Option<std::path::PathBuf>,
    pub had_bom: bool,
    pub original: String,
    pub fixed: String,
    /// (line, rule, description) of each applied fix.
    pub applied: Vec<(usize, String, String)>,
    /// Fixes left out, with the reason.
    pub refused: Vec<(usize, String, String)>,
}

impl FilePlan {
    pub fn changed(&self) -> bool {
        self.original != self.fixed
    }

    /// The bytes to write: the fixed text, with the BOM back if it had one.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.fixed.len() + 3);
        if self.had_bom {
            out.extend_from_slice(b"\xEF\xBB\xBF");
        }
        out.extend_from_slice(self.fixed.as_bytes());
        out
    }

    /// A unified diff of the change (empty when nothing changes).
    pub fn diff(&self) -> String {
        if !self.changed() {
            return String::new();
        }
        similar::TextDiff::from_lines(&self.original, &self.fixed)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", self.name), &format!("b/{}", self.name))
            .to_string()
    }
}

/// Plans the fixes of all findings in a report, per file, in file order.
/// Overlapping edits keep the first finding's fix and refuse the others.
pub fn plan(report: &Report) -> Vec<FilePlan> {
    let mut by_file: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.fix.is_some()) {
        if let Some(i) = report.files.iter().position(|s| s.name == f.file) {
            by_file.entry(i).or_default().push(f);
        }
    }
    by_file
        .into_iter()
        .map(|(i, findings)| plan_file(&report.files[i], &findings))
        .collect()
}

fn plan_file(file: &SourceFile, findings: &[&Finding]) -> FilePlan {
    let mut plan = FilePlan {
        name: file.name.clone(),
        path: file.path.clone(),
        had_bom: file.had_bom,
        original: file.text.clone(),
        fixed: file.text.clone(),
        applied: Vec::new(),
        refused: Vec::new(),
    };
    if file.lossy {
        for f in findings {
            plan.refused.push((
                f.line,
                f.rule.clone(),
                "the file is not valid UTF-8, so it is not rewritten".into(),
            ));
        }
        return plan;
    }
    let mut taken: Vec<Edit> = Vec::new();
    for f in findings {
        let Some(fix) = &f.fix else { continue };
        let valid = fix.edits.iter().all(|e| {
            e.span.start <= e.span.end
                && e.span.end <= file.text.len()
                && file.text.is_char_boundary(e.span.start)
                && file.text.is_char_boundary(e.span.end)
        });
        let overlaps = fix
            .edits
            .iter()
            .any(|e| taken.iter().any(|t| overlap(&t.span, &e.span)));
        if !valid {
            plan.refused
                .push((f.line, f.rule.clone(), "the edit is out of range".into()));
        } else if overlaps {
            plan.refused.push((
                f.line,
                f.rule.clone(),
                "it overlaps another fix; run --fix again to apply it".into(),
            ));
        } else {
            taken.extend(fix.edits.iter().cloned());
            plan.applied
                .push((f.line, f.rule.clone(), fix.description.clone()));
        }
    }
    plan.fixed = apply_edits(&file.text, &taken);
    plan
}

/// Two spans overlap, or are the same insertion point (two insertions at one
/// place would have an unclear order).
fn overlap(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    (a.start < b.end && b.start < a.end) || a.start == b.start
}

/// Applies non-overlapping edits to `text`.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    for e in sorted {
        if e.span.start < pos {
            continue;
        }
        out.push_str(&text[pos..e.span.start]);
        out.push_str(&e.replacement);
        pos = e.span.end;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(span: std::ops::Range<usize>, s: &str) -> Edit {
        Edit {
            span,
            replacement: s.into(),
        }
    }

    #[test]
    fn edits_apply_in_order_and_keep_the_rest() {
        let text = "CREATE TABLE a (x);\r\nDROP TABLE b;\r\n";
        let out = apply_edits(
            text,
            &[edit(31..31, " IF EXISTS"), edit(12..12, " IF NOT EXISTS")],
        );
        assert_eq!(
            out,
            "CREATE TABLE IF NOT EXISTS a (x);\r\nDROP TABLE IF EXISTS b;\r\n"
        );
    }

    #[test]
    fn overlapping_edits_are_detected() {
        assert!(overlap(&(5..5), &(5..5)));
        assert!(overlap(&(3..8), &(5..6)));
        assert!(!overlap(&(3..5), &(5..6)));
    }
}
