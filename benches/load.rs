//! Load benchmark: raters labelling through the real HTTP API, against the HTTP floor.
//!
//! `cargo bench --bench load` starts the release `tally serve` as its own process on a fresh
//! SQLite file (and on a fresh PostgreSQL database when TALLY_TEST_POSTGRES_URL is set),
//! loads a project of ITEMS items (overlap 3), and climbs a ladder of concurrent raters.
//! At each rung the raters loop `next` then label for SECONDS; then, in the same run and at
//! the same concurrency, the client fetches a static asset twice per loop for as long (the
//! HTTP floor: same server, router and layers, no database). It prints label round trips per
//! second, request latencies, errors, the floor's round trips per second, the ratio, the
//! server's resident memory, and the CPU time per label round trip of the server and, on
//! PostgreSQL, of the local PostgreSQL's processes (steadier than the rates when the machine
//! is shared), and after each rung the group commit's writes, batches and writes sent alone,
//! from the server's `/metrics`.
//!
//! Settings: TALLY_BENCH_LADDER (default 16,64,256), TALLY_BENCH_ITEMS (default 100000),
//! TALLY_BENCH_SECONDS per rung (default 10), TALLY_BENCH_BACKENDS (default sqlite,postgres),
//! TALLY_BIN (default the binary cargo built).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
#[path = "support/server.rs"]
mod server;
#[path = "support/setting.rs"]
mod setting;
use server::{postgres_cpu_seconds, Server};
use setting::setting;
use tally::domain::user::Role;
use tally::Store;

fn ladder() -> Vec<usize> {
    std::env::var("TALLY_BENCH_LADDER")
        .unwrap_or_else(|_| "16,64,256".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
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

/// What one rung's clients did.
#[derive(Default)]
struct Tally {
    round_trips: usize,
    errors: usize,
    latencies: Vec<Duration>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.round_trips += other.round_trips;
        self.errors += other.errors;
        self.latencies.extend(other.latencies);
    }
}

/// Runs `clients` loops of `round_trip` until `seconds` pass; each returns its requests'
/// latencies, or None on an error.
async fn drive<F, Fut>(clients: usize, seconds: f64, round_trip: F) -> (Tally, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<Vec<Duration>>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let round_trip = Arc::new(round_trip);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (stop, round_trip) = (stop.clone(), round_trip.clone());
            tokio::spawn(async move {
                let mut mine = Tally::default();
                while !stop.load(Ordering::Relaxed) {
                    match round_trip(i).await {
                        Some(latencies) => {
                            mine.round_trips += 1;
                            mine.latencies.extend(latencies);
                        }
                        None => mine.errors += 1,
                    }
                }
                mine
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for task in tasks {
        total.merge(task.await.expect("client"));
    }
    let elapsed = started.elapsed();
    total.latencies.sort();
    (total, elapsed)
}

/// One `next` then one label; None when either answers other than the protocol says.
async fn label_round_trip(
    client: &reqwest::Client,
    base: &str,
    pid: i64,
    token: &str,
    seq: usize,
) -> Option<Vec<Duration>> {
    let t = Instant::now();
    let next = client
        .get(format!("{base}/api/v1/projects/{pid}/next"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    if next.status() != reqwest::StatusCode::OK {
        return None;
    }
    let body: Value = next.json().await.ok()?;
    let first = t.elapsed();
    let iid = body["item"]["id"].as_i64()?;
    let value = ["pos", "neg", "neutral"][seq % 3];
    let t = Instant::now();
    let posted = client
        .post(format!("{base}/api/v1/projects/{pid}/items/{iid}/labels"))
        .bearer_auth(token)
        .json(&json!({"value": value, "duration_ms": 900}))
        .send()
        .await
        .ok()?;
    let created = posted.status() == reqwest::StatusCode::CREATED;
    posted.bytes().await.ok()?;
    created.then(|| vec![first, t.elapsed()])
}

/// Two requests for a static asset: the floor's equivalent of one round trip.
async fn floor_round_trip(client: &reqwest::Client, base: &str) -> Option<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(2);
    for _ in 0..2 {
        let t = Instant::now();
        let r = client
            .get(format!("{base}/static/keys.js"))
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.bytes().await.ok()?;
        latencies.push(t.elapsed());
    }
    Some(latencies)
}

struct Row {
    raters: usize,
    label_rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    floor_rate: f64,
    floor_p99_ms: f64,
    rss_mib: f64,
    peak_mib: f64,
    /// The server's CPU time per label round trip, in microseconds: how much work one
    /// round trip costs it, steadier than the rates on a shared machine.
    cpu_us: f64,
    /// The same for the local PostgreSQL's processes, on PostgreSQL.
    db_cpu_us: Option<f64>,
}

async fn setup_project(client: &reqwest::Client, base: &str, admin: &str, items: usize) -> i64 {
    let created: Value = client
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(admin)
        .json(&json!({"name": "bench", "labels": ["pos", "neg", "neutral"], "overlap": 3}))
        .send()
        .await
        .expect("project")
        .json()
        .await
        .expect("json");
    let pid = created["id"].as_i64().expect("pid");
    let started = Instant::now();
    for chunk_start in (0..items).step_by(10_000) {
        let rows: Vec<Value> = (chunk_start..items.min(chunk_start + 10_000))
            .map(|i| json!({"external_id": format!("b{i}"), "data": {"text": format!("item {i}")}}))
            .collect();
        let imported = client
            .post(format!("{base}/api/v1/projects/{pid}/items"))
            .bearer_auth(admin)
            .json(&rows)
            .send()
            .await
            .expect("import");
        assert_eq!(imported.status(), reqwest::StatusCode::CREATED);
    }
    println!(
        "  loaded {items} items in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    pid
}

/// The server's group commit counters, from `/metrics`.
#[derive(Clone, Copy, Default)]
struct Commits {
    batches: f64,
    batched: f64,
    alone: f64,
}

impl Commits {
    fn since(self, before: Commits) -> Commits {
        Commits {
            batches: self.batches - before.batches,
            batched: self.batched - before.batched,
            alone: self.alone - before.alone,
        }
    }
}

async fn group_commit(client: &reqwest::Client, base: &str, admin: &str) -> Commits {
    let text = client
        .get(format!("{base}/metrics"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Commits {
        batches: value("tally_group_commit_batches_total "),
        batched: value("tally_group_commit_writes_total{path=\"batch\"} "),
        alone: value("tally_group_commit_writes_total{path=\"alone\"} "),
    }
}

async fn bench(name: &str, url: &str, items: usize, seconds: f64) -> Vec<Row> {
    let postgres = url.starts_with("postgres");
    // The server migrates the database (the binary under test may be an older build).
    let server = Server::start(url);
    let base = server.base.clone();
    let store = Store::connect(url).await.expect("connect");
    let admin = token_for(&store, "bench-admin", Role::Admin).await;
    let rungs = ladder();
    let most = rungs.iter().copied().max().unwrap_or(0);
    let mut tokens = Vec::with_capacity(most);
    for i in 0..most {
        tokens.push(token_for(&store, &format!("bench-rater-{i}"), Role::Rater).await);
    }
    store.close().await;
    let tokens = Arc::new(tokens);
    println!("{name}: {items} items x overlap 3, {seconds} s per rung");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .expect("client");
    let pid = setup_project(&client, &base, &admin, items).await;
    let mut rows = Vec::new();
    for raters in rungs {
        let (c, b, t) = (client.clone(), base.clone(), tokens.clone());
        let commits_before = group_commit(&client, &base, &admin).await;
        let cpu_before = server.cpu_seconds();
        let db_cpu_before = postgres.then(postgres_cpu_seconds);
        let (labelled, elapsed) = drive(raters, seconds, move |i| {
            let (c, b, t) = (c.clone(), b.clone(), t.clone());
            async move { label_round_trip(&c, &b, pid, &t[i], i).await }
        })
        .await;
        let server_cpu = server.cpu_seconds() - cpu_before;
        let commits = group_commit(&client, &base, &admin)
            .await
            .since(commits_before);
        let db_cpu = db_cpu_before.map(|before| postgres_cpu_seconds() - before);
        let (rss_mib, peak_mib) = server.memory_mib();
        let (c, b) = (client.clone(), base.clone());
        let (floor, floor_elapsed) = drive(raters, seconds, move |_| {
            let (c, b) = (c.clone(), b.clone());
            async move { floor_round_trip(&c, &b).await }
        })
        .await;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let row = Row {
            raters,
            label_rate: labelled.round_trips as f64 / elapsed.as_secs_f64(),
            p50_ms: ms(percentile(&labelled.latencies, 0.5)),
            p99_ms: ms(percentile(&labelled.latencies, 0.99)),
            errors: labelled.errors,
            floor_rate: floor.round_trips as f64 / floor_elapsed.as_secs_f64(),
            floor_p99_ms: ms(percentile(&floor.latencies, 0.99)),
            rss_mib,
            peak_mib,
            cpu_us: server_cpu * 1e6 / labelled.round_trips.max(1) as f64,
            db_cpu_us: db_cpu.map(|cpu| cpu * 1e6 / labelled.round_trips.max(1) as f64),
        };
        println!(
            "  {:>4} raters: {:>7.0} label round trips/s (p50 {:.1} ms, p99 {:.1} ms, {} errors); floor {:>7.0} round trips/s (p99 {:.1} ms); {:.1}% of the floor; RSS {:.0} MiB (peak {:.0}); server CPU {:.0} µs per round trip{}",
            row.raters, row.label_rate, row.p50_ms, row.p99_ms, row.errors, row.floor_rate,
            row.floor_p99_ms, 100.0 * row.label_rate / row.floor_rate, row.rss_mib, row.peak_mib,
            row.cpu_us,
            row.db_cpu_us.map_or(String::new(), |us| format!(", PostgreSQL CPU {us:.0} µs"))
        );
        println!(
            "        group commit: {:.0} writes in {:.0} batches ({:.1} a batch), {:.0} alone",
            commits.batched,
            commits.batches,
            commits.batched / commits.batches.max(1.0),
            commits.alone
        );
        rows.push(row);
    }
    rows
}

fn print_table(results: &[(&str, Vec<Row>)]) {
    println!();
    println!("| backend | raters | label round trips/s | request p50 / p99 | errors | HTTP floor round trips/s | ratio | server RSS (peak) | server CPU per round trip | PostgreSQL CPU per round trip |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, rows) in results {
        for r in rows {
            println!(
                "| {name} | {} | {:.0} | {:.1} / {:.1} ms | {} | {:.0} | {:.1}% | {:.0} MiB ({:.0}) | {:.0} µs | {} |",
                r.raters,
                r.label_rate,
                r.p50_ms,
                r.p99_ms,
                r.errors,
                r.floor_rate,
                100.0 * r.label_rate / r.floor_rate,
                r.rss_mib,
                r.peak_mib,
                r.cpu_us,
                r.db_cpu_us.map_or("–".to_string(), |us| format!("{us:.0} µs"))
            );
        }
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let items = setting("TALLY_BENCH_ITEMS", 100_000usize);
    let seconds = setting("TALLY_BENCH_SECONDS", 10.0f64);
    let backends =
        std::env::var("TALLY_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let wanted = |name: &str| backends.split(',').any(|b| b.trim() == name);
    runtime.block_on(async {
        let mut results = Vec::new();
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        if wanted("sqlite") {
            results.push(("SQLite", bench("SQLite", &url, items, seconds).await));
        }
        match std::env::var("TALLY_TEST_POSTGRES_URL") {
            _ if !wanted("postgres") => {}
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
                results.push((
                    "PostgreSQL",
                    bench("PostgreSQL", &url, items, seconds).await,
                ));
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok();
            }
            _ => println!("PostgreSQL: not run (set TALLY_TEST_POSTGRES_URL)"),
        }
        print_table(&results);
    });
}
