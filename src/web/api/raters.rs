//! Admin views of a project's raters and queue, and the problem-report flow.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use crate::domain::audit::Action;
use crate::domain::text::{admin_pause_reason, check_text, MAX_NOTE_CHARS};
use crate::error::{AppError, Result};
use crate::store::raters::{Queue, RaterStanding};
use crate::web::error::empty;
use crate::web::extract::{Admin, JsonBody, Origin, ProjectAdmin, ProjectRater};
use crate::web::AppState;

use super::openapi::responses::*;

/// The project's items by state, overall and per pool.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/queue",
    tag = "raters",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "Items by state", body = Queue),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<Json<Queue>> {
    state.store.project(pid).await?;
    Ok(Json(state.store.queue(pid).await?))
}

/// Each rater's standing in the project: labels, gold record, pause.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/raters",
    tag = "raters",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The raters who worked on the project", body = Vec<RaterStanding>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn raters(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<Json<Vec<RaterStanding>>> {
    state.store.project(pid).await?;
    Ok(Json(state.store.rater_standings(pid).await?))
}

/// Lets a paused rater work on the project again: 204.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/raters/{rid}/unpause",
    tag = "raters",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("rid" = i64, Path, description = "Rater id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The rater may work again"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn unpause(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path((pid, rid)): Path<(i64, i64)>,
) -> Result<Response> {
    state.store.project(pid).await?;
    let entry = origin.entry(&admin, Action::RaterResumed);
    state.store.unpause_rater(pid, rid, &entry).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Why the rater is paused; shown to them.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseBody {
    reason: Option<String>,
}

/// An admin pauses a rater in a project: 204. The rater's next request is refused with the
/// reason, and so is every label they try to give.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/raters/{rid}/pause",
    tag = "raters",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("rid" = i64, Path, description = "Rater id")
    ),
    request_body = PauseBody,
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The rater is paused"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn pause(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    Path((_, rid)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<PauseBody>,
) -> Result<Response> {
    let reason = admin_pause_reason(body.reason.as_deref())?;
    let entry = origin.entry(&admin, Action::RaterPaused);
    state
        .store
        .pause_rater(project.id, rid, &reason, &entry)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub const REPORT_REASONS: [&str; 4] = ["broken", "ambiguous", "offensive", "personal_data"];

/// A problem with an item: one of `broken`, `ambiguous`, `offensive`, `personal_data`, and a note.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    reason: String,
    note: Option<String>,
}

pub fn check_reason(reason: &str) -> Result<()> {
    if REPORT_REASONS.contains(&reason) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "reason",
            format!("use one of: {}", REPORT_REASONS.join(", ")),
        ))
    }
}

/// A rater reports a problem with an item: 204.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/items/{iid}/report",
    tag = "labelling",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("iid" = i64, Path, description = "Item id")
    ),
    request_body = ReportBody,
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The report was recorded"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn report_item(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    Path((_, iid)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<ReportBody>,
) -> Result<Response> {
    check_reason(&body.reason)?;
    if let Some(note) = &body.note {
        check_text("note", note, MAX_NOTE_CHARS)?;
    }
    state
        .store
        .report_item(&project, iid, rater.id, &body.reason, body.note.as_deref())
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// An admin returns a held-back item to the queue: 204.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/items/{iid}/release",
    tag = "raters",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("iid" = i64, Path, description = "Item id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The item is back in the queue"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn release_item(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path((pid, iid)): Path<(i64, i64)>,
) -> Result<Response> {
    let entry = origin.entry(&admin, Action::ItemReleased);
    state.store.release_item(pid, iid, &entry).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
