//! CREATE, DROP and ALTER.

use super::*;

impl<'a> Toks<'a> {
    // ---------------------------------------------------------------
    // CREATE

    pub(super) fn create(&self, i: usize) -> Kind {
        let create_span = self.span(i);
        let mut j = i + 1;
        let (mut or_replace, mut temporary, mut unique) = (false, false, false);
        let mut kind = None;
        let mut kw_tok = j;
        // Modifiers, then the object keyword.
        while j < self.len() && kind.is_none() {
            let Some(w) = self.word(j) else {
                return Kind::Unknown;
            };
            let w = Upper::new(w);
            kw_tok = j;
            match w.as_str() {
                "OR" if self.kw(j + 1, "REPLACE") => {
                    or_replace = true;
                    j += 2;
                    continue;
                }
                "TEMP" | "TEMPORARY" => temporary = true,
                "UNIQUE" => unique = true,
                "GLOBAL" | "LOCAL" | "UNLOGGED" | "RECURSIVE" | "FULLTEXT" | "SPATIAL"
                | "TRUSTED" | "PROCEDURAL" | "DEFAULT" | "NONCLUSTERED" | "CLUSTERED"
                | "ONLINE" | "OFFLINE" | "AGGREGATE"
                    if !self.create_kind_here(w.as_str(), j) => {}
                "DEFINER" => {
                    j = self.skip_definer(j);
                    continue;
                }
                "ALGORITHM" if self.punct(j + 1, "=") => {
                    j += 3;
                    continue;
                }
                "SQL" if self.kw(j + 1, "SECURITY") => {
                    j += 3;
                    continue;
                }
                _ => match self.object_kind(j) {
                    Some((k, last)) => {
                        kind = Some(k);
                        kw_tok = last;
                        j = last;
                    }
                    None => return Kind::Unknown,
                },
            }
            j += 1;
        }
        let Some(kind) = kind else {
            return Kind::Unknown;
        };
        let keyword_span = self.span(kw_tok);
        let mut concurrently = false;
        let mut insert_tok = kw_tok;
        if self.kw(j, "CONCURRENTLY") {
            concurrently = true;
            insert_tok = j;
            j += 1;
        }
        let mut if_not_exists = false;
        if let Some(n) = self.if_not_exists(j) {
            if_not_exists = true;
            j = n;
        }
        // `CREATE TABLE IF EXISTS t`: DROP's guard, which no database takes
        // (`syntax-error` says so, and nothing else has anything to say).
        if self.if_exists(j).is_some() {
            return Kind::Other;
        }
        // The name; unnamed forms: `CREATE INDEX ON t`, `CREATE SCHEMA
        // AUTHORIZATION r`, `CREATE CAST (...)`, `CREATE USER MAPPING FOR ...`.
        let unnamed = match kind {
            ObjectKind::Index => self.kw(j, "ON"),
            ObjectKind::Schema => self.kw(j, "AUTHORIZATION"),
            ObjectKind::Cast | ObjectKind::UserMapping => true,
            _ => false,
        };
        let (name, after) = if unnamed {
            (None, j)
        } else {
            match self.name(j) {
                Some((n, after)) => (Some(n), after),
                None => (None, j),
            }
        };
        let mut name = name;
        let mut after = after;
        if matches!(kind, ObjectKind::User | ObjectKind::Role) && self.punct(after, "@") {
            // MySQL 'user'@'host': the name is the whole account.
            if let Some(n) = name.as_mut() {
                n.span.end = self.span(after + 1).end;
                n.parts = vec![format!("{}@{}", n.object(), unquote(self.text(after + 1)))];
            }
            after += 2;
        }
        if temporary
            || name
                .as_ref()
                .is_some_and(|n| n.parts.len() > 1 && n.parts[0] == "temp")
                && self.dialect == Dialect::Sqlite
        {
            temporary = true;
        }
        let table = match kind {
            ObjectKind::Index
            | ObjectKind::Trigger
            | ObjectKind::ConstraintTrigger
            | ObjectKind::Policy => self
                .find_depth0(after, self.len(), |k| {
                    self.kw_any(k, &["ON"]) || self.kw_any(k, &["BEGIN", "AS", "EXECUTE"])
                })
                .filter(|&k| self.kw(k, "ON"))
                .and_then(|k| {
                    let k = if self.kw(k + 1, "ONLY") { k + 2 } else { k + 1 };
                    self.name(k).map(|(n, _)| n)
                }),
            ObjectKind::Rule => self
                .find_depth0(after, self.len(), |k| self.kw(k, "TO"))
                .and_then(|k| self.name(k + 1).map(|(n, _)| n)),
            _ => None,
        };
        Kind::Create(Box::new(Create {
            kind,
            or_replace,
            temporary,
            unique,
            concurrently,
            if_not_exists,
            name,
            table,
            create_span,
            keyword_span,
            if_not_exists_at: self.span(insert_tok).end,
            keyword_token: insert_tok,
            head_end: after,
        }))
    }

    /// A modifier word that is really the object keyword (e.g. `DEFAULT`
    /// in `CREATE DEFAULT CONVERSION` is a modifier, `AGGREGATE` alone is
    /// the kind in Postgres).
    pub(super) fn create_kind_here(&self, w: &str, j: usize) -> bool {
        match w {
            "AGGREGATE" => !self.kw(j + 1, "FUNCTION"),
            _ => false,
        }
    }

    /// MySQL `DEFINER = user[@host]` or `DEFINER = CURRENT_USER[()]`.
    pub(super) fn skip_definer(&self, j: usize) -> usize {
        let mut k = j + 1;
        if self.punct(k, "=") {
            k += 1;
        }
        k += 1; // user
        if self.punct(k, "(") {
            k = self.skip_parens(k);
        }
        if self.punct(k, "@") {
            k += 2;
        } else if self.kind(k) == Some(TokenKind::Param) && self.text(k).starts_with('@') {
            k += 1;
        }
        k
    }

    /// The object kind whose keyword(s) start at `j`; returns it and the
    /// index of its last keyword.
    pub(super) fn object_kind(&self, j: usize) -> Option<(ObjectKind, usize)> {
        use ObjectKind::*;
        let w = Upper::new(self.word(j)?);
        Some(match w.as_str() {
            "TABLE" => (Table, j),
            "VIRTUAL" if self.kw(j + 1, "TABLE") => (VirtualTable, j + 1),
            "FOREIGN" if self.kw(j + 1, "TABLE") => (ForeignTable, j + 1),
            "FOREIGN" if self.kws(j + 1, &["DATA", "WRAPPER"]) => (ForeignDataWrapper, j + 2),
            "INDEX" => (Index, j),
            "VIEW" => (View, j),
            "MATERIALIZED" if self.kw(j + 1, "VIEW") => (MaterializedView, j + 1),
            "TRIGGER" => (Trigger, j),
            "CONSTRAINT" if self.kw(j + 1, "TRIGGER") => (ConstraintTrigger, j + 1),
            "EVENT" if self.kw(j + 1, "TRIGGER") => (EventTrigger, j + 1),
            "EVENT" => (Event, j),
            "SCHEMA" => (Schema, j),
            "DATABASE" => (Database, j),
            "SEQUENCE" => (Sequence, j),
            "EXTENSION" => (Extension, j),
            "TYPE" => (Type, j),
            "DOMAIN" => (Domain, j),
            "ROLE" => (Role, j),
            "USER" if self.kw(j + 1, "MAPPING") => (UserMapping, j + 1),
            "USER" => (User, j),
            "GROUP" => (Group, j),
            "FUNCTION" => (Function, j),
            "PROCEDURE" => (Procedure, j),
            "AGGREGATE" if self.kw(j + 1, "FUNCTION") => (Function, j + 1),
            "AGGREGATE" => (Aggregate, j),
            "POLICY" => (Policy, j),
            "RULE" => (Rule, j),
            "COLLATION" => (Collation, j),
            "SERVER" => (Server, j),
            "STATISTICS" => (Statistics, j),
            "TABLESPACE" => (Tablespace, j),
            "PUBLICATION" => (Publication, j),
            "SUBSCRIPTION" => (Subscription, j),
            "CAST" => (Cast, j),
            "OPERATOR" if self.kw_any(j + 1, &["CLASS", "FAMILY"]) => (Operator, j + 1),
            "OPERATOR" => (Operator, j),
            "CONVERSION" => (Conversion, j),
            "LANGUAGE" => (Language, j),
            "TEXT" if self.kw(j + 1, "SEARCH") => (TextSearch, (j + 2).min(self.len() - 1)),
            "ACCESS" if self.kw(j + 1, "METHOD") => (AccessMethod, j + 1),
            "TRANSFORM" => (Transform, j),
            _ => return None,
        })
    }

    // ---------------------------------------------------------------
    // DROP

    pub(super) fn drop(&self, i: usize) -> Kind {
        let drop_span = self.span(i);
        let mut j = i + 1;
        let mut temporary = false;
        if self.kw_any(j, &["TEMPORARY", "TEMP"]) {
            temporary = true;
            j += 1;
        }
        if self.kw(j, "OWNED") {
            return Kind::Other;
        }
        let Some((kind, last)) = self.object_kind(j) else {
            return Kind::Unknown;
        };
        let keyword_span = self.span(last);
        let mut insert_tok = last;
        j = last + 1;
        let mut concurrently = false;
        if self.kw(j, "CONCURRENTLY") {
            concurrently = true;
            insert_tok = j;
            j += 1;
        }
        let mut if_exists = false;
        if let Some(n) = self.if_exists(j) {
            if_exists = true;
            j = n;
        }
        let mut names = Vec::new();
        let mut head_end = j;
        if !matches!(kind, ObjectKind::Cast | ObjectKind::UserMapping) {
            while let Some((n, after)) = self.name(j) {
                let mut after = after;
                if kind == ObjectKind::User && self.punct(after, "@") {
                    after += 2;
                }
                // Function signatures: f(int, text).
                after = self.skip_parens(after);
                names.push(n);
                head_end = after;
                if self.punct(after, ",") {
                    j = after + 1;
                } else {
                    break;
                }
            }
        }
        let mut table = None;
        if self.kw(head_end, "ON") {
            if let Some((n, after)) = self.name(head_end + 1) {
                table = Some(n);
                head_end = after;
            }
        }
        // Another statement's keyword after the names: statements that lost
        // their `;` (`DROP TABLE a` / `DROP TABLE b` on two lines). Not a
        // DROP the rules can reason about (or fix): sqlparser's error says
        // where the next statement starts.
        if (head_end..self.len()).any(|k| {
            self.kw_any(
                k,
                &[
                    "DROP", "CREATE", "ALTER", "INSERT", "UPDATE", "DELETE", "SELECT",
                ],
            )
        }) {
            return Kind::Unknown;
        }
        let if_exists_after = self
            .if_exists(head_end)
            .filter(|_| !names.is_empty())
            .map(|n| self.span(head_end).start..self.span(n - 1).end);
        Kind::Drop(Box::new(Drop {
            kind,
            if_exists,
            temporary,
            concurrently,
            names,
            table,
            drop_span,
            keyword_span,
            if_exists_at: self.span(insert_tok).end,
            keyword_token: insert_tok,
            head_end,
            if_exists_after,
        }))
    }

    // ---------------------------------------------------------------
    // ALTER

    pub(super) fn alter(&self, i: usize) -> Kind {
        let mut j = i + 1;
        // MySQL `ALTER [ONLINE] [IGNORE] TABLE`, `ALTER DEFINER=... VIEW`,
        // `ALTER ALGORITHM=... VIEW`.
        loop {
            if self.kw_any(j, &["ONLINE", "IGNORE", "OFFLINE"]) {
                j += 1;
            } else if self.kw(j, "DEFINER") {
                j = self.skip_definer(j);
            } else if (self.kw(j, "ALGORITHM") && self.punct(j + 1, "="))
                || self.kws(j, &["SQL", "SECURITY"])
            {
                j += 3;
            } else {
                break;
            }
        }
        let Some((kind, last)) = self.object_kind(j) else {
            // ALTER SYSTEM, ALTER DEFAULT PRIVILEGES, ALTER LARGE OBJECT, ...
            return if self.kw_any(j, &["SYSTEM", "DEFAULT", "LARGE", "INSTANCE", "LOGFILE"]) {
                Kind::Other
            } else {
                Kind::Unknown
            };
        };
        j = last + 1;
        if kind == ObjectKind::Table {
            return self.alter_table(i, j);
        }
        let mut if_exists = false;
        if let Some(n) = self.if_exists(j) {
            if_exists = true;
            j = n;
        }
        let (name, mut k) = match self.name(j) {
            Some((n, after)) => (Some(n), after),
            None => (None, j),
        };
        k = self.skip_parens(k);
        let table = if self.kw(k, "ON") {
            let t = self.name(k + 1);
            if let Some((_, after)) = &t {
                k = *after;
            }
            t.map(|(n, _)| n)
        } else {
            None
        };
        let op = if self.kws(k, &["RENAME", "TO"]) {
            match self.name(k + 2) {
                Some((new, _)) => AlterObjectOp::RenameTo { new },
                None => AlterObjectOp::Other,
            }
        } else if self.kw(k, "RENAME") && self.kw_any(k + 1, &["VALUE", "ATTRIBUTE", "COLUMN"]) {
            let member = if self.kw(k + 1, "VALUE") {
                "value"
            } else {
                "attribute"
            };
            if self.kw(k + 3, "TO") {
                AlterObjectOp::RenameMember {
                    member,
                    from: self.text(k + 2).to_string(),
                    to: self.text(k + 4).to_string(),
                }
            } else {
                AlterObjectOp::Other
            }
        } else if self.kws(k, &["SET", "SCHEMA"]) {
            AlterObjectOp::SetSchema
        } else if self.kws(k, &["ADD", "VALUE"]) {
            let mut v = k + 2;
            let if_not_exists = match self.if_not_exists(v) {
                Some(n) => {
                    v = n;
                    true
                }
                None => false,
            };
            AlterObjectOp::AddValue {
                value: self.text(v).to_string(),
                if_not_exists,
                insert_at: self.span(k + 1).end,
            }
        } else {
            AlterObjectOp::Other
        };
        Kind::AlterObject(Box::new(AlterObject {
            kind,
            if_exists,
            name,
            table,
            op,
        }))
    }

    pub(super) fn alter_table(&self, i: usize, mut j: usize) -> Kind {
        let mut if_exists = false;
        if let Some(n) = self.if_exists(j) {
            if_exists = true;
            j = n;
        }
        let mut only = false;
        if self.kw(j, "ONLY") {
            only = true;
            j += 1;
        }
        let Some((table, after)) = self.name(j) else {
            return Kind::AlterTable(Box::new(AlterTable {
                table: None,
                if_exists,
                only,
                actions: Vec::new(),
                head_span: self.span_of(i..j),
            }));
        };
        let mut k = after;
        if self.punct(k, "*") {
            k += 1;
        }
        let head_span = self.span_of(i..k);
        let mut actions = Vec::new();
        for r in self.split_commas(k, self.len()) {
            let span = self.span_of(r.clone());
            for op in self.alter_action(r) {
                actions.push(AlterAction {
                    op,
                    span: span.clone(),
                });
            }
        }
        Kind::AlterTable(Box::new(AlterTable {
            table: Some(table),
            if_exists,
            only,
            actions,
            head_span,
        }))
    }

    /// One comma-separated action (MySQL `ADD (a int, b int)` gives several).
    pub(super) fn alter_action(&self, r: Range<usize>) -> Vec<AlterOp> {
        let s = r.start;
        let end = r.end;
        let Some(w) = self.word(s) else {
            return vec![AlterOp::Other];
        };
        let w = Upper::new(w);
        match w.as_str() {
            "ADD" => self.alter_add(s, end),
            "DROP" => vec![self.alter_drop(s, end)],
            "RENAME" => vec![self.alter_rename(s)],
            "ALTER" | "MODIFY" => {
                let k = if self.kw(s + 1, "COLUMN") {
                    s + 2
                } else {
                    s + 1
                };
                vec![AlterOp::AlterColumn {
                    name: self.name(k).map(|(n, _)| n),
                }]
            }
            "CHANGE" => {
                let k = if self.kw(s + 1, "COLUMN") {
                    s + 2
                } else {
                    s + 1
                };
                match self
                    .name(k)
                    .and_then(|(from, a)| Some((from, self.name(a)?.0)))
                {
                    Some((from, to)) => vec![AlterOp::ChangeColumn { from, to }],
                    None => vec![AlterOp::Other],
                }
            }
            "SET" if self.kw(s + 1, "SCHEMA") => match self.name(s + 2) {
                Some((schema, _)) => vec![AlterOp::SetSchema { schema }],
                None => vec![AlterOp::Other],
            },
            _ => vec![AlterOp::Other],
        }
    }

    pub(super) fn alter_add(&self, s: usize, end: usize) -> Vec<AlterOp> {
        let mut k = s + 1;
        let constraint_kind = |k: usize| -> Option<(ConstraintKind, usize)> {
            let w = Upper::new(self.word(k)?);
            Some(match w.as_str() {
                "PRIMARY" if self.kw(k + 1, "KEY") => (ConstraintKind::PrimaryKey, k + 2),
                "UNIQUE" => {
                    let n = if self.kw_any(k + 1, &["INDEX", "KEY"]) {
                        k + 2
                    } else {
                        k + 1
                    };
                    (ConstraintKind::Unique, n)
                }
                "FOREIGN" if self.kw(k + 1, "KEY") => (ConstraintKind::ForeignKey, k + 2),
                "CHECK" => (ConstraintKind::Check, k + 1),
                "EXCLUDE" => (ConstraintKind::Exclude, k + 1),
                "INDEX" | "KEY" => (ConstraintKind::Index, k + 1),
                "FULLTEXT" | "SPATIAL" => {
                    let n = if self.kw_any(k + 1, &["INDEX", "KEY"]) {
                        k + 2
                    } else {
                        k + 1
                    };
                    (ConstraintKind::Index, n)
                }
                _ => return None,
            })
        };
        // `ADD CONSTRAINT UNIQUE uk (...)`, `ADD CONSTRAINT PRIMARY KEY (...)`:
        // MySQL allows the constraint's symbol to be left out, and these
        // words are reserved (never an unquoted symbol), so what follows is
        // read as without `CONSTRAINT` (a unique key's index name included).
        let mut constraint_if_not_exists = false;
        if self.kw(k, "CONSTRAINT") {
            let mut c = k + 1;
            if let Some(n) = self.if_not_exists(c) {
                constraint_if_not_exists = true;
                c = n;
            }
            if self.kw_any(c, &["PRIMARY", "UNIQUE", "FOREIGN", "CHECK"])
                && constraint_kind(c).is_some()
            {
                k = c;
            } else {
                constraint_if_not_exists = false;
            }
        }
        if self.kw(k, "CONSTRAINT") {
            k += 1;
            let mut if_not_exists = false;
            if let Some(n) = self.if_not_exists(k) {
                if_not_exists = true;
                k = n;
            }
            let (name, after) = match self.name(k) {
                Some((n, a)) => (Some(n), a),
                None => (None, k),
            };
            let constraint = constraint_kind(after)
                .map(|(c, _)| c)
                .unwrap_or(ConstraintKind::Unspecified);
            return vec![AlterOp::AddConstraint {
                name,
                constraint,
                if_not_exists,
            }];
        }
        if let Some((ck, after)) = constraint_kind(k) {
            if ck == ConstraintKind::Check
                || ck == ConstraintKind::Exclude
                || ck == ConstraintKind::PrimaryKey
                || ck == ConstraintKind::ForeignKey
                || ck == ConstraintKind::Unique
                || ck == ConstraintKind::Index
            {
                // MySQL: `ADD UNIQUE [INDEX|KEY] [IF NOT EXISTS] [name] (...)`,
                // `ADD INDEX [IF NOT EXISTS] name (...)`, `ADD FOREIGN KEY [name] (...)`.
                let mut a = after;
                let mut if_not_exists = constraint_if_not_exists;
                if let Some(n) = self.if_not_exists(a) {
                    if_not_exists = true;
                    a = n;
                }
                let name = if matches!(
                    ck,
                    ConstraintKind::Index | ConstraintKind::Unique | ConstraintKind::ForeignKey
                ) && self.is_ident(a)
                    && !self.kw_any(a, &["USING", "KEY", "INDEX"])
                {
                    self.name(a).map(|(n, _)| n)
                } else {
                    None
                };
                return vec![AlterOp::AddConstraint {
                    name,
                    constraint: ck,
                    if_not_exists,
                }];
            }
        }
        if self.kw_any(k, &["PARTITION", "VALUE"]) {
            return vec![AlterOp::Other];
        }
        let mut insert_at = self.span(s).end;
        if self.kw(k, "COLUMN") {
            insert_at = self.span(k).end;
            k += 1;
        }
        let mut if_not_exists = false;
        if let Some(n) = self.if_not_exists(k) {
            if_not_exists = true;
            k = n;
        }
        if self.punct(k, "(") {
            // MySQL: ADD [COLUMN] (a int, b int); Oracle's and MySQL's
            // `ADD (CONSTRAINT fk FOREIGN KEY ...)` adds constraints (and
            // indexes) the same way, read as after a bare `ADD`.
            let close = self.close_paren(k);
            return self
                .split_commas(k + 1, close.min(end))
                .into_iter()
                .flat_map(|r| {
                    if self.kw(r.start, "CONSTRAINT") || constraint_kind(r.start).is_some() {
                        // `r.start - 1` is the `(` or `,` before the item,
                        // in the place of `ADD`.
                        return self.alter_add(r.start - 1, r.end);
                    }
                    self.name(r.start)
                        .map(|(name, _)| AlterOp::AddColumn {
                            name,
                            if_not_exists,
                            insert_at,
                        })
                        .into_iter()
                        .collect()
                })
                .collect();
        }
        match self.name(k) {
            Some((name, _)) => vec![AlterOp::AddColumn {
                name,
                if_not_exists,
                insert_at,
            }],
            None => vec![AlterOp::Other],
        }
    }

    pub(super) fn alter_drop(&self, s: usize, _end: usize) -> AlterOp {
        let mut k = s + 1;
        let with_if_exists = |k: usize| -> (bool, usize) {
            match self.if_exists(k) {
                Some(n) => (true, n),
                None => (false, k),
            }
        };
        let w = self
            .word(k)
            .map(str::to_ascii_uppercase)
            .unwrap_or_default();
        let constraint = match w.as_str() {
            "CONSTRAINT" => Some((ConstraintKind::Unspecified, k)),
            "INDEX" | "KEY" => Some((ConstraintKind::Index, k)),
            "CHECK" => Some((ConstraintKind::Check, k)),
            "FOREIGN" if self.kw(k + 1, "KEY") => Some((ConstraintKind::ForeignKey, k + 1)),
            "PRIMARY" if self.kw(k + 1, "KEY") => {
                return AlterOp::DropConstraint {
                    name: None,
                    constraint: ConstraintKind::PrimaryKey,
                    if_exists: false,
                    insert_at: self.span(k + 1).end,
                }
            }
            "PARTITION" | "DEFAULT" | "EXPRESSION" | "NOT" | "IDENTITY" => return AlterOp::Other,
            _ => None,
        };
        if let Some((ck, last)) = constraint {
            let (if_exists, n) = with_if_exists(last + 1);
            return match self.name(n) {
                Some((name, _)) => AlterOp::DropConstraint {
                    name: Some(name),
                    constraint: ck,
                    if_exists,
                    insert_at: self.span(last).end,
                },
                None => AlterOp::Other,
            };
        }
        let mut insert_at = self.span(s).end;
        if self.kw(k, "COLUMN") {
            insert_at = self.span(k).end;
            k += 1;
        }
        let (if_exists, n) = with_if_exists(k);
        match self.name(n) {
            Some((name, _)) => AlterOp::DropColumn {
                name,
                if_exists,
                insert_at,
            },
            None => AlterOp::Other,
        }
    }

    pub(super) fn alter_rename(&self, s: usize) -> AlterOp {
        let k = s + 1;
        if self.kw_any(k, &["TO", "AS"]) {
            return match self.name(k + 1) {
                Some((new, _)) => AlterOp::RenameTo { new },
                None => AlterOp::Other,
            };
        }
        let pair = |from_at: usize| -> Option<(Name, Name)> {
            let (from, a) = self.name(from_at)?;
            if !self.kw(a, "TO") {
                return None;
            }
            Some((from, self.name(a + 1)?.0))
        };
        let op = if self.kw(k, "CONSTRAINT") {
            pair(k + 1).map(|(from, to)| AlterOp::RenameConstraint { from, to })
        } else if self.kw_any(k, &["INDEX", "KEY"]) {
            pair(k + 1).map(|(from, to)| AlterOp::RenameIndex { from, to })
        } else if self.kw(k, "COLUMN") {
            pair(k + 1).map(|(from, to)| AlterOp::RenameColumn { from, to })
        } else {
            pair(k).map(|(from, to)| AlterOp::RenameColumn { from, to })
        };
        op.unwrap_or(AlterOp::Other)
    }

    /// MySQL `RENAME TABLE a TO b [, c TO d]`.
    pub(super) fn rename_tables(&self, i: usize) -> Kind {
        if !self.kw(i + 1, "TABLE") {
            return if self.kw(i + 1, "USER") {
                Kind::Other
            } else {
                Kind::Unknown
            };
        }
        let mut pairs = Vec::new();
        for r in self.split_commas(i + 2, self.len()) {
            if let Some((from, a)) = self.name(r.start) {
                if self.kw(a, "TO") {
                    if let Some((to, _)) = self.name(a + 1) {
                        pairs.push(RenamePair { from, to });
                    }
                }
            }
        }
        if pairs.is_empty() {
            Kind::Unknown
        } else {
            Kind::RenameTables(pairs)
        }
    }
}
