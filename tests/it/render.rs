//! The output formats: snapshots of every format for the fixture folder and
//! for hand-built reports (static and replay findings of one statement,
//! multi-line replay messages, characters that need escaping), SARIF schema
//! validation, fingerprint stability and colour.

use crate::common;

use std::ops::Range;
use twice::check::{Report, SequenceSummary, Summary};
use twice::finding::{Edit, Finding, FindingBuilder, Fix, Origin, Severity};
use twice::render::{self, Format, RenderOptions};
use twice::rules::RuleMeta;
use twice::source::SourceFile;

// ---------------------------------------------------------------------------
// Hand-built reports

static CREATE: RuleMeta = RuleMeta {
    id: "create-without-if-not-exists",
    severity: Severity::Error,
    origin: Origin::Static,
    summary: "CREATE without IF NOT EXISTS fails on a second run",
    doc: "## What it does\nFlags CREATE statements without `IF NOT EXISTS`.\n\n## Why it matters\nThe second run fails.\n\n## Example\n```sql\nCREATE TABLE t (id INTEGER);\n```\n\n## Fix\n```sql\nCREATE TABLE IF NOT EXISTS t (id INTEGER);\n```\n",
    fixable: true,
};

static NONDET: RuleMeta = RuleMeta {
    id: "nondeterministic-value",
    severity: Severity::Warning,
    origin: Origin::Static,
    summary: "a value that differs on every run",
    doc: "## What it does\nFlags now(), random() and friends in written values.\n\n## Why it matters\nEach run writes something else.\n\n## Example\n`INSERT INTO t VALUES (now())`\n\n## Fix\nWrite a constant.\n",
    fixable: false,
};

static SECOND_RUN_ERROR: RuleMeta = RuleMeta {
    id: "second-run-error",
    severity: Severity::Error,
    origin: Origin::Replay,
    summary: "a statement fails when the migration runs a second time",
    doc: "## What it does\nReplays the migration and reports statements that fail the second time.\n\n## Why it matters\nA re-run breaks the deploy.\n\n## Example\n`CREATE TABLE t (id INTEGER);`\n\n## Fix\nMake the statement idempotent.\n",
    fixable: false,
};

static RULES: &[&RuleMeta] = &[&CREATE, &NONDET, &SECOND_RUN_ERROR];

const INIT_SQL: &str = "\
-- customers and their orders
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    country     TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT,
    visits      INTEGER NOT NULL DEFAULT 0,
    notes       TEXT
);
INSERT INTO customers (email, name, created_at) VALUES ('a@example.com', 'A', now());
CREATE INDEX orders_customer ON orders (customer_id);
";

const ODD_SQL: &str = "UPDATE counters SET n = n + 1;\n";

fn span_of(text: &str, needle: &str) -> Range<usize> {
    let start = text.find(needle).expect("needle in text");
    start..start + needle.len()
}

/// Statement spans: each `;`-terminated chunk without the leading comment
/// lines and whitespace.
fn statement_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == ';' {
            let chunk = &text[start..i];
            let mut s = start;
            for line in chunk.split_inclusive('\n') {
                if line.trim().is_empty() || line.trim_start().starts_with("--") {
                    s += line.len();
                } else {
                    s += line.len() - line.trim_start().len();
                    break;
                }
            }
            spans.push(s..i);
            start = i + 1;
        }
    }
    spans
}

struct Builder {
    files: Vec<SourceFile>,
    findings: Vec<Finding>,
    notices: Vec<String>,
}

impl Builder {
    fn new(files: Vec<SourceFile>) -> Builder {
        Builder {
            files,
            findings: Vec::new(),
            notices: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        file: usize,
        rule: &str,
        severity: Severity,
        source: Origin,
        span: Range<usize>,
        statement: usize,
        message: &str,
    ) -> usize {
        let b = FindingBuilder {
            file: &self.files[file],
        };
        let mut f = b.at(rule, severity, source, span, message.to_string());
        f.statement = Some(statement);
        self.findings.push(f);
        self.findings.len() - 1
    }

    fn link(&mut self, a: usize, b: usize) {
        self.findings[a].related.push(b);
        self.findings[b].related.push(a);
    }

    fn build(self) -> Report {
        let count = |s| self.findings.iter().filter(|f| f.severity == s).count();
        let summary = Summary {
            files: self.files.len(),
            statements: self
                .files
                .iter()
                .map(|f| statement_spans(&f.text).len())
                .sum(),
            migrations: self.files.len(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            baselined: 0,
            sequences: vec![SequenceSummary {
                engine: None,
                root: "migrations".into(),
                layout: "plain",
                dialect: "sqlite",
                migrations: self.files.len(),
                replay: "replayed".into(),
            }],
        };
        Report {
            statements: self
                .files
                .iter()
                .map(|f| statement_spans(&f.text))
                .collect(),
            files: self.files,
            findings: self.findings,
            summary,
            notices: self.notices,
            ..Report::default()
        }
    }
}

/// Static and replay findings about one statement, a more severe replay
/// finding, a multi-line diff, a fix, notes, and a file whose name and
/// message need escaping.
fn sample_report() -> Report {
    let init = SourceFile::from_text("migrations/001_init.sql", INIT_SQL);
    let odd = SourceFile::from_text("migrations/002 odd,name%.sql", ODD_SQL);
    let mut b = Builder::new(vec![init, odd]);

    let create = span_of(INIT_SQL, "CREATE TABLE customers");
    let s = b.add(
        0,
        "create-without-if-not-exists",
        Severity::Error,
        Origin::Static,
        create.start..create.start + 6,
        0,
        "CREATE TABLE customers runs only once: a second run fails with 'table customers already exists'",
    );
    b.findings[s].help = Some("write `CREATE TABLE IF NOT EXISTS customers`".into());
    let insert_at = create.start + "CREATE TABLE".len();
    b.findings[s].fix = Some(Fix {
        description: "insert `IF NOT EXISTS`".into(),
        edits: vec![Edit {
            span: insert_at..insert_at,
            replacement: " IF NOT EXISTS".into(),
        }],
        applicability: Default::default(),
    });
    let r = b.add(
        0,
        "second-run-error",
        Severity::Error,
        Origin::Replay,
        create.start..create.start + 6,
        0,
        "second run failed: table customers already exists",
    );
    b.link(s, r);

    let now = span_of(INIT_SQL, "now()");
    let w = b.add(
        0,
        "nondeterministic-value",
        Severity::Warning,
        Origin::Static,
        now,
        1,
        "now() writes a different value on every run",
    );
    b.findings[w].notes = vec!["the column is created_at".into()];
    b.findings[w].help = Some("write a fixed timestamp".into());
    let insert = span_of(INIT_SQL, "INSERT INTO customers");
    let d = b.add(
        0,
        "second-run-data-change",
        Severity::Error,
        Origin::Replay,
        insert.start..insert.start + 6,
        1,
        "the second run changed the data of 1 table\n\
         --- customers after run 1\n\
         +++ customers after run 2\n\
         @@ rows: 1 → 2 @@\n \
         (1, 'a@example.com', 'A')\n\
         +(2, 'a@example.com', 'A')",
    );
    b.findings[d].notes = vec!["written by the INSERT on line 12".into()];
    b.findings[d].evidence =
        Some(serde_json::json!({"tables": [{"table": "customers", "added": 1}]}));
    b.link(w, d);

    let index = span_of(INIT_SQL, "CREATE INDEX");
    let i = b.add(
        0,
        "unparsed-statement",
        Severity::Info,
        Origin::Static,
        index.start..index.start + 6,
        2,
        "sqlparser could not read this statement: 100% sure, a, b: c",
    );
    b.findings[i].notes = vec!["line one\r\nline two".into()];

    let upd = span_of(ODD_SQL, "n = n + 1");
    b.add(
        1,
        "relative-update",
        Severity::Error,
        Origin::Static,
        upd,
        0,
        "SET n = n + 1 adds 1 on every run: 100%, not idempotent",
    );
    b.notices
        .push("migrations/readme.txt: skipped: not a .sql file".into());
    b.build()
}

fn render_with(report: &Report, format: Format, color: bool) -> String {
    let opts = RenderOptions {
        color,
        rules: RULES,
        tool_version: "0.0.0-test",
        ..RenderOptions::default()
    };
    let mut buf = Vec::new();
    render::renderer(format, &opts)
        .render(report, &mut buf)
        .expect("render");
    String::from_utf8(buf).expect("utf-8 output")
}

// ---------------------------------------------------------------------------
// Snapshots of the hand-built report

#[test]
fn sample_human() {
    snapshot!(
        "sample_human",
        render_with(&sample_report(), Format::Human, false)
    );
}

#[test]
fn sample_json() {
    snapshot!(
        "sample_json",
        render_with(&sample_report(), Format::Json, false)
    );
}

#[test]
fn sample_sarif() {
    snapshot!(
        "sample_sarif",
        render_with(&sample_report(), Format::Sarif, false)
    );
}

#[test]
fn sample_github() {
    snapshot!(
        "sample_github",
        render_with(&sample_report(), Format::Github, false)
    );
}

#[test]
fn sample_gitlab() {
    snapshot!(
        "sample_gitlab",
        render_with(&sample_report(), Format::Gitlab, false)
    );
}

// ---------------------------------------------------------------------------
// Behaviour

#[test]
fn replay_finding_is_shown_inside_the_static_block() {
    let out = render_with(&sample_report(), Format::Human, false);
    assert!(out
        .contains("note: confirmed by replay: second run failed: table customers already exists"));
    // Its own block is not printed...
    assert!(!out.contains("error[second-run-error]"), "{out}");
    // ...but the more severe replay finding about the warning keeps its block.
    assert!(out.contains("error[second-run-data-change]"), "{out}");
    assert!(out.contains(
        "note: replay reports this statement too, below as error[second-run-data-change]: the second run changed the data of 1 table"
    ));
    assert!(out.contains(
        "note: the static rules report this statement too, above as warning[nondeterministic-value]"
    ));
    // JSON keeps both findings, linked.
    let json: serde_json::Value =
        serde_json::from_str(&render_with(&sample_report(), Format::Json, false)).unwrap();
    let rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"second-run-error"));
    assert_eq!(json["findings"][0]["related"], serde_json::json!([1]));
    assert_eq!(json["findings"][1]["related"], serde_json::json!([0]));
}

/// A first run that fails (here a down's) is a problem of its own, not the
/// one the static rule at its statement names (`DROP COLUMN` without a
/// guard, whose fix leaves the failure): it keeps its own block, counted in
/// the summary, with a note each way; a second run's failure confirms its
/// static finding and is shown inside it.
#[test]
fn a_first_run_failure_keeps_its_own_block() {
    let report = common::check_paths(
        &["fixtures/replay/down-drop-indexed"],
        &twice::check::Options::default(),
    );
    let out = render_with(&report, Format::Human, false);
    let summary = out
        .lines()
        .find(|l| l.starts_with("twice: checked"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        summary.ends_with("3 errors (1 replay finding shown with the static finding it confirms)"),
        "{summary}"
    );
    assert!(
        out.contains("error[first-run-error]: down migration fails"),
        "{out}"
    );
    assert!(
        out.contains("note: replay reports this statement too, below as error[first-run-error]"),
        "{out}"
    );
    assert!(
        out.contains("note: the static rules report this statement too, above as error[drop-without-if-exists]"),
        "{out}"
    );
}

/// A replay finding that only says replay did not run the statement (an
/// undefined placeholder) is neither confirming nor found by replay: drawn
/// as `not replayed: ...` and counted so.
#[test]
fn summary_tells_statements_not_replayed() {
    let report = common::check_paths(
        &["fixtures/render/not-replayed"],
        &twice::check::Options::default(),
    );
    let out = render_with(&report, Format::Human, false);
    assert!(!out.contains("found by replay"), "{out}");
    assert!(
        out.contains("note: not replayed: it holds a placeholder"),
        "{out}"
    );
    let summary = out
        .lines()
        .find(|l| l.starts_with("twice: checked"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        summary.contains(", 2 saying replay did not run the statement)"),
        "{summary}"
    );
}

#[test]
fn human_marks_fixable_findings() {
    let out = render_with(&sample_report(), Format::Human, false);
    // A small fix is drawn as a suggestion, rustc style.
    assert!(
        out.contains(
            "   = help: write `CREATE TABLE IF NOT EXISTS customers`\n\
         \x20  = note: confirmed by replay: second run failed: table customers already exists\n\
         help: insert `IF NOT EXISTS` (fixable with `twice check --fix`)\n\
         \x20  |\n\
         \x202 | CREATE TABLE IF NOT EXISTS customers (\n\
         \x20  |              +++++++++++++\n"
        ),
        "{out}"
    );
    // A fix that spans more lines is described on the help line instead.
    let mut report = sample_report();
    let file_len = report.files[0].text.len();
    report.findings[0].fix.as_mut().unwrap().edits.push(Edit {
        span: file_len..file_len,
        replacement: "-- fixed\n".into(),
    });
    let out = render_with(&report, Format::Human, false);
    assert!(out.contains(
        "= help: write `CREATE TABLE IF NOT EXISTS customers` (fixable with `twice check --fix`)"
    ), "{out}");
    assert!(!out.contains("+++++++++++++"), "{out}");
}

#[test]
fn long_statements_are_elided_in_the_middle() {
    let out = render_with(&sample_report(), Format::Human, false);
    // The 10-line CREATE TABLE shows its head and its last line.
    assert!(out.contains(" 2 | CREATE TABLE customers ("), "{out}");
    assert!(out.contains(" 5 |     name        TEXT NOT NULL,"), "{out}");
    assert!(!out.contains("updated_at"), "{out}");
    assert!(out.contains("11 | );"), "{out}");
    assert!(out.contains("\n...\n"), "{out}");
}

/// A single line between the head of an elided frame and the reported line
/// is drawn (annotate-snippets draws it rather than `...`), with its text:
/// it was drawn empty (`6 |`).
#[test]
fn a_single_skipped_line_of_an_elided_frame_is_drawn_with_its_text() {
    let dir = tempfile::Builder::new().prefix("frame").tempdir().unwrap();
    std::fs::write(
        dir.path().join("001_a.sql"),
        "CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, n INT);\nALTER TABLE t\n-- c1\n-- c2\n\
         -- c3\n-- c4\nADD COLUMN m INT,\n-- c5\n-- c6\n-- c7\nADD COLUMN k INT;\n",
    )
    .unwrap();
    let report = common::check_paths(&[dir.path().to_str().unwrap()], &common::static_opts());
    let out = common::render(&report, Format::Human);
    assert!(
        out.contains(
            " 5 | -- c3\n 6 | -- c4\n 7 | ADD COLUMN m INT,\n   | ^^^\n...\n11 | ADD COLUMN k INT;"
        ),
        "{out}"
    );
}

#[test]
fn no_colour_means_no_escape_codes() {
    for format in Format::ALL {
        let out = render_with(&sample_report(), *format, false);
        assert!(!out.contains('\u{1b}'), "{format}: {out}");
    }
    let coloured = render_with(&sample_report(), Format::Human, true);
    assert!(coloured.contains("\u{1b}["));
    // Diff lines are coloured: green for added rows, red for removed.
    assert!(
        coloured.contains("\u{1b}[32m+(2, 'a@example.com', 'A')"),
        "{coloured}"
    );
    // Colour never leaks into machine formats, even when asked for.
    for format in [Format::Json, Format::Sarif, Format::Github, Format::Gitlab] {
        assert!(!render_with(&sample_report(), format, true).contains('\u{1b}'));
    }
}

#[test]
fn control_characters_from_the_input_do_not_reach_the_terminal() {
    let text = "CREATE TABLE \u{1b}[31mevil (id INTEGER);\n";
    let mut b = Builder::new(vec![SourceFile::from_text("m/\u{1b}[2Jx.sql", text)]);
    let f = b.add(
        0,
        "create-without-if-not-exists",
        Severity::Error,
        Origin::Static,
        0..6,
        0,
        "CREATE TABLE \u{1b}[31mevil runs once\n+\u{1b}]0;title\u{7}",
    );
    b.findings[f].notes = vec!["\u{1b}[1mnote".into()];
    b.notices.push("\u{1b}[2J notice".into());
    let out = render_with(&b.build(), Format::Human, false);
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert!(!out.contains('\u{7}'), "{out:?}");
}

/// Findings shown in every format but json: one per problem.
fn shown(report: &Report) -> usize {
    let plan = twice::render::Plan::new(&report.findings);
    (0..report.findings.len())
        .filter(|&i| plan.shown(i))
        .count()
}

#[test]
fn github_annotations_escape_data_and_properties() {
    let out = render_with(&sample_report(), Format::Github, false);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), shown(&sample_report()), "{out}");
    for l in &lines {
        assert!(
            l.starts_with("::error ") || l.starts_with("::warning ") || l.starts_with("::notice "),
            "{l}"
        );
    }
    let odd = lines
        .iter()
        .find(|l| l.contains("relative-update"))
        .unwrap();
    assert!(
        odd.starts_with("::error file=migrations/002 odd%2Cname%25.sql,line=1,col=21,endLine=1,endColumn=30,title=twice relative-update::"),
        "{odd}"
    );
    assert!(odd.ends_with("::SET n = n + 1 adds 1 on every run: 100%25, not idempotent"));
    let info = lines.iter().find(|l| l.starts_with("::notice ")).unwrap();
    assert!(
        info.ends_with("::sqlparser could not read this statement: 100%25 sure, a, b: c%0Anote: line one%0Aline two"),
        "{info}"
    );
    // Multi-line messages stay on one line.
    let diff = lines
        .iter()
        .find(|l| l.contains("second-run-data-change"))
        .unwrap();
    assert!(diff.contains("%0A--- customers after run 1%0A+++ customers after run 2%0A"));
}

#[test]
fn gitlab_issues_have_the_required_fields_and_unique_fingerprints() {
    let out = render_with(&sample_report(), Format::Gitlab, false);
    let issues: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(issues.len(), shown(&sample_report()));
    let mut prints = std::collections::HashSet::new();
    for i in &issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(i[key].is_string(), "{key} in {i}");
        }
        assert!(i["location"]["path"].is_string());
        assert!(i["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        assert!(["info", "minor", "major", "critical", "blocker"]
            .contains(&i["severity"].as_str().unwrap()));
        assert!(prints.insert(i["fingerprint"].as_str().unwrap().to_string()));
    }
    assert_eq!(issues[0]["severity"], "major");
    assert_eq!(issues[1]["severity"], "minor");
    assert_eq!(issues[3]["severity"], "info");
}

/// The same migration with unrelated lines added above the statements keeps
/// its fingerprints; the line numbers move.
#[test]
fn fingerprints_survive_moving_lines() {
    let before = sample_report();
    let shifted = INIT_SQL.replacen(
        "-- customers and their orders\n",
        "-- customers and their orders\n-- (reviewed)\n\n",
        1,
    );
    let init = SourceFile::from_text("migrations/001_init.sql", shifted.as_str());
    let mut b = Builder::new(vec![init]);
    let create = span_of(&shifted, "CREATE TABLE customers");
    b.add(
        0,
        "create-without-if-not-exists",
        Severity::Error,
        Origin::Static,
        create.start..create.start + 6,
        0,
        "moved",
    );
    let after = b.build();
    let p_before = render::fingerprints(&before, None);
    let p_after = render::fingerprints(&after, None);
    assert_eq!(after.findings[0].line, before.findings[0].line + 2);
    assert_eq!(p_before[0], p_after[0]);
    // A different statement, rule or file gives another fingerprint.
    let all: std::collections::HashSet<&String> = p_before.iter().collect();
    assert_eq!(all.len(), p_before.len());
}

#[test]
fn identical_statements_get_distinct_fingerprints() {
    let text = "CREATE TABLE t (id INTEGER);\nCREATE TABLE t (id INTEGER);\n";
    let mut b = Builder::new(vec![SourceFile::from_text("m.sql", text)]);
    b.add(0, "r", Severity::Error, Origin::Static, 0..6, 0, "x");
    b.add(0, "r", Severity::Error, Origin::Static, 29..35, 1, "x");
    let p = render::fingerprints(&b.build(), None);
    assert_ne!(p[0], p[1]);
}

// ---------------------------------------------------------------------------
// SARIF

use common::{assert_valid_sarif, sarif_schema};

#[test]
fn sarif_is_valid_against_the_schema() {
    let doc = assert_valid_sarif(&render_with(&sample_report(), Format::Sarif, false));
    let run = &doc["runs"][0];
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(run["tool"]["driver"]["name"], "twice");
    // Every registered rule is listed, with its documentation.
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for meta in RULES {
        let r = rules.iter().find(|r| r["id"] == meta.id).unwrap();
        assert_eq!(r["shortDescription"]["text"], meta.summary);
        assert!(
            r["fullDescription"]["text"]
                .as_str()
                .unwrap()
                .starts_with("Flags")
                || r["fullDescription"]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("Replays")
        );
        assert_eq!(r["help"]["text"], meta.doc.trim());
        assert!(r["defaultConfiguration"]["level"].is_string());
    }
    // Every result points at a valid rule and a 1-based region.
    for res in run["results"].as_array().unwrap() {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        let region = &res["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["startColumn"].as_u64().unwrap() >= 1);
        assert!(res["partialFingerprints"]["twice/v2"].is_string());
    }
    let odd = &run["results"][4];
    assert_eq!(odd["ruleId"], "relative-update");
    assert_eq!(
        odd["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "migrations/002%20odd%2Cname%25.sql"
    );
    // The fix is an insertion: an empty deleted region just after CREATE TABLE.
    let fix = &run["results"][0]["fixes"][0];
    assert_eq!(fix["description"]["text"], "insert `IF NOT EXISTS`");
    let rep = &fix["artifactChanges"][0]["replacements"][0];
    assert_eq!(
        rep["deletedRegion"],
        serde_json::json!({"startLine": 2, "startColumn": 13, "endLine": 2, "endColumn": 13})
    );
    assert_eq!(rep["insertedContent"]["text"], " IF NOT EXISTS");
    // Notices are tool notifications, not results.
    assert_eq!(
        run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"],
        "migrations/readme.txt: skipped: not a .sql file"
    );
}

/// The validation is real: broken documents are rejected.
#[test]
fn sarif_validation_catches_mistakes() {
    let out = render_with(&sample_report(), Format::Sarif, false);
    let validator = sarif_schema();
    let mut doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(validator.is_valid(&doc));
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    assert!(!validator.is_valid(&doc));
    let mut doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&doc));
    let mut doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc["runs"][0]["tool"]["driver"]["informationUri"] = "not a uri".into();
    assert!(!validator.is_valid(&doc));
}

#[test]
fn sarif_of_an_empty_report_is_valid() {
    let out = render_with(&Report::default(), Format::Sarif, false);
    let doc = assert_valid_sarif(&out);
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn sarif_with_every_registered_rule_is_valid() {
    let opts = RenderOptions::default();
    let mut buf = Vec::new();
    render::renderer(Format::Sarif, &opts)
        .render(&sample_report(), &mut buf)
        .unwrap();
    let doc = assert_valid_sarif(&String::from_utf8(buf).unwrap());
    let listed = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .len();
    assert!(listed >= twice::rules::registry().len());
}

// ---------------------------------------------------------------------------
// The fixture folder, through the real pipeline

const FIXTURE: &str = "fixtures/render/migrations";

/// The whole check, replay included: static findings confirmed by replay,
/// a replay-only data change, a warning, an info, a binary file. The
/// fixture writes no clock values into rows that replay shows, so the
/// output is the same on every run.
fn fixture_report() -> Report {
    common::check_paths(&[FIXTURE], &twice::check::Options::default())
}

#[test]
fn fixture_human() {
    snapshot!(
        "fixture_human",
        common::render(&fixture_report(), Format::Human)
    );
}

#[test]
fn fixture_json() {
    snapshot!(
        "fixture_json",
        common::render(&fixture_report(), Format::Json)
    );
}

#[test]
fn fixture_sarif() {
    let out = common::render(&fixture_report(), Format::Sarif);
    assert_valid_sarif(&out);
    snapshot!("fixture_sarif", out);
}

#[test]
fn fixture_github() {
    snapshot!(
        "fixture_github",
        common::render(&fixture_report(), Format::Github)
    );
}

#[test]
fn fixture_gitlab() {
    snapshot!(
        "fixture_gitlab",
        common::render(&fixture_report(), Format::Gitlab)
    );
}

/// The CRLF + BOM file: lines and columns as an editor shows them, and
/// frames without stray carriage returns.
#[test]
fn crlf_and_bom_positions() {
    let report = common::check_paths(
        &["fixtures/render/migrations/003_windows_crlf_bom.sql"],
        &common::static_opts(),
    );
    let file = &report.files[0];
    assert!(file.had_bom);
    assert!(!file.text.starts_with('\u{feff}'));
    let spans = &report.statements[0];
    assert_eq!(spans.len(), 3);
    assert_eq!(file.line_col(spans[0].start), (2, 1));
    assert_eq!(file.line_col(spans[1].start), (4, 1));
    assert_eq!(file.line_col(spans[2].start), (5, 1));
    let out = common::render(&report, Format::Human);
    assert!(!out.contains('\r'), "{out:?}");
    for f in &report.findings {
        assert!(out.contains(&format!("{}:{}:{}", f.file, f.line, f.column)));
    }
}

/// Positions and indexes that do not fit the files (hand-built reports,
/// findings from future producers) never make a renderer panic.
#[test]
#[allow(clippy::reversed_empty_ranges)] // a backwards edit span, on purpose
fn renderers_never_panic_on_odd_reports() {
    let text = "CREATE TABLE t (id INTEGER);\r\n\r\nçé\tx;\n";
    let mut b = Builder::new(vec![
        SourceFile::from_text("m/1.sql", text),
        SourceFile::from_bytes("m/bin.sql", None, b"\0\0\0"),
    ]);
    let base = b.add(0, "r", Severity::Error, Origin::Static, 0..6, 0, "ok");
    let mut odd = Vec::new();
    for (line, column, end_line, end_column) in [
        (0, 0, 0, 0),
        (1, 500, 1, 900),
        (99, 1, 120, 3),
        (2, 1, 1, 1),
        (3, 2, 3, 3),
    ] {
        let mut f = b.findings[base].clone();
        f.line = line;
        f.column = column;
        f.end_line = end_line;
        f.end_column = end_column;
        f.span = 1000..2000;
        f.statement = Some(if line == 3 { 1 } else { 77 });
        f.related = vec![usize::MAX, 0, 9999];
        f.message = "multi\r\nline\rmessage\n+a\n-b".into();
        f.notes = vec![String::new(), "\n".into()];
        f.fix = Some(Fix {
            description: "x".into(),
            edits: vec![
                Edit {
                    span: 5000..6000,
                    replacement: "y".into(),
                },
                Edit {
                    span: 3..1,
                    replacement: "z".into(),
                },
            ],
            applicability: Default::default(),
        });
        odd.push(f);
    }
    let mut missing = b.findings[base].clone();
    missing.file = "not/in/report.sql".into();
    odd.push(missing);
    let mut binary = b.findings[base].clone();
    binary.file = "m/bin.sql".into();
    odd.push(binary);
    b.findings.extend(odd);
    let mut report = b.build();
    report.statements[0].push(4000..5000);
    for format in Format::ALL {
        for color in [false, true] {
            let out = render_with(&report, *format, color);
            assert!(!out.is_empty(), "{format}");
        }
    }
    assert_valid_sarif(&render_with(&report, Format::Sarif, false));
}

/// Every fixture folder of the project (layouts, replay, rules, config,
/// suppressions, ...) through every format: SARIF stays valid, GitLab stays
/// an array with unique fingerprints, GitHub stays one command per finding.
#[test]
fn every_fixture_renders_in_every_format() {
    // Static only: replay's sandbox fixtures wait for their time limits.
    let report = common::check_paths(&["fixtures"], &common::static_opts());
    assert!(report.findings.len() > 50, "{}", report.findings.len());
    let sarif = assert_valid_sarif(&render_with(&report, Format::Sarif, false));
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        report.findings.len()
    );
    let gitlab: Vec<serde_json::Value> =
        serde_json::from_str(&render_with(&report, Format::Gitlab, false)).unwrap();
    let prints: std::collections::HashSet<&str> = gitlab
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(prints.len(), report.findings.len());
    let github = render_with(&report, Format::Github, false);
    assert_eq!(github.lines().count(), report.findings.len());
    assert!(github.lines().all(|l| l.starts_with("::")));
    let human = render_with(&report, Format::Human, true);
    assert!(human.contains(": checked "), "{human}");
    let json: serde_json::Value =
        serde_json::from_str(&render_with(&report, Format::Json, false)).unwrap();
    assert_eq!(json["version"], 1);
}

// ---------------------------------------------------------------------------
// The bundled example: one result per problem in every CI format

const SHOP: &str = "fixtures/examples/shop";

/// `datetime('now')` values the shop example writes, made constant.
fn without_clock(text: &str) -> String {
    let b = text.as_bytes();
    let shape = b"0000-00-00 00:00:00";
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let fits = b.len() - i >= shape.len()
            && shape.iter().zip(&b[i..]).all(|(s, c)| {
                if *s == b'0' {
                    c.is_ascii_digit()
                } else {
                    s == c
                }
            });
        if fits {
            out.push_str("<now>");
            i += shape.len();
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn shop(format: Format) -> (Report, String) {
    let report = common::check_paths(&[SHOP], &twice::check::Options::default());
    let out = without_clock(&common::render(&report, format));
    (report, out)
}

/// Every static finding of the shop example that replay confirms is one
/// result; the replay-only problems keep theirs.
#[test]
fn shop_sarif_has_one_result_per_problem() {
    let (report, out) = shop(Format::Sarif);
    let doc = assert_valid_sarif(&out);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), shown(&report));
    assert!(results.len() < report.findings.len());
    assert!(results.iter().all(|r| r["ruleId"] != "second-run-error"));
    assert!(results
        .iter()
        .any(|r| r["properties"]["replay"][0]["rule"] == "second-run-error"));
    snapshot!("shop_sarif_has_one_result_per_problem", out);
}

#[test]
fn shop_github() {
    let (report, out) = shop(Format::Github);
    assert_eq!(out.lines().count(), shown(&report));
    snapshot!("shop_github", out);
}

#[test]
fn shop_gitlab() {
    let (report, out) = shop(Format::Gitlab);
    let issues: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(issues.len(), shown(&report));
    snapshot!("shop_gitlab", out);
}

/// A replay finding folded into a static block for another reason than the
/// static rule's (a first run refused for want of privileges) brings its own
/// help line: in the human output too, not only in JSON.
#[test]
fn folded_replay_help_is_shown_when_it_says_something_else() {
    let text = "CREATE TABLE t (id int);\n";
    let file = SourceFile::from_text("migrations/001_t.sql", text);
    let mut b = Builder::new(vec![file]);
    let s = b.add(
        0,
        "create-without-if-not-exists",
        Severity::Error,
        Origin::Static,
        span_of(text, "CREATE"),
        0,
        "CREATE TABLE t runs only once: a second run fails with 'table t already exists'",
    );
    b.findings[s].help = Some("use `CREATE TABLE IF NOT EXISTS t (...)`".into());
    let r = b.add(
        0,
        "replay-denied",
        Severity::Error,
        Origin::Replay,
        span_of(text, "CREATE"),
        0,
        "not run: permission denied for schema public",
    );
    b.findings[r].help =
        Some("replay runs migrations as a role that owns only the scratch database".into());
    b.link(s, r);
    let out = render_with(&b.build(), Format::Human, false);
    // The summary tells a merged finding replay found from one confirming.
    assert!(
        out.contains(
            "(1 replay finding shown with the static findings of the same statements: 0 \
             confirming them, 1 found by replay)"
        ),
        "{out}"
    );
    assert!(
        out.contains("= help: use `CREATE TABLE IF NOT EXISTS t (...)`"),
        "{out}"
    );
    assert!(
        out.contains(
            "= help: replay runs migrations as a role that owns only the scratch database"
        ),
        "{out}"
    );
    assert!(!out.contains("error[replay-denied]"), "{out}");
}
