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
