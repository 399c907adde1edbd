//! The check before an import (dry run, findings, skipping flagged rows), Label Studio
//! imports, the browser's preview step and `tally import`.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{csrf_in, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_dry_run_reports_every_finding_and_stores_nothing,
    items_stored_before_content_keys_are_keyed_when_first_needed,
    flagged_rows_are_skipped_in_one_go_or_the_import_is_refused,
    label_studio_annotations_become_labels_by_pseudonyms,
    the_browser_previews_an_import_before_it_lands,
    tally_import_checks_streams_and_refuses_whole,
);

async fn new_project(admin: &crate::harness::Api) -> i64 {
    let response = admin
        .post_json(
            "/api/v1/projects",
            &json!({"name": "Checked", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 2}),
        )
        .await;
    response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn items_in(app: &TestApp, pid: i64) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM items WHERE project_id = {pid}"
    ))
    .await
}

/// Eleven rows, each (but lines 2 and 10) with a planted problem.
fn planted_csv() -> Vec<u8> {
    let mut csv = b"text,n,gold\n".to_vec(); // 1
    csv.extend_from_slice(b"ok one,1,pos\n"); // 2
    csv.extend_from_slice(b",2,pos\n"); // 3: missing text
    csv.extend_from_slice(b"already here,3,\n"); // 4: in the project already
    csv.extend_from_slice(b"ok one,1,pos\n"); // 5: repeats line 2
    csv.extend_from_slice(b"mail me at ann@example.org,4,neg\n"); // 6: email
    csv.extend_from_slice(b"call 555-123-4567,5,neg\n"); // 7: phone
    csv.extend_from_slice(b"card 4111 1111 1111 1111,6,pos\n"); // 8: card (Luhn-valid)
    csv.extend_from_slice(b",seven,pos\n"); // 9: missing text, n not a number
    csv.extend_from_slice(b"order 1234567812345678 on 2024-01-15,8,neg\n"); // 10: fine
    csv.extend_from_slice(b"maybe gold,9,maybe\n"); // 11: gold outside the labels
    csv.extend_from_slice(b"bad \xff byte,10,pos\n"); // 12: not UTF-8
    csv
}

async fn with_earlier_item(app: &TestApp) -> (crate::harness::Api, i64) {
    let admin = app.admin().await;
    let pid = new_project(&admin).await;
    let earlier = json!([{"data": {"text": "already here", "n": "3"}}]);
    let response = admin
        .post_json(&format!("/api/v1/projects/{pid}/items"), &earlier)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    (admin, pid)
}

fn rows_of(findings: &Value, kind: &str, pattern: Option<&str>) -> Vec<i64> {
    findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind && pattern.is_none_or(|p| f["pattern"] == p))
        .flat_map(|f| f["rows"].as_array().unwrap().clone())
        .map(|r| r.as_i64().unwrap())
        .collect()
}

/// Items an older tally stored without a content key are keyed when a check first needs
/// them: from the hex SHA-256 they hold (which is then cleared), or else from their data.
async fn items_stored_before_content_keys_are_keyed_when_first_needed(app: TestApp) {
    let admin = app.admin().await;
    let pid = new_project(&admin).await;
    let path = format!("/api/v1/projects/{pid}/items");
    let response = admin
        .post_json(
            &path,
            &json!([{"data": {"text": "hashed"}}, {"data": {"text": "plain"}}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let first = app
        .count(&format!(
            "SELECT min(id) FROM items WHERE project_id = {pid}"
        ))
        .await;
    // The first holds the hash of other data, so that a key read from it can be told from
    // one computed from the data: the SHA-256 of {"text":"kept as hex"}.
    let hex = "2bf7dbd1b09b1cbf1a06fd6014f2f9372cfd80442c525cff05ce8e359bc7b1f9";
    app.count(&format!(
        "UPDATE items SET content_key = NULL, content_hash = CASE WHEN id = {first} THEN '{hex}' END
          WHERE project_id = {pid} RETURNING id"
    ))
    .await;

    let file = "{\"data\": {\"text\": \"plain\"}}\n{\"data\": {\"text\": \"kept as hex\"}}\n{\"data\": {\"text\": \"hashed\"}}\n";
    let response = admin
        .post_raw(
            &format!("{path}?dry_run=true"),
            "application/x-ndjson",
            file.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let findings: Value = response.json().await.unwrap();
    assert_eq!(
        rows_of(&findings, "duplicate_in_project", None),
        vec![1, 2],
        "{findings:#}"
    );
    let left = |column: &str| {
        format!("SELECT count(*) FROM items WHERE project_id = {pid} AND {column} IS NOT NULL")
    };
    assert_eq!(app.count(&left("content_key")).await, 2);
    assert_eq!(
        app.count(&left("content_hash")).await,
        0,
        "the hex hashes are cleared"
    );
}

async fn a_dry_run_reports_every_finding_and_stores_nothing(app: TestApp) {
    let (admin, pid) = with_earlier_item(&app).await;
    let path = format!("/api/v1/projects/{pid}/items?dry_run=true");
    let response = admin.post_raw(&path, "text/csv", planted_csv()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let findings: Value = response.json().await.unwrap();
    assert_eq!(items_in(&app, pid).await, 1, "a dry run stores nothing");
    assert_eq!(findings["rows"], 11);
    assert_eq!(findings["importable"], 2, "{findings:#}");
    assert_eq!(findings["blocked"], true);
    assert_eq!(rows_of(&findings, "missing_shown_field", None), vec![3, 9]);
    assert_eq!(rows_of(&findings, "duplicate_in_file", None), vec![5]);
    assert_eq!(rows_of(&findings, "duplicate_in_project", None), vec![4]);
    assert_eq!(rows_of(&findings, "personal_data", Some("email")), vec![6]);
    assert_eq!(rows_of(&findings, "personal_data", Some("phone")), vec![7]);
    assert_eq!(rows_of(&findings, "personal_data", Some("card")), vec![8]);
    assert_eq!(rows_of(&findings, "mixed_types", None), vec![9]);
    assert_eq!(rows_of(&findings, "gold_outside_labels", None), vec![11]);
    assert_eq!(rows_of(&findings, "encoding", None), vec![12]);
    assert_eq!(findings["fields"]["n"]["types"]["number"], 10);
    assert_eq!(findings["fields"]["n"]["types"]["string"], 1);
    let severity = |kind: &str| {
        findings["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == kind)
            .map(|f| f["severity"].clone())
            .unwrap()
    };
    assert_eq!(severity("encoding"), "error");
    assert_eq!(severity("gold_outside_labels"), "error");
    assert_eq!(severity("personal_data"), "warning");
    assert_eq!(severity("duplicate_in_file"), "warning");
    assert_eq!(findings["findings"][0]["count"], 1);

    // An unreadable file is still one clear refusal naming the line.
    let broken = "{\"data\": {\"text\": \"a\"}}\n{\"data\": oops}\n";
    let response = admin
        .post_raw(&path, "application/x-ndjson", broken.as_bytes().to_vec())
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("line 2"),
        "{error}"
    );
}

async fn flagged_rows_are_skipped_in_one_go_or_the_import_is_refused(app: TestApp) {
    let (admin, pid) = with_earlier_item(&app).await;
    let path = format!("/api/v1/projects/{pid}/items");

    let refused = admin.post_raw(&path, "text/csv", planted_csv()).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = refused.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("line 11: gold"),
        "{error}"
    );
    assert_eq!(items_in(&app, pid).await, 1);

    let warnings_only = format!("{path}?skip=duplicate_in_file,personal_data");
    let still_refused = admin
        .post_raw(&warnings_only, "text/csv", planted_csv())
        .await;
    assert_eq!(still_refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(items_in(&app, pid).await, 1);

    let skipped = admin
        .post_raw(&format!("{path}?skip=flagged"), "text/csv", planted_csv())
        .await;
    assert_eq!(skipped.status(), StatusCode::CREATED);
    assert_eq!(
        skipped.json::<Value>().await.unwrap(),
        json!({"imported": 2, "skipped": 9})
    );
    assert_eq!(items_in(&app, pid).await, 3);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM items WHERE project_id = {pid} AND content_key IS NULL"
        ))
        .await,
        0,
        "every item has its content key"
    );

    // Warnings alone do not stop an import.
    let warned = "{\"data\": {\"text\": \"write to bo@example.org\"}}\n{\"data\": {\"text\": \"write to bo@example.org\"}}\n";
    let response = admin
        .post_raw(&path, "application/x-ndjson", warned.as_bytes().to_vec())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(items_in(&app, pid).await, 5);

    // A failure while storing (an external id the project holds) leaves nothing behind.
    let late = "{\"external_id\": \"x1\", \"data\": {\"text\": \"new a\"}}\n{\"external_id\": \"x1b\", \"data\": {\"text\": \"\"}}\n{\"external_id\": \"x2\", \"data\": {\"text\": \"new b\"}}\n";
    admin
        .post_json(
            &path,
            &json!([{"external_id": "x2", "data": {"text": "taken"}}]),
        )
        .await;
    let response = admin
        .post_raw(
            &format!("{path}?skip=flagged"),
            "application/x-ndjson",
            late.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(items_in(&app, pid).await, 6, "nothing half-imports");
}

fn label_studio_fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/label_studio/sentiment_tasks.json"
    ))
    .expect("fixture")
}

async fn label_studio_annotations_become_labels_by_pseudonyms(app: TestApp) {
    let admin = app.admin().await;
    let pid = new_project(&admin).await;
    let path = format!("/api/v1/projects/{pid}/items?format=label-studio");
    let response = admin
        .post_raw(&path, "application/json", label_studio_fixture())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.json::<Value>().await.unwrap()["imported"], 3);

    let export = admin
        .get(&format!("/api/v1/projects/{pid}/export?format=jsonl"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!export.contains("rita@example.org"), "no email in clear");
    let rows: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["external_id"], "101");
    assert_eq!(
        rows[0]["data"]["text"],
        "The battery lasts all day and the screen is lovely."
    );
    let labels = rows[0]["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0]["rater"], format!("ls-annotator-3.p{pid}"));
    assert_eq!(labels[0]["value"], "pos");
    assert_eq!(labels[0]["duration_ms"], 2500);
    assert!(labels[1]["rater"]
        .as_str()
        .unwrap()
        .starts_with("ls-annotator-5"));
    assert_eq!(
        rows[1]["labels"].as_array().unwrap().len(),
        1,
        "the cancelled annotation is left out"
    );
    assert_eq!(rows[1]["labels"][0]["value"], "neg");
    assert_eq!(rows[2]["labels"].as_array().unwrap().len(), 0);

    let predicted = |ext: &str, value: &str| {
        format!("SELECT count(*) FROM items WHERE project_id = {pid} AND external_id = '{ext}' AND prediction = '\"{value}\"'")
    };
    assert_eq!(
        app.count(&predicted("101", "pos")).await,
        1,
        "the best-scored prediction"
    );
    assert_eq!(app.count(&predicted("103", "neg")).await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE name LIKE 'ls:%' AND password_hash IS NULL")
            .await,
        2,
        "one rater per annotator, who cannot sign in"
    );
    // Item 101 wanted two labels and has them; 102 still wants one.
    assert_eq!(
        app.count(&format!(
            "SELECT need_generalist FROM items WHERE project_id = {pid} AND external_id = '102'"
        ))
        .await,
        1
    );

    // Without ?format, a JSON array of tasks is recognised by itself; the same annotators
    // in another project are other raters.
    let other = new_project(&admin).await;
    let response = admin
        .post_raw(
            &format!("/api/v1/projects/{other}/items"),
            "application/json",
            label_studio_fixture(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.count("SELECT count(*) FROM labels").await, 6);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE name LIKE 'ls:%'")
            .await,
        4
    );
}

async fn the_browser_previews_an_import_before_it_lands(app: TestApp) {
    let admin = app.admin().await;
    let pid = new_project(&admin).await;
    app.user_with_password("boss", tally::domain::user::Role::Admin, "boss password 1")
        .await;
    let browser = app.browser();
    browser.login("boss", "boss password 1").await;
    let project_page = format!("/admin/projects/{pid}");
    let upload = |bytes: Vec<u8>| {
        let browser = &browser;
        let project_page = project_page.clone();
        async move {
            let csrf = browser.csrf(&project_page).await;
            let form = Form::new()
                .text("csrf", csrf)
                .part("file", Part::bytes(bytes).file_name("items.csv"));
            browser
                .client
                .post(format!("{}{project_page}/import", browser.base))
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    let csv = b"text\nfine\nwrite to <b>ann@example.org</b>\nfine\n".to_vec();
    let preview = upload(csv.clone()).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let html = preview.text().await.unwrap();
    assert_eq!(items_in(&app, pid).await, 0, "the preview stores nothing");
    let doc = scraper::Html::parse_document(&html);
    let kinds: Vec<String> = doc
        .select(&scraper::Selector::parse("#import-findings li.finding").unwrap())
        .map(|li| li.value().attr("data-kind").unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["duplicate_in_file", "personal_data"]);
    assert!(!html.contains("<b>ann"), "file contents are escaped");
    let actions: Vec<String> = doc
        .select(&scraper::Selector::parse("#import-choice form").unwrap())
        .map(|f| f.value().attr("action").unwrap().to_string())
        .collect();
    assert_eq!(actions.len(), 3, "import all, without flagged, cancel");
    let confirm = actions[0].clone();
    assert!(confirm.ends_with("/confirm"));

    let csrf = csrf_in(&html);
    let done = browser
        .post_form(&confirm, &[("csrf", &csrf), ("skip", "flagged")])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        done.headers()["location"],
        format!("/admin/projects/{pid}?imported=1&skipped=2").as_str()
    );
    assert_eq!(items_in(&app, pid).await, 1);
    let again = browser
        .post_form(&confirm, &[("csrf", &csrf), ("skip", "")])
        .await;
    assert_eq!(
        again.status(),
        StatusCode::NOT_FOUND,
        "an upload is confirmed once"
    );

    let preview = upload(b"text\nanother\n".to_vec())
        .await
        .text()
        .await
        .unwrap();
    let cancel = scraper::Html::parse_document(&preview)
        .select(&scraper::Selector::parse("form[action$='/cancel']").unwrap())
        .next()
        .and_then(|f| f.value().attr("action").map(str::to_string))
        .unwrap();
    let cancelled = browser
        .post_form(&cancel, &[("csrf", &csrf_in(&preview))])
        .await;
    assert_eq!(cancelled.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        items_in(&app, pid).await,
        1,
        "a cancelled import stores nothing"
    );
    assert_eq!(app.count("SELECT count(*) FROM pending_imports").await, 0);
}

async fn tally_import_checks_streams_and_refuses_whole(app: TestApp) {
    let (_admin, pid) = with_earlier_item(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let planted = dir.path().join("planted.csv");
    std::fs::write(&planted, planted_csv()).unwrap();
    let url = app.database_url.clone();
    let pid_arg = pid.to_string();
    let import = |file: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["import", "--project", &pid_arg, file.to_str().unwrap()];
        args.extend_from_slice(extra);
        crate::cli::tally(&url, &args, None)
    };

    let out = import(&planted, &["--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("11 rows, 2 with nothing flagged"),
        "{stdout}"
    );
    assert!(stdout.contains("missing_shown_field"), "{stdout}");
    assert!(stdout.contains("lines 3, 9"), "{stdout}");
    let out = import(&planted, &["--dry-run", "--findings", "json"]);
    let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows_of(&findings, "personal_data", Some("card")), vec![8]);
    assert_eq!(items_in(&app, pid).await, 1);

    let out = import(&planted, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("line 11: gold"), "{stderr}");
    assert_eq!(items_in(&app, pid).await, 1);

    let out = import(&planted, &["--skip-flagged", "--chunk", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "piped: nothing but errors"
    );
    assert_eq!(items_in(&app, pid).await, 3);

    let jsonl = dir.path().join("more.jsonl");
    let mut text = String::new();
    for i in 0..250 {
        text.push_str(&format!(
            "{{\"external_id\": \"m{i}\", \"data\": {{\"text\": \"row {i}\"}}}}\n"
        ));
    }
    text.push_str("{\"external_id\": \"m0\", \"data\": {\"text\": \"again\"}}\n");
    std::fs::write(&jsonl, &text).unwrap();
    let out = import(&jsonl, &["--chunk", "100"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 251"));
    assert_eq!(
        items_in(&app, pid).await,
        3,
        "a late bad row leaves nothing"
    );

    let fixed: String = text.lines().take(250).map(|l| format!("{l}\n")).collect();
    std::fs::write(&jsonl, fixed).unwrap();
    let out = import(&jsonl, &["--chunk", "100", "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(items_in(&app, pid).await, 253);

    // The rows of a file that skips nothing go to the database while it is checked; a file
    // the check refuses, or one with no rows, still leaves nothing behind, not even an
    // entry in the audit log.
    let audited = || app.count("SELECT count(*) FROM audit_log WHERE action = 'items.imported'");
    let entries = audited().await;
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let out = import(&empty, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the file holds no items"), "{stderr}");
    let mut late: String = (0..1500)
        .map(|i| format!("{{\"data\": {{\"text\": \"late {i}\"}}}}\n"))
        .collect();
    late.push_str("{\"data\": {\"text\": \"bad gold\"}, \"gold\": \"maybe\"}\n");
    std::fs::write(&jsonl, late).unwrap();
    let out = import(&jsonl, &["--chunk", "100"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: line 1501: gold"), "{stderr}");
    assert!(
        stderr.trim_end().ends_with("nothing was imported"),
        "{stderr}"
    );
    assert_eq!(items_in(&app, pid).await, 253);
    assert_eq!(audited().await, entries);

    let missing = dir.path().join("missing.jsonl");
    let out = import(&missing, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot open") && stderr.contains("missing.jsonl"),
        "{stderr}"
    );
    assert_eq!(audited().await, entries);
}
