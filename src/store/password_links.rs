//! Adding people (with a password, or invited by a one-time link) and the one-time links
//! that set a password: an invitation or a reset. Only a link token's SHA-256 is stored;
//! a link works once, for seven days.

use sqlx::types::Json;
use tracing::instrument;

use super::audit::record_audit;
use super::people::end_sessions;
use super::users::{UserRow, USER_COLUMNS};
use super::{in_write_tx, on_pool, Store};
use crate::domain::audit::Entry;
use crate::domain::now_ms;
use crate::domain::people::{check_link, LinkPurpose, LinkRefusal, LINK_LIFETIME_MS};
use crate::domain::policy::Pool;
use crate::domain::user::{Role, User};
use crate::error::{is_unique_violation, AppError, Result};

/// A person an admin adds: checked name, role, pool and expertise.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub name: String,
    pub role: Role,
    pub pool: Pool,
    pub expertise: Vec<String>,
}

impl NewPerson {
    /// What the audit entry records: never the name, which an erasure must be able to
    /// remove (the entry's target names the account).
    fn audit_details(&self) -> serde_json::Value {
        serde_json::json!({
            "role": self.role.as_str(),
            "pool": self.pool.as_str(),
            "expertise": self.expertise,
        })
    }
}

/// A one-time link as its holder sees it before using it.
#[derive(Debug, Clone)]
pub struct LinkView {
    pub name: String,
    pub purpose: LinkPurpose,
    pub expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: i64,
    user_id: i64,
    name: String,
    purpose: String,
    expires_at: i64,
    used_at: Option<i64>,
    closed: bool,
}

const LINK_SQL: &str = "SELECT k.id, k.user_id, u.name, k.purpose, k.expires_at, k.used_at,
        (u.deactivated_at IS NOT NULL OR u.erased_at IS NOT NULL) AS closed
    FROM password_links k JOIN users u ON u.id = k.user_id WHERE k.token_hash = $1";

impl LinkRow {
    fn check(&self, now: i64) -> std::result::Result<LinkPurpose, LinkRefusal> {
        let purpose = LinkPurpose::parse(&self.purpose).ok_or(LinkRefusal::Unknown)?;
        check_link(self.used_at, self.expires_at, !self.closed, now)?;
        Ok(purpose)
    }
}

fn taken(name: &str) -> AppError {
    AppError::Conflict(format!("a user named {name:?} already exists"))
}

/// Inserts a user inside a write transaction; a taken name is a conflict.
macro_rules! insert_user {
    ($tx:ident, $person:expr, $password_hash:expr) => {{
        let sql = format!(
            "INSERT INTO users (name, role, pool, expertise, password_hash, pseudonym, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLUMNS}"
        );
        let inserted = sqlx::query_as::<_, UserRow>(&sql)
            .bind(&$person.name)
            .bind($person.role.as_str())
            .bind($person.pool.as_str())
            .bind(Json(&$person.expertise))
            .bind($password_hash)
            .bind(crate::auth::new_pseudonym())
            .bind(now_ms())
            .fetch_one(&mut *$tx)
            .await;
        match inserted {
            Ok(row) => row.into_user()?,
            Err(e) if is_unique_violation(&e) => return Err(taken(&$person.name)),
            Err(e) => return Err(e.into()),
        }
    }};
}

/// Stores a new link for a user inside a write transaction; returns its expiry.
macro_rules! insert_link {
    ($tx:ident, $user_id:expr, $purpose:expr, $token_hash:expr, $created_by:expr) => {{
        let now = now_ms();
        let expires_at = now + LINK_LIFETIME_MS;
        sqlx::query(
            "INSERT INTO password_links (user_id, purpose, token_hash, created_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($user_id)
        .bind($purpose.as_str())
        .bind($token_hash)
        .bind($created_by)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *$tx)
        .await?;
        expires_at
    }};
}

impl Store {
    /// Adds a person with a password (or none, for accounts that only use API tokens),
    /// with the audit entry in the same transaction.
    #[instrument(skip_all, fields(role = %person.role))]
    pub async fn add_person(
        &self,
        person: &NewPerson,
        password_hash: Option<&str>,
        entry: &Entry,
    ) -> Result<User> {
        Ok(in_write_tx!(self, tx, _lock => {
            let user = insert_user!(tx, person, password_hash);
            let entry = entry.clone().target("user", user.id).details(person.audit_details());
            record_audit(&mut tx, &entry).await?;
            user
        }))
    }

    /// Adds a person without a password and an invitation link for them to set one.
    /// `token_hash` is the SHA-256 of the link's token; returns the user and the expiry.
    #[instrument(skip_all, fields(role = %person.role))]
    pub async fn invite_person(
        &self,
        person: &NewPerson,
        token_hash: &str,
        entry: &Entry,
    ) -> Result<(User, i64)> {
        Ok(in_write_tx!(self, tx, _lock => {
            let user = insert_user!(tx, person, None::<&str>);
            let expires_at = insert_link!(tx, user.id, LinkPurpose::Invite, token_hash, entry.actor_id);
            let entry = entry.clone().target("user", user.id).details(person.audit_details());
            record_audit(&mut tx, &entry).await?;
            (user, expires_at)
        }))
    }

    /// A password reset link for an open account; earlier unused links of that person
    /// stop working, so only the newest one does. Returns the expiry.
    pub async fn reset_link(&self, user_id: i64, token_hash: &str, entry: &Entry) -> Result<i64> {
        Ok(in_write_tx!(self, tx, _lock => {
            let state: Option<(bool,)> = sqlx::query_as(
                "SELECT (deactivated_at IS NOT NULL OR erased_at IS NOT NULL) FROM users
                 WHERE id = $1 AND scope_project_id IS NULL",
            )
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            match state {
                None => return Err(AppError::not_found("user")),
                Some((true,)) => {
                    return Err(AppError::Conflict(
                        "this account is deactivated; reactivate it before resetting its password".into(),
                    ))
                }
                Some((false,)) => {}
            }
            sqlx::query("DELETE FROM password_links WHERE user_id = $1 AND used_at IS NULL")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            let expires_at = insert_link!(tx, user_id, LinkPurpose::Reset, token_hash, entry.actor_id);
            record_audit(&mut tx, &entry.clone().target("user", user_id)).await?;
            expires_at
        }))
    }

    /// The link a token names, if it may still be used; otherwise why not.
    pub async fn password_link(
        &self,
        token_hash: &str,
    ) -> Result<std::result::Result<LinkView, LinkRefusal>> {
        let row: Option<LinkRow> = on_pool!(self, pool => {
            sqlx::query_as(LINK_SQL).bind(token_hash).fetch_optional(pool).await?
        });
        let Some(row) = row else {
            return Ok(Err(LinkRefusal::Unknown));
        };
        Ok(row.check(now_ms()).map(|purpose| LinkView {
            purpose,
            expires_at: row.expires_at,
            name: row.name,
        }))
    }

    /// Uses a link: sets the password (the old one stops working), marks the link used and
    /// ends every session of the person. Returns the person's name, or why the link is
    /// refused.
    #[instrument(skip_all)]
    pub async fn use_password_link(
        &self,
        token_hash: &str,
        password_hash: &str,
    ) -> Result<std::result::Result<String, LinkRefusal>> {
        Ok(in_write_tx!(self, tx, lock => {
            let sql = format!("{LINK_SQL}{}", if lock.is_empty() { "" } else { " FOR UPDATE OF k" });
            let row: Option<LinkRow> = sqlx::query_as(&sql)
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
            match row.ok_or(LinkRefusal::Unknown).and_then(|row| row.check(now_ms()).map(|_| row)) {
                Err(refusal) => Err(refusal),
                Ok(row) => {
                    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                        .bind(password_hash)
                        .bind(row.user_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE password_links SET used_at = $1 WHERE id = $2")
                        .bind(now_ms())
                        .bind(row.id)
                        .execute(&mut *tx)
                        .await?;
                    end_sessions(&mut tx, row.user_id).await?;
                    Ok(row.name)
                }
            }
        }))
    }
}
