//! The people page: everyone with the figures of their work; add a person with a generated
//! password or invite them by a one-time link; move raters between pools; reset a
//! password; issue and revoke API tokens; deactivate, reactivate and erase. Every change
//! is audited.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::audit::Action;
use crate::domain::people::{duration_text, percent};
use crate::domain::policy::Pool;
use crate::domain::user::{split_tags, validate_name, validate_tags, Role, User};
use crate::error::{AppError, Result};
use crate::store::password_links::NewPerson;
use crate::store::people::{add_people_work, Person};
use crate::web::api::{new_link, refuse_self};
use crate::web::csrf;
use crate::web::extract::{Admin, Origin};
use crate::web::flash::{self, Flash};
use crate::web::render::{html, html_with_status, timestamp, Layout};
use crate::web::AppState;

use super::figures::PageFigures;

/// A secret shown once on the page: whose, what it is, and the secret.
struct Shown {
    name: String,
    what: &'static str,
    secret: String,
    /// The element id the secret is shown in: `new-password`, `new-token`, `new-link`.
    id: &'static str,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    people: Vec<Person>,
    /// Whether the agreement and median times are still being computed (large projects).
    computing: bool,
    roles: Vec<&'static str>,
    pools: Vec<&'static str>,
    shown: Option<Shown>,
    error: Option<String>,
}

impl UsersPage {
    fn percent(&self, share: &Option<f64>) -> String {
        percent(share)
    }

    fn duration(&self, ms: &Option<i64>) -> String {
        duration_text(ms)
    }

    /// Whether a row is the signed-in admin's own: nobody deactivates or erases themselves.
    fn is_me(&self, id: &i64) -> bool {
        self.layout.user.as_ref().is_some_and(|u| u.id == *id)
    }

    fn when(&self, ms: &Option<i64>) -> String {
        ms.as_ref().map_or_else(|| "never".to_string(), timestamp)
    }
}

/// Every role tally knows, for the forms: read from the type, so a new role shows up.
fn role_names() -> Vec<&'static str> {
    use clap::ValueEnum;
    Role::value_variants().iter().map(|r| r.as_str()).collect()
}

async fn users_page_for(
    state: &AppState,
    session: &Session,
    admin: User,
    shown: Option<Shown>,
    error: Option<String>,
) -> Result<UsersPage> {
    let figures = PageFigures::start(&state.store, None).await?;
    let work = figures.spawn(|store| async move { store.people_work().await });
    let mut people = state.store.people_rows().await?;
    let work = work.ready().await?;
    let computing = work.is_none();
    if let Some(work) = work {
        add_people_work(&mut people, work);
    }
    Ok(UsersPage {
        layout: Layout::for_user(session, admin).await?,
        people,
        computing,
        roles: role_names(),
        pools: Pool::ALL.iter().map(|p| p.as_str()).collect(),
        shown,
        error,
    })
}

/// The page with a secret shown once.
async fn show_secret(
    state: &AppState,
    session: &Session,
    admin: User,
    shown: Shown,
) -> Result<Response> {
    let page = users_page_for(state, session, admin, Some(shown), None).await?;
    Ok(html(&page)?.into_response())
}

/// The page again with a refusal the admin can fix (a taken name, a bad tag), or the error
/// page for anything else.
async fn refuse_on_page(
    state: &AppState,
    session: &Session,
    admin: User,
    error: AppError,
) -> Result<Response> {
    match error {
        AppError::Invalid(_) | AppError::Conflict(_) => {
            let page =
                users_page_for(state, session, admin, None, Some(error.public_message())).await?;
            Ok(html_with_status(error.status(), &page))
        }
        other => Err(other),
    }
}

/// The link as a whole URL on the host the admin reached, to paste into a message.
fn absolute(state: &AppState, headers: &HeaderMap, path: &str) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match host {
        Some(host) if !host.is_empty() => {
            let scheme = if state.config.secure_cookies {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}{path}")
        }
        _ => path.to_string(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
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

impl NewUserForm {
    fn person(&self) -> Result<NewPerson> {
        let name = self.name.trim().to_string();
        validate_name(&name)?;
        Ok(NewPerson {
            name,
            role: self.role.parse::<Role>()?,
            pool: Pool::parse(&self.pool)?,
            expertise: validate_tags("expertise", &split_tags(&self.expertise))?,
        })
    }
}

/// Adds a person with a generated password, shown on the page once.
pub async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Form(form): Form<NewUserForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let person = match form.person() {
        Ok(person) => person,
        Err(e) => return refuse_on_page(&state, &session, admin, e).await,
    };
    let password = crate::auth::generate_password();
    let hash = crate::auth::hash_password_bounded(password.clone()).await?;
    let entry = origin.entry(&admin, Action::UserCreated);
    match state.store.add_person(&person, Some(&hash), &entry).await {
        Ok(user) => {
            let shown = Shown {
                name: user.name,
                what: "password",
                secret: password,
                id: "new-password",
            };
            show_secret(&state, &session, admin, shown).await
        }
        Err(e) => refuse_on_page(&state, &session, admin, e).await,
    }
}

/// Invites a person: they get a one-time link (shown here once) to set their password.
pub async fn invite_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<NewUserForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let person = match form.person() {
        Ok(person) => person,
        Err(e) => return refuse_on_page(&state, &session, admin, e).await,
    };
    let (link, hash) = new_link();
    let entry = origin.entry(&admin, Action::UserInvited);
    match state.store.invite_person(&person, &hash, &entry).await {
        Ok((user, _)) => {
            let shown = Shown {
                name: user.name,
                what: "invitation link (works once, for 7 days)",
                secret: absolute(&state, &headers, &link),
                id: "new-link",
            };
            show_secret(&state, &session, admin, shown).await
        }
        Err(e) => refuse_on_page(&state, &session, admin, e).await,
    }
}

/// A one-time link for the person to choose a new password, shown here once.
pub async fn reset_password(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    headers: HeaderMap,
    Path(uid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let person = state.store.person(uid).await?;
    let (link, hash) = new_link();
    let entry = origin.entry(&admin, Action::PasswordReset);
    if let Err(e) = state.store.reset_link(uid, &hash, &entry).await {
        return refuse_on_page(&state, &session, admin, e).await;
    }
    let shown = Shown {
        name: person.name,
        what:
            "password reset link (works once, for 7 days; the old password works until it is used)",
        secret: absolute(&state, &headers, &link),
        id: "new-link",
    };
    show_secret(&state, &session, admin, shown).await
}

/// Issues an API token for a person and shows it on the page, once.
pub async fn issue_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
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
    let entry = origin.entry(&admin, Action::TokenCreated);
    state.store.issue_token(uid, &hash, &entry).await?;
    let shown = Shown {
        name: user.name,
        what: "API token",
        secret: token,
        id: "new-token",
    };
    show_secret(&state, &session, admin, shown).await
}

/// Revokes every API token of a person.
pub async fn revoke_tokens(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(uid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::TokenRevoked);
    state.store.revoke_tokens_of(uid, &entry).await?;
    Ok(Redirect::to("/admin/users"))
}

#[derive(Deserialize)]
pub struct PoolForm {
    csrf: String,
    pool: String,
    #[serde(default)]
    expertise: String,
}

/// Moves a rater to another pool with new expertise tags.
pub async fn update_pool(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(uid): Path<i64>,
    Form(form): Form<PoolForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let checked = Pool::parse(&form.pool)
        .map_err(AppError::from)
        .and_then(|pool| {
            Ok((
                pool,
                validate_tags("expertise", &split_tags(&form.expertise))?,
            ))
        });
    let (pool, tags) = match checked {
        Ok(ok) => ok,
        Err(e) => return refuse_on_page(&state, &session, admin, e).await,
    };
    let entry = origin.entry(&admin, Action::UserUpdated);
    state.store.update_person(uid, pool, &tags, &entry).await?;
    Ok(Redirect::to(&format!("/admin/users#user-{uid}")).into_response())
}

async fn done(session: &Session, text: String) -> Result<Redirect> {
    flash::set(
        session,
        Flash {
            text,
            ok: true,
            undo: None,
        },
    )
    .await?;
    Ok(Redirect::to("/admin/users"))
}

/// Deactivates a person: no sign-in, no sessions or tokens, no items; labels stay.
pub async fn deactivate_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(uid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    refuse_self(&admin, uid, "deactivate")?;
    let person = state.store.person(uid).await?;
    let entry = origin.entry(&admin, Action::UserDeactivated);
    state.store.deactivate_user(uid, &entry).await?;
    done(
        &session,
        format!(
            "{} is deactivated: signed out everywhere, API tokens revoked.",
            person.name
        ),
    )
    .await
}

pub async fn reactivate_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(uid): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let person = state.store.person(uid).await?;
    let entry = origin.entry(&admin, Action::UserReactivated);
    state.store.reactivate_user(uid, &entry).await?;
    done(&session, format!("{} may sign in again.", person.name)).await
}

#[derive(Template)]
#[template(path = "admin/erase.html")]
struct ErasePage {
    layout: Layout,
    person: Person,
}

/// What an erasure does, and the button that does it.
pub async fn erase_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path(uid): Path<i64>,
) -> Result<Response> {
    refuse_self(&admin, uid, "erase")?;
    let person = state.store.person(uid).await?;
    let page = ErasePage {
        layout: Layout::for_user(&session, admin).await?,
        person,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct EraseForm {
    csrf: String,
    /// The person's name typed again, so an erasure is never a slip of the mouse.
    #[serde(default)]
    confirm: String,
}

/// Erases a person's personal data; their labels stay under the pseudonym.
pub async fn erase_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(uid): Path<i64>,
    Form(form): Form<EraseForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    refuse_self(&admin, uid, "erase")?;
    let person = state.store.person(uid).await?;
    if form.confirm.trim() != person.name {
        return Err(AppError::invalid(
            "confirm",
            format!("type the name {:?} to confirm the erasure", person.name),
        ));
    }
    let entry = origin.entry(&admin, Action::UserErased);
    let pseudonym = state.store.erase_user(uid, &entry).await?;
    done(
        &session,
        format!(
            "Erased the personal data of {}: the account is now {pseudonym}, cannot sign in, and its labels stay under that pseudonym.",
            person.name
        ),
    )
    .await
}
