//! Secrets that let clients in, and how to revoke and rotate them: API tokens (a user's
//! own, or any user's for an admin), a project's feedback keys, and the secrets behind its
//! signed and open links. Secrets are shown once, when made; only their hashes are kept.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Serialize;

use crate::auth::new_api_token;
use crate::domain::audit::{Action, Entry};
use crate::error::{AppError, Result};
use crate::store::users::Credential;
use crate::web::error::empty;
use crate::web::extract::{Account, Admin, Origin, ProjectAdmin};
use crate::web::AppState;

use super::openapi::responses::*;

/// A new API token, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewToken {
    pub id: i64,
    pub token: String,
}

/// The project's new link secret: links signed with the old one stop working.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewLinkSecret {
    pub link_secret: String,
}

/// The project's new open link: the old one stops working.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewOpenLink {
    pub open_link_url: String,
}

async fn issue_token_for(
    state: &AppState,
    user_id: i64,
    entry: Entry,
) -> Result<(StatusCode, Json<NewToken>)> {
    let (token, hash) = new_api_token();
    let id = state.store.issue_token(user_id, &hash, &entry).await?;
    Ok((StatusCode::CREATED, Json(NewToken { id, token })))
}

async fn revoke_token_of(
    state: &AppState,
    user_id: i64,
    token_id: i64,
    entry: Entry,
) -> Result<Response> {
    if !state.store.delete_token(user_id, token_id, &entry).await? {
        return Err(AppError::not_found("token"));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// The caller's own API tokens.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "credentials",
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The tokens, without their secrets", body = Vec<Credential>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn my_tokens(
    State(state): State<AppState>,
    Account(user): Account,
) -> Result<Json<Vec<Credential>>> {
    Ok(Json(state.store.tokens_of(user.id).await?))
}

/// 201 `{"id", "token"}`: a new token for the caller, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "credentials",
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The new token", body = NewToken),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn issue_my_token(
    State(state): State<AppState>,
    Account(user): Account,
    origin: Origin,
) -> Result<(StatusCode, Json<NewToken>)> {
    let entry = origin.entry(&user, Action::TokenCreated);
    issue_token_for(&state, user.id, entry).await
}

/// 204: the caller's token stops working.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{tid}",
    tag = "credentials",
    params(
        ("tid" = i64, Path, description = "Token id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The token no longer works"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn revoke_my_token(
    State(state): State<AppState>,
    Account(user): Account,
    origin: Origin,
    Path(tid): Path<i64>,
) -> Result<Response> {
    let entry = origin.entry(&user, Action::TokenRevoked);
    revoke_token_of(&state, user.id, tid, entry).await
}

async fn existing_user(state: &AppState, uid: i64) -> Result<()> {
    state
        .store
        .user_by_id(uid)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::not_found("user"))
}

/// A user's API tokens.
#[utoipa::path(
    get,
    path = "/api/v1/users/{uid}/tokens",
    tag = "credentials",
    params(
        ("uid" = i64, Path, description = "User id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The tokens, without their secrets", body = Vec<Credential>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn user_tokens(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(uid): Path<i64>,
) -> Result<Json<Vec<Credential>>> {
    existing_user(&state, uid).await?;
    Ok(Json(state.store.tokens_of(uid).await?))
}

/// 201: a new token for a user, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/users/{uid}/tokens",
    tag = "credentials",
    params(
        ("uid" = i64, Path, description = "User id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The new token", body = NewToken),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn issue_user_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path(uid): Path<i64>,
) -> Result<(StatusCode, Json<NewToken>)> {
    existing_user(&state, uid).await?;
    let entry = origin.entry(&admin, Action::TokenCreated);
    issue_token_for(&state, uid, entry).await
}

/// 204: a user's token stops working.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{uid}/tokens/{tid}",
    tag = "credentials",
    params(
        ("uid" = i64, Path, description = "User id"),
        ("tid" = i64, Path, description = "Token id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The token no longer works"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn revoke_user_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path((uid, tid)): Path<(i64, i64)>,
) -> Result<Response> {
    let entry = origin.entry(&admin, Action::TokenRevoked);
    revoke_token_of(&state, uid, tid, entry).await
}

/// A project's feedback keys, by id and age.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/feedback-keys",
    tag = "credentials",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The keys, without their secrets", body = Vec<Credential>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn feedback_keys(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<Vec<Credential>>> {
    Ok(Json(state.store.feedback_keys(project.id).await?))
}

/// 204: the key stops working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{pid}/feedback-keys/{kid}",
    tag = "credentials",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("kid" = i64, Path, description = "Feedback key id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The key no longer works"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn revoke_feedback_key(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    Path((_, kid)): Path<(i64, i64)>,
) -> Result<Response> {
    let entry = origin.entry(&admin, Action::FeedbackKeyRevoked);
    if !state
        .store
        .delete_feedback_key(project.id, kid, &entry)
        .await?
    {
        return Err(AppError::not_found("feedback key"));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// 201 `{"link_secret"}`: links signed with the old secret stop working.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/link-secret",
    tag = "credentials",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The new secret", body = NewLinkSecret),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn rotate_link_secret(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
) -> Result<(StatusCode, Json<NewLinkSecret>)> {
    let entry = origin.entry(&admin, Action::LinkSecretRotated);
    let secret = state.store.rotate_link_secret(project.id, &entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewLinkSecret {
            link_secret: secret,
        }),
    ))
}

/// 201 `{"open_link_url"}`: the old open link stops working.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/open-link",
    tag = "credentials",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The new open link", body = NewOpenLink),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn rotate_open_link(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
) -> Result<(StatusCode, Json<NewOpenLink>)> {
    let entry = origin.entry(&admin, Action::OpenLinkRotated);
    let token = state.store.rotate_open_token(project.id, &entry).await?;
    let url = format!("/u/{}/open/{token}", project.id);
    Ok((
        StatusCode::CREATED,
        Json(NewOpenLink { open_link_url: url }),
    ))
}
