//! The agreement section of a report: alpha with its interval, Fleiss, AC1, PABAK, percent
//! agreement, pairwise Cohen's kappa and per-category agreement.

use serde::Serialize;

use super::alpha::{alpha_from, Coincidence};
use super::bootstrap::percentile_interval;
use super::dataset::{Dataset, Level};
use super::figure::{split, split_interval, Figure};
use super::kappa::{cohen_kappa, ItemAgreement, Weights};
use super::pairs::pair_tables;
use super::report::ReportOptions;
use super::warning::Warning;

/// Chance-corrected and raw agreement between raters.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    /// Krippendorff's alpha at the report's level of measurement.
    pub krippendorff_alpha: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub krippendorff_alpha_reason: Option<String>,
    /// 95% percentile bootstrap interval of alpha (items resampled with replacement).
    pub alpha_ci95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha_ci95_reason: Option<String>,
    /// Fleiss' kappa in Gwet's form for any number of labels per item (irrCAC's
    /// `fleiss.kappa.raw`): observed agreement over items with two or more labels, chance
    /// agreement from each category's mean share of an item's labels over all items. Equal
    /// to the classical form when every item has the same number of labels.
    pub fleiss_kappa: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleiss_kappa_reason: Option<String>,
    /// Mean share of agreeing rater pairs over items with two or more labels.
    pub percent_agreement: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_agreement_reason: Option<String>,
    /// Gwet's AC1, robust to skewed prevalence.
    pub gwet_ac1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gwet_ac1_reason: Option<String>,
    /// Prevalence- and bias-adjusted kappa.
    pub pabak: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pabak_reason: Option<String>,
    /// True when raw agreement is high but kappa is low because one category dominates.
    pub kappa_paradox: bool,
    /// Items with two or more labels (the ones agreement is computed on).
    pub pairable_items: usize,
    /// Mean unweighted Cohen's kappa over the listed pairs.
    pub cohen_kappa_mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohen_kappa_mean_reason: Option<String>,
    /// Pairs of raters sharing at least `min_pair_overlap` items.
    pub cohen_kappa_pairs: Vec<PairKappa>,
    /// Pairs that share some items, but fewer than `min_pair_overlap`.
    pub pairs_below_min_overlap: usize,
    /// Agreement per category.
    pub per_category: Vec<CategoryAgreement>,
}

/// Cohen's kappa between two raters on the items they share.
#[derive(Debug, Clone, Serialize)]
pub struct PairKappa {
    pub rater_a: String,
    pub rater_b: String,
    /// Items both labelled.
    pub items: u32,
    /// Share of those items where they gave the same label.
    pub percent_agreement: f64,
    pub kappa: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kappa_reason: Option<String>,
    /// Linearly weighted kappa (ordered levels only).
    pub kappa_linear: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kappa_linear_reason: Option<String>,
    /// Quadratically weighted kappa (ordered levels only).
    pub kappa_quadratic: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kappa_quadratic_reason: Option<String>,
}

/// How well raters agree on one category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryAgreement {
    pub category: String,
    /// Labels with this category.
    pub labels: usize,
    /// Share of all labels.
    pub share: f64,
    /// Of the pairable values in this category, the share whose partner in the item also
    /// chose it (`o_cc / n_c` of the coincidence matrix).
    pub specific_agreement: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specific_agreement_reason: Option<String>,
    /// Nominal alpha of "this category vs any other".
    pub alpha: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha_reason: Option<String>,
}

/// Compute the agreement section; `alpha_draws` are alpha's bootstrap estimates.
pub(crate) fn agreement(
    data: &Dataset,
    options: &ReportOptions,
    alpha_draws: Vec<Option<f64>>,
    warnings: &mut Vec<Warning>,
) -> Agreement {
    let level = options.level;
    let scale = data.categories().scale_values(level);
    let coincidence = Coincidence::of_dataset(data);
    let alpha = alpha_from(&coincidence, level, &scale);
    let interval = match &alpha {
        Err(reason) => Err(reason.clone()),
        Ok(_) => percentile_interval(alpha_draws),
    };
    let items = ItemAgreement::of_dataset(data);
    let fleiss = items.fleiss_kappa();
    let percent = items.percent_agreement();
    let chance_corrected = fleiss
        .clone()
        .or_else(|_| alpha_from(&coincidence, Level::Nominal, &scale));
    let kappa_paradox = paradox(
        &percent,
        &chance_corrected,
        options,
        warnings,
        &items.gwet_ac1(),
    );
    let (pairs, pairs_below_min_overlap) = pair_kappas(data, options);
    let defined: Vec<f64> = pairs.iter().filter_map(|pair| pair.kappa).collect();
    let mean = if defined.is_empty() {
        Err(format!(
            "no pair of raters shares at least {} items with a defined kappa",
            options.min_pair_overlap
        ))
    } else {
        Ok(defined.iter().sum::<f64>() / defined.len() as f64)
    };
    let (krippendorff_alpha, krippendorff_alpha_reason) = split(alpha);
    let (alpha_ci95, alpha_ci95_reason) = split_interval(interval);
    let (fleiss_kappa, fleiss_kappa_reason) = split(fleiss);
    let (gwet_ac1, gwet_ac1_reason) = split(items.gwet_ac1());
    let (pabak, pabak_reason) = split(items.pabak());
    let (percent_agreement, percent_agreement_reason) = split(percent);
    let (cohen_kappa_mean, cohen_kappa_mean_reason) = split(mean);
    Agreement {
        krippendorff_alpha,
        krippendorff_alpha_reason,
        alpha_ci95,
        alpha_ci95_reason,
        fleiss_kappa,
        fleiss_kappa_reason,
        percent_agreement,
        percent_agreement_reason,
        gwet_ac1,
        gwet_ac1_reason,
        pabak,
        pabak_reason,
        kappa_paradox,
        pairable_items: items.pairable_items,
        cohen_kappa_mean,
        cohen_kappa_mean_reason,
        cohen_kappa_pairs: pairs,
        pairs_below_min_overlap,
        per_category: per_category(data, &coincidence),
    }
}

/// High raw agreement with low kappa: the prevalence paradox. Adds a warning when found.
fn paradox(
    percent: &Figure,
    kappa: &Figure,
    options: &ReportOptions,
    warnings: &mut Vec<Warning>,
    ac1: &Figure,
) -> bool {
    let (Ok(percent), Ok(kappa)) = (percent, kappa) else {
        return false;
    };
    let found = *percent >= options.thresholds.paradox_agreement
        && *kappa < options.thresholds.paradox_kappa;
    if found {
        let ac1 = ac1
            .as_ref()
            .map(|v| format!("{v:.3}"))
            .unwrap_or_else(|_| "undefined".to_string());
        warnings.push(Warning::new("kappa_paradox", format!(
            "kappa paradox: raters agree on {:.1}% of pairs but kappa is {kappa:.3}, because one category dominates \
             and chance agreement is high; read Gwet's AC1 ({ac1}) and PABAK beside kappa",
            percent * 100.0
        )));
    }
    found
}

fn pair_kappas(data: &Dataset, options: &ReportOptions) -> (Vec<PairKappa>, usize) {
    let tables = pair_tables(data);
    let k = tables.k;
    let mut below = 0;
    let mut pairs = Vec::new();
    for (index, &(a, b)) in tables.pairs.iter().enumerate() {
        let items = tables.shared_items(index);
        if (items as usize) < options.min_pair_overlap.max(1) {
            below += 1;
            continue;
        }
        let table: Vec<f64> = tables.table(index).iter().map(|&n| f64::from(n)).collect();
        let agreeing: f64 = (0..k).map(|c| table[c * k + c]).sum();
        let weighted = |weights| {
            if options.level.is_ordered() {
                cohen_kappa(&table, k, weights)
            } else {
                Err("weighted kappa needs an ordered level".to_string())
            }
        };
        let (kappa, kappa_reason) = split(cohen_kappa(&table, k, Weights::None));
        let (kappa_linear, kappa_linear_reason) = split(weighted(Weights::Linear));
        let (kappa_quadratic, kappa_quadratic_reason) = split(weighted(Weights::Quadratic));
        pairs.push(PairKappa {
            rater_a: data.raters()[a as usize].clone(),
            rater_b: data.raters()[b as usize].clone(),
            items,
            percent_agreement: agreeing / f64::from(items),
            kappa,
            kappa_reason,
            kappa_linear,
            kappa_linear_reason,
            kappa_quadratic,
            kappa_quadratic_reason,
        });
    }
    pairs.sort_by(|x, y| (&x.rater_a, &x.rater_b).cmp(&(&y.rater_a, &y.rater_b)));
    (pairs, below)
}

fn per_category(data: &Dataset, coincidence: &Coincidence) -> Vec<CategoryAgreement> {
    let k = data.categories().len();
    let mut counts = vec![0usize; k];
    for label in data.labels() {
        counts[label.value as usize] += 1;
    }
    let marginals = coincidence.marginals();
    let n: f64 = marginals.iter().sum();
    (0..k)
        .map(|c| {
            let (nc, occ) = (marginals[c], coincidence.get(c, c));
            let specific = if nc > 0.0 {
                Ok(occ / nc)
            } else {
                Err("no pairable labels in this category".to_string())
            };
            let (specific_agreement, specific_agreement_reason) = split(specific);
            let (alpha, alpha_reason) = split(binary_alpha(n, nc, occ));
            CategoryAgreement {
                category: data.categories().name(c as u32).to_string(),
                labels: counts[c],
                share: counts[c] as f64 / data.label_count().max(1) as f64,
                specific_agreement,
                specific_agreement_reason,
                alpha,
                alpha_reason,
            }
        })
        .collect()
}

/// Nominal alpha after collapsing to "c vs not c": `1 - (n-1)(n_c - o_cc) / (n_c (n - n_c))`.
fn binary_alpha(n: f64, nc: f64, occ: f64) -> Figure {
    if nc <= 0.0 || nc >= n {
        return Err("every pairable value is in this category, or none is".to_string());
    }
    super::figure::finite(1.0 - (n - 1.0) * (nc - occ) / (nc * (n - nc)), "alpha")
}
