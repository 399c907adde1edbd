//! Consensus labels: majority vote or Dawid-Skene posteriors. A tie stays a tie: the item
//! gets no consensus label and the tied categories are listed. Nothing breaks a tie by how
//! often a category is used overall, since that favours whoever over-uses one label.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::dawid_skene::{self, DawidSkeneFit, DawidSkeneOptions};

/// Scores within this of the best count as tied.
pub(crate) const TIE_TOLERANCE: f64 = 1e-12;

/// How the consensus label of an item is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsensusMethod {
    /// The most frequent label; a tie leaves the item without a consensus label.
    Majority,
    /// Dawid-Skene EM: per-rater confusion matrices and class priors, started from majority
    /// vote. The default: on simulated projects with planted spammers, careless and lenient
    /// raters, its leave-one-out kappa and informativeness put every spammer below every
    /// careful rater at overlaps 2, 3 and 5 and rank raters at least as well as majority
    /// (`synth::ranking`, `cargo bench --bench report -- ranking`).
    #[default]
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
    /// Consensus category; `None` when categories are tied. Shared by the items with the
    /// same: a big project's report holds a row for each of its items.
    pub label: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_reason: Option<String>,
    /// Share of votes for the label (majority) or its posterior probability (Dawid-Skene);
    /// for a tie, the share or probability of each tied category.
    pub confidence: f64,
    /// Labels the item has.
    pub labels: u32,
    /// True when two or more categories are equally supported.
    #[serde(skip_serializing_if = "is_false")]
    pub tie: bool,
    /// The tied categories in scale order (empty unless `tie`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tied: Vec<String>,
    /// Set when a reviewer's final label replaced the computed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjudicated: Option<Adjudicated>,
}

/// Who set an item's final label, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Adjudicated {
    /// The reviewer's pseudonym.
    pub by: String,
    pub reason: String,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Consensus for every item (each item has at least one label).
#[derive(Debug, Clone, Default)]
pub(crate) struct Consensus {
    /// The consensus category, `None` for a tie.
    pub label: Vec<Option<u32>>,
    pub confidence: Vec<f64>,
    /// Tied categories per item (empty unless tied).
    pub tied: Vec<Vec<u32>>,
    /// The fitted model when the method is Dawid-Skene.
    pub model: Option<DawidSkeneFit>,
}

impl Consensus {
    /// The report rows for every item.
    pub(crate) fn items(&self, data: &Dataset) -> Vec<ConsensusItem> {
        let categories = data.categories();
        let name = |c: u32| categories.name(c).to_string();
        let shared: Vec<Arc<str>> = (categories.names().iter())
            .map(|name| Arc::from(name.as_str()))
            .collect();
        (0..data.item_count())
            .map(|item| {
                let tied: Vec<String> = self.tied[item].iter().map(|&c| name(c)).collect();
                ConsensusItem {
                    item: data.items()[item].clone(),
                    label: self.label[item].and_then(|c| shared.get(c as usize).cloned()),
                    label_reason: (!tied.is_empty())
                        .then(|| format!("a tie between {}", tied.join(" and "))),
                    confidence: self.confidence[item],
                    labels: data.item_labels(item).len() as u32,
                    tie: !tied.is_empty(),
                    tied,
                    adjudicated: None,
                }
            })
            .collect()
    }

    fn push(&mut self, scores: &[f64], total: f64) {
        let best = best_of(scores);
        let confidence = best
            .as_ref()
            .map_or(0.0, |(_, score)| score / total.max(f64::MIN_POSITIVE));
        self.confidence.push(confidence);
        match best {
            Some((Best::One(category), _)) => {
                self.label.push(Some(category));
                self.tied.push(Vec::new());
            }
            Some((Best::Tied(categories), _)) => {
                self.label.push(None);
                self.tied.push(categories);
            }
            None => {
                self.label.push(None);
                self.tied.push(Vec::new());
            }
        }
    }
}

/// The winner of a vote or a posterior.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Best {
    One(u32),
    /// Two or more categories share the top score (in scale order).
    Tied(Vec<u32>),
}

/// The best-supported category, or the tied ones, with the top score; `None` when there
/// are no scores or none is positive.
pub(crate) fn best_of(scores: &[f64]) -> Option<(Best, f64)> {
    let (winner, top) = winner_of(scores)?;
    let best = match winner {
        Some(category) => Best::One(category),
        None => Best::Tied(
            (0..scores.len() as u32)
                .filter(|&c| at_top(scores[c as usize], top))
                .collect(),
        ),
    };
    Some((best, top))
}

/// The single best category (`None` on a tie) and the top score, without listing tied
/// categories: the leave-one-out references ask this of every label, many times over.
pub(crate) fn winner_of(scores: &[f64]) -> Option<(Option<u32>, f64)> {
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if top.is_nan() || top <= 0.0 {
        return None;
    }
    let mut at_the_top = (0..scores.len() as u32).filter(|&c| at_top(scores[c as usize], top));
    let first = at_the_top.next();
    let winner = if at_the_top.next().is_some() {
        None
    } else {
        first
    };
    Some((winner, top))
}

/// Whether a score ties the top score.
fn at_top(score: f64, top: f64) -> bool {
    score >= top - TIE_TOLERANCE * top.max(1.0)
}

/// The single best category, `None` on a tie.
pub(crate) fn clear_winner(scores: &[f64]) -> Option<u32> {
    winner_of(scores)?.0
}

/// Majority vote per item; confidence is the winner's share of the item's labels.
pub(crate) fn majority_vote(data: &Dataset) -> Consensus {
    let mut consensus = Consensus::default();
    let mut scores = vec![0.0; data.categories().len()];
    for item in 0..data.item_count() {
        let labels = data.item_labels(item);
        scores.iter_mut().for_each(|s| *s = 0.0);
        for label in labels {
            scores[label.value as usize] += 1.0;
        }
        consensus.push(&scores, labels.len() as f64);
    }
    consensus
}

/// Dawid-Skene consensus: the most probable class of each item and its posterior.
pub(crate) fn dawid_skene_consensus(
    data: &Dataset,
    options: &DawidSkeneOptions,
    threads: usize,
) -> Consensus {
    let model = dawid_skene::fit(data, options, threads);
    let mut consensus = Consensus::default();
    for item in 0..data.item_count() {
        consensus.push(model.item_posterior(item), 1.0);
    }
    consensus.model = Some(model);
    consensus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_vote_keeps_ties_as_ties() {
        let data = Dataset::from_labels([
            ("i1", "a", "x"),
            ("i1", "b", "y"),
            ("i2", "a", "y"),
            ("i2", "b", "y"),
            ("i2", "c", "x"),
            ("i3", "a", "y"),
        ])
        .expect("dataset");
        let rows = majority_vote(&data).items(&data);
        assert_eq!(
            rows[0].label, None,
            "y is more frequent overall, but i1 is a tie"
        );
        assert!(rows[0].tie);
        assert_eq!(rows[0].tied, vec!["x", "y"]);
        assert_eq!(rows[0].confidence, 0.5);
        assert_eq!(rows[1].label.as_deref(), Some("y"));
        assert!(!rows[1].tie);
        assert_eq!(rows[1].labels, 3);
        assert!((rows[1].confidence - 2.0 / 3.0).abs() < 1e-12);
        let json = serde_json::to_string(&rows[1]).expect("json");
        assert!(!json.contains("tie"), "tie is omitted when false: {json}");
        let json = serde_json::to_value(&rows[0]).expect("json");
        assert!(json["label"].is_null() && json["label_reason"].is_string());
    }

    #[test]
    fn best_of_lists_ties_in_scale_order() {
        assert_eq!(
            best_of(&[1.0, 1.0, 0.0]).map(|b| b.0),
            Some(Best::Tied(vec![0, 1]))
        );
        assert_eq!(best_of(&[0.2, 0.8]).map(|b| b.0), Some(Best::One(1)));
        assert_eq!(best_of(&[]), None);
        assert_eq!(best_of(&[0.0, 0.0]), None);
        assert_eq!(clear_winner(&[2.0, 2.0, 1.0]), None);
        assert_eq!(clear_winner(&[2.0, 3.0, 1.0]), Some(1));
        assert_eq!(
            winner_of(&[0.0, 2.0, 2.0 + 1e-13]),
            Some((None, 2.0 + 1e-13))
        );
        assert_eq!(winner_of(&[0.0, 2.0, 2.001]), Some((Some(2), 2.001)));
        assert_eq!(winner_of(&[f64::NAN, 1.0]), Some((Some(1), 1.0)));
        assert_eq!(winner_of(&[0.0, 0.0]), None);
        assert_eq!(
            best_of(&[3.0, 1.0, 3.0]).map(|b| b.0),
            Some(Best::Tied(vec![0, 2]))
        );
    }
}
