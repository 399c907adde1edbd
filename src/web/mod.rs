//! The HTTP layer: thin handlers over the domain and the store.

pub mod api;
pub mod assets;
pub mod charts;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod flash;
pub mod limits;
pub mod markdown;
pub mod media;
pub mod metrics;
pub(crate) mod pages;
pub mod probes;
pub mod redirect;
pub mod render;
pub mod request_id;
pub mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::store::sessions::DbSessionStore;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub limits: Arc<limits::Limits>,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> Self {
        AppState {
            store,
            limits: Arc::new(limits::Limits::new(&config)),
            metrics: Arc::new(metrics::Metrics::new()),
            config: Arc::new(config),
        }
    }
}

/// The Content-Security-Policy of every answer, unless a page widens `img-src`.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy for a page that shows images from a project's media origins as well. The
/// origins were checked when the project was made (scheme, host and port only); one that
/// would not fit in a header leaves the default policy, which shows no outside image.
pub fn csp_with_images(origins: &[String]) -> HeaderValue {
    let safe = origins
        .iter()
        .all(|o| crate::domain::presentation::parse_origin(o).as_deref() == Some(o.as_str()));
    if origins.is_empty() || !safe {
        return HeaderValue::from_static(CSP);
    }
    let widened = CSP.replacen(
        "img-src 'self' data:",
        &format!("img-src 'self' data: {}", origins.join(" ")),
        1,
    );
    HeaderValue::from_str(&widened).unwrap_or_else(|_| HeaderValue::from_static(CSP))
}

/// The whole application: pages, API, static files, sessions and error rendering.
pub fn app(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.store.clone()))
        .with_name("tally_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(
            state.config.session_days,
        )));
    let (routes, _) = routes::all_routes().into_parts();
    routes
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn(error::render_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            extract::expire_caches_after_writes,
        ))
        .layer(sessions)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        // Links carry secrets (open-link tokens, signed user ids): never send them on.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // Pages and answers can show passwords, keys and link secrets; nothing is stored
        // by browsers or proxies unless a route says it may be (the static assets do).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track_requests,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::request_span))
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Keeps, in the background, the report of the project being labelled prepared (see
/// [`api::ReportKeeper`]); the first look, once the server starts, prepares the report of
/// the project labelled last.
pub fn spawn_report_keeping(
    store: Store,
    keeping: crate::domain::report_keeping::Keeping,
) -> tokio::task::JoinHandle<()> {
    store.spawn_background(move |store| api::ReportKeeper::new(store, keeping).run())
}

/// Background chores of a running server, hourly: expired sessions are deleted and rate
/// limiters forget the keys that have fully recovered; and every minute, projects' piled-up
/// progress rows are folded.
pub fn spawn_housekeeping(state: AppState) {
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = store.fold_all_progress().await {
                tracing::warn!(error = %e, "folding progress rows failed");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if let Err(e) = state.store.delete_expired_sessions().await {
                tracing::warn!(error = %e, "deleting expired sessions failed");
            }
            state.limits.prune();
        }
    });
}
