//! Transaction control, PRAGMA and SET.

use super::*;

impl<'a> Toks<'a> {
    // ---------------------------------------------------------------
    // Transaction control, PRAGMA, SET

    pub(super) fn transaction(&self, i: usize) -> Kind {
        let w = Upper::new(self.word(i).unwrap_or(""));
        let k = match w.as_str() {
            "BEGIN" => Transaction::Begin,
            "START" if self.kw(i + 1, "TRANSACTION") => Transaction::Begin,
            "START" => return Kind::Other,
            "COMMIT" if self.kw(i + 1, "PREPARED") => Transaction::Other,
            "COMMIT" | "END" => Transaction::Commit,
            "ROLLBACK" if self.kw(i + 1, "PREPARED") => Transaction::Other,
            "ROLLBACK"
                if self
                    .find_depth0(i + 1, self.len(), |x| self.kw(x, "TO"))
                    .is_some() =>
            {
                Transaction::RollbackTo
            }
            "ROLLBACK" | "ABORT" => Transaction::Rollback,
            "SAVEPOINT" => Transaction::Savepoint,
            "RELEASE" => Transaction::Release,
            _ => Transaction::Other,
        };
        Kind::Transaction(k)
    }

    pub(super) fn pragma(&self, i: usize) -> Kind {
        let Some((name, after)) = self.name(i + 1) else {
            return Kind::Unknown;
        };
        let value = if self.punct(after, "=") || self.punct(after, "(") {
            Some(self.text(after + 1).to_string())
        } else {
            None
        };
        Kind::Pragma(Pragma {
            name: name.object().to_string(),
            value,
        })
    }

    pub(super) fn set(&self, i: usize) -> Kind {
        let mut j = i + 1;
        if self.kw_any(
            j,
            &["SESSION", "LOCAL", "GLOBAL", "PERSIST", "PERSIST_ONLY"],
        ) {
            j += 1;
        }
        let name = self
            .word(j)
            .map(str::to_ascii_lowercase)
            .or_else(|| {
                (self.kind(j) == Some(TokenKind::Param)).then(|| self.text(j).to_ascii_lowercase())
            })
            .unwrap_or_default();
        Kind::Set(Set { name })
    }
}
