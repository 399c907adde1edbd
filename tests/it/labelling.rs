//! The assignment rules: overlap, leases, expiry, skips and refusals.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::on_both_backends;

on_both_backends!(
    raters_label_a_project_to_completion,
    asking_again_returns_the_held_item,
    expired_leases_return_items_to_the_pool,
    asking_again_renews_the_hold,
    double_labels_and_foreign_values_are_refused,
    skipped_items_are_not_offered_again,
);

async fn raters_label_a_project_to_completion(app: TestApp) {
    let admin = app.admin().await;
    let texts = ["a", "b", "c", "d", "e"];
    let pid = app.project_with_items(&admin, 2, &texts).await;
    let raters = [
        app.rater("r1").await,
        app.rater("r2").await,
        app.rater("r3").await,
    ];
    let mut given: HashMap<i64, usize> = HashMap::new();
    let mut rounds = 0;
    loop {
        let mut any = false;
        for rater in &raters {
            if let Some(iid) = rater.next(pid).await {
                any = true;
                assert_eq!(
                    rater.label(pid, iid, "pos").await.status(),
                    StatusCode::CREATED
                );
                *given.entry(iid).or_default() += 1;
            }
        }
        rounds += 1;
        if !any {
            break;
        }
        assert!(rounds < 50, "labelling did not finish");
    }
    assert_eq!(given.len(), texts.len());
    assert!(given.values().all(|&n| n == 2), "{given:?}");
    let project: Value = admin
        .get(&format!("/api/v1/projects/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(project["progress"]["items_complete"], 5);
    assert_eq!(project["progress"]["labels"], 10);
    for rater in &raters {
        assert_eq!(
            rater.next(pid).await,
            None,
            "nothing is left once every item is complete"
        );
    }
    let stored_durations = app
        .count(&format!(
            "SELECT count(*) FROM labels WHERE project_id = {pid} AND duration_ms = 1200"
        ))
        .await;
    assert_eq!(
        stored_durations, 10,
        "the time spent is stored with each label"
    );
}

async fn asking_again_returns_the_held_item(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a", "b", "c"]).await;
    let r1 = app.rater("r1").await;
    let r2 = app.rater("r2").await;
    let first = r1.next(pid).await.unwrap();
    assert_eq!(
        r1.next(pid).await,
        Some(first),
        "a held item is handed out again to its holder"
    );
    let other = r2.next(pid).await.unwrap();
    assert_ne!(
        other, first,
        "an item leased up to its overlap is not handed to others"
    );
    let body: Value = r1
        .get(&format!("/api/v1/projects/{pid}/next"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["item"]["data"]["text"], "a");
    assert_eq!(body["item"]["external_id"], "x1");
    assert!(
        body["item"].get("gold").is_none(),
        "raters never see gold answers"
    );
}

/// A project of one item, wanting one label, whose leases last `lease_seconds`.
async fn one_item_project(app: &TestApp, lease_seconds: i64) -> i64 {
    let admin = app.admin().await;
    let created = admin
        .post_json(
            "/api/v1/projects",
            &json!({"name": "One item", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 1, "lease_seconds": lease_seconds}),
        )
        .await;
    let pid = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items"),
            &json!([{"data": {"text": "only"}}]),
        )
        .await;
    pid
}

async fn asking_again_renews_the_hold(app: TestApp) {
    let pid = one_item_project(&app, 2).await;
    let holder = app.rater("holder").await;
    let other = app.rater("other").await;
    let iid = holder.next(pid).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        holder.next(pid).await,
        Some(iid),
        "still held by its holder"
    );
    // Past the first lease's end, but within the renewed one's.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        other.next(pid).await,
        None,
        "asking again renewed the hold, so the item is not free"
    );
    assert_eq!(
        holder.label(pid, iid, "pos").await.status(),
        StatusCode::CREATED
    );
}

async fn expired_leases_return_items_to_the_pool(app: TestApp) {
    let pid = one_item_project(&app, 1).await;
    let slow = app.rater("slow").await;
    let quick = app.rater("quick").await;
    let iid = slow.next(pid).await.unwrap();
    assert_eq!(quick.next(pid).await, None, "held by the slow rater");
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    assert_eq!(
        quick.next(pid).await,
        Some(iid),
        "the expired lease freed the item"
    );
    let late = slow.label(pid, iid, "pos").await;
    assert_eq!(
        late.status(),
        StatusCode::CONFLICT,
        "the slot now belongs to the other rater"
    );
    assert_eq!(
        quick.label(pid, iid, "neg").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.count("SELECT count(*) FROM labels").await, 1);
}

async fn double_labels_and_foreign_values_are_refused(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a"]).await;
    let rater = app.rater("r1").await;
    let iid = rater.next(pid).await.unwrap();
    let wrong = rater.label(pid, iid, "maybe").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = wrong.json().await.unwrap();
    assert!(error["error"].as_str().unwrap().contains("maybe"));
    assert_eq!(
        rater.label(pid, iid, "neg").await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        rater.label(pid, iid, "neg").await.status(),
        StatusCode::CONFLICT
    );
    let missing = rater.label(pid, 999_999, "neg").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let negative = rater
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/labels"),
            &json!({"value": "pos", "duration_ms": -5}),
        )
        .await;
    assert_eq!(negative.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT count(*) FROM labels").await, 1);
}

async fn skipped_items_are_not_offered_again(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a", "b", "c"]).await;
    let rater = app.rater("r1").await;
    let first = rater.next(pid).await.unwrap();
    let skip = rater
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{first}/skip"),
            &json!({"reason": "unreadable"}),
        )
        .await;
    assert_eq!(skip.status(), StatusCode::NO_CONTENT);
    let second = rater.next(pid).await.unwrap();
    assert_ne!(first, second);
    let plain_skip = rater
        .post_raw(
            &format!("/api/v1/projects/{pid}/items/{second}/skip"),
            "application/json",
            Vec::new(),
        )
        .await;
    assert_eq!(plain_skip.status(), StatusCode::NO_CONTENT);
    // The body is optional (the OpenAPI description says so): a JSON null gives no reason.
    let third = rater.next(pid).await.unwrap();
    let null_skip = rater
        .post_raw(
            &format!("/api/v1/projects/{pid}/items/{third}/skip"),
            "application/json",
            b"null".to_vec(),
        )
        .await;
    assert_eq!(null_skip.status(), StatusCode::NO_CONTENT);
    assert_eq!(rater.next(pid).await, None);
    let other = app.rater("r2").await;
    assert_eq!(
        other.next(pid).await,
        Some(first),
        "a skip frees the item for others"
    );
}
