//! Dawid-Skene (1979) EM: each rater has a confusion matrix P(given | true), classes have
//! priors, and each item a posterior over its true class. Started from majority-vote shares,
//! as crowd-kit's `DawidSkene` is, with the same 1e-10 floor on probabilities.

use serde::{Deserialize, Serialize};

use super::dataset::Dataset;

/// Floor for probabilities before normalising and taking logs.
const EPSILON: f64 = 1e-10;

/// Stopping rules for the EM iterations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DawidSkeneOptions {
    /// Upper bound on EM iterations.
    pub max_iterations: usize,
    /// Stop when the log-likelihood per label improves by less than this.
    pub tolerance: f64,
}

impl Default for DawidSkeneOptions {
    fn default() -> Self {
        DawidSkeneOptions {
            max_iterations: 100,
            tolerance: 1e-5,
        }
    }
}

/// A fitted model.
#[derive(Debug, Clone, Default)]
pub(crate) struct DawidSkeneFit {
    pub k: usize,
    /// `items x k` posterior probabilities of the true class.
    pub posteriors: Vec<f64>,
    /// Class priors.
    pub priors: Vec<f64>,
    /// `raters x k x k`: row = true class, column = given label; rows sum to 1.
    pub confusion: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

impl DawidSkeneFit {
    /// One rater's confusion matrix, row-major (true class x given label).
    pub(crate) fn rater_confusion(&self, rater: usize) -> &[f64] {
        let size = self.k * self.k;
        &self.confusion[rater * size..(rater + 1) * size]
    }

    /// Item `item`'s posterior over the true classes.
    pub(crate) fn item_posterior(&self, item: usize) -> &[f64] {
        &self.posteriors[item * self.k..(item + 1) * self.k]
    }
}

/// Sufficient statistics of one E-step.
#[derive(Debug, Clone)]
struct Tallies {
    /// `raters x k(given) x k(true)` expected counts.
    counts: Vec<f64>,
    prior_sums: Vec<f64>,
    log_likelihood: f64,
}

impl Tallies {
    fn new(raters: usize, k: usize) -> Self {
        Tallies {
            counts: vec![0.0; raters * k * k],
            prior_sums: vec![0.0; k],
            log_likelihood: 0.0,
        }
    }

    fn merge(mut self, other: Tallies) -> Tallies {
        self.counts
            .iter_mut()
            .zip(&other.counts)
            .for_each(|(a, b)| *a += b);
        self.prior_sums
            .iter_mut()
            .zip(&other.prior_sums)
            .for_each(|(a, b)| *a += b);
        self.log_likelihood += other.log_likelihood;
        self
    }

    /// Add one item's posterior to the expected counts of each of its labels (their
    /// [`LabelCells`]).
    fn add_item(&mut self, cells: &[usize], posterior: &[f64]) {
        let k = posterior.len();
        for &start in cells {
            for (count, p) in self.counts[start..start + k].iter_mut().zip(posterior) {
                *count += p;
            }
        }
        for (sum, p) in self.prior_sums.iter_mut().zip(posterior) {
            *sum += p;
        }
    }
}

/// Model parameters, with logs laid out for the E-step (`[rater][given][true]`).
struct Parameters {
    confusion: Vec<f64>,
    log_given: Vec<f64>,
    priors: Vec<f64>,
    log_priors: Vec<f64>,
}

impl Parameters {
    /// The M-step: normalise expected counts per rater and true class, and the priors.
    fn from_tallies(tallies: &Tallies, raters: usize, k: usize, items: usize) -> Self {
        let mut confusion = vec![0.0; raters * k * k];
        let mut log_given = vec![0.0; raters * k * k];
        for rater in 0..raters {
            for truth in 0..k {
                let cell =
                    |given: usize| tallies.counts[(rater * k + given) * k + truth].max(EPSILON);
                let total: f64 = (0..k).map(cell).sum();
                for given in 0..k {
                    let p = cell(given) / total;
                    confusion[(rater * k + truth) * k + given] = p;
                    log_given[(rater * k + given) * k + truth] = p.ln();
                }
            }
        }
        let priors: Vec<f64> = tallies
            .prior_sums
            .iter()
            .map(|s| (s / items as f64).max(EPSILON))
            .collect();
        let log_priors = priors.iter().map(|p| p.ln()).collect();
        Parameters {
            confusion,
            log_given,
            priors,
            log_priors,
        }
    }
}

/// Fit the model. Never fails: with no items or categories it returns an empty fit.
pub(crate) fn fit(data: &Dataset, options: &DawidSkeneOptions, threads: usize) -> DawidSkeneFit {
    let k = data.categories().len();
    let (items, raters) = (data.item_count(), data.rater_count());
    if k == 0 || items == 0 {
        return DawidSkeneFit {
            k,
            converged: true,
            ..Default::default()
        };
    }
    let cells = LabelCells::of(data, k);
    let (mut posteriors, mut parameters) = starting_point(data, &cells, k);
    let labels = data.label_count().max(1) as f64;
    let mut previous = f64::NEG_INFINITY;
    let (mut iterations, mut converged) = (0, false);
    while iterations < options.max_iterations {
        iterations += 1;
        let tallies = e_step(&cells, &parameters, &mut posteriors, threads);
        parameters = Parameters::from_tallies(&tallies, raters, k, items);
        let per_label = tallies.log_likelihood / labels;
        if per_label - previous < options.tolerance {
            converged = true;
            break;
        }
        previous = per_label;
    }
    DawidSkeneFit {
        k,
        posteriors,
        priors: parameters.priors,
        confusion: parameters.confusion,
        iterations,
        converged,
    }
}

/// Where each label's cells start in the parameters' `log_given` and in the tallies'
/// counts (both `[rater][given][true]`), in the dataset's label order, with each item's
/// first label. An iteration reads each label twice, and the E-step waited on memory: when
/// a dataset's label was 40 bytes, half a million of them were 20 MB an iteration. A cell
/// is also worked out once rather than in every iteration. The sums are the same, in the
/// same order.
struct LabelCells<'a> {
    starts: Vec<usize>,
    item_start: &'a [u32],
    raters: usize,
}

impl<'a> LabelCells<'a> {
    fn of(data: &'a Dataset, k: usize) -> Self {
        let starts = (data.labels().iter())
            .map(|label| (label.rater as usize * k + label.value as usize) * k)
            .collect();
        LabelCells {
            starts,
            item_start: &data.item_start,
            raters: data.rater_count(),
        }
    }

    fn items(&self) -> usize {
        self.item_start.len().saturating_sub(1)
    }

    /// The cells of item `item`'s labels.
    fn of_item(&self, item: usize) -> &[usize] {
        let (first, end) = (self.item_start[item], self.item_start[item + 1]);
        &self.starts[first as usize..end as usize]
    }
}

/// The posteriors a fit starts from (each item's share of votes) and the parameters they
/// imply.
fn starting_point(data: &Dataset, cells: &LabelCells<'_>, k: usize) -> (Vec<f64>, Parameters) {
    let (items, raters) = (data.item_count(), data.rater_count());
    let posteriors = vote_shares(data, k);
    let mut tallies = Tallies::new(raters, k);
    for item in 0..items {
        tallies.add_item(cells.of_item(item), &posteriors[item * k..(item + 1) * k]);
    }
    let parameters = Parameters::from_tallies(&tallies, raters, k, items);
    (posteriors, parameters)
}

/// Each item's share of votes per category: the majority-vote start.
fn vote_shares(data: &Dataset, k: usize) -> Vec<f64> {
    let mut shares = vec![0.0; data.item_count() * k];
    for item in 0..data.item_count() {
        let labels = data.item_labels(item);
        let row = &mut shares[item * k..(item + 1) * k];
        for label in labels {
            row[label.value as usize] += 1.0 / labels.len() as f64;
        }
    }
    shares
}

/// Posteriors for all items (written in place) and the expected counts they imply, split
/// across threads by contiguous item ranges.
fn e_step(
    cells: &LabelCells<'_>,
    parameters: &Parameters,
    posteriors: &mut [f64],
    threads: usize,
) -> Tallies {
    let k = parameters.priors.len();
    let items = cells.items();
    let raters = cells.raters;
    let threads = super::parallel::threads_for_items(items, threads);
    let chunk_items = items.div_ceil(threads);
    if threads == 1 {
        return e_step_range(cells, parameters, 0, posteriors, raters);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = posteriors
            .chunks_mut(chunk_items * k)
            .enumerate()
            .map(|(index, chunk)| {
                scope.spawn(move || {
                    e_step_range(cells, parameters, index * chunk_items, chunk, raters)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Tallies::new(raters, k)))
            .reduce(Tallies::merge)
            .unwrap_or_else(|| Tallies::new(raters, k))
    })
}

fn e_step_range(
    cells: &LabelCells<'_>,
    parameters: &Parameters,
    first_item: usize,
    posteriors: &mut [f64],
    raters: usize,
) -> Tallies {
    let range = (cells, parameters, first_item, posteriors, raters);
    // With the number of classes fixed at compile time an item's log posterior stays in
    // registers; summed in memory, each label's terms waited on the store of the one
    // before. The operations, and so the figures, are the same.
    match parameters.priors.len() {
        2 => e_step_items(range, [0.0; 2]),
        3 => e_step_items(range, [0.0; 3]),
        4 => e_step_items(range, [0.0; 4]),
        5 => e_step_items(range, [0.0; 5]),
        6 => e_step_items(range, [0.0; 6]),
        k => e_step_items(range, vec![0.0; k]),
    }
}

/// What an E-step over a range of items works on: the labels' cells, the parameters, the
/// first item, the range's posteriors and the number of raters.
type RangeArgs<'a> = (
    &'a LabelCells<'a>,
    &'a Parameters,
    usize,
    &'a mut [f64],
    usize,
);

/// [`e_step_range`] with `log_posterior` as scratch, as long as the classes.
fn e_step_items(
    (cells, parameters, first_item, posteriors, raters): RangeArgs<'_>,
    mut log_posterior: impl AsMut<[f64]>,
) -> Tallies {
    let log_posterior = log_posterior.as_mut();
    let k = log_posterior.len();
    let mut tallies = Tallies::new(raters, k);
    let (mut maxima, mut totals) = (0.0, ProductOfTotals::default());
    for (offset, posterior) in posteriors.chunks_exact_mut(k).enumerate() {
        let item_cells = cells.of_item(first_item + offset);
        log_posterior.copy_from_slice(&parameters.log_priors);
        for &start in item_cells {
            for (lp, lg) in log_posterior
                .iter_mut()
                .zip(&parameters.log_given[start..start + k])
            {
                *lp += lg;
            }
        }
        let max = log_posterior
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        for (p, lp) in posterior.iter_mut().zip(&*log_posterior) {
            // exp(0) is exactly 1, so the most likely class's term needs no call: with
            // three classes that is a third of the calls, and they are most of the E-step.
            *p = if *lp == max { 1.0 } else { (lp - max).exp() };
            total += *p;
        }
        posterior.iter_mut().for_each(|p| *p /= total);
        maxima += max;
        totals.times(total);
        tallies.add_item(item_cells, posterior);
    }
    tallies.log_likelihood = maxima + totals.ln();
    tallies
}

/// A product of items' posterior totals, for the log-likelihood: the sum of their
/// logarithms, taken with one logarithm per range of items instead of one per item (in a
/// profile of a first report on 500,000 labels, 13.6% of the server's CPU was that
/// logarithm). The product is kept as a significand in [1, 2) and a power of two, so it
/// neither overflows nor underflows; scaling by a power of two is exact, so its only
/// rounding is that of each product, no more than a sum of logarithms rounds at each
/// addition.
#[derive(Debug, Clone, Copy)]
struct ProductOfTotals {
    significand: f64,
    exponent: i64,
}

impl Default for ProductOfTotals {
    fn default() -> Self {
        ProductOfTotals {
            significand: 1.0,
            exponent: 0,
        }
    }
}

impl ProductOfTotals {
    const EXPONENT_BITS: u64 = 0x7ff << 52;
    const EXPONENT_OF_ONE: u64 = 1023;

    fn times(&mut self, factor: f64) {
        let product = self.significand * factor;
        if !product.is_normal() {
            // Zero, infinite or not a number: the logarithm is what the sum's would be.
            self.significand = product;
            return;
        }
        let bits = product.to_bits();
        let biased = (bits & Self::EXPONENT_BITS) >> 52;
        self.exponent += biased as i64 - Self::EXPONENT_OF_ONE as i64;
        self.significand =
            f64::from_bits((bits & !Self::EXPONENT_BITS) | (Self::EXPONENT_OF_ONE << 52));
    }

    fn ln(self) -> f64 {
        self.significand.ln() + self.exponent as f64 * std::f64::consts::LN_2
    }
}

#[cfg(test)]
mod tests;
