//! Editing, archiving and cloning projects, and versioned guidelines: every refusal names
//! the setting and why, the items' wanted labels follow overlap changes, an archived project
//! is closed to every rater path until restored, a clone has the setup and nothing else,
//! labels carry their guideline version into the report and the dataset card, and each
//! action writes its audit entry.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::store::audit::{AuditFilter, AuditRecord};

use crate::harness::{attr_of, select_text, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    edits_that_would_corrupt_labels_are_refused_naming_the_setting,
    other_kinds_refuse_narrowing_past_stored_answers,
    overlap_changes_keep_the_wanted_labels_right,
    pool_sizes_change_the_wanted_labels_of_every_item,
    an_archived_project_is_closed_to_raters_until_restored,
    a_clone_has_the_setup_and_none_of_the_data,
    labels_carry_their_guideline_version_into_the_report_and_the_card,
    the_settings_page_edits_every_setting_without_javascript,
);

async fn patch(admin: &Api, pid: i64, body: Value) -> reqwest::Response {
    admin
        .patch_json(&format!("/api/v1/projects/{pid}"), &body)
        .await
}

/// PATCH that must succeed; returns the project it answers.
async fn patched(admin: &Api, pid: i64, body: Value) -> Value {
    let answer = patch(admin, pid, body.clone()).await;
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body} -> {text}");
    serde_json::from_str(&text).unwrap()
}

/// PATCH that must be refused with `status`; returns the error message.
async fn refused(admin: &Api, pid: i64, body: Value, status: StatusCode) -> String {
    let answer = patch(admin, pid, body.clone()).await;
    assert_eq!(answer.status(), status, "{body}");
    let error: Value = answer.json().await.unwrap();
    error["error"].as_str().unwrap().to_string()
}

/// The project's entries of the actions these tests are about (editing, archiving,
/// cloning, guidelines); creating the project and importing its items write entries too.
async fn audit(app: &TestApp, pid: i64) -> Vec<AuditRecord> {
    const SETUP: [&str; 2] = ["project.created", "items.imported"];
    app.store
        .audit_entries(&AuditFilter {
            project_id: Some(pid),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| !SETUP.contains(&e.action.as_str()))
        .collect()
}

fn actions(entries: &[AuditRecord]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

fn details(entry: &AuditRecord) -> Value {
    serde_json::from_str(&entry.details).unwrap()
}

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The rater takes the next item and labels it; returns the item id.
async fn label_next(rater: &Api, pid: i64, value: &str) -> i64 {
    let item = rater.next(pid).await.expect("an item is left");
    let labelled = rater.label(pid, item, value).await;
    assert_eq!(
        labelled.status(),
        StatusCode::CREATED,
        "{:?}",
        labelled.text().await
    );
    item
}

async fn edits_that_would_corrupt_labels_are_refused_naming_the_setting(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a", "b", "c"]).await;
    let rater = app.rater("rita").await;
    label_next(&rater, pid, "neg").await;

    let error = refused(
        &admin,
        pid,
        json!({"labels": ["pos", "neutral"]}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(error.starts_with("labels:"), "{error}");
    assert!(error.contains("1 label holds \"neg\""), "{error}");
    let error = refused(
        &admin,
        pid,
        json!({"labels": ["pos", "negative", "neutral"]}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        error.starts_with("labels:") && error.contains("\"neg\""),
        "renaming is removing: {error}"
    );
    let error = refused(
        &admin,
        pid,
        json!({"kind": "multi_choice"}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        error.starts_with("kind:") && error.contains("1 label"),
        "{error}"
    );
    let error = refused(
        &admin,
        pid,
        json!({"overlap": 0}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(error.starts_with("overlap:"), "{error}");
    let error = refused(
        &admin,
        pid,
        json!({"colour": "red"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(error.starts_with("colour:"), "{error}");
    let error = refused(
        &admin,
        pid,
        json!({"lease_seconds": "long"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(error.starts_with("lease_seconds:"), "{error}");
    assert!(
        actions(&audit(&app, pid).await)
            .iter()
            .all(|a| *a != "project.updated"),
        "refusals change nothing"
    );

    // An unused label may go and labels may be reordered; the answer is the project as GET shows it.
    let answer = patched(
        &admin,
        pid,
        json!({"labels": ["neg", "pos"], "name": "Reviews, two labels"}),
    )
    .await;
    let shown = json_of(admin.get(&format!("/api/v1/projects/{pid}")).await).await;
    assert_eq!(answer, shown);
    assert_eq!(shown["labels"], json!(["neg", "pos"]));
    assert_eq!(shown["name"], "Reviews, two labels");
    let entries = audit(&app, pid).await;
    assert_eq!(actions(&entries), ["project.updated"]);
    assert_eq!(
        details(&entries[0]),
        json!({
            "before": {"labels": ["pos", "neg", "neutral"], "name": "Reviews"},
            "after": {"labels": ["neg", "pos"], "name": "Reviews, two labels"},
        })
    );
    // A PATCH that changes nothing writes nothing.
    patched(&admin, pid, json!({"name": "Reviews, two labels"})).await;
    assert_eq!(audit(&app, pid).await.len(), 1);
    assert_eq!(
        patch(&admin, 999_999, json!({"name": "x"})).await.status(),
        StatusCode::NOT_FOUND
    );
    let rater_patch = patch(&rater, pid, json!({"name": "mine"})).await;
    assert_eq!(rater_patch.status(), StatusCode::FORBIDDEN);
}

async fn other_kinds_refuse_narrowing_past_stored_answers(app: TestApp) {
    let admin = app.admin().await;
    let rater = app.rater("rita").await;
    let items = json!([{"data": {"text": "one"}}, {"data": {"text": "two"}}]);

    let rating = app
        .project_from(
            &admin,
            json!({"name": "Stars", "kind": "rating", "scale": {"min": 1, "max": 5}, "overlap": 1}),
            items.clone(),
        )
        .await;
    let item = rater.next(rating).await.unwrap();
    let given = rater
        .post_json(
            &format!("/api/v1/projects/{rating}/items/{item}/labels"),
            &json!({"value": 5}),
        )
        .await;
    assert_eq!(given.status(), StatusCode::CREATED);
    let error = refused(
        &admin,
        rating,
        json!({"scale": {"min": 1, "max": 4}}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        error.starts_with("scale:") && error.contains("\"5\""),
        "{error}"
    );
    let wider = patched(
        &admin,
        rating,
        json!({"scale": {"min": 1, "max": 7, "anchors": {"7": "superb"}}}),
    )
    .await;
    assert_eq!(wider["labels"], json!(["1", "2", "3", "4", "5", "6", "7"]));

    let numbers = app
        .project_from(&admin, json!({"name": "Price", "kind": "numeric", "range": {"min": 0.0, "max": 100.0}, "overlap": 1}), items.clone())
        .await;
    let item = rater.next(numbers).await.unwrap();
    let given = rater
        .post_json(
            &format!("/api/v1/projects/{numbers}/items/{item}/labels"),
            &json!({"value": 42.5}),
        )
        .await;
    assert_eq!(given.status(), StatusCode::CREATED);
    let error = refused(
        &admin,
        numbers,
        json!({"range": {"min": 0.0, "max": 40.0}}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(error.starts_with("range:"), "{error}");
    let error = refused(
        &admin,
        numbers,
        json!({"range": {"min": 0.0, "max": 100.0, "step": 1.0}}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        error.starts_with("range:"),
        "a step the stored 42.5 is off: {error}"
    );

    let text = app
        .project_from(
            &admin,
            json!({"name": "Notes", "kind": "text", "max_length": 200, "overlap": 1}),
            items.clone(),
        )
        .await;
    let item = rater.next(text).await.unwrap();
    let given = rater
        .post_json(
            &format!("/api/v1/projects/{text}/items/{item}/labels"),
            &json!({"value": "a longer note"}),
        )
        .await;
    assert_eq!(given.status(), StatusCode::CREATED);
    let error = refused(&admin, text, json!({"max_length": 5}), StatusCode::CONFLICT).await;
    assert!(error.starts_with("max_length:"), "{error}");
    let error = refused(
        &admin,
        text,
        json!({"pattern": "^[0-9]+$"}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(error.starts_with("pattern:"), "{error}");

    let multi = app
        .project_from(&admin, json!({"name": "Topics", "kind": "multi_choice", "labels": ["x", "y", "z"], "overlap": 1}), items)
        .await;
    let item = rater.next(multi).await.unwrap();
    let given = rater
        .post_json(
            &format!("/api/v1/projects/{multi}/items/{item}/labels"),
            &json!({"value": ["x", "y"]}),
        )
        .await;
    assert_eq!(given.status(), StatusCode::CREATED);
    let error = refused(&admin, multi, json!({"max": 1}), StatusCode::CONFLICT).await;
    assert!(error.starts_with("max:"), "{error}");
    let error = refused(
        &admin,
        multi,
        json!({"labels": ["x", "z"]}),
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        error.starts_with("labels:") && error.contains("\"y\""),
        "{error}"
    );
    patched(&admin, multi, json!({"labels": ["x", "y"]})).await;
}

async fn needs(app: &TestApp, pid: i64) -> Vec<(i64, i64, i64)> {
    let mut out = Vec::new();
    for n in 1..=3 {
        let sql = |column: &str| {
            format!("SELECT {column} FROM items WHERE project_id = {pid} AND external_id = 'x{n}'")
        };
        out.push((
            app.count(&sql("need_generalist")).await,
            app.count(&sql("need_expert")).await,
            app.count(&sql("need_user")).await,
        ));
    }
    out
}

async fn overlap_changes_keep_the_wanted_labels_right(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_with_items(&admin, 2, &["one", "two", "three"])
        .await;
    let (r1, r2, r3, r4) = (
        app.rater("r1").await,
        app.rater("r2").await,
        app.rater("r3").await,
        app.rater("r4").await,
    );
    let x1 = label_next(&r1, pid, "pos").await;
    assert_eq!(label_next(&r2, pid, "pos").await, x1);
    let x2 = label_next(&r1, pid, "neg").await;
    // r3 holds x2 (its last free slot) when the overlap shrinks.
    assert_eq!(r3.next(pid).await, Some(x2));
    let generalists = |n: &Vec<(i64, i64, i64)>| n.iter().map(|t| t.0).collect::<Vec<_>>();
    assert_eq!(generalists(&needs(&app, pid).await), [0, 1, 2]);

    let shrunk = patched(&admin, pid, json!({"overlap": 1})).await;
    assert_eq!(shrunk["overlap"], 1);
    // x1 stays complete with its two labels; x2 keeps the slot r3 holds; x3 wants one.
    assert_eq!(generalists(&needs(&app, pid).await), [0, 1, 1]);
    assert_eq!(
        r3.label(pid, x2, "neg").await.status(),
        StatusCode::CREATED,
        "a live lease stays valid"
    );
    assert_eq!(generalists(&needs(&app, pid).await), [0, 0, 1]);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE project_id = {pid}"
        ))
        .await,
        4,
        "no label is taken back"
    );

    let grown = patched(&admin, pid, json!({"overlap": 3})).await;
    assert_eq!(
        grown["progress"]["items_complete"], 0,
        "complete items reopen"
    );
    assert_eq!(generalists(&needs(&app, pid).await), [1, 1, 3]);
    // The reopened x1 goes to someone who has not labelled it.
    assert_eq!(r1.next(pid).await.map(|i| i != x1), Some(true));
    assert_eq!(r4.next(pid).await, Some(x1));

    // Dynamic overlap keeps what each item asked for, within the new bounds.
    patched(
        &admin,
        pid,
        json!({"overlap": null, "min_overlap": 1, "max_overlap": 2}),
    )
    .await;
    // x1 is held by r4, x3 by r1: x2 (two labels) is settled at the new maximum.
    assert_eq!(generalists(&needs(&app, pid).await), [1, 0, 2]);
    let entries = audit(&app, pid).await;
    assert_eq!(actions(&entries), ["project.updated"; 3]);
    assert_eq!(details(&entries[2])["before"]["pools"]["generalist"], 2);
    assert_eq!(details(&entries[2])["after"]["pools"]["generalist"], 1);
}

/// Each item's position and random sort key.
async fn random_keys(app: &TestApp, pid: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for n in 1..=3 {
        let sql = |column: &str| {
            format!("SELECT {column} FROM items WHERE project_id = {pid} AND external_id = 'x{n}'")
        };
        out.push((
            app.count(&sql("position")).await,
            app.count(&sql("random_key")).await,
        ));
    }
    out
}

async fn pool_sizes_change_the_wanted_labels_of_every_item(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_with_items(&admin, 1, &["one", "two", "three"])
        .await;
    let rater = app.rater("r1").await;
    let x1 = label_next(&rater, pid, "pos").await;
    let project = json_of(admin.get(&format!("/api/v1/projects/{pid}")).await).await;
    assert_eq!(project["progress"]["items_complete"], 1);

    patched(&admin, pid, json!({"pools": {"expert": 1, "user": 2}})).await;
    assert_eq!(needs(&app, pid).await, [(0, 1, 2), (1, 1, 2), (1, 1, 2)]);
    let project = json_of(admin.get(&format!("/api/v1/projects/{pid}")).await).await;
    assert_eq!(project["progress"]["items_complete"], 0);
    assert_eq!(
        project["pools"],
        json!({"generalist": 1, "expert": 1, "user": 2})
    );
    let expert = app
        .pool_rater("dr", tally::domain::policy::Pool::Expert, &[])
        .await;
    assert_eq!(expert.next(pid).await, Some(x1));

    // A new seed draws every item's place in the random order again.
    let before = random_keys(&app, pid).await;
    patched(&admin, pid, json!({"order": "random", "seed": 99})).await;
    let after = random_keys(&app, pid).await;
    assert_ne!(before, after);
    for (position, key) in after {
        assert_eq!(key, tally::domain::policy::random_key(99, position));
    }

    patched(&admin, pid, json!({"pools": {"user": 0}})).await;
    // The expert's live lease on x1 keeps its slot.
    assert_eq!(needs(&app, pid).await, [(0, 1, 0), (1, 1, 0), (1, 1, 0)]);
}

async fn an_archived_project_is_closed_to_raters_until_restored(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_with_items(&admin, 1, &["one", "two", "three", "four"])
        .await;
    app.user_with_password("rita", tally::domain::user::Role::Rater, "rater password 1")
        .await;
    let browser = app.browser();
    browser.login("rita", "rater password 1").await;
    let rater_id = app.count("SELECT id FROM users WHERE name = 'rita'").await;
    let (token, hash) = tally::auth::new_api_token();
    app.store.insert_token(rater_id, &hash).await.unwrap();
    let rater = Api {
        client: reqwest::Client::new(),
        base: app.url(""),
        token,
    };
    let held = rater.next(pid).await.unwrap();
    assert!(browser.page("/").await.contains("Reviews"));

    let archived = json_of(
        admin
            .post_json(&format!("/api/v1/projects/{pid}/archive"), &json!({}))
            .await,
    )
    .await;
    assert!(archived["archived_at"].as_i64().is_some());
    let again = admin
        .post_json(&format!("/api/v1/projects/{pid}/archive"), &json!({}))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    let refused_with_reason = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("archived"),
            "{body}"
        );
    };
    refused_with_reason(rater.get(&format!("/api/v1/projects/{pid}/next")).await).await;
    refused_with_reason(rater.label(pid, held, "pos").await).await;
    refused_with_reason(
        rater
            .post_json(
                &format!("/api/v1/projects/{pid}/items/{held}/skip"),
                &json!({}),
            )
            .await,
    )
    .await;
    refused_with_reason(
        rater
            .post_json(
                &format!("/api/v1/projects/{pid}/items/{held}/report"),
                &json!({"reason": "broken"}),
            )
            .await,
    )
    .await;
    let page = browser.get(&format!("/rate/{pid}")).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.text().await.unwrap().contains("archived"));
    assert!(
        !browser.page("/").await.contains("Reviews"),
        "the home page leaves it out"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE project_id = {pid}"
        ))
        .await,
        0
    );

    let admin_browser = app.signed_in_admin().await;
    let list = admin_browser.page("/admin").await;
    assert!(
        select_text(&list, "#archived").unwrap().contains("Reviews"),
        "listed apart"
    );
    assert!(select_text(&list, "#projects").is_none());
    let project_page = admin_browser.page(&format!("/admin/projects/{pid}")).await;
    assert!(select_text(&project_page, "#archived-banner").is_some());

    let restored = json_of(
        admin
            .post_json(&format!("/api/v1/projects/{pid}/restore"), &json!({}))
            .await,
    )
    .await;
    assert!(restored["archived_at"].is_null());
    assert_eq!(
        rater.label(pid, held, "pos").await.status(),
        StatusCode::CREATED,
        "the hold is kept"
    );
    assert!(rater.next(pid).await.is_some());
    assert!(browser.page("/").await.contains("Reviews"));
    let again = admin
        .post_json(&format!("/api/v1/projects/{pid}/restore"), &json!({}))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // The page's forms do the same.
    let csrf = crate::harness::csrf_in(&project_page);
    let archive = admin_browser
        .post_form(
            &format!("/admin/projects/{pid}/archive"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(archive.status(), StatusCode::SEE_OTHER);
    assert!(
        rater
            .get(&format!("/api/v1/projects/{pid}/next"))
            .await
            .status()
            == StatusCode::FORBIDDEN
    );
    let restore = admin_browser
        .post_form(
            &format!("/admin/projects/{pid}/restore"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(restore.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        actions(&audit(&app, pid).await),
        [
            "project.restored",
            "project.archived",
            "project.restored",
            "project.archived"
        ]
    );
}

async fn a_clone_has_the_setup_and_none_of_the_data(app: TestApp) {
    let admin = app.admin().await;
    let body = json!({
        "name": "Triage", "labels": ["urgent", "routine", "spam"], "overlap": 2,
        "instructions": "**Urgent** means today.", "pools": {"expert": 1}, "expertise": ["cardio"],
        "escalate_below": 0.7, "order": "random", "seed": 7, "gold_rate": 0.1,
        "negative_labels": ["spam"], "comment": true, "hidden_fields": ["email"],
    });
    let items =
        json!([{"external_id": "a", "data": {"text": "chest pain", "email": "x@example.com"}}]);
    let pid = app.project_from(&admin, body, items).await;
    let rater = app.rater("rita").await;
    label_next(&rater, pid, "urgent").await;
    let added = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/members"),
            &json!({"name": "rita"}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    let pools = admin
        .client
        .put(format!("{}/api/v1/projects/{pid}/member-pools", admin.base))
        .bearer_auth(&admin.token)
        .json(&json!({"pools": ["expert"]}))
        .send()
        .await
        .unwrap();
    assert!(pools.status().is_success(), "{:?}", pools.text().await);
    let key = admin
        .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
        .await;
    assert!(key.status().is_success());
    patched(
        &admin,
        pid,
        json!({"instructions": "**Urgent** means within the hour."}),
    )
    .await;
    let rates = admin
        .put_json(
            &format!("/api/v1/projects/{pid}/rates"),
            &json!({"generalist": 12.5, "expert": 90.0, "currency": "EUR"}),
        )
        .await;
    assert_eq!(rates.status(), StatusCode::OK, "{:?}", rates.text().await);

    let made = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/clone"),
            &json!({"name": "Triage, round 2"}),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let clone: Value = made.json().await.unwrap();
    let cid = clone["id"].as_i64().unwrap();
    let source = json_of(admin.get(&format!("/api/v1/projects/{pid}")).await).await;
    assert_eq!(clone["name"], "Triage, round 2");
    let differ = [
        "id",
        "name",
        "created_at",
        "link_secret",
        "open_link_url",
        "progress",
        "guideline_version",
    ];
    for (key, value) in source.as_object().unwrap() {
        if !differ.contains(&key.as_str()) {
            assert_eq!(&clone[key], value, "{key} is copied");
        }
    }
    assert_ne!(clone["link_secret"], source["link_secret"]);
    assert_eq!(clone["instructions"], "**Urgent** means within the hour.");
    assert_eq!(
        clone["guideline_version"], 1,
        "the clone's guidelines start at version 1"
    );
    assert_eq!(clone["progress"]["items"], 0);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM items WHERE project_id = {cid}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE project_id = {cid}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM feedback_keys WHERE project_id = {cid}"
        ))
        .await,
        0
    );
    let members = json_of(admin.get(&format!("/api/v1/projects/{cid}/members")).await).await;
    assert_eq!(members["pools"], json!(["expert"]));
    let copied = json_of(admin.get(&format!("/api/v1/projects/{cid}/rates")).await).await;
    assert_eq!(copied["currency"], "EUR");
    assert_eq!(copied["generalist"], 12.5);
    assert_eq!(copied["expert"], 90.0);
    assert_eq!(members["raters"][0]["name"], "rita");

    let entries = audit(&app, cid).await;
    assert_eq!(actions(&entries), ["project.cloned"]);
    assert_eq!(details(&entries[0])["source_project"], pid);
    let bad = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/clone"),
            &json!({"name": ""}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let missing = admin
        .post_json("/api/v1/projects/999999/clone", &json!({"name": "x"}))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // The page's form clones too, and opens the copy.
    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    let csrf = crate::harness::csrf_in(&page);
    let cloned = browser
        .post_form(
            &format!("/admin/projects/{pid}/clone"),
            &[("csrf", &csrf), ("name", "Triage, round 3")],
        )
        .await;
    assert_eq!(cloned.status(), StatusCode::SEE_OTHER);
    let location = cloned.headers()["location"].to_str().unwrap().to_string();
    assert!(browser.page(&location).await.contains("Triage, round 3"));
}

async fn labels_carry_their_guideline_version_into_the_report_and_the_card(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_with_items(
            &admin,
            2,
            &[
                "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            ],
        )
        .await;
    let (r1, r2) = (app.rater("r1").await, app.rater("r2").await);
    // Under version 1 the raters disagree on every item.
    for _ in 0..4 {
        let item = label_next(&r1, pid, "pos").await;
        assert_eq!(r2.next(pid).await, Some(item));
        assert_eq!(
            r2.label(pid, item, "neg").await.status(),
            StatusCode::CREATED
        );
    }
    let clarified = patched(
        &admin,
        pid,
        json!({"instructions": "Sarcasm counts as **negative**."}),
    )
    .await;
    assert_eq!(clarified["guideline_version"], 2);
    let entries = audit(&app, pid).await;
    assert_eq!(
        actions(&entries),
        ["guidelines.updated"],
        "only the instructions changed"
    );
    assert_eq!(details(&entries[0])["version"], 2);
    // Under version 2 they agree.
    for _ in 0..4 {
        let item = label_next(&r1, pid, "neg").await;
        assert_eq!(r2.next(pid).await, Some(item));
        assert_eq!(
            r2.label(pid, item, "neg").await.status(),
            StatusCode::CREATED
        );
    }
    let per_version = |v: i64| {
        format!("SELECT count(*) FROM labels WHERE project_id = {pid} AND guideline_version = {v}")
    };
    assert_eq!(
        (
            app.count(&per_version(1)).await,
            app.count(&per_version(2)).await
        ),
        (8, 8)
    );

    let versions = json_of(
        admin
            .get(&format!("/api/v1/projects/{pid}/guidelines"))
            .await,
    )
    .await;
    assert_eq!(versions[0]["number"], 2);
    assert_eq!(versions[0]["created_by"], "admin");
    assert_eq!(
        versions[0]["instructions"],
        "Sarcasm counts as **negative**."
    );
    assert_eq!(versions[1]["number"], 1);

    let report = json_of(
        admin
            .get(&format!("/api/v1/projects/{pid}/report?draws=0"))
            .await,
    )
    .await;
    let split = report["guideline_versions"].as_array().unwrap();
    assert_eq!(split.len(), 2);
    assert_eq!(split[0]["version"], 1);
    assert_eq!(split[0]["labels"], 8);
    assert_eq!(split[0]["percent_agreement"], 0.0);
    assert_eq!(split[1]["version"], 2);
    assert_eq!(split[1]["percent_agreement"], 1.0);
    assert_eq!(split[1]["pairable_items"], 4);

    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}/report")).await;
    let table = select_text(&page, "#version-table")
        .unwrap_or_else(|| panic!("no split by version: {page}"));
    assert!(
        table.contains("100.0%") && table.contains("0.0%"),
        "{table}"
    );
    let settings = browser
        .page(&format!("/admin/projects/{pid}/settings"))
        .await;
    assert!(select_text(&settings, "#guideline-2")
        .unwrap()
        .contains("admin"));
    assert!(select_text(&settings, "#guideline-1").is_some());

    // The rater's screen renders the current version from Markdown, and names it.
    app.user_with_password("r3", tally::domain::user::Role::Rater, "rater password 3")
        .await;
    let rater_browser = app.browser();
    rater_browser.login("r3", "rater password 3").await;
    let screen = rater_browser.page(&format!("/rate/{pid}")).await;
    assert!(select_text(&screen, "#guideline-version")
        .unwrap()
        .contains("version 2"));
    assert!(
        screen.contains("<strong>negative</strong>"),
        "rendered from Markdown"
    );

    // The card names the versions the exported labels were given under.
    let export = admin.get(&format!("/api/v1/projects/{pid}/export")).await;
    assert_eq!(export.status(), StatusCode::OK);
    export.text().await.unwrap();
    let listed = json_of(admin.get(&format!("/api/v1/projects/{pid}/exports")).await).await;
    let vid = listed[0]["id"].as_i64().unwrap();
    let card = admin
        .get(&format!("/api/v1/projects/{pid}/exports/{vid}/card"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        card.contains("Guideline versions: 1 (8 labels), 2 (8 labels)"),
        "{card}"
    );
    let card = json_of(
        admin
            .get(&format!(
                "/api/v1/projects/{pid}/exports/{vid}/card?format=json"
            ))
            .await,
    )
    .await;
    assert_eq!(card["guideline_versions"], json!([1, 2]));

    // Settings and instructions in one PATCH write both entries.
    patched(
        &admin,
        pid,
        json!({"instructions": "v3", "lease_seconds": 900}),
    )
    .await;
    let entries = audit(&app, pid).await;
    let newest: Vec<&str> = actions(&entries).into_iter().take(2).collect();
    assert!(
        newest.contains(&"guidelines.updated") && newest.contains(&"project.updated"),
        "{newest:?}"
    );
    assert_eq!(
        details(&entries[0])["after"]["lease_seconds"]
            .as_i64()
            .or(details(&entries[1])["after"]["lease_seconds"].as_i64()),
        Some(900)
    );
}

async fn the_settings_page_edits_every_setting_without_javascript(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["one", "two"]).await;
    let rater = app.rater("rita").await;
    label_next(&rater, pid, "neg").await;
    let browser = app.signed_in_admin().await;
    let path = format!("/admin/projects/{pid}/settings");
    let page = browser.page(&path).await;
    assert_eq!(
        attr_of(&page, "input[name=name]", "value").as_deref(),
        Some("Reviews")
    );
    assert_eq!(
        select_text(&page, "textarea[name=labels]").as_deref(),
        Some("pos\nneg\nneutral")
    );
    assert_eq!(
        attr_of(&page, "input[name=overlap]", "value").as_deref(),
        Some("1")
    );
    assert!(select_text(&page, "textarea[name=kind_settings]").is_some());
    let csrf = crate::harness::csrf_in(&page);

    let form = |labels: &'static str, name: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.into()),
            ("instructions", "Read **twice**.".into()),
            ("labels", labels.into()),
            ("kind_settings", "{\"kind\": \"single_choice\"}".into()),
            ("overlap", "2".into()),
            ("lease_minutes", "15".into()),
            ("expert_count", "0".into()),
            ("user_count", "0".into()),
            ("expert_overlap", "1".into()),
            ("order", "import".into()),
            ("seed", "0".into()),
            ("gold_rate", "0".into()),
            ("gold_min_seen", "5".into()),
            ("text_field", "text".into()),
            ("prediction_blind_share", "0".into()),
            ("edit_window_seconds", "120".into()),
            ("comment", "on".into()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let browser = &browser;
        let path = path.clone();
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post_form(&path, &pairs).await
        }
    };
    // Removing a label in use: refused with the reason, the form kept as sent.
    let refused_page = send(form("pos\nneutral", "Renamed")).await;
    assert_eq!(refused_page.status(), StatusCode::CONFLICT);
    let html = refused_page.text().await.unwrap();
    assert!(
        select_text(&html, "#settings-error")
            .unwrap()
            .contains("labels:"),
        "{html}"
    );
    assert_eq!(
        attr_of(&html, "input[name=name]", "value").as_deref(),
        Some("Renamed")
    );
    assert_eq!(
        select_text(&html, "textarea[name=labels]").as_deref(),
        Some("pos\nneutral")
    );
    let bad = send(form("pos\nneg", "")).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let saved = send(form("pos\nneg\nneutral\nmixed", "Renamed")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let project = json_of(admin.get(&format!("/api/v1/projects/{pid}")).await).await;
    assert_eq!(project["name"], "Renamed");
    assert_eq!(project["labels"], json!(["pos", "neg", "neutral", "mixed"]));
    assert_eq!(project["overlap"], 2);
    assert_eq!(project["lease_seconds"], 900);
    assert_eq!(project["edit_window_seconds"], 120);
    assert_eq!(project["comment"], true);
    assert_eq!(project["guideline_version"], 2);
    let page = browser.page(&path).await;
    assert!(select_text(&page, "#flash").unwrap().contains("saved"));
    assert!(select_text(&page, "#guideline-2").is_some());
    let entries = audit(&app, pid).await;
    assert_eq!(actions(&entries).len(), 2, "{:?}", actions(&entries));
    let without_csrf = browser.post_form(&path, &[("name", "x")]).await;
    assert_eq!(without_csrf.status(), StatusCode::FORBIDDEN);
}
