//! Reading a project out as rows, a page of items at a time, so exports stream.

use serde_json::{Map, Value};
use sqlx::FromRow;

use super::item_labels::StoredLabel;
use super::{on_pool, sqlite_read, Store};
use crate::domain::export::{
    ExportAdjudication, ExportFeedback, ExportLabel, ExportOptions, ExportRow,
};
use crate::domain::kinds::{from_stored, Schema};
use crate::domain::project::Project;
use crate::error::Result;

/// Which labels and items a read keeps.
#[derive(Debug, Clone, Default)]
struct Keep<'a> {
    gold: bool,
    feedback: bool,
    /// Pools whose labels are kept; every pool when empty.
    pools: &'a [crate::domain::policy::Pool],
}

impl Keep<'_> {
    fn pool(&self, pool: &str) -> bool {
        self.pools.is_empty() || self.pools.iter().any(|p| p.as_str() == pool)
    }
}

pub const EXPORT_PAGE: i64 = 500;

/// An item and its labels in label order: one row per item, the labels gathered into a
/// JSON array by the database, so a page of items is read as one row each instead of one
/// row per label (reading rows is most of an export's time).
#[derive(FromRow)]
struct ItemRow {
    id: i64,
    external_id: Option<String>,
    #[sqlx(json)]
    data: Map<String, Value>,
    gold: Option<String>,
    #[sqlx(json)]
    labels: Vec<StoredLabel>,
}

#[derive(FromRow)]
struct FeedbackRow {
    item_id: i64,
    source: String,
    value: String,
    raw_value: String,
    weight: f64,
    occurred_at: i64,
    #[sqlx(json)]
    context: Map<String, Value>,
}

#[derive(FromRow)]
struct AdjudicationRow {
    item_id: i64,
    pseudonym: String,
    value: String,
    reason: String,
    created_at: i64,
}

impl Store {
    /// The next page of export rows after item id `after`, in id order; empty at the end.
    /// Labels of pools the options leave out are not read into the rows.
    pub async fn export_page(
        &self,
        project: &Project,
        after: i64,
        options: &ExportOptions,
    ) -> Result<Vec<ExportRow>> {
        let keep = Keep {
            gold: options.include_gold,
            feedback: options.include_feedback,
            pools: &options.pools,
        };
        self.read_rows(project, after, EXPORT_PAGE, keep).await
    }

    /// The data of the items an export covers, a page at a time after item id `after`:
    /// typed formats learn the fields' types from it before writing.
    pub async fn item_data_page(
        &self,
        project_id: i64,
        after: i64,
        include_gold: bool,
    ) -> Result<Vec<(i64, Map<String, Value>)>> {
        let sql = "SELECT id, data FROM items
                   WHERE project_id = $1 AND id > $2 AND ($3 OR (NOT is_gold AND NOT is_qualification))
                   ORDER BY id LIMIT $4";
        let rows: Vec<(i64, sqlx::types::Json<Map<String, Value>>)> = on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(project_id)
                .bind(after)
                .bind(include_gold)
                .bind(EXPORT_PAGE * 10)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(id, data)| (id, data.0)).collect())
    }

    /// One item with its labels and feedback, as an admin reviews it (gold included).
    pub async fn item_row(&self, project: &Project, item_id: i64) -> Result<ExportRow> {
        self.item_rows(project, item_id.saturating_sub(1), 1, true)
            .await?
            .into_iter()
            .find(|row| row.id == item_id)
            .ok_or_else(|| crate::error::AppError::not_found("item"))
    }

    /// Up to `limit` items after item id `after`, with their labels and feedback.
    pub async fn item_rows(
        &self,
        project: &Project,
        after: i64,
        limit: i64,
        include_gold: bool,
    ) -> Result<Vec<ExportRow>> {
        let keep = Keep {
            gold: include_gold,
            feedback: true,
            pools: &[],
        };
        self.read_rows(project, after, limit, keep).await
    }

    async fn read_rows(
        &self,
        project: &Project,
        after: i64,
        limit: i64,
        keep: Keep<'_>,
    ) -> Result<Vec<ExportRow>> {
        let project_id = project.id;
        let include_gold = keep.gold;
        let items_sql = self.with_labels_sql(
            "SELECT i.id, i.external_id, i.data, i.gold FROM items i
             WHERE i.project_id = $1 AND i.id > $2 AND ($4 OR (NOT i.is_gold AND NOT i.is_qualification))
             ORDER BY i.id LIMIT $3",
        );
        let read = (project_id, after, limit, include_gold, keep.feedback);
        let (items, feedback, adjudications) = match self {
            Store::Sqlite(backend) => {
                let mapping = sqlite_read::Mapping::None;
                sqlite_read::read(backend.bulk_reads(), mapping, move |conn| {
                    read_rows_sqlite(conn, &items_sql, read)
                })
                .await?
            }
            Store::Postgres(backend) => read_rows_postgres(&backend.pool, &items_sql, read).await?,
        };
        let mut rows = assemble_rows(project.schema(), items, &keep, feedback);
        apply_adjudications(&mut rows, adjudications);
        Ok(rows)
    }
}

/// A page's feedback: `$1` the project, `$2` and `$3` the item ids it runs after and to.
const FEEDBACK_SQL: &str = "SELECT item_id, source, value, raw_value, weight, occurred_at, context
    FROM feedback_events
    WHERE project_id = $1 AND item_id > $2 AND item_id <= $3
    ORDER BY item_id, occurred_at, id";

/// A page's adjudications, with [`FEEDBACK_SQL`]'s parameters.
const ADJUDICATIONS_SQL: &str = "SELECT a.item_id, u.pseudonym, a.value, a.reason, a.created_at
    FROM adjudications a JOIN users u ON u.id = a.reviewer_id
    WHERE a.project_id = $1 AND a.item_id > $2 AND a.item_id <= $3
    ORDER BY a.item_id";

/// What a page's read takes: the project, the item id it starts after, how many items at
/// most, whether gold items and whether feedback.
type RowsRead = (i64, i64, i64, bool, bool);

/// A page's items, feedback and adjudications.
type PageRows = (Vec<ItemRow>, Vec<FeedbackRow>, Vec<AdjudicationRow>);

/// A page's rows through a connection of SQLite's own on a blocking thread: through sqlx
/// each row was handed from its connection's thread to the async runtime, which was most
/// of an export's system time.
fn read_rows_sqlite(
    conn: &rusqlite::Connection,
    items_sql: &str,
    (project_id, after, limit, include_gold, with_feedback): RowsRead,
) -> rusqlite::Result<PageRows> {
    use rusqlite::named_params;
    let items: Vec<ItemRow> = conn
        .prepare(items_sql)?
        .query_map(
            named_params! {"$1": project_id, "$2": after, "$3": limit, "$4": include_gold},
            |row| {
                Ok(ItemRow {
                    id: row.get(0)?,
                    external_id: row.get(1)?,
                    data: sqlite_read::json_column(row, 2)?.unwrap_or_default(),
                    gold: row.get(3)?,
                    labels: sqlite_read::json_column(row, 4)?.unwrap_or_default(),
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    let last = items.last().map(|i| i.id).unwrap_or(after);
    let range = named_params! {"$1": project_id, "$2": after, "$3": last};
    let feedback = if with_feedback {
        conn.prepare(FEEDBACK_SQL)?
            .query_map(range, |row| {
                Ok(FeedbackRow {
                    item_id: row.get(0)?,
                    source: row.get(1)?,
                    value: row.get(2)?,
                    raw_value: row.get(3)?,
                    weight: row.get(4)?,
                    occurred_at: row.get(5)?,
                    context: sqlite_read::json_column(row, 6)?.unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?
    } else {
        Vec::new()
    };
    let adjudications = conn
        .prepare(ADJUDICATIONS_SQL)?
        .query_map(range, |row| {
            Ok(AdjudicationRow {
                item_id: row.get(0)?,
                pseudonym: row.get(1)?,
                value: row.get(2)?,
                reason: row.get(3)?,
                created_at: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((items, feedback, adjudications))
}

/// A page's rows on PostgreSQL.
async fn read_rows_postgres(
    pool: &sqlx::PgPool,
    items_sql: &str,
    (project_id, after, limit, include_gold, with_feedback): RowsRead,
) -> sqlx::Result<PageRows> {
    let items: Vec<ItemRow> = sqlx::query_as(items_sql)
        .bind(project_id)
        .bind(after)
        .bind(limit)
        .bind(include_gold)
        .fetch_all(pool)
        .await?;
    let last = items.last().map(|i| i.id).unwrap_or(after);
    let feedback: Vec<FeedbackRow> = if with_feedback {
        sqlx::query_as(FEEDBACK_SQL)
            .bind(project_id)
            .bind(after)
            .bind(last)
            .fetch_all(pool)
            .await?
    } else {
        Vec::new()
    };
    let adjudications: Vec<AdjudicationRow> = sqlx::query_as(ADJUDICATIONS_SQL)
        .bind(project_id)
        .bind(after)
        .bind(last)
        .fetch_all(pool)
        .await?;
    Ok((items, feedback, adjudications))
}

/// Puts reviewers' final labels on the rows they settle (both sorted by item id).
fn apply_adjudications(rows: &mut [ExportRow], adjudications: Vec<AdjudicationRow>) {
    let mut adjudications = adjudications.into_iter().peekable();
    for row in rows {
        while adjudications.next_if(|a| a.item_id < row.id).is_some() {}
        if let Some(a) = adjudications.next_if(|a| a.item_id == row.id) {
            let adjudication = ExportAdjudication {
                by: a.pseudonym,
                reason: a.reason,
                at: a.created_at,
            };
            row.adjudicate(from_stored(&a.value), adjudication);
        }
    }
}

/// Makes the rows of a page of items, keeping the labels of the pools asked for, and puts
/// each item's feedback on it (both sorted by item id).
fn assemble_rows(
    schema: Schema<'_>,
    items: Vec<ItemRow>,
    keep: &Keep<'_>,
    feedback: Vec<FeedbackRow>,
) -> Vec<ExportRow> {
    let mut feedback = feedback.into_iter().peekable();
    items
        .into_iter()
        .map(|item| {
            // Feedback on items left out (gold, qualification) comes first: pass it.
            while feedback.next_if(|f| f.item_id < item.id).is_some() {}
            let labels = item
                .labels
                .into_iter()
                .filter(|label| keep.pool(&label.pool))
                .map(|label| ExportLabel {
                    rater: label.pseudonym,
                    pool: label.pool,
                    value: from_stored(&label.value),
                    duration_ms: label.duration_ms,
                    created_at: label.created_at,
                    comment: label.comment,
                    guideline_version: label.guideline_version,
                })
                .collect();
            let gold = item.gold.filter(|_| keep.gold).map(|g| from_stored(&g));
            let mut row =
                ExportRow::new(schema, item.id, item.external_id, item.data, labels, gold);
            while let Some(event) = feedback.next_if(|f| f.item_id == item.id) {
                row.feedback.push(ExportFeedback {
                    source: event.source,
                    value: from_stored(&event.value),
                    raw_value: event.raw_value,
                    weight: event.weight,
                    occurred_at: event.occurred_at,
                    context: event.context,
                });
            }
            row
        })
        .collect()
}
