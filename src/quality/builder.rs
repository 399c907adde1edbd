//! Collects labels, gold values, rater pools and item metadata, then interns and sorts them
//! into a [`Dataset`].

use std::collections::HashMap;

use super::dataset::{Categories, Dataset, DatasetError, Interner, Label, LabelInput, LabelTime};

#[derive(Debug, Clone, Copy)]
struct RawLabel {
    item: u32,
    rater: u32,
    value: u32,
    duration_ms: Option<u32>,
    sequence: Option<i64>,
    order: u32,
}

/// An item's name as a builder holds it ([`DatasetBuilder::item_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemKey(u32);

/// A rater's name as a builder holds it ([`DatasetBuilder::rater_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RaterKey(u32);

/// A category's name as a builder holds it ([`DatasetBuilder::value_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueKey(u32);

/// A label by the keys its builder gave its names.
#[derive(Debug, Clone, Copy)]
pub struct KeyedLabel {
    pub item: ItemKey,
    pub rater: RaterKey,
    pub value: ValueKey,
    pub duration_ms: Option<u32>,
    pub sequence: Option<i64>,
}

/// `text` trimmed, unless that leaves nothing.
fn non_empty(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|text| !text.is_empty())
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
        let (item, rater, value) = (
            self.items.intern(item),
            self.raters.intern(rater),
            self.values.intern(value),
        );
        self.push(item, rater, value, label.duration_ms, label.sequence);
        self
    }

    /// The key of item `name` (trimmed), added if new; `None` for an empty name.
    pub fn item_key(&mut self, name: &str) -> Option<ItemKey> {
        Some(ItemKey(self.items.intern(non_empty(name)?)))
    }

    /// The key of rater `name` (trimmed), added if new; `None` for an empty name.
    pub fn rater_key(&mut self, name: &str) -> Option<RaterKey> {
        Some(RaterKey(self.raters.intern(non_empty(name)?)))
    }

    /// The key of category `name` (trimmed), added if new; `None` for an empty name.
    pub fn value_key(&mut self, name: &str) -> Option<ValueKey> {
        Some(ValueKey(self.values.intern(non_empty(name)?)))
    }

    /// Add one label by the keys of its item, rater and value, as [`DatasetBuilder::add`]
    /// would add it by their names: for many labels that share names, each found once.
    pub fn add_by_keys(&mut self, label: KeyedLabel) -> &mut Self {
        let KeyedLabel {
            item: ItemKey(item),
            rater: RaterKey(rater),
            value: ValueKey(value),
            duration_ms,
            sequence,
        } = label;
        self.push(item, rater, value, duration_ms, sequence);
        self
    }

    fn push(
        &mut self,
        item: u32,
        rater: u32,
        value: u32,
        duration_ms: Option<u32>,
        sequence: Option<i64>,
    ) {
        let order = self.raw.len() as u32;
        self.raw.push(RawLabel {
            item,
            rater,
            value,
            duration_ms,
            sequence,
            order,
        });
    }

    /// Add what `later` holds as if it had been added here after what this holds: its
    /// labels come after these (so a repeat in it wins over a label here of the same
    /// sequence or none), and a name first seen in it gets the next index, in the order
    /// `later` saw them.
    pub fn append(&mut self, later: DatasetBuilder) -> &mut Self {
        let items = self.items.intern_all(later.items.into_names());
        let raters = self.raters.intern_all(later.raters.into_names());
        let values = self.values.intern_all(later.values.into_names());
        let first = self.raw.len() as u32;
        self.raw.extend(later.raw.into_iter().map(|label| RawLabel {
            item: items[label.item as usize],
            rater: raters[label.rater as usize],
            value: values[label.value as usize],
            order: first + label.order,
            ..label
        }));
        self.gold.extend(later.gold);
        self.pools.extend(later.pools);
        self.meta.extend(later.meta);
        self.categories = self.categories.take().or(later.categories);
        self.empty_field = self.empty_field.or(later.empty_field);
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
        let categories = match &self.categories {
            Some(categories) => categories.clone(),
            None => Categories::inferred(
                self.values
                    .names()
                    .iter()
                    .map(String::as_str)
                    .chain(self.gold.iter().map(|(_, v)| v.as_str())),
            ),
        };
        let value_map = map_values(self.values.names(), &categories, &self.raw, &self.items)?;
        let (labels, label_times, repeats) = dedup_labels(self.raw, &value_map);
        let (items, raters) = (self.items, self.raters);
        let (item_count, rater_count) = (items.len(), raters.len());
        let mut gold = vec![None; item_count];
        let gold_unmatched = resolve_gold(&self.gold, |n| items.get(n), &categories, &mut gold)?;
        let (mut pools, mut rater_pool) = (Interner::default(), vec![None; rater_count]);
        let pools_unmatched =
            resolve_pools(&self.pools, |r| raters.get(r), &mut pools, &mut rater_pool);
        let mut item_meta = HashMap::new();
        let meta_unmatched = resolve_meta(self.meta, |i| items.get(i), item_count, &mut item_meta);
        let dropped = Dropped {
            repeats,
            gold: gold_unmatched,
            pools: pools_unmatched,
            meta: meta_unmatched,
        };
        let item_start = offsets(labels.iter().map(|l| l.item as usize), item_count);
        let (rater_start, rater_labels) = rater_index(&labels, rater_count);
        Ok(Dataset {
            items: items.into_names(),
            raters: raters.into_names(),
            categories,
            labels,
            label_times,
            item_start,
            rater_start,
            rater_labels,
            gold,
            rater_pool,
            pools: pools.into_names(),
            item_meta,
            notes: dropped.notes(),
            dropped,
        })
    }

    /// The dataset that one build of `earlier`'s labels and then these would make, made by
    /// continuing `earlier` instead of interning and sorting its labels again. `None` when
    /// that cannot be told from `earlier` alone: an item of these labels is one `earlier`
    /// holds, the categories are inferred or differ, or `earlier` left out gold, pool or
    /// metadata rows that these labels' items and raters might match.
    pub fn build_after(self, mut earlier: Dataset) -> Result<Option<Dataset>, DatasetError> {
        if let Some(field) = self.empty_field {
            return Err(DatasetError::EmptyField(field));
        }
        let Some(categories) = &self.categories else {
            return Ok(None);
        };
        if *categories != earlier.categories || earlier.dropped.unmatched() > 0 {
            return Ok(None);
        }
        let held_items = index_of_names(&earlier.items);
        if self
            .items
            .names()
            .iter()
            .any(|name| held_items.contains_key(name.as_str()))
        {
            return Ok(None);
        }
        let value_map = map_values(self.values.names(), categories, &self.raw, &self.items)?;
        // A rater new to `earlier` comes after its raters, in the order first seen here, as
        // in a build of all; the labels of an item are sorted by these indexes.
        let held_raters = index_of_names(&earlier.raters);
        let mut new_raters = Vec::new();
        let rater_map: Vec<u32> = (self.raters.names().iter())
            .map(|name| match held_raters.get(name.as_str()) {
                Some(&held) => held,
                None => {
                    new_raters.push(name.clone());
                    (earlier.raters.len() + new_raters.len() - 1) as u32
                }
            })
            .collect();
        let first_item = earlier.items.len() as u32;
        let mut raw = self.raw;
        for label in &mut raw {
            label.item += first_item;
            label.rater = rater_map[label.rater as usize];
        }
        let (labels, label_times, repeats) = dedup_labels(raw, &value_map);
        let item_count = earlier.items.len() + self.items.len();
        let rater_count = earlier.raters.len() + new_raters.len();
        let item = |name: &str| {
            (self.items.get(name).map(|index| index + first_item))
                .or_else(|| held_items.get(name).copied())
        };
        let rater = |name: &str| {
            (self.raters.get(name).map(|index| rater_map[index as usize]))
                .or_else(|| held_raters.get(name).copied())
        };
        earlier.gold.resize(item_count, None);
        let gold_unmatched = resolve_gold(&self.gold, item, categories, &mut earlier.gold)?;
        let mut pools = Interner::from_names(std::mem::take(&mut earlier.pools));
        earlier.rater_pool.resize(rater_count, None);
        let pools_unmatched =
            resolve_pools(&self.pools, rater, &mut pools, &mut earlier.rater_pool);
        for values in earlier.item_meta.values_mut() {
            values.resize(item_count, None);
        }
        let meta_unmatched = resolve_meta(self.meta, item, item_count, &mut earlier.item_meta);
        drop((held_items, held_raters));

        let held_labels = earlier.labels.len() as u32;
        let new_items = self.items.len();
        let starts = offsets(
            labels.iter().map(|l| (l.item - first_item) as usize),
            new_items,
        );
        earlier
            .item_start
            .extend(starts[1..].iter().map(|start| start + held_labels));
        earlier.labels.extend(labels);
        earlier.label_times.extend(label_times);
        earlier.items.extend(self.items.into_names());
        earlier.raters.extend(new_raters);
        earlier.pools = pools.into_names();
        (earlier.rater_start, earlier.rater_labels) = rater_index(&earlier.labels, rater_count);
        earlier.dropped = Dropped {
            repeats: earlier.dropped.repeats + repeats,
            gold: gold_unmatched,
            pools: pools_unmatched,
            meta: meta_unmatched,
        };
        earlier.notes = earlier.dropped.notes();
        Ok(Some(earlier))
    }
}

impl DatasetBuilder {
    /// [`DatasetBuilder::build_after`] on `earlier` cut back to its first `keep` items,
    /// these labels being those of the items cut away and any after them: what one build of
    /// all the labels makes (a rater's pool and an item's gold answer and metadata
    /// included, when these rows give those of their own items and raters). `None` also
    /// when the cut cannot be told from `earlier` alone: it dropped repeats or rows naming
    /// nothing, or a rater first seen on an item cut away labelled a kept item after it
    /// (labels that did not come item by item).
    pub fn build_after_first(
        self,
        earlier: Dataset,
        keep: usize,
    ) -> Result<Option<Dataset>, DatasetError> {
        match earlier.cut_back_to(keep) {
            Some(cut) => self.build_after(cut),
            None => Ok(None),
        }
    }
}

impl Dataset {
    /// The dataset cut back to its first `keep` items (see
    /// [`DatasetBuilder::build_after_first`]). Its labels by rater are left as they were:
    /// the continuation indexes them anew.
    fn cut_back_to(mut self, keep: usize) -> Option<Dataset> {
        if keep >= self.items.len() {
            return (keep == self.items.len()).then_some(self);
        }
        if self.dropped != Dropped::default() {
            return None;
        }
        let labels = *self.item_start.get(keep)? as usize;
        self.labels.truncate(labels);
        self.label_times.truncate(labels);
        self.item_start.truncate(keep + 1);
        self.items.truncate(keep);
        self.gold.truncate(keep);
        self.item_meta.retain(|_, values| {
            values.truncate(keep);
            values.iter().any(Option::is_some)
        });
        // Raters are indexed as first seen: when the kept items' labels came first, their
        // raters are the first ones.
        let mut seen = vec![false; self.raters.len()];
        for label in &self.labels {
            seen[label.rater as usize] = true;
        }
        let raters = seen.iter().take_while(|&&seen| seen).count();
        if seen[raters..].contains(&true) {
            return None;
        }
        self.raters.truncate(raters);
        self.rater_pool.truncate(raters);
        Some(self)
    }
}

/// What a build left out, counted; the dataset's notes say it in words.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Dropped {
    /// Labels of a rater on an item that a later one replaced.
    repeats: usize,
    /// Gold, pool and metadata rows that name no item or rater with labels.
    gold: usize,
    pools: usize,
    meta: usize,
}

impl Dropped {
    fn unmatched(&self) -> usize {
        self.gold + self.pools + self.meta
    }

    fn notes(&self) -> Vec<String> {
        let notes = [
            (
                self.repeats,
                "repeated (item, rater) labels were dropped; the later label was kept",
            ),
            (
                self.gold,
                "gold values name items without labels and were ignored",
            ),
            (
                self.pools,
                "pool assignments name raters without labels and were ignored",
            ),
            (
                self.meta,
                "metadata values name items without labels and were ignored",
            ),
        ];
        (notes.into_iter())
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| format!("{count} {what}"))
            .collect()
    }
}

/// Each name's index.
fn index_of_names(names: &[String]) -> foldhash::HashMap<&str, u32> {
    (0u32..)
        .zip(names)
        .map(|(i, name)| (name.as_str(), i))
        .collect()
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

/// The labels sorted by item, then rater, with one label kept of a rater's several on an
/// item, and their times; and how many were dropped.
fn dedup_labels(mut raw: Vec<RawLabel>, value_map: &[u32]) -> (Vec<Label>, Vec<LabelTime>, usize) {
    // Labels read from a database or a file usually come item by item: then sorting each
    // item's few labels gives the same order at a fraction of sorting them all.
    if raw.is_sorted_by_key(|l| l.item) {
        raw.chunk_by_mut(|a, b| a.item == b.item)
            .for_each(|item| item.sort_unstable_by_key(|l| (l.rater, l.order)));
    } else {
        raw.sort_unstable_by_key(|l| (l.item, l.rater, l.order));
    }
    let mut labels: Vec<Label> = Vec::with_capacity(raw.len());
    let mut times: Vec<LabelTime> = Vec::with_capacity(raw.len());
    let mut keep = |raw: RawLabel| {
        labels.push(Label {
            item: raw.item,
            rater: raw.rater,
            value: value_map[raw.value as usize],
        });
        times.push(LabelTime {
            duration_ms: raw.duration_ms,
            sequence: raw.sequence,
        });
    };
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
                    keep(prev);
                }
            }
        }
    }
    if let Some(prev) = kept {
        keep(prev);
    }
    (labels, times, dropped)
}

/// Sets each row's gold value on its item, the last row of an item winning; returns how
/// many rows name no item.
fn resolve_gold(
    rows: &[(String, String)],
    item: impl Fn(&str) -> Option<u32>,
    categories: &Categories,
    gold: &mut [Option<u32>],
) -> Result<usize, DatasetError> {
    let mut unmatched = 0usize;
    for (name, value) in rows {
        let category = categories
            .index_of(value)
            .ok_or_else(|| DatasetError::UnknownCategory {
                item: name.clone(),
                value: value.clone(),
            })?;
        match item(name) {
            Some(index) => gold[index as usize] = Some(category),
            None => unmatched += 1,
        }
    }
    Ok(unmatched)
}

/// Puts each row's rater in its pool, the last row of a rater winning; returns how many
/// rows name no rater.
fn resolve_pools(
    rows: &[(String, String)],
    rater: impl Fn(&str) -> Option<u32>,
    pools: &mut Interner,
    rater_pool: &mut [Option<u32>],
) -> usize {
    let mut unmatched = 0usize;
    for (name, pool) in rows {
        match rater(name) {
            Some(index) if !pool.is_empty() => {
                rater_pool[index as usize] = Some(pools.intern(pool))
            }
            Some(_) => {}
            None => unmatched += 1,
        }
    }
    unmatched
}

/// Sets each row's metadata value on its item; returns how many rows name no item. A
/// field's values are as many as `item_count`.
fn resolve_meta(
    rows: Vec<(String, String, String)>,
    item: impl Fn(&str) -> Option<u32>,
    item_count: usize,
    meta: &mut HashMap<String, Vec<Option<String>>>,
) -> usize {
    let mut unmatched = 0usize;
    for (name, field, value) in rows {
        match item(&name) {
            Some(index) => {
                let values = meta.entry(field).or_insert_with(|| vec![None; item_count]);
                values[index as usize] = Some(value);
            }
            None => unmatched += 1,
        }
    }
    unmatched
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

    /// One random project's labels with gold, pool and metadata rows, as a build takes them.
    #[derive(Clone)]
    struct Rows {
        labels: Vec<(String, String, &'static str, i64)>,
        gold: Vec<(String, &'static str)>,
        pools: Vec<(String, &'static str)>,
        meta: Vec<(String, &'static str)>,
    }

    const VALUES: [&str; 3] = ["neg", "neu", "pos"];

    impl Rows {
        /// Labels on `items` items from `first_item` on, by raters among `raters`, item by
        /// item; a rater now and then labels an item twice.
        fn random(
            next: &mut impl FnMut(u64) -> u64,
            first_item: u64,
            items: u64,
            raters: u64,
        ) -> Rows {
            let mut rows = Rows {
                labels: Vec::new(),
                gold: Vec::new(),
                pools: Vec::new(),
                meta: Vec::new(),
            };
            for item in first_item..first_item + items {
                let name = format!("i{item}");
                for _ in 0..1 + next(4) {
                    let rater = format!("r{}", next(raters));
                    let value = VALUES[next(3) as usize];
                    rows.labels
                        .push((name.clone(), rater.clone(), value, next(1_000) as i64));
                    if next(5) == 0 {
                        let pool = ["generalist", "expert", "vendor"][next(3) as usize];
                        rows.pools.push((rater, pool));
                    }
                }
                if next(4) == 0 {
                    rows.gold.push((name.clone(), VALUES[next(3) as usize]));
                }
                if next(3) == 0 {
                    rows.meta.push((name, ["north", "south"][next(2) as usize]));
                }
            }
            rows
        }

        fn add_to(&self, builder: &mut DatasetBuilder) {
            for (item, rater, value, sequence) in &self.labels {
                builder.add(LabelInput {
                    item,
                    rater,
                    value,
                    duration_ms: Some(*sequence as u32),
                    sequence: Some(*sequence),
                });
            }
            for (item, value) in &self.gold {
                builder.add_gold(item, value);
            }
            for (rater, pool) in &self.pools {
                builder.set_rater_pool(rater, pool);
            }
            for (item, value) in &self.meta {
                builder.set_item_meta(item, "region", value);
            }
        }
    }

    /// A seeded source of random numbers below a bound.
    fn draws(seed: u64) -> impl FnMut(u64) -> u64 {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        move |below: u64| rng.gen_range(0..below)
    }

    fn builder_of(rows: &[&Rows]) -> DatasetBuilder {
        let mut builder = DatasetBuilder::new();
        let categories = Categories::ordered(VALUES).expect("categories");
        builder.categories(categories);
        rows.iter().for_each(|rows| rows.add_to(&mut builder));
        builder
    }

    #[test]
    fn labels_added_by_keys_make_the_dataset_their_names_make() {
        let mut next = draws(11);
        for _ in 0..50 {
            let items = 1 + next(40);
            let rows = Rows::random(&mut next, 0, items, 7);
            let mut by_keys = DatasetBuilder::new();
            by_keys.categories(Categories::ordered(VALUES).expect("categories"));
            for (item, rater, value, sequence) in &rows.labels {
                let label = KeyedLabel {
                    item: by_keys.item_key(item).expect("an item"),
                    rater: by_keys.rater_key(&format!(" {rater}")).expect("a rater"),
                    value: by_keys.value_key(value).expect("a value"),
                    duration_ms: Some(*sequence as u32),
                    sequence: Some(*sequence),
                };
                by_keys.add_by_keys(label);
            }
            // Gold, pools and metadata as the names' builder gets them: only the labels
            // come by keys.
            let side = Rows {
                labels: Vec::new(),
                ..rows.clone()
            };
            side.add_to(&mut by_keys);
            let by_names = builder_of(&[&rows]).build().expect("dataset");
            let by_keys = by_keys.build().expect("dataset");
            assert_eq!(named(&by_keys), named(&by_names));
            assert_eq!(by_keys.raters, by_names.raters);
            assert_eq!(by_keys.label_times, by_names.label_times);
        }
        let mut empty = DatasetBuilder::new();
        assert_eq!(empty.rater_key("  "), None);
        assert_eq!(empty.item_key(""), None);
    }

    /// A dataset continued with labels on new items is the dataset one build of all the
    /// labels makes, field for field: new raters after the held ones, each item's labels
    /// by rater, repeats dropped and counted, pools changed by later rows, gold and
    /// metadata on old and new items alike.
    #[test]
    fn a_dataset_continued_with_new_items_is_the_one_a_build_of_all_makes() {
        let mut next = draws(7);
        for round in 0..300 {
            let held_items = next(30);
            let held = Rows::random(&mut next, 0, held_items, 6);
            let later_items = 1 + next(10);
            let mut later = Rows::random(&mut next, held_items, later_items, 9);
            // Later rows about held items and raters, and about none.
            later
                .gold
                .push((format!("i{}", next(held_items + 1)), VALUES[0]));
            later.pools.push((format!("r{}", next(7)), "expert"));
            later.meta.push(("nowhere".into(), "north"));
            let all = builder_of(&[&held, &later]).build().expect("all");
            let earlier = builder_of(&[&held]).build().expect("held");
            let continued = builder_of(&[&later])
                .build_after(earlier)
                .expect("continued");
            assert_eq!(continued.as_ref(), Some(&all), "round {round}");
        }
    }

    /// A dataset cut back to its first items and continued with the labels of the items
    /// cut away and of new ones is the dataset one build of all the labels makes, field
    /// for field, wherever the cut falls (none kept, all kept, any between); a cut where a
    /// rater of the items cut away labelled a kept item later is refused.
    #[test]
    fn a_dataset_cut_back_and_continued_is_the_one_a_build_of_all_makes() -> Result<(), DatasetError>
    {
        let mut next = draws(5);
        let mut cuts = 0;
        for round in 0..300 {
            // Item by item, each with its own rows, without repeats.
            let items = 1 + next(30);
            let by_item: Vec<Rows> = (0..items)
                .map(|item| {
                    let mut rows = Rows::random(&mut next, item, 1, 8);
                    let mut raters = std::collections::HashSet::new();
                    rows.labels.retain(|label| raters.insert(label.1.clone()));
                    rows
                })
                .collect();
            let all = by_item.iter().collect::<Vec<_>>();
            let whole = builder_of(&all).build()?;
            let keep = next(items + 1) as usize;
            cuts += usize::from(keep < whole.item_count());
            let cut = whole.clone().cut_back_to(keep).map(|cut| cut.item_count());
            assert_eq!(
                cut,
                Some(keep),
                "round {round}: item by item, cut at {keep}"
            );
            let continued = builder_of(&all[keep..]).build_after_first(whole.clone(), keep)?;
            assert_eq!(
                continued.as_ref(),
                Some(&whole),
                "round {round}, kept {keep}"
            );
        }
        assert!(cuts > 200, "{cuts} rounds cut some items away");

        // The kept i2's labels did not come first: its rater r5 came after r9 of i1,
        // which is cut away, so a build of i2's labels alone would number r5 otherwise.
        let interleaved = build(&[
            ("i2", "r1", "pos", 1),
            ("i1", "r9", "neg", 2),
            ("i2", "r5", "pos", 3),
        ]);
        assert_eq!(interleaved.items, ["i2", "i1"]);
        assert_eq!(interleaved.raters, ["r1", "r9", "r5"]);
        assert!(interleaved.clone().cut_back_to(1).is_none());
        assert!(interleaved.cut_back_to(3).is_none(), "more items than held");
        Ok(())
    }

    /// An item given new values and times by the raters it had, in the same order, is
    /// what one build of all the labels makes of it, field for field; labels by another
    /// rater, or with a value outside the categories, change nothing.
    #[test]
    fn a_relabelled_item_is_the_one_a_build_of_all_makes() {
        let mut next = draws(11);
        let mut relabelled = 0;
        for round in 0..300 {
            let items = 1 + next(30);
            let rows = Rows::random(&mut next, 0, items, 6);
            let mut data = builder_of(&[&rows]).build().expect("held");
            let target = format!("i{}", next(items));
            let mut edited = rows.clone();
            for label in edited.labels.iter_mut().filter(|l| l.0 == target) {
                label.2 = VALUES[next(3) as usize];
                label.3 = next(1_000) as i64;
            }
            let all = builder_of(&[&edited]).build().expect("all");
            let position = data
                .items()
                .iter()
                .position(|i| *i == target)
                .expect("item");
            let given: Vec<LabelInput> = (edited.labels.iter())
                .filter(|l| l.0 == target)
                .map(|(item, rater, value, sequence)| LabelInput {
                    item,
                    rater,
                    value,
                    duration_ms: Some(*sequence as u32),
                    sequence: Some(*sequence),
                })
                .collect();
            let before = data.clone();
            let expected = if data.relabel_item(position, &given) {
                relabelled += 1;
                all
            } else {
                let mut raters: Vec<&str> = given.iter().map(|l| l.rater).collect();
                raters.sort();
                raters.dedup();
                assert!(
                    raters.len() < given.len(),
                    "round {round}: refused, yet no rater twice"
                );
                before
            };
            assert_eq!(data, expected, "round {round}");
            let mut stranger = given.clone();
            stranger[0].rater = "someone else";
            let mut outside = given.clone();
            outside[0].value = "maybe";
            let mut twice = given.clone();
            twice.push(given[0]);
            for refused in [&stranger[..], &outside[..], &twice[..]] {
                assert!(!data.relabel_item(position, refused), "round {round}");
            }
            assert_eq!(data, expected, "round {round}: refusals change nothing");
        }
        assert!(relabelled > 150, "{relabelled} of 300 relabelled");
    }

    /// Where the result cannot be told from the held dataset, nothing is continued.
    #[test]
    fn a_dataset_is_not_continued_where_a_build_of_all_could_differ() {
        let labels = |items: &[&str]| {
            let mut builder = builder_of(&[]);
            for item in items {
                builder.add_label(item, "r1", "pos");
            }
            builder
        };
        let held = || labels(&["a", "b"]).build().expect("held");
        assert_eq!(
            labels(&["c"]).build_after(held()).map(|d| d.is_some()),
            Ok(true)
        );
        assert_eq!(
            labels(&["c", "b"]).build_after(held()),
            Ok(None),
            "b is held"
        );
        let mut inferred = DatasetBuilder::new();
        inferred.add_label("c", "r1", "pos");
        assert_eq!(
            inferred.build_after(held()),
            Ok(None),
            "categories inferred"
        );
        let mut unmatched = labels(&["a"]);
        unmatched.add_gold("c", "pos");
        let unmatched = unmatched.build().expect("held");
        assert_eq!(unmatched.notes().len(), 1, "{:?}", unmatched.notes());
        assert_eq!(
            labels(&["c"]).build_after(unmatched),
            Ok(None),
            "the gold row left out would now match"
        );
        let mut wrong = labels(&["c"]);
        wrong.add_label("d", "r1", "maybe");
        assert!(matches!(
            wrong.build_after(held()),
            Err(DatasetError::UnknownCategory { .. })
        ));
    }
}
