//! People as admins manage them: where an account stands, the one-time links that set a
//! password, and the figures of a rater's work (agreement with the consensus, median time
//! per label). No HTTP and no SQL here.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::kinds::Schema;

/// How long an invitation or a password reset link works.
pub const LINK_LIFETIME_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// Where an account stands, as the people list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// May sign in (if it has a password) and work.
    Active,
    /// Invited by a link that has not been used yet: no password so far.
    Invited,
    /// Cannot sign in, holds no tokens or sessions, gets no items; labels stay.
    Deactivated,
    /// Personal data erased: the name is the pseudonym, nothing signs in, labels stay.
    Erased,
}

impl AccountStatus {
    pub fn of(erased: bool, deactivated: bool, invited: bool) -> Self {
        if erased {
            AccountStatus::Erased
        } else if deactivated {
            AccountStatus::Deactivated
        } else if invited {
            AccountStatus::Invited
        } else {
            AccountStatus::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Invited => "invited",
            AccountStatus::Deactivated => "deactivated",
            AccountStatus::Erased => "erased",
        }
    }
}

/// Where a rater stands in one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkStatus {
    Active,
    /// Paused in this project (by an admin or by their gold record), with a reason.
    Paused,
    /// Deactivated everywhere.
    Deactivated,
}

impl WorkStatus {
    pub fn of(deactivated: bool, paused: bool) -> Self {
        if deactivated {
            WorkStatus::Deactivated
        } else if paused {
            WorkStatus::Paused
        } else {
            WorkStatus::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkStatus::Active => "active",
            WorkStatus::Paused => "paused",
            WorkStatus::Deactivated => "deactivated",
        }
    }
}

/// What a one-time password link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    Invite,
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "invite" => Some(LinkPurpose::Invite),
            "reset" => Some(LinkPurpose::Reset),
            _ => None,
        }
    }
}

/// Why a one-time link cannot be used, in words for the person holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    Unknown,
    Used,
    Expired,
    AccountClosed,
}

impl LinkRefusal {
    pub fn message(self) -> &'static str {
        match self {
            LinkRefusal::Unknown => {
                "This link is not valid. Check that it was copied whole, or ask an admin for a new one."
            }
            LinkRefusal::Used => {
                "This link has been used already; each link works once. Sign in with the password you set, or ask an admin for a new link."
            }
            LinkRefusal::Expired => {
                "This link has expired (links work for 7 days). Ask an admin for a new one."
            }
            LinkRefusal::AccountClosed => {
                "This account has been deactivated, so its password cannot be set. Ask an admin."
            }
        }
    }
}

/// Whether a stored link may still be used at `now`.
pub fn check_link(
    used_at: Option<i64>,
    expires_at: i64,
    account_open: bool,
    now: i64,
) -> Result<(), LinkRefusal> {
    if used_at.is_some() {
        Err(LinkRefusal::Used)
    } else if now >= expires_at {
        Err(LinkRefusal::Expired)
    } else if !account_open {
        Err(LinkRefusal::AccountClosed)
    } else {
        Ok(())
    }
}

/// A rater's figures gathered over items: how many of their labels met an item consensus
/// and agreed with it, and how long each label took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkFigures {
    /// Labels on items that have a consensus (not a tie, at least two labels).
    pub compared: u64,
    /// Of those, labels that agree with the consensus under the kind's gold rule.
    pub agreeing: u64,
    /// Every label's duration, in milliseconds, where the client sent one.
    pub durations_ms: Vec<i64>,
}

impl WorkFigures {
    /// Share of the rater's compared labels that agree with the consensus.
    pub fn agreement(&self) -> Option<f64> {
        (self.compared > 0).then(|| self.agreeing as f64 / self.compared as f64)
    }

    /// The median duration of a label (the mean of the two middle ones for an even count).
    pub fn median_duration_ms(&self) -> Option<i64> {
        let mut copy = Vec::new();
        let sorted = if self.durations_ms.is_sorted() {
            &self.durations_ms
        } else {
            copy.extend_from_slice(&self.durations_ms);
            copy.sort_unstable();
            &copy
        };
        let n = sorted.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(sorted[n / 2]),
            _ => {
                let sum = i128::from(sorted[n / 2 - 1]) + i128::from(sorted[n / 2]);
                i64::try_from(sum / 2).ok()
            }
        }
    }

    pub fn merge(&mut self, other: &WorkFigures) {
        self.compared += other.compared;
        self.agreeing += other.agreeing;
        self.durations_ms.extend_from_slice(&other.durations_ms);
    }
}

/// One label as the figures need it.
#[derive(Debug, Clone)]
pub struct LabelFact {
    pub rater_id: i64,
    pub value: Value,
    pub duration_ms: Option<i64>,
}

/// Adds one item's labels to the raters' figures. Gold and qualification items count for
/// time only (their own measure is gold accuracy); an item with fewer than two labels or
/// a tie has no consensus to agree with.
pub fn add_item(
    schema: &Schema<'_>,
    counts_for_agreement: bool,
    labels: &[LabelFact],
    figures: &mut HashMap<i64, WorkFigures>,
) {
    for label in labels {
        if let Some(ms) = label.duration_ms {
            figures
                .entry(label.rater_id)
                .or_default()
                .durations_ms
                .push(ms);
        }
    }
    if !counts_for_agreement || labels.len() < 2 {
        return;
    }
    let values: Vec<Value> = labels.iter().map(|l| l.value.clone()).collect();
    let Some(consensus) = schema.consensus(&values).value else {
        return;
    };
    for label in labels {
        let entry = figures.entry(label.rater_id).or_default();
        entry.compared += 1;
        if schema.matches(&label.value, &consensus) {
            entry.agreeing += 1;
        }
    }
}

/// A share as a percentage for pages: `0.8125` reads `81%`.
pub fn percent(share: &Option<f64>) -> String {
    share.map_or_else(|| "–".to_string(), |s| format!("{:.0}%", s * 100.0))
}

/// A duration for pages: `1.2 s`, `14 s`, `2 min 5 s`.
pub fn duration_text(ms: &Option<i64>) -> String {
    let Some(ms) = *ms else {
        return "–".to_string();
    };
    if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 60_000 {
        format!("{} s", ms / 1000)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kinds::{Kind, Settings};
    use serde_json::json;

    fn fact(rater_id: i64, value: &str, ms: i64) -> LabelFact {
        LabelFact {
            rater_id,
            value: json!(value),
            duration_ms: Some(ms),
        }
    }

    #[test]
    fn agreement_counts_labels_against_the_majority_of_their_item() {
        let labels = vec!["pos".to_string(), "neg".to_string()];
        let settings = Settings::default();
        let schema = Schema {
            kind: Kind::SingleChoice,
            labels: &labels,
            settings: &settings,
        };
        let mut figures = HashMap::new();
        add_item(
            &schema,
            true,
            &[
                fact(1, "pos", 1000),
                fact(2, "pos", 3000),
                fact(3, "neg", 500),
            ],
            &mut figures,
        );
        // A tie has no consensus: time counts, agreement does not.
        add_item(
            &schema,
            true,
            &[fact(1, "pos", 2000), fact(3, "neg", 700)],
            &mut figures,
        );
        // A single label is no majority.
        add_item(&schema, true, &[fact(3, "neg", 900)], &mut figures);
        // Gold items count for time only.
        add_item(
            &schema,
            false,
            &[fact(2, "neg", 100), fact(3, "neg", 100)],
            &mut figures,
        );
        assert_eq!(figures[&1].agreement(), Some(1.0));
        assert_eq!(figures[&2].agreement(), Some(1.0));
        assert_eq!(figures[&3].agreement(), Some(0.0));
        assert_eq!(figures[&3].compared, 1);
        assert_eq!(figures[&1].median_duration_ms(), Some(1500));
        assert_eq!(figures[&3].median_duration_ms(), Some(600));
        assert_eq!(WorkFigures::default().agreement(), None);
        assert_eq!(WorkFigures::default().median_duration_ms(), None);
    }

    #[test]
    fn links_are_refused_with_the_reason() {
        assert_eq!(check_link(None, 100, true, 99), Ok(()));
        assert_eq!(check_link(Some(50), 100, true, 60), Err(LinkRefusal::Used));
        assert_eq!(check_link(None, 100, true, 100), Err(LinkRefusal::Expired));
        assert_eq!(
            check_link(None, 100, false, 10),
            Err(LinkRefusal::AccountClosed)
        );
    }

    #[test]
    fn statuses_and_texts() {
        assert_eq!(AccountStatus::of(true, true, false), AccountStatus::Erased);
        assert_eq!(
            AccountStatus::of(false, true, true),
            AccountStatus::Deactivated
        );
        assert_eq!(
            AccountStatus::of(false, false, true),
            AccountStatus::Invited
        );
        assert_eq!(AccountStatus::of(false, false, false).as_str(), "active");
        assert_eq!(percent(&Some(0.8125)), "81%");
        assert_eq!(percent(&None), "–");
        assert_eq!(duration_text(&Some(1234)), "1.2 s");
        assert_eq!(duration_text(&Some(125_000)), "2 min 5 s");
    }
}
