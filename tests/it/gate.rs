//! No way around the gate: every label, skip and report is refused unless `next` handed the
//! item to this rater and the rater may work on it now, on the API and on the pages alike.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{attr_of, csrf_in, Api, Browser, TestApp};
use crate::on_both_backends;

on_both_backends!(
    labels_need_an_item_handed_out_by_next,
    a_pause_between_next_and_label_refuses_the_label,
    unqualified_and_failed_raters_cannot_label_real_items,
    experts_without_the_expertise_cannot_label,
    held_items_refuse_labels_even_from_their_holder,
    an_expired_hold_is_honoured_while_its_slot_is_free,
    link_identities_stay_in_their_project,
    only_handed_raters_report_and_a_release_starts_the_count_again,
    projects_with_members_are_closed_to_everyone_else,
);

fn texts(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("item {i}")).collect()
}

async fn project(app: &TestApp, admin: &Api, extra: Value, items: Value) -> i64 {
    let mut body = json!({"name": "Gated", "labels": ["pos", "neg"], "overlap": 2});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        if e.contains_key("pools") {
            b.remove("overlap");
        }
        b.extend(e);
    }
    app.project_from(admin, body, items).await
}

fn plain_items(n: usize) -> Value {
    Value::Array(
        texts(n)
            .into_iter()
            .map(|t| json!({"data": {"text": t}}))
            .collect(),
    )
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

async fn item_ids(app: &TestApp, pid: i64) -> Vec<i64> {
    let admin = app
        .user_with_token(
            &format!("lister{}", tally::auth::random_hex(3)),
            tally::domain::user::Role::Admin,
        )
        .await;
    admin
        .export(pid)
        .await
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect()
}

async fn labels_need_an_item_handed_out_by_next(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(&app, &admin, json!({}), plain_items(4)).await;
    let ids = item_ids(&app, pid).await;
    let rater = app.rater("chooser").await;
    let (status, error) = error_of(rater.label(pid, ids[3], "pos").await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error.contains("not handed to you"), "{error}");
    let handed = rater.next(pid).await.unwrap();
    assert_eq!(handed, ids[0]);
    let (status, _) = error_of(rater.label(pid, ids[3], "pos").await).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "holding one item does not open another"
    );
    for write in ["skip", "report"] {
        let response = rater
            .post_json(
                &format!("/api/v1/projects/{pid}/items/{}/{write}", ids[2]),
                &json!({"reason": "broken"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{write}");
    }
    assert_eq!(
        rater.label(pid, handed, "pos").await.status(),
        StatusCode::CREATED
    );

    // The HTML form goes through the same gate.
    app.user_with_password(
        "formy",
        tally::domain::user::Role::Rater,
        "rater password 1",
    )
    .await;
    let browser = app.browser();
    browser.login("formy", "rater password 1").await;
    let csrf = browser.csrf("/").await;
    let forged = browser
        .post_form(
            &format!("/rate/{pid}/items/{}/label", ids[3]),
            &[("csrf", &csrf), ("value", "neg")],
        )
        .await;
    assert_eq!(
        forged.status(),
        StatusCode::SEE_OTHER,
        "the page moves on rather than showing a bare 409"
    );
    let next = browser.page(&format!("/rate/{pid}")).await;
    let notice = crate::harness::select_text(&next, "#flash").unwrap_or_default();
    assert!(notice.contains("not handed to you"), "{notice}");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE item_id = {}",
            ids[3]
        ))
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM skips").await,
        0,
        "no skip or report landed"
    );
}

async fn a_pause_between_next_and_label_refuses_the_label(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(&app, &admin, json!({}), plain_items(2)).await;
    let rater = app.rater("paused").await;
    let iid = rater.next(pid).await.unwrap();
    let rater_id = app
        .count("SELECT id FROM users WHERE name = 'paused'")
        .await;
    let pause = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{rater_id}/pause"),
            &json!({"reason": "check your last batch"}),
        )
        .await;
    assert_eq!(pause.status(), StatusCode::NO_CONTENT);
    let (status, error) = error_of(rater.label(pid, iid, "pos").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error.contains("check your last batch"), "{error}");
    let skip = rater
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/skip"),
            &json!({}),
        )
        .await;
    assert_eq!(skip.status(), StatusCode::FORBIDDEN);
    let next = rater.get(&format!("/api/v1/projects/{pid}/next")).await;
    assert_eq!(next.status(), StatusCode::FORBIDDEN);
    let unpause = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{rater_id}/unpause"),
            &json!({}),
        )
        .await;
    assert_eq!(unpause.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        rater.label(pid, iid, "pos").await.status(),
        StatusCode::CREATED,
        "the lease outlived the pause"
    );
}

async fn unqualified_and_failed_raters_cannot_label_real_items(app: TestApp) {
    let admin = app.admin().await;
    let items = json!([
        {"external_id": "q1", "data": {"text": "Loved it"}, "gold": "pos", "qualification": true},
        {"external_id": "q2", "data": {"text": "Broke"}, "gold": "neg", "qualification": true},
        {"external_id": "real", "data": {"text": "Fine"}}
    ]);
    let pid = project(&app, &admin, json!({"qualify_accuracy": 1.0}), items).await;
    let ids = item_ids(&app, pid).await;
    let real = *ids.last().unwrap();
    let rater = app.rater("eager").await;
    let (status, error) = error_of(rater.label(pid, real, "pos").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    assert!(error.contains("qualification"), "{error}");
    // The first question comes from next; answering it wrong fails the set.
    let first = rater.next(pid).await.unwrap();
    assert_eq!(
        rater.label(pid, first, "neg").await.status(),
        StatusCode::CREATED
    );
    let second = rater.next(pid).await.unwrap();
    assert_eq!(
        rater.label(pid, second, "neg").await.status(),
        StatusCode::CREATED
    );
    let (status, error) = error_of(rater.label(pid, real, "pos").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error.contains("did not pass"), "{error}");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE item_id = {real}"
        ))
        .await,
        0
    );
}

async fn experts_without_the_expertise_cannot_label(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(
        &app,
        &admin,
        json!({"pools": {"generalist": 0, "expert": 1}, "expertise": ["radiology"]}),
        plain_items(2),
    )
    .await;
    let ids = item_ids(&app, pid).await;
    let wrong = app
        .pool_rater(
            "derm",
            tally::domain::policy::Pool::Expert,
            &["dermatology"],
        )
        .await;
    let (status, error) = error_of(wrong.label(pid, ids[0], "pos").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error.contains("radiology"), "{error}");
    let right = app
        .pool_rater("rad", tally::domain::policy::Pool::Expert, &["radiology"])
        .await;
    let iid = right.next(pid).await.unwrap();
    assert_eq!(
        right.label(pid, iid, "pos").await.status(),
        StatusCode::CREATED
    );
}

async fn report(rater: &Api, pid: i64, iid: i64) -> StatusCode {
    rater
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/report"),
            &json!({"reason": "broken"}),
        )
        .await
        .status()
}

async fn held_items_refuse_labels_even_from_their_holder(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(
        &app,
        &admin,
        json!({"overlap": 3, "report_threshold": 2}),
        plain_items(1),
    )
    .await;
    let holder = app.rater("holder").await;
    let iid = holder.next(pid).await.unwrap();
    for name in ["rep1", "rep2"] {
        let reporter = app.rater(name).await;
        assert_eq!(reporter.next(pid).await, Some(iid));
        assert_eq!(report(&reporter, pid, iid).await, StatusCode::NO_CONTENT);
    }
    let (status, error) = error_of(holder.label(pid, iid, "pos").await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error.contains("held back"), "{error}");
}

async fn an_expired_hold_is_honoured_while_its_slot_is_free(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(
        &app,
        &admin,
        json!({"overlap": 1, "lease_seconds": 1}),
        plain_items(1),
    )
    .await;
    let slow = app.rater("slow").await;
    let iid = slow.next(pid).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        slow.label(pid, iid, "neg").await.status(),
        StatusCode::CREATED,
        "nobody took the slot, so the late label counts"
    );
}

/// A browser with an open-link identity of a project.
async fn open_link_visitor(app: &TestApp, pid: i64, link: &str) -> Browser {
    let browser = app.browser();
    let entered = browser.get(link).await;
    assert_eq!(entered.status(), StatusCode::SEE_OTHER, "{link}");
    let page = browser.page(&format!("/u/{pid}/label")).await;
    assert!(attr_of(&page, "#label-form", "action").is_some());
    browser
}

async fn link_identities_stay_in_their_project(app: TestApp) {
    let admin = app.admin().await;
    let open = json!({"pools": {"generalist": 1, "user": 2}, "open_link": true});
    let a = project(&app, &admin, open.clone(), plain_items(2)).await;
    let b = project(&app, &admin, open, plain_items(2)).await;
    let link_a: Value = admin
        .get(&format!("/api/v1/projects/{a}"))
        .await
        .json()
        .await
        .unwrap();
    let visitor = open_link_visitor(&app, a, link_a["open_link_url"].as_str().unwrap()).await;
    let item_of_b = item_ids(&app, b).await[0];
    let page = visitor.page(&format!("/u/{a}/label")).await;
    let csrf = csrf_in(&page);
    for write in ["label", "skip", "report"] {
        let response = visitor
            .post_form(
                &format!("/rate/{b}/items/{item_of_b}/{write}"),
                &[("csrf", &csrf), ("value", "pos"), ("reason", "broken")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{write}");
    }
    assert_eq!(
        visitor.get(&format!("/rate/{b}")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM skips WHERE item_id = {item_of_b}"
        ))
        .await,
        0
    );
    assert_eq!(app.count("SELECT count(*) FROM reports").await, 0);
}

async fn only_handed_raters_report_and_a_release_starts_the_count_again(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(
        &app,
        &admin,
        json!({"overlap": 5, "report_threshold": 2}),
        plain_items(1),
    )
    .await;
    let iid = item_ids(&app, pid).await[0];
    let stranger = app.rater("stranger").await;
    assert_eq!(report(&stranger, pid, iid).await, StatusCode::CONFLICT);
    for name in ["first", "second"] {
        let reporter = app.rater(name).await;
        assert_eq!(reporter.next(pid).await, Some(iid));
        assert_eq!(report(&reporter, pid, iid).await, StatusCode::NO_CONTENT);
    }
    let queue: Value = admin
        .get(&format!("/api/v1/projects/{pid}/queue"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["reported"], 1);
    let release = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/release"),
            &json!({}),
        )
        .await;
    assert_eq!(release.status(), StatusCode::NO_CONTENT);
    let fresh = app.rater("fresh").await;
    assert_eq!(fresh.next(pid).await, Some(iid));
    assert_eq!(report(&fresh, pid, iid).await, StatusCode::NO_CONTENT);
    let after: Value = admin
        .get(&format!("/api/v1/projects/{pid}/queue"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        after["reported"], 0,
        "one new report after a release does not hold the item again"
    );
    let labeller = app.rater("labeller").await;
    assert_eq!(labeller.next(pid).await, Some(iid));
}

async fn projects_with_members_are_closed_to_everyone_else(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(&app, &admin, json!({}), plain_items(3)).await;
    let member = app.rater("member").await;
    let outsider = app.rater("outsider").await;
    let iid = outsider.next(pid).await.unwrap();
    let added = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/members"),
            &json!({"name": "member"}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    let (status, error) =
        error_of(outsider.get(&format!("/api/v1/projects/{pid}/next")).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error.contains("not a member"), "{error}");
    assert_eq!(
        outsider.label(pid, iid, "pos").await.status(),
        StatusCode::FORBIDDEN,
        "a lease taken before the project closed does not open it"
    );
    assert!(member.next(pid).await.is_some());
    let members: Value = admin
        .get(&format!("/api/v1/projects/{pid}/members"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members["raters"][0]["name"], "member");
    let pools = admin
        .client
        .put(format!("{}/api/v1/projects/{pid}/member-pools", admin.base))
        .bearer_auth(&admin.token)
        .json(&json!({"pools": ["generalist"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(pools.status(), StatusCode::NO_CONTENT);
    assert!(
        outsider.next(pid).await.is_some(),
        "admitted with the whole pool"
    );

    // The home page lists only the projects a rater may work on.
    let closed = project(&app, &admin, json!({"name": "Closed"}), plain_items(1)).await;
    admin
        .post_json(
            &format!("/api/v1/projects/{closed}/members"),
            &json!({"name": "member"}),
        )
        .await;
    app.user_with_password(
        "visitor",
        tally::domain::user::Role::Rater,
        "rater password 1",
    )
    .await;
    let browser = app.browser();
    browser.login("visitor", "rater password 1").await;
    let home = browser.get("/").await.text().await.unwrap();
    assert!(home.contains("Gated"));
    assert!(!home.contains("Closed"), "{home}");
    assert_eq!(
        browser.get(&format!("/rate/{closed}")).await.status(),
        StatusCode::FORBIDDEN
    );
}
