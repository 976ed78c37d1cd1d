//! Why the walk leaves a file or folder out: seed data, schema dumps,
//! folders that hold no migrations (tests, fixtures, queries), and a
//! layout's reason for a file it does not read; and the project files
//! read from the folders above.

use super::*;

/// `seed.sql` and the like: seed data (Supabase's `supabase/seed.sql`,
/// Prisma's and others' seeds), loaded by hand, not a migration.
pub(super) fn is_seed(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "seed.sql" | "seeds.sql")
}

/// `schema.sql`, `structure.sql`, and the same names with a suffix
/// (`schema-15.sql`, `structure_mysql.sql`).
pub(super) fn is_schema_dump_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let Some(stem) = lower.strip_suffix(".sql") else {
        return false;
    };
    ["schema", "structure"].iter().any(|base| {
        stem.strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_', '.']))
    })
}

/// Whether a file starts as a dump tool writes it: pg_dump's
/// `-- PostgreSQL database dump` header, or its preamble when a tool
/// stripped the comments (`SET statement_timeout = 0;` ...
/// `pg_catalog.set_config('search_path', '', false)`), mysqldump's and
/// mariadb-dump's `-- MySQL dump` / `-- MariaDB dump` header.
pub(super) fn is_dump(path: &Path) -> bool {
    let Some(head) = super::declared::head(path, 2048) else {
        return false;
    };
    head.contains("-- PostgreSQL database dump")
        || head.starts_with("-- MySQL dump")
        || head.starts_with("-- MariaDB dump")
        || (head.starts_with("SET statement_timeout = 0;")
            && head.contains("pg_catalog.set_config('search_path', '', false)"))
}

/// Tables only a dump of a migrated database creates: SQLite's own
/// `sqlite_sequence` (SQLite refuses it in a script; `sqlite3 .schema` and
/// `.dump` print it), and the version tables migration tools keep.
const DUMP_TABLES: &[&str] = &[
    "sqlite_sequence",
    "_sqlx_migrations",
    "__diesel_schema_migrations",
    "schema_migrations",
    "flyway_schema_history",
    "goose_db_version",
    "seaql_migrations",
    "refinery_schema_history",
    "_prisma_migrations",
    "atlas_schema_revisions",
    "__drizzle_migrations",
    "knex_migrations",
    "databasechangelog",
    "gorp_migrations",
    "pgmigrations",
];

/// What shows `text` to be a dump of a migrated database rather than a
/// migration: a `CREATE TABLE` (at a line's start, as dumps write them) of
/// a table in [`DUMP_TABLES`]. (A dump tool's header alone does not: a
/// schema dump with no migrations beside it may be the schema people
/// apply.) The text of the sign.
pub(super) fn dump_sign(text: &str) -> Option<String> {
    for line in text.lines() {
        let Some(rest) = strip_words(line.trim_start(), &["create", "table"]) else {
            continue;
        };
        let rest = strip_words(rest, &["if", "not", "exists"]).unwrap_or(rest);
        let name: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '(')
            .filter(|c| !matches!(c, '"' | '`' | '[' | ']'))
            .collect();
        let table = name
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if DUMP_TABLES.contains(&table.as_str()) {
            return Some(format!("it creates `{table}`"));
        }
    }
    None
}

/// `s` after the words `words` (case ignored), each followed by blanks.
fn strip_words<'a>(mut s: &'a str, words: &[&str]) -> Option<&'a str> {
    for w in words {
        let head = s.get(..w.len())?;
        if !head.eq_ignore_ascii_case(w) {
            return None;
        }
        let rest = &s[w.len()..];
        let trimmed = rest.trim_start();
        if trimmed.len() == rest.len() {
            return None;
        }
        s = trimmed;
    }
    Some(s)
}

/// Whether a file or folder name holds a code generator's unexpanded
/// placeholder (`${entityName}` of FreeMarker, Velocity and Maven
/// archetypes, `{{name}}` of Mustache, Handlebars, Jinja and Go templates,
/// a FreeMarker directive `<#...>`): a template the generator fills in, not
/// a migration.
pub(super) fn is_template_name(name: &str) -> bool {
    name.contains("${") || name.contains("{{") || name.contains("{%") || name.contains("<#")
}

/// Why a sub-folder met while walking holds no migrations: test data,
/// fixtures, query files (sqlc's `queries/`; `src/` beside a migrations
/// folder), tests beside a migrations folder or at the top of the folder
/// walked (`at_root`), Supabase's declarative `schemas/`, code generators'
/// templates.
pub(super) fn not_migrations_dir(
    name: &str,
    parent_dirs: &[(String, std::path::PathBuf)],
    parent_files: &[String],
    parent_dir: &Path,
    at_root: bool,
) -> Option<&'static str> {
    if is_template_name(name) {
        return Some("a code generator's templates (the folder name holds a placeholder)");
    }
    // Beside a migrations folder, or in one (`migrations/db/` beside
    // `migrations/tests/`, as supabase/postgres keeps them).
    let sqitch = parent_files.iter().any(|o| o == "sqitch.plan");
    let beside_migrations = sqitch
        || parent_dirs
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("migrations"))
        || parent_dir
            .file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("migrations"));
    let lower = name.to_ascii_lowercase();
    // Maven's and Gradle's source sets: `src/main/` holds what ships (its
    // `resources/db/migration/`), `src/test/`, `src/integrationTest/` and
    // `src/testFixtures/` hold what only the tests load (Spring's `@Sql`
    // scripts, test-only data).
    let in_src_beside_main = parent_dir
        .file_name()
        .is_some_and(|n| n.eq_ignore_ascii_case("src"))
        && parent_dirs.iter().any(|(n, _)| n == "main");
    if in_src_beside_main
        && (lower.ends_with("test")
            || lower.ends_with("tests")
            || lower.starts_with("test")
            || lower == "it")
    {
        return Some("a Maven or Gradle test source set (`src/main/` beside it is what ships)");
    }
    match lower.as_str() {
        "testdata" | "test-data" | "test_data" => Some("a folder of test data"),
        "fixtures" | "fixture" => Some("a folder of test fixtures"),
        // Seed data, as `seed.sql` (Supabase's `[db.seed] sql_paths`,
        // knex's and others' `seeds/`).
        "seeds" | "seed" | "seeders" => Some("a folder of seed data"),
        "queries" | "query" => Some("a folder of query files"),
        "src" if beside_migrations => {
            Some("source files beside the migrations folder (query files)")
        }
        // pg_regress (PostgreSQL's and every extension's `make
        // installcheck`): `sql/` holds the test scripts, `expected/` beside
        // it what each must print.
        "sql"
            if parent_dirs
                .iter()
                .any(|(n, p)| n == "expected" && p.is_dir()) =>
        {
            Some(
                "pg_regress test scripts (each file's expected output is in `expected/` beside it)",
            )
        }
        "tests" | "test" if beside_migrations => {
            Some("tests beside or in the migrations folder (pgTAP and the like)")
        }
        // A project's own test tree (roundcube's `tests/src/sql/`): test
        // data and scripts the tests load, whatever sits beside it.
        "tests" | "test" if at_root => Some("a folder of tests at the top of the project"),
        // Sqitch projects keep pgTAP tests in `t/` (`pg_prove t/`).
        "t" | "xt" if sqitch => Some("tests beside a Sqitch project (pgTAP and the like)"),
        // Supabase declarative schemas (`supabase/schemas/`): the source
        // `supabase db diff` writes migrations from, not migrations.
        "schemas" if beside_migrations && parent_files.iter().any(|o| o == "config.toml") => Some(
            "Supabase declarative schema files (supabase db diff writes the migrations from them)",
        ),
        _ => None,
    }
}

/// `vector--0.1.0--0.1.1.sql` → `vector`: a PostgreSQL extension script's
/// name (`<extension>--<version>.sql`, `<extension>--<from>--<to>.sql`, as
/// `CREATE EXTENSION` and `ALTER EXTENSION ... UPDATE` look them up).
pub(super) fn extension_script_name(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".sql")?;
    let (ext, versions) = stem.split_once("--")?;
    let ok_ext = !ext.is_empty()
        && ext
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let parts: Vec<&str> = versions.split("--").collect();
    let ok_versions = parts.len() <= 2
        && parts.iter().all(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    (ok_ext && ok_versions).then_some(ext)
}

/// The PostgreSQL extensions whose scripts a folder holds: named as
/// [`extension_script_name`] reads them, and either the extension's
/// control file (`vector.control`) is in the folder or up to two folders
/// above it, or a script starts with the guard PGXS scripts carry
/// (`\echo Use "CREATE EXTENSION vector" to load this file. \quit`) or
/// names `MODULE_PATHNAME` / `@extschema@`, which only `CREATE EXTENSION`
/// fills in. Returns the extension names.
pub(super) fn extension_scripts(dir: &Path, sql: &[(String, PathBuf)]) -> Vec<String> {
    let mut names: Vec<&str> = sql
        .iter()
        .filter_map(|(n, _)| extension_script_name(n))
        .collect();
    names.sort_unstable();
    names.dedup();
    let control = |ext: &str| {
        let file = format!("{ext}.control");
        std::iter::successors(Some(dir), |d| d.parent())
            .take(3)
            .any(|d| d.join(&file).is_file())
    };
    let marked = |ext: &str| {
        sql.iter()
            .filter(|(n, _)| extension_script_name(n) == Some(ext))
            .take(8)
            .any(|(_, p)| {
                super::declared::head(p, 4096).is_some_and(|h| {
                    h.lines().any(|l| {
                        let l = l.trim_start();
                        l.starts_with("\\echo Use \"") && l.contains(" EXTENSION ")
                    }) || h.contains("MODULE_PATHNAME")
                        || h.contains("@extschema@")
                })
            })
    };
    names
        .into_iter()
        .filter(|ext| control(ext) || marked(ext))
        .map(str::to_string)
        .collect()
}

/// The PostgreSQL extension whose control file (`vector.control`, or the
/// `vector.control.in` a build fills in) is in this folder: a file of that
/// name with the keys `CREATE EXTENSION` reads (`default_version`,
/// `module_pathname`, `relocatable`, `schema`, `requires`, `superuser`,
/// `trusted`). Returns the extension's name and the file's name.
pub(super) fn extension_control(dir: &Path, others: &[String]) -> Option<(String, String)> {
    const KEYS: [&str; 7] = [
        "default_version",
        "module_pathname",
        "relocatable",
        "schema",
        "requires",
        "superuser",
        "trusted",
    ];
    // A primary control file first: `citus--11.1-1.control` is a
    // secondary one, for one version of `citus`.
    let mut names: Vec<&String> = others.iter().collect();
    names.sort_by_key(|n| n.contains("--"));
    names.into_iter().find_map(|name| {
        let stem = name
            .strip_suffix(".control")
            .or_else(|| name.strip_suffix(".control.in"))?;
        let ext = stem.split("--").next().unwrap_or(stem);
        if ext.is_empty() {
            return None;
        }
        let head = super::declared::head(&dir.join(name), 4096)?;
        let keys = head
            .lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| KEYS.contains(&k.trim()))
            .count();
        (keys > 0).then(|| (ext.to_string(), name.clone()))
    })
}

/// Whether `dir` holds `.sql` files (at any depth, up to a few levels), so
/// that skipping it is worth a notice.
pub(super) fn folder_has_sql(dir: &Path) -> bool {
    pub(super) fn walk(dir: &Path, depth: usize) -> bool {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return false;
        };
        rd.flatten().any(|e| {
            let p = e.path();
            if p.is_dir() {
                depth < 4 && walk(&p, depth + 1)
            } else {
                is_sql(&p)
            }
        })
    }
    walk(dir, 0)
}

/// The text of the nearest file named `name` in the folders above `dir`
/// (its parent first, up to four levels; six for a `go.mod`, which sits at
/// the root of a Go module whose migrations are often deep in it, as
/// `app/store/database/migrate/postgres/`, and for a Maven or Gradle build
/// file, above `src/main/resources/db/migration/`), never above the
/// repository's root (the folder holding `.git`).
pub(super) fn nearest_ancestor_file(dir: &Path, name: &str) -> Option<String> {
    if dir.join(".git").exists() {
        return None;
    }
    let mut at = dir.parent();
    let levels = match name {
        "go.mod" => 6,
        // A Maven or Gradle build's migrations sit in
        // `src/main/resources/db/migration/`, five levels below it.
        "pom.xml" | "build.gradle" | "build.gradle.kts" => 6,
        _ => 4,
    };
    for _ in 0..levels {
        let d = at?;
        let p = d.join(name);
        if p.is_file() {
            // Project files are small: a huge one is read in part.
            return super::declared::head(&p, 1 << 20);
        }
        // Not above the repository (as `project.rs` reads manifests): a
        // `flyway.conf` or `pom.xml` of the runner's, outside the checkout,
        // is no setting of this project.
        if d.join(".git").exists() {
            return None;
        }
        at = d.parent();
    }
    None
}

/// Why a non-SQL file of a migration folder is not read.
pub(super) fn skip_reason(kind: LayoutKind, name: &str) -> String {
    layout::get(kind).skip_reason(name).unwrap_or_else(|| {
        // Atlas writes other tools' formats (`--dir-format goose`, ...)
        // with its checksum file beside them.
        if name.rsplit('/').next() == Some("atlas.sum") {
            return format!(
                "Atlas's checksum file (`atlas migrate` checks the folder against it; {} does not \
                 read it), not a migration",
                kind.name()
            );
        }
        let name = kind.name();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("not {article} {name} migration")
    })
}
