//! The shape of an exported row: an item, its labels under pseudonyms, and their consensus;
//! the options that shape an export, its split, its records and its dataset card.

pub mod card;
pub mod options;
pub mod records;
pub mod split;

use serde::Serialize;
use serde_json::{Map, Value};

use super::kinds::Schema;
pub use options::{ExportOptions, Format, LabelsKept, Method, RawExportOptions, Rows};

/// One label as it leaves tally: the rater appears only under a pseudonym, the value as
/// the kind's JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ExportLabel {
    pub rater: String,
    pub pool: String,
    pub value: Value,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The guideline version the label was given under (for the dataset card).
    #[serde(skip)]
    pub guideline_version: Option<i64>,
}

/// One process-feedback event on an item, in its own column beside the human labels.
#[derive(Debug, Clone, Serialize)]
pub struct ExportFeedback {
    pub source: String,
    pub value: Value,
    pub raw_value: String,
    pub weight: f64,
    pub occurred_at: i64,
    pub context: Map<String, Value>,
}

/// A reviewer's final label on an item: who (their pseudonym) and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExportAdjudication {
    pub by: String,
    pub reason: String,
    pub at: i64,
}

/// One exported item.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub data: Map<String, Value>,
    pub labels: Vec<ExportLabel>,
    pub label_count: usize,
    /// The item's answer: the experts' where they settled it, else the export's method
    /// (the kind's majority rule, or Dawid-Skene); `None` without labels or on a tie.
    pub consensus: Option<Value>,
    /// Where the consensus came from: `adjudicated`, `majority` or `dawid-skene`.
    pub consensus_source: Option<&'static str>,
    /// Dawid-Skene's posterior probability of the consensus; `None` for the other sources.
    pub confidence: Option<f64>,
    /// The majority of the labels under the kind's rule (per-label majority, median,
    /// majority-matched units).
    pub majority: Option<Value>,
    /// Share of the labels that agree with their majority.
    pub agreement: Option<f64>,
    /// The values tied for first place, when there is a tie.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tied: Vec<Value>,
    /// The adjudicated answer: a reviewer's final label, else the experts' consensus where
    /// experts labelled the item.
    pub adjudicated: Option<Value>,
    /// Who set the final label and why, when a reviewer did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjudication: Option<ExportAdjudication>,
    /// Process feedback on the item, kept apart from the human labels.
    pub feedback: Vec<ExportFeedback>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gold: Option<Value>,
    /// `train`, `validation` or `test` when the export asked for a split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<&'static str>,
}

/// The majority of a set of values, with ties reported rather than hidden.
#[derive(Debug, Clone, PartialEq)]
pub struct Majority {
    pub label: Option<String>,
    pub agreement: Option<f64>,
    pub tied: Vec<String>,
}

/// Counts values in first-seen order so that ties are listed deterministically.
pub fn majority<'a>(values: impl IntoIterator<Item = &'a str>) -> Majority {
    let values: Vec<Value> = values
        .into_iter()
        .map(|v| Value::String(v.to_string()))
        .collect();
    let c = super::kinds::vote(&values);
    let text = |v: Value| super::kinds::display(&v);
    Majority {
        label: c.value.map(text),
        agreement: c.agreement,
        tied: c.tied.into_iter().map(text).collect(),
    }
}

impl ExportRow {
    pub fn new(
        schema: Schema<'_>,
        id: i64,
        external_id: Option<String>,
        data: Map<String, Value>,
        labels: Vec<ExportLabel>,
        gold: Option<Value>,
    ) -> Self {
        let values: Vec<Value> = labels.iter().map(|l| l.value.clone()).collect();
        let consensus = schema.consensus(&values);
        let experts: Vec<Value> = labels
            .iter()
            .filter(|l| l.pool == "expert")
            .map(|l| l.value.clone())
            .collect();
        let adjudicated = schema.consensus(&experts).value;
        ExportRow {
            id,
            external_id,
            data,
            label_count: labels.len(),
            labels,
            consensus_source: consensus.value.as_ref().map(|_| "majority"),
            majority: consensus.value.clone(),
            consensus: consensus.value,
            confidence: None,
            agreement: consensus.agreement,
            tied: consensus.tied,
            adjudicated,
            adjudication: None,
            feedback: Vec::new(),
            gold,
            split: None,
        }
    }

    /// Makes a reviewer's final label the item's adjudicated answer, ahead of the experts'.
    pub fn adjudicate(&mut self, value: Value, adjudication: ExportAdjudication) {
        self.adjudicated = Some(value);
        self.adjudication = Some(adjudication);
    }

    /// Sets the consensus: the adjudicated answer where there is one, else the
    /// method's (`fitted` is Dawid-Skene's label and posterior, when that method ran).
    pub fn settle(&mut self, method: Method, fitted: Option<(Value, f64)>) {
        if let Some(adjudicated) = &self.adjudicated {
            self.consensus = Some(adjudicated.clone());
            self.consensus_source = Some("adjudicated");
            self.confidence = None;
            return;
        }
        match method {
            Method::Majority => {
                self.consensus = self.majority.clone();
                self.consensus_source = self.majority.as_ref().map(|_| "majority");
                self.confidence = None;
            }
            Method::DawidSkene => {
                let (value, confidence) = fitted.unzip();
                self.consensus_source = value.as_ref().map(|_| "dawid-skene");
                self.consensus = value;
                self.confidence = confidence;
            }
        }
    }
}

/// A cell that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return) gets a leading apostrophe, which spreadsheets show as text.
pub fn neutralize_formula(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized() {
        for cell in ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"] {
            assert_eq!(neutralize_formula(cell), format!("'{cell}"));
        }
        assert_eq!(neutralize_formula("plain"), "plain");
        assert_eq!(neutralize_formula(""), "");
    }

    #[test]
    fn majority_and_agreement() {
        let m = majority(["pos", "neg", "pos"]);
        assert_eq!(m.label.as_deref(), Some("pos"));
        assert!((m.agreement.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!(m.tied.is_empty());
    }

    #[test]
    fn ties_are_reported() {
        let m = majority(["pos", "neg"]);
        assert_eq!(m.label, None);
        assert_eq!(m.tied, vec!["pos", "neg"]);
        assert_eq!(m.agreement, Some(0.5));
    }

    #[test]
    fn no_labels_no_majority() {
        let m = majority(std::iter::empty());
        assert_eq!(m.label, None);
        assert_eq!(m.agreement, None);
    }
}
