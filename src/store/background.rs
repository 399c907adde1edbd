//! Work no request waits on as it runs (a big database's figures, the report kept prepared)
//! on threads of its own, away from the threads that answer requests.
//!
//! On PostgreSQL the rows of a query are decoded on the async runtime that polls its
//! connection. A big project's figures read millions of rows (the overview's per-rater
//! figures read every label, for seconds): on the server's runtime they kept its threads
//! busy, and the pages asked for meanwhile waited their turn on them (on a project of a
//! million items, its settings page took up to 5.7 s while the figures of its overview,
//! report and health pages were computed; a few milliseconds otherwise). Here they run on a
//! runtime of their own, at a lower priority, through a pool of their own whose connections
//! that runtime opened and drives, so a page's few small reads come first.
//!
//! SQLite needs none of it: its connections run on threads of their own already, and a
//! bulk read runs on a blocking thread (`sqlite_read`).

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use tokio::runtime::{Handle, Runtime};
use tokio::task::{AbortHandle, JoinHandle};

use super::{PgBackend, Store};

/// Threads of the background runtime: two, so that the two halves of a report's read go
/// side by side as they do on a request's.
const THREADS: usize = 2;

/// Connections of a store's background pool. Figures are computed side by side (a page
/// starts several); more than this wait for a connection.
const CONNECTIONS: u32 = 6;

/// How long a background computation waits for a connection: longer than a request would,
/// since figures wait behind others for seconds on a big project.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(120);

/// The runtime, one a process, made when first needed and never shut down; `None` when its
/// threads could not be started (the work then runs on the caller's runtime).
fn runtime() -> Option<&'static Handle> {
    static RUNTIME: OnceLock<Option<Runtime>> = OnceLock::new();
    let built = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(THREADS)
            .thread_name("tally-background")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()
            .inspect_err(|e| tracing::warn!(error = %e, "cannot start the background threads"))
            .ok()
    });
    built.as_ref().map(Runtime::handle)
}

/// How far below a request's thread a background thread comes: a nice value, from 0 (the
/// same) to 19 (the lowest).
#[cfg(target_os = "linux")]
const NICENESS: libc::c_int = 10;

/// Gives the calling thread a lower priority, so that whenever a request's thread and it
/// both want a core the request's thread gets it. On Linux a nice value is a thread's own;
/// elsewhere it is the whole process's, which is left as it is.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority takes no pointers; `who` 0 is the calling thread.
        let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICENESS) } != 0;
        if failed {
            tracing::debug!("cannot lower the background thread's priority");
        }
    }
}

/// A PostgreSQL store's background pool, opened (lazily, on the background runtime) the
/// first time background work needs it; shared by the store's clones.
#[derive(Debug, Clone, Default)]
pub(super) struct BackgroundPool(Arc<OnceLock<PgPool>>);

impl BackgroundPool {
    fn get_or_open(&self, runtime: &Handle, like: &PgPool) -> PgPool {
        self.0
            .get_or_init(|| {
                // Opened inside the runtime: its connections are registered with the
                // runtime's I/O driver, which its threads poll.
                let _inside = runtime.enter();
                PgPoolOptions::new()
                    .max_connections(CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy_with((*like.connect_options()).clone())
            })
            .clone()
    }

    /// Closes the pool if it was opened.
    pub(super) async fn close(&self) {
        if let Some(pool) = self.0.get() {
            pool.close().await;
        }
    }
}

impl Store {
    /// Runs `work` in the background: on PostgreSQL on the background runtime, with a store
    /// whose queries go through the background pool; on SQLite as a task of the caller's
    /// runtime. The store's caches and writers are the same either way. As with
    /// `tokio::spawn`, the work goes on when the handle is dropped, and ends when it is
    /// aborted or the caller's runtime shuts down.
    pub fn spawn_background<T, Fut>(&self, work: impl FnOnce(Store) -> Fut) -> JoinHandle<T>
    where
        T: Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let (Store::Postgres(backend), Some(runtime)) = (self, runtime()) else {
            return tokio::spawn(work(self.clone()));
        };
        let pool = backend.background.get_or_open(runtime, &backend.pool);
        let store = Store::Postgres(PgBackend {
            pool,
            ..backend.clone()
        });
        let task = runtime.spawn(work(store));
        // A task of the caller's runtime stands for it there: aborting that one, or the
        // runtime's end, aborts the work too (even before its first poll: the guard is
        // made here, and dropped with the task's future however far it got).
        let stop = AbortOnDrop(task.abort_handle());
        tokio::spawn(async move {
            let _stop = stop;
            match task.await {
                Ok(done) => done,
                Err(ended) => match ended.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    // Aborted only by dropping this task, which is then not polled again.
                    Err(_) => std::future::pending().await,
                },
            }
        })
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
