//! Whole-project figures that cost seconds on a big project (counts by state, each rater's
//! agreement, pace, health, the quality report), kept in memory per process.
//!
//! On a database under `BIG_ROWS` items plus labels every figure is computed on each request,
//! so it is always exact. On a bigger one, a figure whose last computation took more than
//! `CHEAP` is served as it was last computed while it is fresh (ten times its cost, at least
//! `MIN_FRESH`); once it is older it is still served, with its time, and one refresh starts
//! in the background. Pages say when the figures they show were computed.
//!
//! A figure is kept in at most `VARIANTS_KEPT` variants per project (a report's settings, a
//! policy's revision): asking for another drops the one served longest ago, so a process
//! that is asked for many settings of a big project's report holds two of them, not all.
//!
//! A figure being computed is computed once: a request that finds it under way (on a big
//! database) waits for that computation instead of starting its own beside it, which on a
//! project of millions of labels would double the memory as well as the time.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::{on_pool, Store};
use crate::domain::now_ms;
use crate::error::Result;

/// Items plus labels in the database at which figures start being kept.
pub const BIG_ROWS: i64 = 200_000;
/// A computation this quick is made on every request even on a big database.
const CHEAP: Duration = Duration::from_millis(50);
/// The shortest time a kept figure is served without a refresh.
const MIN_FRESH: Duration = Duration::from_secs(15);
/// Variants of one figure of one project kept at a time.
const VARIANTS_KEPT: usize = 2;

/// A figure and, when it was served from memory, when it was computed (epoch ms).
#[derive(Debug, Clone)]
pub struct Snapshot<T> {
    pub value: T,
    pub as_of: Option<i64>,
}

type Key = (i64, &'static str, String);

#[derive(Debug)]
pub struct Snapshots {
    entries: Mutex<HashMap<Key, Entry>>,
    big_rows: AtomicI64,
    cheap_ms: AtomicU64,
    /// The last reading of whether the database is big, and when: a page asks for several
    /// figures, and one reading serves them all.
    big: Mutex<Option<(Instant, bool)>>,
    /// Figures being computed on request (not refreshes, which serve the kept value).
    computing: Mutex<HashMap<Key, UnderWay>>,
    /// How long a page of a big database waits for a figure that is not kept.
    page_wait_ms: AtomicU64,
    /// Items plus labels of a project from which its pages do not wait for figures not kept.
    wait_under_rows: AtomicI64,
    /// Computations start only while this can be read (tests hold it to see a page while its
    /// figures are being computed).
    gate: Arc<tokio::sync::RwLock<()>>,
    /// The turns of figures computed while no one waits for them (see [`Turn`]).
    turns: tokio::sync::Semaphore,
}

tokio::task_local! {
    /// When the page a figure is computed for stops waiting for it (set by the pages'
    /// `PageFigures`); a figure computed again past it is served as kept.
    pub static PAGE_DEADLINE: tokio::time::Instant;
}

/// How long a page of a big database waits for a figure that is not kept, by default.
const PAGE_WAIT: Duration = Duration::from_millis(60);

/// Items plus labels of a project from which a page does not wait at all for its figures
/// not kept: their first computation takes far longer than a page waits (seconds for the
/// pages bench's project of 4,000,000), and while it runs it takes both cores from the page.
const WAIT_UNDER_ROWS: i64 = 1_000_000;

/// How long a reading of the database's size is trusted.
const SIZE_READ_EVERY: Duration = Duration::from_secs(1);

/// How many figures that no one waits for are computed at a time. On two cores, a big
/// project's pages asked for one after another computed their figures three or more at a
/// time, each with a database backend of its own taking a core, and the pages asked for
/// meanwhile waited for one: a small page took up to 205 ms. One at a time, it took at
/// most 30 ms, and the figures were ready as soon (their longest takes most of the time).
const TURNS: usize = 1;

/// Whether a figure's computation waits its turn: one that a page started, or a refresh,
/// is shown as being computed (or as kept) meanwhile, so it waits for the one before it,
/// unless a request comes to wait for it too (`go_now` is notified); one that a request
/// waits for (the API's, which always answers with the figure) goes at once.
#[derive(Debug, Clone)]
enum Turn {
    Wait { go_now: Arc<Notify> },
    AtOnce,
}

/// A refresh's turn: no request waits for it (they are served the kept value), so nothing
/// lets it go early.
fn refresh_turn() -> Turn {
    Turn::Wait {
        go_now: Arc::default(),
    }
}

/// A figure being computed on request, as those who come for it meanwhile find it.
#[derive(Debug, Clone)]
struct UnderWay {
    /// Wakes when the computation ends, however it ends (its sender is dropped).
    done: watch::Receiver<()>,
    /// Lets the computation go without waiting for its turn any longer.
    go_now: Arc<Notify>,
}

impl Default for Snapshots {
    fn default() -> Self {
        Snapshots {
            entries: Mutex::default(),
            big_rows: AtomicI64::new(BIG_ROWS),
            cheap_ms: AtomicU64::new(CHEAP.as_millis() as u64),
            big: Mutex::default(),
            computing: Mutex::default(),
            page_wait_ms: AtomicU64::new(PAGE_WAIT.as_millis() as u64),
            wait_under_rows: AtomicI64::new(WAIT_UNDER_ROWS),
            gate: Arc::default(),
            turns: tokio::sync::Semaphore::new(TURNS),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    computed_at: Instant,
    computed_at_ms: i64,
    cost: Duration,
    refreshing: bool,
    /// When it was last computed or served, to choose which variant to drop.
    last_used: Instant,
}

/// What to do for one request, given what is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Compute,
    Serve,
    ServeAndRefresh,
}

/// How long a figure that took `cost` to compute is served before it is refreshed.
fn fresh_for(cost: Duration) -> Duration {
    (cost * 10).max(MIN_FRESH)
}

fn plan(big: bool, cheap: Duration, kept: Option<(Duration, Duration, bool)>) -> Plan {
    let Some((age, cost, refreshing)) = kept else {
        return Plan::Compute;
    };
    if !big || cost < cheap {
        Plan::Compute
    } else if age < fresh_for(cost) || refreshing {
        Plan::Serve
    } else {
        Plan::ServeAndRefresh
    }
}

impl Snapshots {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept entry of `key`, marked as used now.
    fn kept(&self, key: &Key) -> Option<Entry> {
        let mut entries = self.lock();
        let entry = entries.get_mut(key)?;
        entry.last_used = Instant::now();
        Some(entry.clone())
    }

    fn keep(&self, key: Key, value: Arc<dyn Any + Send + Sync>, cost: Duration) {
        let mut entries = self.lock();
        let now = Instant::now();
        entries.insert(
            key.clone(),
            Entry {
                value,
                computed_at: now,
                computed_at_ms: now_ms(),
                cost,
                refreshing: false,
                last_used: now,
            },
        );
        drop_surplus_variants(&mut entries, &key);
    }

    /// Marks a refresh as started; false when one already runs.
    fn claim_refresh(&self, key: &Key) -> bool {
        match self.lock().get_mut(key) {
            Some(entry) if !entry.refreshing => {
                entry.refreshing = true;
                true
            }
            _ => false,
        }
    }

    fn release_refresh(&self, key: &Key) {
        if let Some(entry) = self.lock().get_mut(key) {
            entry.refreshing = false;
        }
    }

    fn oldest(&self, project_id: i64, whats: &[&str]) -> Option<i64> {
        self.lock()
            .iter()
            .filter(|((pid, what, _), _)| *pid == project_id && whats.contains(what))
            .map(|(_, e)| e.computed_at_ms)
            .min()
    }
}

/// Drops the variants of `kept`'s figure served longest ago until at most `VARIANTS_KEPT`
/// are left, `kept` among them.
fn drop_surplus_variants(entries: &mut HashMap<Key, Entry>, kept: &Key) {
    let mut others: Vec<(Instant, Key)> = entries
        .iter()
        .filter(|(key, _)| key.0 == kept.0 && key.1 == kept.1 && *key != kept)
        .map(|(key, entry)| (entry.last_used, key.clone()))
        .collect();
    let surplus = (others.len() + 1).saturating_sub(VARIANTS_KEPT);
    others.sort_by_key(|(used, _)| *used);
    for (_, key) in others.into_iter().take(surplus) {
        entries.remove(&key);
    }
}

/// `fut`'s output or, when the page's deadline in `fallback` passes first, the kept value
/// to serve instead.
async fn or_kept_at_deadline<F: Future, T>(
    fallback: Option<(tokio::time::Instant, Snapshot<T>)>,
    fut: F,
) -> std::result::Result<F::Output, Snapshot<T>> {
    match fallback {
        Some((deadline, kept)) => tokio::time::timeout_at(deadline, fut)
            .await
            .map_err(|_| kept),
        None => Ok(fut.await),
    }
}

/// A computation under way; dropping it (after the figure is kept) wakes those waiting.
struct Computing {
    store: Store,
    key: Key,
    _done: watch::Sender<()>,
}

impl Drop for Computing {
    fn drop(&mut self) {
        self.store
            .snapshots()
            .computing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

/// A refresh in progress; dropping it lets the next request start another.
struct Claim<'a>(&'a Store, &'a Key);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.snapshots().release_refresh(self.1);
    }
}

impl Store {
    fn snapshots(&self) -> &Snapshots {
        &self.caches().snapshots
    }

    /// Registers a computation of `key` and returns its guard and what lets it go before its
    /// turn, or, when one is already under way, that one.
    fn start_computing(
        &self,
        key: &Key,
    ) -> std::result::Result<(Computing, Arc<Notify>), UnderWay> {
        let mut computing = self
            .snapshots()
            .computing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(under_way) = computing.get(key) {
            return Err(under_way.clone());
        }
        let (done, waiting) = watch::channel(());
        let go_now = Arc::new(Notify::new());
        let under_way = UnderWay {
            done: waiting,
            go_now: go_now.clone(),
        };
        computing.insert(key.clone(), under_way);
        let guard = Computing {
            store: self.clone(),
            key: key.clone(),
            _done: done,
        };
        Ok((guard, go_now))
    }

    /// Whether a computation of a project's figure `what` (any variant) asked for by a
    /// request is under way in this process.
    pub fn figure_under_way(&self, project_id: i64, what: &str) -> bool {
        (self.snapshots().computing.lock())
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .any(|(pid, kind, _)| *pid == project_id && *kind == what)
    }

    /// When the oldest of a project's kept figures of the kinds `whats` (those a page shows)
    /// was computed (epoch ms); `None` when none is kept, so they are all as of now.
    pub fn figures_as_of(&self, project_id: i64, whats: &[&str]) -> Option<i64> {
        self.snapshots().oldest(project_id, whats)
    }

    /// Sets the number of items plus labels from which figures are kept, and the cost under
    /// which a figure is computed on every request all the same (tests set both low).
    pub fn keep_figures(&self, from_rows: i64, cheap: Duration) {
        self.snapshots()
            .cheap_ms
            .store(cheap.as_millis() as u64, Ordering::Relaxed);
        self.keep_figures_from(from_rows);
    }

    /// How long a page (of `project_id`'s, if it is a project's) waits for a figure that is
    /// not kept: `None` on a small database, where figures are exact on every view and a
    /// page waits for them all; nothing for a project of many rows.
    pub async fn page_wait(&self, project_id: Option<i64>) -> Result<Option<Duration>> {
        if !self.is_big().await? {
            return Ok(None);
        }
        let snapshots = self.snapshots();
        let wait = Duration::from_millis(snapshots.page_wait_ms.load(Ordering::Relaxed));
        let Some(project_id) = project_id else {
            return Ok(Some(wait));
        };
        let rows = self.project_rows(project_id).await?;
        let many = rows >= snapshots.wait_under_rows.load(Ordering::Relaxed);
        Ok(Some(if many { Duration::ZERO } else { wait }))
    }

    /// Sets the items plus labels of a project from which its pages do not wait for its
    /// figures not kept.
    pub fn wait_for_figures_under(&self, rows: i64) {
        self.snapshots()
            .wait_under_rows
            .store(rows, Ordering::Relaxed);
    }

    /// Sets the number of items plus labels from which figures are kept.
    pub fn keep_figures_from(&self, rows: i64) {
        let snapshots = self.snapshots();
        snapshots.big_rows.store(rows, Ordering::Relaxed);
        *snapshots.big.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Sets how long a page of a big database waits for a figure that is not kept.
    pub fn set_page_wait(&self, wait: Duration) {
        self.snapshots()
            .page_wait_ms
            .store(wait.as_millis() as u64, Ordering::Relaxed);
    }

    /// Holds back every figure's computation until the guard is dropped (for tests: a page
    /// seen while its figures are being computed).
    pub async fn hold_figures(&self) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        self.snapshots().gate.clone().write_owned().await
    }

    /// Whether the database holds at least `big_rows` items plus labels; ids only grow, so
    /// the largest ids bound the counts from above and are read from the primary keys.
    async fn is_big(&self) -> Result<bool> {
        let read = *self
            .snapshots()
            .big
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((_, big)) = read.filter(|(at, _)| at.elapsed() < SIZE_READ_EVERY) {
            return Ok(big);
        }
        let sql = "SELECT coalesce((SELECT max(id) FROM items), 0) + coalesce((SELECT max(id) FROM labels), 0)";
        let rows: i64 = on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await?);
        let big = rows >= self.snapshots().big_rows.load(Ordering::Relaxed);
        *self
            .snapshots()
            .big
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), big));
        Ok(big)
    }

    /// A project's figure `what` (with `variant`, say the report's settings), computed by
    /// `compute` or served as kept (see the module's description).
    pub async fn snapshot<T, F, Fut>(
        &self,
        project_id: i64,
        what: &'static str,
        variant: String,
        compute: F,
    ) -> Result<Snapshot<Arc<T>>>
    where
        T: Send + Sync + 'static,
        F: Fn(Store) -> Fut + Send + Sync + Clone + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let key: Key = (project_id, what, variant);
        loop {
            let big = self.is_big().await?;
            if let Some(served) = self.serve_kept(&key, big, &compute) {
                return Ok(served);
            }
            if !big {
                let value = Arc::new(self.compute_timed(&key, &compute).await?);
                return Ok(Snapshot { value, as_of: None });
            }
            // A page that stops waiting at its deadline is better served a figure's kept
            // value, dated, than none while it is computed again.
            let deadline = PAGE_DEADLINE.try_with(|d| *d).ok();
            let fallback =
                deadline.and_then(|deadline| Some((deadline, self.kept_value::<T>(&key)?)));
            match self.start_computing(&key) {
                Ok((computing, go_now)) => {
                    let turn = if deadline.is_some() {
                        Turn::Wait { go_now }
                    } else {
                        Turn::AtOnce
                    };
                    // On a task of its own, so the figure is kept even when the request
                    // that asked for it goes away; in the background (see `background`), so
                    // that its rows are not decoded on the threads that answer requests.
                    let compute = compute.clone();
                    let task = self.spawn_background(|store| async move {
                        let _computing = computing;
                        store.compute_and_keep(key, &compute, turn).await
                    });
                    return match or_kept_at_deadline(fallback, task).await {
                        Ok(joined) => Ok(Snapshot {
                            value: joined??,
                            as_of: None,
                        }),
                        Err(kept) => Ok(kept),
                    };
                }
                // Whether it was kept or failed, look again: a failed one is tried anew.
                Err(mut under_way) => {
                    // A request that waits for the figure (no page deadline) does not wait
                    // for the figures before it as well.
                    if deadline.is_none() {
                        under_way.go_now.notify_one();
                    }
                    if let Err(kept) = or_kept_at_deadline(fallback, under_way.done.changed()).await
                    {
                        return Ok(kept);
                    }
                }
            }
        }
    }

    /// Computes `key`'s figure, once its turn comes when it waits for one, and keeps it
    /// with what it cost (the wait not counted).
    async fn compute_and_keep<T, F, Fut>(&self, key: Key, compute: &F, turn: Turn) -> Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: Fn(Store) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        // The semaphore is never closed, so a permit comes unless the figure is let go first.
        let _turn = match turn {
            Turn::Wait { go_now } => tokio::select! {
                permit = self.snapshots().turns.acquire() => permit.ok(),
                () = go_now.notified() => None,
            },
            Turn::AtOnce => None,
        };
        let started = Instant::now();
        let value = Arc::new(self.compute_timed(&key, compute).await?);
        self.snapshots().keep(key, value.clone(), started.elapsed());
        Ok(value)
    }

    /// The kept value of `key`, whatever its age or cost, with when it was computed.
    fn kept_value<T: Send + Sync + 'static>(&self, key: &Key) -> Option<Snapshot<Arc<T>>> {
        let entry = self.snapshots().kept(key)?;
        let value = entry.value.downcast::<T>().ok()?;
        Some(Snapshot {
            value,
            as_of: Some(entry.computed_at_ms),
        })
    }

    /// The kept value of `key` when the plan is to serve it, starting one refresh in the
    /// background when it is due.
    fn serve_kept<T, F, Fut>(&self, key: &Key, big: bool, compute: &F) -> Option<Snapshot<Arc<T>>>
    where
        T: Send + Sync + 'static,
        F: Fn(Store) -> Fut + Send + Sync + Clone + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let entry = self.snapshots().kept(key)?;
        let facts = (entry.computed_at.elapsed(), entry.cost, entry.refreshing);
        let cheap = Duration::from_millis(self.snapshots().cheap_ms.load(Ordering::Relaxed));
        let plan = plan(big, cheap, Some(facts));
        if plan == Plan::Compute {
            return None;
        }
        let value = entry.value.clone().downcast::<T>().ok()?;
        if plan == Plan::ServeAndRefresh && self.snapshots().claim_refresh(key) {
            let key = key.clone();
            let compute = compute.clone();
            self.spawn_background(|store| async move {
                // Released however the task ends (a failure, a panic), so a later
                // request tries again.
                let _claim = Claim(&store, &key);
                if let Err(e) = store
                    .compute_and_keep(key.clone(), &compute, refresh_turn())
                    .await
                {
                    tracing::warn!(error = %e, what = key.1, "refreshing a figure failed")
                }
            });
        }
        Some(Snapshot {
            value,
            as_of: Some(entry.computed_at_ms),
        })
    }

    async fn compute_timed<T, F, Fut>(&self, key: &Key, compute: &F) -> Result<T>
    where
        F: Fn(Store) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let _open = self.snapshots().gate.read().await;
        let started = Instant::now();
        let value = compute(self.clone()).await?;
        tracing::debug!(
            project_id = key.0,
            what = key.1,
            ms = started.elapsed().as_millis() as u64,
            "computed a project figure"
        );
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOW: Duration = Duration::from_secs(2);

    #[test]
    fn small_databases_and_cheap_figures_are_always_computed() {
        assert_eq!(
            plan(false, CHEAP, Some((Duration::ZERO, SLOW, false))),
            Plan::Compute
        );
        assert_eq!(
            plan(
                true,
                CHEAP,
                Some((Duration::ZERO, Duration::from_millis(10), false))
            ),
            Plan::Compute
        );
        assert_eq!(plan(true, CHEAP, None), Plan::Compute);
    }

    #[test]
    fn a_costly_figure_is_served_while_fresh_then_refreshed_once() {
        assert_eq!(
            plan(true, CHEAP, Some((Duration::from_secs(19), SLOW, false))),
            Plan::Serve
        );
        assert_eq!(
            plan(true, CHEAP, Some((Duration::from_secs(21), SLOW, false))),
            Plan::ServeAndRefresh
        );
        assert_eq!(
            plan(true, CHEAP, Some((Duration::from_secs(21), SLOW, true))),
            Plan::Serve
        );
    }

    fn kept_variants(snapshots: &Snapshots, project_id: i64, what: &str) -> Vec<String> {
        let mut variants: Vec<String> = snapshots
            .lock()
            .keys()
            .filter(|key| key.0 == project_id && key.1 == what)
            .map(|key| key.2.clone())
            .collect();
        variants.sort();
        variants
    }

    #[test]
    fn a_new_variant_drops_the_one_served_longest_ago() {
        let snapshots = Snapshots::default();
        let key = |pid: i64, what: &'static str, variant: &str| (pid, what, variant.to_string());
        let keep = |key: Key| snapshots.keep(key, Arc::new(0_u8), SLOW);
        keep(key(1, "report", "nominal"));
        keep(key(1, "report", "ordinal"));
        // Another project's report and another figure of this one are kept beside them.
        keep(key(2, "report", "nominal"));
        keep(key(1, "health", "1"));
        assert!(snapshots.kept(&key(1, "report", "nominal")).is_some());
        keep(key(1, "report", "interval"));
        assert_eq!(
            kept_variants(&snapshots, 1, "report"),
            ["interval", "nominal"],
            "ordinal was served longest ago"
        );
        keep(key(1, "report", "ratio"));
        assert_eq!(
            kept_variants(&snapshots, 1, "report"),
            ["interval", "ratio"]
        );
        assert_eq!(kept_variants(&snapshots, 2, "report"), ["nominal"]);
        assert_eq!(kept_variants(&snapshots, 1, "health"), ["1"]);
        // Keeping a variant again replaces it without dropping another.
        keep(key(1, "report", "ratio"));
        assert_eq!(
            kept_variants(&snapshots, 1, "report"),
            ["interval", "ratio"]
        );
    }

    #[test]
    fn freshness_grows_with_cost_from_a_floor() {
        assert_eq!(fresh_for(Duration::from_millis(60)), MIN_FRESH);
        assert_eq!(fresh_for(Duration::from_secs(50)), Duration::from_secs(500));
    }
}
