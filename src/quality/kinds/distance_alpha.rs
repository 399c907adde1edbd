//! Krippendorff's alpha with any distance over any values: the heart of set-valued (MASI,
//! Jaccard), per-label binary and per-token alpha.
//!
//! The coincidence-matrix form over the distinct values (Krippendorff 2011): with `n_uc`
//! the count of value c in unit u, `m_u` the unit's values and `n_c` the pairable values
//! equal to c (units with one value are not pairable),
//!
//! ```text
//! observed = sum_u 1/(m_u - 1) * sum_{c,d} n_uc * (n_ud - [c = d]) * delta(c, d)
//! expected = sum_{c,d} (n_c * n_d - [c = d] * n_c) * delta(c, d)
//! alpha    = 1 - (n - 1) * observed / expected
//! ```
//!
//! which is what the `krippendorff` package computes for a custom distance.

use std::collections::BTreeMap;

use crate::quality::figure::finite;

/// Alpha over `units` (each unit: the values its raters gave) with the distance `delta`.
///
/// `delta` must be symmetric and non-negative; it is called once per pair of distinct
/// values, so the cost grows with the square of the number of distinct values (fine for
/// label sets and tokens, not for free-form numbers: see `numeric_agreement`).
/// Undefined (with the reason) when no unit has two values or all pairable values are
/// equivalent.
pub fn alpha_with_distance<V: Ord>(
    units: &[Vec<V>],
    delta: impl Fn(&V, &V) -> f64,
) -> Result<f64, String> {
    let pairable: Vec<&Vec<V>> = units.iter().filter(|unit| unit.len() >= 2).collect();
    let mut index: BTreeMap<&V, usize> = BTreeMap::new();
    for value in pairable.iter().flat_map(|unit| unit.iter()) {
        let next = index.len();
        index.entry(value).or_insert(next);
    }
    if index.is_empty() {
        return Err("no item has two or more labels, so there are no pairable values".to_string());
    }
    let values: Vec<&V> = {
        let mut ordered = vec![None; index.len()];
        for (&value, &position) in &index {
            ordered[position] = Some(value);
        }
        ordered.into_iter().flatten().collect()
    };
    let distances = distance_matrix(&values, &delta)?;
    let k = values.len();
    let mut totals = vec![0.0; k];
    let mut observed = 0.0;
    let mut counts: Vec<(usize, f64)> = Vec::new();
    for unit in &pairable {
        unit_counts(unit, &index, &mut counts);
        let scale = 1.0 / (unit.len() - 1) as f64;
        for &(c, n_c) in &counts {
            for &(d, n_d) in &counts {
                let pairs = if c == d { n_c * (n_d - 1.0) } else { n_c * n_d };
                observed += scale * pairs * distances[c * k + d];
                totals[c] += scale * pairs;
            }
        }
    }
    let n: f64 = totals.iter().sum();
    let mut expected = 0.0;
    for c in 0..k {
        for d in 0..k {
            let pairs = totals[c] * totals[d] - if c == d { totals[c] } else { 0.0 };
            expected += pairs * distances[c * k + d];
        }
    }
    if expected <= 0.0 {
        return Err(
            "all pairable values are equivalent, so expected disagreement is zero".to_string(),
        );
    }
    finite(1.0 - (n - 1.0) * observed / expected, "alpha")
}

/// The k x k matrix of `delta` between distinct values, refusing non-finite or negative
/// distances.
fn distance_matrix<V>(values: &[&V], delta: &impl Fn(&V, &V) -> f64) -> Result<Vec<f64>, String> {
    let k = values.len();
    let mut distances = vec![0.0; k * k];
    for c in 0..k {
        for d in c..k {
            let distance = delta(values[c], values[d]);
            if !distance.is_finite() || distance < 0.0 {
                return Err(format!(
                    "the distance between two values is {distance}, not a finite non-negative number"
                ));
            }
            distances[c * k + d] = distance;
            distances[d * k + c] = distance;
        }
    }
    Ok(distances)
}

/// How often each distinct value occurs in one unit, as `(value index, count)`.
fn unit_counts<V: Ord>(unit: &[V], index: &BTreeMap<&V, usize>, counts: &mut Vec<(usize, f64)>) {
    counts.clear();
    for value in unit {
        let Some(&c) = index.get(value) else { continue };
        match counts.iter_mut().find(|(seen, _)| *seen == c) {
            Some((_, n)) => *n += 1.0,
            None => counts.push((c, 1.0)),
        }
    }
}

/// The nominal distance: 0 for equal values, 1 otherwise.
pub(crate) fn nominal<V: PartialEq>(a: &V, b: &V) -> f64 {
    f64::from(u8::from(a != b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Krippendorff (2011), section C: alpha nominal 0.743, interval 0.849.
    #[test]
    fn reproduces_the_published_example_at_two_levels() {
        let units: Vec<Vec<u8>> = vec![
            vec![1, 1, 1],
            vec![2, 2, 3, 2],
            vec![3, 3, 3, 3],
            vec![3, 3, 3, 3],
            vec![2, 2, 2, 2],
            vec![1, 2, 3, 4],
            vec![4, 4, 4, 4],
            vec![1, 1, 2, 1],
            vec![2, 2, 2, 2],
            vec![5, 5, 5],
            vec![1, 1],
            vec![3],
        ];
        let nominal_alpha = alpha_with_distance(&units, nominal).expect("defined");
        assert!((nominal_alpha - 0.743).abs() < 5e-4, "{nominal_alpha}");
        let interval = |a: &u8, b: &u8| (f64::from(*a) - f64::from(*b)).powi(2);
        let interval_alpha = alpha_with_distance(&units, interval).expect("defined");
        assert!((interval_alpha - 0.849).abs() < 5e-4, "{interval_alpha}");
    }

    #[test]
    fn identical_raters_agree_perfectly() {
        let units = vec![vec!["a", "a"], vec!["b", "b", "b"], vec!["c", "c"]];
        assert_eq!(alpha_with_distance(&units, nominal), Ok(1.0));
    }

    #[test]
    fn one_rater_per_item_gives_a_reason() {
        let units = vec![vec!["a"], vec!["b"]];
        let reason = alpha_with_distance(&units, nominal).expect_err("undefined");
        assert!(reason.contains("two or more labels"), "{reason}");
        let none: Vec<Vec<&str>> = Vec::new();
        assert!(alpha_with_distance(&none, nominal).is_err());
    }

    #[test]
    fn one_value_everywhere_gives_a_reason() {
        let units = vec![vec!["a", "a"], vec!["a", "a"]];
        let reason = alpha_with_distance(&units, nominal).expect_err("undefined");
        assert!(reason.contains("expected disagreement is zero"), "{reason}");
    }

    #[test]
    fn a_broken_distance_is_refused_not_returned() {
        let units = vec![vec![1.0_f64.to_bits(), 2.0_f64.to_bits()]];
        let reason = alpha_with_distance(&units, |_, _| f64::NAN).expect_err("refused");
        assert!(reason.contains("not a finite"), "{reason}");
    }

    #[test]
    fn systematic_disagreement_is_below_zero() {
        let units = vec![vec!["a", "b"], vec!["b", "a"], vec!["a", "b"]];
        let alpha = alpha_with_distance(&units, nominal).expect("defined");
        assert!(alpha < 0.0, "{alpha}");
    }
}
