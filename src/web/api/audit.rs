//! The audit log, read: filters by project, actor, action and time, newest first, with
//! keyset pagination (`before` is an entry id). The page `/admin/audit` reads it through
//! the same query.

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::openapi::responses::*;
use crate::domain::audit::Action;
use crate::error::{AppError, Result};
use crate::store::audit::{AuditFilter, AuditRecord};
use crate::web::extract::Admin;
use crate::web::AppState;

/// Entries on a page unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// The query as it arrives: every parameter optional, an empty one the same as none (a GET
/// form sends every field).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// A project id.
    pub project: Option<String>,
    /// A user id: who acted.
    pub actor: Option<String>,
    /// An action's name, such as `user.erased`.
    pub action: Option<String>,
    /// Entries at or after this time: RFC 3339 (`2026-12-01T09:00:00Z`), a date
    /// (`2026-12-01`, midnight UTC) or epoch milliseconds.
    pub since: Option<String>,
    /// Entries older than this entry id: the `next_before` of the previous page.
    pub before: Option<String>,
    /// Entries per page, 1 to 500 (default 50).
    pub limit: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn positive_id(name: &str, value: &Option<String>) -> Result<Option<i64>> {
    given(value)
        .map(|raw| {
            raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "{name}: {raw:?} is not an id (a whole number above 0)"
                ))
            })
        })
        .transpose()
}

/// A time given as RFC 3339, a date (midnight UTC), a date and minute as a browser's
/// `datetime-local` sends it (taken as UTC), or epoch milliseconds.
pub fn parse_time(raw: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let format = time::format_description::parse_borrowed::<2>;
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse().ok();
    }
    let ms = |t: time::OffsetDateTime| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok();
    if let Ok(t) = time::OffsetDateTime::parse(raw, &Rfc3339) {
        return ms(t);
    }
    if let Ok(minute) = format("[year]-[month]-[day]T[hour]:[minute]") {
        if let Ok(t) = time::PrimitiveDateTime::parse(raw, &minute) {
            return ms(t.assume_utc());
        }
    }
    let day = format("[year]-[month]-[day]").ok()?;
    time::Date::parse(raw, &day)
        .ok()
        .and_then(|d| ms(d.midnight().assume_utc()))
}

impl AuditQuery {
    /// The store's filter, or a 400 naming the parameter at fault. One more entry than
    /// the page holds is asked for, to know whether there is a next page.
    pub fn filter(&self) -> Result<AuditFilter> {
        let action = given(&self.action)
            .map(|raw| {
                Action::ALL
                    .iter()
                    .find(|a| a.as_str() == raw)
                    .map(|a| a.as_str().to_string())
                    .ok_or_else(|| {
                        AppError::BadRequest(format!(
                            "action: {raw:?} is not an action the log records"
                        ))
                    })
            })
            .transpose()?;
        let since = given(&self.since)
            .map(|raw| {
                parse_time(raw).ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "since: {raw:?} is not a time; give RFC 3339 (2026-12-01T09:00:00Z), a date or epoch milliseconds"
                    ))
                })
            })
            .transpose()?;
        let limit = match given(&self.limit) {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "limit: {raw:?} is not a whole number from 1 to {MAX_LIMIT}"
                    ))
                })?,
        };
        Ok(AuditFilter {
            project_id: positive_id("project", &self.project)?,
            actor_id: positive_id("actor", &self.actor)?,
            action,
            since,
            before: positive_id("before", &self.before)?,
            limit: limit + 1,
        })
    }

    /// The same query for the page after `next_before`, as a query string.
    pub fn next_query(&self, next_before: i64) -> String {
        let next = AuditQuery {
            before: Some(next_before.to_string()),
            ..self.clone()
        };
        let pairs = [
            ("project", &next.project),
            ("actor", &next.actor),
            ("action", &next.action),
            ("since", &next.since),
            ("before", &next.before),
            ("limit", &next.limit),
        ];
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            if let Some(value) = given(value) {
                out.append_pair(name, value);
            }
        }
        out.finish()
    }
}

/// Reads one page of entries: the entries and, when there are older ones, the id to pass
/// as `before` for the next page.
pub async fn audit_page(
    state: &AppState,
    query: &AuditQuery,
) -> Result<(Vec<AuditRecord>, Option<i64>)> {
    let filter = query.filter()?;
    let page = usize::try_from(filter.limit - 1).unwrap_or(0);
    let mut entries = state.store.audit_entries(&filter).await?;
    let next_before = if entries.len() > page {
        entries.truncate(page);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok((entries, next_before))
}

/// One entry as the API gives it: `details` as JSON.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// Epoch milliseconds.
    pub at: i64,
    pub actor_id: Option<i64>,
    /// The actor's name as it reads today (an erased person's pseudonym).
    pub actor: Option<String>,
    pub action: String,
    pub project_id: Option<i64>,
    /// What was acted on, as `kind:id` (`user:12`, `item:7`).
    pub target: Option<String>,
    /// Before and after, a reason, counts.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The client's address, or `cli` for the command line.
    pub source: Option<String>,
}

impl From<AuditRecord> for AuditEntry {
    fn from(r: AuditRecord) -> Self {
        AuditEntry {
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            actor: r.actor,
            action: r.action,
            project_id: r.project_id,
            target: r.target,
            source: r.source,
        }
    }
}

/// A page of the audit log.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next_before: Option<i64>,
}

/// The audit log, newest first; a `Link` header (`rel="next"`) names the next page.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "One page of entries", body = AuditLog),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub async fn audit_log(
    State(state): State<AppState>,
    Admin(_): Admin,
    Query(query): Query<AuditQuery>,
) -> Result<Response> {
    let (entries, next_before) = audit_page(&state, &query).await?;
    let body = AuditLog {
        entries: entries.into_iter().map(AuditEntry::from).collect(),
        next_before,
    };
    let mut response = Json(body).into_response();
    if let Some(next) = next_before {
        let link = format!("</api/v1/audit?{}>; rel=\"next\"", query.next_query(next));
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_accepted_form() {
        assert_eq!(parse_time("1796040000000"), Some(1_796_040_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_time("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_time("1970-01-01T00:01"), Some(60_000));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time(""), None);
    }

    #[test]
    fn bad_parameters_are_named() {
        let bad = |query: AuditQuery, name: &str| {
            let message = query.filter().unwrap_err().to_string();
            assert!(message.starts_with(name), "{message}");
        };
        bad(
            AuditQuery {
                limit: Some("0".into()),
                ..Default::default()
            },
            "limit",
        );
        bad(
            AuditQuery {
                limit: Some("501".into()),
                ..Default::default()
            },
            "limit",
        );
        bad(
            AuditQuery {
                since: Some("soon".into()),
                ..Default::default()
            },
            "since",
        );
        bad(
            AuditQuery {
                before: Some("-3".into()),
                ..Default::default()
            },
            "before",
        );
        bad(
            AuditQuery {
                project: Some("x".into()),
                ..Default::default()
            },
            "project",
        );
        bad(
            AuditQuery {
                action: Some("user.flew".into()),
                ..Default::default()
            },
            "action",
        );
        let empty = AuditQuery {
            project: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(empty.filter().unwrap().limit, DEFAULT_LIMIT + 1);
    }
}
