//! JSON API v1. Auth is the session cookie or `Authorization: Bearer TOKEN`; errors are
//! `{"error": "..."}` with the right status.

mod audit;
mod credentials;
mod export;
mod feedback;
mod items;
mod media;
mod members;
mod openapi;
mod pace;
mod people;
pub use audit::{audit_page, AuditQuery};
pub use export::{start_export, stream_run};
pub use feedback::{source_views, SourceView};
pub use items::{import_bytes, ImportOptions, ImportOutcome};
pub use labelling::{check_duration, checked_label, rater_item, Answer, HISTORY_LENGTH};
pub use openapi::openapi;
pub use people::{new_link, refuse_self};
pub use raters::check_reason;
pub use report::{compute_report, ReportKeeper, ReportQuery};
mod labelling;
pub(crate) mod projects;
mod raters;
mod report;
pub(crate) mod review;
mod webhooks;
pub use webhooks::new_webhook_secret;

use super::extract::guard_cookie_writes;
use super::routes::{Access, Routes};

/// The JSON API, each call with who may make it. Paths are whole (`/api/v1/...`).
pub fn routes() -> Routes {
    use Access::*;
    Routes::default()
        .post("/api/v1/projects", Admin, projects::create_project)
        .get("/api/v1/projects", Admin, projects::list_projects)
        .get("/api/v1/projects/{pid}", Admin, projects::show_project)
        .patch("/api/v1/projects/{pid}", Admin, projects::edit_project)
        // Archive right before restore: the authorization matrix calls them in this order,
        // so the project it archives is restored before any other route is tried.
        .post(
            "/api/v1/projects/{pid}/archive",
            Admin,
            projects::archive_project,
        )
        .post(
            "/api/v1/projects/{pid}/restore",
            Admin,
            projects::restore_project,
        )
        .post(
            "/api/v1/projects/{pid}/clone",
            Admin,
            projects::clone_project,
        )
        .get(
            "/api/v1/projects/{pid}/guidelines",
            Admin,
            projects::guideline_versions,
        )
        .post("/api/v1/projects/{pid}/items", Admin, items::import_items)
        .post("/api/v1/projects/{pid}/media", Admin, media::upload_media)
        .get(
            "/api/v1/projects/{pid}/next",
            ProjectWork,
            labelling::next_item,
        )
        .post(
            "/api/v1/projects/{pid}/items/{iid}/labels",
            ProjectWork,
            labelling::submit_label,
        )
        .put(
            "/api/v1/projects/{pid}/items/{iid}/labels",
            ProjectWork,
            labelling::edit_label,
        )
        .get(
            "/api/v1/projects/{pid}/history",
            ProjectRater,
            labelling::history,
        )
        .post(
            "/api/v1/projects/{pid}/items/{iid}/skip",
            ProjectWork,
            labelling::skip_item,
        )
        .post(
            "/api/v1/projects/{pid}/items/{iid}/report",
            ProjectWork,
            raters::report_item,
        )
        .post(
            "/api/v1/projects/{pid}/items/{iid}/release",
            Admin,
            raters::release_item,
        )
        .get("/api/v1/projects/{pid}/queue", Admin, raters::queue)
        .get("/api/v1/projects/{pid}/rates", Admin, pace::rates)
        .put("/api/v1/projects/{pid}/rates", Admin, pace::set_rates)
        .get("/api/v1/projects/{pid}/pace", Admin, pace::project_pace)
        .get("/api/v1/projects/{pid}/health", Admin, pace::project_health)
        .get(
            "/api/v1/projects/{pid}/review",
            ProjectReviewer,
            review::review_queue,
        )
        .post(
            "/api/v1/projects/{pid}/items/{iid}/adjudication",
            ProjectReviewer,
            review::post_adjudication,
        )
        .get(
            "/api/v1/projects/{pid}/items/{iid}/adjudication",
            ProjectReviewer,
            review::get_adjudication,
        )
        .get("/api/v1/projects/{pid}/reviewers", Admin, review::reviewers)
        .post(
            "/api/v1/projects/{pid}/reviewers",
            Admin,
            review::add_reviewer,
        )
        .delete(
            "/api/v1/projects/{pid}/reviewers/{uid}",
            Admin,
            review::remove_reviewer,
        )
        .get(
            "/api/v1/projects/{pid}/review-settings",
            Admin,
            review::review_settings,
        )
        .put(
            "/api/v1/projects/{pid}/review-settings",
            Admin,
            review::put_review_settings,
        )
        .get("/api/v1/projects/{pid}/members", Admin, members::members)
        .post("/api/v1/projects/{pid}/members", Admin, members::add_member)
        .delete(
            "/api/v1/projects/{pid}/members/{rid}",
            Admin,
            members::remove_member,
        )
        .put(
            "/api/v1/projects/{pid}/member-pools",
            Admin,
            members::set_member_pools,
        )
        .get("/api/v1/projects/{pid}/raters", Admin, raters::raters)
        .post(
            "/api/v1/projects/{pid}/raters/{rid}/unpause",
            Admin,
            raters::unpause,
        )
        .post(
            "/api/v1/projects/{pid}/raters/{rid}/pause",
            Admin,
            raters::pause,
        )
        .get(
            "/api/v1/projects/{pid}/export",
            Admin,
            export::export_project,
        )
        .get(
            "/api/v1/projects/{pid}/exports",
            Admin,
            export::list_versions,
        )
        .get(
            "/api/v1/projects/{pid}/exports/{vid}",
            Admin,
            export::download_version,
        )
        .get(
            "/api/v1/projects/{pid}/exports/{vid}/card",
            Admin,
            export::version_card,
        )
        .get(
            "/api/v1/projects/{pid}/report",
            Admin,
            report::project_report_json,
        )
        .post(
            "/api/v1/projects/{pid}/feedback-keys",
            Admin,
            feedback::create_key,
        )
        .get(
            "/api/v1/projects/{pid}/feedback-keys",
            Admin,
            credentials::feedback_keys,
        )
        .delete(
            "/api/v1/projects/{pid}/feedback-keys/{kid}",
            Admin,
            credentials::revoke_feedback_key,
        )
        .post(
            "/api/v1/projects/{pid}/link-secret",
            Admin,
            credentials::rotate_link_secret,
        )
        .post(
            "/api/v1/projects/{pid}/open-link",
            Admin,
            credentials::rotate_open_link,
        )
        .post(
            "/api/v1/projects/{pid}/feedback",
            FeedbackKey,
            feedback::receive,
        )
        .get("/api/v1/projects/{pid}/sources", Admin, feedback::sources)
        .post(
            "/api/v1/projects/{pid}/sources",
            Admin,
            feedback::configure_source,
        )
        .post(
            "/api/v1/projects/{pid}/webhooks",
            Admin,
            webhooks::create_webhook,
        )
        .get(
            "/api/v1/projects/{pid}/webhooks",
            Admin,
            webhooks::list_webhooks,
        )
        .delete(
            "/api/v1/projects/{pid}/webhooks/{wid}",
            Admin,
            webhooks::delete_webhook,
        )
        .post(
            "/api/v1/projects/{pid}/webhooks/{wid}/test",
            Admin,
            webhooks::test_webhook,
        )
        .get(
            "/api/v1/projects/{pid}/webhooks/{wid}/deliveries",
            Admin,
            webhooks::deliveries,
        )
        .get("/api/v1/tokens", Account, credentials::my_tokens)
        .post("/api/v1/tokens", Account, credentials::issue_my_token)
        .delete(
            "/api/v1/tokens/{tid}",
            Account,
            credentials::revoke_my_token,
        )
        .get(
            "/api/v1/users/{uid}/tokens",
            Admin,
            credentials::user_tokens,
        )
        .post(
            "/api/v1/users/{uid}/tokens",
            Admin,
            credentials::issue_user_token,
        )
        .delete(
            "/api/v1/users/{uid}/tokens/{tid}",
            Admin,
            credentials::revoke_user_token,
        )
        .get("/api/v1/users", Admin, people::list_people)
        .post("/api/v1/users/invitations", Admin, people::invite)
        .patch("/api/v1/users/{uid}", Admin, people::update_person)
        .post(
            "/api/v1/users/{uid}/password-reset",
            Admin,
            people::password_reset,
        )
        .post("/api/v1/users/{uid}/deactivate", Admin, people::deactivate)
        .post("/api/v1/users/{uid}/reactivate", Admin, people::reactivate)
        .post("/api/v1/users/{uid}/erasure", Admin, people::erase)
        .get("/api/v1/audit", Admin, audit::audit_log)
        .get("/api/v1/openapi.json", Public, openapi::openapi_json)
        .layer(axum::middleware::from_fn(guard_cookie_writes))
}
