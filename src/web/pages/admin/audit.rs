//! The audit log page: the same filters as `GET /api/v1/audit` in a plain GET form, a table
//! of entries with their changes read as before → after, and a link to the next page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use tower_sessions::Session;

use crate::domain::audit::Action;
use crate::error::{AppError, Result};
use crate::store::audit::AuditRecord;
use crate::web::api::{audit_page, AuditQuery};
use crate::web::extract::Admin;
use crate::web::render::{html_with_status, timestamp, Layout};
use crate::web::AppState;

/// One changed or recorded value: `before → after` for changes, the value alone otherwise.
pub struct DetailLine {
    pub key: String,
    pub before: Option<String>,
    pub after: String,
}

/// What was acted on, in words, with a link where there is a page for it.
pub struct Target {
    pub text: String,
    pub href: Option<String>,
}

pub struct Row {
    pub id: i64,
    pub when: String,
    pub who: String,
    pub action: String,
    pub project: Option<(i64, String)>,
    pub target: Option<Target>,
    pub details: Vec<DetailLine>,
    pub source: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    query: AuditQuery,
    rows: Vec<Row>,
    next: Option<String>,
    projects: Vec<(i64, String)>,
    people: Vec<(i64, String)>,
    actions: Vec<&'static str>,
    error: Option<String>,
}

impl AuditPage {
    fn chosen(&self, value: &Option<String>, option: &str) -> bool {
        value.as_deref().map(str::trim) == Some(option)
    }

    fn value<'a>(&self, value: &'a Option<String>) -> &'a str {
        value.as_deref().unwrap_or_default()
    }
}

/// A recorded value as people read it: text as it is, a list of texts joined by commas.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "—".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".to_string(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The details of an entry as lines: changes key by key (`before → after`), anything else
/// as it was recorded.
pub fn detail_lines(details: &str) -> Vec<DetailLine> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(details) else {
        return Vec::new();
    };
    if let (Some(Value::Object(before)), Some(Value::Object(after))) =
        (map.get("before"), map.get("after"))
    {
        let keys: Vec<&String> = after.keys().chain(before.keys()).collect();
        let mut seen = std::collections::HashSet::new();
        return keys
            .into_iter()
            .filter(|k| seen.insert(*k))
            .map(|key| DetailLine {
                key: key.clone(),
                before: Some(shown(before.get(key).unwrap_or(&Value::Null))),
                after: shown(after.get(key).unwrap_or(&Value::Null)),
            })
            .collect();
    }
    map.iter()
        .map(|(key, value)| DetailLine {
            key: key.clone(),
            before: None,
            after: shown(value),
        })
        .collect()
}

fn target(
    raw: &str,
    project_id: Option<i64>,
    people: &HashMap<i64, String>,
    projects: &HashMap<i64, String>,
) -> Target {
    let (kind, id) = match raw.split_once(':') {
        Some((kind, id)) => (kind, id.parse::<i64>().ok()),
        None => (raw, None),
    };
    let plain = Target {
        text: raw.to_string(),
        href: None,
    };
    let Some(id) = id else {
        return plain;
    };
    match kind {
        "user" => Target {
            text: people
                .get(&id)
                .map_or_else(|| format!("user {id}"), |name| format!("user {name}")),
            href: Some(format!("/admin/users#user-{id}")),
        },
        "project" => Target {
            text: projects
                .get(&id)
                .map_or_else(|| format!("project {id}"), |name| format!("project {name}")),
            href: Some(format!("/admin/projects/{id}")),
        },
        "item" => Target {
            text: format!("item {id}"),
            href: project_id.map(|pid| format!("/admin/projects/{pid}/items/{id}")),
        },
        _ => Target {
            text: format!("{} {id}", kind.replace('_', " ")),
            href: None,
        },
    }
}

fn row(entry: AuditRecord, people: &HashMap<i64, String>, projects: &HashMap<i64, String>) -> Row {
    let who = match (&entry.actor, entry.actor_id, entry.source.as_deref()) {
        (Some(name), _, _) => name.clone(),
        (None, Some(id), _) => format!("user {id}"),
        (None, None, Some("cli")) => "the command line".to_string(),
        (None, None, _) => "tally".to_string(),
    };
    Row {
        id: entry.id,
        when: timestamp(&entry.at),
        who,
        project: entry.project_id.map(|id| {
            let name = projects
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("project {id}"));
            (id, name)
        }),
        target: entry
            .target
            .as_deref()
            .map(|t| target(t, entry.project_id, people, projects)),
        details: detail_lines(&entry.details),
        source: entry.source.unwrap_or_else(|| "—".to_string()),
        action: entry.action,
    }
}

/// The log, filtered, one page at a time.
pub async fn audit_page_html(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Query(query): Query<AuditQuery>,
) -> Result<Response> {
    let projects: Vec<(i64, String)> = state
        .store
        .projects()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let people: Vec<(i64, String)> = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let (rows, next, error, status) = match audit_page(&state, &query).await {
        Ok((entries, next_before)) => {
            let people_by_id: HashMap<i64, String> = people.iter().cloned().collect();
            let projects_by_id: HashMap<i64, String> = projects.iter().cloned().collect();
            let rows = entries
                .into_iter()
                .map(|e| row(e, &people_by_id, &projects_by_id))
                .collect();
            let next = next_before.map(|before| query.next_query(before));
            (rows, next, None, StatusCode::OK)
        }
        Err(e @ AppError::BadRequest(_)) => {
            (Vec::new(), None, Some(e.public_message()), e.status())
        }
        Err(e) => return Err(e),
    };
    let page = AuditPage {
        layout: Layout::for_user(&session, admin).await?,
        query,
        rows,
        next,
        projects,
        people,
        actions: Action::ALL.iter().map(|a| a.as_str()).collect(),
        error,
    };
    Ok(html_with_status(status, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_before_and_after() {
        let lines = detail_lines(r#"{"before":{"pool":"generalist"},"after":{"pool":"expert"}}"#);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].key, "pool");
        assert_eq!(lines[0].before.as_deref(), Some("generalist"));
        assert_eq!(lines[0].after, "expert");
        let plain = detail_lines(r#"{"imported":3}"#);
        assert_eq!(
            (plain[0].key.as_str(), plain[0].after.as_str()),
            ("imported", "3")
        );
        assert!(detail_lines("not json").is_empty());
        let lists = detail_lines(r#"{"before":{"pools":[]},"after":{"pools":["expert","user"]}}"#);
        assert_eq!(lists[0].before.as_deref(), Some("none"));
        assert_eq!(lists[0].after, "expert, user");
    }
}
