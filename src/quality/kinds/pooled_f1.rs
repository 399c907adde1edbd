//! Pairwise F1 between raters, pooled over every pair of raters on every item.
//!
//! For one pair of raters on one item with `a` and `b` units and `m` of them matched one
//! to one, precision and recall are `m / b` and `m / a` (or the other way round: the
//! measure is symmetric), so F1 is `2m / (a + b)`. Pooling is micro-averaging: the counts
//! of all pairs on all items are added first, then `F1 = 2 * sum(m) / sum(a + b)`. Per
//! label the same with the units and matches of that label.

use std::collections::BTreeMap;

use crate::quality::figure::Figure;

/// Counts of one label (or of all labels) over every pair of raters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct PairCounts {
    /// Units of both raters, over all pairs (a unit counts once per pair it is in).
    pub units: usize,
    /// Matched pairs of units.
    pub matched: usize,
    /// Sum of the matched pairs' scores (IoU for boxes).
    pub score_sum: f64,
}

impl PairCounts {
    fn add(&mut self, other: &PairCounts) {
        self.units += other.units;
        self.matched += other.matched;
        self.score_sum += other.score_sum;
    }

    /// Pooled F1, undefined when no rater of any pair marked a unit.
    pub(crate) fn f1(&self) -> Figure {
        if self.units == 0 {
            return Err("no rater marked anything on an item that two raters labelled".to_string());
        }
        Ok(2.0 * self.matched as f64 / self.units as f64)
    }

    /// Mean score of the matched pairs, undefined when nothing matched.
    pub(crate) fn mean_score(&self) -> Figure {
        if self.matched == 0 {
            return Err("no two raters' units matched".to_string());
        }
        Ok(self.score_sum / self.matched as f64)
    }
}

/// Per-label counts over every pair of raters.
#[derive(Debug, Clone, Default)]
pub(crate) struct PooledF1 {
    pub labels: BTreeMap<String, PairCounts>,
    /// Pairs of raters on a shared item.
    pub pairs: usize,
}

impl PooledF1 {
    /// Add one pair of raters: the labels of each rater's units and the labels and scores
    /// of the matched pairs.
    pub(crate) fn add_pair<'a>(
        &mut self,
        units: impl Iterator<Item = &'a str>,
        matched: impl Iterator<Item = (&'a str, f64)>,
    ) {
        self.pairs += 1;
        for label in units {
            self.counts(label).units += 1;
        }
        for (label, score) in matched {
            let counts = self.counts(label);
            counts.matched += 1;
            counts.score_sum += score;
        }
    }

    fn counts(&mut self, label: &str) -> &mut PairCounts {
        self.labels.entry(label.to_string()).or_default()
    }

    /// The counts of all labels together.
    pub(crate) fn total(&self) -> PairCounts {
        let mut total = PairCounts::default();
        for counts in self.labels.values() {
            total.add(counts);
        }
        total
    }
}

/// F1 of two lists with `a` and `b` units and `matched` pairs; two empty lists agree
/// perfectly (1.0), as two raters who both saw nothing do.
pub(crate) fn list_f1(a: usize, b: usize, matched: usize) -> f64 {
    if a + b == 0 {
        1.0
    } else {
        2.0 * matched as f64 / (a + b) as f64
    }
}
