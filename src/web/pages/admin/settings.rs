//! A project's settings page: every setting in one form, prefilled, sent through the same
//! edit as `PATCH /api/v1/projects/{pid}`; the guideline versions; and the archive,
//! restore and clone actions of the project page.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tower_sessions::Session;

use super::operations::CsrfForm;
use super::{list, optional};
use crate::domain::audit::Action;
use crate::domain::project::Project;
use crate::domain::project_edit::Changes;
use crate::error::{AppError, Result};
use crate::store::project_edits::GuidelineVersion;
use crate::web::api::projects::clone_setup;
use crate::web::csrf;
use crate::web::extract::{Origin, ProjectAdmin};
use crate::web::flash::{self, Flash};
use crate::web::render::{html, html_with_status, Layout};
use crate::web::AppState;

/// Settings of the label kind the form edits as one JSON object.
const KIND_SETTINGS: [&str; 12] = [
    "kind",
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

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    layout: Layout,
    project: Project,
    form: SettingsForm,
    error: Option<String>,
    versions: Vec<GuidelineVersion>,
}

/// The settings form: every field is text as browsers send it; empty means unset.
#[derive(Deserialize, Clone, Default)]
#[serde(default)]
pub struct SettingsForm {
    csrf: String,
    name: String,
    instructions: String,
    labels: String,
    kind_settings: String,
    overlap: String,
    lease_minutes: String,
    expert_count: String,
    user_count: String,
    expertise: String,
    escalate_below: String,
    expert_overlap: String,
    min_overlap: String,
    max_overlap: String,
    order: String,
    seed: String,
    gold_rate: String,
    min_gold_accuracy: String,
    gold_min_seen: String,
    report_threshold: String,
    qualify_accuracy: String,
    open_link: String,
    completion_url: String,
    completion_after: String,
    completion_code: String,
    single_use_links: String,
    feedback_creates_items: String,
    feedback_first: String,
    negative_labels: String,
    text_field: String,
    shown_fields: String,
    hidden_fields: String,
    media_origins: String,
    show_prediction: String,
    prediction_blind_share: String,
    edit_window_seconds: String,
    comment: String,
}

fn text<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(T::to_string).unwrap_or_default()
}

fn check(on: bool) -> String {
    if on { "on" } else { "" }.to_string()
}

impl SettingsForm {
    /// The form as the project stands.
    fn of(project: &Project) -> SettingsForm {
        let policy = &project.policy;
        let shown = |p| policy.pool_count(p).to_string();
        let settings = crate::domain::project_edit::settings_of(project);
        let kind: Map<String, Value> = KIND_SETTINGS
            .iter()
            .filter_map(|k| {
                settings
                    .get(*k)
                    .filter(|v| !v.is_null())
                    .map(|v| (k.to_string(), v.clone()))
            })
            .collect();
        let presentation = &project.presentation;
        SettingsForm {
            csrf: String::new(),
            name: project.name.clone(),
            instructions: project.instructions.clone(),
            labels: if project.kind.uses_labels() {
                project.labels.join("\n")
            } else {
                String::new()
            },
            kind_settings: serde_json::to_string_pretty(&kind).unwrap_or_default(),
            overlap: shown(crate::domain::policy::Pool::Generalist),
            lease_minutes: (project.lease_seconds / 60).max(1).to_string(),
            expert_count: shown(crate::domain::policy::Pool::Expert),
            user_count: shown(crate::domain::policy::Pool::User),
            expertise: policy.expertise.join(", "),
            escalate_below: text(&policy.escalate_below),
            expert_overlap: policy.expert_overlap.to_string(),
            min_overlap: text(&policy.min_overlap),
            max_overlap: text(&policy.max_overlap),
            order: policy.order.as_str().to_string(),
            seed: policy.seed.to_string(),
            gold_rate: policy.gold_rate.to_string(),
            min_gold_accuracy: text(&policy.min_gold_accuracy),
            gold_min_seen: policy.gold_min_seen.to_string(),
            report_threshold: text(&policy.report_threshold),
            qualify_accuracy: text(&policy.qualify_accuracy),
            open_link: check(project.links.open_link),
            completion_url: text(&project.links.completion_url),
            completion_after: text(&project.links.completion_after),
            completion_code: text(&project.links.completion_code),
            single_use_links: check(project.links.single_use_links),
            feedback_creates_items: check(project.feedback.feedback_creates_items),
            feedback_first: check(project.feedback.feedback_first),
            negative_labels: project.feedback.negative_labels.join(", "),
            text_field: presentation.text_field.clone(),
            shown_fields: presentation.shown_fields.join(", "),
            hidden_fields: presentation.hidden_fields.join(", "),
            media_origins: presentation.media_origins.join(", "),
            show_prediction: check(presentation.show_prediction),
            prediction_blind_share: presentation.prediction_blind_share.to_string(),
            edit_window_seconds: presentation.edit_window_seconds.to_string(),
            comment: check(project.settings.comment),
        }
    }

    /// The form as changes for the edit the API makes: every key it shows, so a cleared
    /// field clears its setting.
    fn changes(&self) -> Result<Changes> {
        let whole = |field: &str, text: &str| -> Result<i64> {
            text.trim()
                .parse::<i64>()
                .map_err(|_| AppError::invalid(field, "must be a whole number"))
        };
        let number = |field: &str, text: &str| -> Result<Value> {
            Ok(optional::<f64>(field, text)?.map_or(Value::Null, Value::from))
        };
        let count = |field: &str, text: &str| -> Result<Value> {
            Ok(optional::<i64>(field, text)?.map_or(Value::Null, Value::from))
        };
        let words = |text: &str| -> Value {
            let t = text.trim();
            if t.is_empty() {
                Value::Null
            } else {
                Value::from(t)
            }
        };
        let on = |field: &str| Value::Bool(field == "on");
        let mut changes = Changes::new();
        let mut put = |key: &str, value: Value| {
            changes.insert(key.to_string(), value);
        };
        put("name", json!(self.name));
        put("instructions", json!(self.instructions));
        put("labels", json!(list(&self.labels)));
        put(
            "pools",
            json!({
                "generalist": whole("overlap", &self.overlap)?,
                "expert": whole("expert_count", &self.expert_count)?,
                "user": whole("user_count", &self.user_count)?,
            }),
        );
        put(
            "lease_seconds",
            json!(whole("lease_minutes", &self.lease_minutes)?.saturating_mul(60)),
        );
        put("expertise", json!(list(&self.expertise)));
        put(
            "escalate_below",
            number("escalate_below", &self.escalate_below)?,
        );
        put(
            "expert_overlap",
            count("expert_overlap", &self.expert_overlap)?,
        );
        put("min_overlap", count("min_overlap", &self.min_overlap)?);
        put("max_overlap", count("max_overlap", &self.max_overlap)?);
        put("order", words(&self.order));
        put("seed", count("seed", &self.seed)?);
        put("gold_rate", number("gold_rate", &self.gold_rate)?);
        put(
            "min_gold_accuracy",
            number("min_gold_accuracy", &self.min_gold_accuracy)?,
        );
        put(
            "gold_min_seen",
            count("gold_min_seen", &self.gold_min_seen)?,
        );
        put(
            "report_threshold",
            count("report_threshold", &self.report_threshold)?,
        );
        put(
            "qualify_accuracy",
            number("qualify_accuracy", &self.qualify_accuracy)?,
        );
        put("open_link", on(&self.open_link));
        put("completion_url", words(&self.completion_url));
        put(
            "completion_after",
            count("completion_after", &self.completion_after)?,
        );
        put("completion_code", words(&self.completion_code));
        put("single_use_links", on(&self.single_use_links));
        put("feedback_creates_items", on(&self.feedback_creates_items));
        put("feedback_first", on(&self.feedback_first));
        put("negative_labels", json!(list(&self.negative_labels)));
        put("text_field", words(&self.text_field));
        put("shown_fields", json!(list(&self.shown_fields)));
        put("hidden_fields", json!(list(&self.hidden_fields)));
        put("media_origins", json!(list(&self.media_origins)));
        put("show_prediction", on(&self.show_prediction));
        put(
            "prediction_blind_share",
            number("prediction_blind_share", &self.prediction_blind_share)?,
        );
        put(
            "edit_window_seconds",
            count("edit_window_seconds", &self.edit_window_seconds)?,
        );
        put("comment", on(&self.comment));
        for (key, value) in self.kind_settings()? {
            put(&key, value);
        }
        Ok(changes)
    }

    /// The label kind's settings from their JSON box; a key left out is cleared, except
    /// the kind, which stays as it is.
    fn kind_settings(&self) -> Result<Map<String, Value>> {
        let text = self.kind_settings.trim();
        let given: Map<String, Value> = if text.is_empty() {
            Map::new()
        } else {
            match serde_json::from_str(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(AppError::invalid("kind_settings", "must be a JSON object such as {\"kind\": \"rating\", \"scale\": {\"min\": 1, \"max\": 5}}")),
                Err(e) => return Err(AppError::invalid("kind_settings", format!("is not JSON: {e}"))),
            }
        };
        if let Some(key) = given.keys().find(|k| !KIND_SETTINGS.contains(&k.as_str())) {
            return Err(AppError::invalid(
                "kind_settings",
                format!("{key:?} is not a label kind setting (the other settings have their own fields)"),
            ));
        }
        let mut out = Map::new();
        for key in KIND_SETTINGS.iter().filter(|k| **k != "kind") {
            out.insert(
                key.to_string(),
                given.get(*key).cloned().unwrap_or(Value::Null),
            );
        }
        if let Some(kind) = given.get("kind") {
            out.insert("kind".into(), kind.clone());
        }
        Ok(out)
    }
}

async fn page(
    state: &AppState,
    session: &Session,
    admin: crate::domain::user::User,
    project: Project,
    form: SettingsForm,
    error: Option<String>,
) -> Result<SettingsPage> {
    Ok(SettingsPage {
        layout: Layout::for_user(session, admin).await?,
        versions: state.store.guideline_versions(project.id).await?,
        project,
        form,
        error,
    })
}

pub async fn settings_page(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    session: Session,
) -> Result<Response> {
    let form = SettingsForm::of(&project);
    let page = page(&state, &session, admin, project, form, None).await?;
    Ok(html(&page)?.into_response())
}

/// Saves the settings; a refusal shows the form again as sent, with the reason.
pub async fn save_settings(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    session: Session,
    Form(form): Form<SettingsForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::ProjectUpdated);
    let saved = match form.changes() {
        Ok(changes) => state.store.edit_project(project.id, &changes, &entry).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(project) => {
            say(&session, "Settings saved.").await?;
            Ok(Redirect::to(&format!("/admin/projects/{}/settings", project.id)).into_response())
        }
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let page = page(
                &state,
                &session,
                admin,
                project,
                form,
                Some(e.public_message()),
            )
            .await?;
            Ok(html_with_status(e.status(), &page))
        }
        Err(e) => Err(e),
    }
}

async fn say(session: &Session, text: &str) -> Result<()> {
    flash::set(
        session,
        Flash {
            text: text.to_string(),
            ok: true,
            undo: None,
        },
    )
    .await
}

pub async fn archive_project(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::ProjectArchived);
    state.store.set_archived(project.id, true, &entry).await?;
    say(&session, "Archived: raters no longer see this project.").await?;
    Ok(Redirect::to(&format!("/admin/projects/{}", project.id)))
}

pub async fn restore_project(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::ProjectRestored);
    state.store.set_archived(project.id, false, &entry).await?;
    say(&session, "Restored: raters can work on this project again.").await?;
    Ok(Redirect::to(&format!("/admin/projects/{}", project.id)))
}

#[derive(Deserialize)]
pub struct CloneForm {
    csrf: String,
    #[serde(default)]
    name: String,
}

/// Clones the project's setup and opens the new project; a bad name is said on the
/// settings page.
pub async fn clone_project(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    session: Session,
    Form(form): Form<CloneForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    match clone_setup(&state, &project, &admin, &origin, &form.name).await {
        Ok(clone) => {
            say(
                &session,
                &format!(
                    "Cloned from {}: the setup, without items or labels.",
                    project.name
                ),
            )
            .await?;
            Ok(Redirect::to(&format!("/admin/projects/{}", clone.id)).into_response())
        }
        Err(e @ AppError::Invalid(_)) => {
            let form = SettingsForm::of(&project);
            let reason = format!("Not cloned: {}", e.public_message());
            let page = page(&state, &session, admin, project, form, Some(reason)).await?;
            Ok(html_with_status(e.status(), &page))
        }
        Err(e) => Err(e),
    }
}
