//! A request id on every request: taken from `X-Request-Id` when the caller (or a proxy)
//! sent a sane one, made otherwise; sent back in the answer's header and carried by the
//! request's tracing span, so every log line of the request names it.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a caller; a longer one is replaced.
const MAX_LEN: usize = 64;

/// Whether an incoming id may be used as it is: short, printable ASCII, no spaces (it
/// goes into log lines and a header).
pub fn is_sane(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

/// 16 hex characters.
fn new_id() -> HeaderValue {
    HeaderValue::from_str(&crate::auth::random_hex(8))
        .unwrap_or_else(|_| HeaderValue::from_static("0000000000000000"))
}

/// Middleware (outside the trace layer): settles the request's id in its headers for the
/// span and puts it on the answer.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| v.to_str().is_ok_and(is_sane))
        .cloned()
        .unwrap_or_else(new_id);
    request.headers_mut().insert(X_REQUEST_ID, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(X_REQUEST_ID, id);
    response
}

/// The span of one request: its method, route template and id. Not the raw path, which can
/// hold link secrets.
pub fn request_span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", method = %request.method(), route, request_id = id)
}

#[cfg(test)]
mod tests {
    use super::is_sane;

    #[test]
    fn only_short_visible_ascii_ids_are_kept() {
        assert!(is_sane("abc-123_XYZ.4"));
        assert!(is_sane(&"a".repeat(64)));
        assert!(!is_sane(&"a".repeat(65)));
        assert!(!is_sane(""));
        assert!(!is_sane("has space"));
        assert!(!is_sane("tab\there"));
        assert!(!is_sane("é"));
    }
}
