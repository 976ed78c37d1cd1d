//! Checking one open document the way `twice check` would check its folder.
//!
//! The document's migration folder is checked as a whole (so layout
//! detection, the dialect a folder name implies and the migration history
//! behind `insert-without-conflict-clause` fixes are the CLI's), with the
//! editor's unsaved text laid over the file on disk
//! ([`crate::source::FileSource::with_overlay`]). The nearest `twice.toml` above the
//! file applies, as it would to `twice check` run from that folder. A
//! document that its folder's layout does not read (a new file not saved
//! yet, a `.sql` file with a name the tool ignores) is checked as a script
//! of its own, as `twice check FILE` does.

use crate::check;
use crate::dialect::Dialect;
use crate::discover::Input;
use crate::finding::Finding;
use crate::options::Options;
use crate::report::Report;
use crate::source::{FileSource, SourceFile};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Check options for a configuration file (or none): the CLI's defaults
/// without flags, merged with the file.
pub type OptionsFor = dyn Fn(Option<&crate::config::Config>) -> Options + Send + Sync;

/// Where a document sits and how the CLI would check it.
#[derive(Clone, Debug)]
pub struct Context {
    /// The file as twice names it (relative to the server's folder).
    pub name: String,
    /// What to pass to `twice check` to check the file's history: its
    /// migration folder, or the file itself when it is checked as a script.
    pub target: PathBuf,
    /// The `twice.toml` that applies, if any.
    pub config: Option<PathBuf>,
}

/// The static check of one version of a document.
#[derive(Debug)]
pub struct Analysis {
    pub version: i32,
    /// The text checked (the editor's, byte for byte).
    pub text: String,
    /// The file as twice read it (decoded, without a byte-order mark).
    pub file: SourceFile,
    /// Findings about this file, static only.
    pub findings: Vec<Finding>,
    /// Byte spans of the file's statements (in `file.text`).
    pub statements: Vec<Range<usize>>,
    pub dialect: Dialect,
    pub context: Option<Context>,
    /// Problems to show the user (a bad `twice.toml`, a folder that could
    /// not be read).
    pub problems: Vec<String>,
    /// The file is excluded by `twice.toml`: nothing is reported.
    pub excluded: bool,
}

impl Analysis {
    /// Bytes to add to an offset in `file.text` to get one in `text`: a
    /// byte-order mark the editor kept is 3 bytes.
    pub fn shift(&self) -> usize {
        if self.text.starts_with('\u{feff}') {
            3
        } else {
            0
        }
    }
}

/// The folder whose history holds `path`: the file's folder, or for
/// diesel's `<migration>/up.sql` / `down.sql` and Prisma's
/// `<migration>/migration.sql` the folder of migration folders above it.
fn migration_folder(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if matches!(name.as_str(), "up.sql" | "down.sql" | "migration.sql") {
        if let Some(gp) = parent.parent() {
            return gp.to_path_buf();
        }
    }
    parent.to_path_buf()
}

/// `path` relative to the current folder when it is inside it (as a user
/// in the project's root folder would name it), else as it is.
/// Symbolic links on either side are resolved when the plain paths do not
/// match.
fn shown(path: &Path) -> PathBuf {
    let Ok(cwd) = std::env::current_dir() else {
        return path.to_path_buf();
    };
    let rel = path.strip_prefix(&cwd).map(Path::to_path_buf).or_else(|_| {
        let canon_cwd = std::fs::canonicalize(&cwd)?;
        let canon = std::fs::canonicalize(path)?;
        canon
            .strip_prefix(canon_cwd)
            .map(Path::to_path_buf)
            .map_err(std::io::Error::other)
    });
    match rel {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel,
        Err(_) => path.to_path_buf(),
    }
}

/// Checks `text` as the document at `path` (`None`: not a file on disk,
/// named `name`).
pub fn analyze(
    path: Option<&Path>,
    name: &str,
    version: i32,
    text: String,
    options_for: &OptionsFor,
) -> Analysis {
    let mut problems = Vec::new();
    let bytes = text.as_bytes().to_vec();
    let mut context = None;
    let mut report = None;
    let mut excluded = false;
    let mut opts;
    if let Some(path) = path {
        let folder = migration_folder(path);
        let (config, config_path) = match crate::config::load(None, &folder) {
            Ok(c) => (c, crate::config::find(&folder).map(|(p, _)| p)),
            Err(e) => {
                problems.push(format!("{e} (checking with the default settings)"));
                (None, None)
            }
        };
        opts = options_for(config.as_ref());
        opts.replay = false;
        let file = shown(path);
        let folder = shown(&folder);
        if opts.excluded(path) {
            excluded = true;
        } else {
            // The overlay key is the path as discovery reaches it.
            let rel = file.strip_prefix(&folder).unwrap_or(&file);
            let key = folder.join(rel);
            let overlay = FileSource::with_overlay(HashMap::from([(key, bytes.clone())]));
            let file_name = crate::source::display_path(&file);
            match check::check_from(&[Input::Path(folder.clone())], &opts, &overlay) {
                Ok(r) if r.file(&file_name).is_some() => {
                    report = Some((r, file_name.clone()));
                    context = Some(Context {
                        name: file_name,
                        target: folder,
                        config: config_path,
                    });
                }
                Ok(_) => {
                    context = Some(Context {
                        name: file_name,
                        target: file,
                        config: config_path,
                    });
                }
                Err(e) => {
                    problems.push(format!(
                        "{e} (checking {} on its own)",
                        crate::source::display_path(path)
                    ));
                }
            }
        }
    } else {
        opts = options_for(None);
        opts.replay = false;
    }
    let name = context
        .as_ref()
        .map_or(name.to_string(), |c| c.name.clone());
    if report.is_none() && !excluded {
        // A script of its own, read from the overlay (never from stdin,
        // which carries the protocol).
        let mut o = opts.clone();
        o.stdin_filename = Some(name.clone());
        let overlay = FileSource::with_overlay(HashMap::from([(
            PathBuf::from(FileSource::STDIN),
            bytes.clone(),
        )]));
        match check::check_from(&[Input::Stdin], &o, &overlay) {
            Ok(r) => report = Some((r, name.clone())),
            Err(e) => problems.push(e.to_string()),
        }
    }
    let (mut findings, file, statements, dialect) = match report {
        Some((r, n)) => split(r, &n),
        None => (
            Vec::new(),
            SourceFile::from_bytes(name.clone(), path, &bytes),
            Vec::new(),
            Dialect::Sqlite,
        ),
    };
    findings.retain(|f| f.source == crate::finding::Origin::Static);
    Analysis {
        version,
        text,
        file,
        findings,
        statements,
        dialect,
        context,
        problems,
        excluded,
    }
}

/// This file's part of a report: findings, the file, statement spans and
/// the dialect of its sequence.
fn split(r: Report, name: &str) -> (Vec<Finding>, SourceFile, Vec<Range<usize>>, Dialect) {
    let i = r.files.iter().position(|f| f.name == name).unwrap_or(0);
    let statements = r.statements.get(i).cloned().unwrap_or_default();
    // The sequence whose folder holds the file (the longest match).
    let within = |root: &str| {
        name == root
            || (root == "." && !Path::new(name).is_absolute())
            || name.starts_with(&format!("{}/", root.trim_end_matches('/')))
    };
    let dialect = r
        .summary
        .sequences
        .iter()
        .filter(|s| within(&s.root))
        .max_by_key(|s| s.root.len())
        .and_then(|s| Dialect::from_name(s.dialect))
        .unwrap_or(Dialect::Sqlite);
    let findings = r.findings.into_iter().filter(|f| f.file == name).collect();
    let file = r
        .files
        .into_iter()
        .nth(i)
        .unwrap_or_else(|| SourceFile::from_text(name, ""));
    (findings, file, statements, dialect)
}
