//! SQLite's WAL checkpoints, run on a thread of their own.
//!
//! Left to itself, SQLite checkpoints in the connection whose commit takes the log past
//! 1,000 pages: that is the writer thread, which then copies the pages into the database
//! and waits for the disk while every write queued behind it waits too. Here a thread
//! checkpoints every [`CHECKPOINT_EVERY`] without holding up the writer (a passive
//! checkpoint copies what no reader still needs and lets writes go on meanwhile). The
//! connections keep their own checkpoints only as a backstop, at [`BACKSTOP_PAGES`], for a
//! log this thread cannot keep up with.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the thread checkpoints. The log only starts again from its beginning after
/// a checkpoint that finds nothing left to copy, which under steady writes is the writer's
/// own at the backstop: it then copies and syncs whatever came since this thread's last
/// checkpoint, while every write waits. Every 200 ms, that stall took 17 to 35 ms once
/// every 0.7 s at 64 raters; every 50 ms, 8 to 22 ms.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// The log's length, in pages, at which a committing connection checkpoints by itself.
pub(super) const BACKSTOP_PAGES: u32 = 10_000;

/// As long as the other connections wait for a lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The handle of the checkpoint thread, which ends when the handle is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database file at `path`.
    pub fn start(path: PathBuf) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("tally-sqlite-checkpoint".into())
            .spawn(move || {
                let mut conn = None;
                // Nothing is ever sent: the wait ends with a timeout, or when the handle
                // is dropped.
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if let Err(e) = checkpoint(&mut conn, &path) {
                        tracing::warn!(error = %e, "SQLite checkpoint failed; trying again");
                        conn = None;
                    }
                }
            })?;
        Ok(Checkpointer { _stop: stop })
    }
}

/// One passive checkpoint, on the thread's connection (opened if there is none).
fn checkpoint(conn: &mut Option<Connection>, path: &Path) -> rusqlite::Result<()> {
    let conn = match conn {
        Some(conn) => conn,
        None => {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let opened = Connection::open_with_flags(path, flags)?;
            opened.busy_timeout(BUSY_TIMEOUT)?;
            conn.insert(opened)
        }
    };
    // The answer (whether it was blocked, the log's frames and those copied) only says how
    // far it got; what it did not copy is copied next time.
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_file_len(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    /// Writes that a connection left in the log (its own checkpoints held back to the
    /// backstop) reach the database file through the thread, without another commit.
    #[test]
    fn the_thread_copies_the_log_into_the_database() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .expect("wal");
        conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)
            .expect("backstop");
        conn.execute_batch(
            "CREATE TABLE t (n INTEGER NOT NULL, pad TEXT NOT NULL);
             WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2000)
             INSERT INTO t SELECT n, printf('%0100d', n) FROM s;",
        )
        .expect("rows");
        let before = main_file_len(&path);
        let wal = dir.path().join("c.db-wal");
        assert!(main_file_len(&wal) > 100_000, "the rows are in the log");

        let checkpoints = Checkpointer::start(path.clone()).expect("start");
        let waited = std::time::Instant::now();
        while main_file_len(&path) <= before && waited.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(checkpoints);
        assert!(
            main_file_len(&path) > before + 100_000,
            "the database file holds the rows: {} bytes, {before} before",
            main_file_len(&path)
        );
        let copied: (i64, i64, i64) = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .expect("checkpoint");
        assert_eq!(copied.1, copied.2, "nothing was left to copy: {copied:?}");
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 2000);
    }
}
