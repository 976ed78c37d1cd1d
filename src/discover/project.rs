//! The database a project's own files name, for a migration folder whose SQL
//! names none (`CREATE TABLE users (id INT PRIMARY KEY, name TEXT)` reads the
//! same everywhere): the driver its manifest requires, or the database image
//! its compose file runs.
//!
//! Read, from the folder upwards (the folder and up to six above it: a Maven
//! project's `src/main/resources/db/changelog/changes` is six below its `pom.xml`;
//! stopping after the folder that holds `.git`):
//!
//! - `go.mod`: direct requirements (not `// indirect`) such as
//!   `github.com/jackc/pgx`, `github.com/lib/pq`, `github.com/go-sql-driver/mysql`,
//!   `github.com/mattn/go-sqlite3`, `modernc.org/sqlite`, gorm's and bun's drivers;
//! - `Cargo.toml`: `[dependencies]` and `[workspace.dependencies]`: crates
//!   such as `tokio-postgres`, `rusqlite`, `mysql_async`, and the features of
//!   `sqlx`, `diesel`, `sea-orm` and `refinery` (`postgres`, `sqlite`, `mysql`);
//! - `package.json`: `dependencies` (`devDependencies` when those name
//!   none): `pg`, `postgres`, `mysql2`, `better-sqlite3`, `@libsql/client`, ...;
//! - `requirements.txt`, `pyproject.toml`, `Gemfile`, `composer.json`,
//!   `mix.exs`, `pom.xml`, `build.gradle(.kts)`, `build.sbt`: the usual drivers;
//! - Spring's `application.properties`/`.yml` and Play's `application.conf`:
//!   the JDBC URLs and driver classes they configure;
//! - `docker-compose.yml`, `compose.yaml` (and `.yaml`/`.yml`): `image:`
//!   lines naming `postgres`, `postgis`, `timescaledb`, `pgvector`, `mysql`,
//!   `mariadb` or `percona`.
//!
//! The nearest folder whose files name a database decides, when they name
//! exactly one family; a folder whose files name several (a tool that speaks
//! to all three, twice's own `Cargo.toml`) decides nothing and ends the
//! search. The SQL's own signs always come first: this is only asked when
//! they name no dialect, or no dialect clearly.

use crate::dialect::Dialect;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How many folders above a migration folder the project's files are
/// looked for.
const LEVELS: usize = 6;

/// What one folder's project files name: each database family once, with
/// the first file and dependency that named it.
type Named = Vec<(Dialect, &'static str, String)>;

/// Project files per folder, read once per run.
#[derive(Default)]
pub(super) struct Projects {
    seen: HashMap<PathBuf, Named>,
}

impl Projects {
    /// The dialect the project around `path` (a folder or a file; as the
    /// user would write it) names, and why, in words: "the project's
    /// go.mod (2 folders up) requires github.com/jackc/pgx/v5".
    pub(super) fn dialect(&mut self, path: &str) -> Option<(Dialect, String)> {
        let start = std::fs::canonicalize(path).ok()?;
        let start = if start.is_file() {
            start.parent()?.to_path_buf()
        } else {
            start
        };
        let mut at = Some(start.as_path());
        for level in 0..=LEVELS {
            let dir = at?;
            let named = self
                .seen
                .entry(dir.to_path_buf())
                .or_insert_with(|| named_in(dir));
            match named.as_slice() {
                [] => {}
                [(dialect, file, dep)] => {
                    let place = match level {
                        0 => "beside the migrations".to_string(),
                        1 => "one folder up".to_string(),
                        n => format!("{n} folders up"),
                    };
                    let verb = if file.contains("compose") {
                        "runs"
                    } else if file.starts_with("application.") {
                        "connects to"
                    } else {
                        "requires"
                    };
                    return Some((
                        *dialect,
                        format!("the project's {file} ({place}) {verb} {dep}"),
                    ));
                }
                // Several databases: the project speaks to more than one.
                _ => return None,
            }
            if dir.join(".git").exists() {
                return None;
            }
            at = dir.parent();
        }
        None
    }
}

/// The project files `dir` holds, in the order they are read.
const FILES: &[&str] = &[
    "go.mod",
    "Cargo.toml",
    "package.json",
    "requirements.txt",
    "pyproject.toml",
    "Gemfile",
    "composer.json",
    "mix.exs",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "build.sbt",
    "application.properties",
    "application.yml",
    "application.yaml",
    "application.conf",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
];

/// Each family the project files in `dir` name, once.
fn named_in(dir: &Path) -> Named {
    let mut out: Named = Vec::new();
    for file in FILES {
        let path = dir.join(file);
        if !path.is_file() {
            continue;
        }
        // Project files are small: a huge one is read in part.
        let Some(text) = super::declared::head(&path, 1 << 20) else {
            continue;
        };
        for (dialect, dep) in drivers(file, &text) {
            if !out.iter().any(|(d, _, _)| *d == dialect) {
                out.push((dialect, file, dep));
            }
        }
    }
    out
}

/// The drivers a project file of kind `file` names, in order.
fn drivers(file: &str, text: &str) -> Vec<(Dialect, String)> {
    match file {
        "go.mod" => go_mod(text),
        "Cargo.toml" => cargo(text),
        "package.json" => json_keys(text, &["dependencies", "devDependencies"], NPM),
        "composer.json" => json_keys(text, &["require"], PHP),
        "requirements.txt" | "pyproject.toml" => words(text, PYTHON),
        "Gemfile" => gemfile(text),
        "mix.exs" => words(text, ELIXIR),
        "application.properties" | "application.yml" | "application.yaml" | "application.conf" => {
            urls(text)
        }
        "pom.xml" | "build.gradle" | "build.gradle.kts" | "build.sbt" => {
            let mut out = Vec::new();
            for (needle, d) in JVM {
                if text.contains(needle) {
                    out.push((*d, needle.to_string()));
                }
            }
            out
        }
        _ => compose(text),
    }
}

use Dialect::{Mysql, Postgres, Sqlite};

/// Go modules (a module path, or the start of one before `/`).
const GO: &[(&str, Dialect)] = &[
    ("github.com/lib/pq", Postgres),
    ("github.com/jackc/pgx", Postgres),
    ("github.com/go-pg/pg", Postgres),
    ("gorm.io/driver/postgres", Postgres),
    ("github.com/uptrace/bun/dialect/pgdialect", Postgres),
    ("github.com/uptrace/bun/driver/pgdriver", Postgres),
    ("github.com/go-sql-driver/mysql", Mysql),
    ("gorm.io/driver/mysql", Mysql),
    ("github.com/uptrace/bun/dialect/mysqldialect", Mysql),
    ("github.com/mattn/go-sqlite3", Sqlite),
    ("modernc.org/sqlite", Sqlite),
    ("github.com/glebarez/go-sqlite", Sqlite),
    ("github.com/glebarez/sqlite", Sqlite),
    ("gorm.io/driver/sqlite", Sqlite),
    ("github.com/ncruces/go-sqlite3", Sqlite),
    ("zombiezen.com/go/sqlite", Sqlite),
    ("crawshaw.io/sqlite", Sqlite),
    ("github.com/tursodatabase/libsql-client-go", Sqlite),
    ("github.com/tursodatabase/go-libsql", Sqlite),
    ("github.com/uptrace/bun/dialect/sqlitedialect", Sqlite),
];

fn go_mod(text: &str) -> Vec<(Dialect, String)> {
    let mut out = Vec::new();
    for (module, indirect) in crate::layout::go_requirements(text) {
        if indirect {
            continue;
        }
        for (path, d) in GO {
            if crate::layout::go_module_is(module, path) {
                out.push((*d, module.to_string()));
            }
        }
    }
    out
}

/// Crates that speak to one database.
const CRATES: &[(&str, Dialect)] = &[
    ("postgres", Postgres),
    ("tokio-postgres", Postgres),
    ("deadpool-postgres", Postgres),
    ("bb8-postgres", Postgres),
    ("r2d2_postgres", Postgres),
    ("sqlx-postgres", Postgres),
    ("rusqlite", Sqlite),
    ("tokio-rusqlite", Sqlite),
    ("r2d2_sqlite", Sqlite),
    ("deadpool-sqlite", Sqlite),
    ("libsql", Sqlite),
    ("sqlite", Sqlite),
    ("sqlx-sqlite", Sqlite),
    ("mysql", Mysql),
    ("mysql_async", Mysql),
    ("sqlx-mysql", Mysql),
];

/// Crates whose features choose the database.
const FEATURED: &[&str] = &[
    "sqlx",
    "diesel",
    "diesel-async",
    "diesel_migrations",
    "sea-orm",
    "sea-query-binder",
    "refinery",
];

/// The family a feature (or crate) name speaks of: `postgres`,
/// `tokio-postgres`, `sqlx-sqlite`, `rusqlite`, `mysql_async`.
fn feature_family(feature: &str) -> Option<Dialect> {
    if feature.contains("postgres") {
        Some(Postgres)
    } else if feature.contains("sqlite") {
        Some(Sqlite)
    } else if feature.contains("mysql") {
        Some(Mysql)
    } else {
        None
    }
}

fn cargo(text: &str) -> Vec<(Dialect, String)> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let tables = [
        doc.get("dependencies"),
        doc.get("workspace").and_then(|w| w.get("dependencies")),
    ];
    for deps in tables.into_iter().flatten().filter_map(|d| d.as_table()) {
        for (name, spec) in deps {
            if let Some((_, d)) = CRATES.iter().find(|(c, _)| c == name) {
                out.push((*d, name.clone()));
            }
            if FEATURED.contains(&name.as_str()) {
                let features = spec
                    .get("features")
                    .and_then(|f| f.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str());
                for f in features {
                    if let Some(d) = feature_family(f) {
                        out.push((d, format!("{name} (feature `{f}`)")));
                    }
                }
            }
        }
    }
    out
}

/// npm packages.
const NPM: &[(&str, Dialect)] = &[
    ("pg", Postgres),
    ("postgres", Postgres),
    ("pg-promise", Postgres),
    ("slonik", Postgres),
    ("@neondatabase/serverless", Postgres),
    ("@vercel/postgres", Postgres),
    ("@electric-sql/pglite", Postgres),
    ("@prisma/adapter-pg", Postgres),
    ("@prisma/adapter-neon", Postgres),
    ("mysql", Mysql),
    ("mysql2", Mysql),
    ("mariadb", Mysql),
    ("@planetscale/database", Mysql),
    ("@prisma/adapter-planetscale", Mysql),
    ("better-sqlite3", Sqlite),
    ("sqlite3", Sqlite),
    ("sqlite", Sqlite),
    ("@libsql/client", Sqlite),
    ("libsql", Sqlite),
    ("@prisma/adapter-libsql", Sqlite),
    ("expo-sqlite", Sqlite),
    ("sql.js", Sqlite),
];

/// The drivers named among the keys of the first object, of `keys` in
/// order, that names any (`package.json`'s `dependencies`, then its
/// `devDependencies`; `composer.json`'s `require`).
fn json_keys(text: &str, keys: &[&str], table: &[(&str, Dialect)]) -> Vec<(Dialect, String)> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    for key in keys {
        let Some(deps) = doc.get(key).and_then(|d| d.as_object()) else {
            continue;
        };
        let out: Vec<_> = deps
            .keys()
            .filter_map(|name| {
                table
                    .iter()
                    .find(|(p, _)| p == name)
                    .map(|(_, d)| (*d, name.clone()))
            })
            .collect();
        if !out.is_empty() {
            return out;
        }
    }
    Vec::new()
}

/// PHP extensions a `composer.json` requires.
const PHP: &[(&str, Dialect)] = &[
    ("ext-pgsql", Postgres),
    ("ext-pdo_pgsql", Postgres),
    ("ext-pdo_mysql", Mysql),
    ("ext-mysqli", Mysql),
    ("ext-pdo_sqlite", Sqlite),
    ("ext-sqlite3", Sqlite),
];

/// Python distributions.
const PYTHON: &[(&str, Dialect)] = &[
    ("psycopg2", Postgres),
    ("psycopg2-binary", Postgres),
    ("psycopg", Postgres),
    ("asyncpg", Postgres),
    ("pg8000", Postgres),
    ("pymysql", Mysql),
    ("mysqlclient", Mysql),
    ("aiomysql", Mysql),
    ("asyncmy", Mysql),
    ("mysql-connector-python", Mysql),
    ("aiosqlite", Sqlite),
];

/// Elixir packages (`{:postgrex, ...}`).
const ELIXIR: &[(&str, Dialect)] = &[
    ("postgrex", Postgres),
    ("myxql", Mysql),
    ("ecto_sqlite3", Sqlite),
    ("exqlite", Sqlite),
];

/// Names (letters, digits, `_`, `-`, `.`) in `text` that are one of
/// `names`, ignoring case, each once.
fn words(text: &str, names: &[(&str, Dialect)]) -> Vec<(Dialect, String)> {
    let mut out: Vec<(Dialect, String)> = Vec::new();
    let is_part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('#') {
            continue;
        }
        for word in line.split(|c: char| !is_part(c)) {
            let word = word.trim_matches('.');
            if let Some((n, d)) = names.iter().find(|(n, _)| n.eq_ignore_ascii_case(word)) {
                if !out.iter().any(|(_, w)| w == n) {
                    out.push((*d, n.to_string()));
                }
            }
        }
    }
    out
}

/// Ruby gems.
const GEMS: &[(&str, Dialect)] = &[
    ("pg", Postgres),
    ("mysql2", Mysql),
    ("trilogy", Mysql),
    ("sqlite3", Sqlite),
];

fn gemfile(text: &str) -> Vec<(Dialect, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("gem ") else {
            continue;
        };
        let name = rest
            .trim_start()
            .trim_start_matches(['"', '\''])
            .split(['"', '\''])
            .next()
            .unwrap_or("");
        if let Some((n, d)) = GEMS.iter().find(|(n, _)| *n == name) {
            out.push((*d, n.to_string()));
        }
    }
    out
}

/// Maven/Gradle coordinates (substrings).
const JVM: &[(&str, Dialect)] = &[
    ("org.postgresql", Postgres),
    ("flyway-database-postgresql", Postgres),
    ("mysql-connector", Mysql),
    ("org.mariadb.jdbc", Mysql),
    ("flyway-mysql", Mysql),
    ("sqlite-jdbc", Sqlite),
];

/// The databases a Spring (`application.properties`, `application.yml`)
/// or Play (`application.conf`) configuration connects to: JDBC URLs
/// (`jdbc:postgresql://`), URLs (`postgres://`) and driver classes
/// (`org.postgresql.Driver`), on lines that are not comments.
fn urls(text: &str) -> Vec<(Dialect, String)> {
    const SIGNS: &[(&str, Dialect)] = &[
        ("jdbc:postgresql:", Postgres),
        ("postgres://", Postgres),
        ("postgresql://", Postgres),
        ("org.postgresql.Driver", Postgres),
        ("jdbc:mysql:", Mysql),
        ("jdbc:mariadb:", Mysql),
        ("mysql://", Mysql),
        ("com.mysql.cj.jdbc.Driver", Mysql),
        ("org.mariadb.jdbc.Driver", Mysql),
        ("jdbc:sqlite:", Sqlite),
        ("org.sqlite.JDBC", Sqlite),
    ];
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('#') || line.starts_with("//") || line.starts_with('!') {
            continue;
        }
        // One per line (`jdbc:postgresql://` is also `postgresql://`).
        if let Some((sign, d)) = SIGNS.iter().find(|(sign, _)| line.contains(sign)) {
            out.push((*d, format!("`{}`", sign.trim_end_matches([':', '/']))));
        }
    }
    out
}

/// The database images a compose file runs: the image's last path part
/// before its tag.
fn compose(text: &str) -> Vec<(Dialect, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        // A service built from a folder or Dockerfile named for its
        // database (`dockerfile: postgres/Dockerfile`, `context: ./mysql`).
        if let Some(path) = line
            .strip_prefix("dockerfile:")
            .or_else(|| line.strip_prefix("context:"))
        {
            let path = path.split('#').next().unwrap_or("").trim();
            let path = path.trim_matches(['"', '\'']);
            let named = path
                .split(['/', '.', '-', '_'])
                .find_map(crate::dialect::dialect_word);
            if let Some(d) = named {
                out.push((d, format!("a database built from `{path}`")));
            }
            continue;
        }
        let Some(image) = line.strip_prefix("image:") else {
            continue;
        };
        let image = image.split('#').next().unwrap_or("").trim();
        let image = image.trim_matches(['"', '\'']);
        let repo = image.split(['@', ':']).next().unwrap_or("");
        let name = repo.rsplit('/').next().unwrap_or("");
        let d = match name {
            "postgres" | "postgresql" | "postgis" | "timescaledb" | "timescaledb-ha"
            | "pgvector" | "pgvecto-rs" => Postgres,
            "mysql" | "mysql-server" | "mariadb" | "percona" | "percona-server" => Mysql,
            _ => continue,
        };
        out.push((d, format!("`{image}`")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(file: &str, text: &str) -> Vec<Dialect> {
        drivers(file, text).into_iter().map(|(d, _)| d).collect()
    }

    #[test]
    fn go_mod_direct_requirements_only() {
        let text = "module x\n\ngo 1.22\n\nrequire (\n\tgithub.com/jackc/pgx/v5 v5.5.0\n\tgithub.com/mattn/go-sqlite3 v1.14.0 // indirect\n)\nrequire github.com/lib/pq v1.10.0\n";
        assert_eq!(first("go.mod", text), vec![Postgres, Postgres]);
        // A module whose path only starts like a driver's is not one.
        assert!(first("go.mod", "require github.com/lib/pqx v1\n").is_empty());
    }

    #[test]
    fn cargo_crates_and_features() {
        let text = "[package]\nname = \"x\"\n[dependencies]\nsqlx = { version = \"0.8\", features = [\"runtime-tokio\", \"postgres\"] }\nserde = \"1\"\n[dev-dependencies]\nrusqlite = \"0.31\"\n";
        assert_eq!(first("Cargo.toml", text), vec![Postgres]);
        let ws =
            "[workspace.dependencies]\ndiesel = { version = \"2\", features = [\"sqlite\"] }\n";
        assert_eq!(first("Cargo.toml", ws), vec![Sqlite]);
        assert!(first("Cargo.toml", "not [ toml").is_empty());
    }

    #[test]
    fn package_json_dependencies_before_dev_dependencies() {
        let text = r#"{"dependencies": {"drizzle-orm": "1", "mysql2": "3"}, "devDependencies": {"better-sqlite3": "9"}}"#;
        assert_eq!(first("package.json", text), vec![Mysql]);
        let dev = r#"{"devDependencies": {"@libsql/client": "1"}}"#;
        assert_eq!(first("package.json", dev), vec![Sqlite]);
    }

    #[test]
    fn other_manifests() {
        assert_eq!(
            first(
                "requirements.txt",
                "Django==5\npsycopg[binary]>=3\n# pymysql\n"
            ),
            vec![Postgres]
        );
        assert_eq!(
            first("Gemfile", "source 'x'\ngem \"mysql2\", \"~> 0.5\"\n"),
            vec![Mysql]
        );
        assert_eq!(
            first(
                "composer.json",
                r#"{"require": {"php": "^8", "ext-pdo_pgsql": "*"}}"#
            ),
            vec![Postgres]
        );
        assert_eq!(
            first("mix.exs", "{:postgrex, \">= 0.0.0\"}"),
            vec![Postgres]
        );
        assert_eq!(
            first("pom.xml", "<groupId>org.postgresql</groupId>"),
            vec![Postgres]
        );
    }

    #[test]
    fn jvm_configuration() {
        let props = "# spring.datasource.url=jdbc:mysql://x\nspring.datasource.url=jdbc:postgresql://db:5432/app\n";
        assert_eq!(first("application.properties", props), vec![Postgres]);
        let conf = "db.default.driver=org.h2.Driver\n#db.default.url=\"postgres://x\"\n";
        assert!(first("application.conf", conf).is_empty());
        let sbt = "libraryDependencies += \"org.postgresql\" % \"postgresql\" % \"42\"\n";
        assert_eq!(first("build.sbt", sbt), vec![Postgres]);
    }

    #[test]
    fn compose_images() {
        let text = "services:\n  db:\n    image: \"postgis/postgis:16-3.4\"\n  cache:\n    image: redis:7\n  other:\n    image: mariadb@sha256:abc # pinned\n";
        assert_eq!(first("compose.yaml", text), vec![Postgres, Mysql]);
        assert!(first("compose.yaml", "image: mypostgres-tools:1\n").is_empty());
        let built = "services:\n  a:\n    image: mysql:8\n  b:\n    build:\n      context: .\n      dockerfile: postgres/Dockerfile\n";
        assert_eq!(first("compose.yml", built), vec![Mysql, Postgres]);
    }

    #[test]
    fn the_nearest_folder_naming_one_family_decides() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("svc/db/migrations")).unwrap();
        std::fs::write(
            root.join("go.mod"),
            "require github.com/go-sql-driver/mysql v1\n",
        )
        .unwrap();
        std::fs::write(root.join("svc/package.json"), r#"{"name": "svc"}"#).unwrap();
        let mut p = Projects::default();
        let path = root.join("svc/db/migrations");
        let (d, why) = p.dialect(path.to_str().unwrap()).unwrap();
        assert_eq!(d, Mysql);
        assert_eq!(
            why,
            "the project's go.mod (3 folders up) requires github.com/go-sql-driver/mysql"
        );
        // Spring's configuration two folders above a Flyway folder.
        std::fs::create_dir_all(root.join("app/src/main/resources/db/migration")).unwrap();
        std::fs::write(
            root.join("app/src/main/resources/application.properties"),
            "spring.datasource.url=jdbc:mariadb://db/app\n",
        )
        .unwrap();
        let flyway = root.join("app/src/main/resources/db/migration");
        assert_eq!(
            p.dialect(flyway.to_str().unwrap()).unwrap().1,
            "the project's application.properties (2 folders up) connects to `jdbc:mariadb`"
        );
        // Two families in the nearest folder that names any: no decision.
        std::fs::write(
            root.join("svc/docker-compose.yml"),
            "services:\n  a:\n    image: postgres:16\n  b:\n    image: mysql:8\n",
        )
        .unwrap();
        let mut p = Projects::default();
        assert_eq!(p.dialect(path.to_str().unwrap()), None);
    }

    #[test]
    fn the_search_stops_at_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("go.mod"), "require github.com/lib/pq v1\n").unwrap();
        std::fs::create_dir_all(root.join("repo/.git")).unwrap();
        std::fs::create_dir_all(root.join("repo/migrations")).unwrap();
        let mut p = Projects::default();
        let path = root.join("repo/migrations");
        assert_eq!(p.dialect(path.to_str().unwrap()), None);
        assert_eq!(p.dialect("no/such/folder"), None);
    }
}
