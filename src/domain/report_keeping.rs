//! When a server brings the report of the project being labelled up to date by itself.
//!
//! A report starts from the project's labels read into memory, the engine's dataset made of
//! them, the consensus fitted on it and the label-distribution test; on half a million
//! labels those are most of a report's time. A server that prepares them while no one is
//! waiting answers the next report from them. It does so for the project labelled last among
//! the big ones (those with as many labels as a read of all would store, or with an input
//! stored), and only when what the report reads has changed since it last did: once
//! labelling has paused, so that it does not take the cores from raters in a burst, or when
//! its preparation is [`Keeping::at_most_behind`] old however busy the project is. A project
//! too big for its input to be kept is not prepared: its input is read for each report and
//! let go.
//!
//! A big project with nothing stored yet (no report of it was asked for at its size) is
//! prepared only once labelling pauses, never for being behind: its first preparation reads
//! every label (half a second of both cores on half a million) and stores the input, and
//! from then on the project is kept as one with an input stored. So the first report of a
//! project labelled to that size finds its input kept, or stored for a server that starts,
//! instead of reading every label while someone waits; the cost is the input held in
//! memory by a server whose big project's reports no one reads (about 100 bytes a label,
//! let go after ten minutes without labels or reports).
//!
//! Once prepared, the input is stored again when the stored one has fallen behind
//! ([`Keeping::store_due`]): a process that starts later, or another behind the same load
//! balancer, reads the stored input back and then what came since, and after a long run of
//! labelling what came since would otherwise be most of the project, or all of it.

use std::time::Duration;

/// How often the server looks, and when it prepares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keeping {
    /// How often the big project labelled last and its version are looked up (two small
    /// statements).
    pub every: Duration,
    /// How long labelling must have paused.
    pub quiet: Duration,
    /// How old a preparation may grow while labels keep coming.
    pub at_most_behind: Duration,
}

impl Default for Keeping {
    fn default() -> Self {
        Keeping {
            every: Duration::from_secs(2),
            quiet: Duration::from_secs(5),
            at_most_behind: Duration::from_secs(60),
        }
    }
}

/// What the server knows when it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Looked {
    /// Whether the process keeps the project's input: a bigger project's is read for each
    /// report and let go, so a preparation would be thrown away.
    pub keepable: bool,
    /// Whether an input of the project is stored: a project with none was never prepared,
    /// nor its report asked for at its size.
    pub stored: bool,
    /// Whether what the project's report reads changed since this server last prepared it
    /// (true when it never did).
    pub moved: bool,
    /// Time since the project's last label.
    pub since_last_label: Duration,
    /// Time since this server last prepared the project's report, if it did.
    pub since_prepared: Option<Duration>,
}

/// How the stored input of a project compares with the version a server just prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredLag {
    /// The labels the stored input holds.
    pub stored_labels: i64,
    /// Labels given (or, below zero, removed) since it was stored.
    pub labels_since: i64,
    /// Whether anything else its report reads changed since (a label edited, an item's
    /// gold answer, a settings edit, an item added or removed, a pseudonym): the items
    /// changed are read again onto it, and their log grows until a read of every label.
    pub otherwise_changed: bool,
    /// Whether a process could still read what came since onto it, rather than every label.
    pub followed: bool,
}

/// The share of its labels by which a stored input may fall behind before it is stored
/// again: one in ten.
const STORED_BEHIND_AT_MOST: i64 = 10;

impl Keeping {
    /// Whether to store the input just prepared in place of the stored one: when a process
    /// reading the stored one back would read every label instead, or read a tenth of them
    /// again, or the project's other changes since. Storing costs one encoding of the input
    /// and one write, at most once per preparation.
    pub fn store_due(&self, lag: StoredLag) -> bool {
        let far_behind = lag.labels_since.abs() * STORED_BEHIND_AT_MOST >= lag.stored_labels;
        let behind = lag.labels_since != 0 || lag.otherwise_changed;
        behind && (!lag.followed || lag.otherwise_changed || far_behind)
    }

    /// Whether to prepare the report now.
    pub fn due(&self, looked: Looked) -> bool {
        let paused = looked.since_last_label >= self.quiet;
        let overdue = looked.stored
            && looked
                .since_prepared
                .is_none_or(|since| since >= self.at_most_behind);
        looked.keepable && looked.moved && (paused || overdue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn looked(moved: bool, since_last_label: u64, since_prepared: Option<u64>) -> Looked {
        Looked {
            keepable: true,
            stored: true,
            moved,
            since_last_label: secs(since_last_label),
            since_prepared: since_prepared.map(secs),
        }
    }

    #[test]
    fn a_report_is_prepared_once_labelling_pauses_and_only_after_a_change() {
        let keeping = Keeping::default();
        assert!(
            keeping.due(looked(true, 5, Some(10))),
            "paused after a change"
        );
        assert!(
            !keeping.due(looked(true, 1, Some(10))),
            "raters still labelling"
        );
        assert!(
            !keeping.due(looked(false, 300, Some(10))),
            "nothing changed"
        );
        assert!(
            !keeping.due(looked(false, 300, Some(3600))),
            "nothing changed, long ago"
        );
    }

    #[test]
    fn a_busy_project_is_prepared_when_its_preparation_grows_old_or_never_was() {
        let keeping = Keeping::default();
        assert!(keeping.due(looked(true, 0, Some(60))), "a minute behind");
        assert!(
            !keeping.due(looked(true, 0, Some(59))),
            "under a minute behind"
        );
        assert!(
            keeping.due(looked(true, 0, None)),
            "never prepared: a server starting"
        );
    }

    fn lag(stored_labels: i64, labels_since: i64, otherwise_changed: bool) -> StoredLag {
        StoredLag {
            stored_labels,
            labels_since,
            otherwise_changed,
            followed: true,
        }
    }

    #[test]
    fn a_stored_input_is_stored_again_once_a_tenth_of_its_labels_or_anything_else_came_since() {
        let keeping = Keeping::default();
        assert!(!keeping.store_due(lag(1000, 0, false)), "the same version");
        assert!(
            !keeping.store_due(lag(1000, 99, false)),
            "under a tenth added"
        );
        assert!(keeping.store_due(lag(1000, 100, false)), "a tenth added");
        assert!(keeping.store_due(lag(1000, -100, false)), "a tenth removed");
        assert!(keeping.store_due(lag(1000, 0, true)), "an edit since");
        assert!(keeping.store_due(lag(1000, 3, true)), "labels and an edit");
        let unfollowed = StoredLag {
            followed: false,
            ..lag(1000, 1, false)
        };
        assert!(
            keeping.store_due(unfollowed),
            "a later process would read all"
        );
        assert!(
            !keeping.store_due(lag(0, 0, false)),
            "nothing stored, nothing since"
        );
    }

    #[test]
    fn a_big_project_with_nothing_stored_is_prepared_only_once_labelling_pauses() {
        let keeping = Keeping::default();
        let unstored = |since_label, since_prepared| Looked {
            stored: false,
            ..looked(true, since_label, since_prepared)
        };
        assert!(keeping.due(unstored(5, None)), "paused, never prepared");
        assert!(
            !keeping.due(unstored(0, None)),
            "raters labelling, never prepared: not in the burst"
        );
        assert!(
            !keeping.due(unstored(4, Some(3600))),
            "raters labelling, prepared long ago"
        );
        let unchanged = Looked {
            moved: false,
            ..unstored(300, Some(10))
        };
        assert!(!keeping.due(unchanged), "nothing changed since");
    }

    #[test]
    fn a_project_too_big_to_keep_is_never_prepared() {
        let keeping = Keeping::default();
        for (since_label, since_prepared) in [(300, None), (300, Some(3600)), (0, Some(60))] {
            let looked = Looked {
                keepable: false,
                ..looked(true, since_label, since_prepared)
            };
            assert!(!keeping.due(looked), "{looked:?}");
        }
    }
}
