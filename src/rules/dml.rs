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

// -------------------------------------------------------------------
// AST

fn ast_assign(a: &ast::Assignment, quals: &[String], row: Option<&RowValues>) -> AssignInfo {
    let targets: Vec<&ast::ObjectName> = match &a.target {
        ast::AssignmentTarget::ColumnName(n) => vec![n],
        ast::AssignmentTarget::Tuple(ns) => ns.iter().collect(),
    };
    let mut columns = Vec::new();
    let mut self_ref = SelfRef::None;
    for n in targets {
        let parts: Vec<String> =
            n.0.iter()
                .filter_map(|p| p.as_ident().map(|i| i.value.to_lowercase()))
                .collect();
        let Some(col) = parts.last().cloned() else {
            continue;
        };
        let mut q = quals.to_vec();
        if parts.len() > 1 {
            q.push(parts[parts.len() - 2].clone());
        }
        let target = Target {
            column: &col,
            quals: &q,
        };
        self_ref = self_ref.max(ast_self_ref(&a.value, &target));
        columns.push(col);
    }
    let mut nondet = ast_nondet(&a.value);
    if nondet.is_none() {
        if let Some(row) = row {
            nondet = ast_row_refs(&a.value, row)
                .into_iter()
                .find_map(|c| row.nondet_of(&c));
        }
    }
    let nondet_unless = if nondet.is_some() {
        coalesce_guards(&a.value)
    } else {
        Vec::new()
    };
    AssignInfo {
        columns,
        self_ref,
        nondet,
        text: String::new(),
        nondet_unless,
    }
}

/// For `COALESCE(a, b, now())` (also `IFNULL`, `NVL`): the columns before
/// the first argument that holds a nondeterministic value. When any of them
/// is not NULL, that argument is never reached. Empty otherwise.
fn coalesce_guards(e: &Expr) -> Vec<String> {
    let e = match e {
        Expr::Nested(x) => return coalesce_guards(x),
        Expr::Cast { expr, .. } => return coalesce_guards(expr),
        e => e,
    };
    let Expr::Function(f) = e else {
        return Vec::new();
    };
    if !matches!(fn_name(f).as_str(), "coalesce" | "ifnull" | "nvl") {
        return Vec::new();
    }
    let mut cols = Vec::new();
    for arg in function_args(f) {
        if ast_nondet(arg).is_some() {
            return cols;
        }
        match arg {
            Expr::Identifier(id) => cols.push(id.value.to_lowercase()),
            Expr::CompoundIdentifier(p) => cols.extend(p.last().map(|i| i.value.to_lowercase())),
            _ => {}
        }
    }
    Vec::new()
}

/// For each assignment of an UPDATE that writes a nondeterministic value:
/// the columns that keep it from being written when one of them is not
/// NULL (see [`AssignInfo::nondet_unless`]). For a pass that knows which
/// columns are declared NOT NULL.
pub fn update_nondet_guards(up: &ast::Update) -> Vec<Vec<String>> {
    up.assignments
        .iter()
        .map(|a| ast_assign(a, &[], None))
        .filter(|a| a.nondet.is_some())
        .map(|a| a.nondet_unless)
        .collect()
}

fn ident_eq(i: &ast::Ident, s: &str) -> bool {
    i.value.eq_ignore_ascii_case(s)
}

fn is_self(e: &Expr, t: &Target) -> bool {
    match e {
        Expr::Identifier(id) => ident_eq(id, t.column),
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            ident_eq(&parts[parts.len() - 1], t.column)
                && t.quals.iter().any(|q| ident_eq(&parts[parts.len() - 2], q))
        }
        _ => false,
    }
}

/// Functions that give the same result when applied to their own result.
fn idempotent_fn(name: &str, args: &[&Expr]) -> bool {
    match name {
        "lower" | "upper" | "lcase" | "ucase" | "trim" | "ltrim" | "rtrim" | "btrim"
        | "coalesce" | "ifnull" | "nvl" | "nullif" | "replace" | "regexp_replace" | "translate"
        | "greatest" | "least" | "max" | "min" | "abs" | "round" | "floor" | "ceil" | "ceiling"
        | "trunc" | "truncate" | "initcap" | "date_trunc" | "left" | "right" | "lpad" | "rpad"
        | "jsonb_set" | "json_set" | "json_replace" | "jsonb_strip_nulls" | "json_strip_nulls"
        | "array_remove" | "unaccent" | "normalize" | "cast" | "to_timestamp" => true,
        // date(x) normalises; date(x, '+1 day') moves.
        "date" | "datetime" | "time" | "julianday" => args.len() == 1,
        "substr" | "substring" => args.get(1).is_none_or(|a| is_one(a)),
        _ => false,
    }
}

fn is_one(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, ast::Value::Number(n, _) if n == "1"))
}

fn function_args(f: &ast::Function) -> Vec<&Expr> {
    match &f.args {
        FunctionArguments::List(l) => l
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                | FunctionArg::Named {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                }
                | FunctionArg::ExprNamed {
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn fn_name(f: &ast::Function) -> String {
    f.name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_lowercase())
        .unwrap_or_default()
}

/// A constant JSON object: `'{...}'::jsonb` (or `json`), `jsonb_build_object(...)`.
fn ast_json_object(e: &Expr) -> bool {
    match e {
        Expr::Nested(x) => ast_json_object(x),
        Expr::Cast {
            expr, data_type, ..
        } => {
            let ty = data_type.to_string().to_ascii_lowercase();
            (ty == "jsonb" || ty == "json")
                && matches!(&**expr, Expr::Value(v) if matches!(&v.value,
                    ast::Value::SingleQuotedString(s) if s.trim_start().starts_with('{')))
        }
        Expr::Function(f) => matches!(
            fn_name(f).as_str(),
            "jsonb_build_object" | "json_build_object"
        ),
        _ => false,
    }
}

/// A key (or list of keys) to delete from a JSON object: a string literal
/// that is not a number (`data - 'a'`), or a text array (`data - '{a,b}'::text[]`).
fn ast_key_literal(e: &Expr) -> bool {
    match e {
        Expr::Nested(x) => ast_key_literal(x),
        Expr::Value(v) => matches!(&v.value,
            ast::Value::SingleQuotedString(s) if s.trim().parse::<f64>().is_err()),
        Expr::Cast {
            expr, data_type, ..
        } => {
            let ty = data_type.to_string().to_ascii_lowercase();
            (ty == "text[]" || ty == "varchar[]") && ast_key_literal(expr)
        }
        _ => false,
    }
}

fn ast_self_ref(e: &Expr, t: &Target) -> SelfRef {
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
            if is_self(e, t) {
                SelfRef::Identity
            } else {
                SelfRef::None
            }
        }
        Expr::Nested(x)
        | Expr::Cast { expr: x, .. }
        | Expr::Collate { expr: x, .. }
        | Expr::Named { expr: x, .. }
        | Expr::Trim { expr: x, .. }
        | Expr::Ceil { expr: x, .. }
        | Expr::Floor { expr: x, .. } => ast_self_ref(x, t),
        Expr::BinaryOp { left, op, right } => {
            // JSON edits that converge: merging a constant object (`data ||
            // '{"a": 1}'::jsonb`) or deleting keys (`data - 'a'`, `data #-
            // '{a,b}'`) give the same value when applied again.
            if ast_self_ref(left, t) == SelfRef::Identity
                && ast_self_ref(right, t) == SelfRef::None
                && match op {
                    BinaryOperator::StringConcat => ast_json_object(right),
                    BinaryOperator::Minus => ast_key_literal(right),
                    BinaryOperator::HashMinus => true,
                    _ => false,
                }
            {
                return SelfRef::Identity;
            }
            let r = ast_self_ref(left, t).max(ast_self_ref(right, t));
            if r == SelfRef::None {
                SelfRef::None
            } else if matches!(
                op,
                BinaryOperator::And
                    | BinaryOperator::Or
                    | BinaryOperator::BitwiseAnd
                    | BinaryOperator::BitwiseOr
            ) {
                r
            } else {
                SelfRef::Transformed
            }
        }
        Expr::UnaryOp { op, expr } => match ast_self_ref(expr, t) {
            SelfRef::None => SelfRef::None,
            r if *op == UnaryOperator::Plus => r,
            _ => SelfRef::Transformed,
        },
        Expr::Function(f) => {
            let name = fn_name(f);
            if name == "values" {
                // MySQL VALUES(col): the value the INSERT tried to write.
                return SelfRef::None;
            }
            let args = function_args(f);
            let r = args
                .iter()
                .map(|a| ast_self_ref(a, t))
                .max()
                .unwrap_or(SelfRef::None);
            if r == SelfRef::None || idempotent_fn(&name, &args) {
                r
            } else {
                SelfRef::Transformed
            }
        }
        Expr::Case {
            conditions,
            else_result,
            ..
        } => conditions
            .iter()
            .map(|c| &c.result)
            .chain(else_result.as_deref())
            .map(|x| ast_self_ref(x, t))
            .max()
            .unwrap_or(SelfRef::None),
        Expr::Substring {
            expr,
            substring_from,
            ..
        } => match ast_self_ref(expr, t) {
            SelfRef::None => SelfRef::None,
            r if substring_from.as_deref().is_none_or(is_one) => r,
            _ => SelfRef::Transformed,
        },
        Expr::Value(_)
        | Expr::TypedString(_)
        | Expr::Interval(_)
        | Expr::Subquery(_)
        | Expr::Exists { .. } => SelfRef::None,
        other => {
            let mut found = false;
            for_each_child(other, &mut |c| {
                if !found && ast_self_ref(c, t) != SelfRef::None {
                    found = true;
                }
            });
            if found {
                SelfRef::Transformed
            } else {
                SelfRef::None
            }
        }
    }
}

/// Calls `f` on the direct sub-expressions of `e` (not into subqueries).
fn for_each_child<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    match e {
        Expr::IsFalse(x)
        | Expr::IsNotFalse(x)
        | Expr::IsTrue(x)
        | Expr::IsNotTrue(x)
        | Expr::IsNull(x)
        | Expr::IsNotNull(x)
        | Expr::IsUnknown(x)
        | Expr::IsNotUnknown(x)
        | Expr::Nested(x)
        | Expr::Cast { expr: x, .. }
        | Expr::Collate { expr: x, .. }
        | Expr::Named { expr: x, .. }
        | Expr::Ceil { expr: x, .. }
        | Expr::Floor { expr: x, .. }
        | Expr::Extract { expr: x, .. }
        | Expr::UnaryOp { expr: x, .. }
        | Expr::Prefixed { value: x, .. }
        | Expr::OuterJoin(x)
        | Expr::Prior(x)
        | Expr::JsonAccess { value: x, .. }
        | Expr::CompoundFieldAccess { root: x, .. }
        | Expr::IsJson { expr: x, .. }
        | Expr::IsNormalized { expr: x, .. }
        | Expr::Convert { expr: x, .. } => f(x),
        Expr::IsDistinctFrom(a, b)
        | Expr::IsNotDistinctFrom(a, b)
        | Expr::BinaryOp {
            left: a, right: b, ..
        }
        | Expr::AnyOp {
            left: a, right: b, ..
        }
        | Expr::AllOp {
            left: a, right: b, ..
        }
        | Expr::AtTimeZone {
            timestamp: a,
            time_zone: b,
        }
        | Expr::Position { expr: a, r#in: b }
        | Expr::Like {
            expr: a,
            pattern: b,
            ..
        }
        | Expr::ILike {
            expr: a,
            pattern: b,
            ..
        }
        | Expr::SimilarTo {
            expr: a,
            pattern: b,
            ..
        }
        | Expr::RLike {
            expr: a,
            pattern: b,
            ..
        } => {
            f(a);
            f(b);
        }
        Expr::In { expr, target, .. } => {
            f(expr);
            if let ast::InTarget::List(l) = target {
                l.iter().for_each(&mut *f);
            }
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            f(expr);
            f(low);
            f(high);
        }
        Expr::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            f(expr);
            if let Some(x) = substring_from {
                f(x);
            }
            if let Some(x) = substring_for {
                f(x);
            }
        }
        Expr::Trim {
            expr, trim_what, ..
        } => {
            f(expr);
            if let Some(x) = trim_what {
                f(x);
            }
        }
        Expr::Overlay {
            expr,
            overlay_what,
            overlay_from,
            overlay_for,
        } => {
            f(expr);
            f(overlay_what);
            f(overlay_from);
            if let Some(x) = overlay_for {
                f(x);
            }
        }
        Expr::Function(func) => function_args(func).into_iter().for_each(f),
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            if let Some(o) = operand {
                f(o);
            }
            for c in conditions {
                f(&c.condition);
                f(&c.result);
            }
            if let Some(x) = else_result {
                f(x);
            }
        }
        Expr::Tuple(v) => v.iter().for_each(f),
        Expr::Array(a) => a.elem.iter().for_each(f),
        Expr::Interval(i) => f(&i.value),
        _ => {}
    }
}

/// Calls `f` on `e` and every expression below it (not into subqueries).
fn walk<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    f(e);
    for_each_child(e, &mut |c| walk(c, f));
}

const NONDET_FNS: &[&str] = &[
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "sysdate",
    "sysdatetime",
    "getdate",
    "getutcdate",
    "utc_timestamp",
    "utc_date",
    "utc_time",
    "curdate",
    "curtime",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "random",
    "rand",
    "randomblob",
    "random_bytes",
    "gen_random_bytes",
    "gen_random_uuid",
    "uuid",
    "uuid_short",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuid_generate_v7",
    "uuidv4",
    "uuidv7",
    "newid",
    "newsequentialid",
    "nextval",
];

/// Keywords that read the clock without parentheses.
const NONDET_KEYWORDS: &[&str] = &[
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
];

/// SQLite's date functions read the clock with `'now'` (or no argument).
const SQLITE_CLOCK_FNS: &[&str] = &[
    "datetime",
    "date",
    "time",
    "julianday",
    "strftime",
    "unixepoch",
];

fn is_nondet_call(name: &str, arg_count: usize, has_now_arg: bool) -> bool {
    if NONDET_FNS.contains(&name) {
        return true;
    }
    if name == "unix_timestamp" {
        return arg_count == 0;
    }
    SQLITE_CLOCK_FNS.contains(&name) && (has_now_arg || (arg_count == 0 && name != "strftime"))
}

fn is_now_literal(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, ast::Value::SingleQuotedString(s) if s.eq_ignore_ascii_case("now")))
}

/// The first nondeterministic call in `e`, as text.
fn ast_nondet(e: &Expr) -> Option<String> {
    let mut found = None;
    walk(e, &mut |x| {
        if found.is_some() {
            return;
        }
        match x {
            Expr::Function(f) => {
                let args = function_args(f);
                let name = fn_name(f);
                let no_parens = matches!(f.args, FunctionArguments::None);
                let has_now = args.iter().any(|a| is_now_literal(a));
                if (no_parens && NONDET_KEYWORDS.contains(&name.as_str()))
                    || is_nondet_call(&name, args.len(), has_now)
                {
                    found = Some(f.to_string());
                }
            }
            Expr::Identifier(id)
                if id.quote_style.is_none()
                    && NONDET_KEYWORDS
                        .iter()
                        .any(|k| id.value.eq_ignore_ascii_case(k)) =>
            {
                found = Some(id.value.clone());
            }
            _ => {}
        }
    });
    found
}

/// Columns of the inserted row that `e` reads (`excluded.col`, MySQL
/// `VALUES(col)`, `alias.col`).
fn ast_row_refs(e: &Expr, row: &RowValues) -> Vec<String> {
    let mut out = Vec::new();
    walk(e, &mut |x| match x {
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            let q = &parts[parts.len() - 2];
            if ident_eq(q, "excluded") || row.alias.is_some_and(|a| ident_eq(q, a)) {
                out.push(parts[parts.len() - 1].value.to_lowercase());
            }
        }
        Expr::Function(f) if fn_name(f) == "values" => {
            for a in function_args(f) {
                if let Expr::Identifier(id) = a {
                    out.push(id.value.to_lowercase());
                }
            }
        }
        _ => {}
    });
    out
}

fn where_facts(sel: &Expr, w: &mut Writes) {
    walk(sel, &mut |x| match x {
        Expr::Identifier(id) => w.where_cols.push(id.value.to_lowercase()),
        Expr::CompoundIdentifier(parts) => {
            if let Some(last) = parts.last() {
                w.where_cols.push(last.value.to_lowercase());
            }
        }
        _ => {}
    });
    pins(sel, &mut w.pinned);
    not_null(sel, &mut w.not_null);
}

/// Columns that top-level conjuncts only match when not NULL.
fn not_null(e: &Expr, out: &mut Vec<String>) {
    let col = |x: &Expr| -> Option<String> {
        match x {
            Expr::Identifier(id) => Some(id.value.to_lowercase()),
            Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.to_lowercase()),
            _ => None,
        }
    };
    match e {
        Expr::Nested(x) => not_null(x, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            not_null(left, out);
            not_null(right, out);
        }
        Expr::BinaryOp {
            left,
            op:
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq,
            right,
        } => {
            out.extend(col(left));
            out.extend(col(right));
        }
        Expr::IsNotNull(x) => out.extend(col(x)),
        _ => {}
    }
}

/// Columns pinned by top-level conjuncts `col = literal` / `col IS NULL`.
fn pins(e: &Expr, out: &mut Vec<String>) {
    let col = |x: &Expr| -> Option<String> {
        match x {
            Expr::Identifier(id) => Some(id.value.to_lowercase()),
            Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.to_lowercase()),
            _ => None,
        }
    };
    match e {
        Expr::Nested(x) => pins(x, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            pins(left, out);
            pins(right, out);
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => {
            let lit = |x: &Expr| matches!(x, Expr::Value(_) | Expr::TypedString(_));
            if let (Some(c), true) = (col(left), lit(right)) {
                out.push(c);
            } else if let (Some(c), true) = (col(right), lit(left)) {
                out.push(c);
            }
        }
        Expr::IsNull(x) => out.extend(col(x)),
        _ => {}
    }
}

// -------------------------------------------------------------------
// Tokens

fn tok_assign(t: &Toks, a: &Assign, quals: &[String], row: Option<&RowValues>) -> AssignInfo {
    let mut q = quals.to_vec();
    if let Some(x) = &a.qualifier {
        q.push(x.to_lowercase());
    }
    let self_ref = a
        .columns
        .iter()
        .map(|c| {
            let target = Target {
                column: c,
                quals: &q,
            };
            tok_self_ref(t, a.value.clone(), &target)
        })
        .max()
        .unwrap_or(SelfRef::None);
    let mut nondet = tok_nondet(t, a.value.clone());
    if nondet.is_none() {
        if let Some(row) = row {
            nondet = tok_row_refs(t, a.value.clone(), row)
                .into_iter()
                .find_map(|c| row.nondet_of(&c));
        }
    }
    AssignInfo {
        columns: a.columns.clone(),
        self_ref,
        nondet,
        text: String::new(),
        nondet_unless: Vec::new(),
    }
}

/// Token `k` refers to the target column.
fn tok_is_self(t: &Toks, k: usize, target: &Target) -> bool {
    let Some(id) = t.ident(k) else { return false };
    if !id.eq_ignore_ascii_case(target.column) || t.punct(k + 1, "(") || t.punct(k + 1, ".") {
        return false;
    }
    if k >= 2 && t.punct(k - 1, ".") {
        return t
            .ident(k - 2)
            .is_some_and(|q| target.quals.iter().any(|x| q.eq_ignore_ascii_case(x)));
    }
    // MySQL VALUES(col) is the inserted value, not the current one.
    !(k >= 2 && t.punct(k - 1, "(") && t.kw(k - 2, "VALUES"))
}

fn tok_self_ref(t: &Toks, r: Range<usize>, target: &Target) -> SelfRef {
    let r = r.start..r.end.min(t.len());
    if !r.clone().any(|k| tok_is_self(t, k, target)) {
        return SelfRef::None;
    }
    let mut r = r;
    // Outer parentheses.
    while r.end > r.start + 1 && t.punct(r.start, "(") && t.close_paren(r.start) == r.end - 1 {
        r = r.start + 1..r.end - 1;
    }
    let len = r.end - r.start;
    if (len == 1 && tok_is_self(t, r.start, target))
        || (len == 3 && t.punct(r.start + 1, ".") && tok_is_self(t, r.start + 2, target))
    {
        return SelfRef::Identity;
    }
    // `self || <JSON object>`, `self - '<key>'`, `self #- '{path}'`: JSON
    // edits that converge (see `ast_self_ref`).
    let self_len = if tok_is_self(t, r.start, target) {
        Some(1)
    } else if t.punct(r.start + 1, ".") && tok_is_self(t, r.start + 2, target) {
        Some(3)
    } else {
        None
    };
    if let Some(n) = self_len {
        let op = r.start + n;
        let rest = op + 1..r.end;
        if !rest.is_empty() && !rest.clone().any(|k| tok_is_self(t, k, target)) {
            let lit = |k: usize| t.kind(k) == Some(TokenKind::String);
            let cast_to = |k: usize, types: &[&str]| {
                t.punct(k, "::")
                    && t.word(k + 1)
                        .is_some_and(|w| types.iter().any(|ty| w.eq_ignore_ascii_case(ty)))
            };
            let converges = if t.punct(op, "||") {
                (lit(rest.start)
                    && t.text(rest.start)
                        .trim_start_matches(['\'', ' '])
                        .starts_with('{')
                    && cast_to(rest.start + 1, &["jsonb", "json"])
                    && rest.len() == 3)
                    || t.word(rest.start).is_some_and(|w| {
                        w.eq_ignore_ascii_case("jsonb_build_object")
                            || w.eq_ignore_ascii_case("json_build_object")
                    }) && t.punct(rest.start + 1, "(")
                        && t.close_paren(rest.start + 1) == rest.end - 1
            } else if t.punct(op, "-") {
                lit(rest.start)
                    && t.text(rest.start)
                        .trim_matches(['\'', ' '])
                        .parse::<f64>()
                        .is_err()
                    && (rest.len() == 1
                        || (cast_to(rest.start + 1, &["text"])
                            && (rest.start + 3..rest.end)
                                .all(|k| t.punct(k, "[") || t.punct(k, "]") || t.punct(k, "[]"))))
            } else {
                t.punct(op, "#-") || (t.punct(op, "#") && t.punct(op + 1, "-"))
            };
            if converges {
                return SelfRef::Identity;
            }
        }
    }
    // `x OR y`, `x AND y` at the top: idempotent combinations.
    let mut bool_split: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    for k in r.clone() {
        if t.punct(k, "(") {
            depth += 1;
        } else if t.punct(k, ")") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && t.kw_any(k, &["AND", "OR"]) {
            bool_split.push(k);
        }
    }
    if !bool_split.is_empty() && !(r.clone()).any(|k| t.kw(k, "CASE")) {
        let mut parts = Vec::new();
        let mut s = r.start;
        for k in bool_split {
            parts.push(s..k);
            s = k + 1;
        }
        parts.push(s..r.end);
        return parts
            .into_iter()
            .map(|p| tok_self_ref(t, p, target))
            .max()
            .unwrap_or(SelfRef::None);
    }
    // `expr::type`.
    if let Some(k) = t.find_depth0(r.start, r.end, |k| t.punct(k, "::")) {
        if (k + 1..r.end).all(|j| {
            t.kind(j) == Some(TokenKind::Word)
                || t.punct(j, "(")
                || t.punct(j, ")")
                || t.kind(j) == Some(TokenKind::Number)
                || t.punct(j, ",")
        }) {
            return tok_self_ref(t, r.start..k, target);
        }
    }
    // A single function call.
    if let Some(name) = t.word(r.start) {
        if t.punct(r.start + 1, "(") && t.close_paren(r.start + 1) == r.end - 1 {
            let name = name.to_ascii_lowercase();
            let args = t.split_commas(r.start + 2, r.end - 1);
            if name == "cast" {
                let end = t
                    .find_depth0(r.start + 2, r.end - 1, |k| t.kw(k, "AS"))
                    .unwrap_or(r.end - 1);
                return tok_self_ref(t, r.start + 2..end, target);
            }
            let res = args
                .iter()
                .map(|a| tok_self_ref(t, a.clone(), target))
                .max()
                .unwrap_or(SelfRef::None);
            let idempotent = match name.as_str() {
                "substr" | "substring" => args
                    .get(1)
                    .is_none_or(|a| a.len() == 1 && t.text(a.start) == "1"),
                "date" | "datetime" | "time" | "julianday" => args.len() == 1,
                n => idempotent_fn(n, &[]),
            };
            return if res == SelfRef::None || idempotent {
                res
            } else {
                SelfRef::Transformed
            };
        }
    }
    // CASE ... END: the results decide.
    if t.kw(r.start, "CASE") && t.kw(r.end - 1, "END") {
        return case_results(t, r)
            .into_iter()
            .map(|p| tok_self_ref(t, p, target))
            .max()
            .unwrap_or(SelfRef::None);
    }
    SelfRef::Transformed
}

/// The result ranges (after THEN and ELSE) of `CASE ... END` spanning `r`.
fn case_results(t: &Toks, r: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut depth = 0usize; // nested CASE and parentheses
    let mut start: Option<usize> = None;
    for k in r.start + 1..r.end {
        if t.kw(k, "CASE") || t.punct(k, "(") {
            depth += 1;
            continue;
        }
        if (t.kw(k, "END") || t.punct(k, ")")) && depth > 0 {
            depth -= 1;
            continue;
        }
        if depth > 0 {
            continue;
        }
        if t.kw_any(k, &["WHEN", "ELSE", "END"]) {
            if let Some(s) = start.take() {
                out.push(s..k);
            }
        }
        if t.kw_any(k, &["THEN", "ELSE"]) {
            start = Some(k + 1);
        }
    }
    out
}

/// The first nondeterministic call in token range `r`, as written.
pub fn tok_nondet(t: &Toks, r: Range<usize>) -> Option<String> {
    let end = r.end.min(t.len());
    for k in r.start..end {
        let Some(w) = t.word(k) else { continue };
        if k > 0 && t.punct(k - 1, ".") {
            continue;
        }
        let lw = w.to_ascii_lowercase();
        if t.punct(k + 1, "(") {
            let close = t.close_paren(k + 1);
            let args = t.split_commas(k + 2, close);
            let has_now = args.iter().any(|a| {
                a.len() == 1
                    && t.kind(a.start) == Some(TokenKind::String)
                    && t.text(a.start)
                        .trim_matches('\'')
                        .eq_ignore_ascii_case("now")
            });
            if is_nondet_call(&lw, args.len(), has_now) {
                return Some(collapse(t.text.get(t.span_of(k..close + 1)).unwrap_or(w)));
            }
        } else if NONDET_KEYWORDS.contains(&lw.as_str()) {
            return Some(w.to_string());
        }
    }
    None
}

fn tok_row_refs(t: &Toks, r: Range<usize>, row: &RowValues) -> Vec<String> {
    let mut out = Vec::new();
    let end = r.end.min(t.len());
    for k in r.start..end {
        if t.punct(k, ".") && k > r.start {
            let is_row = t.kw(k - 1, "EXCLUDED")
                || row
                    .alias
                    .is_some_and(|a| t.ident(k - 1).is_some_and(|q| q.eq_ignore_ascii_case(a)));
            if is_row {
                if let Some(c) = t.ident(k + 1) {
                    out.push(c.to_lowercase());
                }
            }
        } else if t.kw(k, "VALUES") && t.punct(k + 1, "(") {
            if let Some(c) = t.ident(k + 2) {
                out.push(c.to_lowercase());
            }
        }
    }
    out
}

fn tok_where_facts(t: &Toks, r: Range<usize>, w: &mut Writes) {
    let end = r.end.min(t.len());
    for k in r.start..end {
        if t.is_ident(k) && !t.punct(k + 1, "(") && !t.punct(k + 1, ".") {
            if let Some(id) = t.ident(k) {
                w.where_cols.push(id.to_lowercase());
            }
        }
    }
    // `col = literal` / `col IS NULL` at depth 0, outside OR.
    if (r.start..end).any(|k| t.kw(k, "OR")) {
        return;
    }
    let mut depth = 0usize;
    for k in r.start..end {
        if t.punct(k, "(") {
            depth += 1;
        } else if t.punct(k, ")") {
            depth = depth.saturating_sub(1);
        }
        if depth != 0 || !t.is_ident(k) || t.punct(k + 1, ".") {
            continue;
        }
        let literal = |j: usize| {
            matches!(t.kind(j), Some(TokenKind::String) | Some(TokenKind::Number))
                || t.kw_any(j, &["TRUE", "FALSE"])
        };
        if t.kws(k + 1, &["IS", "NOT", "NULL"]) {
            if let Some(id) = t.ident(k) {
                w.not_null.push(id.to_lowercase());
            }
        }
        let pinned = (t.punct(k + 1, "=") && literal(k + 2)) || t.kws(k + 1, &["IS", "NULL"]);
        if pinned {
            if let Some(id) = t.ident(k) {
                w.pinned.push(id.to_lowercase());
            }
        }
    }
}
