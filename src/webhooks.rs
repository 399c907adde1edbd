//! The webhook worker, a task beside the server: it sends the deliveries that are due, with
//! their signature, records what each attempt came to and schedules retries; and once in a
//! while it looks at the projects' feedback sources, to announce those that fall silent or
//! drift. Everything it knows is in the database, so a restarted server (or another tally
//! process on the same PostgreSQL) picks up where it stopped.

use std::time::Duration;

use anyhow::Context;
use futures::future::join_all;
use reqwest::header::{CONTENT_TYPE, LOCATION, USER_AGENT};
use reqwest::redirect::Policy;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::feedback::assess;
use crate::domain::now_ms;
use crate::domain::webhook::{
    after_attempt, short_error, signature, Attempt, Backoff, DELIVERY_HEADER, EVENT_HEADER,
    SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use crate::error::Result;
use crate::store::webhooks::DueDelivery;
use crate::store::Store;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How often it looks for due deliveries.
    pub poll_interval: Duration,
    /// How often it judges the feedback sources of projects that listen for them.
    pub sweep_interval: Duration,
    /// How long one call may take, connection included.
    pub timeout: Duration,
    pub backoff: Backoff,
    /// Deliveries claimed (and sent side by side) at once.
    pub batch: i64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            poll_interval: Duration::from_secs(1),
            sweep_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            backoff: Backoff::default(),
            batch: 16,
        }
    }
}

/// How long the log keeps a delivery after it was delivered or given up: 30 days.
pub const KEEP_FINISHED_MS: i64 = 30 * 86_400_000;

/// The most of a failed answer's body kept for the delivery log.
const MAX_ANSWER_BYTES: usize = 1024;

/// A running worker; [`WorkerHandle::stop`] ends it between two rounds.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Asks the worker to stop and waits until it has. A delivery it was sending is finished
    /// and recorded first.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the webhook worker ended abnormally");
        }
    }
}

/// The HTTP client of deliveries: no redirects (a receiver that moved must be edited, and a
/// redirect could lead anywhere, another scheme included), a timeout on every call.
pub fn client(settings: &WebhookSettings) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .build()
        .context("building the webhook HTTP client")
}

/// Starts the worker on the current runtime.
pub fn spawn(store: Store, settings: WebhookSettings) -> anyhow::Result<WorkerHandle> {
    let client = client(&settings)?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(store, settings, client, stopped));
    Ok(WorkerHandle { stop, task })
}

async fn run(
    store: Store,
    settings: WebhookSettings,
    client: reqwest::Client,
    mut stopped: watch::Receiver<bool>,
) {
    let mut poll = tokio::time::interval(settings.poll_interval);
    let mut sweep = tokio::time::interval(settings.sweep_interval);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The work runs outside the select, so stopping never cuts a call short.
        let sweep_now = tokio::select! {
            _ = stopped.changed() => return,
            _ = poll.tick() => false,
            _ = sweep.tick() => true,
        };
        if !sweep_now {
            deliver_all_due(&store, &client, &settings).await;
            continue;
        }
        if let Err(e) = sweep_sources(&store, now_ms()).await {
            tracing::warn!(error = %e, "judging feedback sources for webhooks failed");
        }
        let before = now_ms().saturating_sub(KEEP_FINISHED_MS);
        if let Err(e) = store.prune_finished_deliveries(before).await {
            tracing::warn!(error = %e, "forgetting old webhook deliveries failed");
        }
    }
}

/// Sends rounds of due deliveries until none is left.
async fn deliver_all_due(store: &Store, client: &reqwest::Client, settings: &WebhookSettings) {
    loop {
        match deliver_due(store, client, settings).await {
            Ok(sent) if i64::try_from(sent).is_ok_and(|n| n >= settings.batch) => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "sending webhook deliveries failed");
                return;
            }
        }
    }
}

/// One round: claims the deliveries due now, sends them side by side and records each
/// outcome. Returns how many were sent.
pub async fn deliver_due(
    store: &Store,
    client: &reqwest::Client,
    settings: &WebhookSettings,
) -> Result<usize> {
    let now = now_ms();
    // A claim outlives the longest call, so only a worker that died gives its claims up.
    let lease_ms = i64::try_from(settings.timeout.as_millis())
        .unwrap_or(i64::MAX / 4)
        .saturating_mul(2)
        .saturating_add(5_000);
    let due = store
        .claim_due_deliveries(now, lease_ms, settings.batch)
        .await?;
    let attempts = join_all(due.iter().map(|d| attempt(client, d))).await;
    for (delivery, attempt) in due.iter().zip(&attempts) {
        let finished = now_ms();
        let (status, next_at) =
            after_attempt(attempt, delivery.attempts, finished, &settings.backoff);
        tracing::info!(
            delivery = delivery.id,
            event = delivery.event,
            attempt = delivery.attempts,
            status = status.as_str(),
            answer = attempt.status,
            "webhook delivery attempted"
        );
        store
            .record_attempt(delivery.id, attempt, status, next_at, finished)
            .await?;
    }
    Ok(due.len())
}

/// Makes one call: the exact stored body, signed, with the event, the delivery id and the time.
async fn attempt(client: &reqwest::Client, delivery: &DueDelivery) -> Attempt {
    let sent = client
        .post(&delivery.url)
        .header(CONTENT_TYPE, "application/json")
        .header(
            USER_AGENT,
            concat!("tally-webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .header(
            SIGNATURE_HEADER,
            signature(&delivery.secret, delivery.body.as_bytes()),
        )
        .header(EVENT_HEADER, &delivery.event)
        .header(DELIVERY_HEADER, delivery.id.to_string())
        .header(TIMESTAMP_HEADER, (now_ms() / 1000).to_string())
        .body(delivery.body.clone())
        .send()
        .await;
    match sent {
        Ok(answer) => judge_answer(answer).await,
        Err(e) => Attempt {
            status: None,
            error: Some(short_error(&error_chain(&e))),
        },
    }
}

async fn judge_answer(mut answer: reqwest::Response) -> Attempt {
    let status = answer.status();
    if status.is_success() {
        return Attempt {
            status: Some(status.as_u16()),
            error: None,
        };
    }
    let error = if status.is_redirection() {
        let to = answer
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("nowhere");
        format!("{status}: redirected to {to}; tally does not follow redirects, give the final URL")
    } else {
        let mut start = Vec::new();
        // Only the start of an answer is read: a receiver cannot make tally hold much.
        while start.len() < MAX_ANSWER_BYTES {
            match answer.chunk().await {
                Ok(Some(chunk)) => start.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        start.truncate(MAX_ANSWER_BYTES);
        format!("{status}: {}", String::from_utf8_lossy(&start))
    };
    Attempt {
        status: Some(status.as_u16()),
        error: Some(short_error(&error)),
    }
}

/// An error with its causes, which say what went wrong (refused, timed out, bad certificate).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Judges the feedback sources of every project with a webhook listening for them, as the
/// project page would at `now`, and queues an event for each source that has just fallen
/// silent or started drifting. Returns how many deliveries were queued.
pub async fn sweep_sources(store: &Store, now: i64) -> Result<u64> {
    let mut queued = 0;
    for project_id in store.projects_watching_sources().await? {
        for counts in store.source_counts(project_id, now).await? {
            let health = assess(counts, now);
            queued += store.record_source_health(project_id, &health, now).await?;
        }
    }
    Ok(queued)
}
