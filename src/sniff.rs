//! Which database some SQL was written for, from its SQL tokens alone.
//!
//! Only tokens count: strings, comments and dollar-quoted bodies are single
//! tokens, so a backtick in a `COMMENT ON ... IS '...'` string or a `--`
//! comment says nothing. Every sign belongs to exactly one family of
//! databases (one that the others reject or never write), and signs are
//! weighed: a clear majority decides, a real tie is said out loud and left
//! to `--dialect`.
//!
//! Besides the dialects twice reads, it knows the signs of dialects it does
//! not (T-SQL, Oracle, libSQL): a history written in one of them is reported
//! once, and only the static rules look at it.

use crate::dialect::Dialect;
use crate::lexer::{Lexer, Token, TokenKind};
use std::collections::BTreeMap;

/// A family of SQL dialects that signs vote for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Postgres,
    Mysql,
    Sqlite,
    /// Microsoft SQL Server (and Azure SQL).
    Tsql,
    Oracle,
    /// libSQL (Turso): SQLite plus statements of its own.
    Libsql,
    /// ClickHouse: `MergeTree` table engines, `UInt64`/`LowCardinality(...)`
    /// types, `ON CLUSTER`.
    Clickhouse,
    /// CockroachDB: PostgreSQL's language with statements of its own
    /// (`ALTER PRIMARY KEY`, `INTERLEAVE IN PARENT`, `unique_rowid()`).
    Cockroach,
    /// Java's embedded databases (H2, HSQLDB, Derby), DB2, Snowflake:
    /// known only by a folder's name (`migrations/h2/`).
    H2,
    Hsqldb,
    Derby,
    Db2,
    Snowflake,
    /// Streaming SQL over Kafka topics: ksqlDB, Flink SQL.
    Streaming,
}

impl Family {
    const ALL: [Family; 14] = [
        Family::Postgres,
        Family::Mysql,
        Family::Sqlite,
        Family::Tsql,
        Family::Oracle,
        Family::Libsql,
        Family::Clickhouse,
        Family::Cockroach,
        Family::H2,
        Family::Hsqldb,
        Family::Derby,
        Family::Db2,
        Family::Snowflake,
        Family::Streaming,
    ];

    /// The dialect twice reads it as, `None` for dialects twice does not
    /// support.
    pub fn dialect(self) -> Option<Dialect> {
        match self {
            Family::Postgres => Some(Dialect::Postgres),
            Family::Mysql => Some(Dialect::Mysql),
            Family::Sqlite => Some(Dialect::Sqlite),
            Family::Tsql
            | Family::Oracle
            | Family::Libsql
            | Family::Clickhouse
            | Family::Cockroach
            | Family::H2
            | Family::Hsqldb
            | Family::Derby
            | Family::Db2
            | Family::Snowflake
            | Family::Streaming => None,
        }
    }

    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            Family::Postgres => "PostgreSQL",
            Family::Mysql => "MySQL",
            Family::Sqlite => "SQLite",
            Family::Tsql => "T-SQL (SQL Server)",
            Family::Oracle => "Oracle (PL/SQL)",
            Family::Libsql => "libSQL",
            Family::Clickhouse => "ClickHouse",
            Family::Cockroach => "CockroachDB",
            Family::H2 => "H2",
            Family::Hsqldb => "HSQLDB",
            Family::Derby => "Apache Derby",
            Family::Db2 => "Db2",
            Family::Snowflake => "Snowflake",
            Family::Streaming => "streaming SQL (ksqlDB, Flink SQL)",
        }
    }

    /// For a dialect twice does not support: the dialect its static rules
    /// read the statements in (the closest lexing: `[names]` for T-SQL).
    pub fn closest(self) -> Dialect {
        match self {
            Family::Postgres | Family::Cockroach => Dialect::Postgres,
            Family::Mysql => Dialect::Mysql,
            Family::Sqlite | Family::Tsql | Family::Libsql => Dialect::Sqlite,
            Family::Oracle
            | Family::Clickhouse
            | Family::H2
            | Family::Hsqldb
            | Family::Derby
            | Family::Db2
            | Family::Snowflake
            | Family::Streaming => Dialect::Generic,
        }
    }
}

/// What the signs of some SQL texts say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No sign of any dialect.
    Unknown,
    /// One dialect twice reads has a clear majority. `others` lists the
    /// outvoted signs ("MySQL: UNSIGNED"), empty when there were none.
    Clear {
        dialect: Dialect,
        signs: String,
        others: String,
    },
    /// A dialect twice does not read (T-SQL, Oracle, libSQL) has the clear
    /// majority.
    Unsupported { family: Family, signs: String },
    /// No clear majority: the signs of each side.
    Tie { signs: String },
}

/// The signs found so far, with how many texts showed each.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    found: BTreeMap<(Family, &'static str), (u32, u32)>,
}

/// One sign of a dialect in a text: (family, what, weight).
pub type Sign = (Family, &'static str, u32);

/// The signs of one text, each once.
pub fn signs_of(text: &str) -> Vec<Sign> {
    let mut seen: Vec<Sign> = Vec::new();
    scan(text, &mut |family, what, weight| match seen
        .iter_mut()
        .find(|(f, w, _)| *f == family && *w == what)
    {
        Some(s) => s.2 = s.2.max(weight),
        None => seen.push((family, what, weight)),
    });
    seen
}

/// A sign counts at most this many times (texts), so one construct
/// repeated in every migration does not drown all the others.
const MAX_REPEAT: u32 = 5;

impl Evidence {
    pub fn new() -> Evidence {
        Evidence::default()
    }

    /// Adds the signs of one text (a file or a migration part).
    pub fn add(&mut self, text: &str) {
        self.add_signs(signs_of(text));
    }

    /// Adds the signs [`signs_of`] found in one text (texts can be scanned
    /// on several threads, then added in order).
    pub fn add_signs(&mut self, seen: Vec<Sign>) {
        for (family, what, weight) in seen {
            let e = self.found.entry((family, what)).or_insert((weight, 0));
            e.0 = e.0.max(weight);
            e.1 += 1;
        }
    }

    /// The weighted score of one family.
    pub fn score(&self, family: Family) -> u32 {
        self.found
            .iter()
            .filter(|((f, _), _)| *f == family)
            .map(|(_, (w, n))| w * (*n).min(MAX_REPEAT))
            .sum()
    }

    /// The signs found for one family, strongest first.
    pub fn signs(&self, family: Family) -> Vec<&'static str> {
        let mut v: Vec<(u32, &'static str)> = self
            .found
            .iter()
            .filter(|((f, _), _)| *f == family)
            .map(|((_, what), (w, n))| (w * (*n).min(MAX_REPEAT), *what))
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        v.into_iter().map(|(_, w)| w).collect()
    }

    fn listed(&self, family: Family) -> String {
        let signs = self.signs(family);
        crate::words::first_of(&signs, signs.len(), 3)
    }

    /// The verdict: the family with at least twice the score of any other
    /// wins; otherwise a tie. libSQL is SQLite plus its own statements:
    /// SQLite signs count for it when it has signs of its own.
    pub fn verdict(&self) -> Verdict {
        let mut scores: Vec<(Family, u32)> = Family::ALL
            .iter()
            .map(|&f| (f, self.score(f)))
            .filter(|(_, s)| *s > 0)
            .collect();
        if scores.is_empty() {
            return Verdict::Unknown;
        }
        if let Some(lib) = scores.iter().position(|(f, _)| *f == Family::Libsql) {
            if let Some(lite) = scores.iter().position(|(f, _)| *f == Family::Sqlite) {
                scores[lib].1 += scores[lite].1;
                scores.remove(lite);
            }
        }
        scores.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let (top, best) = scores[0];
        let runner_up = scores.get(1).map_or(0, |s| s.1);
        let describe = |fams: &[(Family, u32)]| {
            fams.iter()
                .map(|(f, _)| format!("{} ({})", f.title(), self.listed(*f)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // ClickHouse's signs (its table engines, types, codecs, ON
        // CLUSTER) are SQL no other database accepts: they decide unless
        // another family has more than twice their weight. (Its
        // `ALTER TABLE ... MODIFY COLUMN` and materialized views are also
        // signs of MySQL and PostgreSQL.)
        // CockroachDB's own statements are SQL PostgreSQL refuses, in a
        // history otherwise written in PostgreSQL's language: they decide
        // likewise.
        for family in [Family::Clickhouse, Family::Cockroach] {
            if scores
                .iter()
                .any(|(f, score)| *f == family && 2 * score >= best)
            {
                return Verdict::Unsupported {
                    family,
                    signs: self.listed(family),
                };
            }
        }
        if best < 2 * runner_up {
            return Verdict::Tie {
                signs: describe(&scores),
            };
        }
        let mut signs = self.listed(top);
        if top == Family::Libsql && self.score(Family::Sqlite) > 0 {
            signs = self.listed(Family::Libsql);
        }
        match top.dialect() {
            Some(dialect) => Verdict::Clear {
                dialect,
                signs,
                others: describe(&scores[1..]),
            },
            None => Verdict::Unsupported { family: top, signs },
        }
    }
}

/// A database twice does not read that the folder `display` or its parent
/// is named for (`migrations/h2/`, `oracle/migrations/`), or that any
/// folder above names with `clickhouse` or `cockroachdb` (langfuse's
/// `clickhouse/migrations/unclustered/`), the nearest first; `None` when a
/// nearer component names a dialect twice reads.
pub fn unsupported_in_path(display: &str) -> Option<Family> {
    let family = |(depth, w): (usize, &str)| -> Option<Option<Family>> {
        if crate::dialect::dialect_word(w).is_some() {
            return Some(None);
        }
        // The folder and its parent only: a database's name further up (a
        // home folder named `oracle`) says nothing about this history;
        // `clickhouse` names nothing but the database.
        match unsupported_word(w)? {
            f if depth < 2 || matches!(f, Family::Clickhouse | Family::Cockroach) => Some(Some(f)),
            _ => None,
        }
    };
    display
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .rev()
        .enumerate()
        .flat_map(|(depth, c)| {
            std::iter::once(c)
                .chain(c.split(['-', '_', '.']))
                .map(move |w| (depth, w))
        })
        .find_map(family)
        .flatten()
}

/// A database twice does not read that a word names (`h2`, `derby`,
/// `oracle`, `mssql`, ...), in a folder's or a file's name.
pub fn unsupported_word(w: &str) -> Option<Family> {
    Some(match w.to_ascii_lowercase().as_str() {
        "h2" => Family::H2,
        "hsqldb" | "hsql" => Family::Hsqldb,
        "derby" => Family::Derby,
        "db2" => Family::Db2,
        "snowflake" => Family::Snowflake,
        "oracle" => Family::Oracle,
        "sqlserver" | "mssql" | "tsql" => Family::Tsql,
        "clickhouse" => Family::Clickhouse,
        "cockroachdb" | "cockroach" | "crdb" => Family::Cockroach,
        _ => return None,
    })
}

/// The dialect some SQL texts are clearly written in, with the signs that
/// decided it. `None` when nothing points anywhere, the signs tie, or they
/// point to a dialect twice does not read (see [`Evidence::verdict`] for
/// those cases).
pub fn sniff_dialect<'t>(texts: impl Iterator<Item = &'t str>) -> Option<(Dialect, String)> {
    let mut e = Evidence::new();
    for t in texts {
        e.add(t);
    }
    match e.verdict() {
        Verdict::Clear { dialect, signs, .. } => Some((dialect, signs)),
        _ => None,
    }
}

/// Lexes `text` for sniffing: as PostgreSQL, or as MySQL when that is the
/// only reading without an unterminated string (backslash escapes).
fn tokens(text: &str) -> Vec<Token> {
    let mut lx = Lexer::new(text, 0..text.len(), Dialect::Postgres);
    let toks: Vec<Token> = lx.by_ref().collect();
    if lx.error.is_none() {
        return toks;
    }
    let mut my = Lexer::new(text, 0..text.len(), Dialect::Mysql);
    let alt: Vec<Token> = my.by_ref().collect();
    if my.error.is_none() {
        alt
    } else {
        toks
    }
}

/// A significant token, with what surrounds it.
struct Tok<'a> {
    kind: TokenKind,
    /// Lower-cased text for words, the text otherwise (borrowed from the
    /// text unless lower-casing changed it: most tokens cost no copy).
    text: std::borrow::Cow<'a, str>,
    /// Only whitespace or comments since the last line break before it.
    line_start: bool,
    /// Only whitespace or comments until the next line break after it.
    line_end: bool,
    /// First token of a statement.
    stmt_start: bool,
}

fn significant(text: &str) -> Vec<Tok<'_>> {
    let mut out: Vec<Tok> = Vec::new();
    let mut newline_before = true;
    let mut stmt_start = true;
    for t in tokens(text) {
        let raw = &text[t.span.clone()];
        let has_newline = raw.contains('\n') || raw.contains('\r');
        let trivia = t.kind.is_trivia();
        if t.kind == TokenKind::BlockComment && raw.starts_with("/*!") {
            // MySQL's versioned comments run as SQL there.
            out.push(Tok {
                kind: TokenKind::BlockComment,
                text: std::borrow::Cow::Borrowed("/*!"),
                line_start: newline_before,
                line_end: false,
                stmt_start,
            });
        } else if !trivia {
            let lowered =
                if t.kind == TokenKind::Word && raw.bytes().any(|b| b.is_ascii_uppercase()) {
                    std::borrow::Cow::Owned(raw.to_ascii_lowercase())
                } else {
                    std::borrow::Cow::Borrowed(raw)
                };
            out.push(Tok {
                kind: t.kind,
                text: lowered,
                line_start: newline_before,
                line_end: false,
                stmt_start,
            });
            newline_before = false;
            stmt_start = t.kind == TokenKind::Semicolon;
            continue;
        }
        // T-SQL's `GO` on its own line ends a batch: what follows starts a
        // statement.
        if has_newline && out.last().is_some_and(|l| l.text == "go" && l.line_start) {
            stmt_start = true;
        }
        // A line comment runs to the end of its line.
        if has_newline || t.kind == TokenKind::LineComment {
            if let Some(last) = out.last_mut() {
                last.line_end = true;
            }
        }
        if has_newline {
            newline_before = true;
        }
    }
    if let Some(last) = out.last_mut() {
        last.line_end = true;
    }
    out
}

/// `text` with MySQL's `# comment` lines blanked (PostgreSQL's `#` is an
/// operator that never starts a line), and whether there were any. Only a
/// `#` that starts a line outside strings, quoted names, comments and
/// dollar-quoted bodies counts: a Markdown heading on a line of its own in a
/// multi-line string literal (`'...\n# Title\n...'`), or PL/pgSQL's
/// `#variable_conflict` in a function body, is no MySQL comment. Strings
/// read `\'` as an escaped quote, as MySQL does (a string of another
/// dialect rarely ends with a backslash).
fn without_hash_comments(text: &str) -> (std::borrow::Cow<'_, str>, bool) {
    if !text.contains('#') {
        return (std::borrow::Cow::Borrowed(text), false);
    }
    let hashes = hash_comment_lines(text);
    if hashes.is_empty() {
        return (std::borrow::Cow::Borrowed(text), false);
    }
    let mut bytes = text.as_bytes().to_vec();
    for r in hashes {
        for b in &mut bytes[r] {
            if *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Every byte of each blanked range (a line up to its break) became a
    // space, so no character was cut: still UTF-8.
    match String::from_utf8(bytes) {
        Ok(out) => (std::borrow::Cow::Owned(out), true),
        Err(_) => (std::borrow::Cow::Borrowed(text), true),
    }
}

/// The byte ranges (without the line break) of the lines of `text` that
/// start, after blanks, with a `#` outside strings, quoted names, comments
/// and dollar-quoted bodies. Linear in the text.
fn hash_comment_lines(text: &str) -> Vec<std::ops::Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if line_start {
            if c == b' ' || c == b'\t' || c == b'\r' {
                i += 1;
                continue;
            }
            line_start = false;
            if c == b'#' {
                let end = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                out.push(i..end);
                i = end;
                continue;
            }
        }
        match c {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + 2 + n + 2);
            }
            b'\'' | b'"' | b'`' => {
                let mut j = i + 1;
                while j < b.len() {
                    if b[j] == b'\\' && c == b'\'' {
                        j += 2;
                    } else if b[j] == c {
                        if b.get(j + 1) == Some(&c) {
                            j += 2;
                        } else {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                i = (j + 1).min(b.len());
            }
            b'$' => {
                // `$tag$` ... `$tag$` (the tag: letters, digits, `_`).
                let tag_len = b[i + 1..]
                    .iter()
                    .take_while(|x| x.is_ascii_alphanumeric() || **x == b'_')
                    .count();
                let first_ok = b.get(i + 1).is_some_and(|x| !x.is_ascii_digit());
                if b.get(i + 1 + tag_len) == Some(&b'$') && (tag_len == 0 || first_ok) {
                    let tag = &b[i..i + tag_len + 2];
                    let body = i + tag.len();
                    i = memchr::memmem::find(&b[body..], tag)
                        .map_or(b.len(), |n| body + n + tag.len());
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Type names that only one family writes, with that family and the sign's
/// name. (SQLite takes any word as a type, so these say what the author
/// wrote for, not what SQLite would reject: they weigh less than syntax.
/// `jsonb` is not among them: SQLite 3.45 has JSONB, and SQLite projects
/// write it as a column type.)
const TYPES: &[(&str, Family, &str)] = &[
    ("serial", Family::Postgres, "serial columns"),
    ("bigserial", Family::Postgres, "serial columns"),
    ("smallserial", Family::Postgres, "serial columns"),
    ("serial4", Family::Postgres, "serial columns"),
    ("serial8", Family::Postgres, "serial columns"),
    ("timestamptz", Family::Postgres, "timestamptz"),
    ("timetz", Family::Postgres, "timestamptz"),
    ("bytea", Family::Postgres, "bytea"),
    ("inet", Family::Postgres, "network types"),
    ("cidr", Family::Postgres, "network types"),
    ("macaddr", Family::Postgres, "network types"),
    ("tsvector", Family::Postgres, "tsvector"),
    ("citext", Family::Postgres, "citext"),
    ("hstore", Family::Postgres, "hstore"),
    ("int4", Family::Postgres, "int4/int8 types"),
    ("int8", Family::Postgres, "int4/int8 types"),
    ("float8", Family::Postgres, "int4/int8 types"),
    ("tinyint", Family::Mysql, "MySQL integer types"),
    ("mediumint", Family::Mysql, "MySQL integer types"),
    ("tinytext", Family::Mysql, "MySQL text types"),
    ("mediumtext", Family::Mysql, "MySQL text types"),
    ("longtext", Family::Mysql, "MySQL text types"),
    ("mediumblob", Family::Mysql, "MySQL blob types"),
    ("longblob", Family::Mysql, "MySQL blob types"),
    ("tinyblob", Family::Mysql, "MySQL blob types"),
    ("datetime2", Family::Tsql, "datetime2"),
    ("uniqueidentifier", Family::Tsql, "uniqueidentifier"),
    ("nvarchar2", Family::Oracle, "VARCHAR2"),
    ("varchar2", Family::Oracle, "VARCHAR2"),
    ("number", Family::Oracle, "NUMBER columns"),
    ("f32_blob", Family::Libsql, "vector columns"),
    ("f64_blob", Family::Libsql, "vector columns"),
    ("f16_blob", Family::Libsql, "vector columns"),
    ("fb16_blob", Family::Libsql, "vector columns"),
    ("f8_blob", Family::Libsql, "vector columns"),
    ("f1bit_blob", Family::Libsql, "vector columns"),
    ("uint8", Family::Clickhouse, "ClickHouse types"),
    ("uint16", Family::Clickhouse, "ClickHouse types"),
    ("uint32", Family::Clickhouse, "ClickHouse types"),
    ("uint64", Family::Clickhouse, "ClickHouse types"),
    ("uint128", Family::Clickhouse, "ClickHouse types"),
    ("uint256", Family::Clickhouse, "ClickHouse types"),
    ("float32", Family::Clickhouse, "ClickHouse types"),
    ("float64", Family::Clickhouse, "ClickHouse types"),
    ("datetime64", Family::Clickhouse, "ClickHouse types"),
    ("lowcardinality", Family::Clickhouse, "ClickHouse types"),
    ("fixedstring", Family::Clickhouse, "ClickHouse types"),
    ("nullable", Family::Clickhouse, "ClickHouse types"),
];

/// A ClickHouse table engine name (lower case): the `MergeTree` family and
/// the engines no other database has.
fn clickhouse_engine(name: &str) -> bool {
    name.ends_with("mergetree") || matches!(name, "distributed" | "kafka" | "replicated")
}

/// How much of a text is read for signs: its first MiB, to the end of the
/// line it reaches. A history's dialect shows long before that, and the
/// sniff holds a token list of what it reads (about 70 bytes per byte of a
/// file of short statements), which a 20 MB script would make half a
/// gigabyte.
pub const SNIFF_BYTES: usize = 1 << 20;

/// The part of `text` the sniff reads (see [`SNIFF_BYTES`]).
fn sniffed(text: &str) -> &str {
    if text.len() <= SNIFF_BYTES {
        return text;
    }
    let mut end = SNIFF_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match memchr::memchr(b'\n', &text.as_bytes()[end..]) {
        Some(nl) if nl < SNIFF_BYTES => &text[..end + nl + 1],
        _ => &text[..end],
    }
}

/// Calls `sign(family, what, weight)` for each sign in `text` (its first
/// [`SNIFF_BYTES`]).
fn scan(text: &str, sign: &mut dyn FnMut(Family, &'static str, u32)) {
    use Family::*;
    let (text, hash_comments) = without_hash_comments(sniffed(text));
    let t = significant(&text);
    if hash_comments {
        sign(Mysql, "`#` comments", 1);
    }
    // What pg_dump and mysqldump write at the top of a dump (comments, but
    // no other tool writes them), and psql's meta-commands on their own
    // lines (`\connect db`, pg_dump 17.6's `\restrict <key>`).
    let mut end = text.len().min(4096);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    if head.contains("-- PostgreSQL database dump") {
        sign(Postgres, "pg_dump's header", 3);
    }
    if head.contains("-- MySQL dump") || head.contains("-- MariaDB dump") {
        sign(Mysql, "mysqldump's header", 3);
    }
    if text.lines().any(|l| {
        l.strip_prefix('\\').is_some_and(|rest| {
            let cmd = rest.split_whitespace().next().unwrap_or("");
            matches!(
                cmd,
                "connect"
                    | "c"
                    | "restrict"
                    | "unrestrict"
                    | "set"
                    | "unset"
                    | "i"
                    | "ir"
                    | "gexec"
                    | "echo"
                    | "pset"
                    | "encoding"
            )
        })
    }) {
        sign(Postgres, "psql meta-commands", 3);
    }
    let w = |i: usize| t.get(i).map_or("", |x| &*x.text);
    let is_word = |i: usize| t.get(i).is_some_and(|x| x.kind == TokenKind::Word);
    let is_name = |i: usize| {
        t.get(i)
            .is_some_and(|x| matches!(x.kind, TokenKind::Word | TokenKind::QuotedIdent))
    };
    for i in 0..t.len() {
        let x = &t[i];
        let prev = |k: usize| if i >= k { w(i - k) } else { "" };
        match x.kind {
            TokenKind::DollarString => sign(Postgres, "dollar-quoted bodies", 3),
            TokenKind::BlockComment => sign(Mysql, "`/*!` versioned comments", 3),
            TokenKind::Punct if x.text == "::" && is_name(i + 1) => sign(Postgres, "`::` casts", 3),
            TokenKind::Punct if x.text == "/" && x.line_start && x.line_end => {
                sign(Oracle, "`/` lines ending PL/SQL blocks", 3)
            }
            TokenKind::Word => {}
            _ => continue,
        }
        if x.kind != TokenKind::Word {
            continue;
        }
        // In a column definition (`(name TYPE`, `, name TYPE`,
        // `ADD [COLUMN] name TYPE`) or after ALTER COLUMN ... TYPE.
        // (T-SQL's `[name]` reads as `[`, name, `]` here.)
        let before_name = if prev(1) == "]" && prev(3) == "[" {
            4
        } else {
            2
        };
        let type_position = (i >= before_name
            && (is_name(i - 1) || before_name == 4)
            && (matches!(prev(before_name), "(" | "," | "column" | "add")))
            || (i >= 1 && prev(1) == "type" && prev(3) == "column");
        if type_position {
            if let Some((_, family, what)) = TYPES.iter().find(|(n, _, _)| *n == x.text) {
                // `serial` is also a MySQL type (BIGINT UNSIGNED NOT NULL
                // AUTO_INCREMENT UNIQUE): it weighs less than the types
                // only PostgreSQL has (`bigserial`, `serial4`).
                let weight = match (*family, &*x.text) {
                    (Libsql, _) => 3,
                    (_, "serial") => 1,
                    _ => 2,
                };
                sign(*family, what, weight);
            }
            match (&*x.text, w(i + 1), w(i + 2)) {
                (_, "[", "]") => sign(Postgres, "array columns", 2),
                ("enum", "(", _) => sign(Mysql, "ENUM columns", 2),
                ("timestamp" | "time", "with", "time") | ("timestamp" | "time", "without", _) => {
                    sign(Postgres, "timestamp with time zone", 1)
                }
                (_, "(", "max") => sign(Tsql, "(MAX) lengths", 2),
                _ => {}
            }
        }
        match &*x.text {
            "plpgsql" if prev(1) == "language" => sign(Postgres, "PL/pgSQL", 3),
            "extension" if prev(1) == "create" => sign(Postgres, "CREATE EXTENSION", 3),
            "enum" if prev(1) == "as" && w(i + 1) == "(" => sign(Postgres, "enum types", 3),
            "trigger" if prev(1) == "returns" => sign(Postgres, "trigger functions", 3),
            "identity" if prev(1) == "as" && matches!(prev(2), "always" | "default") => {
                sign(Postgres, "identity columns", 1)
            }
            "on" if prev(1) == "comment" && t[i - 1].stmt_start => sign(Postgres, "COMMENT ON", 2),
            "column" if prev(1) == "alter" => {
                let after = (w(i + 2), w(i + 3), w(i + 4));
                match after {
                    ("type", _, _) | ("set", "data", "type") => {
                        sign(Postgres, "ALTER COLUMN ... TYPE", 2)
                    }
                    ("set" | "drop", "not", "null") => {
                        sign(Postgres, "ALTER COLUMN ... SET NOT NULL", 2)
                    }
                    ("to", _, _) => sign(Libsql, "ALTER COLUMN ... TO", 3),
                    _ => {}
                }
            }
            "concurrently" if matches!(prev(1), "index" | "unique") => {
                sign(Postgres, "CREATE INDEX CONCURRENTLY", 3)
            }
            "gin" | "gist" | "brin" | "spgist" if prev(1) == "using" => {
                sign(Postgres, "GIN/GiST indexes", 3)
            }
            // CREATE/ALTER ROLE|USER name [WITH] LOGIN PASSWORD '...'
            // (MySQL's users are `'name'@'host' IDENTIFIED BY`).
            "login" | "nologin" | "superuser" | "nosuperuser" | "createdb" | "createrole"
            | "replication" | "bypassrls"
                if (2..=6).any(|k| {
                    matches!(prev(k), "role" | "user") && matches!(prev(k + 1), "create" | "alter")
                }) =>
            {
                sign(Postgres, "role options (LOGIN, SUPERUSER)", 3)
            }
            // ksqlDB's and Flink SQL's streams over Kafka topics.
            "stream" if prev(1) == "create" || (prev(1) == "exists" && prev(3) == "create") => {
                sign(Streaming, "CREATE STREAM", 3)
            }
            "changes" if prev(1) == "emit" => sign(Streaming, "EMIT CHANGES", 3),
            "kafka_topic" | "value_format" if w(i + 1) == "=" => {
                sign(Streaming, "KAFKA_TOPIC/VALUE_FORMAT properties", 3)
            }
            "ilike" => sign(Postgres, "ILIKE", 2),
            "search_path" if prev(1) == "set" => sign(Postgres, "search_path", 2),
            "gen_random_uuid" | "uuid_generate_v4" if w(i + 1) == "(" => {
                sign(Postgres, "gen_random_uuid()", 2)
            }
            "nextval" if w(i + 1) == "(" => sign(Postgres, "nextval()", 1),
            "materialized" if prev(1) == "create" || prev(1) == "refresh" => {
                sign(Postgres, "materialized views", 1)
            }
            // CREATE DOMAIN (PostgreSQL; standard SQL that neither SQLite nor
            // MySQL has).
            "domain" if prev(1) == "create" || (prev(1) == "replace" && prev(3) == "create") => {
                sign(Postgres, "CREATE DOMAIN", 3)
            }

            // `GRANT ... ON ALL TABLES IN SCHEMA app`, `ALTER DEFAULT
            // PRIVILEGES`: PostgreSQL's privileges over a schema.
            "schema"
                if prev(1) == "in"
                    && prev(3) == "all"
                    && matches!(
                        prev(2),
                        "tables" | "sequences" | "functions" | "procedures" | "routines"
                    ) =>
            {
                sign(Postgres, "privileges ON ALL ... IN SCHEMA", 3)
            }
            "privileges" if prev(1) == "default" && prev(2) == "alter" => {
                sign(Postgres, "ALTER DEFAULT PRIVILEGES", 3)
            }

            // CockroachDB's own statements and functions.
            "primary" if prev(1) == "alter" && w(i + 1) == "key" => {
                sign(Cockroach, "ALTER PRIMARY KEY", 3)
            }
            "interleave" if w(i + 1) == "in" && w(i + 2) == "parent" => {
                sign(Cockroach, "INTERLEAVE IN PARENT", 3)
            }
            "unique_rowid" if w(i + 1) == "(" => sign(Cockroach, "unique_rowid()", 3),
            "zone" if prev(1) == "configure" => sign(Cockroach, "CONFIGURE ZONE", 3),
            "bucket_count" => sign(Cockroach, "hash-sharded indexes", 3),
            "changefeed" if prev(1) == "create" => sign(Cockroach, "CREATE CHANGEFEED", 3),
            "auto_increment" => sign(Mysql, "AUTO_INCREMENT", 3),
            // ClickHouse's table engines (`ENGINE = MergeTree()`,
            // `ReplicatedReplacingMergeTree`, `Distributed`, `Kafka`).
            "engine"
                if (w(i + 1) == "=" && clickhouse_engine(w(i + 2)))
                    || (is_word(i + 1) && clickhouse_engine(w(i + 1))) =>
            {
                sign(Clickhouse, "MergeTree table engines", 3)
            }
            "cluster" if prev(1) == "on" => sign(Clickhouse, "ON CLUSTER", 3),
            // `payload String CODEC(ZSTD(3))`: a column's compression.
            "codec" if w(i + 1) == "(" => sign(Clickhouse, "column CODECs", 3),
            "engine" if w(i + 1) == "=" || is_word(i + 1) && prev(1) == ")" => {
                sign(Mysql, "ENGINE=", 3)
            }
            "charset" => sign(Mysql, "CHARSET", 2),
            "utf8mb4" | "utf8mb3" | "latin1" => sign(Mysql, "MySQL character sets", 2),
            "unsigned" => sign(Mysql, "UNSIGNED", 2),
            "delimiter" if x.stmt_start || x.line_start => sign(Mysql, "DELIMITER", 3),
            "current_timestamp" if prev(1) == "update" && prev(2) == "on" => {
                sign(Mysql, "ON UPDATE CURRENT_TIMESTAMP", 3)
            }
            // ALTER TABLE t MODIFY [COLUMN] c ...
            "modify" | "change"
                if i > 0
                    && is_name(i + 1)
                    && (prev(1) == "," || is_name(i - 1))
                    && t[..i].iter().rev().take(8).any(|p| p.text == "table") =>
            {
                sign(Mysql, "MODIFY/CHANGE COLUMN", 2)
            }
            "key" | "index" | "fulltext"
                if matches!(prev(1), "," | "unique" | "add")
                    && (is_name(i + 1) && w(i + 2) == "(" || w(i + 1) == "(") =>
            {
                sign(Mysql, "KEY/INDEX definitions", 2)
            }
            "on" if prev(2) == "index" && prev(3) == "drop" => sign(Mysql, "DROP INDEX ... ON", 2),
            "ignore" if prev(1) == "insert" => sign(Mysql, "INSERT IGNORE", 3),
            "duplicate" if prev(1) == "on" && w(i + 1) == "key" => {
                sign(Mysql, "ON DUPLICATE KEY UPDATE", 3)
            }
            "tables" if matches!(prev(1), "lock" | "unlock") && t[i - 1].stmt_start => {
                sign(Mysql, "LOCK TABLES", 3)
            }
            "foreign_key_checks" | "unique_checks" | "sql_mode" => sign(Mysql, "MySQL settings", 3),

            "autoincrement" => sign(Sqlite, "AUTOINCREMENT", 3),
            "rowid" if prev(1) == "without" => sign(Sqlite, "WITHOUT ROWID", 3),
            "rowid" if prev(1) == "random" => sign(Libsql, "RANDOM ROWID", 3),
            "pragma" if x.stmt_start => sign(Sqlite, "PRAGMA", 3),
            "or" if prev(1) == "insert"
                && matches!(
                    w(i + 1),
                    "ignore" | "replace" | "abort" | "fail" | "rollback"
                ) =>
            {
                sign(Sqlite, "INSERT OR IGNORE/REPLACE", 3)
            }
            "sqlite_master" | "sqlite_schema" | "sqlite_sequence" | "sqlite_temp_master" => {
                sign(Sqlite, "sqlite_master", 3)
            }
            "virtual" if prev(1) == "create" => sign(Sqlite, "CREATE VIRTUAL TABLE", 3),
            "strftime" if w(i + 1) == "(" => sign(Sqlite, "strftime()", 2),
            "datetime" | "julianday" if w(i + 1) == "(" => sign(Sqlite, "datetime()", 2),
            "strict" if prev(1) == ")" && w(i + 1) == ";" || prev(1) == ")" && i + 1 == t.len() => {
                sign(Sqlite, "STRICT tables", 2)
            }
            "libsql_vector_idx" | "vector_top_k" | "vector32" | "vector64" => {
                sign(Libsql, "vector indexes", 3)
            }

            "go" if x.line_start && x.line_end => sign(Tsql, "`GO` batch separators", 3),
            "if" if x.stmt_start
                && (w(i + 1) == "exists" && w(i + 2) == "("
                    || w(i + 1) == "not" && w(i + 2) == "exists" && w(i + 3) == "(")
                // MySQL's and PL/SQL's IF has a THEN; T-SQL's has none.
                && !t[i..]
                    .iter()
                    .take_while(|y| y.kind != TokenKind::Semicolon)
                    .any(|y| y.text == "then") =>
            {
                sign(Tsql, "IF [NOT] EXISTS (SELECT ...) blocks", 3)
            }
            "dbo" if w(i + 1) == "." || w(i + 1) == "]" && w(i + 2) == "." => {
                sign(Tsql, "dbo schema", 2)
            }
            "identity" if w(i + 1) == "(" && prev(1) != "as" => sign(Tsql, "IDENTITY(1,1)", 2),
            "ansi_nulls" | "quoted_identifier" | "nocount" if prev(1) == "set" => {
                sign(Tsql, "SET ANSI_NULLS/QUOTED_IDENTIFIER", 3)
            }
            "getdate" | "newid" | "sysdatetime" | "getutcdate" if w(i + 1) == "(" => {
                sign(Tsql, "GETDATE()/NEWID()", 2)
            }
            "nonclustered" | "clustered" => sign(Tsql, "CLUSTERED indexes", 2),
            "object_id" if w(i + 1) == "(" => sign(Tsql, "OBJECT_ID()", 2),
            "sysobjects" => sign(Tsql, "sysobjects", 2),

            "immediate" if prev(1) == "execute" => sign(Oracle, "EXECUTE IMMEDIATE", 3),
            "package" if prev(1) == "create" || prev(1) == "replace" => sign(Oracle, "packages", 3),
            "sysdate" if w(i + 1) != "(" => sign(Oracle, "SYSDATE", 2),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(texts: &[&str]) -> Verdict {
        let mut e = Evidence::new();
        for t in texts {
            e.add(t);
        }
        e.verdict()
    }

    fn clear(texts: &[&str]) -> Option<Dialect> {
        match verdict(texts) {
            Verdict::Clear { dialect, .. } => Some(dialect),
            _ => None,
        }
    }

    #[test]
    fn strings_comments_and_bodies_are_not_signs() {
        let a = "CREATE TABLE teams (id SERIAL PRIMARY KEY, login text);";
        let b = "COMMENT ON COLUMN teams.login IS 'Example: `github:foo:bar` means the `bar` team of the `foo` org.';";
        assert_eq!(clear(&[a, b]), Some(Dialect::Postgres));
        // AUTO_INCREMENT in a comment or a string says nothing.
        let c = "-- unlike MySQL's AUTO_INCREMENT\nCREATE TABLE t (id bigserial);\n\
                 INSERT INTO notes VALUES ('use ENGINE=InnoDB and `ticks`');";
        assert_eq!(clear(&[c]), Some(Dialect::Postgres));
        // Nor inside a dollar-quoted body (the body itself is the sign).
        let d = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 -- `x` AUTO_INCREMENT\n $$ LANGUAGE sql;";
        assert_eq!(clear(&[d]), Some(Dialect::Postgres));
    }

    #[test]
    fn create_domain_is_postgres() {
        let a = "CREATE DOMAIN email AS text CHECK (VALUE ~ '@');";
        assert_eq!(clear(&[a]), Some(Dialect::Postgres));
        let b = "create or replace domain pos as integer check (value > 0);";
        assert_eq!(clear(&[b]), Some(Dialect::Postgres));
        // A column named `domain` says nothing.
        let c = "CREATE TABLE sites (id INTEGER PRIMARY KEY, domain TEXT);";
        assert_ne!(clear(&[c]), Some(Dialect::Postgres));
    }

    #[test]
    fn backticks_alone_are_no_sign() {
        let up = "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);";
        let down = "DROP TABLE `users`;\nALTER TABLE `posts` RENAME TO `old_posts`;";
        assert_eq!(clear(&[up, down]), Some(Dialect::Sqlite));
        assert_eq!(verdict(&[down]), Verdict::Unknown);
    }

    #[test]
    fn the_clear_majority_wins_and_names_the_others() {
        let pg = "CREATE TABLE a (id bigserial, body bytea, at timestamptz);\n\
                  CREATE INDEX CONCURRENTLY a_body ON a USING gin (body);";
        let stray = "ALTER TABLE a ADD COLUMN n int UNSIGNED;";
        match verdict(&[pg, stray]) {
            Verdict::Clear {
                dialect, others, ..
            } => {
                assert_eq!(dialect, Dialect::Postgres);
                assert!(others.contains("MySQL (UNSIGNED)"), "{others}");
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn jsonb_columns_are_no_postgres_sign() {
        // SQLite 3.45 has JSONB; SQLite projects write it as a type.
        let s = "CREATE TABLE plugin (id varchar NOT NULL PRIMARY KEY, manifest JSONB NOT NULL) WITHOUT ROWID;";
        match verdict(&[s]) {
            Verdict::Clear {
                dialect, others, ..
            } => {
                assert_eq!(dialect, Dialect::Sqlite);
                assert!(others.is_empty(), "{others}");
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn a_real_tie_is_a_tie() {
        let a = "CREATE TABLE a (id bigserial);";
        let b = "CREATE TABLE b (id int AUTO_INCREMENT);";
        match verdict(&[a, b]) {
            Verdict::Tie { signs } => {
                assert!(signs.contains("serial columns"), "{signs}");
                assert!(signs.contains("AUTO_INCREMENT"), "{signs}");
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(sniff_dialect([a, b].into_iter()), None);
    }

    /// `SERIAL` is a MySQL type too: beside MySQL-only syntax it does not
    /// make a tie; alone it still says PostgreSQL.
    #[test]
    fn serial_is_a_weak_sign() {
        let ddl = "/*! SET default_storage_engine=INNODB */;\n\
                   CREATE TABLE accounts (record_id serial unique, id varchar(36) NOT NULL);";
        assert_eq!(clear(&[ddl]), Some(Dialect::Mysql));
        assert_eq!(
            clear(&["CREATE TABLE a (id serial PRIMARY KEY);"]),
            Some(Dialect::Postgres)
        );
        // Seen with `bigserial` in the same text, the sign keeps its weight.
        let both =
            "CREATE TABLE a (id serial, n bigserial);\nCREATE TABLE b (id int AUTO_INCREMENT);";
        assert!(
            matches!(verdict(&[both]), Verdict::Tie { .. }),
            "{:?}",
            verdict(&[both])
        );
    }

    #[test]
    fn dump_headers_and_psql_meta_commands() {
        assert_eq!(
            clear(&[
                "--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE public.t (id integer);\n"
            ]),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            clear(&["\\restrict abc\nCREATE TABLE t (id integer);\n\\unrestrict abc\n"]),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            clear(&["-- MySQL dump 10.13  Distrib 8.0.36\nCREATE TABLE t (id int);\n"]),
            Some(Dialect::Mysql)
        );
        // A backslash inside a line is no meta-command.
        assert_eq!(clear(&["SELECT 'a\\set';\n"]), None);
        // A multi-byte character across the 4 KiB the headers are read in.
        let text = format!("{}é-- MySQL dump\n", "x".repeat(4095));
        assert_eq!(clear(&[&text]), None);
    }

    #[test]
    fn postgres_role_options() {
        assert_eq!(
            clear(&["CREATE ROLE app LOGIN PASSWORD 'x' REPLICATION;"]),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            clear(&["CREATE USER reader WITH NOLOGIN;"]),
            Some(Dialect::Postgres)
        );
        // A column named `login` is no sign.
        assert_eq!(clear(&["CREATE TABLE users (login TEXT);"]), None);
    }

    #[test]
    fn postgres_schema_privileges() {
        assert_eq!(
            clear(&["GRANT EXECUTE ON ALL ROUTINES IN SCHEMA app TO reader;"]),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            clear(&["ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO reader;"]),
            Some(Dialect::Postgres)
        );
        // MySQL's grants name a database, not ALL ... IN SCHEMA.
        assert_eq!(clear(&["GRANT SELECT ON app.* TO 'reader'@'%';"]), None);
    }

    #[test]
    fn mysql_signs() {
        let s = "CREATE TABLE `users` (\n `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,\n \
                 KEY idx_name (`name`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\
                 # a hash comment naming serial and jsonb\n";
        assert_eq!(clear(&[s]), Some(Dialect::Mysql));
        // A `#` line in a multi-line string or a function body is no comment.
        let md = "CREATE TABLE IF NOT EXISTS docs (name TEXT PRIMARY KEY, body TEXT);\n\
                  INSERT OR IGNORE INTO docs VALUES ('intro', 'First line.\n\n# A heading\n\nMore.');\n\
                  INSERT INTO docs VALUES ('x', 'it''s\n# heading\n');\n";
        assert_eq!(clear(&[md]), Some(Dialect::Sqlite));
        let body = "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\n#variable_conflict use_column\nBEGIN RETURN 1; END $$;\n";
        assert_ne!(clear(&[body]), Some(Dialect::Mysql));
        // A hash comment holding a quote hides nothing after it.
        let q = "# don't touch\nCREATE TABLE t (id int);\n# it's MySQL\n";
        assert_eq!(hash_comment_lines(q).len(), 2);
        assert_eq!(clear(&[q]), Some(Dialect::Mysql));
        // Backslash escapes do not derail the reading.
        let e = "INSERT INTO t VALUES ('it\\'s'); CREATE TABLE u (id int AUTO_INCREMENT);";
        assert_eq!(clear(&[e]), Some(Dialect::Mysql));
    }

    #[test]
    fn unsupported_dialects() {
        let tsql = "IF NOT EXISTS (SELECT * FROM [__EFMigrationsHistory] WHERE [MigrationId] = N'1')\n\
                    BEGIN\n    CREATE TABLE [dbo].[Users] ([Id] int NOT NULL IDENTITY(1,1));\nEND;\nGO\n";
        assert!(matches!(
            verdict(&[tsql]),
            Verdict::Unsupported {
                family: Family::Tsql,
                ..
            }
        ));
        // As `dotnet ef migrations script` writes it.
        let ef = "IF OBJECT_ID(N'__EFMigrationsHistory') IS NULL\nBEGIN\n    CREATE TABLE [__EFMigrationsHistory] (\n        [MigrationId] nvarchar(150) NOT NULL\n    );\nEND;\n\nGO\n\n\
                  IF NOT EXISTS(SELECT * FROM [__EFMigrationsHistory] WHERE [MigrationId] = N'1')\nBEGIN\n    CREATE TABLE [Values] ([Key] nvarchar(450) NOT NULL, [Value] nvarchar(max) NULL);\nEND;\n\nGO\n";
        let mut e = Evidence::new();
        e.add(ef);
        let signs = e.signs(Family::Tsql);
        for s in [
            "IF [NOT] EXISTS (SELECT ...) blocks",
            "(MAX) lengths",
            "OBJECT_ID()",
        ] {
            assert!(signs.contains(&s), "{s}: {signs:?}");
        }
        let ksql = "CREATE STREAM rides (id VARCHAR, km DOUBLE)\n  WITH (KAFKA_TOPIC='rides', VALUE_FORMAT='json');\n\
                    CREATE TABLE totals AS SELECT id, SUM(km) AS km FROM rides GROUP BY id EMIT CHANGES;\n";
        assert!(matches!(
            verdict(&[ksql]),
            Verdict::Unsupported {
                family: Family::Streaming,
                ..
            }
        ));
        // A table or column named `stream` is no sign.
        assert_eq!(
            clear(&["CREATE TABLE stream (id INT, changes TEXT);"]),
            None
        );
        let oracle = "CREATE TABLE t (id NUMBER(10), name VARCHAR2(100))\n/\n\
                      BEGIN\n  EXECUTE IMMEDIATE 'DROP TABLE x';\nEXCEPTION WHEN OTHERS THEN NULL;\nEND;\n/\n";
        assert!(matches!(
            verdict(&[oracle]),
            Verdict::Unsupported {
                family: Family::Oracle,
                ..
            }
        ));
        let libsql = "CREATE TABLE m (id INTEGER PRIMARY KEY AUTOINCREMENT, e F32_BLOB(3));\n\
                      CREATE INDEX m_e ON m (libsql_vector_idx(e));";
        assert!(matches!(
            verdict(&[libsql]),
            Verdict::Unsupported {
                family: Family::Libsql,
                ..
            }
        ));
        let clickhouse = "CREATE TABLE IF NOT EXISTS events ON CLUSTER main (\n  `id` UInt64,\n  \
                          `name` LowCardinality(String),\n  `at` DateTime64(3)\n)\n\
                          ENGINE = ReplacingMergeTree()\nORDER BY (id);";
        let v = verdict(&[clickhouse]);
        assert!(
            matches!(
                v,
                Verdict::Unsupported {
                    family: Family::Clickhouse,
                    ..
                }
            ),
            "{v:?}"
        );
        // ClickHouse's signs decide against as many signs of MySQL and
        // PostgreSQL (`MODIFY COLUMN`, materialized views), which ClickHouse
        // also writes (was: a tie the project's driver broke).
        let engine = "CREATE TABLE e (\n  `id` String,\n  `p` Nullable(String) CODEC(ZSTD(3))\n) \
                      ENGINE = MergeTree ORDER BY id;";
        let modify = "ALTER TABLE e MODIFY COLUMN p String;";
        let view = "CREATE MATERIALIZED VIEW e_mv TO e_daily AS SELECT id FROM e;";
        let texts = [engine, modify, modify, modify, view, view, view];
        let v = verdict(&texts);
        assert!(
            matches!(
                v,
                Verdict::Unsupported {
                    family: Family::Clickhouse,
                    ..
                }
            ),
            "{v:?}"
        );
        // A MySQL engine is MySQL's.
        let mysql = "CREATE TABLE t (id int) ENGINE=InnoDB;";
        assert_eq!(clear(&[mysql]), Some(Dialect::Mysql));
        assert_eq!(unsupported_in_path("db/migrations/h2"), Some(Family::H2));
        assert_eq!(
            unsupported_in_path("oracle/migrations"),
            Some(Family::Oracle)
        );
        assert_eq!(unsupported_in_path("h2/migrations/postgres"), None);
        assert_eq!(unsupported_in_path("home/oracle/app/migrations"), None);
        assert_eq!(unsupported_in_path("migrations/mysql"), None);
        // `clickhouse` further up names the database too.
        assert_eq!(
            unsupported_in_path("packages/clickhouse/migrations/unclustered"),
            Some(Family::Clickhouse)
        );
        assert_eq!(unsupported_in_path("clickhouse/migrations/postgres"), None);
        // Array subscripts and a `/` division are not T-SQL or Oracle.
        let pg = "SELECT a[1] / 2 FROM t;";
        assert_eq!(verdict(&[pg]), Verdict::Unknown);
    }

    #[test]
    fn names_that_look_like_types_are_not_signs() {
        // A column named `serial`, an alias `jsonb`: names, not types.
        let s = "CREATE TABLE parts (serial text, number int);\nSELECT x AS jsonb FROM t;";
        assert_eq!(verdict(&[s]), Verdict::Unknown);
    }

    #[test]
    fn only_the_first_mib_of_a_text_is_read_for_signs() {
        // A text under the limit is read whole.
        assert_eq!(sniffed("SELECT 1;\n"), "SELECT 1;\n");
        // Past it, the text is cut at the end of the line the limit falls in.
        let line = "INSERT INTO t VALUES (1);\n";
        let big = line.repeat(SNIFF_BYTES / line.len() + 10);
        let cut = sniffed(&big);
        assert!(cut.len() >= SNIFF_BYTES && cut.len() < SNIFF_BYTES + line.len());
        assert!(cut.ends_with('\n'));
        // A sign in the first MiB counts; one after it does not.
        let early = format!("CREATE TABLE a (id SERIAL PRIMARY KEY);\n{big}");
        assert!(signs_of(&early).iter().any(|s| s.0 == Family::Postgres));
        let late = format!("{big}CREATE TABLE a (id SERIAL PRIMARY KEY);\n");
        assert!(!signs_of(&late).iter().any(|s| s.0 == Family::Postgres));
        // A limit falling inside a character, on a text without line breaks.
        let wide = "é".repeat(SNIFF_BYTES);
        assert!(sniffed(&wide).len() <= SNIFF_BYTES);
    }
}
