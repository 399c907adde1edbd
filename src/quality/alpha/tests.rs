use serde::Deserialize;

use super::*;
use crate::quality::dataset::{Categories, Dataset};
use crate::quality::DatasetBuilder;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    categories: Vec<f64>,
    /// raters x units, `null` where missing.
    ratings: Vec<Vec<Option<f64>>>,
    alpha: Expected,
}

#[derive(Deserialize)]
struct Expected {
    nominal: f64,
    ordinal: f64,
    interval: f64,
    ratio: f64,
}

fn dataset_of(categories: &[f64], ratings: &[Vec<Option<f64>>]) -> Dataset {
    let names: Vec<String> = categories.iter().map(|v| v.to_string()).collect();
    let mut builder = DatasetBuilder::new();
    builder.categories(Categories::ordered(names).expect("valid categories"));
    for (rater, row) in ratings.iter().enumerate() {
        for (unit, value) in row.iter().enumerate() {
            if let Some(value) = value {
                builder.add_label(
                    &format!("u{unit}"),
                    &format!("r{rater}"),
                    &value.to_string(),
                );
            }
        }
    }
    builder.build().expect("valid dataset")
}

fn alpha_at(data: &Dataset, level: Level) -> f64 {
    krippendorff_alpha(data, level).expect("alpha is defined")
}

#[test]
fn matches_the_krippendorff_package_on_random_data() {
    let fixture: Fixture = serde_json::from_str(include_str!(
        "../../../tests/fixtures/quality/alpha_random.json"
    ))
    .expect("fixture");
    assert!(fixture.cases.len() >= 6);
    for case in &fixture.cases {
        let data = dataset_of(&case.categories, &case.ratings);
        for (level, expected) in [
            (Level::Nominal, case.alpha.nominal),
            (Level::Ordinal, case.alpha.ordinal),
            (Level::Interval, case.alpha.interval),
            (Level::Ratio, case.alpha.ratio),
        ] {
            let got = alpha_at(&data, level);
            assert!(
                (got - expected).abs() < 1e-9,
                "{} {level:?}: got {got}, expected {expected}",
                case.name
            );
        }
    }
}

/// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units.
#[test]
fn reproduces_the_published_worked_example() {
    let missing = None;
    let row = |values: [Option<f64>; 12]| values.to_vec();
    let s = |v: f64| Some(v);
    let ratings = vec![
        row([
            s(1.),
            s(2.),
            s(3.),
            s(3.),
            s(2.),
            s(1.),
            s(4.),
            s(1.),
            s(2.),
            missing,
            missing,
            missing,
        ]),
        row([
            s(1.),
            s(2.),
            s(3.),
            s(3.),
            s(2.),
            s(2.),
            s(4.),
            s(1.),
            s(2.),
            s(5.),
            missing,
            s(3.),
        ]),
        row([
            missing,
            s(3.),
            s(3.),
            s(3.),
            s(2.),
            s(3.),
            s(4.),
            s(2.),
            s(2.),
            s(5.),
            s(1.),
            missing,
        ]),
        row([
            s(1.),
            s(2.),
            s(3.),
            s(3.),
            s(2.),
            s(4.),
            s(4.),
            s(1.),
            s(2.),
            s(5.),
            s(1.),
            missing,
        ]),
    ];
    let data = dataset_of(&[1., 2., 3., 4., 5.], &ratings);
    let rounded = |level| (alpha_at(&data, level) * 1000.0).round() / 1000.0;
    assert_eq!(rounded(Level::Nominal), 0.743);
    assert_eq!(rounded(Level::Ordinal), 0.815);
    assert_eq!(rounded(Level::Interval), 0.849);
    assert_eq!(rounded(Level::Ratio), 0.797);
}

#[test]
fn undefined_cases_give_reasons() {
    let empty = Dataset::from_labels(Vec::<(&str, &str, &str)>::new()).expect("empty dataset");
    assert!(krippendorff_alpha(&empty, Level::Nominal).is_err());
    let single = Dataset::from_labels([("a", "r1", "x"), ("b", "r2", "y")]).expect("dataset");
    let reason = krippendorff_alpha(&single, Level::Nominal).expect_err("no pairable values");
    assert!(reason.contains("two or more labels"));
    let same = Dataset::from_labels([("a", "r1", "x"), ("a", "r2", "x")]).expect("dataset");
    let reason = krippendorff_alpha(&same, Level::Nominal).expect_err("no expected disagreement");
    assert!(reason.contains("expected disagreement is zero"));
}

#[test]
fn profiles_rebuild_the_full_coincidence_matrix() {
    let data = Dataset::from_labels([
        ("a", "r1", "x"),
        ("a", "r2", "y"),
        ("b", "r1", "x"),
        ("b", "r2", "x"),
        ("b", "r3", "y"),
        ("c", "r1", "x"),
        ("c", "r3", "y"),
        ("d", "r2", "y"),
    ])
    .expect("dataset");
    let profiles = UnitProfiles::of_dataset(&data);
    let weights = vec![1u32; data.item_count()];
    let rebuilt = profiles.coincidence(data.categories().len(), &weights);
    let direct = Coincidence::of_dataset(&data);
    for (a, b) in rebuilt.cells.iter().zip(&direct.cells) {
        assert!((a - b).abs() < 1e-12);
    }
}
