//! Monitoring: `/metrics` read by a Prometheus text-format parser, who may scrape it,
//! `/healthz` and `/readyz`, request ids, and JSON log lines from the binary.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use prom_text_format_parser::{Sample, Scrape, Type, ValueType};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tally::config::Secret;
use tally::{Config, Store};

use crate::harness::{csrf_in, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    metrics_count_requests_labels_feedback_and_failed_logins,
    metrics_need_an_admin_or_the_scrape_token,
    readyz_says_when_migrations_are_missing,
    request_ids_are_kept_when_sane_and_replaced_otherwise,
    json_logs_carry_the_request_id
);

/// The scrape read by a strict parser of the Prometheus text format: any malformed line
/// fails the test.
fn parse(text: &str) -> Scrape {
    Scrape::parse(text).unwrap_or_else(|e| panic!("{e:?} in\n{text}"))
}

fn label<'a>(sample: &'a Sample, key: &str) -> Option<&'a str> {
    sample
        .labels
        .iter()
        .find(|l| l.key == key)
        .map(|l| l.value.as_str())
}

/// The samples (not sums or counts) of a metric of this type whose labels include every
/// pair given.
fn samples<'a>(
    scrape: &'a Scrape,
    name: &str,
    kind: Type,
    labels: &[(&str, &str)],
) -> Vec<&'a Sample> {
    let metric = scrape
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name} in {scrape}"));
    assert_eq!(metric.kind, kind, "{name}");
    metric
        .samples
        .iter()
        .filter(|s| s.value.value_type == ValueType::Sample)
        .filter(|s| labels.iter().all(|(k, v)| label(s, k) == Some(*v)))
        .collect()
}

/// The one value of a counter or gauge with these labels.
fn value(scrape: &Scrape, name: &str, kind: Type, labels: &[(&str, &str)]) -> f64 {
    let found = samples(scrape, name, kind, labels);
    assert_eq!(found.len(), 1, "one {name} with {labels:?} in\n{scrape}");
    found[0].value.value.as_f64()
}

async fn scrape_as(api: &Api) -> Scrape {
    let response = api.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse(&response.text().await.unwrap())
}

async fn feedback(api: &Api, pid: i64, event_id: &str, external_id: &str) -> StatusCode {
    let event = json!({"event_id": event_id, "external_id": external_id, "value": "pos", "source": "model-a"});
    api.post_json(&format!("/api/v1/projects/{pid}/feedback"), &event)
        .await
        .status()
}

async fn metrics_count_requests_labels_feedback_and_failed_logins(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_with_items(&admin, 1, &["one", "two", "three"])
        .await;
    let rater = app.rater("rita").await;
    for _ in 0..2 {
        let item = rater.next(pid).await.expect("an item");
        assert_eq!(
            rater.label(pid, item, "pos").await.status(),
            StatusCode::CREATED
        );
    }
    rater.next(pid).await.expect("the third item, leased");

    let failed = app.browser().login("nobody", "not the password").await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);

    let made: Value = admin
        .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let key = Api {
        token: made["key"].as_str().unwrap().to_string(),
        ..admin.clone()
    };
    assert_eq!(feedback(&key, pid, "e1", "x1").await, StatusCode::CREATED);
    assert_eq!(feedback(&key, pid, "e1", "x1").await, StatusCode::OK);
    assert_eq!(
        feedback(&key, pid, "e2", "no-such-item").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let scrape = scrape_as(&admin).await;
    let project = pid.to_string();
    let p = project.as_str();
    let next = "/api/v1/projects/{pid}/next".to_string();
    let served = value(
        &scrape,
        "tally_http_requests_total",
        Type::Counter,
        &[("route", &next), ("method", "GET"), ("status", "200")],
    );
    assert_eq!(served, 3.0);
    let raw_path = format!("/projects/{pid}/");
    let requests = samples(&scrape, "tally_http_requests_total", Type::Counter, &[]);
    assert!(
        requests
            .iter()
            .all(|s| !label(s, "route").unwrap_or("").contains(&raw_path)),
        "routes are templates, never raw paths"
    );
    let buckets = samples(
        &scrape,
        "tally_http_request_duration_seconds",
        Type::Histogram,
        &[("route", &next), ("method", "GET")],
    );
    assert!(buckets.len() >= 10, "{buckets:?}");
    let everything = samples(
        &scrape,
        "tally_http_request_duration_seconds",
        Type::Histogram,
        &[("route", &next), ("method", "GET"), ("le", "+Inf")],
    );
    assert_eq!(everything.len(), 1, "{buckets:?}");
    assert_eq!(everything[0].value.value.as_f64(), 3.0);
    let labels = [("project", p), ("pool", "generalist")];
    assert_eq!(
        value(
            &scrape,
            "tally_labels_submitted_total",
            Type::Counter,
            &labels
        ),
        2.0
    );
    assert_eq!(
        value(&scrape, "tally_queue_depth", Type::Gauge, &[("project", p)]),
        1.0
    );
    assert_eq!(
        value(
            &scrape,
            "tally_active_leases",
            Type::Gauge,
            &[("project", p)]
        ),
        1.0
    );
    let failures = value(
        &scrape,
        "tally_login_failures_total",
        Type::Counter,
        &[("reason", "bad_credentials")],
    );
    assert!(failures >= 1.0);
    for outcome in ["accepted", "duplicate", "refused"] {
        let labels = [("project", p), ("source", "model-a"), ("outcome", outcome)];
        assert_eq!(
            value(
                &scrape,
                "tally_feedback_events_total",
                Type::Counter,
                &labels
            ),
            1.0,
            "{outcome}"
        );
    }
    let commits = value(
        &scrape,
        "tally_group_commit_batches_total",
        Type::Counter,
        &[],
    );
    let in_batches = value(
        &scrape,
        "tally_group_commit_writes_total",
        Type::Counter,
        &[("path", "batch")],
    );
    assert!(
        commits >= 1.0 && in_batches >= 2.0,
        "both labels went through the group commit: {commits} {in_batches}"
    );
    let pool = "tally_db_connections";
    let idle = value(&scrape, pool, Type::Gauge, &[("state", "idle")]);
    let in_use = value(&scrape, pool, Type::Gauge, &[("state", "in_use")]);
    let max = value(&scrape, "tally_db_max_connections", Type::Gauge, &[]);
    assert!(
        idle + in_use >= 1.0 && idle + in_use <= max,
        "{idle} {in_use} {max}"
    );
}

async fn metrics_need_an_admin_or_the_scrape_token(app: TestApp) {
    let plain = Client::new();
    let anonymous = plain.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let rater = app.rater("rita").await;
    assert_eq!(rater.get("/metrics").await.status(), StatusCode::FORBIDDEN);
    let unset = plain
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-123")
        .send()
        .await
        .unwrap();
    assert_eq!(unset.status(), StatusCode::UNAUTHORIZED, "no token is set");

    let config = Config {
        metrics_token: Some(Secret("scrape-token-123".into())),
        ..Config::default()
    };
    let addr = crate::harness::serve(app.store.clone(), config).await;
    let url = format!("http://{addr}/metrics");
    let scraped = plain
        .get(&url)
        .bearer_auth("scrape-token-123")
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    parse(&scraped.text().await.unwrap());
    for wrong in ["scrape-token-124", "scrape-token-12", ""] {
        let refused = plain.get(&url).bearer_auth(wrong).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
}

async fn execute(store: &Store, sql: &str) {
    match store {
        Store::Sqlite(b) => {
            sqlx::query(sql).execute(&b.pool).await.expect(sql);
        }
        Store::Postgres(b) => {
            sqlx::query(sql).execute(&b.pool).await.expect(sql);
        }
    }
}

async fn readyz_says_when_migrations_are_missing(app: TestApp) {
    let client = Client::new();
    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );

    execute(
        &app.store,
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .await;
    let ready = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "not ready");
    assert_eq!(body["reason"], "1 migration(s) not applied");

    execute(&app.store, "DROP TABLE _sqlx_migrations").await;
    let ready = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["reason"], "the migrations table cannot be read");

    let health = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "the process is still up");
}

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("an X-Request-Id")
        .to_str()
        .unwrap()
        .to_string()
}

fn is_made_id(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn request_ids_are_kept_when_sane_and_replaced_otherwise(app: TestApp) {
    let client = Client::new();
    let plain = client.get(app.url("/healthz")).send().await.unwrap();
    let first = request_id(&plain);
    assert!(is_made_id(&first), "{first}");
    let again = client.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(request_id(&again), first, "each request gets its own");

    let missing = client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(is_made_id(&request_id(&missing)));

    let sent = "proxy-7f3a_9.Z";
    let echoed = client
        .get(app.url("/api/v1/projects"))
        .header("x-request-id", sent)
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(request_id(&echoed), sent);

    let long = "a".repeat(65);
    let hostile: [&[u8]; 4] = [long.as_bytes(), b"tab\there", b"caf\xc3\xa9", b"two words"];
    for bad in hostile {
        let value = reqwest::header::HeaderValue::from_bytes(bad).unwrap();
        let replaced = client
            .get(app.url("/healthz"))
            .header("x-request-id", value)
            .send()
            .await
            .unwrap();
        let id = request_id(&replaced);
        assert!(is_made_id(&id), "{bad:?} became {id:?}");
    }
}

/// Kills the child when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn json_logs_carry_the_request_id(app: TestApp) {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["serve", "--log-format", "json", "--bind", "127.0.0.1:0"])
            .args(["--database-url", &app.database_url])
            .env("TALLY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tally serve"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .unwrap_or_default();
    let Some(base) = line.trim().strip_prefix("listening on ").map(String::from) else {
        let mut stderr = child.0.stderr.take().unwrap();
        drop(child);
        let mut logs = String::new();
        stderr.read_to_string(&mut logs).unwrap();
        panic!("tally serve printed {line:?}, then on stderr:\n{logs}");
    };

    let browser = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let page = browser.get(format!("{base}/login")).send().await.unwrap();
    let csrf = csrf_in(&page.text().await.unwrap());
    let sent = "json-log-check-42";
    let failed = browser
        .post(format!("{base}/login"))
        .header("x-request-id", sent)
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "nobody"),
            ("password", "wrong one"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(request_id(&failed), sent);

    let mut stderr = child.0.stderr.take().unwrap();
    drop(child);
    let mut logs = String::new();
    stderr.read_to_string(&mut logs).unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let failed_sign_in = lines
        .iter()
        .find(|l| l["fields"]["message"] == "failed sign-in")
        .unwrap_or_else(|| panic!("no failed sign-in line in {logs}"));
    let request = failed_sign_in["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "request"))
        .unwrap_or_else(|| panic!("no request span in {failed_sign_in}"));
    assert_eq!(request["request_id"], sent, "{failed_sign_in}");
    assert_eq!(request["route"], "/login");
    assert_eq!(request["method"], "POST");
}
