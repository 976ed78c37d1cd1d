//! `twice plan [PATH]...`: the command-line face of [`crate::plan`]. Shows
//! what `twice check` would read, without running anything.

use crate::check;
use crate::cli_args::{DialectArg, EngineArg, RunError};
use crate::dialect::Dialect;
use crate::error::Error;
use crate::model::LayoutKind;
use crate::options::Options;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For people.
    Human,
    /// For scripts: the document described in docs/layouts.md.
    Json,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Migration files or folders, as for `twice check`. Default: the current folder.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// SQL dialect of the migrations (as for `twice check`).
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,

    /// Migration layout of the folders (default: detected per folder).
    #[arg(long, value_name = "NAME", value_parser = crate::cli_args::parse_layout)]
    pub layout: Option<LayoutKind>,

    /// Database engine replay would use.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub engine: EngineArg,

    /// Substitute `${NAME}` placeholders with VALUE (repeatable).
    #[arg(long = "define", short = 'D', value_name = "NAME=VALUE", value_parser = crate::cli_args::parse_define)]
    pub defines: Vec<(String, String)>,

    /// Leave down migrations out, as `twice check --no-down` does.
    #[arg(long)]
    pub no_down: bool,

    /// The setup script `twice check --setup FILE` would run before each
    /// sequence's first migration (shown, not run).
    #[arg(long, value_name = "FILE")]
    pub setup: Option<PathBuf>,

    /// Configuration file (default: twice.toml in this folder or the nearest parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: PlanFormat,
}

pub fn run_plan(args: PlanArgs, out: &mut dyn Write) -> Result<u8, RunError> {
    let inputs = crate::cli_args::inputs_of(&args.paths);
    let cwd = std::env::current_dir()
        .map_err(|e| Error::new(format!("cannot read the current folder: {e}")))?;
    let config = crate::config::load(args.config.as_deref(), &cwd)?;
    let mut opts = Options {
        dialect: args.dialect.map(Dialect::from),
        layout: args.layout,
        replay: false,
        down: !args.no_down,
        defines: args.defines.iter().cloned().collect(),
        engine: match args.engine {
            EngineArg::Sqlite => check::Engine::Sqlite,
            EngineArg::Postgres => check::Engine::Postgres,
            EngineArg::Mysql => check::Engine::Mysql,
            EngineArg::Auto => check::Engine::Auto,
        },
        // The server `check` would use (plan takes no --database-url): it
        // decides `--engine auto` and whether a platform stand-in is made.
        database_url: std::env::var("TWICE_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty()),
        ..Options::default()
    };
    if let Some(cfg) = &config {
        opts.dialect = opts.dialect.or(cfg.dialect);
        opts.layout = opts.layout.or(cfg.layout);
        for (k, v) in &cfg.defines {
            opts.defines.entry(k.clone()).or_insert_with(|| v.clone());
        }
        opts.exclude = cfg.exclude.clone();
        opts.sequences = cfg.sequences.clone();
        opts.setup = cfg.setup.clone();
    }
    if let Some(path) = &args.setup {
        opts.setup = vec![crate::replay::setup::SetupScript {
            path: path.clone(),
            sequence: None,
            within: None,
        }];
    }
    let ws = check::load(&inputs, &opts)?;
    let doc = crate::plan::build(&ws, &opts);
    // No CI log command reaches the log from the input (`escape::CiInert`).
    let json = matches!(args.format, PlanFormat::Json);
    let mut inert = crate::escape::CiInert::new(out, json, !json);
    let out: &mut dyn Write = &mut inert;
    let written = match args.format {
        PlanFormat::Human => crate::plan::write_human(&doc, out),
        PlanFormat::Json => serde_json::to_writer_pretty(&mut *out, &doc)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
    };
    crate::cli_args::output(written.and_then(|()| out.flush()))?;
    Ok(0)
}
