//! Rater bias: leniency/severity against consensus on ordered scales, and each rater's label
//! distribution against the rest of the pool. Also holds the report's bias section.

use serde::Serialize;

use super::bootstrap::percentile_interval;
use super::consensus::Consensus;
use super::dataset::Dataset;
use super::drift::RaterDrift;
use super::groups::{PoolPair, PoolSummary, SliceSummary};
use super::guidelines::GuidelineProblems;
use super::report::ReportOptions;
use super::stats::{holm, two_row_test};

/// Residuals beyond this mark a category as over- or under-used (two-sided 5%).
const RESIDUAL_CUTOFF: f64 = 1.96;

/// The bias section of a report.
#[derive(Debug, Clone, Serialize)]
pub struct Bias {
    /// Per rater: mean signed distance from consensus (ordered levels only).
    pub leniency: Vec<RaterLeniency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leniency_reason: Option<String>,
    /// Per rater: label distribution vs the rest of the raters.
    pub distribution: Vec<RaterDistribution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution_reason: Option<String>,
    /// Raters, labels and items per pool.
    pub pools: Vec<PoolSummary>,
    /// Agreement between the consensus labels of each pair of pools.
    pub pool_pairs: Vec<PoolPair>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pools_reason: Option<String>,
    /// The item metadata field used for slices.
    pub slice_field: Option<String>,
    pub slices: Vec<SliceSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slices_reason: Option<String>,
    /// Agreement with consensus early vs late in each rater's session.
    pub drift: Vec<RaterDrift>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_reason: Option<String>,
    /// Items where the most reliable raters agree with each other against the crowd.
    pub guideline_problems: GuidelineProblems,
}

/// A rater's tendency to give higher or lower values than the consensus.
#[derive(Debug, Clone, Serialize)]
pub struct RaterLeniency {
    pub rater: String,
    /// Labels compared with consensus.
    pub labels: usize,
    /// Mean of (rater's value - consensus value) on the scale (ranks for ordinal data).
    pub leniency: f64,
    /// 95% bootstrap interval (items resampled with replacement, consensus held fixed).
    pub leniency_ci95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leniency_ci95_reason: Option<String>,
    /// "higher" or "lower" when the interval excludes zero and the shift is at least a
    /// quarter of a scale step; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tendency: Option<String>,
}

/// A rater's label distribution against everyone else's (chi-square test of homogeneity).
#[derive(Debug, Clone, Serialize)]
pub struct RaterDistribution {
    pub rater: String,
    pub labels: usize,
    pub chi_square: f64,
    pub df: usize,
    pub p_value: f64,
    /// Holm-adjusted over all raters tested.
    pub p_adjusted: f64,
    /// Effect size (Cramér's V of the rater-vs-rest table).
    pub cramers_v: f64,
    /// Categories this rater uses significantly more than the rest.
    pub over_used: Vec<String>,
    /// Categories this rater uses significantly less than the rest.
    pub under_used: Vec<String>,
    /// Significant after correction and V at or above the effect threshold.
    pub biased: bool,
}

/// Each rater's signed distances from consensus, `(item, rater value - consensus value)`.
#[derive(Debug, Clone)]
pub(crate) struct LeniencyShifts {
    per_rater: Vec<Vec<(u32, f64)>>,
    /// Mean distance between neighbouring categories on the scale.
    step: f64,
}

impl LeniencyShifts {
    /// Each rater's mean shift when item `i` counts `weights[i]` times (`NaN` for a rater
    /// with no weighted labels).
    pub(crate) fn means(&self, weights: &[u32]) -> Vec<f64> {
        self.per_rater
            .iter()
            .map(|shifts| {
                let (mut sum, mut count) = (0.0, 0u32);
                for &(item, shift) in shifts {
                    let weight = weights[item as usize];
                    sum += f64::from(weight) * shift;
                    count += weight;
                }
                if count > 0 {
                    sum / f64::from(count)
                } else {
                    f64::NAN
                }
            })
            .collect()
    }
}

/// Signed distances of every label from its item's consensus, on the level's scale (ranks
/// for ordinal data). Defined only for ordered levels.
pub(crate) fn leniency_shifts(
    data: &Dataset,
    consensus: &Consensus,
    options: &ReportOptions,
) -> Result<LeniencyShifts, String> {
    if !options.level.is_ordered() {
        return Err("leniency needs an ordered level (ordinal, interval or ratio)".to_string());
    }
    let scale = data.categories().scale_values(options.level);
    if scale.len() < 2 {
        return Err("the scale has fewer than two categories".to_string());
    }
    let (low, high) = scale
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let per_rater = (0..data.rater_count())
        .map(|rater| {
            data.rater_label_indexes(rater)
                .iter()
                .map(|&index| {
                    let label = data.labels()[index as usize];
                    let agreed = consensus.label[label.item as usize] as usize;
                    (label.item, scale[label.value as usize] - scale[agreed])
                })
                .collect()
        })
        .collect();
    Ok(LeniencyShifts {
        per_rater,
        step: (high - low) / (scale.len() - 1) as f64,
    })
}

/// Leniency rows from the shifts and the bootstrap's per-draw means (`[draw][rater]`).
pub(crate) fn leniency(
    data: &Dataset,
    shifts: &LeniencyShifts,
    draws: &[Vec<f64>],
    options: &ReportOptions,
) -> Vec<RaterLeniency> {
    let all = vec![1u32; data.item_count()];
    let means = shifts.means(&all);
    let threshold = options.thresholds.leniency_steps * shifts.step;
    let mut rows: Vec<RaterLeniency> = means
        .iter()
        .enumerate()
        .filter(|(_, mean)| mean.is_finite())
        .map(|(rater, &mean)| {
            let estimates = draws
                .iter()
                .map(|draw| draw.get(rater).copied().filter(|v| v.is_finite()))
                .collect();
            let interval = percentile_interval(estimates);
            let tendency = match interval {
                Ok([low, _]) if low > 0.0 && mean >= threshold => Some("higher".to_string()),
                Ok([_, high]) if high < 0.0 && mean <= -threshold => Some("lower".to_string()),
                _ => None,
            };
            let (leniency_ci95, leniency_ci95_reason) = super::figure::split_interval(interval);
            RaterLeniency {
                rater: data.raters()[rater].clone(),
                labels: shifts.per_rater[rater].len(),
                leniency: mean,
                leniency_ci95,
                leniency_ci95_reason,
                tendency,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.rater.cmp(&b.rater));
    rows
}

/// Chi-square test of each rater's label counts against the pooled counts of everyone else,
/// for raters with at least `min_rater_labels` labels; p-values Holm-adjusted.
pub(crate) fn distribution(
    data: &Dataset,
    options: &ReportOptions,
) -> Result<Vec<RaterDistribution>, String> {
    if data.rater_count() < 2 {
        return Err("there is only one rater".to_string());
    }
    let k = data.categories().len();
    let mut counts = vec![0.0; data.rater_count() * k];
    let mut totals = vec![0.0; k];
    for label in data.labels() {
        counts[label.rater as usize * k + label.value as usize] += 1.0;
        totals[label.value as usize] += 1.0;
    }
    let mut tested = Vec::new();
    for rater in 0..data.rater_count() {
        let own = &counts[rater * k..(rater + 1) * k];
        let labels = own.iter().sum::<f64>() as usize;
        if labels < options.thresholds.min_rater_labels {
            continue;
        }
        let rest: Vec<f64> = totals.iter().zip(own).map(|(t, o)| t - o).collect();
        if let Some(test) = two_row_test(own, &rest) {
            tested.push((rater, labels, test));
        }
    }
    if tested.is_empty() {
        return Err(format!(
            "no rater has {} or more labels and a testable table",
            options.thresholds.min_rater_labels
        ));
    }
    let adjusted = holm(
        &tested
            .iter()
            .map(|(_, _, test)| test.p_value)
            .collect::<Vec<_>>(),
    );
    let names = |test: &super::stats::TwoRowTest, over: bool| -> Vec<String> {
        (0..k)
            .filter(|&c| {
                if over {
                    test.residuals[c] > RESIDUAL_CUTOFF
                } else {
                    test.residuals[c] < -RESIDUAL_CUTOFF
                }
            })
            .map(|c| data.categories().name(c as u32).to_string())
            .collect()
    };
    let limits = &options.thresholds;
    let mut rows: Vec<RaterDistribution> = tested
        .iter()
        .zip(adjusted)
        .map(|((rater, labels, test), p_adjusted)| RaterDistribution {
            rater: data.raters()[*rater].clone(),
            labels: *labels,
            chi_square: test.statistic,
            df: test.df,
            p_value: test.p_value,
            p_adjusted,
            cramers_v: test.cramers_v,
            over_used: names(test, true),
            under_used: names(test, false),
            biased: p_adjusted < limits.significance && test.cramers_v >= limits.bias_effect,
        })
        .collect();
    rows.sort_by(|a, b| a.rater.cmp(&b.rater));
    Ok(rows)
}
