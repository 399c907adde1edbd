//! Numbers and ratings: interval alpha and the mean absolute difference between raters,
//! median consensus, and equality within a tolerance.
//!
//! Ratings' alpha, weighted kappas and leniency stay with the categorical `Dataset` at the
//! ordinal level; what ratings take from here is [`rating_consensus`].

use serde::Serialize;

use super::{by_item, index_pairs, ItemConsensus, Row};
use crate::quality::figure::{finite, split, Figure};

/// How far raters agree on numbers.
#[derive(Debug, Clone, Serialize)]
pub struct NumericAgreement {
    /// Krippendorff's alpha with the interval distance `(a - b)^2`.
    pub alpha_interval: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha_interval_reason: Option<String>,
    /// Mean of `|a - b|` over every pair of raters on every item (each pair weighs the
    /// same), in the numbers' own unit.
    pub mean_abs_difference: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_abs_difference_reason: Option<String>,
    /// Pairs of raters on a shared item.
    pub pairs: usize,
    /// Items with two or more values.
    pub pairable_items: usize,
    /// Values left out because they are not finite numbers.
    pub ignored_values: usize,
}

/// Agreement over numeric labels; non-finite values are left out and counted.
pub fn numeric_agreement(rows: &[Row<f64>]) -> NumericAgreement {
    let mut ignored_values = 0;
    let units: Vec<Vec<f64>> = by_item(rows)
        .into_iter()
        .map(|item| {
            let values: Vec<f64> = item.values.iter().map(|(_, &v)| v).collect();
            let kept: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            ignored_values += values.len() - kept.len();
            kept
        })
        .filter(|unit| unit.len() >= 2)
        .collect();
    let pairs: usize = units.iter().map(|u| u.len() * (u.len() - 1) / 2).sum();
    let (alpha_interval, alpha_interval_reason) = split(interval_alpha(&units));
    let (mean_abs_difference, mean_abs_difference_reason) =
        split(mean_abs_difference(&units, pairs));
    NumericAgreement {
        alpha_interval,
        alpha_interval_reason,
        mean_abs_difference,
        mean_abs_difference_reason,
        pairs,
        pairable_items: units.len(),
        ignored_values,
    }
}

/// Interval alpha in closed form, linear in the number of values: within a unit the
/// squared differences of all ordered pairs sum to `2 m SS_u` (SS about the unit mean),
/// and over all pairable values to `2 n SS`, so
/// `alpha = 1 - (n - 1) * sum_u(m_u SS_u / (m_u - 1)) / (n SS)`.
fn interval_alpha(units: &[Vec<f64>]) -> Figure {
    let n: usize = units.iter().map(Vec::len).sum();
    if n < 2 {
        return Err("no item has two or more values".to_string());
    }
    let within: f64 = units
        .iter()
        .map(|unit| {
            let m = unit.len() as f64;
            m * squares_about_mean(unit.iter().copied()) / (m - 1.0)
        })
        .sum();
    let total = squares_about_mean(units.iter().flatten().copied());
    if total <= 0.0 {
        return Err("all pairable values are equal, so expected disagreement is zero".to_string());
    }
    let n = n as f64;
    finite(1.0 - (n - 1.0) * within / (n * total), "alpha")
}

/// Sum of squared deviations from the mean.
fn squares_about_mean(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let (count, sum) = values
        .clone()
        .fold((0.0, 0.0), |(c, s), v| (c + 1.0, s + v));
    if count == 0.0 {
        return 0.0;
    }
    let mean = sum / count;
    values.map(|v| (v - mean).powi(2)).sum()
}

fn mean_abs_difference(units: &[Vec<f64>], pairs: usize) -> Figure {
    if pairs == 0 {
        return Err("no item has two or more values".to_string());
    }
    let total: f64 = units
        .iter()
        .flat_map(|unit| index_pairs(unit.len()).map(move |(i, j)| (unit[i] - unit[j]).abs()))
        .sum();
    finite(total / pairs as f64, "mean absolute difference")
}

/// Whether two numbers are equal within `tolerance`, allowing for floating-point
/// rounding (`1e-9` relative), so that 1.3 and 1.2 are within 0.1. Non-finite numbers
/// equal nothing.
pub fn numbers_within(a: f64, b: f64, tolerance: f64) -> bool {
    let slack = 1e-9 * a.abs().max(b.abs()).max(1.0);
    a.is_finite() && b.is_finite() && (a - b).abs() <= tolerance.max(0.0) + slack
}

/// The median of some numbers (the mean of the two middle ones for an even count), or
/// `None` for none.
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// The median of one item's numbers; a rater agrees when their value is within
/// `tolerance` of it ([`numbers_within`]). Non-finite values are left out (and do not
/// count as raters); `tie` is never set, the share says how settled the item is. `None`
/// without a finite value.
pub fn numeric_consensus(values: &[f64], tolerance: f64) -> Option<ItemConsensus<f64>> {
    let kept: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let center = median(kept.clone())?;
    let agreeing = kept
        .iter()
        .filter(|&&v| numbers_within(v, center, tolerance))
        .count();
    Some(ItemConsensus::new(center, agreeing, kept.len(), false))
}

/// The median of one item's ratings, given as positions on the scale (0 = lowest). With
/// an even count and two different middle ratings the lower one is taken and `tie` set.
/// A rater agrees when their rating is at most `tolerance` steps away. `None` without
/// ratings.
pub fn rating_consensus(positions: &[usize], tolerance: usize) -> Option<ItemConsensus<usize>> {
    let mut sorted = positions.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let lower = *sorted.get(n.checked_sub(1)? / 2)?;
    let tie = n % 2 == 0 && sorted[n / 2] != lower;
    let agreeing = sorted
        .iter()
        .filter(|&&p| p.abs_diff(lower) <= tolerance)
        .count();
    Some(ItemConsensus::new(lower, agreeing, n, tie))
}

#[cfg(test)]
mod tests;
