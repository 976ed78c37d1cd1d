//! Finds migration files and orders them into sequences.

use crate::check::Options;
use crate::error::{Error, Result};
use crate::model::{LayoutKind, Migration, Part, Region, Sequence};
use crate::source::SourceFile;
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

/// What the user asked to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file or folder, as the user wrote it.
    Path(PathBuf),
    /// `-`: one script from stdin.
    Stdin,
}

/// Files read and the sequences they form.
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<SourceFile>,
    pub sequences: Vec<Sequence>,
    /// Things skipped, said to the user ("skipped x: not a .sql file").
    pub notices: Vec<String>,
}

impl Discovered {
    pub fn add_file(&mut self, file: SourceFile) -> usize {
        self.files.push(file);
        self.files.len() - 1
    }
}

/// A name for a path as the user would write it.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./")
        .map(str::to_string)
        .unwrap_or_else(|| s.into_owned())
}

pub fn read_file(path: &Path) -> Result<SourceFile> {
    let name = display_path(path);
    // A FIFO with no writer would block forever; devices never end.
    let meta = std::fs::metadata(path).map_err(|e| Error::io(&name, &e))?;
    if !meta.is_file() {
        return Err(Error::new(format!(
            "{name}: not a regular file (a pipe, socket or device); give files or folders, or `-` to read stdin"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(&name, &e))?;
    Ok(SourceFile::from_bytes(name, Some(path), &bytes))
}

/// Natural order of file names: digit runs compare as numbers, so
/// `2_x.sql` < `10_x.sql` and `V1.9` < `V1.10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    natord::compare_ignore_case(a, b).then_with(|| a.cmp(b))
}

/// A whole file as one up part.
pub fn whole_file_part(files: &[SourceFile], file: usize) -> Part {
    Part {
        file,
        regions: vec![Region {
            range: 0..files[file].text.len(),
            single_statement: false,
        }],
        statements: Vec::new(),
        no_transaction: false,
    }
}

/// A single script (stdin or a file named directly) as its own sequence.
pub fn script_sequence(d: &mut Discovered, file: SourceFile, opts: &Options) -> Sequence {
    let root = file.name.clone();
    let idx = d.add_file(file);
    Sequence {
        root,
        layout: LayoutKind::Script,
        dialect: opts.dialect.unwrap_or_default_dialect(),
        migrations: vec![Migration {
            version: String::new(),
            name: d.files[idx].name.clone(),
            up: whole_file_part(&d.files, idx),
            down: None,
            rerun_note: None,
        }],
    }
}

/// Reads every input into files and sequences.
pub fn discover(inputs: &[Input], opts: &Options) -> Result<Discovered> {
    let mut d = Discovered::default();
    for input in inputs {
        match input {
            Input::Stdin => {
                let mut bytes = Vec::new();
                use std::io::Read;
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::new(format!("<stdin>: {e}")))?;
                let name = opts
                    .stdin_filename
                    .clone()
                    .unwrap_or_else(|| "<stdin>".into());
                let file = SourceFile::from_bytes(name, None, &bytes);
                let seq = script_sequence(&mut d, file, opts);
                d.sequences.push(seq);
            }
            Input::Path(path) => {
                let meta =
                    std::fs::metadata(path).map_err(|e| Error::io(&display_path(path), &e))?;
                if meta.is_dir() {
                    plain_folder(&mut d, path, opts)?;
                } else if !opts.excluded(path) {
                    let file = read_file(path)?;
                    let seq = script_sequence(&mut d, file, opts);
                    d.sequences.push(seq);
                }
            }
        }
    }
    Ok(d)
}

/// Every `*.sql` below `root`, in natural order of their relative paths, as
/// one plain sequence.
fn plain_folder(d: &mut Discovered, root: &Path, opts: &Options) -> Result<()> {
    let mut paths: Vec<(String, PathBuf)> = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(true) {
        let entry = entry.map_err(|e| {
            let p = e
                .path()
                .map(display_path)
                .unwrap_or_else(|| display_path(root));
            Error::new(format!(
                "{p}: {}",
                e.io_error().map_or_else(
                    || e.to_string(),
                    |io| Error::io("", io)
                        .message
                        .trim_start_matches(": ")
                        .to_string()
                )
            ))
        })?;
        if entry.file_type().is_file() && is_sql(entry.path()) && !opts.excluded(entry.path()) {
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .into_owned();
            paths.push((rel, entry.into_path()));
        }
    }
    paths.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    let mut migrations = Vec::new();
    for (rel, path) in paths {
        let file = read_file(&path)?;
        let idx = d.add_file(file);
        migrations.push(Migration {
            version: rel.clone(),
            name: rel,
            up: whole_file_part(&d.files, idx),
            down: None,
            rerun_note: None,
        });
    }
    d.sequences.push(Sequence {
        root: display_path(root),
        layout: LayoutKind::Plain,
        dialect: opts.dialect.unwrap_or_default_dialect(),
        migrations,
    });
    Ok(())
}

pub fn is_sql(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("sql"))
}

/// `Option<Dialect>` with twice's default.
pub trait DialectDefault {
    fn unwrap_or_default_dialect(self) -> crate::dialect::Dialect;
}

impl DialectDefault for Option<crate::dialect::Dialect> {
    fn unwrap_or_default_dialect(self) -> crate::dialect::Dialect {
        self.unwrap_or(crate::dialect::Dialect::Sqlite)
    }
}
