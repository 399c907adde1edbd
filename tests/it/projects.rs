//! Creating projects and reading their progress.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::on_both_backends;

on_both_backends!(
    project_is_created_and_reports_progress,
    bad_projects_are_refused_with_the_field
);

async fn project_is_created_and_reports_progress(app: TestApp) {
    let admin = app.admin().await;
    let created = admin
        .post_json(
            "/api/v1/projects",
            &json!({"name": "Sentiment", "kind": "single_choice", "labels": ["pos", "neg", "neutral"], "overlap": 3, "instructions": "Pick one."}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    let pid = body["id"].as_i64().unwrap();
    assert_eq!(body["name"], "Sentiment");
    assert_eq!(body["labels"], json!(["pos", "neg", "neutral"]));
    assert_eq!(body["overlap"], 3);
    assert_eq!(body["instructions"], "Pick one.");
    assert_eq!(body["progress"]["items"], 0);

    let items = json!([{"data": {"text": "a"}}, {"data": {"text": "b"}}]);
    admin
        .post_json(&format!("/api/v1/projects/{pid}/items"), &items)
        .await;
    let rater = app.rater("r1").await;
    let iid = rater.next(pid).await.unwrap();
    assert_eq!(
        rater.label(pid, iid, "pos").await.status(),
        StatusCode::CREATED
    );

    let shown: Value = admin
        .get(&format!("/api/v1/projects/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["progress"]["items"], 2);
    assert_eq!(shown["progress"]["labels"], 1);
    assert_eq!(shown["progress"]["items_complete"], 0);
    assert_eq!(shown["progress"]["items_in_progress"], 1);
    assert_eq!(shown["progress"]["raters"], 1);
}

async fn bad_projects_are_refused_with_the_field(app: TestApp) {
    let admin = app.admin().await;
    let cases = [
        (
            json!({"name": "x", "kind": "single_choice", "labels": ["only"], "overlap": 1}),
            "labels",
        ),
        (
            json!({"name": "x", "kind": "single_choice", "labels": ["a", "b"], "overlap": 0}),
            "overlap",
        ),
        (
            json!({"name": "", "kind": "single_choice", "labels": ["a", "b"], "overlap": 1}),
            "name",
        ),
        (
            json!({"name": "x", "kind": "polygons", "labels": ["a", "b"], "overlap": 1}),
            "kind",
        ),
    ];
    for (body, field) in cases {
        let response = admin.post_json("/api/v1/projects", &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["field"], field, "{error}");
    }
    let not_json = admin
        .post_raw("/api/v1/projects", "application/json", b"{name".to_vec())
        .await;
    assert_eq!(not_json.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_type = admin
        .post_raw("/api/v1/projects", "text/plain", b"{}".to_vec())
        .await;
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.count("SELECT count(*) FROM projects").await, 0);
}
