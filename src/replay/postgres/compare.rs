//! Compares two snapshots: a unified diff of the normalised schema (made
//! with `similar`) and, per table, rows added, removed and changed.

use super::snapshot::{Rows, Snapshot};
use serde_json::Value;
use std::collections::BTreeMap;

/// How many example rows a finding shows.
const SAMPLES: usize = 3;

#[derive(Debug, Default)]
pub struct Comparison {
    /// Unified diff of the objects that differ; `None` when equal.
    pub schema_diff: Option<String>,
    /// `"added table public.t"`, `"changed enum public.mood"`, ...
    pub changed_objects: Vec<String>,
    /// The same as (what, object header).
    pub changed: Vec<(&'static str, String)>,
    pub tables: Vec<TableChange>,
}

#[derive(Debug)]
pub struct TableChange {
    pub table: String,
    pub added: Vec<Value>,
    pub removed: Vec<Value>,
    /// (before, after) pairs with the same primary key.
    pub changed: Vec<(Value, Value)>,
}

impl Comparison {
    pub fn schema_summary(&self) -> String {
        let mut s: Vec<String> = self.changed_objects.iter().take(4).cloned().collect();
        if self.changed_objects.len() > 4 {
            s.push(format!("and {} more", self.changed_objects.len() - 4));
        }
        s.join(", ")
    }

    /// Bare names (without schema) of the objects that changed, to find the
    /// statement that names them.
    pub fn changed_names(&self) -> Vec<String> {
        self.changed_objects
            .iter()
            .filter_map(|o| o.rsplit(' ').next())
            .map(|q| {
                let q = q.split('(').next().unwrap_or(q);
                q.rsplit('.')
                    .next()
                    .unwrap_or(q)
                    .trim_matches('"')
                    .to_string()
            })
            .collect()
    }
}

impl TableChange {
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let n = |k: usize, what: &str| format!("{k} row{} {what}", if k == 1 { "" } else { "s" });
        if !self.added.is_empty() {
            parts.push(n(self.added.len(), "added"));
        }
        if !self.removed.is_empty() {
            parts.push(n(self.removed.len(), "removed"));
        }
        if !self.changed.is_empty() {
            parts.push(n(self.changed.len(), "changed"));
        }
        parts.join(", ")
    }

    /// A few rows as a diff for the human output.
    pub fn sample_notes(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for r in self.added.iter().take(SAMPLES) {
            lines.push(format!("+ {r}"));
        }
        for r in self.removed.iter().take(SAMPLES) {
            lines.push(format!("- {r}"));
        }
        for (b, a) in self.changed.iter().take(SAMPLES) {
            lines.push(format!("- {b}"));
            lines.push(format!("+ {a}"));
        }
        if lines.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "rows of {} after the first run (-) and the second (+):\n{}",
            self.table,
            lines.join("\n")
        )]
    }

    pub fn evidence(&self) -> Value {
        serde_json::json!({
            "table": self.table,
            "added": self.added.len(),
            "removed": self.removed.len(),
            "changed": self.changed.len(),
            "sample_added": self.added.iter().take(SAMPLES).collect::<Vec<_>>(),
            "sample_removed": self.removed.iter().take(SAMPLES).collect::<Vec<_>>(),
            "sample_changed": self.changed.iter().take(SAMPLES)
                .map(|(b, a)| serde_json::json!({"before": b, "after": a}))
                .collect::<Vec<_>>(),
        })
    }
}

fn render(schema: &BTreeMap<String, String>, keys: &[&String]) -> String {
    let mut s = String::new();
    for k in keys {
        if let Some(body) = schema.get(*k) {
            s.push_str(k);
            s.push('\n');
            for line in body.lines().filter(|l| !l.is_empty()) {
                s.push_str(line);
                s.push('\n');
            }
        }
    }
    s
}

/// A unified diff of the objects `headers` between two snapshots.
pub fn schema_diff(before: &Snapshot, after: &Snapshot, headers: &[&String]) -> String {
    let a = render(&before.schema, headers);
    let b = render(&after.schema, headers);
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("after first run", "after second run")
        .to_string()
}

/// Compares `before` with `after`.
pub fn compare(before: &Snapshot, after: &Snapshot) -> Comparison {
    let mut out = Comparison::default();
    let mut keys: Vec<&String> = before.schema.keys().chain(after.schema.keys()).collect();
    keys.sort();
    keys.dedup();
    let changed: Vec<&String> = keys
        .iter()
        .copied()
        .filter(|k| before.schema.get(*k) != after.schema.get(*k))
        .collect();
    for k in &changed {
        let what = match (
            before.schema.contains_key(*k),
            after.schema.contains_key(*k),
        ) {
            (false, true) => "added",
            (true, false) => "removed",
            _ => "changed",
        };
        out.changed_objects.push(format!("{what} {k}"));
        out.changed.push((what, (*k).clone()));
    }
    if !changed.is_empty() {
        out.schema_diff = Some(schema_diff(before, after, &changed));
    }
    for (table, b) in &before.tables {
        let Some(a) = after.tables.get(table) else {
            continue;
        };
        // A table whose columns changed is reported by the schema diff.
        if a.columns != b.columns || a.rows == b.rows {
            continue;
        }
        if let Some(change) = diff_rows(table, b, a) {
            out.tables.push(change);
        }
    }
    out
}

fn diff_rows(table: &str, before: &Rows, after: &Rows) -> Option<TableChange> {
    // Multiset difference of two sorted lists.
    let (mut i, mut j) = (0, 0);
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    while i < before.rows.len() || j < after.rows.len() {
        match (before.rows.get(i), after.rows.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                removed.push(x);
                i += 1;
            }
            (Some(_), Some(y)) => {
                added.push(y);
                j += 1;
            }
            (Some(x), None) => {
                removed.push(x);
                i += 1;
            }
            (None, Some(y)) => {
                added.push(y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    if added.is_empty() && removed.is_empty() {
        return None;
    }
    let parse = |s: &String| serde_json::from_str::<Value>(s).unwrap_or(Value::String(s.clone()));
    let mut added: Vec<Value> = added.into_iter().map(parse).collect();
    let mut removed: Vec<Value> = removed.into_iter().map(parse).collect();
    let mut changed = Vec::new();
    if !after.key.is_empty() {
        let key_of = |v: &Value| -> Option<String> {
            let o = v.as_object()?;
            let parts: Vec<String> = after
                .key
                .iter()
                .map(|k| o.get(k).map(|x| x.to_string()).unwrap_or_default())
                .collect();
            Some(parts.join("\u{1f}"))
        };
        let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
        for (n, r) in removed.iter().enumerate() {
            if let Some(k) = key_of(r) {
                by_key.insert(k, n);
            }
        }
        let mut used = vec![false; removed.len()];
        let mut still_added = Vec::new();
        for r in added {
            match key_of(&r).and_then(|k| by_key.get(&k).copied()) {
                Some(n) if !used[n] => {
                    used[n] = true;
                    changed.push((removed[n].clone(), r));
                }
                _ => still_added.push(r),
            }
        }
        added = still_added;
        removed = removed
            .into_iter()
            .zip(used)
            .filter(|(_, u)| !u)
            .map(|(r, _)| r)
            .collect();
    }
    Some(TableChange {
        table: table.to_string(),
        added,
        removed,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(key: &[&str], rows: &[&str]) -> Rows {
        let mut rows: Vec<String> = rows.iter().map(|s| s.to_string()).collect();
        rows.sort();
        Rows {
            columns: "id integer, v text".into(),
            key: key.iter().map(|s| s.to_string()).collect(),
            rows,
        }
    }

    #[test]
    fn pairs_rows_by_primary_key() {
        let b = rows(&["id"], &[r#"{"id":1,"v":"a"}"#, r#"{"id":2,"v":"b"}"#]);
        let a = rows(
            &["id"],
            &[
                r#"{"id":1,"v":"a"}"#,
                r#"{"id":2,"v":"c"}"#,
                r#"{"id":3,"v":"d"}"#,
            ],
        );
        let c = diff_rows("public.t", &b, &a).unwrap();
        assert_eq!(c.added.len(), 1);
        assert_eq!(c.removed.len(), 0);
        assert_eq!(c.changed.len(), 1);
        assert_eq!(c.summary(), "1 row added, 1 row changed");
    }

    #[test]
    fn duplicates_count() {
        let b = rows(&[], &[r#"{"v":"a"}"#]);
        let a = rows(&[], &[r#"{"v":"a"}"#, r#"{"v":"a"}"#]);
        let c = diff_rows("public.t", &b, &a).unwrap();
        assert_eq!(c.added.len(), 1);
        assert!(diff_rows("public.t", &b, &b).is_none());
    }

    #[test]
    fn schema_diff_names_objects() {
        let mut b = Snapshot::default();
        let mut a = Snapshot::default();
        b.schema.insert("enum public.mood".into(), "  'a'".into());
        a.schema
            .insert("enum public.mood".into(), "  'a', 'b'".into());
        a.schema.insert(
            "index public.i".into(),
            "  CREATE INDEX i ON public.t USING btree (a)".into(),
        );
        let c = compare(&b, &a);
        assert_eq!(
            c.changed_objects,
            vec!["changed enum public.mood", "added index public.i"]
        );
        let d = c.schema_diff.clone().unwrap();
        assert!(d.contains("-  'a'\n+  'a', 'b'\n"), "{d}");
        assert_eq!(c.changed_names(), vec!["mood", "i"]);
    }
}
