mod audit;
mod exports;
mod figures;
mod health;
mod import;
mod items;
mod operations;
mod pace;
mod report;
mod review;
mod settings;
mod users;
mod webhooks;

pub(crate) use audit::audit_page_html as audit_page;
pub(crate) use exports::*;
pub(crate) use health::*;
pub(crate) use import::*;
pub(crate) use items::*;
pub(crate) use pace::*;
pub(crate) use report::*;
pub(crate) use review::*;
pub(crate) use settings::*;
pub(crate) use users::*;
pub(crate) use webhooks::*;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::project::{NewProject, Progress, Project, DEFAULT_LEASE_SECONDS};
use crate::domain::user::User;
use crate::error::{AppError, Result};
use crate::store::projects::ProjectSummary;
use crate::store::raters::{add_work_figures, HeldItem, Queue, RaterStanding};
use crate::web::api::{source_views, SourceView};
use crate::web::csrf;
use crate::web::extract::Admin;
use crate::web::render::{html, html_with_status, Layout};
use crate::web::AppState;
use figures::PageFigures;

#[derive(Template)]
#[template(path = "admin/projects.html")]
struct ProjectsPage {
    layout: Layout,
    projects: Vec<ProjectSummary>,
    /// Archived projects, listed apart.
    archived: Vec<ProjectSummary>,
}

pub async fn projects_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
) -> Result<Response> {
    let (archived, projects) = state
        .store
        .project_summaries()
        .await?
        .into_iter()
        .partition(|s| s.project.is_archived());
    let page = ProjectsPage {
        layout: Layout::for_user(&session, admin).await?,
        projects,
        archived,
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

/// The new-project form: every field is text, as browsers send it; empty means unset.
#[derive(Deserialize, Clone, Default)]
#[serde(default)]
pub struct ProjectForm {
    csrf: String,
    name: String,
    labels: String,
    overlap: String,
    instructions: String,
    lease_minutes: String,
    expert_count: String,
    user_count: String,
    expertise: String,
    escalate_below: String,
    expert_overlap: String,
    min_overlap: String,
    max_overlap: String,
    order: String,
    seed: String,
    gold_rate: String,
    min_gold_accuracy: String,
    gold_min_seen: String,
    report_threshold: String,
    qualify_accuracy: String,
    open_link: String,
    completion_url: String,
    completion_after: String,
    completion_code: String,
    single_use_links: String,
    feedback_creates_items: String,
    feedback_first: String,
    negative_labels: String,
}

pub(super) fn optional<T: std::str::FromStr>(field: &str, text: &str) -> Result<Option<T>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<T>()
        .map(Some)
        .map_err(|_| AppError::invalid(field, format!("{text:?} is not a number")))
}

fn optional_text(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

pub(super) fn list(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

impl ProjectForm {
    fn blank() -> Self {
        ProjectForm {
            labels: "positive\nnegative\nneutral".into(),
            overlap: "3".into(),
            lease_minutes: (DEFAULT_LEASE_SECONDS / 60).to_string(),
            order: "import".into(),
            ..ProjectForm::default()
        }
    }

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
        let labels = list(&self.labels);
        let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        let mut project = NewProject::simple(&self.name, &label_refs, overlap, &self.instructions);
        project.lease_seconds = minutes.saturating_mul(60);
        let experts: Option<i64> = optional("expert_count", &self.expert_count)?;
        let users: Option<i64> = optional("user_count", &self.user_count)?;
        if experts.is_some() || users.is_some() {
            project.pools = Some(std::collections::BTreeMap::from([
                ("generalist".to_string(), overlap),
                ("expert".to_string(), experts.unwrap_or(0)),
                ("user".to_string(), users.unwrap_or(0)),
            ]));
            project.overlap = None;
        }
        project.expertise = Some(list(&self.expertise));
        project.escalate_below = optional("escalate_below", &self.escalate_below)?;
        project.expert_overlap = optional("expert_overlap", &self.expert_overlap)?;
        project.min_overlap = optional("min_overlap", &self.min_overlap)?;
        project.max_overlap = optional("max_overlap", &self.max_overlap)?;
        project.order = optional_text(&self.order);
        project.seed = optional("seed", &self.seed)?;
        project.gold_rate = optional("gold_rate", &self.gold_rate)?;
        project.min_gold_accuracy = optional("min_gold_accuracy", &self.min_gold_accuracy)?;
        project.gold_min_seen = optional("gold_min_seen", &self.gold_min_seen)?;
        project.report_threshold = optional("report_threshold", &self.report_threshold)?;
        project.qualify_accuracy = optional("qualify_accuracy", &self.qualify_accuracy)?;
        project.open_link = Some(self.open_link == "on");
        project.completion_url = optional_text(&self.completion_url);
        project.completion_after = optional("completion_after", &self.completion_after)?;
        project.completion_code = optional_text(&self.completion_code);
        project.single_use_links = Some(self.single_use_links == "on");
        project.feedback_creates_items = Some(self.feedback_creates_items == "on");
        project.feedback_first = Some(self.feedback_first == "on");
        project.negative_labels = Some(list(&self.negative_labels));
        Ok(project)
    }
}

pub async fn new_project_page(Admin(admin): Admin, session: Session) -> Result<Response> {
    let page = NewProjectPage {
        layout: Layout::for_user(&session, admin).await?,
        form: ProjectForm::blank(),
        error: None,
    };
    Ok(html(&page)?.into_response())
}

pub async fn create_project(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: crate::web::extract::Origin,
    session: Session,
    Form(form): Form<ProjectForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let spec = form
        .to_new_project()
        .and_then(|p| p.validate().map_err(AppError::from));
    match spec {
        Ok(spec) => {
            let entry = origin.entry(&admin, crate::domain::audit::Action::ProjectCreated);
            let project = state.store.create_project(&spec, admin.id, &entry).await?;
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

/// When the kept figures of a large project were computed, for pages that show them.
pub(crate) fn figures_as_of(state: &AppState, pid: i64, whats: &[&str]) -> Option<String> {
    state
        .store
        .figures_as_of(pid, whats)
        .map(|ms| crate::web::render::timestamp(&ms))
}

#[derive(Template)]
#[template(path = "admin/project.html")]
pub(crate) struct ProjectPage {
    layout: Layout,
    project: Project,
    /// When the kept figures shown were computed, on a large project.
    as_of: Option<String>,
    progress: Progress,
    percent: i64,
    imported: Option<usize>,
    skipped: Option<usize>,
    import_error: Option<String>,
    /// `None` while a large project's queue is being counted (so with the other figures
    /// below: see `figures`).
    queue: Option<Queue>,
    raters: Vec<RaterStanding>,
    /// Whether the raters' agreement and median times are still being computed.
    raters_computing: bool,
    held: Vec<HeldItem>,
    sources: Vec<SourceView>,
    feedback_keys: Vec<crate::store::users::Credential>,
    members: crate::store::members::Members,
    new_key: Option<String>,
    versions: Vec<VersionView>,
    webhooks: WebhooksPanel,
    review: ReviewPanel,
    pace: PacePanel,
}

#[derive(Deserialize)]
pub struct ProjectQuery {
    imported: Option<usize>,
    skipped: Option<usize>,
}

/// What the project page shows besides its progress: one-off messages.
#[derive(Default)]
pub(crate) struct Notices {
    pub imported: Option<usize>,
    pub skipped: Option<usize>,
    pub import_error: Option<String>,
    pub new_key: Option<String>,
    pub new_webhook_secret: Option<String>,
    pub webhook_error: Option<String>,
    pub rates_error: Option<String>,
}

pub(crate) async fn project_page_for(
    state: &AppState,
    session: &Session,
    admin: User,
    pid: i64,
    notices: Notices,
) -> Result<ProjectPage> {
    let project = state.store.project(pid).await?;
    let figures = PageFigures::start(&state.store, Some(pid)).await?;
    let queue = figures.spawn(move |store| async move { store.queue(pid).await });
    let for_work = project.clone();
    let work = figures.spawn(move |store| async move { store.work_figures(&for_work).await });
    let pace = pace_panel(state, &figures, &project, &notices);
    // The page's own rows are read side by side, and with the wait for the figures: one
    // after another, each of a dozen small reads waited for a core behind the figures
    // computed in the background.
    let store = &state.store;
    let (
        layout,
        progress,
        mut raters,
        held,
        sources,
        feedback_keys,
        members,
        versions,
        webhooks,
        review,
        work,
        queue,
        pace,
    ) = tokio::try_join!(
        Layout::for_user(session, admin),
        store.progress(pid),
        store.rater_rows(pid),
        store.held_items(pid),
        source_views(state, pid),
        store.feedback_keys(pid),
        store.members(pid),
        store.versions(pid),
        webhooks_panel(state, pid, &notices),
        review_panel(state, pid),
        work.ready(),
        queue.ready(),
        pace,
    )?;
    if let Some(work) = &work {
        add_work_figures(&mut raters, work);
    }
    Ok(ProjectPage {
        layout,
        percent: progress.percent(project.overlap),
        held,
        sources,
        feedback_keys,
        members,
        versions: versions
            .into_iter()
            .take(20)
            .map(VersionView::from)
            .collect(),
        webhooks,
        review,
        pace,
        queue,
        raters,
        raters_computing: work.is_none(),
        project,
        progress,
        imported: notices.imported,
        skipped: notices.skipped,
        import_error: notices.import_error,
        new_key: notices.new_key,
        // Last: the figures above are all read by now.
        as_of: figures_as_of(state, pid, &["progress", "queue", "work", "pace"]),
    })
}

impl ProjectPage {
    /// Whether a figure of the page is still being computed (the page then loads the
    /// script that fills it in).
    fn computing(&self) -> bool {
        self.queue.is_none() || self.raters_computing || self.pace.figures.is_none()
    }
}

pub(crate) use operations::*;

pub async fn project_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path(pid): Path<i64>,
    Query(query): Query<ProjectQuery>,
) -> Result<Response> {
    let notices = Notices {
        imported: query.imported,
        skipped: query.skipped,
        ..Notices::default()
    };
    let page = project_page_for(&state, &session, admin, pid, notices).await?;
    Ok(html(&page)?.into_response())
}
