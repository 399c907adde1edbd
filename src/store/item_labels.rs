//! An item's labels gathered into one JSON array by the database, for the reads that take
//! a project's labels in bulk (exports and reports): one row per item instead of one per
//! label, as handing rows over one by one is most of such a read's time.

use serde::Deserialize;

use super::Store;

/// One label as the array the item's row holds (fields in this order).
#[derive(Deserialize)]
pub(super) struct StoredLabel {
    pub pseudonym: String,
    pub pool: String,
    pub value: String,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
    pub comment: Option<String>,
    pub guideline_version: Option<i64>,
}

/// What the items of a read are: a page of a project's items, or all of them (every
/// label of the project is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope<'a> {
    Page,
    /// The labels (`l`) that meet this condition, such as `l.project_id = $1`, with the
    /// items they are on.
    Project(&'a str),
}

/// A label as an array of `StoredLabel`'s fields, in each dialect.
const SQLITE_LABEL: &str = "json_array(u.pseudonym, l.pool, l.value, l.duration_ms, l.created_at,
    l.comment, l.guideline_version)";
const POSTGRES_LABEL: &str = "json_build_array(u.pseudonym, l.pool, l.value, l.duration_ms,
    l.created_at, l.comment, l.guideline_version)";

/// A label as an array of `ReportLabel`'s fields: the rater by id (no join with users, which
/// was a third of SQLite's work on a report's read) and no comment. SQLite keeps booleans
/// as 0 and 1; json('true') puts a JSON boolean in the array.
const SQLITE_REPORT_LABEL: &str = "json_array(l.rater_id, l.pool, l.value, l.duration_ms,
    l.created_at, l.guideline_version,
    CASE l.prediction_shown WHEN 1 THEN json('true') WHEN 0 THEN json('false') END)";
const POSTGRES_REPORT_LABEL: &str = "json_build_array(l.rater_id, l.pool, l.value,
    l.duration_ms, l.created_at, l.guideline_version, l.prediction_shown)";

/// One label as a report reads it (fields in this order); the rater's pseudonym is looked up
/// by id once per rater.
#[derive(Deserialize)]
pub(super) struct ReportLabel {
    pub rater_id: i64,
    pub pool: String,
    pub value: String,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
    pub guideline_version: Option<i64>,
    pub prediction_shown: Option<bool>,
}

/// Which fields each label of the gathered array has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fields {
    /// `StoredLabel`: everything an export writes.
    Export,
    /// `ReportLabel`.
    Report,
}

impl Store {
    /// The rows `items` selects (a query over `items` whose columns include `id`), each with
    /// a column `labels`: the item's labels as a JSON array of `StoredLabel` (or
    /// `ReportLabel`) arrays, in the order they were given. Rows come in item id order.
    ///
    /// Each dialect gathers the way it does quickest (measured on 500,000 labels): SQLite
    /// looks up each item's labels by index; PostgreSQL groups the labels in one pass,
    /// which is several times quicker for it than one aggregate per item.
    pub(super) fn with_labels_sql(&self, items: &str, scope: Scope<'_>, fields: Fields) -> String {
        let (label, from) = match (self, fields) {
            (Store::Sqlite(_), Fields::Export) => (SQLITE_LABEL, WITH_PSEUDONYMS),
            (Store::Sqlite(_), Fields::Report) => (SQLITE_REPORT_LABEL, "labels l"),
            (Store::Postgres(_), Fields::Export) => (POSTGRES_LABEL, WITH_PSEUDONYMS),
            (Store::Postgres(_), Fields::Report) => (POSTGRES_REPORT_LABEL, "labels l"),
        };
        match (self, scope) {
            (Store::Sqlite(_), _) => format!(
                "SELECT scope.*, (SELECT json_group_array({label} ORDER BY l.id)
                     FROM {from} WHERE l.item_id = scope.id) AS labels
                 FROM ({items}) scope ORDER BY scope.id"
            ),
            (Store::Postgres(_), Scope::Page) => format!(
                "WITH scope AS ({items}),
                 gathered AS (SELECT l.item_id, json_agg({label} ORDER BY l.id) AS labels
                     FROM {from}
                     WHERE l.item_id IN (SELECT id FROM scope) GROUP BY l.item_id)
                 SELECT scope.*, coalesce(gathered.labels, '[]'::json) AS labels
                 FROM scope LEFT JOIN gathered ON gathered.item_id = scope.id ORDER BY scope.id"
            ),
            (Store::Postgres(_), Scope::Project(labels_where)) => format!(
                "SELECT scope.*, coalesce(gathered.labels, '[]'::json) AS labels
                 FROM ({items}) scope LEFT JOIN (
                     SELECT l.item_id, json_agg({label} ORDER BY l.id) AS labels
                     FROM {from}
                     WHERE {labels_where} GROUP BY l.item_id) gathered ON gathered.item_id = scope.id
                 ORDER BY scope.id"
            ),
        }
    }
}

const WITH_PSEUDONYMS: &str = "labels l JOIN users u ON u.id = l.rater_id";
