//! Whole-project figures on admin pages (the queue, each rater's agreement and times, cost
//! and pace, health, the quality report).
//!
//! Each figure is computed on a task of its own, so a page's figures are computed side by
//! side. On a small database a page waits for them all: they are exact on every view. On a
//! big one (where figures are kept, see `store::snapshots`) a page waits for a figure that is
//! not kept yet only until `WAIT` has passed since it started (not at all on a project of
//! many rows, whose figures take far longer); the figure is then still computed, in the
//! background, and kept, and the page shows it as being computed. So the
//! first view of a big project answers at once too, and `static/figures.js` fills the
//! figures in as they are ready (without scripts, a reload does).

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::Result;
use crate::store::snapshots::PAGE_DEADLINE;
use crate::store::Store;

/// How long past its deadline a page waits for the figures that end their wait then.
const GRACE: Duration = Duration::from_millis(20);

/// The figures of one page view, started together and waited for until one deadline.
pub(crate) struct PageFigures {
    store: Store,
    deadline: Option<Instant>,
}

/// One figure being computed for a page.
pub(crate) struct Figure<T> {
    task: JoinHandle<Result<T>>,
    deadline: Option<Instant>,
}

impl PageFigures {
    /// The figures of a page, of `project`'s if it is a project's page.
    pub async fn start(store: &Store, project: Option<i64>) -> Result<PageFigures> {
        let deadline = store
            .page_wait(project)
            .await?
            .map(|wait| Instant::now() + wait);
        Ok(PageFigures {
            store: store.clone(),
            deadline,
        })
    }

    /// Starts computing a figure with `compute`.
    pub fn spawn<T, Fut>(&self, compute: impl FnOnce(Store) -> Fut) -> Figure<T>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let figure = compute(self.store.clone());
        let task = match self.deadline {
            Some(deadline) => tokio::spawn(PAGE_DEADLINE.scope(deadline, figure)),
            None => tokio::spawn(figure),
        };
        Figure {
            task,
            deadline: self.deadline,
        }
    }
}

impl<T> Figure<T> {
    /// The figure, or `None` when it is still being computed at the page's deadline (it
    /// goes on in the background and is kept for the next view).
    pub async fn ready(self) -> Result<Option<T>> {
        match self.deadline {
            None => Ok(Some(self.task.await??)),
            // A little past the deadline: a figure served as kept at the deadline arrives.
            Some(deadline) => match tokio::time::timeout_at(deadline + GRACE, self.task).await {
                Ok(joined) => Ok(Some(joined??)),
                Err(_) => Ok(None),
            },
        }
    }
}
