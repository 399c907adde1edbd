use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct CohenFixture {
    cases: Vec<CohenCase>,
}

#[derive(Deserialize)]
struct CohenCase {
    categories: usize,
    a: Vec<usize>,
    b: Vec<usize>,
    none: f64,
    linear: f64,
    quadratic: f64,
}

#[derive(Deserialize)]
struct FleissFixture {
    cases: Vec<FleissCase>,
}

#[derive(Deserialize)]
struct FleissCase {
    categories: usize,
    ratings: Vec<Vec<usize>>,
    table: Vec<Vec<f64>>,
    kappa: f64,
}

fn table_of(a: &[usize], b: &[usize], k: usize) -> Vec<f64> {
    let mut table = vec![0.0; k * k];
    for (&x, &y) in a.iter().zip(b) {
        table[x * k + y] += 1.0;
    }
    table
}

#[test]
fn cohen_kappa_matches_scikit_learn() {
    let fixture: CohenFixture = serde_json::from_str(include_str!(
        "../../../tests/fixtures/quality/cohen_kappa.json"
    ))
    .expect("fixture");
    for case in &fixture.cases {
        let table = table_of(&case.a, &case.b, case.categories);
        for (weights, expected) in [
            (Weights::None, case.none),
            (Weights::Linear, case.linear),
            (Weights::Quadratic, case.quadratic),
        ] {
            let got = cohen_kappa(&table, case.categories, weights).expect("defined");
            assert!(
                (got - expected).abs() < 1e-9,
                "{weights:?}: got {got}, expected {expected}"
            );
        }
    }
}

#[test]
fn cohen_kappa_is_undefined_when_chance_disagreement_is_zero() {
    let table = [5.0, 0.0, 0.0, 0.0];
    assert!(cohen_kappa(&table, 2, Weights::None).is_err());
    assert!(cohen_kappa(&[0.0; 4], 2, Weights::None).is_err());
    assert!(cohen_kappa(&[], 0, Weights::None).is_err());
}

#[test]
fn fleiss_kappa_matches_statsmodels() {
    let fixture: FleissFixture = serde_json::from_str(include_str!(
        "../../../tests/fixtures/quality/fleiss_kappa.json"
    ))
    .expect("fixture");
    for case in &fixture.cases {
        let from_table = fleiss_kappa_from_table(&case.table).expect("defined");
        assert!((from_table - case.kappa).abs() < 1e-9);
        let names: Vec<String> = (0..case.categories).map(|c| c.to_string()).collect();
        let mut builder = crate::quality::DatasetBuilder::new();
        builder.categories(crate::quality::Categories::ordered(names).expect("categories"));
        for (item, row) in case.ratings.iter().enumerate() {
            for (rater, value) in row.iter().enumerate() {
                builder.add_label(&item.to_string(), &rater.to_string(), &value.to_string());
            }
        }
        let data = builder.build().expect("dataset");
        let from_data = fleiss_kappa(&data).expect("defined");
        assert!(
            (from_data - case.kappa).abs() < 1e-9,
            "got {from_data}, expected {}",
            case.kappa
        );
    }
}

/// Fleiss (1971) as tabulated in Wikipedia's "Fleiss' kappa" article: 10 items, 14 raters,
/// 5 categories, kappa 0.210.
#[test]
fn fleiss_kappa_reproduces_the_wikipedia_example() {
    let rows: Vec<Vec<f64>> = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    .iter()
    .map(|row| row.iter().map(|&n| f64::from(n)).collect())
    .collect();
    let kappa = fleiss_kappa_from_table(&rows).expect("defined");
    assert_eq!((kappa * 1000.0).round() / 1000.0, 0.210);
}

#[test]
fn fleiss_kappa_explains_unequal_label_counts() {
    let rows = vec![vec![2.0, 0.0], vec![1.0, 2.0]];
    let reason = fleiss_kappa_from_table(&rows).expect_err("unequal");
    assert!(reason.contains("different numbers of labels"), "{reason}");
    assert!(fleiss_kappa_from_table(&[]).is_err());
    assert!(fleiss_kappa_from_table(&[vec![1.0, 0.0]]).is_err());
    assert!(fleiss_kappa_from_table(&[vec![3.0, 0.0], vec![3.0, 0.0]]).is_err());
}

/// Two raters, 2 categories: po = 0.9, pi = (0.85, 0.15), pe = 2 * 0.85 * 0.15 = 0.255,
/// AC1 = (0.9 - 0.255) / 0.745; PABAK = 2 * 0.9 - 1 = 0.8.
#[test]
fn ac1_and_pabak_match_hand_computation() {
    let mut labels = Vec::new();
    let items: Vec<String> = (0..20).map(|i| format!("i{i}")).collect();
    for (i, item) in items.iter().enumerate() {
        let (a, b) = match i {
            0..=15 => ("yes", "yes"),
            16 => ("no", "no"),
            17 => ("no", "no"),
            18 => ("yes", "no"),
            _ => ("no", "yes"),
        };
        labels.push((item.as_str(), "ra", a));
        labels.push((item.as_str(), "rb", b));
    }
    let data = Dataset::from_labels(labels).expect("dataset");
    let agreement = ItemAgreement::of_dataset(&data);
    let ac1 = agreement.gwet_ac1().expect("defined");
    assert!((ac1 - (0.9 - 0.255) / 0.745).abs() < 1e-12, "{ac1}");
    assert!((agreement.pabak().expect("defined") - 0.8).abs() < 1e-12);
    assert!((agreement.percent_agreement().expect("defined") - 0.9).abs() < 1e-12);
}

#[derive(Deserialize)]
struct MissingFixture {
    cases: Vec<MissingCase>,
}

#[derive(Deserialize)]
struct MissingCase {
    categories: usize,
    ratings: Vec<Vec<Option<usize>>>,
    kappa: f64,
}

#[test]
fn fleiss_kappa_with_unequal_label_counts_matches_irrcac() {
    let fixture: MissingFixture = serde_json::from_str(include_str!(
        "../../../tests/fixtures/quality/fleiss_kappa_missing.json"
    ))
    .expect("fixture");
    for case in &fixture.cases {
        let names: Vec<String> = (0..case.categories).map(|c| c.to_string()).collect();
        let mut builder = crate::quality::DatasetBuilder::new();
        builder.categories(crate::quality::Categories::ordered(names).expect("categories"));
        let mut rows = Vec::new();
        for (item, row) in case.ratings.iter().enumerate() {
            let mut counts = vec![0.0; case.categories];
            for (rater, value) in row.iter().enumerate() {
                if let Some(value) = value {
                    builder.add_label(&item.to_string(), &rater.to_string(), &value.to_string());
                    counts[*value] += 1.0;
                }
            }
            rows.push(counts);
        }
        let counts: Vec<f64> = rows.iter().map(|r| r.iter().sum()).collect();
        assert!(
            counts.iter().any(|&n| n != counts[0]),
            "the case must have unequal label counts"
        );
        let data = builder.build().expect("dataset");
        let from_data = fleiss_kappa(&data).expect("defined");
        let from_table = fleiss_kappa_generalised(&rows).expect("defined");
        for got in [from_data, from_table] {
            assert!(
                (got - case.kappa).abs() < 1e-9,
                "got {got}, expected {}",
                case.kappa
            );
        }
    }
}

#[test]
fn generalised_fleiss_kappa_equals_the_classical_one_for_equal_counts() {
    let rows = vec![
        vec![2.0, 1.0, 0.0],
        vec![0.0, 3.0, 0.0],
        vec![1.0, 1.0, 1.0],
        vec![3.0, 0.0, 0.0],
    ];
    let classical = fleiss_kappa_from_table(&rows).expect("defined");
    let generalised = fleiss_kappa_generalised(&rows).expect("defined");
    assert!((classical - generalised).abs() < 1e-12);
    assert!(fleiss_kappa_generalised(&[vec![1.0, 0.0], vec![1.0]]).is_err());
    assert!(fleiss_kappa_generalised(&[vec![0.5, 1.5]]).is_err());
    assert!(fleiss_kappa_generalised(&[vec![1.0, 0.0], vec![0.0, 1.0]]).is_err());
}
