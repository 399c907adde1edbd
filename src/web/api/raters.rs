//! Admin views of a project's raters and queue, and the problem-report flow.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use crate::error::{AppError, Result};
use crate::store::raters::{Queue, RaterStanding};
use crate::web::error::empty;
use crate::web::extract::{Admin, JsonBody, Rater};
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
    Rater(rater): Rater,
    Path((pid, iid)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<ReportBody>,
) -> Result<Response> {
    check_reason(&body.reason)?;
    if body.note.as_ref().is_some_and(|n| n.len() > 2000) {
        return Err(AppError::invalid("note", "must be at most 2000 bytes"));
    }
    let project = state.store.project(pid).await?;
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
