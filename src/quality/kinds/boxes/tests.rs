use super::*;

fn shape(x: f64, y: f64, w: f64, h: f64, label: &str) -> BoxShape {
    BoxShape {
        x,
        y,
        w,
        h,
        label: label.to_string(),
    }
}

fn row(item: &str, rater: &str, boxes: Vec<BoxShape>) -> Row<Vec<BoxShape>> {
    (item.to_string(), rater.to_string(), boxes)
}

fn scene() -> Vec<BoxShape> {
    vec![
        shape(10.0, 10.0, 100.0, 50.0, "car"),
        shape(200.0, 40.0, 30.0, 80.0, "person"),
    ]
}

#[test]
fn iou_of_known_boxes() {
    let a = shape(0.0, 0.0, 2.0, 2.0, "x");
    assert_eq!(box_iou(&a, &a), 1.0);
    assert_eq!(box_iou(&a, &shape(1.0, 1.0, 2.0, 2.0, "y")), 1.0 / 7.0);
    assert_eq!(box_iou(&a, &shape(0.0, 0.0, 2.0, 1.0, "x")), 0.5);
    assert_eq!(box_iou(&a, &shape(2.0, 0.0, 2.0, 2.0, "x")), 0.0);
    assert_eq!(box_iou(&a, &shape(5.0, 5.0, 1.0, 1.0, "x")), 0.0);
}

/// A box far narrower than its distance from the origin loses its width in `x + w`; it
/// still covers itself whole, and two raters who drew it agree (found by fuzzing).
#[test]
fn a_box_narrower_than_rounding_at_its_place_covers_itself() {
    for (x, w) in [(1.0, 3.1e-314), (1e7, 1e-9), (0.3, 0.1)] {
        let a = shape(x, 2.0, w, 4.0, "cat");
        assert_eq!(box_iou(&a, &a), 1.0, "x {x} w {w}");
        assert!(
            boxes_agree(std::slice::from_ref(&a), std::slice::from_ref(&a), 1.0, 1.0),
            "x {x} w {w}"
        );
    }
}

#[test]
fn degenerate_boxes_match_nothing() {
    let a = shape(0.0, 0.0, 2.0, 2.0, "x");
    for broken in [
        shape(0.0, 0.0, 0.0, 2.0, "x"),
        shape(0.0, 0.0, -2.0, 2.0, "x"),
        shape(f64::NAN, 0.0, 2.0, 2.0, "x"),
        shape(0.0, 0.0, f64::INFINITY, 2.0, "x"),
        shape(0.0, 0.0, f64::MAX, f64::MAX, "x"),
    ] {
        let iou = box_iou(&a, &broken);
        assert!(
            iou.is_finite() && (0.0..=1.0).contains(&iou),
            "{broken:?}: {iou}"
        );
        assert_eq!(box_iou(&broken, &shape(0.0, 0.0, 0.0, 0.0, "x")), 0.0);
    }
    assert_eq!(
        box_list_f1(
            &[shape(0.0, 0.0, 0.0, 0.0, "x")],
            &[shape(0.0, 0.0, 0.0, 0.0, "x")],
            0.5
        ),
        0.0
    );
}

#[test]
fn identical_raters_score_one() {
    let rows = vec![
        row("1", "a", scene()),
        row("1", "b", scene()),
        row("1", "c", scene()),
    ];
    let got = box_agreement(&rows, 0.5);
    assert_eq!((got.pairs, got.matched), (3, 6));
    assert_eq!((got.f1, got.mean_iou), (Some(1.0), Some(1.0)));
    let labels: Vec<(&str, usize)> = got
        .per_label
        .iter()
        .map(|l| (l.label.as_str(), l.boxes))
        .collect();
    assert_eq!(labels, vec![("car", 3), ("person", 3)]);
}

#[test]
fn the_threshold_and_the_label_decide_a_match() {
    // The car is shifted by a fifth of its width: IoU (80 * 50) / (2 * 5000 - 4000) = 2/3.
    let shifted = vec![
        shape(30.0, 10.0, 100.0, 50.0, "car"),
        shape(200.0, 40.0, 30.0, 80.0, "dog"),
    ];
    let rows = vec![row("1", "a", scene()), row("1", "b", shifted.clone())];
    let at_half = box_agreement(&rows, 0.5);
    assert_eq!(at_half.matched, 1);
    assert_eq!(at_half.f1, Some(0.5));
    assert!((at_half.mean_iou.expect("iou") - 2.0 / 3.0).abs() < 1e-12);
    let strict = box_agreement(&rows, 0.7);
    assert_eq!((strict.matched, strict.f1), (0, Some(0.0)));
    assert_eq!(strict.mean_iou, None);
    assert!(strict.mean_iou_reason.is_some());
    let per: Vec<(&str, Option<f64>)> = at_half
        .per_label
        .iter()
        .map(|l| (l.label.as_str(), l.f1))
        .collect();
    assert_eq!(
        per,
        vec![
            ("car", Some(1.0)),
            ("dog", Some(0.0)),
            ("person", Some(0.0))
        ]
    );
    assert!(boxes_agree(&scene(), &shifted, 0.5, 0.5));
    assert!(!boxes_agree(&scene(), &shifted, 0.5, 1.0));
}

#[test]
fn a_rater_who_marks_nothing() {
    let rows = vec![row("1", "a", scene()), row("1", "b", vec![])];
    let got = box_agreement(&rows, 0.5);
    assert_eq!(got.f1, Some(0.0));
    assert_eq!(got.mean_iou, None);
    assert!(boxes_agree(&[], &[], 0.5, 1.0));
    assert_eq!(box_list_f1(&scene(), &[], 0.5), 0.0);
}

#[test]
fn one_rater_only_or_a_bad_threshold_gives_reasons() {
    let alone = box_agreement(&[row("1", "a", scene())], 0.5);
    assert_eq!((alone.pairs, alone.f1, alone.mean_iou), (0, None, None));
    assert!(alone.f1_reason.is_some());
    let rows = vec![row("1", "a", scene()), row("1", "b", scene())];
    for threshold in [0.0, -1.0, 1.5, f64::NAN] {
        let got = box_agreement(&rows, threshold);
        assert_eq!(got.f1, None, "{threshold}");
        assert!(got.f1_reason.as_deref().unwrap_or("").contains("threshold"));
        assert!(got.per_label.iter().all(|l| l.f1.is_none()));
    }
    let empty = box_agreement(&[], 0.5);
    assert!(empty.f1_reason.is_some() && empty.per_label.is_empty());
}

#[test]
fn consensus_takes_the_median_of_majority_boxes() {
    let values = vec![
        vec![shape(10.0, 10.0, 100.0, 50.0, "car")],
        vec![
            shape(12.0, 8.0, 96.0, 54.0, "car"),
            shape(300.0, 300.0, 20.0, 20.0, "dog"),
        ],
        vec![shape(14.0, 11.0, 90.0, 52.0, "car")],
    ];
    let got = box_consensus(&values, 0.5, 1.0).expect("consensus");
    assert_eq!(got.value, vec![shape(12.0, 10.0, 96.0, 52.0, "car")]);
    assert_eq!((got.agreeing, got.raters, got.tie), (2, 3, false));
    let even = box_consensus(&values[..2], 0.5, 1.0).expect("consensus");
    assert_eq!(even.value, vec![shape(11.0, 9.0, 98.0, 52.0, "car")]);
    assert!(even.tie, "the dog was drawn by one rater of two");
    assert_eq!(box_consensus(&[], 0.5, 1.0), None);
}

#[test]
fn hostile_boxes_do_not_panic() {
    let broken = vec![
        shape(f64::NAN, f64::NAN, f64::NAN, f64::NAN, "car"),
        shape(0.0, 0.0, 0.0, 0.0, "car"),
        shape(f64::MAX, f64::MIN, f64::MAX, f64::MAX, "car"),
    ];
    let rows = vec![row("1", "a", broken.clone()), row("1", "b", broken.clone())];
    let got = box_agreement(&rows, 0.5);
    assert_eq!(got.f1, Some(0.0));
    let consensus =
        box_consensus(&[broken.clone(), broken.clone(), broken], 0.5, 1.0).expect("consensus");
    assert!(consensus.value.is_empty());
}

#[test]
fn boxes_deserialize_from_the_label_json_shape() {
    let parsed: Vec<BoxShape> =
        serde_json::from_str(r#"[{"x": 1, "y": 2.5, "w": 3, "h": 4, "label": "car"}]"#)
            .expect("parses");
    assert_eq!(parsed, vec![shape(1.0, 2.5, 3.0, 4.0, "car")]);
}

#[test]
fn many_identical_boxes_still_match_one_to_one() {
    let crowd: Vec<BoxShape> = (0..150)
        .map(|_| shape(5.0, 5.0, 10.0, 10.0, "car"))
        .collect();
    let rows = vec![
        row("1", "a", crowd.clone()),
        row("1", "b", crowd.clone()),
        row("1", "c", crowd[..100].to_vec()),
    ];
    let got = box_agreement(&rows, 0.5);
    // a-b match 150, a-c and b-c 100 each: 2 * 350 / (300 + 250 + 250).
    assert_eq!(got.matched, 350);
    assert_eq!(got.f1, Some(700.0 / 800.0));
}
