//! The catalog reads of seeding and the write between runs: which tables
//! to write, their columns, types, keys and `CHECK` literals, as SQL sent
//! (prepared once per session where it can be) and as rows parsed into
//! [`Table`]s. Moved out of `seed.rs` as it was (issue 12's size mark).

use super::*;
/// Tables the open transaction deleted rows from or whose catalog row it
/// changed (created, altered, truncated, renamed) since transaction id
/// `since`: they may now have fewer than [`ROWS`] rows. Partitions count for
/// their partitioned table. Only tables the transaction holds a lock on are
/// looked at (see [`LOCKED`]): deleting rows or changing the table locks it.
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
         WHERE c.oid = ANY ({LOCKED}) AND c.relkind IN ('r', 'p') \
           AND (pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid) > 0 \
                OR (pg_catalog.age(c.xmin) <= pg_catalog.age('{x32}'::xid) AND c.xmin <> '2'::xid)) \
           AND {SYSTEM_SCHEMAS}"
    )
}

/// The table's own name from a qualified name as `quote_ident` writes it
/// (`public."Weird.Name"` → `Weird.Name`); `None` when it does not read as
/// one.
pub(super) fn last_ident(quoted: &str) -> Option<String> {
    if let Some(body) = quoted.strip_suffix('"') {
        // The last quoted part: from its opening quote, which is the
        // first quote not part of a doubled pair when read backwards.
        let bytes = body.as_bytes();
        let mut i = bytes.len();
        loop {
            let q = body[..i].rfind('"')?;
            if q > 0 && bytes[q - 1] == b'"' {
                i = q - 1;
                continue;
            }
            let name = &body[q + 1..];
            let before = &body[..q];
            if !(before.is_empty() || before.ends_with('.')) {
                return None;
            }
            return Some(name.replace("\"\"", "\""));
        }
    }
    let name = quoted.rsplit('.').next()?;
    (!name.is_empty() && !name.contains('"')).then(|| name.to_string())
}

/// An array constant of type `ty[]` holding `items` (one literal the
/// server reads once, not an `ARRAY[...]` of literals, for long lists).
pub(super) fn array_literal(items: impl Iterator<Item = String>, ty: &str) -> String {
    let quoted: Vec<String> = items
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{}::{ty}[]", literal(&format!("{{{}}}", quoted.join(","))))
}

/// The tables [`Runner::start_write`] reads.
pub(super) enum Selection {
    /// Those a condition over `c` and `n` (`pg_class`, `pg_namespace`)
    /// selects, planned with the queries (seldom: every table).
    Filter(String),
    /// Those named, by the catalog's name index, with the queries prepared
    /// once per session ([`prepared_sql`]): `relnames` an expression for
    /// their names as stored (`name[]`), `names` for their qualified names
    /// (`text[]`, or `NULL`: any schema); `lead` a statement of twice's own
    /// run first (one result).
    Named {
        lead: Option<String>,
        relnames: String,
        names: String,
    },
}

impl Selection {
    /// The tables `schema.name` of `names` (with their bare names: every
    /// suffix after a dot, as names may contain dots).
    pub(super) fn named(names: &BTreeSet<String>) -> Selection {
        let bare: BTreeSet<String> = names
            .iter()
            .flat_map(|n| n.match_indices('.').map(move |(i, _)| literal(&n[i + 1..])))
            .collect();
        let list: Vec<String> = names.iter().map(|n| literal(n)).collect();
        Selection::Named {
            lead: None,
            relnames: format!(
                "ARRAY[{}]::name[]",
                bare.into_iter().collect::<Vec<_>>().join(", ")
            ),
            names: format!("ARRAY[{}]::text[]", list.join(", ")),
        }
    }
}

/// `PREPARE` of the catalog reads of [`Runner::start_write`] for
/// [`Selection::Named`] (planned once per session, generic plans: planning
/// these costs more than running them).
pub(super) fn prepared_sql(version_num: i32) -> Vec<String> {
    let filter = format!(
        "{} AND c.relname = ANY ($1) AND ($2 IS NULL OR n.nspname || '.' || c.relname = ANY ($2))",
        table_filter()
    );
    let [constraints, _] = constraints_sql(&filter);
    vec![
        format!(
            "PREPARE twice_seed_columns(name[], text[]) AS {}",
            columns_sql(&filter, version_num)
        ),
        format!(
            "PREPARE twice_seed_types(name[], text[]) AS {}",
            types_sql(&filter)
        ),
        format!("PREPARE twice_seed_constraints(name[], text[]) AS {constraints}"),
    ]
}

/// The condition selecting the tables to look at (`c`, `n`: the table's
/// `pg_class` and `pg_namespace` rows): user tables, not partitions, not an
/// extension's.
pub(super) fn table_filter() -> String {
    format!(
        "c.relkind IN ('r', 'p') AND NOT c.relispartition AND {SYSTEM_SCHEMAS} \
         AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass \
           AND dep.objid = c.oid AND dep.deptype = 'e')"
    )
}

pub(super) fn columns_sql(filter: &str, version_num: i32) -> String {
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

pub(super) fn types_sql(filter: &str) -> String {
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
pub(super) fn constraints_sql(filter: &str) -> [String; 2] {
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

pub(super) type Rows = Vec<Vec<Option<String>>>;

/// What running a statement under the seeding savepoint gave.
pub(super) enum Tried {
    Done(Vec<SimpleQueryMessage>),
    Refused,
    TimedOut,
}

pub(super) fn cell(r: &[Option<String>], i: usize) -> String {
    r.get(i).cloned().flatten().unwrap_or_default()
}

/// A boolean column (`t`, or `true` when cast to text).
pub(super) fn flag(r: &[Option<String>], i: usize) -> bool {
    matches!(cell(r, i).as_str(), "t" | "true")
}

pub(super) fn parse_types(rows: Rows) -> BTreeMap<u32, TypeInfo> {
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
pub(super) fn check_literals(def: &str) -> Vec<String> {
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
pub(super) fn resolve(
    types: &BTreeMap<u32, TypeInfo>,
    oid: u32,
    typmod: i32,
) -> (TypeInfo, Vec<u32>) {
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

pub(super) fn parse_tables(
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
