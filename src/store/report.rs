//! The raw material of a project's quality report: every human label in long form, gold
//! answers and item data. The statistics happen in `crate::quality`, away from SQL.

use std::sync::Arc;

use futures::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::types::Json;

use super::item_labels::{Fields, ReportLabel, Scope};
use super::{on_pool, Store};
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
        let items_sql = self.with_labels_sql(
            &format!(
                "SELECT i.id, i.external_id, i.gold, {} AS data, i.prediction
                 FROM items i WHERE i.project_id = $1 AND NOT i.is_qualification AND i.id % $2 = 0",
                match data {
                    ItemData::Read => "i.data",
                    ItemData::Skipped => "NULL",
                },
            ),
            Scope::Project("l.project_id = $1 AND l.item_id % $2 = 0"),
            Fields::Report,
        );
        let raters_sql =
            "SELECT u.id, u.pseudonym FROM rater_tallies t JOIN users u ON u.id = t.rater_id
            WHERE t.project_id = $1";
        let settled_sql = "SELECT (SELECT count(*) FROM labels l WHERE l.item_id = i.id AND l.pool = 'generalist')
            FROM items i WHERE i.project_id = $1 AND i.need_generalist = 0 AND i.label_count > 0
              AND NOT i.is_gold AND NOT i.is_qualification AND i.id % $2 = 0";
        let adjudications_sql = "SELECT a.item_id, a.value, u.pseudonym, a.reason
            FROM adjudications a JOIN users u ON u.id = a.reviewer_id
            WHERE a.project_id = $1 AND a.item_id % $2 = 0";
        type AdjudicationRow = (i64, String, String, String);
        // Items are taken into the input as they arrive: holding every row first and
        // converting after would keep each label twice at the peak.
        let mut input = ReportInput::default();
        // Slack for labels written since the count; the vector still grows if needed.
        let room = usize::try_from(expected_labels).unwrap_or(0);
        input.labels.reserve(room + room / 64);
        let mut names = SharedNames::default();
        let adjudications: Vec<AdjudicationRow> = on_pool!(self, pool => {
            let raters: Vec<(i64, String)> = sqlx::query_as(raters_sql).bind(project_id).fetch_all(pool).await?;
            names.known.extend(raters.into_iter().map(|(id, pseudonym)| (id, Arc::from(pseudonym))));
            let mut items = sqlx::query_as::<_, ItemRow>(&items_sql).bind(project_id).bind(stride).fetch(pool);
            while let Some(item) = items.try_next().await? {
                take_item(&mut input, &mut names, item);
            }
            drop(items);
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
            input.settled_generalist_counts = sqlx::query_scalar(settled_sql).bind(project_id).bind(stride).fetch_all(pool).await?;
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
