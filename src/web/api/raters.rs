//! Admin views of a project's raters and queue, and the problem-report flow.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use crate::domain::text::{admin_pause_reason, check_text, MAX_NOTE_CHARS};
use crate::error::{AppError, Result};
use crate::store::raters::{Queue, RaterStanding};
use crate::web::error::empty;
use crate::web::extract::{Admin, JsonBody, ProjectAdmin, ProjectRater};
use crate::web::AppState;

pub async fn queue(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<Json<Queue>> {
    state.store.project(pid).await?;
    Ok(Json(state.store.queue(pid).await?))
}

pub async fn raters(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<Json<Vec<RaterStanding>>> {
    state.store.project(pid).await?;
    Ok(Json(state.store.rater_standings(pid).await?))
}

pub async fn unpause(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path((pid, rid)): Path<(i64, i64)>,
) -> Result<Response> {
    state.store.project(pid).await?;
    state.store.unpause_rater(pid, rid).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PauseBody {
    reason: Option<String>,
}

/// An admin pauses a rater in a project: 204. The rater's next request is refused with the
/// reason, and so is every label they try to give.
pub async fn pause(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
    Path((_, rid)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<PauseBody>,
) -> Result<Response> {
    let reason = admin_pause_reason(body.reason.as_deref())?;
    state.store.pause_rater(project.id, rid, &reason).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub const REPORT_REASONS: [&str; 4] = ["broken", "ambiguous", "offensive", "personal_data"];

#[derive(Deserialize)]
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
pub async fn release_item(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path((pid, iid)): Path<(i64, i64)>,
) -> Result<Response> {
    state.store.release_item(pid, iid).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
