//! Raters within a project: gold records and pauses; and the queue by state and pool.

use serde::Serialize;
use std::collections::BTreeMap;

use super::{in_write_tx, on_pool, Store};
use crate::domain::now_ms;
use crate::domain::policy::Pool;
use crate::domain::project::Project;
use crate::error::{AppError, Result};

/// A rater's standing in one project, as admins see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RaterStanding {
    pub rater_id: i64,
    pub name: String,
    pub pool: String,
    pub labels: i64,
    pub gold_seen: i64,
    pub gold_correct: i64,
    pub paused: bool,
    pub paused_reason: Option<String>,
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
#[derive(Debug, Clone, Default, Serialize)]
pub struct PoolQueue {
    pub needs_labels: i64,
    pub leased: i64,
    pub done: i64,
}

/// Items of a project by state, overall and per pool.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Queue {
    pub needs_labels: i64,
    pub leased: i64,
    pub escalated: i64,
    pub reported: i64,
    pub done: i64,
    pub gold: i64,
    pub pools: BTreeMap<Pool, PoolQueue>,
}

/// Where a rater stands with a project's qualification set.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualification {
    /// The project asks for none, or the rater passed.
    Cleared,
    /// The next qualification question to answer.
    Next(i64),
    /// The rater did not pass; the reason says by how much.
    Failed(String),
}

/// A rater's answer to a qualification question, with the right answer.
#[derive(Debug, Clone)]
pub struct QualificationReview {
    pub given: String,
    pub answer: String,
    pub correct: bool,
    pub explanation: Option<String>,
}

/// Why a rater failed the qualification.
pub fn failed_reason(correct: i64, total: i64, needed: f64) -> String {
    format!(
        "did not pass the qualification: {correct} of {total} right, {:.0}% needed",
        needed * 100.0
    )
}

impl Store {
    /// The qualification step for a rater: cleared, the next question, or failed.
    pub async fn qualification_step(
        &self,
        project: &Project,
        rater_id: i64,
    ) -> Result<Qualification> {
        let Some(needed) = project.policy.qualify_accuracy else {
            return Ok(Qualification::Cleared);
        };
        let state_sql = "SELECT qualified, qual_seen, qual_correct FROM rater_states WHERE project_id = $1 AND rater_id = $2";
        let next_sql = "SELECT i.id FROM items i WHERE i.project_id = $1 AND i.is_qualification
              AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.rater_id = $2)
            ORDER BY i.position LIMIT 1";
        let total_sql = "SELECT count(*) FROM items WHERE project_id = $1 AND is_qualification";
        let (state, next, total): (Option<(bool, i64, i64)>, Option<i64>, i64) = on_pool!(self, pool => {
            let state = sqlx::query_as(state_sql).bind(project.id).bind(rater_id).fetch_optional(pool).await?;
            let next = sqlx::query_scalar(next_sql).bind(project.id).bind(rater_id).fetch_optional(pool).await?;
            let total = sqlx::query_scalar(total_sql).bind(project.id).fetch_one(pool).await?;
            (state, next, total)
        });
        let (qualified, seen, correct) = state.unwrap_or((false, 0, 0));
        if qualified || total == 0 {
            return Ok(Qualification::Cleared);
        }
        if let Some(item_id) = next {
            return Ok(Qualification::Next(item_id));
        }
        Ok(
            match project.policy.qualification_outcome(total, seen, correct) {
                Some(false) => Qualification::Failed(failed_reason(correct, total, needed)),
                _ => Qualification::Cleared,
            },
        )
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
        project_id: i64,
        item_id: i64,
        rater_id: i64,
    ) -> Result<Option<QualificationReview>> {
        let sql = "SELECT l.value, i.gold, i.explanation FROM labels l JOIN items i ON i.id = l.item_id
                   WHERE l.item_id = $1 AND l.rater_id = $2 AND i.project_id = $3 AND i.is_qualification";
        let row: Option<(String, Option<String>, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(item_id).bind(rater_id).bind(project_id).fetch_optional(pool).await?
        });
        Ok(row.map(|(given, answer, explanation)| {
            let answer = answer.unwrap_or_default();
            QualificationReview {
                correct: given == answer,
                given,
                answer,
                explanation,
            }
        }))
    }

    /// Why a rater is paused in a project, if they are.
    pub async fn pause_reason(&self, project_id: i64, rater_id: i64) -> Result<Option<String>> {
        let row: Option<Option<String>> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT paused_reason FROM rater_states WHERE project_id = $1 AND rater_id = $2 AND paused")
                .bind(project_id)
                .bind(rater_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|reason| reason.unwrap_or_else(|| "paused by an admin".into())))
    }

    /// Lifts a pause: the gold record starts again, and an admin who lifts a pause vouches
    /// for the rater, so a failed qualification counts as passed.
    pub async fn unpause_rater(&self, project_id: i64, rater_id: i64) -> Result<()> {
        let changed = in_write_tx!(self, tx, _lock => {
            sqlx::query(
                "UPDATE rater_states SET paused = FALSE, paused_reason = NULL, gold_seen = 0, gold_correct = 0,
                     qualified = TRUE
                 WHERE project_id = $1 AND rater_id = $2 AND paused",
            )
            .bind(project_id)
            .bind(rater_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        if changed == 0 {
            return Err(AppError::NotFound(
                "that rater is not paused in this project".into(),
            ));
        }
        Ok(())
    }

    /// Every rater who has worked on or been paused in a project.
    pub async fn rater_standings(&self, project_id: i64) -> Result<Vec<RaterStanding>> {
        let sql = "SELECT u.id AS rater_id, u.name, u.pool,
                (SELECT count(*) FROM labels l WHERE l.project_id = $1 AND l.rater_id = u.id) AS labels,
                coalesce(rs.gold_seen, 0) AS gold_seen, coalesce(rs.gold_correct, 0) AS gold_correct,
                coalesce(rs.paused, FALSE) AS paused, rs.paused_reason
            FROM users u LEFT JOIN rater_states rs ON rs.rater_id = u.id AND rs.project_id = $1
            WHERE u.role = 'rater' AND (rs.rater_id IS NOT NULL
                OR EXISTS (SELECT 1 FROM labels l WHERE l.project_id = $1 AND l.rater_id = u.id))
            ORDER BY u.name";
        Ok(on_pool!(self, pool => {
            sqlx::query_as::<_, RaterStanding>(sql).bind(project_id).fetch_all(pool).await?
        }))
    }

    /// Counts the project's items by state, overall and per pool.
    pub async fn queue(&self, project_id: i64) -> Result<Queue> {
        let now = now_ms();
        let overall_sql = "SELECT
                CAST(coalesce(sum(CASE WHEN NOT held AND NOT is_gold AND need_generalist + need_expert + need_user > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN escalated AND need_expert > 0 AND NOT held THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN held THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN NOT held AND NOT is_gold AND need_generalist + need_expert + need_user = 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN is_gold THEN 1 ELSE 0 END), 0) AS BIGINT)
            FROM items WHERE project_id = $1";
        let leased_sql =
            "SELECT count(DISTINCT item_id) FROM leases WHERE project_id = $1 AND expires_at > $2";
        let (overall, leased): ((i64, i64, i64, i64, i64), i64) = on_pool!(self, pool => {
            let overall = sqlx::query_as(overall_sql).bind(project_id).fetch_one(pool).await?;
            let leased = sqlx::query_scalar(leased_sql).bind(project_id).bind(now).fetch_one(pool).await?;
            (overall, leased)
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
        for p in Pool::ALL {
            queue
                .pools
                .insert(p, self.pool_queue(project_id, p, now).await?);
        }
        Ok(queue)
    }

    async fn pool_queue(&self, project_id: i64, p: Pool, now: i64) -> Result<PoolQueue> {
        let need = p.need_column();
        let sql = format!(
            "SELECT
                CAST(coalesce(sum(CASE WHEN {need} > 0 AND NOT held AND NOT is_gold THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN {need} = 0 AND NOT is_gold
                    AND EXISTS (SELECT 1 FROM labels l WHERE l.item_id = items.id AND l.pool = $2) THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM items WHERE project_id = $1"
        );
        let leased_sql = "SELECT count(DISTINCT item_id) FROM leases WHERE project_id = $1 AND expires_at > $2 AND pool = $3";
        let ((needs_labels, done), leased): ((i64, i64), i64) = on_pool!(self, pool => {
            let counts = sqlx::query_as(&sql).bind(project_id).bind(p.as_str()).fetch_one(pool).await?;
            let leased = sqlx::query_scalar(leased_sql).bind(project_id).bind(now).bind(p.as_str()).fetch_one(pool).await?;
            (counts, leased)
        });
        Ok(PoolQueue {
            needs_labels,
            leased,
            done,
        })
    }
}
