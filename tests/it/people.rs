//! People management: the lists with each person's figures, invitations and resets by
//! one-time link, deactivation, pool and expertise, and erasure; each audited once.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::user::Role;

use crate::audit::only_entry;
use crate::harness::{csrf_in, select_text, Api, Browser, TestApp};
use crate::on_both_backends;

on_both_backends!(
    project_and_overall_lists_show_each_raters_figures,
    an_invitation_link_sets_a_password_once,
    invitations_are_checked_and_links_expire,
    a_reset_link_replaces_the_password_and_ends_sessions,
    a_deactivated_person_is_shut_out_and_can_return,
    pool_and_expertise_change_by_api_and_page,
    erasure_keeps_labels_under_the_pseudonym,
    people_pages_invite_reset_deactivate_and_erase,
);

async fn id_of(app: &TestApp, name: &str) -> i64 {
    app.store
        .user_by_name(name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user {name}"))
        .id
}

/// Labels the next item for a rater; returns the item.
async fn label_next(rater: &Api, pid: i64, value: &str, ms: i64) -> i64 {
    let iid = rater.next(pid).await.expect("an item");
    let saved = rater
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/labels"),
            &json!({"value": value, "duration_ms": ms}),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::CREATED);
    iid
}

/// The project's rater list through the API.
async fn raters_of(admin: &Api, pid: i64) -> Vec<Value> {
    admin
        .get(&format!("/api/v1/projects/{pid}/raters"))
        .await
        .json()
        .await
        .unwrap()
}

async fn project_and_overall_lists_show_each_raters_figures(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 3, &["a", "b"]).await;
    let ana = app.rater("ana").await;
    let ben = app.rater("ben").await;
    let cy = app.rater("cy").await;
    // Item 1: pos, pos, neg. Item 2: pos, pos, pos.
    let mut first_item = None;
    for (rater, first, ms) in [(&ana, "pos", 1000), (&ben, "pos", 3000), (&cy, "neg", 500)] {
        first_item = Some(label_next(rater, pid, first, ms).await);
        label_next(rater, pid, "pos", ms + 1000).await;
    }
    let cy_id = id_of(&app, "cy").await;
    let paused = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/raters/{cy_id}/pause"),
            &json!({"reason": "check the guidelines"}),
        )
        .await;
    assert_eq!(paused.status(), StatusCode::NO_CONTENT);

    let raters = raters_of(&admin, pid).await;
    let row = |name: &str| raters.iter().find(|r| r["name"] == name).unwrap().clone();
    let cy = row("cy");
    // The keys that were there stay.
    for key in [
        "rater_id",
        "pseudonym",
        "pool",
        "labels",
        "gold_seen",
        "gold_correct",
        "paused",
        "paused_reason",
    ] {
        assert!(cy.get(key).is_some(), "{key} in {cy}");
    }
    assert_eq!(cy["status"], "paused");
    assert!(cy["paused_reason"]
        .as_str()
        .unwrap()
        .ends_with("check the guidelines"));
    assert_eq!(cy["labels"], 2);
    assert_eq!(cy["agreement"], 0.5);
    assert_eq!(cy["median_duration_ms"], 1000);
    assert!(cy["last_active_at"].as_i64().unwrap() > 0);
    assert_eq!(row("ana")["agreement"], 1.0);
    assert_eq!(row("ana")["status"], "active");
    assert_eq!(row("ben")["median_duration_ms"], 3500);
    assert!(row("ana")["gold_accuracy"].is_null());

    let people: Vec<Value> = admin.get("/api/v1/users").await.json().await.unwrap();
    let cy_all = people.iter().find(|p| p["name"] == "cy").unwrap();
    assert_eq!(cy_all["status"], "active");
    assert_eq!(cy_all["labels"], 2);
    assert_eq!(cy_all["agreement"], 0.5);
    assert_eq!(cy_all["agreement_labels"], 2);
    assert_eq!(cy_all["paused"][0]["project_id"], pid);
    assert!(cy_all["paused"][0]["reason"]
        .as_str()
        .unwrap()
        .ends_with("check the guidelines"));
    assert_eq!(cy_all["role"], "rater");
    assert_eq!(cy_all["pool"], "generalist");
    let admin_row = people.iter().find(|p| p["name"] == "admin").unwrap();
    assert_eq!(admin_row["labels"], 0);
    assert!(admin_row["agreement"].is_null());

    // The pages show the same figures.
    let browser = app.signed_in_admin().await;
    let project = browser.page(&format!("/admin/projects/{pid}")).await;
    let cy_row = select_text(&project, &format!("#rater-{cy_id}")).unwrap();
    assert!(cy_row.contains("50%"), "{cy_row}");
    assert!(cy_row.contains("check the guidelines"), "{cy_row}");
    let list = browser.page("/admin/users").await;
    let cy_listed = select_text(&list, &format!("#user-{cy_id}")).unwrap();
    assert!(cy_listed.contains("50%"), "{cy_listed}");
    assert!(cy_listed.contains("1.0 s"), "{cy_listed}");
    assert!(cy_listed.contains("paused"), "{cy_listed}");
    assert_eq!(
        app.rater("dee").await.get("/api/v1/users").await.status(),
        StatusCode::FORBIDDEN
    );

    // A gold item counts for time only: with item 1 made gold, cy is compared on item 2
    // alone, where everyone agreed, and both of cy's times still count.
    let first_item = first_item.unwrap();
    crate::audit::execute(
        &app,
        &format!("UPDATE items SET is_gold = TRUE WHERE id = {first_item}"),
    )
    .await
    .unwrap();
    let raters = raters_of(&admin, pid).await;
    let cy = raters.iter().find(|r| r["name"] == "cy").unwrap();
    assert_eq!(cy["agreement"], 1.0, "{cy}");
    assert_eq!(cy["agreement_labels"], 1, "{cy}");
    assert_eq!(cy["median_duration_ms"], 1000, "{cy}");
}

/// The token of a link `/invite/TOKEN`, whole or as a path.
fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_string()
}

/// Sets a password through a link's page; returns the answer's status and HTML.
async fn set_password(
    app: &TestApp,
    link: &str,
    password: &str,
    repeat: &str,
) -> (StatusCode, String) {
    let browser = app.browser();
    let path = format!("/invite/{}", token_of(link));
    let form = browser.get(&path).await;
    let status = form.status();
    let html = form.text().await.unwrap();
    if status != StatusCode::OK {
        return (status, html);
    }
    let csrf = csrf_in(&html);
    let done = browser
        .post_form(
            &path,
            &[("csrf", &csrf), ("password", password), ("repeat", repeat)],
        )
        .await;
    (done.status(), done.text().await.unwrap())
}

async fn invite(admin: &Api, body: Value) -> reqwest::Response {
    admin.post_json("/api/v1/users/invitations", &body).await
}

async fn an_invitation_link_sets_a_password_once(app: TestApp) {
    let admin = app.admin().await;
    let made = invite(
        &admin,
        json!({"name": "nora", "role": "rater", "pool": "expert", "expertise": ["radiology"]}),
    )
    .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    let link = made["link"].as_str().unwrap().to_string();
    assert!(link.starts_with("/invite/"), "{link}");
    let nora = id_of(&app, "nora").await;
    assert_eq!(made["user_id"], nora);
    // Only the hash is stored.
    let token = token_of(&link);
    let stored = app
        .count(&format!(
            "SELECT count(*) FROM password_links WHERE token_hash = '{}'",
            tally::auth::hash_token(&token)
        ))
        .await;
    assert_eq!(stored, 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM password_links WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
    let listed: Vec<Value> = admin.get("/api/v1/users").await.json().await.unwrap();
    let row = listed.iter().find(|p| p["id"] == nora).unwrap();
    assert_eq!(row["status"], "invited");
    assert_eq!(row["pool"], "expert");
    assert_eq!(row["expertise"], json!(["radiology"]));

    // Nobody signs in as nora before the link is used.
    assert_eq!(
        app.browser().login("nora", "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let page = app.browser().page(&link).await;
    assert!(page.contains("nora"), "{page}");
    let (status, html) = set_password(&app, &link, "short", "short").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("at least 10 characters"), "{html}");
    let (status, html) = set_password(&app, &link, "a long password 1", "another one 22").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("differ"), "{html}");
    let (status, html) = set_password(&app, &link, "a long password 1", "a long password 1").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(select_text(&html, "#done").is_some(), "{html}");
    assert_eq!(
        app.browser()
            .login("nora", "a long password 1")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let hash = app
        .count(&format!(
            "SELECT count(*) FROM users WHERE id = {nora} AND password_hash LIKE '$argon2id$%'"
        ))
        .await;
    assert_eq!(hash, 1);

    // A second use is refused with a clear message.
    let (status, html) = set_password(&app, &link, "taken over 123", "taken over 123").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("used already"), "{html}");
    assert_eq!(
        app.browser().login("nora", "taken over 123").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let entry = only_entry(&app, "user.invited").await;
    assert_eq!(entry.actor_id, Some(id_of(&app, "admin").await));
    assert_eq!(
        entry.target.as_deref(),
        Some(format!("user:{nora}").as_str())
    );
    assert_eq!(entry.project_id, None);
    assert!(
        !entry.details.contains("nora"),
        "no name in the log: {}",
        entry.details
    );
}

async fn invitations_are_checked_and_links_expire(app: TestApp) {
    let admin = app.admin().await;
    let refused = |body: Value| {
        let admin = admin.clone();
        async move {
            let answer = invite(&admin, body).await;
            let status = answer.status();
            let body: Value = answer.json().await.unwrap();
            (
                status,
                body["field"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    assert_eq!(
        refused(json!({"name": "with space", "role": "rater"})).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "name".into())
    );
    assert_eq!(
        refused(json!({"name": "ok", "role": "boss"})).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "role".into())
    );
    assert_eq!(
        refused(json!({"name": "ok", "role": "rater", "pool": "gods"})).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "pool".into())
    );
    assert_eq!(
        refused(json!({"name": "ok", "role": "rater", "color": 1}))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        invite(&admin, json!({"name": "admin", "role": "rater"}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.rater("rae")
            .await
            .post_json(
                "/api/v1/users/invitations",
                &json!({"name": "x", "role": "rater"})
            )
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let made: Value = invite(&admin, json!({"name": "late", "role": "rater"}))
        .await
        .json()
        .await
        .unwrap();
    let link = made["link"].as_str().unwrap().to_string();
    crate::audit::execute(
        &app,
        "UPDATE password_links SET created_at = created_at - 800000000, expires_at = expires_at - 700000000",
    )
    .await
    .unwrap();
    let (status, html) = set_password(&app, &link, "a long password 1", "a long password 1").await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("expired"), "{html}");
    let (status, html) =
        set_password(&app, &format!("/invite/{}", "ab".repeat(32)), "x", "x").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("not valid"), "{html}");
    assert_eq!(
        app.browser().get("/invite/not-a-token").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'user.invited'")
            .await,
        1
    );
}

async fn a_reset_link_replaces_the_password_and_ends_sessions(app: TestApp) {
    let admin = app.admin().await;
    app.user_with_password("ola", Role::Rater, "old password 1")
        .await;
    let ola = id_of(&app, "ola").await;
    let signed_in = app.browser();
    assert_eq!(
        signed_in.login("ola", "old password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(signed_in.get("/").await.status(), StatusCode::OK);

    let made = admin
        .post_json(&format!("/api/v1/users/{ola}/password-reset"), &json!({}))
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let link = made.json::<Value>().await.unwrap()["link"]
        .as_str()
        .unwrap()
        .to_string();
    // A newer link replaces an older one.
    let newer = admin
        .post_json(&format!("/api/v1/users/{ola}/password-reset"), &json!({}))
        .await;
    let newer = newer.json::<Value>().await.unwrap()["link"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = set_password(&app, &link, "new password 22", "new password 22").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The old password works until the new one is set.
    assert_eq!(
        app.browser().login("ola", "old password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    let (status, html) = set_password(&app, &newer, "new password 22", "new password 22").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        app.browser().login("ola", "old password 1").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser().login("ola", "new password 22").await.status(),
        StatusCode::SEE_OTHER
    );
    // The session from before the reset has ended.
    let after = signed_in.get("/").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(after.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));

    assert_eq!(
        admin
            .post_json("/api/v1/users/999999/password-reset", &json!({}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'user.password_reset'")
            .await,
        2
    );
    let entries = crate::audit::entries(&app, "user.password_reset").await;
    assert!(entries
        .iter()
        .all(|e| e.target.as_deref() == Some(format!("user:{ola}").as_str())));
}

async fn a_deactivated_person_is_shut_out_and_can_return(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b"]).await;
    app.user_with_password("dan", Role::Rater, "dan password 1")
        .await;
    let dan = id_of(&app, "dan").await;
    let browser = app.browser();
    assert_eq!(
        browser.login("dan", "dan password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    let (token, hash) = tally::auth::new_api_token();
    app.store.insert_token(dan, &hash).await.unwrap();
    let api = Api {
        client: reqwest::Client::new(),
        base: app.url(""),
        token,
    };
    let held = api.next(pid).await.expect("an item");
    label_next(&api, pid, "pos", 900).await;

    let done = admin
        .post_json(&format!("/api/v1/users/{dan}/deactivate"), &json!({}))
        .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&format!("/api/v1/projects/{pid}/next"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(browser.get("/").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser().login("dan", "dan password 1").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM leases WHERE rater_id = {dan}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE rater_id = {dan}"
        ))
        .await,
        1,
        "labels stay"
    );
    let _ = held;
    assert_eq!(
        admin
            .post_json(&format!("/api/v1/users/{dan}/deactivate"), &json!({}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        admin
            .post_json(&format!("/api/v1/users/{dan}/password-reset"), &json!({}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let listed: Vec<Value> = admin.get("/api/v1/users").await.json().await.unwrap();
    assert_eq!(
        listed.iter().find(|p| p["id"] == dan).unwrap()["status"],
        "deactivated"
    );
    let raters = raters_of(&admin, pid).await;
    assert_eq!(
        raters.iter().find(|r| r["rater_id"] == dan).unwrap()["status"],
        "deactivated"
    );

    let entry = only_entry(&app, "user.deactivated").await;
    assert_eq!(
        entry.target.as_deref(),
        Some(format!("user:{dan}").as_str())
    );
    assert_eq!(entry.actor_id, Some(id_of(&app, "admin").await));

    let back = admin
        .post_json(&format!("/api/v1/users/{dan}/reactivate"), &json!({}))
        .await;
    assert_eq!(back.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.browser().login("dan", "dan password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        api.get("/api/v1/tokens").await.status(),
        StatusCode::UNAUTHORIZED,
        "tokens were revoked for good"
    );
    let entry = only_entry(&app, "user.reactivated").await;
    assert_eq!(
        entry.target.as_deref(),
        Some(format!("user:{dan}").as_str())
    );

    // An admin cannot shut themselves out.
    let me = id_of(&app, "admin").await;
    assert_eq!(
        admin
            .post_json(&format!("/api/v1/users/{me}/deactivate"), &json!({}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        admin
            .post_json(&format!("/api/v1/users/{me}/erasure"), &json!({}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'user.deactivated'")
            .await,
        1
    );
}

async fn pool_and_expertise_change_by_api_and_page(app: TestApp) {
    let admin = app.admin().await;
    app.rater("pia").await;
    let pia = id_of(&app, "pia").await;
    let changed = admin
        .patch_json(
            &format!("/api/v1/users/{pia}"),
            &json!({"pool": "expert", "expertise": ["law", "tax"]}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let body: Value = changed.json().await.unwrap();
    assert_eq!(body["pool"], "expert");
    assert_eq!(body["expertise"], json!(["law", "tax"]));
    let entry = only_entry(&app, "user.updated").await;
    assert_eq!(
        entry.target.as_deref(),
        Some(format!("user:{pia}").as_str())
    );
    let details: Value = serde_json::from_str(&entry.details).unwrap();
    assert_eq!(
        details,
        json!({"before": {"pool": "generalist", "expertise": []}, "after": {"pool": "expert", "expertise": ["law", "tax"]}})
    );

    let patch = |body: Value| {
        let admin = admin.clone();
        let path = format!("/api/v1/users/{pia}");
        async move {
            let answer = admin.patch_json(&path, &body).await;
            let status = answer.status();
            (status, answer.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = patch(json!({"pool": "wizards"})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pool"))
    );
    let (status, body) = patch(json!({"expertise": ["a,b"]})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("expertise"))
    );
    let (status, _) = patch(json!({"name": "renamed"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = admin
        .patch_json("/api/v1/users/999999", &json!({"pool": "expert"}))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // The page's form is audited the same way.
    let browser = app.signed_in_admin().await;
    let csrf = browser.csrf("/admin/users").await;
    let saved = browser
        .post_form(
            &format!("/admin/users/{pia}"),
            &[
                ("csrf", &csrf),
                ("pool", "generalist"),
                ("expertise", "law"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let entries = crate::audit::entries(&app, "user.updated").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].actor_id, Some(id_of(&app, "chief").await));
    let details: Value = serde_json::from_str(&entries[0].details).unwrap();
    assert_eq!(
        details["before"],
        json!({"pool": "expert", "expertise": ["law", "tax"]})
    );
    assert_eq!(
        details["after"],
        json!({"pool": "generalist", "expertise": ["law"]})
    );
}

async fn erasure_keeps_labels_under_the_pseudonym(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    app.user_with_password("eva", Role::Rater, "eva password 1")
        .await;
    let eva = app.store.user_by_name("eva").await.unwrap().unwrap();
    let (token, hash) = tally::auth::new_api_token();
    app.store.insert_token(eva.id, &hash).await.unwrap();
    let api = Api {
        client: reqwest::Client::new(),
        base: app.url(""),
        token,
    };
    label_next(&api, pid, "neg", 700).await;
    let browser = app.browser();
    assert_eq!(
        browser.login("eva", "eva password 1").await.status(),
        StatusCode::SEE_OTHER
    );

    let erased = admin
        .post_json(&format!("/api/v1/users/{}/erasure", eva.id), &json!({}))
        .await;
    assert_eq!(erased.status(), StatusCode::OK);
    let body: Value = erased.json().await.unwrap();
    assert_eq!(body["pseudonym"], eva.pseudonym);

    assert!(
        app.store.user_by_name("eva").await.unwrap().is_none(),
        "the name is gone"
    );
    let after = app.store.user_by_id(eva.id).await.unwrap().unwrap();
    assert_eq!(after.name, eva.pseudonym);
    for (what, sql) in [
        (
            "password",
            format!(
                "SELECT count(*) FROM users WHERE id = {} AND password_hash IS NOT NULL",
                eva.id
            ),
        ),
        (
            "tokens",
            format!("SELECT count(*) FROM api_tokens WHERE user_id = {}", eva.id),
        ),
        (
            "sessions",
            format!("SELECT count(*) FROM sessions WHERE user_id = {}", eva.id),
        ),
        (
            "links",
            format!(
                "SELECT count(*) FROM password_links WHERE user_id = {}",
                eva.id
            ),
        ),
    ] {
        assert_eq!(app.count(&sql).await, 0, "{what} removed");
    }
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE rater_id = {}",
            eva.id
        ))
        .await,
        1
    );
    let export = admin.export(pid).await;
    assert_eq!(export[0]["labels"][0]["rater"], eva.pseudonym);
    assert_eq!(
        api.get("/api/v1/tokens").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(browser.get("/").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser().login("eva", "eva password 1").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser()
            .login(&eva.pseudonym, "eva password 1")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Nothing brings the account back.
    assert_eq!(
        admin
            .post_json(&format!("/api/v1/users/{}/reactivate", eva.id), &json!({}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        admin
            .post_json(
                &format!("/api/v1/users/{}/password-reset", eva.id),
                &json!({})
            )
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        admin
            .post_json(&format!("/api/v1/users/{}/erasure", eva.id), &json!({}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let listed: Vec<Value> = admin.get("/api/v1/users").await.json().await.unwrap();
    let row = listed.iter().find(|p| p["id"] == eva.id).unwrap();
    assert_eq!(row["status"], "erased");
    assert_eq!(row["name"], eva.pseudonym);

    let entry = only_entry(&app, "user.erased").await;
    assert_eq!(
        entry.target.as_deref(),
        Some(format!("user:{}", eva.id).as_str())
    );
    assert_eq!(entry.actor_id, Some(id_of(&app, "admin").await));
    // The log reads the person by their pseudonym from now on.
    let log: Value = admin
        .get(&format!("/api/v1/audit?actor={}", eva.id))
        .await
        .json()
        .await
        .unwrap();
    assert!(!log.to_string().contains("\"eva\""), "{log}");
}

async fn pages_form(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let csrf = browser.csrf("/admin/users").await;
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    browser.post_form(path, &form).await
}

async fn people_pages_invite_reset_deactivate_and_erase(app: TestApp) {
    let browser = app.signed_in_admin().await;
    let chief = id_of(&app, "chief").await;
    let invited = pages_form(
        &browser,
        "/admin/users/invitations",
        &[
            ("name", "ivy"),
            ("role", "rater"),
            ("pool", "generalist"),
            ("expertise", ""),
        ],
    )
    .await;
    assert_eq!(invited.status(), StatusCode::OK);
    let html = invited.text().await.unwrap();
    let link = select_text(&html, "#new-link").expect("the link is shown once");
    assert!(
        link.starts_with("http://") && link.contains("/invite/"),
        "{link}"
    );
    assert!(select_text(&browser.page("/admin/users").await, "#new-link").is_none());
    let ivy = id_of(&app, "ivy").await;
    assert_eq!(only_entry(&app, "user.invited").await.actor_id, Some(chief));
    let row = select_text(&browser.page("/admin/users").await, &format!("#user-{ivy}")).unwrap();
    assert!(row.contains("invited"), "{row}");
    let (status, _) = set_password(&app, &link, "ivy password 1", "ivy password 1").await;
    assert_eq!(status, StatusCode::OK);

    let reset = pages_form(&browser, &format!("/admin/users/{ivy}/password-reset"), &[]).await;
    assert_eq!(reset.status(), StatusCode::OK);
    assert!(select_text(&reset.text().await.unwrap(), "#new-link").is_some());
    assert_eq!(
        only_entry(&app, "user.password_reset")
            .await
            .target
            .as_deref(),
        Some(format!("user:{ivy}").as_str())
    );

    let off = pages_form(&browser, &format!("/admin/users/{ivy}/deactivate"), &[]).await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    let flash = select_text(&browser.page("/admin/users").await, "#flash").unwrap();
    assert!(flash.contains("ivy is deactivated"), "{flash}");
    assert_eq!(
        app.browser().login("ivy", "ivy password 1").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        only_entry(&app, "user.deactivated").await.actor_id,
        Some(chief)
    );
    let on = pages_form(&browser, &format!("/admin/users/{ivy}/reactivate"), &[]).await;
    assert_eq!(on.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        only_entry(&app, "user.reactivated").await.actor_id,
        Some(chief)
    );

    // The erasure asks first, and wants the name typed.
    let ask = browser.page(&format!("/admin/users/{ivy}/erase")).await;
    assert!(ask.contains("cannot be undone"), "{ask}");
    let pseudonym = app.store.user_by_id(ivy).await.unwrap().unwrap().pseudonym;
    assert!(ask.contains(&pseudonym));
    let slip = pages_form(
        &browser,
        &format!("/admin/users/{ivy}/erase"),
        &[("confirm", "iv")],
    )
    .await;
    assert_eq!(slip.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'user.erased'")
            .await,
        0
    );
    let erased = pages_form(
        &browser,
        &format!("/admin/users/{ivy}/erase"),
        &[("confirm", "ivy")],
    )
    .await;
    assert_eq!(erased.status(), StatusCode::SEE_OTHER);
    let list = browser.page("/admin/users").await;
    let flash = select_text(&list, "#flash").unwrap();
    assert!(flash.contains(&format!("now {pseudonym}")), "{flash}");
    let row = select_text(&list, &format!("#user-{ivy}")).unwrap();
    assert!(row.contains("erased") && !row.contains("ivy"), "{row}");
    assert_eq!(only_entry(&app, "user.erased").await.actor_id, Some(chief));

    // Nobody erases or deactivates themselves from the page either.
    assert_eq!(
        pages_form(&browser, &format!("/admin/users/{chief}/deactivate"), &[])
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        pages_form(
            &browser,
            &format!("/admin/users/{chief}/erase"),
            &[("confirm", "chief")]
        )
        .await
        .status(),
        StatusCode::CONFLICT
    );
    let own_row = select_text(&list, &format!("#user-{chief}")).unwrap();
    assert!(
        !own_row.contains("Deactivate") && !own_row.contains("Erase"),
        "{own_row}"
    );
}
