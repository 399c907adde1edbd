//! Process feedback: keys (admin), events (feedback key), source health (admin).

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::hash_token;
use crate::domain::feedback::{assess, parse_body, SourceHealth};
use crate::domain::now_ms;
use crate::domain::text::check_text;
use crate::error::{AppError, Result};
use crate::store::feedback::SourceConfig;
use crate::web::extract::{content_type, Admin, JsonBody};
use crate::web::AppState;

/// The project a request's feedback key writes to.
pub struct FeedbackKey(pub i64);

impl FromRequestParts<AppState> for FeedbackKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(AppError::Unauthorized)?;
        let project = state
            .store
            .feedback_key_project(&hash_token(key))
            .await?
            .ok_or(AppError::Unauthorized)?;
        Ok(FeedbackKey(project))
    }
}

/// 201 `{"key": "..."}`: the only time the key is shown; only its hash is stored.
pub async fn create_key(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<(StatusCode, Json<Value>)> {
    state.store.project(pid).await?;
    let (id, key) = state.store.create_feedback_key(pid).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "key": key }))))
}

fn is_batch(headers: &HeaderMap, text: &str) -> bool {
    let ndjson = content_type(headers)
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/x-ndjson"));
    ndjson || text.trim_start().starts_with('[')
}

/// One event (201 accepted, 200 duplicate, 422 refused) or a batch (200 with counts and
/// the reason for each refused line).
pub async fn receive(
    State(state): State<AppState>,
    FeedbackKey(key_project): FeedbackKey,
    Path(pid): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    if key_project != pid {
        return Err(AppError::Forbidden(
            "this feedback key belongs to another project".into(),
        ));
    }
    let project = state.store.project(pid).await?;
    let text = std::str::from_utf8(&body).map_err(|e| {
        let line = body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        AppError::invalid(format!("line {line}"), "is not valid UTF-8")
    })?;
    let batch = is_batch(&headers, text);
    let lines = parse_body(text, now_ms()).map_err(|e| AppError::TooLarge(e.to_string()))?;
    if lines.is_empty() {
        return Err(AppError::invalid("body", "no events"));
    }
    let result = state.store.ingest_feedback(&project, lines).await?;
    if batch {
        return Ok(Json(result).into_response());
    }
    let status = if result.accepted == 1 {
        StatusCode::CREATED
    } else if result.duplicate == 1 {
        StatusCode::OK
    } else {
        let reason = result
            .refusals
            .first()
            .map(|r| r.reason.clone())
            .unwrap_or_else(|| "refused".into());
        let mut body = serde_json::to_value(&result).unwrap_or_default();
        body["error"] = Value::String(reason);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    };
    Ok((status, Json(result)).into_response())
}

#[derive(Serialize)]
pub struct SourceView {
    #[serde(flatten)]
    health: SourceHealth,
    mapping: std::collections::HashMap<String, Value>,
}

/// Read by the project page's template.
impl SourceView {
    pub fn source(&self) -> &str {
        &self.health.source
    }
    pub fn events_total(&self) -> i64 {
        self.health.events_total
    }
    pub fn events_per_hour(&self) -> f64 {
        self.health.events_per_hour
    }
    pub fn refused_share(&self) -> Option<f64> {
        self.health.refused_share
    }
    pub fn last_event_at(&self) -> Option<i64> {
        self.health.last_event_at
    }
    pub fn flags(&self) -> &[String] {
        &self.health.flags
    }
}

/// Per source: events per hour, the last event, the refused share, and the flags
/// `silent` and `drifting`.
pub async fn sources(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<Json<Value>> {
    state.store.project(pid).await?;
    Ok(Json(json!({ "sources": source_views(&state, pid).await? })))
}

pub async fn source_views(state: &AppState, pid: i64) -> Result<Vec<SourceView>> {
    let now = now_ms();
    let configs = state.store.sources(pid).await?;
    let counts = state.store.source_counts(pid, now).await?;
    Ok(counts
        .into_iter()
        .map(|c| {
            let mapping = configs
                .iter()
                .find(|s| s.source == c.source)
                .map(|s| s.mapping.clone())
                .unwrap_or_default();
            SourceView {
                health: assess(c, now),
                mapping,
            }
        })
        .collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    source: String,
    #[serde(default)]
    mapping: std::collections::HashMap<String, Value>,
    expected_interval_seconds: Option<i64>,
}

/// The longest silence a source may be expected to keep: a year.
const MAX_INTERVAL_SECONDS: i64 = 366 * 86_400;

/// Most values one source's mapping may translate.
const MAX_MAPPING_ENTRIES: usize = 500;

/// Sets a source's value mapping and expected interval.
pub async fn configure_source(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
    JsonBody(body): JsonBody<SourceBody>,
) -> Result<(StatusCode, Json<SourceConfig>)> {
    let project = state.store.project(pid).await?;
    if body.source.is_empty() || body.source.len() > 100 {
        return Err(AppError::invalid("source", "must be 1 to 100 bytes"));
    }
    if body
        .expected_interval_seconds
        .is_some_and(|s| !(1..=MAX_INTERVAL_SECONDS).contains(&s))
    {
        return Err(AppError::invalid(
            "expected_interval_seconds",
            format!("must be between 1 and {MAX_INTERVAL_SECONDS} (a year)"),
        ));
    }
    if body.mapping.len() > MAX_MAPPING_ENTRIES {
        return Err(AppError::invalid(
            "mapping",
            format!("give at most {MAX_MAPPING_ENTRIES} entries"),
        ));
    }
    for (from, to) in &body.mapping {
        check_text("mapping", from, 200)?;
        project
            .schema()
            .parse(to)
            .map_err(|e| AppError::invalid("mapping", format!("{from:?}: {}", e.reason)))?;
    }
    let config = SourceConfig {
        source: body.source,
        mapping: body.mapping,
        expected_interval_seconds: body.expected_interval_seconds,
    };
    state.store.upsert_source(pid, &config).await?;
    Ok((StatusCode::CREATED, Json(config)))
}
