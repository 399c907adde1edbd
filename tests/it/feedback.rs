//! Process feedback: keys, idempotent events, batches, mapping, exports and source health.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    feedback_keys_are_shown_once_and_good_for_feedback_only,
    events_are_idempotent_mapped_and_checked,
    a_batch_refuses_only_its_bad_lines,
    a_silent_source_is_flagged,
    negative_feedback_goes_first_in_the_queue,
    junk_batches_are_bounded_and_answered_briefly,
);

async fn feedback_project(app: &TestApp, admin: &Api, extra: Value) -> i64 {
    let mut body = json!({"name": "Search results", "labels": ["pos", "neg"], "overlap": 1});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let items = json!([
        {"external_id": "doc-1", "data": {"text": "first"}},
        {"external_id": "doc-2", "data": {"text": "second"}},
        {"external_id": "doc-3", "data": {"text": "third"}}
    ]);
    app.project_from(admin, body, items).await
}

async fn new_key(admin: &Api, pid: i64) -> String {
    let created = admin
        .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string()
}

fn with_key(admin: &Api, key: &str) -> Api {
    Api {
        client: admin.client.clone(),
        base: admin.base.clone(),
        token: key.to_string(),
    }
}

async fn send(api: &Api, pid: i64, event: Value) -> (StatusCode, Value) {
    let response = api
        .post_json(&format!("/api/v1/projects/{pid}/feedback"), &event)
        .await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn feedback_keys_are_shown_once_and_good_for_feedback_only(app: TestApp) {
    let admin = app.admin().await;
    let pid = feedback_project(&app, &admin, json!({})).await;
    let other = feedback_project(&app, &admin, json!({"name": "other"})).await;
    let key = new_key(&admin, pid).await;
    assert!(key.starts_with("tfk_"));
    let stored = app
        .count(&format!(
            "SELECT count(*) FROM feedback_keys WHERE key_hash = '{key}'"
        ))
        .await;
    assert_eq!(stored, 0, "only the hash is stored");
    let feedback = with_key(&admin, &key);
    assert_eq!(
        feedback
            .get(&format!("/api/v1/projects/{pid}"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        feedback
            .get(&format!("/api/v1/projects/{pid}/next"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let event =
        json!({"event_id": "e1", "external_id": "doc-1", "value": "pos", "source": "clicks"});
    assert_eq!(
        send(&feedback, other, event.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let anonymous = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/projects/{pid}/feedback")))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let rater = app.rater("r").await;
    assert_eq!(
        rater
            .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(send(&feedback, pid, event).await.0, StatusCode::CREATED);
}

async fn events_are_idempotent_mapped_and_checked(app: TestApp) {
    let admin = app.admin().await;
    let pid = feedback_project(&app, &admin, json!({})).await;
    let creating = feedback_project(
        &app,
        &admin,
        json!({"name": "open catalogue", "feedback_creates_items": true}),
    )
    .await;
    let configured = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/sources"),
            &json!({"source": "thumbs", "mapping": {"thumbs_up": "pos", "thumbs_down": "neg"}}),
        )
        .await;
    assert_eq!(configured.status(), StatusCode::CREATED);
    let bad_mapping = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/sources"),
            &json!({"source": "x", "mapping": {"meh": "maybe"}}),
        )
        .await;
    assert_eq!(bad_mapping.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let feedback = with_key(&admin, &new_key(&admin, pid).await);

    let event = json!({"event_id": "evt-1", "external_id": "doc-2", "value": "thumbs_up", "source": "thumbs",
                       "occurred_at": "2026-11-28T09:00:00Z", "weight": 0.5, "context": {"position": 2, "variant": "B"}});
    let (status, body) = send(&feedback, pid, event.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["accepted"], 1);
    let (status, body) = send(&feedback, pid, event).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["duplicate"], 1);
    assert_eq!(
        app.count("SELECT count(*) FROM feedback_events").await,
        1,
        "a repeat counts once"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM feedback_events WHERE value = '\"pos\"' AND raw_value = 'thumbs_up'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM labels").await,
        0,
        "feedback is stored apart from human labels"
    );

    let (status, body) = send(&feedback, pid, json!({"event_id": "evt-2", "external_id": "doc-2", "value": "sideways", "source": "thumbs"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().contains("sideways"));
    let (status, body) = send(
        &feedback,
        pid,
        json!({"event_id": "evt-3", "external_id": "doc-99", "value": "pos", "source": "thumbs"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().contains("doc-99"));

    let creator = with_key(&admin, &new_key(&admin, creating).await);
    let (status, _) = send(
        &creator,
        creating,
        json!({"event_id": "c-1", "external_id": "doc-99", "value": "neg", "source": "clicks"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM items WHERE project_id = {creating} AND external_id = 'doc-99'"
        ))
        .await,
        1
    );

    let rows = admin.export(pid).await;
    let doc2 = rows.iter().find(|r| r["external_id"] == "doc-2").unwrap();
    assert_eq!(doc2["labels"], json!([]));
    assert_eq!(doc2["feedback"][0]["source"], "thumbs");
    assert_eq!(doc2["feedback"][0]["value"], "pos");
    assert_eq!(doc2["feedback"][0]["raw_value"], "thumbs_up");
    assert_eq!(doc2["feedback"][0]["weight"], 0.5);
    assert_eq!(doc2["feedback"][0]["context"]["variant"], "B");
}

async fn a_batch_refuses_only_its_bad_lines(app: TestApp) {
    let admin = app.admin().await;
    let pid = feedback_project(&app, &admin, json!({})).await;
    let feedback = with_key(&admin, &new_key(&admin, pid).await);
    send(
        &feedback,
        pid,
        json!({"event_id": "old", "external_id": "doc-1", "value": "pos", "source": "clicks"}),
    )
    .await;
    let batch = [
        r#"{"event_id": "b1", "external_id": "doc-1", "value": "pos", "source": "clicks"}"#,
        r#"{"event_id": "old", "external_id": "doc-1", "value": "pos", "source": "clicks"}"#,
        r#"{"event_id": "b3", "external_id": "doc-2", "value": "pos", "source": "clicks""#,
        r#"{"event_id": "b4", "external_id": "doc-3", "value": "neg", "source": "clicks", "context": {"position": 1}}"#,
        r#"{"event_id": "b5", "external_id": "doc-3", "value": "purple", "source": "clicks"}"#,
    ]
    .join("\n");
    let response = feedback
        .post_raw(
            &format!("/api/v1/projects/{pid}/feedback"),
            "application/x-ndjson",
            batch.into_bytes(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["duplicate"], 1);
    assert_eq!(body["refused"], 2);
    let refusals = body["refusals"].as_array().unwrap();
    assert_eq!(refusals[0]["line"], 3);
    assert!(refusals[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("bad JSON"));
    assert_eq!(refusals[1]["line"], 5);
    assert_eq!(refusals[1]["event_id"], "b5");
    assert!(refusals[1]["reason"].as_str().unwrap().contains("purple"));
    assert_eq!(app.count("SELECT count(*) FROM feedback_events").await, 3);

    let sources: Value = admin
        .get(&format!("/api/v1/projects/{pid}/sources"))
        .await
        .json()
        .await
        .unwrap();
    let clicks = &sources["sources"][0];
    assert_eq!(clicks["source"], "clicks");
    assert_eq!(clicks["events_total"], 3);
    let share = clicks["refused_share"].as_f64().unwrap();
    assert!(
        (share - 1.0 / 4.0).abs() < 1e-9,
        "one refused line named its source, of four: {share}"
    );
}

async fn a_silent_source_is_flagged(app: TestApp) {
    let admin = app.admin().await;
    let pid = feedback_project(&app, &admin, json!({})).await;
    for (source, interval) in [("heartbeat", 1), ("daily", 86_400)] {
        admin
            .post_json(
                &format!("/api/v1/projects/{pid}/sources"),
                &json!({"source": source, "expected_interval_seconds": interval}),
            )
            .await;
    }
    admin
        .post_json(
            &format!("/api/v1/projects/{pid}/sources"),
            &json!({"source": "never", "expected_interval_seconds": 3600}),
        )
        .await;
    let feedback = with_key(&admin, &new_key(&admin, pid).await);
    for (i, source) in ["heartbeat", "daily"].iter().enumerate() {
        let event = json!({"event_id": format!("s{i}"), "external_id": "doc-1", "value": "pos", "source": source});
        assert_eq!(send(&feedback, pid, event).await.0, StatusCode::CREATED);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let sources: Value = admin
        .get(&format!("/api/v1/projects/{pid}/sources"))
        .await
        .json()
        .await
        .unwrap();
    let by_name = |name: &str| {
        sources["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("heartbeat")["silent"], true);
    assert_eq!(by_name("heartbeat")["flags"], json!(["silent"]));
    assert_eq!(by_name("daily")["silent"], false);
    assert_eq!(
        by_name("never")["silent"],
        true,
        "a source that never spoke is silent"
    );
    assert!(by_name("daily")["last_event_at"].as_i64().is_some());
}

async fn negative_feedback_goes_first_in_the_queue(app: TestApp) {
    let admin = app.admin().await;
    let pid = feedback_project(
        &app,
        &admin,
        json!({"feedback_first": true, "negative_labels": ["neg"]}),
    )
    .await;
    let feedback = with_key(&admin, &new_key(&admin, pid).await);
    send(
        &feedback,
        pid,
        json!({"event_id": "n1", "external_id": "doc-3", "value": "neg", "source": "complaints"}),
    )
    .await;
    send(
        &feedback,
        pid,
        json!({"event_id": "p1", "external_id": "doc-2", "value": "pos", "source": "complaints"}),
    )
    .await;
    let rater = app.rater("r1").await;
    let first: Value = rater
        .get(&format!("/api/v1/projects/{pid}/next"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        first["item"]["external_id"], "doc-3",
        "the item with negative feedback comes first"
    );
    let bad = admin
        .post_json(
            "/api/v1/projects",
            &json!({"name": "x", "labels": ["a", "b"], "negative_labels": ["c"]}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

mod item_review {
    use super::*;
    use crate::harness::select_text;
    use tally::domain::user::Role;

    crate::on_both_backends!(admins_see_labels_and_feedback_side_by_side);

    async fn admins_see_labels_and_feedback_side_by_side(app: TestApp) {
        let admin = app.admin().await;
        let pid = feedback_project(&app, &admin, json!({})).await;
        let feedback = with_key(&admin, &new_key(&admin, pid).await);
        send(&feedback, pid, json!({"event_id": "v1", "external_id": "doc-1", "value": "neg", "source": "votes", "context": {"position": 4}})).await;
        let rater = app.rater("r1").await;
        let iid = rater.next(pid).await.unwrap();
        rater.label(pid, iid, "pos").await;
        app.user_with_password("boss", Role::Admin, "admin password 1")
            .await;
        let browser = app.browser();
        browser.login("boss", "admin password 1").await;
        let list = browser
            .get(&format!("/admin/projects/{pid}/items"))
            .await
            .text()
            .await
            .unwrap();
        assert!(select_text(&list, "#items").unwrap().contains("doc-1"));
        let page = browser
            .get(&format!("/admin/projects/{pid}/items/{iid}"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(select_text(&page, "#item-text").as_deref(), Some("first"));
        let labels = select_text(&page, "#labels").unwrap();
        assert!(
            labels.contains("pos") && !labels.contains("r1"),
            "pseudonyms only: {labels}"
        );
        let events = select_text(&page, "#feedback").unwrap();
        assert!(events.contains("votes") && events.contains("neg") && events.contains("position"));
        let missing = browser
            .get(&format!("/admin/projects/{pid}/items/99999"))
            .await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}

mod drift {
    use super::*;

    crate::on_both_backends!(a_drifting_source_is_flagged);

    /// Six days of mostly positive clicks, then a day of mostly negative ones.
    async fn a_drifting_source_is_flagged(app: TestApp) {
        let admin = app.admin().await;
        let pid = feedback_project(&app, &admin, json!({})).await;
        let item = app
            .count(&format!(
                "SELECT id FROM items WHERE project_id = {pid} AND external_id = 'doc-1'"
            ))
            .await;
        let three_days_ago = tally::domain::now_ms() - 3 * 86_400_000;
        for i in 0..60 {
            let value = if i % 10 == 0 { "neg" } else { "pos" };
            let sql = format!(
                "INSERT INTO feedback_events (project_id, item_id, event_id, source, value, raw_value, weight, context, occurred_at, received_at)
                 VALUES ({pid}, {item}, 'old-{i}', 'clicks', '{value}', '{value}', 1, '{{}}', {three_days_ago}, {three_days_ago})"
            );
            match &app.store {
                tally::Store::Sqlite(b) => {
                    sqlx::query(&sql).execute(&b.pool).await.unwrap();
                }
                tally::Store::Postgres(b) => {
                    sqlx::query(&sql).execute(&b.pool).await.unwrap();
                }
            }
        }
        let feedback = with_key(&admin, &new_key(&admin, pid).await);
        let batch: Vec<String> = (0..40)
            .map(|i| {
                let value = if i % 10 == 0 { "pos" } else { "neg" };
                format!(r#"{{"event_id": "new-{i}", "external_id": "doc-1", "value": "{value}", "source": "clicks"}}"#)
            })
            .collect();
        let response = feedback
            .post_raw(
                &format!("/api/v1/projects/{pid}/feedback"),
                "application/x-ndjson",
                batch.join("\n").into_bytes(),
            )
            .await;
        assert_eq!(response.json::<Value>().await.unwrap()["accepted"], 40);
        let sources: Value = admin
            .get(&format!("/api/v1/projects/{pid}/sources"))
            .await
            .json()
            .await
            .unwrap();
        let clicks = &sources["sources"][0];
        assert_eq!(clicks["drifting"], true, "{clicks}");
        assert!(clicks["drift_psi"].as_f64().unwrap() > 0.25);
        assert_eq!(clicks["flags"], json!(["drifting"]));
    }
}

async fn junk_batches_are_bounded_and_answered_briefly(app: TestApp) {
    let admin = app.admin().await;
    let pid = feedback_project(&app, &admin, json!({})).await;
    let feedback = with_key(&admin, &new_key(&admin, pid).await);
    let path = format!("/api/v1/projects/{pid}/feedback");
    let junk = "{\"nonsense\": true}\n".repeat(1_001);
    let too_many = feedback
        .post_raw(&path, "application/x-ndjson", junk.into_bytes())
        .await;
    assert_eq!(too_many.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = too_many.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("at most 1000"));
    assert_eq!(app.count("SELECT count(*) FROM feedback_refusals").await, 0);

    let junk = "{\"nonsense\": true}\n".repeat(1_000);
    let answered = feedback
        .post_raw(&path, "application/x-ndjson", junk.into_bytes())
        .await;
    assert_eq!(answered.status(), StatusCode::OK);
    let text = answered.text().await.unwrap();
    assert!(
        text.len() < 20_000,
        "the answer stays small: {} bytes",
        text.len()
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["refused"], 1_000);
    assert_eq!(body["refusals"].as_array().unwrap().len(), 100);
    assert_eq!(body["refusals_not_listed"], 900);

    let huge_context = json!({"event_id": "c1", "external_id": "doc-1", "value": "pos", "source": "app", "context": {"blob": "x".repeat(5_000)}});
    let (status, body) = send(&feedback, pid, huge_context).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().contains("4096"), "{body}");
}
