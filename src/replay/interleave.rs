//! What became of the rows written between a migration's first and second
//! run ([`super::engine::Engine::interleave`]), for any engine.
//!
//! The engine gives each written table's rows just before and just after
//! the write; the rows that differ are the *written* rows (new ones, and
//! one existing row with new values). After the second run each written row
//! is:
//! - **kept**: a row with the same values is still there (a table rebuild
//!   that moved it to a new row id keeps it);
//! - **lost**: no row with its key is left (for a table without a key: no
//!   row with its values, nor one like it, see below);
//! - **reverted**: its row is there, and a column the write changed holds
//!   the value it had before the write again (a reset, an upsert of a
//!   fixed row, a reload of the same rows);
//! - **changed** otherwise (a backfill that recomputes a column from the
//!   new values, a relative update): not a loss, and not a change of the
//!   migration's own rows either.
//!
//! A table without a key (PostgreSQL and MySQL tables with no primary key
//! or unique index; SQLite always has its row id) has nothing that names a
//! row but its values, so rows are paired one to one: the rows the write
//! left alone and the written rows still there as they were take the rows
//! after the second run equal to them, then each other written row takes
//! the remaining row most like it (the same non-null value in at least one
//! column and in at least half of the columns, see [`alike`]): that row is
//! the written one, changed. A written row nothing is left for is lost.
//!
//! The algorithm runs this second run as a trial of its own, after the
//! ordinary one: `second-run-data-change` and the other rules compare the
//! second run with the first on the same rows, as without the write.

use super::engine::{RowKey, TableData, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A row by column name.
pub type RowMap = BTreeMap<String, Value>;

/// One row the write made or changed.
#[derive(Clone, Debug)]
pub struct WrittenRow {
    /// Its identity: key values (declared key or hidden row id); empty for
    /// a table without a key.
    pub id: Vec<Value>,
    /// Its values after the write (hidden row id not included).
    pub values: RowMap,
    /// For an existing row the write changed: its values before.
    pub before: Option<RowMap>,
}

/// The rows written to one table.
#[derive(Clone, Debug)]
pub struct Written {
    pub key: RowKey,
    /// Key columns (declared key), in order.
    pub key_columns: Vec<String>,
    pub rows: Vec<WrittenRow>,
    /// For a table without a key: the rows the write left as they were
    /// (they pair with their own rows after the second run before the
    /// written rows are looked for).
    pub untouched: Vec<RowMap>,
}

/// What the second run did to a written row.
#[derive(Clone, Debug, PartialEq)]
pub enum Fate {
    Kept,
    Lost,
    /// The columns put back to their value before the write, with the row
    /// after the second run.
    Reverted {
        columns: Vec<String>,
        after: RowMap,
    },
    Changed,
}

/// The identity and values of a row of `data`.
fn split(columns: &[String], key: &RowKey, row: &[Value]) -> (Vec<Value>, RowMap) {
    match key {
        RowKey::Hidden => {
            let id = row.first().cloned().into_iter().collect();
            let values = columns
                .iter()
                .cloned()
                .zip(row.iter().skip(1).cloned())
                .collect();
            (id, values)
        }
        RowKey::Declared(n) => {
            let id = row.iter().take(*n).cloned().collect();
            (
                id,
                columns.iter().cloned().zip(row.iter().cloned()).collect(),
            )
        }
        RowKey::None => (
            Vec::new(),
            columns.iter().cloned().zip(row.iter().cloned()).collect(),
        ),
    }
}

impl Written {
    /// The rows that differ between the images before and after the write.
    /// `None` when the images cannot tell (too large to keep, or the table
    /// changed shape in between).
    pub fn between(pre: &TableData, post: &TableData) -> Option<Written> {
        let (
            TableData::Rows {
                columns: c1,
                key: k1,
                rows: r1,
            },
            TableData::Rows {
                columns: c2,
                key: k2,
                rows: r2,
            },
        ) = (pre, post)
        else {
            return None;
        };
        if c1 != c2 || k1 != k2 {
            return None;
        }
        let key_columns = match k1 {
            RowKey::Declared(n) => c1.iter().take(*n).cloned().collect(),
            _ => Vec::new(),
        };
        let mut rows = Vec::new();
        let mut untouched = Vec::new();
        match k1 {
            RowKey::Declared(_) | RowKey::Hidden => {
                let old: BTreeMap<Vec<Value>, RowMap> =
                    r1.iter().map(|r| split(c1, k1, r)).collect();
                for r in r2 {
                    let (id, values) = split(c2, k2, r);
                    match old.get(&id) {
                        Some(b) if *b == values => {}
                        Some(b) => rows.push(WrittenRow {
                            id,
                            values,
                            before: Some(b.clone()),
                        }),
                        None => rows.push(WrittenRow {
                            id,
                            values,
                            before: None,
                        }),
                    }
                }
            }
            RowKey::None => {
                // How many of each row there were: a row of the second read
                // with an equal one left in the first is untouched.
                let mut old: BTreeMap<&Vec<Value>, usize> = BTreeMap::new();
                for r in r1 {
                    *old.entry(r).or_default() += 1;
                }
                for r in r2 {
                    if let Some(n) = old.get_mut(r).filter(|n| **n > 0) {
                        *n -= 1;
                        untouched.push(split(c2, k2, r).1);
                    } else {
                        let (id, values) = split(c2, k2, r);
                        rows.push(WrittenRow {
                            id,
                            values,
                            before: None,
                        });
                    }
                }
            }
        }
        if rows.is_empty() {
            return None;
        }
        Some(Written {
            key: k1.clone(),
            key_columns,
            rows,
            untouched,
        })
    }

    /// What the second run did to each written row, given the table after
    /// it (`None`: the table is gone). `None` when the image cannot tell.
    pub fn fates(&self, after: Option<&TableData>) -> Option<Vec<Fate>> {
        let Some(after) = after else {
            return Some(vec![Fate::Lost; self.rows.len()]);
        };
        let TableData::Rows { columns, key, rows } = after else {
            return None;
        };
        let after: Vec<(Vec<Value>, RowMap)> =
            rows.iter().map(|r| split(columns, key, r)).collect();
        // Without a key: paired one to one by value.
        if self.key == RowKey::None {
            let after: Vec<RowMap> = after.into_iter().map(|(_, v)| v).collect();
            return Some(self.keyless_fates(&after));
        }
        // Rows are found again by their declared key values (whatever the
        // key of the table after), or by their hidden row id.
        let find = |w: &WrittenRow| -> Option<&RowMap> {
            match self.key {
                RowKey::Declared(_) => after.iter().map(|(_, v)| v).find(|v| {
                    self.key_columns
                        .iter()
                        .all(|k| v.contains_key(k) && v.get(k) == w.values.get(k))
                }),
                // A row id is the same row only while the table is: one
                // re-created by the second run reuses the ids for other rows.
                RowKey::Hidden if *key == RowKey::Hidden => after
                    .iter()
                    .find(|(id, v)| *id == w.id && alike(&w.values, v))
                    .map(|(_, v)| v),
                _ => None,
            }
            .or_else(|| {
                // A row its id no longer names (a table the second run
                // rebuilt): the row as it was before the write, put back.
                let before = w.before.as_ref()?;
                if matches!(self.key, RowKey::Declared(_)) {
                    return None;
                }
                after.iter().map(|(_, v)| v).find(|v| same(before, v))
            })
        };
        Some(
            self.rows
                .iter()
                .map(|w| {
                    if after.iter().any(|(_, v)| same(&w.values, v)) {
                        return Fate::Kept;
                    }
                    match find(w) {
                        Some(now) => w.changed_into(now),
                        None => Fate::Lost,
                    }
                })
                .collect(),
        )
    }

    /// [`Self::fates`] for a table without a key (see the module doc).
    fn keyless_fates(&self, after: &[RowMap]) -> Vec<Fate> {
        let mut used = vec![false; after.len()];
        let mut equals = Equals::new(after);
        let mut fates: Vec<Option<Fate>> = self
            .rows
            .iter()
            .map(|w| equals.take(&w.values, &mut used).then_some(Fate::Kept))
            .collect();
        for row in &self.untouched {
            equals.take(row, &mut used);
        }
        // The other written rows, each to the remaining row most like it.
        let mut pairs: Vec<(usize, usize, usize)> = Vec::new();
        for (wi, w) in self.rows.iter().enumerate() {
            if fates[wi].is_some() {
                continue;
            }
            for (ai, a) in after.iter().enumerate() {
                let known = w
                    .values
                    .iter()
                    .filter(|(c, v)| **v != Value::Null && a.get(*c) == Some(*v))
                    .count();
                if !used[ai] && known >= 1 && alike(&w.values, a) {
                    pairs.push((known, wi, ai));
                }
            }
        }
        pairs.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        for (_, wi, ai) in pairs {
            if fates[wi].is_none() && !used[ai] {
                used[ai] = true;
                fates[wi] = Some(self.rows[wi].changed_into(&after[ai]));
            }
        }
        fates.into_iter().map(|f| f.unwrap_or(Fate::Lost)).collect()
    }
}

impl WrittenRow {
    /// The fate of this row, found again as `now` but not as it was written.
    fn changed_into(&self, now: &RowMap) -> Fate {
        let Some(before) = &self.before else {
            return Fate::Changed;
        };
        let columns: Vec<String> = self
            .values
            .iter()
            .filter(|(c, v)| before.get(*c) != Some(*v))
            .filter(|(c, _)| now.get(*c).is_some() && now.get(*c) == before.get(*c))
            .map(|(c, _)| c.clone())
            .collect();
        if columns.is_empty() {
            Fate::Changed
        } else {
            Fate::Reverted {
                columns,
                after: now.clone(),
            }
        }
    }
}

/// Finds, for a row, the first unused row of `after` that is [`same`]: by
/// its values on the columns both have, through an index built once for
/// each set of such columns (one, unless rows differ in shape), so that a
/// table of n rows costs n log n, not n².
struct Equals<'a> {
    after: &'a [RowMap],
    /// The columns every row of `after` has.
    common: BTreeSet<&'a str>,
    /// By shared columns: each row's values on them, to the rows of
    /// `after` with those values, in order.
    index: BTreeMap<Vec<String>, BTreeMap<Vec<&'a Value>, VecDeque<usize>>>,
}

impl<'a> Equals<'a> {
    fn new(after: &'a [RowMap]) -> Self {
        let mut common: Option<BTreeSet<&str>> = None;
        for r in after {
            let cols: BTreeSet<&str> = r.keys().map(String::as_str).collect();
            common = Some(match common {
                None => cols,
                Some(c) => c.intersection(&cols).copied().collect(),
            });
        }
        Equals {
            after,
            common: common.unwrap_or_default(),
            index: BTreeMap::new(),
        }
    }

    /// Marks and reports the first unused row of `after` equal to `row` on
    /// the columns both have.
    fn take(&mut self, row: &'a RowMap, used: &mut [bool]) -> bool {
        // A column of `row` that some row of `after` lacks: that row matches
        // on it whatever it holds, so no index on it; look row by row.
        if row.keys().any(|c| {
            !self.common.contains(c.as_str()) && self.after.iter().any(|a| a.contains_key(c))
        }) {
            let i = (0..self.after.len()).find(|&i| !used[i] && same(row, &self.after[i]));
            if let Some(i) = i {
                used[i] = true;
            }
            return i.is_some();
        }
        let shared: Vec<String> = row
            .keys()
            .filter(|c| self.common.contains(c.as_str()))
            .cloned()
            .collect();
        let after = self.after;
        let index = self.index.entry(shared).or_insert_with_key(|shared| {
            let mut m: BTreeMap<Vec<&Value>, VecDeque<usize>> = BTreeMap::new();
            for (i, a) in after.iter().enumerate() {
                let k = shared.iter().filter_map(|c| a.get(c)).collect();
                m.entry(k).or_default().push_back(i);
            }
            m
        });
        let key: Vec<&Value> = row
            .iter()
            .filter(|(c, _)| self.common.contains(c.as_str()))
            .map(|(_, v)| v)
            .collect();
        let Some(queue) = index.get_mut(&key) else {
            return false;
        };
        while let Some(i) = queue.pop_front() {
            if !used[i] {
                used[i] = true;
                return true;
            }
        }
        false
    }
}

/// The same values on the columns both rows have (a second run may have
/// changed the table's shape).
fn same(a: &RowMap, b: &RowMap) -> bool {
    a.iter().all(|(c, v)| b.get(c).is_none_or(|w| w == v))
}

/// Whether two rows hold the same values in at least half of the columns
/// they share (and at least one): the same row, changed, rather than
/// another row that took its id.
fn alike(a: &RowMap, b: &RowMap) -> bool {
    let shared = a.keys().filter(|c| b.contains_key(*c)).count();
    let equal = a.iter().filter(|(c, v)| b.get(*c) == Some(*v)).count();
    equal >= 1 && 2 * equal >= shared
}

/// A row as `col = value, ...` (at most a few columns, for messages).
pub fn row_text(row: &RowMap) -> String {
    let mut parts: Vec<String> = row
        .iter()
        .take(6)
        .map(|(c, v)| format!("{c} = {v}"))
        .collect();
    if row.len() > 6 {
        parts.push("…".into());
    }
    format!("({})", parts.join(", "))
}

/// A row as a JSON object, for evidence.
pub fn row_json(row: &RowMap) -> serde_json::Value {
    serde_json::Value::Object(row.iter().map(|(c, v)| (c.clone(), v.to_json())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn data(rows: &[(&str, &str)]) -> TableData {
        let mut rows: Vec<Vec<Value>> = rows.iter().map(|(k, v)| vec![t(k), t(v)]).collect();
        rows.sort();
        TableData::Rows {
            columns: vec!["key".into(), "value".into()],
            key: RowKey::Declared(1),
            rows,
        }
    }

    #[test]
    fn lost_reverted_kept_and_changed() {
        let pre = data(&[("theme", "dark")]);
        let post = data(&[("theme", "light"), ("lang", "fr")]);
        let w = Written::between(&pre, &post).unwrap();
        assert_eq!(w.rows.len(), 2);
        // DROP + CREATE + INSERT of the fixed row: the new row is lost, the
        // changed value put back.
        let fates = w.fates(Some(&data(&[("theme", "dark")]))).unwrap();
        assert!(fates.contains(&Fate::Lost));
        assert!(fates
            .iter()
            .any(|f| matches!(f, Fate::Reverted { columns, .. } if columns == &["value"])));
        // Nothing touched.
        let fates = w.fates(Some(&post)).unwrap();
        assert!(fates.iter().all(|f| *f == Fate::Kept));
        // A backfill that computes a new value: changed, not reverted.
        let fates = w
            .fates(Some(&data(&[("theme", "LIGHT"), ("lang", "fr")])))
            .unwrap();
        assert!(fates.contains(&Fate::Changed));
        // The table is gone.
        assert!(w.fates(None).unwrap().iter().all(|f| *f == Fate::Lost));
    }

    #[test]
    fn a_rebuilt_table_reuses_row_ids_for_other_rows() {
        let d = |rows: &[(i64, &str, &str)]| TableData::Rows {
            columns: vec!["code".into(), "name".into()],
            key: RowKey::Hidden,
            rows: rows
                .iter()
                .map(|(id, c, n)| vec![Value::Integer(*id), t(c), t(n)])
                .collect(),
        };
        let pre = d(&[(1, "fr", "France")]);
        let post = d(&[(1, "fr", "France"), (2, "de", "Germany")]);
        let w = Written::between(&pre, &post).unwrap();
        // Re-created from elsewhere: id 2 now holds another row.
        let fates = w.fates(Some(&d(&[(1, "fr", "France"), (2, "it", "Italy")])));
        assert_eq!(fates.unwrap(), vec![Fate::Lost]);
        // The same row, one value recomputed: changed, not lost.
        let fates = w.fates(Some(&d(&[(1, "fr", "France"), (2, "de", "GERMANY")])));
        assert_eq!(fates.unwrap(), vec![Fate::Changed]);
        // Moved to a new id by a rebuild that copies it: kept.
        let fates = w.fates(Some(&d(&[(7, "fr", "France"), (8, "de", "Germany")])));
        assert_eq!(fates.unwrap(), vec![Fate::Kept]);
    }

    /// The index of [`Equals`] finds the row the plain scan found: the
    /// first unused one the same on the columns both have, also with
    /// duplicates, NULLs, and rows of another shape (a column one side
    /// lacks matches anything).
    #[test]
    fn the_equal_row_index_takes_the_row_a_scan_takes() {
        let row = |cols: &[&str], vals: &[Option<i64>]| -> RowMap {
            cols.iter()
                .zip(vals)
                .map(|(c, v)| (c.to_string(), v.map_or(Value::Null, Value::Integer)))
                .collect()
        };
        let scan = |after: &[RowMap], row: &RowMap, used: &mut [bool]| {
            let i = (0..after.len()).find(|&i| !used[i] && same(row, &after[i]));
            if let Some(i) = i {
                used[i] = true;
            }
            i.is_some()
        };
        // A small deterministic mix: values 0..3 and NULL in two columns.
        let v = |n: u64| (n % 4 != 3).then_some((n % 4) as i64);
        let mut x = 7u64;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 33
        };
        for shape in 0..3 {
            let after: Vec<RowMap> = (0..40)
                .map(|i| match (shape, i % 5) {
                    // Some rows of `after` without column b.
                    (1, 0) => row(&["a"], &[v(next())]),
                    _ => row(&["a", "b"], &[v(next()), v(next())]),
                })
                .collect();
            let queries: Vec<RowMap> = (0..60)
                .map(|i| match (shape, i % 4) {
                    // Queries with a column `after` does not have.
                    (2, 0) => row(&["a", "c"], &[v(next()), v(next())]),
                    _ => row(&["a", "b"], &[v(next()), v(next())]),
                })
                .collect();
            let (mut u1, mut u2) = (vec![false; after.len()], vec![false; after.len()]);
            let mut equals = Equals::new(&after);
            for q in &queries {
                assert_eq!(equals.take(q, &mut u1), scan(&after, q, &mut u2), "{q:?}");
                assert_eq!(u1, u2, "{q:?}");
            }
        }
    }

    #[test]
    fn rows_without_a_key_compare_by_value() {
        let d = |rows: &[&str]| TableData::Rows {
            columns: vec!["v".into()],
            key: RowKey::None,
            rows: rows.iter().map(|r| vec![t(r)]).collect(),
        };
        let w = Written::between(&d(&["a"]), &d(&["a", "b"])).unwrap();
        assert_eq!(w.fates(Some(&d(&["a"]))).unwrap(), vec![Fate::Lost]);
        assert_eq!(w.fates(Some(&d(&["b", "a"]))).unwrap(), vec![Fate::Kept]);
    }

    /// A table without a key whose new rows the second run updates (a
    /// backfill of one column from another): the rows are there, changed,
    /// not lost; rows the second run deletes or replaces are lost, also
    /// when a row the write left alone looks like them.
    #[test]
    fn rows_without_a_key_changed_by_the_second_run_are_not_lost() {
        let d = |rows: &[(i64, &str, Option<&str>)]| TableData::Rows {
            columns: vec!["rid".into(), "version".into(), "nightly".into()],
            key: RowKey::None,
            rows: rows
                .iter()
                .map(|(r, v, n)| vec![Value::Integer(*r), t(v), n.map_or(Value::Null, t)])
                .collect(),
        };
        let pre = d(&[(1, "1.80 2024-01-01", Some("2024-01-01"))]);
        let post = d(&[
            (1, "1.80 2024-01-01", Some("2024-01-01")),
            (2, "1.81 2024-02-01", Some("x")),
            (3, "1.82 2024-03-01", None),
        ]);
        let w = Written::between(&pre, &post).unwrap();
        assert_eq!(w.rows.len(), 2);
        assert_eq!(w.untouched.len(), 1);
        // The backfill: nightly recomputed in every row.
        let backfilled = d(&[
            (1, "1.80 2024-01-01", Some("2024-01-01")),
            (2, "1.81 2024-02-01", Some("2024-02-01")),
            (3, "1.82 2024-03-01", Some("2024-03-01")),
        ]);
        assert_eq!(
            w.fates(Some(&backfilled)).unwrap(),
            vec![Fate::Changed, Fate::Changed]
        );
        // One new row deleted, the other kept.
        let deleted = d(&[
            (1, "1.80 2024-01-01", Some("2024-01-01")),
            (3, "1.82 2024-03-01", None),
        ]);
        assert_eq!(
            w.fates(Some(&deleted)).unwrap(),
            vec![Fate::Lost, Fate::Kept]
        );
        // Emptied and reloaded with the migration's own rows, one of them
        // like a new row in two columns of three (the untouched row pairs
        // with its own copy first; the NULL alone pairs nothing).
        let reloaded = d(&[
            (1, "1.80 2024-01-01", Some("2024-01-01")),
            (2, "1.81 2024-02-01", Some("2024-02-01")),
            (9, "other", None),
        ]);
        assert_eq!(
            w.fates(Some(&reloaded)).unwrap(),
            vec![Fate::Changed, Fate::Lost]
        );
        let replaced = d(&[
            (1, "1.80 2024-01-01", Some("2024-01-01")),
            (9, "other", None),
        ]);
        assert_eq!(
            w.fates(Some(&replaced)).unwrap(),
            vec![Fate::Lost, Fate::Lost]
        );
    }
}
