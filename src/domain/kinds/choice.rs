//! Single choice and image choice: one label from the list.

use serde_json::Value;

use super::{vote, Consensus};
use crate::domain::project::MAX_LABELS;
use crate::domain::Invalid;

/// Checks a label list: `at_least` to [`MAX_LABELS`] distinct labels of 1 to 100
/// characters, trimmed.
pub(super) fn check_labels(labels: Vec<String>, at_least: usize) -> Result<Vec<String>, Invalid> {
    let labels: Vec<String> = labels.into_iter().map(|l| l.trim().to_string()).collect();
    if labels.len() < at_least || labels.len() > MAX_LABELS {
        return Err(Invalid::new(
            "labels",
            format!("give between {at_least} and {MAX_LABELS} labels"),
        ));
    }
    for (i, label) in labels.iter().enumerate() {
        if label.is_empty() || label.chars().count() > 100 {
            return Err(Invalid::new(
                "labels",
                format!("label {} must be 1 to 100 characters", i + 1),
            ));
        }
        if labels[..i].contains(label) {
            return Err(Invalid::new(
                "labels",
                format!("label {label:?} is given twice"),
            ));
        }
    }
    Ok(labels)
}

/// One of the labels, as a string.
pub(super) fn parse(labels: &[String], raw: &Value) -> Result<Value, String> {
    let Value::String(label) = raw else {
        return Err("must be one of the labels, as a string".into());
    };
    if labels.contains(label) {
        Ok(raw.clone())
    } else {
        Err(format!(
            "{label:?} is not one of this project's labels ({})",
            labels.join(", ")
        ))
    }
}

/// The majority label; a tie lists the leaders and has no value.
pub(super) fn consensus(values: &[Value]) -> Consensus {
    vote(values)
}
