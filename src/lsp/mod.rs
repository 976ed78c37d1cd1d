//! `twice lsp`: a Language Server Protocol server over stdio for `.sql`
//! files.
//!
//! - Diagnostics from the static rules when a document opens and, debounced,
//!   when it changes; replay findings when it is saved (in a child process,
//!   cancelled when the document changes, closes or is saved again; off
//!   with the `replayOnSave` setting). See [`analyze`] for how a document
//!   gets the migration context `twice check` would give it.
//! - Code actions: each fix `--fix` would apply to a finding, as a quick fix
//!   with exactly its edits (planned by [`crate::fix::plan`]); "fix all"
//!   with `--fix`'s whole plan for the file; and "add `-- twice:ignore
//!   <rule>`" above the statement.
//! - Hover on a finding or on a rule id in a `twice:ignore` comment: the
//!   rule's documentation, as `twice explain` prints it.
//!
//! The protocol types come from `lsp-types` (the crate rust-analyzer and
//! most Rust servers use; plain serde types, no runtime). The framing and
//! the message loop are our own, small and synchronous: `lsp-server`'s
//! stdio reader stops for good at the first malformed message, and
//! `tower-lsp` would bring an async runtime into a program that has none.
//! Here a malformed message gets a `ParseError` response and the session
//! goes on.
//!
//! Threads: one reads stdin, one runs the static checks (newest version of
//! each document first; stale results are dropped), replay children each
//! have a waiting thread; only the main loop writes to the client.

pub mod analyze;
mod features;
pub mod replay;
pub mod text;
pub mod transport;

use analyze::{Analysis, OptionsFor};
use features::{
    capitalize, capped, diagnostic, fix_all, fix_all_kind, ignore_comment_at, ignore_edit,
    planned_fix, replay_span, rule_doc, span_in_text, text_edits,
};
use lsp_types as lt;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};
use text::{Encoding, LineIndex};

/// The most diagnostics published for one file: a generated script with
/// 200,000 INSERTs must not send 200,000 to the editor.
const MAX_DIAGNOSTICS: usize = 2000;

/// JSON-RPC error codes.
mod code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const SERVER_NOT_INITIALIZED: i64 = -32002;
    pub const INTERNAL_ERROR: i64 = -32603;
}

/// What the face gives the server.
pub struct Setup {
    /// Check options for a `twice.toml` (or none).
    pub options_for: std::sync::Arc<OptionsFor>,
    /// The twice executable that replays (`None`: no replay on save).
    pub exe: Option<PathBuf>,
}

/// Settings a client may send (`initializationOptions`, or `twice` in
/// `workspace/didChangeConfiguration`).
#[derive(Clone, Debug)]
struct Settings {
    replay_on_save: bool,
    debounce: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            replay_on_save: true,
            debounce: Duration::from_millis(300),
        }
    }
}

impl Settings {
    fn update(&mut self, v: &Value) {
        let v = v.get("twice").unwrap_or(v);
        if let Some(b) = v.get("replayOnSave").and_then(Value::as_bool) {
            self.replay_on_save = b;
        }
        if let Some(ms) = v.get("debounceMs").and_then(Value::as_u64) {
            self.debounce = Duration::from_millis(ms.min(10_000));
        }
    }
}

enum Event {
    Frame(transport::Frame),
    ReadError(String),
    Checked(lt::Url, Box<std::thread::Result<Analysis>>),
    Replayed(lt::Url, u64, replay::Outcome),
}

/// A check for the worker.
struct Job {
    uri: lt::Url,
    path: Option<PathBuf>,
    name: String,
    version: i32,
    text: String,
}

struct Doc {
    version: i32,
    text: String,
    path: Option<PathBuf>,
    /// SQL, by language id or extension; other documents are left alone.
    sql: bool,
    /// When the debounced check is due.
    due: Option<Instant>,
    analysis: Option<Analysis>,
    /// Replay findings for the saved text, while it is unchanged.
    replayed: Vec<crate::finding::Finding>,
    replay: Option<ReplayRun>,
    /// Saved; replay starts when the saved text's check is in.
    replay_wanted: bool,
}

/// A replay in the background, with its progress report in the editor.
struct ReplayRun {
    generation: u64,
    running: replay::Running,
    /// The id of our `window/workDoneProgress/create` request, until the
    /// client answers it.
    create_id: Option<String>,
    /// The progress token, once `begin` was sent.
    token: Option<String>,
}

struct Server<'a> {
    out: &'a mut dyn Write,
    exe: Option<PathBuf>,
    settings: Settings,
    encoding: Encoding,
    document_changes: bool,
    initialized: bool,
    shutdown: bool,
    docs: HashMap<lt::Url, Doc>,
    jobs: Sender<Job>,
    events: Sender<Event>,
    generation: u64,
    /// The client shows server-initiated progress (with a cancel button).
    progress: bool,
    /// Problems already shown (shown once each).
    told: BTreeSet<String>,
}

/// Runs the server on `input`/`out` until `exit` (or the end of input).
/// Returns the process exit code: 0 after `shutdown` then `exit`, else 1.
pub fn run(input: impl BufRead + Send + 'static, out: &mut dyn Write, setup: Setup) -> i32 {
    let (events, rx) = mpsc::channel();
    let reader_events = events.clone();
    // Frames read but not handled yet are at most READ_AHEAD: a client that
    // sends without reading what it is sent leaves the message loop blocked
    // on its output, and the reader then stops reading too (it took every
    // frame into memory: 100,000 requests of 2 KB grew the server to 435 MB).
    let (credit, credits) = mpsc::sync_channel::<()>(READ_AHEAD);
    std::thread::spawn(move || read_loop(input, reader_events, credit));
    let (jobs, job_rx) = mpsc::channel::<Job>();
    let worker_events = events.clone();
    let options_for = std::sync::Arc::clone(&setup.options_for);
    std::thread::spawn(move || work_loop(job_rx, worker_events, &*options_for));
    let mut server = Server {
        out,
        exe: setup.exe,
        settings: Settings::default(),
        encoding: Encoding::Utf16,
        document_changes: false,
        initialized: false,
        shutdown: false,
        docs: HashMap::new(),
        jobs,
        events,
        generation: 0,
        progress: false,
        told: BTreeSet::new(),
    };
    server.main_loop(rx, credits)
}

/// How many frames the reader may read ahead of the message loop.
const READ_AHEAD: usize = 64;

fn read_loop(mut input: impl BufRead, events: Sender<Event>, credit: SyncSender<()>) {
    loop {
        // Waits while READ_AHEAD frames wait for the message loop; ends
        // when the loop has ended.
        if credit.send(()).is_err() {
            return;
        }
        match transport::read_frame(&mut input) {
            Ok(transport::Frame::Eof) => {
                let _ = events.send(Event::Frame(transport::Frame::Eof));
                return;
            }
            Ok(frame) => {
                if events.send(Event::Frame(frame)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = events.send(Event::ReadError(e.to_string()));
                return;
            }
        }
    }
}

/// Runs checks, newest version of each document only.
fn work_loop(jobs: Receiver<Job>, events: Sender<Event>, options_for: &OptionsFor) {
    while let Ok(first) = jobs.recv() {
        let mut batch: Vec<Job> = vec![first];
        while let Ok(j) = jobs.try_recv() {
            batch.retain(|b| b.uri != j.uri);
            batch.push(j);
        }
        for job in batch {
            let uri = job.uri.clone();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                analyze::analyze(
                    job.path.as_deref(),
                    &job.name,
                    job.version,
                    job.text,
                    options_for,
                )
            }));
            if events.send(Event::Checked(uri, Box::new(result))).is_err() {
                return;
            }
        }
    }
}

impl Server<'_> {
    fn main_loop(&mut self, rx: Receiver<Event>, credits: Receiver<()>) -> i32 {
        loop {
            let timeout = self
                .docs
                .values()
                .filter_map(|d| d.due)
                .min()
                .map(|t| t.saturating_duration_since(Instant::now()));
            let event = match timeout {
                Some(t) => match rx.recv_timeout(t) {
                    Ok(e) => Some(e),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return 1,
                },
                None => match rx.recv() {
                    Ok(e) => Some(e),
                    Err(_) => return 1,
                },
            };
            if let Some(Event::Frame(_)) = &event {
                // One frame taken: the reader may read one more.
                let _ = credits.try_recv();
            }
            match event {
                None => self.run_due(),
                Some(Event::Frame(transport::Frame::Eof)) => {
                    self.cancel_all();
                    return if self.shutdown { 0 } else { 1 };
                }
                Some(Event::ReadError(e)) => {
                    let _ = writeln!(io::stderr(), "twice lsp: cannot read input: {e}");
                    self.cancel_all();
                    return 1;
                }
                Some(Event::Frame(transport::Frame::Bad(why))) => {
                    self.send(json!({"jsonrpc": "2.0", "id": null, "error": {
                        "code": code::PARSE_ERROR, "message": why}}));
                }
                Some(Event::Frame(transport::Frame::Body(body))) => {
                    // A bug in a handler answers that request with an
                    // internal error; the session goes on.
                    let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.message(&body)
                    }));
                    match handled {
                        Ok(Some(code)) => {
                            self.cancel_all();
                            return code;
                        }
                        Ok(None) => {}
                        Err(_) => {
                            let id = serde_json::from_slice::<Value>(&body)
                                .ok()
                                .and_then(|m| m.get("id").cloned());
                            if let Some(id) = id {
                                self.error(
                                    id,
                                    code::INTERNAL_ERROR,
                                    "internal error in twice; this is a bug, please report it with the file".into(),
                                );
                            }
                        }
                    }
                }
                Some(Event::Checked(uri, result)) => self.checked(uri, *result),
                Some(Event::Replayed(uri, generation, outcome)) => {
                    self.replayed(uri, generation, outcome)
                }
            }
        }
    }

    fn send(&mut self, msg: Value) {
        if let Err(e) = transport::write_message(self.out, &msg) {
            let _ = writeln!(io::stderr(), "twice lsp: cannot write output: {e}");
        }
    }

    fn respond(&mut self, id: Value, result: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
    }

    fn error(&mut self, id: Value, code: i64, message: String) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}));
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn show(&mut self, kind: lt::MessageType, message: String) {
        if self.told.insert(message.clone()) {
            self.notify(
                "window/showMessage",
                json!({"type": kind, "message": format!("twice: {message}")}),
            );
        }
    }

    fn log(&mut self, message: String) {
        self.notify(
            "window/logMessage",
            json!({"type": lt::MessageType::LOG, "message": format!("twice: {message}")}),
        );
    }

    /// Handles one message; `Some(code)` when the server is to exit.
    fn message(&mut self, body: &[u8]) -> Option<i32> {
        let msg: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                self.send(json!({"jsonrpc": "2.0", "id": null, "error": {
                    "code": code::PARSE_ERROR, "message": format!("the message is not JSON: {e}")}}));
                return None;
            }
        };
        let id = msg.get("id").cloned();
        let method = msg.get("method").and_then(Value::as_str).map(str::to_owned);
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        let valid_id = id
            .as_ref()
            .is_none_or(|i| i.is_string() || i.is_i64() || i.is_u64() || i.is_null());
        match (method, id) {
            (Some(m), Some(id)) if valid_id => self.request(id, &m, params),
            (Some(m), None) => return self.notification(&m, params),
            (None, Some(id)) if msg.get("result").is_some() || msg.get("error").is_some() => {
                // A response to a request of ours: progress creation.
                let ok = msg.get("error").is_none();
                self.progress_created(&id, ok);
            }
            (_, id) => {
                let id = id.filter(|_| valid_id).unwrap_or(Value::Null);
                self.error(
                    id,
                    code::INVALID_REQUEST,
                    "not a JSON-RPC request or notification".into(),
                );
            }
        }
        None
    }

    fn request(&mut self, id: Value, method: &str, params: Value) {
        if method == "initialize" {
            if self.initialized {
                return self.error(id, code::INVALID_REQUEST, "already initialized".into());
            }
            return match serde_json::from_value::<lt::InitializeParams>(params) {
                Ok(p) => {
                    let result = self.initialize(p);
                    self.respond(id, result)
                }
                Err(e) => self.error(id, code::INVALID_PARAMS, format!("initialize: {e}")),
            };
        }
        if !self.initialized {
            return self.error(
                id,
                code::SERVER_NOT_INITIALIZED,
                "the server is not initialized".into(),
            );
        }
        if self.shutdown {
            return self.error(
                id,
                code::INVALID_REQUEST,
                "the server is shutting down".into(),
            );
        }
        let result = match method {
            "shutdown" => {
                self.shutdown = true;
                self.cancel_all();
                Ok(Value::Null)
            }
            "textDocument/hover" => parse(params).map(|p| self.hover(p)),
            "textDocument/codeAction" => parse(params).map(|p| self.code_actions(p)),
            _ => {
                return self.error(
                    id,
                    code::METHOD_NOT_FOUND,
                    format!("twice does not handle `{method}`"),
                )
            }
        };
        match result {
            Ok(v) => self.respond(id, v),
            Err(e) => self.error(id, code::INVALID_PARAMS, format!("{method}: {e}")),
        }
    }

    fn notification(&mut self, method: &str, params: Value) -> Option<i32> {
        if method == "exit" {
            return Some(if self.shutdown { 0 } else { 1 });
        }
        if !self.initialized || self.shutdown {
            return None;
        }
        let result = match method {
            "textDocument/didOpen" => parse(params).map(|p| self.did_open(p)),
            "textDocument/didChange" => parse(params).map(|p| self.did_change(p)),
            "textDocument/didSave" => parse(params).map(|p| self.did_save(p)),
            "textDocument/didClose" => parse(params).map(|p| self.did_close(p)),
            "workspace/didChangeConfiguration" => parse::<lt::DidChangeConfigurationParams>(params)
                .map(|p| {
                    self.settings.update(&p.settings);
                    if !self.settings.replay_on_save {
                        self.cancel_all();
                    }
                }),
            "window/workDoneProgress/cancel" => parse::<lt::WorkDoneProgressCancelParams>(params)
                .map(|p| {
                    let token = match p.token {
                        lt::NumberOrString::String(t) => t,
                        lt::NumberOrString::Number(n) => n.to_string(),
                    };
                    let uri = self
                        .docs
                        .iter()
                        .find(|(_, d)| {
                            d.replay
                                .as_ref()
                                .is_some_and(|r| r.token.as_deref() == Some(token.as_str()))
                        })
                        .map(|(u, _)| u.clone());
                    if let Some(uri) = uri {
                        self.stop_replay(&uri);
                    }
                }),
            // `initialized`, `$/cancelRequest`, `$/setTrace`, ... need nothing.
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.log(format!("{method}: bad parameters: {e}"));
        }
        None
    }

    fn initialize(&mut self, p: lt::InitializeParams) -> Value {
        self.initialized = true;
        if let Some(o) = &p.initialization_options {
            self.settings.update(o);
        }
        let utf8 = p
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|e| e.contains(&lt::PositionEncodingKind::UTF8));
        self.encoding = if utf8 {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        };
        self.progress = p
            .capabilities
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false);
        self.document_changes = p
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.workspace_edit.as_ref())
            .and_then(|e| e.document_changes)
            .unwrap_or(false);
        // File names as a user in the project's root folder writes them
        // (`twice check` is run from there): folder names that imply a
        // dialect are read from that relative path.
        #[allow(deprecated)]
        let root = p
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| f.uri.clone())
            .or(p.root_uri);
        if let Some(dir) = root.and_then(|u| u.to_file_path().ok()) {
            if dir.is_dir() {
                let _ = std::env::set_current_dir(&dir);
            }
        }
        let caps = lt::ServerCapabilities {
            position_encoding: Some(if utf8 {
                lt::PositionEncodingKind::UTF8
            } else {
                lt::PositionEncodingKind::UTF16
            }),
            text_document_sync: Some(lt::TextDocumentSyncCapability::Options(
                lt::TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(lt::TextDocumentSyncKind::INCREMENTAL),
                    save: Some(lt::TextDocumentSyncSaveOptions::SaveOptions(
                        lt::SaveOptions {
                            include_text: Some(false),
                        },
                    )),
                    ..Default::default()
                },
            )),
            hover_provider: Some(lt::HoverProviderCapability::Simple(true)),
            code_action_provider: Some(lt::CodeActionProviderCapability::Options(
                lt::CodeActionOptions {
                    code_action_kinds: Some(vec![lt::CodeActionKind::QUICKFIX, fix_all_kind()]),
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        json!({
            "capabilities": caps,
            "serverInfo": {"name": "twice", "version": env!("CARGO_PKG_VERSION")},
        })
    }

    fn did_open(&mut self, p: lt::DidOpenTextDocumentParams) {
        let d = p.text_document;
        let path = d
            .uri
            .to_file_path()
            .ok()
            .filter(|_| d.uri.scheme() == "file");
        let sql = d.language_id.eq_ignore_ascii_case("sql")
            || path.as_deref().is_some_and(crate::discover::is_sql)
            || d.uri.path().to_ascii_lowercase().ends_with(".sql");
        let doc = Doc {
            version: d.version,
            text: d.text,
            path,
            sql,
            due: None,
            analysis: None,
            replayed: Vec::new(),
            replay: None,
            replay_wanted: false,
        };
        // Opened again without a close: what ran for the old text stops.
        self.stop_replay(&d.uri);
        self.docs.insert(d.uri.clone(), doc);
        // On open: at once.
        self.schedule(&d.uri, Duration::ZERO);
    }

    fn did_change(&mut self, p: lt::DidChangeTextDocumentParams) {
        let enc = self.encoding;
        let Some(doc) = self.docs.get_mut(&p.text_document.uri) else {
            return;
        };
        for c in &p.content_changes {
            text::apply_change(&mut doc.text, c, enc);
        }
        doc.version = p.text_document.version;
        // Replay findings are about the saved text.
        doc.replayed.clear();
        let uri = p.text_document.uri;
        self.stop_replay(&uri);
        let debounce = self.settings.debounce;
        self.schedule(&uri, debounce);
    }

    fn did_save(&mut self, p: lt::DidSaveTextDocumentParams) {
        let uri = p.text_document.uri;
        let replay = self.settings.replay_on_save && self.exe.is_some();
        let Some(doc) = self.docs.get_mut(&uri) else {
            return;
        };
        if let Some(t) = p.text {
            if t != doc.text {
                doc.text = t;
                self.schedule(&uri, Duration::ZERO);
            }
        }
        self.stop_replay(&uri);
        let Some(doc) = self.docs.get_mut(&uri) else {
            return;
        };
        doc.replay_wanted = replay && doc.sql && doc.path.is_some();
        self.start_replay(&uri);
    }

    /// Starts the replay a save asked for, once the saved text's check has
    /// given its context (the folder to replay, the config).
    fn start_replay(&mut self, uri: &lt::Url) {
        let Some(exe) = self.exe.clone() else {
            return;
        };
        let Some(doc) = self.docs.get_mut(uri) else {
            return;
        };
        let Some(a) = doc.analysis.as_ref() else {
            return;
        };
        if !doc.replay_wanted || a.version != doc.version || a.text != doc.text {
            return;
        }
        doc.replay_wanted = false;
        let Some(ctx) = a.context.clone().filter(|_| !a.excluded) else {
            return;
        };
        self.generation += 1;
        let generation = self.generation;
        let events = self.events.clone();
        let u = uri.clone();
        let running = replay::start(
            &exe,
            &ctx.target,
            ctx.config.as_deref(),
            ctx.name.clone(),
            move |outcome| {
                let _ = events.send(Event::Replayed(u, generation, outcome));
            },
        );
        let create_id = self
            .progress
            .then(|| format!("twice-progress-{generation}"));
        doc.replay = Some(ReplayRun {
            generation,
            running,
            create_id: create_id.clone(),
            token: None,
        });
        self.log(format!("replaying the history of {}", ctx.name));
        if let Some(id) = create_id {
            self.send(
                json!({"jsonrpc": "2.0", "id": id, "method": "window/workDoneProgress/create",
                "params": {"token": id}}),
            );
        }
    }

    /// The client answered a `window/workDoneProgress/create`: report the
    /// replay's progress with that token (a cancel button stops it).
    fn progress_created(&mut self, id: &Value, ok: bool) {
        let Some(id) = id.as_str() else { return };
        let found = self.docs.iter_mut().find_map(|(_, d)| {
            let r = d.replay.as_mut()?;
            (r.create_id.as_deref() == Some(id)).then_some(r)
        });
        let Some(run) = found else { return };
        run.create_id = None;
        if !ok {
            return;
        }
        run.token = Some(id.to_string());
        self.notify(
            "$/progress",
            json!({"token": id, "value": {"kind": "begin", "title": "twice: replaying migrations",
                "cancellable": true, "message": "running each migration twice"}}),
        );
    }

    /// Stops a document's replay (if one runs) and ends its progress.
    fn stop_replay(&mut self, uri: &lt::Url) {
        let Some(doc) = self.docs.get_mut(uri) else {
            return;
        };
        doc.replay_wanted = false;
        if let Some(run) = doc.replay.take() {
            run.running.cancel();
            self.end_progress(run, "cancelled");
        }
    }

    fn end_progress(&mut self, run: ReplayRun, message: &str) {
        if let Some(token) = run.token {
            self.notify(
                "$/progress",
                json!({"token": token, "value": {"kind": "end", "message": message}}),
            );
        }
    }

    fn did_close(&mut self, p: lt::DidCloseTextDocumentParams) {
        self.stop_replay(&p.text_document.uri);
        if let Some(doc) = self.docs.remove(&p.text_document.uri) {
            if doc.sql {
                self.publish_empty(&p.text_document.uri);
            }
        }
    }

    fn cancel_all(&mut self) {
        let uris: Vec<lt::Url> = self.docs.keys().cloned().collect();
        for uri in uris {
            self.stop_replay(&uri);
        }
    }

    fn schedule(&mut self, uri: &lt::Url, after: Duration) {
        if let Some(doc) = self.docs.get_mut(uri) {
            if doc.sql {
                doc.due = Some(Instant::now() + after);
            }
        }
        if after.is_zero() {
            self.run_due();
        }
    }

    fn run_due(&mut self) {
        let now = Instant::now();
        for (uri, doc) in self.docs.iter_mut() {
            if doc.due.is_some_and(|t| t <= now) {
                doc.due = None;
                let name = match &doc.path {
                    Some(p) => crate::source::display_path(p),
                    None => uri
                        .path()
                        .rsplit('/')
                        .next()
                        .unwrap_or("untitled.sql")
                        .to_string(),
                };
                let _ = self.jobs.send(Job {
                    uri: uri.clone(),
                    path: doc.path.clone(),
                    name,
                    version: doc.version,
                    text: doc.text.clone(),
                });
            }
        }
    }

    fn checked(&mut self, uri: lt::Url, result: std::thread::Result<Analysis>) {
        let analysis = match result {
            Ok(a) => a,
            Err(_) => {
                self.show(
                    lt::MessageType::ERROR,
                    format!("internal error while checking {uri}; this is a bug, please report it with the file"),
                );
                return;
            }
        };
        for p in &analysis.problems {
            self.show(lt::MessageType::WARNING, p.clone());
        }
        let Some(doc) = self.docs.get_mut(&uri) else {
            return;
        };
        if analysis.version != doc.version || analysis.text != doc.text {
            // A newer version is on its way.
            return;
        }
        doc.analysis = Some(analysis);
        self.publish(&uri);
        self.start_replay(&uri);
    }

    fn replayed(&mut self, uri: lt::Url, generation: u64, outcome: replay::Outcome) {
        let Some(doc) = self.docs.get_mut(&uri) else {
            return;
        };
        if doc
            .replay
            .as_ref()
            .is_none_or(|r| r.generation != generation)
        {
            return;
        }
        let Some(run) = doc.replay.take() else { return };
        self.end_progress(run, "done");
        let Some(doc) = self.docs.get_mut(&uri) else {
            return;
        };
        match outcome {
            replay::Outcome::Done(findings, notices, not_replayed) => {
                doc.replayed = findings;
                for n in notices {
                    self.log(n);
                }
                // Replay that did not run, or stopped part-way, is said
                // where the user sees it.
                for n in not_replayed {
                    self.show(lt::MessageType::INFO, n);
                }
                self.publish(&uri);
            }
            replay::Outcome::Cancelled => {}
            replay::Outcome::Failed(why) => self.show(lt::MessageType::WARNING, why),
        }
    }

    fn publish_empty(&mut self, uri: &lt::Url) {
        self.notify(
            "textDocument/publishDiagnostics",
            json!({"uri": uri, "diagnostics": []}),
        );
    }

    fn publish(&mut self, uri: &lt::Url) {
        let enc = self.encoding;
        let Some(doc) = self.docs.get(uri) else {
            return;
        };
        let Some(a) = &doc.analysis else { return };
        let mut diags = Vec::new();
        if !a.excluded {
            let idx = LineIndex::new(&a.text);
            let spans = a
                .findings
                .iter()
                .map(|f| (f, span_in_text(a, f)))
                .chain(doc.replayed.iter().map(|f| (f, replay_span(&idx, f))));
            let (shown, total) = capped(spans.collect(), MAX_DIAGNOSTICS);
            for (f, span) in &shown {
                diags.push(diagnostic(uri, f, span, &idx, enc));
            }
            if total > shown.len() {
                let name = a
                    .context
                    .as_ref()
                    .map_or(a.file.name.as_str(), |c| c.name.as_str());
                diags.insert(
                    0,
                    lt::Diagnostic {
                        severity: Some(lt::DiagnosticSeverity::INFORMATION),
                        source: Some("twice".into()),
                        message: format!(
                            "{} of {total} findings shown (the most severe first; an editor shows at most {MAX_DIAGNOSTICS}): run `twice check {name}` for all of them",
                            shown.len()
                        ),
                        ..Default::default()
                    },
                );
            }
        }
        let params = lt::PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics: diags,
            version: Some(a.version),
        };
        self.notify(
            "textDocument/publishDiagnostics",
            serde_json::to_value(params).unwrap_or(Value::Null),
        );
    }

    /// The current analysis of a document, if it is up to date.
    fn current(&self, uri: &lt::Url) -> Option<(&Doc, &Analysis)> {
        let doc = self.docs.get(uri)?;
        let a = doc.analysis.as_ref()?;
        (a.version == doc.version && a.text == doc.text && !a.excluded).then_some((doc, a))
    }

    fn hover(&mut self, p: lt::HoverParams) -> Value {
        #[cfg(debug_assertions)]
        if std::env::var_os("TWICE_DEBUG_LSP_PANIC").is_some() {
            // Lets the tests check that a bug in a handler is survived.
            panic!("TWICE_DEBUG_LSP_PANIC is set");
        }
        let enc = self.encoding;
        let pp = p.text_document_position_params;
        let Some((doc, a)) = self.current(&pp.text_document.uri) else {
            return Value::Null;
        };
        let idx = LineIndex::new(&a.text);
        let at = idx.offset(pp.position, enc);
        let mut rules: Vec<String> = Vec::new();
        let mut range = None;
        let replayed: Vec<(std::ops::Range<usize>, &str)> = doc
            .replayed
            .iter()
            .map(|f| (replay_span(&idx, f), f.rule.as_str()))
            .collect();
        let spans = a
            .findings
            .iter()
            .map(|f| (span_in_text(a, f), f.rule.as_str()))
            .chain(replayed);
        for (span, rule) in spans {
            if span.start <= at && at <= span.end && !rules.iter().any(|r| r == rule) {
                rules.push(rule.to_string());
                range.get_or_insert(idx.range(&span, enc));
            }
        }
        if rules.is_empty() {
            if let Some((span, ids)) = ignore_comment_at(a, at) {
                rules = ids;
                range = Some(idx.range(&span, enc));
            }
        }
        let docs: Vec<String> = rules.iter().filter_map(|r| rule_doc(r)).collect();
        if docs.is_empty() {
            return Value::Null;
        }
        let hover = lt::Hover {
            contents: lt::HoverContents::Markup(lt::MarkupContent {
                kind: lt::MarkupKind::Markdown,
                value: docs.join("\n\n---\n\n"),
            }),
            range,
        };
        serde_json::to_value(hover).unwrap_or(Value::Null)
    }

    fn code_actions(&mut self, p: lt::CodeActionParams) -> Value {
        let enc = self.encoding;
        let uri = p.text_document.uri.clone();
        let Some((doc, a)) = self.current(&uri) else {
            return json!([]);
        };
        let idx = LineIndex::new(&a.text);
        let wanted = |kind: &lt::CodeActionKind| {
            p.context.only.as_ref().is_none_or(|only| {
                only.iter().any(|o| {
                    kind.as_str() == o.as_str()
                        || kind.as_str().starts_with(&format!("{}.", o.as_str()))
                })
            })
        };
        let req = (idx.offset(p.range.start, enc), idx.offset(p.range.end, enc));
        let mut actions: Vec<lt::CodeAction> = Vec::new();
        let version = doc.version;
        for f in &a.findings {
            let span = span_in_text(a, f);
            let touches = span.start <= req.1 && req.0 <= span.end;
            if !touches {
                continue;
            }
            let diag = diagnostic(&uri, f, &span, &idx, enc);
            if wanted(&lt::CodeActionKind::QUICKFIX) {
                if let Some(edits) = planned_fix(a, f) {
                    let description = f.fix.as_ref().map_or("", |x| x.description.as_str());
                    actions.push(lt::CodeAction {
                        title: format!("{} ({})", capitalize(description), f.rule),
                        kind: Some(lt::CodeActionKind::QUICKFIX),
                        diagnostics: Some(vec![diag.clone()]),
                        edit: Some(self.workspace_edit(
                            &uri,
                            version,
                            text_edits(a, &idx, &edits, enc),
                        )),
                        is_preferred: Some(true),
                        ..Default::default()
                    });
                }
                if let Some(edit) = ignore_edit(a, f) {
                    actions.push(lt::CodeAction {
                        title: format!(
                            "Ignore {} for this statement (`-- twice:ignore {}`)",
                            f.rule, f.rule
                        ),
                        kind: Some(lt::CodeActionKind::QUICKFIX),
                        diagnostics: Some(vec![diag]),
                        edit: Some(self.workspace_edit(
                            &uri,
                            version,
                            text_edits(a, &idx, &[edit], enc),
                        )),
                        is_preferred: Some(false),
                        ..Default::default()
                    });
                }
            }
        }
        if wanted(&fix_all_kind()) {
            if let Some(edits) = fix_all(a) {
                actions.push(lt::CodeAction {
                    title: "Fix every fixable twice finding in this file (twice check --fix)"
                        .into(),
                    kind: Some(fix_all_kind()),
                    edit: Some(self.workspace_edit(
                        &uri,
                        version,
                        text_edits(a, &idx, &edits, enc),
                    )),
                    ..Default::default()
                });
            }
        }
        serde_json::to_value(actions).unwrap_or(json!([]))
    }

    fn workspace_edit(
        &self,
        uri: &lt::Url,
        version: i32,
        edits: Vec<lt::TextEdit>,
    ) -> lt::WorkspaceEdit {
        if self.document_changes {
            lt::WorkspaceEdit {
                document_changes: Some(lt::DocumentChanges::Edits(vec![lt::TextDocumentEdit {
                    text_document: lt::OptionalVersionedTextDocumentIdentifier {
                        uri: uri.clone(),
                        version: Some(version),
                    },
                    edits: edits.into_iter().map(lt::OneOf::Left).collect(),
                }])),
                ..Default::default()
            }
        } else {
            lt::WorkspaceEdit {
                changes: Some(HashMap::from([(uri.clone(), edits)])),
                ..Default::default()
            }
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}
