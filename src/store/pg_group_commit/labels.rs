//! Ordinary labels in batches: one statement reads the gate's facts of all of them with
//! their items locked, one counts the other raters' leases, one writes the labels, ends
//! the leases and takes the slots.
//!
//! Only an ordinary label is written here: one that takes a slot and settles nothing, on
//! an item that is neither gold nor a qualification question, in a project without
//! webhooks. Anything else is sent alone. The key is the item.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use futures::future::BoxFuture;
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Transaction};

use super::{by_index, column, decided, in_transaction, Answer, Numbered, PgBatch};
use crate::domain::gate::Write;
use crate::domain::policy::Pool;
use crate::domain::project::Project;
use crate::error::{AppError, Result};
use crate::store::cache::Caches;
use crate::store::columns::need_column;
use crate::store::gate::{
    admit, Attempt, GateRow, PG_FACTS_OF_MANY_SQL, PG_LEASES_OF_OTHERS_OF_MANY_SQL,
};
use crate::store::labels::{settles_on_label, LabelOutcome, LabelValues, NewLabel};

/// A label waiting for its batch.
pub(crate) struct LabelWrite {
    pub caches: Arc<Caches>,
    pub project: Project,
    pub label: NewLabel,
    pub now: i64,
}

pub(crate) struct LabelBatch;

impl PgBatch for LabelBatch {
    type Write = LabelWrite;
    type Output = LabelOutcome;

    const NAME: &'static str = "tally-postgres-labels";

    fn key(write: &LabelWrite) -> i64 {
        write.label.item_id
    }

    fn write<'a>(
        conn: &'a mut PgConnection,
        writes: &'a [LabelWrite],
    ) -> BoxFuture<'a, Result<Vec<Answer<LabelOutcome>>>> {
        Box::pin(in_transaction(conn, "BEGIN", move |tx| {
            Box::pin(gate_and_write(tx, writes))
        }))
    }
}

/// A label the gate let through, with the pool it takes a slot of.
struct Admitted<'a> {
    index: usize,
    values: LabelValues<'a>,
    pool: Pool,
}

async fn gate_and_write(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[LabelWrite],
) -> Result<Vec<Answer<LabelOutcome>>> {
    let mut facts = facts_of(tx, batch).await?;
    let mut answers: Vec<Option<Answer<LabelOutcome>>> = batch.iter().map(|_| None).collect();
    let mut ordinary: Vec<(usize, GateRow, Pool)> = Vec::new();
    for (index, job) in batch.iter().enumerate() {
        let Some(row) = facts.remove(&index) else {
            answers[index] = Some(Answer::Done(Err(AppError::not_found("item"))));
            continue;
        };
        let pool = row.pool()?;
        if row.is_ordinary(&job.project) && !settles_on_label(&job.project, pool) {
            ordinary.push((index, row, pool));
        } else {
            answers[index] = Some(Answer::Alone);
        }
    }
    let others = leases_of_others(tx, batch, &ordinary).await?;
    let mut admitted = Vec::new();
    for ((index, row, pool), others) in ordinary.into_iter().zip(others) {
        let job = &batch[index];
        let attempt = Attempt {
            item_id: job.label.item_id,
            rater_id: job.label.rater_id,
            now: job.now,
            write: Write::Label,
        };
        match admit(&job.caches, &job.project, attempt, row, None, others) {
            Ok(gated) => admitted.push(Admitted {
                index,
                values: LabelValues::new(&job.project, &job.label, &gated, job.now),
                pool,
            }),
            Err(refused) => answers[index] = Some(Answer::Done(Err(refused))),
        }
    }
    write_labels(tx, &admitted).await?;
    for written in &admitted {
        answers[written.index] = Some(Answer::Done(Ok(LabelOutcome {
            pool: written.pool,
            qualification: None,
            gold_correct: None,
            paused: None,
            escalated: false,
        })));
    }
    Ok(decided(answers))
}

/// The gate's facts of every label in the batch, by its index, with the items locked.
async fn facts_of(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[LabelWrite],
) -> Result<HashMap<usize, GateRow>> {
    let rows: Vec<Numbered<GateRow>> = sqlx::query_as(PG_FACTS_OF_MANY_SQL.as_str())
        .bind(column(batch, |job| job.label.item_id))
        .bind(column(batch, |job| job.project.id))
        .bind(column(batch, |job| job.label.rater_id))
        .fetch_all(&mut **tx)
        .await?;
    Ok(by_index(rows).collect())
}

/// Other raters' live leases of the writer's pool on each ordinary label's item, in order.
async fn leases_of_others(
    tx: &mut Transaction<'_, Postgres>,
    batch: &[LabelWrite],
    ordinary: &[(usize, GateRow, Pool)],
) -> Result<Vec<i64>> {
    if ordinary.is_empty() {
        return Ok(Vec::new());
    }
    let job = |index: usize| &batch[index];
    let counted: Vec<(i64, i64)> = sqlx::query_as(PG_LEASES_OF_OTHERS_OF_MANY_SQL)
        .bind(column(ordinary, |o| job(o.0).label.item_id))
        .bind(column(ordinary, |o| job(o.0).label.rater_id))
        .bind(column(ordinary, |o| job(o.0).now))
        .bind(column(ordinary, |o| o.2.as_str()))
        .fetch_all(&mut **tx)
        .await?;
    let mut by_number: HashMap<i64, i64> = counted.into_iter().collect();
    (1..=ordinary.len())
        .map(|n| {
            by_number.remove(&(n as i64)).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("no lease count for label {n} of a batch"))
            })
        })
        .collect()
}

/// The slot a label takes: its pool's column goes down by one.
fn slot_taken(pool: Pool) -> String {
    let column = need_column(pool);
    format!(
        "{column} = i.{column} - CASE WHEN w.pool = '{}' THEN 1 ELSE 0 END",
        pool.as_str()
    )
}

/// Every admitted label, the end of its rater's lease and the slot it takes, in one
/// statement (`write_labels`).
static WRITE_LABELS_SQL: LazyLock<String> = LazyLock::new(|| {
    let slots = Pool::ALL.map(slot_taken).join(", ");
    format!(
        "WITH w AS (
             SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::text[], $5::int8[],
                                  $6::int8[], $7::text[], $8::text[], $9::bool[])
                 AS w(project_id, item_id, rater_id, value, duration_ms, created_at, pool, comment, prediction_shown)
         ),
         label AS (
             INSERT INTO labels (project_id, item_id, rater_id, value, duration_ms, created_at, pool, comment, prediction_shown, guideline_version)
             SELECT w.project_id, w.item_id, w.rater_id, w.value, w.duration_ms, w.created_at, w.pool,
                    w.comment, w.prediction_shown, p.guideline_version
               FROM w JOIN projects p ON p.id = w.project_id
             RETURNING 1
         ),
         lease AS (
             DELETE FROM leases le USING w WHERE le.item_id = w.item_id AND le.rater_id = w.rater_id
             RETURNING 1
         )
         UPDATE items i SET {slots}, label_count = i.label_count + 1 FROM w WHERE i.id = w.item_id"
    )
});

/// Every admitted label, the end of its rater's lease and the slot it takes, in one
/// statement. The items are distinct, so each item row is updated once.
async fn write_labels(tx: &mut Transaction<'_, Postgres>, admitted: &[Admitted<'_>]) -> Result<()> {
    if admitted.is_empty() {
        return Ok(());
    }
    sqlx::query(WRITE_LABELS_SQL.as_str())
        .bind(column(admitted, |a| a.values.project_id))
        .bind(column(admitted, |a| a.values.item_id))
        .bind(column(admitted, |a| a.values.rater_id))
        .bind(column(admitted, |a| a.values.value.as_str()))
        .bind(column(admitted, |a| a.values.duration_ms))
        .bind(column(admitted, |a| a.values.now))
        .bind(column(admitted, |a| a.values.pool))
        .bind(column(admitted, |a| a.values.comment))
        .bind(column(admitted, |a| a.values.prediction_shown))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
