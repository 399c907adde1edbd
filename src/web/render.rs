//! One way to turn an askama template into a response.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use tower_sessions::Session;

use crate::domain::user::User;
use crate::error::AppError;

/// What the shared page frame needs: who is signed in and the form token.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub user: Option<User>,
    pub csrf: String,
    /// The light frame for the product's own users: no navigation, phone-sized.
    pub light: bool,
    /// A one-line message carried over a redirect.
    pub flash: Option<super::flash::Flash>,
}

impl Layout {
    /// The frame for a signed-in user; the product's own users get the light one.
    pub async fn for_user(session: &Session, user: User) -> Result<Layout, AppError> {
        Ok(Layout {
            light: user.scope_project.is_some(),
            csrf: super::csrf::token(session).await?,
            user: Some(user),
            flash: super::flash::take(session).await?,
        })
    }

    /// The frame for a visitor who has not signed in.
    pub async fn anonymous(session: &Session) -> Result<Layout, AppError> {
        Ok(Layout {
            user: None,
            csrf: super::csrf::token(session).await?,
            light: false,
            flash: None,
        })
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_admin())
    }

    /// Whether the signed-in person has the reviewer role (not a rater named a reviewer of
    /// one project: their home page links to what they review).
    pub fn is_reviewer(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| u.role == crate::domain::user::Role::Reviewer)
    }
}

/// Renders a page template to HTML.
pub fn html<T: Template>(template: &T) -> Result<Html<String>, AppError> {
    template.render().map(Html).map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "rendering {}: {e}",
            std::any::type_name::<T>()
        ))
    })
}

/// Renders a page template with a status other than 200.
pub fn html_with_status<T: Template>(status: StatusCode, template: &T) -> Response {
    match html(template) {
        Ok(page) => (status, page).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub reason: String,
    pub message: String,
}

impl ErrorPage {
    pub fn response(status: StatusCode, message: String) -> Response {
        let page = ErrorPage {
            layout: Layout::default(),
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error").to_string(),
            message,
        };
        match page.render() {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, page.message).into_response(),
        }
    }
}

/// An epoch-millisecond time as `YYYY-MM-DD HH:MM UTC` for pages.
pub fn timestamp(ms: &i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(*ms) * 1_000_000) else {
        return ms.to_string();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}
