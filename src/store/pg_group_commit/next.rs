//! `next` in batches: the raters' held leases in one statement; the open items of each
//! project and pool read once for all its raters, with what each of them has labelled or
//! skipped among them; the items handed out locked and their leases counted again; then
//! every lease written in one statement.
//!
//! The batch reads every asking rater's standing first and applies the gate's rater-level
//! rules. Only an ordinary `next` is served here: a rater past those rules, not
//! qualifying, and not drawn a gold question. A rater the batch cannot serve from the
//! open items it read (all of them seen or full while more may lie beyond, an item locked
//! by another writer, a slot taken meanwhile) is sent alone. The key is the rater.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use futures::future::BoxFuture;
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, Transaction};

use super::{by_index, column, decided, in_transaction, Answer, Numbered, PgBatch};

use crate::domain::gate::{self, QualificationState};
use crate::domain::policy::Pool;
use crate::domain::project::Project;
use crate::error::{AppError, Result};
use crate::store::assign::{held_lease_query, Ask, ITEM_VIEW};
use crate::store::columns::need_column;
use crate::store::gate::{rater_facts_uncounted, RaterRow, RATER_FACTS_OF_MANY_SQL};
use crate::store::items::ItemView;

/// Open items read per rater of a project and pool, beyond a few to spare.
const SPARE_CANDIDATES: usize = 8;

/// The most open items read for one project and pool.
const MAX_CANDIDATES: usize = 256;

pub(crate) struct NextBatch;

/// A rater asking for work in a project, with the chance draw for a gold question.
pub(crate) struct NextAsk {
    pub project: Project,
    pub rater_id: i64,
    pub gold_draw: f64,
}

impl PgBatch for NextBatch {
    type Write = NextAsk;
    /// The leased item, or none when nothing is open to the rater.
    type Output = Option<ItemView>;

    const NAME: &'static str = "tally-postgres-next";

    fn key(ask: &NextAsk) -> i64 {
        ask.rater_id
    }

    /// Leases are soft state: after a crash they would only expire early, so this commit
    /// need not wait for the WAL flush (as on the general path).
    fn write<'a>(
        conn: &'a mut PgConnection,
        asks: &'a [NextAsk],
    ) -> BoxFuture<'a, Result<Vec<Answer<Option<ItemView>>>>> {
        Box::pin(in_transaction(
            conn,
            "BEGIN; SET LOCAL synchronous_commit TO OFF",
            move |tx| Box::pin(gate_and_lease(tx, asks)),
        ))
    }
}

/// An open item as read for a project and pool.
#[derive(sqlx::FromRow)]
struct Candidate {
    #[sqlx(flatten)]
    item: ItemView,
}

/// A lease the batch hands out: to the ask at `index`, on `item`.
struct Grant {
    index: usize,
    item: ItemView,
    pool: Pool,
}

/// The gate's rater-level rules for every ask, then the leases of those it lets through
/// and that ask for no gold question; the others are refused or sent alone.
async fn gate_and_lease(
    tx: &mut Transaction<'_, Postgres>,
    asks: &[NextAsk],
) -> Result<Vec<Answer<Option<ItemView>>>> {
    let mut facts = raters_of(tx, asks).await?;
    let mut answers: Vec<Option<Answer<Option<ItemView>>>> = asks.iter().map(|_| None).collect();
    let mut searches = Vec::new();
    let mut searched = Vec::new();
    for (index, ask) in asks.iter().enumerate() {
        let project = &ask.project;
        let Some(row) = facts.remove(&index) else {
            answers[index] = Some(Answer::Done(Err(AppError::not_found("rater"))));
            continue;
        };
        let Some(rater) = rater_facts_uncounted(project, row)? else {
            answers[index] = Some(Answer::Alone);
            continue;
        };
        if let Err(refused) = gate::admit_rater(project, &rater) {
            answers[index] = Some(Answer::Done(Err(refused.into())));
            continue;
        }
        let search = Ask::new(project, ask.rater_id, rater.pool, ask.gold_draw, None);
        if rater.qualification == QualificationState::Pending || search.wants_gold {
            answers[index] = Some(Answer::Alone);
            continue;
        }
        searches.push(search);
        searched.push(index);
    }
    let leased = lease_batch(tx, &searches).await?;
    for (index, answer) in searched.into_iter().zip(leased) {
        answers[index] = Some(answer);
    }
    Ok(decided(answers))
}

/// Each asking rater's row of facts in their project, by the ask's index.
async fn raters_of(
    tx: &mut Transaction<'_, Postgres>,
    asks: &[NextAsk],
) -> Result<HashMap<usize, RaterRow>> {
    let rows: Vec<Numbered<RaterRow>> = sqlx::query_as(RATER_FACTS_OF_MANY_SQL)
        .bind(column(asks, |a| a.project.id))
        .bind(column(asks, |a| a.rater_id))
        .fetch_all(&mut **tx)
        .await?;
    Ok(by_index(rows).collect())
}

async fn lease_batch(
    tx: &mut Transaction<'_, Postgres>,
    asks: &[Ask],
) -> Result<Vec<Answer<Option<ItemView>>>> {
    let mut answers: Vec<Option<Answer<Option<ItemView>>>> = asks.iter().map(|_| None).collect();
    let held = held_leases(tx, asks).await?;
    let mut renewed = Vec::new();
    for (index, item) in held {
        renewed.push((index, item.id));
        answers[index] = Some(Answer::Done(Ok(Some(item))));
    }
    let mut groups: HashMap<(i64, Pool, &str), Vec<usize>> = HashMap::new();
    for (index, ask) in asks.iter().enumerate() {
        if answers[index].is_none() {
            let key = (ask.project_id, ask.pool, ask.order.as_str());
            groups.entry(key).or_default().push(index);
        }
    }
    // Read what is open for each group, then lock it all at once and count again.
    let mut read = Vec::new();
    for ((project_id, pool, order), members) in groups {
        let most = (members.len() + SPARE_CANDIDATES).min(MAX_CANDIDATES);
        let now = asks[members[0]].now;
        let candidates = open_items(tx, project_id, pool, order, now, most).await?;
        let exhausted = candidates.len() < most;
        let raters: Vec<i64> = members.iter().map(|&i| asks[i].rater_id).collect();
        let seen = seen_by(tx, &candidates, &raters).await?;
        read.push((pool, members, candidates, exhausted, seen));
    }
    let items: Vec<i64> = read
        .iter()
        .flat_map(|(_, _, candidates, _, _)| candidates.iter().map(|c| c.item.id))
        .collect();
    let now = asks.iter().map(|a| a.now).min().unwrap_or(0);
    let mut free = lock_and_count(tx, &items, now).await?;
    let mut granted: Vec<Grant> = Vec::new();
    for (pool, members, candidates, exhausted, seen) in read {
        // Every candidate locked: what the rater was not granted, nothing gave them.
        let all_locked = candidates
            .iter()
            .all(|c| free.contains_key(&(c.item.id, pool)));
        for index in members {
            let rater = asks[index].rater_id;
            let found = candidates.iter().find(|c| {
                !seen.contains(&(rater, c.item.id))
                    && free.get(&(c.item.id, pool)).is_some_and(|left| *left > 0)
            });
            match found {
                Some(candidate) => {
                    if let Some(left) = free.get_mut(&(candidate.item.id, pool)) {
                        *left -= 1;
                    }
                    granted.push(Grant {
                        index,
                        item: candidate.item.clone(),
                        pool,
                    });
                }
                None if exhausted && all_locked => answers[index] = Some(Answer::Done(Ok(None))),
                None => answers[index] = Some(Answer::Alone),
            }
        }
    }
    write_leases(tx, asks, &renewed, &granted).await?;
    for grant in granted {
        answers[grant.index] = Some(Answer::Done(Ok(Some(grant.item))));
    }
    Ok(decided(answers))
}

/// The held lease of each of many raters, each in a project at a time, numbered `n` from
/// 1 in the order given. `$1` projects, `$2` raters, `$3` nows.
static HELD_LEASES_OF_MANY_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT w.n, h.* FROM unnest($1::int8[], $2::int8[], $3::int8[])
             WITH ORDINALITY AS w(project_id, rater_id, now, n)
         CROSS JOIN LATERAL ({}) h",
        held_lease_query("w.project_id", "w.rater_id", "w.now")
    )
});

/// The item each rater already holds a live lease on, by the ask's index.
async fn held_leases(
    tx: &mut Transaction<'_, Postgres>,
    asks: &[Ask],
) -> Result<Vec<(usize, ItemView)>> {
    let rows: Vec<Numbered<ItemView>> = sqlx::query_as(HELD_LEASES_OF_MANY_SQL.as_str())
        .bind(column(asks, |a| a.project_id))
        .bind(column(asks, |a| a.rater_id))
        .bind(column(asks, |a| a.now))
        .fetch_all(&mut **tx)
        .await?;
    Ok(by_index(rows).collect())
}

/// The first `most` items of a project open to raters of `pool` that hold no lease on
/// them, best first, whoever has seen them.
async fn open_items(
    tx: &mut Transaction<'_, Postgres>,
    project_id: i64,
    pool: Pool,
    order: &str,
    now: i64,
    most: usize,
) -> Result<Vec<Candidate>> {
    let need = need_column(pool);
    // The limit is written into the statement, rounded up to a power of two so that few
    // statements serve: a generic plan for a limit it cannot see sorts every open item.
    let limit = most.next_power_of_two().max(SPARE_CANDIDATES);
    let sql = format!(
        "SELECT {ITEM_VIEW} FROM items i
         WHERE i.project_id = $1 AND i.{need} > 0 AND NOT i.held
           AND i.{need} > (SELECT count(*) FROM leases le
                           WHERE le.item_id = i.id AND le.expires_at > $2 AND le.pool = $3)
         ORDER BY {order} LIMIT {limit}"
    );
    let mut open: Vec<Candidate> = sqlx::query_as(&sql)
        .bind(project_id)
        .bind(now)
        .bind(pool.as_str())
        .fetch_all(&mut **tx)
        .await?;
    open.truncate(most);
    Ok(open)
}

/// Which of `raters` have labelled or skipped which of the candidates. Every label and
/// skip of the candidates is read through the items' keys and the raters are picked out
/// here: given the raters too, PostgreSQL reads every label they ever gave.
async fn seen_by(
    tx: &mut Transaction<'_, Postgres>,
    candidates: &[Candidate],
    raters: &[i64],
) -> Result<HashSet<(i64, i64)>> {
    if candidates.is_empty() {
        return Ok(HashSet::new());
    }
    let items: Vec<i64> = candidates.iter().map(|c| c.item.id).collect();
    let seen: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT rater_id, item_id FROM labels WHERE item_id = ANY($1)
         UNION ALL
         SELECT rater_id, item_id FROM skips WHERE item_id = ANY($1)",
    )
    .bind(&items)
    .fetch_all(&mut **tx)
    .await?;
    let raters: HashSet<i64> = raters.iter().copied().collect();
    Ok(seen
        .into_iter()
        .filter(|(rater, _)| raters.contains(rater))
        .collect())
}

/// Locks `items` in id order, skipping those another writer holds, and returns the slots
/// still free on each locked item for each pool: what it wants less the live leases,
/// counted again after the lock in a fresh statement, which sees every lease committed
/// before the lock was granted.
async fn lock_and_count(
    tx: &mut Transaction<'_, Postgres>,
    items: &[i64],
    now: i64,
) -> Result<HashMap<(i64, Pool), i64>> {
    if items.is_empty() {
        return Ok(HashMap::new());
    }
    let locked: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, need_generalist, need_expert, need_user FROM items
         WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED",
    )
    .bind(items)
    .fetch_all(&mut **tx)
    .await?;
    let leased: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT item_id, pool, count(*) FROM leases
         WHERE item_id = ANY($1) AND expires_at > $2 GROUP BY item_id, pool",
    )
    .bind(items)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    let leased: HashMap<(i64, &str), i64> = leased
        .iter()
        .map(|(item, pool, count)| ((*item, pool.as_str()), *count))
        .collect();
    let mut free = HashMap::new();
    for (item, generalist, expert, user) in locked {
        for (pool, need) in [
            (Pool::Generalist, generalist),
            (Pool::Expert, expert),
            (Pool::User, user),
        ] {
            let taken = leased.get(&(item, pool.as_str())).copied().unwrap_or(0);
            free.insert((item, pool), need - taken);
        }
    }
    Ok(free)
}

/// Renews the held leases and writes the granted ones, in one statement.
async fn write_leases(
    tx: &mut Transaction<'_, Postgres>,
    asks: &[Ask],
    renewed: &[(usize, i64)],
    granted: &[Grant],
) -> Result<()> {
    if renewed.is_empty() && granted.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH renewed AS (
             UPDATE leases le SET expires_at = w.expires_at
               FROM unnest($1::int8[], $2::int8[], $3::int8[]) AS w(item_id, rater_id, expires_at)
              WHERE le.item_id = w.item_id AND le.rater_id = w.rater_id
             RETURNING 1
         )
         INSERT INTO leases (item_id, rater_id, project_id, leased_at, expires_at, pool)
         SELECT * FROM unnest($4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::text[])
         ON CONFLICT (item_id, rater_id) DO UPDATE SET leased_at = excluded.leased_at,
             expires_at = excluded.expires_at, pool = excluded.pool",
    )
    .bind(column(renewed, |&(_, item)| item))
    .bind(column(renewed, |&(i, _)| asks[i].rater_id))
    .bind(column(renewed, |&(i, _)| asks[i].expires_at))
    .bind(column(granted, |g| g.item.id))
    .bind(column(granted, |g| asks[g.index].rater_id))
    .bind(column(granted, |g| asks[g.index].project_id))
    .bind(column(granted, |g| asks[g.index].now))
    .bind(column(granted, |g| asks[g.index].expires_at))
    .bind(column(granted, |g| g.pool.as_str()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
