//! SQL dialects twice understands.

use serde::{Deserialize, Serialize};

/// The SQL dialect a migration is written in. It decides how statements are
/// split (nested comments, dollar quotes, backticks), how they are parsed and
/// which idempotent forms exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
    Generic,
}

impl Dialect {
    pub const ALL: [Dialect; 4] = [
        Dialect::Sqlite,
        Dialect::Postgres,
        Dialect::Mysql,
        Dialect::Generic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
            Dialect::Generic => "generic",
        }
    }

    /// Parses a dialect name as users write it (also the aliases that
    /// migration tools use in file and folder names).
    pub fn from_name(name: &str) -> Option<Dialect> {
        match name.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" | "pg" | "pgsql" | "psql" | "cockroach" | "cockroachdb" => {
                Some(Dialect::Postgres)
            }
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            "generic" | "ansi" => Some(Dialect::Generic),
            _ => None,
        }
    }

    /// The sqlparser dialect used to parse statements of this dialect.
    pub fn parser(self) -> Box<dyn sqlparser::dialect::Dialect> {
        use sqlparser::dialect as d;
        match self {
            Dialect::Sqlite => Box::new(d::SQLiteDialect {}),
            Dialect::Postgres => Box::new(d::PostgreSqlDialect {}),
            Dialect::Mysql => Box::new(d::MySqlDialect {}),
            Dialect::Generic => Box::new(d::GenericDialect {}),
        }
    }

    /// `/* /* */ */` nests in Postgres (and the SQL standard), not elsewhere.
    pub fn nested_comments(self) -> bool {
        matches!(self, Dialect::Postgres | Dialect::Generic)
    }

    /// `$$ ... $$` and `$tag$ ... $tag$` strings.
    pub fn dollar_quotes(self) -> bool {
        matches!(self, Dialect::Postgres | Dialect::Generic)
    }

    /// Backslash escapes inside '...' strings (MySQL's default mode).
    pub fn backslash_escapes(self) -> bool {
        matches!(self, Dialect::Mysql)
    }

    /// `#` starts a line comment (MySQL).
    pub fn hash_comments(self) -> bool {
        matches!(self, Dialect::Mysql)
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::from_name(s).ok_or_else(|| {
            format!("unknown dialect `{s}` (expected one of: sqlite, postgres, mysql, generic)")
        })
    }
}

/// The dialect a folder path names: the nearest component that is a dialect
/// name, or has one as a `-`, `_` or `.`-separated word.
pub fn dialect_from_path(display: &str) -> Option<Dialect> {
    dialect_folder_in_path(display).map(|(d, _)| d)
}

/// [`dialect_from_path`], with the path up to the folder that names the
/// dialect (`migrations/sqlite` for `migrations/sqlite/2020-08-02_x`).
pub fn dialect_folder_in_path(display: &str) -> Option<(Dialect, &str)> {
    let mut end = display.len();
    loop {
        let head = display[..end].trim_end_matches(['/', '\\']);
        let start = head.rfind(['/', '\\']).map_or(0, |i| i + 1);
        let c = &head[start..];
        if c.is_empty() {
            return None;
        }
        if c != "." && c != ".." {
            let d = std::iter::once(c)
                .chain(c.split(['-', '_', '.']))
                .find_map(dialect_word);
            if let Some(d) = d {
                return Some((d, head));
            }
        }
        if start == 0 {
            return None;
        }
        end = start;
    }
}

/// The dialect a word of a path names (`generic` and `ansi` are twice's
/// names, not folder conventions; a `cockroachdb` folder holds CockroachDB's
/// SQL, which PostgreSQL does not all run: see `sniff::unsupported_word`).
pub fn dialect_word(w: &str) -> Option<Dialect> {
    match w.to_ascii_lowercase().as_str() {
        "generic" | "ansi" | "cockroach" | "cockroachdb" => None,
        other => Dialect::from_name(other),
    }
}
