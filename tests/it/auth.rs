//! Login, logout, CSRF, sessions, tokens and roles.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::user::Role;

use crate::harness::TestApp;
use crate::on_both_backends;

on_both_backends!(
    login_renews_the_session_and_logout_ends_it,
    wrong_password_is_refused_without_saying_which_part,
    forms_without_the_csrf_token_are_refused,
    api_needs_credentials_and_the_right_role,
    cookie_api_writes_need_a_json_content_type,
    sign_in_attempts_are_throttled_per_account_alike_for_unknown_names,
);

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tally_session="))
        .map(String::from)
}

async fn login_renews_the_session_and_logout_ends_it(app: TestApp) {
    app.user_with_password("alice", Role::Rater, "a long password 1")
        .await;
    let browser = app.browser();
    let login_page = browser.get("/login").await;
    assert_eq!(
        session_cookie(&login_page),
        None,
        "the sign-in form needs no session"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM sessions").await,
        0,
        "a visitor who only opens the sign-in page leaves no session row"
    );
    assert_eq!(
        browser.login("alice", "a long password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    let before = app.count("SELECT count(*) FROM sessions").await;
    assert_eq!(before, 1);
    let csrf = crate::harness::csrf_in(&browser.get("/login").await.text().await.unwrap());

    let response = browser
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("name", "alice"),
                ("password", "a long password 1"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = session_cookie(&response).expect("a new session cookie at login");
    assert!(after.contains("HttpOnly"), "{after}");
    assert!(after.contains("SameSite=Lax"), "{after}");
    assert_eq!(
        app.count("SELECT count(*) FROM sessions").await,
        1,
        "signing in again replaces the session id; the old one is gone"
    );

    let home = browser.get("/").await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(html.contains("alice"));

    let csrf = crate::harness::csrf_in(&html);
    let out = browser.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let sessions = app.count("SELECT count(*) FROM sessions").await;
    assert_eq!(sessions, 0, "logout deletes the session on the server");
    let home = browser.get("/").await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()["location"], "/login");
}

async fn wrong_password_is_refused_without_saying_which_part(app: TestApp) {
    app.user_with_password("bob", Role::Rater, "right password 22")
        .await;
    let browser = app.browser();
    for (name, password) in [("bob", "wrong password"), ("nobody", "right password 22")] {
        let response = browser.login(name, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let html = response.text().await.unwrap();
        assert_eq!(
            crate::harness::select_text(&html, ".error").as_deref(),
            Some("Wrong name or password.")
        );
    }
    let protected = browser.get("/admin").await;
    assert_eq!(protected.status(), StatusCode::SEE_OTHER);
    assert_eq!(protected.headers()["location"], "/login?next=/admin");
}

async fn forms_without_the_csrf_token_are_refused(app: TestApp) {
    app.user_with_password("root", Role::Admin, "admin password 1")
        .await;
    let browser = app.browser();
    let no_token = browser
        .post_form(
            "/login",
            &[
                ("csrf", "forged"),
                ("name", "root"),
                ("password", "admin password 1"),
            ],
        )
        .await;
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);

    assert_eq!(
        browser.login("root", "admin password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    let forged = browser
        .post_form(
            "/admin/projects",
            &[
                ("csrf", "0000"),
                ("name", "Evil"),
                ("labels", "a\nb"),
                ("overlap", "1"),
                ("instructions", ""),
                ("lease_minutes", "10"),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM projects").await, 0);

    let csrf = browser.csrf("/admin/projects/new").await;
    let real = browser
        .post_form(
            "/admin/projects",
            &[
                ("csrf", &csrf),
                ("name", "Real"),
                ("labels", "a\nb"),
                ("overlap", "2"),
                ("instructions", "Be careful"),
                ("lease_minutes", "10"),
            ],
        )
        .await;
    assert_eq!(real.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM projects").await, 1);
}

async fn api_needs_credentials_and_the_right_role(app: TestApp) {
    let admin = app.admin().await;
    let rater = app.rater("rita").await;
    let pid = app.project_with_items(&admin, 1, &["one"]).await;
    let client = reqwest::Client::new();

    let anonymous = client
        .get(app.url(&format!("/api/v1/projects/{pid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert!(body["error"].is_string());

    let bad_token = client
        .get(app.url(&format!("/api/v1/projects/{pid}")))
        .bearer_auth("tly_not_a_token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);

    let rater_on_admin = rater.get(&format!("/api/v1/projects/{pid}")).await;
    assert_eq!(rater_on_admin.status(), StatusCode::FORBIDDEN);
    let rater_export = rater.get(&format!("/api/v1/projects/{pid}/export")).await;
    assert_eq!(rater_export.status(), StatusCode::FORBIDDEN);
    let rater_create = rater
        .post_json(
            "/api/v1/projects",
            &json!({"name": "x", "kind": "single_choice", "labels": ["a", "b"], "overlap": 1}),
        )
        .await;
    assert_eq!(rater_create.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM projects").await, 1);

    let admin_labelling = admin.get(&format!("/api/v1/projects/{pid}/next")).await;
    assert_eq!(admin_labelling.status(), StatusCode::FORBIDDEN);

    let unknown = admin.get("/api/v1/nothing-here").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body: Value = unknown.json().await.unwrap();
    assert!(body["error"].is_string());
    let missing_project = admin.get("/api/v1/projects/9999").await;
    assert_eq!(missing_project.status(), StatusCode::NOT_FOUND);
    let bad_id = admin.get("/api/v1/projects/abc").await;
    assert_eq!(bad_id.status(), StatusCode::BAD_REQUEST);
    assert!(bad_id.json::<Value>().await.unwrap()["error"].is_string());

    let page = app.browser().get("/no/such/page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

async fn cookie_api_writes_need_a_json_content_type(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["one"]).await;
    app.user_with_password("rosa", Role::Rater, "rater password 1")
        .await;
    let browser = app.browser();
    browser.login("rosa", "rater password 1").await;
    let next = browser.get(&format!("/api/v1/projects/{pid}/next")).await;
    assert_eq!(next.status(), StatusCode::OK);
    let iid = next.json::<Value>().await.unwrap()["item"]["id"]
        .as_i64()
        .unwrap();
    // What a forged cross-site form could send: refused.
    let forged = browser
        .post_form(
            &format!("/api/v1/projects/{pid}/items/{iid}/labels"),
            &[("value", "pos")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let real = browser
        .client
        .post(app.url(&format!("/api/v1/projects/{pid}/items/{iid}/labels")))
        .json(&json!({"value": "pos"}))
        .send()
        .await
        .unwrap();
    assert_eq!(real.status(), StatusCode::CREATED);
}

async fn sign_in_attempts_are_throttled_per_account_alike_for_unknown_names(app: TestApp) {
    app.user_with_password("carol", Role::Rater, "carols password 1")
        .await;
    for name in ["carol", "nobody-at-all"] {
        let browser = app.browser();
        for attempt in 1..=10 {
            let wrong = browser.login(name, "not the password").await;
            assert_eq!(
                wrong.status(),
                StatusCode::UNAUTHORIZED,
                "{name} attempt {attempt}"
            );
        }
        let throttled = browser.login(name, "carols password 1").await;
        assert_eq!(
            throttled.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{name}: the right password after ten wrong ones waits too"
        );
        let retry: u64 = throttled.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let html = throttled.text().await.unwrap();
        assert_eq!(
            crate::harness::select_text(&html, ".error").as_deref(),
            Some("too many sign-in attempts; wait before trying again"),
            "the same words whether or not the account exists"
        );
    }
    let other = app.browser();
    app.user_with_password("dave", Role::Rater, "daves password 1")
        .await;
    assert_eq!(
        other.login("dave", "daves password 1").await.status(),
        StatusCode::SEE_OTHER,
        "other accounts are not locked out"
    );
}
