use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::audit::{Action, Entry};
use crate::domain::import::{self, Format};
use crate::domain::import_check::{self, Findings, Skip};
use crate::domain::media::{self, Upload};
use crate::domain::media_zip::{self, Bundle};
use crate::domain::project::Project;
use crate::domain::Invalid;
use crate::error::{AppError, Result};
use crate::web::extract::{content_type, Admin, Origin};
use crate::web::AppState;

use super::openapi::responses::*;

/// One item of a JSON or NDJSON import. Only describes the body: the importer reads it field
/// by field (`domain::import`), so that a refusal names its line.
#[allow(dead_code)]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportItemBody {
    /// What raters see: the text field and any others the project shows.
    #[schema(value_type = Object)]
    data: Value,
    /// The item's id in the caller's system: a string or a number.
    external_id: Option<Value>,
    /// The right answer, for gold questions, in the shape of the project's kind.
    gold: Option<Value>,
    /// A model's pre-label, in the shape of the project's kind.
    prediction: Option<Value>,
    /// Higher goes first when the project orders by priority.
    priority: Option<f64>,
    /// A qualification question (needs `gold`).
    qualification: Option<bool>,
    /// Shown after a qualification question is answered.
    explanation: Option<String>,
}

/// How many items an import added, and how many flagged rows it left out.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub imported: usize,
    /// Rows left out by `skip` (0 without it).
    pub skipped: usize,
}

/// The query of an import: a check only, rows to skip, the format.
#[derive(Deserialize, Default)]
pub struct ImportQuery {
    #[serde(default)]
    pub dry_run: bool,
    pub skip: Option<String>,
    pub format: Option<String>,
}

/// How to run an import: check only (`dry_run`) or store, leaving out the rows `skip`
/// names.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub dry_run: bool,
    pub skip: Skip,
}

impl ImportQuery {
    fn options(&self) -> Result<(ImportOptions, Option<Format>)> {
        let skip = Skip::parse(self.skip.as_deref().unwrap_or_default())?;
        let format = self.format.as_deref().map(Format::from_name).transpose()?;
        let options = ImportOptions {
            dry_run: self.dry_run,
            skip,
        };
        Ok((options, format))
    }
}

/// What an import did: checked only (the findings), or stored.
pub enum ImportOutcome {
    Checked(Box<Findings>),
    Imported(Imported),
}

impl IntoResponse for ImportOutcome {
    fn into_response(self) -> Response {
        match self {
            ImportOutcome::Checked(findings) => (StatusCode::OK, Json(*findings)).into_response(),
            ImportOutcome::Imported(imported) => {
                (StatusCode::CREATED, Json(imported)).into_response()
            }
        }
    }
}

/// Imports a JSON array, NDJSON (`application/x-ndjson`), CSV (`text/csv`), Label Studio
/// tasks, a zip of images with an items file, or the same as multipart parts: all or
/// nothing. `dry_run=true` checks the file and stores nothing.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/items",
    tag = "projects",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("dry_run" = Option<bool>, Query, description = "Check the file and answer 200 with the findings; nothing is stored"),
        ("skip" = Option<String>, Query, description = "Leave out flagged rows: `flagged` (every finding) or finding kinds separated by commas (`duplicate_in_file,personal_data`)"),
        ("format" = Option<String>, Query, description = "`json`, `jsonl`, `csv` or `label-studio`; overrides the Content-Type (a JSON array of Label Studio tasks is also recognised by itself)")
    ),
    request_body(
        description = "A JSON array of items, NDJSON (one item a line), CSV (a header row; `external_id`, `gold`, `prediction` columns are read specially, the others are data), or Label Studio's JSON export (tasks with `data`, `annotations`, `predictions`)",
        content(
            (Vec<ImportItemBody> = "application/json"),
            (String = "application/x-ndjson"),
            (String = "text/csv"),
            (Vec<u8> = "application/zip"),
            (Vec<u8> = "multipart/form-data")
        )
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "`dry_run=true`: what the file holds and what looks wrong in it; nothing was stored", body = Findings),
        (status = 201, description = "The items were imported (all, or all but the skipped rows)", body = Imported),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = super::openapi::responses::Invalid),
    )
)]
pub async fn import_items(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    Path(pid): Path<i64>,
    Query(query): Query<ImportQuery>,
    request: Request,
) -> Result<ImportOutcome> {
    let project = state.store.project(pid).await?;
    let (options, format) = query.options()?;
    let kind = content_type(request.headers()).map(str::to_ascii_lowercase);
    if kind.as_deref().is_some_and(|k| k.starts_with("multipart/")) {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| rejected(e.status(), e.body_text()))?;
        let bundle = multipart_bundle(multipart, state.config.max_media_bytes).await?;
        let entry = origin.entry(&admin, Action::ItemsImported);
        import_bundle(&state, &project, bundle, &options, &entry).await
    } else {
        let format = format.unwrap_or_else(|| Format::from_content_type(kind.as_deref()));
        let body = Bytes::from_request(request, &state)
            .await
            .map_err(|e| rejected(e.status(), e.body_text()))?;
        let entry = origin.entry(&admin, Action::ItemsImported);
        import_bytes(&state, &project, body, format, &options, &entry).await
    }
}

/// The one importer behind the API and the browser upload; a zip (told from its bytes)
/// brings its images along. An import that stores items records `entry` (with the counts)
/// in the audit log; a dry run records nothing.
pub async fn import_bytes(
    state: &AppState,
    project: &Project,
    body: Bytes,
    format: Format,
    options: &ImportOptions,
    entry: &Entry,
) -> Result<ImportOutcome> {
    if media_zip::is_zip(&body) {
        let max = state.config.max_media_bytes;
        let bundle = tokio::task::spawn_blocking(move || media_zip::unpack(&body, max)).await??;
        return import_bundle(state, project, bundle, options, entry).await;
    }
    import_with_media(
        state,
        project,
        (body, format),
        Media::default(),
        options,
        entry,
    )
    .await
}

async fn import_bundle(
    state: &AppState,
    project: &Project,
    bundle: Bundle,
    options: &ImportOptions,
    entry: &Entry,
) -> Result<ImportOutcome> {
    let Bundle {
        images,
        names,
        items,
        format,
    } = bundle;
    import_with_media(
        state,
        project,
        (Bytes::from(items), format),
        Media { images, names },
        options,
        entry,
    )
    .await
}

/// Parses and checks the items (references to uploaded images resolved, so boxes are
/// checked inside them, and duplicates looked for among the project's items), then, unless
/// this is a dry run, stores the new images and the items left in in one transaction.
/// The images an import brings, and the file names its items use for them.
#[derive(Default)]
struct Media {
    images: Vec<Upload>,
    names: HashMap<String, String>,
}

async fn import_with_media(
    state: &AppState,
    project: &Project,
    (body, format): (Bytes, Format),
    Media { images, names }: Media,
    options: &ImportOptions,
    entry: &Entry,
) -> Result<ImportOutcome> {
    let may_name_media = !images.is_empty() || contains(&body, b"media");
    let mut known = if may_name_media {
        state.store.media_infos(project.id).await?
    } else {
        HashMap::new()
    };
    for image in &images {
        known.insert(image.sha256.clone(), image.info());
    }
    let in_project = state.store.content_keys(project.id).await?;
    let checked_project = project.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let mut items = import::parse_lenient(&body, format)?;
        for item in &mut items {
            media::resolve(&mut item.data, &known, &names)
                .map_err(|reason| Invalid::new(format!("line {}", item.line), reason))?;
        }
        Ok::<_, AppError>(import_check::check_items(
            items,
            &checked_project,
            &in_project,
        ))
    })
    .await??;
    if options.dry_run {
        return Ok(ImportOutcome::Checked(Box::new(checked.findings)));
    }
    let (items, skipped) = checked.into_import(&options.skip)?;
    let entry = entry
        .clone()
        .details(serde_json::json!({ "skipped": skipped }));
    let imported = state
        .store
        .import_items_with_media(project, &images, &items, &entry)
        .await?;
    Ok(ImportOutcome::Imported(Imported { imported, skipped }))
}

/// A body axum could not read: over the size limit (413) or malformed (400).
fn rejected(status: StatusCode, text: String) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge(text)
    } else {
        AppError::BadRequest(text)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The parts of a multipart import: an items file and the images it names.
async fn multipart_bundle(mut multipart: Multipart, max_image_bytes: usize) -> Result<Bundle> {
    let mut files = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| rejected(e.status(), e.body_text()))?
    {
        let name = field
            .file_name()
            .or(field.name())
            .unwrap_or_default()
            .to_string();
        let limit = if media_zip::items_format(&name).is_some() {
            media_zip::MAX_ITEMS_FILE as usize
        } else {
            max_image_bytes
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| rejected(e.status(), e.body_text()))?
        {
            if bytes.len() + chunk.len() > limit {
                return Err(AppError::TooLarge(format!(
                    "{name:?} is larger than {limit} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        files.push((name, bytes));
    }
    Ok(tokio::task::spawn_blocking(move || media_zip::bundle(files, max_image_bytes)).await??)
}
