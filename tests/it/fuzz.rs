//! Fuzz targets for the whole pipeline (issue 7), as property tests on stable
//! Rust (`cargo fuzz` needs a nightly toolchain and is not used).
//!
//! Every case writes generated files into a temporary folder in one of
//! several migration layouts and runs them through the library exactly as
//! `twice check` does: discovery, splitting, parsing, the static rules,
//! `--fix` planning, every renderer, and replay on SQLite with the sandbox
//! on and a short time limit. Two input strategies:
//!
//! - arbitrary bytes (invalid UTF-8, NUL, control bytes included);
//! - structure-aware "SQL soup": keywords, identifiers, every kind of quote,
//!   dollar quotes, nested comments, unbalanced and deep parentheses,
//!   `${placeholders}`, goose / dbmate / liquibase / sqlx marker comments,
//!   suppressions, CR, LF, byte-order marks and invalid UTF-8.
//!
//! Properties: nothing panics; `check` succeeds (hostile file contents are
//! findings, never a failure of the tool); the JSON, SARIF and GitLab output
//! parses (SARIF also validates against the schema) and GitHub output is
//! workflow commands only; every finding names a file of the report and its
//! line and column lie inside that file; every span (findings, fixes,
//! statements) is inside the text and on character boundaries.
//!
//! Case count: `TWICE_FUZZ_CASES` (per target; default 24, which keeps each
//! target to a few seconds in `cargo test`). CI runs a longer pass with
//! `TWICE_FUZZ_CASES=400 cargo test --test it fuzz::` (`.ci/run`). Inputs are
//! random on every run; a failure prints the shrunk input. Save it as
//! `fixtures/hostile/<what>.sql` (bytes as they are): `hostile_fixtures`
//! below runs every file there through the same checks, in every layout.

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;
use twice::check::{self, Options, Report};
use twice::dialect::Dialect;
use twice::discover::Input;
use twice::model::LayoutKind;

/// Every layout of the registry.
fn all_layouts() -> Vec<LayoutKind> {
    twice::layout::registry().iter().map(|l| l.kind()).collect()
}
use twice::render::{self, Format, RenderOptions};

/// Cases per target: `TWICE_FUZZ_CASES`, else `default`.
fn cases(default: u32) -> u32 {
    match std::env::var("TWICE_FUZZ_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("TWICE_FUZZ_CASES={v:?} is not a number of cases")),
        Err(_) => default,
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(24),
        // Failures become fixtures in fixtures/hostile/, not a regressions
        // file written into the source tree by CI.
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Layouts: where the generated contents go

/// The folder shapes a case is written in.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// One file named on the command line.
    Script,
    /// A folder in a layout, detected or forced with `--layout`.
    Folder(LayoutKind),
    /// `sqlite/`, `postgres/` and `mysql/` sub-folders of one history.
    DialectFolders,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Script),
        Just(Shape::DialectFolders),
        prop::sample::select(all_layouts()).prop_map(Shape::Folder),
    ]
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Writes `contents` (at least one) in `shape` under `dir` and returns what
/// to check. `framed`: wrap contents in the layout's markers (goose
/// annotations, dbmate sections, liquibase changesets) so that detection
/// picks the layout; otherwise the bytes go in as they are.
fn write_case(dir: &Path, shape: Shape, contents: &[Vec<u8>], framed: bool) -> Vec<Input> {
    let c = |i: usize| contents[i % contents.len()].as_slice();
    let n = contents.len();
    let m = dir.join("migrations");
    match shape {
        Shape::Script => {
            let p = dir.join("script.sql");
            write(&p, c(0));
            return vec![Input::Path(p)];
        }
        Shape::DialectFolders => {
            for (i, d) in ["sqlite", "postgres", "mysql"].iter().enumerate() {
                write(&m.join(d).join(format!("{}_step.sql", i + 1)), c(i));
            }
        }
        Shape::Folder(kind) => {
            for i in 0..n {
                let v = i + 1;
                match kind {
                    LayoutKind::Plain | LayoutKind::Script => {
                        write(&m.join(format!("2024010100000{v}_step.sql")), c(i))
                    }
                    LayoutKind::Sqlx | LayoutKind::GolangMigrate => {
                        if kind == LayoutKind::Sqlx {
                            write(&dir.join("Cargo.toml"), b"[package]\nname = \"x\"\n");
                        }
                        write(&m.join(format!("{v}_step.up.sql")), c(i));
                        write(&m.join(format!("{v}_step.down.sql")), c(i + 1));
                    }
                    LayoutKind::Diesel => {
                        let d = m.join(format!("2024-01-01-00000{v}_step"));
                        write(&d.join("up.sql"), c(i));
                        write(&d.join("down.sql"), c(i + 1));
                    }
                    LayoutKind::Flyway => {
                        write(&m.join(format!("V1.{v}__step.sql")), c(i));
                        if i == 0 {
                            write(&m.join("R__repeatable.sql"), c(i + 1));
                            write(&m.join("U1.1__undo.sql"), c(i + 2));
                            write(&m.join("afterMigrate.sql"), c(i + 3));
                        }
                    }
                    LayoutKind::Dbmate => {
                        let body = if framed {
                            cat(&[b"-- migrate:up\n", c(i), b"\n-- migrate:down\n", c(i + 1)])
                        } else {
                            c(i).to_vec()
                        };
                        write(&m.join(format!("2024010100000{v}_step.sql")), &body);
                    }
                    LayoutKind::Goose => {
                        let body = if framed {
                            cat(&[
                                b"-- +goose Up\n-- +goose StatementBegin\n",
                                c(i),
                                b"\n-- +goose StatementEnd\n-- +goose Down\n",
                                c(i + 1),
                            ])
                        } else {
                            c(i).to_vec()
                        };
                        write(&m.join(format!("{v}_step.sql")), &body);
                    }
                    LayoutKind::Pop => {
                        write(&m.join(format!("2020010100000{v}_step.up.sql")), c(i));
                        write(
                            &m.join(format!("2020010100000{v}_step.sqlite3.up.sql")),
                            c(i + 1),
                        );
                        write(&m.join(format!("2020010100000{v}_step.down.sql")), c(i + 2));
                    }
                    LayoutKind::Liquibase => {
                        let body = if framed {
                            cat(&[
                                b"--liquibase formatted sql\n--changeset fuzz:",
                                v.to_string().as_bytes(),
                                b"\n",
                                c(i),
                                b"\n--rollback ",
                                c(i + 1),
                                b"\n--changeset fuzz:x runOnChange:true splitStatements:false\n",
                                c(i + 2),
                            ])
                        } else {
                            c(i).to_vec()
                        };
                        write(&m.join(format!("00{v}-changes.sql")), &body);
                    }
                    // A layout without a shape of its own here: its files
                    // named like plain ones.
                    _ => write(&m.join(format!("2024010100000{v}_step.sql")), c(i)),
                }
            }
        }
    }
    vec![Input::Path(m)]
}

// ---------------------------------------------------------------------------
// Strategies

fn dialect() -> impl Strategy<Value = Option<Dialect>> {
    prop::option::of(prop::sample::select(Dialect::ALL.to_vec()))
}

/// Arbitrary bytes, biased towards the bytes that matter to a lexer.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => any::<u8>(),
        2 => prop::sample::select(b";'\"`[]()$-/*\n\r\\{}#: ".to_vec()),
        1 => prop::sample::select(vec![0x00, 0xC3, 0xE2, 0xEF, 0xF0, 0xFF, 0x80, 0xBF]),
    ];
    prop::collection::vec(byte, 0..600)
}

const KEYWORDS: &[&str] = &[
    "CREATE",
    "DROP",
    "INSERT",
    "UPDATE",
    "ALTER",
    "BEGIN",
    "END",
    "CASE",
    "TRIGGER",
    "DO",
    "DELIMITER",
    "TABLE",
    "INDEX",
    "VIEW",
    "INTO",
    "VALUES",
    "SET",
    "WHERE",
    "WHEN",
    "THEN",
    "ELSE",
    "IF",
    "NOT",
    "EXISTS",
    "OR",
    "REPLACE",
    "IGNORE",
    "ON",
    "CONFLICT",
    "NOTHING",
    "RENAME",
    "TO",
    "COLUMN",
    "ADD",
    "CONSTRAINT",
    "PRIMARY",
    "KEY",
    "AS",
    "SELECT",
    "FROM",
    "WITH",
    "RECURSIVE",
    "UNION",
    "ALL",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "PRAGMA",
    "ATTACH",
    "VACUUM",
    "FUNCTION",
    "PROCEDURE",
    "RETURNS",
    "LANGUAGE",
    "DECLARE",
    "LOOP",
    "FOR",
    "EACH",
    "ROW",
    "AFTER",
    "BEFORE",
    "TRANSACTION",
    "GO",
    "INTEGER",
    "TEXT",
    "NULL",
    "DEFAULT",
];

const FRAGMENTS: &[&str] = &[
    // Whole statements, so rules and replay have something real to chew on.
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, n INT DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS u (id INTEGER PRIMARY KEY, t_id INT REFERENCES t(id))",
    "INSERT INTO t (id, v) VALUES (1, 'a')",
    "INSERT INTO t VALUES (2, 'b', 0) ON CONFLICT DO NOTHING",
    "INSERT OR IGNORE INTO t (id) SELECT 3 WHERE NOT EXISTS (SELECT 1 FROM t)",
    "UPDATE t SET n = n + 1 WHERE id = 1",
    "UPDATE t SET v = CASE WHEN n > 1 THEN 'x' ELSE v END",
    "ALTER TABLE t ADD COLUMN c INT",
    "ALTER TABLE t ADD CONSTRAINT k UNIQUE (v)",
    "ALTER TABLE t RENAME TO t2",
    "ALTER TABLE t RENAME COLUMN v TO w",
    "ALTER TABLE t DROP COLUMN c",
    "DROP TABLE t",
    "DROP TABLE IF EXISTS t2",
    "CREATE INDEX i ON t (v)",
    "CREATE UNIQUE INDEX IF NOT EXISTS j ON t (n)",
    "CREATE VIEW w AS SELECT * FROM t",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET n = n + 1; END",
    "CREATE TRIGGER tr2 BEFORE UPDATE ON t FOR EACH ROW BEGIN SELECT CASE WHEN 1 THEN RAISE(IGNORE) END; END",
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1) THEN CREATE TABLE x (); END IF; END $$",
    "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
    "CREATE PROCEDURE p() BEGIN INSERT INTO t VALUES (1); END",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000) SELECT count(*) FROM c",
    "INSERT INTO t (v) VALUES (datetime('now')), (random()), (hex(randomblob(4)))",
    "SELECT zeroblob(100000000)",
    "PRAGMA foreign_keys = OFF",
    "ATTACH DATABASE '/tmp/x.db' AS x",
    "VACUUM INTO '/tmp/y.db'",
    "SELECT load_extension('x')",
    "BEGIN TRANSACTION",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT s",
    "RELEASE s",
    "CREATE TABLE ${schema}.users (id int)",
    "CREATE TABLE `weird``name` (\"a\"\"b\" int, [c d] text)",
    // Pieces.
    ";", ";;", "'", "''", "\"", "`", "[", "]", "(", ")", ",", ".", "*", "=", "+", "-", "\\",
    "E'", "N'", "X'0A'", "B'01'", "$$", "$tag$", "$1", "$", "${", "}", "${schema}",
    "${name:-default}", "${flyway:defaultSchema}", "--", "-- comment", "/*", "*/",
    "/* /* nested */ */", "#", "DELIMITER //\n", "DELIMITER ;\n", "//", "GO\n",
    "\n", "\r\n", "\r", "\t", " ", "  ", "\u{FEFF}", "\u{0}", "\u{1b}[31m", "é€😀", "\u{202E}",
    "-- +goose Up\n", "-- +goose Down\n", "-- +goose StatementBegin\n",
    "-- +goose StatementEnd\n", "-- +goose NO TRANSACTION\n", "-- +goose ENVSUB ON\n",
    "-- +goose ENVSUB OFF\n", "-- migrate:up\n", "-- migrate:down\n",
    "-- migrate:up transaction:false\n", "--liquibase formatted sql\n",
    "--changeset a:1\n", "--changeset bad\n", "--changeset b:2 runAlways:true endDelimiter:GO\n",
    "--changeset c:3 dbms:postgresql splitStatements:false\n", "--rollback DROP TABLE t;\n",
    "--rollback not required\n", "/* liquibase rollback\nDROP TABLE t;\n*/\n",
    "-- no-transaction\n", "-- twice:ignore\n", "-- twice:ignore relative-update\n",
    "-- twice:ignore-file\n", "/* twice:ignore nope */", "-- twice:ingore x\n",
];

/// One piece of SQL soup, as bytes (so invalid UTF-8 fits in).
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::sample::select(FRAGMENTS).prop_map(|s| s.as_bytes().to_vec()),
        4 => prop::sample::select(KEYWORDS).prop_map(|s| format!(" {s} ").into_bytes()),
        2 => "[a-zA-Z_][a-zA-Z0-9_]{0,6}".prop_map(String::into_bytes),
        1 => "[0-9]{1,25}(\\.[0-9]{0,5})?(e[+-]?[0-9]{1,4})?".prop_map(String::into_bytes),
        // Deep and unbalanced nesting.
        1 => (1usize..300, 0usize..300, prop::sample::select(vec!["(", "(SELECT ", "CASE WHEN 1 THEN ", "/*"]))
            .prop_map(|(open, close, what)| {
                let closer = match what { "/*" => "*/", "CASE WHEN 1 THEN " => " END", _ => ")" };
                format!("{}1{}", what.repeat(open), closer.repeat(close)).into_bytes()
            }),
        1 => prop::collection::vec(prop::sample::select(vec![0x80u8, 0xC3, 0xE2, 0x82, 0xFF, 0xFE, 0x00, 0x01]), 1..4),
        1 => any::<String>().prop_map(String::into_bytes),
    ]
}

fn soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..60).prop_map(|v| v.concat())
}

/// One generated case: the contents, where they go and how they are read.
#[derive(Debug, Clone)]
struct Case {
    contents: Vec<Vec<u8>>,
    shape: Shape,
    framed: bool,
    force_layout: bool,
    dialect: Option<Dialect>,
    define: bool,
}

fn case(content: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(content, 1..4),
        shape(),
        any::<bool>(),
        any::<bool>(),
        dialect(),
        any::<bool>(),
    )
        .prop_map(
            |(contents, shape, framed, force_layout, dialect, define)| Case {
                contents,
                shape,
                framed,
                force_layout,
                dialect,
                define,
            },
        )
}

// ---------------------------------------------------------------------------
// Running a case and checking what comes out

fn options(case: &Case, dialect: Option<Dialect>, replay: bool) -> Options {
    let mut opts = Options {
        dialect,
        replay,
        timeout: Duration::from_millis(250),
        seed: replay && case.define,
        ..Options::default()
    };
    if let (true, Shape::Folder(kind)) = (case.force_layout, case.shape) {
        opts.layout = Some(kind);
    }
    if case.define {
        opts.defines.insert("schema".into(), "main".into());
        opts.defines
            .insert("name".into(), "x'; DROP TABLE t; --".into());
    }
    opts
}

/// Runs the static pipeline in every dialect (and with the dialect left to
/// the folder names), renders every format, plans fixes; then replays on
/// SQLite when `replay`.
fn run_case(case: &Case, replay: bool) {
    if let Some(path) = std::env::var_os("TWICE_FUZZ_LAST") {
        // A stack overflow aborts the process before proptest can print
        // the input: keep the case being run.
        // One folder per target (test threads are named after their test).
        let thread = std::thread::current();
        let path = PathBuf::from(path).join(thread.name().unwrap_or("main"));
        let _ = std::fs::create_dir_all(&path);
        for (i, c) in case.contents.iter().enumerate() {
            let _ = std::fs::write(path.join(format!("{i}.sql")), c);
        }
        let _ = std::fs::write(path.join("case.txt"), format!("{case:#?}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let inputs = write_case(dir.path(), case.shape, &case.contents, case.framed);
    if replay {
        // The case's dialect (Postgres and MySQL: replay is skipped with a
        // notice) and SQLite, where everything replays.
        for d in [case.dialect, Some(Dialect::Sqlite)] {
            let opts = options(case, d, true);
            let report = check::check(&inputs, &opts)
                .unwrap_or_else(|e| panic!("check (replay) failed: {e}"));
            assert_report(&report);
            assert_renders(&report);
        }
        return;
    }
    let mut dialects: Vec<Option<Dialect>> = vec![None];
    dialects.extend(Dialect::ALL.iter().copied().map(Some));
    for d in dialects {
        let opts = options(case, d, false);
        let report =
            check::check(&inputs, &opts).unwrap_or_else(|e| panic!("check {d:?} failed: {e}"));
        assert_report(&report);
        assert_renders(&report);
    }
    let opts = options(case, case.dialect, false);
    let fixed =
        twice::fix::run(&inputs, &opts).unwrap_or_else(|e| panic!("fix planning failed: {e}"));
    assert_report(&fixed.report);
    for plan in &fixed.plans {
        // The fixed text is what `--fix` would write: the pipeline must
        // read it too.
        let bytes = plan.bytes();
        let again = dir.path().join("fixed.sql");
        std::fs::write(&again, &bytes).unwrap();
        let report = check::check(&[Input::Path(again)], &opts).unwrap();
        assert_report(&report);
    }
}

/// Line starts the way twice counts lines: LF, CRLF and a lone CR.
fn line_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut starts = vec![0];
    for i in 0..b.len() {
        if b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            starts.push(i + 1);
        }
    }
    starts
}

/// A 1-based (line, column) that points at a character of `text` or just
/// past the last character of a line (or of the file).
fn assert_position(text: &str, starts: &[usize], line: usize, col: usize, what: &str) {
    assert!(line >= 1 && col >= 1, "{what}: position {line}:{col}");
    assert!(
        line <= starts.len(),
        "{what}: line {line} past the end ({} lines)",
        starts.len()
    );
    let start = starts[line - 1];
    let end = starts.get(line).copied().unwrap_or(text.len());
    let chars = text[start..end].chars().count();
    assert!(
        col - 1 <= chars,
        "{what}: column {col} past the end of line {line} ({chars} characters)"
    );
}

fn assert_span(text: &str, span: &std::ops::Range<usize>, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what}: span {span:?} outside the text ({} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what}: span {span:?} not on character boundaries"
    );
}

fn assert_report(report: &Report) {
    assert_eq!(report.files.len(), report.statements.len());
    for (file, stmts) in report.files.iter().zip(&report.statements) {
        for (i, s) in stmts.iter().enumerate() {
            assert_span(&file.text, s, &format!("{} statement {i}", file.name));
        }
    }
    for f in &report.findings {
        let file = report
            .file(&f.file)
            .unwrap_or_else(|| panic!("finding {} names an unknown file {:?}", f.rule, f.file));
        let what = format!("{} at {}:{}:{}", f.rule, f.file, f.line, f.column);
        let starts = line_starts(&file.text);
        assert_position(&file.text, &starts, f.line, f.column, &what);
        assert_position(&file.text, &starts, f.end_line, f.end_column, &what);
        assert!(
            (f.line, f.column) <= (f.end_line, f.end_column),
            "{what}: ends before it starts ({}:{})",
            f.end_line,
            f.end_column
        );
        assert_span(&file.text, &f.span, &what);
        assert_eq!(
            file.line_col(f.span.start),
            (f.line, f.column),
            "{what}: the position is not the start of the span {:?}",
            f.span
        );
        if let Some(s) = f.statement {
            assert!(
                report.statement_span(&f.file, s).is_some(),
                "{what}: statement {s} does not exist"
            );
        }
        for r in &f.related {
            assert!(
                *r < report.findings.len(),
                "{what}: related {r} out of range"
            );
        }
        if let Some(fix) = &f.fix {
            let mut last = 0;
            let mut edits: Vec<_> = fix.edits.iter().map(|e| e.span.clone()).collect();
            edits.sort_by_key(|s| s.start);
            for e in &edits {
                assert_span(&file.text, e, &format!("{what}: fix edit"));
                assert!(e.start >= last, "{what}: fix edits overlap");
                last = e.end;
            }
        }
    }
}

fn sarif_schema() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string("fixtures/render/sarif-schema-2.1.0.json").unwrap();
        // The published schema's `language` pattern is not a valid regex
        // (see tests/it/render.rs); twice never writes `language`.
        let text = text.replace(
            "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
            "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
        );
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    })
}

fn assert_renders(report: &Report) {
    for &format in Format::ALL {
        for color in [false, true] {
            if color && format != Format::Human {
                continue;
            }
            let opts = RenderOptions {
                color,
                ..RenderOptions::default()
            };
            let mut buf = Vec::new();
            render::renderer(format, &opts)
                .render(report, &mut buf)
                .unwrap_or_else(|e| panic!("{format} rendering failed: {e}"));
            let text = String::from_utf8(buf)
                .unwrap_or_else(|e| panic!("{format} output is not UTF-8: {e}"));
            match format {
                Format::Json | Format::Sarif | Format::Gitlab => {
                    let doc: serde_json::Value = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{format} output is not JSON: {e}\n{text}"));
                    if format == Format::Sarif {
                        let errors: Vec<String> = sarif_schema()
                            .iter_errors(&doc)
                            .map(|e| format!("{e} at {}", e.instance_path()))
                            .collect();
                        assert!(errors.is_empty(), "invalid SARIF: {errors:#?}");
                    }
                    if format == Format::Json {
                        let n = doc["findings"].as_array().map_or(0, Vec::len);
                        assert_eq!(n, report.findings.len(), "JSON findings");
                    }
                }
                Format::Github => {
                    for line in text.lines() {
                        assert!(line.starts_with("::"), "not a workflow command: {line:?}");
                    }
                }
                Format::Human => {
                    if !color {
                        assert!(!text.contains('\u{1b}'), "escape code without colour");
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Targets

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_static(case in case(bytes())) {
        run_case(&case, false);
    }

    #[test]
    fn arbitrary_bytes_replay(case in case(bytes())) {
        run_case(&case, true);
    }

    #[test]
    fn sql_soup_static(case in case(soup())) {
        run_case(&case, false);
    }

    #[test]
    fn sql_soup_replay(case in case(soup())) {
        run_case(&case, true);
    }
}

/// Every input saved from a failure, in every shape, static and replay.
#[test]
fn hostile_fixtures() {
    let dir = Path::new("fixtures/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures/hostile exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    let mut shapes = vec![Shape::Script, Shape::DialectFolders];
    shapes.extend(all_layouts().into_iter().map(Shape::Folder));
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        for &shape in &shapes {
            for framed in [false, true] {
                let case = Case {
                    contents: vec![bytes.clone()],
                    shape,
                    framed,
                    force_layout: true,
                    dialect: None,
                    define: framed,
                };
                let run = std::panic::catch_unwind(|| {
                    run_case(&case, false);
                    run_case(&case, true);
                });
                if let Err(e) = run {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    panic!("{} in {shape:?} (framed: {framed}): {msg}", path.display());
                }
            }
        }
    }
}
