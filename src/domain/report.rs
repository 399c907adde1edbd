//! A project's quality report: the statistics engine run over its labels, with process
//! feedback measured against the consensus and the saving of dynamic overlap beside it.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::feedback::{agreement_with_consensus, SourceAgreement, StoredFeedback};
use super::policy::OverlapSavings;
use super::project::Project;
use super::Invalid;
use crate::quality::{
    build_report, Categories, ConsensusMethod, DatasetBuilder, LabelInput, Level, Report,
    ReportOptions,
};

/// One human label as the quality engine reads it.
#[derive(Debug, Clone)]
pub struct LabelRecord {
    pub item_id: i64,
    pub external_id: Option<String>,
    /// The rater's pseudonym: reports, like exports, never show names.
    pub rater: String,
    pub pool: String,
    pub value: String,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
}

/// Everything a report reads from one project.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub labels: Vec<LabelRecord>,
    /// Known answers by item id (gold questions and items imported with `gold`).
    pub gold: HashMap<i64, String>,
    /// Item data by item id, for slicing by a metadata field.
    pub data: HashMap<i64, Map<String, Value>>,
    /// For each item whose generalist labels are complete, how many it got (for the saving
    /// of dynamic overlap).
    pub settled_generalist_counts: Vec<i64>,
    pub items: i64,
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

/// The whole report of a project, as `GET /api/v1/projects/{pid}/report` answers it.
#[derive(Debug, Serialize)]
pub struct ProjectReport {
    #[serde(flatten)]
    pub report: Report,
    /// Each process-feedback source's agreement with the consensus, overall and by context.
    pub feedback: Vec<SourceAgreement>,
    /// What dynamic overlap saved; `null` for a fixed overlap.
    pub overlap_savings: Option<OverlapSavings>,
}

/// The name an item goes by in a report: its external id, or `#id`.
fn item_name(id: i64, external_id: Option<&str>) -> String {
    external_id
        .map(str::to_string)
        .unwrap_or_else(|| format!("#{id}"))
}

/// Runs the engine over a project's labels. CPU-heavy: call it off the async runtime.
pub fn project_report(
    project: &Project,
    input: &ReportInput,
    feedback: &[StoredFeedback],
    options: &ReportOptions,
) -> Result<ProjectReport, Invalid> {
    let mut builder = DatasetBuilder::new();
    let categories = Categories::ordered(project.labels.clone())
        .map_err(|e| Invalid::new("labels", e.to_string()))?;
    builder.categories(categories);
    let mut names: HashMap<i64, String> = HashMap::new();
    for label in &input.labels {
        let name = names
            .entry(label.item_id)
            .or_insert_with(|| item_name(label.item_id, label.external_id.as_deref()));
        builder.add(LabelInput {
            item: name,
            rater: &label.rater,
            value: &label.value,
            duration_ms: label
                .duration_ms
                .map(|ms| ms.clamp(0, i64::from(u32::MAX)) as u32),
            sequence: Some(label.created_at),
        });
        builder.set_rater_pool(&label.rater, &label.pool);
    }
    for (id, gold) in &input.gold {
        if let Some(name) = names.get(id) {
            builder.add_gold(name, gold);
        }
    }
    if let Some(field) = &options.slice_field {
        for (id, data) in &input.data {
            if let (Some(name), Some(value)) = (names.get(id), data.get(field)) {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                builder.set_item_meta(name, field, &text);
            }
        }
    }
    let dataset = builder
        .build()
        .map_err(|e| Invalid::new("labels", e.to_string()))?;
    let report = build_report(&dataset, options);
    let by_name: HashMap<&str, i64> = names.iter().map(|(id, n)| (n.as_str(), *id)).collect();
    let consensus: HashMap<i64, String> = report
        .consensus
        .iter()
        .filter(|c| !c.tie)
        .filter_map(|c| Some((*by_name.get(c.item.as_str())?, c.label.clone()?)))
        .collect();
    Ok(ProjectReport {
        feedback: agreement_with_consensus(feedback, &consensus),
        overlap_savings: project
            .policy
            .overlap_savings(&input.settled_generalist_counts),
        report,
    })
}
