//! `golang-migrate` (`migrate -path DIR up`): `<version>_<title>.up.sql` and
//! `<version>_<title>.down.sql` directly in the folder.
//!
//! As golang-migrate does: the version is the leading number (an unsigned
//! 64-bit integer; no zero padding needed) and migrations run in numeric
//! order, so `10_x` runs after `2_x`; files that do not match the pattern
//! are ignored; two up (or two down) files for one version make it refuse
//! the folder ("duplicate migration file"). golang-migrate does not wrap
//! migrations in a transaction itself, so `no_transaction` is left to the
//! statements (the driver runs the file as one multi-statement exec); its
//! `sqlite3` and `sqlite` drivers do, unless told not to (`NoTxWrap: true`
//! in the Go code that makes the driver, `x-no-tx-wrap=true` in the URL):
//! twice reads the module's Go sources for that, and takes a folder whose
//! every migration opens and commits its own transaction as told too.

use super::{numeric_cmp, whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::Migration;
use std::collections::BTreeMap;
use std::path::Path;

/// `<version>_<name>.up.sql`/`.down.sql` names directly in the folder
/// (golang-migrate, sqlx or pop without dialect marks).
pub fn reversible(folder: &Folder) -> bool {
    folder
        .entries
        .iter()
        .filter(|e| e.dir().is_empty())
        .any(|e| super::pop::parse_name(e.base()).is_some() || parse_name(e.base()).is_some())
}

/// `<version>_<title>.(up|down).sql` → (version, title, is_up), as
/// golang-migrate's `^([0-9]+)_(.*)\.(down|up)\.(.*)$` reads it: the title
/// runs to the last `.up.` or `.down.`, and whatever follows is the
/// extension (`30_x.up..sql` is an up migration; twice reads `.sql` files).
pub fn parse_name(base: &str) -> Option<(&str, &str, bool)> {
    let (version, rest) = super::version_underscore(base)?;
    if !rest.ends_with(".sql") {
        return None;
    }
    let up = rest.rfind(".up.");
    let down = rest.rfind(".down.");
    match (up, down) {
        (Some(u), Some(d)) if d > u => Some((version, &rest[..d], false)),
        (Some(u), _) => Some((version, &rest[..u], true)),
        (None, Some(d)) => Some((version, &rest[..d], false)),
        (None, None) => None,
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut by_version: BTreeMap<String, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "golang-migrate reads only the files directly in its folder".into(),
            ));
            continue;
        }
        let Some((version, _, up)) = parse_name(e.base()) else {
            plan.skipped
                .push((i, "not named <version>_<title>.up.sql or .down.sql".into()));
            continue;
        };
        let key = version.trim_start_matches('0').to_string();
        if key.len() > 20 || (key.len() == 20 && key.as_str() > "18446744073709551615") {
            plan.problem(
                i,
                0..0,
                format!("golang-migrate refuses to run this folder: version {version} does not fit in 64 bits"),
                "use a shorter version number",
            );
            continue;
        }
        let slot = by_version.entry(key).or_default();
        if up {
            slot.0.push(i);
        } else {
            slot.1.push(i);
        }
    }
    type UpsDowns = (Vec<usize>, Vec<usize>);
    let mut versions: Vec<(String, UpsDowns)> = by_version.into_iter().collect();
    versions.sort_by(|a, b| numeric_cmp(&a.0, &b.0));
    for (_, (ups, downs)) in versions {
        for list in [&ups, &downs] {
            for &extra in list.iter().skip(1) {
                plan.problem(
                    extra,
                    0..0,
                    format!(
                        "golang-migrate refuses to run this folder: duplicate migration file {} (same version and direction as {})",
                        folder.entries[extra].rel, folder.entries[list[0]].rel
                    ),
                    "give every migration its own version",
                );
            }
        }
        let Some(&up) = ups.first() else {
            for d in downs {
                plan.skipped
                    .push((d, "a down migration without its .up.sql file".into()));
            }
            continue;
        };
        let (version, title, _) = parse_name(folder.entries[up].base()).unwrap_or_default();
        plan.migrations.push(Migration::new(
            version.to_string(),
            title.to_string(),
            whole(folder, up),
            downs.first().map(|&d| whole(folder, d)),
        ));
    }
    plan
}

/// Every up migration that has statements starts with `BEGIN` and ends with
/// `COMMIT` (or `END`), and there is one. `PRAGMA`s before the `BEGIN` and
/// after the `COMMIT` do not count: SQLite's `PRAGMA foreign_keys` is a
/// no-op inside a transaction, so a migration that rebuilds tables sets it
/// outside its own (`PRAGMA foreign_keys=OFF; BEGIN; ... COMMIT; PRAGMA
/// foreign_keys=ON;`).
fn brackets_itself(
    seq: &crate::model::Sequence,
    statements: &[Vec<crate::analysis::Statement>],
) -> bool {
    use crate::classify::{Kind, Transaction};
    let mut any = false;
    for m in &seq.migrations {
        let up = &m.up;
        let Some(file) = statements.get(up.file) else {
            continue;
        };
        let kinds: Vec<&Kind> = up
            .statements
            .iter()
            .filter_map(|&i| file.get(i))
            .map(|s| &s.facts.kind)
            .filter(|k| !matches!(k, Kind::Pragma(_)))
            .collect();
        if up.statements.is_empty() {
            continue;
        }
        let opens = matches!(kinds.first(), Some(Kind::Transaction(Transaction::Begin)));
        let commits = matches!(kinds.last(), Some(Kind::Transaction(Transaction::Commit)));
        if kinds.len() < 2 || !opens || !commits {
            return false;
        }
        any = true;
    }
    any
}

/// How far above the folder a `go.mod` is looked for.
const GO_MOD_LEVELS: usize = 8;
/// How much Go source of the module is read, in all, and at most per file.
const GO_BYTES: u64 = 16 << 20;
const GO_FILE_BYTES: u64 = 1 << 20;
/// How many folders of the module are looked at.
const GO_FOLDERS: usize = 5_000;

/// The setting that turns the SQLite drivers' transaction off (`NoTxWrap:
/// true`, `x-no-tx-wrap=true`) in a Go source file of the module around
/// `folder` (the nearest `go.mod` above it, up to the repository root), and
/// where: the file and line. The module's own folders only (not `vendor/`,
/// `node_modules/`, hidden folders, `testdata/` or nested modules), test
/// files left out, and the reading bounded.
fn go_setting(folder: &Path) -> Option<(String, String)> {
    let start = std::fs::canonicalize(folder).ok()?;
    let mut module = None;
    let mut at = Some(start.as_path());
    for _ in 0..=GO_MOD_LEVELS {
        let dir = at?;
        if dir.join("go.mod").is_file() {
            module = Some(dir.to_path_buf());
            break;
        }
        if dir.join(".git").exists() {
            return None;
        }
        at = dir.parent();
    }
    let module = module?;
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    let mut budget = GO_BYTES;
    let mut folders = 0;
    let mut stack = vec![module.clone()];
    while let Some(dir) = stack.pop() {
        folders += 1;
        if folders > GO_FOLDERS {
            return None;
        }
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<(std::path::PathBuf, bool)> = read
            .filter_map(|e| {
                let e = e.ok()?;
                let kind = e.file_type().ok()?;
                (kind.is_dir() || kind.is_file()).then(|| (e.path(), kind.is_dir()))
            })
            .collect();
        entries.sort();
        let mut subfolders = Vec::new();
        for (path, is_dir) in entries {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            if is_dir {
                let other_module = path.join("go.mod").is_file();
                if !(name.starts_with('.')
                    || matches!(name.as_str(), "vendor" | "node_modules" | "testdata")
                    || other_module)
                {
                    subfolders.push(path);
                }
                continue;
            }
            if !name.ends_with(".go") || name.ends_with("_test.go") {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.len() > GO_FILE_BYTES || meta.len() > budget {
                continue;
            }
            budget -= meta.len();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if let Some((setting, line)) = no_tx_wrap(&text) {
                let shown = cwd
                    .as_deref()
                    .and_then(|c| path.strip_prefix(c).ok())
                    .unwrap_or(&path);
                return Some((
                    setting,
                    format!("{}:{line}", crate::source::display_path(shown)),
                ));
            }
        }
        // Depth first, in name order.
        stack.extend(subfolders.into_iter().rev());
    }
    None
}

/// `NoTxWrap: true` (or `NoTxWrap = true`, a field set later) or
/// `x-no-tx-wrap=true` in Go text, outside `//` comments: the setting as
/// written and its line (1-based).
fn no_tx_wrap(text: &str) -> Option<(String, usize)> {
    for (n, line) in text.lines().enumerate() {
        let code = without_comment(line);
        if code.contains("x-no-tx-wrap=true") {
            return Some(("x-no-tx-wrap=true".into(), n + 1));
        }
        let mut rest = code;
        while let Some(at) = rest.find("NoTxWrap") {
            let after = rest[at + "NoTxWrap".len()..].trim_start();
            let value = after
                .strip_prefix(':')
                .or_else(|| after.strip_prefix('=').filter(|v| !v.starts_with('=')))
                .map(str::trim_start);
            if let Some(v) = value {
                let word_ends = v
                    .strip_prefix("true")
                    .is_some_and(|t| !t.starts_with(|c: char| c.is_alphanumeric() || c == '_'));
                if word_ends {
                    let sep = if after.starts_with(':') { ":" } else { " =" };
                    return Some((format!("NoTxWrap{sep} true"), n + 1));
                }
            }
            rest = &rest[at + "NoTxWrap".len()..];
        }
    }
    None
}

/// A line of Go up to its `//` comment (not a `//` inside a string: a URL).
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    let mut escaped = false;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' && q != b'`' {
                    escaped = true;
                } else if b == q {
                    quote = None;
                }
            }
            None if b == b'"' || b == b'`' || b == b'\'' => quote = Some(b),
            None if b == b'/' && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            None => {}
        }
    }
    line
}

/// The golang-migrate layout.
pub struct GolangMigrate;

impl super::Layout for GolangMigrate {
    /// golang-migrate's `schema_migrations (version, dirty)`, as its
    /// `database/postgres` (also its MySQL driver's shape) and
    /// `database/sqlite3` drivers create it.
    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        Some(match engine {
            Dialect::Postgres | Dialect::Mysql => {
                "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, \
                 dirty boolean NOT NULL)"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64, dirty bool); \
                 CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)"
            }
        })
    }

    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::GolangMigrate
    }

    /// The `sqlite3` and `sqlite` drivers run each file in a transaction of
    /// their own (unless the database URL sets `x-no-tx-wrap=true`, which
    /// twice cannot see); the PostgreSQL and MySQL drivers open none.
    fn wraps_migrations_in(&self, dialect: crate::dialect::Dialect) -> bool {
        dialect == crate::dialect::Dialect::Sqlite
    }

    /// The SQLite drivers' wrapping turned off: every up migration (with
    /// statements) opens and commits its own transaction, which it could
    /// not inside the driver's (SQLite has no nested transactions), or the
    /// Go module around the folder says `NoTxWrap: true` or
    /// `x-no-tx-wrap=true`.
    fn unwrapped(
        &self,
        seq: &crate::model::Sequence,
        statements: &[Vec<crate::analysis::Statement>],
    ) -> Option<String> {
        if brackets_itself(seq, statements) {
            return Some(
                "every up migration opens and commits its own transaction (BEGIN ... COMMIT), \
                 which it could not inside the SQLite driver's: the project must run them with \
                 `NoTxWrap: true` or `x-no-tx-wrap=true`"
                    .into(),
            );
        }
        let (setting, place) = go_setting(Path::new(&seq.root))?;
        Some(format!(
            "`{setting}` in {place} turns off the SQLite driver's transaction around each file"
        ))
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        reversible(folder).then(|| "<version>_<title>.up.sql/.down.sql names".into())
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;

    #[test]
    fn numeric_order_without_padding() {
        let f = folder(&[
            ("10_ten.up.sql", ""),
            ("10_ten.down.sql", ""),
            ("2_two.up.sql", ""),
            ("1_one.up.sql", ""),
            ("1_one.down.sql", ""),
            ("seed.sql", ""),
        ]);
        let p = super::plan(&f);
        assert_eq!(
            order(&f, &p),
            vec!["1 1_one.up.sql", "2 2_two.up.sql", "10 10_ten.up.sql"]
        );
        assert!(p.migrations[1].down.is_none());
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn names_read_as_the_library_reads_them() {
        use super::parse_name;
        assert_eq!(parse_name("1_init.up.sql"), Some(("1", "init", true)));
        assert_eq!(parse_name("1_init.down.sql"), Some(("1", "init", false)));
        // The extension is whatever follows the direction.
        assert_eq!(
            parse_name("30_ignore_autotag.up..sql"),
            Some(("30", "ignore_autotag", true))
        );
        assert_eq!(parse_name("2_a.up.down.sql"), Some(("2", "a.up", false)));
        assert_eq!(parse_name("3_a.down.up.sql"), Some(("3", "a.down", true)));
        assert_eq!(parse_name("4_upgrade.sql"), None);
        assert_eq!(parse_name("5_x.up.sql.bak"), None);
        assert_eq!(parse_name("x_1.up.sql"), None);
    }

    #[test]
    fn duplicates_are_problems() {
        let f = folder(&[("1_a.up.sql", ""), ("01_b.up.sql", "")]);
        let p = super::plan(&f);
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.migrations.len(), 1);
    }

    #[test]
    fn no_tx_wrap_as_go_code_writes_it() {
        use super::no_tx_wrap;
        let cfg = "d, err := sqlite3.WithInstance(db, &sqlite3.Config{\n\tNoTxWrap: true,\n})";
        assert_eq!(no_tx_wrap(cfg), Some(("NoTxWrap: true".into(), 2)));
        assert_eq!(
            no_tx_wrap("c := &sqlite.Config{}\nc.NoTxWrap = true\n"),
            Some(("NoTxWrap = true".into(), 2))
        );
        assert_eq!(
            no_tx_wrap("url := \"sqlite3://app.db?x-no-tx-wrap=true\""),
            Some(("x-no-tx-wrap=true".into(), 1))
        );
        assert_eq!(no_tx_wrap("Config{NoTxWrap: false}"), None);
        assert_eq!(no_tx_wrap("if c.NoTxWrap == true {"), None);
        assert_eq!(no_tx_wrap("Config{NoTxWrap: trueish}"), None);
        assert_eq!(no_tx_wrap("// NoTxWrap: true would help"), None);
    }
}
