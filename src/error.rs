//! Errors that stop twice from doing its job (exit code 2).

use std::fmt;

/// The tool could not do what was asked: bad arguments, a missing or
/// unreadable path, a bad config file. The message names the path or value
/// and, where possible, says what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }

    /// An I/O error on `path`, phrased for users.
    pub fn io(path: &str, err: &std::io::Error) -> Error {
        use std::io::ErrorKind::*;
        let what = match err.kind() {
            NotFound => "no such file or folder".to_string(),
            PermissionDenied => "permission denied".to_string(),
            _ => err.to_string(),
        };
        Error::new(format!("{path}: {what}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
