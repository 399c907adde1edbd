//! Server-rendered pages. They work with JavaScript off; static/keys.js only adds shortcuts.

pub(crate) mod admin;
mod auth;
mod rate;
mod user_links;

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(rate::home))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/admin", get(admin::projects_page))
        .route("/admin/projects/new", get(admin::new_project_page))
        .route("/admin/projects", post(admin::create_project))
        .route("/admin/projects/{pid}", get(admin::project_page))
        .route("/admin/projects/{pid}/import", post(admin::import_upload))
        .route(
            "/admin/projects/{pid}/raters/{rid}/unpause",
            post(admin::unpause_rater),
        )
        .route(
            "/admin/projects/{pid}/items/{iid}/release",
            post(admin::release_item),
        )
        .route(
            "/admin/projects/{pid}/feedback-keys",
            post(admin::create_feedback_key),
        )
        .route(
            "/admin/users",
            get(admin::users_page).post(admin::create_user),
        )
        .route("/admin/users/{uid}", post(admin::update_pool))
        .route("/admin/users/{uid}/tokens", post(admin::issue_token))
        .route(
            "/admin/users/{uid}/tokens/revoke",
            post(admin::revoke_tokens),
        )
        .route(
            "/admin/projects/{pid}/feedback-keys/{kid}/revoke",
            post(admin::revoke_feedback_key),
        )
        .route("/admin/projects/{pid}/members", post(admin::add_member))
        .route(
            "/admin/projects/{pid}/members/{rid}/remove",
            post(admin::remove_member),
        )
        .route(
            "/admin/projects/{pid}/member-pools",
            post(admin::set_member_pools),
        )
        .route(
            "/admin/projects/{pid}/link-secret",
            post(admin::rotate_link_secret),
        )
        .route(
            "/admin/projects/{pid}/open-link",
            post(admin::rotate_open_link),
        )
        .route("/admin/projects/{pid}/items", get(admin::items_page))
        .route("/admin/projects/{pid}/report", get(admin::report_page))
        .route("/admin/projects/{pid}/items/{iid}", get(admin::item_page))
        .route("/rate/{pid}", get(rate::labelling_page))
        .route("/rate/{pid}/items/{iid}/label", post(rate::submit_label))
        .route("/rate/{pid}/items/{iid}/skip", post(rate::skip_item))
        .route("/rate/{pid}/items/{iid}/report", post(rate::report_item))
        .route(
            "/rate/{pid}/items/{iid}/explained",
            get(rate::explained_page),
        )
        .route(
            "/u/{pid}",
            get(user_links::signed_entry).post(user_links::signed_switch),
        )
        .route(
            "/u/{pid}/open/{token}",
            get(user_links::open_entry).post(user_links::open_switch),
        )
        .route("/u/{pid}/label", get(rate::labelling_page))
}
