//! `tally report`: the quality report for labels from any tool, read from CSV files.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::Context;

use crate::cli::ReportArgs;
use crate::domain::report::{parse_level, parse_method};
use crate::quality::input::{add_labels_csv, parse_gold_csv, write_consensus_csv};
use crate::quality::{build_report, text::render_text, DatasetBuilder, ReportOptions};

fn open(path: &Path) -> anyhow::Result<BufReader<File>> {
    File::open(path)
        .map(BufReader::new)
        .with_context(|| format!("cannot open {}", path.display()))
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
    add_labels_csv(open(&args.labels)?, &mut builder)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.labels.display()))?;
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
    if let Some(path) = &args.consensus_out {
        let file =
            File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        write_consensus_csv(file, &report.consensus)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    // Standard output flushes at every newline; the pretty JSON has one per field.
    let mut out = BufWriter::new(std::io::stdout().lock());
    match args.format.as_str() {
        "json" => {
            serde_json::to_writer_pretty(&mut out, &report).context("writing the report")?;
            writeln!(out)?;
        }
        _ => write!(out, "{}", render_text(&report))?,
    }
    out.flush().context("writing the report")?;
    // The process ends here: freeing a large report and its dataset piece by piece would
    // only add to the wait.
    std::mem::forget(report);
    std::mem::forget(dataset);
    Ok(())
}
