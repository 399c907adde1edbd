//! The shape of an exported row: an item, its labels under pseudonyms, and their majority.

use serde::Serialize;
use serde_json::{Map, Value};

/// One label as it leaves tally: the rater appears only under a pseudonym.
#[derive(Debug, Clone, Serialize)]
pub struct ExportLabel {
    pub rater: String,
    pub pool: String,
    pub value: String,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
}

/// One process-feedback event on an item, in its own column beside the human labels.
#[derive(Debug, Clone, Serialize)]
pub struct ExportFeedback {
    pub source: String,
    pub value: String,
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
    /// The most frequent value; `None` when there are no labels or the top is tied.
    pub majority: Option<String>,
    /// Share of the labels that agree with the most frequent value.
    pub agreement: Option<f64>,
    /// The values tied for first place, when there is a tie.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tied: Vec<String>,
    /// The experts' majority where experts labelled the item: the adjudicated answer.
    pub adjudicated: Option<String>,
    /// Process feedback on the item, kept apart from the human labels.
    pub feedback: Vec<ExportFeedback>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gold: Option<String>,
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
    let mut counts: Vec<(&str, usize)> = Vec::new();
    let mut total = 0usize;
    for value in values {
        total += 1;
        match counts.iter_mut().find(|(v, _)| *v == value) {
            Some((_, n)) => *n += 1,
            None => counts.push((value, 1)),
        }
    }
    let Some(top) = counts.iter().map(|(_, n)| *n).max() else {
        return Majority {
            label: None,
            agreement: None,
            tied: Vec::new(),
        };
    };
    let leaders: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n == top)
        .map(|(v, _)| v.to_string())
        .collect();
    let agreement = Some(top as f64 / total as f64);
    if leaders.len() == 1 {
        Majority {
            label: leaders.into_iter().next(),
            agreement,
            tied: Vec::new(),
        }
    } else {
        Majority {
            label: None,
            agreement,
            tied: leaders,
        }
    }
}

impl ExportRow {
    pub fn new(
        id: i64,
        external_id: Option<String>,
        data: Map<String, Value>,
        labels: Vec<ExportLabel>,
        gold: Option<String>,
    ) -> Self {
        let m = majority(labels.iter().map(|l| l.value.as_str()));
        let adjudicated = majority(
            labels
                .iter()
                .filter(|l| l.pool == "expert")
                .map(|l| l.value.as_str()),
        )
        .label;
        ExportRow {
            id,
            external_id,
            data,
            label_count: labels.len(),
            labels,
            majority: m.label,
            agreement: m.agreement,
            tied: m.tied,
            adjudicated,
            feedback: Vec::new(),
            gold,
        }
    }

    pub const CSV_HEADER: [&'static str; 10] = [
        "id",
        "external_id",
        "data",
        "labels",
        "label_count",
        "majority",
        "agreement",
        "adjudicated",
        "feedback",
        "gold",
    ];

    /// The row as CSV fields; nested values are JSON text in their cell, and no cell can
    /// run as a spreadsheet formula.
    pub fn csv_fields(&self) -> [String; 10] {
        self.raw_csv_fields().map(|cell| neutralize_formula(&cell))
    }

    fn raw_csv_fields(&self) -> [String; 10] {
        let labels: Vec<Value> = self
            .labels
            .iter()
            .map(|l| serde_json::json!({"rater": l.rater, "pool": l.pool, "value": l.value}))
            .collect();
        [
            self.id.to_string(),
            self.external_id.clone().unwrap_or_default(),
            Value::Object(self.data.clone()).to_string(),
            Value::Array(labels).to_string(),
            self.label_count.to_string(),
            self.majority.clone().unwrap_or_default(),
            self.agreement
                .map(|a| format!("{a:.4}"))
                .unwrap_or_default(),
            self.adjudicated.clone().unwrap_or_default(),
            serde_json::to_string(&self.feedback).unwrap_or_default(),
            self.gold.clone().unwrap_or_default(),
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
