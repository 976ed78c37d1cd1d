//! The rules. Each rule lives in its own file with its documentation beside
//! its code; [`REGISTRY`] lists them all. Adding a rule means adding one file,
//! one line here and its fixtures under `fixtures/rules/<id>/`.
//!
//! Rules that replay (or discovery) reports are registered here too, with
//! their documentation, so `twice rules`, `twice explain` and SARIF know
//! every id twice can emit; their `check` is not called.
//!
//! Shared machinery: [`Unit`] (a statement, or a SQL statement inside a DO
//! block, as the rules see it), [`index::FileIndex`] (what earlier and later
//! statements of the same migration do to each object), [`dml`] (what
//! INSERT/UPDATE statements write) and [`text`] (help-text helpers).

pub mod applied_migration_changed;
pub mod malformed_migration;
pub mod undefined_placeholder;

// Replay rules: reported by `crate::replay`, registered here for their docs.
pub mod down_does_not_revert;
pub mod down_second_run_change;
pub mod down_second_run_error;
pub mod first_run_error;
pub mod replay_denied;
pub mod replay_resource_limit;
pub mod replay_seed_withdrawn;
pub mod replay_statement_skipped;
pub mod replay_timeout;
pub mod second_run_data_change;
pub mod second_run_data_loss;
pub mod second_run_error;
pub mod second_run_overwrites;
pub mod second_run_schema_change;

use crate::analysis::Statement;
use crate::classify::Kind;
use crate::classify::Name;
use crate::dialect::Dialect;
use crate::finding::{Finding, FindingBuilder, Origin, Severity};
use crate::lexer::Token;
use crate::source::SourceFile;
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::rc::Rc;

pub mod dml;
pub mod index;
pub mod text;

pub mod add_column_without_if_not_exists;
pub mod add_constraint_without_guard;
pub mod alter_column_type_using;
pub mod binary_file;
pub mod create_without_if_not_exists;
pub mod destructive_rerun;
pub mod drop_without_if_exists;
pub mod insert_without_conflict_clause;
pub mod nondeterministic_value;
pub mod relative_update;
pub mod rename_without_guard;
pub mod second_run_sequence_advance;
pub mod sequence_fixes;
pub mod sequence_reset;
pub mod syntax_error;
pub mod unparsed_statement;

pub mod unused_suppression;

/// Replay rules whose findings confirm the static findings about the same
/// statement: a second run (of the up or the down part) that fails or
/// changes something, where a static rule said it would. A static rule
/// owns the findings of these rules about its statement: `[rules] <id> =
/// "off"` (or `--ignore <id>`) drops them too, a lower level lowers them, and
/// every format shows them inside the static finding. `first-run-error`,
/// `down-does-not-revert` and the replay limits are about the migration, not
/// about running it twice, and stay on their own.
pub static CONFIRMING_RULES: [&RuleMeta; 8] = [
    &second_run_error::META,
    &second_run_schema_change::META,
    &second_run_data_change::META,
    &second_run_data_loss::META,
    &second_run_overwrites::META,
    &second_run_sequence_advance::META,
    &down_second_run_error::META,
    &down_second_run_change::META,
];

/// Whether `id` is one of the [`CONFIRMING_RULES`].
pub fn confirms(id: &str) -> bool {
    CONFIRMING_RULES.iter().any(|m| m.id == id)
}

/// What `twice rules`, `twice explain` and SARIF know about a rule.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable id (a public contract).
    pub id: &'static str,
    pub severity: Severity,
    /// Who reports it.
    pub origin: Origin,
    /// One line, for `twice rules` and SARIF `shortDescription`.
    pub summary: &'static str,
    /// The full documentation in Markdown, with the sections
    /// `## What it does`, `## Why it matters`, `## Example`, `## Fix`.
    pub doc: &'static str,
    /// Whether `--fix` can rewrite findings of this rule (sometimes).
    pub fixable: bool,
}

impl RuleMeta {
    /// A finding of this rule in `file` at the byte span `span`: its id,
    /// severity and origin come from here.
    pub fn at(&self, file: &SourceFile, span: Range<usize>, message: String) -> Finding {
        FindingBuilder { file }.at(self.id, self.severity, self.origin, span, message)
    }
}

/// Everything a static rule may look at for one statement.
pub struct Context<'a> {
    pub file: &'a SourceFile,
    pub dialect: Dialect,
    /// All statements of the file (for "guarded by an earlier DROP ... IF EXISTS").
    pub statements: &'a [Statement],
    /// Built on first use, once per file.
    index: OnceCell<index::FileIndex>,
    /// The last DML analysis, keyed by the unit's position: several rules
    /// look at the same UPDATE or upsert one after the other.
    writes: RefCell<Option<(usize, Rc<dml::Writes>)>>,
    /// The generated-name pairs of each table (lower case) and group, asked
    /// for each ALTER TABLE action that drops or adds a constraint.
    generated: RefCell<HashMap<(usize, String), Rc<Pairs>>>,
}

/// The ALTER TABLE actions of one table and group that have their partner in
/// a generated-name pair.
pub type Pairs = HashSet<index::ActionAt>;

impl<'a> Context<'a> {
    pub fn new(file: &'a SourceFile, dialect: Dialect, statements: &'a [Statement]) -> Self {
        Self::with_index(file, dialect, statements, None)
    }

    /// A context that reuses the file index an earlier context over the
    /// same statements built (see [`Context::into_index`]).
    pub fn with_index(
        file: &'a SourceFile,
        dialect: Dialect,
        statements: &'a [Statement],
        index: Option<index::FileIndex>,
    ) -> Self {
        let cell = OnceCell::new();
        if let Some(i) = index {
            let _ = cell.set(i);
        }
        Context {
            file,
            dialect,
            statements,
            index: cell,
            writes: RefCell::new(None),
            generated: RefCell::new(HashMap::new()),
        }
    }

    /// The file index, if it was built, to hand on to the next context.
    pub fn into_index(self) -> Option<index::FileIndex> {
        self.index.into_inner()
    }

    /// The DML analysis of `unit`, computed once for all rules.
    pub fn writes(&self, unit: &Unit, compute: impl FnOnce() -> dml::Writes) -> Rc<dml::Writes> {
        if let Some((pos, w)) = &*self.writes.borrow() {
            if *pos == unit.pos() {
                return Rc::clone(w);
            }
        }
        let w = Rc::new(compute());
        *self.writes.borrow_mut() = Some((unit.pos(), Rc::clone(&w)));
        w
    }

    /// The actions of `table`'s ALTER TABLEs in `group` that have their
    /// partner in a generated-name pair ([`index::generated_pairs`]),
    /// computed once.
    pub fn generated_pairs(&self, group: usize, table: &Name) -> Rc<Pairs> {
        let key = (group, table.object().to_ascii_lowercase());
        if let Some(p) = self.generated.borrow().get(&key) {
            return Rc::clone(p);
        }
        let pairs = Rc::new(index::generated_pairs(self, group, table));
        self.generated.borrow_mut().insert(key, Rc::clone(&pairs));
        pairs
    }

    /// What the statements of this file do to each object, for questions
    /// like "does this table exist when a second run reaches this statement?".
    pub fn index(&self) -> &index::FileIndex {
        self.index
            .get_or_init(|| index::FileIndex::build(self.statements, &self.file.text))
    }

    /// A finding of `meta`'s rule about `unit`: it points at the unit's first
    /// token and spans the unit.
    pub fn finding(&self, meta: &RuleMeta, unit: &Unit, message: String) -> Finding {
        let b = FindingBuilder { file: self.file };
        let mut f = b.at(
            meta.id,
            meta.severity,
            meta.origin,
            unit.span.clone(),
            message,
        );
        f.statement = Some(unit.stmt.index);
        f
    }

    /// A finding about part of a unit (one action of a multi-action
    /// `ALTER TABLE`): it points at `span`, not at the statement's start.
    pub fn finding_at(
        &self,
        meta: &RuleMeta,
        unit: &Unit,
        span: Range<usize>,
        message: String,
    ) -> Finding {
        let mut f = self.finding(meta, unit, message);
        let b = FindingBuilder { file: self.file };
        let at = b.at(
            meta.id,
            meta.severity,
            meta.origin,
            span.clone(),
            String::new(),
        );
        (f.line, f.column, f.end_line, f.end_column, f.span) =
            (at.line, at.column, at.end_line, at.end_column, span);
        f
    }

    /// The text of a file span.
    pub fn text(&self, span: Range<usize>) -> &'a str {
        self.file.text.get(span).unwrap_or("")
    }
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    /// Appends findings about `stmt` to `out`.
    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>);
}

/// A statement as the rules see it: a top-level statement, or a SQL
/// statement inside a Postgres DO block (which runs when the block runs).
pub struct Unit<'a> {
    pub stmt: &'a Statement,
    pub kind: &'a Kind,
    /// Its significant tokens; token indexes in `kind` index this slice.
    pub tokens: &'a [Token],
    /// Its span in the file.
    pub span: Range<usize>,
    /// Inside a DO block, under an existence check or a catching handler:
    /// it runs once, whatever it does.
    pub guarded: bool,
    /// Inside a DO block.
    pub in_do: bool,
}

impl<'a> Unit<'a> {
    /// The sqlparser AST (only for top-level statements that parse). The
    /// statement is parsed on first use: ask only when the token-level
    /// facts are not enough.
    pub fn ast(&self) -> Option<&'a sqlparser::ast::Statement> {
        if self.in_do {
            None
        } else {
            self.stmt.ast()
        }
    }

    /// The statement's position in the file, to order it against others.
    pub fn pos(&self) -> usize {
        self.span.start
    }

    /// Token helpers over this unit.
    pub fn toks(&self, cx: &Context<'a>) -> crate::classify::Toks<'a> {
        crate::classify::Toks {
            text: &cx.file.text,
            toks: self.tokens,
            dialect: cx.dialect,
        }
    }
}

/// The units of a statement: itself, then the SQL statements of its DO
/// block. A lexically broken statement has none (`syntax-error` covers it).
pub fn units(stmt: &Statement) -> impl Iterator<Item = Unit<'_>> {
    let broken = stmt.lex_error.is_some();
    let own = (!broken).then(|| Unit {
        stmt,
        kind: &stmt.facts.kind,
        tokens: &stmt.tokens,
        span: stmt.span.clone(),
        guarded: false,
        in_do: false,
    });
    let inner = match (&stmt.facts.kind, broken) {
        (Kind::Do(d), false) => d.inner.as_slice(),
        _ => &[],
    };
    let body_tokens: &[Token] = match &stmt.facts.kind {
        Kind::Do(d) => &d.tokens,
        _ => &[],
    };
    own.into_iter().chain(inner.iter().map(move |s| Unit {
        stmt,
        kind: &s.kind,
        tokens: body_tokens.get(s.tokens.clone()).unwrap_or(&[]),
        span: s.span.clone(),
        guarded: s.guarded,
        in_do: true,
    }))
}

/// Every rule twice knows, static ones first, in `twice rules` order.
pub fn registry() -> &'static [&'static RuleMeta] {
    REGISTRY
}

static REGISTRY: &[&RuleMeta] = &[
    &create_without_if_not_exists::META,
    &drop_without_if_exists::META,
    &insert_without_conflict_clause::META,
    &relative_update::META,
    &add_column_without_if_not_exists::META,
    &add_constraint_without_guard::META,
    &rename_without_guard::META,
    &alter_column_type_using::META,
    &destructive_rerun::META,
    &nondeterministic_value::META,
    &sequence_reset::META,
    &syntax_error::META,
    &unparsed_statement::META,
    &binary_file::META,
    &unused_suppression::META,
    &undefined_placeholder::META,
    &malformed_migration::META,
    &applied_migration_changed::META,
    // Replay rules.
    &first_run_error::META,
    &second_run_error::META,
    &second_run_schema_change::META,
    &second_run_data_change::META,
    &second_run_data_loss::META,
    &second_run_overwrites::META,
    &down_does_not_revert::META,
    &down_second_run_error::META,
    &down_second_run_change::META,
    &replay_denied::META,
    &replay_timeout::META,
    &replay_resource_limit::META,
    &replay_statement_skipped::META,
    &replay_seed_withdrawn::META,
    &second_run_sequence_advance::META,
];

/// The static rules that run on every statement.
pub fn static_rules() -> &'static [&'static dyn Rule] {
    STATIC_RULES
}

static STATIC_RULES: &[&dyn Rule] = &[
    &create_without_if_not_exists::RULE,
    &drop_without_if_exists::RULE,
    &insert_without_conflict_clause::RULE,
    &relative_update::RULE,
    &add_column_without_if_not_exists::RULE,
    &add_constraint_without_guard::RULE,
    &rename_without_guard::RULE,
    &alter_column_type_using::RULE,
    &destructive_rerun::RULE,
    &nondeterministic_value::RULE,
    &sequence_reset::RULE,
    &syntax_error::RULE,
    &unparsed_statement::RULE,
];

pub fn find(id: &str) -> Option<&'static RuleMeta> {
    registry().iter().copied().find(|m| m.id == id)
}
