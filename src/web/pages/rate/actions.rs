//! Skips, problem reports, the page after a qualification question, and the rater's
//! history.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::{item_path, labelling_path};
use crate::domain::project::Project;
use crate::error::{AppError, Result};
use crate::store::history::OwnLabel;
use crate::store::raters::QualificationReview;
use crate::web::api::{check_reason, HISTORY_LENGTH};
use crate::web::csrf;
use crate::web::extract::ProjectRater;
use crate::web::flash::{self, Flash};
use crate::web::render::{html, Layout};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "rate/explained.html")]
struct ExplainedPage {
    layout: Layout,
    project: Project,
    review: QualificationReview,
    next: String,
}

/// After a qualification question: the rater's answer, the right one and why.
pub async fn explained_page(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
) -> Result<Response> {
    let review = state
        .store
        .qualification_review(&project, iid, rater.id)
        .await?
        .ok_or_else(|| AppError::not_found("qualification answer"))?;
    let next = labelling_path(pid);
    let layout = Layout::for_user(&session, rater).await?;
    Ok(html(&ExplainedPage {
        layout,
        project,
        review,
        next,
    })?
    .into_response())
}

#[derive(Deserialize)]
pub struct SkipForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// Reasons a rater can give for a skip on the page.
const SKIP_REASONS: [&str; 3] = ["unsure", "needs_context", "not_my_field"];

fn moved_on(text: &str) -> Flash {
    Flash {
        text: text.to_string(),
        ok: true,
        undo: None,
    }
}

pub async fn skip_item(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
    Form(form): Form<SkipForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let reason = SKIP_REASONS.iter().find(|r| **r == form.reason).copied();
    state
        .store
        .skip_item(&project, iid, rater.id, reason)
        .await?;
    flash::set(&session, moved_on("Skipped; it will not come back to you.")).await?;
    Ok(Redirect::to(&labelling_path(pid)))
}

#[derive(Deserialize)]
pub struct ReportForm {
    csrf: String,
    reason: String,
}

pub async fn report_item(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
    Form(form): Form<ReportForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    check_reason(&form.reason)?;
    state
        .store
        .report_item(&project, iid, rater.id, &form.reason, None)
        .await?;
    flash::set(
        &session,
        moved_on("Reported, thank you; the item is skipped for you."),
    )
    .await?;
    Ok(Redirect::to(&labelling_path(pid)))
}

#[derive(Template)]
#[template(path = "rate/history.html")]
struct HistoryPage {
    layout: Layout,
    project: Project,
    labels: Vec<OwnLabel>,
}

impl HistoryPage {
    fn item_path(&self, iid: &i64) -> String {
        item_path(self.project.id, *iid)
    }
}

/// The rater's last labels in the project, each changeable within the edit window.
pub async fn history_page(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    session: Session,
) -> Result<Response> {
    let labels = state
        .store
        .history(&project, rater.id, HISTORY_LENGTH)
        .await?;
    let layout = Layout::for_user(&session, rater).await?;
    Ok(html(&HistoryPage {
        layout,
        project,
        labels,
    })?
    .into_response())
}
