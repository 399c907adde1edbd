//! Assignment: which item a rater gets next, held for them by a lease.
//!
//! An item is open to a rater when it still needs labels, the rater has neither labelled
//! nor skipped it, and fewer than `needed` other raters hold a live lease on it. Asking
//! again while a lease holds returns the same item; an expired lease frees its slot.
//!
//! Every write that changes an item's slots (a new lease, a label) first takes the item's
//! write lock: SQLite's single writer (`BEGIN IMMEDIATE`) or a PostgreSQL row lock. So the
//! count of labels plus live leases can never pass what the item needs.

use tracing::instrument;

use super::items::ItemView;
use super::{PgBackend, SqliteBackend, Store};
use crate::domain::now_ms;
use crate::domain::project::Project;
use crate::error::Result;

const HELD_LEASE_SQL: &str = "SELECT le.item_id FROM leases le
    WHERE le.project_id = $1 AND le.rater_id = $2 AND le.expires_at > $3
      AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = le.item_id AND l.rater_id = $2)
    ORDER BY le.leased_at, le.item_id
    LIMIT 1";

const RENEW_LEASE_SQL: &str =
    "UPDATE leases SET expires_at = $1 WHERE item_id = $2 AND rater_id = $3";

/// Open items for a rater, first in import order. `$4` lists ids to pass over.
const OPEN_ITEMS_WHERE: &str = "i.project_id = $1 AND i.needed > 0
      AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.rater_id = $2)
      AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = i.id AND s.rater_id = $2)
      AND i.needed > (SELECT count(*) FROM leases le
                      WHERE le.item_id = i.id AND le.expires_at > $3 AND le.rater_id <> $2)";

/// Slots left on one item for a rater, counted in a fresh statement.
const FREE_SLOTS_SQL: &str = "SELECT i.needed - (SELECT count(*) FROM leases le
        WHERE le.item_id = i.id AND le.expires_at > $2 AND le.rater_id <> $3)
    FROM items i WHERE i.id = $1";

const UPSERT_LEASE_SQL: &str = "INSERT INTO leases (item_id, rater_id, project_id, leased_at, expires_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (item_id, rater_id) DO UPDATE SET leased_at = excluded.leased_at, expires_at = excluded.expires_at";

/// A request for the next item: who asks, in which project, at what time.
struct Ask {
    project_id: i64,
    rater_id: i64,
    now: i64,
    expires_at: i64,
}

impl Store {
    /// Leases the next item to a rater and returns it, or `None` when nothing is left for them.
    #[instrument(skip_all, fields(project = project.id, rater = rater_id))]
    pub async fn next_item(&self, project: &Project, rater_id: i64) -> Result<Option<ItemView>> {
        let now = now_ms();
        let ask = Ask {
            project_id: project.id,
            rater_id,
            now,
            expires_at: now + project.lease_seconds * 1000,
        };
        let item_id = match self {
            Store::Sqlite(backend) => next_item_sqlite(backend, &ask).await?,
            Store::Postgres(backend) => next_item_postgres(backend, &ask).await?,
        };
        match item_id {
            Some(id) => Ok(Some(self.item(project.id, id).await?)),
            None => Ok(None),
        }
    }
}

/// SQLite: one writer at a time, so the first open item is safe to lease as found.
async fn next_item_sqlite(backend: &SqliteBackend, ask: &Ask) -> Result<Option<i64>> {
    let _writer = backend.write_lock().await;
    let mut tx = backend.pool.begin_with("BEGIN IMMEDIATE").await?;
    let held: Option<i64> = sqlx::query_scalar(HELD_LEASE_SQL)
        .bind(ask.project_id)
        .bind(ask.rater_id)
        .bind(ask.now)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(item_id) = held {
        renew(&mut tx, ask, item_id).await?;
        tx.commit().await?;
        return Ok(Some(item_id));
    }
    let sql =
        format!("SELECT i.id FROM items i WHERE {OPEN_ITEMS_WHERE} ORDER BY i.position LIMIT 1");
    let candidate: Option<i64> = sqlx::query_scalar(&sql)
        .bind(ask.project_id)
        .bind(ask.rater_id)
        .bind(ask.now)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(item_id) = candidate {
        lease(&mut tx, ask, item_id).await?;
    }
    tx.commit().await?;
    Ok(candidate)
}

/// PostgreSQL: raters in several processes race, so each takes a candidate's row lock with
/// `SKIP LOCKED` (others move on to other items), then counts the item's slots again in a
/// fresh statement, which sees every lease committed before the lock was granted.
async fn next_item_postgres(backend: &PgBackend, ask: &Ask) -> Result<Option<i64>> {
    let mut tx = backend.pool.begin().await?;
    let held: Option<i64> = sqlx::query_scalar(HELD_LEASE_SQL)
        .bind(ask.project_id)
        .bind(ask.rater_id)
        .bind(ask.now)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(item_id) = held {
        renew(&mut tx, ask, item_id).await?;
        tx.commit().await?;
        return Ok(Some(item_id));
    }
    let sql = format!(
        "SELECT i.id FROM items i WHERE {OPEN_ITEMS_WHERE} AND i.id <> ALL($4)
         ORDER BY i.position LIMIT 1 FOR NO KEY UPDATE OF i SKIP LOCKED"
    );
    let mut passed_over: Vec<i64> = Vec::new();
    loop {
        let candidate: Option<i64> = sqlx::query_scalar(&sql)
            .bind(ask.project_id)
            .bind(ask.rater_id)
            .bind(ask.now)
            .bind(&passed_over)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(item_id) = candidate else {
            tx.commit().await?;
            return Ok(None);
        };
        let free: i64 = sqlx::query_scalar(FREE_SLOTS_SQL)
            .bind(item_id)
            .bind(ask.now)
            .bind(ask.rater_id)
            .fetch_one(&mut *tx)
            .await?;
        if free > 0 {
            lease(&mut tx, ask, item_id).await?;
            tx.commit().await?;
            return Ok(Some(item_id));
        }
        passed_over.push(item_id);
    }
}

async fn renew<'c, DB>(tx: &mut sqlx::Transaction<'c, DB>, ask: &Ask, item_id: i64) -> Result<()>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    i64: sqlx::Type<DB> + for<'q> sqlx::Encode<'q, DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    sqlx::query(RENEW_LEASE_SQL)
        .bind(ask.expires_at)
        .bind(item_id)
        .bind(ask.rater_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn lease<'c, DB>(tx: &mut sqlx::Transaction<'c, DB>, ask: &Ask, item_id: i64) -> Result<()>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    i64: sqlx::Type<DB> + for<'q> sqlx::Encode<'q, DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    sqlx::query(UPSERT_LEASE_SQL)
        .bind(item_id)
        .bind(ask.rater_id)
        .bind(ask.project_id)
        .bind(ask.now)
        .bind(ask.expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
