//! `--seed` on PostgreSQL: before each migration's first run, every user
//! table with fewer than [`ROWS`] rows gets synthetic rows that satisfy its
//! declared types and constraints, so copies and backfills that do nothing
//! on empty tables show what they do. Same meaning as the SQLite engine's
//! seeding (`replay::sqlite::seed`).
//!
//! - Types come from the catalogs (`pg_attribute`, `pg_type`; domains are
//!   followed to their base type): numbers, short strings within the
//!   declared length, booleans, dates and times, uuids, `'{}'` for JSON and
//!   arrays, an enum's labels, ... Values are distinct per row (a counter),
//!   so `UNIQUE` and primary keys hold.
//! - Columns with a default (serial and identity columns included) are left
//!   to it; generated columns are skipped.
//! - Foreign keys take their values from existing parent rows; parents are
//!   seeded first.
//! - Each insert runs under a savepoint. A row that fails (a `CHECK`, a
//!   trigger, a type twice does not know) is retried: with only the
//!   required columns, with the literals the table's and domains' `CHECK`
//!   constraints mention, with the columns that have a plain default; a
//!   table that accepts none of them is left as it is.
//!
//! The rows are committed. Only tables created, altered, truncated or
//! deleted from since the last seeding are looked at again: the kept first
//! run tells which (catalog row versions and `pg_stat_get_xact_tuples_deleted`,
//! read just before its commit; see [`dirty_tables_sql`]).

mod catalog;
mod derived;
mod values;

use super::snapshot::{self, literal, run_batch, LOCKED, SYSTEM_SCHEMAS};
use super::{tool_error, Runner};
use crate::dialect::Dialect;
use crate::error::Result;
use crate::lexer::{Lexer, TokenKind};
pub use catalog::dirty_tables_sql;
use catalog::*;
use postgres::SimpleQueryMessage;
use std::collections::{BTreeMap, BTreeSet};
use values::synthetic;

/// Rows each table gets (the SQLite engine's number).
pub const ROWS: i64 = crate::replay::SEED_ROWS;

/// Insert attempts per row.
const ATTEMPTS: usize = 6;

/// A column's type, after following domains.
#[derive(Clone, Debug, Default)]
struct TypeInfo {
    name: String,
    schema: String,
    category: char,
    typtype: char,
    base: u32,
    typmod: i32,
    notnull: bool,
    has_default: bool,
    enum_labels: Vec<String>,
}

#[derive(Debug)]
struct Column {
    name: String,
    quoted: String,
    /// Base type name (`int4`, `varchar`, ...) when it is a built-in.
    ty: String,
    category: char,
    typtype: char,
    typmod: i32,
    enum_labels: Vec<String>,
    notnull: bool,
    /// A default (its own or its domain's) that is not a sequence.
    plain_default: bool,
    /// Left out of every insert: identity, serial, generated.
    skip: bool,
    /// An integer serial or identity column: given an id far from the ones
    /// migrations insert by hand on the first attempts (see
    /// [`crate::replay::SYNTHETIC_IDS`]).
    numbered: bool,
    /// Part of the primary key or of a unique index: how the migration's
    /// own statements find the row; the interleaved update leaves it.
    key: bool,
    /// Literals of the `CHECK` constraints that mention the column.
    literals: Vec<String>,
    /// Its number in the table (kept when it is renamed).
    attnum: i16,
    /// Its place in the key synthetic rows are found by again (the primary
    /// key, else the first plain unique index), from 1; 0: not in it.
    ident: i32,
}

impl Column {
    fn required(&self) -> bool {
        self.notnull && !self.plain_default
    }
}

#[derive(Debug)]
struct ForeignKey {
    from: Vec<String>,
    /// `schema.name` of the parent, as stored.
    parent: String,
    parent_quoted: String,
    /// Referenced columns, quoted.
    to: Vec<String>,
}

#[derive(Debug)]
struct Table {
    /// `schema.name`, as stored.
    name: String,
    quoted: String,
    columns: Vec<Column>,
    fks: Vec<ForeignKey>,
}

impl Table {
    /// The columns synthetic rows are found by again, in key order (empty:
    /// no primary key or plain unique index).
    fn ident(&self) -> Vec<&Column> {
        let mut cols: Vec<&Column> = self.columns.iter().filter(|c| c.ident > 0).collect();
        cols.sort_by_key(|c| c.ident);
        cols
    }
}

/// At most this many synthetic rows of a table are left out when the write
/// between runs picks the row it changes.
const MAX_EXCLUDED: usize = 256;

/// A column of a [`SeededRow`]: its number, quoted name and value as text.
type RecordedColumn = (i16, String, Option<String>);

/// A synthetic row [`Runner::seed`] or [`Runner::interleave`] inserted, as
/// [`Runner::unseed`] finds it again whatever happened to it since.
#[derive(Debug)]
pub(super) struct SeededRow {
    /// The table's oid (kept when it is renamed) and its quoted name when
    /// the row went in (for a table re-created under that name since).
    oid: u32,
    table: String,
    /// Column number (kept when it is renamed), quoted name, value as text:
    /// the row's key (primary key, else a plain unique index) when `keyed`,
    /// else every value given (as the write between runs changed them).
    columns: Vec<(i16, String, Option<String>)>,
    keyed: bool,
    /// Not a row inserted but a value the write between runs changed in
    /// the row: `unseed` puts the value before back (while the row still
    /// holds the one written).
    undo: Option<Undo>,
    /// The distinctive values the row was given (see
    /// [`Runner::remember_values`]), remembered while the row is.
    values: Vec<String>,
}

impl SeededRow {
    /// The row's recorded columns as a condition that finds it
    /// (`c::text IS NOT DISTINCT FROM 'v' AND ...`).
    fn cond(&self) -> String {
        self.columns
            .iter()
            .map(|(_, c, v)| {
                let v = v.as_deref().map_or("NULL".into(), literal);
                format!("{c}::text IS NOT DISTINCT FROM {v}")
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

/// A value the write between runs changed, to put back.
#[derive(Debug)]
pub(super) struct Undo {
    attnum: i16,
    column: String,
    before: Option<String>,
    after: Option<String>,
}

impl Runner<'_> {
    /// Seeds the tables that may have fewer than [`ROWS`] rows, in a
    /// transaction of its own that is committed.
    pub(super) fn seed(&mut self) -> Result<()> {
        let candidates = match self.seed_dirty.take() {
            Some(set) if set.is_empty() => {
                self.seed_dirty = Some(set);
                // Nothing to seed: the records still follow renames.
                return self.follow_renames();
            }
            other => other,
        };
        self.seed_dirty = Some(BTreeSet::new());
        let selection = match candidates {
            Some(names) => Selection::named(&names),
            None => {
                let mut filter = table_filter();
                if !self.setup_tables.is_empty() {
                    // The set-up's tables are never seeded.
                    let list: Vec<String> = self.setup_tables.iter().map(|n| literal(n)).collect();
                    filter.push_str(&format!(
                        " AND lower(c.relname) NOT IN ({})",
                        list.join(", ")
                    ));
                }
                Selection::Filter(filter)
            }
        };
        let (since, order) = self.start_write(&selection)?;
        for t in &order {
            self.seed_table(t)?;
        }
        self.commit_kept(since, true)
    }

    /// Deletes the synthetic rows [`Runner::seed`] and
    /// [`Runner::interleave`] inserted (see
    /// [`crate::replay::engine::Engine::unseed`]), newest first, each under
    /// a savepoint: found by their key whatever the migrations did to their
    /// other columns (a row of a table without a key: by its values), in
    /// the table of their oid under its current name and column names
    /// (renamed), else in the table of the name they went into (re-created
    /// by a copy). A row the server will not delete stays. Returns whether
    /// any was deleted.
    pub(super) fn unseed(&mut self) -> Result<bool> {
        self.withdraw(false)
    }

    /// Puts back the values the write between runs changed in rows that
    /// are not synthetic (see [`crate::replay::engine::Engine::put_back`]).
    pub(super) fn put_back(&mut self) -> Result<()> {
        self.withdraw(true).map(|_| ())
    }

    /// [`Runner::unseed`], or with `others_only` [`Runner::put_back`]: only
    /// the records of values changed in rows no synthetic record names
    /// (same table, same key), and nothing derived.
    fn withdraw(&mut self, others_only: bool) -> Result<bool> {
        let all = std::mem::take(&mut self.seeded);
        let (mut rows, kept) = if others_only {
            // The keys of synthetic rows, looked up by hash: the records
            // grow with the history, and this runs after every migration.
            let synthetic: std::collections::HashSet<(&str, &[RecordedColumn])> = all
                .iter()
                .filter(|s| s.undo.is_none() && s.keyed)
                .map(|s| (s.table.as_str(), s.columns.as_slice()))
                .collect();
            let other: Vec<bool> = all
                .iter()
                .map(|r| {
                    r.undo.is_some()
                        && !synthetic.contains(&(r.table.as_str(), r.columns.as_slice()))
                })
                .collect();
            let mut rows = Vec::new();
            let mut kept = Vec::new();
            // The records kept stay in order: those that were up to date
            // (the first `followed`) still are.
            let followed = self.followed;
            self.followed = followed.map(|_| 0);
            for (i, (r, other)) in all.into_iter().zip(other).enumerate() {
                if other {
                    rows.push(r);
                } else {
                    if followed.is_some_and(|k| i < k) {
                        self.followed = self.followed.map(|k| k + 1);
                    }
                    kept.push(r);
                }
            }
            (rows, kept)
        } else {
            (all, Vec::new())
        };
        if rows.is_empty() {
            self.seeded = kept;
            return Ok(false);
        }
        let since = self.begin_immediate()?;
        let all = vec![true; rows.len()];
        if let Err(e) = self.follow_renames_in(&mut rows, &all) {
            let _ = self.client.batch_execute("ROLLBACK");
            return Err(e);
        }
        let mut deleted = false;
        let mut left = Vec::new();
        for row in rows.into_iter().rev() {
            let table = &row.table;
            let cond = row.cond();
            let sql = match &row.undo {
                None => format!(
                    "DELETE FROM {table} WHERE (tableoid, ctid) = \
                     (SELECT tableoid, ctid FROM {table} WHERE {} LIMIT 1)",
                    cond
                ),
                Some(u) => {
                    let text = |v: &Option<String>| v.as_deref().map_or("NULL".into(), literal);
                    format!(
                        "UPDATE {table} SET {c} = {before} WHERE (tableoid, ctid) = \
                         (SELECT tableoid, ctid FROM {table} WHERE {} \
                            AND {c}::text IS NOT DISTINCT FROM {after} LIMIT 1)",
                        cond,
                        c = u.column,
                        before = text(&u.before),
                        after = text(&u.after),
                    )
                }
            };
            // Deleted; or not there (a migration deleted it, or changed its
            // key: a copy of it is found by its values below), and
            // forgotten; or refused now (a row still refers to it, or its
            // table is not there) and looked for again next time (a
            // migration may delete what refers to it). Rows not there were
            // looked for at every withdrawal before, which grew with the
            // history (openmeter: 882 such rows by the 224th).
            let (done, refused) = match self.seed_try(&sql)? {
                Tried::Done(m) => (
                    m.iter()
                        .any(|m| matches!(m, SimpleQueryMessage::CommandComplete(1))),
                    false,
                ),
                Tried::Refused | Tried::TimedOut => (false, true),
            };
            deleted |= done;
            if refused && row.undo.is_none() {
                left.push(row);
            }
        }
        left.reverse();
        if others_only {
            self.commit_kept(since, true)?;
            self.seeded = kept;
            return Ok(deleted);
        }
        let (derived, complete) = self.delete_derived()?;
        deleted |= derived > 0;
        // Every row derived from a synthetic row gone: only the values of
        // the synthetic rows still there are remembered. The others are
        // no one's any more, and forgetting them keeps each withdrawal's
        // work to the rows seeded since (openmeter withdraws before most
        // migrations: 78,000 values were remembered by the 224th, each
        // withdrawal slower than the last). Otherwise they all stay, to
        // find the rows still there next time.
        if complete {
            self.synthetic_values = left.iter().flat_map(|r| r.values.iter().cloned()).collect();
        }
        self.commit_kept(since, true)?;
        self.seeded = left;
        // Fewer records: all are looked at next time.
        self.followed = None;
        // The tables are as before the seeding: the next one looks at all.
        self.seed_dirty = None;
        Ok(deleted)
    }

    /// Brings the records of synthetic rows up to date with renames: a
    /// table found by its oid takes its current name and its columns theirs
    /// (by number); a table whose oid is gone is looked for by the name it
    /// had (re-created under it by a copy), and takes that table's oid.
    /// Called before each seeding and write between runs, so a table
    /// renamed and later rebuilt is still followed.
    ///
    /// Records already brought up to date are left when no migration ran
    /// since (twice's own writes change rows, not the catalog): only the
    /// rows recorded since are looked at.
    pub(super) fn follow_renames(&mut self) -> Result<()> {
        let mut rows = std::mem::take(&mut self.seeded);
        let selected = self.to_follow(&rows);
        let r = self.follow_renames_in(&mut rows, &selected);
        if let Ok(unresolved) = &r {
            self.all_followed(rows.len(), unresolved.clone());
        }
        self.seeded = rows;
        r.map(|_| ())
    }

    /// Which records [`Runner::follow_renames`] looks at: all when the
    /// catalog may have changed anywhere, else those recorded since the
    /// last time, those of tables whose catalog rows a migration changed
    /// since, and those whose table was not found.
    fn to_follow(&self, rows: &[SeededRow]) -> Vec<bool> {
        let from = self.followed.unwrap_or(0).min(rows.len());
        rows.iter()
            .enumerate()
            .map(|(i, r)| {
                i >= from || self.refollow.contains(&r.oid) || self.unresolved.contains(&r.oid)
            })
            .collect()
    }

    /// Brings the `selected` records of `rows` up to date. Returns the oids
    /// of those whose table was not found.
    fn follow_renames_in(
        &mut self,
        rows: &mut [SeededRow],
        selected: &[bool],
    ) -> Result<BTreeSet<u32>> {
        let found = match follow_sql(rows, selected) {
            Some(sql) => run_batch(&mut self.client, &[sql])
                .map_err(|e| tool_error("cannot read the tables of the synthetic rows", &e))?
                .into_iter()
                .next()
                .unwrap_or_default(),
            None => Vec::new(),
        };
        Ok(follow(rows, selected, found))
    }

    /// Notes that the `len` records of `self.seeded` are up to date (but
    /// those of the tables not found, `unresolved`).
    fn all_followed(&mut self, len: usize, unresolved: BTreeSet<u32>) {
        self.unresolved = unresolved;
        self.refollow.clear();
        self.followed = Some(len);
    }
}

/// The catalog read, in the transaction of a migration's kept run (begun at
/// transaction id `since`) before its commit, of which tables of the
/// records `rows` it may have renamed, re-created or changed the columns
/// of: `NULL` when it deleted a `pg_class` row or changed a schema (every
/// record is looked at again), else an array of the oids whose `pg_class`
/// row or column rows it wrote. Reads by oid, with the catalogs' indexes,
/// only the tables the transaction holds a lock on (renaming a table or a
/// column, adding or dropping one lock the table; see
/// [`super::snapshot::LOCKED`]), so the cost follows the migration, not the
/// number of tables with synthetic rows.
pub fn follow_check_sql(rows: &[SeededRow], since: i64) -> String {
    let x32 = since.rem_euclid(1 << 32);
    let oids: BTreeSet<u32> = rows.iter().map(|r| r.oid).collect();
    let tracked = array_literal(oids.iter().map(u32::to_string), "oid");
    let written = |t: &str| {
        format!(
            "pg_catalog.pg_stat_get_xact_tuples_updated('pg_catalog.{t}'::pg_catalog.regclass) \
             + pg_catalog.pg_stat_get_xact_tuples_deleted('pg_catalog.{t}'::pg_catalog.regclass)"
        )
    };
    format!(
        "SELECT CASE WHEN pg_catalog.pg_stat_get_xact_tuples_deleted('pg_catalog.pg_class'::pg_catalog.regclass) \
           + {namespaces} = 0 \
         THEN ARRAY(SELECT c.oid FROM pg_catalog.unnest({LOCKED}) k(oid) \
             JOIN pg_catalog.pg_class c ON c.oid = k.oid WHERE k.oid = ANY ({tracked}) \
             AND pg_catalog.age(c.xmin) <= pg_catalog.age('{x32}'::xid) \
           UNION SELECT a.attrelid FROM pg_catalog.unnest({LOCKED}) k(oid) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = k.oid \
           WHERE {attributes} > 0 AND k.oid = ANY ({tracked}) AND a.attnum > 0 \
             AND pg_catalog.age(a.xmin) <= pg_catalog.age('{x32}'::xid))::text END",
        namespaces = written("pg_namespace"),
        attributes = written("pg_attribute"),
    )
}

/// The catalog read of [`Runner::follow_renames`] for `rows` (`None`: no
/// row to follow).
fn follow_sql(rows: &[SeededRow], selected: &[bool]) -> Option<String> {
    let rows: Vec<&SeededRow> = rows
        .iter()
        .zip(selected)
        .filter_map(|(r, s)| s.then_some(r))
        .collect();
    if rows.is_empty() {
        return None;
    }
    // Only the tables that tell something new: a table found by its
    // oid whose name or a recorded column's name changed, and the
    // tables named like a row whose oid is gone (or not known yet).
    // Every other row keeps its record as it is, so the server returns
    // nothing in the common case instead of every column of every
    // table that ever got a synthetic row.
    let mut tuples: BTreeSet<(u32, &str, i16, &str)> = BTreeSet::new();
    for r in rows.iter() {
        let undo = r.undo.iter().map(|u| (u.attnum, u.column.as_str()));
        for (attnum, col) in r
            .columns
            .iter()
            .map(|(a, c, _)| (*a, c.as_str()))
            .chain(undo)
        {
            tuples.insert((r.oid, r.table.as_str(), attnum, col));
        }
    }
    let oids = array_literal(tuples.iter().map(|t| t.0.to_string()), "oid");
    let names = array_literal(tuples.iter().map(|t| t.1.to_string()), "text");
    let attnums = array_literal(tuples.iter().map(|t| t.2.to_string()), "int2");
    let cols = array_literal(tuples.iter().map(|t| t.3.to_string()), "text");
    let quoted = "quote_ident(n.nspname) || '.' || quote_ident(c.relname)";
    // The bare names of the rows' tables, for the catalog's name index
    // (a name twice cannot take apart: every table, as before).
    let bare: Option<BTreeSet<String>> = rows.iter().map(|r| last_ident(&r.table)).collect();
    let by_name = match bare {
        Some(b) => format!(
            "c.relname = ANY ({}) AND ",
            array_literal(b.into_iter(), "name")
        ),
        None => String::new(),
    };
    let sql = format!(
            "WITH r(o, t, a, col) AS (SELECT * FROM unnest({oids}, {names}, {attnums}, {cols})), \
             known AS (SELECT c.oid, {quoted} AS name FROM pg_class c \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE c.relkind IN ('r', 'p') AND c.oid = ANY (ARRAY(SELECT DISTINCT r.o FROM r))), \
             wanted AS (SELECT k.oid FROM known k JOIN r ON r.o = k.oid \
                 WHERE k.name <> r.t OR EXISTS (SELECT 1 FROM pg_attribute at \
                   WHERE at.attrelid = k.oid AND at.attnum = r.a AND at.attnum > 0 \
                     AND NOT at.attisdropped AND quote_ident(at.attname) <> r.col) \
               UNION SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE {by_name}c.relkind IN ('r', 'p') \
                   AND {quoted} IN (SELECT r.t FROM r WHERE r.o NOT IN (SELECT k.oid FROM known k))) \
             SELECT c.oid::text, {quoted}, a.attnum::text, quote_ident(a.attname) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.oid = ANY (ARRAY(SELECT w.oid FROM wanted w)) \
             UNION ALL SELECT DISTINCT r.o::text, NULL, NULL, NULL FROM r \
             WHERE r.o NOT IN (SELECT k.oid FROM known k)"
        );
    Some(sql)
}

/// Brings the records `rows` up to date with the rows of [`follow_sql`].
fn follow(rows: &mut [SeededRow], selected: &[bool], found: Rows) -> BTreeSet<u32> {
    // oid → (name, column number → name)
    let mut tables: BTreeMap<u32, (String, BTreeMap<i16, String>)> = BTreeMap::new();
    // Oids of records no table has (a row of its own, without a name).
    let mut missing: BTreeSet<u32> = BTreeSet::new();
    for r in found {
        if r.get(1).is_none_or(Option::is_none) {
            if let Ok(oid) = cell(&r, 0).parse() {
                missing.insert(oid);
            }
            continue;
        }
        let (Ok(oid), Ok(attnum)) = (cell(&r, 0).parse(), cell(&r, 2).parse()) else {
            continue;
        };
        tables
            .entry(oid)
            .or_insert_with(|| (cell(&r, 1), BTreeMap::new()))
            .1
            .insert(attnum, cell(&r, 3));
    }
    let mut unresolved = BTreeSet::new();
    for (row, _) in rows.iter_mut().zip(selected).filter(|(_, s)| **s) {
        let undo = row.undo.as_mut().map(|u| (&mut u.attnum, &mut u.column));
        let columns = row.columns.iter_mut().map(|(a, c, _)| (a, c)).chain(undo);
        if let Some((name, cols)) = tables.get(&row.oid) {
            row.table = name.clone();
            for (attnum, col) in columns {
                if let Some(now) = cols.get(attnum) {
                    *col = now.clone();
                }
            }
        } else if let Some((oid, (_, cols))) =
            tables.iter().find(|(_, (name, _))| *name == row.table)
        {
            row.oid = *oid;
            for (attnum, col) in columns {
                if let Some((a, _)) = cols.iter().find(|(_, c)| *c == col) {
                    *attnum = *a;
                }
            }
        } else if missing.contains(&row.oid) {
            unresolved.insert(row.oid);
        }
    }
    unresolved
}

impl Runner<'_> {
    /// The write between a migration's first and second run (see
    /// [`crate::replay::engine::Engine::interleave`]), committed. Returns
    /// each table written (`schema.name`) with its rows before and after.
    pub(super) fn interleave(
        &mut self,
        names: &BTreeSet<String>,
    ) -> Result<Vec<(String, super::snapshot::Rows, super::snapshot::Rows)>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = names.iter().map(|n| literal(n)).collect();
        // The names as stored whose lower case is one of them, read once (a
        // pass over `pg_class`) into a setting, so each query finds the
        // tables by index.
        let selection = Selection::Named {
            lead: Some(format!(
                "SELECT set_config('twice.relnames', ARRAY(SELECT DISTINCT r.relname \
                 FROM pg_class r WHERE lower(r.relname) IN ({}))::text, false)",
                list.join(", ")
            )),
            relnames: "current_setting('twice.relnames')::name[]".to_string(),
            names: "NULL".to_string(),
        };
        let (since, order) = self.start_write(&selection)?;
        let scope = super::snapshot::Scope {
            objects: Some(BTreeSet::new()),
            tables: Some(order.iter().map(|t| t.name.clone()).collect()),
        };
        let before = self.snapshot(&scope)?;
        for t in &order {
            self.update_one_row(t)?;
            if let Some((existing, parents)) = self.count_and_parents(t)? {
                // Kept: fewer rows once the table holds enough.
                let n = crate::replay::interleave_rows(existing);
                self.insert_rows(t, &parents, 0, n)?;
            }
        }
        let after = self.snapshot(&scope)?;
        self.commit_kept(since, true)?;
        let mut out = Vec::new();
        for (name, b) in before.tables {
            if let Some(a) = after.tables.get(&name) {
                if *a != b {
                    out.push((name, b, a.clone()));
                }
            }
        }
        Ok(out)
    }

    /// New values in the columns of one existing row (not the key, not
    /// foreign keys, not generated), each under its own savepoint.
    fn update_one_row(&mut self, t: &Table) -> Result<()> {
        let fk_col = |c: &str| t.fks.iter().any(|fk| fk.from.iter().any(|f| f == c));
        // A row the migrations wrote rather than a synthetic one, when there
        // is one, and the newest (the last in the heap: the one the
        // migration's first run just wrote, more often than not): the write
        // stands for users changing the rows a migration put there (a
        // setting), which an upsert's second run would overwrite. Synthetic
        // rows are known by their recorded keys.
        let synthetic_rows: Vec<String> = self
            .seeded
            .iter()
            .filter(|r| r.undo.is_none() && r.keyed && r.table == t.quoted)
            .map(|r| format!("({})", r.cond()))
            .collect();
        let mut filter = String::new();
        // (Past a few hundred records the condition costs more than it is
        // worth: any row then.)
        if !synthetic_rows.is_empty() && synthetic_rows.len() <= MAX_EXCLUDED {
            let not_synthetic = format!(" WHERE NOT ({})", synthetic_rows.join(" OR "));
            let probe = format!("SELECT 1 FROM {}{not_synthetic} LIMIT 1", t.quoted);
            match self.seed_try(&probe)? {
                Tried::TimedOut => return Ok(()),
                Tried::Done(m) if m.iter().any(|m| matches!(m, SimpleQueryMessage::Row(_))) => {
                    filter = not_synthetic;
                }
                Tried::Done(_) | Tried::Refused => {}
            }
        }
        for (ci, col) in t.columns.iter().enumerate() {
            if col.skip || col.key || fk_col(&col.name) {
                continue;
            }
            // A value equal to the one there (a boolean) changes nothing:
            // the next one does (as on the other engines).
            for _ in 0..2 {
                self.seed_counter += 1;
                let n = self.seed_counter;
                let v = if !col.literals.is_empty() {
                    col.literals[(n as usize + ci) % col.literals.len()].clone()
                } else {
                    match synthetic(col, n) {
                        Some(v) => v,
                        None => continue,
                    }
                };
                let v = literal(&v);
                // The value before, then the row as it is now, so a synthetic
                // row it changes is still found by `unseed`, and the change can
                // be undone.
                let back: Vec<String> = std::iter::once("twice_x.old".to_string())
                    .chain(
                        t.columns
                            .iter()
                            .map(|c| format!("twice_t.{}::text", c.quoted)),
                    )
                    .collect();
                let sql = format!(
                    "WITH twice_x AS (SELECT tableoid AS o, ctid AS i, {c}::text AS old FROM {t}{filter} \
                     ORDER BY ctid DESC LIMIT 1) \
                     UPDATE {t} AS twice_t SET {c} = {v} FROM twice_x \
                     WHERE twice_t.tableoid = twice_x.o AND twice_t.ctid = twice_x.i \
                       AND twice_t.{c} IS DISTINCT FROM {v} RETURNING {}",
                    back.join(", "),
                    t = t.quoted,
                    c = col.quoted
                );
                match self.seed_try(&sql)? {
                    Tried::TimedOut => return Ok(()),
                    Tried::Done(messages) => {
                        let changed = messages
                            .iter()
                            .any(|m| matches!(m, SimpleQueryMessage::Row(_)));
                        self.follow_update(t, col, &messages);
                        if changed {
                            break;
                        }
                    }
                    Tried::Refused => break,
                }
            }
        }
        Ok(())
    }

    /// After the interleaved update of column `changed` of one row (the
    /// `RETURNING` row in `messages`: the value before, then every column
    /// of `t` as text): the update is recorded to be undone by `unseed`
    /// (by the row's key; a row of a table without one is not found
    /// again), and if that row is a synthetic one found by its values (all
    /// its other recorded values match), its record takes the new value,
    /// so `unseed` still finds it.
    fn follow_update(&mut self, t: &Table, changed: &Column, messages: &[SimpleQueryMessage]) {
        let Some(row) = messages.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        }) else {
            return;
        };
        let now: BTreeMap<&str, Option<&str>> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.quoted.as_str(), row.get(1 + i)))
            .collect();
        let key: Option<Vec<(i16, String, Option<String>)>> = t
            .ident()
            .iter()
            .map(|c| {
                let v = now.get(c.quoted.as_str()).copied().flatten()?;
                Some((c.attnum, c.quoted.clone(), Some(v.to_string())))
            })
            .collect();
        let written = now.get(changed.quoted.as_str()).copied().flatten();
        let values = self.remember_values(t, [(changed.quoted.as_str(), written)]);
        if let Some(key) = key.filter(|k| !k.is_empty()) {
            self.seeded.push(SeededRow {
                oid: 0,
                table: t.quoted.clone(),
                columns: key,
                keyed: true,
                undo: Some(Undo {
                    attnum: changed.attnum,
                    column: changed.quoted.clone(),
                    before: row.get(0).map(str::to_string),
                    after: now
                        .get(changed.quoted.as_str())
                        .copied()
                        .flatten()
                        .map(str::to_string),
                }),
                values,
            });
        }
        let changed = changed.quoted.as_str();
        // Rows found by their key need nothing: the update leaves keys.
        let record = self.seeded.iter_mut().rev().find(|r| {
            !r.keyed
                && r.undo.is_none()
                && r.table == t.quoted
                && r.columns.iter().any(|(_, c, _)| c == changed)
                && r.columns
                    .iter()
                    .filter(|(_, c, _)| c != changed)
                    .all(|(_, c, v)| now.get(c.as_str()).is_some_and(|n| *n == v.as_deref()))
        });
        if let Some(r) = record {
            for (_, c, v) in r.columns.iter_mut() {
                if c == changed {
                    *v = now.get(c.as_str()).copied().flatten().map(str::to_string);
                }
            }
        }
    }

    /// The start of twice's own write (seeding, the write between runs), in
    /// one round trip: the records of synthetic rows brought up to date
    /// with renames ([`Runner::follow_renames`]), the transaction begun (as
    /// [`Runner::begin_immediate`]), and the tables `selection` names read
    /// from the catalogs. Returns the transaction id and the tables, parents
    /// before the tables that refer to them.
    fn start_write(&mut self, selection: &Selection) -> Result<(i64, Vec<Table>)> {
        let selected = self.to_follow(&self.seeded);
        let follow_query = follow_sql(&self.seeded, &selected);
        let mut queries: Vec<String> = follow_query.iter().cloned().collect();
        queries.extend(self.begin_commands(false));
        queries.push("SET CONSTRAINTS ALL IMMEDIATE".to_string());
        // The transaction id: the first row of the begin commands.
        let begin_at = usize::from(follow_query.is_some());
        let prepare = matches!(selection, Selection::Named { .. })
            && self.seed_prepared != Some(self.backend_pid);
        match selection {
            Selection::Filter(filter) => {
                let [constraints, domains] = constraints_sql(filter);
                queries.extend([
                    columns_sql(filter, self.server.version_num),
                    types_sql(filter),
                    constraints,
                    domains,
                ]);
            }
            Selection::Named {
                lead,
                relnames,
                names,
            } => {
                if prepare {
                    queries.extend(prepared_sql(self.server.version_num));
                }
                queries.extend(lead.clone());
                let args = format!("({relnames}, {names})");
                let [_, domains] = constraints_sql("true");
                // Planned (once, generic plans) with the catalogs' indexes,
                // as the snapshot's prepared reads (see
                // `snapshot::Catalog`); the session's setting put back.
                queries.extend([
                    snapshot::SEQSCAN_OFF.to_string(),
                    format!("EXECUTE twice_seed_columns{args}"),
                    format!("EXECUTE twice_seed_types{args}"),
                    format!("EXECUTE twice_seed_constraints{args}"),
                    snapshot::SEQSCAN_BACK.to_string(),
                    domains,
                ]);
            }
        }
        // The four queries are the last ones, but for the setting put back
        // between the third and the fourth.
        let named = matches!(selection, Selection::Named { .. });
        let skip = queries.len() - if named { 5 } else { 4 };
        let results = match run_batch(&mut self.client, &queries) {
            Ok(r) => r,
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK");
                return Err(tool_error("cannot read the tables to seed", &e));
            }
        };
        if prepare {
            self.seed_prepared = Some(self.backend_pid);
        }
        let found = match follow_query {
            Some(_) => results.first().cloned().unwrap_or_default(),
            None => Vec::new(),
        };
        let mut rows = std::mem::take(&mut self.seeded);
        let unresolved = follow(&mut rows, &selected, found);
        self.all_followed(rows.len(), unresolved);
        self.seeded = rows;
        let since = super::txid(
            results
                .iter()
                .skip(begin_at)
                .flatten()
                .next()
                .and_then(|r| r.first().cloned().flatten()),
        );
        let mut results = results.into_iter().skip(skip);
        let mut next = || results.next().unwrap_or_default();
        let (columns, types, constraints) = (next(), next(), next());
        if named {
            next();
        }
        let domain_checks = next();
        let types = parse_types(types);
        let mut pending = parse_tables(columns, &types, constraints, domain_checks);

        // Parents first.
        let mut order = Vec::new();
        while !pending.is_empty() {
            let names: BTreeSet<String> = pending.iter().map(|t| t.name.clone()).collect();
            let ready = pending.iter().position(|t| {
                t.fks
                    .iter()
                    .all(|fk| fk.parent == t.name || !names.contains(&fk.parent))
            });
            order.push(pending.remove(ready.unwrap_or(0)));
        }
        Ok((since, order))
    }

    /// Runs `sql` under the savepoint `twice_seed` (rolled back when the
    /// server refuses it); an error when the connection is gone.
    fn seed_try(&mut self, sql: &str) -> Result<Tried> {
        let full = format!("SAVEPOINT twice_seed; {sql}; RELEASE SAVEPOINT twice_seed");
        let grace = self.opts.timeout + std::time::Duration::from_secs(1);
        self.watchdog.arm(
            std::time::Instant::now() + grace,
            self.client.cancel_token(),
            self.backend_pid,
        );
        let r = self.client.simple_query(&full);
        self.watchdog.disarm();
        match r {
            Ok(m) => Ok(Tried::Done(m)),
            Err(e) if self.client.is_closed() => Err(tool_error("seeding failed", &e)),
            Err(e) => {
                self.exec_admin("ROLLBACK TO SAVEPOINT twice_seed; RELEASE SAVEPOINT twice_seed")?;
                if e.code().is_some_and(|c| c.code() == "57014") {
                    Ok(Tried::TimedOut)
                } else {
                    Ok(Tried::Refused)
                }
            }
        }
    }

    /// Remembers the row an insert returned (its table's oid, key values,
    /// then the values of `names`), for [`Runner::unseed`]: by its key when
    /// the table has one and the row a value in each key column, else by
    /// every value given.
    fn record_seeded(&mut self, t: &Table, names: &[String], messages: &[SimpleQueryMessage]) {
        let ident = t.ident();
        for m in messages {
            let SimpleQueryMessage::Row(r) = m else {
                continue;
            };
            let get = |i: usize| r.get(i).map(str::to_string);
            let given = names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), r.get(1 + ident.len() + i)));
            let values = self.remember_values(t, given);
            let oid = get(0).and_then(|o| o.parse().ok()).unwrap_or(0);
            let key: Vec<(i16, String, Option<String>)> = ident
                .iter()
                .enumerate()
                .map(|(i, c)| (c.attnum, c.quoted.clone(), get(1 + i)))
                .collect();
            let keyed = !key.is_empty() && key.iter().all(|(_, _, v)| v.is_some());
            let columns = if keyed {
                key
            } else {
                let attnum = |n: &str| {
                    t.columns
                        .iter()
                        .find(|c| c.quoted == n)
                        .map_or(0, |c| c.attnum)
                };
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (attnum(n), n.clone(), get(1 + ident.len() + i)))
                    .collect()
            };
            if columns.is_empty() {
                continue;
            }
            self.seeded.push(SeededRow {
                oid,
                table: t.quoted.clone(),
                columns,
                keyed,
                undo: None,
                values,
            });
        }
    }

    /// Seeds one table. Returns whether it got rows.
    fn seed_table(&mut self, t: &Table) -> Result<bool> {
        let Some((existing, parents)) = self.count_and_parents(t)? else {
            return Ok(false);
        };
        if existing >= ROWS {
            return Ok(false);
        }
        self.insert_rows(t, &parents, existing, ROWS)
    }

    /// How many rows (up to twice [`ROWS`]) the table has, and the parent rows
    /// each foreign key can point at; `None` when the server refused to
    /// tell.
    fn count_and_parents(&mut self, t: &Table) -> Result<Option<(i64, Vec<Rows>)>> {
        // Its row count and the parent rows its foreign keys can point at.
        let mut sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {}) s",
            t.quoted,
            2 * ROWS
        );
        for fk in &t.fks {
            let cols = fk.to.join(", ");
            let not_null: Vec<String> = fk.to.iter().map(|c| format!("{c} IS NOT NULL")).collect();
            sql.push_str(&format!(
                "; SELECT {cols} FROM {} WHERE {} ORDER BY {} LIMIT {ROWS}",
                fk.parent_quoted,
                not_null.join(" AND "),
                (1..=fk.to.len())
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let Tried::Done(messages) = self.seed_try(&sql)? else {
            return Ok(None);
        };
        let mut results: Vec<Rows> = Vec::new();
        let mut current: Rows = Vec::new();
        for m in messages {
            match m {
                SimpleQueryMessage::Row(r) => {
                    current.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                SimpleQueryMessage::CommandComplete(_) => {
                    results.push(std::mem::take(&mut current))
                }
                _ => {}
            }
        }
        // SAVEPOINT, count, parents..., RELEASE.
        let existing: i64 = results
            .get(1)
            .and_then(|r| r.first())
            .map(|r| cell(r, 0))
            .and_then(|v| v.parse().ok())
            .unwrap_or(ROWS);
        let parents: Vec<Rows> = (0..t.fks.len())
            .map(|i| results.get(2 + i).cloned())
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        if parents.len() != t.fks.len() {
            return Ok(None);
        }
        Ok(Some((existing, parents)))
    }

    /// Inserts rows number `from..to` of the table's synthetic rows (each
    /// tried a few ways). Returns whether any went in.
    fn insert_rows(&mut self, t: &Table, parents: &[Rows], from: i64, to: i64) -> Result<bool> {
        let fk_of = |col: &str| {
            t.fks
                .iter()
                .enumerate()
                .find_map(|(i, fk)| fk.from.iter().position(|f| f == col).map(|p| (i, p)))
        };
        let ncols = t.columns.len() as i64;
        let mut inserted = false;
        for row in from..to {
            for attempt in 0..ATTEMPTS {
                self.seed_counter += 1;
                let n = self.seed_counter;
                let mut names = Vec::new();
                let mut values = Vec::new();
                for (ci, col) in t.columns.iter().enumerate() {
                    if col.numbered && attempt < 3 {
                        names.push(col.quoted.clone());
                        values.push((crate::replay::SYNTHETIC_IDS + n).to_string());
                        continue;
                    }
                    if col.skip || (col.plain_default && attempt < 4) {
                        continue;
                    }
                    let fk = fk_of(&col.name);
                    if attempt == 1 && !col.required() && fk.is_none() {
                        continue;
                    }
                    // Columns get different numbers within a row (in
                    // declared order, or reversed), so checks such as
                    // `starts_on < ends_on` can hold.
                    let offset = if attempt == 2 || attempt == 5 {
                        ncols - ci as i64
                    } else {
                        ci as i64
                    };
                    let v = if let Some((fi, pos)) = fk {
                        let rows = &parents[fi];
                        if rows.is_empty() {
                            if col.required() {
                                synthetic(col, n + offset).map(|s| literal(&s))
                            } else {
                                Some("NULL".into())
                            }
                        } else {
                            let r = &rows[(row as usize + attempt) % rows.len()];
                            Some(
                                r.get(pos)
                                    .cloned()
                                    .flatten()
                                    .map_or("NULL".into(), |s| literal(&s)),
                            )
                        }
                    } else if attempt >= 2 && !col.literals.is_empty() {
                        let lits = &col.literals;
                        Some(literal(&lits[(row as usize + attempt) % lits.len()]))
                    } else {
                        match synthetic(col, n + offset) {
                            Some(s) => Some(literal(&s)),
                            // A type twice does not know: its input
                            // function may take a number; else the row fails.
                            None if col.required() => Some(literal(&(n + offset).to_string())),
                            None => None,
                        }
                    };
                    if let Some(v) = v {
                        names.push(col.quoted.clone());
                        values.push(v);
                    }
                }
                // The row's table, key and values as stored, so `unseed`
                // can find it.
                let back: Vec<String> = std::iter::once("tableoid::oid::text".to_string())
                    .chain(t.ident().iter().map(|c| format!("{}::text", c.quoted)))
                    .chain(names.iter().map(|n| format!("{n}::text")))
                    .collect();
                let insert = if names.is_empty() {
                    format!(
                        "INSERT INTO {} DEFAULT VALUES RETURNING {}",
                        t.quoted,
                        back.join(", ")
                    )
                } else {
                    format!(
                        "INSERT INTO {} ({}) VALUES ({}) RETURNING {}",
                        t.quoted,
                        names.join(", "),
                        values.join(", "),
                        back.join(", ")
                    )
                };
                match self.seed_try(&insert)? {
                    Tried::Done(messages) => {
                        self.record_seeded(t, &names, &messages);
                        inserted = true;
                        break;
                    }
                    Tried::Refused => {}
                    // A statement that outlives the time limit (a slow
                    // trigger) would do so again: leave the table.
                    Tried::TimedOut => return Ok(inserted),
                }
            }
        }
        Ok(inserted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_from_quoted_qualified_names() {
        assert_eq!(last_ident("public.users"), Some("users".into()));
        assert_eq!(
            last_ident("\"My Schema\".\"Tab\"\"le\""),
            Some("Tab\"le".into())
        );
        assert_eq!(last_ident("public.\"a.b\""), Some("a.b".into()));
        assert_eq!(last_ident("public.\"\"\"x\""), Some("\"x".into()));
        assert_eq!(last_ident("public.\"x\"\"\""), Some("x\"".into()));
        assert_eq!(last_ident("users"), Some("users".into()));
        assert_eq!(last_ident("public.x\"y\""), None);
        assert_eq!(last_ident("public."), None);
    }

    #[test]
    fn array_constants_quote_each_element() {
        assert_eq!(
            array_literal(["a".to_string(), "b\"c\\".to_string()].into_iter(), "text"),
            "E'{\"a\",\"b\\\\\"c\\\\\\\\\"}'::text[]"
        );
        assert_eq!(array_literal(std::iter::empty(), "oid"), "E'{}'::oid[]");
    }

    #[test]
    fn literals_of_a_check() {
        assert_eq!(
            check_literals("CHECK ((plan = ANY (ARRAY['free'::text, 'it''s'::text])))"),
            vec!["free".to_string(), "it's".to_string()]
        );
        assert_eq!(
            check_literals("CHECK ((qty >= 1) AND (qty <= 10))"),
            vec!["1", "10"]
        );
    }
}
