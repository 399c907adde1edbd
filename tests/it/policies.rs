//! Pools and assignment policies: escalation, experts, dynamic overlap, order, gold
//! questions, pauses and problem reports.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::policy::Pool;

use crate::harness::{Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    escalation_happens_only_below_the_threshold,
    experts_get_only_what_they_should,
    dynamic_overlap_stops_on_agreement_and_goes_on_while_split,
    gold_rate_holds_over_a_thousand_assignments,
    careless_rater_is_paused_and_an_admin_lifts_it,
    reported_items_leave_the_queue_until_released,
    priority_and_seeded_random_order,
);

fn items(texts: &[&str]) -> Value {
    Value::Array(
        texts
            .iter()
            .map(|t| json!({"external_id": t, "data": {"text": t}}))
            .collect(),
    )
}

/// Labels the item `next` gives, with the value chosen for its text; returns the text.
async fn label_next(
    app: &TestApp,
    rater: &Api,
    pid: i64,
    choose: impl Fn(&str) -> &'static str,
) -> Option<String> {
    let response = rater.get(&format!("/api/v1/projects/{pid}/next")).await;
    if response.status() == StatusCode::NO_CONTENT {
        return None;
    }
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let iid = body["item"]["id"].as_i64().unwrap();
    let text = body["item"]["data"]["text"].as_str().unwrap().to_string();
    let status = rater.label(pid, iid, choose(&text)).await.status();
    assert_eq!(status, StatusCode::CREATED);
    let _ = app;
    Some(text)
}

async fn export_rows(admin: &Api, pid: i64) -> HashMap<String, Value> {
    admin
        .export(pid)
        .await
        .into_iter()
        .map(|row| (row["external_id"].as_str().unwrap().to_string(), row))
        .collect()
}

async fn escalation_happens_only_below_the_threshold(app: TestApp) {
    let admin = app.admin().await;
    // 2 generalists: agreement share is 1.0 (agree) or 0.5 (split).
    let strict = app
        .project_from(&admin, json!({"name": "strict", "labels": ["pos", "neg"], "pools": {"generalist": 2}, "escalate_below": 0.75}), items(&["agree", "split"]))
        .await;
    let at_threshold = app
        .project_from(&admin, json!({"name": "edge", "labels": ["pos", "neg"], "pools": {"generalist": 2}, "escalate_below": 0.5}), items(&["agree", "split"]))
        .await;
    let g1 = app.rater("g1").await;
    let g2 = app.rater("g2").await;
    for pid in [strict, at_threshold] {
        while label_next(&app, &g1, pid, |_| "pos").await.is_some() {}
        while label_next(&app, &g2, pid, |t| if t == "split" { "neg" } else { "pos" })
            .await
            .is_some()
        {}
    }
    let expert = app.pool_rater("doc", Pool::Expert, &[]).await;
    let escalated = label_next(&app, &expert, strict, |_| "neg").await;
    assert_eq!(
        escalated.as_deref(),
        Some("split"),
        "0.5 < 0.75 goes to the experts"
    );
    assert_eq!(
        label_next(&app, &expert, strict, |_| "neg").await,
        None,
        "agreement 1.0 is not escalated"
    );
    assert_eq!(
        label_next(&app, &expert, at_threshold, |_| "neg").await,
        None,
        "0.5 is not below 0.5"
    );

    let rows = export_rows(&admin, strict).await;
    assert_eq!(
        rows["split"]["adjudicated"], "neg",
        "the expert's label is the adjudicated answer"
    );
    assert_eq!(rows["agree"]["adjudicated"], Value::Null);
    let queue: Value = admin
        .get(&format!("/api/v1/projects/{strict}/queue"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        queue["escalated"], 0,
        "the escalated item has its expert label"
    );
    assert_eq!(queue["done"], 2);
    let pools = &queue["pools"];
    assert_eq!(
        pools["generalist"]["done"], 2,
        "both items have their two generalist labels"
    );
    assert_eq!(
        pools["expert"]["done"], 1,
        "the experts labelled the split item only"
    );
    assert_eq!(pools["user"]["done"], 0, "the users' pool labelled nothing");
    for pool in ["generalist", "expert", "user"] {
        assert_eq!(pools[pool]["needs_labels"], 0, "{pool}: {queue}");
    }
}

async fn experts_get_only_what_they_should(app: TestApp) {
    let admin = app.admin().await;
    let escalating = app
        .project_from(
            &admin,
            json!({"name": "scans", "labels": ["benign", "malignant"], "pools": {"generalist": 2, "expert": 0}, "escalate_below": 0.9, "expertise": ["radiology"]}),
            items(&["s1", "s2", "s3"]),
        )
        .await;
    let radiologist = app
        .pool_rater("rad", Pool::Expert, &["radiology", "oncology"])
        .await;
    let dermatologist = app.pool_rater("derm", Pool::Expert, &["dermatology"]).await;
    let refused = dermatologist
        .get(&format!("/api/v1/projects/{escalating}/next"))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("radiology"));
    assert_eq!(
        radiologist.next(escalating).await,
        None,
        "nothing escalated yet"
    );

    let g1 = app.rater("g1").await;
    let g2 = app.rater("g2").await;
    while label_next(&app, &g1, escalating, |_| "benign")
        .await
        .is_some()
    {}
    while label_next(&app, &g2, escalating, |t| {
        if t == "s2" {
            "malignant"
        } else {
            "benign"
        }
    })
    .await
    .is_some()
    {}
    assert_eq!(
        label_next(&app, &radiologist, escalating, |_| "malignant")
            .await
            .as_deref(),
        Some("s2")
    );
    assert_eq!(radiologist.next(escalating).await, None);
    assert_eq!(
        g1.next(escalating).await,
        None,
        "generalists are not given escalated items"
    );

    let with_experts = app
        .project_from(
            &admin,
            json!({"name": "both", "labels": ["a", "b"], "pools": {"generalist": 1, "expert": 1}}),
            items(&["x", "y"]),
        )
        .await;
    let mut seen = Vec::new();
    while let Some(text) = label_next(&app, &radiologist, with_experts, |_| "a").await {
        seen.push(text);
    }
    assert_eq!(
        seen,
        ["x", "y"],
        "a pool count for experts gives them every item"
    );
}

async fn dynamic_overlap_stops_on_agreement_and_goes_on_while_split(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(&admin, json!({"name": "dyn", "labels": ["pos", "neg", "neutral"], "min_overlap": 2, "max_overlap": 4}), items(&["easy", "hard", "mixed"]))
        .await;
    // easy: everyone agrees; hard: a different answer from each rater; mixed: pos, neg, neg.
    let answers: [(&str, [&str; 3]); 4] = [
        ("r1", ["pos", "pos", "pos"]),
        ("r2", ["pos", "neg", "neg"]),
        ("r3", ["pos", "neutral", "neg"]),
        ("r4", ["pos", "pos", "neg"]),
    ];
    for (name, values) in answers {
        let rater = app.rater(name).await;
        while label_next(&app, &rater, pid, |t| match t {
            "easy" => values[0],
            "hard" => values[1],
            _ => values[2],
        })
        .await
        .is_some()
        {}
    }
    let rows = export_rows(&admin, pid).await;
    assert_eq!(
        rows["easy"]["label_count"], 2,
        "two agreeing labels settle the item"
    );
    assert_eq!(
        rows["mixed"]["label_count"], 3,
        "a split asks one more, then the clear leader settles it"
    );
    assert_eq!(rows["mixed"]["majority"], "neg");
    assert_eq!(
        rows["hard"]["label_count"], 4,
        "no clear leader: up to the maximum"
    );
}

async fn gold_rate_holds_over_a_thousand_assignments(app: TestApp) {
    let admin = app.admin().await;
    let mut all: Vec<Value> = (0..1100)
        .map(|i| json!({"external_id": format!("n{i}"), "data": {"text": "normal"}}))
        .collect();
    all.extend(
        (0..400).map(
            |i| json!({"external_id": format!("g{i}"), "data": {"text": "gold"}, "gold": "pos"}),
        ),
    );
    let pid = app
        .project_from(&admin, json!({"name": "gold", "labels": ["pos", "neg"], "overlap": 1, "gold_rate": 0.2, "seed": 7}), Value::Array(all))
        .await;
    let rater = app.rater("steady").await;
    let mut gold = 0;
    for _ in 0..1000 {
        let text = label_next(&app, &rater, pid, |_| "pos")
            .await
            .expect("work left");
        if text == "gold" {
            gold += 1;
        }
    }
    // Binomial(1000, 0.2): mean 200, sd 12.6; 4 sd either side.
    assert!(
        (150..=250).contains(&gold),
        "{gold} gold questions in 1000 assignments"
    );
    let project: Value = admin
        .get(&format!("/api/v1/projects/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        project["progress"]["items"], 1100,
        "gold questions are not counted as items to label"
    );
    let rows = export_rows(&admin, pid).await;
    assert!(
        rows.keys().all(|k| k.starts_with('n')),
        "gold questions stay out of exports"
    );
}

async fn careless_rater_is_paused_and_an_admin_lifts_it(app: TestApp) {
    let admin = app.admin().await;
    let mut all: Vec<Value> = (0..40)
        .map(|i| json!({"external_id": format!("n{i}"), "data": {"text": "normal"}}))
        .collect();
    all.extend(
        (0..40).map(
            |i| json!({"external_id": format!("g{i}"), "data": {"text": "gold"}, "gold": "pos"}),
        ),
    );
    let pid = app
        .project_from(
            &admin,
            json!({"name": "careful", "labels": ["pos", "neg"], "overlap": 1, "gold_rate": 0.5, "min_gold_accuracy": 0.8, "gold_min_seen": 3}),
            Value::Array(all),
        )
        .await;
    let careless = app.rater("careless").await;
    let mut paused = false;
    for _ in 0..40 {
        let response = careless.get(&format!("/api/v1/projects/{pid}/next")).await;
        if response.status() == StatusCode::FORBIDDEN {
            let error: Value = response.json().await.unwrap();
            assert!(error["error"].as_str().unwrap().contains("gold"), "{error}");
            paused = true;
            break;
        }
        let iid = response.json::<Value>().await.unwrap()["item"]["id"]
            .as_i64()
            .unwrap();
        assert_eq!(
            careless.label(pid, iid, "neg").await.status(),
            StatusCode::CREATED
        );
    }
    assert!(
        paused,
        "always wrong on gold: paused after 3 gold questions"
    );
    let raters: Value = admin
        .get(&format!("/api/v1/projects/{pid}/raters"))
        .await
        .json()
        .await
        .unwrap();
    let standing = &raters.as_array().unwrap()[0];
    assert_eq!(standing["name"], "careless");
    assert_eq!(standing["paused"], true);
    assert_eq!(standing["gold_seen"], 3);
    assert_eq!(standing["gold_correct"], 0);
    assert!(standing["paused_reason"]
        .as_str()
        .unwrap()
        .contains("0 of 3"));

    let rid = standing["rater_id"].as_i64().unwrap();
    let lifted = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{rid}/unpause"),
            &json!({}),
        )
        .await;
    assert_eq!(lifted.status(), StatusCode::NO_CONTENT);
    assert!(
        careless.next(pid).await.is_some(),
        "work again after the pause is lifted"
    );
    let again = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{rid}/unpause"),
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

async fn reported_items_leave_the_queue_until_released(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(&admin, json!({"name": "reports", "labels": ["pos", "neg"], "overlap": 3, "report_threshold": 2}), items(&["broken one"]))
        .await;
    let iid = {
        let r = app.rater("r1").await;
        let iid = r.next(pid).await.unwrap();
        let bad = r
            .post_json(
                &format!("/api/v1/projects/{pid}/items/{iid}/report"),
                &json!({"reason": "boring"}),
            )
            .await;
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let reported = r
            .post_json(
                &format!("/api/v1/projects/{pid}/items/{iid}/report"),
                &json!({"reason": "broken", "note": "image missing"}),
            )
            .await;
        assert_eq!(reported.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            r.next(pid).await,
            None,
            "the reporter is not given it again"
        );
        iid
    };
    let r2 = app.rater("r2").await;
    assert_eq!(
        r2.next(pid).await,
        Some(iid),
        "one report is below the threshold"
    );
    r2.post_json(
        &format!("/api/v1/projects/{pid}/items/{iid}/report"),
        &json!({"reason": "ambiguous"}),
    )
    .await;
    let r3 = app.rater("r3").await;
    assert_eq!(r3.next(pid).await, None, "two reports hold the item back");
    let queue: Value = admin
        .get(&format!("/api/v1/projects/{pid}/queue"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["reported"], 1);
    assert_eq!(queue["needs_labels"], 0);
    let released = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/release"),
            &json!({}),
        )
        .await;
    assert_eq!(released.status(), StatusCode::NO_CONTENT);
    assert_eq!(r3.next(pid).await, Some(iid));
    let queue: Value = admin
        .get(&format!("/api/v1/projects/{pid}/queue"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["leased"], 1);
    assert_eq!(queue["pools"]["generalist"]["leased"], 1);
    assert_eq!(queue["pools"]["expert"]["needs_labels"], 0);
}

async fn priority_and_seeded_random_order(app: TestApp) {
    let admin = app.admin().await;
    let prioritised = json!([
        {"external_id": "low", "data": {"text": "low"}, "priority": 0.1},
        {"external_id": "none", "data": {"text": "none"}},
        {"external_id": "high", "data": {"text": "high"}, "priority": 0.9},
        {"external_id": "mid", "data": {"text": "mid"}, "priority": 0.5}
    ]);
    let pid = app
        .project_from(
            &admin,
            json!({"name": "prio", "labels": ["a", "b"], "overlap": 1, "order": "priority"}),
            prioritised,
        )
        .await;
    let rater = app.rater("r1").await;
    let mut order = Vec::new();
    while let Some(text) = label_next(&app, &rater, pid, |_| "a").await {
        order.push(text);
    }
    assert_eq!(order, ["high", "mid", "low", "none"]);

    let texts: Vec<String> = (0..30).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut orders = Vec::new();
    for (i, seed) in [11, 11, 12].into_iter().enumerate() {
        let pid = app
            .project_from(&admin, json!({"name": format!("random{i}"), "labels": ["a", "b"], "overlap": 1, "order": "random", "seed": seed}), items(&refs))
            .await;
        let rater = app.rater(&format!("shuffler{i}")).await;
        let mut seen = Vec::new();
        while let Some(text) = label_next(&app, &rater, pid, |_| "a").await {
            seen.push(text);
        }
        orders.push(seen);
    }
    assert_eq!(orders[0], orders[1], "the same seed gives the same order");
    assert_ne!(orders[0], orders[2], "another seed gives another order");
    assert_ne!(orders[0], texts, "random order is not import order");
}
