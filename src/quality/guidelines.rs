//! Likely guideline problems: items where the most reliable raters agree with each other but
//! the rest of the raters (the crowd) agree on something else. Many such items with the same
//! pair of labels usually mean the guidelines are unclear about that distinction.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::dataset::Dataset;
use super::raters::RaterQuality;
use super::report::ReportOptions;

/// Raters needed before ranking them makes sense.
const MIN_CANDIDATES: usize = 3;

/// The guideline-problem findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GuidelineProblems {
    /// What ranked raters: "gold_accuracy" when enough raters have gold items, else
    /// "consensus_kappa".
    pub basis: Option<String>,
    /// The raters treated as most reliable.
    pub reliable_raters: Vec<String>,
    /// Items where reliable raters unanimously disagree with a clear crowd majority.
    pub items: usize,
    /// Counts per (reliable label, crowd label), most frequent first.
    pub patterns: Vec<GuidelinePattern>,
    /// Up to `max_listed_items` of those items.
    pub examples: Vec<SuspectItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How often reliable raters said one label where the crowd said another.
#[derive(Debug, Clone, Serialize)]
pub struct GuidelinePattern {
    pub reliable_label: String,
    pub crowd_label: String,
    pub items: usize,
}

/// One item where reliable raters and the crowd disagree.
#[derive(Debug, Clone, Serialize)]
pub struct SuspectItem {
    pub item: String,
    pub reliable_label: String,
    pub crowd_label: String,
    pub reliable_votes: u32,
    pub crowd_votes: u32,
}

/// Rank raters, pick the most reliable share, and scan items.
pub(crate) fn guideline_problems(
    data: &Dataset,
    raters: &[RaterQuality],
    options: &ReportOptions,
) -> GuidelineProblems {
    match reliable_raters(data, raters, options) {
        Ok((basis, reliable)) => scan_items(data, basis, &reliable, options),
        Err(reason) => GuidelineProblems {
            reason: Some(reason),
            ..Default::default()
        },
    }
}

fn reliable_raters(
    data: &Dataset,
    raters: &[RaterQuality],
    options: &ReportOptions,
) -> Result<(&'static str, Vec<bool>), String> {
    let limits = &options.thresholds;
    let candidates: Vec<&RaterQuality> = raters
        .iter()
        .filter(|r| r.labels >= limits.min_rater_labels && !r.flags.iter().any(|f| f == "spammer"))
        .collect();
    let with_gold: Vec<(&RaterQuality, f64)> = candidates
        .iter()
        .filter(|r| r.gold_items >= limits.min_gold_items)
        .filter_map(|r| r.gold_accuracy.map(|a| (*r, a)))
        .collect();
    let (basis, mut scored) = if with_gold.len() >= MIN_CANDIDATES {
        ("gold_accuracy", with_gold)
    } else {
        (
            "consensus_kappa",
            candidates
                .iter()
                .filter_map(|r| r.consensus_kappa.map(|k| (*r, k)))
                .collect(),
        )
    };
    if scored.len() < MIN_CANDIDATES {
        return Err(format!(
            "fewer than {MIN_CANDIDATES} raters with {} or more labels to rank",
            limits.min_rater_labels
        ));
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.rater.cmp(&b.0.rater)));
    let take =
        ((scored.len() as f64 * limits.reliable_share).ceil() as usize).clamp(2, scored.len());
    let index: HashMap<&str, usize> = data
        .raters()
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    let mut reliable = vec![false; data.rater_count()];
    for (rater, _) in &scored[..take] {
        if let Some(&i) = index.get(rater.rater.as_str()) {
            reliable[i] = true;
        }
    }
    Ok((basis, reliable))
}

fn scan_items(
    data: &Dataset,
    basis: &str,
    reliable: &[bool],
    options: &ReportOptions,
) -> GuidelineProblems {
    let k = data.categories().len();
    let name = |c: usize| data.categories().name(c as u32).to_string();
    let mut patterns: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut examples = Vec::new();
    let mut found = 0;
    let (mut expert_votes, mut crowd_votes) = (vec![0u32; k], vec![0u32; k]);
    for item in 0..data.item_count() {
        expert_votes.iter_mut().for_each(|v| *v = 0);
        crowd_votes.iter_mut().for_each(|v| *v = 0);
        for label in data.item_labels(item) {
            let votes = if reliable[label.rater as usize] {
                &mut expert_votes
            } else {
                &mut crowd_votes
            };
            votes[label.value as usize] += 1;
        }
        let Some((expert, expert_n)) = unanimous(&expert_votes) else {
            continue;
        };
        let Some((crowd, crowd_n)) = clear_majority(&crowd_votes) else {
            continue;
        };
        if expert == crowd {
            continue;
        }
        found += 1;
        *patterns.entry((expert, crowd)).or_default() += 1;
        if examples.len() < options.max_listed_items {
            examples.push(SuspectItem {
                item: data.items()[item].clone(),
                reliable_label: name(expert),
                crowd_label: name(crowd),
                reliable_votes: expert_n,
                crowd_votes: crowd_n,
            });
        }
    }
    let mut patterns: Vec<GuidelinePattern> = patterns
        .into_iter()
        .map(|((expert, crowd), items)| GuidelinePattern {
            reliable_label: name(expert),
            crowd_label: name(crowd),
            items,
        })
        .collect();
    patterns.sort_by_key(|p| std::cmp::Reverse(p.items));
    GuidelineProblems {
        basis: Some(basis.to_string()),
        reliable_raters: (0..data.rater_count())
            .filter(|&r| reliable[r])
            .map(|r| data.raters()[r].clone())
            .collect(),
        items: found,
        patterns,
        examples,
        reason: None,
    }
}

/// The single category of two or more votes, if all votes agree.
fn unanimous(votes: &[u32]) -> Option<(usize, u32)> {
    let total: u32 = votes.iter().sum();
    let (category, &n) = votes.iter().enumerate().max_by_key(|&(_, n)| *n)?;
    (total >= 2 && n == total).then_some((category, n))
}

/// The category with strictly the most of two or more votes.
fn clear_majority(votes: &[u32]) -> Option<(usize, u32)> {
    let total: u32 = votes.iter().sum();
    let (category, &n) = votes.iter().enumerate().max_by_key(|&(_, n)| *n)?;
    let tied = votes.iter().filter(|&&v| v == n).count() > 1;
    (total >= 2 && !tied).then_some((category, n))
}
