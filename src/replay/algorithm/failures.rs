//! The findings of failing statements: `first-run-error` and its
//! follow-on failures (cascades), `second-run-error`, the down migration's
//! errors, `replay-denied`, `replay-timeout`, `replay-resource-limit`,
//! `replay-statement-skipped` and `replay-seed-withdrawn`, with their
//! messages, help lines, notes and evidence.

use super::{Replayer, Root, Run};
use crate::dialect::Dialect;
use crate::model::{Migration, Part};
use crate::replay::engine::{Engine, ErrorClass, Failure, FailureKind, Handled};
use crate::rules;
use std::collections::BTreeSet;

use super::help::{
    extension_help, extension_not_installed, extension_of, help_for, is_libsql_alter_column,
    mariadb_refused_expression, mariadb_refused_expression_help, missing_function_help,
    missing_role, missing_role_help, mysql8_collation, mysql8_collation_help,
    newer_postgres_syntax, permission_help, server_major, strict_mode_error, strict_mode_help,
    syntax_help, table_case_help,
};

/// How many follow-on failures a root's note lists by name.
const FOLLOW_ON_SHOWN: usize = 10;

/// The note of a first run that failed inside its transaction and was
/// undone (also looked for when a run without the synthetic rows is kept
/// in the end: `report_fails_on_rows`).
const ROLLED_BACK_NOTE: &str = "replay rolled this migration back, did not run the rest of it, \
     and went on with the next migration";

/// The note of a down migration whose first run failed and was undone.
const DOWN_UNDONE_NOTE: &str = "replay undid this down migration and did not check it further";

/// Lower-case bare names a statement creates: the object of `CREATE ...`,
/// the column of `ALTER TABLE ... ADD [COLUMN]`, the new name of a `RENAME`.
fn created_names(sql: &str, out: &mut BTreeSet<String>) {
    let mut cased = BTreeSet::new();
    created_names_as_written(sql, &mut cased);
    out.extend(cased.into_iter().map(|n| n.to_ascii_lowercase()));
}

/// The table a statement writes, as the classifier names it (`INSERT`,
/// `REPLACE`, `UPDATE`, `ALTER TABLE`, `CREATE`), normalised.
fn written_table(st: &crate::analysis::Statement) -> Option<String> {
    use crate::classify::Kind;
    let name = match &st.facts.kind {
        Kind::Insert(i) => i.table.as_ref(),
        Kind::Update(u) => u.table.as_ref(),
        Kind::AlterTable(a) => a.table.as_ref(),
        Kind::Create(c) => c.name.as_ref(),
        _ => None,
    }?;
    Some(name.parts.join("."))
}

/// A word of a statement as a name: its last dotted part, without quotes
/// or brackets.
fn bare_name(w: &str) -> String {
    w.rsplit('.')
        .next()
        .unwrap_or(w)
        .trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
        .to_string()
}

/// [`created_names`], as the statement writes them.
fn created_names_as_written(sql: &str, out: &mut BTreeSet<String>) {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';'))
        .filter(|w| !w.is_empty())
        .map(bare_name)
        .collect();
    let upper = |i: usize| words.get(i).map(|w| w.to_ascii_uppercase());
    let name_after = |mut i: usize| -> Option<String> {
        while matches!(
            upper(i).as_deref(),
            Some("IF" | "NOT" | "EXISTS" | "CONCURRENTLY" | "COLUMN" | "ONLY")
        ) {
            i += 1;
        }
        words.get(i).cloned()
    };
    // `CREATE [OR REPLACE ...] <kind> [IF NOT EXISTS] <name>` at word `at`.
    let created_at = |at: usize| -> Option<String> {
        let mut i = at + 1;
        while matches!(
            upper(i).as_deref(),
            Some(
                "OR" | "REPLACE"
                    | "UNIQUE"
                    | "TEMP"
                    | "TEMPORARY"
                    | "MATERIALIZED"
                    | "RECURSIVE"
                    | "UNLOGGED"
                    | "GLOBAL"
                    | "LOCAL"
                    | "VIRTUAL"
            )
        ) {
            i += 1;
        }
        name_after(i + 1)
    };
    match upper(0).as_deref() {
        Some("CREATE") => {
            if let Some(n) = created_at(0) {
                out.insert(n);
            }
        }
        // An anonymous block runs what it holds: `DO $$ BEGIN IF NOT EXISTS
        // (...) THEN CREATE SCHEMA storage; END IF; END $$`.
        Some("DO") => {
            for i in 1..words.len() {
                if upper(i).as_deref() == Some("CREATE") {
                    if let Some(n) = created_at(i) {
                        out.insert(n);
                    }
                }
            }
        }
        Some("ALTER") => added_names(sql, out),
        _ => {}
    }
}

/// The names an `ALTER ...` statement adds: the column of `ADD [COLUMN]`,
/// the constraint of `ADD CONSTRAINT <name>`, the index of MySQL's
/// `ADD [UNIQUE|FULLTEXT|SPATIAL] {INDEX|KEY} <name>`, the new name of a
/// `RENAME ... TO`. Parentheses are words of their own here, so that an
/// unnamed `ADD INDEX (a)` or `ADD UNIQUE (a)` adds no name.
fn added_names(sql: &str, out: &mut BTreeSet<String>) {
    let spaced = sql.replace('(', " ( ").replace(')', " ) ");
    let words: Vec<String> = spaced
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';'))
        .filter(|w| !w.is_empty())
        .map(bare_name)
        .collect();
    let upper = |i: usize| words.get(i).map(|w| w.to_ascii_uppercase());
    let name_at = |i: usize| {
        words
            .get(i)
            .filter(|w| !w.is_empty() && *w != "(" && *w != ")")
    };
    for (i, w) in words.iter().enumerate() {
        let w = w.to_ascii_uppercase();
        if w == "ADD" {
            let mut j = i + 1;
            while matches!(
                upper(j).as_deref(),
                Some("IF" | "NOT" | "EXISTS" | "COLUMN" | "ONLY")
            ) {
                j += 1;
            }
            let Some(kind) = upper(j) else { continue };
            let name = match kind.as_str() {
                "CONSTRAINT" => name_at(j + 1),
                "PRIMARY" | "FOREIGN" | "CHECK" | "VALUE" | "PARTITION" => None,
                "UNIQUE" | "FULLTEXT" | "SPATIAL" | "INDEX" | "KEY" => {
                    let mut k = j;
                    if matches!(kind.as_str(), "UNIQUE" | "FULLTEXT" | "SPATIAL") {
                        k += 1;
                    }
                    if matches!(upper(k).as_deref(), Some("INDEX" | "KEY")) {
                        k += 1;
                    }
                    // `ADD UNIQUE USING btree (a)`, `ADD INDEX IF NOT EXISTS i`.
                    while matches!(upper(k).as_deref(), Some("IF" | "NOT" | "EXISTS")) {
                        k += 1;
                    }
                    name_at(k).filter(|n| !n.eq_ignore_ascii_case("USING"))
                }
                _ => name_at(j),
            };
            if let Some(n) = name {
                out.insert(n.clone());
            }
        } else if w == "TO" {
            if let Some(n) = name_at(i + 1) {
                out.insert(n.clone());
            }
        }
    }
}

/// Lower-case bare names a statement drops: the objects of `DROP ...`, the
/// column or constraint of `ALTER TABLE ... DROP`, the old name of a
/// `RENAME` (of a table, column, constraint, index or other object).
fn dropped_names(st: &crate::analysis::Statement, out: &mut BTreeSet<String>) {
    use crate::classify::{AlterObjectOp, AlterOp, Kind, Name};
    let mut add = |n: &Name| {
        if !n.object().is_empty() {
            out.insert(n.object().to_ascii_lowercase());
        }
    };
    match &st.facts.kind {
        Kind::Drop(d) => d.names.iter().for_each(&mut add),
        Kind::AlterTable(a) => {
            for action in &a.actions {
                match &action.op {
                    AlterOp::DropColumn { name, .. } => add(name),
                    AlterOp::DropConstraint {
                        name: Some(name), ..
                    } => add(name),
                    AlterOp::RenameTo { .. } => a.table.iter().for_each(&mut add),
                    AlterOp::RenameColumn { from, .. }
                    | AlterOp::RenameConstraint { from, .. }
                    | AlterOp::RenameIndex { from, .. }
                    | AlterOp::ChangeColumn { from, .. } => add(from),
                    _ => {}
                }
            }
        }
        Kind::AlterObject(o) if matches!(o.op, AlterObjectOp::RenameTo { .. }) => {
            o.name.iter().for_each(&mut add)
        }
        Kind::RenameTables(pairs) => pairs.iter().for_each(|p| add(&p.from)),
        _ => {}
    }
}

/// The statements of a part, in order.
fn part_statements<'a>(
    ws: &'a crate::report::Workspace,
    part: &'a Part,
) -> impl Iterator<Item = &'a crate::analysis::Statement> {
    let unit = ws.files.get(part.file);
    part.statements
        .iter()
        .filter_map(move |&i| unit.and_then(|u| u.statements.get(i)))
}

/// The SQL of a part's statements, in order.
fn part_sql<'a>(ws: &'a crate::report::Workspace, part: &'a Part) -> impl Iterator<Item = &'a str> {
    part_statements(ws, part).map(|st| st.sql.as_str())
}

/// What the migrations of `seq` create, up parts and down parts (see
/// [`created_names`]).
pub(super) fn made_by(
    ws: &crate::report::Workspace,
    seq: &crate::model::Sequence,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for m in &seq.migrations {
        for part in std::iter::once(&m.up).chain(m.down.as_ref()) {
            out.extend(made_by_part(ws, part));
        }
    }
    out
}

/// What a part's statements create (see [`created_names`]), but for what
/// the part presumes was there before: a table rebuilt by copy-and-swap
/// (`INSERT INTO t_new SELECT ... FROM t; DROP TABLE t; ALTER TABLE t_new
/// RENAME TO t`), whose name the rename gives back, or one dropped without
/// `IF EXISTS` and created again (`DROP TABLE t; CREATE TABLE t ...`). Such
/// a name, dropped by the part before the part creates it, is not made here.
fn made_by_part(ws: &crate::report::Workspace, part: &Part) -> BTreeSet<String> {
    use crate::classify::Kind;
    // Names the part dropped before making them: by any drop or rename
    // (for a rename back), and by a drop without `IF EXISTS` (for any).
    let mut dropped = BTreeSet::new();
    let mut dropped_surely = BTreeSet::new();
    let mut made = BTreeSet::new();
    for st in part_statements(ws, part) {
        let mut names = BTreeSet::new();
        created_names(&st.sql, &mut names);
        let alter = st
            .sql
            .trim_start()
            .get(..5)
            .is_some_and(|w| w.eq_ignore_ascii_case("ALTER"));
        for n in names {
            let presumed = !made.contains(&n)
                && (dropped_surely.contains(&n) || (alter && dropped.contains(&n)));
            if !presumed {
                made.insert(n);
            }
        }
        let mut these = BTreeSet::new();
        dropped_names(st, &mut these);
        if matches!(&st.facts.kind, Kind::Drop(d) if !d.if_exists) {
            dropped_surely.extend(these.iter().cloned());
        }
        dropped.extend(these);
    }
    made
}

/// The first file of another sequence of the run whose migrations create
/// `object` (lower-case bare name): a full schema read as a sequence of its
/// own (Kill Bill's `ddl.sql` above its Flyway `migration/` folder), which the
/// history may start from.
fn made_in_another_sequence<'w>(
    ws: &'w crate::report::Workspace,
    root: &str,
    object: &str,
) -> Option<&'w str> {
    // One pass over the workspace, shared by every sequence's replay.
    let index = ws.created_in.get_or_init(|| {
        let mut index = std::collections::BTreeMap::new();
        for (si, s) in ws.sequences.iter().enumerate() {
            for m in &s.migrations {
                let mut made = BTreeSet::new();
                for sql in part_sql(ws, &m.up) {
                    created_names(sql, &mut made);
                }
                for name in made {
                    index.entry(name).or_insert((si, m.up.file));
                }
            }
        }
        index
    });
    let &(si, file) = index.get(object)?;
    (ws.sequences.get(si)?.root != root)
        .then(|| ws.files.get(file).map(|u| u.source.name.as_str()))
        .flatten()
}

/// A first-run failure on an object that no migration of the sequence
/// creates (and not a role, which the role help explains, nor a name close
/// to one the migrations create: a typo, see [`close_name`]).
fn on_object_made_elsewhere(made_here: &BTreeSet<String>, f: &Failure) -> Option<String> {
    if f.error.class != ErrorClass::UndefinedObject || missing_role(&f.error.message).is_some() {
        return None;
    }
    let object = f.error.object.as_deref()?.to_ascii_lowercase();
    (!made_here.contains(&object) && close_name(made_here, &object).is_none()).then_some(object)
}

/// A name the migrations create that `missing` (lower case) is likely a
/// typo of: the same but for one character added, removed or changed
/// (`team` for `teams`), for names of four characters or more.
fn close_name<'a>(made_here: &'a BTreeSet<String>, missing: &str) -> Option<&'a str> {
    if missing.len() < 4 {
        return None;
    }
    let one_edit = |a: &[u8], b: &[u8]| -> bool {
        let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        match long.len() - short.len() {
            0 => short.iter().zip(long).filter(|(x, y)| x != y).count() == 1,
            1 => {
                let i = short.iter().zip(long).take_while(|(x, y)| x == y).count();
                short[i..] == long[i + 1..]
            }
            _ => false,
        }
    };
    made_here
        .iter()
        .find(|m| one_edit(m.as_bytes(), missing.as_bytes()))
        .map(String::as_str)
}

/// The tables a statement's foreign keys reference (`REFERENCES t`), as
/// lower-case bare names.
fn referenced_tables(sql: &str) -> Vec<String> {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';'))
        .filter(|w| !w.is_empty())
        .map(bare_name)
        .collect();
    words
        .windows(2)
        .filter(|w| w[0].eq_ignore_ascii_case("REFERENCES") && !w[1].is_empty())
        .map(|w| w[1].to_ascii_lowercase())
        .collect()
}

impl<E: Engine> Replayer<'_, E> {
    /// For a failure to create a foreign key: a table it references that no
    /// migration of the history creates (nor the failing statement itself).
    fn unreferenced_here(&self, part: &Part, f: &Failure) -> Option<String> {
        let st = self.unit(part).statements.get(f.stmt)?;
        let mut own = BTreeSet::new();
        created_names(&st.sql, &mut own);
        referenced_tables(&st.sql)
            .into_iter()
            .find(|t| !self.made_here.contains(t) && !own.contains(t))
    }

    /// Whether statement `stmt` of `part` is an `ALTER ... RENAME`.
    fn renames(&self, part: &Part, stmt: usize) -> bool {
        let Some(st) = self.unit(part).statements.get(stmt) else {
            return false;
        };
        let mut words = st
            .sql
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty());
        words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("ALTER"))
            && words.any(|w| w.eq_ignore_ascii_case("RENAME"))
    }

    /// The help for a definition (view, function, trigger, ...) that
    /// already exists when a migration its tool re-runs because it changed
    /// (a Flyway repeatable, Liquibase `runOnChange`) runs again: there
    /// `IF NOT EXISTS` would keep the old definition, so the advice is
    /// `CREATE OR REPLACE` where the dialect has it, else dropping it first
    /// (as the static rule's help and fix say).
    fn rerun_create_help(&self, m: &Migration, part: &Part, f: &Failure) -> Option<String> {
        use crate::classify::{Kind, ObjectKind};
        use crate::dialect::Dialect;
        if m.rerun_note.is_none() || f.error.class != ErrorClass::AlreadyExists {
            return None;
        }
        let unit = self.unit(part);
        let st = unit.statements.get(f.stmt)?;
        let Kind::Create(c) = &st.facts.kind else {
            return None;
        };
        let (word, replace) = match (c.kind, st.dialect) {
            (ObjectKind::View, Dialect::Postgres | Dialect::Mysql) => ("VIEW", true),
            (ObjectKind::View, _) => ("VIEW", false),
            (ObjectKind::Function, Dialect::Postgres | Dialect::Mysql) => ("FUNCTION", false),
            (ObjectKind::Procedure, _) => ("PROCEDURE", st.dialect == Dialect::Postgres),
            (ObjectKind::Trigger, Dialect::Postgres) => ("TRIGGER", true),
            (ObjectKind::Trigger, _) => ("TRIGGER", false),
            (ObjectKind::MaterializedView, _) => ("MATERIALIZED VIEW", false),
            (ObjectKind::Rule, Dialect::Postgres) => ("RULE", true),
            _ => return None,
        };
        // PostgreSQL functions take OR REPLACE; MySQL's do not.
        let replace =
            replace || (c.kind == ObjectKind::Function && st.dialect == Dialect::Postgres);
        let name = c
            .name
            .as_ref()
            .map_or("", |n| n.text(&unit.source.text))
            .to_string();
        let table = if c.kind == ObjectKind::Trigger || c.kind == ObjectKind::Rule {
            c.table
                .as_ref()
                .filter(|_| st.dialect == Dialect::Postgres)
                .map(|t| format!(" ON {}", t.text(&unit.source.text)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let trigger_note = if c.kind == ObjectKind::Trigger && replace {
            " (PostgreSQL 14 or later; before that, drop it first)"
        } else {
            ""
        };
        Some(if replace {
            format!(
                "this migration runs again whenever it changes, and `IF NOT EXISTS` would keep the \
                 old definition: use `CREATE OR REPLACE {word} {name} ...`{trigger_note}"
            )
        } else {
            format!(
                "this migration runs again whenever it changes, and `IF NOT EXISTS` would keep the \
                 old definition: drop it first with `DROP {word} IF EXISTS {name}{table};`"
            )
        })
    }

    pub(super) fn report_handled(&mut self, m: &Migration, part: &Part, handled: &[Handled]) {
        for h in handled {
            let dup = {
                let file = &self.unit(part).source.name;
                self.findings.iter().any(|o| {
                    o.rule == rules::replay_statement_skipped::META.id
                        && &o.file == file
                        && o.span == h.span
                })
            };
            if dup {
                continue;
            }
            let mut f = self.finding(
                m,
                part,
                h.stmt,
                Some(h.span.clone()),
                &rules::replay_statement_skipped::META,
                h.text.clone(),
            );
            f.help = h.help.clone();
            self.findings.push(f);
        }
    }

    /// A part (or its second run) the engine could not check, at its first
    /// statement.
    pub(super) fn report_not_checked(&mut self, m: &Migration, part: &Part, message: String) {
        let stmt = self.first_statement(part);
        let f = self.finding(
            m,
            part,
            stmt,
            None,
            &rules::replay_statement_skipped::META,
            message,
        );
        self.findings.push(f);
    }

    /// The name, as an earlier migration of `m`'s sequence writes it, of
    /// the object a failure says is missing, when it differs from the
    /// missing name only in case (`User` created, `user` named).
    fn created_in_other_case(&self, m: &Migration, f: &Failure) -> Option<String> {
        let missing = f.error.object.as_deref()?;
        let seq = self
            .ws
            .sequences
            .iter()
            .find(|s| s.migrations.iter().any(|x| std::ptr::eq(x, m)))?;
        let mut created = BTreeSet::new();
        for earlier in seq.migrations.iter().take_while(|x| !std::ptr::eq(*x, m)) {
            for sql in part_sql(self.ws, &earlier.up) {
                created_names_as_written(sql, &mut created);
            }
        }
        created
            .into_iter()
            .find(|c| c != missing && c.eq_ignore_ascii_case(missing))
    }

    /// What a failed part would have created (see [`created_names`]).
    fn created_by(&self, part: &Part) -> BTreeSet<String> {
        made_by_part(self.ws, part)
    }

    /// What a failed part would have dropped, and not made again after (see
    /// [`dropped_names`]): a later migration that fails because such an
    /// object or column is still there (`ADD COLUMN` of a column it would
    /// have dropped) fails because this part did.
    fn dropped_by(&self, part: &Part) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for st in part_statements(self.ws, part) {
            dropped_names(st, &mut out);
            let mut made = BTreeSet::new();
            created_names(&st.sql, &mut made);
            out.retain(|n| !made.contains(n));
        }
        out
    }

    /// A first run that fails for want of what an earlier failed migration
    /// would have created is listed under that root, not reported again.
    /// Returns whether it was.
    fn follows_a_root(&mut self, m: &Migration, part: &Part, f: &Failure) -> bool {
        let (root, elsewhere) = if self.server_cannot_read(f) {
            // SQL the server does not read, after a first such failure: the
            // same cause (a history written for the other server).
            match self.unreadable {
                Some(u) => (u, true),
                None => return false,
            }
        } else if let Some(key) = self.strict_key(part, f) {
            // The same error of the server's strict sql_mode on the same
            // table (an `INSERT` into a log table that leaves a column out,
            // in every migration): the same cause as the first one.
            match self.strict.get(&key) {
                Some(&s) => (s, true),
                None => return false,
            }
        } else {
            let Some(object) = f.error.object.as_deref().map(str::to_ascii_lowercase) else {
                return false;
            };
            // An object still there that a failed migration would have
            // dropped, or one missing that it would have created.
            let there = matches!(
                f.error.class,
                ErrorClass::AlreadyExists | ErrorClass::DuplicateColumn
            );
            let root = if there {
                self.roots.iter().rposition(|r| r.dropped.contains(&object))
            } else {
                self.roots.iter().rposition(|r| r.created.contains(&object))
            };
            match root {
                Some(root) => (root, false),
                None if there => return false,
                // Another object no migration creates: the same cause as the
                // first such failure.
                None => match (self.baseline, on_object_made_elsewhere(&self.made_here, f)) {
                    (Some(b), Some(_)) => (b, true),
                    // Another object missing after migrations twice cannot
                    // run: the same cause as the first such failure.
                    _ => match self.gap_missing {
                        Some(g) if self.missing_after_gaps(m, f) => (g, true),
                        _ => return false,
                    },
                },
            }
        };
        // What it would have created and dropped: later failures for want
        // of it follow from the same root.
        let created = self.created_by(part);
        let dropped = self.dropped_by(part);
        let entry = self.follower(part, f);
        let r = &mut self.roots[root];
        r.created.extend(created);
        r.dropped.extend(dropped);
        r.follow_on.push(entry);
        r.elsewhere.push(elsewhere);
        true
    }

    /// A failure on an object no migration creates, listed under the first
    /// first run that failed on such an object (see [`Self::report_failure`]).
    /// Returns whether it was.
    fn follows_the_baseline(&mut self, part: &Part, f: &Failure) -> bool {
        let (Some(b), Some(_)) = (self.baseline, on_object_made_elsewhere(&self.made_here, f))
        else {
            return false;
        };
        let entry = self.follower(part, f);
        let r = &mut self.roots[b];
        r.follow_on.push(entry);
        r.elsewhere.push(true);
        true
    }

    /// A failure listed under a root: where, and the error.
    fn follower(&self, part: &Part, f: &Failure) -> serde_json::Value {
        let unit = self.unit(part);
        serde_json::json!({
            "file": unit.source.name,
            "line": unit.source.line_col(f.at).0,
            "error": f.error.text(),
        })
    }

    /// Whether a first run failed for want of an object, column or function
    /// after migrations twice cannot run (Go, Python): they may create it.
    fn missing_after_gaps(&self, m: &Migration, f: &Failure) -> bool {
        f.error.kind == FailureKind::Error
            && matches!(
                f.error.class,
                ErrorClass::UndefinedObject
                    | ErrorClass::UndefinedColumn
                    | ErrorClass::UndefinedFunction
            )
            && missing_role(&f.error.message).is_none()
            && !self.gaps_before(m).is_empty()
    }

    /// Whether a first run failed on SQL the server does not read although
    /// it is the history's dialect: on MySQL's family a syntax error (MySQL
    /// 8's `->>` on MariaDB, MariaDB's `ADD COLUMN IF NOT EXISTS` on MySQL)
    /// or, on MariaDB, a MySQL 8 collation. (On PostgreSQL and SQLite a
    /// syntax error is the migration's own, reported each.)
    fn server_cannot_read(&self, f: &Failure) -> bool {
        f.error.kind == FailureKind::Error
            && self.caps.dialect == Dialect::Mysql
            && (f.error.class == ErrorClass::Syntax
                || ((mysql8_collation(&f.error.message).is_some()
                    || mariadb_refused_expression(&f.error.message).is_some())
                    && self.engine.name().starts_with("MariaDB")))
    }

    /// For a first run that fails on an error of the server's strict
    /// `sql_mode` ([`strict_mode_error`]): the error's message and the table
    /// the statement writes, which the same failures of later migrations
    /// share.
    fn strict_key(&self, part: &Part, f: &Failure) -> Option<String> {
        if f.error.kind != FailureKind::Error || self.caps.dialect != Dialect::Mysql {
            return None;
        }
        strict_mode_error(&f.error.message)?;
        let table = self
            .unit(part)
            .statements
            .get(f.stmt)
            .and_then(written_table)
            .unwrap_or_default();
        Some(format!("{table}\n{}", f.error.message))
    }

    /// Adds to each root's finding the failures that follow from it.
    pub(super) fn finish_roots(&mut self) {
        for r in std::mem::take(&mut self.roots) {
            let Some(f) = self.findings.get_mut(r.finding) else {
                continue;
            };
            // One note for the migrations that fail because this one did,
            // one for those that fail for the same reason as it.
            for same_reason in [false, true] {
                let listed: Vec<&serde_json::Value> = r
                    .follow_on
                    .iter()
                    .zip(&r.elsewhere)
                    .filter(|(_, e)| **e == same_reason)
                    .map(|(v, _)| v)
                    .collect();
                let n = listed.len();
                if n == 0 {
                    continue;
                }
                let mut shown: Vec<String> = listed
                    .iter()
                    .take(FOLLOW_ON_SHOWN)
                    .map(|e| {
                        format!(
                            "{}:{} ({})",
                            e["file"].as_str().unwrap_or(""),
                            e["line"],
                            e["error"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                if n > FOLLOW_ON_SHOWN {
                    shown.push(format!("and {} more", n - FOLLOW_ON_SHOWN));
                }
                let why = match (same_reason, &r.reason) {
                    (true, Some(reason)) => reason.as_str(),
                    (true, None) => {
                        "for the same reason (on objects no migration of this history creates)"
                    }
                    (false, _) => "because this one did",
                };
                f.notes.push(format!(
                    "{n} later migration{} fail{} {why}: {}",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "s" } else { "" },
                    shown.join("; ")
                ));
            }
            // (A `replay-denied` root shows the key only when something
            // followed from it.)
            if let Some(ev) = f.evidence.as_mut().and_then(|e| e.as_object_mut()) {
                if ev.contains_key("follow_on") || !r.follow_on.is_empty() {
                    ev.insert("follow_on".into(), serde_json::Value::Array(r.follow_on));
                }
            }
        }
    }

    pub(super) fn report_failure(&mut self, m: &Migration, part: &Part, f: &Failure, run: Run) {
        let first_run = matches!(run, Run::First { .. } | Run::Start { .. });
        let first = first_run && f.error.kind == FailureKind::Error;
        if first && self.follows_a_root(m, part, f) {
            return;
        }
        // A down migration that fails on an object no migration of the
        // history creates, after a first run failed on one (the history
        // starts from a schema made elsewhere): the same cause.
        if matches!(run, Run::DownFirst)
            && f.error.kind == FailureKind::Error
            && self.follows_the_baseline(part, f)
        {
            return;
        }
        // A first run the sandbox refused did not create what it holds
        // either: later failures for want of it follow from it.
        let root = first || (first_run && f.error.kind == FailureKind::Denied);
        let line = self.line_of(part, f.at);
        // On one line: a message is a title (MariaDB quotes the statement
        // after `near`, line breaks and all).
        let text = one_line(&f.error.text());
        let (rule, message) = match f.error.kind {
            // Refused for want of privileges (PostgreSQL's role, MySQL's
            // user own only the scratch database): the sandbox's refusal,
            // as SQLite's authorizer's is.
            FailureKind::Error if f.error.class == ErrorClass::PermissionDenied => (
                &rules::replay_denied::META,
                format!(
                    "the replay sandbox refused this statement on the {} (line {line}): {text}",
                    run.phrase()
                ),
            ),
            FailureKind::Error => {
                let rule = match run {
                    Run::First { .. } | Run::DownFirst | Run::Start { .. } => {
                        &rules::first_run_error::META
                    }
                    Run::Second => &rules::second_run_error::META,
                    Run::DownSecond => &rules::down_second_run_error::META,
                };
                let message = match run {
                    Run::DownFirst => format!(
                        "down migration fails at line {line} on the state its up left: {text}"
                    ),
                    Run::Start { .. } => format!(
                        "migration applied as the starting state fails at line {line}: {text}"
                    ),
                    _ => format!("{} fails at line {line}: {text}", run.phrase()),
                };
                (rule, message)
            }
            FailureKind::Denied => (
                &rules::replay_denied::META,
                format!(
                    "the replay sandbox refused this statement on the {} (line {line}): {}",
                    run.phrase(),
                    f.error.message
                ),
            ),
            FailureKind::Timeout => (
                &rules::replay_timeout::META,
                format!(
                    "statement stopped on the {} (line {line}): it ran longer than the replay \
                     time limit of {} (--timeout)",
                    run.phrase(),
                    seconds(self.opts.timeout)
                ),
            ),
            FailureKind::Limit => (
                &rules::replay_resource_limit::META,
                format!(
                    "statement stopped on the {} (line {line}): {}",
                    run.phrase(),
                    f.error.message
                ),
            ),
        };
        let mut finding = self.finding(m, part, f.stmt, Some(f.span.clone()), rule, message);
        // The first failure on an object no migration creates: the history
        // starts from a schema made elsewhere.
        // (After migrations twice cannot run, those may have made it: see
        // `missing_after_gaps`.)
        let baseline = (first && self.baseline.is_none() && !self.missing_after_gaps(m, f))
            .then(|| on_object_made_elsewhere(&self.made_here, f))
            .flatten();
        if f.error.kind == FailureKind::Error {
            // SQL a newer PostgreSQL than the server reads, and its version.
            let newer = (f.error.class == ErrorClass::Syntax
                && self.caps.dialect == Dialect::Postgres)
                .then(|| self.unit(part).statements.get(f.stmt))
                .flatten()
                .and_then(|st| newer_postgres_syntax(&st.sql, &f.error.message))
                .filter(|&(_, v)| server_major(&self.engine.name()) < v);
            finding.help = Some(match run {
                // Whatever the run: the sandbox refused it, not the state.
                _ if f.error.class == ErrorClass::PermissionDenied => {
                    permission_help(self.caps).into()
                }
                // SQLite has no nested transactions: a migration's own
                // `BEGIN` inside the one the tool runs it in fails.
                Run::First { .. } | Run::Start { .. } | Run::DownFirst
                    if part.tool_transaction
                        && f.error.message == crate::replay::engine::NESTED_BEGIN_ERROR =>
                {
                    "the migration tool runs each migration in a transaction of its own, and \
                     SQLite has no nested transactions: remove the migration's own `BEGIN` and \
                     `COMMIT` (the tool's transaction already applies it all or nothing), or run \
                     it outside the tool's transaction where the tool allows that (goose `-- \
                     +goose NO TRANSACTION`, dbmate `transaction:false`, sqlx `-- \
                     no-transaction`, golang-migrate `x-no-tx-wrap=true` in the database URL or \
                     `NoTxWrap: true` in the SQLite driver's Config, which twice reads in the Go \
                     module around the folder; it also replays without the transaction when \
                     every migration opens its own)"
                        .into()
                }
                // PostgreSQL refuses `CREATE INDEX CONCURRENTLY` and the
                // like in the transaction the tool runs the migration in.
                Run::First { .. } | Run::Start { .. } | Run::DownFirst
                    if part.tool_transaction && f.error.code.as_deref() == Some("25001") =>
                {
                    match crate::layout::get(self.layout).outside_transaction_marker() {
                        Some(marker) => format!(
                            "the migration tool runs each migration in a transaction of its \
                             own, and PostgreSQL refuses this statement inside one: mark the \
                             migration to run outside it ({marker}), with the statement in a \
                             migration of its own"
                        ),
                        None => "the migration tool runs each migration in a transaction of \
                                 its own, and PostgreSQL refuses this statement inside one; \
                                 twice knows no way to tell this tool to run a migration \
                                 outside its transaction: run the statement outside the tool, \
                                 or (for `CONCURRENTLY`) without that word"
                            .into(),
                    }
                }
                Run::First { .. }
                    if matches!(
                        f.error.class,
                        ErrorClass::UndefinedObject
                            | ErrorClass::UndefinedColumn
                            | ErrorClass::UndefinedFunction
                    ) && !self.gaps_before(m).is_empty() =>
                {
                    let liquibase = self
                        .gaps_before(m)
                        .iter()
                        .any(|g| crate::layout::liquibase::is_changelog_file(g));
                    if liquibase {
                        "changelogs twice cannot run (Liquibase change types, not SQL) come \
                         before this one: if they create what this statement needs, give replay \
                         the schema they build in a setup script (`--setup FILE`, `[replay] \
                         setup`: e.g. the SQL `liquibase update-sql` prints for them); otherwise \
                         check the order of the changelogs"
                            .into()
                    } else {
                        "migrations twice cannot run (code, not SQL) come before this one: if \
                         they create what this statement needs, give replay the schema they \
                         build in a setup script (`--setup FILE`, `[replay] setup`: e.g. the \
                         schema the tool leaves after them); otherwise check the order of the \
                         files"
                            .into()
                    }
                }
                Run::First { .. } | Run::Start { .. }
                    if self.caps.dialect == Dialect::Postgres
                        && extension_not_installed(&f.error.message).is_some() =>
                {
                    format!(
                        "the server replay runs on ({}) does not have the `{}` extension \
                         installed, so this says nothing about the migration itself: replay on a \
                         server that has it (`--database-url postgres://...`), or install the \
                         extension's package for this server",
                        self.engine.name(),
                        extension_not_installed(&f.error.message).unwrap_or_default()
                    )
                }
                Run::First { .. } | Run::Start { .. }
                    if self.caps.dialect == Dialect::Postgres
                        && matches!(
                            f.error.class,
                            ErrorClass::UndefinedObject | ErrorClass::UndefinedFunction
                        )
                        && f.error.object.as_deref().and_then(extension_of).is_some() =>
                {
                    let object = f.error.object.as_deref().unwrap_or_default();
                    let extension = extension_of(object).unwrap_or_default();
                    extension_help(object, extension, self.made_here.contains(extension))
                }
                Run::First { .. } | Run::Start { .. }
                    if f.error.class == ErrorClass::UndefinedFunction =>
                {
                    missing_function_help(f.error.object.as_deref(), self.caps)
                }
                Run::First { .. } | Run::Start { .. }
                    if f.error.class == ErrorClass::Syntax
                        && self.caps.dialect == Dialect::Sqlite
                        && self
                            .unit(part)
                            .statements
                            .get(f.stmt)
                            .is_some_and(|st| is_libsql_alter_column(&st.sql)) =>
                {
                    "`ALTER TABLE ... ALTER COLUMN ... TO` is libSQL (Turso) syntax, which SQLite \
                     does not have: the history is written for Turso, and replay on SQLite cannot \
                     run this statement (the migrations after it run on a table without the change)"
                        .into()
                }
                _ if newer.is_some() => {
                    let (what, v) = newer.unwrap_or_default();
                    format!(
                        "{what} is PostgreSQL {v} syntax, which {} does not read: replay on \
                         PostgreSQL {v} or newer (`--database-url postgres://...`); the failure \
                         says nothing about the migration itself",
                        self.engine.name()
                    )
                }
                // A down the server cannot parse fails the same way.
                Run::First { .. } | Run::Start { .. } | Run::DownFirst
                    if f.error.class == ErrorClass::Syntax =>
                {
                    syntax_help(&self.engine.name(), self.caps)
                }
                // A copy into a rebuilt table that leaves a NOT NULL column
                // without a value (see `copy_omits_not_null_column`).
                _ if f.error.class == ErrorClass::FailsOnRows
                    && self.unit(part).statements.get(f.stmt).is_some_and(|st| {
                        matches!(st.facts.kind, crate::classify::Kind::Insert(_))
                    }) =>
                {
                    "every row the query copies fails: the new table's NOT NULL column gets no \
                     value from the INSERT's column list and has no default, so this fails on any \
                     table with rows, as the tables of a database in use have (replay's had a \
                     few): give the column a default in the new table (`... NOT NULL DEFAULT \
                     ...`), or a value in the INSERT's column list and query"
                        .into()
                }
                _ if f.error.class == ErrorClass::FailsOnRows => help_for(f.error.class, self.caps),
                Run::First { .. } | Run::Start { .. }
                    if mariadb_refused_expression(&f.error.message).is_some()
                        && self.engine.name().starts_with("MariaDB") =>
                {
                    let (expr, clause) =
                        mariadb_refused_expression(&f.error.message).unwrap_or_default();
                    mariadb_refused_expression_help(&self.engine.name(), expr, clause)
                }
                Run::First { .. } | Run::Start { .. }
                    if mysql8_collation(&f.error.message).is_some()
                        && self.engine.name().starts_with("MariaDB") =>
                {
                    mysql8_collation_help(
                        &self.engine.name(),
                        mysql8_collation(&f.error.message).unwrap_or_default(),
                    )
                }
                Run::First { .. } | Run::Start { .. }
                    if self.caps.dialect == Dialect::Mysql
                        && f.error.class == ErrorClass::UndefinedObject
                        && self.created_in_other_case(m, f).is_some() =>
                {
                    table_case_help(
                        f.error.object.as_deref().unwrap_or_default(),
                        &self.created_in_other_case(m, f).unwrap_or_default(),
                    )
                }
                Run::First { .. } | Run::Start { .. }
                    if self.caps.dialect == Dialect::Mysql
                        && (f.error.message.contains("errno: 150")
                            // MySQL 8's error 1824.
                            || f.error.message.contains("Failed to open the referenced table"))
                        && self.unreferenced_here(part, f).is_some() =>
                {
                    let table = self.unreferenced_here(part, f).unwrap_or_default();
                    format!(
                        "the foreign key references `{table}`, which no migration of this history \
                         creates: the history starts from a schema made elsewhere (a full schema \
                         the tool gives new databases, another tool, or the application); give \
                         that schema to replay in a setup script (`--setup FILE`, `[replay] \
                         setup`), which runs once before the first migration"
                    )
                }
                Run::First { .. } | Run::Start { .. }
                    if self.caps.dialect == Dialect::Mysql
                        && f.error.message.contains("errno: 150") =>
                {
                    "the server checks foreign keys as it creates them (MariaDB from 10.5 also \
                     enforces a column's inline `REFERENCES`): a key to a table created later, or \
                     to a column of another type or collation, fails. If the migration tool runs \
                     the migrations with `SET FOREIGN_KEY_CHECKS = 0` (vaultwarden does; so does \
                     `mysqldump` output), set `[replay] mysql_foreign_key_checks = false` in \
                     twice.toml; otherwise create the tables in dependency order"
                        .into()
                }
                // The server's strict sql_mode, not the order of the files.
                Run::First { .. } | Run::Start { .. } | Run::DownFirst
                    if self.caps.dialect == Dialect::Mysql
                        && strict_mode_error(&f.error.message).is_some() =>
                {
                    strict_mode_help(
                        &self.engine.name(),
                        strict_mode_error(&f.error.message).unwrap_or_default(),
                        &f.error.message,
                    )
                }
                Run::First { .. } | Run::Start { .. } | Run::DownFirst
                    if missing_role(&f.error.message).is_some() =>
                {
                    missing_role_help(missing_role(&f.error.message).unwrap_or_default())
                }
                Run::First { .. }
                    if f.error.class == ErrorClass::UndefinedObject
                        && f.error.object.as_deref().is_some_and(|o| {
                            !self.made_here.contains(&o.to_ascii_lowercase())
                                && close_name(&self.made_here, &o.to_ascii_lowercase()).is_some()
                        }) =>
                {
                    let o = f
                        .error
                        .object
                        .as_deref()
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    format!(
                        "no migration of this history creates `{o}`, but one creates `{}`: check \
                         the name",
                        close_name(&self.made_here, &o).unwrap_or_default()
                    )
                }
                Run::First { .. } if baseline.is_some() => {
                    let object = baseline.as_deref().unwrap_or_default();
                    match made_in_another_sequence(self.ws, self.root, object) {
                        Some(file) => format!(
                            "no migration of this history creates `{object}`, but {file} (read \
                             as a history of its own) does: if the history starts from that \
                             schema, give it to replay in a setup script (`--setup {file}`, \
                             `[replay] setup`), which runs once before the first migration"
                        ),
                        None => format!(
                            "no migration of this history creates `{object}`: the history starts \
                             from a schema made elsewhere (a full schema the tool gives new \
                             databases, another tool, or the application); give that schema to \
                             replay in a setup script (`--setup FILE`, `[replay] setup`), which \
                             runs once before the first migration"
                        ),
                    }
                }
                Run::First { .. } => "the migration must apply on the state the migrations \
                     before it leave: check the order of the files and the objects this \
                     statement needs"
                    .into(),
                Run::Start { .. } => "the migrations before the checked range are applied \
                     once to build the starting state: each must apply on the state the ones \
                     before it leave"
                    .into(),
                Run::DownFirst => "the down migration must apply right after its up: check \
                     the objects it drops or changes"
                    .into(),
                Run::Second | Run::DownSecond if self.renames(part, f.stmt) => {
                    match f.error.class {
                        // The new name is taken: `IF NOT EXISTS` is not the fix.
                        ErrorClass::AlreadyExists => "the first run already renamed it: guard \
                             the rename (`ALTER ... IF EXISTS ... RENAME` where the database has \
                             it, or check the catalog first), or let the migration tool's version \
                             table make sure it runs once"
                            .into(),
                        class => help_for(class, self.caps),
                    }
                }
                Run::Second | Run::DownSecond => self
                    .rerun_create_help(m, part, f)
                    .unwrap_or_else(|| help_for(f.error.class, self.caps)),
            });
        }
        if run.stops_on_error() {
            finding.notes.push(match run {
                Run::DownFirst => DOWN_UNDONE_NOTE.to_string(),
                Run::First { partial: true } | Run::Start { partial: true } => {
                    "this migration runs outside a transaction: what ran before the failing \
                     statement stays applied, as in a real deploy, and replay went on with the \
                     next migration"
                        .to_string()
                }
                _ => ROLLED_BACK_NOTE.to_string(),
            });
        }
        if let (Run::First { .. }, FailureKind::Error) = (run, f.error.kind) {
            let before = self.gaps_before(m);
            match before.as_slice() {
                [] => {}
                [one] => finding.notes.push(format!(
                    "replay ran without a migration the tool runs before this one and twice \
                     cannot read ({one}): if it creates what this statement needs, the failure \
                     comes from its absence, not from this migration"
                )),
                [.., last] => finding.notes.push(format!(
                    "replay ran without {} migrations the tool runs before this one and twice \
                     cannot read (the last: {last}): if one of them creates what this statement \
                     needs, the failure comes from their absence, not from this migration",
                    before.len()
                )),
            }
        }
        if let Run::Start { .. } = run {
            finding.notes.push(
                m.start_note
                    .clone()
                    .unwrap_or_else(|| crate::model::APPLY_ONLY_NOTE.into()),
            );
        }
        if let Some(c) = &f.error.context {
            finding
                .notes
                .push(format!("context: {}", c.replace('\n', "; ")));
        }
        let (l, c) = self.unit(part).source.line_col(f.at);
        finding.evidence = Some(serde_json::json!({
            "engine": self.engine.id(),
            "error": f.error.message,
            "sqlstate": f.error.code,
            "timed_out": f.error.kind == FailureKind::Timeout,
            "position": {"line": l, "column": c},
            "context": f.error.context,
        }));
        if rule.id == rules::first_run_error::META.id {
            // The later first-run failures that follow from this one (see
            // `finish_roots`).
            if let Some(ev) = finding.evidence.as_mut().and_then(|e| e.as_object_mut()) {
                ev.insert("follow_on".into(), serde_json::Value::Array(Vec::new()));
            }
        }
        self.findings.push(finding);
        if root {
            let created = self.created_by(part);
            let dropped = self.dropped_by(part);
            let unreadable = self.unreadable.is_none() && self.server_cannot_read(f);
            let strict = first
                .then(|| self.strict_key(part, f))
                .flatten()
                .filter(|k| !self.strict.contains_key(k));
            let gap_missing =
                self.gap_missing.is_none() && baseline.is_none() && self.missing_after_gaps(m, f);
            self.roots.push(Root {
                finding: self.findings.len() - 1,
                created,
                dropped,
                follow_on: Vec::new(),
                elsewhere: Vec::new(),
                reason: if unreadable {
                    Some(format!(
                        "for the same reason (SQL {} does not read: the history is written for \
                         another server)",
                        self.engine.name()
                    ))
                } else if strict.is_some() {
                    Some(format!(
                        "for the same reason ({}: the server's strict sql_mode)",
                        f.error.message
                    ))
                } else if gap_missing {
                    Some(
                        "for the same reason (on what is missing after migrations twice cannot \
                         run)"
                            .to_string(),
                    )
                } else {
                    None
                },
            });
            if baseline.is_some() {
                self.baseline = Some(self.roots.len() - 1);
            }
            if let Some(key) = strict {
                self.strict.insert(key, self.roots.len() - 1);
            }
            if unreadable {
                self.unreadable = Some(self.roots.len() - 1);
            }
            if gap_missing {
                self.gap_missing = Some(self.roots.len() - 1);
            }
        }
    }

    /// A first run that failed on rows (a NOT NULL column added without a
    /// default: any table in use holds rows) and ran once twice's synthetic
    /// rows were removed: the failure is the migration's, a
    /// `first-run-error`, but the history goes on from the state the run
    /// left, so the migrations after it are still replayed (not failures
    /// that follow from it).
    fn report_fails_on_rows(&mut self, m: &Migration, part: &Part, f: &Failure, up: bool) {
        let before = self.findings.len();
        let roots = self.roots.len();
        let run = if up {
            Run::First { partial: false }
        } else {
            Run::DownFirst
        };
        self.report_failure(m, part, f, run);
        // It ran in the end: nothing after it fails for want of what it
        // makes, so it is no root of later failures.
        self.roots.truncate(roots);
        for slot in [
            &mut self.baseline,
            &mut self.unreadable,
            &mut self.gap_missing,
        ] {
            if slot.is_some_and(|i| i >= roots) {
                *slot = None;
            }
        }
        if let Some(finding) = self.findings.get_mut(before) {
            // (Not undone in the end: the run without the rows is kept.)
            finding
                .notes
                .retain(|n| n != ROLLED_BACK_NOTE && n != DOWN_UNDONE_NOTE);
            finding.notes.push(
                "it fails on replay's synthetic rows, as on the rows of any database in use; \
                 replay then removed them and ran it again without them, so it is checked \
                 further and the migrations after it are replayed on the state it leaves"
                    .into(),
            );
        }
    }

    /// The first run of `part` failed with synthetic rows in the tables
    /// and ran once they were removed: `replay-seed-withdrawn` (info) at the
    /// statement that failed, with the error the seeding caused.
    pub(super) fn report_seed_withdrawn(&mut self, m: &Migration, part: &Part, f: &Failure) {
        let up = part.file == m.up.file && part.statements == m.up.statements;
        if f.error.class == ErrorClass::FailsOnRows {
            self.report_fails_on_rows(m, part, f, up);
            return;
        }
        let line = self.line_of(part, f.at);
        let run = if up {
            "first run"
        } else {
            "down migration's first run"
        };
        let what = if f.error.kind == FailureKind::Timeout {
            format!(
                "time out at line {line} (it ran longer than the replay time limit of {}, \
                 --timeout)",
                seconds(self.opts.timeout)
            )
        } else {
            format!("fail at line {line}: {}", f.error.text())
        };
        let message = format!(
            "twice's synthetic rows (seeded, or written between an earlier migration's \
             runs) made the {run} {what}; without them it runs, so this migration was checked \
             without them"
        );
        let mut finding = self.finding(
            m,
            part,
            f.stmt,
            Some(f.span.clone()),
            &rules::replay_seed_withdrawn::META,
            message,
        );
        finding.notes.push(
            "the failure comes from a synthetic value, not from the migration; seeding and \
             the writes between runs go on with the next migration"
                .into(),
        );
        let (l, c) = self.unit(part).source.line_col(f.at);
        finding.evidence = Some(serde_json::json!({
            "engine": self.engine.id(),
            "seed_error": f.error.message,
            "sqlstate": f.error.code,
            "timed_out": f.error.kind == FailureKind::Timeout,
            "position": {"line": l, "column": c},
        }));
        self.findings.push(finding);
    }
}

fn seconds(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

impl<E: Engine> Replayer<'_, E> {
    /// The files of migrations the tool runs before `m` that twice cannot
    /// read (code migrations), which replay ran without.
    fn gaps_before(&self, m: &Migration) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .gaps
            .iter()
            .filter(|(v, _)| {
                crate::since::version_cmp(v, &m.version) != std::cmp::Ordering::Greater
            })
            .map(|(_, file)| file.as_str())
            .collect();
        // Those the layout placed in the order (`Migration::code_before`).
        if let Some(at) = self.migrations.iter().position(|x| std::ptr::eq(x, m)) {
            out.extend(
                self.migrations[..=at]
                    .iter()
                    .flat_map(|x| x.code_before.iter().map(String::as_str)),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anonymous_block_creates_what_it_holds() {
        let mut out = BTreeSet::new();
        created_names(
            "DO $$\nBEGIN\n  IF NOT EXISTS(SELECT 1 FROM pg_namespace WHERE nspname = 'files') THEN\n    \
             CREATE SCHEMA files;\n  END IF;\n  CREATE TABLE IF NOT EXISTS files.blobs(id int);\nEND$$",
            &mut out,
        );
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            ["blobs".to_string(), "files".to_string()]
        );
    }

    #[test]
    fn names_are_kept_as_written_for_the_case_check() {
        let mut out = BTreeSet::new();
        created_names_as_written("CREATE TABLE `User` (id int)", &mut out);
        created_names_as_written("ALTER TABLE `User` ADD COLUMN `createdAt` int", &mut out);
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            ["User".to_string(), "createdAt".to_string()]
        );
        let mut lower = BTreeSet::new();
        created_names("CREATE TABLE `User` (id int)", &mut lower);
        assert!(lower.contains("user"));
        assert!(table_case_help("user", "User").contains("lower_case_table_names=0"));
    }

    #[test]
    fn named_constraints_and_indexes_are_created() {
        let mut out = BTreeSet::new();
        for sql in [
            "ALTER TABLE \"observations\" ADD CONSTRAINT \"observations_parent_fkey\" FOREIGN KEY (\"parent_id\") REFERENCES \"observations\"(\"id\")",
            "ALTER TABLE t ADD UNIQUE INDEX `t_code`(code), ADD KEY t_kind (kind)",
            "ALTER TABLE t ADD INDEX (unnamed_col), ADD UNIQUE (other_col), ADD PRIMARY KEY (id)",
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS note text, ADD CHECK (id > 0)",
            "ALTER TABLE t RENAME CONSTRAINT a TO b",
        ] {
            created_names(sql, &mut out);
        }
        assert_eq!(
            out.into_iter().collect::<Vec<_>>(),
            ["b", "note", "observations_parent_fkey", "t_code", "t_kind"]
        );
    }

    #[test]
    fn close_names_are_typos() {
        let made: BTreeSet<String> = ["teams".to_string(), "users".to_string()].into();
        assert_eq!(close_name(&made, "team"), Some("teams"));
        assert_eq!(close_name(&made, "usera"), Some("users"));
        assert_eq!(close_name(&made, "accounts"), None);
        assert_eq!(close_name(&made, "tea"), None);
    }
}

/// `text` with each run of white space that holds a line break as one
/// space.
fn one_line(text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut pending = String::new();
    for c in text.chars() {
        if c.is_whitespace() {
            pending.push(c);
            continue;
        }
        if !pending.is_empty() {
            if pending.contains(['\n', '\r']) {
                out.push(' ');
            } else {
                out.push_str(&pending);
            }
            pending.clear();
        }
        out.push(c);
    }
    if !pending.contains(['\n', '\r']) {
        out.push_str(&pending);
    }
    out
}

#[cfg(test)]
mod one_line_tests {
    #[test]
    fn line_breaks_in_an_error_become_one_space() {
        assert_eq!(
            super::one_line("near 'offset),\n    payload TEXT\n)' at line 4"),
            "near 'offset), payload TEXT )' at line 4"
        );
        assert_eq!(super::one_line("a  b"), "a  b");
    }
}
