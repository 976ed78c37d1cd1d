//! What a run changed, the MySQL way. DDL commits, so a second run cannot be
//! rolled back: it runs on a copy of the objects it can reach, made in a
//! sibling database, and both are read from `information_schema` and
//! `SHOW CREATE` into the engine-neutral [`Observation`].
//!
//! **Scope.** The objects a part can reach are the tables, views, triggers,
//! routines and events its statements name, closed over what those name in
//! turn (a view's or routine's body, a trigger's body and table, foreign
//! keys both ways). A part that builds SQL at run time (`PREPARE`,
//! `EXECUTE`) reaches everything. Only the scope is copied and read, so the
//! cost of a trial follows what the migration touches, not the database's
//! size.

pub(super) use super::names::*;
use super::server::ident;
use crate::model::Part;
use crate::replay::engine::{ObjectKey, RowKey, SchemaImage, SequenceMove, TableData, Value};
use crate::report::FileUnit;
use mysql::consts::ColumnType;
use mysql::prelude::Queryable;
use mysql::Conn;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Rows kept per table; larger tables are compared by count and hash.
const MAX_ROWS: usize = crate::replay::sqlite::MAX_SNAPSHOT_ROWS;

/// One row of the catalog query.
#[derive(Clone, Debug)]
pub(super) struct CatalogObj {
    /// `table`, `view`, `sequence`, `trigger`, `procedure`, `function`,
    /// `event`; `fk` (name: the table, table: the referenced table).
    pub kind: String,
    pub name: String,
    pub table: String,
    pub text: String,
}

/// The catalog of a database: its [`CatalogObj`]s, indexed by lower-case
/// name (and, for foreign keys and triggers, by their table), so that a
/// trial's scope and a refresh cost what they reach, not the size of the
/// database (a history of a thousand migrations holds thousands of rows).
#[derive(Clone, Debug, Default)]
pub(super) struct Catalog {
    /// Lower-case `name` → the rows of that name (every kind).
    by_name: HashMap<String, Vec<CatalogObj>>,
    /// Lower-case `table` of a foreign key or trigger row → the lower-case
    /// names of such rows.
    by_table: HashMap<String, BTreeSet<String>>,
}

impl Catalog {
    pub fn new(objs: Vec<CatalogObj>) -> Catalog {
        let mut c = Catalog::default();
        for o in objs {
            c.insert(o);
        }
        c
    }

    /// Adds a row, unless the same row is there.
    pub fn insert(&mut self, o: CatalogObj) {
        let name = o.name.to_lowercase();
        let rows = self.by_name.entry(name.clone()).or_default();
        if rows
            .iter()
            .any(|c| c.kind == o.kind && c.name == o.name && c.table == o.table)
        {
            return;
        }
        if o.kind == "fk" || o.kind == "trigger" {
            self.by_table
                .entry(o.table.to_lowercase())
                .or_default()
                .insert(name);
        }
        rows.push(o);
    }

    /// Removes the rows named one of `lower` (lower-case) and the triggers
    /// of tables so named; routines and events only when `routines` (lower
    /// case) names them too.
    fn remove_named(&mut self, lower: &BTreeSet<String>, routines: &BTreeSet<String>) {
        let routine =
            |o: &CatalogObj| matches!(o.kind.as_str(), "procedure" | "function" | "event");
        for n in lower.iter().chain(routines) {
            if let Some(rows) = self.by_name.remove(n) {
                let (gone, kept): (Vec<CatalogObj>, Vec<CatalogObj>) =
                    rows.into_iter().partition(|o| {
                        if routine(o) {
                            routines.contains(n)
                        } else {
                            lower.contains(n)
                        }
                    });
                for o in gone
                    .iter()
                    .filter(|o| o.kind == "fk" || o.kind == "trigger")
                {
                    let t = o.table.to_lowercase();
                    if let Some(set) = self.by_table.get_mut(&t) {
                        set.remove(n);
                    }
                }
                if !kept.is_empty() {
                    self.by_name.insert(n.clone(), kept);
                }
            }
            if !lower.contains(n) {
                continue;
            }
            let trig: Vec<String> = self
                .by_table
                .get(n)
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            for name in trig {
                let Some(rows) = self.by_name.get_mut(&name) else {
                    continue;
                };
                rows.retain(|o| !(o.kind == "trigger" && o.table.to_lowercase() == *n));
                let fk_left = rows
                    .iter()
                    .any(|o| o.kind == "fk" && o.table.to_lowercase() == *n);
                if rows.is_empty() {
                    self.by_name.remove(&name);
                }
                if !fk_left {
                    if let Some(set) = self.by_table.get_mut(n) {
                        set.remove(&name);
                    }
                }
            }
        }
    }

    /// The rows of a lower-case name.
    fn named(&self, lower: &str) -> impl Iterator<Item = &CatalogObj> {
        self.by_name.get(lower).into_iter().flatten()
    }

    /// The foreign key and trigger rows whose table has this lower-case
    /// name.
    fn on_table<'c>(&'c self, lower: &'c str) -> impl Iterator<Item = &'c CatalogObj> + 'c {
        self.by_table
            .get(lower)
            .into_iter()
            .flatten()
            .flat_map(move |n| self.named(n))
            .filter(move |o| {
                (o.kind == "fk" || o.kind == "trigger") && o.table.to_lowercase() == lower
            })
    }

    /// The object of this kind and exact name.
    pub fn get(&self, kind: &str, name: &str) -> Option<&CatalogObj> {
        self.named(&name.to_lowercase())
            .find(|o| o.kind == kind && o.name == name)
    }

    /// Whether a table has this name, in any case.
    pub fn has_table(&self, name: &str) -> bool {
        self.named(&name.to_lowercase()).any(|o| o.kind == "table")
    }

    /// Whether any table has a trigger.
    pub fn has_trigger(&self) -> bool {
        self.iter().any(|o| o.kind == "trigger")
    }

    /// Every row.
    pub fn iter(&self) -> impl Iterator<Item = &CatalogObj> {
        self.by_name.values().flatten()
    }
}

fn s(v: Option<&mysql::Value>) -> String {
    match v {
        Some(mysql::Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(mysql::Value::NULL) | None => String::new(),
        Some(other) => other.as_sql(true).trim_matches('\'').to_string(),
    }
}

/// The catalog query for database `db`: every object, or (`names`) only
/// those named so (tables, views and foreign keys by their table, triggers
/// by their table, routines and events by their name), each part an
/// equality on a column the server looks up without scanning the database.
fn catalog_sql(db: &str, names: Option<&[String]>) -> String {
    let d = super::server::literal(db);
    let parts = [
        (
            "SELECT CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN 'sequence' \
             ELSE 'table' END, TABLE_NAME, TABLE_NAME, '' FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = {d}",
            "TABLE_NAME",
        ),
        (
            "SELECT 'trigger', TRIGGER_NAME, EVENT_OBJECT_TABLE, \
             CONCAT(ACTION_TIMING, ' ', EVENT_MANIPULATION, ' FOR EACH ROW ', ACTION_STATEMENT) \
             FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = {d}",
            "EVENT_OBJECT_TABLE",
        ),
        (
            "SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME, ROUTINE_NAME, \
             CONCAT('RETURNS ', COALESCE(DTD_IDENTIFIER, ''), ' ', \
             COALESCE(ROUTINE_DEFINITION, '')) \
             FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = {d}",
            "ROUTINE_NAME",
        ),
        (
            "SELECT 'event', EVENT_NAME, EVENT_NAME, \
             CONCAT(COALESCE(EVENT_TYPE, ''), ' ', COALESCE(INTERVAL_VALUE, ''), ' ', \
             COALESCE(INTERVAL_FIELD, ''), ' ', COALESCE(STATUS, ''), ' ', \
             COALESCE(EVENT_DEFINITION, '')) \
             FROM information_schema.EVENTS WHERE EVENT_SCHEMA = {d}",
            "EVENT_NAME",
        ),
        (
            "SELECT 'fk', TABLE_NAME, REFERENCED_TABLE_NAME, CONSTRAINT_NAME \
             FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = {d}",
            "TABLE_NAME",
        ),
        (
            "SELECT 'viewdef', TABLE_NAME, TABLE_NAME, VIEW_DEFINITION \
             FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {d}",
            "TABLE_NAME",
        ),
    ];
    let mut selects = Vec::new();
    for (sql, col) in parts {
        let sql = sql.replace("{d}", &d);
        match names {
            None => selects.push(sql),
            Some(names) => {
                for n in names {
                    selects.push(format!("{sql} AND {col} = {}", super::server::literal(n)));
                }
            }
        }
    }
    selects.join(" UNION ALL ")
}

fn read_catalog(conn: &mut Conn, db: &str, sql: &str) -> Result<Vec<CatalogObj>, mysql::Error> {
    let mut out = Vec::new();
    for row in conn.query_iter(sql)? {
        let row = row?;
        let text = s(row.as_ref(3))
            .replace(&format!("{}.", ident(db)), "")
            .replace(&format!("{db}."), "");
        out.push(CatalogObj {
            kind: s(row.as_ref(0)),
            name: s(row.as_ref(1)),
            table: s(row.as_ref(2)),
            text,
        });
    }
    Ok(out)
}

/// Every object of database `db`, in one round trip.
pub(super) fn catalog(conn: &mut Conn, db: &str) -> Result<Catalog, mysql::Error> {
    Ok(Catalog::new(read_catalog(
        conn,
        db,
        &catalog_sql(db, None),
    )?))
}

/// Brings `cat` (the catalog of `db`) up to date for the objects named
/// `names` (as written, any case): what a kept run that names only them
/// can have changed. Two round trips: which of the names are tables,
/// views, sequences, routines or events now (an equality on the table
/// name each, so the server looks for that file only; one pass over the
/// routines and events), then the triggers and foreign keys of those that
/// are tables and the definitions of those that are views.
pub(super) fn refresh_catalog(
    conn: &mut Conn,
    db: &str,
    cat: &mut Catalog,
    names: &BTreeSet<String>,
    routines: &BTreeSet<String>,
) -> Result<(), mysql::Error> {
    // A trigger the run names is read again with its table's triggers.
    let mut names = names.clone();
    let trigger_tables: Vec<String> = names
        .iter()
        .flat_map(|n| cat.named(&n.to_lowercase()))
        .filter(|o| o.kind == "trigger")
        .map(|o| o.table.clone())
        .collect();
    names.extend(trigger_tables);
    if names.is_empty() && routines.is_empty() {
        return Ok(());
    }
    let d = super::server::literal(db);
    // Tables, views and sequences: an equality on the name each (the
    // server looks for that file only). Routines and events: an equality
    // each too (`IN` makes the server read every routine it has), and only
    // for the names a run can create, change or drop one by.
    let mut selects: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "SELECT CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN \
                 'sequence' ELSE 'table' END, TABLE_NAME, TABLE_NAME, '' \
                 FROM information_schema.TABLES WHERE TABLE_SCHEMA = {d} AND TABLE_NAME = {}",
                super::server::literal(n)
            )
        })
        .collect();
    for n in routines {
        let n = super::server::literal(n);
        selects.push(format!(
            "SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME, ROUTINE_NAME, \
             CONCAT('RETURNS ', COALESCE(DTD_IDENTIFIER, ''), ' ', \
             COALESCE(ROUTINE_DEFINITION, '')) \
             FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = {d} AND ROUTINE_NAME = {n}"
        ));
        selects.push(format!(
            "SELECT 'event', EVENT_NAME, EVENT_NAME, \
             CONCAT(COALESCE(EVENT_TYPE, ''), ' ', COALESCE(INTERVAL_VALUE, ''), ' ', \
             COALESCE(INTERVAL_FIELD, ''), ' ', COALESCE(STATUS, ''), ' ', \
             COALESCE(EVENT_DEFINITION, '')) \
             FROM information_schema.EVENTS WHERE EVENT_SCHEMA = {d} AND EVENT_NAME = {n}"
        ));
    }
    let mut fresh: Vec<CatalogObj> = Vec::new();
    // Keep each query a reasonable size.
    for chunk in selects.chunks(128) {
        fresh.extend(read_catalog(conn, db, &chunk.join(" UNION ALL "))?);
    }
    // Their triggers and foreign keys (tables), definitions (views).
    let mut details: Vec<String> = Vec::new();
    for o in &fresh {
        let n = super::server::literal(&o.name);
        match o.kind.as_str() {
            "table" => {
                details.push(format!(
                    "SELECT 'trigger', TRIGGER_NAME, EVENT_OBJECT_TABLE, \
                     CONCAT(ACTION_TIMING, ' ', EVENT_MANIPULATION, ' FOR EACH ROW ', \
                     ACTION_STATEMENT) FROM information_schema.TRIGGERS \
                     WHERE EVENT_OBJECT_SCHEMA = {d} AND EVENT_OBJECT_TABLE = {n}"
                ));
                details.push(format!(
                    "SELECT 'fk', TABLE_NAME, REFERENCED_TABLE_NAME, CONSTRAINT_NAME \
                     FROM information_schema.REFERENTIAL_CONSTRAINTS \
                     WHERE CONSTRAINT_SCHEMA = {d} AND TABLE_NAME = {n}"
                ));
            }
            "view" => details.push(format!(
                "SELECT 'viewdef', TABLE_NAME, TABLE_NAME, VIEW_DEFINITION \
                 FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {d} AND TABLE_NAME = {n}"
            )),
            _ => {}
        }
    }
    for chunk in details.chunks(128) {
        fresh.extend(read_catalog(conn, db, &chunk.join(" UNION ALL "))?);
    }
    let lower: BTreeSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
    let routines: BTreeSet<String> = routines.iter().map(|n| n.to_lowercase()).collect();
    cat.remove_named(&lower, &routines);
    for o in fresh {
        cat.insert(o);
    }
    Ok(())
}

/// The objects (kind, name) in reach of names `names`: see the module
/// documentation. A table a reached table references (its foreign keys'
/// parent) is copied for the key checks but not followed further: nothing
/// the part runs writes to it unless the part reaches it otherwise. Tables
/// that reference a reached table are followed (cascades). `fk` and
/// `viewdef` rows are never in the result.
pub(super) fn scope(
    cat: &Catalog,
    names: &BTreeSet<String>,
    everything: bool,
) -> BTreeSet<(String, String)> {
    let is_object = |o: &CatalogObj| o.kind != "fk" && o.kind != "viewdef";
    let mut set: BTreeSet<(String, String)> = BTreeSet::new();
    if everything {
        return cat
            .iter()
            .filter(|o| is_object(o))
            .map(|o| (o.kind.clone(), o.name.clone()))
            .collect();
    }
    // (lower-case name, follow what it reaches)
    let mut queue: Vec<(String, bool)> = names.iter().map(|n| (n.clone(), true)).collect();
    let mut expanded: BTreeSet<String> = BTreeSet::new();
    while let Some((n, follow)) = queue.pop() {
        for o in cat.named(&n).filter(|o| is_object(o)) {
            set.insert((o.kind.clone(), o.name.clone()));
        }
        if !follow || !expanded.insert(n.clone()) {
            continue;
        }
        // Rows named `n`: its foreign keys, triggers, body, definition.
        for o in cat.named(&n) {
            match o.kind.as_str() {
                // `n` references `table`: copied for the key checks only.
                "fk" => queue.push((o.table.to_lowercase(), false)),
                "trigger" => {
                    queue.push((n.clone(), true));
                    queue.push((o.table.to_lowercase(), true));
                    queue.extend(words(&o.text).map(|w| (w, true)));
                }
                _ => queue.extend(words(&o.text).map(|w| (w, true))),
            }
        }
        // Rows on table `n`: tables that reference it (cascades reach
        // them) and its triggers.
        for o in cat.on_table(&n) {
            let name = o.name.to_lowercase();
            match o.kind.as_str() {
                "fk" if name != n => queue.push((name, true)),
                "trigger" => {
                    queue.push((name, true));
                    queue.push((n.clone(), true));
                    queue.extend(words(&o.text).map(|w| (w, true)));
                }
                _ => {}
            }
        }
    }
    set
}

/// A table's `SHOW CREATE TABLE`, taken apart.
#[derive(Clone, Debug, Default)]
pub(super) struct TableDef {
    /// The table's text without its secondary indexes and counter.
    pub text: String,
    /// Secondary indexes: name → their line.
    pub indexes: BTreeMap<String, String>,
    pub primary_key: Vec<String>,
    /// Columns that take values (not generated), in order.
    pub columns: Vec<String>,
    /// The next AUTO_INCREMENT value, when the table has a counter.
    pub auto_increment: Option<i64>,
    pub has_auto_increment: bool,
}

/// The first backquoted name of `s`.
fn first_quoted(s: &str) -> Option<String> {
    let start = s.find('`')?;
    let rest = &s[start + 1..];
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            if chars.peek() == Some(&'`') {
                chars.next();
                out.push('`');
                continue;
            }
            return Some(out);
        }
        out.push(c);
    }
    None
}

/// All backquoted names of `s`.
fn quoted_names(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(n) = first_quoted(rest) {
        out.push(n.clone());
        let start = rest.find('`').unwrap_or(0);
        let skip = start + n.len() + 2 + n.matches('`').count();
        if skip >= rest.len() {
            break;
        }
        rest = &rest[skip..];
    }
    out
}

pub(super) fn parse_create_table(create: &str) -> TableDef {
    let mut def = TableDef::default();
    let lines: Vec<&str> = create.lines().collect();
    let mut body = Vec::new();
    let mut tail = String::new();
    for (i, line) in lines.iter().enumerate() {
        let l = line.trim().trim_end_matches(',');
        if i == 0 {
            continue;
        }
        if l.starts_with(')') && i == lines.len() - 1 {
            tail = l.to_string();
            continue;
        }
        let is_index = [
            "KEY ",
            "UNIQUE KEY ",
            "FULLTEXT KEY ",
            "SPATIAL KEY ",
            "VECTOR KEY ",
        ]
        .iter()
        .any(|p| l.starts_with(p));
        if is_index {
            let name = first_quoted(l).unwrap_or_else(|| l.to_string());
            def.indexes.insert(name, l.to_string());
            continue;
        }
        if let Some(cols) = l.strip_prefix("PRIMARY KEY ") {
            def.primary_key = quoted_names(cols);
        } else if l.starts_with('`') {
            if let Some(name) = first_quoted(l) {
                if !l.contains(" GENERATED ALWAYS ") && !l.contains(" AS (") {
                    def.columns.push(name);
                }
                if l.contains(" AUTO_INCREMENT") {
                    def.has_auto_increment = true;
                }
            }
        }
        body.push(l.to_string());
    }
    // `) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=...`: the counter is
    // data, not schema.
    let mut kept = Vec::new();
    for w in tail.split(' ') {
        if let Some(n) = w.strip_prefix("AUTO_INCREMENT=") {
            def.auto_increment = n.parse().ok();
        } else {
            kept.push(w);
        }
    }
    let name = lines
        .first()
        .and_then(|l| first_quoted(l))
        .unwrap_or_default();
    let mut text = format!("table {name} (");
    for l in &body {
        text.push_str("\n  ");
        text.push_str(l);
    }
    text.push('\n');
    text.push_str(&kept.join(" "));
    def.text = text;
    if def.has_auto_increment && def.auto_increment.is_none() {
        def.auto_increment = Some(1);
    }
    def
}

/// The state of the scope's objects in one database.
#[derive(Clone, Debug, Default)]
pub(super) struct State {
    pub schema: SchemaImage,
    pub data: BTreeMap<String, Option<TableData>>,
    pub counters: BTreeMap<String, Option<i64>>,
    /// Each table's columns that take values (not generated).
    pub columns: BTreeMap<String, Vec<String>>,
}

/// Reads the objects of `scope` (plus those in reach of `names` in the
/// catalog now) in the connection's current database `db`. `cat`: the
/// catalog of `db`, when just read.
pub(super) fn read_state(
    conn: &mut Conn,
    db: &str,
    scope_names: &BTreeSet<(String, String)>,
    names: &BTreeSet<String>,
    everything: bool,
    cat: Option<&Catalog>,
) -> Result<State, mysql::Error> {
    let read;
    let cat = match cat {
        Some(c) => c,
        None => {
            read = catalog(conn, db)?;
            &read
        }
    };
    let mut want = scope(cat, names, everything);
    // What the scope named before: tables, views... that may be gone now.
    want.extend(scope_names.iter().cloned());
    let mut st = State::default();
    // Each table's definition and rows, in one round trip.
    let tables: Vec<&String> = want
        .iter()
        .filter(|(kind, name)| kind == "table" && cat.get(kind, name).is_some())
        .map(|(_, name)| name)
        .collect();
    let mut defs: BTreeMap<&str, (TableDef, TableData)> = BTreeMap::new();
    if !tables.is_empty() {
        let sql: Vec<String> = tables
            .iter()
            .map(|t| format!("SHOW CREATE TABLE {0};\nSELECT * FROM {0}", ident(t)))
            .collect();
        let mut result = conn.query_iter(sql.join(";\n"))?;
        for t in &tables {
            defs.insert(t.as_str(), next_def_and_data(&mut result)?);
        }
    }
    for (kind, name) in &want {
        let key = |kind: &str, name: &str, table: &str| ObjectKey {
            kind: kind.to_string(),
            name: name.to_string(),
            table: table.to_string(),
        };
        let Some(obj) = cat.get(kind, name) else {
            st.schema.insert(key(kind, name, name), None);
            if kind == "table" {
                st.data.insert(name.clone(), None);
                st.counters.insert(name.clone(), None);
            }
            continue;
        };
        match kind.as_str() {
            "table" => {
                let Some((def, data)) = defs.remove(name.as_str()) else {
                    continue;
                };
                for (i, line) in &def.indexes {
                    st.schema.insert(
                        key("index", i, name),
                        Some(format!("index {i} on {name}: {line}")),
                    );
                }
                st.schema
                    .insert(key("table", name, name), Some(def.text.clone()));
                st.data.insert(name.clone(), Some(data));
                st.columns.insert(name.clone(), def.columns.clone());
                if def.has_auto_increment {
                    st.counters.insert(name.clone(), def.auto_increment);
                }
            }
            "view" => {
                let text = cat
                    .get("viewdef", name)
                    .map(|o| o.text.clone())
                    .unwrap_or_default();
                st.schema.insert(
                    key("view", name, name),
                    Some(format!("view {name} AS\n{text}")),
                );
            }
            "trigger" => {
                st.schema.insert(
                    key("trigger", name, &obj.table),
                    Some(format!("trigger {name} ON {}\n{}", obj.table, obj.text)),
                );
            }
            k => {
                st.schema.insert(
                    key(k, name, name),
                    Some(format!("{k} {name}\n{}", obj.text)),
                );
            }
        }
    }
    // Indexes of tables that are gone: absent.
    Ok(st)
}

/// What one object of a [`State`] looks like: its schema entries (a table
/// with its indexes), and for a table its rows and counter. Two equal
/// images mean the copy of the object is the same as the original.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Image {
    schema: Vec<(ObjectKey, Option<String>)>,
    data: Option<Option<TableData>>,
    counter: Option<Option<i64>>,
}

impl Image {
    /// Whether the object's definition (not its rows) is the same.
    pub fn same_schema(&self, other: &Image) -> bool {
        self.schema == other.schema
    }

    /// Whether the object is there.
    pub fn present(&self) -> bool {
        self.schema.iter().any(|(_, v)| v.is_some())
    }
}

impl State {
    /// The objects of this state, as `(kind, name)` (an index is its
    /// table's).
    pub fn objects(&self) -> BTreeSet<(String, String)> {
        let mut out: BTreeSet<(String, String)> = self
            .schema
            .keys()
            .map(|k| {
                if k.kind == "index" {
                    ("table".to_string(), k.table.clone())
                } else {
                    (k.kind.clone(), k.name.clone())
                }
            })
            .collect();
        out.extend(self.data.keys().map(|t| ("table".to_string(), t.clone())));
        out
    }

    /// The image of one object (`(kind, name)` as [`State::objects`]).
    pub fn image(&self, kind: &str, name: &str) -> Image {
        let schema = self
            .schema
            .iter()
            .filter(|(k, _)| {
                if kind == "table" {
                    (k.kind == "table" && k.name == name) || (k.kind == "index" && k.table == name)
                } else {
                    k.kind == kind && k.name == name
                }
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (data, counter) = if kind == "table" {
            (
                Some(self.data.get(name).cloned().flatten()),
                Some(self.counters.get(name).cloned().flatten()),
            )
        } else {
            (None, None)
        };
        Image {
            schema,
            data,
            counter,
        }
    }
}

/// The statements that drop `objects` of the current database (foreign
/// key checks off around them, by the caller).
fn drop_sql(objects: &BTreeSet<(String, String)>) -> Vec<String> {
    let mut sql = Vec::new();
    let mut tables = Vec::new();
    let mut views = Vec::new();
    for (kind, name) in objects {
        match kind.as_str() {
            "table" => tables.push(ident(name)),
            "view" => views.push(ident(name)),
            "trigger" | "procedure" | "function" | "event" | "sequence" => sql.push(format!(
                "DROP {} IF EXISTS {}",
                kind.to_uppercase(),
                ident(name)
            )),
            _ => {}
        }
    }
    if !views.is_empty() {
        sql.push(format!("DROP VIEW IF EXISTS {}", views.join(", ")));
    }
    if !tables.is_empty() {
        sql.push(format!("DROP TABLE IF EXISTS {}", tables.join(", ")));
    }
    sql
}

/// Drops `objects` of the current database. One round trip. `fk_checks`
/// is the session's `foreign_key_checks` to leave it with (see
/// [`fk_restore`]).
pub(super) fn drop_objects(
    conn: &mut Conn,
    objects: &BTreeSet<(String, String)>,
    fk_checks: bool,
) -> Result<(), mysql::Error> {
    drop_and_resync(conn, None, objects, "", &[], fk_checks).map(|_| ())
}

/// The statement that gives the session back the `foreign_key_checks` its
/// migrations run with (`[replay] mysql_foreign_key_checks`) after twice's
/// own statements turned the checks off: the session runs migration SQL
/// next (a trial's parts in the copy, the next first run), which must see
/// the configured value, not the server's default.
pub(super) fn fk_restore(fk_checks: bool) -> String {
    format!("SET SESSION foreign_key_checks = {}", u8::from(fk_checks))
}

/// A table of the copy whose rows (and counter) are to be the scratch
/// database's again: its name, columns that take values, and counter.
pub(super) type Resync = (String, Vec<String>, Option<i64>);

/// After `first` (a statement such as `USE`, when given), drops `objects`
/// of the current database, then makes the copy of each table of `resync`
/// hold the rows of `from`'s again, when only its rows or counter differ
/// (no trigger on it in the copy: they would fire). Returns, for each
/// table of `resync`, whether the copy now has its counter too (else it
/// must be copied anew). One round trip for all of it, and one more when
/// counters must be set (set and checked together). The session is left
/// with `foreign_key_checks` as `fk_checks` says ([`fk_restore`]).
pub(super) fn drop_and_resync(
    conn: &mut Conn,
    first: Option<&str>,
    objects: &BTreeSet<(String, String)>,
    from: &str,
    resync: &[Resync],
    fk_checks: bool,
) -> Result<Vec<bool>, mysql::Error> {
    let drops = drop_sql(objects);
    let mut sql: Vec<String> = first.map(str::to_string).into_iter().collect();
    if drops.is_empty() && resync.is_empty() {
        if !sql.is_empty() {
            super::server::exec_all(conn, &sql.join(";\n"))?;
        }
        return Ok(Vec::new());
    }
    sql.push("SET SESSION foreign_key_checks = 0".to_string());
    sql.extend(drops);
    let f = ident(from);
    for (table, columns, _) in resync {
        let t = ident(table);
        sql.push(format!("DELETE FROM {t}"));
        let cols = columns
            .iter()
            .map(|c| ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        if !cols.is_empty() {
            sql.push(format!(
                "INSERT INTO {t} ({cols}) SELECT {cols} FROM {f}.{t}"
            ));
        }
    }
    sql.push(fk_restore(fk_checks));
    for (table, _, _) in resync {
        sql.push(format!("SHOW CREATE TABLE {}", ident(table)));
    }
    let creates = show_creates(conn, &sql.join(";\n"))?;
    // Up, or down to the scratch database's value when no row is in the
    // way (a trial's insert took a value the original never did); checked
    // after, else the table is copied anew.
    let mut ok = Vec::new();
    let mut set = Vec::new();
    let mut check = Vec::new();
    for (i, (table, _, counter)) in resync.iter().enumerate() {
        let create = creates.get(i).map_or("", String::as_str);
        let Some(want) = counter else {
            ok.push(true);
            continue;
        };
        match parse_create_table(create).auto_increment {
            Some(n) if n == *want => ok.push(true),
            Some(_) => {
                set.push(format!(
                    "ALTER TABLE {} AUTO_INCREMENT = {want}",
                    ident(table)
                ));
                check.push((ok.len(), table, *want));
                ok.push(false);
            }
            None => ok.push(false),
        }
    }
    if !set.is_empty() {
        for (_, table, _) in &check {
            set.push(format!("SHOW CREATE TABLE {}", ident(table)));
        }
        let creates = show_creates(conn, &set.join(";\n"))?;
        for (k, (i, _, want)) in check.iter().enumerate() {
            let create = creates.get(k).map_or("", String::as_str);
            ok[*i] = parse_create_table(create).auto_increment == Some(*want);
        }
    }
    Ok(ok)
}

/// Runs a batch and returns the text of each `SHOW CREATE TABLE` row in
/// it, in order (the other statements return no rows).
fn show_creates(conn: &mut Conn, sql: &str) -> Result<Vec<String>, mysql::Error> {
    let mut out = Vec::new();
    let mut result = conn.query_iter(sql)?;
    while let Some(set) = result.iter() {
        for row in set {
            out.push(s(row?.as_ref(1)));
        }
    }
    Ok(out)
}

/// A column value of the text protocol as a neutral value.
fn value(v: Option<&mysql::Value>, col: &mysql::Column) -> Value {
    let bytes = match v {
        None | Some(mysql::Value::NULL) => return Value::Null,
        Some(mysql::Value::Bytes(b)) => b,
        Some(mysql::Value::Int(i)) => return Value::Integer(*i),
        Some(mysql::Value::UInt(u)) => {
            return i64::try_from(*u).map_or_else(|_| Value::Text(u.to_string()), Value::Integer)
        }
        Some(mysql::Value::Float(f)) => return Value::Real(f64::from(*f)),
        Some(mysql::Value::Double(f)) => return Value::Real(*f),
        Some(other) => return Value::Text(other.as_sql(true).trim_matches('\'').to_string()),
    };
    // Character set 63 (`binary`) marks bytes only in the string and blob
    // types: dates, times and numbers come with it too, as text.
    let binary = matches!(
        col.column_type(),
        ColumnType::MYSQL_TYPE_BIT | ColumnType::MYSQL_TYPE_GEOMETRY
    ) || (col.character_set() == 63 && string_type(col.column_type()));
    // Long values are kept as their length and digest, as on every engine:
    // rows are read one at a time, so a table of large values costs twice a
    // few bytes a value.
    if bytes.len() > crate::replay::engine::MAX_VALUE_BYTES {
        return crate::replay::engine::digest(if binary { "blob" } else { "text" }, bytes);
    }
    let text = || String::from_utf8_lossy(bytes).into_owned();
    use ColumnType::*;
    match col.column_type() {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => text()
            .parse()
            .map_or_else(|_| Value::Text(text()), Value::Integer),
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => text()
            .parse()
            .map_or_else(|_| Value::Text(text()), Value::Real),
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => match text().parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::Json(text()),
        },
        MYSQL_TYPE_JSON => Value::Json(text()),
        MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => Value::Blob(bytes.clone()),
        _ if binary => Value::Blob(bytes.clone()),
        _ => Value::Text(text()),
    }
}

/// The column types whose values are strings of characters or bytes (their
/// character set says which), as opposed to numbers, dates and times.
fn string_type(t: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        t,
        MYSQL_TYPE_STRING
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_SET
    )
}

/// The rows of `table`, key columns first.
pub(super) fn table_data(
    conn: &mut Conn,
    table: &str,
    key: &[String],
) -> Result<TableData, mysql::Error> {
    let mut result = conn.query_iter(format!("SELECT * FROM {}", ident(table)))?;
    rows_of(result.iter(), key)
}

/// A table's `SHOW CREATE TABLE` taken apart and its rows (key columns
/// first), in one round trip.
pub(super) fn table_def_and_data(
    conn: &mut Conn,
    table: &str,
) -> Result<(TableDef, TableData), mysql::Error> {
    let t = ident(table);
    let mut result = conn.query_iter(format!("SHOW CREATE TABLE {t};\nSELECT * FROM {t}"))?;
    next_def_and_data(&mut result)
}

/// The next two result sets of `result`, a table's `SHOW CREATE TABLE` and
/// its `SELECT *`, read as its definition and rows.
fn next_def_and_data(
    result: &mut mysql::QueryResult<'_, '_, '_, mysql::Text>,
) -> Result<(TableDef, TableData), mysql::Error> {
    let mut create = String::new();
    if let Some(set) = result.iter() {
        for row in set {
            create = s(row?.as_ref(1));
        }
    }
    let def = parse_create_table(&create);
    let data = rows_of(result.iter(), &def.primary_key)?;
    Ok((def, data))
}

/// The rows of a `SELECT *` result set, key columns first.
fn rows_of(
    set: Option<mysql::ResultSet<'_, '_, '_, '_, mysql::Text>>,
    key: &[String],
) -> Result<TableData, mysql::Error> {
    let mut columns: Vec<String> = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut count = 0u64;
    let mut hash = 0u64;
    let mut summary = false;
    if let Some(set) = set {
        let cols = set.columns();
        let cols = cols.as_ref();
        let names: Vec<String> = cols.iter().map(|c| c.name_str().into_owned()).collect();
        for k in key {
            if let Some(i) = names.iter().position(|n| n == k) {
                order.push(i);
            }
        }
        for i in 0..names.len() {
            if !order.contains(&i) {
                order.push(i);
            }
        }
        columns = order.iter().map(|&i| names[i].clone()).collect();
        for row in set {
            let row = row?;
            let cols = row.columns_ref();
            let vals: Vec<Value> = order
                .iter()
                .map(|&i| match cols.get(i) {
                    Some(c) => value(row.as_ref(i), c),
                    None => Value::Null,
                })
                .collect();
            count += 1;
            hash = hash.wrapping_add(crate::replay::engine::row_hash(&vals));
            if rows.len() >= MAX_ROWS {
                summary = true;
                rows.clear();
            }
            if !summary {
                rows.push(vals);
            }
        }
    }
    let n_key = key.len().min(columns.len());
    if summary {
        return Ok(TableData::Summary {
            columns,
            count,
            hash,
        });
    }
    rows.sort();
    Ok(TableData::Rows {
        columns,
        key: if n_key > 0 && n_key == key.len() {
            RowKey::Declared(n_key)
        } else {
            RowKey::None
        },
        rows,
    })
}

/// Copies the objects of `scope` from database `from` into the connection's
/// current database (the copy): tables with their rows and counters, then
/// views (in dependency order), routines, triggers and events. The session
/// is left with `foreign_key_checks` as `fk_checks` says ([`fk_restore`]).
pub(super) fn copy_scope(
    conn: &mut Conn,
    from: &str,
    scope: &BTreeSet<(String, String)>,
    fk_checks: bool,
) -> Result<(), mysql::Error> {
    if scope.is_empty() {
        return Ok(());
    }
    let f = ident(from);
    // Every definition in one round trip: (kind, name, SHOW CREATE, column
    // of the text).
    let order = [
        ("table", "TABLE", 1),
        ("view", "VIEW", 1),
        ("procedure", "PROCEDURE", 2),
        ("function", "FUNCTION", 2),
        ("trigger", "TRIGGER", 2),
        ("event", "EVENT", 3),
        ("sequence", "SEQUENCE", 1),
    ];
    let mut wanted: Vec<(&str, &str, usize)> = Vec::new();
    let mut show: Vec<String> = Vec::new();
    for (kind, what, col) in order {
        for (_, name) in scope.iter().filter(|(k, _)| k == kind) {
            wanted.push((kind, name.as_str(), col));
            show.push(format!("SHOW CREATE {what} {f}.{}", ident(name)));
        }
    }
    let mut texts: Vec<String> = Vec::new();
    {
        let mut result = conn.query_iter(show.join(";\n"))?;
        for (_, _, col) in &wanted {
            let mut text = String::new();
            if let Some(set) = result.iter() {
                for row in set {
                    text = s(row?.as_ref(*col));
                }
            }
            texts.push(text);
        }
    }
    // Tables with their rows, then views (which may build on views, so one
    // at a time until no progress), then the rest, each group in one round
    // trip; foreign key checks off meanwhile.
    let mut first = vec!["SET SESSION foreign_key_checks = 0".to_string()];
    let mut views: Vec<String> = Vec::new();
    let mut rest: Vec<String> = Vec::new();
    for ((kind, name, _), create) in wanted.iter().zip(texts) {
        match *kind {
            "table" => {
                let def = parse_create_table(&create);
                first.push(create);
                let cols = def
                    .columns
                    .iter()
                    .map(|c| ident(c))
                    .collect::<Vec<_>>()
                    .join(", ");
                if !cols.is_empty() {
                    first.push(format!(
                        "INSERT INTO {} ({cols}) SELECT {cols} FROM {f}.{}",
                        ident(name),
                        ident(name)
                    ));
                }
            }
            "view" => views.push(
                create
                    .replace(&format!("{f}."), "")
                    .replace(&format!("{from}."), ""),
            ),
            // A routine's, trigger's or event's text names the scratch
            // database where the migration named its own (see `own.rs`):
            // the copy's runs in the copy.
            _ if !create.is_empty() => rest.push(create.replace(&format!("{f}."), "")),
            _ => {}
        }
    }
    super::server::exec_all(conn, &first.join(";\n"))?;
    while !views.is_empty() {
        let before = views.len();
        let mut left = Vec::new();
        let mut last_err = None;
        for v in views.drain(..) {
            if let Err(e) = conn.query_drop(&v) {
                last_err = Some(e);
                left.push(v);
            }
        }
        if left.len() == before {
            if let Some(e) = last_err {
                return Err(e);
            }
        }
        views = left;
    }
    rest.push(fk_restore(fk_checks));
    super::server::exec_all(conn, &rest.join(";\n"))?;
    Ok(())
}

/// Statements of `part` that name `name` (any case), those that `wrote`
/// rows first when `rows` (DML writing that table that affected rows).
pub(super) fn writers(
    file: &FileUnit,
    part: &Part,
    name: &str,
    affected: &BTreeMap<usize, u64>,
    rows: bool,
) -> Vec<usize> {
    let n = name.to_lowercase();
    let naming: Vec<usize> = part
        .statements
        .iter()
        .copied()
        .filter(|&i| {
            file.statements
                .get(i)
                .is_some_and(|s| words(&s.sql).any(|w| w == n))
        })
        .collect();
    // Statements that write rows to it, first: an INSERT, UPDATE or DELETE
    // by its target (`INSERT INTO b SELECT ... FROM a` writes `b` only; a
    // multi-table UPDATE any table it joins), the others by naming it.
    let dml: Vec<usize> = naming
        .iter()
        .copied()
        .filter(|&i| {
            file.statements.get(i).is_some_and(|s| {
                use crate::classify::Kind;
                let target = |t: &Option<crate::classify::Name>| {
                    t.as_ref().map(|t| t.object().to_lowercase() == n)
                };
                let by_target = match &s.facts.kind {
                    Kind::Insert(x) => target(&x.table),
                    Kind::Delete(x) => target(&x.table),
                    Kind::Update(x) => target(&x.table).map(|own| {
                        own || {
                            let upper = s.sql.to_ascii_uppercase();
                            let head = upper.split(" SET ").next().unwrap_or("");
                            head.contains(" JOIN ") || head.contains(',')
                        }
                    }),
                    _ => None,
                };
                if let Some(writes) = by_target {
                    return writes;
                }
                let first = s
                    .sql
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_uppercase();
                matches!(
                    first.as_str(),
                    "INSERT" | "REPLACE" | "UPDATE" | "DELETE" | "CALL" | "WITH" | "LOAD"
                )
            })
        })
        .collect();
    let naming = if rows && !dml.is_empty() { dml } else { naming };
    if rows {
        let wrote: Vec<usize> = naming
            .iter()
            .copied()
            .filter(|i| affected.get(i).is_some_and(|&a| a > 0))
            .collect();
        if !wrote.is_empty() {
            return wrote;
        }
    }
    naming
}

/// AUTO_INCREMENT counters that moved, as sequence moves (`last value` is
/// the counter minus one; a counter at 1 was never used).
pub(super) fn counter_moves(
    file: &FileUnit,
    part: &Part,
    before: &State,
    after: &State,
    affected: &BTreeMap<usize, u64>,
) -> BTreeMap<String, SequenceMove> {
    let last = |v: Option<i64>| v.filter(|&n| n > 1).map(|n| n - 1);
    let mut out = BTreeMap::new();
    for (table, b) in &before.counters {
        let Some(a) = after.counters.get(table) else {
            continue;
        };
        let (Some(b), Some(a)) = (b, a) else { continue };
        if a == b {
            continue;
        }
        out.insert(
            format!("{table} AUTO_INCREMENT"),
            SequenceMove {
                before: last(Some(*b)),
                after: last(Some(*a)),
                table: Some(table.clone()),
                writers: writers(file, part, table, affected, true),
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_show_create_table_apart() {
        let create = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `a` varchar(10) DEFAULT NULL,\n  `g` int(11) GENERATED ALWAYS AS (`id` + 1) VIRTUAL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `t_a` (`a`),\n  KEY `t_g` (`g`)\n) ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4";
        let d = parse_create_table(create);
        assert_eq!(d.primary_key, vec!["id"]);
        assert_eq!(d.columns, vec!["id", "a"]);
        assert_eq!(d.auto_increment, Some(7));
        assert_eq!(d.indexes.len(), 2);
        assert!(d.indexes["t_a"].starts_with("UNIQUE KEY"));
        assert!(!d.text.contains("AUTO_INCREMENT=7"), "{}", d.text);
        assert!(d.text.starts_with("table t ("), "{}", d.text);
        assert!(!d.text.contains("t_g"), "{}", d.text);
    }

    /// A one-file part of MySQL text.
    fn unit(sql: &str) -> (FileUnit, Part) {
        let source = crate::source::SourceFile::from_bytes("m.sql", None, sql.as_bytes());
        let regions = vec![crate::model::Region {
            range: 0..source.text.len(),
            single_statement: false,
        }];
        let mut statements = Vec::new();
        let idx = crate::analysis::analyze_regions(
            &source,
            &regions,
            crate::dialect::Dialect::Mysql,
            &crate::analysis::NoSubstitution,
            &mut statements,
        );
        let part = Part {
            file: 0,
            regions,
            statements: idx,
            no_transaction: false,
            tool_transaction: false,
        };
        let unit = FileUnit {
            source,
            dialect: crate::dialect::Dialect::Mysql,
            statements,
        };
        (unit, part)
    }

    #[test]
    fn names_leave_out_reserved_words_and_routines_are_named_after_their_keyword() {
        let (u, p) = unit(
            "CREATE TABLE IF NOT EXISTS `Order` (id INT PRIMARY KEY, `select` INT);\n\
             SELECT x.order FROM t AS x WHERE f1(2) > 0;\n\
             CREATE OR REPLACE FUNCTION shop.f2(x INT) RETURNS INT DETERMINISTIC RETURN x;\n\
             DROP PROCEDURE IF EXISTS `p 3`;\n\
             ALTER EVENT e1 RENAME TO e2;\n",
        );
        let names = raw_names(&u, &p);
        for n in [
            "Order", "select", "id", "order", "t", "x", "f1", "f2", "shop", "p 3", "e2",
        ] {
            assert!(names.contains(n), "{n} missing from {names:?}");
        }
        for n in [
            "CREATE", "TABLE", "IF", "INT", "PRIMARY", "SELECT", "FROM", "WHERE",
        ] {
            assert!(!names.contains(n), "{n} in {names:?}");
        }
        let routines: Vec<String> = routine_names(&u, &p).into_iter().collect();
        // f1 is only called: it cannot change.
        assert_eq!(routines, vec!["e1", "e2", "f2", "p 3", "shop"]);
    }

    #[test]
    fn the_catalog_forgets_only_what_a_refresh_reads_again() {
        let o = |kind: &str, name: &str, table: &str| CatalogObj {
            kind: kind.into(),
            name: name.into(),
            table: table.into(),
            text: String::new(),
        };
        let mut cat = Catalog::new(vec![
            o("table", "a", "a"),
            o("function", "a", "a"),
            o("table", "b", "b"),
            o("fk", "b", "a"),
            o("trigger", "b_ai", "b"),
        ]);
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        // Tables named b: its row, its keys and its triggers go; the
        // function a stays unless routines name it.
        cat.remove_named(&set(&["b", "a"]), &set(&[]));
        let left: Vec<(String, String)> = cat
            .iter()
            .map(|o| (o.kind.clone(), o.name.clone()))
            .collect();
        assert_eq!(left, vec![("function".to_string(), "a".to_string())]);
        assert_eq!(cat.on_table("a").count(), 0);
        assert_eq!(cat.on_table("b").count(), 0);
        cat.remove_named(&set(&[]), &set(&["a"]));
        assert_eq!(cat.iter().count(), 0);
    }

    #[test]
    fn scope_follows_bodies_and_keys() {
        let o = |kind: &str, name: &str, table: &str, text: &str| CatalogObj {
            kind: kind.into(),
            name: name.into(),
            table: table.into(),
            text: text.into(),
        };
        let cat = vec![
            o("table", "orders", "orders", ""),
            o("table", "items", "items", ""),
            o("table", "audit", "audit", ""),
            o("table", "unrelated", "unrelated", ""),
            o("fk", "items", "orders", "items_ibfk_1"),
            o("table", "customers", "customers", ""),
            o("table", "regions", "regions", ""),
            o("fk", "orders", "customers", "orders_ibfk_1"),
            o("fk", "customers", "regions", "customers_ibfk_1"),
            o(
                "trigger",
                "orders_ai",
                "orders",
                "AFTER INSERT INSERT INTO audit VALUES (1)",
            ),
        ];
        let names: BTreeSet<String> = ["orders".to_string()].into();
        let cat = Catalog::new(cat);
        let got = scope(&cat, &names, false);
        let got: Vec<&str> = got.iter().map(|(_, n)| n.as_str()).collect();
        // customers: the parent of orders (key checks); not its own parent.
        assert_eq!(
            got,
            vec!["audit", "customers", "items", "orders", "orders_ai"]
        );
        assert_eq!(scope(&cat, &BTreeSet::new(), true).len(), 7);
    }
}
