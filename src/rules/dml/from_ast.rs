//! What INSERT and UPDATE statements write, read from the sqlparser AST.

use super::*;

pub(super) fn ast_assign(
    a: &ast::Assignment,
    quals: &[String],
    row: Option<&RowValues>,
) -> AssignInfo {
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
pub(super) fn coalesce_guards(e: &Expr) -> Vec<String> {
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

pub(super) fn ident_eq(i: &ast::Ident, s: &str) -> bool {
    i.value.eq_ignore_ascii_case(s)
}

pub(super) fn is_self(e: &Expr, t: &Target) -> bool {
    match e {
        Expr::Identifier(id) => ident_eq(id, t.column),
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            ident_eq(&parts[parts.len() - 1], t.column)
                && t.quals.iter().any(|q| ident_eq(&parts[parts.len() - 2], q))
        }
        _ => false,
    }
}

/// A `CASE` on the column's value (`CASE WHEN x = 'p' THEN 'q' WHEN x = 'q'
/// THEN 'p' ELSE x END`, or `CASE x WHEN ...`) that maps a value to one
/// another branch maps elsewhere: a second run moves the rows again (a swap
/// swaps back). Only literal tests and results are compared.
fn case_moves_again(operand: Option<&Expr>, conditions: &[ast::CaseWhen], t: &Target) -> bool {
    let lit = |e: &Expr| match e {
        Expr::Value(v) => Some(v.value.to_string()),
        _ => None,
    };
    // (tested value, result) of each branch that tests the column.
    let mut map: Vec<(String, String)> = Vec::new();
    for c in conditions {
        let tested = match operand {
            Some(o) if is_self(o, t) => lit(&c.condition),
            Some(_) => return false,
            None => match &c.condition {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } if is_self(left, t) => lit(right),
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                } if is_self(right, t) => lit(left),
                _ => None,
            },
        };
        if let (Some(v), Some(r)) = (tested, lit(&c.result)) {
            map.push((v, r));
        }
    }
    map.iter().any(|(v, r)| {
        r != v
            && map
                .iter()
                .find(|(w, _)| w == r)
                .is_some_and(|(_, next)| next != r)
    })
}

/// Functions that give the same result when applied to their own result.
pub(super) fn idempotent_fn(name: &str, args: &[&Expr]) -> bool {
    // `replace(x, 'a', 'aa')` finds its own result again and grows.
    if name == "replace" {
        let text = |e: Option<&&Expr>| match e {
            Some(Expr::Value(v)) => match &v.value {
                ast::Value::SingleQuotedString(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        };
        return match (text(args.get(1)), text(args.get(2))) {
            (Some(from), Some(to)) => from.is_empty() || !to.contains(&from),
            _ => true,
        };
    }
    match name {
        "lower" | "upper" | "lcase" | "ucase" | "trim" | "ltrim" | "rtrim" | "btrim"
        | "coalesce" | "ifnull" | "nvl" | "nullif" | "replace" | "regexp_replace" | "translate"
        | "greatest" | "least" | "max" | "min" | "abs" | "round" | "floor" | "ceil" | "ceiling"
        | "trunc" | "truncate" | "initcap" | "date_trunc" | "left" | "right" | "lpad" | "rpad"
        | "jsonb_set" | "json_set" | "json_replace" | "jsonb_strip_nulls" | "json_strip_nulls"
        // Removing paths, or merging a patch (RFC 7396: SQLite's
        // json_patch, MySQL's JSON_MERGE_PATCH; not JSON_MERGE_PRESERVE,
        // which appends to arrays), gives the same on its own result.
        | "json_remove" | "json_patch" | "json_merge_patch"
        | "array_remove" | "unaccent" | "normalize" | "cast" | "to_timestamp" => true,
        // date(x) normalises; date(x, '+1 day') moves.
        "date" | "datetime" | "time" | "julianday" => args.len() == 1,
        "substr" | "substring" => args.get(1).is_none_or(|a| is_one(a)),
        _ => false,
    }
}

pub(super) fn is_one(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, ast::Value::Number(n, _) if n == "1"))
}

pub(super) fn function_args(f: &ast::Function) -> Vec<&Expr> {
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

pub(super) fn fn_name(f: &ast::Function) -> String {
    f.name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_lowercase())
        .unwrap_or_default()
}

/// A constant JSON object: `'{...}'::jsonb` (or `json`), `jsonb_build_object(...)`.
pub(super) fn ast_json_object(e: &Expr) -> bool {
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
        // An object literal without a cast (see `json_object_text`).
        Expr::Value(v) => matches!(&v.value,
            ast::Value::SingleQuotedString(s) if super::json_object_text(s)),
        _ => false,
    }
}

/// A key (or list of keys) to delete from a JSON object: a string literal
/// that is not a number (`data - 'a'`), or a text array (`data - '{a,b}'::text[]`).
pub(super) fn ast_key_literal(e: &Expr) -> bool {
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

pub(super) fn ast_self_ref(e: &Expr, t: &Target) -> SelfRef {
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
            operand,
            conditions,
            else_result,
            ..
        } => {
            if case_moves_again(operand.as_deref(), conditions, t) {
                return SelfRef::Transformed;
            }
            conditions
                .iter()
                .map(|c| &c.result)
                .chain(else_result.as_deref())
                .map(|x| ast_self_ref(x, t))
                .max()
                .unwrap_or(SelfRef::None)
        }
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
pub(super) fn for_each_child<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
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
pub(super) fn walk<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    f(e);
    for_each_child(e, &mut |c| walk(c, f));
}

pub(super) const NONDET_FNS: &[&str] = &[
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
pub(super) const NONDET_KEYWORDS: &[&str] = &[
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
];

/// SQLite's date functions read the clock with `'now'` (or no argument).
pub(super) const SQLITE_CLOCK_FNS: &[&str] = &[
    "datetime",
    "date",
    "time",
    "julianday",
    "strftime",
    "unixepoch",
];

pub(super) fn is_nondet_call(name: &str, arg_count: usize, has_now_arg: bool) -> bool {
    if NONDET_FNS.contains(&name) {
        return true;
    }
    if name == "unix_timestamp" {
        return arg_count == 0;
    }
    SQLITE_CLOCK_FNS.contains(&name) && (has_now_arg || (arg_count == 0 && name != "strftime"))
}

pub(super) fn is_now_literal(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, ast::Value::SingleQuotedString(s) if s.eq_ignore_ascii_case("now")))
}

/// The first nondeterministic call in `e`, as text.
pub(super) fn ast_nondet(e: &Expr) -> Option<String> {
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
pub(super) fn ast_row_refs(e: &Expr, row: &RowValues) -> Vec<String> {
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

pub(super) fn where_facts(sel: &Expr, w: &mut Writes) {
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

/// JSON keys moved out of a column: `SET data = jsonb_set(data - 'old',
/// '{new}', data -> 'old') WHERE data ? 'old'` (or `data -> 'old' IS NOT
/// NULL`) takes `old` out of every row it changes, so a second run matches
/// none: the column counts as pinned by the WHERE.
pub(super) fn json_key_moves(up: &ast::Update, w: &mut Writes) {
    let Some(sel) = &up.selection else { return };
    // The column, also parenthesized or cast (`limits::jsonb`).
    fn col(x: &Expr) -> Option<String> {
        match x {
            Expr::Nested(e) => col(e),
            Expr::Cast { expr, .. } => col(expr),
            Expr::Identifier(id) => Some(id.value.to_lowercase()),
            Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.to_lowercase()),
            _ => None,
        }
    }
    // A key: a string literal, also parenthesized.
    fn key(x: &Expr) -> Option<String> {
        match x {
            Expr::Nested(e) => key(e),
            Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        }
    }
    // (column, key) the top-level conjuncts of the WHERE require present.
    fn tested(e: &Expr, out: &mut Vec<(String, String)>) {
        let (left, right) = match e {
            Expr::Nested(x) => return tested(x, out),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                tested(left, out);
                return tested(right, out);
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Question,
                right,
            } => (left, right),
            Expr::IsNotNull(x) => match x.as_ref() {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Arrow | BinaryOperator::LongArrow,
                    right,
                } => (left, right),
                _ => return,
            },
            _ => return,
        };
        if let (Some(c), Some(k)) = (col(left), key(right)) {
            out.push((c, k));
        }
    }
    let mut required = Vec::new();
    tested(sel, &mut required);
    if required.is_empty() {
        return;
    }
    for a in &up.assignments {
        let ast::AssignmentTarget::ColumnName(n) = &a.target else {
            continue;
        };
        let Some(target) =
            n.0.last()
                .and_then(|p| p.as_ident())
                .map(|i| i.value.to_lowercase())
        else {
            continue;
        };
        // Keys the new value takes out of the column (`col - 'k'`).
        let mut removed: Vec<String> = Vec::new();
        walk(&a.value, &mut |x| {
            if let Expr::BinaryOp {
                left,
                op: BinaryOperator::Minus,
                right,
            } = x
            {
                if col(left).as_deref() == Some(target.as_str()) {
                    if let Some(k) = key(right) {
                        removed.push(k);
                    }
                }
            }
        });
        if required
            .iter()
            .any(|(c, k)| *c == target && removed.contains(k))
        {
            w.pinned.push(target);
        }
    }
}

/// Columns that top-level conjuncts only match when not NULL.
pub(super) fn not_null(e: &Expr, out: &mut Vec<String>) {
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
pub(super) fn pins(e: &Expr, out: &mut Vec<String>) {
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
        // A test the column fails (`NOT JSON_VALID(col)`, `col NOT LIKE
        // 'https://%'`, `col !~ '^v2:'`, `is_migrated(col) IS FALSE`): the
        // WHERE picks the rows whose value the UPDATE exists to convert, and
        // the new value passes the test, so a second run matches none of
        // them.
        Expr::UnaryOp {
            op: ast::UnaryOperator::Not,
            expr,
        }
        | Expr::IsFalse(expr)
        | Expr::IsNotTrue(expr) => tested_columns(expr, out),
        Expr::Like {
            negated: true,
            expr,
            ..
        }
        | Expr::ILike {
            negated: true,
            expr,
            ..
        }
        | Expr::SimilarTo {
            negated: true,
            expr,
            ..
        }
        | Expr::BinaryOp {
            left: expr,
            op: BinaryOperator::PGRegexNotMatch | BinaryOperator::PGRegexNotIMatch,
            ..
        } => out.extend(col(expr)),
        _ => {}
    }
}

/// The columns a test reads, when it is a test of a value's form: a bare
/// boolean column, a function call (`JSON_VALID(col)`), a pattern match
/// (`col LIKE ...`, `col ~ ...`, `col SIMILAR TO ...`), `col IS JSON`.
/// Comparisons (`n < 10`) are not: `SET n = n + 1 WHERE NOT n >= 10` runs
/// again.
fn tested_columns(e: &Expr, out: &mut Vec<String>) {
    let test = match e {
        Expr::Nested(x) => return tested_columns(x, out),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
        Expr::Function(_)
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::SimilarTo { .. }
        | Expr::RLike { .. } => true,
        Expr::BinaryOp { op, .. } => matches!(
            op,
            BinaryOperator::PGRegexMatch | BinaryOperator::PGRegexIMatch
        ),
        _ => false,
    };
    if !test {
        return;
    }
    walk(e, &mut |x| match x {
        Expr::Identifier(id) => out.push(id.value.to_lowercase()),
        Expr::CompoundIdentifier(p) => {
            if let Some(last) = p.last() {
                out.push(last.value.to_lowercase());
            }
        }
        _ => {}
    });
}
