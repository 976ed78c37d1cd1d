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

mod derived;
mod values;

use super::snapshot::{literal, run_batch, SYSTEM_SCHEMAS};
use super::{tool_error, Runner};
use crate::dialect::Dialect;
use crate::error::Result;
use crate::lexer::{Lexer, TokenKind};
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
}

/// A value the write between runs changed, to put back.
#[derive(Debug)]
pub(super) struct Undo {
    attnum: i16,
    column: String,
    before: Option<String>,
    after: Option<String>,
}

/// Tables the open transaction deleted rows from or whose catalog row it
/// changed (created, altered, truncated, renamed) since transaction id
/// `since`: they may now have fewer than [`ROWS`] rows. Partitions count for
/// their partitioned table.
pub fn dirty_tables_sql(since: i64, version_num: i32) -> String {
    let x32 = since.rem_euclid(1 << 32);
    let root = if version_num >= 120000 {
        "CASE WHEN c.relispartition THEN pg_catalog.pg_partition_root(c.oid)::oid ELSE c.oid END"
    } else {
        "c.oid"
    };
    format!(
        "SELECT rn.nspname || '.' || r.relname FROM pg_catalog.pg_class c \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           JOIN pg_catalog.pg_class r ON r.oid = {root} \
           JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace \
         WHERE c.relkind IN ('r', 'p') \
           AND (pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid) > 0 \
                OR (pg_catalog.age(c.xmin) <= pg_catalog.age('{x32}'::xid) AND c.xmin <> '2'::xid)) \
           AND {SYSTEM_SCHEMAS}"
    )
}

/// The condition selecting the tables to look at (`c`, `n`: the table's
/// `pg_class` and `pg_namespace` rows).
fn table_filter(candidates: Option<&BTreeSet<String>>) -> String {
    let base = format!(
        "c.relkind IN ('r', 'p') AND NOT c.relispartition AND {SYSTEM_SCHEMAS} \
         AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass \
           AND dep.objid = c.oid AND dep.deptype = 'e')"
    );
    match candidates {
        None => base,
        Some(names) => {
            let list: Vec<String> = names.iter().map(|n| literal(n)).collect();
            // The bare names too, so the server can use its catalog index
            // (every suffix after a dot: names may contain dots).
            let bare: BTreeSet<String> = names
                .iter()
                .flat_map(|n| n.match_indices('.').map(move |(i, _)| literal(&n[i + 1..])))
                .collect();
            format!(
                "{base} AND c.relname IN ({}) AND n.nspname || '.' || c.relname IN ({})",
                bare.into_iter().collect::<Vec<_>>().join(", "),
                list.join(", ")
            )
        }
    }
}

fn columns_sql(filter: &str, version_num: i32) -> String {
    let generated = if version_num >= 120000 {
        "(a.attgenerated <> '')::text"
    } else {
        "'false'"
    };
    format!(
        "SELECT n.nspname || '.' || c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
           a.attname::text, quote_ident(a.attname), a.atttypid::text, a.atttypmod::text, \
           a.attnotnull::text, a.atthasdef::text, (a.attidentity <> '')::text, {generated}, \
           coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval(%', false)::text, \
           EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique \
             AND a.attnum = ANY (i.indkey))::text, \
           a.attnum::text, \
           (SELECT k.ord FROM (SELECT i.indkey FROM pg_index i WHERE i.indrelid = c.oid \
               AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL \
               ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1) ix, \
             unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
             WHERE k.attnum = a.attnum)::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE {filter} ORDER BY 1, a.attnum"
    )
}

fn types_sql(filter: &str) -> String {
    format!(
        "WITH RECURSIVE ty(oid) AS ( \
           SELECT DISTINCT a.atttypid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
           WHERE {filter} \
           UNION SELECT t.typbasetype FROM ty JOIN pg_type t ON t.oid = ty.oid WHERE t.typtype = 'd') \
         SELECT t.oid::text, t.typname::text, tn.nspname::text, t.typcategory::text, t.typtype::text, \
           t.typbasetype::text, t.typtypmod::text, t.typnotnull::text, \
           (t.typdefault IS NOT NULL OR t.typdefaultbin IS NOT NULL)::text, \
           (SELECT string_agg(e.enumlabel::text, chr(31) ORDER BY e.enumsortorder) \
              FROM pg_enum e WHERE e.enumtypid = t.oid) \
         FROM ty JOIN pg_type t ON t.oid = ty.oid JOIN pg_namespace tn ON tn.oid = t.typnamespace"
    )
}

/// Foreign keys and checks of the tables, then the checks of every domain.
fn constraints_sql(filter: &str) -> [String; 2] {
    [
        format!(
            "SELECT n.nspname || '.' || c.relname, co.contype::text, \
               (SELECT string_agg(a.attname::text, chr(31) ORDER BY k.ord) \
                  FROM unnest(co.conkey) WITH ORDINALITY k(attnum, ord) \
                  JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum), \
               fn.nspname || '.' || f.relname, quote_ident(fn.nspname) || '.' || quote_ident(f.relname), \
               (SELECT string_agg(quote_ident(a.attname), chr(31) ORDER BY k.ord) \
                  FROM unnest(co.confkey) WITH ORDINALITY k(attnum, ord) \
                  JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.attnum), \
               CASE WHEN co.contype = 'c' THEN pg_get_constraintdef(co.oid) END \
             FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               LEFT JOIN pg_class f ON f.oid = co.confrelid \
               LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace \
             WHERE co.contype IN ('f', 'c') AND {filter} ORDER BY co.conname"
        ),
        "SELECT co.contypid::text, pg_get_constraintdef(co.oid) FROM pg_constraint co \
         WHERE co.contypid <> 0 AND co.contype = 'c' ORDER BY co.conname"
            .to_string(),
    ]
}

type Rows = Vec<Vec<Option<String>>>;

/// What running a statement under the seeding savepoint gave.
enum Tried {
    Done(Vec<SimpleQueryMessage>),
    Refused,
    TimedOut,
}

fn cell(r: &[Option<String>], i: usize) -> String {
    r.get(i).cloned().flatten().unwrap_or_default()
}

/// A boolean column (`t`, or `true` when cast to text).
fn flag(r: &[Option<String>], i: usize) -> bool {
    matches!(cell(r, i).as_str(), "t" | "true")
}

fn parse_types(rows: Rows) -> BTreeMap<u32, TypeInfo> {
    rows.into_iter()
        .filter_map(|r| {
            let oid = cell(&r, 0).parse().ok()?;
            Some((
                oid,
                TypeInfo {
                    name: cell(&r, 1),
                    schema: cell(&r, 2),
                    category: cell(&r, 3).chars().next().unwrap_or('X'),
                    typtype: cell(&r, 4).chars().next().unwrap_or('b'),
                    base: cell(&r, 5).parse().unwrap_or(0),
                    typmod: cell(&r, 6).parse().unwrap_or(-1),
                    notnull: flag(&r, 7),
                    has_default: flag(&r, 8),
                    enum_labels: r
                        .get(9)
                        .cloned()
                        .flatten()
                        .map(|s| s.split('\u{1f}').map(str::to_string).collect())
                        .unwrap_or_default(),
                },
            ))
        })
        .collect()
}

/// String and number literals of a constraint definition
/// (`CHECK ((plan = ANY (ARRAY['free'::text, 'pro'::text])))`).
fn check_literals(def: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in Lexer::new(def, 0..def.len(), Dialect::Postgres) {
        let text = &def[t.span.clone()];
        let v = match t.kind {
            TokenKind::String => {
                let escaped = text.starts_with(['e', 'E']);
                let body = text.trim_start_matches(['e', 'E']);
                if body.len() < 2 || !body.starts_with('\'') || !body.ends_with('\'') {
                    continue;
                }
                let mut s = body[1..body.len() - 1].replace("''", "'");
                if escaped {
                    s = s.replace("\\\\", "\\");
                }
                s
            }
            TokenKind::Number => text.to_string(),
            _ => continue,
        };
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The column's base type, following domains: (type, NOT NULL from a
/// domain, default from a domain, typmod, domain oids).
fn resolve(types: &BTreeMap<u32, TypeInfo>, oid: u32, typmod: i32) -> (TypeInfo, Vec<u32>) {
    let mut info = TypeInfo {
        typmod,
        ..TypeInfo::default()
    };
    let mut domains = Vec::new();
    let mut cur = oid;
    for _ in 0..32 {
        let Some(t) = types.get(&cur) else { break };
        if t.typtype == 'd' {
            info.notnull |= t.notnull;
            info.has_default |= t.has_default;
            if info.typmod < 0 {
                info.typmod = t.typmod;
            }
            domains.push(cur);
            cur = t.base;
            continue;
        }
        info.name = t.name.clone();
        info.schema = t.schema.clone();
        info.category = t.category;
        info.typtype = t.typtype;
        info.enum_labels = t.enum_labels.clone();
        break;
    }
    (info, domains)
}

fn parse_tables(
    columns: Rows,
    types: &BTreeMap<u32, TypeInfo>,
    constraints: Rows,
    domain_checks: Rows,
) -> Vec<Table> {
    let mut domain_lits: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for r in domain_checks {
        if let Ok(oid) = cell(&r, 0).parse() {
            domain_lits
                .entry(oid)
                .or_default()
                .extend(check_literals(&cell(&r, 1)));
        }
    }
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for r in columns {
        let key = cell(&r, 0);
        let table = tables.entry(key.clone()).or_insert_with(|| Table {
            name: key,
            quoted: cell(&r, 1),
            columns: Vec::new(),
            fks: Vec::new(),
        });
        let oid: u32 = cell(&r, 4).parse().unwrap_or(0);
        let typmod: i32 = cell(&r, 5).parse().unwrap_or(-1);
        let (ty, domains) = resolve(types, oid, typmod);
        let has_default = flag(&r, 7);
        let identity = flag(&r, 8);
        let generated = flag(&r, 9);
        let serial = flag(&r, 10);
        let mut literals = Vec::new();
        for d in &domains {
            for l in domain_lits.get(d).into_iter().flatten() {
                if !literals.contains(l) {
                    literals.push(l.clone());
                }
            }
        }
        table.columns.push(Column {
            name: cell(&r, 2),
            quoted: cell(&r, 3),
            ty: if ty.schema == "pg_catalog" {
                ty.name.clone()
            } else {
                String::new()
            },
            category: ty.category,
            typtype: ty.typtype,
            typmod: ty.typmod,
            enum_labels: ty.enum_labels,
            notnull: flag(&r, 6) || ty.notnull,
            plain_default: (has_default && !serial) || (!has_default && ty.has_default),
            skip: identity || generated || serial,
            numbered: (identity || serial)
                && !generated
                && ty.schema == "pg_catalog"
                && matches!(ty.name.as_str(), "int4" | "int8"),
            key: flag(&r, 11),
            literals,
            attnum: cell(&r, 12).parse().unwrap_or(0),
            ident: cell(&r, 13).parse().unwrap_or(0),
        });
    }
    for r in constraints {
        let Some(t) = tables.get_mut(&cell(&r, 0)) else {
            continue;
        };
        let cols: Vec<String> = cell(&r, 2).split('\u{1f}').map(str::to_string).collect();
        match cell(&r, 1).as_str() {
            "f" => {
                let to: Vec<String> = cell(&r, 5).split('\u{1f}').map(str::to_string).collect();
                if to.len() == cols.len() && !cols.is_empty() {
                    t.fks.push(ForeignKey {
                        from: cols,
                        parent: cell(&r, 3),
                        parent_quoted: cell(&r, 4),
                        to,
                    });
                }
            }
            _ => {
                let lits = check_literals(&cell(&r, 6));
                for c in t.columns.iter_mut().filter(|c| cols.contains(&c.name)) {
                    for l in &lits {
                        if !c.literals.contains(l) {
                            c.literals.push(l.clone());
                        }
                    }
                }
            }
        }
    }
    tables.into_values().collect()
}

impl Runner<'_> {
    /// Seeds the tables that may have fewer than [`ROWS`] rows, in a
    /// transaction of its own that is committed.
    pub(super) fn seed(&mut self) -> Result<()> {
        self.follow_renames()?;
        let candidates = match self.seed_dirty.take() {
            Some(set) if set.is_empty() => {
                self.seed_dirty = Some(set);
                return Ok(());
            }
            other => other,
        };
        self.seed_dirty = Some(BTreeSet::new());
        let since = self.begin_immediate()?;
        let mut filter = table_filter(candidates.as_ref());
        if candidates.is_none() && !self.setup_tables.is_empty() {
            // The set-up's tables are never seeded.
            let list: Vec<String> = self.setup_tables.iter().map(|n| literal(n)).collect();
            filter.push_str(&format!(
                " AND lower(c.relname) NOT IN ({})",
                list.join(", ")
            ));
        }
        let order = self.tables_to_write(&filter)?;
        for t in &order {
            self.seed_table(t)?;
        }
        self.commit_kept(since)
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
            let other: Vec<bool> = all
                .iter()
                .map(|r| {
                    r.undo.is_some()
                        && !all.iter().any(|s| {
                            s.undo.is_none()
                                && s.keyed
                                && s.table == r.table
                                && s.columns == r.columns
                        })
                })
                .collect();
            let mut rows = Vec::new();
            let mut kept = Vec::new();
            for (r, other) in all.into_iter().zip(other) {
                if other {
                    rows.push(r);
                } else {
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
        if let Err(e) = self.follow_renames_in(&mut rows) {
            let _ = self.client.batch_execute("ROLLBACK");
            return Err(e);
        }
        let mut deleted = false;
        let mut left = Vec::new();
        for row in rows.into_iter().rev() {
            let table = &row.table;
            let cond: Vec<String> = row
                .columns
                .iter()
                .map(|(_, c, v)| {
                    let v = v.as_deref().map_or("NULL".into(), literal);
                    format!("{c}::text IS NOT DISTINCT FROM {v}")
                })
                .collect();
            let sql = match &row.undo {
                None => format!(
                    "DELETE FROM {table} WHERE (tableoid, ctid) = \
                     (SELECT tableoid, ctid FROM {table} WHERE {} LIMIT 1)",
                    cond.join(" AND ")
                ),
                Some(u) => {
                    let text = |v: &Option<String>| v.as_deref().map_or("NULL".into(), literal);
                    format!(
                        "UPDATE {table} SET {c} = {before} WHERE (tableoid, ctid) = \
                         (SELECT tableoid, ctid FROM {table} WHERE {} \
                            AND {c}::text IS NOT DISTINCT FROM {after} LIMIT 1)",
                        cond.join(" AND "),
                        c = u.column,
                        before = text(&u.before),
                        after = text(&u.after),
                    )
                }
            };
            let done = match self.seed_try(&sql)? {
                Tried::Done(m) => m
                    .iter()
                    .any(|m| matches!(m, SimpleQueryMessage::CommandComplete(1))),
                _ => false,
            };
            deleted |= done;
            // A row not found or not deletable now is looked for again
            // next time (a migration may delete what refers to it).
            if !done && row.undo.is_none() {
                left.push(row);
            }
        }
        left.reverse();
        if others_only {
            self.commit_kept(since)?;
            self.seeded = kept;
            return Ok(deleted);
        }
        deleted |= self.delete_derived()? > 0;
        self.commit_kept(since)?;
        self.seeded = left;
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
    pub(super) fn follow_renames(&mut self) -> Result<()> {
        let mut rows = std::mem::take(&mut self.seeded);
        let r = self.follow_renames_in(&mut rows);
        self.seeded = rows;
        r
    }

    fn follow_renames_in(&mut self, rows: &mut [SeededRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let oids: BTreeSet<String> = rows.iter().map(|r| r.oid.to_string()).collect();
        let names: BTreeSet<String> = rows.iter().map(|r| literal(&r.table)).collect();
        let sql = format!(
            "SELECT c.oid::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
               a.attnum::text, quote_ident(a.attname) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.relkind IN ('r', 'p') AND (c.oid IN ({}) \
               OR quote_ident(n.nspname) || '.' || quote_ident(c.relname) IN ({}))",
            oids.into_iter().collect::<Vec<_>>().join(", "),
            names.into_iter().collect::<Vec<_>>().join(", ")
        );
        let found = run_batch(&mut self.client, &[sql])
            .map_err(|e| tool_error("cannot read the tables of the synthetic rows", &e))?;
        // oid → (name, column number → name)
        let mut tables: BTreeMap<u32, (String, BTreeMap<i16, String>)> = BTreeMap::new();
        for r in found.into_iter().next().unwrap_or_default() {
            let (Ok(oid), Ok(attnum)) = (cell(&r, 0).parse(), cell(&r, 2).parse()) else {
                continue;
            };
            tables
                .entry(oid)
                .or_insert_with(|| (cell(&r, 1), BTreeMap::new()))
                .1
                .insert(attnum, cell(&r, 3));
        }
        for row in rows.iter_mut() {
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
            }
        }
        Ok(())
    }

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
        self.follow_renames()?;
        let since = self.begin_immediate()?;
        let list: Vec<String> = names.iter().map(|n| literal(n)).collect();
        // The names as stored whose lower case is one of them, read once (a
        // pass over `pg_class`), so each query finds the tables by index.
        let filter = format!(
            "{} AND c.relname = ANY (ARRAY(SELECT DISTINCT r.relname FROM pg_class r \
             WHERE lower(r.relname) IN ({})))",
            table_filter(None),
            list.join(", ")
        );
        let order = self.tables_to_write(&filter)?;
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
        self.commit_kept(since)?;
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
        for (ci, col) in t.columns.iter().enumerate() {
            if col.skip || col.key || fk_col(&col.name) {
                continue;
            }
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
                "WITH twice_x AS (SELECT tableoid AS o, ctid AS i, {c}::text AS old FROM {t} LIMIT 1) \
                 UPDATE {t} AS twice_t SET {c} = {v} FROM twice_x \
                 WHERE twice_t.tableoid = twice_x.o AND twice_t.ctid = twice_x.i \
                   AND twice_t.{c} IS DISTINCT FROM {v} RETURNING {}",
                back.join(", "),
                t = t.quoted,
                c = col.quoted
            );
            match self.seed_try(&sql)? {
                Tried::TimedOut => return Ok(()),
                Tried::Done(messages) => self.follow_update(t, col, &messages),
                Tried::Refused => {}
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
        self.remember_values(t, [(changed.quoted.as_str(), written)]);
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

    /// The tables the filter selects, read from the catalogs, parents
    /// before the tables that refer to them.
    fn tables_to_write(&mut self, filter: &str) -> Result<Vec<Table>> {
        let filter = filter.to_string();
        let [constraints, domains] = constraints_sql(&filter);
        let queries = vec![
            columns_sql(&filter, self.server.version_num),
            types_sql(&filter),
            constraints,
            domains,
        ];
        let results = match run_batch(&mut self.client, &queries) {
            Ok(r) => r,
            Err(e) => {
                let _ = self.client.batch_execute("ROLLBACK");
                return Err(tool_error("cannot read the tables to seed", &e));
            }
        };
        let mut results = results.into_iter();
        let mut next = || results.next().unwrap_or_default();
        let (columns, types, constraints, domain_checks) = (next(), next(), next(), next());
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
        Ok(order)
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
            self.remember_values(t, given);
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
