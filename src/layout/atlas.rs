//! `atlas` (Atlas versioned migrations, `atlas migrate apply`):
//! `<version>[_<description>].sql` files beside an `atlas.sum`. As Atlas
//! reads its directory (ariga/atlas `sql/migrate/dir.go`, `LocalDir.Files`,
//! `FilesFromLastCheckpoint`, `NewHashFile`; `sql/migrate/lex.go`;
//! `cmd/atlas/internal/cmdapi/migrate.go`, `txmodeFor`):
//!
//! - every `*.sql` file of the folder (not its sub-folders) is a migration,
//!   run in byte order of the file names (`10_x.sql` before `2_y.sql`);
//!   the version is the name up to its first `_`;
//! - a file whose header comments (the comment lines it starts with, set
//!   off from the statements by a blank line) hold `-- atlas:txmode none`
//!   runs outside a transaction;
//! - a first line `-- atlas:delimiter <d>` cuts the rest of the file at `<d>`
//!   instead of `;` (`\n`, `\r` and `\t` in `<d>` stand for those
//!   characters; quotes, comments, dollar quotes and parentheses are
//!   skipped), each piece sent as one statement;
//! - a file with `-- atlas:checkpoint` in its header is a checkpoint: a new
//!   database starts from the last checkpoint, and the files before it never
//!   run there. The checkpoint is the starting state (applied once, not
//!   audited: Atlas runs it only on a clean database), the files before it
//!   are left out with a notice;
//! - `atlas migrate apply` refuses a folder whose `atlas.sum` does not match
//!   its files (a file edited, added or removed without `atlas migrate
//!   hash`): the first file that does not match is a `malformed-migration`
//!   finding. A file whose first line holds `atlas:sum ignore` is not hashed.
//!
//! - the project's `atlas.hcl` (beside the folder or above it) names the
//!   database in each env's `url`: when every literal `url` names the same
//!   kind of database, that is the folder's dialect (`mysql://`, `maria://`,
//!   `mariadb://`: MySQL; `postgres://`, `postgresql://`: PostgreSQL;
//!   `sqlite://`: SQLite); a MySQL url's database (its path) is the one the
//!   migrations run in, so names qualified with it (`` `shop`.`item` ``,
//!   as `atlas migrate diff` writes them) resolve to replay's scratch
//!   database, as Flyway's default schema does.
//!
//! Atlas also writes other tools' formats (`--dir-format goose`, `flyway`,
//! `golang-migrate`, `dbmate`, `liquibase`) with an `atlas.sum` beside them:
//! those folders are read in their tool's layout, which is asked first.

use super::{whole, Folder, Plan};
use crate::model::{LayoutKind, Migration, Region};

/// The Atlas layout.
pub struct Atlas;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("atlas");

const SUM: &str = "atlas.sum";
const HCL: &str = "atlas.hcl";

impl super::Layout for Atlas {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`-- atlas:txmode none` at the top of the file")
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        let own = || folder.entries.iter().filter(|e| e.dir().is_empty());
        (folder.aux.contains_key(SUM)
            && own().next().is_some()
            && !own().any(|e| {
                super::ends_with_ci(e.base(), ".up.sql")
                    || super::ends_with_ci(e.base(), ".down.sql")
            }))
        .then(|| format!("{SUM} beside the SQL files"))
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        rel == SUM || rel == HCL
    }

    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &[HCL]
    }

    /// The kind of database every env `url` of `atlas.hcl` names.
    fn dialect(&self, folder: &Folder) -> Option<(crate::dialect::Dialect, String)> {
        let (file, text) = project_file(folder)?;
        let urls = env_urls(text);
        let first = urls.first()?.0;
        urls.iter()
            .all(|(d, _)| *d == first)
            .then(|| (first, format!("{file}: env url {}", first.name())))
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn checksum_advice(&self) -> Option<&'static str> {
        Some(
            "Atlas checks every file against atlas.sum and `atlas migrate apply` refuses the folder \
             when one changed: run `atlas migrate hash` after these edits, and keep them to migrations \
             not applied anywhere yet",
        )
    }
}

/// `atlas.hcl` beside the folder or the nearest above it, with how it is
/// named.
fn project_file(folder: &Folder) -> Option<(String, &str)> {
    if let Some(t) = folder.aux.get(HCL) {
        return Some((HCL.to_string(), t));
    }
    folder
        .aux
        .get(&format!("../{HCL}"))
        .map(|t| (format!("../{HCL}"), t.as_str()))
}

/// The literal `url = "<scheme>://..."` values of `atlas.hcl` (not `dev`,
/// not `getenv(...)` or variables), with the database kind each names and
/// its path (a MySQL url's database).
fn env_urls(text: &str) -> Vec<(crate::dialect::Dialect, String)> {
    use crate::dialect::Dialect;
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("url") else {
            continue;
        };
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let Some(value) = value.trim().strip_prefix('"') else {
            continue;
        };
        let Some(value) = value.split('"').next() else {
            continue;
        };
        let Some((scheme, after)) = value.split_once("://") else {
            continue;
        };
        let d = match scheme.to_ascii_lowercase().as_str() {
            "mysql" | "maria" | "mariadb" => Dialect::Mysql,
            "postgres" | "postgresql" => Dialect::Postgres,
            "sqlite" | "sqlite3" => Dialect::Sqlite,
            _ => continue,
        };
        // `user:pass@host:port/database?params`
        let path = after
            .split_once('/')
            .map(|(_, p)| p.split(['?', '#']).next().unwrap_or(""))
            .unwrap_or("");
        out.push((d, path.to_string()));
    }
    out
}

/// The database every MySQL env url of `atlas.hcl` names, when they agree.
fn mysql_database(folder: &Folder) -> Option<crate::model::ToolSchemas> {
    let (file, text) = project_file(folder)?;
    let urls = env_urls(text);
    let mut names = urls
        .iter()
        .filter(|(d, _)| *d == crate::dialect::Dialect::Mysql)
        .map(|(_, p)| p.as_str());
    let first = names.next()?;
    let ok =
        !first.is_empty() && !first.contains(['/', '$', '{', '%']) && names.all(|n| n == first);
    ok.then(|| crate::model::ToolSchemas {
        names: vec![first.to_string()],
        from: format!("the env url in {file}"),
    })
}

/// The header comments Atlas reads directives from: the comment lines the
/// file starts with, when a blank line follows them (or the file holds
/// nothing else).
fn header(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.starts_with('#') || rest.starts_with("--") {
        match rest.find('\n') {
            Some(i) => {
                out.push(rest[..i].trim());
                rest = &rest[i + 1..];
            }
            None => {
                out.push(rest);
                return out;
            }
        }
    }
    if !rest.is_empty() && !rest.trim_start_matches([' ', '\t']).starts_with('\n') {
        return Vec::new();
    }
    out
}

/// The argument of `atlas:<name>` in a comment line (`-- atlas:txmode none`
/// → `Some("none")`), as Atlas's directive pattern reads it; `prefix`, when
/// given, must be exactly what comes before `atlas:`.
fn directive<'a>(line: &'a str, name: &str, prefix: Option<&str>) -> Option<&'a str> {
    let line = line.split('\n').next().unwrap_or("");
    let at = line.find("atlas:")?;
    let before = &line[..at];
    if !before.bytes().all(|b| (b' '..=b'~').contains(&b)) || prefix.is_some_and(|p| p != before) {
        return None;
    }
    let rest = &line[at + "atlas:".len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if &rest[..end] != name {
        return None;
    }
    let arg = &rest[end..];
    if arg.is_empty() {
        return Some("");
    }
    arg.starts_with(' ').then(|| arg.trim_start_matches(' '))
}

/// A file's delimiter directive: its first line `-- atlas:delimiter <d>`,
/// with `<d>` unescaped; the byte offset where the rest of the file starts.
fn delimiter(text: &str) -> Option<(String, usize)> {
    let d = directive(text, "delimiter", Some("-- "))?;
    if d.is_empty() {
        return None;
    }
    let d = d.trim_end_matches('\r');
    let unescaped = d
        .replace("\\n", "\n")
        .replace("\\r", "\r")
        .replace("\\t", "\t");
    let start = text.find('\n').map_or(text.len(), |i| i + 1);
    Some((unescaped, start))
}

/// The pieces of `text[start..]` between `delim`s, as Atlas's scanner cuts
/// them (quotes, comments, dollar quotes and parentheses skipped); pieces
/// holding nothing but white space and comments are left out.
pub fn pieces(text: &str, start: usize, delim: &str) -> Vec<Region> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = start;
    let mut i = start;
    let mut depth = 0usize;
    let push = |out: &mut Vec<Region>, range: std::ops::Range<usize>| {
        if has_code(&text[range.clone()]) {
            out.push(Region {
                range,
                single_statement: true,
            });
        }
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'\'' | b'"' | b'`' => i = skip_quoted(b, i),
            _ if depth == 0 && b[i..].starts_with(delim.as_bytes()) => {
                push(&mut out, from..i);
                i += delim.len();
                from = i;
            }
            b'$' => i = skip_dollar(text, i),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = text[i..].find('\n').map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            }
            _ => i += 1,
        }
    }
    push(&mut out, from..b.len());
    out
}

/// Past a quoted run starting at `i` (a doubled quote stays inside, a
/// backslash escapes the next byte).
fn skip_quoted(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j] == q {
            if b.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

/// Past a dollar-quoted body starting at `i` (`$tag$ ... $tag$`), or one
/// byte on when `$` does not open one.
fn skip_dollar(text: &str, i: usize) -> usize {
    let rest = &text[i + 1..];
    let Some(end) = rest.find('$') else {
        return i + 1;
    };
    let tag = &rest[..end];
    if !tag
        .chars()
        .enumerate()
        .all(|(n, c)| c == '_' || c.is_alphabetic() || (n > 0 && c.is_ascii_digit()))
    {
        return i + 1;
    }
    let open = &text[i..i + end + 2];
    let body = i + open.len();
    text[body..]
        .find(open)
        .map_or(text.len(), |n| body + n + open.len())
}

/// Whether `s` holds anything but white space and comments.
fn has_code(s: &str) -> bool {
    let mut rest = s.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.find('\n').map_or("", |n| &r[n..]).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |n| &r[n + 2..]).trim_start();
        } else {
            return !rest.is_empty();
        }
    }
}

/// Standard base64 with padding (Atlas's sum file encoding).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (k, &b)| n | (u32::from(b) << (16 - 8 * k)));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The first file (by position in `order`) that `atlas.sum` does not match,
/// with why; `None` when it matches, or when twice cannot tell (a file it
/// did not read as Atlas hashes it).
fn sum_mismatch(folder: &Folder, order: &[usize], sum: &str) -> Option<(usize, String)> {
    use sha2::{Digest, Sha256};
    let stored: Vec<(&str, &str)> = sum
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_once("h1:"))
        .map(|(n, h)| (n.trim(), h.trim()))
        .collect();
    // A listed file twice did not read (a seed file the walk set aside, or
    // one it could not decode exactly): no verdict.
    let read: std::collections::HashSet<&str> =
        order.iter().map(|&i| folder.entries[i].base()).collect();
    if stored.iter().any(|(n, _)| !read.contains(n)) {
        return None;
    }
    if order.iter().any(|&i| {
        let f = &folder.entries[i].file;
        f.lossy || f.binary
    }) {
        return None;
    }
    let mut h = Sha256::new();
    let mut k = 0;
    for &i in order {
        let e = &folder.entries[i];
        h.update(e.base().as_bytes());
        let bytes = crate::source::encode(&e.file.text, e.file.had_bom, e.file.utf16);
        let first = e.file.text.split('\n').next().unwrap_or("");
        if directive(first, "sum", None) == Some("ignore") {
            continue;
        }
        h.update(&bytes);
        let now = base64(&h.clone().finalize());
        match stored.get(k) {
            Some((n, hash)) if *n == e.base() && *hash == now => {}
            Some((n, _)) if *n == e.base() => {
                return Some((
                    i,
                    format!("{SUM} does not match this file: it changed after `atlas migrate hash`"),
                ))
            }
            _ => {
                return Some((
                    i,
                    format!("{SUM} does not list this file where it sorts: it was added after `atlas migrate hash`"),
                ))
            }
        }
        k += 1;
    }
    None
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan {
        schemas: mysql_database(folder),
        ..Plan::default()
    };
    let mut order: Vec<usize> = (0..folder.entries.len())
        .filter(|&i| folder.entries[i].dir().is_empty())
        .collect();
    for i in 0..folder.entries.len() {
        if !folder.entries[i].dir().is_empty() {
            plan.skipped.push((
                i,
                "in a sub-folder: Atlas reads only the folder's own files".into(),
            ));
        }
    }
    order.sort_by(|&a, &b| folder.entries[a].base().cmp(folder.entries[b].base()));
    if let Some(sum) = folder.aux.get(SUM) {
        if let Some((i, why)) = sum_mismatch(folder, &order, sum) {
            plan.problem(
                i,
                0..0,
                format!("`atlas migrate apply` refuses this folder: {why}"),
                "run `atlas migrate hash` (or `atlas migrate validate` to see the difference)",
            );
        }
    }
    let checkpoint = order.iter().rposition(|&i| {
        header(&folder.entries[i].file.text)
            .iter()
            .any(|c| directive(c, "checkpoint", None).is_some())
    });
    if let Some(c) = checkpoint.filter(|&c| c > 0) {
        plan.notices.push(format!(
            "{}: {} before the checkpoint {} not read: Atlas starts a new database from its last \
             checkpoint (name a file to check it)",
            folder.display,
            if c == 1 {
                "1 file".to_string()
            } else {
                format!("{c} files")
            },
            folder.entries[order[c]].base()
        ));
        order.drain(..c);
    }
    for (n, &i) in order.iter().enumerate() {
        let e = &folder.entries[i];
        let text = &e.file.text;
        let stem = super::strip_suffix_ci(e.base(), ".sql").unwrap_or(e.base());
        let version = stem.split_once('_').map_or(stem, |(v, _)| v);
        let mut up = match delimiter(text) {
            Some((d, start)) => super::part(i, pieces(text, start, &d)),
            None => whole(folder, i),
        };
        up.no_transaction = header(text)
            .iter()
            .any(|c| directive(c, "txmode", None) == Some("none"));
        let m = Migration::new(version.to_string(), stem.to_string(), up, None);
        plan.migrations.push(if n == 0 && checkpoint.is_some() {
            m.starting_state(
                "this file is an Atlas checkpoint: a new database starts from it (Atlas runs it only \
                 on a clean database), so it is applied once as the starting state and not audited, \
                 but the files after it need what it creates",
            )
        } else {
            m
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_as_atlas_reads_them() {
        assert_eq!(
            directive("-- atlas:txmode none", "txmode", None),
            Some("none")
        );
        assert_eq!(
            directive("-- atlas:checkpoint", "checkpoint", None),
            Some("")
        );
        assert_eq!(
            directive("-- atlas:checkpoint v1", "checkpoint", None),
            Some("v1")
        );
        assert_eq!(directive("-- atlas:txmodex none", "txmode", None), None);
        assert_eq!(
            directive("-- atlas:delimiter //", "delimiter", Some("-- ")),
            Some("//")
        );
        assert_eq!(
            directive("--atlas:delimiter //", "delimiter", Some("-- ")),
            None
        );
        let (d, at) = delimiter("-- atlas:delimiter \\n\\n\nCREATE x;\n\nSELECT 1;").unwrap();
        assert_eq!((d.as_str(), at), ("\n\n", 24));
        assert!(delimiter("CREATE TABLE t (c text);").is_none());
    }

    #[test]
    fn header_comments_need_a_blank_line() {
        assert_eq!(
            header("-- atlas:txmode none\n\nCREATE INDEX x;"),
            ["-- atlas:txmode none"]
        );
        assert!(header("-- atlas:txmode none\nCREATE INDEX x;").is_empty());
        assert_eq!(header("-- a\n# b\n  \nx"), ["-- a", "# b"]);
    }

    #[test]
    fn pieces_cut_at_the_delimiter_outside_quotes_and_bodies() {
        let text = "-- atlas:delimiter -- end\nCREATE PROCEDURE p() BEGIN SELECT ';-- end'; END;\n-- end\nCALL p();\n-- end\n";
        let (d, start) = delimiter(text).unwrap();
        let got: Vec<&str> = pieces(text, start, &d)
            .iter()
            .map(|r| text[r.range.clone()].trim())
            .collect();
        assert_eq!(
            got,
            [
                "CREATE PROCEDURE p() BEGIN SELECT ';-- end'; END;",
                "CALL p();"
            ]
        );
        let text = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 // 2 $$ LANGUAGE sql //\n/* c */ //\nSELECT (1 // 2) //";
        let got: Vec<&str> = pieces(text, 0, "//")
            .iter()
            .map(|r| text[r.range.clone()].trim())
            .collect();
        assert_eq!(
            got,
            [
                "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 // 2 $$ LANGUAGE sql",
                "SELECT (1 // 2)"
            ]
        );
    }

    #[test]
    fn pieces_never_split_a_character() {
        let text = "-- atlas:delimiter é\nSELECT 'ü'é SELECT ü é ∑∑ é";
        let (d, start) = delimiter(text).unwrap();
        let got: Vec<&str> = pieces(text, start, &d)
            .iter()
            .map(|r| text[r.range.clone()].trim())
            .collect();
        assert_eq!(got, ["SELECT 'ü'", "SELECT ü", "∑∑"]);
        for t in ["$", "$a", "'", "/*", "--", "(", ")", "$$ é", "é$é$ x"] {
            let _ = pieces(t, 0, "é");
        }
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
