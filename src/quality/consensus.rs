//! Consensus labels: majority vote with visible ties, or Dawid-Skene posteriors.

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::dawid_skene::{self, DawidSkeneFit, DawidSkeneOptions};

/// How the consensus label of an item is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsensusMethod {
    /// The most frequent label; ties are broken deterministically and flagged.
    #[default]
    Majority,
    /// Dawid-Skene EM: per-rater confusion matrices and class priors, started from majority vote.
    DawidSkene,
}

impl ConsensusMethod {
    /// Name used in JSON and text output.
    pub fn name(self) -> &'static str {
        match self {
            ConsensusMethod::Majority => "majority",
            ConsensusMethod::DawidSkene => "dawid_skene",
        }
    }
}

/// The consensus of one item as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsensusItem {
    /// Item id.
    pub item: String,
    /// Consensus category.
    pub label: String,
    /// Share of votes for the label (majority) or its posterior probability (Dawid-Skene).
    pub confidence: f64,
    /// True when another category was equally supported; the tie was broken by the more
    /// frequent category overall, then by scale order.
    #[serde(skip_serializing_if = "is_false")]
    pub tie: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Consensus for every item (each item has at least one label).
#[derive(Debug, Clone, Default)]
pub(crate) struct Consensus {
    pub label: Vec<u32>,
    pub confidence: Vec<f64>,
    pub tie: Vec<bool>,
    /// The fitted model when the method is Dawid-Skene.
    pub model: Option<DawidSkeneFit>,
}

impl Consensus {
    /// The report rows for every item.
    pub(crate) fn items(&self, data: &Dataset) -> Vec<ConsensusItem> {
        (0..data.item_count())
            .map(|item| ConsensusItem {
                item: data.items()[item].clone(),
                label: data.categories().name(self.label[item]).to_string(),
                confidence: self.confidence[item],
                tie: self.tie[item],
            })
            .collect()
    }
}

/// How often each category was used over all labels (the first tie-breaker).
pub(crate) fn category_frequencies(data: &Dataset) -> Vec<u64> {
    let mut frequencies = vec![0u64; data.categories().len()];
    for label in data.labels() {
        frequencies[label.value as usize] += 1;
    }
    frequencies
}

/// The best-supported category, breaking ties by overall frequency then scale order, and
/// whether there was a tie. Scores within `1e-12` of the best count as tied.
pub(crate) fn pick_best(scores: &[f64], frequencies: &[u64]) -> (u32, bool) {
    let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut tied = (0..scores.len()).filter(|&c| scores[c] >= best - 1e-12);
    let Some(first) = tied.next() else {
        return (0, false);
    };
    let mut winner = first;
    let mut tie = false;
    for candidate in tied {
        tie = true;
        if frequencies[candidate] > frequencies[winner] {
            winner = candidate;
        }
    }
    (winner as u32, tie)
}

/// Majority vote per item; confidence is the winner's share of the item's labels.
pub(crate) fn majority_vote(data: &Dataset) -> Consensus {
    let frequencies = category_frequencies(data);
    let mut consensus = Consensus::default();
    let mut scores = vec![0.0; data.categories().len()];
    for item in 0..data.item_count() {
        let labels = data.item_labels(item);
        scores.iter_mut().for_each(|s| *s = 0.0);
        for label in labels {
            scores[label.value as usize] += 1.0;
        }
        let (winner, tie) = pick_best(&scores, &frequencies);
        consensus.label.push(winner);
        consensus
            .confidence
            .push(scores[winner as usize] / labels.len().max(1) as f64);
        consensus.tie.push(tie);
    }
    consensus
}

/// Dawid-Skene consensus: the most probable class of each item and its posterior.
pub(crate) fn dawid_skene_consensus(
    data: &Dataset,
    options: &DawidSkeneOptions,
    threads: usize,
) -> Consensus {
    let frequencies = category_frequencies(data);
    let model = dawid_skene::fit(data, options, threads);
    let k = data.categories().len();
    let mut consensus = Consensus::default();
    for item in 0..data.item_count() {
        let posterior = &model.posteriors[item * k..(item + 1) * k];
        let (winner, tie) = pick_best(posterior, &frequencies);
        consensus.label.push(winner);
        consensus.confidence.push(posterior[winner as usize]);
        consensus.tie.push(tie);
    }
    consensus.model = Some(model);
    consensus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_vote_reports_ties_and_breaks_them_by_frequency() {
        let data = Dataset::from_labels([
            ("i1", "a", "x"),
            ("i1", "b", "y"),
            ("i2", "a", "y"),
            ("i2", "b", "y"),
            ("i2", "c", "x"),
            ("i3", "a", "y"),
        ])
        .expect("dataset");
        let consensus = majority_vote(&data);
        let rows = consensus.items(&data);
        assert_eq!(rows[0].label, "y", "y is more frequent overall");
        assert!(rows[0].tie);
        assert_eq!(rows[0].confidence, 0.5);
        assert_eq!(rows[1].label, "y");
        assert!(!rows[1].tie);
        assert!((rows[1].confidence - 2.0 / 3.0).abs() < 1e-12);
        let json = serde_json::to_string(&rows[1]).expect("json");
        assert!(!json.contains("tie"), "tie is omitted when false: {json}");
    }

    #[test]
    fn pick_best_is_deterministic() {
        assert_eq!(pick_best(&[1.0, 1.0, 0.0], &[5, 5, 9]), (0, true));
        assert_eq!(pick_best(&[1.0, 1.0, 0.0], &[5, 6, 9]), (1, true));
        assert_eq!(pick_best(&[0.2, 0.8], &[5, 6]), (1, false));
        assert_eq!(pick_best(&[], &[]), (0, false));
    }
}
