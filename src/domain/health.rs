//! A project's health over time: throughput, the label distribution with a drift flag,
//! rolling agreement, rater activity and feedback events, per window of a timeline that
//! adapts to the project's age. The store counts per window; this module lays the counts
//! on the timeline and judges drift. No SQL, no HTTP.

use std::collections::BTreeMap;

use serde::Serialize;

use super::feedback::{psi, DRIFT_MIN_EVENTS, DRIFT_PSI};
use super::kinds::{display, from_stored};
use super::pace::{DAY_MS, HOUR_MS};

/// Hourly windows while the project's activity spans at most this many hours.
pub const MAX_HOURS: i64 = 48;
/// Daily windows after that, at most this many (the latest ones).
pub const MAX_DAYS: i64 = 60;

/// The most labels the distribution and agreement read; past it, every n-th item.
pub const SAMPLE_LABELS: i64 = 60_000;

/// Which items the distribution and agreement read: every n-th (by id), so that at most
/// about [`SAMPLE_LABELS`] of `labels` are read.
pub fn sample_every(labels: i64) -> i64 {
    ((labels.max(0) + SAMPLE_LABELS - 1) / SAMPLE_LABELS).max(1)
}

/// The width of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Hour,
    Day,
}

impl Step {
    pub fn ms(self) -> i64 {
        match self {
            Step::Hour => HOUR_MS,
            Step::Day => DAY_MS,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Hour => "hour",
            Step::Day => "day",
        }
    }
}

/// Consecutive windows of one step, aligned to whole hours or days (UTC), the last one
/// holding `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    pub step: Step,
    /// Epoch milliseconds at which the first window starts.
    pub start: i64,
    pub windows: i64,
}

impl Timeline {
    /// The timeline from the first activity (a label or a feedback event) to `now`: hours
    /// while that spans at most [`MAX_HOURS`], else days (the last [`MAX_DAYS`]). None
    /// before any activity.
    pub fn covering(first_activity: Option<i64>, now: i64) -> Option<Timeline> {
        let first = first_activity?.min(now);
        let floor = |at: i64, step: i64| at - at.rem_euclid(step);
        let hours = (floor(now, HOUR_MS) - floor(first, HOUR_MS)) / HOUR_MS + 1;
        if hours <= MAX_HOURS {
            return Some(Timeline {
                step: Step::Hour,
                start: floor(first, HOUR_MS),
                windows: hours,
            });
        }
        let days = ((floor(now, DAY_MS) - floor(first, DAY_MS)) / DAY_MS + 1).min(MAX_DAYS);
        Some(Timeline {
            step: Step::Day,
            start: floor(now, DAY_MS) - (days - 1) * DAY_MS,
            windows: days,
        })
    }

    pub fn window_start(&self, window: i64) -> i64 {
        self.start + window * self.step.ms()
    }

    /// A window's name: `12-02 14:00` for hours, `2026-12-02` for days (UTC).
    pub fn name(&self, window: i64) -> String {
        let at = time::OffsetDateTime::from_unix_timestamp(self.window_start(window) / 1000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        match self.step {
            Step::Hour => format!(
                "{:02}-{:02} {:02}:00",
                u8::from(at.month()),
                at.day(),
                at.hour()
            ),
            Step::Day => format!(
                "{:04}-{:02}-{:02}",
                at.year(),
                u8::from(at.month()),
                at.day()
            ),
        }
    }
}

/// What the store counts per window (the window's index on the timeline).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthCounts {
    /// (window, labels, distinct raters).
    pub labels: Vec<(i64, i64, i64)>,
    /// (window, stored value, labels) on the sampled real items.
    pub values: Vec<(i64, String, i64)>,
    /// (window, agreeing ordered pairs, ordered pairs) of sampled real items, each counted
    /// in the window of its latest label.
    pub pairs: Vec<(i64, i64, i64)>,
    /// (source, window, events received).
    pub feedback: Vec<(String, i64, i64)>,
    /// Values and pairs come from every n-th item (1: all), so large projects stay quick.
    pub sample_every: i64,
}

/// One window of the health page.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HealthWindow {
    /// Epoch milliseconds.
    pub start: i64,
    pub name: String,
    pub labels: i64,
    pub active_raters: i64,
    /// Labels per category, on the sampled items.
    pub distribution: BTreeMap<String, i64>,
    /// Pairs of labels on the same item, among items whose latest label came in this window.
    pub pairs: i64,
    /// The share of those pairs that agree.
    pub agreement: Option<f64>,
}

/// How the drift check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftState {
    /// The kind's values are not categories: no distribution to compare.
    NotCategorical,
    /// A single window so far.
    OneWindow,
    /// Fewer than [`DRIFT_MIN_EVENTS`] labels in the latest window or in the earlier ones.
    TooFewLabels,
    Steady,
    Drifting,
}

/// The latest window's label distribution against the earlier windows' together, by the
/// population stability index (the measure the feedback sources' drift flag uses).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LabelDrift {
    pub state: DriftState,
    pub psi: Option<f64>,
    pub threshold: f64,
    pub min_labels: i64,
    pub latest_labels: i64,
    pub earlier_labels: i64,
}

/// Events per window from one feedback source.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SourceSeries {
    pub source: String,
    pub events: Vec<i64>,
}

/// The health page's figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub step: Step,
    pub windows: Vec<HealthWindow>,
    /// Categories in display order: the project's labels first, then any other value.
    pub categories: Vec<String>,
    pub drift: LabelDrift,
    pub sample_every: i64,
    pub feedback: Vec<SourceSeries>,
}

/// Orders categories: the known ones (the project's labels) first in their order, then
/// the others, numbers by value and text alphabetically.
fn ordered_categories(known: &[String], seen: impl Iterator<Item = String>) -> Vec<String> {
    let mut others: Vec<String> = seen.filter(|c| !known.contains(c)).collect();
    others.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    });
    others.dedup();
    let present: Vec<String> = known.to_vec();
    present.into_iter().chain(others).collect()
}

fn drift(windows: &[HealthWindow], categorical: bool) -> LabelDrift {
    let mut verdict = LabelDrift {
        state: DriftState::NotCategorical,
        psi: None,
        threshold: DRIFT_PSI,
        min_labels: DRIFT_MIN_EVENTS,
        latest_labels: 0,
        earlier_labels: 0,
    };
    if !categorical {
        return verdict;
    }
    let Some((latest, earlier)) = windows.split_last().filter(|(_, e)| !e.is_empty()) else {
        verdict.state = DriftState::OneWindow;
        return verdict;
    };
    let mut before: BTreeMap<String, i64> = BTreeMap::new();
    for window in earlier {
        for (category, n) in &window.distribution {
            *before.entry(category.clone()).or_default() += n;
        }
    }
    verdict.latest_labels = latest.distribution.values().sum();
    verdict.earlier_labels = before.values().sum();
    verdict.psi = psi(&latest.distribution, &before);
    verdict.state =
        if verdict.latest_labels < DRIFT_MIN_EVENTS || verdict.earlier_labels < DRIFT_MIN_EVENTS {
            DriftState::TooFewLabels
        } else if verdict.psi.is_some_and(|p| p > DRIFT_PSI) {
            DriftState::Drifting
        } else {
            DriftState::Steady
        };
    verdict
}

/// Lays the counts on the timeline. `categorical` says whether the kind's values are
/// categories (else no distribution, agreement or drift); `known` lists the project's
/// labels in their order.
pub fn assemble(
    timeline: &Timeline,
    counts: &HealthCounts,
    categorical: bool,
    known: &[String],
) -> Health {
    let in_range = |w: i64| (0..timeline.windows).contains(&w);
    let mut windows: Vec<HealthWindow> = (0..timeline.windows)
        .map(|w| HealthWindow {
            start: timeline.window_start(w),
            name: timeline.name(w),
            labels: 0,
            active_raters: 0,
            distribution: BTreeMap::new(),
            pairs: 0,
            agreement: None,
        })
        .collect();
    for &(w, labels, raters) in counts.labels.iter().filter(|c| in_range(c.0)) {
        windows[w as usize].labels = labels;
        windows[w as usize].active_raters = raters;
    }
    if categorical {
        for (w, stored, n) in counts.values.iter().filter(|c| in_range(c.0)) {
            let category = display(&from_stored(stored));
            *windows[*w as usize]
                .distribution
                .entry(category)
                .or_default() += n;
        }
        for &(w, agreeing, pairs) in counts.pairs.iter().filter(|c| in_range(c.0)) {
            let window = &mut windows[w as usize];
            window.pairs = pairs / 2;
            window.agreement = (pairs > 0).then(|| agreeing as f64 / pairs as f64);
        }
    }
    let mut feedback: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (source, w, n) in counts.feedback.iter().filter(|c| in_range(c.1)) {
        feedback
            .entry(source)
            .or_insert_with(|| vec![0; timeline.windows as usize])[*w as usize] += n;
    }
    let seen = windows
        .iter()
        .flat_map(|w| w.distribution.keys().cloned())
        .collect::<Vec<_>>();
    let known = if categorical { known } else { &[] };
    Health {
        step: timeline.step,
        categories: if categorical {
            ordered_categories(known, seen.into_iter())
        } else {
            Vec::new()
        },
        drift: drift(&windows, categorical),
        sample_every: counts.sample_every,
        feedback: feedback
            .into_iter()
            .map(|(source, events)| SourceSeries {
                source: source.to_string(),
                events,
            })
            .collect(),
        windows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_633_600_000; // 2025-12-02 00:00 UTC

    #[test]
    fn the_timeline_is_hourly_while_young_then_daily() {
        let young = Timeline::covering(Some(T0 + 10 * 60_000), T0 + 5 * HOUR_MS + 1).unwrap();
        assert_eq!(young.step, Step::Hour);
        assert_eq!(young.start, T0);
        assert_eq!(young.windows, 6);
        assert_eq!(young.name(2), "12-02 02:00");
        let old = Timeline::covering(Some(T0), T0 + 3 * DAY_MS + 5).unwrap();
        assert_eq!(old.step, Step::Day);
        assert_eq!((old.start, old.windows), (T0, 4));
        assert_eq!(old.name(3), "2025-12-05");
        let ancient = Timeline::covering(Some(T0), T0 + 400 * DAY_MS).unwrap();
        assert_eq!(ancient.windows, MAX_DAYS);
        assert_eq!(ancient.window_start(MAX_DAYS - 1), T0 + 400 * DAY_MS);
        assert_eq!(Timeline::covering(None, T0), None);
    }

    #[test]
    fn large_projects_are_sampled() {
        assert_eq!(sample_every(0), 1);
        assert_eq!(sample_every(SAMPLE_LABELS), 1);
        assert_eq!(sample_every(SAMPLE_LABELS + 1), 2);
        assert_eq!(sample_every(45 * SAMPLE_LABELS), 45);
    }

    fn timeline(windows: i64) -> Timeline {
        Timeline {
            step: Step::Day,
            start: T0,
            windows,
        }
    }

    fn labels(pairs: &[(i64, &str, i64)]) -> Vec<(i64, String, i64)> {
        pairs
            .iter()
            .map(|(w, v, n)| (*w, format!("\"{v}\""), *n))
            .collect()
    }

    #[test]
    fn a_shift_in_the_latest_window_is_flagged() {
        let counts = HealthCounts {
            labels: vec![(0, 40, 2), (1, 40, 3), (2, 40, 1)],
            values: labels(&[
                (0, "pos", 30),
                (0, "neg", 10),
                (1, "pos", 30),
                (1, "neg", 10),
                (2, "neg", 40),
            ]),
            pairs: vec![(2, 18, 24)],
            feedback: vec![("stars".into(), 2, 7), ("stars".into(), 9, 1)],
            sample_every: 1,
        };
        let known = vec!["pos".to_string(), "neg".to_string(), "neutral".to_string()];
        let health = assemble(&timeline(3), &counts, true, &known);
        assert_eq!(health.windows[1].active_raters, 3);
        assert_eq!(health.windows[2].distribution["neg"], 40);
        assert_eq!(health.windows[2].agreement, Some(0.75));
        assert_eq!(health.windows[2].pairs, 12);
        assert_eq!(health.windows[0].agreement, None);
        assert_eq!(health.drift.state, DriftState::Drifting);
        assert_eq!(
            (health.drift.latest_labels, health.drift.earlier_labels),
            (40, 80)
        );
        assert!(health.drift.psi.unwrap() > DRIFT_PSI);
        assert_eq!(health.categories, known);
        assert_eq!(
            health.feedback[0].events,
            vec![0, 0, 7],
            "out-of-range windows are dropped"
        );
    }

    #[test]
    fn steady_sparse_and_non_categorical_projects_are_not_flagged() {
        let steady = HealthCounts {
            values: labels(&[
                (0, "pos", 30),
                (0, "neg", 30),
                (1, "pos", 31),
                (1, "neg", 29),
            ]),
            sample_every: 1,
            ..HealthCounts::default()
        };
        assert_eq!(
            assemble(&timeline(2), &steady, true, &[]).drift.state,
            DriftState::Steady
        );
        let sparse = HealthCounts {
            values: labels(&[(0, "pos", 30), (1, "neg", 29)]),
            ..steady.clone()
        };
        assert_eq!(
            assemble(&timeline(2), &sparse, true, &[]).drift.state,
            DriftState::TooFewLabels
        );
        assert_eq!(
            assemble(&timeline(1), &steady, true, &[]).drift.state,
            DriftState::OneWindow
        );
        let text = assemble(&timeline(2), &steady, false, &[]);
        assert_eq!(text.drift.state, DriftState::NotCategorical);
        assert!(text.windows[0].distribution.is_empty());
    }

    #[test]
    fn unknown_categories_follow_the_known_ones_in_numeric_order() {
        let seen = ["10", "2", "b", "a"].map(String::from).into_iter();
        assert_eq!(
            ordered_categories(&["z".into()], seen),
            ["z", "2", "10", "a", "b"]
        );
    }
}
