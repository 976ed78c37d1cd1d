//! What the commands of the command line share: the `--dialect` and
//! `--engine` values, the parsers of `--layout` and `--define`, the inputs
//! the paths name, the error a command fails with, and `twice explain`'s
//! text (the language server shows it too). `cli.rs`, `cli_plan.rs` and
//! `lsp/` import it, and it imports none of them.

use crate::dialect::Dialect;
use crate::discover::Input;
use crate::error::Error;
use crate::model::LayoutKind;
use clap::ValueEnum;
use std::io::{self, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    Sqlite,
    Postgres,
    Mysql,
    Generic,
}

impl From<DialectArg> for Dialect {
    fn from(d: DialectArg) -> Dialect {
        match d {
            DialectArg::Sqlite => Dialect::Sqlite,
            DialectArg::Postgres => Dialect::Postgres,
            DialectArg::Mysql => Dialect::Mysql,
            DialectArg::Generic => Dialect::Generic,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Sqlite,
    Postgres,
    Mysql,
    /// Each sequence on the engine of its dialect, when available.
    Auto,
}

pub(crate) fn parse_layout(s: &str) -> Result<LayoutKind, String> {
    crate::layout::by_name(s).ok_or_else(|| {
        let names = crate::layout::names();
        format!(
            "unknown layout `{s}` (expected one of: {})",
            names.join(", ")
        )
    })
}

pub(crate) fn parse_define(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

/// Why a command failed.
#[derive(Debug)]
pub enum RunError {
    /// twice could not do its job (exit 2).
    Tool(Error),
    /// Writing the output failed for another reason than a closed pipe.
    Io(io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Tool(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "cannot write output: {e}"),
        }
    }
}

impl From<Error> for RunError {
    fn from(e: Error) -> RunError {
        RunError::Tool(e)
    }
}

/// Output errors, except a closed pipe: when the reader goes away
/// (`twice rules | head -1`), twice stops writing quietly.
pub(crate) fn output(result: io::Result<()>) -> Result<(), RunError> {
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(RunError::Io(e)),
        _ => Ok(()),
    }
}

/// The inputs the paths on the command line name: `-` is stdin, none is the
/// current folder.
pub(crate) fn inputs_of(paths: &[PathBuf]) -> Vec<Input> {
    if paths.is_empty() {
        return vec![Input::Path(PathBuf::from("."))];
    }
    paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::Path(p.clone())
            }
        })
        .collect()
}

pub(crate) fn origin_name(o: crate::finding::Origin) -> &'static str {
    match o {
        crate::finding::Origin::Static => "static",
        crate::finding::Origin::Replay => "replay",
    }
}

/// `twice explain RULE`: the rule's id, severity, origin, summary and its
/// full documentation.
pub fn explain(meta: &crate::rules::RuleMeta, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} ({}, {}{})\n",
        meta.id,
        meta.severity,
        origin_name(meta.origin),
        if meta.fixable { ", fixable" } else { "" }
    )?;
    writeln!(out, "{}\n", meta.summary)?;
    writeln!(out, "{}", meta.doc.trim_end())?;
    out.flush()
}
