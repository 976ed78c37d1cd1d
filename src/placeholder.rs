//! `${name}` placeholders: substitution before parsing and replay, and the
//! `undefined-placeholder` findings.
//!
//! Flyway and Liquibase replace `${name}` in migration text before running
//! it, and goose does in `-- +goose ENVSUB ON` sections. twice takes the
//! values from `--define name=value` (repeatable) and, in Flyway folders,
//! from Flyway's own placeholder settings (`flyway.placeholders.<name>`,
//! `spring.flyway.placeholders.<name>`, ..., read with the folder's
//! `schemas` in `layout/flyway/settings.rs`), `--define` winning; where
//! those settings turn replacement off (`placeholderReplacement=false`, or
//! another `placeholderPrefix`), the folder is treated as one of a tool
//! that never substitutes. Substitution is done per
//! statement on [`crate::analysis::Statement::sql`]; statement spans, and so
//! every line and column twice reports, stay on the original file text.
//!
//! Where a placeholder is looked for and flagged when undefined:
//! - Flyway, Liquibase and goose `ENVSUB ON` sections substitute anywhere in
//!   the text, strings and comments included: an undefined placeholder
//!   anywhere in a statement is a finding (Flyway stops with "No value
//!   provided for placeholder", Liquibase runs the literal `${name}`, goose
//!   an empty string);
//! - other layouts (plain files, sqlx, golang-migrate, dbmate, diesel, pop)
//!   never substitute: `${name}` inside a string or comment is data and is
//!   left alone, but a `${name}` where SQL code goes cannot be anything but
//!   an unexpanded placeholder, so it is a finding too. Defined placeholders
//!   are substituted everywhere in every layout: `--define` is an explicit
//!   request.
//!
//! An undefined placeholder in code is replaced by a quoted identifier of
//! its name (`"schema"`, or `` `schema` `` in MySQL) so that sqlparser and the
//! static rules still see the statement (`CREATE TABLE ${schema}.users`
//! stays a CREATE TABLE of `users`). Where no identifier fits (a length in
//! `VARCHAR(${n})`) the statement does not parse; discovery then records it
//! as unresolved and the check drops the other static findings on it, so
//! the user sees the placeholder finding instead of a confusing syntax error.
//! Statements with undefined placeholders in code are listed in
//! [`crate::report::Workspace::unresolved`] for replay to skip; so are those
//! with one anywhere when the tool would not run them as written (see
//! [`crate::layout::PlaceholderPolicy::undefined_runs_as_written`]).
//!
//! psql variables (`:name`, `:'name'` as a string literal, `:"name"` as a
//! quoted identifier) are looked for in PostgreSQL text where code goes, as
//! psql looks for them (not in strings, comments or dollar-quoted bodies;
//! not `::`, `:=` or an array slice's bound): Sqitch runs its PostgreSQL
//! changes through psql with `--set` variables, psql scripts `\set` their
//! own, and graphile-migrate fills its `.gmrc` placeholders written
//! `:NAME`. Their values come from `--define` and from the file's `\set name
//! value` lines (a `\set` from a shell command in backticks has none).
//! Undefined, one where code goes is an `undefined-placeholder` finding
//! and replay leaves its statement out, as for `${name}`: psql would send it
//! as written, which PostgreSQL cannot parse.
//!
//! Flyway's built-in placeholders are always defined when the layout is
//! `flyway`, with values that make the statement runnable on the replay
//! database unless `--define` gives another value:
//! `flyway:defaultSchema` (`main` on sqlite, `public` otherwise),
//! `flyway:user` (`twice`), `flyway:database` (`main` on sqlite, `twice`
//! otherwise), `flyway:timestamp` (a fixed `2000-01-01 00:00:00`, so output
//! is reproducible), `flyway:filename` (the script's file name),
//! `flyway:workingDirectory` (`.`), `flyway:table`
//! (`flyway_schema_history`) and `flyway:environment` (`default`). Any other
//! `flyway:` name is undefined.

use crate::analysis::Substitute;
use crate::dialect::Dialect;
use crate::lexer::{Lexer, TokenKind};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

/// Where undefined placeholders are flagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The tool substitutes anywhere in the text.
    Everywhere,
    /// The tool never substitutes: only `${...}` where code goes is flagged.
    CodeOnly,
}

/// One `${...}` in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// Byte range of the whole `${...}` in the text searched.
    pub range: Range<usize>,
    pub name: String,
    /// `${NAME:-default}` / `${NAME-default}` (environment syntax only).
    pub default: Option<String>,
    /// Outside strings, quoted identifiers and comments.
    pub in_code: bool,
    /// A template action (`{{.Name}}`, Go's `text/template` as syncthing
    /// fills its SQL, or Jinja's `{{ name }}`) rather than `${name}`.
    pub template: bool,
    /// A template action's text between the braces, trimmed.
    pub written: String,
    /// A psql variable (`:name`, `:'name'`, `:"name"`) rather than
    /// `${name}`: how psql interpolates it.
    pub colon: Option<Colon>,
}

/// How psql interpolates a variable: `:name` as written, `:'name'` as a
/// string literal, `:"name"` as a quoted identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colon {
    Plain,
    Literal,
    Ident,
}

impl Occurrence {
    /// A template action that is logic, not a value (`{{if .mysql}}`,
    /// `{{end}}`, `{{ renameTable "a" "b" }}`, `{{ .Name | upper }}`): no
    /// `--define` stands for it.
    pub fn is_logic(&self) -> bool {
        if !self.template {
            return false;
        }
        let path = self.written.strip_prefix('.').unwrap_or(&self.written);
        let value = !path.is_empty()
            && path
                .bytes()
                .all(|b| b == b'_' || b == b'.' || b.is_ascii_alphanumeric());
        !value
            || matches!(
                path,
                "if" | "else"
                    | "end"
                    | "range"
                    | "with"
                    | "define"
                    | "template"
                    | "block"
                    | "break"
                    | "continue"
                    | "endif"
                    | "endfor"
                    | "else if"
            )
    }

    /// As written in the text's syntax (`${name}`, `{{.Name}}`).
    pub fn shown(&self) -> String {
        if let Some(c) = self.colon {
            return match c {
                Colon::Plain => format!(":{}", self.name),
                Colon::Literal => format!(":'{}'", self.name),
                Colon::Ident => format!(":\"{}\"", self.name),
            };
        }
        if self.template {
            format!("{{{{{}}}}}", self.written)
        } else {
            format!("${{{}}}", self.name)
        }
    }
}

/// The substitution settings for one region of a file.
#[derive(Clone, Debug)]
pub struct Placeholders<'a> {
    pub defines: &'a BTreeMap<String, String>,
    pub builtins: BTreeMap<String, String>,
    pub dialect: Dialect,
    pub scope: Scope,
    /// goose ENVSUB: `${NAME:-default}` syntax.
    pub env_syntax: bool,
    /// The tool, for messages ("Flyway").
    pub tool: &'static str,
    /// Text the tool replaces before running a file, whatever the
    /// placeholder syntax (Synapse's `$%AUTO_INCREMENT_PRIMARY_KEY%$`), with
    /// what it becomes in this dialect.
    pub macros: &'static [(&'static str, &'static str)],
    /// The values of the file's psql `\set name value` lines (`None`: set
    /// by a shell command in backticks, which twice does not run); psql
    /// variables are looked for in PostgreSQL files only.
    pub psql_sets: BTreeMap<String, Option<String>>,
    /// The psql variables the file's `\gset` queries set (see
    /// [`psql_gset_names`]): they have a value when psql runs the file, one
    /// twice cannot know (it does not run the query the way psql does).
    pub psql_gsets: std::collections::BTreeSet<String>,
}

fn is_name_byte(b: u8, env: bool) -> bool {
    if env {
        b == b'_' || b.is_ascii_alphanumeric()
    } else {
        b == b'_' || b == b'.' || b == b':' || b == b'-' || b.is_ascii_alphanumeric()
    }
}

/// Every `${name}` of `text`.
pub fn occurrences(text: &str, dialect: Dialect, env_syntax: bool) -> Vec<Occurrence> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(p) = text[i..].find("${") {
        let start = i + p;
        let name_start = start + 2;
        let mut j = name_start;
        while j < bytes.len() && is_name_byte(bytes[j], env_syntax) {
            j += 1;
        }
        let name = &text[name_start..j];
        let mut default = None;
        let mut end = None;
        if !name.is_empty() && bytes.get(j) == Some(&b'}') {
            end = Some(j + 1);
        } else if env_syntax && !name.is_empty() {
            let rest = &text[j..];
            let body = rest.strip_prefix(":-").or_else(|| rest.strip_prefix('-'));
            if let Some(body) = body {
                if let Some(close) = body.find('}') {
                    if !body[..close].contains('\n') {
                        default = Some(body[..close].to_string());
                        end = Some(j + (rest.len() - body.len()) + close + 1);
                    }
                }
            }
        }
        match end {
            Some(e) => {
                found.push(Occurrence {
                    range: start..e,
                    name: name.to_string(),
                    default,
                    in_code: true,
                    template: false,
                    written: String::new(),
                    colon: None,
                });
                i = e;
            }
            None => i = start + 2,
        }
    }
    found.extend(template_actions(text));
    if found.is_empty() {
        return found;
    }
    found.sort_by_key(|o| o.range.start);
    // Which of them sit in strings, quoted identifiers or comments.
    let mut quoted: Vec<Range<usize>> = Vec::new();
    for t in Lexer::new(text, 0..text.len(), dialect) {
        if matches!(
            t.kind,
            TokenKind::String
                | TokenKind::DollarString
                | TokenKind::QuotedIdent
                | TokenKind::LineComment
                | TokenKind::BlockComment
        ) {
            quoted.push(t.span);
        }
    }
    for o in &mut found {
        o.in_code = !quoted
            .iter()
            .any(|q| q.start <= o.range.start && o.range.start < q.end);
    }
    found
}

/// The template actions of `text`: `{{` ... `}}` on one line (at most 200
/// bytes between), whose content starts with a name or `.` (`{{.Flag}}`,
/// `{{ .Schema }}`, `{{ table_name }}`). Their name, for `--define`, is the
/// content without a leading `.`.
fn template_actions(text: &str) -> Vec<Occurrence> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(p) = text[i..].find("{{") {
        let start = i + p;
        let inner_start = start + 2;
        let rest = &text[inner_start..];
        let close = rest
            .char_indices()
            .take_while(|(k, c)| *k <= 200 && *c != '\n')
            .find(|(k, _)| rest[*k..].starts_with("}}"))
            .map(|(k, _)| k);
        let Some(close) = close else {
            i = inner_start;
            continue;
        };
        let written = rest[..close].trim().trim_matches('-').trim();
        let starts_well = written
            .bytes()
            .next()
            .is_some_and(|b| b == b'.' || b == b'_' || b.is_ascii_alphabetic());
        if starts_well {
            let name = written.strip_prefix('.').unwrap_or(written).trim();
            found.push(Occurrence {
                range: start..inner_start + close + 2,
                name: name.to_string(),
                default: None,
                in_code: true,
                template: true,
                written: written.to_string(),
                colon: None,
            });
        }
        i = inner_start + close + 2;
    }
    found
}

/// The psql variables of `text` (PostgreSQL): `:name`, `:'name'` and
/// `:"name"` where code goes, as psql finds them. Not in strings, quoted
/// identifiers, dollar-quoted bodies or comments (psql does not look
/// there), not a cast (`x::text`), not PL/pgSQL's `:=`, and not an array
/// slice's bound (`a[1:n]`).
pub fn colon_occurrences(text: &str) -> Vec<Occurrence> {
    let mut found = Vec::new();
    if !may_hold_colon(text) {
        return found;
    }
    let tokens: Vec<crate::lexer::Token> =
        Lexer::new(text, 0..text.len(), Dialect::Postgres).collect();
    let mut brackets = 0usize;
    for (k, t) in tokens.iter().enumerate() {
        let s = &text[t.span.clone()];
        match t.kind {
            TokenKind::Punct if s == "[" => brackets += 1,
            TokenKind::Punct if s == "]" => brackets = brackets.saturating_sub(1),
            _ => {}
        }
        if brackets > 0 {
            continue;
        }
        let occurrence = match t.kind {
            TokenKind::Param if s.starts_with(':') && s.len() > 1 => {
                Some((t.span.clone(), s[1..].to_string(), Colon::Plain))
            }
            TokenKind::Punct if s == ":" => tokens
                .get(k + 1)
                .filter(|n| n.span.start == t.span.end)
                .and_then(|n| {
                    let inner = &text[n.span.clone()];
                    let (form, quote) = match n.kind {
                        TokenKind::String if inner.starts_with('\'') => (Colon::Literal, '\''),
                        TokenKind::QuotedIdent if inner.starts_with('"') => (Colon::Ident, '"'),
                        _ => return None,
                    };
                    let name = inner.strip_prefix(quote)?.strip_suffix(quote)?;
                    let simple = !name.is_empty()
                        && name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric());
                    simple.then(|| (t.span.start..n.span.end, name.to_string(), form))
                }),
            _ => None,
        };
        if let Some((range, name, form)) = occurrence {
            found.push(Occurrence {
                range,
                name,
                default: None,
                in_code: true,
                template: false,
                written: String::new(),
                colon: Some(form),
            });
        }
    }
    found
}

/// The values of the psql `\set name [value]` lines of `text`, the last
/// one winning: a value in single quotes is unquoted (`''` and `\'` stand
/// for a quote), one in backticks is a shell command's output (`None`:
/// twice runs no command), several words are joined as psql joins them,
/// and no value is the empty string.
pub fn psql_sets(text: &str) -> BTreeMap<String, Option<String>> {
    let mut sets = BTreeMap::new();
    if !text.contains("\\set") {
        return sets;
    }
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("\\set") else {
            continue;
        };
        if !rest.starts_with([' ', '\t']) {
            continue;
        }
        let mut words = rest.split_whitespace();
        let Some(name) = words.next() else { continue };
        if !name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()) {
            continue;
        }
        let mut value = Some(String::new());
        for w in words {
            if w.starts_with('`') {
                value = None;
                break;
            }
            let w = match w.strip_prefix('\'').and_then(|w| w.strip_suffix('\'')) {
                Some(q) => q.replace("''", "'").replace("\\'", "'"),
                None => w.to_string(),
            };
            if let Some(v) = &mut value {
                v.push_str(&w);
            }
        }
        sets.insert(name.to_string(), value);
    }
    sets
}

/// The psql variables the `\gset [prefix]` queries of `text` set: one per
/// column of the query's result, named by its alias (or the column or
/// function it shows), after the prefix. Read from the top-level select
/// list; a column whose name cannot be told is left out.
pub fn psql_gset_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    if !text.contains("\\gset") {
        return names;
    }
    for st in crate::split::split(text, 0..text.len(), Dialect::Postgres) {
        let Some(prefix) = st
            .terminator
            .as_ref()
            .and_then(|t| text.get(t.clone()))
            .and_then(|t| t.strip_prefix("\\gset"))
            .filter(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        else {
            continue;
        };
        let prefix = prefix.split_whitespace().next().unwrap_or("");
        for column in select_list_names(text, &st.tokens) {
            names.insert(format!("{prefix}{column}"));
        }
    }
    names
}

/// The names PostgreSQL gives the columns of a query's top-level select
/// list (`AS x` or `x` after an expression, else the last column or
/// function name); `None` entries are left out.
fn select_list_names(text: &str, tokens: &[crate::lexer::Token]) -> Vec<String> {
    use crate::lexer::TokenKind;
    let word = |t: &crate::lexer::Token| &text[t.span.clone()];
    let name_of = |t: &crate::lexer::Token| match t.kind {
        TokenKind::Word => Some(word(t).to_ascii_lowercase()),
        TokenKind::QuotedIdent => {
            let w = word(t);
            Some(w[1..w.len().saturating_sub(1).max(1)].replace("\"\"", "\""))
        }
        _ => None,
    };
    let Some(start) = tokens
        .iter()
        .position(|t| t.kind == TokenKind::Word && word(t).eq_ignore_ascii_case("SELECT"))
    else {
        return Vec::new();
    };
    let mut items: Vec<Vec<&crate::lexer::Token>> = vec![Vec::new()];
    let mut depth = 0usize;
    for t in &tokens[start + 1..] {
        let w = word(t);
        match (t.kind, w) {
            (TokenKind::Punct, "(" | "[") => depth += 1,
            (TokenKind::Punct, ")" | "]") => depth = depth.saturating_sub(1),
            (TokenKind::Punct, ",") if depth == 0 => {
                items.push(Vec::new());
                continue;
            }
            (TokenKind::Word, _)
                if depth == 0
                    && [
                        "FROM", "WHERE", "GROUP", "ORDER", "LIMIT", "UNION", "INTO", "HAVING",
                    ]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                break
            }
            _ => {}
        }
        if let Some(i) = items.last_mut() {
            i.push(t);
        }
    }
    let mut out = Vec::new();
    for item in items {
        let item: Vec<_> = item
            .into_iter()
            .skip_while(|t| {
                t.kind == TokenKind::Word
                    && ["DISTINCT", "ALL"]
                        .iter()
                        .any(|k| word(t).eq_ignore_ascii_case(k))
            })
            .collect();
        let Some(last) = item.last() else { continue };
        let name = if item.len() >= 2 {
            // `expr AS name`, `expr name`, `t.col`, `f(...)`.
            match (item[item.len() - 2].kind, word(item[item.len() - 2])) {
                (TokenKind::Word, w) if w.eq_ignore_ascii_case("AS") => name_of(last),
                (TokenKind::Punct, ".") => name_of(last),
                _ if word(last) == ")" => item
                    .iter()
                    .position(|t| word(t) == "(")
                    .and_then(|p| p.checked_sub(1))
                    .and_then(|p| name_of(item[p])),
                // An operator before the last word: `a + b` has no name.
                (TokenKind::Punct, w) if w != ")" && w != "]" => None,
                // `expr name`: an alias without AS.
                _ => name_of(last),
            }
        } else {
            name_of(last)
        };
        if let Some(n) = name {
            out.push(n);
        }
    }
    out
}

/// Whether `text` may hold a placeholder or template action.
fn may_hold(text: &str) -> bool {
    text.contains("${") || text.contains("{{")
}

/// Whether `text` may hold a psql variable: a `:` followed by a name or a
/// quote that is not the second of a `::` cast (the lexer pairs colons from
/// the left, so such a `:` ends a run of an odd number of them). Casts are
/// in most PostgreSQL statements; this keeps them from being lexed again.
fn may_hold_colon(text: &str) -> bool {
    let b = text.as_bytes();
    let mut run = 0usize;
    for (i, &c) in b.iter().enumerate() {
        if c != b':' {
            run = 0;
            continue;
        }
        run += 1;
        let next = b.get(i + 1).copied().unwrap_or(0);
        let starts = next == b'_' || next.is_ascii_alphabetic() || next >= 0x80;
        if run % 2 == 1 && (starts || next == b'\'' || next == b'"') {
            return true;
        }
    }
    false
}

/// `value` as psql interpolates a variable written `colon`.
fn psql_quoted(colon: Option<Colon>, value: &str) -> Cow<'_, str> {
    match colon {
        Some(Colon::Literal) => Cow::Owned(format!("'{}'", value.replace('\'', "''"))),
        Some(Colon::Ident) => Cow::Owned(format!("\"{}\"", value.replace('"', "\"\""))),
        _ => Cow::Borrowed(value),
    }
}

/// `name` for a macro written as a `${name}` placeholder.
fn placeholder_macro(m: &str) -> Option<&str> {
    m.strip_prefix("${")?.strip_suffix('}')
}

impl Placeholders<'_> {
    /// Whether psql variables are looked for: in PostgreSQL text, which
    /// psql (Sqitch's client, psql scripts) or graphile-migrate fills in.
    fn colons(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    /// Whether `text` may hold a placeholder, template action or psql
    /// variable.
    fn may_hold(&self, text: &str) -> bool {
        may_hold(text) || (self.colons() && may_hold_colon(text))
    }

    /// Every placeholder, template action and psql variable of `text`, in
    /// text order.
    fn find(&self, text: &str) -> Vec<Occurrence> {
        let mut found = if may_hold(text) {
            occurrences(text, self.dialect, self.env_syntax)
        } else {
            Vec::new()
        };
        if self.colons() {
            let colons = colon_occurrences(text);
            if !colons.is_empty() {
                found.extend(colons);
                found.sort_by_key(|o| o.range.start);
                // A `${...}` holding a colon wins over the colon inside it.
                let mut end = 0;
                found.retain(|o| {
                    let keep = o.range.start >= end;
                    if keep {
                        end = o.range.end;
                    }
                    keep
                });
            }
        }
        found
    }

    /// The value of `o`, if it has one.
    pub fn value<'s>(&'s self, o: &'s Occurrence) -> Option<&'s str> {
        if o.colon.is_some() {
            // `--define`, then the file's own `\set`, then a layout's macro
            // written as one (graphile-migrate's `:DATABASE_OWNER`).
            return self
                .defines
                .get(&o.name)
                .map(String::as_str)
                .or_else(|| self.psql_sets.get(&o.name).and_then(|v| v.as_deref()))
                .or_else(|| {
                    (o.colon == Some(Colon::Plain))
                        .then(|| {
                            self.macros
                                .iter()
                                .find(|(m, _)| m.strip_prefix(':') == Some(o.name.as_str()))
                                .map(|(_, v)| *v)
                        })
                        .flatten()
                });
        }
        self.defines
            .get(&o.name)
            .or_else(|| self.builtins.get(&o.name))
            .map(String::as_str)
            .or_else(|| {
                // A layout's macro written as a placeholder (`${changelog}`
                // in MyBatis Migrations): its value unless `--define` gives one.
                self.macros
                    .iter()
                    .find(|(m, _)| placeholder_macro(m) == Some(o.name.as_str()))
                    .map(|(_, v)| *v)
            })
            .or(o.default.as_deref())
    }

    /// The undefined placeholders of `text` that deserve a finding.
    pub fn undefined(&self, text: &str) -> Vec<Occurrence> {
        if !self.may_hold(text) {
            return Vec::new();
        }
        self.find(text)
            .into_iter()
            // (No tool fills a template action in a string or comment.)
            .filter(|o| {
                self.value(o).is_none()
                    && !self.set_by_query(o)
                    && (o.in_code || (self.scope == Scope::Everywhere && !o.template))
            })
            .collect()
    }

    /// Whether `o` is a psql variable a `\gset` of the file sets (and no
    /// `--define` gives a value): psql fills it, twice cannot.
    pub fn set_by_query(&self, o: &Occurrence) -> bool {
        o.colon.is_some() && self.psql_gsets.contains(&o.name) && self.value(o).is_none()
    }

    /// Whether `text` holds a psql variable only a `\gset` query sets: the
    /// statement cannot run as written, though nothing is wrong with it.
    pub fn needs_query_value(&self, text: &str) -> bool {
        !self.psql_gsets.is_empty()
            && self.may_hold(text)
            && self
                .find(text)
                .iter()
                .any(|o| o.in_code && self.set_by_query(o))
    }

    /// The message and help of a finding about `o`.
    pub fn describe(&self, o: &Occurrence) -> (String, String) {
        if o.colon.is_some() {
            let from_shell = matches!(self.psql_sets.get(&o.name), Some(None));
            let message = if from_shell {
                format!(
                    "psql variable `{}` has no value: the file's `\\set {}` takes it from a shell \
                     command, which twice does not run, and the statement is not valid SQL until \
                     psql substitutes it",
                    o.shown(),
                    o.name
                )
            } else {
                format!(
                    "psql variable `{}` has no value: psql substitutes it before sending the \
                     statement (`\\set`, `psql --set`, Sqitch's `--set` or `deploy.variables`, \
                     graphile-migrate's `.gmrc` placeholders); as written it is not valid SQL",
                    o.shown()
                )
            };
            let help = format!(
                "pass `--define {}=VALUE` with the value the migration tool gives it; replay \
                 leaves this statement out until then",
                o.name
            );
            return (message, help);
        }
        if o.is_logic() {
            return (
                format!(
                    "template logic `{}`: this statement is a template (Go's text/template or \
                     alike) that the application renders into SQL, not SQL itself",
                    o.shown()
                ),
                "no `--define` stands for template logic: check the SQL the application renders \
                 (save it to a file and run `twice check` on that), or leave this folder out \
                 (`exclude` in twice.toml)"
                    .into(),
            );
        }
        let message = if o.template {
            format!(
                "template action `{}` has no value: this statement is a template, not valid SQL until \
                 the application fills it in",
                o.shown()
            )
        } else if o.in_code {
            format!(
                "placeholder `{}` has no value: this statement is not valid SQL until it is substituted",
                o.shown()
            )
        } else {
            format!(
                "placeholder `{}` has no value: {} substitutes it before running this statement",
                o.shown(),
                self.tool
            )
        };
        let help = if o.template {
            format!(
                "pass `--define {}=VALUE` with the value the application's template gets",
                o.name
            )
        } else {
            format!(
                "pass `--define {}=VALUE` with the value the migration tool uses",
                o.name
            )
        };
        (message, help)
    }

    fn neutral(&self, name: &str) -> String {
        match self.dialect {
            Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }
}

/// The most text substitution may add to one file: above it (a 1 MB value
/// used 20,000 times would make 20 GB), the check stops with an error
/// instead of running out of memory. SQLite's replay refuses statements
/// over 64 MiB anyway.
pub const MAX_SUBSTITUTED_BYTES: usize = 64 << 20;

impl Placeholders<'_> {
    /// How many bytes substitution adds to `text` (one region of a file),
    /// and the offset of the occurrence at which the total first exceeds
    /// `budget`, if it does.
    pub fn growth(&self, text: &str, budget: usize) -> (usize, Option<usize>) {
        if !self.may_hold(text) {
            return (0, None);
        }
        let mut added = 0usize;
        for o in self.find(text) {
            if o.template && !o.in_code {
                continue;
            }
            let len = match self.value(&o) {
                Some(v) => psql_quoted(o.colon, v).len(),
                None if o.in_code => o.name.len() + 2,
                None => continue,
            };
            added = added.saturating_add(len.saturating_sub(o.range.len()));
            if added > budget {
                return (added, Some(o.range.start));
            }
        }
        (added, None)
    }
}

impl Substitute for Placeholders<'_> {
    fn substitute<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        let plain = |m: &&(&str, &str)| placeholder_macro(m.0).is_none();
        if self
            .macros
            .iter()
            .filter(plain)
            .any(|(m, _)| sql.contains(m))
        {
            let mut text = sql.to_string();
            for (m, v) in self.macros.iter().filter(plain) {
                text = text.replace(m, v);
            }
            return Cow::Owned(self.substitute(&text).into_owned());
        }
        if !self.may_hold(sql) {
            return Cow::Borrowed(sql);
        }
        let found = self.find(sql);
        let mut out = String::with_capacity(sql.len());
        let mut last = 0;
        let mut changed = false;
        for o in &found {
            // A template action in a string or comment is data.
            if o.template && !o.in_code {
                continue;
            }
            let replacement = match self.value(o) {
                Some(v) => psql_quoted(o.colon, v).into_owned(),
                None if o.colon == Some(Colon::Literal) => {
                    psql_quoted(o.colon, &o.name).into_owned()
                }
                None if o.in_code => self.neutral(&o.name),
                None => continue,
            };
            out.push_str(&sql[last..o.range.start]);
            out.push_str(&replacement);
            last = o.range.end;
            changed = true;
        }
        if !changed {
            return Cow::Borrowed(sql);
        }
        out.push_str(&sql[last..]);
        Cow::Owned(out)
    }
}

/// Flyway's built-in placeholders (see the module docs).
pub fn flyway_builtins(dialect: Dialect, file_name: &str) -> BTreeMap<String, String> {
    let sqlite = dialect == Dialect::Sqlite;
    [
        (
            "flyway:defaultSchema",
            if sqlite { "main" } else { "public" },
        ),
        ("flyway:user", "twice"),
        ("flyway:database", if sqlite { "main" } else { "twice" }),
        ("flyway:timestamp", "2000-01-01 00:00:00"),
        ("flyway:filename", file_name),
        ("flyway:workingDirectory", "."),
        ("flyway:table", "flyway_schema_history"),
        ("flyway:environment", "default"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph(defines: &BTreeMap<String, String>, scope: Scope) -> Placeholders<'_> {
        Placeholders {
            defines,
            builtins: flyway_builtins(Dialect::Sqlite, "V1__x.sql"),
            dialect: Dialect::Sqlite,
            scope,
            env_syntax: false,
            tool: "Flyway",
            macros: &[],
            psql_sets: BTreeMap::new(),
            psql_gsets: Default::default(),
        }
    }

    #[test]
    fn finds_placeholders_and_their_context() {
        let o = occurrences(
            "CREATE TABLE ${schema}.t (x TEXT DEFAULT '${v}') -- ${c}\n",
            Dialect::Sqlite,
            false,
        );
        let v: Vec<(&str, bool)> = o.iter().map(|o| (o.name.as_str(), o.in_code)).collect();
        assert_eq!(v, vec![("schema", true), ("v", false), ("c", false)]);
        assert!(occurrences("${} ${a b} $x {y}", Dialect::Sqlite, false).is_empty());
    }

    #[test]
    fn substitutes_defined_and_neutralises_undefined_code() {
        let mut d = BTreeMap::new();
        d.insert("v".to_string(), "hello".to_string());
        let p = ph(&d, Scope::Everywhere);
        assert_eq!(
            p.substitute("INSERT INTO ${flyway:defaultSchema}.${t} VALUES ('${v}', '${w}')"),
            "INSERT INTO main.\"t\" VALUES ('hello', '${w}')"
        );
        let names: Vec<String> = p
            .undefined("INSERT INTO ${t} VALUES ('${v}', '${w}')")
            .into_iter()
            .map(|o| o.name)
            .collect();
        assert_eq!(names, vec!["t", "w"]);
        let p = ph(&d, Scope::CodeOnly);
        assert_eq!(p.undefined("SELECT '${w}', ${t}").len(), 1);
        assert!(matches!(p.substitute("SELECT 1"), Cow::Borrowed(_)));
    }

    #[test]
    fn template_logic_is_not_a_value() {
        let logic = |written: &str| {
            template_actions(&format!("SELECT {{{{{written}}}}}"))
                .first()
                .is_some_and(Occurrence::is_logic)
        };
        for w in [".Name", "table_name", " .Schema ", ".a.b_c"] {
            assert!(!logic(w), "{w}");
        }
        for w in [
            "if .mysql",
            "end",
            "else",
            "- end -",
            "range .Tables",
            "addColumnIfNeeded \"blocks\" \"root_id\"",
            ".Name | upper",
        ] {
            assert!(logic(w), "{w}");
        }
    }

    #[test]
    fn template_actions_where_code_goes() {
        let text =
            "UPDATE files SET flags = flags | {{.FlagInvalid}} WHERE name = '{{ .Name }}';\n\
                    -- {{.InComment}}\nSELECT {{ limit }}, '{' || '}', '{{', x {{ 1 }}";
        let o = occurrences(text, Dialect::Sqlite, false);
        let v: Vec<(&str, bool, bool)> = o
            .iter()
            .map(|o| (o.name.as_str(), o.in_code, o.template))
            .collect();
        assert_eq!(
            v,
            vec![
                ("FlagInvalid", true, true),
                ("Name", false, true),
                ("InComment", false, true),
                ("limit", true, true),
            ]
        );
        assert_eq!(o[0].shown(), "{{.FlagInvalid}}");
        // Flagged in code only, whatever the scope: no migration tool fills
        // them, in a string they are data.
        let none = BTreeMap::new();
        for scope in [Scope::Everywhere, Scope::CodeOnly] {
            let names: Vec<String> = ph(&none, scope)
                .undefined(text)
                .into_iter()
                .map(|o| o.name)
                .collect();
            assert_eq!(names, vec!["FlagInvalid", "limit"]);
        }
        let mut d = BTreeMap::new();
        d.insert("FlagInvalid".to_string(), "4".to_string());
        d.insert("Name".to_string(), "x".to_string());
        assert_eq!(
            ph(&d, Scope::CodeOnly).substitute("SELECT {{.FlagInvalid}}, '{{.Name}}'"),
            "SELECT 4, '{{.Name}}'"
        );
        let (message, help) = ph(&none, Scope::CodeOnly).describe(&o[0]);
        assert!(message.starts_with("template action `{{.FlagInvalid}}` has no value"));
        assert!(help.contains("--define FlagInvalid=VALUE"));
        // Not actions: an unclosed `{{`, one across lines, an empty one.
        assert!(
            occurrences("SELECT '{{' || x; {{\n.A}} {{ }}", Dialect::Sqlite, false)
                .iter()
                .all(|o| !o.in_code || !o.template)
        );
    }

    #[test]
    fn environment_defaults() {
        let d = BTreeMap::new();
        let mut p = ph(&d, Scope::Everywhere);
        p.env_syntax = true;
        assert_eq!(
            p.substitute("SELECT '${A:-x}', ${B-y}, ${C}"),
            "SELECT 'x', y, \"C\""
        );
        assert_eq!(p.undefined("SELECT '${A:-x}', ${C}").len(), 1);
    }

    #[test]
    fn psql_variables_are_found_where_psql_looks() {
        let names = |text: &str| -> Vec<(String, Option<Colon>)> {
            colon_occurrences(text)
                .into_iter()
                .map(|o| (o.name, o.colon))
                .collect()
        };
        assert_eq!(
            names("GRANT USAGE ON SCHEMA s TO :role; SELECT :'pw', :\"tbl\".x"),
            vec![
                ("role".to_string(), Some(Colon::Plain)),
                ("pw".to_string(), Some(Colon::Literal)),
                ("tbl".to_string(), Some(Colon::Ident)),
            ]
        );
        // Not a variable: a cast, `:=`, a slice, strings, comments, bodies,
        // a colon apart from its quote.
        assert!(names(
            "SELECT x::text, a[1:n], a[lo:hi][2:3], ':v', \":v\" -- :v\n\
             /* :v */ $$ BEGIN y := :v; END $$, : 'a', :'a b'"
        )
        .is_empty());
    }

    #[test]
    fn gset_queries_set_psql_variables() {
        let text = "SELECT count(*) > 0 AS has_rows, max(t.v), t.id, \"Mixed\", now(), 1 + 2\nFROM t \\gset\n\
                    SELECT 'x' = 'x' is_fresh \\gset p_\nSELECT 1 AS nope;\nSELECT 2 AS no_gsetx \\gsetx\n;";
        let names: Vec<String> = psql_gset_names(text).into_iter().collect();
        assert_eq!(
            names,
            vec!["Mixed", "has_rows", "id", "max", "now", "p_is_fresh"]
        );
        let d = BTreeMap::new();
        let mut p = ph(&d, Scope::CodeOnly);
        p.dialect = Dialect::Postgres;
        p.psql_gsets = psql_gset_names(text);
        // Set by a query: no finding, but not runnable as written.
        assert!(p.undefined("SELECT :'has_rows', :p_is_fresh").is_empty());
        assert!(p.needs_query_value("SELECT :'has_rows'"));
        assert!(!p.needs_query_value("SELECT ':has_rows'"));
        assert_eq!(p.undefined("SELECT :is_fresh").len(), 1);
    }

    #[test]
    fn casts_alone_hold_no_psql_variable() {
        assert!(!may_hold_colon(
            "SELECT x::text, y::int[], '{\"a\": 1}'::jsonb, z := 1"
        ));
        for text in [":a", "TO :role", ":'pw'", ":\"t\"", "x:::y", "a[1:n]"] {
            assert!(may_hold_colon(text), "{text}");
        }
    }

    #[test]
    fn psql_variables_take_defines_and_set_lines() {
        let mut d = BTreeMap::new();
        d.insert("owner".to_string(), "app".to_string());
        let mut p = ph(&d, Scope::CodeOnly);
        p.dialect = Dialect::Postgres;
        p.psql_sets = psql_sets(
            "\\set ON_ERROR_STOP on\n  \\set pw 'it''s'\n\\set secret `cat /run/x`\n\\set empty\n",
        );
        assert_eq!(p.psql_sets.get("pw"), Some(&Some("it's".to_string())));
        assert_eq!(p.psql_sets.get("secret"), Some(&None));
        assert_eq!(p.psql_sets.get("empty"), Some(&Some(String::new())));
        assert_eq!(
            p.substitute("ALTER TABLE t OWNER TO :owner; -- :owner"),
            "ALTER TABLE t OWNER TO app; -- :owner"
        );
        assert_eq!(
            p.substitute("CREATE ROLE :\"owner\" PASSWORD :'pw'"),
            "CREATE ROLE \"app\" PASSWORD 'it''s'"
        );
        // Undefined: flagged, and neutralised so the statement still parses.
        let undefined: Vec<String> = p
            .undefined("GRANT x TO :secret, :nobody; SELECT :'pw'")
            .into_iter()
            .map(|o| o.shown())
            .collect();
        assert_eq!(undefined, vec![":secret", ":nobody"]);
        assert_eq!(
            p.substitute("GRANT x TO :secret PASSWORD :'nobody'"),
            "GRANT x TO \"secret\" PASSWORD 'nobody'"
        );
        let o = &p.undefined("GRANT x TO :secret")[0];
        let (message, help) = p.describe(o);
        assert!(message.contains("shell command"), "{message}");
        assert!(help.contains("--define secret=VALUE"), "{help}");
        // A `${...}` holding a colon is one placeholder, not a variable.
        let mut f = ph(&d, Scope::Everywhere);
        f.dialect = Dialect::Postgres;
        assert_eq!(
            f.substitute("SET search_path = ${flyway:defaultSchema}"),
            "SET search_path = main"
        );
        // Other dialects have no psql: SQLite's `:name` is a parameter.
        assert!(ph(&d, Scope::CodeOnly)
            .undefined("SELECT :nobody")
            .is_empty());
    }
}
