//! `tally export`: a project straight from the database to a file (or standard output) as
//! a new dataset version, with its card beside the file.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::dataset::ExportRun;
use crate::domain::audit::{Action, Entry};
use crate::domain::export::RawExportOptions;
use crate::store::Store;

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The project's id
    #[arg(long)]
    pub project: i64,
    /// jsonl, csv, parquet, tfrecord or label-studio
    #[arg(long, default_value = "jsonl")]
    pub format: String,
    /// Write here (and the card beside it, as FILE.card.md and FILE.card.json); standard
    /// output when absent
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// items (one row per item, labels nested) or labels (one row per label)
    #[arg(long)]
    pub rows: Option<String>,
    /// all (every label) or consensus (each item's consensus only)
    #[arg(long)]
    pub labels: Option<String>,
    /// Consensus where no expert settled an item: majority or dawid-skene
    #[arg(long)]
    pub method: Option<String>,
    /// Leave out items whose agreement with their consensus is below this share
    #[arg(long)]
    pub min_agreement: Option<String>,
    /// Leave out items whose Dawid-Skene confidence is below this
    #[arg(long)]
    pub min_confidence: Option<String>,
    /// Keep labels of these pools only (comma-separated: generalist,expert,user)
    #[arg(long)]
    pub pools: Option<String>,
    /// Include gold questions and their answers
    #[arg(long)]
    pub include_gold: bool,
    /// Leave process feedback out
    #[arg(long)]
    pub no_feedback: bool,
    /// Train, validation and test shares, such as 80,10,10
    #[arg(long)]
    pub split: Option<String>,
    /// Seed of the split
    #[arg(long)]
    pub seed: Option<u64>,
    /// Item data fields to leave out (comma-separated)
    #[arg(long)]
    pub drop: Option<String>,
    /// Print nothing but errors
    #[arg(long)]
    pub quiet: bool,
    /// The name recorded as the version's maker
    #[arg(long, default_value = "command line")]
    pub by: String,
}

impl ExportArgs {
    fn raw_options(&self) -> RawExportOptions {
        RawExportOptions {
            format: Some(self.format.clone()),
            rows: self.rows.clone(),
            labels: self.labels.clone(),
            method: self.method.clone(),
            min_agreement: self.min_agreement.clone(),
            min_confidence: self.min_confidence.clone(),
            pools: self.pools.clone(),
            include_gold: Some(self.include_gold.to_string()),
            include_feedback: Some((!self.no_feedback).to_string()),
            split: self.split.clone(),
            seed: self.seed.map(|s| s.to_string()),
            drop: self.drop.clone(),
        }
    }
}

/// The card files beside an output file: `data.parquet` → `data.parquet.card.md` and
/// `data.parquet.card.json`.
pub fn card_paths(out: &Path) -> (PathBuf, PathBuf) {
    let with = |ending: &str| {
        let mut name = out.as_os_str().to_owned();
        name.push(ending);
        PathBuf::from(name)
    };
    (with(".card.md"), with(".card.json"))
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} exporting [{bar:30}] {pos}/{len} items ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

pub async fn run(store: &Store, args: &ExportArgs) -> anyhow::Result<()> {
    let public = |e: crate::error::AppError| anyhow::anyhow!("{}", e.public_message());
    let project = store.project(args.project).await.map_err(public)?;
    let options = args.raw_options().parse(project.kind)?;
    let total = store.progress(project.id).await.map_err(public)?.items;
    // `--by` names the account the export is made for, when it names one.
    let by = store.user_by_name(&args.by).await.map_err(public)?;
    let entry = Entry::from_cli(by.map(|u| u.id), Action::ExportCreated);
    let mut run = ExportRun::start(store.clone(), project, options, &args.by, entry)
        .await
        .map_err(public)?;
    let bar = progress_bar(u64::try_from(total).unwrap_or(0), args.quiet);
    let mut sink: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    while let Some(chunk) = run.next_chunk().await.map_err(public)? {
        sink.write_all(&chunk).context("writing the export")?;
        bar.set_position(run.items_read());
    }
    sink.flush().context("writing the export")?;
    drop(sink);
    bar.finish_and_clear();
    let card = run
        .card()
        .ok_or_else(|| anyhow::anyhow!("the export ended without its card"))?;
    if let Some(path) = &args.out {
        let (md, json) = card_paths(path);
        std::fs::write(&md, card.markdown())
            .with_context(|| format!("cannot write {}", md.display()))?;
        std::fs::write(&json, serde_json::to_vec_pretty(card)?)
            .with_context(|| format!("cannot write {}", json.display()))?;
        if !args.quiet && std::io::stderr().is_terminal() {
            eprintln!(
                "dataset version {}: {} rows, {} labels, sha256 {}; card in {}",
                card.version,
                card.stats.rows,
                card.stats.labels,
                card.content_sha256,
                md.display()
            );
        }
    }
    Ok(())
}
