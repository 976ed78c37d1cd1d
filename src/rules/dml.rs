//! What INSERT and UPDATE statements write: which assignments compute a
//! column from its own current value, which values are nondeterministic,
//! and whether the WHERE keeps a second run from touching the same rows.
//!
//! Expressions are read from the sqlparser AST when the statement parsed,
//! and from the classifier's tokens otherwise (statements sqlparser rejects,
//! statements inside DO blocks).

use super::{Context, Unit};
use crate::classify::{self, Assign, Toks};
use crate::lexer::TokenKind;
use sqlparser::ast::{
    self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, SelectItem,
    SetExpr, UnaryOperator,
};
use std::ops::Range;

mod from_ast;
mod from_tokens;

pub use self::from_ast::update_nondet_guards;
use self::from_ast::*;
pub use self::from_tokens::tok_nondet;
use self::from_tokens::*;

/// How an assigned value depends on the column's current value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SelfRef {
    /// It does not read the column.
    None,
    /// It reads the column only through idempotent steps (`x`, `lower(x)`,
    /// `coalesce(x, 0)`, `x OR y`): a second run writes the same.
    Identity,
    /// It transforms the current value (`x + 1`, `x || 's'`, `NOT x`).
    Transformed,
}

/// One assignment as the rules see it.
#[derive(Debug, Clone)]
pub struct AssignInfo {
    pub columns: Vec<String>,
    pub self_ref: SelfRef,
    /// The nondeterministic call it writes (`now()`), directly or through
    /// `excluded.col` of the inserted row.
    pub nondet: Option<String>,
    /// The assignment as written (whitespace collapsed).
    pub text: String,
    /// Columns that keep `nondet` from being written when any of them is
    /// not NULL: `COALESCE(created_at, now())` writes `now()` only where
    /// `created_at` is NULL.
    pub nondet_unless: Vec<String>,
}

/// The assignments of an UPDATE or of an upsert's update part.
#[derive(Debug, Default)]
pub struct Writes {
    pub assigns: Vec<AssignInfo>,
    /// Columns the WHERE reads.
    where_cols: Vec<String>,
    /// Columns the WHERE pins to one state (`col = literal`, `col IS NULL`).
    pinned: Vec<String>,
    /// Columns the WHERE only matches when they are not NULL (`col IS NOT
    /// NULL`, `col = x`, `col > x` as top-level conjuncts).
    not_null: Vec<String>,
}

impl Writes {
    /// The WHERE filters on a column this statement sets to an absolute
    /// value (`SET migrated = true WHERE NOT migrated`): a second run finds
    /// no row left to change.
    pub fn guarded(&self) -> bool {
        self.assigns.iter().any(|a| {
            a.self_ref == SelfRef::None && a.columns.iter().any(|c| self.where_cols.contains(c))
        })
    }

    /// Assignments that transform the current value and that the WHERE does
    /// not pin (`SET n = n + 1 WHERE n = 0` runs once).
    pub fn relative(&self) -> Vec<&AssignInfo> {
        self.assigns
            .iter()
            .filter(|a| {
                a.self_ref == SelfRef::Transformed
                    && !a.columns.iter().all(|c| self.pinned.contains(c))
            })
            .collect()
    }

    pub fn nondeterministic(&self) -> Vec<&AssignInfo> {
        self.assigns
            .iter()
            .filter(|a| {
                a.nondet.is_some() && !a.nondet_unless.iter().any(|c| self.not_null.contains(c))
            })
            .collect()
    }
}

/// Whose columns count as "the column itself".
struct Target<'a> {
    column: &'a str,
    /// Lower-case names that qualify the target table (its name, its alias).
    quals: &'a [String],
}

/// The writes of an UPDATE.
/// The text of a string literal (quotes included or not) that is a JSON
/// object with at least one key: `{`, then a quoted key and `:`. PostgreSQL
/// reads no array literal so (`'{"a","b"}'` has no `:` after an element),
/// so `col || '{"k": 1}'` without a cast is a jsonb merge, which sets keys
/// and converges.
pub(crate) fn json_object_text(text: &str) -> bool {
    let s = text.trim_matches(['\'', ' ', '\t', '\n', '\r']);
    let Some(rest) = s.strip_prefix('{') else {
        return false;
    };
    let Some(rest) = rest.trim_start().strip_prefix('"') else {
        return false;
    };
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return rest[i + 1..].trim_start().starts_with(':'),
            _ => {}
        }
    }
    false
}

pub fn update_writes(cx: &Context, unit: &Unit, u: &classify::Update) -> Writes {
    let t = unit.toks(cx);
    let mut quals: Vec<String> = Vec::new();
    if let Some(n) = &u.table {
        quals.push(n.object().to_lowercase());
    }
    if let Some(a) = &u.alias {
        quals.push(a.to_lowercase());
    }
    if let Some(ast::Statement::Update(up)) = unit.ast() {
        let mut w = Writes::default();
        for (i, a) in up.assignments.iter().enumerate() {
            let mut info = ast_assign(a, &quals, None);
            if info.reportable() {
                info.text = assign_text(cx, &t, &u.assignments, up.assignments.len(), i)
                    .unwrap_or_else(|| a.to_string());
            }
            w.assigns.push(info);
        }
        if let Some(sel) = &up.selection {
            where_facts(sel, &mut w);
        }
        json_key_moves(up, &mut w);
        return w;
    }
    let mut w = Writes::default();
    for (i, a) in u.assignments.iter().enumerate() {
        let mut info = tok_assign(&t, a, &quals, None);
        if info.reportable() {
            info.text =
                assign_text(cx, &t, &u.assignments, u.assignments.len(), i).unwrap_or_default();
        }
        w.assigns.push(info);
    }
    if let Some(r) = &u.where_range {
        tok_where_facts(&t, r.clone(), &mut w);
    }
    w
}

/// The writes of an upsert's update part (`ON CONFLICT DO UPDATE SET`,
/// `ON DUPLICATE KEY UPDATE`).
pub fn upsert_writes(cx: &Context, unit: &Unit, ins: &classify::Insert) -> Writes {
    let t = unit.toks(cx);
    let mut quals: Vec<String> = Vec::new();
    if let Some(n) = &ins.table {
        quals.push(n.object().to_lowercase());
    }
    if let Some(a) = &ins.alias {
        quals.push(a.to_lowercase());
    }
    // The nondeterministic values of the first inserted row, by column.
    let row = RowValues {
        columns: &ins.columns,
        nondet: first_row_nondet(&t, unit, ins),
        alias: ins.row_alias.as_deref(),
    };
    let ast_update = match unit.ast() {
        Some(ast::Statement::Insert(i)) => match &i.on {
            Some(ast::OnInsert::DuplicateKeyUpdate(a)) => Some((a, None)),
            Some(ast::OnInsert::OnConflict(oc)) => match &oc.action {
                ast::OnConflictAction::DoUpdate(du) => {
                    Some((&du.assignments, du.selection.as_ref()))
                }
                ast::OnConflictAction::DoNothing => None,
            },
            _ => None,
        },
        _ => None,
    };
    let mut w = Writes::default();
    if let Some((assigns, selection)) = ast_update {
        for (i, a) in assigns.iter().enumerate() {
            let mut info = ast_assign(a, &quals, Some(&row));
            if info.reportable() {
                info.text = assign_text(cx, &t, &ins.update, assigns.len(), i)
                    .unwrap_or_else(|| a.to_string());
            }
            w.assigns.push(info);
        }
        if let Some(sel) = selection {
            where_facts(sel, &mut w);
        }
        return w;
    }
    for (i, a) in ins.update.iter().enumerate() {
        let mut info = tok_assign(&t, a, &quals, Some(&row));
        if info.reportable() {
            info.text = assign_text(cx, &t, &ins.update, ins.update.len(), i).unwrap_or_default();
        }
        w.assigns.push(info);
    }
    if let Some(r) = &ins.update_where {
        tok_where_facts(&t, r.clone(), &mut w);
    }
    w
}

impl AssignInfo {
    /// A rule may report it, so its text is worth building.
    fn reportable(&self) -> bool {
        self.self_ref == SelfRef::Transformed || self.nondet.is_some()
    }
}

/// The text of assignment `i` as written, when the classifier saw as many
/// assignments as sqlparser (`n`).
fn assign_text(cx: &Context, t: &Toks, assigns: &[Assign], n: usize, i: usize) -> Option<String> {
    if assigns.len() != n {
        return None;
    }
    assigns
        .get(i)
        .map(|a| collapse(cx.text(t.span_of(a.range.clone()))))
}

/// The first nondeterministic value an INSERT writes into new rows (VALUES
/// lists, SELECT projections, MySQL `SET`).
pub fn inserted_nondet(cx: &Context, unit: &Unit, ins: &classify::Insert) -> Option<String> {
    if let Some(ast::Statement::Insert(i)) = unit.ast() {
        let mut exprs = Vec::new();
        if let Some(src) = &i.source {
            written_exprs(&src.body, &mut exprs);
        }
        exprs.extend(i.assignments.iter().map(|a| &a.value));
        return exprs.into_iter().find_map(ast_nondet);
    }
    let t = unit.toks(cx);
    ins.written.iter().find_map(|r| tok_nondet(&t, r.clone()))
}

/// What `excluded.col` / `VALUES(col)` / `new.col` stand for.
struct RowValues<'a> {
    columns: &'a [String],
    /// Nondeterministic call per value of the first row.
    nondet: Vec<Option<String>>,
    /// MySQL 8 row alias.
    alias: Option<&'a str>,
}

impl RowValues<'_> {
    fn nondet_of(&self, column: &str) -> Option<String> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.nondet.get(i).cloned().flatten()
    }
}

fn first_row_nondet(t: &Toks, unit: &Unit, ins: &classify::Insert) -> Vec<Option<String>> {
    if let Some(ast::Statement::Insert(i)) = unit.ast() {
        if let Some(src) = &i.source {
            if let SetExpr::Values(v) = src.body.as_ref() {
                if let Some(row) = v.rows.first() {
                    return row.iter().map(ast_nondet).collect();
                }
            }
        }
        return Vec::new();
    }
    ins.first_row
        .iter()
        .map(|r| tok_nondet(t, r.clone()))
        .collect()
}

/// What an INSERT (its AST) writes, for the INSERT fix: its target and the
/// columns it fills with values that differ on every run.
pub fn insert_target(stmt: &ast::Statement) -> crate::schema::InsertTarget {
    crate::schema::InsertTarget::of(stmt).with_random(random_columns(stmt))
}

/// The columns an INSERT (its AST) fills, in some row, with a value that
/// differs on every run (`gen_random_uuid()`, `nextval(...)`, `now()`, ...):
/// a key on such a column never conflicts on a second run. Positions are
/// those of the INSERT's column list (`INSERT INTO t (a, b) SELECT ...`);
/// without one, none is known.
pub fn random_columns(stmt: &ast::Statement) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let Some(insert) = crate::schema::insert_of(stmt) else {
        return out;
    };
    let key = |id: &ast::Ident| crate::schema::ident_key(id);
    for a in &insert.assignments {
        if let ast::AssignmentTarget::ColumnName(n) = &a.target {
            if ast_nondet(&a.value).is_some() {
                if let Some(id) = n.0.last().and_then(|p| p.as_ident()) {
                    out.insert(key(id));
                }
            }
        }
    }
    let names: Vec<String> = insert
        .columns
        .iter()
        .filter_map(|c| c.0.last().and_then(|p| p.as_ident()).map(key))
        .collect();
    if names.len() != insert.columns.len() || names.is_empty() {
        return out;
    }
    fn rows<'q>(s: &'q SetExpr, out: &mut Vec<Vec<&'q Expr>>) {
        match s {
            SetExpr::Values(v) => out.extend(v.rows.iter().map(|r| r.iter().collect())),
            SetExpr::Select(sel) => out.push(
                sel.projection
                    .iter()
                    .map_while(|item| match item {
                        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                            Some(e)
                        }
                        _ => None,
                    })
                    .collect(),
            ),
            SetExpr::Query(q) => rows(&q.body, out),
            SetExpr::SetOperation { left, right, .. } => {
                rows(left, out);
                rows(right, out);
            }
            _ => {}
        }
    }
    let mut all = Vec::new();
    if let Some(src) = &insert.source {
        rows(&src.body, &mut all);
    }
    for row in all {
        for (name, e) in names.iter().zip(row) {
            if ast_nondet(e).is_some() {
                out.insert(name.clone());
            }
        }
    }
    out
}

fn written_exprs<'q>(s: &'q SetExpr, out: &mut Vec<&'q Expr>) {
    match s {
        SetExpr::Values(v) => {
            for row in &v.rows {
                out.extend(row.iter());
            }
        }
        SetExpr::Select(sel) => {
            for item in &sel.projection {
                match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        out.push(e)
                    }
                    _ => {}
                }
            }
        }
        SetExpr::Query(q) => written_exprs(&q.body, out),
        SetExpr::SetOperation { left, right, .. } => {
            written_exprs(left, out);
            written_exprs(right, out);
        }
        _ => {}
    }
}

/// Whitespace runs become one space.
pub fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_object_literals_are_told_from_array_literals() {
        for yes in ["'{\"col\": 4}'", "{ \"a\\\"b\" :1}", "'{\"k\":{\"x\":1}}'"] {
            assert!(super::json_object_text(yes), "{yes}");
        }
        for no in ["'{}'", "'{\"a\",\"b\"}'", "'{a,b}'", "'x'", "'{\"a:b\"}'"] {
            assert!(!super::json_object_text(no), "{no}");
        }
    }
}
