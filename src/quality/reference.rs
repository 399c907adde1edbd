//! Leave-one-out references: what the other raters of an item say, against which one
//! rater's label on that item is judged.
//!
//! A rater's agreement with the consensus, kappa against it, confusion matrix and drift use
//! these, never a consensus that contains the rater's own vote: with two labels per item the
//! own vote decides half the consensus. Leniency and the label-distribution test take the
//! other raters' labels themselves instead (see `bias`).
//!
//! - Majority: the majority of the other raters' labels on the item. A tie among them, or no
//!   other rater, leaves the label out (counted as `Tie` or `Alone`).
//! - Dawid-Skene: the item's posterior computed from the fitted priors and the other raters'
//!   confusion matrices only (the rater's own vote is taken out of the product; the fitted
//!   parameters are kept). Its most probable class is the reference; an exact tie or no
//!   other rater leaves the label out.

use super::consensus::{winner_of, Consensus};
use super::dataset::Dataset;
use super::dawid_skene::DawidSkeneFit;
use super::parallel::{map_ranges, threads_for_items};

/// The reference for one label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reference {
    /// The other raters' consensus category.
    Class(u32),
    /// The other raters are tied.
    Tie,
    /// No other rater labelled the item.
    Alone,
}

/// One reference per label, indexed like [`Dataset::labels`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct References {
    per_label: Vec<Reference>,
}

impl References {
    /// References from every other rater, by the consensus's method, worked out on up to
    /// `threads` threads.
    pub(crate) fn of(data: &Dataset, consensus: &Consensus, threads: usize) -> Self {
        Self::without(data, consensus, &vec![false; data.rater_count()], threads)
    }

    /// References from the other raters not marked in `left_out`.
    pub(crate) fn without(
        data: &Dataset,
        consensus: &Consensus,
        left_out: &[bool],
        threads: usize,
    ) -> Self {
        match &consensus.model {
            Some(model) => dawid_skene(data, model, left_out, threads),
            None => majority(data, left_out),
        }
    }

    fn set_majority(&mut self, data: &Dataset, left_out: &[bool], item: usize, votes: &mut [f64]) {
        let labels = data.item_labels(item);
        let first = data.item_start[item] as usize;
        votes.iter_mut().for_each(|v| *v = 0.0);
        for label in labels.iter().filter(|l| counts(left_out, l.rater)) {
            votes[label.value as usize] += 1.0;
        }
        for (offset, label) in labels.iter().enumerate() {
            let own = counts(left_out, label.rater);
            if own {
                votes[label.value as usize] -= 1.0;
            }
            self.per_label[first + offset] = from_scores(votes);
            if own {
                votes[label.value as usize] += 1.0;
            }
        }
    }

    /// The reference of the label at `index` in [`Dataset::labels`].
    pub(crate) fn of_label(&self, index: usize) -> Reference {
        self.per_label
            .get(index)
            .copied()
            .unwrap_or(Reference::Alone)
    }

    /// The category a label is judged against, if any.
    pub(crate) fn class_of(&self, index: usize) -> Option<u32> {
        match self.of_label(index) {
            Reference::Class(c) => Some(c),
            Reference::Tie | Reference::Alone => None,
        }
    }
}

fn counts(left_out: &[bool], rater: u32) -> bool {
    !left_out.get(rater as usize).copied().unwrap_or(false)
}

fn from_scores(scores: &[f64]) -> Reference {
    match winner_of(scores) {
        Some((Some(c), _)) => Reference::Class(c),
        Some((None, _)) => Reference::Tie,
        None => Reference::Alone,
    }
}

/// `exp(below)` for a log score `below` under the top one (0 at the top), as far as
/// [`from_scores`] can tell: only scores within its tie tolerance of the top (1) count,
/// so a score further below than `NEAR_TOP` (whose exp is under `1 - 1e-6`) stands as 0,
/// and the top is exactly 1. A reference is asked of every label, and calls to exp were
/// most of its work.
fn relative_to_top(below: f64) -> f64 {
    const NEAR_TOP: f64 = 1e-6;
    const _: () = assert!(super::consensus::TIE_TOLERANCE < NEAR_TOP / 2.0);
    if below == 0.0 {
        1.0
    } else if below < -NEAR_TOP {
        0.0
    } else {
        below.exp()
    }
}

fn majority(data: &Dataset, left_out: &[bool]) -> References {
    let mut references = References {
        per_label: vec![Reference::Alone; data.label_count()],
    };
    let mut votes = vec![0.0; data.categories().len()];
    for item in 0..data.item_count() {
        references.set_majority(data, left_out, item, &mut votes);
    }
    references
}

fn dawid_skene(
    data: &Dataset,
    model: &DawidSkeneFit,
    left_out: &[bool],
    threads: usize,
) -> References {
    let k = model.k;
    if k == 0 || model.priors.len() != k {
        return References {
            per_label: vec![Reference::Alone; data.label_count()],
        };
    }
    let logs = FittedLogs::of(model);
    let items = data.item_count();
    // Each label's reference is its own; the items split into contiguous ranges give the
    // same references in the same order on any number of threads.
    let parts = threads_for_items(items, threads);
    let part_items = items.div_ceil(parts);
    let per_part = map_ranges(
        parts,
        parts,
        || (),
        |_, part| {
            let first = (part * part_items).min(items);
            logs.references(data, left_out, first..((part + 1) * part_items).min(items))
        },
    );
    References {
        per_label: per_part.concat(),
    }
}

/// A fitted model's logs, laid out for one label's terms to be contiguous.
struct FittedLogs {
    k: usize,
    /// `[rater][given][truth]`.
    log_given: Vec<f64>,
    priors: Vec<f64>,
}

impl FittedLogs {
    fn of(model: &DawidSkeneFit) -> Self {
        let k = model.k;
        let mut log_given = vec![0.0; model.confusion.len()];
        for (rater, matrix) in model.confusion.chunks(k * k).enumerate() {
            for truth in 0..k {
                for given_class in 0..k {
                    log_given[(rater * k + given_class) * k + truth] =
                        matrix[truth * k + given_class].ln();
                }
            }
        }
        FittedLogs {
            k,
            log_given,
            priors: model.priors.iter().map(|p| p.ln()).collect(),
        }
    }

    fn log_given(&self, rater: u32, truth: usize, given: u32) -> f64 {
        self.log_given[(rater as usize * self.k + given as usize) * self.k + truth]
    }

    /// The references of the labels of `items`, in the dataset's label order.
    fn references(
        &self,
        data: &Dataset,
        left_out: &[bool],
        items: std::ops::Range<usize>,
    ) -> Vec<Reference> {
        let k = self.k;
        let label_at = |item: usize| data.item_start.get(item).map_or(0, |&at| at as usize);
        let mut per_label =
            Vec::with_capacity(label_at(items.end).saturating_sub(label_at(items.start)));
        let mut total = vec![0.0; k];
        let mut others = vec![0.0; k];
        for item in items {
            let labels = data.item_labels(item);
            total.copy_from_slice(&self.priors);
            let mut voters = 0usize;
            for label in labels.iter().filter(|l| counts(left_out, l.rater)) {
                voters += 1;
                for (truth, t) in total.iter_mut().enumerate() {
                    *t += self.log_given(label.rater, truth, label.value);
                }
            }
            for label in labels {
                let own = counts(left_out, label.rater);
                if voters - usize::from(own) == 0 {
                    per_label.push(Reference::Alone);
                    continue;
                }
                for (truth, o) in others.iter_mut().enumerate() {
                    let own_term = if own {
                        self.log_given(label.rater, truth, label.value)
                    } else {
                        0.0
                    };
                    *o = total[truth] - own_term;
                }
                let top = others.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                others
                    .iter_mut()
                    .for_each(|o| *o = relative_to_top(*o - top));
                per_label.push(from_scores(&others));
            }
        }
        per_label
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::consensus::{dawid_skene_consensus, majority_vote};
    use crate::quality::DawidSkeneOptions;

    fn data() -> Dataset {
        Dataset::from_labels([
            ("i1", "a", "x"),
            ("i1", "b", "y"),
            ("i2", "a", "y"),
            ("i2", "b", "y"),
            ("i2", "c", "x"),
            ("i3", "a", "y"),
        ])
        .expect("dataset")
    }

    #[test]
    fn majority_reference_leaves_out_the_raters_own_vote() {
        let data = data();
        let refs = References::of(&data, &majority_vote(&data), 1);
        let got: Vec<Reference> = (0..data.label_count()).map(|i| refs.of_label(i)).collect();
        let (x, y) = (0, 1);
        assert_eq!(
            got,
            vec![
                // i1: each rater's reference is the other's label
                Reference::Class(y),
                Reference::Class(x),
                // i2: a and b see {y, x} tied; c sees {y, y}
                Reference::Tie,
                Reference::Tie,
                Reference::Class(y),
                // i3: nobody else
                Reference::Alone,
            ]
        );
        let without_c = References::without(&data, &majority_vote(&data), &[false, false, true], 1);
        assert_eq!(without_c.of_label(2), Reference::Class(y));
        assert_eq!(
            without_c.of_label(4),
            Reference::Class(y),
            "c is judged by a and b"
        );
    }

    /// Scores relative to the top, without exp where it cannot matter, pick the same
    /// reference as their exps: on clear winners, exact ties, near ties within and just
    /// outside the tolerance, and scores far below.
    #[test]
    fn scores_relative_to_the_top_pick_the_reference_their_exps_pick() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let mut seen = [0usize; 3];
        for _ in 0..100_000 {
            let k = rng.gen_range(2..6);
            let best: f64 = rng.gen_range(-60.0..0.0);
            let logs: Vec<f64> = (0..k)
                .map(|_| match rng.gen_range(0..5) {
                    0 => best,
                    1 => best - rng.gen_range(0.0..2e-12),
                    2 => best - rng.gen_range(1e-9..1e-5),
                    3 => best - rng.gen_range(0.0..40.0),
                    _ => best - rng.gen_range(700.0..800.0),
                })
                .collect();
            let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let exps: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
            let quick: Vec<f64> = logs.iter().map(|l| relative_to_top(l - top)).collect();
            let reference = from_scores(&exps);
            assert_eq!(from_scores(&quick), reference, "{logs:?}");
            seen[match reference {
                Reference::Class(_) => 0,
                Reference::Tie => 1,
                Reference::Alone => 2,
            }] += 1;
        }
        assert!(seen[0] > 1000 && seen[1] > 1000, "{seen:?}");
    }

    #[test]
    fn dawid_skene_reference_has_no_own_vote_and_no_lone_items() {
        let data = data();
        let consensus = dawid_skene_consensus(&data, &DawidSkeneOptions::default(), 1);
        let refs = References::of(&data, &consensus, 1);
        assert_eq!(refs.of_label(5), Reference::Alone);
        assert!((0..5).all(|i| refs.of_label(i) != Reference::Alone));
    }

    /// Split over threads by item ranges, the references are those of one thread, label
    /// for label, with every rater and with one left out.
    #[test]
    fn references_on_several_threads_are_those_of_one() {
        let data = crate::quality::synth::generate(21_001, 5, 40, 3, 11);
        let consensus = dawid_skene_consensus(&data, &DawidSkeneOptions::default(), 2);
        let mut left_out = vec![false; data.rater_count()];
        left_out[3] = true;
        for left_out in [vec![false; data.rater_count()], left_out] {
            let one = References::without(&data, &consensus, &left_out, 1);
            assert_eq!(one.per_label.len(), data.label_count());
            for threads in [2, 3] {
                assert_eq!(
                    References::without(&data, &consensus, &left_out, threads),
                    one
                );
            }
        }
        let classes: std::collections::BTreeSet<u32> = (References::of(&data, &consensus, 1)
            .per_label)
            .iter()
            .filter_map(|r| match r {
                Reference::Class(c) => Some(*c),
                _ => None,
            })
            .collect();
        assert_eq!(classes.len(), 3, "every class is some label's reference");
    }
}
