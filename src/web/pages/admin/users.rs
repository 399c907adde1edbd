//! The people: add raters and admins, and move raters between pools.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::policy::Pool;
use crate::domain::user::{split_tags, validate_name, validate_tags, Role, User};
use crate::error::{AppError, Result};
use crate::web::csrf;
use crate::web::extract::Admin;
use crate::web::render::{html, html_with_status, Layout};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<(User, usize)>,
    created: Option<(String, String)>,
    /// A token just issued: whose, and the token, shown this once.
    token: Option<(String, String)>,
    error: Option<String>,
}

async fn users_page_for(
    state: &AppState,
    session: &Session,
    admin: User,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Result<UsersPage> {
    let mut users = Vec::new();
    for user in state.store.users().await? {
        let tokens = state.store.tokens_of(user.id).await?.len();
        users.push((user, tokens));
    }
    Ok(UsersPage {
        layout: Layout::for_user(session, admin).await?,
        users,
        created,
        token: None,
        error,
    })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// Issues an API token for a person and shows it on the page, once.
pub async fn issue_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path(uid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let user = state
        .store
        .user_by_id(uid)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    let (token, hash) = crate::auth::new_api_token();
    state.store.insert_token(uid, &hash).await?;
    let mut page = users_page_for(&state, &session, admin, None, None).await?;
    page.token = Some((user.name, token));
    Ok(html(&page)?.into_response())
}

/// Revokes every API token of a person.
pub async fn revoke_tokens(
    State(state): State<AppState>,
    Admin(_): Admin,
    session: Session,
    Path(uid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    state.store.delete_tokens_of(uid).await?;
    Ok(Redirect::to("/admin/users"))
}

pub async fn users_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
) -> Result<Response> {
    let page = users_page_for(&state, &session, admin, None, None).await?;
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct NewUserForm {
    csrf: String,
    name: String,
    role: String,
    pool: String,
    #[serde(default)]
    expertise: String,
}

/// Adds a user with a generated password, shown on the page once.
pub async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Form(form): Form<NewUserForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let checked = validate_name(form.name.trim())
        .map_err(AppError::from)
        .and_then(|_| form.role.parse::<Role>().map_err(AppError::from))
        .and_then(|role| Ok((role, Pool::parse(&form.pool)?)))
        .and_then(|(role, pool)| {
            let tags = validate_tags("expertise", &split_tags(&form.expertise))?;
            Ok((role, pool, tags))
        });
    let (role, pool, tags) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            let page =
                users_page_for(&state, &session, admin, None, Some(e.public_message())).await?;
            return Ok(html_with_status(e.status(), &page));
        }
    };
    let password = crate::auth::generate_password();
    let hash = crate::auth::hash_password_bounded(password.clone()).await?;
    let created = state
        .store
        .create_user_in_pool(form.name.trim(), role, pool, &tags, Some(&hash))
        .await;
    let page = match created {
        Ok(user) => {
            users_page_for(&state, &session, admin, Some((user.name, password)), None).await?
        }
        Err(e @ AppError::Conflict(_)) => {
            let page =
                users_page_for(&state, &session, admin, None, Some(e.public_message())).await?;
            return Ok(html_with_status(e.status(), &page));
        }
        Err(e) => return Err(e),
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct PoolForm {
    csrf: String,
    pool: String,
    #[serde(default)]
    expertise: String,
}

pub async fn update_pool(
    State(state): State<AppState>,
    Admin(_): Admin,
    session: Session,
    Path(uid): Path<i64>,
    Form(form): Form<PoolForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let pool = Pool::parse(&form.pool)?;
    let tags = validate_tags("expertise", &split_tags(&form.expertise))?;
    state.store.update_user_pool(uid, pool, &tags).await?;
    Ok(Redirect::to("/admin/users"))
}
