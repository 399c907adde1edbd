//! The counts behind a project's health page, per window of its timeline: labels and
//! active raters, the label distribution, agreeing pairs and feedback events, each an
//! aggregate query over an index; windows are `(time - start) / step`, computed by the
//! database. The distribution and agreement read every n-th item of a large project.

use std::collections::BTreeMap;

use super::{on_pool, side_items, Store};
use crate::domain::health::{assemble, sample_every, Health, HealthCounts, Timeline};
use crate::domain::project::Project;
use crate::error::Result;

const FIRST_LABEL_SQL: &str = "SELECT min(created_at) FROM labels WHERE project_id = $1";
const FIRST_EVENT_SQL: &str = "SELECT min(received_at) FROM feedback_events WHERE project_id = $1";

/// Labels and distinct raters in one window, on SQLite: a range of the (project, time,
/// rater) index, asked once per window, which is quicker there than sorting every label of
/// the project by window.
const WINDOW_SQL: &str = "SELECT count(*), count(DISTINCT rater_id) FROM labels
     WHERE project_id = $1 AND created_at >= $2 AND created_at < $3";

/// Labels per window and rater, on PostgreSQL, whose hash aggregate does this in one pass
/// (a query per window costs it more); at most windows x raters rows come back.
const WINDOW_RATERS_SQL: &str =
    "SELECT CAST((created_at - $2) / $3 AS BIGINT) AS w, rater_id, count(*)
     FROM labels WHERE project_id = $1 AND created_at >= $2 GROUP BY w, rater_id";

/// Every n-th real item (gold and qualification questions are left out: their answers are
/// set by the admin, not by the work) and its labels. `CROSS JOIN` keeps SQLite walking the
/// items' index and looking up the sampled items' labels, rather than reading every label.
const SAMPLED_LABELS: &str = concat!(
    "items i CROSS JOIN labels l
     WHERE l.item_id = i.id AND l.project_id = $1 AND i.project_id = $1 AND i.id % $4 = 0
       AND i.id NOT IN (SELECT id FROM items WHERE ",
    side_items!(),
    ")"
);

/// Labels per window and value, on the sampled items. The unary `+` keeps the time out of
/// SQLite's choice of index: with it, SQLite looked up each sampled item's labels among all
/// the project's labels since the timeline's start (the index on `created_at`), not among
/// the item's own, and the health of a project labelled lately took minutes.
pub(super) fn values_sql() -> String {
    format!(
        "SELECT CAST((l.created_at - $2) / $3 AS BIGINT) AS w, l.value, count(*)
         FROM {SAMPLED_LABELS} AND +l.created_at >= $2
         GROUP BY w, l.value"
    )
}

/// Per window: agreeing and all ordered pairs of labels on the same item, for the sampled
/// items with at least two labels, counted in the window of the item's latest label.
pub(super) fn pairs_sql() -> String {
    format!(
        "WITH per_value AS (
             SELECT l.item_id, count(*) AS n, max(l.created_at) AS latest
             FROM {SAMPLED_LABELS}
             GROUP BY l.item_id, l.value),
         per_item AS (
             SELECT item_id, sum(n * (n - 1)) AS agreeing, sum(n) AS total, max(latest) AS latest
             FROM per_value GROUP BY item_id)
         SELECT CAST((latest - $2) / $3 AS BIGINT) AS w, CAST(sum(agreeing) AS BIGINT),
                CAST(sum(total * (total - 1)) AS BIGINT)
         FROM per_item WHERE total >= 2 AND latest >= $2 GROUP BY w"
    )
}

/// Feedback events received per source and window.
const FEEDBACK_SQL: &str = "SELECT source, CAST((received_at - $2) / $3 AS BIGINT) AS w, count(*)
     FROM feedback_events WHERE project_id = $1 AND received_at >= $2 GROUP BY source, w";

impl Store {
    /// The project's health at `now`; None before its first label or feedback event.
    /// Kept on a big database (see `snapshots`); a refresh made later looks from its own time.
    pub async fn health(&self, project: &Project, now: i64) -> Result<Option<Health>> {
        let for_task = project.clone();
        let asked = crate::domain::now_ms();
        let kept = self
            .snapshot(
                project.id,
                "health",
                project.revision.to_string(),
                move |store| {
                    let project = for_task.clone();
                    let now = now + (crate::domain::now_ms() - asked);
                    async move { store.measure_health(&project, now).await }
                },
            )
            .await?;
        Ok(std::sync::Arc::unwrap_or_clone(kept.value))
    }

    #[tracing::instrument(skip_all, fields(project = project.id))]
    async fn measure_health(&self, project: &Project, now: i64) -> Result<Option<Health>> {
        let pid = project.id;
        let (first_label, first_event): (Option<i64>, Option<i64>) = on_pool!(self, pool => {
            (
                sqlx::query_scalar(FIRST_LABEL_SQL).bind(pid).fetch_one(pool).await?,
                sqlx::query_scalar(FIRST_EVENT_SQL).bind(pid).fetch_one(pool).await?,
            )
        });
        let first = match (first_label, first_event) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(timeline) = Timeline::covering(first, now) else {
            return Ok(None);
        };
        let (start, step) = (timeline.start, timeline.step.ms());
        let categorical = project.kind.is_categorical();
        let labels = self.labels_per_window(pid, &timeline).await?;
        let every = sample_every(labels.iter().map(|l| l.1).sum());
        let (values, pairs, feedback) = on_pool!(self, pool => {
            let (values, pairs) = if categorical {
                (
                    sqlx::query_as(&values_sql())
                        .bind(pid).bind(start).bind(step).bind(every)
                        .fetch_all(pool).await?,
                    sqlx::query_as(&pairs_sql())
                        .bind(pid).bind(start).bind(step).bind(every)
                        .fetch_all(pool).await?,
                )
            } else {
                (Vec::new(), Vec::new())
            };
            let feedback = sqlx::query_as(FEEDBACK_SQL)
                .bind(pid).bind(start).bind(step)
                .fetch_all(pool).await?;
            (values, pairs, feedback)
        });
        let counts = HealthCounts {
            labels,
            values,
            pairs,
            feedback,
            sample_every: every,
        };
        Ok(Some(assemble(
            &timeline,
            &counts,
            categorical,
            &project.labels,
        )))
    }

    /// (window, labels, distinct raters) for each window with labels.
    async fn labels_per_window(
        &self,
        pid: i64,
        timeline: &Timeline,
    ) -> Result<Vec<(i64, i64, i64)>> {
        let step = timeline.step.ms();
        let mut out = Vec::new();
        match self {
            Store::Sqlite(backend) => {
                for w in 0..timeline.windows {
                    let from = timeline.window_start(w);
                    let (labels, raters): (i64, i64) = sqlx::query_as(WINDOW_SQL)
                        .bind(pid)
                        .bind(from)
                        .bind(from + step)
                        .fetch_one(&backend.pool)
                        .await?;
                    if labels > 0 {
                        out.push((w, labels, raters));
                    }
                }
            }
            Store::Postgres(backend) => {
                let rows: Vec<(i64, i64, i64)> = sqlx::query_as(WINDOW_RATERS_SQL)
                    .bind(pid)
                    .bind(timeline.start)
                    .bind(step)
                    .fetch_all(&backend.pool)
                    .await?;
                let mut per_window: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
                for (w, _rater, labels) in rows {
                    let entry = per_window.entry(w).or_default();
                    entry.0 += labels;
                    entry.1 += 1;
                }
                out.extend(
                    per_window
                        .into_iter()
                        .map(|(w, (labels, raters))| (w, labels, raters)),
                );
            }
        }
        Ok(out)
    }
}
