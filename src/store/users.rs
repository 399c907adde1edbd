//! Users and API tokens.

use sqlx::types::Json;
use sqlx::FromRow;
use tracing::instrument;

use super::audit::record_audit;
use super::{in_write_tx, on_pool, Store};
use crate::domain::audit::Entry;
use crate::domain::now_ms;
use crate::domain::policy::Pool;
use crate::domain::user::{Role, User};
use crate::error::{is_unique_violation, AppError, Result};

#[derive(FromRow)]
pub(super) struct UserRow {
    id: i64,
    name: String,
    role: String,
    pool: String,
    expertise: Json<Vec<String>>,
    pseudonym: String,
    scope_project_id: Option<i64>,
}

impl UserRow {
    pub(super) fn into_user(self) -> Result<User> {
        let role: Role = self
            .role
            .parse()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored user {}: {e}", self.id)))?;
        let pool = Pool::parse(&self.pool)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored user {}: {e}", self.id)))?;
        Ok(User {
            id: self.id,
            name: self.name,
            role,
            pool,
            expertise: self.expertise.0,
            pseudonym: self.pseudonym,
            scope_project: self.scope_project_id,
        })
    }
}

/// A token or key as its owner sees it later: when it was made, never its secret.
#[derive(Debug, Clone, serde::Serialize, FromRow, utoipa::ToSchema)]
pub struct Credential {
    pub id: i64,
    pub created_at: i64,
}

/// A user with the hash to check a password against.
pub struct Credentials {
    pub user: User,
    pub password_hash: Option<String>,
}

pub(super) const USER_COLUMNS: &str =
    "id, name, role, pool, expertise, pseudonym, scope_project_id";

/// The account name of a link identity. Names hold at most 100 characters, so a long
/// product user id is named by its SHA-256 instead (stable, so the user keeps the identity).
fn link_user_name(project_id: i64, identity: &str) -> String {
    let name = format!("link:{project_id}:{identity}");
    if name.chars().count() <= 100 {
        return name;
    }
    let digest = crate::auth::hash_token(identity);
    format!("link:{project_id}:h:{}", &digest[..40])
}

impl Store {
    /// Creates a user; a taken name is a conflict.
    #[instrument(skip_all, fields(name = %name, role = %role))]
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        password_hash: Option<&str>,
    ) -> Result<User> {
        self.create_user_in_pool(name, role, Pool::Generalist, &[], password_hash)
            .await
    }

    /// Creates a user in a rater pool, with expertise tags (for experts).
    pub async fn create_user_in_pool(
        &self,
        name: &str,
        role: Role,
        rater_pool: Pool,
        expertise: &[String],
        password_hash: Option<&str>,
    ) -> Result<User> {
        let pseudonym = crate::auth::new_pseudonym();
        let sql = format!(
            "INSERT INTO users (name, role, pool, expertise, password_hash, pseudonym, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLUMNS}"
        );
        let result = on_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(&sql)
            .bind(name)
            .bind(role.as_str())
            .bind(rater_pool.as_str())
            .bind(Json(expertise))
            .bind(password_hash)
            .bind(&pseudonym)
            .bind(now_ms())
            .fetch_one(pool)
            .await
        });
        match result {
            Ok(row) => row.into_user(),
            Err(e) if is_unique_violation(&e) => Err(AppError::Conflict(format!(
                "a user named {name:?} already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(UserRow::into_user).transpose()
    }

    /// The user a session names, unless the account was deactivated since: a session of a
    /// deactivated person signs nobody in, even before it is removed.
    pub async fn signed_in_user(&self, id: i64) -> Result<Option<User>> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND deactivated_at IS NULL");
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(UserRow::into_user).transpose()
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(&sql).bind(name).fetch_optional(pool).await?
        });
        row.map(UserRow::into_user).transpose()
    }

    pub async fn credentials(&self, name: &str) -> Result<Option<Credentials>> {
        let Some(user) = self.user_by_name(name).await? else {
            return Ok(None);
        };
        // A deactivated (or erased) account has no password to match: it cannot sign in.
        let password_hash: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT CASE WHEN deactivated_at IS NULL THEN password_hash END FROM users WHERE id = $1",
            )
                .bind(user.id)
                .fetch_one(pool)
                .await?
        });
        Ok(Some(Credentials {
            user,
            password_hash,
        }))
    }

    pub async fn set_password_hash(&self, user_id: i64, hash: &str) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(user_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Stores the hash of a new API token for a user; returns the token's id.
    pub async fn insert_token(&self, user_id: i64, token_hash: &str) -> Result<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(user_id)
                .bind(token_hash)
                .bind(now_ms())
                .fetch_one(pool)
                .await?
        }))
    }

    /// A user's API tokens (never the tokens themselves: only their hashes are kept).
    pub async fn tokens_of(&self, user_id: i64) -> Result<Vec<Credential>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT id, created_at FROM api_tokens WHERE user_id = $1 ORDER BY id")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Issues a token (given by its hash) for a user, with its audit entry; returns the
    /// token's id.
    pub async fn issue_token(&self, user_id: i64, token_hash: &str, entry: &Entry) -> Result<i64> {
        Ok(in_write_tx!(self, tx, _lock => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(user_id)
            .bind(token_hash)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await?;
            let entry = entry
                .clone()
                .target("token", id)
                .details(serde_json::json!({ "user_id": user_id }));
            record_audit(&mut tx, &entry).await?;
            id
        }))
    }

    /// Revokes every token of a user, as one audited action; returns how many there were.
    pub async fn revoke_tokens_of(&self, user_id: i64, entry: &Entry) -> Result<u64> {
        Ok(in_write_tx!(self, tx, _lock => {
            let revoked = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let entry = entry
                .clone()
                .target("user", user_id)
                .details(serde_json::json!({ "tokens": revoked }));
            record_audit(&mut tx, &entry).await?;
            revoked
        }))
    }

    /// Revokes one of a user's tokens; false (and nothing recorded) when the user has no
    /// such token.
    pub async fn delete_token(&self, user_id: i64, token_id: i64, entry: &Entry) -> Result<bool> {
        Ok(in_write_tx!(self, tx, _lock => {
            let deleted = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
                .bind(token_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 1 {
                let entry = entry
                    .clone()
                    .target("token", token_id)
                    .details(serde_json::json!({ "user_id": user_id }));
                record_audit(&mut tx, &entry).await?;
            }
            deleted == 1
        }))
    }

    /// Finds the user an API token (given by its hash) belongs to.
    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>> {
        let sql =
            "SELECT u.id, u.name, u.role, u.pool, u.expertise, u.pseudonym, u.scope_project_id
                   FROM api_tokens t JOIN users u ON u.id = t.user_id
                   WHERE t.token_hash = $1 AND u.deactivated_at IS NULL";
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(sql).bind(token_hash).fetch_optional(pool).await?
        });
        row.map(UserRow::into_user).transpose()
    }

    /// The account of one of the product's users, arriving by a project's link: made on
    /// first arrival, found again after. `identity` is `app:UID` or `anon:RANDOM`.
    pub async fn link_user(&self, project_id: i64, identity: &str) -> Result<User> {
        let name = link_user_name(project_id, identity);
        if let Some(user) = self.user_by_name(&name).await? {
            return Ok(user);
        }
        let insert = "INSERT INTO users (name, role, pool, expertise, pseudonym, created_at, scope_project_id)
                      VALUES ($1, 'rater', 'user', '[]', $2, $3, $4) ON CONFLICT (name) DO NOTHING";
        on_pool!(self, pool => {
            sqlx::query(insert)
                .bind(&name)
                .bind(crate::auth::new_pseudonym())
                .bind(now_ms())
                .bind(project_id)
                .execute(pool)
                .await?;
        });
        self.user_by_name(&name)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("link user {name} vanished")))
    }

    /// Marks a single-use link's nonce as used; false when it was used before.
    pub async fn consume_link_nonce(
        &self,
        project_id: i64,
        nonce: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let fresh = in_write_tx!(self, tx, _lock => {
            sqlx::query("DELETE FROM link_nonces WHERE expires_at < $1")
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO link_nonces (project_id, nonce, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (project_id, nonce) DO NOTHING",
            )
            .bind(project_id)
            .bind(nonce)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(fresh == 1)
    }

    /// Everyone with an account made by an admin (link users are counted, not listed).
    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE scope_project_id IS NULL ORDER BY role, name"
        );
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, UserRow>(&sql).fetch_all(pool).await?
        });
        rows.into_iter().map(UserRow::into_user).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_link_identities_get_names_that_fit() {
        let long = format!("app:{}", "u".repeat(200));
        let name = super::link_user_name(7, &long);
        assert!(name.chars().count() <= 100, "{name}");
        assert_eq!(name, super::link_user_name(7, &long), "stable");
        assert_ne!(name, super::link_user_name(7, &format!("{long}x")));
        assert_eq!(super::link_user_name(7, "app:u1"), "link:7:app:u1");
    }
}
