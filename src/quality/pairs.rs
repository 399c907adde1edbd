//! Contingency tables for every pair of raters that labelled the same items.

use std::collections::HashMap;

use super::dataset::Dataset;

/// Above this many raters the pair index is a hash map instead of a dense triangle.
const DENSE_RATER_LIMIT: usize = 2048;

/// One k x k table (rows: the lower-indexed rater's category) per pair of raters that share
/// at least one item.
#[derive(Debug, Clone)]
pub(crate) struct PairTables {
    pub k: usize,
    /// `(rater_a, rater_b)` with `rater_a < rater_b`, in first-seen order.
    pub pairs: Vec<(u32, u32)>,
    /// `pairs.len() * k * k` counts.
    pub tables: Vec<u32>,
}

impl PairTables {
    /// The table of pair number `index`, row-major.
    pub(crate) fn table(&self, index: usize) -> &[u32] {
        let size = self.k * self.k;
        &self.tables[index * size..(index + 1) * size]
    }

    /// Items the pair shares.
    pub(crate) fn shared_items(&self, index: usize) -> u32 {
        self.table(index).iter().sum()
    }
}

enum PairIndex {
    Dense { raters: usize, slots: Vec<u32> },
    Sparse(HashMap<u64, u32>),
}

impl PairIndex {
    fn new(raters: usize) -> Self {
        if raters <= DENSE_RATER_LIMIT {
            PairIndex::Dense {
                raters,
                slots: vec![u32::MAX; raters * raters.saturating_sub(1) / 2],
            }
        } else {
            PairIndex::Sparse(HashMap::new())
        }
    }

    /// The slot of pair (a, b), a < b, creating it with `next` when new.
    fn slot(&mut self, a: u32, b: u32, next: u32) -> u32 {
        match self {
            PairIndex::Dense { raters, slots } => {
                let (a, b) = (a as usize, b as usize);
                // Row a of the strict upper triangle starts after a rows of decreasing length.
                let position = a * (2 * *raters - a - 1) / 2 + (b - a - 1);
                if slots[position] == u32::MAX {
                    slots[position] = next;
                }
                slots[position]
            }
            PairIndex::Sparse(map) => *map
                .entry((u64::from(a) << 32) | u64::from(b))
                .or_insert(next),
        }
    }
}

/// Count, for every pair of raters, how often rater a said c while rater b said d.
pub(crate) fn pair_tables(data: &Dataset) -> PairTables {
    let k = data.categories().len();
    let size = k * k;
    let mut index = PairIndex::new(data.rater_count());
    let mut result = PairTables {
        k,
        pairs: Vec::new(),
        tables: Vec::new(),
    };
    for item in 0..data.item_count() {
        let labels = data.item_labels(item);
        for (position, first) in labels.iter().enumerate() {
            for second in &labels[position + 1..] {
                let next = result.pairs.len() as u32;
                let slot = index.slot(first.rater, second.rater, next);
                if slot == next {
                    result.pairs.push((first.rater, second.rater));
                    result.tables.resize(result.tables.len() + size, 0);
                }
                let cell = slot as usize * size + first.value as usize * k + second.value as usize;
                result.tables[cell] += 1;
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_shared_item_once_per_pair() {
        let data = Dataset::from_labels([
            ("i1", "a", "x"),
            ("i1", "b", "y"),
            ("i1", "c", "x"),
            ("i2", "a", "x"),
            ("i2", "b", "x"),
        ])
        .expect("dataset");
        let tables = pair_tables(&data);
        assert_eq!(tables.pairs, vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!(tables.shared_items(0), 2);
        assert_eq!(tables.table(0), &[1, 1, 0, 0]);
        assert_eq!(tables.table(2), &[0, 0, 1, 0]);
    }
}
