//! The counts behind a project's health page, per window of its timeline: labels and
//! active raters, the label distribution, agreeing pairs and feedback events. Each is one
//! aggregate query; windows are `(time - start) / step`, computed by the database.

use super::{on_pool, Store};
use crate::domain::health::{assemble, sample_every, Health, HealthCounts, Timeline};
use crate::domain::project::Project;
use crate::error::Result;

const FIRST_LABEL_SQL: &str = "SELECT min(created_at) FROM labels WHERE project_id = $1";
const FIRST_EVENT_SQL: &str = "SELECT min(received_at) FROM feedback_events WHERE project_id = $1";

/// Labels and distinct raters per window.
const LABELS_SQL: &str =
    "SELECT CAST((created_at - $2) / $3 AS BIGINT) AS w, count(*), count(DISTINCT rater_id)
     FROM labels WHERE project_id = $1 AND created_at >= $2 GROUP BY w";

/// Gold and qualification questions are left out of the distribution and agreement: their
/// answers are set by the admin, not by the work.
const REAL_ITEM: &str =
    "item_id NOT IN (SELECT id FROM items WHERE project_id = $1 AND (is_gold OR is_qualification))";

/// Labels per window and value, on every n-th item.
fn values_sql() -> String {
    format!(
        "SELECT CAST((created_at - $2) / $3 AS BIGINT) AS w, value, count(*)
         FROM labels WHERE project_id = $1 AND created_at >= $2 AND item_id % $4 = 0 AND {REAL_ITEM}
         GROUP BY w, value"
    )
}

/// Per window: agreeing and all ordered pairs of labels on the same item, for every n-th
/// item with at least two labels, counted in the window of the item's latest label.
fn pairs_sql() -> String {
    format!(
        "WITH per_value AS (
             SELECT item_id, count(*) AS n, max(created_at) AS latest FROM labels
             WHERE project_id = $1 AND item_id % $4 = 0 AND {REAL_ITEM}
             GROUP BY item_id, value),
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
    #[tracing::instrument(skip_all, fields(project = project.id))]
    pub async fn health(&self, project: &Project, now: i64) -> Result<Option<Health>> {
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
        let labels: Vec<(i64, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(LABELS_SQL).bind(pid).bind(start).bind(step).fetch_all(pool).await?
        });
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
}
