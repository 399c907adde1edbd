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

#[path = "support/seed.rs"]
mod seed;
#[path = "support/setting.rs"]
mod setting;

use seed::{seed, Shape};
use setting::setting;
use tally::Store;

const PER_ITEM: i64 = 3;

fn main() {
    let labels: i64 = setting("TALLY_BENCH_LABELS", 1_000_000);
    let formats = setting(
        "TALLY_BENCH_FORMATS",
        "jsonl,csv,parquet,tfrecord,label-studio".to_string(),
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
        let items = labels / PER_ITEM;
        let shape = Shape {
            items,
            labelled: items,
            per_item: PER_ITEM,
            overlap: PER_ITEM,
            raters: 30,
        };
        seed(&store, &shape).await
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
