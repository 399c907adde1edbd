//! The one error type of tally. The web layer turns it into the right HTTP answer
//! (src/web/error.rs); the CLI prints it as one line.

use crate::domain::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("sign in first")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many requests; `retry_after` seconds until the next one may pass.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        AppError::Invalid(Invalid::new(field, reason))
    }

    /// The message a user may see; internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal error; the server log has the details".into(),
            other => other.to_string(),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("database error"))
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("database error"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    /// A task the request handed work to panicked or was cancelled.
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("a background task stopped"))
    }
}

impl From<sqlx::migrate::MigrateError> for AppError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("running migrations"))
    }
}

impl From<crate::domain::gate::Refusal> for AppError {
    fn from(refusal: crate::domain::gate::Refusal) -> Self {
        use crate::domain::gate::Refusal;
        match refusal {
            Refusal::Forbidden(reason) => AppError::Forbidden(reason),
            Refusal::Conflict(reason) => AppError::Conflict(reason),
        }
    }
}

impl From<crate::domain::media::Refusal> for AppError {
    fn from(refusal: crate::domain::media::Refusal) -> Self {
        use crate::domain::media::Refusal;
        match refusal {
            Refusal::TooLarge(reason) => AppError::TooLarge(reason),
            Refusal::Unsupported(reason) => AppError::UnsupportedMediaType(reason),
            Refusal::Invalid { field, reason } => AppError::invalid(field, reason),
        }
    }
}

impl From<crate::auth::HashingError> for AppError {
    fn from(e: crate::auth::HashingError) -> Self {
        match e {
            crate::auth::HashingError::Busy => AppError::TooManyRequests {
                message: e.to_string(),
                retry_after: 5,
            },
            crate::auth::HashingError::Failed(_) => AppError::Internal(anyhow::Error::new(e)),
        }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// True when a database error is a unique-key violation (both backends).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// True when an error of SQLite's own connection (`rusqlite`) is a unique-key violation.
pub fn is_sqlite_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(failure, _)
        if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}
