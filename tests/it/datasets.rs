//! Datasets out: every format carries the same fields, the options shape what leaves,
//! every export is a version that downloads again byte for byte with its card, and the
//! command line and the export form make versions too.

use std::collections::BTreeSet;
use std::process::Command;

use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tally::domain::policy::Pool;
use tally::formats::read_records;

use crate::harness::{csrf_in, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    every_format_carries_the_same_fields,
    tfrecord_and_label_studio_hold_the_labels,
    options_shape_what_leaves,
    every_export_is_a_version_with_a_card,
    versions_are_stored_compressed_and_chunks_stored_before_still_read,
    the_command_line_and_the_form_make_versions
);

/// Six items labelled by three generalists; the four they split on go to an expert, who
/// answers `neg` on each.
async fn labelled_project(app: &TestApp) -> (Api, i64) {
    let admin = app.admin().await;
    let items: Vec<Value> = (1..=6)
        .map(|i| json!({"external_id": format!("e{i}"), "data": {"text": format!("item {i}"), "email": format!("p{i}@example.org"), "n": i}}))
        .collect();
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Data", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 3,
                   "escalate_below": 0.9, "expert_overlap": 1}),
            Value::Array(items),
        )
        .await;
    let votes = [
        ("alice", ["pos", "pos", "pos", "pos", "pos", "pos"]),
        ("bob", ["pos", "pos", "neg", "neg", "pos", "neg"]),
        ("carol", ["pos", "neg", "neg", "neg", "pos", "pos"]),
    ];
    for (name, values) in votes {
        let rater = app.rater(name).await;
        for value in values {
            let iid = rater.next(pid).await.expect("an item");
            assert_eq!(
                rater.label(pid, iid, value).await.status(),
                StatusCode::CREATED
            );
        }
    }
    let expert = app.pool_rater("dora", Pool::Expert, &[]).await;
    let mut escalated = 0;
    while let Some(iid) = expert.next(pid).await {
        assert_eq!(
            expert.label(pid, iid, "neg").await.status(),
            StatusCode::CREATED
        );
        escalated += 1;
    }
    assert_eq!(escalated, 4, "the four split items reach the expert");
    (admin, pid)
}

async fn body_of(admin: &Api, path: &str) -> Bytes {
    let response = admin.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.bytes().await.expect("body")
}

/// An export through the API: the version it made and the file.
async fn export_version(admin: &Api, pid: i64, query: &str) -> (i64, Bytes) {
    let response = admin
        .get(&format!("/api/v1/projects/{pid}/export?{query}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let vid: i64 = response.headers()["x-tally-dataset-version"]
        .to_str()
        .expect("version header")
        .parse()
        .expect("version id");
    (vid, response.bytes().await.expect("file"))
}

async fn jsonl(admin: &Api, pid: i64, query: &str) -> Vec<Value> {
    let body = body_of(
        admin,
        &format!("/api/v1/projects/{pid}/export?format=jsonl&{query}"),
    )
    .await;
    String::from_utf8(body.to_vec())
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn keys(row: &Value) -> Vec<String> {
    row.as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

fn by_external<'a>(rows: &'a [Value], ext: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["external_id"] == ext)
        .unwrap_or_else(|| panic!("no row {ext}"))
}

async fn every_format_carries_the_same_fields(app: TestApp) {
    let (admin, pid) = labelled_project(&app).await;
    for extra in [
        "",
        "include_gold=true",
        "labels=consensus&include_feedback=false",
        "rows=labels&split=80,10,10",
    ] {
        let rows = jsonl(&admin, pid, extra).await;
        let mut json_keys = keys(&rows[0]);
        json_keys.sort();

        let csv_body = body_of(
            &admin,
            &format!("/api/v1/projects/{pid}/export?format=csv&{extra}"),
        )
        .await;
        let mut reader = csv::Reader::from_reader(csv_body.as_ref());
        let mut csv_keys: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(String::from)
            .collect();
        csv_keys.sort();
        assert_eq!(json_keys, csv_keys, "CSV and JSONL columns with {extra:?}");
        assert_eq!(reader.records().count(), rows.len());

        let parquet_body = body_of(
            &admin,
            &format!("/api/v1/projects/{pid}/export?format=parquet&{extra}"),
        )
        .await;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(parquet_body).expect("a Parquet file");
        let mut parquet_keys: Vec<String> = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        parquet_keys.sort();
        assert_eq!(
            json_keys, parquet_keys,
            "Parquet and JSONL columns with {extra:?}"
        );
        let reader = builder.build().expect("reader");
        let count: usize = reader.map(|b| b.expect("a batch").num_rows()).sum();
        assert_eq!(count, rows.len(), "Parquet rows with {extra:?}");
    }
    let rows = jsonl(&admin, pid, "").await;
    assert_eq!(rows.len(), 6);
    assert!(
        !keys(&rows[0]).contains(&"gold".to_string()),
        "gold only when asked for"
    );
    let label = &rows[0]["labels"][0];
    for key in [
        "rater",
        "pool",
        "value",
        "duration_ms",
        "created_at",
        "comment",
    ] {
        assert!(label.get(key).is_some(), "a label carries {key}");
    }
    assert_eq!(label["duration_ms"], 1200);
}

async fn tfrecord_and_label_studio_hold_the_labels(app: TestApp) {
    let (admin, pid) = labelled_project(&app).await;
    let body = body_of(
        &admin,
        &format!("/api/v1/projects/{pid}/export?format=tfrecord"),
    )
    .await;
    let examples = read_records(&body).expect("CRCs and framing check out");
    assert_eq!(examples.len(), 6);
    let features = &examples[1].features.as_ref().expect("features").feature;
    let text = |name: &str| match features.get(name).and_then(|f| f.kind.clone()) {
        Some(tally::formats::tfrecord::FeatureKind::BytesList(b)) => {
            String::from_utf8(b.value[0].clone()).expect("utf-8")
        }
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(text("text"), "item 2", "each data field is a feature");
    assert_eq!(text("consensus"), "neg", "the expert settled item 2");
    assert_eq!(text("consensus_source"), "adjudicated");
    match features.get("n").and_then(|f| f.kind.clone()) {
        Some(tally::formats::tfrecord::FeatureKind::Int64List(l)) => assert_eq!(l.value, vec![2]),
        other => panic!("n: {other:?}"),
    }

    let body = body_of(
        &admin,
        &format!("/api/v1/projects/{pid}/export?format=label-studio"),
    )
    .await;
    let tasks: Value = serde_json::from_slice(&body).expect("a JSON array");
    let tasks = tasks.as_array().expect("tasks");
    assert_eq!(tasks.len(), 6);
    let second = &tasks[1];
    assert_eq!(second["data"]["text"], "item 2");
    let annotations = second["annotations"].as_array().expect("annotations");
    assert_eq!(annotations.len(), 4, "three generalists and the expert");
    let values: Vec<&Value> = annotations
        .iter()
        .map(|a| &a["result"][0]["value"]["choices"][0])
        .collect();
    assert_eq!(
        values,
        [&json!("pos"), &json!("pos"), &json!("neg"), &json!("neg")]
    );
    assert_eq!(
        annotations[3]["ground_truth"], true,
        "the expert's answer is ground truth"
    );
    assert_eq!(annotations[0]["result"][0]["from_name"], "label");
    assert_eq!(annotations[0]["result"][0]["to_name"], "text");
    let bad = admin
        .get(&format!(
            "/api/v1/projects/{pid}/export?format=label-studio&rows=labels"
        ))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn options_shape_what_leaves(app: TestApp) {
    let (admin, pid) = labelled_project(&app).await;

    let all = jsonl(&admin, pid, "").await;
    let e2 = by_external(&all, "e2");
    assert_eq!(e2["consensus"], "neg");
    assert_eq!(e2["consensus_source"], "adjudicated");
    assert_eq!(e2["adjudicated"], "neg");
    assert_eq!(by_external(&all, "e1")["consensus_source"], "majority");

    let labels = jsonl(&admin, pid, "rows=labels").await;
    assert_eq!(labels.len(), 6 * 3 + 4, "one row per label");
    assert!(labels
        .iter()
        .all(|r| r["rater"].is_string() && r["pool"].is_string()));
    assert_eq!(labels.iter().filter(|r| r["pool"] == "expert").count(), 4);

    let consensus = jsonl(&admin, pid, "labels=consensus").await;
    assert!(consensus.iter().all(|r| r.get("labels").is_none()));
    assert_eq!(consensus.len(), 6);

    let generalists = jsonl(&admin, pid, "pools=generalist").await;
    let e2 = by_external(&generalists, "e2");
    assert_eq!(e2["label_count"], 3);
    assert_eq!(e2["adjudicated"], Value::Null);
    assert_eq!(
        e2["consensus"], "pos",
        "without the expert, the majority answers"
    );

    let agreed = jsonl(&admin, pid, "min_agreement=0.9").await;
    let kept: BTreeSet<&str> = agreed
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(kept, BTreeSet::from(["e1", "e5"]));

    let no_feedback = jsonl(&admin, pid, "include_feedback=false&drop=email").await;
    assert!(no_feedback[0].get("feedback").is_none());
    assert!(no_feedback
        .iter()
        .all(|r| r["data"].get("email").is_none() && r["data"]["text"].is_string()));

    let split_a = jsonl(&admin, pid, "split=50,25,25&seed=3").await;
    let split_b = jsonl(&admin, pid, "split=50,25,25&seed=3").await;
    let splits = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .map(|r| r["split"].as_str().expect("a split").to_string())
            .collect()
    };
    assert_eq!(
        splits(&split_a),
        splits(&split_b),
        "the same seed, the same split"
    );
    assert!(splits(&split_a)
        .iter()
        .all(|s| ["train", "validation", "test"].contains(&s.as_str())));

    let fitted = jsonl(&admin, pid, "method=dawid-skene").await;
    let e1 = by_external(&fitted, "e1");
    assert_eq!(e1["consensus_source"], "dawid-skene");
    let confidence = e1["confidence"].as_f64().expect("a posterior");
    assert!(confidence > 0.5 && confidence <= 1.0);
    assert_eq!(
        by_external(&fitted, "e2")["consensus_source"],
        "adjudicated"
    );

    for (query, field) in [
        ("format=xml", "format"),
        ("split=1,2", "split"),
        ("min_agreement=2", "min_agreement"),
        ("pools=robots", "pools"),
        ("min_confidence=0.5", "min_confidence"),
    ] {
        let response = admin
            .get(&format!("/api/v1/projects/{pid}/export?{query}"))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let body = response.text().await.unwrap();
        assert!(body.contains(field), "{query}: {body}");
    }
}

async fn every_export_is_a_version_with_a_card(app: TestApp) {
    let (admin, pid) = labelled_project(&app).await;
    let refused = admin
        .get(&format!("/api/v1/projects/{pid}/export?format=xml"))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (vid, first) =
        export_version(&admin, pid, "format=parquet&split=80,10,10&drop=email").await;

    let list: Value = admin
        .get(&format!("/api/v1/projects/{pid}/exports"))
        .await
        .json()
        .await
        .unwrap();
    let list = list.as_array().expect("versions");
    assert_eq!(list.len(), 1, "a refused export leaves no version");
    let version = &list[0];
    assert_eq!(version["id"], vid);
    assert_eq!(version["format"], "parquet");
    assert_eq!(version["rows"], 6);
    assert_eq!(version["labels"], 22);
    assert_eq!(version["bytes"], first.len());
    assert_eq!(
        version["content_sha256"],
        hex::encode(Sha256::digest(&first))
    );
    assert_eq!(version["settings"]["drop_fields"], json!(["email"]));

    let again = admin
        .get(&format!("/api/v1/projects/{pid}/exports/{vid}"))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(
        again.headers()["x-tally-content-sha256"],
        version["content_sha256"].as_str().unwrap()
    );
    assert_eq!(again.bytes().await.unwrap(), first, "byte for byte");

    let card = admin
        .get(&format!("/api/v1/projects/{pid}/exports/{vid}/card"))
        .await
        .text()
        .await
        .unwrap();
    for expected in [
        "Krippendorff's alpha",
        "95% interval",
        "Guideline version",
        "Fields dropped: email",
        "| expert | 4 |",
        "| train |",
        "adjudicated",
    ] {
        assert!(
            card.contains(expected),
            "the card says {expected:?}:\n{card}"
        );
    }
    let card: Value = admin
        .get(&format!(
            "/api/v1/projects/{pid}/exports/{vid}/card?format=json"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(card["stats"]["rows"], 6);
    assert_eq!(card["stats"]["pools"]["generalist"], 18);
    assert_eq!(card["content_sha256"], version["content_sha256"]);

    let other = app
        .project_from(
            &admin,
            json!({"name": "Other", "labels": ["a", "b"]}),
            json!([{"data": {"text": "x"}}]),
        )
        .await;
    let wrong = admin
        .get(&format!("/api/v1/projects/{other}/exports/{vid}"))
        .await;
    assert_eq!(
        wrong.status(),
        StatusCode::NOT_FOUND,
        "a version belongs to its project"
    );
    let rater = app.rater("mallory").await;
    let refused = rater
        .get(&format!("/api/v1/projects/{pid}/exports/{vid}"))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

async fn versions_are_stored_compressed_and_chunks_stored_before_still_read(app: TestApp) {
    let (admin, pid) = labelled_project(&app).await;
    let (vid, file) = export_version(&admin, pid, "format=label-studio").await;
    let stored = app
        .count(&format!(
            "SELECT CAST(coalesce(sum(length(bytes)), 0) AS BIGINT) FROM dataset_chunks
             WHERE version_id = {vid} AND encoding = 'snappy'"
        ))
        .await;
    assert!(
        stored > 0 && (stored as usize) < file.len() / 2,
        "{stored} bytes stored for a file of {}",
        file.len()
    );
    let downloaded = body_of(&admin, &format!("/api/v1/projects/{pid}/exports/{vid}")).await;
    assert_eq!(downloaded, file, "byte for byte");

    // A version exported before chunks were compressed holds them as written.
    crate::audit::execute(
        &app,
        &format!("DELETE FROM dataset_chunks WHERE version_id = {vid}"),
    )
    .await
    .expect("chunks removed");
    let sql = "INSERT INTO dataset_chunks (version_id, seq, bytes) VALUES ($1, $2, $3)";
    let (half, rest) = file.split_at(file.len() / 2);
    for (seq, raw) in [(1_i64, half), (2, rest)] {
        crate::on_test_pool!(&app.store, pool => {
            sqlx::query(sql).bind(vid).bind(seq).bind(raw).execute(pool).await.map(|_| ())
        })
        .expect("chunk as written");
    }
    let downloaded = body_of(&admin, &format!("/api/v1/projects/{pid}/exports/{vid}")).await;
    assert_eq!(
        downloaded, file,
        "chunks stored as written read back byte for byte"
    );
}

async fn the_command_line_and_the_form_make_versions(app: TestApp) {
    let (admin, pid) = labelled_project(&app).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("labels.parquet");
    let output = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args([
            "export",
            "--project",
            &pid.to_string(),
            "--format",
            "parquet",
            "--split",
            "80,10,10",
            "--seed",
            "5",
        ])
        .arg("--out")
        .arg(&out)
        .args(["--database-url", &app.database_url])
        .env("TALLY_LOG", "error")
        .output()
        .expect("run tally export");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "piped, it prints nothing"
    );
    let file = std::fs::read(&out).expect("the export file");
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file.clone())).expect("Parquet");
    assert!(builder.schema().field_with_name("split").is_ok());
    let card = std::fs::read_to_string(dir.path().join("labels.parquet.card.md"))
        .expect("the card beside it");
    assert!(card.contains("Dataset card: Data"));
    let card_json: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("labels.parquet.card.json")).expect("json card"),
    )
    .unwrap();
    assert_eq!(
        card_json["content_sha256"],
        hex::encode(Sha256::digest(&file))
    );
    let versions: Value = admin
        .get(&format!("/api/v1/projects/{pid}/exports"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(versions[0]["created_by"], "command line");

    let failed = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["export", "--project", &pid.to_string(), "--format", "xml"])
        .args(["--database-url", &app.database_url])
        .env("TALLY_LOG", "error")
        .output()
        .expect("run tally export");
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.starts_with("error:") && stderr.contains("xml") && stderr.lines().count() == 1,
        "{stderr}"
    );

    let browser = app.signed_in_admin().await;
    let page = browser.page(&format!("/admin/projects/{pid}")).await;
    assert!(
        page.contains(&format!("id=\"version-{}\"", versions[0]["id"])),
        "the page lists versions"
    );
    let csrf = csrf_in(&page);
    let response = browser
        .post_form(
            &format!("/admin/projects/{pid}/export"),
            &[
                ("csrf", &csrf),
                ("format", "csv"),
                ("rows", "items"),
                ("labels", "all"),
                ("method", "majority"),
                ("min_agreement", ""),
                ("pools", ""),
                ("split", ""),
                ("seed", ""),
                ("drop", ""),
                ("include_gold", "false"),
                ("include_feedback", "true"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .ends_with(".csv\""));
    let csv = response.text().await.unwrap();
    assert_eq!(csv.lines().count(), 7, "a header and six items");
    let forged = browser
        .post_form(
            &format!("/admin/projects/{pid}/export"),
            &[("csrf", "forged"), ("format", "csv")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let versions: Value = admin
        .get(&format!("/api/v1/projects/{pid}/exports"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(versions[0]["created_by"], "chief");
}
