//! Groups of raters and items: agreement between rater pools, and label distribution and
//! agreement per slice of an item metadata field.

use std::collections::BTreeMap;

use serde::Serialize;

use super::alpha::{alpha_from, unit_cells, Coincidence};
use super::consensus::{clear_winner, Consensus};
use super::dataset::Dataset;
use super::figure::split;
use super::kappa::{cohen_kappa, Weights};
use super::report::ReportOptions;
use super::stats::{holm, mean_difference_p, two_row_p, MeanVar};

/// One pool of raters.
#[derive(Debug, Clone, Serialize)]
pub struct PoolSummary {
    pub pool: String,
    pub raters: usize,
    pub labels: usize,
    pub items: usize,
}

/// Agreement between the majority labels of two pools on the items both labelled (items
/// where either pool's labels are tied are left out).
#[derive(Debug, Clone, Serialize)]
pub struct PoolPair {
    pub pool_a: String,
    pub pool_b: String,
    pub items: usize,
    pub percent_agreement: f64,
    pub kappa: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kappa_reason: Option<String>,
    /// Counts: rows = pool a's label, columns = pool b's label.
    pub confusion: Vec<Vec<u32>>,
}

/// One value of the slice field.
#[derive(Debug, Clone, Serialize)]
pub struct SliceSummary {
    /// The field's value ("(missing)" for items without one).
    pub value: String,
    pub items: usize,
    pub labels: usize,
    /// Share of the slice's consensus labels per category, in scale order (tied items left
    /// out).
    pub consensus_share: Vec<f64>,
    pub percent_agreement: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_agreement_reason: Option<String>,
    pub krippendorff_alpha: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub krippendorff_alpha_reason: Option<String>,
    /// Holm-adjusted p-value that the consensus class rates differ from the other slices.
    pub class_rate_p_adjusted: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_rate_p_adjusted_reason: Option<String>,
    /// Holm-adjusted p-value that mean item disagreement differs from the other slices.
    pub disagreement_p_adjusted: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disagreement_p_adjusted_reason: Option<String>,
    /// Any of: class_rate_differs, more_disagreement, less_disagreement.
    pub flags: Vec<String>,
}

/// Pool summaries and pairwise pool agreement; an error when no rater has a pool.
pub(crate) fn pools(
    data: &Dataset,
    options: &ReportOptions,
) -> Result<(Vec<PoolSummary>, Vec<PoolPair>), String> {
    let pool_count = data.pools().len();
    if pool_count == 0 {
        return Err("no rater has a pool".to_string());
    }
    let k = data.categories().len();
    let items = data.item_count();
    let mut summaries: Vec<PoolSummary> = data
        .pools()
        .iter()
        .map(|pool| PoolSummary {
            pool: pool.clone(),
            raters: 0,
            labels: 0,
            items: 0,
        })
        .collect();
    for rater in 0..data.rater_count() {
        if let Some(pool) = data.pool_of(rater) {
            summaries[pool as usize].raters += 1;
            summaries[pool as usize].labels += data.rater_label_indexes(rater).len();
        }
    }
    // Majority label of each pool on each item (u32::MAX where the pool did not label it or
    // its labels are tied).
    let mut pool_label = vec![u32::MAX; pool_count * items];
    let mut votes = vec![0.0; pool_count * k];
    for item in 0..items {
        votes.iter_mut().for_each(|v| *v = 0.0);
        for label in data.item_labels(item) {
            if let Some(pool) = data.pool_of(label.rater as usize) {
                votes[pool as usize * k + label.value as usize] += 1.0;
            }
        }
        for pool in 0..pool_count {
            let scores = &votes[pool * k..(pool + 1) * k];
            if scores.iter().any(|&v| v > 0.0) {
                summaries[pool].items += 1;
                if let Some(label) = clear_winner(scores) {
                    pool_label[pool * items + item] = label;
                }
            }
        }
    }
    let mut pairs = Vec::new();
    for a in 0..pool_count {
        for b in a + 1..pool_count {
            let mut table = vec![0.0; k * k];
            for item in 0..items {
                let (x, y) = (pool_label[a * items + item], pool_label[b * items + item]);
                if x != u32::MAX && y != u32::MAX {
                    table[x as usize * k + y as usize] += 1.0;
                }
            }
            let shared = table.iter().sum::<f64>();
            if (shared as usize) < options.min_pair_overlap.max(1) {
                continue;
            }
            let agreeing: f64 = (0..k).map(|c| table[c * k + c]).sum();
            let (kappa, kappa_reason) = split(cohen_kappa(&table, k, Weights::None));
            pairs.push(PoolPair {
                pool_a: data.pools()[a].clone(),
                pool_b: data.pools()[b].clone(),
                items: shared as usize,
                percent_agreement: agreeing / shared,
                kappa,
                kappa_reason,
                confusion: table
                    .chunks(k)
                    .map(|row| row.iter().map(|&n| n as u32).collect())
                    .collect(),
            });
        }
    }
    Ok((summaries, pairs))
}

/// Per-slice statistics accumulated in one pass over items.
struct SliceTally {
    items: usize,
    labels: usize,
    consensus_counts: Vec<f64>,
    coincidence: Coincidence,
    disagreement: MeanVar,
}

/// Label distribution and agreement per value of `field`, flagging slices whose consensus
/// class rates or item disagreement differ significantly from the rest (Holm-adjusted).
pub(crate) fn slices(
    data: &Dataset,
    consensus: &Consensus,
    field: &str,
    options: &ReportOptions,
) -> Result<Vec<SliceSummary>, String> {
    let values = data
        .item_meta(field)
        .ok_or_else(|| format!("no item has the metadata field {field:?}"))?;
    let k = data.categories().len();
    let mut tallies: BTreeMap<String, SliceTally> = BTreeMap::new();
    let mut counts = Vec::new();
    for (item, value) in values.iter().enumerate() {
        let value = value.clone().unwrap_or_else(|| "(missing)".to_string());
        let tally = tallies.entry(value).or_insert_with(|| SliceTally {
            items: 0,
            labels: 0,
            consensus_counts: vec![0.0; k],
            coincidence: Coincidence::new(k),
            disagreement: MeanVar::default(),
        });
        data.item_value_counts(item, &mut counts);
        let m: u32 = counts.iter().map(|&(_, n)| n).sum();
        tally.items += 1;
        tally.labels += m as usize;
        if let Some(label) = consensus.label[item] {
            tally.consensus_counts[label as usize] += 1.0;
        }
        for (cell, value) in unit_cells(&counts, k) {
            tally.coincidence.cells[cell as usize] += value;
        }
        if m >= 2 {
            let agreeing: u32 = counts.iter().map(|&(_, n)| n * (n - 1)).sum();
            tally
                .disagreement
                .push(1.0 - f64::from(agreeing) / f64::from(m * (m - 1)));
        }
    }
    if tallies.len() < 2 {
        return Err(format!("the field {field:?} has only one value"));
    }
    Ok(summarise_slices(data, &tallies, options))
}

fn summarise_slices(
    data: &Dataset,
    tallies: &BTreeMap<String, SliceTally>,
    options: &ReportOptions,
) -> Vec<SliceSummary> {
    let k = data.categories().len();
    let scale = data.categories().scale_values(options.level);
    let mut all_counts = vec![0.0; k];
    let mut all_disagreement = Vec::new();
    for tally in tallies.values() {
        all_counts
            .iter_mut()
            .zip(&tally.consensus_counts)
            .for_each(|(a, b)| *a += b);
        all_disagreement.push(tally.disagreement);
    }
    let mut class_p = Vec::new();
    let mut disagreement_p = Vec::new();
    for (index, tally) in tallies.values().enumerate() {
        let rest: Vec<f64> = all_counts
            .iter()
            .zip(&tally.consensus_counts)
            .map(|(a, b)| a - b)
            .collect();
        class_p.push(two_row_p(&tally.consensus_counts, &rest));
        let others = merge_except(&all_disagreement, index);
        disagreement_p
            .push(mean_difference_p(&tally.disagreement, &others).map(|p| (p, others.mean)));
    }
    let class_adjusted = adjust(&class_p);
    let disagreement_adjusted = adjust(
        &disagreement_p
            .iter()
            .map(|p| p.map(|(p, _)| p))
            .collect::<Vec<_>>(),
    );
    let significance = options.thresholds.significance;
    tallies
        .iter()
        .enumerate()
        .map(|(index, (value, tally))| {
            let mut flags = Vec::new();
            if class_adjusted[index].is_some_and(|p| p < significance) {
                flags.push("class_rate_differs".to_string());
            }
            if let (Some(p), Some((_, rest_mean))) =
                (disagreement_adjusted[index], disagreement_p[index])
            {
                if p < significance {
                    let more = tally.disagreement.mean > rest_mean;
                    flags.push(
                        if more {
                            "more_disagreement"
                        } else {
                            "less_disagreement"
                        }
                        .to_string(),
                    );
                }
            }
            let percent = if tally.disagreement.n > 0.0 {
                Ok(1.0 - tally.disagreement.mean)
            } else {
                Err("no item in this slice has two or more labels".to_string())
            };
            let (percent_agreement, percent_agreement_reason) = split(percent);
            let (krippendorff_alpha, krippendorff_alpha_reason) =
                split(alpha_from(&tally.coincidence, options.level, &scale));
            SliceSummary {
                value: value.clone(),
                items: tally.items,
                labels: tally.labels,
                consensus_share: tally
                    .consensus_counts
                    .iter()
                    .map(|c| c / tally.consensus_counts.iter().sum::<f64>().max(1.0))
                    .collect(),
                percent_agreement,
                percent_agreement_reason,
                krippendorff_alpha,
                krippendorff_alpha_reason,
                class_rate_p_adjusted: class_adjusted[index],
                class_rate_p_adjusted_reason: class_adjusted[index].is_none().then(|| {
                    "fewer than two categories used across this slice and the rest".to_string()
                }),
                disagreement_p_adjusted: disagreement_adjusted[index],
                disagreement_p_adjusted_reason: disagreement_adjusted[index].is_none().then(|| {
                    "fewer than two items with two or more labels in this slice or the rest"
                        .to_string()
                }),
                flags,
            }
        })
        .collect()
}

/// Pooled mean and variance of all groups but one.
fn merge_except(groups: &[MeanVar], skip: usize) -> MeanVar {
    let mut merged = MeanVar::default();
    for (index, group) in groups.iter().enumerate() {
        if index != skip {
            merged = merged.merge(group);
        }
    }
    merged
}

/// Holm adjustment over the defined p-values, keeping `None` where a test was undefined.
fn adjust(p_values: &[Option<f64>]) -> Vec<Option<f64>> {
    let defined: Vec<f64> = p_values.iter().flatten().copied().collect();
    let mut adjusted = holm(&defined).into_iter();
    p_values
        .iter()
        .map(|p| p.and_then(|_| adjusted.next()))
        .collect()
}
