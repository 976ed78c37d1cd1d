//! What INSERT and UPDATE statements write, read from the classifier's
//! tokens (statements sqlparser rejects, statements inside DO blocks).

use super::*;

pub(super) fn tok_assign(
    t: &Toks,
    a: &Assign,
    quals: &[String],
    row: Option<&RowValues>,
) -> AssignInfo {
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
pub(super) fn tok_is_self(t: &Toks, k: usize, target: &Target) -> bool {
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

pub(super) fn tok_self_ref(t: &Toks, r: Range<usize>, target: &Target) -> SelfRef {
    let r = r.start..r.end.min(t.len());
    if !r.clone().any(|k| tok_is_self(t, k, target)) {
        return SelfRef::None;
    }
    let mut r = r;
    // Outer parentheses.
    while r.end > r.start + 1 && t.punct(r.start, "(") && t.close_paren(r.start) == r.end - 1 {
        r = r.start + 1..r.end - 1;
    }
    // A subquery: its names are its own tables' first (`SET end_time =
    // (SELECT max(end_time) FROM task ...)`), as `ast_self_ref` reads it.
    if t.kw_any(r.start, &["SELECT", "WITH"]) {
        return SelfRef::None;
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
                    // An object literal without a cast: a jsonb merge
                    // (no array literal reads so).
                    || (lit(rest.start)
                        && rest.len() == 1
                        && super::json_object_text(t.text(rest.start)))
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
pub(super) fn case_results(t: &Toks, r: Range<usize>) -> Vec<Range<usize>> {
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

pub(super) fn tok_row_refs(t: &Toks, r: Range<usize>, row: &RowValues) -> Vec<String> {
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

pub(super) fn tok_where_facts(t: &Toks, r: Range<usize>, w: &mut Writes) {
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
