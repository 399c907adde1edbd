//! Report warnings: a stable machine-readable code and a plain-words message.

use std::fmt;

use serde::Serialize;

/// One warning of a report. Pages show `message`; programs match on `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable identifier, e.g. `weak_consensus`.
    pub code: &'static str,
    /// What is wrong and what helps, in plain words.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Warning {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
