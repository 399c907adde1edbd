//! Exports and dataset versions: `GET .../export` streams a new version, `GET .../exports`
//! lists them, `GET .../exports/{vid}` downloads one again byte for byte, and
//! `GET .../exports/{vid}/card` gives its card as Markdown or JSON.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use futures::stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dataset::ExportRun;
use crate::domain::audit::{Action, Entry};
use crate::domain::export::{Format, RawExportOptions};
use crate::domain::project::Project;
use crate::error::{AppError, Result};
use crate::store::datasets::VersionRow;
use crate::store::Store;
use crate::web::extract::{Admin, Origin};
use crate::web::AppState;

use super::openapi::responses::*;

pub const VERSION_HEADER: &str = "x-tally-dataset-version";

/// Streams the project as a new dataset version, a page of items at a time.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/export",
    tag = "projects",
    params(
        ("pid" = i64, Path, description = "Project id"),
        RawExportOptions
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The dataset: one row per item (or per label with rows=labels)", content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.apache.parquet"),
            (Vec<u8> = "application/octet-stream"),
            (String = "application/json")
        ), headers(
            ("Content-Disposition" = String, description = "The file name"),
            ("X-Tally-Dataset-Version" = i64, description = "The id of the dataset version this export records")
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn export_project(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path(pid): Path<i64>,
    Query(raw): Query<RawExportOptions>,
) -> Result<Response> {
    let project = state.store.project(pid).await?;
    let entry = origin.entry(&admin, Action::ExportCreated);
    let run = start_export(&state.store, &project, &raw, &admin.name, entry).await?;
    Ok(stream_run(&project, run))
}

/// Checks the options and starts a version; shared with the export form.
pub async fn start_export(
    store: &Store,
    project: &Project,
    raw: &RawExportOptions,
    created_by: &str,
    audit: Entry,
) -> Result<ExportRun> {
    let options = raw.parse(project.kind)?;
    ExportRun::start(store.clone(), project.clone(), options, created_by, audit).await
}

fn file_name(project_id: i64, version_id: i64, format: Format) -> String {
    format!(
        "tally-project-{project_id}-v{version_id}.{}",
        format.extension()
    )
}

fn download_headers(name: &str, format: Format, version_id: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let set = |headers: &mut HeaderMap, name: HeaderName, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(
        &mut headers,
        header::CONTENT_TYPE,
        format.content_type().to_string(),
    );
    set(
        &mut headers,
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{name}\""),
    );
    set(
        &mut headers,
        HeaderName::from_static(VERSION_HEADER),
        version_id.to_string(),
    );
    headers
}

/// The response that streams an export run's chunks.
pub fn stream_run(project: &Project, run: ExportRun) -> Response {
    let format = run.format();
    let version_id = run.version_id();
    let name = file_name(project.id, version_id, format);
    let body = Body::from_stream(stream::unfold(Some(run), |run| async move {
        let mut run = run?;
        match run.next_chunk().await {
            Ok(Some(bytes)) => Some((Ok::<Bytes, AppError>(bytes), Some(run))),
            Ok(None) => None,
            Err(e) => {
                tracing::error!("export stopped: {e:?}");
                Some((Err(e), None))
            }
        }
    }));
    (download_headers(&name, format, version_id), body).into_response()
}

/// A dataset version as listed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub id: i64,
    pub created_at: i64,
    pub created_by: String,
    pub format: String,
    /// The export's options.
    #[schema(value_type = Object)]
    pub settings: Value,
    pub rows: i64,
    pub labels: i64,
    pub bytes: i64,
    pub content_sha256: Option<String>,
    /// The dataset card.
    #[schema(value_type = Object)]
    pub card: Value,
}

impl From<VersionRow> for VersionSummary {
    fn from(row: VersionRow) -> Self {
        let json = |text: Option<&str>| {
            text.and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null)
        };
        VersionSummary {
            id: row.id,
            created_at: row.created_at,
            settings: json(Some(&row.settings)),
            card: json(row.card.as_deref()),
            created_by: row.created_by,
            format: row.format,
            rows: row.row_count,
            labels: row.label_count,
            bytes: row.bytes,
            content_sha256: row.content_sha256,
        }
    }
}

/// The project's dataset versions, newest first, with their cards.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/exports",
    tag = "projects",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "Dataset versions, newest first", body = Vec<VersionSummary>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn list_versions(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
) -> Result<Json<Vec<VersionSummary>>> {
    state.store.project(pid).await?;
    let versions = state.store.versions(pid).await?;
    Ok(Json(
        versions.into_iter().map(VersionSummary::from).collect(),
    ))
}

/// Downloads a dataset version again, byte for byte as it was first written.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/exports/{vid}",
    tag = "projects",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("vid" = i64, Path, description = "Dataset version id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The version's file", content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.apache.parquet"),
            (Vec<u8> = "application/octet-stream"),
            (String = "application/json")
        ), headers(
            ("X-Tally-Content-Sha256" = String, description = "SHA-256 of the file"),
            ("Link" = String, description = "The card, as rel=describedby")
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn download_version(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path((pid, vid)): Path<(i64, i64)>,
) -> Result<Response> {
    let version = state.store.version(pid, vid).await?;
    Ok(version_response(state.store.clone(), version))
}

/// Streams a stored version's chunks with its headers.
pub fn version_response(store: Store, version: VersionRow) -> Response {
    let format = Format::parse(&version.format).unwrap_or(Format::Jsonl);
    let name = file_name(version.project_id, version.id, format);
    let mut headers = download_headers(&name, format, version.id);
    if let Some(sha) = version
        .content_sha256
        .as_deref()
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        headers.insert(HeaderName::from_static("x-tally-content-sha256"), sha);
    }
    let card = format!(
        "</api/v1/projects/{}/exports/{}/card>; rel=\"describedby\"",
        version.project_id, version.id
    );
    if let Ok(link) = HeaderValue::from_str(&card) {
        headers.insert(header::LINK, link);
    }
    if let Ok(length) = HeaderValue::from_str(&version.bytes.to_string()) {
        headers.insert(header::CONTENT_LENGTH, length);
    }
    let id = version.id;
    let body = Body::from_stream(stream::unfold(
        Some((store, 0i64)),
        move |state| async move {
            let (store, seq) = state?;
            match store.chunk_after(id, seq).await {
                Ok(Some((next, bytes))) => Some((
                    Ok::<Bytes, AppError>(Bytes::from(bytes)),
                    Some((store, next)),
                )),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        },
    ));
    (headers, body).into_response()
}

/// How to give a card: `md` (Markdown, the default) or `json`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardQuery {
    /// `md` (default) or `json`.
    format: Option<String>,
}

/// A dataset version's card: what whoever trains on it must know.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/exports/{vid}/card",
    tag = "projects",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("vid" = i64, Path, description = "Dataset version id"),
        CardQuery
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The card", content(
            (String = "text/markdown"),
            (Object = "application/json")
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn version_card(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path((pid, vid)): Path<(i64, i64)>,
    Query(query): Query<CardQuery>,
) -> Result<Response> {
    let version = state.store.version(pid, vid).await?;
    let card: crate::domain::export::card::DatasetCard = version
        .card
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .ok_or_else(|| AppError::not_found("dataset card"))?;
    match query.format.as_deref().unwrap_or("md") {
        "md" | "markdown" => Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            card.markdown(),
        )
            .into_response()),
        "json" => Ok(Json(card).into_response()),
        other => Err(AppError::invalid(
            "format",
            format!("unknown card format {other:?}: use md or json"),
        )),
    }
}
