//! What each server keeps in memory (a token's user, a project, a rater's membership) never
//! outlives a change: the server that made it sees it on its next request, and a second
//! server on the same database (another process) within moments.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{serve, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    changes_show_at_once_here_and_soon_on_a_second_server,
    a_label_under_old_settings_is_refused_then_accepted,
);

/// A second server on the same database, with its own store and so its own memory.
async fn second_server(app: &TestApp) -> String {
    let store = tally::Store::connect(&app.database_url)
        .await
        .expect("connect");
    format!("http://{}", serve(store, tally::Config::default()).await)
}

fn on(api: &Api, base: &str) -> Api {
    Api {
        client: api.client.clone(),
        base: base.to_string(),
        token: api.token.clone(),
    }
}

async fn status_of_next(api: &Api, pid: i64) -> StatusCode {
    api.get(&format!("/api/v1/projects/{pid}/next"))
        .await
        .status()
}

/// Asks until `next` answers `want`; panics after two seconds, far past the servers'
/// 25 ms bound, so only a change that never shows fails.
async fn eventually(api: &Api, pid: i64, want: StatusCode, what: &str) {
    let started = Instant::now();
    loop {
        let status = status_of_next(api, pid).await;
        if status == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{what}: the second server still answers {status}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn changes_show_at_once_here_and_soon_on_a_second_server(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b", "c"]).await;
    let ann = app.rater("ann").await;
    let bob = app.rater("bob").await;
    let other = second_server(&app).await;
    let (ann_there, bob_there) = (on(&ann, &other), on(&bob, &other));
    // Both servers now keep ann's and bob's users, the project and their memberships.
    for api in [&ann, &bob, &ann_there, &bob_there] {
        assert_eq!(status_of_next(api, pid).await, StatusCode::OK);
    }

    // Naming ann as the project's only member shuts bob out.
    let added = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/members"),
            &json!({"name": "ann"}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_of_next(&bob, pid).await, StatusCode::FORBIDDEN);
    eventually(&bob_there, pid, StatusCode::FORBIDDEN, "membership").await;
    assert_eq!(status_of_next(&ann_there, pid).await, StatusCode::OK);

    // Revoking ann's tokens shuts her out.
    let ann_id = app.store.user_by_name("ann").await.unwrap().unwrap().id;
    let revoked = admin
        .post_json(&format!("/api/v1/users/{ann_id}/deactivate"), &json!({}))
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_of_next(&ann, pid).await, StatusCode::UNAUTHORIZED);
    eventually(&ann_there, pid, StatusCode::UNAUTHORIZED, "deactivation").await;

    // Archiving the project closes it to raters, here and there.
    let carl = app.rater("carl").await;
    let carl_there = on(&carl, &other);
    let open_to_all = admin
        .delete(&format!("/api/v1/projects/{pid}/members/{ann_id}"))
        .await;
    assert_eq!(open_to_all.status(), StatusCode::NO_CONTENT);
    eventually(&carl_there, pid, StatusCode::OK, "open again").await;
    let archived = admin
        .post_json(&format!("/api/v1/projects/{pid}/archive"), &json!({}))
        .await;
    assert_eq!(archived.status(), StatusCode::OK);
    assert_eq!(status_of_next(&carl, pid).await, StatusCode::FORBIDDEN);
    eventually(&carl_there, pid, StatusCode::FORBIDDEN, "archiving").await;
}

async fn a_label_under_old_settings_is_refused_then_accepted(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b"]).await;
    let ann = app.rater("ann").await;
    let other = second_server(&app).await;
    let ann_there = on(&ann, &other);
    let iid = ann_there.next(pid).await.expect("an item");

    // The settings change through the first server; the second may still hold the old
    // project for a moment, and the gate inside the write refuses a label checked under it.
    let edited = admin
        .client
        .patch(app.url(&format!("/api/v1/projects/{pid}")))
        .bearer_auth(&admin.token)
        .json(&json!({"instructions": "Read twice."}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    let started = Instant::now();
    loop {
        let answer = ann_there.label(pid, iid, "pos").await;
        match answer.status() {
            StatusCode::CREATED => break,
            StatusCode::CONFLICT => assert!(
                started.elapsed() < Duration::from_secs(2),
                "the second server kept refusing: {:?}",
                answer.text().await
            ),
            other => panic!("label answered {other}: {:?}", answer.text().await),
        }
    }
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE item_id = {iid}"
        ))
        .await,
        1
    );
}
