//! Multi-label (set-valued) labels: alpha with the MASI and Jaccard distances, a binary
//! alpha per label, per-label majority consensus and set equality.
//!
//! A value is the set of labels a rater chose; order and repeats do not matter, and the
//! empty set (the rater chose none) is a value like any other.

use std::collections::BTreeMap;

use serde::Serialize;

use super::distance_alpha::{alpha_with_distance, nominal};
use super::{by_item, ItemConsensus, Row};
use crate::quality::figure::split;

/// A label set as sorted distinct labels.
type LabelSet<'a> = Vec<&'a str>;

fn label_set(labels: &[String]) -> LabelSet<'_> {
    let mut set: LabelSet<'_> = labels.iter().map(String::as_str).collect();
    set.sort_unstable();
    set.dedup();
    set
}

/// Sizes of the intersection and union of two sorted sets.
fn overlap(a: &[&str], b: &[&str]) -> (usize, usize) {
    let shared = a
        .iter()
        .filter(|label| b.binary_search(label).is_ok())
        .count();
    (shared, a.len() + b.len() - shared)
}

fn jaccard(a: &[&str], b: &[&str]) -> f64 {
    let (shared, union) = overlap(a, b);
    if union == 0 {
        return 0.0;
    }
    1.0 - shared as f64 / union as f64
}

/// MASI (Passonneau 2006): `1 - J * M` with J the Jaccard similarity and M 1 for equal
/// sets, 2/3 when one contains the other, 1/3 when they only intersect, 0 when disjoint.
fn masi(a: &[&str], b: &[&str]) -> f64 {
    let (shared, union) = overlap(a, b);
    if union == 0 {
        return 0.0;
    }
    let monotonicity = if shared == a.len() && shared == b.len() {
        1.0
    } else if shared == a.len().min(b.len()) {
        2.0 / 3.0
    } else if shared > 0 {
        1.0 / 3.0
    } else {
        0.0
    };
    1.0 - shared as f64 / union as f64 * monotonicity
}

/// The Jaccard distance `1 - |A ∩ B| / |A ∪ B|` of two label sets; 0 for two empty sets.
pub fn jaccard_distance(a: &[String], b: &[String]) -> f64 {
    jaccard(&label_set(a), &label_set(b))
}

/// The MASI distance of two label sets (see `masi`); 0 for two empty sets.
pub fn masi_distance(a: &[String], b: &[String]) -> f64 {
    masi(&label_set(a), &label_set(b))
}

/// Whether two label lists hold the same set of labels.
pub fn sets_equal(a: &[String], b: &[String]) -> bool {
    label_set(a) == label_set(b)
}

/// How far raters agree on label sets.
#[derive(Debug, Clone, Serialize)]
pub struct MultiLabelAgreement {
    /// Krippendorff's alpha with the MASI distance: partial credit for overlapping sets,
    /// more when one set contains the other.
    pub alpha_masi: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha_masi_reason: Option<String>,
    /// Krippendorff's alpha with the Jaccard distance.
    pub alpha_jaccard: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha_jaccard_reason: Option<String>,
    /// Items with two or more raters.
    pub pairable_items: usize,
    /// Per label, in label order.
    pub per_label: Vec<LabelAlpha>,
}

/// Agreement on one label of a multi-label kind, as a yes/no question per item.
#[derive(Debug, Clone, Serialize)]
pub struct LabelAlpha {
    pub label: String,
    /// How many raters' sets include it, over all items.
    pub chosen: usize,
    /// Nominal alpha of "rater chose this label" (true/false) per item.
    pub alpha_binary: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha_binary_reason: Option<String>,
}

/// Agreement over multi-label values.
pub fn multi_label_agreement(rows: &[Row<Vec<String>>]) -> MultiLabelAgreement {
    let units: Vec<Vec<LabelSet<'_>>> = by_item(rows)
        .into_iter()
        .map(|item| {
            item.values
                .iter()
                .map(|(_, labels)| label_set(labels))
                .collect()
        })
        .collect();
    let mut chosen: BTreeMap<&str, usize> = BTreeMap::new();
    for label in units.iter().flatten().flatten() {
        *chosen.entry(label).or_default() += 1;
    }
    let per_label = chosen
        .into_iter()
        .map(|(label, chosen)| {
            let binary: Vec<Vec<bool>> = units
                .iter()
                .map(|unit| unit.iter().map(|set| set.contains(&label)).collect())
                .collect();
            let (alpha_binary, alpha_binary_reason) = split(alpha_with_distance(&binary, nominal));
            LabelAlpha {
                label: label.to_string(),
                chosen,
                alpha_binary,
                alpha_binary_reason,
            }
        })
        .collect();
    let (alpha_masi, alpha_masi_reason) = split(alpha_with_distance(&units, |a, b| masi(a, b)));
    let (alpha_jaccard, alpha_jaccard_reason) =
        split(alpha_with_distance(&units, |a, b| jaccard(a, b)));
    MultiLabelAgreement {
        alpha_masi,
        alpha_masi_reason,
        alpha_jaccard,
        alpha_jaccard_reason,
        pairable_items: units.iter().filter(|unit| unit.len() >= 2).count(),
        per_label,
    }
}

/// Per-label majority of one item's label sets: a label is in the consensus when more
/// than half of the raters chose it; `tie` is set when some label was chosen by exactly
/// half. A rater agrees when their set equals the consensus set. `None` without raters.
pub fn multi_label_consensus(values: &[Vec<String>]) -> Option<ItemConsensus<Vec<String>>> {
    if values.is_empty() {
        return None;
    }
    let raters = values.len();
    let sets: Vec<LabelSet<'_>> = values.iter().map(|labels| label_set(labels)).collect();
    let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
    for label in sets.iter().flatten() {
        *votes.entry(label).or_default() += 1;
    }
    let consensus: LabelSet<'_> = votes
        .iter()
        .filter(|&(_, &n)| 2 * n > raters)
        .map(|(&label, _)| label)
        .collect();
    let tie = votes.values().any(|&n| 2 * n == raters);
    let agreeing = sets.iter().filter(|set| **set == consensus).count();
    let value = consensus.into_iter().map(str::to_string).collect();
    Some(ItemConsensus::new(value, agreeing, raters, tie))
}

#[cfg(test)]
mod tests;
