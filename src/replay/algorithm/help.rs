//! Help lines for replay's failures: what a database's error means for the
//! migration, and what the user can do (pure functions of the error, the
//! engine's capabilities and names; the findings are built in `failures`).

use crate::dialect::Dialect;
use crate::replay::engine::{Caps, ErrorClass};

/// The help line of a statement refused for want of privileges
/// ([`ErrorClass::PermissionDenied`], SQLSTATE 42501), on any run: the
/// PostgreSQL engine runs migrations as a role of its own (see
/// [`crate::replay::postgres::roles`]).
pub const PERMISSION_HELP: &str = "replay runs migrations as a role that owns only the scratch \
     database and is not a superuser, so statements that reach outside it (running programs or \
     reading server files with COPY ... PROGRAM, pg_read_file, lo_export or pg_ls_dir, ALTER \
     SYSTEM, superuser roles, untrusted extensions) are refused; if a migration really needs \
     such a prerequisite, put it in a setup script (--setup FILE, or `setup` under [replay] in \
     twice.toml), which runs before the first migration (as the URL's role with --database-url; \
     on twice's own cluster with the migration role's rights, the roles it creates made by \
     twice); a migration that \
     itself needs such rights (`ALTER TABLE ... DISABLE TRIGGER ALL` reaches the foreign-key \
     triggers, which only a superuser may) replays only on a disposable server given with \
     --database-url and --database-url-trusted, where it runs as that URL's role";

/// The help line of a refused statement on MySQL/MariaDB, where the
/// migrations run as a user granted only the scratch database.
pub const MYSQL_PERMISSION_HELP: &str = "replay runs migrations as a user granted only the \
     scratch database (no FILE, SUPER or PROCESS privilege, no other database), so statements \
     that reach outside it (LOAD DATA INFILE, SELECT ... INTO OUTFILE, LOAD_FILE(), SET GLOBAL, \
     another database's tables) are refused; objects a migration expects to find can be created \
     by a setup script (--setup FILE, or `setup` under [replay] in twice.toml), which runs before \
     the first migration; a migration that itself needs such rights replays only on a disposable \
     server given with --database-url and --database-url-trusted, where it runs as that URL's \
     user";

/// The help line of a refused statement, for the dialect the engine runs.
pub(super) fn permission_help(caps: Caps) -> &'static str {
    match caps.dialect {
        Dialect::Mysql => MYSQL_PERMISSION_HELP,
        _ => PERMISSION_HELP,
    }
}

/// The phrases of help lines that depend on the dialect the engine runs:
/// one table, so every help line says the same thing the same way.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Forms {
    /// How to insert a row only when its key is not there yet.
    pub skip_existing: &'static str,
    /// The clause that updates the row when the key is there.
    pub upsert_update: &'static str,
    /// The inserts that take a counter value without keeping a row.
    pub counter_takers: &'static str,
}

/// [`Forms`] for `dialect`.
pub(crate) fn forms(dialect: Dialect) -> Forms {
    match dialect {
        Dialect::Mysql => Forms {
            skip_existing: "`INSERT ... ON DUPLICATE KEY UPDATE id = id` (or `INSERT IGNORE`, \
                 which also turns other errors into warnings)",
            upsert_update: "`ON DUPLICATE KEY UPDATE`",
            counter_takers: "`INSERT IGNORE` or `ON DUPLICATE KEY UPDATE`, which take an \
                 AUTO_INCREMENT value even when they keep no row",
        },
        Dialect::Sqlite => Forms {
            skip_existing: "`INSERT ... ON CONFLICT DO NOTHING` (SQLite also has `INSERT OR \
                 IGNORE`)",
            upsert_update: "`DO UPDATE`",
            counter_takers: "ON CONFLICT DO NOTHING",
        },
        Dialect::Postgres | Dialect::Generic => Forms {
            skip_existing: "`INSERT ... ON CONFLICT DO NOTHING`",
            upsert_update: "`DO UPDATE`",
            counter_takers: "ON CONFLICT DO NOTHING",
        },
    }
}

/// The help line for a first run that calls a function the database does
/// not have: most often one the application or an extension provides, which
/// replay can be given (PostgreSQL, MySQL) or cannot (SQLite, where only the
/// application can register functions).
pub(super) fn missing_function_help(name: Option<&str>, caps: Caps) -> String {
    if caps.dialect == Dialect::Sqlite {
        let missing = match name {
            Some(n) => format!("SQLite has no function `{n}`"),
            None => "SQLite does not have the function it calls".to_string(),
        };
        format!(
            "{missing}, and SQL cannot create one: if the application registers it \
             (`sqlite3_create_function`), replay cannot run this statement, which \
             `-- twice:ignore first-run-error` above it records; otherwise check its name"
        )
    } else {
        let missing = match name {
            Some(n) => format!("no function `{n}` with these argument types exists"),
            None => "the function it calls does not exist with these argument types".to_string(),
        };
        format!(
            "{missing} when this migration runs: if an extension or the application provides \
             it, create it (or a stand-in) in a setup script (`--setup FILE`, `[replay] setup`); \
             otherwise check its name, its argument types and the order of the files"
        )
    }
}

/// The PostgreSQL extension that provides a type, operator class or
/// function a first run did not find (`gin_trgm_ops` → `pg_trgm`), for the
/// extensions migrations most often expect the database to have already.
pub(super) fn extension_of(object: &str) -> Option<&'static str> {
    const PROVIDED: &[(&str, &[&str])] = &[
        (
            "pg_trgm",
            &[
                "gin_trgm_ops",
                "gist_trgm_ops",
                "similarity",
                "word_similarity",
                "strict_word_similarity",
                "show_trgm",
                "set_limit",
            ],
        ),
        (
            "uuid-ossp",
            &[
                "uuid_generate_v1",
                "uuid_generate_v1mc",
                "uuid_generate_v3",
                "uuid_generate_v4",
                "uuid_generate_v5",
                "uuid_nil",
                "uuid_ns_dns",
                "uuid_ns_url",
            ],
        ),
        (
            "pgcrypto",
            &[
                "gen_random_bytes",
                "crypt",
                "gen_salt",
                "digest",
                "hmac",
                "pgp_sym_encrypt",
                "pgp_sym_decrypt",
                "pgp_pub_encrypt",
                "pgp_pub_decrypt",
                "armor",
                "dearmor",
            ],
        ),
        ("citext", &["citext"]),
        ("hstore", &["hstore"]),
        (
            "ltree",
            &[
                "ltree",
                "lquery",
                "ltxtquery",
                "nlevel",
                "subpath",
                "subltree",
                "lca",
                "text2ltree",
            ],
        ),
        ("cube", &["cube"]),
        (
            "earthdistance",
            &["earth", "ll_to_earth", "earth_distance", "earth_box"],
        ),
        ("unaccent", &["unaccent"]),
        (
            "fuzzystrmatch",
            &[
                "levenshtein",
                "soundex",
                "difference",
                "metaphone",
                "dmetaphone",
            ],
        ),
        (
            "intarray",
            &[
                "gist__int_ops",
                "gist__intbig_ops",
                "gin__int_ops",
                "intset",
                "idx",
            ],
        ),
        (
            "btree_gist",
            &[
                "gist_int4_ops",
                "gist_int8_ops",
                "gist_text_ops",
                "gist_timestamptz_ops",
            ],
        ),
        ("tablefunc", &["crosstab", "normal_rand", "connectby"]),
        ("isn", &["isbn", "isbn13", "ean13", "issn", "upc"]),
        (
            "vector",
            &[
                "vector",
                "halfvec",
                "sparsevec",
                "vector_cosine_ops",
                "vector_l2_ops",
                "vector_ip_ops",
                "halfvec_cosine_ops",
            ],
        ),
        (
            "postgis",
            &[
                "geometry",
                "geography",
                "box2d",
                "box3d",
                "gist_geometry_ops_2d",
            ],
        ),
        ("pg_cron", &["cron"]),
        (
            "timescaledb",
            &["create_hypertable", "time_bucket", "add_retention_policy"],
        ),
    ];
    let lower = object.to_ascii_lowercase();
    // PostGIS's functions all start `st_`.
    if lower.starts_with("st_") && lower.len() > 3 {
        return Some("postgis");
    }
    PROVIDED
        .iter()
        .find(|(_, names)| names.contains(&lower.as_str()))
        .map(|(ext, _)| *ext)
}

/// The extension a PostgreSQL error says the server does not have
/// installed (`extension "postgis" is not available`).
pub(super) fn extension_not_installed(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("extension \"")?;
    let (name, tail) = rest.split_once('"')?;
    (tail.starts_with(" is not available") && !name.is_empty()).then_some(name)
}

/// The help for a first run that did not find what an extension provides.
pub(super) fn extension_help(object: &str, extension: &str, created_here: bool) -> String {
    if created_here {
        format!(
            "`{object}` comes from the `{extension}` extension, which a migration of this history \
             creates after this one (or in one that failed): check the order of the files"
        )
    } else {
        format!(
            "`{object}` comes from PostgreSQL's `{extension}` extension, which no migration of this \
             history creates: the database gets it elsewhere (a Docker init script, the hosting \
             platform); give replay `CREATE EXTENSION IF NOT EXISTS \"{extension}\";` in a setup \
             script (`--setup FILE`, `[replay] setup`)"
        )
    }
}

/// The role a PostgreSQL error says does not exist (`role "readonly" does
/// not exist`).
pub(super) fn missing_role(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("role \"")?;
    let (name, tail) = rest.split_once('"')?;
    (tail.trim_start().starts_with("does not exist") && !name.is_empty()).then_some(name)
}

/// The help line for a first run that grants to, or policies for, a role the
/// server does not have: roles are cluster-wide, so projects create them
/// outside their migrations (the platform, an ops script), and a setup
/// script can give replay the same.
pub(super) fn missing_role_help(role: &str) -> String {
    format!(
        "the role `{role}` does not exist: roles belong to the whole server, so they are usually \
         created outside the migrations (by the platform or an ops script); create it in a setup \
         script (`--setup FILE` holding `CREATE ROLE {role};`, or `[replay] setup`), which runs as \
         an admin role before the first migration"
    )
}

/// libSQL's `ALTER TABLE t ALTER COLUMN c TO c <definition>`.
pub(super) fn is_libsql_alter_column(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(12)
        .map(str::to_ascii_lowercase)
        .collect();
    words.first().is_some_and(|w| w == "alter")
        && words
            .windows(4)
            .any(|w| w[0] == "alter" && w[1] == "column" && w[3] == "to")
}

/// SQL a newer PostgreSQL reads than the one that failed on it, and the
/// version that reads it: a subquery in FROM without an alias (16), a named
/// NOT NULL constraint, `ADD CONSTRAINT name NOT NULL column` (18).
pub(super) fn newer_postgres_syntax(sql: &str, message: &str) -> Option<(&'static str, u32)> {
    if message.starts_with("subquery in FROM must have an alias") {
        return Some(("a subquery in FROM without an alias", 16));
    }
    let words: Vec<String> = crate::lexer::significant_tokens(sql, 0..sql.len(), Dialect::Postgres)
        .iter()
        .map(|t| sql[t.span.clone()].to_ascii_lowercase())
        .collect();
    words
        .windows(4)
        .any(|w| w[0] == "constraint" && w[2] == "not" && w[3] == "null")
        .then_some((
            "a named NOT NULL constraint (`ADD CONSTRAINT name NOT NULL column`)",
            18,
        ))
}

/// The major version in an engine's name (`PostgreSQL 15.18` is 15); 0
/// when it names none.
pub(super) fn server_major(name: &str) -> u32 {
    name.split_whitespace()
        .find_map(|w| w.split('.').next()?.parse().ok())
        .unwrap_or(0)
}

/// The help line for a MySQL table named in another case than the one an
/// earlier migration created it in.
pub(super) fn table_case_help(named: &str, created: &str) -> String {
    format!(
        "the migrations before this one create `{created}`, and this statement names `{named}`: \
         table names are case-sensitive on this server, as on every Linux server with MySQL's \
         default `lower_case_table_names=0`, so the statement fails there (it runs on Windows and \
         macOS servers, which ignore the case); write the name as it was created"
    )
}

/// The MySQL 8 collation (`utf8mb4_0900_ai_ci` and its kin, MySQL 8's
/// default, which `mysqldump`, Atlas and Prisma write into migrations) a
/// server does not know, from its "Unknown collation" error.
pub(super) fn mysql8_collation(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("Unknown collation: '")?;
    let name = &rest[..rest.find('\'')?];
    name.contains("_0900_").then_some(name)
}

pub(super) fn mysql8_collation_help(server: &str, collation: &str) -> String {
    format!(
        "`{collation}` is a MySQL 8 collation, which {server} does not have (MariaDB knows it \
         from 11.4.5 on): this history is written for MySQL 8, so replay it on a MySQL 8 server \
         (`--database-url mysql://...`); the failure says nothing about the migration itself"
    )
}

/// The expression and clause in MariaDB's refusal of an expression in a
/// generated column, CHECK or DEFAULT (error 1901: `Function or expression
/// 'x' cannot be used in the GENERATED ALWAYS AS clause of `c``).
pub(super) fn mariadb_refused_expression(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("Function or expression '")?;
    let (expr, rest) = rest.split_once("' cannot be used in the ")?;
    let clause = rest.split(" clause").next()?;
    Some((expr, clause))
}

pub(super) fn mariadb_refused_expression_help(server: &str, expr: &str, clause: &str) -> String {
    format!(
        "{server} refuses `{expr}` in a {clause} clause (an expression whose value may depend on the \
         session, such as a TIMESTAMP read through the time zone, or a function MariaDB does not \
         allow there), where MySQL 8 accepts some of these: if the history is written for MySQL, \
         replay it on a MySQL server (`--database-url mysql://...`); otherwise compute the value \
         in the application or a trigger"
    )
}

/// The help line for a first run the server cannot parse. `server` is the
/// engine's name with its version (`MariaDB 10.11.6`, `SQLite 3.46.0`):
/// migrations written for another server or a newer version are the usual
/// cause, and the fix is to replay on that server, not to edit the file.
pub(super) fn syntax_help(server: &str, caps: Caps) -> String {
    match caps.dialect {
        Dialect::Mysql if server.starts_with("MariaDB") => format!(
            "{server} cannot parse this statement: if it is MySQL syntax MariaDB does not have \
             (the `->>` operator, `ALTER TABLE ... DROP CHECK`, a functional key part such as \
             `((lower(email)))`, a word MariaDB reserves such as `offset`, `LOCK=` or `ALGORITHM=` \
             on `DROP INDEX i ON t`, where `ALTER TABLE t DROP INDEX i, LOCK=NONE` works on both), \
             replay on a MySQL server (`--database-url mysql://...`); otherwise fix the statement"
        ),
        Dialect::Mysql => format!(
            "{server} cannot parse this statement: if it is MariaDB syntax MySQL does not have \
             (`ADD COLUMN IF NOT EXISTS`, `CREATE OR REPLACE TABLE`), replay on a MariaDB server \
             (`--database-url mysql://...`); otherwise fix the statement"
        ),
        Dialect::Postgres => format!(
            "{server} cannot parse this statement: if it needs a newer PostgreSQL, replay on one \
             (`--database-url postgres://...`); otherwise fix the statement"
        ),
        _ => format!(
            "{server} cannot parse this statement: fix it, or, if the folder is written for \
             another database, say which (`--dialect`, or `dialect` in `twice.toml`)"
        ),
    }
}

/// An actionable help line for a statement that fails on a re-run: one
/// table for every engine, by error class and dialect.
pub(super) fn help_for(class: ErrorClass, caps: Caps) -> String {
    let mysql = caps.dialect == Dialect::Mysql;
    match class {
        ErrorClass::PermissionDenied => permission_help(caps).into(),
        ErrorClass::FailsOnRows if caps.dialect == Dialect::Postgres => "a NOT NULL column \
             added without a default is NULL in every row a table holds, so this fails on any \
             table with rows, as the tables of a database in use have (replay's had a few): add \
             it with a default (`ADD COLUMN ... NOT NULL DEFAULT ...`), or add it nullable, fill \
             it with an UPDATE and then `ALTER COLUMN ... SET NOT NULL`"
            .into(),
        ErrorClass::FailsOnRows => "SQLite refuses this on a table that holds rows, as the \
             tables of a database in use do (replay's had a few): add the column nullable or with \
             a constant default and fill it with an UPDATE, or rebuild the table (`CREATE TABLE \
             t_new (...); INSERT INTO t_new SELECT ...; DROP TABLE t; ALTER TABLE t_new RENAME TO t;`)"
            .into(),
        ErrorClass::AlreadyExists => "use `IF NOT EXISTS` so that the statement does nothing \
             when the object is already there"
            .into(),
        ErrorClass::DuplicateColumn if caps.add_column_if_not_exists => {
            "add the column only when missing: `ALTER TABLE ... ADD COLUMN IF NOT EXISTS`".into()
        }
        ErrorClass::DuplicateColumn if mysql => "MySQL has no `ADD COLUMN IF NOT EXISTS` \
             (MariaDB has): add the column from a procedure that checks \
             `information_schema.COLUMNS` first, or create the table in its final shape with \
             `CREATE TABLE IF NOT EXISTS`; DDL commits at once on MySQL, so the migration tool \
             cannot undo a half-applied run"
            .into(),
        ErrorClass::DuplicateColumn => "SQLite has no `ADD COLUMN IF NOT EXISTS`: create the \
             table in its final shape with `CREATE TABLE IF NOT EXISTS`, or make the migration \
             tool record the migration as applied in the same transaction"
            .into(),
        ErrorClass::DuplicateEnumValue => {
            "add the value only when missing: `ALTER TYPE ... ADD VALUE IF NOT EXISTS`".into()
        }
        ErrorClass::UniqueViolation if mysql => format!(
            "skip rows that are already there: {}",
            forms(caps.dialect).skip_existing
        ),
        // Postgres and SQLite: the text they have always had.
        ErrorClass::UniqueViolation => "skip rows that are already there: `INSERT ... ON \
             CONFLICT DO NOTHING` (SQLite also has `INSERT OR IGNORE`)"
            .into(),
        ErrorClass::UndefinedObject => "use `IF EXISTS`, or guard the statement so that it \
             does nothing when the first run already removed or renamed the object"
            .into(),
        ErrorClass::UndefinedFunction => "the first run dropped or replaced this function: \
             guard the statement, or create the function with `CREATE OR REPLACE` before it is \
             used"
            .into(),
        ErrorClass::UndefinedColumn => "the first run renamed or dropped this column: guard the \
             statement or fold the change into a table rebuild"
            .into(),
        ErrorClass::Other | ErrorClass::Syntax if mysql => {
            "make the statement safe to run again: DDL commits at \
             once on MySQL, so the migration tool cannot record the migration as applied in the \
             same transaction as its changes"
                .into()
        }
        ErrorClass::Other | ErrorClass::Syntax => {
            "make the statement safe to run again, or make sure the migration \
             tool records the migration as applied in the same transaction"
                .into()
        }
    }
}

/// The MySQL error number a replay failure's message ends with (`Field 'x'
/// doesn't have a default value (MySQL error 1364)`).
pub(super) fn mysql_error_number(message: &str) -> Option<u32> {
    let (_, n) = message.strip_suffix(')')?.rsplit_once("(MySQL error ")?;
    n.parse().ok()
}

/// The errors a strict `sql_mode` (`STRICT_TRANS_TABLES`, `STRICT_ALL_TABLES`)
/// makes of what a non-strict one lets through with a warning: 1364 a column
/// left out that has no default, 1292 and 1366 an incorrect value, 1406 a
/// value too long, 1265 a value cut. (1048, a NULL into a NOT NULL column,
/// is left out: a one-row `INSERT` fails with it in every mode.)
const STRICT_MODE_ERRORS: &[u32] = &[1364, 1292, 1366, 1406, 1265];

/// The error number of a MySQL failure that comes from the server's strict
/// `sql_mode` ([`STRICT_MODE_ERRORS`]).
pub(super) fn strict_mode_error(message: &str) -> Option<u32> {
    mysql_error_number(message).filter(|n| STRICT_MODE_ERRORS.contains(n))
}

/// The help line of a first run or down that fails on an error a strict
/// `sql_mode` makes (see [`strict_mode_error`]) on `server`: what older
/// servers and non-strict modes did instead, and the setting that replays as
/// production runs.
pub(super) fn strict_mode_help(server: &str, code: u32, message: &str) -> String {
    let setting = "if production runs that way, replay the same with `[replay] mysql_sql_mode = \
         \"...\"` in twice.toml (production's `SELECT @@sql_mode`, e.g. \
         `\"NO_ENGINE_SUBSTITUTION\"`)";
    if code == 1364 {
        let column = message
            .strip_prefix("Field '")
            .and_then(|r| r.split_once('\''))
            .map_or("the column".to_string(), |(c, _)| format!("`{c}`"));
        format!(
            "the server replay runs on ({server}) is in a strict sql_mode, where a NOT NULL column \
             without a DEFAULT has none, so a statement that leaves {column} out fails; MySQL 5.7 \
             and older gave the first TIMESTAMP column of a table DEFAULT CURRENT_TIMESTAMP \
             unasked (explicit_defaults_for_timestamp OFF; MariaDB 10.10+ and MySQL 8 have it \
             ON), and a non-strict sql_mode stores the type's implicit default (0, '', the zero \
             date) with a warning: {setting}, or `mysql_explicit_defaults_for_timestamp = \
             false` for MySQL 5.7's TIMESTAMP default; otherwise give the column a DEFAULT or \
             the statement a value"
        )
    } else {
        format!(
            "the server replay runs on ({server}) is in a strict sql_mode (STRICT_TRANS_TABLES, \
             the default of MariaDB 10.2.4+ and MySQL 5.7+), where a value that does not fit \
             its column is an error; a non-strict sql_mode (the default of MySQL 5.6 and older) \
             stores it cut or converted, with a warning: {setting}; otherwise fix the value"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_mode_errors_are_told_apart() {
        let m = "Field 'created_at' doesn't have a default value (MySQL error 1364)";
        assert_eq!(mysql_error_number(m), Some(1364));
        assert_eq!(strict_mode_error(m), Some(1364));
        assert_eq!(
            strict_mode_error("Data too long for column 'c' at row 1 (MySQL error 1406)"),
            Some(1406)
        );
        // Not a strict-mode error, not a MySQL error.
        assert_eq!(
            strict_mode_error("Column 'a' cannot be null (MySQL error 1048)"),
            None
        );
        assert_eq!(strict_mode_error("no such table: t"), None);
        let help = strict_mode_help("MariaDB 10.11.14", 1364, m);
        assert!(help.contains("leaves `created_at` out"), "{help}");
        assert!(help.contains("DEFAULT CURRENT_TIMESTAMP"), "{help}");
        let help = strict_mode_help(
            "MariaDB 10.11.14",
            1366,
            "Incorrect integer value: 'x' for column `t`.`n` at row 1 (MySQL error 1366)",
        );
        assert!(
            help.contains("strict sql_mode (STRICT_TRANS_TABLES"),
            "{help}"
        );
        assert!(help.contains("`[replay] mysql_sql_mode"), "{help}");
    }
    #[test]
    fn newer_postgres_syntax_is_named() {
        assert_eq!(
            super::newer_postgres_syntax(
                "ALTER TABLE t\n    ADD CONSTRAINT t_a_not_null NOT NULL a",
                "syntax error at or near \"NOT\""
            )
            .map(|(_, v)| v),
            Some(18)
        );
        assert_eq!(
            super::newer_postgres_syntax(
                "SELECT * FROM (SELECT 1)",
                "subquery in FROM must have an alias"
            )
            .map(|(_, v)| v),
            Some(16)
        );
        assert_eq!(
            super::newer_postgres_syntax("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", "x"),
            None
        );
        assert_eq!(super::server_major("PostgreSQL 15.18"), 15);
        assert_eq!(super::server_major("SQLite"), 0);
    }

    #[test]
    fn extensions_are_named_by_what_they_provide() {
        assert_eq!(extension_of("gin_trgm_ops"), Some("pg_trgm"));
        assert_eq!(extension_of("UUID_GENERATE_V4"), Some("uuid-ossp"));
        assert_eq!(extension_of("ST_MakePoint"), Some("postgis"));
        assert_eq!(extension_of("citext"), Some("citext"));
        assert_eq!(extension_of("st_"), None);
        assert_eq!(extension_of("users"), None);
        let help = extension_help("gin_trgm_ops", "pg_trgm", false);
        assert!(
            help.contains("CREATE EXTENSION IF NOT EXISTS \"pg_trgm\";"),
            "{help}"
        );
        assert!(extension_help("citext", "citext", true).contains("check the order"));
        assert_eq!(
            extension_not_installed(
                "extension \"postgis\" is not available (Could not open extension control file)"
            ),
            Some("postgis")
        );
        assert_eq!(
            extension_not_installed("extension \"x\" already exists"),
            None
        );
    }

    #[test]
    fn libsql_alter_column_is_told_apart() {
        assert!(is_libsql_alter_column(
            "ALTER TABLE `t` ALTER COLUMN \"status\" TO \"status\" text NOT NULL"
        ));
        assert!(!is_libsql_alter_column(
            "ALTER TABLE t ALTER COLUMN x TYPE int"
        ));
        assert!(!is_libsql_alter_column("ALTER TABLE t RENAME TO u"));
    }

    #[test]
    fn mysql8_collations_are_named() {
        assert_eq!(
            mysql8_collation("Unknown collation: 'utf8mb4_0900_ai_ci'"),
            Some("utf8mb4_0900_ai_ci")
        );
        assert_eq!(mysql8_collation("Unknown collation: 'latin9_x'"), None);
        assert!(
            mysql8_collation_help("MariaDB 10.11.6", "utf8mb4_0900_ai_ci")
                .contains("replay it on a MySQL 8 server")
        );
    }

    #[test]
    fn missing_roles_are_named() {
        assert_eq!(
            missing_role("role \"read_write\" does not exist"),
            Some("read_write")
        );
        assert_eq!(missing_role("relation \"x\" does not exist"), None);
        assert_eq!(missing_role("role \"\" does not exist"), None);
        assert!(missing_role_help("auth_user").contains("CREATE ROLE auth_user;"));
    }

    fn caps(dialect: Dialect, add_column_if_not_exists: bool) -> Caps {
        Caps {
            dialect,
            nontransactional_sequences: true,
            sqlstate: true,
            add_column_if_not_exists,
        }
    }

    #[test]
    fn help_lines_use_the_engines_dialect() {
        let mysql8 = caps(Dialect::Mysql, false);
        let mariadb = caps(Dialect::Mysql, true);
        // MySQL 8 has no ADD COLUMN IF NOT EXISTS; MariaDB has.
        let h = help_for(ErrorClass::DuplicateColumn, mysql8);
        assert!(
            h.starts_with("MySQL has no `ADD COLUMN IF NOT EXISTS`"),
            "{h}"
        );
        assert!(!h.contains("SQLite"), "{h}");
        let h = help_for(ErrorClass::DuplicateColumn, mariadb);
        assert!(h.contains("ADD COLUMN IF NOT EXISTS`"), "{h}");
        for class in [
            ErrorClass::UniqueViolation,
            ErrorClass::Other,
            ErrorClass::PermissionDenied,
        ] {
            let h = help_for(class, mysql8);
            assert!(!h.contains("ON CONFLICT"), "{class:?}: {h}");
            assert!(!h.contains("superuser"), "{class:?}: {h}");
        }
        assert!(help_for(ErrorClass::UniqueViolation, mysql8).contains("ON DUPLICATE KEY"));
        // The other engines keep their words.
        let pg = caps(Dialect::Postgres, true);
        assert!(help_for(ErrorClass::UniqueViolation, pg).contains("ON CONFLICT DO NOTHING"));
        assert_eq!(help_for(ErrorClass::PermissionDenied, pg), PERMISSION_HELP);
        let sqlite = caps(Dialect::Sqlite, false);
        assert!(help_for(ErrorClass::DuplicateColumn, sqlite).starts_with("SQLite has no"));
    }
}
