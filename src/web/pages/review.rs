//! The reviewer's pages: the projects to review, a project's review queue, and one item with
//! its labels, where the reviewer sets the final label. Keyboard first, like labelling.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::rate::screen::{screen, Screen};
use crate::domain::kinds::display;
use crate::domain::project::Project;
use crate::domain::review::{assess, NewAdjudication, Reason};
use crate::domain::user::Role;
use crate::error::{AppError, Result};
use crate::store::review::Adjudication;
use crate::web::api::rater_item;
use crate::web::api::review::{adjudicate, review_page, QueueFilter, QueueQuery, ReviewEntry};
use crate::web::csrf;
use crate::web::extract::{Account, Origin, ProjectReviewer};
use crate::web::flash::{self, Flash};
use crate::web::markdown::to_safe_html;
use crate::web::render::{html, Layout};
use crate::web::{csp_with_images, AppState};

/// The queue page's length.
const QUEUE_PAGE: i64 = 50;

pub fn queue_path(pid: i64) -> String {
    format!("/review/projects/{pid}")
}

fn item_path(pid: i64, iid: i64, reason: Option<Reason>) -> String {
    match reason {
        Some(r) => format!("/review/projects/{pid}/items/{iid}?reason={}", r.as_str()),
        None => format!("/review/projects/{pid}/items/{iid}"),
    }
}

#[derive(Template)]
#[template(path = "review/home.html")]
struct HomePage {
    layout: Layout,
    projects: Vec<Project>,
}

/// The projects this person may review.
pub async fn home(
    State(state): State<AppState>,
    Account(user): Account,
    session: Session,
) -> Result<Response> {
    let projects = match user.role {
        Role::Admin | Role::Reviewer => state.store.projects().await?,
        Role::Rater => {
            let mine = state.store.reviewed_projects(user.id).await?;
            let mut projects = Vec::with_capacity(mine.len());
            for pid in mine {
                projects.push(state.store.project(pid).await?);
            }
            projects
        }
    };
    let page = HomePage {
        layout: Layout::for_user(&session, user).await?,
        projects,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "review/queue.html")]
struct QueuePage {
    layout: Layout,
    project: Project,
    entries: Vec<ReviewEntry>,
    reason: Option<Reason>,
    reasons: [Reason; 6],
    next_after: Option<i64>,
    review_below: f64,
}

impl QueuePage {
    fn selected(&self, reason: &Reason) -> bool {
        self.reason == Some(*reason)
    }

    fn shown(&self, value: &Option<serde_json::Value>) -> String {
        value.as_ref().map(display).unwrap_or_else(|| "—".into())
    }

    fn percent(&self, share: &Option<f64>) -> String {
        share.map_or_else(|| "—".into(), |s| format!("{:.0}%", s * 100.0))
    }

    fn item_link(&self, iid: &i64) -> String {
        item_path(self.project.id, *iid, self.reason)
    }

    fn next_link(&self, after: &i64) -> String {
        let mut link = format!("{}?after={after}", queue_path(self.project.id));
        if let Some(r) = self.reason {
            link.push_str("&reason=");
            link.push_str(r.as_str());
        }
        link
    }
}

/// A project's review queue, filtered by reason, a page at a time.
pub async fn queue_page(
    State(state): State<AppState>,
    ProjectReviewer { project, reviewer }: ProjectReviewer,
    session: Session,
    Query(query): Query<QueueQuery>,
) -> Result<Response> {
    let filter = QueueQuery {
        limit: Some(QUEUE_PAGE),
        ..query
    }
    .check()?;
    let page = review_page(&state.store, &project, &reviewer, filter).await?;
    let view = QueuePage {
        layout: Layout::for_user(&session, reviewer).await?,
        project,
        entries: page.items,
        reason: filter.reason,
        reasons: Reason::ALL,
        next_after: page.next_after,
        review_below: page.settings.review_below,
    };
    Ok(html(&view)?.into_response())
}

#[derive(Template)]
#[template(path = "review/item.html")]
struct ItemPage {
    layout: Layout,
    project: Project,
    item_id: i64,
    screen: Screen,
    instructions: String,
    guideline: i64,
    entry: ReviewEntry,
    current: Option<Adjudication>,
    /// Set when the reviewer labelled this item and so may not settle it.
    own_item: bool,
    reason: Option<Reason>,
}

impl ItemPage {
    fn shown(&self, value: &serde_json::Value) -> String {
        display(value)
    }

    fn majority_text(&self) -> String {
        match &self.entry.majority {
            Some(v) => display(v),
            None if self.entry.labels.is_empty() => "no labels yet".into(),
            None => format!(
                "a tie between {}",
                self.entry
                    .tied
                    .iter()
                    .map(display)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        }
    }

    fn agreement_text(&self) -> String {
        self.entry
            .agreement
            .map_or_else(String::new, |a| format!("{:.0}% agree", a * 100.0))
    }
}

#[derive(serde::Deserialize)]
pub struct ReasonQuery {
    reason: Option<String>,
}

fn reason_of(query: &ReasonQuery) -> Result<Option<Reason>> {
    Ok(query
        .reason
        .as_deref()
        .filter(|r| !r.is_empty())
        .map(Reason::parse)
        .transpose()?)
}

/// One item for review: its content, every label under pseudonyms, the process feedback,
/// the pre-label and the guidelines, and the form for the final label.
pub async fn item_page(
    State(state): State<AppState>,
    ProjectReviewer { project, reviewer }: ProjectReviewer,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
    Query(query): Query<ReasonQuery>,
) -> Result<Response> {
    let reason = reason_of(&query)?;
    let candidate = state.store.review_candidate(pid, iid).await?;
    let settings = state.store.review_settings(pid).await?;
    let own_item = candidate.labels.iter().any(|l| l.rater_id == reviewer.id);
    let assessment = assess(project.schema(), settings, project.policy.seed, &candidate);
    let current = state.store.adjudication(pid, iid).await?;
    let view = state.store.item(pid, iid).await?;
    let prediction = view.prediction.clone();
    let mut item = rater_item(&project, reviewer.id, view);
    // A reviewer always sees the model's pre-label, whatever raters are shown.
    item.prediction = prediction.as_deref().map(crate::domain::kinds::from_stored);
    let start = current.as_ref().map(|c| &c.value);
    let page = ItemPage {
        screen: screen(&project, &item, start, None),
        instructions: to_safe_html(&project.instructions),
        guideline: project.guideline_version,
        entry: ReviewEntry {
            item_id: iid,
            external_id: candidate.external_id,
            reasons: assessment.reasons,
            majority: assessment.consensus.value,
            agreement: assessment.consensus.agreement,
            tied: assessment.consensus.tied,
            labels: candidate.labels,
            feedback: candidate.feedback,
        },
        current,
        own_item,
        reason,
        item_id: iid,
        layout: Layout::for_user(&session, reviewer).await?,
        project,
    };
    let csp = csp_with_images(&page.project.presentation.media_origins);
    Ok(([(header::CONTENT_SECURITY_POLICY, csp)], html(&page)?).into_response())
}

/// The final-label form: `value` (several for multiple choice), `reason`, and the queue's
/// filter to come back to.
struct FinalForm {
    csrf: String,
    values: Vec<String>,
    reason: String,
    queue_reason: Option<String>,
}

impl FinalForm {
    fn read(body: &[u8]) -> Result<FinalForm> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| AppError::invalid("form", e.to_string()))?;
        let mut form = FinalForm {
            csrf: String::new(),
            values: Vec::new(),
            reason: String::new(),
            queue_reason: None,
        };
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "value" => form.values.push(value),
                "reason" => form.reason = value,
                "queue_reason" => form.queue_reason = Some(value),
                _ => {}
            }
        }
        Ok(form)
    }
}

fn note(text: String, ok: bool) -> Flash {
    Flash {
        text,
        ok,
        undo: None,
    }
}

/// Sets the final label from the page, then opens the next item of the queue (or the queue
/// when it is empty). A refusal comes back to the item with the reason.
pub async fn submit_final_label(
    State(state): State<AppState>,
    ProjectReviewer { project, reviewer }: ProjectReviewer,
    origin: Origin,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
    body: Bytes,
) -> Result<Redirect> {
    let form = FinalForm::read(&body)?;
    csrf::verify(&session, &form.csrf).await?;
    let queue_reason = reason_of(&ReasonQuery {
        reason: form.queue_reason.clone(),
    })?;
    let outcome = match project.schema().from_form(&form.values) {
        Ok(value) => {
            let asked = NewAdjudication {
                value,
                reason: form.reason,
            };
            adjudicate(&state, &project, &reviewer, &origin, iid, asked).await
        }
        Err(invalid) => Err(AppError::Invalid(invalid)),
    };
    let refusal = match outcome {
        Ok(answer) => Ok(answer),
        Err(AppError::Invalid(invalid)) => Err(invalid.to_string()),
        Err(AppError::Conflict(why)) => Err(why),
        Err(e) => return Err(e),
    };
    let answer = match refusal {
        Ok(answer) => answer,
        Err(why) => {
            flash::set(&session, note(format!("Not saved: {why}"), false)).await?;
            return Ok(Redirect::to(&item_path(pid, iid, queue_reason)));
        }
    };
    let text = format!(
        "✓ Final label of item {iid}: {}{}",
        display(&answer.adjudication.value),
        if answer.overturned {
            " (overturns the majority)"
        } else {
            ""
        }
    );
    flash::set(&session, note(text, true)).await?;
    let filter = QueueFilter {
        reason: queue_reason,
        after: iid,
        limit: 1,
    };
    let next = review_page(&state.store, &project, &reviewer, filter).await?;
    Ok(match next.items.first() {
        Some(entry) => Redirect::to(&item_path(pid, entry.item_id, queue_reason)),
        None => Redirect::to(&queue_path(pid)),
    })
}
