//! `twice.toml`: project settings for `twice check`.
//!
//! The file is found in the current folder or the nearest parent (or named
//! with `--config FILE`). Every key is optional; command-line flags win over
//! the file, key by key. Unknown keys, unknown rule ids and bad values are
//! errors that name the file, the line, the key and what is allowed.
//!
//! ```toml
//! dialect = "postgres"          # sqlite | postgres | mysql | generic
//! layout = "sqlx"               # a layout name, see `twice check --help`
//! fail-on = "error"             # error | warning | never
//! exclude = ["legacy/**", "*_seed.sql"]
//!
//! [rules]
//! create-without-if-not-exists = "error"   # off | info | warning | error
//!
//! [define]
//! schema = "app"
//!
//! baseline = "twice-baseline.json"  # findings accepted (see `crate::baseline`)
//!
//! [replay]
//! timeout = 10                  # seconds per statement
//! seed = true
//! setup = "db/prereqs.sql"      # run before the first migration (never audited)
//! template = "template1"        # PostgreSQL: what scratch databases copy
//! database_url_trusted = false  # true only with --database-url-trusted (not from here)
//! mysql_sql_mode = "TRADITIONAL" # MySQL: the sessions' sql_mode (default: the server's)
//! mysql_foreign_key_checks = false # MySQL: sessions with foreign_key_checks = 0, as the tool runs them
//! mysql_explicit_defaults_for_timestamp = false # MySQL: as MySQL 5.7 and older (default: the server's)
//!
//! [[replay.setup]]              # or: one setup script per sequence
//! path = "db/auth_schema.sql"
//! sequence = "supabase/migrations"
//!
//! [[sequence]]                  # folders that form one history, in order
//! paths = ["db/schema", "db/deltas"]
//! ```
//!
//! `exclude` globs are matched against each file's path relative to the
//! folder that holds the config file (`/` separators). A pattern without a
//! `/` matches a file or folder name at any depth (`*_seed.sql`, `legacy`);
//! a pattern with a `/` is anchored at the config folder (`db/legacy/**`).
//! A pattern that matches a folder excludes everything below it. Files
//! outside the config folder are only matched by name patterns.

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::finding::Finding;
use crate::model::LayoutKind;
use crate::options::Options;
pub use crate::options::{Exclude, RuleLevel};
use crate::rules;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The file name looked for in the current folder and its parents.
pub const FILE_NAME: &str = "twice.toml";

/// When findings fail the check (`--fail-on`, `fail_on` in `twice.toml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

/// What the command line set, for [`merge`]: flags win over the file, key
/// by key. The command-line face fills it from its flags.
#[derive(Clone, Copy, Debug, Default)]
pub struct CommandLine {
    pub dialect: bool,
    pub layout: bool,
    /// `--jobs`.
    pub jobs: bool,
    pub timeout: bool,
    /// `--seed` or `--no-seed`.
    pub seed: bool,
    /// `--no-interleave`.
    pub interleave: bool,
    pub database_url_trusted: bool,
    pub template: bool,
    pub setup: bool,
    pub fail_on: Option<FailOn>,
}

/// A parsed `twice.toml`. `None` means the key is not in the file.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The file as shown in messages (relative to the current folder when
    /// it was found there or in a parent).
    pub name: String,
    pub dialect: Option<Dialect>,
    pub layout: Option<LayoutKind>,
    pub fail_on: Option<FailOn>,
    /// `jobs`: threads for the check (see `--jobs`).
    pub jobs: Option<usize>,
    pub exclude: Option<Exclude>,
    pub rules: BTreeMap<String, RuleLevel>,
    pub defines: BTreeMap<String, String>,
    pub timeout: Option<Duration>,
    pub seed: Option<bool>,
    /// `[replay] interleave`.
    pub interleave: Option<bool>,
    /// `[replay] database_url_trusted`.
    pub database_url_trusted: Option<bool>,
    /// `[replay] template`.
    pub template: Option<String>,
    /// `[replay] mysql_sql_mode`.
    pub mysql_sql_mode: Option<String>,
    /// `[replay] mysql_foreign_key_checks`.
    pub mysql_foreign_key_checks: Option<bool>,
    /// `[replay] mysql_explicit_defaults_for_timestamp`.
    pub mysql_explicit_defaults_for_timestamp: Option<bool>,
    /// `[replay] setup`, paths resolved against the config file's folder.
    pub setup: Vec<crate::replay::setup::SetupScript>,
    /// `[[sequence]]` tables: folders (relative to the config file's folder,
    /// made absolute) whose migrations form one history, in this order.
    pub sequences: Vec<Vec<PathBuf>>,
    /// `baseline = "FILE"`, relative to the config file's folder.
    pub baseline: Option<PathBuf>,
}

impl Options {
    /// Whether discovery should skip `path` because of `exclude`.
    pub fn excluded(&self, path: &Path) -> bool {
        self.exclude.as_ref().is_some_and(|e| e.matches(path))
    }

    /// Notices about excluded files (emptied as it is read).
    pub fn exclude_notices(&self) -> Vec<String> {
        self.exclude
            .as_ref()
            .map(Exclude::take_notices)
            .unwrap_or_default()
    }

    /// Applies `[rules]`: drops findings of rules that are off and sets the
    /// severity of the others.
    ///
    /// A static rule also owns the replay findings that confirm it (see
    /// [`rules::CONFIRMING_RULES`]): when every static finding about a
    /// statement belongs to a rule set in `[rules]`, the replay findings
    /// about that statement are dropped when all those rules are off, and
    /// are never more severe than the highest level they are set to.
    pub fn apply_rule_levels(&self, findings: &mut Vec<Finding>) {
        if self.rules.is_empty() {
            return;
        }
        // Per statement: the `[rules]` entry of each static finding on it.
        let mut statics: BTreeMap<(String, usize), Vec<Option<RuleLevel>>> = BTreeMap::new();
        for f in findings.iter() {
            if let (crate::finding::Origin::Static, Some(s)) = (f.source, f.statement) {
                statics
                    .entry((f.file.clone(), s))
                    .or_default()
                    .push(self.rules.get(&f.rule).copied());
            }
        }
        findings.retain_mut(|f| {
            match self.rules.get(&f.rule) {
                Some(RuleLevel::Off) => return false,
                Some(RuleLevel::On(s)) => f.severity = *s,
                None => {}
            }
            if f.source != crate::finding::Origin::Replay || !rules::confirms(&f.rule) {
                return true;
            }
            let Some(levels) = f.statement.and_then(|s| statics.get(&(f.file.clone(), s))) else {
                return true;
            };
            if levels.iter().any(Option::is_none) {
                // A static rule at its default level still reports it.
                return true;
            }
            let cap = levels
                .iter()
                .filter_map(|l| match l {
                    Some(RuleLevel::On(s)) => Some(*s),
                    _ => None,
                })
                .max();
            match cap {
                None => false,
                Some(c) => {
                    f.severity = f.severity.min(c);
                    true
                }
            }
        });
    }
}

/// The nearest `twice.toml` in `start` or one of its parents, with its name
/// relative to `start` (`twice.toml`, `../twice.toml`, ...).
pub fn find(start: &Path) -> Option<(PathBuf, String)> {
    for (up, dir) in start.ancestors().enumerate() {
        let candidate = dir.join(FILE_NAME);
        if candidate.is_file() {
            return Some((candidate, format!("{}{FILE_NAME}", "../".repeat(up))));
        }
    }
    None
}

/// Loads the config named with `--config`, or the nearest one from `cwd`.
/// `Ok(None)` when there is none.
pub fn load(explicit: Option<&Path>, cwd: &Path) -> Result<Option<Config>> {
    let (path, name) = match explicit {
        Some(p) => {
            let name = crate::source::display_path(p);
            let meta = std::fs::metadata(p).map_err(|e| {
                let mut err = Error::io(&name, &e);
                err.message.push_str(" (given with --config)");
                err
            })?;
            if meta.is_dir() {
                return Err(Error::new(format!(
                    "{name}: is a folder; --config takes a file such as {name}/{FILE_NAME}"
                )));
            }
            (p.to_path_buf(), name)
        }
        None => match find(cwd) {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let bytes = crate::source::read_regular(&path).map_err(|e| Error::io(&name, &e))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            return Err(Error::new(format!(
                "{name}: not valid UTF-8 (at byte {}); a config file is TOML text",
                e.valid_up_to()
            )))
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let base = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse(&name, &base, text).map(Some)
}

/// The most threads `--jobs` and `jobs` in twice.toml accept.
pub const MAX_JOBS: usize = 1024;

const TOP_KEYS: &[&str] = &[
    "dialect", "layout", "fail-on", "jobs", "exclude", "rules", "define", "replay", "sequence",
    "baseline",
];
const REPLAY_KEYS: &[&str] = &[
    "timeout",
    "seed",
    "interleave",
    "database_url_trusted",
    "template",
    "setup",
    "mysql_sql_mode",
    "mysql_foreign_key_checks",
    "mysql_explicit_defaults_for_timestamp",
];
const FAIL_ON: &[&str] = &["error", "warning", "never"];
/// The longest replay time limit twice.toml may set, in seconds.
const MAX_FILE_TIMEOUT: f64 = 300.0;
const LEVELS: &[&str] = &["off", "info", "warning", "error"];

/// Collects every problem in a file, each with its position.
struct Problems<'a> {
    name: &'a str,
    text: &'a str,
    list: Vec<(usize, String)>,
}

impl Problems<'_> {
    fn add(&mut self, span: Range<usize>, msg: String) {
        self.list.push((span.start, msg));
    }

    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, col)
    }

    fn into_error(mut self) -> Option<Error> {
        if self.list.is_empty() {
            return None;
        }
        self.list.sort_by_key(|p| p.0);
        // Positions in one pass over the text (in order): asking
        // `line_col` for each problem read the text again from its start
        // every time, and a twice.toml of 200,000 unknown rule ids took
        // twice some twenty minutes. At most MAX_SHOWN problems are listed.
        const MAX_SHOWN: usize = 100;
        let text = self.text;
        let (mut line, mut line_start, mut col, mut at) = (1usize, 0usize, 1usize, 0usize);
        let mut lines: Vec<String> = Vec::new();
        for (offset, msg) in self.list.iter().take(MAX_SHOWN) {
            let mut offset = (*offset).min(text.len());
            while !text.is_char_boundary(offset) {
                offset -= 1;
            }
            let between = &text[at..offset];
            match between.rfind('\n') {
                Some(i) => {
                    line += between.matches('\n').count();
                    line_start = at + i + 1;
                    col = text[line_start..offset].chars().count() + 1;
                }
                None => col += between.chars().count(),
            }
            debug_assert!(line_start <= offset);
            at = offset;
            lines.push(format!("{}:{line}:{col}: {msg}", self.name));
        }
        if self.list.len() > MAX_SHOWN {
            lines.push(format!(
                "{}: {} more problems like these, not listed",
                self.name,
                self.list.len() - MAX_SHOWN
            ));
        }
        Some(Error::new(lines.join("\nerror: ")))
    }
}

/// Parses the text of a config file. `name` is used in messages; `base` is
/// the folder `exclude` patterns are relative to.
pub fn parse(name: &str, base: &Path, text: &str) -> Result<Config> {
    let mut p = Problems {
        name,
        text,
        list: Vec::new(),
    };
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let (l, c) = p.line_col(span.start);
            // Name what is at the error (the key of a duplicate key).
            let at = text
                .get(span)
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.len() <= 60 && !s.contains('\n'))
                .map(|s| format!(" `{s}`"))
                .unwrap_or_default();
            return Err(Error::new(format!(
                "{name}:{l}:{c}: invalid TOML: {}{at}",
                e.message().trim_end()
            )));
        }
    };
    let mut cfg = Config {
        name: name.to_string(),
        ..Config::default()
    };
    for (key, value) in doc.get_ref().iter() {
        let k = key.get_ref().as_ref();
        let span = value.span();
        match k {
            "dialect" => {
                if let Some(s) = string(
                    &mut p,
                    "dialect",
                    value,
                    "one of sqlite, postgres, mysql, generic",
                ) {
                    match Dialect::from_name(s) {
                        Some(d) => cfg.dialect = Some(d),
                        None => p.add(
                            span,
                            format!("`dialect`: unknown dialect \"{s}\" (allowed: sqlite, postgres, mysql, generic)"),
                        ),
                    }
                }
            }
            "layout" => {
                let names = crate::layout::names();
                let allowed = names.join(", ");
                if let Some(s) = string(&mut p, "layout", value, &format!("one of {allowed}")) {
                    match crate::layout::by_name(s) {
                        Some(l) => cfg.layout = Some(l),
                        None => p.add(
                            span,
                            format!("`layout`: unknown layout \"{s}\" (allowed: {allowed})"),
                        ),
                    }
                }
            }
            "fail-on" => {
                if let Some(s) = string(&mut p, "fail-on", value, "one of error, warning, never") {
                    match s {
                        "error" => cfg.fail_on = Some(FailOn::Error),
                        "warning" => cfg.fail_on = Some(FailOn::Warning),
                        "never" => cfg.fail_on = Some(FailOn::Never),
                        _ => p.add(
                            span,
                            format!(
                                "`fail-on`: unknown value \"{s}\" (allowed: {})",
                                FAIL_ON.join(", ")
                            ),
                        ),
                    }
                }
            }
            "jobs" => {
                let max = MAX_JOBS;
                let n = match value.get_ref() {
                    DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
                    _ => None,
                };
                match n.and_then(|n| usize::try_from(n).ok()) {
                    Some(n) if (1..=max).contains(&n) => cfg.jobs = Some(n),
                    _ => p.add(
                        span,
                        format!(
                            "`jobs`: bad value {} (allowed: a number of threads from 1 to {max}, \
                             e.g. jobs = 4; 1 runs everything on one thread)",
                            shown(value.get_ref())
                        ),
                    ),
                }
            }
            "exclude" => cfg.exclude = exclude(&mut p, base, value),
            "baseline" => {
                if let Some(s) = string(
                    &mut p,
                    "baseline",
                    value,
                    "the path of a baseline file written by `twice check --write-baseline`",
                ) {
                    if s.trim().is_empty() {
                        p.add(span, "`baseline`: the path is empty".into());
                    } else {
                        cfg.baseline = Some(base.join(s));
                    }
                }
            }
            "rules" => rules_table(&mut p, value, &mut cfg.rules),
            "define" => define_table(&mut p, value, &mut cfg.defines),
            "replay" => replay_table(&mut p, base, value, &mut cfg),
            "sequence" => sequence_tables(&mut p, base, value, &mut cfg.sequences),
            _ => {
                let hint = if REPLAY_KEYS.contains(&k) {
                    format!("; `{k}` belongs in the [replay] table")
                } else if rules::find(k).is_some() {
                    format!("; rule levels belong in the [rules] table: [rules] {k} = \"off\"")
                } else {
                    did_you_mean(k, TOP_KEYS.iter().copied())
                };
                p.add(
                    key.span(),
                    format!("unknown key `{k}` (allowed: {}){hint}", TOP_KEYS.join(", ")),
                );
            }
        }
    }
    match p.into_error() {
        Some(e) => Err(e),
        None => Ok(cfg),
    }
}

fn string<'v>(
    p: &mut Problems,
    key: &str,
    value: &'v Spanned<DeValue>,
    allowed: &str,
) -> Option<&'v str> {
    match value.get_ref() {
        DeValue::String(s) => Some(s.as_ref()),
        other => {
            p.add(
                value.span(),
                format!(
                    "`{key}` must be a string, {allowed} (found {} {})",
                    article(other.type_str()),
                    other.type_str()
                ),
            );
            None
        }
    }
}

fn article(type_str: &str) -> &'static str {
    if type_str.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn table<'v, 'i>(
    p: &mut Problems,
    key: &str,
    value: &'v Spanned<DeValue<'i>>,
    what: &str,
) -> Option<&'v DeTable<'i>> {
    match value.get_ref() {
        DeValue::Table(t) => Some(t),
        other => {
            p.add(
                value.span(),
                format!(
                    "`{key}` must be a table ([{key}]) of {what} (found {} {})",
                    article(other.type_str()),
                    other.type_str()
                ),
            );
            None
        }
    }
}

/// The most the `exclude` patterns of twice.toml may hold together, in bytes.
pub const MAX_EXCLUDE_BYTES: usize = 64 << 10;

fn exclude(p: &mut Problems, base: &Path, value: &Spanned<DeValue>) -> Option<Exclude> {
    let DeValue::Array(items) = value.get_ref() else {
        p.add(
            value.span(),
            format!(
                "`exclude` must be an array of glob strings, e.g. exclude = [\"legacy/**\"] (found {} {})",
                article(value.get_ref().type_str()),
                value.get_ref().type_str()
            ),
        );
        return None;
    };
    let mut patterns = Vec::new();
    let mut spans = Vec::new();
    let before = p.list.len();
    let mut total = 0usize;
    for item in items.iter() {
        match item.get_ref() {
            DeValue::String(s) => {
                // Compiled globs take hundreds of bytes per byte of pattern
                // (4.7 MB of patterns took 3.4 GB): twice.toml may come from
                // a pull request, so their size is capped.
                total += s.len();
                if total > MAX_EXCLUDE_BYTES {
                    p.add(
                        item.span(),
                        format!(
                            "`exclude`: the patterns add up to more than {} KiB; exclude folders \
                             with a few patterns such as \"legacy/**\" instead",
                            MAX_EXCLUDE_BYTES >> 10
                        ),
                    );
                    return None;
                }
                patterns.push(s.to_string());
                spans.push(item.span());
            }
            other => p.add(
                item.span(),
                format!(
                    "`exclude` items must be glob strings (found {} {})",
                    article(other.type_str()),
                    other.type_str()
                ),
            ),
        }
    }
    if p.list.len() > before {
        return None;
    }
    match Exclude::new(base, p.name, &patterns) {
        Ok(e) => Some(e),
        Err((i, why)) => {
            let span = spans.get(i).cloned().unwrap_or(value.span());
            let pat = patterns.get(i).map_or("", String::as_str);
            p.add(
                span,
                format!("`exclude`: bad glob \"{pat}\": {why} (allowed: glob patterns such as \"legacy/**\" or \"*_seed.sql\")"),
            );
            None
        }
    }
}

fn rules_table(p: &mut Problems, value: &Spanned<DeValue>, out: &mut BTreeMap<String, RuleLevel>) {
    let Some(t) = table(
        p,
        "rules",
        value,
        "rule ids set to \"off\", \"info\", \"warning\" or \"error\"",
    ) else {
        return;
    };
    for (key, v) in t.iter() {
        let id = key.get_ref().as_ref();
        if rules::find(id).is_none() {
            let hint = did_you_mean(id, rules::registry().iter().map(|m| m.id));
            p.add(
                key.span(),
                format!("[rules]: unknown rule `{id}`{hint} (run `twice rules` to list rule ids)"),
            );
            continue;
        }
        let level = match v.get_ref() {
            DeValue::String(s) => RuleLevel::from_name(s).ok_or_else(|| shown(v.get_ref())),
            other => Err(shown(other)),
        };
        match level {
            Ok(l) => {
                out.insert(id.to_string(), l);
            }
            Err(found) => p.add(
                v.span(),
                format!(
                    "[rules] `{id}`: bad level {found} (allowed: {})",
                    LEVELS
                        .iter()
                        .map(|l| format!("\"{l}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
}

fn define_table(p: &mut Problems, value: &Spanned<DeValue>, out: &mut BTreeMap<String, String>) {
    let Some(t) = table(p, "define", value, "placeholder names set to values") else {
        return;
    };
    for (key, v) in t.iter() {
        let k = key.get_ref().as_ref();
        if k.trim().is_empty() {
            p.add(key.span(), "[define]: a placeholder name is empty".into());
            continue;
        }
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().to_string(),
            DeValue::Float(f) => f.as_str().to_string(),
            DeValue::Boolean(b) => b.to_string(),
            other => {
                p.add(
                    v.span(),
                    format!(
                        "[define] `{k}`: the value must be a string (or a decimal number or boolean), found {} {}",
                        article(other.type_str()),
                        other.type_str()
                    ),
                );
                continue;
            }
        };
        out.insert(k.to_string(), text);
    }
}

/// `[[sequence]]` tables, each `paths = ["a", "b"]`.
fn sequence_tables(
    p: &mut Problems,
    base: &Path,
    value: &Spanned<DeValue>,
    out: &mut Vec<Vec<PathBuf>>,
) {
    const EXAMPLE: &str = "[[sequence]] tables with paths = [\"db/schema\", \"db/deltas\"]";
    let DeValue::Array(items) = value.get_ref() else {
        p.add(
            value.span(),
            format!(
                "`sequence` must be {EXAMPLE} (found {} {})",
                article(value.get_ref().type_str()),
                value.get_ref().type_str()
            ),
        );
        return;
    };
    for item in items.iter() {
        let Some(t) = table(p, "sequence", item, "`paths`") else {
            continue;
        };
        let mut paths = Vec::new();
        let mut seen_paths = false;
        for (key, v) in t.iter() {
            let k = key.get_ref().as_ref();
            if k != "paths" {
                p.add(
                    key.span(),
                    format!("[[sequence]]: unknown key `{k}` (allowed: paths)"),
                );
                continue;
            }
            seen_paths = true;
            let DeValue::Array(list) = v.get_ref() else {
                p.add(
                    v.span(),
                    format!(
                        "[[sequence]] `paths` must be an array of folder names, e.g. {EXAMPLE}"
                    ),
                );
                continue;
            };
            for entry in list.iter() {
                match entry.get_ref() {
                    DeValue::String(s) if !s.trim().is_empty() => {
                        paths.push(base.join(s.as_ref()));
                    }
                    other => p.add(
                        entry.span(),
                        format!(
                            "[[sequence]] `paths` items must be folder names (found {})",
                            shown(other)
                        ),
                    ),
                }
            }
        }
        if !seen_paths {
            p.add(
                item.span(),
                format!("[[sequence]] needs `paths`, e.g. {EXAMPLE}"),
            );
        } else if !paths.is_empty() {
            out.push(paths);
        }
    }
}

fn replay_table(p: &mut Problems, base: &Path, value: &Spanned<DeValue>, cfg: &mut Config) {
    let Some(t) = table(p, "replay", value, "replay options (timeout, seed)") else {
        return;
    };
    for (key, v) in t.iter() {
        let k = key.get_ref().as_ref();
        match k {
            "timeout" => {
                let secs = match v.get_ref() {
                    DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                        .ok()
                        .map(|n| n as f64),
                    DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
                    DeValue::String(s) => s.trim().trim_end_matches('s').trim().parse().ok(),
                    _ => None,
                };
                match secs {
                    Some(s) if s > 0.0 && s <= MAX_FILE_TIMEOUT => {
                        cfg.timeout = Some(Duration::from_secs_f64(s));
                    }
                    // twice.toml may come from the pull request being
                    // checked: it may not keep a runaway statement going
                    // for hours; whoever runs twice may (`--timeout`).
                    Some(s) if s > MAX_FILE_TIMEOUT && s <= 86_400.0 => p.add(
                        v.span(),
                        format!(
                            "[replay] `timeout = {s}` is more than twice.toml may set \
                             ({MAX_FILE_TIMEOUT} s: it may come from the pull request being \
                             checked, and the limit is what stops a runaway statement); pass \
                             --timeout {s} on the command line instead"
                        ),
                    ),
                    _ => p.add(
                        v.span(),
                        format!(
                            "[replay] `timeout`: bad value {} (allowed: a number of seconds greater than 0 and at most 86400, e.g. timeout = 10)",
                            shown(v.get_ref())
                        ),
                    ),
                }
            }
            "mysql_foreign_key_checks" => match v.get_ref() {
                DeValue::Boolean(b) => cfg.mysql_foreign_key_checks = Some(*b),
                other => p.add(
                    v.span(),
                    format!(
                        "[replay] `mysql_foreign_key_checks`: bad value {} (allowed: true or false)",
                        shown(other)
                    ),
                ),
            },
            "mysql_explicit_defaults_for_timestamp" => match v.get_ref() {
                DeValue::Boolean(b) => cfg.mysql_explicit_defaults_for_timestamp = Some(*b),
                other => p.add(
                    v.span(),
                    format!(
                        "[replay] `mysql_explicit_defaults_for_timestamp`: bad value {} \
                         (allowed: true or false)",
                        shown(other)
                    ),
                ),
            },
            // What turns the replay sandbox off, or gives the migrations
            // another database's data, is the choice of whoever runs twice:
            // twice.toml may come from the pull request being checked.
            "database_url_trusted" => match v.get_ref() {
                DeValue::Boolean(true) => p.add(
                    v.span(),
                    "[replay] `database_url_trusted = true` is not taken from twice.toml: it runs \
                     the migrations with all the rights of the --database-url role, and twice.toml \
                     may come from the pull request being checked; pass --database-url-trusted \
                     on the command line instead"
                        .into(),
                ),
                DeValue::Boolean(b) => cfg.database_url_trusted = Some(*b),
                other => p.add(
                    v.span(),
                    format!(
                        "[replay] `database_url_trusted`: bad value {} (allowed: true or false)",
                        shown(other)
                    ),
                ),
            },
            "template" => {
                if let Some(t) = string(p, "template", v, "the name of a database") {
                    if matches!(t, "template0" | "template1") {
                        cfg.template = Some(t.to_string());
                    } else {
                        p.add(
                            v.span(),
                            format!(
                                "[replay] `template = {t:?}` is not taken from twice.toml: the \
                                 scratch databases would hold a copy of that database's data, \
                                 which the migrations could read and print, and twice.toml may \
                                 come from the pull request being checked; pass --template {t} on \
                                 the command line instead (twice.toml may name template0 or \
                                 template1)"
                            ),
                        );
                    }
                }
            }
            "mysql_sql_mode" => {
                if let Some(t) = string(p, "mysql_sql_mode", v, "a sql_mode value") {
                    cfg.mysql_sql_mode = Some(t.to_string());
                }
            }
            "setup" => setup_key(p, base, v, cfg),
            "seed" => match v.get_ref() {
                DeValue::Boolean(b) => cfg.seed = Some(*b),
                other => p.add(
                    v.span(),
                    format!(
                        "[replay] `seed`: bad value {} (allowed: true or false)",
                        shown(other)
                    ),
                ),
            },
            "interleave" => match v.get_ref() {
                DeValue::Boolean(b) => cfg.interleave = Some(*b),
                other => p.add(
                    v.span(),
                    format!(
                        "[replay] `interleave`: bad value {} (allowed: true or false)",
                        shown(other)
                    ),
                ),
            },
            _ => {
                let hint = did_you_mean(k, REPLAY_KEYS.iter().copied());
                p.add(
                    key.span(),
                    format!(
                        "[replay]: unknown key `{k}` (allowed: {}){hint}",
                        REPLAY_KEYS.join(", ")
                    ),
                );
            }
        }
    }
}

/// `[replay] setup = "file.sql"` (every sequence), or an array of tables
/// `[[replay.setup]]` with `path` and an optional `sequence` (a folder).
fn setup_key(p: &mut Problems, base: &Path, v: &Spanned<DeValue>, cfg: &mut Config) {
    use crate::replay::setup::SetupScript;
    const ALLOWED: &str = "a file name (setup = \"db/prereqs.sql\") or tables with `path` and \
        `sequence` ([[replay.setup]] path = \"db/auth.sql\" sequence = \"supabase/migrations\")";
    match v.get_ref() {
        DeValue::String(s) => cfg.setup.push(SetupScript {
            path: base.join(s.as_ref()),
            sequence: None,
            within: Some(base.to_path_buf()),
        }),
        DeValue::Array(items) => {
            for item in items.iter() {
                let DeValue::Table(t) = item.get_ref() else {
                    p.add(
                        item.span(),
                        format!("[replay] `setup`: each entry must be a table, {ALLOWED}"),
                    );
                    continue;
                };
                let mut path = None;
                let mut sequence = None;
                for (key, val) in t.iter() {
                    let k = key.get_ref().as_ref();
                    match k {
                        "path" | "sequence" => {
                            let Some(s) = string(p, k, val, "a path relative to twice.toml") else {
                                continue;
                            };
                            if k == "path" {
                                path = Some(base.join(s));
                            } else {
                                sequence = Some(base.join(s));
                            }
                        }
                        _ => p.add(
                            key.span(),
                            format!(
                                "[[replay.setup]]: unknown key `{k}` (allowed: path, sequence)"
                            ),
                        ),
                    }
                }
                match path {
                    Some(path) => cfg.setup.push(SetupScript {
                        path,
                        sequence,
                        within: Some(base.to_path_buf()),
                    }),
                    None => p.add(
                        item.span(),
                        "[[replay.setup]]: `path` is missing (the setup script to run)".into(),
                    ),
                }
            }
        }
        other => p.add(
            v.span(),
            format!(
                "[replay] `setup`: bad value {}; expected {ALLOWED}",
                shown(other)
            ),
        ),
    }
}

/// A value as it would read in the file, for messages.
fn shown(v: &DeValue) -> String {
    match v {
        DeValue::String(s) => format!("\"{s}\""),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        other => format!("({} {})", article(other.type_str()), other.type_str()),
    }
}

/// `; did you mean `x`?` when a candidate is close to `word`, else "".
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Fills `opts` from `cfg` where the command line left a key unset, and
/// returns the `--fail-on` to use. Flags win over the file, key by key.
pub fn merge(cfg: Option<&Config>, set: &CommandLine, opts: &mut Options) -> FailOn {
    let Some(cfg) = cfg else {
        return set.fail_on.unwrap_or(FailOn::Warning);
    };
    if !set.dialect {
        opts.dialect = opts.dialect.or(cfg.dialect);
    }
    if !set.layout {
        opts.layout = opts.layout.or(cfg.layout);
    }
    if !set.jobs {
        if let Some(j) = cfg.jobs {
            opts.jobs = j;
        }
    }
    if !set.timeout {
        if let Some(t) = cfg.timeout {
            opts.timeout = t;
        }
    }
    // A flag on the command line wins over the file.
    if !set.seed {
        opts.seed = cfg.seed.unwrap_or(opts.seed);
    }
    if !set.interleave {
        opts.interleave = cfg.interleave.unwrap_or(opts.interleave);
    }
    if !set.database_url_trusted {
        opts.database_url_trusted = cfg.database_url_trusted.unwrap_or(false);
    }
    if !set.template {
        opts.template = opts.template.take().or_else(|| cfg.template.clone());
    }
    if !set.setup {
        opts.setup = cfg.setup.clone();
    }
    opts.mysql_sql_mode = cfg.mysql_sql_mode.clone();
    opts.mysql_foreign_key_checks = cfg.mysql_foreign_key_checks.unwrap_or(true);
    opts.mysql_explicit_defaults_for_timestamp = cfg.mysql_explicit_defaults_for_timestamp;
    for (k, v) in &cfg.defines {
        opts.defines.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if opts.exclude.is_none() {
        opts.exclude = cfg.exclude.clone();
    }
    for (k, v) in &cfg.rules {
        opts.rules.entry(k.clone()).or_insert(*v);
    }
    if opts.sequences.is_empty() {
        opts.sequences = cfg.sequences.clone();
    }
    set.fail_on.or(cfg.fail_on).unwrap_or(FailOn::Warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Problems are placed in one pass (a twice.toml of 200,000 unknown
    /// rule ids took twenty minutes when each was placed from the start of
    /// the text): the same lines and columns as `line_col`, at most 100
    /// listed.
    #[test]
    fn problems_are_placed_in_one_pass_and_listed_up_to_a_hundred() {
        let text = "a\né = 1, b = 2\n\nxyz\n";
        let at = [0, 2, 11, 9, 17, 17, text.len()];
        let mut p = Problems {
            name: "twice.toml",
            text,
            list: at.iter().map(|&o| (o, format!("p{o}"))).collect(),
        };
        let mut want: Vec<(usize, String)> = at
            .iter()
            .map(|&o| {
                let (l, c) = p.line_col(o);
                (o, format!("twice.toml:{l}:{c}: p{o}"))
            })
            .collect();
        want.sort_by_key(|w| w.0);
        let want: Vec<String> = want.into_iter().map(|w| w.1).collect();
        let got = p.into_error().unwrap().message;
        assert_eq!(got, want.join("\nerror: "));

        let text = "[rules]\n".to_string() + &"r = 1\n".repeat(250);
        p = Problems {
            name: "twice.toml",
            text: &text,
            list: (0..250)
                .map(|i| (8 + 6 * i, "unknown".to_string()))
                .collect(),
        };
        let got = p.into_error().unwrap().message;
        assert_eq!(got.lines().count(), 101, "{got}");
        assert!(got.contains("twice.toml:101:1: unknown"), "{got}");
        assert!(got.ends_with("twice.toml: 150 more problems like these, not listed"));
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("fail_on", "fail-on"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            did_you_mean("dialct", TOP_KEYS.iter().copied()),
            "; did you mean `dialect`?"
        );
        assert_eq!(did_you_mean("zzz", TOP_KEYS.iter().copied()), "");
    }

    #[test]
    fn name_patterns_match_at_any_depth_and_anchored_ones_at_the_base() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let ex = Exclude::new(
            base,
            "twice.toml",
            &["*_seed.sql".into(), "db/legacy".into(), "/top.sql".into()],
        )
        .unwrap();
        assert!(ex.matches(&base.join("a/b/x_seed.sql")));
        assert!(ex.matches(&base.join("x_seed.sql")));
        assert!(ex.matches(&base.join("db/legacy/1.sql")));
        assert!(ex.matches(&base.join("db/legacy/deep/2.sql")));
        assert!(!ex.matches(&base.join("other/db/legacy/1.sql")));
        assert!(ex.matches(&base.join("top.sql")));
        assert!(!ex.matches(&base.join("sub/top.sql")));
        assert!(!ex.matches(&base.join("db/1.sql")));
        let notices = ex.take_notices();
        assert_eq!(notices.len(), 3, "{notices:?}");
        assert!(ex.take_notices().is_empty());
    }

    #[test]
    fn star_does_not_cross_folders() {
        let dir = tempfile::tempdir().unwrap();
        let ex = Exclude::new(dir.path(), "twice.toml", &["db/*.sql".into()]).unwrap();
        assert!(ex.matches(&dir.path().join("db/1.sql")));
        assert!(!ex.matches(&dir.path().join("db/sub/1.sql")));
    }
}
