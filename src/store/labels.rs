//! Labels, skips and problem reports. Each passes the write gate (`super::gate`) inside
//! its own transaction before it changes anything.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::{Sqlite, Transaction};
use tracing::instrument;

use super::audit::record_audit;
use super::cache::Caches;
use super::columns::need_column;
use super::gate::{check_write, check_write_sqlite, Attempt, GatedItem, QUALIFICATION_TOTAL_SQL};
use super::group_commit::{bind_numbered, Fast, GroupWrite};
use super::pg_group_commit::{Answer, LabelWrite as PgLabelWrite};
use super::webhook_events::{complete_if_settled, record_completion};
use super::{end_pg_transaction, in_write_tx, joins_statements, tx_fn, Store, PG_ROW_LOCK};
use crate::domain::audit::Entry;
use crate::domain::gate::{failed_reason, Write};
use crate::domain::kinds::{from_stored, to_stored};
use crate::domain::now_ms;
use crate::domain::policy::Pool;
use crate::domain::project::Project;
use crate::error::{is_sqlite_unique_violation, is_unique_violation, AppError, Result};

/// A checked answer from a rater: `value` is canonical for the project's kind.
#[derive(Debug, Clone)]
pub struct NewLabel {
    pub item_id: i64,
    pub rater_id: i64,
    pub value: Value,
    pub duration_ms: Option<i64>,
    pub comment: Option<String>,
}

/// What a rater learns after answering a qualification question: this is training, so
/// the right answer and its explanation are shown.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct QualificationFeedback {
    pub correct: bool,
    pub answer: Value,
    pub explanation: Option<String>,
}

/// What a label did, for the caller to report.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelOutcome {
    /// The pool the label was counted for.
    pub pool: Pool,
    pub qualification: Option<QualificationFeedback>,
    /// The item was a gold question; `Some(true)` when answered right.
    pub gold_correct: Option<bool>,
    /// The rater was paused by this answer, with the reason.
    pub paused: Option<String>,
    pub escalated: bool,
}

/// A label records the guideline version it was given under, read in the same statement.
const INSERT_LABEL_SQL: &str =
    "INSERT INTO labels (project_id, item_id, rater_id, value, duration_ms, created_at, pool, comment, prediction_shown, guideline_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT guideline_version FROM projects WHERE id = $1))";

/// Ends the rater's lease on the item: `$2` item, `$3` rater, numbered as in
/// [`INSERT_LABEL_SQL`] so the two go in one round trip.
const END_LEASE_SQL: &str = "DELETE FROM leases WHERE item_id = $2 AND rater_id = $3";

/// What taking a slot returns: labels still wanted, the item's external id, its labels.
type SlotTaken = (i64, Option<String>, i64);

/// A label's first writes in one round trip: the label, the end of the rater's lease and,
/// for an item that counts labels, one slot of `slot_pool` taken, returning a
/// [`SlotTaken`]. The parameters are [`INSERT_LABEL_SQL`]'s. SQLite runs statements sent
/// together (`joined`) in one call to its connection's thread; PostgreSQL runs the first
/// two as data-modifying parts of one statement.
fn first_writes_sql(joined: bool, slot_pool: Option<Pool>) -> String {
    let take_slot = slot_pool.map(take_slot_sql);
    if joined {
        let last = take_slot.unwrap_or_default();
        format!("{INSERT_LABEL_SQL};\n{END_LEASE_SQL};\n{last}")
    } else {
        let last = take_slot.unwrap_or_else(|| {
            "SELECT CAST(0 AS BIGINT), CAST(NULL AS TEXT), CAST(0 AS BIGINT) WHERE false".into()
        });
        format!(
            "WITH label AS ({INSERT_LABEL_SQL} RETURNING 1), lease AS ({END_LEASE_SQL} RETURNING 1)\n{last}"
        )
    }
}

/// Takes one slot of `pool` on the item `$2` and returns a [`SlotTaken`].
fn take_slot_sql(pool: Pool) -> String {
    let need = need_column(pool);
    format!(
        "UPDATE items SET {need} = {need} - 1, label_count = label_count + 1 WHERE id = $2
         RETURNING need_generalist + need_expert + need_user, external_id, label_count"
    )
}

const QUALIFICATION_RECORD_SQL: &str =
    "INSERT INTO rater_states (project_id, rater_id, qual_seen, qual_correct)
     VALUES ($1, $2, 1, $3)
     ON CONFLICT (project_id, rater_id) DO UPDATE SET qual_seen = rater_states.qual_seen + 1,
         qual_correct = rater_states.qual_correct + excluded.qual_correct
     RETURNING qual_seen, qual_correct";

const GOLD_RECORD_SQL: &str =
    "INSERT INTO rater_states (project_id, rater_id, gold_seen, gold_correct)
     VALUES ($1, $2, 1, $3)
     ON CONFLICT (project_id, rater_id) DO UPDATE SET gold_seen = rater_states.gold_seen + 1,
         gold_correct = rater_states.gold_correct + excluded.gold_correct
     RETURNING gold_seen, gold_correct";

fn conflict_already_labelled(item_id: i64) -> AppError {
    AppError::Conflict(format!("you have already labelled item {item_id}"))
}

impl Store {
    /// Records a label after the gate lets it through. The item's write lock is held while
    /// its slots are counted, so an item never gets more labels than it wants and a rater
    /// never labels it twice. A generalist label may ask for more labels (dynamic overlap)
    /// or escalate the item to the experts; a gold answer updates the rater's gold record
    /// and may pause them.
    #[instrument(skip_all, fields(project = project.id, item = label.item_id, rater = label.rater_id))]
    pub async fn submit_label(&self, project: &Project, label: &NewLabel) -> Result<LabelOutcome> {
        let now = now_ms();
        match self {
            Store::Sqlite(backend) => {
                let write = LabelWrite {
                    caches: backend.caches.clone(),
                    project: project.clone(),
                    label: label.clone(),
                    now,
                };
                backend.group.write(write).await
            }
            Store::Postgres(backend) => {
                let write = PgLabelWrite {
                    caches: backend.caches.clone(),
                    project: project.clone(),
                    label: label.clone(),
                    now,
                };
                let batched = backend.labels.write(write).await;
                if let Answer::Done(outcome) = batched {
                    return outcome;
                }
                let mut tx = backend.pool.begin().await?;
                let outcome =
                    write_label(&mut tx, PG_ROW_LOCK, &backend.caches, project, label, now).await;
                end_pg_transaction(tx, outcome).await
            }
        }
    }

    /// Records that a rater passes on an item handed to them: it is not offered to them again.
    #[instrument(skip_all, fields(project = project.id, item = item_id, rater = rater_id))]
    pub async fn skip_item(
        &self,
        project: &Project,
        item_id: i64,
        rater_id: i64,
        reason: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        in_write_tx!(self, tx, lock => {
            check_write(&mut tx, lock, self.caches(), project, Attempt { item_id, rater_id, now, write: Write::Skip }).await?;
            record_skip(&mut tx, item_id, rater_id, reason, now).await?;
        });
        Ok(())
    }

    /// A rater reports a problem with an item handed to them. The item is skipped for them,
    /// and after the project's `report_threshold` open reports it leaves the queue until an
    /// admin releases it. Returns whether the item is now held back.
    #[instrument(skip_all, fields(project = project.id, item = item_id, rater = rater_id))]
    pub async fn report_item(
        &self,
        project: &Project,
        item_id: i64,
        rater_id: i64,
        reason: &str,
        note: Option<&str>,
    ) -> Result<bool> {
        let now = now_ms();
        let threshold = project.policy.report_threshold;
        Ok(in_write_tx!(self, tx, lock => {
            check_write(&mut tx, lock, self.caches(), project, Attempt { item_id, rater_id, now, write: Write::Report }).await?;
            record_skip(&mut tx, item_id, rater_id, Some(&format!("reported: {reason}")), now).await?;
            sqlx::query(
                "INSERT INTO reports (item_id, rater_id, reason, note, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (item_id, rater_id) DO NOTHING",
            )
            .bind(item_id)
            .bind(rater_id)
            .bind(reason)
            .bind(note)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            // Reports an admin already answered by releasing the item do not count again.
            let reports: i64 = sqlx::query_scalar("SELECT count(*) FROM reports WHERE item_id = $1 AND NOT cleared")
                .bind(item_id)
                .fetch_one(&mut *tx)
                .await?;
            let held = threshold.is_some_and(|t| reports >= t);
            sqlx::query("UPDATE items SET reports = $1, held = (held OR $2) WHERE id = $3")
                .bind(reports)
                .bind(held)
                .bind(item_id)
                .execute(&mut *tx)
                .await?;
            held
        }))
    }

    /// An admin puts a held-back item into the queue again; its reports are answered, so
    /// only new reports can hold it back again.
    pub async fn release_item(&self, project_id: i64, item_id: i64, entry: &Entry) -> Result<()> {
        let changed = in_write_tx!(self, tx, _lock => {
            let changed = sqlx::query("UPDATE items SET held = FALSE, reports = 0 WHERE id = $1 AND project_id = $2")
                .bind(item_id)
                .bind(project_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("UPDATE reports SET cleared = TRUE WHERE item_id = $1")
                .bind(item_id)
                .execute(&mut *tx)
                .await?;
            if changed > 0 {
                let entry = entry.clone().project(project_id).target("item", item_id);
                record_audit(&mut tx, &entry).await?;
            }
            changed
        });
        if changed == 0 {
            return Err(AppError::not_found("item"));
        }
        Ok(())
    }
}

tx_fn!(
    /// The rater will not be offered the item again; their hold on it ends.
    record_skip(tx, item_id: i64, rater_id: i64, reason: Option<&str>, now: i64) -> () {
        sqlx::query(
            "INSERT INTO skips (item_id, rater_id, reason, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (item_id, rater_id) DO NOTHING",
        )
        .bind(item_id)
        .bind(rater_id)
        .bind(reason)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query("DELETE FROM leases WHERE item_id = $1 AND rater_id = $2")
            .bind(item_id)
            .bind(rater_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
);

tx_fn!(
    /// Pauses a rater in a project, with the reason admins and the rater will see.
    pause_rater(tx, project_id: i64, rater_id: i64, reason: &str) -> () {
        sqlx::query("UPDATE rater_states SET paused = TRUE, paused_reason = $1 WHERE project_id = $2 AND rater_id = $3")
            .bind(reason)
            .bind(project_id)
            .bind(rater_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
);

/// A label as the SQLite writer runs it, in a batch with others.
struct LabelWrite {
    caches: Arc<Caches>,
    project: Project,
    label: NewLabel,
    now: i64,
}

impl GroupWrite for LabelWrite {
    type Output = LabelOutcome;

    /// A label that only takes a slot, on the writer's own connection: the gate, then the
    /// label, the end of the lease and the slot. A gold or qualification answer, a label
    /// that may settle its item (dynamic overlap, escalation) and a label in a project with
    /// webhooks take the general path.
    fn fast(&self, conn: &rusqlite::Connection) -> Fast<LabelOutcome> {
        let (project, label) = (&self.project, &self.label);
        let attempt = Attempt {
            item_id: label.item_id,
            rater_id: label.rater_id,
            now: self.now,
            write: Write::Label,
        };
        let gated = match check_write_sqlite(conn, &self.caches, project, attempt) {
            Ok(gated) => gated,
            Err(refused) => return Fast::Done(Err(refused)),
        };
        let plain = !gated.facts.is_qualification
            && !gated.facts.is_gold
            && !gated.project_has_webhooks
            && !settles_on_label(project, gated.rater.pool);
        if !plain {
            return Fast::Slow;
        }
        let values = LabelValues::new(project, label, &gated, self.now);
        Fast::Done(
            write_plain_label(conn, &values, gated.rater.pool).map(|()| LabelOutcome {
                pool: gated.rater.pool,
                qualification: None,
                gold_correct: None,
                paused: None,
                escalated: false,
            }),
        )
    }

    fn run<'a, 'c>(
        &'a self,
        tx: &'a mut Transaction<'c, Sqlite>,
    ) -> BoxFuture<'a, Result<LabelOutcome>> {
        Box::pin(write_label(
            tx,
            "",
            &self.caches,
            &self.project,
            &self.label,
            self.now,
        ))
    }
}

/// The values of [`INSERT_LABEL_SQL`]'s parameters, in order.
pub(super) struct LabelValues<'a> {
    pub project_id: i64,
    pub item_id: i64,
    pub rater_id: i64,
    pub value: String,
    pub duration_ms: Option<i64>,
    pub now: i64,
    pub pool: &'static str,
    pub comment: Option<&'a str>,
    pub prediction_shown: Option<bool>,
}

impl<'a> LabelValues<'a> {
    pub(super) fn new(project: &Project, label: &'a NewLabel, gated: &GatedItem, now: i64) -> Self {
        LabelValues {
            project_id: project.id,
            item_id: label.item_id,
            rater_id: label.rater_id,
            value: to_stored(&label.value),
            duration_ms: label.duration_ms,
            now,
            pool: gated.rater.pool.as_str(),
            comment: label.comment.as_deref(),
            // Whether the rater saw the item's pre-label, for an item that has one.
            prediction_shown: gated
                .has_prediction
                .then(|| !project.presentation.is_blind(label.rater_id, label.item_id)),
        }
    }
}

/// Whether a label of `pool` may change what its item wants (dynamic overlap, escalation),
/// so that the item's generalist labels are read again after it.
pub(super) fn settles_on_label(project: &Project, pool: Pool) -> bool {
    let policy = &project.policy;
    pool == Pool::Generalist && (policy.is_dynamic() || policy.escalate_below.is_some())
}

/// A label that only takes a slot, on SQLite's writer connection: the label, the end of
/// the rater's lease and the slot, the statements of `first_writes_sql` one by one.
fn write_plain_label(
    conn: &rusqlite::Connection,
    values: &LabelValues<'_>,
    pool: Pool,
) -> Result<()> {
    let parameters: [&dyn rusqlite::ToSql; 9] = [
        &values.project_id,
        &values.item_id,
        &values.rater_id,
        &values.value,
        &values.duration_ms,
        &values.now,
        &values.pool,
        &values.comment,
        &values.prediction_shown,
    ];
    let run = |sql: &str| -> rusqlite::Result<()> {
        let mut statement = conn.prepare_cached(sql)?;
        bind_numbered(&mut statement, &parameters)?;
        // The slot's statement returns a row, which a plain execute refuses.
        let mut rows = statement.raw_query();
        while rows.next()?.is_some() {}
        Ok(())
    };
    match run(INSERT_LABEL_SQL) {
        Err(e) if is_sqlite_unique_violation(&e) => {
            return Err(conflict_already_labelled(values.item_id))
        }
        other => other?,
    }
    run(END_LEASE_SQL)?;
    run(&take_slot_sql(pool))?;
    Ok(())
}

tx_fn!(
    /// A label's writes inside the caller's transaction: the gate, the label with its lease
    /// ended and its slot taken, then what the label settles (a qualification or gold record,
    /// more overlap, an escalation, the item's completion). `lock` is the backend's item lock
    /// clause (`in_write_tx!`).
    write_label(tx, lock: &str, caches: &Caches, project: &Project, label: &NewLabel, now: i64) -> LabelOutcome where [
        String: for<'q> sqlx::Encode<'q, DB>,
        Option<bool>: sqlx::Type<DB> + for<'q> sqlx::Encode<'q, DB>,
        Option<String>: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
        for<'r> super::gate::GateRow: sqlx::FromRow<'r, DB::Row>,
    ] {
        let attempt = Attempt {
            item_id: label.item_id,
            rater_id: label.rater_id,
            now,
            write: Write::Label,
        };
        let gated = check_write(tx, lock, caches, project, attempt).await?;
        let slot = insert_label(tx, project, label, &gated, now).await?;
        let mut outcome = LabelOutcome {
            pool: gated.rater.pool,
            qualification: None,
            gold_correct: None,
            paused: None,
            escalated: false,
        };
        if gated.facts.is_qualification {
            let (feedback, paused) = record_qualification_answer(tx, project, label, &gated).await?;
            outcome.qualification = Some(feedback);
            outcome.paused = paused;
        } else if gated.facts.is_gold {
            let (right, paused) = record_gold_answer(tx, project, label, &gated).await?;
            outcome.gold_correct = Some(right);
            outcome.paused = paused;
        } else {
            let slot = slot.ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("item {} took no slot", label.item_id))
            })?;
            outcome.escalated = settle_item(tx, lock, project, label, &gated, slot, now).await?;
        }
        Ok(outcome)
    }
);

tx_fn!(
    /// The label itself, the end of the rater's lease and, for an item that counts labels,
    /// the slot it takes, in one round trip (`first_writes_sql`).
    insert_label(tx, project: &Project, label: &NewLabel, gated: &GatedItem, now: i64) -> Option<SlotTaken> where [
        String: for<'q> sqlx::Encode<'q, DB>,
        Option<bool>: sqlx::Type<DB> + for<'q> sqlx::Encode<'q, DB>,
        Option<String>: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    ] {
        let pool = gated.rater.pool;
        let values = LabelValues::new(project, label, gated, now);
        let counts_slots = !gated.facts.is_qualification && !gated.facts.is_gold;
        let sql = first_writes_sql(joins_statements(tx), counts_slots.then_some(pool));
        let written: std::result::Result<Vec<SlotTaken>, sqlx::Error> = sqlx::query_as(&sql)
            .bind(values.project_id)
            .bind(values.item_id)
            .bind(values.rater_id)
            .bind(values.value)
            .bind(values.duration_ms)
            .bind(values.now)
            .bind(values.pool)
            .bind(values.comment)
            .bind(values.prediction_shown)
            .fetch_all(&mut **tx)
            .await;
        match written {
            Err(e) if is_unique_violation(&e) => Err(conflict_already_labelled(label.item_id)),
            other => Ok(other?.into_iter().next()),
        }
    }
);

tx_fn!(
    /// Counts one more answer, right or not, in the rater's record (`record_sql` is
    /// [`QUALIFICATION_RECORD_SQL`] or [`GOLD_RECORD_SQL`]) and returns the answers seen and
    /// those right.
    record_answer(tx, record_sql: &str, project_id: i64, rater_id: i64, right: bool) -> (i64, i64) {
        Ok(sqlx::query_as(record_sql)
            .bind(project_id)
            .bind(rater_id)
            .bind(i64::from(right))
            .fetch_one(&mut **tx)
            .await?)
    }
);

tx_fn!(
    /// A qualification answer: the rater learns the right answer, and once they have
    /// answered enough they qualify or are paused with the reason.
    record_qualification_answer(tx, project: &Project, label: &NewLabel, gated: &GatedItem) -> (QualificationFeedback, Option<String>) {
        let policy = &project.policy;
        let answer = gated.gold.as_deref().map(from_stored).unwrap_or(Value::Null);
        let right = project.schema().matches(&label.value, &answer);
        let (seen, correct) =
            record_answer(tx, QUALIFICATION_RECORD_SQL, project.id, label.rater_id, right).await?;
        // The gate counted the questions in this transaction for a rater still to qualify.
        let total: i64 = match gated.qualification_questions {
            Some(total) => total,
            None => {
                sqlx::query_scalar(QUALIFICATION_TOTAL_SQL)
                    .bind(project.id)
                    .fetch_one(&mut **tx)
                    .await?
            }
        };
        let mut paused = None;
        match policy.qualification_outcome(total, seen, correct) {
            Some(true) => {
                sqlx::query("UPDATE rater_states SET qualified = TRUE WHERE project_id = $1 AND rater_id = $2")
                    .bind(project.id)
                    .bind(label.rater_id)
                    .execute(&mut **tx)
                    .await?;
            }
            Some(false) => {
                let reason = failed_reason(correct, total, policy.qualify_accuracy.unwrap_or(1.0));
                pause_rater(tx, project.id, label.rater_id, &reason).await?;
                paused = Some(reason);
            }
            None => {}
        }
        let feedback = QualificationFeedback {
            correct: right,
            answer,
            explanation: gated.explanation.clone(),
        };
        Ok((feedback, paused))
    }
);

tx_fn!(
    /// A gold answer: counted in the rater's gold record, which may pause them. Returns
    /// whether it was right and the reason for a pause.
    record_gold_answer(tx, project: &Project, label: &NewLabel, gated: &GatedItem) -> (bool, Option<String>) {
        let right = gated
            .gold
            .as_deref()
            .is_some_and(|gold| project.schema().matches(&label.value, &from_stored(gold)));
        let (seen, correct) =
            record_answer(tx, GOLD_RECORD_SQL, project.id, label.rater_id, right).await?;
        let paused = project.policy.gold_pause_reason(seen, correct);
        if let Some(reason) = &paused {
            pause_rater(tx, project.id, label.rater_id, reason).await?;
        }
        Ok((right, paused))
    }
);

tx_fn!(
    /// What a label that took a slot settles: with dynamic overlap or escalation, a
    /// generalist label may ask for more labels or send the item to the experts; an item
    /// that wants no more labels is recorded as complete for webhooks. Returns whether the
    /// item was escalated.
    settle_item(tx, lock: &str, project: &Project, label: &NewLabel, gated: &GatedItem, slot: SlotTaken, now: i64) -> bool where [
        String: for<'q> sqlx::Encode<'q, DB>,
        Option<String>: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
    ] {
        let policy = &project.policy;
        let (wanted, external_id, labels) = slot;
        if !settles_on_label(project, gated.rater.pool) {
            if wanted == 0 && gated.project_has_webhooks {
                record_completion(tx, lock, project.id, label.item_id, external_id, labels, now)
                    .await?;
            }
            return Ok(false);
        }
        let values: Vec<String> = sqlx::query_scalar(
            "SELECT value FROM labels WHERE item_id = $1 AND pool = 'generalist' ORDER BY id",
        )
        .bind(label.item_id)
        .fetch_all(&mut **tx)
        .await?;
        let values: Vec<Value> = values.iter().map(|v| from_stored(v)).collect();
        let settlement = policy.settle(
            &project.schema().consensus(&values),
            gated.needs.generalist - 1,
        );
        if settlement.more_generalist > 0 {
            sqlx::query("UPDATE items SET need_generalist = need_generalist + $1 WHERE id = $2")
                .bind(settlement.more_generalist)
                .bind(label.item_id)
                .execute(&mut **tx)
                .await?;
        }
        let escalated = settlement.escalate_to_experts > 0;
        if escalated {
            sqlx::query("UPDATE items SET need_expert = need_expert + $1, escalated = TRUE WHERE id = $2")
                .bind(settlement.escalate_to_experts)
                .bind(label.item_id)
                .execute(&mut **tx)
                .await?;
        }
        complete_if_settled(tx, lock, project.id, label.item_id, now).await?;
        Ok(escalated)
    }
);
