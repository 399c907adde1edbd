use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::openapi::responses::*;
use crate::domain::project::NewProject;
use crate::error::Result;
use crate::store::projects::ProjectSummary;
use crate::web::extract::{Admin, JsonBody};
use crate::web::AppState;

/// Creates a project: 201 with the project and its (empty) progress.
#[utoipa::path(
    post,
    path = "/api/v1/projects",
    tag = "projects",
    request_body = NewProject,
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The new project", body = ProjectSummary),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
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

/// One project with its progress.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The project", body = ProjectSummary),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn show_project(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<Json<ProjectSummary>> {
    let project = state.store.project(pid).await?;
    let progress = state.store.progress(pid).await?;
    Ok(Json(ProjectSummary { project, progress }))
}

/// Every project with its progress.
#[utoipa::path(
    get,
    path = "/api/v1/projects",
    tag = "projects",
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "All projects", body = Vec<ProjectSummary>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_projects(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> Result<Json<Vec<ProjectSummary>>> {
    Ok(Json(state.store.project_summaries().await?))
}
