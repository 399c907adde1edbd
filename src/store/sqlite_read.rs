//! Bulk reads of SQLite on a blocking thread, through a read-only connection of their own.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every row over to the
//! async runtime. On a read of hundreds of thousands of rows (a report's labels) those
//! hand-offs took most of the time. A read here runs in one transaction, so it sees one
//! state of the database, and never holds up the writer (the database is in WAL mode).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{AppError, Result};

/// As long as the pool's connections wait for a lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of the database file a mapped read maps into memory.
const MMAP_SIZE: i64 = 1 << 30;

/// Whether a read maps the database file into memory. A connection's page cache holds a
/// few megabytes, so without a map each page a read of every label meets is copied out of
/// the kernel's cache by a system call of its own. The mapped pages are the kernel's page
/// cache, but they count in the process's resident memory while the read runs: a small
/// read, or one beside an export (whose memory is held to 100 MB), does not map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mapping {
    File,
    None,
}

/// How many read-only connections wait between reads: one a core, for the report's two
/// halves.
const IDLE_READERS: usize = 2;

/// Read-only connections kept between reads. A new connection reads the whole schema
/// before its first statement: with a connection a read, that was a tenth of an export's
/// CPU (a read a page of 500 items).
#[derive(Clone, Default)]
pub(super) struct Readers {
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").finish_non_exhaustive()
    }
}

impl Readers {
    fn take(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    /// Keeps `conn` for a later read, or closes it when enough wait.
    fn put_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
        }
    }

    /// How many connections wait; for tests.
    #[cfg(test)]
    fn idle(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }
}

/// Runs `read` on a blocking thread, in one read transaction on a read-only connection to
/// the database file of `pool`, one that `readers` kept or a new one.
pub(super) async fn read<T, F>(
    (pool, readers): (&sqlx::SqlitePool, &Readers),
    mapping: Mapping,
    read: F,
) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
{
    let path: PathBuf = pool.connect_options().get_filename().to_owned();
    let readers = readers.clone();
    tokio::task::spawn_blocking(move || {
        let conn = match readers.take() {
            Some(conn) => conn,
            None => open(&path)?,
        };
        if mapping == Mapping::File {
            conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
        }
        conn.execute_batch("BEGIN")?;
        // On an error the connection is dropped, and its transaction with it.
        let value = read(&conn)?;
        conn.execute_batch("COMMIT")?;
        // A waiting connection keeps no map: its pages would stay in the resident set.
        if mapping == Mapping::File {
            conn.pragma_update(None, "mmap_size", 0)?;
        }
        readers.put_back(conn);
        Ok(value)
    })
    .await?
    .map_err(|e: rusqlite::Error| AppError::from(e))
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
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

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    use super::*;

    async fn database() -> (tempfile::TempDir, sqlx::SqlitePool) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .expect("options")
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .expect("pool");
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .expect("table");
        (dir, pool)
    }

    async fn insert(pool: &sqlx::SqlitePool, n: i64) {
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(n)
            .execute(pool)
            .await
            .expect("insert");
    }

    fn numbers(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
        conn.prepare("SELECT n FROM t ORDER BY n")?
            .query_map([], |row| row.get(0))?
            .collect()
    }

    #[tokio::test]
    async fn a_kept_connection_reads_what_was_committed_after_its_last_read() {
        let (_dir, pool) = database().await;
        let readers = Readers::default();
        insert(&pool, 1).await;
        let first = read((&pool, &readers), Mapping::File, numbers).await;
        assert_eq!(first.expect("first read"), vec![1]);
        assert_eq!(readers.idle(), 1, "the connection waits for the next read");
        insert(&pool, 2).await;
        let second = read((&pool, &readers), Mapping::None, numbers).await;
        assert_eq!(second.expect("second read"), vec![1, 2]);
        assert_eq!(readers.idle(), 1, "the same connection served both");
    }

    #[tokio::test]
    async fn a_waiting_connection_keeps_no_map_of_the_file() {
        let (_dir, pool) = database().await;
        let readers = Readers::default();
        let mapped = read((&pool, &readers), Mapping::File, |conn| {
            conn.pragma_query_value(None, "mmap_size", |row| row.get::<_, i64>(0))
        })
        .await;
        assert_eq!(mapped.expect("mapped read"), MMAP_SIZE);
        let conn = readers.take().expect("a waiting connection");
        let size: i64 = conn
            .pragma_query_value(None, "mmap_size", |row| row.get(0))
            .expect("mmap_size");
        assert_eq!(size, 0);
    }

    #[tokio::test]
    async fn a_failed_read_closes_its_connection_and_the_next_one_reads() {
        let (_dir, pool) = database().await;
        let readers = Readers::default();
        insert(&pool, 7).await;
        let failed = read((&pool, &readers), Mapping::None, |conn| {
            conn.execute_batch("SELECT * FROM no_such_table")
        })
        .await;
        assert!(failed.is_err());
        assert_eq!(readers.idle(), 0, "a failed read's connection is not kept");
        let next = read((&pool, &readers), Mapping::None, numbers).await;
        assert_eq!(next.expect("next read"), vec![7]);
    }

    #[tokio::test]
    async fn no_more_connections_wait_than_there_are_cores_to_read_on() {
        let (_dir, pool) = database().await;
        let readers = Readers::default();
        let reads = (0..5).map(|_| {
            let (pool, readers) = (pool.clone(), readers.clone());
            tokio::spawn(async move {
                read((&pool, &readers), Mapping::None, |conn| {
                    // Long enough for the five to overlap.
                    std::thread::sleep(Duration::from_millis(50));
                    numbers(conn)
                })
                .await
            })
        });
        for handle in reads.collect::<Vec<_>>() {
            handle.await.expect("task").expect("read");
        }
        assert_eq!(readers.idle(), IDLE_READERS);
    }
}
