//! Project membership: the raters a project names and the pools it admits.

use sqlx::types::Json;

use super::audit::record_audit;
use super::{in_write_tx, on_pool, Store};
use crate::domain::audit::Entry;
use crate::domain::gate::Membership;
use crate::domain::policy::Pool;
use crate::error::{AppError, Result};

/// A rater a project names, as the admin sees them.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Member {
    pub rater_id: i64,
    pub name: String,
    pub pool: String,
}

/// Who may work on a project, for the admin.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Members {
    pub pools: Vec<Pool>,
    pub raters: Vec<Member>,
}

fn parse_pools(stored: Vec<String>) -> Result<Vec<Pool>> {
    stored
        .iter()
        .map(|p| {
            Pool::parse(p).map_err(|e| AppError::Internal(anyhow::anyhow!("member pool: {e}")))
        })
        .collect()
}

impl Store {
    /// What the rater extractor needs to know about one rater and one project, in one query.
    pub async fn membership(&self, project_id: i64, rater_id: i64) -> Result<Membership> {
        let sql = "SELECT p.member_pools,
                EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id),
                EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.rater_id = $2)
            FROM projects p WHERE p.id = $1";
        let row: Option<(Json<Vec<String>>, bool, bool)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(project_id).bind(rater_id).fetch_optional(pool).await?
        });
        let (pools, names_anyone, names_rater) =
            row.ok_or_else(|| AppError::not_found("project"))?;
        Ok(Membership {
            pools: parse_pools(pools.0)?,
            names_anyone,
            names_rater,
        })
    }

    /// Every project's membership as it concerns one rater.
    pub async fn memberships_of(
        &self,
        rater_id: i64,
    ) -> Result<std::collections::HashMap<i64, Membership>> {
        let sql = "SELECT p.id, p.member_pools,
                EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id),
                EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.rater_id = $1)
            FROM projects p";
        let rows: Vec<(i64, Json<Vec<String>>, bool, bool)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(rater_id).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, pools, names_anyone, names_rater)| {
                let membership = Membership {
                    pools: parse_pools(pools.0)?,
                    names_anyone,
                    names_rater,
                };
                Ok((id, membership))
            })
            .collect()
    }

    pub async fn members(&self, project_id: i64) -> Result<Members> {
        let pools_sql = "SELECT member_pools FROM projects WHERE id = $1";
        let raters_sql = "SELECT u.id AS rater_id, u.name, u.pool FROM project_members m
            JOIN users u ON u.id = m.rater_id WHERE m.project_id = $1 ORDER BY u.name";
        let (pools, raters): (Option<Json<Vec<String>>>, Vec<Member>) = on_pool!(self, pool => {
            let pools = sqlx::query_scalar(pools_sql).bind(project_id).fetch_optional(pool).await?;
            let raters = sqlx::query_as(raters_sql).bind(project_id).fetch_all(pool).await?;
            (pools, raters)
        });
        let pools = pools.ok_or_else(|| AppError::not_found("project"))?;
        Ok(Members {
            pools: parse_pools(pools.0)?,
            raters,
        })
    }

    /// Names a rater as a member; only raters with accounts made by an admin qualify.
    pub async fn add_member(&self, project_id: i64, rater_id: i64, entry: &Entry) -> Result<()> {
        let added = in_write_tx!(self, tx, _lock => {
            let rater: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM users WHERE id = $1 AND role = 'rater' AND scope_project_id IS NULL",
            )
            .bind(rater_id)
            .fetch_optional(&mut *tx)
            .await?;
            if rater.is_some() {
                sqlx::query("INSERT INTO project_members (project_id, rater_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(project_id)
                    .bind(rater_id)
                    .execute(&mut *tx)
                    .await?;
                let entry = entry.clone().project(project_id).target("user", rater_id);
                record_audit(&mut tx, &entry).await?;
            }
            rater.is_some()
        });
        if !added {
            return Err(AppError::not_found("rater"));
        }
        Ok(())
    }

    pub async fn remove_member(&self, project_id: i64, rater_id: i64, entry: &Entry) -> Result<()> {
        let removed = in_write_tx!(self, tx, _lock => {
            let removed = sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND rater_id = $2")
                .bind(project_id)
                .bind(rater_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if removed > 0 {
                let entry = entry.clone().project(project_id).target("user", rater_id);
                record_audit(&mut tx, &entry).await?;
            }
            removed
        });
        if removed == 0 {
            return Err(AppError::NotFound(
                "that rater is not a named member of this project".into(),
            ));
        }
        Ok(())
    }

    /// Admits whole pools (or none, with an empty list); the audit entry has the pools
    /// before and after.
    pub async fn set_member_pools(
        &self,
        project_id: i64,
        pools: &[Pool],
        entry: &Entry,
    ) -> Result<()> {
        let names: Vec<&str> = pools.iter().map(|p| p.as_str()).collect();
        in_write_tx!(self, tx, _lock => {
            let before: Option<Json<Vec<String>>> = sqlx::query_scalar("SELECT member_pools FROM projects WHERE id = $1")
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await?;
            let before = before.ok_or_else(|| AppError::not_found("project"))?;
            sqlx::query("UPDATE projects SET member_pools = $1 WHERE id = $2")
                .bind(Json(&names))
                .bind(project_id)
                .execute(&mut *tx)
                .await?;
            let entry = entry.clone().project(project_id).changes(
                &serde_json::json!({ "pools": before.0 }),
                &serde_json::json!({ "pools": names }),
            );
            record_audit(&mut tx, &entry).await?;
        });
        Ok(())
    }
}
