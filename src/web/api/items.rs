use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use crate::domain::import::{self, Format};
use crate::error::{AppError, Result};
use crate::web::extract::{content_type, Admin};
use crate::web::AppState;

/// Imports a JSON array, NDJSON (`application/x-ndjson`) or CSV (`text/csv`): all or nothing.
pub async fn import_items(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let project = state.store.project(pid).await?;
    let format = Format::from_content_type(content_type(&headers));
    let imported = import_bytes(&state, &project, body, format).await?;
    Ok((StatusCode::CREATED, Json(json!({ "imported": imported }))))
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
