//! What the database looks like, read from the catalogs: a normalised text
//! per schema object, the rows of chosen tables, and sequence values.
//!
//! Snapshots are scoped: replay reads only the objects the second run could
//! have touched (the names its DDL reported, the tables it wrote), so the
//! cost follows the migration, not the size of the database. `None` scopes
//! read everything (servers where twice cannot install its event triggers,
//! and runs outside a transaction).

use postgres::{Client, SimpleQueryMessage};
use std::collections::{BTreeMap, BTreeSet};

/// Evaluated once before a query's rows are printed: names in definitions
/// come out schema-qualified whatever `search_path` the migration set. Local
/// to the transaction (or to the statement, outside one).
const PATH: &str = "(SELECT pg_catalog.set_config('search_path', 'pg_catalog', true)) IS NOT NULL";

/// Schemas twice never looks at (over `n`, a `pg_namespace` row).
pub const SYSTEM_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', '_twice') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// What to read. `None` means everything.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Object names (`schema.name`, or a bare name for schemas and
    /// extensions) whose definitions to read.
    pub objects: Option<BTreeSet<String>>,
    /// Tables (`schema.name`) whose rows to read.
    pub tables: Option<BTreeSet<String>>,
}

/// A table's rows, each as a JSON object (`row_to_json`), sorted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rows {
    /// Column names and types, to tell whether rows are comparable.
    pub columns: String,
    /// Column names, in order.
    pub names: Vec<String>,
    /// Primary key columns (to pair a changed row's before and after).
    pub key: Vec<String>,
    /// Empty when the table holds more than [`MAX_SNAPSHOT_ROWS`] rows:
    /// then `summary` stands for them.
    ///
    /// [`MAX_SNAPSHOT_ROWS`]: crate::replay::sqlite::MAX_SNAPSHOT_ROWS
    pub rows: Vec<String>,
    /// For a table too large to keep: its row count and an
    /// order-independent hash of its rows, computed on the server.
    pub summary: Option<(u64, u64)>,
}

#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Object header (`table public.users`) → normalised definition.
    pub schema: BTreeMap<String, String>,
    /// Object header → the names DDL reports for it (`public.users`; an
    /// index also answers to its table's name).
    pub owners: BTreeMap<String, Vec<String>>,
    /// `schema.table` → rows.
    pub tables: BTreeMap<String, Rows>,
}

/// Quotes a string as an SQL literal that reads the same whatever
/// `standard_conforming_strings` says.
pub fn literal(s: &str) -> String {
    format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// With `filtered`, `expr = ANY($1)`, where `$1` holds qualified names and
/// `$2` the bare names they end with: each expression comes with its
/// bare-name column, so the server can use its catalog indexes. Without,
/// everything (a separate prepared query: a generic plan that had to serve
/// both could not use the indexes).
fn filter(filtered: bool, exprs: &[(&str, &str)]) -> String {
    if !filtered {
        return "($1::text[] IS NULL AND $2::text[] IS NULL OR true)".into();
    }
    let parts: Vec<String> = exprs
        .iter()
        .map(|(e, col)| {
            // `name` columns compare with a `name[]` to use the index.
            let bare = if col.ends_with("::text") {
                "$2::text[]"
            } else {
                "$2::name[]"
            };
            format!("({col} = ANY({bare}) AND {e} = ANY($1::text[]))")
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

fn not_extension_member(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep WHERE dep.classid = \
         '{class}'::pg_catalog.regclass AND dep.objid = {oid} AND dep.deptype = 'e')"
    )
}

/// The catalog queries, each returning one text column per object:
/// header line, then the definition.
fn schema_queries(filtered: bool) -> Vec<String> {
    let rel = filter(filtered, &[("n.nspname || '.' || c.relname", "c.relname")]);
    let relations = format!(
        "SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' \
           WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'type' END \
           || ' ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
         concat_ws(E'\\n', \
           CASE WHEN c.relkind = 'p' THEN '  partitioned by ' || pg_get_partkeydef(c.oid) END, \
           CASE WHEN c.relispartition THEN '  partition of ' || (SELECT i.inhparent::regclass::text \
             FROM pg_inherits i WHERE i.inhrelid = c.oid LIMIT 1) || ' ' || pg_get_expr(c.relpartbound, c.oid) END, \
           (SELECT string_agg('  column ' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) \
              || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END \
              || CASE a.attidentity WHEN 'a' THEN ' generated always as identity' \
                   WHEN 'd' THEN ' generated by default as identity' ELSE '' END \
              || CASE WHEN a.attgenerated = 's' THEN ' generated always as (' || pg_get_expr(d.adbin, d.adrelid) || ') stored' \
                   ELSE coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') END, \
              E'\\n' ORDER BY a.attnum) \
            FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), \
           (SELECT string_agg('  constraint ' || quote_ident(co.conname) || ' ' || pg_get_constraintdef(co.oid, true), \
              E'\\n' ORDER BY co.conname) FROM pg_constraint co WHERE co.conrelid = c.oid), \
           (SELECT string_agg('  trigger ' || pg_get_triggerdef(tg.oid, true) \
              || CASE tg.tgenabled WHEN 'D' THEN ' (disabled)' ELSE '' END, E'\\n' ORDER BY tg.tgname) \
            FROM pg_trigger tg WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal), \
           (SELECT string_agg('  policy ' || quote_ident(po.polname) || ' for ' || po.polcmd::text \
              || coalesce(' using (' || pg_get_expr(po.polqual, po.polrelid) || ')', '') \
              || coalesce(' with check (' || pg_get_expr(po.polwithcheck, po.polrelid) || ')', ''), \
              E'\\n' ORDER BY po.polname) FROM pg_policy po WHERE po.polrelid = c.oid), \
           CASE WHEN c.relrowsecurity THEN '  row level security enabled' END, \
           CASE WHEN c.relkind IN ('v', 'm') THEN '  as ' || \
             regexp_replace(btrim(pg_get_viewdef(c.oid, true)), '\\s+', ' ', 'g') END) , n.nspname || '.' || c.relname \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {PATH} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND {SYSTEM_SCHEMAS} AND {rel} \
           AND {ext}",
        ext = not_extension_member("pg_class", "c.oid"),
    );
    // Indexes named, or on a table named: two index lookups, not one OR.
    // Indexes that back a constraint are part of their table's image (its
    // `constraint` line), as in SQLite, where they have no text of their own.
    let idx_f = if filtered {
        "x.indexrelid IN (\
           SELECT c.oid FROM pg_class c JOIN pg_namespace cn ON cn.oid = c.relnamespace \
           WHERE c.relname = ANY($2::name[]) AND cn.nspname || '.' || c.relname = ANY($1::text[]) \
           UNION ALL \
           SELECT x2.indexrelid FROM pg_index x2 WHERE x2.indrelid IN (\
             SELECT c.oid FROM pg_class c JOIN pg_namespace cn ON cn.oid = c.relnamespace \
             WHERE c.relname = ANY($2::name[]) AND cn.nspname || '.' || c.relname = ANY($1::text[])))"
            .to_string()
    } else {
        filter(false, &[])
    };
    let indexes = format!(
        "SELECT 'index ' || quote_ident(n.nspname) || '.' || quote_ident(i.relname), \
           '  ' || pg_get_indexdef(i.oid) || CASE WHEN NOT x.indisvalid THEN ' (invalid)' ELSE '' END , \
           n.nspname || '.' || i.relname || chr(31) || tn.nspname || '.' || t.relname \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
           JOIN pg_namespace n ON n.oid = i.relnamespace \
           JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace \
         WHERE {PATH} AND {SYSTEM_SCHEMAS} AND {idx_f} AND {ext} \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.oid \
             AND co.conrelid = x.indrelid AND co.contype IN ('p', 'u', 'x'))",
        ext = not_extension_member("pg_class", "i.oid"),
    );
    let seq_f = filter(filtered, &[("n.nspname || '.' || c.relname", "c.relname")]);
    let sequences = format!(
        "SELECT 'sequence ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
           '  ' || format_type(s.seqtypid, NULL) || ' start ' || s.seqstart || ' increment ' || s.seqincrement \
           || ' min ' || s.seqmin || ' max ' || s.seqmax || ' cache ' || s.seqcache \
           || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END \
           || coalesce((SELECT ' owned by ' || d.refobjid::regclass::text || '.' || quote_ident(a.attname) \
                FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i') \
                  AND d.refclassid = 'pg_class'::regclass LIMIT 1), '') , n.nspname || '.' || c.relname \
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {PATH} AND {SYSTEM_SCHEMAS} AND {seq_f} AND {ext}",
        ext = not_extension_member("pg_class", "c.oid"),
    );
    let fn_f = filter(filtered, &[("n.nspname || '.' || p.proname", "p.proname")]);
    let functions = format!(
        "SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END \
           || quote_ident(n.nspname) || '.' || quote_ident(p.proname) \
           || '(' || pg_get_function_identity_arguments(p.oid) || ')', \
           '  ' || CASE WHEN p.prokind = 'p' THEN '' ELSE 'returns ' || pg_get_function_result(p.oid) || ' ' END \
           || 'body md5 ' || md5(CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE p.prosrc END) , n.nspname || '.' || p.proname \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE {PATH} AND {SYSTEM_SCHEMAS} AND {fn_f} AND {ext}",
        ext = not_extension_member("pg_proc", "p.oid"),
    );
    let ty_f = filter(filtered, &[("n.nspname || '.' || t.typname", "t.typname")]);
    let types = format!(
        "SELECT CASE t.typtype WHEN 'e' THEN 'enum ' WHEN 'd' THEN 'domain ' ELSE 'range ' END \
           || quote_ident(n.nspname) || '.' || quote_ident(t.typname), \
           '  ' || CASE t.typtype \
             WHEN 'e' THEN (SELECT coalesce(string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder), '') \
                            FROM pg_enum e WHERE e.enumtypid = t.oid) \
             WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod) \
               || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END \
               || coalesce(' default ' || t.typdefault, '') \
               || coalesce((SELECT ' ' || string_agg(quote_ident(co.conname) || ' ' || pg_get_constraintdef(co.oid, true), \
                    ' ' ORDER BY co.conname) FROM pg_constraint co WHERE co.contypid = t.oid), '') \
             ELSE (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) END , n.nspname || '.' || t.typname \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE {PATH} AND t.typtype IN ('e', 'd', 'r') AND {SYSTEM_SCHEMAS} AND {ty_f} AND {ext}",
        ext = not_extension_member("pg_type", "t.oid"),
    );
    let ext_f = filter(filtered, &[("x.extname::text", "x.extname")]);
    let extensions = format!(
        "SELECT 'extension ' || quote_ident(x.extname), '  version ' || x.extversion || ' in schema ' \
           || quote_ident(n.nspname) , x.extname::text \
         FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace \
         WHERE {PATH} AND x.extname <> 'plpgsql' AND {ext_f}"
    );
    let sch_f = filter(filtered, &[("n.nspname::text", "n.nspname")]);
    let schemas = format!(
        "SELECT 'schema ' || quote_ident(n.nspname), '', n.nspname::text FROM pg_namespace n \
         WHERE {PATH} AND {SYSTEM_SCHEMAS} AND {sch_f} AND {ext}",
        ext = not_extension_member("pg_namespace", "n.oid"),
    );
    let all = [
        relations, indexes, sequences, functions, types, extensions, schemas,
    ];
    let parts: Vec<String> = all.iter().map(|q| format!("({q})")).collect();
    vec![parts.join("\nUNION ALL\n")]
}

/// Runs `queries` in one round trip with `search_path` set to `pg_catalog`
/// (so the server prints every name schema-qualified, whatever the
/// migration set), restoring the session's `search_path` afterwards.
/// Returns the rows of each query (all columns as text).
pub fn run_batch(
    client: &mut Client,
    queries: &[String],
) -> Result<Vec<Vec<Vec<Option<String>>>>, postgres::Error> {
    run_batch_after(client, "", queries)
}

/// [`run_batch`], with `lead` (one command of twice's own, returning no
/// rows, such as `ROLLBACK TO SAVEPOINT`) first, in the same round trip.
pub fn run_batch_after(
    client: &mut Client,
    lead: &str,
    queries: &[String],
) -> Result<Vec<Vec<Vec<Option<String>>>>, postgres::Error> {
    let mut sql = String::new();
    if !lead.is_empty() {
        sql.push_str(lead);
        sql.push_str(";\n");
    }
    sql.push_str(
        "SELECT set_config('twice.saved_path', current_setting('search_path'), false), \
         set_config('search_path', 'pg_catalog', false);\n",
    );
    for q in queries {
        sql.push_str(q);
        sql.push_str(";\n");
    }
    sql.push_str("SELECT set_config('search_path', current_setting('twice.saved_path'), false);");
    let messages = client.simple_query(&sql)?;
    let mut results: Vec<Vec<Vec<Option<String>>>> = Vec::new();
    let mut current: Vec<Vec<Option<String>>> = Vec::new();
    for m in messages {
        match m {
            SimpleQueryMessage::Row(row) => {
                current.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                );
            }
            SimpleQueryMessage::CommandComplete(_) => results.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    if !lead.is_empty() && !results.is_empty() {
        results.remove(0);
    }
    // Drop the set_config rows around the real queries.
    if results.len() >= 2 {
        results.remove(0);
        results.pop();
    }
    Ok(results)
}

/// The catalog queries prepared on a connection, SQL-level (`PREPARE`), run
/// with `EXECUTE` in [`run_catalog_batch`]es only. Their plans are generic
/// (the session's `plan_cache_mode`), made when first run and kept: a plan
/// made while the catalogs were small would read them from end to end
/// (`Seq Scan on pg_class`) for the rest of the run, so those batches plan
/// with `enable_seqscan` off and the catalogs' indexes are used however
/// large the history has grown.
#[derive(Default)]
pub struct Catalog {
    /// `twice_schema_named` (objects by name) is prepared.
    schema_named: bool,
    /// `twice_schema_all` (every object) is prepared.
    schema_all: bool,
    /// `twice_table_columns` ([`TABLE_COLUMNS`]) is prepared.
    table_columns: bool,
    /// The [`Read`]s prepared, by [`Read::name`].
    reads: BTreeSet<&'static str>,
}

/// The reads around a run, prepared once per session like the catalog
/// queries (their planning cost more than running them), run with
/// `enable_seqscan` off between [`SEQSCAN_OFF`] and [`SEQSCAN_BACK`].
#[derive(Clone, Copy, Debug)]
pub enum Read {
    /// [`touched_tables_sql`] since this transaction id.
    Touched(i64),
    /// [`sequences_sql`] of the sequences the transaction used.
    SeqsUsed,
    /// [`sequences_sql`] of the sequences it used or created since this
    /// transaction id.
    SeqsSince(i64),
}

impl Read {
    fn name(self) -> &'static str {
        match self {
            Read::Touched(_) => "twice_touched",
            Read::SeqsUsed => "twice_seqs_used",
            Read::SeqsSince(_) => "twice_seqs_since",
        }
    }

    fn prepare(self) -> String {
        match self {
            Read::Touched(_) => format!(
                "PREPARE twice_touched(xid) AS {}",
                touched_tables_where("$1")
            ),
            Read::SeqsUsed => format!(
                "PREPARE twice_seqs_used AS {}",
                sequences_sql(&used_condition_at(None))
            ),
            Read::SeqsSince(_) => format!(
                "PREPARE twice_seqs_since(xid) AS {}",
                sequences_sql(&used_condition_at(Some("$1")))
            ),
        }
    }

    fn execute(self) -> String {
        match self {
            Read::Touched(x) | Read::SeqsSince(x) => {
                format!("EXECUTE {}({})", self.name(), xid_literal(x))
            }
            Read::SeqsUsed => format!("EXECUTE {}", self.name()),
        }
    }
}

/// Transaction id `x` (a 64-bit `txid_current()`) as an `xid` literal.
fn xid_literal(x: i64) -> String {
    format!("'{}'::xid", x.rem_euclid(1 << 32))
}

/// The commands that run `reads` in one batch: the `PREPARE`s `catalog`
/// has not made yet, [`SEQSCAN_OFF`], one `EXECUTE` per read, then
/// [`SEQSCAN_BACK`]. Returns them and the index of the first `EXECUTE`
/// among them (their results follow one another).
pub fn prepared_reads(catalog: &mut Option<Catalog>, reads: &[Read]) -> (Vec<String>, usize) {
    let prepared = catalog.get_or_insert_with(Catalog::default);
    let mut commands = Vec::new();
    for r in reads {
        if prepared.reads.insert(r.name()) {
            commands.push(r.prepare());
        }
    }
    commands.push(SEQSCAN_OFF.to_string());
    let at = commands.len();
    commands.extend(reads.iter().map(|r| r.execute()));
    commands.push(SEQSCAN_BACK.to_string());
    (commands, at)
}

/// A table's columns with their types, its primary key columns and its
/// column names: `$1` its qualified name, `$2` the bare names it may have
/// (every suffix after a dot), for the catalog's name index.
const TABLE_COLUMNS: &str = "SELECT (SELECT string_agg(quote_ident(a.attname) || ' ' \
       || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_attribute a \
       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), \
     (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) FROM pg_constraint co, \
        unnest(co.conkey) WITH ORDINALITY k(attnum, ord) \
        JOIN pg_attribute a ON a.attnum = k.attnum \
      WHERE co.conrelid = c.oid AND co.contype = 'p' AND a.attrelid = c.oid), \
     (SELECT string_agg(a.attname::text, chr(31) ORDER BY a.attnum) FROM pg_attribute a \
      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relname = ANY ($2) AND n.nspname || '.' || c.relname = $1 \
       AND c.relkind IN ('r', 'p')";

/// Turns `enable_seqscan` off for twice's prepared catalog reads, keeping
/// the session's value (a migration may have set it) for [`SEQSCAN_BACK`].
pub const SEQSCAN_OFF: &str =
    "SELECT set_config('twice.saved_seqscan', current_setting('enable_seqscan'), false), \
     set_config('enable_seqscan', 'off', false)";

/// Puts back the session's `enable_seqscan` after [`SEQSCAN_OFF`].
pub const SEQSCAN_BACK: &str =
    "SELECT set_config('enable_seqscan', current_setting('twice.saved_seqscan'), false)";

/// [`run_batch_after`] for twice's prepared catalog queries: also plans
/// with `enable_seqscan` off (the session's value is put back at the end),
/// see [`Catalog`].
pub fn run_catalog_batch(
    client: &mut Client,
    lead: &str,
    queries: &[String],
) -> Result<Vec<Vec<Vec<Option<String>>>>, postgres::Error> {
    let mut all = Vec::with_capacity(queries.len() + 2);
    all.push(SEQSCAN_OFF.to_string());
    all.extend(queries.iter().cloned());
    all.push(SEQSCAN_BACK.to_string());
    let mut results = run_batch_after(client, lead, &all)?;
    if results.len() >= 2 {
        results.remove(0);
        results.pop();
    }
    Ok(results)
}

/// An `ARRAY[...]::text[]` of string literals.
fn text_array(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| literal(&s)).collect();
    if items.is_empty() {
        "'{}'::text[]".to_string()
    } else {
        format!("ARRAY[{}]::text[]", items.join(", "))
    }
}

/// Reads the schema objects in `scope.objects` and the rows of
/// `scope.tables` (every user table when `None`).
pub fn take(
    client: &mut Client,
    catalog: &mut Option<Catalog>,
    scope: &Scope,
) -> Result<Snapshot, postgres::Error> {
    take_after(client, catalog, scope, "")
}

/// [`take`] after `lead` (a command of twice's own, returning no rows),
/// sent in the snapshot's first round trip.
pub fn take_after(
    client: &mut Client,
    catalog: &mut Option<Catalog>,
    scope: &Scope,
    lead: &str,
) -> Result<Snapshot, postgres::Error> {
    let no_objects = scope.objects.as_ref().is_some_and(BTreeSet::is_empty);
    if no_objects && scope.tables.as_ref().is_some_and(BTreeSet::is_empty) {
        if !lead.is_empty() {
            client.batch_execute(lead)?;
        }
        return Ok(Snapshot::default());
    }
    let mut snap = Snapshot::default();
    let mut lead = lead;
    let tables: Vec<String> = match &scope.tables {
        Some(t) => t.iter().cloned().collect(),
        None => {
            // The table list must be read after the lead.
            if !lead.is_empty() {
                client.batch_execute(lead)?;
                lead = "";
            }
            user_tables(client)?
        }
    };
    let prepared = catalog.get_or_insert_with(Catalog::default);
    // The catalog reads in one round trip, after the lead (so the schema
    // is read as the lead left it): each prepared in the round trip of
    // its first use.
    let mut queries = Vec::new();
    let prepare_columns = !tables.is_empty() && !prepared.table_columns;
    if prepare_columns {
        queries.push(format!(
            "PREPARE twice_table_columns(text, name[]) AS {TABLE_COLUMNS}"
        ));
    }
    let first_table = queries.len();
    for t in &tables {
        let lit = literal(t);
        // The bare name too (every suffix after a dot: names may hold
        // dots), so the server finds the table with its catalog index
        // instead of reading all of `pg_class`.
        let bare: Vec<String> = t
            .match_indices('.')
            .map(|(i, _)| literal(&t[i + 1..]))
            .collect();
        queries.push(format!(
            "EXECUTE twice_table_columns({lit}, ARRAY[{}]::name[])",
            bare.join(", ")
        ));
    }
    let mut schema_at = None;
    let (mut prepare_named, mut prepare_all) = (false, false);
    if !no_objects {
        match &scope.objects {
            Some(objects) => {
                if !prepared.schema_named {
                    prepare_named = true;
                    queries.push(format!(
                        "PREPARE twice_schema_named(text[], text[]) AS {}",
                        schema_queries(true).join("")
                    ));
                }
                let bare = objects
                    .iter()
                    .map(|n| n.rsplit_once('.').map_or(n.as_str(), |x| x.1).to_string());
                schema_at = Some(queries.len());
                queries.push(format!(
                    "EXECUTE twice_schema_named({}, {})",
                    text_array(objects.iter().cloned()),
                    text_array(bare)
                ));
            }
            None => {
                if !prepared.schema_all {
                    prepare_all = true;
                    queries.push(format!(
                        "PREPARE twice_schema_all(text[], text[]) AS {}",
                        schema_queries(false).join("")
                    ));
                }
                // Everything is read: sequential scans are the right plan.
                queries.push("SELECT set_config('enable_seqscan', 'on', false)".to_string());
                schema_at = Some(queries.len());
                queries.push("EXECUTE twice_schema_all(NULL, NULL)".to_string());
            }
        }
    }
    let results = if queries.is_empty() {
        if !lead.is_empty() {
            client.batch_execute(lead)?;
        }
        Vec::new()
    } else {
        run_catalog_batch(client, lead, &queries)?
    };
    prepared.table_columns |= prepare_columns;
    prepared.schema_named |= prepare_named;
    prepared.schema_all |= prepare_all;
    if let Some(rows) = schema_at.and_then(|i| results.get(i)) {
        for r in rows {
            let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
            let head = get(0);
            snap.owners.insert(
                head.clone(),
                get(2).split('\u{1f}').map(str::to_string).collect(),
            );
            snap.schema.insert(head, get(1));
        }
    }
    // Row reads only for tables that exist here, quoted from their parts.
    let mut row_queries = Vec::new();
    let mut row_tables = Vec::new();
    for (t, rows) in tables.iter().zip(results.iter().skip(first_table)) {
        let Some(first) = rows.first() else {
            continue;
        };
        let columns = first.first().cloned().flatten().unwrap_or_default();
        let key: Vec<String> = first
            .get(1)
            .cloned()
            .flatten()
            .map(|k| k.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let names: Vec<String> = first
            .get(2)
            .cloned()
            .flatten()
            .map(|k| k.split('\u{1f}').map(str::to_string).collect())
            .unwrap_or_default();
        let Some((schema, name)) = t.split_once('.') else {
            continue;
        };
        row_queries.push(rows_sql(
            &super::server::ident(schema),
            &super::server::ident(name),
        ));
        row_tables.push((t.clone(), columns, names, key));
    }
    if !row_queries.is_empty() {
        let results = run_batch(client, &row_queries)?;
        let mut large = Vec::new();
        for ((t, columns, names, key), rows) in row_tables.into_iter().zip(results) {
            let mut rows: Vec<String> = rows
                .into_iter()
                .map(|r| r.into_iter().next().flatten().unwrap_or_default())
                .collect();
            if rows.len() > MAX_SNAPSHOT_ROWS {
                large.push(t.clone());
                rows = Vec::new();
            }
            rows.sort();
            snap.tables.insert(
                t,
                Rows {
                    columns,
                    names,
                    key,
                    rows,
                    summary: None,
                },
            );
        }
        // Tables too large to keep, as the other engines keep them: a count
        // and a hash, here computed by the server in one more round trip.
        if !large.is_empty() {
            let queries: Vec<String> = large
                .iter()
                .filter_map(|t| t.split_once('.'))
                .map(|(schema, name)| {
                    summary_sql(&super::server::ident(schema), &super::server::ident(name))
                })
                .collect();
            let results = run_batch(client, &queries)?;
            for (t, rows) in large.iter().zip(results) {
                let first = rows.into_iter().next().unwrap_or_default();
                let get = |i: usize| first.get(i).cloned().flatten().unwrap_or_default();
                let count = get(0).parse::<u64>().unwrap_or(0);
                // A sum of 60-bit numbers: wraps to 64 bits as the other
                // engines' sums of row hashes do.
                let hash = get(1).parse::<u128>().unwrap_or(0) as u64;
                if let Some(r) = snap.tables.get_mut(t) {
                    r.summary = Some((count, hash));
                }
            }
        }
    }
    Ok(snap)
}

/// Rows read of one table at most: one more than kept, to tell a table too
/// large to keep.
const MAX_SNAPSHOT_ROWS: usize = crate::replay::sqlite::MAX_SNAPSHOT_ROWS;

/// The count and order-independent hash of the rows of table
/// `schema.name` (both quoted): the sum of a 60-bit slice of each row's
/// md5, as text (a numeric: it does not overflow).
fn summary_sql(schema: &str, name: &str) -> String {
    format!(
        "SELECT count(*)::text, coalesce(sum(('x' || left(md5(row_to_json(x.*)::text), 15))\
         ::bit(60)::bigint), 0)::text FROM {schema}.{name} x"
    )
}

/// The query reading the rows of table `schema.name` (both quoted), one
/// JSON object a row. A row longer than [`MAX_VALUE_BYTES`] has each long
/// value replaced by its length and digest on the server, as the other
/// engines keep long values: the rows come in one response, so twice's
/// memory would otherwise follow the data a migration makes (a few bytes of
/// SQL can fill a table with gigabytes of repeated text).
///
/// [`MAX_VALUE_BYTES`]: crate::replay::engine::MAX_VALUE_BYTES
fn rows_sql(schema: &str, name: &str) -> String {
    let max = crate::replay::engine::MAX_VALUE_BYTES;
    // `x.*`, not `x`: a column named `x` would win over the alias.
    format!(
        "SELECT CASE WHEN octet_length(r.j) <= {max} THEN r.j ELSE (\
           SELECT json_object_agg(e.k, CASE \
             WHEN json_typeof(e.v) = 'string' AND octet_length(e.v #>> '{{}}') > {max} \
               THEN to_json('<text of ' || octet_length(e.v #>> '{{}}') || ' bytes, md5 ' \
                            || md5(e.v #>> '{{}}') || '>') \
             WHEN octet_length(e.v::text) > {max} \
               THEN to_json('<value of ' || octet_length(e.v::text) || ' bytes, md5 ' \
                            || md5(e.v::text) || '>') \
             ELSE e.v END ORDER BY e.o)::text \
           FROM json_each(r.j::json) WITH ORDINALITY AS e(k, v, o)) END \
         FROM (SELECT row_to_json(x.*)::text AS j FROM {schema}.{name} x LIMIT {limit}) r",
        limit = MAX_SNAPSHOT_ROWS + 1
    )
}

/// Every user table (`schema.name`), outside extensions.
pub fn user_tables(client: &mut Client) -> Result<Vec<String>, postgres::Error> {
    let q = format!(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {SYSTEM_SCHEMAS} AND {ext} ORDER BY 1",
        ext = not_extension_member("pg_class", "c.oid"),
    );
    let rows = run_batch(client, &[q])?;
    Ok(rows
        .into_iter()
        .flatten()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect())
}

/// One sequence's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqState {
    /// `schema.name`, as stored.
    pub name: String,
    /// `schema.name` as written in SQL (quoted as needed).
    pub quoted: String,
    /// `last_value`, or `None` before the first `nextval`.
    pub last_value: Option<i64>,
    pub start_value: i64,
    /// The table whose column owns it (`schema.table`), if any.
    pub table: Option<String>,
}

/// The value of every user sequence, keyed by `schema.name`.
pub fn sequences(client: &mut Client) -> Result<BTreeMap<String, SeqState>, postgres::Error> {
    Ok(read_sequences(client, "true")?
        .into_values()
        .map(|s| (s.name.clone(), s))
        .collect())
}

/// The sequences `condition` (SQL over `c`, the sequence's `pg_class` row)
/// selects, keyed by OID.
pub fn read_sequences(
    client: &mut Client,
    condition: &str,
) -> Result<BTreeMap<u32, SeqState>, postgres::Error> {
    let rows = run_batch(client, &[sequences_sql(condition)])?;
    Ok(parse_sequences(rows.into_iter().flatten()))
}

/// The query behind [`read_sequences`].
pub fn sequences_sql(condition: &str) -> String {
    format!(
        "SELECT c.oid::text, n.nspname || '.' || c.relname, \
           quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
           pg_sequence_last_value(c.oid)::text, s.seqstart::text, \
           (SELECT tn.nspname || '.' || t.relname FROM pg_depend d \
              JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace \
            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i') \
              AND d.refclassid = 'pg_class'::regclass LIMIT 1) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           JOIN pg_sequence s ON s.seqrelid = c.oid \
         WHERE c.relkind = 'S' AND n.nspname <> '_twice' AND ({condition})"
    )
}

/// Rows of [`sequences_sql`], keyed by OID.
pub fn parse_sequences(
    rows: impl IntoIterator<Item = Vec<Option<String>>>,
) -> BTreeMap<u32, SeqState> {
    let mut out = BTreeMap::new();
    for r in rows {
        let get = |i: usize| r.get(i).cloned().flatten();
        let (Some(oid), Some(name)) = (get(0).and_then(|o| o.parse().ok()), get(1)) else {
            continue;
        };
        out.insert(
            oid,
            SeqState {
                name,
                quoted: get(2).unwrap_or_default(),
                last_value: get(3).and_then(|v| v.parse().ok()),
                start_value: get(4).and_then(|v| v.parse().ok()).unwrap_or(1),
                table: get(5),
            },
        );
    }
    out
}

/// The relations the current transaction holds a lock on (any mode): every
/// relation a statement of it read, wrote, created or altered, but in a
/// subtransaction rolled back since (which undid its writes and its DDL).
/// Candidates for the passes over `pg_class` below, so they look up a few
/// relations by the catalog's index instead of reading every row of it:
/// their cost follows the migration, not the history.
pub const LOCKED: &str = "ARRAY(SELECT l.relation FROM pg_catalog.pg_locks l \
     WHERE l.locktype = 'relation' AND l.pid = pg_catalog.pg_backend_pid() \
     AND l.relation IS NOT NULL)";

/// Sequences the current transaction used (`nextval`, `setval`) or created
/// since transaction id `since`, when given. Looked up by oid among the
/// relations the transaction holds a lock on ([`LOCKED`]), instead of
/// reading all of `pg_class` or `pg_sequence`: a sequence's first use in a
/// transaction locks it until the transaction ends, even when the
/// subtransaction that used it is rolled back (the server gives that lock
/// to the top transaction, as the value stays moved), and creating,
/// renaming or altering one locks it too.
pub fn used_condition(since: Option<i64>) -> String {
    used_condition_at(since.map(xid_literal).as_deref())
}

/// [`used_condition`], `since` an SQL expression of type `xid`.
fn used_condition_at(since: Option<&str>) -> String {
    match since {
        Some(x) => format!(
            "c.oid = ANY ({LOCKED}) AND \
             (pg_stat_get_xact_blocks_fetched(c.oid) > 0 OR age(c.xmin) <= age({x}))"
        ),
        None => format!("c.oid = ANY ({LOCKED}) AND pg_stat_get_xact_blocks_fetched(c.oid) > 0"),
    }
}

/// Puts sequences back to `before` where `now` differs (sequence values are
/// not transactional: a rolled-back second run still consumed them).
pub fn restore_sequences(
    client: &mut Client,
    before: &BTreeMap<String, SeqState>,
    now: &BTreeMap<String, SeqState>,
) -> Result<(), postgres::Error> {
    let sql = restore_sequences_sql(before, now);
    if sql.is_empty() {
        return Ok(());
    }
    client.batch_execute(&sql)
}

/// The `setval` calls of [`restore_sequences`] (empty when none moved).
pub fn restore_sequences_sql(
    before: &BTreeMap<String, SeqState>,
    now: &BTreeMap<String, SeqState>,
) -> String {
    let mut sql = String::new();
    for (k, b) in before {
        let Some(n) = now.get(k) else { continue };
        if n.last_value == b.last_value {
            continue;
        }
        let lit = literal(&b.quoted);
        match b.last_value {
            Some(v) => sql.push_str(&format!("SELECT pg_catalog.setval({lit}, {v}, true);\n")),
            None => sql.push_str(&format!(
                "SELECT pg_catalog.setval({lit}, {}, false);\n",
                b.start_value
            )),
        }
    }
    sql
}

/// Tables the current transaction wrote (rows inserted, updated or deleted,
/// by any statement, trigger or function) or whose catalog row it changed
/// (TRUNCATE, ALTER) since transaction id `since` was assigned, among those
/// it holds a lock on ([`LOCKED`]: a write or an `ALTER` locks the table
/// until the end of the transaction; a table whose writes were all undone
/// by a `ROLLBACK TO` is left out, its rows are as they were; a `GRANT`,
/// which takes no lock, changes no row either).
pub fn touched_tables(
    client: &mut Client,
    since: i64,
) -> Result<BTreeSet<String>, postgres::Error> {
    let rows = run_batch(client, &[touched_tables_sql(since)])?;
    Ok(first_column(rows.into_iter().flatten()))
}

/// The query behind [`touched_tables`].
pub fn touched_tables_sql(since: i64) -> String {
    touched_tables_where(&xid_literal(since))
}

/// [`touched_tables_sql`], `since` an SQL expression of type `xid`.
fn touched_tables_where(since: &str) -> String {
    format!(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.oid = ANY ({LOCKED}) AND c.relkind IN ('r', 'p') \
           AND (pg_stat_get_xact_tuples_inserted(c.oid) + pg_stat_get_xact_tuples_updated(c.oid) \
                + pg_stat_get_xact_tuples_deleted(c.oid) > 0 \
                OR (age(c.xmin) <= age({since}) AND c.xmin <> '2'::xid)) \
           AND {SYSTEM_SCHEMAS}"
    )
}

/// The first column of each row.
pub fn first_column(rows: impl IntoIterator<Item = Vec<Option<String>>>) -> BTreeSet<String> {
    rows.into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
}
