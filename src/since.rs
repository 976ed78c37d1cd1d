//! `--since REF` and `--from VERSION`: audit what is new on top of what
//! exists.
//!
//! Migrations that are part of the starting state (unchanged since the git
//! revision `REF`, or ordered before the first migration of version
//! `VERSION` or later) get [`Migration::apply_only`]: replay applies them
//! once, with no second run and no down checks, and reports only a failure
//! to apply. Findings in files that only such migrations use are dropped.
//! Migrations added or changed since `REF` (or from `VERSION` on) are
//! audited in full; a file that existed at `REF` and changed since gets
//! `applied-migration-changed`.
//!
//! # Matching by file, with the `git` binary
//! A migration is unchanged when every file it uses (its up file and its down
//! file) is in the tree of `REF` and `git diff REF` does not list it. twice
//! runs the `git` program (plumbing commands with `-z` output: `rev-parse`,
//! `ls-tree`, `diff --name-only`) rather than linking a git library: the
//! repository is read exactly as the user's own git reads it (worktrees,
//! shallow and partial clones, sparse checkouts, SHA-256 repositories, the
//! user's `safe.directory` settings), and twice does not carry a second git
//! implementation (libgit2 is a C build, gitoxide dozens of crates) for three
//! read-only commands. Every CI image that checks out a repository has `git`.
//!
//! A file that holds several migrations (a Liquibase changelog) is matched as
//! a whole: when it changed, all its migrations are audited.

use crate::error::{Error, Result};
use crate::finding::{Finding, FindingBuilder, Origin};
use crate::model::Migration;
use crate::options::Options;
use crate::report::Workspace;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How a file compares with the `--since` revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    /// In the revision's tree and not changed since.
    Unchanged,
    /// Not in the revision's tree (new, untracked, or read from stdin).
    Added,
    /// In the revision's tree, changed since (committed or not); the first
    /// line of the file as it is now that differs (1-based), when known.
    Changed(Option<usize>),
}

/// What `--since`/`--from` decided for one check.
#[derive(Debug, Default)]
pub struct Scope {
    /// Names of files whose findings are not reported: every migration that
    /// uses them is part of the starting state.
    pub old_files: BTreeSet<String>,
    /// `applied-migration-changed` findings.
    pub findings: Vec<Finding>,
    pub notices: Vec<String>,
}

impl Scope {
    /// Whether `f` is reported: findings in old files are not, except a
    /// replay failure to apply one of them (the starting state is broken).
    pub fn keeps(&self, f: &Finding) -> bool {
        f.source == Origin::Replay || !self.old_files.contains(&f.file)
    }
}

/// Marks the migrations of the starting state in `ws` as `apply_only`, for
/// `opts.since` or `opts.from`. `Ok(None)` when neither is set.
///
/// Migrations a layout made the starting state (a full schema snapshot,
/// [`Migration::start_note`]) stay so, and findings in files only they use
/// are not reported either, with or without `--since`/`--from`.
pub fn mark(ws: &mut Workspace, opts: &Options) -> Result<Option<Scope>> {
    let start = layout_start_files(ws);
    let mut scope = if let Some(rev) = &opts.since {
        let paths: Vec<Option<&Path>> = ws.files.iter().map(|f| f.source.path.as_deref()).collect();
        let states = git_states(&paths, rev)?;
        Some(mark_by_files(ws, &states, rev))
    } else {
        opts.from
            .as_ref()
            .map(|version| mark_by_version(ws, version))
            .transpose()?
    };
    if !start.is_empty() {
        scope
            .get_or_insert_with(Scope::default)
            .old_files
            .extend(start);
    }
    Ok(scope)
}

/// Names of the files that only migrations a layout made the starting state
/// use.
fn layout_start_files(ws: &Workspace) -> BTreeSet<String> {
    let mut audited: BTreeMap<usize, bool> = BTreeMap::new();
    for seq in &ws.sequences {
        for m in &seq.migrations {
            let start = m.apply_only && m.start_note.is_some();
            for f in files_of(m) {
                *audited.entry(f).or_insert(false) |= !start;
            }
        }
    }
    audited
        .into_iter()
        .filter(|(_, a)| !a)
        .filter_map(|(f, _)| ws.files.get(f).map(|u| u.source.name.clone()))
        .collect()
}

fn files_of(m: &Migration) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(m.up.file).chain(m.down.as_ref().map(|d| d.file))
}

/// `--since`: a migration is old when all its files are unchanged.
pub fn mark_by_files(ws: &mut Workspace, states: &[FileState], rev: &str) -> Scope {
    let state = |i: usize| states.get(i).copied().unwrap_or(FileState::Added);
    let mut audited_files = HashSet::new();
    let (mut old, mut added, mut changed) = (0, 0, 0);
    for seq in &mut ws.sequences {
        for m in &mut seq.migrations {
            let states: Vec<FileState> = files_of(m).map(state).collect();
            if states.iter().all(|&s| s == FileState::Unchanged) {
                m.apply_only = true;
                old += 1;
            } else {
                audited_files.extend(files_of(m));
                if states.iter().any(|s| matches!(s, FileState::Changed(_))) {
                    changed += 1;
                } else {
                    added += 1;
                }
            }
        }
    }
    let mut scope = Scope::default();
    for (i, unit) in ws.files.iter().enumerate() {
        match state(i) {
            FileState::Unchanged if !audited_files.contains(&i) => {
                scope.old_files.insert(unit.source.name.clone());
            }
            FileState::Changed(line) => {
                let meta = &crate::rules::applied_migration_changed::META;
                let b = FindingBuilder { file: &unit.source };
                let src = &unit.source;
                // The first changed line, where a pull request shows it.
                let span = match line {
                    Some(l) if l >= 1 && l <= src.line_count() => {
                        let start = src.line_start(l);
                        start..start + src.line_text(l).len()
                    }
                    _ => 0..0,
                };
                let at = match line {
                    Some(l) => format!(" (first change at line {l})"),
                    None => String::new(),
                };
                let mut f = b.at(
                    meta.id,
                    meta.severity,
                    meta.origin,
                    span,
                    format!(
                        "{} already existed at {rev} and has changed since{at}: databases that \
                         applied it keep the old version, and tools that checksum applied \
                         migrations refuse to go on",
                        unit.source.name
                    ),
                );
                f.help = Some(
                    "leave applied migrations as they are and make the change in a new migration"
                        .into(),
                );
                scope.findings.push(f);
            }
            _ => {}
        }
    }
    if old + added + changed > 0 {
        scope.notices.push(format!(
            "--since {rev}: {} unchanged since then applied once as the starting state \
             (not audited); {} new and {} changed audited",
            plural(old, "migration"),
            added,
            changed
        ));
    }
    scope
}

/// `--from`: migrations ordered before the first one whose version is
/// `version` or later (compared as numbers where both have digits, so
/// `1.10` comes after `1.9`) are old.
pub fn mark_by_version(ws: &mut Workspace, version: &str) -> Result<Scope> {
    // A value with no digit, where every migration's version has digits, is
    // no version (a mistyped `--from` would otherwise audit nothing and
    // pass).
    let versions = || {
        ws.sequences
            .iter()
            .flat_map(|s| &s.migrations)
            .map(|m| &m.version)
    };
    let has_digit = |v: &str| v.bytes().any(|b| b.is_ascii_digit());
    if !has_digit(version) && versions().next().is_some() && versions().all(|v| has_digit(v)) {
        let example = versions().next().map(String::as_str).unwrap_or_default();
        return Err(crate::error::Error::new(format!(
            "--from {version}: not a version (the migrations' versions have digits, such as \
             `{example}`): give the version of the first migration to audit"
        )));
    }
    let mut scope = Scope::default();
    // Per file: whether some audited migration uses it.
    let mut audited: BTreeMap<usize, bool> = BTreeMap::new();
    let mut old_total = 0;
    for seq in &mut ws.sequences {
        let start = seq
            .migrations
            .iter()
            .position(|m| version_cmp(&m.version, version) != std::cmp::Ordering::Less)
            .unwrap_or(seq.migrations.len());
        if start == seq.migrations.len() && !seq.migrations.is_empty() {
            scope.notices.push(format!(
                "{}: --from {version}: no migration has this version or a later one; all {} are \
                 applied as the starting state",
                seq.root,
                seq.migrations.len()
            ));
        }
        for (i, m) in seq.migrations.iter_mut().enumerate() {
            // A layout's starting state (a full schema) stays one.
            m.apply_only = i < start || m.start_note.is_some();
            old_total += usize::from(m.apply_only);
            for f in files_of(m) {
                *audited.entry(f).or_insert(false) |= !m.apply_only;
            }
        }
    }
    for (file, used_by_audited) in audited {
        if !used_by_audited {
            if let Some(unit) = ws.files.get(file) {
                scope.old_files.insert(unit.source.name.clone());
            }
        }
    }
    scope.notices.push(format!(
        "--from {version}: {} before it applied once as the starting state (not audited)",
        plural(old_total, "migration")
    ));
    Ok(scope)
}

/// Compares versions: runs of digits as numbers (leading zeros do not
/// count, so `051` is `51` and `1.10` comes after `1.9`), the rest as text
/// without case.
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn runs(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, run)) if *d == digit => run.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        for (digit, run) in &mut out {
            if *digit {
                let trimmed = run.trim_start_matches('0');
                *run = if trimmed.is_empty() {
                    "0".into()
                } else {
                    trimmed.into()
                };
            } else {
                *run = run.to_lowercase();
            }
        }
        // Trailing zero parts do not count (Flyway's `2.0` is `2`).
        while out.len() > 2
            && out.last().is_some_and(|(d, r)| *d && r == "0")
            && matches!(out[out.len() - 2].1.as_str(), "." | "_")
        {
            out.truncate(out.len() - 2);
        }
        out
    }
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(&rb) {
        let ord = match (x.0, y.0) {
            (true, true) => x.1.len().cmp(&y.1.len()).then_with(|| x.1.cmp(&y.1)),
            _ => x.1.cmp(&y.1),
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    ra.len().cmp(&rb.len())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The state of each path (`None`: not from disk, e.g. stdin) compared with
/// the git revision `rev` of the repository that holds it.
pub fn git_states(paths: &[Option<&Path>], rev: &str) -> Result<Vec<FileState>> {
    if rev.is_empty() || rev.starts_with('-') {
        return Err(Error::new(format!(
            "--since `{rev}`: not a git revision (expected a branch, tag or commit such as origin/main)"
        )));
    }
    // Per folder: the repository top level; per top level: what git says.
    let mut tops: HashMap<PathBuf, PathBuf> = HashMap::new();
    let mut repos: HashMap<PathBuf, RepoView> = HashMap::new();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let Some(path) = path else {
            out.push(FileState::Added);
            continue;
        };
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let dir = abs.parent().unwrap_or(Path::new(".")).to_path_buf();
        let top = match tops.get(&dir) {
            Some(t) => t.clone(),
            None => {
                let t = toplevel(&dir, path)?;
                tops.insert(dir, t.clone());
                t
            }
        };
        if !repos.contains_key(&top) {
            let view = RepoView::read(&top, rev)?;
            repos.insert(top.clone(), view);
        }
        let view = &repos[&top];
        let rel = abs
            .strip_prefix(&top)
            .map(|r| {
                r.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default();
        out.push(if !view.tree.contains(&rel) {
            FileState::Added
        } else if view.changed.contains(&rel) {
            let before = git(
                &top,
                &["cat-file", "blob", &format!("{}:{rel}", view.commit)],
            );
            let now = std::fs::read(&abs);
            match (before, now) {
                (Ok(before), Ok(now)) => FileState::Changed(first_changed_line(&before, &now)),
                _ => FileState::Changed(None),
            }
        } else {
            FileState::Unchanged
        });
    }
    Ok(out)
}

/// What git says about one repository and revision.
struct RepoView {
    /// The revision as a commit id.
    commit: String,
    /// Files in the revision's tree, relative to the top level.
    tree: HashSet<String>,
    /// Files that differ between the revision and the working tree.
    changed: HashSet<String>,
}

impl RepoView {
    fn read(top: &Path, rev: &str) -> Result<RepoView> {
        let shown = crate::source::display_path(top);
        let commit = git(
            top,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::new(format!(
                "--since {rev}: no such commit in the git repository {shown}; fetch it first \
                     (a shallow CI checkout lacks it: `git fetch origin main`, or `fetch-depth: 0` \
                     in actions/checkout), or name another branch, tag or commit"
            ))
        })?;
        let tree = git(
            top,
            &["ls-tree", "-r", "-z", "--name-only", "--full-tree", &commit],
        )
        .map_err(|e| Error::new(format!("--since {rev}: {e}")))?;
        let changed = git(
            top,
            &[
                "diff",
                "--name-only",
                "-z",
                "--no-renames",
                "--no-ext-diff",
                "--ignore-submodules",
                &commit,
                "--",
            ],
        )
        .map_err(|e| Error::new(format!("--since {rev}: {e}")))?;
        Ok(RepoView {
            commit,
            tree: split_z(&tree),
            changed: split_z(&changed),
        })
    }
}

/// The first line (1-based) of `now` that differs from `before`; the last
/// line when `now` only lost lines at its end; `None` when they are equal.
/// Line ends (LF, CRLF) count as part of the line.
pub fn first_changed_line(before: &[u8], now: &[u8]) -> Option<usize> {
    if before == now {
        return None;
    }
    let a: Vec<&[u8]> = before.split(|&b| b == b'\n').collect();
    let b: Vec<&[u8]> = now.split(|&b| b == b'\n').collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    Some((common + 1).min(b.len().max(1)))
}

fn split_z(bytes: &[u8]) -> HashSet<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// The top level of the repository holding folder `dir`.
fn toplevel(dir: &Path, file: &Path) -> Result<PathBuf> {
    match git(dir, &["rev-parse", "--show-toplevel"]) {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out)
                .trim_end_matches('\n')
                .to_string();
            Ok(std::fs::canonicalize(&text).unwrap_or_else(|_| PathBuf::from(text)))
        }
        Err(GitError::Missing) => Err(Error::new(
            "--since needs the `git` program, which is not on PATH; install git, or use \
             --from VERSION to name the first migration to audit",
        )),
        Err(GitError::Failed(_)) => Err(Error::new(format!(
            "{}: not in a git repository, so --since cannot compare it with a revision; \
             use --from VERSION to name the first migration to audit",
            crate::source::display_path(file)
        ))),
    }
}

#[derive(Debug)]
enum GitError {
    /// The `git` program is not installed.
    Missing,
    /// git ran and failed: its message.
    Failed(String),
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitError::Missing => f.write_str("the `git` program is not on PATH"),
            GitError::Failed(m) => write!(f, "git failed: {m}"),
        }
    }
}

/// Runs `git -C dir ARGS` and returns its stdout.
fn git(dir: &Path, args: &[&str]) -> std::result::Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // Never prompt, never page, never read the user's terminal.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GitError::Missing,
            _ => GitError::Failed(e.to_string()),
        })?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(GitError::Failed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        use std::cmp::Ordering::*;
        assert_eq!(version_cmp("1.10", "1.9"), Greater);
        assert_eq!(version_cmp("20240102", "20240102"), Equal);
        assert_eq!(version_cmp("051", "51"), Equal);
        assert_eq!(version_cmp("050", "51"), Less);
        assert_eq!(version_cmp("001", "3"), Less);
        assert_eq!(version_cmp("2", "10"), Less);
        assert_eq!(version_cmp("1.2", "1.2.1"), Less);
        assert_eq!(version_cmp("2.0", "2"), Equal);
        assert_eq!(version_cmp("2", "2.0.0"), Equal);
        assert_eq!(version_cmp("2.0.1", "2"), Greater);
        assert_eq!(version_cmp("10", "1.0"), Greater);
        assert_eq!(version_cmp("V2", "v2"), Equal);
    }

    #[test]
    fn first_changed_lines() {
        assert_eq!(first_changed_line(b"a\nb\n", b"a\nb\n"), None);
        assert_eq!(first_changed_line(b"a\nb\n", b"a\nc\n"), Some(2));
        assert_eq!(first_changed_line(b"a\nb\n", b"\na\nb\n"), Some(1));
        assert_eq!(first_changed_line(b"a\nb\n", b"a\nb\nc\n"), Some(3));
        // Lines removed at the end: the last line.
        assert_eq!(first_changed_line(b"a\nb\nc", b"a\nb"), Some(2));
        assert_eq!(first_changed_line(b"a\r\n", b"a\n"), Some(1));
    }

    #[test]
    fn bad_revisions_are_refused_before_git_runs() {
        let e = git_states(&[None], "--output=x").unwrap_err();
        assert!(e.message.contains("not a git revision"), "{e}");
    }
}
