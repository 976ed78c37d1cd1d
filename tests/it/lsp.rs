//! `twice lsp` driven over stdio with JSON-RPC, as an editor would.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// Long enough for a debug build on a busy machine; only reached when the
/// server fails to answer.
const WAIT: Duration = Duration::from_secs(120);

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Value>,
    next_id: i64,
    /// Messages read while waiting for something else.
    seen: Vec<Value>,
}

impl Client {
    fn start(dir: &Path) -> Client {
        Client::start_with(dir, &[])
    }

    fn start_with(dir: &Path, env: &[(&str, &str)]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_twice"))
            .args(["lsp", "--stdio"])
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = Some(v.parse::<usize>().unwrap());
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length header")];
                r.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        Client {
            child,
            stdin,
            rx,
            next_id: 1,
            seen: Vec::new(),
        }
    }

    fn raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    fn send(&mut self, msg: Value) {
        let body = serde_json::to_vec(&msg).unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend(body);
        self.raw(&frame);
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns its response (the whole message).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait_for(|m| m["id"] == json!(id) && m.get("method").is_none())
    }

    /// The first message (seen before or arriving) that `pred` accepts.
    fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.seen.iter().position(&pred) {
            return self.seen.remove(i);
        }
        loop {
            let m = self
                .rx
                .recv_timeout(WAIT)
                .expect("the server answers in time");
            if pred(&m) {
                return m;
            }
            self.seen.push(m);
        }
    }

    /// The diagnostics published for `uri` at document version `version`.
    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let m = self.wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == json!(version)
        });
        m["params"]["diagnostics"].as_array().unwrap().clone()
    }

    fn initialize(&mut self, dir: &Path, capabilities: Value, options: Value) -> Value {
        let root = uri(dir);
        let r = self.request(
            "initialize",
            json!({"processId": null, "rootUri": root, "capabilities": capabilities,
                   "initializationOptions": options}),
        );
        self.notify("initialized", json!({}));
        r
    }

    /// `shutdown`, `exit`, and the exit code.
    fn finish(mut self) -> i32 {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        assert!(r.get("error").is_none());
        self.notify("exit", Value::Null);
        self.stdin.take();
        self.child.wait().unwrap().code().unwrap()
    }
}

fn uri(p: &Path) -> String {
    let p = std::fs::canonicalize(p).unwrap();
    format!("file://{}", p.display())
}

/// Applies LSP text edits (UTF-16 positions) to a text.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |pos: &Value| -> usize {
        let line = pos["line"].as_u64().unwrap() as usize;
        let ch = pos["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= ch || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap(),
            )
        })
        .collect();
    spans.sort();
    let mut out = text.to_string();
    for (s, e, t) in spans.into_iter().rev() {
        out.replace_range(s..e, t);
    }
    out
}

/// A migration folder: `001_users.sql` clean, `002_orders.sql` clean on
/// disk (the editor holds the bad version), `twice.toml` above.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("db/migrations");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("001_users.sql"),
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(
        m.join("002_orders.sql"),
        "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("twice.toml"),
        "[rules]\ndrop-without-if-exists = \"warning\"\n",
    )
    .unwrap();
    dir
}

/// The bad version: a non-ASCII comment before the finding on its line
/// (`é` is one UTF-16 unit, the emoji two, and they are 2 and 4 bytes).
const BAD: &str = "-- orders\n/* café 😀 */ DROP TABLE legacy_orders;\nCREATE TABLE orders (id INTEGER PRIMARY KEY);\n";

#[test]
fn a_session_diagnoses_fixes_explains_and_shuts_down() {
    let dir = project();
    let path = dir.path().join("db/migrations/002_orders.sql");
    let doc = uri(&path);
    let mut c = Client::start(dir.path());
    let init = c.initialize(
        dir.path(),
        json!({}),
        json!({"replayOnSave": false, "debounceMs": 20}),
    );
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16", "{init}");
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(caps["textDocumentSync"]["change"], 2);

    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": doc, "languageId": "sql", "version": 1, "text": BAD}}),
    );
    let diags = c.diagnostics(&doc, 1);
    let drop = diags
        .iter()
        .find(|d| d["code"] == "drop-without-if-exists")
        .unwrap_or_else(|| panic!("{diags:?}"));
    // `/* café 😀 */ ` is 14 UTF-16 units: the statement starts there and
    // ends before its `;` (26 characters later).
    assert_eq!(
        drop["range"],
        json!({"start": {"line": 1, "character": 14}, "end": {"line": 1, "character": 38}})
    );
    // twice.toml's `[rules]` applies: a warning, not an error.
    assert_eq!(drop["severity"], 2);
    assert_eq!(drop["source"], "twice");
    assert!(drop["codeDescription"]["href"]
        .as_str()
        .unwrap()
        .ends_with("src/rules/drop_without_if_exists.rs"));
    let related = drop["relatedInformation"].as_array().unwrap();
    assert!(related
        .iter()
        .any(|r| r["message"].as_str().unwrap().starts_with("help: ")));
    let create = diags
        .iter()
        .find(|d| d["code"] == "create-without-if-not-exists")
        .unwrap_or_else(|| panic!("{diags:?}"));
    assert_eq!(create["severity"], 1);
    assert_eq!(create["range"]["start"], json!({"line": 2, "character": 0}));
    assert_eq!(diags.len(), 2, "{diags:?}");

    // Hover on the finding: the rule's documentation, as `twice explain`.
    let explain = Command::new(env!("CARGO_BIN_EXE_twice"))
        .args(["explain", "drop-without-if-exists"])
        .output()
        .unwrap();
    let explain = String::from_utf8(explain.stdout).unwrap();
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": doc}, "position": {"line": 1, "character": 20}}),
    );
    let shown = hover["result"]["contents"]["value"].as_str().unwrap();
    assert_eq!(hover["result"]["contents"]["kind"], "markdown");
    assert_eq!(shown, format!("### {}", explain.trim_end()));

    // Code actions on the DROP: its fix (the edits of `--fix`) and an ignore.
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": doc}, "range": drop["range"],
               "context": {"diagnostics": [drop]}}),
    );
    let actions = actions["result"].as_array().unwrap().clone();
    let fix = actions
        .iter()
        .find(|a| a["kind"] == "quickfix" && a["isPreferred"] == true)
        .unwrap_or_else(|| panic!("{actions:?}"));
    assert_eq!(fix["diagnostics"][0]["code"], "drop-without-if-exists");
    let fix_edits = fix["edit"]["changes"][&doc].as_array().unwrap().clone();
    let ignore = actions
        .iter()
        .find(|a| a["title"].as_str().unwrap().contains("twice:ignore"))
        .unwrap_or_else(|| panic!("{actions:?}"));
    let ignore_edits = ignore["edit"]["changes"][&doc].as_array().unwrap().clone();
    assert_eq!(
        apply(BAD, &ignore_edits),
        BAD.replace("/* café", "-- twice:ignore drop-without-if-exists\n/* café")
    );
    // Fix all: the whole of `--fix`'s plan.
    let all = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": doc},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": [], "only": ["source.fixAll"]}}),
    );
    let all = all["result"].as_array().unwrap().clone();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["kind"], "source.fixAll.twice");
    let all_edits = all[0]["edit"]["changes"][&doc].as_array().unwrap().clone();

    // `twice check --fix` on the same text, on disk.
    let copy = tempfile::tempdir().unwrap();
    let cm = copy.path().join("db/migrations");
    std::fs::create_dir_all(&cm).unwrap();
    std::fs::copy(
        dir.path().join("db/migrations/001_users.sql"),
        cm.join("001_users.sql"),
    )
    .unwrap();
    std::fs::write(cm.join("002_orders.sql"), BAD).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_twice"))
        .args(["check", "--fix", "--no-replay", "db/migrations"])
        .current_dir(copy.path())
        .output()
        .unwrap();
    assert!(status.status.code().is_some(), "{status:?}");
    let fixed = std::fs::read_to_string(cm.join("002_orders.sql")).unwrap();
    assert_ne!(fixed, BAD);
    assert_eq!(apply(BAD, &all_edits), fixed);
    // The DROP's quick fix is exactly `--fix`'s edit for it.
    let after_drop = apply(BAD, &fix_edits);
    assert_eq!(
        after_drop,
        BAD.replace("DROP TABLE legacy", "DROP TABLE IF EXISTS legacy")
    );
    assert!(fixed.contains("DROP TABLE IF EXISTS legacy_orders"));

    // didChange with the fix-all edits (incremental): diagnostics clear.
    let changes: Vec<Value> = all_edits
        .iter()
        .map(|e| json!({"range": e["range"], "text": e["newText"]}))
        .collect();
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 2}, "contentChanges": changes}),
    );
    assert_eq!(c.diagnostics(&doc, 2), Vec::<Value>::new());

    // A suppression silences; hovering its rule id explains the rule.
    let suppressed =
        "-- twice:ignore create-without-if-not-exists\nCREATE TABLE orders (id INTEGER);\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 3},
               "contentChanges": [{"text": suppressed}]}),
    );
    assert_eq!(c.diagnostics(&doc, 3), Vec::<Value>::new());
    let hover = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": doc}, "position": {"line": 0, "character": 20}}),
    );
    let shown = hover["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        shown.starts_with("### create-without-if-not-exists ("),
        "{shown}"
    );

    // Closing clears the document's diagnostics.
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": doc}}),
    );
    let m = c.wait_for(|m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == doc
    });
    assert_eq!(m["params"]["diagnostics"], json!([]));
    assert_eq!(c.finish(), 0);
}

#[test]
fn utf8_positions_when_the_client_offers_them() {
    let dir = project();
    let doc = uri(&dir.path().join("db/migrations/002_orders.sql"));
    let mut c = Client::start(dir.path());
    let init = c.initialize(
        dir.path(),
        json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}}),
        json!({"replayOnSave": false}),
    );
    assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-8");
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": doc, "languageId": "sql", "version": 7, "text": BAD}}),
    );
    let diags = c.diagnostics(&doc, 7);
    let drop = diags
        .iter()
        .find(|d| d["code"] == "drop-without-if-exists")
        .unwrap();
    // 17 bytes before the statement.
    assert_eq!(drop["range"]["start"], json!({"line": 1, "character": 17}));
    assert_eq!(c.finish(), 0);
}

#[test]
fn replay_findings_arrive_after_a_save() {
    let dir = project();
    let path = dir.path().join("db/migrations/002_orders.sql");
    let text = "CREATE TABLE orders (id INTEGER PRIMARY KEY);\n";
    std::fs::write(&path, text).unwrap();
    let doc = uri(&path);
    let mut c = Client::start(dir.path());
    c.initialize(
        dir.path(),
        json!({"window": {"workDoneProgress": true}}),
        json!({"debounceMs": 20}),
    );
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": doc, "languageId": "sql", "version": 1, "text": text}}),
    );
    // Saved before its first check is in: replay waits for it.
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": doc}}),
    );
    let diags = c.diagnostics(&doc, 1);
    assert!(diags.iter().all(|d| d["source"] == "twice"), "{diags:?}");
    let token = accept_progress(&mut c);
    let end = c.wait_for(|m| {
        m["method"] == "$/progress"
            && m["params"]["token"] == token
            && m["params"]["value"]["kind"] == "end"
    });
    assert_eq!(end["params"]["value"]["message"], "done", "{end}");
    let m = c.wait_for(|m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == doc
            && m["params"]["diagnostics"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d["source"] == "twice replay"))
    });
    let diags = m["params"]["diagnostics"].as_array().unwrap();
    let replayed = diags
        .iter()
        .find(|d| d["source"] == "twice replay")
        .unwrap();
    assert_eq!(replayed["code"], "second-run-error", "{diags:?}");
    assert_eq!(
        replayed["range"]["start"],
        json!({"line": 0, "character": 0})
    );
    // An edit drops them (they are about the saved text).
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": doc, "version": 2},
               "contentChanges": [{"text": "CREATE TABLE IF NOT EXISTS orders (id INTEGER);\n"}]}),
    );
    assert_eq!(c.diagnostics(&doc, 2), Vec::<Value>::new());
    assert_eq!(c.finish(), 0);
}

#[test]
fn bad_input_never_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Client::start(dir.path());
    // Before initialize.
    let r = c.request("textDocument/hover", json!({}));
    assert_eq!(r["error"]["code"], -32002, "{r}");
    c.initialize(dir.path(), json!({}), json!({"replayOnSave": false}));
    // Not JSON.
    c.raw(b"Content-Length: 9\r\n\r\n{not json");
    let r = c.wait_for(|m| m.get("error").is_some());
    assert_eq!(r["error"]["code"], -32700, "{r}");
    assert_eq!(r["id"], Value::Null);
    // No Content-Length.
    c.raw(b"Content-Type: application/json\r\n\r\n");
    let r = c.wait_for(|m| m.get("error").is_some());
    assert_eq!(r["error"]["code"], -32700, "{r}");
    // JSON, but not a message.
    c.send(json!([1, 2, 3]));
    let r = c.wait_for(|m| m.get("error").is_some());
    assert_eq!(r["error"]["code"], -32600, "{r}");
    // Unknown method; unknown notifications are ignored.
    c.notify("$/unknownNotification", json!({}));
    let r = c.request("textDocument/definition", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    // Bad parameters.
    let r = c.request("textDocument/hover", json!("nonsense"));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    c.notify("textDocument/didOpen", json!({"textDocument": 42}));

    // Binary junk in a .sql file: one binary-file diagnostic.
    let junk_uri = uri(dir.path()).to_string() + "/junk.sql";
    let junk: String = (0u8..=255).map(char::from).cycle().take(5000).collect();
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": junk_uri, "languageId": "sql", "version": 1, "text": junk}}),
    );
    let diags = c.diagnostics(&junk_uri, 1);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "binary-file");

    // Not SQL: left alone, requests on it still answered.
    let png_uri = uri(dir.path()).to_string() + "/logo.png";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": png_uri, "languageId": "png", "version": 1, "text": "\u{89}PNG\r\n\u{1a}\n\0\0"}}),
    );
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": png_uri}, "position": {"line": 0, "character": 3}}),
    );
    assert_eq!(r["result"], Value::Null, "{r}");

    // A buffer that is no file at all: checked as a script.
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": "untitled:Untitled-1", "languageId": "sql", "version": 1,
               "text": "CREATE TABLE t (x INTEGER);\n"}}),
    );
    let diags = c.diagnostics("untitled:Untitled-1", 1);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "create-without-if-not-exists");

    // A huge file (an unsaved buffer: not on disk) is checked in the
    // background; the server keeps answering meanwhile.
    let big_uri = uri(dir.path()).to_string() + "/big.sql";
    let mut big = String::from("CREATE TABLE t (x INTEGER);\n");
    for i in 0..3000 {
        big.push_str(&format!("INSERT INTO t VALUES ({i});\n"));
    }
    while big.len() < 4 * 1024 * 1024 {
        big.push_str(
            "-- a comment line of a long generated script ...................\nSELECT 1;\n",
        );
    }
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": big_uri, "languageId": "sql", "version": 1, "text": big}}),
    );
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": big_uri},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": []}}),
    );
    assert!(r["result"].is_array(), "{r}");
    let diags = c.diagnostics(&big_uri, 1);
    assert!(
        diags
            .iter()
            .any(|d| d["code"] == "create-without-if-not-exists"),
        "{diags:?}"
    );
    // 3001 findings: 2000 shown, and one line that says so.
    assert_eq!(diags.len(), 2001);
    let note = diags[0]["message"].as_str().unwrap();
    assert!(note.starts_with("2000 of 3001 findings shown"), "{note}");
    // Positions past the end are clamped, not a crash.
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": big_uri}, "position": {"line": 4000000, "character": 99}}),
    );
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(c.finish(), 0);
}

#[test]
fn exit_without_shutdown_is_an_error_exit() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Client::start(dir.path());
    c.initialize(dir.path(), json!({}), json!({}));
    c.notify("exit", Value::Null);
    assert_eq!(c.child.wait().unwrap().code(), Some(1));
    // A request after shutdown is refused; the end of input exits too.
    let mut c = Client::start(dir.path());
    c.initialize(dir.path(), json!({}), json!({}));
    let r = c.request("shutdown", Value::Null);
    assert_eq!(r["result"], Value::Null);
    let r = c.request("textDocument/hover", json!({}));
    assert_eq!(r["error"]["code"], -32600, "{r}");
    c.stdin.take();
    assert_eq!(c.child.wait().unwrap().code(), Some(0));
}

/// Answers the server's `window/workDoneProgress/create` and returns the
/// token once `begin` is reported.
fn accept_progress(c: &mut Client) -> Value {
    let create = c.wait_for(|m| m["method"] == "window/workDoneProgress/create");
    let token = create["params"]["token"].clone();
    c.send(json!({"jsonrpc": "2.0", "id": create["id"], "result": null}));
    let begin = c.wait_for(|m| m["method"] == "$/progress" && m["params"]["token"] == token);
    assert_eq!(begin["params"]["value"]["kind"], "begin", "{begin}");
    assert_eq!(begin["params"]["value"]["cancellable"], true);
    token
}

#[test]
fn replay_reports_progress_and_the_editor_can_cancel_it() {
    let dir = project();
    // A replay that runs for minutes: each statement may take 10 minutes.
    std::fs::write(dir.path().join("twice.toml"), "[replay]\ntimeout = 600\n").unwrap();
    let path = dir.path().join("db/migrations/002_orders.sql");
    let text = "CREATE TABLE IF NOT EXISTS counts (n INTEGER);\n\
        DELETE FROM counts;\n\
        INSERT INTO counts SELECT count(*) FROM (WITH RECURSIVE c(x) AS \
        (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000000) SELECT x FROM c);\n";
    std::fs::write(&path, text).unwrap();
    let doc = uri(&path);
    let mut c = Client::start(dir.path());
    c.initialize(
        dir.path(),
        json!({"window": {"workDoneProgress": true}}),
        json!({"debounceMs": 20}),
    );
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": doc, "languageId": "sql", "version": 1, "text": text}}),
    );
    c.diagnostics(&doc, 1);
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": doc}}),
    );
    let token = accept_progress(&mut c);
    c.notify("window/workDoneProgress/cancel", json!({"token": token}));
    let end = c.wait_for(|m| {
        m["method"] == "$/progress"
            && m["params"]["token"] == token
            && m["params"]["value"]["kind"] == "end"
    });
    assert_eq!(end["params"]["value"]["message"], "cancelled", "{end}");
    assert_eq!(c.finish(), 0);
}

#[test]
fn a_diesel_migration_is_read_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("migrations");
    // PostgreSQL: its `ON CONFLICT DO NOTHING` fix is a safe one.
    std::fs::write(dir.path().join("twice.toml"), "dialect = \"postgres\"\n").unwrap();
    for (name, up, down) in [
        (
            "2024-01-01-000000_users",
            "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT);\n",
            "DROP TABLE IF EXISTS users;\n",
        ),
        (
            "2024-01-02-000000_seed",
            "INSERT INTO users (id, name) VALUES (1, 'admin');\n",
            "DELETE FROM users WHERE id = 1;\n",
        ),
    ] {
        std::fs::create_dir_all(m.join(name)).unwrap();
        std::fs::write(m.join(name).join("up.sql"), up).unwrap();
        std::fs::write(m.join(name).join("down.sql"), down).unwrap();
    }
    let path = m.join("2024-01-02-000000_seed/up.sql");
    let doc = uri(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut c = Client::start(dir.path());
    c.initialize(dir.path(), json!({}), json!({"replayOnSave": false}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": doc, "languageId": "sql", "version": 1, "text": text}}),
    );
    let diags = c.diagnostics(&doc, 1);
    let insert = diags
        .iter()
        .find(|d| d["code"] == "insert-without-conflict-clause")
        .unwrap_or_else(|| panic!("{diags:?}"));
    // The fix needs the key of `users`, which the earlier migration creates.
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": doc}, "range": insert["range"],
               "context": {"diagnostics": [insert], "only": ["quickfix"]}}),
    );
    let actions = actions["result"].as_array().unwrap().clone();
    let fix = actions
        .iter()
        .find(|a| a["isPreferred"] == true)
        .unwrap_or_else(|| panic!("{actions:?}"));
    let edits = fix["edit"]["changes"][&doc].as_array().unwrap().clone();
    assert_eq!(
        apply(&text, &edits),
        "INSERT INTO users (id, name) VALUES (1, 'admin') ON CONFLICT DO NOTHING;\n"
    );
    assert!(actions.iter().all(|a| a["kind"] == "quickfix"));
    assert_eq!(c.finish(), 0);
}

#[test]
fn a_bug_in_a_handler_is_an_internal_error_not_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Client::start_with(dir.path(), &[("TWICE_DEBUG_LSP_PANIC", "1")]);
    c.initialize(dir.path(), json!({}), json!({}));
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///nowhere.sql"}, "position": {"line": 0, "character": 0}}),
    );
    if cfg!(debug_assertions) {
        assert_eq!(r["error"]["code"], -32603, "{r}");
    }
    assert_eq!(c.finish(), 0);
}

/// A client that sends and never reads what it is sent: the server stops
/// reading too once a few frames wait, instead of taking every frame into
/// memory (100,000 requests of 2 KB had grown it to 435 MB). Each request
/// here gets a 60 KB answer (its id is echoed), so the server's output pipe
/// is full after the first; the test writes without blocking and counts
/// what the server took before it stopped taking anything.
#[cfg(unix)]
#[test]
fn a_client_that_never_reads_does_not_grow_the_server() {
    use std::os::unix::io::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_twice"))
        .args(["lsp", "--stdio"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _unread = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // SAFETY: a valid descriptor of ours.
    unsafe {
        let fd = stdin.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        assert!(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0);
    }
    let frame = |msg: Value| {
        let body = serde_json::to_vec(&msg).unwrap();
        let mut f = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        f.extend(body);
        f
    };
    let init = frame(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"capabilities": {}}}));
    let request = frame(json!({"jsonrpc": "2.0", "id": "x".repeat(60_000),
        "method": "twice/nothing"}));
    let limit = 96 << 20;
    let mut taken = 0usize;
    let mut pending: Vec<u8> = init;
    let mut last_progress = std::time::Instant::now();
    while taken < limit && last_progress.elapsed() < Duration::from_secs(5) {
        if pending.is_empty() {
            pending = request.clone();
        }
        match stdin.write(&pending) {
            Ok(n) => {
                taken += n;
                pending.drain(..n);
                last_progress = std::time::Instant::now();
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("{e}"),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    // 64 frames of 60 KB waiting, plus the pipe and read buffers.
    assert!(
        taken < 16 << 20,
        "the server took {taken} bytes from a client that reads nothing"
    );
}
