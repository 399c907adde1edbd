//! All SQL lives under this module, behind one `Store`.
//!
//! `Store` is an enum over the two backends. Where SQL is portable (`$1` placeholders work on
//! both) a body is written once and expanded for each pool by `on_pool!`; where it is not
//! (row locks, transaction modes) each dialect is written beside the other.

pub mod assign;
pub mod audit;
mod background;
pub mod cache;
pub mod columns;
pub mod datasets;
pub mod export;
pub mod feedback;
pub mod gate;
mod group_commit;
pub mod health;
pub mod history;
mod item_labels;
pub mod items;
pub mod kept_input;
pub mod labels;
pub mod media;
pub mod members;
pub mod monitoring;
pub mod pace;
pub mod password_links;
pub mod pending_imports;
pub mod people;
mod pg_copy;
mod pg_group_commit;
pub use pg_group_commit::REPLAN_AFTER as POSTGRES_WRITER_REPLAN_AFTER;
pub mod project_edits;
pub mod projects;
pub mod raters;
pub mod report;
pub mod review;
pub mod sessions;
pub mod snapshots;
mod sqlite_checkpoint;
mod sqlite_read;
pub mod stored_input;
pub mod users;
pub mod webhook_events;
pub mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::Result;

#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteBackend),
    Postgres(PgBackend),
}

#[derive(Clone, Debug)]
pub struct SqliteBackend {
    pub pool: SqlitePool,
    /// SQLite has one writer; queueing writers here is cheaper than letting them spin
    /// on the busy handler. Other processes are still kept out by the file lock.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// The hot writes (leases, labels), committed in batches (`group_commit`).
    group: group_commit::GroupWriter,
    caches: Arc<cache::Caches>,
    /// Read-only connections for bulk reads (`sqlite_read`).
    readers: sqlite_read::Readers,
}

#[derive(Clone, Debug)]
pub struct PgBackend {
    pub pool: PgPool,
    /// Ordinary labels and leases, committed in batches (`pg_group_commit`).
    labels: pg_group_commit::PgGroupWriter<pg_group_commit::LabelBatch>,
    next: pg_group_commit::PgGroupWriter<pg_group_commit::NextBatch>,
    caches: Arc<cache::Caches>,
    /// The pool of background work (`background`).
    background: background::BackgroundPool,
}

/// Expands one body for each backend, with `$pool` bound to that backend's pool.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite(backend) => {
                let $pool = &backend.pool;
                $body
            }
            $crate::store::Store::Postgres(backend) => {
                let $pool = &backend.pool;
                $body
            }
        }
    };
}

/// Runs a body in a write transaction on either backend and commits it if the body
/// finishes; an early `return` or `?` rolls back. `$lock` is `" FOR NO KEY UPDATE"` on PostgreSQL
/// and empty on SQLite, whose `BEGIN IMMEDIATE` already holds the only write lock.
macro_rules! in_write_tx {
    ($store:expr, $tx:ident, $lock:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite(backend) => {
                let _writer = backend.write_lock().await;
                let mut $tx = backend.pool.begin_with("BEGIN IMMEDIATE").await?;
                let $lock: &str = "";
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::store::Store::Postgres(backend) => {
                $crate::store::in_pg_write_tx!(backend, $tx, $lock => $body)
            }
        }
    };
}

/// The PostgreSQL side of [`in_write_tx!`].
macro_rules! in_pg_write_tx {
    ($backend:expr, $tx:ident, $lock:ident => $body:expr) => {{
        let mut $tx = $backend.pool.begin().await?;
        let $lock: &str = $crate::store::PG_ROW_LOCK;
        let result: $crate::error::Result<_> = async { Ok($body) }.await;
        $crate::store::end_pg_transaction($tx, result).await?
    }};
}
pub(crate) use in_pg_write_tx;

/// [`in_write_tx!`] for a write of many rows (an import). On SQLite its connection gets a
/// page cache big enough for the indexes it updates and keeps statement journals in
/// memory: with SQLite's defaults (2 MB of cache, journals in temporary files) an import of
/// 100,000 items spent most of its time writing pages out and reading them back. The
/// connection's defaults are restored after, or it is closed.
macro_rules! in_bulk_write_tx {
    ($store:expr, $tx:ident, $lock:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite(backend) => {
                use sqlx::Connection as _;
                let _writer = backend.write_lock().await;
                let mut conn = backend.pool.acquire().await?;
                let result: $crate::error::Result<_> = async {
                    for pragma in $crate::store::SQLITE_BULK_WRITE {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    let mut $tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                    let $lock: &str = "";
                    let out = $body;
                    $tx.commit().await?;
                    Ok(out)
                }
                .await;
                let mut restored = Ok(());
                for pragma in $crate::store::SQLITE_DEFAULTS {
                    restored = restored.and(sqlx::query(pragma).execute(&mut *conn).await.map(drop));
                }
                if restored.is_err() {
                    // Never back in the pool with an import's cache.
                    let _ = conn.detach().close().await;
                }
                result?
            }
            $crate::store::Store::Postgres(backend) => {
                $crate::store::in_pg_write_tx!(backend, $tx, $lock => $body)
            }
        }
    };
}
pub(crate) use in_bulk_write_tx;

/// What [`in_bulk_write_tx!`] sets on a SQLite connection: a 64 MB page cache, statement
/// journals and temporary tables in memory.
pub(crate) const SQLITE_BULK_WRITE: [&str; 2] =
    ["PRAGMA cache_size = -65536", "PRAGMA temp_store = MEMORY"];

/// SQLite's own defaults for what [`SQLITE_BULK_WRITE`] changes.
pub(crate) const SQLITE_DEFAULTS: [&str; 2] =
    ["PRAGMA cache_size = -2000", "PRAGMA temp_store = DEFAULT"];

/// Commits a PostgreSQL transaction whose body succeeded, or rolls it back before the
/// body's error goes on. Dropping a transaction only queues its rollback, and the row locks
/// it took would be held until the connection is next used: a `next` that skips locked
/// rows could pass over an item a refused write had locked after the refusal was answered.
pub(crate) async fn end_pg_transaction<T>(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    result: Result<T>,
) -> Result<T> {
    match result {
        Ok(out) => {
            tx.commit().await?;
            Ok(out)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

/// The row lock clause a PostgreSQL write takes on the rows it changes (`in_write_tx!`).
pub(crate) const PG_ROW_LOCK: &str = " FOR NO KEY UPDATE";

/// Whether this transaction's backend runs several statements sent as one query string
/// (SQLite does, in one call to the connection's thread; PostgreSQL's extended protocol
/// takes one statement per query). Statements sent together on SQLite share the numbered
/// parameters (`$1` is the same value in each).
pub(crate) fn joins_statements<DB: sqlx::Database>(_: &sqlx::Transaction<'_, DB>) -> bool {
    DB::NAME == "SQLite"
}

/// A function over a transaction of either backend: the statements are the same on both,
/// and `sqlx::Executor` bounds let one body serve both transaction types. The first
/// parameter is the transaction; the others are listed after it. Extra bounds, such as a
/// row type's `FromRow`, go in `where [...]` after the return type.
macro_rules! tx_fn {
    ($(#[$doc:meta])* $vis:vis $name:ident($tx:ident $(, $arg:ident: $ty:ty)*) -> $ret:ty $(where [$($extra:tt)*])? $body:block) => {
        $(#[$doc])*
        $vis async fn $name<'c, DB>($tx: &mut sqlx::Transaction<'c, DB> $(, $arg: $ty)*) -> $crate::error::Result<$ret>
        where
            DB: sqlx::Database,
            for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
            i64: sqlx::Type<DB> + for<'q> sqlx::Encode<'q, DB> + for<'r> sqlx::Decode<'r, DB>,
            String: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB>,
            for<'q> &'q str: sqlx::Type<DB> + sqlx::Encode<'q, DB>,
            for<'q> Option<&'q str>: sqlx::Type<DB> + sqlx::Encode<'q, DB>,
            Option<i64>: sqlx::Type<DB> + for<'q> sqlx::Encode<'q, DB>,
            for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
            usize: sqlx::ColumnIndex<DB::Row>,
            $($($extra)*)?
        $body
    };
}

pub(crate) use in_write_tx;
pub(crate) use on_pool;
pub(crate) use tx_fn;

/// The condition that keeps project `$1`'s side items (gold and qualification questions),
/// written so that both backends find them through their partial index `items_side`
/// (`project_id, id`). `id > 0` holds for every item; it is there for SQLite, which keeps no
/// table statistics: given only `project_id`, its planner took another index that starts with
/// it and looked up the row of every item of the project (20 ms at 100,000 items, in every
/// report's version check and inside every write of a rater still to qualify). In a join
/// SQLite carries `id > 0` over to the columns equal to `id`: gather the side items first
/// (see `pace::SIDE_LABELS_SQL`).
macro_rules! side_items {
    () => {
        "project_id = $1 AND (is_gold OR is_qualification) AND id > 0"
    };
}
pub(crate) use side_items;

impl SqliteBackend {
    /// The pool and the read-only connections that [`sqlite_read::read`] reads through.
    fn bulk_reads(&self) -> (&SqlitePool, &sqlite_read::Readers) {
        (&self.pool, &self.readers)
    }

    pub async fn write_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writer.lock().await
    }
}

/// Default database: a SQLite file in the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tally.db";

impl Store {
    /// Opens the database named by `url` (`sqlite://...` or `postgres://...`).
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
            let options = (*pool.connect_options()).clone();
            let counts = Arc::new(monitoring::GroupCommitCounts::default());
            let labels = pg_group_commit::PgGroupWriter::start(options.clone(), counts.clone())
                .context("cannot start the PostgreSQL label writer thread")?;
            let next = pg_group_commit::PgGroupWriter::start(options, counts)
                .context("cannot start the PostgreSQL lease writer thread")?;
            Ok(Store::Postgres(PgBackend {
                pool,
                labels,
                next,
                caches: Arc::default(),
                background: Default::default(),
            }))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("bad SQLite URL {url}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .pragma(
                    "wal_autocheckpoint",
                    sqlite_checkpoint::BACKSTOP_PAGES.to_string(),
                )
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .with_context(|| format!("cannot open SQLite database {url}"))?;
            let writer = Arc::new(tokio::sync::Mutex::new(()));
            let group =
                group_commit::GroupWriter::start((*pool.connect_options()).clone(), writer.clone())
                    .context("cannot start the SQLite writer thread")?;
            Ok(Store::Sqlite(SqliteBackend {
                pool,
                writer,
                group,
                caches: Arc::default(),
                readers: sqlite_read::Readers::default(),
            }))
        } else {
            anyhow::bail!(
                "unsupported database URL {:?}: use sqlite://FILE or postgres://...",
                redact(url)
            )
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        on_pool!(self, pool => self.migrator().run(pool).await?);
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
        if let Store::Postgres(backend) = self {
            backend.background.close().await;
        }
    }
}

/// Hides the password of a database URL for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{sqlite_read, Store};

    /// SQLite's plan of `sql`, its steps joined by " / ", unbound parameters taken as NULL.
    fn sqlite_plan(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<String> {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let mut rows = statement.raw_query();
        let mut steps = Vec::new();
        while let Some(row) = rows.next()? {
            steps.push(row.get::<_, String>(3)?);
        }
        Ok(steps.join(" / "))
    }

    /// SQLite's plans of `statements` in a new database, in their order.
    async fn sqlite_plans(statements: &[String]) -> anyhow::Result<Vec<String>> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("plans.db").display());
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        let Store::Sqlite(backend) = &store else {
            anyhow::bail!("{url} opened as PostgreSQL");
        };
        let statements = statements.to_vec();
        let plans = sqlite_read::read(
            backend.bulk_reads(),
            sqlite_read::Mapping::None,
            move |conn| {
                let plans = statements.iter().map(|sql| sqlite_plan(conn, sql));
                plans.collect::<rusqlite::Result<Vec<_>>>()
            },
        );
        Ok(plans.await?)
    }

    /// Checks that SQLite's plan of each of `statements` holds every one of `found` and none
    /// of `absent`.
    async fn assert_plans(
        statements: &[String],
        found: &[&str],
        absent: &[&str],
    ) -> anyhow::Result<()> {
        let plans = sqlite_plans(statements).await?;
        for (sql, plan) in statements.iter().zip(&plans) {
            for step in found {
                assert!(
                    plan.contains(step),
                    "no {step:?} in the plan: {plan}\n{sql}"
                );
            }
            for step in absent {
                assert!(!plan.contains(step), "{step:?} in the plan: {plan}\n{sql}");
            }
        }
        Ok(())
    }

    /// Every statement that picks out a project's gold and qualification questions finds
    /// them through their own index on SQLite (SQLite keeps no table statistics), rather
    /// than through another index on the project and each item's row.
    #[tokio::test]
    async fn side_items_are_found_through_their_own_index_on_sqlite() -> anyhow::Result<()> {
        let statements = [
            format!("SELECT {}", super::report::SIDE_ITEMS),
            super::gate::QUALIFICATION_TOTAL_SQL.to_string(),
            super::people::SIDE_ITEM_IDS_SQL.to_string(),
            super::raters::NEXT_QUALIFICATION_SQL.to_string(),
            super::pace::SIDE_LABELS_SQL.to_string(),
        ];
        // Not `items_content_key`: every item of the project looked at; not `item_id>?`:
        // labels taken by a range of items rather than by item.
        let absent = ["items_content_key", "item_id>?"];
        assert_plans(&statements, &[" USING INDEX items_side ("], &absent).await
    }

    /// A generalist's next item is found by walking the open items' index for the project's
    /// order, never by sorting every open item of the project.
    #[tokio::test]
    async fn next_walks_the_open_items_index_of_each_order_on_sqlite() -> anyhow::Result<()> {
        use crate::domain::policy::{Order, Pool};
        let orders = [
            (Order::Import, "items_open_generalist"),
            (Order::Random, "items_open_random"),
            (Order::Priority, "items_open_priority"),
        ];
        let statements: Vec<String> = orders
            .iter()
            .map(|&(order, _)| {
                let ask = super::assign::Ask {
                    project_id: 1,
                    rater_id: 1,
                    pool: Pool::Generalist,
                    now: 0,
                    expires_at: 0,
                    order: super::columns::open_item_order(order).to_string(),
                    wants_gold: false,
                    only: None,
                };
                super::assign::open_items_sql(&ask, "", "")
            })
            .collect();
        let plans = sqlite_plans(&statements).await?;
        for ((order, index), plan) in orders.iter().zip(&plans) {
            assert!(
                plan.starts_with(&format!("SEARCH i USING INDEX {index} (project_id=?)")),
                "{order:?}: not through {index}: {plan}"
            );
            assert!(
                !plan.contains("FOR ORDER BY"),
                "{order:?}: every open item sorted: {plan}"
            );
        }
        Ok(())
    }

    /// The open items that `/metrics` counts per project are counted in their own index.
    #[tokio::test]
    async fn open_items_are_counted_in_their_own_index_on_sqlite() -> anyhow::Result<()> {
        let statements = [super::monitoring::PROJECT_LOAD_SQL.to_string()];
        let found = ["SEARCH i USING INDEX items_wanted (project_id=? AND held=?)"];
        assert_plans(&statements, &found, &[]).await
    }

    /// The health page's statements over sampled items take each item's labels through the
    /// index by item (not every label since the timeline's start, for each item), and leave
    /// the side items out through their own index.
    #[tokio::test]
    async fn health_reads_each_sampled_items_own_labels_on_sqlite() -> anyhow::Result<()> {
        let statements = [super::health::values_sql(), super::health::pairs_sql()];
        let found = [
            "SEARCH l USING COVERING INDEX labels_project (project_id=? AND item_id=?)",
            "SEARCH items USING INDEX items_side (",
        ];
        assert_plans(&statements, &found, &[]).await
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite://tally.db"), "sqlite://tally.db");
    }
}
