//! `tally report`: the quality report for labels from any tool, read from CSV files.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::Context;

use crate::cli::ReportArgs;
use crate::domain::report::{parse_level, parse_method};
use crate::quality::input::{
    dataset_from_rows, parse_gold_csv, parse_labels_csv, write_consensus_csv,
};
use crate::quality::{build_report, text::render_text, ReportOptions};

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
    let labels = parse_labels_csv(open(&args.labels)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.labels.display()))?;
    let gold = match &args.gold {
        Some(path) => {
            parse_gold_csv(open(path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    let dataset = dataset_from_rows(&labels, &gold, None)
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
    Ok(())
}
