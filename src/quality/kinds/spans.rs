//! Text spans: pairwise F1 between raters (exact and overlapping match, overall and per
//! label), alpha over tokens, consensus spans and comparison of two span lists.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::matching::{match_one_to_one, Matched};
use super::pooled_f1::{list_f1, PooledF1};
use super::span_tokens::token_alpha;
use super::unit_consensus::{consensus_units, share_agreeing};
use super::{by_item, index_pairs, ItemConsensus, ItemValues, Row};
use crate::quality::figure::split;

/// A labelled stretch of an item's text: offsets count Unicode scalar values (Rust
/// `char`s, Python `str` indices), `end` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

/// When two raters' spans count as the same unit. Either way they must carry the same
/// label and are matched one to one (a span matches at most one span of the other rater).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpanMatch {
    /// Same start and same end.
    Exact,
    /// The ranges share at least one character (or are identical). Among the possible
    /// one-to-one matchings the one with the most pairs is taken, then the one with the
    /// largest summed overlap (intersection over union of the ranges).
    Overlap,
}

impl SpanMatch {
    /// `Some(overlap score)` when `a` and `b` may match under this rule.
    fn score(self, a: &Span, b: &Span) -> Option<f64> {
        if a.label != b.label {
            return None;
        }
        let same = a.start == b.start && a.end == b.end;
        match self {
            SpanMatch::Exact => same.then_some(1.0),
            SpanMatch::Overlap if same => Some(1.0),
            SpanMatch::Overlap => {
                let shared = a.end.min(b.end).saturating_sub(a.start.max(b.start));
                let covered = a.end.max(b.end).saturating_sub(a.start.min(b.start));
                (shared > 0).then(|| shared as f64 / covered as f64)
            }
        }
    }
}

/// Match two raters' spans one to one under `mode`.
pub(crate) fn match_spans(a: &[Span], b: &[Span], mode: SpanMatch) -> Vec<Matched> {
    match_one_to_one(a.len(), b.len(), |i, j| mode.score(&a[i], &b[j]))
}

/// F1 of two span lists matched under `mode`: `2 * matched / (a + b)`, and 1.0 when both
/// are empty. Gold accuracy and consensus agreement read this.
pub fn span_list_f1(a: &[Span], b: &[Span], mode: SpanMatch) -> f64 {
    list_f1(a.len(), b.len(), match_spans(a, b, mode).len())
}

/// Whether two span lists agree: their F1 under `mode` is at least `min_f1`. With
/// `min_f1 = 1.0` every span must find its partner (same count, all matched); two empty
/// lists always agree.
pub fn spans_agree(a: &[Span], b: &[Span], mode: SpanMatch, min_f1: f64) -> bool {
    span_list_f1(a, b, mode) >= min_f1 - 1e-12
}

/// How far raters agree on spans.
#[derive(Debug, Clone, Serialize)]
pub struct SpanAgreement {
    /// Pairs of raters on a shared item (the F1 figures pool over these).
    pub pairs: usize,
    /// Pooled pairwise F1 with exact matching (micro-averaged over every pair of raters on
    /// every item: see the module documentation of `quality::kinds`).
    pub f1_exact: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1_exact_reason: Option<String>,
    /// Pooled pairwise F1 with overlapping matching.
    pub f1_overlap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1_overlap_reason: Option<String>,
    /// Nominal alpha over whitespace tokens: each token's value, per rater, is the set of
    /// labels of that rater's spans touching it (empty outside every span). Unlike F1 it
    /// credits raters who agree that a stretch holds nothing.
    pub alpha_tokens: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha_tokens_reason: Option<String>,
    /// Tokens labelled by two or more raters (the units of `alpha_tokens`).
    pub pairable_tokens: usize,
    /// Items labelled by two or more raters whose text was not given, left out of
    /// `alpha_tokens`.
    pub items_without_text: usize,
    /// Per label, in label order.
    pub per_label: Vec<SpanLabelAgreement>,
}

/// Span agreement on one label.
#[derive(Debug, Clone, Serialize)]
pub struct SpanLabelAgreement {
    pub label: String,
    /// Spans with this label, over all raters and items.
    pub spans: usize,
    pub f1_exact: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1_exact_reason: Option<String>,
    pub f1_overlap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1_overlap_reason: Option<String>,
}

/// Agreement over span labels; `texts` maps item ids to their text, for token alpha.
pub fn span_agreement(rows: &[Row<Vec<Span>>], texts: &HashMap<String, String>) -> SpanAgreement {
    let items = by_item(rows);
    let mut exact = PooledF1::default();
    let mut overlap = PooledF1::default();
    for item in &items {
        for (i, j) in index_pairs(item.values.len()) {
            let (a, b) = (item.values[i].1, item.values[j].1);
            for (mode, pooled) in [
                (SpanMatch::Exact, &mut exact),
                (SpanMatch::Overlap, &mut overlap),
            ] {
                let matched = match_spans(a, b, mode);
                pooled.add_pair(
                    a.iter().chain(b).map(|s| s.label.as_str()),
                    matched.iter().map(|m| (a[m.left].label.as_str(), m.score)),
                );
            }
        }
    }
    let tokens = token_alpha(&items, texts);
    let (f1_exact, f1_exact_reason) = split(exact.total().f1());
    let (f1_overlap, f1_overlap_reason) = split(overlap.total().f1());
    let (alpha_tokens, alpha_tokens_reason) = split(tokens.alpha);
    SpanAgreement {
        pairs: exact.pairs,
        f1_exact,
        f1_exact_reason,
        f1_overlap,
        f1_overlap_reason,
        alpha_tokens,
        alpha_tokens_reason,
        pairable_tokens: tokens.pairable_tokens,
        items_without_text: tokens.items_without_text,
        per_label: per_label(&items, &exact, &overlap),
    }
}

fn per_label(
    items: &[ItemValues<'_, Vec<Span>>],
    exact: &PooledF1,
    overlap: &PooledF1,
) -> Vec<SpanLabelAgreement> {
    let mut spans: BTreeMap<&str, usize> = BTreeMap::new();
    for span in items
        .iter()
        .flat_map(|item| item.values.iter().flat_map(|(_, v)| v.iter()))
    {
        *spans.entry(span.label.as_str()).or_default() += 1;
    }
    spans
        .into_iter()
        .map(|(label, spans)| {
            let f1 = |pooled: &PooledF1| {
                split(pooled.labels.get(label).copied().unwrap_or_default().f1())
            };
            let (f1_exact, f1_exact_reason) = f1(exact);
            let (f1_overlap, f1_overlap_reason) = f1(overlap);
            SpanLabelAgreement {
                label: label.to_string(),
                spans,
                f1_exact,
                f1_exact_reason,
                f1_overlap,
                f1_overlap_reason,
            }
        })
        .collect()
}

/// The consensus spans of one item from its raters' span lists.
///
/// Raters' spans are matched pair by pair under `mode`; spans linked by those matches form
/// groups, and every group that spans from a strict majority of the raters fall into
/// becomes one consensus span with the group's label, the lower median of its starts and
/// the upper median of its ends (the two agree for an odd count; for an even count the
/// span takes the wider choice). `tie` is set when some group had exactly half the raters.
/// A rater agrees with the consensus when [`spans_agree`] holds at `min_f1`. `None` when
/// there are no raters.
pub fn span_consensus(
    values: &[Vec<Span>],
    mode: SpanMatch,
    min_f1: f64,
) -> Option<ItemConsensus<Vec<Span>>> {
    if values.is_empty() {
        return None;
    }
    let lists: Vec<&[Span]> = values.iter().map(Vec::as_slice).collect();
    let (mut spans, tie) = consensus_units(&lists, |a, b| match_spans(a, b, mode), merge_spans);
    spans.sort();
    let agreeing = share_agreeing(&lists, &spans, |a, b| spans_agree(a, b, mode, min_f1));
    Some(ItemConsensus::new(spans, agreeing, values.len(), tie))
}

/// One span for a group of matched spans (all of one label).
fn merge_spans(group: &[&Span]) -> Span {
    let mut starts: Vec<usize> = group.iter().map(|s| s.start).collect();
    let mut ends: Vec<usize> = group.iter().map(|s| s.end).collect();
    starts.sort_unstable();
    ends.sort_unstable();
    let count = group.len().max(1);
    Span {
        start: starts.get((count - 1) / 2).copied().unwrap_or(0),
        end: ends.get(count / 2).copied().unwrap_or(0),
        label: group.first().map(|s| s.label.clone()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
