//! INSERT, UPDATE, DELETE and TRUNCATE.

use super::*;

/// Keywords that start the rest of an INSERT, reserved in every dialect, so
/// never an unquoted table name.
const NOT_A_TABLE: &[&str] = &["SELECT", "VALUES", "DEFAULT", "FROM", "WHERE"];

impl<'a> Toks<'a> {
    // ---------------------------------------------------------------
    // DML

    pub(super) fn insert(&self, i: usize) -> Kind {
        let mut j = i + 1;
        let mut conflict = Conflict::None;
        if self.kw(i, "REPLACE") {
            conflict = Conflict::ReplaceInto;
        } else {
            loop {
                if self.kw(j, "OR") {
                    conflict = match self.word(j + 1).map(str::to_ascii_uppercase).as_deref() {
                        Some("IGNORE") => Conflict::OrIgnore,
                        Some("REPLACE") => Conflict::OrReplace,
                        _ => Conflict::OrAbort,
                    };
                    j += 2;
                } else if self.kw(j, "IGNORE") {
                    conflict = Conflict::InsertIgnore;
                    j += 1;
                } else if self.kw_any(j, &["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY"]) {
                    j += 1;
                } else {
                    break;
                }
            }
        }
        if self.kw(i, "REPLACE") {
            while self.kw_any(j, &["LOW_PRIORITY", "DELAYED"]) {
                j += 1;
            }
        }
        if self.kw(j, "INTO") {
            j += 1;
        }
        if self.kw(j, "TABLE") {
            j += 1;
        }
        // A keyword where the table's name goes (`INSERT INTO SELECT * FROM
        // t`: the name left out) is no name: the statement does not parse,
        // and a rule would take the keyword for a table.
        if self.kw_any(j, NOT_A_TABLE) {
            return Kind::Unknown;
        }
        let (table, mut k) = match self.name(j) {
            Some((n, a)) => (Some(n), a),
            None => (None, j),
        };
        let mut alias = None;
        if self.kw(k, "AS") && self.is_ident(k + 1) {
            alias = self.ident(k + 1);
            k += 2;
        }
        let mut columns = Vec::new();
        if self.punct(k, "(") && !self.kw_any(k + 1, &["SELECT", "WITH", "VALUES"]) {
            let close = self.close_paren(k);
            for r in self.split_commas(k + 1, close) {
                if let Some((n, _)) = self.name(r.start) {
                    columns.push(n.object().to_string());
                }
            }
            k = close + 1;
        }
        let n = self.len();
        // Where the conflict clause / RETURNING starts (depth 0).
        let tail = self
            .find_depth0(k, n, |x| {
                (self.kw(x, "ON") && self.kw_any(x + 1, &["CONFLICT", "DUPLICATE"]))
                    || self.kw(x, "RETURNING")
            })
            .unwrap_or(n);
        let mut source = InsertSource::Unknown;
        let mut written = Vec::new();
        let mut first_row = Vec::new();
        let mut row_alias = None;
        let mut anti_join = false;
        let mut src = k;
        while self.kw_any(src, &["OVERRIDING", "SYSTEM", "USER", "VALUE"])
            && !self.punct(src + 1, "(")
        {
            src += 1;
        }
        if self.kws(src, &["DEFAULT", "VALUES"]) {
            source = InsertSource::DefaultValues;
        } else if self.kw_any(src, &["VALUES", "VALUE"]) {
            source = InsertSource::Values;
            let mut end = tail;
            // MySQL 8 row alias: VALUES (...) AS new [(cols)].
            if let Some(a) = self.find_depth0(src + 1, tail, |x| self.kw(x, "AS")) {
                row_alias = self.ident(a + 1);
                end = a;
            }
            written.push(src + 1..end);
            let mut r = src + 1;
            if self.kw(r, "ROW") {
                r += 1;
            }
            if self.punct(r, "(") {
                let close = self.close_paren(r);
                first_row = self.split_commas(r + 1, close);
            }
        } else if self.kw(src, "SET") {
            source = InsertSource::Set;
            for a in self.assignments(src + 1, tail) {
                written.push(a.value);
            }
        } else if self.kw_any(src, &["SELECT", "WITH", "TABLE"]) || self.punct(src, "(") {
            source = InsertSource::Select;
            self.projections(src, tail, &mut written);
            anti_join = self.anti_join(src, tail);
        }
        let mut update = Vec::new();
        let mut update_where = None;
        if self.kws(tail, &["ON", "CONFLICT"]) {
            let do_at = self.find_depth0(tail + 2, n, |x| self.kw(x, "DO"));
            match do_at {
                Some(d) if self.kw(d + 1, "NOTHING") => conflict = Conflict::DoNothing,
                Some(d) if self.kws(d + 1, &["UPDATE", "SET"]) => {
                    conflict = Conflict::DoUpdate;
                    let end = self
                        .find_depth0(d + 3, n, |x| self.kw(x, "RETURNING"))
                        .unwrap_or(n);
                    let w = self.find_depth0(d + 3, end, |x| self.kw(x, "WHERE"));
                    update = self.assignments(d + 3, w.unwrap_or(end));
                    update_where = w.map(|w| w + 1..end);
                }
                _ => conflict = Conflict::DoNothing,
            }
        } else if self.kws(tail, &["ON", "DUPLICATE", "KEY", "UPDATE"]) {
            conflict = Conflict::DuplicateKeyUpdate;
            update = self.assignments(tail + 4, n);
        }
        Kind::Insert(Box::new(Insert {
            table,
            alias,
            conflict,
            anti_join,
            source,
            columns,
            first_row,
            written,
            update,
            update_where,
            row_alias,
            start: i,
        }))
    }

    /// The projections of the SELECTs of an INSERT's source, at its top level.
    pub(super) fn projections(&self, from: usize, to: usize, out: &mut Vec<Range<usize>>) {
        let mut from = from;
        // Skip a leading WITH list.
        if self.kw(from, "WITH") {
            let mut j = from + 1;
            while j < to {
                if self.punct(j, "(") {
                    j = self.close_paren(j) + 1;
                    continue;
                }
                if self.kw(j, "SELECT") {
                    break;
                }
                j += 1;
            }
            from = j;
        }
        let mut depth = 0usize;
        let mut j = from;
        while j < to {
            if self.punct(j, "(") {
                // A parenthesised SELECT at the top: `INSERT INTO t (SELECT ...)`.
                if j == from && self.kw(j + 1, "SELECT") {
                    j += 1;
                    continue;
                }
                depth += 1;
            } else if self.punct(j, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.kw(j, "SELECT") {
                let mut s = j + 1;
                while self.kw_any(s, &["DISTINCT", "ALL"]) {
                    s += 1;
                    if self.kw(s, "ON") {
                        s = self.skip_parens(s + 1);
                    }
                }
                let e = self
                    .find_depth0(s, to, |x| {
                        self.kw_any(
                            x,
                            &[
                                "FROM",
                                "WHERE",
                                "GROUP",
                                "HAVING",
                                "ORDER",
                                "LIMIT",
                                "UNION",
                                "EXCEPT",
                                "INTERSECT",
                                "WINDOW",
                                "INTO",
                                "MINUS",
                            ],
                        )
                    })
                    .unwrap_or_else(|| self.close_paren_from(s, to));
                out.push(s..e);
                j = e;
                continue;
            }
            j += 1;
        }
    }

    /// The index of the first unmatched `)` in `from..to`, or `to`.
    pub(super) fn close_paren_from(&self, from: usize, to: usize) -> usize {
        let mut depth = 0usize;
        for j in from..to.min(self.len()) {
            if self.punct(j, "(") {
                depth += 1;
            } else if self.punct(j, ")") {
                if depth == 0 {
                    return j;
                }
                depth -= 1;
            }
        }
        to.min(self.len())
    }

    /// An anti-join guard in `from..to`: `NOT EXISTS`, `NOT IN (SELECT`,
    /// `EXCEPT`/`MINUS`, or `LEFT [OUTER] JOIN` followed by `IS NULL`.
    pub(super) fn anti_join(&self, from: usize, to: usize) -> bool {
        let to = to.min(self.len());
        let mut left_join = false;
        for j in from..to {
            if self.kw(j, "NOT") {
                if self.kw(j + 1, "EXISTS") {
                    return true;
                }
                if self.kw(j + 1, "IN") && self.punct(j + 2, "(") && self.kw(j + 3, "SELECT") {
                    return true;
                }
            } else if self.kw_any(j, &["EXCEPT", "MINUS"]) {
                return true;
            } else if self.kw(j, "LEFT") {
                left_join = true;
            } else if left_join && self.kws(j, &["IS", "NULL"]) {
                return true;
            }
        }
        false
    }

    /// `a = x, t.b = y, (c, d) = (...)` in `from..to`, stopping at a depth-0
    /// `FROM`/`WHERE`/`RETURNING`/`ORDER`/`LIMIT`.
    pub fn assignments(&self, from: usize, to: usize) -> Vec<Assign> {
        let end = self
            .find_depth0(from, to, |x| {
                self.kw_any(
                    x,
                    &["FROM", "WHERE", "RETURNING", "ORDER", "LIMIT", "OUTPUT"],
                )
            })
            .unwrap_or(to.min(self.len()));
        let mut out = Vec::new();
        for r in self.split_commas(from, end) {
            let s = r.start;
            let (columns, qualifier, eq) = if self.punct(s, "(") {
                let close = self.close_paren(s);
                let cols = self
                    .split_commas(s + 1, close)
                    .into_iter()
                    .filter_map(|c| self.name(c.start))
                    .map(|(n, _)| n.object().to_string())
                    .collect();
                (cols, None, close + 1)
            } else {
                match self.name(s) {
                    Some((n, a)) => (
                        vec![n.object().to_string()],
                        n.qualifier().map(str::to_string),
                        a,
                    ),
                    None => continue,
                }
            };
            // `col[1] = ...` (array element) or `col = ...`.
            let eq = self.skip_brackets(eq);
            if !self.punct(eq, "=") {
                continue;
            }
            out.push(Assign {
                columns,
                qualifier,
                range: r.clone(),
                value: eq + 1..r.end,
            });
        }
        out
    }

    pub(super) fn skip_brackets(&self, mut i: usize) -> usize {
        while self.punct(i, "[") {
            let mut j = i;
            while j < self.len() && !self.punct(j, "]") {
                j += 1;
            }
            i = j + 1;
        }
        i
    }

    pub(super) fn update(&self, i: usize) -> Kind {
        let mut j = i + 1;
        loop {
            if self.kw(j, "OR") {
                j += 2;
            } else if self.kw_any(j, &["LOW_PRIORITY", "IGNORE", "ONLY"]) {
                j += 1;
            } else {
                break;
            }
        }
        let (table, mut k) = match self.name(j) {
            Some((n, a)) => (Some(n), a),
            None => (None, j),
        };
        if self.punct(k, "*") {
            k += 1;
        }
        let mut alias = None;
        if self.kw(k, "AS") && self.is_ident(k + 1) {
            alias = self.ident(k + 1);
        } else if self.is_ident(k) && !self.kw_any(k, NOT_ALIAS) {
            alias = self.ident(k);
        }
        let n = self.len();
        let Some(set) = self.find_depth0(k, n, |x| self.kw(x, "SET")) else {
            return Kind::Update(Box::new(Update {
                table,
                alias,
                assignments: Vec::new(),
                where_range: None,
                start: i,
            }));
        };
        let assignments = self.assignments(set + 1, n);
        let where_range = self
            .find_depth0(set + 1, n, |x| self.kw(x, "WHERE"))
            .map(|w| {
                let end = self
                    .find_depth0(w + 1, n, |x| {
                        self.kw_any(x, &["RETURNING", "ORDER", "LIMIT"])
                    })
                    .unwrap_or(n);
                w + 1..end
            });
        Kind::Update(Box::new(Update {
            table,
            alias,
            assignments,
            where_range,
            start: i,
        }))
    }

    pub(super) fn delete(&self, i: usize) -> Kind {
        let mut j = i + 1;
        while self.kw_any(j, &["LOW_PRIORITY", "QUICK", "IGNORE"]) {
            j += 1;
        }
        if self.kw(j, "FROM") {
            j += 1;
        }
        if self.kw(j, "ONLY") {
            j += 1;
        }
        let table = self.name(j).map(|(n, _)| n);
        let has_where = self
            .find_depth0(j, self.len(), |x| self.kw(x, "WHERE"))
            .is_some();
        Kind::Delete(Box::new(Delete { table, has_where }))
    }

    pub(super) fn truncate(&self, i: usize) -> Kind {
        let mut j = i + 1;
        if self.kw(j, "TABLE") {
            j += 1;
        }
        if self.kw(j, "ONLY") {
            j += 1;
        }
        let names = self
            .split_commas(j, self.len())
            .into_iter()
            .filter_map(|r| self.name(r.start).map(|(n, _)| n))
            .collect();
        Kind::Truncate(names)
    }
}
