//! How much the consensus can be trusted as a yardstick: how many consensus labels are ties
//! or rest on a single label, how many rater labels had no leave-one-out reference, and a
//! warning naming what helps when that share is high.

use serde::Serialize;

use super::consensus::{Consensus, ConsensusMethod};
use super::dataset::Dataset;
use super::reference::{Reference, References};
use super::report::ReportOptions;
use super::warning::Warning;

/// Counts behind the consensus and the rater figures measured against it.
#[derive(Debug, Clone, Serialize)]
pub struct ConsensusSummary {
    /// Items with a label.
    pub items: usize,
    /// Items whose consensus is a tie (no consensus label).
    pub ties: usize,
    pub tie_share: f64,
    /// Items with a single label, whose consensus is that one label.
    pub single_label: usize,
    pub single_label_share: f64,
    /// Ties plus single-label items, as a share of items.
    pub weak_share: f64,
    /// True when `weak_share` is above the `weak_consensus_share` threshold.
    pub weak: bool,
    /// Rater labels compared with the other raters' consensus (leave-one-out).
    pub rater_labels_compared: usize,
    /// Rater labels left out because the other raters of the item were tied.
    pub rater_labels_excluded_tie: usize,
    /// Rater labels left out because no other rater labelled the item.
    pub rater_labels_excluded_alone: usize,
}

/// Count ties and single-label items, and the leave-one-out exclusions.
pub(crate) fn summarise(
    data: &Dataset,
    consensus: &Consensus,
    references: &References,
    options: &ReportOptions,
) -> ConsensusSummary {
    let items = data.item_count();
    let ties = consensus.tied.iter().filter(|t| !t.is_empty()).count();
    let single_label = (0..items)
        .filter(|&i| data.item_labels(i).len() == 1)
        .count();
    let share = |n: usize| {
        if items == 0 {
            0.0
        } else {
            n as f64 / items as f64
        }
    };
    let (mut compared, mut tie, mut alone) = (0, 0, 0);
    for index in 0..data.label_count() {
        match references.of_label(index) {
            Reference::Class(_) => compared += 1,
            Reference::Tie => tie += 1,
            Reference::Alone => alone += 1,
        }
    }
    let weak_share = share(ties + single_label);
    ConsensusSummary {
        items,
        ties,
        tie_share: share(ties),
        single_label,
        single_label_share: share(single_label),
        weak_share,
        weak: weak_share > options.thresholds.weak_consensus_share,
        rater_labels_compared: compared,
        rater_labels_excluded_tie: tie,
        rater_labels_excluded_alone: alone,
    }
}

/// The `weak_consensus` warning, when the summary says so.
pub(crate) fn weak_consensus_warning(
    summary: &ConsensusSummary,
    method: ConsensusMethod,
    has_gold: bool,
) -> Option<Warning> {
    if !summary.weak {
        return None;
    }
    let mut helps = vec![
        "a higher overlap (three or more labels per item)",
        "dynamic overlap, so that disputed items get another label",
    ];
    if method == ConsensusMethod::Majority {
        helps.push("Dawid-Skene consensus (method dawid-skene), which weighs each rater by their estimated accuracy");
    }
    helps.push(if has_gold {
        "more gold items, which measure raters directly"
    } else {
        "gold items, which measure raters directly"
    });
    let message = format!(
        "{weak:.0}% of consensus labels are weak: {ties} of {items} items are ties and {single} rest on a single label. \
         Agreement with the consensus, kappa against it and the flags that depend on them are weak evidence. \
         What helps: {helps}.",
        weak = summary.weak_share * 100.0,
        ties = summary.ties,
        items = summary.items,
        single = summary.single_label,
        helps = helps.join("; "),
    );
    Some(Warning::new("weak_consensus", message))
}
