//! People as admins manage them: the list with each person's figures, changing a rater's
//! pool and expertise, deactivating, reactivating and erasing an account. Every change
//! writes its audit entry in its own transaction.

use std::collections::HashMap;
use std::sync::Arc;

use futures::TryStreamExt;
use serde::Serialize;
use sqlx::types::Json;
use tracing::instrument;

use super::audit::record_audit;
use super::{in_write_tx, on_pool, side_items, tx_fn, Store};
use crate::domain::audit::Entry;
use crate::domain::kinds::from_stored;
use crate::domain::now_ms;
use crate::domain::people::{add_item, AccountStatus, LabelFact, WorkFigures};
use crate::domain::policy::Pool;
use crate::domain::project::Project;
use crate::error::{is_unique_violation, AppError, Result};

/// A project where a person is paused, and why.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PausedIn {
    pub project_id: i64,
    pub project: String,
    pub reason: Option<String>,
}

/// A person with the figures of their work across every project.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: i64,
    /// The name; after an erasure, the pseudonym.
    pub name: String,
    pub role: String,
    pub pool: String,
    pub expertise: Vec<String>,
    /// The name exports and reports use.
    pub pseudonym: String,
    pub status: AccountStatus,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub deactivated_at: Option<i64>,
    pub erased_at: Option<i64>,
    /// API tokens the person holds.
    pub tokens: i64,
    /// Projects the person has labelled in.
    pub projects: i64,
    pub labels: i64,
    pub gold_seen: i64,
    pub gold_correct: i64,
    /// `gold_correct / gold_seen`, null before any gold question.
    pub gold_accuracy: Option<f64>,
    /// Share of the person's labels that match their item's consensus, over items that
    /// have one (at least two labels and no tie; gold and qualification items left out).
    pub agreement: Option<f64>,
    /// How many labels `agreement` is computed over.
    pub agreement_labels: i64,
    pub median_duration_ms: Option<i64>,
    /// When the person last gave a label (epoch milliseconds).
    pub last_active_at: Option<i64>,
    /// The projects where the person is paused, with the reasons.
    pub paused: Vec<PausedIn>,
}

impl Person {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    pub fn is_open(&self) -> bool {
        matches!(self.status, AccountStatus::Active | AccountStatus::Invited)
    }
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    id: i64,
    name: String,
    role: String,
    pool: String,
    expertise: Json<Vec<String>>,
    pseudonym: String,
    created_at: i64,
    deactivated_at: Option<i64>,
    erased_at: Option<i64>,
    invited: bool,
    tokens: i64,
    projects: i64,
    labels: i64,
    gold_seen: i64,
    gold_correct: i64,
    last_active_at: Option<i64>,
}

const PEOPLE_SQL: &str = "SELECT u.id, u.name, u.role, u.pool, u.expertise, u.pseudonym,
        u.created_at, u.deactivated_at, u.erased_at,
        (u.password_hash IS NULL AND EXISTS (SELECT 1 FROM password_links k
            WHERE k.user_id = u.id AND k.purpose = 'invite' AND k.used_at IS NULL)) AS invited,
        (SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id) AS tokens,
        (SELECT count(*) FROM rater_tallies rt WHERE rt.rater_id = u.id AND rt.labels > 0) AS projects,
        (SELECT CAST(coalesce(sum(rt.labels), 0) AS BIGINT) FROM rater_tallies rt WHERE rt.rater_id = u.id) AS labels,
        (SELECT CAST(coalesce(sum(rs.gold_seen), 0) AS BIGINT) FROM rater_states rs WHERE rs.rater_id = u.id) AS gold_seen,
        (SELECT CAST(coalesce(sum(rs.gold_correct), 0) AS BIGINT) FROM rater_states rs WHERE rs.rater_id = u.id) AS gold_correct,
        (SELECT max(rt.last_label_at) FROM rater_tallies rt WHERE rt.rater_id = u.id) AS last_active_at
    FROM users u";

/// A share, or null without anything to divide by.
pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

tx_fn!(
    /// Ends every browser session of a person.
    pub(crate) end_sessions(tx, user_id: i64) -> () {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
);

tx_fn!(
    /// Takes away everything that lets a person in or hands them work: sessions, API
    /// tokens, unused password links and the items they hold.
    close_access(tx, user_id: i64) -> () {
        end_sessions(tx, user_id).await?;
        for sql in [
            "DELETE FROM api_tokens WHERE user_id = $1",
            "DELETE FROM password_links WHERE user_id = $1 AND used_at IS NULL",
            "DELETE FROM leases WHERE rater_id = $1",
        ] {
            sqlx::query(sql).bind(user_id).execute(&mut **tx).await?;
        }
        Ok(())
    }
);

/// The name and state of an account as a change needs them.
#[derive(sqlx::FromRow)]
struct AccountRow {
    name: String,
    pseudonym: String,
    deactivated_at: Option<i64>,
    erased_at: Option<i64>,
    pool: String,
    expertise: Json<Vec<String>>,
}

const ACCOUNT_SQL: &str = "SELECT name, pseudonym, deactivated_at, erased_at, pool, expertise
    FROM users WHERE id = $1 AND scope_project_id IS NULL";

/// Reads an account made by an admin inside a write transaction (404 when there is none).
macro_rules! account {
    ($tx:ident, $user_id:expr) => {
        sqlx::query_as::<_, AccountRow>(ACCOUNT_SQL)
            .bind($user_id)
            .fetch_optional(&mut *$tx)
            .await?
            .ok_or_else(|| AppError::not_found("user"))?
    };
}

/// The ids of project `$1`'s gold and qualification questions.
pub(super) const SIDE_ITEM_IDS_SQL: &str = concat!("SELECT id FROM items WHERE ", side_items!());

impl Store {
    /// Everyone with an account made by an admin, with the figures of their work.
    #[instrument(skip_all)]
    pub async fn people(&self) -> Result<Vec<Person>> {
        let mut people = self.people_rows().await?;
        add_people_work(&mut people, self.people_work().await?);
        Ok(people)
    }

    /// Everyone of `people`, without the figures that read every label (agreement and
    /// median time).
    pub async fn people_rows(&self) -> Result<Vec<Person>> {
        let sql = format!("{PEOPLE_SQL} WHERE u.scope_project_id IS NULL ORDER BY u.role, u.name");
        let rows: Vec<PersonRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        let mut paused: HashMap<i64, Vec<PausedIn>> = HashMap::new();
        for (rater, pause) in self.pauses().await? {
            paused.entry(rater).or_default().push(pause);
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let paused = paused.remove(&row.id).unwrap_or_default();
                person(row, paused)
            })
            .collect())
    }

    /// Each rater's work figures over every project.
    pub async fn people_work(&self) -> Result<HashMap<i64, WorkFigures>> {
        let mut figures: HashMap<i64, WorkFigures> = HashMap::new();
        for project in self.projects().await? {
            for (rater, work) in self.work_figures(&project).await?.iter() {
                figures.entry(*rater).or_default().merge(work);
            }
        }
        Ok(figures)
    }

    /// One person as the list shows them, without the figures that need every label
    /// (agreement and median time); for answers to changes.
    pub async fn person(&self, user_id: i64) -> Result<Person> {
        let sql = format!("{PEOPLE_SQL} WHERE u.id = $1 AND u.scope_project_id IS NULL");
        let row: Option<PersonRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(user_id).fetch_optional(pool).await?
        });
        let row = row.ok_or_else(|| AppError::not_found("user"))?;
        let paused = self
            .pauses()
            .await?
            .into_iter()
            .filter(|(rater, _)| *rater == user_id)
            .map(|(_, pause)| pause)
            .collect();
        Ok(person(row, paused))
    }

    async fn pauses(&self) -> Result<Vec<(i64, PausedIn)>> {
        let sql = "SELECT rs.rater_id, rs.project_id, p.name AS project, rs.paused_reason
            FROM rater_states rs JOIN projects p ON p.id = rs.project_id
            WHERE rs.paused ORDER BY p.name";
        let rows: Vec<(i64, i64, String, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(rater, project_id, project, reason)| {
                (
                    rater,
                    PausedIn {
                        project_id,
                        project,
                        reason,
                    },
                )
            })
            .collect())
    }

    /// Each rater's agreement with the consensus and label times in one project, read
    /// item by item in one pass (memory holds one item's labels and the durations).
    #[instrument(skip_all, fields(project = project.id))]
    pub async fn work_figures(&self, project: &Project) -> Result<Arc<HashMap<i64, WorkFigures>>> {
        let for_task = project.clone();
        let kept = self
            .snapshot(
                project.id,
                "work",
                project.revision.to_string(),
                move |store| {
                    let project = for_task.clone();
                    async move { store.gather_work_figures(&project).await }
                },
            )
            .await?;
        Ok(kept.value)
    }

    async fn gather_work_figures(&self, project: &Project) -> Result<HashMap<i64, WorkFigures>> {
        // Gold and qualification items are few and have their own index: reading their ids
        // first spares every label a look at its item's row.
        let sql = "SELECT item_id, rater_id, value, duration_ms FROM labels
            WHERE project_id = $1 ORDER BY item_id";
        let schema = project.schema();
        let mut figures = HashMap::new();
        let mut item: Option<(i64, bool)> = None;
        let mut labels: Vec<LabelFact> = Vec::new();
        on_pool!(self, pool => {
            let side: foldhash::HashSet<i64> = sqlx::query_scalar::<_, i64>(SIDE_ITEM_IDS_SQL)
                .bind(project.id)
                .fetch_all(pool)
                .await?
                .into_iter()
                .collect();
            let mut rows = sqlx::query_as::<_, (i64, i64, String, Option<i64>)>(sql)
                .bind(project.id)
                .fetch(pool);
            while let Some((item_id, rater_id, value, duration_ms)) = rows.try_next().await? {
                let special = side.contains(&item_id);
                if let Some((current, current_special)) = item {
                    if current != item_id {
                        add_item(&schema, !current_special, &labels, &mut figures);
                        labels.clear();
                    }
                }
                item = Some((item_id, special));
                labels.push(LabelFact { rater_id, value: from_stored(&value), duration_ms });
            }
        });
        if let Some((_, special)) = item {
            add_item(&schema, !special, &labels, &mut figures);
        }
        // Sorted once here, so that the medians of the kept figures need no sort per view.
        for work in figures.values_mut() {
            work.durations_ms.sort_unstable();
        }
        Ok(figures)
    }

    /// Moves a person to another pool with new expertise tags; the audit entry gets what
    /// changed, before and after.
    pub async fn update_person(
        &self,
        user_id: i64,
        rater_pool: Pool,
        expertise: &[String],
        entry: &Entry,
    ) -> Result<()> {
        in_write_tx!(self, tx, _lock => {
            let row = account!(tx, user_id);
            if row.erased_at.is_some() {
                return Err(AppError::Conflict("this account has been erased".into()));
            }
            sqlx::query("UPDATE users SET pool = $1, expertise = $2 WHERE id = $3")
                .bind(rater_pool.as_str())
                .bind(Json(expertise))
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            let before = serde_json::json!({"pool": row.pool, "expertise": row.expertise.0});
            let after = serde_json::json!({"pool": rater_pool.as_str(), "expertise": expertise});
            let entry = entry.clone().target("user", user_id).changes(&before, &after);
            record_audit(&mut tx, &entry).await?;
        });
        Ok(())
    }

    /// Deactivates an account: it cannot sign in, its sessions, tokens and unused links
    /// go, the items it holds return to the queue; its labels stay.
    pub async fn deactivate_user(&self, user_id: i64, entry: &Entry) -> Result<()> {
        in_write_tx!(self, tx, _lock => {
            let row = account!(tx, user_id);
            if row.erased_at.is_some() || row.deactivated_at.is_some() {
                return Err(AppError::Conflict("this account is already deactivated".into()));
            }
            sqlx::query("UPDATE users SET deactivated_at = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            close_access(&mut tx, user_id).await?;
            record_audit(&mut tx, &entry.clone().target("user", user_id)).await?;
        });
        Ok(())
    }

    /// Lets a deactivated account sign in again (with a new password link or its old
    /// password; its tokens were revoked for good).
    pub async fn reactivate_user(&self, user_id: i64, entry: &Entry) -> Result<()> {
        in_write_tx!(self, tx, _lock => {
            let row = account!(tx, user_id);
            if row.erased_at.is_some() {
                return Err(AppError::Conflict(
                    "an erased account cannot be reactivated; invite the person again".into(),
                ));
            }
            if row.deactivated_at.is_none() {
                return Err(AppError::Conflict("this account is active".into()));
            }
            sqlx::query("UPDATE users SET deactivated_at = NULL WHERE id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            record_audit(&mut tx, &entry.clone().target("user", user_id)).await?;
        });
        Ok(())
    }

    /// Erases a person's personal data for a data-protection request: the name becomes
    /// the pseudonym (also where exports recorded who made them), the password hash,
    /// tokens, sessions and links go, and the account can never sign in again. Labels stay
    /// under the pseudonym. Returns the pseudonym.
    #[instrument(skip_all, fields(user = user_id))]
    pub async fn erase_user(&self, user_id: i64, entry: &Entry) -> Result<String> {
        let pseudonym = in_write_tx!(self, tx, _lock => {
            let row = account!(tx, user_id);
            if row.erased_at.is_some() {
                return Err(AppError::Conflict("this account has been erased already".into()));
            }
            let now = now_ms();
            let renamed = sqlx::query(
                "UPDATE users SET name = $1, password_hash = NULL, erased_at = $2,
                     deactivated_at = coalesce(deactivated_at, $2) WHERE id = $3",
            )
            .bind(&row.pseudonym)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await;
            match renamed {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(AppError::Conflict(format!(
                        "another account is named {:?}, this account's pseudonym; rename it first",
                        row.pseudonym
                    )))
                }
                Err(e) => return Err(e.into()),
            }
            close_access(&mut tx, user_id).await?;
            sqlx::query("DELETE FROM password_links WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM pending_imports WHERE admin_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            forget_name_in_exports(&mut tx, &row.name, &row.pseudonym).await?;
            record_audit(&mut tx, &entry.clone().target("user", user_id)).await?;
            row.pseudonym
        });
        Ok(pseudonym)
    }
}

tx_fn!(
    /// Dataset versions name who made them; an erased person's name becomes the pseudonym
    /// there too, in the column and in the stored card.
    forget_name_in_exports(tx, name: &str, pseudonym: &str) -> () {
        let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let old = format!("\"created_by\":{}", quoted(name));
        let new = format!("\"created_by\":{}", quoted(pseudonym));
        sqlx::query(
            "UPDATE dataset_versions SET created_by = $1, card = replace(card, $2, $3)
             WHERE created_by = $4",
        )
        .bind(pseudonym)
        .bind(old.as_str())
        .bind(new.as_str())
        .bind(name)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
);

/// Puts each person's work figures (`people_work`) into their row.
pub fn add_people_work(people: &mut [Person], mut figures: HashMap<i64, WorkFigures>) {
    for person in people {
        let work = figures.remove(&person.id).unwrap_or_default();
        person.agreement = work.agreement();
        person.agreement_labels = i64::try_from(work.compared).unwrap_or(i64::MAX);
        person.median_duration_ms = work.median_duration_ms();
    }
}

/// A person's row, without the figures that read every label (`add_people_work`).
fn person(row: PersonRow, paused: Vec<PausedIn>) -> Person {
    let status = AccountStatus::of(
        row.erased_at.is_some(),
        row.deactivated_at.is_some(),
        row.invited,
    );
    Person {
        id: row.id,
        name: row.name,
        role: row.role,
        pool: row.pool,
        expertise: row.expertise.0,
        pseudonym: row.pseudonym,
        status,
        created_at: row.created_at,
        deactivated_at: row.deactivated_at,
        erased_at: row.erased_at,
        tokens: row.tokens,
        projects: row.projects,
        labels: row.labels,
        gold_seen: row.gold_seen,
        gold_correct: row.gold_correct,
        gold_accuracy: share(row.gold_correct, row.gold_seen),
        agreement: None,
        agreement_labels: 0,
        median_duration_ms: None,
        last_active_at: row.last_active_at,
        paused,
    }
}
