//! The command line: argument definitions (clap derive) and dispatch.

use crate::check;
pub use crate::cli_args::explain;
use crate::cli_args::{inputs_of, origin_name, output, parse_define, parse_layout};
pub use crate::cli_args::{DialectArg, EngineArg, RunError};
use crate::dialect::Dialect;
use crate::discover::Input;
use crate::error::Error;
use crate::finding::Severity;
use crate::model::LayoutKind;
use crate::options::Options;
use crate::render::{self, Format, RenderOptions};
use crate::rules;
use clap::builder::PossibleValue;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, for `--help` and the man pages.
pub const EXIT_STATUS: [(&str, &str); 3] = [
    ("0", "nothing at or above --fail-on was found"),
    ("1", "findings at or above --fail-on"),
    (
        "2",
        "twice could not do its job (bad arguments, a missing or unreadable path, a bad configuration file, or an internal error, which is a bug to report); one line on stderr says why",
    ),
];

/// Environment variables twice reads, for `--help` and the man pages.
pub const ENVIRONMENT: [(&str, &str); 4] = [
    ("NO_COLOR", "turns colour off (unless --color always)"),
    (
        "FORCE_COLOR",
        "turns colour on when stdout is not a terminal (CI logs), unless NO_COLOR is set or --color never",
    ),
    (
        "GITHUB_ACTIONS",
        "when set and no --format is given, GitHub annotations follow the human output",
    ),
    (
        "TWICE_DATABASE_URL",
        "PostgreSQL server for --engine postgres, or MariaDB/MySQL server (mysql://) for --engine mysql",
    ),
];

fn after_help() -> String {
    let mut s = String::from("Exit status:\n");
    for (code, what) in EXIT_STATUS {
        s.push_str(&format!("  {code}  {what}\n"));
    }
    s.push_str("\nEnvironment:\n");
    for (var, what) in ENVIRONMENT {
        s.push_str(&format!("  {var:18}  {what}\n"));
    }
    s.push_str("\nRun `twice explain RULE` for what a rule flags and how to fix it.");
    s
}

/// What happens if this runs twice? twice audits SQL migrations for
/// statements that are not safe to run more than once.
#[derive(Parser, Debug)]
#[command(
    name = "twice",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = after_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Audit migration files and folders.
    #[command(after_help = after_help())]
    Check(CheckArgs),
    /// Show what `twice check` would read, without running anything: each
    /// sequence's layout, dialect, engine and migrations in run order.
    Plan(crate::cli_plan::PlanArgs),
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
    /// Run the language server for editors (LSP over stdin/stdout).
    Lsp {
        /// Accepted for editors that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
}

/// `--format` takes the formats registered in [`crate::render`].
impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        Format::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()).help(self.description()))
    }
}

pub use crate::config::FailOn;

// `--fail-on`'s values; the type is config's (it is also a `twice.toml` key),
// which knows no clap.
impl ValueEnum for FailOn {
    fn value_variants<'a>() -> &'a [Self] {
        &[FailOn::Error, FailOn::Warning, FailOn::Never]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            FailOn::Error => "error",
            FailOn::Warning => "warning",
            FailOn::Never => "never",
        }))
    }
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

    /// SQL dialect of the migrations [default: what a folder name such as
    /// `postgres/` implies, else what the SQL is clearly written in, else the
    /// --engine's (sqlite)]
    #[arg(long, value_enum)]
    pub dialect: Option<DialectArg>,

    /// Output format [default: human; with GITHUB_ACTIONS set, human
    /// followed by GitHub annotations]
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Only run the static rules; do not replay migrations.
    #[arg(long)]
    pub no_replay: bool,

    /// Threads for the static rules and for replaying independent sequences
    /// side by side; the output is the same for any number [default: the
    /// number of cores, or `jobs` in twice.toml; 1 runs everything on one
    /// thread].
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,

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

    /// Substitute `${NAME}` placeholders (and psql `:NAME` variables in PostgreSQL files) with VALUE (repeatable).
    #[arg(long = "define", short = 'D', value_name = "NAME=VALUE", value_parser = parse_define)]
    pub defines: Vec<(String, String)>,

    /// Do not check down migrations.
    #[arg(long)]
    pub no_down: bool,

    /// Fill every table with a few synthetic rows before each migration's
    /// first run, so copies and backfills that are no-ops on empty tables
    /// show up (the default; kept for scripts that pass it).
    #[arg(long, overrides_with = "no_seed")]
    pub seed: bool,

    /// Do not seed tables with synthetic rows before each migration's first run.
    #[arg(long, overrides_with = "seed")]
    pub no_seed: bool,

    /// Do not write rows between a migration's first and second run (the
    /// check that a re-run keeps what the application wrote since).
    #[arg(long)]
    pub no_interleave: bool,

    /// Time limit for one statement during replay, in seconds.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<std::time::Duration>,

    /// Database engine for replay.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub engine: EngineArg,

    /// PostgreSQL server to replay on (twice creates and drops a scratch
    /// database and a role of its own there, which runs the migrations; needs
    /// CREATEDB and CREATEROLE), or with --engine mysql a mysql:// URL (the
    /// user needs CREATE, DROP, CREATE USER and GRANT OPTION). Without it, a
    /// throwaway local server is started when one is installed.
    #[arg(
        long,
        env = "TWICE_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    // -- PostgreSQL sandbox and setup (issues 13 and 15) --
    /// The --database-url server is disposable: when its role cannot create
    /// roles, run the migrations as that role itself (they can then change
    /// anything that role can). Without it twice refuses such a role.
    #[arg(long)]
    pub database_url_trusted: bool,

    /// Database the scratch database is copied from on PostgreSQL (default
    /// template1, so what the DBA installed there is there).
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,

    /// SQL script run once before the first migration of each sequence,
    /// never audited (extensions, roles, schemas the project installs by
    /// hand); on PostgreSQL it runs as the migration role on twice's own
    /// cluster (the roles it creates made by twice), as the URL's role with
    /// --database-url.
    #[arg(long, value_name = "FILE")]
    pub setup: Option<PathBuf>,
    // -- end PostgreSQL sandbox and setup --
    /// Configuration file (default: twice.toml in this folder or the nearest parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Rewrite, in place, the statements that have one safe idempotent form
    /// (edits are verified by checking the fixed files again first), then
    /// report what remains. With `-` (stdin), print the fixed script instead.
    #[arg(long, conflicts_with = "diff")]
    pub fix: bool,

    /// Print the edits `--fix` would make as a unified diff; write nothing.
    /// Exit code 1 when there is something to fix.
    #[arg(long)]
    pub diff: bool,

    /// With --fix or --diff, also apply the unsafe fixes: rewrites that make a
    /// statement idempotent but can change what it does otherwise (SQLite's
    /// `INSERT OR IGNORE` and MySQL's `INSERT IGNORE` also skip rows that
    /// break NOT NULL or CHECK constraints). `twice explain RULE` says which.
    #[arg(long)]
    pub unsafe_fixes: bool,
    #[command(flatten)]
    pub gate: Box<GateArgs>,
}

/// Flags for adopting twice as a CI gate on a project with history: what to
/// audit, what is accepted, which rules, where the report goes.
#[derive(Args, Debug, Default)]
pub struct GateArgs {
    /// Audit only migrations added or changed since this git revision
    /// (`origin/main`, a tag, a commit); the unchanged ones are applied once
    /// as the starting state, and an applied file edited since is an error
    /// (applied-migration-changed). Needs `git`.
    #[arg(long, value_name = "REF", conflicts_with = "from")]
    pub since: Option<String>,

    /// Audit only migrations from this version on (in the layout's order);
    /// the ones before it are applied once as the starting state.
    #[arg(long, value_name = "VERSION")]
    pub from: Option<String>,

    /// Report only findings not accepted in this baseline file [default:
    /// `baseline` in twice.toml].
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record every current finding in FILE as accepted (then report none
    /// of them and exit 0).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["fix", "diff"])]
    pub write_baseline: Option<PathBuf>,

    /// Report only these rules (comma-separated ids); wins over [rules] in
    /// twice.toml.
    #[arg(long, value_name = "RULE,...", value_delimiter = ',')]
    pub select: Vec<String>,

    /// Do not report these rules (comma-separated ids); wins over [rules] in
    /// twice.toml and --select.
    #[arg(long, value_name = "RULE,...", value_delimiter = ',')]
    pub ignore: Vec<String>,

    /// Write the report to FILE instead of stdout; the human summary goes
    /// to stderr.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Print only the summary line (nothing when there is no finding); other
    /// formats print their document as usual, without notices on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Print the number of findings per rule instead of the findings.
    #[arg(long)]
    pub statistics: bool,
}

/// The most threads `--jobs` accepts.
pub const MAX_JOBS: usize = crate::config::MAX_JOBS;

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a number of threads from 1 to {MAX_JOBS} (1 runs everything on one thread)"
        )),
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
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            // `twice --help | head -1`: a closed stdout is not an error.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // A panic is a bug; the hook has said so in one line. Exit 2, as for
    // any other failure to do the job, never with a backtrace.
    match std::panic::catch_unwind(move || run(cli)) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            let _ = writeln!(io::stderr(), "{}", error_text(&e.to_string()));
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}

/// Replaces Rust's panic message (and its backtrace, even with
/// `RUST_BACKTRACE=1`) with one line that says it is a bug in twice.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        let at = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            io::stderr(),
            "error: internal error in twice: {what}{at}; this is a bug, please report it with the input that caused it"
        );
    }));
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8, RunError> {
    #[cfg(debug_assertions)]
    if std::env::var_os("TWICE_DEBUG_PANIC").is_some() {
        // Lets the tests check what a user sees when twice has a bug.
        panic!("TWICE_DEBUG_PANIC is set");
    }
    // Block-buffered: thousands of findings are not thousands of writes.
    // Every command flushes before it returns.
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match cli.command {
        Command::Check(args) => run_check(args, &mut out),
        Command::Plan(args) => crate::cli_plan::run_plan(args, &mut out),
        Command::Rules => {
            output(print_rules(rules::registry(), &mut out))?;
            Ok(0)
        }
        Command::Explain { rule } => {
            let meta = rules::find(&rule).ok_or_else(|| unknown_rule(&rule))?;
            output(explain(meta, &mut out))?;
            Ok(0)
        }
        Command::Completions { shell } => {
            output(write_completions(shell, &mut out))?;
            Ok(0)
        }
        Command::Lsp { .. } => Ok(run_lsp(&mut out)),
    }
}

/// `twice lsp`: each document is checked with the options `twice check`
/// has without flags, merged with the `twice.toml` that applies to it.
fn run_lsp(out: &mut dyn Write) -> u8 {
    let Ok(Command::Check(defaults)) = Cli::try_parse_from(["twice", "check"]).map(|c| c.command)
    else {
        let _ = writeln!(
            io::stderr(),
            "error: internal error in twice: the default check options do not parse; this is a bug"
        );
        return 2;
    };
    let setup = crate::lsp::Setup {
        options_for: std::sync::Arc::new(move |cfg| check_options(&defaults, cfg).0),
        exe: crate::lsp::replay::current_exe(),
    };
    let code = crate::lsp::run(io::BufReader::new(io::stdin()), out, setup);
    u8::try_from(code).unwrap_or(1)
}

fn unknown_rule(rule: &str) -> Error {
    let hint = crate::config::did_you_mean(rule, rules::registry().iter().map(|m| m.id));
    Error::new(format!(
        "unknown rule `{rule}`{hint} (run `twice rules` to list the rule ids)"
    ))
}

/// `twice rules`: id, default severity, origin and summary of each rule.
pub fn print_rules(rules: &[&rules::RuleMeta], out: &mut dyn Write) -> io::Result<()> {
    let width = rules.iter().map(|m| m.id.len()).max().unwrap_or(0);
    for m in rules {
        writeln!(
            out,
            "{:width$}  {:7}  {:6}  {}",
            m.id,
            m.severity.name(),
            origin_name(m.origin),
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

/// The man pages, generated from the clap definition: `twice.1` and one
/// page per subcommand (`twice-check.1`, ...), as (file name, roff text).
/// `twice.1` and `twice-check.1` end with EXIT STATUS, ENVIRONMENT and SEE
/// ALSO sections.
pub fn man_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    fn collect(cmd: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> io::Result<()> {
        let man = clap_mangen::Man::new(cmd.clone());
        let mut buf = Vec::new();
        man.render(&mut buf)?;
        let name = man.get_filename();
        if name == "twice.1" || name == "twice-check.1" {
            buf = with_man_sections(&String::from_utf8_lossy(&buf)).into_bytes();
        }
        pages.push((name, buf));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            collect(sub.clone(), pages)?;
        }
        Ok(())
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    collect(cmd, &mut pages)?;
    Ok(pages)
}

/// Replaces clap_mangen's EXTRA section (the `--help` epilogue) with proper
/// EXIT STATUS, ENVIRONMENT and SEE ALSO sections, before VERSION.
fn with_man_sections(page: &str) -> String {
    use clap_mangen::roff::{bold, roman, Roff};
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for (code, what) in EXIT_STATUS {
        r.control("TP", []);
        r.text([bold(code)]);
        r.text([roman(what)]);
    }
    r.control("SH", ["ENVIRONMENT"]);
    for (var, what) in ENVIRONMENT {
        r.control("TP", []);
        r.text([bold(var)]);
        r.text([roman(what)]);
    }
    r.control("SH", ["SEE ALSO"]);
    r.text([roman(
        "twice(1), twice-check(1), twice-rules(1), twice-explain(1), twice-completions(1), twice-lsp(1); \
         twice explain RULE prints the documentation of a rule.",
    )]);
    let sections = r.to_roff();
    let mut lines: Vec<&str> = Vec::new();
    let mut skipping = false;
    let mut inserted = false;
    for line in page.lines() {
        if line.starts_with(".SH ") {
            skipping = line == ".SH EXTRA";
            if (skipping || line == ".SH VERSION") && !inserted {
                lines.extend(sections.lines());
                inserted = true;
            }
        }
        if !skipping {
            lines.push(line);
        }
    }
    if !inserted {
        lines.extend(sections.lines());
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Whether to colour output written to stdout.
pub fn use_color(choice: ColorArg) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            let set = |var| std::env::var_os(var).is_some_and(|v| !v.is_empty());
            if set("NO_COLOR") {
                false
            } else if set("FORCE_COLOR") {
                true
            } else {
                std::env::var_os("TERM").is_none_or(|t| t != "dumb") && io::stdout().is_terminal()
            }
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
        seed: !args.no_seed,
        interleave: !args.no_interleave,
        timeout: args.timeout.unwrap_or(Options::default().timeout),
        jobs: args.jobs.unwrap_or_else(crate::parallel::default_jobs),
        defines: args.defines.iter().cloned().collect(),
        stdin_filename: args.stdin_filename.clone(),
        engine: match args.engine {
            EngineArg::Sqlite => check::Engine::Sqlite,
            EngineArg::Postgres => check::Engine::Postgres,
            EngineArg::Mysql => check::Engine::Mysql,
            EngineArg::Auto => check::Engine::Auto,
        },
        database_url: args.database_url.clone(),
        database_url_trusted: args.database_url_trusted,
        template: args.template.clone(),
        setup: args
            .setup
            .iter()
            .map(|p| crate::replay::setup::SetupScript {
                path: p.clone(),
                sequence: None,
                within: None,
            })
            .collect(),
        ..Options::default()
    };
    let set = crate::config::CommandLine {
        dialect: args.dialect.is_some(),
        layout: args.layout.is_some(),
        jobs: args.jobs.is_some(),
        timeout: args.timeout.is_some(),
        seed: args.seed || args.no_seed,
        interleave: args.no_interleave,
        database_url_trusted: args.database_url_trusted,
        template: args.template.is_some(),
        setup: args.setup.is_some(),
        fail_on: args.fail_on,
    };
    let fail_on = crate::config::merge(config, &set, &mut opts);
    opts.since = args.gate.since.clone();
    opts.from = args.gate.from.clone();
    // --select and --ignore win over [rules], key by key.
    if !args.gate.select.is_empty() {
        for meta in rules::registry() {
            if args.gate.select.iter().any(|r| r == meta.id) {
                if opts.rules.get(meta.id) == Some(&crate::config::RuleLevel::Off) {
                    opts.rules.remove(meta.id);
                }
            } else {
                opts.rules
                    .insert(meta.id.to_string(), crate::config::RuleLevel::Off);
            }
        }
    }
    for id in &args.gate.ignore {
        opts.rules.insert(id.clone(), crate::config::RuleLevel::Off);
    }
    (opts, fail_on)
}

/// Checks the rule ids of `--select` and `--ignore`.
fn check_rule_ids(args: &GateArgs) -> Result<(), Error> {
    for (flag, ids) in [("--select", &args.select), ("--ignore", &args.ignore)] {
        for id in ids {
            if rules::find(id).is_none() {
                let hint = crate::config::did_you_mean(id, rules::registry().iter().map(|m| m.id));
                return Err(Error::new(format!(
                    "{flag}: unknown rule `{id}`{hint} (run `twice rules` to list the rule ids)"
                )));
            }
        }
    }
    Ok(())
}

/// Whether twice runs in a GitHub Actions job.
pub fn in_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn run_check(args: CheckArgs, out: &mut dyn Write) -> Result<u8, RunError> {
    let inputs = inputs_of(&args.paths);
    let cwd = std::env::current_dir()
        .map_err(|e| Error::new(format!("cannot read the current folder: {e}")))?;
    check_rule_ids(&args.gate)?;
    let config = crate::config::load(args.config.as_deref(), &cwd)?;
    let (mut opts, fail_on) = check_options(&args, config.as_ref());
    let applying = crate::fix::Applying {
        unsafe_fixes: args.unsafe_fixes,
    };
    if args.diff {
        return run_diff(&inputs, &opts, applying, out);
    }
    let format = args.format.unwrap_or(Format::Human);
    if args.gate.statistics && format != Format::Human {
        return Err(Error::new(format!(
            "--statistics prints a table for people and cannot be combined with --format {format}; \
             count the `rule` fields of --format json instead"
        ))
        .into());
    }
    let progress = Progress::start(&mut opts);
    let ran = if args.fix {
        crate::fix::run_with(&inputs, &opts, applying).map(Ran::Fixed)
    } else {
        check::check(&inputs, &opts).map(Ran::Checked)
    };
    progress.stop();
    let mut report = match ran? {
        Ran::Checked(report) => report,
        Ran::Fixed(run) => {
            let stdin = inputs.contains(&Input::Stdin);
            write_fixes(&run, &inputs, stdin, out)?;
            if stdin {
                // The fixed script went to stdout; findings stay off it.
                let failed = exit_for(fail_on, &run.report);
                return Ok(u8::from(failed));
            }
            run.report
        }
    };
    let baseline_path = args
        .gate
        .baseline
        .clone()
        .or_else(|| config.as_ref().and_then(|c| c.baseline.clone()));
    // Fingerprints are stamped before a baseline hides findings, so that the
    // others keep theirs; without a baseline the formats that show them
    // (SARIF, GitLab) compute the same ones, and the others need none.
    if args.gate.write_baseline.is_some() || baseline_path.is_some() {
        crate::baseline::stamp(&mut report, Some(&cwd), opts.jobs);
    }
    if let Some(path) = &args.gate.write_baseline {
        let baseline = crate::baseline::from_report(&report, Some(&cwd));
        crate::baseline::write(path, &baseline)?;
        let name = crate::source::display_path(path);
        crate::baseline::apply(&mut report, &baseline, &name, Some(&cwd));
        if !args.gate.quiet {
            let _ = writeln!(
                io::stderr().lock(),
                "twice: wrote {name}: {} accepted",
                plural(baseline.findings.len(), "finding")
            );
        }
    } else if let Some(path) = baseline_path {
        let baseline = crate::baseline::load(&path)?;
        let name = crate::source::display_path(&path);
        crate::baseline::apply(&mut report, &baseline, &name, Some(&cwd));
    }

    let to_file = args.gate.output_file.is_some();
    let render_opts = RenderOptions {
        color: format == Format::Human
            && if to_file {
                args.color == ColorArg::Always
            } else {
                use_color(args.color)
            },
        rules: rules::registry(),
        base: Some(cwd),
        jobs: opts.jobs,
        ..RenderOptions::default()
    };
    let mut file_out = match &args.gate.output_file {
        Some(path) => Some(io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| Error::io(&crate::source::display_path(path), &e))?,
        )),
        None => None,
    };
    let target: &mut dyn Write = match file_out.as_mut() {
        Some(f) => f,
        None => &mut *out,
    };
    // No CI log command (`##[...]`, `::...` at a line's start) reaches the
    // log from the input, in any format (see `escape::CiInert`).
    let json = matches!(format, Format::Json | Format::Sarif | Format::Gitlab);
    let mut inert = crate::escape::CiInert::new(target, json, format == Format::Human);
    let target: &mut dyn Write = &mut inert;
    if !format.notices_in_output() && !args.gate.quiet {
        // Programs read stdout; people read the notices on stderr.
        let mut err = io::stderr().lock();
        for notice in &render::notices_for_people(&report.notices) {
            let _ = writeln!(
                err,
                "twice: note: {}",
                crate::escape::ci_inert(&crate::escape::printable(notice))
            );
        }
    }
    let clean = report.findings.is_empty();
    let rendered = if format == Format::Human && (args.gate.quiet || args.gate.statistics) {
        let human = render::human::Human::new(render_opts.clone());
        let mut r = Ok(());
        if args.gate.statistics {
            r = write_statistics(&report, target);
        }
        if r.is_ok() && !(args.gate.quiet && clean) {
            r = human.summary_block(&report, args.gate.quiet, target);
        }
        r
    } else {
        render::renderer(format, &render_opts).render(&report, target)
    };
    output(rendered.and_then(|()| target.flush()))?;
    drop(inert);
    if args.format.is_none() && in_github_actions() {
        // Annotations are for the runner, which reads stdout, also when the
        // report went to a file.
        let mut out = crate::escape::CiInert::new(&mut *out, false, false);
        let rendered = render::renderer(Format::Github, &render_opts).render(&report, &mut out);
        output(rendered.and_then(|()| out.flush()))?;
    }
    if to_file && !(args.gate.quiet && clean) {
        // The report went to the file; people still see the summary.
        let summary = render::human::Human::new(RenderOptions {
            color: use_color_stderr(args.color),
            ..render_opts
        });
        let mut err = crate::escape::CiInert::new(io::stderr().lock(), false, true);
        let _ = summary.summary_block(&report, args.gate.quiet, &mut err);
    }
    // A replay that stopped part-way is an incomplete run: exit 2, whatever
    // was found before it stopped (the notice says why).
    let stopped: Vec<&str> = report
        .summary
        .sequences
        .iter()
        .filter(|s| s.replay.starts_with("stopped"))
        .map(|s| s.root.as_str())
        .collect();
    if !stopped.is_empty() {
        let _ = writeln!(
            io::stderr().lock(),
            "twice: error: replay incomplete for {}: see the note above; the findings shown \
             cover only what ran",
            crate::escape::printable(&stopped.join(", "))
        );
        return Ok(2);
    }
    let code = u8::from(exit_for(fail_on, &report));
    // The process ends once the code is returned: the report's memory goes
    // back with it, without freeing every finding and file one by one (a
    // few percent of a static pass on thousands of files).
    std::mem::forget(report);
    Ok(code)
}

/// An error as printed: `error: ` before it, control characters of the
/// input escaped, and any line of it that is not twice's own `error: ` line
/// indented, so that no text from a file name starts a line.
fn error_text(message: &str) -> String {
    let text = crate::escape::ci_inert(&crate::escape::printable_lines(message));
    let mut out = String::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i == 0 {
            out.push_str("error: ");
        } else if !line.starts_with("error: ") {
            out.push_str("  ");
        }
        out.push_str(line);
    }
    out
}

/// What `twice check` ran: a plain check, or `--fix` with its check of the fixed files.
enum Ran {
    Checked(check::Report),
    Fixed(crate::fix::FixRun),
}

/// Whether to colour what twice writes to stderr (as [`use_color`], for
/// stderr).
fn use_color_stderr(choice: ColorArg) -> bool {
    let set = |var| std::env::var_os(var).is_some_and(|v: std::ffi::OsString| !v.is_empty());
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            !set("NO_COLOR")
                && (set("FORCE_COLOR")
                    || (std::env::var_os("TERM").is_none_or(|t| t != "dumb")
                        && io::stderr().is_terminal()))
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `--statistics`: one line per rule with findings shown: count, id,
/// default severity and summary, most frequent first (as `ruff --statistics`).
fn write_statistics(report: &check::Report, out: &mut dyn Write) -> io::Result<()> {
    let stats = render::statistics(report);
    let width = stats.iter().map(|(r, _)| r.len()).max().unwrap_or(0);
    let count_width = stats
        .iter()
        .map(|(_, n)| n.to_string().len())
        .max()
        .unwrap_or(1);
    for (rule, n) in &stats {
        let (severity, summary) = rules::find(rule)
            .map(|m| (m.severity.name(), m.summary))
            .unwrap_or(("", ""));
        writeln!(
            out,
            "{n:>count_width$}  {rule:width$}  {severity:7}  {summary}"
        )?;
    }
    if !stats.is_empty() {
        writeln!(out)?;
    }
    Ok(())
}

/// A progress line on stderr for checks that take more than a second, when
/// stderr is a terminal; nothing otherwise.
struct Progress {
    state: Option<(std::sync::Arc<ProgressState>, std::thread::JoinHandle<()>)>,
}

#[derive(Default)]
struct ProgressState {
    line: std::sync::Mutex<String>,
    done: std::sync::atomic::AtomicBool,
}

impl Progress {
    /// Starts the indicator and hooks it into `opts`.
    fn start(opts: &mut Options) -> Progress {
        if !io::stderr().is_terminal() || std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
            return Progress { state: None };
        }
        let state = std::sync::Arc::new(ProgressState::default());
        let hook_state = state.clone();
        opts.progress = Some(check::ProgressHook(std::sync::Arc::new(
            move |what: &str, done: usize, total: usize| {
                if let Ok(mut line) = hook_state.line.lock() {
                    *line = if what == check::STATIC_PROGRESS {
                        format!("static rules: {done}/{total} files")
                    } else {
                        format!(
                            "replaying {}: {done}/{total} migrations",
                            normalize_for_terminal(what)
                        )
                    };
                }
            },
        )));
        let thread_state = state.clone();
        let handle = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let mut shown = false;
            let spinner = ['|', '/', '-', '\\'];
            let mut tick = 0usize;
            while !thread_state.done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if started.elapsed() < std::time::Duration::from_secs(1) {
                    continue;
                }
                let line = thread_state
                    .line
                    .lock()
                    .map(|l| l.clone())
                    .unwrap_or_default();
                tick += 1;
                let _ = write!(
                    io::stderr().lock(),
                    "\r\x1b[2K{} twice: {line} ({}s)",
                    spinner[tick % spinner.len()],
                    started.elapsed().as_secs()
                );
                shown = true;
            }
            if shown {
                let _ = write!(io::stderr().lock(), "\r\x1b[2K");
            }
        });
        Progress {
            state: Some((state, handle)),
        }
    }

    fn stop(self) {
        if let Some((state, handle)) = self.state {
            state.done.store(true, std::sync::atomic::Ordering::Relaxed);
            let _ = handle.join();
        }
    }
}

/// A name shown on the progress line, without control characters.
fn normalize_for_terminal(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Whether the report has findings at or above the `--fail-on` level.
fn exit_for(fail_on: FailOn, report: &check::Report) -> bool {
    let threshold = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Never => None,
    };
    threshold.is_some_and(|t| report.findings.iter().any(|f| f.severity >= t))
}

/// `--diff`: the edits as unified diffs on stdout, refusals on stderr.
fn run_diff(
    inputs: &[Input],
    opts: &Options,
    applying: crate::fix::Applying,
    out: &mut dyn Write,
) -> Result<u8, RunError> {
    let run = crate::fix::run_with(inputs, opts, applying)?;
    let mut changed = false;
    for plan in &run.plans {
        let diff = plan.diff();
        if !diff.is_empty() {
            changed = true;
            output(out.write_all(diff.as_bytes()))?;
        }
        report_refusals(plan);
    }
    output(out.flush())?;
    Ok(u8::from(changed))
}

fn report_refusals(plan: &crate::fix::FilePlan) {
    let mut err = io::stderr().lock();
    for (line, rule, why) in &plan.refused {
        let _ = writeln!(
            err,
            "twice: not fixed: {}:{line} [{rule}]: {}",
            crate::escape::printable(&plan.name),
            crate::escape::printable(why)
        );
    }
    for (line, rule, what) in &plan.unsafe_skipped {
        let _ = writeln!(
            err,
            "twice: unsafe fix not applied: {}:{line} [{rule}] {what}: it can change what the statement does (`twice explain {rule}`); `--unsafe-fixes` applies it",
            crate::escape::printable(&plan.name)
        );
    }
}

/// `--fix`: writes each fixed file and says what was done on stderr. For a
/// script from stdin the fixed text goes to stdout.
fn write_fixes(
    run: &crate::fix::FixRun,
    inputs: &[Input],
    stdin: bool,
    out: &mut dyn Write,
) -> Result<(), RunError> {
    let plans = &run.plans;
    // Files on disk: all of them or none (see `fix::write_all`).
    crate::fix::write_all(plans, inputs)?;
    for plan in plans {
        if plan.changed() {
            let mut err = io::stderr().lock();
            if plan.path.is_none() {
                output(out.write_all(&plan.bytes()))?;
            }
            let _ = writeln!(
                err,
                "twice: fixed {} finding{} in {}",
                plan.applied.len(),
                if plan.applied.len() == 1 { "" } else { "s" },
                crate::escape::printable(&plan.name)
            );
            for (line, rule, what) in &plan.applied {
                let _ = writeln!(
                    err,
                    "  {}:{line} [{rule}] {}",
                    crate::escape::printable(&plan.name),
                    crate::escape::printable(what)
                );
            }
        }
        report_refusals(plan);
    }
    warn_about_checksums(run);
    if stdin && plans.iter().all(|p| !p.changed()) {
        // Nothing to fix: echo the script unchanged, as formatters do (also
        // when it had no fixable finding at all, so no plan).
        for file in run.report.files.iter().filter(|f| f.path.is_none()) {
            output(out.write_all(&crate::source::encode(&file.text, file.had_bom, file.utf16)))?;
        }
    }
    output(out.flush())?;
    Ok(())
}

/// Tools that record a checksum of every applied migration (Flyway, sqlx,
/// Liquibase: [`crate::layout::Layout::checksum_advice`]) refuse to go on
/// when an applied file changes: say so once per tool whose files `--fix`
/// edited.
fn warn_about_checksums(run: &crate::fix::FixRun) {
    let mut said = std::collections::BTreeSet::new();
    for plan in run.plans.iter().filter(|p| p.changed() && p.path.is_some()) {
        // The sequence whose folder holds the file (the longest match; `.`
        // holds every relative name).
        let within = |root: &str| {
            plan.name == root
                || (root == "." && !std::path::Path::new(&plan.name).is_absolute())
                || plan
                    .name
                    .starts_with(&format!("{}/", root.trim_end_matches('/')))
        };
        let Some(seq) = run
            .report
            .summary
            .sequences
            .iter()
            .filter(|s| within(&s.root))
            .max_by_key(|s| s.root.len())
        else {
            continue;
        };
        if let Some(advice) =
            crate::layout::by_name(seq.layout).and_then(|k| crate::layout::get(k).checksum_advice())
        {
            if said.insert(seq.layout) {
                let _ = writeln!(io::stderr().lock(), "twice: warning: {advice}.");
            }
        }
        // A folder Atlas wrote in another tool's format keeps its
        // `atlas.sum` beside the files: Atlas's checks fail after an edit.
        let atlas = crate::layout::atlas::KIND;
        if seq.layout != atlas.name()
            && std::path::Path::new(&seq.root).join("atlas.sum").is_file()
            && said.insert(atlas.name())
        {
            if let Some(advice) = crate::layout::get(atlas).checksum_advice() {
                let _ = writeln!(io::stderr().lock(), "twice: warning: {advice}.");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
