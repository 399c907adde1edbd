//! Multiple choice: a set of labels, optionally between `min` and `max` of them.

use serde_json::Value;

use super::{decode_all, from_item, Consensus, Settings};
use crate::quality::kinds::multi_label_consensus;

/// A list of distinct labels; stored in the project's label order.
pub(super) fn parse(labels: &[String], settings: &Settings, raw: &Value) -> Result<Value, String> {
    let Value::Array(items) = raw else {
        return Err("must be an array of labels".into());
    };
    let mut chosen: Vec<&String> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(label) = item else {
            return Err("every element must be a label, as a string".into());
        };
        let Some(known) = labels.iter().find(|l| *l == label) else {
            return Err(format!(
                "{label:?} is not one of this project's labels ({})",
                labels.join(", ")
            ));
        };
        if chosen.contains(&known) {
            return Err(format!("{label:?} is chosen twice"));
        }
        chosen.push(known);
    }
    let min = settings.min.unwrap_or(0);
    let max = settings.max.unwrap_or(labels.len());
    if chosen.len() < min || chosen.len() > max {
        return Err(format!("choose between {min} and {max} labels"));
    }
    let ordered: Vec<Value> = labels
        .iter()
        .filter(|l| chosen.contains(l))
        .map(|l| Value::String(l.clone()))
        .collect();
    Ok(Value::Array(ordered))
}

/// Per-label majority: a label is in when more than half of the raters chose it.
pub(super) fn consensus(values: &[Value]) -> Consensus {
    let sets: Vec<Vec<String>> = decode_all(values);
    from_item(multi_label_consensus(&sets))
}
