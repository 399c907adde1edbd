//! Items: import (all or nothing) and lookup.

use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::FromRow;
use tracing::instrument;

use super::media::INSERT_MEDIA;
use super::{in_write_tx, on_pool, Store};
use crate::domain::import::NewItem;
use crate::domain::kinds::to_stored;
use crate::domain::media::Upload;
use crate::domain::now_ms;
use crate::domain::policy::random_key;
use crate::domain::project::Project;
use crate::error::{is_unique_violation, AppError, Result};

/// An item as the store holds it for raters: never its gold answer. What a rater is shown
/// of it (hidden fields, the pre-label) is decided by the project's presentation.
#[derive(Debug, Clone, FromRow)]
pub struct ItemView {
    pub id: i64,
    pub external_id: Option<String>,
    #[sqlx(json)]
    pub data: Map<String, Value>,
    /// A model's pre-label, as stored (canonical JSON text).
    #[sqlx(default)]
    pub prediction: Option<String>,
}

impl ItemView {
    /// The text to show: `data.text` when present, otherwise the data as JSON.
    pub fn display_text(&self) -> String {
        match self.data.get("text") {
            Some(Value::String(text)) => text.clone(),
            _ => serde_json::to_string_pretty(&self.data).unwrap_or_default(),
        }
    }
}

impl Store {
    /// Stores every item or none: the whole import is one transaction, and a duplicate
    /// external_id names the line it came from.
    pub async fn import_items(&self, project: &Project, items: &[NewItem]) -> Result<usize> {
        self.import_items_with_media(project, &[], items).await
    }

    /// [`Store::import_items`] with the images a zip import brought: images and items are
    /// stored in one transaction, so the import lands whole or not at all.
    #[instrument(skip_all, fields(project = project.id, items = items.len(), media = media.len()))]
    pub async fn import_items_with_media(
        &self,
        project: &Project,
        media: &[Upload],
        items: &[NewItem],
    ) -> Result<usize> {
        let now = now_ms();
        let position_sql = "SELECT coalesce(max(position), 0) FROM items WHERE project_id = $1";
        let insert_sql = "INSERT INTO items (project_id, external_id, data, gold, position, created_at,
                              need_generalist, need_expert, need_user, priority, random_key, is_gold,
                              is_qualification, explanation, prediction)
                          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
        let policy = &project.policy;
        in_write_tx!(self, tx, _lock => {
            for upload in media {
                sqlx::query(INSERT_MEDIA)
                    .bind(project.id)
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
            }
            let start: i64 = sqlx::query_scalar(position_sql)
                .bind(project.id)
                .fetch_one(&mut *tx)
                .await?;
            for (offset, item) in items.iter().enumerate() {
                let position = start + 1 + offset as i64;
                let is_gold = item.gold.is_some() && policy.gold_rate > 0.0;
                let needs = policy.initial_needs(is_gold || item.qualification);
                let inserted = sqlx::query(insert_sql)
                    .bind(project.id)
                    .bind(item.external_id.as_deref())
                    .bind(Json(&item.data))
                    .bind(item.gold.as_ref().map(to_stored))
                    .bind(position)
                    .bind(now)
                    .bind(needs.generalist)
                    .bind(needs.expert)
                    .bind(needs.user)
                    .bind(item.priority)
                    .bind(random_key(policy.seed, position))
                    .bind(is_gold && !item.qualification)
                    .bind(item.qualification)
                    .bind(item.explanation.as_deref())
                    .bind(item.prediction.as_ref().map(to_stored))
                    .execute(&mut *tx)
                    .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => {
                        return Err(AppError::Conflict(format!(
                            "line {}: an item with external_id {:?} is already in this project; nothing was imported",
                            item.line,
                            item.external_id.as_deref().unwrap_or_default()
                        )));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        });
        self.refresh_statistics_after_import(items.len()).await?;
        Ok(items.len())
    }

    /// PostgreSQL plans `next` from table statistics; after a large import they are stale
    /// until autovacuum runs, and a stale plan sorts every open item on each request.
    async fn refresh_statistics_after_import(&self, imported: usize) -> Result<()> {
        if let Store::Postgres(backend) = self {
            if imported >= 100 {
                sqlx::query("ANALYZE items").execute(&backend.pool).await?;
            }
        }
        Ok(())
    }

    /// An item of a project, as a rater sees it.
    pub async fn item(&self, project_id: i64, item_id: i64) -> Result<ItemView> {
        let sql =
            "SELECT id, external_id, data, prediction FROM items WHERE id = $1 AND project_id = $2";
        let item = on_pool!(self, pool => {
            sqlx::query_as::<_, ItemView>(sql)
                .bind(item_id)
                .bind(project_id)
                .fetch_optional(pool)
                .await?
        });
        item.ok_or_else(|| AppError::not_found("item"))
    }
}
