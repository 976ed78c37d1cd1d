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
