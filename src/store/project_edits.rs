//! Changing a project after creation: editing its settings (with the items' wanted labels
//! worked out again and a new guideline version when the instructions change), archiving
//! and restoring it, and cloning its setup. Each change and its audit entries commit in one
//! transaction.
//!
//! Lock order on PostgreSQL: label writes lock their item and then (in the write gate) the
//! project row; an edit locks the items it recounts before the project row, so the two
//! never wait on each other in a circle.

use std::collections::HashSet;

use serde_json::json;
use sqlx::types::Json;
use tracing::instrument;

use super::audit::record_audit;
use super::projects::{insert_project, ProjectRow};
use super::webhook_events::{complete_if_settled, reopen_item};
use super::{in_write_tx, on_pool, Store};
use crate::domain::audit::{Action, Entry};
use crate::domain::now_ms;
use crate::domain::policy::{random_key, Pool};
use crate::domain::project::{Project, ProjectSpec};
use crate::domain::project_edit::{
    apply_changes, audited_settings, check_against_stored, Changes, EditPlan, GeneralistRule,
    NeedRule, Stored, StoredValue, ValueSource,
};
use crate::error::{AppError, Result};

/// One version of a project's guidelines, as the settings page lists it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GuidelineVersion {
    pub number: i64,
    /// The instructions of this version (Markdown).
    pub instructions: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Who wrote it, by name; `null` when not known.
    pub created_by: Option<String>,
}

const OPEN_ITEMS_SQL: &str = "SELECT id FROM items
    WHERE project_id = $1 AND NOT is_gold AND NOT is_qualification
      AND need_generalist + need_expert + need_user > 0";

/// Labels a pool gave an item, and the live leases its raters hold on it.
fn given(pool: &str) -> String {
    format!("(SELECT count(*) FROM labels l WHERE l.item_id = items.id AND l.pool = '{pool}')")
}

fn leased(pool: &str) -> String {
    format!(
        "(SELECT count(*) FROM leases le WHERE le.item_id = items.id AND le.pool = '{pool}' AND le.expires_at > $2)"
    )
}

/// Labels still wanted from a pool: the target less the labels given, but never less than
/// the live leases of that pool, so that every rater holding the item may still answer it.
fn still_wanted(target: &str, pool: &str) -> String {
    let want = format!("(({target}) - {})", given(pool));
    let held = leased(pool);
    format!("CASE WHEN {want} > {held} THEN {want} ELSE {held} END")
}

/// Works out every item's wanted labels again under a new rule. `$1` project, `$2` now,
/// `$3`/`$4` the generalist minimum and maximum (equal for a fixed overlap), `$5` experts,
/// `$6` more experts for an escalated item, `$7` users. An item keeps the generalist labels
/// dynamic overlap asked for (the labels given plus those wanted), within the new bounds.
fn recount_needs_sql() -> String {
    let so_far = format!("(need_generalist + {})", given("generalist"));
    let generalists =
        format!("CASE WHEN {so_far} < $3 THEN $3 WHEN {so_far} > $4 THEN $4 ELSE {so_far} END");
    format!(
        "UPDATE items SET
            need_generalist = {},
            need_expert = {},
            need_user = {}
         WHERE project_id = $1 AND NOT is_gold AND NOT is_qualification",
        still_wanted(&generalists, Pool::Generalist.as_str()),
        still_wanted(
            "$5 + CASE WHEN escalated THEN $6 ELSE 0 END",
            Pool::Expert.as_str()
        ),
        still_wanted("$7", Pool::User.as_str()),
    )
}

const UPDATE_PROJECT_SQL: &str =
    "UPDATE projects SET name = $1, kind = $2, labels = $3, overlap = $4,
        instructions = $5, lease_seconds = $6, pool_expert = $7, pool_user = $8, expertise = $9,
        escalate_below = $10, expert_overlap = $11, min_overlap = $12, max_overlap = $13,
        item_order = $14, seed = $15, gold_rate = $16, min_gold_accuracy = $17,
        gold_min_seen = $18, report_threshold = $19, open_link = $20, completion_url = $21,
        completion_after = $22, completion_code = $23, feedback_creates_items = $24,
        feedback_first = $25, negative_labels = $26, qualify_accuracy = $27,
        single_use_links = $28, settings = $29, presentation = $30,
        guideline_version = $31, revision = revision + 1
    WHERE id = $32";

const STORED_VALUES_SQL: [(ValueSource, &str); 4] = [
    (
        ValueSource::Labels,
        "SELECT value, count(*) FROM labels WHERE project_id = $1 GROUP BY value",
    ),
    (
        ValueSource::GoldAnswers,
        "SELECT gold, count(*) FROM items WHERE project_id = $1 AND gold IS NOT NULL GROUP BY gold",
    ),
    (
        ValueSource::PreLabels,
        "SELECT prediction, count(*) FROM items WHERE project_id = $1 AND prediction IS NOT NULL GROUP BY prediction",
    ),
    (
        ValueSource::FinalLabels,
        "SELECT value, count(*) FROM adjudications WHERE project_id = $1 GROUP BY value",
    ),
];

fn changed_meanwhile() -> AppError {
    AppError::Conflict(
        "the project was changed by someone else meanwhile; load it again and retry".into(),
    )
}

impl Store {
    /// Applies `changes` (keys of a new project) to a project: checked as a new project
    /// would be, then against what is stored; the items' wanted labels are worked out again
    /// when the overlap or pools change (and their random order when the seed does), and
    /// changed instructions become a new guideline version. `audit` carries who and from
    /// where: `project.updated` is written when a setting changed, `guidelines.updated`
    /// when the instructions did.
    #[instrument(skip_all, fields(project = project_id))]
    pub async fn edit_project(
        &self,
        project_id: i64,
        changes: &Changes,
        audit: &Entry,
    ) -> Result<Project> {
        let before = self.project(project_id).await?;
        let spec = apply_changes(&before, changes)?;
        let plan = EditPlan::new(&before, spec);
        if !plan.changes_anything() {
            return Ok(before);
        }
        let now = now_ms();
        let after = &plan.after;
        let version = before.guideline_version + i64::from(plan.instructions_changed);
        in_write_tx!(self, tx, lock => {
            let mut open_before = HashSet::new();
            if plan.needs_changed {
                let open: Vec<i64> = sqlx::query_scalar(OPEN_ITEMS_SQL).bind(project_id).fetch_all(&mut *tx).await?;
                open_before.extend(open);
                let rule = NeedRule::of(&after.policy);
                let (min, max) = match rule.generalist {
                    GeneralistRule::Fixed(n) => (n, n),
                    GeneralistRule::Dynamic { min, max } => (min, max),
                };
                sqlx::query(&recount_needs_sql())
                    .bind(project_id)
                    .bind(now)
                    .bind(min)
                    .bind(max)
                    .bind(rule.expert)
                    .bind(rule.expert_overlap)
                    .bind(rule.user)
                    .execute(&mut *tx)
                    .await?;
            }
            if plan.seed_changed {
                let positions: Vec<(i64, i64)> = sqlx::query_as("SELECT id, position FROM items WHERE project_id = $1")
                    .bind(project_id)
                    .fetch_all(&mut *tx)
                    .await?;
                for (item, position) in positions {
                    sqlx::query("UPDATE items SET random_key = $1 WHERE id = $2")
                        .bind(random_key(after.policy.seed, position))
                        .bind(item)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let for_update = if lock.is_empty() { "" } else { " FOR UPDATE" };
            let revision: Option<i64> = sqlx::query_scalar(&format!("SELECT revision FROM projects WHERE id = $1{for_update}"))
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await?;
            if revision != Some(before.revision) {
                return Err(changed_meanwhile());
            }
            if plan.schema_changed {
                let mut stored = Stored {
                    labels: sqlx::query_scalar("SELECT count(*) FROM labels WHERE project_id = $1")
                        .bind(project_id)
                        .fetch_one(&mut *tx)
                        .await?,
                    values: Vec::new(),
                };
                for (source, sql) in STORED_VALUES_SQL {
                    let rows: Vec<(String, i64)> = sqlx::query_as(sql).bind(project_id).fetch_all(&mut *tx).await?;
                    stored.values.extend(rows.into_iter().map(|(value, count)| StoredValue { source, value, count }));
                }
                check_against_stored(&before, after, &stored)
                    .map_err(|refusal| AppError::Conflict(refusal.to_string()))?;
            }
            let policy = &after.policy;
            sqlx::query(UPDATE_PROJECT_SQL)
                .bind(&after.name)
                .bind(after.kind.as_str())
                .bind(Json(&after.labels))
                .bind(after.overlap)
                .bind(&after.instructions)
                .bind(after.lease_seconds)
                .bind(policy.pool_count(Pool::Expert))
                .bind(policy.pool_count(Pool::User))
                .bind(Json(&policy.expertise))
                .bind(policy.escalate_below)
                .bind(policy.expert_overlap)
                .bind(policy.min_overlap)
                .bind(policy.max_overlap)
                .bind(policy.order.as_str())
                .bind(policy.seed)
                .bind(policy.gold_rate)
                .bind(policy.min_gold_accuracy)
                .bind(policy.gold_min_seen)
                .bind(policy.report_threshold)
                .bind(after.links.open_link)
                .bind(&after.links.completion_url)
                .bind(after.links.completion_after)
                .bind(&after.links.completion_code)
                .bind(after.feedback.feedback_creates_items)
                .bind(after.feedback.feedback_first)
                .bind(Json(&after.feedback.negative_labels))
                .bind(policy.qualify_accuracy)
                .bind(after.links.single_use_links)
                .bind(Json(&after.settings))
                .bind(Json(&after.presentation))
                .bind(version)
                .bind(project_id)
                .execute(&mut *tx)
                .await?;
            if plan.instructions_changed {
                sqlx::query(
                    "INSERT INTO guideline_versions (project_id, number, instructions, created_by, created_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(project_id)
                .bind(version)
                .bind(&after.instructions)
                .bind(audit.actor_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            if plan.needs_changed {
                let open: Vec<i64> = sqlx::query_scalar(OPEN_ITEMS_SQL).bind(project_id).fetch_all(&mut *tx).await?;
                let open_after: HashSet<i64> = open.into_iter().collect();
                for item in open_after.difference(&open_before) {
                    reopen_item(&mut tx, *item).await?;
                }
                let mut closed: Vec<i64> = open_before.difference(&open_after).copied().collect();
                closed.sort_unstable();
                for item in closed {
                    complete_if_settled(&mut tx, lock, project_id, item, now).await?;
                }
            }
            if plan.settings_changed {
                let entry = Entry { action: Action::ProjectUpdated, ..audit.clone() }
                    .project(project_id)
                    .changes(&audited_settings(&before), &audited_settings(after));
                record_audit(&mut tx, &entry).await?;
            }
            if plan.instructions_changed {
                let entry = Entry { action: Action::GuidelinesUpdated, ..audit.clone() }
                    .project(project_id)
                    .details(json!({"version": version, "previous_version": before.guideline_version}));
                record_audit(&mut tx, &entry).await?;
            }
        });
        self.project(project_id).await
    }

    /// Archives a project (`archived`) or restores it. Archived, it leaves raters' lists and
    /// every rater path refuses it; restored, everything is as it was.
    #[instrument(skip_all, fields(project = project_id, archived))]
    pub async fn set_archived(
        &self,
        project_id: i64,
        archived: bool,
        audit: &Entry,
    ) -> Result<Project> {
        let now = now_ms();
        in_write_tx!(self, tx, lock => {
            let for_update = if lock.is_empty() { "" } else { " FOR UPDATE" };
            let state: Option<Option<i64>> = sqlx::query_scalar(&format!("SELECT archived_at FROM projects WHERE id = $1{for_update}"))
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await?;
            let was = state.ok_or_else(|| AppError::not_found("project"))?;
            match (was.is_some(), archived) {
                (true, true) => return Err(AppError::Conflict("the project is already archived".into())),
                (false, false) => return Err(AppError::Conflict("the project is not archived".into())),
                _ => {}
            }
            sqlx::query("UPDATE projects SET archived_at = $1 WHERE id = $2")
                .bind(archived.then_some(now))
                .bind(project_id)
                .execute(&mut *tx)
                .await?;
            let action = if archived { Action::ProjectArchived } else { Action::ProjectRestored };
            let entry = Entry { action, ..audit.clone() }.project(project_id);
            record_audit(&mut tx, &entry).await?;
        });
        self.project(project_id).await
    }

    /// A new project with `source`'s setup: its settings (checked as a new project under
    /// the given `spec`), label set, policy, pools, membership, reviewers, feedback-source
    /// mappings and guideline text; no items, labels, keys, link secrets or webhooks.
    /// Writes `project.cloned` on the new project.
    #[instrument(skip_all, fields(source = source.id))]
    pub async fn clone_project(
        &self,
        source: &Project,
        spec: &ProjectSpec,
        audit: &Entry,
    ) -> Result<Project> {
        let created_by = audit.actor_id.unwrap_or_default();
        let row: ProjectRow = in_write_tx!(self, tx, _lock => {
            let row = insert_project!(tx, spec, created_by);
            sqlx::query(
                "UPDATE projects SET
                    member_pools = (SELECT s.member_pools FROM projects s WHERE s.id = $2),
                    review_below = (SELECT s.review_below FROM projects s WHERE s.id = $2),
                    spot_check_rate = (SELECT s.spot_check_rate FROM projects s WHERE s.id = $2)
                 WHERE id = $1",
            )
            .bind(row.id)
            .bind(source.id)
            .execute(&mut *tx)
            .await?;
            for sql in [
                "INSERT INTO project_members (project_id, rater_id) SELECT $1, rater_id FROM project_members WHERE project_id = $2",
                "INSERT INTO project_reviewers (project_id, user_id) SELECT $1, user_id FROM project_reviewers WHERE project_id = $2",
                "INSERT INTO feedback_sources (project_id, source, mapping, expected_interval_seconds)
                 SELECT $1, source, mapping, expected_interval_seconds FROM feedback_sources WHERE project_id = $2",
                "INSERT INTO pool_rates (project_id, currency, generalist_per_hour, expert_per_hour, user_per_hour, updated_at)
                 SELECT $1, currency, generalist_per_hour, expert_per_hour, user_per_hour, updated_at FROM pool_rates WHERE project_id = $2",
            ] {
                sqlx::query(sql).bind(row.id).bind(source.id).execute(&mut *tx).await?;
            }
            let entry = Entry { action: Action::ProjectCloned, ..audit.clone() }
                .project(row.id)
                .details(json!({"source_project": source.id, "source_name": source.name}));
            record_audit(&mut tx, &entry).await?;
            row
        });
        row.into_project()
    }

    /// Every version of a project's guidelines, newest first.
    pub async fn guideline_versions(&self, project_id: i64) -> Result<Vec<GuidelineVersion>> {
        let sql = "SELECT g.number, g.instructions, g.created_at, u.name AS created_by
            FROM guideline_versions g LEFT JOIN users u ON u.id = g.created_by
            WHERE g.project_id = $1 ORDER BY g.number DESC";
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql).bind(project_id).fetch_all(pool).await?
        }))
    }
}
