//! Cost and pace: a project's hourly rates per pool, and the counts behind its spend, pace
//! and savings. Each figure is one aggregate query over an index (see the migration
//! `20261202000301_pace.sql`), so the page stays quick on a project of a million items.

use std::collections::BTreeMap;

use super::audit::record_audit;
use super::projects::REAL_ITEMS;
use super::{in_write_tx, on_pool, side_items, Store};
use crate::domain::audit::Entry;
use crate::domain::now_ms;
use crate::domain::pace::{
    median_from_middle, pace, Pace, PaceCounts, PoolCounts, PoolRates, DAY_MS, HOUR_MS,
};
use crate::domain::policy::Pool;
use crate::domain::project::Project;
use crate::error::Result;

const RATES_SQL: &str = "SELECT currency, generalist_per_hour, expert_per_hour, user_per_hour
                         FROM pool_rates WHERE project_id = $1";

type RatesRow = (String, f64, f64, f64);

fn rates_of(row: Option<RatesRow>) -> PoolRates {
    row.map(|(currency, generalist, expert, user)| PoolRates {
        currency,
        generalist,
        expert,
        user,
    })
    .unwrap_or_default()
}

/// Per pool: every label, those with a time, and the sum of their times.
const POOL_LABELS_SQL: &str =
    "SELECT pool, count(*), count(duration_ms), CAST(coalesce(sum(duration_ms), 0) AS BIGINT)
     FROM labels WHERE project_id = $1 GROUP BY pool";

/// The one or two recorded times in the middle of a pool's sorted times.
const MIDDLE_SQL: &str = "SELECT duration_ms FROM labels
     WHERE project_id = $1 AND pool = $2 AND duration_ms IS NOT NULL
     ORDER BY duration_ms LIMIT 2 OFFSET $3";

/// Per pool: labels on gold and qualification questions (few items, found by their index
/// and then their labels by item; `CROSS JOIN` keeps SQLite from scanning every label of the
/// project instead). Joined to the items' own table, the side items' `id > 0` would be
/// carried over to `l.item_id` by SQLite, which then took every label for each item (5 s
/// on 500,000 labels): the side items are gathered first.
pub(super) const SIDE_LABELS_SQL: &str = concat!(
    "WITH side AS MATERIALIZED (SELECT id FROM items WHERE ",
    side_items!(),
    ") SELECT l.pool, count(*) FROM side CROSS JOIN labels l
     WHERE l.item_id = side.id AND l.project_id = $1 GROUP BY l.pool"
);

/// Labels since a day ago, and since an hour ago.
const RECENT_SQL: &str = "SELECT count(*), CAST(coalesce(sum(CASE WHEN created_at >= $3 THEN 1 ELSE 0 END), 0) AS BIGINT)
     FROM labels WHERE project_id = $1 AND created_at >= $2";

const FIRST_LABEL_SQL: &str = "SELECT min(created_at) FROM labels WHERE project_id = $1";

/// Labels still wanted per pool, in the queue and on items held back, read from the
/// partial index of items that want any.
const WANTED_SQL: &str = "SELECT
        CAST(coalesce(sum(CASE WHEN held THEN 0 ELSE need_generalist END), 0) AS BIGINT),
        CAST(coalesce(sum(CASE WHEN held THEN 0 ELSE need_expert END), 0) AS BIGINT),
        CAST(coalesce(sum(CASE WHEN held THEN 0 ELSE need_user END), 0) AS BIGINT),
        CAST(coalesce(sum(CASE WHEN held THEN need_generalist ELSE 0 END), 0) AS BIGINT),
        CAST(coalesce(sum(CASE WHEN held THEN need_expert ELSE 0 END), 0) AS BIGINT),
        CAST(coalesce(sum(CASE WHEN held THEN need_user ELSE 0 END), 0) AS BIGINT)
     FROM items WHERE project_id = $1 AND need_generalist + need_expert + need_user > 0";

type Wanted = (i64, i64, i64, i64, i64, i64);

impl Store {
    /// The project's hourly rates; nothing costs anything until an admin sets them.
    pub async fn pool_rates(&self, project_id: i64) -> Result<PoolRates> {
        let row: Option<RatesRow> = on_pool!(self, pool => {
            sqlx::query_as(RATES_SQL).bind(project_id).fetch_optional(pool).await?
        });
        Ok(rates_of(row))
    }

    /// Sets the project's rates and records the change (before and after) in the audit
    /// log, in one transaction.
    pub async fn set_pool_rates(
        &self,
        project_id: i64,
        rates: &PoolRates,
        entry: Entry,
    ) -> Result<()> {
        in_write_tx!(self, tx, _lock => {
            let before: Option<RatesRow> = sqlx::query_as(RATES_SQL)
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO pool_rates (project_id, currency, generalist_per_hour, expert_per_hour, user_per_hour, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (project_id) DO UPDATE SET currency = excluded.currency,
                     generalist_per_hour = excluded.generalist_per_hour,
                     expert_per_hour = excluded.expert_per_hour,
                     user_per_hour = excluded.user_per_hour,
                     updated_at = excluded.updated_at",
            )
            .bind(project_id)
            .bind(rates.currency.as_str())
            .bind(rates.generalist)
            .bind(rates.expert)
            .bind(rates.user)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            let entry = entry.changes(&rates_of(before).to_json(), &rates.to_json());
            record_audit(&mut tx, &entry).await?;
        });
        Ok(())
    }

    /// The project's cost, pace, finish and savings at `now`.
    #[tracing::instrument(skip_all, fields(project = project.id))]
    pub async fn pace(&self, project: &Project, now: i64) -> Result<Pace> {
        let project_id = project.id;
        // A refresh made later counts up to its own time.
        let asked = crate::domain::now_ms();
        let counts = self
            .snapshot(project_id, "pace", String::new(), move |store| async move {
                let now = now + (crate::domain::now_ms() - asked);
                store.pace_counts(project_id, now).await
            })
            .await?
            .value;
        let counts = std::sync::Arc::unwrap_or_clone(counts);
        let rates = self.pool_rates(project.id).await?;
        Ok(pace(&counts, &rates, &project.policy))
    }

    async fn pace_counts(&self, project_id: i64, now: i64) -> Result<PaceCounts> {
        type LabelFigures = (
            Vec<(String, i64, i64, i64)>,
            Vec<(String, i64)>,
            (i64, i64),
            Option<i64>,
        );
        let (pool_rows, side_rows, recent, first): LabelFigures = on_pool!(self, pool => {
            (
                sqlx::query_as(POOL_LABELS_SQL).bind(project_id).fetch_all(pool).await?,
                sqlx::query_as(SIDE_LABELS_SQL).bind(project_id).fetch_all(pool).await?,
                sqlx::query_as(RECENT_SQL)
                    .bind(project_id)
                    .bind(now - DAY_MS)
                    .bind(now - HOUR_MS)
                    .fetch_one(pool)
                    .await?,
                sqlx::query_scalar(FIRST_LABEL_SQL).bind(project_id).fetch_one(pool).await?,
            )
        });
        let real_items_sql = format!("SELECT {REAL_ITEMS}");
        let (wanted, real_items): (Wanted, i64) = on_pool!(self, pool => {
            (
                sqlx::query_as(WANTED_SQL).bind(project_id).fetch_one(pool).await?,
                sqlx::query_scalar(&real_items_sql).bind(project_id).fetch_one(pool).await?,
            )
        });
        let mut pools: BTreeMap<Pool, PoolCounts> = BTreeMap::new();
        for (name, labels, timed_labels, timed_ms) in pool_rows {
            let Ok(pool) = Pool::parse(&name) else {
                continue;
            };
            let side = side_rows
                .iter()
                .find(|(p, _)| *p == name)
                .map_or(0, |(_, n)| *n);
            pools.insert(
                pool,
                PoolCounts {
                    labels,
                    timed_labels,
                    timed_ms,
                    median_ms: self.median_ms(project_id, pool, timed_labels).await?,
                    real_labels: labels - side,
                    ..PoolCounts::default()
                },
            );
        }
        let (g, e, u, held_g, held_e, held_u) = wanted;
        for (pool, still, held) in [
            (Pool::Generalist, g, held_g),
            (Pool::Expert, e, held_e),
            (Pool::User, u, held_u),
        ] {
            let counts = pools.entry(pool).or_default();
            counts.still_wanted = still;
            counts.held_wanted = held;
        }
        Ok(PaceCounts {
            now,
            first_label_at: first,
            labels_last_day: recent.0,
            labels_last_hour: recent.1,
            real_items,
            pools,
        })
    }

    /// The median of a pool's `timed` recorded times, read from the middle of its index.
    async fn median_ms(&self, project_id: i64, pool: Pool, timed: i64) -> Result<Option<f64>> {
        if timed == 0 {
            return Ok(None);
        }
        let middle: Vec<i64> = on_pool!(self, p => {
            sqlx::query_scalar(MIDDLE_SQL)
                .bind(project_id)
                .bind(pool.as_str())
                .bind((timed - 1) / 2)
                .fetch_all(p)
                .await?
        });
        Ok(median_from_middle(timed, &middle))
    }
}
