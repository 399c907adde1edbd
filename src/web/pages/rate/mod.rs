//! The rater's pages: their projects, and the labelling screen. Every item has its own URL
//! (`/rate/{pid}/items/{iid}`), so the browser's Back button goes to the previous answer
//! (which can still be changed within the edit window) and never re-shows the item now on
//! screen; `/rate/{pid}` only finds the item to work on and sends the browser there.

mod actions;
mod item;
pub(super) mod screen;

pub use actions::{explained_page, history_page, report_item, skip_item};
pub use item::{edit_label, item_page, submit_label};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::domain::gate::may_join;
use crate::domain::now_ms;
use crate::domain::project::Project;
use crate::error::{AppError, Result};
use crate::store::projects::RaterProgress;
use crate::web::extract::{MaybeUser, ProjectRater};
use crate::web::render::{html, html_with_status, Layout};
use crate::web::AppState;

const DAY_MS: i64 = 86_400_000;

fn start_of_day_utc(now: i64) -> i64 {
    now - now.rem_euclid(DAY_MS)
}

struct ProjectWork {
    project: Project,
    progress: RaterProgress,
}

/// A project the rater belongs to but may not work on now, and why.
struct Blocked {
    project: Project,
    reason: String,
}

#[derive(Template)]
#[template(path = "rate/home.html")]
struct HomePage {
    layout: Layout,
    open: Vec<ProjectWork>,
    blocked: Vec<Blocked>,
    finished: Vec<ProjectWork>,
    /// Projects the rater is named a reviewer of: id and name.
    reviews: Vec<(i64, String)>,
}

/// The start page: admins go to their console, raters see the projects with work left (and
/// the ones where they are paused, with the reason).
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
    if user.role == crate::domain::user::Role::Reviewer {
        return Ok(Redirect::to("/review").into_response());
    }
    if let Some(pid) = user.scope_project {
        return Ok(Redirect::to(&labelling_path(pid)).into_response());
    }
    let since = start_of_day_utc(now_ms());
    let (mut open, mut blocked, mut finished) = (Vec::new(), Vec::new(), Vec::new());
    let memberships = state.store.memberships_of(user.id).await?;
    for project in state.store.projects().await? {
        let member = memberships
            .get(&project.id)
            .is_some_and(|m| may_join(project.id, None, user.pool, m).is_ok());
        // An archived project leaves raters' lists until it is restored.
        if !member || project.is_archived() {
            continue;
        }
        let facts = state.store.rater_facts(&project, user.id).await?;
        if let Err(refusal) = crate::domain::gate::admit_rater(&project, &facts) {
            blocked.push(Blocked {
                project,
                reason: AppError::from(refusal).public_message(),
            });
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
    let mut reviews = Vec::new();
    for pid in state.store.reviewed_projects(user.id).await? {
        reviews.push((pid, state.store.project(pid).await?.name));
    }
    let page = HomePage {
        layout: Layout::for_user(&session, user).await?,
        open,
        blocked,
        finished,
        reviews,
    };
    Ok(html(&page)?.into_response())
}

/// Where a rater labels a project (the product's users too).
pub fn labelling_path(pid: i64) -> String {
    format!("/rate/{pid}")
}

/// The page of one item.
pub fn item_path(pid: i64, iid: i64) -> String {
    format!("/rate/{pid}/items/{iid}")
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

#[derive(Template)]
#[template(path = "rate/blocked.html")]
struct BlockedPage {
    layout: Layout,
    project: Project,
    reason: String,
}

/// Finds the item this rater works on (the one they hold, or the next) and goes to its
/// page; or says the work is done, or why the rater may not work here now.
pub async fn labelling_page(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    session: Session,
) -> Result<Response> {
    let pid = project.id;
    let progress = state
        .store
        .rater_progress(pid, &rater, start_of_day_utc(now_ms()))
        .await?;
    let link_user = rater.scope_project.is_some();
    let goal_reached = project
        .links
        .completion_after
        .is_some_and(|goal| progress.labelled_total >= goal);
    if link_user && goal_reached {
        let layout = Layout::for_user(&session, rater).await?;
        return finished(layout, project, true);
    }
    let next = match state.store.next_item(&project, &rater).await {
        Ok(next) => next,
        Err(AppError::Forbidden(reason)) => {
            let layout = Layout::for_user(&session, rater).await?;
            let page = BlockedPage {
                layout,
                project,
                reason,
            };
            return Ok(html_with_status(StatusCode::FORBIDDEN, &page));
        }
        Err(e) => return Err(e),
    };
    if let Some(item) = next {
        return Ok(Redirect::to(&item_path(pid, item.id)).into_response());
    }
    let layout = Layout::for_user(&session, rater).await?;
    if link_user {
        return finished(layout, project, false);
    }
    Ok(html(&DonePage {
        layout,
        project,
        progress,
    })?
    .into_response())
}

fn finished(layout: Layout, project: Project, complete: bool) -> Result<Response> {
    Ok(html(&FinishedPage {
        layout,
        project,
        complete,
    })?
    .into_response())
}
