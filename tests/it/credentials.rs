//! Revoking and rotating what lets clients in: API tokens, feedback keys, link secrets.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::links::sign;
use tally::domain::now_ms;
use tally::domain::user::Role;

use crate::harness::{attr_of, csrf_in, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    api_tokens_are_listed_issued_and_revoked,
    feedback_keys_are_revoked_at_once,
    link_secrets_and_open_links_rotate,
    admin_pages_revoke_and_rotate,
);

fn with_token(api: &Api, token: &str) -> Api {
    Api {
        client: api.client.clone(),
        base: api.base.clone(),
        token: token.to_string(),
    }
}

async fn api_tokens_are_listed_issued_and_revoked(app: TestApp) {
    let rater = app.rater("tok").await;
    let issued = rater.post_json("/api/v1/tokens", &json!({})).await;
    assert_eq!(issued.status(), StatusCode::CREATED);
    let issued: Value = issued.json().await.unwrap();
    let second = with_token(&rater, issued["token"].as_str().unwrap());
    let listed: Value = second.get("/api/v1/tokens").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed
            .to_string()
            .contains(issued["token"].as_str().unwrap()),
        "a token is shown only when made"
    );
    let id = issued["id"].as_i64().unwrap();
    let revoke = rater
        .client
        .delete(format!("{}/api/v1/tokens/{id}", rater.base))
        .bearer_auth(&rater.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        second.get("/api/v1/tokens").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Admins revoke anyone's; raters cannot reach other people's tokens.
    let admin = app.admin().await;
    let rater_id = app.count("SELECT id FROM users WHERE name = 'tok'").await;
    let others = rater.get(&format!("/api/v1/users/{rater_id}/tokens")).await;
    assert_eq!(others.status(), StatusCode::FORBIDDEN);
    let theirs: Value = admin
        .get(&format!("/api/v1/users/{rater_id}/tokens"))
        .await
        .json()
        .await
        .unwrap();
    let tid = theirs[0]["id"].as_i64().unwrap();
    let revoked = admin
        .client
        .delete(format!(
            "{}/api/v1/users/{rater_id}/tokens/{tid}",
            admin.base
        ))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        rater.get("/api/v1/tokens").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn feedback_keys_are_revoked_at_once(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    let made: Value = admin
        .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let key = with_token(&admin, made["key"].as_str().unwrap());
    let event = json!({"event_id": "e1", "external_id": "x1", "value": "pos", "source": "app"});
    let path = format!("/api/v1/projects/{pid}/feedback");
    assert_eq!(
        key.post_json(&path, &event).await.status(),
        StatusCode::CREATED
    );
    let keys: Value = admin
        .get(&format!("/api/v1/projects/{pid}/feedback-keys"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(keys[0]["id"], made["id"]);
    let kid = made["id"].as_i64().unwrap();
    let revoked = admin
        .client
        .delete(format!(
            "{}/api/v1/projects/{pid}/feedback-keys/{kid}",
            admin.base
        ))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        key.post_json(&path, &event).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn link_secrets_and_open_links_rotate(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "links", "labels": ["a", "b"], "pools": {"generalist": 0, "user": 1}, "open_link": true}),
            json!([{"data": {"text": "x"}}]),
        )
        .await;
    let before: Value = admin
        .get(&format!("/api/v1/projects/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    let old_secret = before["link_secret"].as_str().unwrap().to_string();
    let old_open = before["open_link_url"].as_str().unwrap().to_string();
    let rotated: Value = admin
        .post_json(&format!("/api/v1/projects/{pid}/link-secret"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let new_secret = rotated["link_secret"].as_str().unwrap();
    assert_ne!(new_secret, old_secret);
    let exp = now_ms() / 1000 + 600;
    let old_link = format!(
        "/u/{pid}?uid=u&exp={exp}&sig={}",
        sign(&old_secret, "u", exp)
    );
    assert_eq!(
        app.browser().get(&old_link).await.status(),
        StatusCode::FORBIDDEN
    );
    let new_link = format!(
        "/u/{pid}?uid=u&exp={exp}&sig={}",
        sign(new_secret, "u", exp)
    );
    assert_eq!(
        app.browser().get(&new_link).await.status(),
        StatusCode::SEE_OTHER
    );
    let reopened: Value = admin
        .post_json(&format!("/api/v1/projects/{pid}/open-link"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let new_open = reopened["open_link_url"].as_str().unwrap();
    assert_ne!(new_open, old_open);
    assert_eq!(
        app.browser().get(&old_open).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.browser().get(new_open).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn admin_pages_revoke_and_rotate(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 1, &["a"]).await;
    app.user_with_password("chief", Role::Admin, "chief password 1")
        .await;
    let browser = app.browser();
    browser.login("chief", "chief password 1").await;
    let page_path = format!("/admin/projects/{pid}");
    let csrf = browser.csrf(&page_path).await;
    let made = browser
        .post_form(&format!("{page_path}/feedback-keys"), &[("csrf", &csrf)])
        .await
        .text()
        .await
        .unwrap();
    assert!(crate::harness::select_text(&made, "#new-key").is_some());
    let page = browser.get(&page_path).await.text().await.unwrap();
    let revoke = attr_of(&page, "#feedback-keys form", "action").unwrap();
    let done = browser
        .post_form(&revoke, &[("csrf", &csrf_in(&page))])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM feedback_keys").await, 0);
    let secret_before = crate::harness::select_text(&page, "#link-secret").unwrap();
    browser
        .post_form(&format!("{page_path}/link-secret"), &[("csrf", &csrf)])
        .await;
    let after = browser.get(&page_path).await.text().await.unwrap();
    assert_ne!(
        crate::harness::select_text(&after, "#link-secret").unwrap(),
        secret_before
    );
    let people = browser.get("/admin/users").await.text().await.unwrap();
    let issue = attr_of(&people, "form[action$='/tokens']", "action").unwrap();
    let shown = browser
        .post_form(&issue, &[("csrf", &csrf_in(&people))])
        .await
        .text()
        .await
        .unwrap();
    let token = crate::harness::select_text(&shown, "#new-token").unwrap();
    let by_page = with_token(&admin, &token);
    assert_ne!(
        by_page.get("/api/v1/tokens").await.status(),
        StatusCode::UNAUTHORIZED
    );
}
