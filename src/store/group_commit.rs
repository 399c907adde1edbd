//! Group commit on SQLite: the hot writes (a rater's lease, a label) go to one writer thread,
//! which takes every write waiting when it starts, runs them in one transaction, commits
//! once and answers each.
//!
//! SQLite has one writer. When every request held it for a transaction of its own, each
//! statement was a hand-off between the async runtime and the connection's thread, and the
//! request holding the writer waited its turn on a busy runtime after every statement while
//! the others queued behind it. A batch pays for one `BEGIN` and one `COMMIT`.
//!
//! The writer thread has a connection of its own (`rusqlite`) that it calls directly: a
//! write's common case (a lease, a plain label) runs there, without a hand-off to another
//! thread for each statement. A write that needs more (a gold or qualification answer, an
//! item that may ask for more labels, a project with webhooks) says so before it changes
//! anything, and runs on the general path through sqlx, in a transaction of its own after
//! the fast writes before it are committed.
//!
//! Durability is unchanged: a write is answered only after the commit that holds it. A
//! write that is refused (any error but an internal one) must have changed nothing, so the
//! others in its batch commit as if it had not run. A write that fails inside (an internal
//! error, a panic) may have changed something: the batch is rolled back, that write gets
//! its error, and the others run again one transaction each. Writes outside this path take
//! the same writer lock.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use rusqlite::types::ToSql;
use rusqlite::OpenFlags;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::monitoring::GroupCommitCounts;
use super::sqlite_checkpoint::{Checkpointer, BACKSTOP_PAGES};
use crate::error::{AppError, Result};

/// Writes taken into one transaction at most; the rest wait for the next.
const MAX_BATCH: usize = 128;

/// As long as the pool's connections wait for a lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a write did on the writer's own connection.
pub(crate) enum Fast<T> {
    /// It ran there: its result.
    Done(Result<T>),
    /// It needs the general path ([`GroupWrite::run`]) and changed nothing.
    Slow,
}

/// A write the writer thread runs inside its transaction. It owns what it needs (the
/// caller waits for its answer, but the writer cannot borrow from the caller), and it can
/// run again: after another write of its batch failed, it runs in a transaction of its own.
///
/// A write refused with any error but [`AppError::Internal`] must not have changed anything
/// (refuse before the first write, or in a statement that fails whole).
pub(crate) trait GroupWrite: Send + Sync + 'static {
    type Output: Send + 'static;

    /// The write on the writer's own connection, inside its transaction, or [`Fast::Slow`]
    /// before changing anything when it needs the general path.
    fn fast(&self, conn: &rusqlite::Connection) -> Fast<Self::Output>;

    /// The write on the general path, inside a transaction of sqlx's connection.
    fn run<'a, 'c>(
        &'a self,
        tx: &'a mut Transaction<'c, Sqlite>,
    ) -> BoxFuture<'a, Result<Self::Output>>;
}

/// Binds `values` to a statement written with numbered parameters (`$1`, `$2`, ...), as
/// the statements shared with sqlx are: SQLite reads `$1` as a parameter's name, and a
/// statement need not use every value.
pub(crate) fn bind_numbered(
    statement: &mut rusqlite::Statement<'_>,
    values: &[&dyn ToSql],
) -> rusqlite::Result<()> {
    for index in 1..=statement.parameter_count() {
        let number = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|number| number.parse::<usize>().ok())
            .filter(|number| (1..=values.len()).contains(number))
            .ok_or(rusqlite::Error::InvalidParameterCount(index, values.len()))?;
        statement.raw_bind_parameter(index, values[number - 1])?;
    }
    Ok(())
}

/// How the transaction that held a write ended.
type Committed = std::result::Result<(), Arc<String>>;

/// What running a write on the writer's own connection came to.
enum Step {
    /// It ran; false when it failed inside and may have changed something.
    Ran(bool),
    Slow,
}

/// A queued write with its type erased.
trait Queued: Send {
    fn fast(&mut self, conn: &rusqlite::Connection) -> Step;

    /// Runs the write on the general path and keeps its result; false when it failed
    /// inside and may have changed something.
    fn run<'a, 'c>(&'a mut self, tx: &'a mut Transaction<'c, Sqlite>) -> BoxFuture<'a, bool>;

    /// Whether the kept result is a success.
    fn succeeded(&self) -> bool;

    /// Whether the write needs the general path.
    fn is_slow(&self) -> bool;

    fn mark_slow(&mut self);

    /// Answers the caller, once the fate of the write's transaction is known.
    fn answer(self: Box<Self>, committed: Committed);
}

struct Pending<W: GroupWrite> {
    write: W,
    slow: bool,
    result: Option<Result<W::Output>>,
    reply: oneshot::Sender<Result<W::Output>>,
}

fn panicked() -> AppError {
    AppError::Internal(anyhow::anyhow!("the write panicked"))
}

impl<W: GroupWrite> Pending<W> {
    /// Keeps a result; false when it is a failure inside.
    fn keep(&mut self, out: Result<W::Output>) -> bool {
        let clean = !matches!(out, Err(AppError::Internal(_)));
        self.result = Some(out);
        clean
    }
}

impl<W: GroupWrite> Queued for Pending<W> {
    fn fast(&mut self, conn: &rusqlite::Connection) -> Step {
        let out = std::panic::catch_unwind(AssertUnwindSafe(|| self.write.fast(conn)))
            .unwrap_or_else(|_| Fast::Done(Err(panicked())));
        match out {
            Fast::Done(out) => Step::Ran(self.keep(out)),
            Fast::Slow => {
                self.slow = true;
                Step::Slow
            }
        }
    }

    fn run<'a, 'c>(&'a mut self, tx: &'a mut Transaction<'c, Sqlite>) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let out = AssertUnwindSafe(self.write.run(tx))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err(panicked()));
            self.keep(out)
        })
    }

    fn succeeded(&self) -> bool {
        matches!(self.result, Some(Ok(_)))
    }

    fn is_slow(&self) -> bool {
        self.slow
    }

    fn mark_slow(&mut self) {
        self.slow = true;
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

/// The handle requests send their writes through; the writer thread (and the checkpoint
/// thread) end when the last handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct GroupWriter {
    jobs: mpsc::UnboundedSender<Box<dyn Queued>>,
    counts: Arc<GroupCommitCounts>,
    _checkpoints: Option<Arc<Checkpointer>>,
}

impl GroupWriter {
    /// Starts the writer thread, which opens its own connections to the database and takes
    /// `lock` (the backend's writer lock) for each batch, and the checkpoint thread of a
    /// database file.
    pub fn start(options: SqliteConnectOptions, lock: Arc<Mutex<()>>) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::unbounded_channel();
        let counts = Arc::new(GroupCommitCounts::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let writer = Writer::new(options, counts.clone());
        let checkpoints = match &writer.path {
            Some(path) => Some(Arc::new(Checkpointer::start(path.clone())?)),
            None => None,
        };
        std::thread::Builder::new()
            .name("tally-sqlite-writer".into())
            .spawn(move || runtime.block_on(writer.write_batches(lock, queue)))?;
        Ok(GroupWriter {
            jobs,
            counts,
            _checkpoints: checkpoints,
        })
    }

    pub fn counts(&self) -> &GroupCommitCounts {
        &self.counts
    }

    /// Runs `write` in the next batch and returns its result once the batch is committed.
    pub async fn write<W: GroupWrite>(&self, write: W) -> Result<W::Output> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            write,
            slow: false,
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

/// The writer thread's two connections, each opened when first needed and opened again
/// after an error. Only one of them is ever inside a transaction.
struct Writer {
    options: SqliteConnectOptions,
    /// The database file; none for an in-memory database, which only sqlx's connection
    /// can reach, so every write takes the general path.
    path: Option<PathBuf>,
    own: Option<rusqlite::Connection>,
    general: Option<SqliteConnection>,
    counts: Arc<GroupCommitCounts>,
}

/// What a run of fast writes in one transaction came to.
enum FastRun {
    /// These writes ran; their transaction ended as given.
    Ran(Vec<Box<dyn Queued>>, Committed),
    /// The last of these failed inside; the transaction was rolled back.
    FailedInside(Vec<Box<dyn Queued>>),
}

impl Writer {
    fn new(options: SqliteConnectOptions, counts: Arc<GroupCommitCounts>) -> Self {
        let file = options.get_filename();
        let path = (!file.as_os_str().is_empty() && file != Path::new(":memory:"))
            .then(|| file.to_owned());
        Writer {
            options,
            path,
            own: None,
            general: None,
            counts,
        }
    }

    async fn write_batches(
        mut self,
        lock: Arc<Mutex<()>>,
        mut queue: mpsc::UnboundedReceiver<Box<dyn Queued>>,
    ) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let _writer = lock.lock().await;
            self.write_batch(batch.drain(..).collect()).await;
        }
        if let Some(conn) = self.general.take() {
            let _ = conn.close().await;
        }
    }

    /// Writes and answers a batch in order: runs of fast writes one transaction each, a
    /// write that needs the general path alone. After a write failed inside, the writes
    /// that shared its transaction run again one transaction each.
    async fn write_batch(&mut self, batch: VecDeque<Box<dyn Queued>>) {
        let mut rest = batch;
        let mut alone = 0usize;
        while let Some(job) = rest.pop_front() {
            if job.is_slow() {
                self.general_alone(job).await;
                alone = alone.saturating_sub(1);
                continue;
            }
            rest.push_front(job);
            let most = if alone > 0 { 1 } else { rest.len() };
            match self.fast_run(&mut rest, most) {
                FastRun::Ran(ran, committed) => {
                    if !ran.is_empty() {
                        self.counts.batch(ran.len());
                    }
                    alone = alone.saturating_sub(ran.len());
                    ran.into_iter()
                        .for_each(|job| job.answer(committed.clone()));
                }
                FastRun::FailedInside(mut ran) => {
                    if let Some(failed) = ran.pop() {
                        failed.answer(Ok(()));
                    }
                    alone = ran.len();
                    for job in ran.into_iter().rev() {
                        rest.push_front(job);
                    }
                }
            }
        }
    }

    /// Takes up to `most` writes from the front of `rest` and runs them on the writer's
    /// own connection in one transaction, stopping before a write that needs the general
    /// path (it stays at the front, marked). Without a connection of its own, the front
    /// write is marked for the general path.
    fn fast_run(&mut self, rest: &mut VecDeque<Box<dyn Queued>>, most: usize) -> FastRun {
        let Some(conn) = self.own_connection() else {
            if let Some(front) = rest.front_mut() {
                front.mark_slow();
            }
            return FastRun::Ran(Vec::new(), Ok(()));
        };
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let ran: Vec<_> = rest.drain(..most.min(rest.len())).collect();
            return FastRun::Ran(ran, Err(Arc::new(format!("begin: {e}"))));
        }
        let mut ran = Vec::new();
        while ran.len() < most {
            let Some(mut job) = rest.pop_front() else {
                break;
            };
            match job.fast(&conn) {
                Step::Slow => {
                    rest.push_front(job);
                    break;
                }
                Step::Ran(true) => ran.push(job),
                Step::Ran(false) => {
                    ran.push(job);
                    match conn.execute_batch("ROLLBACK") {
                        Ok(()) => self.own = Some(conn),
                        Err(e) => tracing::error!(error = %e, "SQLite writer: rollback"),
                    }
                    return FastRun::FailedInside(ran);
                }
            }
        }
        let committed = conn
            .execute_batch("COMMIT")
            .map_err(|e| Arc::new(format!("commit: {e}")));
        // A failed commit may leave the transaction open; the next run opens a fresh
        // connection.
        if committed.is_ok() {
            self.own = Some(conn);
        }
        FastRun::Ran(ran, committed)
    }

    /// The writer's own connection, taken out of `self.own` for the caller to put back
    /// when it is fit for use; none for an in-memory database or when it cannot be opened.
    fn own_connection(&mut self) -> Option<rusqlite::Connection> {
        let path = self.path.as_ref()?;
        if let Some(conn) = self.own.take() {
            return Some(conn);
        }
        let opened = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|conn| {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
            conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)?;
            conn.set_prepared_statement_cache_capacity(64);
            Ok(conn)
        });
        match opened {
            Ok(conn) => Some(conn),
            Err(e) => {
                tracing::error!(error = %e, "SQLite writer: cannot open its own connection; writing through sqlx");
                None
            }
        }
    }

    /// One write on the general path, in a transaction of its own, answered.
    async fn general_alone(&mut self, mut job: Box<dyn Queued>) {
        self.counts.alone(1);
        let committed = match self.general_connection().await {
            Ok(conn) => general_transaction(conn, job.as_mut()).await,
            Err(e) => Err(e),
        };
        if committed.is_err() {
            self.general = None;
        }
        job.answer(committed);
    }

    async fn general_connection(
        &mut self,
    ) -> std::result::Result<&mut SqliteConnection, Arc<String>> {
        let conn = match self.general.take() {
            Some(conn) => conn,
            None => self.options.connect().await.map_err(|e| {
                let e = Arc::new(format!("cannot open the database: {e}"));
                tracing::error!(error = %e, "SQLite writer");
                e
            })?,
        };
        Ok(self.general.insert(conn))
    }
}

/// One write in a transaction of its own, committed when it succeeded.
async fn general_transaction(conn: &mut SqliteConnection, job: &mut dyn Queued) -> Committed {
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

    /// Inserts its number into `t`, then does what `then` says; on the general path when
    /// `general`.
    struct Insert {
        n: i64,
        then: Then,
        general: bool,
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

        fn fast(&self, conn: &rusqlite::Connection) -> Fast<i64> {
            if self.general {
                return Fast::Slow;
            }
            if self.then == Then::Refuse {
                return Fast::Done(Err(AppError::Conflict(format!("{} refused", self.n))));
            }
            if let Err(e) = conn.execute("INSERT INTO t (n) VALUES (?1)", [self.n]) {
                return Fast::Done(Err(e.into()));
            }
            Fast::Done(match self.then {
                Then::Fail => Err(AppError::Internal(anyhow::anyhow!("{} failed", self.n))),
                Then::Panic => panic!("write {} panics", self.n),
                _ => Ok(self.n),
            })
        }

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
            .map(|(n, &then)| Insert {
                n: n as i64,
                then,
                general: false,
            })
            .collect()
    }

    /// The same writes, every third on the general path.
    fn mixed(plan: &[Then]) -> Vec<Insert> {
        let mut writes = writes(plan);
        for write in writes.iter_mut().filter(|w| w.n % 3 == 1) {
            write.general = true;
        }
        writes
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

    /// 300 writes sent at once, every seventh refused: each acknowledged write is stored,
    /// once, in order.
    async fn each_acknowledged_write_is_stored_once(make: fn(&[Then]) -> Vec<Insert>) {
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
        let answers = write_all(&options, make(&plan)).await;
        let acknowledged: Vec<i64> = answers
            .iter()
            .filter_map(|a| a.as_ref().ok().copied())
            .collect();
        assert_eq!(acknowledged.len(), 300 - 43);
        assert_eq!(stored(&options).await, acknowledged);
    }

    #[tokio::test]
    async fn many_concurrent_writes_are_each_stored_once() {
        each_acknowledged_write_is_stored_once(writes).await;
    }

    #[tokio::test]
    async fn many_concurrent_mixed_writes_are_each_stored_once() {
        each_acknowledged_write_is_stored_once(mixed).await;
    }

    #[tokio::test]
    async fn writes_on_the_general_path_keep_their_place_among_the_fast_ones() {
        let (_dir, options) = database().await;
        let plan = [
            Then::Succeed,
            Then::Succeed,
            Then::Refuse,
            Then::Succeed,
            Then::Fail,
            Then::Succeed,
            Then::Panic,
            Then::Succeed,
        ];
        let answers = write_all(&options, mixed(&plan)).await;
        assert!(matches!(answers[2], Err(AppError::Conflict(_))));
        assert!(matches!(answers[4], Err(AppError::Internal(_))));
        assert!(matches!(answers[6], Err(AppError::Internal(_))));
        for n in [0, 1, 3, 5, 7] {
            assert_eq!(answers[n].as_ref().ok(), Some(&(n as i64)), "write {n}");
        }
        assert_eq!(stored(&options).await, vec![0, 1, 3, 5, 7]);
    }

    #[tokio::test]
    async fn a_failure_on_the_general_path_is_undone() {
        let (_dir, options) = database().await;
        let mut writes = writes(&[Then::Succeed, Then::Fail, Then::Succeed]);
        writes[1].general = true;
        let answers = write_all(&options, writes).await;
        assert!(matches!(answers[1], Err(AppError::Internal(_))));
        assert_eq!(stored(&options).await, vec![0, 2]);
    }

    #[test]
    fn numbered_parameters_bind_by_their_number() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory");
        let mut statement = conn.prepare("SELECT $3, $1, $3").expect("prepare");
        bind_numbered(&mut statement, &[&1i64, &2i64, &"three"]).expect("bind");
        let mut rows = statement.raw_query();
        let row = rows.next().expect("step").expect("a row");
        let got: (String, i64, String) = (
            row.get(0).expect("0"),
            row.get(1).expect("1"),
            row.get(2).expect("2"),
        );
        assert_eq!(got, ("three".to_string(), 1, "three".to_string()));
        let mut beyond = conn.prepare("SELECT $4").expect("prepare");
        assert!(
            bind_numbered(&mut beyond, &[&1i64]).is_err(),
            "a number without a value"
        );
    }
}
