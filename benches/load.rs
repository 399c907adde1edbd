//! Load benchmark: raters labelling through the real HTTP API against the HTTP floor.
//!
//! `cargo bench --bench load` serves tally in-process on a fresh SQLite file (and on
//! PostgreSQL when TALLY_TEST_POSTGRES_URL is set), lets RATERS concurrent raters take
//! `next` and post labels until an overlap-3 project is complete, and then, in the same run,
//! sends as many requests to a static asset (the HTTP floor: routing, sessions layer and
//! headers, no database). It prints labels per second, request latencies and the ratio.
//! Settings: TALLY_BENCH_RATERS (default 50), TALLY_BENCH_ITEMS (default 2000).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tally::domain::user::Role;
use tally::{Config, Store};
use tokio::sync::Mutex;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn serve(store: Store) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = tally::app(tally::AppState::new(store, Config::default()));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .ok();
    });
    addr
}

async fn token_for(store: &Store, name: &str, role: Role) -> String {
    let user = store.create_user(name, role, None).await.expect("user");
    let (token, hash) = tally::auth::new_api_token();
    store.insert_token(user.id, &hash).await.expect("token");
    token
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Run {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn describe(&mut self, what: &str) {
        self.latencies.sort();
        println!(
            "  {what:<28} {:>8} requests in {:>6.2} s = {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            percentile(&self.latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&self.latencies, 0.99).as_secs_f64() * 1e3,
        );
    }
}

async fn labelling_run(base: &str, tokens: Vec<String>, pid: i64) -> (Run, usize) {
    let client = reqwest::Client::new();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            let (client, base, latencies) = (client.clone(), base.to_string(), latencies.clone());
            tokio::spawn(async move {
                let mut labels = 0usize;
                let mut mine = Vec::new();
                loop {
                    let t = Instant::now();
                    let next = client
                        .get(format!("{base}/api/v1/projects/{pid}/next"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .expect("next");
                    mine.push(t.elapsed());
                    if next.status() == reqwest::StatusCode::NO_CONTENT {
                        break;
                    }
                    let body: Value = next.json().await.expect("json");
                    let iid = body["item"]["id"].as_i64().expect("id");
                    let value = ["pos", "neg", "neutral"][(i + labels) % 3];
                    let t = Instant::now();
                    let posted = client
                        .post(format!("{base}/api/v1/projects/{pid}/items/{iid}/labels"))
                        .bearer_auth(&token)
                        .json(&json!({"value": value, "duration_ms": 900}))
                        .send()
                        .await
                        .expect("label");
                    mine.push(t.elapsed());
                    assert_eq!(posted.status(), reqwest::StatusCode::CREATED);
                    labels += 1;
                }
                latencies.lock().await.extend(mine);
                labels
            })
        })
        .collect();
    let mut labels = 0;
    for task in tasks {
        labels += task.await.expect("rater");
    }
    let elapsed = started.elapsed();
    let latencies = std::mem::take(&mut *latencies.lock().await);
    (
        Run {
            requests: latencies.len(),
            elapsed,
            latencies,
        },
        labels,
    )
}

async fn floor_run(base: &str, concurrency: usize, requests: usize) -> Run {
    let client = reqwest::Client::new();
    let per_task = requests.div_ceil(concurrency);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, base) = (client.clone(), base.to_string());
            tokio::spawn(async move {
                let mut mine = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let t = Instant::now();
                    let r = client
                        .get(format!("{base}/static/keys.js"))
                        .send()
                        .await
                        .expect("floor");
                    r.bytes().await.expect("body");
                    mine.push(t.elapsed());
                }
                mine
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("floor task"));
    }
    Run {
        requests: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

async fn bench(name: &str, url: &str, raters: usize, items: usize) {
    let store = Store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let addr = serve(store.clone()).await;
    let base = format!("http://{addr}");
    let admin = token_for(&store, "bench-admin", Role::Admin).await;
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(&admin)
        .json(&json!({"name": "bench", "labels": ["pos", "neg", "neutral"], "overlap": 3}))
        .send()
        .await
        .expect("project")
        .json()
        .await
        .expect("json");
    let pid = created["id"].as_i64().expect("pid");
    let rows: Vec<Value> = (0..items)
        .map(|i| json!({"external_id": format!("b{i}"), "data": {"text": format!("item {i}")}}))
        .collect();
    let imported = client
        .post(format!("{base}/api/v1/projects/{pid}/items"))
        .bearer_auth(&admin)
        .json(&rows)
        .send()
        .await
        .expect("import");
    assert_eq!(imported.status(), reqwest::StatusCode::CREATED);
    let mut tokens = Vec::new();
    for i in 0..raters {
        tokens.push(token_for(&store, &format!("bench-rater-{i}"), Role::Rater).await);
    }
    println!("{name}: {raters} raters, {items} items x overlap 3");
    let (mut labelling, labels) = labelling_run(&base, tokens, pid).await;
    assert_eq!(labels, items * 3, "every wanted label was given");
    labelling.describe("next + label (API)");
    println!(
        "  {:<28} {:>8.0} labels/s",
        "labels",
        labels as f64 / labelling.elapsed.as_secs_f64()
    );
    let mut floor = floor_run(&base, raters, labelling.requests).await;
    floor.describe("HTTP floor (static asset)");
    println!(
        "  tally's labelling requests run at {:.1}% of the HTTP floor's rate",
        100.0 * labelling.per_second() / floor.per_second()
    );
    store.close().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let raters = setting("TALLY_BENCH_RATERS", 50);
    let items = setting("TALLY_BENCH_ITEMS", 2000);
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        bench("SQLite", &url, raters, items).await;
        match std::env::var("TALLY_TEST_POSTGRES_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                use sqlx::Connection;
                let name = format!("tally_bench_{}", tally::auth::random_hex(4));
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("postgres");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create");
                let url = match admin_url.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => admin_url.clone(),
                };
                bench("PostgreSQL", &url, raters, items).await;
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok();
            }
            _ => println!("PostgreSQL: not run (set TALLY_TEST_POSTGRES_URL)"),
        }
    });
}
