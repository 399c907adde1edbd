use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::kinds::{from_stored, Kind};
use crate::domain::presentation::RaterItem;
use crate::domain::project::Project;
use crate::domain::text::{check_text, MAX_NOTE_CHARS, MAX_REASON_CHARS};
use crate::error::{AppError, Result};
use crate::store::history::OwnLabel;
use crate::store::items::ItemView;
use crate::store::labels::{NewLabel, QualificationFeedback};
use crate::web::error::empty;
use crate::web::extract::{ClientIp, JsonBody, ProjectRater};
use crate::web::AppState;

use super::openapi::responses::*;

/// The item leased to the rater.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NextItem {
    pub item: RaterItem,
}

/// A label as stored: the value after the project's checks.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LabelGiven {
    pub item_id: i64,
    /// The value as the project's kind reads it.
    pub value: Value,
    /// On a qualification question: whether the answer was right, and the right answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualification: Option<QualificationFeedback>,
}

/// The rater's last labels, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct History {
    pub labels: Vec<OwnLabel>,
}

/// The item as this rater may see it: hidden fields left out, the pre-label only when the
/// project shows it to this rater.
pub fn rater_item(project: &Project, rater_id: i64, view: ItemView) -> RaterItem {
    let shown = project.presentation.show_prediction;
    let prediction = view
        .prediction
        .as_deref()
        .filter(|_| shown)
        .map(from_stored);
    project
        .presentation
        .rater_item(rater_id, view.id, view.external_id, &view.data, prediction)
}

/// 200 with the leased item, or 204 when nothing is left for this rater.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/next",
    tag = "labelling",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The next item, leased to this rater", body = NextItem),
        (status = 204, description = "Nothing is left for this rater"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub async fn next_item(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
) -> Result<Response> {
    Ok(match state.store.next_item(&project, &rater).await? {
        Some(view) => {
            let item = rater_item(&project, rater.id, view);
            Json(NextItem { item }).into_response()
        }
        None => empty(StatusCode::NO_CONTENT),
    })
}

/// An answer: its value in the shape of the project's kind.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    /// A label (single choice), a list of labels (multi choice), a number, a text, spans or
    /// boxes, as the project's kind asks.
    value: Value,
    duration_ms: Option<i64>,
    comment: Option<String>,
}

/// An answer as it arrives from the API or a form, before any check.
pub struct Answer {
    pub value: Value,
    pub duration_ms: Option<i64>,
    pub comment: Option<String>,
}

/// The one check of an answer behind the API and the pages: the value against the
/// project's kind (and against the item, for spans and boxes), the comment, the time.
pub async fn checked_label(
    state: &AppState,
    project: &Project,
    rater_id: i64,
    item_id: i64,
    answer: Answer,
) -> Result<NewLabel> {
    let schema = project.schema();
    let value = schema.parse(&answer.value)?;
    if matches!(project.kind, Kind::Spans | Kind::Boxes) {
        let item = state.store.item(project.id, item_id).await?;
        schema.check_for_item("value", &value, &item.data)?;
    }
    let comment = match answer.comment.map(|c| c.trim().to_string()) {
        Some(c) if c.is_empty() => None,
        Some(_) if !project.settings.comment => {
            return Err(AppError::invalid(
                "comment",
                "this project takes no comments",
            ));
        }
        Some(c) => {
            check_text("comment", &c, MAX_NOTE_CHARS)?;
            Some(c)
        }
        None => None,
    };
    Ok(NewLabel {
        item_id,
        rater_id,
        value,
        duration_ms: check_duration(answer.duration_ms)?,
        comment,
    })
}

/// Longest time stored for one label: a day; longer means the page sat open.
const MAX_DURATION_MS: i64 = 86_400_000;

pub fn check_duration(duration_ms: Option<i64>) -> Result<Option<i64>> {
    match duration_ms {
        Some(ms) if ms < 0 => Err(AppError::invalid("duration_ms", "must not be negative")),
        Some(ms) => Ok(Some(ms.min(MAX_DURATION_MS))),
        None => Ok(None),
    }
}

/// Labels an item this rater holds a lease on (from `next`).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/items/{iid}/labels",
    tag = "labelling",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("iid" = i64, Path, description = "Item id")
    ),
    request_body = LabelBody,
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The label was stored", body = LabelGiven),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
        (status = 429, response = TooManyRequests),
    )
)]
pub async fn submit_label(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    ClientIp(ip): ClientIp,
    Path((_, iid)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<LabelBody>,
) -> Result<(StatusCode, Json<LabelGiven>)> {
    if rater.scope_project.is_some() {
        state.limits.check_label(rater.id, ip)?;
    }
    let answer = Answer {
        value: body.value,
        duration_ms: body.duration_ms,
        comment: body.comment,
    };
    let label = checked_label(&state, &project, rater.id, iid, answer).await?;
    let outcome = state.store.submit_label(&project, &label).await?;
    state.metrics.label_submitted(project.id, outcome.pool);
    let body = LabelGiven {
        item_id: iid,
        value: label.value,
        qualification: outcome.qualification,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// 200: the rater's own label changed, within the project's edit window (409 after it).
#[utoipa::path(
    put,
    path = "/api/v1/projects/{pid}/items/{iid}/labels",
    tag = "labelling",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("iid" = i64, Path, description = "Item id")
    ),
    request_body = LabelBody,
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The label was changed", body = LabelGiven),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn edit_label(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    Path((_, iid)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<LabelBody>,
) -> Result<Json<LabelGiven>> {
    let answer = Answer {
        value: body.value,
        duration_ms: body.duration_ms,
        comment: body.comment,
    };
    let label = checked_label(&state, &project, rater.id, iid, answer).await?;
    state.store.edit_label(&project, &label).await?;
    Ok(Json(LabelGiven {
        item_id: iid,
        value: label.value,
        qualification: None,
    }))
}

/// Most labels the history lists.
pub const HISTORY_LENGTH: i64 = 50;

/// The rater's last labels in the project, newest first, with until when each may change.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/history",
    tag = "labelling",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The rater's last labels", body = History),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
) -> Result<Json<History>> {
    let labels = state
        .store
        .history(&project, rater.id, HISTORY_LENGTH)
        .await?;
    Ok(Json(History { labels }))
}

/// Why the rater skips the item, if they say.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkipBody {
    reason: Option<String>,
}

/// 204; the body is optional: `{"reason": "..."}` (or nothing, or `null`).
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/items/{iid}/skip",
    tag = "labelling",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("iid" = i64, Path, description = "Item id")
    ),
    request_body(content = Option<SkipBody>, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The item was skipped"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
    )
)]
pub async fn skip_item(
    State(state): State<AppState>,
    ProjectRater { project, rater }: ProjectRater,
    Path((_, iid)): Path<(i64, i64)>,
    body: Bytes,
) -> Result<Response> {
    let skip: SkipBody = if body.iter().all(u8::is_ascii_whitespace) {
        SkipBody::default()
    } else {
        serde_json::from_slice::<Option<SkipBody>>(&body)
            .map_err(|e| AppError::invalid("body", e.to_string()))?
            .unwrap_or_default()
    };
    if let Some(reason) = &skip.reason {
        check_text("reason", reason, MAX_REASON_CHARS)?;
    }
    state
        .store
        .skip_item(&project, iid, rater.id, skip.reason.as_deref())
        .await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
