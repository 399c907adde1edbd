//! Webhooks: a receiver on 127.0.0.1 records every call, and each test checks what a
//! receiver would: which events arrive, with which body, signed with the secret, how often,
//! and what the delivery log and the project page say.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use tally::domain::feedback::FeedbackEvent;
use tally::domain::now_ms;
use tally::domain::webhook::Backoff;
use tally::webhooks::{spawn, sweep_sources, WebhookSettings, WorkerHandle};
use tally::Store;

use crate::harness::{attr_of, select_text, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_completed_item_is_announced_once_and_signed,
    every_n_completed_items_make_a_batch,
    a_batch_counts_only_items_completed_after_its_webhook,
    concurrent_completions_fill_batches_without_gaps_or_repeats,
    an_edit_that_reopens_an_item_announces_it_again_when_complete,
    the_test_call_delivers_a_ping,
    a_new_dataset_version_is_announced_with_its_hash,
    a_failing_receiver_is_retried_with_backoff_then_served,
    a_delivery_that_keeps_failing_is_given_up_and_logged,
    pending_deliveries_are_sent_after_a_restart,
    silent_and_drifting_sources_are_announced_once_per_change,
    webhooks_are_checked_listed_and_removed,
    the_project_page_adds_tests_and_logs_webhooks,
);

/// One call the receiver got.
#[derive(Debug, Clone)]
struct Call {
    at: Instant,
    event: String,
    delivery: String,
    signature: String,
    timestamp: String,
    content_type: String,
    body: Vec<u8>,
}

impl Call {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    /// Statuses to answer with before answering 200.
    answers: Arc<Mutex<VecDeque<u16>>>,
}

/// A webhook receiver on 127.0.0.1.
struct Receiver {
    url: String,
    recorder: Recorder,
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn receive(
    State(recorder): State<Recorder>,
    headers: HeaderMap,
    body: Bytes,
) -> (AxumStatus, &'static str) {
    recorder.calls.lock().unwrap().push(Call {
        at: Instant::now(),
        event: header(&headers, "x-tally-event"),
        delivery: header(&headers, "x-tally-delivery"),
        signature: header(&headers, "x-tally-signature"),
        timestamp: header(&headers, "x-tally-timestamp"),
        content_type: header(&headers, "content-type"),
        body: body.to_vec(),
    });
    let next = recorder.answers.lock().unwrap().pop_front().unwrap_or(200);
    let status = AxumStatus::from_u16(next).unwrap();
    (status, "<b>boom</b> receiver says no")
}

impl Receiver {
    async fn start() -> Receiver {
        let recorder = Recorder::default();
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(recorder.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            recorder,
        }
    }

    /// The next `n` calls are answered with `status`.
    fn fail_next(&self, n: usize, status: u16) {
        self.recorder
            .answers
            .lock()
            .unwrap()
            .extend(std::iter::repeat_n(status, n));
    }

    fn calls(&self) -> Vec<Call> {
        self.recorder.calls.lock().unwrap().clone()
    }

    /// Waits (at most ten seconds) until `n` calls have come.
    async fn wait_for(&self, n: usize) -> Vec<Call> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let calls = self.calls();
            if calls.len() >= n || Instant::now() > deadline {
                assert_eq!(calls.len(), n, "calls received: {calls:?}");
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A fast worker: retries after 100 ms, 200 ms, then gives up after the 3rd attempt.
fn settings() -> WebhookSettings {
    WebhookSettings {
        poll_interval: Duration::from_millis(20),
        sweep_interval: Duration::from_secs(3600),
        timeout: Duration::from_secs(5),
        backoff: Backoff {
            base_ms: 100,
            cap_ms: 200,
            max_attempts: 3,
        },
        batch: 8,
    }
}

fn worker(app: &TestApp) -> WorkerHandle {
    spawn(app.store.clone(), settings()).expect("worker")
}

/// The signature a receiver computes, with the HMAC crate itself.
fn expected_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Makes a webhook through the API; returns its id and secret.
async fn webhook(admin: &Api, pid: i64, body: Value) -> (i64, String) {
    let made = admin
        .post_json(&format!("/api/v1/projects/{pid}/webhooks"), &body)
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    (
        made["id"].as_i64().unwrap(),
        made["secret"].as_str().unwrap().to_string(),
    )
}

async fn deliveries(admin: &Api, pid: i64, wid: i64) -> Vec<Value> {
    let log = admin
        .get(&format!("/api/v1/projects/{pid}/webhooks/{wid}/deliveries"))
        .await;
    assert_eq!(log.status(), StatusCode::OK);
    log.json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the webhook's newest delivery has the status.
async fn wait_for_status(admin: &Api, pid: i64, wid: i64, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = deliveries(admin, pid, wid).await;
        if log.first().is_some_and(|d| d["status"] == status) || Instant::now() > deadline {
            assert_eq!(log[0]["status"], status, "{log:?}");
            return log[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Labels the next item for a rater; returns its id.
async fn label_next(rater: &Api, pid: i64) -> i64 {
    let item = rater.next(pid).await.expect("an item to label");
    let answer = rater.label(pid, item, "pos").await;
    assert_eq!(answer.status(), StatusCode::CREATED);
    item
}

async fn a_completed_item_is_announced_once_and_signed(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["one", "two"]).await;
    let receiver = Receiver::start().await;
    let (wid, secret) = webhook(
        &admin,
        pid,
        json!({"url": receiver.url, "events": ["item.completed"]}),
    )
    .await;
    let (ann, bob) = (app.rater("ann").await, app.rater("bob").await);
    let item = label_next(&ann, pid).await;
    assert_eq!(
        app.count("SELECT count(*) FROM webhook_deliveries").await,
        0,
        "one label of two is not complete"
    );
    assert_eq!(label_next(&bob, pid).await, item);
    assert_eq!(
        app.count("SELECT count(*) FROM webhook_deliveries").await,
        1,
        "the event is queued with the label"
    );

    let worker = worker(&app);
    let call = receiver.wait_for(1).await.remove(0);
    assert_eq!(call.event, "item.completed");
    assert_eq!(call.content_type, "application/json");
    assert_eq!(call.signature, expected_signature(&secret, &call.body));
    assert_ne!(
        call.signature,
        expected_signature("another secret", &call.body)
    );
    assert!(call.timestamp.parse::<i64>().unwrap() >= now_ms() / 1000 - 60);
    let body = call.json();
    assert_eq!(body["event"], "item.completed");
    assert_eq!(body["project_id"], pid);
    assert!(body["occurred_at"].as_i64().unwrap() > 0);
    assert_eq!(body["data"]["item_id"], item);
    assert_eq!(body["data"]["external_id"], "x1");
    assert_eq!(body["data"]["labels"], 2);

    let logged = wait_for_status(&admin, pid, wid, "delivered").await;
    assert_eq!(logged["id"].to_string(), call.delivery);
    assert_eq!(logged["last_status"], 200);
    assert_eq!(logged["attempts"], 1);
    assert_eq!(logged["body"], body);
    tokio::time::sleep(Duration::from_millis(200)).await;
    worker.stop().await;
    assert_eq!(receiver.calls().len(), 1, "announced once");
}

async fn every_n_completed_items_make_a_batch(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_with_items(&admin, 1, &["a", "b", "c", "d", "e"])
        .await;
    let receiver = Receiver::start().await;
    let (_, secret) = webhook(
        &admin,
        pid,
        json!({"url": receiver.url, "events": ["batch.completed"], "batch_size": 2}),
    )
    .await;
    let rater = app.rater("ann").await;
    let mut items = Vec::new();
    for _ in 0..5 {
        items.push(label_next(&rater, pid).await);
    }
    let worker = worker(&app);
    let mut calls = receiver.wait_for(2).await;
    calls.sort_by_key(|c| c.delivery.parse::<i64>().unwrap());
    for (call, expected) in calls.iter().zip([&items[0..2], &items[2..4]]) {
        assert_eq!(call.event, "batch.completed");
        assert_eq!(call.signature, expected_signature(&secret, &call.body));
        let data = &call.json()["data"];
        assert_eq!(data["batch_size"], 2);
        assert_eq!(data["item_ids"], json!(expected));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.calls().len(),
        2,
        "the fifth item waits for a sixth"
    );
    worker.stop().await;
}

async fn a_batch_counts_only_items_completed_after_its_webhook(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_with_items(&admin, 1, &["a", "b", "c", "d", "e"])
        .await;
    let rater = app.rater("ann").await;
    for _ in 0..3 {
        label_next(&rater, pid).await;
    }
    assert_eq!(
        app.count("SELECT count(*) FROM webhook_completions").await,
        0,
        "with no webhook, no one is told and nothing is kept for them"
    );
    let receiver = Receiver::start().await;
    webhook(
        &admin,
        pid,
        json!({"url": receiver.url, "events": ["batch.completed"], "batch_size": 2}),
    )
    .await;
    let later = vec![label_next(&rater, pid).await, label_next(&rater, pid).await];
    let worker = worker(&app);
    let calls = receiver.wait_for(1).await;
    assert_eq!(calls[0].json()["data"]["item_ids"], json!(later));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.calls().len(),
        1,
        "the three items before the webhook make no batch"
    );
    worker.stop().await;
}

async fn concurrent_completions_fill_batches_without_gaps_or_repeats(app: TestApp) {
    let admin = app.admin().await;
    let texts: Vec<String> = (0..12).map(|i| format!("item {i}")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pid = app.project_with_items(&admin, 1, &texts).await;
    webhook(
        &admin,
        pid,
        json!({"url": "http://127.0.0.1:9/hook", "events": ["batch.completed"], "batch_size": 3}),
    )
    .await;
    let raters = app.raters(&["ann", "bob", "cy", "dee"]).await;
    let work = raters.iter().map(|rater| async move {
        let mut done = Vec::new();
        for _ in 0..3 {
            done.push(label_next(rater, pid).await);
        }
        done
    });
    let mut labelled: Vec<i64> = futures::future::join_all(work)
        .await
        .into_iter()
        .flatten()
        .collect();
    labelled.sort();
    let mut batched: Vec<i64> = Vec::new();
    for delivery in app.store.webhook_deliveries(pid, None, 100).await.unwrap() {
        let ids = delivery.body["data"]["item_ids"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(ids.len(), 3);
        batched.extend(ids.iter().map(|id| id.as_i64().unwrap()));
    }
    batched.sort();
    assert_eq!(batched, labelled, "every item in exactly one batch");
}

async fn an_edit_that_reopens_an_item_announces_it_again_when_complete(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Dynamic", "labels": ["pos", "neg"], "overlap": 2, "min_overlap": 2,
                   "max_overlap": 3, "edit_window_seconds": 600}),
            json!([{"external_id": "d1", "data": {"text": "one"}}]),
        )
        .await;
    webhook(
        &admin,
        pid,
        json!({"url": "http://127.0.0.1:9/hook", "events": ["item.completed"]}),
    )
    .await;
    let completed =
        || app.count("SELECT count(*) FROM webhook_deliveries WHERE event = 'item.completed'");
    let (r1, r2, r3) = (
        app.rater("r1").await,
        app.rater("r2").await,
        app.rater("r3").await,
    );
    let item = label_next(&r1, pid).await;
    assert_eq!(label_next(&r2, pid).await, item);
    assert_eq!(completed().await, 1, "two agreeing labels complete it");

    // r2 changes to "neg": a tie wants a third label, so the item is open again...
    let edited = r2
        .client
        .put(format!(
            "{}/api/v1/projects/{pid}/items/{item}/labels",
            r2.base
        ))
        .bearer_auth(&r2.token)
        .json(&json!({"value": "neg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    assert_eq!(completed().await, 1);
    // ...and complete again with it, which is announced again.
    assert_eq!(label_next(&r3, pid).await, item);
    assert_eq!(completed().await, 2);
}

async fn a_new_dataset_version_is_announced_with_its_hash(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a", "b"]).await;
    let receiver = Receiver::start().await;
    let (_, secret) = webhook(
        &admin,
        pid,
        json!({"url": receiver.url, "events": ["dataset_version.created"]}),
    )
    .await;
    let worker = worker(&app);
    let export = admin
        .get(&format!("/api/v1/projects/{pid}/export?format=csv"))
        .await;
    let version: i64 = export.headers()["x-tally-dataset-version"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = export.bytes().await.unwrap();
    let call = receiver.wait_for(1).await.remove(0);
    assert_eq!(call.event, "dataset_version.created");
    assert_eq!(call.signature, expected_signature(&secret, &call.body));
    let data = &call.json()["data"];
    assert_eq!(data["version_id"], version);
    assert_eq!(data["format"], "csv");
    assert_eq!(data["rows"], 2);
    use sha2::Digest;
    assert_eq!(data["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    worker.stop().await;
}

async fn the_test_call_delivers_a_ping(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    let receiver = Receiver::start().await;
    let (wid, secret) = webhook(&admin, pid, json!({"url": receiver.url})).await;
    let worker = worker(&app);
    let queued = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/webhooks/{wid}/test"),
            &json!({}),
        )
        .await;
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let queued: Value = queued.json().await.unwrap();
    let call = receiver.wait_for(1).await.remove(0);
    assert_eq!(call.event, "ping");
    assert_eq!(call.delivery, queued["delivery_id"].to_string());
    assert_eq!(call.signature, expected_signature(&secret, &call.body));
    assert_eq!(call.json()["data"]["webhook_id"], wid);
    let missing = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/webhooks/999999/test"),
            &json!({}),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    worker.stop().await;
}

async fn a_failing_receiver_is_retried_with_backoff_then_served(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(2, 500);
    let (wid, secret) = webhook(&admin, pid, json!({"url": receiver.url})).await;
    let worker = worker(&app);
    admin
        .post_json(
            &format!("/api/v1/projects/{pid}/webhooks/{wid}/test"),
            &json!({}),
        )
        .await;
    let calls = receiver.wait_for(3).await;
    assert!(
        calls.iter().all(|c| c.delivery == calls[0].delivery
            && c.body == calls[0].body
            && c.signature == expected_signature(&secret, &c.body)),
        "the same delivery, signed alike, each time"
    );
    let waits = [calls[1].at - calls[0].at, calls[2].at - calls[1].at];
    // The store keeps times in whole milliseconds, so a retry can come up to one
    // millisecond before its delay has passed on the receiver's finer clock.
    assert!(waits[0] >= Duration::from_millis(99), "{waits:?}");
    assert!(waits[1] >= Duration::from_millis(199), "doubled: {waits:?}");
    let logged = wait_for_status(&admin, pid, wid, "delivered").await;
    assert_eq!(logged["attempts"], 3);
    assert_eq!(logged["last_status"], 200);
    worker.stop().await;
}

async fn a_delivery_that_keeps_failing_is_given_up_and_logged(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(10, 503);
    let (wid, _) = webhook(&admin, pid, json!({"url": receiver.url})).await;
    let worker = worker(&app);
    admin
        .post_json(
            &format!("/api/v1/projects/{pid}/webhooks/{wid}/test"),
            &json!({}),
        )
        .await;
    let logged = wait_for_status(&admin, pid, wid, "failed").await;
    assert_eq!(logged["attempts"], 3);
    assert_eq!(logged["last_status"], 503);
    assert!(logged["next_attempt_at"].is_null());
    let error = logged["last_error"].as_str().unwrap();
    assert!(error.contains("<b>boom</b>"), "{error}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.calls().len(), 3, "given up after the last attempt");
    worker.stop().await;
    assert_eq!(
        app.store
            .prune_finished_deliveries(now_ms() - 60_000)
            .await
            .unwrap(),
        0,
        "a delivery given up just now stays in the log"
    );

    // The page shows it failed, with the receiver's answer as text, never as markup.
    let browser = app.signed_in_admin().await;
    let html = browser.page(&format!("/admin/projects/{pid}")).await;
    let row = select_text(&html, "#delivery-log tbody tr").unwrap();
    assert!(row.contains("failed") && row.contains("ping"), "{row}");
    let answer = select_text(&html, "#delivery-log .delivery-answer").unwrap();
    assert!(
        answer.contains("503") && answer.contains("<b>boom</b>"),
        "{answer}"
    );
    assert!(select_text(&html, "#delivery-log b").is_none());

    // Old finished deliveries are forgotten; pending ones never are.
    admin
        .post_json(
            &format!("/api/v1/projects/{pid}/webhooks/{wid}/test"),
            &json!({}),
        )
        .await;
    assert_eq!(
        app.store
            .prune_finished_deliveries(now_ms() + 60_000)
            .await
            .unwrap(),
        1
    );
    let left = deliveries(&admin, pid, wid).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["status"], "pending");
}

async fn pending_deliveries_are_sent_after_a_restart(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    let receiver = Receiver::start().await;
    receiver.fail_next(1, 500);
    let (wid, secret) = webhook(&admin, pid, json!({"url": receiver.url})).await;
    let first = spawn(
        app.store.clone(),
        WebhookSettings {
            backoff: Backoff {
                base_ms: 500,
                cap_ms: 500,
                max_attempts: 3,
            },
            ..settings()
        },
    )
    .unwrap();
    admin
        .post_json(
            &format!("/api/v1/projects/{pid}/webhooks/{wid}/test"),
            &json!({}),
        )
        .await;
    receiver.wait_for(1).await;
    first.stop().await;
    assert_eq!(
        wait_for_status(&admin, pid, wid, "pending").await["attempts"],
        1
    );

    // Another process on the same database finds the delivery and sends it.
    let store = Store::connect(&app.database_url).await.unwrap();
    let second = spawn(store.clone(), settings()).unwrap();
    let calls = receiver.wait_for(2).await;
    assert_eq!(calls[1].delivery, calls[0].delivery);
    assert_eq!(
        calls[1].signature,
        expected_signature(&secret, &calls[1].body)
    );
    let logged = wait_for_status(&admin, pid, wid, "delivered").await;
    assert_eq!(logged["attempts"], 2);
    second.stop().await;
    store.close().await;
}

fn feedback(id: &str, item: &str, value: &str, at: i64) -> (usize, Result<FeedbackEvent, String>) {
    let event = FeedbackEvent {
        event_id: id.to_string(),
        external_id: item.to_string(),
        raw_value: value.to_string(),
        source: "clicks".to_string(),
        occurred_at: at,
        weight: 1.0,
        context: Default::default(),
    };
    (1, Ok(event))
}

async fn silent_and_drifting_sources_are_announced_once_per_change(app: TestApp) {
    const DAY: i64 = 86_400_000;
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    let configured = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/sources"),
            &json!({"source": "clicks", "expected_interval_seconds": 60}),
        )
        .await;
    assert_eq!(configured.status(), StatusCode::CREATED);
    webhook(
        &admin,
        pid,
        json!({"url": "http://127.0.0.1:9/hook", "events": ["feedback_source.silent", "feedback_source.drift"]}),
    )
    .await;
    let project = app.store.project(pid).await.unwrap();
    let now = now_ms();
    // A week of "pos", then a last day of "neg": drift; the last event an hour ago: silent.
    let old: Vec<_> = (0..40)
        .map(|i| feedback(&format!("o{i}"), "x1", "pos", 0))
        .collect();
    app.store
        .ingest_feedback_received(&project, old, now - 3 * DAY)
        .await
        .unwrap();
    let recent: Vec<_> = (0..40)
        .map(|i| feedback(&format!("r{i}"), "x1", "neg", 0))
        .collect();
    app.store
        .ingest_feedback_received(&project, recent, now - 3_600_000)
        .await
        .unwrap();
    let count = |event: &'static str| {
        let app = app.clone();
        async move {
            app.count(&format!(
                "SELECT count(*) FROM webhook_deliveries WHERE event = '{event}'"
            ))
            .await
        }
    };

    assert_eq!(sweep_sources(&app.store, now).await.unwrap(), 2);
    assert_eq!(count("feedback_source.silent").await, 1);
    assert_eq!(count("feedback_source.drift").await, 1);
    let body: String = match &app.store {
        Store::Sqlite(b) => sqlx::query_scalar(
            "SELECT body FROM webhook_deliveries WHERE event = 'feedback_source.silent'",
        )
        .fetch_one(&b.pool)
        .await
        .unwrap(),
        Store::Postgres(b) => sqlx::query_scalar(
            "SELECT body FROM webhook_deliveries WHERE event = 'feedback_source.silent'",
        )
        .fetch_one(&b.pool)
        .await
        .unwrap(),
    };
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["data"]["source"], "clicks");
    assert_eq!(body["data"]["expected_interval_seconds"], 60);
    assert_eq!(
        sweep_sources(&app.store, now + 1_000).await.unwrap(),
        0,
        "still silent and drifting: nothing new to say"
    );

    // The source speaks again, then falls silent again: a second silence, announced.
    let fresh = vec![feedback("f1", "x1", "neg", 0)];
    app.store
        .ingest_feedback_received(&project, fresh, now + 2_000)
        .await
        .unwrap();
    assert_eq!(sweep_sources(&app.store, now + 3_000).await.unwrap(), 0);
    assert_eq!(sweep_sources(&app.store, now + 200_000).await.unwrap(), 1);
    assert_eq!(count("feedback_source.silent").await, 2);
    assert_eq!(count("feedback_source.drift").await, 1);
}

async fn webhooks_are_checked_listed_and_removed(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    let path = format!("/api/v1/projects/{pid}/webhooks");
    for (body, field) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "file:///etc/passwd"}), "url"),
        (json!({"url": "https://u:p@example.com/"}), "url"),
        (
            json!({"url": "https://example.com/", "events": ["item.completed", "nope"]}),
            "events[1]",
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "batch_size": 0}),
            "batch_size",
        ),
        (json!({"events": ["ping"]}), "body"),
    ] {
        let refused = admin.post_json(&path, &body).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(refused["field"], field, "{body}: {refused}");
    }
    let rater = app.rater("ann").await;
    let forbidden = rater
        .post_json(&path, &json!({"url": "https://example.com/"}))
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_eq!(rater.get(&path).await.status(), StatusCode::FORBIDDEN);

    let (wid, secret) = webhook(
        &admin,
        pid,
        json!({"url": "https://example.com/hook", "events": ["dataset_version.created"], "batch_size": 7}),
    )
    .await;
    assert!(secret.len() >= 32);
    let listed = admin.get(&path).await.text().await.unwrap();
    assert!(!listed.contains(&secret), "the secret is shown once");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["id"], wid);
    assert_eq!(listed[0]["url"], "https://example.com/hook");
    assert_eq!(listed[0]["events"], json!(["dataset_version.created"]));
    assert_eq!(listed[0]["batch_size"], 7);

    // What the export side calls when it records a dataset version.
    let queued = app
        .store
        .enqueue_webhook_event(
            pid,
            &tally::domain::webhook::WebhookEvent::DatasetVersionCreated {
                version_id: 3,
                format: "parquet".into(),
                rows: 1,
                labels: 1,
                sha256: "00".repeat(32),
            },
        )
        .await
        .unwrap();
    assert_eq!(queued, 1);
    let log = deliveries(&admin, pid, wid).await;
    assert_eq!(log[0]["event"], "dataset_version.created");
    assert_eq!(log[0]["body"]["data"]["version_id"], 3);

    let delete = |wid: i64| {
        admin
            .client
            .delete(format!("{}{path}/{wid}", admin.base))
            .bearer_auth(&admin.token)
            .send()
    };
    assert_eq!(delete(wid).await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(delete(wid).await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("SELECT count(*) FROM webhook_deliveries").await,
        0,
        "its deliveries go with it"
    );
}

async fn the_project_page_adds_tests_and_logs_webhooks(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    let receiver = Receiver::start().await;
    let browser = app.signed_in_admin().await;
    let page = format!("/admin/projects/{pid}");
    let csrf = browser.csrf(&page).await;
    let html = browser.page(&page).await;
    assert!(select_text(&html, "#webhooks h2").is_some_and(|t| t == "Webhooks"));

    let refused = browser
        .post_form(
            &format!("{page}/webhooks"),
            &[
                ("csrf", &csrf),
                ("url", "gopher://example.com"),
                ("item.completed", "on"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(select_text(&html, "#webhook-error")
        .unwrap()
        .contains("http or https"));

    let added = browser
        .post_form(
            &format!("{page}/webhooks"),
            &[
                ("csrf", &csrf),
                ("url", &receiver.url),
                ("item.completed", "on"),
                ("batch.completed", "on"),
                ("batch_size", "5"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let html = added.text().await.unwrap();
    let secret = select_text(&html, "#new-webhook-secret").expect("the secret, once");
    let row = select_text(&html, "#webhook-list tbody tr").unwrap();
    assert!(
        row.contains(&receiver.url) && row.contains("item.completed, batch.completed"),
        "{row}"
    );
    let again = browser.page(&page).await;
    assert!(select_text(&again, "#new-webhook-secret").is_none());
    assert!(!again.contains(&secret));

    let hooks: Value = admin
        .get(&format!("/api/v1/projects/{pid}/webhooks"))
        .await
        .json()
        .await
        .unwrap();
    let wid = hooks[0]["id"].as_i64().unwrap();
    let test_action = format!("{page}/webhooks/{wid}/test");
    assert_eq!(
        attr_of(&again, &format!("form[action=\"{test_action}\"]"), "method").as_deref(),
        Some("post")
    );
    let worker = worker(&app);
    let tested = browser.post_form(&test_action, &[("csrf", &csrf)]).await;
    assert_eq!(tested.status(), StatusCode::SEE_OTHER);
    let call = receiver.wait_for(1).await.remove(0);
    assert_eq!(call.event, "ping");
    assert_eq!(call.signature, expected_signature(&secret, &call.body));
    wait_for_status(&admin, pid, wid, "delivered").await;
    worker.stop().await;
    let html = browser.page(&page).await;
    let logged = select_text(&html, "#delivery-log tbody tr").unwrap();
    assert!(
        logged.contains("ping") && logged.contains("delivered"),
        "{logged}"
    );

    let removed = browser
        .post_form(&format!("{page}/webhooks/{wid}/remove"), &[("csrf", &csrf)])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let html = browser.page(&page).await;
    assert!(select_text(&html, "#webhook-list").is_none());
    let forged = browser
        .post_form(
            &format!("{page}/webhooks"),
            &[("csrf", "forged"), ("url", &receiver.url)],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}
