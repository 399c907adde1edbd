//! The last report input a process read, kept for the next report of the same project.
//!
//! Reading every label of a project is about a third of a report's time on half a million
//! labels, and someone reading a report asks for several in a row (another level, another
//! method, a new seed). The input is kept with the version of the data it was read at
//! ([`InputVersion`]), read again in one statement before each report; any difference and
//! the input is read anew. The version is exact across processes: it is made of counts and
//! numbers that change in the same transaction as the data (migrations `report_generation`
//! and `project_report_generation`),
//! so a report never shows less than what was committed before it was asked for.
//!
//! When only labels were added since (the project's other counts and numbers unchanged),
//! the labels after the last one the input holds are read onto it instead
//! ([`Lookup::Behind`]): on a project being labelled, every report comes after a change.
//! When the project's own generation moved (a label edited, an adjudication, an item's
//! gold answer...), the items the triggers logged for it are read again too, and take the
//! place of what the input held of them; after a settings edit, which items are settled.
//!
//! One input is kept at a time, of at most [`MAX_KEPT_LABELS`] labels and without item data
//! (a slice's read of every item's data is not kept), and let go after [`IDLE`] without
//! use, so a server that served one report does not hold its labels for good.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::report::Coverage;
use crate::domain::report::ReportInput;
use crate::domain::report_keeping::StoredLag;

/// Labels at most in a kept input (about 100 MB in memory). A bigger project's reports
/// are kept whole instead (`snapshots`).
pub const MAX_KEPT_LABELS: i64 = 1_000_000;

/// How long a kept input stays without being used.
const IDLE: Duration = Duration::from_secs(600);

/// What a project's report input depends on. A label given or removed changes `labels`,
/// an item added or removed `items`, a settings edit (which may change how many labels an
/// item still wants) `revision`, and every other change to what a report reads (a label
/// edited, an item's gold answer, data or pre-label, an adjudication) moves the project's
/// own `generation` through the database's triggers, which also log the items each move
/// was for (migration `report_changes`). A pseudonym, which every project's reports read,
/// moves `shared`. None of them fires on the labelling path, and a change in one project
/// leaves the others' versions as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputVersion {
    pub shared: i64,
    pub generation: i64,
    pub revision: Option<i64>,
    pub labels: i64,
    pub items: i64,
}

impl InputVersion {
    /// Whether the data at `self` may be the data at `earlier` with labels added, the
    /// items that the project's changes since were for changed, and (after a settings edit)
    /// other items settled or reopened, and few enough labels added
    /// or removed that reading those onto the earlier input beats reading all (a quarter of
    /// the labels; more come from an import, not from raters). Whether it is, the read of
    /// what came since tells (its items and labels counted against this version's).
    pub(super) fn follows(&self, earlier: &InputVersion) -> bool {
        let added = self.labels - earlier.labels;
        let few = added.abs() <= earlier.labels / 4;
        let moved = match self.generation.cmp(&earlier.generation) {
            std::cmp::Ordering::Equal => {
                (added > 0 || self.revision != earlier.revision) && self.items == earlier.items
            }
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
        };
        self.shared == earlier.shared && few && moved
    }

    /// How an input stored at `stored` lags behind this version, for
    /// [`Keeping::store_due`](crate::domain::report_keeping::Keeping::store_due).
    pub fn lag_of(&self, stored: &InputVersion) -> StoredLag {
        StoredLag {
            stored_labels: stored.labels,
            labels_since: self.labels - stored.labels,
            otherwise_changed: InputVersion {
                labels: stored.labels,
                ..*self
            } != *stored,
            followed: self.follows(stored),
        }
    }
}

/// What a store holds of a project's report input at a version.
pub enum Lookup {
    /// The input of that very version.
    Current(Arc<ReportInput>),
    /// The input of an earlier version, which may differ only by labels added and items
    /// changed since: the caller may read those onto it. It is no longer kept.
    Behind(Box<Behind>),
    /// Nothing usable: the caller reads the input anew.
    Missing,
}

/// A kept input that labels were added to or items changed since, taken out of the store.
pub struct Behind {
    pub version: InputVersion,
    pub input: Arc<ReportInput>,
    pub coverage: Coverage,
}

#[derive(Debug)]
pub struct KeptInput {
    slot: Arc<Mutex<Slot>>,
    /// Held while an input is looked up and, when missing or behind, read: a report asked
    /// for while another reads waits for that read and is served what it kept, instead of
    /// reading every label beside it.
    reading: tokio::sync::Mutex<()>,
    counts: InputCounts,
    /// Labels from which an input read whole is stored in the database (`stored_input`).
    store_from: AtomicI64,
    /// Labels at most in an input kept or stored ([`MAX_KEPT_LABELS`] but in tests).
    keep_up_to: AtomicI64,
}

impl Default for KeptInput {
    fn default() -> Self {
        KeptInput::idle_for(IDLE)
    }
}

/// How the report inputs a process served came about, since it started.
#[derive(Debug, Default)]
struct InputCounts {
    kept: AtomicU64,
    later_labels: AtomicU64,
    changed_items: AtomicU64,
    stored: AtomicU64,
    stored_later_labels: AtomicU64,
    stored_changed_items: AtomicU64,
    read: AtomicU64,
}

/// How a report input was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputSource {
    /// Kept as it was.
    Kept,
    /// Kept, with the labels given since read onto it.
    LaterLabels,
    /// Kept, with the items changed since (and the labels given) read onto it.
    ChangedItems,
    /// Read back as stored in the database (`stored_input`).
    Stored,
    /// Read back as stored, with the labels given since read onto it.
    StoredLaterLabels,
    /// Read back as stored, with the items changed since (and the labels given) read onto
    /// it.
    StoredChangedItems,
    /// Read whole.
    Read,
}

impl InputSource {
    pub const ALL: [InputSource; 7] = [
        InputSource::Kept,
        InputSource::LaterLabels,
        InputSource::ChangedItems,
        InputSource::Stored,
        InputSource::StoredLaterLabels,
        InputSource::StoredChangedItems,
        InputSource::Read,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InputSource::Kept => "kept",
            InputSource::LaterLabels => "later_labels",
            InputSource::ChangedItems => "changed_items",
            InputSource::Stored => "stored",
            InputSource::StoredLaterLabels => "stored_later_labels",
            InputSource::StoredChangedItems => "stored_changed_items",
            InputSource::Read => "read",
        }
    }
}

impl InputCounts {
    fn of(&self, source: InputSource) -> &AtomicU64 {
        match source {
            InputSource::Kept => &self.kept,
            InputSource::LaterLabels => &self.later_labels,
            InputSource::ChangedItems => &self.changed_items,
            InputSource::Stored => &self.stored,
            InputSource::StoredLaterLabels => &self.stored_later_labels,
            InputSource::StoredChangedItems => &self.stored_changed_items,
            InputSource::Read => &self.read,
        }
    }
}

#[derive(Debug)]
struct Slot {
    kept: Option<Kept>,
    /// Whether a task is watching the kept input to let it go once idle.
    watched: bool,
    /// How long the kept input stays without being used.
    idle: Duration,
}

#[derive(Debug)]
struct Kept {
    project_id: i64,
    version: InputVersion,
    input: Arc<ReportInput>,
    coverage: Coverage,
    last_used: Instant,
}

fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    // A panic while holding the lock leaves a plain option behind: still usable.
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

impl KeptInput {
    /// Keeps inputs that are let go after `idle` without use.
    fn idle_for(idle: Duration) -> Self {
        let slot = Slot {
            kept: None,
            watched: false,
            idle,
        };
        let store_from = AtomicI64::new(super::stored_input::STORE_FROM_LABELS);
        KeptInput {
            slot: Arc::new(Mutex::new(slot)),
            reading: tokio::sync::Mutex::new(()),
            counts: InputCounts::default(),
            store_from,
            keep_up_to: AtomicI64::new(MAX_KEPT_LABELS),
        }
    }

    /// Labels from which an input read whole is stored in the database.
    pub fn store_from(&self) -> i64 {
        self.store_from.load(Ordering::Relaxed)
    }

    /// Stores inputs read whole from `labels` labels on (tests store small ones).
    pub fn set_store_from(&self, labels: i64) {
        self.store_from.store(labels, Ordering::Relaxed);
    }

    /// Whether an input of `labels` labels is kept (and, read whole, stored): a bigger
    /// project's input is read for each report and let go.
    pub fn keeps(&self, labels: i64) -> bool {
        labels <= self.keep_up_to.load(Ordering::Relaxed)
    }

    /// Keeps inputs of at most `labels` labels (tests keep no input of a small project).
    pub fn set_keep_up_to(&self, labels: i64) {
        self.keep_up_to.store(labels, Ordering::Relaxed);
    }

    /// The right to look up and read a keepable input, one caller at a time.
    pub async fn reading(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.reading.lock().await
    }

    /// Counts a report input served.
    pub fn count(&self, source: InputSource) {
        self.counts.of(source).fetch_add(1, Ordering::Relaxed);
    }

    /// How many report inputs were had from `source` since the process started.
    pub fn served(&self, source: InputSource) -> u64 {
        self.counts.of(source).load(Ordering::Relaxed)
    }

    /// The kept input, when it is of `project_id` at `version` or at one that `version`
    /// may follow ([`InputVersion::follows`]). Any other is let go here, before the caller reads the one it needs:
    /// the two are never held at once.
    pub fn get(&self, project_id: i64, version: InputVersion) -> Lookup {
        let mut slot = lock(&self.slot);
        let Some(kept) = slot.kept.as_mut().filter(|k| k.project_id == project_id) else {
            slot.kept = None;
            return Lookup::Missing;
        };
        if kept.version == version {
            kept.last_used = Instant::now();
            return Lookup::Current(kept.input.clone());
        }
        match slot.kept.take() {
            Some(kept) if version.follows(&kept.version) => Lookup::Behind(Box::new(Behind {
                version: kept.version,
                input: kept.input,
                coverage: kept.coverage,
            })),
            _ => Lookup::Missing,
        }
    }

    /// The version of the input kept for `project_id`, without counting as use.
    pub fn version_of(&self, project_id: i64) -> Option<InputVersion> {
        let slot = lock(&self.slot);
        (slot.kept.as_ref())
            .filter(|k| k.project_id == project_id)
            .map(|k| k.version)
    }

    /// The input kept for `project_id`, its version and a copy of its coverage, without
    /// counting as use.
    pub fn current(&self, project_id: i64) -> Option<(InputVersion, Arc<ReportInput>, Coverage)> {
        let slot = lock(&self.slot);
        let kept = slot.kept.as_ref().filter(|k| k.project_id == project_id)?;
        Some((
            kept.version,
            kept.input.clone(),
            kept.coverage.names_and_read(),
        ))
    }

    /// Keeps `input`, read at `version` with `coverage`, in place of what was kept. Called
    /// on the async runtime, where the task that lets an idle input go is started.
    pub fn keep(
        &self,
        project_id: i64,
        version: InputVersion,
        input: Arc<ReportInput>,
        coverage: Coverage,
    ) {
        let mut slot = lock(&self.slot);
        slot.kept = Some(Kept {
            project_id,
            version,
            input,
            coverage,
            last_used: Instant::now(),
        });
        if !slot.watched && tokio::runtime::Handle::try_current().is_ok() {
            slot.watched = true;
            tokio::spawn(let_go_when_idle(Arc::downgrade(&self.slot)));
        }
    }
}

/// Drops the kept input once it has not been used for `IDLE`, and ends when nothing is kept
/// or the store itself is gone.
async fn let_go_when_idle(slot: Weak<Mutex<Slot>>) {
    let Some(mut wait) = slot.upgrade().map(|slot| lock(&slot).idle) else {
        return;
    };
    loop {
        tokio::time::sleep(wait).await;
        let Some(slot) = slot.upgrade() else {
            return;
        };
        let mut slot = lock(&slot);
        match time_left(&slot, Instant::now()) {
            Some(left) => wait = left,
            None => {
                slot.kept = None;
                slot.watched = false;
                return;
            }
        }
    }
}

/// How much longer the kept input may stay unused; `None` when it should go now (or
/// nothing is kept).
fn time_left(slot: &Slot, now: Instant) -> Option<Duration> {
    let kept = slot.kept.as_ref()?;
    slot.idle
        .checked_sub(now.saturating_duration_since(kept.last_used))
        .filter(|left| !left.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(labels: i64) -> InputVersion {
        InputVersion {
            shared: 2,
            generation: 3,
            revision: Some(1),
            labels,
            items: 10,
        }
    }

    /// A stored input's lag counts the labels since and tells an edit, a settings edit or
    /// a pseudonym apart from labels alone.
    #[test]
    fn a_stored_inputs_lag_tells_labels_from_other_changes() {
        let stored = version(400);
        let same = version(400).lag_of(&stored);
        assert_eq!((same.labels_since, same.otherwise_changed), (0, false));
        let labelled = version(430).lag_of(&stored);
        assert_eq!((labelled.stored_labels, labelled.labels_since), (400, 30));
        assert!(!labelled.otherwise_changed && labelled.followed);
        let edited = InputVersion {
            generation: 4,
            ..version(400)
        };
        assert!(edited.lag_of(&stored).otherwise_changed);
        let renamed = InputVersion {
            shared: 3,
            ..version(430)
        };
        let lag = renamed.lag_of(&stored);
        assert!(lag.otherwise_changed && !lag.followed);
        assert!(!version(600).lag_of(&stored).followed, "past a quarter");
    }

    fn input(items: i64) -> Arc<ReportInput> {
        Arc::new(ReportInput {
            items,
            ..ReportInput::default()
        })
    }

    impl Lookup {
        fn current(self) -> Option<Arc<ReportInput>> {
            match self {
                Lookup::Current(input) => Some(input),
                _ => None,
            }
        }

        fn is_missing(&self) -> bool {
            matches!(self, Lookup::Missing)
        }
    }

    fn keep(kept: &KeptInput, project_id: i64, version: InputVersion, input: Arc<ReportInput>) {
        kept.keep(project_id, version, input, Coverage::default());
    }

    #[tokio::test]
    async fn an_input_serves_its_own_project_at_its_own_version_only() {
        let kept = KeptInput::default();
        let read = input(10);
        keep(&kept, 1, version(20), read.clone());
        let served = kept.get(1, version(20)).current().expect("kept");
        assert!(Arc::ptr_eq(&served, &read));
        let renamed = InputVersion {
            shared: 3,
            ..version(20)
        };
        let older = InputVersion {
            generation: 2,
            ..version(21)
        };
        let many_removed = InputVersion {
            generation: 4,
            ..version(14)
        };
        let imported = InputVersion {
            items: 11,
            ..version(21)
        };
        for (project, other) in [
            (2, version(20)),
            (1, version(19)),
            (1, version(26)),
            (1, renamed),
            (1, older),
            (1, many_removed),
            (1, imported),
        ] {
            keep(&kept, 1, version(20), read.clone());
            assert!(kept.get(project, other).is_missing(), "{project} {other:?}");
            assert!(
                lock(&kept.slot).kept.is_none(),
                "the input of another version is let go before the new one is read"
            );
        }
    }

    #[tokio::test]
    async fn an_input_that_labels_were_added_to_is_handed_over_to_be_read_onto() {
        let kept = KeptInput::default();
        let read = input(10);
        let edited = |labels: i64, items: i64| InputVersion {
            generation: 4,
            items,
            ..version(labels)
        };
        let revised = InputVersion {
            revision: Some(2),
            ..version(20)
        };
        for (what, later) in [
            ("a label added", version(21)),
            ("five labels added", version(25)),
            ("a label edited", edited(20, 10)),
            ("an item and its labels removed", edited(17, 9)),
            ("labels removed and added", edited(24, 10)),
            ("the settings edited", revised),
        ] {
            keep(&kept, 1, version(20), read.clone());
            let Lookup::Behind(behind) = kept.get(1, later) else {
                panic!("{what}: not handed over");
            };
            assert!(Arc::ptr_eq(&behind.input, &read));
            assert_eq!(behind.version, version(20));
            assert!(
                lock(&kept.slot).kept.is_none(),
                "handed over, the input is no longer kept"
            );
        }
    }

    #[tokio::test]
    async fn a_new_input_takes_the_place_of_the_last() {
        let kept = KeptInput::default();
        keep(&kept, 1, version(20), input(10));
        keep(&kept, 2, version(5), input(3));
        let served = kept.get(2, version(5)).current();
        assert_eq!(served.map(|i| i.items), Some(3));
        assert!(kept.get(1, version(20)).is_missing());
    }

    #[test]
    fn an_input_goes_after_it_has_not_been_used_for_a_while() {
        let now = Instant::now();
        let mut slot = Slot {
            kept: None,
            watched: false,
            idle: IDLE,
        };
        assert_eq!(time_left(&slot, now), None, "nothing kept");
        slot.kept = Some(Kept {
            project_id: 1,
            version: version(1),
            input: input(1),
            coverage: Coverage::default(),
            last_used: now,
        });
        assert_eq!(time_left(&slot, now), Some(IDLE));
        assert_eq!(
            time_left(&slot, now + IDLE / 4),
            Some(IDLE - IDLE / 4),
            "used a while ago: stays for the rest"
        );
        assert_eq!(time_left(&slot, now + IDLE), None);
        assert_eq!(time_left(&slot, now + IDLE * 2), None);
    }

    #[tokio::test]
    async fn an_idle_input_is_let_go_and_the_watch_ends() {
        let idle = Duration::from_millis(200);
        let kept = KeptInput::idle_for(idle);
        keep(&kept, 1, version(20), input(10));
        tokio::time::sleep(idle / 2).await;
        assert!(kept.get(1, version(20)).current().is_some(), "used");
        tokio::time::sleep(idle * 3 / 4).await;
        assert!(
            kept.get(1, version(20)).current().is_some(),
            "used half way: stays past the first wait"
        );
        // Watched without `get`, which would count as use.
        let last_used = Instant::now();
        while lock(&kept.slot).kept.is_some() {
            assert!(last_used.elapsed() < idle * 20, "never let go");
            tokio::time::sleep(idle / 10).await;
        }
        assert!(last_used.elapsed() >= idle * 9 / 10, "let go too soon");
        assert!(!lock(&kept.slot).watched, "the watch ended");
    }
}
