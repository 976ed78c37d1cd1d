//! Renderers turn a [`Report`] into bytes. They know nothing about rules
//! beyond the data in the report and the rule metadata they are given.

use crate::check::Report;
use std::io::{self, Write};

pub mod human;
pub mod json;

/// Output formats of `twice check --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

impl Format {
    pub const ALL: &'static [Format] = &[Format::Human, Format::Json];

    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
        }
    }
}

/// Settings shared by renderers.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    pub color: bool,
}

pub trait Renderer {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

pub fn renderer(format: Format, opts: &RenderOptions) -> Box<dyn Renderer> {
    match format {
        Format::Human => Box::new(human::Human { color: opts.color }),
        Format::Json => Box::new(json::Json),
    }
}
