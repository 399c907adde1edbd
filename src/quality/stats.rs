//! Small statistical helpers: medians, percentiles, chi-square and z tests, Holm correction.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Median of the values (mean of the middle two for an even count); `None` when empty.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    // The middle value found in place rather than by sorting everything: a report takes
    // the median time of each rater's labels, hundreds of thousands in all.
    let odd = values.len() % 2 == 1;
    let (below, &mut middle, _) = values.select_nth_unstable_by(values.len() / 2, f64::total_cmp);
    if odd {
        return Some(middle);
    }
    let before = below.iter().copied().max_by(f64::total_cmp)?;
    Some((before + middle) / 2.0)
}

/// Percentile `q` in [0, 1] of sorted values with linear interpolation (numpy's default).
pub(crate) fn percentile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let fraction = position - lower as f64;
    Some(sorted[lower] + (sorted[upper] - sorted[lower]) * fraction)
}

/// Upper tail probability of a chi-square statistic.
pub(crate) fn chi_square_sf(statistic: f64, df: f64) -> Option<f64> {
    let distribution = ChiSquared::new(df).ok()?;
    let p = distribution.sf(statistic.max(0.0));
    p.is_finite().then_some(p.clamp(0.0, 1.0))
}

/// Two-sided p-value of a standard normal z statistic.
pub(crate) fn normal_two_sided(z: f64) -> Option<f64> {
    let distribution = Normal::new(0.0, 1.0).ok()?;
    let p = 2.0 * distribution.sf(z.abs());
    p.is_finite().then_some(p.clamp(0.0, 1.0))
}

/// Holm step-down adjusted p-values (same order as the input).
pub(crate) fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![1.0; m];
    let mut running = 0.0f64;
    for (rank, &index) in order.iter().enumerate() {
        let scaled = ((m - rank) as f64 * p_values[index]).min(1.0);
        running = running.max(scaled);
        adjusted[index] = running;
    }
    adjusted
}

/// P-value of the chi-square test of homogeneity of two count rows over the same columns
/// (e.g. one slice vs the rest). Columns empty in both rows are dropped; `None` when fewer
/// than two columns or an empty row remain.
pub(crate) fn two_row_p(first: &[f64], second: &[f64]) -> Option<f64> {
    let n1: f64 = first.iter().sum();
    let n2: f64 = second.iter().sum();
    let n = n1 + n2;
    let used = first
        .iter()
        .zip(second)
        .filter(|(a, b)| **a + **b > 0.0)
        .count();
    if used < 2 || n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    let mut statistic = 0.0;
    for (&a, &b) in first.iter().zip(second) {
        let total = a + b;
        if total == 0.0 {
            continue;
        }
        let expected_a = n1 * total / n;
        let expected_b = n2 * total / n;
        statistic += (a - expected_a).powi(2) / expected_a + (b - expected_b).powi(2) / expected_b;
    }
    chi_square_sf(statistic, (used - 1) as f64)
}

/// Two-sided p-value that two proportions `s1/n1` and `s2/n2` are equal (pooled z test).
pub(crate) fn two_proportion_p(s1: f64, n1: f64, s2: f64, n2: f64) -> Option<f64> {
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    let pooled = (s1 + s2) / (n1 + n2);
    let spread = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if spread == 0.0 {
        return Some(1.0);
    }
    normal_two_sided((s1 / n1 - s2 / n2) / spread)
}

/// Upper end of the 95% Wilson score interval of a proportion `successes / n`.
pub(crate) fn wilson_upper(successes: f64, n: f64) -> Option<f64> {
    if n <= 0.0 {
        return None;
    }
    let z = 1.959_963_984_540_054;
    let p = successes / n;
    let centre = p + z * z / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    Some(((centre + spread) / (1.0 + z * z / n)).min(1.0))
}

/// Running mean and variance (Welford), for comparing group means.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MeanVar {
    pub n: f64,
    pub mean: f64,
    m2: f64,
}

impl MeanVar {
    pub(crate) fn push(&mut self, x: f64) {
        self.n += 1.0;
        let delta = x - self.mean;
        self.mean += delta / self.n;
        self.m2 += delta * (x - self.mean);
    }

    /// Combine two groups' statistics (Chan et al.).
    pub(crate) fn merge(&self, other: &MeanVar) -> MeanVar {
        let n = self.n + other.n;
        if n == 0.0 {
            return MeanVar::default();
        }
        let delta = other.mean - self.mean;
        MeanVar {
            n,
            mean: self.mean + delta * other.n / n,
            m2: self.m2 + other.m2 + delta * delta * self.n * other.n / n,
        }
    }

    pub(crate) fn variance(&self) -> f64 {
        if self.n > 1.0 {
            self.m2 / (self.n - 1.0)
        } else {
            0.0
        }
    }
}

/// Two-sided p-value that two means differ (Welch-type z test, large samples).
pub(crate) fn mean_difference_p(a: &MeanVar, b: &MeanVar) -> Option<f64> {
    if a.n < 2.0 || b.n < 2.0 {
        return None;
    }
    let spread = (a.variance() / a.n + b.variance() / b.n).sqrt();
    if spread == 0.0 {
        return Some(if a.mean == b.mean { 1.0 } else { 0.0 });
    }
    normal_two_sided((a.mean - b.mean) / spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holm_matches_hand_computation() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&sorted, 0.5), Some(2.5));
        assert!((percentile_sorted(&sorted, 0.025).unwrap_or(0.0) - 1.075).abs() < 1e-12);
        assert_eq!(percentile_sorted(&[], 0.5), None);
    }

    #[test]
    fn chi_square_of_a_known_table() {
        // 2 x 2 table [[10, 20], [20, 10]]: chi2 = 6.6667, p = 0.00982.
        let p = two_row_p(&[10.0, 20.0], &[20.0, 10.0]).expect("defined");
        assert!((p - 0.009823).abs() < 1e-6, "{p}");
        assert!(two_row_p(&[3.0, 0.0], &[4.0, 0.0]).is_none());
    }

    #[test]
    fn merged_mean_var_equals_the_whole() {
        let (mut a, mut b, mut whole) =
            (MeanVar::default(), MeanVar::default(), MeanVar::default());
        for x in [1.0, 4.0, 2.0] {
            a.push(x);
            whole.push(x);
        }
        for x in [7.0, 3.0] {
            b.push(x);
            whole.push(x);
        }
        let merged = a.merge(&b);
        assert!((merged.mean - whole.mean).abs() < 1e-12);
        assert!((merged.variance() - whole.variance()).abs() < 1e-12);
    }

    #[test]
    fn wilson_upper_matches_a_textbook_value() {
        // 6 of 10: Wilson 95% interval 0.313 to 0.832.
        assert!((wilson_upper(6.0, 10.0).unwrap_or(0.0) - 0.8318).abs() < 1e-3);
        assert_eq!(wilson_upper(0.0, 0.0), None);
    }

    #[test]
    fn the_median_is_the_middle_of_the_sorted_values() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for len in 1..200 {
            let values: Vec<f64> = (0..len)
                .map(|_| f64::from(rng.gen_range(0..50u32)) * 250.0)
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let mid = len / 2;
            let expected = if len % 2 == 1 {
                sorted[mid]
            } else {
                (sorted[mid - 1] + sorted[mid]) / 2.0
            };
            let found = median(&mut values.clone()).expect("values");
            assert_eq!(found.to_bits(), expected.to_bits(), "{values:?}");
        }
    }

    #[test]
    fn median_handles_even_odd_and_empty() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
