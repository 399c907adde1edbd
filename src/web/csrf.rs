//! CSRF tokens for HTML forms: one random token per session, checked on every form that
//! changes state.

use tower_sessions::Session;

use crate::auth::{new_csrf_token, secrets_match};
use crate::error::{AppError, Result};

const CSRF_KEY: &str = "csrf";

pub(crate) fn to_app_error(e: tower_sessions::session::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("session: {e}"))
}

/// The session's token, made on first use.
pub async fn token(session: &Session) -> Result<String> {
    if let Some(token) = session
        .get::<String>(CSRF_KEY)
        .await
        .map_err(to_app_error)?
    {
        return Ok(token);
    }
    renew(session).await
}

/// Gives the session a new token (at login, with the new session id).
pub async fn renew(session: &Session) -> Result<String> {
    let token = new_csrf_token();
    session
        .insert(CSRF_KEY, &token)
        .await
        .map_err(to_app_error)?;
    Ok(token)
}

/// Refuses a form whose token does not match the session's.
pub async fn verify(session: &Session, submitted: &str) -> Result<()> {
    let expected = session
        .get::<String>(CSRF_KEY)
        .await
        .map_err(to_app_error)?;
    match expected {
        Some(expected) if secrets_match(&expected, submitted) => Ok(()),
        _ => Err(AppError::Forbidden(
            "the form's security token is missing or out of date; reload the page and try again"
                .into(),
        )),
    }
}
