//! The findings of what a run changed: `second-run-schema-change`,
//! `second-run-data-change`, `second-run-sequence-advance`,
//! `down-second-run-change`, `down-does-not-revert`, and what a second run
//! did to rows written since the first (`second-run-data-loss`,
//! `second-run-overwrites`), each attributed to the statements that made
//! the change.

use super::help::forms;
use super::{Replayer, Run};
use crate::dialect::Dialect;
use crate::finding::Finding;
use crate::model::{Migration, Part};
use crate::replay::diff::{self, SchemaDiff};
use crate::replay::engine::{Engine, Failure, Interleaved, ObjectKey, Observation, SchemaImage};
use crate::replay::interleave::{self as il, Fate, Written};
use crate::rules;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

impl<E: Engine> Replayer<'_, E> {
    /// Whether a second run of `part` could remove or rewrite rows: it has a
    /// statement other than `CREATE` (of any object), `ALTER TABLE` without
    /// a rename or a dropped column, and transaction, `PRAGMA` and `SET`
    /// statements. Parts that
    /// only create or add things skip the write between the runs (it costs
    /// a snapshot of each table the part names).
    pub(super) fn may_destroy(&self, part: &Part) -> bool {
        use crate::classify::{AlterOp, Kind};
        let unit = self.unit(part);
        part.statements
            .iter()
            .filter_map(|&i| unit.statements.get(i))
            .any(|s| match &s.facts.kind {
                Kind::Create(_) | Kind::Transaction(_) | Kind::Pragma(_) | Kind::Set(_) => false,
                Kind::AlterTable(a) => a.actions.iter().any(|act| {
                    matches!(
                        act.op,
                        AlterOp::RenameTo { .. } | AlterOp::DropColumn { .. }
                    )
                }),
                _ => true,
            })
    }

    /// Lower-case bare names the statements of `part` mention (a superset of
    /// the tables it touches), for [`Engine::interleave`]; without the
    /// tables the part sets aside (see [`Self::set_aside`]), which no
    /// application writes.
    pub(super) fn names_in(&self, part: &Part) -> BTreeSet<String> {
        let mut out = self.mentioned(part);
        for t in self.set_aside(part) {
            out.remove(&t);
        }
        out
    }

    /// Tables `part` sets aside: a table renamed to `y` and then made again
    /// under its old name (`ALTER TABLE t RENAME TO t_old; CREATE TABLE t
    /// ...`, MySQL's `RENAME TABLE t TO t_old, t_new TO t`) leaves `y` as
    /// the migration's backup of the old rows; the application goes on
    /// writing to `t`. Lower-case bare names.
    pub(super) fn set_aside(&self, part: &Part) -> BTreeSet<String> {
        use crate::classify::{AlterOp, Kind, Name};
        let unit = self.unit(part);
        let stmts: Vec<&crate::analysis::Statement> = part
            .statements
            .iter()
            .filter_map(|&i| unit.statements.get(i))
            .collect();
        let renames = |s: &crate::analysis::Statement| -> Vec<(Name, Name)> {
            match &s.facts.kind {
                Kind::AlterTable(a) => a
                    .actions
                    .iter()
                    .filter_map(|act| match (&act.op, &a.table) {
                        (AlterOp::RenameTo { new }, Some(t)) => Some((t.clone(), new.clone())),
                        _ => None,
                    })
                    .collect(),
                Kind::RenameTables(pairs) => pairs
                    .iter()
                    .map(|p| (p.from.clone(), p.to.clone()))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut out = BTreeSet::new();
        for (k, s) in stmts.iter().enumerate() {
            let pairs = renames(s);
            for (j, (from, to)) in pairs.iter().enumerate() {
                // Made again: by a later pair of the same RENAME, or by a
                // later statement (a CREATE TABLE or a rename to it).
                let again = pairs[j + 1..].iter().any(|(_, t2)| t2.same_object(from))
                    || stmts[k + 1..].iter().any(|s2| match &s2.facts.kind {
                        Kind::Create(c) => {
                            c.kind.is_table()
                                && !c.temporary
                                && c.name.as_ref().is_some_and(|n| n.same_object(from))
                        }
                        _ => renames(s2).iter().any(|(_, t2)| t2.same_object(from)),
                    });
                if again {
                    out.insert(to.object().to_ascii_lowercase());
                }
            }
        }
        out
    }

    /// Lower-case bare names the statements of `part` mention.
    fn mentioned(&self, part: &Part) -> BTreeSet<String> {
        let unit = self.unit(part);
        let text = &unit.source.text;
        let mut out = BTreeSet::new();
        for &i in &part.statements {
            let Some(st) = unit.statements.get(i) else {
                continue;
            };
            for t in &st.tokens {
                if matches!(
                    t.kind,
                    crate::lexer::TokenKind::Word | crate::lexer::TokenKind::QuotedIdent
                ) {
                    let w = text.get(t.span.clone()).unwrap_or("");
                    let w = w.trim_matches(|c| matches!(c, '"' | '`' | '[' | ']'));
                    out.insert(w.to_ascii_lowercase());
                }
            }
        }
        out
    }

    /// Reports what the second run did to the rows written since the first
    /// run: `second-run-data-loss` for rows it removed or values it put
    /// back, `second-run-overwrites` for values an upsert of the
    /// migration's own rows put back (see [`crate::replay::interleave`]).
    pub(super) fn report_interleaved(
        &mut self,
        m: &Migration,
        part: &Part,
        obs: &Observation,
        written: &BTreeMap<String, Written>,
    ) {
        for (table, w) in written {
            // A table the second run did not touch kept everything.
            let Some((name, after)) = obs
                .data_after
                .iter()
                .find(|(t, _)| t.eq_ignore_ascii_case(table))
            else {
                continue;
            };
            let Some(fates) = w.fates(after.as_ref()) else {
                continue;
            };
            let lost: Vec<&il::WrittenRow> = w
                .rows
                .iter()
                .zip(&fates)
                .filter(|(_, f)| **f == Fate::Lost)
                .map(|(r, _)| r)
                .collect();
            // A value an UPDATE computes from other data (an aggregate, a
            // backfill from other columns) comes back when that data did not
            // change: a recomputation, not a reset. Only values the part's
            // UPDATEs set to constants, or that a reload or upsert writes,
            // count as put back.
            let computed = if lost.is_empty() && self.remover(part, table).is_none() {
                self.computed_columns(part, table)
            } else {
                BTreeSet::new()
            };
            let reverted: Vec<(&il::WrittenRow, &Vec<String>, &il::RowMap)> = w
                .rows
                .iter()
                .zip(&fates)
                .filter_map(|(r, f)| match f {
                    Fate::Reverted { columns, after }
                        if !columns.iter().all(|c| computed.contains(c)) =>
                    {
                        Some((r, columns, after))
                    }
                    _ => None,
                })
                .collect();
            if lost.is_empty() && reverted.is_empty() {
                continue;
            }
            let writers = self.table_writers(part, obs, name);
            // Values put back while every row is still there, by a write of
            // the migration's own rows by key (an upsert of a fixed row, an
            // UPDATE with a WHERE): the weaker case. An UPDATE of every row
            // (a reset) or a table emptied on the way is the strong one.
            let upsert = writers
                .iter()
                .copied()
                .find(|&i| self.write_kind(part, i) == WriteKind::ByKey);
            let resets = writers
                .iter()
                .any(|&i| self.write_kind(part, i) == WriteKind::EveryRow);
            let weak = lost.is_empty() && !resets && upsert.is_some();
            let (overwritten, loss_reverted): (Vec<_>, Vec<_>) =
                reverted.into_iter().partition(|_| weak);
            let added = w.rows.iter().filter(|r| r.before.is_none()).count();
            let changed = w.rows.len() - added;
            if !lost.is_empty() || !loss_reverted.is_empty() {
                // No statement of the migration removes this table's rows
                // itself: the writer that removes rows of another table (a
                // foreign key's ON DELETE CASCADE, a trigger) rather than
                // the first writer (often the table's own CREATE TABLE IF
                // NOT EXISTS, which leaves the rows alone).
                let destroyer = self.destroyer(part, table);
                let elsewhere = destroyer
                    .is_none()
                    .then(|| {
                        writers
                            .iter()
                            .copied()
                            .find(|&i| self.removes_rows_of_another(part, i, table))
                    })
                    .flatten();
                let stmt = destroyer
                    .or(elsewhere)
                    .or_else(|| writers.first().copied())
                    .unwrap_or_else(|| self.first_statement(part));
                let mut what = Vec::new();
                let lost_added = lost.iter().filter(|r| r.before.is_none()).count();
                let put_back = lost.len() - lost_added + loss_reverted.len();
                let plural = |n: usize, one: &str, many: &str| {
                    if n == 1 {
                        format!("{n} {one}")
                    } else {
                        format!("{n} {many}")
                    }
                };
                if lost_added > 0 {
                    what.push(format!(
                        "{} of the {added} added since {} gone",
                        plural(lost_added, "row", "rows"),
                        if lost_added == 1 { "is" } else { "are" }
                    ));
                }
                if put_back > 0 {
                    what.push(format!(
                        "{} of the {changed} changed since {} back to {} value before",
                        plural(put_back, "row", "rows"),
                        if put_back == 1 { "is" } else { "are" },
                        if put_back == 1 { "its" } else { "their" }
                    ));
                }
                let message = format!(
                    "second run destroys data written since the first run in `{table}`: {}",
                    what.join("; ")
                );
                let rule = &rules::second_run_data_loss::META;
                let mut f = self.finding(m, part, stmt, None, rule, message);
                f.notes.push(
                    "between the two runs replay wrote to the table as an application would \
                     (new rows, new values in an existing row); a re-run in production meets \
                     such rows"
                        .into(),
                );
                let mut sample: Vec<String> = lost
                    .iter()
                    .take(3)
                    .map(|r| format!("lost: {}", il::row_text(&r.values)))
                    .collect();
                sample.extend(
                    loss_reverted
                        .iter()
                        .take(3)
                        .map(|(r, cols, now)| reverted_text(r, cols, now)),
                );
                f.notes
                    .push(format!("rows of {table}:\n{}", sample.join("\n")));
                if elsewhere.is_some() {
                    f.notes.push(format!(
                        "the rows of `{table}` go with this statement on another table: a \
                         foreign key of `{table}` with ON DELETE CASCADE, or a trigger, removes \
                         them"
                    ));
                }
                self.note_other_writers(part, &mut f, &writers, stmt);
                f.help = Some(self.loss_help(part, stmt));
                f.evidence = Some(serde_json::json!({
                    "table": table,
                    "lost": lost.iter().map(|r| il::row_json(&r.values)).collect::<Vec<_>>(),
                    "reverted": loss_reverted
                        .iter()
                        .map(|(r, cols, now)| reverted_json(r, cols, now))
                        .collect::<Vec<_>>(),
                    "statements": self.statements_json(part, &writers),
                }));
                self.findings.push(f);
            }
            if let (Some(stmt), false) = (upsert, overwritten.is_empty()) {
                let columns: BTreeSet<&String> =
                    overwritten.iter().flat_map(|(_, c, _)| c.iter()).collect();
                let message = format!(
                    "second run puts back {} in {} row{} of `{table}` changed since the first \
                     run: the migration writes its own value again",
                    columns
                        .into_iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    overwritten.len(),
                    if overwritten.len() == 1 { "" } else { "s" }
                );
                let rule = &rules::second_run_overwrites::META;
                let mut f = self.finding(m, part, stmt, None, rule, message);
                f.notes.push(format!(
                    "rows of {table}:\n{}",
                    overwritten
                        .iter()
                        .take(3)
                        .map(|(r, cols, now)| reverted_text(r, cols, now))
                        .collect::<Vec<_>>()
                        .join("\n")
                ));
                f.help = Some(if self.caps.dialect == Dialect::Mysql {
                    let forms = forms(self.caps.dialect);
                    format!(
                        "if the application may change this value, insert the row only when it \
                         is missing: {}, and update it only while it holds the old value \
                         (`UPDATE ... WHERE key = ... AND value = <old>`); keep {} for values \
                         the migration owns",
                        forms.skip_existing, forms.upsert_update
                    )
                } else {
                    "if the application may change this value, insert the row only when it is \
                     missing: `ON CONFLICT (key) DO NOTHING` (MySQL `INSERT IGNORE`, SQLite \
                     `INSERT OR IGNORE`), and update it only while it holds the old value \
                     (`UPDATE ... WHERE key = ... AND value = <old>`); keep `DO UPDATE` for \
                     values the migration owns"
                        .into()
                });
                f.evidence = Some(serde_json::json!({
                    "table": table,
                    "reverted": overwritten
                        .iter()
                        .map(|(r, cols, now)| reverted_json(r, cols, now))
                        .collect::<Vec<_>>(),
                    "statements": self.statements_json(part, &[stmt]),
                }));
                self.findings.push(f);
            }
        }
    }

    /// The statements of `part` that removed or wrote rows of `table`, in
    /// order: those that wrote rows and those that dropped, created or
    /// altered the table.
    fn table_writers(&self, part: &Part, obs: &Observation, table: &str) -> Vec<usize> {
        let bare = |n: &str| n.rsplit('.').next().unwrap_or(n).to_ascii_lowercase();
        let mut out: Vec<usize> = obs.writers.get(table).cloned().unwrap_or_default();
        for (k, w) in &obs.schema_writers {
            if k.kind == "table" && bare(&k.name) == bare(table) {
                out.extend(w);
            }
        }
        out.retain(|i| part.statements.contains(i));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The first statement of `part` that removes the rows of `table`
    /// (`DROP TABLE`, `DELETE` without `WHERE`, `TRUNCATE`), as the statement
    /// classifier reads them.
    fn remover(&self, part: &Part, table: &str) -> Option<usize> {
        use crate::classify::Kind;
        let bare = table.rsplit('.').next().unwrap_or(table);
        let is = |n: &crate::classify::Name| n.object().eq_ignore_ascii_case(bare);
        let unit = self.unit(part);
        part.statements.iter().copied().find(|&i| {
            unit.statements.get(i).is_some_and(|s| match &s.facts.kind {
                Kind::Drop(d) => d.kind.is_table() && d.names.iter().any(is),
                Kind::Delete(d) => !d.has_where && d.table.as_ref().is_some_and(is),
                Kind::Truncate(names) => names.iter().any(is),
                _ => false,
            })
        })
    }

    /// Whether statement `i` removes the rows of a table other than `table`
    /// (`DROP TABLE`, `DELETE`, `TRUNCATE`).
    fn removes_rows_of_another(&self, part: &Part, i: usize, table: &str) -> bool {
        use crate::classify::Kind;
        let bare = table.rsplit('.').next().unwrap_or(table);
        let other = |n: &crate::classify::Name| !n.object().eq_ignore_ascii_case(bare);
        self.unit(part)
            .statements
            .get(i)
            .is_some_and(|s| match &s.facts.kind {
                Kind::Drop(d) => d.kind.is_table() && d.names.iter().any(other),
                Kind::Delete(d) => d.table.as_ref().is_some_and(other),
                Kind::Truncate(names) => names.iter().any(other),
                _ => false,
            })
    }

    /// The statement a lost row or a value put back is attributed to, the
    /// same on every engine: the [`Self::remover`], else the first `UPDATE`
    /// of every row of `table`.
    fn destroyer(&self, part: &Part, table: &str) -> Option<usize> {
        use crate::classify::Kind;
        let bare = table.rsplit('.').next().unwrap_or(table);
        let unit = self.unit(part);
        self.remover(part, table).or_else(|| {
            part.statements.iter().copied().find(|&i| {
                unit.statements.get(i).is_some_and(|s| {
                    matches!(&s.facts.kind, Kind::Update(u)
                        if u.table.as_ref().is_some_and(|n| n.object().eq_ignore_ascii_case(bare)))
                }) && self.write_kind(part, i) == WriteKind::EveryRow
            })
        })
    }

    /// The help line of a `second-run-data-loss` at statement `stmt`.
    fn loss_help(&self, part: &Part, stmt: usize) -> String {
        use crate::classify::Kind;
        let kind = self.unit(part).statements.get(stmt).map(|s| &s.facts.kind);
        if self.caps.dialect == Dialect::Mysql {
            let skip = forms(self.caps.dialect).skip_existing;
            return match kind {
                Some(Kind::Drop(_)) => format!(
                    "keep the table: `CREATE TABLE IF NOT EXISTS` instead of DROP + CREATE, \
                     `ALTER TABLE` to change its shape instead of a new table swapped in, and \
                     fixed rows inserted with {skip}"
                ),
                Some(Kind::Delete(_) | Kind::Truncate(_)) => format!(
                    "keep the rows that are there: insert the fixed rows only when missing \
                     ({skip}) instead of emptying the table and loading it again"
                ),
                Some(Kind::Update(_)) => "change a value only while it holds the old one \
                     (`UPDATE ... SET col = <new> WHERE col = <old>`), so a second run leaves \
                     what the application wrote since"
                    .into(),
                _ => format!(
                    "keep what is there: `CREATE TABLE IF NOT EXISTS` instead of DROP + CREATE, \
                     {skip} instead of emptying the table and loading it again, and updates \
                     that change a value only while it holds the old one"
                ),
            };
        }
        let text = match kind {
            Some(Kind::Drop(_)) => {
                "keep the table: `CREATE TABLE IF NOT EXISTS` instead of DROP + CREATE, \
                 `ALTER TABLE` to change its shape instead of a new table swapped in, and fixed \
                 rows inserted with `INSERT ... ON CONFLICT DO NOTHING`"
            }
            Some(Kind::Delete(_) | Kind::Truncate(_)) => {
                "keep the rows that are there: insert the fixed rows only when missing \
                 (`INSERT ... ON CONFLICT DO NOTHING`; MySQL `INSERT IGNORE`, SQLite `INSERT OR \
                 IGNORE`) instead of emptying the table and loading it again"
            }
            Some(Kind::Update(_)) => {
                "change a value only while it holds the old one (`UPDATE ... SET col = <new> \
                 WHERE col = <old>`), so a second run leaves what the application wrote since"
            }
            _ => {
                "keep what is there: `CREATE TABLE IF NOT EXISTS` instead of DROP + CREATE, \
                 `INSERT ... ON CONFLICT DO NOTHING` instead of emptying the table and loading \
                 it again, and updates that change a value only while it holds the old one"
            }
        };
        text.into()
    }

    /// Columns of `table` that the part's UPDATEs set only to values
    /// computed from other data: an expression with a
    /// column reference or a subquery (lower case). A column some statement
    /// sets to a constant is not one.
    fn computed_columns(&self, part: &Part, table: &str) -> BTreeSet<String> {
        use crate::classify::Kind;
        let bare = table.rsplit('.').next().unwrap_or(table);
        let unit = self.unit(part);
        let mut computed = BTreeSet::new();
        let mut constant = BTreeSet::new();
        for st in part
            .statements
            .iter()
            .filter_map(|&i| unit.statements.get(i))
        {
            // An upsert's DO UPDATE writes the inserted row's values
            // (`excluded.value`): those count as constants.
            let Kind::Update(u) = &st.facts.kind else {
                continue;
            };
            let (target, assigns) = (u.table.as_ref(), &u.assignments);
            if !target.is_some_and(|n| n.object().eq_ignore_ascii_case(bare)) {
                continue;
            }
            for a in assigns {
                let set = if is_constant(&unit.source.text, &st.tokens, a.value.clone()) {
                    &mut constant
                } else {
                    &mut computed
                };
                set.extend(a.columns.iter().map(|c| c.to_ascii_lowercase()));
            }
        }
        computed.retain(|c| !constant.contains(c));
        computed
    }

    /// How statement `stmt` writes rows (see [`WriteKind`]).
    fn write_kind(&self, part: &Part, stmt: usize) -> WriteKind {
        let unit = self.unit(part);
        let Some(st) = unit.statements.get(stmt) else {
            return WriteKind::Other;
        };
        let words: Vec<String> = st
            .tokens
            .iter()
            .filter(|t| t.kind == crate::lexer::TokenKind::Word)
            .map(|t| {
                unit.source
                    .text
                    .get(t.span.clone())
                    .unwrap_or("")
                    .to_ascii_uppercase()
            })
            .collect();
        let has = |seq: &[&str]| words.windows(seq.len()).any(|w| w == seq);
        match words.first().map(String::as_str) {
            Some("REPLACE" | "MERGE") => WriteKind::ByKey,
            Some("INSERT")
                if has(&["OR", "REPLACE"])
                    || has(&["DUPLICATE", "KEY", "UPDATE"])
                    || (has(&["ON", "CONFLICT"]) && has(&["DO", "UPDATE"])) =>
            {
                WriteKind::ByKey
            }
            Some("UPDATE") if has(&["WHERE"]) => WriteKind::ByKey,
            Some("UPDATE") => WriteKind::EveryRow,
            _ => WriteKind::Other,
        }
    }

    /// Reports schema and data changes (and sequence moves) a second run
    /// made.
    pub(super) fn report_changes(
        &mut self,
        m: &Migration,
        part: &Part,
        obs: &Observation,
        run: Run,
        failures: &[Failure],
    ) {
        // A statement that failed wrote nothing (it is undone to its
        // savepoint, or fails whole): not the one a change is put on.
        let failed: BTreeSet<usize> = failures.iter().map(|f| f.stmt).collect();
        let (schema_rule, data_rule, old, new) = match run {
            Run::DownSecond => (
                &rules::down_second_run_change::META,
                &rules::down_second_run_change::META,
                "after the down migration",
                "after its second run",
            ),
            _ => (
                &rules::second_run_schema_change::META,
                &rules::second_run_data_change::META,
                "after the first run",
                "after the second run",
            ),
        };
        if let Some(d) = diff::schema_diff(&obs.schema_before, &obs.schema_after, old, new) {
            // One finding per statement that made the changes.
            let fallback = self.first_statement(part);
            let mut groups: BTreeMap<usize, Vec<&ObjectKey>> = BTreeMap::new();
            for (k, _) in &d.objects {
                // The first statement that wrote the object, passing over a
                // guarded drop (`DROP CONSTRAINT IF EXISTS c`) when another
                // statement wrote it too: on a second run that finds nothing
                // to drop, the change is the other's (an unnamed `ADD
                // UNIQUE` adding a second copy).
                let writers: Vec<usize> = obs
                    .schema_writers
                    .get(k)
                    .map(|w| {
                        w.iter()
                            .copied()
                            .filter(|i| part.statements.contains(i))
                            .collect()
                    })
                    .unwrap_or_default();
                let stmt = writers
                    .iter()
                    .copied()
                    .filter(|&i| !self.guarded_drop(part, i) && !failed.contains(&i))
                    .min()
                    .or_else(|| writers.iter().copied().min())
                    .unwrap_or(fallback);
                groups.entry(stmt).or_default().push(k);
            }
            for (stmt, keys) in groups {
                let pick = |img: &SchemaImage| -> SchemaImage {
                    keys.iter()
                        .filter_map(|k| img.get(*k).map(|v| ((*k).clone(), v.clone())))
                        .collect()
                };
                let Some(g) = diff::schema_diff(
                    &pick(&obs.schema_before),
                    &pick(&obs.schema_after),
                    old,
                    new,
                ) else {
                    continue;
                };
                let mut writers: Vec<usize> = keys
                    .iter()
                    .filter_map(|k| obs.schema_writers.get(*k))
                    .flatten()
                    .copied()
                    .collect();
                writers.sort_unstable();
                writers.dedup();
                let message = format!("{} changes the schema: {}", run.phrase(), g.summary());
                let mut f = self.finding(m, part, stmt, None, schema_rule, message);
                f.notes
                    .push(format!("schema diff:\n{}", g.unified.trim_end()));
                self.note_other_writers(part, &mut f, &writers, stmt);
                f.help = Some(
                    "make the statement converge: guard it so that a second run leaves the \
                     schema as the first run did"
                        .into(),
                );
                f.evidence = Some(schema_evidence(&g));
                self.findings.push(f);
            }
        }
        let mut changed_tables = BTreeSet::new();
        // The names the part mentions, read once, when a changed table has
        // no writer of its own.
        let mut mentioned: Option<BTreeSet<String>> = None;
        for (table, after) in &obs.data_after {
            if obs.internal_tables.contains(table) {
                continue;
            }
            let (Some(Some(before)), Some(after)) = (obs.data_before.get(table), after) else {
                continue;
            };
            let Some(d) = diff::data_diff(table, before, after) else {
                continue;
            };
            changed_tables.insert(table.clone());
            let writers = obs.writers.get(table).cloned().unwrap_or_default();
            // No statement of the migration wrote the table or names it: a
            // trigger one of them fired did. The finding goes to the first
            // statement that wrote rows (not to a `BEGIN` before it).
            let bare = table.rsplit('.').next().unwrap_or(table);
            let fired = writers.is_empty()
                && !mentioned
                    .get_or_insert_with(|| self.mentioned(part))
                    .contains(&bare.trim_matches('"').to_ascii_lowercase());
            let stmt = writers
                .iter()
                .copied()
                .find(|i| !failed.contains(i))
                .or_else(|| writers.first().copied())
                .unwrap_or_else(|| {
                    fired
                        .then(|| {
                            obs.writers
                                .values()
                                .flatten()
                                .copied()
                                .filter(|i| part.statements.contains(i))
                                .min()
                        })
                        .flatten()
                        .unwrap_or_else(|| self.first_working_statement(part))
                });
            let message = format!("{} changes data in `{table}`: {}", run.phrase(), d.counts());
            let mut f = self.finding(m, part, stmt, None, data_rule, message);
            if fired {
                f.notes.push(format!(
                    "no statement of the migration writes `{table}` itself: a trigger, rule or \
                     function that its statements run does"
                ));
            }
            if d.summary_only {
                f.notes
                    .push("the table is too large to keep its rows: only counts are shown".into());
            } else {
                f.notes.push(format!(
                    "rows of {table}:\n{}",
                    d.sample_text(old, new).trim_end()
                ));
            }
            self.note_other_writers(part, &mut f, &writers, stmt);
            f.help = Some(if self.caps.dialect == Dialect::Mysql {
                format!(
                    "make the write converge: insert with a unique key and {}, guard copies \
                     with `WHERE NOT EXISTS`, set absolute values in updates",
                    forms(self.caps.dialect).skip_existing
                )
            } else {
                "make the write converge: insert with a unique key and `ON CONFLICT DO \
                 NOTHING`, guard copies with `WHERE NOT EXISTS`, set absolute values in updates"
                    .into()
            });
            let mut ev = d.evidence();
            if let Some(obj) = ev.as_object_mut() {
                obj.insert("statements".into(), self.statements_json(part, &writers));
            }
            f.evidence = Some(ev);
            self.findings.push(f);
        }
        // Sequences that moved while no row of their table changed
        // (sequences outside transactions: the engine put them back).
        for (name, mv) in &obs.sequences {
            if mv.before == mv.after
                || mv
                    .table
                    .as_ref()
                    .is_some_and(|t| changed_tables.contains(t))
            {
                continue;
            }
            let stmt = mv
                .writers
                .first()
                .copied()
                .unwrap_or_else(|| self.first_statement(part));
            let shown = |v: Option<i64>| v.map_or_else(|| "unused".to_string(), |v| v.to_string());
            let message = format!(
                "{} advances sequence {name} (last value {} -> {}) without changing any row{}",
                run.phrase(),
                shown(mv.before),
                shown(mv.after),
                mv.table
                    .as_ref()
                    .map(|t| format!(" of {t}"))
                    .unwrap_or_default()
            );
            let mut f = self.finding(
                m,
                part,
                stmt,
                None,
                &rules::second_run_sequence_advance::META,
                message,
            );
            f.help = Some(format!(
                "usually harmless (ids get gaps); to avoid it, skip the INSERT when the row \
                 exists (INSERT ... SELECT ... WHERE NOT EXISTS) instead of relying on {}",
                forms(self.caps.dialect).counter_takers
            ));
            f.evidence = Some(serde_json::json!({
                "sequence": name,
                "table": mv.table,
                "before": mv.before,
                "after": mv.after,
            }));
            self.findings.push(f);
        }
    }

    /// The first statement of `part` that is not a transaction statement
    /// (`BEGIN`), for a finding no statement is known to have caused.
    fn first_working_statement(&self, part: &Part) -> usize {
        self.first_statement_that(part, |s| {
            !matches!(s.facts.kind, crate::classify::Kind::Transaction(_))
        })
        .unwrap_or_else(|| self.first_statement(part))
    }

    /// Whether statement `stmt` only drops what exists (`DROP ... IF
    /// EXISTS`, `ALTER TABLE ... DROP [COLUMN|CONSTRAINT] IF EXISTS ...`).
    fn guarded_drop(&self, part: &Part, stmt: usize) -> bool {
        use crate::classify::{AlterOp, Kind};
        match self
            .unit(part)
            .statements
            .get(stmt)
            .map(|st| &st.facts.kind)
        {
            Some(Kind::Drop(d)) => d.if_exists,
            Some(Kind::AlterTable(a)) => {
                !a.actions.is_empty()
                    && a.actions.iter().all(|x| {
                        matches!(
                            x.op,
                            AlterOp::DropColumn {
                                if_exists: true,
                                ..
                            } | AlterOp::DropConstraint {
                                if_exists: true,
                                ..
                            }
                        )
                    })
            }
            _ => false,
        }
    }

    fn statements_json(&self, part: &Part, stmts: &[usize]) -> serde_json::Value {
        let unit = self.unit(part);
        serde_json::Value::Array(
            stmts
                .iter()
                .filter_map(|&i| unit.statements.get(i))
                .map(|s| {
                    serde_json::json!({
                        "file": unit.source.name,
                        "line": unit.source.line_col(s.span.start).0,
                        "statement": s.index,
                    })
                })
                .collect(),
        )
    }

    fn note_other_writers(&self, part: &Part, f: &mut Finding, writers: &[usize], shown: usize) {
        let unit = self.unit(part);
        let lines: Vec<String> = writers
            .iter()
            .filter(|&&i| i != shown)
            .filter_map(|&i| unit.statements.get(i))
            .map(|s| unit.source.line_col(s.span.start).0.to_string())
            .collect();
        if !lines.is_empty() {
            f.notes.push(format!(
                "also written by the statement{} at line{} {}",
                if lines.len() == 1 { "" } else { "s" },
                if lines.len() == 1 { "" } else { "s" },
                lines.join(", ")
            ));
        }
    }

    pub(super) fn report_not_reverted(
        &mut self,
        m: &Migration,
        down: &Part,
        down_obs: &Observation,
        d: &SchemaDiff,
    ) {
        let mut writers: Vec<usize> = d
            .objects
            .iter()
            .filter_map(|(k, _)| down_obs.schema_writers.get(k))
            .flatten()
            .copied()
            .filter(|i| down.statements.contains(i))
            .collect();
        writers.sort_unstable();
        let stmt = writers
            .first()
            .copied()
            .unwrap_or_else(|| self.first_statement(down));
        let summary = crate::words::first_of(
            d.objects.iter().map(|(k, c)| {
                let what = match c {
                    diff::Change::Added => "is left behind",
                    diff::Change::Removed => "is not restored",
                    diff::Change::Changed => "differs",
                };
                format!("{} {} {what}", k.kind, k.name)
            }),
            d.objects.len(),
            4,
        );
        let message = format!("down migration does not revert its up: {summary}");
        let mut f = self.finding(
            m,
            down,
            stmt,
            None,
            &rules::down_does_not_revert::META,
            message,
        );
        f.notes
            .push(format!("schema diff:\n{}", d.unified.trim_end()));
        let up_name = &self.unit(&m.up).source.name;
        f.notes.push(format!("the up migration is {up_name}"));
        f.help = Some(
            "make the down undo everything the up does, in reverse order (e.g. `DROP TABLE IF \
             EXISTS` for each table the up creates)"
                .into(),
        );
        f.evidence = Some(schema_evidence(d));
        self.findings.push(f);
    }
}

/// How a statement writes rows, for what putting back a value written
/// since the first run means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteKind {
    /// Rows it names by key: an upsert (`INSERT ... ON CONFLICT ... DO
    /// UPDATE`, `ON DUPLICATE KEY UPDATE`, `INSERT OR REPLACE`, `REPLACE`,
    /// `MERGE`) or an `UPDATE ... WHERE`.
    ByKey,
    /// `UPDATE` without `WHERE`: every row.
    EveryRow,
    Other,
}

/// Whether the tokens `range` of an expression hold no column reference
/// and no subquery: literals, operators, casts, function calls on those,
/// `NULL`, `TRUE`, `DEFAULT`, `CURRENT_TIMESTAMP` and the like.
fn is_constant(text: &str, tokens: &[crate::lexer::Token], range: Range<usize>) -> bool {
    use crate::lexer::TokenKind;
    let toks = tokens.get(range).unwrap_or(&[]);
    let word = |i: usize| -> String {
        toks.get(i)
            .filter(|t| t.kind == TokenKind::Word)
            .and_then(|t| text.get(t.span.clone()))
            .unwrap_or("")
            .to_ascii_uppercase()
    };
    let punct = |i: usize, p: &str| {
        toks.get(i)
            .is_some_and(|t| t.kind == TokenKind::Punct && text.get(t.span.clone()) == Some(p))
    };
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            TokenKind::QuotedIdent => return false,
            TokenKind::Word => {
                let w = word(i);
                let keyword = matches!(
                    w.as_str(),
                    "NULL"
                        | "TRUE"
                        | "FALSE"
                        | "DEFAULT"
                        | "CURRENT_TIMESTAMP"
                        | "CURRENT_DATE"
                        | "CURRENT_TIME"
                        | "LOCALTIMESTAMP"
                        | "LOCALTIME"
                        | "INTERVAL"
                        | "AS"
                        | "CAST"
                        | "AND"
                        | "OR"
                        | "NOT"
                );
                let function = punct(i + 1, "(") && w != "SELECT";
                // A type name: after `::`, or after AS in CAST(... AS type).
                let type_name = i > 0 && (punct(i - 1, "::") || word(i - 1) == "AS");
                if !(keyword || function || type_name) {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// The rows each table got between the runs.
pub(super) fn written_tables(i: &Interleaved) -> BTreeMap<String, Written> {
    i.tables
        .iter()
        .filter_map(|(t, (pre, post))| Some((t.clone(), Written::between(pre, post)?)))
        .collect()
}

/// `col: 'x' (written since) -> 'y' (after the second run)` for a row whose
/// changed values were put back.
fn reverted_text(r: &il::WrittenRow, cols: &[String], now: &il::RowMap) -> String {
    let key: il::RowMap = if r.id.is_empty() {
        r.values.clone()
    } else {
        r.values
            .iter()
            .filter(|(c, _)| !cols.contains(c))
            .take(2)
            .map(|(c, v)| (c.clone(), v.clone()))
            .collect()
    };
    let changes: Vec<String> = cols
        .iter()
        .map(|c| {
            let shown = |m: &il::RowMap| m.get(c).map_or("NULL".to_string(), |v| v.to_string());
            format!(
                "{c}: {} written since, {} after the second run",
                shown(&r.values),
                shown(now)
            )
        })
        .collect();
    format!(
        "put back: row {}: {}",
        il::row_text(&key),
        changes.join("; ")
    )
}

fn reverted_json(r: &il::WrittenRow, cols: &[String], now: &il::RowMap) -> serde_json::Value {
    serde_json::json!({
        "row": il::row_json(&r.values),
        "columns": cols,
        "after": il::row_json(now),
    })
}

fn schema_evidence(d: &SchemaDiff) -> serde_json::Value {
    serde_json::json!({
        "objects": d.objects.iter().map(|(k, c)| serde_json::json!({
            "kind": k.kind, "name": k.name, "change": c.name(),
        })).collect::<Vec<_>>(),
        "diff": d.unified,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn constants_and_computed_values() {
        let constant = |sql: &str| {
            let toks: Vec<crate::lexer::Token> = crate::lexer::significant_tokens(
                sql,
                0..sql.len(),
                crate::dialect::Dialect::Postgres,
            );
            super::is_constant(sql, &toks, 0..toks.len())
        };
        for c in [
            "'active'",
            "0",
            "NULL",
            "DEFAULT",
            "datetime('now')",
            "'x'::text",
            "CAST(1 AS integer)",
            "CURRENT_TIMESTAMP",
        ] {
            assert!(constant(c), "{c}");
        }
        for c in [
            "first || ' ' || last",
            "(SELECT count(*) FROM users)",
            "price * 2",
            "\"label\"",
            "upper(code)",
        ] {
            assert!(!constant(c), "{c}");
        }
    }
}
