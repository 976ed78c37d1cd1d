//! The findings of failing statements: `first-run-error` and its
//! follow-on failures (cascades), `second-run-error`, the down migration's
//! errors, `replay-denied`, `replay-timeout`, `replay-resource-limit`,
//! `replay-statement-skipped` and `replay-seed-withdrawn`, with their
//! messages, help lines, notes and evidence.

use super::{Replayer, Root, Run};
use crate::dialect::Dialect;
use crate::model::{Migration, Part};
use crate::replay::engine::{Caps, Engine, ErrorClass, Failure, FailureKind, Handled};
use crate::rules;
use std::collections::BTreeSet;

/// How many follow-on failures a root's note lists by name.
const FOLLOW_ON_SHOWN: usize = 10;

/// Lower-case bare names a statement creates: the object of `CREATE ...`,
/// the column of `ALTER TABLE ... ADD [COLUMN]`, the new name of a `RENAME`.
fn created_names(sql: &str, out: &mut BTreeSet<String>) {
    let mut cased = BTreeSet::new();
    created_names_as_written(sql, &mut cased);
    out.extend(cased.into_iter().map(|n| n.to_ascii_lowercase()));
}

/// [`created_names`], as the statement writes them.
fn created_names_as_written(sql: &str, out: &mut BTreeSet<String>) {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.rsplit('.')
                .next()
                .unwrap_or(w)
                .trim_matches(|c| c == '"' || c == '`' || c == '[' || c == ']')
                .to_string()
        })
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
        Some("ALTER") => {
            for (i, w) in words.iter().enumerate() {
                let w = w.to_ascii_uppercase();
                if w == "ADD" {
                    if let Some(n) = name_after(i + 1) {
                        if !matches!(
                            n.to_ascii_uppercase().as_str(),
                            "CONSTRAINT" | "PRIMARY" | "UNIQUE" | "FOREIGN" | "CHECK" | "VALUE"
                        ) {
                            out.insert(n);
                        }
                    }
                } else if w == "TO" {
                    if let Some(n) = words.get(i + 1) {
                        out.insert(n.clone());
                    }
                }
            }
        }
        _ => {}
    }
}

/// The SQL of a part's statements, in order.
fn part_sql<'a>(ws: &'a crate::report::Workspace, part: &'a Part) -> impl Iterator<Item = &'a str> {
    let unit = ws.files.get(part.file);
    part.statements
        .iter()
        .filter_map(move |&i| unit.and_then(|u| u.statements.get(i)))
        .map(|st| st.sql.as_str())
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
            for sql in part_sql(ws, part) {
                created_names(sql, &mut out);
            }
        }
    }
    out
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

impl<E: Engine> Replayer<'_, E> {
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
        let mut out = BTreeSet::new();
        for sql in part_sql(self.ws, part) {
            created_names(sql, &mut out);
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
        } else {
            let Some(object) = f.error.object.as_deref().map(str::to_ascii_lowercase) else {
                return false;
            };
            match self.roots.iter().rposition(|r| r.created.contains(&object)) {
                Some(root) => (root, false),
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
        // What it would have created: later failures for want of it follow
        // from the same root.
        let created = self.created_by(part);
        let entry = self.follower(part, f);
        let r = &mut self.roots[root];
        r.created.extend(created);
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
                || (mysql8_collation(&f.error.message).is_some()
                    && self.engine.name().starts_with("MariaDB")))
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
        let text = f.error.text();
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
                Run::First { .. }
                    if matches!(
                        f.error.class,
                        ErrorClass::UndefinedObject
                            | ErrorClass::UndefinedColumn
                            | ErrorClass::UndefinedFunction
                    ) && !self.gaps_before(m).is_empty() =>
                {
                    "migrations twice cannot run (code, not SQL) come before this one: if they \
                     create what this statement needs, give replay the schema they build in a \
                     setup script (`--setup FILE`, `[replay] setup`: e.g. the schema the tool \
                     leaves after them); otherwise check the order of the files"
                        .into()
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
                Run::First { .. } | Run::Start { .. } if f.error.class == ErrorClass::Syntax => {
                    syntax_help(&self.engine.name(), self.caps)
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
                Run::First { .. } | Run::Start { .. }
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
                Run::First { .. } if baseline.is_some() => format!(
                    "no migration of this history creates `{}`: the history starts from a schema \
                     made elsewhere (a full schema the tool gives new databases, another tool, or \
                     the application); give that schema to replay in a setup script (`--setup \
                     FILE`, `[replay] setup`), which runs once before the first migration",
                    baseline.as_deref().unwrap_or_default()
                ),
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
                Run::DownFirst => {
                    "replay undid this down migration and did not check it further".to_string()
                }
                Run::First { partial: true } | Run::Start { partial: true } => {
                    "this migration runs outside a transaction: what ran before the failing \
                     statement stays applied, as in a real deploy, and replay went on with the \
                     next migration"
                        .to_string()
                }
                _ => "replay rolled this migration back, did not run the rest of it, and went \
                      on with the next migration"
                    .to_string(),
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
            let unreadable = self.unreadable.is_none() && self.server_cannot_read(f);
            let gap_missing =
                self.gap_missing.is_none() && baseline.is_none() && self.missing_after_gaps(m, f);
            self.roots.push(Root {
                finding: self.findings.len() - 1,
                created,
                follow_on: Vec::new(),
                elsewhere: Vec::new(),
                reason: if unreadable {
                    Some(format!(
                        "for the same reason (SQL {} does not read: the history is written for \
                         another server)",
                        self.engine.name()
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
            if unreadable {
                self.unreadable = Some(self.roots.len() - 1);
            }
            if gap_missing {
                self.gap_missing = Some(self.roots.len() - 1);
            }
        }
    }

    /// The first run of `part` failed with synthetic rows in the tables
    /// and ran once they were removed: `replay-seed-withdrawn` (info) at the
    /// statement that failed, with the error the seeding caused.
    pub(super) fn report_seed_withdrawn(&mut self, m: &Migration, part: &Part, f: &Failure) {
        let line = self.line_of(part, f.at);
        let run = if part.file == m.up.file && part.statements == m.up.statements {
            "first run"
        } else {
            "down migration's first run"
        };
        let message = format!(
            "twice's synthetic rows (seeded, or written between an earlier migration's \
             runs) made the {run} fail at line {line}: {}; without them it runs, so this \
             migration was checked without them",
            f.error.text()
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

/// The help line of a statement refused for want of privileges
/// ([`ErrorClass::PermissionDenied`], SQLSTATE 42501), on any run: the
/// PostgreSQL engine runs migrations as a role of its own (see
/// [`crate::replay::postgres::roles`]).
pub const PERMISSION_HELP: &str = "replay runs migrations as a role that owns only the scratch \
     database and is not a superuser, so statements that reach outside it (running programs or \
     reading server files with COPY ... PROGRAM, pg_read_file, lo_export or pg_ls_dir, ALTER \
     SYSTEM, superuser roles, untrusted extensions) are refused; if a migration really needs \
     such a prerequisite, put it in a setup script (--setup FILE, or `setup` under [replay] in \
     twice.toml), which runs as the admin role before the first migration; a migration that \
     itself needs such rights (`ALTER TABLE ... DISABLE TRIGGER ALL` reaches the foreign-key \
     triggers, which only a superuser may) replays only on a disposable server given with \
     --database-url and --database-url-trusted, where it runs as that URL's role";

/// The help line of a refused statement on MySQL/MariaDB, where the
/// migrations run as a user granted only the scratch database.
pub const MYSQL_PERMISSION_HELP: &str = "replay runs migrations as a user granted only the \
     scratch database (no FILE, SUPER or PROCESS privilege, no other database), so statements \
     that reach outside it (LOAD DATA INFILE, SELECT ... INTO OUTFILE, LOAD_FILE(), SET GLOBAL, \
     another database's tables) are refused; objects a migration expects to find can be created \
     by a setup script (--setup FILE, or `setup` under [replay] in twice.toml), which runs before \
     the first migration; a migration that itself needs such rights replays only on a disposable \
     server given with --database-url and --database-url-trusted, where it runs as that URL's \
     user";

/// The help line of a refused statement, for the dialect the engine runs.
pub(super) fn permission_help(caps: Caps) -> &'static str {
    match caps.dialect {
        Dialect::Mysql => MYSQL_PERMISSION_HELP,
        _ => PERMISSION_HELP,
    }
}

/// The phrases of help lines that depend on the dialect the engine runs:
/// one table, so every help line says the same thing the same way.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Forms {
    /// How to insert a row only when its key is not there yet.
    pub skip_existing: &'static str,
    /// The clause that updates the row when the key is there.
    pub upsert_update: &'static str,
    /// The inserts that take a counter value without keeping a row.
    pub counter_takers: &'static str,
}

/// [`Forms`] for `dialect`.
pub(crate) fn forms(dialect: Dialect) -> Forms {
    match dialect {
        Dialect::Mysql => Forms {
            skip_existing: "`INSERT ... ON DUPLICATE KEY UPDATE id = id` (or `INSERT IGNORE`, \
                 which also turns other errors into warnings)",
            upsert_update: "`ON DUPLICATE KEY UPDATE`",
            counter_takers: "`INSERT IGNORE` or `ON DUPLICATE KEY UPDATE`, which take an \
                 AUTO_INCREMENT value even when they keep no row",
        },
        Dialect::Sqlite => Forms {
            skip_existing: "`INSERT ... ON CONFLICT DO NOTHING` (SQLite also has `INSERT OR \
                 IGNORE`)",
            upsert_update: "`DO UPDATE`",
            counter_takers: "ON CONFLICT DO NOTHING",
        },
        Dialect::Postgres | Dialect::Generic => Forms {
            skip_existing: "`INSERT ... ON CONFLICT DO NOTHING`",
            upsert_update: "`DO UPDATE`",
            counter_takers: "ON CONFLICT DO NOTHING",
        },
    }
}

impl<E: Engine> Replayer<'_, E> {
    /// The files of migrations the tool runs before `m` that twice cannot
    /// read (code migrations), which replay ran without.
    fn gaps_before(&self, m: &Migration) -> Vec<&str> {
        self.gaps
            .iter()
            .filter(|(v, _)| {
                crate::since::version_cmp(v, &m.version) != std::cmp::Ordering::Greater
            })
            .map(|(_, file)| file.as_str())
            .collect()
    }
}

/// The help line for a first run that calls a function the database does
/// not have: most often one the application or an extension provides, which
/// replay can be given (PostgreSQL, MySQL) or cannot (SQLite, where only the
/// application can register functions).
fn missing_function_help(name: Option<&str>, caps: Caps) -> String {
    if caps.dialect == Dialect::Sqlite {
        let missing = match name {
            Some(n) => format!("SQLite has no function `{n}`"),
            None => "SQLite does not have the function it calls".to_string(),
        };
        format!(
            "{missing}, and SQL cannot create one: if the application registers it \
             (`sqlite3_create_function`), replay cannot run this statement, which \
             `-- twice:ignore first-run-error` above it records; otherwise check its name"
        )
    } else {
        let missing = match name {
            Some(n) => format!("no function `{n}` with these argument types exists"),
            None => "the function it calls does not exist with these argument types".to_string(),
        };
        format!(
            "{missing} when this migration runs: if an extension or the application provides \
             it, create it (or a stand-in) in a setup script (`--setup FILE`, `[replay] setup`); \
             otherwise check its name, its argument types and the order of the files"
        )
    }
}

/// The PostgreSQL extension that provides a type, operator class or
/// function a first run did not find (`gin_trgm_ops` → `pg_trgm`), for the
/// extensions migrations most often expect the database to have already.
fn extension_of(object: &str) -> Option<&'static str> {
    const PROVIDED: &[(&str, &[&str])] = &[
        (
            "pg_trgm",
            &[
                "gin_trgm_ops",
                "gist_trgm_ops",
                "similarity",
                "word_similarity",
                "strict_word_similarity",
                "show_trgm",
                "set_limit",
            ],
        ),
        (
            "uuid-ossp",
            &[
                "uuid_generate_v1",
                "uuid_generate_v1mc",
                "uuid_generate_v3",
                "uuid_generate_v4",
                "uuid_generate_v5",
                "uuid_nil",
                "uuid_ns_dns",
                "uuid_ns_url",
            ],
        ),
        (
            "pgcrypto",
            &[
                "gen_random_bytes",
                "crypt",
                "gen_salt",
                "digest",
                "hmac",
                "pgp_sym_encrypt",
                "pgp_sym_decrypt",
                "pgp_pub_encrypt",
                "pgp_pub_decrypt",
                "armor",
                "dearmor",
            ],
        ),
        ("citext", &["citext"]),
        ("hstore", &["hstore"]),
        (
            "ltree",
            &[
                "ltree",
                "lquery",
                "ltxtquery",
                "nlevel",
                "subpath",
                "subltree",
                "lca",
                "text2ltree",
            ],
        ),
        ("cube", &["cube"]),
        (
            "earthdistance",
            &["earth", "ll_to_earth", "earth_distance", "earth_box"],
        ),
        ("unaccent", &["unaccent"]),
        (
            "fuzzystrmatch",
            &[
                "levenshtein",
                "soundex",
                "difference",
                "metaphone",
                "dmetaphone",
            ],
        ),
        (
            "intarray",
            &[
                "gist__int_ops",
                "gist__intbig_ops",
                "gin__int_ops",
                "intset",
                "idx",
            ],
        ),
        (
            "btree_gist",
            &[
                "gist_int4_ops",
                "gist_int8_ops",
                "gist_text_ops",
                "gist_timestamptz_ops",
            ],
        ),
        ("tablefunc", &["crosstab", "normal_rand", "connectby"]),
        ("isn", &["isbn", "isbn13", "ean13", "issn", "upc"]),
        (
            "vector",
            &[
                "vector",
                "halfvec",
                "sparsevec",
                "vector_cosine_ops",
                "vector_l2_ops",
                "vector_ip_ops",
                "halfvec_cosine_ops",
            ],
        ),
        (
            "postgis",
            &[
                "geometry",
                "geography",
                "box2d",
                "box3d",
                "gist_geometry_ops_2d",
            ],
        ),
        ("pg_cron", &["cron"]),
        (
            "timescaledb",
            &["create_hypertable", "time_bucket", "add_retention_policy"],
        ),
    ];
    let lower = object.to_ascii_lowercase();
    // PostGIS's functions all start `st_`.
    if lower.starts_with("st_") && lower.len() > 3 {
        return Some("postgis");
    }
    PROVIDED
        .iter()
        .find(|(_, names)| names.contains(&lower.as_str()))
        .map(|(ext, _)| *ext)
}

/// The extension a PostgreSQL error says the server does not have
/// installed (`extension "postgis" is not available`).
fn extension_not_installed(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("extension \"")?;
    let (name, tail) = rest.split_once('"')?;
    (tail.starts_with(" is not available") && !name.is_empty()).then_some(name)
}

/// The help for a first run that did not find what an extension provides.
fn extension_help(object: &str, extension: &str, created_here: bool) -> String {
    if created_here {
        format!(
            "`{object}` comes from the `{extension}` extension, which a migration of this history \
             creates after this one (or in one that failed): check the order of the files"
        )
    } else {
        format!(
            "`{object}` comes from PostgreSQL's `{extension}` extension, which no migration of this \
             history creates: the database gets it elsewhere (a Docker init script, the hosting \
             platform); give replay `CREATE EXTENSION IF NOT EXISTS \"{extension}\";` in a setup \
             script (`--setup FILE`, `[replay] setup`)"
        )
    }
}

/// The role a PostgreSQL error says does not exist (`role "readonly" does
/// not exist`).
fn missing_role(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("role \"")?;
    let (name, tail) = rest.split_once('"')?;
    (tail.trim_start().starts_with("does not exist") && !name.is_empty()).then_some(name)
}

/// The help line for a first run that grants to, or policies for, a role the
/// server does not have: roles are cluster-wide, so projects create them
/// outside their migrations (the platform, an ops script), and a setup
/// script can give replay the same.
fn missing_role_help(role: &str) -> String {
    format!(
        "the role `{role}` does not exist: roles belong to the whole server, so they are usually \
         created outside the migrations (by the platform or an ops script); create it in a setup \
         script (`--setup FILE` holding `CREATE ROLE {role};`, or `[replay] setup`), which runs as \
         an admin role before the first migration"
    )
}

/// libSQL's `ALTER TABLE t ALTER COLUMN c TO c <definition>`.
fn is_libsql_alter_column(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(12)
        .map(str::to_ascii_lowercase)
        .collect();
    words.first().is_some_and(|w| w == "alter")
        && words
            .windows(4)
            .any(|w| w[0] == "alter" && w[1] == "column" && w[3] == "to")
}

/// SQL a newer PostgreSQL reads than the one that failed on it, and the
/// version that reads it: a subquery in FROM without an alias (16), a named
/// NOT NULL constraint, `ADD CONSTRAINT name NOT NULL column` (18).
fn newer_postgres_syntax(sql: &str, message: &str) -> Option<(&'static str, u32)> {
    if message.starts_with("subquery in FROM must have an alias") {
        return Some(("a subquery in FROM without an alias", 16));
    }
    let words: Vec<String> = crate::lexer::significant_tokens(sql, 0..sql.len(), Dialect::Postgres)
        .iter()
        .map(|t| sql[t.span.clone()].to_ascii_lowercase())
        .collect();
    words
        .windows(4)
        .any(|w| w[0] == "constraint" && w[2] == "not" && w[3] == "null")
        .then_some((
            "a named NOT NULL constraint (`ADD CONSTRAINT name NOT NULL column`)",
            18,
        ))
}

/// The major version in an engine's name (`PostgreSQL 15.18` is 15); 0
/// when it names none.
fn server_major(name: &str) -> u32 {
    name.split_whitespace()
        .find_map(|w| w.split('.').next()?.parse().ok())
        .unwrap_or(0)
}

/// The help line for a MySQL table named in another case than the one an
/// earlier migration created it in.
fn table_case_help(named: &str, created: &str) -> String {
    format!(
        "the migrations before this one create `{created}`, and this statement names `{named}`: \
         table names are case-sensitive on this server, as on every Linux server with MySQL's \
         default `lower_case_table_names=0`, so the statement fails there (it runs on Windows and \
         macOS servers, which ignore the case); write the name as it was created"
    )
}

/// The MySQL 8 collation (`utf8mb4_0900_ai_ci` and its kin, MySQL 8's
/// default, which `mysqldump`, Atlas and Prisma write into migrations) a
/// server does not know, from its "Unknown collation" error.
fn mysql8_collation(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("Unknown collation: '")?;
    let name = &rest[..rest.find('\'')?];
    name.contains("_0900_").then_some(name)
}

fn mysql8_collation_help(server: &str, collation: &str) -> String {
    format!(
        "`{collation}` is a MySQL 8 collation, which {server} does not have (MariaDB knows it \
         from 11.4.5 on): this history is written for MySQL 8, so replay it on a MySQL 8 server \
         (`--database-url mysql://...`); the failure says nothing about the migration itself"
    )
}

/// The help line for a first run the server cannot parse. `server` is the
/// engine's name with its version (`MariaDB 10.11.6`, `SQLite 3.46.0`):
/// migrations written for another server or a newer version are the usual
/// cause, and the fix is to replay on that server, not to edit the file.
fn syntax_help(server: &str, caps: Caps) -> String {
    match caps.dialect {
        Dialect::Mysql if server.starts_with("MariaDB") => format!(
            "{server} cannot parse this statement: if it is MySQL syntax MariaDB does not have \
             (the `->>` operator, `ALTER TABLE ... DROP CHECK`, a functional key part such as \
             `((lower(email)))`, a word MariaDB reserves such as `offset`), replay on a MySQL \
             server (`--database-url mysql://...`); otherwise fix the statement"
        ),
        Dialect::Mysql => format!(
            "{server} cannot parse this statement: if it is MariaDB syntax MySQL does not have \
             (`ADD COLUMN IF NOT EXISTS`, `CREATE OR REPLACE TABLE`), replay on a MariaDB server \
             (`--database-url mysql://...`); otherwise fix the statement"
        ),
        Dialect::Postgres => format!(
            "{server} cannot parse this statement: if it needs a newer PostgreSQL, replay on one \
             (`--database-url postgres://...`); otherwise fix the statement"
        ),
        _ => format!(
            "{server} cannot parse this statement: fix it, or, if the folder is written for \
             another database, say which (`--dialect`, or `dialect` in `twice.toml`)"
        ),
    }
}

/// An actionable help line for a statement that fails on a re-run: one
/// table for every engine, by error class and dialect.
fn help_for(class: ErrorClass, caps: Caps) -> String {
    let mysql = caps.dialect == Dialect::Mysql;
    match class {
        ErrorClass::PermissionDenied => permission_help(caps).into(),
        ErrorClass::AlreadyExists => "use `IF NOT EXISTS` so that the statement does nothing \
             when the object is already there"
            .into(),
        ErrorClass::DuplicateColumn if caps.add_column_if_not_exists => {
            "add the column only when missing: `ALTER TABLE ... ADD COLUMN IF NOT EXISTS`".into()
        }
        ErrorClass::DuplicateColumn if mysql => "MySQL has no `ADD COLUMN IF NOT EXISTS` \
             (MariaDB has): add the column from a procedure that checks \
             `information_schema.COLUMNS` first, or create the table in its final shape with \
             `CREATE TABLE IF NOT EXISTS`; DDL commits at once on MySQL, so the migration tool \
             cannot undo a half-applied run"
            .into(),
        ErrorClass::DuplicateColumn => "SQLite has no `ADD COLUMN IF NOT EXISTS`: create the \
             table in its final shape with `CREATE TABLE IF NOT EXISTS`, or make the migration \
             tool record the migration as applied in the same transaction"
            .into(),
        ErrorClass::DuplicateEnumValue => {
            "add the value only when missing: `ALTER TYPE ... ADD VALUE IF NOT EXISTS`".into()
        }
        ErrorClass::UniqueViolation if mysql => format!(
            "skip rows that are already there: {}",
            forms(caps.dialect).skip_existing
        ),
        // Postgres and SQLite: the text they have always had.
        ErrorClass::UniqueViolation => "skip rows that are already there: `INSERT ... ON \
             CONFLICT DO NOTHING` (SQLite also has `INSERT OR IGNORE`)"
            .into(),
        ErrorClass::UndefinedObject => "use `IF EXISTS`, or guard the statement so that it \
             does nothing when the first run already removed or renamed the object"
            .into(),
        ErrorClass::UndefinedFunction => "the first run dropped or replaced this function: \
             guard the statement, or create the function with `CREATE OR REPLACE` before it is \
             used"
            .into(),
        ErrorClass::UndefinedColumn => "the first run renamed or dropped this column: guard the \
             statement or fold the change into a table rebuild"
            .into(),
        ErrorClass::Other | ErrorClass::Syntax if mysql => {
            "make the statement safe to run again: DDL commits at \
             once on MySQL, so the migration tool cannot record the migration as applied in the \
             same transaction as its changes"
                .into()
        }
        ErrorClass::Other | ErrorClass::Syntax => {
            "make the statement safe to run again, or make sure the migration \
             tool records the migration as applied in the same transaction"
                .into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_postgres_syntax_is_named() {
        assert_eq!(
            super::newer_postgres_syntax(
                "ALTER TABLE t\n    ADD CONSTRAINT t_a_not_null NOT NULL a",
                "syntax error at or near \"NOT\""
            )
            .map(|(_, v)| v),
            Some(18)
        );
        assert_eq!(
            super::newer_postgres_syntax(
                "SELECT * FROM (SELECT 1)",
                "subquery in FROM must have an alias"
            )
            .map(|(_, v)| v),
            Some(16)
        );
        assert_eq!(
            super::newer_postgres_syntax("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", "x"),
            None
        );
        assert_eq!(super::server_major("PostgreSQL 15.18"), 15);
        assert_eq!(super::server_major("SQLite"), 0);
    }

    #[test]
    fn extensions_are_named_by_what_they_provide() {
        assert_eq!(extension_of("gin_trgm_ops"), Some("pg_trgm"));
        assert_eq!(extension_of("UUID_GENERATE_V4"), Some("uuid-ossp"));
        assert_eq!(extension_of("ST_MakePoint"), Some("postgis"));
        assert_eq!(extension_of("citext"), Some("citext"));
        assert_eq!(extension_of("st_"), None);
        assert_eq!(extension_of("users"), None);
        let help = extension_help("gin_trgm_ops", "pg_trgm", false);
        assert!(
            help.contains("CREATE EXTENSION IF NOT EXISTS \"pg_trgm\";"),
            "{help}"
        );
        assert!(extension_help("citext", "citext", true).contains("check the order"));
        assert_eq!(
            extension_not_installed(
                "extension \"postgis\" is not available (Could not open extension control file)"
            ),
            Some("postgis")
        );
        assert_eq!(
            extension_not_installed("extension \"x\" already exists"),
            None
        );
    }

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
    fn close_names_are_typos() {
        let made: BTreeSet<String> = ["teams".to_string(), "users".to_string()].into();
        assert_eq!(close_name(&made, "team"), Some("teams"));
        assert_eq!(close_name(&made, "usera"), Some("users"));
        assert_eq!(close_name(&made, "accounts"), None);
        assert_eq!(close_name(&made, "tea"), None);
    }

    #[test]
    fn libsql_alter_column_is_told_apart() {
        assert!(is_libsql_alter_column(
            "ALTER TABLE `t` ALTER COLUMN \"status\" TO \"status\" text NOT NULL"
        ));
        assert!(!is_libsql_alter_column(
            "ALTER TABLE t ALTER COLUMN x TYPE int"
        ));
        assert!(!is_libsql_alter_column("ALTER TABLE t RENAME TO u"));
    }

    #[test]
    fn mysql8_collations_are_named() {
        assert_eq!(
            mysql8_collation("Unknown collation: 'utf8mb4_0900_ai_ci'"),
            Some("utf8mb4_0900_ai_ci")
        );
        assert_eq!(mysql8_collation("Unknown collation: 'latin9_x'"), None);
        assert!(
            mysql8_collation_help("MariaDB 10.11.6", "utf8mb4_0900_ai_ci")
                .contains("replay it on a MySQL 8 server")
        );
    }

    #[test]
    fn missing_roles_are_named() {
        assert_eq!(
            missing_role("role \"read_write\" does not exist"),
            Some("read_write")
        );
        assert_eq!(missing_role("relation \"x\" does not exist"), None);
        assert_eq!(missing_role("role \"\" does not exist"), None);
        assert!(missing_role_help("auth_user").contains("CREATE ROLE auth_user;"));
    }

    fn caps(dialect: Dialect, add_column_if_not_exists: bool) -> Caps {
        Caps {
            dialect,
            nontransactional_sequences: true,
            sqlstate: true,
            add_column_if_not_exists,
        }
    }

    #[test]
    fn help_lines_use_the_engines_dialect() {
        let mysql8 = caps(Dialect::Mysql, false);
        let mariadb = caps(Dialect::Mysql, true);
        // MySQL 8 has no ADD COLUMN IF NOT EXISTS; MariaDB has.
        let h = help_for(ErrorClass::DuplicateColumn, mysql8);
        assert!(
            h.starts_with("MySQL has no `ADD COLUMN IF NOT EXISTS`"),
            "{h}"
        );
        assert!(!h.contains("SQLite"), "{h}");
        let h = help_for(ErrorClass::DuplicateColumn, mariadb);
        assert!(h.contains("ADD COLUMN IF NOT EXISTS`"), "{h}");
        for class in [
            ErrorClass::UniqueViolation,
            ErrorClass::Other,
            ErrorClass::PermissionDenied,
        ] {
            let h = help_for(class, mysql8);
            assert!(!h.contains("ON CONFLICT"), "{class:?}: {h}");
            assert!(!h.contains("superuser"), "{class:?}: {h}");
        }
        assert!(help_for(ErrorClass::UniqueViolation, mysql8).contains("ON DUPLICATE KEY"));
        // The other engines keep their words.
        let pg = caps(Dialect::Postgres, true);
        assert!(help_for(ErrorClass::UniqueViolation, pg).contains("ON CONFLICT DO NOTHING"));
        assert_eq!(help_for(ErrorClass::PermissionDenied, pg), PERMISSION_HELP);
        let sqlite = caps(Dialect::Sqlite, false);
        assert!(help_for(ErrorClass::DuplicateColumn, sqlite).starts_with("SQLite has no"));
    }
}
