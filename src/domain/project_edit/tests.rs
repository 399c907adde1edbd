use serde_json::json;

use super::*;
use crate::domain::project::{NewProject, Project};

fn project(body: serde_json::Value) -> Project {
    let new: NewProject = serde_json::from_value(body).unwrap();
    Project::from_spec(1, new.validate().unwrap())
}

fn changes(body: serde_json::Value) -> Changes {
    body.as_object().unwrap().clone()
}

fn stored(labels: i64, values: &[(&str, i64)]) -> Stored {
    Stored {
        labels,
        values: values
            .iter()
            .map(|(value, count)| StoredValue {
                source: ValueSource::Labels,
                value: value.to_string(),
                count: *count,
            })
            .collect(),
    }
}

#[test]
fn a_project_recreated_from_its_settings_is_the_same() {
    for body in [
        json!({"name": "p", "labels": ["a", "b"], "overlap": 3, "instructions": "x"}),
        json!({"name": "r", "kind": "rating", "scale": {"min": 1, "max": 5}, "tolerance": 1.0}),
        json!({"name": "d", "labels": ["a", "b"], "min_overlap": 2, "max_overlap": 4, "pools": {"expert": 1}}),
        json!({"name": "t", "kind": "text", "max_length": 50, "pattern": "^[a-z]+$"}),
    ] {
        let before = project(body);
        let plan = EditPlan::new(&before, apply_changes(&before, &Changes::new()).unwrap());
        assert!(!plan.changes_anything(), "{:?}", before.name);
    }
}

#[test]
fn changes_are_checked_by_the_rules_of_a_new_project() {
    let p = project(json!({"name": "p", "labels": ["a", "b"], "overlap": 3}));
    let bad = |body| apply_changes(&p, &changes(body)).unwrap_err();
    assert_eq!(bad(json!({"overlap": 0})).field, "overlap");
    assert_eq!(bad(json!({"labels": ["a"]})).field, "labels");
    assert_eq!(bad(json!({"name": " "})).field, "name");
    assert_eq!(bad(json!({"colour": "red"})).field, "colour");
    assert_eq!(bad(json!({"overlap": "three"})).field, "overlap");
    assert_eq!(
        bad(json!({"negative_labels": ["c"]})).field,
        "negative_labels"
    );
    let spec = apply_changes(&p, &changes(json!({"overlap": 5, "pools": {"expert": 2}}))).unwrap();
    assert_eq!(spec.policy.pool_count(Pool::Generalist), 5);
    assert_eq!(spec.policy.pool_count(Pool::Expert), 2);
    let spec = apply_changes(&p, &changes(json!({"escalate_below": 0.6}))).unwrap();
    assert_eq!(spec.policy.escalate_below, Some(0.6));
    assert_eq!(spec.overlap, 3, "settings not named keep their values");
}

#[test]
fn a_dynamic_overlap_is_changed_by_its_bounds() {
    let p = project(json!({"name": "d", "labels": ["a", "b"], "min_overlap": 2, "max_overlap": 4}));
    let refused = apply_changes(&p, &changes(json!({"overlap": 3}))).unwrap_err();
    assert_eq!(refused.field, "overlap");
    let fixed = apply_changes(
        &p,
        &changes(json!({"overlap": 3, "min_overlap": null, "max_overlap": null})),
    )
    .unwrap();
    assert!(!fixed.policy.is_dynamic());
    assert_eq!(fixed.overlap, 3);
}

#[test]
fn a_new_kind_starts_its_settings_afresh() {
    let p = project(json!({"name": "r", "kind": "rating", "scale": {"min": 1, "max": 5}}));
    let spec = apply_changes(
        &p,
        &changes(json!({"kind": "single_choice", "labels": ["a", "b"]})),
    )
    .unwrap();
    assert_eq!(spec.kind, Kind::SingleChoice);
    assert!(spec.settings.scale.is_none());
    let after = EditPlan::new(&p, spec).after;
    let refused = check_against_stored(&p, &after, &stored(3, &[("4", 3)])).unwrap_err();
    assert_eq!(refused.field, "kind");
    assert!(refused.reason.contains("3 labels"), "{}", refused.reason);
    assert!(check_against_stored(&p, &after, &stored(0, &[])).is_ok());
}

#[test]
fn labels_in_use_cannot_be_removed_or_renamed() {
    let p = project(json!({"name": "p", "labels": ["pos", "neg", "meh"], "overlap": 1}));
    let used = stored(12, &[("\"pos\"", 7), ("\"neg\"", 5)]);
    let renamed = EditPlan::new(
        &p,
        apply_changes(&p, &changes(json!({"labels": ["pos", "negative", "meh"]}))).unwrap(),
    )
    .after;
    let refused = check_against_stored(&p, &renamed, &used).unwrap_err();
    assert_eq!(refused.field, "labels");
    assert!(
        refused.reason.contains("5 labels hold \"neg\""),
        "{}",
        refused.reason
    );
    let unused_gone = EditPlan::new(
        &p,
        apply_changes(&p, &changes(json!({"labels": ["neg", "pos", "other"]}))).unwrap(),
    )
    .after;
    assert!(
        check_against_stored(&p, &unused_gone, &used).is_ok(),
        "an unused label may go; order may change"
    );
}

#[test]
fn scales_ranges_and_lengths_cannot_shrink_past_stored_answers() {
    let rating = project(json!({"name": "r", "kind": "rating", "scale": {"min": 1, "max": 5}}));
    let shrunk = EditPlan::new(
        &rating,
        apply_changes(&rating, &changes(json!({"scale": {"min": 1, "max": 3}}))).unwrap(),
    )
    .after;
    let refused =
        check_against_stored(&rating, &shrunk, &stored(2, &[("2", 1), ("5", 1)])).unwrap_err();
    assert_eq!(refused.field, "scale");
    assert!(check_against_stored(&rating, &shrunk, &stored(1, &[("2", 1)])).is_ok());

    let number =
        project(json!({"name": "n", "kind": "numeric", "range": {"min": 0.0, "max": 100.0}}));
    let narrowed = EditPlan::new(
        &number,
        apply_changes(
            &number,
            &changes(json!({"range": {"min": 0.0, "max": 10.0}})),
        )
        .unwrap(),
    )
    .after;
    assert_eq!(
        check_against_stored(&number, &narrowed, &stored(1, &[("42.0", 1)]))
            .unwrap_err()
            .field,
        "range"
    );

    let text = project(json!({"name": "t", "kind": "text", "max_length": 100}));
    let shorter = EditPlan::new(
        &text,
        apply_changes(&text, &changes(json!({"max_length": 3}))).unwrap(),
    )
    .after;
    assert_eq!(
        check_against_stored(&text, &shorter, &stored(1, &[("\"hello\"", 1)]))
            .unwrap_err()
            .field,
        "max_length"
    );

    let spans = project(json!({"name": "s", "kind": "spans", "labels": ["PER"], "field": "text"}));
    let moved = EditPlan::new(
        &spans,
        apply_changes(&spans, &changes(json!({"field": "body"}))).unwrap(),
    )
    .after;
    assert_eq!(
        check_against_stored(&spans, &moved, &stored(1, &[]))
            .unwrap_err()
            .field,
        "field"
    );
}

#[test]
fn what_an_edit_changes_is_planned() {
    let p =
        project(json!({"name": "p", "labels": ["a", "b"], "overlap": 2, "instructions": "old"}));
    let plan = EditPlan::new(
        &p,
        apply_changes(&p, &changes(json!({"instructions": "new"}))).unwrap(),
    );
    assert!(plan.instructions_changed && !plan.settings_changed && !plan.needs_changed);
    let plan = EditPlan::new(
        &p,
        apply_changes(&p, &changes(json!({"overlap": 3}))).unwrap(),
    );
    assert!(plan.settings_changed && plan.needs_changed && !plan.schema_changed);
    let plan = EditPlan::new(
        &p,
        apply_changes(&p, &changes(json!({"name": "q"}))).unwrap(),
    );
    assert!(plan.settings_changed && !plan.needs_changed && !plan.schema_changed);
}
