use serde::Deserialize;

use super::*;
use crate::quality::consensus::{dawid_skene_consensus, majority_vote};
use crate::quality::{Categories, DatasetBuilder};

#[derive(Deserialize)]
struct Fixture {
    categories: usize,
    labels: Vec<[usize; 3]>,
    truth: Vec<u32>,
    crowdkit_labels: Vec<u32>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!(
        "../../../tests/fixtures/quality/dawid_skene.json"
    ))
    .expect("fixture")
}

fn dataset_of(fixture: &Fixture) -> Dataset {
    let mut builder = DatasetBuilder::new();
    builder.categories(
        Categories::ordered((0..fixture.categories).map(|c| c.to_string())).expect("categories"),
    );
    for [item, rater, label] in &fixture.labels {
        builder.add_label(
            &format!("{item:05}"),
            &format!("w{rater:02}"),
            &label.to_string(),
        );
    }
    builder.build().expect("dataset")
}

fn item_index(data: &Dataset) -> Vec<usize> {
    data.items()
        .iter()
        .map(|name| name.parse::<usize>().expect("numeric item id"))
        .collect()
}

#[test]
fn agrees_with_crowd_kit_on_at_least_99_percent_of_items() {
    let fixture = fixture();
    let data = dataset_of(&fixture);
    for threads in [1, 2] {
        let consensus = dawid_skene_consensus(&data, &DawidSkeneOptions::default(), threads);
        let original = item_index(&data);
        let same = (0..data.item_count())
            .filter(|&i| consensus.label[i] == Some(fixture.crowdkit_labels[original[i]]))
            .count();
        let share = same as f64 / data.item_count() as f64;
        assert!(share >= 0.99, "agreement with crowd-kit {share}");
    }
}

#[test]
fn beats_majority_vote_against_the_truth_with_spammers_present() {
    let fixture = fixture();
    let data = dataset_of(&fixture);
    let original = item_index(&data);
    // A tie counts as wrong: it names no class.
    let accuracy = |labels: &[Option<u32>]| {
        (0..data.item_count())
            .filter(|&i| labels[i] == Some(fixture.truth[original[i]]))
            .count() as f64
            / data.item_count() as f64
    };
    let ds = dawid_skene_consensus(&data, &DawidSkeneOptions::default(), 1);
    let mv = majority_vote(&data);
    assert!(
        accuracy(&ds.label) > accuracy(&mv.label),
        "{} vs {}",
        accuracy(&ds.label),
        accuracy(&mv.label)
    );
    let model = ds.model.expect("model");
    assert!(model.converged);
    for rater in 0..data.rater_count() {
        for row in model.rater_confusion(rater).chunks(model.k) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }
}

#[test]
fn handles_empty_and_single_category_data() {
    let empty = Dataset::from_labels(Vec::<(&str, &str, &str)>::new()).expect("dataset");
    let model = fit(&empty, &DawidSkeneOptions::default(), 2);
    assert!(model.posteriors.is_empty());
    let one = Dataset::from_labels([("a", "r", "x"), ("b", "r", "x")]).expect("dataset");
    let model = fit(&one, &DawidSkeneOptions::default(), 2);
    assert!(model.posteriors.iter().all(|p| p.is_finite()));
}

/// The E-step over a fixed number of classes (its scratch an array) gives every posterior
/// and expected count bit for bit as over any number (a vector), from two to eight classes.
#[test]
fn the_e_step_for_a_fixed_number_of_classes_is_the_general_one() {
    for k in 2..=8 {
        let data = crate::quality::synth::generate(300, 4, 12, k, k as u64);
        let (items, raters) = (data.item_count(), data.rater_count());
        assert_eq!(data.categories().len(), k);
        // The parameters the fit starts from.
        let cells = LabelCells::of(&data, k);
        let parameters = starting_point(&data, &cells, k).1;
        let run = |general: bool| {
            let mut posteriors = vec![0.0; items * k];
            let range = (&cells, &parameters, 0, posteriors.as_mut_slice(), raters);
            let tallies = if general {
                e_step_items(range, vec![0.0; k])
            } else {
                e_step_range(range.0, range.1, range.2, range.3, range.4)
            };
            let sums = (tallies.counts, tallies.prior_sums, tallies.log_likelihood);
            (posteriors, sums)
        };
        let general = run(true);
        assert_eq!(run(false), general, "{k} classes");
        assert!(general.0.iter().all(|p| (0.0..=1.0).contains(p)));
        assert!(general.1 .2.is_finite() && general.1 .2 < 0.0);
    }
}

/// The E-step as the model states it, read from each item's labels: the rater's log
/// probability of giving the label under each true class, added to the log priors.
fn e_step_from_labels(data: &Dataset, parameters: &Parameters, k: usize) -> (Vec<f64>, Tallies) {
    let mut posteriors = vec![0.0; data.item_count() * k];
    let mut tallies = Tallies::new(data.rater_count(), k);
    for (item, posterior) in posteriors.chunks_exact_mut(k).enumerate() {
        let mut log_posterior = parameters.log_priors.clone();
        for label in data.item_labels(item) {
            let (rater, given) = (label.rater as usize, label.value as usize);
            for (truth, lp) in log_posterior.iter_mut().enumerate() {
                *lp += parameters.log_given[(rater * k + given) * k + truth];
            }
        }
        let max = log_posterior
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        for (p, lp) in posterior.iter_mut().zip(&log_posterior) {
            *p = if *lp == max { 1.0 } else { (lp - max).exp() };
            total += *p;
        }
        posterior.iter_mut().for_each(|p| *p /= total);
        tallies.log_likelihood += max + total.ln();
        for label in data.item_labels(item) {
            let (rater, given) = (label.rater as usize, label.value as usize);
            for (truth, p) in posterior.iter().enumerate() {
                tallies.counts[(rater * k + given) * k + truth] += p;
            }
        }
        for (sum, p) in tallies.prior_sums.iter_mut().zip(&*posterior) {
            *sum += p;
        }
    }
    (posteriors, tallies)
}

/// The E-step reads each label's cells from [`LabelCells`] rather than from the dataset's
/// labels; every posterior and expected count is bit for bit the one the labels give, on
/// one thread and on two, for raters who label some items and not others.
#[test]
fn the_e_step_over_label_cells_is_the_one_over_labels() {
    for k in 2..=5 {
        let data = crate::quality::synth::generate(25_000, 3, 9, k, 40 + k as u64);
        let cells = LabelCells::of(&data, k);
        assert_eq!(cells.items(), data.item_count());
        let parameters = starting_point(&data, &cells, k).1;
        let (expected, by_labels) = e_step_from_labels(&data, &parameters, k);
        for threads in [1, 2] {
            let mut posteriors = vec![0.0; data.item_count() * k];
            let tallies = e_step(&cells, &parameters, &mut posteriors, threads);
            assert_eq!(posteriors, expected, "{k} classes, {threads} threads");
            if threads == 1 {
                assert_eq!(tallies.counts, by_labels.counts, "{k} classes");
                assert_eq!(tallies.prior_sums, by_labels.prior_sums);
                // The E-step multiplies the items' totals where the model sums their
                // logarithms: the two differ by rounding alone.
                let (got, want) = (tallies.log_likelihood, by_labels.log_likelihood);
                assert!(
                    (got - want).abs() <= 1e-12 * want.abs(),
                    "{k} classes: log-likelihood {got} against {want}"
                );
            }
        }
    }
}

/// The product of many totals keeps their logarithms' sum to within rounding, however many
/// there are (a plain product of a million totals of 1 to 4 overflows), and a total that is
/// not a number or infinite makes the log-likelihood what the sum would make it.
#[test]
fn the_product_of_totals_is_the_sum_of_their_logarithms() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (count, largest) in [(1, 2.0), (1_000, 3.0), (1_000_000, 4.0), (200_000, 40.0)] {
        let mut product = ProductOfTotals::default();
        let mut sum = 0.0;
        for _ in 0..count {
            let total: f64 = rng.gen_range(1.0..largest);
            product.times(total);
            sum += total.ln();
        }
        let got = product.ln();
        assert!(
            (got - sum).abs() <= 1e-12 * sum.abs().max(1.0),
            "{count} totals up to {largest}: {got} against {sum}"
        );
    }
    let mut twos = ProductOfTotals::default();
    (0..5_000).for_each(|_| twos.times(2.0));
    assert_eq!(twos.ln(), 5_000.0 * std::f64::consts::LN_2);
    assert_eq!(ProductOfTotals::default().ln(), 0.0);
    for odd in [f64::NAN, f64::INFINITY] {
        let mut product = ProductOfTotals::default();
        product.times(3.0);
        product.times(odd);
        product.times(2.0);
        let sum = 3f64.ln() + odd.ln() + 2f64.ln();
        assert_eq!(product.ln().is_nan(), sum.is_nan(), "{odd}");
        assert!(product.ln().is_nan() || product.ln() == sum, "{odd}");
    }
}
