use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::verify_password;
use crate::error::{AppError, Result};
use crate::web::csrf;
use crate::web::csrf::to_app_error;
use crate::web::extract::USER_KEY;
use crate::web::render::{html, html_with_status, Layout};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    name: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(session: Session, Query(query): Query<NextQuery>) -> Result<Response> {
    let layout = Layout::anonymous(&session).await?;
    let page = LoginPage {
        layout,
        next: safe_next(query.next.as_deref()).to_string(),
        name: String::new(),
        error: None,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    name: String,
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let credentials = state.store.credentials(form.name.trim()).await?;
    let stored = credentials.as_ref().and_then(|c| c.password_hash.clone());
    let password = form.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, stored.as_deref()))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("password check: {e}")))?;
    let next = safe_next(form.next.as_deref()).to_string();
    let user = match (ok, credentials) {
        (true, Some(credentials)) => credentials.user,
        _ => {
            let page = LoginPage {
                layout: Layout::anonymous(&session).await?,
                next,
                name: form.name,
                error: Some("Wrong name or password.".into()),
            };
            return Ok(html_with_status(StatusCode::UNAUTHORIZED, &page));
        }
    };
    // A new session id at login, so an id planted before it is worth nothing after.
    session.cycle_id().await.map_err(to_app_error)?;
    session
        .insert(USER_KEY, user.id)
        .await
        .map_err(to_app_error)?;
    csrf::renew(&session).await?;
    tracing::info!(user = %user.name, "signed in");
    Ok(Redirect::to(&next).into_response())
}

/// Starts a signed-in session: a new session id, so an id planted before it is worth
/// nothing after, and a new CSRF token.
pub async fn sign_in(session: &Session, user_id: i64) -> Result<()> {
    session.cycle_id().await.map_err(to_app_error)?;
    session
        .insert(USER_KEY, user_id)
        .await
        .map_err(to_app_error)?;
    csrf::renew(session).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn logout(session: Session, Form(form): Form<LogoutForm>) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    session.flush().await.map_err(to_app_error)?;
    Ok(Redirect::to("/login"))
}

/// Where to go after login: a path on this site only, never `//host` or a full URL.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_is_local_only() {
        assert_eq!(super::safe_next(Some("/rate/1")), "/rate/1");
        assert_eq!(super::safe_next(Some("//evil.example")), "/");
        assert_eq!(super::safe_next(Some("https://evil.example")), "/");
        assert_eq!(super::safe_next(Some("/\\evil.example")), "/");
        assert_eq!(super::safe_next(None), "/");
    }
}
