//! Drift within a rater's session: agreement with the other raters' consensus (leave-one-out)
//! in the first half of their labels (by sequence) against the second half.

use serde::Serialize;

use super::dataset::Dataset;
use super::reference::References;
use super::report::ReportOptions;
use super::stats::{holm, two_proportion_p};

/// One rater's early vs late agreement with consensus.
#[derive(Debug, Clone, Serialize)]
pub struct RaterDrift {
    pub rater: String,
    pub labels: usize,
    /// Agreement with consensus over the first half of the rater's labels in sequence order.
    pub early_agreement: f64,
    /// The same over the second half.
    pub late_agreement: f64,
    /// late - early.
    pub change: f64,
    pub p_value: f64,
    /// Holm-adjusted over all raters tested.
    pub p_adjusted: f64,
    /// Significant and at least the drift threshold in size.
    pub drifting: bool,
}

/// Drift for every rater whose labels all carry a sequence and who has at least
/// `min_rater_labels` labels.
pub(crate) fn drift(
    data: &Dataset,
    references: &References,
    options: &ReportOptions,
) -> Result<Vec<RaterDrift>, String> {
    let limits = &options.thresholds;
    let mut tested = Vec::new();
    for rater in 0..data.rater_count() {
        let indexes = data.rater_label_indexes(rater);
        if indexes.len() < limits.min_rater_labels.max(2) {
            continue;
        }
        let sequence = |index: u32| data.label_time(index as usize).sequence;
        if indexes.iter().any(|&index| sequence(index).is_none()) {
            continue;
        }
        let mut ordered: Vec<(i64, bool)> = indexes
            .iter()
            .filter_map(|&index| {
                let label = data.labels()[index as usize];
                let reference = references.class_of(index as usize)?;
                Some((sequence(index)?, reference == label.value))
            })
            .collect();
        if ordered.len() < limits.min_rater_labels.max(2) {
            continue;
        }
        ordered.sort_by_key(|&(sequence, _)| sequence);
        let half = ordered.len() / 2;
        let early = ordered[..half].iter().filter(|(_, agreed)| *agreed).count() as f64;
        let late = ordered[half..].iter().filter(|(_, agreed)| *agreed).count() as f64;
        let (n1, n2) = (half as f64, (ordered.len() - half) as f64);
        if let Some(p) = two_proportion_p(early, n1, late, n2) {
            tested.push((rater, ordered.len(), early / n1, late / n2, p));
        }
    }
    if tested.is_empty() {
        return Err(format!(
            "no rater has {} or more labels that all carry a sequence number",
            limits.min_rater_labels.max(2)
        ));
    }
    let adjusted = holm(&tested.iter().map(|t| t.4).collect::<Vec<_>>());
    let mut rows: Vec<RaterDrift> = tested
        .into_iter()
        .zip(adjusted)
        .map(
            |((rater, labels, early, late, p_value), p_adjusted)| RaterDrift {
                rater: data.raters()[rater].clone(),
                labels,
                early_agreement: early,
                late_agreement: late,
                change: late - early,
                p_value,
                p_adjusted,
                drifting: p_adjusted < limits.significance
                    && (late - early).abs() >= limits.drift_change,
            },
        )
        .collect();
    rows.sort_by(|a, b| a.rater.cmp(&b.rater));
    Ok(rows)
}
