use std::collections::HashMap;

use super::*;

fn span(start: usize, end: usize, label: &str) -> Span {
    Span {
        start,
        end,
        label: label.to_string(),
    }
}

fn row(item: &str, rater: &str, spans: Vec<Span>) -> Row<Vec<Span>> {
    (item.to_string(), rater.to_string(), spans)
}

/// "Ana met Acme Corp in Oslo": Ana 0-3, met 4-7, Acme 8-12, Corp 13-17, in 18-20, Oslo 21-25.
fn texts() -> HashMap<String, String> {
    HashMap::from([
        ("1".to_string(), "Ana met Acme Corp in Oslo".to_string()),
        ("2".to_string(), "Zoë went to Malmö".to_string()),
    ])
}

fn careful() -> Vec<Span> {
    vec![span(0, 3, "PER"), span(8, 17, "ORG"), span(21, 25, "LOC")]
}

#[test]
fn identical_raters_score_one_everywhere() {
    let rows = vec![
        row("1", "a", careful()),
        row("1", "b", careful()),
        row("2", "a", vec![span(0, 3, "PER"), span(12, 17, "LOC")]),
        row("2", "b", vec![span(12, 17, "LOC"), span(0, 3, "PER")]),
    ];
    let got = span_agreement(&rows, &texts());
    assert_eq!(got.pairs, 2);
    assert_eq!((got.f1_exact, got.f1_overlap), (Some(1.0), Some(1.0)));
    assert_eq!(got.alpha_tokens, Some(1.0));
    assert_eq!(got.pairable_tokens, 10);
    let labels: Vec<(&str, usize, Option<f64>)> = got
        .per_label
        .iter()
        .map(|l| (l.label.as_str(), l.spans, l.f1_exact))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("LOC", 4, Some(1.0)),
            ("ORG", 2, Some(1.0)),
            ("PER", 4, Some(1.0))
        ]
    );
}

#[test]
fn shifted_boundaries_match_only_when_overlapping() {
    // b takes "Acme" only and "Oslo" with the space before it.
    let b = vec![span(0, 3, "PER"), span(8, 12, "ORG"), span(20, 25, "LOC")];
    let rows = vec![row("1", "a", careful()), row("1", "b", b)];
    let got = span_agreement(&rows, &texts());
    assert_eq!(got.f1_exact, Some(1.0 / 3.0));
    assert_eq!(got.f1_overlap, Some(1.0));
    let org = got
        .per_label
        .iter()
        .find(|l| l.label == "ORG")
        .expect("ORG");
    assert_eq!((org.f1_exact, org.f1_overlap), (Some(0.0), Some(1.0)));
    // By token, "Corp" is ORG for a and outside for b: six tokens, one disagreement.
    let alpha = got.alpha_tokens.expect("alpha");
    assert!(alpha > 0.5 && alpha < 1.0, "{alpha}");
}

#[test]
fn a_label_mismatch_is_no_match() {
    let b = vec![span(0, 3, "ORG"), span(8, 17, "ORG"), span(21, 25, "LOC")];
    let rows = vec![row("1", "a", careful()), row("1", "b", b)];
    let got = span_agreement(&rows, &texts());
    assert_eq!(got.f1_overlap, Some(2.0 / 3.0));
    let per: Vec<_> = got
        .per_label
        .iter()
        .map(|l| (l.label.as_str(), l.f1_overlap))
        .collect();
    assert_eq!(
        per,
        vec![
            ("LOC", Some(1.0)),
            ("ORG", Some(2.0 / 3.0)),
            ("PER", Some(0.0))
        ]
    );
}

#[test]
fn a_rater_who_marks_nothing_lowers_f1_and_alpha() {
    let rows = vec![
        row("1", "a", careful()),
        row("1", "b", careful()),
        row("1", "c", vec![]),
    ];
    let got = span_agreement(&rows, &texts());
    // a-b match 3 of 3; a-c and b-c match 0 of 3: 2*3 / (6 + 3 + 3).
    assert_eq!(got.f1_exact, Some(0.5));
    assert!(got.alpha_tokens.expect("alpha") < 0.5);
}

#[test]
fn nothing_marked_by_anyone_leaves_f1_undefined_but_alpha_needs_variety() {
    let rows = vec![row("1", "a", vec![]), row("1", "b", vec![])];
    let got = span_agreement(&rows, &texts());
    assert_eq!(got.f1_exact, None);
    assert!(got
        .f1_exact_reason
        .as_deref()
        .unwrap_or("")
        .contains("no rater marked"));
    assert_eq!(got.alpha_tokens, None);
    assert!(got.alpha_tokens_reason.is_some());
}

#[test]
fn one_rater_only_gives_reasons_not_nan() {
    let got = span_agreement(&[row("1", "a", careful())], &texts());
    assert_eq!(got.pairs, 0);
    assert_eq!(
        (got.f1_exact, got.f1_overlap, got.alpha_tokens),
        (None, None, None)
    );
    assert!(got.f1_exact_reason.is_some() && got.alpha_tokens_reason.is_some());
    assert!(got
        .per_label
        .iter()
        .all(|l| l.f1_exact.is_none() && l.f1_exact_reason.is_some()));
    let json = serde_json::to_string(&got).expect("serialises");
    assert!(!json.contains("NaN"));
    let empty = span_agreement(&[], &HashMap::new());
    assert_eq!(empty.pairs, 0);
    assert!(empty.f1_overlap_reason.is_some());
}

#[test]
fn items_without_text_are_counted_and_left_out_of_token_alpha() {
    let rows = vec![row("9", "a", careful()), row("9", "b", careful())];
    let got = span_agreement(&rows, &texts());
    assert_eq!(got.f1_exact, Some(1.0));
    assert_eq!(got.items_without_text, 1);
    assert!(got
        .alpha_tokens_reason
        .as_deref()
        .unwrap_or("")
        .contains("text"));
}

#[test]
fn hostile_spans_do_not_panic() {
    let weird = vec![
        span(5, 2, "PER"),
        span(3, 3, "PER"),
        span(0, usize::MAX, "ORG"),
        span(usize::MAX - 1, usize::MAX, "LOC"),
    ];
    let rows = vec![
        row("1", "a", weird.clone()),
        row("1", "b", weird.clone()),
        row("1", "c", careful()),
    ];
    let got = span_agreement(&rows, &texts());
    assert!(got.f1_exact.is_some());
    let _ = span_consensus(&[weird.clone(), weird, vec![]], SpanMatch::Overlap, 1.0);
}

#[test]
fn comparing_two_lists() {
    let slipped = vec![span(0, 3, "PER"), span(8, 12, "ORG"), span(20, 25, "LOC")];
    assert_eq!(
        span_list_f1(&careful(), &slipped, SpanMatch::Exact),
        1.0 / 3.0
    );
    assert!(spans_agree(&careful(), &slipped, SpanMatch::Overlap, 1.0));
    assert!(!spans_agree(&careful(), &slipped, SpanMatch::Exact, 0.5));
    assert!(spans_agree(&[], &[], SpanMatch::Exact, 1.0));
    assert!(!spans_agree(&careful(), &[], SpanMatch::Overlap, 0.01));
    // Two spans on one token cannot both match the other rater's single span.
    let doubled = vec![span(0, 2, "PER"), span(1, 3, "PER")];
    assert_eq!(
        span_list_f1(&doubled, &[span(0, 3, "PER")], SpanMatch::Overlap),
        2.0 / 3.0
    );
}

#[test]
fn consensus_keeps_majority_spans_and_widens_on_even_counts() {
    let values = vec![
        vec![span(0, 3, "PER"), span(8, 12, "ORG")],
        vec![span(0, 3, "PER"), span(8, 17, "ORG")],
        vec![span(0, 3, "PER"), span(21, 25, "LOC")],
    ];
    let got = span_consensus(&values, SpanMatch::Overlap, 1.0).expect("consensus");
    assert_eq!(got.value, vec![span(0, 3, "PER"), span(8, 17, "ORG")]);
    assert_eq!((got.agreeing, got.raters, got.tie), (2, 3, false));
    let exact = span_consensus(&values, SpanMatch::Exact, 1.0).expect("consensus");
    assert_eq!(exact.value, vec![span(0, 3, "PER")]);
    assert_eq!(exact.agreeing, 0);
    let at_half = span_consensus(&values, SpanMatch::Exact, 0.5).expect("consensus");
    assert_eq!(at_half.agreeing, 3);
}

#[test]
fn consensus_of_two_disagreeing_raters_is_a_tie() {
    let got = span_consensus(&[careful(), vec![]], SpanMatch::Exact, 1.0).expect("consensus");
    assert!(got.value.is_empty());
    assert!(got.tie);
    assert_eq!((got.agreeing, got.share), (1, 0.5));
    assert_eq!(span_consensus(&[], SpanMatch::Exact, 1.0), None);
    let alone = span_consensus(&[careful()], SpanMatch::Exact, 1.0).expect("consensus");
    assert_eq!((alone.value, alone.share), (careful(), 1.0));
}

#[test]
fn spans_deserialize_from_the_label_json_shape() {
    let parsed: Vec<Span> =
        serde_json::from_str(r#"[{"start": 0, "end": 3, "label": "PER"}]"#).expect("parses");
    assert_eq!(parsed, vec![span(0, 3, "PER")]);
    let mode: SpanMatch = serde_json::from_str(r#""overlap""#).expect("parses");
    assert_eq!(mode, SpanMatch::Overlap);
}
