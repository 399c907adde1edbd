use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::import::Format;
use crate::domain::project::{NewProject, Progress, Project, DEFAULT_LEASE_SECONDS};
use crate::domain::user::User;
use crate::error::{AppError, Result};
use crate::store::projects::ProjectSummary;
use crate::web::api::import_bytes;
use crate::web::csrf;
use crate::web::extract::Admin;
use crate::web::render::{html, html_with_status, Layout};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "admin/projects.html")]
struct ProjectsPage {
    layout: Layout,
    projects: Vec<ProjectSummary>,
}

pub async fn projects_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
) -> Result<Response> {
    let page = ProjectsPage {
        layout: Layout::for_user(&session, admin).await?,
        projects: state.store.project_summaries().await?,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "admin/new_project.html")]
struct NewProjectPage {
    layout: Layout,
    form: ProjectForm,
    error: Option<String>,
}

#[derive(Deserialize, Clone)]
pub struct ProjectForm {
    #[serde(default)]
    csrf: String,
    name: String,
    labels: String,
    overlap: String,
    instructions: String,
    lease_minutes: String,
}

impl Default for ProjectForm {
    fn default() -> Self {
        ProjectForm {
            csrf: String::new(),
            name: String::new(),
            labels: "positive\nnegative\nneutral".into(),
            overlap: "3".into(),
            instructions: String::new(),
            lease_minutes: (DEFAULT_LEASE_SECONDS / 60).to_string(),
        }
    }
}

impl ProjectForm {
    /// Reads the form into the same `NewProject` the API takes.
    fn to_new_project(&self) -> Result<NewProject> {
        let overlap = self
            .overlap
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::invalid("overlap", "must be a whole number"))?;
        let minutes = self
            .lease_minutes
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::invalid("lease_minutes", "must be a whole number"))?;
        let labels = self
            .labels
            .split(['\n', ','])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        let labels: Vec<String> = labels;
        let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let mut project = NewProject::simple(&self.name, &label_refs, overlap, &self.instructions);
        project.lease_seconds = minutes.saturating_mul(60);
        Ok(project)
    }
}

pub async fn new_project_page(Admin(admin): Admin, session: Session) -> Result<Response> {
    let page = NewProjectPage {
        layout: Layout::for_user(&session, admin).await?,
        form: ProjectForm::default(),
        error: None,
    };
    Ok(html(&page)?.into_response())
}

pub async fn create_project(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Form(form): Form<ProjectForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let spec = form
        .to_new_project()
        .and_then(|p| p.validate().map_err(AppError::from));
    match spec {
        Ok(spec) => {
            let project = state.store.create_project(&spec, admin.id).await?;
            Ok(Redirect::to(&format!("/admin/projects/{}", project.id)).into_response())
        }
        Err(e) => {
            let page = NewProjectPage {
                layout: Layout::for_user(&session, admin).await?,
                form,
                error: Some(e.public_message()),
            };
            Ok(html_with_status(e.status(), &page))
        }
    }
}

#[derive(Template)]
#[template(path = "admin/project.html")]
struct ProjectPage {
    layout: Layout,
    project: Project,
    progress: Progress,
    percent: i64,
    imported: Option<usize>,
    import_error: Option<String>,
}

#[derive(Deserialize)]
pub struct ProjectQuery {
    imported: Option<usize>,
}

async fn project_page_for(
    state: &AppState,
    session: &Session,
    admin: User,
    pid: i64,
    imported: Option<usize>,
    import_error: Option<String>,
) -> Result<ProjectPage> {
    let project = state.store.project(pid).await?;
    let progress = state.store.progress(pid).await?;
    Ok(ProjectPage {
        layout: Layout::for_user(session, admin).await?,
        percent: progress.percent(project.overlap),
        project,
        progress,
        imported,
        import_error,
    })
}

pub async fn project_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path(pid): Path<i64>,
    Query(query): Query<ProjectQuery>,
) -> Result<Response> {
    let page = project_page_for(&state, &session, admin, pid, query.imported, None).await?;
    Ok(html(&page)?.into_response())
}

/// The browser's CSV/JSONL upload, through the same importer as the API.
pub async fn import_upload(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path(pid): Path<i64>,
    multipart: Multipart,
) -> Result<Response> {
    let project = state.store.project(pid).await?;
    let upload = read_upload(multipart).await?;
    csrf::verify(&session, &upload.csrf).await?;
    let result = match Format::from_file_name(&upload.file_name) {
        Some(format) => import_bytes(&state, &project, upload.bytes, format).await,
        None => Err(AppError::invalid(
            "file",
            format!(
                "{:?} is not a .csv, .jsonl, .ndjson or .json file",
                upload.file_name
            ),
        )),
    };
    match result {
        Ok(n) => Ok(Redirect::to(&format!("/admin/projects/{pid}?imported={n}")).into_response()),
        Err(e @ AppError::Internal(_)) => Err(e),
        Err(e) => {
            let status = e.status();
            let page =
                project_page_for(&state, &session, admin, pid, None, Some(e.public_message()))
                    .await?;
            Ok(html_with_status(status, &page))
        }
    }
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
