use serde_json::{json, Map, Value};

use super::*;

fn schema_of(kind: Kind, labels: &[&str], settings: Value) -> (Vec<String>, Settings) {
    let input: SettingsInput = serde_json::from_value(settings).unwrap();
    input
        .validate(kind, labels.iter().map(|l| l.to_string()).collect())
        .unwrap()
}

fn refused(kind: Kind, labels: &[&str], settings: Value) -> Invalid {
    let input: SettingsInput = serde_json::from_value(settings).unwrap();
    input
        .validate(kind, labels.iter().map(|l| l.to_string()).collect())
        .unwrap_err()
}

macro_rules! with_schema {
    ($kind:expr, $labels:expr, $settings:expr, |$schema:ident| $body:block) => {{
        let (labels, settings) = schema_of($kind, $labels, $settings);
        let $schema = Schema {
            kind: $kind,
            labels: &labels,
            settings: &settings,
        };
        $body
    }};
}

#[test]
fn every_kind_is_named_and_parsed_back() {
    for kind in Kind::ALL {
        assert_eq!(Kind::parse(kind.as_str()).unwrap(), kind);
    }
    assert!(Kind::parse("polygon").unwrap_err().reason.contains("spans"));
}

#[test]
fn settings_belong_to_their_kinds() {
    assert_eq!(
        refused(
            Kind::SingleChoice,
            &["a", "b"],
            json!({"scale": {"min": 1, "max": 5}})
        )
        .field,
        "scale"
    );
    assert_eq!(refused(Kind::Rating, &[], json!({})).field, "scale");
    assert_eq!(
        refused(Kind::Numeric, &[], json!({"range": {"min": 5, "max": 1}})).field,
        "range"
    );
    assert_eq!(
        refused(
            Kind::Numeric,
            &["x"],
            json!({"range": {"min": 0, "max": 1}})
        )
        .field,
        "labels"
    );
    assert_eq!(
        refused(Kind::Text, &[], json!({"pattern": "(unclosed"})).field,
        "pattern"
    );
    assert_eq!(refused(Kind::Spans, &["PER"], json!({})).field, "field");
    assert_eq!(
        refused(Kind::MultiChoice, &["a", "b"], json!({"min": 2, "max": 1})).field,
        "max"
    );
    assert_eq!(
        refused(
            Kind::Boxes,
            &["cat"],
            json!({"field": "image", "iou_threshold": 1.5})
        )
        .field,
        "iou_threshold"
    );
    let (points, _) = schema_of(
        Kind::Rating,
        &[],
        json!({"scale": {"min": 1, "max": 5, "anchors": {"1": "awful", "5": "great"}}}),
    );
    assert_eq!(points, ["1", "2", "3", "4", "5"]);
    assert_eq!(
        refused(
            Kind::Rating,
            &[],
            json!({"scale": {"min": 1, "max": 5, "anchors": {"9": "off"}}})
        )
        .field,
        "scale"
    );
}

#[test]
fn choices_take_a_label_as_a_string() {
    with_schema!(Kind::SingleChoice, &["pos", "neg"], json!({}), |s| {
        assert_eq!(s.parse(&json!("pos")).unwrap(), json!("pos"));
        assert!(s
            .parse(&json!("maybe"))
            .unwrap_err()
            .reason
            .contains("maybe"));
        assert!(s.parse(&json!(["pos"])).is_err());
        assert!(s.matches(&json!("pos"), &json!("pos")));
        assert!(!s.matches(&json!("neg"), &json!("pos")));
        let c = s.consensus(&[json!("pos"), json!("neg"), json!("pos")]);
        assert_eq!(c.value, Some(json!("pos")));
        let tie = s.consensus(&[json!("pos"), json!("neg")]);
        assert!(tie.is_tie());
        assert_eq!(tie.tied, vec![json!("pos"), json!("neg")]);
    });
}

#[test]
fn multiple_choice_is_a_set_in_label_order() {
    with_schema!(
        Kind::MultiChoice,
        &["a", "b", "c"],
        json!({"max": 2}),
        |s| {
            assert_eq!(s.parse(&json!(["c", "a"])).unwrap(), json!(["a", "c"]));
            assert_eq!(s.parse(&json!([])).unwrap(), json!([]));
            assert!(s
                .parse(&json!(["a", "a"]))
                .unwrap_err()
                .reason
                .contains("twice"));
            assert!(s
                .parse(&json!(["a", "b", "c"]))
                .unwrap_err()
                .reason
                .contains("between"));
            assert!(s.parse(&json!("a")).is_err());
            let c = s.consensus(&[json!(["a", "b"]), json!(["a"]), json!(["a", "b"])]);
            assert_eq!(c.value, Some(json!(["a", "b"])));
            assert_eq!(c.agreeing, 2);
        }
    );
}

#[test]
fn ratings_are_whole_points_with_a_median_and_a_tolerance() {
    with_schema!(
        Kind::Rating,
        &[],
        json!({"scale": {"min": 1, "max": 5}, "tolerance": 1}),
        |s| {
            assert_eq!(s.parse(&json!(4)).unwrap(), json!(4));
            assert!(s.parse(&json!(6)).is_err());
            assert!(s.parse(&json!(4.5)).is_err());
            assert!(s.parse(&json!("4")).is_err());
            assert!(
                s.matches(&json!(4), &json!(5)),
                "one step is within tolerance"
            );
            assert!(!s.matches(&json!(3), &json!(5)));
            assert_eq!(
                s.consensus(&[json!(1), json!(4), json!(5)]).value,
                Some(json!(4))
            );
            assert_eq!(s.category(&json!(4)).as_deref(), Some("4"));
            assert_eq!(s.categories(), ["1", "2", "3", "4", "5"]);
        }
    );
}

#[test]
fn numbers_stay_in_range_and_on_the_grid() {
    with_schema!(
        Kind::Numeric,
        &[],
        json!({"range": {"min": 0, "max": 10, "step": 0.5}, "tolerance": 0.25}),
        |s| {
            assert_eq!(s.parse(&json!(2.5)).unwrap(), json!(2.5));
            assert!(s
                .parse(&json!(2.3))
                .unwrap_err()
                .reason
                .contains("multiple"));
            assert!(s.parse(&json!(11)).is_err());
            assert!(s.parse(&json!("2")).is_err());
            assert!(s.matches(&json!(2.5), &json!(2.7)));
            assert_eq!(
                s.consensus(&[json!(1.0), json!(2.0), json!(9.0)]).value,
                Some(json!(2.0))
            );
        }
    );
}

#[test]
fn free_text_is_bounded_and_may_need_a_pattern() {
    with_schema!(
        Kind::Text,
        &[],
        json!({"max_length": 5, "pattern": "[a-z ]+"}),
        |s| {
            assert_eq!(s.parse(&json!("ab c")).unwrap(), json!("ab c"));
            assert!(s
                .parse(&json!("abcdef"))
                .unwrap_err()
                .reason
                .contains("at most 5"));
            assert!(s
                .parse(&json!("AB"))
                .unwrap_err()
                .reason
                .contains("pattern"));
            assert!(s.parse(&json!("  ")).is_err());
            assert!(s.parse(&json!("a\u{0}b")).is_err());
            assert!(
                s.matches(&json!("Ab  C"), &json!("ab c")),
                "compared after normalising"
            );
        }
    );
}

fn data(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn spans_are_checked_sorted_and_kept_inside_the_text() {
    with_schema!(
        Kind::Spans,
        &["PER", "LOC"],
        json!({"field": "text"}),
        |s| {
            let value = s
            .parse(&json!([{"start": 6, "end": 11, "label": "LOC"}, {"start": 0, "end": 5, "label": "PER"}]))
            .unwrap();
            assert_eq!(value[0]["start"], 0, "stored in order");
            let item = data(json!({"text": "Alice Paris"}));
            assert!(s.check_for_item("value", &value, &item).is_ok());
            let short = data(json!({"text": "Alice"}));
            assert!(s
                .check_for_item("value", &value, &short)
                .unwrap_err()
                .reason
                .contains("5 characters"));
            assert!(s
                .parse(&json!([{"start": 3, "end": 3, "label": "PER"}]))
                .is_err());
            assert!(s
                .parse(&json!([{"start": 0, "end": 1, "label": "ORG"}]))
                .is_err());
            assert!(s
            .parse(&json!([{"start": 0, "end": 1, "label": "PER"}, {"start": 0, "end": 1, "label": "PER"}]))
            .unwrap_err()
            .reason
            .contains("identical"));
            assert!(s
                .parse(&json!([{"start": 0, "end": 1, "label": "PER", "extra": 1}]))
                .is_err());
            let c = s.consensus(&[value.clone(), value.clone(), json!([])]);
            assert_eq!(c.value, Some(value));
        }
    );
}

#[test]
fn boxes_have_positive_sizes_and_stay_inside_known_images() {
    with_schema!(
        Kind::Boxes,
        &["cat"],
        json!({"field": "image", "iou_threshold": 0.5}),
        |s| {
            let value = s
                .parse(&json!([{"x": 10, "y": 10, "w": 50, "h": 40, "label": "cat"}]))
                .unwrap();
            assert!(s
                .parse(&json!([{"x": 0, "y": 0, "w": 0, "h": 5, "label": "cat"}]))
                .is_err());
            assert!(s
                .parse(&json!([{"x": -1, "y": 0, "w": 2, "h": 5, "label": "cat"}]))
                .is_err());
            let known = data(
                json!({"image": {"url": "https://img.example/a.png", "width": 40, "height": 40}}),
            );
            assert!(s.check_for_item("value", &value, &known).is_err());
            let beside =
                data(json!({"image": "https://img.example/a.png", "width": 100, "height": 100}));
            assert!(s.check_for_item("value", &value, &beside).is_ok());
            let unknown = data(json!({"image": "https://img.example/a.png"}));
            assert!(s.check_for_item("value", &value, &unknown).is_ok());
            let near = json!([{"x": 12, "y": 10, "w": 50, "h": 40, "label": "cat"}]);
            assert!(s.matches(&near, &value), "IoU above 0.5");
            assert!(!s.matches(&json!([]), &value));
        }
    );
}

#[test]
fn stored_values_round_trip_and_junk_reads_as_text() {
    let value = json!([{"start": 0, "end": 2, "label": "x"}]);
    assert_eq!(from_stored(&to_stored(&value)), value);
    assert_eq!(from_stored("pos"), json!("pos"));
    assert_eq!(display(&json!("pos")), "pos");
    assert_eq!(display(&json!(4)), "4");
}

/// A value is read the same whether it is found by its address (labels sharing one stored
/// value) or by its text (the same text elsewhere), past the values kept by address too.
#[test]
fn stored_categories_are_the_same_found_by_address_or_by_text() {
    with_schema!(Kind::SingleChoice, &["pos", "neg"], json!({}), |schema| {
        let shared = [
            "\"pos\"".to_string(),
            "\"neg\"".to_string(),
            "\"other\"".to_string(),
        ];
        let copies: Vec<String> = (0..20).map(|n| shared[n % 3].clone()).collect();
        let mut found = StoredCategories::new(schema);
        for stored in shared.iter().chain(&copies).chain(&shared) {
            assert_eq!(
                found.of(stored).as_deref(),
                schema.category(&from_stored(stored)).as_deref(),
                "{stored}"
            );
        }
    });
}
