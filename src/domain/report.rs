//! A project's quality report: the statistics engine run over its labels, with process
//! feedback measured against the consensus and the saving of dynamic overlap beside it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Map, Value};

use super::feedback::{agreement_with_consensus, SourceAgreement, StoredFeedback};
use super::kinds::{display, from_stored, Kind, StoredCategories};
use super::policy::{OverlapSavings, Pool};
use super::project::Project;
pub use super::report_kinds::{kind_report, KindReport};
use super::Invalid;
use crate::quality::memo::Memo;
use crate::quality::{
    build_report_kept, Categories, ConsensusMethod, DatasetBuilder, KeptConsensus, KeyedLabel,
    LabelInput, Level, RaterKey, Report, ReportOptions, ValueKey,
};

/// A text that many labels share (a pseudonym, a stored value, an external id), behind one
/// thin pointer: a big project's report holds millions of labels, and an `Arc<str>` would
/// take each of them a length beside the pointer. Reads as the `str` it holds; equal and
/// hashed as that `str`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SharedText(Arc<String>);

impl SharedText {
    /// Whether `a` and `b` are the same shared text, not only equal ones.
    pub fn ptr_eq(a: &SharedText, b: &SharedText) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl std::ops::Deref for SharedText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SharedText {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedText {
    fn from(text: &str) -> Self {
        SharedText(Arc::new(text.to_owned()))
    }
}

impl From<String> for SharedText {
    fn from(text: String) -> Self {
        SharedText(Arc::new(text))
    }
}

impl std::fmt::Debug for SharedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self.0, f)
    }
}

/// One human label as the quality engine reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRecord {
    pub item_id: i64,
    /// Shared by the item's labels, as is the rater's name: a big project's report holds
    /// millions of labels.
    pub external_id: Option<SharedText>,
    /// The rater's pseudonym: reports, like exports, never show names.
    pub rater: SharedText,
    pub pool: Pool,
    /// As stored: canonical JSON text, shared by the labels with the same value.
    pub value: SharedText,
    /// At most `u32::MAX` (49 days), which no label takes: a big project's report holds
    /// millions of these, and the narrower fields keep each 16 bytes smaller.
    pub duration_ms: Option<u32>,
    pub created_at: i64,
    /// Whether the rater saw the item's pre-label; `None` when the item has none.
    pub prediction_shown: Option<bool>,
    /// The guideline version the label was given under; `None` where it is not known
    /// (labels from files, for `tally report`).
    pub guideline_version: Option<i32>,
}

#[cfg(test)]
impl LabelRecord {
    /// A generalist's label choosing `value`, under guideline version 1, for tests.
    pub(crate) fn choice(item: i64, rater: &str, value: &str) -> LabelRecord {
        LabelRecord {
            item_id: item,
            external_id: None,
            rater: rater.into(),
            pool: Pool::Generalist,
            value: format!("\"{value}\"").into(),
            duration_ms: None,
            created_at: 0,
            prediction_shown: None,
            guideline_version: Some(1),
        }
    }
}

/// Everything a report reads from one project.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub labels: Vec<LabelRecord>,
    /// Known answers by item id (gold questions and items imported with `gold`), as
    /// stored (canonical JSON text).
    pub gold: HashMap<i64, String>,
    /// Models' pre-labels by item id, as stored.
    pub predictions: HashMap<i64, String>,
    /// Item data by item id, for slicing by a metadata field.
    pub data: HashMap<i64, Map<String, Value>>,
    /// For each item whose generalist labels are complete, by id, how many it got (for the
    /// saving of dynamic overlap).
    pub settled_generalist: foldhash::HashMap<i64, i64>,
    pub items: i64,
    /// Reviewers' final labels by item id.
    pub adjudications: HashMap<i64, FinalLabel>,
    /// The categorical engine's dataset of these labels, made by the first report that
    /// needs it, for the reports after it (a store keeps an input while its project's data
    /// is unchanged). An input is not changed once a report has been made from it.
    pub prepared: Prepared,
}

impl ReportInput {
    /// Adds labels given after every label the input holds, as a read of all of them would
    /// have put them: the input's labels are in item order and, within an item, in the
    /// order given, and so are `later`. What was prepared from the labels before is kept
    /// for the next report to bring up to date (see [`Pending`]).
    ///
    /// The held labels are moved in place, each once: a copy into a new vector took three
    /// times as long on half a million labels, most of it the new vector's pages.
    pub fn add_later_labels(&mut self, later: Vec<LabelRecord>) {
        let Some(filler) = later.first().cloned() else {
            return;
        };
        // Later labels come in item order: the held labels before the first one's item stay
        // where they are, and what was prepared of them can be continued with the rest.
        let untouched = (self.labels).partition_point(|held| held.item_id < filler.item_id);
        self.prepared.labels_added(self.labels.len(), untouched);
        // Where each later label goes: after its item's labels (later ones of the same
        // item in turn after it).
        let places: Vec<usize> = later
            .iter()
            .map(|l| {
                self.labels
                    .partition_point(|held| held.item_id <= l.item_id)
            })
            .collect();
        let held = self.labels.len();
        self.labels.resize(held + later.len(), filler);
        // From the last: the held labels from a place on move right by the number of later
        // labels before them, into the room left at the end, and the label takes the last
        // slot freed in front of them.
        let mut end = held;
        for (index, (label, place)) in later.into_iter().zip(places).enumerate().rev() {
            let shift = index + 1;
            self.labels[place..end + shift].rotate_right(shift);
            self.labels[place + index] = label;
            end = place;
        }
    }

    /// Records whether an item's generalist labels are now complete, counting them among
    /// the input's labels.
    pub fn set_settled(&mut self, item_id: i64, settled: bool) {
        if !settled {
            self.settled_generalist.remove(&item_id);
            return;
        }
        let generalist = generalist_labels(self.labels_of(item_id));
        self.settled_generalist.insert(item_id, generalist);
    }

    /// Records that the item whose labels end the input is settled; a read takes each item
    /// with its labels, and looking them up again (two searches of every label held) took
    /// a fifth of tally's share of reading half a million labels.
    pub fn settle_last_item(&mut self, item_id: i64, labels: usize) {
        let held = &self.labels[self.labels.len().saturating_sub(labels)..];
        debug_assert!(held.iter().all(|l| l.item_id == item_id));
        self.settled_generalist
            .insert(item_id, generalist_labels(held));
    }

    /// Makes `settled` (by id, in ascending order) the input's settled items, counting
    /// their generalist labels in one pass over the labels held.
    pub fn settle_only(&mut self, settled: &[i64]) {
        debug_assert!(settled.is_sorted());
        self.settled_generalist.clear();
        let mut rest = &self.labels[..];
        for &item_id in settled {
            let first = rest.iter().take_while(|l| l.item_id < item_id).count();
            rest = &rest[first..];
            let count = rest.iter().take_while(|l| l.item_id == item_id).count();
            let generalist = generalist_labels(&rest[..count]);
            self.settled_generalist.insert(item_id, generalist);
        }
    }

    /// The labels the input holds of item `item_id`, in the order given.
    pub fn labels_of(&self, item_id: i64) -> &[LabelRecord] {
        labels_of_item(&self.labels, item_id)
    }

    /// Puts `labels` (by item, in the order given) in place of those the input holds of
    /// `items`, whose labels were edited, and lets go of everything else held of them, as
    /// [`ReportInput::forget_items`] does (the caller puts their known answers back). When
    /// each item keeps its raters, with their pools, in the same order and its external id,
    /// the next report patches the engine's dataset made before with them instead of
    /// making it again.
    pub fn relabel_items(&mut self, items: &foldhash::HashSet<i64>, labels: Vec<LabelRecord>) {
        let same_raters = |held: &[LabelRecord], now: &[LabelRecord]| {
            held.len() == now.len()
                && (held.iter().zip(now)).all(|(held, now)| {
                    (&held.rater, &held.pool, &held.external_id)
                        == (&now.rater, &now.pool, &now.external_id)
                })
        };
        let patchable =
            (items.iter()).all(|&id| same_raters(self.labels_of(id), labels_of_item(&labels, id)));
        let pending = self.prepared.take_for_edit(self.labels.len());
        self.forget_items(items);
        self.add_later_labels(labels);
        if let (true, Some(mut pending)) = (patchable, pending) {
            pending.edited.extend(items);
            *self.prepared.pending_mut() = Some(pending);
        }
    }

    /// Lets go of everything the input holds of `items` (their labels, known answers,
    /// pre-labels, data, settled counts and final labels), which are read again, and of
    /// what was prepared from the labels.
    pub fn forget_items(&mut self, items: &foldhash::HashSet<i64>) {
        self.labels.retain(|l| !items.contains(&l.item_id));
        for item_id in items {
            self.gold.remove(item_id);
        }
        self.forget_item_facts(items);
        self.prepared = Prepared::default();
    }

    /// Lets go of what the input holds of `items` besides their labels and known answers
    /// (pre-labels, data, settled counts and final labels), which are read again. The
    /// engine's dataset is made of labels and known answers alone, so what was prepared
    /// from them stays.
    pub fn forget_item_facts(&mut self, items: &foldhash::HashSet<i64>) {
        for item_id in items {
            self.predictions.remove(item_id);
            self.data.remove(item_id);
            self.settled_generalist.remove(item_id);
            self.adjudications.remove(item_id);
        }
    }
}

#[cfg(test)]
impl ReportInput {
    /// Has a dataset made from the input's labels, as the first report of them does.
    pub(crate) fn prepare_for_test(&self) {
        let made_for = PreparedFor {
            categories: Vec::new(),
            slice_field: None,
        };
        self.prepared.made.get_or_make(made_for, || {
            CategoricalData::unfitted(crate::quality::Dataset::default(), Vec::new())
        });
    }

    /// Whether a dataset made from the input's labels is held for the next report.
    pub(crate) fn is_prepared(&self) -> bool {
        self.prepared.made.kept().is_some()
    }
}

/// The labels of item `item_id` among `labels`, which are by item.
pub fn labels_of_item(labels: &[LabelRecord], item_id: i64) -> &[LabelRecord] {
    let first = labels.partition_point(|l| l.item_id < item_id);
    let count = labels[first..].partition_point(|l| l.item_id == item_id);
    &labels[first..first + count]
}

/// How many of `labels` generalists gave.
fn generalist_labels(labels: &[LabelRecord]) -> i64 {
    labels.iter().filter(|l| l.pool == Pool::Generalist).count() as i64
}

/// The categorical engine's dataset of a report input, for the categories and slice field it
/// was made with.
#[derive(Default)]
pub struct Prepared {
    made: Memo<PreparedFor, CategoricalData>,
    /// What was made before labels were added or edited by the raters who gave them: the
    /// next report brings it up to date.
    pending: Mutex<Option<Pending>>,
}

/// A dataset made of an input's labels, to be brought up to date with the input's labels
/// now: the items of the labels after the first `labels` are cut away from it and made
/// again with those labels, and the `edited` items it keeps are patched.
struct Pending {
    made_for: PreparedFor,
    data: Arc<CategoricalData>,
    /// How many of the input's first labels, on items before all the others, it still
    /// holds as they are (an edit keeps their number).
    labels: usize,
    /// The items edited since it was made.
    edited: foldhash::HashSet<i64>,
}

impl Pending {
    fn of_made((made_for, data): (PreparedFor, Arc<CategoricalData>), labels: usize) -> Self {
        Pending {
            made_for,
            data,
            labels,
            edited: Default::default(),
        }
    }
}

impl Prepared {
    fn pending_mut(&mut self) -> &mut Option<Pending> {
        self.pending.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// Labels were added to an input that held `held`, the first `untouched` of them on
    /// items before the items of every label added.
    fn labels_added(&mut self, held: usize, untouched: usize) {
        let made = std::mem::take(&mut self.made).into_kept();
        let pending = self.pending_mut();
        if let Some(made) = made {
            *pending = Some(Pending::of_made(made, held));
        }
        match pending {
            // Nothing made would be kept.
            Some(_) if untouched == 0 => *pending = None,
            Some(pending) => pending.labels = pending.labels.min(untouched),
            None => {}
        }
    }

    /// What was made of the input's `held` labels before an edit, or is pending since,
    /// handed over to be patched.
    fn take_for_edit(&mut self, held: usize) -> Option<Pending> {
        let pending = self.pending_mut().take();
        let made = std::mem::take(&mut self.made).into_kept();
        made.map(|made| Pending::of_made(made, held)).or(pending)
    }

    /// What is pending for `made_for`, handed over to be brought up to date.
    fn take_pending(&self, made_for: &PreparedFor) -> Option<Pending> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.take().filter(|p| p.made_for == *made_for)
    }
}

/// What a prepared dataset was made with, besides the input's labels.
#[derive(PartialEq, Clone)]
struct PreparedFor {
    categories: Vec<String>,
    slice_field: Option<String>,
}

/// A dataset, the item id of each of its items (by the dataset's item index), and its
/// consensus as the reports made from it fitted it.
struct CategoricalData {
    dataset: crate::quality::Dataset,
    item_ids: Vec<i64>,
    consensus: KeptConsensus,
}

impl CategoricalData {
    /// A dataset and its item ids, with no consensus fitted on it yet.
    fn unfitted(dataset: crate::quality::Dataset, item_ids: Vec<i64>) -> Self {
        CategoricalData {
            dataset,
            item_ids,
            consensus: KeptConsensus::default(),
        }
    }
}

/// A copy of an input is one that may change: it prepares its own dataset.
impl Clone for Prepared {
    fn clone(&self) -> Self {
        Prepared::default()
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prepared")
    }
}

/// Where an item id sits among a dataset's item ids: by binary search, as the input's
/// labels come in item order, or through a map otherwise.
enum ItemIndex<'a> {
    Sorted(&'a [i64]),
    Mapped(foldhash::HashMap<i64, usize>),
}

impl<'a> ItemIndex<'a> {
    fn of(ids: &'a [i64]) -> Self {
        if ids.is_sorted() {
            ItemIndex::Sorted(ids)
        } else {
            ItemIndex::Mapped(ids.iter().enumerate().map(|(i, &id)| (id, i)).collect())
        }
    }

    fn position(&self, id: i64) -> Option<usize> {
        match self {
            ItemIndex::Sorted(ids) => ids.binary_search(&id).ok(),
            ItemIndex::Mapped(positions) => positions.get(&id).copied(),
        }
    }
}

/// A reviewer's final label on an item, as the report reads it.
#[derive(Debug, Clone)]
pub struct FinalLabel {
    /// As stored (canonical JSON text).
    pub value: String,
    /// The reviewer's pseudonym.
    pub reviewer: String,
    pub reason: String,
}

/// Reads a level of measurement as the API and the CLI name it.
pub fn parse_level(s: &str) -> Result<Level, Invalid> {
    match s {
        "nominal" => Ok(Level::Nominal),
        "ordinal" => Ok(Level::Ordinal),
        "interval" => Ok(Level::Interval),
        "ratio" => Ok(Level::Ratio),
        other => Err(Invalid::new(
            "level",
            format!("unknown level {other:?}: use nominal, ordinal, interval or ratio"),
        )),
    }
}

/// Reads a consensus method: `majority` or `dawid-skene` (`dawid_skene` also works).
pub fn parse_method(s: &str) -> Result<ConsensusMethod, Invalid> {
    match s {
        "majority" => Ok(ConsensusMethod::Majority),
        "dawid-skene" | "dawid_skene" => Ok(ConsensusMethod::DawidSkene),
        other => Err(Invalid::new(
            "method",
            format!("unknown method {other:?}: use majority or dawid-skene"),
        )),
    }
}

/// The whole report of a project, as `GET /api/v1/projects/{pid}/report` answers it. Kinds
/// whose values are categories (choices, ratings) get the categorical report (alpha,
/// kappas, consensus, rater quality, bias); the others get their own measure.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectReport {
    pub kind: Kind,
    #[serde(flatten)]
    pub report: Option<Report>,
    /// Agreement and consensus of kinds that are not categories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind_agreement: Option<KindReport>,
    /// Each process-feedback source's agreement with the consensus, overall and by context.
    pub feedback: Vec<SourceAgreement>,
    /// What dynamic overlap saved; `null` for a fixed overlap.
    pub overlap_savings: Option<OverlapSavings>,
    /// How often raters keep a model's pre-label when shown it, against blind raters; absent
    /// when no label was given on an item with a pre-label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchoring: Option<super::anchoring::Anchoring>,
    /// Reviewers' final labels and how each rater's labels compare with them.
    pub adjudication: AdjudicationSummary,
    /// Agreement among the labels given under each guideline version, oldest first: did a
    /// clarification of the instructions help?
    pub guideline_versions: Vec<super::report_versions::VersionAgreement>,
}

impl ProjectReport {
    /// The report without its consensus row per item, every figure as it is (the answer to
    /// `consensus=none`).
    pub fn without_consensus_rows(&self) -> ProjectReport {
        let ProjectReport {
            kind,
            report,
            kind_agreement,
            feedback,
            overlap_savings,
            anchoring,
            adjudication,
            guideline_versions,
        } = self;
        ProjectReport {
            kind: *kind,
            report: report.as_ref().map(Report::without_consensus_rows),
            kind_agreement: (kind_agreement.as_ref()).map(KindReport::without_consensus_rows),
            feedback: feedback.clone(),
            overlap_savings: overlap_savings.clone(),
            anchoring: anchoring.clone(),
            adjudication: adjudication.clone(),
            guideline_versions: guideline_versions.clone(),
        }
    }
}

/// What reviewers settled. A final label replaces the item's consensus everywhere (marked
/// `adjudicated` with who and why); each rater's share of labels matching the final labels
/// shows who reviewers found wrong.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AdjudicationSummary {
    /// Items with a final label.
    pub items: usize,
    /// Final labels that differ from the labels' majority.
    pub overturned: usize,
    /// Final labels on items whose labels had no majority (a tie).
    pub ties_settled: usize,
    pub raters: Vec<RaterVersusFinal>,
}

/// One rater's labels on items with a final label.
#[derive(Debug, Clone, Serialize)]
pub struct RaterVersusFinal {
    pub rater: String,
    pub pool: String,
    /// Labels on items with a final label.
    pub compared: usize,
    /// Of those, labels matching the final label.
    pub agreed: usize,
    pub agreement: f64,
}

/// The name an item goes by in a report: its external id, or `#id` when it has none. An
/// external id that itself starts with `#` gets one more, so `#12` (an external id) and
/// item 12 never share a name: the mapping is one to one.
pub fn item_name(id: i64, external_id: Option<&str>) -> String {
    match external_id {
        Some(ext) if ext.starts_with('#') => format!("#{ext}"),
        Some(ext) => ext.to_string(),
        None => format!("#{id}"),
    }
}

/// The agreement part of a project's report (a categorical report or a kind's measure,
/// final labels in place) and the anchoring to pre-labels: all that a dataset card states.
pub struct AgreementReport {
    pub report: Option<Report>,
    pub kind_agreement: Option<KindReport>,
    pub anchoring: Option<super::anchoring::Anchoring>,
}

/// The agreement part alone: the report's other sections (guideline versions, feedback,
/// adjudication, overlap savings) are not computed, which keeps a large export's card
/// quick and small.
/// CPU-heavy: call it off the async runtime.
pub fn agreement_report(
    project: &Project,
    input: &ReportInput,
    options: &ReportOptions,
) -> Result<AgreementReport, Invalid> {
    let finals = final_values(input);
    let parts = agreement_parts(project, input, &finals, options, &ItemIds::default())?;
    Ok(AgreementReport {
        report: parts.report,
        kind_agreement: parts.kind_agreement,
        anchoring: super::anchoring::anchoring(project.schema(), input),
    })
}

/// Item ids.
type ItemIds = foldhash::HashSet<i64>;

/// The categorical report or the kind's measure, and the consensus value of the items
/// asked for.
struct AgreementParts {
    report: Option<Report>,
    kind_agreement: Option<KindReport>,
    consensus: HashMap<i64, Value>,
}

/// The categorical report or the kind's measure, and the consensus value of each item in
/// `wanted` (process feedback is measured against them), `finals` in place.
fn agreement_parts(
    project: &Project,
    input: &ReportInput,
    finals: &HashMap<i64, (Value, &FinalLabel)>,
    options: &ReportOptions,
    wanted: &ItemIds,
) -> Result<AgreementParts, Invalid> {
    let schema = project.schema();
    let (mut report, mut kind_agreement, mut consensus) = if project.kind.is_categorical() {
        let (report, consensus) = categorical_report(project, input, options, wanted)?;
        (Some(report), None, consensus)
    } else {
        let (kinds, consensus) = kind_report(schema, input);
        (None, Some(kinds), consensus)
    };
    apply_final_labels(
        schema,
        input,
        finals,
        report.as_mut(),
        kind_agreement.as_mut(),
        &mut consensus,
    );
    Ok(AgreementParts {
        report,
        kind_agreement,
        consensus,
    })
}

/// Runs the engine over a project's labels. CPU-heavy: call it off the async runtime.
///
/// The sections that read only the labels (guideline versions, adjudication, anchoring)
/// are computed on a second thread beside the engine, which alone leaves the second core
/// idle for much of its run.
pub fn project_report(
    project: &Project,
    input: &ReportInput,
    feedback: &[StoredFeedback],
    options: &ReportOptions,
) -> Result<ProjectReport, Invalid> {
    let schema = project.schema();
    let finals = final_values(input);
    let with_feedback: ItemIds = feedback.iter().map(|event| event.item_id).collect();
    let (beside, parts) = crate::quality::parallel::join(
        options.threads,
        || {
            (
                super::report_versions::by_guideline_version(schema, options.level, input),
                summarise_adjudications(schema, input, &finals),
                super::anchoring::anchoring(schema, input),
            )
        },
        || agreement_parts(project, input, &finals, options, &with_feedback),
    );
    let (guideline_versions, adjudication, anchoring) = beside;
    let AgreementParts {
        report,
        kind_agreement,
        consensus,
    } = parts?;
    Ok(ProjectReport {
        guideline_versions,
        adjudication,
        kind: project.kind,
        feedback: agreement_with_consensus(feedback, &consensus, schema),
        overlap_savings: project
            .policy
            .overlap_savings(input.settled_generalist.values().copied()),
        anchoring,
        report,
        kind_agreement,
    })
}

/// The final labels, parsed, by item id.
fn final_values(input: &ReportInput) -> HashMap<i64, (Value, &FinalLabel)> {
    input
        .adjudications
        .iter()
        .map(|(id, f)| (*id, (from_stored(&f.value), f)))
        .collect()
}

/// Each rater's labels against the final labels, and how many final labels overturned the
/// labels' majority.
fn summarise_adjudications(
    schema: super::kinds::Schema<'_>,
    input: &ReportInput,
    finals: &HashMap<i64, (Value, &FinalLabel)>,
) -> AdjudicationSummary {
    let mut by_rater: std::collections::BTreeMap<(&str, &str), (usize, usize)> = Default::default();
    let mut values_by_item: HashMap<i64, Vec<Value>> = HashMap::new();
    for label in &input.labels {
        let Some((final_value, _)) = finals.get(&label.item_id) else {
            continue;
        };
        let value = from_stored(&label.value);
        let entry = by_rater
            .entry((&*label.rater, label.pool.as_str()))
            .or_default();
        entry.0 += 1;
        entry.1 += usize::from(schema.matches(&value, final_value));
        values_by_item.entry(label.item_id).or_default().push(value);
    }
    let (mut overturned, mut ties_settled) = (0, 0);
    for (id, (final_value, _)) in finals {
        let values = values_by_item.get(id).map_or(&[][..], Vec::as_slice);
        match schema.consensus(values).value {
            Some(majority) if !schema.matches(final_value, &majority) => overturned += 1,
            Some(_) => {}
            None if !values.is_empty() => ties_settled += 1,
            None => {}
        }
    }
    AdjudicationSummary {
        items: finals.len(),
        overturned,
        ties_settled,
        raters: by_rater
            .into_iter()
            .map(|((rater, pool), (compared, agreed))| RaterVersusFinal {
                rater: rater.to_string(),
                pool: pool.to_string(),
                compared,
                agreed,
                agreement: agreed as f64 / compared as f64,
            })
            .collect(),
    }
}

/// Puts the final labels in place of the computed consensus: in the categorical report's or
/// the kind report's consensus rows (marked with who and why) and in the consensus that
/// process feedback is measured against.
fn apply_final_labels(
    schema: super::kinds::Schema<'_>,
    input: &ReportInput,
    finals: &HashMap<i64, (Value, &FinalLabel)>,
    report: Option<&mut Report>,
    kinds: Option<&mut KindReport>,
    consensus: &mut HashMap<i64, Value>,
) {
    if finals.is_empty() {
        return;
    }
    let ids: HashMap<String, i64> = input
        .labels
        .iter()
        .map(|l| (item_name(l.item_id, l.external_id.as_deref()), l.item_id))
        .collect();
    let mark = |f: &FinalLabel| crate::quality::Adjudicated {
        by: f.reviewer.clone(),
        reason: f.reason.clone(),
    };
    let mut values_by_item: HashMap<i64, Vec<Value>> = HashMap::new();
    for label in input
        .labels
        .iter()
        .filter(|l| finals.contains_key(&l.item_id))
    {
        values_by_item
            .entry(label.item_id)
            .or_default()
            .push(from_stored(&label.value));
    }
    let share_matching = |id: i64, final_value: &Value| {
        let values = values_by_item.get(&id).map_or(&[][..], Vec::as_slice);
        let agreeing = values
            .iter()
            .filter(|v| schema.matches(v, final_value))
            .count();
        (!values.is_empty()).then(|| agreeing as f64 / values.len() as f64)
    };
    if let Some(report) = report {
        for row in &mut report.consensus {
            let Some((final_value, f)) = ids.get(&row.item).and_then(|id| finals.get(id)) else {
                continue;
            };
            row.label = Some(display(final_value).into());
            row.label_reason = None;
            row.tie = false;
            row.tied.clear();
            if let Some(share) = ids
                .get(&row.item)
                .and_then(|id| share_matching(*id, final_value))
            {
                row.confidence = share;
            }
            row.adjudicated = Some(mark(f));
        }
    }
    if let Some(kinds) = kinds {
        for row in &mut kinds.consensus {
            let Some((final_value, f)) = ids.get(&row.item).and_then(|id| finals.get(id)) else {
                continue;
            };
            row.value = Some(final_value.clone());
            row.agreement = ids
                .get(&row.item)
                .and_then(|id| share_matching(*id, final_value));
            row.adjudicated = Some(mark(f));
        }
    }
    for (id, (final_value, _)) in finals {
        consensus.insert(*id, final_value.clone());
    }
}

/// The categorical engine over choices and ratings; also the consensus value of each item
/// in `wanted`. A big project's report has a row per item, but few items have process
/// feedback: a value for every item was 43 MB at 3,000,000 labels.
fn categorical_report(
    project: &Project,
    input: &ReportInput,
    options: &ReportOptions,
    wanted: &ItemIds,
) -> Result<(Report, HashMap<i64, Value>), Invalid> {
    let schema = project.schema();
    let data = prepared_data(schema, input, options)?;
    let options = engine_options(schema, options);
    let report = build_report_kept(&data.dataset, &options, &data.consensus);
    // The consensus rows follow the dataset's items.
    let rows = report
        .consensus
        .iter()
        .zip(data.dataset.items())
        .zip(&data.item_ids)
        .filter(|((row, name), id)| wanted.contains(id) && !row.tie && row.item == **name);
    let consensus = rows
        .filter_map(|((row, _), &id)| {
            Some((id, project.kind.value_from_text(row.label.as_deref()?)))
        })
        .collect();
    Ok((report, consensus))
}

/// Makes what a report of `input` with `options` starts from and keeps it with the input:
/// the engine's dataset, its consensus and the label-distribution test. The report asked
/// for next, whatever its seed or number of draws, then starts from them. CPU-heavy: call
/// it off the async runtime.
pub fn prepare_report(
    project: &Project,
    input: &ReportInput,
    options: &ReportOptions,
) -> Result<(), Invalid> {
    if !project.kind.is_categorical() {
        return Ok(());
    }
    let schema = project.schema();
    let data = prepared_data(schema, input, options)?;
    (data.consensus).prepare(&data.dataset, &engine_options(schema, options));
    Ok(())
}

/// The engine's dataset of the input for the project's categories and `options`' slice
/// field: the one the input keeps, or one made now (continued or patched from what was
/// made before labels were added or edited, where it can be) and kept.
fn prepared_data(
    schema: super::kinds::Schema<'_>,
    input: &ReportInput,
    options: &ReportOptions,
) -> Result<Arc<CategoricalData>, Invalid> {
    let made_for = PreparedFor {
        categories: schema.categories(),
        slice_field: options.slice_field.clone(),
    };
    let pending = input.prepared.take_pending(&made_for);
    input
        .prepared
        .made
        .try_get_or_make(made_for, || match pending {
            Some(pending) => brought_up_to_date(schema, input, options, pending),
            None => categorical_data(schema, input, options),
        })
}

/// The engine's options for a project: a rating's gold answer is met within the project's
/// tolerance, as on the gate.
fn engine_options(schema: super::kinds::Schema<'_>, options: &ReportOptions) -> ReportOptions {
    ReportOptions {
        gold_tolerance: schema.gold_tolerance_steps(),
        ..options.clone()
    }
}

/// The engine's dataset of an input's choices and ratings, with their gold answers and
/// (when slicing) the slice field's values.
fn categorical_data(
    schema: super::kinds::Schema<'_>,
    input: &ReportInput,
    options: &ReportOptions,
) -> Result<CategoricalData, Invalid> {
    let (builder, item_ids) = dataset_builder(schema, input, &input.labels, options)?;
    let dataset = builder.build().map_err(invalid_labels)?;
    Ok(CategoricalData::unfitted(dataset, item_ids))
}

/// [`categorical_data`], made by bringing what was made before up to date: cutting away
/// the items that labels were added to since, patching the items edited since with their
/// labels now, and continuing it with the labels after those it kept; made anew where that
/// cannot be told to give the same.
fn brought_up_to_date(
    schema: super::kinds::Schema<'_>,
    input: &ReportInput,
    options: &ReportOptions,
    pending: Pending,
) -> Result<CategoricalData, Invalid> {
    match up_to_date(schema, input, options, pending)? {
        Some(data) => Ok(data),
        None => categorical_data(schema, input, options),
    }
}

/// What is pending, patched and continued (see [`brought_up_to_date`]); `None` where that
/// cannot be told to give what a build of all the labels makes.
fn up_to_date(
    schema: super::kinds::Schema<'_>,
    input: &ReportInput,
    options: &ReportOptions,
    pending: Pending,
) -> Result<Option<CategoricalData>, Invalid> {
    let Some(later) = input.labels.get(pending.labels..) else {
        return Ok(None);
    };
    let (mut dataset, item_ids) = taken(pending.data);
    // The items of the later labels are made again with them; the input is in item order.
    let keep = match later.first() {
        Some(_) if !item_ids.is_sorted() => return Ok(None),
        Some(first) => item_ids.partition_point(|&id| id < first.item_id),
        None => item_ids.len(),
    };
    let (kept, _) = item_ids.split_at(keep);
    let index = ItemIndex::of(kept);
    let mut stored = StoredCategories::new(schema);
    for &id in &pending.edited {
        let patched = match index.position(id) {
            Some(at) => relabel(&mut dataset, at, input, id, schema, &mut stored),
            // An item cut away or added since: its labels now are among the later ones.
            None => !labels_of_item(later, id).is_empty(),
        };
        if !patched {
            return Ok(None);
        }
    }
    if later.is_empty() {
        return Ok(Some(CategoricalData::unfitted(dataset, item_ids)));
    }
    let (builder, later_ids) = dataset_builder(schema, input, later, options)?;
    let continued = (builder.build_after_first(dataset, keep)).map_err(invalid_labels)?;
    Ok(continued.map(|dataset| CategoricalData::unfitted(dataset, [kept, &later_ids].concat())))
}

/// The dataset and item ids of `data`, taken over when no report holds it any more and
/// copied otherwise; its consensus is let go, as the labels changed.
fn taken(data: Arc<CategoricalData>) -> (crate::quality::Dataset, Vec<i64>) {
    match Arc::try_unwrap(data) {
        Ok(data) => (data.dataset, data.item_ids),
        Err(shared) => (shared.dataset.clone(), shared.item_ids.clone()),
    }
}

/// Gives item `id`, at `position` in `dataset`, the labels the input holds of it; `false`
/// when the dataset cannot take them in place (see [`crate::quality::Dataset::relabel_item`])
/// or the item's known answer is not the one the dataset holds.
fn relabel<'a>(
    dataset: &mut crate::quality::Dataset,
    position: usize,
    input: &'a ReportInput,
    id: i64,
    schema: super::kinds::Schema<'_>,
    stored: &mut StoredCategories<'a>,
) -> bool {
    let labels = input.labels_of(id);
    let values: Option<Vec<_>> = labels.iter().map(|l| stored.of(&l.value)).collect();
    let Some(values) = values else {
        return false;
    };
    let gold = (input.gold.get(&id))
        .and_then(|gold| schema.category(&from_stored(gold)))
        .and_then(|category| dataset.categories().index_of(&category));
    if gold != dataset.gold(position) {
        return false;
    }
    let name = item_name(id, labels.first().and_then(|l| l.external_id.as_deref()));
    let given: Vec<LabelInput> = (labels.iter().zip(&values))
        .map(|(label, value)| LabelInput {
            item: &name,
            rater: &label.rater,
            value,
            duration_ms: label.duration_ms,
            sequence: Some(label.created_at),
        })
        .collect();
    dataset.relabel_item(position, &given)
}

fn invalid_labels(e: crate::quality::DatasetError) -> Invalid {
    Invalid::new("labels", e.to_string())
}

/// A key for each of many strings that labels share (a read gives every label of a rater
/// the same pseudonym string), found by the string's address and length before its text
/// is looked at: `key` runs once for each address. The strings must outlive the cache, so
/// an address met again is the same text.
pub(crate) struct KeysByAddress<'a, K> {
    keys: foldhash::HashMap<(*const u8, usize), K>,
    strings: std::marker::PhantomData<&'a str>,
}

impl<K> Default for KeysByAddress<'_, K> {
    fn default() -> Self {
        KeysByAddress {
            keys: Default::default(),
            strings: std::marker::PhantomData,
        }
    }
}

impl<'a, K: Copy> KeysByAddress<'a, K> {
    pub(crate) fn get_or(&mut self, text: &'a str, key: impl FnOnce(&'a str) -> K) -> K {
        *(self.keys)
            .entry((text.as_ptr(), text.len()))
            .or_insert_with(|| key(text))
    }
}

/// The builder's keys of the raters and categories of an input's labels, found without
/// hashing their text (see [`KeysByAddress`]; a category comes back from
/// [`StoredCategories`] as the same string), so that half a million labels do not hash
/// their names twice each.
#[derive(Default)]
struct LabelKeys<'a> {
    raters: KeysByAddress<'a, Option<RaterKey>>,
    values: Vec<(std::rc::Rc<str>, Option<ValueKey>)>,
    /// Each rater's pool as the builder was last told.
    pools: foldhash::HashMap<RaterKey, Pool>,
}

impl<'a> LabelKeys<'a> {
    fn rater(&mut self, builder: &mut DatasetBuilder, rater: &'a str) -> Option<RaterKey> {
        self.raters.get_or(rater, |name| builder.rater_key(name))
    }

    fn value(
        &mut self,
        builder: &mut DatasetBuilder,
        category: &std::rc::Rc<str>,
    ) -> Option<ValueKey> {
        if let Some((_, key)) = (self.values.iter()).find(|(c, _)| std::rc::Rc::ptr_eq(c, category))
        {
            return *key;
        }
        let key = builder.value_key(category);
        self.values.push((category.clone(), key));
        key
    }
}

/// A dataset builder holding `labels` (the input's, or a run of them) with the gold answers
/// and slice values of their items, and the item id of each of its items in the order the
/// builder met them.
fn dataset_builder(
    schema: super::kinds::Schema<'_>,
    input: &ReportInput,
    labels: &[LabelRecord],
    options: &ReportOptions,
) -> Result<(DatasetBuilder, Vec<i64>), Invalid> {
    let mut builder = DatasetBuilder::new();
    let categories = Categories::ordered(schema.categories())
        .map_err(|e| Invalid::new("labels", e.to_string()))?;
    let items = usize::try_from(input.items).unwrap_or(0).min(labels.len());
    builder.categories(categories).reserve(labels.len(), items);
    let mut item_ids: Vec<i64> = Vec::with_capacity(items);
    let mut stored_categories = StoredCategories::new(schema);
    let mut keys = LabelKeys::default();
    // The input holds each item's labels together: its name is made once.
    let (mut item, mut name, mut item_key) = (None, String::new(), None);
    for label in labels {
        let Some(category) = stored_categories.of(&label.value) else {
            continue;
        };
        if item != Some(label.item_id) {
            item = Some(label.item_id);
            name = item_name(label.item_id, label.external_id.as_deref());
            item_key = builder.item_key(&name);
        }
        let rater = keys.rater(&mut builder, &label.rater);
        match (item_key, rater, keys.value(&mut builder, &category)) {
            (Some(item), Some(rater), Some(value)) => {
                builder.add_by_keys(KeyedLabel {
                    item,
                    rater,
                    value,
                    duration_ms: label.duration_ms,
                    sequence: Some(label.created_at),
                });
                // The builder keeps a rater's last pool; telling it only of changes gives
                // the same pools without a row per label.
                if keys.pools.insert(rater, label.pool) != Some(label.pool) {
                    builder.set_rater_pool(&label.rater, label.pool.as_str());
                }
            }
            // An empty name: the builder notes it.
            _ => {
                builder.add(LabelInput {
                    item: &name,
                    rater: &label.rater,
                    value: &category,
                    duration_ms: label.duration_ms,
                    sequence: Some(label.created_at),
                });
            }
        }
        if builder.item_count() > item_ids.len() {
            item_ids.push(label.item_id);
        }
    }
    let index = ItemIndex::of(&item_ids);
    let name_of = |builder: &DatasetBuilder, id: i64| {
        builder.item_name(index.position(id)?).map(str::to_string)
    };
    for (id, gold) in &input.gold {
        let category = schema.category(&from_stored(gold));
        if let (Some(name), Some(category)) = (name_of(&builder, *id), category) {
            builder.add_gold(&name, &category);
        }
    }
    if let Some(field) = &options.slice_field {
        for (id, data) in &input.data {
            if let (Some(name), Some(value)) = (name_of(&builder, *id), data.get(field)) {
                builder.set_item_meta(&name, field, &display(value));
            }
        }
    }
    Ok((builder, item_ids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::project::NewProject;

    fn label(item: i64, rater: &str, value: &str, version: i64) -> LabelRecord {
        LabelRecord {
            duration_ms: Some(1_000 + item as u32),
            created_at: item,
            prediction_shown: Some(matches!(rater, "a" | "b")),
            guideline_version: Some(version as i32),
            ..LabelRecord::choice(item, rater, value)
        }
    }

    /// A big project's report holds millions of labels at once.
    #[test]
    fn a_label_in_a_report_takes_at_most_64_bytes() {
        assert!(std::mem::size_of::<LabelRecord>() <= 64);
    }

    /// A project of three choices and 120 items, four raters each, two guideline versions,
    /// pre-labels and one adjudication.
    fn sample_project() -> (Project, ReportInput) {
        let spec = NewProject::simple("p", &["pos", "neg", "mixed"], 3, "")
            .validate()
            .expect("spec");
        let project = Project::from_spec(1, spec);
        let mut input = ReportInput::default();
        let values = ["pos", "neg", "mixed"];
        for item in 0..120_i64 {
            input.predictions.insert(item, "\"pos\"".into());
            for (n, rater) in ["a", "b", "c", "d"].iter().enumerate() {
                let value = values[(item as usize + n * usize::from(item % 3 == 0)) % 3];
                input.labels.push(label(item, rater, value, 1 + item / 60));
            }
        }
        input.items = 120;
        input.adjudications.insert(
            3,
            FinalLabel {
                value: "\"neg\"".into(),
                reviewer: "r".into(),
                reason: "checked".into(),
            },
        );
        (project, input)
    }

    fn dawid_skene(seed: u64) -> ReportOptions {
        ReportOptions {
            method: ConsensusMethod::DawidSkene,
            bootstrap_draws: 200,
            seed,
            ..ReportOptions::default()
        }
    }

    fn report_json(project: &Project, input: &ReportInput, options: &ReportOptions) -> Value {
        let report = project_report(project, input, &[], options).expect("report");
        serde_json::to_value(report).expect("json")
    }

    /// Labels given after an input was read, added to it, sit where a read of all of them
    /// would put them: by item, and after the item's earlier labels.
    #[test]
    fn later_labels_join_their_items_after_the_labels_held() {
        // (item, label id): held in item order, each item's labels by id.
        let all = [
            (0, 11),
            (1, 1),
            (1, 4),
            (1, 9),
            (1, 12),
            (2, 2),
            (3, 3),
            (3, 8),
            (4, 13),
            (5, 10),
            (6, 5),
            (7, 14),
            (7, 15),
        ];
        let record = |&(item, id): &(i64, i64)| LabelRecord {
            created_at: id,
            ..LabelRecord::choice(item, &format!("r{id}"), "pos")
        };
        let (held, later): (Vec<_>, Vec<_>) = all.iter().partition(|(_, id)| *id <= 5);
        let mut later = later;
        later.sort();
        let mut input = ReportInput {
            labels: held.iter().map(&record).collect(),
            ..ReportInput::default()
        };
        input.add_later_labels(later.iter().map(record).collect());
        let order: Vec<(i64, i64)> = input
            .labels
            .iter()
            .map(|l| (l.item_id, l.created_at))
            .collect();
        assert_eq!(order, all);
    }

    /// The same on random projects: labels with random items and ids, any of them later.
    #[test]
    fn later_labels_join_as_a_read_of_all_would_put_them_on_random_labels() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |below: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) % below) as i64
        };
        for _ in 0..200 {
            let labels = 1 + next(60);
            let mut all: Vec<(i64, i64)> = (0..labels).map(|id| (next(12), id)).collect();
            all.sort();
            let cut = next(labels as u64 + 1);
            let record = |&(item, id): &(i64, i64)| LabelRecord {
                created_at: id,
                ..LabelRecord::choice(item, "r", "pos")
            };
            let mut input = ReportInput {
                labels: all.iter().filter(|l| l.1 < cut).map(record).collect(),
                ..ReportInput::default()
            };
            input.add_later_labels(all.iter().filter(|l| l.1 >= cut).map(record).collect());
            let order: Vec<(i64, i64)> = input
                .labels
                .iter()
                .map(|l| (l.item_id, l.created_at))
                .collect();
            assert_eq!(order, all, "labels from id {cut} on added later");
        }
    }

    /// An item's generalist labels are counted when it settles, and it is no longer counted
    /// once it wants more.
    #[test]
    fn a_settled_item_counts_its_generalist_labels() {
        let mut input = ReportInput::default();
        for (item, rater, pool) in [
            (1, "a", Pool::Generalist),
            (2, "a", Pool::Generalist),
            (2, "b", Pool::Generalist),
            (2, "x", Pool::Expert),
            (3, "c", Pool::Generalist),
        ] {
            input.labels.push(LabelRecord {
                pool,
                ..LabelRecord::choice(item, rater, "pos")
            });
        }
        input.set_settled(2, true);
        input.set_settled(1, true);
        assert_eq!(input.settled_generalist.get(&2), Some(&2));
        assert_eq!(input.settled_generalist.get(&1), Some(&1));
        input.set_settled(1, false);
        input.set_settled(4, false);
        assert_eq!(input.settled_generalist.len(), 1);
    }

    /// Settling the item just taken, or every settled item in one pass, counts what
    /// settling each item on its own counts: on random items with 0 to 4 labels from
    /// generalists, experts and users, and random settled items (some without labels).
    #[test]
    fn settling_items_in_one_pass_counts_as_each_on_its_own() {
        use rand::{Rng, SeedableRng};
        for seed in 0..200 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let (mut taken, mut each) = (ReportInput::default(), ReportInput::default());
            let mut settled = Vec::new();
            for item in 1..=rng.gen_range(0..30) {
                let labels = rng.gen_range(0..=4);
                for n in 0..labels {
                    let pool = Pool::ALL[rng.gen_range(0..3)];
                    taken.labels.push(LabelRecord {
                        pool,
                        ..LabelRecord::choice(item, &format!("r{n}"), "pos")
                    });
                }
                if rng.gen_bool(0.5) {
                    settled.push(item);
                    taken.settle_last_item(item, labels);
                }
            }
            each.labels = taken.labels.clone();
            for &item in &settled {
                each.set_settled(item, true);
            }
            assert_eq!(
                taken.settled_generalist, each.settled_generalist,
                "seed {seed}"
            );
            let mut again = ReportInput {
                labels: taken.labels.clone(),
                ..ReportInput::default()
            };
            again.set_settled(1_000, true);
            settled.retain(|_| rng.gen_bool(0.7));
            again.settle_only(&settled);
            each.settled_generalist.clear();
            for &item in &settled {
                each.set_settled(item, true);
            }
            assert_eq!(
                again.settled_generalist, each.settled_generalist,
                "seed {seed}"
            );
        }
    }

    /// Every section of the report, the ones computed beside the engine included, is the
    /// same whether the report runs on one thread or two.
    #[test]
    fn the_report_is_the_same_on_one_thread_or_two() {
        let (project, input) = sample_project();
        let options = dawid_skene(1);
        // Each from a copy of the input, which makes its own dataset.
        let report = |threads: usize| {
            let options = ReportOptions {
                threads,
                ..options.clone()
            };
            report_json(&project, &input.clone(), &options)
        };
        let (one, two) = (report(1), report(2));
        assert_eq!(one["guideline_versions"].as_array().map(Vec::len), Some(2));
        assert_eq!(one["adjudication"]["items"], 1);
        assert!(one["anchoring"].is_object(), "{}", one["anchoring"]);
        assert_eq!(one, two);
    }

    fn prepared_of(input: &ReportInput) -> Option<Arc<CategoricalData>> {
        input.prepared.made.kept()
    }

    /// Preparing a report makes the dataset, fits the consensus and runs the distribution
    /// test; the reports made after it, with the seed prepared for or another, use them and
    /// are the reports made without it. A kind without the categorical engine prepares
    /// nothing.
    #[test]
    fn a_prepared_report_is_the_report_made_afresh() {
        let (project, input) = sample_project();
        prepare_report(&project, &input, &dawid_skene(1)).expect("prepared");
        let data = prepared_of(&input).expect("the dataset kept");
        assert!(data.consensus.is_prepared());
        for seed in [1, 2] {
            let afresh = report_json(&project, &input.clone(), &dawid_skene(seed));
            assert_eq!(report_json(&project, &input, &dawid_skene(seed)), afresh);
            let used = prepared_of(&input).expect("still kept");
            assert!(Arc::ptr_eq(&used, &data), "the report made its own dataset");
        }

        let spec: crate::domain::project::NewProject = serde_json::from_value(serde_json::json!(
            {"name": "s", "kind": "spans", "labels": ["PER"], "field": "text"}
        ))
        .expect("spans spec");
        let spans = Project::from_spec(2, spec.validate().expect("spec"));
        let input = ReportInput::default();
        prepare_report(&spans, &input, &dawid_skene(1)).expect("nothing to prepare");
        assert!(prepared_of(&input).is_none());
    }

    /// Labels that do not come in item order (where the dataset's items are found through a
    /// map rather than by binary search) give each item its own consensus, gold answer and
    /// slice value, as labels in order do.
    #[test]
    fn labels_out_of_item_order_keep_each_items_consensus_gold_and_slice() {
        let (project, mut input) = sample_project();
        for item in 0..120_i64 {
            let half = if item < 40 { "first" } else { "rest" };
            let data = serde_json::json!({ "half": half });
            input
                .data
                .insert(item, data.as_object().cloned().expect("object"));
            if item % 7 == 0 {
                input.gold.insert(item, "\"neg\"".into());
            }
        }
        let options = ReportOptions {
            slice_field: Some("half".into()),
            ..dawid_skene(1)
        };
        let mut reversed = input.clone();
        reversed.labels.reverse();
        let every_item: ItemIds = input.labels.iter().map(|l| l.item_id).collect();
        let report = |input: &ReportInput| {
            categorical_report(&project, input, &options, &every_item).expect("report")
        };
        let (in_order, consensus) = report(&input);
        let (out_of_order, consensus_out_of_order) = report(&reversed);
        assert_eq!(consensus_out_of_order, consensus);
        let labelled: Vec<(i64, Value)> = in_order
            .consensus
            .iter()
            .filter_map(|row| {
                let id = row.item.strip_prefix('#')?.parse().ok()?;
                Some((id, project.kind.value_from_text(row.label.as_deref()?)))
            })
            .collect();
        assert!(labelled.len() > 100, "{}", labelled.len());
        assert!(labelled
            .iter()
            .all(|(id, value)| consensus.get(id) == Some(value)));
        let gold = |report: &Report| -> Vec<(String, usize, Option<f64>)> {
            let mut raters: Vec<_> = report
                .raters
                .iter()
                .map(|r| (r.rater.clone(), r.gold_items, r.gold_accuracy))
                .collect();
            raters.sort_by(|a, b| a.0.cmp(&b.0));
            raters
        };
        assert_eq!(gold(&out_of_order), gold(&in_order));
        // Every rater labelled every item: 18 of them have a known answer.
        assert!(gold(&in_order).iter().all(|(_, items, _)| *items == 18));
        let slices = |report: &Report| -> Vec<(String, usize, usize)> {
            let mut rows: Vec<_> = report
                .bias
                .slices
                .iter()
                .map(|s| (s.value.clone(), s.items, s.labels))
                .collect();
            rows.sort();
            rows
        };
        assert_eq!(
            slices(&in_order),
            vec![("first".into(), 40, 160), ("rest".into(), 80, 320)]
        );
        assert_eq!(slices(&out_of_order), slices(&in_order));
    }

    /// A second report of one input (a kept one) reuses the dataset the first made, and
    /// is the same as a report made from scratch; another slice field makes another.
    #[test]
    fn a_second_report_of_one_input_reuses_its_dataset() {
        let (project, mut input) = sample_project();
        for item in 0..120_i64 {
            let region = if item % 2 == 0 { "north" } else { "south" };
            let data = serde_json::json!({ "region": region });
            input
                .data
                .insert(item, data.as_object().cloned().expect("object"));
        }
        assert!(prepared_of(&input).is_none());
        let first = report_json(&project, &input, &dawid_skene(1));
        let made = prepared_of(&input).expect("made by the first report");
        let second = report_json(&project, &input, &dawid_skene(2));
        assert!(Arc::ptr_eq(&made, &prepared_of(&input).expect("kept")));
        assert_eq!(
            second,
            report_json(&project, &input.clone(), &dawid_skene(2))
        );
        assert_eq!(
            first,
            report_json(&project, &input.clone(), &dawid_skene(1))
        );

        let sliced = ReportOptions {
            slice_field: Some("region".into()),
            ..dawid_skene(1)
        };
        let by_region = report_json(&project, &input, &sliced);
        assert!(!Arc::ptr_eq(&made, &prepared_of(&input).expect("made")));
        assert_eq!(
            by_region["bias"]["slices"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(by_region, report_json(&project, &input.clone(), &sliced));
    }

    fn has_pending(input: &ReportInput) -> bool {
        lock_pending(&input.prepared).is_some()
    }

    fn lock_pending(prepared: &Prepared) -> std::sync::MutexGuard<'_, Option<Pending>> {
        prepared.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Labels added on items after every item held continue the dataset the last report
    /// made, and the report is the one a fresh dataset of all the labels gives: with a new
    /// rater, a rater moved to another pool, a repeat, a gold answer and an item that
    /// had none of its labels among the categories. Labels on a held item make it anew.
    #[test]
    fn a_report_after_labels_on_new_items_continues_the_dataset_and_gives_the_same() {
        let (project, mut input) = sample_project();
        input.gold.insert(130, "\"neg\"".into());
        input.gold.insert(7, "\"pos\"".into());
        let later = |item: i64, rater: &str, value: &str, pool: Pool| LabelRecord {
            pool,
            created_at: 1_000 + item,
            ..label(item, rater, value, 2)
        };
        let first = report_json(&project, &input, &dawid_skene(1));
        input.add_later_labels(vec![
            later(121, "b", "neg", Pool::Generalist),
            later(121, "e", "pos", Pool::Generalist),
            LabelRecord {
                value: "7".into(),
                ..later(125, "e", "pos", Pool::Generalist)
            },
            later(130, "a", "mixed", Pool::Expert),
            later(130, "a", "pos", Pool::Expert),
            later(130, "c", "neg", Pool::Generalist),
        ]);
        assert!(has_pending(&input), "the dataset made is kept to continue");
        input.add_later_labels(vec![later(131, "f", "neg", Pool::User)]);
        assert!(
            has_pending(&input),
            "and still after more labels on new items"
        );
        let continued = report_json(&project, &input, &dawid_skene(1));
        assert!(!has_pending(&input), "continued");
        assert!(prepared_of(&input).is_some());
        assert_ne!(continued, first);
        assert_eq!(
            continued,
            report_json(&project, &input.clone(), &dawid_skene(1))
        );
        assert_eq!(continued["items"], 123, "{}", continued["items"]);

        input.add_later_labels(vec![later(5, "e", "neg", Pool::Generalist)]);
        assert!(
            lock_pending(&input.prepared)
                .as_ref()
                .is_some_and(|p| p.labels == 20),
            "the labels of the items before a held item labelled are kept as made"
        );
        let cut_back = report_json(&project, &input, &dawid_skene(1));
        assert_eq!(
            cut_back,
            report_json(&project, &input.clone(), &dawid_skene(1))
        );
        input.add_later_labels(vec![later(0, "f", "neg", Pool::Generalist)]);
        assert!(
            !has_pending(&input),
            "a label on the first item starts anew"
        );
        assert!(prepared_of(&input).is_none());
        let anew = report_json(&project, &input, &dawid_skene(1));
        assert_eq!(anew, report_json(&project, &input.clone(), &dawid_skene(1)));
    }

    /// Labels edited by the raters who gave them (another value, time or guideline version),
    /// in one edit or several before the next report, patch the dataset made before them
    /// into the one a build of all makes, and the report is the one made afresh; labels by
    /// another rater make the dataset anew.
    #[test]
    fn a_report_after_edits_patches_the_dataset_and_gives_the_same() {
        let (project, mut input) = sample_project();
        input.gold.insert(7, "\"pos\"".into());
        let first = report_json(&project, &input, &dawid_skene(1));
        let edit = |input: &ReportInput, item: i64, value: &str| -> Vec<LabelRecord> {
            let mut labels = input.labels_of(item).to_vec();
            labels[1].value = format!("\"{value}\"").into();
            labels[1].created_at += 500;
            labels[2].guideline_version = Some(3);
            labels
        };
        let ids = |ids: &[i64]| ids.iter().copied().collect::<foldhash::HashSet<i64>>();
        let mut labels = edit(&input, 7, "mixed");
        labels.extend(edit(&input, 50, "neg"));
        input.relabel_items(&ids(&[7, 50]), labels);
        assert!(!input.gold.contains_key(&7));
        input.gold.insert(7, "\"pos\"".into());
        assert!(prepared_of(&input).is_none());
        let more = edit(&input, 90, "pos");
        input.relabel_items(&ids(&[90]), more);
        {
            let pending = lock_pending(&input.prepared);
            let edited = pending.as_ref().expect("kept to be patched");
            assert_eq!(edited.edited, ids(&[7, 50, 90]));
            let (mut dataset, schema) = (edited.data.dataset.clone(), project.schema());
            let index = ItemIndex::of(&edited.data.item_ids);
            let mut stored = StoredCategories::new(schema);
            for id in [7, 50, 90] {
                let at = index.position(id).expect("held");
                assert!(
                    relabel(&mut dataset, at, &input, id, schema, &mut stored),
                    "{id}"
                );
            }
        }
        let patched = report_json(&project, &input, &dawid_skene(1));
        let afresh = input.clone();
        assert_eq!(patched, report_json(&project, &afresh, &dawid_skene(1)));
        assert_ne!(patched, first);
        let dataset = |input: &ReportInput| prepared_of(input).map(|data| data.dataset.clone());
        assert!(dataset(&input).is_some());
        assert_eq!(dataset(&input), dataset(&afresh));

        let mut other = input.labels_of(20).to_vec();
        other[0].rater = "z".into();
        input.relabel_items(&ids(&[20]), other);
        assert!(prepared_of(&input).is_none());
        assert!(!has_pending(&input));
        let anew = report_json(&project, &input, &dawid_skene(1));
        assert_eq!(anew, report_json(&project, &input.clone(), &dawid_skene(1)));
    }

    /// Edits by the raters who gave the labels and labels added, in any order before the
    /// next report, bring the dataset made before them up to date (cut back to the items
    /// before those labelled, patched and continued, not made anew) into the one a build
    /// of all the labels makes, and the report is the one made afresh: an edit then labels
    /// on new items; labels on new items then an edit of a held item and of a new one; an
    /// edit then labels on the last held item and a new one; an edit then a label on a
    /// held item before the edited one.
    #[test]
    fn a_report_after_edits_and_labels_added_brings_the_dataset_up_to_date() -> Result<(), Invalid>
    {
        /// A change to the input: an item's first label edited, or two labels given on each
        /// of some items.
        enum Step {
            Edit(i64),
            Add(&'static [i64]),
        }
        use Step::{Add, Edit};
        let (project, sample) = sample_project();
        let (schema, options) = (project.schema(), dawid_skene(1));
        let ids = |ids: &[i64]| ids.iter().copied().collect::<foldhash::HashSet<i64>>();
        let later = |item: i64, rater: &str, value: &str| LabelRecord {
            created_at: 2_000 + item,
            ..label(item, rater, value, 2)
        };
        let apply = |input: &mut ReportInput, step: &Step| match step {
            Edit(item) => {
                let mut labels = input.labels_of(*item).to_vec();
                labels[0].value = "\"mixed\"".into();
                labels[0].created_at += 700;
                input.relabel_items(&ids(&[*item]), labels);
            }
            Add(items) => input.add_later_labels(
                (items.iter())
                    .flat_map(|&item| [later(item, "e", "neg"), later(item, "f", "pos")])
                    .collect(),
            ),
        };
        // Each change's steps, the items edited, and how many labels (4 an item) stay as
        // made.
        let changes: [(&[Step], &[i64], usize); 4] = [
            (&[Edit(10), Add(&[121, 122])], &[10], 480),
            (&[Add(&[121, 122]), Edit(10), Edit(121)], &[10, 121], 480),
            (&[Edit(10), Add(&[119, 121])], &[10], 476),
            (&[Edit(10), Add(&[5])], &[10], 20),
        ];
        for (steps, edited, labels) in changes {
            let changed = || {
                let mut input = sample.clone();
                report_json(&project, &input, &options);
                steps.iter().for_each(|step| apply(&mut input, step));
                input
            };
            let input = changed();
            let pending = lock_pending(&input.prepared).take();
            let made = pending.as_ref().map(|p| (p.labels, p.edited.clone()));
            assert_eq!(
                made,
                Some((labels, ids(edited))),
                "kept to bring up to date"
            );
            let data = match pending {
                Some(pending) => up_to_date(schema, &input, &options, pending)?,
                None => None,
            };
            let afresh = categorical_data(schema, &input, &options)?;
            let brought = data.map(|data| (data.dataset, data.item_ids));
            assert_eq!(
                brought,
                Some((afresh.dataset, afresh.item_ids)),
                "brought up to date, not made anew, as made afresh: edited {edited:?}, {labels}"
            );

            let input = changed();
            let report = report_json(&project, &input, &options);
            assert!(!has_pending(&input) && prepared_of(&input).is_some());
            assert_eq!(report, report_json(&project, &input.clone(), &options));
        }
        Ok(())
    }

    /// Forgetting items lets go of everything held of them and of what was prepared, and
    /// the labels of the others stay in item order.
    #[test]
    fn forgotten_items_leave_nothing_behind() {
        let (project, mut input) = sample_project();
        input.gold.insert(7, "\"pos\"".into());
        input.predictions.insert(9, "\"neg\"".into());
        input.set_settled(7, true);
        let final_label = FinalLabel {
            value: "\"neg\"".into(),
            reviewer: "r".into(),
            reason: "checked".into(),
        };
        input.adjudications.insert(9, final_label);
        report_json(&project, &input, &dawid_skene(1));
        assert!(prepared_of(&input).is_some());
        let of_7 = input.labels_of(7).len();
        assert!(of_7 > 0 && !input.labels_of(9).is_empty());
        assert!(input.labels_of(1_000_000).is_empty());
        let held = input.labels.len();
        let forgotten = input.labels_of(9).len();
        input.forget_items(&[9, 1_000_000].into_iter().collect());
        assert_eq!(input.labels.len(), held - forgotten);
        assert!(input.labels_of(9).is_empty());
        assert_eq!(input.labels_of(7).len(), of_7);
        assert!(input
            .labels
            .windows(2)
            .all(|w| w[0].item_id <= w[1].item_id));
        assert!(!input.predictions.contains_key(&9) && !input.adjudications.contains_key(&9));
        assert!(input.gold.contains_key(&7) && input.settled_generalist.contains_key(&7));
        assert!(prepared_of(&input).is_none() && !has_pending(&input));
    }

    #[test]
    fn item_names_never_collide() {
        assert_eq!(item_name(12, None), "#12");
        assert_eq!(item_name(3, Some("#12")), "##12");
        assert_eq!(item_name(4, Some("##12")), "###12");
        assert_eq!(item_name(5, Some("doc-1")), "doc-1");
        assert_ne!(item_name(12, None), item_name(3, Some("#12")));
    }
}
