//! The raw material of a project's quality report: every human label in long form, gold
//! answers and item data. The statistics happen in `crate::quality`, away from SQL.

use serde_json::{Map, Value};
use sqlx::types::Json;

use super::{on_pool, Store};
use crate::domain::report::{FinalLabel, LabelRecord, ReportInput};
use crate::error::Result;

#[derive(sqlx::FromRow)]
struct LabelRow {
    item_id: i64,
    external_id: Option<String>,
    rater: String,
    pool: String,
    value: String,
    duration_ms: Option<i64>,
    created_at: i64,
    prediction_shown: Option<bool>,
    guideline_version: Option<i64>,
}

impl From<LabelRow> for LabelRecord {
    fn from(row: LabelRow) -> Self {
        LabelRecord {
            item_id: row.item_id,
            external_id: row.external_id,
            rater: row.rater,
            pool: row.pool,
            value: row.value,
            duration_ms: row.duration_ms,
            created_at: row.created_at,
            prediction_shown: row.prediction_shown,
            guideline_version: row.guideline_version,
        }
    }
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
        self.report_input_every(project_id, 1, data).await
    }

    /// The labels a report of at most about `max_labels` labels reads: every item when
    /// the project has no more, else every n-th item by id (n chosen to fit), with all of
    /// its labels. Returns the input and n.
    pub async fn report_input_sample(
        &self,
        project_id: i64,
        max_labels: i64,
    ) -> Result<(ReportInput, i64)> {
        let count_sql = "SELECT count(*) FROM labels WHERE project_id = $1";
        let total: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(count_sql).bind(project_id).fetch_one(pool).await?
        });
        let stride = if total <= max_labels.max(1) {
            1
        } else {
            (total + max_labels - 1) / max_labels.max(1)
        };
        let input = self
            .report_input_every(project_id, stride, ItemData::Skipped)
            .await?;
        Ok((input, stride))
    }

    /// The report's input over the items whose id is a multiple of `stride`.
    async fn report_input_every(
        &self,
        project_id: i64,
        stride: i64,
        data: ItemData,
    ) -> Result<ReportInput> {
        let labels_sql = "SELECT l.item_id, i.external_id, u.pseudonym AS rater, l.pool, l.value, l.duration_ms, l.created_at, l.prediction_shown, l.guideline_version
            FROM labels l JOIN items i ON i.id = l.item_id JOIN users u ON u.id = l.rater_id
            WHERE l.project_id = $1 AND NOT i.is_qualification AND l.item_id % $2 = 0
            ORDER BY l.item_id, l.id";
        let items_sql = format!(
            "SELECT id, gold, {}, prediction FROM items WHERE project_id = $1 AND NOT is_qualification AND id % $2 = 0",
            match data {
                ItemData::Read => "data",
                ItemData::Skipped => "NULL",
            }
        );
        let settled_sql = "SELECT (SELECT count(*) FROM labels l WHERE l.item_id = i.id AND l.pool = 'generalist')
            FROM items i WHERE i.project_id = $1 AND i.need_generalist = 0 AND i.label_count > 0
              AND NOT i.is_gold AND NOT i.is_qualification AND i.id % $2 = 0";
        type ItemRow = (
            i64,
            Option<String>,
            Option<Json<Map<String, Value>>>,
            Option<String>,
        );
        let adjudications_sql = "SELECT a.item_id, a.value, u.pseudonym, a.reason
            FROM adjudications a JOIN users u ON u.id = a.reviewer_id
            WHERE a.project_id = $1 AND a.item_id % $2 = 0";
        type AdjudicationRow = (i64, String, String, String);
        let (labels, items, settled, adjudications): (
            Vec<LabelRow>,
            Vec<ItemRow>,
            Vec<i64>,
            Vec<AdjudicationRow>,
        ) = on_pool!(self, pool => {
            let labels = sqlx::query_as(labels_sql).bind(project_id).bind(stride).fetch_all(pool).await?;
            let items = sqlx::query_as(&items_sql).bind(project_id).bind(stride).fetch_all(pool).await?;
            let settled = sqlx::query_scalar(settled_sql).bind(project_id).bind(stride).fetch_all(pool).await?;
            let adjudications = sqlx::query_as(adjudications_sql).bind(project_id).bind(stride).fetch_all(pool).await?;
            (labels, items, settled, adjudications)
        });
        let mut input = ReportInput {
            labels: labels.into_iter().map(LabelRecord::from).collect(),
            settled_generalist_counts: settled,
            ..ReportInput::default()
        };
        input.items = items.len() as i64;
        for (id, gold, data, prediction) in items {
            if let Some(gold) = gold {
                input.gold.insert(id, gold);
            }
            if let Some(prediction) = prediction {
                input.predictions.insert(id, prediction);
            }
            if let Some(data) = data {
                input.data.insert(id, data.0);
            }
        }
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
}
