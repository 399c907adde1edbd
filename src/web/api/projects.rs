use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use crate::domain::project::NewProject;
use crate::error::Result;
use crate::store::projects::ProjectSummary;
use crate::web::extract::{Admin, JsonBody};
use crate::web::AppState;

pub async fn create_project(
    State(state): State<AppState>,
    Admin(admin): Admin,
    JsonBody(new): JsonBody<NewProject>,
) -> Result<(StatusCode, Json<ProjectSummary>)> {
    let spec = new.validate()?;
    let project = state.store.create_project(&spec, admin.id).await?;
    let progress = state.store.progress(project.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ProjectSummary { project, progress }),
    ))
}

pub async fn show_project(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<Json<ProjectSummary>> {
    let project = state.store.project(pid).await?;
    let progress = state.store.progress(pid).await?;
    Ok(Json(ProjectSummary { project, progress }))
}

pub async fn list_projects(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> Result<Json<Vec<ProjectSummary>>> {
    Ok(Json(state.store.project_summaries().await?))
}
