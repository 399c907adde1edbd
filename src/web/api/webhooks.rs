//! A project's webhooks (admins): make one (its secret shown once), list, remove, send a
//! test call, and read the delivery log.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::auth::random_hex;
use crate::domain::audit::Action;
use crate::domain::webhook::WebhookSpec;
use crate::error::{AppError, Result};
use crate::store::webhooks::{Delivery, Webhook};
use crate::web::error::empty;
use crate::web::extract::{JsonBody, Origin, ProjectAdmin};
use crate::web::AppState;

use super::openapi::responses::*;

/// A new webhook with its signing secret, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewWebhookAnswer {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub batch_size: i64,
    pub created_at: i64,
    /// The HMAC-SHA256 key of `X-Tally-Signature`; no page or call shows it again.
    pub secret: String,
}

/// The test call, queued.
#[derive(Serialize, utoipa::ToSchema)]
pub struct QueuedPing {
    pub delivery_id: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// How many deliveries, newest first (default 50, at most 500).
    limit: Option<i64>,
}

/// A fresh secret for signing a webhook's calls.
pub fn new_webhook_secret() -> String {
    format!("whsec_{}", random_hex(32))
}

/// 201: makes a webhook; the answer holds its secret, this once.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/webhooks",
    tag = "webhooks",
    params(("pid" = i64, Path, description = "Project id")),
    request_body = WebhookSpec,
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The webhook and its secret", body = NewWebhookAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    JsonBody(spec): JsonBody<WebhookSpec>,
) -> Result<(StatusCode, Json<NewWebhookAnswer>)> {
    let hook = spec.validate()?;
    let secret = new_webhook_secret();
    let entry = origin.entry(&admin, Action::WebhookCreated);
    let made = state
        .store
        .create_webhook(project.id, &hook, &secret, &entry)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewWebhookAnswer {
            id: made.id,
            url: made.url,
            events: made.events,
            batch_size: made.batch_size,
            created_at: made.created_at,
            secret,
        }),
    ))
}

/// The project's webhooks, without their secrets.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/webhooks",
    tag = "webhooks",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The webhooks", body = Vec<Webhook>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<Vec<Webhook>>> {
    Ok(Json(state.store.webhooks(project.id).await?))
}

/// 204: the webhook is removed, with its deliveries; pending ones are not sent.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{pid}/webhooks/{wid}",
    tag = "webhooks",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("wid" = i64, Path, description = "Webhook id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The webhook is gone"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    Path((_, wid)): Path<(i64, i64)>,
) -> Result<Response> {
    let entry = origin.entry(&admin, Action::WebhookDeleted);
    if !state.store.delete_webhook(project.id, wid, &entry).await? {
        return Err(AppError::not_found("webhook"));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// 202: queues a `ping` to the webhook; the delivery log shows how it went.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/webhooks/{wid}/test",
    tag = "webhooks",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("wid" = i64, Path, description = "Webhook id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 202, description = "The ping is queued", body = QueuedPing),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn test_webhook(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
    Path((_, wid)): Path<(i64, i64)>,
) -> Result<(StatusCode, Json<QueuedPing>)> {
    let delivery_id = state.store.enqueue_ping(project.id, wid).await?;
    Ok((StatusCode::ACCEPTED, Json(QueuedPing { delivery_id })))
}

/// The webhook's delivery log, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/webhooks/{wid}/deliveries",
    tag = "webhooks",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("wid" = i64, Path, description = "Webhook id"),
        LogQuery
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The deliveries", body = Vec<Delivery>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
    Path((_, wid)): Path<(i64, i64)>,
    Query(query): Query<LogQuery>,
) -> Result<Json<Vec<Delivery>>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid("limit", "must be 1 to 500"));
    }
    state.store.require_webhook(project.id, wid).await?;
    Ok(Json(
        state
            .store
            .webhook_deliveries(project.id, Some(wid), limit)
            .await?,
    ))
}
