//! `tally report`: the quality report for labels from any tool, read from CSV files.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::Context;

use crate::cli::ReportArgs;
use crate::domain::report::{parse_level, parse_method};
use crate::quality::input::{
    add_labels_csv, add_labels_csv_bytes, parse_gold_csv, write_consensus_csv,
};
use crate::quality::{
    build_report, parallel, text::render_text, DatasetBuilder, Report, ReportOptions,
};

fn open_file(path: &Path) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

fn open(path: &Path) -> anyhow::Result<BufReader<File>> {
    open_file(path).map(BufReader::new)
}

/// A labels file up to this size is read whole, so that its two halves can be read at once;
/// a bigger one, or a pipe, is read as it streams in, which holds less in memory.
const READ_WHOLE_UP_TO_BYTES: u64 = 256 << 20;

fn add_labels_file(path: &Path, builder: &mut DatasetBuilder) -> anyhow::Result<()> {
    let mut file = open_file(path)?;
    let size = (file.metadata().ok())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len());
    let read = if let Some(size) = size.filter(|&size| size <= READ_WHOLE_UP_TO_BYTES) {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {}", path.display()))?;
        add_labels_csv_bytes(&bytes, builder)
    } else {
        add_labels_csv(BufReader::new(file), builder)
    };
    read.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn print_report(report: &Report, format: &str) -> anyhow::Result<()> {
    // Standard output flushes at every newline, and the pretty JSON has one per field;
    // a big buffer makes the report of a big file a few writes.
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    match format {
        "json" => {
            serde_json::to_writer_pretty(&mut out, report).context("writing the report")?;
            writeln!(out)?;
        }
        _ => write!(out, "{}", render_text(report))?,
    }
    out.flush().context("writing the report")
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let options = ReportOptions {
        level: parse_level(&args.level)?,
        method: parse_method(&args.method)?,
        bootstrap_draws: args.draws,
        seed: args.seed,
        min_pair_overlap: args.min_pair_overlap.max(1),
        ..ReportOptions::default()
    };
    let mut builder = DatasetBuilder::new();
    add_labels_file(&args.labels, &mut builder)?;
    if let Some(path) = &args.gold {
        let gold =
            parse_gold_csv(open(path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        for row in &gold {
            builder.add_gold(&row.item, &row.label);
        }
    }
    let dataset = builder
        .build()
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.labels.display()))?;
    let report = build_report(&dataset, &options);
    let consensus_out = match &args.consensus_out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            Some((path, file))
        }
        None => None,
    };
    // The consensus file and the report are written at once, each on a core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (written, printed) = parallel::join(
        cores,
        || match consensus_out {
            Some((path, file)) => write_consensus_csv(file, &report.consensus)
                .with_context(|| format!("writing {}", path.display())),
            None => Ok(()),
        },
        || print_report(&report, &args.format),
    );
    written?;
    printed?;
    // The process ends here: freeing a large report and its dataset piece by piece would
    // only add to the wait.
    std::mem::forget(report);
    std::mem::forget(dataset);
    Ok(())
}
