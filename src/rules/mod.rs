//! The rules. Each rule lives in its own file with its documentation beside
//! its code; [`REGISTRY`] lists them all. Adding a rule means adding one file,
//! one line here and its fixtures under `fixtures/rules/<id>/`.
//!
//! Rules that replay (or discovery) reports are registered here too, with
//! their documentation, so `twice rules`, `twice explain` and SARIF know
//! every id twice can emit; their `check` is not called.

pub mod second_run_sequence_advance;

use crate::analysis::Statement;
use crate::dialect::Dialect;
use crate::finding::{Finding, Origin, Severity};
use crate::source::SourceFile;

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

/// Everything a static rule may look at for one statement.
pub struct Context<'a> {
    pub file: &'a SourceFile,
    pub dialect: Dialect,
    /// All statements of the file (for "guarded by an earlier DROP ... IF EXISTS").
    pub statements: &'a [Statement],
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    /// Appends findings about `stmt` to `out`.
    fn check(&self, cx: &Context, stmt: &Statement, out: &mut Vec<Finding>);
}

/// Every rule twice knows, static ones first, in `twice rules` order.
pub fn registry() -> &'static [&'static RuleMeta] {
    REGISTRY
}

static REGISTRY: &[&RuleMeta] = &[&second_run_sequence_advance::META];

/// The static rules that run on every statement.
pub fn static_rules() -> &'static [&'static dyn Rule] {
    STATIC_RULES
}

static STATIC_RULES: &[&dyn Rule] = &[];

pub fn find(id: &str) -> Option<&'static RuleMeta> {
    registry().iter().copied().find(|m| m.id == id)
}
