//! `binary-file`: a file that is not SQL text (reported by the pipeline, not
//! by a statement check).

use super::RuleMeta;
use crate::finding::{Origin, Severity};

pub static META: RuleMeta = RuleMeta {
    id: "binary-file",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "A migration file that is binary, not SQL text",
    doc: r#"## What it does
Reports a `.sql` file whose content is binary: it holds NUL bytes, or mostly control
characters that text never has (a SQLite database file, a compressed dump, a file saved as
UTF-16). twice reports it once and checks nothing in it.

## Why it matters
The migration tool will fail on the file, or worse, run whatever it can make of it. A
binary file among migrations is almost always a mistake: a database committed by
accident, or an editor that saved the script in another encoding.

## Example
```text
migrations/
  001_init.sql         -- SQL text
  002_seed.sql         -- actually a SQLite database file: flagged
```

## Fix
Remove the file from the migrations folder, or save it as UTF-8 text (re-encode UTF-16
files, e.g. `iconv -f UTF-16 -t UTF-8`).
"#,
    fixable: false,
};
