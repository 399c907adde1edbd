//! The project health page and its JSON twin: planted drift is flagged, agreement and
//! activity per window, feedback sources, the empty state, and admins only.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::now_ms;
use tally::domain::user::Role;

use crate::harness::{select_text, Api, TestApp};
use crate::on_both_backends;
use crate::pace::exec;

on_both_backends!(
    the_health_page_flags_a_planted_shift_in_the_labels,
    a_steady_project_is_not_flagged,
    agreement_activity_and_feedback_show_per_window,
    a_new_project_shows_an_empty_state,
    raters_may_not_open_the_health_page,
);

const DAY: i64 = 86_400_000;

fn texts(n: usize) -> Vec<Value> {
    crate::harness::numbered_items("x", n)
}

async fn health(admin: &Api, pid: i64) -> Value {
    let response = admin.get(&format!("/api/v1/projects/{pid}/health")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

/// A project of 80 items labelled once each: the first 40 three days ago with `early`,
/// the other 40 just now with `late` (one value per label, in turn).
async fn planted(app: &TestApp, early: &[&str], late: &[&str]) -> (Api, i64) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Drift", "labels": ["pos", "neg"], "overlap": 1}),
            json!(texts(80)),
        )
        .await;
    let rater = app.rater("worker").await;
    for k in 0..80 {
        let iid = rater.next(pid).await.expect("item");
        let value = if k < 40 {
            early[k % early.len()]
        } else {
            late[k % late.len()]
        };
        assert_eq!(
            rater.label(pid, iid, value).await.status(),
            StatusCode::CREATED
        );
        if k < 40 {
            let at = now_ms() - 3 * DAY;
            exec(
                app,
                &format!("UPDATE labels SET created_at = {at} WHERE item_id = {iid}"),
            )
            .await;
        }
    }
    (admin, pid)
}

async fn the_health_page_flags_a_planted_shift_in_the_labels(app: TestApp) {
    let (admin, pid) = planted(&app, &["pos"], &["neg"]).await;
    let body = health(&admin, pid).await;
    let h = &body["health"];
    assert_eq!(h["step"], "day", "a project three days old is shown by day");
    let windows = h["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 4);
    assert_eq!(windows[0]["labels"], 40);
    assert_eq!(windows[0]["distribution"], json!({"pos": 40}));
    assert_eq!(windows[3]["distribution"], json!({"neg": 40}));
    assert_eq!(windows[3]["active_raters"], 1);
    assert_eq!(h["drift"]["state"], "drifting");
    assert_eq!(
        (
            h["drift"]["latest_labels"].as_i64(),
            h["drift"]["earlier_labels"].as_i64()
        ),
        (Some(40), Some(40))
    );

    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}/health")).await;
    let verdict = select_text(&page, "#drift-verdict").unwrap();
    assert!(verdict.starts_with("drifting Drifting"), "{verdict}");
    assert!(page.contains("<svg"), "charts are drawn on the server");
    let table = select_text(&page, "#health-table").unwrap();
    assert!(table.contains("40 (100%)"), "{table}");
}

async fn a_steady_project_is_not_flagged(app: TestApp) {
    let (admin, pid) = planted(&app, &["pos", "neg"], &["pos", "neg"]).await;
    let body = health(&admin, pid).await;
    assert_eq!(body["health"]["drift"]["state"], "steady");
    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}/health")).await;
    assert!(select_text(&page, "#drift-verdict")
        .unwrap()
        .starts_with("Steady"));
}

async fn agreement_activity_and_feedback_show_per_window(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Pairs", "labels": ["pos", "neg"], "overlap": 2}),
            json!(texts(4)),
        )
        .await;
    let ann = app.rater("ann").await;
    let ben = app.rater("ben").await;
    // Ann says pos to all four; Ben agrees on three.
    for k in 0..4 {
        let iid = ann.next(pid).await.unwrap();
        assert_eq!(
            ann.label(pid, iid, "pos").await.status(),
            StatusCode::CREATED
        );
        let jid = ben.next(pid).await.unwrap();
        let value = if k == 0 { "neg" } else { "pos" };
        assert_eq!(
            ben.label(pid, jid, value).await.status(),
            StatusCode::CREATED
        );
    }
    let made: Value = admin
        .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let key = Api {
        token: made["key"].as_str().unwrap().to_string(),
        ..admin.clone()
    };
    for n in 1..=3 {
        let sent = key
            .post_json(
                &format!("/api/v1/projects/{pid}/feedback"),
                &json!({"event_id": format!("e{n}"), "external_id": "x1", "value": "pos", "source": "thumbs"}),
            )
            .await;
        assert_eq!(sent.status(), StatusCode::CREATED);
    }
    let body = health(&admin, pid).await;
    let h = &body["health"];
    assert_eq!(h["step"], "hour");
    let last = h["windows"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["labels"], 8);
    assert_eq!(last["active_raters"], 2);
    // Four items, one pair each, three agreeing.
    assert_eq!(last["pairs"], 4);
    assert_eq!(last["agreement"], 0.75);
    assert_eq!(h["feedback"][0]["source"], "thumbs");
    assert_eq!(
        h["feedback"][0]["events"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        3
    );
    assert_eq!(body["sources"][0]["source"], "thumbs");

    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}/health")).await;
    let table = select_text(&page, "#health-table").unwrap();
    assert!(table.contains("75% of 4 pairs"), "{table}");
    assert!(table.contains("thumbs events"), "{table}");
    assert!(select_text(&page, "#feedback").unwrap().contains("thumbs"));
    let overview = browser.page(&format!("/admin/projects/{pid}")).await;
    assert!(
        overview.contains(&format!("href=\"/admin/projects/{pid}/health\"")),
        "the tabs link the page"
    );
}

async fn a_new_project_shows_an_empty_state(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "New", "labels": ["a", "b"]}),
            json!(texts(2)),
        )
        .await;
    assert!(health(&admin, pid).await["health"].is_null());
    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}/health")).await;
    assert!(select_text(&page, "#empty h2")
        .unwrap()
        .contains("Nothing to show yet"));
    assert!(!page.contains("<svg"));
    let pace: Value = admin
        .get(&format!("/api/v1/projects/{pid}/pace"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pace["eta"]["state"], "no_recent_labels");
}

async fn raters_may_not_open_the_health_page(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Private", "labels": ["a", "b"]}),
            json!(texts(2)),
        )
        .await;
    app.user_with_password("nosy", Role::Rater, "rater password 1")
        .await;
    let browser = app.browser();
    assert_eq!(
        browser.login("nosy", "rater password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    let page = browser.get(&format!("/admin/projects/{pid}/health")).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let missing = admin.get("/api/v1/projects/999999/health").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
