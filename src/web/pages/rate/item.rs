//! One item's page: the item and the answer form; after a label, the rater's own answer
//! (changeable within the edit window). Labels and changes go through the same check and
//! the same gate as the API.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::screen::{screen, Screen};
use super::{item_path, labelling_path, start_of_day_utc};
use crate::domain::kinds::display;
use crate::domain::now_ms;
use crate::domain::project::Project;
use crate::error::{AppError, Result};
use crate::store::history::OwnLabel;
use crate::store::projects::RaterProgress;
use crate::web::api::{checked_label, rater_item, Answer};
use crate::web::csrf;
use crate::web::extract::{ClientIp, ProjectRater};
use crate::web::flash::{self, Flash};
use crate::web::markdown::to_safe_html;
use crate::web::render::{html, Layout};
use crate::web::{csp_with_images, AppState};

/// How many of the rater's last labels the side panel lists.
const RECENT: i64 = 5;

#[derive(Template)]
#[template(path = "rate/item.html")]
struct ItemPage {
    layout: Layout,
    project: Project,
    item_id: i64,
    screen: Screen,
    instructions: String,
    progress: RaterProgress,
    /// "item 17 of 60 for you".
    number: i64,
    of: i64,
    percent: i64,
    shown_at: i64,
    /// Where the form posts: a new label, or a change of the rater's own.
    action: String,
    /// The rater's own answer, when this page shows it again.
    own: Option<OwnLabel>,
    recent: Vec<OwnLabel>,
}

impl ItemPage {
    pub fn editable(&self) -> bool {
        self.own.as_ref().is_none_or(|o| o.editable_until.is_some())
    }
}

/// An item handed to this rater, or the rater's own answer to one.
pub async fn item_page(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
) -> Result<Response> {
    let own = state.store.own_label(&project, iid, rater.id).await?;
    if own.is_none() && !state.store.holds(pid, iid, rater.id).await? {
        let note = "That item is not yours to label now (it was answered in another tab, or its hold ran out); here is your next one.";
        flash::set(&session, notice(note)).await?;
        return Ok(Redirect::to(&labelling_path(pid)).into_response());
    }
    let view = state.store.item(pid, iid).await?;
    let item = rater_item(&project, rater.id, view);
    let progress = state
        .store
        .rater_progress(pid, &rater, start_of_day_utc(now_ms()))
        .await?;
    let recent = state.store.history(&project, rater.id, RECENT).await?;
    let action = match &own {
        Some(_) => format!("{}/edit", item_path(pid, iid)),
        None => format!("{}/label", item_path(pid, iid)),
    };
    let of = progress.labelled_total + progress.left;
    let number = match &own {
        Some(_) => progress.labelled_total,
        None => progress.labelled_total + 1,
    };
    let page = ItemPage {
        screen: screen(
            &project,
            &item,
            own.as_ref().map(|o| &o.value),
            own.as_ref().and_then(|o| o.comment.as_deref()),
        ),
        instructions: to_safe_html(&project.instructions),
        layout: Layout::for_user(&session, rater).await?,
        item_id: iid,
        number: number.min(of.max(1)),
        percent: if of > 0 {
            progress.labelled_total * 100 / of
        } else {
            100
        },
        of,
        progress,
        shown_at: now_ms(),
        action,
        own,
        recent,
        project,
    };
    // The project's media origins are allowed images on this page only.
    let csp = csp_with_images(&page.project.presentation.media_origins);
    Ok(([(header::CONTENT_SECURITY_POLICY, csp)], html(&page)?).into_response())
}

fn notice(text: &str) -> Flash {
    Flash {
        text: text.to_string(),
        ok: false,
        undo: None,
    }
}

/// The label form's fields: `value` may come several times (multiple choice).
struct LabelForm {
    csrf: String,
    values: Vec<String>,
    shown_at: Option<i64>,
    comment: Option<String>,
}

impl LabelForm {
    fn read(body: &[u8]) -> Result<LabelForm> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| AppError::invalid("form", e.to_string()))?;
        let mut form = LabelForm {
            csrf: String::new(),
            values: Vec::new(),
            shown_at: None,
            comment: None,
        };
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => form.csrf = value,
                "value" => form.values.push(value),
                "shown_at" => form.shown_at = value.parse().ok(),
                "comment" => form.comment = Some(value),
                _ => {}
            }
        }
        Ok(form)
    }

    fn answer(self, project: &Project) -> Result<Answer> {
        Ok(Answer {
            value: project.schema().from_form(&self.values)?,
            duration_ms: self
                .shown_at
                .map(|shown| now_ms().saturating_sub(shown).max(0)),
            comment: self.comment,
        })
    }
}

fn saved(text: String, undo: Option<String>) -> Flash {
    Flash {
        text,
        ok: true,
        undo,
    }
}

/// A label from the page's form. A conflict (answered in another tab, the slot taken after
/// a hold ran out, the item held back) moves on to the next item with a notice.
pub async fn submit_label(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    ClientIp(ip): ClientIp,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
    body: Bytes,
) -> Result<Redirect> {
    let form = LabelForm::read(&body)?;
    csrf::verify(&session, &form.csrf).await?;
    if rater.scope_project.is_some() {
        state.limits.check_label(rater.id, ip)?;
    }
    let answer = form.answer(&project)?;
    let label = checked_label(&state, &project, rater.id, iid, answer).await?;
    let outcome = match state.store.submit_label(&project, &label).await {
        Ok(outcome) => outcome,
        Err(AppError::Conflict(why)) => {
            flash::set(
                &session,
                notice(&format!("Not saved: {why}. Here is your next item.")),
            )
            .await?;
            return Ok(Redirect::to(&labelling_path(pid)));
        }
        Err(e) => return Err(e),
    };
    state.metrics.label_submitted(project.id, outcome.pool);
    if outcome.qualification.is_some() {
        return Ok(Redirect::to(&format!("{}/explained", item_path(pid, iid))));
    }
    let undo = (project.presentation.edit_window_seconds > 0).then(|| item_path(pid, iid));
    let text = format!("✓ {} saved", display(&label.value));
    flash::set(&session, saved(text, undo)).await?;
    Ok(Redirect::to(&labelling_path(pid)))
}

/// A change of the rater's own label, within the edit window.
pub async fn edit_label(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
    body: Bytes,
) -> Result<Redirect> {
    let form = LabelForm::read(&body)?;
    csrf::verify(&session, &form.csrf).await?;
    let answer = form.answer(&project)?;
    let label = checked_label(&state, &project, rater.id, iid, answer).await?;
    match state.store.edit_label(&project, &label).await {
        Ok(()) => {
            let text = format!("✓ changed to {}", display(&label.value));
            flash::set(&session, saved(text, Some(item_path(pid, iid)))).await?;
        }
        Err(AppError::Conflict(why)) => {
            flash::set(&session, notice(&format!("Not changed: {why}."))).await?;
        }
        Err(e) => return Err(e),
    }
    Ok(Redirect::to(&labelling_path(pid)))
}
