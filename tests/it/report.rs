//! The quality report through the API, the page and the command line.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::user::Role;
use tally::quality::{krippendorff_alpha, Dataset, Level};

use crate::harness::{select_text, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    anchoring_compares_raters_shown_the_pre_label_with_blind_ones,
    report_api_matches_the_engine_and_hides_names,
    report_names_a_rater_whose_first_label_came_after_the_rater_list,
    report_page_reads_in_plain_words,
    a_sampled_read_keeps_every_nth_item_with_all_its_labels,
    a_read_in_parts_takes_every_label_once_in_item_order,
    every_text_comes_through_the_report_read_as_written
);

/// A report's read takes item ids, label values and item data from the database's own
/// bytes (on PostgreSQL a copy out, whose text form would escape them): ids, categories and a
/// slice field's values holding backslashes, tabs, newlines, quotes, control characters and
/// `\N` come back in the report as written.
async fn every_text_comes_through_the_report_read_as_written(app: TestApp) {
    let admin = app.admin().await;
    let categories = ["back\\slash \\t", "say \"hi\"\nthen", "\\N", "ünï ✓"];
    let ids = [
        "tab\tid",
        "line\n\rid",
        "back\\id",
        "\\N",
        "bell\u{7}\u{8}\u{b}\u{c}end",
        "ends in \\",
    ];
    let regions = ["north\\east\t", "south\nwest"];
    let items: Vec<Value> = (ids.iter().enumerate())
        .map(|(i, id)| json!({"external_id": id, "data": {"text": format!("item {i}"), "region": regions[i % 2]}}))
        .collect();
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Awkward", "labels": categories, "overlap": 2}),
            Value::Array(items),
        )
        .await;
    for name in ["ann", "ben"] {
        let rater = app.rater(name).await;
        while let Some(iid) = rater.next(pid).await {
            let position = app
                .count(&format!("SELECT position FROM items WHERE id = {iid}"))
                .await as usize;
            let value = categories[(position - 1) % categories.len()];
            assert_eq!(
                rater.label(pid, iid, value).await.status(),
                StatusCode::CREATED,
                "{value:?}"
            );
        }
    }
    let report = admin.report(pid, "?method=majority&slice=region").await;
    assert_eq!(report["labels"], 2 * ids.len());
    let mut consensus: Vec<(&str, &str)> = (report["consensus"].as_array().unwrap().iter())
        .map(|row| {
            (
                row["item"].as_str().unwrap(),
                row["label"].as_str().unwrap(),
            )
        })
        .collect();
    consensus.sort();
    let mut expected: Vec<(&str, &str)> = (ids.iter().enumerate())
        .map(|(i, id)| (*id, categories[i % categories.len()]))
        .collect();
    expected.sort();
    assert_eq!(consensus, expected);
    let mut slices: Vec<&str> = (report["bias"]["slices"].as_array().unwrap().iter())
        .map(|slice| slice["value"].as_str().unwrap())
        .collect();
    slices.sort();
    assert_eq!(slices, regions);
}

/// A read of all takes the items in many parts (a project of 130 items in 15): each label
/// comes once, in item order, with each item counted once, where the labels lie on the
/// first items only (a project labelled in order) as where they are spread.
async fn a_read_in_parts_takes_every_label_once_in_item_order(app: TestApp) {
    let admin = app.admin().await;
    let texts: Vec<String> = (1..=130).map(|i| format!("item {i}")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pid = app.project_with_items(&admin, 2, &texts).await;
    let mut given = Vec::new();
    for (name, labels) in [("r1", 40), ("r2", 25), ("r3", 15)] {
        let rater = app.rater(name).await;
        for _ in 0..labels {
            let iid = rater.next(pid).await.expect("an item to label");
            let value = if iid % 3 == 0 { "pos" } else { "neg" };
            assert_eq!(
                rater.label(pid, iid, value).await.status(),
                StatusCode::CREATED
            );
            given.push((iid, name.to_string(), format!("\"{value}\"")));
        }
    }
    let input = app
        .store
        .report_input(pid, tally::store::report::ItemData::Skipped)
        .await
        .unwrap();
    assert_eq!(input.items, 130);
    let item_ids: Vec<i64> = input.labels.iter().map(|l| l.item_id).collect();
    assert!(item_ids.is_sorted(), "labels in item order: {item_ids:?}");
    let mut read: Vec<(i64, String)> = (input.labels.iter())
        .map(|l| (l.item_id, l.value.to_string()))
        .collect();
    read.sort();
    let mut expected: Vec<(i64, String)> = given
        .iter()
        .map(|(iid, _, value)| (*iid, value.clone()))
        .collect();
    expected.sort();
    assert_eq!(read, expected);
    let pairs: std::collections::HashSet<(i64, &str)> = input
        .labels
        .iter()
        .map(|l| (l.item_id, &*l.rater))
        .collect();
    assert_eq!(pairs.len(), given.len(), "one label per rater per item");
    let raters: std::collections::HashSet<&str> = input.labels.iter().map(|l| &*l.rater).collect();
    assert_eq!(raters.len(), 3);
    assert!(
        item_ids.last() < Some(&(item_ids[0] + 65)),
        "the labels lie on the first half of the items: {item_ids:?}"
    );
}

/// A big project's dataset card reads every n-th item by id, with all of that item's labels.
async fn a_sampled_read_keeps_every_nth_item_with_all_its_labels(app: TestApp) {
    let admin = app.admin().await;
    let texts: Vec<String> = (1..=9).map(|i| format!("item {i}")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pid = app.project_with_items(&admin, 2, &texts).await;
    for name in ["r1", "r2"] {
        let rater = app.rater(name).await;
        while let Some(iid) = rater.next(pid).await {
            assert_eq!(
                rater.label(pid, iid, "pos").await.status(),
                StatusCode::CREATED
            );
        }
    }
    let whole = app
        .store
        .report_input(pid, tally::store::report::ItemData::Skipped)
        .await
        .unwrap();
    assert_eq!(whole.labels.len(), 18);
    assert_eq!(whole.items, 9);
    // 18 labels, at most 6 wanted: every third item.
    let (sample, stride) = app.store.report_input_sample(pid, 6).await.unwrap();
    assert_eq!(stride, 3);
    let mut kept: Vec<i64> = whole
        .labels
        .iter()
        .map(|l| l.item_id)
        .filter(|id| id % 3 == 0)
        .collect();
    kept.dedup();
    assert_eq!(
        kept.len(),
        3,
        "nine items in a row hold three multiples of three"
    );
    let sampled: Vec<i64> = sample.labels.iter().map(|l| l.item_id).collect();
    let expected: Vec<i64> = kept.iter().flat_map(|&id| [id, id]).collect();
    assert_eq!(sampled, expected, "each kept item with both of its labels");
    assert_eq!(sample.items, 3);
    // A final label on a kept item and on one left out: only the kept one is read.
    let left_out = kept[0] + 1;
    for iid in [kept[0], left_out] {
        let given = admin
            .post_json(
                &format!("/api/v1/projects/{pid}/items/{iid}/adjudication"),
                &json!({"value": "neg", "reason": "checked"}),
            )
            .await;
        assert!(given.status().is_success(), "{}", given.status());
    }
    let (sample, _) = app.store.report_input_sample(pid, 6).await.unwrap();
    let finals: Vec<i64> = sample.adjudications.keys().copied().collect();
    assert_eq!(finals, [kept[0]]);
}

/// Four raters over six items; returns the project id and the labels given.
async fn labelled_project(app: &TestApp, admin: &Api) -> (i64, Vec<(String, String, String)>) {
    let items: Vec<Value> = (1..=6)
        .map(|i| json!({"external_id": format!("it{i}"), "data": {"text": format!("item {i}"), "region": if i % 2 == 0 { "north" } else { "south" }}}))
        .collect();
    let pid = app
        .project_from(
            admin,
            json!({"name": "Reported", "labels": ["pos", "neg", "neutral"], "overlap": 4}),
            Value::Array(items),
        )
        .await;
    let plan: [(&str, [&str; 6]); 4] = [
        ("ann", ["pos", "neg", "pos", "neutral", "neg", "pos"]),
        ("ben", ["pos", "neg", "pos", "neutral", "pos", "pos"]),
        ("cat", ["pos", "neg", "neg", "neutral", "neg", "pos"]),
        ("dan", ["neg", "neg", "pos", "pos", "neg", "neutral"]),
    ];
    let mut given = Vec::new();
    for (name, values) in plan {
        let rater = app.rater(name).await;
        while let Some(iid) = rater.next(pid).await {
            let index = app
                .count(&format!("SELECT position FROM items WHERE id = {iid}"))
                .await as usize
                - 1;
            assert_eq!(
                rater.label(pid, iid, values[index]).await.status(),
                StatusCode::CREATED
            );
            given.push((
                format!("it{}", index + 1),
                name.to_string(),
                values[index].to_string(),
            ));
        }
    }
    (pid, given)
}

async fn report_api_matches_the_engine_and_hides_names(app: TestApp) {
    let admin = app.admin().await;
    let (pid, given) = labelled_project(&app, &admin).await;
    let feedback_key: Value = admin
        .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let key = feedback_key["key"].as_str().unwrap();
    for (i, value) in ["pos", "neg", "neg"].iter().enumerate() {
        reqwest::Client::new()
            .post(app.url(&format!("/api/v1/projects/{pid}/feedback")))
            .bearer_auth(key)
            .json(&json!({"event_id": format!("f{i}"), "external_id": format!("it{}", i + 1), "value": value, "source": "clicks", "context": {"position": i + 1}}))
            .send()
            .await
            .unwrap();
    }

    let response = admin
        .get(&format!(
            "/api/v1/projects/{pid}/report?level=nominal&method=dawid-skene&slice=region"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for name in ["ann", "ben", "cat", "dan"] {
        assert!(
            !text.contains(&format!("\"{name}\"")),
            "reports show pseudonyms, not names"
        );
    }
    let report: Value = serde_json::from_str(&text).unwrap();
    let triples: Vec<(&str, String, &str)> = given
        .iter()
        .map(|(item, rater, value)| (item.as_str(), rater.clone(), value.as_str()))
        .collect();
    let borrowed: Vec<(&str, &str, &str)> = triples
        .iter()
        .map(|(i, r, v)| (*i, r.as_str(), *v))
        .collect();
    let expected = krippendorff_alpha(
        &Dataset::from_labels(borrowed.iter().copied()).unwrap(),
        Level::Nominal,
    )
    .unwrap();
    let alpha = report["agreement"]["krippendorff_alpha"].as_f64().unwrap();
    assert!((alpha - expected).abs() < 1e-12, "{alpha} vs {expected}");
    let ci = report["agreement"]["alpha_ci95"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= alpha && alpha <= ci[1].as_f64().unwrap());
    assert!(
        report["agreement"]["fleiss_kappa"].is_number(),
        "every item has 4 labels"
    );
    assert!(report["agreement"]["percent_agreement"].is_number());
    assert!(report["agreement"]["cohen_kappa_pairs"].is_array());
    assert_eq!(report["consensus_method"], "dawid_skene");
    assert_eq!(report["raters"].as_array().unwrap().len(), 4);
    let rater = &report["raters"][0];
    for key in [
        "rater",
        "labels",
        "gold_accuracy",
        "consensus_agreement",
        "consensus_kappa",
        "flags",
    ] {
        assert!(rater.get(key).is_some(), "rater key {key}");
    }
    assert!(rater["rater"].as_str().unwrap().starts_with("r-"));
    assert_eq!(rater["gold_accuracy"], Value::Null);
    assert!(
        rater["gold_accuracy_reason"].is_string(),
        "an undefined figure says why"
    );
    assert_eq!(report["bias"]["slice_field"], "region");
    assert_eq!(report["bias"]["slices"].as_array().unwrap().len(), 2);
    let clicks = &report["feedback"][0];
    assert_eq!(clicks["source"], "clicks");
    assert_eq!(clicks["compared"], 3);
    assert!(clicks["by_context"]["position"].is_object());
    assert_eq!(
        report["overlap_savings"],
        Value::Null,
        "a fixed overlap saves nothing"
    );
    assert_eq!(report["consensus"].as_array().unwrap().len(), 6);

    // A dashboard's answer: every figure as in the whole report, no row per item.
    let figures = admin
        .report(
            pid,
            "?level=nominal&method=dawid-skene&slice=region&consensus=none",
        )
        .await;
    assert_eq!(figures["consensus"], json!([]));
    let mut rows_emptied = report.clone();
    rows_emptied["consensus"] = json!([]);
    assert_eq!(figures, rows_emptied);
    let rows = admin
        .report(
            pid,
            "?level=nominal&method=dawid-skene&slice=region&consensus=items",
        )
        .await;
    assert_eq!(rows, report, "items is the default");
    let unknown = admin
        .get(&format!("/api/v1/projects/{pid}/report?consensus=some"))
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = unknown.json().await.unwrap();
    assert!(
        error.to_string().contains("consensus"),
        "the error names the parameter: {error}"
    );

    let bad = admin
        .get(&format!("/api/v1/projects/{pid}/report?level=loud"))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let rater = app.rater("nosy").await;
    assert_eq!(
        rater
            .get(&format!("/api/v1/projects/{pid}/report"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let empty = app.project_with_items(&admin, 1, &["nothing yet"]).await;
    let nothing: Value = admin.report(empty, "").await;
    assert_eq!(nothing["agreement"]["krippendorff_alpha"], Value::Null);
    assert!(nothing["agreement"]["krippendorff_alpha_reason"].is_string());

    let dynamic = app
        .project_from(
            &admin,
            json!({"name": "dyn", "labels": ["pos", "neg"], "min_overlap": 2, "max_overlap": 5}),
            json!([{"external_id": "d1", "data": {"text": "x"}}]),
        )
        .await;
    for name in ["d-a", "d-b"] {
        let r = app.rater(name).await;
        let iid = r.next(dynamic).await.unwrap();
        r.label(dynamic, iid, "pos").await;
    }
    let saved: Value = admin.report(dynamic, "").await;
    assert_eq!(
        saved["overlap_savings"]["labels_saved"], 3,
        "2 agreeing labels instead of 5"
    );
}

/// The report reads raters' pseudonyms once, from the project's rater tallies, before the
/// labels; a rater whose first label lands in between is missing from that list and is
/// looked up by id. Deleting one rater's tally row makes that case.
async fn report_names_a_rater_whose_first_label_came_after_the_rater_list(app: TestApp) {
    let admin = app.admin().await;
    let (pid, _) = labelled_project(&app, &admin).await;
    let dan = app.count("SELECT id FROM users WHERE name = 'dan'").await;
    let removed = crate::audit::execute(
        &app,
        &format!("DELETE FROM rater_tallies WHERE project_id = {pid} AND rater_id = {dan}"),
    )
    .await
    .unwrap();
    assert_eq!(removed, 1);
    let report: Value = admin.report(pid, "").await;
    let raters = report["raters"].as_array().unwrap();
    let mut pseudonyms: Vec<&str> = raters
        .iter()
        .map(|r| r["rater"].as_str().unwrap())
        .collect();
    pseudonyms.sort();
    pseudonyms.dedup();
    assert_eq!(
        pseudonyms.len(),
        4,
        "four raters, each named once: {pseudonyms:?}"
    );
    assert!(
        pseudonyms.iter().all(|p| p.starts_with("r-")),
        "each rater by pseudonym: {pseudonyms:?}"
    );
    assert!(
        raters.iter().all(|r| r["labels"] == 6),
        "every rater keeps their six labels: {raters:?}"
    );
}

async fn report_page_reads_in_plain_words(app: TestApp) {
    let admin = app.admin().await;
    let (pid, _) = labelled_project(&app, &admin).await;
    app.user_with_password("boss", Role::Admin, "admin password 1")
        .await;
    let browser = app.browser();
    browser.login("boss", "admin password 1").await;
    let page = browser
        .get(&format!(
            "/admin/projects/{pid}/report?level=ordinal&sort=labels"
        ))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(select_text(&html, "#alpha")
        .unwrap()
        .starts_with(['0', '-']));
    let reading = select_text(&html, "#reading").unwrap();
    assert!(reading.contains("Krippendorff"), "{reading}");
    let doc = scraper::Html::parse_document(&html);
    let svgs = doc
        .select(&scraper::Selector::parse("#confusion svg").unwrap())
        .count();
    assert_eq!(svgs, 4, "a confusion heatmap per rater");
    assert!(doc
        .select(&scraper::Selector::parse("#distribution svg").unwrap())
        .next()
        .is_some());
    assert!(
        doc.select(&scraper::Selector::parse("#leniency svg").unwrap())
            .next()
            .is_some(),
        "ordinal level shows leniency"
    );
    let sort_link = doc
        .select(&scraper::Selector::parse("#raters th a.current").unwrap())
        .next()
        .map(|a| a.value().attr("href").unwrap().to_string());
    assert_eq!(sort_link.as_deref(), Some("?level=ordinal&sort=labels"));
    // Admins see raters by name, linked to the rater's row on the project page (where the
    // pause is), with the pseudonym that exports and the JSON report use beside it.
    let names: Vec<(String, String)> = doc
        .select(&scraper::Selector::parse("#raters tbody td:first-child a").unwrap())
        .map(|a| {
            (
                a.text().collect(),
                a.value().attr("href").unwrap_or("").to_string(),
            )
        })
        .collect();
    let ann = names
        .iter()
        .find(|(name, _)| name == "ann")
        .expect("ann by name");
    assert!(
        ann.1.starts_with(&format!("/admin/projects/{pid}#rater-")),
        "{ann:?}"
    );
    assert!(
        html.contains("<code class=\"muted\">r-"),
        "pseudonyms beside the names"
    );
    assert!(html.contains("What the columns and flags mean"));
}

#[test]
fn cli_report_reads_csv_files_and_names_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        "item,rater,label\n1,a,1\n1,b,2\n1,c,1\n2,a,2\n2,b,2\n2,c,2\n3,a,3\n3,b,3\n3,c,1\n",
    )
    .unwrap();
    let gold = dir.path().join("gold.csv");
    std::fs::write(&gold, "item,label\n1,1\n").unwrap();
    let consensus = dir.path().join("consensus.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["report", "--labels"])
        .arg(&labels)
        .arg("--gold")
        .arg(&gold)
        .args([
            "--level",
            "ordinal",
            "--method",
            "dawid-skene",
            "--format",
            "json",
            "--consensus-out",
        ])
        .arg(&consensus)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["level"], "ordinal");
    assert_eq!(report["consensus_method"], "dawid_skene");
    assert!(report["agreement"]["krippendorff_alpha"].is_number());
    let raters: Vec<&str> = report["raters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rater"].as_str().unwrap())
        .collect();
    assert!(
        raters.contains(&"a"),
        "offline reports name raters by the file's ids"
    );
    let written = std::fs::read_to_string(&consensus).unwrap();
    assert!(written.starts_with("item,label,confidence\n"));
    assert_eq!(written.lines().count(), 4);

    let text = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["report", "--labels"])
        .arg(&labels)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("Krippendorff's alpha"));

    std::fs::write(&labels, "item,rater,label\n1,a,1\n1,b\n").unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["report", "--labels"])
        .arg(&labels)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
}

/// `tally report --format json --method majority` on `labels`: the report and the
/// consensus file, or what it wrote to stderr.
fn cli_report_json(labels: &std::path::Path) -> Result<(Vec<u8>, String), String> {
    let consensus = labels.with_extension("consensus.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args([
            "report", "--format", "json", "--method", "majority", "--draws", "0",
        ])
        .arg("--labels")
        .arg(labels)
        .arg("--consensus-out")
        .arg(&consensus)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok((out.stdout, std::fs::read_to_string(&consensus).unwrap()))
}

/// A big labels file is read in two halves at once. Its report and consensus are the ones
/// the same labels give when a quoted field makes tally read the file in one pass, and a
/// bad row in its second half is named by its line.
#[test]
fn cli_report_of_a_big_file_read_in_halves_is_the_one_pass_report() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = (0..70_000)
        .map(|n| {
            let (item, turn) = (n / 3, n % 3);
            let label = ["cat", "dog", "emu"][(item * 7 + turn * (item % 2)) % 3];
            format!("item-{item:05},rater-{:02},{label}", (item + turn) % 12)
        })
        .collect();
    let file = |name: &str, rows: &[String]| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("item,rater,label\r\n{}\r\n", rows.join("\r\n")),
        )
        .unwrap();
        assert!(
            std::fs::metadata(&path).unwrap().len() > 1 << 20,
            "big enough to be cut"
        );
        path
    };
    let plain = file("plain.csv", &rows);
    let mut quoted_rows = rows.clone();
    quoted_rows[0] = quoted_rows[0].replacen("item-00000", "\"item-00000\"", 1);
    let quoted = file("quoted.csv", &quoted_rows);

    let (report, consensus) = cli_report_json(&plain).expect("a valid file");
    let (one_pass_report, one_pass_consensus) = cli_report_json(&quoted).expect("a valid file");
    assert!(report == one_pass_report, "the JSON reports differ");
    assert_eq!(consensus, one_pass_consensus);
    let parsed: Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(parsed["labels"], 70_000);
    assert_eq!(parsed["items"], 23_334);
    assert_eq!(consensus.lines().count(), 23_334 + 1);

    let mut bad_rows = rows.clone();
    bad_rows[61_234] = "item-x,rater-01".to_string();
    let error = cli_report_json(&file("bad.csv", &bad_rows)).expect_err("a short row");
    assert!(
        error.contains("line 61236: missing field \"label\""),
        "{error}"
    );
}

/// Raters who see the model's pre-label keep it; blind raters, on the same items, do not:
/// the report measures the difference, counting each label in the group it was given in.
async fn anchoring_compares_raters_shown_the_pre_label_with_blind_ones(app: TestApp) {
    let admin = app.admin().await;
    let items: Vec<Value> = (1..=30)
        .map(|i| json!({"external_id": format!("p{i}"), "data": {"text": format!("item {i}")}, "prediction": "pos"}))
        .collect();
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Anchors", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 4,
                   "show_prediction": true, "prediction_blind_share": 0.5}),
            Value::Array(items),
        )
        .await;
    for name in ["r1", "r2", "r3", "r4"] {
        let rater = app.rater(name).await;
        loop {
            let response = rater.get(&format!("/api/v1/projects/{pid}/next")).await;
            if response.status() == StatusCode::NO_CONTENT {
                break;
            }
            let body: Value = response.json().await.unwrap();
            let iid = body["item"]["id"].as_i64().unwrap();
            // Shown the model's "pos", the rater keeps it; blind, the rater says "neg".
            let value = if body["item"]["prediction"] == "pos" {
                "pos"
            } else {
                "neg"
            };
            assert!(body["item"].get("prediction").is_none() || value == "pos");
            assert_eq!(
                rater.label(pid, iid, value).await.status(),
                StatusCode::CREATED
            );
        }
    }
    let both = "SELECT count(*) FROM (SELECT item_id FROM labels GROUP BY item_id
                HAVING sum(CASE WHEN prediction_shown THEN 1 ELSE 0 END) > 0
                   AND sum(CASE WHEN prediction_shown THEN 0 ELSE 1 END) > 0) AS t";
    let items_both = app.count(both).await;
    assert!(
        items_both >= 10,
        "half the raters are blind on most items: {items_both}"
    );
    let report: Value = admin.report(pid, "").await;
    let anchoring = &report["anchoring"];
    assert_eq!(anchoring["items"], items_both);
    assert_eq!(anchoring["shown"]["rate"], 1.0);
    assert_eq!(anchoring["blind"]["rate"], 0.0);
    assert_eq!(anchoring["difference"], 1.0);
    let interval = anchoring["difference_ci95"].as_array().unwrap();
    assert!(interval[0].as_f64().unwrap() > 0.5 && interval[1].as_f64().unwrap() <= 1.0 + 1e-12);
    let page = app.browser();
    page.login("admin", "unused").await;
    let shown: i64 = app
        .count("SELECT count(*) FROM labels WHERE prediction_shown")
        .await;
    assert!(anchoring["shown"]["labels"].as_i64().unwrap() <= shown);
}
