use super::super::alpha_with_distance;
use super::*;

fn rows(data: &[(&str, &str, f64)]) -> Vec<Row<f64>> {
    data.iter()
        .map(|&(item, rater, value)| (item.to_string(), rater.to_string(), value))
        .collect()
}

#[test]
fn identical_raters_give_alpha_one_and_no_difference() {
    let got = numeric_agreement(&rows(&[
        ("1", "a", 1.5),
        ("1", "b", 1.5),
        ("2", "a", 7.0),
        ("2", "b", 7.0),
    ]));
    assert_eq!(got.alpha_interval, Some(1.0));
    assert_eq!(got.mean_abs_difference, Some(0.0));
    assert_eq!((got.pairs, got.pairable_items), (2, 2));
}

#[test]
fn closed_form_alpha_equals_the_coincidence_form() {
    let data = [
        ("1", "a", 1.0),
        ("1", "b", 2.0),
        ("1", "c", 2.5),
        ("2", "a", 10.0),
        ("2", "b", 8.0),
        ("3", "a", -4.0),
        ("3", "c", -3.0),
        ("3", "d", -4.5),
        ("3", "b", 0.0),
        ("4", "d", 100.0),
    ];
    let got = numeric_agreement(&rows(&data))
        .alpha_interval
        .expect("alpha");
    // Same data through the generic alpha, values as integer keys (tenths) so they are Ord.
    let units: Vec<Vec<i64>> = ["1", "2", "3", "4"]
        .iter()
        .map(|item| {
            data.iter()
                .filter(|d| d.0 == *item)
                .map(|d| (d.2 * 10.0) as i64)
                .collect()
        })
        .collect();
    let reference =
        alpha_with_distance(&units, |a, b| ((a - b) as f64 / 10.0).powi(2)).expect("alpha");
    assert!((got - reference).abs() < 1e-12, "{got} vs {reference}");
}

#[test]
fn mean_abs_difference_weighs_every_pair_once() {
    let got = numeric_agreement(&rows(&[
        ("1", "a", 0.0),
        ("1", "b", 3.0),
        ("1", "c", 6.0),
        ("2", "a", 1.0),
        ("2", "b", 2.0),
    ]));
    // pairs: 3, 6, 3 and 1 -> 13 / 4
    assert_eq!(got.mean_abs_difference, Some(3.25));
    assert_eq!(got.pairs, 4);
}

#[test]
fn non_finite_values_are_left_out_and_counted() {
    let got = numeric_agreement(&rows(&[
        ("1", "a", 1.0),
        ("1", "b", f64::NAN),
        ("1", "c", 2.0),
        ("2", "a", f64::INFINITY),
        ("2", "b", 4.0),
        ("3", "a", 0.0),
        ("3", "b", 1.0),
    ]));
    assert_eq!(got.ignored_values, 2);
    assert_eq!((got.pairs, got.pairable_items), (2, 2));
    assert!(got.alpha_interval.is_some_and(f64::is_finite));
}

#[test]
fn one_rater_only_or_one_value_everywhere_gives_reasons() {
    let alone = numeric_agreement(&rows(&[("1", "a", 1.0), ("2", "a", 2.0)]));
    assert_eq!(
        (alone.alpha_interval, alone.mean_abs_difference),
        (None, None)
    );
    assert!(alone.alpha_interval_reason.is_some() && alone.mean_abs_difference_reason.is_some());
    let flat = numeric_agreement(&rows(&[("1", "a", 3.0), ("1", "b", 3.0)]));
    assert_eq!(flat.alpha_interval, None);
    assert!(flat
        .alpha_interval_reason
        .as_deref()
        .unwrap_or("")
        .contains("equal"));
    assert_eq!(flat.mean_abs_difference, Some(0.0));
    assert_eq!(numeric_agreement(&[]).pairs, 0);
}

#[test]
fn numbers_within_a_tolerance() {
    assert!(numbers_within(1.3, 1.2, 0.1));
    assert!(numbers_within(5.0, 5.0, 0.0));
    assert!(!numbers_within(5.0, 5.01, 0.0));
    assert!(!numbers_within(1.0, 1.25, 0.2));
    assert!(!numbers_within(f64::NAN, f64::NAN, 1.0));
    assert!(!numbers_within(f64::INFINITY, f64::INFINITY, 1.0));
    assert!(numbers_within(2.0, 1.0, f64::INFINITY));
    assert!(!numbers_within(2.0, 1.0, f64::NAN));
}

#[test]
fn numeric_consensus_is_the_median() {
    let odd = numeric_consensus(&[3.0, 1.0, 10.0], 1.0).expect("values");
    assert_eq!((odd.value, odd.agreeing, odd.raters), (3.0, 1, 3));
    let even = numeric_consensus(&[1.0, 2.0, 4.0, 40.0, f64::NAN], 1.0).expect("values");
    assert_eq!((even.value, even.agreeing, even.raters), (3.0, 2, 4));
    assert_eq!(numeric_consensus(&[], 1.0), None);
    assert_eq!(numeric_consensus(&[f64::NAN], 1.0), None);
}

#[test]
fn rating_consensus_is_the_median_position() {
    let got = rating_consensus(&[4, 1, 3], 0).expect("ratings");
    assert_eq!((got.value, got.agreeing, got.tie), (3, 1, false));
    let within_one = rating_consensus(&[4, 1, 3], 1).expect("ratings");
    assert_eq!(within_one.agreeing, 2);
    let split = rating_consensus(&[1, 2, 2, 4], 0).expect("ratings");
    assert_eq!((split.value, split.tie), (2, false));
    let tied = rating_consensus(&[0, 4], 0).expect("ratings");
    assert_eq!((tied.value, tied.tie, tied.share), (0, true, 0.5));
    assert_eq!(rating_consensus(&[], 0), None);
}
