//! Collects labels, gold values, rater pools and item metadata, then interns and sorts them
//! into a [`Dataset`].

use std::collections::HashMap;

use super::dataset::{Categories, Dataset, DatasetError, Interner, Label, LabelInput};

#[derive(Debug, Clone, Copy)]
struct RawLabel {
    item: u32,
    rater: u32,
    value: u32,
    duration_ms: Option<u32>,
    sequence: Option<i64>,
    order: u32,
}

/// Accumulates labels and side information; [`DatasetBuilder::build`] makes the [`Dataset`].
///
/// When one rater labels one item twice, the later label wins: the one with the larger
/// sequence when both have one, otherwise the one added last. Gold values, pools and
/// metadata for items or raters without labels are ignored and counted in the notes.
#[derive(Debug, Default)]
pub struct DatasetBuilder {
    items: Interner,
    raters: Interner,
    values: Interner,
    raw: Vec<RawLabel>,
    gold: Vec<(String, String)>,
    pools: Vec<(String, String)>,
    meta: Vec<(String, String, String)>,
    categories: Option<Categories>,
    empty_field: Option<&'static str>,
}

impl DatasetBuilder {
    /// An empty builder; categories are inferred unless [`DatasetBuilder::categories`] is called.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use this ordered category list (required order for ordinal data); a label outside it
    /// makes [`DatasetBuilder::build`] fail.
    pub fn categories(&mut self, categories: Categories) -> &mut Self {
        self.categories = Some(categories);
        self
    }

    /// Make room for about `labels` labels on `items` items, so that a big dataset is
    /// not copied as it grows.
    pub fn reserve(&mut self, labels: usize, items: usize) -> &mut Self {
        self.raw.reserve(labels);
        self.items.reserve(items);
        self
    }

    /// Add one label.
    pub fn add_label(&mut self, item: &str, rater: &str, value: &str) -> &mut Self {
        self.add(LabelInput {
            item,
            rater,
            value,
            ..LabelInput::default()
        })
    }

    /// Add one label with its optional duration and sequence.
    pub fn add(&mut self, label: LabelInput<'_>) -> &mut Self {
        let item = label.item.trim();
        let rater = label.rater.trim();
        let value = label.value.trim();
        let empty = [("item", item), ("rater", rater), ("value", value)]
            .into_iter()
            .find(|(_, text)| text.is_empty());
        if let Some((field, _)) = empty {
            self.empty_field.get_or_insert(field);
            return self;
        }
        let order = self.raw.len() as u32;
        self.raw.push(RawLabel {
            item: self.items.intern(item),
            rater: self.raters.intern(rater),
            value: self.values.intern(value),
            duration_ms: label.duration_ms,
            sequence: label.sequence,
            order,
        });
        self
    }

    /// Items with labels so far; each new item's index is the next one.
    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// The name of the item at `index` (in the order items were first added).
    pub fn item_name(&self, index: usize) -> Option<&str> {
        u32::try_from(index)
            .ok()
            .and_then(|index| self.items.name(index))
    }

    /// Record the gold (known correct) value of an item.
    pub fn add_gold(&mut self, item: &str, value: &str) -> &mut Self {
        self.gold
            .push((item.trim().to_string(), value.trim().to_string()));
        self
    }

    /// Put a rater in a pool (e.g. "experts", "vendor-a").
    pub fn set_rater_pool(&mut self, rater: &str, pool: &str) -> &mut Self {
        self.pools
            .push((rater.trim().to_string(), pool.trim().to_string()));
        self
    }

    /// Attach a metadata value to an item (e.g. `source = "mobile"`), for slicing.
    pub fn set_item_meta(&mut self, item: &str, field: &str, value: &str) -> &mut Self {
        self.meta.push((
            item.trim().to_string(),
            field.to_string(),
            value.to_string(),
        ));
        self
    }

    /// Intern, deduplicate and index everything.
    pub fn build(self) -> Result<Dataset, DatasetError> {
        if let Some(field) = self.empty_field {
            return Err(DatasetError::EmptyField(field));
        }
        let value_names = self.values.into_names();
        let categories = match self.categories {
            Some(categories) => categories,
            None => Categories::inferred(
                value_names
                    .iter()
                    .map(String::as_str)
                    .chain(self.gold.iter().map(|(_, v)| v.as_str())),
            ),
        };
        let value_map = map_values(&value_names, &categories, &self.raw, &self.items)?;
        let mut notes = Vec::new();
        let labels = dedup_labels(self.raw, &value_map, &mut notes);
        let items = self.items;
        let raters = self.raters;
        let item_count = items.len();
        let rater_count = raters.len();
        let gold = resolve_gold(&self.gold, &items, &categories, item_count, &mut notes)?;
        let (rater_pool, pools) = resolve_pools(&self.pools, &raters, rater_count, &mut notes);
        let item_meta = resolve_meta(self.meta, &items, item_count, &mut notes);
        let item_start = offsets(labels.iter().map(|l| l.item as usize), item_count);
        let (rater_start, rater_labels) = rater_index(&labels, rater_count);
        Ok(Dataset {
            items: items.into_names(),
            raters: raters.into_names(),
            categories,
            labels,
            item_start,
            rater_start,
            rater_labels,
            gold,
            rater_pool,
            pools,
            item_meta,
            notes,
        })
    }
}

fn map_values(
    value_names: &[String],
    categories: &Categories,
    raw: &[RawLabel],
    items: &Interner,
) -> Result<Vec<u32>, DatasetError> {
    value_names
        .iter()
        .enumerate()
        .map(|(value_id, name)| {
            categories.index_of(name).ok_or_else(|| {
                let item = raw
                    .iter()
                    .find(|label| label.value as usize == value_id)
                    .and_then(|label| items.name(label.item))
                    .unwrap_or_default()
                    .to_string();
                DatasetError::UnknownCategory {
                    item,
                    value: name.clone(),
                }
            })
        })
        .collect()
}

fn dedup_labels(mut raw: Vec<RawLabel>, value_map: &[u32], notes: &mut Vec<String>) -> Vec<Label> {
    // Labels read from a database or a file usually come item by item: then sorting each
    // item's few labels gives the same order at a fraction of sorting them all.
    if raw.is_sorted_by_key(|l| l.item) {
        raw.chunk_by_mut(|a, b| a.item == b.item)
            .for_each(|item| item.sort_unstable_by_key(|l| (l.rater, l.order)));
    } else {
        raw.sort_unstable_by_key(|l| (l.item, l.rater, l.order));
    }
    let mut labels: Vec<Label> = Vec::with_capacity(raw.len());
    let mut kept: Option<RawLabel> = None;
    let mut dropped = 0usize;
    for label in raw {
        match kept {
            Some(prev) if prev.item == label.item && prev.rater == label.rater => {
                dropped += 1;
                if (label.sequence, label.order) >= (prev.sequence, prev.order) {
                    kept = Some(label);
                }
            }
            _ => {
                if let Some(prev) = kept.replace(label) {
                    labels.push(to_label(prev, value_map));
                }
            }
        }
    }
    if let Some(prev) = kept {
        labels.push(to_label(prev, value_map));
    }
    if dropped > 0 {
        notes.push(format!(
            "{dropped} repeated (item, rater) labels were dropped; the later label was kept"
        ));
    }
    labels
}

fn to_label(raw: RawLabel, value_map: &[u32]) -> Label {
    Label {
        item: raw.item,
        rater: raw.rater,
        value: value_map[raw.value as usize],
        duration_ms: raw.duration_ms,
        sequence: raw.sequence,
    }
}

fn resolve_gold(
    rows: &[(String, String)],
    items: &Interner,
    categories: &Categories,
    item_count: usize,
    notes: &mut Vec<String>,
) -> Result<Vec<Option<u32>>, DatasetError> {
    let mut gold = vec![None; item_count];
    let mut unknown = 0usize;
    for (item, value) in rows {
        let category = categories
            .index_of(value)
            .ok_or_else(|| DatasetError::UnknownCategory {
                item: item.clone(),
                value: value.clone(),
            })?;
        match items.get(item) {
            Some(index) => gold[index as usize] = Some(category),
            None => unknown += 1,
        }
    }
    if unknown > 0 {
        notes.push(format!(
            "{unknown} gold values name items without labels and were ignored"
        ));
    }
    Ok(gold)
}

fn resolve_pools(
    rows: &[(String, String)],
    raters: &Interner,
    rater_count: usize,
    notes: &mut Vec<String>,
) -> (Vec<Option<u32>>, Vec<String>) {
    let mut pools = Interner::default();
    let mut rater_pool = vec![None; rater_count];
    let mut unknown = 0usize;
    for (rater, pool) in rows {
        match raters.get(rater) {
            Some(index) if !pool.is_empty() => {
                rater_pool[index as usize] = Some(pools.intern(pool))
            }
            Some(_) => {}
            None => unknown += 1,
        }
    }
    if unknown > 0 {
        notes.push(format!(
            "{unknown} pool assignments name raters without labels and were ignored"
        ));
    }
    (rater_pool, pools.into_names())
}

fn resolve_meta(
    rows: Vec<(String, String, String)>,
    items: &Interner,
    item_count: usize,
    notes: &mut Vec<String>,
) -> HashMap<String, Vec<Option<String>>> {
    let mut meta: HashMap<String, Vec<Option<String>>> = HashMap::new();
    let mut unknown = 0usize;
    for (item, field, value) in rows {
        match items.get(&item) {
            Some(index) => {
                let values = meta.entry(field).or_insert_with(|| vec![None; item_count]);
                values[index as usize] = Some(value);
            }
            None => unknown += 1,
        }
    }
    if unknown > 0 {
        notes.push(format!(
            "{unknown} metadata values name items without labels and were ignored"
        ));
    }
    meta
}

/// CSR offsets for keys that are already sorted.
fn offsets(keys: impl Iterator<Item = usize>, groups: usize) -> Vec<u32> {
    let mut start = vec![0u32; groups + 1];
    for key in keys {
        start[key + 1] += 1;
    }
    for g in 0..groups {
        start[g + 1] += start[g];
    }
    start
}

fn rater_index(labels: &[Label], rater_count: usize) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0u32; rater_count + 1];
    for label in labels {
        start[label.rater as usize + 1] += 1;
    }
    for r in 0..rater_count {
        start[r + 1] += start[r];
    }
    let mut next = start.clone();
    let mut index = vec![0u32; labels.len()];
    for (position, label) in labels.iter().enumerate() {
        let slot = &mut next[label.rater as usize];
        index[*slot as usize] = position as u32;
        *slot += 1;
    }
    (start, index)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kept label as (item, rater, value) names, in the dataset's order.
    fn named(data: &Dataset) -> Vec<(String, String, String)> {
        data.labels
            .iter()
            .map(|l| {
                (
                    data.items[l.item as usize].clone(),
                    data.raters[l.rater as usize].clone(),
                    data.categories.names()[l.value as usize].clone(),
                )
            })
            .collect()
    }

    fn build(labels: &[(&str, &str, &str, i64)]) -> Dataset {
        let mut builder = DatasetBuilder::new();
        for &(item, rater, value, sequence) in labels {
            builder.add(LabelInput {
                item,
                rater,
                value,
                sequence: Some(sequence),
                ..LabelInput::default()
            });
        }
        builder.build().expect("dataset")
    }

    /// Labels that come item by item (sorted within each item only) and the same labels
    /// in any order make the same labels, each rater's later label on an item kept.
    #[test]
    fn labels_item_by_item_or_in_any_order_make_the_same_dataset() {
        let by_item = [
            ("a", "r2", "x", 1),
            ("a", "r1", "y", 2),
            ("a", "r2", "y", 3),
            ("b", "r3", "x", 4),
            ("b", "r1", "x", 5),
            ("c", "r1", "y", 6),
            ("c", "r1", "x", 7),
        ];
        let shuffled = [
            by_item[4], by_item[2], by_item[6], by_item[0], by_item[5], by_item[3], by_item[1],
        ];
        let (grouped, mixed) = (build(&by_item), build(&shuffled));
        let mut kept = named(&grouped);
        assert_eq!(
            kept.iter()
                .map(|(i, r, v)| format!("{i}{r}{v}"))
                .collect::<Vec<_>>(),
            ["ar2y", "ar1y", "br1x", "br3x", "cr1x"],
            "by item, then rater as first seen; the later label of a repeat kept"
        );
        let mut other = named(&mixed);
        kept.sort();
        other.sort();
        assert_eq!(kept, other);
        assert_eq!(grouped.notes, mixed.notes);
        assert_eq!(grouped.notes.len(), 1, "{:?}", grouped.notes);
    }
}
