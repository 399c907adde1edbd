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

/// Each rater's labels that have a reference, as (sequence, agreed with it), in the
/// dataset's order; `None` for a rater with a label that carries no sequence. One pass over
/// every label: a pass per rater took each of their labels from far apart in the dataset.
fn timed_references(data: &Dataset, references: &References) -> Vec<Option<Vec<(i64, bool)>>> {
    let mut timed: Vec<Option<Vec<(i64, bool)>>> = vec![Some(Vec::new()); data.rater_count()];
    for (index, label) in data.labels().iter().enumerate() {
        let rater = &mut timed[label.rater as usize];
        let Some(sequence) = data.label_time(index).sequence else {
            *rater = None;
            continue;
        };
        if let (Some(ordered), Some(reference)) = (rater, references.class_of(index)) {
            ordered.push((sequence, reference == label.value));
        }
    }
    timed
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
    for (rater, timed) in timed_references(data, references).into_iter().enumerate() {
        let labels = data.rater_label_indexes(rater).len();
        let Some(mut ordered) = timed.filter(|_| labels >= limits.min_rater_labels.max(2)) else {
            continue;
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::consensus::majority_vote;
    use crate::quality::{synth, DatasetBuilder, DatasetError, LabelInput};

    #[test]
    fn one_pass_gathers_each_raters_labels_as_their_own_do() {
        let data = synth::generate(2_000, 4, 10, 3, 11);
        let references = References::of(&data, &majority_vote(&data), 1);
        let timed = timed_references(&data, &references);
        for (rater, gathered) in timed.iter().enumerate() {
            let plain: Vec<(i64, bool)> = (data.rater_label_indexes(rater).iter())
                .filter_map(|&index| {
                    let label = data.labels()[index as usize];
                    let reference = references.class_of(index as usize)?;
                    let sequence = data.label_time(index as usize).sequence?;
                    Some((sequence, reference == label.value))
                })
                .collect();
            assert!(plain.len() > 100);
            assert_eq!(gathered.as_ref(), Some(&plain), "rater {rater}");
        }
    }

    #[test]
    fn a_rater_with_a_label_without_sequence_is_not_gathered() -> Result<(), DatasetError> {
        let mut builder = DatasetBuilder::new();
        for (item, rater, value, sequence) in [
            ("i1", "a", "x", Some(1)),
            ("i1", "b", "x", Some(1)),
            ("i2", "a", "y", Some(2)),
            ("i2", "b", "y", None),
        ] {
            builder.add(LabelInput {
                item,
                rater,
                value,
                sequence,
                ..LabelInput::default()
            });
        }
        let data = builder.build()?;
        let references = References::of(&data, &majority_vote(&data), 1);
        let timed = timed_references(&data, &references);
        let gathered = |name: &str| {
            let rater = data.raters().iter().position(|r| r == name);
            rater.map(|rater| timed[rater].as_ref().map(Vec::len))
        };
        assert_eq!(gathered("a"), Some(Some(2)));
        assert_eq!(gathered("b"), Some(None));
        Ok(())
    }
}
