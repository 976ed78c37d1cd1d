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

use crate::check::Report;
use crate::finding::Finding;
use crate::rules::RuleMeta;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
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
        }
    }
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

/// The path of a finding's file as CI tools want it: relative to `base` when
/// it is an absolute path under it, with forward slashes and without a
/// leading `./`.
pub fn artifact_path(file: &str, base: Option<&Path>) -> String {
    let mut name = file.to_string();
    if let Some(base) = base {
        if let Ok(rel) = Path::new(file).strip_prefix(base) {
            if !rel.as_os_str().is_empty() {
                name = rel.to_string_lossy().into_owned();
            }
        }
    }
    if cfg!(windows) {
        // On Windows `\` separates folders; elsewhere it is part of a name
        // (and becomes `%5C` in a URI).
        name = name.replace('\\', "/");
    }
    while let Some(rest) = name.strip_prefix("./") {
        name = rest.to_string();
    }
    name
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

/// Fingerprints that identify each finding across runs, parallel to
/// `report.findings`. They hash the rule, the file, the statement text with
/// whitespace runs collapsed, and the finding's occurrence index among
/// findings with the same rule, file and text; never line numbers, so they
/// stay the same when unrelated lines move.
pub fn fingerprints(report: &Report, base: Option<&Path>) -> Vec<String> {
    use sha2::{Digest, Sha256};
    use std::collections::HashMap;
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    report
        .findings
        .iter()
        .map(|f| {
            let path = artifact_path(&f.file, base);
            let text = normalized_text(report, f);
            let key = (f.rule.clone(), path, text);
            let n = seen.entry(key.clone()).or_insert(0);
            let occurrence = *n;
            *n += 1;
            let mut h = Sha256::new();
            for part in [key.0.as_str(), key.1.as_str(), key.2.as_str()] {
                h.update(part.as_bytes());
                h.update([0]);
            }
            h.update(occurrence.to_string().as_bytes());
            let digest = h.finalize();
            digest[..16].iter().map(|b| format!("{b:02x}")).collect()
        })
        .collect()
}

/// The text a finding is about (its statement, else its own span), with
/// every run of whitespace made one space.
fn normalized_text(report: &Report, f: &Finding) -> String {
    let Some(file) = report.file(&f.file) else {
        return String::new();
    };
    let span = f
        .statement
        .and_then(|s| report.statement_span(&f.file, s))
        .unwrap_or_else(|| f.span.clone());
    let text = file.text.get(span).unwrap_or("");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first line of a (possibly multi-line) message, and the rest.
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
