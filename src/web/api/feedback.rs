//! Process feedback: keys (admin), events (feedback key), source health (admin).

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::hash_token;
use crate::domain::audit::Action;
use crate::domain::feedback::{assess, parse_body, SourceHealth};
use crate::domain::now_ms;
use crate::domain::text::check_text;
use crate::error::{AppError, Result};
use crate::store::feedback::{BatchResult, SourceConfig};
use crate::web::error::ErrorBody;
use crate::web::extract::{content_type, Admin, JsonBody, Origin};
use crate::web::AppState;

use super::openapi::responses::*;

/// A new feedback key, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewFeedbackKey {
    pub id: i64,
    pub key: String,
}

/// One event or a JSON array of events. Only describes the body: it is read field by field
/// in the domain (`parse_body`), so that each refused line gets its own reason.
#[allow(dead_code)]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FeedbackEvents {
    One(FeedbackEventBody),
    Batch(Vec<FeedbackEventBody>),
}

/// One process-feedback event.
#[allow(dead_code)]
#[derive(Deserialize, utoipa::ToSchema)]
pub struct FeedbackEventBody {
    /// Unique per source: a repeated event is a duplicate, not a second event.
    event_id: String,
    /// The item's external id.
    external_id: String,
    /// The value the source gave, mapped onto a label by the source's mapping.
    value: String,
    /// Where the event comes from (a model, a product signal).
    source: String,
    /// Epoch milliseconds or an RFC 3339 time; the time received when left out.
    occurred_at: Option<Value>,
    /// How much the event counts, at least 0 (1 when left out).
    weight: Option<f64>,
    /// Anything that describes the circumstances, at most 4 KiB as JSON.
    #[schema(value_type = Option<Object>)]
    context: Option<Value>,
}

/// A single event that was refused: why, and the batch counts.
#[derive(Serialize)]
pub struct RefusedEvent {
    pub error: String,
    #[serde(flatten)]
    pub result: BatchResult,
}

/// The project's feedback sources and how each is doing.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Sources {
    pub sources: Vec<SourceView>,
}

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
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/feedback-keys",
    tag = "feedback",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The new key", body = NewFeedbackKey),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn create_key(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path(pid): Path<i64>,
) -> Result<(StatusCode, Json<NewFeedbackKey>)> {
    state.store.project(pid).await?;
    let entry = origin.entry(&admin, Action::FeedbackKeyCreated);
    let (id, key) = state.store.create_feedback_key(pid, &entry).await?;
    Ok((StatusCode::CREATED, Json(NewFeedbackKey { id, key })))
}

fn is_batch(headers: &HeaderMap, text: &str) -> bool {
    let ndjson = content_type(headers)
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/x-ndjson"));
    ndjson || text.trim_start().starts_with('[')
}

/// One event (201 accepted, 200 duplicate, 422 refused) or a batch (200 with counts and
/// the reason for each refused line).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/feedback",
    tag = "feedback",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    request_body(
        description = "One event, a JSON array of events, or NDJSON lines",
        content(
            (FeedbackEvents = "application/json"),
            (String = "application/x-ndjson")
        )
    ),
    security(("feedback_key" = [])),
    responses(
        (status = 201, description = "The event was accepted", body = BatchResult),
        (status = 200, description = "A batch's counts, or a single event that was a duplicate", body = BatchResult),
        (status = 422, description = "The body held no events, or its single event was refused; then the body also carries the counts of a batch answer", body = ErrorBody),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
    )
)]
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
    state.metrics.feedback_received(project.id, &result);
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
        let body = RefusedEvent {
            error: reason,
            result,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
    };
    Ok((status, Json(result)).into_response())
}

/// A source's health and its value mapping.
#[derive(Serialize, utoipa::ToSchema)]
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
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/sources",
    tag = "feedback",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "Each source's health", body = Sources),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn sources(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<Json<Sources>> {
    state.store.project(pid).await?;
    let sources = source_views(&state, pid).await?;
    Ok(Json(Sources { sources }))
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

/// A source's value mapping (source value to label value) and how often it should speak.
#[derive(Deserialize, utoipa::ToSchema)]
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
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/sources",
    tag = "feedback",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    request_body = SourceBody,
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The source's settings", body = SourceConfig),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
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
