//! Pages benchmark: every admin, reviewer and rater page of a big project, timed over HTTP.
//!
//! `cargo bench --bench pages` seeds a fresh SQLite database (and a fresh PostgreSQL
//! database when TALLY_TEST_POSTGRES_URL is set; TALLY_BENCH_BACKENDS=sqlite for one) with
//! one single-choice project of TALLY_BENCH_ITEMS items (default 1,000,000), overlap 4, the
//! first three quarters labelled by four of 30 raters each (3,000,000 labels by default),
//! starts the release `tally serve` on it and asks for each page in turn: once cold, then
//! TALLY_BENCH_REPEAT times (default 5). It prints each page's status, size, first time,
//! median and worst, and marks the pages whose median is over 100 ms.
//! TALLY_BENCH_DB=FILE (SQLite) and TALLY_BENCH_PG_DB=NAME (PostgreSQL) seed a database
//! once, keep it and reuse it on later runs. A first view that
//! showed figures as being computed (a big project's figures not kept yet) is asked for
//! again every 50 ms until it shows them all, and the time until then is printed as well.

use std::time::{Duration, Instant};

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/seed.rs"]
mod seed;
#[path = "support/server.rs"]
mod server;
#[path = "support/setting.rs"]
mod setting;

use postgres::{postgres_database, postgres_url};
use seed::{api_token, seed, Shape};
use server::Server;
use setting::setting;
use tally::domain::user::Role;
use tally::Store;

struct Timing {
    status: u16,
    bytes: usize,
    first: Duration,
    /// When the first view showed figures as being computed: the time until a view showed
    /// them all.
    ready: Option<Duration>,
    median: Duration,
    worst: Duration,
}

async fn time_page(client: &reqwest::Client, url: &str, token: &str, repeat: usize) -> Timing {
    let get = || async {
        let started = Instant::now();
        let response = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let body = response.bytes().await.expect("body");
        (status, body, started.elapsed())
    };
    let asked = Instant::now();
    let (status, body, first) = get().await;
    let computing = |body: &[u8]| body.windows(15).any(|w| w == b" data-computing");
    let mut ready = None;
    if computing(&body) {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if !computing(&get().await.1) {
                ready = Some(asked.elapsed());
                break;
            }
        }
    }
    let mut times = vec![first];
    let mut bytes = body.len();
    for _ in 0..repeat {
        let (_, body, took) = get().await;
        bytes = body.len();
        times.push(took);
    }
    let mut rest = times[1..].to_vec();
    rest.sort();
    Timing {
        status,
        bytes,
        first,
        ready,
        median: rest.get(rest.len() / 2).copied().unwrap_or(first),
        worst: rest.last().copied().unwrap_or(first),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let items: i64 = setting("TALLY_BENCH_ITEMS", 1_000_000);
    let repeat: usize = setting("TALLY_BENCH_REPEAT", 5);
    let backends: String = setting("TALLY_BENCH_BACKENDS", "sqlite,postgres".to_string());
    let wanted = |name: &str| backends.split(',').any(|b| b.trim() == name);
    let shape = Shape {
        items,
        labelled: items * 3 / 4,
        per_item: 4,
        overlap: 4,
        raters: 30,
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let temp = tempfile::tempdir().expect("temp dir");
    if wanted("sqlite") {
        // TALLY_BENCH_DB=FILE seeds FILE once and reuses it on later runs, for profiling.
        let path = std::env::var("TALLY_BENCH_DB")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| temp.path().join("bench.db"));
        let reuse = path.exists();
        let url = format!("sqlite://{}", path.display());
        bench("SQLite", &runtime, &url, &shape, reuse, repeat);
    }
    match std::env::var("TALLY_TEST_POSTGRES_URL") {
        _ if !wanted("postgres") => {}
        Ok(admin_url) if !admin_url.is_empty() => {
            // TALLY_BENCH_PG_DB=NAME seeds the database NAME once, keeps it and reuses it.
            match std::env::var("TALLY_BENCH_PG_DB") {
                Ok(name) => {
                    let url = postgres_url(&admin_url, &name);
                    let reuse = runtime.block_on(tally::Store::connect(&url)).is_ok();
                    if !reuse {
                        runtime.block_on(postgres_database(&admin_url, &name, true));
                    }
                    bench("PostgreSQL", &runtime, &url, &shape, reuse, repeat);
                }
                Err(_) => {
                    let name = format!("tally_pages_{}", tally::auth::random_hex(4));
                    let url = runtime.block_on(postgres_database(&admin_url, &name, true));
                    bench("PostgreSQL", &runtime, &url, &shape, false, repeat);
                    runtime.block_on(postgres_database(&admin_url, &name, false));
                }
            }
        }
        _ => println!("PostgreSQL: not run (set TALLY_TEST_POSTGRES_URL)"),
    }
}

fn bench(
    backend: &str,
    runtime: &tokio::runtime::Runtime,
    url: &str,
    shape: &Shape,
    reuse: bool,
    repeat: usize,
) {
    let started = Instant::now();
    let (project, tokens) = runtime.block_on(async {
        let store = Store::connect(url).await.expect("database");
        store.migrate().await.expect("migrate");
        if !reuse {
            seed(&store, shape).await;
            store
                .create_user("bench-reviewer", Role::Reviewer, None)
                .await
                .expect("reviewer");
        }
        let mut tokens = Vec::new();
        for name in ["bench-admin", "bench-rater-0", "bench-reviewer"] {
            let user = store.user_by_name(name).await.expect("user").expect(name);
            tokens.push(api_token(&store, user.id).await);
        }
        let project = store.projects().await.expect("projects")[0].id;
        store.close().await;
        (project, tokens)
    });
    println!(
        "{backend}: {} {} items and {} labels in {:.1} s",
        if reuse { "reused" } else { "seeded" },
        shape.items,
        shape.labelled * shape.per_item,
        started.elapsed().as_secs_f64()
    );
    let server = Server::start(url);
    let base = server.base.clone();
    let pid = project;
    let [admin, rater, reviewer] = <[String; 3]>::try_from(tokens).expect("three tokens");
    // An item in the middle of the labelled ones, and one that has no labels yet.
    let labelled = shape.labelled / 2;
    let open = shape.labelled + 1;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let next = client
            .get(format!("{base}/rate/{pid}"))
            .bearer_auth(&rater)
            .send()
            .await
            .expect("next");
        let rater_item = next
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or("/")
            .to_string();
        let pages: Vec<(&str, String, &str)> = vec![
            ("admin", "/admin".into(), &admin),
            ("admin", format!("/admin/projects/{pid}"), &admin),
            ("admin", format!("/admin/projects/{pid}/settings"), &admin),
            ("admin", format!("/admin/projects/{pid}/items"), &admin),
            (
                "admin",
                format!("/admin/projects/{pid}/items?after={labelled}"),
                &admin,
            ),
            (
                "admin",
                format!("/admin/projects/{pid}/items/{labelled}"),
                &admin,
            ),
            ("admin", format!("/admin/projects/{pid}/report"), &admin),
            ("admin", format!("/admin/projects/{pid}/health"), &admin),
            ("admin", "/admin/users".into(), &admin),
            ("admin", "/admin/audit".into(), &admin),
            ("admin", "/admin/projects/new".into(), &admin),
            ("reviewer", "/review".into(), &reviewer),
            ("reviewer", format!("/review/projects/{pid}"), &reviewer),
            (
                "reviewer",
                format!("/review/projects/{pid}/items/{labelled}"),
                &reviewer,
            ),
            ("rater", "/".into(), &rater),
            ("rater", format!("/rate/{pid}"), &rater),
            ("rater", rater_item, &rater),
            ("rater", format!("/rate/{pid}/items/{open}"), &rater),
            ("rater", format!("/rate/{pid}/history"), &rater),
        ];
        println!("| backend | who | page | status | KB | first ms | figures ready ms | median ms | worst ms |");
        println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
        for (who, path, token) in pages {
            let t = time_page(&client, &format!("{base}{path}"), token, repeat).await;
            let slow = if ms(t.median) > 100.0 {
                " **slow**"
            } else {
                ""
            };
            println!(
                "| {backend} | {who} | `{path}` | {} | {:.1} | {:.1} | {} | {:.1}{slow} | {:.1} |",
                t.status,
                t.bytes as f64 / 1024.0,
                ms(t.first),
                t.ready.map_or("–".to_string(), |r| format!("{:.0}", ms(r))),
                ms(t.median),
                ms(t.worst)
            );
        }
    });
    let (rss, peak) = server.memory_mib();
    println!("{backend}: server RSS {rss:.0} MiB (peak {peak:.0} MiB)");
}
