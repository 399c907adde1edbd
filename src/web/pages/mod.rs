//! Server-rendered pages. They work with JavaScript off; static/keys.js only adds shortcuts.

pub(crate) mod admin;
mod auth;
mod password_link;
mod rate;
mod review;
mod user_links;

use super::routes::{Access, Routes};

/// The pages, each with who may open it.
pub fn routes() -> Routes {
    use Access::*;
    Routes::default()
        .get("/", SignedIn, rate::home)
        .get("/login", Public, auth::login_page)
        .post("/login", Public, auth::login)
        .post("/logout", Public, auth::logout)
        .get("/review", Account, review::home)
        .get(
            "/review/projects/{pid}",
            ProjectReviewer,
            review::queue_page,
        )
        .get(
            "/review/projects/{pid}/items/{iid}",
            ProjectReviewer,
            review::item_page,
        )
        .post(
            "/review/projects/{pid}/items/{iid}",
            ProjectReviewer,
            review::submit_final_label,
        )
        .post(
            "/admin/projects/{pid}/reviewers",
            Admin,
            admin::add_reviewer,
        )
        .post(
            "/admin/projects/{pid}/reviewers/{uid}/remove",
            Admin,
            admin::remove_reviewer,
        )
        .post(
            "/admin/projects/{pid}/review-settings",
            Admin,
            admin::set_review_settings,
        )
        .get("/admin", Admin, admin::projects_page)
        .get("/admin/projects/new", Admin, admin::new_project_page)
        .post("/admin/projects", Admin, admin::create_project)
        .get("/admin/projects/{pid}", Admin, admin::project_page)
        .get(
            "/admin/projects/{pid}/settings",
            Admin,
            admin::settings_page,
        )
        .post(
            "/admin/projects/{pid}/settings",
            Admin,
            admin::save_settings,
        )
        // Archive right before restore, as in the API's table (see there).
        .post(
            "/admin/projects/{pid}/archive",
            Admin,
            admin::archive_project,
        )
        .post(
            "/admin/projects/{pid}/restore",
            Admin,
            admin::restore_project,
        )
        .post("/admin/projects/{pid}/clone", Admin, admin::clone_project)
        .post("/admin/projects/{pid}/import", Admin, admin::import_upload)
        .post("/admin/projects/{pid}/export", Admin, admin::export_form)
        .post(
            "/admin/projects/{pid}/import/{token}/confirm",
            Admin,
            admin::confirm_import,
        )
        .post(
            "/admin/projects/{pid}/import/{token}/cancel",
            Admin,
            admin::cancel_import,
        )
        .post(
            "/admin/projects/{pid}/raters/{rid}/unpause",
            Admin,
            admin::unpause_rater,
        )
        .post(
            "/admin/projects/{pid}/raters/{rid}/pause",
            Admin,
            admin::pause_rater,
        )
        .post(
            "/admin/projects/{pid}/items/{iid}/release",
            Admin,
            admin::release_item,
        )
        .post(
            "/admin/projects/{pid}/feedback-keys",
            Admin,
            admin::create_feedback_key,
        )
        .post(
            "/admin/projects/{pid}/feedback-keys/{kid}/revoke",
            Admin,
            admin::revoke_feedback_key,
        )
        .post("/admin/projects/{pid}/members", Admin, admin::add_member)
        .post(
            "/admin/projects/{pid}/members/{rid}/remove",
            Admin,
            admin::remove_member,
        )
        .post(
            "/admin/projects/{pid}/member-pools",
            Admin,
            admin::set_member_pools,
        )
        .post(
            "/admin/projects/{pid}/link-secret",
            Admin,
            admin::rotate_link_secret,
        )
        .post(
            "/admin/projects/{pid}/open-link",
            Admin,
            admin::rotate_open_link,
        )
        .post("/admin/projects/{pid}/webhooks", Admin, admin::add_webhook)
        .post(
            "/admin/projects/{pid}/webhooks/{wid}/remove",
            Admin,
            admin::remove_webhook,
        )
        .post(
            "/admin/projects/{pid}/webhooks/{wid}/test",
            Admin,
            admin::test_webhook,
        )
        .get("/admin/projects/{pid}/items", Admin, admin::items_page)
        .get("/admin/projects/{pid}/items/{iid}", Admin, admin::item_page)
        .get("/admin/projects/{pid}/report", Admin, admin::report_page)
        .get("/admin/projects/{pid}/health", Admin, admin::health_page)
        .post("/admin/projects/{pid}/rates", Admin, admin::set_rates)
        .get("/admin/users", Admin, admin::users_page)
        .post("/admin/users", Admin, admin::create_user)
        .post("/admin/users/invitations", Admin, admin::invite_user)
        .post("/admin/users/{uid}", Admin, admin::update_pool)
        .post(
            "/admin/users/{uid}/password-reset",
            Admin,
            admin::reset_password,
        )
        .post(
            "/admin/users/{uid}/deactivate",
            Admin,
            admin::deactivate_user,
        )
        .post(
            "/admin/users/{uid}/reactivate",
            Admin,
            admin::reactivate_user,
        )
        .get("/admin/users/{uid}/erase", Admin, admin::erase_page)
        .post("/admin/users/{uid}/erase", Admin, admin::erase_user)
        .get("/admin/audit", Admin, admin::audit_page)
        .get("/invite/{token}", Public, password_link::link_page)
        .post("/invite/{token}", Public, password_link::use_link)
        .post("/admin/users/{uid}/tokens", Admin, admin::issue_token)
        .post(
            "/admin/users/{uid}/tokens/revoke",
            Admin,
            admin::revoke_tokens,
        )
        .get("/rate/{pid}", ProjectWork, rate::labelling_page)
        .get("/rate/{pid}/items/{iid}", ProjectRater, rate::item_page)
        .get("/rate/{pid}/history", ProjectRater, rate::history_page)
        .post(
            "/rate/{pid}/items/{iid}/edit",
            ProjectWork,
            rate::edit_label,
        )
        .post(
            "/rate/{pid}/items/{iid}/label",
            ProjectWork,
            rate::submit_label,
        )
        .post("/rate/{pid}/items/{iid}/skip", ProjectWork, rate::skip_item)
        .post(
            "/rate/{pid}/items/{iid}/report",
            ProjectWork,
            rate::report_item,
        )
        .get(
            "/rate/{pid}/items/{iid}/explained",
            ProjectRater,
            rate::explained_page,
        )
        .get("/u/{pid}", Public, user_links::signed_entry)
        .post("/u/{pid}", Public, user_links::signed_switch)
        .get("/u/{pid}/open/{token}", Public, user_links::open_entry)
        .post("/u/{pid}/open/{token}", Public, user_links::open_switch)
        .get("/u/{pid}/label", ProjectWork, rate::labelling_page)
}
