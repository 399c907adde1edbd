use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use serde::Deserialize;

use super::openapi::responses::*;
use crate::domain::audit::Action;
use crate::domain::project::{NewProject, Project};
use crate::domain::project_edit::Changes;
use crate::domain::user::User;
use crate::error::Result;
use crate::store::project_edits::GuidelineVersion;
use crate::store::projects::ProjectSummary;
use crate::web::extract::{Admin, JsonBody, Origin, ProjectAdmin};
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
    origin: Origin,
    JsonBody(new): JsonBody<NewProject>,
) -> Result<(StatusCode, Json<ProjectSummary>)> {
    let spec = new.validate()?;
    let entry = origin.entry(&admin, Action::ProjectCreated);
    let project = state.store.create_project(&spec, admin.id, &entry).await?;
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

/// Changes any of a project's settings: the body takes any keys of `POST /api/v1/projects`
/// (`null` clears an optional setting); 200 with the project as `GET` shows it. Refused with
/// 422 for a bad value and 409 for a change that existing labels could not survive, naming
/// the setting either way. New instructions become a new guideline version.
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{pid}",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    request_body(content = Object, description = "Any keys of a new project; null clears an optional setting"),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The project as it is now", body = ProjectSummary),
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
pub async fn edit_project(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    JsonBody(changes): JsonBody<Changes>,
) -> Result<Json<ProjectSummary>> {
    let entry = origin.entry(&admin, Action::ProjectUpdated);
    let project = state
        .store
        .edit_project(project.id, &changes, &entry)
        .await?;
    summary(&state, project).await.map(Json)
}

async fn summary(state: &AppState, project: Project) -> Result<ProjectSummary> {
    let progress = state.store.progress(project.id).await?;
    Ok(ProjectSummary { project, progress })
}

/// Archives a project: raters no longer see it, `next` and every rater write refuse it
/// with the reason, and the admin list shows it apart. 409 when it is archived already.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/archive",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The archived project", body = ProjectSummary),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn archive_project(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
) -> Result<Json<ProjectSummary>> {
    let entry = origin.entry(&admin, Action::ProjectArchived);
    let project = state.store.set_archived(project.id, true, &entry).await?;
    summary(&state, project).await.map(Json)
}

/// Restores an archived project: everything is as it was before. 409 when it is not archived.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/restore",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The restored project", body = ProjectSummary),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn restore_project(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
) -> Result<Json<ProjectSummary>> {
    let entry = origin.entry(&admin, Action::ProjectRestored);
    let project = state.store.set_archived(project.id, false, &entry).await?;
    summary(&state, project).await.map(Json)
}

/// The name of a project cloned from another.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloneProject {
    pub name: String,
}

/// A new project with this one's setup: settings, label set, policy, pools, membership,
/// reviewers, feedback-source mappings and guideline text; no items, labels, keys, link
/// secrets or webhooks. 201 with the new project.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/clone",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id of the source")),
    request_body = CloneProject,
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The new project", body = ProjectSummary),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn clone_project(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    JsonBody(body): JsonBody<CloneProject>,
) -> Result<(StatusCode, Json<ProjectSummary>)> {
    let clone = clone_setup(&state, &project, &admin, &origin, &body.name).await?;
    Ok((StatusCode::CREATED, Json(summary(&state, clone).await?)))
}

/// Clones a project's setup under a new name (checked as a new project's name).
pub async fn clone_setup(
    state: &AppState,
    source: &Project,
    admin: &User,
    origin: &Origin,
    name: &str,
) -> Result<Project> {
    let mut new = NewProject::from_project(source);
    new.name = name.to_string();
    let spec = new.validate()?;
    let entry = origin.entry(admin, Action::ProjectCloned);
    state.store.clone_project(source, &spec, &entry).await
}

/// Every version of the project's guidelines, newest first: number, text, when and who.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/guidelines",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The guideline versions", body = Vec<GuidelineVersion>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn guideline_versions(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<Vec<GuidelineVersion>>> {
    Ok(Json(state.store.guideline_versions(project.id).await?))
}
