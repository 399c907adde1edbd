//! Export benchmark: `tally export` over a project of many labels, timed and with its peak
//! memory, in every format.
//!
//! `cargo bench --bench export` builds a fresh SQLite database with one single-choice
//! project of LABELS/3 items, three labels each from 30 raters (written straight into the
//! tables, as seeding through the label gate would take longer than the export), then runs
//! the release binary's `tally export --format F --out FILE --quiet` under `/usr/bin/time`
//! for each format and prints wall time, peak resident memory and file size.
//! Settings: TALLY_BENCH_LABELS (default 1,000,000), TALLY_BENCH_FORMATS (default
//! jsonl,csv,parquet,tfrecord,label-studio), TALLY_BIN (the binary to run; default the
//! one cargo built beside the bench).

use std::process::Command;
use std::time::Instant;

use tally::domain::project::NewProject;
use tally::domain::user::Role;
use tally::Store;

const RATERS: i64 = 30;
const PER_ITEM: i64 = 3;

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

async fn seed(store: &Store, labels: i64) -> i64 {
    let admin = store
        .create_user("bench-admin", Role::Admin, None)
        .await
        .expect("admin");
    let spec = NewProject::simple(
        "Export bench",
        &["pos", "neg", "neutral"],
        PER_ITEM,
        "Label the sentiment.",
    )
    .validate()
    .expect("project spec");
    let project = store
        .create_project(
            &spec,
            admin.id,
            &tally::domain::audit::Entry::from_cli(
                Some(admin.id),
                tally::domain::audit::Action::ProjectCreated,
            ),
        )
        .await
        .expect("project");
    let mut raters = Vec::new();
    for i in 0..RATERS {
        let rater = store
            .create_user(&format!("bench-rater-{i}"), Role::Rater, None)
            .await
            .expect("rater");
        raters.push(rater.id);
    }
    let items = labels / PER_ITEM;
    let Store::Sqlite(backend) = store else {
        panic!("the export bench seeds SQLite");
    };
    let mut tx = backend.pool.begin().await.expect("transaction");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
         INSERT INTO items (project_id, external_id, data, position, need_generalist, label_count, created_at)
         SELECT $1, 'doc-' || i,
                json_object('text', 'Review number ' || i || ': the product arrived on time and works as described, mostly.',
                            'source', CASE i % 3 WHEN 0 THEN 'web' WHEN 1 THEN 'app' ELSE 'email' END,
                            'stars', i % 5 + 1),
                i, 0, $3, 1764000000000
         FROM n",
    )
    .bind(project.id)
    .bind(items)
    .bind(PER_ITEM)
    .execute(&mut *tx)
    .await
    .expect("items");
    let first_rater = raters[0];
    sqlx::query(
        "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < $3 - 1)
         INSERT INTO labels (project_id, item_id, rater_id, value, duration_ms, created_at, pool, guideline_version)
         SELECT $1, i.id, $2 + ((i.id * $3 + k.j) % $4),
                CASE abs(random()) % 5 WHEN 0 THEN '\"neg\"' WHEN 1 THEN '\"neutral\"' ELSE '\"pos\"' END,
                800 + abs(random()) % 4000, 1764000000000 + i.id * 1000 + k.j, 'generalist', 1
         FROM items i CROSS JOIN k WHERE i.project_id = $1",
    )
    .bind(project.id)
    .bind(first_rater)
    .bind(PER_ITEM)
    .bind(RATERS)
    .execute(&mut *tx)
    .await
    .expect("labels");
    tx.commit().await.expect("commit");
    project.id
}

fn main() {
    let labels: i64 = setting("TALLY_BENCH_LABELS", "1000000")
        .parse()
        .expect("TALLY_BENCH_LABELS");
    let formats = setting(
        "TALLY_BENCH_FORMATS",
        "jsonl,csv,parquet,tfrecord,label-studio",
    );
    let temp = tempfile::tempdir().expect("temp dir");
    // TALLY_BENCH_KEEP=1 leaves the database behind, for profiling.
    let (dir, _guard) = if std::env::var_os("TALLY_BENCH_KEEP").is_some() {
        let kept = temp.keep();
        println!("database kept in {}", kept.display());
        (kept, None)
    } else {
        (temp.path().to_path_buf(), Some(temp))
    };
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    let project = runtime.block_on(async {
        let store = Store::connect(&url).await.expect("database");
        store.migrate().await.expect("migrate");
        seed(&store, labels).await
    });
    println!(
        "seeded {} labels on {} items in {:.1} s",
        labels / PER_ITEM * PER_ITEM,
        labels / PER_ITEM,
        started.elapsed().as_secs_f64()
    );
    let bin =
        std::env::var("TALLY_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tally").to_string());
    println!("| format | seconds | peak RSS (MB) | file (MB) |");
    println!("|---|---:|---:|---:|");
    for format in formats.split(',') {
        let out = dir.join(format!("export.{format}"));
        let output = Command::new("/usr/bin/time")
            .args(["-f", "%e %M"])
            .arg(&bin)
            .args(["--database-url", &url, "export", "--quiet", "--project"])
            .arg(project.to_string())
            .args(["--format", format, "--out"])
            .arg(&out)
            .env("TALLY_LOG", "error")
            .output()
            .expect("run tally export under /usr/bin/time");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "tally export --format {format}: {stderr}"
        );
        let mut figures = stderr.lines().last().unwrap_or_default().split_whitespace();
        let seconds: f64 = figures
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN);
        let peak_kb: f64 = figures
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN);
        let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        println!(
            "| {format} | {seconds:.2} | {:.0} | {:.0} |",
            peak_kb / 1024.0,
            size as f64 / 1e6
        );
        let _ = std::fs::remove_file(&out);
    }
}
