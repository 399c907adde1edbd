//! Making a dataset version: an export run streams a project out a page at a time through
//! one of the formats, keeps each page's bytes as a chunk of the version, hashes them, and
//! at the end records the counts, the hash and the dataset card. The API, the export form
//! and `tally export` all run exports through here.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::audit::Entry;
use crate::domain::export::card::{quality_of, CardQuality, DatasetCard, ExportStats};
use crate::domain::export::records::{columns, drop_fields, record_count, records, Column};
use crate::domain::export::split::Splitter;
use crate::domain::export::{ExportOptions, ExportRow, Format, LabelsKept, Method};
use crate::domain::kinds::display;
use crate::domain::project::Project;
use crate::domain::report::{agreement_report, item_name, AgreementReport, ReportInput};
use crate::domain::webhook::WebhookEvent;
use crate::error::{AppError, Result};
use crate::formats::{self, DataFields, Encoder, Page, Target};
use crate::quality::{ConsensusMethod, ReportOptions};
use crate::store::datasets::VersionTotals;
use crate::store::report::ItemData;
use crate::store::Store;

/// The card's report reads at most about this many labels (every n-th item beyond), so
/// that making a version of a large project stays within bounded memory.
pub const CARD_REPORT_MAX_LABELS: i64 = 100_000;

/// Runs the agreement part of a project's report (what the card states) off the async
/// runtime.
async fn run_agreement_report(
    project: &Project,
    input: Arc<ReportInput>,
    options: ReportOptions,
) -> Result<AgreementReport> {
    let project = project.clone();
    tokio::task::spawn_blocking(move || agreement_report(&project, &input, &options))
        .await?
        .map_err(AppError::from)
}

enum Stage {
    Pages,
    Done,
}

type Task<T> = tokio::task::JoinHandle<Result<T>>;

enum Quality {
    Ready(CardQuality),
    Computing(Task<CardQuality>),
}

/// One export in progress.
pub struct ExportRun {
    store: Store,
    project: Project,
    options: ExportOptions,
    columns: Vec<Column>,
    encoder: Box<dyn Encoder>,
    splitter: Option<Splitter>,
    /// Dawid-Skene's label and posterior per item id, when that method was asked for.
    fitted: HashMap<i64, (Value, f64)>,
    /// The card's figures: computed before the first row when the rows need the report
    /// (Dawid-Skene), otherwise computing beside the rows and awaited at the end.
    quality: Quality,
    /// The next page, read while this one is encoded.
    next_page: Option<Task<Vec<ExportRow>>>,
    /// The last chunk being stored while the next is made (one at a time, in order).
    storing: Option<Task<()>>,
    stats: ExportStats,
    hasher: Sha256,
    bytes: u64,
    after: i64,
    seq: i64,
    version_id: i64,
    created_by: String,
    /// The audit entry recorded when the version is complete.
    audit: Entry,
    stage: Stage,
    card: Option<DatasetCard>,
}

impl ExportRun {
    /// Reads what the export needs before its first row (the report behind the card and a
    /// Dawid-Skene consensus, the data fields' types for typed formats) and opens the
    /// version. `audit` is recorded (with the version's counts) when the version is
    /// complete.
    pub async fn start(
        store: Store,
        project: Project,
        options: ExportOptions,
        created_by: &str,
        audit: Entry,
    ) -> Result<ExportRun> {
        let (quality, fitted) = if options.method == Method::DawidSkene {
            let (report, fitted) = report_and_fit(&store, &project, &options).await?;
            (Quality::Ready(quality_of(&report)), fitted)
        } else {
            let (store, project, options) = (store.clone(), project.clone(), options.clone());
            let task = tokio::spawn(async move {
                let (report, _) = report_and_fit(&store, &project, &options).await?;
                Ok(quality_of(&report))
            });
            (Quality::Computing(task), HashMap::new())
        };
        let mut data_fields = DataFields::default();
        if matches!(options.format, Format::Parquet | Format::Tfrecord) {
            data_fields = learn_data_fields(&store, &project, &options).await?;
        }
        let columns = columns(&options);
        let encoder = formats::encoder(Target {
            format: options.format,
            columns: columns.clone(),
            project: &project,
            data_fields,
        })
        .map_err(AppError::Internal)?;
        let settings = serde_json::to_string(&options)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("export settings: {e}")))?;
        let version_id = store
            .begin_version(project.id, created_by, options.format.as_str(), &settings)
            .await?;
        let audit = audit.details(serde_json::json!({ "format": options.format.as_str() }));
        Ok(ExportRun {
            splitter: options.split.as_ref().map(Splitter::new),
            quality,
            next_page: None,
            storing: None,
            store,
            project,
            options,
            columns,
            encoder,
            fitted,
            stats: ExportStats::default(),
            hasher: Sha256::new(),
            bytes: 0,
            after: 0,
            seq: 0,
            version_id,
            created_by: created_by.to_string(),
            audit,
            stage: Stage::Pages,
            card: None,
        })
    }

    pub fn format(&self) -> Format {
        self.options.format
    }

    pub fn version_id(&self) -> i64 {
        self.version_id
    }

    /// Items read so far (written or left out), for a progress bar.
    pub fn items_read(&self) -> u64 {
        self.stats.items + self.stats.left_out.values().sum::<u64>()
    }

    /// The card, once the last chunk has been returned.
    pub fn card(&self) -> Option<&DatasetCard> {
        self.card.as_ref()
    }

    /// The next bytes of the file, or `None` after the last. Each chunk is stored with the
    /// version before it is returned.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            if let Stage::Done = self.stage {
                return Ok(None);
            }
            let task = match self.next_page.take() {
                Some(task) => task,
                None => self.read_page_beside(self.after),
            };
            let page = task.await??;
            let bytes = if let Some(last) = page.last() {
                self.after = last.id;
                self.next_page = Some(self.read_page_beside(self.after));
                let rows = self.shape_rows(page);
                let reads_records = self.encoder.reads_records();
                let mut page_records = Vec::new();
                for row in &rows {
                    self.stats
                        .add(row, record_count(row, &self.options), &self.options);
                    if reads_records {
                        page_records.extend(records(row, &self.columns, &self.options));
                    }
                }
                self.encoder
                    .page(&Page {
                        rows: &rows,
                        records: &page_records,
                    })
                    .map_err(AppError::Internal)?
            } else {
                let bytes = Bytes::from(self.encoder.finish().map_err(AppError::Internal)?);
                self.keep_chunk(&bytes).await?;
                self.wait_for_storing().await?;
                self.complete().await?;
                self.stage = Stage::Done;
                return Ok(Some(bytes));
            };
            if bytes.is_empty() {
                continue;
            }
            let bytes = Bytes::from(bytes);
            self.keep_chunk(&bytes).await?;
            return Ok(Some(bytes));
        }
    }

    /// Starts reading the page after item id `after` while the caller goes on.
    fn read_page_beside(&self, after: i64) -> Task<Vec<ExportRow>> {
        let (store, project, options) = (
            self.store.clone(),
            self.project.clone(),
            self.options.clone(),
        );
        tokio::spawn(async move { store.export_page(&project, after, &options).await })
    }

    /// Stores a chunk with the version beside the making of the next one; the chunk before
    /// it is stored first, so chunks land in order and one at a time.
    async fn keep_chunk(&mut self, bytes: &Bytes) -> Result<()> {
        self.wait_for_storing().await?;
        if bytes.is_empty() {
            return Ok(());
        }
        self.seq += 1;
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        let (store, version, seq, bytes) =
            (self.store.clone(), self.version_id, self.seq, bytes.clone());
        self.storing = Some(tokio::spawn(async move {
            store.store_chunk(version, seq, &bytes).await
        }));
        Ok(())
    }

    async fn wait_for_storing(&mut self) -> Result<()> {
        match self.storing.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }

    /// The card's figures, once they are computed.
    async fn card_quality(&mut self) -> Result<CardQuality> {
        let quality = match &mut self.quality {
            Quality::Ready(quality) => quality.clone(),
            Quality::Computing(task) => task.await??,
        };
        self.quality = Quality::Ready(quality.clone());
        Ok(quality)
    }

    /// Settles each row's consensus, drops fields, applies the filters and the split.
    fn shape_rows(&mut self, page: Vec<ExportRow>) -> Vec<ExportRow> {
        let mut kept = Vec::with_capacity(page.len());
        for mut row in page {
            drop_fields(&mut row.data, &self.options.drop_fields);
            let fitted = self.fitted.get(&row.id).cloned();
            row.settle(self.options.method, fitted);
            if let Some(reason) = left_out_because(&row, &self.options) {
                self.stats.leave_out(reason);
                continue;
            }
            if let Some(splitter) = &mut self.splitter {
                let stratum = row.consensus.as_ref().map(display).unwrap_or_default();
                row.split = Some(splitter.assign(row.id, &stratum));
            }
            self.stats.count_versions(&row);
            if self.options.labels == LabelsKept::Consensus {
                row.labels.clear();
            }
            kept.push(row);
        }
        kept
    }

    async fn complete(&mut self) -> Result<()> {
        let quality = self.card_quality().await?;
        let sha256 = hex::encode(self.hasher.clone().finalize());
        let card = DatasetCard {
            project_id: self.project.id,
            project_name: self.project.name.clone(),
            kind: self.project.kind.as_str().to_string(),
            categories: self.project.labels.clone(),
            version: self.version_id,
            created_at: crate::domain::now_ms(),
            created_by: self.created_by.clone(),
            format: self.options.format.as_str().to_string(),
            settings: self.options.clone(),
            content_sha256: sha256.clone(),
            bytes: self.bytes,
            guideline_versions: self.stats.guideline_versions.keys().copied().collect(),
            consensus_method: DatasetCard::consensus_method_text(&self.options),
            stats: self.stats.clone(),
            quality,
            fields_dropped: self.options.drop_fields.clone(),
            tally_version: env!("CARGO_PKG_VERSION").to_string(),
        };
        let card_json = serde_json::to_string(&card)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("card: {e}")))?;
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.store
            .complete_version(
                self.version_id,
                VersionTotals {
                    rows: count(self.stats.rows),
                    labels: count(self.stats.labels),
                    bytes: count(self.bytes),
                    sha256: &sha256,
                    card_json: &card_json,
                },
                &self.audit,
            )
            .await?;
        let event = WebhookEvent::DatasetVersionCreated {
            version_id: self.version_id,
            format: self.options.format.as_str().to_string(),
            rows: count(self.stats.rows),
            labels: count(self.stats.labels),
            sha256,
        };
        self.store.notify_webhooks(self.project.id, &event).await;
        self.card = Some(card);
        Ok(())
    }
}

impl Drop for ExportRun {
    /// An export that stops early (its client went away, an error) leaves no version.
    fn drop(&mut self) {
        if matches!(self.stage, Stage::Done) {
            return;
        }
        // Work begun beside the rows is of no use any more.
        if let Quality::Computing(task) = &self.quality {
            task.abort();
        }
        if let Some(task) = &self.next_page {
            task.abort();
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            let id = self.version_id;
            handle.spawn(async move {
                if let Err(e) = store.discard_version(id).await {
                    tracing::warn!("discarding unfinished dataset version {id}: {e}");
                }
            });
        }
    }
}

/// Why an item stays out of an export, if it does.
fn left_out_because(row: &ExportRow, options: &ExportOptions) -> Option<&'static str> {
    if options.labels == LabelsKept::Consensus && row.consensus.is_none() {
        return Some("no consensus");
    }
    if let Some(min) = options.min_agreement {
        if row.agreement.is_none_or(|a| a < min) {
            return Some("agreement below the minimum");
        }
    }
    if let Some(min) = options.min_confidence {
        let adjudicated = row.consensus_source == Some("adjudicated");
        if !adjudicated && row.confidence.is_none_or(|c| c < min) {
            return Some("confidence below the minimum");
        }
    }
    None
}

/// The input with only the labels of the pools the export keeps; shared as it is when it
/// has no others.
fn of_kept_pools(input: Arc<ReportInput>, options: &ExportOptions) -> Arc<ReportInput> {
    if input.labels.iter().all(|l| options.keeps_pool(l.pool)) {
        return input;
    }
    let mut input = Arc::unwrap_or_clone(input);
    input.labels.retain(|l| options.keeps_pool(l.pool));
    Arc::new(input)
}

/// The agreement report for the card (over a sample of a large project), and with
/// Dawid-Skene each item's fitted label and posterior (over every label kept).
async fn report_and_fit(
    store: &Store,
    project: &Project,
    options: &ExportOptions,
) -> Result<(AgreementReport, HashMap<i64, (Value, f64)>)> {
    let dawid_skene = options.method == Method::DawidSkene;
    let input = if dawid_skene {
        store.report_input(project.id, ItemData::Skipped).await?
    } else {
        Arc::new(
            store
                .report_input_sample(project.id, CARD_REPORT_MAX_LABELS)
                .await?
                .0,
        )
    };
    let input = of_kept_pools(input, options);
    let names: HashMap<String, i64> = if dawid_skene {
        input
            .labels
            .iter()
            .map(|l| (item_name(l.item_id, l.external_id.as_deref()), l.item_id))
            .collect()
    } else {
        HashMap::new()
    };
    let report_options = ReportOptions {
        level: project.kind.report_level(),
        method: match options.method {
            Method::Majority => ConsensusMethod::Majority,
            Method::DawidSkene => ConsensusMethod::DawidSkene,
        },
        bootstrap_draws: 500,
        ..ReportOptions::default()
    };
    let report = run_agreement_report(project, input, report_options).await?;
    let mut fitted = HashMap::new();
    if dawid_skene {
        for c in report.report.iter().flat_map(|r| &r.consensus) {
            if let (false, Some(label), Some(id)) = (c.tie, &c.label, names.get(&c.item)) {
                fitted.insert(*id, (project.kind.value_from_text(label), c.confidence));
            }
        }
    }
    Ok((report, fitted))
}

/// The types of the data fields of every item the export covers.
async fn learn_data_fields(
    store: &Store,
    project: &Project,
    options: &ExportOptions,
) -> Result<DataFields> {
    let mut fields = DataFields::default();
    let mut after = 0;
    loop {
        let page = store
            .item_data_page(project.id, after, options.include_gold)
            .await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        for (_, mut data) in page {
            drop_fields(&mut data, &options.drop_fields);
            fields.observe(&data);
        }
    }
    Ok(fields)
}
