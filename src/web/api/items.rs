use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::import::{self, Format};
use crate::error::{AppError, Result};
use crate::web::extract::{content_type, Admin};
use crate::web::AppState;

use super::openapi::responses::*;

/// One item of a JSON or NDJSON import. Only describes the body: the importer reads it field
/// by field (`domain::import`), so that a refusal names its line.
#[allow(dead_code)]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportItemBody {
    /// What raters see: the text field and any others the project shows.
    #[schema(value_type = Object)]
    data: Value,
    /// The item's id in the caller's system: a string or a number.
    external_id: Option<Value>,
    /// The right answer, for gold questions, in the shape of the project's kind.
    gold: Option<Value>,
    /// A model's pre-label, in the shape of the project's kind.
    prediction: Option<Value>,
    /// Higher goes first when the project orders by priority.
    priority: Option<f64>,
    /// A qualification question (needs `gold`).
    qualification: Option<bool>,
    /// Shown after a qualification question is answered.
    explanation: Option<String>,
}

/// How many items an import added.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub imported: usize,
}

/// Imports a JSON array, NDJSON (`application/x-ndjson`) or CSV (`text/csv`): all or nothing.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/items",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    request_body(
        description = "A JSON array of items, NDJSON (one item a line), or CSV (a header row; `external_id`, `gold`, `prediction` columns are read specially, the others are data)",
        content(
            (Vec<ImportItemBody> = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv")
        )
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "All items were imported", body = Imported),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    )
)]
pub async fn import_items(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Imported>)> {
    let project = state.store.project(pid).await?;
    let format = Format::from_content_type(content_type(&headers));
    let imported = import_bytes(&state, &project, body, format).await?;
    Ok((StatusCode::CREATED, Json(Imported { imported })))
}

/// The one importer behind the API and the browser upload.
pub async fn import_bytes(
    state: &AppState,
    project: &crate::domain::project::Project,
    body: Bytes,
    format: Format,
) -> Result<usize> {
    let checked = project.clone();
    let items = tokio::task::spawn_blocking(move || {
        let mut items = import::parse(&body, format)?;
        import::check_against_project(&mut items, &checked)?;
        Ok::<_, AppError>(items)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("import task: {e}")))??;
    state.store.import_items(project, &items).await
}
