//! Plain types and rules of tally: no HTTP, no SQL.
//! The web layer and the store both speak these types; tests hammer them directly.

pub mod anchoring;
pub mod audit;
pub mod export;
pub mod feedback;
pub mod gate;
pub mod health;
pub mod import;
pub mod import_check;
pub mod kinds;
pub mod label_studio;
pub mod links;
pub mod media;
pub mod media_zip;
pub mod pace;
pub mod people;
pub mod policy;
pub mod presentation;
pub mod project;
pub mod project_edit;
pub mod report;
pub mod report_keeping;
pub mod report_kinds;
pub mod report_versions;
pub mod review;
pub mod text;
pub mod user;
pub mod webhook;

use std::fmt;

/// A rule broken by input, with the field (or line) it concerns and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for Invalid {}

/// A stored timestamp (epoch milliseconds) as RFC 3339 text in UTC.
pub fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch: the one timestamp format of tally's storage.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
