//! Projects and their progress.

use sqlx::types::Json;
use sqlx::FromRow;
use tracing::instrument;

use super::audit::record_audit;
use super::columns::need_column;
use super::{in_write_tx, on_pool, Store};
use crate::domain::audit::Entry;
use std::collections::BTreeMap;

use crate::auth::random_hex;
use crate::domain::kinds::{Kind, Settings};
use crate::domain::policy::{Order, Policy, Pool};
use crate::domain::presentation::Presentation;
use crate::domain::project::{FeedbackSettings, Progress, Project, ProjectSpec, UserLinks};
use crate::domain::user::User;
use crate::error::{AppError, Result};

/// How many items project `$1` holds besides gold and qualification questions, from the
/// progress counts that triggers on items keep (a subquery): counting the items took tens of
/// milliseconds at 100,000.
pub(super) const REAL_ITEMS: &str =
    "(SELECT CAST(coalesce(sum(items), 0) AS BIGINT) FROM progress_counts WHERE project_id = $1)";

#[derive(FromRow)]
pub(super) struct ProjectRow {
    pub(super) id: i64,
    name: String,
    kind: String,
    labels: Json<Vec<String>>,
    overlap: i64,
    instructions: String,
    lease_seconds: i64,
    created_at: i64,
    pool_expert: i64,
    pool_user: i64,
    expertise: Json<Vec<String>>,
    escalate_below: Option<f64>,
    expert_overlap: i64,
    min_overlap: Option<i64>,
    max_overlap: Option<i64>,
    item_order: String,
    seed: i64,
    gold_rate: f64,
    min_gold_accuracy: Option<f64>,
    gold_min_seen: i64,
    report_threshold: Option<i64>,
    link_secret: String,
    open_link: bool,
    open_token: String,
    completion_url: Option<String>,
    completion_after: Option<i64>,
    completion_code: Option<String>,
    single_use_links: bool,
    feedback_creates_items: bool,
    feedback_first: bool,
    negative_labels: Json<Vec<String>>,
    qualify_accuracy: Option<f64>,
    settings: Json<Settings>,
    presentation: Json<Presentation>,
    revision: i64,
    archived_at: Option<i64>,
    guideline_version: i64,
}

impl ProjectRow {
    pub(super) fn into_project(self) -> Result<Project> {
        let stored = |e: crate::domain::Invalid| {
            AppError::Internal(anyhow::anyhow!("stored project {}: {e}", self.id))
        };
        let kind = Kind::parse(&self.kind).map_err(stored)?;
        let policy = Policy {
            pools: BTreeMap::from([
                (Pool::Generalist, self.overlap),
                (Pool::Expert, self.pool_expert),
                (Pool::User, self.pool_user),
            ]),
            expertise: self.expertise.0,
            escalate_below: self.escalate_below,
            expert_overlap: self.expert_overlap,
            min_overlap: self.min_overlap,
            max_overlap: self.max_overlap,
            order: Order::parse(&self.item_order).map_err(stored)?,
            seed: self.seed,
            gold_rate: self.gold_rate,
            min_gold_accuracy: self.min_gold_accuracy,
            gold_min_seen: self.gold_min_seen,
            report_threshold: self.report_threshold,
            qualify_accuracy: self.qualify_accuracy,
        };
        Ok(Project {
            id: self.id,
            name: self.name,
            kind,
            labels: self.labels.0,
            settings: self.settings.0,
            presentation: self.presentation.0,
            overlap: self.overlap,
            instructions: self.instructions,
            lease_seconds: self.lease_seconds,
            created_at: self.created_at,
            policy,
            links: UserLinks {
                open_link: self.open_link,
                completion_url: self.completion_url,
                completion_after: self.completion_after,
                completion_code: self.completion_code,
                single_use_links: self.single_use_links,
            },
            feedback: FeedbackSettings {
                feedback_creates_items: self.feedback_creates_items,
                feedback_first: self.feedback_first,
                negative_labels: self.negative_labels.0,
            },
            link_secret: self.link_secret,
            open_link_url: self
                .open_link
                .then(|| format!("/u/{}/open/{}", self.id, self.open_token)),
            open_token: self.open_token,
            archived_at: self.archived_at,
            guideline_version: self.guideline_version,
            revision: self.revision,
        })
    }
}

/// Inserts a project and its first guideline version inside a write transaction of either
/// backend; evaluates to the stored row. A macro rather than a generic function: the row
/// binds many column types, which would each need a bound on a generic transaction.
macro_rules! insert_project {
    ($tx:ident, $spec:expr, $created_by:expr) => {{
        let spec: &$crate::domain::project::ProjectSpec = $spec;
        let created_by: i64 = $created_by;
        let policy = &spec.policy;
        let now = $crate::domain::now_ms();
        let row: $crate::store::projects::ProjectRow =
            sqlx::query_as(&$crate::store::projects::insert_project_sql())
            .bind(&spec.name)
            .bind(spec.kind.as_str())
            .bind(sqlx::types::Json(&spec.labels))
            .bind(spec.overlap)
            .bind(&spec.instructions)
            .bind(spec.lease_seconds)
            .bind(created_by)
            .bind(now)
            .bind(policy.pool_count($crate::domain::policy::Pool::Expert))
            .bind(policy.pool_count($crate::domain::policy::Pool::User))
            .bind(sqlx::types::Json(&policy.expertise))
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
            .bind($crate::auth::random_hex(32))
            .bind(spec.links.open_link)
            .bind($crate::auth::random_hex(16))
            .bind(&spec.links.completion_url)
            .bind(spec.links.completion_after)
            .bind(&spec.links.completion_code)
            .bind(spec.feedback.feedback_creates_items)
            .bind(spec.feedback.feedback_first)
            .bind(sqlx::types::Json(&spec.feedback.negative_labels))
            .bind(policy.qualify_accuracy)
            .bind(spec.links.single_use_links)
            .bind(sqlx::types::Json(&spec.settings))
            .bind(sqlx::types::Json(&spec.presentation))
            .fetch_one(&mut *$tx)
            .await?;
        sqlx::query(
            "INSERT INTO guideline_versions (project_id, number, instructions, created_by, created_at)
             VALUES ($1, 1, $2, $3, $4)",
        )
        .bind(row.id)
        .bind(&spec.instructions)
        .bind(created_by)
        .bind(now)
        .execute(&mut *$tx)
        .await?;
        row
    }};
}
pub(super) use insert_project;

pub(super) fn insert_project_sql() -> String {
    format!(
        "INSERT INTO projects (name, kind, labels, overlap, instructions, lease_seconds, created_by, created_at,
             pool_expert, pool_user, expertise, escalate_below, expert_overlap, min_overlap, max_overlap,
             item_order, seed, gold_rate, min_gold_accuracy, gold_min_seen, report_threshold,
             link_secret, open_link, open_token, completion_url, completion_after, completion_code,
             feedback_creates_items, feedback_first, negative_labels, qualify_accuracy, single_use_links,
             settings, presentation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                 $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34)
         RETURNING {PROJECT_COLUMNS}"
    )
}

pub(super) const PROJECT_COLUMNS: &str =
    "id, name, kind, labels, overlap, instructions, lease_seconds, created_at,
     pool_expert, pool_user, expertise, escalate_below, expert_overlap, min_overlap, max_overlap,
     item_order, seed, gold_rate, min_gold_accuracy, gold_min_seen, report_threshold,
     link_secret, open_link, open_token, completion_url, completion_after, completion_code,
     feedback_creates_items, feedback_first, negative_labels, qualify_accuracy, single_use_links,
     settings, presentation, revision, archived_at, guideline_version";

/// A project with its progress, as lists show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProjectSummary {
    #[serde(flatten)]
    pub project: Project,
    pub progress: Progress,
}

/// What is left in a project for one rater.
#[derive(Debug, Clone, Default)]
pub struct RaterProgress {
    pub labelled_today: i64,
    pub labelled_total: i64,
    /// Items still open to the rater, counted up to `LEFT_COUNTED`...
    pub left: i64,
    /// ...and whether there are more than that.
    pub more_left: bool,
}

/// How far the items left for a rater are counted: beyond it the count would cost a scan of
/// every open item on each page, and "more than 1000" says enough.
pub const LEFT_COUNTED: i64 = 1000;

/// The rows of progress differences a project may have before a view folds them into one.
const PROGRESS_ROWS_KEPT: i64 = 64;

impl RaterProgress {
    /// The items left, as pages say it: "17", or "more than 1000".
    pub fn left_text(&self) -> String {
        if self.more_left {
            format!("more than {}", self.left)
        } else {
            self.left.to_string()
        }
    }
}

impl Store {
    /// Stores a new project with its first guideline version (its instructions); the
    /// audit entry (made by `entry`'s actor) commits with it.
    #[instrument(skip_all, fields(name = %spec.name))]
    pub async fn create_project(
        &self,
        spec: &ProjectSpec,
        created_by: i64,
        entry: &Entry,
    ) -> Result<Project> {
        let project = in_write_tx!(self, tx, _lock => {
            let project = insert_project!(tx, spec, created_by).into_project()?;
            let entry = entry
                .clone()
                .project(project.id)
                .target("project", project.id)
                .details(serde_json::json!({ "name": project.name, "kind": project.kind.as_str() }));
            record_audit(&mut tx, &entry).await?;
            project
        });
        Ok(project)
    }

    /// A new secret for the project's signed links: every link signed with the old one
    /// stops working. Returns the new secret.
    pub async fn rotate_link_secret(&self, project_id: i64, entry: &Entry) -> Result<String> {
        self.replace_secret(project_id, "link_secret", random_hex(32), entry)
            .await
    }

    /// A new token for the project's open link: the old link stops working.
    pub async fn rotate_open_token(&self, project_id: i64, entry: &Entry) -> Result<String> {
        self.replace_secret(project_id, "open_token", random_hex(16), entry)
            .await
    }

    /// Replaces a secret; the audit entry says which project, never the secret.
    async fn replace_secret(
        &self,
        project_id: i64,
        column: &str,
        value: String,
        entry: &Entry,
    ) -> Result<String> {
        // `column` is one of two fixed names above, never input.
        let sql = format!("UPDATE projects SET {column} = $1 WHERE id = $2");
        let changed = in_write_tx!(self, tx, _lock => {
            let changed = sqlx::query(&sql).bind(&value).bind(project_id).execute(&mut *tx).await?.rows_affected();
            if changed > 0 {
                let entry = entry.clone().project(project_id).target("project", project_id);
                record_audit(&mut tx, &entry).await?;
            }
            changed
        });
        if changed == 0 {
            return Err(AppError::not_found("project"));
        }
        Ok(value)
    }

    pub async fn project(&self, id: i64) -> Result<Project> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1");
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, ProjectRow>(&sql).bind(id).fetch_optional(pool).await?
        });
        row.ok_or_else(|| AppError::not_found("project"))?
            .into_project()
    }

    pub async fn projects(&self) -> Result<Vec<Project>> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id");
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, ProjectRow>(&sql).fetch_all(pool).await?
        });
        rows.into_iter().map(ProjectRow::into_project).collect()
    }

    /// A project's items plus labels, as its kept counts hold them (gold and qualification
    /// items left out).
    pub async fn project_rows(&self, project_id: i64) -> Result<i64> {
        let sql = "SELECT CAST(coalesce(sum(items + labels), 0) AS BIGINT)
                     FROM progress_counts WHERE project_id = $1";
        Ok(on_pool!(self, pool => sqlx::query_scalar(sql).bind(project_id).fetch_one(pool).await?))
    }

    /// How far a project has come: counts kept up to date by triggers on items
    /// (`progress_counts`), and the raters who have labelled, one row each.
    pub async fn progress(&self, project_id: i64) -> Result<Progress> {
        let sql = "SELECT count(*),
                CAST(coalesce(sum(items), 0) AS BIGINT), CAST(coalesce(sum(labels), 0) AS BIGINT),
                CAST(coalesce(sum(complete), 0) AS BIGINT), CAST(coalesce(sum(in_progress), 0) AS BIGINT),
                CAST(coalesce(sum(untouched), 0) AS BIGINT)
            FROM progress_counts WHERE project_id = $1";
        let raters_sql = "SELECT count(*) FROM rater_tallies WHERE project_id = $1 AND labels > 0";
        let ((rows, items, labels, complete, in_progress, untouched), raters) = on_pool!(self, pool => {
            let counts: (i64, i64, i64, i64, i64, i64) =
                sqlx::query_as(sql).bind(project_id).fetch_one(pool).await?;
            let raters: i64 = sqlx::query_scalar(raters_sql).bind(project_id).fetch_one(pool).await?;
            (counts, raters)
        });
        if rows > PROGRESS_ROWS_KEPT {
            // The counts read are right either way; a fold that fails is tried again later.
            if let Err(e) = self.fold_progress(project_id).await {
                tracing::warn!(error = %e, project_id, "folding a project's progress rows failed");
            }
        }
        Ok(Progress {
            items,
            labels,
            items_complete: complete,
            items_in_progress: in_progress,
            items_untouched: untouched,
            raters,
        })
    }

    /// Folds a project's rows of progress differences into one (PostgreSQL adds a row per
    /// statement that changes items; SQLite keeps one row per project).
    async fn fold_progress(&self, project_id: i64) -> Result<()> {
        // The rows summed are exactly the rows deleted: a difference committed meanwhile
        // stays for the next fold.
        let sql = "WITH folded AS (DELETE FROM progress_counts WHERE project_id = $1
                RETURNING items, labels, complete, in_progress, untouched)
            INSERT INTO progress_counts (project_id, slot, items, labels, complete, in_progress, untouched)
            SELECT $1, nextval('progress_slots'), coalesce(sum(items), 0), coalesce(sum(labels), 0),
                coalesce(sum(complete), 0), coalesce(sum(in_progress), 0), coalesce(sum(untouched), 0)
            FROM folded";
        if let Store::Postgres(backend) = self {
            sqlx::query(sql)
                .bind(project_id)
                .execute(&backend.pool)
                .await?;
        }
        Ok(())
    }

    /// Folds the progress rows of every project that has piled up more than a view folds,
    /// so that a project nobody looks at while it is labelled stays quick to read. Only
    /// PostgreSQL piles rows up; on SQLite there is nothing to look for.
    pub async fn fold_all_progress(&self) -> Result<()> {
        let Store::Postgres(backend) = self else {
            return Ok(());
        };
        let sql = "SELECT project_id FROM progress_counts GROUP BY project_id HAVING count(*) > $1";
        let projects: Vec<i64> = sqlx::query_scalar(sql)
            .bind(PROGRESS_ROWS_KEPT)
            .fetch_all(&backend.pool)
            .await?;
        for project_id in projects {
            self.fold_progress(project_id).await?;
        }
        Ok(())
    }

    pub async fn project_summaries(&self) -> Result<Vec<ProjectSummary>> {
        let mut out = Vec::new();
        for project in self.projects().await? {
            let progress = self.progress(project.id).await?;
            out.push(ProjectSummary { project, progress });
        }
        Ok(out)
    }

    /// How far a rater has come in a project, and how many items are still open to them.
    pub async fn rater_progress(
        &self,
        project_id: i64,
        rater: &User,
        since_ms: i64,
    ) -> Result<RaterProgress> {
        let rater_id = rater.id;
        let labelled_sql = "SELECT
                coalesce((SELECT labels FROM rater_tallies WHERE project_id = $1 AND rater_id = $2), 0),
                (SELECT count(*) FROM labels WHERE rater_id = $2 AND project_id = $1 AND created_at >= $3)";
        let left_sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM items i
             WHERE i.project_id = $1 AND i.{} > 0 AND NOT i.held
               AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.rater_id = $2)
               AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.item_id = i.id AND s.rater_id = $2)
             ORDER BY i.position LIMIT $3) open_to_rater",
            need_column(rater.pool)
        );
        let ((total, today), left) = on_pool!(self, pool => {
            let labelled: (i64, i64) = sqlx::query_as(labelled_sql)
                .bind(project_id).bind(rater_id).bind(since_ms)
                .fetch_one(pool).await?;
            let left: i64 = sqlx::query_scalar(&left_sql)
                .bind(project_id).bind(rater_id).bind(LEFT_COUNTED + 1)
                .fetch_one(pool).await?;
            (labelled, left)
        });
        Ok(RaterProgress {
            labelled_today: today,
            labelled_total: total,
            left: left.min(LEFT_COUNTED),
            more_left: left > LEFT_COUNTED,
        })
    }
}
