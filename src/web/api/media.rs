//! `POST /api/v1/projects/{pid}/media`: uploads images (multipart, one or more files).

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use crate::domain::media::{inspect, Upload};
use crate::error::{AppError, Result};
use crate::web::extract::ProjectAdmin;
use crate::web::AppState;

/// Most files one upload request may carry.
const MAX_FILES: usize = 1_000;

use super::openapi::responses::*;

/// One stored image.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StoredMedia {
    /// The file name as uploaded.
    pub name: Option<String>,
    pub sha256: String,
    /// Where raters' pages load it from.
    pub url: String,
    /// What an item's data field says to name it: `media:<sha256>`.
    pub reference: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub size: usize,
    /// False when the same bytes were stored before.
    pub new: bool,
}

/// The images of one upload.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MediaUploaded {
    pub media: Vec<StoredMedia>,
}

/// 201 with each file's address, URL and size; the same bytes twice are stored once.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/media",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    request_body(
        description = "One or more image files (PNG, JPEG, WebP or GIF, told from the bytes), one per part",
        content((Vec<u8> = "multipart/form-data"))
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "Every file was stored (or was already)", body = MediaUploaded),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn upload_media(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<MediaUploaded>)> {
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
    .await??;
    let fresh = state.store.store_media(project.id, &uploads).await?;
    let media = uploads
        .iter()
        .zip(fresh)
        .map(|(upload, new)| StoredMedia {
            name: upload.name.clone(),
            sha256: upload.sha256.clone(),
            url: format!("/media/{}/{}", project.id, upload.sha256),
            reference: format!("media:{}", upload.sha256),
            content_type: upload.content_type.to_string(),
            width: upload.width,
            height: upload.height,
            size: upload.bytes.len(),
            new,
        })
        .collect();
    Ok((StatusCode::CREATED, Json(MediaUploaded { media })))
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
