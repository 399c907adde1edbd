//! Marginal homogeneity of a square table of paired labels: does one rater use the
//! categories at the same rates as a reference on the same items? With a single reference
//! label per item this is the Stuart-Maxwell test; a reference that is several raters'
//! labels weighs each of them by its share of the item.

use super::stats::{chi_square_sf, normal_two_sided};

/// Pivots below this share of the largest diagonal entry count as zero.
const PIVOT_TOLERANCE: f64 = 1e-10;

/// The test of a k x k table (rows: the rater, columns: the reference).
#[derive(Debug, Clone)]
pub(crate) struct MarginalTest {
    /// `d' S^- d` with `d` the row minus column totals and `S` their covariance.
    pub statistic: f64,
    /// Rank of `S` (k - 1 when every category is connected by some disagreement).
    pub df: usize,
    pub p_value: f64,
    /// Half the sum of absolute differences between row and column shares (0 to 1): the
    /// share of the rater's labels that would have to change to match the reference's mix.
    pub shift: f64,
    /// Row shares (the rater's) per category.
    pub row_share: Vec<f64>,
    /// Column shares (the reference's) per category.
    pub column_share: Vec<f64>,
    /// Per category: two-sided p-value of "rater says c" against "reference says c" (with
    /// one reference label per item, McNemar's), with the sign of the difference
    /// (positive: the rater uses c more).
    pub per_category: Vec<(f64, f64)>,
}

/// The Stuart-Maxwell test of a paired table of counts (row-major, `k x k`).
#[cfg(test)]
pub(crate) fn stuart_maxwell(table: &[f64], k: usize) -> Option<MarginalTest> {
    let moments: Vec<f64> = (0..k * k)
        .map(|index| {
            let (i, j) = (index / k, index % k);
            if i == j {
                (0..k).map(|row| table[row * k + j]).sum()
            } else {
                0.0
            }
        })
        .collect();
    marginal_homogeneity(table, &moments, k)
}

/// The test of `table` (row-major, `k x k`: each label of the rater adds its reference's
/// share of each category to its row) with `moments` the sum over the labels of `p p'`,
/// `p` the label's reference shares. The covariance of the differences is the sum of their
/// outer products, `diag(rows) - T - T' + moments`: with one reference label per item
/// (moments the column totals on the diagonal) Stuart-Maxwell's. `None` for an empty
/// table. A table with no disagreement gives statistic 0, df 0 and p-value 1.
pub(crate) fn marginal_homogeneity(
    table: &[f64],
    moments: &[f64],
    k: usize,
) -> Option<MarginalTest> {
    if k == 0 || table.len() != k * k || moments.len() != k * k {
        return None;
    }
    let total: f64 = table.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let cell = |i: usize, j: usize| table[i * k + j];
    let rows: Vec<f64> = (0..k).map(|i| (0..k).map(|j| cell(i, j)).sum()).collect();
    let columns: Vec<f64> = (0..k).map(|j| (0..k).map(|i| cell(i, j)).sum()).collect();
    let mut difference: Vec<f64> = (0..k).map(|i| rows[i] - columns[i]).collect();
    let covariance_of = |i: usize, j: usize| {
        let own = if i == j { rows[i] } else { 0.0 };
        own - cell(i, j) - cell(j, i) + moments[i * k + j]
    };
    let mut covariance: Vec<f64> = (0..k * k)
        .map(|index| covariance_of(index / k, index % k))
        .collect();
    let per_category = (0..k)
        .map(|c| {
            let (more_or_fewer, variance) = (rows[c] - columns[c], covariance_of(c, c));
            let p = if variance > PIVOT_TOLERANCE * total {
                normal_two_sided(more_or_fewer / variance.sqrt()).unwrap_or(1.0)
            } else {
                1.0
            };
            (p, more_or_fewer)
        })
        .collect();
    let (statistic, df) = quadratic_form(&mut covariance, &mut difference, k);
    let p_value = if df == 0 {
        1.0
    } else {
        chi_square_sf(statistic, df as f64)?
    };
    let row_share: Vec<f64> = rows.iter().map(|r| r / total).collect();
    let column_share: Vec<f64> = columns.iter().map(|c| c / total).collect();
    let shift = row_share
        .iter()
        .zip(&column_share)
        .map(|(r, c)| (r - c).abs())
        .sum::<f64>()
        / 2.0;
    Some(MarginalTest {
        statistic,
        df,
        p_value,
        shift,
        row_share,
        column_share,
        per_category,
    })
}

/// `b' A^- b` for a symmetric positive semi-definite `A` by Gaussian elimination that skips
/// zero pivots (the rank is returned beside it). `b` must lie in the range of `A`, as the
/// marginal differences do.
fn quadratic_form(a: &mut [f64], b: &mut [f64], k: usize) -> (f64, usize) {
    let scale = (0..k).map(|i| a[i * k + i]).fold(0.0, f64::max);
    let mut value = 0.0;
    let mut rank = 0;
    for p in 0..k {
        let pivot = a[p * k + p];
        if pivot <= PIVOT_TOLERANCE * scale || pivot <= 0.0 {
            continue;
        }
        rank += 1;
        value += b[p] * b[p] / pivot;
        for i in p + 1..k {
            let factor = a[i * k + p] / pivot;
            if factor == 0.0 {
                continue;
            }
            for j in p..k {
                a[i * k + j] -= factor * a[p * k + j];
            }
            b[i] -= factor * b[p];
        }
    }
    (value, rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Fixture {
        cases: Vec<Case>,
    }

    #[derive(serde::Deserialize)]
    struct Case {
        categories: usize,
        table: Vec<Vec<f64>>,
        statistic: f64,
        df: usize,
        p_value: f64,
    }

    #[test]
    fn matches_statsmodels_stuart_maxwell() {
        let fixture: Fixture = serde_json::from_str(include_str!(
            "../../tests/fixtures/quality/stuart_maxwell.json"
        ))
        .expect("fixture");
        for case in &fixture.cases {
            let table: Vec<f64> = case.table.concat();
            let test = stuart_maxwell(&table, case.categories).expect("test");
            assert!(
                (test.statistic - case.statistic).abs() < 1e-9,
                "{}",
                test.statistic
            );
            assert_eq!(test.df, case.df);
            assert!((test.p_value - case.p_value).abs() < 1e-9);
        }
    }

    #[test]
    fn no_disagreement_is_no_evidence() {
        let test = stuart_maxwell(&[5.0, 0.0, 0.0, 7.0], 2).expect("test");
        assert_eq!((test.statistic, test.df, test.p_value), (0.0, 0, 1.0));
        assert_eq!(test.shift, 0.0);
        assert!(stuart_maxwell(&[0.0; 4], 2).is_none());
    }

    #[test]
    fn two_categories_reduce_to_mcnemar() {
        // Off-diagonal 15 and 5: McNemar's chi-square (b - c)^2 / (b + c) = 5.
        let test = stuart_maxwell(&[30.0, 15.0, 5.0, 50.0], 2).expect("test");
        assert!((test.statistic - 5.0).abs() < 1e-12);
        assert_eq!(test.df, 1);
        assert!((test.shift - 0.1).abs() < 1e-12);
        assert!(test.per_category[0].1 > 0.0 && test.per_category[1].1 < 0.0);
    }
}
