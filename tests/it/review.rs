//! Review and adjudication: which items reach the review queue and why, who may review, and
//! a final label that wins in the export and the report, with its audit entry.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::user::Role;

use crate::harness::{csrf_in, select_text, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_queue_holds_ties_low_agreement_reports_and_contradicting_feedback,
    a_final_label_wins_in_the_export_and_the_report,
    who_may_review_and_what_is_refused,
    the_review_pages_set_final_labels_without_javascript,
    the_project_page_names_reviewers_and_sets_thresholds,
);

/// Items e1..e5 labelled by three raters: e1 unanimous, e2 two to one, e3 three ways, e4
/// unanimous but contradicted by process feedback, e5 reported by one rater. Returns the
/// admin, the project and the item ids by external id.
async fn reviewed_project(app: &TestApp) -> (Api, i64, HashMap<String, i64>) {
    let admin = app.admin().await;
    let body = json!({"name": "R", "labels": ["pos", "neg", "mixed"], "overlap": 3});
    let items: Vec<Value> = (1..=5)
        .map(|n| json!({"external_id": format!("e{n}"), "data": {"text": format!("item {n}")}}))
        .collect();
    let pid = app.project_from(&admin, body, json!(items)).await;
    let settings = admin
        .put_json(
            &format!("/api/v1/projects/{pid}/review-settings"),
            &json!({"review_below": 0.7, "spot_check_rate": 0.0}),
        )
        .await;
    assert_eq!(settings.status(), StatusCode::OK);
    let votes = [
        ("alice", ["pos", "pos", "pos", "pos", "pos"]),
        ("bob", ["pos", "pos", "neg", "pos", "pos"]),
        ("carol", ["pos", "neg", "mixed", "pos", "report"]),
    ];
    for (name, values) in votes {
        let rater = app.rater(name).await;
        for value in values {
            let iid = rater.next(pid).await.expect("an item");
            let answer = if value == "report" {
                rater
                    .post_json(
                        &format!("/api/v1/projects/{pid}/items/{iid}/report"),
                        &json!({"reason": "ambiguous"}),
                    )
                    .await
            } else {
                rater.label(pid, iid, value).await
            };
            assert!(answer.status().is_success(), "{:?}", answer.text().await);
        }
    }
    let ids: HashMap<String, i64> = admin
        .export(pid)
        .await
        .iter()
        .map(|row| {
            (
                row["external_id"].as_str().unwrap().to_string(),
                row["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let key: Value = admin
        .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let feedback = Api {
        client: admin.client.clone(),
        base: admin.base.clone(),
        token: key["key"].as_str().unwrap().to_string(),
    };
    let sent = feedback
        .post_json(
            &format!("/api/v1/projects/{pid}/feedback"),
            &json!({"event_id": "f1", "external_id": "e4", "value": "neg", "source": "app"}),
        )
        .await;
    assert!(sent.status().is_success(), "{:?}", sent.text().await);
    (admin, pid, ids)
}

/// The queue as `external id → reasons`.
async fn queue(api: &Api, pid: i64, query: &str) -> HashMap<String, Vec<String>> {
    let response = api
        .get(&format!("/api/v1/projects/{pid}/review{query}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let reasons = e["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            (e["external_id"].as_str().unwrap().to_string(), reasons)
        })
        .collect()
}

async fn the_queue_holds_ties_low_agreement_reports_and_contradicting_feedback(app: TestApp) {
    let (admin, pid, _) = reviewed_project(&app).await;
    let all = queue(&admin, pid, "").await;
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(!all.contains_key("e1"), "a unanimous item is settled");
    assert_eq!(all["e2"], ["low_agreement"]);
    assert_eq!(all["e3"], ["tie"]);
    assert_eq!(all["e4"], ["feedback"]);
    assert!(all["e5"].contains(&"reported".to_string()), "{all:?}");
    let ties = queue(&admin, pid, "?reason=tie").await;
    assert_eq!(ties.keys().collect::<Vec<_>>(), ["e3"]);

    // One item per page, walked with the cursor.
    let mut seen = Vec::new();
    let mut query = "?limit=1".to_string();
    loop {
        let page: Value = admin
            .get(&format!("/api/v1/projects/{pid}/review{query}"))
            .await
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["external_id"].as_str().unwrap().to_string());
        }
        match page["next_after"].as_i64() {
            Some(after) => query = format!("?limit=1&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, ["e2", "e3", "e4", "e5"]);

    // A lenient threshold lets the two-to-one item through; a full spot check takes e1.
    let settings = admin
        .put_json(
            &format!("/api/v1/projects/{pid}/review-settings"),
            &json!({"review_below": 0.5, "spot_check_rate": 1.0}),
        )
        .await;
    assert_eq!(settings.status(), StatusCode::OK);
    let relaxed = queue(&admin, pid, "").await;
    assert_eq!(relaxed["e1"], ["spot_check"]);
    assert_eq!(relaxed["e2"], ["spot_check"]);

    for (query, field) in [
        ("?reason=whim", "reason"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
    ] {
        let refused = admin
            .get(&format!("/api/v1/projects/{pid}/review{query}"))
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["field"], field, "{query}");
    }
    let bad_settings = admin
        .put_json(
            &format!("/api/v1/projects/{pid}/review-settings"),
            &json!({"review_below": 1.5, "spot_check_rate": 0.1}),
        )
        .await;
    assert_eq!(bad_settings.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = bad_settings.json().await.unwrap();
    assert_eq!(body["field"], "review_below");
}

async fn adjudicate(api: &Api, pid: i64, iid: i64, value: &str, reason: &str) -> reqwest::Response {
    api.post_json(
        &format!("/api/v1/projects/{pid}/items/{iid}/adjudication"),
        &json!({"value": value, "reason": reason}),
    )
    .await
}

async fn a_final_label_wins_in_the_export_and_the_report(app: TestApp) {
    let (admin, pid, ids) = reviewed_project(&app).await;
    let reviewer = app.user_with_token("rita", Role::Reviewer).await;
    let rita = app.store.user_by_name("rita").await.unwrap().unwrap();

    let tie = adjudicate(
        &reviewer,
        pid,
        ids["e3"],
        "mixed",
        "guideline 2: both sides count",
    )
    .await;
    assert_eq!(tie.status(), StatusCode::CREATED);
    let tie: Value = tie.json().await.unwrap();
    assert_eq!(tie["value"], "mixed");
    assert_eq!(tie["reviewer"], rita.pseudonym.as_str());
    assert_eq!(tie["majority"], Value::Null);
    assert_eq!(tie["overturned"], false);

    let overturn = adjudicate(&reviewer, pid, ids["e2"], "neg", "sarcasm is negative").await;
    assert_eq!(overturn.status(), StatusCode::CREATED);
    let overturn: Value = overturn.json().await.unwrap();
    assert_eq!(overturn["majority"], "pos");
    assert_eq!(overturn["overturned"], true);

    // The export: the final label is the consensus, marked with who and why.
    let rows = admin.export(pid).await;
    let row = |ext: &str| {
        rows.iter()
            .find(|r| r["external_id"] == ext)
            .unwrap()
            .clone()
    };
    let e2 = row("e2");
    assert_eq!(e2["consensus"], "neg");
    assert_eq!(e2["consensus_source"], "adjudicated");
    assert_eq!(e2["majority"], "pos");
    assert_eq!(e2["adjudicated_by"], rita.pseudonym.as_str());
    assert_eq!(e2["adjudication_reason"], "sarcasm is negative");
    assert_eq!(row("e3")["consensus"], "mixed");
    assert_eq!(row("e1")["consensus_source"], "majority");
    assert_eq!(row("e1")["adjudicated_by"], Value::Null);
    let csv = admin
        .get(&format!("/api/v1/projects/{pid}/export?format=csv"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.lines().next().unwrap().contains("adjudication_reason"));
    assert!(csv.contains("sarcasm is negative"));

    // The report: consensus rows carry the final label, and the raters who said otherwise
    // show it in their figures.
    let report: Value = admin.report(pid, "").await;
    let consensus = report["consensus"].as_array().unwrap();
    let e2 = consensus.iter().find(|c| c["item"] == "e2").unwrap();
    assert_eq!(e2["label"], "neg");
    assert_eq!(e2["adjudicated"]["by"], rita.pseudonym.as_str());
    assert_eq!(e2["adjudicated"]["reason"], "sarcasm is negative");
    let e3 = consensus.iter().find(|c| c["item"] == "e3").unwrap();
    assert_eq!(e3["label"], "mixed");
    assert!(e3.get("tie").is_none());
    assert_eq!(report["adjudication"]["items"], 2);
    assert_eq!(report["adjudication"]["overturned"], 1);
    assert_eq!(report["adjudication"]["ties_settled"], 1);
    let pseudonym = |name: &str| {
        let store = app.store.clone();
        let name = name.to_string();
        async move { store.user_by_name(&name).await.unwrap().unwrap().pseudonym }
    };
    let raters = report["adjudication"]["raters"].as_array().unwrap();
    let figure = |p: &str| raters.iter().find(|r| r["rater"] == p).unwrap().clone();
    let alice = figure(&pseudonym("alice").await);
    assert_eq!(
        (alice["compared"].as_i64(), alice["agreed"].as_i64()),
        (Some(2), Some(0))
    );
    let carol = figure(&pseudonym("carol").await);
    assert_eq!(
        (carol["compared"].as_i64(), carol["agreed"].as_i64()),
        (Some(2), Some(2))
    );

    // Settled items leave the queue and want no more labels.
    let left = queue(&admin, pid, "").await;
    assert!(
        !left.contains_key("e2") && !left.contains_key("e3"),
        "{left:?}"
    );
    let newcomer = app.rater("dave").await;
    let offered = newcomer.next(pid).await;
    assert!(
        offered != Some(ids["e2"]) && offered != Some(ids["e3"]),
        "{offered:?}"
    );

    // Setting it again replaces it; the audit log holds one entry per adjudication.
    let again = adjudicate(&reviewer, pid, ids["e2"], "mixed", "on second reading").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let stored: Value = reviewer
        .get(&format!(
            "/api/v1/projects/{pid}/items/{}/adjudication",
            ids["e2"]
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["value"], "mixed");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'label.adjudicated' AND project_id = {pid} AND actor_id = {}",
            rita.id
        ))
        .await,
        3
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'label.adjudicated' AND target = 'item:{}' AND details LIKE '%on second reading%' AND details LIKE '%\"before\":\"neg\"%'",
            ids["e2"]
        ))
        .await,
        1
    );
}

async fn who_may_review_and_what_is_refused(app: TestApp) {
    let (admin, pid, ids) = reviewed_project(&app).await;
    let rita = app.user_with_token("rita", Role::Reviewer).await;
    let outsider = app.rater("olga").await;
    let bob = app.store.user_by_name("bob").await.unwrap().unwrap();
    let bob_api = {
        let (token, hash) = tally::auth::new_api_token();
        app.store.insert_token(bob.id, &hash).await.unwrap();
        Api {
            client: admin.client.clone(),
            base: admin.base.clone(),
            token,
        }
    };
    let review = format!("/api/v1/projects/{pid}/review");

    // A reviewer reviews but neither labels nor runs projects.
    assert_eq!(rita.get(&review).await.status(), StatusCode::OK);
    assert_eq!(
        rita.get(&format!("/api/v1/projects/{pid}/next"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        rita.get(&format!("/api/v1/projects/{pid}/reviewers"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // A rater reviews only where named.
    assert_eq!(outsider.get(&review).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(bob_api.get(&review).await.status(), StatusCode::FORBIDDEN);
    let named = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/reviewers"),
            &json!({"name": "bob"}),
        )
        .await;
    assert_eq!(named.status(), StatusCode::NO_CONTENT);
    let listed: Value = admin
        .get(&format!("/api/v1/projects/{pid}/reviewers"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["name"], "bob");
    // Bob labelled every item but e5's report came from carol: his queue leaves out what
    // he labelled, and he may not settle it.
    let bobs = queue(&bob_api, pid, "").await;
    assert!(bobs.is_empty(), "bob labelled every queued item: {bobs:?}");
    let own = adjudicate(&bob_api, pid, ids["e3"], "neg", "mine").await;
    assert_eq!(own.status(), StatusCode::CONFLICT);
    assert!(own.text().await.unwrap().contains("another reviewer"));
    // Admins and reviewers cannot be named: they review everything already.
    let refused = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/reviewers"),
            &json!({"name": "rita"}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let removed = admin
        .delete(&format!("/api/v1/projects/{pid}/reviewers/{}", bob.id))
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(bob_api.get(&review).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_log WHERE project_id = {pid} AND target = 'user:{}' AND action IN ('reviewer.added', 'reviewer.removed')",
            bob.id
        ))
        .await,
        2
    );

    // Bad input: each refusal names its field and stores nothing.
    let e3 = ids["e3"];
    for (body, field) in [
        (json!({"value": "mixed", "reason": "  "}), "reason"),
        (json!({"value": "maybe", "reason": "r"}), "value"),
        (json!({"value": "mixed"}), "body"),
    ] {
        let answer = rita
            .post_json(
                &format!("/api/v1/projects/{pid}/items/{e3}/adjudication"),
                &body,
            )
            .await;
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = answer.json().await.unwrap();
        if field != "body" {
            assert_eq!(error["field"], field, "{body}");
        }
    }
    assert_eq!(
        adjudicate(&rita, pid, 999_999, "pos", "r").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.count("SELECT count(*) FROM adjudications").await,
        0,
        "nothing was stored"
    );
}

async fn the_review_pages_set_final_labels_without_javascript(app: TestApp) {
    let (admin, pid, ids) = reviewed_project(&app).await;
    app.user_with_password("rita", Role::Reviewer, "review password 1")
        .await;
    let browser = app.browser();
    assert_eq!(
        browser.login("rita", "review password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    let home = browser.page("/").await;
    assert!(home.contains(&format!("/review/projects/{pid}")), "{home}");
    let queue_page = browser
        .page(&format!("/review/projects/{pid}?reason=tie"))
        .await;
    let first = crate::harness::attr_of(&queue_page, "#continue", "href").unwrap();
    assert_eq!(
        first,
        format!("/review/projects/{pid}/items/{}?reason=tie", ids["e3"])
    );
    let item = browser.page(&first).await;
    let alice = app.store.user_by_name("alice").await.unwrap().unwrap();
    assert!(
        item.contains(&alice.pseudonym),
        "labels show under pseudonyms"
    );
    assert!(!item.contains("alice"), "never under names");
    assert!(select_text(&item, "#majority")
        .unwrap()
        .contains("a tie between"));
    let csrf = csrf_in(&item);
    let action = format!("/review/projects/{pid}/items/{}", ids["e3"]);

    // No reason: refused with the reason why, nothing stored, back to the item.
    let refused = browser
        .post_form(
            &action,
            &[
                ("csrf", &csrf),
                ("value", "mixed"),
                ("reason", ""),
                ("queue_reason", "tie"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    assert_eq!(refused.headers()["location"], first.as_str());
    let again = browser.page(&first).await;
    assert!(select_text(&again, "#flash").unwrap().contains("reason"));
    assert_eq!(app.count("SELECT count(*) FROM adjudications").await, 0);

    // With a reason: stored, and on to the queue (no other tie is left).
    let saved = browser
        .post_form(
            &action,
            &[
                ("csrf", &csrf),
                ("value", "mixed"),
                ("reason", "see guideline 2"),
                ("queue_reason", "tie"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        saved.headers()["location"],
        format!("/review/projects/{pid}")
    );
    let after = browser.page(&format!("/review/projects/{pid}")).await;
    assert!(select_text(&after, "#flash").unwrap().contains("mixed"));
    assert!(!after.contains(&format!("/items/{}", ids["e3"])));
    // Without a filter, saving one item opens the next in the queue.
    let next = browser
        .post_form(
            &format!("/review/projects/{pid}/items/{}", ids["e2"]),
            &[("csrf", &csrf), ("value", "neg"), ("reason", "sarcasm")],
        )
        .await;
    assert_eq!(
        next.headers()["location"],
        format!("/review/projects/{pid}/items/{}", ids["e4"])
    );
    let rows = admin.export(pid).await;
    let e3 = rows.iter().find(|r| r["external_id"] == "e3").unwrap();
    assert_eq!(e3["consensus"], "mixed");
    assert_eq!(e3["adjudication_reason"], "see guideline 2");
    // Without the CSRF token nothing happens.
    let forged = browser
        .post_form(&action, &[("value", "pos"), ("reason", "forged")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

async fn the_project_page_names_reviewers_and_sets_thresholds(app: TestApp) {
    let (_admin, pid, _) = reviewed_project(&app).await;
    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    assert!(page.contains("id=\"review\""));
    let csrf = csrf_in(&page);
    let added = browser
        .post_form(
            &format!("/admin/projects/{pid}/reviewers"),
            &[("csrf", &csrf), ("name", "carol")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let unknown = browser
        .post_form(
            &format!("/admin/projects/{pid}/reviewers"),
            &[("csrf", &csrf), ("name", "nobody")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::SEE_OTHER);
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    assert!(select_text(&page, "#reviewer-list")
        .unwrap()
        .contains("carol"));
    assert!(select_text(&page, "#flash")
        .unwrap()
        .contains("no such person"));
    let set = browser
        .post_form(
            &format!("/admin/projects/{pid}/review-settings"),
            &[
                ("csrf", &csrf),
                ("review_below", "0.8"),
                ("spot_check_rate", "0.1"),
            ],
        )
        .await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    let bad = browser
        .post_form(
            &format!("/admin/projects/{pid}/review-settings"),
            &[
                ("csrf", &csrf),
                ("review_below", "lots"),
                ("spot_check_rate", "0.1"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::SEE_OTHER);
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    assert!(select_text(&page, "#flash")
        .unwrap()
        .contains("review_below"));
    assert_eq!(
        app.store.review_settings(pid).await.unwrap(),
        tally::domain::review::ReviewSettings {
            review_below: 0.8,
            spot_check_rate: 0.1
        }
    );
    let entries = app
        .count(&format!(
            "SELECT count(*) FROM audit_log WHERE project_id = {pid} AND action = 'project.updated' AND details LIKE '%review_below%'"
        ))
        .await;
    // The set-up's change through the API and the form's: the refused one wrote nothing.
    assert_eq!(entries, 2);
}
