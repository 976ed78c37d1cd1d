//! `refinery` (the Rust migration crate, `refinery::embed_migrations!` /
//! `load_sql_migrations`, and `refinery migrate`): `V<n>__<name>.sql` and
//! `U<n>__<name>.sql` files in a Rust crate whose `Cargo.toml` depends on
//! `refinery`. As refinery reads them (rust-db/refinery
//! `refinery_core/src/util.rs`, `find_migration_files`,
//! `parse_migration_name`; `runner.rs`, `impl Ord for Migration`):
//!
//! - a migration is named `[U|V]<version>__<name>.sql` with `<name>` made of
//!   word characters; other files are skipped (refinery warns and skips
//!   them); the folder's sub-folders are read too;
//! - `V` (versioned, applied in order) and `U` (unversioned, may be applied
//!   out of order) are both forward migrations: `U` is **not** Flyway's undo.
//!   All of them run in version order (a whole number); a version that is
//!   not one, or two migrations of one version, make refinery refuse;
//! - each migration runs in its own transaction (`set_grouped(true)` runs all
//!   of them in one: not followed, the trials are per migration anyway);
//! - `.rs` migrations are Rust modules refinery runs between the SQL ones:
//!   twice cannot run them, so what they create is missing during replay;
//! - the dialect comes from the crate's `refinery` features (`rusqlite`,
//!   `postgres`/`tokio-postgres`, `mysql`/`mysql_async`).

use super::{numeric_cmp, whole, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::{LayoutKind, Migration};

/// The refinery layout.
pub struct Refinery;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("refinery");

const CARGO: &str = "../Cargo.toml";

/// `V12__add_users.sql` → (`V`, `12`, `add_users`); also for `.rs`.
fn parse(base: &str) -> Option<(char, &str, &str)> {
    let stem =
        super::strip_suffix_ci(base, ".sql").or_else(|| super::strip_suffix_ci(base, ".rs"))?;
    let kind = stem.chars().next().filter(|c| *c == 'U' || *c == 'V')?;
    let (version, name) = stem[1..].split_once("__")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok_version = match version.split_once('.') {
        Some((a, b)) => digits(a) && digits(b),
        None => digits(version),
    };
    let ok_name = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    (ok_version && ok_name).then_some((kind, version, name))
}

/// Whether the crate's `Cargo.toml` depends on `refinery` (or one of its
/// crates).
fn depends_on_refinery(cargo_toml: &str) -> bool {
    let Ok(table) = cargo_toml.parse::<toml::Table>() else {
        return false;
    };
    let has = |deps: Option<&toml::Value>| {
        deps.and_then(|d| d.as_table())
            .is_some_and(|t| t.keys().any(|k| k == "refinery" || k == "refinery-core"))
    };
    has(table.get("dependencies"))
        || has(table.get("workspace").and_then(|w| w.get("dependencies")))
}

impl super::Layout for Refinery {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        let cargo = folder.aux.get(CARGO)?;
        let named = folder.entries.iter().find(|e| parse(e.base()).is_some())?;
        depends_on_refinery(cargo).then(|| {
            format!(
                "[U|V]<version>__<name>.sql names ({}) in a crate that depends on refinery",
                named.rel
            )
        })
    }

    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &["Cargo.toml"]
    }

    fn uses_side_file(&self, rel: &str, _folder: &Folder) -> bool {
        rel == CARGO
    }

    fn absorbs_subfolder(&self, _rel: &str, _folder: &Folder) -> bool {
        true
    }

    fn dialect(&self, folder: &Folder) -> Option<(Dialect, String)> {
        super::cargo_feature_dialect(folder.aux.get(CARGO)?, "refinery")
    }

    fn code_migration(&self, rel: &str) -> Option<String> {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        parse(base)
            .filter(|_| super::ends_with_ci(base, ".rs"))
            .map(|(_, v, _)| v.to_string())
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        let base = name.rsplit('/').next().unwrap_or(name);
        if parse(base).is_some() && super::ends_with_ci(base, ".rs") {
            return Some(
                "a Rust migration: refinery runs it as code between the SQL ones; twice reads only \
                 SQL, so what it creates is missing during replay"
                    .into(),
            );
        }
        None
    }

    fn bookkeeping_sql(&self, _engine: Dialect) -> Option<&'static str> {
        Some(
            "CREATE TABLE IF NOT EXISTS refinery_schema_history (version INT PRIMARY KEY, \
             name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255))",
        )
    }

    fn checksum_advice(&self) -> Option<&'static str> {
        Some(
            "refinery records a checksum of every applied migration and stops when one changed \
             (`set_abort_divergent`, on by default): keep these edits to migrations not applied \
             anywhere yet",
        )
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut found: Vec<(&str, usize)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        match parse(e.base()) {
            Some((_, version, _)) if version.contains('.') => plan.problem(
                i,
                0..0,
                format!(
                    "refinery refuses to run: version {version} of {} is not a whole number",
                    e.base()
                ),
                "number refinery migrations with whole numbers (`V5__name.sql`)",
            ),
            Some((_, version, _)) => found.push((version, i)),
            None => plan.skipped.push((
                i,
                "not named [U|V]<version>__<name>.sql (the name of word characters only): refinery \
                 skips it with a warning"
                    .into(),
            )),
        }
    }
    found.sort_by(|a, b| {
        numeric_cmp(a.0, b.0).then_with(|| folder.entries[a.1].rel.cmp(&folder.entries[b.1].rel))
    });
    for (version, i) in found {
        let base = folder.entries[i].base();
        let stem = super::strip_suffix_ci(base, ".sql").unwrap_or(base);
        plan.migrations.push(Migration::new(
            version.trim_start_matches('0').to_string(),
            stem.to_string(),
            whole(folder, i),
            None,
        ));
    }
    for m in &mut plan.migrations {
        if m.version.is_empty() {
            m.version = "0".into();
        }
    }
    super::duplicate_versions(&mut plan, folder, "refinery", |m| Some(m.version.clone()));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_refinery_reads_them() {
        assert_eq!(parse("V1__users.sql"), Some(('V', "1", "users")));
        assert_eq!(parse("U12__add_posts.sql"), Some(('U', "12", "add_posts")));
        assert_eq!(parse("V3__x.rs"), Some(('V', "3", "x")));
        for bad in [
            "V1_users.sql",
            "V__x.sql",
            "R1__x.sql",
            "V1__add-users.sql",
            "V1__.sql",
            "v1__x.sql",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(parse("V1.5__x.sql").is_some());
    }

    #[test]
    fn the_dependency_is_read_from_cargo_toml() {
        assert!(depends_on_refinery("[dependencies]\nrefinery = \"0.8\"\n"));
        assert!(depends_on_refinery(
            "[dependencies.refinery]\nversion = \"0.8\"\nfeatures = [\"rusqlite\"]\n"
        ));
        assert!(depends_on_refinery(
            "[workspace.dependencies]\nrefinery = { version = \"0.8\" }\n"
        ));
        assert!(!depends_on_refinery("[dependencies]\nsqlx = \"0.8\"\n"));
        assert!(!depends_on_refinery("not toml ["));
    }
}
