//! Admin actions on a running project: lift a pause, release a held item, make a
//! feedback key.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::{project_page_for, Notices};
use crate::domain::audit::Action;
use crate::domain::text::admin_pause_reason;
use crate::error::Result;
use crate::web::csrf;
use crate::web::extract::{Admin, Origin};
use crate::web::render::html;
use crate::web::AppState;

#[derive(Deserialize)]
pub struct CsrfForm {
    pub(super) csrf: String,
}

pub async fn unpause_rater(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path((pid, rid)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    state.store.project(pid).await?;
    let entry = origin.entry(&admin, Action::RaterResumed);
    state.store.unpause_rater(pid, rid, &entry).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}#raters")))
}

#[derive(Deserialize)]
pub struct PauseForm {
    csrf: String,
    reason: Option<String>,
}

pub async fn pause_rater(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path((pid, rid)): Path<(i64, i64)>,
    Form(form): Form<PauseForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let reason = admin_pause_reason(form.reason.as_deref())?;
    state.store.project(pid).await?;
    let entry = origin.entry(&admin, Action::RaterPaused);
    state.store.pause_rater(pid, rid, &reason, &entry).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}#rater-{rid}")))
}

pub async fn release_item(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::ItemReleased);
    state.store.release_item(pid, iid, &entry).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}#held")))
}

/// Makes a feedback key and shows it on the project page, once.
pub async fn create_feedback_key(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(pid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    state.store.project(pid).await?;
    let entry = origin.entry(&admin, Action::FeedbackKeyCreated);
    let (_, key) = state.store.create_feedback_key(pid, &entry).await?;
    let notices = Notices {
        new_key: Some(key),
        ..Notices::default()
    };
    let page = project_page_for(&state, &session, admin, pid, notices).await?;
    Ok(html(&page)?.into_response())
}

pub async fn revoke_feedback_key(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path((pid, kid)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::FeedbackKeyRevoked);
    if !state.store.delete_feedback_key(pid, kid, &entry).await? {
        return Err(crate::error::AppError::not_found("feedback key"));
    }
    Ok(Redirect::to(&format!("/admin/projects/{pid}#sources")))
}

/// A new secret for signed links; old links stop working.
pub async fn rotate_link_secret(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(pid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::LinkSecretRotated);
    state.store.rotate_link_secret(pid, &entry).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}#links")))
}

/// A new open link; the old one stops working.
pub async fn rotate_open_link(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(pid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::OpenLinkRotated);
    state.store.rotate_open_token(pid, &entry).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}#links")))
}

#[derive(Deserialize)]
pub struct MemberForm {
    csrf: String,
    name: String,
}

/// Names a rater (by name) as a member of the project.
pub async fn add_member(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(pid): Path<i64>,
    Form(form): Form<MemberForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let name = form.name.trim();
    let rater = state
        .store
        .user_by_name(name)
        .await?
        .ok_or_else(|| crate::error::AppError::NotFound(format!("no rater named {name:?}")))?;
    state.store.project(pid).await?;
    let entry = origin.entry(&admin, Action::MemberAdded);
    state.store.add_member(pid, rater.id, &entry).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}#members")))
}

pub async fn remove_member(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path((pid, rid)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::MemberRemoved);
    state.store.remove_member(pid, rid, &entry).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}#members")))
}

#[derive(Deserialize)]
pub struct MemberPoolsForm {
    csrf: String,
    #[serde(default)]
    generalist: Option<String>,
    #[serde(default)]
    expert: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

/// The pools whose every rater is a member, from the page's checkboxes.
pub async fn set_member_pools(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(pid): Path<i64>,
    Form(form): Form<MemberPoolsForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    use crate::domain::policy::Pool;
    let pools: Vec<Pool> = [
        (form.generalist.is_some(), Pool::Generalist),
        (form.expert.is_some(), Pool::Expert),
        (form.user.is_some(), Pool::User),
    ]
    .into_iter()
    .filter_map(|(on, pool)| on.then_some(pool))
    .collect();
    let entry = origin.entry(&admin, Action::MemberPoolsChanged);
    state.store.set_member_pools(pid, &pools, &entry).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}#members")))
}
