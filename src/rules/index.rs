//! What the statements of one migration do to each object, so a rule can ask
//! "does this object exist when a second run reaches this statement?".
//!
//! A second run starts from the state the first run left. For an object `X`
//! and a statement at position `p`:
//! - if an earlier statement of the same migration part created, dropped or
//!   renamed `X` (or dropped or freshly re-created the table `X` belongs to),
//!   the latest of those decides: `DROP TABLE IF EXISTS t; CREATE TABLE t`
//!   is safe, and so is `DROP CONSTRAINT IF EXISTS k; ADD CONSTRAINT k`;
//! - otherwise the first run's last word on `X` decides: a scratch table
//!   created and dropped in the same migration, or SQLite's table rebuild
//!   (`CREATE TABLE t_new ...; DROP TABLE t; ALTER TABLE t_new RENAME TO t`),
//!   leaves nothing that breaks the second run. A column or constraint of a
//!   table that a later statement drops and makes again (the rebuild) is
//!   unknown: the new definition decides, which the index does not read.
//!
//! Only statements of the same group (migration part) count: a down
//! section's `DROP TABLE` does not run with the up section's `CREATE TABLE`.
//! The index is built once per file, in one pass, and answers in time linear
//! in the number of statements that touch the object.

use crate::analysis::Statement;
use crate::classify::{AlterObjectOp, AlterOp, ConstraintKind, Kind, Name, ObjectKind};
use std::collections::{HashMap, HashSet};

/// Namespaces in which object names are unique.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Ns {
    Table,
    View,
    Index,
    Trigger,
    Sequence,
    Type,
    Schema,
    Database,
    Routine,
    Role,
    Object(ObjectKind),
    /// `table\0column`.
    Column,
    /// `table\0constraint`.
    Constraint,
    /// `type\0'label'`.
    EnumValue,
}

/// An object as the index knows it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Key {
    pub ns: Ns,
    pub name: String,
}

impl Key {
    pub fn object(kind: ObjectKind, name: &Name) -> Key {
        use ObjectKind::*;
        let ns = match kind {
            Table | VirtualTable | ForeignTable => Ns::Table,
            View | MaterializedView => Ns::View,
            Index => Ns::Index,
            Trigger | ConstraintTrigger => Ns::Trigger,
            Sequence => Ns::Sequence,
            Type | Domain => Ns::Type,
            Schema => Ns::Schema,
            Database => Ns::Database,
            Function | Procedure | Aggregate => Ns::Routine,
            Role | User | Group => Ns::Role,
            k => Ns::Object(k),
        };
        Key {
            ns,
            name: name.object().to_string(),
        }
    }

    pub fn table(name: &Name) -> Key {
        Key::object(ObjectKind::Table, name)
    }

    pub fn column(table: &Name, column: &str) -> Key {
        Key {
            ns: Ns::Column,
            name: format!("{}\0{}", table.object(), column),
        }
    }

    pub fn constraint(table: &Name, constraint: &str) -> Key {
        Key {
            ns: Ns::Constraint,
            name: format!("{}\0{}", table.object(), constraint),
        }
    }

    /// The single primary key of a table.
    pub fn primary_key(table: &Name) -> Key {
        Key::constraint(table, "\0primary key")
    }

    pub fn enum_value(ty: &Name, value: &str) -> Key {
        Key {
            ns: Ns::EnumValue,
            name: format!("{}\0{}", ty.object(), value),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Effect {
    /// The object exists after this (created, renamed to, ensured).
    Create { temp: bool },
    /// The object is gone after this (dropped, renamed away).
    Remove,
    /// All or some rows of the table were deleted (`DELETE`, `TRUNCATE`).
    RowsReset,
}

#[derive(Clone, Copy, Debug)]
struct Event {
    pos: usize,
    effect: Effect,
}

/// The contents of the single-quoted string literals among `tokens`
/// (quotes removed, doubled quotes and backslash escapes undone).
fn string_literals(text: &str, tokens: &[crate::lexer::Token]) -> Vec<String> {
    tokens
        .iter()
        .filter(|t| t.kind == crate::lexer::TokenKind::String)
        .filter_map(|t| {
            let raw = text.get(t.span.clone())?;
            (raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\''))
                .then(|| crate::classify::unquote(raw).replace("\\'", "'"))
        })
        .collect()
}

/// The per-file index.
#[derive(Default, Debug)]
pub struct FileIndex {
    /// Each object's events, by group.
    timelines: HashMap<Key, HashMap<usize, Timeline>>,
}

/// What one group does to one object, in file order, with the answers the
/// queries need precomputed, so that each query costs a binary search and
/// no query walks the events again for each event (a file that creates and
/// alters one table thousands of times stays linear).
#[derive(Default, Debug)]
struct Timeline {
    /// The events other than [`Effect::RowsReset`], by position.
    events: Vec<Event>,
    /// For each `i` (`0..=events.len()`), the last event among
    /// `events[..i]` after which the object is gone or new: a removal, or a
    /// creation where it did not exist.
    last_reset: Vec<Option<usize>>,
    /// The position of the first creation where the object did not exist.
    first_fresh_create: Option<usize>,
    /// The position of the first `DELETE`/`TRUNCATE` of the table's rows.
    first_rows_reset: Option<usize>,
    /// The last removal (index into `events`).
    last_remove: Option<usize>,
    /// The position of the last creation.
    last_create: Option<usize>,
}

impl Timeline {
    /// The events before position `pos`.
    fn before(&self, pos: usize) -> &[Event] {
        &self.events[..self.events.partition_point(|e| e.pos < pos)]
    }

    /// Computes the answers once every event is in.
    fn finish(&mut self) {
        self.events.sort_by_key(|e| e.pos);
        let n = self.events.len();
        let made = |e: &Event| matches!(e.effect, Effect::Create { .. });
        // Whether the object exists just before the event at `i`, as a second
        // run meets it (see `FileIndex::exists_at` without a parent).
        let last_permanent = self
            .events
            .last()
            .is_some_and(|e| matches!(e.effect, Effect::Create { temp: false }));
        self.last_reset = Vec::with_capacity(n + 1);
        self.last_reset.push(None);
        for i in 0..n {
            let e = self.events[i];
            let earlier = self.events.partition_point(|x| x.pos < e.pos);
            let existed = if earlier > 0 {
                made(&self.events[earlier - 1])
            } else {
                last_permanent
            };
            let fresh = made(&e) && !existed;
            if fresh && self.first_fresh_create.is_none() {
                self.first_fresh_create = Some(e.pos);
            }
            if e.effect == Effect::Remove {
                self.last_remove = Some(i);
            }
            if made(&e) {
                self.last_create = Some(e.pos);
            }
            let reset = e.effect == Effect::Remove || fresh;
            let prev = self.last_reset[i];
            self.last_reset.push(if reset { Some(i) } else { prev });
        }
    }
}

impl FileIndex {
    pub fn build(statements: &[Statement], text: &str) -> FileIndex {
        let mut idx = FileIndex::default();
        for stmt in statements {
            for unit in super::units(stmt) {
                idx.record(stmt.group, unit.pos(), unit.kind, true);
            }
            // MySQL's dynamic-SQL guard: `SET @s := IF(@exists > 0, 'DROP
            // INDEX i ON t', 'SELECT 1'); PREPARE stmt FROM @s; EXECUTE stmt;`
            // drops the object when it exists, so what follows may create it.
            if stmt.dialect == crate::dialect::Dialect::Mysql
                && matches!(stmt.facts.kind, Kind::Set(_))
            {
                for sql in string_literals(text, &stmt.tokens) {
                    let toks = crate::lexer::significant_tokens(&sql, 0..sql.len(), stmt.dialect);
                    let kind = crate::classify::classify_tokens(&sql, &toks, stmt.dialect);
                    if matches!(kind, Kind::Drop(_) | Kind::AlterTable(_)) {
                        idx.record(stmt.group, stmt.span.start, &kind, false);
                    }
                }
            }
        }
        for t in idx.timelines.values_mut().flat_map(HashMap::values_mut) {
            t.finish();
        }
        idx
    }

    fn add(&mut self, key: Key, group: usize, pos: usize, effect: Effect) {
        let t = self
            .timelines
            .entry(key)
            .or_default()
            .entry(group)
            .or_default();
        if effect == Effect::RowsReset {
            t.first_rows_reset = Some(t.first_rows_reset.map_or(pos, |p| p.min(pos)));
        } else {
            t.events.push(Event { pos, effect });
        }
    }

    fn timeline(&self, key: &Key, group: usize) -> Option<&Timeline> {
        self.timelines.get(key)?.get(&group)
    }

    /// Records what `kind` does at `pos`. With `own_spans`, the actions of
    /// an `ALTER TABLE` are placed at their own offsets, so that in `DROP
    /// COLUMN x, ADD COLUMN x` the drop comes before the add.
    fn record(&mut self, g: usize, unit_pos: usize, kind: &Kind, own_spans: bool) {
        let pos = unit_pos;
        let create = Effect::Create { temp: false };
        match kind {
            Kind::Create(c) => {
                if let Some(n) = &c.name {
                    let temp = c.temporary;
                    self.add(Key::object(c.kind, n), g, pos, Effect::Create { temp });
                }
            }
            Kind::Drop(d) => {
                for n in &d.names {
                    self.add(Key::object(d.kind, n), g, pos, Effect::Remove);
                    // Views share the relation namespace with tables (and
                    // their indexes go with them): what an index or a view
                    // built on a view names as its parent is a table key.
                    if matches!(d.kind, ObjectKind::View | ObjectKind::MaterializedView) {
                        self.add(Key::table(n), g, pos, Effect::Remove);
                    }
                }
            }
            Kind::AlterTable(a) => {
                let Some(t) = &a.table else { return };
                for act in &a.actions {
                    let pos = if own_spans {
                        act.span.start.max(unit_pos)
                    } else {
                        unit_pos
                    };
                    match &act.op {
                        AlterOp::AddColumn { name, .. } => {
                            self.add(Key::column(t, name.object()), g, pos, create)
                        }
                        AlterOp::DropColumn { name, .. } => {
                            self.add(Key::column(t, name.object()), g, pos, Effect::Remove)
                        }
                        AlterOp::AddConstraint {
                            name, constraint, ..
                        } => {
                            for k in constraint_keys(t, name.as_ref(), *constraint) {
                                self.add(k, g, pos, create);
                            }
                        }
                        AlterOp::DropConstraint {
                            name, constraint, ..
                        } => {
                            for k in constraint_keys(t, name.as_ref(), *constraint) {
                                self.add(k, g, pos, Effect::Remove);
                            }
                        }
                        AlterOp::RenameTo { new } => {
                            self.add(Key::table(t), g, pos, Effect::Remove);
                            self.add(Key::table(new), g, pos, create);
                        }
                        AlterOp::RenameColumn { from, to } | AlterOp::ChangeColumn { from, to } => {
                            if from.object() != to.object() {
                                self.add(Key::column(t, from.object()), g, pos, Effect::Remove);
                                self.add(Key::column(t, to.object()), g, pos, create);
                            }
                        }
                        AlterOp::RenameConstraint { from, to } => {
                            self.add(Key::constraint(t, from.object()), g, pos, Effect::Remove);
                            self.add(Key::constraint(t, to.object()), g, pos, create);
                        }
                        AlterOp::RenameIndex { from, to } => {
                            self.add(Key::object(ObjectKind::Index, from), g, pos, Effect::Remove);
                            self.add(Key::object(ObjectKind::Index, to), g, pos, create);
                        }
                        AlterOp::SetSchema { .. }
                        | AlterOp::AlterColumn { .. }
                        | AlterOp::Other => {}
                    }
                }
            }
            Kind::AlterObject(o) => {
                let Some(n) = &o.name else { return };
                match &o.op {
                    AlterObjectOp::RenameTo { new } => {
                        self.add(Key::object(o.kind, n), g, pos, Effect::Remove);
                        self.add(Key::object(o.kind, new), g, pos, create);
                    }
                    AlterObjectOp::AddValue { value, .. } => {
                        self.add(Key::enum_value(n, value), g, pos, create);
                    }
                    AlterObjectOp::RenameMember {
                        member: "value",
                        from,
                        to,
                    } => {
                        self.add(Key::enum_value(n, from), g, pos, Effect::Remove);
                        self.add(Key::enum_value(n, to), g, pos, create);
                    }
                    _ => {}
                }
            }
            Kind::RenameTables(pairs) => {
                for p in pairs {
                    self.add(Key::table(&p.from), g, pos, Effect::Remove);
                    self.add(Key::table(&p.to), g, pos, create);
                }
            }
            Kind::Delete(d) => {
                if let Some(t) = &d.table {
                    self.add(Key::table(t), g, pos, Effect::RowsReset);
                }
            }
            Kind::Truncate(names) => {
                for t in names {
                    self.add(Key::table(t), g, pos, Effect::RowsReset);
                }
            }
            _ => {}
        }
    }

    /// Whether `key` exists when a second run of group `group` reaches
    /// position `pos`. `parent` is the table the object belongs to: dropping
    /// it, or creating it afresh, removes the object too. `None` when the
    /// migration does not say.
    pub fn exists_at(
        &self,
        group: usize,
        key: &Key,
        parent: Option<&Key>,
        pos: usize,
    ) -> Option<bool> {
        let own = self.timeline(key, group);
        let par = parent.and_then(|p| self.timeline(p, group));
        let own_before = own.and_then(|t| t.before(pos).last());
        let parent_reset = par.and_then(|t| {
            let i = t.before(pos).len();
            t.last_reset[i].map(|j| &t.events[j])
        });
        match (own_before, parent_reset) {
            (Some(o), Some(p)) if p.pos > o.pos => return Some(false),
            (Some(o), _) => return Some(matches!(o.effect, Effect::Create { .. })),
            (None, Some(_)) => return Some(false),
            (None, None) => {}
        }
        // Nothing earlier: the state the first run left decides.
        let own_last = own.and_then(|t| t.events.last());
        let parent_removed_later = par.and_then(|t| t.last_remove.map(|j| &t.events[j]));
        // The table is removed after the statement and made again under its
        // name (a rebuild: `DROP TABLE t; ALTER TABLE t_new RENAME TO t`, or
        // `CREATE TABLE t` after the drop): the second run meets the table
        // the new definition made, whose columns and constraints the index
        // does not read. (Its indexes and triggers went with the old table.)
        let remade_after = |removed: &Event| {
            matches!(key.ns, Ns::Column | Ns::Constraint)
                && par
                    .and_then(|t| t.last_create)
                    .is_some_and(|c| c > removed.pos)
        };
        match (own_last, parent_removed_later) {
            (Some(o), Some(p)) if p.pos > o.pos => (!remade_after(p)).then_some(false),
            (None, Some(p)) => (!remade_after(p)).then_some(false),
            (Some(o), _) => Some(matches!(o.effect, Effect::Create { temp: false })),
            (None, None) => None,
        }
    }

    /// The table has no rows from an earlier run when a second run reaches
    /// `pos`: the migration created it afresh, or deleted or truncated its
    /// rows, earlier in the same part.
    pub fn rows_reset_before(&self, group: usize, table: &Key, pos: usize) -> bool {
        self.timeline(table, group).is_some_and(|t| {
            t.first_rows_reset.is_some_and(|p| p < pos)
                || t.first_fresh_create.is_some_and(|p| p < pos)
        })
    }

    /// The table was created afresh earlier in the same part (so it holds
    /// only what this run of the migration put there).
    pub fn fresh_before(&self, group: usize, table: &Key, pos: usize) -> bool {
        self.timeline(table, group)
            .is_some_and(|t| t.first_fresh_create.is_some_and(|p| p < pos))
    }
}

/// The key of a table-level constraint or MySQL index; `None` for unnamed
/// ones other than the primary key.
pub fn constraint_key(table: &Name, name: Option<&Name>, kind: ConstraintKind) -> Option<Key> {
    match (name, kind) {
        (_, ConstraintKind::PrimaryKey) if name.is_none() => Some(Key::primary_key(table)),
        (Some(n), ConstraintKind::Index) => Some(Key::object(ObjectKind::Index, n)),
        (Some(n), _) => Some(Key::constraint(table, n.object())),
        (None, _) => None,
    }
}

/// Every key a named table constraint or index may be known by: MySQL's
/// UNIQUE KEY is dropped with DROP INDEX, Postgres' unique constraint with
/// DROP CONSTRAINT, and statements name them either way.
fn constraint_keys(table: &Name, name: Option<&Name>, kind: ConstraintKind) -> Vec<Key> {
    match name {
        Some(n) => vec![
            Key::object(ObjectKind::Index, n),
            Key::constraint(table, n.object()),
        ],
        None => constraint_key(table, None, kind).into_iter().collect(),
    }
}

/// MySQL names an unnamed foreign key of table `t` `t_ibfk_N`, N one more
/// than the highest such number the table has. A migration that drops
/// `t_ibfk_N` and then adds an unnamed foreign key to `t` (to change its
/// `ON DELETE`, say) converges: the new key takes the name the drop
/// removed (when it was the highest), so a second run drops it and adds it
/// again. Whether `name` is such a name of `table`.
fn generated_fk_name(table: &crate::classify::Name, name: &str) -> bool {
    let t = table.object();
    name.len() > t.len() + 6
        && name.is_char_boundary(t.len())
        && name[..t.len()].eq_ignore_ascii_case(t)
        && name[t.len()..]
            .get(..6)
            .is_some_and(|s| s.eq_ignore_ascii_case("_ibfk_"))
        && name[t.len() + 6..].bytes().all(|b| b.is_ascii_digit())
}

/// The name PostgreSQL gives the unnamed constraint an `ADD PRIMARY KEY
/// (...)`, `ADD UNIQUE (...)` or `ADD FOREIGN KEY (...)` action (its text)
/// adds to `table`: `t_pkey`, `t_a_b_key`, `t_a_fkey`, when it is free.
/// `None` for other actions and for names PostgreSQL would shorten (past
/// 63 bytes).
fn pg_generated_name(table: &crate::classify::Name, action: &str) -> Option<String> {
    let upper = action.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty())
        .collect();
    let (suffix, keyword) = if words.windows(2).any(|w| w == ["PRIMARY", "KEY"]) {
        ("pkey", None)
    } else if words.windows(2).any(|w| w == ["FOREIGN", "KEY"]) {
        ("fkey", Some("FOREIGN"))
    } else if words.contains(&"UNIQUE") {
        ("key", Some("UNIQUE"))
    } else {
        return None;
    };
    let mut name = table.object().to_string();
    if let Some(keyword) = keyword {
        // The columns: the first parenthesised list after the keyword.
        let at = upper.find(keyword)? + keyword.len();
        let open = at + action[at..].find('(')?;
        let close = open + action[open..].find(')')?;
        for col in action[open + 1..close].split(',') {
            let col = col.trim();
            let col = match col.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
                Some(quoted) => quoted.to_string(),
                None => col.to_ascii_lowercase(),
            };
            if col.is_empty() || col.contains(char::is_whitespace) {
                return None;
            }
            name.push('_');
            name.push_str(&col);
        }
    }
    name.push('_');
    name.push_str(suffix);
    (name.len() <= 63).then_some(name)
}

/// PostgreSQL: the `DROP CONSTRAINT n` actions of ALTER TABLEs on `table`
/// that an unnamed add later in the group gives the name `n` back to, and
/// those adds. A second run drops what the first run's add made and adds
/// it again: it converges.
fn pg_generated_pairs(
    cx: &super::Context,
    group: usize,
    table: &crate::classify::Name,
) -> HashSet<ActionAt> {
    use crate::classify::AlterOp;
    let mut drops: Vec<(ActionAt, &str)> = Vec::new();
    let mut paired = HashSet::new();
    for (start, i, action) in alter_actions_of(cx, group, table) {
        match &action.op {
            AlterOp::DropConstraint { name: Some(n), .. } => drops.push(((start, i), n.object())),
            AlterOp::AddConstraint { name: None, .. } => {
                let Some(generated) =
                    pg_generated_name(table, cx.file.text.get(action.span.clone()).unwrap_or(""))
                else {
                    continue;
                };
                if let Some(&(d, _)) = drops.iter().find(|(_, n)| *n == generated) {
                    paired.insert(d);
                    paired.insert((start, i));
                }
            }
            _ => {}
        }
    }
    paired
}

/// The ALTER TABLE statements of `cx`'s file in group `group` on `table`,
/// with their actions, as (statement start, action index, action).
fn alter_actions_of<'c>(
    cx: &'c super::Context,
    group: usize,
    table: &'c crate::classify::Name,
) -> impl Iterator<Item = (usize, usize, &'c crate::classify::AlterAction)> + 'c {
    use crate::classify::Kind;
    cx.statements
        .iter()
        .filter(move |s| s.group == group)
        .filter_map(move |s| match &s.facts.kind {
            Kind::AlterTable(a)
                if a.table
                    .as_ref()
                    .is_some_and(|t| t.object().eq_ignore_ascii_case(table.object())) =>
            {
                Some((s.span.start, a))
            }
            _ => None,
        })
        .flat_map(|(start, a)| {
            a.actions
                .iter()
                .enumerate()
                .map(move |(i, act)| (start, i, act))
        })
}

/// The ALTER TABLE statements of `cx`'s file in group `group` on `table`,
/// with their actions, as (statement start, action index, op).
fn alters_of<'c>(
    cx: &'c super::Context,
    group: usize,
    table: &'c crate::classify::Name,
) -> impl Iterator<Item = (usize, usize, &'c crate::classify::AlterOp)> + 'c {
    alter_actions_of(cx, group, table).map(|(start, i, act)| (start, i, &act.op))
}

/// An action of an ALTER TABLE: the statement's start and the action's index.
pub type ActionAt = (usize, usize);

/// The generated-name drops (`DROP FOREIGN KEY t_ibfk_N`) of `table` in
/// group `group`, and the unnamed `ADD FOREIGN KEY`s on it after the first
/// of them, each as (statement start, action index), in order. MySQL
/// numbers new keys past the highest it finds, so the first run's adds
/// take the freed names (when they were the highest) and a second run's
/// drops find them: the k-th drop finds a key when there are more than k
/// adds, and the k-th add replaces a dropped key (rather than piling up a
/// copy) when there are more than k drops.
fn generated_fk_pairs(
    cx: &super::Context,
    group: usize,
    table: &crate::classify::Name,
) -> (Vec<ActionAt>, Vec<ActionAt>) {
    use crate::classify::{AlterOp, ConstraintKind};
    let (mut drops, mut adds) = (Vec::new(), Vec::new());
    if cx.dialect != crate::dialect::Dialect::Mysql {
        return (drops, adds);
    }
    let generated_drop = |op: &AlterOp| {
        matches!(op, AlterOp::DropConstraint {
            name: Some(n),
            constraint: ConstraintKind::ForeignKey | ConstraintKind::Unspecified,
            ..
        } if generated_fk_name(table, n.object()))
    };
    // Drops in dynamic SQL (`SET @s = IF(<the key exists>, 'ALTER TABLE t
    // DROP FOREIGN KEY t_ibfk_1', 'SELECT 1'); PREPARE ...; EXECUTE ...`),
    // at their statement's position: they free the name as a plain drop does.
    let mut dynamic: std::collections::VecDeque<usize> = cx
        .statements
        .iter()
        .filter(|s| s.group == group && matches!(s.facts.kind, Kind::Set(_)))
        .filter(|s| {
            string_literals(&cx.file.text, &s.tokens).iter().any(|sql| {
                let toks = crate::lexer::significant_tokens(sql, 0..sql.len(), s.dialect);
                match crate::classify::classify_tokens(sql, &toks, s.dialect) {
                    Kind::AlterTable(a) => {
                        a.table
                            .as_ref()
                            .is_some_and(|t| t.object().eq_ignore_ascii_case(table.object()))
                            && a.actions.iter().any(|act| generated_drop(&act.op))
                    }
                    _ => false,
                }
            })
        })
        .map(|s| s.span.start)
        .collect();
    for (start, i, op) in alters_of(cx, group, table) {
        while dynamic.front().is_some_and(|&p| p < start) {
            drops.push((dynamic.pop_front().unwrap_or(start), usize::MAX));
        }
        match op {
            op if generated_drop(op) => drops.push((start, i)),
            AlterOp::AddConstraint {
                name: None,
                constraint: ConstraintKind::ForeignKey,
                ..
            } if !drops.is_empty() => adds.push((start, i)),
            _ => {}
        }
    }
    drops.extend(dynamic.into_iter().map(|p| (p, usize::MAX)));
    (drops, adds)
}

/// The actions of ALTER TABLEs on `table` in group `group` that have their
/// partner in a generated-name pair: on PostgreSQL those of
/// [`pg_generated_pairs`]; on MySQL (see [`generated_fk_pairs`]) the k-th
/// drop when there are more than k adds (its second run finds the key an
/// unnamed add took the name of) and the k-th add when there are more than
/// k drops (it takes a dropped key's name, so no copy piles up).
pub fn generated_pairs(
    cx: &super::Context,
    group: usize,
    table: &crate::classify::Name,
) -> HashSet<ActionAt> {
    if cx.dialect == crate::dialect::Dialect::Postgres {
        return pg_generated_pairs(cx, group, table);
    }
    let (drops, adds) = generated_fk_pairs(cx, group, table);
    let n = drops.len().min(adds.len());
    drops[..n].iter().chain(&adds[..n]).copied().collect()
}

/// Whether the action `at` (statement start, action index) of an ALTER
/// TABLE on `table` in group `group` has its partner in a generated-name
/// pair (see [`generated_pairs`], computed once per table and group).
pub fn generated_fk_paired(
    cx: &super::Context,
    group: usize,
    table: &crate::classify::Name,
    at: ActionAt,
) -> bool {
    cx.generated_pairs(group, table).contains(&at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{analyze_regions, NoSubstitution};
    use crate::dialect::Dialect;

    fn index(sql: &str) -> (FileIndex, Vec<usize>) {
        let source = crate::source::SourceFile::from_bytes("m.sql", None, sql.as_bytes());
        let regions = vec![crate::model::Region {
            range: 0..source.text.len(),
            single_statement: false,
        }];
        let mut statements = Vec::new();
        analyze_regions(
            &source,
            &regions,
            Dialect::Sqlite,
            &NoSubstitution,
            &mut statements,
        );
        let starts = statements.iter().map(|s| s.span.start).collect();
        (FileIndex::build(&statements, &source.text), starts)
    }

    /// The queries as they were first written: each walks the events again
    /// for every earlier event. The reference the precomputed answers must
    /// give.
    #[allow(clippy::double_ended_iterator_last)]
    fn naive_exists(
        idx: &FileIndex,
        group: usize,
        key: &Key,
        parent: Option<&Key>,
        pos: usize,
    ) -> Option<bool> {
        let events = |k: &Key| -> Vec<Event> {
            idx.timeline(k, group)
                .map(|t| t.events.clone())
                .unwrap_or_default()
        };
        let own_before = events(key).into_iter().filter(|e| e.pos < pos).last();
        let parent_reset = parent.and_then(|p| {
            events(p)
                .into_iter()
                .filter(|e| e.pos < pos)
                .filter(|e| match e.effect {
                    Effect::Remove => true,
                    Effect::Create { .. } => {
                        naive_exists(idx, group, p, None, e.pos) == Some(false)
                    }
                    Effect::RowsReset => false,
                })
                .last()
        });
        match (own_before, parent_reset) {
            (Some(o), Some(p)) if p.pos > o.pos => return Some(false),
            (Some(o), _) => return Some(matches!(o.effect, Effect::Create { .. })),
            (None, Some(_)) => return Some(false),
            (None, None) => {}
        }
        let own_last = events(key).last().copied();
        let parent_removed_later = parent.and_then(|p| {
            events(p)
                .into_iter()
                .filter(|e| e.effect == Effect::Remove)
                .last()
        });
        let remade_after = |removed: &Event| {
            matches!(key.ns, Ns::Column | Ns::Constraint)
                && parent.is_some_and(|p| {
                    events(p)
                        .iter()
                        .any(|e| e.pos > removed.pos && matches!(e.effect, Effect::Create { .. }))
                })
        };
        match (own_last, parent_removed_later) {
            (Some(o), Some(p)) if p.pos > o.pos => (!remade_after(&p)).then_some(false),
            (None, Some(p)) => (!remade_after(&p)).then_some(false),
            (Some(o), _) => Some(matches!(o.effect, Effect::Create { temp: false })),
            (None, None) => None,
        }
    }

    fn naive_fresh(idx: &FileIndex, table: &Key, pos: usize) -> bool {
        idx.timeline(table, 0).is_some_and(|t| {
            t.events.iter().filter(|e| e.pos < pos).any(|e| {
                matches!(e.effect, Effect::Create { .. })
                    && naive_exists(idx, 0, table, None, e.pos) == Some(false)
            })
        })
    }

    #[test]
    fn precomputed_answers_are_those_of_the_plain_walk() {
        const STATEMENTS: [&str; 10] = [
            "CREATE TABLE t (a int);",
            "CREATE TABLE IF NOT EXISTS t (a int);",
            "CREATE TEMP TABLE t (a int);",
            "DROP TABLE t;",
            "DROP TABLE IF EXISTS t;",
            "ALTER TABLE t ADD COLUMN c int;",
            "ALTER TABLE t DROP COLUMN c;",
            "ALTER TABLE u RENAME TO t;",
            "ALTER TABLE t RENAME TO u;",
            "DELETE FROM t;",
        ];
        let name = |n: &str| Name {
            parts: vec![n.into()],
            shown: vec![n.into()],
            span: 0..0,
        };
        let (t, u) = (name("t"), name("u"));
        let keys = [Key::table(&t), Key::table(&u)];
        let column = Key::column(&t, "c");
        let mut seed: u64 = 7;
        for _ in 0..3_000 {
            let mut sql = String::new();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = 1 + (seed >> 60) as usize % 8;
            for _ in 0..len {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                sql.push_str(STATEMENTS[(seed >> 33) as usize % STATEMENTS.len()]);
                sql.push('\n');
            }
            let (idx, starts) = index(&sql);
            for pos in starts.iter().copied().chain([sql.len()]) {
                for key in &keys {
                    assert_eq!(
                        idx.exists_at(0, key, None, pos),
                        naive_exists(&idx, 0, key, None, pos),
                        "{key:?} at {pos}:\n{sql}"
                    );
                    assert_eq!(
                        idx.fresh_before(0, key, pos),
                        naive_fresh(&idx, key, pos),
                        "fresh {key:?} at {pos}:\n{sql}"
                    );
                }
                assert_eq!(
                    idx.exists_at(0, &column, Some(&keys[0]), pos),
                    naive_exists(&idx, 0, &column, Some(&keys[0]), pos),
                    "column at {pos}:\n{sql}"
                );
            }
        }
    }

    /// One table created and altered 20,000 times in one file: each question
    /// about a column costs a binary search, not a walk of every creation
    /// for each creation (which took 21.7 s for 4,000 pairs).
    #[test]
    fn a_table_made_again_and_again_is_answered_without_rewalking_its_events() {
        let sql = "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN b int;\n".repeat(20_000);
        let (idx, starts) = index(&sql);
        let t = Key::table(&Name {
            parts: vec!["t".into()],
            shown: vec!["t".into()],
            span: 0..0,
        });
        let b = Key {
            ns: Ns::Column,
            name: "t\0b".into(),
        };
        let present = starts
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&pos| idx.exists_at(0, &b, Some(&t), pos) == Some(true))
            .count();
        // A second run meets the column before each ADD COLUMN: the pair
        // before it added it, and before the first, the first run did.
        assert_eq!(present, 20_000);
    }
}
