//! twice: what happens if this SQL migration runs twice?
//!
//! The library behind the `twice` command. Data flows one way:
//! [`discover`] → [`split`]/[`analysis`] → [`rules`] and [`replay`] →
//! [`finding::Finding`]s in a [`report::Report`] → [`render`].

pub mod analysis;
pub mod baseline;
pub mod check;
pub mod classify;
pub mod cli;
pub mod cli_args;
pub mod cli_plan;
pub mod config;
pub mod dialect;
pub mod discover;
pub mod error;
pub mod escape;
pub mod finding;
pub mod fingerprint;
pub mod fix;
pub mod layout;
pub mod lexer;
pub mod lsp;
pub mod model;
pub mod options;
pub mod parallel;
pub mod placeholder;
pub mod plan;
pub mod render;
pub mod replay;
pub mod report;
pub mod rules;
pub mod schema;
pub mod since;
pub mod sniff;
pub mod source;
pub mod split;
pub mod suppress;
pub mod words;
