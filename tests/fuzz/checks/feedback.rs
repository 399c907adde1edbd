//! The feedback batch parser: one JSON object, a JSON array, or NDJSON lines of events,
//! then each event's value mapped onto the label set.

use std::collections::HashMap;

use serde_json::Value;

use tally::domain::feedback::{map_value, parse_body, FeedbackEvent};

use super::fields::Fields;
use super::project;

/// The input is the receive time (eight bytes) and then the body.
pub fn body(data: &[u8]) {
    let mut fields = Fields::new(data);
    let received_at = fields.int();
    let Ok(text) = std::str::from_utf8(fields.rest()) else {
        return;
    };
    let Ok(lines) = parse_body(text, received_at) else {
        return;
    };
    check_line_numbers(text, &lines);
    let mapping = mapping();
    for (_, event) in &lines {
        if let Ok(event) = event {
            check_event(event);
            check_mapping(&event.raw_value, &mapping);
        }
    }
}

/// NDJSON entries carry their line, in order; an array's entries their position, 1 to n;
/// a body that is no JSON at all one entry naming a line.
fn check_line_numbers(text: &str, lines: &[(usize, Result<FeedbackEvent, String>)]) {
    let line_count = text.split('\n').count();
    let is_array = text.trim_start().starts_with('[');
    let unreadable_array = is_array && lines.len() == 1 && lines[0].1.is_err();
    let mut previous = 0;
    for (number, event) in lines {
        if is_array && !unreadable_array {
            assert_eq!(*number, previous + 1, "array entries numbered in order");
        } else {
            assert!(
                (1..=line_count).contains(number),
                "line {number} of {line_count}"
            );
            assert!(*number > previous, "lines out of order");
        }
        previous = *number;
        if let Err(reason) = event {
            assert!(!reason.is_empty(), "a refusal without a reason");
        }
    }
}

fn check_event(event: &FeedbackEvent) {
    let within = |text: &str, max: usize| (1..=max).contains(&text.len());
    assert!(
        within(&event.event_id, 200),
        "event_id {:?}",
        event.event_id
    );
    assert!(within(&event.external_id, 500), "external_id length");
    assert!(within(&event.raw_value, 200), "value {:?}", event.raw_value);
    assert!(within(&event.source, 100), "source {:?}", event.source);
    assert!(
        event.weight.is_finite() && event.weight >= 0.0,
        "weight {}",
        event.weight
    );
}

/// A source's own words for labels, one of them mapped to a value that is no label.
fn mapping() -> HashMap<String, Value> {
    [
        ("thumbs_up", "pos"),
        ("thumbs_down", "neg"),
        ("meh", "so-so"),
    ]
    .into_iter()
    .map(|(from, to)| (from.to_string(), Value::String(to.to_string())))
    .collect()
}

/// A mapped value is accepted exactly when it lands on a label, and then is that label.
fn check_mapping(raw: &str, mapping: &HashMap<String, Value>) {
    let project = project::single_choice();
    let target = mapping.get(raw).and_then(Value::as_str).unwrap_or(raw);
    match map_value(raw, mapping, project) {
        Ok(label) => {
            assert_eq!(label.as_str(), Some(target), "{raw:?} mapped to {label}");
            assert!(project::is_label(project, target));
        }
        Err(reason) => {
            assert!(!project::is_label(project, target), "{raw:?} refused");
            assert!(!reason.is_empty());
        }
    }
}
