//! Label value parsing: what a rater submits, checked against the project's kind.
//!
//! Every input is read as JSON (and, for `text_value`, as a plain string) and offered to a
//! project of every kind: a value is accepted or refused with a reason under `value`, an
//! accepted value is canonical (parsing it again gives it back unchanged), matches itself
//! as a gold answer, and agrees with itself as a consensus.

use serde_json::Value;
use tally::domain::project::Project;

use super::project;

/// Every input as a JSON value, against every kind.
pub fn json_value(data: &[u8]) {
    let Ok(raw) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for project in project::every_kind() {
        check_value(project, &raw);
    }
}

/// Every input as a plain string (what a choice or a text answer is), against every kind.
pub fn text_value(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for project in project::every_kind() {
        check_value(project, &Value::String(raw.to_string()));
        let form = project.schema().from_form(&[raw.to_string()]);
        if let Ok(value) = form {
            check_value(project, &value);
        }
    }
}

fn check_value(project: &Project, raw: &Value) {
    let schema = project.schema();
    match schema.parse(raw) {
        Ok(canonical) => {
            assert_eq!(
                schema.parse(&canonical).as_ref(),
                Ok(&canonical),
                "{} value {raw} is not canonical once parsed",
                project.kind.as_str()
            );
            assert!(
                schema.matches(&canonical, &canonical),
                "{canonical} does not match itself"
            );
            let consensus = schema.consensus(&[canonical.clone(), canonical.clone()]);
            assert!(
                consensus.value.is_some(),
                "two equal {} values have no consensus: {canonical}",
                project.kind.as_str()
            );
            if let Value::String(label) = raw {
                if matches!(project.kind.as_str(), "single_choice" | "image_choice") {
                    assert!(project::is_label(project, label), "{label:?} accepted");
                }
            }
        }
        Err(e) => {
            assert_eq!(e.field, "value");
            assert!(!e.reason.is_empty());
        }
    }
}
