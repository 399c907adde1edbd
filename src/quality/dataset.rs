//! The label matrix in long form: items, raters and category values interned to dense
//! `u32` indexes, labels sorted by item (then rater) with an index by rater.

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::hash_table::{Entry, HashTable};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Level of measurement of the label values; it decides which distances the ordered
/// analyses (alpha, weighted kappa, leniency) use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Unordered categories: two values agree or they do not.
    #[default]
    Nominal,
    /// Ordered categories: distances follow ranks (Krippendorff's ordinal metric).
    Ordinal,
    /// Numeric values with meaningful differences (ranks when values are not numbers).
    Interval,
    /// Numeric values with a meaningful zero (ranks 1..k when values are not numbers).
    Ratio,
}

impl Level {
    /// Whether categories have an order (everything but nominal).
    pub fn is_ordered(self) -> bool {
        self != Level::Nominal
    }

    /// The lower-case name used in JSON and text output.
    pub fn name(self) -> &'static str {
        match self {
            Level::Nominal => "nominal",
            Level::Ordinal => "ordinal",
            Level::Interval => "interval",
            Level::Ratio => "ratio",
        }
    }
}

/// The ordered list of category names, with their numeric values when every name parses as
/// a finite number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Categories {
    names: Vec<String>,
    numeric: Option<Vec<f64>>,
    index: HashMap<String, u32>,
}

impl Categories {
    /// Categories in the caller's order (for ordered levels this order is the scale).
    pub fn ordered<S: Into<String>>(
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self, DatasetError> {
        let mut categories = Categories::default();
        for name in names {
            let name = name.into();
            if name.trim().is_empty() {
                return Err(DatasetError::EmptyCategory);
            }
            if categories.index.contains_key(&name) {
                return Err(DatasetError::DuplicateCategory(name));
            }
            categories
                .index
                .insert(name.clone(), categories.names.len() as u32);
            categories.names.push(name);
        }
        categories.numeric = parse_all_numbers(&categories.names);
        Ok(categories)
    }

    /// Categories inferred from the values seen: sorted numerically when every value is a
    /// number, otherwise in byte order, so the result does not depend on input order.
    pub fn inferred<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut names: Vec<String> = values.into_iter().map(|v| v.as_ref().to_string()).collect();
        names.sort();
        names.dedup();
        if let Some(numbers) = parse_all_numbers(&names) {
            let mut pairs: Vec<(f64, String)> = numbers.into_iter().zip(names).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            names = pairs.into_iter().map(|(_, name)| name).collect();
        }
        // Names are unique and non-empty here, so this cannot fail; fall back to empty.
        Categories::ordered(names).unwrap_or_default()
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are no categories.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Category names in scale order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The name of category `index`.
    pub fn name(&self, index: u32) -> &str {
        self.names
            .get(index as usize)
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The index of a category name.
    pub fn index_of(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Numeric values of the categories, when all names are numbers.
    pub fn numeric_values(&self) -> Option<&[f64]> {
        self.numeric.as_deref()
    }

    /// The coordinate of each category on the scale used for distances: numeric values for
    /// interval and ratio data when names are numbers, otherwise ranks (1..k, so a ratio
    /// scale never sees a zero sum).
    pub fn scale_values(&self, level: Level) -> Vec<f64> {
        match (level, &self.numeric) {
            (Level::Interval | Level::Ratio, Some(values)) => values.clone(),
            _ => (1..=self.names.len()).map(|rank| rank as f64).collect(),
        }
    }
}

fn parse_all_numbers(names: &[String]) -> Option<Vec<f64>> {
    if names.is_empty() {
        return None;
    }
    names
        .iter()
        .map(|name| name.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect()
}

/// One label: `rater` gave category `value` to `item`. Its time spent and place in the
/// rater's session are held beside it ([`Dataset::label_time`]): almost every pass over a
/// big project's labels reads these three fields alone, and with the times inside, each
/// label was 40 bytes instead of 12.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    /// Dense item index.
    pub item: u32,
    /// Dense rater index.
    pub rater: u32,
    /// Category index into [`Dataset::categories`].
    pub value: u32,
}

/// When a label was given: the time spent on it and its place in the rater's session.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LabelTime {
    /// Milliseconds spent on the label, if recorded.
    pub duration_ms: Option<u32>,
    /// Sequence number or timestamp, for ordering a rater's labels in time.
    pub sequence: Option<i64>,
}

/// A label as given by the caller, before interning.
#[derive(Debug, Clone, Copy, Default)]
pub struct LabelInput<'a> {
    /// Item id.
    pub item: &'a str,
    /// Rater id.
    pub rater: &'a str,
    /// Category name.
    pub value: &'a str,
    /// Milliseconds spent on the label.
    pub duration_ms: Option<u32>,
    /// Sequence number or timestamp (any monotone integer).
    pub sequence: Option<i64>,
}

/// Why a dataset could not be built.
#[derive(Debug, Error, PartialEq)]
pub enum DatasetError {
    /// A label names a category that is not in the caller's ordered list.
    #[error("value {value:?} (item {item:?}) is not one of the categories given")]
    UnknownCategory { item: String, value: String },
    /// The caller's category list repeats a name.
    #[error("category {0:?} is listed twice")]
    DuplicateCategory(String),
    /// The caller's category list has an empty name.
    #[error("a category name is empty")]
    EmptyCategory,
    /// A label has an empty item, rater or value.
    #[error("a label has an empty {0}")]
    EmptyField(&'static str),
}

/// String-to-index interning, first seen first.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    /// The ids of the names, found by the names' hashes: each name is held once, in
    /// `names`, so a new one costs one allocation.
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    names: Vec<String>,
    /// The id interned last: label files list an item's labels together, so the next
    /// name is often the same and is found without hashing.
    last: u32,
}

impl Interner {
    /// An interner that holds `names`, in their order.
    pub(crate) fn from_names(names: Vec<String>) -> Self {
        let mut interner = Interner::default();
        interner.intern_all(names);
        interner
    }

    /// The names interned, by id.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn reserve(&mut self, names: usize) {
        let (hasher, held) = (&self.hasher, &self.names);
        (self.index).reserve(names, |&id| hasher.hash_one(held[id as usize].as_str()));
        self.names.reserve(names);
    }

    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if self
            .names
            .get(self.last as usize)
            .is_some_and(|last| last == name)
        {
            return self.last;
        }
        let id = self.lookup_or_add(name, str::to_string);
        self.last = id;
        id
    }

    /// Intern each of `names` in turn, keeping the strings of those new here; their ids, in
    /// the same order.
    pub(crate) fn intern_all(&mut self, names: Vec<String>) -> Vec<u32> {
        self.reserve(names.len());
        names
            .into_iter()
            .map(|name| self.lookup_or_add(name, |name| name))
            .collect()
    }

    /// The id of `name`, added (as `owned(name)`) when it is new.
    fn lookup_or_add<N: AsRef<str>>(&mut self, name: N, owned: impl FnOnce(N) -> String) -> u32 {
        let text = name.as_ref();
        let hash = self.hasher.hash_one(text);
        let (hasher, held) = (&self.hasher, &self.names);
        let entry = self.index.entry(
            hash,
            |&id| held[id as usize] == text,
            |&id| hasher.hash_one(held[id as usize].as_str()),
        );
        match entry {
            Entry::Occupied(found) => *found.get(),
            Entry::Vacant(vacant) => {
                let id = held.len() as u32;
                vacant.insert(id);
                self.names.push(owned(name));
                id
            }
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        (self.index)
            .find(hash, |&id| self.names[id as usize] == name)
            .copied()
    }

    pub(crate) fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn into_names(self) -> Vec<String> {
        self.names
    }
}

/// The interned label matrix that every analysis reads.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Dataset {
    pub(crate) items: Vec<String>,
    pub(crate) raters: Vec<String>,
    pub(crate) categories: Categories,
    pub(crate) labels: Vec<Label>,
    /// Each label's time, indexed like `labels`.
    pub(crate) label_times: Vec<LabelTime>,
    pub(crate) item_start: Vec<u32>,
    pub(crate) rater_start: Vec<u32>,
    pub(crate) rater_labels: Vec<u32>,
    pub(crate) gold: Vec<Option<u32>>,
    pub(crate) rater_pool: Vec<Option<u32>>,
    pub(crate) pools: Vec<String>,
    pub(crate) item_meta: HashMap<String, Vec<Option<String>>>,
    pub(crate) notes: Vec<String>,
    /// What the notes count, for a dataset continued with more labels.
    pub(crate) dropped: super::builder::Dropped,
}

impl Dataset {
    /// Build a dataset from `(item, rater, value)` triples with inferred categories.
    pub fn from_labels<'a>(
        labels: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<Dataset, DatasetError> {
        let mut builder = super::DatasetBuilder::new();
        for (item, rater, value) in labels {
            builder.add_label(item, rater, value);
        }
        builder.build()
    }

    /// Number of items with at least one label.
    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// Number of raters with at least one label.
    pub fn rater_count(&self) -> usize {
        self.raters.len()
    }

    /// Number of labels kept (one per item and rater).
    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    /// Item ids by index.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    /// Rater ids by index.
    pub fn raters(&self) -> &[String] {
        &self.raters
    }

    /// The category scale.
    pub fn categories(&self) -> &Categories {
        &self.categories
    }

    /// All labels, sorted by item then rater.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// The time of the label at `index` in [`Dataset::labels`].
    pub fn label_time(&self, index: usize) -> LabelTime {
        self.label_times.get(index).copied().unwrap_or_default()
    }

    /// The labels of one item.
    pub fn item_labels(&self, item: usize) -> &[Label] {
        let start = self.item_start[item] as usize;
        let end = self.item_start[item + 1] as usize;
        &self.labels[start..end]
    }

    /// Indexes into [`Dataset::labels`] of one rater's labels, in item order.
    pub fn rater_label_indexes(&self, rater: usize) -> &[u32] {
        let start = self.rater_start[rater] as usize;
        let end = self.rater_start[rater + 1] as usize;
        &self.rater_labels[start..end]
    }

    /// The gold category of an item, if any.
    pub fn gold(&self, item: usize) -> Option<u32> {
        self.gold.get(item).copied().flatten()
    }

    /// True when at least one item has a gold value.
    pub fn has_gold(&self) -> bool {
        self.gold.iter().any(Option::is_some)
    }

    /// The pool index of a rater, if any.
    pub fn pool_of(&self, rater: usize) -> Option<u32> {
        self.rater_pool.get(rater).copied().flatten()
    }

    /// Pool names by index.
    pub fn pools(&self) -> &[String] {
        &self.pools
    }

    /// Per-item values of one metadata field (`None` where an item has no value).
    pub fn item_meta(&self, field: &str) -> Option<&[Option<String>]> {
        self.item_meta.get(field).map(Vec::as_slice)
    }

    /// Notes from building (dropped duplicates, gold for unknown items ...), shown as warnings.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Gives item `item` these labels (values, times, sequences) in place of the ones it
    /// holds, when they are by the same raters, one each, and every value is a category:
    /// the dataset is then the one a build of all the labels would make with these in place
    /// of the item's, provided they came in the same order of raters as the ones they
    /// replace (the order raters are first met in decides their indexes). Returns `false`,
    /// changing nothing, otherwise.
    pub fn relabel_item(&mut self, item: usize, labels: &[LabelInput<'_>]) -> bool {
        let Some(&[start, end]) = self.item_start.get(item..item + 2) else {
            return false;
        };
        let held = start as usize..end as usize;
        if labels.len() != held.len() {
            return false;
        }
        let name = self.items[item].as_str();
        let mut relabelled = Vec::with_capacity(labels.len());
        for label in labels {
            let rater = self.raters.iter().position(|r| r == label.rater.trim());
            let value = self.categories.index_of(label.value.trim());
            let (Some(rater), Some(value)) = (rater, value) else {
                return false;
            };
            if label.item.trim() != name {
                return false;
            }
            let time = LabelTime {
                duration_ms: label.duration_ms,
                sequence: label.sequence,
            };
            let label = Label {
                item: item as u32,
                rater: rater as u32,
                value,
            };
            relabelled.push((label, time));
        }
        // An item's labels are held by rater; those held are one per rater.
        relabelled.sort_unstable_by_key(|(label, _)| label.rater);
        let same_raters = (relabelled.iter().zip(&self.labels[held.clone()]))
            .all(|((new, _), old)| new.rater == old.rater);
        if same_raters {
            for (at, (label, time)) in held.zip(relabelled) {
                self.labels[at] = label;
                self.label_times[at] = time;
            }
        }
        same_raters
    }

    /// Count of each category among an item's labels, as `(category, count)` sorted by category.
    pub(crate) fn item_value_counts(&self, item: usize, out: &mut Vec<(u32, u32)>) {
        count_values(self.item_labels(item).iter().map(|label| label.value), out);
    }
}

/// How often each value comes up, as `(value, count)` in value order, into `out`.
pub(crate) fn count_values(values: impl IntoIterator<Item = u32>, out: &mut Vec<(u32, u32)>) {
    out.clear();
    for value in values {
        match out.iter_mut().find(|(seen, _)| *seen == value) {
            Some(entry) => entry.1 += 1,
            None => out.push((value, 1)),
        }
    }
    out.sort_unstable_by_key(|&(value, _)| value);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every analysis passes over the labels, many of them more than once: a label stays
    /// three indexes, its times beside it.
    #[test]
    fn a_label_is_three_indexes_and_its_time_is_kept_beside_it() {
        assert_eq!(std::mem::size_of::<Label>(), 12);
        let mut builder = crate::quality::DatasetBuilder::new();
        for (item, rater, value, sequence) in [("b", "r1", "x", 3), ("a", "r2", "y", 1)] {
            builder.add(LabelInput {
                item,
                rater,
                value,
                duration_ms: Some(100 * sequence as u32),
                sequence: Some(sequence),
            });
        }
        let data = builder.build().expect("dataset");
        for (index, label) in data.labels().iter().enumerate() {
            let sequence = if data.items()[label.item as usize] == "b" {
                3
            } else {
                1
            };
            let expected = LabelTime {
                duration_ms: Some(100 * sequence as u32),
                sequence: Some(sequence),
            };
            assert_eq!(data.label_time(index), expected);
        }
        assert_eq!(data.label_time(2), LabelTime::default());
    }

    #[test]
    fn names_get_ids_first_seen_first_however_they_come_in() {
        let mut one = Interner::default();
        let names: Vec<String> = (0..5_000).map(|n| format!("name-{}", n % 3_000)).collect();
        let ids: Vec<u32> = names.iter().map(|name| one.intern(name)).collect();
        assert_eq!(one.len(), 3_000);
        assert_eq!(ids[4_999], 1_999, "a name seen again keeps its id");
        assert_eq!(one.get("name-2999"), Some(2_999));
        assert_eq!(one.get("name-3000"), None);
        assert_eq!(one.name(7), Some("name-7"));

        let mut halves = Interner::from_names(names[..2_500].to_vec());
        assert_eq!(halves.len(), 2_500);
        let later = halves.intern_all(names[2_500..].to_vec());
        assert_eq!(later, ids[2_500..].to_vec());
        assert_eq!(halves.names(), one.names());
        assert_eq!(halves.get("name-1234"), Some(1_234));
    }
}
