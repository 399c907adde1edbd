//! The admin pages for pools and policies: people, the project form, and the project page's
//! queue, raters, held items, feedback keys and links.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::user::Role;

use crate::harness::{csrf_in, select_text, TestApp};
use crate::on_both_backends;

on_both_backends!(
    admins_manage_people_and_pools,
    project_form_sets_policies,
    project_page_shows_and_acts_on_the_queue
);

async fn admins_manage_people_and_pools(app: TestApp) {
    let browser = app.signed_in_admin().await;
    let csrf = browser.csrf("/admin/users").await;
    let added = browser
        .post_form(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("name", "rad"),
                ("role", "rater"),
                ("pool", "expert"),
                ("expertise", "radiology, oncology"),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let html = added.text().await.unwrap();
    let password = select_text(&html, "#new-password").expect("the password is shown once");
    let user = app.store.user_by_name("rad").await.unwrap().unwrap();
    assert_eq!(user.pool.as_str(), "expert");
    assert_eq!(user.expertise, ["radiology", "oncology"]);
    assert_eq!(
        app.browser().login("rad", &password).await.status(),
        StatusCode::SEE_OTHER
    );
    let listed = browser.get("/admin/users").await.text().await.unwrap();
    assert!(
        select_text(&listed, "#new-password").is_none(),
        "not shown again"
    );

    let duplicate = browser
        .post_form(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("name", "rad"),
                ("role", "rater"),
                ("pool", "generalist"),
            ],
        )
        .await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);

    let moved = browser
        .post_form(
            &format!("/admin/users/{}", user.id),
            &[("csrf", &csrf), ("pool", "generalist"), ("expertise", "")],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let user = app.store.user_by_name("rad").await.unwrap().unwrap();
    assert_eq!(user.pool.as_str(), "generalist");
    assert!(user.expertise.is_empty());

    let rater = app.rater("plain").await;
    let forbidden = rater.get("/admin/users").await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
}

async fn project_form_sets_policies(app: TestApp) {
    let browser = app.signed_in_admin().await;
    let csrf = browser.csrf("/admin/projects/new").await;
    let created = browser
        .post_form(
            "/admin/projects",
            &[
                ("csrf", &csrf),
                ("name", "Scans"),
                ("labels", "benign\nmalignant"),
                ("overlap", "3"),
                ("instructions", ""),
                ("lease_minutes", "10"),
                ("expert_count", "0"),
                ("expertise", "radiology"),
                ("escalate_below", "0.67"),
                ("order", "priority"),
                ("gold_rate", "0.1"),
                ("min_gold_accuracy", "0.7"),
                ("gold_min_seen", "4"),
                ("report_threshold", "2"),
                ("open_link", "on"),
                ("negative_labels", "malignant"),
            ],
        )
        .await;
    assert_eq!(
        created.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        created.text().await
    );
    let admin = app.user_with_token("api-admin", Role::Admin).await;
    let project: Value = admin.get("/api/v1/projects/1").await.json().await.unwrap();
    assert_eq!(
        project["pools"],
        json!({"generalist": 3, "expert": 0, "user": 0})
    );
    assert_eq!(project["expertise"], json!(["radiology"]));
    assert_eq!(project["escalate_below"], 0.67);
    assert_eq!(project["order"], "priority");
    assert_eq!(project["gold_rate"], 0.1);
    assert_eq!(project["gold_min_seen"], 4);
    assert_eq!(project["report_threshold"], 2);
    assert_eq!(project["open_link"], true);
    assert_eq!(project["negative_labels"], json!(["malignant"]));

    let bad = browser
        .post_form(
            "/admin/projects",
            &[
                ("csrf", &csrf),
                ("name", "Bad"),
                ("labels", "a\nb"),
                ("overlap", "2"),
                ("instructions", ""),
                ("lease_minutes", "10"),
                ("gold_rate", "lots"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(select_text(&html, ".error").unwrap().contains("gold_rate"));
}

async fn project_page_shows_and_acts_on_the_queue(app: TestApp) {
    let browser = app.signed_in_admin().await;
    let admin = app.user_with_token("api-admin", Role::Admin).await;
    let mut items: Vec<Value> = (0..30)
        .map(|i| json!({"external_id": format!("n{i}"), "data": {"text": format!("normal {i}")}}))
        .collect();
    items.extend(
        (0..6).map(
            |i| json!({"external_id": format!("g{i}"), "data": {"text": "gold"}, "gold": "pos"}),
        ),
    );
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Watched", "labels": ["pos", "neg"], "overlap": 2, "gold_rate": 0.5, "min_gold_accuracy": 0.9, "gold_min_seen": 1, "report_threshold": 1, "open_link": true}),
            Value::Array(items),
        )
        .await;
    let careless = app.rater("careless").await;
    // Wrong on every gold question: paused at the first one (P(no gold in 30) ~ 1e-9).
    for _ in 0..30 {
        let next = careless.get(&format!("/api/v1/projects/{pid}/next")).await;
        if next.status() != StatusCode::OK {
            assert_eq!(next.status(), StatusCode::FORBIDDEN);
            break;
        }
        let iid = next.json::<Value>().await.unwrap()["item"]["id"]
            .as_i64()
            .unwrap();
        careless.label(pid, iid, "neg").await;
    }
    let reporter = app.rater("reporter").await;
    let iid = reporter.next(pid).await.unwrap();
    reporter
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/report"),
            &json!({"reason": "offensive"}),
        )
        .await;

    let path = format!("/admin/projects/{pid}");
    let page = browser.get(&path).await.text().await.unwrap();
    let raters = select_text(&page, "#raters").unwrap();
    assert!(
        raters.contains("careless") && raters.contains("paused"),
        "{raters}"
    );
    let held = select_text(&page, "#held").unwrap();
    assert!(held.contains("offensive"));
    assert!(select_text(&page, "#link-secret").unwrap().len() == 64);
    assert!(select_text(&page, "#open-link").is_some());

    let csrf = csrf_in(&page);
    let careless_id = app
        .store
        .user_by_name("careless")
        .await
        .unwrap()
        .unwrap()
        .id;
    let lifted = browser
        .post_form(
            &format!("/admin/projects/{pid}/raters/{careless_id}/unpause"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(lifted.status(), StatusCode::SEE_OTHER);
    assert!(careless.next(pid).await.is_some());
    let released = browser
        .post_form(
            &format!("/admin/projects/{pid}/items/{iid}/release"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(released.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM items WHERE held").await, 0);

    let with_key = browser
        .post_form(
            &format!("/admin/projects/{pid}/feedback-keys"),
            &[("csrf", &csrf)],
        )
        .await;
    let html = with_key.text().await.unwrap();
    let key = select_text(&html, "#new-key").expect("the key is shown once");
    let sent = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/projects/{pid}/feedback")))
        .bearer_auth(&key)
        .json(&json!({"event_id": "k1", "external_id": "n1", "value": "pos", "source": "widget"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let page = browser.get(&path).await.text().await.unwrap();
    assert!(select_text(&page, "#new-key").is_none());
    assert!(select_text(&page, "#sources").unwrap().contains("widget"));
}
