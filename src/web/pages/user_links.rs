//! How the product's own users arrive: a signed link carrying their id, or a project's
//! open link that gives each visitor a pseudonymous identity kept in the session cookie.

use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use serde::Deserialize;
use tower_sessions::Session;

use super::auth::sign_in;
use crate::auth::{random_hex, secrets_match};
use crate::domain::links;
use crate::error::{AppError, Result};
use crate::web::csrf::to_app_error;
use crate::web::extract::{ClientIp, USER_KEY};
use crate::web::AppState;

#[derive(Deserialize)]
pub struct SignedQuery {
    uid: Option<String>,
    exp: Option<String>,
    sig: Option<String>,
}

fn link_refused(reason: impl std::fmt::Display) -> AppError {
    AppError::Forbidden(reason.to_string())
}

/// `/u/{pid}?uid=APP_USER_ID&exp=UNIX_TS&sig=HEX`: the product's signed-in user arrives as
/// themselves, with no password.
pub async fn signed_entry(
    State(state): State<AppState>,
    session: Session,
    Path(pid): Path<i64>,
    Query(query): Query<SignedQuery>,
) -> Result<Redirect> {
    let project = state.store.project(pid).await?;
    let (Some(uid), Some(exp), Some(sig)) = (query.uid, query.exp, query.sig) else {
        return Err(link_refused(links::LinkError::Malformed(
            "uid, exp and sig are all needed",
        )));
    };
    let exp: i64 = exp
        .parse()
        .map_err(|_| link_refused(links::LinkError::Malformed("exp must be a Unix time")))?;
    let now_s = crate::domain::now_ms() / 1000;
    links::verify(&project.link_secret, &uid, exp, &sig, now_s).map_err(link_refused)?;
    let user = state.store.link_user(pid, &format!("app:{uid}")).await?;
    sign_in(&session, user.id).await?;
    Ok(Redirect::to(&format!("/u/{pid}/label")))
}

/// `/u/{pid}/open/{token}`: anyone with the link rates under a pseudonymous identity; the
/// same browser keeps its identity.
pub async fn open_entry(
    State(state): State<AppState>,
    session: Session,
    ClientIp(ip): ClientIp,
    Path((pid, token)): Path<(i64, String)>,
) -> Result<Redirect> {
    let project = state.store.project(pid).await?;
    if !project.links.open_link || !secrets_match(&token, &project.open_token) {
        return Err(AppError::NotFound("no such link".into()));
    }
    let current: Option<i64> = session.get(USER_KEY).await.map_err(to_app_error)?;
    if let Some(id) = current {
        if let Some(user) = state.store.user_by_id(id).await? {
            if user.scope_project == Some(pid) {
                return Ok(Redirect::to(&format!("/u/{pid}/label")));
            }
        }
    }
    state.limits.check_new_identity(ip)?;
    let user = state
        .store
        .link_user(pid, &format!("anon:{}", random_hex(8)))
        .await?;
    sign_in(&session, user.id).await?;
    Ok(Redirect::to(&format!("/u/{pid}/label")))
}
