//! Deterministic synthetic label data for benchmarks and tests.
//!
//! Model: each item has a true class drawn from skewed priors (`p_c` proportional to
//! `1 / (c + 1)`); each item gets `labels_per_item` distinct raters chosen uniformly.
//! Every tenth rater (index % 10 == 0) is a spammer answering uniformly at random in about
//! 0.6 s; index % 10 == 1 is biased towards class 0 (half of their answers); the rest answer
//! correctly with an accuracy between 0.60 and 0.95 (else a uniformly chosen wrong class),
//! taking 2-8 s. Labels carry a per-rater sequence number. 2% of items have a gold value,
//! raters alternate between pools "pool-a" and "pool-b", and items carry a `source`
//! metadata field ("web", "app" or "email"). `benches/quality/reference.py` re-implements
//! this model in numpy for the Python timings.
//!
//! [`roster`] simulates projects with planted faults and returns the truth beside the data;
//! [`ranking`] uses it to measure how well each consensus method ranks raters.

pub mod ranking;
pub mod roster;

use rand::distributions::{Distribution, Uniform, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::builder::DatasetBuilder;
use super::dataset::{Categories, Dataset, LabelInput};

const SOURCES: [&str; 3] = ["web", "app", "email"];

/// How a synthetic rater behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RaterKind {
    /// Uniformly random answers.
    Spammer,
    /// Says class 0 half of the time, otherwise answers like a good rater.
    Biased { accuracy: f64 },
    /// Correct with probability `accuracy`.
    Good { accuracy: f64 },
}

/// The kind of rater `index` in a dataset generated with `seed`.
pub fn rater_kinds(raters: usize, seed: u64) -> Vec<RaterKind> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0000_0000_0001);
    (0..raters)
        .map(|index| {
            let accuracy = rng.gen_range(0.60..0.95);
            match index % 10 {
                0 => RaterKind::Spammer,
                1 => RaterKind::Biased { accuracy },
                _ => RaterKind::Good { accuracy },
            }
        })
        .collect()
}

/// Generate `items x labels_per_item` labels from `raters` raters over `classes` classes
/// (named "0".."classes-1"). The same arguments always give the same dataset.
pub fn generate(
    items: usize,
    labels_per_item: usize,
    raters: usize,
    classes: usize,
    seed: u64,
) -> Dataset {
    let classes = classes.max(1);
    let raters = raters.max(1);
    let per_item = labels_per_item.min(raters);
    let kinds = rater_kinds(raters, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let priors: Vec<f64> = (0..classes).map(|c| 1.0 / (c + 1) as f64).collect();
    let truth_dist = WeightedIndex::new(&priors).ok();
    let pick_rater = Uniform::new(0, raters);
    let pick_class = Uniform::new(0, classes);
    let class_names: Vec<String> = (0..classes).map(|c| c.to_string()).collect();
    let rater_names: Vec<String> = (0..raters).map(|r| format!("rater-{r:04}")).collect();
    let mut builder = DatasetBuilder::new();
    if let Ok(categories) = Categories::ordered(class_names.clone()) {
        builder.categories(categories);
    }
    let mut sequence = vec![0i64; raters];
    let mut chosen = Vec::with_capacity(per_item);
    for item in 0..items {
        let item_name = format!("item-{item:07}");
        let truth = truth_dist.as_ref().map_or(0, |d| d.sample(&mut rng));
        chosen.clear();
        while chosen.len() < per_item {
            let rater = pick_rater.sample(&mut rng);
            if !chosen.contains(&rater) {
                chosen.push(rater);
            }
        }
        for &rater in &chosen {
            let (value, duration_ms) = answer(kinds[rater], truth, classes, &pick_class, &mut rng);
            sequence[rater] += 1;
            builder.add(LabelInput {
                item: &item_name,
                rater: &rater_names[rater],
                value: &class_names[value],
                duration_ms: Some(duration_ms),
                sequence: Some(sequence[rater]),
            });
        }
        if rng.gen_bool(0.02) {
            builder.add_gold(&item_name, &class_names[truth]);
        }
        builder.set_item_meta(
            &item_name,
            "source",
            SOURCES[rng.gen_range(0..SOURCES.len())],
        );
    }
    for (index, name) in rater_names.iter().enumerate() {
        builder.set_rater_pool(name, if index % 2 == 0 { "pool-a" } else { "pool-b" });
    }
    // Every value is one of the declared categories and no field is empty, so building
    // cannot fail; an empty dataset is the only conceivable fallback.
    builder.build().unwrap_or_default()
}

fn answer(
    kind: RaterKind,
    truth: usize,
    classes: usize,
    pick_class: &Uniform<usize>,
    rng: &mut ChaCha8Rng,
) -> (usize, u32) {
    match kind {
        RaterKind::Spammer => (pick_class.sample(rng), rng.gen_range(300..900)),
        RaterKind::Biased { accuracy } => {
            let value = if rng.gen_bool(0.5) {
                0
            } else {
                answer_good(accuracy, truth, classes, rng)
            };
            (value, rng.gen_range(2000..8000))
        }
        RaterKind::Good { accuracy } => (
            answer_good(accuracy, truth, classes, rng),
            rng.gen_range(2000..8000),
        ),
    }
}

fn answer_good(accuracy: f64, truth: usize, classes: usize, rng: &mut ChaCha8Rng) -> usize {
    if classes < 2 || rng.gen_bool(accuracy) {
        return truth;
    }
    let wrong = rng.gen_range(0..classes - 1);
    if wrong >= truth {
        wrong + 1
    } else {
        wrong
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_has_the_requested_shape() {
        let a = generate(500, 5, 40, 4, 9);
        let b = generate(500, 5, 40, 4, 9);
        assert_eq!(a.labels(), b.labels());
        assert_eq!(a.item_count(), 500);
        assert_eq!(a.label_count(), 2500);
        assert_eq!(a.categories().len(), 4);
        assert!(a.has_gold());
        assert_eq!(a.pools().len(), 2);
        assert!(a.item_meta("source").is_some());
        let c = generate(500, 5, 40, 4, 10);
        assert_ne!(a.labels(), c.labels());
    }

    #[test]
    fn degenerate_sizes_do_not_panic() {
        assert_eq!(generate(0, 5, 10, 4, 1).label_count(), 0);
        assert_eq!(generate(10, 5, 2, 1, 1).label_count(), 20);
        assert_eq!(generate(10, 0, 0, 0, 1).label_count(), 0);
    }
}
