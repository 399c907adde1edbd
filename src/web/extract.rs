//! Extractors: who is asking (session or bearer token), with which role, and JSON bodies
//! whose errors use tally's error shape.

use axum::body::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tower_sessions::Session;

use super::csrf::to_app_error;
use super::AppState;
use crate::auth::hash_token;
use crate::domain::gate::{admit_project, may_join};
use crate::domain::project::Project;
use crate::domain::user::{Role, User};
use crate::error::AppError;

/// Session key holding the signed-in user's id.
pub const USER_KEY: &str = "user_id";

/// The signed-in user, from `Authorization: Bearer TOKEN` or the session cookie.
pub struct CurrentUser(pub User);

/// An account made by an admin (an admin or a rater), not one of the product's users who
/// arrived by a link.
pub struct Account(pub User);

impl FromRequestParts<AppState> for Account {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.scope_project.is_some() {
            return Err(AppError::Forbidden(
                "this needs an account made by an admin".into(),
            ));
        }
        Ok(Account(user))
    }
}

/// A signed-in admin; anyone else gets 403.
pub struct Admin(pub User);

/// A signed-in rater; anyone else gets 403.
pub struct Rater(pub User);

/// The signed-in user if there is one, for pages that anyone may see.
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(AppError::Unauthorized)?;
            let user = state
                .store
                .cached_user_by_token_hash(&hash_token(token))
                .await?
                .ok_or(AppError::Unauthorized)?;
            return Ok(CurrentUser(user));
        }
        let session = session_of(parts, state).await?;
        let user_id: Option<i64> = session.get(USER_KEY).await.map_err(to_app_error)?;
        let user = match user_id {
            Some(id) => state.store.cached_signed_in_user(id).await?,
            None => None,
        };
        user.map(CurrentUser).ok_or(AppError::Unauthorized)
    }
}

pub async fn session_of(parts: &mut Parts, state: &AppState) -> Result<Session, AppError> {
    Session::from_request_parts(parts, state)
        .await
        .map_err(|(_, message)| AppError::Internal(anyhow::anyhow!("session layer: {message}")))
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match CurrentUser::from_request_parts(parts, state).await {
            Ok(CurrentUser(user)) => Ok(MaybeUser(Some(user))),
            Err(AppError::Unauthorized) => Ok(MaybeUser(None)),
            Err(e) => Err(e),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        match user.role {
            Role::Admin => Ok(Admin(user)),
            Role::Rater | Role::Reviewer => Err(AppError::Forbidden("this needs an admin".into())),
        }
    }
}

impl FromRequestParts<AppState> for Rater {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        match user.role {
            Role::Rater => Ok(Rater(user)),
            Role::Admin | Role::Reviewer => Err(AppError::Forbidden(
                "only raters label; add a rater account to label items".into(),
            )),
        }
    }
}

/// A rater working on the project named by the path's `{pid}`: the one place that checks a
/// rater may work on that project at all (membership; accounts made by a project's link work
/// on that project only; an archived project takes no rater), so no handler can forget it.
/// The write gate in the store checks the rest, the archiving again inside the write.
pub struct ProjectRater {
    pub project: Project,
    pub rater: User,
}

/// An admin acting on the project named by the path's `{pid}`, which must exist.
pub struct ProjectAdmin {
    pub project: Project,
    pub admin: User,
}

/// Set by `ProjectRater`: the request is a rater's work on a project (next, a label, a skip),
/// which changes none of the rows the store keeps in memory.
#[derive(Clone, Default)]
struct RaterRequest(Arc<AtomicBool>);

/// After a request that may have changed users, tokens, projects or memberships (any write
/// but a rater's work), the store reads its generation again before trusting what it kept,
/// so this process's own changes show on the next request.
pub async fn expire_caches_after_writes(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let write = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let mark = RaterRequest::default();
    request.extensions_mut().insert(mark.clone());
    let response = next.run(request).await;
    if write && !mark.0.load(Ordering::Relaxed) {
        state.store.caches().expire();
    }
    response
}

/// The `{pid}` segment of the matched route.
async fn project_id(parts: &mut Parts, state: &AppState) -> Result<i64, AppError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| AppError::BadRequest(e.body_text()))?;
    let raw = params
        .iter()
        .find(|(key, _)| *key == "pid")
        .map(|(_, value)| value)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("route has no {{pid}}")))?;
    raw.parse()
        .map_err(|_| AppError::BadRequest(format!("{raw:?} is not a project id")))
}

impl FromRequestParts<AppState> for ProjectRater {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Rater(rater) = Rater::from_request_parts(parts, state).await?;
        let pid = project_id(parts, state).await?;
        let membership = state.store.cached_membership(pid, rater.id).await?;
        may_join(pid, rater.scope_project, rater.pool, &membership)?;
        let project = state.store.cached_project(pid).await?;
        admit_project(project.is_archived())?;
        if let Some(mark) = parts.extensions.get::<RaterRequest>() {
            mark.0.store(true, Ordering::Relaxed);
        }
        Ok(ProjectRater { project, rater })
    }
}

impl FromRequestParts<AppState> for ProjectAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Admin(admin) = Admin::from_request_parts(parts, state).await?;
        let pid = project_id(parts, state).await?;
        let project = state.store.cached_project(pid).await?;
        Ok(ProjectAdmin { project, admin })
    }
}

/// Someone who may review the project `{pid}` and set final labels: an admin, a reviewer, or
/// a rater the project names as its reviewer.
pub struct ProjectReviewer {
    pub project: Project,
    pub reviewer: User,
}

impl FromRequestParts<AppState> for ProjectReviewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Account(user) = Account::from_request_parts(parts, state).await?;
        let pid = project_id(parts, state).await?;
        let named = match user.role {
            Role::Admin | Role::Reviewer => true,
            Role::Rater => state.store.is_project_reviewer(pid, user.id).await?,
        };
        if !named {
            return Err(AppError::Forbidden(
                "this needs a reviewer of this project".into(),
            ));
        }
        let project = state.store.cached_project(pid).await?;
        Ok(ProjectReviewer {
            project,
            reviewer: user,
        })
    }
}

/// Someone who may see what the project `{pid}` shows its raters (its uploaded images): a
/// rater who may work on it (paused or not) or review it, a reviewer, or an admin.
pub struct ProjectViewer {
    pub project: Project,
}

impl FromRequestParts<AppState> for ProjectViewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let pid = project_id(parts, state).await?;
        if user.role == Role::Rater {
            let membership = state.store.membership(pid, user.id).await?;
            let joins = may_join(pid, user.scope_project, user.pool, &membership);
            if joins.is_err() && !state.store.is_project_reviewer(pid, user.id).await? {
                joins?;
            }
        }
        let project = state.store.cached_project(pid).await?;
        Ok(ProjectViewer { project })
    }
}

/// The peer address of the request.
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(ClientIp(state.limits.client_ip(parts)))
    }
}

/// A JSON body. Bad JSON is 422 with the line and column, a wrong content type 415.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        if !has_json_content_type(request.headers()) {
            return Err(AppError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            )
            .into_response());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| AppError::invalid("body", e.to_string()).into_response())
    }
}

pub fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

fn has_json_content_type(headers: &HeaderMap) -> bool {
    content_type(headers)
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/json"))
}

/// Content types that a cross-site HTML form cannot send without a CORS preflight.
fn is_preflighted_type(headers: &HeaderMap) -> bool {
    let essence = content_type(headers)
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    matches!(
        essence.as_deref(),
        Some("application/json" | "application/x-ndjson" | "text/csv")
    )
}

/// API calls that change state with only a cookie for credentials must use a content type
/// that other sites' forms cannot send, so a forged cross-site form post is refused.
pub async fn guard_cookie_writes(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let bearer = request.headers().contains_key(header::AUTHORIZATION);
    if safe || bearer || is_preflighted_type(request.headers()) {
        return next.run(request).await;
    }
    let error = AppError::Forbidden(
        "API writes signed in by cookie must send Content-Type: application/json (or use a bearer token)"
            .into(),
    );
    let mut response = error.into_response();
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

/// Where a request came from, for the audit log: the client's address as the rate limits
/// see it (a trusted proxy's `X-Forwarded-For` honoured).
pub struct Origin(pub crate::domain::audit::Source);

impl FromRequestParts<AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        let ip = state.limits.client_ip(parts);
        Ok(Origin(crate::domain::audit::Source::Address(
            ip.to_string(),
        )))
    }
}

impl Origin {
    /// An audit entry made by `actor` from this origin.
    pub fn entry(
        &self,
        actor: &User,
        action: crate::domain::audit::Action,
    ) -> crate::domain::audit::Entry {
        crate::domain::audit::Entry::new(actor.id, action, self.0.clone())
    }
}
