//! The public page behind a one-time link (`/invite/{token}`): an invited person sets their
//! password, or a person who was sent a reset link chooses a new one. The link works once,
//! for seven days; a used, expired or unknown link gets a page that says which.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::auth::{hash_password_bounded, hash_token};
use crate::domain::people::{LinkPurpose, LinkRefusal};
use crate::domain::user::validate_password;
use crate::error::Result;
use crate::web::csrf;
use crate::web::extract::ClientIp;
use crate::web::render::{html_with_status, timestamp, Layout};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "invite.html")]
struct LinkPage {
    layout: Layout,
    token: String,
    name: String,
    reset: bool,
    expires: String,
    refused: Option<&'static str>,
    done: bool,
    error: Option<String>,
}

fn refused_page(layout: Layout, refusal: LinkRefusal) -> Response {
    let status = match refusal {
        LinkRefusal::Unknown => StatusCode::NOT_FOUND,
        LinkRefusal::Used | LinkRefusal::Expired => StatusCode::GONE,
        LinkRefusal::AccountClosed => StatusCode::FORBIDDEN,
    };
    let page = LinkPage {
        layout,
        token: String::new(),
        name: String::new(),
        reset: false,
        expires: String::new(),
        refused: Some(refusal.message()),
        done: false,
        error: None,
    };
    html_with_status(status, &page)
}

/// A token as links carry it: 64 hex digits. Anything else is no link of ours.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn link_page(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> Result<Response> {
    let layout = Layout::anonymous(&session).await?;
    if !well_formed(&token) {
        return Ok(refused_page(layout, LinkRefusal::Unknown));
    }
    let link = match state.store.password_link(&hash_token(&token)).await? {
        Ok(link) => link,
        Err(refusal) => return Ok(refused_page(layout, refusal)),
    };
    let page = LinkPage {
        layout,
        token,
        name: link.name,
        reset: link.purpose == LinkPurpose::Reset,
        expires: timestamp(&link.expires_at),
        refused: None,
        done: false,
        error: None,
    };
    Ok(html_with_status(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

/// Sets the password: checked, hashed with argon2id, stored; the link is used up and the
/// person's sessions end. Attempts are limited like sign-ins, per address and per link.
pub async fn use_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let layout = Layout::anonymous(&session).await?;
    if !well_formed(&token) {
        return Ok(refused_page(layout, LinkRefusal::Unknown));
    }
    let hash = hash_token(&token);
    state
        .limits
        .check_login(&format!("link:{}", &hash[..16]), ip)?;
    let link = match state.store.password_link(&hash).await? {
        Ok(link) => link,
        Err(refusal) => return Ok(refused_page(layout, refusal)),
    };
    let mut page = LinkPage {
        layout,
        token,
        name: link.name,
        reset: link.purpose == LinkPurpose::Reset,
        expires: timestamp(&link.expires_at),
        refused: None,
        done: false,
        error: None,
    };
    let checked = validate_password(&form.password)
        .map_err(|e| e.reason)
        .and_then(|_| {
            (form.password == form.repeat)
                .then_some(())
                .ok_or_else(|| "the two passwords differ; type the same one twice".to_string())
        });
    if let Err(reason) = checked {
        page.error = Some(format!("Password: {reason}."));
        return Ok(html_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let password_hash = hash_password_bounded(form.password).await?;
    match state.store.use_password_link(&hash, &password_hash).await? {
        Ok(name) => {
            tracing::info!(user = %name, %ip, "password set by a one-time link");
            page.name = name;
            page.done = true;
            Ok(html_with_status(StatusCode::OK, &page))
        }
        Err(refusal) => Ok(refused_page(page.layout, refusal)),
    }
}
