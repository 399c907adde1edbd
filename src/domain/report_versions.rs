//! Agreement split by guideline version: every label records the version of the
//! instructions it was given under, so the report can say whether a clarification helped.
//! Within each version, labels of the same item are compared with each other (never with
//! labels given under another version), and gold answers are checked under the kind's rule.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::kinds::{from_stored, Schema};
use super::report::{item_name, LabelRecord, ReportInput};
use crate::quality::{krippendorff_alpha, Categories, DatasetBuilder, LabelInput, Level};

/// The labels given under one guideline version and how far they agree.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VersionAgreement {
    /// The guideline version; `null` for labels whose version is not known.
    pub version: Option<i64>,
    pub labels: usize,
    pub raters: usize,
    /// Items with a label given under this version.
    pub items: usize,
    /// Items with two or more labels under this version: agreement is measured on them.
    pub pairable_items: usize,
    /// Mean share of agreeing pairs of labels per pairable item (the same category for
    /// choices and ratings; the kind's matching rule for the other kinds).
    pub percent_agreement: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_agreement_reason: Option<String>,
    /// Krippendorff's alpha over this version's labels, at the report's level (choices
    /// and ratings only).
    pub krippendorff_alpha: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub krippendorff_alpha_reason: Option<String>,
    /// Labels given under this version on items with a known answer.
    pub gold_labels: usize,
    /// Share of those matching the known answer under the kind's rule.
    pub gold_accuracy: Option<f64>,
}

/// One entry per guideline version that has labels, oldest first.
pub fn by_guideline_version(
    schema: Schema<'_>,
    level: Level,
    input: &ReportInput,
) -> Vec<VersionAgreement> {
    let mut by_version: BTreeMap<Option<i64>, Vec<&LabelRecord>> = BTreeMap::new();
    for label in &input.labels {
        by_version
            .entry(label.guideline_version)
            .or_default()
            .push(label);
    }
    by_version
        .into_iter()
        .map(|(version, labels)| summarise(schema, level, input, version, &labels))
        .collect()
}

fn summarise(
    schema: Schema<'_>,
    level: Level,
    input: &ReportInput,
    version: Option<i64>,
    labels: &[&LabelRecord],
) -> VersionAgreement {
    let mut by_item: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for label in labels {
        by_item
            .entry(label.item_id)
            .or_default()
            .push(from_stored(&label.value));
    }
    let shares: Vec<f64> = by_item
        .values()
        .filter(|values| values.len() >= 2)
        .map(|values| agreeing_share(schema, values))
        .collect();
    let (percent_agreement, percent_agreement_reason) = if shares.is_empty() {
        (
            None,
            Some("no item has two labels under this version".to_string()),
        )
    } else {
        (Some(shares.iter().sum::<f64>() / shares.len() as f64), None)
    };
    let (krippendorff_alpha, krippendorff_alpha_reason) = if schema.kind.is_categorical() {
        match alpha(schema, level, labels) {
            Ok(a) => (Some(a), None),
            Err(why) => (None, Some(why)),
        }
    } else {
        (
            None,
            Some("alpha by version is computed for choices and ratings".to_string()),
        )
    };
    let gold: Vec<bool> = labels
        .iter()
        .filter_map(|l| {
            let answer = input.gold.get(&l.item_id)?;
            Some(schema.matches(&from_stored(&l.value), &from_stored(answer)))
        })
        .collect();
    let raters: BTreeSet<&str> = labels.iter().map(|l| l.rater.as_str()).collect();
    VersionAgreement {
        version,
        labels: labels.len(),
        raters: raters.len(),
        items: by_item.len(),
        pairable_items: shares.len(),
        percent_agreement,
        percent_agreement_reason,
        krippendorff_alpha,
        krippendorff_alpha_reason,
        gold_labels: gold.len(),
        gold_accuracy: (!gold.is_empty())
            .then(|| gold.iter().filter(|right| **right).count() as f64 / gold.len() as f64),
    }
}

/// The share of an item's pairs of labels that agree: the same category for choices and
/// ratings (each label's category found once, not once per pair), the kind's matching
/// rule for the other kinds.
fn agreeing_share(schema: Schema<'_>, values: &[Value]) -> f64 {
    let categories: Vec<Option<String>> = if schema.kind.is_categorical() {
        values.iter().map(|v| schema.category(v)).collect()
    } else {
        Vec::new()
    };
    let agree = |i: usize, j: usize| match categories.get(i) {
        Some(category) => category.is_some() && *category == categories[j],
        None => schema.matches(&values[i], &values[j]),
    };
    let (mut pairs, mut agreeing) = (0usize, 0usize);
    for i in 0..values.len() {
        for j in i + 1..values.len() {
            pairs += 1;
            agreeing += usize::from(agree(i, j));
        }
    }
    agreeing as f64 / pairs.max(1) as f64
}

/// Krippendorff's alpha over one version's labels of a categorical kind.
fn alpha(schema: Schema<'_>, level: Level, labels: &[&LabelRecord]) -> Result<f64, String> {
    let categories = Categories::ordered(schema.categories()).map_err(|e| e.to_string())?;
    let mut builder = DatasetBuilder::new();
    builder.categories(categories);
    let mut added = 0;
    for label in labels {
        let Some(category) = schema.category(&from_stored(&label.value)) else {
            continue;
        };
        let item = item_name(label.item_id, label.external_id.as_deref());
        builder.add(LabelInput {
            item: &item,
            rater: &label.rater,
            value: &category,
            duration_ms: None,
            sequence: None,
        });
        added += 1;
    }
    if added == 0 {
        return Err("no labels under this version".into());
    }
    let dataset = builder.build().map_err(|e| e.to_string())?;
    krippendorff_alpha(&dataset, level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::project::{NewProject, Project};

    fn label(item: i64, rater: &str, value: &str, version: i64) -> LabelRecord {
        LabelRecord {
            item_id: item,
            external_id: None,
            rater: rater.into(),
            pool: "generalist".into(),
            value: format!("\"{value}\""),
            duration_ms: None,
            created_at: 0,
            prediction_shown: None,
            guideline_version: Some(version),
        }
    }

    #[test]
    fn each_version_is_measured_on_its_own_labels() {
        let project = Project::from_spec(
            1,
            NewProject::simple("p", &["a", "b"], 2, "")
                .validate()
                .unwrap(),
        );
        let mut input = ReportInput::default();
        // Version 1: raters split on both items; version 2: they agree on both.
        for (item, v1, v2) in [(1, ("a", "b"), ("a", "a")), (2, ("b", "a"), ("b", "b"))] {
            input.labels.push(label(item, "r1", v1.0, 1));
            input.labels.push(label(item, "r2", v1.1, 1));
            input.labels.push(label(item + 10, "r1", v2.0, 2));
            input.labels.push(label(item + 10, "r2", v2.1, 2));
        }
        input.gold.insert(11, "\"a\"".into());
        let split = by_guideline_version(project.schema(), Level::Nominal, &input);
        assert_eq!(split.len(), 2);
        assert_eq!(split[0].version, Some(1));
        assert_eq!(split[0].percent_agreement, Some(0.0));
        assert_eq!(split[1].version, Some(2));
        assert_eq!(split[1].percent_agreement, Some(1.0));
        assert_eq!(
            (split[1].labels, split[1].items, split[1].raters),
            (4, 2, 2)
        );
        assert_eq!(split[1].gold_labels, 2);
        assert_eq!(split[1].gold_accuracy, Some(1.0));
        assert!(split[0].krippendorff_alpha.unwrap() < 0.0);
        assert!(split[0].gold_accuracy.is_none());
    }
}
