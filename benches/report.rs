//! The quality report on 500,000 labels, against the Python reference packages.
//!
//! `cargo bench --bench report` builds the whole report (Krippendorff's alpha with a
//! 1,000-draw bootstrap, kappas, Dawid-Skene, rater quality, bias) for 100,000 items x 5
//! labels from 200 raters over 4 classes, three times, and prints the median. In the same
//! run it writes the labels to a CSV and, when python3 has `krippendorff` and `crowdkit`,
//! times `krippendorff.alpha` and crowd-kit's `DawidSkene` on exactly those labels
//! (benches/quality/reference.py) and prints the ratios.
//!
//! Then it times the report API end to end: a project of the same size (100,000 items x 5
//! labels from 200 raters, three classes, written straight into the tables) in a fresh
//! SQLite database and, when TALLY_TEST_POSTGRES_URL is set, a fresh PostgreSQL one; the
//! release `tally serve` on it; `GET /api/v1/projects/{id}/report?method=dawid-skene` three
//! times with a new bootstrap seed each (so none is served from the kept figures), median.
//! The first request reads the labels; the two after it find them and their dataset kept
//! by the server (the data has not changed), so the median is a report on kept labels and
//! the first is printed beside it. Then, three times, 20 raters each label one of the 200
//! items left open (`next` then a label through the API) and a report is asked for: the
//! first report after a change, as on a project being labelled, median of three; then the
//! same with 8 s between the labels and the report, in which the server prepares the report
//! of the project labelled last once labelling pauses (`domain::report_keeping`). Last,
//! three reports at the ordinal level (a rating project's default, with each rater's
//! leniency interval) on the labels kept, median. The server then starts twice more, and
//! the first request of each reads back the input the first server stored (with the labels
//! given since read onto it) instead of every label.
//! TALLY_BENCH_BACKENDS=sqlite (or postgres, or none) picks the backends.
//!
//! `cargo bench --bench report -- ranking [RUNS] [ITEMS]` instead prints how well each
//! consensus method ranks simulated raters with planted spammers, careless and lenient raters
//! at overlaps 2, 3 and 5 (default 20 runs of 400 items), the table behind the default method.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/seed.rs"]
mod seed;
#[path = "support/server.rs"]
mod server;
#[path = "support/setting.rs"]
mod setting;

use postgres::postgres_database;
use seed::{api_token, seed, Shape};
use server::Server;
use setting::setting;
use tally::Store;

// The allocator the tally binary ships with, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use tally::quality::{build_report, synth, ConsensusMethod, Dataset, Level, ReportOptions};

/// Runs `$body` with `$pool` the store's pool, on either backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite(backend) => {
                let $pool = &backend.pool;
                $body
            }
            Store::Postgres(backend) => {
                let $pool = &backend.pool;
                $body
            }
        }
    };
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time_report(data: &Dataset, level: Level) -> Duration {
    let options = ReportOptions {
        level,
        method: ConsensusMethod::DawidSkene,
        ..ReportOptions::default()
    };
    let runs = (0..3)
        .map(|_| {
            let started = Instant::now();
            let report = build_report(data, &options);
            let elapsed = started.elapsed();
            assert!(report.agreement.krippendorff_alpha.is_some());
            elapsed
        })
        .collect();
    median(runs)
}

fn write_csv(data: &Dataset, path: &std::path::Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "item,rater,label")?;
    for label in data.labels() {
        writeln!(
            out,
            "{},{},{}",
            data.items()[label.item as usize],
            data.raters()[label.rater as usize],
            data.categories().name(label.value)
        )?;
    }
    out.flush()
}

/// Runs the Python reference on the CSV; `None` when python3 or its packages are missing.
fn python_reference(csv: &std::path::Path) -> Option<Vec<(String, f64)>> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/quality/reference.py");
    let output = Command::new("python3")
        .arg(script)
        .arg("--labels")
        .arg(csv)
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "python reference did not run: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Some(
        text.lines()
            .filter_map(|line| line.strip_prefix("SECONDS "))
            .filter_map(|rest| {
                let (name, secs) = rest.rsplit_once(' ')?;
                Some((name.to_string(), secs.parse().ok()?))
            })
            .collect(),
    )
}

/// Print the ranking comparison (`-- ranking [RUNS] [ITEMS]`).
fn ranking(args: &[String]) {
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (runs, items) = (number(0, 20), number(1, 400));
    let started = Instant::now();
    let rows = synth::ranking::compare(synth::roster::Project::planted, &[2, 3, 5], runs, items);
    println!(
        "Planted roster: expert, 5 careful, careless, lenient, 2 spammers; {items} items; {runs} runs per overlap ({:.1} s)\n",
        started.elapsed().as_secs_f64()
    );
    print!("{}", synth::ranking::markdown(&rows));
    let small = synth::roster::Project::two_careful_one_spammer;
    let rows = synth::ranking::compare(small, &[2, 3], runs, 60);
    println!("\nTwo careful raters and a spammer, 60 items; {runs} runs per overlap\n");
    print!("{}", synth::ranking::markdown(&rows));
}

/// `tally report` as a user runs it, median of three: the release binary reads the CSV,
/// prints the JSON report and writes the consensus CSV.
fn time_cli_report(csv: &std::path::Path, dir: &std::path::Path) -> Duration {
    let bin =
        std::env::var("TALLY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tally").to_string());
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            let output = Command::new(&bin)
                .args(["report", "--format", "json", "--labels"])
                .arg(csv)
                .arg("--consensus-out")
                .arg(dir.join("consensus.csv"))
                .output()
                .expect("run tally report");
            let took = started.elapsed();
            assert!(
                output.status.success(),
                "tally report failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            took
        })
        .collect();
    times.sort();
    times[1]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Some(position) = args.iter().position(|a| a == "ranking") {
        ranking(&args[position + 1..]);
        return;
    }
    let started = Instant::now();
    let data = synth::generate(100_000, 5, 200, 4, 42);
    println!(
        "{} labels, {} items, {} raters, {} classes (generated in {:.2} s)",
        data.label_count(),
        data.item_count(),
        data.rater_count(),
        data.categories().len(),
        started.elapsed().as_secs_f64()
    );
    let nominal = time_report(&data, Level::Nominal);
    let ordinal = time_report(&data, Level::Ordinal);
    println!(
        "tally report, nominal, Dawid-Skene, 1,000 bootstrap draws: {:.3} s (median of 3)",
        nominal.as_secs_f64()
    );
    println!(
        "tally report, ordinal, Dawid-Skene, 1,000 bootstrap draws: {:.3} s (median of 3)",
        ordinal.as_secs_f64()
    );

    let dir = std::env::temp_dir().join(format!("tally-report-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let csv = dir.join("labels.csv");
    if let Err(e) = write_csv(&data, &csv) {
        eprintln!("cannot write {}: {e}", csv.display());
        return;
    }
    let cli = time_cli_report(&csv, &dir);
    println!(
        "tally report CLI end to end (CSV in, JSON and consensus CSV out), nominal, Dawid-Skene: {:.3} s (median of 3)",
        cli.as_secs_f64()
    );
    match python_reference(&csv) {
        None => {
            println!("Python reference: not run (pip install krippendorff crowd-kit numpy pandas)")
        }
        Some(times) => {
            let get = |prefix: &str| {
                times
                    .iter()
                    .find(|(n, _)| n.starts_with(prefix))
                    .map(|(_, s)| *s)
            };
            let alpha = get("krippendorff.alpha_nominal").unwrap_or(f64::NAN);
            let ds = get("crowd-kit_DawidSkene").unwrap_or(f64::NAN);
            let boot = get("krippendorff.alpha_nominal,_1000").unwrap_or(f64::NAN);
            println!("krippendorff.alpha nominal (one alpha, no interval): {alpha:.3} s");
            println!("krippendorff.alpha nominal x 1,000 bootstrap draws (extrapolated from 20): {boot:.1} s");
            println!("crowd-kit DawidSkene: {ds:.3} s");
            let rust = nominal.as_secs_f64();
            println!(
                "ratio: tally's whole report takes {:.2}x the time of crowd-kit's Dawid-Skene alone, and {:.4}x the time of alpha with a 1,000-draw bootstrap in the krippendorff package",
                rust / ds,
                rust / boot
            );
            println!(
                "ratio: tally report end to end takes {:.2}x the time of crowd-kit's Dawid-Skene alone",
                cli.as_secs_f64() / ds
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    report_api();
}

/// The report API end to end on each backend asked for (see the module's description).
fn report_api() {
    let backends: String = setting("TALLY_BENCH_BACKENDS", "sqlite,postgres".to_string());
    let wanted = |name: &str| backends.split(',').any(|b| b.trim() == name);
    let shape = Shape {
        items: 100_200,
        labelled: 100_000,
        per_item: 5,
        overlap: 5,
        raters: 200,
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // TALLY_BENCH_KEEP=1 leaves the databases behind, for profiling.
    let keep = std::env::var_os("TALLY_BENCH_KEEP").is_some();
    if wanted("sqlite") {
        let temp = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", temp.path().join("bench.db").display());
        time_report_api("SQLite", &runtime, &url, &shape);
        if keep {
            let _ = temp.keep();
            println!("database kept: {url}");
        }
    }
    match std::env::var("TALLY_TEST_POSTGRES_URL") {
        _ if !wanted("postgres") => {}
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("tally_report_{}", tally::auth::random_hex(4));
            let url = runtime.block_on(postgres_database(&admin_url, &name, true));
            time_report_api("PostgreSQL", &runtime, &url, &shape);
            if keep {
                println!("database kept: {url}");
            } else {
                runtime.block_on(postgres_database(&admin_url, &name, false));
            }
        }
        _ => println!("report API on PostgreSQL: not run (set TALLY_TEST_POSTGRES_URL)"),
    }
}

fn time_report_api(backend: &str, runtime: &tokio::runtime::Runtime, url: &str, shape: &Shape) {
    let started = Instant::now();
    let (project, token, rater_tokens) = runtime.block_on(async {
        let store = Store::connect(url).await.expect("database");
        store.migrate().await.expect("migrate");
        let project = seed(&store, shape).await;
        let admin = store
            .user_by_name("bench-admin")
            .await
            .expect("admin")
            .expect("bench-admin");
        let token = api_token(&store, admin.id).await;
        let mut rater_tokens = Vec::new();
        for k in 0..LABELLING_RATERS {
            let rater = store
                .user_by_name(&format!("bench-rater-{k}"))
                .await
                .expect("rater")
                .expect("a seeded rater");
            rater_tokens.push(api_token(&store, rater.id).await);
        }
        store.close().await;
        (project, token, rater_tokens)
    });
    println!(
        "report API on {backend}: seeded {} labels in {:.1} s",
        shape.labelled * shape.per_item,
        started.elapsed().as_secs_f64()
    );
    let server = Server::start(url);
    let client = reqwest::Client::new();
    let reports = ReportRequest {
        client: &client,
        project,
        token: &token,
        parse_times: Default::default(),
    };
    let running = runtime.block_on(async {
        let mut times = Vec::new();
        for draw_seed in 1..=3 {
            times.push(reports.time(&server.base, draw_seed, "nominal").await);
        }
        let mut after_labels = Vec::new();
        for draw_seed in 4..=6 {
            for rater in &rater_tokens {
                label_one(&client, &server.base, project, rater).await;
            }
            after_labels.push(reports.time_on(&server, draw_seed).await);
        }
        // Labels, then a pause past the server's report keeping (5 s of quiet, a look every
        // 2 s): the report the server prepared meanwhile.
        let mut after_pause = Vec::new();
        for draw_seed in 22..=24 {
            for rater in &rater_tokens {
                label_one(&client, &server.base, project, rater).await;
            }
            tokio::time::sleep(Duration::from_secs(8)).await;
            after_pause.push(reports.time(&server.base, draw_seed, "nominal").await);
        }
        let mut after_edits = Vec::new();
        for (n, draw_seed) in (13..=15).enumerate() {
            edit_label(url, project, n as i64).await;
            after_edits.push(reports.time_on(&server, draw_seed).await);
        }
        // An edit among new labels (on items after every item labelled): the dataset
        // made before is patched and continued rather than made again.
        let mut after_mixed = Vec::new();
        for (n, draw_seed) in (31..=33).enumerate() {
            edit_label(url, project, 3 + n as i64).await;
            for rater in &rater_tokens {
                label_one(&client, &server.base, project, rater).await;
            }
            after_mixed.push(reports.time_on(&server, draw_seed).await);
        }
        // Seven labels at a time leave an item part-labelled, and the next seven finish
        // it: labels on an item the server's input holds, after one round unmeasured.
        let mut after_part = Vec::new();
        for draw_seed in 34..=37 {
            for rater in &rater_tokens[..PART_ROUND] {
                label_one(&client, &server.base, project, rater).await;
            }
            let time = reports.time_on(&server, draw_seed).await;
            if draw_seed > 34 {
                after_part.push(time);
            }
        }
        let mut after_settings = Vec::new();
        for draw_seed in 16..=18 {
            edit_settings(&client, &server.base, project, &token, draw_seed).await;
            after_settings.push(reports.time(&server.base, draw_seed, "nominal").await);
        }
        let mut ordinal = Vec::new();
        for draw_seed in 7..=9 {
            ordinal.push(reports.time(&server.base, draw_seed, "ordinal").await);
        }
        RunningTimes {
            kept: times,
            after_labels,
            after_part,
            after_pause,
            after_edits,
            after_mixed,
            after_settings,
            ordinal,
        }
    });
    let (_, peak) = server.memory_mib();
    runtime.block_on(until_stored(url, project));
    drop(server);
    // The first request after a later start reads back the input the first server stored.
    let mut restarts = Vec::new();
    for draw_seed in 10..=12 {
        let server = Server::start(url);
        restarts.push(runtime.block_on(reports.time(&server.base, draw_seed, "nominal")));
    }
    // A server prepares the report of the input stored last as it starts: a report asked for
    // a few seconds later finds it ready.
    let mut settled_restarts = Vec::new();
    for draw_seed in 19..=21 {
        let server = Server::start(url);
        std::thread::sleep(Duration::from_secs(3));
        settled_restarts.push(runtime.block_on(reports.time(&server.base, draw_seed, "nominal")));
    }
    // With nothing stored, a server that starts prepares (and stores) the big project
    // labelled last once its labelling has paused, as it has here: a report asked for a few
    // seconds later finds it ready, where one asked for at once reads every label.
    let mut unstored_restarts = Vec::new();
    for draw_seed in 25..=27 {
        runtime.block_on(delete_stored_input(url, project));
        let server = Server::start(url);
        std::thread::sleep(Duration::from_secs(3));
        unstored_restarts.push(runtime.block_on(reports.time(&server.base, draw_seed, "nominal")));
    }
    // The same asked for the moment the server listens: it waits for the server's own read
    // of every label (the first request after the first start, above, is one such).
    let mut unstored_starts = Vec::new();
    for draw_seed in 28..=30 {
        runtime.block_on(delete_stored_input(url, project));
        let server = Server::start(url);
        unstored_starts.push(runtime.block_on(reports.time(&server.base, draw_seed, "nominal")));
    }
    // A project labelled in order holds its labels on its first items: the same request
    // with the labels of the items past the first 45% taken away (for good: the bench ends
    // here).
    let left = runtime.block_on(keep_labels_of_first_items(
        url,
        project,
        FIRST_ITEMS_PERCENT,
    ));
    let mut first_items_starts = Vec::new();
    for draw_seed in 31..=33 {
        runtime.block_on(delete_stored_input(url, project));
        let server = Server::start(url);
        first_items_starts.push(runtime.block_on(reports.time(&server.base, draw_seed, "nominal")));
    }
    println!(
        "report API on {backend}, nominal, Dawid-Skene, 1,000 bootstrap draws: {:.3} s (median of 3, labels kept); server peak RSS {peak:.0} MiB",
        median(running.kept.clone()).as_secs_f64(),
    );
    println!(
        "report API on {backend}, the first request after the first server start (it reads every label): {:.3} s",
        running.kept[0].as_secs_f64()
    );
    println!(
        "report API on {backend}, the first request after a restart (the input the first server stored last read back): {:.3} s (median of 3 starts: {} s)",
        median(restarts.clone()).as_secs_f64(),
        seconds(&restarts)
    );
    println!(
        "report API on {backend}, the first request 3 s after a restart: {:.3} s (median of 3 starts: {} s)",
        median(settled_restarts.clone()).as_secs_f64(),
        seconds(&settled_restarts)
    );
    println!(
        "report API on {backend}, the first request 3 s after a restart with nothing stored: {:.3} s (median of 3 starts: {} s)",
        median(unstored_restarts.clone()).as_secs_f64(),
        seconds(&unstored_restarts)
    );
    println!(
        "report API on {backend}, the request the moment a server starts with nothing stored: {:.3} s (median of 3 starts: {} s)",
        median(unstored_starts.clone()).as_secs_f64(),
        seconds(&unstored_starts)
    );
    println!(
        "report API on {backend}, the request the moment a server starts with nothing stored, labels on the first {FIRST_ITEMS_PERCENT}% of the items only ({left} labels): {:.3} s (median of 3 starts: {} s)",
        median(first_items_starts.clone()).as_secs_f64(),
        seconds(&first_items_starts)
    );
    println!(
        "report API on {backend}, the first request after {LABELLING_RATERS} new labels: {}",
        with_cpu(&running.after_labels)
    );
    println!(
        "report API on {backend}, the first request after {PART_ROUND} new labels on items part-labelled before: {}",
        with_cpu(&running.after_part)
    );
    println!(
        "report API on {backend}, the first request 8 s after {LABELLING_RATERS} new labels: {:.3} s (median of 3: {} s)",
        median(running.after_pause.clone()).as_secs_f64(),
        seconds(&running.after_pause)
    );
    println!(
        "report API on {backend}, the first request after a label edited: {}",
        with_cpu(&running.after_edits)
    );
    println!(
        "report API on {backend}, the first request after a label edited among {LABELLING_RATERS} new labels: {}",
        with_cpu(&running.after_mixed)
    );
    println!(
        "report API on {backend}, the first request after a settings edit: {:.3} s (median of 3: {} s)",
        median(running.after_settings.clone()).as_secs_f64(),
        seconds(&running.after_settings)
    );
    println!(
        "report API on {backend}, ordinal (a rating project's level), Dawid-Skene, with leniency intervals: {:.3} s (median of 3, labels kept)",
        median(running.ordinal).as_secs_f64()
    );
    let parse_times = reports.parse_times.into_inner().expect("parse times");
    println!(
        "report API on {backend}: the times above end at the answer's last byte; the client's parse of its JSON took {:.3} s more (median of {})",
        median(parse_times.clone()).as_secs_f64(),
        parse_times.len()
    );
}

/// The report API's times on one server while labels come in and edits are made, each
/// request's.
struct RunningTimes {
    /// On labels kept, the first after the server's start.
    kept: Vec<Duration>,
    /// These four with the server's CPU time for each request.
    after_labels: Vec<(Duration, f64)>,
    /// After labels on items part-labelled before.
    after_part: Vec<(Duration, f64)>,
    /// After labels and a pause past the server's report keeping.
    after_pause: Vec<Duration>,
    after_edits: Vec<(Duration, f64)>,
    /// After a label edited among new labels.
    after_mixed: Vec<(Duration, f64)>,
    after_settings: Vec<Duration>,
    ordinal: Vec<Duration>,
}

/// Waits until a server has stored the report input of `project` at the project's settings
/// revision; says so when none did (a build from before inputs were stored, as
/// `TALLY_BIN`).
async fn until_stored(url: &str, project: i64) {
    let store = Store::connect(url).await.expect("database");
    let sql = "SELECT count(*) FROM report_inputs r JOIN projects p ON p.id = r.project_id
        WHERE r.project_id = $1 AND r.revision = p.revision";
    let started = Instant::now();
    loop {
        let stored: Result<i64, sqlx::Error> = on_pool!(&store, pool => {
            sqlx::query_scalar(sql).bind(project).fetch_one(pool).await
        });
        if stored.as_ref().is_ok_and(|&count| count > 0) {
            break;
        }
        if started.elapsed() > Duration::from_secs(10) {
            println!("the server stored no report input: the restarts below read every label");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store.close().await;
}

/// Changes the value of the project's `n`-th label from its first, as an edit through the
/// labelling or review pages does; the database's triggers log the change.
async fn edit_label(url: &str, project: i64, n: i64) {
    let sql = "UPDATE labels SET value = '\"neg\"' WHERE id = (SELECT id FROM labels
        WHERE project_id = $1 ORDER BY id LIMIT 1 OFFSET $2)";
    assert_eq!(execute(url, sql, &[project, n]).await, 1, "a label edited");
}

/// Deletes the report input stored for `project`, if any.
async fn delete_stored_input(url: &str, project: i64) {
    execute(
        url,
        "DELETE FROM report_inputs WHERE project_id = $1",
        &[project],
    )
    .await;
}

/// The share of a project's items, by id, that keep their labels for the last request
/// the bench times.
const FIRST_ITEMS_PERCENT: i64 = 45;

/// Deletes the labels of the project's items past the first `percent` of its ids; returns
/// how many labels are left.
async fn keep_labels_of_first_items(url: &str, project: i64, percent: i64) -> u64 {
    let sql = "DELETE FROM labels WHERE project_id = $1 AND item_id > (
        SELECT min(id) + (max(id) - min(id)) * $2 / 100 FROM items WHERE project_id = $1)";
    execute(url, sql, &[project, percent]).await;
    if url.starts_with("postgres") {
        // A project labelled in order has no deleted labels' rows for a read to step over.
        execute(url, "VACUUM ANALYZE labels", &[]).await;
    }
    let store = Store::connect(url).await.expect("database");
    let left: i64 = on_pool!(&store, pool => {
        sqlx::query_scalar("SELECT count(*) FROM labels WHERE project_id = $1")
            .bind(project)
            .fetch_one(pool)
            .await
    })
    .expect("the labels left");
    store.close().await;
    u64::try_from(left).unwrap_or(0)
}

/// Runs `sql` with `binds` on the database at `url`; returns the rows it changed.
async fn execute(url: &str, sql: &str, binds: &[i64]) -> u64 {
    let store = Store::connect(url).await.expect("database");
    let changed = on_pool!(&store, pool => {
        let query = binds.iter().fold(sqlx::query(sql), |q, bind| q.bind(*bind));
        query.execute(pool).await.map(|done| done.rows_affected())
    })
    .expect("a statement the bench runs");
    store.close().await;
    changed
}

/// Edits the project's instructions through the API, as an admin does; any settings edit
/// moves the project's revision, after which a report reads which items are settled.
async fn edit_settings(client: &reqwest::Client, base: &str, project: i64, token: &str, n: u64) {
    let status = client
        .patch(format!("{base}/api/v1/projects/{project}"))
        .bearer_auth(token)
        .json(&serde_json::json!({"instructions": format!("Read each review through ({n}).")}))
        .send()
        .await
        .expect("settings edit")
        .status();
    assert!(status.is_success(), "settings edit: {status}");
}

/// The median time of requests, each one's and the median of the server's CPU time for
/// them: the CPU time varies less than the time when the machine is shared.
fn with_cpu(samples: &[(Duration, f64)]) -> String {
    let times: Vec<Duration> = samples.iter().map(|(time, _)| *time).collect();
    let mut cpu: Vec<f64> = samples.iter().map(|(_, cpu)| *cpu).collect();
    cpu.sort_by(f64::total_cmp);
    format!(
        "{:.3} s (median of {}: {} s; the server's CPU time {:.3} s, median)",
        median(times.clone()).as_secs_f64(),
        times.len(),
        seconds(&times),
        cpu[cpu.len() / 2]
    )
}

/// Times in seconds, as a list.
fn seconds(times: &[Duration]) -> String {
    let each: Vec<String> = times
        .iter()
        .map(|t| format!("{:.3}", t.as_secs_f64()))
        .collect();
    each.join(", ")
}

/// Report API requests on a project, each timed until the last byte of its answer came.
/// Its JSON (8.4 MB on the bench's project) is parsed and checked after the clock stops:
/// that parse is the client's work, and it took this bench's client 0.1 to 0.15 s on two
/// cores shared with the server. Until 2026-12-06 the rows counted it; `parse_times` holds
/// it, for a row of its own.
struct ReportRequest<'a> {
    client: &'a reqwest::Client,
    project: i64,
    token: &'a str,
    parse_times: std::sync::Mutex<Vec<Duration>>,
}

impl ReportRequest<'_> {
    /// One request to the server at `base`, with a bootstrap seed of its own.
    /// A nominal report's time on `server`, and the CPU time the server took meanwhile.
    async fn time_on(&self, server: &Server, draw_seed: u64) -> (Duration, f64) {
        let cpu = server.cpu_seconds();
        let time = self.time(&server.base, draw_seed, "nominal").await;
        (time, server.cpu_seconds() - cpu)
    }

    async fn time(&self, base: &str, draw_seed: u64, level: &str) -> Duration {
        let url = format!(
            "{base}/api/v1/projects/{}/report?method=dawid-skene&seed={draw_seed}&level={level}",
            self.project
        );
        let started = Instant::now();
        let response = self
            .client
            .get(url)
            .bearer_auth(self.token)
            .send()
            .await
            .expect("report request");
        let status = response.status();
        let body = response.bytes().await.expect("report body");
        let answered = started.elapsed();
        let parsing = Instant::now();
        let report: serde_json::Value = serde_json::from_slice(&body).expect("report JSON");
        let parsed = parsing.elapsed();
        assert!(status.is_success(), "report API: {status} {report}");
        assert!(report["agreement"]["krippendorff_alpha"].is_number());
        (self.parse_times.lock().expect("parse times")).push(parsed);
        answered
    }
}

/// Raters who label between the reports asked for after a change.
const LABELLING_RATERS: usize = 20;

/// Labels between reports that leave an item part-labelled (the bench's overlap is five).
const PART_ROUND: usize = 7;

/// One `next` and one label by the rater with this token.
async fn label_one(client: &reqwest::Client, base: &str, project: i64, token: &str) {
    let next: serde_json::Value = client
        .get(format!("{base}/api/v1/projects/{project}/next"))
        .bearer_auth(token)
        .send()
        .await
        .expect("next")
        .json()
        .await
        .expect("next JSON");
    let item = next["item"]["id"].as_i64().expect("an open item");
    let status = client
        .post(format!(
            "{base}/api/v1/projects/{project}/items/{item}/labels"
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({"value": "pos", "duration_ms": 900}))
        .send()
        .await
        .expect("label")
        .status();
    assert_eq!(status, reqwest::StatusCode::CREATED, "label");
}
