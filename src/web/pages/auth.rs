//! Sign in and out.
//!
//! The sign-in form's CSRF token lives in a cookie of its own (double submit), not in a
//! session: a visitor who only opens the sign-in page leaves no session row behind.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::{new_csrf_token, secrets_match, verify_password_bounded};
use crate::error::{AppError, Result};
use crate::web::csrf;
use crate::web::csrf::to_app_error;
use crate::web::extract::{ClientIp, USER_KEY};
use crate::web::metrics::LoginFailure;
use crate::web::redirect::safe_next;
use crate::web::render::{html_with_status, Layout};
use crate::web::AppState;

/// The cookie holding the sign-in form's token.
const LOGIN_CSRF_COOKIE: &str = "tally_login_csrf";

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

/// The sign-in form's token from its cookie, if the browser sent one.
fn login_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LOGIN_CSRF_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The sign-in page with its token set in the cookie and in the form.
fn login_response(
    state: &AppState,
    status: StatusCode,
    token: String,
    page: LoginPage,
) -> Response {
    let page = LoginPage {
        layout: Layout {
            csrf: token.clone(),
            ..Layout::default()
        },
        ..page
    };
    let mut response = html_with_status(status, &page);
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Response {
    let token = login_token(&headers).unwrap_or_else(new_csrf_token);
    let page = LoginPage {
        layout: Layout::default(),
        next: safe_next(query.next.as_deref()),
        name: String::new(),
        error: None,
    };
    login_response(&state, StatusCode::OK, token, page)
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
    ClientIp(ip): ClientIp,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    let token = login_token(&headers)
        .filter(|token| secrets_match(token, &form.csrf))
        .ok_or_else(|| {
            AppError::Forbidden(
                "the sign-in form is out of date or cookies are off; reload the page and try again"
                    .into(),
            )
        })?;
    let next = safe_next(form.next.as_deref());
    let name = form.name.trim().to_string();
    let refuse = |status: StatusCode, error: String| {
        let page = LoginPage {
            layout: Layout::default(),
            next: next.clone(),
            name: form.name.clone(),
            error: Some(error),
        };
        login_response(&state, status, token.clone(), page)
    };
    if let Err(e) = state.limits.check_login(&name, ip) {
        tracing::warn!(account = %name, %ip, "sign-in refused: too many attempts");
        state.metrics.login_failed(LoginFailure::RateLimited);
        let mut response = refuse(e.status(), e.public_message());
        if let AppError::TooManyRequests { retry_after, .. } = e {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        return Ok(response);
    }
    let credentials = state.store.credentials(&name).await?;
    let stored = credentials.as_ref().and_then(|c| c.password_hash.clone());
    let ok = verify_password_bounded(form.password.clone(), stored).await?;
    let user = match (ok, credentials) {
        (true, Some(credentials)) => credentials.user,
        _ => {
            tracing::warn!(account = %name, %ip, "failed sign-in");
            state.metrics.login_failed(LoginFailure::BadCredentials);
            return Ok(refuse(
                StatusCode::UNAUTHORIZED,
                "Wrong name or password.".into(),
            ));
        }
    };
    sign_in(&session, user.id).await?;
    if user.is_admin() {
        let idle = time::Duration::minutes(state.config.admin_idle_minutes);
        session.set_expiry(Some(tower_sessions::Expiry::OnInactivity(idle)));
    }
    tracing::info!(user = %user.name, %ip, "signed in");
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
