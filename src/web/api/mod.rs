//! JSON API v1. Auth is the session cookie or `Authorization: Bearer TOKEN`; errors are
//! `{"error": "..."}` with the right status.

mod credentials;
mod export;
mod feedback;
mod items;
mod members;
pub use feedback::{source_views, SourceView};
pub use items::import_bytes;
pub use labelling::check_duration;
pub use raters::check_reason;
pub use report::{compute_report, ReportQuery};
mod labelling;
mod projects;
mod raters;
mod report;

use axum::routing::{delete, get, post};
use axum::Router;

use super::extract::guard_cookie_writes;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/projects",
            post(projects::create_project).get(projects::list_projects),
        )
        .route("/projects/{pid}", get(projects::show_project))
        .route("/projects/{pid}/items", post(items::import_items))
        .route("/projects/{pid}/next", get(labelling::next_item))
        .route(
            "/projects/{pid}/items/{iid}/labels",
            post(labelling::submit_label),
        )
        .route(
            "/projects/{pid}/items/{iid}/skip",
            post(labelling::skip_item),
        )
        .route(
            "/projects/{pid}/items/{iid}/report",
            post(raters::report_item),
        )
        .route(
            "/projects/{pid}/items/{iid}/release",
            post(raters::release_item),
        )
        .route("/projects/{pid}/queue", get(raters::queue))
        .route(
            "/projects/{pid}/members",
            get(members::members).post(members::add_member),
        )
        .route(
            "/projects/{pid}/members/{rid}",
            delete(members::remove_member),
        )
        .route(
            "/projects/{pid}/member-pools",
            axum::routing::put(members::set_member_pools),
        )
        .route("/projects/{pid}/raters", get(raters::raters))
        .route(
            "/projects/{pid}/raters/{rid}/unpause",
            post(raters::unpause),
        )
        .route("/projects/{pid}/raters/{rid}/pause", post(raters::pause))
        .route("/projects/{pid}/export", get(export::export_project))
        .route("/projects/{pid}/report", get(report::project_report_json))
        .route(
            "/projects/{pid}/feedback-keys",
            post(feedback::create_key).get(credentials::feedback_keys),
        )
        .route(
            "/projects/{pid}/feedback-keys/{kid}",
            delete(credentials::revoke_feedback_key),
        )
        .route(
            "/projects/{pid}/link-secret",
            post(credentials::rotate_link_secret),
        )
        .route(
            "/projects/{pid}/open-link",
            post(credentials::rotate_open_link),
        )
        .route(
            "/tokens",
            get(credentials::my_tokens).post(credentials::issue_my_token),
        )
        .route("/tokens/{tid}", delete(credentials::revoke_my_token))
        .route(
            "/users/{uid}/tokens",
            get(credentials::user_tokens).post(credentials::issue_user_token),
        )
        .route(
            "/users/{uid}/tokens/{tid}",
            delete(credentials::revoke_user_token),
        )
        .route("/projects/{pid}/feedback", post(feedback::receive))
        .route(
            "/projects/{pid}/sources",
            get(feedback::sources).post(feedback::configure_source),
        )
        .layer(axum::middleware::from_fn(guard_cookie_writes))
}
