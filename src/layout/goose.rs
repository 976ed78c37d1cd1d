//! `goose` (`goose up`): one `<version>_<name>.sql` file per migration with
//! `-- +goose Up` and `-- +goose Down` sections.
//!
//! As goose does (its line-based parser, copied rule for rule):
//! - annotations are lines starting with `--` whose rest is `+goose up`,
//!   `+goose down`, `+goose statementbegin`, `+goose statementend`,
//!   `+goose no transaction`, `+goose envsub on` / `off` (case ignored);
//! - outside `StatementBegin`/`StatementEnd` a statement ends at a line
//!   whose last word (before a `--` comment) ends with `;`: each such run of
//!   lines is one region, split further by twice's own splitter, so a `;`
//!   at a line end inside a string or a function body cuts the statement
//!   exactly where goose cuts it (and twice then reports the broken piece);
//! - the lines between `StatementBegin` and `StatementEnd` are one
//!   statement whatever `;` they hold (`Region::single_statement`);
//! - `NO TRANSACTION` runs both sections outside a transaction;
//! - `ENVSUB ON` substitutes `${VAR}` (and `${VAR:-default}`) in the
//!   statements that follow: twice takes the values from `--define`.
//!
//! goose refuses a file without `-- +goose Up`, with statements before it,
//! with `Down` before `Up`, with an unclosed `StatementBegin` or with a
//! statement missing its final `;`: those are `malformed-migration`
//! findings; the file is still read as well as it can be. The original
//! `bitbucket.org/liamstask/goose` (named in the project's `go.mod`) does
//! not refuse a last statement without `;`: it logs "Unexpected unfinished
//! SQL query" and drops it, so twice reports that the statement never runs
//! and leaves it out of replay. Files whose name
//! does not start with `<number>_` are ignored, as goose ignores them, and
//! migrations run in numeric version order.

use super::{lines, numeric_cmp, part, Folder, Line, Plan};
use crate::dialect::Dialect;
use crate::model::{Migration, Region};
use std::ops::Range;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Start,
    Up,
    UpBlock,
    Down,
    DownBlock,
}

enum Annotation {
    Up,
    Down,
    Begin,
    End,
    NoTransaction,
    EnvsubOn,
    EnvsubOff,
}

fn annotation(line: &str) -> Option<Annotation> {
    let cmd = line.strip_prefix("--")?.trim();
    let rest = cmd.strip_prefix("+goose")?;
    let words: Vec<String> = rest
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    Some(match words.as_slice() {
        ["up"] => Annotation::Up,
        ["down"] => Annotation::Down,
        ["statementbegin"] => Annotation::Begin,
        ["statementend"] => Annotation::End,
        ["no", "transaction"] => Annotation::NoTransaction,
        ["envsub", "on"] | ["envsubst", "on"] => Annotation::EnvsubOn,
        ["envsub", "off"] | ["envsubst", "off"] => Annotation::EnvsubOff,
        _ => return None,
    })
}

/// goose's end-of-statement test: the last word before a `--` comment ends
/// with `;`.
fn ends_with_semicolon(line: &str) -> bool {
    let mut prev = "";
    for word in line.split_whitespace() {
        if word.starts_with("--") {
            break;
        }
        prev = word;
    }
    prev.ends_with(';')
}

/// The up and down regions of one goose file.
#[derive(Debug, Default)]
pub struct Sections {
    pub up: Vec<Region>,
    pub down: Option<Vec<Region>>,
    pub no_transaction: bool,
    /// (span, message, help) of what goose refuses.
    pub problems: Vec<(Range<usize>, String, &'static str)>,
    pub envsub: Vec<Range<usize>>,
}

pub fn sections(text: &str) -> Sections {
    sections_of(text, Flavour::Pressly)
}

/// Which goose reads the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// pressly/goose (`github.com/pressly/goose`), today's goose.
    Pressly,
    /// The original `bitbucket.org/liamstask/goose`, which logs "Unexpected
    /// unfinished SQL query" for a last statement without `;` and drops
    /// it instead of refusing the migration.
    Liamstask,
}

/// The goose flavour a folder's project requires in its `go.mod`.
fn flavour(folder: &Folder) -> Flavour {
    let liamstask = folder.aux.get("../go.mod").is_some_and(|g| {
        super::go_requirements(g)
            .any(|(m, _)| super::go_module_is(m, "bitbucket.org/liamstask/goose"))
    });
    if liamstask {
        Flavour::Liamstask
    } else {
        Flavour::Pressly
    }
}

/// [`sections`] as `flavour` reads them.
pub fn sections_of(text: &str, flavour: Flavour) -> Sections {
    let mut s = Sections::default();
    let mut state = State::Start;
    let mut implicit_up = false;
    let mut saw_up = false;
    let mut implicit_problem = None;
    let mut envsub = false;
    let mut chunk: Option<Range<usize>> = None;
    let mut block: Option<(Line, Option<Range<usize>>)> = None;
    let all = lines(text);
    let emit = |s: &mut Sections, state: State, r: Range<usize>, single: bool, envsub: bool| {
        if envsub {
            s.envsub.push(r.clone());
        }
        let region = Region {
            range: r,
            single_statement: single,
        };
        match state {
            State::Up | State::UpBlock | State::Start => s.up.push(region),
            State::Down | State::DownBlock => s.down.get_or_insert_with(Vec::new).push(region),
        }
    };
    for l in &all {
        let t = &text[l.start..l.end];
        if let Some(a) = annotation(t) {
            match a {
                Annotation::Up => match state {
                    State::Start => {
                        state = State::Up;
                        saw_up = true;
                    }
                    State::Up if implicit_up && !saw_up => saw_up = true,
                    // After a misplaced Down, the Up section still reads as one.
                    State::Down if !saw_up => {
                        if let Some(c) = chunk.take() {
                            emit(&mut s, state, c, false, envsub);
                        }
                        state = State::Up;
                        saw_up = true;
                    }
                    _ => s.problems.push((
                        l.start..l.end,
                        "goose refuses this migration: duplicate `-- +goose Up` annotation".into(),
                        "keep one `-- +goose Up` at the top of the file",
                    )),
                },
                Annotation::Down => match state {
                    State::Up => {
                        if let Some(c) = chunk.take() {
                            s.problems.push((
                                c.clone(),
                                "goose refuses this migration: this statement does not end with `;` before `-- +goose Down`".into(),
                                "end the statement with `;` at the end of its last line",
                            ));
                            emit(&mut s, state, c, false, envsub);
                        }
                        state = State::Down;
                        s.down.get_or_insert_with(Vec::new);
                    }
                    State::Start => {
                        s.problems.push((
                            l.start..l.end,
                            "goose refuses this migration: `-- +goose Down` comes before `-- +goose Up`".into(),
                            "put the up section first, under `-- +goose Up`, and `-- +goose Down` after it",
                        ));
                        state = State::Down;
                        s.down.get_or_insert_with(Vec::new);
                    }
                    _ => s.problems.push((
                        l.start..l.end,
                        "goose refuses this migration: unexpected `-- +goose Down`".into(),
                        "keep one `-- +goose Down`, after the up section",
                    )),
                },
                Annotation::Begin => match state {
                    State::Up | State::Down => {
                        if let Some(c) = chunk.take() {
                            emit(&mut s, state, c, false, envsub);
                        }
                        state = if state == State::Up {
                            State::UpBlock
                        } else {
                            State::DownBlock
                        };
                        block = Some((*l, None));
                    }
                    _ => s.problems.push((
                        l.start..l.end,
                        "goose refuses this migration: `-- +goose StatementBegin` outside an Up or Down section, or inside another block".into(),
                        "put StatementBegin/StatementEnd pairs inside the Up or Down section",
                    )),
                },
                Annotation::End => match state {
                    State::UpBlock | State::DownBlock => {
                        if let Some((_, Some(r))) = block.take() {
                            emit(&mut s, state, r, true, envsub);
                        }
                        state = if state == State::UpBlock {
                            State::Up
                        } else {
                            State::Down
                        };
                    }
                    _ => s.problems.push((
                        l.start..l.end,
                        "goose refuses this migration: `-- +goose StatementEnd` without `-- +goose StatementBegin`".into(),
                        "pair every StatementEnd with a StatementBegin",
                    )),
                },
                Annotation::NoTransaction => s.no_transaction = true,
                Annotation::EnvsubOn => envsub = true,
                Annotation::EnvsubOff => envsub = false,
            }
            continue;
        }
        match state {
            State::Start => {
                let trimmed = t.trim();
                if trimmed.is_empty() || trimmed.starts_with("--") {
                    continue;
                }
                implicit_problem = Some(s.problems.len());
                s.problems.push((
                    l.start..l.end,
                    "goose refuses this migration: statements come before `-- +goose Up`".into(),
                    "start the file with `-- +goose Up`",
                ));
                state = State::Up;
                implicit_up = true;
                chunk = Some(l.start..l.end);
                if ends_with_semicolon(t) {
                    if let Some(c) = chunk.take() {
                        emit(&mut s, state, c, false, envsub);
                    }
                }
            }
            State::Up | State::Down => {
                // Blank lines (spaces too) and comments start no statement:
                // goose checks what is left with TrimSpace.
                if chunk.is_none() && (t.trim().starts_with("--") || t.trim().is_empty()) {
                    continue;
                }
                let c = chunk.get_or_insert(l.start..l.end);
                c.end = l.end;
                if ends_with_semicolon(t) {
                    if let Some(c) = chunk.take() {
                        emit(&mut s, state, c, false, envsub);
                    }
                }
            }
            State::UpBlock | State::DownBlock => {
                if let Some((_, r)) = &mut block {
                    let r = r.get_or_insert(l.start..l.end);
                    r.end = l.end;
                }
            }
        }
    }
    if let (Some(i), false) = (implicit_problem, saw_up) {
        if let Some(p) = s.problems.get_mut(i) {
            p.1 = "goose refuses this migration: it has no `-- +goose Up` annotation".into();
            p.2 =
                "start the file with `-- +goose Up` (and put the rollback under `-- +goose Down`)";
        }
    }
    match state {
        State::Start => s.problems.push((
            0..0,
            "goose refuses this migration: it has no `-- +goose Up` annotation".into(),
            "start the file with `-- +goose Up` (and put the rollback under `-- +goose Down`)",
        )),
        State::UpBlock | State::DownBlock => {
            let (begin, r) = block.take().unwrap_or((
                Line {
                    start: 0,
                    end: 0,
                    next: 0,
                },
                None,
            ));
            s.problems.push((
                begin.start..begin.end,
                "goose refuses this migration: `-- +goose StatementBegin` is never closed by `-- +goose StatementEnd`".into(),
                "add `-- +goose StatementEnd` after the statement",
            ));
            if let Some(r) = r {
                emit(&mut s, state, r, true, envsub);
            }
        }
        State::Up | State::Down => {
            if let Some(c) = chunk.take() {
                if flavour == Flavour::Liamstask {
                    // It logs a warning and runs the section without it.
                    s.problems.push((
                        c,
                        format!(
                            "liamstask/goose never runs this statement: it does not end with `;`, \
                             so goose logs \"Unexpected unfinished SQL query\" and runs the {} \
                             section without it",
                            if state == State::Up { "Up" } else { "Down" }
                        ),
                        "end the statement with `;` at the end of its last line",
                    ));
                } else {
                    s.problems.push((
                        c.clone(),
                        "goose refuses this migration: the last statement does not end with `;`"
                            .into(),
                        "end the statement with `;` at the end of its last line",
                    ));
                    emit(&mut s, state, c, false, envsub);
                }
            }
        }
    }
    s
}

pub fn plan(folder: &Folder) -> Plan {
    let mut plan = Plan::default();
    let mut order: Vec<(String, usize)> = Vec::new();
    for (i, e) in folder.entries.iter().enumerate() {
        if !e.dir().is_empty() {
            plan.skipped.push((
                i,
                "goose reads only the files directly in its folder".into(),
            ));
            continue;
        }
        match super::version_underscore(e.base()) {
            // goose reads the version with strconv.ParseInt(v, 10, 64), and
            // fails on the whole folder when one does not fit.
            Some((v, _)) if v.parse::<i64>().is_err() => plan.problem(
                i,
                0..0,
                format!(
                    "goose refuses to run this folder: the version {v} of {} does not fit in a \
                     64-bit integer (could not parse SQL migration file)",
                    e.base()
                ),
                "use a version of at most 19 digits (up to 9223372036854775807)",
            ),
            Some((v, _)) if !v.trim_start_matches('0').is_empty() => order.push((v.to_string(), i)),
            _ => plan
                .skipped
                .push((i, "goose migration names start with <version>_".into())),
        }
    }
    order.sort_by(|a, b| {
        numeric_cmp(&a.0, &b.0).then_with(|| folder.entries[a.1].rel.cmp(&folder.entries[b.1].rel))
    });
    let flavour = flavour(folder);
    for (version, i) in order {
        let e = &folder.entries[i];
        let s = sections_of(&e.file.text, flavour);
        for (span, message, help) in s.problems {
            plan.problem(i, span, message, help);
        }
        for r in s.envsub {
            plan.envsub.push((i, r));
        }
        let mut up = part(i, s.up);
        up.no_transaction = s.no_transaction;
        let down = s.down.map(|regions| {
            let mut p = part(i, regions);
            p.no_transaction = s.no_transaction;
            p
        });
        let name = super::version_underscore(e.base())
            .map_or("", |(_, n)| n)
            .trim_end_matches(".sql")
            .to_string();
        plan.migrations
            .push(Migration::new(version, name, up, down));
    }
    super::duplicate_versions(&mut plan, folder, "goose", |m| {
        Some(m.version.trim_start_matches('0').to_string())
    });
    plan
}

/// The goose layout.
pub struct Goose;

impl super::Layout for Goose {
    /// Each migration runs in a transaction of the tool's own.
    fn wraps_migrations(&self) -> bool {
        true
    }

    fn outside_transaction_marker(&self) -> Option<&'static str> {
        Some("`-- +goose NO TRANSACTION` at the top of the file")
    }

    /// goose's `goose_db_version`, as its PostgreSQL (also its MySQL
    /// driver's shape) and SQLite dialects create it.
    fn bookkeeping_sql(&self, engine: Dialect) -> Option<&'static str> {
        Some(match engine {
            Dialect::Postgres | Dialect::Mysql => {
                "CREATE TABLE IF NOT EXISTS goose_db_version (id serial NOT NULL, version_id bigint \
                 NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NULL DEFAULT now(), \
                 PRIMARY KEY (id))"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, \
                 version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT \
                 (datetime('now')))"
            }
        })
    }

    fn kind(&self) -> crate::model::LayoutKind {
        crate::model::LayoutKind::Goose
    }

    fn detect(&self, folder: &Folder) -> Option<String> {
        folder
            .entries
            .iter()
            .filter(|e| e.dir().is_empty())
            .find(|e| e.marks.has(self.kind()))
            .map(|e| format!("`-- +goose` annotations in {}", e.rel))
    }

    fn line_mark(&self) -> Option<fn(&str) -> bool> {
        Some(super::detect::is_goose_annotation)
    }

    fn plan(&self, folder: &Folder) -> Plan {
        plan(folder)
    }

    /// The project's `go.mod` says which goose reads the files.
    fn ancestor_side_files(&self) -> &'static [&'static str] {
        &["go.mod"]
    }

    fn code_migration(&self, rel: &str) -> Option<String> {
        let base = rel.rsplit('/').next().unwrap_or(rel);
        if !super::ends_with_ci(base, ".go")
            || super::ends_with_ci(base, "_test.go")
            || rel.contains('/')
        {
            return None;
        }
        super::version_underscore(base).map(|(v, _)| v.to_string())
    }

    fn skip_reason(&self, name: &str) -> Option<String> {
        if !super::ends_with_ci(name, ".go") {
            return None;
        }
        let base = name.rsplit('/').next().unwrap_or(name);
        // goose runs `<version>_<name>.go`; tests and helpers beside them are not migrations.
        Some(
            if super::version_underscore(base).is_some() && !super::ends_with_ci(base, "_test.go") {
                "a goose Go migration: not SQL, so twice cannot check it (the sequence is checked without it)"
            } else {
                "Go code, not a migration (goose migrations start with a version number)"
            }
            .into(),
        )
    }

    fn placeholders(&self, envsub: bool) -> super::PlaceholderPolicy {
        if envsub {
            super::PlaceholderPolicy {
                scope: crate::placeholder::Scope::Everywhere,
                tool: "goose (ENVSUB ON)",
                flyway_builtins: false,
                undefined_runs_as_written: false,
            }
        } else {
            super::PlaceholderPolicy::NEVER
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn joined(text: &str, regions: &[Region]) -> Vec<String> {
        regions
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    if r.single_statement { "!" } else { "" },
                    &text[r.range.clone()]
                )
            })
            .collect()
    }

    #[test]
    fn statement_blocks_and_sections() {
        let text = "-- +goose Up\n-- +goose NO TRANSACTION\nCREATE TABLE a(x);\nCREATE TABLE b(\n  y int\n);\n-- +goose StatementBegin\nCREATE FUNCTION f() AS $$ BEGIN\n  RETURN 1;\nEND $$;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE a;\n";
        let s = sections(text);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert!(s.no_transaction);
        assert_eq!(
            joined(text, &s.up),
            vec![
                "CREATE TABLE a(x);",
                "CREATE TABLE b(\n  y int\n);",
                "!CREATE FUNCTION f() AS $$ BEGIN\n  RETURN 1;\nEND $$;"
            ]
        );
        assert_eq!(
            joined(text, s.down.as_deref().unwrap()),
            vec!["DROP TABLE a;"]
        );
    }

    #[test]
    fn lines_of_spaces_are_blank() {
        // goose checks what is left at the end with TrimSpace: a last line
        // of spaces is no unfinished statement.
        let text = "-- +goose Up\nALTER TABLE a ADD COLUMN b int;\n\n-- +goose Down\n \n";
        let s = sections(text);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(joined(text, &s.up), vec!["ALTER TABLE a ADD COLUMN b int;"]);
        let s = sections("-- +goose Up\nSELECT 1\n  \n");
        assert_eq!(s.problems.len(), 1);
    }

    #[test]
    fn liamstask_goose_drops_an_unfinished_last_statement() {
        let text =
            "-- +goose Up\nCREATE TABLE IF NOT EXISTS a(x int);\n\n-- +goose Down\nDROP TABLE a\n";
        let s = sections_of(text, Flavour::Liamstask);
        assert_eq!(s.problems.len(), 1);
        assert!(s.problems[0]
            .1
            .starts_with("liamstask/goose never runs this statement"));
        assert!(s.problems[0]
            .1
            .ends_with("runs the Down section without it"));
        assert_eq!(&text[s.problems[0].0.clone()], "DROP TABLE a");
        assert!(s.down.as_deref().unwrap_or_default().is_empty());
        // pressly/goose refuses it, and twice still reads it.
        let s = sections(text);
        assert!(s.problems[0].1.starts_with("goose refuses this migration"));
        assert_eq!(
            joined(text, s.down.as_deref().unwrap()),
            vec!["DROP TABLE a"]
        );
        // The flavour comes from the project's go.mod.
        let mut f = Folder::default();
        f.aux.insert(
            "../go.mod".into(),
            "module x\nrequire bitbucket.org/liamstask/goose v0.0.0-20150115234039-8488cc47d90c\n"
                .into(),
        );
        assert_eq!(flavour(&f), Flavour::Liamstask);
        assert_eq!(flavour(&Folder::default()), Flavour::Pressly);
    }

    #[test]
    fn goose_cuts_at_line_end_semicolons() {
        let text = "-- +goose up\nINSERT INTO t VALUES ('a;\nb');\n";
        let s = sections(text);
        assert_eq!(
            joined(text, &s.up),
            vec!["INSERT INTO t VALUES ('a;", "b');"]
        );
    }

    #[test]
    fn refusals() {
        let s = sections("CREATE TABLE a(x);");
        assert_eq!(s.problems.len(), 1);
        assert!(s.problems[0].1.contains("no `-- +goose Up`"));
        assert_eq!(s.up.len(), 1);
        assert_eq!(
            sections("SELECT 1;\n-- +goose Up\nSELECT 2;\n")
                .problems
                .len(),
            1
        );
        assert_eq!(sections("").problems.len(), 1);
        assert_eq!(
            sections("-- +goose Down\nDROP TABLE a;\n-- +goose Up\n")
                .problems
                .len(),
            1
        );
        assert_eq!(sections("-- +goose Up\nSELECT 1").problems.len(), 1);
        assert_eq!(
            sections("-- +goose Up\n-- +goose StatementBegin\nSELECT 1;")
                .problems
                .len(),
            1
        );
    }

    #[test]
    fn envsub_regions() {
        let text = "-- +goose Up\n-- +goose ENVSUB ON\nCREATE TABLE ${T}(x);\n-- +goose ENVSUB OFF\nSELECT 1;\n";
        let s = sections(text);
        assert_eq!(s.envsub.len(), 1);
        assert_eq!(&text[s.envsub[0].clone()], "CREATE TABLE ${T}(x);");
    }

    #[test]
    fn numeric_order() {
        let f = folder(&[
            ("10_c.sql", "-- +goose Up\nSELECT 1;\n"),
            ("9_b.sql", "-- +goose Up\nSELECT 1;\n"),
            ("00001_a.sql", "-- +goose Up\nSELECT 1;\n"),
            ("x.sql", ""),
        ]);
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            vec!["00001 00001_a.sql", "9 9_b.sql", "10 10_c.sql"]
        );
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn a_version_past_int64_is_refused_as_goose_refuses_it() {
        let f = folder(&[
            ("00001_a.sql", "-- +goose Up\nSELECT 1;\n"),
            ("9223372036854775807_b.sql", "-- +goose Up\nSELECT 2;\n"),
            ("9223372036854775808_c.sql", "-- +goose Up\nSELECT 3;\n"),
            ("99999999999999999999999_d.sql", "-- +goose Up\nSELECT 4;\n"),
        ]);
        let p = plan(&f);
        assert_eq!(
            order(&f, &p),
            vec![
                "00001 00001_a.sql",
                "9223372036854775807 9223372036854775807_b.sql"
            ]
        );
        assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
        assert!(p.problems[0]
            .message
            .contains("the version 9223372036854775808 of 9223372036854775808_c.sql does not fit"));
    }
}
