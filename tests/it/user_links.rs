//! The product's own users: signed links, the open link, rate limits and completion.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::links::{sign, sign_once};
use tally::domain::now_ms;
use tally::domain::user::Role;
use tally::Config;

use crate::harness::{attr_of, csrf_in, select_text, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    signed_links_pass_when_good_and_fail_when_tampered_or_expired,
    open_link_gives_a_pseudonymous_identity,
    links_ask_before_replacing_a_signed_in_account,
    signed_links_live_at_most_thirty_days_and_single_use_links_work_once,
);

async fn user_project(app: &TestApp, extra: Value) -> (i64, String, Value) {
    let admin = app
        .user_with_token(
            &format!("admin-{}", tally::auth::random_hex(3)),
            tally::domain::user::Role::Admin,
        )
        .await;
    let mut body = json!({"name": "In-app ratings", "labels": ["good", "bad"], "pools": {"generalist": 0, "user": 2}});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let items: Vec<Value> = (0..5)
        .map(|i| json!({"external_id": format!("a{i}"), "data": {"text": format!("answer {i}")}}))
        .collect();
    let pid = app.project_from(&admin, body, Value::Array(items)).await;
    let project: Value = admin
        .get(&format!("/api/v1/projects/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    let secret = project["link_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    (pid, secret, project)
}

async fn label_once(browser: &crate::harness::Browser, pid: i64) -> StatusCode {
    let page = browser.page(&format!("/u/{pid}/label")).await;
    let action = attr_of(&page, "#label-form", "action").expect("an item to label");
    let csrf = csrf_in(&page);
    browser
        .post_form(&action, &[("csrf", &csrf), ("value", "good")])
        .await
        .status()
}

async fn signed_links_pass_when_good_and_fail_when_tampered_or_expired(app: TestApp) {
    let (pid, secret, _) = user_project(&app, json!({"completion_after": 2, "completion_code": "C0DE-42", "completion_url": "https://crowd.example/done?cc=C0DE-42"})).await;
    let exp = now_ms() / 1000 + 600;
    let sig = sign(&secret, "user-7", exp);

    let browser = app.browser();
    let tampered = browser
        .get(&format!("/u/{pid}?uid=user-8&exp={exp}&sig={sig}"))
        .await;
    assert_eq!(tampered.status(), StatusCode::FORBIDDEN);
    assert!(tampered
        .text()
        .await
        .unwrap()
        .contains("signature does not match"));
    let stretched = browser
        .get(&format!("/u/{pid}?uid=user-7&exp={}&sig={sig}", exp + 1))
        .await;
    assert_eq!(stretched.status(), StatusCode::FORBIDDEN);
    let old_exp = now_ms() / 1000 - 5;
    let expired = browser
        .get(&format!(
            "/u/{pid}?uid=user-7&exp={old_exp}&sig={}",
            sign(&secret, "user-7", old_exp)
        ))
        .await;
    assert_eq!(expired.status(), StatusCode::FORBIDDEN);
    assert!(expired.text().await.unwrap().contains("expired"));
    let missing = browser.get(&format!("/u/{pid}?uid=user-7")).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE pool = 'user'")
            .await,
        0,
        "no identity from a bad link"
    );

    let good = browser
        .get(&format!("/u/{pid}?uid=user-7&exp={exp}&sig={sig}"))
        .await;
    assert_eq!(good.status(), StatusCode::SEE_OTHER);
    assert_eq!(good.headers()["location"], format!("/u/{pid}/label"));
    let page = browser.page(&format!("/u/{pid}/label")).await;
    assert!(select_text(&page, "#item-text").is_some());
    assert!(
        select_text(&page, "header.top").is_none(),
        "the light page has no console navigation"
    );

    assert_eq!(label_once(&browser, pid).await, StatusCode::SEE_OTHER);
    assert_eq!(label_once(&browser, pid).await, StatusCode::SEE_OTHER);
    let finished = browser.page(&format!("/u/{pid}/label")).await;
    assert_eq!(
        select_text(&finished, "#completion-code").as_deref(),
        Some("C0DE-42")
    );
    let doc = scraper::Html::parse_document(&finished);
    let link = doc
        .select(&scraper::Selector::parse("#completion-link").unwrap())
        .next()
        .unwrap();
    assert_eq!(
        link.value().attr("href"),
        Some("https://crowd.example/done?cc=C0DE-42")
    );

    // The same product user comes back as the same identity, and only for this project.
    let again = app.browser();
    again
        .get(&format!("/u/{pid}?uid=user-7&exp={exp}&sig={sig}"))
        .await;
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE pool = 'user'")
            .await,
        1
    );
    let admin2 = app
        .user_with_token("admin2", tally::domain::user::Role::Admin)
        .await;
    let other = app.project_with_items(&admin2, 1, &["elsewhere"]).await;
    let refused = again.get(&format!("/rate/{other}")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let labels = app
        .count(&format!(
            "SELECT count(*) FROM labels WHERE project_id = {pid} AND pool = 'user'"
        ))
        .await;
    assert_eq!(labels, 2);
}

async fn open_link_gives_a_pseudonymous_identity(app: TestApp) {
    let (closed_pid, _, closed) = user_project(&app, json!({})).await;
    assert_eq!(closed["open_link_url"], Value::Null);
    let (pid, _, project) = user_project(&app, json!({"name": "open", "open_link": true})).await;
    let url = project["open_link_url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("/u/{pid}/open/")));

    let browser = app.browser();
    let wrong = browser.get(&format!("/u/{pid}/open/not-the-token")).await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    let token = url.rsplit('/').next().unwrap();
    let closed_try = browser.get(&format!("/u/{closed_pid}/open/{token}")).await;
    assert_eq!(closed_try.status(), StatusCode::NOT_FOUND);

    let first = browser.get(&url).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(label_once(&browser, pid).await, StatusCode::SEE_OTHER);
    browser.get(&url).await;
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE pool = 'user'")
            .await,
        1,
        "the cookie keeps the identity"
    );
    let name_leak = app
        .count("SELECT count(*) FROM users WHERE pool = 'user' AND name LIKE 'link:%:anon:%'")
        .await;
    assert_eq!(name_leak, 1);

    let stranger = app.browser();
    stranger.get(&url).await;
    assert_eq!(label_once(&stranger, pid).await, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE pool = 'user'")
            .await,
        2
    );
    let export = app.admin_export(pid).await;
    assert!(
        !export.contains("anon:"),
        "identities appear only as pseudonyms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_users_are_rate_limited() {
    let config = Config {
        user_labels_per_minute: 2,
        open_identities_per_hour: 2,
        ..Config::default()
    };
    let app = TestApp::start_with(Backend::Sqlite, config)
        .await
        .expect("sqlite");
    let (pid, _, project) = user_project(&app, json!({"open_link": true})).await;
    let url = project["open_link_url"].as_str().unwrap().to_string();
    let browser = app.browser();
    browser.get(&url).await;
    assert_eq!(label_once(&browser, pid).await, StatusCode::SEE_OTHER);
    assert_eq!(label_once(&browser, pid).await, StatusCode::SEE_OTHER);
    assert_eq!(
        label_once(&browser, pid).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.browser().get(&url).await;
    let third = app.browser().get(&url).await;
    assert_eq!(
        third.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "new identities per address are limited"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_from_one_address_are_limited_across_identities() {
    let config = Config {
        user_labels_per_minute: 1,
        ..Config::default()
    };
    let app = TestApp::start_with(Backend::Sqlite, config)
        .await
        .expect("sqlite");
    let admin = app.admin().await;
    let pid = app
        .project_from(&admin, json!({"name": "busy office", "labels": ["good", "bad"], "pools": {"generalist": 0, "user": 20}}), json!([{"data": {"text": "one answer"}}]))
        .await;
    let project: Value = admin
        .get(&format!("/api/v1/projects/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    let secret = project["link_secret"].as_str().unwrap().to_string();
    let exp = now_ms() / 1000 + 600;
    let mut statuses = Vec::new();
    for i in 0..11 {
        let browser = app.browser();
        let uid = format!("colleague-{i}");
        browser
            .get(&format!(
                "/u/{pid}?uid={uid}&exp={exp}&sig={}",
                sign(&secret, &uid, exp)
            ))
            .await;
        statuses.push(label_once(&browser, pid).await);
    }
    assert!(
        statuses[..10].iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{statuses:?}"
    );
    assert_eq!(
        statuses[10],
        StatusCode::TOO_MANY_REQUESTS,
        "ten identities' worth per address"
    );
    app.cleanup().await;
}

async fn links_ask_before_replacing_a_signed_in_account(app: TestApp) {
    let (pid, secret, project) = user_project(&app, json!({"open_link": true})).await;
    app.user_with_password("boss", Role::Admin, "boss password 12")
        .await;
    let browser = app.browser();
    assert_eq!(
        browser.login("boss", "boss password 12").await.status(),
        StatusCode::SEE_OTHER
    );
    let exp = now_ms() / 1000 + 600;
    let signed = format!(
        "/u/{pid}?uid=u-1&exp={exp}&sig={}",
        sign(&secret, "u-1", exp)
    );
    let open = project["open_link_url"].as_str().unwrap().to_string();
    for link in [&signed, &open] {
        let asked = browser.get(link).await;
        assert_eq!(asked.status(), StatusCode::OK, "{link}: a page that asks");
        let page = asked.text().await.unwrap();
        assert!(select_text(&page, "#switch").unwrap().contains("boss"));
        assert_eq!(
            browser.get("/admin").await.status(),
            StatusCode::OK,
            "{link}: the admin is still signed in"
        );
        assert_eq!(
            app.count("SELECT count(*) FROM users WHERE pool = 'user'")
                .await,
            0
        );
    }
    let page = browser.get(&open).await.text().await.unwrap();
    let forged = browser.post_form(&open, &[("csrf", "nope")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let action = attr_of(&page, "#switch form", "action").unwrap();
    let switched = browser
        .post_form(&action, &[("csrf", &csrf_in(&page))])
        .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(switched.headers()["location"], format!("/u/{pid}/label"));
    assert_eq!(label_once(&browser, pid).await, StatusCode::SEE_OTHER);
    assert_ne!(
        browser.get("/admin").await.status(),
        StatusCode::OK,
        "after switching, the admin session is over"
    );
}

async fn signed_links_live_at_most_thirty_days_and_single_use_links_work_once(app: TestApp) {
    let (pid, secret, _) = user_project(&app, json!({"single_use_links": true})).await;
    let browser = app.browser();
    let far = now_ms() / 1000 + 31 * 86_400;
    let too_long = browser
        .get(&format!(
            "/u/{pid}?uid=u&exp={far}&nonce=n0&sig={}",
            sign_once(&secret, "u", far, "n0")
        ))
        .await;
    assert_eq!(too_long.status(), StatusCode::FORBIDDEN);
    assert!(too_long.text().await.unwrap().contains("at most"));
    let exp = now_ms() / 1000 + 600;
    let no_nonce = browser
        .get(&format!(
            "/u/{pid}?uid=u&exp={exp}&sig={}",
            sign(&secret, "u", exp)
        ))
        .await;
    assert_eq!(no_nonce.status(), StatusCode::FORBIDDEN);
    let once = format!(
        "/u/{pid}?uid=u&exp={exp}&nonce=n1&sig={}",
        sign_once(&secret, "u", exp, "n1")
    );
    assert_eq!(browser.get(&once).await.status(), StatusCode::SEE_OTHER);
    let replay = app.browser().get(&once).await;
    assert_eq!(replay.status(), StatusCode::FORBIDDEN);
    assert!(replay.text().await.unwrap().contains("already used"));
}
