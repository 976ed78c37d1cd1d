//! The integration tests, as one test binary (one link instead of one per
//! file). Each file of the former `tests/*.rs` is a module here; the tests
//! that need a process of their own stay separate: `tests/replay_memory.rs`
//! (the SQLite heap ceiling is process-wide) and `tests/postgres.rs` (it sets
//! a process environment variable, owns one shared cluster, and its tests are
//! `#[ignore]`d so that `cargo test --test postgres -- --include-ignored` runs
//! exactly them). The MySQL tests (`mysql.rs`) share one throwaway server
//! and are `#[ignore]`d likewise: `cargo test --test it mysql:: --
//! --include-ignored` runs them.
//!
//! Filter by module: `cargo test --test it cli::`.

/// Asserts a snapshot kept as `tests/snapshots/<module>__<name>.snap`, the
/// name it had when each module was a test binary of its own (insta would
/// otherwise name it after the full module path, `it__<module>__<name>`, in
/// `tests/it/snapshots/`). Every snapshot here is named: the unnamed ones
/// took their test function's name.
macro_rules! snapshot {
    ($name:expr, $value:expr $(,)?) => {{
        let module = module_path!().rsplit("::").next().unwrap_or_default();
        insta::with_settings!({
            snapshot_path => "../snapshots",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(format!("{module}__{}", $name), $value);
        });
    }};
}

#[path = "../common/mod.rs"]
mod common;

mod action;
mod cli;
mod config;
mod fix;
mod fuzz;
mod hostile;
mod jobs;
mod layouts;
mod limits;
mod lsp;
mod mysql;
mod plan;
mod render;
mod replay;
mod rules;
mod since;
mod splitter_props;
mod suppress;
