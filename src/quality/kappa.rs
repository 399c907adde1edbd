//! Kappa-family agreement: Cohen's kappa (unweighted, linear, quadratic), Fleiss' kappa,
//! percent agreement, Gwet's AC1 and PABAK.

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use super::figure::{finite, Figure};

/// Disagreement weights for Cohen's kappa, by category position (as scikit-learn does with
/// `labels=` given): none counts only exact matches, linear `|i - j|`, quadratic `(i - j)^2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weights {
    /// Every disagreement weighs 1.
    None,
    /// Disagreements weigh the distance in positions.
    Linear,
    /// Disagreements weigh the squared distance in positions.
    Quadratic,
}

impl Weights {
    fn weight(self, i: usize, j: usize) -> f64 {
        let distance = i.abs_diff(j) as f64;
        match self {
            Weights::None => f64::from(u8::from(i != j)),
            Weights::Linear => distance,
            Weights::Quadratic => distance * distance,
        }
    }
}

/// Cohen's kappa from a k x k contingency table in row-major order (rows: rater A's
/// category, columns: rater B's): `1 - sum(w * observed) / sum(w * expected)`.
pub fn cohen_kappa(table: &[f64], k: usize, weights: Weights) -> Result<f64, String> {
    if k == 0 || table.len() != k * k {
        return Err("the table is empty".to_string());
    }
    let total: f64 = table.iter().sum();
    if total <= 0.0 {
        return Err("the raters share no items".to_string());
    }
    let rows: Vec<f64> = table.chunks(k).map(|row| row.iter().sum()).collect();
    let columns: Vec<f64> = (0..k)
        .map(|j| (0..k).map(|i| table[i * k + j]).sum())
        .collect();
    let mut observed = 0.0;
    let mut expected = 0.0;
    for i in 0..k {
        for j in 0..k {
            let w = weights.weight(i, j);
            observed += w * table[i * k + j];
            expected += w * rows[i] * columns[j] / total;
        }
    }
    if expected <= 0.0 {
        return Err(
            "chance disagreement is zero: both raters used one and the same category".to_string(),
        );
    }
    finite(1.0 - observed / expected, "kappa")
}

/// Fleiss' kappa of a dataset in Gwet's form for unequal numbers of labels per item (see
/// [`fleiss_kappa_generalised`]); items may have any number of labels.
pub fn fleiss_kappa(data: &Dataset) -> Result<f64, String> {
    ItemAgreement::of_dataset(data).fleiss_kappa()
}

/// Fleiss' kappa in Gwet's form (Handbook of Inter-Rater Reliability, 4th ed., 2014; irrCAC's
/// `fleiss.kappa.raw`) from an items x categories table of label counts. Observed agreement
/// `p_a` is the mean over items with two or more labels of `sum r_ik (r_ik - 1) / (r_i (r_i -
/// 1))`; chance agreement is `sum pi_k^2` with `pi_k` the mean over items with one or more
/// labels of `r_ik / r_i`. With equal label counts this is the classical Fleiss' kappa.
pub fn fleiss_kappa_generalised(rows: &[Vec<f64>]) -> Result<f64, String> {
    let k = rows.first().map_or(0, Vec::len);
    let mut agreement = ItemAgreement {
        category_share_sums: vec![0.0; k],
        ..Default::default()
    };
    let mut counts = Vec::with_capacity(k);
    for row in rows {
        if row.len() != k {
            return Err("rows have different numbers of categories".to_string());
        }
        counts.clear();
        for (category, &n) in row.iter().enumerate() {
            if n.fract() != 0.0 || n < 0.0 {
                return Err(format!("label count {n} is not a whole number"));
            }
            if n > 0.0 {
                counts.push((category as u32, n as u32));
            }
        }
        agreement.add_item(&counts);
    }
    agreement.fleiss_kappa()
}

/// Fleiss' kappa from an items x categories table of label counts (as statsmodels'
/// `fleiss_kappa` after `aggregate_raters`).
pub fn fleiss_kappa_from_table(rows: &[Vec<f64>]) -> Result<f64, String> {
    let Some(first) = rows.first() else {
        return Err("there are no items".to_string());
    };
    let m: f64 = first.iter().sum();
    let (low, high) = rows
        .iter()
        .map(|row| row.iter().sum::<f64>())
        .fold((m, m), |(lo, hi), n| (lo.min(n), hi.max(n)));
    if low != high {
        return Err(format!(
            "items have different numbers of labels (from {low} to {high})"
        ));
    }
    if m < 2.0 {
        return Err("each item has fewer than two labels".to_string());
    }
    let n_items = rows.len() as f64;
    let k = first.len();
    let mut column_totals = vec![0.0; k];
    let mut item_agreement = 0.0;
    for row in rows {
        let squares: f64 = row.iter().map(|n| n * n).sum();
        item_agreement += (squares - m) / (m * (m - 1.0));
        for (total, n) in column_totals.iter_mut().zip(row) {
            *total += n;
        }
    }
    let observed = item_agreement / n_items;
    let chance: f64 = column_totals
        .iter()
        .map(|t| (t / (n_items * m)).powi(2))
        .sum();
    if chance >= 1.0 {
        return Err("all labels are one category, so chance agreement is 1".to_string());
    }
    finite((observed - chance) / (1.0 - chance), "Fleiss' kappa")
}

/// Item-level agreement shared by percent agreement, AC1 and PABAK.
#[derive(Debug, Clone, Default)]
pub(crate) struct ItemAgreement {
    /// Items with two or more labels.
    pub pairable_items: usize,
    /// Sum over pairable items of agreeing pairs / all pairs.
    pub agreement_sum: f64,
    /// Items with one or more labels.
    pub rated_items: usize,
    /// Sum over rated items of each category's share of the item's labels.
    pub category_share_sums: Vec<f64>,
}

impl ItemAgreement {
    pub(crate) fn of_dataset(data: &Dataset) -> Self {
        let k = data.categories().len();
        let mut result = ItemAgreement {
            category_share_sums: vec![0.0; k],
            ..Default::default()
        };
        let mut counts = Vec::new();
        for item in 0..data.item_count() {
            data.item_value_counts(item, &mut counts);
            result.add_item(&counts);
        }
        result
    }

    pub(crate) fn add_item(&mut self, counts: &[(u32, u32)]) {
        let m: u32 = counts.iter().map(|&(_, n)| n).sum();
        if m == 0 {
            return;
        }
        self.rated_items += 1;
        for &(category, n) in counts {
            self.category_share_sums[category as usize] += f64::from(n) / f64::from(m);
        }
        if m >= 2 {
            let agreeing: u32 = counts.iter().map(|&(_, n)| n * (n - 1)).sum();
            self.pairable_items += 1;
            self.agreement_sum += f64::from(agreeing) / f64::from(m * (m - 1));
        }
    }

    /// Mean share of agreeing rater pairs over items with two or more labels.
    pub(crate) fn percent_agreement(&self) -> Figure {
        if self.pairable_items == 0 {
            return Err("no item has two or more labels".to_string());
        }
        finite(
            self.agreement_sum / self.pairable_items as f64,
            "percent agreement",
        )
    }

    /// Gwet's AC1 for any number of raters (Gwet 2008): chance agreement
    /// `sum(pi_k (1 - pi_k)) / (q - 1)` over the q categories of the scale.
    pub(crate) fn gwet_ac1(&self) -> Figure {
        let observed = self.percent_agreement()?;
        let q = self.category_share_sums.len();
        if q < 2 {
            return Err("the scale has fewer than two categories".to_string());
        }
        let items = self.rated_items as f64;
        let spread: f64 = self
            .category_share_sums
            .iter()
            .map(|sum| sum / items)
            .map(|pi| pi * (1.0 - pi))
            .sum();
        let chance = spread / (q - 1) as f64;
        finite((observed - chance) / (1.0 - chance), "AC1")
    }

    /// Fleiss' kappa in Gwet's form: `(p_a - sum pi_k^2) / (1 - sum pi_k^2)`.
    pub(crate) fn fleiss_kappa(&self) -> Figure {
        let observed = self.percent_agreement()?;
        let items = self.rated_items as f64;
        let chance: f64 = self
            .category_share_sums
            .iter()
            .map(|sum| (sum / items).powi(2))
            .sum();
        if chance >= 1.0 - 1e-15 {
            return Err("all labels are one category, so chance agreement is 1".to_string());
        }
        finite((observed - chance) / (1.0 - chance), "Fleiss' kappa")
    }

    /// Prevalence- and bias-adjusted kappa for q categories: `(q * p_o - 1) / (q - 1)`.
    pub(crate) fn pabak(&self) -> Figure {
        let observed = self.percent_agreement()?;
        let q = self.category_share_sums.len();
        if q < 2 {
            return Err("the scale has fewer than two categories".to_string());
        }
        finite((q as f64 * observed - 1.0) / (q as f64 - 1.0), "PABAK")
    }
}

#[cfg(test)]
mod tests;
