//! People: the list with each person's figures, invitations and password resets by
//! one-time link, pool and expertise, deactivation and erasure. Every change is audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::openapi::responses::*;
use crate::domain::audit::Action;
use crate::domain::policy::Pool;
use crate::domain::user::{validate_name, validate_tags, Role};
use crate::error::{AppError, Result};
use crate::store::password_links::NewPerson;
use crate::store::people::Person;
use crate::web::error::empty;
use crate::web::extract::{Admin, JsonBody, Origin};
use crate::web::AppState;

/// Everyone with an account made by an admin, with the figures of their work across
/// projects.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "people",
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The people", body = Vec<Person>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn list_people(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> Result<Json<Vec<Person>>> {
    Ok(Json(state.store.people().await?))
}

/// A person to invite: they set their own password through the link.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invitation {
    name: String,
    /// `admin`, `rater`, or another role tally knows.
    role: String,
    /// `generalist` (the default), `expert` or `user`.
    pool: Option<String>,
    #[serde(default)]
    expertise: Vec<String>,
}

impl Invitation {
    fn person(self) -> Result<NewPerson> {
        let name = self.name.trim().to_string();
        validate_name(&name)?;
        Ok(NewPerson {
            name,
            role: self.role.parse::<Role>()?,
            pool: Pool::parse(self.pool.as_deref().unwrap_or("generalist"))?,
            expertise: validate_tags("expertise", &self.expertise)?,
        })
    }
}

/// A one-time link, shown this once: only its hash is kept.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OneTimeLink {
    pub user_id: i64,
    /// The path to open on this server, `/invite/TOKEN`.
    pub link: String,
    /// Epoch milliseconds; the link works until then, once.
    pub expires_at: i64,
}

/// 201: invites a person; the answer holds the link that sets their password, shown once.
#[utoipa::path(
    post,
    path = "/api/v1/users/invitations",
    tag = "people",
    request_body = Invitation,
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The person was added; the link sets their password", body = OneTimeLink),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn invite(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    JsonBody(body): JsonBody<Invitation>,
) -> Result<(StatusCode, Json<OneTimeLink>)> {
    let person = body.person()?;
    let (link, hash) = new_link();
    let entry = origin.entry(&admin, Action::UserInvited);
    let (user, expires_at) = state.store.invite_person(&person, &hash, &entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(OneTimeLink {
            user_id: user.id,
            link,
            expires_at,
        }),
    ))
}

/// 201: a one-time link for the person to choose a new password; the old password works
/// until then, and their sessions end when it is used.
#[utoipa::path(
    post,
    path = "/api/v1/users/{uid}/password-reset",
    tag = "people",
    params(("uid" = i64, Path, description = "User id")),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The link, shown once", body = OneTimeLink),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn password_reset(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path(uid): Path<i64>,
) -> Result<(StatusCode, Json<OneTimeLink>)> {
    let (link, hash) = new_link();
    let entry = origin.entry(&admin, Action::PasswordReset);
    let expires_at = state.store.reset_link(uid, &hash, &entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(OneTimeLink {
            user_id: uid,
            link,
            expires_at,
        }),
    ))
}

/// What to change about a person: their pool and expertise tags.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonChange {
    /// `generalist`, `expert` or `user`.
    pool: Option<String>,
    expertise: Option<Vec<String>>,
}

/// 200: moves a person to another pool or gives them other expertise tags.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{uid}",
    tag = "people",
    params(("uid" = i64, Path, description = "User id")),
    request_body = PersonChange,
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The person as they are now (figures that need every label are left empty)", body = Person),
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
pub async fn update_person(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path(uid): Path<i64>,
    JsonBody(change): JsonBody<PersonChange>,
) -> Result<Json<Person>> {
    let current = state.store.person(uid).await?;
    let pool = match change.pool.as_deref() {
        Some(name) => Pool::parse(name)?,
        None => Pool::parse(&current.pool)?,
    };
    let expertise = match &change.expertise {
        Some(tags) => validate_tags("expertise", tags)?,
        None => current.expertise,
    };
    let entry = origin.entry(&admin, Action::UserUpdated);
    state
        .store
        .update_person(uid, pool, &expertise, &entry)
        .await?;
    Ok(Json(state.store.person(uid).await?))
}

/// 204: the person can no longer sign in; their sessions and tokens end, the items they
/// hold return to the queue, and their labels stay.
#[utoipa::path(
    post,
    path = "/api/v1/users/{uid}/deactivate",
    tag = "people",
    params(("uid" = i64, Path, description = "User id")),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "Deactivated"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn deactivate(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path(uid): Path<i64>,
) -> Result<Response> {
    refuse_self(&admin, uid, "deactivate")?;
    let entry = origin.entry(&admin, Action::UserDeactivated);
    state.store.deactivate_user(uid, &entry).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// 204: a deactivated person may sign in again (API tokens were revoked for good).
#[utoipa::path(
    post,
    path = "/api/v1/users/{uid}/reactivate",
    tag = "people",
    params(("uid" = i64, Path, description = "User id")),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "Reactivated"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn reactivate(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path(uid): Path<i64>,
) -> Result<Response> {
    let entry = origin.entry(&admin, Action::UserReactivated);
    state.store.reactivate_user(uid, &entry).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// What is left of an erased person: their id and the pseudonym their labels keep.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub id: i64,
    pub pseudonym: String,
}

/// 200: erases a person's personal data (a data-protection request): the name becomes the
/// pseudonym; the password, tokens, sessions and links go; the account never signs in
/// again. Labels stay under the pseudonym.
#[utoipa::path(
    post,
    path = "/api/v1/users/{uid}/erasure",
    tag = "people",
    params(("uid" = i64, Path, description = "User id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "Erased", body = Erased),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn erase(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path(uid): Path<i64>,
) -> Result<Json<Erased>> {
    refuse_self(&admin, uid, "erase")?;
    let entry = origin.entry(&admin, Action::UserErased);
    let pseudonym = state.store.erase_user(uid, &entry).await?;
    Ok(Json(Erased { id: uid, pseudonym }))
}

/// The link to set a password, as a path on this server, and the hash to store.
pub fn new_link() -> (String, String) {
    let (token, hash) = crate::auth::new_link_token();
    (format!("/invite/{token}"), hash)
}

/// An admin may not lock themselves out.
pub fn refuse_self(admin: &crate::domain::user::User, uid: i64, verb: &str) -> Result<()> {
    if admin.id == uid {
        return Err(AppError::Conflict(format!(
            "you cannot {verb} your own account; ask another admin"
        )));
    }
    Ok(())
}
