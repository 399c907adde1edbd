//! `tally import`: a file of items into a project, straight into the database.
//!
//! The file is read twice and never held whole (JSONL and CSV; a JSON array is parsed
//! whole): a first pass checks every row, a second flags each row exactly and, unless this
//! is a dry run, sends the rows kept to the store in chunks, all inside one transaction.
//! An import that skips nothing needs no flags: its two passes run side by side, and the
//! check's refusal, if any, rolls the import back. Memory is bounded by a chunk and a few
//! sets of 64-bit hashes, not by the file.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::domain::audit::{Action, Entry};
use crate::domain::import::{check_item, read_items, Format, ItemProblem, NewItem};
use crate::domain::import_check::{row_refusal, Checker, Findings, RowFlags, Severity, Skip};
use crate::domain::project::Project;
use crate::error::AppError;
use crate::store::Store;

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// The project to import into
    #[arg(long)]
    pub project: i64,
    /// The items file: JSONL, CSV, a JSON array, or Label Studio's JSON export
    pub file: PathBuf,
    /// The file's format; by default told from its name (.jsonl, .ndjson, .csv, .json)
    #[arg(long, value_parser = ["jsonl", "csv", "json", "label-studio"])]
    pub format: Option<String>,
    /// Check the file, print the findings, store nothing (exit 0)
    #[arg(long)]
    pub dry_run: bool,
    /// Leave out every flagged row (errors and warnings) and import the rest
    #[arg(long)]
    pub skip_flagged: bool,
    /// Leave out the rows of these finding kinds (e.g. duplicate_in_file,personal_data)
    #[arg(long, conflicts_with = "skip_flagged")]
    pub skip: Option<String>,
    /// How findings are printed: text for people, json as the API gives them
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub findings: String,
    /// Print nothing but errors (and the findings of a dry run)
    #[arg(long)]
    pub quiet: bool,
    /// Rows sent to the database at a time
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub chunk: u32,
}

fn public(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.public_message())
}

/// Runs `tally import`.
pub async fn run(store: &Store, args: &ImportArgs) -> anyhow::Result<()> {
    let project = Arc::new(store.project(args.project).await.map_err(public)?);
    let format = match &args.format {
        Some(name) => Format::from_name(name)?,
        None => Format::from_file_name(&args.file.to_string_lossy()).with_context(|| {
            format!(
                "{}: name the format with --format (jsonl, csv, json, label-studio)",
                args.file.display()
            )
        })?,
    };
    let skip = if args.skip_flagged {
        Skip::parse("flagged")?
    } else {
        Skip::parse(args.skip.as_deref().unwrap_or_default())?
    };
    let in_project = Arc::new(store.content_keys(project.id).await.map_err(public)?);
    let show = !args.quiet && std::io::stderr().is_terminal();
    let pass = Pass {
        path: args.file.clone(),
        format,
        project: project.clone(),
        in_project,
        show,
    };
    if skip.is_empty() && !args.dry_run {
        return import_while_checking(store, &project, pass, args.chunk as usize).await;
    }
    let first = pass.clone().run_blocking("checking", None, None).await?;
    if first.rows == 0 {
        anyhow::bail!("{NO_ITEMS}");
    }
    if args.dry_run {
        let findings = pass
            .run_blocking("checking again", Some(first), None)
            .await?;
        return print_findings(&findings, &args.findings);
    }
    let (sender, chunks) = mpsc::channel(2);
    let sending = Sending {
        sender,
        skip,
        chunk: args.chunk as usize,
    };
    // Rows in the file; the entry's `imported` says how many of them were kept.
    let entry = Entry::from_cli(None, Action::ItemsImported)
        .details(serde_json::json!({ "rows": first.rows }));
    let producer = pass.run_blocking("importing", Some(first), Some(sending));
    let (stored, produced) = tokio::join!(
        store.import_item_chunks(&project, &[], chunks, &entry),
        producer
    );
    let (imported, findings) = match (stored, produced) {
        (Ok(imported), Ok(findings)) => (imported, findings),
        (Err(e), Err(stopped)) if stopped.to_string().contains(STOPPED) => return Err(public(e)),
        (_, Err(e)) => return Err(e),
        (Err(e), Ok(_)) => return Err(public(e)),
    };
    if show {
        eprintln!(
            "imported {imported} items into project {} ({} flagged rows left out)",
            project.id,
            findings.rows - imported
        );
    }
    Ok(())
}

/// An import that skips nothing: the rows go to the store while the check reads the file
/// on another thread, instead of after it. The check holds the import open: it ends it
/// with its refusal (the file's first error, as when it ran first) or lets it commit. So
/// a refused file still leaves nothing behind and says what a check would have said.
async fn import_while_checking(
    store: &Store,
    project: &Project,
    pass: Pass,
    chunk: usize,
) -> anyhow::Result<()> {
    let (sender, chunks) = mpsc::channel(2);
    let verdict = sender.clone();
    let sending = Sending {
        sender,
        skip: Skip::default(),
        chunk,
    };
    let check = Pass {
        show: false,
        ..pass.clone()
    };
    let checked = async move {
        let checked = check.run_blocking("checking", None, None).await;
        let refusal = match &checked {
            Ok(findings) if findings.rows == 0 => Some(anyhow::anyhow!("{NO_ITEMS}")),
            Ok(findings) => findings
                .refusal()
                .map(|r| anyhow::anyhow!("{r}; nothing was imported")),
            Err(e) => Some(anyhow::anyhow!("{e:#}")),
        };
        match refusal {
            Some(refusal) => {
                let stop = AppError::Internal(anyhow::anyhow!("the check refused the file"));
                let _ = verdict.send(Err(stop)).await;
                Err(refusal)
            }
            None => checked,
        }
    };
    let entry =
        Entry::from_cli(None, Action::ItemsImported).details(serde_json::json!({ "skipped": 0 }));
    let producer = pass.clone().send_all_blocking(sending);
    let (stored, sent, checked) = tokio::join!(
        store.import_item_chunks(project, &[], chunks, &entry),
        producer,
        checked
    );
    let imported = match (stored, sent, checked) {
        (_, _, Err(refusal)) => return Err(refusal),
        (Ok(imported), Ok(()), Ok(_)) => imported,
        (Err(e), Err(stopped), _) if stopped.to_string().contains(STOPPED) => {
            return Err(public(e))
        }
        (_, Err(e), _) => return Err(e),
        (Err(e), Ok(()), _) => return Err(public(e)),
    };
    if pass.show {
        eprintln!("imported {imported} items into project {}", project.id);
    }
    Ok(())
}

const NO_ITEMS: &str = "items: the file holds no items";
const STOPPED: &str = "the database stopped taking items";

/// Where the second pass sends the rows it keeps.
struct Sending {
    sender: mpsc::Sender<crate::error::Result<Vec<NewItem>>>,
    skip: Skip,
    chunk: usize,
}

#[derive(Clone)]
struct Pass {
    path: PathBuf,
    format: Format,
    project: Arc<Project>,
    in_project: Arc<HashSet<u64>>,
    show: bool,
}

impl Pass {
    async fn run_blocking(
        self,
        what: &'static str,
        first: Option<Findings>,
        sending: Option<Sending>,
    ) -> anyhow::Result<Findings> {
        tokio::task::spawn_blocking(move || self.run(what, first.as_ref(), sending))
            .await
            .context("import task")?
    }

    /// One pass over the file: every row checked; with `sending`, the rows kept sent on.
    fn run(
        &self,
        what: &str,
        first: Option<&Findings>,
        sending: Option<Sending>,
    ) -> anyhow::Result<Findings> {
        let mut checker = match first {
            Some(first) => Checker::second_pass(&self.project, &self.in_project, first),
            None => Checker::new(&self.project, &self.in_project),
        };
        self.each_row(what, sending, |item, problem| {
            checker.observe(item, problem)
        })?;
        Ok(checker.finish())
    }

    async fn send_all_blocking(self, sending: Sending) -> anyhow::Result<()> {
        tokio::task::spawn_blocking(move || {
            self.each_row("importing", Some(sending), |_, _| RowFlags::default())
        })
        .await
        .context("import task")?
    }

    /// The file and its progress bar.
    fn open(&self, what: &str) -> anyhow::Result<(File, ProgressBar)> {
        let file = File::open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        Ok((file, progress_bar(&self.path, what, self.show)?))
    }

    /// Reads every row, checks it against the project and, with `sending`, sends on the
    /// rows whose `flags` the skip keeps, refusing the first kept row that cannot be stored.
    fn each_row(
        &self,
        what: &str,
        mut sending: Option<Sending>,
        mut flags: impl FnMut(&NewItem, Option<&ItemProblem>) -> RowFlags,
    ) -> anyhow::Result<()> {
        let (file, bar) = match self.open(what) {
            Ok(opened) => opened,
            Err(e) => {
                stop_store(
                    sending.as_ref(),
                    AppError::Internal(anyhow::anyhow!("{e:#}")),
                );
                return Err(e);
            }
        };
        let reader = BufReader::with_capacity(1 << 16, bar.wrap_read(file));
        let mut chunk = Vec::new();
        let items = match read_items(reader, self.format) {
            Ok(items) => items,
            Err(e) => return fail(sending.as_ref(), e.into()),
        };
        for item in items {
            let mut item = match item {
                Ok(item) => item,
                Err(e) => return fail(sending.as_ref(), e.into()),
            };
            let problem = check_item(&mut item, &self.project).err();
            let flags = flags(&item, problem.as_ref());
            let Some(sending) = sending.as_mut() else {
                continue;
            };
            if sending.skip.skips(flags) {
                continue;
            }
            if let Some(refusal) = row_refusal(&item, problem.as_ref()) {
                return fail(Some(sending), refusal.into());
            }
            chunk.push(item);
            if chunk.len() >= sending.chunk {
                send(sending, std::mem::take(&mut chunk))?;
            }
        }
        if let Some(sending) = sending.as_ref() {
            if !chunk.is_empty() {
                send(sending, chunk)?;
            }
        }
        bar.finish_and_clear();
        Ok(())
    }
}

fn send(sending: &Sending, chunk: Vec<NewItem>) -> anyhow::Result<()> {
    sending
        .sender
        .blocking_send(Ok(chunk))
        .map_err(|_| anyhow::anyhow!(STOPPED))
}

/// Stops a pass: the store, if it is taking rows, gets the error and rolls back.
fn fail<T>(sending: Option<&Sending>, e: AppError) -> anyhow::Result<T> {
    let message = format!("{}; nothing was imported", e.public_message());
    stop_store(sending, e);
    Err(anyhow::anyhow!(message))
}

/// Sends the store, if it is taking rows, an error in place of the next chunk: it rolls
/// back (it may have stopped already, when the error is its own).
fn stop_store(sending: Option<&Sending>, e: AppError) {
    if let Some(sending) = sending {
        let _ = sending.sender.blocking_send(Err(e));
    }
}

fn progress_bar(path: &Path, what: &str, show: bool) -> anyhow::Result<ProgressBar> {
    if !show {
        return Ok(ProgressBar::hidden());
    }
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .len();
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg:>14} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .map_err(|e| anyhow::anyhow!("progress bar: {e}"))?
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    Ok(bar)
}

fn print_findings(findings: &Findings, how: &str) -> anyhow::Result<()> {
    if how == "json" {
        println!("{}", serde_json::to_string_pretty(findings)?);
        return Ok(());
    }
    println!(
        "{} rows, {} with nothing flagged",
        findings.rows, findings.importable
    );
    for (field, types) in &findings.fields {
        let types: Vec<String> = types
            .types
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        println!("field {field}: {}", types.join(", "));
    }
    for f in &findings.findings {
        let pattern = f
            .pattern
            .map(|p| format!(" ({})", p.as_str()))
            .unwrap_or_default();
        let rows: Vec<String> = f.rows.iter().map(usize::to_string).collect();
        let more = f.count.saturating_sub(f.rows.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        println!(
            "{:<7} {}{pattern}: {}; lines {}{more}",
            f.severity.as_str(),
            f.kind.as_str(),
            f.message,
            rows.join(", ")
        );
        if let Some(example) = &f.example {
            println!("        e.g. {example}");
        }
    }
    if findings.blocked {
        let errors = findings
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        println!("{errors} kinds of error: an import keeping these rows is refused (--skip-flagged leaves them out)");
    }
    Ok(())
}
