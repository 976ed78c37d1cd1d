//! A static model of the tables a migration history creates: their columns
//! and the column sets that are unique (primary keys, UNIQUE constraints,
//! unique indexes). `--fix` uses it to know whether a conflict clause would
//! really stop an INSERT from duplicating rows. Built from the sqlparser AST,
//! so it works for every dialect, replay or not.

use sqlparser::ast::{
    AlterTableOperation, ColumnOption, CreateIndex, CreateTable, Expr, Ident, ObjectName,
    Statement, TableConstraint,
};
use std::collections::{BTreeSet, HashMap};

/// What is known about one table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableInfo {
    /// Column names in declaration order (normalised).
    pub columns: Vec<String>,
    /// Each unique key as a set of normalised column names.
    pub unique_keys: Vec<BTreeSet<String>>,
    /// Columns declared `NOT NULL` (or in the primary key).
    pub not_null: BTreeSet<String>,
}

/// Tables known at one point of a migration history.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    tables: HashMap<String, TableInfo>,
    /// Unique indexes by name, to forget them on DROP INDEX.
    indexes: HashMap<String, (String, BTreeSet<String>)>,
}

/// Normalises an identifier: quoted names keep their case, others fold to
/// lower case (all supported dialects compare unquoted names case-insensitively).
pub fn ident_key(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// The table part of a possibly schema-qualified name.
pub fn object_key(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(ident_key)
        .unwrap_or_default()
}

/// What an INSERT writes, read from its AST once: its target table (as the
/// catalog names it, and as the statement writes it) and the columns it
/// names. The static rules keep it for the INSERTs they flag, so that the
/// fix pass need not parse those INSERTs again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InsertTarget {
    /// The AST holds no INSERT.
    Unreadable,
    /// The target is not a plain table (a table function).
    NotATable,
    Table {
        /// [`object_key`] of the table.
        key: String,
        /// The name as the statement writes it (with its schema).
        shown: String,
        /// The columns written (`SET a = 1` or a column list); `None` for
        /// every column of the table.
        columns: Option<BTreeSet<String>>,
        /// The columns written, in some row, with a value that differs on
        /// every run (`gen_random_uuid()`, `nextval(...)`): set by the rules
        /// (`rules::dml::insert_target`), empty until then.
        random: BTreeSet<String>,
    },
}

/// The INSERT an AST holds (also after `WITH ...`), if it is one.
pub fn insert_of(ast: &Statement) -> Option<&sqlparser::ast::Insert> {
    match ast {
        Statement::Insert(i) => Some(i),
        Statement::Query(q) => match q.body.as_ref() {
            sqlparser::ast::SetExpr::Insert(Statement::Insert(i)) => Some(i),
            _ => None,
        },
        _ => None,
    }
}

impl InsertTarget {
    pub fn of(ast: &Statement) -> InsertTarget {
        use sqlparser::ast::{AssignmentTarget, TableObject};
        let Some(insert) = insert_of(ast) else {
            return InsertTarget::Unreadable;
        };
        let TableObject::TableName(name) = &insert.table else {
            return InsertTarget::NotATable;
        };
        let columns = if !insert.assignments.is_empty() {
            // MySQL's `INSERT INTO t SET a = 1, b = 2`.
            Some(
                insert
                    .assignments
                    .iter()
                    .filter_map(|a| match &a.target {
                        AssignmentTarget::ColumnName(n) => {
                            n.0.last().and_then(|p| p.as_ident()).map(ident_key)
                        }
                        AssignmentTarget::Tuple(_) => None,
                    })
                    .collect(),
            )
        } else if insert.columns.is_empty() {
            None
        } else {
            Some(
                insert
                    .columns
                    .iter()
                    .filter_map(|c| c.0.last().and_then(|p| p.as_ident()).map(ident_key))
                    .collect(),
            )
        };
        InsertTarget::Table {
            key: object_key(name),
            shown: name.to_string(),
            columns,
            random: BTreeSet::new(),
        }
    }

    /// This target with the columns it fills with values that differ on
    /// every run.
    pub fn with_random(mut self, columns: BTreeSet<String>) -> InsertTarget {
        if let InsertTarget::Table { random, .. } = &mut self {
            *random = columns;
        }
        self
    }
}

fn column_of(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(id) => Some(ident_key(id)),
        Expr::CompoundIdentifier(ids) => ids.last().map(ident_key),
        Expr::Nested(e) => column_of(e),
        _ => None,
    }
}

fn key_of(columns: &[sqlparser::ast::IndexColumn]) -> Option<BTreeSet<String>> {
    columns
        .iter()
        .map(|c| column_of(&c.column.expr))
        .collect::<Option<BTreeSet<_>>>()
        .filter(|k| !k.is_empty())
}

impl Catalog {
    pub fn table(&self, name: &str) -> Option<&TableInfo> {
        self.tables.get(name)
    }

    /// Whether some unique key of `table` is covered by `columns`, i.e. a
    /// second insert of the same values would conflict.
    pub fn has_key_within(&self, table: &str, columns: &BTreeSet<String>) -> bool {
        self.tables
            .get(table)
            .is_some_and(|t| t.unique_keys.iter().any(|k| k.is_subset(columns)))
    }

    /// Whether `table` has a primary key or unique constraint within
    /// `columns` none of whose columns is in `random`.
    pub fn has_stable_key_within(
        &self,
        table: &str,
        columns: &BTreeSet<String>,
        random: &BTreeSet<String>,
    ) -> bool {
        self.tables.get(table).is_some_and(|t| {
            t.unique_keys
                .iter()
                .any(|k| k.is_subset(columns) && k.is_disjoint(random))
        })
    }

    /// Updates the catalog with the effect of one statement.
    pub fn apply(&mut self, stmt: &Statement) {
        match stmt {
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::CreateIndex(ci) => self.create_index(ci),
            Statement::AlterTable(at) => {
                let table = object_key(&at.name);
                for op in &at.operations {
                    self.alter(&table, op);
                }
            }
            Statement::Drop {
                object_type, names, ..
            } => {
                for n in names {
                    let key = object_key(n);
                    match object_type {
                        sqlparser::ast::ObjectType::Table => {
                            self.tables.remove(&key);
                        }
                        sqlparser::ast::ObjectType::Index => {
                            if let Some((table, cols)) = self.indexes.remove(&key) {
                                // One key goes: a UNIQUE column on the same
                                // columns stays a key.
                                if let Some(t) = self.tables.get_mut(&table) {
                                    if let Some(i) = t.unique_keys.iter().position(|k| *k == cols) {
                                        t.unique_keys.remove(i);
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn create_table(&mut self, ct: &CreateTable) {
        let name = object_key(&ct.name);
        if ct.if_not_exists && self.tables.contains_key(&name) {
            return;
        }
        let mut info = TableInfo::default();
        for col in &ct.columns {
            let cname = ident_key(&col.name);
            info.columns.push(cname.clone());
            if col.options.iter().any(|o| {
                matches!(
                    o.option,
                    ColumnOption::NotNull | ColumnOption::PrimaryKey(_)
                )
            }) {
                info.not_null.insert(cname.clone());
            }
            for opt in &col.options {
                if matches!(
                    opt.option,
                    ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_)
                ) {
                    info.unique_keys.push(BTreeSet::from([cname.clone()]));
                }
            }
        }
        for c in &ct.constraints {
            if let TableConstraint::PrimaryKey(pk) = c {
                info.not_null
                    .extend(pk.columns.iter().filter_map(|c| column_of(&c.column.expr)));
            }
            if let Some(k) = constraint_key(c) {
                info.unique_keys.push(k);
            }
        }
        self.tables.insert(name, info);
    }

    fn create_index(&mut self, ci: &CreateIndex) {
        // A partial unique index only covers some rows: not a reliable key.
        if !ci.unique || ci.predicate.is_some() {
            return;
        }
        let table = object_key(&ci.table_name);
        let Some(key) = key_of(&ci.columns) else {
            return;
        };
        if let Some(name) = &ci.name {
            self.indexes
                .insert(object_key(name), (table.clone(), key.clone()));
        }
        if let Some(t) = self.tables.get_mut(&table) {
            t.unique_keys.push(key);
        }
    }

    fn alter(&mut self, table: &str, op: &AlterTableOperation) {
        match op {
            AlterTableOperation::AddConstraint { constraint, .. } => {
                if let (Some(k), Some(t)) = (constraint_key(constraint), self.tables.get_mut(table))
                {
                    t.unique_keys.push(k);
                }
            }
            AlterTableOperation::AddColumn { column_def, .. } => {
                if let Some(t) = self.tables.get_mut(table) {
                    let cname = ident_key(&column_def.name);
                    if !t.columns.contains(&cname) {
                        t.columns.push(cname.clone());
                    }
                    if column_def.options.iter().any(|o| {
                        matches!(
                            o.option,
                            ColumnOption::NotNull | ColumnOption::PrimaryKey(_)
                        )
                    }) {
                        t.not_null.insert(cname.clone());
                    }
                    if column_def.options.iter().any(|o| {
                        matches!(
                            o.option,
                            ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_)
                        )
                    }) {
                        t.unique_keys.push(BTreeSet::from([cname]));
                    }
                }
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                if let Some(t) = self.tables.get_mut(table) {
                    for c in column_names {
                        let cname = ident_key(c);
                        t.columns.retain(|x| *x != cname);
                        t.not_null.remove(&cname);
                        t.unique_keys.retain(|k| !k.contains(&cname));
                    }
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                if let Some(t) = self.tables.get_mut(table) {
                    let (old, new) = (ident_key(old_column_name), ident_key(new_column_name));
                    for c in t.columns.iter_mut().filter(|c| **c == old) {
                        *c = new.clone();
                    }
                    if t.not_null.remove(&old) {
                        t.not_null.insert(new.clone());
                    }
                    for k in &mut t.unique_keys {
                        if k.remove(&old) {
                            k.insert(new.clone());
                        }
                    }
                }
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                if let Some(t) = self.tables.get_mut(table) {
                    let cname = ident_key(column_name);
                    match op {
                        sqlparser::ast::AlterColumnOperation::SetNotNull => {
                            t.not_null.insert(cname);
                        }
                        sqlparser::ast::AlterColumnOperation::DropNotNull => {
                            t.not_null.remove(&cname);
                        }
                        _ => {}
                    }
                }
            }
            AlterTableOperation::RenameTable { table_name } => {
                let new = match table_name {
                    sqlparser::ast::RenameTableNameKind::As(n)
                    | sqlparser::ast::RenameTableNameKind::To(n) => object_key(n),
                };
                if let Some(info) = self.tables.remove(table) {
                    self.tables.insert(new, info);
                }
            }
            _ => {}
        }
    }
}

fn constraint_key(c: &TableConstraint) -> Option<BTreeSet<String>> {
    match c {
        TableConstraint::PrimaryKey(pk) => key_of(&pk.columns),
        TableConstraint::Unique(u) => key_of(&u.columns),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::parse;
    use crate::dialect::Dialect;

    fn catalog(sql: &[&str], d: Dialect) -> Catalog {
        let mut c = Catalog::default();
        for s in sql {
            let (ast, err) = parse(s, d);
            c.apply(&ast.unwrap_or_else(|| panic!("{s}: {err:?}")));
        }
        c
    }

    fn set(cols: &[&str]) -> BTreeSet<String> {
        cols.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keys_from_columns_constraints_and_indexes() {
        let c = catalog(
            &[
                "CREATE TABLE plans (code TEXT PRIMARY KEY, label TEXT, price INT)",
                "CREATE TABLE tags (a INT, b INT, UNIQUE (a, b))",
                "CREATE TABLE logs (msg TEXT)",
                "CREATE UNIQUE INDEX logs_msg ON logs (msg)",
            ],
            Dialect::Sqlite,
        );
        assert!(c.has_key_within("plans", &set(&["code", "label"])));
        assert!(!c.has_key_within("plans", &set(&["label"])));
        assert!(c.has_key_within("tags", &set(&["a", "b"])));
        assert!(!c.has_key_within("tags", &set(&["a"])));
        assert!(c.has_key_within("logs", &set(&["msg"])));
    }

    #[test]
    fn drops_and_renames_are_followed() {
        let c = catalog(
            &[
                "CREATE TABLE t (id INT, email TEXT)",
                "CREATE UNIQUE INDEX t_email ON t (email)",
                "DROP INDEX t_email",
                "ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY (id)",
                "ALTER TABLE t RENAME TO u",
            ],
            Dialect::Postgres,
        );
        assert!(!c.has_key_within("u", &set(&["email"])));
        assert!(c.has_key_within("u", &set(&["id"])));
        assert!(c.table("t").is_none());
    }

    #[test]
    fn dropping_an_index_keeps_a_unique_column() {
        let c = catalog(
            &[
                "CREATE TABLE t (id INT, email TEXT UNIQUE)",
                "CREATE UNIQUE INDEX t_email ON t (email)",
                "DROP INDEX t_email",
            ],
            Dialect::Sqlite,
        );
        assert!(c.has_key_within("t", &set(&["email"])));
    }

    #[test]
    fn partial_unique_indexes_are_not_keys() {
        let c = catalog(
            &[
                "CREATE TABLE t (id INT, email TEXT)",
                "CREATE UNIQUE INDEX t_email ON t (email) WHERE email IS NOT NULL",
            ],
            Dialect::Postgres,
        );
        assert!(!c.has_key_within("t", &set(&["email"])));
    }
}
