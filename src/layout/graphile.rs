//! `graphile-migrate` (Graphile Migrate, PostgreSQL): a migrations folder
//! holding `committed/000001.sql` ... and the migration in progress,
//! `current.sql` (or a `current/` folder of numbered files), configured by
//! a `.gmrc` above it. As graphile-migrate reads them (graphile/migrate
//! `src/migration.ts`, `getAllMigrations`, `parseMigrationText`;
//! `src/hash.ts`; `src/current.ts`; `src/header.ts`; `src/actions.ts`;
//! `src/commands/reset.ts`):
//!
//! - committed migrations are the files of `committed/` named
//!   `<number>[-<message>].sql`, run in the order of `<number>.sql`; each
//!   starts with `--! Previous: <hash of the one before, or ->` and
//!   `--! Hash: sha1:<hex>` header lines, then a blank line. graphile-migrate
//!   refuses to run when the headers are missing, when a migration's
//!   `Previous` is not the hash of the one before it, or when its body no
//!   longer has the hash it was committed with (without `--! AllowInvalidHash`):
//!   `malformed-migration` findings;
//! - a migration whose body starts with `--! no-transaction` runs outside a
//!   transaction;
//! - a new database (`graphile-migrate reset`) first gets the SQL files of
//!   `.gmrc`'s `afterReset` (`"!file.sql"` as the superuser), then the
//!   committed migrations: those files are the starting state here (applied
//!   once, not audited); `command` actions cannot be run and are named in a
//!   notice;
//! - the current migration comes last, and `graphile-migrate watch` runs it
//!   again every time it changes, on the database that already has it: it
//!   must be idempotent, and its findings say so. `current/` files run in
//!   the order of their numbers. A current file with `--! include` lines
//!   (text graphile-migrate pastes in from `fixtures/`) cannot be run as
//!   written: the static rules read it, replay leaves it out;
//! - `:DATABASE_OWNER` is replaced with the role that owns the database
//!   (`CURRENT_USER` in replay) and `:DATABASE_NAME` with the database's
//!   name (the one replay runs in: [`crate::model::CURRENT_DATABASE`]);
//!   other `.gmrc` placeholders are named in a notice, and take their
//!   values from `--define` (read as psql variables: see
//!   [`crate::placeholder`]);
//! - other SQL files in the folder and its other sub-folders (a schema dump
//!   `afterAllMigrations` writes, `afterCurrent` tests, `fixtures/` texts)
//!   are not migrations of the history, nor histories of their own.

use super::{whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::{LayoutKind, Migration};
use std::path::Path;

/// The Graphile Migrate layout.
pub struct Graphile;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("graphile-migrate");

const GMRC: &str = "../.gmrc";
const COMMITTED: &str = "committed";
const CURRENT: &str = "current";

/// `000012-add-users.sql` → `000012`: graphile-migrate's
/// `^([0-9]+)(-[-_a-zA-Z0-9]*)?\.sql$`.
fn number(base: &str) -> Option<&str> {
    let stem = base.strip_suffix(".sql")?;
    let (num, rest) = stem.split_at(stem.bytes().take_while(u8::is_ascii_digit).count());
    let rest_ok = rest.is_empty()
        || (rest.starts_with('-')
            && rest
                .bytes()
                .all(|b| b == b'-' || b == b'_' || b.is_ascii_alphanumeric()));
    (!num.is_empty() && rest_ok).then_some(num)
}

/// Whether `text` starts like a committed migration.
fn committed_header(text: &str) -> bool {
    text.starts_with("--! Previous:")
}

/// Whether `dir` holds a `committed/` folder of graphile-migrate migrations.
fn holds_committed(dir: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(dir.join(COMMITTED)) else {
        return false;
    };
    rd.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        number(&name).is_some()
            && std::fs::read(e.path()).is_ok_and(|b| b.starts_with(b"--! Previous:"))
    })
}

/// The header lines and where the body starts, as `parseMigrationText`
/// reads them: `--! Key` or `--! Key: value` lines, a key starting with a
/// capital letter.
struct Parsed<'a> {
    headers: Vec<(&'a str, Option<&'a str>)>,
    /// Byte offset of the line after the headers.
    after: usize,
}

fn parse_headers(text: &str) -> Parsed<'_> {
    let mut headers = Vec::new();
    let mut at = 0;
    for line in text.split('\n') {
        let Some(rest) = line.strip_prefix("--! ") else {
            break;
        };
        let (key, value) = match rest.split_once(':') {
            Some((k, v)) => (k, Some(v.trim())),
            None => (rest, None),
        };
        let key_ok = key.starts_with(|c: char| c.is_ascii_uppercase())
            && key.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric());
        if !key_ok {
            break;
        }
        headers.push((key, value));
        at += line.len() + 1;
    }
    Parsed {
        headers,
        after: at.min(text.len()),
    }
}

fn header<'a>(p: &Parsed<'a>, key: &str) -> Option<Option<&'a str>> {
    p.headers.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// graphile-migrate's `calculateHash(body, previousHash)`.
fn hash(body: &str, previous: Option<&str>) -> String {
    use sha1::{Digest, Sha1};
    let text = format!("{}\n{}", previous.unwrap_or(""), body.trim());
    let d = Sha1::digest(format!("{}\n", text.trim()).as_bytes());
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha1:{hex}")
}

/// `.gmrc` is JSON5: comments and trailing commas are taken out before it is
/// read as JSON.
fn read_gmrc(text: &str) -> Option<serde_json::Value> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                let q = b[i];
                let start = i;
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if i >= b.len() {
                    return None;
                }
                i += 1;
                let s = &text[start..i];
                if q == b'\'' {
                    let inner = &s[1..s.len() - 1];
                    out.push_str(&serde_json::to_string(inner).ok()?);
                } else {
                    out.push_str(s);
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            }
            b',' => {
                let next = text[i + 1..].trim_start();
                if !(next.starts_with('}') || next.starts_with(']')) {
                    out.push(',');
                }
                i += 1;
            }
            _ => {
                let ch = text[i..].chars().next()?;
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    serde_json::from_str(&out).ok()
}

impl super::Layout for Graphile {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`--! no-transaction` at the top of the migration")
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .find(|e| number(e.base()).is_some() && committed_header(&e.file.text))
            .map(|e| {
                format!(
                    "committed migrations with `--! Previous:` headers ({})",
                    e.rel
                )
            })
    }

    fn claims_dir(&self, dir: &Path, _listed: &[super::Listed]) -> Option<String> {
        holds_committed(dir)
            .then(|| "a committed/ folder of migrations with `--! Previous:` headers".into())
    }

    /// Every sub-folder: besides `committed/` and `current/`, a migrations
    /// folder holds what its hooks run (`afterCurrent` tests, `fixtures/` for
    /// `--! include`), which are not histories of their own.
    fn absorbs_subfolder(&self, _rel: &str, _folder: &Folder) -> bool {
        true
    }

    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &[".gmrc"]
    }

    fn uses_side_file(&self, rel: &str, _folder: &Folder) -> bool {
        rel == GMRC
    }

    fn dialect(&self, _folder: &Folder) -> Option<(Dialect, String)> {
        Some((
            Dialect::Postgres,
            "graphile-migrate runs on PostgreSQL only".into(),
        ))
    }

    fn text_macros(&self, dialect: Dialect) -> &'static [(&'static str, &'static str)] {
        match dialect {
            Dialect::Postgres => &[
                (":DATABASE_OWNER", "CURRENT_USER"),
                (":DATABASE_NAME", crate::model::CURRENT_DATABASE),
            ],
            _ => &[],
        }
    }

    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        (engine == Dialect::Postgres).then_some(
            "CREATE SCHEMA IF NOT EXISTS graphile_migrate; CREATE TABLE IF NOT EXISTS \
             graphile_migrate.migrations (hash text PRIMARY KEY, previous_hash text, filename \
             text NOT NULL, date timestamptz NOT NULL DEFAULT now()); CREATE TABLE IF NOT EXISTS \
             graphile_migrate.current (filename text DEFAULT 'current.sql' PRIMARY KEY, content \
             text NOT NULL, date timestamptz NOT NULL DEFAULT now())",
        )
    }

    fn checksum_advice(&self) -> Option<&'static str> {
        Some(
            "graphile-migrate refuses a committed migration whose body no longer has its `--! Hash`: \
             keep these edits to the current migration, or to committed ones not applied anywhere \
             yet and commit them again (`graphile-migrate uncommit`, then `commit`)",
        )
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let gmrc = folder.aux.get(GMRC).map(|t| (t, read_gmrc(t)));
    if let Some((_, None)) = gmrc {
        plan.notices.push(format!(
            "{}: the .gmrc above it is not JSON5 twice can read: its afterReset files are not applied",
            folder.display
        ));
    }
    let config = gmrc.and_then(|(_, v)| v);
    let mut used = vec![false; folder.entries.len()];
    // afterReset: the starting state of a new database.
    if let Some(actions) = config
        .as_ref()
        .and_then(|c| c.get("afterReset"))
        .and_then(|a| a.as_array())
    {
        for a in actions {
            let file = match a {
                serde_json::Value::String(s) => Some(s.trim_start_matches('!').to_string()),
                serde_json::Value::Object(o)
                    if o.get("_").and_then(|k| k.as_str()) == Some("sql") =>
                {
                    o.get("file").and_then(|f| f.as_str()).map(str::to_string)
                }
                serde_json::Value::Object(o) => {
                    let what = o
                        .get("command")
                        .and_then(|c| c.as_str())
                        .unwrap_or("an action");
                    plan.notices.push(format!(
                        "{}: .gmrc afterReset runs `{what}`, which twice cannot run: what it creates is missing during replay",
                        folder.display
                    ));
                    None
                }
                _ => None,
            };
            let Some(file) = file else { continue };
            let rel = file.trim_start_matches("./");
            match folder.index_of(rel) {
                Some(i) => {
                    used[i] = true;
                    plan.migrations.push(
                        Migration::new("reset".into(), rel.to_string(), whole(folder, i), None)
                            .starting_state(
                            "graphile-migrate runs this file on a new database (afterReset in \
                             .gmrc) before the committed migrations: it is applied once as the \
                             starting state and not audited, but the migrations after it need \
                             what it creates",
                            ),
                    );
                }
                None => plan.notices.push(format!(
                    "{}: .gmrc afterReset names {rel}, which is not an SQL file of this folder: replay runs without it",
                    folder.display
                )),
            }
        }
    }
    if let Some(keys) = config
        .as_ref()
        .and_then(|c| c.get("placeholders"))
        .and_then(|p| p.as_object())
        .filter(|p| !p.is_empty())
    {
        let names: Vec<&str> = keys.keys().map(String::as_str).collect();
        plan.notices.push(format!(
            "{}: graphile-migrate replaces the placeholders {} from .gmrc and the environment; \
             give twice their values with `--define NAME=VALUE` (the name without its colon): \
             statements using one without a value are reported and left out of replay",
            folder.display,
            names.join(", ")
        ));
    }
    // Committed migrations, in the order of `<number>.sql`.
    let own_dir = |rel: &str| rel.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let committed_dir = if folder.entries.iter().any(|e| own_dir(&e.rel) == COMMITTED) {
        COMMITTED
    } else {
        ""
    };
    let mut committed: Vec<(String, usize)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if own_dir(&e.rel) != committed_dir || used[i] {
            continue;
        }
        match number(e.base()) {
            Some(n) if committed_dir == COMMITTED || committed_header(&e.file.text) => {
                used[i] = true;
                committed.push((format!("{n}.sql"), i));
            }
            _ => {}
        }
    }
    committed.sort();
    let mut previous: Option<String> = None;
    for (n, (key, i)) in committed.iter().enumerate() {
        let text = &folder.entries[*i].file.text;
        let p = parse_headers(text);
        let refuse = |plan: &mut Plan, why: String| {
            plan.problem(
                *i,
                0..0,
                format!("graphile-migrate refuses to migrate: {why}"),
                "commit migrations with `graphile-migrate commit`, and do not edit them after",
            )
        };
        let prev_header = header(&p, "Previous").flatten();
        let hash_header = header(&p, "Hash").flatten();
        match (prev_header, hash_header) {
            (None, _) => refuse(&mut plan, "it has no `--! Previous:` header".into()),
            (_, None) => refuse(&mut plan, "it has no `--! Hash:` header".into()),
            (Some(prev), Some(h)) => {
                let prev = (prev != "-").then_some(prev);
                let rest = &text[p.after..];
                if !rest.is_empty() && !rest.starts_with('\n') {
                    refuse(
                        &mut plan,
                        "there should be a blank line after its headers".into(),
                    );
                } else if n > 0 && prev != previous.as_deref() {
                    refuse(
                        &mut plan,
                        format!(
                            "its `--! Previous:` is not the hash of the migration before it ({})",
                            committed[n - 1].0
                        ),
                    );
                } else if n == 0 && prev.is_some() {
                    refuse(
                        &mut plan,
                        "it is the first migration but names a previous one".into(),
                    );
                } else {
                    let body = format!("{}\n", rest.trim());
                    if hash(&body, prev) != h && header(&p, "AllowInvalidHash").is_none() {
                        refuse(
                            &mut plan,
                            "its body no longer has the `--! Hash:` it was committed with (it was edited after `graphile-migrate commit`)".into(),
                        );
                    }
                }
                previous = Some(h.to_string());
            }
        }
        let mut up = whole(folder, *i);
        up.no_transaction = {
            let body = text[p.after..].trim_start_matches('\n');
            let first = body.split('\n').next().unwrap_or("");
            first
                .strip_prefix("--!")
                .is_some_and(|r| r.trim_start().starts_with("no-transaction"))
        };
        let stem = folder.entries[*i].base().trim_end_matches(".sql");
        plan.migrations.push(Migration::new(
            key.trim_end_matches(".sql").to_string(),
            stem.to_string(),
            up,
            None,
        ));
    }
    // The current migration.
    let current_file = folder.entries.iter().position(|e| e.rel == "current.sql");
    let mut current_dir: Vec<(u128, usize)> = folder
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| own_dir(&e.rel) == CURRENT)
        .filter_map(|(i, e)| {
            let n = number(e.base())?;
            Some((n.parse::<u128>().ok()?, i))
        })
        .collect();
    current_dir.sort();
    if current_file.is_some() && !current_dir.is_empty() {
        plan.problem(
            current_dir[0].1,
            0..0,
            "graphile-migrate refuses to run: both current.sql and a current/ folder exist".into(),
            "keep one of them",
        );
    }
    let note =
        "graphile-migrate watch runs the current migration again every time it changes, on the \
                database that already has it: it must be idempotent";
    let currents: Vec<usize> = current_file
        .into_iter()
        .chain(current_dir.iter().map(|(_, i)| *i))
        .collect();
    for i in currents {
        used[i] = true;
        let text = &folder.entries[i].file.text;
        if text.lines().any(|l| l.starts_with("--! include")) {
            plan.unresolvable.push((
                i,
                "a current migration with `--! include` lines: graphile-migrate pastes fixture files \
                 in before running it, which twice does not"
                    .into(),
            ));
            continue;
        }
        let stem = folder.entries[i].base().trim_end_matches(".sql");
        plan.migrations.push(
            Migration::new("current".into(), stem.to_string(), whole(folder, i), None)
                .rerun_by_design(note),
        );
    }
    for (i, e) in folder.entries.iter().enumerate() {
        if !used[i] {
            plan.skipped.push((
                i,
                if own_dir(&e.rel) == COMMITTED {
                    "not named <number>[-<message>].sql: graphile-migrate does not run it".into()
                } else {
                    "not a committed or current migration: graphile-migrate runs only committed/ \
                     and the current migration (a schema dump, or a file a .gmrc hook runs, is not \
                     part of the history; name it to check it)"
                        .into()
                },
            ));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_headers_as_graphile_migrate_reads_them() {
        assert_eq!(number("000012.sql"), Some("000012"));
        assert_eq!(number("000012-add_users-x.sql"), Some("000012"));
        assert_eq!(number("current.sql"), None);
        assert_eq!(number("12.add.sql"), None);
        let text = "--! Previous: -\n--! Hash: sha1:abc\n--! AllowInvalidHash\n\nselect 1;\n";
        let p = parse_headers(text);
        assert_eq!(header(&p, "Previous"), Some(Some("-")));
        assert_eq!(header(&p, "AllowInvalidHash"), Some(None));
        assert_eq!(&text[p.after..], "\nselect 1;\n");
    }

    #[test]
    fn hashes_match_graphile_migrate() {
        // graphile-migrate's own first migration of a fresh project:
        // `-- Enter migration here` committed with no previous.
        let h = hash("-- Enter migration here\n", None);
        assert!(h.starts_with("sha1:") && h.len() == 45, "{h}");
        assert_ne!(h, hash("-- Enter migration here\n", Some("sha1:x")));
        assert_eq!(h, hash("\n\n-- Enter migration here\n\n", None));
    }

    #[test]
    fn gmrc_is_json5() {
        let v = read_gmrc(
            "/* c */ {\n // x\n \"afterReset\": [\"!a.sql\", { \"_\": 'command', \"command\": \"x // y\" },],\n}",
        )
        .unwrap();
        let a = v["afterReset"].as_array().unwrap();
        assert_eq!(a[0], "!a.sql");
        assert_eq!(a[1]["command"], "x // y");
        assert_eq!(a[1]["_"], "command");
        assert!(read_gmrc("{ nope").is_none());
    }
}
