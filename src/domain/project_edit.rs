//! Editing a project after it was created. Changes come as any of the keys
//! `POST /api/v1/projects` takes; they are laid over the project's current settings and the
//! result is checked by the same rules as a new project ([`NewProject::validate`]). Then the
//! edit is checked against what is stored: no edit may leave a label, a gold answer or a
//! pre-label outside the project's answer schema, change the kind once labels exist, or move
//! the item field that spans and boxes point into.

use serde_json::{Map, Value};

use super::kinds::Kind;
use super::policy::{Policy, Pool};
use super::project::{NewProject, Project, ProjectSpec};
use super::Invalid;

/// Changes to a project: keys of `NewProject`; `null` clears an optional setting.
pub type Changes = Map<String, Value>;

/// Keys that only mean something for some kinds; a change of kind starts them afresh.
const KIND_KEYS: [&str; 11] = [
    "min",
    "max",
    "scale",
    "range",
    "max_length",
    "pattern",
    "field",
    "tolerance",
    "iou_threshold",
    "span_match",
    "min_f1",
];

impl NewProject {
    /// The settings a project has now, in the shape `POST /api/v1/projects` takes: creating
    /// a project from this gives the same settings (the base of edits and of clones).
    pub fn from_project(project: &Project) -> NewProject {
        let settings = &project.settings;
        let presentation = &project.presentation;
        let policy = &project.policy;
        let pools = Pool::ALL
            .iter()
            .map(|pool| (pool.as_str().to_string(), policy.pool_count(*pool)))
            .collect();
        NewProject {
            name: project.name.clone(),
            kind: project.kind.as_str().to_string(),
            // A rating's labels are its scale points, which follow from `scale`.
            labels: if project.kind == Kind::Rating {
                Vec::new()
            } else {
                project.labels.clone()
            },
            min: settings.min,
            max: settings.max,
            scale: settings.scale.clone(),
            range: settings.range.clone(),
            max_length: settings.max_length,
            pattern: settings.pattern.clone(),
            field: settings.field.clone(),
            tolerance: settings.tolerance,
            iou_threshold: settings.iou_threshold,
            span_match: settings.span_match,
            min_f1: settings.min_f1,
            comment: Some(settings.comment),
            text_field: Some(presentation.text_field.clone()),
            shown_fields: Some(presentation.shown_fields.clone()),
            hidden_fields: Some(presentation.hidden_fields.clone()),
            media_origins: Some(presentation.media_origins.clone()),
            show_prediction: Some(presentation.show_prediction),
            prediction_blind_share: Some(presentation.prediction_blind_share),
            edit_window_seconds: Some(presentation.edit_window_seconds),
            overlap: None,
            instructions: project.instructions.clone(),
            lease_seconds: project.lease_seconds,
            pools: Some(pools),
            expertise: Some(policy.expertise.clone()),
            escalate_below: policy.escalate_below,
            expert_overlap: Some(policy.expert_overlap),
            min_overlap: policy.min_overlap,
            max_overlap: policy.max_overlap,
            order: Some(policy.order.as_str().to_string()),
            seed: Some(policy.seed),
            gold_rate: Some(policy.gold_rate),
            min_gold_accuracy: policy.min_gold_accuracy,
            gold_min_seen: Some(policy.gold_min_seen),
            report_threshold: policy.report_threshold,
            qualify_accuracy: policy.qualify_accuracy,
            open_link: Some(project.links.open_link),
            completion_url: project.links.completion_url.clone(),
            completion_after: project.links.completion_after,
            completion_code: project.links.completion_code.clone(),
            single_use_links: Some(project.links.single_use_links),
            feedback_creates_items: Some(project.feedback.feedback_creates_items),
            feedback_first: Some(project.feedback.feedback_first),
            negative_labels: Some(project.feedback.negative_labels.clone()),
        }
    }
}

/// The project's settings as a JSON object with `NewProject`'s keys, every key present.
pub fn settings_of(project: &Project) -> Map<String, Value> {
    match serde_json::to_value(NewProject::from_project(project)) {
        Ok(Value::Object(map)) => map,
        // A struct of plain fields always serializes to an object.
        _ => Map::new(),
    }
}

/// The settings an audit entry compares: everything but the instructions, which have their
/// own entry (`guidelines.updated`).
pub fn audited_settings(project: &Project) -> Value {
    let mut settings = settings_of(project);
    settings.remove("instructions");
    Value::Object(settings)
}

/// Lays `changes` over the project's current settings and checks the result as a new
/// project would be checked. A key that is not a setting, or a value of the wrong type, is
/// refused naming the key.
pub fn apply_changes(project: &Project, changes: &Changes) -> Result<ProjectSpec, Invalid> {
    let base = settings_of(project);
    if let Some(unknown) = changes.keys().find(|key| !base.contains_key(*key)) {
        return Err(Invalid::new(unknown.as_str(), "is not a project setting"));
    }
    let merged = merge(project, base.clone(), changes)?;
    let new: NewProject = match serde_json::from_value(Value::Object(merged)) {
        Ok(new) => new,
        Err(e) => return Err(blame_key(&base, changes, e)),
    };
    new.validate()
}

/// Which changed key a deserialization error comes from: the first that fails alone.
fn blame_key(base: &Map<String, Value>, changes: &Changes, error: serde_json::Error) -> Invalid {
    for (key, value) in changes {
        let mut alone = base.clone();
        alone.insert(key.clone(), value.clone());
        if let Err(e) = serde_json::from_value::<NewProject>(Value::Object(alone)) {
            return Invalid::new(key.as_str(), e.to_string());
        }
    }
    Invalid::new("body", error.to_string())
}

fn merge(
    project: &Project,
    mut base: Map<String, Value>,
    changes: &Changes,
) -> Result<Map<String, Value>, Invalid> {
    let kind_changes = changes
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|kind| kind != project.kind.as_str());
    if kind_changes {
        // The old kind's settings do not carry over to another kind; a label list does
        // between kinds that name labels.
        for key in KIND_KEYS {
            base.insert(key.to_string(), Value::Null);
        }
        let new_kind = changes.get("kind").and_then(Value::as_str).map(Kind::parse);
        let keeps_labels =
            project.kind.uses_labels() && matches!(new_kind, Some(Ok(k)) if k.uses_labels());
        if !keeps_labels {
            base.insert("labels".into(), Value::Array(Vec::new()));
        }
    }
    let gives_generalists = changes.contains_key("overlap")
        || changes
            .get("pools")
            .and_then(Value::as_object)
            .is_some_and(|pools| pools.contains_key("generalist"));
    let stays_dynamic = project.policy.is_dynamic()
        && !changes.contains_key("min_overlap")
        && !changes.contains_key("max_overlap");
    if gives_generalists && stays_dynamic {
        return Err(Invalid::new(
            "overlap",
            "this project uses dynamic overlap: change min_overlap and max_overlap (or set both to null for a fixed overlap)",
        ));
    }
    for (key, value) in changes {
        match (key.as_str(), value, base.get_mut("pools")) {
            // Pools not named keep their counts.
            ("pools", Value::Object(given), Some(Value::Object(pools))) => {
                for (pool, count) in given {
                    pools.insert(pool.clone(), count.clone());
                }
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
    // A plain overlap stands for the generalist count unless the pools name it too.
    let pools_name_generalists = changes
        .get("pools")
        .and_then(Value::as_object)
        .is_some_and(|pools| pools.contains_key("generalist"));
    if changes.get("overlap").is_some_and(|o| !o.is_null()) && !pools_name_generalists {
        if let Some(Value::Object(pools)) = base.get_mut("pools") {
            pools.remove("generalist");
        }
    }
    Ok(base)
}

/// How many labels each pool wants of an item, as a policy decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedRule {
    /// Generalist labels: a fixed overlap, or dynamic between a minimum and a maximum.
    pub generalist: GeneralistRule,
    pub expert: i64,
    /// Expert labels an escalated item wants on top of `expert`.
    pub expert_overlap: i64,
    pub user: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneralistRule {
    Fixed(i64),
    Dynamic { min: i64, max: i64 },
}

impl NeedRule {
    pub fn of(policy: &Policy) -> NeedRule {
        let generalist = match (policy.min_overlap, policy.max_overlap) {
            (Some(min), Some(max)) => GeneralistRule::Dynamic { min, max },
            _ => GeneralistRule::Fixed(policy.pool_count(Pool::Generalist)),
        };
        NeedRule {
            generalist,
            expert: policy.pool_count(Pool::Expert),
            expert_overlap: policy.expert_overlap,
            user: policy.pool_count(Pool::User),
        }
    }
}

/// What an edit changes, for the store to act on.
#[derive(Debug, Clone)]
pub struct EditPlan {
    /// The project as it will be (its id, secrets, state and counters kept).
    pub after: Project,
    /// Any setting besides the instructions changed.
    pub settings_changed: bool,
    /// The answer schema (kind, labels, kind settings) changed: stored values must fit it.
    pub schema_changed: bool,
    /// The labels wanted per item changed: every item's counts are worked out again.
    pub needs_changed: bool,
    pub instructions_changed: bool,
    /// The seed of the random order changed: every item's sort key is drawn again.
    pub seed_changed: bool,
}

impl EditPlan {
    pub fn new(before: &Project, spec: ProjectSpec) -> EditPlan {
        let mut after = Project::from_spec(before.id, spec);
        after.created_at = before.created_at;
        after.link_secret = before.link_secret.clone();
        after.open_token = before.open_token.clone();
        after.open_link_url = after
            .links
            .open_link
            .then(|| format!("/u/{}/open/{}", before.id, before.open_token));
        after.archived_at = before.archived_at;
        after.guideline_version = before.guideline_version;
        after.revision = before.revision;
        let schema_changed = before.kind != after.kind
            || before.labels != after.labels
            || before.settings != after.settings;
        EditPlan {
            settings_changed: audited_settings(before) != audited_settings(&after),
            needs_changed: NeedRule::of(&before.policy) != NeedRule::of(&after.policy),
            instructions_changed: before.instructions != after.instructions,
            seed_changed: before.policy.seed != after.policy.seed,
            schema_changed,
            after,
        }
    }

    pub fn changes_anything(&self) -> bool {
        self.settings_changed || self.instructions_changed
    }
}

/// Where stored values come from, as a refusal names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSource {
    Labels,
    GoldAnswers,
    PreLabels,
    FinalLabels,
}

impl ValueSource {
    pub fn noun(self, count: i64) -> &'static str {
        match (self, count == 1) {
            (ValueSource::Labels, true) => "label holds",
            (ValueSource::Labels, false) => "labels hold",
            (ValueSource::GoldAnswers, true) => "gold answer is",
            (ValueSource::GoldAnswers, false) => "gold answers are",
            (ValueSource::PreLabels, true) => "pre-label is",
            (ValueSource::PreLabels, false) => "pre-labels are",
            (ValueSource::FinalLabels, true) => "reviewer's final label is",
            (ValueSource::FinalLabels, false) => "reviewers' final labels are",
        }
    }
}

/// One distinct stored value (canonical JSON text) and how often it is stored.
#[derive(Debug, Clone)]
pub struct StoredValue {
    pub source: ValueSource,
    pub value: String,
    pub count: i64,
}

/// What a project holds that its settings must keep fitting.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub labels: i64,
    pub values: Vec<StoredValue>,
}

/// The setting to name when stored values stop fitting: the first schema key the edit
/// changed, in the order a reader would look for the cause.
fn changed_schema_key(before: &Project, after: &Project) -> &'static str {
    if before.labels != after.labels && after.kind != Kind::Rating {
        return "labels";
    }
    let (b, a) = (&before.settings, &after.settings);
    let candidates: [(&'static str, bool); 7] = [
        ("scale", b.scale != a.scale),
        ("range", b.range != a.range),
        ("max_length", b.max_length != a.max_length),
        ("pattern", b.pattern != a.pattern),
        ("min", b.min != a.min),
        ("max", b.max != a.max),
        ("field", b.field != a.field),
    ];
    candidates
        .into_iter()
        .find(|(_, changed)| *changed)
        .map(|(key, _)| key)
        .unwrap_or("labels")
}

/// Refuses an edit that what is stored could not survive, naming the setting and saying
/// how many stored values it would break.
pub fn check_against_stored(
    before: &Project,
    after: &Project,
    stored: &Stored,
) -> Result<(), Invalid> {
    if before.kind != after.kind && stored.labels > 0 {
        return Err(Invalid::new(
            "kind",
            format!(
                "the project has {} label{}; its kind cannot change once labels exist",
                stored.labels,
                if stored.labels == 1 { "" } else { "s" }
            ),
        ));
    }
    if before.kind.uses_field()
        && before.settings.field != after.settings.field
        && stored.labels > 0
    {
        return Err(Invalid::new(
            "field",
            format!(
                "existing labels point into the item field {:?}; it cannot change once labels exist",
                before.settings.field.as_deref().unwrap_or_default()
            ),
        ));
    }
    let schema = after.schema();
    for stored_value in &stored.values {
        let value = super::kinds::from_stored(&stored_value.value);
        if let Err(refused) = schema.parse(&value) {
            let shown = super::kinds::display(&value);
            let shown: String = shown.chars().take(80).collect();
            return Err(Invalid::new(
                changed_schema_key(before, after),
                format!(
                    "{} {} {:?}, which the new settings refuse ({}); a setting that stored answers use cannot be removed, renamed or narrowed",
                    stored_value.count,
                    stored_value.source.noun(stored_value.count),
                    shown,
                    refused.reason
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
