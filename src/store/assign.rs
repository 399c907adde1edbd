//! Assignment: which item a rater gets next, held for them by a lease.
//!
//! An item is open to a rater when the rater's pool still wants labels on it, the rater has
//! neither labelled nor skipped it, it is not held back for review, and fewer raters of that
//! pool than it wants hold a live lease on it. Asking again while a lease holds returns the
//! same item; an expired lease frees its slot. Gold questions are mixed in at the project's
//! gold rate; they have no slots, since every rater may answer each of them once.
//!
//! Every write that changes an item's slots (a new lease, a label) first takes the item's
//! write lock: SQLite's single writer (`BEGIN IMMEDIATE`) or a PostgreSQL row lock. So the
//! count of labels plus live leases can never pass what the item wants.

use std::sync::LazyLock;

use futures::future::BoxFuture;
use rand::Rng;
use sqlx::{Sqlite, Transaction};
use tracing::instrument;

use super::columns::{need_column, open_item_order};
use super::gate::rater_facts_sqlite;
use super::group_commit::{bind_numbered, Fast, GroupWrite};
use super::items::ItemView;
use super::pg_group_commit::{Answer, NextAsk};
use super::{tx_fn, PgBackend, SqliteBackend, Store};
use crate::domain::gate::{self, QualificationState};
use crate::domain::now_ms;
use crate::domain::policy::Pool;
use crate::domain::project::Project;
use crate::domain::user::User;
use crate::error::{AppError, Result};

/// The columns of an item as raters get it (`ItemView`), from items aliased `i`.
pub(super) const ITEM_VIEW: &str = "i.id, i.external_id, i.data, i.prediction";

/// The item this rater already holds a live lease on. `$1` project, `$2` rater, `$3` now.
fn held_lease_sql() -> String {
    held_lease_query("$1", "$2", "$3")
}

/// The item a rater holds a live lease on, with the project, the rater and the time
/// given as SQL expressions.
pub(super) fn held_lease_query(project: &str, rater: &str, now: &str) -> String {
    format!(
        "SELECT {ITEM_VIEW} FROM leases le JOIN items i ON i.id = le.item_id
    WHERE le.project_id = {project} AND le.rater_id = {rater} AND le.expires_at > {now}
      AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = le.item_id AND l.rater_id = {rater})
    ORDER BY le.leased_at, le.item_id
    LIMIT 1"
    )
}

const RENEW_LEASE_SQL: &str =
    "UPDATE leases SET expires_at = $1 WHERE item_id = $2 AND rater_id = $3";

const NOT_SEEN_BY_RATER: &str = "NOT i.held
      AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.rater_id = $2)
      AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = i.id AND s.rater_id = $2)";

/// The gold question this rater has not answered next in the project's seeded random
/// order. `$1` project, `$2` rater.
fn gold_sql() -> String {
    format!(
        "SELECT {ITEM_VIEW} FROM items i
    WHERE i.project_id = $1 AND i.is_gold AND NOT i.held
      AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.rater_id = $2)
      AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = i.id AND s.rater_id = $2)
    ORDER BY i.random_key LIMIT 1"
    )
}

const UPSERT_LEASE_SQL: &str =
    "INSERT INTO leases (item_id, rater_id, project_id, leased_at, expires_at, pool)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (item_id, rater_id) DO UPDATE SET leased_at = excluded.leased_at,
        expires_at = excluded.expires_at, pool = excluded.pool";

/// Open items of the rater's pool. `$1` project, `$2` rater, `$3` now, `$4` pool.
fn open_items_where(pool: Pool) -> String {
    let need = need_column(pool);
    format!(
        "i.project_id = $1 AND i.{need} > 0 AND {NOT_SEEN_BY_RATER}
      AND i.{need} > (SELECT count(*) FROM leases le
                      WHERE le.item_id = i.id AND le.expires_at > $3 AND le.rater_id <> $2 AND le.pool = $4)"
    )
}

/// Leases one item when the rater's pool still has a free slot on it, counted in this
/// fresh statement. `$1` item, `$2` now, `$3` rater, `$4` pool, `$5` project, `$6` expiry.
fn lease_if_free_sql(pool: Pool) -> String {
    let need = need_column(pool);
    format!(
        "INSERT INTO leases (item_id, rater_id, project_id, leased_at, expires_at, pool)
         SELECT i.id, $3, $5, $2, $6, $4 FROM items i
         WHERE i.id = $1 AND i.{need} > (SELECT count(*) FROM leases le
             WHERE le.item_id = i.id AND le.expires_at > $2 AND le.rater_id <> $3 AND le.pool = $4)
         ON CONFLICT (item_id, rater_id) DO UPDATE SET leased_at = excluded.leased_at,
             expires_at = excluded.expires_at, pool = excluded.pool
         RETURNING item_id"
    )
}

/// A request for the next item: who asks, in which project, at what time.
#[derive(Debug)]
pub(crate) struct Ask {
    pub project_id: i64,
    pub rater_id: i64,
    pub pool: Pool,
    pub now: i64,
    pub expires_at: i64,
    /// How open items are ordered (SQL over items `i`, from `columns`).
    pub order: String,
    pub wants_gold: bool,
    /// The one item to hand out (a qualification question), instead of searching.
    pub only: Option<i64>,
}

impl Store {
    /// Leases the next item to a rater and returns it, or `None` when nothing is left for
    /// them. The gate's rater-level rules come first: a paused rater, an expert without the
    /// project's expertise or a rater who failed the qualification is refused, and a rater
    /// still qualifying gets the next qualification question.
    pub async fn next_item(&self, project: &Project, rater: &User) -> Result<Option<ItemView>> {
        let gold_draw = rand::thread_rng().gen::<f64>();
        self.next_item_drawn(project, rater, gold_draw).await
    }

    /// `next_item` with the chance draw made by the caller: a gold question is offered when
    /// `gold_draw` (in [0, 1)) falls below the project's gold rate. The demo draws it from
    /// its seeded generator, so that it builds the same labels on every run.
    #[instrument(skip_all, fields(project = project.id, rater = rater.id))]
    pub async fn next_item_drawn(
        &self,
        project: &Project,
        rater: &User,
        gold_draw: f64,
    ) -> Result<Option<ItemView>> {
        if let Store::Sqlite(backend) = self {
            let write = NextOnWriter {
                project: project.clone(),
                rater_id: rater.id,
                gold_draw,
            };
            if let Next::Leased(item) = backend.group.write(write).await? {
                return Ok(item);
            }
        }
        if let Store::Postgres(backend) = self {
            let ask = NextAsk {
                project: project.clone(),
                rater_id: rater.id,
                gold_draw,
            };
            if let Answer::Done(found) = backend.next.write(ask).await {
                return found;
            }
        }
        let facts = self.rater_facts(project, rater.id).await?;
        gate::admit_rater(project, &facts)?;
        let only = if facts.qualification == QualificationState::Pending {
            match self
                .next_qualification_question(project.id, rater.id)
                .await?
            {
                Some(question) => Some(question),
                None => return Ok(None),
            }
        } else {
            None
        };
        let ask = Ask::new(project, rater.id, facts.pool, gold_draw, only);
        let found = match self {
            Store::Sqlite(backend) => next_item_sqlite(backend, &ask).await?,
            Store::Postgres(backend) => next_item_postgres(backend, &ask).await?,
        };
        match found {
            Found::Item(item) => Ok(Some(item)),
            Found::Question(id) => Ok(Some(self.item(project.id, id).await?)),
            Found::Nothing => Ok(None),
        }
    }
}

impl Ask {
    /// What `next` searches for, now, for a rater of `pool`.
    pub(super) fn new(
        project: &Project,
        rater_id: i64,
        pool: Pool,
        gold_draw: f64,
        only: Option<i64>,
    ) -> Ask {
        let now = now_ms();
        let gold_rate = project.policy.gold_rate;
        Ask {
            project_id: project.id,
            rater_id,
            pool,
            now,
            expires_at: now.saturating_add(project.lease_seconds.saturating_mul(1000)),
            order: if project.feedback.feedback_first {
                format!(
                    "i.feedback_boost DESC, {}",
                    open_item_order(project.policy.order)
                )
            } else {
                open_item_order(project.policy.order).to_string()
            },
            wants_gold: gold_rate > 0.0 && gold_draw < gold_rate,
            only,
        }
    }
}

/// What the SQLite writer did with a `next`.
enum Next {
    /// It read the rater's standing, passed the gate and leased what it found.
    Leased(Option<ItemView>),
    /// The rater is still qualifying (or the writer has no connection of its own): the
    /// general path answers.
    General,
}

/// SQLite's `next` on the writer thread: the rater's standing, the gate's rater-level rules
/// and the lease in one call, with no hand-off to another thread for the read.
struct NextOnWriter {
    project: Project,
    rater_id: i64,
    gold_draw: f64,
}

impl GroupWrite for NextOnWriter {
    type Output = Next;

    fn fast(&self, conn: &rusqlite::Connection) -> Fast<Next> {
        let leased = || -> Result<Next> {
            let project = &self.project;
            let facts = rater_facts_sqlite(conn, project, self.rater_id)?;
            gate::admit_rater(project, &facts)?;
            if facts.qualification == QualificationState::Pending {
                return Ok(Next::General);
            }
            let ask = Ask::new(project, self.rater_id, facts.pool, self.gold_draw, None);
            Ok(Next::Leased(lease_first_sqlite(
                conn,
                &LeaseFirst::new(&ask),
            )?))
        };
        Fast::Done(leased())
    }

    fn run<'a, 'c>(&'a self, _: &'a mut Transaction<'c, Sqlite>) -> BoxFuture<'a, Result<Next>> {
        Box::pin(async { Ok(Next::General) })
    }
}

/// What `next` leased.
enum Found {
    Item(ItemView),
    /// A qualification question, by id.
    Question(i64),
    Nothing,
}

/// SQLite: one writer at a time, so the first open item is safe to lease as found. The
/// held lease, the gold question and the open item are searched for and leased in one
/// statement, in that order of preference (SQLite stops at the first row): the writer is
/// held for one statement, not a transaction's four, and the statement returns the item.
async fn next_item_sqlite(backend: &SqliteBackend, ask: &Ask) -> Result<Found> {
    if let Some(item_id) = ask.only {
        let _writer = backend.write_lock().await;
        let mut tx = backend.pool.begin_with("BEGIN IMMEDIATE").await?;
        let found = lease_question(&mut tx, ask, item_id).await?;
        tx.commit().await?;
        return Ok(found);
    }
    let write = LeaseFirst::new(ask);
    let leased = backend.group.write(write).await?;
    Ok(leased.map_or(Found::Nothing, Found::Item))
}

/// SQLite's `next` as the writer runs it, in a batch with other writes.
struct LeaseFirst {
    sql: String,
    project_id: i64,
    rater_id: i64,
    now: i64,
    pool: Pool,
    expires_at: i64,
}

impl GroupWrite for LeaseFirst {
    type Output = Option<ItemView>;

    fn fast(&self, conn: &rusqlite::Connection) -> Fast<Option<ItemView>> {
        Fast::Done(lease_first_sqlite(conn, self).map_err(AppError::from))
    }

    fn run<'a, 'c>(
        &'a self,
        tx: &'a mut Transaction<'c, Sqlite>,
    ) -> BoxFuture<'a, Result<Option<ItemView>>> {
        Box::pin(async move {
            Ok(sqlx::query_as(&self.sql)
                .bind(self.project_id)
                .bind(self.rater_id)
                .bind(self.now)
                .bind(self.pool.as_str())
                .bind(self.expires_at)
                .fetch_optional(&mut **tx)
                .await?)
        })
    }
}

impl LeaseFirst {
    fn new(ask: &Ask) -> LeaseFirst {
        LeaseFirst {
            sql: lease_first_sql(ask),
            project_id: ask.project_id,
            rater_id: ask.rater_id,
            now: ask.now,
            pool: ask.pool,
            expires_at: ask.expires_at,
        }
    }
}

/// [`LeaseFirst`] on the SQLite writer's own connection.
fn lease_first_sqlite(
    conn: &rusqlite::Connection,
    lease: &LeaseFirst,
) -> rusqlite::Result<Option<ItemView>> {
    let mut statement = conn.prepare_cached(&lease.sql)?;
    bind_numbered(
        &mut statement,
        &[
            &lease.project_id,
            &lease.rater_id,
            &lease.now,
            &lease.pool.as_str(),
            &lease.expires_at,
        ],
    )?;
    let mut rows = statement.raw_query();
    let leased = rows.next()?.map(ItemView::from_sqlite).transpose()?;
    Ok(leased)
}

/// The one statement of SQLite's `next`: the first of the held lease, the gold question
/// (when one is wanted) and the open item, leased (a held lease keeps its start and is
/// renewed) and returned as an `ItemView` (reading it in a statement of its own would cost
/// the writer another hand-off to its connection's thread). `$1` project, `$2` rater, `$3`
/// now, `$4` pool, `$5` lease expiry.
fn lease_first_sql(ask: &Ask) -> String {
    let mut parts = vec![held_lease_sql()];
    if ask.wants_gold {
        parts.push(gold_sql());
    }
    parts.push(open_items_sql(ask, "", ""));
    let search = parts
        .iter()
        .map(|part| format!("SELECT id FROM ({part})"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    // `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON.
    format!(
        "INSERT INTO leases (item_id, rater_id, project_id, leased_at, expires_at, pool)
         SELECT id, $2, $1, $3, $5, $4 FROM ({search} LIMIT 1) WHERE true
         ON CONFLICT (item_id, rater_id) DO UPDATE SET
             leased_at = CASE WHEN leases.expires_at > excluded.leased_at THEN leases.leased_at ELSE excluded.leased_at END,
             pool = CASE WHEN leases.expires_at > excluded.leased_at THEN leases.pool ELSE excluded.pool END,
             expires_at = excluded.expires_at
         RETURNING {}",
        *ITEM_VIEW_OF_LEASE
    )
}

/// `ITEM_VIEW`'s columns as a `RETURNING` of `leases` gives them: the item's id, then each
/// other column through a subquery by that id.
static ITEM_VIEW_OF_LEASE: LazyLock<String> = LazyLock::new(|| {
    ITEM_VIEW
        .split(", ")
        .map(|column| match column.trim_start_matches("i.") {
            "id" => "item_id AS id".to_string(),
            name => format!("(SELECT i.{name} FROM items i WHERE i.id = item_id) AS {name}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
});

/// Open items of the rater's pool, best first: `also` adds to the conditions, `suffix`
/// follows the limit. `$1` project, `$2` rater, `$3` now, `$4` pool.
pub(super) fn open_items_sql(ask: &Ask, also: &str, suffix: &str) -> String {
    format!(
        "SELECT {ITEM_VIEW} FROM items i WHERE {}{also} ORDER BY {} LIMIT 1{suffix}",
        open_items_where(ask.pool),
        ask.order
    )
}

/// PostgreSQL: raters in several processes race, so each takes a candidate's row lock with
/// `SKIP LOCKED` (others move on to other items), then leases it only if its slots, counted
/// again in that fresh statement, still allow: it sees every lease committed before the
/// lock was granted.
async fn next_item_postgres(backend: &PgBackend, ask: &Ask) -> Result<Found> {
    // A lease is soft state: after a crash it would only expire early. So this commit need
    // not wait for the WAL flush; labels, which must survive, keep full durability.
    let mut tx = backend
        .pool
        .begin_with("BEGIN; SET LOCAL synchronous_commit TO OFF")
        .await?;
    if let Some(item_id) = ask.only {
        let found = lease_question(&mut tx, ask, item_id).await?;
        tx.commit().await?;
        return Ok(found);
    }
    if let Some(item) = held_lease(&mut tx, ask).await? {
        renew(&mut tx, ask, item.id).await?;
        tx.commit().await?;
        return Ok(Found::Item(item));
    }
    if ask.wants_gold {
        if let Some(item) = gold_question(&mut tx, ask).await? {
            lease(&mut tx, ask, item.id).await?;
            tx.commit().await?;
            return Ok(Found::Item(item));
        }
    }
    let sql = open_items_sql(
        ask,
        " AND i.id <> ALL($5)",
        " FOR NO KEY UPDATE OF i SKIP LOCKED",
    );
    let lease_sql = lease_if_free_sql(ask.pool);
    let mut passed_over: Vec<i64> = Vec::new();
    loop {
        let candidate: Option<ItemView> = sqlx::query_as(&sql)
            .bind(ask.project_id)
            .bind(ask.rater_id)
            .bind(ask.now)
            .bind(ask.pool.as_str())
            .bind(&passed_over)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(item) = candidate else {
            tx.commit().await?;
            return Ok(Found::Nothing);
        };
        let leased: Option<i64> = sqlx::query_scalar(&lease_sql)
            .bind(item.id)
            .bind(ask.now)
            .bind(ask.rater_id)
            .bind(ask.pool.as_str())
            .bind(ask.project_id)
            .bind(ask.expires_at)
            .fetch_optional(&mut *tx)
            .await?;
        if leased.is_some() {
            tx.commit().await?;
            return Ok(Found::Item(item));
        }
        passed_over.push(item.id);
    }
}

tx_fn!(
    /// A rater still qualifying keeps the item they hold, or is handed the question.
    lease_question(tx, ask: &Ask, question: i64) -> Found where [for<'r> ItemView: sqlx::FromRow<'r, DB::Row>,] {
        if let Some(item) = held_lease(tx, ask).await? {
            renew(tx, ask, item.id).await?;
            return Ok(Found::Item(item));
        }
        lease(tx, ask, question).await?;
        Ok(Found::Question(question))
    }
);

tx_fn!(
    /// The item this rater already holds a live lease on, if any.
    held_lease(tx, ask: &Ask) -> Option<ItemView> where [for<'r> ItemView: sqlx::FromRow<'r, DB::Row>,] {
        Ok(sqlx::query_as(&held_lease_sql())
            .bind(ask.project_id)
            .bind(ask.rater_id)
            .bind(ask.now)
            .fetch_optional(&mut **tx)
            .await?)
    }
);

tx_fn!(
    gold_question(tx, ask: &Ask) -> Option<ItemView> where [for<'r> ItemView: sqlx::FromRow<'r, DB::Row>,] {
        Ok(sqlx::query_as(&gold_sql())
            .bind(ask.project_id)
            .bind(ask.rater_id)
            .fetch_optional(&mut **tx)
            .await?)
    }
);

tx_fn!(
    renew(tx, ask: &Ask, item_id: i64) -> () {
        sqlx::query(RENEW_LEASE_SQL)
            .bind(ask.expires_at)
            .bind(item_id)
            .bind(ask.rater_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
);

tx_fn!(
    lease(tx, ask: &Ask, item_id: i64) -> () {
        sqlx::query(UPSERT_LEASE_SQL)
            .bind(item_id)
            .bind(ask.rater_id)
            .bind(ask.project_id)
            .bind(ask.now)
            .bind(ask.expires_at)
            .bind(ask.pool.as_str())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
);
