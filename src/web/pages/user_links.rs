//! How the product's own users arrive: a signed link carrying their id, or a project's
//! open link that gives each visitor a pseudonymous identity kept in the session cookie.
//!
//! A link never silently replaces someone else's session: when another account is signed
//! in on this browser, the link shows a page that asks first, and switching is a POST.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::auth::sign_in;
use crate::auth::{random_hex, secrets_match};
use crate::domain::links::{self, SignedLink};
use crate::domain::project::Project;
use crate::domain::user::User;
use crate::error::{AppError, Result};
use crate::web::csrf;
use crate::web::csrf::to_app_error;
use crate::web::extract::{ClientIp, USER_KEY};
use crate::web::render::{html, Layout};
use crate::web::AppState;

#[derive(Deserialize, Default)]
pub struct SignedQuery {
    uid: Option<String>,
    exp: Option<String>,
    sig: Option<String>,
    nonce: Option<String>,
}

/// The form on the page that asks before switching accounts: the link's own parameters.
#[derive(Deserialize)]
pub struct SwitchForm {
    csrf: String,
    #[serde(flatten)]
    link: SignedQuery,
}

#[derive(Template)]
#[template(path = "user/switch.html")]
struct SwitchPage {
    layout: Layout,
    project: Project,
    current: String,
    action: String,
    link: Vec<(&'static str, String)>,
}

fn link_refused(reason: impl std::fmt::Display) -> AppError {
    AppError::Forbidden(reason.to_string())
}

/// The signed-in user of this browser, if any.
async fn current_user(state: &AppState, session: &Session) -> Result<Option<User>> {
    let id: Option<i64> = session.get(USER_KEY).await.map_err(to_app_error)?;
    match id {
        Some(id) => state.store.user_by_id(id).await,
        None => Ok(None),
    }
}

/// A checked signed link: the product's user id and when the link stops working.
struct CheckedLink {
    uid: String,
    exp: i64,
    nonce: Option<String>,
}

fn check_signed(project: &Project, query: &SignedQuery) -> Result<CheckedLink> {
    let (Some(uid), Some(exp), Some(sig)) = (&query.uid, &query.exp, &query.sig) else {
        return Err(link_refused(links::LinkError::Malformed(
            "uid, exp and sig are all needed",
        )));
    };
    let exp: i64 = exp
        .parse()
        .map_err(|_| link_refused(links::LinkError::Malformed("exp must be a Unix time")))?;
    if project.links.single_use_links && query.nonce.is_none() {
        return Err(link_refused(
            "this project's links work once and must carry a nonce",
        ));
    }
    let link = SignedLink {
        uid,
        exp,
        sig,
        nonce: query.nonce.as_deref(),
    };
    let now_s = crate::domain::now_ms() / 1000;
    links::verify(&project.link_secret, &link, now_s).map_err(link_refused)?;
    Ok(CheckedLink {
        uid: uid.clone(),
        exp,
        nonce: query.nonce.clone(),
    })
}

fn identity_name(pid: i64, identity: &str) -> String {
    format!("link:{pid}:{identity}")
}

fn switch_page(
    layout: Layout,
    project: Project,
    current: &User,
    action: String,
    link: Vec<(&'static str, String)>,
) -> Result<Response> {
    let page = SwitchPage {
        layout,
        project,
        current: current.name.clone(),
        action,
        link,
    };
    Ok(html(&page)?.into_response())
}

/// Signs the product's user in after a link was checked, using a single-use link up.
async fn enter_signed(
    state: &AppState,
    session: &Session,
    project: &Project,
    link: CheckedLink,
) -> Result<Redirect> {
    if let Some(nonce) = &link.nonce {
        let fresh = state
            .store
            .consume_link_nonce(project.id, nonce, link.exp.saturating_mul(1000))
            .await?;
        if !fresh {
            return Err(link_refused(
                "this link was already used; ask for a new one",
            ));
        }
    }
    let user = state
        .store
        .link_user(project.id, &format!("app:{}", link.uid))
        .await?;
    sign_in(session, user.id).await?;
    Ok(Redirect::to(&format!("/u/{}/label", project.id)))
}

/// `/u/{pid}?uid=APP_USER_ID&exp=UNIX_TS&sig=HEX[&nonce=N]`: the product's signed-in user
/// arrives as themselves, with no password.
pub async fn signed_entry(
    State(state): State<AppState>,
    session: Session,
    Path(pid): Path<i64>,
    Query(query): Query<SignedQuery>,
) -> Result<Response> {
    let project = state.store.project(pid).await?;
    let link = check_signed(&project, &query)?;
    let own = identity_name(pid, &format!("app:{}", link.uid));
    if let Some(current) = current_user(&state, &session).await? {
        if current.name == own {
            return Ok(Redirect::to(&format!("/u/{pid}/label")).into_response());
        }
        let fields = vec![
            ("uid", link.uid.clone()),
            ("exp", link.exp.to_string()),
            ("sig", query.sig.clone().unwrap_or_default()),
            ("nonce", link.nonce.clone().unwrap_or_default()),
        ];
        let layout = Layout::for_user(&session, current.clone()).await?;
        return switch_page(layout, project, &current, format!("/u/{pid}"), fields);
    }
    Ok(enter_signed(&state, &session, &project, link)
        .await?
        .into_response())
}

/// The answer to the page that asked: switch to the signed link's identity.
pub async fn signed_switch(
    State(state): State<AppState>,
    session: Session,
    Path(pid): Path<i64>,
    Form(form): Form<SwitchForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let project = state.store.project(pid).await?;
    let mut query = form.link;
    query.nonce = query.nonce.filter(|n| !n.is_empty());
    let link = check_signed(&project, &query)?;
    enter_signed(&state, &session, &project, link).await
}

fn open_link_project(project: &Project, token: &str) -> Result<()> {
    if !project.links.open_link || !secrets_match(token, &project.open_token) {
        return Err(AppError::NotFound("no such link".into()));
    }
    Ok(())
}

/// Gives this browser a fresh pseudonymous identity in the project.
async fn enter_open(
    state: &AppState,
    session: &Session,
    ip: std::net::IpAddr,
    pid: i64,
) -> Result<Redirect> {
    state.limits.check_new_identity(ip)?;
    let user = state
        .store
        .link_user(pid, &format!("anon:{}", random_hex(8)))
        .await?;
    sign_in(session, user.id).await?;
    Ok(Redirect::to(&format!("/u/{pid}/label")))
}

/// `/u/{pid}/open/{token}`: anyone with the link rates under a pseudonymous identity; the
/// same browser keeps its identity.
pub async fn open_entry(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    Path((pid, token)): Path<(i64, String)>,
) -> Result<Response> {
    let project = state.store.project(pid).await?;
    open_link_project(&project, &token)?;
    if let Some(current) = current_user(&state, &session).await? {
        if current.scope_project == Some(pid) {
            return Ok(Redirect::to(&format!("/u/{pid}/label")).into_response());
        }
        let layout = Layout::for_user(&session, current.clone()).await?;
        let action = format!("/u/{pid}/open/{token}");
        return switch_page(layout, project, &current, action, Vec::new());
    }
    Ok(enter_open(&state, &session, ip, pid).await?.into_response())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// The answer to the page that asked: switch to a new open-link identity.
pub async fn open_switch(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    Path((pid, token)): Path<(i64, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let project = state.store.project(pid).await?;
    open_link_project(&project, &token)?;
    enter_open(&state, &session, ip, pid).await
}
