//! Agreement, consensus and comparison for label kinds beyond single choice: multi-label
//! sets, ratings, numbers, free text, text spans and image boxes.
//!
//! Single choice (and ratings, for alpha, weighted kappa and leniency) go through the
//! categorical [`Dataset`](super::Dataset) as before; this module covers what that matrix
//! cannot hold. Everything here is a pure function over plain types: labels come in as
//! long-form [`Row`]s `(item, rater, value)`, per-item helpers take one item's values.
//!
//! Three families of functions, one file per kind:
//! - agreement over a whole project ([`multi_label_agreement`], [`numeric_agreement`],
//!   [`text_agreement`], [`span_agreement`], [`box_agreement`]), as serialisable summaries
//!   whose undefined figures are `None` with a `<name>_reason` sibling, never NaN;
//! - consensus of one item with the share of raters agreeing with it ([`ItemConsensus`]),
//!   which dynamic overlap and escalation read;
//! - comparison of two values (set equality, numbers within a tolerance, normalised text,
//!   span and box lists at a threshold), which gold accuracy reads.
//!
//! When one rater has two rows for one item, the later row wins.
//!
//! # Definitions shared by spans and boxes
//!
//! - **Matching.** Two raters' units (spans, boxes) are matched one to one: only pairs with
//!   the same label that pass the kind's test may match (spans: [`SpanMatch`]; boxes: IoU
//!   at least the threshold). Among all one-to-one matchings the one with the most pairs
//!   wins, then the one with the largest summed overlap (Hungarian algorithm).
//! - **Pooled pairwise F1.** For one pair of raters on one item with `a` and `b` units and
//!   `m` matched pairs, F1 is `2m / (a + b)` (precision and recall are `m / b` and `m / a`,
//!   symmetric in the raters). Over a project the counts of every pair of raters on every
//!   item are added first: `F1 = 2 * sum(m) / sum(a + b)` (micro-averaging), and per label
//!   the same with that label's units. A pair where neither rater marked anything adds
//!   nothing, so F1 is undefined when nobody marked anything.
//! - **Two lists agree** (gold, consensus share) when their F1 is at least `min_f1`; two
//!   empty lists have F1 1. `min_f1 = 1.0` asks for every unit matched.
//! - **Consensus units.** Units linked by the pairwise matchings form groups; a group with
//!   units from more than half of the item's raters becomes one consensus unit (spans: lower
//!   median start, upper median end; boxes: median x, y, w, h). A group with exactly half
//!   sets `tie`.

mod boxes;
mod distance_alpha;
mod matching;
mod multi_label;
mod numbers;
mod pooled_f1;
mod span_tokens;
mod spans;
mod text;
mod unit_consensus;

#[cfg(test)]
mod reference_tests;

use std::collections::BTreeMap;

use serde::Serialize;

pub use boxes::{
    box_agreement, box_consensus, box_iou, box_list_f1, boxes_agree, BoxAgreement,
    BoxLabelAgreement, BoxShape,
};
pub use distance_alpha::alpha_with_distance;
pub use multi_label::{
    jaccard_distance, masi_distance, multi_label_agreement, multi_label_consensus, sets_equal,
    LabelAlpha, MultiLabelAgreement,
};
pub use numbers::{
    numbers_within, numeric_agreement, numeric_consensus, rating_consensus, NumericAgreement,
};
pub use spans::{
    span_agreement, span_consensus, span_list_f1, spans_agree, Span, SpanAgreement,
    SpanLabelAgreement, SpanMatch,
};
pub use text::{normalize_text, text_agreement, text_consensus, texts_equal, TextAgreement};

/// One label in long form: `(item, rater, value)`.
pub type Row<V> = (String, String, V);

/// The consensus of one item and how many of its raters agree with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemConsensus<V> {
    /// The consensus value.
    pub value: V,
    /// Raters whose own value agrees with the consensus under the kind's rule.
    pub agreeing: usize,
    /// Raters who gave a value for the item.
    pub raters: usize,
    /// `agreeing / raters`: the agreement share that dynamic overlap and escalation read.
    pub share: f64,
    /// True when the consensus had to break a tie (see each kind's rule); callers that
    /// must not act on a tie check this.
    pub tie: bool,
}

impl<V> ItemConsensus<V> {
    fn new(value: V, agreeing: usize, raters: usize, tie: bool) -> Self {
        ItemConsensus {
            value,
            agreeing,
            raters,
            share: agreeing as f64 / raters.max(1) as f64,
            tie,
        }
    }
}

/// The raters' values of one item, raters in sorted order.
pub(crate) struct ItemValues<'a, V> {
    pub item: &'a str,
    pub values: Vec<(&'a str, &'a V)>,
}

/// Group rows by item (items sorted, raters sorted within each); a rater's later row for
/// the same item replaces the earlier one.
pub(crate) fn by_item<V>(rows: &[Row<V>]) -> Vec<ItemValues<'_, V>> {
    let mut items: BTreeMap<&str, BTreeMap<&str, &V>> = BTreeMap::new();
    for (item, rater, value) in rows {
        items
            .entry(item.as_str())
            .or_default()
            .insert(rater.as_str(), value);
    }
    items
        .into_iter()
        .map(|(item, raters)| ItemValues {
            item,
            values: raters.into_iter().collect(),
        })
        .collect()
}

/// Every unordered pair of positions `(i, j)`, `i < j`, among `n`.
pub(crate) fn index_pairs(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n).flat_map(move |i| (i + 1..n).map(move |j| (i, j)))
}
