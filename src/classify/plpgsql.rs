//! DO blocks and PL/pgSQL bodies: the statements inside, and whether an
//! exception handler catches what a second run raises.

use super::*;

impl<'a> Toks<'a> {
    // ---------------------------------------------------------------
    // DO blocks

    /// `DO [LANGUAGE l] $$ body $$ [LANGUAGE l]` (Postgres). MySQL's `DO expr`
    /// evaluates expressions and is not a block.
    pub(super) fn do_block(&self, i: usize) -> Kind {
        let mut language = None;
        let mut body_tok = None;
        let mut j = i + 1;
        while j < self.len() {
            if self.kw(j, "LANGUAGE") {
                language = self
                    .ident(j + 1)
                    .or_else(|| Some(unquote(self.text(j + 1))));
                j += 2;
                continue;
            }
            match self.kind(j) {
                Some(TokenKind::DollarString) | Some(TokenKind::String) if body_tok.is_none() => {
                    body_tok = Some(j)
                }
                _ => {}
            }
            j += 1;
        }
        let Some(b) = body_tok else {
            return if self.dialect == Dialect::Mysql {
                Kind::Other
            } else {
                Kind::Unknown
            };
        };
        let span = self.span(b);
        let raw = self.text(b);
        let body = match self.kind(b) {
            Some(TokenKind::DollarString) => {
                let tag_len = raw[1..].find('$').map_or(raw.len(), |p| p + 2);
                // Only a closed body (an unterminated one may end anywhere,
                // even inside a character).
                if raw.len() < 2 * tag_len || !raw.ends_with(&raw[..tag_len]) {
                    span.start..span.start
                } else {
                    span.start + tag_len..span.end - tag_len
                }
            }
            // A '...' body: only when closed and no quote is doubled inside,
            // so that offsets in the body are offsets in the file.
            _ if raw.len() >= 2
                && raw.starts_with('\'')
                && raw.ends_with('\'')
                && !raw[1..raw.len() - 1].contains('\'') =>
            {
                span.start + 1..span.end - 1
            }
            _ => span.start..span.start,
        };
        let plpgsql = language.as_deref().is_none_or(|l| l == "plpgsql");
        let (tokens, inner) = if plpgsql && !body.is_empty() {
            plpgsql_body(self.text, body.clone(), self.dialect)
        } else {
            (Vec::new(), Vec::new())
        };
        Kind::Do(Box::new(DoBlock {
            language,
            body,
            tokens,
            inner,
        }))
    }
}

// -------------------------------------------------------------------
// PL/pgSQL bodies

/// What encloses a PL/pgSQL statement.
pub(super) enum Frame {
    /// `BEGIN ... [EXCEPTION ...] END`; `first` is the first inner statement
    /// of the block, `caught` the conditions its handlers name (lower case,
    /// `SQLSTATE '22023'` read as the condition's name), `in_handlers`
    /// whether the walk is in the EXCEPTION section.
    Block {
        first: usize,
        caught: Vec<String>,
        in_handlers: bool,
    },
    If {
        guard: bool,
    },
    Case {
        guard: bool,
    },
    Loop,
}

/// Whether a handler for `cond` (a condition name in lower case) catches
/// what a second run of `kind` raises. Most conditions are taken for any
/// statement: the ones DDL and INSERT raise when the object is already there
/// (`duplicate_*`, `unique_violation`) or already gone (`undefined_*`:
/// RENAME COLUMN of a missing column raises undefined_column, RENAME TO of a
/// missing relation undefined_table, RENAME CONSTRAINT undefined_object).
/// `invalid_parameter_value` is PostgreSQL's error for a rename of an enum
/// label that is not there (`ALTER TYPE ... RENAME VALUE`) and nothing a
/// second run of other DDL raises, so it guards that statement only.
pub(super) fn catches_second_run(cond: &str, kind: &Kind) -> bool {
    let c = cond;
    c.starts_with("duplicate_")
        || c.starts_with("undefined_")
        || matches!(
            c,
            "others"
                | "unique_violation"
                | "invalid_table_definition"
                | "invalid_schema_name"
                | "invalid_object_definition"
                | "dependent_objects_still_exist"
                | "object_not_in_prerequisite_state"
        )
        || (c == "invalid_parameter_value"
            && matches!(kind, Kind::AlterObject(a)
                if matches!(&a.op, AlterObjectOp::RenameMember { member: "value", .. })))
}

/// The condition name of a SQLSTATE code, for the codes of the conditions
/// [`catches_second_run`] knows (PostgreSQL's errcodes.txt); `None` for any
/// other code.
pub(super) fn condition_of_sqlstate(code: &str) -> Option<&'static str> {
    Some(match code.to_ascii_uppercase().as_str() {
        "22023" => "invalid_parameter_value",
        "23505" => "unique_violation",
        "2BP01" => "dependent_objects_still_exist",
        "3F000" => "invalid_schema_name",
        "42701" => "duplicate_column",
        "42P03" => "duplicate_cursor",
        "42P04" => "duplicate_database",
        "42723" => "duplicate_function",
        "42P05" => "duplicate_prepared_statement",
        "42P06" => "duplicate_schema",
        "42P07" => "duplicate_table",
        "42712" => "duplicate_alias",
        "42710" => "duplicate_object",
        "42703" => "undefined_column",
        "42883" => "undefined_function",
        "42P01" => "undefined_table",
        "42P02" => "undefined_parameter",
        "42704" => "undefined_object",
        "58P01" => "undefined_file",
        "42P16" => "invalid_table_definition",
        "42P17" => "invalid_object_definition",
        "55000" => "object_not_in_prerequisite_state",
        _ => return None,
    })
}

/// Statement keywords of SQL statements inside a PL/pgSQL body.
pub(super) const SQL_STARTS: &[&str] = &[
    "CREATE", "DROP", "ALTER", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "WITH", "COMMENT",
    "GRANT", "REVOKE", "REFRESH", "MERGE", "PERFORM",
];

/// Walks a PL/pgSQL body (file range `body`) and returns its tokens and the
/// SQL statements in it, each classified and marked guarded when it sits
/// under an existence check or in a block whose exception handler catches a
/// second run's failure.
pub(super) fn plpgsql_body(
    text: &str,
    body: Range<usize>,
    dialect: Dialect,
) -> (Vec<Token>, Vec<Inner>) {
    let toks = significant_tokens(text, body, dialect);
    let t = Toks {
        text,
        toks: &toks,
        dialect,
    };
    let mut inner: Vec<Inner> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Variables filled from a query (`SELECT ... INTO v`, `v := (SELECT ...)`):
    // conditions on them are existence checks.
    let mut state_vars: Vec<String> = Vec::new();
    let n = t.len();
    let is_guard_cond = |range: Range<usize>, vars: &[String]| -> bool {
        range.into_iter().any(|k| match t.word(k) {
            Some(w) => {
                let l = w.to_ascii_lowercase();
                matches!(
                    l.as_str(),
                    "exists" | "select" | "found" | "information_schema"
                ) || l.starts_with("pg_")
                    || l.starts_with("to_reg")
                    || vars.contains(&l)
            }
            None => false,
        })
    };
    let end_of_stmt = |from: usize| -> usize {
        let mut depth = 0usize;
        let mut j = from;
        while j < n {
            if t.punct(j, "(") {
                depth += 1;
            } else if t.punct(j, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && t.kind(j) == Some(TokenKind::Semicolon) {
                return j;
            }
            j += 1;
        }
        n
    };
    let find_word =
        |from: usize, w: &str| -> usize { t.find_depth0(from, n, |k| t.kw(k, w)).unwrap_or(n) };
    let mut i = 0;
    while i < n {
        if t.kind(i) == Some(TokenKind::Semicolon) {
            i += 1;
            continue;
        }
        if t.punct(i, "<<") {
            // <<label>>
            let mut j = i + 1;
            while j < n && !t.punct(j, ">>") {
                j += 1;
            }
            i = j + 1;
            continue;
        }
        let Some(w) = t.word(i) else {
            i = end_of_stmt(i) + 1;
            continue;
        };
        let w = Upper::new(w);
        match w.as_str() {
            "DECLARE" => {
                // Declarations up to BEGIN.
                let mut j = i + 1;
                while j < n && !t.kw(j, "BEGIN") {
                    j += 1;
                }
                i = j;
            }
            "BEGIN" => {
                stack.push(Frame::Block {
                    first: inner.len(),
                    caught: Vec::new(),
                    in_handlers: false,
                });
                i += 1;
            }
            "EXCEPTION" if matches!(stack.last(), Some(Frame::Block { .. })) => {
                if let Some(Frame::Block { in_handlers, .. }) = stack.last_mut() {
                    *in_handlers = true;
                }
                i += 1;
            }
            "WHEN" => {
                let then = find_word(i + 1, "THEN");
                match stack.last_mut() {
                    Some(Frame::Block {
                        caught,
                        in_handlers: true,
                        ..
                    }) => {
                        // `WHEN a OR b`, `WHEN SQLSTATE '22023'`.
                        let mut k = i + 1;
                        while k < then {
                            if t.kw(k, "SQLSTATE") {
                                let code = unquote(t.text(k + 1));
                                caught.push(
                                    condition_of_sqlstate(&code).map_or(code, str::to_string),
                                );
                                k += 2;
                                continue;
                            }
                            if let Some(w) = t.word(k) {
                                if !w.eq_ignore_ascii_case("OR") {
                                    caught.push(w.to_ascii_lowercase());
                                }
                            }
                            k += 1;
                        }
                    }
                    Some(Frame::Case { guard }) if is_guard_cond(i + 1..then, &state_vars) => {
                        *guard = true;
                    }
                    _ => {}
                }
                i = then + 1;
            }
            "END" => {
                let closes = t.word(i + 1).map(str::to_ascii_uppercase);
                match closes.as_deref() {
                    Some("IF") | Some("LOOP") | Some("CASE") => {
                        stack.pop();
                    }
                    _ => {
                        // Close the innermost block (and anything left open in it).
                        while let Some(f) = stack.pop() {
                            if let Frame::Block { first, caught, .. } = f {
                                for s in &mut inner[first..] {
                                    s.guarded |=
                                        caught.iter().any(|c| catches_second_run(c, &s.kind));
                                }
                                break;
                            }
                        }
                    }
                }
                i = end_of_stmt(i) + 1;
            }
            "IF" => {
                let then = find_word(i + 1, "THEN");
                stack.push(Frame::If {
                    guard: is_guard_cond(i + 1..then, &state_vars),
                });
                i = then + 1;
            }
            "ELSIF" | "ELSEIF" => {
                let then = find_word(i + 1, "THEN");
                let g = is_guard_cond(i + 1..then, &state_vars);
                if let Some(Frame::If { guard }) = stack.last_mut() {
                    *guard |= g;
                }
                i = then + 1;
            }
            "ELSE" => i += 1,
            "CASE" => {
                stack.push(Frame::Case { guard: false });
                // Up to the first WHEN.
                let mut j = i + 1;
                while j < n && !t.kw(j, "WHEN") {
                    j += 1;
                }
                i = j;
            }
            "LOOP" => {
                stack.push(Frame::Loop);
                i += 1;
            }
            "WHILE" | "FOR" | "FOREACH" => {
                let l = find_word(i + 1, "LOOP");
                stack.push(Frame::Loop);
                i = l + 1;
            }
            _ => {
                let end = end_of_stmt(i);
                if t.kw_any(i, SQL_STARTS) {
                    let slice = &toks[i..end];
                    let kind = classify_tokens(text, slice, dialect);
                    let guarded = stack.iter().any(|f| match f {
                        Frame::If { guard } | Frame::Case { guard } => *guard,
                        _ => false,
                    });
                    inner.push(Inner {
                        span: t.span_of(i..end),
                        tokens: i..end,
                        kind,
                        guarded,
                    });
                } else {
                    // `SELECT ... INTO v ...`, `v := (SELECT ...)`, `GET DIAGNOSTICS v = ...`.
                    let reads_state = (i..end)
                        .any(|k| t.kw_any(k, &["SELECT", "EXISTS", "PERFORM", "DIAGNOSTICS"]));
                    if reads_state {
                        if let Some(into) = (i..end).find(|&k| t.kw(k, "INTO")) {
                            let mut k = into + 1;
                            if t.kw(k, "STRICT") {
                                k += 1;
                            }
                            for r in t.split_commas(k, end) {
                                if let Some(v) = t.word(r.start) {
                                    state_vars.push(v.to_ascii_lowercase());
                                }
                            }
                        } else if t.punct(i + 1, ":=") || t.punct(i + 1, "=") {
                            if let Some(v) = t.word(i) {
                                state_vars.push(v.to_ascii_lowercase());
                            }
                        } else if t.kw(i, "GET") {
                            if let Some(v) = (i..end)
                                .find_map(|k| t.punct(k + 1, "=").then(|| t.word(k)).flatten())
                            {
                                state_vars.push(v.to_ascii_lowercase());
                            }
                        }
                    }
                }
                i = end + 1;
            }
        }
    }
    (toks, inner)
}
