//! The item importers: JSON array, NDJSON, CSV and Label Studio uploads, and the check
//! before an import.
//!
//! Whatever the bytes, `parse` returns items or an error naming a line, never panics, and
//! what it returns keeps the importer's promises. Items it accepts from any format, written
//! out again as NDJSON and as a JSON array, are read back the same: the three formats
//! apply one set of rules.

use std::collections::HashSet;

use serde_json::{json, Value};
use tally::domain::import::{check_against_project, parse, parse_lenient, Format, NewItem};
use tally::domain::import_check::{self, Skip, ROWS_NAMED};

use super::project;

pub fn json_array(data: &[u8]) {
    check(data, Format::JsonArray);
}

pub fn ndjson(data: &[u8]) {
    check(data, Format::Ndjson);
}

pub fn csv(data: &[u8]) {
    check(data, Format::Csv);
}

pub fn label_studio(data: &[u8]) {
    check(data, Format::LabelStudio);
}

fn check(data: &[u8], format: Format) {
    match parse(data, format) {
        Ok(items) => {
            check_items(data, &items);
            check_gold(&items);
            check_round_trip(&items);
        }
        Err(e) => check_error_names_a_line(data, &e.field, &e.reason),
    }
    check_findings(data, format);
}

/// The check of any readable file: its counts add up, it names only rows of the file, at
/// most 20 a finding, and skipping every flagged row leaves exactly the rows it calls
/// importable, none of them refused.
fn check_findings(data: &[u8], format: Format) {
    let Ok(items) = parse_lenient(data, format) else {
        return;
    };
    let lines: HashSet<usize> = items.iter().map(|i| i.line).collect();
    let rows = items.len();
    let checked = import_check::check_items(items, project::single_choice(), &HashSet::new());
    let findings = checked.findings.clone();
    assert_eq!(findings.rows, rows);
    assert!(findings.importable <= rows);
    for finding in &findings.findings {
        assert!(finding.rows.len() <= ROWS_NAMED.min(finding.count));
        assert!(finding.count <= rows, "{finding:?}");
        assert!(
            finding.rows.iter().all(|r| lines.contains(r)),
            "{finding:?}"
        );
    }
    let (kept, skipped) = checked
        .into_import(&Skip::parse("flagged").expect("flagged"))
        .expect("skipping every flagged row leaves no error");
    assert_eq!(kept.len() + skipped, rows);
    assert_eq!(kept.len(), findings.importable);
}

/// Lines in the upload, counting a lone carriage return as a line end too (the CSV reader
/// does), so this bounds every line number an importer may name.
fn line_count(data: &[u8]) -> usize {
    let lone_returns = data
        .windows(2)
        .filter(|w| w[0] == b'\r' && w[1] != b'\n')
        .count()
        + usize::from(data.last() == Some(&b'\r'));
    data.iter().filter(|&&b| b == b'\n').count() + lone_returns + 1
}

fn check_items(data: &[u8], items: &[NewItem]) {
    assert!(!items.is_empty(), "an accepted file holds items");
    let lines = line_count(data);
    let mut ids = std::collections::HashSet::new();
    let mut previous_line = 0;
    for item in items {
        assert!(
            !item.data.is_empty(),
            "item on line {} has no data",
            item.line
        );
        assert!(
            (1..=lines).contains(&item.line),
            "item line {} outside the file",
            item.line
        );
        assert!(item.line >= previous_line, "items out of line order");
        previous_line = item.line;
        if let Some(id) = &item.external_id {
            assert!(
                (1..=500).contains(&id.len()),
                "external_id length {}",
                id.len()
            );
            assert!(ids.insert(id.clone()), "external_id {id:?} accepted twice");
        }
        assert_ne!(
            item.gold.as_ref().and_then(|g| g.as_str()),
            Some(""),
            "empty gold kept"
        );
        assert!(
            !item.qualification || item.gold.is_some(),
            "qualification item without gold on line {}",
            item.line
        );
        assert!(
            item.priority.is_none_or(f64::is_finite),
            "priority {:?} is not finite",
            item.priority
        );
    }
}

/// Gold answers pass the project check exactly when they are among its labels (as
/// strings; a CSV cell is always one).
fn check_gold(items: &[NewItem]) {
    let project = project::single_choice();
    if items.iter().any(|i| i.from_label_studio) {
        // Label Studio results become values only against the project: any outcome goes,
        // but a refusal names a line.
        if let Err(e) = check_against_project(&mut items.to_vec(), project) {
            assert!(e.field.starts_with("line "), "error field {:?}", e.field);
        }
        return;
    }
    let all_gold_valid = items
        .iter()
        .filter_map(|i| i.gold.as_ref())
        .all(|g| g.as_str().is_some_and(|g| project::is_label(project, g)));
    let all_predictions_valid = items
        .iter()
        .filter_map(|i| i.prediction.as_ref())
        .all(|p| p.as_str().is_some_and(|p| project::is_label(project, p)));
    let mut checked = items.to_vec();
    let result = check_against_project(&mut checked, project);
    if !all_predictions_valid {
        assert!(result.is_err(), "a prediction outside the labels passed");
        return;
    }
    assert_eq!(
        result.is_ok(),
        all_gold_valid,
        "gold check disagrees with the label set: {result:?}"
    );
    if let Err(e) = result {
        assert!(
            e.field.starts_with("line "),
            "gold error field {:?}",
            e.field
        );
    }
}

fn check_error_names_a_line(data: &[u8], field: &str, reason: &str) {
    assert!(!reason.is_empty(), "an error without a reason");
    if field == "items" {
        return;
    }
    let line = field
        .strip_prefix("line ")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("error field {field:?} names no line"));
    assert!(
        (1..=line_count(data)).contains(&line),
        "error names line {line} of a {}-line file",
        line_count(data)
    );
}

fn item_as_json(item: &NewItem) -> Value {
    json!({
        "external_id": item.external_id,
        "data": item.data,
        "gold": item.gold,
        "priority": item.priority,
        "qualification": item.qualification,
        "explanation": item.explanation,
    })
}

fn check_round_trip(items: &[NewItem]) {
    let lines: Vec<String> = items.iter().map(|i| item_as_json(i).to_string()).collect();
    let ndjson = lines.join("\n");
    let array = format!("[{}]", lines.join(",\n"));
    for (text, format) in [(ndjson, Format::Ndjson), (array, Format::JsonArray)] {
        let again = parse(text.as_bytes(), format).unwrap_or_else(|e| {
            panic!("accepted items refused when written as {format:?}: {e}\n{text}")
        });
        assert_eq!(again.len(), items.len());
        for (before, after) in items.iter().zip(&again) {
            assert_same_item(before, after);
        }
    }
}

fn assert_same_item(before: &NewItem, after: &NewItem) {
    assert_eq!(before.external_id, after.external_id);
    assert!(
        same_json(
            &Value::Object(before.data.clone()),
            &Value::Object(after.data.clone())
        ),
        "data {:?} came back as {:?}",
        before.data,
        after.data
    );
    assert_eq!(before.gold, after.gold);
    assert_eq!(before.qualification, after.qualification);
    assert_eq!(before.explanation, after.explanation);
    match (before.priority, after.priority) {
        (Some(a), Some(b)) => assert!(close(a, b), "priority {a} came back as {b}"),
        (a, b) => assert_eq!(a, b, "priority"),
    }
}

/// Equal JSON, except that numbers may differ in the last place: serde_json (without its
/// `float_roundtrip` feature, as tally builds it) may read back the shortest text of a
/// double as its neighbour, so 13333333333333333333333333 can move by one unit per
/// write and read.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(x), Some(y)) if close(x, y))
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| same_json(x, y)))
        }
        _ => a == b,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= a.abs().max(b.abs()) * 1e-15
}
