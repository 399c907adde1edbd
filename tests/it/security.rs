//! Security habits: headers, redirects, session fixation, escaping, cross-project access,
//! least privilege and hostile input.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::user::Role;

use crate::harness::{select_text, TestApp};
use crate::on_both_backends;

on_both_backends!(
    pages_and_api_send_protective_headers,
    login_never_redirects_off_site_and_old_session_ids_die,
    names_from_admins_are_escaped_everywhere,
    items_of_one_project_cannot_be_reached_through_another,
    hostile_bodies_get_clear_errors,
    free_text_is_bounded_everywhere,
    item_names_in_reports_cannot_collide,
    session_ids_are_stored_hashed,
    csv_exports_cannot_run_formulas,
);

async fn pages_and_api_send_protective_headers(app: TestApp) {
    let browser = app.browser();
    for path in ["/login", "/api/v1/projects", "/no-such-page"] {
        let response = browser.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && csp.contains("base-uri 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
    let css = browser.get("/static/app.css").await;
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age"),
        "static assets may be kept"
    );
}

async fn login_never_redirects_off_site_and_old_session_ids_die(app: TestApp) {
    for (round, next) in [
        "//evil.example/steal",
        "https://evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " //evil.example",
    ]
    .into_iter()
    .enumerate()
    {
        // One account per round: each signs in twice, well inside the sign-in limit.
        let name = format!("ivy{round}");
        app.user_with_password(&name, Role::Rater, "rater password 1")
            .await;
        let browser = app.browser();
        // A session the visitor had before signing in (planted by someone else, say).
        let others = app.session_ids().await;
        assert_eq!(
            browser.login(&name, "rater password 1").await.status(),
            StatusCode::SEE_OTHER
        );
        let planted: Vec<String> = app
            .session_ids()
            .await
            .into_iter()
            .filter(|id| !others.contains(id))
            .collect();
        assert_eq!(planted.len(), 1);
        let login_page = browser
            .get(&format!("/login?next={}", urlencode(next)))
            .await;
        let html = login_page.text().await.unwrap();
        assert_eq!(
            crate::harness::attr_of(&html, "input[name=next]", "value").as_deref(),
            Some("/"),
            "next={next:?} is dropped on the form"
        );
        let csrf = crate::harness::csrf_in(&html);
        let response = browser
            .post_form(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("name", &name),
                    ("password", "rater password 1"),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/", "next={next:?}");
        assert_eq!(browser.get("/").await.status(), StatusCode::OK, "signed in");
        let now = app.session_ids().await;
        assert!(
            planted.iter().all(|id| !now.contains(id)),
            "a session id from before login does not survive it"
        );
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn names_from_admins_are_escaped_everywhere(app: TestApp) {
    let admin = app.admin().await;
    let evil = "<script>alert(1)</script>";
    let pid = app
        .project_from(&admin, json!({"name": evil, "labels": ["<b>yes</b>", "no"], "overlap": 1, "instructions": evil}), json!([{"data": {"text": "x", "note": evil}}]))
        .await;
    app.user_with_password("boss", Role::Admin, "admin password 1")
        .await;
    let boss = app.browser();
    boss.login("boss", "admin password 1").await;
    for path in ["/admin".to_string(), format!("/admin/projects/{pid}")] {
        let html = boss.get(&path).await.text().await.unwrap();
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(!html.contains("<b>yes</b>"), "{path}");
    }
    app.user_with_password("rae", Role::Rater, "rater password 1")
        .await;
    let rater = app.browser();
    rater.login("rae", "rater password 1").await;
    for path in ["/".to_string(), format!("/rate/{pid}")] {
        let html = rater.get(&path).await.text().await.unwrap();
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(!html.contains("<b>yes</b>"), "{path}");
    }
    let page = rater.page(&format!("/rate/{pid}")).await;
    assert_eq!(select_text(&page, "h1").as_deref(), Some(evil));
}

async fn items_of_one_project_cannot_be_reached_through_another(app: TestApp) {
    let admin = app.admin().await;
    let a = app.project_with_items(&admin, 1, &["in a"]).await;
    let b = app.project_with_items(&admin, 1, &["in b"]).await;
    let rater = app.rater("r").await;
    let item_of_b = rater.next(b).await.unwrap();
    let crossed = rater.label(a, item_of_b, "pos").await;
    assert_eq!(crossed.status(), StatusCode::NOT_FOUND);
    let skip = rater
        .post_json(
            &format!("/api/v1/projects/{a}/items/{item_of_b}/skip"),
            &json!({}),
        )
        .await;
    assert_eq!(skip.status(), StatusCode::NOT_FOUND);
    let report = rater
        .post_json(
            &format!("/api/v1/projects/{a}/items/{item_of_b}/report"),
            &json!({"reason": "broken"}),
        )
        .await;
    assert_eq!(report.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM labels").await, 0);
    let release = admin
        .post_json(
            &format!("/api/v1/projects/{a}/items/{item_of_b}/release"),
            &json!({}),
        )
        .await;
    assert_eq!(release.status(), StatusCode::NOT_FOUND);
}

async fn hostile_bodies_get_clear_errors(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["x"]).await;
    let deep = format!(
        "[{}{{\"data\": {{\"t\": 1}}}}{}]",
        "[".repeat(500),
        "]".repeat(500)
    );
    let nested = admin
        .post_raw(
            &format!("/api/v1/projects/{pid}/items"),
            "application/json",
            deep.into_bytes(),
        )
        .await;
    assert_eq!(nested.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = nested.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("line 1"));
    let binary = admin
        .post_raw(
            &format!("/api/v1/projects/{pid}/items"),
            "application/x-ndjson",
            vec![0xff, 0x00, 0xfe],
        )
        .await;
    assert_eq!(binary.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let huge_number = admin
        .post_json(
            "/api/v1/projects",
            &json!({"name": "n", "labels": ["a", "b"], "overlap": 1e300}),
        )
        .await;
    assert_eq!(huge_number.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let negative_id = admin.get("/api/v1/projects/-1").await;
    assert_eq!(negative_id.status(), StatusCode::NOT_FOUND);
    let overflow_id = admin.get("/api/v1/projects/99999999999999999999999").await;
    assert_eq!(overflow_id.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("SELECT count(*) FROM items").await, 1);
}

async fn field_of(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["field"].as_str().unwrap_or_default().to_string(),
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

async fn free_text_is_bounded_everywhere(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b"]).await;
    let rater = app.rater("wordy").await;
    let iid = rater.next(pid).await.unwrap();
    let long = |n: usize| "é".repeat(n);
    let cases: Vec<(reqwest::Response, &str)> = vec![
        (
            rater
                .post_json(
                    &format!("/api/v1/projects/{pid}/items/{iid}/skip"),
                    &json!({"reason": long(501)}),
                )
                .await,
            "reason",
        ),
        (
            rater
                .post_json(
                    &format!("/api/v1/projects/{pid}/items/{iid}/report"),
                    &json!({"reason": "broken", "note": long(2001)}),
                )
                .await,
            "note",
        ),
        (
            admin
                .post_json(
                    "/api/v1/projects",
                    &json!({"name": long(201), "labels": ["a", "b"]}),
                )
                .await,
            "name",
        ),
        (
            admin
                .post_json(
                    "/api/v1/projects",
                    &json!({"name": "n", "labels": ["a", "b"], "instructions": long(20_001)}),
                )
                .await,
            "instructions",
        ),
        (
            admin
                .post_json(
                    "/api/v1/projects",
                    &json!({"name": "n", "labels": ["a", "b"], "expertise": [long(51)]}),
                )
                .await,
            "expertise",
        ),
        (
            admin
                .post_json(
                    &format!("/api/v1/projects/{pid}/raters/1/pause"),
                    &json!({"reason": long(501)}),
                )
                .await,
            "reason",
        ),
    ];
    for (response, field) in cases {
        let (status, got, error) = field_of(response).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {error}");
        assert_eq!(got, field, "{error}");
        assert!(error.contains("at most"), "{error}");
    }
    let import = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items"),
            &json!([{"data": {"text": "q"}, "gold": "pos", "qualification": true, "explanation": long(5_001)}]),
        )
        .await;
    let (status, field, error) = field_of(import).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field, "line 1", "{error}");
    assert!(error.contains("explanation"), "{error}");
    assert_eq!(app.count("SELECT count(*) FROM skips").await, 0);
}

async fn item_names_in_reports_cannot_collide(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "names", "labels": ["pos", "neg"], "overlap": 1}),
            json!([{"data": {"text": "no external id"}}]),
        )
        .await;
    let plain = admin.export(pid).await[0]["id"].as_i64().unwrap();
    let imported = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items"),
            &json!([{"external_id": format!("#{plain}"), "data": {"text": "looks like an id"}}]),
        )
        .await;
    assert_eq!(imported.status(), StatusCode::CREATED);
    let rater = app.rater("r").await;
    for value in ["pos", "neg"] {
        let iid = rater.next(pid).await.unwrap();
        assert_eq!(
            rater.label(pid, iid, value).await.status(),
            StatusCode::CREATED
        );
    }
    let report: Value = admin.report(pid, "").await;
    let consensus = report["consensus"].as_array().unwrap();
    assert_eq!(consensus.len(), 2, "two items, two names: {consensus:?}");
}

async fn session_ids_are_stored_hashed(app: TestApp) {
    app.user_with_password("hal", Role::Rater, "hals password 12")
        .await;
    let browser = app.browser();
    let response = browser.login("hal", "hals password 12").await;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("tally_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
        .expect("a session cookie");
    let stored = app.session_ids().await;
    assert_eq!(stored, vec![tally::auth::hash_token(&cookie)]);
    let leaked = app
        .count(&format!(
            "SELECT count(*) FROM sessions WHERE data LIKE '%{cookie}%' OR id = '{cookie}'"
        ))
        .await;
    assert_eq!(leaked, 0, "the id itself is nowhere in the table");
    assert_eq!(
        browser.get("/").await.status(),
        StatusCode::OK,
        "and it still signs in"
    );
}

async fn csv_exports_cannot_run_formulas(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "formulas", "labels": ["=cmd|' /C calc'!A0", "@SUM(1)"], "overlap": 1}),
            json!([{"external_id": "+1-555", "data": {"text": "x"}}]),
        )
        .await;
    let rater = app.rater("r").await;
    let iid = rater.next(pid).await.unwrap();
    assert_eq!(
        rater.label(pid, iid, "=cmd|' /C calc'!A0").await.status(),
        StatusCode::CREATED
    );
    let csv = admin
        .get(&format!("/api/v1/projects/{pid}/export?format=csv"))
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| row[headers.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(cell("external_id"), "'+1-555");
    assert_eq!(cell("majority"), "'=cmd|' /C calc'!A0");
    for value in row.iter() {
        assert!(
            !value.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{value:?}"
        );
    }
}
