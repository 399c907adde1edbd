//! The facts the write gate (`crate::domain::gate`) decides on, read in one statement inside
//! the write's own transaction, with the item's row lock held on PostgreSQL.

use std::sync::LazyLock;

use sqlx::types::Json;

use super::cache::Caches;
use super::group_commit::bind_numbered;
use super::sqlite_read::json_column;
use super::{on_pool, side_items, Store};
use crate::domain::gate::{self, Hold, ItemFacts, QualificationState, RaterFacts, Write};
use crate::domain::policy::{Needs, Pool};
use crate::domain::project::Project;
use crate::error::{AppError, Result};

/// An item and the writing rater as they stand inside the transaction.
#[derive(sqlx::FromRow)]
pub(super) struct GateRow {
    need_generalist: i64,
    need_expert: i64,
    need_user: i64,
    is_gold: bool,
    is_qualification: bool,
    held: bool,
    gold: Option<String>,
    explanation: Option<String>,
    has_prediction: bool,
    pool: String,
    expertise: Json<Vec<String>>,
    paused: Option<bool>,
    paused_reason: Option<String>,
    qualified: Option<bool>,
    qual_seen: Option<i64>,
    qual_correct: Option<i64>,
    lease_expires_at: Option<i64>,
    labelled_at: Option<i64>,
    project_revision: i64,
    project_archived_at: Option<i64>,
    /// Live leases of other raters of the writer's pool; counted here on SQLite, whose one
    /// writer sees a stable database, and in a statement of its own on PostgreSQL.
    leases_of_others: Option<i64>,
    /// The project's webhooks: a completed item is recorded only when someone listens.
    webhooks: i64,
}

/// What a write learns about its item after the gate let it through.
#[derive(Debug, Clone)]
pub struct GatedItem {
    pub facts: ItemFacts,
    pub rater: RaterFacts,
    pub needs: Needs,
    pub gold: Option<String>,
    pub explanation: Option<String>,
    /// The item carries a model's pre-label.
    pub has_prediction: bool,
    /// The project has webhooks, which hear of completed items.
    pub project_has_webhooks: bool,
    /// The project's qualification questions, when the gate counted them (a rater still
    /// to qualify under a project that asks for it).
    pub qualification_questions: Option<i64>,
}

/// How many qualification questions project `$1` has.
pub(super) const QUALIFICATION_TOTAL_SQL: &str = concat!(
    "SELECT count(*) FROM items WHERE ",
    side_items!(),
    " AND is_qualification"
);

const LIVE_LEASES_OF_OTHERS_SQL: &str = "SELECT count(*) FROM leases
    WHERE item_id = $1 AND rater_id <> $2 AND expires_at > $3 AND pool = $4";

/// The facts' columns, from items `i`, projects `p`, the writer `u`, their rater_states
/// `rs` and lease `le`; `others` counts other raters' live leases, or is NULL.
fn facts_columns(others: &str) -> String {
    format!(
        "i.need_generalist, i.need_expert, i.need_user, i.is_gold, i.is_qualification, i.held,
                i.gold, i.explanation, i.prediction IS NOT NULL AS has_prediction, u.pool, u.expertise,
                rs.paused, rs.paused_reason, rs.qualified, rs.qual_seen, rs.qual_correct,
                le.expires_at AS lease_expires_at,
                (SELECT l.created_at FROM labels l WHERE l.item_id = i.id AND l.rater_id = u.id) AS labelled_at,
                p.revision AS project_revision, p.archived_at AS project_archived_at,
                {others} AS leases_of_others,
                (SELECT count(*) FROM webhooks w WHERE w.project_id = p.id) AS webhooks"
    )
}

/// The joins from items `i` to the rest of the facts, with the writer `u` found by `rater`.
fn facts_joins(rater: &str) -> String {
    format!(
        "JOIN projects p ON p.id = i.project_id
         JOIN users u ON u.id = {rater}
         LEFT JOIN rater_states rs ON rs.project_id = i.project_id AND rs.rater_id = u.id
         LEFT JOIN leases le ON le.item_id = i.id AND le.rater_id = u.id"
    )
}

/// The lock PostgreSQL's facts statements take, after `row_lock` on the item.
///
/// The item's row lock is taken with a key-share lock on the project row, which waits for
/// an edit or an archiving in progress (they lock it for update), so a write sees the
/// settings it will be stored under. Other raters' leases are counted after the lock in a
/// fresh statement, which sees every lease committed before it.
fn pg_facts_lock(row_lock: &str) -> String {
    format!("{row_lock} OF i FOR KEY SHARE OF p")
}

/// The item, the writer and the project in one statement. `$1` item, `$2` project, `$3`
/// rater, `$4` now. `row_lock` is the PostgreSQL item lock clause, or empty on SQLite.
fn facts_sql(row_lock: &str) -> String {
    let (others, lock) = if row_lock.is_empty() {
        (
            "(SELECT count(*) FROM leases o WHERE o.item_id = i.id AND o.rater_id <> u.id
                  AND o.expires_at > $4 AND o.pool = u.pool)",
            String::new(),
        )
    } else {
        ("CAST(NULL AS BIGINT)", pg_facts_lock(row_lock))
    };
    format!(
        "SELECT {} FROM items i {} WHERE i.id = $1 AND i.project_id = $2{lock}",
        facts_columns(others),
        facts_joins("$3")
    )
}

/// PostgreSQL's facts of many writes in one statement, numbered `n` from 1 in the order
/// given, with their items locked in id order (so that two such statements never wait on
/// each other in a cycle). `$1` items, `$2` projects, `$3` raters. A write whose item is
/// not in its project has no row.
pub(super) static PG_FACTS_OF_MANY_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT w.n, {} FROM unnest($1::int8[], $2::int8[], $3::int8[])
             WITH ORDINALITY AS w(item_id, project_id, rater_id, n)
         JOIN items i ON i.id = w.item_id AND i.project_id = w.project_id
         {}
         ORDER BY i.id{}",
        facts_columns("CAST(NULL AS BIGINT)"),
        facts_joins("w.rater_id"),
        pg_facts_lock(super::PG_ROW_LOCK)
    )
});

/// Other raters' live leases of the writer's pool for many writes, numbered `n` from 1 in
/// the order given. `$1` items, `$2` raters, `$3` nows, `$4` pools.
pub(super) const PG_LEASES_OF_OTHERS_OF_MANY_SQL: &str = "SELECT w.n,
        (SELECT count(*) FROM leases le WHERE le.item_id = w.item_id AND le.rater_id <> w.rater_id
             AND le.expires_at > w.now AND le.pool = w.pool)
    FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::text[]) WITH ORDINALITY AS w(item_id, rater_id, now, pool, n)";

/// The rater's standing from a rater_states row (absent: a rater new to the project).
struct StandingRow {
    paused: Option<bool>,
    paused_reason: Option<String>,
    qualified: Option<bool>,
    qual_seen: Option<i64>,
    qual_correct: Option<i64>,
}

impl StandingRow {
    fn paused(&self) -> Option<String> {
        self.paused.unwrap_or(false).then(|| {
            self.paused_reason
                .clone()
                .unwrap_or_else(|| "paused by an admin".into())
        })
    }

    fn needs_qualification_count(&self, project: &Project) -> bool {
        project.policy.qualify_accuracy.is_some() && !self.qualified.unwrap_or(false)
    }

    fn qualification(&self, project: &Project, total: i64) -> QualificationState {
        gate::qualification_state(
            &project.policy,
            self.qualified.unwrap_or(false),
            self.qual_seen.unwrap_or(0),
            self.qual_correct.unwrap_or(0),
            total,
        )
    }
}

fn parse_pool(stored: &str) -> Result<Pool> {
    Pool::parse(stored).map_err(|e| AppError::Internal(anyhow::anyhow!("stored pool: {e}")))
}

/// A rater's write on one item at one time, as the gate is asked about it.
pub(super) struct Attempt {
    pub item_id: i64,
    pub rater_id: i64,
    pub now: i64,
    pub write: Write,
}

/// Reads the gate's facts about one item and rater inside a write transaction and asks the
/// gate. `None` when the item is not in the project.
pub(super) async fn check_write<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    row_lock: &str,
    caches: &Caches,
    project: &Project,
    attempt: Attempt,
) -> Result<GatedItem>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    i64: sqlx::Type<DB> + for<'q> sqlx::Encode<'q, DB> + for<'r> sqlx::Decode<'r, DB>,
    for<'q> &'q str: sqlx::Type<DB> + sqlx::Encode<'q, DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
    for<'r> GateRow: sqlx::FromRow<'r, DB::Row>,
{
    let row: Option<GateRow> = sqlx::query_as(&facts_sql(row_lock))
        .bind(attempt.item_id)
        .bind(project.id)
        .bind(attempt.rater_id)
        .bind(attempt.now)
        .fetch_optional(&mut **tx)
        .await?;
    let row = row.ok_or_else(|| AppError::not_found("item"))?;
    let questions: Option<i64> = if row.standing().needs_qualification_count(project) {
        Some(
            sqlx::query_scalar(QUALIFICATION_TOTAL_SQL)
                .bind(project.id)
                .fetch_one(&mut **tx)
                .await?,
        )
    } else {
        None
    };
    let others: i64 = match row.leases_of_others_counted() {
        Some(counted) => counted,
        None => {
            sqlx::query_scalar(LIVE_LEASES_OF_OTHERS_SQL)
                .bind(attempt.item_id)
                .bind(attempt.rater_id)
                .bind(attempt.now)
                .bind(row.pool.as_str())
                .fetch_one(&mut **tx)
                .await?
        }
    };
    admit(caches, project, attempt, row, questions, others)
}

/// SQLite's facts statement, as the writer's own connection prepares it.
static SQLITE_FACTS_SQL: LazyLock<String> = LazyLock::new(|| facts_sql(""));

/// [`check_write`] on the SQLite writer's own connection (`group_commit`), inside its
/// transaction.
pub(super) fn check_write_sqlite(
    conn: &rusqlite::Connection,
    caches: &Caches,
    project: &Project,
    attempt: Attempt,
) -> Result<GatedItem> {
    let mut statement = conn.prepare_cached(&SQLITE_FACTS_SQL)?;
    bind_numbered(
        &mut statement,
        &[
            &attempt.item_id,
            &project.id,
            &attempt.rater_id,
            &attempt.now,
        ],
    )?;
    let mut rows = statement.raw_query();
    let found = rows.next()?.map(GateRow::from_sqlite).transpose()?;
    drop(rows);
    let row = found.ok_or_else(|| AppError::not_found("item"))?;
    let questions = if row.standing().needs_qualification_count(project) {
        Some(qualification_total_sqlite(conn, project.id)?)
    } else {
        None
    };
    // SQLite's one writer counts other raters' leases in the facts statement.
    let others = row.leases_of_others_counted().unwrap_or(0);
    admit(caches, project, attempt, row, questions, others)
}

/// [`QUALIFICATION_TOTAL_SQL`] on the SQLite writer's own connection.
fn qualification_total_sqlite(conn: &rusqlite::Connection, project_id: i64) -> Result<i64> {
    let mut statement = conn.prepare_cached(QUALIFICATION_TOTAL_SQL)?;
    bind_numbered(&mut statement, &[&project_id])?;
    let total: i64 = statement
        .raw_query()
        .next()?
        .map_or(Ok(0), |row| row.get(0))?;
    Ok(total)
}

/// Asks the gate about a write, given the facts read inside its transaction: the item and
/// rater's row, the project's qualification questions when counted, and the live leases of
/// other raters of the writer's pool.
pub(super) fn admit(
    caches: &Caches,
    project: &Project,
    attempt: Attempt,
    row: GateRow,
    questions: Option<i64>,
    others: i64,
) -> Result<GatedItem> {
    let Attempt {
        item_id,
        rater_id: _,
        now,
        write,
    } = attempt;
    if row.project_revision != project.revision {
        // The caller's project is out of date (a kept copy); the gate refuses this write,
        // and the next request reads the project again.
        caches.expire();
    }
    let standing = row.standing();
    let pool = parse_pool(&row.pool)?;
    let needs = Needs {
        generalist: row.need_generalist,
        expert: row.need_expert,
        user: row.need_user,
    };
    let rater = RaterFacts {
        pool,
        expertise: row.expertise.0,
        paused: standing.paused(),
        qualification: standing.qualification(project, questions.unwrap_or(0)),
    };
    let facts = ItemFacts {
        id: item_id,
        is_gold: row.is_gold,
        is_qualification: row.is_qualification,
        held: row.held,
        hold: match row.lease_expires_at {
            None => Hold::None,
            Some(expires) if expires > now => Hold::Live,
            Some(_) => Hold::Expired,
        },
        free_slots: needs.of(pool).saturating_sub(others),
        labelled_at: row.labelled_at,
        project_archived: row.project_archived_at.is_some(),
        project_revision: row.project_revision,
    };
    gate::admit_write(project, &rater, &facts, write, now)?;
    Ok(GatedItem {
        facts,
        rater,
        needs,
        gold: row.gold,
        explanation: row.explanation,
        has_prediction: row.has_prediction,
        project_has_webhooks: row.webhooks > 0,
        qualification_questions: questions,
    })
}

impl GateRow {
    /// The writer's pool.
    pub(super) fn pool(&self) -> Result<Pool> {
        parse_pool(&self.pool)
    }

    /// Whether the write is an ordinary label's: not on a gold or qualification item, in a
    /// project without webhooks, by a rater whose qualification need not be counted.
    pub(super) fn is_ordinary(&self, project: &Project) -> bool {
        !self.is_gold
            && !self.is_qualification
            && self.webhooks == 0
            && !self.standing().needs_qualification_count(project)
    }

    fn standing(&self) -> StandingRow {
        StandingRow {
            paused: self.paused,
            paused_reason: self.paused_reason.clone(),
            qualified: self.qualified,
            qual_seen: self.qual_seen,
            qual_correct: self.qual_correct,
        }
    }

    /// Other raters' live leases when this statement counted them or none count (gold and
    /// qualification items have no slots); `None` when they are still to be counted.
    fn leases_of_others_counted(&self) -> Option<i64> {
        if self.is_gold || self.is_qualification {
            Some(0)
        } else {
            self.leases_of_others
        }
    }

    /// The row as SQLite's facts statement returns it, by position.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(GateRow {
            need_generalist: row.get(0)?,
            need_expert: row.get(1)?,
            need_user: row.get(2)?,
            is_gold: row.get(3)?,
            is_qualification: row.get(4)?,
            held: row.get(5)?,
            gold: row.get(6)?,
            explanation: row.get(7)?,
            has_prediction: row.get(8)?,
            pool: row.get(9)?,
            expertise: Json(json_column(row, 10)?.unwrap_or_default()),
            paused: row.get(11)?,
            paused_reason: row.get(12)?,
            qualified: row.get(13)?,
            qual_seen: row.get(14)?,
            qual_correct: row.get(15)?,
            lease_expires_at: row.get(16)?,
            labelled_at: row.get(17)?,
            project_revision: row.get(18)?,
            project_archived_at: row.get(19)?,
            leases_of_others: row.get(20)?,
            webhooks: row.get(21)?,
        })
    }
}

/// A rater and their standing in a project. `$1` project, `$2` rater.
const RATER_FACTS_SQL: &str = "SELECT u.pool, u.expertise, rs.paused, rs.paused_reason, rs.qualified, rs.qual_seen, rs.qual_correct
    FROM users u LEFT JOIN rater_states rs ON rs.rater_id = u.id AND rs.project_id = $1
    WHERE u.id = $2";

/// [`RATER_FACTS_SQL`] for many raters, each in a project, numbered `n` from 1 in the
/// order given (the last column, after those of [`RaterRow`]). `$1` projects, `$2`
/// raters. A rater who does not exist has no row.
pub(super) const RATER_FACTS_OF_MANY_SQL: &str = "SELECT u.pool, u.expertise, rs.paused, rs.paused_reason, rs.qualified, rs.qual_seen, rs.qual_correct, w.n
    FROM unnest($1::int8[], $2::int8[]) WITH ORDINALITY AS w(project_id, rater_id, n)
    JOIN users u ON u.id = w.rater_id
    LEFT JOIN rater_states rs ON rs.rater_id = u.id AND rs.project_id = w.project_id";

/// A rater's facts from a row of [`RATER_FACTS_SQL`]'s columns, unless they need the
/// project's qualification questions counted (`None`).
pub(super) fn rater_facts_uncounted(
    project: &Project,
    row: RaterRow,
) -> Result<Option<RaterFacts>> {
    let (pool, expertise, standing) = rater_facts_from(row);
    if standing.needs_qualification_count(project) {
        return Ok(None);
    }
    rater_facts_of(project, &pool, expertise, &standing, 0).map(Some)
}

/// A row of [`RATER_FACTS_SQL`].
pub(super) type RaterRow = (
    String,
    Json<Vec<String>>,
    Option<bool>,
    Option<String>,
    Option<bool>,
    Option<i64>,
    Option<i64>,
);

/// A rater's row taken apart: their pool, their expertise and their standing.
fn rater_facts_from(row: RaterRow) -> (String, Vec<String>, StandingRow) {
    let (pool, expertise, paused, paused_reason, qualified, qual_seen, qual_correct) = row;
    let standing = StandingRow {
        paused,
        paused_reason,
        qualified,
        qual_seen,
        qual_correct,
    };
    (pool, expertise.0, standing)
}

/// A rater's facts from their row's parts; `total` counts the project's qualification
/// questions when the standing needs them (0 otherwise).
fn rater_facts_of(
    project: &Project,
    pool: &str,
    expertise: Vec<String>,
    standing: &StandingRow,
    total: i64,
) -> Result<RaterFacts> {
    Ok(RaterFacts {
        pool: parse_pool(pool)?,
        expertise,
        paused: standing.paused(),
        qualification: standing.qualification(project, total),
    })
}

/// [`Store::rater_facts`] on the SQLite writer's own connection (`group_commit`).
pub(super) fn rater_facts_sqlite(
    conn: &rusqlite::Connection,
    project: &Project,
    rater_id: i64,
) -> Result<RaterFacts> {
    let mut statement = conn.prepare_cached(RATER_FACTS_SQL)?;
    bind_numbered(&mut statement, &[&project.id, &rater_id])?;
    let mut rows = statement.raw_query();
    let found = rows
        .next()?
        .map(|row| -> rusqlite::Result<RaterRow> {
            Ok((
                row.get(0)?,
                Json(json_column(row, 1)?.unwrap_or_default()),
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ))
        })
        .transpose()?;
    drop(rows);
    let (pool, expertise, standing) =
        rater_facts_from(found.ok_or_else(|| AppError::not_found("rater"))?);
    let total = if standing.needs_qualification_count(project) {
        qualification_total_sqlite(conn, project.id)?
    } else {
        0
    };
    rater_facts_of(project, &pool, expertise, &standing, total)
}

impl Store {
    /// A rater's standing in a project, for `next` and the pages that say why there is no
    /// work. Read outside a write; every write reads it again through `check_write`.
    pub async fn rater_facts(&self, project: &Project, rater_id: i64) -> Result<RaterFacts> {
        let row: Option<RaterRow> = on_pool!(self, pool => {
            sqlx::query_as(RATER_FACTS_SQL).bind(project.id).bind(rater_id).fetch_optional(pool).await?
        });
        let (pool, expertise, standing) =
            rater_facts_from(row.ok_or_else(|| AppError::not_found("rater"))?);
        let total: i64 = if standing.needs_qualification_count(project) {
            on_pool!(self, pool => {
                sqlx::query_scalar(QUALIFICATION_TOTAL_SQL).bind(project.id).fetch_one(pool).await?
            })
        } else {
            0
        };
        rater_facts_of(project, &pool, expertise, &standing, total)
    }
}
