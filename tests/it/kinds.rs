//! Every label kind through the API: a project with the kind's settings, items with a gold
//! answer and a pre-label, labels from three raters (each taking items through `next`),
//! refusals that name what is wrong, gold accuracy under the kind's rule, and the consensus
//! and value shapes of the JSONL export.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    single_choice_end_to_end,
    image_choice_end_to_end,
    multi_choice_end_to_end,
    rating_end_to_end,
    numeric_end_to_end,
    text_end_to_end,
    spans_end_to_end,
    boxes_end_to_end,
);

const RATERS: [&str; 3] = ["alice", "bob", "carol"];

/// One kind's scenario over two items, `k1` (with gold and prediction) and `k2`.
struct Case {
    project: Value,
    data: [Value; 2],
    gold: Value,
    prediction: Value,
    /// Each rater's answers to k1 and k2, in `RATERS` order.
    votes: [[Value; 2]; 3],
    /// Values a rater may not send, with a fragment of the reason the 422 must give.
    bad: Vec<(Value, &'static str)>,
    /// The consensus of k1 and k2 as the export gives it.
    consensus: [Value; 2],
    /// Each rater's gold accuracy (on k1) under the kind's rule.
    gold_accuracy: [f64; 3],
}

/// JSON equality where numbers compare as numbers (10 and 10.0 are the same).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap_or(f64::NAN) - y.as_f64().unwrap_or(f64::NAN)).abs() < 1e-9
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn assert_same(actual: &Value, expected: &Value, what: &str) {
    assert!(
        same(actual, expected),
        "{what}: got {actual}, expected {expected}"
    );
}

/// GET next: the leased item's id and external id.
async fn next(rater: &Api, pid: i64) -> (i64, String) {
    let response = rater.get(&format!("/api/v1/projects/{pid}/next")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    (
        body["item"]["id"].as_i64().expect("id"),
        body["item"]["external_id"]
            .as_str()
            .expect("external id")
            .to_string(),
    )
}

async fn post_value(rater: &Api, pid: i64, iid: i64, value: &Value) -> reqwest::Response {
    rater
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/labels"),
            &json!({"value": value, "duration_ms": 900}),
        )
        .await
}

async fn run_case(app: TestApp, case: Case) {
    let admin = app.admin().await;
    let mut project = case.project.clone();
    project["name"] = json!("Kinds");
    project["overlap"] = json!(3);
    let created = admin.post_json("/api/v1/projects", &project).await;
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{:?}",
        created.text().await
    );
    let pid = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();

    // A bad gold answer is refused at import, naming the line and the field.
    let (bad_value, bad_reason) = &case.bad[0];
    let refused = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items"),
            &json!([{"external_id": "b1", "data": case.data[0], "gold": bad_value}]),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused.json::<Value>().await.unwrap()["error"].to_string();
    assert!(
        message.contains("line 1") && message.contains("gold") && message.contains(bad_reason),
        "{message}"
    );

    let items = json!([
        {"external_id": "k1", "data": case.data[0], "gold": case.gold, "prediction": case.prediction},
        {"external_id": "k2", "data": case.data[1]},
    ]);
    let imported = admin
        .post_json(&format!("/api/v1/projects/{pid}/items"), &items)
        .await;
    assert_eq!(
        imported.status(),
        StatusCode::CREATED,
        "{:?}",
        imported.text().await
    );

    let mut canonical: Vec<[Value; 2]> = Vec::new();
    for (r, name) in RATERS.iter().enumerate() {
        let rater = app.rater(name).await;
        let mut given = [Value::Null, Value::Null];
        for _ in 0..2 {
            let (iid, external) = next(&rater, pid).await;
            let slot = usize::from(external == "k2");
            if r == 0 && slot == 0 {
                for (bad, reason) in &case.bad {
                    let response = post_value(&rater, pid, iid, bad).await;
                    assert_eq!(
                        response.status(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "{bad} was taken"
                    );
                    let body: Value = response.json().await.unwrap();
                    let error = body["error"].as_str().unwrap_or_default();
                    assert_eq!(body["field"], "value", "{body}");
                    assert!(error.contains(reason), "{bad}: {error}");
                }
            }
            let response = post_value(&rater, pid, iid, &case.votes[r][slot]).await;
            assert_eq!(
                response.status(),
                StatusCode::CREATED,
                "{name} {external}: {:?}",
                response.text().await
            );
            given[slot] = response.json::<Value>().await.unwrap()["value"].clone();
        }
        canonical.push(given);
    }

    let rows = admin.export(pid).await;
    assert_eq!(rows.len(), 2);
    for (slot, row) in rows.iter().enumerate() {
        assert_eq!(row["external_id"], ["k1", "k2"][slot]);
        assert_eq!(row["label_count"], 3);
        assert_same(&row["consensus"], &case.consensus[slot], "consensus");
        let exported: Vec<&Value> = row["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| &l["value"])
            .collect();
        for given in &canonical {
            assert!(
                exported.iter().any(|v| *v == &given[slot]),
                "the export carries each label as stored: {} not in {exported:?}",
                given[slot]
            );
        }
    }
    let with_gold = admin
        .get(&format!("/api/v1/projects/{pid}/export?include_gold=true"))
        .await
        .text()
        .await
        .unwrap();
    let first: Value = serde_json::from_str(with_gold.lines().next().unwrap()).unwrap();
    assert_same(&first["gold"], &case.gold, "gold in the export");

    // The report names raters by pseudonym; a pseudonym is found by its labels (raters
    // who gave the same answers have the same expected accuracy).
    let pseudonyms: Vec<(String, [Value; 2])> = pseudonyms_with_values(&rows);
    let accuracy = gold_accuracy(&admin, pid).await;
    report_without_rows_has_every_figure(&admin, pid).await;
    for (r, name) in RATERS.iter().enumerate() {
        let pseudonym = pseudonyms
            .iter()
            .find(|(_, values)| *values == canonical[r])
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| panic!("{name}'s labels are not in the export"));
        let got = accuracy
            .iter()
            .find(|(p, _)| *p == pseudonym)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("{name} has no gold accuracy: {accuracy:?}"));
        assert!(
            (got - case.gold_accuracy[r]).abs() < 1e-9,
            "{name}: gold accuracy {got}, expected {}",
            case.gold_accuracy[r]
        );
    }
}

/// Each pseudonym of the export with its values for k1 and k2.
fn pseudonyms_with_values(rows: &[Value]) -> Vec<(String, [Value; 2])> {
    let mut out: Vec<(String, [Value; 2])> = Vec::new();
    for (slot, row) in rows.iter().enumerate() {
        for label in row["labels"].as_array().unwrap() {
            let pseudonym = label["rater"].as_str().unwrap().to_string();
            let index = match out.iter().position(|(p, _)| *p == pseudonym) {
                Some(i) => i,
                None => {
                    out.push((pseudonym, [Value::Null, Value::Null]));
                    out.len() - 1
                }
            };
            out[index].1[slot] = label["value"].clone();
        }
    }
    out
}

/// Each rater's gold accuracy in the report, whichever part of it the kind fills.
async fn gold_accuracy(admin: &Api, pid: i64) -> Vec<(String, f64)> {
    let response = admin.get(&format!("/api/v1/projects/{pid}/report")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    let raters = report["raters"]
        .as_array()
        .or_else(|| report["kind_agreement"]["raters"].as_array())
        .unwrap_or_else(|| panic!("no raters in {report}"));
    raters
        .iter()
        .map(|r| {
            (
                r["rater"].as_str().unwrap_or_default().to_string(),
                r["gold_accuracy"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// `consensus=none` answers the whole report with its consensus rows emptied, whichever
/// part of the report the kind fills.
async fn report_without_rows_has_every_figure(admin: &Api, pid: i64) {
    let whole = admin.report(pid, "").await;
    let figures = admin.report(pid, "?consensus=none").await;
    let empty_rows = |part: &mut Value| {
        if let Some(rows) = part.get_mut("consensus") {
            *rows = json!([]);
        }
    };
    let mut emptied = whole.clone();
    empty_rows(&mut emptied);
    if let Some(kind) = emptied.get_mut("kind_agreement") {
        empty_rows(kind);
    }
    assert_ne!(emptied, whole, "the report has consensus rows");
    assert_eq!(figures, emptied);
}

fn strings(values: &[&str]) -> Value {
    json!(values)
}

async fn single_choice_end_to_end(app: TestApp) {
    run_case(
        app,
        Case {
            project: json!({"kind": "single_choice", "labels": ["pos", "neg", "neutral"]}),
            data: [json!({"text": "good"}), json!({"text": "bad"})],
            gold: json!("pos"),
            prediction: json!("neg"),
            votes: [
                [json!("pos"), json!("neg")],
                [json!("pos"), json!("neg")],
                [json!("neg"), json!("neutral")],
            ],
            bad: vec![(json!("maybe"), "maybe"), (json!(3), "one of the labels")],
            consensus: [json!("pos"), json!("neg")],
            gold_accuracy: [1.0, 1.0, 0.0],
        },
    )
    .await;
}

const ORIGIN: &str = "https://img.example.com";

async fn image_choice_end_to_end(app: TestApp) {
    run_case(
        app,
        Case {
            project: json!({"kind": "image_choice", "labels": ["cat", "dog"], "field": "image", "media_origins": [ORIGIN]}),
            data: [
                json!({"image": format!("{ORIGIN}/a.png")}),
                json!({"image": {"url": format!("{ORIGIN}/b.png"), "width": 20, "height": 10}}),
            ],
            gold: json!("cat"),
            prediction: json!("dog"),
            votes: [
                [json!("cat"), json!("dog")],
                [json!("dog"), json!("dog")],
                [json!("cat"), json!("cat")],
            ],
            bad: vec![(json!("horse"), "horse"), (json!(["cat"]), "one of the labels")],
            consensus: [json!("cat"), json!("dog")],
            gold_accuracy: [1.0, 0.0, 1.0],
        },
    )
    .await;
}

async fn multi_choice_end_to_end(app: TestApp) {
    run_case(
        app,
        Case {
            project: json!({"kind": "multi_choice", "labels": ["a", "b", "c"], "max": 2}),
            data: [json!({"text": "one"}), json!({"text": "two"})],
            gold: strings(&["a", "b"]),
            prediction: strings(&["a"]),
            votes: [
                [strings(&["a", "b"]), strings(&["c"])],
                [strings(&["b", "a"]), strings(&["c"])],
                [strings(&["a"]), strings(&["b", "c"])],
            ],
            bad: vec![
                (strings(&["a", "b", "c"]), "between 0 and 2"),
                (strings(&["z"]), "\"z\" is not one of"),
            ],
            consensus: [strings(&["a", "b"]), strings(&["c"])],
            gold_accuracy: [1.0, 1.0, 0.0],
        },
    )
    .await;
}

async fn rating_end_to_end(app: TestApp) {
    run_case(
        app,
        Case {
            project: json!({"kind": "rating", "scale": {"min": 1, "max": 5, "anchors": {"1": "awful", "5": "great"}}, "tolerance": 1}),
            data: [json!({"text": "one"}), json!({"text": "two"})],
            gold: json!(4),
            prediction: json!(3),
            votes: [
                [json!(4), json!(2)],
                [json!(5), json!(2)],
                [json!(2), json!(3)],
            ],
            bad: vec![(json!(6), "off the scale 1 to 5"), (json!(2.5), "whole number")],
            consensus: [json!(4), json!(2)],
            gold_accuracy: [1.0, 1.0, 0.0],
        },
    )
    .await;
}

async fn numeric_end_to_end(app: TestApp) {
    run_case(
        app,
        Case {
            project: json!({"kind": "numeric", "range": {"min": 0, "max": 100, "step": 0.5}, "tolerance": 2}),
            data: [json!({"text": "one"}), json!({"text": "two"})],
            gold: json!(50),
            prediction: json!(40),
            votes: [
                [json!(50), json!(10)],
                [json!(51.5), json!(20)],
                [json!(60), json!(30)],
            ],
            bad: vec![(json!(101), "outside 0 to 100"), (json!(0.3), "multiple of 0.5")],
            consensus: [json!(51.5), json!(20)],
            gold_accuracy: [1.0, 1.0, 0.0],
        },
    )
    .await;
}

async fn text_end_to_end(app: TestApp) {
    run_case(
        app,
        Case {
            project: json!({"kind": "text", "max_length": 10, "pattern": "[A-Za-z ]+"}),
            data: [json!({"text": "greet"}), json!({"text": "part"})],
            gold: json!("hello"),
            prediction: json!("hi"),
            votes: [
                [json!("hello"), json!("bye")],
                [json!("HELLO "), json!("bye")],
                [json!("howdy"), json!("ciao")],
            ],
            bad: vec![
                (json!("far too long a text"), "at most 10 characters"),
                (json!("abc1"), "does not match the pattern"),
            ],
            consensus: [json!("hello"), json!("bye")],
            gold_accuracy: [1.0, 1.0, 0.0],
        },
    )
    .await;
}

fn span(start: usize, end: usize, label: &str) -> Value {
    json!({"start": start, "end": end, "label": label})
}

async fn spans_end_to_end(app: TestApp) {
    let text = "Ada Lovelace met Babbage";
    run_case(
        app,
        Case {
            project: json!({"kind": "spans", "labels": ["person", "place"], "field": "text", "span_match": "exact", "min_f1": 0.6}),
            data: [json!({"text": text}), json!({"text": "Paris in May"})],
            gold: json!([span(0, 12, "person"), span(17, 24, "person")]),
            prediction: json!([span(0, 3, "person")]),
            votes: [
                [
                    json!([span(17, 24, "person"), span(0, 12, "person")]),
                    json!([span(0, 5, "place")]),
                ],
                [json!([span(0, 12, "person")]), json!([span(0, 5, "place")])],
                [
                    json!([span(0, 3, "person"), span(17, 24, "person")]),
                    json!([]),
                ],
            ],
            bad: vec![
                (
                    json!([span(0, 3, "person"), span(0, 3, "person")]),
                    "identical",
                ),
                (json!([span(20, 30, "person")]), "the text has 24 characters"),
                (json!([span(4, 2, "person")]), "start must be before end"),
                (json!([span(0, 3, "thing")]), "\"thing\" is not one of"),
            ],
            consensus: [
                json!([span(0, 12, "person"), span(17, 24, "person")]),
                json!([span(0, 5, "place")]),
            ],
            gold_accuracy: [1.0, 1.0, 0.0],
        },
    )
    .await;
}

fn bbox(x: f64, y: f64, w: f64, h: f64, label: &str) -> Value {
    json!({"x": x, "y": y, "w": w, "h": h, "label": label})
}

async fn boxes_end_to_end(app: TestApp) {
    run_case(
        app,
        Case {
            project: json!({"kind": "boxes", "labels": ["cat", "dog"], "field": "image", "iou_threshold": 0.5, "media_origins": [ORIGIN]}),
            data: [
                json!({"image": {"url": format!("{ORIGIN}/a.png"), "width": 100, "height": 80}}),
                json!({"image": format!("{ORIGIN}/b.png")}),
            ],
            gold: json!([bbox(10.0, 10.0, 40.0, 30.0, "cat")]),
            prediction: json!([bbox(0.0, 0.0, 5.0, 5.0, "dog")]),
            votes: [
                [
                    json!([bbox(10.0, 10.0, 40.0, 30.0, "cat")]),
                    json!([bbox(0.0, 0.0, 500.0, 500.0, "dog")]),
                ],
                [
                    json!([bbox(12.0, 10.0, 40.0, 30.0, "cat")]),
                    json!([bbox(0.0, 0.0, 500.0, 500.0, "dog")]),
                ],
                [json!([bbox(60.0, 40.0, 30.0, 30.0, "dog")]), json!([])],
            ],
            bad: vec![
                (
                    json!([bbox(90.0, 10.0, 20.0, 10.0, "cat")]),
                    "reaches past the image (100 x 80 pixels)",
                ),
                (json!([bbox(1.0, 1.0, 0.0, 10.0, "cat")]), "w and h must be above 0"),
                (
                    json!([bbox(1.0, 1.0, 5.0, 5.0, "cat"), bbox(1.0, 1.0, 5.0, 5.0, "cat")]),
                    "identical",
                ),
            ],
            consensus: [
                json!([bbox(11.0, 10.0, 40.0, 30.0, "cat")]),
                json!([bbox(0.0, 0.0, 500.0, 500.0, "dog")]),
            ],
            gold_accuracy: [1.0, 1.0, 0.0],
        },
    )
    .await;
}
