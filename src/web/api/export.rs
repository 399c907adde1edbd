use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::stream;
use serde::Deserialize;

use crate::domain::export::ExportRow;
use crate::domain::project::Project;
use crate::error::{AppError, Result};
use crate::store::Store;
use crate::web::extract::Admin;
use crate::web::AppState;

use super::openapi::responses::*;

/// How to export: `format` is `jsonl` (the default, also `ndjson`) or `csv`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `jsonl` (default), `ndjson` or `csv`.
    format: Option<String>,
    /// Include gold answers.
    #[serde(default)]
    include_gold: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum ExportFormat {
    Jsonl,
    Csv,
}

impl ExportFormat {
    fn parse(s: Option<&str>) -> Result<Self> {
        match s.unwrap_or("jsonl") {
            "jsonl" | "ndjson" => Ok(ExportFormat::Jsonl),
            "csv" => Ok(ExportFormat::Csv),
            other => Err(AppError::invalid(
                "format",
                format!("unknown export format {other:?}: use jsonl or csv"),
            )),
        }
    }
}

/// Streams one row per item, a page of items at a time.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/export",
    tag = "projects",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ExportQuery
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "One row per item with its labels", content(
            (String = "application/x-ndjson"),
            (String = "text/csv")
        ), headers(("Content-Disposition" = String, description = "The file name"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn export_project(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(pid): Path<i64>,
    Query(query): Query<ExportQuery>,
) -> Result<Response> {
    let format = ExportFormat::parse(query.format.as_deref())?;
    let project = state.store.project(pid).await?;
    let (content_type, ending) = match format {
        ExportFormat::Jsonl => ("application/x-ndjson", "jsonl"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let disposition = format!(
        "attachment; filename=\"tally-project-{}.{ending}\"",
        project.id
    );
    let body = Body::from_stream(export_stream(
        state.store.clone(),
        project.clone(),
        format,
        query.include_gold,
    ));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

struct Cursor {
    store: Store,
    project: Project,
    after: i64,
    first: bool,
    done: bool,
}

fn export_stream(
    store: Store,
    project: Project,
    format: ExportFormat,
    include_gold: bool,
) -> impl futures::Stream<Item = std::result::Result<Bytes, AppError>> {
    let cursor = Cursor {
        store,
        project,
        after: 0,
        first: true,
        done: false,
    };
    stream::unfold(cursor, move |mut cursor| async move {
        if cursor.done {
            return None;
        }
        let page = match cursor
            .store
            .export_page(&cursor.project, cursor.after, include_gold)
            .await
        {
            Ok(page) => page,
            Err(e) => {
                cursor.done = true;
                return Some((Err(e), cursor));
            }
        };
        cursor.done = page.is_empty();
        let chunk = encode_page(&page, format, cursor.first);
        cursor.first = false;
        if let Some(last) = page.last() {
            cursor.after = last.id;
        }
        Some((chunk, cursor))
    })
}

fn encode_page(
    page: &[ExportRow],
    format: ExportFormat,
    first: bool,
) -> std::result::Result<Bytes, AppError> {
    let mut out = Vec::new();
    match format {
        ExportFormat::Jsonl => {
            for row in page {
                serde_json::to_writer(&mut out, row)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("encoding export row: {e}")))?;
                out.push(b'\n');
            }
        }
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(&mut out);
            let csv_error =
                |e: csv::Error| AppError::Internal(anyhow::anyhow!("encoding export CSV: {e}"));
            if first {
                writer
                    .write_record(ExportRow::CSV_HEADER)
                    .map_err(csv_error)?;
            }
            for row in page {
                writer.write_record(row.csv_fields()).map_err(csv_error)?;
            }
            writer.flush().map_err(|e| AppError::Internal(e.into()))?;
            drop(writer);
        }
    }
    Ok(Bytes::from(out))
}
