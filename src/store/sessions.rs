//! Browser sessions kept in tally's own database, so several tally processes share them.
//! Only the SHA-256 of a session id is stored: a copy of the database signs nobody in.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::{in_write_tx, on_pool, Store};
use crate::domain::now_ms;

/// The tower-sessions store over tally's `Store`.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    store: Store,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        DbSessionStore { store }
    }
}

fn backend_error(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn expiry_ms(record: &Record) -> i64 {
    (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The database key of a session id.
fn key(id: &Id) -> String {
    crate::auth::hash_token(&id.to_string())
}

/// What is stored of a session: its data, never its id.
type StoredData = std::collections::HashMap<String, serde_json::Value>;

/// Whose session this is, kept beside the data so that a person's sessions can be ended
/// (a deactivation, an erasure, a new password).
fn owner(record: &Record) -> Option<i64> {
    record
        .data
        .get(crate::web::extract::USER_KEY)
        .and_then(serde_json::Value::as_i64)
}

fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

impl Store {
    async fn insert_session(
        &self,
        id: &str,
        data: &str,
        expires_at: i64,
        user_id: Option<i64>,
    ) -> crate::error::Result<bool> {
        let inserted = in_write_tx!(self, tx, _lock => {
            sqlx::query(
                "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(data)
            .bind(expires_at)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    async fn upsert_session(
        &self,
        id: &str,
        data: &str,
        expires_at: i64,
        user_id: Option<i64>,
    ) -> crate::error::Result<()> {
        in_write_tx!(self, tx, _lock => {
            sqlx::query(
                "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at,
                     user_id = excluded.user_id",
            )
            .bind(id)
            .bind(data)
            .bind(expires_at)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    async fn load_session(&self, id: &str) -> crate::error::Result<Option<(String, i64)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(id)
                .bind(now_ms())
                .fetch_optional(pool)
                .await?
        }))
    }

    async fn delete_session(&self, id: &str) -> crate::error::Result<()> {
        in_write_tx!(self, tx, _lock => {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Removes sessions past their expiry; run now and then by the server.
    pub async fn delete_expired_sessions(&self) -> crate::error::Result<u64> {
        Ok(in_write_tx!(self, tx, _lock => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now_ms())
                .execute(&mut *tx)
                .await?
                .rows_affected()
        }))
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits; on the rare collision draw a new one.
        loop {
            let data = encode(record)?;
            let expires_at = expiry_ms(record);
            if self
                .store
                .insert_session(&key(&record.id), &data, expires_at, owner(record))
                .await
                .map_err(backend_error)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store
            .upsert_session(
                &key(&record.id),
                &encode(record)?,
                expiry_ms(record),
                owner(record),
            )
            .await
            .map_err(backend_error)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(found) = self
            .store
            .load_session(&key(id))
            .await
            .map_err(backend_error)?
        else {
            return Ok(None);
        };
        let (data, expires_at) = found;
        let data: StoredData =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_at) * 1_000_000)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store
            .delete_session(&key(id))
            .await
            .map_err(backend_error)
    }
}
