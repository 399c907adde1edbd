//! Uploaded images, kept in the database (BLOB / BYTEA) so that every tally process on one
//! PostgreSQL serves the same files with no shared disk; one row per project and SHA-256.

use std::collections::HashMap;

use sqlx::FromRow;
use tracing::instrument;

use super::{in_write_tx, on_pool, Store};
use crate::domain::media::{MediaInfo, Upload};
use crate::domain::now_ms;
use crate::error::Result;

/// Stores an image once per project: the same bytes again change nothing.
pub(super) const INSERT_MEDIA: &str =
    "INSERT INTO media (project_id, sha256, content_type, width, height, size, name, bytes, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (project_id, sha256) DO NOTHING";

#[derive(FromRow)]
struct InfoRow {
    sha256: String,
    content_type: String,
    width: i64,
    height: i64,
    size: i64,
    name: Option<String>,
}

impl From<InfoRow> for MediaInfo {
    fn from(row: InfoRow) -> Self {
        MediaInfo {
            sha256: row.sha256,
            content_type: row.content_type,
            width: u32::try_from(row.width).unwrap_or(0),
            height: u32::try_from(row.height).unwrap_or(0),
            size: u64::try_from(row.size).unwrap_or(0),
            name: row.name,
        }
    }
}

/// An image's bytes with the type they were sniffed as.
#[derive(Debug, FromRow)]
pub struct MediaFile {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Store {
    /// Stores uploaded images (all or none) and says, per image, whether it was new.
    #[instrument(skip_all, fields(project = project_id, files = uploads.len()))]
    pub async fn store_media(&self, project_id: i64, uploads: &[Upload]) -> Result<Vec<bool>> {
        let now = now_ms();
        let mut fresh = Vec::with_capacity(uploads.len());
        in_write_tx!(self, tx, _lock => {
            for upload in uploads {
                let done = sqlx::query(INSERT_MEDIA)
                    .bind(project_id)
                    .bind(&upload.sha256)
                    .bind(upload.content_type)
                    .bind(i64::from(upload.width))
                    .bind(i64::from(upload.height))
                    .bind(upload.bytes.len() as i64)
                    .bind(upload.name.as_deref())
                    .bind(&upload.bytes[..])
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                fresh.push(done.rows_affected() == 1);
            }
        });
        Ok(fresh)
    }

    /// What is known of every image of a project, by SHA-256 (without the bytes).
    pub async fn media_infos(&self, project_id: i64) -> Result<HashMap<String, MediaInfo>> {
        let sql = "SELECT sha256, content_type, width, height, size, name FROM media WHERE project_id = $1";
        let rows: Vec<InfoRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(project_id).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|row| (row.sha256.clone(), MediaInfo::from(row)))
            .collect())
    }

    /// One image's bytes, if the project has it.
    pub async fn media_file(&self, project_id: i64, sha256: &str) -> Result<Option<MediaFile>> {
        let sql = "SELECT content_type, bytes FROM media WHERE project_id = $1 AND sha256 = $2";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql).bind(project_id).bind(sha256).fetch_optional(pool).await?
        }))
    }
}
