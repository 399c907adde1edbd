//! Group commit on SQLite: the hot writes (a rater's lease, a label) go to one writer thread,
//! which takes every write waiting when it starts, runs them in one transaction, commits
//! once and answers each.
//!
//! SQLite has one writer. When every request held it for a transaction of its own, each
//! statement was a hand-off between the async runtime and the connection's thread, and the
//! request holding the writer waited its turn on a busy runtime after every statement while
//! the others queued behind it. The writer thread talks to its connection directly, and a
//! batch pays for one `BEGIN` and one `COMMIT`.
//!
//! Durability is unchanged: a write is answered only after the commit that holds it. A
//! write that is refused (any error but an internal one) must have changed nothing, so the
//! others in its batch commit as if it had not run. A write that fails inside (an internal
//! error, a panic) may have changed something: the batch is rolled back, that write gets
//! its error, and the others run again one transaction each. Writes outside this path take
//! the same writer lock.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::error::{AppError, Result};

/// Writes taken into one transaction at most; the rest wait for the next.
const MAX_BATCH: usize = 128;

/// A write the writer thread runs inside its transaction. It owns what it needs (the
/// caller waits for its answer, but the writer cannot borrow from the caller), and it can
/// run again: after another write of its batch failed, it runs in a transaction of its own.
///
/// A write refused with any error but [`AppError::Internal`] must not have changed anything
/// (refuse before the first write, or in a statement that fails whole).
pub(crate) trait GroupWrite: Send + Sync + 'static {
    type Output: Send + 'static;

    fn run<'a, 'c>(
        &'a self,
        tx: &'a mut Transaction<'c, Sqlite>,
    ) -> BoxFuture<'a, Result<Self::Output>>;
}

/// How the transaction that held a write ended.
type Committed = std::result::Result<(), Arc<String>>;

/// A queued write with its type erased.
trait Queued: Send {
    /// Runs the write and keeps its result; false when it failed inside and may have
    /// changed something.
    fn run<'a, 'c>(&'a mut self, tx: &'a mut Transaction<'c, Sqlite>) -> BoxFuture<'a, bool>;

    /// Whether the kept result is a success.
    fn succeeded(&self) -> bool;

    /// Answers the caller, once the fate of the write's transaction is known.
    fn answer(self: Box<Self>, committed: Committed);
}

struct Pending<W: GroupWrite> {
    write: W,
    result: Option<Result<W::Output>>,
    reply: oneshot::Sender<Result<W::Output>>,
}

impl<W: GroupWrite> Queued for Pending<W> {
    fn run<'a, 'c>(&'a mut self, tx: &'a mut Transaction<'c, Sqlite>) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let out = match AssertUnwindSafe(self.write.run(tx)).catch_unwind().await {
                Ok(out) => out,
                Err(_) => Err(AppError::Internal(anyhow::anyhow!("the write panicked"))),
            };
            let clean = !matches!(out, Err(AppError::Internal(_)));
            self.result = Some(out);
            clean
        })
    }

    fn succeeded(&self) -> bool {
        matches!(self.result, Some(Ok(_)))
    }

    fn answer(self: Box<Self>, committed: Committed) {
        let out = match (self.result, committed) {
            // A refusal stands whatever became of the transaction.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Ok(_)), Err(e)) | (None, Err(e)) => Err(AppError::Internal(anyhow::anyhow!(
                "the write was not committed: {e}"
            ))),
            (None, Ok(())) => Err(AppError::Internal(anyhow::anyhow!("the write did not run"))),
        };
        // The caller may have gone (its client hung up); the write stands.
        let _ = self.reply.send(out);
    }
}

/// The handle requests send their writes through; the writer thread ends when the last
/// handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct GroupWriter {
    jobs: mpsc::UnboundedSender<Box<dyn Queued>>,
}

impl GroupWriter {
    /// Starts the writer thread, which opens its own connection to the database and takes
    /// `lock` (the backend's writer lock) for each batch.
    pub fn start(options: SqliteConnectOptions, lock: Arc<Mutex<()>>) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("tally-sqlite-writer".into())
            .spawn(move || runtime.block_on(write_batches(options, lock, queue)))?;
        Ok(GroupWriter { jobs })
    }

    /// Runs `write` in the next batch and returns its result once the batch is committed.
    pub async fn write<W: GroupWrite>(&self, write: W) -> Result<W::Output> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            write,
            result: None,
            reply,
        };
        self.jobs
            .send(Box::new(pending))
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the SQLite writer has stopped")))?;
        answer.await.map_err(|_| {
            AppError::Internal(anyhow::anyhow!("the SQLite writer dropped the write"))
        })?
    }
}

async fn write_batches(
    options: SqliteConnectOptions,
    lock: Arc<Mutex<()>>,
    mut queue: mpsc::UnboundedReceiver<Box<dyn Queued>>,
) {
    let mut connection: Option<SqliteConnection> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let _writer = lock.lock().await;
        let conn = match connection.as_mut() {
            Some(conn) => conn,
            None => match options.connect().await {
                Ok(conn) => connection.insert(conn),
                Err(e) => {
                    let e = Arc::new(format!("cannot open the database: {e}"));
                    tracing::error!(error = %e, "SQLite writer");
                    batch.drain(..).for_each(|job| job.answer(Err(e.clone())));
                    continue;
                }
            },
        };
        if let Err(e) = write_batch(conn, &mut batch).await {
            tracing::error!(error = %e, "SQLite writer: a batch was not written");
            // The next batch starts on a fresh connection.
            connection = None;
        }
    }
    if let Some(conn) = connection {
        let _ = conn.close().await;
    }
}

/// Writes and answers a batch: together in one transaction, or, when one of them failed
/// inside, that one answered with its error and the others one transaction each. Returns
/// the last transaction's error, if any.
async fn write_batch(conn: &mut SqliteConnection, batch: &mut Vec<Box<dyn Queued>>) -> Committed {
    match together(conn, batch).await {
        Together::Ran(committed) => {
            batch
                .drain(..)
                .for_each(|job| job.answer(committed.clone()));
            committed
        }
        Together::FailedInside(failed) => {
            let failed = batch.remove(failed);
            failed.answer(Ok(()));
            let mut last = Ok(());
            for mut job in batch.drain(..) {
                last = alone(conn, job.as_mut()).await;
                job.answer(last.clone());
            }
            last
        }
    }
}

enum Together {
    /// Every write ran; the transaction ended as given.
    Ran(Committed),
    /// The write at this place failed inside; the transaction was rolled back.
    FailedInside(usize),
}

async fn together(conn: &mut SqliteConnection, batch: &mut [Box<dyn Queued>]) -> Together {
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return Together::Ran(Err(Arc::new(format!("begin: {e}")))),
    };
    for (place, job) in batch.iter_mut().enumerate() {
        if !job.run(&mut tx).await {
            // Dropping the transaction rolls it back.
            return Together::FailedInside(place);
        }
    }
    Together::Ran(
        tx.commit()
            .await
            .map_err(|e| Arc::new(format!("commit: {e}"))),
    )
}

/// One write in a transaction of its own, committed when it succeeded.
async fn alone(conn: &mut SqliteConnection, job: &mut dyn Queued) -> Committed {
    let mut tx = conn
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| Arc::new(format!("begin: {e}")))?;
    job.run(&mut tx).await;
    if job.succeeded() {
        tx.commit()
            .await
            .map_err(|e| Arc::new(format!("commit: {e}")))
    } else {
        tx.rollback()
            .await
            .map_err(|e| Arc::new(format!("rollback: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// Inserts its number into `t`, then does what `then` says.
    struct Insert {
        n: i64,
        then: Then,
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Then {
        Succeed,
        /// Refused before writing anything.
        Refuse,
        /// Fails inside, after its insert.
        Fail,
        Panic,
    }

    impl GroupWrite for Insert {
        type Output = i64;

        fn run<'a, 'c>(
            &'a self,
            tx: &'a mut Transaction<'c, Sqlite>,
        ) -> BoxFuture<'a, Result<i64>> {
            Box::pin(async move {
                if self.then == Then::Refuse {
                    return Err(AppError::Conflict(format!("{} refused", self.n)));
                }
                sqlx::query("INSERT INTO t (n) VALUES ($1)")
                    .bind(self.n)
                    .execute(&mut **tx)
                    .await?;
                match self.then {
                    Then::Fail => Err(AppError::Internal(anyhow::anyhow!("{} failed", self.n))),
                    Then::Panic => panic!("write {} panics", self.n),
                    _ => Ok(self.n),
                }
            })
        }
    }

    async fn database() -> (tempfile::TempDir, SqliteConnectOptions) {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            dir.path().join("t.db").display()
        ))
        .expect("options")
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let mut conn = options.connect().await.expect("connect");
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
            .execute(&mut conn)
            .await
            .expect("table");
        conn.close().await.expect("close");
        (dir, options)
    }

    async fn stored(options: &SqliteConnectOptions) -> Vec<i64> {
        let mut conn = options.connect().await.expect("connect");
        sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(&mut conn)
            .await
            .expect("read")
    }

    /// Sends the writes while the writer lock is held, so they queue and run as one batch
    /// (or a few), then returns each answer in order.
    async fn write_all(options: &SqliteConnectOptions, writes: Vec<Insert>) -> Vec<Result<i64>> {
        let lock = Arc::new(Mutex::new(()));
        let writer = GroupWriter::start(options.clone(), lock.clone()).expect("writer");
        let held = lock.lock().await;
        let answers: Vec<_> = writes
            .into_iter()
            .map(|write| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.write(write).await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(held);
        let mut out = Vec::new();
        for answer in answers {
            out.push(answer.await.expect("task"));
        }
        out
    }

    fn writes(plan: &[Then]) -> Vec<Insert> {
        plan.iter()
            .enumerate()
            .map(|(n, &then)| Insert { n: n as i64, then })
            .collect()
    }

    #[tokio::test]
    async fn a_refused_write_leaves_the_others_of_its_batch_committed() {
        let (_dir, options) = database().await;
        let plan = [
            Then::Succeed,
            Then::Refuse,
            Then::Succeed,
            Then::Refuse,
            Then::Succeed,
        ];
        let answers = write_all(&options, writes(&plan)).await;
        assert!(matches!(answers[1], Err(AppError::Conflict(_))));
        assert!(matches!(answers[3], Err(AppError::Conflict(_))));
        for n in [0, 2, 4] {
            assert_eq!(answers[n].as_ref().ok(), Some(&(n as i64)), "write {n}");
        }
        assert_eq!(stored(&options).await, vec![0, 2, 4]);
    }

    #[tokio::test]
    async fn a_write_failing_inside_is_undone_and_the_others_still_commit() {
        let (_dir, options) = database().await;
        let plan = [
            Then::Succeed,
            Then::Succeed,
            Then::Fail,
            Then::Refuse,
            Then::Succeed,
        ];
        let answers = write_all(&options, writes(&plan)).await;
        assert!(
            matches!(answers[2], Err(AppError::Internal(_))),
            "the failed write says so"
        );
        assert!(matches!(answers[3], Err(AppError::Conflict(_))));
        for n in [0, 1, 4] {
            assert_eq!(answers[n].as_ref().ok(), Some(&(n as i64)), "write {n}");
        }
        // The failed write's insert is gone; every acknowledged write is stored, once.
        assert_eq!(stored(&options).await, vec![0, 1, 4]);
    }

    #[tokio::test]
    async fn a_panicking_write_is_answered_with_an_error_and_the_writer_goes_on() {
        let (_dir, options) = database().await;
        let plan = [Then::Succeed, Then::Panic, Then::Succeed];
        let answers = write_all(&options, writes(&plan)).await;
        assert!(matches!(answers[1], Err(AppError::Internal(_))));
        assert_eq!(answers[0].as_ref().ok(), Some(&0));
        assert_eq!(answers[2].as_ref().ok(), Some(&2));
        assert_eq!(stored(&options).await, vec![0, 2]);
    }

    #[tokio::test]
    async fn many_concurrent_writes_are_each_stored_once() {
        let (_dir, options) = database().await;
        let plan: Vec<Then> = (0..300)
            .map(|n| {
                if n % 7 == 3 {
                    Then::Refuse
                } else {
                    Then::Succeed
                }
            })
            .collect();
        let answers = write_all(&options, writes(&plan)).await;
        let acknowledged: Vec<i64> = answers
            .iter()
            .filter_map(|a| a.as_ref().ok().copied())
            .collect();
        assert_eq!(acknowledged.len(), 300 - 43);
        assert_eq!(stored(&options).await, acknowledged);
    }
}
