//! The dialect a path names, and twice's default dialect.

use super::*;

/// `Option<Dialect>` with twice's default.
pub trait DialectDefault {
    fn unwrap_or_default_dialect(self) -> crate::dialect::Dialect;
}

impl DialectDefault for Option<crate::dialect::Dialect> {
    fn unwrap_or_default_dialect(self) -> crate::dialect::Dialect {
        self.unwrap_or(crate::dialect::Dialect::Sqlite)
    }
}

/// The dialect a folder path names: the nearest component that is a dialect
/// name, or has one as a `-`, `_` or `.`-separated word.
pub fn dialect_from_path(display: &str) -> Option<Dialect> {
    let comps: Vec<&str> = display
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .collect();
    for c in comps.iter().rev() {
        if let Some(d) = dialect_word(c) {
            return Some(d);
        }
        for w in c.split(['-', '_', '.']) {
            if let Some(d) = dialect_word(w) {
                return Some(d);
            }
        }
    }
    None
}

pub(super) fn dialect_word(w: &str) -> Option<Dialect> {
    match w.to_ascii_lowercase().as_str() {
        // `generic` and `ansi` are twice's names, not folder conventions.
        "generic" | "ansi" => None,
        other => Dialect::from_name(other),
    }
}
