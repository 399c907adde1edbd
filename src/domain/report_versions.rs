//! Agreement split by guideline version: every label records the version of the
//! instructions it was given under, so the report can say whether a clarification helped.
//! Within each version, labels of the same item are compared with each other (never with
//! labels given under another version), and gold answers are checked under the kind's rule.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use super::kinds::{from_stored, Schema, StoredCategories};
use super::report::{KeysByAddress, LabelRecord, ReportInput};
use crate::quality::{AlphaUnits, Categories, Interner, Level};

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
    let scale = Categories::ordered(schema.categories()).map_err(|e| e.to_string());
    let readings = Readings::of(schema, scale.as_ref().ok(), labels);
    let mut raters = RaterIds::default();
    let rater_of: Vec<u32> = labels.iter().map(|l| raters.of(&l.rater)).collect();
    // Label indices by item id, each item's in the labels' order (a stable sort; the
    // labels mostly arrive by item already, and then need none).
    let mut by_item: Vec<usize> = (0..labels.len()).collect();
    if !labels.is_sorted_by_key(|label| label.item_id) {
        by_item.sort_by_key(|&index| labels[index].item_id);
    }
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
            match alpha(level, &scale, &rater_of, categories, &items) {
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
    VersionAgreement {
        version,
        labels: labels.len(),
        raters: raters.count(),
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

/// A small number for each rater's pseudonym, the same for the same name: interned by its
/// text the first time its string's address is met.
#[derive(Default)]
struct RaterIds<'a> {
    by_address: KeysByAddress<'a, u32>,
    names: Interner,
}

impl<'a> RaterIds<'a> {
    fn of(&mut self, name: &'a str) -> u32 {
        let names = &mut self.names;
        self.by_address.get_or(name, |name| names.intern(name))
    }

    /// How many names there are.
    fn count(&self) -> usize {
        self.names.len()
    }
}

/// Each label read once, in the labels' order: its category for choices and ratings, its
/// value for the other kinds.
enum Readings {
    Categories(CategoryReadings),
    Values(Vec<Value>),
}

/// Each label's category as a number (none where its value is not a category reading):
/// the project's categories are numbered as on their scale, any other category after them.
struct CategoryReadings {
    of_label: Vec<Option<u32>>,
    /// Each number's category.
    names: Vec<Rc<str>>,
    /// How many of them are the project's (on its scale).
    on_scale: usize,
}

impl CategoryReadings {
    fn of<'a>(schema: Schema<'a>, scale: Option<&Categories>, labels: &[&'a LabelRecord]) -> Self {
        let names: Vec<Rc<str>> = scale.map_or_else(Vec::new, |scale| {
            (0..scale.len())
                .map(|index| Rc::from(scale.name(index as u32)))
                .collect()
        });
        let mut readings = CategoryReadings {
            of_label: Vec::with_capacity(labels.len()),
            on_scale: names.len(),
            names,
        };
        // The stored values' categories are found by address first, and the same
        // category comes back as the same string.
        let mut categories = StoredCategories::new(schema);
        for label in labels {
            let value: &'a str = &label.value;
            let number = categories.of(value).map(|name| readings.number_of(name));
            readings.of_label.push(number);
        }
        readings
    }

    /// The number of category `name`, which takes the place of the equal string held, so
    /// that the next label of the same stored value finds it by address.
    fn number_of(&mut self, name: Rc<str>) -> u32 {
        let found =
            (self.names.iter()).position(|known| Rc::ptr_eq(known, &name) || *known == name);
        let index = match found {
            Some(index) => {
                self.names[index] = name;
                index
            }
            None => {
                self.names.push(name);
                self.names.len() - 1
            }
        };
        u32::try_from(index).unwrap_or(u32::MAX)
    }
}

impl Readings {
    fn of<'a>(
        schema: Schema<'a>,
        scale: Option<&Categories>,
        labels: &[&'a LabelRecord],
    ) -> Readings {
        if schema.kind.is_categorical() {
            Readings::Categories(CategoryReadings::of(schema, scale, labels))
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
            let of = &categories.of_label;
            of[i].is_some() && of[i] == of[j]
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
/// label's rater and category and the labels of each item (`items`, indices into them,
/// each item's in the labels' order). A rater's later label on an item replaces an
/// earlier one.
fn alpha(
    level: Level,
    scale: &Result<Categories, String>,
    raters: &[u32],
    categories: &CategoryReadings,
    items: &[&[usize]],
) -> Result<f64, String> {
    let scale = scale.as_ref().map_err(Clone::clone)?;
    let mut units = AlphaUnits::new(scale.len());
    let mut by_rater: Vec<(u32, u32)> = Vec::new();
    let mut added = 0usize;
    for indices in items {
        by_rater.clear();
        for &index in *indices {
            let Some(category) = categories.of_label[index] else {
                continue;
            };
            if category as usize >= categories.on_scale {
                let name = &categories.names[category as usize];
                return Err(format!("{name:?} is not one of the project's categories"));
            }
            by_rater.push((raters[index], category));
        }
        added += by_rater.len();
        units.add(latest_of_each_rater(&mut by_rater));
    }
    if added == 0 {
        return Err("no labels under this version".into());
    }
    units.alpha(scale, level)
}

/// The category of each rater's last label among an item's `(rater, category)` pairs,
/// given in the labels' order.
fn latest_of_each_rater(by_rater: &mut [(u32, u32)]) -> impl Iterator<Item = u32> + '_ {
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
    use crate::domain::report::SharedText;

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

    /// Random labels over four categories and three versions, with an item or two holding
    /// a value outside the categories when `stray` is set.
    fn random_input(seed: u64, stray: bool) -> ReportInput {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut input = ReportInput::default();
        for item in 0..300 {
            for _ in 0..rng.gen_range(1..6) {
                let rater = format!("r{}", rng.gen_range(0..9));
                let value = match rng.gen_range(0..40) {
                    0 if stray => "e",
                    n => ["a", "b", "c", "d"][n % 4],
                };
                let mut record = label(item, &rater, value, rng.gen_range(1..4));
                record.created_at = input.labels.len() as i64;
                input.labels.push(record);
            }
        }
        input
    }

    fn four_categories() -> Project {
        Project::from_spec(
            1,
            NewProject::simple("p", &["a", "b", "c", "d"], 3, "")
                .validate()
                .unwrap(),
        )
    }

    /// A read shares each rater's pseudonym and each stored value between the labels that
    /// name it, in one copy per half of the read: the split counts and measures by the
    /// text, so labels sharing copies, or each holding its own, give the same figures.
    #[test]
    fn shared_names_and_values_are_counted_by_their_text() {
        let project = four_categories();
        for (seed, stray) in [(1, false), (2, true), (3, false)] {
            let own = random_input(seed, stray);
            let mut shared = own.clone();
            let mut copies: std::collections::HashMap<(String, bool), SharedText> =
                Default::default();
            let half = shared.labels.len() / 2;
            for (n, label) in shared.labels.iter_mut().enumerate() {
                for text in [&mut label.rater, &mut label.value] {
                    let key = (text.to_string(), n < half);
                    *text = copies.entry(key).or_insert_with(|| text.clone()).clone();
                }
            }
            assert!(SharedText::ptr_eq(
                &shared.labels[0].rater,
                &(shared.labels[..half].iter())
                    .find(|l| l.rater == shared.labels[0].rater && l.item_id > 0)
                    .unwrap()
                    .rater
            ));
            for level in [Level::Nominal, Level::Ordinal] {
                let expected = by_guideline_version(project.schema(), level, &own);
                assert_eq!(
                    by_guideline_version(project.schema(), level, &shared),
                    expected
                );
                assert!(expected.iter().all(|v| v.raters == 9), "{expected:?}");
                if stray {
                    assert!(expected.iter().any(|v| v.krippendorff_alpha.is_none()));
                }
            }
        }
    }

    /// Labels of different items interleaved are split as they would be with each item's
    /// labels together (in the order given).
    #[test]
    fn labels_out_of_item_order_are_measured_as_in_item_order() {
        let project = four_categories();
        let in_order = random_input(4, false);
        let mut by_position: Vec<(usize, &LabelRecord)> = Vec::new();
        let mut seen: std::collections::HashMap<i64, usize> = Default::default();
        for label in &in_order.labels {
            let nth = seen.entry(label.item_id).or_default();
            by_position.push((*nth, label));
            *nth += 1;
        }
        // The first label of every item, then the second of every item, and so on.
        by_position.sort_by_key(|(nth, _)| *nth);
        let interleaved = ReportInput {
            labels: by_position.into_iter().map(|(_, l)| l.clone()).collect(),
            ..in_order.clone()
        };
        assert!(!interleaved.labels.is_sorted_by_key(|label| label.item_id));
        for level in [Level::Nominal, Level::Ordinal] {
            assert_eq!(
                by_guideline_version(project.schema(), level, &interleaved),
                by_guideline_version(project.schema(), level, &in_order)
            );
        }
    }
}
