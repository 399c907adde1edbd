//! Raters within a project: gold records and pauses; and the queue by state and pool.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::audit::record_audit;
use super::columns::need_column;
use super::{in_write_tx, on_pool, side_items, Store};
use crate::domain::audit::Entry;
use crate::domain::kinds::{display, from_stored};
use crate::domain::now_ms;
use crate::domain::people::{WorkFigures, WorkStatus};
use crate::domain::policy::Pool;
use crate::error::{AppError, Result};
use crate::store::people::share;

/// A rater's standing in one project, as admins see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RaterStanding {
    pub rater_id: i64,
    pub name: String,
    /// The name reports and exports use for this rater.
    pub pseudonym: String,
    pub pool: String,
    pub labels: i64,
    pub gold_seen: i64,
    pub gold_correct: i64,
    pub paused: bool,
    pub paused_reason: Option<String>,
    #[sqlx(json)]
    pub expertise: Vec<String>,
    /// `active`, `paused` (here, with `paused_reason`) or `deactivated` (everywhere).
    #[sqlx(default)]
    pub status: String,
    /// `gold_correct / gold_seen`, null before any gold question.
    #[sqlx(default)]
    pub gold_accuracy: Option<f64>,
    /// Share of the rater's labels here that match their item's consensus, over items that
    /// have one (at least two labels and no tie; gold and qualification items left out).
    #[sqlx(default)]
    pub agreement: Option<f64>,
    /// How many labels `agreement` is computed over.
    #[sqlx(default)]
    pub agreement_labels: i64,
    #[sqlx(default)]
    pub median_duration_ms: Option<i64>,
    /// When the rater last labelled here (epoch milliseconds).
    pub last_active_at: Option<i64>,
    #[serde(skip)]
    #[sqlx(default)]
    deactivated: bool,
}

/// An item held back after problem reports, for the admin to look at.
#[derive(Debug, Clone, Serialize)]
pub struct HeldItem {
    pub id: i64,
    pub external_id: Option<String>,
    pub text: String,
    pub reports: i64,
    pub reasons: Vec<String>,
}

/// Items of one pool by state.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct PoolQueue {
    pub needs_labels: i64,
    pub leased: i64,
    pub done: i64,
}

/// Items of a project by state, overall and per pool.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub needs_labels: i64,
    pub leased: i64,
    pub escalated: i64,
    pub reported: i64,
    pub done: i64,
    pub gold: i64,
    pub pools: BTreeMap<Pool, PoolQueue>,
}

/// A rater's answer to a qualification question, with the right answer.
#[derive(Debug, Clone)]
pub struct QualificationReview {
    pub given: String,
    pub answer: String,
    pub correct: bool,
    pub explanation: Option<String>,
}

/// The first qualification question of project `$1` in import order that rater `$2` has
/// not answered.
pub(super) const NEXT_QUALIFICATION_SQL: &str = concat!(
    "SELECT i.id FROM items i WHERE ",
    side_items!(),
    " AND i.is_qualification
        AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.rater_id = $2)
     ORDER BY i.position LIMIT 1"
);

impl Store {
    /// The next qualification question this rater has not answered, in import order.
    pub async fn next_qualification_question(
        &self,
        project_id: i64,
        rater_id: i64,
    ) -> Result<Option<i64>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(NEXT_QUALIFICATION_SQL).bind(project_id).bind(rater_id).fetch_optional(pool).await?
        }))
    }

    /// Items held back by problem reports, with the reasons given.
    pub async fn held_items(&self, project_id: i64) -> Result<Vec<HeldItem>> {
        let items: Vec<crate::store::items::ItemView> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id, external_id, data FROM items WHERE project_id = $1 AND held ORDER BY position")
                .bind(project_id)
                .fetch_all(pool)
                .await?
        });
        let mut out = Vec::new();
        for item in items {
            let reasons: Vec<String> = on_pool!(self, pool => {
                sqlx::query_scalar("SELECT reason FROM reports WHERE item_id = $1 ORDER BY created_at")
                    .bind(item.id)
                    .fetch_all(pool)
                    .await?
            });
            out.push(HeldItem {
                id: item.id,
                text: item.display_text(),
                external_id: item.external_id,
                reports: reasons.len() as i64,
                reasons,
            });
        }
        Ok(out)
    }

    /// A rater's answer to a qualification question beside the right one, for review.
    pub async fn qualification_review(
        &self,
        project: &crate::domain::project::Project,
        item_id: i64,
        rater_id: i64,
    ) -> Result<Option<QualificationReview>> {
        let project_id = project.id;
        let sql = "SELECT l.value, i.gold, i.explanation FROM labels l JOIN items i ON i.id = l.item_id
                   WHERE l.item_id = $1 AND l.rater_id = $2 AND i.project_id = $3 AND i.is_qualification";
        let row: Option<(String, Option<String>, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(item_id).bind(rater_id).bind(project_id).fetch_optional(pool).await?
        });
        Ok(row.map(|(given, answer, explanation)| {
            let given = from_stored(&given);
            let answer = answer.as_deref().map(from_stored).unwrap_or_default();
            QualificationReview {
                correct: project.schema().matches(&given, &answer),
                given: display(&given),
                answer: display(&answer),
                explanation,
            }
        }))
    }

    /// An admin pauses a rater in a project, with the reason the rater will see; audited.
    pub async fn pause_rater(
        &self,
        project_id: i64,
        rater_id: i64,
        reason: &str,
        entry: &Entry,
    ) -> Result<()> {
        let paused = in_write_tx!(self, tx, _lock => {
            let is_rater: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND role = 'rater'")
                .bind(rater_id)
                .fetch_optional(&mut *tx)
                .await?;
            if is_rater.is_some() {
                sqlx::query(
                    "INSERT INTO rater_states (project_id, rater_id, paused, paused_reason) VALUES ($1, $2, TRUE, $3)
                     ON CONFLICT (project_id, rater_id) DO UPDATE SET paused = TRUE, paused_reason = excluded.paused_reason",
                )
                .bind(project_id)
                .bind(rater_id)
                .bind(reason)
                .execute(&mut *tx)
                .await?;
                let entry = entry
                    .clone()
                    .project(project_id)
                    .target("user", rater_id)
                    .details(serde_json::json!({ "reason": reason }));
                record_audit(&mut tx, &entry).await?;
            }
            is_rater.is_some()
        });
        if !paused {
            return Err(AppError::not_found("rater"));
        }
        Ok(())
    }

    /// Lifts a pause: the gold record starts again, and an admin who lifts a pause vouches
    /// for the rater, so a failed qualification counts as passed.
    pub async fn unpause_rater(&self, project_id: i64, rater_id: i64, entry: &Entry) -> Result<()> {
        let changed = in_write_tx!(self, tx, _lock => {
            let changed = sqlx::query(
                "UPDATE rater_states SET paused = FALSE, paused_reason = NULL, gold_seen = 0, gold_correct = 0,
                     qualified = TRUE
                 WHERE project_id = $1 AND rater_id = $2 AND paused",
            )
            .bind(project_id)
            .bind(rater_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                let entry = entry.clone().project(project_id).target("user", rater_id);
                record_audit(&mut tx, &entry).await?;
            }
            changed
        });
        if changed == 0 {
            return Err(AppError::NotFound(
                "that rater is not paused in this project".into(),
            ));
        }
        Ok(())
    }

    /// Every rater who has worked on, been paused in or been named by a project, with the
    /// figures of their work here.
    pub async fn rater_standings(&self, project_id: i64) -> Result<Vec<RaterStanding>> {
        let mut standings = self.rater_rows(project_id).await?;
        let project = self.project(project_id).await?;
        add_work_figures(&mut standings, &*self.work_figures(&project).await?);
        Ok(standings)
    }

    /// The raters of `rater_standings` with what is kept per rater (labels, gold, status),
    /// without the figures that read every label (agreement, median time).
    pub async fn rater_rows(&self, project_id: i64) -> Result<Vec<RaterStanding>> {
        let sql = "SELECT u.id AS rater_id, u.name, u.pseudonym, u.pool, u.expertise,
                coalesce(rt.labels, 0) AS labels,
                coalesce(rs.gold_seen, 0) AS gold_seen, coalesce(rs.gold_correct, 0) AS gold_correct,
                coalesce(rs.paused, FALSE) AS paused, rs.paused_reason,
                rt.last_label_at AS last_active_at,
                u.deactivated_at IS NOT NULL AS deactivated
            FROM users u LEFT JOIN rater_states rs ON rs.rater_id = u.id AND rs.project_id = $1
                LEFT JOIN rater_tallies rt ON rt.rater_id = u.id AND rt.project_id = $1
            WHERE u.role = 'rater' AND (rs.rater_id IS NOT NULL OR rt.labels > 0
                OR EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = $1 AND m.rater_id = u.id))
            ORDER BY u.name";
        let mut standings: Vec<RaterStanding> = on_pool!(self, pool => {
            sqlx::query_as::<_, RaterStanding>(sql).bind(project_id).fetch_all(pool).await?
        });
        for standing in &mut standings {
            standing.status = WorkStatus::of(standing.deactivated, standing.paused)
                .as_str()
                .to_string();
            standing.gold_accuracy = share(standing.gold_correct, standing.gold_seen);
        }
        Ok(standings)
    }

    /// Counts the project's items by state, overall and per pool.
    pub async fn queue(&self, project_id: i64) -> Result<Queue> {
        let kept = self
            .snapshot(
                project_id,
                "queue",
                String::new(),
                move |store| async move { store.count_queue(project_id).await },
            )
            .await?;
        Ok(Arc::unwrap_or_clone(kept.value))
    }

    async fn count_queue(&self, project_id: i64) -> Result<Queue> {
        let now = now_ms();
        // One pass over the project's items for every count that needs only the item's row,
        // each pool's open items included.
        let open_in = |p: Pool| {
            format!(
                "CAST(coalesce(sum(CASE WHEN {} > 0 AND NOT held AND NOT is_gold THEN 1 ELSE 0 END), 0) AS BIGINT)",
                need_column(p)
            )
        };
        let overall_sql = format!(
            "SELECT
                CAST(coalesce(sum(CASE WHEN NOT held AND NOT is_gold AND need_generalist + need_expert + need_user > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN escalated AND need_expert > 0 AND NOT held THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN held THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN NOT held AND NOT is_gold AND need_generalist + need_expert + need_user = 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN is_gold THEN 1 ELSE 0 END), 0) AS BIGINT),
                {}, {}, {}
            FROM items WHERE project_id = $1",
            open_in(Pool::Generalist),
            open_in(Pool::Expert),
            open_in(Pool::User),
        );
        let leased_sql = "SELECT pool, count(DISTINCT item_id) FROM leases
            WHERE project_id = $1 AND expires_at > $2 GROUP BY pool";
        let leased_sql_all =
            "SELECT count(DISTINCT item_id) FROM leases WHERE project_id = $1 AND expires_at > $2";
        type Overall = (i64, i64, i64, i64, i64, i64, i64, i64);
        let (overall, leased, leased_by_pool): (Overall, i64, Vec<(String, i64)>) = on_pool!(self, pool => {
            let overall = sqlx::query_as(&overall_sql).bind(project_id).fetch_one(pool).await?;
            let leased = sqlx::query_scalar(leased_sql_all).bind(project_id).bind(now).fetch_one(pool).await?;
            let by_pool = sqlx::query_as(leased_sql).bind(project_id).bind(now).fetch_all(pool).await?;
            (overall, leased, by_pool)
        });
        let mut queue = Queue {
            needs_labels: overall.0,
            leased,
            escalated: overall.1,
            reported: overall.2,
            done: overall.3,
            gold: overall.4,
            pools: BTreeMap::new(),
        };
        for (p, needs_labels) in [
            (Pool::Generalist, overall.5),
            (Pool::Expert, overall.6),
            (Pool::User, overall.7),
        ] {
            let leased = leased_by_pool
                .iter()
                .find(|(name, _)| name == p.as_str())
                .map_or(0, |(_, count)| *count);
            let done = self.pool_done(project_id, p).await?;
            queue.pools.insert(
                p,
                PoolQueue {
                    needs_labels,
                    leased,
                    done,
                },
            );
        }
        Ok(queue)
    }

    /// The items a pool is done with: those it labelled that want no more of its labels. A
    /// pool with no label in the project is done with nothing, which one probe of the labels'
    /// index says without looking at every item.
    async fn pool_done(&self, project_id: i64, p: Pool) -> Result<i64> {
        let need = need_column(p);
        let labelled_sql =
            "SELECT EXISTS (SELECT 1 FROM labels WHERE project_id = $1 AND pool = $2)";
        let done_sql = format!(
            "SELECT count(*) FROM items
             WHERE project_id = $1 AND {need} = 0 AND NOT is_gold
               AND EXISTS (SELECT 1 FROM labels l WHERE l.item_id = items.id AND l.pool = $2)"
        );
        Ok(on_pool!(self, pool => {
            let labelled: bool = sqlx::query_scalar(labelled_sql).bind(project_id).bind(p.as_str()).fetch_one(pool).await?;
            if labelled {
                sqlx::query_scalar(&done_sql).bind(project_id).bind(p.as_str()).fetch_one(pool).await?
            } else {
                0
            }
        }))
    }
}

/// Puts each rater's agreement and median time into their standing.
pub fn add_work_figures(standings: &mut [RaterStanding], figures: &HashMap<i64, WorkFigures>) {
    for standing in standings {
        let none = WorkFigures::default();
        let work = figures.get(&standing.rater_id).unwrap_or(&none);
        standing.agreement = work.agreement();
        standing.agreement_labels = i64::try_from(work.compared).unwrap_or(i64::MAX);
        standing.median_duration_ms = work.median_duration_ms();
    }
}
