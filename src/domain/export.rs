//! The shape of an exported row: an item, its labels under pseudonyms, and their majority.

use serde::Serialize;
use serde_json::{Map, Value};

use super::kinds::Schema;

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

/// One exported item.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub data: Map<String, Value>,
    pub labels: Vec<ExportLabel>,
    pub label_count: usize,
    /// The consensus under the project's kind (majority, per-label majority, median,
    /// majority-matched units); `None` without labels or on a tie.
    pub consensus: Option<Value>,
    /// The same value under the name earlier exports used.
    pub majority: Option<Value>,
    /// Share of the labels that agree with the consensus.
    pub agreement: Option<f64>,
    /// The values tied for first place, when there is a tie.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tied: Vec<Value>,
    /// The experts' consensus where experts labelled the item: the adjudicated answer.
    pub adjudicated: Option<Value>,
    /// Process feedback on the item, kept apart from the human labels.
    pub feedback: Vec<ExportFeedback>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gold: Option<Value>,
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
            majority: consensus.value.clone(),
            consensus: consensus.value,
            agreement: consensus.agreement,
            tied: consensus.tied,
            adjudicated,
            feedback: Vec::new(),
            gold,
        }
    }

    pub const CSV_HEADER: [&'static str; 12] = [
        "id",
        "external_id",
        "data",
        "labels",
        "label_count",
        "consensus",
        "majority",
        "agreement",
        "tied",
        "adjudicated",
        "feedback",
        "gold",
    ];

    /// The row as CSV fields; nested values are JSON text in their cell, and no cell can
    /// run as a spreadsheet formula.
    pub fn csv_fields(&self) -> [String; 12] {
        self.raw_csv_fields().map(|cell| neutralize_formula(&cell))
    }

    fn raw_csv_fields(&self) -> [String; 12] {
        let cell = |v: &Option<Value>| v.as_ref().map(super::kinds::display).unwrap_or_default();
        [
            self.id.to_string(),
            self.external_id.clone().unwrap_or_default(),
            Value::Object(self.data.clone()).to_string(),
            serde_json::to_string(&self.labels).unwrap_or_default(),
            self.label_count.to_string(),
            cell(&self.consensus),
            cell(&self.majority),
            self.agreement
                .map(|a| format!("{a:.4}"))
                .unwrap_or_default(),
            if self.tied.is_empty() {
                String::new()
            } else {
                Value::Array(self.tied.clone()).to_string()
            },
            cell(&self.adjudicated),
            serde_json::to_string(&self.feedback).unwrap_or_default(),
            cell(&self.gold),
        ]
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
