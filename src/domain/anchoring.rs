//! Anchoring on a model's pre-labels: how often raters keep the pre-label when they are
//! shown it, against raters who labelled the same items blind. When data comes from other
//! models, errors compound; this says how much the raters lean on the model.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::kinds::{from_stored, Schema};
use super::report::ReportInput;

/// How often one group's labels equal the pre-label (under the kind's gold rule).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KeepRate {
    pub labels: usize,
    pub kept: usize,
    pub rate: Option<f64>,
}

/// Shown against blind on the items that have labels of both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anchoring {
    /// Items with a pre-label and labels both from raters who saw it and from blind raters.
    pub items: usize,
    pub shown: KeepRate,
    pub blind: KeepRate,
    /// shown.rate - blind.rate: how much more often a pre-label is kept when it is seen.
    pub difference: Option<f64>,
    /// Newcombe's 95% interval for the difference of two proportions (from Wilson
    /// intervals).
    pub difference_ci95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference_reason: Option<String>,
}

/// The anchoring figures, or `None` when no label was given on an item with a pre-label.
pub fn anchoring(schema: Schema<'_>, input: &ReportInput) -> Option<Anchoring> {
    let with_prediction: Vec<_> = input
        .labels
        .iter()
        .filter_map(|label| {
            let prediction = input.predictions.get(&label.item_id)?;
            Some((label, label.prediction_shown?, prediction))
        })
        .collect();
    if with_prediction.is_empty() {
        return None;
    }
    let mut groups: HashMap<i64, (bool, bool)> = HashMap::new();
    for (label, shown, _) in &with_prediction {
        let seen = groups.entry(label.item_id).or_default();
        if *shown {
            seen.0 = true;
        } else {
            seen.1 = true;
        }
    }
    let both: HashSet<i64> = groups
        .into_iter()
        .filter(|(_, (shown, blind))| *shown && *blind)
        .map(|(item, _)| item)
        .collect();
    let (mut shown, mut blind) = (KeepRate::default(), KeepRate::default());
    for (label, was_shown, prediction) in with_prediction {
        if !both.contains(&label.item_id) {
            continue;
        }
        let kept = schema.matches(&from_stored(&label.value), &from_stored(prediction));
        let group = if was_shown { &mut shown } else { &mut blind };
        group.labels += 1;
        group.kept += usize::from(kept);
    }
    for group in [&mut shown, &mut blind] {
        group.rate = (group.labels > 0).then(|| group.kept as f64 / group.labels as f64);
    }
    let difference = shown.rate.zip(blind.rate).map(|(s, b)| s - b);
    let difference_ci95 = newcombe(&shown, &blind);
    let difference_reason = difference.is_none().then(|| {
        "no item has labels both from raters shown the pre-label and from blind raters (set prediction_blind_share above 0)".to_string()
    });
    Some(Anchoring {
        items: both.len(),
        shown,
        blind,
        difference,
        difference_ci95,
        difference_reason,
    })
}

/// The 95% Wilson score interval of `kept / labels`.
fn wilson(group: &KeepRate) -> Option<(f64, f64, f64)> {
    if group.labels == 0 {
        return None;
    }
    let n = group.labels as f64;
    let p = group.kept as f64 / n;
    let z = 1.959_963_984_540_054;
    let centre = p + z * z / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    let denominator = 1.0 + z * z / n;
    Some((
        p,
        ((centre - spread) / denominator).max(0.0),
        ((centre + spread) / denominator).min(1.0),
    ))
}

/// Newcombe's hybrid score interval for p1 - p2 (method 10 of Newcombe, 1998).
fn newcombe(first: &KeepRate, second: &KeepRate) -> Option<[f64; 2]> {
    let (p1, l1, u1) = wilson(first)?;
    let (p2, l2, u2) = wilson(second)?;
    let d = p1 - p2;
    Some([
        d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::LabelRecord;

    fn label(item: i64, rater: &str, value: &str, shown: bool) -> LabelRecord {
        LabelRecord {
            prediction_shown: Some(shown),
            ..LabelRecord::choice(item, rater, value)
        }
    }

    #[test]
    fn raters_who_see_the_model_keep_it_more_often() {
        let labels = vec!["pos".to_string(), "neg".to_string()];
        let settings = Default::default();
        let schema = Schema {
            kind: crate::domain::kinds::Kind::SingleChoice,
            labels: &labels,
            settings: &settings,
        };
        let mut input = ReportInput::default();
        for item in 0..40 {
            input.predictions.insert(item, "\"pos\"".into());
            // Shown: kept on 36 of 40 items. Blind: agree with the model on 20 of 40.
            input.labels.push(label(
                item,
                "a",
                if item < 36 { "pos" } else { "neg" },
                true,
            ));
            input.labels.push(label(
                item,
                "b",
                if item % 2 == 0 { "pos" } else { "neg" },
                false,
            ));
        }
        // A label on an item without a blind counterpart does not count.
        input.predictions.insert(99, "\"pos\"".into());
        input.labels.push(label(99, "a", "pos", true));
        let figures = anchoring(schema, &input).expect("anchoring");
        assert_eq!(figures.items, 40);
        assert_eq!((figures.shown.kept, figures.shown.labels), (36, 40));
        assert_eq!((figures.blind.kept, figures.blind.labels), (20, 40));
        let difference = figures.difference.expect("difference");
        assert!((difference - 0.4).abs() < 1e-12);
        let [low, high] = figures.difference_ci95.expect("interval");
        // Newcombe's interval for 36/40 - 20/40, as statsmodels'
        // confint_proportions_2indep(36, 40, 20, 40, method="newcomb") gives it.
        assert!((low - 0.202_667_073_304_280_7).abs() < 1e-9, "{low}");
        assert!((high - 0.559_862_546_124_905_8).abs() < 1e-9, "{high}");
    }

    #[test]
    fn no_pre_labels_no_anchoring() {
        let labels = vec!["pos".to_string()];
        let settings = Default::default();
        let schema = Schema {
            kind: crate::domain::kinds::Kind::SingleChoice,
            labels: &labels,
            settings: &settings,
        };
        let mut input = ReportInput::default();
        input.labels.push(label(1, "a", "pos", true));
        assert_eq!(anchoring(schema, &input), None);
    }
}
