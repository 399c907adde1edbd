//! Group commit on PostgreSQL: the hot writes (a label, a lease for `next`) go to writer
//! threads, one per kind, each of which takes every write of its kind waiting when it
//! starts and runs them together in one transaction, with statements that each serve the
//! whole batch, and commits once.
//!
//! Sent alone, a label costs PostgreSQL five statements and a `next` six, each with its
//! executor start, its triggers and its network round trip. In a batch those are paid once
//! for all: the triggers on labels and items are statement triggers, which fire once per
//! statement.
//!
//! A batch handles the common case only. A write it does not handle is answered
//! [`Answer::Alone`] before anything of it changed, and the caller runs it on the general
//! path in a transaction of its own, as it does when a batch fails (a lost connection, a
//! conflict with a write on another path). Each batch holds at most one write per key (an
//! item for labels, a rater for `next`), so that the facts read at its start stay true for
//! every write in it; a second write with the same key waits for the next batch.
//!
//! Durability is unchanged: a write is answered only after the commit that holds it.
//!
//! A writer's statements run with generic plans, made once and kept: left to choose,
//! PostgreSQL plans each batch's statements again for its own array lengths, which took
//! more of its time than running them. Kept plans are dropped every [`REPLAN_AFTER`], so
//! that they follow the tables as they grow (a plan made while labels were few scans them
//! all).

mod labels;
mod next;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) use labels::{LabelBatch, LabelWrite};
pub(crate) use next::{NextAsk, NextBatch};

use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sqlx::{Connection, FromRow, Row};
use tokio::sync::{mpsc, oneshot};

use super::end_pg_transaction;
use super::monitoring::GroupCommitCounts;
use crate::error::Result;

/// Writes taken into one batch at most; the rest wait for the next.
const MAX_BATCH: usize = 128;

/// How long a writer keeps its statements' plans before it has them made again.
pub const REPLAN_AFTER: Duration = Duration::from_secs(1);

/// What became of a write sent to a writer.
pub(crate) enum Answer<T> {
    /// Written and committed, or refused: the result stands.
    Done(Result<T>),
    /// Not written: the caller writes it alone, on the general path.
    Alone,
}

/// A kind of write that runs in batches.
pub(crate) trait PgBatch: Send + Sync + 'static {
    type Write: Send + 'static;
    type Output: Send + 'static;

    /// The thread's name.
    const NAME: &'static str;

    /// What at most one write of a batch may have.
    fn key(write: &Self::Write) -> i64;

    /// Runs the batch inside its transaction and returns each write's answer, in order.
    /// An error rolls everything back, and each write is then written alone.
    fn write<'a>(
        conn: &'a mut PgConnection,
        writes: &'a [Self::Write],
    ) -> BoxFuture<'a, Result<Vec<Answer<Self::Output>>>>;
}

struct Job<B: PgBatch> {
    write: B::Write,
    reply: oneshot::Sender<Answer<B::Output>>,
}

/// The handle requests send their writes of one kind through; the writer thread ends when
/// the last handle is dropped.
pub(crate) struct PgGroupWriter<B: PgBatch> {
    jobs: mpsc::UnboundedSender<Job<B>>,
    counts: Arc<GroupCommitCounts>,
}

impl<B: PgBatch> Clone for PgGroupWriter<B> {
    fn clone(&self) -> Self {
        PgGroupWriter {
            jobs: self.jobs.clone(),
            counts: self.counts.clone(),
        }
    }
}

impl<B: PgBatch> std::fmt::Debug for PgGroupWriter<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgGroupWriter")
            .field("name", &B::NAME)
            .finish_non_exhaustive()
    }
}

impl<B: PgBatch> PgGroupWriter<B> {
    /// Starts the writer thread, which opens its own connection with `options` when it
    /// first needs one, and again after a failure. `counts` are shared by every writer of
    /// a store.
    pub fn start(
        options: PgConnectOptions,
        counts: Arc<GroupCommitCounts>,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let counted = counts.clone();
        std::thread::Builder::new()
            .name(B::NAME.into())
            .spawn(move || runtime.block_on(write_batches::<B>(options, queue, counted)))?;
        Ok(PgGroupWriter { jobs, counts })
    }

    pub fn counts(&self) -> &GroupCommitCounts {
        &self.counts
    }

    /// Runs `write` in the next batch and answers once that batch is committed.
    pub async fn write(&self, write: B::Write) -> Answer<B::Output> {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Job { write, reply }).is_err() {
            return Answer::Alone;
        }
        answer.await.unwrap_or(Answer::Alone)
    }
}

async fn write_batches<B: PgBatch>(
    options: PgConnectOptions,
    mut queue: mpsc::UnboundedReceiver<Job<B>>,
    counts: Arc<GroupCommitCounts>,
) {
    let mut connection: Option<WriterConnection> = None;
    let mut waiting: VecDeque<Job<B>> = VecDeque::new();
    let mut fresh = Vec::with_capacity(MAX_BATCH);
    loop {
        if waiting.is_empty() {
            if queue.recv_many(&mut fresh, MAX_BATCH).await == 0 {
                break;
            }
        } else {
            while fresh.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => fresh.push(job),
                    Err(_) => break,
                }
            }
        }
        waiting.extend(fresh.drain(..));
        let batch = one_per_key::<B>(&mut waiting);
        write_and_answer::<B>(&mut connection, &options, batch, &counts).await;
    }
    if let Some(writer) = connection.take() {
        let _ = writer.conn.close().await;
    }
}

/// A writer's connection and when its plans were last made.
struct WriterConnection {
    conn: PgConnection,
    planned_at: Instant,
}

/// Takes from `waiting`, in order, up to [`MAX_BATCH`] writes of distinct keys; a write
/// whose key is already taken stays, in order, for the next batch.
fn one_per_key<B: PgBatch>(waiting: &mut VecDeque<Job<B>>) -> Vec<Job<B>> {
    let mut keys = HashSet::new();
    let mut batch = Vec::new();
    let mut later = VecDeque::new();
    while let Some(job) = waiting.pop_front() {
        if batch.len() < MAX_BATCH && keys.insert(B::key(&job.write)) {
            batch.push(job);
        } else {
            later.push_back(job);
        }
    }
    *waiting = later;
    batch
}

async fn write_and_answer<B: PgBatch>(
    connection: &mut Option<WriterConnection>,
    options: &PgConnectOptions,
    batch: Vec<Job<B>>,
    counts: &GroupCommitCounts,
) {
    let (writes, replies): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|job| (job.write, job.reply)).unzip();
    let answers = match connection_for(connection, options).await {
        Ok(conn) => match B::write(conn, &writes).await {
            Ok(answers) => Some(answers),
            Err(e) => {
                tracing::warn!(error = %e, writes = writes.len(), writer = B::NAME, "a batch failed; each write is run alone");
                // The connection may be broken or hold a failed transaction.
                if let Some(writer) = connection.take() {
                    let _ = writer.conn.close().await;
                }
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, writer = B::NAME, "no usable connection; writes are run alone");
            None
        }
    };
    match &answers {
        Some(answers) => {
            let alone = answers
                .iter()
                .filter(|a| matches!(a, Answer::Alone))
                .count();
            counts.batch(answers.len() - alone);
            counts.alone(alone);
        }
        None => counts.alone(writes.len()),
    }
    let mut answers = answers.map(Vec::into_iter);
    for reply in replies {
        let answer = answers
            .as_mut()
            .and_then(Iterator::next)
            .unwrap_or(Answer::Alone);
        // The caller may have gone (its client hung up); the write stands.
        let _ = reply.send(answer);
    }
}

/// The writer's connection, opened with generic plans if there is none, and with its
/// plans dropped if they are older than [`REPLAN_AFTER`].
async fn connection_for<'a>(
    connection: &'a mut Option<WriterConnection>,
    options: &PgConnectOptions,
) -> Result<&'a mut PgConnection> {
    // Taken out while in doubt: a connection whose plans could not be dropped is let go.
    let mut writer = match connection.take() {
        Some(writer) => writer,
        None => {
            let options = options
                .clone()
                .options([("plan_cache_mode", "force_generic_plan")]);
            WriterConnection {
                conn: PgConnection::connect_with(&options).await?,
                planned_at: Instant::now(),
            }
        }
    };
    if writer.planned_at.elapsed() >= REPLAN_AFTER {
        sqlx::query("DISCARD PLANS")
            .execute(&mut writer.conn)
            .await?;
        writer.planned_at = Instant::now();
    }
    Ok(&mut connection.insert(writer).conn)
}

/// A row numbered `n` from 1 by `WITH ORDINALITY`, its other columns read as `T`: a
/// struct reads them by name, a tuple from the first column on (`n` comes last there).
struct Numbered<T> {
    n: i64,
    row: T,
}

impl<'r, T: FromRow<'r, PgRow>> FromRow<'r, PgRow> for Numbered<T> {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(Numbered {
            n: row.try_get("n")?,
            row: T::from_row(row)?,
        })
    }
}

/// Each numbered row with the 0-based index of the write it answers.
fn by_index<T>(rows: Vec<Numbered<T>>) -> impl Iterator<Item = (usize, T)> {
    rows.into_iter().filter_map(|numbered| {
        let index = usize::try_from(numbered.n).ok()?.checked_sub(1)?;
        Some((index, numbered.row))
    })
}

/// One value of each of `items`, for binding as an array.
fn column<'a, S, T>(items: &'a [S], value: impl Fn(&'a S) -> T) -> Vec<T> {
    items.iter().map(value).collect()
}

/// Runs `body` in a transaction begun with `begin` and commits it, or rolls it back
/// before its error goes on.
async fn in_transaction<'a, T>(
    conn: &'a mut PgConnection,
    begin: &'static str,
    body: impl for<'t> FnOnce(&'t mut sqlx::Transaction<'a, sqlx::Postgres>) -> BoxFuture<'t, Result<T>>,
) -> Result<T> {
    let mut tx = conn.begin_with(begin).await?;
    let result = body(&mut tx).await;
    end_pg_transaction(tx, result).await
}

/// Each write's answer, in order: a write the batch did not decide is sent alone.
fn decided<T>(answers: Vec<Option<Answer<T>>>) -> Vec<Answer<T>> {
    answers
        .into_iter()
        .map(|answer| answer.unwrap_or(Answer::Alone))
        .collect()
}
