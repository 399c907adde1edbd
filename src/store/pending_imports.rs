//! Uploads waiting for the admin's confirmation after the browser's import preview. A row
//! in the database (not the session or a temporary file) so that the confirmation may
//! reach any tally process; keyed by an unguessable id, readable only by the admin who
//! uploaded, and gone after an hour.

use sqlx::FromRow;
use tracing::instrument;

use super::{on_pool, Store};
use crate::domain::now_ms;
use crate::error::Result;

/// How long an upload waits for its confirmation.
pub const PENDING_IMPORT_MS: i64 = 60 * 60 * 1000;

#[derive(Debug, Clone, FromRow)]
pub struct PendingImport {
    pub id: String,
    pub file_name: String,
    pub body: Vec<u8>,
}

impl Store {
    /// Keeps an upload for its confirmation; expired uploads of anyone are removed first.
    #[instrument(skip_all, fields(project = project_id, admin = admin_id, bytes = body.len()))]
    pub async fn insert_pending_import(
        &self,
        project_id: i64,
        admin_id: i64,
        file_name: &str,
        body: &[u8],
    ) -> Result<String> {
        let id = crate::auth::random_hex(32);
        let now = now_ms();
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM pending_imports WHERE expires_at < $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO pending_imports (id, project_id, admin_id, file_name, body, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(project_id)
            .bind(admin_id)
            .bind(file_name)
            .bind(body)
            .bind(now)
            .bind(now + PENDING_IMPORT_MS)
            .execute(pool)
            .await?;
        });
        Ok(id)
    }

    /// An upload this admin made for this project and has not yet confirmed or cancelled.
    pub async fn pending_import(
        &self,
        id: &str,
        project_id: i64,
        admin_id: i64,
    ) -> Result<Option<PendingImport>> {
        let sql = "SELECT id, file_name, body FROM pending_imports
                   WHERE id = $1 AND project_id = $2 AND admin_id = $3 AND expires_at >= $4";
        Ok(on_pool!(self, pool => {
            sqlx::query_as::<_, PendingImport>(sql)
                .bind(id)
                .bind(project_id)
                .bind(admin_id)
                .bind(now_ms())
                .fetch_optional(pool)
                .await?
        }))
    }

    pub async fn delete_pending_import(&self, id: &str, admin_id: i64) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM pending_imports WHERE id = $1 AND admin_id = $2")
                .bind(id)
                .bind(admin_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
