//! The raw material of a project's quality report: every human label in long form, gold
//! answers and item data. The statistics happen in `crate::quality`, away from SQL.

use std::sync::Arc;

use futures::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::types::Json;

use super::item_labels::{ReportLabel, Scope, POSTGRES_REPORT_LABEL};
use super::{on_pool, sqlite_read, Store};
use crate::domain::policy::Pool;
use crate::domain::report::{FinalLabel, LabelRecord, ReportInput};
use crate::error::Result;

/// An item as a report reads it: its known answer, pre-label and (when asked) data, with
/// its labels in the order they were given.
#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    external_id: Option<String>,
    gold: Option<String>,
    data: Option<Json<Map<String, Value>>>,
    prediction: Option<String>,
    /// Whether the item's generalist labels are complete (and it is not gold): its count
    /// of generalist labels goes into the saving of dynamic overlap.
    settled: bool,
    #[sqlx(json)]
    labels: Vec<ReportLabel>,
}

/// Whether a report reads its items' data: only slicing by a data field needs it, and on
/// a big project the data is most of what the read holds in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemData {
    Read,
    Skipped,
}

impl Store {
    /// Reads a project's labels (qualification answers left out), gold and, when asked,
    /// item data.
    pub async fn report_input(&self, project_id: i64, data: ItemData) -> Result<ReportInput> {
        let total = self.label_total(project_id).await?;
        self.report_input_every(project_id, 1, data, total).await
    }

    async fn label_total(&self, project_id: i64) -> Result<i64> {
        let sql = "SELECT count(*) FROM labels WHERE project_id = $1";
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(project_id).fetch_one(pool).await?
        }))
    }

    /// The labels a report of at most about `max_labels` labels reads: every item when
    /// the project has no more, else every n-th item by id (n chosen to fit), with all of
    /// its labels. Returns the input and n.
    pub async fn report_input_sample(
        &self,
        project_id: i64,
        max_labels: i64,
    ) -> Result<(ReportInput, i64)> {
        let total = self.label_total(project_id).await?;
        let stride = if total <= max_labels.max(1) {
            1
        } else {
            (total + max_labels - 1) / max_labels.max(1)
        };
        let input = self
            .report_input_every(project_id, stride, ItemData::Skipped, total / stride)
            .await?;
        Ok((input, stride))
    }

    /// The report's input over the items whose id is a multiple of `stride`, room made
    /// for about `expected_labels` labels.
    async fn report_input_every(
        &self,
        project_id: i64,
        stride: i64,
        data: ItemData,
        expected_labels: i64,
    ) -> Result<ReportInput> {
        let items_sql = format!(
            "SELECT i.id, i.external_id, i.gold, {} AS data, i.prediction,
                 (i.need_generalist = 0 AND i.label_count > 0 AND NOT i.is_gold) AS settled
             FROM items i WHERE i.project_id = $1 AND NOT i.is_qualification AND i.id % $2 = 0",
            match data {
                ItemData::Read => "i.data",
                ItemData::Skipped => "NULL",
            },
        );
        let raters_sql =
            "SELECT u.id, u.pseudonym FROM rater_tallies t JOIN users u ON u.id = t.rater_id
            WHERE t.project_id = $1";
        let adjudications_sql = "SELECT a.item_id, a.value, u.pseudonym, a.reason
            FROM adjudications a JOIN users u ON u.id = a.reviewer_id
            WHERE a.project_id = $1 AND a.item_id % $2 = 0";
        type AdjudicationRow = (i64, String, String, String);
        let mut input = ReportInput::default();
        // Slack for labels written since the count; the vector still grows if needed.
        let room = usize::try_from(expected_labels).unwrap_or(0);
        input.labels.reserve(room + room / 64);
        let mut names = SharedNames::default();
        let raters: Vec<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(raters_sql).bind(project_id).fetch_all(pool).await?
        });
        names.known.extend(
            raters
                .into_iter()
                .map(|(id, pseudonym)| (id, Arc::from(pseudonym))),
        );
        let (mut input, mut names) = self
            .take_items(items_sql, project_id, stride, input, names)
            .await?;
        let adjudications: Vec<AdjudicationRow> = on_pool!(self, pool => {
            for (index, rater_id) in std::mem::take(&mut names.missing) {
                input.labels[index].rater = match names.known.get(&rater_id) {
                    Some(pseudonym) => pseudonym.clone(),
                    None => {
                        let pseudonym: String = sqlx::query_scalar("SELECT pseudonym FROM users WHERE id = $1")
                            .bind(rater_id).fetch_one(pool).await?;
                        let pseudonym = Arc::<str>::from(pseudonym);
                        names.known.insert(rater_id, pseudonym.clone());
                        pseudonym
                    }
                };
            }
            sqlx::query_as(adjudications_sql).bind(project_id).bind(stride).fetch_all(pool).await?
        });
        for (item_id, value, reviewer, reason) in adjudications {
            input.adjudications.insert(
                item_id,
                FinalLabel {
                    value,
                    reviewer,
                    reason,
                },
            );
        }
        Ok(input)
    }

    /// Takes the items `items_sql` selects (by project `$1` and stride `$2`), each with its
    /// labels in the order they were given, into the input as they arrive: holding every
    /// row first and converting after would keep each label twice at the peak.
    async fn take_items(
        &self,
        items_sql: String,
        project_id: i64,
        stride: i64,
        mut input: ReportInput,
        mut names: SharedNames,
    ) -> Result<(ReportInput, SharedNames)> {
        match self {
            Store::Sqlite(backend) => {
                let path = backend.pool.connect_options().get_filename().to_owned();
                sqlite_read::read(path, move |conn| {
                    read_items_sqlite(conn, &items_sql, project_id, stride, |item| {
                        take_item(&mut input, &mut names, item)
                    })?;
                    Ok((input, names))
                })
                .await
            }
            Store::Postgres(backend) => {
                let sql = self.gathered_sql(
                    &items_sql,
                    Scope::Project("l.project_id = $1 AND l.item_id % $2 = 0"),
                    POSTGRES_REPORT_LABEL,
                    "labels l",
                );
                let mut items = sqlx::query_as::<_, ItemRow>(&sql)
                    .bind(project_id)
                    .bind(stride)
                    .fetch(&backend.pool);
                while let Some(item) = items.try_next().await? {
                    take_item(&mut input, &mut names, item);
                }
                Ok((input, names))
            }
        }
    }
}

/// The names a report's labels share: raters' pseudonyms by user id, read once per report,
/// and pools. A rater whose first label in the project came after that read is looked up
/// once the items are read (`missing` holds the indices of such labels in the input).
#[derive(Default)]
struct SharedNames {
    known: foldhash::HashMap<i64, Arc<str>>,
    missing: Vec<(usize, i64)>,
    /// Pools' names, shared by their labels.
    pools: Vec<Arc<str>>,
}

impl SharedNames {
    /// The pseudonym of the rater of the label that will sit at `index`, or an empty string
    /// (noted as missing) until it is looked up.
    fn of(&mut self, rater_id: i64, index: usize) -> Arc<str> {
        match self.known.get(&rater_id) {
            Some(pseudonym) => pseudonym.clone(),
            None => {
                self.missing.push((index, rater_id));
                Arc::from("")
            }
        }
    }

    /// The shared name of a pool.
    fn pool(&mut self, pool: String) -> Arc<str> {
        if let Some(known) = self.pools.iter().find(|p| ***p == *pool) {
            return known.clone();
        }
        let shared = Arc::<str>::from(pool);
        self.pools.push(shared.clone());
        shared
    }
}

/// Adds an item's labels, gold answer, pre-label and data to a report's input.
fn take_item(input: &mut ReportInput, names: &mut SharedNames, item: ItemRow) {
    input.items += 1;
    if item.settled {
        let generalist = item
            .labels
            .iter()
            .filter(|l| l.pool == Pool::Generalist.as_str())
            .count();
        input.settled_generalist_counts.push(generalist as i64);
    }
    let first = input.labels.len();
    let external_id: Option<Arc<str>> = item.external_id.map(Arc::from);
    input.labels.extend(
        item.labels
            .into_iter()
            .enumerate()
            .map(|(n, label)| LabelRecord {
                item_id: item.id,
                external_id: external_id.clone(),
                rater: names.of(label.rater_id, first + n),
                pool: names.pool(label.pool),
                value: label.value,
                duration_ms: label.duration_ms,
                created_at: label.created_at,
                prediction_shown: label.prediction_shown,
                guideline_version: label.guideline_version,
            }),
    );
    if let Some(gold) = item.gold {
        input.gold.insert(item.id, gold);
    }
    if let Some(prediction) = item.prediction {
        input.predictions.insert(item.id, prediction);
    }
    if let Some(data) = item.data {
        input.data.insert(item.id, data.0);
    }
}

/// The labels a report reads, by item and in the order they were given.
const SQLITE_REPORT_LABELS: &str = "SELECT item_id, rater_id, pool, value, duration_ms, created_at,
        guideline_version, prediction_shown
    FROM labels WHERE project_id = $1 AND item_id % $2 = 0 ORDER BY item_id, id";

/// Reads the items `items_sql` selects with their labels, on SQLite: the items in id order
/// and the project's labels in item order, side by side (one pass over each, where looking
/// up each item's labels or gathering them as JSON cost SQLite twice the work). Labels of
/// items the items' query leaves out are skipped.
fn read_items_sqlite(
    conn: &rusqlite::Connection,
    items_sql: &str,
    project_id: i64,
    stride: i64,
    mut each: impl FnMut(ItemRow),
) -> rusqlite::Result<()> {
    let mut items = conn.prepare(&format!("{items_sql} ORDER BY i.id"))?;
    let mut labels = conn.prepare(SQLITE_REPORT_LABELS)?;
    let mut items = items.query((project_id, stride))?;
    let mut labels = labels.query((project_id, stride))?;
    let mut next_label = sqlite_label(labels.next()?)?;
    while let Some(row) = items.next()? {
        let mut item = ItemRow {
            id: row.get(0)?,
            external_id: row.get(1)?,
            gold: row.get(2)?,
            data: sqlite_read::json_column(row, 3)?.map(Json),
            prediction: row.get(4)?,
            settled: row.get(5)?,
            labels: Vec::new(),
        };
        while let Some((item_id, label)) = next_label.take() {
            if item_id > item.id {
                next_label = Some((item_id, label));
                break;
            }
            if item_id == item.id {
                item.labels.push(label);
            }
            next_label = sqlite_label(labels.next()?)?;
        }
        each(item);
    }
    Ok(())
}

/// A row of `SQLITE_REPORT_LABELS` as its item's id and the label.
fn sqlite_label(row: Option<&rusqlite::Row<'_>>) -> rusqlite::Result<Option<(i64, ReportLabel)>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let label = ReportLabel {
        rater_id: row.get(1)?,
        pool: row.get(2)?,
        value: row.get(3)?,
        duration_ms: row.get(4)?,
        created_at: row.get(5)?,
        guideline_version: row.get(6)?,
        prediction_shown: row.get(7)?,
    };
    Ok(Some((row.get(0)?, label)))
}
