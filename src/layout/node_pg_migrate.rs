//! `node-pg-migrate` SQL migrations: `<number>_<name>.sql` files holding an
//! `-- Up Migration` section and, optionally, a `-- Down Migration` one. As
//! node-pg-migrate reads them (salsita/node-pg-migrate `src/sqlMigration.ts`,
//! `getActions`; `src/utils/comparators.ts`, `compareMigrationFileNames`;
//! `src/utils/fileNameUtils.ts`, `getNumericPrefix`):
//!
//! - the up migration runs from the line matching `^\s*--[\s-]*up\s+migration`
//!   (any case) to the down marker, or is the whole file without an up
//!   marker; the down migration runs from the down marker to the up marker
//!   or the end;
//! - files run in the order of their numeric prefix, a 17-digit prefix read
//!   as a UTC time (`20200513070724505`) and compared with 13-digit
//!   millisecond ones (`1640000000000`, what `node-pg-migrate create` writes),
//!   then by name; a file without a numeric prefix makes the tool stop;
//! - each migration runs in a transaction of its own (an SQL migration
//!   cannot opt out);
//! - `.js`/`.ts` migrations are code twice cannot run.

use super::{part, region, Folder, Plan};
use crate::model::{LayoutKind, Migration};
use std::cmp::Ordering;

/// The node-pg-migrate layout.
pub struct NodePgMigrate;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("node-pg-migrate");

/// The byte offset of the first line that marks `direction` (`up`/`down`).
fn marker(text: &str, direction: &str) -> Option<usize> {
    super::lines(text)
        .into_iter()
        .find(|l| is_marker(&text[l.start..l.end], direction))
        .map(|l| l.start)
}

/// `line` is the `-- Up Migration` (`direction` `up`) or `-- Down
/// Migration` line.
fn is_marker(line: &str, direction: &str) -> bool {
    line.trim_start()
        .strip_prefix("--")
        .map(|r| r.trim_start_matches(|c: char| c.is_whitespace() || c == '-'))
        .and_then(|r| super::strip_prefix_ci(r, direction))
        .is_some_and(|after| {
            after.starts_with(char::is_whitespace)
                && super::strip_prefix_ci(after.trim_start(), "migration").is_some()
        })
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// node-pg-migrate's `getNumericPrefix`, as a number to sort by.
fn prefix_value(name: &str) -> Option<f64> {
    let digits = super::leading_digits(name);
    if digits.is_empty() {
        return None;
    }
    if digits.len() == 17 {
        let n = |r: std::ops::Range<usize>| digits[r].parse::<i64>().ok();
        let days = days_from_civil(n(0..4)?, n(4..6)?, n(6..8)?);
        let ms = ((days * 24 + n(8..10)?) * 60 + n(10..12)?) * 60 + n(12..14)?;
        return Some((ms * 1000 + n(14..17)?) as f64);
    }
    digits.parse::<f64>().ok()
}

/// Whether `text` holds node-pg-migrate's up marker.
pub fn is_sql_migration(text: &str) -> bool {
    marker(text, "up").is_some()
}

impl super::Layout for NodePgMigrate {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .find(|e| e.marks.has(self.kind()))
            .map(|e| format!("`-- Up Migration` sections ({})", e.rel))
    }

    /// [`is_sql_migration`]'s test, whose lines also end at a lone `\r`.
    fn line_mark(&self) -> Option<fn(&str) -> bool> {
        Some(|line| line.split('\r').any(|l| is_marker(l, "up")))
    }

    fn dialect(&self, _folder: &Folder) -> Option<(crate::dialect::Dialect, String)> {
        Some((
            crate::dialect::Dialect::Postgres,
            "node-pg-migrate runs on PostgreSQL only".into(),
        ))
    }

    fn code_migration(&self, rel: &str) -> Option<String> {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        let code = [".js", ".cjs", ".mjs", ".ts"]
            .iter()
            .any(|x| super::ends_with_ci(base, x));
        let digits = super::leading_digits(base);
        (code && !digits.is_empty()).then(|| digits.to_string())
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        self.code_migration(name).map(|_| {
            "a JavaScript/TypeScript migration: node-pg-migrate runs it as code between the SQL \
             ones; twice reads only SQL, so what it creates is missing during replay"
                .into()
        })
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut files: Vec<(f64, usize)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        match prefix_value(e.base()) {
            Some(v) => files.push((v, i)),
            None => plan.problem(
                i,
                0..0,
                format!(
                    "node-pg-migrate stops: cannot determine the numeric prefix of {}",
                    e.base()
                ),
                "start every migration's name with a number (`node-pg-migrate create` writes a timestamp)",
            ),
        }
    }
    files.sort_by(|a, b| {
        a.0.partial_cmp(&b.0)
            .unwrap_or(Ordering::Equal)
            .then_with(|| {
                super::natural_cmp(folder.entries[a.1].base(), folder.entries[b.1].base())
            })
    });
    for (_, i) in files {
        let e = &folder.entries[i];
        let text = &e.file.text;
        let (up_at, down_at) = (marker(text, "up"), marker(text, "down"));
        let end = text.len();
        let up = match (up_at, down_at) {
            (Some(u), Some(d)) if d > u => u..d,
            (Some(u), _) => u..end,
            (None, _) => 0..end,
        };
        let down = down_at.map(|d| match up_at {
            Some(u) if u > d => d..u,
            _ => d..end,
        });
        let stem = super::strip_suffix_ci(e.base(), ".sql").unwrap_or(e.base());
        plan.migrations.push(Migration::new(
            super::leading_digits(stem).to_string(),
            stem.to_string(),
            part(i, vec![region(up)]),
            down.map(|r| part(i, vec![region(r)])),
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_as_node_pg_migrate_reads_them() {
        let t = "-- Up Migration\nCREATE TABLE t (a int);\n--  down   MIGRATION\nDROP TABLE t;\n";
        assert_eq!(marker(t, "up"), Some(0));
        assert_eq!(marker(t, "down"), Some(40));
        assert_eq!(marker("---- Up Migration ----\n", "up"), Some(0));
        assert_eq!(marker("-- upmigration\n", "up"), None);
        assert_eq!(marker("-- Up Migrations\n", "up"), Some(0));
        assert_eq!(marker("SELECT 1; -- up migration\n", "up"), None);
    }

    #[test]
    fn utc_and_millisecond_prefixes_sort_together() {
        // 2020-05-13T07:07:24.505Z
        assert_eq!(
            prefix_value("20200513070724505_x.sql"),
            Some(1_589_353_644_505.0)
        );
        assert!(prefix_value("1589353644504_y.sql") < prefix_value("20200513070724505_x.sql"));
        assert_eq!(prefix_value("0002_a.sql"), Some(2.0));
        assert_eq!(prefix_value("x.sql"), None);
    }
}
