//! Dataset versions: each export's record, its card, and its bytes in chunks.

use sqlx::FromRow;

use super::audit::record_audit;
use super::{in_write_tx, on_pool, Store};
use crate::domain::audit::Entry;
use crate::domain::now_ms;
use crate::error::{AppError, Result};

/// A recorded export, as listed.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct VersionRow {
    pub id: i64,
    pub project_id: i64,
    pub created_at: i64,
    pub created_by: String,
    pub format: String,
    /// The export's options as JSON text.
    pub settings: String,
    pub row_count: i64,
    pub label_count: i64,
    pub bytes: i64,
    pub content_sha256: Option<String>,
    /// The card as JSON text.
    pub card: Option<String>,
}

/// What a finished export records.
pub struct VersionTotals<'a> {
    pub rows: i64,
    pub labels: i64,
    pub bytes: i64,
    pub sha256: &'a str,
    pub card_json: &'a str,
}

/// Versions left 'writing' this long (an export whose client went away) are removed.
const ABANDONED_AFTER_MS: i64 = 24 * 3600 * 1000;

const VERSION_COLUMNS: &str = "id, project_id, created_at, created_by, format, settings, row_count, label_count, bytes, content_sha256, card";

impl Store {
    /// Opens a version in the 'writing' state; its chunks follow.
    pub async fn begin_version(
        &self,
        project_id: i64,
        created_by: &str,
        format: &str,
        settings_json: &str,
    ) -> Result<i64> {
        let now = now_ms();
        let cleanup = "DELETE FROM dataset_versions WHERE project_id = $1 AND state = 'writing' AND created_at < $2";
        let insert =
            "INSERT INTO dataset_versions (project_id, created_at, created_by, format, settings)
                      VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let id: i64 = on_pool!(self, pool => {
            sqlx::query(cleanup)
                .bind(project_id)
                .bind(now - ABANDONED_AFTER_MS)
                .execute(pool)
                .await?;
            sqlx::query_scalar(insert)
                .bind(project_id)
                .bind(now)
                .bind(created_by)
                .bind(format)
                .bind(settings_json)
                .fetch_one(pool)
                .await?
        });
        Ok(id)
    }

    pub async fn store_chunk(&self, version_id: i64, seq: i64, bytes: &[u8]) -> Result<()> {
        let sql = "INSERT INTO dataset_chunks (version_id, seq, bytes, encoding)
                   VALUES ($1, $2, $3, 'snappy')";
        let compressed = snap::raw::Encoder::new()
            .compress_vec(bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("compressing a dataset chunk: {e}")))?;
        on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(version_id)
                .bind(seq)
                .bind(&compressed)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Marks a version complete, with the audit entry of the export in the same
    /// transaction.
    pub async fn complete_version(
        &self,
        version_id: i64,
        totals: VersionTotals<'_>,
        entry: &Entry,
    ) -> Result<()> {
        let sql = "UPDATE dataset_versions
                   SET state = 'complete', row_count = $2, label_count = $3, bytes = $4,
                       content_sha256 = $5, card = $6
                   WHERE id = $1 AND state = 'writing'";
        in_write_tx!(self, tx, _lock => {
            let project_id: i64 = sqlx::query_scalar(
                "SELECT project_id FROM dataset_versions WHERE id = $1 AND state = 'writing'",
            )
            .bind(version_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| AppError::not_found("dataset version"))?;
            sqlx::query(sql)
                .bind(version_id)
                .bind(totals.rows)
                .bind(totals.labels)
                .bind(totals.bytes)
                .bind(totals.sha256)
                .bind(totals.card_json)
                .execute(&mut *tx)
                .await?;
            let mut details = match &entry.details {
                serde_json::Value::Object(map) => map.clone(),
                _ => serde_json::Map::new(),
            };
            details.insert("rows".into(), totals.rows.into());
            details.insert("labels".into(), totals.labels.into());
            details.insert("sha256".into(), totals.sha256.into());
            let entry = entry
                .clone()
                .project(project_id)
                .target("dataset_version", version_id)
                .details(serde_json::Value::Object(details));
            record_audit(&mut tx, &entry).await?;
        });
        Ok(())
    }

    /// Removes a version that did not finish, with its chunks.
    pub async fn discard_version(&self, version_id: i64) -> Result<()> {
        let sql = "DELETE FROM dataset_versions WHERE id = $1 AND state = 'writing'";
        on_pool!(self, pool => {
            sqlx::query(sql).bind(version_id).execute(pool).await?;
        });
        Ok(())
    }

    /// A project's finished versions, newest first.
    pub async fn versions(&self, project_id: i64) -> Result<Vec<VersionRow>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM dataset_versions
             WHERE project_id = $1 AND state = 'complete' ORDER BY id DESC"
        );
        let rows = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(project_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn version(&self, project_id: i64, version_id: i64) -> Result<VersionRow> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM dataset_versions
             WHERE project_id = $1 AND id = $2 AND state = 'complete'"
        );
        let row: Option<VersionRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(project_id)
                .bind(version_id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| AppError::not_found("dataset version"))
    }

    /// The next chunk of a version's bytes after `seq`, or `None` at the end.
    pub async fn chunk_after(&self, version_id: i64, seq: i64) -> Result<Option<(i64, Vec<u8>)>> {
        let sql =
            "SELECT seq, bytes, encoding FROM dataset_chunks WHERE version_id = $1 AND seq > $2
                   ORDER BY seq LIMIT 1";
        let row: Option<(i64, Vec<u8>, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(version_id)
                .bind(seq)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(seq, stored, encoding)| Ok((seq, chunk_as_written(stored, encoding.as_deref())?)))
            .transpose()
    }
}

/// A stored chunk's bytes as the export wrote them (chunks stored before compression have
/// no encoding).
fn chunk_as_written(stored: Vec<u8>, encoding: Option<&str>) -> Result<Vec<u8>> {
    match encoding {
        None => Ok(stored),
        Some("snappy") => snap::raw::Decoder::new()
            .decompress_vec(&stored)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("a stored dataset chunk: {e}"))),
        Some(other) => Err(AppError::Internal(anyhow::anyhow!(
            "a stored dataset chunk has an unknown encoding {other:?}"
        ))),
    }
}
