//! Qualification: questions with known answers and explanations, passed before real work.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::user::Role;

use crate::harness::{attr_of, csrf_in, select_text, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(raters_qualify_before_real_items);

async fn answer(rater: &Api, pid: i64, pick: impl Fn(&str) -> &'static str) -> (StatusCode, Value) {
    let next = rater.get(&format!("/api/v1/projects/{pid}/next")).await;
    if next.status() != StatusCode::OK {
        let status = next.status();
        return (status, next.json().await.unwrap_or(Value::Null));
    }
    let item: Value = next.json().await.unwrap();
    let iid = item["item"]["id"].as_i64().unwrap();
    let value = pick(item["item"]["external_id"].as_str().unwrap());
    let response = rater.label(pid, iid, value).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    (StatusCode::CREATED, response.json().await.unwrap())
}

async fn raters_qualify_before_real_items(app: TestApp) {
    let admin = app.admin().await;
    let items = json!([
        {"external_id": "q1", "data": {"text": "Loved it"}, "gold": "pos", "qualification": true, "explanation": "Plain praise is positive."},
        {"external_id": "q2", "data": {"text": "Broke at once"}, "gold": "neg", "qualification": true, "explanation": "A defect is negative."},
        {"external_id": "q3", "data": {"text": "Great value"}, "gold": "pos", "qualification": true},
        {"external_id": "real-1", "data": {"text": "Fine"}},
        {"external_id": "real-2", "data": {"text": "Meh"}}
    ]);
    let pid = app
        .project_from(&admin, json!({"name": "qualified", "labels": ["pos", "neg"], "overlap": 2, "qualify_accuracy": 0.66}), items)
        .await;
    let bad_import = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items"),
            &json!([{"data": {"text": "x"}, "qualification": true}]),
        )
        .await;
    assert_eq!(
        bad_import.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a qualification item needs its answer"
    );

    let good = app.rater("good").await;
    let (_, first) = answer(&good, pid, |_| "pos").await;
    assert_eq!(first["qualification"]["correct"], true);
    assert_eq!(first["qualification"]["answer"], "pos");
    assert_eq!(
        first["qualification"]["explanation"],
        "Plain praise is positive."
    );
    let (_, second) = answer(&good, pid, |_| "pos").await;
    assert_eq!(second["qualification"]["correct"], false);
    assert_eq!(second["qualification"]["answer"], "neg");
    answer(&good, pid, |_| "pos").await;
    let (_, real) = answer(&good, pid, |_| "pos").await;
    assert!(
        real.get("qualification").is_none(),
        "2 of 3 right passes 66%: real items follow"
    );

    let careless = app.rater("careless").await;
    for _ in 0..3 {
        answer(&careless, pid, |_| "neg").await;
    }
    let (status, error) = answer(&careless, pid, |_| "neg").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        error["error"].as_str().unwrap().contains("1 of 3 right"),
        "{error}"
    );
    let raters: Value = admin
        .get(&format!("/api/v1/projects/{pid}/raters"))
        .await
        .json()
        .await
        .unwrap();
    let standing = raters
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "careless")
        .unwrap()
        .clone();
    assert_eq!(standing["paused"], true);
    let rid = standing["rater_id"].as_i64().unwrap();
    admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{rid}/unpause"),
            &json!({}),
        )
        .await;
    let (status, real) = answer(&careless, pid, |_| "neg").await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "an admin lifting the pause vouches for the rater"
    );
    assert!(real.get("qualification").is_none());

    let project: Value = admin
        .get(&format!("/api/v1/projects/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        project["progress"]["items"], 2,
        "qualification questions are not items to label"
    );
    let export = app.admin_export(pid).await;
    assert!(
        !export.contains("\"q1\""),
        "qualification questions stay out of exports"
    );
    let report: Value = admin
        .get(&format!("/api/v1/projects/{pid}/report"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        report["labels"], 2,
        "the report counts the two real labels, not the six answers: {report}"
    );
    assert_eq!(
        report["guideline_versions"][0]["labels"], 2,
        "every label the report reads is a real one: {report}"
    );
    let reported: Vec<&str> = report["consensus"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["item"].as_str())
        .collect();
    assert!(
        reported.iter().all(|item| item.starts_with("real-")),
        "qualification questions stay out of reports: {reported:?}"
    );

    // In the browser: after a qualification answer the right one and its explanation show.
    app.user_with_password("paula", Role::Rater, "rater password 1")
        .await;
    let browser = app.browser();
    browser.login("paula", "rater password 1").await;
    let page = browser.page(&format!("/rate/{pid}")).await;
    assert_eq!(
        select_text(&page, "#item-text").as_deref(),
        Some("Loved it")
    );
    let action = attr_of(&page, "#label-form", "action").unwrap();
    let sent = browser
        .post_form(&action, &[("csrf", &csrf_in(&page)), ("value", "neg")])
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let explained_path = sent.headers()["location"].to_str().unwrap().to_string();
    assert!(explained_path.ends_with("/explained"));
    let explained = browser.get(&explained_path).await.text().await.unwrap();
    assert_eq!(select_text(&explained, "#given").as_deref(), Some("neg"));
    assert_eq!(select_text(&explained, "#answer").as_deref(), Some("pos"));
    assert_eq!(
        select_text(&explained, "#explanation").as_deref(),
        Some("Plain praise is positive.")
    );
    let real_item = app
        .count(&format!(
            "SELECT id FROM items WHERE project_id = {pid} AND external_id = 'real-1'"
        ))
        .await;
    let not_for_real = browser
        .get(&format!("/rate/{pid}/items/{real_item}/explained"))
        .await;
    assert_eq!(
        not_for_real.status(),
        StatusCode::NOT_FOUND,
        "answers of real items are never shown"
    );
}
