//! Bulk reads of SQLite on a blocking thread, through a read-only connection of their own.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every row over to the
//! async runtime. On a read of hundreds of thousands of rows (a report's labels) those
//! hand-offs took most of the time. A read here runs in one transaction, so it sees one
//! state of the database, and never holds up the writer (the database is in WAL mode).

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{AppError, Result};

/// As long as the pool's connections wait for a lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of the database file a read maps into memory: a new connection's page cache
/// is empty, so without a map each page a bulk read meets is copied out of the kernel's
/// cache by a system call of its own. Address space only; the pages are the kernel's.
const MMAP_SIZE: i64 = 1 << 30;

/// Runs `read` on a blocking thread, in one read transaction on a new read-only
/// connection to the database file of `pool`.
pub(super) async fn read<T, F>(pool: &sqlx::SqlitePool, read: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
{
    let path: PathBuf = pool.connect_options().get_filename().to_owned();
    tokio::task::spawn_blocking(move || {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
        conn.execute_batch("BEGIN")?;
        let value = read(&conn)?;
        conn.execute_batch("COMMIT")?;
        Ok(value)
    })
    .await?
    .map_err(|e: rusqlite::Error| AppError::from(e))
}

/// A column's text, borrowed from the row, with the column named when it is not text.
pub(super) fn text_column<'r>(
    row: &'r rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<&'r str> {
    row.get_ref(index)?.as_str().map_err(|e| not_text(index, e))
}

/// A column's text read as JSON into `T`, with the column named when it is not.
pub(super) fn json_column<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<T>> {
    let Some(text) = row.get_ref(index)?.as_str_or_null()? else {
        return Ok(None);
    };
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| not_text(index, e))
}

/// The error of column `index`, whose text could not be read as it should.
fn not_text(index: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
}
