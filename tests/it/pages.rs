//! The browser flows, with JavaScript off: forms and redirects only.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use tally::domain::user::Role;

use crate::harness::{attr_of, csrf_in, select_text, TestApp};
use crate::on_both_backends;

on_both_backends!(
    admin_creates_a_project_and_uploads_items,
    a_bad_upload_shows_the_line_and_imports_nothing,
    rater_labels_in_the_browser,
    item_html_is_shown_as_text,
    labelling_pages_allow_the_projects_media_origins,
);

async fn admin_browser(app: &TestApp) -> crate::harness::Browser {
    app.user_with_password("boss", Role::Admin, "admin password 1")
        .await;
    let browser = app.browser();
    assert_eq!(
        browser.login("boss", "admin password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    browser
}

async fn create_in_browser(browser: &crate::harness::Browser) -> String {
    let csrf = browser.csrf("/admin/projects/new").await;
    let created = browser
        .post_form(
            "/admin/projects",
            &[
                ("csrf", &csrf),
                ("name", "Tweets"),
                ("labels", "pos\nneg\nneutral"),
                ("overlap", "2"),
                ("instructions", "Be fair."),
                ("lease_minutes", "10"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    created.headers()["location"].to_str().unwrap().to_string()
}

async fn upload(
    browser: &crate::harness::Browser,
    project_path: &str,
    name: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let csrf = browser.csrf(project_path).await;
    let form = Form::new().text("csrf", csrf).part(
        "file",
        Part::bytes(bytes.to_vec()).file_name(name.to_string()),
    );
    browser
        .client
        .post(format!("{}{}/import", browser.base, project_path))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// An upload, its preview, and "Import all": the response to the confirmation.
async fn import_in_browser(
    browser: &crate::harness::Browser,
    project_path: &str,
    name: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let preview = upload(browser, project_path, name, bytes).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let html = preview.text().await.unwrap();
    let confirm = attr_of(&html, "form[action$='/confirm']", "action").expect("a confirm form");
    browser
        .post_form(&confirm, &[("csrf", &csrf_in(&html)), ("skip", "")])
        .await
}

async fn admin_creates_a_project_and_uploads_items(app: TestApp) {
    let browser = admin_browser(&app).await;
    let project_path = create_in_browser(&browser).await;
    assert!(project_path.starts_with("/admin/projects/"));

    let csv = b"external_id,text\nt1,hello\nt2,world\nt3,again\n";
    let uploaded = import_in_browser(&browser, &project_path, "tweets.csv", csv).await;
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let page = browser
        .get(uploaded.headers()["location"].to_str().unwrap())
        .await;
    let html = page.text().await.unwrap();
    assert_eq!(
        select_text(&html, ".ok").as_deref(),
        Some("Imported 3 items.")
    );
    assert_eq!(select_text(&html, "#stat-items").as_deref(), Some("3"));

    let jsonl = b"{\"external_id\": \"t4\", \"data\": {\"text\": \"more\"}}\n";
    let uploaded = import_in_browser(&browser, &project_path, "more.jsonl", jsonl).await;
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM items").await, 4);

    let list = browser.get("/admin").await.text().await.unwrap();
    assert!(list.contains("Tweets"));
    let export = browser
        .get(&format!(
            "/api/v1/projects/{}/export?format=csv",
            project_path.rsplit('/').next().unwrap()
        ))
        .await;
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(export.text().await.unwrap().lines().count(), 5);
}

async fn a_bad_upload_shows_the_line_and_imports_nothing(app: TestApp) {
    let browser = admin_browser(&app).await;
    let project_path = create_in_browser(&browser).await;
    let csv = b"external_id,text\nt1,fine\nt2,one,too many\n";
    let refused = upload(&browser, &project_path, "bad.csv", csv).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    let error = select_text(&html, ".error").expect("the page shows the error");
    assert!(error.contains("line 3"), "{error}");
    assert_eq!(app.count("SELECT count(*) FROM items").await, 0);

    let wrong_kind = upload(&browser, &project_path, "items.xlsx", b"PK..").await;
    assert_eq!(wrong_kind.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn rater_labels_in_the_browser(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_with_items(&admin, 1, &["first review", "second review"])
        .await;
    app.user_with_password("rhea", Role::Rater, "rater password 1")
        .await;
    let browser = app.browser();
    browser.login("rhea", "rater password 1").await;

    let home = browser.get("/").await.text().await.unwrap();
    assert!(
        home.contains(&format!("/rate/{pid}")),
        "the project with work is listed"
    );

    let page = browser.page(&format!("/rate/{pid}")).await;
    assert_eq!(
        select_text(&page, "#item-text").as_deref(),
        Some("first review")
    );
    assert!(select_text(&page, "#progress")
        .unwrap()
        .contains("item 1 of 2 for you · 0 labelled today"));
    let doc = scraper::Html::parse_document(&page);
    let buttons: Vec<(String, String)> = doc
        .select(&scraper::Selector::parse("#label-form button").unwrap())
        .map(|b| {
            (
                b.value().attr("data-key").unwrap().to_string(),
                b.value().attr("value").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        buttons,
        [
            ("1".into(), "pos".into()),
            ("2".into(), "neg".into()),
            ("3".into(), "neutral".into())
        ]
    );
    assert!(page.contains("/static/keys.js"));

    let action = attr_of(&page, "#label-form", "action").unwrap();
    let shown_at = attr_of(&page, "input[name=shown_at]", "value").unwrap();
    let csrf = csrf_in(&page);
    let sent = browser
        .post_form(
            &action,
            &[("csrf", &csrf), ("shown_at", &shown_at), ("value", "neg")],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        sent.headers()["location"].to_str().unwrap(),
        format!("/rate/{pid}")
    );

    let page = browser.page(&format!("/rate/{pid}")).await;
    assert_eq!(
        select_text(&page, "#item-text").as_deref(),
        Some("second review")
    );
    assert!(select_text(&page, "#progress")
        .unwrap()
        .contains("item 2 of 2 for you · 1 labelled today"));
    assert_eq!(
        select_text(&page, "#flash").unwrap().trim(),
        "✓ neg saved · Undo: u or Backspace",
        "a line says what was saved"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM labels WHERE duration_ms IS NOT NULL")
            .await,
        1
    );

    let skip_action = attr_of(&page, "#skip-form", "action").unwrap();
    let skipped = browser
        .post_form(
            &skip_action,
            &[("csrf", &csrf_in(&page)), ("reason", "needs_context")],
        )
        .await;
    assert_eq!(skipped.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM skips WHERE reason = 'needs_context'")
            .await,
        1,
        "the reason for a skip is kept"
    );
    let done = browser.page(&format!("/rate/{pid}")).await;
    assert!(
        select_text(&done, "#done").is_some(),
        "the done page follows the last item"
    );

    let export = admin.export(pid).await;
    assert_eq!(export[0]["labels"][0]["value"], "neg");
    assert!(export[0]["labels"][0]["duration_ms"].as_i64().is_some());
}

async fn item_html_is_shown_as_text(app: TestApp) {
    let admin = app.admin().await;
    let nasty = "<script>alert('x')</script><b>bold</b> & \"quotes\"";
    let pid = app.project_with_items(&admin, 1, &[nasty]).await;
    app.user_with_password("rex", Role::Rater, "rater password 1")
        .await;
    let browser = app.browser();
    browser.login("rex", "rater password 1").await;
    let page = browser.page(&format!("/rate/{pid}")).await;
    assert_eq!(
        select_text(&page, "#item-text").as_deref(),
        Some(nasty),
        "shown as the literal text"
    );
    let doc = scraper::Html::parse_document(&page);
    let injected = doc
        .select(&scraper::Selector::parse("#item-text script, #item-text b").unwrap())
        .count();
    assert_eq!(injected, 0, "no element was made from the item's text");
    assert!(
        !page.contains("<script>alert"),
        "the raw tag never reaches the page"
    );
}

/// The CSP a page of this site sends, after following its redirects.
async fn csp_of(browser: &crate::harness::Browser, path: &str) -> String {
    let mut path = path.to_string();
    loop {
        let response = browser.get(&path).await;
        match response.headers().get("location") {
            Some(next) if response.status().is_redirection() => {
                path = next.to_str().unwrap().to_string();
            }
            _ => {
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                return response.headers()["content-security-policy"]
                    .to_str()
                    .unwrap()
                    .to_string();
            }
        }
    }
}

async fn labelling_pages_allow_the_projects_media_origins(app: TestApp) {
    let admin = app.admin().await;
    let origin = "https://img.example.com:8443";
    let pid = app
        .project_from(
            &admin,
            serde_json::json!({"name": "Boxes", "kind": "boxes", "labels": ["car"],
                "field": "image", "media_origins": [origin]}),
            serde_json::json!([{"data": {"image": format!("{origin}/a.png")}}]),
        )
        .await;
    app.user_with_password("ivy", Role::Rater, "rater password 1")
        .await;
    let browser = app.browser();
    browser.login("ivy", "rater password 1").await;

    let item = csp_of(&browser, &format!("/rate/{pid}")).await;
    assert!(
        item.contains(&format!("img-src 'self' data: {origin};")),
        "{item}"
    );
    assert!(item.contains("script-src 'self';"), "{item}");
    let page = browser.page(&format!("/rate/{pid}")).await;
    assert_eq!(
        attr_of(&page, "#item-image", "src").as_deref(),
        Some(format!("{origin}/a.png").as_str())
    );
    assert!(page.contains("/static/boxes.js"));
    assert_eq!(select_text(&page, "#answer").as_deref(), Some("[]"));
    let home = csp_of(&browser, "/").await;
    assert!(home.contains("img-src 'self' data:;"), "{home}");

    let script = browser.get("/static/boxes.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.text().await.unwrap().contains("pointerdown"));
    let script = browser.get("/static/spans.js").await;
    assert_eq!(script.status(), StatusCode::OK);
}
