//! Exports: one row per item, pseudonymous raters, majority and agreement.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::on_both_backends;

on_both_backends!(
    labels_after_a_left_out_qualification_item_are_exported,
    jsonl_export_has_labels_majority_and_agreement,
    csv_export_has_a_row_per_item
);

async fn label_three_ways(app: &TestApp) -> (crate::harness::Api, i64) {
    let admin = app.admin().await;
    let created = admin
        .post_json(
            "/api/v1/projects",
            &json!({"name": "E", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 3}),
        )
        .await;
    let pid = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let items = json!([
        {"external_id": "e1", "data": {"text": "good"}, "gold": "pos"},
        {"external_id": "e2", "data": {"text": "bad"}},
        {"external_id": "e3", "data": {"text": "untouched"}}
    ]);
    admin
        .post_json(&format!("/api/v1/projects/{pid}/items"), &items)
        .await;
    let votes = [
        ("alice", ["pos", "neg"]),
        ("bob", ["pos", "pos"]),
        ("carol", ["neg", "neg"]),
    ];
    for (name, values) in votes {
        let rater = app.rater(name).await;
        for value in values {
            let iid = rater.next(pid).await.unwrap();
            assert_eq!(
                rater.label(pid, iid, value).await.status(),
                StatusCode::CREATED
            );
        }
    }
    (admin, pid)
}

async fn jsonl_export_has_labels_majority_and_agreement(app: TestApp) {
    let (admin, pid) = label_three_ways(&app).await;
    let response = admin
        .get(&format!("/api/v1/projects/{pid}/export?format=jsonl"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let body = response.text().await.unwrap();
    for name in ["alice", "bob", "carol"] {
        assert!(!body.contains(name), "exports never show rater names");
    }
    let rows: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["external_id"], "e1");
    assert_eq!(rows[0]["data"], json!({"text": "good"}));
    assert_eq!(rows[0]["labels"].as_array().unwrap().len(), 3);
    assert_eq!(rows[0]["majority"], "pos");
    assert!((rows[0]["agreement"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert!(
        rows[0].get("gold").is_none(),
        "gold stays out unless asked for"
    );
    assert_eq!(rows[1]["majority"], "neg");
    assert_eq!(rows[2]["label_count"], 0);
    assert_eq!(rows[2]["majority"], Value::Null);
    let raters: std::collections::HashSet<&str> = rows[0]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rater"].as_str().unwrap())
        .collect();
    assert_eq!(raters.len(), 3, "each rater has their own pseudonym");
    assert!(raters.iter().all(|r| r.starts_with("r-")));

    let with_gold = admin
        .get(&format!(
            "/api/v1/projects/{pid}/export?format=jsonl&include_gold=true"
        ))
        .await
        .text()
        .await
        .unwrap();
    let first: Value = serde_json::from_str(with_gold.lines().next().unwrap()).unwrap();
    assert_eq!(first["gold"], "pos");

    let bad = admin
        .get(&format!("/api/v1/projects/{pid}/export?format=xml"))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn csv_export_has_a_row_per_item(app: TestApp) {
    let (admin, pid) = label_three_ways(&app).await;
    let response = admin
        .get(&format!("/api/v1/projects/{pid}/export?format=csv"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "id",
            "external_id",
            "data",
            "labels",
            "label_count",
            "consensus",
            "consensus_source",
            "confidence",
            "majority",
            "agreement",
            "tied",
            "adjudicated",
            "adjudicated_by",
            "adjudication_reason",
            "feedback"
        ],
        "no gold column unless gold is asked for"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][1], "e1");
    assert_eq!(&rows[0][5], "pos");
    assert_eq!(&rows[0][6], "majority");
    assert_eq!(&rows[0][8], "pos");
    let agreement: f64 = rows[0][9].parse().unwrap();
    assert!(
        (agreement - 2.0 / 3.0).abs() < 1e-12,
        "full precision, as in JSONL"
    );
    let labels: Value = serde_json::from_str(&rows[1][3]).unwrap();
    assert_eq!(labels.as_array().unwrap().len(), 3);
    for key in ["rater", "pool", "value", "duration_ms", "created_at"] {
        assert!(labels[0].get(key).is_some(), "a CSV label carries {key}");
    }
}

/// Qualification items stay out of the dataset; the labels on them must not hide the labels
/// of the items after them (they did: every later row came out with no labels).
async fn labels_after_a_left_out_qualification_item_are_exported(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Q", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 1,
                   "qualify_accuracy": 0.5}),
            json!([
                {"external_id": "q1", "data": {"text": "training"}, "gold": "pos", "qualification": true},
                {"external_id": "e1", "data": {"text": "real one"}},
                {"external_id": "e2", "data": {"text": "real two"}}
            ]),
        )
        .await;
    let rater = app.rater("rita").await;
    for value in ["pos", "neg", "pos"] {
        let iid = rater.next(pid).await.expect("an item");
        assert_eq!(
            rater.label(pid, iid, value).await.status(),
            StatusCode::CREATED
        );
    }
    let rows = admin.export(pid).await;
    let by_id: Vec<(&str, usize)> = rows
        .iter()
        .map(|r| {
            (
                r["external_id"].as_str().unwrap(),
                r["labels"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        by_id,
        [("e1", 1), ("e2", 1)],
        "the qualification item is left out, no label is lost"
    );
}
