//! Projects: what is labelled, with which label set, by how many raters.

use serde::{Deserialize, Serialize};

use super::kinds::{Kind, Schema, Settings, SettingsInput};
use super::policy::{Policy, PolicyInput, Pool};
use super::presentation::{Presentation, PresentationInput};
use super::text::{check_text, MAX_INSTRUCTIONS_CHARS, MAX_PROJECT_NAME_CHARS};
use super::Invalid;

pub const DEFAULT_LEASE_SECONDS: i64 = 600;
pub const MAX_LABELS: usize = 50;
pub const MAX_OVERLAP: i64 = 100;

/// A project as an admin asks for it, before it is checked. `PATCH` takes the same keys
/// (see `super::project_edit`), so one set of rules serves creating and editing.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub name: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub min: Option<usize>,
    #[serde(default)]
    pub max: Option<usize>,
    #[serde(default)]
    pub scale: Option<super::kinds::Scale>,
    #[serde(default)]
    pub range: Option<super::kinds::NumberRange>,
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub tolerance: Option<f64>,
    #[serde(default)]
    pub iou_threshold: Option<f64>,
    #[serde(default)]
    pub span_match: Option<crate::quality::kinds::SpanMatch>,
    #[serde(default)]
    pub min_f1: Option<f64>,
    #[serde(default)]
    pub comment: Option<bool>,
    #[serde(default)]
    pub text_field: Option<String>,
    #[serde(default)]
    pub shown_fields: Option<Vec<String>>,
    #[serde(default)]
    pub hidden_fields: Option<Vec<String>>,
    #[serde(default)]
    pub media_origins: Option<Vec<String>>,
    #[serde(default)]
    pub show_prediction: Option<bool>,
    #[serde(default)]
    pub prediction_blind_share: Option<f64>,
    #[serde(default)]
    pub edit_window_seconds: Option<i64>,
    /// Generalist labels per item (the same as `pools.generalist`).
    #[serde(default)]
    pub overlap: Option<i64>,
    #[serde(default)]
    pub instructions: String,
    #[serde(default = "default_lease")]
    pub lease_seconds: i64,
    #[serde(default)]
    pub pools: Option<std::collections::BTreeMap<String, i64>>,
    #[serde(default)]
    pub expertise: Option<Vec<String>>,
    #[serde(default)]
    pub escalate_below: Option<f64>,
    #[serde(default)]
    pub expert_overlap: Option<i64>,
    #[serde(default)]
    pub min_overlap: Option<i64>,
    #[serde(default)]
    pub max_overlap: Option<i64>,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub seed: Option<i64>,
    #[serde(default)]
    pub gold_rate: Option<f64>,
    #[serde(default)]
    pub min_gold_accuracy: Option<f64>,
    #[serde(default)]
    pub gold_min_seen: Option<i64>,
    #[serde(default)]
    pub report_threshold: Option<i64>,
    #[serde(default)]
    pub qualify_accuracy: Option<f64>,
    #[serde(default)]
    pub open_link: Option<bool>,
    #[serde(default)]
    pub completion_url: Option<String>,
    #[serde(default)]
    pub completion_after: Option<i64>,
    #[serde(default)]
    pub completion_code: Option<String>,
    #[serde(default)]
    pub single_use_links: Option<bool>,
    #[serde(default)]
    pub feedback_creates_items: Option<bool>,
    #[serde(default)]
    pub feedback_first: Option<bool>,
    #[serde(default)]
    pub negative_labels: Option<Vec<String>>,
}

/// How process feedback enters a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FeedbackSettings {
    /// An event for an unknown external_id creates the item instead of being refused.
    pub feedback_creates_items: bool,
    /// Items whose feedback contradicts the human majority, or is negative, go first.
    pub feedback_first: bool,
    /// Labels that count as negative feedback.
    pub negative_labels: Vec<String>,
}

/// How the product's own users reach a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UserLinks {
    /// Whether anyone with the open link may rate, under a pseudonymous identity.
    pub open_link: bool,
    /// Where a user is sent after `completion_after` items (a crowd platform's page).
    pub completion_url: Option<String>,
    pub completion_after: Option<i64>,
    pub completion_code: Option<String>,
    /// Signed links must carry a nonce, and each works once.
    pub single_use_links: bool,
}

fn default_kind() -> String {
    "single_choice".into()
}
fn default_lease() -> i64 {
    DEFAULT_LEASE_SECONDS
}

/// A project that passed every check and can be stored.
#[derive(Debug, Clone)]
pub struct ProjectSpec {
    pub name: String,
    pub kind: Kind,
    pub labels: Vec<String>,
    pub settings: Settings,
    pub presentation: Presentation,
    pub overlap: i64,
    pub instructions: String,
    pub lease_seconds: i64,
    pub policy: Policy,
    pub links: UserLinks,
    pub feedback: FeedbackSettings,
}

impl NewProject {
    /// A plain project: one label set, `overlap` generalist labels per item.
    pub fn simple(name: &str, labels: &[&str], overlap: i64, instructions: &str) -> NewProject {
        NewProject {
            name: name.into(),
            kind: default_kind(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            min: None,
            max: None,
            scale: None,
            range: None,
            max_length: None,
            pattern: None,
            field: None,
            tolerance: None,
            iou_threshold: None,
            span_match: None,
            min_f1: None,
            comment: None,
            text_field: None,
            shown_fields: None,
            hidden_fields: None,
            media_origins: None,
            show_prediction: None,
            prediction_blind_share: None,
            edit_window_seconds: None,
            overlap: Some(overlap),
            instructions: instructions.into(),
            lease_seconds: DEFAULT_LEASE_SECONDS,
            pools: None,
            expertise: None,
            escalate_below: None,
            expert_overlap: None,
            min_overlap: None,
            max_overlap: None,
            order: None,
            seed: None,
            gold_rate: None,
            min_gold_accuracy: None,
            gold_min_seen: None,
            report_threshold: None,
            qualify_accuracy: None,
            open_link: None,
            completion_url: None,
            completion_after: None,
            completion_code: None,
            single_use_links: None,
            feedback_creates_items: None,
            feedback_first: None,
            negative_labels: None,
        }
    }

    fn settings_input(&self) -> SettingsInput {
        SettingsInput {
            min: self.min,
            max: self.max,
            scale: self.scale.clone(),
            range: self.range.clone(),
            max_length: self.max_length,
            pattern: self.pattern.clone(),
            field: self.field.clone(),
            tolerance: self.tolerance,
            iou_threshold: self.iou_threshold,
            span_match: self.span_match,
            min_f1: self.min_f1,
            comment: self.comment,
        }
    }

    fn presentation_input(&self) -> PresentationInput {
        PresentationInput {
            text_field: self.text_field.clone(),
            shown_fields: self.shown_fields.clone(),
            hidden_fields: self.hidden_fields.clone(),
            media_origins: self.media_origins.clone(),
            show_prediction: self.show_prediction,
            prediction_blind_share: self.prediction_blind_share,
            edit_window_seconds: self.edit_window_seconds,
        }
    }

    fn feedback_settings(&self, labels: &[String]) -> Result<FeedbackSettings, Invalid> {
        let negative_labels = self.negative_labels.clone().unwrap_or_default();
        if let Some(unknown) = negative_labels.iter().find(|l| !labels.contains(l)) {
            return Err(Invalid::new(
                "negative_labels",
                format!("{unknown:?} is not one of the labels"),
            ));
        }
        Ok(FeedbackSettings {
            feedback_creates_items: self.feedback_creates_items.unwrap_or(false),
            feedback_first: self.feedback_first.unwrap_or(false),
            negative_labels,
        })
    }

    fn user_links(&self) -> Result<UserLinks, Invalid> {
        if let Some(url) = &self.completion_url {
            let ok_scheme = url.starts_with("https://") || url.starts_with("http://");
            if !ok_scheme || url.len() > 2000 || url.chars().any(char::is_whitespace) {
                return Err(Invalid::new(
                    "completion_url",
                    "must be an http(s) URL without spaces",
                ));
            }
        }
        if self
            .completion_code
            .as_ref()
            .is_some_and(|c| c.is_empty() || c.len() > 200)
        {
            return Err(Invalid::new(
                "completion_code",
                "must be 1 to 200 characters",
            ));
        }
        match self.completion_after {
            Some(n) if n < 1 => return Err(Invalid::new("completion_after", "must be at least 1")),
            Some(_) if self.completion_url.is_none() && self.completion_code.is_none() => {
                return Err(Invalid::new(
                    "completion_after",
                    "give a completion_url or a completion_code",
                ));
            }
            _ => {}
        }
        Ok(UserLinks {
            open_link: self.open_link.unwrap_or(false),
            completion_url: self.completion_url.clone(),
            completion_after: self.completion_after,
            completion_code: self.completion_code.clone(),
            single_use_links: self.single_use_links.unwrap_or(false),
        })
    }

    fn policy_input(&self) -> PolicyInput {
        PolicyInput {
            pools: self.pools.clone(),
            expertise: self.expertise.clone(),
            escalate_below: self.escalate_below,
            expert_overlap: self.expert_overlap,
            min_overlap: self.min_overlap,
            max_overlap: self.max_overlap,
            order: self.order.clone(),
            seed: self.seed,
            gold_rate: self.gold_rate,
            min_gold_accuracy: self.min_gold_accuracy,
            gold_min_seen: self.gold_min_seen,
            report_threshold: self.report_threshold,
            qualify_accuracy: self.qualify_accuracy,
        }
    }

    pub fn validate(self) -> Result<ProjectSpec, Invalid> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err(Invalid::new("name", "must not be empty"));
        }
        check_text("name", &name, MAX_PROJECT_NAME_CHARS)?;
        let kind = Kind::parse(&self.kind)?;
        if let Some(overlap) = self.overlap {
            if !(1..=MAX_OVERLAP).contains(&overlap) {
                return Err(Invalid::new(
                    "overlap",
                    format!("must be between 1 and {MAX_OVERLAP}"),
                ));
            }
        }
        let policy = self.policy_input().validate(self.overlap)?;
        let links = self.user_links()?;
        let (labels, settings) = self.settings_input().validate(kind, self.labels.clone())?;
        let feedback = self.feedback_settings(&labels)?;
        let presentation = self.presentation_input().validate()?;
        if !(1..=86_400).contains(&self.lease_seconds) {
            return Err(Invalid::new("lease_seconds", "must be between 1 and 86400"));
        }
        check_text("instructions", &self.instructions, MAX_INSTRUCTIONS_CHARS)?;
        Ok(ProjectSpec {
            name,
            kind,
            labels,
            settings,
            presentation,
            overlap: policy.pool_count(Pool::Generalist),
            instructions: self.instructions,
            lease_seconds: self.lease_seconds,
            policy,
            links,
            feedback,
        })
    }
}

/// A stored project.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub kind: Kind,
    pub labels: Vec<String>,
    #[serde(flatten)]
    pub settings: Settings,
    #[serde(flatten)]
    pub presentation: Presentation,
    pub overlap: i64,
    pub instructions: String,
    pub lease_seconds: i64,
    pub created_at: i64,
    #[serde(flatten)]
    pub policy: Policy,
    #[serde(flatten)]
    pub links: UserLinks,
    #[serde(flatten)]
    pub feedback: FeedbackSettings,
    /// Key of signed user links (admins only ever see projects).
    pub link_secret: String,
    /// Path of the open link, when the project has one.
    pub open_link_url: Option<String>,
    #[serde(skip)]
    pub open_token: String,
    /// When an admin archived the project (closed to raters); `null` while it is open.
    pub archived_at: Option<i64>,
    /// The number of the current guidelines (the instructions' version).
    pub guideline_version: i64,
    /// Counts edits of the settings; the write gate compares it inside every rater write.
    #[serde(skip)]
    pub revision: i64,
}

impl Project {
    /// A project from a checked spec, as the store would return it (no link secret). For
    /// tests and tools that need a project without a database.
    pub fn from_spec(id: i64, spec: ProjectSpec) -> Project {
        Project {
            id,
            name: spec.name,
            kind: spec.kind,
            labels: spec.labels,
            settings: spec.settings,
            presentation: spec.presentation,
            overlap: spec.overlap,
            instructions: spec.instructions,
            lease_seconds: spec.lease_seconds,
            created_at: 0,
            policy: spec.policy,
            links: spec.links,
            feedback: spec.feedback,
            link_secret: String::new(),
            open_link_url: None,
            open_token: String::new(),
            archived_at: None,
            guideline_version: 1,
            revision: 1,
        }
    }

    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }

    /// The project's answer schema: what one label may hold.
    pub fn schema(&self) -> Schema<'_> {
        Schema {
            kind: self.kind,
            labels: &self.labels,
            settings: &self.settings,
        }
    }
}

/// Counts that tell an admin how far a project has come.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub items: i64,
    pub labels: i64,
    pub items_complete: i64,
    pub items_in_progress: i64,
    pub items_untouched: i64,
    pub raters: i64,
}

impl Progress {
    /// Share of wanted labels that have been given, 0..=100.
    pub fn percent(&self, overlap: i64) -> i64 {
        let wanted = self.items.saturating_mul(overlap);
        if wanted <= 0 {
            0
        } else {
            (self.labels.saturating_mul(100) / wanted).clamp(0, 100)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(labels: &[&str], overlap: i64) -> NewProject {
        NewProject::simple("p", labels, overlap, "")
    }

    #[test]
    fn label_sets_are_checked() {
        assert!(new(&["pos", "neg"], 3).validate().is_ok());
        assert_eq!(new(&["pos"], 3).validate().unwrap_err().field, "labels");
        assert!(new(&["pos", "pos"], 3).validate().is_err());
        assert!(new(&["pos", " "], 3).validate().is_err());
        assert_eq!(new(&["a", "b"], 0).validate().unwrap_err().field, "overlap");
    }

    #[test]
    fn values_must_be_in_the_label_set() {
        let project = Project::from_spec(1, new(&["pos", "neg"], 1).validate().unwrap());
        let schema = project.schema();
        assert_eq!(schema.parse(&serde_json::json!("pos")).unwrap(), "pos");
        assert_eq!(
            schema.parse(&serde_json::json!("maybe")).unwrap_err().field,
            "value"
        );
    }
}
