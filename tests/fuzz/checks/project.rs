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
    Project {
        id: 1,
        name: spec.name,
        kind: spec.kind,
        labels: spec.labels,
        overlap: spec.overlap,
        instructions: spec.instructions,
        lease_seconds: spec.lease_seconds,
        created_at: 0,
        policy: spec.policy,
        links: spec.links,
        feedback: spec.feedback,
        link_secret: "fuzz-secret".into(),
        open_link_url: None,
        open_token: String::new(),
    }
}

/// Whether `value` is one of the project's labels.
pub fn is_label(project: &Project, value: &str) -> bool {
    project.labels.iter().any(|l| l == value)
}
