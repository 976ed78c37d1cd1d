//! Renderers turn a [`Report`] into bytes. They know nothing about rules
//! beyond the data in the report and the rule metadata they are given in
//! [`RenderOptions::rules`]; they never call rule logic.
//!
//! One file per format; [`Format`] and [`renderer`] below are the one place
//! where formats are registered. Adding a format means adding its file, a
//! variant to [`Format`] (with its name and description) and one arm in
//! [`renderer`]; `--format`, completions and the man page pick it up.
//!
//! # Where notices go
//! [`Report::notices`] (skipped files, replay skipped, ...) are for people.
//! The `human` renderer writes them into its own stream as `note:` lines
//! just before the summary. Every other format is read by programs, so the
//! caller (the CLI) writes the notices to stderr instead
//! ([`Format::notices_in_output`] is false); `json` and `sarif` also carry
//! them inside the document (`notices`, and SARIF
//! `invocations[0].toolExecutionNotifications`), where they cannot corrupt
//! anything. No renderer other than `human` ever writes free text.
//!
//! # Positions
//! Every format uses 1-based lines and 1-based columns counted in characters
//! (Unicode scalar values). `end_line`/`end_column` (SARIF `endLine`/
//! `endColumn`, GitHub `endLine`/`endColumn`) point just past the last
//! character of the reported span: the end is exclusive, as in SARIF.

use crate::finding::{Finding, Origin, Severity};
use crate::report::Report;
use crate::rules::RuleMeta;
use std::io::{self, Write};
use std::path::PathBuf;

// Where they were before they moved to leaf modules (baseline.rs uses them too).
pub use crate::fingerprint::{fingerprints, fingerprints_on};
pub use crate::source::artifact_path;

pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
mod plain;
pub mod sarif;

/// Output formats of `twice check --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
    Gitlab,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::Human,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Gitlab,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
            Format::Gitlab => "gitlab",
        }
    }

    /// One line for `--help`.
    pub fn description(self) -> &'static str {
        match self {
            Format::Human => "rustc-style diagnostics with code frames",
            Format::Json => "one JSON document (version 1), stable for scripts",
            Format::Sarif => "SARIF 2.1.0, for GitHub code scanning and other SARIF viewers",
            Format::Github => "GitHub Actions workflow commands (annotations)",
            Format::Gitlab => "GitLab Code Quality report (JSON)",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Whether the renderer shows [`Report::notices`] in its own output.
    /// When false, the caller must show them elsewhere (stderr).
    pub fn notices_in_output(self) -> bool {
        matches!(self, Format::Human)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Settings shared by renderers.
#[derive(Clone, Debug)]
pub struct RenderOptions<'a> {
    /// Colour (ANSI escapes) in the human format. When false, no escape code
    /// is written at all.
    pub color: bool,
    /// Every rule twice can emit, as data (SARIF lists them in `rules[]`).
    pub rules: &'a [&'a RuleMeta],
    /// The tool's version, for SARIF `tool.driver.version`.
    pub tool_version: &'a str,
    /// Where to read about the tool, for SARIF `tool.driver.informationUri`.
    pub information_uri: &'a str,
    /// The working folder. Absolute file names under it are shown relative
    /// to it in SARIF, GitHub and GitLab output (those tools want paths
    /// relative to the repository root). `None`: leave names as they are.
    pub base: Option<PathBuf>,
    /// Threads the human format draws findings on (`--jobs`); the text is
    /// the same for any number.
    pub jobs: usize,
}

impl Default for RenderOptions<'static> {
    /// No colour, every registered rule, this build's version.
    fn default() -> Self {
        RenderOptions {
            color: false,
            rules: crate::rules::registry(),
            tool_version: env!("CARGO_PKG_VERSION"),
            information_uri: env!("CARGO_PKG_REPOSITORY"),
            base: None,
            jobs: 1,
        }
    }
}

/// One finding per problem: which findings are shown, and which replay
/// findings each shown static finding carries. A replay finding about the
/// same statement as a static finding ([`Finding::related`]) is shown inside
/// the static one ("confirmed by replay"), unless it is more severe than
/// every static finding it confirms (so a severity is never understated) or
/// is a `first-run-error` (a problem of its own, which the static finding's
/// fix would not touch): then it is shown on its own. Every format but `json` (which lists all
/// findings, linked by `related`) shows findings this way, and the human
/// summary counts what is shown.
pub struct Plan {
    /// Replay findings shown inside a static block instead of their own.
    pub merged: Vec<bool>,
    /// For a static finding: the replay findings that confirm it, with
    /// whether this block is the one that shows their details.
    pub confirmations: Vec<Vec<(usize, bool)>>,
    /// For a static finding: more severe replay findings shown on their own.
    pub see_below: Vec<Vec<usize>>,
    /// For a replay finding shown on its own: the static findings it confirms.
    pub see_above: Vec<Vec<usize>>,
}

impl Plan {
    pub fn new(findings: &[Finding]) -> Plan {
        let n = findings.len();
        let mut plan = Plan {
            merged: vec![false; n],
            confirmations: vec![Vec::new(); n],
            see_below: vec![Vec::new(); n],
            see_above: vec![Vec::new(); n],
        };
        for (r, replay) in findings.iter().enumerate() {
            if replay.source != Origin::Replay {
                continue;
            }
            let statics: Vec<usize> = replay
                .related
                .iter()
                .copied()
                .filter(|&s| s != r && findings.get(s).is_some_and(|f| f.source == Origin::Static))
                .collect();
            if statics.is_empty() {
                continue;
            }
            // A first run that fails is a problem of its own, not the one
            // the static rule names (its fix would leave the failure): it
            // keeps its own result, as a more severe one does.
            let own = replay.rule == crate::rules::first_run_error::META.id;
            if !own
                && statics
                    .iter()
                    .any(|&s| findings[s].severity >= replay.severity)
            {
                plan.merged[r] = true;
                let mut details_shown = false;
                for &s in &statics {
                    if findings[s].severity >= replay.severity {
                        plan.confirmations[s].push((r, !details_shown));
                        details_shown = true;
                    }
                }
            } else {
                for &s in &statics {
                    plan.see_below[s].push(r);
                    plan.see_above[r].push(s);
                }
            }
        }
        plan
    }
}

impl Plan {
    /// Whether finding `i` is shown (not merged into a static finding).
    pub fn shown(&self, i: usize) -> bool {
        !self.merged.get(i).copied().unwrap_or(false)
    }

    /// Shown findings of severity `s`.
    pub fn count(&self, findings: &[Finding], s: Severity) -> usize {
        findings
            .iter()
            .enumerate()
            .filter(|(i, f)| self.shown(*i) && f.severity == s)
            .count()
    }
}

pub use crate::report::Files;

/// Shown findings per rule (see [`Plan`]), most frequent first (then by id).
pub fn statistics(report: &Report) -> Vec<(String, usize)> {
    shown_counts(report, |f| f.rule.as_str())
}

/// The `n` files with the most shown findings, most first (then by name).
pub fn top_files(report: &Report, n: usize) -> Vec<(String, usize)> {
    let mut v = shown_counts(report, |f| f.file.as_str());
    v.truncate(n);
    v
}

/// Shown findings counted by `key`, most first (then by key).
fn shown_counts<'r>(
    report: &'r Report,
    key: impl Fn(&'r crate::finding::Finding) -> &'r str,
) -> Vec<(String, usize)> {
    let plan = Plan::new(&report.findings);
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for (i, f) in report.findings.iter().enumerate() {
        if plan.shown(i) {
            *counts.entry(key(f)).or_insert(0) += 1;
        }
    }
    let mut v: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

pub trait Renderer {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// The renderer for `format`.
pub fn renderer<'a>(format: Format, opts: &RenderOptions<'a>) -> Box<dyn Renderer + 'a> {
    let opts = opts.clone();
    match format {
        Format::Human => Box::new(human::Human::new(opts)),
        Format::Json => Box::new(json::Json),
        Format::Sarif => Box::new(sarif::Sarif::new(opts)),
        Format::Github => Box::new(github::Github::new(opts)),
        Format::Gitlab => Box::new(gitlab::Gitlab::new(opts)),
    }
}

/// An artifact path as a URI reference (RFC 3986): relative paths stay
/// relative, absolute ones become `file://` URIs; everything outside the
/// unreserved set and `/` is percent-encoded (UTF-8).
pub fn artifact_uri(path: &str) -> String {
    let (prefix, rest) = if path.starts_with('/') {
        ("file://", path)
    } else if is_windows_absolute(path) {
        ("file:///", path)
    } else {
        ("", path)
    };
    let mut out = String::from(prefix);
    for (i, b) in rest.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
            // The drive colon of `file:///C:/...`.
            || (b == b':' && i == 1 && !prefix.is_empty());
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_windows_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/'
}

/// The first line of a (possibly multi-line) message, and the rest.
/// How a static finding's block names a replay finding about the same
/// statement: a failure or a change on a second run confirms what the
/// static rule says; a statement replay did not run (`replay-statement-skipped`:
/// an undefined placeholder, a statement the sandbox refused) is neither
/// confirmed nor found; anything else replay saw there (a statement the
/// sandbox refused, a run that timed out) was found by replay. (A first run
/// that fails keeps its own block: see [`Plan`].)
pub fn replay_note(replay: &Finding) -> String {
    let first = split_message(&replay.message).0;
    if replay.rule.starts_with("second-run-") || replay.rule.starts_with("down-second-run-") {
        format!("confirmed by replay: {first}")
    } else if replay.rule == crate::rules::replay_statement_skipped::META.id {
        // The engines word the reason "not run: ..." or "not replayed: ...".
        let why = ["not run: ", "not replayed: "]
            .iter()
            .find_map(|p| first.strip_prefix(p))
            .unwrap_or(first);
        format!("not replayed: {why}")
    } else {
        format!("found by replay: {first}")
    }
}

pub fn split_message(message: &str) -> (&str, Option<&str>) {
    let message = message.trim_end_matches(['\n', '\r']);
    match message.find(['\n', '\r']) {
        Some(i) => {
            let rest = message[i..].trim_start_matches('\r');
            let rest = rest.strip_prefix('\n').unwrap_or(rest);
            (&message[..i], Some(rest))
        }
        None => (message, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_skipped_statement_is_noted_once_as_not_replayed() {
        let file = crate::source::SourceFile::from_text("m.sql", "CREATE ROLE r;");
        let b = crate::finding::FindingBuilder { file: &file };
        let id = crate::rules::replay_statement_skipped::META.id;
        for message in [
            "not replayed: the statement changes a role",
            "not run: the statement changes a role",
        ] {
            let f = b.at(id, Severity::Info, Origin::Replay, 0..4, message.into());
            assert_eq!(
                replay_note(&f),
                "not replayed: the statement changes a role"
            );
        }
    }

    #[test]
    fn format_names_round_trip() {
        for &f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
        assert_eq!(Format::from_name("xml"), None);
    }

    #[test]
    fn artifact_paths_are_relative_with_forward_slashes() {
        assert_eq!(artifact_path("./m/1.sql", None), "m/1.sql");
        assert_eq!(
            artifact_path("/work/repo/m/1.sql", Some(Path::new("/work/repo"))),
            "m/1.sql"
        );
        assert_eq!(
            artifact_path("/elsewhere/1.sql", Some(Path::new("/work/repo"))),
            "/elsewhere/1.sql"
        );
        assert_eq!(
            artifact_path("../repo/m/./1.sql", Some(Path::new("/work/repo"))),
            "m/1.sql"
        );
        assert_eq!(
            artifact_path("../other/1.sql", Some(Path::new("/work/repo"))),
            "/work/other/1.sql"
        );
        assert_eq!(
            artifact_path("<stdin>", Some(Path::new("/work/repo"))),
            "<stdin>"
        );
        if cfg!(windows) {
            assert_eq!(artifact_path("m\\sub\\1.sql", None), "m/sub/1.sql");
        } else {
            assert_eq!(artifact_uri(&artifact_path("m\\1.sql", None)), "m%5C1.sql");
        }
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(artifact_uri("m/1 init.sql"), "m/1%20init.sql");
        assert_eq!(artifact_uri("m/100%.sql"), "m/100%25.sql");
        assert_eq!(artifact_uri("m/ç#?.sql"), "m/%C3%A7%23%3F.sql");
        assert_eq!(artifact_uri("<stdin>"), "%3Cstdin%3E");
        assert_eq!(artifact_uri("/abs/a b.sql"), "file:///abs/a%20b.sql");
        assert_eq!(artifact_uri("C:/m/a.sql"), "file:///C:/m/a.sql");
        assert_eq!(artifact_uri("a:b.sql"), "a%3Ab.sql");
    }

    #[test]
    fn split_message_keeps_the_rest() {
        assert_eq!(split_message("one"), ("one", None));
        assert_eq!(split_message("one\n"), ("one", None));
        assert_eq!(
            split_message("one\r\ntwo\nthree"),
            ("one", Some("two\nthree"))
        );
    }
}

/// [`Report::notices`] as people read them: four or more files of one
/// folder skipped for the same reason (a hundred goose Go migrations) are
/// one line, `<folder>: skipped <n> files (<first> to <last>): <reason>`, at
/// the place of the first; every other notice as it is. Documents (`json`,
/// `sarif`, `twice plan`) keep every notice.
pub fn notices_for_people(notices: &[String]) -> Vec<String> {
    const GROUP: usize = 4;
    let split = |n: &str| -> Option<(String, String, String)> {
        let (path, why) = n.split_once(": skipped: ")?;
        let (dir, file) = path.rsplit_once('/')?;
        Some((dir.to_string(), file.to_string(), why.to_string()))
    };
    let mut groups: std::collections::HashMap<(String, String), Vec<String>> =
        std::collections::HashMap::new();
    for n in notices {
        if let Some((dir, file, why)) = split(n) {
            groups.entry((dir, why)).or_default().push(file);
        }
    }
    let mut out = Vec::new();
    for n in notices {
        match split(n) {
            Some((dir, _, why)) => match groups.get_mut(&(dir.clone(), why.clone())) {
                Some(files) if files.len() >= GROUP => {
                    let (first, last) = (&files[0], &files[files.len() - 1]);
                    out.push(format!(
                        "{dir}: skipped {} files ({first} to {last}): {why}",
                        files.len()
                    ));
                    files.clear();
                }
                // The rest of a group already written.
                Some(files) if files.is_empty() => {}
                _ => out.push(n.clone()),
            },
            None => out.push(n.clone()),
        }
    }
    out
}

#[cfg(test)]
mod notice_tests {
    use super::notices_for_people;

    #[test]
    fn many_files_skipped_for_one_reason_are_one_line() {
        let why = "a goose Go migration: not SQL";
        let mut notices: Vec<String> = (1..=5)
            .map(|i| format!("db/migrations/0000{i}_step.go: skipped: {why}"))
            .collect();
        notices.insert(2, "db/migrations: replay skipped: no engine".to_string());
        notices.push("other/x.go: skipped: a goose Go migration: not SQL".to_string());
        notices.push("db/migrations/README.md: skipped: not SQL".to_string());
        assert_eq!(
            notices_for_people(&notices),
            vec![
                format!("db/migrations: skipped 5 files (00001_step.go to 00005_step.go): {why}"),
                "db/migrations: replay skipped: no engine".to_string(),
                "other/x.go: skipped: a goose Go migration: not SQL".to_string(),
                "db/migrations/README.md: skipped: not SQL".to_string(),
            ]
        );
        // Three are left as they are.
        let three: Vec<String> = notices[..2].iter().chain(&notices[3..4]).cloned().collect();
        assert_eq!(notices_for_people(&three), three);
    }
}
