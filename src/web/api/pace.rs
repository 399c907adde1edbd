//! Cost, pace and health (admins): the hourly rates per pool, the spend, pace, finish and
//! savings they give, and the project's health over time.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::audit::Action;
use crate::domain::health::Health;
use crate::domain::now_ms;
use crate::domain::pace::{Pace, PoolRates};
use crate::error::Result;
use crate::web::extract::{JsonBody, Origin, ProjectAdmin};
use crate::web::AppState;

use super::feedback::{source_views, SourceView};
use super::openapi::responses::*;

/// Hourly rates per pool. Only describes the body: it is read key by key in the domain
/// (`PoolRates::from_json`), so that a refusal names the pool at fault.
#[allow(dead_code)]
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RatesBody {
    /// Per hour, at least 0; left out means 0.
    generalist: Option<f64>,
    expert: Option<f64>,
    user: Option<f64>,
    /// A three-letter code; `USD` when left out.
    currency: Option<String>,
}

/// The project's hourly rates per pool (all 0 in USD until set).
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/rates",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The rates", body = PoolRates),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn rates(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<PoolRates>> {
    Ok(Json(state.store.pool_rates(project.id).await?))
}

/// Sets the hourly rates per pool (a pool left out costs nothing); the audit log records
/// `pool_rates.changed` with before and after.
#[utoipa::path(
    put,
    path = "/api/v1/projects/{pid}/rates",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    request_body = RatesBody,
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The rates now", body = PoolRates),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn set_rates(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<PoolRates>> {
    let rates = PoolRates::from_json(&body)?;
    let entry = origin
        .entry(&admin, Action::PoolRatesChanged)
        .project(project.id);
    state
        .store
        .set_pool_rates(project.id, &rates, entry)
        .await?;
    Ok(Json(rates))
}

/// Labels per hour (trailing), median time per label and spend per pool, spend to finish,
/// the finish at the trailing pace, and what dynamic overlap and escalation saved.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/pace",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "Cost and pace", body = Pace),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn project_pace(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<Pace>> {
    Ok(Json(state.store.pace(&project, now_ms()).await?))
}

/// The project's health over time and its feedback sources.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProjectHealth {
    /// Null before the first label or feedback event.
    pub health: Option<Health>,
    pub sources: Vec<SourceView>,
}

/// Per window (hours while the project is young, then days): labels, active raters, the
/// label distribution with a drift flag, agreement, feedback events; and each source's health.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/health",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "Health over time", body = ProjectHealth),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn project_health(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<ProjectHealth>> {
    let health = state.store.health(&project, now_ms()).await?;
    let sources = source_views(&state, project.id).await?;
    Ok(Json(ProjectHealth { health, sources }))
}
