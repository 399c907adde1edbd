//! Review: a project's reviewers and settings, the items the review queue looks at, and
//! reviewers' final labels.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::FromRow;

use super::audit::record_audit;
use super::{in_write_tx, on_pool, Store};
use crate::domain::audit::Entry;
use crate::domain::kinds::from_stored;
use crate::domain::now_ms;
use crate::domain::review::{Candidate, ReviewFeedback, ReviewLabel, ReviewSettings};
use crate::error::{AppError, Result};

/// A rater a project names as its reviewer.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct NamedReviewer {
    pub user_id: i64,
    pub name: String,
    pub pool: String,
}

/// A reviewer's final label on an item, as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Adjudication {
    pub item_id: i64,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
    pub reason: String,
    /// The reviewer's pseudonym.
    pub reviewer: String,
    #[serde(skip)]
    pub reviewer_id: i64,
    pub created_at: i64,
}

#[derive(FromRow)]
struct AdjudicationRow {
    item_id: i64,
    value: String,
    reason: String,
    pseudonym: String,
    reviewer_id: i64,
    created_at: i64,
}

impl From<AdjudicationRow> for Adjudication {
    fn from(row: AdjudicationRow) -> Self {
        Adjudication {
            item_id: row.item_id,
            value: from_stored(&row.value),
            reason: row.reason,
            reviewer: row.pseudonym,
            reviewer_id: row.reviewer_id,
            created_at: row.created_at,
        }
    }
}

#[derive(FromRow)]
struct CandidateRow {
    id: i64,
    external_id: Option<String>,
    open: bool,
    escalated: bool,
    open_reports: i64,
}

#[derive(FromRow)]
struct CandidateLabel {
    item_id: i64,
    rater_id: i64,
    pseudonym: String,
    pool: String,
    value: String,
    created_at: i64,
    guideline_version: Option<i64>,
}

#[derive(FromRow)]
struct CandidateFeedback {
    item_id: i64,
    source: String,
    value: String,
}

const ADJUDICATION_COLUMNS: &str =
    "a.item_id, a.value, a.reason, u.pseudonym, a.reviewer_id, a.created_at
     FROM adjudications a JOIN users u ON u.id = a.reviewer_id";

impl Store {
    /// Whether a rater is named a reviewer of the project.
    pub async fn is_project_reviewer(&self, project_id: i64, user_id: i64) -> Result<bool> {
        let sql = "SELECT EXISTS (SELECT 1 FROM project_reviewers WHERE project_id = $1 AND user_id = $2)";
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(project_id).bind(user_id).fetch_one(pool).await?
        }))
    }

    /// The projects a rater is named a reviewer of.
    pub async fn reviewed_projects(&self, user_id: i64) -> Result<Vec<i64>> {
        let sql = "SELECT project_id FROM project_reviewers WHERE user_id = $1 ORDER BY project_id";
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(user_id).fetch_all(pool).await?
        }))
    }

    /// The raters a project names as its reviewers.
    pub async fn project_reviewers(&self, project_id: i64) -> Result<Vec<NamedReviewer>> {
        let sql = "SELECT u.id AS user_id, u.name, u.pool FROM project_reviewers r
            JOIN users u ON u.id = r.user_id WHERE r.project_id = $1 ORDER BY u.name";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql).bind(project_id).fetch_all(pool).await?
        }))
    }

    /// Names a rater a reviewer of the project; false when they already were.
    pub async fn add_project_reviewer(
        &self,
        project_id: i64,
        user_id: i64,
        entry: &Entry,
    ) -> Result<bool> {
        Ok(in_write_tx!(self, tx, _lock => {
            let added = sqlx::query(
                "INSERT INTO project_reviewers (project_id, user_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
            )
            .bind(project_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if added {
                record_audit(&mut tx, entry).await?;
            }
            added
        }))
    }

    /// Stops a rater reviewing the project; false when they did not.
    pub async fn remove_project_reviewer(
        &self,
        project_id: i64,
        user_id: i64,
        entry: &Entry,
    ) -> Result<bool> {
        Ok(in_write_tx!(self, tx, _lock => {
            let removed = sqlx::query(
                "DELETE FROM project_reviewers WHERE project_id = $1 AND user_id = $2",
            )
            .bind(project_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if removed {
                record_audit(&mut tx, entry).await?;
            }
            removed
        }))
    }

    pub async fn review_settings(&self, project_id: i64) -> Result<ReviewSettings> {
        let sql = "SELECT review_below, spot_check_rate FROM projects WHERE id = $1";
        let row: Option<(f64, f64)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(project_id).fetch_optional(pool).await?
        });
        let (review_below, spot_check_rate) = row.ok_or_else(|| AppError::not_found("project"))?;
        Ok(ReviewSettings {
            review_below,
            spot_check_rate,
        })
    }

    pub async fn set_review_settings(
        &self,
        project_id: i64,
        settings: ReviewSettings,
        entry: &Entry,
    ) -> Result<()> {
        in_write_tx!(self, tx, _lock => {
            sqlx::query("UPDATE projects SET review_below = $1, spot_check_rate = $2 WHERE id = $3")
                .bind(settings.review_below)
                .bind(settings.spot_check_rate)
                .bind(project_id)
                .execute(&mut *tx)
                .await?;
            record_audit(&mut tx, entry).await?;
        });
        Ok(())
    }

    /// Up to `limit` items after item id `after` that the review queue looks at: items with
    /// labels or open reports and no final label yet, with their labels and feedback.
    pub async fn review_candidates(
        &self,
        project_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Candidate>> {
        let items_sql = "SELECT i.id, i.external_id,
                (i.need_generalist + i.need_expert + i.need_user > 0
                 OR EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.id AND l.expires_at > $4)) AS open,
                i.escalated,
                (SELECT count(*) FROM reports r WHERE r.item_id = i.id AND NOT r.cleared) AS open_reports
            FROM items i
            WHERE i.project_id = $1 AND i.id > $2 AND NOT i.is_gold AND NOT i.is_qualification
              AND (i.label_count > 0 OR i.reports > 0)
              AND NOT EXISTS (SELECT 1 FROM adjudications a WHERE a.item_id = i.id)
            ORDER BY i.id LIMIT $3";
        let labels_sql = "SELECT l.item_id, l.rater_id, u.pseudonym, l.pool, l.value, l.created_at, l.guideline_version
            FROM labels l JOIN users u ON u.id = l.rater_id
            WHERE l.project_id = $1 AND l.item_id > $2 AND l.item_id <= $3
            ORDER BY l.item_id, l.id";
        let feedback_sql = "SELECT item_id, source, value FROM feedback_events
            WHERE project_id = $1 AND item_id > $2 AND item_id <= $3 ORDER BY item_id, id";
        let (items, labels, feedback) = on_pool!(self, pool => {
            let items: Vec<CandidateRow> = sqlx::query_as(items_sql)
                .bind(project_id)
                .bind(after)
                .bind(limit)
                .bind(now_ms())
                .fetch_all(pool)
                .await?;
            let last = items.last().map_or(after, |i| i.id);
            let labels: Vec<CandidateLabel> = sqlx::query_as(labels_sql)
                .bind(project_id)
                .bind(after)
                .bind(last)
                .fetch_all(pool)
                .await?;
            let feedback: Vec<CandidateFeedback> = sqlx::query_as(feedback_sql)
                .bind(project_id)
                .bind(after)
                .bind(last)
                .fetch_all(pool)
                .await?;
            (items, labels, feedback)
        });
        let mut labels_by_item: HashMap<i64, Vec<ReviewLabel>> = HashMap::new();
        for l in labels {
            labels_by_item
                .entry(l.item_id)
                .or_default()
                .push(ReviewLabel {
                    rater_id: l.rater_id,
                    rater: l.pseudonym,
                    pool: l.pool,
                    value: from_stored(&l.value),
                    created_at: l.created_at,
                    guideline_version: l.guideline_version,
                });
        }
        let mut feedback_by_item: HashMap<i64, Vec<ReviewFeedback>> = HashMap::new();
        for f in feedback {
            feedback_by_item
                .entry(f.item_id)
                .or_default()
                .push(ReviewFeedback {
                    source: f.source,
                    value: from_stored(&f.value),
                });
        }
        Ok(items
            .into_iter()
            .map(|item| Candidate {
                item_id: item.id,
                external_id: item.external_id,
                settled: !item.open,
                escalated: item.escalated,
                open_reports: item.open_reports,
                labels: labels_by_item.remove(&item.id).unwrap_or_default(),
                feedback: feedback_by_item.remove(&item.id).unwrap_or_default(),
            })
            .collect())
    }

    /// The one item as the review page shows it, whether or not it is in the queue.
    pub async fn review_candidate(&self, project_id: i64, item_id: i64) -> Result<Candidate> {
        let exists_sql = "SELECT count(*) FROM items WHERE project_id = $1 AND id = $2";
        let found: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(exists_sql).bind(project_id).bind(item_id).fetch_one(pool).await?
        });
        if found == 0 {
            return Err(AppError::not_found("item"));
        }
        let sql = "SELECT i.id, i.external_id,
                (i.need_generalist + i.need_expert + i.need_user > 0
                 OR EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.id AND l.expires_at > $3)) AS open,
                i.escalated,
                (SELECT count(*) FROM reports r WHERE r.item_id = i.id AND NOT r.cleared) AS open_reports
            FROM items i WHERE i.project_id = $1 AND i.id = $2";
        let labels_sql = "SELECT l.item_id, l.rater_id, u.pseudonym, l.pool, l.value, l.created_at, l.guideline_version
            FROM labels l JOIN users u ON u.id = l.rater_id WHERE l.item_id = $1 ORDER BY l.id";
        let feedback_sql =
            "SELECT item_id, source, value FROM feedback_events WHERE item_id = $1 ORDER BY id";
        let (item, labels, feedback) = on_pool!(self, pool => {
            let item: CandidateRow = sqlx::query_as(sql)
                .bind(project_id)
                .bind(item_id)
                .bind(now_ms())
                .fetch_one(pool)
                .await?;
            let labels: Vec<CandidateLabel> = sqlx::query_as(labels_sql).bind(item_id).fetch_all(pool).await?;
            let feedback: Vec<CandidateFeedback> = sqlx::query_as(feedback_sql).bind(item_id).fetch_all(pool).await?;
            (item, labels, feedback)
        });
        Ok(Candidate {
            item_id: item.id,
            external_id: item.external_id,
            settled: !item.open,
            escalated: item.escalated,
            open_reports: item.open_reports,
            labels: labels
                .into_iter()
                .map(|l| ReviewLabel {
                    rater_id: l.rater_id,
                    rater: l.pseudonym,
                    pool: l.pool,
                    value: from_stored(&l.value),
                    created_at: l.created_at,
                    guideline_version: l.guideline_version,
                })
                .collect(),
            feedback: feedback
                .into_iter()
                .map(|f| ReviewFeedback {
                    source: f.source,
                    value: from_stored(&f.value),
                })
                .collect(),
        })
    }

    /// An item's final label, if a reviewer set one.
    pub async fn adjudication(
        &self,
        project_id: i64,
        item_id: i64,
    ) -> Result<Option<Adjudication>> {
        let sql =
            format!("SELECT {ADJUDICATION_COLUMNS} WHERE a.project_id = $1 AND a.item_id = $2");
        let row: Option<AdjudicationRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(project_id).bind(item_id).fetch_optional(pool).await?
        });
        Ok(row.map(Adjudication::from))
    }

    /// Every final label of a project, by item id.
    pub async fn adjudications(&self, project_id: i64) -> Result<HashMap<i64, Adjudication>> {
        let sql = format!("SELECT {ADJUDICATION_COLUMNS} WHERE a.project_id = $1");
        let rows: Vec<AdjudicationRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(project_id).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|row| (row.item_id, Adjudication::from(row)))
            .collect())
    }

    /// Sets an item's final label: it replaces any earlier one, the item stops wanting labels
    /// (live holds on it end), its reports count as answered, and the audit entry commits
    /// with it.
    pub async fn adjudicate(
        &self,
        project_id: i64,
        item_id: i64,
        reviewer_id: i64,
        value: &serde_json::Value,
        reason: &str,
        entry: &Entry,
    ) -> Result<Adjudication> {
        let stored = value.to_string();
        let now = now_ms();
        in_write_tx!(self, tx, _lock => {
            let found: i64 = sqlx::query_scalar("SELECT count(*) FROM items WHERE project_id = $1 AND id = $2")
                .bind(project_id)
                .bind(item_id)
                .fetch_one(&mut *tx)
                .await?;
            if found == 0 {
                return Err(AppError::not_found("item"));
            }
            sqlx::query(
                "INSERT INTO adjudications (item_id, project_id, reviewer_id, value, reason, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (item_id) DO UPDATE SET reviewer_id = excluded.reviewer_id,
                    value = excluded.value, reason = excluded.reason, created_at = excluded.created_at",
            )
            .bind(item_id)
            .bind(project_id)
            .bind(reviewer_id)
            .bind(&stored)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE items SET need_generalist = 0, need_expert = 0, need_user = 0, held = FALSE, reports = 0 WHERE id = $1")
                .bind(item_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM leases WHERE item_id = $1")
                .bind(item_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE reports SET cleared = TRUE WHERE item_id = $1")
                .bind(item_id)
                .execute(&mut *tx)
                .await?;
            record_audit(&mut tx, entry).await?;
        });
        self.adjudication(project_id, item_id)
            .await?
            .ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("adjudication of item {item_id} vanished"))
            })
    }
}

impl Store {
    /// How many of a project's items have a final label.
    pub async fn adjudication_count(&self, project_id: i64) -> Result<i64> {
        let sql = "SELECT count(*) FROM adjudications WHERE project_id = $1";
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(sql).bind(project_id).fetch_one(pool).await?
        }))
    }
}
