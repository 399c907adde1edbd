use super::*;

fn set(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|l| l.to_string()).collect()
}

fn row(item: &str, rater: &str, labels: &[&str]) -> Row<Vec<String>> {
    (item.to_string(), rater.to_string(), set(labels))
}

#[test]
fn distances_of_known_sets() {
    // Passonneau's example: a subset scores 1 - (2/4) * (2/3).
    assert!(
        (masi_distance(&set(&["1", "2"]), &set(&["1", "2", "3", "4"])) - 2.0 / 3.0).abs() < 1e-15
    );
    assert_eq!(
        jaccard_distance(&set(&["1", "2"]), &set(&["1", "2", "3", "4"])),
        0.5
    );
    // Overlapping without containment: J = 1/3, M = 1/3.
    assert!(
        (masi_distance(&set(&["a", "b"]), &set(&["b", "c"])) - (1.0 - 1.0 / 9.0)).abs() < 1e-15
    );
    assert_eq!(masi_distance(&set(&["a"]), &set(&["b"])), 1.0);
    assert_eq!(
        masi_distance(&set(&["b", "a", "a"]), &set(&["a", "b"])),
        0.0
    );
    assert_eq!(masi_distance(&[], &[]), 0.0);
    assert_eq!(jaccard_distance(&[], &[]), 0.0);
    assert_eq!(masi_distance(&[], &set(&["a"])), 1.0);
}

#[test]
fn sets_compare_without_order_or_repeats() {
    assert!(sets_equal(&set(&["b", "a"]), &set(&["a", "b", "b"])));
    assert!(!sets_equal(&set(&["a"]), &set(&["a", "b"])));
    assert!(sets_equal(&[], &[]));
}

#[test]
fn identical_raters_give_alpha_one() {
    let rows = vec![
        row("1", "a", &["x", "y"]),
        row("1", "b", &["y", "x"]),
        row("2", "a", &[]),
        row("2", "b", &[]),
        row("3", "a", &["z"]),
        row("3", "b", &["z"]),
    ];
    let got = multi_label_agreement(&rows);
    assert_eq!((got.alpha_masi, got.alpha_jaccard), (Some(1.0), Some(1.0)));
    assert_eq!(got.pairable_items, 3);
    let labels: Vec<(&str, usize, Option<f64>)> = got
        .per_label
        .iter()
        .map(|l| (l.label.as_str(), l.chosen, l.alpha_binary))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("x", 2, Some(1.0)),
            ("y", 2, Some(1.0)),
            ("z", 2, Some(1.0))
        ]
    );
}

#[test]
fn partial_overlap_earns_partial_credit() {
    let rows = vec![
        row("1", "a", &["x", "y"]),
        row("1", "b", &["x"]),
        row("2", "a", &["z"]),
        row("2", "b", &["z"]),
        row("3", "a", &[]),
        row("3", "b", &[]),
    ];
    let got = multi_label_agreement(&rows);
    let (masi, jaccard) = (
        got.alpha_masi.expect("masi"),
        got.alpha_jaccard.expect("jaccard"),
    );
    assert!(masi > 0.0 && masi < 1.0, "{masi}");
    // MASI takes more off for a subset than Jaccard does (2/3 of J kept instead of J).
    assert!(masi < jaccard, "{masi} {jaccard}");
    let y = got.per_label.iter().find(|l| l.label == "y").expect("y");
    assert!(y.alpha_binary.expect("alpha") < 0.5);
}

#[test]
fn one_rater_only_gives_reasons() {
    let got = multi_label_agreement(&[row("1", "a", &["x"]), row("2", "a", &["y"])]);
    assert_eq!((got.alpha_masi, got.alpha_jaccard), (None, None));
    assert!(got.alpha_masi_reason.is_some() && got.alpha_jaccard_reason.is_some());
    assert!(got
        .per_label
        .iter()
        .all(|l| l.alpha_binary.is_none() && l.alpha_binary_reason.is_some()));
    let empty = multi_label_agreement(&[]);
    assert!(empty.alpha_masi_reason.is_some() && empty.per_label.is_empty());
}

#[test]
fn consensus_is_the_per_label_majority() {
    let values = vec![set(&["x", "y"]), set(&["x"]), set(&["x", "z"])];
    let got = multi_label_consensus(&values).expect("consensus");
    assert_eq!(got.value, set(&["x"]));
    assert_eq!((got.agreeing, got.raters, got.tie), (1, 3, false));
    let split = multi_label_consensus(&[set(&["x"]), set(&[])]).expect("consensus");
    assert_eq!((split.value.len(), split.tie, split.agreeing), (0, true, 1));
    let none_chosen = multi_label_consensus(&[set(&[]), set(&[])]).expect("consensus");
    assert_eq!(
        (none_chosen.value.len(), none_chosen.share, none_chosen.tie),
        (0, 1.0, false)
    );
    assert_eq!(multi_label_consensus(&[]), None);
}
