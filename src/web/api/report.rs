//! `GET /api/v1/projects/{pid}/report`: agreement, consensus, rater quality and bias.

use axum::extract::{Path, Query, State};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::domain::now_ms;
use crate::domain::project::Project;
use crate::domain::report::{
    parse_level, parse_method, prepare_report, project_report, ProjectReport,
};
use crate::domain::report_keeping::{Keeping, Looked};
use crate::error::{AppError, Result};
use crate::quality::ReportOptions;
use crate::store::kept_input::InputVersion;
use crate::store::report::ItemData;
use crate::store::snapshots::Snapshot;
use crate::store::Store;
use crate::web::extract::Admin;
use crate::web::AppState;

use super::openapi::responses::*;

/// Report settings from the query string: `level`, `method`, `slice` (an item data field),
/// `draws` (bootstrap draws), `seed` and `min_pair` (items two raters must share for a kappa);
/// and for the API's answer, `consensus` (whether it holds a consensus row per item).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Level of measurement for Krippendorff's alpha: nominal, ordinal, interval or ratio.
    pub level: Option<String>,
    /// Consensus method: majority or dawid-skene.
    pub method: Option<String>,
    /// An item data field to break the figures down by.
    pub slice: Option<String>,
    /// Bootstrap draws for alpha's interval, at most 10000.
    pub draws: Option<usize>,
    /// Seed of the bootstrap.
    pub seed: Option<u64>,
    /// Pairs of raters sharing fewer items get no Cohen's kappa.
    pub min_pair: Option<usize>,
    /// The consensus row per item: items (the default) or none, for an answer with every
    /// figure and an empty consensus list (a dashboard's; the rows are most of a big
    /// project's report).
    pub consensus: Option<String>,
}

/// Whether a report's answer holds its consensus row per item (`consensus=items`, the
/// default) or leaves the rows out (`consensus=none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConsensusRows {
    Items,
    LeftOut,
}

const MAX_DRAWS: usize = 10_000;

impl ReportQuery {
    pub fn options(&self) -> Result<ReportOptions> {
        let mut options = ReportOptions::default();
        if let Some(level) = self.level.as_deref().filter(|l| !l.is_empty()) {
            options.level = parse_level(level)?;
        }
        if let Some(method) = self.method.as_deref().filter(|m| !m.is_empty()) {
            options.method = parse_method(method)?;
        }
        options.slice_field = self.slice.clone().filter(|s| !s.trim().is_empty());
        if let Some(draws) = self.draws {
            if draws > MAX_DRAWS {
                return Err(AppError::invalid("draws", format!("at most {MAX_DRAWS}")));
            }
            options.bootstrap_draws = draws;
        }
        if let Some(seed) = self.seed {
            options.seed = seed;
        }
        if let Some(min_pair) = self.min_pair {
            options.min_pair_overlap = min_pair.max(1);
        }
        Ok(options)
    }

    fn consensus_rows(&self) -> Result<ConsensusRows> {
        match self.consensus.as_deref().map(str::trim) {
            None | Some("" | "items") => Ok(ConsensusRows::Items),
            Some("none") => Ok(ConsensusRows::LeftOut),
            Some(other) => Err(AppError::invalid(
                "consensus",
                format!("unknown choice {other:?}: use items or none"),
            )),
        }
    }

    /// The engine's settings for `project`: without a level, the project kind's own.
    fn options_for(&self, project: &Project) -> Result<ReportOptions> {
        let mut options = self.options()?;
        if self.level.as_deref().is_none_or(str::is_empty) {
            options.level = project.kind.report_level();
        }
        Ok(options)
    }
}

/// Keeps the report of the project being labelled prepared in this process (see
/// [`crate::domain::report_keeping`]): the project labelled last among the big ones (see
/// [`Store::last_labelled_big_project`]), its input read (or read back and
/// brought up to date) and what its report starts from made with the report page's
/// settings (the dataset, the consensus, the distribution test), so that the next report,
/// of any seed or draws, is one on kept labels. A report asked for meanwhile waits for
/// this read and preparation rather than doing them again beside it.
pub struct ReportKeeper {
    store: Store,
    keeping: Keeping,
    prepared: Option<Prepared>,
}

/// What the keeper prepared last: the project, at which version, when.
struct Prepared {
    project_id: i64,
    version: InputVersion,
    at: Instant,
}

impl ReportKeeper {
    pub fn new(store: Store, keeping: Keeping) -> Self {
        ReportKeeper {
            store,
            keeping,
            prepared: None,
        }
    }

    /// Looks at the big project labelled last and prepares its report when it is due (the
    /// first look of a keeper always is, when the project has an input stored or its
    /// labelling has paused). Returns the project prepared.
    pub async fn look(&mut self) -> Result<Option<i64>> {
        let Some(last) = self.store.last_labelled_big_project().await? else {
            return Ok(None);
        };
        let pid = last.project_id;
        let version = self.store.report_input_version(pid).await?;
        let earlier = self.prepared.as_ref().filter(|p| p.project_id == pid);
        let since_label = now_ms().saturating_sub(last.last_label_at.unwrap_or(0));
        let looked = Looked {
            keepable: self.store.keeps_report_input(&version),
            stored: last.stored,
            moved: earlier.is_none_or(|p| p.version != version),
            since_last_label: Duration::from_millis(u64::try_from(since_label).unwrap_or(0)),
            since_prepared: earlier.map(|p| p.at.elapsed()),
        };
        if !self.keeping.due(looked) {
            return Ok(None);
        }
        // Taken as prepared before it is: a preparation that fails is tried again after the
        // next change, not on every look.
        self.prepared = Some(Prepared {
            project_id: pid,
            version,
            at: Instant::now(),
        });
        let kept_before = self.store.kept_report_input_version(pid);
        prepare_project_report(&self.store, pid).await?;
        // Labels given after the look, while the read waited for another, are in what was
        // prepared: the next look starts from the input kept now, or it would prepare the
        // same again.
        let kept = self.store.kept_report_input_version(pid);
        let version = kept
            .filter(|&now| Some(now) != kept_before)
            .unwrap_or(version);
        if let Some(prepared) = &mut self.prepared {
            prepared.version = version;
        }
        self.store_if_behind(pid, version).await?;
        Ok(Some(pid))
    }

    /// Stores the input just prepared at `prepared` when the stored one has fallen behind
    /// it (see [`Keeping::store_due`]).
    async fn store_if_behind(&self, pid: i64, prepared: InputVersion) -> Result<()> {
        let Some(stored) = self.store.stored_input_version(pid).await? else {
            return Ok(());
        };
        let lag = prepared.lag_of(&stored);
        if self.keeping.store_due(lag) {
            tracing::info!(project_id = pid, ?lag, "storing the report input again");
            self.store.store_input(pid, prepared.labels);
        }
        Ok(())
    }

    /// Looks every [`Keeping::every`], for good.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(self.keeping.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.look().await {
                Ok(Some(project_id)) => tracing::info!(project_id, "report prepared"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "preparing a project's report failed"),
            }
        }
    }
}

/// Reads the project's report input (or finds it kept) and prepares its report with the
/// report page's settings.
async fn prepare_project_report(store: &Store, pid: i64) -> Result<()> {
    let project = store.project(pid).await?;
    let options = ReportQuery::default().options_for(&project)?;
    let input = store.report_input(pid, ItemData::Skipped).await?;
    tokio::task::spawn_blocking(move || prepare_report(&project, &input, &options)).await??;
    Ok(())
}

/// Reads the project's labels and runs the engine off the async runtime. On a big project
/// the report may be a kept one; the snapshot says when it was computed.
pub async fn compute_report(
    store: &Store,
    pid: i64,
    query: &ReportQuery,
) -> Result<(Project, Snapshot<Arc<ProjectReport>>)> {
    let project = store.project(pid).await?;
    let options = query.options_for(&project)?;
    let variant = format!("{}:{options:?}", project.revision);
    let for_task = project.clone();
    let report = store
        .snapshot(pid, "report", variant, move |store| {
            let project = for_task.clone();
            let options = options.clone();
            async move { build_report(&store, project, options).await }
        })
        .await?;
    Ok((project, report))
}

async fn build_report(
    store: &Store,
    project: Project,
    options: ReportOptions,
) -> Result<ProjectReport> {
    let data = match &options.slice_field {
        Some(_) => ItemData::Read,
        None => ItemData::Skipped,
    };
    let (input, feedback) = tokio::try_join!(
        store.report_input(project.id, data),
        store.feedback_events(project.id)
    )?;
    tokio::task::spawn_blocking(move || project_report(&project, &input, &feedback, &options))
        .await?
        .map_err(Into::into)
}

/// Agreement, consensus, rater quality and bias of the project's labels.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/report",
    tag = "projects",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ReportQuery
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The report; its sections depend on the project's kind", body = Object),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn project_report_json(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
    Query(query): Query<ReportQuery>,
) -> Result<Response> {
    let rows = query.consensus_rows()?;
    let (_, report) = compute_report(&state.store, pid, &query).await?;
    let report = match rows {
        ConsensusRows::Items => report.value,
        ConsensusRows::LeftOut => Arc::new(report.value.without_consensus_rows()),
    };
    report_answer(report).await
}

/// The report as a JSON answer, written off the async runtime: a big project's report has a
/// row per item (8 MB at 100,000 items), and writing it held a thread that answers requests
/// for 30 to 40 ms. Room is made for it at once rather than grown by doubling.
async fn report_answer(report: Arc<ProjectReport>) -> Result<Response> {
    let body = tokio::task::spawn_blocking(move || {
        let rows = report.report.as_ref().map_or(0, |r| r.consensus.len());
        let mut body = Vec::with_capacity(JSON_ROOM + rows * JSON_ROOM_PER_ROW);
        serde_json::to_writer(&mut body, &*report).map(|()| body)
    })
    .await?
    .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("writing the report")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Bytes made room for in a report's JSON besides its consensus rows, and per row (a row of
/// the benches' reports takes about 86).
const JSON_ROOM: usize = 64 * 1024;
const JSON_ROOM_PER_ROW: usize = 96;
