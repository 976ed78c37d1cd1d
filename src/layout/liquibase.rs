//! `liquibase` formatted SQL changelogs: files starting with
//! `--liquibase formatted sql`, made of `--changeset author:id [attr:value...]`
//! blocks.
//!
//! As Liquibase does:
//! - changesets run in file order; several changelog files in one folder
//!   run in path order (`includeAll` sorts alphabetically); a `.sql` file
//!   without the header is a raw SQL changelog, run whole;
//! - the lines after `--changeset` up to the next `--changeset` are the
//!   changeset's SQL (Liquibase's `--comment:`, `--precondition...` and
//!   `--rollback` lines are comments to it);
//! - `--rollback <sql>` lines and `/* liquibase rollback ... */` blocks are
//!   the down part: the regions point into the comment text after
//!   `--rollback `, so positions in findings are exact; `--rollback not
//!   required` means no rollback, `--rollback empty` an empty one;
//! - `runOnChange:true` and `runAlways:true` changesets are re-run by design,
//!   and their findings say so; `runInTransaction:false` runs outside a
//!   transaction; `splitStatements:false` makes the changeset one
//!   statement; `endDelimiter:X` (X alone on a line, or at a line end)
//!   splits on X instead of `;`; `dbms:` filters changesets by the
//!   sequence's dialect (sqlite, postgresql, mysql/mariadb).
//!
//! Liquibase joins consecutive `--rollback` lines with newlines before
//! splitting them into statements: a statement spread over several
//! `--rollback` lines points at its first line and runs (and is parsed) with
//! the text of the following lines appended (`Plan::continuations`).
//!
//! Changelogs in XML, YAML or JSON give the order ([`includes`]): each
//! root changelog (one no other includes) is a history of its own, its
//! `include`, `includeAll` and `sqlFile` followed in order through the
//! changelogs it includes; changelogs of Liquibase's change types are not
//! SQL and are gaps replay runs without (`Migration::code_before`).

use super::{lines, part, Folder, Line, Plan};
use crate::dialect::Dialect;
use crate::model::{Migration, Part, Region};
use std::collections::BTreeSet;
use std::ops::Range;

mod includes;

/// Whether `text` is a Liquibase formatted SQL changelog (first non-blank
/// line `--liquibase formatted sql`).
pub fn is_formatted(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .and_then(|l| l.strip_prefix("--"))
        .is_some_and(|rest| {
            let rest = rest.trim_start().to_ascii_lowercase();
            rest.starts_with("liquibase formatted")
        })
}

/// `--<spaces>word` at the start of `line` (case ignored): the rest after it.
fn directive<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    let rest = line.strip_prefix("--")?.trim_start();
    let head = rest.get(..word.len())?;
    head.eq_ignore_ascii_case(word).then(|| &rest[word.len()..])
}

/// A `--changeset` line.
#[derive(Debug)]
struct Changeset {
    line: Line,
    author: String,
    id: String,
    attrs: Vec<(String, String)>,
}

impl Changeset {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        self.attr(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// Parses what follows `--changeset`: `author:id attr:value ...`
/// (author and id may be double-quoted).
/// Author, id and attributes of a changeset line.
type ChangesetHead = (String, String, Vec<(String, String)>);

fn parse_changeset(rest: &str) -> Option<ChangesetHead> {
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let (author, after) = if let Some(q) = rest.strip_prefix('"') {
        let end = q.find('"')?;
        (q[..end].to_string(), q[end + 1..].strip_prefix(':')?)
    } else {
        let (a, b) = rest.split_once(':')?;
        (a.trim().to_string(), b)
    };
    let after = after.trim_start();
    let (id, tail) = if let Some(q) = after.strip_prefix('"') {
        let end = q.find('"')?;
        (q[..end].to_string(), &q[end + 1..])
    } else {
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        (after[..end].to_string(), &after[end..])
    };
    if author.is_empty() || id.is_empty() {
        return None;
    }
    let attrs = tail
        .split_whitespace()
        .filter_map(|t| t.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some((author, id, attrs))
}

/// Whether a `dbms:` list selects `dialect`.
pub fn dbms_selects(list: &str, dialect: Dialect) -> bool {
    let ours: &[&str] = match dialect {
        Dialect::Sqlite => &["sqlite"],
        Dialect::Postgres => &["postgresql", "postgres"],
        Dialect::Mysql => &["mysql", "mariadb"],
        Dialect::Generic => return true,
    };
    let items: Vec<String> = list
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    if items.iter().any(|i| i == "none") {
        return false;
    }
    if items
        .iter()
        .filter_map(|i| i.strip_prefix('!'))
        .any(|n| ours.contains(&n))
    {
        return false;
    }
    let positive: Vec<&String> = items.iter().filter(|i| !i.starts_with('!')).collect();
    positive.is_empty()
        || positive
            .iter()
            .any(|i| *i == "all" || ours.contains(&i.as_str()))
}

/// The body regions of a changeset, honouring `splitStatements` and
/// `endDelimiter`.
fn body_regions(text: &str, body: Range<usize>, cs: &Changeset) -> Vec<Region> {
    if cs
        .attr("splitStatements")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"))
    {
        return vec![Region {
            range: body,
            single_statement: true,
        }];
    }
    let delim = cs
        .attr("endDelimiter")
        .filter(|d| !d.is_empty() && *d != ";");
    let Some(delim) = delim else {
        return vec![super::region(body)];
    };
    let mut out = Vec::new();
    let mut start = body.start;
    for l in lines(&text[body.clone()]) {
        let (ls, le) = (body.start + l.start, body.start + l.end);
        let t = text[ls..le].trim_end();
        if t.trim_start().eq_ignore_ascii_case(delim) {
            out.push(Region {
                range: start..ls,
                single_statement: true,
            });
            start = body.start + l.next;
        } else if t.len() >= delim.len()
            && t.is_char_boundary(t.len() - delim.len())
            && t[t.len() - delim.len()..].eq_ignore_ascii_case(delim)
            && !t.trim_start().starts_with("--")
        {
            out.push(Region {
                range: start..ls + t.len() - delim.len(),
                single_statement: true,
            });
            start = body.start + l.next;
        }
    }
    if start < body.end {
        out.push(Region {
            range: start..body.end,
            single_statement: true,
        });
    }
    out
}

/// The top-level XML, YAML or JSON Liquibase changelogs among the side
/// files.
fn top_changelogs(folder: &Folder) -> Vec<(&str, &str)> {
    includes::changelogs(folder)
        .into_iter()
        .filter(|(rel, _)| !rel.contains('/'))
        .collect()
}

fn is_changelog_name(rel: &str) -> bool {
    !rel.contains('/') && is_changelog_file(rel)
}

/// A file Liquibase reads as a changelog of its own format (XML, YAML or
/// JSON: change types, not SQL), by its name (ASCII case ignored).
pub fn is_changelog_file(name: &str) -> bool {
    [".xml", ".yaml", ".yml", ".json"]
        .iter()
        .any(|x| super::ends_with_ci(name, x))
}

/// One `include`, `includeAll` or `sqlFile` of a changelog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The path as written.
    pub path: String,
    /// `includeAll`: the path is a folder.
    pub folder: bool,
    /// `relativeToChangelogFile: true`: the path starts at the changelog's
    /// folder (else at a root of Liquibase's search path).
    pub relative: bool,
}

/// What a changelog includes, in order: `include`/`sqlFile` files and
/// `includeAll` folders. XML comments and CDATA sections are passed over.
pub fn references(text: &str) -> Vec<Reference> {
    let mut out = Vec::new();
    // XML: <include file="..."/>, <includeAll path="..."/>, <sqlFile path="..."/>.
    // A tag ends at its `>`, or at the next `<` (which XML does not allow in
    // a tag): tags never overlap, so each byte is read once or twice, even
    // in a text of `<`s without `>`. Comments and CDATA sections are passed
    // over whole.
    let mut pos = 0;
    'tags: while let Some(at) = text[pos..].find('<') {
        pos += at + 1;
        for (open, close) in [("!--", "-->"), ("![CDATA[", "]]>")] {
            if text[pos..].starts_with(open) {
                pos = text[pos..]
                    .find(close)
                    .map_or(text.len(), |e| pos + e + close.len());
                continue 'tags;
            }
        }
        let end = text[pos..].find(['<', '>']).map_or(text.len(), |e| pos + e);
        let tag = &text[pos..end];
        let name = tag.split_whitespace().next().unwrap_or("");
        let (attr, folder) = match name.trim_end_matches('/') {
            "include" => ("file", false),
            "includeAll" => ("path", true),
            "sqlFile" => ("path", false),
            _ => continue,
        };
        if let Some(v) = attribute(tag, attr) {
            let relative = attribute(tag, "relativeToChangelogFile")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            out.push(Reference {
                path: v,
                folder,
                relative,
            });
        }
    }
    if !out.is_empty() {
        return out;
    }
    // YAML (and JSON written the same way): `include:` then `file: ...`,
    // with `relativeToChangelogFile: true` before or after the path.
    let mut pending: Option<bool> = None;
    let mut relative_pending = false;
    // The reference of the item being read, once its path is read.
    let mut current: Option<usize> = None;
    for line in text.lines() {
        let t = line.trim().trim_start_matches('-').trim();
        let key = t
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches(['"', '{', ' '])
            .to_string();
        match key.as_str() {
            "include" | "sqlFile" | "includeAll" | "changeSet" => {
                pending = match key.as_str() {
                    "include" | "sqlFile" => Some(false),
                    "includeAll" => Some(true),
                    _ => None,
                };
                relative_pending = false;
                current = None;
            }
            _ => {}
        }
        let relative = t.find("relativeToChangelogFile").is_some_and(|i| {
            t[i + "relativeToChangelogFile".len()..]
                .trim_start_matches(['"', '\'', ' ', ':'])
                .get(..4)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        });
        if relative {
            match current {
                Some(c) => out[c].relative = true,
                None => relative_pending = true,
            }
        }
        // The key starts the line, or a flow mapping (`include: {file: a.sql,
        // relativeToChangelogFile: true}`).
        let flow = t.find('{').map(|i| t[i + 1..].trim_start());
        for k in ["file", "path"] {
            let needle_yaml = format!("{k}:");
            let needle_json = format!("\"{k}\":");
            let found = t
                .find(&needle_json)
                .map(|i| &t[i + needle_json.len()..])
                .or_else(|| t.strip_prefix(&needle_yaml))
                .or_else(|| flow.and_then(|f| f.strip_prefix(&needle_yaml)));
            if let (Some(v), Some(folder)) = (found, pending) {
                // A quoted value ends at its quote, a plain one at `,` or `}`
                // (what follows is the next key of a one-line mapping).
                let v = v.trim();
                let v = match v.chars().next() {
                    Some(q @ ('"' | '\'')) => v[1..].split(q).next().unwrap_or(""),
                    _ => v.split([',', '}']).next().unwrap_or("").trim(),
                };
                if !v.is_empty() {
                    out.push(Reference {
                        path: v.to_string(),
                        folder,
                        relative: relative_pending || relative,
                    });
                    current = Some(out.len() - 1);
                    pending = None;
                }
            }
        }
    }
    out
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let before_ok = at == 0 || rest[..at].ends_with(char::is_whitespace);
        let after = rest[at + name.len()..].trim_start();
        if before_ok {
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                let q = v.chars().next()?;
                if q == '"' || q == '\'' {
                    let body = &v[1..];
                    return body.find(q).map(|e| body[..e].to_string());
                }
            }
        }
        rest = &rest[at + name.len()..];
    }
    None
}

/// Why a root changelog gives no SQL file: what it includes.
fn includes_no_sql(name: &str, refs: &[Reference]) -> String {
    let what = if refs.is_empty() {
        "twice cannot read which SQL files it includes (no include, includeAll or sqlFile of them)"
            .to_string()
    } else {
        let shown: Vec<&str> = refs.iter().take(3).map(|r| r.path.as_str()).collect();
        format!(
            "it includes {}{} but none of this folder's SQL files (changelogs of Liquibase change \
             types, XML, YAML or JSON, are not SQL)",
            shown.join(", "),
            if refs.len() > 3 { ", ..." } else { "" }
        )
    };
    format!("Liquibase changelog {name}: {what}")
}

/// The folder's histories: one per root changelog that runs SQL files of
/// the folder (see [`includes`]), each with its root changelog named (for
/// `twice plan`), in root order; without changelogs, or when none runs an
/// SQL file, one history of the SQL files in path order.
pub fn plans(folder: &Folder) -> Vec<(Option<String>, Plan)> {
    let mut by_path: Vec<usize> = (0..folder.entries.len()).collect();
    by_path.sort_by(|&a, &b| folder.entries[a].rel.cmp(&folder.entries[b].rel));
    let Some(histories) = includes::histories(folder) else {
        return vec![(None, plan_in_order(folder, by_path))];
    };
    let (runs, none): (Vec<_>, Vec<_>) = histories
        .into_iter()
        .partition(|(h, _)| !h.order.is_empty());
    if runs.is_empty() {
        // No root runs an SQL file: read them on their own.
        let mut plan = plan_in_order(folder, by_path);
        if let Some((h, refs)) = none.first() {
            plan.notices.push(format!(
                "{}: {}; its SQL files are read on their own, in path order (formatted SQL \
                 changelogs by changeset, other SQL files as plain scripts)",
                folder.display,
                includes_no_sql(h.root, refs)
            ));
        }
        return vec![(None, plan)];
    }
    let mut included = vec![false; folder.entries.len()];
    for (h, _) in &runs {
        for &i in &h.order {
            included[i] = true;
        }
    }
    let roots: Vec<&str> = runs.iter().map(|(h, _)| h.root).collect();
    let not_included = if roots.len() == 1 {
        "not included by the Liquibase changelog".to_string()
    } else {
        format!(
            "not included by any of the Liquibase root changelogs ({})",
            crate::words::first_of(&roots, roots.len(), 3)
        )
    };
    let several = runs.len();
    let mut out = Vec::with_capacity(several);
    for (n, (h, _)) in runs.iter().enumerate() {
        let mut plan = plan_in_order(folder, h.order.clone());
        // A changelog of change types runs before the next SQL file's first
        // changeset: replay runs without it, and says so on a failure after
        // it. The migrations come in `order`'s order, and the gaps in the
        // order of the SQL entries before them: one walk through both.
        let mut place = vec![usize::MAX; folder.entries.len()];
        for (at, &i) in h.order.iter().enumerate() {
            place[i] = place[i].min(at);
        }
        let mut next = 0;
        for (before, file) in &h.gaps {
            while plan
                .migrations
                .get(next)
                .is_some_and(|m| place[m.up.file] < *before)
            {
                next += 1;
            }
            if let Some(m) = plan.migrations.get_mut(next) {
                m.code_before.push(file.clone());
            }
        }
        if n == 0 {
            // Said once for the folder.
            plan.skipped.extend(
                by_path
                    .iter()
                    .filter(|&&i| !included[i])
                    .map(|&i| (i, not_included.clone())),
            );
            for (h, _) in &none {
                plan.notices.push(format!(
                    "{}: Liquibase changelog {}: no other changelog includes it, and it runs none \
                     of this folder's SQL files (only Liquibase change types, if anything): \
                     nothing of it to check",
                    folder.display, h.root
                ));
            }
        }
        // Named here, not by `detect`: the changelogs of sub-folders were
        // not read when the folder's layout was detected.
        let why = if several > 1 {
            format!(
                "Liquibase root changelog {}, one of {several} here that no other changelog \
                 includes (each a history of its own)",
                h.root
            )
        } else {
            format!("a Liquibase changelog ({})", h.root)
        };
        let why = Some(why);
        out.push((why, plan));
    }
    out
}

/// The first history of the folder (see [`plans`]).
pub fn plan(folder: &Folder) -> Plan {
    plans(folder)
        .into_iter()
        .next()
        .map(|(_, p)| p)
        .unwrap_or_default()
}

/// The changelogs `order` names, in that order.
fn plan_in_order(folder: &Folder, order: Vec<usize>) -> Plan {
    let mut plan = Plan::default();
    let mut filtered = 0;
    for i in order {
        let e = &folder.entries[i];
        let text = &e.file.text;
        if !is_formatted(text) {
            plan.migrations.push(Migration::new(
                e.rel.clone(),
                e.base().to_string(),
                super::whole(folder, i),
                None,
            ));
            continue;
        }
        let all = lines(text);
        // (changeset, body range) in file order.
        let mut sets: Vec<(Changeset, usize)> = Vec::new();
        let mut first_changeset = text.len();
        for l in &all {
            let t = &text[l.start..l.end];
            let Some(rest) = directive(t, "changeset") else {
                continue;
            };
            first_changeset = first_changeset.min(l.start);
            match parse_changeset(rest) {
                Some((author, id, attrs)) => sets.push((
                    Changeset {
                        line: *l,
                        author,
                        id,
                        attrs,
                    },
                    l.next,
                )),
                None => plan.problem(
                    i,
                    l.start..l.end,
                    "Liquibase refuses this changelog: a changeset line must read `--changeset author:id`".into(),
                    "write the changeset line as `--changeset <author>:<id> [attribute:value ...]`",
                ),
            }
        }
        // SQL before the first changeset is not run by Liquibase.
        let header_end = all
            .iter()
            .find(|l| !text[l.start..l.end].trim().is_empty())
            .map_or(0, |l| l.next);
        if header_end < first_changeset {
            let toks =
                crate::lexer::significant_tokens(text, header_end..first_changeset, folder.dialect);
            if let (Some(a), Some(b)) = (toks.first(), toks.last()) {
                plan.problem(
                    i,
                    a.span.start..b.span.end,
                    "this SQL is not part of any changeset: Liquibase does not run it".into(),
                    "move it under a `--changeset author:id` line",
                );
            }
        }
        if sets.is_empty() {
            plan.skipped.push((
                i,
                "a Liquibase formatted SQL changelog without any changeset".into(),
            ));
            continue;
        }
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        let ends: Vec<usize> = sets
            .iter()
            .skip(1)
            .map(|(c, _)| c.line.start)
            .chain(std::iter::once(text.len()))
            .collect();
        for ((cs, body_start), body_end) in sets.iter().zip(ends) {
            let body = *body_start..body_end.max(*body_start);
            if !seen.insert((cs.author.clone(), cs.id.clone())) {
                plan.problem(
                    i,
                    cs.line.start..cs.line.end,
                    format!(
                        "Liquibase refuses this changelog: changeset {}:{} appears twice in it",
                        cs.author, cs.id
                    ),
                    "give every changeset its own id",
                );
                continue;
            }
            if let Some(dbms) = cs.attr("dbms") {
                if !dbms_selects(dbms, folder.dialect) {
                    filtered += 1;
                    continue;
                }
            }
            let no_tx = cs
                .attr("runInTransaction")
                .is_some_and(|v| v.eq_ignore_ascii_case("false"));
            let mut up = part(i, body_regions(text, body.clone(), cs));
            up.no_transaction = no_tx;
            let down = rollback(&mut plan, i, e, &all, body, no_tx);
            let rerun_note = if cs.flag("runAlways") {
                Some(format!(
                    "changeset {}:{} has runAlways:true: Liquibase runs it again on every update, so every statement in it must be safe to run twice",
                    cs.author, cs.id
                ))
            } else if cs.flag("runOnChange") {
                Some(format!(
                    "changeset {}:{} has runOnChange:true: Liquibase runs it again whenever it changes, on databases where it already ran, so every statement in it must be safe to run twice",
                    cs.author, cs.id
                ))
            } else {
                None
            };
            plan.migrations.push(Migration {
                rerun_note,
                ..Migration::new(format!("{}:{}", cs.author, cs.id), cs.id.clone(), up, down)
            });
        }
    }
    if filtered > 0 {
        plan.notices.push(format!(
            "{}: {filtered} changeset(s) whose dbms: attribute excludes {} are not read",
            folder.display, folder.dialect
        ));
    }
    plan
}

/// The rollback of a changeset whose body is `body`.
///
/// Liquibase joins consecutive `--rollback` lines with newlines before it
/// splits them into statements. Each line's text stays a region of its own
/// (so positions are exact); when a line does not end with `;` and the next
/// line is a `--rollback` line too, the text of the following lines is
/// recorded as the region's continuation: the statement that ends the
/// region then runs (and parses) with it appended, as Liquibase runs it.
fn rollback(
    plan: &mut Plan,
    file: usize,
    e: &super::Entry,
    all: &[Line],
    body: Range<usize>,
    no_tx: bool,
) -> Option<Part> {
    let text = &e.file.text;
    let mut regions: Vec<Region> = Vec::new();
    let mut any = false;
    let mut not_required = false;
    let mut skip_until = 0;
    // `--rollback` lines: (content range, follows another rollback line).
    let mut items: Vec<(Range<usize>, bool)> = Vec::new();
    let mut prev_was_rollback = false;
    // The lines of the body (found by binary search: a changelog of
    // 100,000 changesets is not read 100,000 times).
    let first = all.partition_point(|l| l.start < body.start);
    let last = all.partition_point(|l| l.start < body.end);
    for l in &all[first..last.max(first)] {
        if l.start < skip_until {
            continue;
        }
        let t = &text[l.start..l.end];
        let trimmed = t.trim_start();
        // `/* liquibase rollback ... */`
        if let Some(after) = trimmed.strip_prefix("/*") {
            let a = after.trim_start();
            if a.len() >= 9
                && a.is_char_boundary(9)
                && a[..9].eq_ignore_ascii_case("liquibase")
                && {
                    let b = a[9..].trim_start();
                    b.len() >= 8 && b.is_char_boundary(8) && b[..8].eq_ignore_ascii_case("rollback")
                }
            {
                let inner_start = l.next.min(body.end);
                let close = text[inner_start..body.end]
                    .find("*/")
                    .map(|p| inner_start + p);
                let inner_end = close.unwrap_or(body.end);
                any = true;
                regions.push(super::region(inner_start..inner_end));
                skip_until = close.map_or(body.end, |c| c + 2);
                prev_was_rollback = false;
                continue;
            }
        }
        let Some(rest) = directive(t, "rollback") else {
            prev_was_rollback = false;
            continue;
        };
        if !rest.starts_with(char::is_whitespace) {
            prev_was_rollback = false;
            continue;
        }
        any = true;
        let content_start = l.end - rest.len() + rest.chars().next().map_or(0, char::len_utf8);
        let content = text[content_start..l.end].trim();
        let lower = content.to_ascii_lowercase();
        if lower == "not required" || lower == "empty" {
            not_required |= lower == "not required";
            prev_was_rollback = false;
            continue;
        }
        if lower.starts_with("changesetid:") || lower.starts_with("changesetauthor:") {
            plan.notices.push(format!(
                "{}:{}: a rollback that refers to another changeset is not followed",
                e.file.name,
                e.file.line_col(l.start).0
            ));
            prev_was_rollback = false;
            continue;
        }
        items.push((content_start..l.end, prev_was_rollback));
        prev_was_rollback = true;
    }
    let mut i = 0;
    while i < items.len() {
        let (range, _) = items[i].clone();
        let mut continuation = String::new();
        let mut last = range.clone();
        while !text[last.clone()].trim_end().ends_with(';')
            && items.get(i + 1).is_some_and(|(_, adjacent)| *adjacent)
        {
            i += 1;
            last = items[i].0.clone();
            continuation.push('\n');
            continuation.push_str(&text[last.clone()]);
        }
        if !continuation.is_empty() {
            plan.continuations.push((file, range.start, continuation));
        }
        regions.push(super::region(range));
        i += 1;
    }
    regions.sort_by_key(|r| r.range.start);
    if !any || (not_required && regions.is_empty()) {
        return None;
    }
    let mut p = part(file, regions);
    p.no_transaction = no_tx;
    Some(p)
}

/// The Liquibase formatted SQL layout.
pub struct Liquibase;

impl super::Layout for Liquibase {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`runInTransaction:false` on the changeset")
    }

    /// Liquibase's `databasechangelog` (one row per changeset run) and
    /// `databasechangeloglock`, with the columns its standard change-log
    /// history service creates (types as on PostgreSQL, MySQL and SQLite).
    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        Some(match engine {
            Dialect::Postgres => {
                "CREATE TABLE IF NOT EXISTS databasechangeloglock (id integer NOT NULL PRIMARY KEY, \
                 locked boolean NOT NULL, lockgranted timestamp, lockedby varchar(255)); \
                 CREATE TABLE IF NOT EXISTS databasechangelog (id varchar(255) NOT NULL, author \
                 varchar(255) NOT NULL, filename varchar(255) NOT NULL, dateexecuted timestamp NOT \
                 NULL, orderexecuted integer NOT NULL, exectype varchar(10) NOT NULL, md5sum \
                 varchar(35), description varchar(255), comments varchar(255), tag varchar(255), \
                 liquibase varchar(20), contexts varchar(255), labels varchar(255), deployment_id \
                 varchar(10))"
            }
            Dialect::Mysql => {
                "CREATE TABLE IF NOT EXISTS DATABASECHANGELOGLOCK (ID int NOT NULL PRIMARY KEY, \
                 LOCKED bit(1) NOT NULL, LOCKGRANTED datetime NULL, LOCKEDBY varchar(255) NULL); \
                 CREATE TABLE IF NOT EXISTS DATABASECHANGELOG (ID varchar(255) NOT NULL, AUTHOR \
                 varchar(255) NOT NULL, FILENAME varchar(255) NOT NULL, DATEEXECUTED datetime NOT \
                 NULL, ORDEREXECUTED int NOT NULL, EXECTYPE varchar(10) NOT NULL, MD5SUM \
                 varchar(35) NULL, DESCRIPTION varchar(255) NULL, COMMENTS varchar(255) NULL, TAG \
                 varchar(255) NULL, LIQUIBASE varchar(20) NULL, CONTEXTS varchar(255) NULL, LABELS \
                 varchar(255) NULL, DEPLOYMENT_ID varchar(10) NULL)"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS DATABASECHANGELOGLOCK (ID INTEGER NOT NULL PRIMARY KEY, \
                 LOCKED BOOLEAN NOT NULL, LOCKGRANTED TEXT, LOCKEDBY VARCHAR(255)); \
                 CREATE TABLE IF NOT EXISTS DATABASECHANGELOG (ID VARCHAR(255) NOT NULL, AUTHOR \
                 VARCHAR(255) NOT NULL, FILENAME VARCHAR(255) NOT NULL, DATEEXECUTED TEXT NOT NULL, \
                 ORDEREXECUTED INTEGER NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, MD5SUM VARCHAR(35), \
                 DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), TAG VARCHAR(255), LIQUIBASE \
                 VARCHAR(20), CONTEXTS VARCHAR(255), LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10))"
            }
        })
    }

    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::Liquibase
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        if !top_changelogs(folder).is_empty() {
            // The changelog no other includes (the first, by path).
            if let Some(name) = includes::first_root(folder) {
                return Some(format!("a Liquibase changelog ({name})"));
            }
        }
        folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .find(|e| is_formatted(&e.file.text))
            .map(|e| format!("{} starts with `--liquibase formatted sql`", e.rel))
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    fn plans(&self, folder: &Folder) -> Vec<(Option<String>, Plan)> {
        plans(folder)
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        is_changelog_file(name).then(|| {
            "not SQL: a changelog of Liquibase change types (or another XML, YAML or JSON file), \
             which twice cannot check"
                .into()
        })
    }

    fn reads_side_file(&self, rel: &str) -> bool {
        is_changelog_name(rel)
    }

    fn project_file(&self, name: &str) -> bool {
        is_changelog_name(name)
    }

    /// Changelogs in the sub-folders a changelog includes files from: they
    /// may include more.
    fn reads_nested_side_file(&self, rel: &str) -> bool {
        is_changelog_file(rel)
    }

    /// A top-level changelog, and one in a sub-folder that holds no change
    /// types (only includes and `sqlFile`s, which twice follows).
    fn uses_side_file(&self, rel: &str, folder: &Folder) -> bool {
        let Some(text) = folder.aux.get(rel) else {
            return false;
        };
        is_changelog_file(rel)
            && text.contains("databaseChangeLog")
            && (!rel.contains('/') || !includes::has_change_types(text))
    }

    fn absorbs_subfolder(&self, _rel: &str, folder: &Folder) -> bool {
        // A changelog includes SQL files from the folders below it.
        !top_changelogs(folder).is_empty()
    }

    fn placeholders(&self, _envsub: bool) -> super::PlaceholderPolicy {
        super::PlaceholderPolicy {
            scope: crate::placeholder::Scope::Everywhere,
            tool: "Liquibase",
            flyway_builtins: false,
            undefined_runs_as_written: true,
        }
    }

    fn checksum_advice(&self) -> Option<&'static str> {
        Some(
            "Liquibase records a checksum of every applied changeset and fails when one changes: \
             keep these edits to changesets not applied anywhere yet, or add `--validCheckSum: ANY` to them",
        )
    }

    /// Only a changelog with `dbms` filters (on a changeset, or on an
    /// `include`/`sqlFile`) runs differently by dialect.
    fn picks_by_dialect(&self, folder: &Folder) -> bool {
        folder.entries.iter().any(|e| {
            is_formatted(&e.file.text)
                && e.file
                    .text
                    .lines()
                    .any(|l| directive(l, "changeset").is_some_and(|rest| rest.contains("dbms:")))
        }) || includes::changelogs(folder)
            .iter()
            .any(|(_, t)| t.contains("dbms"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    const LOG: &str = "--liquibase formatted sql\n\n--changeset alice:1\nCREATE TABLE a(x int);\n--rollback DROP TABLE a;\n\n--changeset bob:2 runOnChange:true\nCREATE VIEW v AS SELECT 1;\n--rollback DROP VIEW v;\n--rollback SELECT 1;\n\n--changeset \"carol d\":3 splitStatements:false runInTransaction:false\nCREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END;\n/* liquibase rollback\nDROP TRIGGER t;\n*/\n--changeset dan:4 dbms:postgresql\nSELECT 'pg only';\n--changeset eve:5\nSELECT 5;\n--rollback not required\n";

    #[test]
    fn changesets_in_file_order() {
        let f = folder(&[("changelog.sql", LOG)]);
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            vec![
                "alice:1 changelog.sql",
                "bob:2 changelog.sql",
                "carol d:3 changelog.sql",
                "eve:5 changelog.sql"
            ]
        );
        let m = &p.migrations;
        assert_eq!(texts(&f, m[0].down.as_ref().unwrap()), "DROP TABLE a;");
        assert_eq!(
            texts(&f, m[1].down.as_ref().unwrap()),
            "DROP VIEW v;|SELECT 1;"
        );
        assert!(m[1].rerun_note.as_deref().unwrap().contains("runOnChange"));
        assert!(m[2].up.regions[0].single_statement);
        assert!(m[2].up.no_transaction);
        assert_eq!(texts(&f, m[2].down.as_ref().unwrap()), "DROP TRIGGER t;");
        assert!(m[3].down.is_none());
        assert_eq!(p.notices.len(), 1, "{:?}", p.notices);
        assert!(p.continuations.is_empty());
        assert!(p.problems.is_empty());
    }

    #[test]
    fn rollback_statements_over_several_lines() {
        let text = "--liquibase formatted sql\n--changeset a:1\nALTER TABLE t ADD COLUMN c INT;\n--rollback ALTER TABLE t\n--rollback   DROP COLUMN c;\n--rollback DROP INDEX i;\n";
        let f = folder(&[("c.sql", text)]);
        let p = plan(&f);
        assert_eq!(
            texts(&f, p.migrations[0].down.as_ref().unwrap()),
            "ALTER TABLE t|DROP INDEX i;"
        );
        assert_eq!(p.continuations.len(), 1);
        assert_eq!(p.continuations[0].2, "\n  DROP COLUMN c;");
    }

    #[test]
    fn dbms_lists() {
        assert!(dbms_selects("postgresql, h2", Dialect::Postgres));
        assert!(!dbms_selects("postgresql", Dialect::Sqlite));
        assert!(!dbms_selects("!sqlite", Dialect::Sqlite));
        assert!(dbms_selects("!h2", Dialect::Sqlite));
        assert!(dbms_selects("all", Dialect::Mysql));
    }

    #[test]
    fn end_delimiter_and_stray_sql() {
        let text = "--liquibase formatted sql\nSELECT 0;\n--changeset a:1 endDelimiter:/\nCREATE TRIGGER t BEGIN SELECT 1; END\n/\nSELECT 2; SELECT 3/\n--changeset a:1\n";
        let f = folder(&[("c.sql", text)]);
        let p = plan(&f);
        assert_eq!(
            texts(&f, &p.migrations[0].up),
            "CREATE TRIGGER t BEGIN SELECT 1; END|SELECT 2; SELECT 3"
        );
        assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
    }

    #[test]
    fn includes_name_files_by_their_tails_once_each() {
        let master = "<databaseChangeLog>\n<include file=\"classpath:db/changes/b.sql\"/>\n\
            <include file=\"/abs/db/changes/b.sql\"/>\n<includeAll path=\"classpath:db/more/\"/>\n\
            <include file=\"types.xml\"/>\n<include file=\"a.sql\"/>\n<include file=\"../../etc/passwd\"/>\n\
            <include file=\"x<include file=\"a.sql\"/>\n</databaseChangeLog>";
        let mut f = folder(&[
            ("a.sql", "SELECT 1;"),
            ("changes/b.sql", "SELECT 2;"),
            ("more/d.sql", "SELECT 4;"),
            ("more/c.sql", "SELECT 3;"),
            ("more/deeper/e.sql", "SELECT 5;"),
        ]);
        f.aux.insert("changelog.xml".into(), master.into());
        let p = plan(&f);
        let files: Vec<&str> = p
            .migrations
            .iter()
            .map(|m| f.entries[m.up.file].rel.as_str())
            .collect();
        // `includeAll` takes the folder's sub-folders too, by path.
        assert_eq!(
            files,
            [
                "changes/b.sql",
                "more/c.sql",
                "more/d.sql",
                "more/deeper/e.sql",
                "a.sql"
            ]
        );
        assert_eq!(p.migrations[4].code_before, ["types.xml"]);
        assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    }

    #[test]
    fn yaml_and_json_includes_on_one_line() {
        let yaml = "databaseChangeLog:\n  - include: {file: a.sql, relativeToChangelogFile: true}\n  - include:\n      file: 'b.sql'\n";
        let read = |text: &str| -> Vec<(String, bool, bool)> {
            references(text)
                .into_iter()
                .map(|r| (r.path, r.folder, r.relative))
                .collect()
        };
        assert_eq!(
            read(yaml),
            [
                ("a.sql".to_string(), false, true),
                ("b.sql".to_string(), false, false)
            ]
        );
        let json = "{\"databaseChangeLog\": [\n{\"include\": {\"file\": \"a.sql\", \"relativeToChangelogFile\": true}},\n{\"includeAll\": {\"path\": \"more/\"}}\n]}";
        assert_eq!(
            read(json),
            [
                ("a.sql".to_string(), false, true),
                ("more/".to_string(), true, false)
            ]
        );
    }

    #[test]
    fn header_detection() {
        assert!(is_formatted("\n-- Liquibase Formatted SQL\n"));
        assert!(!is_formatted("SELECT 1;\n--liquibase formatted sql"));
    }
}
