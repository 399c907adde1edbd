//! `tally demo`: every project has labels, the report finds the planted spammer, the
//! drifting feedback source is flagged, and the logins printed stay the same across restarts.

use reqwest::StatusCode;
use serde_json::Value;
use tally::domain::user::Role;

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(the_demo_has_something_to_show_everywhere);
on_both_backends!(the_demo_builds_the_same_labels_every_time);

async fn the_demo_has_something_to_show_everywhere(app: TestApp) {
    let dir = tempfile::tempdir().expect("temp dir");
    let notes = dir.path().join("demo.logins");
    let welcome = tally::demo::prepare(&app.store, &notes, &app.addr)
        .await
        .expect("the demo builds");
    assert!(welcome.built.is_some(), "a new database is built");
    let names: Vec<&str> = welcome.logins.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["admin", "alice", "bob", "carol", "dave", "eve", "frank", "gus", "dr-ines", "rita"]
    );
    // The demo's reviewer has items to settle in the sentiment project's queue.
    let rita = app.store.user_by_name("rita").await.unwrap().unwrap();
    assert_eq!(rita.role, Role::Reviewer);

    let auditor = app.user_with_token("auditor", Role::Admin).await;
    let projects: Value = auditor.get("/api/v1/projects").await.json().await.unwrap();
    let projects = projects.as_array().expect("a list of projects").clone();
    assert_eq!(projects.len(), 3);
    let mut reviews = None;
    for project in &projects {
        let pid = project["id"].as_i64().unwrap();
        let rows = auditor.export(pid).await;
        let labels: usize = rows
            .iter()
            .map(|r| r["labels"].as_array().map_or(0, Vec::len))
            .sum();
        assert!(labels >= 250, "{}: {labels} labels", project["name"]);
        let report: Value = auditor.report(pid, "").await;
        assert!(
            report["raters"].as_array().is_some_and(|r| r.len() >= 3),
            "{}",
            project["name"]
        );
        assert!(report["agreement"]["krippendorff_alpha"].is_number());
        if project["name"] == "Search answer helpfulness" {
            lenient_is_found(&app, &report).await;
        }
        if project["name"] == "Product review sentiment" {
            reviews = Some((pid, report));
        }
    }

    // The report ranks the planted spammer (eve) below every careful rater and flags her;
    // the careful raters carry no flag.
    let (pid, report) = reviews.expect("the review project");
    let queue: Value = auditor
        .get(&format!("/api/v1/projects/{pid}/review"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !queue["items"].as_array().unwrap().is_empty(),
        "the reviewer has work: {queue}"
    );
    let mut pseudonyms = std::collections::HashMap::new();
    for name in ["alice", "bob", "carol", "eve"] {
        let user = app.store.user_by_name(name).await.unwrap().unwrap();
        pseudonyms.insert(name, user.pseudonym);
    }
    let figure = |pseudonym: &str, key: &str| -> (f64, Vec<Value>) {
        let rater = report["raters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rater"] == pseudonym)
            .unwrap_or_else(|| panic!("{pseudonym} is in the report"));
        (
            rater[key].as_f64().unwrap_or(f64::NAN),
            rater["flags"].as_array().unwrap().clone(),
        )
    };
    let eve = pseudonyms["eve"].clone();
    let (eve_agreement, eve_flags) = figure(&eve, "consensus_agreement");
    assert!(eve_flags.contains(&Value::from("spammer")), "{eve_flags:?}");
    for careful in ["alice", "bob", "carol"] {
        let p = &pseudonyms[careful];
        let (agreement, flags) = figure(p, "consensus_agreement");
        assert!(
            agreement > eve_agreement + 0.2,
            "{careful} {agreement} against eve {eve_agreement}"
        );
        // Drift is left out: it follows who else labelled the same items, which changes in
        // the demo when the spammer is paused by her gold record.
        for wolf in ["spammer", "biased", "too_fast", "low_gold_accuracy"] {
            assert!(
                !flags.contains(&Value::from(wolf)),
                "{careful} is flagged {flags:?}"
            );
        }
        let (informativeness, _) = figure(p, "informativeness");
        let (eve_informativeness, _) = figure(&eve, "informativeness");
        assert!(informativeness > eve_informativeness);
    }

    // The star-rating source drifted in the last day; the thumbs did not.
    let sources: Value = auditor
        .get(&format!("/api/v1/projects/{pid}/sources"))
        .await
        .json()
        .await
        .unwrap();
    let flags_of = |name: &str| {
        sources["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == name)
            .map(|s| s["flags"].clone())
            .unwrap_or_else(|| panic!("source {name}"))
    };
    assert_eq!(flags_of("stars"), serde_json::json!(["drifting"]));
    assert_eq!(flags_of("thumbs"), serde_json::json!([]));

    // A printed password signs in; a restart keeps the passwords and does not build again.
    let alice = &welcome.logins[1];
    let browser = app.browser();
    let signed_in = browser.login(&alice.name, &alice.password).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/");
    let again = tally::demo::prepare(&app.store, &notes, &app.addr)
        .await
        .expect("the demo starts again");
    assert!(again.built.is_none(), "an existing demo is kept");
    for (before, after) in welcome.logins.iter().zip(&again.logins) {
        assert_eq!(
            before.password, after.password,
            "{}'s password is kept",
            before.name
        );
    }
    let signed = again.signed_link.expect("a signed link");
    assert!(
        signed.starts_with(&format!("http://{}/u/", app.addr)),
        "{signed}"
    );
    let visitor = app.browser();
    let path = signed.trim_start_matches(&format!("http://{}", app.addr));
    assert_eq!(visitor.get(path).await.status(), StatusCode::SEE_OTHER);
}

/// The demo is seeded, down to the draws that decide when `next` offers a gold question:
/// two builds give the same labels, so what its report shows (the flagged spammer) does
/// not depend on luck.
async fn the_demo_builds_the_same_labels_every_time(app: TestApp) {
    let backend = match app.store {
        tally::Store::Sqlite(_) => Backend::Sqlite,
        tally::Store::Postgres(_) => Backend::Postgres,
    };
    let again = TestApp::start(backend).await.expect("a second database");
    let first = demo_labels(&app).await;
    let second = demo_labels(&again).await;
    again.cleanup().await;
    assert!(first.len() >= 900, "{} labels", first.len());
    let differing = first.iter().zip(&second).filter(|(a, b)| a != b).count();
    assert!(
        first.len() == second.len() && differing == 0,
        "{} and {} labels, {differing} of them different",
        first.len(),
        second.len()
    );
}

/// Builds the demo and reads its labels: project, rater, item and value.
async fn demo_labels(app: &TestApp) -> Vec<(String, String, String, String)> {
    let dir = tempfile::tempdir().expect("temp dir");
    tally::demo::prepare(&app.store, &dir.path().join("demo.logins"), &app.addr)
        .await
        .expect("the demo builds");
    let sql = "SELECT p.name, u.name, coalesce(i.external_id, ''), CAST(l.value AS TEXT)
        FROM labels l JOIN items i ON i.id = l.item_id JOIN projects p ON p.id = l.project_id
        JOIN users u ON u.id = l.rater_id
        ORDER BY p.name, u.name, i.external_id";
    match &app.store {
        tally::Store::Sqlite(backend) => sqlx::query_as(sql).fetch_all(&backend.pool).await,
        tally::Store::Postgres(backend) => sqlx::query_as(sql).fetch_all(&backend.pool).await,
    }
    .expect("the demo's labels")
}

/// The rating project's report says frank, the demo's lenient rater, rates higher than the
/// others (an interval above zero), and says it of nobody else.
async fn lenient_is_found(app: &TestApp, report: &Value) {
    let frank = app.store.user_by_name("frank").await.unwrap().unwrap();
    let rows = report["bias"]["leniency"]
        .as_array()
        .expect("leniency rows");
    let higher: Vec<&Value> = rows.iter().filter(|r| r["tendency"] == "higher").collect();
    assert_eq!(higher.len(), 1, "{rows:?}");
    assert_eq!(higher[0]["rater"], frank.pseudonym.as_str(), "{rows:?}");
    assert!(higher[0]["leniency_ci95"][0].as_f64().unwrap() > 0.0);
}
