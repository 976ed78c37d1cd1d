//! `--fix` and `--diff`: apply the safe rewrites that findings carry.
//!
//! Edits are made on the original text at the statements' spans, so comments,
//! formatting and line endings elsewhere stay byte for byte as they were. A
//! file that was not valid UTF-8 is never rewritten (its bytes could not be
//! written back exactly); a byte-order mark is kept.

use crate::finding::{Applicability, Edit, Finding};
use crate::report::Report;
use crate::rules;
use crate::source::{FileSource, SourceFile};
use std::collections::BTreeMap;

/// The edits planned for one file.
#[derive(Clone, Debug)]
pub struct FilePlan {
    /// The file as the user would write it.
    pub name: String,
    pub path: Option<std::path::PathBuf>,
    pub had_bom: bool,
    /// A UTF-16 file is written back in UTF-16, with its BOM.
    pub utf16: Option<crate::source::Utf16>,
    pub original: String,
    pub fixed: String,
    /// (line, rule, description) of each applied fix.
    pub applied: Vec<(usize, String, String)>,
    /// Fixes left out, with the reason.
    pub refused: Vec<(usize, String, String)>,
    /// (line, rule, description) of the unsafe fixes left out because
    /// `--unsafe-fixes` was not given (display-only ones are never listed).
    pub unsafe_skipped: Vec<(usize, String, String)>,
}

/// Which fixes `--fix` and `--diff` apply: the safe ones, and the unsafe
/// ones too with `--unsafe-fixes`; display-only fixes never.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applying {
    pub unsafe_fixes: bool,
}

impl Applying {
    pub fn applies(self, a: Applicability) -> bool {
        match a {
            Applicability::Safe => true,
            Applicability::Unsafe => self.unsafe_fixes,
            Applicability::DisplayOnly => false,
        }
    }
}

impl FilePlan {
    pub fn changed(&self) -> bool {
        self.original != self.fixed
    }

    /// The bytes to write: the fixed text, with the BOM back if it had one.
    pub fn bytes(&self) -> Vec<u8> {
        crate::source::encode(&self.fixed, self.had_bom, self.utf16)
    }

    /// The bytes the file held when it was read (fixes are only planned on
    /// files that were valid UTF-8).
    pub fn original_bytes(&self) -> Vec<u8> {
        crate::source::encode(&self.original, self.had_bom, self.utf16)
    }

    /// A unified diff of the change (empty when nothing changes).
    pub fn diff(&self) -> String {
        if !self.changed() {
            return String::new();
        }
        similar::TextDiff::from_lines(&self.original, &self.fixed)
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("a/{}", crate::escape::printable(&self.name)),
                &format!("b/{}", crate::escape::printable(&self.name)),
            )
            .to_string()
    }
}

/// Plans the safe fixes of all findings in a report (see [`plan_with`]).
pub fn plan(report: &Report) -> Vec<FilePlan> {
    plan_with(report, Applying::default())
}

/// Plans the fixes of all findings in a report that `mode` applies, per
/// file, in file order. Overlapping edits keep the first finding's fix and
/// refuse the others.
pub fn plan_with(report: &Report, mode: Applying) -> Vec<FilePlan> {
    let mut by_file: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.fix.is_some()) {
        if let Some(i) = report.files.iter().position(|s| s.name == f.file) {
            by_file.entry(i).or_default().push(f);
        }
    }
    by_file
        .into_iter()
        .map(|(i, findings)| plan_file(&report.files[i], &findings, mode))
        .collect()
}

fn plan_file(file: &SourceFile, findings: &[&Finding], mode: Applying) -> FilePlan {
    let mut plan = FilePlan {
        name: file.name.clone(),
        path: file.path.clone(),
        had_bom: file.had_bom,
        utf16: file.utf16,
        original: file.text.clone(),
        fixed: file.text.clone(),
        applied: Vec::new(),
        refused: Vec::new(),
        unsafe_skipped: Vec::new(),
    };
    let findings: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| {
            let Some(fix) = &f.fix else { return false };
            if mode.applies(fix.applicability) {
                return true;
            }
            if fix.applicability == Applicability::Unsafe {
                plan.unsafe_skipped
                    .push((f.line, f.rule.clone(), fix.description.clone()));
            }
            false
        })
        .collect();
    if file.lossy {
        for f in findings {
            plan.refused.push((
                f.line,
                f.rule.clone(),
                if file.utf16.is_some() {
                    "the file is not valid UTF-16, so it is not rewritten".into()
                } else {
                    "the file is not valid UTF-8, so it is not rewritten".into()
                },
            ));
        }
        return plan;
    }
    let mut taken: Vec<Edit> = Vec::new();
    for f in &findings {
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

/// What `--fix` / `--diff` did.
#[derive(Debug)]
pub struct FixRun {
    /// One plan per file that had fixable findings; refused fixes included.
    pub plans: Vec<FilePlan>,
    /// The check of the fixed files (what remains to be done by hand).
    pub report: Report,
}

/// Plans the fixes for `inputs`, verifies them and returns the plans and the
/// report of the fixed text. Nothing is written here.
///
/// Verification: the fixed files are checked again, from memory. A file whose
/// fixed text makes a migration fail its first run on replay, or makes a
/// statement unreadable, keeps its original text (each of its fixes is
/// refused with the reason). `--fix` run on its own output changes nothing.
pub fn run(
    inputs: &[crate::discover::Input],
    opts: &crate::options::Options,
) -> crate::error::Result<FixRun> {
    run_with(inputs, opts, Applying::default())
}

/// [`run`], applying the fixes `mode` allows (`--unsafe-fixes`).
pub fn run_with(
    inputs: &[crate::discover::Input],
    opts: &crate::options::Options,
    mode: Applying,
) -> crate::error::Result<FixRun> {
    use std::collections::HashMap;
    let before = crate::check::check(inputs, opts)?;
    let mut plans = plan_with(&before, mode);
    let broken_before = broken_counts(&before);
    let mut verified = None;
    // Files in the order they were read: migrations in history order.
    let order: BTreeMap<String, usize> = before
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    // Each round either verifies the remaining fixes or refuses at least one
    // more file's fixes, so this ends.
    for _ in 0..=plans.len() {
        let overlay: HashMap<std::path::PathBuf, Vec<u8>> = plans
            .iter()
            .filter(|p| p.changed())
            .map(|p| {
                let key = p.path.clone().unwrap_or_else(|| FileSource::STDIN.into());
                (key, p.bytes())
            })
            .collect();
        if overlay.is_empty() {
            break;
        }
        let after = crate::check::check_from(inputs, opts, &FileSource::with_overlay(overlay))?;
        let broken_after = broken_counts(&after);
        // The first finding of each (file, rule) that broke: where and why.
        let newly_broken: Vec<&Finding> = broken_after
            .iter()
            .filter(|(key, n)| broken_before.get(*key).copied().unwrap_or(0) < **n)
            .filter_map(|((file, rule), _)| {
                after
                    .findings
                    .iter()
                    .find(|f| f.file == *file && f.rule == *rule)
            })
            .collect();
        if newly_broken.is_empty() {
            verified = Some(after);
            break;
        }
        // The file that broke loses its fixes. A break in a file whose fixes
        // are gone already (or that had none) comes from fixes in earlier
        // files of its history (an earlier migration now succeeds, say): the
        // nearest earlier file with fixes loses them, and so on, round by
        // round; with none before it, every remaining fix goes.
        let mut refused_any = false;
        for f in &newly_broken {
            if let Some(p) = plans.iter_mut().find(|p| p.name == f.file && p.changed()) {
                refuse(p, f);
                refused_any = true;
            }
        }
        if !refused_any {
            let broken = newly_broken[0];
            let limit = order.get(broken.file.as_str()).copied().unwrap_or(0);
            let nearest = plans
                .iter_mut()
                .filter(|p| p.changed())
                .filter(|p| order.get(p.name.as_str()).is_some_and(|&i| i < limit))
                .max_by_key(|p| order.get(p.name.as_str()).copied());
            match nearest {
                Some(p) => refuse(p, broken),
                None => {
                    for p in plans.iter_mut().filter(|p| p.changed()) {
                        refuse(p, broken);
                    }
                }
            }
        }
    }
    // Without verified fixes nothing is written: what remains is what was there.
    let report = verified.unwrap_or(before);
    Ok(FixRun { plans, report })
}

/// Writes the changed files of `plans` (those with a path), all or none.
///
/// - Each file is written to a temporary file in its own folder (same
///   permissions), synced, then renamed over the original: a `kill -9` or a
///   full disk leaves either the old file or the new one, never a truncated
///   one.
/// - Before anything is renamed, every file is checked: still the bytes that
///   were read and fixed (else it changed on disk since: refused), a regular
///   file, writable, and its temporary file written and synced. A failure
///   there writes nothing at all, so an error never leaves a half-fixed
///   folder.
/// - A symbolic link is written through (its target is replaced) only when
///   the target lies inside a folder given on the command line or is a file
///   named there; `--fix` never writes to a file outside what was checked.
///
/// Returns the names of the files written.
pub fn write_all(
    plans: &[FilePlan],
    inputs: &[crate::discover::Input],
) -> crate::error::Result<Vec<String>> {
    use crate::error::Error;
    use std::path::{Path, PathBuf};
    let roots: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|i| match i {
            crate::discover::Input::Path(p) => std::fs::canonicalize(p).ok(),
            crate::discover::Input::Stdin => None,
        })
        .collect();
    let inside = |target: &Path| roots.iter().any(|r| target == r || target.starts_with(r));
    /// A temporary file, removed on drop unless renamed.
    struct Temp(Option<PathBuf>);
    impl Drop for Temp {
        fn drop(&mut self) {
            if let Some(p) = self.0.take() {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    // (plan, target, temp)
    let mut staged: Vec<(&FilePlan, PathBuf, Temp)> = Vec::new();
    for plan in plans.iter().filter(|p| p.changed()) {
        let Some(path) = &plan.path else { continue };
        let shown = crate::escape::printable(&plan.name).into_owned();
        let fail = |what: String| {
            Error::new(format!(
                "{shown}: {what}; nothing was written (no file was changed), run `twice check --fix` again"
            ))
        };
        let link = std::fs::symlink_metadata(path)
            .map_err(|e| fail(format!("cannot be read again ({e})")))?;
        // Where the bytes really are (through links, of the file or of a
        // folder on the way): it must be inside what was given.
        let target = std::fs::canonicalize(path)
            .map_err(|e| fail(format!("cannot be found again ({e})")))?;
        if !inside(&target) {
            let how = if link.file_type().is_symlink() {
                "is a symbolic link to"
            } else {
                "lies, through a linked folder, at"
            };
            return Err(fail(format!(
                "{how} {}, outside the folders and files given; --fix does not write there \
                 (name that file to fix it, or replace the link by a copy)",
                crate::escape::printable(&target.to_string_lossy())
            )));
        }
        // Two names of one file (a link beside the file it names): one
        // write, when their fixed texts agree; none when they do not.
        if let Some((other, _, _)) = staged.iter().find(|(_, t, _)| *t == target) {
            if other.bytes() == plan.bytes() {
                continue;
            }
            return Err(fail(format!(
                "is the file {} too (a link), and the fixes planned under the two names differ",
                crate::escape::printable(&other.name)
            )));
        }
        let meta =
            std::fs::metadata(&target).map_err(|e| fail(format!("cannot be read again ({e})")))?;
        if !meta.is_file() {
            return Err(fail("is no longer a regular file".into()));
        }
        let on_disk = crate::source::read_regular(&target)
            .map_err(|e| fail(format!("cannot be read again ({e})")))?;
        if on_disk != plan.original_bytes() {
            return Err(fail(
                "changed on disk since twice read it, so the fixes were planned and verified \
                 on other text"
                    .into(),
            ));
        }
        if meta.permissions().readonly() || !writable(&target) {
            return Err(fail("is not writable (permission denied)".into()));
        }
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // The temporary file's name: the file's, cut to 64 bytes, so that it
        // stays within the 255 bytes a name may have however long the
        // file's own is (a 250-byte name was refused as "not writable").
        let base = target
            .file_name()
            .map(|b| short_name(&b.to_string_lossy(), 64))
            .unwrap_or_default();
        let mut temp = Temp(None);
        let mut file = None;
        for n in 0..100u32 {
            let p = dir.join(format!(".{base}.twice-fix-{}-{n}.tmp", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
            {
                Ok(f) => {
                    temp.0 = Some(p);
                    file = Some(f);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(fail(format!(
                        "its folder is not writable, so it cannot be replaced safely ({e})"
                    )))
                }
            }
        }
        let Some(mut file) = file else {
            return Err(fail("no temporary file could be created beside it".into()));
        };
        use std::io::Write;
        file.write_all(&plan.bytes())
            .and_then(|()| file.set_permissions(meta.permissions()))
            .and_then(|()| file.sync_all())
            .map_err(|e| {
                fail(format!(
                    "the fixed text could not be written beside it ({e})"
                ))
            })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            use std::os::unix::io::AsRawFd;
            // Keep the owner when twice may (running as root); else it is
            // the invoking user's file already.
            // SAFETY: a valid open descriptor.
            unsafe {
                libc::fchown(file.as_raw_fd(), meta.uid(), meta.gid());
            }
        }
        staged.push((plan, target, temp));
    }
    let mut written = Vec::new();
    for (plan, target, mut temp) in staged {
        // The last look before the switch: still the text that was fixed.
        if crate::source::read_regular(&target).ok().as_deref() != Some(&plan.original_bytes()[..])
        {
            return Err(Error::new(format!(
                "{}: changed on disk while --fix was writing; left as it is{}",
                crate::escape::printable(&plan.name),
                if written.is_empty() {
                    String::new()
                } else {
                    format!(" (already written: {})", written.join(", "))
                }
            )));
        }
        let Some(tmp) = temp.0.clone() else { continue };
        std::fs::rename(&tmp, &target).map_err(|e| {
            Error::new(format!(
                "{}: could not be replaced by its fixed text ({e}); left as it is{}",
                crate::escape::printable(&plan.name),
                if written.is_empty() {
                    String::new()
                } else {
                    format!(" (already written: {})", written.join(", "))
                }
            ))
        })?;
        temp.0 = None;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        written.push(crate::escape::printable(&plan.name).into_owned());
    }
    Ok(written)
}

/// `name` cut to at most `max` bytes, at a character boundary.
fn short_name(name: &str, max: usize) -> String {
    let mut end = name.len().min(max);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// Whether the current user may write `path` (`access(2)`, which also
/// knows about read-only mounts).
fn writable(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: a NUL-terminated path.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

/// Takes back every fix of `plan`, saying which finding of the fixed text
/// made it unsafe.
fn refuse(plan: &mut FilePlan, broken: &Finding) {
    let what = if broken.rule == rules::first_run_error::META.id {
        "no longer applies cleanly on its first run"
    } else {
        "can no longer be read"
    };
    let why = format!(
        "with the fixes applied, {}:{} {what} ({}: {})",
        broken.file, broken.line, broken.rule, broken.message
    );
    for (line, rule, _) in plan.applied.drain(..) {
        plan.refused.push((line, rule, why.clone()));
    }
    plan.fixed = plan.original.clone();
}

/// Per (file, rule), how many findings say a statement is broken.
fn broken_counts(r: &Report) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for f in &r.findings {
        let broken = [
            &rules::first_run_error::META,
            &rules::syntax_error::META,
            &rules::unparsed_statement::META,
        ];
        if broken.iter().any(|m| m.id == f.rule) {
            *m.entry((f.file.clone(), f.rule.clone())).or_insert(0) += 1;
        }
    }
    m
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
