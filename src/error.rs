//! The one error type of rpinet: a message a user can act on.
//!
//! Every error that reaches the user is a single line naming what was wrong
//! ("node 'lion': option 'mac': ..." or "failed to write /etc/exports: ...").
//! Lower layers add context with [`Context::ctx`] instead of passing raw
//! `io::Error`s up, the way ripgrep words its errors.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

pub type Result<T> = std::result::Result<T, Error>;

/// What a conflict's message starts with (the message stays one line a user can read).
const CONFLICT: &str = "conflict: ";

impl Error {
    pub fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }

    /// The message as one line of text: control characters a name or value brought in
    /// (newline, CR, escape...) shown as escapes, so an error is always one line on stderr.
    pub fn one_line(&self) -> String {
        self.0
            .chars()
            .flat_map(|c| {
                let esc: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                esc
            })
            .collect()
    }

    /// `path` changed under rpinet between reading and writing it (another writer, such as
    /// `uci commit`): the caller reads it again and redoes its change.
    pub fn conflict(path: &str) -> Self {
        Error(format!(
            "{CONFLICT}{path} changed while rpinet was writing it; try again"
        ))
    }

    pub fn is_conflict(&self) -> bool {
        self.0.starts_with(CONFLICT)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Attach a description of what was being done to a lower-level error.
pub trait Context<T> {
    fn ctx<F: FnOnce() -> String>(self, what: F) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn ctx<F: FnOnce() -> String>(self, what: F) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {}", what(), e)))
    }
}

/// Build an [`Error`] from a format string: `bail!("bad {}", x)` returns early.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::error::Error::new(format!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_print_as_one_line() {
        let e = Error::new("node name 'a\nb\r\u{1b}[31m': bad");
        assert_eq!(e.one_line(), "node name 'a\\nb\\r\\u{1b}[31m': bad");
    }
}
