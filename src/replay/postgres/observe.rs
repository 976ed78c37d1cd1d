//! What a run changed, the PostgreSQL way: event triggers log the objects
//! each statement's DDL touched, `pg_stat_xact_*` tells the tables written,
//! and catalog reads ([`super::snapshot`]) after the run give images; the
//! states before are read after rolling back. This module turns those reads
//! into the engine-neutral [`Observation`] (schema images, rows as
//! [`Value`]s, which statements wrote what).

use super::kind;
use super::run::TAG_STRIDE;
use super::snapshot::{Rows, SeqState, Snapshot};
use crate::model::Part;
use crate::replay::engine::{ObjectKey, Observation, RowKey, SequenceMove, Step, TableData, Value};
use crate::report::{FileUnit, Workspace};
use std::collections::{BTreeMap, BTreeSet};

pub(super) const EVENT_TRIGGERS: &str = r#"
CREATE SCHEMA _twice;
CREATE FUNCTION _twice.log_ddl() RETURNS event_trigger LANGUAGE plpgsql
SET search_path = pg_catalog AS $twice$
DECLARE
  r record;
  acc text;
  stmt text := coalesce(current_setting('twice.stmt', true), '');
BEGIN
  IF coalesce(current_setting('twice.record', true), '') <> 'on' THEN
    RETURN;
  END IF;
  acc := coalesce(current_setting('twice.ddl', true), '');
  BEGIN
    IF TG_EVENT = 'sql_drop' THEN
      FOR r IN SELECT o.address_names AS names FROM pg_event_trigger_dropped_objects() o LOOP
        acc := acc || stmt || chr(30) || array_to_string(r.names, chr(31)) || chr(10);
      END LOOP;
    ELSE
      FOR r IN SELECT a.object_names AS names
               FROM (SELECT * FROM pg_event_trigger_ddl_commands()
                     WHERE command_tag NOT IN ('GRANT', 'REVOKE', 'COMMENT',
                                               'ALTER DEFAULT PRIVILEGES')) c,
               LATERAL pg_identify_object_as_address(c.classid, c.objid, c.objsubid) a LOOP
        acc := acc || stmt || chr(30) || array_to_string(r.names, chr(31)) || chr(10);
      END LOOP;
    END IF;
  EXCEPTION WHEN OTHERS THEN
    acc := acc || '*' || chr(10);
  END;
  PERFORM set_config('twice.ddl', acc, false);
END
$twice$;
CREATE EVENT TRIGGER twice_ddl_end ON ddl_command_end EXECUTE PROCEDURE _twice.log_ddl();
CREATE EVENT TRIGGER twice_sql_drop ON sql_drop EXECUTE PROCEDURE _twice.log_ddl();
GRANT USAGE ON SCHEMA _twice TO PUBLIC;
"#;

/// Object names (`schema.name`, or a bare name) the DDL reported, each with
/// the tags of the statements that reported it.
pub(super) type DdlLog = BTreeMap<String, Vec<usize>>;

/// Parses the event triggers' log: one line per object, `tag RS names`
/// with names separated by US; `*` means the log is incomplete. Returns
/// `None` when it is.
pub(super) fn parse_ddl_log(text: &str) -> Option<DdlLog> {
    let mut map: DdlLog = BTreeMap::new();
    for line in text.lines() {
        let (stmt, names) = line.split_once('\u{1e}').unwrap_or(("", line));
        if names == "*" {
            return None;
        }
        let names: Vec<&str> = names.split('\u{1f}').collect();
        let key = match names.as_slice() {
            [] | [""] => continue,
            // Types come as one formatted name: `public."Mood"`, `public.t[]`.
            [one] => unquote_qualified(one.trim_end_matches("[]")),
            [schema, name, ..] => format!("{schema}.{name}"),
        };
        let tags = map.entry(key).or_default();
        if let Ok(t) = stmt.parse::<usize>() {
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
    }
    Some(map)
}

/// `public."My Type"` → `public.My Type`: the parts of a qualified name as
/// stored, joined with dots.
fn unquote_qualified(name: &str) -> String {
    let mut parts = vec![String::new()];
    let mut chars = name.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(p) = parts.last_mut() {
                    p.push('"');
                }
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(String::new()),
            c => {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    parts.join(".")
}

/// Object kinds as the catalog query names them (longest first).
const KINDS: &[&str] = &[
    "materialized view",
    "foreign table",
    "aggregate",
    "procedure",
    "function",
    "extension",
    "sequence",
    "schema",
    "domain",
    "table",
    "index",
    "range",
    "view",
    "enum",
    "type",
];

/// The key of a snapshot object: `table public.users` → kind `table`, name
/// `public.users`; an index sorts with its table.
fn object_key(header: &str, owners: Option<&Vec<String>>) -> ObjectKey {
    let (kind, name) = KINDS
        .iter()
        .find_map(|k| {
            header
                .strip_prefix(k)
                .and_then(|r| r.strip_prefix(' '))
                .map(|n| (k.to_string(), n.to_string()))
        })
        .unwrap_or_else(|| (String::new(), header.to_string()));
    let table = owners
        .and_then(|o| o.last())
        .cloned()
        .unwrap_or_else(|| name.clone());
    ObjectKey { kind, name, table }
}

/// A snapshot's objects: key → (normalised text, the names DDL reports).
fn image(snap: &Snapshot) -> BTreeMap<ObjectKey, (String, Vec<String>)> {
    snap.schema
        .iter()
        .map(|(header, body)| {
            let owners = snap.owners.get(header);
            // `kind name (` + one line per column or clause + `)`, like a
            // CREATE statement, so a line diff reads naturally.
            let mut text = header.clone();
            let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
            if !lines.is_empty() {
                text.push_str(" (");
                for line in lines {
                    text.push('\n');
                    text.push_str(line);
                }
                text.push_str("\n)");
            }
            (
                object_key(header, owners),
                (text, owners.cloned().unwrap_or_default()),
            )
        })
        .collect()
}

/// A JSON value of `row_to_json` as a neutral value.
fn value(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::String(s) => Value::Text(s),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            // Exact text: a numeric wider than f64 must not compare equal
            // to its neighbour.
            None => Value::Json(n.to_string()),
        },
        other => Value::Json(other.to_string()),
    }
}

/// A table's rows as neutral data: key columns first.
pub(super) fn table_data(rows: &Rows) -> TableData {
    let mut columns: Vec<String> = rows
        .key
        .iter()
        .filter(|k| rows.names.contains(k))
        .cloned()
        .collect();
    let n_key = columns.len();
    columns.extend(rows.names.iter().filter(|c| !rows.key.contains(c)).cloned());
    if let Some((count, hash)) = rows.summary {
        return TableData::Summary {
            columns,
            count,
            hash,
        };
    }
    let mut data: Vec<Vec<Value>> = rows
        .rows
        .iter()
        .map(|r| {
            let mut obj = match serde_json::from_str::<serde_json::Value>(r) {
                Ok(serde_json::Value::Object(o)) => o,
                _ => serde_json::Map::new(),
            };
            columns
                .iter()
                .map(|c| obj.remove(c).map_or(Value::Null, value))
                .collect()
        })
        .collect();
    data.sort();
    TableData::Rows {
        columns,
        key: if n_key > 0 {
            RowKey::Declared(n_key)
        } else {
            RowKey::None
        },
        rows: data,
    }
}

fn bare(name: &str) -> &str {
    let name = name.split('(').next().unwrap_or(name);
    name.rsplit_once('.')
        .map_or(name, |x| x.1)
        .trim_matches('"')
}

/// Statements of `part` that name one of `names` (unquoted, any case).
pub(super) fn statements_mentioning(file: &FileUnit, part: &Part, names: &[&str]) -> Vec<usize> {
    let wanted: BTreeSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    part.statements
        .iter()
        .copied()
        .filter(|&i| {
            file.statements.get(i).is_some_and(|s| {
                s.tokens.iter().any(|t| {
                    let text = file.source.text[t.span.clone()]
                        .trim_matches('"')
                        .to_ascii_lowercase();
                    wanted.contains(&text)
                })
            })
        })
        .collect()
}

/// Statements of `part` that name table `bare`, those that write rows
/// (INSERT, UPDATE, DELETE, ...) first.
fn writers_of(file: &FileUnit, part: &Part, bare: &str) -> Vec<usize> {
    let found = statements_mentioning(file, part, &[bare]);
    let writes = |i: &usize| {
        let Some(st) = file.statements.get(*i) else {
            return false;
        };
        let kw = kind::words(&file.source, st, 1);
        matches!(
            kw.first().map(String::as_str),
            Some(
                "INSERT"
                    | "UPDATE"
                    | "DELETE"
                    | "MERGE"
                    | "TRUNCATE"
                    | "COPY"
                    | "WITH"
                    | "DO"
                    | "CALL"
                    | "SELECT"
            )
        )
    };
    let writers: Vec<usize> = found.iter().copied().filter(writes).collect();
    if writers.is_empty() {
        found
    } else {
        writers
    }
}

/// One observation per step from the states at the step boundaries
/// (`states[i]` before step `i`, `states[i + 1]` after it).
pub(super) fn observations(
    ws: &Workspace,
    steps: &[Step<'_>],
    states: &[Snapshot],
    ddl: Option<&DdlLog>,
) -> Vec<Observation> {
    let images: Vec<_> = states.iter().map(image).collect();
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let (Some(b), Some(a)) = (images.get(i), images.get(i + 1)) else {
            break;
        };
        let (Some(sb), Some(sa)) = (states.get(i), states.get(i + 1)) else {
            break;
        };
        let file = &ws.files[step.part.file];
        let mut obs = Observation::default();
        let keys: BTreeSet<&ObjectKey> = b.keys().chain(a.keys()).collect();
        for k in keys {
            let before = b.get(k);
            let after = a.get(k);
            let (tb, ta) = (before.map(|x| x.0.clone()), after.map(|x| x.0.clone()));
            if tb != ta {
                let owners = after.or(before).map(|x| x.1.clone()).unwrap_or_default();
                // The statements whose DDL named the object itself, else
                // those that named what it belongs to (an index's table).
                let logged = |names: &[String]| -> Vec<usize> {
                    names
                        .iter()
                        .filter_map(|o| ddl.and_then(|d| d.get(o)))
                        .flatten()
                        .filter(|&&t| t / TAG_STRIDE == i)
                        .map(|&t| t % TAG_STRIDE)
                        .collect()
                };
                let mut w = logged(owners.get(..1).unwrap_or(&[]));
                if w.is_empty() {
                    w = logged(&owners);
                }
                if w.is_empty() {
                    let names: Vec<&str> = owners.iter().map(|o| bare(o)).collect();
                    w = statements_mentioning(file, step.part, &names);
                }
                w.sort_unstable();
                w.dedup();
                obs.schema_writers.insert(k.clone(), w);
            }
            obs.schema_before.insert(k.clone(), tb);
            obs.schema_after.insert(k.clone(), ta);
        }
        let tables: BTreeSet<&String> = sb.tables.keys().chain(sa.tables.keys()).collect();
        for t in tables {
            obs.data_before
                .insert(t.clone(), sb.tables.get(t).map(table_data));
            obs.data_after
                .insert(t.clone(), sa.tables.get(t).map(table_data));
            obs.writers
                .insert(t.clone(), writers_of(file, step.part, bare(t)));
        }
        out.push(obs);
    }
    out
}

/// Sequence moves of a run, with the statements that may have used them.
pub(super) fn sequence_moves(
    ws: &Workspace,
    part: &Part,
    before: &BTreeMap<String, SeqState>,
    after: &BTreeMap<String, SeqState>,
) -> BTreeMap<String, SequenceMove> {
    let file = &ws.files[part.file];
    let mut out = BTreeMap::new();
    for (name, b) in before {
        let Some(a) = after.get(name) else { continue };
        if a.last_value == b.last_value {
            continue;
        }
        let mut writers = a
            .table
            .as_deref()
            .map(|t| writers_of(file, part, bare(t)))
            .unwrap_or_default();
        if writers.is_empty() {
            writers = statements_mentioning(file, part, &[bare(name)]);
        }
        out.insert(
            name.clone(),
            SequenceMove {
                before: b.last_value,
                after: a.last_value,
                table: a.table.clone(),
                writers,
            },
        );
    }
    out
}

/// The names a DDL log holds, as a snapshot scope.
pub(super) fn scope_objects(ddl: Option<&DdlLog>) -> Option<BTreeSet<String>> {
    ddl.map(|d| d.keys().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_log_keys() {
        let log = "3\u{1e}public\u{1f}orders\n\
                   4\u{1e}public\u{1f}orders\u{1f}orders_check1\n\
                   5\u{1e}public.\"Mood\"\n\
                   5\u{1e}public.vv[]\n\
                   \u{1e}pgcrypto\n";
        let m = parse_ddl_log(log).unwrap();
        assert_eq!(m.get("public.orders"), Some(&vec![3, 4]));
        assert_eq!(m.get("public.Mood"), Some(&vec![5]));
        assert_eq!(m.get("public.vv"), Some(&vec![5]));
        assert_eq!(m.get("pgcrypto"), Some(&vec![]));
        assert!(parse_ddl_log("1\u{1e}*\n").is_none());
    }

    #[test]
    fn unquotes_names() {
        assert_eq!(
            unquote_qualified("public.\"My \"\"T\"\".x\""),
            "public.My \"T\".x"
        );
        assert_eq!(unquote_qualified("app.mood"), "app.mood");
    }

    #[test]
    fn object_keys_and_rows() {
        let owners = vec!["public.i".to_string(), "public.t".to_string()];
        let k = object_key("materialized view public.mv", None);
        assert_eq!(
            (k.kind.as_str(), k.name.as_str()),
            ("materialized view", "public.mv")
        );
        let k = object_key("index public.i", Some(&owners));
        assert_eq!((k.kind.as_str(), k.table.as_str()), ("index", "public.t"));
        let rows = Rows {
            columns: "v text, id integer".into(),
            names: vec!["v".into(), "id".into()],
            key: vec!["id".into()],
            rows: vec![
                r#"{"v":"a","id":2}"#.into(),
                r#"{"v":{"x":true},"id":1}"#.into(),
            ],
            summary: None,
        };
        let TableData::Rows { columns, key, rows } = table_data(&rows) else {
            panic!("rows expected");
        };
        assert_eq!(columns, vec!["id", "v"]);
        assert_eq!(key, RowKey::Declared(1));
        assert_eq!(rows[0][0], Value::Integer(1));
        assert_eq!(rows[0][1].to_json(), serde_json::json!({"x": true}));
    }
}
