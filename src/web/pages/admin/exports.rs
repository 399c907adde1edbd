//! The export form: the same options as the API, sent with a CSRF token, answered with
//! the file (a new dataset version); and the versions as the project page lists them.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::audit::Action;
use crate::domain::export::card::DatasetCard;
use crate::domain::export::RawExportOptions;
use crate::error::Result;
use crate::store::datasets::VersionRow;
use crate::web::api::{start_export, stream_run};
use crate::web::csrf;
use crate::web::extract::{Admin, Origin};
use crate::web::AppState;

#[derive(Deserialize)]
pub struct ExportForm {
    csrf: String,
    #[serde(flatten)]
    options: RawExportOptions,
}

pub async fn export_form(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(pid): Path<i64>,
    Form(form): Form<ExportForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    let project = state.store.project(pid).await?;
    let entry = origin.entry(&admin, Action::ExportCreated);
    let run = start_export(&state.store, &project, &form.options, &admin.name, entry).await?;
    Ok(stream_run(&project, run))
}

/// A dataset version as the project page lists it.
pub(crate) struct VersionView {
    pub id: i64,
    pub created: String,
    pub created_by: String,
    pub format: String,
    pub rows: i64,
    pub labels: i64,
    pub size: String,
    pub sha_short: String,
    pub agreement: String,
}

impl From<VersionRow> for VersionView {
    fn from(row: VersionRow) -> Self {
        let card: Option<DatasetCard> = row
            .card
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok());
        VersionView {
            id: row.id,
            created: crate::domain::rfc3339_ms(row.created_at),
            created_by: row.created_by,
            format: row.format,
            rows: row.row_count,
            labels: row.label_count,
            size: human_size(row.bytes),
            sha_short: row
                .content_sha256
                .as_deref()
                .map(|s| s.chars().take(12).collect())
                .unwrap_or_default(),
            agreement: card
                .map(|c| c.quality.agreement.summary)
                .unwrap_or_default(),
        }
    }
}

fn human_size(bytes: i64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}
