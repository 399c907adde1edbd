//! A rater's own labels: the history panel, the answer shown again on its item's page, and
//! changing a label within the project's edit window.

use serde::Serialize;
use serde_json::Value;
use tracing::instrument;

use super::gate::{check_write, Attempt};
use super::labels::NewLabel;
use super::webhook_events::reopen_item;
use super::{in_write_tx, on_pool, Store};
use crate::domain::gate::Write;
use crate::domain::kinds::{from_stored, to_stored};
use crate::domain::now_ms;
use crate::domain::policy::Pool;
use crate::domain::project::Project;
use crate::error::Result;

/// One of a rater's labels, as their history shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwnLabel {
    pub item_id: i64,
    pub external_id: Option<String>,
    pub value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    /// Until when (epoch ms) the rater may still change it; `None` when they may not.
    pub editable_until: Option<i64>,
}

type OwnRow = (
    i64,
    Option<String>,
    String,
    Option<String>,
    i64,
    Option<i64>,
    bool,
);

fn own_label(project: &Project, now: i64, row: OwnRow) -> OwnLabel {
    let (item_id, external_id, value, comment, created_at, edited_at, is_qualification) = row;
    let until = created_at.saturating_add(
        project
            .presentation
            .edit_window_seconds
            .saturating_mul(1000),
    );
    OwnLabel {
        item_id,
        external_id,
        value: from_stored(&value),
        comment,
        created_at,
        edited_at,
        editable_until: (!is_qualification && until >= now).then_some(until),
    }
}

const OWN_SQL: &str = "SELECT l.item_id, i.external_id, l.value, l.comment, l.created_at, l.edited_at, i.is_qualification
    FROM labels l JOIN items i ON i.id = l.item_id";

impl Store {
    /// The rater's last `limit` labels in a project, newest first.
    pub async fn history(
        &self,
        project: &Project,
        rater_id: i64,
        limit: i64,
    ) -> Result<Vec<OwnLabel>> {
        let sql = format!(
            "{OWN_SQL} WHERE l.project_id = $1 AND l.rater_id = $2 ORDER BY l.created_at DESC, l.id DESC LIMIT $3"
        );
        let rows: Vec<OwnRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(project.id).bind(rater_id).bind(limit).fetch_all(pool).await?
        });
        let now = now_ms();
        Ok(rows
            .into_iter()
            .map(|row| own_label(project, now, row))
            .collect())
    }

    /// The rater's label on one item, if they gave one.
    pub async fn own_label(
        &self,
        project: &Project,
        item_id: i64,
        rater_id: i64,
    ) -> Result<Option<OwnLabel>> {
        let sql =
            format!("{OWN_SQL} WHERE l.project_id = $1 AND l.item_id = $2 AND l.rater_id = $3");
        let row: Option<OwnRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(project.id).bind(item_id).bind(rater_id).fetch_optional(pool).await?
        });
        Ok(row.map(|row| own_label(project, now_ms(), row)))
    }

    /// Whether the rater holds a live lease on the item.
    pub async fn holds(&self, project_id: i64, item_id: i64, rater_id: i64) -> Result<bool> {
        let held: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT item_id FROM leases WHERE project_id = $1 AND item_id = $2 AND rater_id = $3 AND expires_at > $4")
                .bind(project_id).bind(item_id).bind(rater_id).bind(now_ms())
                .fetch_optional(pool).await?
        });
        Ok(held.is_some())
    }

    /// Changes a rater's own label within the edit window, through the same gate as a label.
    /// A gold answer's record follows the change; a generalist label settles the item again
    /// (dynamic overlap and escalation only ever add labels, never take them back).
    #[instrument(skip_all, fields(project = project.id, item = label.item_id, rater = label.rater_id))]
    pub async fn edit_label(&self, project: &Project, label: &NewLabel) -> Result<()> {
        let now = now_ms();
        let policy = &project.policy;
        let schema = project.schema();
        in_write_tx!(self, tx, lock => {
            let gated = check_write(&mut tx, lock, self.caches(), project, Attempt { item_id: label.item_id, rater_id: label.rater_id, now, write: Write::Edit }).await?;
            let (old, pool): (String, String) = sqlx::query_as("SELECT value, pool FROM labels WHERE item_id = $1 AND rater_id = $2")
                .bind(label.item_id)
                .bind(label.rater_id)
                .fetch_one(&mut *tx)
                .await?;
            // A changed answer is given under the guidelines current now.
            sqlx::query("UPDATE labels SET value = $1, comment = $2, edited_at = $3,
                             guideline_version = (SELECT guideline_version FROM projects WHERE id = labels.project_id)
                         WHERE item_id = $4 AND rater_id = $5")
                .bind(to_stored(&label.value))
                .bind(label.comment.as_deref())
                .bind(now)
                .bind(label.item_id)
                .bind(label.rater_id)
                .execute(&mut *tx)
                .await?;
            if let (true, Some(gold)) = (gated.facts.is_gold, gated.gold.as_deref()) {
                let gold = from_stored(gold);
                let was = i64::from(schema.matches(&from_stored(&old), &gold));
                let is = i64::from(schema.matches(&label.value, &gold));
                if was != is {
                    sqlx::query("UPDATE rater_states SET gold_correct = gold_correct + $1 WHERE project_id = $2 AND rater_id = $3")
                        .bind(is - was)
                        .bind(project.id)
                        .bind(label.rater_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let settles = policy.is_dynamic() || policy.escalate_below.is_some();
            let generalist_done = gated.needs.generalist == 0;
            if pool == Pool::Generalist.as_str() && settles && generalist_done && !gated.facts.is_gold {
                let values: Vec<String> = sqlx::query_scalar(
                    "SELECT value FROM labels WHERE item_id = $1 AND pool = 'generalist' ORDER BY id",
                )
                .bind(label.item_id)
                .fetch_all(&mut *tx)
                .await?;
                let values: Vec<Value> = values.iter().map(|v| from_stored(v)).collect();
                let settlement = policy.settle(&schema.consensus(&values), 0);
                let mut reopened = false;
                if settlement.more_generalist > 0 {
                    sqlx::query("UPDATE items SET need_generalist = need_generalist + $1 WHERE id = $2")
                        .bind(settlement.more_generalist)
                        .bind(label.item_id)
                        .execute(&mut *tx)
                        .await?;
                    reopened = true;
                }
                if settlement.escalate_to_experts > 0 {
                    let escalated = sqlx::query("UPDATE items SET need_expert = need_expert + $1, escalated = TRUE WHERE id = $2 AND NOT escalated")
                        .bind(settlement.escalate_to_experts)
                        .bind(label.item_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    reopened |= escalated > 0;
                }
                if reopened {
                    reopen_item(&mut tx, label.item_id).await?;
                }
            }
        });
        Ok(())
    }
}
