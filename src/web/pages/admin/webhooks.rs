//! The project page's webhooks: add one (its secret shown once), remove one, send a test
//! call; the list and the delivery log are part of the page.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use tower_sessions::Session;

use super::operations::CsrfForm;
use super::{project_page_for, Notices};
use crate::domain::audit::Action;
use crate::domain::webhook::{EventKind, WebhookSpec};
use crate::error::{AppError, Result};
use crate::store::webhooks::{Delivery, Webhook};
use crate::web::api::new_webhook_secret;
use crate::web::csrf;
use crate::web::extract::{Admin, Origin};
use crate::web::render::{html, html_with_status};
use crate::web::AppState;

/// Deliveries the project page shows, newest first.
const LOG_LENGTH: i64 = 20;

/// The webhooks section of the project page.
pub(crate) struct WebhooksPanel {
    pub hooks: Vec<Webhook>,
    pub deliveries: Vec<Delivery>,
    /// A webhook's secret, just made: shown this once.
    pub new_secret: Option<String>,
    /// Why the webhook asked for was refused.
    pub error: Option<String>,
}

pub(crate) async fn webhooks_panel(
    state: &AppState,
    pid: i64,
    notices: &Notices,
) -> Result<WebhooksPanel> {
    Ok(WebhooksPanel {
        hooks: state.store.webhooks(pid).await?,
        deliveries: state
            .store
            .webhook_deliveries(pid, None, LOG_LENGTH)
            .await?,
        new_secret: notices.new_webhook_secret.clone(),
        error: notices.webhook_error.clone(),
    })
}

/// The add form, as browsers send it: each event is a checkbox named after it.
fn spec_from_form(form: &HashMap<String, String>) -> Result<WebhookSpec> {
    let text = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or_default();
    let batch_size = match text("batch_size") {
        "" => None,
        n => Some(n.parse::<i64>().map_err(|_| {
            AppError::invalid("batch_size", format!("{n:?} is not a whole number"))
        })?),
    };
    let events = EventKind::SUBSCRIBABLE
        .into_iter()
        .filter(|kind| form.contains_key(kind.as_str()))
        .map(|kind| kind.as_str().to_string())
        .collect();
    Ok(WebhookSpec {
        url: text("url").to_string(),
        events: Some(events),
        batch_size,
    })
}

/// Adds a webhook and shows the page with its secret, once; a refused one shows why (422).
pub async fn add_webhook(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(pid): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response> {
    csrf::verify(
        &session,
        form.get("csrf").map(String::as_str).unwrap_or_default(),
    )
    .await?;
    state.store.project(pid).await?;
    let checked = spec_from_form(&form).and_then(|spec| spec.validate().map_err(AppError::from));
    let notices = match checked {
        Ok(hook) => {
            let secret = new_webhook_secret();
            let entry = origin.entry(&admin, Action::WebhookCreated);
            state
                .store
                .create_webhook(pid, &hook, &secret, &entry)
                .await?;
            Notices {
                new_webhook_secret: Some(secret),
                ..Notices::default()
            }
        }
        Err(e @ AppError::Invalid(_)) => {
            let notices = Notices {
                webhook_error: Some(e.public_message()),
                ..Notices::default()
            };
            let page = project_page_for(&state, &session, admin, pid, notices).await?;
            return Ok(html_with_status(e.status(), &page));
        }
        Err(e) => return Err(e),
    };
    let page = project_page_for(&state, &session, admin, pid, notices).await?;
    Ok(html(&page)?.into_response())
}

pub async fn remove_webhook(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path((pid, wid)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    let entry = origin.entry(&admin, Action::WebhookDeleted);
    if !state.store.delete_webhook(pid, wid, &entry).await? {
        return Err(AppError::not_found("webhook"));
    }
    Ok(Redirect::to(&format!("/admin/projects/{pid}#webhooks")))
}

/// Queues a `ping`; the delivery log on the page shows how it went.
pub async fn test_webhook(
    State(state): State<AppState>,
    Admin(_): Admin,
    session: Session,
    Path((pid, wid)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    state.store.enqueue_ping(pid, wid).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}#webhooks")))
}
