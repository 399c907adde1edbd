//! Labels and skips.

use tracing::instrument;

use super::{in_write_tx, Store};
use crate::domain::now_ms;
use crate::domain::project::Project;
use crate::error::{is_unique_violation, AppError, Result};

/// A checked answer from a rater.
#[derive(Debug, Clone)]
pub struct NewLabel {
    pub item_id: i64,
    pub rater_id: i64,
    pub value: String,
    pub duration_ms: Option<i64>,
}

const LIVE_LEASES_OF_OTHERS_SQL: &str = "SELECT count(*) FROM leases
    WHERE item_id = $1 AND rater_id <> $2 AND expires_at > $3";

impl Store {
    /// Records a label. The item's write lock is held while its slots are counted, so an
    /// item never gets more labels than it needs and a rater never labels it twice.
    #[instrument(skip_all, fields(project = project.id, item = label.item_id, rater = label.rater_id))]
    pub async fn submit_label(&self, project: &Project, label: &NewLabel) -> Result<()> {
        let now = now_ms();
        in_write_tx!(self, tx, lock => {
            let needed_sql = format!("SELECT needed FROM items WHERE id = $1 AND project_id = $2{lock}");
            let needed: Option<i64> = sqlx::query_scalar(&needed_sql)
                .bind(label.item_id)
                .bind(project.id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(needed) = needed else {
                return Err(AppError::not_found("item"));
            };
            let others: i64 = sqlx::query_scalar(LIVE_LEASES_OF_OTHERS_SQL)
                .bind(label.item_id)
                .bind(label.rater_id)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO labels (project_id, item_id, rater_id, value, duration_ms, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(project.id)
            .bind(label.item_id)
            .bind(label.rater_id)
            .bind(&label.value)
            .bind(label.duration_ms)
            .bind(now)
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    return Err(AppError::Conflict(format!(
                        "you have already labelled item {}",
                        label.item_id
                    )));
                }
                other => other?,
            };
            if needed - others <= 0 {
                return Err(AppError::Conflict(format!(
                    "item {} already has all the labels it needs (a hold on it may have expired and passed to another rater)",
                    label.item_id
                )));
            }
            sqlx::query("UPDATE items SET needed = needed - 1, label_count = label_count + 1 WHERE id = $1")
                .bind(label.item_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM leases WHERE item_id = $1 AND rater_id = $2")
                .bind(label.item_id)
                .bind(label.rater_id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Records that a rater passes on an item: it is not offered to them again.
    #[instrument(skip_all, fields(project = project.id, item = item_id, rater = rater_id))]
    pub async fn skip_item(
        &self,
        project: &Project,
        item_id: i64,
        rater_id: i64,
        reason: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        in_write_tx!(self, tx, _lock => {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM items WHERE id = $1 AND project_id = $2")
                .bind(item_id)
                .bind(project.id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(AppError::not_found("item"));
            }
            sqlx::query(
                "INSERT INTO skips (item_id, rater_id, reason, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (item_id, rater_id) DO NOTHING",
            )
            .bind(item_id)
            .bind(rater_id)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM leases WHERE item_id = $1 AND rater_id = $2")
                .bind(item_id)
                .bind(rater_id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }
}
