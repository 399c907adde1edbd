//! Changing an answer: a rater replaces their own label within the project's edit window
//! (PUT), the history lists their last labels, consensus follows the change, the window
//! closes, and an edit passes the same gate as a label. Leave-one-out figures and ties in
//! the report.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    an_answer_can_be_changed_within_the_window_and_consensus_follows,
    a_rater_figure_leaves_out_the_rater_and_counts_ties_beside_it
);

async fn put_label(rater: &Api, pid: i64, iid: i64, value: &str) -> reqwest::Response {
    rater
        .client
        .put(format!(
            "{}/api/v1/projects/{pid}/items/{iid}/labels",
            rater.base
        ))
        .bearer_auth(&rater.token)
        .json(&json!({ "value": value }))
        .send()
        .await
        .expect("request")
}

async fn an_answer_can_be_changed_within_the_window_and_consensus_follows(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Edits", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 3,
                   "edit_window_seconds": 2}),
            json!([{"external_id": "e1", "data": {"text": "one"}}, {"external_id": "e2", "data": {"text": "two"}}]),
        )
        .await;
    let raters = [
        app.rater("r1").await,
        app.rater("r2").await,
        app.rater("r3").await,
    ];
    let mut item = 0;
    for (rater, value) in raters.iter().zip(["pos", "pos", "neg"]) {
        item = rater.next(pid).await.expect("an item");
        assert_eq!(
            rater.label(pid, item, value).await.status(),
            StatusCode::CREATED
        );
    }
    let majority = |rows: &[Value]| rows[0]["majority"].clone();
    assert_eq!(majority(&admin.export(pid).await), "pos");

    // r2 changes their mind: the history shows the answer as changeable, the change lands,
    // and the majority follows it.
    let history: Value = raters[1]
        .get(&format!("/api/v1/projects/{pid}/history"))
        .await
        .json()
        .await
        .unwrap();
    let listed = &history["labels"][0];
    assert_eq!(
        (listed["item_id"].as_i64(), listed["value"].clone()),
        (Some(item), json!("pos"))
    );
    assert!(listed["editable_until"].as_i64().is_some(), "{history}");
    let changed = put_label(&raters[1], pid, item, "neg").await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(majority(&admin.export(pid).await), "neg");
    let history: Value = raters[1]
        .get(&format!("/api/v1/projects/{pid}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["labels"][0]["value"], "neg");
    assert!(history["labels"][0]["edited_at"].as_i64().is_some());

    // A value outside the labels is refused like a label; an item the rater never answered
    // cannot be "changed".
    assert_eq!(
        put_label(&raters[1], pid, item, "maybe").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let other = raters[0].next(pid).await.expect("the second item");
    assert_eq!(
        put_label(&raters[0], pid, other, "neg").await.status(),
        StatusCode::CONFLICT
    );

    // A paused rater cannot change answers either: the edit passes the same gate.
    let r3 = app.store.user_by_name("r3").await.unwrap().unwrap();
    let paused = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{}/pause", r3.id),
            &json!({"reason": "check"}),
        )
        .await;
    assert_eq!(paused.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        put_label(&raters[2], pid, item, "pos").await.status(),
        StatusCode::FORBIDDEN
    );

    // After the window the answer stands.
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    assert_eq!(
        put_label(&raters[0], pid, item, "neg").await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(majority(&admin.export(pid).await), "neg");
}

async fn a_rater_figure_leaves_out_the_rater_and_counts_ties_beside_it(app: TestApp) {
    let admin = app.admin().await;
    // Three raters on four items. On t1 a says x, b says y, c says x: for a, the others (b,
    // c) tie, so t1 is left out of a's figure and counted beside it; for b, the others say x.
    let labels: [(&str, [&str; 3]); 4] = [
        ("t1", ["x", "y", "x"]),
        ("t2", ["x", "x", "x"]),
        ("t3", ["y", "y", "y"]),
        ("t4", ["y", "x", "x"]),
    ];
    let items: Vec<Value> = labels
        .iter()
        .map(|(id, _)| json!({"external_id": id, "data": {"text": id}}))
        .collect();
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Ties", "kind": "single_choice", "labels": ["x", "y"], "overlap": 3}),
            Value::Array(items),
        )
        .await;
    for (index, name) in ["a", "b", "c"].iter().enumerate() {
        let rater = app.rater(name).await;
        while let Some(iid) = rater.next(pid).await {
            let row = admin
                .export(pid)
                .await
                .into_iter()
                .find(|r| r["id"] == iid)
                .expect("the item");
            let id = row["external_id"].as_str().unwrap().to_string();
            let value = labels.iter().find(|(e, _)| *e == id).unwrap().1[index];
            assert_eq!(
                rater.label(pid, iid, value).await.status(),
                StatusCode::CREATED
            );
        }
    }
    let report: Value = admin.report(pid, "?method=majority").await;
    let pseudonym = |name: &str| {
        let store = app.store.clone();
        let name = name.to_string();
        async move { store.user_by_name(&name).await.unwrap().unwrap().pseudonym }
    };
    let row = |p: String| {
        report["raters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rater"] == p.as_str())
            .cloned()
            .expect("rater row")
    };
    let a = row(pseudonym("a").await);
    // a: t1 the others tie (left out); t2 and t3 agree; t4 the others say x, a y: 2 of 3.
    assert_eq!(a["consensus_excluded_tie"], 1, "{a}");
    assert_eq!(a["consensus_compared"], 3, "{a}");
    assert!(
        (a["consensus_agreement"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12,
        "{a}"
    );
    let b = row(pseudonym("b").await);
    // b: t1 others x, b y (disagrees); t2, t3 agree; t4 others tie (y, x): left out.
    assert_eq!(b["consensus_excluded_tie"], 1, "{b}");
    assert_eq!(b["consensus_compared"], 3, "{b}");
    assert!(
        (b["consensus_agreement"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12,
        "{b}"
    );
    assert_eq!(
        report["consensus_summary"]["ties"], 0,
        "no item's full vote is tied"
    );
}
