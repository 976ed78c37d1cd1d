//! Setup scripts (issue 13 §3): SQL a project runs by hand before its
//! migrations (extensions, roles, platform schemas), run once before the
//! first migration of a sequence and never audited.
//!
//! Given by `--setup FILE` (every sequence), or in twice.toml:
//!
//! ```toml
//! [replay]
//! setup = "db/prereqs.sql"            # every sequence
//!
//! [[replay.setup]]                    # or one per sequence
//! path = "db/auth_schema.sql"
//! sequence = "supabase/migrations"    # the sequence's folder
//! ```
//!
//! On PostgreSQL the script runs in the scratch database as twice's admin
//! role (a superuser on the throwaway cluster), so it can install what the
//! migration role may not (untrusted extensions); on SQLite it runs in the
//! replay sandbox. A failing statement stops the check (exit 2) with the
//! file and line.

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::model::Sequence;
use crate::options::Options;
pub use crate::options::SetupScript;
use std::path::Path;

/// A setup script read for one sequence.
#[derive(Clone, Debug)]
pub struct Script {
    /// As shown in messages.
    pub name: String,
    pub text: String,
    /// twice's own SQL (a platform's stand-in), not the user's: on twice's
    /// throwaway PostgreSQL cluster it runs as the cluster's superuser; a
    /// user's script runs as the migration role (a superuser could run
    /// programs on this machine, and the script may come from a pull
    /// request).
    pub own: bool,
    /// Named in twice.toml (which may come from the pull request being
    /// checked), not given with `--setup`: on a PostgreSQL server given
    /// with `--database-url` it runs as the migration role, not as the
    /// URL's.
    pub from_file: bool,
}

/// Why a statement of a setup script failed: the message, and the
/// character (0-based, in the statement) the engine pointed at.
pub struct StatementError {
    pub message: String,
    pub position: Option<usize>,
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The setup script for `seq`, read: the one configured for its folder,
/// else the one for every sequence.
pub fn for_sequence(opts: &Options, seq: &Sequence) -> Result<Option<Script>> {
    let Some(s) = chosen(opts, seq) else {
        return Ok(platform(opts, seq));
    };
    let name = s.path.display().to_string();
    if let Some(root) = &s.within {
        let inside = match (std::fs::canonicalize(root), std::fs::canonicalize(&s.path)) {
            (Ok(root), Ok(path)) => path.starts_with(root),
            // Missing: the read below says so.
            (_, Err(_)) => true,
            (Err(_), Ok(_)) => false,
        };
        if !inside {
            return Err(Error::new(format!(
                "the setup script {name} named in twice.toml is outside the folder of twice.toml \
                 ({}): twice.toml comes with the migrations (from pull requests too), so it may \
                 name setup scripts in its own folder only; give a script kept elsewhere with \
                 --setup",
                root.display()
            )));
        }
    }
    // A regular file only: a FIFO or a device (`/dev/zero`) would be read
    // forever.
    let bytes = crate::source::read_regular(&s.path).map_err(|e| {
        Error::new(format!(
            "cannot read the setup script {name}: {e} (given by --setup or `setup` under \
             [replay] in twice.toml)"
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::new(format!(
            "the setup script {name} is not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    Ok(Some(Script {
        name,
        text,
        own: false,
        from_file: s.within.is_some(),
    }))
}

/// The layout's stand-in for its platform ([`crate::layout::Layout::platform_setup`],
/// Supabase's roles and schemas), when no setup script is given and replay
/// runs on its own throwaway server: on a server given with
/// `--database-url`, whose roles outlive the run, it is not made.
pub fn platform(opts: &Options, seq: &Sequence) -> Option<Script> {
    if opts.database_url.is_some() {
        return None;
    }
    let text = crate::layout::get(seq.layout).platform_setup(seq.dialect)?;
    Some(Script {
        name: format!("twice's stand-in for the {} platform", seq.layout.name()),
        text: text.to_string(),
        own: true,
        from_file: false,
    })
}

/// The setup script that applies to `seq`: the last one configured for its
/// folder, else the last one configured for every sequence (`twice plan`
/// shows it; replay reads it with [`for_sequence`]).
pub fn chosen<'o>(opts: &'o Options, seq: &Sequence) -> Option<&'o SetupScript> {
    let root = Path::new(&seq.root);
    opts.setup
        .iter()
        .rev()
        .find(|s| s.sequence.as_deref().is_some_and(|q| same_folder(q, root)))
        .or_else(|| opts.setup.iter().rev().find(|s| s.sequence.is_none()))
}

/// Runs the script's statements one by one with `exec`. A failure is an
/// error naming the file and line (exit 2).
pub fn run(
    script: &Script,
    dialect: Dialect,
    root: &str,
    mut exec: impl FnMut(&str) -> std::result::Result<(), StatementError>,
) -> Result<()> {
    let text = &script.text;
    for raw in crate::split::split(text, 0..text.len(), dialect) {
        if raw.tokens.is_empty() {
            continue;
        }
        if let Some(e) = &raw.error {
            let line = line_of(text, e.offset);
            return Err(Error::new(format!(
                "setup script {}:{line}: {}; fix the script (it runs once, before the first \
                 migration of {root})",
                script.name,
                e.kind.describe()
            )));
        }
        let sql = &text[raw.span.clone()];
        if let Err(e) = exec(sql) {
            let at = e
                .position
                .and_then(|p| sql.char_indices().nth(p).map(|(b, _)| b))
                .map_or(raw.span.start, |b| raw.span.start + b);
            let line = line_of(text, at);
            return Err(Error::new(format!(
                "setup script {}:{line}: {}; fix the script (it runs once, before the first \
                 migration of {root}, and is not audited)",
                script.name, e.message
            )));
        }
    }
    Ok(())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
