//! Running a part's statements on the server: the per-statement time limit
//! (the server's `max_statement_time` / `max_execution_time` and a watchdog
//! that kills the query, then the connection), and the server's errors
//! turned into engine-neutral failures (MySQL error number, SQLSTATE,
//! class, missing object).

use crate::replay::engine::{ErrorClass, FailureKind, StmtError};
use mysql::prelude::Queryable;
use mysql::session_state_change::SessionStateChange;
use mysql::{Conn, Opts};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long after `KILL QUERY` the connection itself is killed.
const KILL_GRACE: Duration = Duration::from_secs(3);

use crate::replay::DataWatch;

/// Kills the running query when a statement outlives its time limit by a
/// second (the server's own limit normally fires first; this catches
/// statements it does not cover, such as those inside a procedure, and
/// migrations that turn it off), then the connection [`KILL_GRACE`] later.
pub(super) struct Watchdog {
    slot: Arc<Mutex<Option<Armed>>>,
    stop: Arc<AtomicBool>,
    fired: Arc<AtomicBool>,
    /// The data folder grew past [`crate::replay::DATA_LIMIT`] (a throwaway server's).
    grew: Arc<AtomicBool>,
}

struct Armed {
    deadline: Instant,
    connection: u32,
    query_killed: bool,
}

impl Watchdog {
    /// `data`: a throwaway server's data folder, whose growth past `limit`
    /// (from its size now) stops the running statement.
    pub(super) fn start(admin: Opts, data: Option<std::path::PathBuf>, limit: u64) -> Watchdog {
        let slot: Arc<Mutex<Option<Armed>>> = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let fired = Arc::new(AtomicBool::new(false));
        let grew = Arc::new(AtomicBool::new(false));
        let (s, st, f, gr) = (slot.clone(), stop.clone(), fired.clone(), grew.clone());
        let mut watch = DataWatch::new(data, limit);
        std::thread::spawn(move || {
            let mut admin_conn: Option<Conn> = None;
            while !st.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let mut g = s.lock().unwrap_or_else(|p| p.into_inner());
                let Some(a) = g.as_mut() else { continue };
                if !a.query_killed && watch.as_mut().is_some_and(DataWatch::over) {
                    gr.store(true, Ordering::SeqCst);
                } else if Instant::now() < a.deadline {
                    continue;
                }
                let sql = if a.query_killed {
                    format!("KILL CONNECTION {}", a.connection)
                } else {
                    format!("KILL QUERY {}", a.connection)
                };
                if a.query_killed {
                    *g = None;
                } else {
                    a.query_killed = true;
                    a.deadline = Instant::now() + KILL_GRACE;
                }
                drop(g);
                f.store(true, Ordering::SeqCst);
                if admin_conn.is_none() {
                    admin_conn = Conn::new(admin.clone()).ok();
                }
                if let Some(c) = admin_conn.as_mut() {
                    if c.query_drop(&sql).is_err() {
                        admin_conn = None;
                    }
                }
            }
        });
        Watchdog {
            slot,
            stop,
            fired,
            grew,
        }
    }

    pub(super) fn arm(&self, deadline: Instant, connection: u32) {
        self.grew.store(false, Ordering::SeqCst);
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Armed {
            deadline,
            connection,
            query_killed: false,
        });
    }

    pub(super) fn disarm(&self) {
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Whether the watchdog killed something since the last call.
    pub(super) fn take_fired(&self) -> bool {
        self.fired.swap(false, Ordering::SeqCst)
    }

    /// Whether what it killed since the last call was over
    /// [`crate::replay::DATA_LIMIT`] rather than the time limit.
    pub(super) fn take_grew(&self) -> bool {
        self.grew.swap(false, Ordering::SeqCst)
    }

    pub(super) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a MySQL error number means, for the help line.
pub(super) fn error_class(code: u16, message: &str) -> ErrorClass {
    match code {
        // Table, database, procedure/function, trigger, event, view exists;
        // duplicate key (index) name; duplicate foreign key / constraint.
        1050 | 1007 | 1304 | 1359 | 1537 | 1061 | 1826 | 3822 | 4028 => ErrorClass::AlreadyExists,
        1060 => ErrorClass::DuplicateColumn,
        1064 | 1149 => ErrorClass::Syntax,
        1062 | 1022 | 1586 | 1557 => ErrorClass::UniqueViolation,
        // Can't DROP: a column or a key, as the message tells.
        1091 if message.contains("COLUMN") || message.contains("column/key") => {
            if message.to_ascii_lowercase().contains("drop column") {
                ErrorClass::UndefinedColumn
            } else {
                ErrorClass::UndefinedObject
            }
        }
        1305 if message.starts_with("FUNCTION ") => ErrorClass::UndefinedFunction,
        1091 | 1146 | 1051 | 1049 | 1305 | 1360 | 1539 | 1176 | 4031 | 1347 => {
            ErrorClass::UndefinedObject
        }
        1054 => ErrorClass::UndefinedColumn,
        // Access denied (database, table, column, command, SUPER needed,
        // routine), --secure-file-priv, local infile.
        1044 | 1045 | 1142 | 1143 | 1227 | 1370 | 1410 | 1290 | 1148 | 3948 | 1419 => {
            ErrorClass::PermissionDenied
        }
        _ => ErrorClass::Other,
    }
}

/// The bare name of the object an error is about: the missing one in
/// `Table 'db.team' doesn't exist`, `Unknown column 'x' in 'field list'`,
/// `Can't DROP COLUMN `x`; ...`; the one already there in `Duplicate column
/// name 'x'`, `Table 't' already exists`, `Duplicate key name 'i'`.
pub(super) fn named_object(code: u16, message: &str) -> Option<String> {
    if !matches!(
        code,
        1146 | 1051
            | 1054
            | 1091
            | 1305
            | 1360
            | 1539
            | 1176
            | 4031
            | 1050
            | 1060
            | 1061
            | 1304
            | 1537
            | 1826
            | 3822
    ) {
        return None;
    }
    // `FUNCTION db.f does not exist`, `PROCEDURE db.p does not exist`,
    // `FUNCTION f already exists`: no quotes.
    if matches!(code, 1305 | 1304) {
        if let Some(name) = message.split_whitespace().nth(1) {
            let name = name.rsplit('.').next()?.trim_matches('`');
            return (!name.is_empty()).then(|| name.to_string());
        }
    }
    let message = message.replacen("Can't", "Cannot", 1);
    let start = message.find(['\'', '`'])?;
    let quote = message[start..].chars().next()?;
    let rest = &message[start + 1..];
    let end = rest.find(quote)?;
    let name = &rest[..end];
    let name = name.rsplit('.').next()?.trim_matches('`');
    (!name.is_empty()).then(|| name.to_string())
}

/// Where in the file a syntax error is (1064, 1149): MySQL says `near
/// '<text>' at line N`, N counted in the statement's text as sent (trimmed).
/// The start of the quoted text on that line when it is found there, else
/// the start of the line; `None` for other errors or when the line is not
/// inside the statement. `dbs`: the databases replay runs in, which the
/// text sent may name where the file names the history's own database
/// (`shop.plan` sent as `` `twice_1a2b`.plan ``, see [`locate`]).
pub(super) fn syntax_error_at(
    e: &mysql::Error,
    file_text: &str,
    span: std::ops::Range<usize>,
    dbs: &[&str],
) -> Option<usize> {
    let mysql::Error::MySqlError(m) = e else {
        return None;
    };
    if !matches!(m.code, 1064 | 1149) {
        return None;
    }
    let (head, line) = m.message.rsplit_once(" at line ")?;
    let line: usize = line.trim().parse().ok()?;
    let stmt = file_text.get(span.clone())?;
    let lead = stmt.len() - stmt.trim_start().len();
    let body = &stmt[lead..];
    let mut start = 0;
    for _ in 1..line {
        start += body[start..].find('\n')? + 1;
    }
    let end = body[start..].find('\n').map_or(body.len(), |n| start + n);
    // The quoted text, up to its first line break and without the `...`
    // MySQL adds when it cuts it short.
    let near = head
        .split_once("near '")
        .map(|(_, rest)| rest.strip_suffix('\'').unwrap_or(rest))
        .map(|t| t.split('\n').next().unwrap_or(t).trim_end_matches("..."))
        .filter(|t| !t.trim().is_empty());
    let column = near
        .and_then(|t| locate(&body[start..end], t, dbs))
        .unwrap_or(0);
    Some(span.start + lead + start + column)
}

/// Where `near`, the text MySQL quotes in a syntax error, starts in `line`,
/// the line as written. The text sent names a database of `dbs` (`` `twice_1`.
/// ``) where the line may name the history's own (`shop.`, see `own.rs`):
/// the text before the first such qualifier is looked for, or, when the
/// quoted text starts with one, what follows it, and then the qualifier
/// written before that.
fn locate(line: &str, near: &str, dbs: &[&str]) -> Option<usize> {
    let quals: Vec<String> = dbs
        .iter()
        .map(|db| format!("{}.", super::server::ident(db)))
        .collect();
    let next = |t: &str| {
        quals
            .iter()
            .filter_map(|q| t.find(q.as_str()).map(|i| (i, q.len())))
            .min()
    };
    match next(near) {
        None => line.find(near),
        Some((0, n)) => {
            let rest = &near[n..];
            let rest = &rest[..next(rest).map_or(rest.len(), |(i, _)| i)];
            if rest.trim().is_empty() {
                return None;
            }
            let object = line.find(rest)?;
            let before = line[..object].trim_end().strip_suffix('.')?.trim_end();
            let start = match before.strip_suffix('`') {
                Some(open) => open.rfind('`')?,
                None => before
                    .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                    .map_or(0, |i| i + 1),
            };
            (start < before.len()).then_some(start)
        }
        Some((i, _)) => line.find(&near[..i]),
    }
}

/// Whether MySQL error `code` says a statement was stopped by the time limit:
/// max_statement_time (MariaDB), max_execution_time (MySQL), or KILL QUERY,
/// which comes only from the watchdog.
pub(super) fn stopped_by_time_limit(code: u16) -> bool {
    matches!(code, 1969 | 3024 | 1317 | 1028)
}

/// The error of a statement as a neutral [`StmtError`]. `dbs`: database
/// names to strip from messages (`Table 'twice_1a2b.t'` → `Table 't'`).
pub(super) fn stmt_error(e: &mysql::Error, dbs: &[&str], watchdog_fired: bool) -> StmtError {
    match e {
        mysql::Error::MySqlError(m) => {
            let mut message = m.message.clone();
            for db in dbs {
                message = message.replace(&format!("{db}."), "");
                message = message.replace(&format!("`{db}`."), "");
            }
            let kind = if stopped_by_time_limit(m.code) {
                FailureKind::Timeout
            } else {
                FailureKind::Error
            };
            let message = format!("{message} (MySQL error {})", m.code);
            StmtError {
                class: error_class(m.code, &m.message),
                object: named_object(m.code, &m.message).map(Into::into),
                code: (!m.state.is_empty()).then(|| m.state.clone().into()),
                ..StmtError::new(kind, message)
            }
        }
        other => {
            let kind = if watchdog_fired {
                FailureKind::Timeout
            } else {
                FailureKind::Error
            };
            StmtError::new(kind, format!("the server connection failed: {other}"))
        }
    }
}

/// What the result of the last statement said of the session, from the
/// trackers [`super::session_sql`] turns on (`session_track_state_change`,
/// `session_track_transaction_info = 'STATE'`): whether it changed the
/// session besides its transaction state (a setting, the current database,
/// a user variable, a temporary table, a prepared statement: anything the
/// server reports), and whether a transaction is open after it, when that
/// was reported. Anything the tracker sends that is not a transaction state
/// counts as a change.
pub(super) fn session_report(conn: &Conn) -> (bool, Option<bool>) {
    let Ok(changes) = conn.session_state_changes() else {
        return (true, None);
    };
    let mut changed = false;
    let mut open = None;
    for info in &changes {
        match info.decode() {
            Ok(SessionStateChange::TransactionState(state)) => {
                open = Some(matches!(state.as_bytes().first(), Some(b'T' | b'I')));
            }
            _ => changed = true,
        }
    }
    (changed, open)
}

/// Whether `e` ended the session.
pub(super) fn connection_lost(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::MySqlError(m) => matches!(m.code, 2006 | 2013 | 1927 | 4031),
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) => true,
        mysql::Error::DriverError(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_near_the_scratch_database_point_at_the_name_written() {
        let dbs = ["twice_1", "twice_1_copy"];
        let line = "ALTER TABLE shop.plan ADD COLUMN x INT DEFAULT DEFAULT";
        assert_eq!(locate(line, "DEFAULT", &dbs), Some(39));
        // The quoted text starts at the qualifier.
        let at = locate(line, "`twice_1`.plan ADD COLUMN x INT", &dbs);
        assert_eq!(at, Some(12));
        let line = "SELECT * FROM FROM `shop`.`plan`";
        assert_eq!(locate(line, "FROM `twice_1_copy`.`plan`", &dbs), Some(9));
        assert_eq!(locate(line, "`twice_1_copy`.`plan`", &dbs), Some(19));
        assert_eq!(locate("x", "`twice_1`.", &dbs), None);
    }

    #[test]
    fn classes_and_objects() {
        assert_eq!(error_class(1050, ""), ErrorClass::AlreadyExists);
        assert_eq!(error_class(1061, ""), ErrorClass::AlreadyExists);
        assert_eq!(error_class(1060, ""), ErrorClass::DuplicateColumn);
        assert_eq!(error_class(1062, ""), ErrorClass::UniqueViolation);
        assert_eq!(error_class(1146, ""), ErrorClass::UndefinedObject);
        let no_function = "FUNCTION twice_1.normalize_handle does not exist";
        assert_eq!(
            error_class(1305, no_function),
            ErrorClass::UndefinedFunction
        );
        assert_eq!(
            named_object(1305, no_function).as_deref(),
            Some("normalize_handle")
        );
        assert_eq!(
            error_class(1305, "PROCEDURE twice_1.p does not exist"),
            ErrorClass::UndefinedObject
        );
        assert_eq!(
            error_class(1091, "Can't DROP COLUMN `x`; check that it exists"),
            ErrorClass::UndefinedColumn
        );
        assert_eq!(
            error_class(1091, "Can't DROP INDEX `i`; check that it exists"),
            ErrorClass::UndefinedObject
        );
        assert_eq!(error_class(1142, ""), ErrorClass::PermissionDenied);
        assert_eq!(
            named_object(1146, "Table 'twice_1.team' doesn't exist").as_deref(),
            Some("team")
        );
        assert_eq!(
            named_object(1054, "Unknown column 'x' in 'field list'").as_deref(),
            Some("x")
        );
        assert_eq!(
            named_object(1091, "Can't DROP COLUMN `x`; check that it exists").as_deref(),
            Some("x")
        );
        assert_eq!(
            named_object(1050, "Table 'twice_1.t' already exists").as_deref(),
            Some("t")
        );
        assert_eq!(
            named_object(1060, "Duplicate column name 'legacy_id'").as_deref(),
            Some("legacy_id")
        );
        assert_eq!(
            named_object(1304, "FUNCTION f already exists").as_deref(),
            Some("f")
        );
        assert_eq!(
            named_object(1062, "Duplicate entry '1' for key 'PRIMARY'"),
            None
        );
    }
}
