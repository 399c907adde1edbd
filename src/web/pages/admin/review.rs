//! The project page's review section: who reviews the project and when items go to review.

use axum::extract::{Path, State};
use axum::response::Redirect;
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::review::ReviewSettings;
use crate::error::{AppError, Result};
use crate::store::review::NamedReviewer;
use crate::web::api::review::{change_review_settings, name_reviewer, AddReviewer};
use crate::web::csrf;
use crate::web::extract::{Origin, ProjectAdmin};
use crate::web::flash::{self, Flash};
use crate::web::AppState;

/// What the review section shows.
pub(crate) struct ReviewPanel {
    pub settings: ReviewSettings,
    pub reviewers: Vec<NamedReviewer>,
    pub adjudicated: i64,
}

pub(crate) async fn review_panel(state: &AppState, pid: i64) -> Result<ReviewPanel> {
    Ok(ReviewPanel {
        settings: state.store.review_settings(pid).await?,
        reviewers: state.store.project_reviewers(pid).await?,
        adjudicated: state.store.adjudication_count(pid).await?,
    })
}

fn back(pid: i64) -> Redirect {
    Redirect::to(&format!("/admin/projects/{pid}#review"))
}

/// Refusals of input come back to the section as a message; other errors stay errors.
async fn say_refusal(session: &Session, outcome: Result<()>) -> Result<()> {
    let text = match outcome {
        Err(AppError::Invalid(invalid)) => invalid.to_string(),
        Err(AppError::NotFound(what)) => what,
        other => return other,
    };
    flash::set(
        session,
        Flash {
            text: format!("Not saved: {text}"),
            ok: false,
            undo: None,
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct ReviewerForm {
    csrf: String,
    name: String,
}

/// Names a rater a reviewer of the project.
pub async fn add_reviewer(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    session: Session,
    Form(form): Form<ReviewerForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let who = AddReviewer {
        user_id: None,
        name: Some(form.name),
    };
    let outcome = name_reviewer(&state, &project, &admin, &origin, who)
        .await
        .map(|_| ());
    say_refusal(&session, outcome).await?;
    Ok(back(project.id))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// Stops a rater reviewing the project.
pub async fn remove_reviewer(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    session: Session,
    Path((_, uid)): Path<(i64, i64)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin
        .entry(&admin, crate::domain::audit::Action::ReviewerRemoved)
        .project(project.id)
        .target("user", uid);
    state
        .store
        .remove_project_reviewer(project.id, uid, &entry)
        .await?;
    Ok(back(project.id))
}

#[derive(Deserialize)]
pub struct ReviewSettingsForm {
    csrf: String,
    review_below: String,
    spot_check_rate: String,
}

fn share(field: &str, text: &str) -> Result<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| AppError::invalid(field, "must be a number between 0 and 1"))
}

/// Sets when items go to review.
pub async fn set_review_settings(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    session: Session,
    Form(form): Form<ReviewSettingsForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let outcome = async {
        let asked = ReviewSettings {
            review_below: share("review_below", &form.review_below)?,
            spot_check_rate: share("spot_check_rate", &form.spot_check_rate)?,
        };
        change_review_settings(&state, &project, &admin, &origin, asked)
            .await
            .map(|_| ())
    }
    .await;
    say_refusal(&session, outcome).await?;
    Ok(back(project.id))
}
