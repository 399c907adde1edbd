//! Imports land whole or not at all, and bad ones name the line.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{TestApp, TEST_MAX_BODY};
use crate::on_both_backends;

on_both_backends!(
    json_ndjson_and_csv_imports_land,
    bad_imports_name_the_line_and_import_nothing,
    oversized_bodies_get_413,
    large_imports_keep_file_order_and_refuse_late_duplicates,
);

async fn new_project(app: &TestApp, admin: &crate::harness::Api) -> i64 {
    let response = admin
        .post_json(
            "/api/v1/projects",
            &json!({"name": "P", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 2}),
        )
        .await;
    let _ = app;
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

async fn json_ndjson_and_csv_imports_land(app: TestApp) {
    let admin = app.admin().await;
    let pid = new_project(&app, &admin).await;
    let path = format!("/api/v1/projects/{pid}/items");

    let array = json!([
        {"external_id": "a1", "data": {"text": "first", "lang": "en"}, "gold": "pos"},
        {"data": {"text": "no id"}}
    ]);
    let response = admin.post_json(&path, &array).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"imported": 2, "skipped": 0})
    );

    let ndjson = "{\"external_id\": \"n1\", \"data\": {\"text\": \"x\"}}\n\n{\"external_id\": 7, \"data\": {\"text\": \"y\"}}\n";
    let response = admin
        .post_raw(&path, "application/x-ndjson", ndjson.as_bytes().to_vec())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.json::<Value>().await.unwrap()["imported"], 2);

    let csv = "external_id,text,gold\nc1,\"quoted, with comma\",neg\nc2,plain,\n";
    let response = admin
        .post_raw(&path, "text/csv", csv.as_bytes().to_vec())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(items_in(&app, pid).await, 6);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM items WHERE project_id = {pid} AND gold IS NOT NULL"
        ))
        .await,
        2
    );
    assert_eq!(
        app.count("SELECT count(*) FROM items WHERE external_id = '7'")
            .await,
        1
    );
}

async fn bad_imports_name_the_line_and_import_nothing(app: TestApp) {
    let admin = app.admin().await;
    let pid = new_project(&app, &admin).await;
    let path = format!("/api/v1/projects/{pid}/items");
    admin
        .post_json(
            &path,
            &json!([{"external_id": "taken", "data": {"text": "t"}}]),
        )
        .await;

    let mut bad_json_line_7 = String::new();
    for i in 1..=6 {
        bad_json_line_7.push_str(&format!(
            "{{\"external_id\": \"l{i}\", \"data\": {{\"text\": \"ok\"}}}}\n"
        ));
    }
    bad_json_line_7.push_str("{\"external_id\": \"l7\", \"data\": {\"text\": \"broken\"\n");
    let mut invalid_utf8 = b"external_id,text\nu1,fine\nu2,bad \xff byte\n".to_vec();
    invalid_utf8.extend_from_slice(b"u3,after\n");

    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        ("application/x-ndjson", bad_json_line_7.into_bytes(), StatusCode::UNPROCESSABLE_ENTITY, "line 7"),
        ("application/json", br#"[{"data": {"text": "a"}}, {"external_id": "b"}]"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "line 1"),
        ("text/csv", b"external_id,text\nr1,fine\nr2,too,many\n".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "line 3"),
        ("text/csv", invalid_utf8, StatusCode::UNPROCESSABLE_ENTITY, "line 3"),
        ("application/json", br#"[{"data": {"text": "a"}, "gold": "maybe"}]"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "line 1"),
        ("application/x-ndjson", b"{\"external_id\": \"new\", \"data\": {\"t\": 1}}\n{\"external_id\": \"taken\", \"data\": {\"t\": 2}}\n".to_vec(), StatusCode::CONFLICT, "line 2"),
        ("application/json", b"{\"not\": \"an array\"}".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "line 1"),
        ("application/json", b"[]".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "no items"),
    ];
    for (content_type, body, status, needle) in cases {
        let response = admin.post_raw(&path, content_type, body).await;
        assert_eq!(response.status(), status);
        let error: Value = response.json().await.unwrap();
        let message = error["error"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{message:?} should name {needle:?}"
        );
        assert_eq!(
            items_in(&app, pid).await,
            1,
            "a refused import must store nothing ({message})"
        );
    }
}

async fn oversized_bodies_get_413(app: TestApp) {
    let admin = app.admin().await;
    let pid = new_project(&app, &admin).await;
    let big_text = "x".repeat(TEST_MAX_BODY + 10);
    let body = format!("{{\"data\": {{\"text\": \"{big_text}\"}}}}\n");
    let response = admin
        .post_raw(
            &format!("/api/v1/projects/{pid}/items"),
            "application/x-ndjson",
            body.into_bytes(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    assert_eq!(items_in(&app, pid).await, 0);
}

/// Items are written many to a statement; a file longer than one statement still lands in
/// file order, and a stored id repeated far into it is still refused by its line.
async fn large_imports_keep_file_order_and_refuse_late_duplicates(app: TestApp) {
    let admin = app.admin().await;
    let pid = new_project(&app, &admin).await;
    let path = format!("/api/v1/projects/{pid}/items");
    admin
        .post_json(
            &path,
            &json!([{"external_id": "taken", "data": {"text": "t"}}]),
        )
        .await;
    let lines = |repeat_at: Option<usize>| {
        (1..=1234)
            .map(|line| {
                let id = if Some(line) == repeat_at {
                    "taken".to_string()
                } else {
                    format!("e{line}")
                };
                format!("{{\"external_id\": \"{id}\", \"data\": {{\"text\": \"row {line}\"}}}}\n")
            })
            .collect::<String>()
            .into_bytes()
    };

    let response = admin
        .post_raw(&path, "application/x-ndjson", lines(Some(1100)))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let message = response.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("line 1100"), "{message}");
    assert!(message.contains("\"taken\""), "{message}");
    assert_eq!(
        items_in(&app, pid).await,
        1,
        "nothing of the refused file is stored"
    );

    let response = admin
        .post_raw(&path, "application/x-ndjson", lines(None))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.json::<Value>().await.unwrap()["imported"], 1234);
    assert_eq!(items_in(&app, pid).await, 1235);
    for line in [1, 500, 501, 1000, 1001, 1234] {
        let position = app
            .count(&format!(
                "SELECT position FROM items WHERE project_id = {pid} AND external_id = 'e{line}'"
            ))
            .await;
        assert_eq!(
            position,
            line as i64 + 1,
            "e{line} keeps its place in the file"
        );
    }
    assert_eq!(
        app.count(&format!(
            "SELECT count(DISTINCT position) FROM items WHERE project_id = {pid}"
        ))
        .await,
        1235
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_leaves_sqlites_connections_with_their_defaults() {
    crate::harness::run(
        crate::harness::Backend::Sqlite,
        "an_import_leaves_sqlites_connections_with_their_defaults",
        import_then_check_sqlite_connections,
    )
    .await
}

/// An import widens its SQLite connection's page cache and keeps statement journals in
/// memory; every connection in the pool afterwards has SQLite's defaults again, whether the
/// import landed or was refused.
async fn import_then_check_sqlite_connections(app: TestApp) {
    let admin = app.admin().await;
    let pid = new_project(&app, &admin).await;
    let path = format!("/api/v1/projects/{pid}/items");
    let items: Vec<Value> = (0..2000)
        .map(|n| json!({"external_id": format!("e{n}"), "data": {"text": format!("item {n}")}}))
        .collect();
    let landed = admin.post_json(&path, &Value::Array(items)).await;
    assert_eq!(landed.status(), StatusCode::CREATED);
    let again = json!([{"external_id": "new", "data": {"text": "x"}}, {"external_id": "e7", "data": {"text": "y"}}]);
    let refused = admin.post_json(&path, &again).await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert_eq!(items_in(&app, pid).await, 2000);
    let tally::Store::Sqlite(backend) = &app.store else {
        panic!("a SQLite test app");
    };
    let mut held = Vec::new();
    for _ in 0..backend.pool.options().get_max_connections() {
        let mut conn = backend.pool.acquire().await.expect("a connection");
        let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut *conn)
            .await
            .expect("cache_size");
        let temp_store: i64 = sqlx::query_scalar("PRAGMA temp_store")
            .fetch_one(&mut *conn)
            .await
            .expect("temp_store");
        assert_eq!((cache, temp_store), (-2000, 0));
        held.push(conn);
    }
}
