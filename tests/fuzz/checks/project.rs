//! Projects for the checks that need one, built the way an admin creates them.

use std::sync::OnceLock;

use tally::domain::project::{NewProject, Project};

/// Labels of the project the checks use: plain, spaced, non-ASCII, and one that is a
/// prefix of another.
pub const LABELS: [&str; 5] = ["pos", "neg", "neutral", "not sure", "négatif"];

/// A stored single-choice project with `LABELS`, built once.
pub fn single_choice() -> &'static Project {
    static PROJECT: OnceLock<Project> = OnceLock::new();
    PROJECT.get_or_init(build_single_choice)
}

fn build_single_choice() -> Project {
    let spec = NewProject::simple("fuzz", &LABELS, 3, "")
        .validate()
        .expect("the fuzz project is valid");
    let mut project = Project::from_spec(1, spec);
    project.link_secret = "fuzz-secret".into();
    project
}

/// One project of every kind, made from the JSON an admin would post.
pub fn every_kind() -> &'static [Project] {
    static PROJECTS: OnceLock<Vec<Project>> = OnceLock::new();
    PROJECTS.get_or_init(|| {
        let bodies = [
            serde_json::json!({"name": "multi", "kind": "multi_choice", "labels": LABELS, "min": 1, "max": 3}),
            serde_json::json!({"name": "rating", "kind": "rating", "scale": {"min": 1, "max": 5}, "tolerance": 1}),
            serde_json::json!({"name": "number", "kind": "numeric", "range": {"min": -10, "max": 10, "step": 0.5}}),
            serde_json::json!({"name": "text", "kind": "text", "max_length": 40, "pattern": "[a-z ]+"}),
            serde_json::json!({"name": "spans", "kind": "spans", "labels": ["PER", "LOC"], "field": "text"}),
            serde_json::json!({"name": "boxes", "kind": "boxes", "labels": ["cat", "dog"], "field": "image"}),
            serde_json::json!({"name": "image", "kind": "image_choice", "labels": LABELS, "field": "image"}),
        ];
        let mut projects = vec![build_single_choice()];
        for (i, body) in bodies.into_iter().enumerate() {
            let new: NewProject = serde_json::from_value(body).expect("a fuzz project body");
            let spec = new.validate().expect("the fuzz project is valid");
            projects.push(Project::from_spec(i as i64 + 2, spec));
        }
        projects
    })
}

/// Whether `value` is one of the project's labels.
#[allow(dead_code)]
pub fn is_label(project: &Project, value: &str) -> bool {
    project.labels.iter().any(|l| l == value)
}
