//! What the monitoring endpoints read: each project's load, the pool's use, and whether
//! the schema is the one this binary was built for.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::migrate::Migrator;

use super::{on_pool, Store};
use crate::error::Result;

/// One project's queue at a moment.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProjectLoad {
    pub project_id: i64,
    /// Items that still want labels (not gold, not held back).
    pub open_items: i64,
    /// Leases that have not run out.
    pub active_leases: i64,
}

/// The connection pool's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open, idle or in use.
    pub open: u32,
    pub idle: usize,
    pub max: u32,
}

/// What group commit (`group_commit` on SQLite, `pg_group_commit` on PostgreSQL) has done
/// since the process started, counted by its writer thread.
#[derive(Debug, Default)]
pub struct GroupCommitCounts {
    batches: AtomicU64,
    batched: AtomicU64,
    alone: AtomicU64,
}

/// [`GroupCommitCounts`] read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupCommitTotals {
    /// Transactions that wrote a batch.
    pub batches: u64,
    /// Writes decided inside a batch: written, or refused by the gate.
    pub batched: u64,
    /// Writes that took the general path, each in a transaction of its own.
    pub alone: u64,
}

impl GroupCommitCounts {
    pub(crate) fn batch(&self, writes: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched.fetch_add(writes as u64, Ordering::Relaxed);
    }

    pub(crate) fn alone(&self, writes: usize) {
        self.alone.fetch_add(writes as u64, Ordering::Relaxed);
    }

    pub fn totals(&self) -> GroupCommitTotals {
        GroupCommitTotals {
            batches: self.batches.load(Ordering::Relaxed),
            batched: self.batched.load(Ordering::Relaxed),
            alone: self.alone.load(Ordering::Relaxed),
        }
    }
}

/// Open items and live leases of every project, in one statement. `held = FALSE` rather
/// than `NOT held` lets SQLite count the open items in their own partial index
/// (`items_wanted`, whose second column is `held`) instead of looking up every item's row.
pub(super) const PROJECT_LOAD_SQL: &str = "SELECT p.id AS project_id,
        CAST((SELECT count(*) FROM items i WHERE i.project_id = p.id AND i.held = FALSE AND NOT i.is_gold
            AND i.need_generalist + i.need_expert + i.need_user > 0) AS BIGINT) AS open_items,
        CAST((SELECT count(*) FROM leases l WHERE l.project_id = p.id AND l.expires_at > $1) AS BIGINT) AS active_leases
    FROM projects p ORDER BY p.id";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// The migrations embedded in this binary for this backend.
    pub fn migrator(&self) -> &'static Migrator {
        match self {
            Store::Sqlite(_) => &SQLITE_MIGRATIONS,
            Store::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Each project's open items and active leases at `now` (epoch milliseconds).
    pub async fn project_load(&self, now: i64) -> Result<Vec<ProjectLoad>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as::<_, ProjectLoad>(PROJECT_LOAD_SQL).bind(now).fetch_all(pool).await?
        }))
    }

    pub fn pool_usage(&self) -> PoolUsage {
        on_pool!(self, pool => PoolUsage {
            open: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        })
    }

    /// What this process's group commit has done so far.
    pub fn group_commit(&self) -> GroupCommitTotals {
        match self {
            Store::Sqlite(backend) => backend.group.counts().totals(),
            Store::Postgres(backend) => backend.labels.counts().totals(),
        }
    }

    /// How many of the embedded migrations the database has not applied successfully. An
    /// error when the migrations table cannot be read (a database never migrated).
    pub async fn pending_migrations(&self) -> Result<usize> {
        let sql = "SELECT version FROM _sqlx_migrations WHERE success";
        let applied: HashSet<i64> = on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(sql).fetch_all(pool).await?.into_iter().collect()
        });
        Ok(self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
            .count())
    }
}
