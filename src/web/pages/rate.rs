use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::gate::may_join;
use crate::domain::now_ms;
use crate::domain::project::Project;
use crate::domain::user::User;
use crate::error::{AppError, Result};
use crate::store::items::ItemView;
use crate::store::projects::RaterProgress;
use crate::store::raters::QualificationReview;
use crate::web::api::{check_reason, checked_label, Answer};
use crate::web::csrf;
use crate::web::extract::{ClientIp, MaybeUser, ProjectRater};
use crate::web::render::{html, Layout};
use crate::web::AppState;

const DAY_MS: i64 = 86_400_000;

fn start_of_day_utc(now: i64) -> i64 {
    now - now.rem_euclid(DAY_MS)
}

struct ProjectWork {
    project: Project,
    progress: RaterProgress,
}

#[derive(Template)]
#[template(path = "rate/home.html")]
struct HomePage {
    layout: Layout,
    open: Vec<ProjectWork>,
    finished: Vec<ProjectWork>,
}

/// The start page: admins go to their console, raters see the projects with work left.
pub async fn home(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    session: Session,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(Redirect::to("/login").into_response());
    };
    if user.is_admin() {
        return Ok(Redirect::to("/admin").into_response());
    }
    if let Some(pid) = user.scope_project {
        return Ok(Redirect::to(&labelling_path(&user, pid)).into_response());
    }
    let since = start_of_day_utc(now_ms());
    let (mut open, mut finished) = (Vec::new(), Vec::new());
    let memberships = state.store.memberships_of(user.id).await?;
    for project in state.store.projects().await? {
        let member = memberships
            .get(&project.id)
            .is_some_and(|m| may_join(project.id, None, user.pool, m).is_ok());
        if !member {
            continue;
        }
        let progress = state.store.rater_progress(project.id, &user, since).await?;
        let work = ProjectWork { project, progress };
        if work.progress.left > 0 {
            open.push(work);
        } else {
            finished.push(work);
        }
    }
    let page = HomePage {
        layout: Layout::for_user(&session, user).await?,
        open,
        finished,
    };
    Ok(html(&page)?.into_response())
}

struct Choice {
    key: usize,
    label: String,
}

#[derive(Template)]
#[template(path = "rate/item.html")]
struct ItemPage {
    layout: Layout,
    project: Project,
    item: ItemView,
    text: String,
    fields: Vec<(String, String)>,
    choices: Vec<Choice>,
    progress: RaterProgress,
    shown_at: i64,
}

#[derive(Template)]
#[template(path = "rate/done.html")]
struct DonePage {
    layout: Layout,
    project: Project,
    progress: RaterProgress,
}

#[derive(Template)]
#[template(path = "user/finished.html")]
struct FinishedPage {
    layout: Layout,
    project: Project,
    /// The user reached the project's `completion_after`.
    complete: bool,
}

/// Where a rater labels a project: the light page for the product's users.
pub fn labelling_path(rater: &User, pid: i64) -> String {
    if rater.scope_project.is_some() {
        format!("/u/{pid}/label")
    } else {
        format!("/rate/{pid}")
    }
}

/// One item to label, leased to this rater; or a page saying the work is done.
pub async fn labelling_page(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    session: Session,
) -> Result<Response> {
    let pid = project.id;
    let now = now_ms();
    let progress = state
        .store
        .rater_progress(pid, &rater, start_of_day_utc(now))
        .await?;
    let link_user = rater.scope_project.is_some();
    let goal_reached = project
        .links
        .completion_after
        .is_some_and(|goal| progress.labelled_total >= goal);
    if link_user && goal_reached {
        let layout = Layout::for_user(&session, rater).await?;
        return Ok(html(&FinishedPage {
            layout,
            project,
            complete: true,
        })?
        .into_response());
    }
    let next = state.store.next_item(&project, &rater).await?;
    let layout = Layout::for_user(&session, rater).await?;
    let Some(item) = next else {
        if link_user {
            return Ok(html(&FinishedPage {
                layout,
                project,
                complete: false,
            })?
            .into_response());
        }
        return Ok(html(&DonePage {
            layout,
            project,
            progress,
        })?
        .into_response());
    };
    let choices = project
        .labels
        .iter()
        .enumerate()
        .map(|(i, label)| Choice {
            key: i + 1,
            label: label.clone(),
        })
        .collect();
    let page = ItemPage {
        layout,
        text: item.display_text(),
        fields: item.extra_fields(),
        choices,
        project,
        item,
        progress,
        shown_at: now,
    };
    Ok(html(&page)?.into_response())
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
}

pub async fn submit_label(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    ClientIp(ip): ClientIp,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
    body: axum::body::Bytes,
) -> Result<Redirect> {
    let form = LabelForm::read(&body)?;
    csrf::verify(&session, &form.csrf).await?;
    if rater.scope_project.is_some() {
        state.limits.check_label(rater.id, ip)?;
    }
    let answer = Answer {
        value: project.schema().from_form(&form.values)?,
        duration_ms: form
            .shown_at
            .map(|shown| now_ms().saturating_sub(shown).max(0)),
        comment: form.comment,
    };
    let label = checked_label(&state, &project, rater.id, iid, answer).await?;
    let outcome = state.store.submit_label(&project, &label).await?;
    if outcome.qualification.is_some() {
        return Ok(Redirect::to(&format!("/rate/{pid}/items/{iid}/explained")));
    }
    Ok(Redirect::to(&labelling_path(&rater, pid)))
}

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
    let next = labelling_path(&rater, pid);
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
    Ok(Redirect::to(&labelling_path(&rater, pid)))
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
    Ok(Redirect::to(&labelling_path(&rater, pid)))
}
