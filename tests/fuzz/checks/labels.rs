//! Label value parsing: what a rater submits, checked against the project's label set.
//!
//! Today a value is text and `Project::parse_value` takes it. Each project kind gets its
//! own project from `super::project` and the same loop; a parser of JSON values per kind
//! gets a sibling of `text_value` that decodes the input with `serde_json::from_slice` and
//! one line in `TARGETS`.

use tally::domain::project::Project;

use super::project;

/// Every text input against every project: accepted exactly when it is one of the labels,
/// and stored as given.
pub fn text_value(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for project in projects() {
        check_text_value(project, raw);
    }
}

fn projects() -> [&'static Project; 1] {
    [project::single_choice()]
}

fn check_text_value(project: &Project, raw: &str) {
    match project.parse_value(raw) {
        Ok(stored) => {
            assert!(project::is_label(project, raw), "{raw:?} accepted");
            assert_eq!(stored, raw, "a label is stored as given");
        }
        Err(e) => {
            assert!(!project::is_label(project, raw), "label {raw:?} refused");
            assert_eq!(e.field, "value");
        }
    }
}
