//! Secrets that let clients in, and how to revoke and rotate them: API tokens (a user's
//! own, or any user's for an admin), a project's feedback keys, and the secrets behind its
//! signed and open links. Secrets are shown once, when made; only their hashes are kept.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use crate::auth::new_api_token;
use crate::error::{AppError, Result};
use crate::store::users::Credential;
use crate::web::error::empty;
use crate::web::extract::{Account, Admin, ProjectAdmin};
use crate::web::AppState;

async fn issue_token_for(state: &AppState, user_id: i64) -> Result<(StatusCode, Json<Value>)> {
    let (token, hash) = new_api_token();
    let id = state.store.insert_token(user_id, &hash).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "token": token}))))
}

async fn revoke_token_of(state: &AppState, user_id: i64, token_id: i64) -> Result<Response> {
    if !state.store.delete_token(user_id, token_id).await? {
        return Err(AppError::not_found("token"));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// The caller's own API tokens.
pub async fn my_tokens(
    State(state): State<AppState>,
    Account(user): Account,
) -> Result<Json<Vec<Credential>>> {
    Ok(Json(state.store.tokens_of(user.id).await?))
}

/// 201 `{"id", "token"}`: a new token for the caller, shown this once.
pub async fn issue_my_token(
    State(state): State<AppState>,
    Account(user): Account,
) -> Result<(StatusCode, Json<Value>)> {
    issue_token_for(&state, user.id).await
}

/// 204: the caller's token stops working.
pub async fn revoke_my_token(
    State(state): State<AppState>,
    Account(user): Account,
    Path(tid): Path<i64>,
) -> Result<Response> {
    revoke_token_of(&state, user.id, tid).await
}

async fn existing_user(state: &AppState, uid: i64) -> Result<()> {
    state
        .store
        .user_by_id(uid)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::not_found("user"))
}

pub async fn user_tokens(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(uid): Path<i64>,
) -> Result<Json<Vec<Credential>>> {
    existing_user(&state, uid).await?;
    Ok(Json(state.store.tokens_of(uid).await?))
}

pub async fn issue_user_token(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(uid): Path<i64>,
) -> Result<(StatusCode, Json<Value>)> {
    existing_user(&state, uid).await?;
    issue_token_for(&state, uid).await
}

pub async fn revoke_user_token(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path((uid, tid)): Path<(i64, i64)>,
) -> Result<Response> {
    revoke_token_of(&state, uid, tid).await
}

/// A project's feedback keys, by id and age.
pub async fn feedback_keys(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<Vec<Credential>>> {
    Ok(Json(state.store.feedback_keys(project.id).await?))
}

/// 204: the key stops working at once.
pub async fn revoke_feedback_key(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
    Path((_, kid)): Path<(i64, i64)>,
) -> Result<Response> {
    if !state.store.delete_feedback_key(project.id, kid).await? {
        return Err(AppError::not_found("feedback key"));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// 201 `{"link_secret"}`: links signed with the old secret stop working.
pub async fn rotate_link_secret(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<(StatusCode, Json<Value>)> {
    let secret = state.store.rotate_link_secret(project.id).await?;
    Ok((StatusCode::CREATED, Json(json!({"link_secret": secret}))))
}

/// 201 `{"open_link_url"}`: the old open link stops working.
pub async fn rotate_open_link(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<(StatusCode, Json<Value>)> {
    let token = state.store.rotate_open_token(project.id).await?;
    let url = format!("/u/{}/open/{token}", project.id);
    Ok((StatusCode::CREATED, Json(json!({"open_link_url": url}))))
}
