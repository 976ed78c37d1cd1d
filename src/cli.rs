//! The command line: argument definitions (clap derive) and dispatch.

use crate::check::{self, Options};
use crate::dialect::Dialect;
use crate::discover::Input;
use crate::error::Error;
use crate::finding::Severity;
use crate::model::LayoutKind;
use crate::render::{self, Format, RenderOptions};
use crate::rules;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// What happens if this runs twice? twice audits SQL migrations for
/// statements that are not safe to run more than once.
#[derive(Parser, Debug)]
#[command(name = "twice", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Audit migration files and folders.
    Check(CheckArgs),
    /// List every rule: id, default severity and summary.
    Rules,
    /// Print a rule's full documentation.
    Explain {
        /// A rule id, as shown by `twice rules`.
        rule: String,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

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
pub enum FormatArg {
    Human,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Migration files or folders (folders are searched for *.sql); `-` reads
    /// one script from stdin. Default: the current folder.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// SQL dialect of the migrations [default: sqlite]
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: FormatArg,

    /// Only run the static rules; do not replay migrations.
    #[arg(long)]
    pub no_replay: bool,

    /// Lowest severity that makes the exit code 1 [default: warning, or
    /// `fail-on` in twice.toml].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,

    /// When to use colours (NO_COLOR and a non-terminal stdout turn `auto` off).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,

    /// The file name to show for a script read from stdin.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<String>,

    /// Migration layout of the folders (default: detected per folder).
    #[arg(long, value_name = "NAME", value_parser = parse_layout)]
    pub layout: Option<LayoutKind>,

    /// Substitute `${NAME}` placeholders with VALUE (repeatable).
    #[arg(long = "define", short = 'D', value_name = "NAME=VALUE", value_parser = parse_define)]
    pub defines: Vec<(String, String)>,

    /// Do not check down migrations.
    #[arg(long)]
    pub no_down: bool,

    /// Fill every table with a few synthetic rows before each migration's
    /// first run, so copies and backfills that are no-ops on empty tables show up.
    #[arg(long)]
    pub seed: bool,

    /// Time limit for one statement during replay, in seconds.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<std::time::Duration>,

    /// Database engine for replay.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub engine: EngineArg,

    /// PostgreSQL server to replay on (twice creates and drops a scratch
    /// database there; needs CREATEDB). Without it, a throwaway local cluster
    /// is started when PostgreSQL is installed.
    #[arg(
        long,
        env = "TWICE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Configuration file (default: twice.toml in this folder or the nearest parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Sqlite,
    Postgres,
}

fn parse_layout(s: &str) -> Result<LayoutKind, String> {
    LayoutKind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = LayoutKind::ALL.iter().map(|l| l.name()).collect();
        format!(
            "unknown layout `{s}` (expected one of: {})",
            names.join(", ")
        )
    })
}

fn parse_define(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(v > 0.0 && v <= 86_400.0) {
        return Err(format!(
            "`{s}`: the timeout must be between 0 and 86400 seconds"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(RunError::Tool(e)) => {
            let _ = writeln!(io::stderr(), "error: {e}");
            ExitCode::from(2)
        }
        // The reader went away (`twice rules | head -1`): stop quietly.
        Err(RunError::BrokenPipe) => ExitCode::from(0),
        Err(RunError::Io(e)) => {
            let _ = writeln!(io::stderr(), "error: cannot write output: {e}");
            ExitCode::from(2)
        }
    }
}

pub enum RunError {
    Tool(Error),
    BrokenPipe,
    Io(io::Error),
}

impl From<Error> for RunError {
    fn from(e: Error) -> RunError {
        RunError::Tool(e)
    }
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> RunError {
        if e.kind() == io::ErrorKind::BrokenPipe {
            RunError::BrokenPipe
        } else {
            RunError::Io(e)
        }
    }
}

pub fn run(cli: Cli) -> Result<u8, RunError> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Check(args) => run_check(args, &mut out),
        Command::Rules => {
            print_rules(&mut out)?;
            Ok(0)
        }
        Command::Explain { rule } => {
            let meta = rules::find(&rule).ok_or_else(|| {
                Error::new(format!(
                    "unknown rule `{rule}`; run `twice rules` to list the rule ids"
                ))
            })?;
            writeln!(
                out,
                "{} ({}, {})\n",
                meta.id,
                meta.severity,
                origin_name(meta.origin)
            )?;
            writeln!(out, "{}\n", meta.summary)?;
            writeln!(out, "{}", meta.doc.trim_end())?;
            out.flush()?;
            Ok(0)
        }
        Command::Completions { shell } => {
            write_completions(shell, &mut out)?;
            Ok(0)
        }
    }
}

fn origin_name(o: crate::finding::Origin) -> &'static str {
    match o {
        crate::finding::Origin::Static => "static",
        crate::finding::Origin::Replay => "replay",
    }
}

fn print_rules(out: &mut dyn Write) -> io::Result<()> {
    let width = rules::registry()
        .iter()
        .map(|m| m.id.len())
        .max()
        .unwrap_or(0);
    for m in rules::registry() {
        writeln!(
            out,
            "{:width$}  {:7}  {}",
            m.id,
            m.severity.name(),
            m.summary
        )?;
    }
    out.flush()
}

/// Writes the completion script for `shell`.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "twice", &mut buf);
    out.write_all(&buf)?;
    out.flush()
}

/// Whether to colour output written to stdout.
pub fn use_color(choice: ColorArg) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
        }
    }
}

/// The check options and `--fail-on` threshold from the flags and the
/// config file (flags win, key by key).
pub fn check_options(
    args: &CheckArgs,
    config: Option<&crate::config::Config>,
) -> (Options, FailOn) {
    let mut opts = Options {
        dialect: args.dialect.map(Dialect::from),
        layout: args.layout,
        replay: !args.no_replay,
        down: !args.no_down,
        seed: args.seed,
        timeout: args.timeout.unwrap_or(Options::default().timeout),
        defines: args.defines.iter().cloned().collect(),
        stdin_filename: args.stdin_filename.clone(),
        engine: match args.engine {
            EngineArg::Sqlite => check::Engine::Sqlite,
            EngineArg::Postgres => check::Engine::Postgres,
        },
        database_url: args.database_url.clone(),
        ..Options::default()
    };
    let fail_on = crate::config::merge(config, args, &mut opts);
    (opts, fail_on)
}

fn run_check(args: CheckArgs, out: &mut dyn Write) -> Result<u8, RunError> {
    let inputs: Vec<Input> = if args.paths.is_empty() {
        vec![Input::Path(PathBuf::from("."))]
    } else {
        args.paths
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::Path(p.clone())
                }
            })
            .collect()
    };
    let cwd = std::env::current_dir()
        .map_err(|e| Error::new(format!("cannot read the current folder: {e}")))?;
    let config = crate::config::load(args.config.as_deref(), &cwd)?;
    let (opts, fail_on) = check_options(&args, config.as_ref());
    let report = check::check(&inputs, &opts)?;
    let render_opts = RenderOptions {
        color: use_color(args.color),
    };
    render::renderer(args.format.into(), &render_opts).render(&report, out)?;
    out.flush()?;
    let threshold = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    };
    let failed = threshold.is_some_and(|t| report.findings.iter().any(|f| f.severity >= t));
    Ok(u8::from(failed))
}
