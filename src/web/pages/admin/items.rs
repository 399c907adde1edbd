//! Browsing a project's items: each with its human labels and process feedback side by side.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::export::ExportRow;
use crate::domain::project::Project;
use crate::error::Result;
use crate::web::extract::Admin;
use crate::web::render::{html, Layout};
use crate::web::AppState;

const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/items.html")]
struct ItemsPage {
    layout: Layout,
    project: Project,
    rows: Vec<ExportRow>,
    next_after: Option<i64>,
}

#[derive(Deserialize)]
pub struct ItemsQuery {
    #[serde(default)]
    after: i64,
}

pub async fn items_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path(pid): Path<i64>,
    Query(query): Query<ItemsQuery>,
) -> Result<Response> {
    let project = state.store.project(pid).await?;
    let rows = state
        .store
        .item_rows(&project, query.after, PAGE, true)
        .await?;
    let next_after = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let page = ItemsPage {
        layout: Layout::for_user(&session, admin).await?,
        project,
        rows,
        next_after,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "admin/item.html")]
struct ItemPage {
    layout: Layout,
    project: Project,
    row: ExportRow,
    text: String,
}

pub async fn item_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path((pid, iid)): Path<(i64, i64)>,
) -> Result<Response> {
    let project = state.store.project(pid).await?;
    let row = state.store.item_row(&project, iid).await?;
    let text = row
        .data
        .get(project.presentation.text_field.as_str())
        .and_then(|t| t.as_str())
        .map(String::from)
        .unwrap_or_else(|| serde_json::Value::Object(row.data.clone()).to_string());
    let page = ItemPage {
        layout: Layout::for_user(&session, admin).await?,
        project,
        row,
        text,
    };
    Ok(html(&page)?.into_response())
}
