//! Generated migration corpora for benchmarks (shared by the replay and the
//! static-pass benchmarks; see benches/README.md).
//!
//! A corpus is a plain folder of `NNNNN_<name>.sql` files (and, with downs,
//! `NNNNN_<name>.up.sql` / `.down.sql` pairs) that applies cleanly in order on
//! SQLite, mixing what real histories hold: new tables with indexes, added
//! columns, seed rows (some idempotent, some not), views recreated with
//! `DROP VIEW IF EXISTS`, triggers, data updates and table rebuilds.
//! Deterministic: the same `n` gives the same files.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A tiny deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Table {
    name: String,
    columns: Vec<String>,
}

/// One migration: its up SQL and its down SQL.
pub struct Migration {
    pub name: String,
    pub up: String,
    pub down: String,
}

/// Builds `n` migrations.
pub fn migrations(n: usize) -> Vec<Migration> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut tables: Vec<Table> = Vec::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let pick = if tables.len() < 3 { 0 } else { rng.below(100) };
        let (name, up, down) = match pick {
            0..=34 => {
                let t = format!("t{i}");
                let idem = rng.below(2) == 0;
                let ine = if idem { "IF NOT EXISTS " } else { "" };
                let ncols = 3 + rng.below(4) as usize;
                let mut cols = vec!["name".to_string(), "created_at".to_string()];
                for c in 2..ncols {
                    cols.push(format!("c{c}"));
                }
                let mut up = format!(
                    "-- create {t}\nCREATE TABLE {ine}{t} (\n    id INTEGER PRIMARY KEY,\n    \
                     name TEXT NOT NULL UNIQUE,\n    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP"
                );
                for c in &cols[2..] {
                    let ty = ["INTEGER", "TEXT", "REAL", "NUMERIC"][rng.below(4) as usize];
                    write!(up, ",\n    {c} {ty}").unwrap();
                }
                if tables.len() > 5 && rng.below(3) == 0 {
                    let parent = &tables[rng.below(tables.len() as u64) as usize].name;
                    write!(up, ",\n    parent_id INTEGER REFERENCES {parent} (id)").unwrap();
                    cols.push("parent_id".into());
                }
                up.push_str("\n);\n");
                writeln!(up, "CREATE INDEX {ine}{t}_created ON {t} (created_at);").unwrap();
                let down =
                    format!("DROP INDEX IF EXISTS {t}_created;\nDROP TABLE IF EXISTS {t};\n");
                tables.push(Table {
                    name: t.clone(),
                    columns: cols,
                });
                (format!("create_{t}"), up, down)
            }
            35..=54 => {
                let k = rng.below(tables.len() as u64) as usize;
                let col = format!("extra{i}");
                let t = &mut tables[k];
                let up = format!("ALTER TABLE {} ADD COLUMN {col} TEXT;\n", t.name);
                let down = format!("ALTER TABLE {} DROP COLUMN {col};\n", t.name);
                t.columns.push(col);
                (format!("add_{}_column", t.name), up, down)
            }
            55..=69 => {
                let t = &tables[rng.below(tables.len() as u64) as usize];
                let or_ignore = if rng.below(3) == 0 { "" } else { "OR IGNORE " };
                let mut up = String::new();
                for r in 0..3 {
                    writeln!(
                        up,
                        "INSERT {or_ignore}INTO {} (name) VALUES ('{}-seed-{i}-{r}');",
                        t.name, t.name
                    )
                    .unwrap();
                }
                let down = format!("DELETE FROM {} WHERE name LIKE '%-seed-{i}-%';\n", t.name);
                (format!("seed_{}", t.name), up, down)
            }
            70..=79 => {
                let t = &tables[rng.below(tables.len() as u64) as usize];
                let v = format!("v{i}");
                let up = format!(
                    "DROP VIEW IF EXISTS {v};\nCREATE VIEW {v} AS\n    SELECT id, name FROM {} \
                     WHERE name <> '';\n",
                    t.name
                );
                (
                    format!("view_{v}"),
                    up,
                    format!("DROP VIEW IF EXISTS {v};\n"),
                )
            }
            80..=87 => {
                let t = &tables[rng.below(tables.len() as u64) as usize];
                let tr = format!("tr{i}");
                let up = format!(
                    "CREATE TRIGGER IF NOT EXISTS {tr} AFTER UPDATE ON {t}\nBEGIN\n    \
                     UPDATE {t} SET created_at = created_at WHERE id = -1;\nEND;\n",
                    t = t.name
                );
                (
                    format!("trigger_{tr}"),
                    up,
                    format!("DROP TRIGGER IF EXISTS {tr};\n"),
                )
            }
            88..=95 => {
                let t = &tables[rng.below(tables.len() as u64) as usize];
                let up = format!(
                    "UPDATE {} SET name = lower(name) WHERE name <> lower(name);\n",
                    t.name
                );
                (
                    format!("normalise_{}", t.name),
                    up,
                    String::from("SELECT 1;\n"),
                )
            }
            _ => {
                // The 12-step table rebuild, inside its own transaction.
                let k = rng.below(tables.len() as u64) as usize;
                let t = &tables[k];
                let cols = t.columns.join(", ");
                let up = format!(
                    "PRAGMA foreign_keys = OFF;\nBEGIN;\nPRAGMA legacy_alter_table = ON;\nCREATE TABLE {t}_new (\n    id INTEGER \
                     PRIMARY KEY,\n    {defs}\n);\nINSERT INTO {t}_new (id, {cols}) SELECT id, \
                     {cols} FROM {t};\nDROP TABLE {t};\nALTER TABLE {t}_new RENAME TO {t};\n\
                     CREATE INDEX IF NOT EXISTS {t}_created ON {t} (created_at);\n\
                     PRAGMA legacy_alter_table = OFF;\nCOMMIT;\n\
                     PRAGMA foreign_keys = ON;\n",
                    t = t.name,
                    defs = t
                        .columns
                        .iter()
                        .map(|c| format!("{c} TEXT"))
                        .collect::<Vec<_>>()
                        .join(",\n    "),
                );
                (
                    format!("rebuild_{}", t.name),
                    up,
                    String::from("SELECT 1;\n"),
                )
            }
        };
        out.push(Migration {
            name: format!("{i:05}_{name}"),
            up,
            down,
        });
    }
    out
}

/// Writes `n` migrations into `dir` (created; emptied first). With `downs`,
/// writes `.up.sql` and `.down.sql` pairs. Returns the files in order.
pub fn write(dir: &Path, n: usize, downs: bool) -> std::io::Result<Vec<PathBuf>> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    for m in migrations(n) {
        if downs {
            let up = dir.join(format!("{}.up.sql", m.name));
            std::fs::write(&up, &m.up)?;
            std::fs::write(dir.join(format!("{}.down.sql", m.name)), &m.down)?;
            files.push(up);
        } else {
            let p = dir.join(format!("{}.sql", m.name));
            std::fs::write(&p, &m.up)?;
            files.push(p);
        }
    }
    Ok(files)
}

/// Builds `n` migrations shaped like a popx (Ory) SQLite history: many small
/// migrations, most of them one step of a table rebuild (SQLite cannot alter
/// a column in place), each with a down that undoes it; the rest new tables
/// with indexes and added columns. Applies cleanly in order, and so do the
/// downs right after their up.
pub fn popx(n: usize) -> Vec<Migration> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    // Each table: (name, extra columns, whether `name` is VARCHAR now).
    let mut tables: Vec<(String, Vec<String>, bool)> = Vec::new();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let pick = if tables.len() < 4 { 0 } else { rng.below(100) };
        // About as many tables as a real popx project has (a few dozen).
        let pick = if pick < 20 && tables.len() >= POPX_TABLES {
            99
        } else {
            pick
        };
        let (name, up, down) = match pick {
            0..=19 => {
                let t = format!("identity_t{i}");
                let up = format!(
                    "CREATE TABLE \"{t}\" (\n\"id\" TEXT PRIMARY KEY,\n\"nid\" CHAR(36),\n\
                     \"name\" TEXT NOT NULL,\n\"created_at\" DATETIME NOT NULL,\n\
                     \"updated_at\" DATETIME NOT NULL\n);\n\
                     CREATE INDEX \"{t}_nid_idx\" ON \"{t}\" (\"nid\");\n\
                     CREATE UNIQUE INDEX \"{t}_name_idx\" ON \"{t}\" (\"nid\", \"name\");\n"
                );
                let down = format!("DROP TABLE \"{t}\";\n");
                tables.push((t.clone(), Vec::new(), false));
                (format!("create_{t}"), up, down)
            }
            20..=34 => {
                let k = rng.below(tables.len() as u64) as usize;
                let (t, extra, _) = &mut tables[k];
                let c = format!("c{i}");
                extra.push(c.clone());
                (
                    format!("add_{c}"),
                    format!("ALTER TABLE \"{t}\" ADD COLUMN \"{c}\" TEXT;\n"),
                    format!("ALTER TABLE \"{t}\" DROP COLUMN \"{c}\";\n"),
                )
            }
            _ => {
                // One table rebuild (the way popx-generated SQLite
                // migrations change a column): copy into a new table, drop
                // the old one, rename, index again; the down does the same
                // back.
                let k = rng.below(tables.len() as u64) as usize;
                let (t, extra, varchar) = &mut tables[k];
                let (before, after) = if *varchar {
                    ("VARCHAR(255) NOT NULL", "TEXT NOT NULL")
                } else {
                    ("TEXT NOT NULL", "VARCHAR(255) NOT NULL")
                };
                *varchar = !*varchar;
                let mut cols = vec!["id", "nid", "name", "created_at", "updated_at"];
                cols.extend(extra.iter().map(String::as_str));
                let list = cols
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ");
                let rebuild = |name_type: &str| {
                    let defs = cols
                        .iter()
                        .map(|c| match *c {
                            "id" => "\"id\" TEXT PRIMARY KEY".to_string(),
                            "nid" => "\"nid\" CHAR(36)".to_string(),
                            "name" => format!("\"name\" {name_type}"),
                            "created_at" | "updated_at" => format!("\"{c}\" DATETIME NOT NULL"),
                            c => format!("\"{c}\" TEXT"),
                        })
                        .collect::<Vec<_>>()
                        .join(",\n");
                    format!(
                        "CREATE TABLE \"_{t}_tmp\" (\n{defs}\n);\n\
                         INSERT INTO \"_{t}_tmp\" ({list}) SELECT {list} FROM \"{t}\";\n\
                         DROP TABLE \"{t}\";\n\
                         ALTER TABLE \"_{t}_tmp\" RENAME TO \"{t}\";\n\
                         CREATE INDEX \"{t}_nid_idx\" ON \"{t}\" (\"nid\");\n\
                         CREATE UNIQUE INDEX \"{t}_name_idx\" ON \"{t}\" (\"nid\", \"name\");\n"
                    )
                };
                (format!("rebuild_{t}_{i}"), rebuild(after), rebuild(before))
            }
        };
        out.push(Migration {
            name: format!("{:014}000000_{name}", 20_200_101_000_000u64 + i as u64),
            up,
            down,
        });
    }
    out
}

/// Tables a [`popx`] history grows to.
const POPX_TABLES: usize = 40;

/// Writes [`popx`] migrations into `dir` (created; emptied first) as popx
/// names them: `<version>_<name>.sqlite3.up.sql` and `.sqlite3.down.sql`.
pub fn write_popx(dir: &Path, n: usize) -> std::io::Result<Vec<PathBuf>> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    for m in popx(n) {
        let up = dir.join(format!("{}.sqlite3.up.sql", m.name));
        std::fs::write(&up, &m.up)?;
        std::fs::write(dir.join(format!("{}.sqlite3.down.sql", m.name)), &m.down)?;
        files.push(up);
    }
    Ok(files)
}
