//! Shared helpers for the integration tests. Tests run with the crate root as
//! the working folder, so fixture paths are relative and appear relative in
//! the output, as a user would see them.
#![allow(dead_code)]

use twice::check::{self, Options, Report};
use twice::discover::Input;
use twice::render::{self, Format, RenderOptions};

/// Runs `twice check` on the given paths with `opts`.
pub fn check_paths(paths: &[&str], opts: &Options) -> Report {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.into())).collect();
    check::check(&inputs, opts).unwrap_or_else(|e| panic!("check failed: {e}"))
}

/// Static rules only.
pub fn static_opts() -> Options {
    Options {
        replay: false,
        ..Options::default()
    }
}

/// Renders a report without colour.
pub fn render(report: &Report, format: Format) -> String {
    let mut buf = Vec::new();
    render::renderer(format, &RenderOptions::default())
        .render(report, &mut buf)
        .unwrap();
    String::from_utf8(buf).unwrap()
}

/// The official SARIF 2.1.0 schema, as a validator.
pub fn sarif_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string("fixtures/render/sarif-schema-2.1.0.json")
        .expect("the SARIF schema ships in fixtures/render");
    let mut schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    // The official schema's `language` patterns are not valid regexes (an
    // unbalanced `]`), which a validator that checks formats rejects. twice
    // never writes `language`; the test fixes the pattern in memory and
    // leaves the shipped file as published.
    fn fix_patterns(v: &mut serde_json::Value) -> usize {
        const BROKEN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
        match v {
            serde_json::Value::Object(map) => {
                let mut n = 0;
                for (k, v) in map.iter_mut() {
                    if k == "pattern" && v == BROKEN {
                        *v = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$".into();
                        n += 1;
                    } else {
                        n += fix_patterns(v);
                    }
                }
                n
            }
            serde_json::Value::Array(items) => items.iter_mut().map(fix_patterns).sum(),
            _ => 0,
        }
    }
    assert!(fix_patterns(&mut schema) > 0);
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("a valid schema")
}

/// Parses `out` and asserts it is valid SARIF 2.1.0.
pub fn assert_valid_sarif(out: &str) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_str(out).expect("SARIF is JSON");
    let validator = sarif_schema();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema errors:\n{}",
        errors.join("\n")
    );
    doc
}

/// Every key path of a JSON value (`samples.added[].email`).
pub fn key_paths(v: &serde_json::Value, at: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                out.insert(p.clone());
                key_paths(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                key_paths(x, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

/// A replay finding with what may legitimately differ between engines
/// normalised: the engine's own error text after `fails at line N:`,
/// PostgreSQL's `public.` schema, the duplicate-column help (SQLite and
/// MySQL have no `ADD COLUMN IF NOT EXISTS`), and the dialect's own forms
/// in help lines (`ON CONFLICT DO NOTHING` / `INSERT IGNORE`; MySQL's DDL
/// that commits at once): a help line is compared up to the first of them.
/// Used by the shared scenario tests of every engine.
pub fn comparable(f: &twice::finding::Finding) -> (String, String, String, String, Vec<String>) {
    let mut message = f.message.replace("public.", "");
    if let Some(i) = message.find(" fails at line ") {
        if let Some(j) = message[i..].find(": ") {
            message.truncate(i + j + 2);
            message.push_str("<engine error>");
        }
    }
    let mut help = f.help.clone().unwrap_or_default();
    if help.contains("ADD COLUMN IF NOT EXISTS") {
        help = "<add-column help>".into();
    }
    const DIALECT_FORMS: &[&str] = &[
        "`INSERT ... ON ",
        "`ON CONFLICT",
        "ON CONFLICT DO NOTHING",
        "`INSERT IGNORE`",
        "`ON DUPLICATE KEY",
        ", or make sure the migration tool",
        ": DDL commits at once",
    ];
    if let Some(cut) = DIALECT_FORMS.iter().filter_map(|w| help.find(w)).min() {
        help.truncate(cut);
        help.push_str("<the dialect's form>");
    }
    let mut keys = std::collections::BTreeSet::new();
    if let Some(ev) = &f.evidence {
        key_paths(ev, "", &mut keys);
    }
    let file = std::path::Path::new(&f.file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (
        f.rule.clone(),
        file,
        message,
        help,
        keys.into_iter().collect(),
    )
}

/// The shared scenario test of an engine: each folder of `dirs` replays on
/// SQLite and with `opts` (another engine), and the two give the same
/// [`comparable`] replay findings, at least one. `engine` names the other
/// engine in the failure message.
pub fn assert_reads_like_sqlite(dirs: &[&str], opts: &Options, engine: &str) {
    let lite = Options {
        dialect: Some(twice::dialect::Dialect::Sqlite),
        ..Options::default()
    };
    for dir in dirs {
        let on = |o: &Options| {
            let r = check_paths(&[dir], o);
            assert_eq!(r.summary.sequences[0].replay, "replayed", "{dir}");
            let mut v: Vec<_> = r
                .findings
                .iter()
                .filter(|f| f.source == twice::finding::Origin::Replay)
                .map(comparable)
                .collect();
            v.sort();
            v
        };
        let (l, other) = (on(&lite), on(opts));
        assert!(!l.is_empty(), "{dir}: no replay finding to compare");
        assert_eq!(l, other, "{dir}: SQLite (left) and {engine} (right) differ");
    }
}
