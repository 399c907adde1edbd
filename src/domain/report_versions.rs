//! Agreement split by guideline version: every label records the version of the
//! instructions it was given under, so the report can say whether a clarification helped.
//! Within each version, labels of the same item are compared with each other (never with
//! labels given under another version), and gold answers are checked under the kind's rule.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use super::kinds::{from_stored, Schema, StoredCategories};
use super::report::{LabelRecord, ReportInput};
use crate::quality::{AlphaUnits, Categories, Level};

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
            .entry(label.guideline_version.map(i64::from))
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
    let readings = Readings::of(schema, labels);
    // Label indices by item id, each item's in the labels' order (a stable sort; the
    // labels mostly arrive by item already).
    let mut by_item: Vec<usize> = (0..labels.len()).collect();
    by_item.sort_by_key(|&index| labels[index].item_id);
    let items: Vec<&[usize]> = by_item
        .chunk_by(|&a, &b| labels[a].item_id == labels[b].item_id)
        .collect();
    let shares: Vec<f64> = items
        .iter()
        .filter(|indices| indices.len() >= 2)
        .map(|indices| agreeing_share(schema, &readings, indices))
        .collect();
    let (percent_agreement, percent_agreement_reason) = if shares.is_empty() {
        (
            None,
            Some("no item has two labels under this version".to_string()),
        )
    } else {
        (Some(shares.iter().sum::<f64>() / shares.len() as f64), None)
    };
    let (krippendorff_alpha, krippendorff_alpha_reason) = match &readings {
        Readings::Categories(categories) => {
            match alpha(level, schema, labels, categories, &items) {
                Ok(a) => (Some(a), None),
                Err(why) => (None, Some(why)),
            }
        }
        Readings::Values(_) => (
            None,
            Some("alpha by version is computed for choices and ratings".to_string()),
        ),
    };
    let gold: Vec<bool> = labels
        .iter()
        .filter_map(|l| {
            let answer = input.gold.get(&l.item_id)?;
            Some(schema.matches(&from_stored(&l.value), &from_stored(answer)))
        })
        .collect();
    let raters: foldhash::HashSet<&str> = labels.iter().map(|l| &*l.rater).collect();
    VersionAgreement {
        version,
        labels: labels.len(),
        raters: raters.len(),
        items: items.len(),
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

/// Each label read once, in the labels' order: its category for choices and ratings, its
/// value for the other kinds.
enum Readings {
    Categories(Vec<Option<Rc<str>>>),
    Values(Vec<Value>),
}

impl Readings {
    fn of<'a>(schema: Schema<'a>, labels: &[&'a LabelRecord]) -> Readings {
        if schema.kind.is_categorical() {
            let mut categories = StoredCategories::new(schema);
            Readings::Categories(labels.iter().map(|l| categories.of(&l.value)).collect())
        } else {
            Readings::Values(labels.iter().map(|l| from_stored(&l.value)).collect())
        }
    }
}

/// The share of an item's pairs of labels (`indices` into the readings) that agree: the
/// same category for choices and ratings, the kind's matching rule for the other kinds.
fn agreeing_share(schema: Schema<'_>, readings: &Readings, indices: &[usize]) -> f64 {
    let agree = |i: usize, j: usize| match readings {
        Readings::Categories(categories) => {
            categories[i].is_some() && categories[i] == categories[j]
        }
        Readings::Values(values) => schema.matches(&values[i], &values[j]),
    };
    let (mut pairs, mut agreeing) = (0usize, 0usize);
    for (n, &i) in indices.iter().enumerate() {
        for &j in &indices[n + 1..] {
            pairs += 1;
            agreeing += usize::from(agree(i, j));
        }
    }
    agreeing as f64 / pairs.max(1) as f64
}

/// Krippendorff's alpha over one version's labels of a categorical kind, given each
/// label's category and the labels of each item (`items`, indices into `labels`, each
/// item's in the labels' order). A rater's later label on an item replaces an earlier one.
fn alpha(
    level: Level,
    schema: Schema<'_>,
    labels: &[&LabelRecord],
    categories: &[Option<Rc<str>>],
    items: &[&[usize]],
) -> Result<f64, String> {
    let scale = Categories::ordered(schema.categories()).map_err(|e| e.to_string())?;
    let mut units = AlphaUnits::new(scale.len());
    let mut by_rater: Vec<(&str, u32)> = Vec::new();
    let mut added = 0usize;
    for indices in items {
        by_rater.clear();
        for &index in *indices {
            let Some(category) = &categories[index] else {
                continue;
            };
            let category = scale
                .index_of(category)
                .ok_or_else(|| format!("{category:?} is not one of the project's categories"))?;
            by_rater.push((&labels[index].rater, category));
        }
        added += by_rater.len();
        units.add(latest_of_each_rater(&mut by_rater));
    }
    if added == 0 {
        return Err("no labels under this version".into());
    }
    units.alpha(&scale, level)
}

/// The category of each rater's last label among an item's `(rater, category)` pairs,
/// given in the labels' order.
fn latest_of_each_rater<'a>(by_rater: &'a mut [(&str, u32)]) -> impl Iterator<Item = u32> + 'a {
    // A stable sort keeps each rater's labels in order, so the last of a run is the latest.
    by_rater.sort_by_key(|&(rater, _)| rater);
    by_rater
        .chunk_by(|a, b| a.0 == b.0)
        .filter_map(|run| run.last().map(|&(_, category)| category))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::project::{NewProject, Project};

    fn label(item: i64, rater: &str, value: &str, version: i64) -> LabelRecord {
        LabelRecord {
            guideline_version: Some(version as i32),
            ..LabelRecord::choice(item, rater, value)
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

    /// The split's alpha, gathered from category counts, is the alpha of a dataset built
    /// from the version's labels, on labels with repeats (a rater's later label counts),
    /// items with one label, and several versions; a value outside the categories leaves
    /// its version without alpha, with the reason.
    #[test]
    fn alpha_by_version_is_the_alpha_of_that_versions_labels() {
        use crate::quality::{krippendorff_alpha, DatasetBuilder, LabelInput};
        use rand::{Rng, SeedableRng};

        let project = Project::from_spec(
            1,
            NewProject::simple("p", &["a", "b", "c", "d"], 3, "")
                .validate()
                .unwrap(),
        );
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut input = ReportInput::default();
        for item in 0..400 {
            let truth = rng.gen_range(0..4u8);
            for _ in 0..rng.gen_range(1..6) {
                let rater = format!("r{}", rng.gen_range(0..12));
                let value = match rng.gen_range(0..20) {
                    0..=5 => ["a", "b", "c", "d"][rng.gen_range(0..4)].to_string(),
                    _ => ["a", "b", "c", "d"][usize::from(truth)].to_string(),
                };
                let mut record = label(item, &rater, &value, rng.gen_range(1..4));
                record.created_at = input.labels.len() as i64;
                input.labels.push(record);
            }
        }
        for level in [Level::Nominal, Level::Ordinal] {
            let split = by_guideline_version(project.schema(), level, &input);
            assert_eq!(split.len(), 3);
            for version in &split {
                let mut builder = DatasetBuilder::new();
                builder.categories(Categories::ordered(["a", "b", "c", "d"]).unwrap());
                for l in input
                    .labels
                    .iter()
                    .filter(|l| l.guideline_version.map(i64::from) == version.version)
                {
                    builder.add(LabelInput {
                        item: &l.item_id.to_string(),
                        rater: &l.rater,
                        value: l.value.trim_matches('"'),
                        duration_ms: None,
                        sequence: None,
                    });
                }
                let expected = krippendorff_alpha(&builder.build().unwrap(), level).unwrap();
                let found = version
                    .krippendorff_alpha
                    .unwrap_or_else(|| panic!("{version:?}"));
                assert!(
                    (found - expected).abs() < 1e-12,
                    "version {:?} at {level:?}: {found} against {expected}",
                    version.version
                );
            }
        }
        input.labels.push(label(1, "r1", "e", 2));
        let split = by_guideline_version(project.schema(), Level::Nominal, &input);
        assert!(split[0].krippendorff_alpha.is_some());
        assert_eq!(split[1].krippendorff_alpha, None);
        assert_eq!(
            split[1].krippendorff_alpha_reason.as_deref(),
            Some("\"e\" is not one of the project's categories")
        );
    }
}
