//! Cost, pace and ETA: hourly rates per pool (API and form, audited), spend and medians
//! from labels with known times, the finish from a planted pace, and who may see them.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::now_ms;
use tally::domain::policy::Pool;
use tally::store::audit::AuditFilter;
use tally::web::routes::{route_list, Access};
use tally::Store;

use crate::harness::{csrf_in, select_text, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    known_times_and_rates_give_the_exact_spend_and_medians,
    the_finish_comes_from_the_trailing_pace,
    dynamic_overlap_and_escalation_savings_are_priced,
    rates_are_checked_and_every_change_is_audited,
    the_rates_form_needs_its_token_and_names_the_pool,
    only_admins_see_cost_pace_and_health,
);

const HOUR: i64 = 3_600_000;

/// Runs one statement on either backend (to plant label times).
pub async fn exec(app: &TestApp, sql: &str) {
    match &app.store {
        Store::Sqlite(b) => sqlx::query(sql).execute(&b.pool).await.map(|_| ()),
        Store::Postgres(b) => sqlx::query(sql).execute(&b.pool).await.map(|_| ()),
    }
    .expect(sql);
}

/// Takes the next item and labels it, with a recorded time or without one.
async fn label_next(rater: &Api, pid: i64, value: &str, duration_ms: Option<i64>) -> i64 {
    let iid = rater.next(pid).await.expect("an item to label");
    let mut body = json!({"value": value});
    if let Some(ms) = duration_ms {
        body["duration_ms"] = json!(ms);
    }
    let labelled = rater
        .post_json(&format!("/api/v1/projects/{pid}/items/{iid}/labels"), &body)
        .await;
    assert_eq!(
        labelled.status(),
        StatusCode::CREATED,
        "{:?}",
        labelled.text().await
    );
    iid
}

async fn put_rates(admin: &Api, pid: i64, body: Value) -> reqwest::Response {
    admin
        .client
        .put(format!("{}/api/v1/projects/{pid}/rates", admin.base))
        .bearer_auth(&admin.token)
        .json(&body)
        .send()
        .await
        .expect("request")
}

async fn pace(admin: &Api, pid: i64) -> Value {
    let response = admin.get(&format!("/api/v1/projects/{pid}/pace")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

fn close(value: &Value, expected: f64) {
    let got = value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is not a number"));
    assert!((got - expected).abs() < 1e-9, "{got} is not {expected}");
}

fn texts(n: usize) -> Vec<Value> {
    crate::harness::numbered_items("x", n)
}

async fn known_times_and_rates_give_the_exact_spend_and_medians(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Costs", "labels": ["pos", "neg"], "pools": {"generalist": 2, "expert": 1}}),
            json!(texts(3)),
        )
        .await;
    let g1 = app.pool_rater("g1", Pool::Generalist, &[]).await;
    let g2 = app.pool_rater("g2", Pool::Generalist, &[]).await;
    let e1 = app.pool_rater("e1", Pool::Expert, &[]).await;
    // Generalists: 60, 120, 180 and 240 s recorded (median 150 s), one label untimed.
    for ms in [60_000, 120_000, 180_000] {
        label_next(&g1, pid, "pos", Some(ms)).await;
    }
    label_next(&g2, pid, "pos", Some(240_000)).await;
    label_next(&g2, pid, "neg", None).await;
    // An expert: 30 minutes.
    label_next(&e1, pid, "pos", Some(1_800_000)).await;

    let set = put_rates(
        &admin,
        pid,
        json!({"generalist": 30, "expert": 90, "currency": "EUR"}),
    )
    .await;
    assert_eq!(set.status(), StatusCode::OK);
    let body = pace(&admin, pid).await;
    assert_eq!(body["currency"], "EUR");
    let g = &body["pools"][0];
    assert_eq!(g["pool"], "generalist");
    assert_eq!(
        (g["labels"].as_i64(), g["timed_labels"].as_i64()),
        (Some(5), Some(4))
    );
    close(&g["median_seconds"], 150.0);
    // 600 s recorded + 150 s for the untimed label = 750 s at 30/h = 6.25.
    close(&g["hours"], 750.0 / 3600.0);
    close(&g["spend"], 6.25);
    // One generalist label still wanted: 150 s at 30/h = 1.25.
    assert_eq!(g["still_wanted"], 1);
    close(&g["projected_spend"], 1.25);
    let e = &body["pools"][1];
    close(&e["median_seconds"], 1800.0);
    close(&e["spend"], 45.0);
    assert_eq!(e["still_wanted"], 2);
    close(&e["projected_spend"], 90.0);
    close(&body["spend"], 51.25);
    close(&body["projected_spend"], 91.25);
    assert_eq!(body["still_wanted"], 3);
    assert_eq!(
        body["savings"]["labels_saved"], 0,
        "a fixed policy saves nothing"
    );

    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    assert_eq!(
        select_text(&page, "#pace-spend").as_deref(),
        Some("51.25 EUR")
    );
    assert_eq!(
        select_text(&page, "#pace-projected").as_deref(),
        Some("91.25 EUR")
    );
    let row = select_text(&page, "#pace-generalist").expect("generalist row");
    assert!(
        row.contains("2 min 30 s") && row.contains("6.25 EUR"),
        "{row}"
    );
    assert!(
        page.contains("count at their pool's median time"),
        "the page says how time is counted"
    );
}

async fn the_finish_comes_from_the_trailing_pace(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Pace", "labels": ["pos", "neg"], "overlap": 1}),
            json!(texts(20)),
        )
        .await;
    let rater = app.rater("steady").await;
    let mut labelled = Vec::new();
    for _ in 0..8 {
        labelled.push(label_next(&rater, pid, "pos", Some(1_000)).await);
    }
    // Two labels three days ago, one half an hour ago and five more within the day: six in
    // the last 24 hours is 0.25 an hour, and 12 labels still wanted take 48 hours.
    let now = now_ms();
    for (k, iid) in labelled.iter().enumerate() {
        let at = match k {
            0 | 1 => now - 72 * HOUR,
            2 => now - HOUR / 2,
            k => now - (k as i64) * HOUR,
        };
        exec(
            &app,
            &format!("UPDATE labels SET created_at = {at} WHERE item_id = {iid}"),
        )
        .await;
    }
    let body = pace(&admin, pid).await;
    assert_eq!(body["labels_last_hour"], 1);
    close(&body["trailing_hours"], 24.0);
    close(&body["labels_per_hour"], 0.25);
    assert_eq!(body["still_wanted"], 12);
    assert_eq!(body["eta"]["state"], "projected");
    close(&body["eta"]["hours"], 48.0);
    let finish = body["eta"]["finish_at"].as_i64().expect("finish time");
    assert!((finish - (now + 48 * HOUR)).abs() < 60_000, "{finish}");
    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    assert!(select_text(&page, "#pace-eta")
        .unwrap()
        .contains("About 2 d at this pace"));

    // Nothing in the last day: no pace, said plainly.
    exec(
        &app,
        &format!(
            "UPDATE labels SET created_at = {} WHERE project_id = {pid}",
            now - 72 * HOUR
        ),
    )
    .await;
    let idle = pace(&admin, pid).await;
    assert_eq!(idle["eta"]["state"], "no_recent_labels");
    assert!(idle["eta"]["hours"].is_null());
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    let eta = select_text(&page, "#pace-eta").unwrap();
    assert!(
        eta.contains("No labels came in over the last 24 h"),
        "{eta}"
    );
}

async fn dynamic_overlap_and_escalation_savings_are_priced(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Adaptive", "labels": ["pos", "neg"], "min_overlap": 2, "max_overlap": 3,
                   "escalate_below": 0.7, "expert_overlap": 1}),
            json!(texts(2)),
        )
        .await;
    let g1 = app.pool_rater("g1", Pool::Generalist, &[]).await;
    let g2 = app.pool_rater("g2", Pool::Generalist, &[]).await;
    let g3 = app.pool_rater("g3", Pool::Generalist, &[]).await;
    let e1 = app.pool_rater("e1", Pool::Expert, &[]).await;
    // The first item: two generalists agree and it is settled at two labels. The second:
    // they split, a third is asked, two of three (under 0.7) send it to an expert.
    label_next(&g1, pid, "pos", Some(60_000)).await;
    label_next(&g2, pid, "pos", Some(60_000)).await;
    label_next(&g1, pid, "pos", Some(60_000)).await;
    label_next(&g2, pid, "neg", Some(60_000)).await;
    label_next(&g3, pid, "pos", Some(60_000)).await;
    label_next(&e1, pid, "pos", Some(600_000)).await;
    let set = put_rates(
        &admin,
        pid,
        json!({"generalist": 60, "expert": 120, "currency": "EUR"}),
    )
    .await;
    assert_eq!(set.status(), StatusCode::OK);

    let body = pace(&admin, pid).await;
    let savings = &body["savings"];
    assert_eq!(savings["adaptive"], true);
    // A fixed plan: 3 generalists and 1 expert on both items (8); wanted: 5 and 1.
    let g = &savings["pools"][0];
    assert_eq!(
        (
            g["per_item"].as_i64(),
            g["fixed_plan"].as_i64(),
            g["wanted"].as_i64(),
            g["saved"].as_i64()
        ),
        (Some(3), Some(6), Some(5), Some(1))
    );
    let e = &savings["pools"][1];
    assert_eq!(
        (
            e["per_item"].as_i64(),
            e["fixed_plan"].as_i64(),
            e["wanted"].as_i64(),
            e["saved"].as_i64()
        ),
        (Some(1), Some(2), Some(1), Some(1))
    );
    assert_eq!(savings["labels_saved"], 2);
    // A generalist minute at 60/h and ten expert minutes at 120/h.
    close(&savings["money_saved"], 21.0);
    assert_eq!(body["still_wanted"], 0);
    assert_eq!(body["eta"]["state"], "done");

    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    let note = select_text(&page, "#pace-savings-note").unwrap();
    assert!(
        note.contains("2 fewer labels") && note.contains("21.00 EUR"),
        "{note}"
    );
    assert!(select_text(&page, "#pace-eta")
        .unwrap()
        .contains("Nothing is left to label"));
}

async fn rates_are_checked_and_every_change_is_audited(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Rates", "labels": ["a", "b"]}),
            json!(texts(1)),
        )
        .await;
    let fresh: Value = admin
        .get(&format!("/api/v1/projects/{pid}/rates"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        fresh,
        json!({"currency": "USD", "generalist": 0.0, "expert": 0.0, "user": 0.0})
    );
    for (body, field) in [
        (json!({"expert": -1}), "expert"),
        (json!({"generalist": "ten"}), "generalist"),
        (json!({"user": 5e6}), "user"),
        (json!({"robots": 3}), "robots"),
        (json!({"currency": "dollars"}), "currency"),
    ] {
        let refused = put_rates(&admin, pid, body.clone()).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["field"], field, "{error}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'pool_rates.changed'")
            .await,
        0
    );

    let set = put_rates(&admin, pid, json!({"generalist": 12.5, "expert": 90})).await;
    assert_eq!(set.status(), StatusCode::OK);
    let now: Value = admin
        .get(&format!("/api/v1/projects/{pid}/rates"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        now,
        json!({"currency": "USD", "generalist": 12.5, "expert": 90.0, "user": 0.0})
    );
    let entries = app
        .store
        .audit_entries(&AuditFilter {
            project_id: Some(pid),
            action: Some("pool_rates.changed".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    let details: Value = serde_json::from_str(&entries[0].details).unwrap();
    assert_eq!(
        details,
        json!({"before": {"generalist": 0.0, "expert": 0.0}, "after": {"generalist": 12.5, "expert": 90.0}})
    );
    assert_eq!(entries[0].actor.as_deref(), Some("admin"));
}

async fn the_rates_form_needs_its_token_and_names_the_pool(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Form", "labels": ["a", "b"]}),
            json!(texts(1)),
        )
        .await;
    let browser = app.signed_in_admin().await;
    let path = format!("/admin/projects/{pid}/rates");
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    assert!(page.contains(&format!("action=\"{path}\"")));
    let csrf = csrf_in(&page);
    assert!(
        select_text(&page, "#rates-unset").is_some(),
        "the page says no rates are set"
    );

    let forged = browser.post_form(&path, &[("generalist", "20")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let refused = browser
        .post_form(
            &path,
            &[("csrf", &csrf), ("generalist", "20"), ("expert", "-3")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(select_text(&html, "#rates-error")
        .unwrap()
        .contains("expert"));
    let not_a_number = browser
        .post_form(&path, &[("csrf", &csrf), ("user", "NaN")])
        .await;
    assert_eq!(not_a_number.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'pool_rates.changed'")
            .await,
        0
    );

    let saved = browser
        .post_form(
            &path,
            &[
                ("csrf", &csrf),
                ("generalist", "20"),
                ("expert", "95.5"),
                ("user", ""),
                ("currency", "gbp"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        saved.headers()["location"].to_str().unwrap(),
        format!("/admin/projects/{pid}#pace")
    );
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    assert!(select_text(&page, "#pace-expert")
        .unwrap()
        .contains("95.50 GBP"));
    assert!(select_text(&page, "#rates-unset").is_none());
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'pool_rates.changed'")
            .await,
        1
    );
}

async fn only_admins_see_cost_pace_and_health(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Closed", "labels": ["a", "b"]}),
            json!(texts(1)),
        )
        .await;
    let rater = app.rater("curious").await;
    for path in ["rates", "pace", "health"] {
        let answer = rater.get(&format!("/api/v1/projects/{pid}/{path}")).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let put = put_rates(&rater, pid, json!({"generalist": 1})).await;
    assert_eq!(put.status(), StatusCode::FORBIDDEN);
    for (method, path) in [
        ("GET", "/api/v1/projects/{pid}/rates"),
        ("PUT", "/api/v1/projects/{pid}/rates"),
        ("GET", "/api/v1/projects/{pid}/pace"),
        ("GET", "/api/v1/projects/{pid}/health"),
        ("GET", "/admin/projects/{pid}/health"),
        ("POST", "/admin/projects/{pid}/rates"),
    ] {
        let route = route_list()
            .into_iter()
            .find(|r| r.method.as_str() == method && r.path == path)
            .unwrap_or_else(|| panic!("{method} {path} is in the route table"));
        assert_eq!(route.access, Access::Admin, "{method} {path}");
    }
    assert_eq!(app.count("SELECT count(*) FROM pool_rates").await, 0);
}
