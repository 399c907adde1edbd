//! `GET /media/{pid}/{sha}`: an uploaded image, to whoever may see the project's items.
//! The address is the SHA-256 of the bytes, so the answer never changes: browsers keep it.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::extract::ProjectViewer;
use super::routes::{Access, Routes};
use super::AppState;
use crate::domain::media::is_sha256;
use crate::error::{AppError, Result};

pub fn routes() -> Routes {
    Routes::default().get("/media/{pid}/{sha}", Access::ProjectViewer, serve_media)
}

const CACHE_FOREVER: &str = "private, max-age=31536000, immutable";

pub async fn serve_media(
    State(state): State<AppState>,
    ProjectViewer { project }: ProjectViewer,
    Path((_, sha)): Path<(i64, String)>,
    request_headers: HeaderMap,
) -> Result<Response> {
    // Only an address tally itself writes is looked up: no dots, no slashes, no case games.
    if !is_sha256(&sha) {
        return Err(AppError::not_found("image"));
    }
    let etag = format!("\"{sha}\"");
    let headers = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, CACHE_FOREVER.to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
    ];
    let file = state
        .store
        .media_file(project.id, &sha)
        .await?
        .ok_or_else(|| AppError::not_found("image"))?;
    let cached = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if cached {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let content_type = HeaderValue::from_str(&file.content_type)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored content type: {e}")))?;
    let mut response = (headers, file.bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    Ok(response)
}
