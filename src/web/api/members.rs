//! Who may work on a project: named raters and whole pools (admin).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use crate::domain::audit::Action;
use crate::domain::policy::Pool;
use crate::error::{AppError, Result};
use crate::store::members::Members;
use crate::web::error::empty;
use crate::web::extract::{JsonBody, Origin, ProjectAdmin};
use crate::web::AppState;

use super::openapi::responses::*;

/// Who may work on the project: the pools it admits and the raters it names.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/members",
    tag = "raters",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The project's members", body = Members),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn members(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<Members>> {
    Ok(Json(state.store.members(project.id).await?))
}

/// A rater by id or by name: give one of the two.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    rater_id: Option<i64>,
    name: Option<String>,
}

/// 204: names a rater (by id or by name) as a member of the project.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/members",
    tag = "raters",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    request_body = AddMember,
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The rater is a member"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn add_member(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
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
    let entry = origin.entry(&admin, Action::MemberAdded);
    state.store.add_member(project.id, rater_id, &entry).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// 204: the rater is no longer named by the project.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{pid}/members/{rid}",
    tag = "raters",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("rid" = i64, Path, description = "Rater id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The rater is no longer a member"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    Path((_, rid)): Path<(i64, i64)>,
) -> Result<Response> {
    let entry = origin.entry(&admin, Action::MemberRemoved);
    state.store.remove_member(project.id, rid, &entry).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// The pools (`generalist`, `expert`, `user`) whose raters are all members.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPools {
    pools: Vec<String>,
}

/// 204: the pools whose every rater is a member (an empty list admits none by pool).
#[utoipa::path(
    put,
    path = "/api/v1/projects/{pid}/member-pools",
    tag = "raters",
    params(
        ("pid" = i64, Path, description = "Project id")
    ),
    request_body = MemberPools,
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The pools were set"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn set_member_pools(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    JsonBody(body): JsonBody<MemberPools>,
) -> Result<Response> {
    let mut pools = Vec::new();
    for name in &body.pools {
        let pool = Pool::parse(name).map_err(|e| AppError::invalid("pools", e.reason))?;
        if !pools.contains(&pool) {
            pools.push(pool);
        }
    }
    let entry = origin.entry(&admin, Action::MemberPoolsChanged);
    state
        .store
        .set_member_pools(project.id, &pools, &entry)
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
