//! Rows migrations derived from synthetic rows (copied by an `INSERT ...
//! SELECT` or an `UPDATE ... FROM`), withdrawn with them: the rows that
//! hold, in some column, a value only a synthetic row had. Same meaning as
//! the SQLite engine's `delete_derived` (`replay::sqlite::seed`).

use super::super::snapshot::{literal, run_batch, SYSTEM_SCHEMAS};
use super::super::{tool_error, Runner};
use super::{cell, Column, Table, Tried};
use crate::error::Result;
use postgres::SimpleQueryMessage;
use std::collections::BTreeMap;

/// Whether a value written to a synthetic row is distinctive enough to
/// tell the rows migrations derived from it: the rule of every engine
/// ([`crate::replay::distinctive_text`], [`crate::replay::distinctive_integer`])
/// for string and uuid columns, and numbers.
fn distinctive(col: &Column, v: &str) -> bool {
    match col.category {
        'S' | 'U' => crate::replay::distinctive_text(v),
        'N' => v
            .parse::<i64>()
            .is_ok_and(crate::replay::distinctive_integer),
        _ => false,
    }
}

impl Runner<'_> {
    /// Remembers the distinctive values (see [`distinctive`]) of the
    /// columns `names` (quoted) a synthetic row of `t` got, given as text,
    /// and returns them. Values taken from a parent row (foreign keys) are
    /// not the synthetic row's own, and are left.
    pub(super) fn remember_values<'v>(
        &mut self,
        t: &Table,
        values: impl IntoIterator<Item = (&'v str, Option<&'v str>)>,
    ) -> Vec<String> {
        let mut own = Vec::new();
        for (name, v) in values {
            let (Some(col), Some(v)) = (t.columns.iter().find(|c| c.quoted == name), v) else {
                continue;
            };
            let fk = t.fks.iter().any(|fk| fk.from.contains(&col.name));
            if !fk && distinctive(col, v) {
                self.synthetic_values.insert(v.to_string());
                own.push(v.to_string());
            }
        }
        own
    }

    /// Deletes the rows migrations derived from synthetic rows: rows of
    /// user tables (not the set-up's) holding, in a text, uuid or number
    /// column, one of the remembered distinctive values (compared as text);
    /// without seeding they would not be there. Newest table first, each
    /// under a savepoint: a delete the server refuses (a row still referred
    /// to) leaves the table as it is. Returns how many rows went, and
    /// whether every table's delete ran (none refused or timed out).
    pub(super) fn delete_derived(&mut self) -> Result<(u64, bool)> {
        if self.synthetic_values.is_empty() {
            return Ok((0, true));
        }
        // Plain and partitioned tables, not partitions or inheritance
        // children (a delete from the parent reaches them).
        let sql = format!(
            "SELECT c.oid::text, quote_ident(n.nspname) || '.' || quote_ident(c.relname), \
               lower(c.relname), quote_ident(a.attname) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
               JOIN pg_type ty ON ty.oid = a.atttypid \
             WHERE c.relkind IN ('r', 'p') AND {SYSTEM_SCHEMAS} \
               AND ty.typcategory IN ('S', 'U', 'N') \
               AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) \
             ORDER BY c.oid::bigint DESC, a.attnum"
        );
        let found = run_batch(&mut self.client, &[sql])
            .map_err(|e| tool_error("cannot read the tables rows were copied into", &e))?;
        // oid → (quoted name, columns), newest first.
        let mut tables: Vec<(String, String, Vec<String>)> = Vec::new();
        let mut by_oid: BTreeMap<String, usize> = BTreeMap::new();
        for r in found.into_iter().next().unwrap_or_default() {
            if self.setup_tables.contains(&cell(&r, 2)) {
                continue;
            }
            let i = *by_oid.entry(cell(&r, 0)).or_insert_with(|| {
                tables.push((cell(&r, 0), cell(&r, 1), Vec::new()));
                tables.len() - 1
            });
            tables[i].2.push(cell(&r, 3));
        }
        // The values go to the server once, into a temporary table keyed
        // on them that each row's columns are looked up in: a list of
        // literals per column made each delete cost the server a parse and
        // a selectivity estimate per value and column, which grew with the
        // history (openmeter: 1.4 MB statements, 80 ms each, at 60
        // migrations). The table goes with the transaction. Where the
        // role may not create temporary tables (a server of the user's),
        // each delete carries the values as one array.
        let array = literal(&text_array(&self.synthetic_values));
        let in_table = matches!(
            self.seed_try(&format!(
                "CREATE TEMPORARY TABLE {VALUES} (v text PRIMARY KEY) ON COMMIT DROP; \
                 INSERT INTO {VALUES} SELECT DISTINCT unnest({array}::text[]); \
                 ANALYZE {VALUES}"
            ))?,
            Tried::Done(_)
        );
        let mut deleted = 0;
        let mut complete = true;
        for (_, table, columns) in tables {
            let sql = if in_table {
                let cols: Vec<String> = columns
                    .iter()
                    .map(|c| format!("twice_t.{c}::text"))
                    .collect();
                format!(
                    "DELETE FROM {table} AS twice_t WHERE EXISTS \
                     (SELECT FROM {VALUES} s WHERE s.v IN ({}))",
                    cols.join(", ")
                )
            } else {
                let cond: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{c}::text IN (SELECT v FROM twice_values)"))
                    .collect();
                format!(
                    "WITH twice_values AS MATERIALIZED (SELECT unnest({array}::text[]) AS v) \
                     DELETE FROM {table} WHERE {}",
                    cond.join(" OR ")
                )
            };
            match self.seed_try(&sql)? {
                Tried::Done(m) => {
                    deleted += m
                        .iter()
                        .map(|m| match m {
                            SimpleQueryMessage::CommandComplete(n) => *n,
                            _ => 0,
                        })
                        .sum::<u64>()
                }
                Tried::Refused | Tried::TimedOut => complete = false,
            }
        }
        if in_table {
            // Gone at the commit anyway; dropped now so nothing after the
            // withdrawal in this transaction sees it.
            self.seed_try(&format!("DROP TABLE IF EXISTS {VALUES}"))?;
        }
        Ok((deleted, complete))
    }
}

/// The temporary table [`Runner::delete_derived`] puts the values in.
const VALUES: &str = "pg_temp.twice_synthetic_values";

/// `values` as the text of a PostgreSQL array of `text`: every element
/// double-quoted (an unquoted `NULL` would be a null), `"` and `\`
/// escaped with a backslash.
fn text_array<'v>(values: impl IntoIterator<Item = &'v String>) -> String {
    let mut out = String::from("{");
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for ch in v.chars() {
            if ch == '"' || ch == '\\' {
                out.push('\\');
            }
            out.push(ch);
        }
        out.push('"');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::text_array;

    #[test]
    fn array_text_quotes_every_element() {
        let v: Vec<String> = ["a", "NULL", "x\"y", "b\\c", "", "{,}"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(text_array(&v), r#"{"a","NULL","x\"y","b\\c","","{,}"}"#);
        assert_eq!(text_array(&Vec::<String>::new()), "{}");
    }
}
