//! Webhooks: their configuration and the queue of deliveries.
//!
//! An event is turned into one delivery row per subscribed webhook, in the transaction of
//! whatever made it happen where there is one, so a label and its `item.completed` commit
//! together (`webhook_events` makes those events). The worker (src/webhooks.rs) claims due
//! rows and records each attempt.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use tracing::instrument;

use super::audit::record_audit;
use super::{in_write_tx, on_pool, tx_fn, Store};
use crate::domain::audit::Entry;
use crate::domain::now_ms;
use crate::domain::webhook::{body, Attempt, DeliveryStatus, EventKind, NewWebhook, WebhookEvent};
use crate::error::{AppError, Result};

/// A webhook as pages and the API show it: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub batch_size: i64,
    pub created_at: i64,
}

/// One entry of the delivery log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// When the next attempt is due (epoch ms), while the delivery is pending.
    pub next_attempt_at: Option<i64>,
    /// The receiver's HTTP status at the last attempt, when it answered.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: i64,
    /// When it was delivered or given up.
    pub finished_at: Option<i64>,
    /// The body sent, as JSON.
    #[schema(value_type = Object)]
    pub body: Value,
}

/// A delivery claimed by a worker, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub event: String,
    pub body: String,
    /// Attempts made, this one included.
    pub attempts: i64,
}

type DeliveryRow = (
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
    String,
);

fn delivery(row: DeliveryRow) -> Delivery {
    let (
        id,
        webhook_id,
        event,
        status,
        attempts,
        next,
        last_status,
        last_error,
        created,
        finished,
        text,
    ) = row;
    let status = DeliveryStatus::from_stored(&status);
    Delivery {
        id,
        webhook_id,
        event,
        status,
        attempts,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(next),
        last_status,
        last_error,
        created_at: created,
        finished_at: finished,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

const DELIVERY_COLUMNS: &str =
    "d.id, d.webhook_id, d.event, d.status, d.attempts, d.next_attempt_at,
    d.last_status, d.last_error, d.created_at, d.finished_at, d.body";

/// id, url, batch_size, created_at.
type HookRow = (i64, String, i64, i64);

/// The webhooks of a project subscribed to an event.
pub(super) const SUBSCRIBED: &str =
    "FROM webhooks w JOIN webhook_subscriptions s ON s.webhook_id = w.id
    WHERE w.project_id = $1 AND s.event = $2";

impl Store {
    /// Stores a checked webhook with its secret. Batches count the items completed from now on.
    #[instrument(skip_all, fields(project = project_id))]
    pub async fn create_webhook(
        &self,
        project_id: i64,
        hook: &NewWebhook,
        secret: &str,
        entry: &Entry,
    ) -> Result<Webhook> {
        let now = now_ms();
        let id = in_write_tx!(self, tx, _lock => {
            let last: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM webhook_completions WHERE project_id = $1")
                .bind(project_id)
                .fetch_one(&mut *tx)
                .await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO webhooks (project_id, url, secret, batch_size, batch_after, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(project_id)
            .bind(&hook.url)
            .bind(secret)
            .bind(hook.batch_size)
            .bind(last.unwrap_or(0))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for event in &hook.events {
                sqlx::query("INSERT INTO webhook_subscriptions (webhook_id, event) VALUES ($1, $2)")
                    .bind(id)
                    .bind(event.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
            let entry = entry.clone().project(project_id).target("webhook", id).details(
                serde_json::json!({ "url": hook.url, "events": events, "batch_size": hook.batch_size }),
            );
            record_audit(&mut tx, &entry).await?;
            id
        });
        Ok(Webhook {
            id,
            url: hook.url.clone(),
            events: hook.events.iter().map(|e| e.as_str().to_string()).collect(),
            batch_size: hook.batch_size,
            created_at: now,
        })
    }

    /// A project's webhooks, oldest first.
    pub async fn webhooks(&self, project_id: i64) -> Result<Vec<Webhook>> {
        let (hooks, subscriptions): (Vec<HookRow>, Vec<(i64, String)>) = on_pool!(self, pool => {(
            sqlx::query_as("SELECT id, url, batch_size, created_at FROM webhooks WHERE project_id = $1 ORDER BY id")
                .bind(project_id)
                .fetch_all(pool)
                .await?,
            sqlx::query_as(
                "SELECT s.webhook_id, s.event FROM webhook_subscriptions s JOIN webhooks w ON w.id = s.webhook_id
                 WHERE w.project_id = $1",
            )
            .bind(project_id)
            .fetch_all(pool)
            .await?,
        )});
        let mut events: BTreeMap<i64, Vec<EventKind>> = BTreeMap::new();
        for (id, name) in subscriptions {
            events
                .entry(id)
                .or_default()
                .extend(EventKind::parse(&name));
        }
        Ok(hooks
            .into_iter()
            .map(|(id, url, batch_size, created_at)| {
                let mut kinds = events.remove(&id).unwrap_or_default();
                kinds.sort();
                Webhook {
                    id,
                    url,
                    events: kinds.iter().map(|k| k.as_str().to_string()).collect(),
                    batch_size,
                    created_at,
                }
            })
            .collect())
    }

    /// Fails with 404 unless the project has this webhook.
    pub async fn require_webhook(&self, project_id: i64, webhook_id: i64) -> Result<()> {
        let found: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM webhooks WHERE id = $1 AND project_id = $2")
                .bind(webhook_id)
                .bind(project_id)
                .fetch_optional(pool)
                .await?
        });
        found
            .map(|_| ())
            .ok_or_else(|| AppError::not_found("webhook"))
    }

    /// Removes a webhook with its deliveries, pending ones included; false when there was none.
    pub async fn delete_webhook(
        &self,
        project_id: i64,
        webhook_id: i64,
        entry: &Entry,
    ) -> Result<bool> {
        let deleted = in_write_tx!(self, tx, _lock => {
            let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND project_id = $2")
                .bind(webhook_id)
                .bind(project_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted > 0 {
                let entry = entry.clone().project(project_id).target("webhook", webhook_id);
                record_audit(&mut tx, &entry).await?;
            }
            deleted
        });
        Ok(deleted > 0)
    }

    /// Queues an event for every webhook of the project subscribed to it; returns how many
    /// deliveries were queued. Deliveries are rows, so they are sent even after a restart.
    /// A caller whose own action already succeeded should log an error here rather than
    /// fail (see [`Store::notify_webhooks`]).
    #[instrument(skip_all, fields(project = project_id, event = event.kind().as_str()))]
    pub async fn enqueue_webhook_event(
        &self,
        project_id: i64,
        event: &WebhookEvent,
    ) -> Result<u64> {
        let now = now_ms();
        Ok(in_write_tx!(self, tx, _lock => {
            enqueue_event(&mut tx, project_id, event, now).await?
        }))
    }

    /// [`Store::enqueue_webhook_event`] for callers whose main action is done: a failure is
    /// logged, never returned.
    pub async fn notify_webhooks(&self, project_id: i64, event: &WebhookEvent) {
        if let Err(e) = self.enqueue_webhook_event(project_id, event).await {
            tracing::error!(project = project_id, event = event.kind().as_str(), error = %e, "queueing a webhook event failed");
        }
    }

    /// Queues the test button's `ping` for one webhook; returns the delivery's id.
    pub async fn enqueue_ping(&self, project_id: i64, webhook_id: i64) -> Result<i64> {
        self.require_webhook(project_id, webhook_id).await?;
        let now = now_ms();
        let text = body(project_id, &WebhookEvent::Ping { webhook_id }, now);
        Ok(in_write_tx!(self, tx, _lock => {
            insert_delivery(&mut tx, webhook_id, EventKind::Ping.as_str(), &text, now).await?
        }))
    }

    /// The latest deliveries of a project, or of one of its webhooks, newest first.
    pub async fn webhook_deliveries(
        &self,
        project_id: i64,
        webhook_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE w.project_id = $1 AND ($2 IS NULL OR d.webhook_id = $2) ORDER BY d.id DESC LIMIT $3"
        );
        let rows: Vec<DeliveryRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(project_id).bind(webhook_id).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(delivery).collect())
    }

    /// Claims up to `limit` deliveries that are due at `now`: each counts one more attempt
    /// and is not due again for `lease_ms`, so a worker that dies mid-call leaves it to be
    /// tried again later. On PostgreSQL several tally processes claim without overlap.
    pub async fn claim_due_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<DueDelivery>> {
        let claim = |skip_locked: &str| {
            format!(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $2
                 WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
                              ORDER BY next_attempt_at, id LIMIT $3{skip_locked})
                 RETURNING id, webhook_id, event, body, attempts"
            )
        };
        let sqlite_sql = claim("");
        let postgres_sql = claim(" FOR UPDATE SKIP LOCKED");
        let lease_end = now.saturating_add(lease_ms);
        let rows: Vec<(i64, i64, String, String, i64, String, String)> = in_write_tx!(self, tx, lock => {
            let sql = if lock.is_empty() { &sqlite_sql } else { &postgres_sql };
            let claimed: Vec<(i64, i64, String, String, i64)> = sqlx::query_as(sql)
                .bind(now)
                .bind(lease_end)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            let mut rows = Vec::with_capacity(claimed.len());
            for (id, webhook_id, event, text, attempts) in claimed {
                let (url, secret): (String, String) = sqlx::query_as("SELECT url, secret FROM webhooks WHERE id = $1")
                    .bind(webhook_id)
                    .fetch_one(&mut *tx)
                    .await?;
                rows.push((id, webhook_id, event, text, attempts, url, secret));
            }
            rows
        });
        Ok(rows
            .into_iter()
            .map(|(id, _, event, body, attempts, url, secret)| DueDelivery {
                id,
                url,
                secret,
                event,
                body,
                attempts,
            })
            .collect())
    }

    /// Forgets deliveries delivered or given up before `before` (epoch ms), so the log
    /// does not grow without end; returns how many.
    pub async fn prune_finished_deliveries(&self, before: i64) -> Result<u64> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Records an attempt's outcome: delivered, failed for good, or pending until `next_at`.
    pub async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &Attempt,
        status: DeliveryStatus,
        next_at: Option<i64>,
        now: i64,
    ) -> Result<()> {
        let finished = (status != DeliveryStatus::Pending).then_some(now);
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, last_status = $3,
                     last_error = $4, finished_at = $5
                 WHERE id = $6 AND status = 'pending'",
            )
            .bind(status.as_str())
            .bind(next_at.unwrap_or(now))
            .bind(attempt.status.map(i64::from))
            .bind(attempt.error.as_deref())
            .bind(finished)
            .bind(delivery_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

tx_fn!(
    /// Queues a delivery for one webhook; returns its id.
    pub(super) insert_delivery(tx, webhook_id: i64, event: &str, text: &str, now: i64) -> i64 {
        Ok(sqlx::query_scalar(
            "INSERT INTO webhook_deliveries (webhook_id, event, body, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(webhook_id)
        .bind(event)
        .bind(text)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
    }
);

tx_fn!(
    /// Queues an event for every webhook of the project subscribed to it, inside the
    /// caller's transaction; returns how many deliveries were queued.
    pub(super) enqueue_event(tx, project_id: i64, event: &WebhookEvent, now: i64) -> u64 {
        let kind = event.kind().as_str();
        let text = body(project_id, event, now);
        let queued: Vec<i64> = sqlx::query_scalar(&format!(
            "INSERT INTO webhook_deliveries (webhook_id, event, body, next_attempt_at, created_at)
             SELECT w.id, $2, $3, $4, $4 {SUBSCRIBED} RETURNING id"
        ))
        .bind(project_id)
        .bind(kind)
        .bind(text.as_str())
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
        Ok(queued.len() as u64)
    }
);
