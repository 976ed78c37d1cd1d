//! Replay: runs every migration twice and reports what the second run
//! changes.
//!
//! # Design
//!
//! Replay is one engine-neutral algorithm driving engines that are
//! mechanics:
//!
//! - [`engine`]: the [`engine::Engine`] trait, at the granularity of a
//!   migration part: `apply` (a first run, kept), `trial` (parts run in
//!   order, each observed, then all undone), `seed`, and `caps` for what
//!   differs; and the neutral data engines return (failures with an error
//!   class and optional SQLSTATE, observations as normalised schema images
//!   and rows of [`engine::Value`]s).
//! - [`algorithm`]: what replay *means*, for any engine, and the only place
//!   that builds replay findings. For each migration of a sequence, in order:
//!   1. A migration marked `apply_only` (before `--since`/`--from`) is only
//!      applied, as the starting state; a failure to apply it is reported.
//!   2. `--seed`: the engine fills tables with synthetic rows (kept).
//!   3. **Down checks** (when the migration has a down part and `--no-down`
//!      is not given), as one trial on the state before the up: up, down,
//!      down again. The objects the up or the down touched are compared with
//!      their state before the up (`down-does-not-revert`); the down's
//!      failures and the second run's changes are `down-second-run-error`
//!      and `down-second-run-change`.
//!   4. **First run** of the up part, kept. A failing statement is a
//!      `first-run-error`; the engine undoes the part (or keeps what ran, for
//!      a part outside a transaction) and replay goes on with the next
//!      migration.
//!   5. **Second run**, as a trial: every failing statement is a
//!      `second-run-error`; the before/after images give
//!      `second-run-schema-change` (unified diff of normalised objects, one
//!      finding per statement that made the change), `second-run-data-change`
//!      (per table: rows added/removed/changed) and, for engines whose
//!      sequences survive a rollback, `second-run-sequence-advance`.
//! - [`diff`]: the one comparator of images.
//! - [`sqlite`]: the sandboxed in-memory SQLite engine. Transaction control
//!   inside a migration (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`,
//!   `RELEASE`) is emulated with savepoints nested in replay's own
//!   transaction, so a `COMMIT` in a migration never makes a second run
//!   permanent ([`control`]).
//! - [`postgres`]: a scratch database on a real PostgreSQL server.
//!
//! ## Cost
//! A plain apply pays for every statement once; replay adds a second run
//! (usually cheap: it fails at prepare time or is a no-op) and observation,
//! whose cost grows with what the second run touches, never with the whole
//! database: SQLite captures before-images only for objects and tables a
//! statement is about to touch, data only for tables it writes; PostgreSQL
//! reads only the objects its DDL log names and the tables its statistics say
//! were written. Undo is a rollback, which SQLite makes expensive only when
//! the undone work changed the schema (it then reloads the whole schema);
//! when a trial's observations show it left everything as it was, the SQLite
//! engine keeps it instead.

pub mod algorithm;
pub mod control;
pub mod diff;
pub mod engine;
pub mod interleave;
pub mod interrupt;
pub mod mysql;
pub mod postgres;
pub mod setup;
pub mod sqlite;

/// Rows `--seed` gives each table that has fewer, on every engine.
pub const SEED_ROWS: i64 = 3;

/// Where the auto-numbered ids of seeded and interleaved rows start, on
/// every engine: far from the ids migrations insert by hand (`INSERT INTO
/// t (id, ...) VALUES (1, ...)`), which synthetic rows would otherwise take
/// first and make fail; within a 32-bit integer.
pub const SYNTHETIC_IDS: i64 = 1_000_000_000;

/// Whether a text written to a synthetic row is distinctive enough to tell
/// the rows migrations derived from it (copied by an `INSERT ... SELECT`, an
/// `UPDATE ... FROM`, a `CREATE TABLE ... AS SELECT`), on every engine: at
/// least four characters with a digit (`seed-12`, `title 12`). Shorter texts
/// are too common to tell.
pub fn distinctive_text(s: &str) -> bool {
    s.len() >= 4 && s.chars().any(|c| c.is_ascii_digit())
}

/// Whether an integer written to a synthetic row is distinctive enough to
/// tell the rows migrations derived from it (see [`distinctive_text`]): an
/// id from [`SYNTHETIC_IDS`] on. Small numbers, booleans and dates are too
/// common to tell.
pub fn distinctive_integer(i: i64) -> bool {
    i >= SYNTHETIC_IDS
}

/// How many new rows the write between a migration's runs
/// ([`engine::Engine::interleave`]) adds to a table holding `existing`, on
/// every engine: [`SEED_ROWS`], fewer once it holds twice as many, at least
/// one. The rows are kept, so tables do not grow with every migration.
pub fn interleave_rows(existing: i64) -> i64 {
    (2 * SEED_ROWS - existing).clamp(1, SEED_ROWS)
}

use crate::dialect::Dialect;
use crate::error::Result;
use crate::finding::Finding;
use crate::model::Sequence;
use crate::options::{Engine as EngineChoice, Options};
use crate::report::Workspace;

/// What replay did for one sequence.
pub enum Outcome {
    Replayed(Vec<Finding>),
    /// Replay could not run for this sequence; the reason is shown once.
    Skipped(String),
    /// Replay stopped part-way (the engine itself failed): the findings so
    /// far, and why it stopped (shown once).
    Stopped {
        findings: Vec<Finding>,
        reason: String,
    },
}

impl Outcome {
    /// The findings, and why replay did not run to the end, if it did not:
    /// the outcome's reason, then `problems` the server engine met cleaning
    /// up (a scratch database or role left behind makes replay incomplete).
    pub(crate) fn with_clean_up(self, problems: &[String]) -> (Vec<Finding>, Option<String>) {
        let (findings, stopped) = match self {
            Outcome::Replayed(f) => (f, None),
            Outcome::Stopped { findings, reason } => (findings, Some(reason)),
            Outcome::Skipped(reason) => (Vec::new(), Some(reason)),
        };
        if problems.is_empty() {
            return (findings, stopped);
        }
        let more = format!("replay incomplete: {}", problems.join("; "));
        let stopped = match stopped {
            Some(s) => format!("{s}; {more}"),
            None => more,
        };
        (findings, Some(stopped))
    }
}

/// The engine `--engine auto` replays a sequence of `dialect` on: SQLite
/// for SQLite and generic SQL; PostgreSQL and MySQL when `--database-url`
/// names a server of that kind or the server binaries are installed (for a
/// throwaway server). `Err`: why the sequence cannot be replayed.
pub fn auto_engine(dialect: Dialect, opts: &Options) -> std::result::Result<EngineChoice, String> {
    let url = opts.database_url.as_deref().unwrap_or("");
    let my_url = url.starts_with("mysql://") || url.starts_with("mariadb://");
    let pg_url = !url.is_empty() && !my_url;
    match dialect {
        Dialect::Sqlite | Dialect::Generic => Ok(EngineChoice::Sqlite),
        Dialect::Postgres
            if pg_url || (url.is_empty() && postgres::cluster::find_bindir().is_some()) =>
        {
            Ok(EngineChoice::Postgres)
        }
        Dialect::Postgres => Err(if my_url {
            "PostgreSQL migrations, and --database-url names a MySQL server (--engine auto)".into()
        } else {
            "PostgreSQL migrations, and no PostgreSQL server is available (--engine auto: \
             pass a postgres:// --database-url or install the server binaries, e.g. \
             `apt-get install postgresql`)"
                .into()
        }),
        Dialect::Mysql
            if my_url || (url.is_empty() && mysql::server::find_binaries().is_some()) =>
        {
            Ok(EngineChoice::Mysql)
        }
        Dialect::Mysql => Err(if pg_url {
            "MySQL migrations, and --database-url names a PostgreSQL server (--engine auto)".into()
        } else {
            "MySQL migrations, and no MariaDB/MySQL server is available (--engine auto: pass a \
             mysql:// --database-url or install the server binaries, e.g. `apt-get install \
             mariadb-server`)"
                .into()
        }),
    }
}

/// The engine that replays a sequence of `dialect`: `--engine auto`'s
/// choice, else the engine given, which replays the sequences of its own
/// dialect and generic SQL (a sequence read in another dialect was named so
/// by its path, its tool, its SQL or its project: `--dialect` alone reads
/// every sequence in the engine's dialect). `Err`: why the sequence is not
/// replayed (its static rules still run). The one table `check` and `twice
/// plan` read.
pub fn engine_for(dialect: Dialect, opts: &Options) -> std::result::Result<EngineChoice, String> {
    let (own, flag) = match opts.engine {
        EngineChoice::Auto => return auto_engine(dialect, opts),
        EngineChoice::Sqlite => (Dialect::Sqlite, "sqlite"),
        EngineChoice::Postgres => (Dialect::Postgres, "postgres"),
        EngineChoice::Mysql => (Dialect::Mysql, "mysql"),
    };
    if dialect == own || dialect == Dialect::Generic {
        return Ok(opts.engine);
    }
    // What the migrations are written in, and what an engine runs.
    let written = |d: Dialect| match d {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
        Dialect::Mysql => "MySQL",
        Dialect::Generic => "generic SQL",
    };
    let runs = |d: Dialect| match d {
        Dialect::Mysql => "MariaDB/MySQL",
        d => written(d),
    };
    Err(match opts.engine {
        // The default engine: the flag that replays them.
        EngineChoice::Sqlite => format!(
            "SQLite cannot run {} migrations (use `--engine {}` to replay them on {})",
            written(dialect),
            dialect.name(),
            runs(dialect),
        ),
        _ => format!(
            "{} migrations, and --engine {flag} replays {} (use --engine auto to replay each \
             folder on its own engine)",
            written(dialect),
            runs(own),
        ),
    })
}

/// Replays one sequence of migrations.
pub fn replay_sequence(ws: &Workspace, seq: &Sequence, opts: &Options) -> Result<Outcome> {
    let engine = match engine_for(seq.dialect, opts) {
        Ok(e) => e,
        Err(why) => return Ok(Outcome::Skipped(format!("{why}; static rules still ran"))),
    };
    match engine {
        EngineChoice::Mysql => {
            let r = mysql::replay_detailed(ws, seq, opts)?;
            return Ok(match r.stopped {
                None => Outcome::Replayed(r.findings),
                Some(reason) => Outcome::Stopped {
                    findings: r.findings,
                    reason,
                },
            });
        }
        EngineChoice::Postgres => {
            let r = replay_detailed(ws, seq, opts)?;
            return Ok(match r.stopped {
                None => Outcome::Replayed(r.findings),
                Some(reason) => Outcome::Stopped {
                    findings: r.findings,
                    reason,
                },
            });
        }
        // (`engine_for` never answers Auto.)
        EngineChoice::Sqlite | EngineChoice::Auto => {}
    }
    let run = || {
        let mut engine =
            match sqlite::SqliteReplay::open(&sqlite::SandboxConfig::from_options(opts)) {
                Ok(e) => e,
                Err(e) => return Ok(Outcome::Skipped(format!("cannot open SQLite: {e}"))),
            };
        if let Some(script) = setup::for_sequence(opts, seq)? {
            setup::run(&script, seq.dialect, &seq.root, |sql| {
                engine
                    .run_setup_statement(sql)
                    .map_err(|message| setup::StatementError {
                        message,
                        position: None,
                    })
            })?;
        }
        algorithm::replay(&mut engine, ws, seq, opts)
    };
    match sqlite::on_replay_stack(run) {
        Ok(outcome) => outcome,
        Err(e) => Ok(Outcome::Skipped(format!(
            "cannot start the replay thread ({} MiB stack): {e}",
            sqlite::REPLAY_STACK >> 20
        ))),
    }
}

/// What the PostgreSQL replay found for one sequence, with what tests look
/// at.
#[derive(Debug, Default)]
pub struct Replayed {
    pub findings: Vec<Finding>,
    /// Why replay stopped part-way (the server or connection failed), if it did.
    pub stopped: Option<String>,
    /// The scratch database used (dropped by now; for tests).
    pub scratch: String,
    /// Copies made for runs outside a transaction (dropped by now).
    pub copies: Vec<String>,
}

/// Replays one sequence on PostgreSQL, with the names of the databases it
/// used. Not reaching a server, or a failing setup script, is an error (exit
/// 2); a failure part-way stops replay with the findings so far, and so does
/// a clean-up that finds the run incomplete (see
/// [`postgres::server::Server::finish`]).
///
/// Order on the scratch database: the setup script (`--setup`, as the admin
/// role), then the migration tool's bookkeeping table ([`crate::layout::Layout::bookkeeping_sql`],
/// created by the algorithm as the migration role, as the tool would), then
/// the migrations.
pub fn replay_detailed(ws: &Workspace, seq: &Sequence, opts: &Options) -> Result<Replayed> {
    let script = setup::for_sequence(opts, seq)?;
    let mut engine = postgres::Runner::open(opts, script.as_ref().map(|s| (s, seq.root.as_str())))?;
    let outcome = algorithm::replay(&mut engine, ws, seq, opts)?;
    let (scratch, copies, problems) = engine.finish();
    let (findings, stopped) = outcome.with_clean_up(&problems);
    Ok(Replayed {
        findings,
        stopped,
        scratch,
        copies,
    })
}

/// Splits `items` by `flags` (one per item): the flagged ones, then the
/// others, each in their order. For withdrawals that pick their records by
/// a test that reads every record first (see `Engine::put_back`).
pub(crate) fn split_flagged<T>(items: Vec<T>, flags: Vec<bool>) -> (Vec<T>, Vec<T>) {
    let mut flagged = Vec::new();
    let mut others = Vec::new();
    for (t, f) in items.into_iter().zip(flags) {
        if f {
            flagged.push(t);
        } else {
            others.push(t);
        }
    }
    (flagged, others)
}

/// How much the data folder of twice's throwaway server (MySQL's, in
/// memory in `/dev/shm` when there is room there; PostgreSQL's, on the
/// disk) may grow while migrations run: past it, the running statement is
/// stopped as over a resource limit (`Options::data_limit` overrides it).
pub const DATA_LIMIT: u64 = 2 << 30;

/// How often the watchdogs measure the data folder while a statement runs.
const MEASURE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// A throwaway server's data folder, as the engines' watchdogs watch it
/// while a statement runs: whether it grew past a limit over its size when
/// the watch began, measured at most every [`MEASURE_EVERY`].
pub(crate) struct DataWatch {
    dir: std::path::PathBuf,
    ceiling: u64,
    measured: std::time::Instant,
}

impl DataWatch {
    /// A watch of `dir` (`None`: a server twice did not start, unwatched)
    /// allowing `limit` bytes of growth from its size now.
    pub(crate) fn new(dir: Option<std::path::PathBuf>, limit: u64) -> Option<DataWatch> {
        let dir = dir?;
        let ceiling = folder_size(&dir).saturating_add(limit);
        Some(DataWatch {
            dir,
            ceiling,
            measured: std::time::Instant::now(),
        })
    }

    /// Whether the folder is past the limit, when it is time to measure
    /// it again (otherwise `false`).
    pub(crate) fn over(&mut self) -> bool {
        if self.measured.elapsed() < MEASURE_EVERY {
            return false;
        }
        self.measured = std::time::Instant::now();
        folder_size(&self.dir) > self.ceiling
    }
}

/// The message of a statement a [`DataWatch`] stopped (`server`: "server",
/// "cluster").
pub(crate) fn data_limit_message(server: &str, limit: u64) -> String {
    format!(
        "stopped: the migrations' data on twice's throwaway {server} grew past {} MiB",
        limit >> 20
    )
}

/// The size of the files under `dir` (the first 100,000 entries).
fn folder_size(dir: &std::path::Path) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > 100_000 {
                return total;
            }
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total = total.saturating_add(m.len());
            }
        }
    }
    total
}
