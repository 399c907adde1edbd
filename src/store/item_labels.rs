//! An item's labels gathered into one JSON array by the database, for an export's pages of
//! items: one row per item instead of one per label, as handing rows over one by one is
//! most of such a read's time.

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

/// A label as an array of `StoredLabel`'s fields, in each dialect.
const SQLITE_LABEL: &str = "json_array(u.pseudonym, l.pool, l.value, l.duration_ms, l.created_at,
    l.comment, l.guideline_version)";
const POSTGRES_LABEL: &str = "json_build_array(u.pseudonym, l.pool, l.value, l.duration_ms,
    l.created_at, l.comment, l.guideline_version)";

impl Store {
    /// The rows `items` selects (a query over `items` whose columns include `id`), each with
    /// a column `labels`: the item's labels as a JSON array of `StoredLabel` arrays, in the
    /// order they were given. Rows come in item id order.
    ///
    /// Each dialect gathers the way it does quickest (measured on 500,000 labels): SQLite
    /// looks up each item's labels by index; PostgreSQL groups the page's labels in one
    /// pass, which is several times quicker for it than one aggregate per item.
    pub(super) fn with_labels_sql(&self, items: &str) -> String {
        match self {
            Store::Sqlite(_) => format!(
                "SELECT scope.*, (SELECT json_group_array({SQLITE_LABEL} ORDER BY l.id)
                     FROM {WITH_PSEUDONYMS} WHERE l.item_id = scope.id) AS labels
                 FROM ({items}) scope ORDER BY scope.id"
            ),
            Store::Postgres(_) => format!(
                "WITH scope AS ({items}),
                 gathered AS (SELECT l.item_id, json_agg({POSTGRES_LABEL} ORDER BY l.id) AS labels
                     FROM {WITH_PSEUDONYMS}
                     WHERE l.item_id IN (SELECT id FROM scope) GROUP BY l.item_id)
                 SELECT scope.*, coalesce(gathered.labels, '[]'::json) AS labels
                 FROM scope LEFT JOIN gathered ON gathered.item_id = scope.id ORDER BY scope.id"
            ),
        }
    }
}

const WITH_PSEUDONYMS: &str = "labels l JOIN users u ON u.id = l.rater_id";
