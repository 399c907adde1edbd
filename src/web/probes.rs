//! For machines: `/healthz` (the process is up), `/readyz` (the database answers and its
//! schema is current) and `/metrics` (Prometheus). Their answers are theirs as they are:
//! no HTML error page, no redirect to the login page.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::extract::Admin;
use super::routes::{Access, Routes};
use super::AppState;
use crate::auth::secrets_match;
use crate::domain::now_ms;
use crate::error::{AppError, Result};

/// Paths whose answers the error layer leaves alone.
pub const PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

pub fn routes() -> Routes {
    Routes::default()
        .get("/healthz", Access::Public, healthz)
        .get("/readyz", Access::Public, readyz)
        .get("/metrics", Access::Scraper, metrics)
}

/// 200 while the process serves requests; it touches nothing else, so a slow database
/// does not get a live process restarted (that is `/readyz`'s business).
async fn healthz() -> &'static str {
    "ok"
}

/// 200 `{"status":"ready"}` when the database answers and every migration this binary
/// embeds is applied; 503 `{"status":"not ready","reason":...}` otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    match not_ready_because(&state).await {
        None => Json(json!({"status": "ready"})).into_response(),
        Some(reason) => {
            tracing::warn!(reason, "not ready");
            let body = json!({"status": "not ready", "reason": reason});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

async fn not_ready_because(state: &AppState) -> Option<String> {
    if state.store.ping().await.is_err() {
        return Some("the database does not answer".into());
    }
    match state.store.pending_migrations().await {
        Ok(0) => None,
        Ok(n) => Some(format!("{n} migration(s) not applied")),
        Err(_) => Some("the migrations table cannot be read".into()),
    }
}

/// Who may scrape: the bearer token given by `--metrics-token`, or an admin.
pub struct Scraper;

impl FromRequestParts<AppState> for Scraper {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let (Some(given), Some(token)) = (bearer, &state.config.metrics_token) {
            if secrets_match(given, &token.0) {
                return Ok(Scraper);
            }
        }
        Admin::from_request_parts(parts, state)
            .await
            .map(|_| Scraper)
    }
}

/// The Prometheus text format; the gauges are read from the database now.
async fn metrics(State(state): State<AppState>, _: Scraper) -> Result<Response> {
    let load = state.store.project_load(now_ms()).await?;
    state.metrics.set_gauges(&load, state.store.pool_usage());
    state.metrics.set_group_commit(state.store.group_commit());
    state
        .metrics
        .set_report_inputs(|source| state.store.report_inputs_served(source));
    let text = state
        .metrics
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering metrics: {e}")))?;
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}
