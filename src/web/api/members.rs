//! Who may work on a project: named raters and whole pools (admin).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use crate::domain::policy::Pool;
use crate::error::{AppError, Result};
use crate::store::members::Members;
use crate::web::error::empty;
use crate::web::extract::{JsonBody, ProjectAdmin};
use crate::web::AppState;

pub async fn members(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<Members>> {
    Ok(Json(state.store.members(project.id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    rater_id: Option<i64>,
    name: Option<String>,
}

/// 204: names a rater (by id or by name) as a member of the project.
pub async fn add_member(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
    JsonBody(body): JsonBody<AddMember>,
) -> Result<Response> {
    let rater_id = match (body.rater_id, body.name) {
        (Some(id), None) => id,
        (None, Some(name)) => {
            state
                .store
                .user_by_name(name.trim())
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no rater named {name:?}")))?
                .id
        }
        _ => {
            return Err(AppError::invalid(
                "body",
                "give either \"rater_id\" or \"name\"",
            ))
        }
    };
    state.store.add_member(project.id, rater_id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn remove_member(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
    Path((_, rid)): Path<(i64, i64)>,
) -> Result<Response> {
    state.store.remove_member(project.id, rid).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberPools {
    pools: Vec<String>,
}

/// 204: the pools whose every rater is a member (an empty list admits none by pool).
pub async fn set_member_pools(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
    JsonBody(body): JsonBody<MemberPools>,
) -> Result<Response> {
    let mut pools = Vec::new();
    for name in &body.pools {
        let pool = Pool::parse(name).map_err(|e| AppError::invalid("pools", e.reason))?;
        if !pools.contains(&pool) {
            pools.push(pool);
        }
    }
    state.store.set_member_pools(project.id, &pools).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
