//! Comparing before/after images: schema objects as a unified text diff
//! (made with `similar`), table rows as added/removed/changed sets.

use super::engine::{ObjectKey, RowKey, SchemaImage, TableData, Value};
use std::collections::BTreeMap;

/// How an object differs between two images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

/// The difference between two schema images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaDiff {
    /// Objects that differ, in display order.
    pub objects: Vec<(ObjectKey, Change)>,
    /// Unified diff of the normalised text of those objects.
    pub unified: String,
}

impl SchemaDiff {
    /// `table customers changed, index customers_email added`.
    pub fn summary(&self) -> String {
        crate::words::first_of(
            self.objects
                .iter()
                .map(|(k, c)| format!("{} {} {}", k.kind, k.name, c.name())),
            self.objects.len(),
            4,
        )
    }
}

fn kind_rank(kind: &str) -> u8 {
    match kind {
        "table" => 0,
        "view" => 1,
        "index" => 2,
        "trigger" => 3,
        _ => 4,
    }
}

/// Display order: each table followed by its indexes and triggers.
fn display_order(keys: &mut [&ObjectKey]) {
    keys.sort_by(|a, b| {
        (a.table.as_str(), kind_rank(&a.kind), a.name.as_str()).cmp(&(
            b.table.as_str(),
            kind_rank(&b.kind),
            b.name.as_str(),
        ))
    });
}

/// Compares the objects present in either image. Objects missing from one
/// image are taken as unchanged (images cover what was touched).
pub fn schema_diff(
    before: &SchemaImage,
    after: &SchemaImage,
    old_label: &str,
    new_label: &str,
) -> Option<SchemaDiff> {
    diff_objects(before, after, old_label, new_label, false)
}

/// [`schema_diff`], a table whose lines (columns, constraints) are the same
/// in another order counted as unchanged: a column dropped and added again
/// comes back at the end, and neither PostgreSQL nor SQLite can add one at
/// a position (for a down migration that restores what its up dropped).
pub fn schema_diff_ignoring_column_order(
    before: &SchemaImage,
    after: &SchemaImage,
    old_label: &str,
    new_label: &str,
) -> Option<SchemaDiff> {
    diff_objects(before, after, old_label, new_label, true)
}

/// Whether two images of a table hold the same lines in another order
/// (a line's trailing comma aside).
fn same_lines_reordered(a: &str, b: &str) -> bool {
    fn lines(t: &str) -> Vec<&str> {
        let mut v: Vec<&str> = t
            .lines()
            .map(|l| l.trim().trim_end_matches(',').trim_end())
            .filter(|l| !l.is_empty())
            .collect();
        v.sort_unstable();
        v
    }
    lines(a) == lines(b)
}

fn diff_objects(
    before: &SchemaImage,
    after: &SchemaImage,
    old_label: &str,
    new_label: &str,
    ignore_column_order: bool,
) -> Option<SchemaDiff> {
    let mut keys: Vec<&ObjectKey> = before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)))
        .collect();
    display_order(&mut keys);
    let mut objects = Vec::new();
    let mut old_text = String::new();
    let mut new_text = String::new();
    for key in keys {
        let (Some(b), Some(a)) = (before.get(key), after.get(key)) else {
            continue;
        };
        if b == a {
            continue;
        }
        if let (true, Some(bt), Some(at)) = (ignore_column_order && key.kind == "table", b, a) {
            if same_lines_reordered(bt, at) {
                continue;
            }
        }
        let change = match (b, a) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            _ => Change::Changed,
        };
        objects.push((key.clone(), change));
        for (text, img) in [(&mut old_text, b), (&mut new_text, a)] {
            if let Some(body) = img {
                text.push_str(body.trim_end());
                text.push_str(";\n");
            }
        }
    }
    if objects.is_empty() {
        return None;
    }
    let unified = similar::TextDiff::from_lines(&old_text, &new_text)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string();
    Some(SchemaDiff { objects, unified })
}

/// How the rows of one table differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDiff {
    pub table: String,
    /// Columns the rows below show (those present before and after).
    pub columns: Vec<String>,
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    /// A few example rows.
    pub sample_added: Vec<Vec<Value>>,
    pub sample_removed: Vec<Vec<Value>>,
    pub sample_changed: Vec<(Vec<Value>, Vec<Value>)>,
    /// The table was too large to keep its rows: only counts are known.
    pub summary_only: bool,
}

/// How many example rows of each kind a finding shows.
pub const SAMPLES: usize = 3;

impl DataDiff {
    /// `2 rows added, 1 row changed`.
    pub fn counts(&self) -> String {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.added, "added"),
            (self.removed, "removed"),
            (self.changed, "changed"),
        ] {
            if n > 0 {
                parts.push(format!(
                    "{n} {} {what}",
                    if n == 1 { "row" } else { "rows" }
                ));
            }
        }
        if parts.is_empty() {
            "rows differ".to_string()
        } else {
            parts.join(", ")
        }
    }

    /// The example rows as diff lines.
    pub fn sample_text(&self, old_label: &str, new_label: &str) -> String {
        let mut s = format!(
            "--- {old_label}\n+++ {new_label}\n  ({})\n",
            self.columns.join(", ")
        );
        let row = |r: &[Value]| {
            let cells: Vec<String> = r.iter().map(|v| v.to_string()).collect();
            format!("({})", cells.join(", "))
        };
        for r in &self.sample_removed {
            s.push_str(&format!("- {}\n", row(r)));
        }
        for (b, a) in &self.sample_changed {
            s.push_str(&format!("- {}\n+ {}\n", row(b), row(a)));
        }
        for r in &self.sample_added {
            s.push_str(&format!("+ {}\n", row(r)));
        }
        let shown = self.sample_added.len() + self.sample_removed.len() + self.sample_changed.len();
        let total = self.added + self.removed + self.changed;
        if total > shown {
            s.push_str(&format!("  ... and {} more\n", total - shown));
        }
        s
    }

    /// Structured evidence for JSON.
    pub fn evidence(&self) -> serde_json::Value {
        let obj = |r: &[Value]| {
            let mut m = serde_json::Map::new();
            for (c, v) in self.columns.iter().zip(r) {
                m.insert(c.clone(), v.to_json());
            }
            serde_json::Value::Object(m)
        };
        serde_json::json!({
            "table": self.table,
            "columns": self.columns,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "samples": {
                "added": self.sample_added.iter().map(|r| obj(r)).collect::<Vec<_>>(),
                "removed": self.sample_removed.iter().map(|r| obj(r)).collect::<Vec<_>>(),
                "changed": self.sample_changed.iter().map(|(b, a)| serde_json::json!({
                    "before": obj(b), "after": obj(a)
                })).collect::<Vec<_>>(),
            },
        })
    }
}

/// Projects rows onto the columns common to both sides.
fn project(
    columns: &[String],
    key: &RowKey,
    rows: &[Vec<Value>],
    common: &[String],
) -> (Vec<Vec<Value>>, usize) {
    let hidden = usize::from(*key == RowKey::Hidden);
    let idx: Vec<usize> = common
        .iter()
        .filter_map(|c| columns.iter().position(|x| x == c))
        .collect();
    let out = rows
        .iter()
        .map(|r| {
            let mut v = Vec::with_capacity(idx.len() + hidden);
            if hidden == 1 {
                v.push(r.first().cloned().unwrap_or(Value::Null));
            }
            v.extend(
                idx.iter()
                    .map(|&i| r.get(i + hidden).cloned().unwrap_or(Value::Null)),
            );
            v
        })
        .collect();
    (out, hidden)
}

/// Multiset difference of two sorted lists: (only in `a`, only in `b`).
fn multiset_diff<T: Ord + Clone>(a: &[T], b: &[T]) -> (Vec<T>, Vec<T>) {
    let (mut i, mut j) = (0, 0);
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                only_a.push(a[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                only_b.push(b[j].clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    only_a.extend_from_slice(&a[i..]);
    only_b.extend_from_slice(&b[j..]);
    (only_a, only_b)
}

/// Compares the rows of a table before and after. `None`: no difference.
pub fn data_diff(table: &str, before: &TableData, after: &TableData) -> Option<DataDiff> {
    let common: Vec<String> = before
        .columns()
        .iter()
        .filter(|c| after.columns().contains(c))
        .cloned()
        .collect();
    let mut diff = DataDiff {
        table: table.to_string(),
        columns: common.clone(),
        added: 0,
        removed: 0,
        changed: 0,
        sample_added: Vec::new(),
        sample_removed: Vec::new(),
        sample_changed: Vec::new(),
        summary_only: false,
    };
    let (
        TableData::Rows {
            columns: bc,
            key: bk,
            rows: br,
        },
        TableData::Rows {
            columns: ac,
            key: ak,
            rows: ar,
        },
    ) = (before, after)
    else {
        let count = |d: &TableData| match d {
            TableData::Rows { rows, .. } => rows.len() as u64,
            TableData::Summary { count, .. } => *count,
        };
        let hash = |d: &TableData| match d {
            TableData::Rows { rows, key, .. } => {
                if *key == RowKey::Hidden {
                    rows.iter().fold(0u64, |acc, r| {
                        acc.wrapping_add(super::engine::row_hash(r.get(1..).unwrap_or(&[])))
                    })
                } else {
                    super::engine::rows_hash(rows)
                }
            }
            TableData::Summary { hash, .. } => *hash,
        };
        if before.columns() == after.columns()
            && count(before) == count(after)
            && hash(before) == hash(after)
        {
            return None;
        }
        let (b, a) = (count(before), count(after));
        diff.summary_only = true;
        diff.added = a.saturating_sub(b) as usize;
        diff.removed = b.saturating_sub(a) as usize;
        if a == b {
            diff.changed = 1;
        }
        return Some(diff);
    };
    // A key is only usable when both sides agree on it and keep its columns.
    let key = if bk == ak {
        match bk {
            RowKey::Declared(n) => {
                let key_cols = &bc[..(*n).min(bc.len())];
                if key_cols.iter().all(|c| ac.contains(c))
                    && common.starts_with(key_cols)
                    && ac.starts_with(key_cols)
                {
                    RowKey::Declared(*n)
                } else {
                    RowKey::None
                }
            }
            other => other.clone(),
        }
    } else {
        RowKey::None
    };
    let (mut b, hidden) = project(bc, bk, br, &common);
    let (mut a, _) = project(ac, ak, ar, &common);
    if hidden == 1 && key != RowKey::Hidden {
        // Drop the hidden id when it is not used as a key.
        for r in b.iter_mut().chain(a.iter_mut()) {
            r.remove(0);
        }
    }
    let (removed, added, changed) = match key {
        RowKey::Declared(n) => {
            let group = |rows: Vec<Vec<Value>>| {
                let mut m: BTreeMap<Vec<Value>, Vec<Vec<Value>>> = BTreeMap::new();
                for r in rows {
                    m.entry(r[..n.min(r.len())].to_vec()).or_default().push(r);
                }
                m
            };
            let (gb, mut ga) = (group(b), group(a));
            let (mut removed, mut added, mut changed) = (Vec::new(), Vec::new(), Vec::new());
            for (k, mut rb) in gb {
                let mut ra = ga.remove(&k).unwrap_or_default();
                rb.sort();
                ra.sort();
                let (only_b, only_a) = multiset_diff(&rb, &ra);
                if only_b.len() == 1 && only_a.len() == 1 {
                    changed.push((only_b[0].clone(), only_a[0].clone()));
                } else {
                    removed.extend(only_b);
                    added.extend(only_a);
                }
            }
            for (_, ra) in ga {
                added.extend(ra);
            }
            (removed, added, changed)
        }
        RowKey::Hidden => {
            // Compare content; rows that only moved to a new id are equal.
            let strip = |rows: &[Vec<Value>]| {
                let mut v: Vec<(Vec<Value>, Value)> = rows
                    .iter()
                    .map(|r| (r[1..].to_vec(), r[0].clone()))
                    .collect();
                v.sort();
                v
            };
            let (sb, sa) = (strip(&b), strip(&a));
            let content =
                |v: &[(Vec<Value>, Value)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
            let (only_b, only_a) = multiset_diff(&content(&sb), &content(&sa));
            // Find the ids back to pair rows that kept their id. Both lists
            // are sorted by content, and `only` is a sub-multiset of `all`:
            // one walk gives each row the id of its first unused equal.
            let with_id = |only: Vec<Vec<Value>>, all: &[(Vec<Value>, Value)]| {
                let mut j = 0;
                only.into_iter()
                    .map(|r| {
                        while j < all.len() && all[j].0 < r {
                            j += 1;
                        }
                        let id = match all.get(j) {
                            Some(x) if x.0 == r => {
                                j += 1;
                                x.1.clone()
                            }
                            _ => Value::Null,
                        };
                        (id, r)
                    })
                    .collect::<Vec<_>>()
            };
            let rb = with_id(only_b, &sb);
            let ra = with_id(only_a, &sa);
            // A removed row and an added row with the same id: changed. The
            // first added row of each id pairs with the first removed one.
            let mut by_id: BTreeMap<&Value, std::collections::VecDeque<usize>> = BTreeMap::new();
            for (p, (id, _)) in ra.iter().enumerate() {
                by_id.entry(id).or_default().push_back(p);
            }
            let mut removed = Vec::new();
            let mut pairs = Vec::new();
            for (id, r) in rb {
                match by_id.get_mut(&id).and_then(|q| q.pop_front()) {
                    Some(p) => pairs.push((r, p)),
                    None => removed.push(r),
                }
            }
            let mut after: Vec<Option<Vec<Value>>> = ra.into_iter().map(|(_, r)| Some(r)).collect();
            let changed = pairs
                .into_iter()
                .map(|(r, p)| (r, after[p].take().unwrap_or_default()))
                .collect();
            let added = after.into_iter().flatten().collect();
            (removed, added, changed)
        }
        RowKey::None => {
            b.sort();
            a.sort();
            let (removed, added) = multiset_diff(&b, &a);
            (removed, added, Vec::new())
        }
    };
    if removed.is_empty() && added.is_empty() && changed.is_empty() {
        return None;
    }
    diff.added = added.len();
    diff.removed = removed.len();
    diff.changed = changed.len();
    diff.sample_added = added.into_iter().take(SAMPLES).collect();
    diff.sample_removed = removed.into_iter().take(SAMPLES).collect();
    diff.sample_changed = changed.into_iter().take(SAMPLES).collect();
    Some(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(key: RowKey, data: &[&[i64]]) -> TableData {
        TableData::Rows {
            columns: vec!["a".into(), "b".into()],
            key,
            rows: data
                .iter()
                .map(|r| r.iter().map(|&v| Value::Integer(v)).collect())
                .collect(),
        }
    }

    #[test]
    fn declared_key_gives_changed_rows() {
        let d = data_diff(
            "t",
            &rows(RowKey::Declared(1), &[&[1, 10], &[2, 20]]),
            &rows(RowKey::Declared(1), &[&[1, 11], &[2, 20], &[3, 30]]),
        )
        .unwrap();
        assert_eq!((d.added, d.removed, d.changed), (1, 0, 1));
    }

    #[test]
    fn hidden_key_ignores_moved_rows() {
        // rows: [rowid, a, b]; the row (5, 6) moved from id 1 to id 3.
        let mk = |data: &[&[i64]]| TableData::Rows {
            columns: vec!["a".into(), "b".into()],
            key: RowKey::Hidden,
            rows: data
                .iter()
                .map(|r| r.iter().map(|&v| Value::Integer(v)).collect())
                .collect(),
        };
        assert_eq!(data_diff("t", &mk(&[&[1, 5, 6]]), &mk(&[&[3, 5, 6]])), None);
        let d = data_diff("t", &mk(&[&[1, 5, 6]]), &mk(&[&[1, 5, 6], &[2, 5, 6]])).unwrap();
        assert_eq!((d.added, d.removed, d.changed), (1, 0, 0));
        assert_eq!(
            d.sample_added,
            vec![vec![Value::Integer(5), Value::Integer(6)]]
        );
        let d = data_diff("t", &mk(&[&[1, 5, 6]]), &mk(&[&[1, 5, 7]])).unwrap();
        assert_eq!((d.added, d.removed, d.changed), (0, 0, 1));
    }

    #[test]
    fn no_key_is_a_multiset() {
        let d = data_diff(
            "t",
            &rows(RowKey::None, &[&[1, 1]]),
            &rows(RowKey::None, &[&[1, 1], &[1, 1]]),
        )
        .unwrap();
        assert_eq!((d.added, d.removed), (1, 0));
    }

    #[test]
    fn schema_diff_shows_only_changed_objects() {
        let key = |n: &str| ObjectKey {
            kind: "table".into(),
            name: n.into(),
            table: n.into(),
        };
        let mut b = SchemaImage::new();
        let mut a = SchemaImage::new();
        b.insert(key("t"), Some("CREATE TABLE t (\n  a\n)".into()));
        a.insert(key("t"), Some("CREATE TABLE t (\n  a,\n  b\n)".into()));
        b.insert(key("u"), Some("CREATE TABLE u (x)".into()));
        a.insert(key("u"), Some("CREATE TABLE u (x)".into()));
        let d = schema_diff(&b, &a, "first", "second").unwrap();
        assert_eq!(d.objects.len(), 1);
        assert!(d.unified.contains("+  b"), "{}", d.unified);
        assert!(!d.unified.contains("CREATE TABLE u"));
        assert_eq!(schema_diff(&b, &b, "x", "y"), None);
    }
}
