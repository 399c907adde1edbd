//! Rater quality: volume, gold accuracy, agreement with the other raters' consensus,
//! confusion matrices, time per label, informativeness and flags.

use serde::Serialize;

use super::consensus::Consensus;
use super::dataset::Dataset;
use super::figure::{split, Figure};
use super::kappa::{cohen_kappa, Weights};
use super::parallel::map_ranges;
use super::reference::{Reference, References};
use super::report::ReportOptions;
use super::stats::{median, wilson_upper};

/// Rows of a confusion matrix with less mass than this are left out of informativeness.
const MIN_ROW_MASS: f64 = 3.0;

/// The `spammer` flag needs informativeness resting on at least two classes with this much
/// of the rater's labels each: with fewer, one noisy row can look like any other.
const MIN_FLAG_ROW_MASS: f64 = 10.0;

/// Quality figures for one rater.
#[derive(Debug, Clone, Serialize)]
pub struct RaterQuality {
    pub rater: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Labels given.
    pub labels: usize,
    /// Labels given per category, in scale order (all labels, compared or not).
    pub label_counts: Vec<u32>,
    /// Labels on items with a gold value.
    pub gold_items: usize,
    pub gold_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gold_accuracy_reason: Option<String>,
    /// Share of compared labels equal to the consensus of the item's other raters
    /// (leave-one-out: the rater's own vote is never part of it).
    pub consensus_agreement: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consensus_agreement_reason: Option<String>,
    /// Cohen's kappa between the rater's labels and the other raters' consensus.
    pub consensus_kappa: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consensus_kappa_reason: Option<String>,
    /// Labels compared with the other raters' consensus.
    pub consensus_compared: usize,
    /// Labels left out because the other raters of the item were tied.
    pub consensus_excluded_tie: usize,
    /// Labels left out because no other rater labelled the item.
    pub consensus_excluded_alone: usize,
    /// Counts over compared labels: rows = the other raters' consensus category, columns =
    /// the rater's category.
    pub confusion: Vec<Vec<u32>>,
    /// Dawid-Skene estimate of P(rater says column | true class is row), when that method ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ds_confusion: Option<Vec<Vec<f64>>>,
    /// Median milliseconds per label.
    pub median_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_ms_reason: Option<String>,
    /// How much the rater's answers say about the true class (Raykar & Yu's spammer score):
    /// 0 when the answer does not depend on the class (random, or always the same label),
    /// 1 for a perfect rater. From the Dawid-Skene confusion matrix when that method ran,
    /// else from `confusion`.
    pub informativeness: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub informativeness_reason: Option<String>,
    /// Any of: too_fast (median below `too_fast_ms`), low_gold_accuracy (upper end of the 95%
    /// Wilson interval below the limit), spammer (informativeness below the limit, resting on
    /// two or more classes with 10 or more of the rater's labels each), biased
    /// (label distribution or leniency), drift.
    pub flags: Vec<String>,
}

/// Bias findings computed elsewhere that become rater flags.
#[derive(Debug, Clone, Default)]
pub(crate) struct RaterSignals {
    pub biased: Vec<bool>,
    pub drift: Vec<bool>,
}

/// Quality figures for every rater, in rater-name order.
pub(crate) fn rater_quality(
    data: &Dataset,
    consensus: &Consensus,
    references: &References,
    signals: &RaterSignals,
    options: &ReportOptions,
) -> Vec<RaterQuality> {
    let counts = RaterCounts::of(data, consensus, references, options);
    let mut raters = map_ranges(
        data.rater_count(),
        options.threads,
        || (),
        |_, rater| one_rater(data, consensus, &counts, signals, options, rater),
    );
    raters.sort_by(|a, b| a.rater.cmp(&b.rater));
    raters
}

/// What each rater's figures count of their labels, gathered in one pass over every label
/// in the dataset's order. A pass per rater took each of the rater's labels from far apart
/// in the dataset (its label, reference, time, the item's gold and posterior), and waited
/// on memory for most of them: on half a million labels that was the report's biggest step.
/// A rater's labels come in the same order either way, so every sum is the same.
struct RaterCounts {
    k: usize,
    /// `raters x k x k`: rows the other raters' consensus category, columns the rater's.
    tables: Vec<f64>,
    /// `raters x k`: labels given per category.
    label_counts: Vec<u32>,
    /// Per rater: labels on gold items, and those within the tolerance of the gold value.
    gold: Vec<(usize, usize)>,
    /// Per rater: labels left out of the comparison for a tie, and for no other rater.
    excluded: Vec<(usize, usize)>,
    /// Per rater: the durations recorded, in milliseconds.
    durations: Vec<Vec<f64>>,
    /// `raters x k`: the expected number of the rater's items in each true class under the
    /// Dawid-Skene model, when it ran.
    row_mass: Option<Vec<f64>>,
}

impl RaterCounts {
    fn of(
        data: &Dataset,
        consensus: &Consensus,
        references: &References,
        options: &ReportOptions,
    ) -> RaterCounts {
        let (k, raters) = (data.categories().len(), data.rater_count());
        let model = consensus.model.as_ref();
        let mut counts = RaterCounts {
            k,
            tables: vec![0.0; raters * k * k],
            label_counts: vec![0; raters * k],
            gold: vec![(0, 0); raters],
            excluded: vec![(0, 0); raters],
            durations: (0..raters)
                .map(|r| Vec::with_capacity(data.rater_label_indexes(r).len()))
                .collect(),
            row_mass: model.map(|_| vec![0.0; raters * k]),
        };
        for (index, label) in data.labels().iter().enumerate() {
            let (rater, value) = (label.rater as usize, label.value as usize);
            counts.label_counts[rater * k + value] += 1;
            match references.of_label(index) {
                Reference::Class(agreed) => {
                    counts.tables[(rater * k + agreed as usize) * k + value] += 1.0;
                }
                Reference::Tie => counts.excluded[rater].0 += 1,
                Reference::Alone => counts.excluded[rater].1 += 1,
            }
            if let Some(gold) = data.gold(label.item as usize) {
                let within = gold.abs_diff(label.value) <= options.gold_tolerance;
                counts.gold[rater].0 += 1;
                counts.gold[rater].1 += usize::from(within);
            }
            if let Some(ms) = data.label_time(index).duration_ms {
                counts.durations[rater].push(f64::from(ms));
            }
            if let (Some(mass), Some(model)) = (&mut counts.row_mass, model) {
                let posterior = model.item_posterior(label.item as usize);
                for (m, p) in mass[rater * k..(rater + 1) * k].iter_mut().zip(posterior) {
                    *m += p;
                }
            }
        }
        counts
    }

    /// Rater `rater`'s table of consensus category against their own.
    fn table(&self, rater: usize) -> &[f64] {
        of_rater(&self.tables, rater, self.k * self.k)
    }

    /// Rater `rater`'s labels per category.
    fn label_counts(&self, rater: usize) -> &[u32] {
        of_rater(&self.label_counts, rater, self.k)
    }

    /// Rater `rater`'s expected items per true class, when Dawid-Skene ran.
    fn row_mass(&self, rater: usize) -> Option<&[f64]> {
        (self.row_mass.as_deref()).map(|mass| of_rater(mass, rater, self.k))
    }
}

/// Rater `rater`'s block of `width` values in a `raters x width` array.
fn of_rater<T>(values: &[T], rater: usize, width: usize) -> &[T] {
    &values[rater * width..(rater + 1) * width]
}

fn one_rater(
    data: &Dataset,
    consensus: &Consensus,
    counts: &RaterCounts,
    signals: &RaterSignals,
    options: &ReportOptions,
    rater: usize,
) -> RaterQuality {
    let k = data.categories().len();
    let table = counts.table(rater);
    let label_counts = counts.label_counts(rater).to_vec();
    let (gold_items, gold_correct) = counts.gold[rater];
    let (excluded_tie, excluded_alone) = counts.excluded[rater];
    let mut durations = counts.durations[rater].clone();
    let labels = data.rater_label_indexes(rater).len();
    let gold = if gold_items == 0 {
        Err("no gold items among this rater's labels".to_string())
    } else {
        Ok(gold_correct as f64 / gold_items as f64)
    };
    let agreeing: f64 = (0..k).map(|c| table[c * k + c]).sum();
    let compared = labels - excluded_tie - excluded_alone;
    let agreement = if compared == 0 {
        Err(no_comparison(labels, excluded_tie, excluded_alone))
    } else {
        Ok(agreeing / compared as f64)
    };
    let kappa = if compared == 0 {
        Err(no_comparison(labels, excluded_tie, excluded_alone))
    } else {
        cohen_kappa(table, k, Weights::None)
    };
    let median_ms = median(&mut durations).ok_or_else(|| "no durations recorded".to_string());
    let ds_confusion = consensus
        .model
        .as_ref()
        .map(|model| model.rater_confusion(rater).to_vec());
    let (matrix, row_mass) = match (&ds_confusion, counts.row_mass(rater)) {
        (Some(matrix), Some(mass)) => (matrix.clone(), mass.to_vec()),
        _ => (row_normalised(table, k), row_sums(table, k)),
    };
    let informative = informativeness(&matrix, &row_mass, k);
    let settled = row_mass.iter().filter(|&&m| m >= MIN_FLAG_ROW_MASS).count() >= 2;
    let mut quality = RaterQuality {
        rater: data.raters()[rater].clone(),
        pool: data
            .pool_of(rater)
            .map(|p| data.pools()[p as usize].clone()),
        labels,
        label_counts,
        gold_items,
        gold_accuracy: None,
        gold_accuracy_reason: None,
        consensus_agreement: None,
        consensus_agreement_reason: None,
        consensus_kappa: None,
        consensus_kappa_reason: None,
        consensus_compared: compared,
        consensus_excluded_tie: excluded_tie,
        consensus_excluded_alone: excluded_alone,
        confusion: table
            .chunks(k.max(1))
            .map(|row| row.iter().map(|&n| n as u32).collect())
            .collect(),
        ds_confusion: ds_confusion.map(|m| m.chunks(k.max(1)).map(<[f64]>::to_vec).collect()),
        median_ms: None,
        median_ms_reason: None,
        informativeness: None,
        informativeness_reason: None,
        flags: Vec::new(),
    };
    (quality.gold_accuracy, quality.gold_accuracy_reason) = split(gold);
    (
        quality.consensus_agreement,
        quality.consensus_agreement_reason,
    ) = split(agreement);
    (quality.consensus_kappa, quality.consensus_kappa_reason) = split(kappa);
    (quality.median_ms, quality.median_ms_reason) = split(median_ms);
    (quality.informativeness, quality.informativeness_reason) = split(informative);
    quality.flags = flags(&quality, signals, options, rater, settled);
    quality
}

fn flags(
    quality: &RaterQuality,
    signals: &RaterSignals,
    options: &ReportOptions,
    rater: usize,
    informativeness_settled: bool,
) -> Vec<String> {
    let limits = &options.thresholds;
    let enough = quality.labels >= limits.min_rater_labels;
    let too_fast = matches!((quality.median_ms, options.too_fast_ms), (Some(m), Some(limit)) if m < f64::from(limit));
    // Flag only when even the optimistic end of the accuracy's interval is below the limit,
    // so a handful of gold items cannot flag a good rater by bad luck.
    let gold_n = quality.gold_items as f64;
    let low_gold = quality.gold_items >= limits.min_gold_items
        && quality
            .gold_accuracy
            .and_then(|a| wilson_upper((a * gold_n).round(), gold_n))
            .is_some_and(|upper| upper < limits.low_gold_accuracy);
    let spammer = enough
        && informativeness_settled
        && quality
            .informativeness
            .is_some_and(|s| s < limits.min_informativeness);
    let biased = signals.biased.get(rater).copied().unwrap_or(false);
    let drift = signals.drift.get(rater).copied().unwrap_or(false);
    [
        (too_fast, "too_fast"),
        (low_gold, "low_gold_accuracy"),
        (spammer, "spammer"),
        (biased, "biased"),
        (drift, "drift"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, name)| name.to_string())
    .collect()
}

fn no_comparison(labels: usize, tie: usize, alone: usize) -> String {
    if labels == 0 {
        "no labels".to_string()
    } else {
        format!(
            "no label to compare: on {tie} items the other raters were tied and {alone} items had no other rater"
        )
    }
}

fn row_sums(table: &[f64], k: usize) -> Vec<f64> {
    table.chunks(k.max(1)).map(|row| row.iter().sum()).collect()
}

fn row_normalised(table: &[f64], k: usize) -> Vec<f64> {
    table
        .chunks(k.max(1))
        .flat_map(|row| {
            let total: f64 = row.iter().sum();
            row.iter()
                .map(move |&n| if total > 0.0 { n / total } else { 0.0 })
        })
        .collect()
}

/// Raykar & Yu's spammer score: mean squared difference between rows of the confusion matrix
/// (`sum over row pairs and columns of (a_ck - a_dk)^2 / (K'(K'-1))`), over the K' true
/// classes the rater saw at least a few times. Identical rows mean the label does not depend
/// on the true class.
pub(crate) fn informativeness(matrix: &[f64], row_mass: &[f64], k: usize) -> Figure {
    let rows: Vec<&[f64]> = matrix
        .chunks(k.max(1))
        .zip(row_mass)
        .filter(|(_, &mass)| mass >= MIN_ROW_MASS)
        .map(|(row, _)| row)
        .collect();
    let used = rows.len();
    if used < 2 {
        return Err(format!(
            "fewer than two classes with {MIN_ROW_MASS} or more of this rater's items"
        ));
    }
    let mut total = 0.0;
    for (position, first) in rows.iter().enumerate() {
        for second in &rows[position + 1..] {
            total += first
                .iter()
                .zip(second.iter())
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>();
        }
    }
    super::figure::finite(total / (used * (used - 1)) as f64, "informativeness")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::consensus::{dawid_skene_consensus, majority_vote};
    use crate::quality::synth;

    /// Rater `rater`'s counts taken the plain way, from their own labels one by one:
    /// (table, label counts, gold, excluded, durations, row mass).
    #[allow(clippy::type_complexity)]
    fn plain(
        data: &Dataset,
        consensus: &Consensus,
        references: &References,
        rater: usize,
    ) -> (
        Vec<f64>,
        Vec<u32>,
        (usize, usize),
        (usize, usize),
        Vec<f64>,
        Option<Vec<f64>>,
    ) {
        let k = data.categories().len();
        let (mut table, mut label_counts) = (vec![0.0; k * k], vec![0; k]);
        let (mut gold, mut excluded, mut durations) = ((0, 0), (0, 0), Vec::new());
        let mut mass = consensus.model.as_ref().map(|_| vec![0.0; k]);
        for &index in data.rater_label_indexes(rater) {
            let label = data.labels()[index as usize];
            label_counts[label.value as usize] += 1;
            match references.of_label(index as usize) {
                Reference::Class(c) => table[c as usize * k + label.value as usize] += 1.0,
                Reference::Tie => excluded.0 += 1,
                Reference::Alone => excluded.1 += 1,
            }
            if let Some(value) = data.gold(label.item as usize) {
                gold.0 += 1;
                gold.1 += usize::from(value == label.value);
            }
            durations.extend(data.label_time(index as usize).duration_ms.map(f64::from));
            if let (Some(mass), Some(model)) = (&mut mass, &consensus.model) {
                for (m, p) in mass
                    .iter_mut()
                    .zip(model.item_posterior(label.item as usize))
                {
                    *m += p;
                }
            }
        }
        (table, label_counts, gold, excluded, durations, mass)
    }

    #[test]
    fn one_pass_counts_each_rater_as_their_own_labels_do() {
        let data = synth::generate(3_000, 4, 12, 3, 7);
        let options = ReportOptions::default();
        let fitted = dawid_skene_consensus(&data, &options.dawid_skene, 1);
        for consensus in [majority_vote(&data), fitted] {
            let references = References::of(&data, &consensus, 1);
            let counts = RaterCounts::of(&data, &consensus, &references, &options);
            for rater in 0..data.rater_count() {
                let (table, label_counts, gold, excluded, durations, mass) =
                    plain(&data, &consensus, &references, rater);
                assert!(gold.0 > 0 && !durations.is_empty());
                assert_eq!(counts.table(rater), table.as_slice());
                assert_eq!(counts.label_counts(rater), label_counts.as_slice());
                assert_eq!(
                    (counts.gold[rater], counts.excluded[rater]),
                    (gold, excluded)
                );
                assert_eq!(counts.durations[rater], durations);
                assert_eq!(counts.row_mass(rater), mass.as_deref());
            }
        }
    }

    #[test]
    fn informativeness_is_one_for_perfect_and_zero_for_constant_raters() {
        let identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let mass = [10.0, 10.0, 10.0];
        assert!((informativeness(&identity, &mass, 3).expect("defined") - 1.0).abs() < 1e-12);
        let constant = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        assert_eq!(informativeness(&constant, &mass, 3).expect("defined"), 0.0);
        assert!(informativeness(&identity, &[10.0, 0.0, 1.0], 3).is_err());
    }
}
