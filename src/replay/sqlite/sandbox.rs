//! The sandbox around every replay connection: an authorizer that refuses
//! what would touch files or load code, defensive mode, limits, a memory
//! ceiling and a per-statement time limit. The authorizer also records what
//! each user statement could touch, for observation.

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::{config::DbConfig, ffi, Connection};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

/// Sandbox settings.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Per-statement time limit.
    pub timeout: Duration,
    /// Largest string or blob (SQLITE_LIMIT_LENGTH), in bytes.
    pub max_length: i32,
    /// Memory ceiling for all of SQLite in this process, in bytes.
    pub heap_limit: i64,
}

/// 64 MiB.
pub const MAX_LENGTH: i32 = 64 << 20;
/// 1 GiB.
pub const HEAP_LIMIT: i64 = 1 << 30;

impl SandboxConfig {
    pub fn from_options(opts: &crate::options::Options) -> SandboxConfig {
        SandboxConfig {
            timeout: opts.timeout,
            max_length: MAX_LENGTH,
            heap_limit: HEAP_LIMIT,
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            timeout: Duration::from_secs(5),
            max_length: MAX_LENGTH,
            heap_limit: HEAP_LIMIT,
        }
    }
}

/// What a user statement could touch, from the authorizer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Rows of a table may be inserted, updated or deleted.
    Write {
        table: String,
        insert: bool,
    },
    Create {
        kind: &'static str,
        name: String,
        table: String,
    },
    Drop {
        kind: &'static str,
        name: String,
        table: String,
    },
    Alter {
        table: String,
    },
}

/// State shared with the authorizer and the progress handler.
#[derive(Debug, Default)]
pub struct Shared {
    /// Internal queries of the engine: nothing recorded.
    pub internal: bool,
    /// Events of the statement being prepared.
    pub events: Vec<Event>,
    /// Why the authorizer last refused something.
    pub denied: Option<String>,
    pub deadline: Option<Instant>,
    pub timed_out: bool,
}

pub type SharedRef = Arc<Mutex<Shared>>;

pub fn lock(s: &SharedRef) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// Pragmas that name files or directories or would let SQL corrupt the
/// database: refused (with a finding) when given a value.
const DENIED_PRAGMAS: &[&str] = &[
    "temp_store_directory",
    "data_store_directory",
    "writable_schema",
];

/// Pragmas that would move temporary data to files, raise resource
/// limits, or make the connection refuse the writes of everything after
/// them (twice's own included: `query_only`, a `max_page_count` below the
/// database's size): setting them is ignored (they change neither schema
/// nor data).
const IGNORED_PRAGMAS: &[&str] = &[
    "temp_store",
    "mmap_size",
    "hard_heap_limit",
    "soft_heap_limit",
    "threads",
    "query_only",
    "max_page_count",
];

fn decide(shared: &SharedRef, ctx: &AuthContext<'_>) -> Authorization {
    let deny = |why: String| {
        lock(shared).denied = Some(why);
        Authorization::Deny
    };
    match ctx.action {
        AuthAction::Attach { filename } => {
            return deny(if filename.is_empty() {
                "ATTACH and VACUUM are not allowed: they open another database".to_string()
            } else {
                format!(
                    "it would open the file `{filename}` (ATTACH or VACUUM INTO); replay never \
                     touches files"
                )
            })
        }
        AuthAction::Detach { .. } => {
            return deny("DETACH is not allowed: replay never attaches databases".into())
        }
        AuthAction::Function { function_name }
            if function_name.eq_ignore_ascii_case("load_extension") =>
        {
            return deny(
                "load_extension() would load native code; replay never loads extensions".into(),
            )
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(value),
        } if DENIED_PRAGMAS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(pragma_name))
            // twice's own `PRAGMA writable_schema = RESET` (it only makes
            // SQLite read the schema again, and turns the setting off).
            && !(lock(shared).internal
                && pragma_name.eq_ignore_ascii_case("writable_schema")
                && value.eq_ignore_ascii_case("reset")) =>
        {
            return deny(format!(
                "PRAGMA {pragma_name} with a value is not allowed: it names files or lets SQL \
                 rewrite the schema table"
            ))
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(_),
        } if IGNORED_PRAGMAS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(pragma_name)) =>
        {
            return Authorization::Ignore;
        }
        _ => {}
    }
    let mut s = lock(shared);
    if s.internal {
        return Authorization::Allow;
    }
    match ctx.action {
        AuthAction::Transaction { .. } => {
            s.denied =
                Some("transaction statements run only as separate statements during replay".into());
            return Authorization::Deny;
        }
        AuthAction::Savepoint { savepoint_name, .. }
            if savepoint_name
                .to_ascii_lowercase()
                .starts_with(crate::replay::sqlite::statements::SAVEPOINT_PREFIX) =>
        {
            s.denied = Some(format!(
                "savepoint name `{savepoint_name}` is reserved for replay"
            ));
            return Authorization::Deny;
        }
        _ => {}
    }
    // For ALTER TABLE the database is the action's own argument (SQLite
    // passes the column name of DROP/RENAME COLUMN in the usual place).
    let main = match ctx.action {
        AuthAction::AlterTable { database_name, .. } => database_name == "main",
        _ => ctx.database_name.is_none_or(|d| d == "main"),
    };
    if !main {
        return Authorization::Allow;
    }
    let lower = |x: &str| x.to_ascii_lowercase();
    let ev = match ctx.action {
        AuthAction::Insert { table_name } => Event::Write {
            table: lower(table_name),
            insert: true,
        },
        AuthAction::Update { table_name, .. } | AuthAction::Delete { table_name } => Event::Write {
            table: lower(table_name),
            insert: false,
        },
        AuthAction::CreateTable { table_name } => Event::Create {
            kind: "table",
            name: lower(table_name),
            table: lower(table_name),
        },
        AuthAction::CreateView { view_name } => Event::Create {
            kind: "view",
            name: lower(view_name),
            table: lower(view_name),
        },
        AuthAction::CreateIndex {
            index_name,
            table_name,
        } => Event::Create {
            kind: "index",
            name: lower(index_name),
            table: lower(table_name),
        },
        AuthAction::CreateTrigger {
            trigger_name,
            table_name,
        } => Event::Create {
            kind: "trigger",
            name: lower(trigger_name),
            table: lower(table_name),
        },
        AuthAction::CreateVtable { table_name, .. } => Event::Create {
            kind: "table",
            name: lower(table_name),
            table: lower(table_name),
        },
        AuthAction::DropTable { table_name } | AuthAction::DropVtable { table_name, .. } => {
            Event::Drop {
                kind: "table",
                name: lower(table_name),
                table: lower(table_name),
            }
        }
        AuthAction::DropView { view_name } => Event::Drop {
            kind: "view",
            name: lower(view_name),
            table: lower(view_name),
        },
        AuthAction::DropIndex {
            index_name,
            table_name,
        } => Event::Drop {
            kind: "index",
            name: lower(index_name),
            table: lower(table_name),
        },
        AuthAction::DropTrigger {
            trigger_name,
            table_name,
        } => Event::Drop {
            kind: "trigger",
            name: lower(trigger_name),
            table: lower(table_name),
        },
        AuthAction::AlterTable { table_name, .. } => Event::Alter {
            table: lower(table_name),
        },
        _ => return Authorization::Allow,
    };
    if let Event::Write { table, .. } = &ev {
        if table.starts_with("sqlite_") {
            return Authorization::Allow;
        }
    }
    if !s.events.contains(&ev) {
        s.events.push(ev);
    }
    Authorization::Allow
}

static HEAP: Once = Once::new();

/// Opens a sandboxed in-memory connection.
pub fn open(cfg: &SandboxConfig) -> rusqlite::Result<(Connection, SharedRef)> {
    heap_ceiling(cfg);
    install(Connection::open_in_memory()?, cfg)
}

/// Sets the process-wide heap ceiling (once): before any connection is
/// opened or any database image is allocated.
pub fn heap_ceiling(cfg: &SandboxConfig) {
    HEAP.call_once(|| {
        super::heap::set_ceiling(cfg.heap_limit);
    });
}

/// Puts the sandbox around `conn` (an in-memory connection no SQL has run
/// on but twice's own, such as a copy's `sqlite3_deserialize`): defensive
/// mode, limits, settings, the authorizer and the time limit, before any
/// migration SQL runs on it.
pub fn install(conn: Connection, cfg: &SandboxConfig) -> rusqlite::Result<(Connection, SharedRef)> {
    heap_ceiling(cfg);
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    // Extension loading stays off (it is off by default; say so explicitly).
    // SAFETY: a valid open handle; the option takes an int and a null pointer.
    unsafe {
        ffi::sqlite3_db_config(
            conn.handle(),
            ffi::SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
            0,
            std::ptr::null_mut::<i32>(),
        );
    }
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, cfg.max_length)?;
    conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, cfg.max_length)?;
    // Stock SQLite defaults that the bundled build changes or that matter:
    // foreign keys off (migrations turn them on with a pragma), temporary
    // data in memory only.
    conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY;")?;
    let shared: SharedRef = Arc::new(Mutex::new(Shared::default()));
    let s = shared.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| decide(&s, &ctx)));
    let s = shared.clone();
    conn.progress_handler(
        1000,
        Some(move || {
            let mut st = lock(&s);
            match st.deadline {
                Some(d) if Instant::now() >= d => {
                    st.timed_out = true;
                    true
                }
                _ => false,
            }
        }),
    );
    Ok((conn, shared))
}
