//! Review and adjudication: the review queue, reviewers' final labels, a project's
//! reviewers and review settings.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::openapi::responses::*;
use crate::domain::audit::Action;
use crate::domain::kinds::Kind;
use crate::domain::project::Project;
use crate::domain::review::{
    assess, check_reason, Candidate, NewAdjudication, Reason, ReviewFeedback, ReviewLabel,
    ReviewSettings,
};
use crate::domain::user::{Role, User};
use crate::error::{AppError, Result};
use crate::store::review::{Adjudication, NamedReviewer};
use crate::store::Store;
use crate::web::error::empty;
use crate::web::extract::{JsonBody, Origin, ProjectAdmin, ProjectReviewer};
use crate::web::AppState;

/// Most items one page of the queue lists.
pub const MAX_QUEUE_PAGE: i64 = 200;
/// Candidates read from the store at a time while filling a page.
const SCAN_BATCH: i64 = 500;

/// One item in the review queue, with everything a reviewer weighs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewEntry {
    pub item_id: i64,
    pub external_id: Option<String>,
    pub reasons: Vec<Reason>,
    /// The labels' consensus under the project's kind; `null` on a tie.
    #[schema(value_type = Option<Object>)]
    pub majority: Option<Value>,
    /// Share of the labels agreeing with the majority.
    pub agreement: Option<f64>,
    #[schema(value_type = Vec<Object>)]
    pub tied: Vec<Value>,
    pub labels: Vec<ReviewLabel>,
    pub feedback: Vec<ReviewFeedback>,
}

/// A page of the review queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewPage {
    pub items: Vec<ReviewEntry>,
    /// Pass as `after` for the next page; `null` at the end of the queue.
    pub next_after: Option<i64>,
    pub settings: ReviewSettings,
}

/// The queue's filters, as the API and the page take them.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Only items in the queue for this reason: escalated, tie, low_agreement, reported,
    /// feedback or spot_check.
    pub reason: Option<String>,
    /// Items after this item id (the previous page's `next_after`).
    pub after: Option<i64>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// The queue's filters, checked.
#[derive(Debug, Clone, Copy)]
pub struct QueueFilter {
    pub reason: Option<Reason>,
    pub after: i64,
    pub limit: i64,
}

impl QueueQuery {
    pub fn check(&self) -> Result<QueueFilter> {
        let reason = self
            .reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(Reason::parse)
            .transpose()?;
        let limit = self.limit.unwrap_or(50);
        if !(1..=MAX_QUEUE_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be 1 to {MAX_QUEUE_PAGE}"),
            ));
        }
        Ok(QueueFilter {
            reason,
            after: self.after.unwrap_or(0).max(0),
            limit,
        })
    }
}

/// Whether the reviewer labelled the item themselves: they may not settle their own item.
fn labelled_by(candidate: &Candidate, reviewer: &User) -> bool {
    candidate.labels.iter().any(|l| l.rater_id == reviewer.id)
}

/// One page of the queue for this reviewer: items needing review (for the filter's reason),
/// without final labels, leaving out items the reviewer labelled.
pub async fn review_page(
    store: &Store,
    project: &Project,
    reviewer: &User,
    filter: QueueFilter,
) -> Result<ReviewPage> {
    let settings = store.review_settings(project.id).await?;
    let schema = project.schema();
    let mut items = Vec::new();
    let mut after = filter.after;
    loop {
        let batch = store
            .review_candidates(project.id, after, SCAN_BATCH)
            .await?;
        let exhausted = (batch.len() as i64) < SCAN_BATCH;
        for candidate in batch {
            after = candidate.item_id;
            if labelled_by(&candidate, reviewer) {
                continue;
            }
            let assessment = assess(schema, settings, project.policy.seed, &candidate);
            let wanted = match filter.reason {
                Some(reason) => assessment.reasons.contains(&reason),
                None => !assessment.reasons.is_empty(),
            };
            if !wanted {
                continue;
            }
            items.push(ReviewEntry {
                item_id: candidate.item_id,
                external_id: candidate.external_id,
                reasons: assessment.reasons,
                majority: assessment.consensus.value,
                agreement: assessment.consensus.agreement,
                tied: assessment.consensus.tied,
                labels: candidate.labels,
                feedback: candidate.feedback,
            });
            if items.len() as i64 == filter.limit {
                return Ok(ReviewPage {
                    items,
                    next_after: Some(after),
                    settings,
                });
            }
        }
        if exhausted {
            return Ok(ReviewPage {
                items,
                next_after: None,
                settings,
            });
        }
    }
}

/// The review queue: items escalated, tied, under the agreement threshold, reported, or
/// contradicted by process feedback, and a spot-check sample of settled items.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/review",
    tag = "review",
    params(("pid" = i64, Path, description = "Project id"), QueueQuery),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "A page of the review queue", body = ReviewPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Invalid),
    )
)]
pub async fn review_queue(
    State(state): State<AppState>,
    ProjectReviewer { project, reviewer }: ProjectReviewer,
    Query(query): Query<QueueQuery>,
) -> Result<Json<ReviewPage>> {
    let filter = query.check()?;
    Ok(Json(
        review_page(&state.store, &project, &reviewer, filter).await?,
    ))
}

/// A final label as the API answers it: the adjudication, the labels' majority it was set
/// against, and whether it overturned that majority.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdjudicationAnswer {
    #[serde(flatten)]
    pub adjudication: Adjudication,
    #[schema(value_type = Option<Object>)]
    pub majority: Option<Value>,
    /// Whether the final label differs from the labels' majority (false where they had
    /// none, as on a tie).
    pub overturned: bool,
}

/// Checks a final label against the project's kind (and, for spans and boxes, the item),
/// exactly as a rater's label is checked.
pub async fn checked_value(
    state: &AppState,
    project: &Project,
    item_id: i64,
    raw: &Value,
) -> Result<Value> {
    let schema = project.schema();
    let value = schema.parse(raw)?;
    if matches!(project.kind, Kind::Spans | Kind::Boxes) {
        let item = state.store.item(project.id, item_id).await?;
        schema.check_for_item("value", &value, &item.data)?;
    }
    Ok(value)
}

/// Sets an item's final label. It wins over every consensus in exports and the report, and
/// the item stops wanting labels.
pub async fn adjudicate(
    state: &AppState,
    project: &Project,
    reviewer: &User,
    origin: &Origin,
    item_id: i64,
    asked: NewAdjudication,
) -> Result<AdjudicationAnswer> {
    let reason = check_reason(&asked.reason)?;
    let candidate = state.store.review_candidate(project.id, item_id).await?;
    let value = checked_value(state, project, item_id, &asked.value).await?;
    if labelled_by(&candidate, reviewer) {
        return Err(AppError::Conflict(
            "you labelled this item, so another reviewer must set its final label".into(),
        ));
    }
    let values: Vec<Value> = candidate.labels.iter().map(|l| l.value.clone()).collect();
    let majority = project.schema().consensus(&values).value;
    let before = state.store.adjudication(project.id, item_id).await?;
    let entry = origin
        .entry(reviewer, Action::LabelAdjudicated)
        .project(project.id)
        .target("item", item_id)
        .details(json!({
            "before": before.as_ref().map(|b| &b.value),
            "after": &value,
            "majority": &majority,
            "reason": &reason,
        }));
    let adjudication = state
        .store
        .adjudicate(project.id, item_id, reviewer.id, &value, &reason, &entry)
        .await?;
    let overturned = majority
        .as_ref()
        .is_some_and(|m| !project.schema().matches(&value, m));
    Ok(AdjudicationAnswer {
        adjudication,
        majority,
        overturned,
    })
}

/// 201: sets the item's final label with a reason.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/items/{iid}/adjudication",
    tag = "review",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("iid" = i64, Path, description = "Item id")
    ),
    request_body = NewAdjudication,
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "The final label is set", body = AdjudicationAnswer),
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
pub async fn post_adjudication(
    State(state): State<AppState>,
    ProjectReviewer { project, reviewer }: ProjectReviewer,
    origin: Origin,
    Path((_, iid)): Path<(i64, i64)>,
    JsonBody(body): JsonBody<NewAdjudication>,
) -> Result<Response> {
    let answer = adjudicate(&state, &project, &reviewer, &origin, iid, body).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// The item's final label, if one is set.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/items/{iid}/adjudication",
    tag = "review",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("iid" = i64, Path, description = "Item id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The final label", body = Adjudication),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn get_adjudication(
    State(state): State<AppState>,
    ProjectReviewer { project, .. }: ProjectReviewer,
    Path((_, iid)): Path<(i64, i64)>,
) -> Result<Json<Adjudication>> {
    state
        .store
        .adjudication(project.id, iid)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("item {iid} has no final label")))
}

/// The raters the project names as reviewers.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/reviewers",
    tag = "review",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The project's named reviewers", body = Vec<NamedReviewer>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn reviewers(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<Vec<NamedReviewer>>> {
    Ok(Json(state.store.project_reviewers(project.id).await?))
}

/// A rater to name as a reviewer, by id or by name.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddReviewer {
    pub user_id: Option<i64>,
    pub name: Option<String>,
}

/// Names a rater a reviewer of the project (checked: an account made by an admin, with the
/// rater role; admins and reviewers review every project already).
pub async fn name_reviewer(
    state: &AppState,
    project: &Project,
    admin: &User,
    origin: &Origin,
    who: AddReviewer,
) -> Result<User> {
    let user = match (who.user_id, who.name.as_deref().map(str::trim)) {
        (Some(id), None) => state.store.user_by_id(id).await?,
        (None, Some(name)) if !name.is_empty() => state.store.user_by_name(name).await?,
        _ => {
            return Err(AppError::invalid(
                "user",
                "give either \"user_id\" or \"name\"",
            ))
        }
    }
    .ok_or_else(|| AppError::NotFound("no such person".into()))?;
    if user.role != Role::Rater || user.scope_project.is_some() {
        return Err(AppError::invalid(
            "user",
            format!(
                "{} is not a rater account: admins and reviewers review every project already, and the product's users cannot review",
                user.name
            ),
        ));
    }
    let entry = origin
        .entry(admin, Action::ReviewerAdded)
        .project(project.id)
        .target("user", user.id);
    state
        .store
        .add_project_reviewer(project.id, user.id, &entry)
        .await?;
    Ok(user)
}

/// 204: names a rater a reviewer of the project.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{pid}/reviewers",
    tag = "review",
    params(("pid" = i64, Path, description = "Project id")),
    request_body = AddReviewer,
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The rater reviews the project"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn add_reviewer(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    JsonBody(body): JsonBody<AddReviewer>,
) -> Result<Response> {
    name_reviewer(&state, &project, &admin, &origin, body).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// 204: the rater no longer reviews the project.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{pid}/reviewers/{uid}",
    tag = "review",
    params(
        ("pid" = i64, Path, description = "Project id"),
        ("uid" = i64, Path, description = "User id")
    ),
    security(("bearer_token" = [])),
    responses(
        (status = 204, description = "The rater no longer reviews the project"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn remove_reviewer(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    Path((_, uid)): Path<(i64, i64)>,
) -> Result<Response> {
    let entry = origin
        .entry(&admin, Action::ReviewerRemoved)
        .project(project.id)
        .target("user", uid);
    if !state
        .store
        .remove_project_reviewer(project.id, uid, &entry)
        .await?
    {
        return Err(AppError::NotFound(format!(
            "user {uid} is not a reviewer of this project"
        )));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// The project's review settings.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{pid}/review-settings",
    tag = "review",
    params(("pid" = i64, Path, description = "Project id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The review settings", body = ReviewSettings),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
pub async fn review_settings(
    State(state): State<AppState>,
    ProjectAdmin { project, .. }: ProjectAdmin,
) -> Result<Json<ReviewSettings>> {
    Ok(Json(state.store.review_settings(project.id).await?))
}

/// Changes the review settings; the entry in the audit log holds before and after.
pub async fn change_review_settings(
    state: &AppState,
    project: &Project,
    admin: &User,
    origin: &Origin,
    asked: ReviewSettings,
) -> Result<ReviewSettings> {
    let settings = asked.check()?;
    let before = state.store.review_settings(project.id).await?;
    let entry = origin
        .entry(admin, Action::ProjectUpdated)
        .project(project.id)
        .changes(&json!(before), &json!(settings));
    state
        .store
        .set_review_settings(project.id, settings, &entry)
        .await?;
    Ok(settings)
}

/// Sets the project's review settings.
#[utoipa::path(
    put,
    path = "/api/v1/projects/{pid}/review-settings",
    tag = "review",
    params(("pid" = i64, Path, description = "Project id")),
    request_body = ReviewSettings,
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The review settings as now set", body = ReviewSettings),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Invalid),
    )
)]
pub async fn put_review_settings(
    State(state): State<AppState>,
    ProjectAdmin { project, admin }: ProjectAdmin,
    origin: Origin,
    JsonBody(body): JsonBody<ReviewSettings>,
) -> Result<Json<ReviewSettings>> {
    Ok(Json(
        change_review_settings(&state, &project, &admin, &origin, body).await?,
    ))
}
