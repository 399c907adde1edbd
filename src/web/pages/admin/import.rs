//! The browser's import: upload, then a preview of what the check found, then the admin's
//! choice: import all, import without the flagged rows, or cancel and fix the file. The
//! upload waits in the database between the two steps (`store::pending_imports`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::{project_page_for, Notices};
use crate::domain::audit::Action;
use crate::domain::import::Format;
use crate::domain::import_check::{Findings, Skip};
use crate::domain::project::Project;
use crate::domain::user::User;
use crate::error::{AppError, Result};
use crate::web::api::{import_bytes, ImportOptions, ImportOutcome};
use crate::web::csrf;
use crate::web::extract::{Admin, Origin};
use crate::web::render::{html, html_with_status, Layout};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "admin/import_preview.html")]
struct PreviewPage {
    layout: Layout,
    project: Project,
    file_name: String,
    token: String,
    findings: Findings,
}

/// Step one: the upload is checked (nothing stored but the upload itself, kept for the
/// confirmation) and the findings shown.
pub async fn import_upload(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(pid): Path<i64>,
    multipart: Multipart,
) -> Result<Response> {
    let project = state.store.project(pid).await?;
    let upload = read_upload(multipart).await?;
    csrf::verify(&session, &upload.csrf).await?;
    let checked = match upload_format(&upload.file_name) {
        Ok(format) => {
            let options = ImportOptions {
                dry_run: true,
                skip: Skip::default(),
            };
            let entry = origin.entry(&admin, Action::ItemsImported);
            import_bytes(
                &state,
                &project,
                upload.bytes.clone(),
                format,
                &options,
                &entry,
            )
            .await
        }
        Err(e) => Err(e),
    };
    let findings = match checked {
        Ok(ImportOutcome::Checked(findings)) => *findings,
        Ok(ImportOutcome::Imported(_)) => {
            return Err(AppError::Internal(anyhow::anyhow!("a dry run imported")))
        }
        Err(e) => return error_on_project_page(&state, &session, admin, pid, e).await,
    };
    let token = state
        .store
        .insert_pending_import(pid, admin.id, &upload.file_name, &upload.bytes)
        .await?;
    let page = PreviewPage {
        layout: Layout::for_user(&session, admin).await?,
        project,
        file_name: upload.file_name,
        token,
        findings,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    /// Empty to import every row, `flagged` to leave out the rows the check flagged.
    #[serde(default)]
    skip: String,
}

/// Step two: the upload kept at step one is imported (all of it, or without the flagged
/// rows) and forgotten.
pub async fn confirm_import(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path((pid, token)): Path<(i64, String)>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let project = state.store.project(pid).await?;
    let pending = state
        .store
        .pending_import(&token, pid, admin.id)
        .await?
        .ok_or_else(|| {
            AppError::not_found("upload (it may have expired: upload the file again)")
        })?;
    let options = ImportOptions {
        dry_run: false,
        skip: Skip::parse(&form.skip)?,
    };
    let format = upload_format(&pending.file_name)?;
    let entry = origin.entry(&admin, Action::ItemsImported);
    let outcome = import_bytes(
        &state,
        &project,
        Bytes::from(pending.body),
        format,
        &options,
        &entry,
    )
    .await;
    state.store.delete_pending_import(&token, admin.id).await?;
    match outcome {
        Ok(ImportOutcome::Imported(done)) => Ok(Redirect::to(&format!(
            "/admin/projects/{pid}?imported={}&skipped={}",
            done.imported, done.skipped
        ))
        .into_response()),
        Ok(ImportOutcome::Checked(_)) => Err(AppError::Internal(anyhow::anyhow!(
            "an import only checked"
        ))),
        Err(e) => error_on_project_page(&state, &session, admin, pid, e).await,
    }
}

#[derive(Deserialize)]
pub struct CancelForm {
    csrf: String,
}

/// Step two, the other way: the upload is forgotten and nothing is imported.
pub async fn cancel_import(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path((pid, token)): Path<(i64, String)>,
    Form(form): Form<CancelForm>,
) -> Result<Redirect> {
    csrf::verify(&session, &form.csrf).await?;
    state.store.delete_pending_import(&token, admin.id).await?;
    Ok(Redirect::to(&format!("/admin/projects/{pid}")))
}

/// The format a file's name tells; a zip holds its own items file.
fn upload_format(file_name: &str) -> Result<Format> {
    let is_zip = file_name.to_ascii_lowercase().ends_with(".zip");
    Format::from_file_name(file_name)
        .or_else(|| is_zip.then_some(Format::JsonArray))
        .ok_or_else(|| {
            AppError::invalid(
                "file",
                format!("{file_name:?} is not a .csv, .jsonl, .ndjson, .json or .zip file"),
            )
        })
}

/// A refused import shown on the project page with the reason; internal errors go up.
async fn error_on_project_page(
    state: &AppState,
    session: &Session,
    admin: User,
    pid: i64,
    e: AppError,
) -> Result<Response> {
    if let AppError::Internal(_) = e {
        return Err(e);
    }
    let status = e.status();
    let notices = Notices {
        import_error: Some(e.public_message()),
        ..Notices::default()
    };
    let page = project_page_for(state, session, admin, pid, notices).await?;
    Ok(html_with_status(status, &page))
}

struct Upload {
    csrf: String,
    file_name: String,
    bytes: Bytes,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload> {
    let mut upload = Upload {
        csrf: String::new(),
        file_name: String::new(),
        bytes: Bytes::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("csrf") => upload.csrf = field.text().await.map_err(multipart_error)?,
            Some("file") => {
                upload.file_name = field.file_name().unwrap_or_default().to_string();
                upload.bytes = field.bytes().await.map_err(multipart_error)?;
            }
            _ => {}
        }
    }
    if upload.file_name.is_empty() {
        return Err(AppError::invalid("file", "choose a file to upload"));
    }
    Ok(upload)
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge("the upload is larger than this server accepts".into())
    } else {
        AppError::BadRequest(format!("bad upload: {}", e.body_text()))
    }
}
