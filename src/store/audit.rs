//! The audit log: appended to, read with filters and keyset pagination, never changed.

use super::{in_write_tx, on_pool, tx_fn, Store};
use crate::domain::audit::Entry;
use crate::domain::now_ms;
use crate::error::Result;

/// One stored entry, with the actor's name as it reads today (an erased person's pseudonym).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    /// Epoch milliseconds.
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub action: String,
    pub project_id: Option<i64>,
    pub target: Option<String>,
    /// JSON text: before and after, a reason, counts.
    pub details: String,
    pub source: Option<String>,
}

/// Which entries to read: all filters are optional; `before` is the keyset cursor (entries
/// with a smaller id, newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub project_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    /// Epoch milliseconds, inclusive.
    pub since: Option<i64>,
    pub before: Option<i64>,
    pub limit: i64,
}

tx_fn!(
    /// Appends one entry inside the transaction of the action it records, so the action and
    /// its entry commit together or not at all.
    pub(crate) record_audit(tx, entry: &Entry) -> () {
        let details = entry.details.to_string();
        sqlx::query(
            "INSERT INTO audit_log (at, actor_id, action, project_id, target, details, source)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(now_ms())
        .bind(entry.actor_id)
        .bind(entry.action.as_str())
        .bind(entry.project_id)
        .bind(entry.target.as_deref())
        .bind(details.as_str())
        .bind(entry.source.as_stored())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
);

impl Store {
    /// Appends one entry on its own, for actions that have no transaction of their own.
    pub async fn audit(&self, entry: &Entry) -> Result<()> {
        in_write_tx!(self, tx, _lock => record_audit(&mut tx, entry).await?);
        Ok(())
    }

    /// Entries matching the filter, newest first, at most `limit`.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let sql = "SELECT a.id, a.at, a.actor_id, u.name AS actor, a.action, a.project_id,
                a.target, a.details, a.source
            FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
            WHERE ($1 IS NULL OR a.project_id = $1)
              AND ($2 IS NULL OR a.actor_id = $2)
              AND ($3 IS NULL OR a.action = $3)
              AND ($4 IS NULL OR a.at >= $4)
              AND ($5 IS NULL OR a.id < $5)
            ORDER BY a.id DESC
            LIMIT $6";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(filter.project_id)
                .bind(filter.actor_id)
                .bind(filter.action.as_deref())
                .bind(filter.since)
                .bind(filter.before)
                .bind(filter.limit)
                .fetch_all(pool)
                .await?
        }))
    }
}
