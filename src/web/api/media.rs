//! `POST /api/v1/projects/{pid}/media`: uploads images (multipart, one or more files).

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::domain::media::{inspect, Upload};
use crate::error::{AppError, Result};
use crate::web::extract::ProjectAdmin;
use crate::web::AppState;

/// Most files one upload request may carry.
const MAX_FILES: usize = 1_000;

/// 201 with each file's address, URL and size; the same bytes twice are stored once.
pub async fn upload_media(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Value>)> {
    let mut multipart = multipart.map_err(|_| {
        AppError::UnsupportedMediaType(
            "send the images as multipart/form-data, one file per part".into(),
        )
    })?;
    let max_bytes = state.config.max_media_bytes;
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad_multipart)? {
        if files.len() == MAX_FILES {
            return Err(AppError::TooLarge(format!(
                "at most {MAX_FILES} files per upload"
            )));
        }
        let name = field
            .file_name()
            .or(field.name())
            .unwrap_or_default()
            .to_string();
        let bytes = read_field(field, &name, max_bytes).await?;
        files.push((name, bytes));
    }
    if files.is_empty() {
        return Err(AppError::invalid(
            "files",
            "send one or more image files as multipart/form-data",
        ));
    }
    let uploads = tokio::task::spawn_blocking(move || {
        files
            .into_iter()
            .map(|(name, bytes)| inspect(&name, bytes, max_bytes))
            .collect::<std::result::Result<Vec<Upload>, _>>()
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("media task: {e}")))??;
    let fresh = state.store.store_media(project.id, &uploads).await?;
    let listed: Vec<Value> = uploads
        .iter()
        .zip(fresh)
        .map(|(upload, new)| {
            json!({
                "name": upload.name,
                "sha256": upload.sha256,
                "url": format!("/media/{}/{}", project.id, upload.sha256),
                "reference": format!("media:{}", upload.sha256),
                "content_type": upload.content_type,
                "width": upload.width,
                "height": upload.height,
                "size": upload.bytes.len(),
                "new": new,
            })
        })
        .collect();
    Ok((StatusCode::CREATED, Json(json!({ "media": listed }))))
}

/// A file's bytes, refused as soon as they pass the limit (never buffered past it).
async fn read_field(mut field: Field<'_>, name: &str, max_bytes: usize) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(AppError::TooLarge(format!(
                "{name:?} is larger than {max_bytes} bytes, the most an image may have"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn bad_multipart(e: axum::extract::multipart::MultipartError) -> AppError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge(e.body_text()),
        _ => AppError::BadRequest(format!("unreadable multipart body: {}", e.body_text())),
    }
}
