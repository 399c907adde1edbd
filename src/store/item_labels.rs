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

/// A label as an array of `ReportLabel`'s fields, on PostgreSQL: the rater by id (looked up
/// once per rater, not joined per label) and no comment. SQLite reads a report's labels as
/// rows instead, on a connection of its own (`report::read_items_sqlite`).
pub(super) const POSTGRES_REPORT_LABEL: &str = "json_build_array(l.rater_id, l.pool, l.value,
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

impl Store {
    /// The rows `items` selects (a query over `items` whose columns include `id`), each with
    /// a column `labels`: the item's labels as a JSON array of `StoredLabel` arrays, in the
    /// order they were given. Rows come in item id order.
    pub(super) fn with_labels_sql(&self, items: &str, scope: Scope<'_>) -> String {
        let label = match self {
            Store::Sqlite(_) => SQLITE_LABEL,
            Store::Postgres(_) => POSTGRES_LABEL,
        };
        self.gathered_sql(items, scope, label, WITH_PSEUDONYMS)
    }

    /// The rows `items` selects, each with a column `labels`: its labels (`l`, read from
    /// `from`) as a JSON array of `label`, in the order they were given.
    ///
    /// Each dialect gathers the way it does quickest (measured on 500,000 labels): SQLite
    /// looks up each item's labels by index; PostgreSQL groups the labels in one pass,
    /// which is several times quicker for it than one aggregate per item.
    pub(super) fn gathered_sql(
        &self,
        items: &str,
        scope: Scope<'_>,
        label: &str,
        from: &str,
    ) -> String {
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
