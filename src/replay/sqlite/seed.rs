//! `--seed`: before each migration's first run, tables with fewer than
//! [`ROWS`] rows get synthetic rows that satisfy their declared types and
//! constraints, so copies and backfills that do nothing on empty tables show
//! what they do.
//!
//! - Values follow the column's type affinity (and hints in its name:
//!   `email`, `*_at`, `is_*`), unique across the database, so `UNIQUE` and
//!   primary keys hold.
//! - `INTEGER PRIMARY KEY` (rowid) and generated columns are left to SQLite.
//! - Foreign keys take their values from existing parent rows; parents are
//!   seeded first. So does a column named like a reference (`chore_id`)
//!   with no declared foreign key where a table of that name is (`chore`,
//!   `chores`; `categories` for `category_id`): applications keep such columns
//!   pointing at a row, and a migration that deletes the rows that do not
//!   (`WHERE chore_id NOT IN (SELECT id FROM chores)`) would otherwise
//!   delete every row written between its runs.
//! - A row that violates a constraint (`CHECK`, `NOT NULL`, a trigger's
//!   `RAISE`) is retried: with only the required columns, then with the
//!   literals the table's `CHECK` constraints mention; a table that accepts
//!   none of them is left as it is.
//!
//! Only tables created, altered or emptied since the last seeding are looked
//! at again, so seeding costs little per migration.

use super::{quote, SqliteEngine};
use crate::dialect::Dialect;
use crate::lexer::{Lexer, TokenKind};
use crate::replay::engine::{EngineError, TableData};
use rusqlite::types::Value as Sql;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

/// Rows each table gets.
pub const ROWS: i64 = crate::replay::SEED_ROWS;

/// Where the ids of synthetic rows start (see [`crate::replay::SYNTHETIC_IDS`]).
const SYNTHETIC_IDS: i64 = crate::replay::SYNTHETIC_IDS;

struct Column {
    name: String,
    ty: String,
    notnull: bool,
    has_default: bool,
    pk: i64,
    hidden: i64,
}

struct ForeignKey {
    parent: String,
    from: Vec<String>,
    to: Vec<Option<String>>,
}

struct TableInfo {
    name: String,
    columns: Vec<Column>,
    fks: Vec<ForeignKey>,
    rowid_alias: Option<String>,
    /// A `WITHOUT ROWID` table.
    without_rowid: bool,
    /// Its root page: kept when the table is renamed.
    rootpage: i64,
    /// Columns of unique indexes and constraints (lower case): the keys the
    /// migration's own rows may be found by.
    unique: BTreeSet<String>,
    /// Literals of the CHECK constraints that mention each column (lower case).
    literals: BTreeMap<String, Vec<Sql>>,
}

fn table_info(e: &SqliteEngine, table: &str) -> Result<Option<TableInfo>, EngineError> {
    e.internal(|c| {
        let info: Option<(String, String, i64)> = c
            .query_row(
                "SELECT name, type, wr FROM pragma_table_list(?1) WHERE schema = 'main'",
                [table],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok();
        let Some((name, kind, wr)) = info else {
            return Ok(None);
        };
        if kind != "table" || name.to_ascii_lowercase().starts_with("sqlite_") {
            return Ok(None);
        }
        let mut columns = Vec::new();
        {
            let mut st = c.prepare(
                "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk, hidden \
                 FROM main.pragma_table_xinfo(?1) ORDER BY cid",
            )?;
            let rows = st.query_map([&name], |r| {
                Ok(Column {
                    name: r.get(0)?,
                    ty: r.get::<_, String>(1)?.to_ascii_uppercase(),
                    notnull: r.get::<_, i64>(2)? != 0,
                    has_default: r.get(3)?,
                    pk: r.get(4)?,
                    hidden: r.get(5)?,
                })
            })?;
            for col in rows {
                columns.push(col?);
            }
        }
        let pks: Vec<&Column> = columns.iter().filter(|c| c.pk > 0).collect();
        let rowid_alias =
            (wr == 0 && pks.len() == 1 && pks[0].ty == "INTEGER").then(|| pks[0].name.clone());
        let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        {
            let mut st = c.prepare(
                "SELECT id, \"table\", \"from\", \"to\" FROM main.pragma_foreign_key_list(?1) \
                 ORDER BY id, seq",
            )?;
            let rows = st.query_map([&name], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?;
            for row in rows {
                let (id, parent, from, to) = row?;
                let fk = fks.entry(id).or_insert_with(|| ForeignKey {
                    parent,
                    from: Vec::new(),
                    to: Vec::new(),
                });
                fk.from.push(from);
                fk.to.push(to);
            }
        }
        let mut unique = BTreeSet::new();
        {
            let mut st = c.prepare(
                "SELECT ii.name FROM main.pragma_index_list(?1) il, \
                 main.pragma_index_info(il.name) ii WHERE il.\"unique\" AND ii.name IS NOT NULL",
            )?;
            let rows = st.query_map([&name], |r| r.get::<_, String>(0))?;
            for row in rows {
                unique.insert(row?.to_ascii_lowercase());
            }
        }
        // A column named like a reference (`chore_id`) with no declared
        // foreign key, where a table of that name is (`chore`, `chores`):
        // applications keep it pointing at a row of that table (and clean
        // up rows that do not, `WHERE chore_id NOT IN (SELECT id FROM
        // chores)`), so the rows written take their values from its rows.
        let declared: BTreeSet<String> = fks
            .values()
            .flat_map(|fk| fk.from.iter().map(|f| f.to_ascii_lowercase()))
            .collect();
        let mut implied = Vec::new();
        for col in &columns {
            let lower = col.name.to_ascii_lowercase();
            let Some(stem) = lower.strip_suffix("_id").filter(|s| !s.is_empty()) else {
                continue;
            };
            if col.pk > 0 || col.hidden != 0 || declared.contains(&lower) || unique.contains(&lower)
            {
                continue;
            }
            let mut names = vec![stem.to_string(), format!("{stem}s"), format!("{stem}es")];
            if let Some(y) = stem.strip_suffix('y') {
                names.push(format!("{y}ies"));
            }
            for candidate in names {
                let parent: Option<String> = c
                    .query_row(
                        "SELECT name FROM main.sqlite_schema WHERE type = 'table' \
                         AND name = ?1 COLLATE NOCASE",
                        [&candidate],
                        |r| r.get(0),
                    )
                    .ok();
                if let Some(parent) = parent.filter(|p| !p.eq_ignore_ascii_case(&name)) {
                    implied.push(ForeignKey {
                        parent,
                        from: vec![col.name.clone()],
                        to: vec![None],
                    });
                    break;
                }
            }
        }
        let (sql, rootpage): (Option<String>, i64) = c
            .query_row(
                "SELECT sql, rootpage FROM main.sqlite_schema WHERE type = 'table' AND name = ?1",
                [&name],
                |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0))),
            )
            .unwrap_or((None, 0));
        Ok(Some(TableInfo {
            name,
            rootpage,
            columns,
            fks: fks.into_values().chain(implied).collect(),
            rowid_alias,
            without_rowid: wr != 0,
            unique,
            literals: sql.map(|s| check_literals(&s)).unwrap_or_default(),
        }))
    })
}

/// String and number literals inside the `CHECK (...)` clauses of a table,
/// for each column the clause mentions (a column constraint mentions its
/// column too).
fn check_literals(sql: &str) -> BTreeMap<String, Vec<Sql>> {
    let toks: Vec<_> = Lexer::new(sql, 0..sql.len(), Dialect::Sqlite)
        .filter(|t| !t.kind.is_trivia())
        .collect();
    let mut out: BTreeMap<String, Vec<Sql>> = BTreeMap::new();
    let ident = |i: usize| -> Option<String> {
        let t = toks.get(i)?;
        let text = &sql[t.span.clone()];
        match t.kind {
            TokenKind::Word => Some(text.to_ascii_lowercase()),
            TokenKind::QuotedIdent if text.len() >= 2 => {
                Some(text[1..text.len() - 1].to_ascii_lowercase())
            }
            _ => None,
        }
    };
    // The column whose definition we are in: the first word after `(` or `,`
    // at depth 1 of the table's column list.
    let mut depth = 0i32;
    let mut current: Option<String> = None;
    let mut i = 0;
    while i < toks.len() {
        let text = &sql[toks[i].span.clone()];
        match (toks[i].kind, text) {
            (TokenKind::Punct, "(") => {
                depth += 1;
                if depth == 1 {
                    current = ident(i + 1);
                }
            }
            (TokenKind::Punct, ")") => depth -= 1,
            (TokenKind::Punct, ",") if depth == 1 => current = ident(i + 1),
            (TokenKind::Word, w) if w.eq_ignore_ascii_case("CHECK") => {
                let mut lits = Vec::new();
                let mut cols: Vec<String> = current.iter().cloned().collect();
                let mut d = 0i32;
                let mut j = i + 1;
                while j < toks.len() {
                    let t = &sql[toks[j].span.clone()];
                    match (toks[j].kind, t) {
                        (TokenKind::Punct, "(") => d += 1,
                        (TokenKind::Punct, ")") => {
                            d -= 1;
                            if d <= 0 {
                                break;
                            }
                        }
                        (TokenKind::String, s) if s.len() >= 2 => {
                            lits.push(Sql::Text(s[1..s.len() - 1].replace("''", "'")))
                        }
                        (TokenKind::Number, s) => {
                            if let Ok(v) = s
                                .parse::<i64>()
                                .map(Sql::Integer)
                                .or_else(|_| s.parse::<f64>().map(Sql::Real))
                            {
                                lits.push(v);
                            }
                        }
                        (TokenKind::Word | TokenKind::QuotedIdent, _) => {
                            if let Some(c) = ident(j) {
                                cols.push(c);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                for c in cols {
                    let v = out.entry(c).or_default();
                    for l in &lits {
                        if !v.contains(l) {
                            v.push(l.clone());
                        }
                    }
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    out.retain(|_, v| !v.is_empty());
    out
}

/// A synthetic value for a column, from its type affinity and name.
fn synthetic(col: &Column, n: i64) -> Sql {
    let name = col.name.to_ascii_lowercase();
    let ty = &col.ty;
    let boolish = name.starts_with("is_")
        || name.starts_with("has_")
        || ty.contains("BOOL")
        || matches!(name.as_str(), "active" | "enabled" | "deleted" | "archived");
    let dateish = ty.contains("DATE")
        || ty.contains("TIME")
        || name.ends_with("_at")
        || name.ends_with("_on")
        || name.contains("date")
        || name.contains("time");
    if boolish {
        return Sql::Integer(n % 2);
    }
    if ty.contains("INT") {
        return Sql::Integer(n);
    }
    if ty.contains("REAL") || ty.contains("FLOA") || ty.contains("DOUB") {
        return Sql::Real(n as f64 + 0.5);
    }
    if ty.contains("BLOB") {
        return Sql::Blob(format!("seed-{n}").into_bytes());
    }
    if dateish {
        let day = n.rem_euclid(28) + 1;
        let minute = (n / 28).rem_euclid(60);
        return Sql::Text(format!("2024-01-{day:02} 12:{minute:02}:00"));
    }
    if ty.contains("CHAR") || ty.contains("CLOB") || ty.contains("TEXT") || ty.is_empty() {
        if name.contains("email") {
            return Sql::Text(format!("seed{n}@example.com"));
        }
        return Sql::Text(format!("{} {n}", col.name));
    }
    // NUMERIC affinity (DECIMAL, NUMERIC, MONEY, ...).
    Sql::Integer(n)
}

pub fn seed(e: &mut SqliteEngine) -> Result<Vec<String>, EngineError> {
    follow_renames(e)?;
    let candidates: Vec<String> = match e.seed_dirty.take() {
        Some(set) => set.into_iter().collect(),
        None => user_tables(e)?
            .into_iter()
            .filter(|t| !e.setup_tables.contains(&t.to_ascii_lowercase()))
            .collect(),
    };
    e.seed_dirty = Some(BTreeSet::new());
    let order = parents_first(e, candidates)?;
    if order.is_empty() {
        return Ok(Vec::new());
    }
    e.batch("BEGIN")?;
    let mut seeded = Vec::new();
    for t in &order {
        match seed_table(e, t) {
            Ok(true) => seeded.push(t.name.clone()),
            Ok(false) => {}
            Err(err) => {
                let _ = e.batch("ROLLBACK");
                return Err(err);
            }
        }
    }
    e.batch("COMMIT")?;
    Ok(seeded)
}

/// A synthetic row [`seed`] or [`interleave`] inserted, as [`unseed`]
/// finds it again whatever happened to it since.
pub(super) struct SeededRow {
    /// The table's name when the row went in, and its root page, which a
    /// renamed table keeps (a table whose name is gone is looked for by it).
    table: String,
    /// `table` in lower case, as the tables are looked up (kept, not
    /// folded again on every look: the records grow with the history).
    folded: String,
    rootpage: i64,
    /// Its declared primary key (bare column names and values): the row is
    /// found by it, whatever the migrations did to its other columns, also
    /// in a table rebuilt by copying (the copy keeps the key).
    key: Vec<(String, Sql)>,
    /// Its row id (a rowid table): how a row without a declared key is
    /// found.
    rowid: Option<i64>,
    /// Its values (bare column names; given on insert, then as the write
    /// between runs changed them): without a declared key, the row at its
    /// row id is the same row only if it still holds at least half of them
    /// (a rebuilt table gives its row ids to other rows).
    values: Vec<(String, Sql)>,
    /// Not a row inserted but a value the write between runs changed in
    /// the row (column, value before, value written): [`unseed`] puts the
    /// value before back while the row still holds the one written.
    undo: Option<(String, Sql, Sql)>,
    /// An `undo` record [`put_back`] found to be about a synthetic row: it
    /// stays one until [`unseed`] (which takes every record), so later
    /// calls do not look at it again.
    on_synthetic: bool,
    /// The distinctive values it was given (see [`remember_value`]),
    /// remembered while the row is.
    remembered: Vec<String>,
}

#[cfg(test)]
impl SeededRow {
    pub(super) fn remembered(&self) -> &[String] {
        &self.remembered
    }
}

/// Deletes the synthetic rows [`seed`] and [`interleave`] inserted (see
/// [`crate::replay::engine::Engine::unseed`]), newest first, each under a
/// savepoint, found by their declared primary key, else by their row id
/// (see [`SeededRow`]), in the table of the name they went into, else in
/// the table that now has its root page (renamed). A row the database will
/// not delete (a foreign key of a migration's row points at it) stays.
/// Returns whether any was deleted.
pub fn unseed(e: &mut SqliteEngine) -> Result<bool, EngineError> {
    withdraw(e, false)
}

/// Puts back the values the write between runs changed in rows that are
/// not synthetic (see [`crate::replay::engine::Engine::put_back`]); the
/// synthetic rows, and the values written to them, stay.
pub fn put_back(e: &mut SqliteEngine) -> Result<(), EngineError> {
    withdraw(e, true).map(|_| ())
}

/// [`unseed`], or with `others_only` [`put_back`]: only the records of
/// values changed in rows no synthetic record names, and nothing derived.
fn withdraw(e: &mut SqliteEngine, others_only: bool) -> Result<bool, EngineError> {
    let all = std::mem::take(&mut e.seeded);
    let open = |r: &SeededRow| r.undo.is_some() && !r.on_synthetic;
    if others_only && !all.iter().any(open) {
        e.seeded = all;
        return Ok(false);
    }
    let (rows, kept): (Vec<SeededRow>, Vec<SeededRow>) = if others_only {
        // The synthetic rows by table and key, and by table and row id (one
        // pass: the records grow with the history).
        // Only in the tables of records not looked at yet.
        let tables: std::collections::HashSet<&str> = all
            .iter()
            .filter(|r| open(r))
            .map(|r| r.folded.as_str())
            .collect();
        let mut keys = std::collections::HashSet::new();
        let mut rowids = std::collections::HashSet::new();
        for s in all
            .iter()
            .filter(|s| s.undo.is_none() && tables.contains(s.folded.as_str()))
        {
            let table = s.folded.as_str();
            if !s.key.is_empty() {
                keys.insert((table, format!("{:?}", s.key)));
            }
            if let Some(id) = s.rowid {
                rowids.insert((table, id));
            }
        }
        let synthetic = |r: &SeededRow| {
            let table = r.folded.as_str();
            (!r.key.is_empty() && keys.contains(&(table, format!("{:?}", r.key))))
                || r.rowid.is_some_and(|id| rowids.contains(&(table, id)))
        };
        let other: Vec<bool> = all.iter().map(|r| open(r) && !synthetic(r)).collect();
        let (rows, mut kept) = crate::replay::split_flagged(all, other);
        for r in kept.iter_mut().filter(|r| r.undo.is_some()) {
            r.on_synthetic = true;
        }
        (rows, kept)
    } else {
        (all, Vec::new())
    };
    if rows.is_empty() {
        e.seeded = kept;
        return Ok(false);
    }
    let tables = tables_and_root_pages(e)?;
    let mut columns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    e.batch("BEGIN")?;
    let mut deleted = 0;
    let mut left = Vec::new();
    for row in rows.into_iter().rev() {
        // Rows changed; `Some(0)`: the row is not there (a migration
        // deleted it, or changed its key: a copy of it is found by its
        // values below); `None`: not looked for or refused now (its table
        // is not there, a row still refers to it).
        let n: Option<usize> = 'row: {
            let Some(table) = tables.of(&row).map(str::to_string) else {
                break 'row None;
            };
            if !columns.contains_key(&table) {
                let names: BTreeSet<String> = e.internal(|c| {
                    let mut st = c.prepare("SELECT name FROM main.pragma_table_info(?1)")?;
                    let rows = st.query_map([&table], |r| r.get::<_, String>(0))?;
                    rows.map(|n| n.map(|n| n.to_ascii_lowercase())).collect()
                })?;
                columns.insert(table.clone(), names);
            }
            let has = |c: &str| columns[&table].contains(&c.to_ascii_lowercase());
            let t = quote(&table);
            if let Some((col, before, after)) = &row.undo {
                if !has(col) {
                    break 'row None;
                }
                let (mut cond, mut values) =
                    if !row.key.is_empty() && row.key.iter().all(|(c, _)| has(c)) {
                        let cond: Vec<String> = row
                            .key
                            .iter()
                            .map(|(c, _)| format!("{} IS ?", quote(c)))
                            .collect();
                        (
                            cond.join(" AND "),
                            row.key.iter().map(|(_, v)| v.clone()).collect(),
                        )
                    } else if let Some(id) = row.rowid {
                        ("rowid = ?".to_string(), vec![Sql::Integer(id)])
                    } else {
                        break 'row None;
                    };
                cond.push_str(&format!(" AND {} IS ?", quote(col)));
                values.push(after.clone());
                let mut params = vec![before.clone()];
                params.extend(values.iter().cloned());
                let sql = format!(
                "UPDATE main.{t} SET {c} = ? WHERE rowid IN (SELECT rowid FROM main.{t} WHERE {cond} LIMIT 1)",
                c = quote(col)
            );
                let n = match try_write(e, &sql, &params)? {
                    Some(n) => Some(n),
                    None => try_write(
                        e,
                        &format!("UPDATE main.{t} SET {} = ? WHERE {cond}", quote(col)),
                        &params,
                    )?,
                };
                break 'row n;
            }
            let n = if !row.key.is_empty() && row.key.iter().all(|(c, _)| has(c)) {
                let cond: Vec<String> = row
                    .key
                    .iter()
                    .map(|(c, _)| format!("{} IS ?", quote(c)))
                    .collect();
                let cond = cond.join(" AND ");
                let values: Vec<Sql> = row.key.iter().map(|(_, v)| v.clone()).collect();
                // One row, even where several match (a rowid table).
                let sql = format!(
                "DELETE FROM main.{t} WHERE rowid IN (SELECT rowid FROM main.{t} WHERE {cond} LIMIT 1)"
            );
                match try_write(e, &sql, &values)? {
                    Some(n) => Some(n),
                    // WITHOUT ROWID: the key is its primary key.
                    None => try_write(e, &format!("DELETE FROM main.{t} WHERE {cond}"), &values)?,
                }
            } else if let Some(id) = row.rowid {
                let shared: Vec<&(String, Sql)> =
                    row.values.iter().filter(|(c, _)| has(c)).collect();
                if shared.is_empty() && (!row.values.is_empty() || table != row.table) {
                    break 'row None;
                }
                let mut values = vec![Sql::Integer(id)];
                let mut cond = "rowid = ?".to_string();
                if !shared.is_empty() {
                    let same: Vec<String> = shared
                        .iter()
                        .map(|(c, _)| format!("({} IS ?)", quote(c)))
                        .collect();
                    cond.push_str(&format!(
                        " AND {} >= {}",
                        same.join(" + "),
                        shared.len().div_ceil(2)
                    ));
                    values.extend(shared.iter().map(|(_, v)| v.clone()));
                }
                try_write(e, &format!("DELETE FROM main.{t} WHERE {cond}"), &values)?
            } else {
                None
            };
            n
        };
        deleted += n.unwrap_or(0);
        // A row not deletable now is looked for again next time (a
        // migration may delete what refers to it); one not there is
        // forgotten (looking for it at every withdrawal grew with the
        // history).
        if n.is_none() && row.undo.is_none() {
            left.push(row);
        }
    }
    left.reverse();
    if others_only {
        e.batch("COMMIT")?;
        e.seeded = kept;
        return Ok(deleted > 0);
    }
    let (derived, complete) = delete_derived(e)?;
    deleted += derived;
    // Every row derived from a synthetic row gone: only the values of the
    // synthetic rows still there are remembered, the others are no one's
    // any more (each withdrawal's work stays with the rows seeded since).
    // Otherwise they all stay, to find the rows still there next time.
    if complete {
        e.synthetic_values = left
            .iter()
            .flat_map(|r| r.remembered.iter().cloned())
            .collect();
    }
    e.batch("COMMIT")?;
    e.seeded = left;
    // The tables are as before the seeding: the next seeding looks at all.
    e.seed_dirty = None;
    Ok(deleted > 0)
}

/// Remembers a value written to a synthetic row when it is distinctive
/// enough to tell the rows migrations derived from it (see
/// [`delete_derived`]), and returns it as remembered.
fn remember_value(e: &mut SqliteEngine, v: &Sql) -> Option<String> {
    let json = match v {
        Sql::Text(s) if crate::replay::distinctive_text(s) => serde_json::Value::String(s.clone()),
        Sql::Integer(i) if crate::replay::distinctive_integer(*i) => serde_json::Value::from(*i),
        _ => return None,
    };
    let json = json.to_string();
    e.synthetic_values.insert(json.clone());
    Some(json)
}

/// Deletes the rows migrations derived from synthetic rows: rows of user
/// tables (not the set-up's) holding, in some column, a value only a
/// synthetic row had (copied by an `INSERT ... SELECT` or an `UPDATE ...
/// FROM`); without seeding they would not be there. Each table under a
/// savepoint; one the database refuses is left. Returns how many, and
/// whether every table's delete ran.
fn delete_derived(e: &mut SqliteEngine) -> Result<(usize, bool), EngineError> {
    if e.synthetic_values.is_empty() {
        return Ok((0, true));
    }
    let list = format!(
        "[{}]",
        e.synthetic_values
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut deleted = 0;
    let mut complete = true;
    for table in user_tables(e)? {
        if e.setup_tables.contains(&table.to_ascii_lowercase()) {
            continue;
        }
        let columns: Vec<String> = e.internal(|c| {
            let mut st = c.prepare("SELECT name FROM main.pragma_table_info(?1)")?;
            let rows = st.query_map([&table], |r| r.get::<_, String>(0))?;
            rows.collect()
        })?;
        if columns.is_empty() {
            continue;
        }
        let cond: Vec<String> = columns
            .iter()
            .map(|c| format!("{} IN (SELECT value FROM json_each(?1))", quote(c)))
            .collect();
        let sql = format!(
            "DELETE FROM main.{} WHERE {}",
            quote(&table),
            cond.join(" OR ")
        );
        match try_write(e, &sql, &[Sql::Text(list.clone())])? {
            Some(n) => deleted += n,
            None => complete = false,
        }
    }
    Ok((deleted, complete))
}

/// Every table's name and root page.
fn tables_and_root_pages(e: &SqliteEngine) -> Result<Tables, EngineError> {
    let rows: Vec<(String, i64)> = e.internal(|c| {
        let mut st = c.prepare(
            "SELECT name, coalesce(rootpage, 0) FROM main.sqlite_schema \
             WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        rows.collect()
    })?;
    let mut t = Tables::default();
    for (name, page) in rows {
        if page > 0 {
            t.by_page.entry(page).or_insert_with(|| name.clone());
        }
        t.by_name
            .entry(name.to_ascii_lowercase())
            .or_insert((name, page));
    }
    Ok(t)
}

/// The user tables by name (lower case) and by root page, for looking up
/// the records of synthetic rows: the records grow with the history, and a
/// scan of every table for each of them made the seeding quadratic.
#[derive(Default)]
struct Tables {
    by_name: HashMap<String, (String, i64)>,
    by_page: HashMap<i64, String>,
}

impl Tables {
    /// The table a record names, else the one that now has its root page
    /// (renamed).
    fn of(&self, row: &SeededRow) -> Option<&str> {
        self.by_name
            .get(&row.folded)
            .map(|(n, _)| n.as_str())
            .or_else(|| self.page(row.rootpage))
    }

    fn page(&self, page: i64) -> Option<&str> {
        if page > 0 {
            self.by_page.get(&page).map(String::as_str)
        } else {
            None
        }
    }
}

/// Brings the records of synthetic rows up to date with renames: a record
/// whose table name is gone takes the name of the table that now has its
/// root page (renamed); one whose name is there takes that table's root
/// page (re-created under it by a copy). Called before each seeding and
/// write between runs, so a table renamed and later rebuilt is followed.
fn follow_renames(e: &mut SqliteEngine) -> Result<(), EngineError> {
    if e.seeded.is_empty() {
        return Ok(());
    }
    let tables = tables_and_root_pages(e)?;
    // The records of one table follow each other: its look-up is reused.
    let mut last: Option<(String, Option<i64>)> = None;
    for row in e.seeded.iter_mut() {
        let page = match &last {
            Some((folded, page)) if *folded == row.folded => *page,
            _ => {
                let page = tables.by_name.get(&row.folded).map(|(_, p)| *p);
                last = Some((row.folded.clone(), page));
                page
            }
        };
        if let Some(page) = page {
            row.rootpage = page;
        } else if let Some(name) = tables.page(row.rootpage) {
            row.table = name.to_string();
            row.folded = name.to_ascii_lowercase();
        }
    }
    Ok(())
}

/// Up to this many tables are looked up by name rather than by listing
/// every table.
const NAMED_LOOKUPS: usize = 64;

/// The user table of that name (any case), as [`user_tables`] lists it.
fn named_table(e: &SqliteEngine, name: &str) -> Result<Option<String>, EngineError> {
    e.internal(|c| {
        let mut st = c.prepare(
            "SELECT name FROM main.pragma_table_list(?1) \
             WHERE type = 'table' AND schema = 'main' AND name NOT LIKE 'sqlite_%'",
        )?;
        let mut rows = st.query_map([name], |r| r.get::<_, String>(0))?;
        rows.next().transpose()
    })
}

/// Every user table (`None`) or the named ones.
pub(super) fn user_tables(e: &SqliteEngine) -> Result<Vec<String>, EngineError> {
    e.internal(|c| {
        let mut st = c.prepare(
            "SELECT name FROM main.pragma_table_list \
             WHERE type = 'table' AND schema = 'main' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    })
}

/// The write between a migration's first and second run (see
/// [`crate::replay::engine::Engine::interleave`]): in each table named in
/// `names` (lower case), one existing row gets new values in its columns
/// other than the key and foreign keys, then [`ROWS`] new rows are added.
/// Returns each table written with its rows before and after.
pub fn interleave(
    e: &mut SqliteEngine,
    names: &BTreeSet<String>,
) -> Result<Vec<(String, TableData, TableData)>, EngineError> {
    follow_renames(e)?;
    let candidates: Vec<String> = if names.len() <= NAMED_LOOKUPS {
        // Each named table looked up on its own: listing every table at
        // each migration made a long history quadratic.
        let mut found = Vec::new();
        for name in names {
            found.extend(named_table(e, name)?);
        }
        found.sort();
        found
    } else {
        user_tables(e)?
            .into_iter()
            .filter(|t| names.contains(&t.to_ascii_lowercase()))
            .collect()
    };
    let order = parents_first(e, candidates)?;
    if order.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    e.batch("BEGIN")?;
    let r = (|| {
        for t in &order {
            let mut held = 0;
            let Some(before) = e.snapshot(&t.name, &mut held)? else {
                continue;
            };
            update_one_row(e, t)?;
            // The rows written are kept: a table that holds enough already
            // gets fewer, so tables do not grow with every migration.
            let n = crate::replay::interleave_rows(rows_in(&before));
            insert_rows(e, t, 0, n)?;
            let Some(after) = e.snapshot(&t.name, &mut held)? else {
                continue;
            };
            if before != after {
                out.push((t.name.clone(), before, after));
            }
        }
        Ok(())
    })();
    if let Err(err) = r {
        let _ = e.batch("ROLLBACK");
        return Err(err);
    }
    e.batch("COMMIT")?;
    Ok(out)
}

/// Rows of an image (a summary counts as many).
fn rows_in(data: &TableData) -> i64 {
    match data {
        TableData::Rows { rows, .. } => rows.len() as i64,
        TableData::Summary { count, .. } => *count as i64,
    }
}

/// Gives the columns of one existing row new synthetic values, each column
/// in its own savepoint (a value the table refuses leaves that column).
/// Key, unique and foreign key columns are left: they are how the
/// migration's own statements find the row.
fn update_one_row(e: &mut SqliteEngine, t: &TableInfo) -> Result<(), EngineError> {
    // The row: by rowid, or by primary key in a WITHOUT ROWID table.
    let key_cols: Vec<String> = if t.without_rowid {
        t.columns
            .iter()
            .filter(|c| c.pk > 0)
            .map(|c| quote(&c.name))
            .collect()
    } else {
        vec!["rowid".to_string()]
    };
    if key_cols.is_empty() {
        return Ok(());
    }
    // A row the migrations wrote rather than a synthetic one, when there is
    // one, and the newest of them: the write stands for users changing the
    // rows a migration put there (a setting), which an upsert's second run
    // would overwrite.
    let synthetic_rows: Vec<String> = if t.without_rowid {
        Vec::new()
    } else {
        e.seeded
            .iter()
            .filter(|r| r.undo.is_none() && r.rootpage == t.rootpage)
            .filter_map(|r| r.rowid.map(|id| id.to_string()))
            .collect()
    };
    let not_synthetic = if synthetic_rows.is_empty() {
        String::new()
    } else {
        format!(" WHERE rowid NOT IN ({})", synthetic_rows.join(", "))
    };
    // The newest such row: the one the migration's first run just wrote,
    // more often than not.
    let order = if t.without_rowid {
        String::new()
    } else {
        " ORDER BY rowid DESC".to_string()
    };
    let n = key_cols.len();
    let mut key: Option<Vec<Sql>> = None;
    for filter in [not_synthetic.as_str(), ""] {
        let select = format!(
            "SELECT {} FROM main.{}{filter}{order} LIMIT 1",
            key_cols.join(", "),
            quote(&t.name)
        );
        key = e.internal(|c| {
            let Ok(mut st) = c.prepare(&select) else {
                return Ok(None);
            };
            let mut rows = st.query([])?;
            match rows.next()? {
                Some(r) => Ok(Some(
                    (0..n)
                        .map(|i| r.get::<_, Sql>(i))
                        .collect::<rusqlite::Result<_>>()?,
                )),
                None => Ok(None),
            }
        })?;
        if key.is_some() || filter.is_empty() {
            break;
        }
    }
    let Some(key) = key else {
        return Ok(());
    };
    let fk_col = |col: &str| {
        t.fks
            .iter()
            .any(|fk| fk.from.iter().any(|f| f.eq_ignore_ascii_case(col)))
    };
    let cond: Vec<String> = key_cols.iter().map(|k| format!("{k} IS ?")).collect();
    for col in &t.columns {
        if col.hidden != 0
            || col.pk > 0
            || t.unique.contains(&col.name.to_ascii_lowercase())
            || t.rowid_alias.as_deref() == Some(col.name.as_str())
            || fk_col(&col.name)
        {
            continue;
        }
        let sql = format!(
            "UPDATE main.{} SET {c} = ? WHERE {} AND {c} IS NOT ?",
            quote(&t.name),
            cond.join(" AND "),
            c = quote(&col.name)
        );
        let read = format!(
            "SELECT {} FROM main.{} WHERE {}",
            quote(&col.name),
            quote(&t.name),
            cond.join(" AND ")
        );
        let Ok(before) = e.internal(|c| {
            c.query_row(&read, rusqlite::params_from_iter(key.iter()), |r| {
                r.get::<_, Sql>(0)
            })
        }) else {
            continue;
        };
        // A value equal to the one there (a boolean) changes nothing: the
        // next one does.
        for _ in 0..2 {
            e.seed_counter += 1;
            let v = synthetic(col, e.seed_counter);
            let mut params: Vec<Sql> = vec![v.clone()];
            params.extend(key.iter().cloned());
            params.push(v.clone());
            match try_write(e, &sql, &params)? {
                Some(0) => {}
                Some(_) => {
                    match (t.without_rowid, key.first()) {
                        (false, Some(Sql::Integer(id))) => {
                            follow_update(e, t, *id, &col.name, before, &v)
                        }
                        // WITHOUT ROWID: the row by its primary key.
                        _ => e.seeded.push(SeededRow {
                            table: t.name.clone(),
                            folded: t.name.to_ascii_lowercase(),
                            rootpage: t.rootpage,
                            key: t
                                .columns
                                .iter()
                                .filter(|c| c.pk > 0)
                                .map(|c| c.name.clone())
                                .zip(key.iter().cloned())
                                .collect(),
                            rowid: None,
                            values: Vec::new(),
                            undo: Some((col.name.clone(), before, v.clone())),
                            on_synthetic: false,
                            remembered: Vec::new(),
                        }),
                    }
                    break;
                }
                None => break,
            }
        }
    }
    Ok(())
}

/// Runs one write under a savepoint, undone when the database refuses it.
/// Returns the rows it changed, `None` when refused.
fn try_write(
    e: &mut SqliteEngine,
    sql: &str,
    params: &[Sql],
) -> Result<Option<usize>, EngineError> {
    sandbox_deadline(e, true);
    let ok = e.internal(|c| {
        if c.execute("SAVEPOINT twice_replay_seed", []).is_err() {
            return Ok(None);
        }
        Ok(
            match c.execute(sql, rusqlite::params_from_iter(params.iter())) {
                Ok(n) => c
                    .execute("RELEASE twice_replay_seed", [])
                    .is_ok()
                    .then_some(n),
                Err(_) => {
                    let _ =
                        c.execute_batch("ROLLBACK TO twice_replay_seed; RELEASE twice_replay_seed");
                    None
                }
            },
        )
    });
    let timed_out = std::mem::take(&mut super::lock(&e.shared).timed_out);
    sandbox_deadline(e, false);
    if timed_out {
        // SQLite rolled the whole transaction back with the interrupted
        // write: replay cannot go on, and trying the next row would take
        // the time limit again.
        return Err(write_timed_out(sql));
    }
    ok
}

/// The error for a write of twice's own that outlived the time limit (a
/// trigger or foreign key action of the migrations that runs too long).
fn write_timed_out(sql: &str) -> EngineError {
    let head: String = sql
        .split(['(', '\n'])
        .next()
        .unwrap_or(sql)
        .chars()
        .take(80)
        .collect();
    EngineError(format!(
        "a synthetic row twice writes (`{}...`) ran longer than the replay time limit \
         (--timeout): a trigger or foreign key action on that table runs too long; \
         `--no-seed` and `--no-interleave` turn these writes off",
        head.trim()
    ))
}

/// The tables' descriptions, parents before the tables that refer to them.
fn parents_first(e: &SqliteEngine, candidates: Vec<String>) -> Result<Vec<TableInfo>, EngineError> {
    let mut infos = Vec::new();
    for t in candidates {
        if let Some(info) = table_info(e, &t)? {
            infos.push(info);
        }
    }
    let mut order: Vec<TableInfo> = Vec::new();
    while !infos.is_empty() {
        let pending: BTreeSet<String> = infos.iter().map(|t| t.name.to_ascii_lowercase()).collect();
        let ready = infos.iter().position(|t| {
            t.fks.iter().all(|fk| {
                let p = fk.parent.to_ascii_lowercase();
                p == t.name.to_ascii_lowercase() || !pending.contains(&p)
            })
        });
        order.push(infos.remove(ready.unwrap_or(0)));
    }
    Ok(order)
}

/// Values of the referenced columns of `n` parent rows.
fn parent_rows(e: &SqliteEngine, fk: &ForeignKey) -> Result<Vec<Vec<Sql>>, EngineError> {
    let cols: Vec<String> = match fk.to.iter().all(Option::is_some) {
        true => fk.to.iter().flatten().map(|c| quote(c)).collect(),
        false => {
            // The parent's primary key.
            let pk: Vec<String> = e.internal(|c| {
                let mut st = c.prepare(
                    "SELECT name FROM main.pragma_table_info(?1) WHERE pk > 0 ORDER BY pk",
                )?;
                let rows = st.query_map([&fk.parent], |r| r.get::<_, String>(0))?;
                rows.collect()
            })?;
            if pk.is_empty() {
                vec!["rowid".to_string()]
            } else {
                pk.iter().map(|c| quote(c)).collect()
            }
        }
    };
    if cols.len() != fk.from.len() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {} FROM main.{} LIMIT {ROWS}",
        cols.join(", "),
        quote(&fk.parent)
    );
    e.internal(|c| {
        let Ok(mut st) = c.prepare(&sql) else {
            return Ok(Vec::new());
        };
        let n = cols.len();
        let rows = st.query_map([], |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect())?;
        rows.collect()
    })
}

fn seed_table(e: &mut SqliteEngine, t: &TableInfo) -> Result<bool, EngineError> {
    let existing: i64 = e.internal(|c| {
        c.query_row(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM main.{} LIMIT {ROWS})",
                quote(&t.name)
            ),
            [],
            |r| r.get(0),
        )
    })?;
    if existing >= ROWS {
        return Ok(false);
    }
    Ok(insert_rows(e, t, existing, ROWS)? > 0)
}

/// Inserts rows number `from..to` of the table's synthetic rows (each tried
/// a few ways). Returns how many went in.
fn insert_rows(
    e: &mut SqliteEngine,
    t: &TableInfo,
    from: i64,
    to: i64,
) -> Result<i64, EngineError> {
    let mut parents: Vec<(usize, Vec<Vec<Sql>>)> = Vec::new();
    for (i, fk) in t.fks.iter().enumerate() {
        parents.push((i, parent_rows(e, fk)?));
    }
    let fk_of = |col: &str| {
        t.fks.iter().enumerate().find_map(|(i, fk)| {
            fk.from
                .iter()
                .position(|f| f.eq_ignore_ascii_case(col))
                .map(|p| (i, p))
        })
    };
    let mut inserted = 0;
    for row in from..to {
        for attempt in 0..6i64 {
            e.seed_counter += 1;
            let n = e.seed_counter;
            let mut names = Vec::new();
            let mut bare: Vec<&str> = Vec::new();
            let mut values: Vec<Sql> = Vec::new();
            for col in &t.columns {
                if col.hidden != 0 {
                    continue;
                }
                if t.rowid_alias.as_deref() == Some(col.name.as_str()) {
                    // Ids far from the ones migrations insert by hand
                    // (`VALUES (1, ...)`), which would otherwise collide
                    // with seeded rows; left to SQLite on later attempts.
                    if attempt < 3 {
                        names.push(quote(&col.name));
                        bare.push(&col.name);
                        values.push(Sql::Integer(SYNTHETIC_IDS + n));
                    }
                    continue;
                }
                let required = col.notnull && !col.has_default;
                if attempt == 1 && !required && fk_of(&col.name).is_none() {
                    continue;
                }
                let v = if let Some((fi, pos)) = fk_of(&col.name) {
                    let rows = &parents[fi].1;
                    if rows.is_empty() {
                        if required {
                            synthetic(col, n)
                        } else {
                            Sql::Null
                        }
                    } else {
                        let r = &rows[(row as usize + attempt as usize) % rows.len()];
                        r.get(pos).cloned().unwrap_or(Sql::Null)
                    }
                } else if let Some(lits) = t
                    .literals
                    .get(&col.name.to_ascii_lowercase())
                    .filter(|l| attempt >= 2 && !l.is_empty())
                {
                    lits[(row as usize + attempt as usize) % lits.len()].clone()
                } else {
                    synthetic(col, n)
                };
                names.push(quote(&col.name));
                bare.push(&col.name);
                values.push(v);
            }
            let sql = if names.is_empty() {
                format!("INSERT INTO main.{} DEFAULT VALUES", quote(&t.name))
            } else {
                format!(
                    "INSERT INTO main.{} ({}) VALUES ({})",
                    quote(&t.name),
                    names.join(", "),
                    vec!["?"; names.len()].join(", ")
                )
            };
            if try_write(e, &sql, &values)?.is_some() {
                inserted += 1;
                record_seeded(e, t, &bare, &values);
                break;
            }
        }
    }
    Ok(inserted)
}

/// Remembers the row just inserted (its key, row id and the values
/// given), for [`unseed`].
fn record_seeded(e: &mut SqliteEngine, t: &TableInfo, names: &[&str], values: &[Sql]) {
    let rowid = if t.without_rowid {
        None
    } else {
        e.internal(|c| Ok(c.last_insert_rowid())).ok()
    };
    let mut pk: Vec<&Column> = t.columns.iter().filter(|c| c.pk > 0).collect();
    pk.sort_by_key(|c| c.pk);
    let given: Vec<(String, Sql)> = names
        .iter()
        .zip(values)
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    let mut remembered: Vec<String> = values.iter().filter_map(|v| remember_value(e, v)).collect();
    if let Some(id) = rowid.filter(|_| t.rowid_alias.is_some()) {
        remembered.extend(remember_value(e, &Sql::Integer(id)));
    }
    let key: Vec<(String, Sql)> = match rowid {
        _ if pk.is_empty() => Vec::new(),
        // Read back: a key column may have taken its default.
        Some(id) => key_of(e, t, id),
        None => pk
            .iter()
            .map(|c| {
                given
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&c.name))
                    .cloned()
            })
            .collect::<Option<Vec<_>>>()
            // A key column left to its default: found by every value given.
            .unwrap_or_else(|| given.clone()),
    };
    if key.is_empty() && rowid.is_none() {
        return;
    }
    e.seeded.push(SeededRow {
        table: t.name.clone(),
        folded: t.name.to_ascii_lowercase(),
        rootpage: t.rootpage,
        key,
        rowid,
        values: given,
        undo: None,
        on_synthetic: false,
        remembered,
    });
}

/// The declared primary key of the row with row id `rowid` (empty: none).
fn key_of(e: &SqliteEngine, t: &TableInfo, rowid: i64) -> Vec<(String, Sql)> {
    let mut pk: Vec<&Column> = t.columns.iter().filter(|c| c.pk > 0).collect();
    pk.sort_by_key(|c| c.pk);
    if pk.is_empty() {
        return Vec::new();
    }
    let cols: Vec<String> = pk.iter().map(|c| quote(&c.name)).collect();
    let sql = format!(
        "SELECT {} FROM main.{} WHERE rowid = ?1",
        cols.join(", "),
        quote(&t.name)
    );
    let n = cols.len();
    e.internal(|c| {
        c.query_row(&sql, [rowid], |r| {
            (0..n)
                .map(|i| r.get::<_, Sql>(i))
                .collect::<rusqlite::Result<Vec<Sql>>>()
        })
    })
    .map(|vals| pk.iter().map(|c| c.name.clone()).zip(vals).collect())
    .unwrap_or_default()
}

/// After the write between runs gave column `col` of the row with row id
/// `rowid` the value `v` (it held `before`): the change is recorded to be
/// undone by [`unseed`], and a synthetic row's record takes the value, so
/// [`unseed`] still recognises the row at its row id.
fn follow_update(e: &mut SqliteEngine, t: &TableInfo, rowid: i64, col: &str, before: Sql, v: &Sql) {
    let key = key_of(e, t, rowid);
    let remembered = remember_value(e, v).into_iter().collect();
    e.seeded.push(SeededRow {
        table: t.name.clone(),
        folded: t.name.to_ascii_lowercase(),
        rootpage: t.rootpage,
        key,
        rowid: Some(rowid),
        values: Vec::new(),
        undo: Some((col.to_string(), before, v.clone())),
        on_synthetic: false,
        remembered,
    });
    for row in e.seeded.iter_mut().filter(|r| {
        r.rowid == Some(rowid)
            && r.key.is_empty()
            && r.undo.is_none()
            && r.table.eq_ignore_ascii_case(&t.name)
    }) {
        match row
            .values
            .iter_mut()
            .find(|(c, _)| c.eq_ignore_ascii_case(col))
        {
            Some((_, old)) => *old = v.clone(),
            None => row.values.push((col.to_string(), v.clone())),
        }
    }
}

fn sandbox_deadline(e: &SqliteEngine, on: bool) {
    let mut s = super::lock(&e.shared);
    s.deadline = on.then(|| Instant::now() + e.cfg.timeout);
    s.timed_out = false;
}
