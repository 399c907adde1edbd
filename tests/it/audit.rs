//! The audit log: append-only on both backends, read through the API and the page with
//! filters and keyset pagination, and one entry (right action, actor, project and target)
//! for every admin action that existed before the log.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::audit::{Action, Entry, Source};
use tally::store::audit::{AuditFilter, AuditRecord};
use tally::Store;

use crate::cli::tally;
use crate::harness::{csrf_in, select_text, Api, Browser, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_log_is_append_only,
    the_api_reads_newest_first_with_filters_and_pages,
    the_page_filters_and_links_the_next_page,
    pauses_and_releases_are_audited,
    membership_changes_are_audited,
    keys_links_and_webhooks_are_audited,
    imports_are_audited_from_api_page_and_cli,
    exports_are_audited_from_api_page_and_cli,
    users_tokens_and_projects_are_audited,
);

/// The entries of one action, newest first.
pub async fn entries(app: &TestApp, action: &str) -> Vec<AuditRecord> {
    let filter = AuditFilter {
        action: Some(action.to_string()),
        limit: 1000,
        ..AuditFilter::default()
    };
    app.store
        .audit_entries(&filter)
        .await
        .expect("audit entries")
}

/// The one entry of an action; fails unless there is exactly one.
pub async fn only_entry(app: &TestApp, action: &str) -> AuditRecord {
    let mut found = entries(app, action).await;
    assert_eq!(found.len(), 1, "one {action} entry: {found:?}");
    found.remove(0)
}

/// Runs a statement on the test database.
pub async fn execute(app: &TestApp, sql: &str) -> Result<u64, sqlx::Error> {
    Ok(match &app.store {
        Store::Sqlite(b) => sqlx::query(sql).execute(&b.pool).await?.rows_affected(),
        Store::Postgres(b) => sqlx::query(sql).execute(&b.pool).await?.rows_affected(),
    })
}

async fn id_of(app: &TestApp, name: &str) -> i64 {
    app.store.user_by_name(name).await.unwrap().unwrap().id
}

/// What one action should have written.
struct Expected<'a> {
    action: &'a str,
    actor: Option<i64>,
    project: Option<i64>,
    target: Option<String>,
}

/// Checks that the action has exactly `count` entries and that the newest is as expected;
/// returns its details.
async fn check(app: &TestApp, count: usize, expected: Expected<'_>) -> Value {
    let found = entries(app, expected.action).await;
    assert_eq!(
        found.len(),
        count,
        "{} entries of {}: {found:?}",
        count,
        expected.action
    );
    let newest = &found[0];
    assert_eq!(
        newest.actor_id, expected.actor,
        "actor of {}",
        expected.action
    );
    assert_eq!(
        newest.project_id, expected.project,
        "project of {}",
        expected.action
    );
    assert_eq!(
        newest.target, expected.target,
        "target of {}",
        expected.action
    );
    serde_json::from_str(&newest.details).expect("details are JSON")
}

async fn the_log_is_append_only(app: TestApp) {
    let entry = Entry::new(1, Action::ProjectCreated, Source::Cli).project(1);
    app.store.audit(&entry).await.unwrap();
    let update = execute(&app, "UPDATE audit_log SET action = 'user.erased'").await;
    assert!(update.is_err(), "an UPDATE is refused: {update:?}");
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = execute(&app, "DELETE FROM audit_log").await;
    assert!(delete.is_err(), "a DELETE is refused: {delete:?}");
    assert_eq!(app.count("SELECT count(*) FROM audit_log").await, 1);
    assert_eq!(
        only_entry(&app, "project.created").await.action,
        "project.created"
    );
}

async fn the_api_reads_newest_first_with_filters_and_pages(app: TestApp) {
    let admin = app.admin().await;
    let admin_id = id_of(&app, "admin").await;
    for pid in [7, 7, 8] {
        let entry = Entry::new(admin_id, Action::LinkSecretRotated, Source::Cli).project(pid);
        app.store.audit(&entry).await.unwrap();
    }
    app.store
        .audit(&Entry::new(999, Action::UserCreated, Source::Cli).target("user", 5))
        .await
        .unwrap();

    let page: Value = admin
        .get("/api/v1/audit?limit=3")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(page["entries"][0]["action"], "user.created");
    assert_eq!(page["entries"][0]["details"], json!({}));
    assert_eq!(page["entries"][0]["source"], "cli");
    assert_eq!(page["next_before"], ids[2]);
    let answer = admin
        .get(&format!("/api/v1/audit?limit=3&before={}", ids[2]))
        .await;
    let link = answer
        .headers()
        .get("link")
        .map(|l| l.to_str().unwrap().to_string());
    assert!(link.is_none(), "no next page after the last: {link:?}");
    let last: Value = answer.json().await.unwrap();
    assert_eq!(last["entries"].as_array().unwrap().len(), 1);
    assert!(last["next_before"].is_null());
    let first = admin.get("/api/v1/audit?limit=1&project=7").await;
    let link = first.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("project=7") && link.contains("before=") && link.ends_with("rel=\"next\""),
        "{link}"
    );

    let count = |query: &'static str| {
        let admin = admin.clone();
        async move {
            let page: Value = admin
                .get(&format!("/api/v1/audit?{query}"))
                .await
                .json()
                .await
                .unwrap();
            page["entries"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("project=7").await, 2);
    assert_eq!(count("actor=999").await, 1);
    assert_eq!(
        count(Box::leak(format!("actor={admin_id}").into_boxed_str())).await,
        3
    );
    assert_eq!(count("action=link_secret.rotated").await, 3);
    assert_eq!(count("since=2000-01-01T00:00:00Z").await, 4);
    assert_eq!(count("since=4102444800000").await, 0);
    assert_eq!(count("project=&actor=&since=").await, 4);

    for (query, name) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("since=tomorrow", "since"),
        ("before=-1", "before"),
        ("project=seven", "project"),
        ("actor=x", "actor"),
        ("action=project.exploded", "action"),
    ] {
        let answer = admin.get(&format!("/api/v1/audit?{query}")).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = answer.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().starts_with(name),
            "{query}: {body}"
        );
    }
    assert_eq!(
        app.rater("rita").await.get("/api/v1/audit").await.status(),
        StatusCode::FORBIDDEN
    );
}

async fn the_page_filters_and_links_the_next_page(app: TestApp) {
    let browser = app.signed_in_admin().await;
    let chief = id_of(&app, "chief").await;
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    app.rater("ron").await;
    let ron = id_of(&app, "ron").await;
    let csrf = browser.csrf("/admin/users").await;
    let saved = browser
        .post_form(
            &format!("/admin/users/{ron}"),
            &[("csrf", &csrf), ("pool", "expert"), ("expertise", "law")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);

    let nav = browser.page("/admin").await;
    assert!(
        nav.contains("href=\"/admin/audit\""),
        "the admin navigation links the log"
    );
    let html = browser.page("/admin/audit?action=user.updated").await;
    let rows = select_text(&html, "#audit tbody").unwrap();
    assert!(rows.contains("user.updated"), "{rows}");
    assert!(rows.contains("chief"), "{rows}");
    assert!(rows.contains("user ron"), "{rows}");
    assert!(rows.contains("generalist → expert"), "{rows}");
    assert!(!rows.contains("project.created"), "{rows}");
    // The filter form keeps what was asked.
    assert!(
        html.contains("<option value=\"user.updated\" selected>"),
        "{html}"
    );

    let all = browser.page(&format!("/admin/audit?project={pid}")).await;
    assert!(select_text(&all, "#audit tbody")
        .unwrap()
        .contains("project.created"));
    let first = browser.page("/admin/audit?limit=1").await;
    let doc = scraper::Html::parse_document(&first);
    let next = doc
        .select(&scraper::Selector::parse("#next-page").unwrap())
        .next()
        .and_then(|a| a.value().attr("href"))
        .expect("a next page link")
        .to_string();
    assert!(
        next.contains("before=") && next.contains("limit=1"),
        "{next}"
    );
    let second = browser.page(&next).await;
    assert!(select_text(&second, "#audit tbody").is_some());
    assert_ne!(
        select_text(&first, "#audit tbody"),
        select_text(&second, "#audit tbody")
    );

    let bad = browser.get("/admin/audit?since=whenever").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let bad = bad.text().await.unwrap();
    assert!(
        select_text(&bad, "#audit-error")
            .unwrap()
            .starts_with("since"),
        "{bad}"
    );
    assert!(select_text(&bad, "#audit-filters").is_some());
    let _ = chief;
}

async fn admin_browser(app: &TestApp) -> (Browser, i64) {
    let browser = app.signed_in_admin().await;
    (browser, id_of(app, "chief").await)
}

/// Posts a form on a project's page with the session's CSRF token.
async fn project_form(
    browser: &Browser,
    pid: i64,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = browser.csrf(&format!("/admin/projects/{pid}")).await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    browser.post_form(path, &form).await
}

async fn pauses_and_releases_are_audited(app: TestApp) {
    let admin = app.admin().await;
    let admin_id = id_of(&app, "admin").await;
    let (browser, chief) = admin_browser(&app).await;
    let body = json!({"name": "Held", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 2, "report_threshold": 1});
    let items = json!([{"data": {"text": "one"}}, {"data": {"text": "two"}}]);
    let pid = app.project_from(&admin, body, items).await;
    let rater = app.rater("rudi").await;
    let rudi = id_of(&app, "rudi").await;
    let user = Some(format!("user:{rudi}"));

    let paused = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{rudi}/pause"),
            &json!({"reason": "gold"}),
        )
        .await;
    assert_eq!(paused.status(), StatusCode::NO_CONTENT);
    let details = check(
        &app,
        1,
        Expected {
            action: "rater.paused",
            actor: Some(admin_id),
            project: Some(pid),
            target: user.clone(),
        },
    )
    .await;
    assert!(
        details["reason"].as_str().unwrap().ends_with("gold"),
        "{details}"
    );
    let resumed = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{rudi}/unpause"),
            &json!({}),
        )
        .await;
    assert_eq!(resumed.status(), StatusCode::NO_CONTENT);
    check(
        &app,
        1,
        Expected {
            action: "rater.resumed",
            actor: Some(admin_id),
            project: Some(pid),
            target: user.clone(),
        },
    )
    .await;
    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/raters/{rudi}/pause"),
        &[("reason", "slow")],
    )
    .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    check(
        &app,
        2,
        Expected {
            action: "rater.paused",
            actor: Some(chief),
            project: Some(pid),
            target: user.clone(),
        },
    )
    .await;
    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/raters/{rudi}/unpause"),
        &[],
    )
    .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    check(
        &app,
        2,
        Expected {
            action: "rater.resumed",
            actor: Some(chief),
            project: Some(pid),
            target: user.clone(),
        },
    )
    .await;
    // A refused action writes nothing.
    let again = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{rudi}/unpause"),
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(entries(&app, "rater.resumed").await.len(), 2);

    // Two reported items, released by the API and by the page.
    for _ in 0..2 {
        let iid = rater.next(pid).await.unwrap();
        let reported = rater
            .post_json(
                &format!("/api/v1/projects/{pid}/items/{iid}/report"),
                &json!({"reason": "broken"}),
            )
            .await;
        assert_eq!(reported.status(), StatusCode::NO_CONTENT);
    }
    let held: Vec<i64> = admin
        .export(pid)
        .await
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect();
    let released = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{}/release", held[0]),
            &json!({}),
        )
        .await;
    assert_eq!(released.status(), StatusCode::NO_CONTENT);
    check(
        &app,
        1,
        Expected {
            action: "item.released",
            actor: Some(admin_id),
            project: Some(pid),
            target: Some(format!("item:{}", held[0])),
        },
    )
    .await;
    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/items/{}/release", held[1]),
        &[],
    )
    .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    check(
        &app,
        2,
        Expected {
            action: "item.released",
            actor: Some(chief),
            project: Some(pid),
            target: Some(format!("item:{}", held[1])),
        },
    )
    .await;
}

async fn membership_changes_are_audited(app: TestApp) {
    let admin = app.admin().await;
    let admin_id = id_of(&app, "admin").await;
    let (browser, chief) = admin_browser(&app).await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    app.rater("mo").await;
    let mo = id_of(&app, "mo").await;
    let user = Some(format!("user:{mo}"));

    let added = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/members"),
            &json!({"name": "mo"}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    check(
        &app,
        1,
        Expected {
            action: "member.added",
            actor: Some(admin_id),
            project: Some(pid),
            target: user.clone(),
        },
    )
    .await;
    let removed = admin
        .client
        .delete(app.url(&format!("/api/v1/projects/{pid}/members/{mo}")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    check(
        &app,
        1,
        Expected {
            action: "member.removed",
            actor: Some(admin_id),
            project: Some(pid),
            target: user.clone(),
        },
    )
    .await;
    let pools = admin
        .client
        .put(app.url(&format!("/api/v1/projects/{pid}/member-pools")))
        .bearer_auth(&admin.token)
        .json(&json!({"pools": ["expert"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(pools.status(), StatusCode::NO_CONTENT);
    let details = check(
        &app,
        1,
        Expected {
            action: "member_pools.changed",
            actor: Some(admin_id),
            project: Some(pid),
            target: None,
        },
    )
    .await;
    assert_eq!(
        details,
        json!({"before": {"pools": []}, "after": {"pools": ["expert"]}})
    );

    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/members"),
        &[("name", "mo")],
    )
    .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    check(
        &app,
        2,
        Expected {
            action: "member.added",
            actor: Some(chief),
            project: Some(pid),
            target: user.clone(),
        },
    )
    .await;
    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/members/{mo}/remove"),
        &[],
    )
    .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    check(
        &app,
        2,
        Expected {
            action: "member.removed",
            actor: Some(chief),
            project: Some(pid),
            target: user.clone(),
        },
    )
    .await;
    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/member-pools"),
        &[("generalist", "on"), ("expert", "on")],
    )
    .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let details = check(
        &app,
        2,
        Expected {
            action: "member_pools.changed",
            actor: Some(chief),
            project: Some(pid),
            target: None,
        },
    )
    .await;
    assert_eq!(details["after"]["pools"], json!(["generalist", "expert"]));
}

async fn keys_links_and_webhooks_are_audited(app: TestApp) {
    let admin = app.admin().await;
    let admin_id = id_of(&app, "admin").await;
    let (browser, chief) = admin_browser(&app).await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    let project = Some(pid);

    let key: Value = admin
        .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let kid = admin
        .get(&format!("/api/v1/projects/{pid}/feedback-keys"))
        .await
        .json::<Value>()
        .await
        .unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    assert!(key["key"].is_string());
    check(
        &app,
        1,
        Expected {
            action: "feedback_key.created",
            actor: Some(admin_id),
            project,
            target: Some(format!("feedback_key:{kid}")),
        },
    )
    .await;
    let revoked = admin
        .client
        .delete(app.url(&format!("/api/v1/projects/{pid}/feedback-keys/{kid}")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    check(
        &app,
        1,
        Expected {
            action: "feedback_key.revoked",
            actor: Some(admin_id),
            project,
            target: Some(format!("feedback_key:{kid}")),
        },
    )
    .await;
    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/feedback-keys"),
        &[],
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let kid = admin
        .get(&format!("/api/v1/projects/{pid}/feedback-keys"))
        .await
        .json::<Value>()
        .await
        .unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    check(
        &app,
        2,
        Expected {
            action: "feedback_key.created",
            actor: Some(chief),
            project,
            target: Some(format!("feedback_key:{kid}")),
        },
    )
    .await;
    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/feedback-keys/{kid}/revoke"),
        &[],
    )
    .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    check(
        &app,
        2,
        Expected {
            action: "feedback_key.revoked",
            actor: Some(chief),
            project,
            target: Some(format!("feedback_key:{kid}")),
        },
    )
    .await;

    let target = Some(format!("project:{pid}"));
    assert_eq!(
        admin
            .post_json(&format!("/api/v1/projects/{pid}/link-secret"), &json!({}))
            .await
            .status(),
        StatusCode::CREATED
    );
    check(
        &app,
        1,
        Expected {
            action: "link_secret.rotated",
            actor: Some(admin_id),
            project,
            target: target.clone(),
        },
    )
    .await;
    assert_eq!(
        admin
            .post_json(&format!("/api/v1/projects/{pid}/open-link"), &json!({}))
            .await
            .status(),
        StatusCode::CREATED
    );
    check(
        &app,
        1,
        Expected {
            action: "open_link.rotated",
            actor: Some(admin_id),
            project,
            target: target.clone(),
        },
    )
    .await;
    assert_eq!(
        project_form(
            &browser,
            pid,
            &format!("/admin/projects/{pid}/link-secret"),
            &[]
        )
        .await
        .status(),
        StatusCode::SEE_OTHER
    );
    let details = check(
        &app,
        2,
        Expected {
            action: "link_secret.rotated",
            actor: Some(chief),
            project,
            target: target.clone(),
        },
    )
    .await;
    assert!(
        !details.to_string().contains(&"0".repeat(0).to_string()) || details == json!({}),
        "no secret in the log"
    );
    assert_eq!(
        project_form(
            &browser,
            pid,
            &format!("/admin/projects/{pid}/open-link"),
            &[]
        )
        .await
        .status(),
        StatusCode::SEE_OTHER
    );
    check(
        &app,
        2,
        Expected {
            action: "open_link.rotated",
            actor: Some(chief),
            project,
            target: target.clone(),
        },
    )
    .await;

    let made: Value = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/webhooks"),
            &json!({"url": "http://127.0.0.1:9/hook", "events": ["item.completed"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let wid = made["id"].as_i64().unwrap_or_else(|| panic!("{made}"));
    let details = check(
        &app,
        1,
        Expected {
            action: "webhook.created",
            actor: Some(admin_id),
            project,
            target: Some(format!("webhook:{wid}")),
        },
    )
    .await;
    assert_eq!(details["url"], "http://127.0.0.1:9/hook");
    assert!(
        !details
            .to_string()
            .contains(made["secret"].as_str().unwrap()),
        "no secret in the log"
    );
    let deleted = admin
        .client
        .delete(app.url(&format!("/api/v1/projects/{pid}/webhooks/{wid}")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    check(
        &app,
        1,
        Expected {
            action: "webhook.deleted",
            actor: Some(admin_id),
            project,
            target: Some(format!("webhook:{wid}")),
        },
    )
    .await;
    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/webhooks"),
        &[
            ("url", "http://127.0.0.1:9/other"),
            ("batch_size", "10"),
            ("item.completed", "on"),
        ],
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let wid = admin
        .get(&format!("/api/v1/projects/{pid}/webhooks"))
        .await
        .json::<Value>()
        .await
        .unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    check(
        &app,
        2,
        Expected {
            action: "webhook.created",
            actor: Some(chief),
            project,
            target: Some(format!("webhook:{wid}")),
        },
    )
    .await;
    let page = project_form(
        &browser,
        pid,
        &format!("/admin/projects/{pid}/webhooks/{wid}/remove"),
        &[],
    )
    .await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    check(
        &app,
        2,
        Expected {
            action: "webhook.deleted",
            actor: Some(chief),
            project,
            target: Some(format!("webhook:{wid}")),
        },
    )
    .await;
}

async fn imports_are_audited_from_api_page_and_cli(app: TestApp) {
    let admin = app.admin().await;
    let admin_id = id_of(&app, "admin").await;
    let (browser, chief) = admin_browser(&app).await;
    let pid = app.project_with_items(&admin, 1, &["a", "b"]).await;
    let target = Some(format!("project:{pid}"));
    let details = check(
        &app,
        1,
        Expected {
            action: "items.imported",
            actor: Some(admin_id),
            project: Some(pid),
            target: target.clone(),
        },
    )
    .await;
    assert_eq!(details["imported"], 2);
    assert_eq!(details["skipped"], 0);
    // A dry run and a refused file write nothing.
    let dry = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items?dry_run=true"),
            &json!([{"data": {"text": "c"}}]),
        )
        .await;
    assert_eq!(dry.status(), StatusCode::OK);
    let refused = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items"),
            &json!([{"nodata": 1}]),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(entries(&app, "items.imported").await.len(), 1);

    let csrf = browser.csrf(&format!("/admin/projects/{pid}")).await;
    let form = Form::new().text("csrf", csrf).part(
        "file",
        Part::bytes(b"text\nc\nd\nd\n".to_vec()).file_name("items.csv"),
    );
    let preview = browser
        .client
        .post(app.url(&format!("/admin/projects/{pid}/import")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    assert_eq!(
        entries(&app, "items.imported").await.len(),
        1,
        "a preview imports nothing"
    );
    let html = preview.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let confirm = doc
        .select(&scraper::Selector::parse("#import-choice form").unwrap())
        .next()
        .and_then(|f| f.value().attr("action"))
        .unwrap()
        .to_string();
    let done = browser
        .post_form(&confirm, &[("csrf", &csrf_in(&html)), ("skip", "flagged")])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let details = check(
        &app,
        2,
        Expected {
            action: "items.imported",
            actor: Some(chief),
            project: Some(pid),
            target: target.clone(),
        },
    )
    .await;
    assert_eq!(
        (details["imported"].as_i64(), details["skipped"].as_i64()),
        (Some(2), Some(1))
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("more.jsonl");
    std::fs::write(&file, "{\"data\": {\"text\": \"e\"}}\n{\"data\": {\"text\": \"f\"}}\n{\"data\": {\"text\": \"g\"}}\n").unwrap();
    let out = tally(
        &app.database_url,
        &[
            "import",
            "--project",
            &pid.to_string(),
            file.to_str().unwrap(),
            "--quiet",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let details = check(
        &app,
        3,
        Expected {
            action: "items.imported",
            actor: None,
            project: Some(pid),
            target: target.clone(),
        },
    )
    .await;
    assert_eq!(details["imported"], 3);
    assert_eq!(
        entries(&app, "items.imported").await[0].source.as_deref(),
        Some("cli")
    );
}

async fn exports_are_audited_from_api_page_and_cli(app: TestApp) {
    let admin = app.admin().await;
    let admin_id = id_of(&app, "admin").await;
    let (browser, chief) = admin_browser(&app).await;
    let pid = app.project_with_items(&admin, 1, &["a", "b"]).await;
    let answer = admin
        .get(&format!("/api/v1/projects/{pid}/export?format=csv"))
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let vid: i64 = answer.headers()["x-tally-dataset-version"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    answer.bytes().await.unwrap();
    let details = check(
        &app,
        1,
        Expected {
            action: "export.created",
            actor: Some(admin_id),
            project: Some(pid),
            target: Some(format!("dataset_version:{vid}")),
        },
    )
    .await;
    assert_eq!(details["format"], "csv");
    assert_eq!(details["rows"], 2);

    let csrf = browser.csrf(&format!("/admin/projects/{pid}")).await;
    let answer = browser
        .post_form(
            &format!("/admin/projects/{pid}/export"),
            &[("csrf", &csrf), ("format", "jsonl")],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let vid: i64 = answer.headers()["x-tally-dataset-version"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    answer.bytes().await.unwrap();
    check(
        &app,
        2,
        Expected {
            action: "export.created",
            actor: Some(chief),
            project: Some(pid),
            target: Some(format!("dataset_version:{vid}")),
        },
    )
    .await;

    let out = tally(
        &app.database_url,
        &[
            "export",
            "--project",
            &pid.to_string(),
            "--quiet",
            "--by",
            "admin",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let newest = &entries(&app, "export.created").await[0];
    assert_eq!(newest.source.as_deref(), Some("cli"));
    assert_eq!(newest.actor_id, Some(admin_id), "--by names an account");
    let out = tally(
        &app.database_url,
        &["export", "--project", &pid.to_string(), "--quiet"],
        None,
    );
    assert!(out.status.success());
    let found = entries(&app, "export.created").await;
    assert_eq!(found.len(), 4);
    assert_eq!(
        (found[0].actor_id, found[0].source.as_deref()),
        (None, Some("cli"))
    );
}

async fn users_tokens_and_projects_are_audited(app: TestApp) {
    let admin = app.admin().await;
    let admin_id = id_of(&app, "admin").await;
    let (browser, chief) = admin_browser(&app).await;

    let csrf = browser.csrf("/admin/users").await;
    let made = browser
        .post_form(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("name", "una"),
                ("role", "rater"),
                ("pool", "expert"),
                ("expertise", "law"),
            ],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    let una = id_of(&app, "una").await;
    let details = check(
        &app,
        1,
        Expected {
            action: "user.created",
            actor: Some(chief),
            project: None,
            target: Some(format!("user:{una}")),
        },
    )
    .await;
    assert_eq!(
        details,
        json!({"role": "rater", "pool": "expert", "expertise": ["law"]})
    );
    let out = tally(
        &app.database_url,
        &["users", "add", "cli-made", "--role", "rater"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made_id = id_of(&app, "cli-made").await;
    check(
        &app,
        2,
        Expected {
            action: "user.created",
            actor: None,
            project: None,
            target: Some(format!("user:{made_id}")),
        },
    )
    .await;

    // Tokens: the caller's own, an admin's for someone, the page, the command line.
    let own: Value = admin
        .post_json("/api/v1/tokens", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let tid = own["id"].as_i64().unwrap();
    let details = check(
        &app,
        1,
        Expected {
            action: "token.created",
            actor: Some(admin_id),
            project: None,
            target: Some(format!("token:{tid}")),
        },
    )
    .await;
    assert_eq!(details["user_id"], admin_id);
    let revoked = admin
        .client
        .delete(app.url(&format!("/api/v1/tokens/{tid}")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    check(
        &app,
        1,
        Expected {
            action: "token.revoked",
            actor: Some(admin_id),
            project: None,
            target: Some(format!("token:{tid}")),
        },
    )
    .await;
    let theirs: Value = admin
        .post_json(&format!("/api/v1/users/{una}/tokens"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let tid = theirs["id"].as_i64().unwrap();
    let details = check(
        &app,
        2,
        Expected {
            action: "token.created",
            actor: Some(admin_id),
            project: None,
            target: Some(format!("token:{tid}")),
        },
    )
    .await;
    assert_eq!(details["user_id"], una);
    let revoked = admin
        .client
        .delete(app.url(&format!("/api/v1/users/{una}/tokens/{tid}")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    check(
        &app,
        2,
        Expected {
            action: "token.revoked",
            actor: Some(admin_id),
            project: None,
            target: Some(format!("token:{tid}")),
        },
    )
    .await;
    let missing = admin
        .client
        .delete(app.url(&format!("/api/v1/users/{una}/tokens/{tid}")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(entries(&app, "token.revoked").await.len(), 2);

    let csrf = browser.csrf("/admin/users").await;
    assert_eq!(
        browser
            .post_form(&format!("/admin/users/{una}/tokens"), &[("csrf", &csrf)])
            .await
            .status(),
        StatusCode::OK
    );
    let tid = app.store.tokens_of(una).await.unwrap()[0].id;
    check(
        &app,
        3,
        Expected {
            action: "token.created",
            actor: Some(chief),
            project: None,
            target: Some(format!("token:{tid}")),
        },
    )
    .await;
    assert_eq!(
        browser
            .post_form(
                &format!("/admin/users/{una}/tokens/revoke"),
                &[("csrf", &csrf)]
            )
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let details = check(
        &app,
        3,
        Expected {
            action: "token.revoked",
            actor: Some(chief),
            project: None,
            target: Some(format!("user:{una}")),
        },
    )
    .await;
    assert_eq!(details["tokens"], 1);
    let out = tally(&app.database_url, &["tokens", "issue", "una"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tid = app.store.tokens_of(una).await.unwrap()[0].id;
    check(
        &app,
        4,
        Expected {
            action: "token.created",
            actor: None,
            project: None,
            target: Some(format!("token:{tid}")),
        },
    )
    .await;

    // Projects, by the API and by the page.
    let created: Value = admin
        .post_json(
            "/api/v1/projects",
            &json!({"name": "Audited", "kind": "single_choice", "labels": ["a", "b"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let pid = created["id"].as_i64().unwrap();
    let details = check(
        &app,
        1,
        Expected {
            action: "project.created",
            actor: Some(admin_id),
            project: Some(pid),
            target: Some(format!("project:{pid}")),
        },
    )
    .await;
    assert_eq!(details["name"], "Audited");
    let csrf = browser.csrf("/admin/projects/new").await;
    let page = browser
        .post_form(
            "/admin/projects",
            &[
                ("csrf", &csrf),
                ("name", "From the page"),
                ("kind", "single_choice"),
                ("labels", "yes\nno"),
                ("overlap", "2"),
                ("lease_minutes", "10"),
            ],
        )
        .await;
    assert_eq!(
        page.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        page.text().await
    );
    let newest = &entries(&app, "project.created").await[0];
    assert_eq!(newest.actor_id, Some(chief));
    let pid = newest.project_id.unwrap();
    assert_eq!(newest.target, Some(format!("project:{pid}")));
    assert_eq!(entries(&app, "project.created").await.len(), 2);
    let _: Option<Api> = None;
}
