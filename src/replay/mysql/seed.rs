//! `--seed` on MySQL: before each migration's first run, every base table
//! of the scratch database with fewer than [`crate::replay::SEED_ROWS`] rows
//! gets synthetic rows that satisfy its declared types and constraints, as
//! on the other engines (`replay::postgres::seed`, `replay::sqlite::seed`).
//!
//! - Types come from `information_schema.COLUMNS`: numbers, strings within
//!   the declared length, dates and times, `'{}'` for JSON, an `ENUM`'s
//!   first value. Values are distinct per row (a counter), so `UNIQUE` and
//!   primary keys hold.
//! - `AUTO_INCREMENT` and generated columns are left to the server; a
//!   nullable column with a default keeps its default.
//! - Foreign keys take their values from an existing parent row; parents
//!   are seeded first.
//! - A row the table still refuses (a `CHECK`, a trigger) is skipped, never
//!   an error. The rows are kept (autocommit).
//! - What it knows of the tables (their columns, foreign keys and row
//!   counts) is kept across migrations in [`SeedState`] and read again only
//!   for the tables the engine says a run touched ([`SeedState::touched`]),
//!   so seeding before each migration does not read the whole database
//!   again (which made a history O(n²)).

use super::server::{ident, literal};
use crate::replay::engine::TableData;
use mysql::prelude::Queryable;
use mysql::Conn;
use std::collections::{BTreeMap, BTreeSet};

/// Synthetic `AUTO_INCREMENT` ids are [`crate::replay::SYNTHETIC_IDS`] plus
/// multiples of this: the server numbers the rows a migration inserts after
/// them from the largest id plus one, and those ids must not be taken for
/// another table's synthetic id ([`delete_derived`]).
const ID_STRIDE: i64 = 1000;

struct Column {
    /// An `AUTO_INCREMENT` INT/BIGINT: synthetic rows take ids from
    /// [`crate::replay::SYNTHETIC_IDS`] on, [`ID_STRIDE`] apart.
    auto_id: bool,
    name: String,
    data_type: String,
    column_type: String,
    nullable: bool,
    has_default: bool,
    max_len: Option<u64>,
    skip: bool,
    /// Part of the primary key.
    pk: bool,
}

fn text(v: Option<&mysql::Value>) -> String {
    match v {
        Some(mysql::Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(mysql::Value::Int(i)) => i.to_string(),
        Some(mysql::Value::UInt(u)) => u.to_string(),
        _ => String::new(),
    }
}

/// A value of `col` for row number `n` (distinct per `n`).
fn value(col: &Column, n: i64) -> String {
    let t = col.data_type.to_ascii_lowercase();
    match t.as_str() {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => {
            let max = if t == "tinyint" { 127 } else { i64::MAX };
            (n % max).to_string()
        }
        "decimal" | "numeric" | "float" | "double" | "real" => n.to_string(),
        "bit" => "0".into(),
        "year" => (2000 + n % 100).to_string(),
        "date" => format!("'2000-01-{:02}'", 1 + n % 28),
        "datetime" | "timestamp" => format!("'2000-01-{:02} 00:00:00'", 1 + n % 28),
        "time" => format!("'00:00:{:02}'", n % 60),
        "json" => "'{}'".into(),
        "enum" => {
            // enum('a','b') → its first value.
            let inner = col
                .column_type
                .split_once('(')
                .map(|x| x.1)
                .unwrap_or_default();
            let first = inner
                .split("','")
                .next()
                .unwrap_or("")
                .trim_matches(['\'', ')']);
            literal(first)
        }
        "set" => "''".into(),
        "binary" | "varbinary" | "blob" | "tinyblob" | "mediumblob" | "longblob" => {
            literal(&format!("seed{n}"))
        }
        _ => {
            let s = format!("seed-{n}");
            let cut = col.max_len.map_or(s.len(), |m| (m as usize).min(s.len()));
            // Keep the distinct counter at the end when the length is short.
            let s = if cut < s.len() {
                let digits = n.to_string();
                if digits.len() <= cut {
                    digits
                } else {
                    s[..cut].to_string()
                }
            } else {
                s
            };
            literal(&s)
        }
    }
}

/// The base tables of a database with their columns and foreign keys, in
/// an order where parents come first.
#[derive(Default)]
pub(super) struct Tables {
    columns: BTreeMap<String, Vec<Column>>,
    refs: BTreeMap<(String, String), (String, String)>,
    pub order: Vec<String>,
}

/// What seeding and the write between runs made: a counter that keeps
/// values distinct across calls, and every synthetic row inserted (oldest
/// first), so [`unseed`] can find them again. Also what is known of the
/// scratch database's tables, kept between calls.
#[derive(Default)]
pub(super) struct SeedState {
    pub counter: i64,
    pub rows: Vec<SeededRow>,
    /// The tables, their columns and foreign keys (`None`: read them all).
    tables: Option<Tables>,
    /// Rows per table, as last counted or written.
    counts: BTreeMap<String, i64>,
    /// Names (as written) of tables to read again before the next use: a
    /// run touched them.
    dirty: BTreeSet<String>,
    /// The distinctive values synthetic rows got in their own columns (see
    /// [`remember_values`]): texts, and ids as integers.
    texts: BTreeSet<String>,
    ids: BTreeSet<i64>,
    /// Tables of the setup script and the migration tool's own table (lower
    /// case): never seeded nor written between runs, as on the other engines.
    pub setup_tables: BTreeSet<String>,
}

/// At most this many synthetic rows of a table are left out when the write
/// between runs picks the row it changes.
const MAX_EXCLUDED: usize = 256;

/// A synthetic row: its table (the name it went into, or the one a
/// statement twice ran renamed it to since: [`SeedState::renamed`]), then
/// columns with SQL literals: its
/// primary key when `keyed` (found by it whatever the migrations did to its
/// other columns), else every value given, as the write between runs
/// changed them.
pub(super) struct SeededRow {
    table: String,
    columns: Vec<(String, String)>,
    keyed: bool,
    /// Not a row inserted but values the write between runs changed in
    /// the row (column, value before, value written): [`unseed`] puts the
    /// values before back while the row still holds the ones written.
    undo: Vec<(String, String, String)>,
    /// The distinctive values it was given (see [`remember_values`]),
    /// remembered while the row is.
    remembered: Remembered,
}

/// Distinctive values of synthetic rows: texts, and ids as integers.
#[derive(Default)]
pub(super) struct Remembered {
    texts: Vec<String>,
    ids: Vec<i64>,
}

impl SeededRow {
    fn cond(&self) -> String {
        let cond: Vec<String> = self
            .columns
            .iter()
            .map(|(c, v)| format!("{c} <=> {v}"))
            .collect();
        cond.join(" AND ")
    }
}

impl SeedState {
    /// A run may have created, changed, dropped or written the tables named
    /// `names` (any case; names that are no table are ignored).
    pub fn touched<I: IntoIterator<Item = String>>(&mut self, names: I) {
        if self.tables.is_some() {
            self.dirty.extend(names);
        }
    }

    /// A kept run renamed table `from` (any case) to `to` (as the server
    /// spells it): the synthetic rows it holds are looked for under the new
    /// name from now on.
    pub fn renamed(&mut self, from: &str, to: &str) {
        for r in &mut self.rows {
            if r.table.eq_ignore_ascii_case(from) {
                r.table = to.to_string();
            }
        }
        self.touched([from.to_string(), to.to_string()]);
    }

    /// The names (lower case) of the tables known: a run that names one
    /// (in any case) may have dropped or renamed it. One set per kept run,
    /// not a pass over every table for each word it names.
    pub fn known_tables(&self) -> std::collections::HashSet<String> {
        self.tables
            .iter()
            .flat_map(|t| t.columns.keys())
            .map(|k| k.to_lowercase())
            .collect()
    }

    /// Anything may have changed: read every table again before the next
    /// use.
    pub fn forget(&mut self) {
        self.tables = None;
        self.counts.clear();
        self.dirty.clear();
    }
}

/// Seeds the base tables of `db` (the connection's current database):
/// every table with fewer than [`crate::replay::SEED_ROWS`] rows.
pub(super) fn seed(conn: &mut Conn, db: &str, state: &mut SeedState) -> Result<(), mysql::Error> {
    let tables = fresh_tables(conn, db, state)?;
    let want = crate::replay::SEED_ROWS;
    for t in &tables.order {
        if state.setup_tables.contains(&t.to_lowercase()) {
            continue;
        }
        let have = state.counts.get(t).copied().unwrap_or(0);
        if have < want {
            let added = insert_rows(conn, &tables, t, want - have, state);
            *state.counts.entry(t.clone()).or_default() += added;
        }
    }
    state.tables = Some(tables);
    Ok(())
}

/// The tables of `db` with their row counts in `state.counts`: all of them
/// read the first time (and after [`SeedState::forget`]), then only those
/// [`SeedState::touched`] named (and the tables whose foreign keys point at
/// them: a renamed parent renames the reference), in a few round trips.
fn fresh_tables(conn: &mut Conn, db: &str, state: &mut SeedState) -> Result<Tables, mysql::Error> {
    let Some(mut tables) = state.tables.take() else {
        let tables = read_tables(conn, db, None)?;
        state.counts = count_rows(conn, &tables.order)?;
        state.dirty.clear();
        return Ok(tables);
    };
    if state.dirty.is_empty() {
        return Ok(tables);
    }
    let mut dirty = std::mem::take(&mut state.dirty);
    for ((child, _), (parent, _)) in &tables.refs {
        if dirty.contains(&parent.to_lowercase()) {
            dirty.insert(child.clone());
        }
    }
    let dirty_names: BTreeSet<String> = dirty.iter().cloned().collect();
    let dirty: BTreeSet<String> = dirty.iter().map(|n| n.to_lowercase()).collect();
    let named: Vec<String> = dirty_names.into_iter().collect();
    tables
        .columns
        .retain(|t, _| !dirty.contains(&t.to_lowercase()));
    tables
        .refs
        .retain(|(t, _), _| !dirty.contains(&t.to_lowercase()));
    state
        .counts
        .retain(|t, _| !dirty.contains(&t.to_lowercase()));
    // Which of the names are base tables now, as the server spells them,
    // with their columns and keys (an equality on the name each: no other
    // table is looked at).
    for chunk in named.chunks(64) {
        let fresh = read_tables(conn, db, Some(chunk))?;
        tables.columns.extend(fresh.columns);
        tables.refs.extend(fresh.refs);
        state.counts.extend(count_rows(conn, &fresh.order)?);
    }
    tables.order = parents_first(&tables.columns, &tables.refs);
    Ok(tables)
}

/// Rows per table, 64 tables per round trip.
fn count_rows(conn: &mut Conn, tables: &[String]) -> Result<BTreeMap<String, i64>, mysql::Error> {
    let mut out = BTreeMap::new();
    for chunk in tables.chunks(64) {
        let sql = chunk
            .iter()
            .map(|t| format!("SELECT {}, COUNT(*) FROM {}", literal(t), ident(t)))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows: Vec<(String, i64)> = conn.query(sql)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The write between a migration's runs
/// ([`crate::replay::engine::Engine::interleave`]) on the tables of `db`
/// whose lower-case name is in `names`: new values in one existing row's
/// plain columns, then new rows. Returns each table written with its rows
/// before and after.
pub(super) fn interleave(
    conn: &mut Conn,
    db: &str,
    names: &BTreeSet<String>,
    state: &mut SeedState,
) -> Result<BTreeMap<String, (TableData, TableData)>, mysql::Error> {
    let tables = fresh_tables(conn, db, state)?;
    let result = interleave_tables(conn, &tables, names, state);
    state.tables = Some(tables);
    // What the tables written hold now is counted again before the next
    // use (all the names, after a failure).
    match &result {
        Ok(written) => state.touched(written.keys().cloned()),
        Err(_) => state.touched(names.iter().cloned()),
    }
    result
}

fn interleave_tables(
    conn: &mut Conn,
    tables: &Tables,
    names: &BTreeSet<String>,
    state: &mut SeedState,
) -> Result<BTreeMap<String, (TableData, TableData)>, mysql::Error> {
    let mut out = BTreeMap::new();
    for t in &tables.order {
        let lower = t.to_lowercase();
        if !names.contains(&lower) || state.setup_tables.contains(&lower) {
            continue;
        }
        let Some(cols) = tables.columns.get(t) else {
            continue;
        };
        let (def, before) = super::observe::table_def_and_data(conn, t)?;
        let existing = match &before {
            TableData::Rows { rows, .. } => rows.len() as i64,
            TableData::Summary { count, .. } => *count as i64,
        };
        if existing > 0 {
            state.counter += 1;
            let n = state.counter;
            let sets: Vec<(String, String)> = cols
                .iter()
                .filter(|c| {
                    !c.skip
                        && !def.primary_key.contains(&c.name)
                        && !tables.refs.contains_key(&(t.clone(), c.name.clone()))
                })
                .map(|c| (ident(&c.name), value(c, n)))
                .collect();
            if !sets.is_empty() {
                update_one_row(conn, t, cols, &sets, state);
            }
        }
        insert_rows(
            conn,
            tables,
            t,
            crate::replay::interleave_rows(existing),
            state,
        );
        let after = super::observe::table_data(conn, t, &def.primary_key)?;
        out.insert(t.clone(), (before, after));
    }
    Ok(out)
}

/// New values (`sets`: quoted column, literal) in one existing row of `t`,
/// skipped when the table refuses them. In a table without a primary key,
/// a synthetic row's record follows the row it changed, so [`unseed`]
/// still finds it by its values.
fn update_one_row(
    conn: &mut Conn,
    t: &str,
    cols: &[Column],
    sets: &[(String, String)],
    state: &mut SeedState,
) {
    let assign: Vec<String> = sets.iter().map(|(c, v)| format!("{c} = {v}")).collect();
    let assign = assign.join(", ");
    let pk: Vec<String> = cols
        .iter()
        .filter(|c| c.pk)
        .map(|c| ident(&c.name))
        .collect();
    if !pk.is_empty() {
        // Synthetic rows are found by their key, which this leaves; the
        // values it changes are recorded to be put back by `unseed`.
        let read: Vec<&String> = pk.iter().chain(sets.iter().map(|(c, _)| c)).collect();
        // A row the migrations wrote rather than a synthetic one, when
        // there is one (the last by the primary key): the write stands for
        // users changing the rows a
        // migration put there (a setting), which an upsert's second run
        // would overwrite. (Past a few hundred synthetic rows, any row.)
        let synthetic_rows: Vec<String> = state
            .rows
            .iter()
            .filter(|r| r.keyed && r.undo.is_empty() && r.table == t)
            .map(|r| format!("({})", r.cond()))
            .collect();
        let mut filters = Vec::new();
        if !synthetic_rows.is_empty() && synthetic_rows.len() <= MAX_EXCLUDED {
            filters.push(format!(" WHERE NOT ({})", synthetic_rows.join(" OR ")));
        }
        filters.push(String::new());
        // The last by the primary key (an auto-increment key's newest row:
        // the one the migration's first run just wrote, more often than
        // not).
        let newest: String = pk
            .iter()
            .map(|c| format!("{c} DESC"))
            .collect::<Vec<_>>()
            .join(", ");
        let select = |filter: &str| {
            format!(
                "SELECT {} FROM {}{filter} ORDER BY {} LIMIT 1",
                read.iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                ident(t),
                newest
            )
        };
        let row: Option<mysql::Row> = filters
            .iter()
            .find_map(|f| conn.query_first(select(f)).unwrap_or(None));
        let Some(row) = row else {
            return;
        };
        let lit = |i: usize| row.as_ref(i).map(|v| v.as_sql(false));
        let Some(key) = pk
            .iter()
            .enumerate()
            .map(|(i, c)| Some((c.clone(), lit(i)?)))
            .collect::<Option<Vec<_>>>()
        else {
            return;
        };
        let cond: Vec<String> = key.iter().map(|(c, v)| format!("{c} <=> {v}")).collect();
        let sql = format!(
            "UPDATE {} SET {assign} WHERE {} LIMIT 1",
            ident(t),
            cond.join(" AND ")
        );
        if conn.query_drop(sql).is_err() || conn.affected_rows() != 1 {
            return;
        }
        let remembered = remember_values(state, cols, sets);
        let undo = sets
            .iter()
            .enumerate()
            .filter_map(|(i, (c, v))| Some((c.clone(), lit(pk.len() + i)?, v.clone())))
            .collect();
        state.rows.push(SeededRow {
            table: t.to_string(),
            columns: key,
            keyed: true,
            undo,
            remembered,
        });
        return;
    }
    // The row to change, by all its values.
    let names: Vec<String> = cols.iter().map(|c| ident(&c.name)).collect();
    let row: Option<mysql::Row> = conn
        .query_first(format!(
            "SELECT {} FROM {} LIMIT 1",
            names.join(", "),
            ident(t)
        ))
        .unwrap_or(None);
    let Some(row) = row else {
        return;
    };
    let this: Vec<String> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| Some(format!("{n} <=> {}", row.as_ref(i)?.as_sql(false))))
        .collect();
    let this = this.join(" AND ");
    // The newest synthetic record that is this row.
    let mut record = None;
    for (i, r) in state.rows.iter().enumerate().rev() {
        if r.keyed || !r.undo.is_empty() || r.table != t {
            continue;
        }
        let same: Option<i64> = conn
            .query_first(format!(
                "SELECT COUNT(*) FROM {} WHERE {this} AND {}",
                ident(t),
                r.cond()
            ))
            .unwrap_or(None);
        if same.unwrap_or(0) > 0 {
            record = Some(i);
            break;
        }
    }
    let sql = format!("UPDATE {} SET {assign} WHERE {this} LIMIT 1", ident(t));
    if conn.query_drop(sql).is_err() || conn.affected_rows() != 1 {
        return;
    }
    remember_values(state, cols, sets);
    if let Some(r) = record.and_then(|i| state.rows.get_mut(i)) {
        for (c, v) in sets {
            match r.columns.iter_mut().find(|(rc, _)| rc == c) {
                Some((_, old)) => *old = v.clone(),
                None => r.columns.push((c.clone(), v.clone())),
            }
        }
    }
}

/// Deletes the synthetic rows [`seed`] and [`interleave`] inserted
/// ([`crate::replay::engine::Engine::unseed`]), newest first, one row per
/// delete, found by their primary key whatever the migrations did to their
/// other columns (in a table without one: by their values). A row the
/// server will not delete (a foreign key points at it) stays. Returns
/// whether any was deleted.
pub(super) fn unseed(conn: &mut Conn, state: &mut SeedState) -> bool {
    withdraw(conn, state, false)
}

/// Puts back the values the write between runs changed in rows that are
/// not synthetic (see [`crate::replay::engine::Engine::put_back`]).
/// Returns whether it wrote anything.
pub(super) fn put_back(conn: &mut Conn, state: &mut SeedState) -> bool {
    withdraw(conn, state, true)
}

/// [`unseed`], or with `others_only` [`put_back`]: only the records of
/// values changed in rows no synthetic record names (same table, same key).
fn withdraw(conn: &mut Conn, state: &mut SeedState, others_only: bool) -> bool {
    let all = std::mem::take(&mut state.rows);
    if others_only && all.iter().all(|r| r.undo.is_empty()) {
        state.rows = all;
        return false;
    }
    let (rows, kept) = if others_only {
        // The synthetic rows by table and key, in one pass (the records
        // grow with the history): only those of the tables a record of
        // changed values is in, the only ones asked about.
        let undone: std::collections::HashSet<&str> = all
            .iter()
            .filter(|r| !r.undo.is_empty())
            .map(|r| r.table.as_str())
            .collect();
        let synthetic: std::collections::HashSet<(&str, &Vec<(String, String)>)> = all
            .iter()
            .filter(|s| s.undo.is_empty() && s.keyed && undone.contains(s.table.as_str()))
            .map(|s| (s.table.as_str(), &s.columns))
            .collect();
        let other: Vec<bool> = all
            .iter()
            .map(|r| !r.undo.is_empty() && !synthetic.contains(&(r.table.as_str(), &r.columns)))
            .collect();
        crate::replay::split_flagged(all, other)
    } else {
        (all, Vec::new())
    };
    state.touched(rows.iter().map(|r| r.table.clone()));
    let mut deleted = false;
    let mut left = Vec::new();
    for row in rows.into_iter().rev() {
        if row.columns.is_empty() {
            continue;
        }
        let sql = if row.undo.is_empty() {
            format!(
                "DELETE FROM {} WHERE {} LIMIT 1",
                ident(&row.table),
                row.cond()
            )
        } else {
            let set: Vec<String> = row
                .undo
                .iter()
                .map(|(c, b, _)| format!("{c} = {b}"))
                .collect();
            let now: Vec<String> = row
                .undo
                .iter()
                .map(|(c, _, a)| format!("{c} <=> {a}"))
                .collect();
            format!(
                "UPDATE {} SET {} WHERE {} AND {} LIMIT 1",
                ident(&row.table),
                set.join(", "),
                row.cond(),
                now.join(" AND ")
            )
        };
        // A delete the server refuses leaves the row, looked for again next
        // time (a migration may delete what refers to it, or bring its
        // table back). A row not there (a migration deleted it, or changed
        // its key: a copy of it is found by its values, [`delete_derived`])
        // is forgotten: looking for it at every withdrawal grew with the
        // history.
        match conn.query_drop(sql) {
            Ok(()) => deleted |= conn.affected_rows() == 1,
            Err(_) if row.undo.is_empty() => left.push(row),
            Err(_) => {}
        }
    }
    left.reverse();
    state.rows = if others_only { kept } else { left };
    deleted
}

/// Remembers the distinctive values among `values` (quoted column, SQL
/// literal) written to a synthetic row of a table with columns `cols`, by
/// the rule of every engine ([`crate::replay::distinctive_text`] for text
/// columns, [`crate::replay::distinctive_integer`] for `INT`/`BIGINT`
/// ones; dates, times, enums and the like are too common to tell), to tell
/// the rows migrations derive from synthetic rows ([`delete_derived`]).
fn remember_values(
    state: &mut SeedState,
    cols: &[Column],
    values: &[(String, String)],
) -> Remembered {
    let mut own = Remembered::default();
    for (name, v) in values {
        let Some(col) = cols.iter().find(|c| ident(&c.name) == *name) else {
            continue;
        };
        match col.data_type.to_ascii_lowercase().as_str() {
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => {
                let Some(text) = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
                    continue;
                };
                let text = text.replace("''", "'").replace("\\\\", "\\");
                if crate::replay::distinctive_text(&text) {
                    state.texts.insert(text.clone());
                    own.texts.push(text);
                }
            }
            "int" | "integer" | "bigint" => {
                let id = v.parse().ok();
                if let Some(i) = id.filter(|&i| crate::replay::distinctive_integer(i)) {
                    state.ids.insert(i);
                    own.ids.push(i);
                }
            }
            _ => {}
        }
    }
    own
}

/// Deletes the rows migrations derived from synthetic rows (copied by an
/// `INSERT ... SELECT`, an `UPDATE ... JOIN`, a `CREATE TABLE ... SELECT`):
/// rows of the base tables of `db` that hold, in a text column, one of the
/// remembered distinctive values (texts, and ids as text), or in an
/// integer column one of the ids; without seeding they would not be there.
/// The same meaning as on the other engines (`delete_derived` in
/// `replay::sqlite::seed` and `replay::postgres::seed`). A table the server
/// refuses to delete from (a row still referred to) is tried again after
/// the others, as long as rows go. Returns how many rows went; when every
/// table's delete ran, only the values of the synthetic rows still there
/// stay remembered (the others are no one's any more: each withdrawal's
/// work stays with the rows seeded since).
pub(super) fn delete_derived(
    conn: &mut Conn,
    db: &str,
    state: &mut SeedState,
) -> Result<u64, mysql::Error> {
    if state.texts.is_empty() && state.ids.is_empty() {
        return Ok(0);
    }
    let columns: Vec<(String, String, String)> = conn.query(format!(
        "SELECT c.TABLE_NAME, c.COLUMN_NAME, LOWER(c.DATA_TYPE) \
         FROM information_schema.COLUMNS c JOIN information_schema.TABLES t \
           ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME \
         WHERE c.TABLE_SCHEMA = {} AND t.TABLE_TYPE = 'BASE TABLE' \
           AND c.DATA_TYPE IN ('char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', \
             'int', 'bigint') \
         ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
        literal(db)
    ))?;
    let texts: Vec<String> = state
        .texts
        .iter()
        .map(|t| literal(t))
        .chain(state.ids.iter().map(|i| literal(&i.to_string())))
        .collect();
    let ids: Vec<String> = state.ids.iter().map(i64::to_string).collect();
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column, ty) in columns {
        let list = if ty == "int" || ty == "bigint" {
            &ids
        } else {
            &texts
        };
        if !list.is_empty() {
            tables.entry(table).or_default().push(format!(
                "{} IN ({})",
                ident(&column),
                list.join(", ")
            ));
        }
    }
    let mut deleted = 0;
    let mut todo: Vec<(String, Vec<String>)> = tables.into_iter().collect();
    loop {
        let mut refused = Vec::new();
        let mut progress = false;
        for (table, cond) in todo {
            let sql = format!("DELETE FROM {} WHERE {}", ident(&table), cond.join(" OR "));
            match conn.query_drop(sql) {
                Ok(()) => {
                    let n = conn.affected_rows();
                    deleted += n;
                    progress |= n > 0;
                }
                Err(_) => refused.push((table, cond)),
            }
        }
        if refused.is_empty() {
            state.texts = state
                .rows
                .iter()
                .flat_map(|r| r.remembered.texts.iter().cloned())
                .collect();
            state.ids = state
                .rows
                .iter()
                .flat_map(|r| r.remembered.ids.iter().copied())
                .collect();
            break;
        }
        if !progress {
            break;
        }
        todo = refused;
    }
    Ok(deleted)
}

/// The base tables of `db` (`only`: those of these names that are base
/// tables, names as the server spells them), their columns and foreign
/// keys. One round trip.
fn read_tables(conn: &mut Conn, db: &str, only: Option<&[String]>) -> Result<Tables, mysql::Error> {
    let d = literal(db);
    // For named tables, one SELECT per name joined by UNION ALL: an
    // equality on TABLE_NAME makes the server open only that table (an
    // `IN` list opens every table of the database). Which of them are base
    // tables comes first in the same round trip; the columns and keys of
    // the others are left out here.
    let per_table = |sql: &str| -> String {
        match only {
            None => sql.to_string(),
            Some(names) => names
                .iter()
                .map(|n| format!("{sql} AND TABLE_NAME = {}", literal(n)))
                .collect::<Vec<_>>()
                .join(" UNION ALL "),
        }
    };
    let base = match only {
        None => format!(
            " AND TABLE_NAME IN (SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = {d} AND TABLE_TYPE = 'BASE TABLE')"
        ),
        Some(_) => String::new(),
    };
    let mut sql = Vec::new();
    if only.is_some() {
        sql.push(per_table(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {d} \
             AND TABLE_TYPE = 'BASE TABLE'"
        )));
    }
    sql.push(format!(
        "{} ORDER BY 1, 10",
        per_table(&format!(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, \
             COLUMN_DEFAULT IS NOT NULL, CHARACTER_MAXIMUM_LENGTH, EXTRA, COLUMN_KEY, \
             ORDINAL_POSITION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {d}{base}"
        ))
    ));
    sql.push(per_table(&format!(
        "SELECT TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME \
         FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = {d} \
         AND REFERENCED_TABLE_SCHEMA = {d} AND REFERENCED_TABLE_NAME IS NOT NULL"
    )));
    let mut sets: Vec<Vec<mysql::Row>> = Vec::new();
    {
        let mut result = conn.query_iter(sql.join(";\n"))?;
        while let Some(set) = result.iter() {
            sets.push(set.collect::<Result<Vec<_>, _>>()?);
        }
    }
    let fks = sets.pop().unwrap_or_default();
    let rows = sets.pop().unwrap_or_default();
    let is_base: Option<BTreeSet<String>> = sets
        .pop()
        .map(|found| found.iter().map(|r| text(r.as_ref(0))).collect());
    let keep = |t: &str| is_base.as_ref().is_none_or(|b| b.contains(t));
    let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for r in rows.into_iter().filter(|r| keep(&text(r.as_ref(0)))) {
        let extra = text(r.as_ref(7)).to_ascii_lowercase();
        let has_default = text(r.as_ref(5)) == "1";
        let nullable = text(r.as_ref(4)) == "YES";
        let integer = matches!(
            text(r.as_ref(2)).to_ascii_lowercase().as_str(),
            "int" | "integer" | "bigint"
        );
        let cols = tables.entry(text(r.as_ref(0))).or_default();
        // A table asked for under two spellings (a server that ignores
        // case) comes twice.
        if cols.iter().any(|c| c.name == text(r.as_ref(1))) {
            continue;
        }
        cols.push(Column {
            auto_id: extra.contains("auto_increment") && integer,
            name: text(r.as_ref(1)),
            data_type: text(r.as_ref(2)),
            column_type: text(r.as_ref(3)),
            nullable,
            has_default,
            max_len: text(r.as_ref(6)).parse().ok(),
            skip: extra.contains("auto_increment")
                || extra.contains("generated")
                || extra.contains("virtual")
                || extra.contains("persistent")
                || extra.contains("stored"),
            pk: text(r.as_ref(8)) == "PRI",
        });
    }
    // (child table, column) → (parent table, parent column)
    let mut refs: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for r in fks.into_iter().filter(|r| keep(&text(r.as_ref(0)))) {
        let (t, c, pt, pc) = (
            text(r.as_ref(0)),
            text(r.as_ref(1)),
            text(r.as_ref(2)),
            text(r.as_ref(3)),
        );
        refs.insert((t, c), (pt, pc));
    }
    let order = parents_first(&tables, &refs);
    Ok(Tables {
        columns: tables,
        refs,
        order,
    })
}

/// The tables in an order where parents come first.
fn parents_first(
    tables: &BTreeMap<String, Vec<Column>>,
    refs: &BTreeMap<(String, String), (String, String)>,
) -> Vec<String> {
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for ((t, _), (pt, _)) in refs {
        if pt != t {
            parents.entry(t.clone()).or_default().insert(pt.clone());
        }
    }
    let mut order: Vec<String> = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    fn visit(
        t: &str,
        parents: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        order: &mut Vec<String>,
        depth: usize,
    ) {
        if done.contains(t) || depth > 64 {
            return;
        }
        done.insert(t.to_string());
        for p in parents.get(t).into_iter().flatten() {
            visit(p, parents, done, order, depth + 1);
        }
        order.push(t.to_string());
    }
    for t in tables.keys() {
        visit(t, &parents, &mut done, &mut order, 0);
    }
    // A parent that is not a base table (gone, or outside the scope read)
    // is no table to seed.
    order.retain(|t| tables.contains_key(t));
    order
}

/// Inserts `count` synthetic rows into `t`; rows the table refuses are
/// skipped. Returns how many it took.
fn insert_rows(
    conn: &mut Conn,
    tables: &Tables,
    t: &str,
    count: i64,
    state: &mut SeedState,
) -> i64 {
    let Some(cols) = tables.columns.get(t) else {
        return 0;
    };
    let mut added = 0;
    let refs = &tables.refs;
    let t = t.to_string();
    // Each parent's key, read once (the rows go in one round trip): unless
    // the table references itself, where each row may be the next one's
    // parent.
    let self_ref = cols.iter().any(|c| {
        refs.get(&(t.clone(), c.name.clone()))
            .is_some_and(|(pt, _)| *pt == t)
    });
    let mut parents: BTreeMap<(String, String), Option<mysql::Value>> = BTreeMap::new();
    let mut parent = |conn: &mut Conn, pt: &str, pc: &str| -> Option<mysql::Value> {
        let read = |conn: &mut Conn| {
            conn.query_first(format!(
                "SELECT {} FROM {} WHERE {} IS NOT NULL LIMIT 1",
                ident(pc),
                ident(pt),
                ident(pc)
            ))
            .unwrap_or(None)
        };
        if self_ref {
            return read(conn);
        }
        parents
            .entry((pt.to_string(), pc.to_string()))
            .or_insert_with(|| read(conn))
            .clone()
    };
    let mut rows: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for _ in 0..count {
        state.counter += 1;
        let n = state.counter;
        let mut names = Vec::new();
        let mut values = Vec::new();
        for c in cols.iter().filter(|c| c.auto_id) {
            // Far from the ids migrations insert by hand.
            names.push(ident(&c.name));
            values.push((crate::replay::SYNTHETIC_IDS + n * ID_STRIDE).to_string());
        }
        for c in cols.iter().filter(|c| !c.skip) {
            if let Some((pt, pc)) = refs.get(&(t.clone(), c.name.clone())) {
                match parent(conn, pt, pc) {
                    Some(v) => {
                        names.push(ident(&c.name));
                        values.push(v.as_sql(false));
                    }
                    None if c.nullable => {}
                    None => {
                        names.push(ident(&c.name));
                        values.push(value(c, n));
                    }
                }
                continue;
            }
            if c.nullable && c.has_default {
                continue;
            }
            names.push(ident(&c.name));
            values.push(value(c, n));
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            ident(&t),
            names.join(", "),
            values.join(", ")
        );
        rows.push((sql, names.into_iter().zip(values).collect()));
        if self_ref {
            // The next row's parent may be this one: one at a time.
            let (sql, given) = rows.pop().unwrap_or_default();
            if conn.query_drop(sql).is_ok() {
                added += 1;
                remember(state, &t, cols, refs, given);
            }
        }
    }
    // The rows in as few round trips as the table allows: the server stops
    // a batch at a row the table refuses, which is skipped, and the rest
    // go in the next batch.
    let mut from = 0;
    while from < rows.len() {
        let stmts: Vec<&str> = rows[from..].iter().map(|(sql, _)| sql.as_str()).collect();
        let (ran, failed) = batch(conn, &stmts);
        for (_, given) in &rows[from..from + ran] {
            added += 1;
            remember(state, &t, cols, refs, given.clone());
        }
        from += ran + usize::from(failed);
        if !failed {
            break;
        }
    }
    added
}

/// Records a synthetic row the table took (`given`: quoted column,
/// literal), for [`unseed`]: by its primary key when all of it was given,
/// else by every value given.
fn remember(
    state: &mut SeedState,
    t: &str,
    cols: &[Column],
    refs: &BTreeMap<(String, String), (String, String)>,
    given: Vec<(String, String)>,
) {
    // Values taken from a parent row are not the row's own.
    let own: Vec<(String, String)> = given
        .iter()
        .filter(|(n, _)| {
            !cols.iter().any(|c| {
                ident(&c.name) == *n && refs.contains_key(&(t.to_string(), c.name.clone()))
            })
        })
        .cloned()
        .collect();
    let remembered = remember_values(state, cols, &own);
    let key: Option<Vec<(String, String)>> = cols
        .iter()
        .filter(|c| c.pk)
        .map(|c| {
            let q = ident(&c.name);
            given.iter().find(|(n, _)| *n == q).cloned()
        })
        .collect();
    let (columns, keyed) = match key {
        Some(k) if !k.is_empty() => (k, true),
        _ => (given, false),
    };
    state.rows.push(SeededRow {
        table: t.to_string(),
        columns,
        keyed,
        undo: Vec::new(),
        remembered,
    });
}

/// Runs `stmts` in one round trip (a multi-statement query). The server
/// runs them in order and stops at the first that fails: returns how many
/// ran, and whether one failed after them.
fn batch(conn: &mut Conn, stmts: &[&str]) -> (usize, bool) {
    if stmts.is_empty() {
        return (0, false);
    }
    let mut result = match conn.query_iter(stmts.join(";\n")) {
        Ok(r) => r,
        Err(_) => return (0, true),
    };
    let mut ran = 0;
    while let Some(mut set) = result.iter() {
        if set.any(|row| row.is_err()) {
            return (ran, true);
        }
        ran += 1;
    }
    (ran, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinctive_values_are_remembered_from_their_literals() {
        let col = |name: &str, data_type: &str| Column {
            auto_id: false,
            name: name.into(),
            data_type: data_type.into(),
            column_type: data_type.into(),
            nullable: false,
            has_default: false,
            max_len: None,
            skip: false,
            pk: false,
        };
        let cols = [
            col("a", "varchar"),
            col("b", "text"),
            col("c", "char"),
            col("d", "varchar"),
            col("e", "bigint"),
            col("f", "int"),
            col("g", "date"),
            col("h", "enum"),
        ];
        let mut state = SeedState::default();
        let given = |c: &str, v: &str| (ident(c), v.to_string());
        remember_values(
            &mut state,
            &cols,
            &[
                given("a", "'seed-12'"),
                given("b", "'ab1'"),
                given("c", "'it''s 12'"),
                given("d", r"'a\\b 7'"),
                given("e", "1000003000"),
                given("f", "12"),
                given("g", "'2000-01-02'"),
                given("h", "'v2000'"),
                given("zz", "'seed-13'"),
            ],
        );
        let texts: Vec<&str> = state.texts.iter().map(String::as_str).collect();
        assert_eq!(texts, [r"a\b 7", "it's 12", "seed-12"]);
        assert_eq!(
            state.ids.iter().copied().collect::<Vec<_>>(),
            [1_000_003_000]
        );
    }
}
