//! `drizzle` (Drizzle Kit migrations, run by `drizzle-kit migrate` or
//! drizzle-orm's `migrate()`): `NNNN_<name>.sql` files and
//! `meta/_journal.json`.
//!
//! As Drizzle does (drizzle-orm `src/migrator.ts`, `readMigrationFiles`):
//! - the journal's `entries` give the migrations and their order; each
//!   entry's `tag` names the file `<tag>.sql`; SQL files the journal does
//!   not list are not run (skipped with a notice), and a listed file that is
//!   missing is said so;
//! - a file's text is cut at every `--> statement-breakpoint`, and each
//!   piece is sent to the database as one query (twice's static rules still
//!   see each statement of a piece that holds several);
//! - the journal's `dialect` (`postgresql`, `sqlite`, `turso`, `mysql`,
//!   `singlestore`) decides the dialect, before the SQL's own signs;
//! - Drizzle migrations have no down part.

use super::{region, Folder, Plan};
use crate::dialect::Dialect;
use crate::model::{LayoutKind, Migration, Part, Region};

/// The Drizzle layout.
pub struct Drizzle;

/// This layout's name.
pub const KIND: LayoutKind = LayoutKind::named("drizzle");

const JOURNAL: &str = "meta/_journal.json";
const BREAKPOINT: &str = "--> statement-breakpoint";

impl super::Layout for Drizzle {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    /// Drizzle's `__drizzle_migrations` (in the `drizzle` schema on
    /// PostgreSQL), as drizzle-orm's migrators create it.
    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        Some(match engine {
            Dialect::Postgres => {
                "CREATE SCHEMA IF NOT EXISTS drizzle; CREATE TABLE IF NOT EXISTS \
                 drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, \
                 created_at bigint)"
            }
            Dialect::Mysql => {
                "CREATE TABLE IF NOT EXISTS __drizzle_migrations (id serial PRIMARY KEY, \
                 hash text NOT NULL, created_at bigint)"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS __drizzle_migrations (id SERIAL PRIMARY KEY, \
                 hash text NOT NULL, created_at numeric)"
            }
        })
    }

    fn kind(&self) -> LayoutKind {
        KIND
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        (folder.aux.contains_key(JOURNAL)
            && folder
                .entries
                .iter()
                .any(|e| e.dir().is_empty() && e.base().ends_with(".sql")))
        .then(|| format!("{JOURNAL} beside the SQL files"))
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn side_dirs(&self) -> &'static [&'static str] {
        &["meta"]
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        rel == JOURNAL
    }

    fn dialect(&self, folder: &Folder) -> Option<(Dialect, String)> {
        let journal = Journal::parse(folder.aux.get(JOURNAL)?)?;
        let name = journal.dialect?;
        let d = match name.as_str() {
            "postgresql" | "pg" | "postgres" => Dialect::Postgres,
            "sqlite" | "turso" => Dialect::Sqlite,
            "mysql" | "singlestore" => Dialect::Mysql,
            _ => return None,
        };
        Some((d, format!("{JOURNAL}: dialect \"{name}\"")))
    }
}

/// drizzle-kit's config files, which name the migrations folder (`out`).
pub const CONFIG_FILES: &[&str] = &[
    "drizzle.config.ts",
    "drizzle.config.js",
    "drizzle.config.mjs",
    "drizzle.config.cjs",
    "drizzle.config.mts",
    "drizzle.config.cts",
    "drizzle.config.json",
];

/// The migrations folder a drizzle-kit config names (`out: "./drizzle"`,
/// `"out": ".drizzle"`), as written; `None` when it names none as a plain
/// string.
pub fn config_out(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find("out") {
        let at = from + i;
        from = at + 3;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || matches!(b[at - 1], b'_' | b'$' | b'.'))
        {
            continue;
        }
        let rest = &text[at + 3..];
        let rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest).trim_start();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(q) = rest
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\'' | '`'))
        else {
            continue;
        };
        let value = &rest[1..];
        let end = value.find(q)?;
        let value = &value[..end];
        if value.contains("${") {
            return None;
        }
        return Some(value.to_string());
    }
    None
}

/// What twice reads of `meta/_journal.json`.
#[derive(Debug, Default)]
pub struct Journal {
    pub dialect: Option<String>,
    /// The entries' tags, in journal order.
    pub tags: Vec<String>,
}

impl Journal {
    pub fn parse(text: &str) -> Option<Journal> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let dialect = v
            .get("dialect")
            .and_then(|d| d.as_str())
            .map(str::to_string);
        let mut entries: Vec<(i64, String)> = v
            .get("entries")
            .and_then(|e| e.as_array())
            .map(|a| {
                a.iter()
                    .enumerate()
                    .filter_map(|(i, e)| {
                        let tag = e.get("tag")?.as_str()?.to_string();
                        let idx = e.get("idx").and_then(|x| x.as_i64()).unwrap_or(i as i64);
                        Some((idx, tag))
                    })
                    .collect()
            })
            .unwrap_or_default();
        entries.sort_by_key(|(idx, _)| *idx);
        Some(Journal {
            dialect,
            tags: entries.into_iter().map(|(_, t)| t).collect(),
        })
    }
}

/// The pieces of a file between `--> statement-breakpoint` markers.
pub fn pieces(text: &str) -> Vec<Region> {
    let mut out = Vec::new();
    let mut start = 0;
    for (at, _) in text.match_indices(BREAKPOINT) {
        out.push(Region {
            range: start..at,
            single_statement: true,
        });
        start = at + BREAKPOINT.len();
    }
    out.push(Region {
        range: start..text.len(),
        single_statement: true,
    });
    out.retain(|r| !text[r.range.clone()].trim().is_empty());
    out
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let Some(journal) = folder.aux.get(JOURNAL).and_then(|t| Journal::parse(t)) else {
        plan.notices.push(format!(
            "{}/{JOURNAL}: not a JSON journal Drizzle can read; its SQL files are read in name order",
            folder.display
        ));
        for (i, e) in folder.entries.iter().enumerate() {
            let len = e.file.text.len();
            plan.migrations.push(Migration::new(
                super::leading_digits(e.base()).to_string(),
                e.base().trim_end_matches(".sql").to_string(),
                super::part(i, vec![region(0..len)]),
                None,
            ));
        }
        return plan;
    };
    let mut used = vec![false; folder.entries.len()];
    for tag in &journal.tags {
        let file = format!("{tag}.sql");
        let Some(i) = folder.index_of(&file) else {
            plan.notices.push(format!(
                "{}: {JOURNAL} lists {tag}, but {file} is missing (drizzle would fail to read it)",
                folder.display
            ));
            continue;
        };
        used[i] = true;
        let text = &folder.entries[i].file.text;
        let digits = super::leading_digits(tag);
        plan.migrations.push(Migration::new(
            if digits.is_empty() { tag } else { digits }.to_string(),
            tag.strip_prefix(digits)
                .map_or(tag.as_str(), |n| n.trim_start_matches('_'))
                .to_string(),
            Part {
                file: i,
                regions: pieces(text),
                statements: Vec::new(),
                no_transaction: false,
                tool_transaction: false,
            },
            None,
        ));
    }
    for (i, u) in used.iter().enumerate() {
        if !u {
            plan.skipped.push((
                i,
                format!("not listed in {JOURNAL}, so drizzle does not run it"),
            ));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::Layout;
    use super::*;

    #[test]
    fn config_out_folder() {
        assert_eq!(
            config_out("export default defineConfig({ dialect: \"sqlite\", schema: \"./src/schema.ts\", out: \".drizzle\" });").as_deref(),
            Some(".drizzle")
        );
        assert_eq!(
            config_out("{\"layout\": \"x\", \"out\": \"./.drizzle/sql\"}").as_deref(),
            Some("./.drizzle/sql")
        );
        assert_eq!(
            config_out("const timeout: 'x'; export default { out: `./drizzle` }").as_deref(),
            Some("./drizzle")
        );
        assert_eq!(config_out("export default { out: process.env.OUT }"), None);
    }

    #[test]
    fn journal_order_breakpoints_and_dialect() {
        let mut f = folder(&[
            (
                "0000_init.sql",
                "CREATE TABLE a (id int);\n--> statement-breakpoint\nCREATE TABLE b (id int);\n",
            ),
            ("0001_more.sql", "ALTER TABLE a ADD COLUMN x int;"),
            ("0002_stray.sql", "SELECT 1;"),
        ]);
        f.aux.insert(
            JOURNAL.into(),
            r#"{"version":"7","dialect":"postgresql","entries":[
                {"idx":1,"version":"7","when":2,"tag":"0001_more","breakpoints":true},
                {"idx":0,"version":"7","when":1,"tag":"0000_init","breakpoints":true},
                {"idx":2,"version":"7","when":3,"tag":"0003_gone","breakpoints":true}]}"#
                .into(),
        );
        assert!(Drizzle.detect(&f).is_some());
        let p = plan(&f);
        assert_eq!(order(&f, &p), ["0000 0000_init.sql", "0001 0001_more.sql"]);
        assert_eq!(
            texts(&f, &p.migrations[0].up),
            "CREATE TABLE a (id int);|CREATE TABLE b (id int);"
        );
        assert_eq!(p.skipped.len(), 1);
        assert!(p.notices[0].contains("0003_gone"));
        assert_eq!(Drizzle.dialect(&f).map(|d| d.0), Some(Dialect::Postgres));
    }
}
