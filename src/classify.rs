//! Token-level classification of statements (owned by the rules work; this
//! version only records the leading keyword).

use crate::dialect::Dialect;
use crate::lexer::Token;
use crate::source::SourceFile;

#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// First keyword, upper-cased.
    pub keyword: String,
}

pub fn classify(
    file: &SourceFile,
    tokens: &[Token],
    _ast: Option<&sqlparser::ast::Statement>,
    _dialect: Dialect,
) -> Facts {
    Facts {
        keyword: tokens
            .first()
            .map(|t| file.text[t.span.clone()].to_ascii_uppercase())
            .unwrap_or_default(),
    }
}
