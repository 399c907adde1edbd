//! How an `AppError` becomes an HTTP answer: JSON `{"error": ...}` for the API, an HTML
//! page (or a redirect to the login page) for the browser.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Serialize;

use super::render::ErrorPage;
use crate::error::AppError;

/// Carried on error responses so the page layer can render them as HTML.
#[derive(Clone, Debug)]
struct ErrorInfo {
    message: String,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of every API error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
    /// The input at fault (a field, a parameter, a line), for 422 answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
        let status = self.status();
        let message = self.public_message();
        let field = match &self {
            AppError::Invalid(invalid) => Some(invalid.field.clone()),
            _ => None,
        };
        let body = ErrorBody {
            error: message.clone(),
            field,
        };
        let mut response = (status, Json(body)).into_response();
        if let AppError::TooManyRequests { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        response.extensions_mut().insert(ErrorInfo { message });
        response
    }
}

/// Fallback for unknown routes.
pub async fn not_found() -> AppError {
    AppError::NotFound("no such page".into())
}

const MAX_ERROR_BODY: usize = 64 * 1024;

/// Gives every error one shape per audience. API errors that come from axum itself (a bad
/// path parameter, a body over the limit) are wrapped as JSON; page errors become an HTML
/// page, and a page that needs a login redirects to it.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let response = next.run(request).await;
    let status = response.status();
    if super::probes::PATHS.contains(&path.as_str()) {
        return response;
    }
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_api = path.starts_with("/api/");
    let info = response.extensions().get::<ErrorInfo>().cloned();
    if is_api {
        return match info {
            Some(_) => response,
            None => json_from_plain(response).await,
        };
    }
    if is_html(&response) {
        return response;
    }
    if status == StatusCode::UNAUTHORIZED {
        return Redirect::to(&login_url(&path_and_query)).into_response();
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let message = match info {
        Some(info) => info.message,
        None => body_text(response).await,
    };
    let mut page = ErrorPage::response(status, message);
    if let Some(retry_after) = retry_after {
        page.headers_mut().insert(header::RETRY_AFTER, retry_after);
    }
    page
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

async fn body_text(response: Response) -> String {
    let status = response.status();
    let bytes = to_bytes(response.into_body(), MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string()
    } else {
        text
    }
}

async fn json_from_plain(response: Response) -> Response {
    let status = response.status();
    let message = body_text(response).await;
    let body = ErrorBody {
        error: message.clone(),
        field: None,
    };
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(ErrorInfo { message });
    response
}

/// The login page, with a way back to where the person was going.
pub fn login_url(next: &str) -> String {
    let mut url = String::from("/login?next=");
    url.push_str(&percent_encode(next));
    url
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An empty body with a status, for answers like 204.
pub fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}
