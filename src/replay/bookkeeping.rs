//! The migration tools' own bookkeeping tables, created before replay as
//! the tool would create them, so migrations that read or alter them (one
//! real migration alters `schema_migrations`) run as they do in production.
//! They are created before the first migration and outside any observed
//! run, so they are never reported as a migration's own change.
//!
//! The definitions follow each tool's source (the PostgreSQL and SQLite
//! drivers): golang-migrate `database/postgres` and `database/sqlite3`
//! (`schema_migrations (version, dirty)`), dbmate (`schema_migrations
//! (version)`), goose (`goose_db_version`), Flyway (`flyway_schema_history`),
//! sqlx (`_sqlx_migrations`), diesel (`__diesel_schema_migrations`), pop /
//! fizz (`schema_migration`).

use crate::model::LayoutKind;

/// The set-up SQL for `layout` on the engine `engine` (an
/// [`super::engine::Engine::id`]), if its tool keeps a table.
pub fn setup_sql(layout: LayoutKind, engine: &str) -> Option<&'static str> {
    // MySQL takes the PostgreSQL drivers' DDL where the tools' MySQL drivers
    // use the same (golang-migrate, goose, Flyway); sqlx's needs no bytea.
    let pg = matches!(engine, "postgres" | "mysql");
    Some(match layout {
        LayoutKind::GolangMigrate if pg => {
            "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, \
             dirty boolean NOT NULL)"
        }
        LayoutKind::GolangMigrate => {
            "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64, dirty bool); \
             CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)"
        }
        LayoutKind::Dbmate => {
            "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) PRIMARY KEY)"
        }
        LayoutKind::Goose if pg => {
            "CREATE TABLE IF NOT EXISTS goose_db_version (id serial NOT NULL, version_id bigint \
             NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL DEFAULT now(), \
             PRIMARY KEY (id))"
        }
        LayoutKind::Goose => {
            "CREATE TABLE IF NOT EXISTS goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, \
             version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT \
             (datetime('now')))"
        }
        LayoutKind::Flyway if pg => {
            "CREATE TABLE IF NOT EXISTS flyway_schema_history (installed_rank integer NOT NULL \
             PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL, type \
             varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum integer, installed_by \
             varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(), \
             execution_time integer NOT NULL, success boolean NOT NULL)"
        }
        LayoutKind::Flyway => {
            "CREATE TABLE IF NOT EXISTS flyway_schema_history (installed_rank INT NOT NULL \
             PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL, type \
             VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by \
             VARCHAR(100) NOT NULL, installed_on TEXT NOT NULL DEFAULT \
             (strftime('%Y-%m-%d %H:%M:%f','now')), execution_time INT NOT NULL, success \
             BOOLEAN NOT NULL)"
        }
        LayoutKind::Sqlx if engine == "postgres" => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version bigint PRIMARY KEY, description \
             text NOT NULL, installed_on timestamptz NOT NULL DEFAULT now(), success boolean NOT \
             NULL, checksum bytea NOT NULL, execution_time bigint NOT NULL)"
        }
        LayoutKind::Sqlx => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description \
             TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success \
             BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)"
        }
        LayoutKind::Diesel => {
            "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY \
             KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        }
        LayoutKind::Pop => {
            "CREATE TABLE IF NOT EXISTS schema_migration (version VARCHAR(14) NOT NULL); \
             CREATE UNIQUE INDEX IF NOT EXISTS schema_migration_version_idx ON schema_migration \
             (version)"
        }
        // Plain scripts keep no table; Liquibase's, and those of sql-migrate,
        // tern, Prisma, Drizzle and the Supabase CLI, are not created (yet):
        // none of the histories tried touches them.
        _ => return None,
    })
}
