//! What webhook events are made from: items as they complete (in the label's transaction)
//! and the last health of each feedback source the sweep saw.

use tracing::instrument;

use super::webhooks::{enqueue_event, insert_delivery, SUBSCRIBED};
use super::{in_write_tx, on_pool, tx_fn, Store};
use crate::domain::feedback::SourceHealth;
use crate::domain::webhook::{body, EventKind, WebhookEvent};
use crate::error::Result;

impl Store {
    /// Projects with a webhook that listens for feedback sources falling silent or drifting.
    pub async fn projects_watching_sources(&self) -> Result<Vec<i64>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT DISTINCT w.project_id FROM webhooks w JOIN webhook_subscriptions s ON s.webhook_id = w.id
                 WHERE s.event IN ('feedback_source.silent', 'feedback_source.drift') ORDER BY w.project_id",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Remembers a source's health and queues `feedback_source.silent` or `.drift` when it
    /// has just become so. The change of state and the event commit together, and only one
    /// process can make a given change, so each is announced once. Returns the events queued.
    #[instrument(skip_all, fields(project = project_id, source = health.source))]
    pub async fn record_source_health(
        &self,
        project_id: i64,
        health: &SourceHealth,
        now: i64,
    ) -> Result<u64> {
        let silent = WebhookEvent::FeedbackSourceSilent {
            source: health.source.clone(),
            last_event_at: health.last_event_at,
            expected_interval_seconds: health.expected_interval_seconds,
        };
        let drift = WebhookEvent::FeedbackSourceDrift {
            source: health.source.clone(),
            psi: health.drift_psi,
        };
        Ok(in_write_tx!(self, tx, _lock => {
            sqlx::query(
                "INSERT INTO webhook_source_states (project_id, source) VALUES ($1, $2)
                 ON CONFLICT (project_id, source) DO NOTHING",
            )
            .bind(project_id)
            .bind(&health.source)
            .execute(&mut *tx)
            .await?;
            let mut queued = 0;
            for (column, now_flagged, event) in [("silent", health.silent, &silent), ("drifting", health.drifting, &drift)] {
                let changed = sqlx::query(&format!(
                    "UPDATE webhook_source_states SET {column} = $1
                     WHERE project_id = $2 AND source = $3 AND {column} <> $1"
                ))
                .bind(now_flagged)
                .bind(project_id)
                .bind(&health.source)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed > 0 && now_flagged {
                    queued += enqueue_event(&mut tx, project_id, event, now).await?;
                }
            }
            queued
        }))
    }
}

tx_fn!(
    /// Called after a label changed an item's wanted labels, in the label's transaction:
    /// when the item now has every label it wants, it is recorded as complete (once) and
    /// `item.completed` is queued, and each `batch.completed` webhook whose batch is now
    /// full is called. `lock` is the write transaction's row lock clause: it makes concurrent
    /// completions in one project take their turn, so batches neither skip nor repeat items.
    pub(crate) complete_if_settled(tx, lock: &str, project_id: i64, item_id: i64, now: i64) -> () {
        let (wanted, external_id, labels, webhooks): (i64, Option<String>, i64, i64) = sqlx::query_as(
            "SELECT need_generalist + need_expert + need_user, external_id, label_count,
                    (SELECT count(*) FROM webhooks w WHERE w.project_id = items.project_id)
             FROM items WHERE id = $1",
        )
        .bind(item_id)
        .fetch_one(&mut **tx)
        .await?;
        if wanted > 0 || webhooks == 0 {
            return Ok(());
        }
        record_completion(tx, lock, project_id, item_id, external_id, labels, now).await
    }
);

tx_fn!(
    /// An item now has every label it wants, as `complete_if_settled` describes: recorded
    /// once, announced, and counted into full batches. Callers skip it in a project without
    /// webhooks: there is no one to tell, and a webhook counts batches from its creation.
    pub(crate) record_completion(tx, lock: &str, project_id: i64, item_id: i64, external_id: Option<String>, labels: i64, now: i64) -> () {
        let batch_hooks: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
            "SELECT w.id, w.batch_size, w.batch_after {SUBSCRIBED} ORDER BY w.id{lock}"
        ))
        .bind(project_id)
        .bind(EventKind::BatchCompleted.as_str())
        .fetch_all(&mut **tx)
        .await?;
        let recorded: Option<i64> = sqlx::query_scalar(
            "INSERT INTO webhook_completions (project_id, item_id, completed_at) VALUES ($1, $2, $3)
             ON CONFLICT (item_id) DO NOTHING RETURNING id",
        )
        .bind(project_id)
        .bind(item_id)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
        if recorded.is_none() {
            return Ok(());
        }
        let event = WebhookEvent::ItemCompleted { item_id, external_id, labels };
        enqueue_event(tx, project_id, &event, now).await?;
        for (webhook_id, size, after) in batch_hooks {
            let ids: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT id, item_id FROM webhook_completions WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            )
            .bind(project_id)
            .bind(after)
            .bind(size)
            .fetch_all(&mut **tx)
            .await?;
            let full = i64::try_from(ids.len()).is_ok_and(|n| n == size);
            let Some(&(last, _)) = ids.last().filter(|_| full) else {
                continue;
            };
            let event = WebhookEvent::BatchCompleted { item_ids: ids.iter().map(|(_, item)| *item).collect() };
            let text = body(project_id, &event, now);
            insert_delivery(tx, webhook_id, EventKind::BatchCompleted.as_str(), &text, now).await?;
            sqlx::query("UPDATE webhooks SET batch_after = $1 WHERE id = $2")
                .bind(last)
                .bind(webhook_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
);

tx_fn!(
    /// Called when an edited label makes a complete item want more labels: it is complete no
    /// more, and announces itself again once it is.
    pub(crate) reopen_item(tx, item_id: i64) -> () {
        sqlx::query("DELETE FROM webhook_completions WHERE item_id = $1")
            .bind(item_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
);
