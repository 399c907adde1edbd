//! Image boxes: raters' boxes matched one to one at an IoU threshold, then pooled F1 and
//! mean IoU overall and per label; consensus boxes and comparison of two box lists.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::matching::{match_one_to_one, Matched};
use super::numbers::median;
use super::pooled_f1::{list_f1, PooledF1};
use super::unit_consensus::{consensus_units, share_agreeing};
use super::{by_item, index_pairs, ItemConsensus, Row};
use crate::quality::figure::split;

/// An axis-aligned box on an image, in pixels: top-left corner `(x, y)`, width and height
/// (positive for a real box).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxShape {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub label: String,
}

impl BoxShape {
    /// A box with an area, whose far corner is a number too.
    fn is_real(&self) -> bool {
        [
            self.x,
            self.y,
            self.w,
            self.h,
            self.x + self.w,
            self.y + self.h,
            self.w * self.h,
        ]
        .iter()
        .all(|v| v.is_finite())
            && self.w > 0.0
            && self.h > 0.0
    }
}

/// Intersection over union of two boxes (labels ignored); 0 when either box has no area
/// or a non-finite coordinate, corner or area, so such a box never matches anything.
pub fn box_iou(a: &BoxShape, b: &BoxShape) -> f64 {
    if !a.is_real() || !b.is_real() {
        return 0.0;
    }
    // The same box covers itself whole; computed, a box far narrower than its distance from
    // the origin loses its width to rounding in `x + w` (found by fuzzing: w = 3.1e-314).
    if (a.x, a.y, a.w, a.h) == (b.x, b.y, b.w, b.h) {
        return 1.0;
    }
    let across = ((a.x + a.w).min(b.x + b.w) - a.x.max(b.x)).max(0.0);
    let down = ((a.y + a.h).min(b.y + b.h) - a.y.max(b.y)).max(0.0);
    let shared = across * down;
    let iou = shared / (a.w * a.h + b.w * b.h - shared);
    if iou.is_finite() {
        iou.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Whether `threshold` is a usable IoU threshold: in (0, 1].
fn valid_threshold(threshold: f64) -> bool {
    threshold > 0.0 && threshold <= 1.0
}

/// Match two raters' boxes one to one: same label and IoU at least `iou_threshold` (in
/// (0, 1]; any other threshold matches nothing); the most pairs, then the largest summed
/// IoU.
pub(crate) fn match_boxes(a: &[BoxShape], b: &[BoxShape], iou_threshold: f64) -> Vec<Matched> {
    if !valid_threshold(iou_threshold) {
        return Vec::new();
    }
    match_one_to_one(a.len(), b.len(), |i, j| {
        let iou = box_iou(&a[i], &b[j]);
        (a[i].label == b[j].label && iou > 0.0 && iou >= iou_threshold).then_some(iou)
    })
}

/// F1 of two box lists matched at `iou_threshold`: `2 * matched / (a + b)`, 1.0 when both
/// are empty. Gold accuracy and consensus agreement read this.
pub fn box_list_f1(a: &[BoxShape], b: &[BoxShape], iou_threshold: f64) -> f64 {
    list_f1(a.len(), b.len(), match_boxes(a, b, iou_threshold).len())
}

/// Whether two box lists agree: their F1 at `iou_threshold` is at least `min_f1`. With
/// `min_f1 = 1.0` every box must find its partner; two empty lists always agree.
pub fn boxes_agree(a: &[BoxShape], b: &[BoxShape], iou_threshold: f64, min_f1: f64) -> bool {
    box_list_f1(a, b, iou_threshold) >= min_f1 - 1e-12
}

/// How far raters agree on boxes.
#[derive(Debug, Clone, Serialize)]
pub struct BoxAgreement {
    /// Boxes match when they carry the same label and their IoU is at least this.
    pub iou_threshold: f64,
    /// Pairs of raters on a shared item.
    pub pairs: usize,
    /// Matched pairs of boxes over all pairs of raters.
    pub matched: usize,
    /// Pooled pairwise F1 (micro-averaged over rater pairs and items, as for spans).
    pub f1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1_reason: Option<String>,
    /// Mean IoU of the matched pairs.
    pub mean_iou: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_iou_reason: Option<String>,
    /// Per label, in label order.
    pub per_label: Vec<BoxLabelAgreement>,
}

/// Box agreement on one label.
#[derive(Debug, Clone, Serialize)]
pub struct BoxLabelAgreement {
    pub label: String,
    /// Boxes with this label, over all raters and items.
    pub boxes: usize,
    pub f1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1_reason: Option<String>,
    pub mean_iou: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_iou_reason: Option<String>,
}

/// Agreement over box labels, boxes matching at `iou_threshold` (in (0, 1]).
pub fn box_agreement(rows: &[Row<Vec<BoxShape>>], iou_threshold: f64) -> BoxAgreement {
    let items = by_item(rows);
    let mut pooled = PooledF1::default();
    let mut boxes: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &items {
        for shape in item.values.iter().flat_map(|(_, list)| list.iter()) {
            *boxes.entry(shape.label.as_str()).or_default() += 1;
        }
        for (i, j) in index_pairs(item.values.len()) {
            let (a, b) = (item.values[i].1, item.values[j].1);
            let matched = match_boxes(a, b, iou_threshold);
            pooled.add_pair(
                a.iter().chain(b).map(|s| s.label.as_str()),
                matched.iter().map(|m| (a[m.left].label.as_str(), m.score)),
            );
        }
    }
    let threshold_problem = (!valid_threshold(iou_threshold))
        .then(|| format!("the IoU threshold {iou_threshold} is not in (0, 1]"));
    let figures = |counts: super::pooled_f1::PairCounts| match &threshold_problem {
        Some(reason) => ((None, Some(reason.clone())), (None, Some(reason.clone()))),
        None => (split(counts.f1()), split(counts.mean_score())),
    };
    let total = pooled.total();
    let ((f1, f1_reason), (mean_iou, mean_iou_reason)) = figures(total);
    let per_label = boxes
        .into_iter()
        .map(|(label, boxes)| {
            let counts = pooled.labels.get(label).copied().unwrap_or_default();
            let ((f1, f1_reason), (mean_iou, mean_iou_reason)) = figures(counts);
            BoxLabelAgreement {
                label: label.to_string(),
                boxes,
                f1,
                f1_reason,
                mean_iou,
                mean_iou_reason,
            }
        })
        .collect();
    BoxAgreement {
        iou_threshold,
        pairs: pooled.pairs,
        matched: total.matched,
        f1,
        f1_reason,
        mean_iou,
        mean_iou_reason,
        per_label,
    }
}

/// The consensus boxes of one item from its raters' box lists.
///
/// Raters' boxes are matched pair by pair at `iou_threshold`; boxes linked by those matches
/// form groups, and every group that boxes from a strict majority of the raters fall into
/// becomes one consensus box with the group's label and, for each of x, y, w and h, the
/// median over the group (the mean of the two middle values for an even count). `tie` is
/// set when some group had exactly half the raters. Boxes come out sorted by label, then
/// x, y, w, h. A rater agrees with the consensus when [`boxes_agree`] holds at `min_f1`.
/// `None` when there are no raters.
pub fn box_consensus(
    values: &[Vec<BoxShape>],
    iou_threshold: f64,
    min_f1: f64,
) -> Option<ItemConsensus<Vec<BoxShape>>> {
    if values.is_empty() {
        return None;
    }
    let lists: Vec<&[BoxShape]> = values.iter().map(Vec::as_slice).collect();
    let (mut shapes, tie) =
        consensus_units(&lists, |a, b| match_boxes(a, b, iou_threshold), merge_boxes);
    shapes.sort_by(box_order);
    let agreeing = share_agreeing(&lists, &shapes, |a, b| {
        boxes_agree(a, b, iou_threshold, min_f1)
    });
    Some(ItemConsensus::new(shapes, agreeing, values.len(), tie))
}

fn box_order(a: &BoxShape, b: &BoxShape) -> Ordering {
    a.label
        .cmp(&b.label)
        .then(a.x.total_cmp(&b.x))
        .then(a.y.total_cmp(&b.y))
        .then(a.w.total_cmp(&b.w))
        .then(a.h.total_cmp(&b.h))
}

/// One box for a group of matched boxes (all of one label): coordinates by median.
fn merge_boxes(group: &[&BoxShape]) -> BoxShape {
    // Groups are never empty, so the medians exist.
    let coordinate = |pick: fn(&BoxShape) -> f64| {
        median(group.iter().map(|b| pick(b)).collect()).unwrap_or_default()
    };
    BoxShape {
        x: coordinate(|b| b.x),
        y: coordinate(|b| b.y),
        w: coordinate(|b| b.w),
        h: coordinate(|b| b.h),
        label: group.first().map(|b| b.label.clone()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
