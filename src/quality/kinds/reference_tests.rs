//! Every kind's figures against the reference packages, through the fixtures written by
//! scripts/kind_fixtures.py (krippendorff, nltk, scikit-learn, scipy).

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::*;

const EXACT: f64 = 1e-9;

fn fixture<T: DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).expect("fixture parses")
}

/// `got` equals `expected` to 1e-9, or both are undefined.
fn same(what: &str, got: Option<f64>, expected: Option<f64>) {
    match (got, expected) {
        (Some(g), Some(e)) => assert!((g - e).abs() < EXACT, "{what}: got {g}, reference {e}"),
        (None, None) => {}
        _ => panic!("{what}: got {got:?}, reference {expected:?}"),
    }
}

fn values_of<V: Clone>(rows: &[Row<V>], item: &str) -> Vec<V> {
    let mut found: Vec<(&str, V)> = rows
        .iter()
        .filter(|(i, _, _)| i == item)
        .map(|(_, rater, value)| (rater.as_str(), value.clone()))
        .collect();
    found.sort_by(|a, b| a.0.cmp(b.0));
    found.into_iter().map(|(_, value)| value).collect()
}

#[derive(Deserialize)]
struct MultiLabelFile {
    distances: Vec<SetDistance>,
    cases: Vec<MultiLabelCase>,
}

#[derive(Deserialize)]
struct SetDistance {
    a: Vec<String>,
    b: Vec<String>,
    masi: f64,
    jaccard: f64,
}

#[derive(Deserialize)]
struct MultiLabelCase {
    name: String,
    rows: Vec<Row<Vec<String>>>,
    alpha_masi: Option<f64>,
    alpha_jaccard: Option<f64>,
    per_label: Vec<ExpectedLabelAlpha>,
    consensus: Vec<ExpectedConsensus<Vec<String>>>,
}

#[derive(Deserialize)]
struct ExpectedLabelAlpha {
    label: String,
    chosen: usize,
    alpha_binary: Option<f64>,
}

#[derive(Deserialize)]
struct ExpectedConsensus<V> {
    item: String,
    value: V,
    agreeing: usize,
    raters: usize,
    #[serde(default)]
    tie: bool,
}

#[test]
fn set_distances_match_nltk() {
    let file: MultiLabelFile = fixture(include_str!(
        "../../../tests/fixtures/quality/kinds/multi_label.json"
    ));
    assert!(file.distances.len() >= 30);
    for d in &file.distances {
        same(
            &format!("masi {:?} {:?}", d.a, d.b),
            Some(masi_distance(&d.a, &d.b)),
            Some(d.masi),
        );
        same(
            &format!("jaccard {:?} {:?}", d.a, d.b),
            Some(jaccard_distance(&d.a, &d.b)),
            Some(d.jaccard),
        );
    }
}

#[test]
fn multi_label_alpha_matches_krippendorff_with_nltk_distances() {
    let file: MultiLabelFile = fixture(include_str!(
        "../../../tests/fixtures/quality/kinds/multi_label.json"
    ));
    assert_eq!(file.cases.len(), 3);
    for case in &file.cases {
        let got = multi_label_agreement(&case.rows);
        same(
            &format!("{} masi", case.name),
            got.alpha_masi,
            case.alpha_masi,
        );
        same(
            &format!("{} jaccard", case.name),
            got.alpha_jaccard,
            case.alpha_jaccard,
        );
        assert_eq!(got.per_label.len(), case.per_label.len(), "{}", case.name);
        for (g, e) in got.per_label.iter().zip(&case.per_label) {
            assert_eq!((g.label.as_str(), g.chosen), (e.label.as_str(), e.chosen));
            same(
                &format!("{} binary {}", case.name, e.label),
                g.alpha_binary,
                e.alpha_binary,
            );
        }
        for e in &case.consensus {
            let got = multi_label_consensus(&values_of(&case.rows, &e.item)).expect("raters");
            assert_eq!(got.value, e.value, "{} {}", case.name, e.item);
            assert_eq!(
                (got.agreeing, got.raters, got.tie),
                (e.agreeing, e.raters, e.tie),
                "{} {}",
                case.name,
                e.item
            );
        }
    }
}

#[derive(Deserialize)]
struct NumbersFile {
    cases: Vec<NumbersCase>,
}

#[derive(Deserialize)]
struct NumbersCase {
    name: String,
    rows: Vec<Row<f64>>,
    alpha_interval: Option<f64>,
    mean_abs_difference: Option<f64>,
    pairs: usize,
    tolerance: f64,
    consensus: Vec<ExpectedConsensus<f64>>,
}

#[test]
fn numeric_agreement_matches_krippendorff_and_numpy() {
    let file: NumbersFile = fixture(include_str!(
        "../../../tests/fixtures/quality/kinds/numbers.json"
    ));
    assert_eq!(file.cases.len(), 3);
    for case in &file.cases {
        let got = numeric_agreement(&case.rows);
        same(
            &format!("{} interval alpha", case.name),
            got.alpha_interval,
            case.alpha_interval,
        );
        same(
            &format!("{} mad", case.name),
            got.mean_abs_difference,
            case.mean_abs_difference,
        );
        assert_eq!(got.pairs, case.pairs, "{}", case.name);
        for e in &case.consensus {
            let got =
                numeric_consensus(&values_of(&case.rows, &e.item), case.tolerance).expect("values");
            same(
                &format!("{} median {}", case.name, e.item),
                Some(got.value),
                Some(e.value),
            );
            assert_eq!(
                (got.agreeing, got.raters),
                (e.agreeing, e.raters),
                "{} {}",
                case.name,
                e.item
            );
        }
    }
}

#[derive(Deserialize)]
struct TextFile {
    rows: Vec<Row<String>>,
    exact_match_rate: f64,
    pairs: usize,
    matching_pairs: usize,
    normalized: Vec<(String, String)>,
}

#[test]
fn text_agreement_matches_python_normalisation() {
    let file: TextFile = fixture(include_str!(
        "../../../tests/fixtures/quality/kinds/text.json"
    ));
    for (text, form) in &file.normalized {
        assert_eq!(&normalize_text(text), form, "{text:?}");
    }
    let got = text_agreement(&file.rows);
    assert_eq!(
        (got.pairs, got.matching_pairs),
        (file.pairs, file.matching_pairs)
    );
    same(
        "exact match rate",
        got.exact_match_rate,
        Some(file.exact_match_rate),
    );
}

#[derive(Deserialize)]
struct SpansFile {
    cases: Vec<SpansCase>,
}

#[derive(Deserialize)]
struct SpansCase {
    name: String,
    texts: HashMap<String, String>,
    rows: Vec<Row<Vec<Span>>>,
    pairs: usize,
    f1_exact: Option<f64>,
    f1_overlap: Option<f64>,
    alpha_tokens: Option<f64>,
    pairable_tokens: usize,
    per_label: Vec<ExpectedSpanLabel>,
    consensus: Vec<SpanConsensusCase>,
}

#[derive(Deserialize)]
struct ExpectedSpanLabel {
    label: String,
    spans: usize,
    f1_exact: Option<f64>,
    f1_overlap: Option<f64>,
}

#[derive(Deserialize)]
struct SpanConsensusCase {
    mode: SpanMatch,
    min_f1: f64,
    #[serde(flatten)]
    expected: ExpectedConsensus<Vec<Span>>,
}

#[test]
fn span_agreement_matches_sklearn_scipy_and_krippendorff() {
    let file: SpansFile = fixture(include_str!(
        "../../../tests/fixtures/quality/kinds/spans.json"
    ));
    assert_eq!(file.cases.len(), 2);
    for case in &file.cases {
        let got = span_agreement(&case.rows, &case.texts);
        let name = &case.name;
        assert_eq!(
            (got.pairs, got.pairable_tokens),
            (case.pairs, case.pairable_tokens),
            "{name}"
        );
        same(&format!("{name} f1 exact"), got.f1_exact, case.f1_exact);
        same(
            &format!("{name} f1 overlap"),
            got.f1_overlap,
            case.f1_overlap,
        );
        same(
            &format!("{name} token alpha"),
            got.alpha_tokens,
            case.alpha_tokens,
        );
        assert_eq!(got.per_label.len(), case.per_label.len(), "{name}");
        for (g, e) in got.per_label.iter().zip(&case.per_label) {
            assert_eq!(
                (g.label.as_str(), g.spans),
                (e.label.as_str(), e.spans),
                "{name}"
            );
            same(&format!("{name} {} exact", e.label), g.f1_exact, e.f1_exact);
            same(
                &format!("{name} {} overlap", e.label),
                g.f1_overlap,
                e.f1_overlap,
            );
        }
        for c in &case.consensus {
            let e = &c.expected;
            let got =
                span_consensus(&values_of(&case.rows, &e.item), c.mode, c.min_f1).expect("raters");
            let what = format!("{name} {} {:?} {}", e.item, c.mode, c.min_f1);
            assert_eq!(got.value, e.value, "{what}");
            assert_eq!(
                (got.agreeing, got.raters, got.tie),
                (e.agreeing, e.raters, e.tie),
                "{what}"
            );
        }
    }
}

#[derive(Deserialize)]
struct BoxesFile {
    cases: Vec<BoxesCase>,
}

#[derive(Deserialize)]
struct BoxesCase {
    name: String,
    iou_threshold: f64,
    rows: Vec<Row<Vec<BoxShape>>>,
    pairs: usize,
    matched: usize,
    f1: Option<f64>,
    mean_iou: Option<f64>,
    per_label: Vec<ExpectedBoxLabel>,
    consensus: Vec<BoxConsensusCase>,
}

#[derive(Deserialize)]
struct ExpectedBoxLabel {
    label: String,
    boxes: usize,
    f1: Option<f64>,
    mean_iou: Option<f64>,
}

#[derive(Deserialize)]
struct BoxConsensusCase {
    min_f1: f64,
    #[serde(flatten)]
    expected: ExpectedConsensus<Vec<BoxShape>>,
}

#[test]
fn box_agreement_matches_scipy_assignment_and_sklearn() {
    let file: BoxesFile = fixture(include_str!(
        "../../../tests/fixtures/quality/kinds/boxes.json"
    ));
    assert_eq!(file.cases.len(), 3);
    for case in &file.cases {
        let got = box_agreement(&case.rows, case.iou_threshold);
        let name = &case.name;
        assert_eq!(
            (got.pairs, got.matched),
            (case.pairs, case.matched),
            "{name}"
        );
        same(&format!("{name} f1"), got.f1, case.f1);
        same(&format!("{name} mean iou"), got.mean_iou, case.mean_iou);
        assert_eq!(got.per_label.len(), case.per_label.len(), "{name}");
        for (g, e) in got.per_label.iter().zip(&case.per_label) {
            assert_eq!(
                (g.label.as_str(), g.boxes),
                (e.label.as_str(), e.boxes),
                "{name}"
            );
            same(&format!("{name} {} f1", e.label), g.f1, e.f1);
            same(
                &format!("{name} {} mean iou", e.label),
                g.mean_iou,
                e.mean_iou,
            );
        }
        for c in &case.consensus {
            let e = &c.expected;
            let values = values_of(&case.rows, &e.item);
            let got = box_consensus(&values, case.iou_threshold, c.min_f1).expect("raters");
            let what = format!("{name} {}", e.item);
            assert_eq!(got.value.len(), e.value.len(), "{what}");
            for (g, x) in got.value.iter().zip(&e.value) {
                assert_eq!(g.label, x.label, "{what}");
                for (a, b) in [(g.x, x.x), (g.y, x.y), (g.w, x.w), (g.h, x.h)] {
                    assert!((a - b).abs() < EXACT, "{what}: {g:?} vs {x:?}");
                }
            }
            assert_eq!(
                (got.agreeing, got.raters, got.tie),
                (e.agreeing, e.raters, e.tie),
                "{what}"
            );
        }
    }
}
