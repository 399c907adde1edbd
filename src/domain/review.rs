//! Review and adjudication: which items a reviewer should look at and why, and the final
//! label a reviewer sets.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::kinds::{Consensus, Schema};
use super::policy::random_key;
use super::text::{check_text, MAX_NOTE_CHARS};
use super::Invalid;

/// Why an item is in the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Generalists disagreed and the item went to the experts.
    Escalated,
    /// The labels have no majority.
    Tie,
    /// The share of labels agreeing with the majority is under the project's threshold.
    LowAgreement,
    /// Raters reported a problem with the item.
    Reported,
    /// Process feedback contradicts the human majority.
    Feedback,
    /// A sample of settled items, to check that settled means right.
    SpotCheck,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::Escalated,
        Reason::Tie,
        Reason::LowAgreement,
        Reason::Reported,
        Reason::Feedback,
        Reason::SpotCheck,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Escalated => "escalated",
            Reason::Tie => "tie",
            Reason::LowAgreement => "low_agreement",
            Reason::Reported => "reported",
            Reason::Feedback => "feedback",
            Reason::SpotCheck => "spot_check",
        }
    }

    /// What the reason means, for the queue page.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Escalated => "escalated to experts",
            Reason::Tie => "no majority",
            Reason::LowAgreement => "low agreement",
            Reason::Reported => "reported by raters",
            Reason::Feedback => "feedback disagrees",
            Reason::SpotCheck => "spot check",
        }
    }

    pub fn parse(text: &str) -> Result<Reason, Invalid> {
        Reason::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
                Invalid::new(
                    "reason",
                    format!("unknown reason {text:?}: use one of {}", names.join(", ")),
                )
            })
    }
}

/// A project's review settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSettings {
    /// Settled items whose agreement is under this share go to review (default 0.6).
    pub review_below: f64,
    /// The share of settled items sampled for spot checks (default 0.02).
    pub spot_check_rate: f64,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        ReviewSettings {
            review_below: 0.6,
            spot_check_rate: 0.02,
        }
    }
}

impl ReviewSettings {
    pub fn check(self) -> Result<Self, Invalid> {
        for (field, value) in [
            ("review_below", self.review_below),
            ("spot_check_rate", self.spot_check_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(Invalid::new(field, "must be between 0 and 1"));
            }
        }
        Ok(self)
    }
}

/// One human label as a reviewer sees it: under the rater's pseudonym.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewLabel {
    #[serde(skip)]
    pub rater_id: i64,
    pub rater: String,
    pub pool: String,
    #[schema(value_type = Object)]
    pub value: Value,
    pub created_at: i64,
    /// The guideline version the label was given under, where it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guideline_version: Option<i64>,
}

/// A process-feedback event beside the human labels.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewFeedback {
    pub source: String,
    #[schema(value_type = Object)]
    pub value: Value,
}

/// What the queue reads about one item.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub item_id: i64,
    pub external_id: Option<String>,
    /// Whether the item wants no more labels from any pool.
    pub settled: bool,
    pub escalated: bool,
    /// Reports not yet answered.
    pub open_reports: i64,
    pub labels: Vec<ReviewLabel>,
    pub feedback: Vec<ReviewFeedback>,
}

/// Why one candidate needs review, with its consensus; empty reasons mean it does not.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub reasons: Vec<Reason>,
    pub consensus: Consensus,
}

/// Whether an item falls in the spot-check sample: a stable draw per item and seed, so the
/// sample does not change from one look at the queue to the next.
pub fn in_spot_check(seed: i64, item_id: i64, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    let draw = random_key(seed ^ 0x5EED_5A0B, item_id) as f64 / i64::MAX as f64;
    draw < rate
}

/// The reasons an item needs review. Disagreement counts only once an item is settled (a
/// 1-1 split with a third label still coming is not a tie yet); escalation and reports count
/// at once.
pub fn assess(
    schema: Schema<'_>,
    settings: ReviewSettings,
    seed: i64,
    candidate: &Candidate,
) -> Assessment {
    let values: Vec<Value> = candidate.labels.iter().map(|l| l.value.clone()).collect();
    let consensus = schema.consensus(&values);
    let mut reasons = Vec::new();
    if candidate.escalated {
        reasons.push(Reason::Escalated);
    }
    if candidate.settled && !values.is_empty() {
        if consensus.value.is_none() {
            reasons.push(Reason::Tie);
        } else if consensus
            .agreement
            .is_some_and(|a| a < settings.review_below)
        {
            reasons.push(Reason::LowAgreement);
        }
    }
    if candidate.open_reports > 0 {
        reasons.push(Reason::Reported);
    }
    if let Some(majority) = &consensus.value {
        if candidate
            .feedback
            .iter()
            .any(|f| !schema.matches(&f.value, majority))
        {
            reasons.push(Reason::Feedback);
        }
    }
    if reasons.is_empty()
        && candidate.settled
        && !values.is_empty()
        && in_spot_check(seed, candidate.item_id, settings.spot_check_rate)
    {
        reasons.push(Reason::SpotCheck);
    }
    Assessment { reasons, consensus }
}

/// A reviewer's final label as asked for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdjudication {
    /// The final label, in the same shape as a rater's label.
    #[schema(value_type = Object)]
    pub value: Value,
    /// Why this is the final label (1 to 2,000 characters).
    pub reason: String,
}

/// Checks an adjudication's reason; the value is checked like a label, by the project's
/// schema.
pub fn check_reason(reason: &str) -> Result<String, Invalid> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Invalid::new(
            "reason",
            "say why this is the final label: the reason is kept with it",
        ));
    }
    check_text("reason", reason, MAX_NOTE_CHARS)?;
    Ok(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kinds::{Kind, Settings};
    use serde_json::json;

    fn label(value: &str) -> ReviewLabel {
        ReviewLabel {
            rater_id: 1,
            rater: "r".into(),
            pool: "generalist".into(),
            value: json!(value),
            created_at: 0,
            guideline_version: None,
        }
    }

    fn candidate(values: &[&str], settled: bool) -> Candidate {
        Candidate {
            item_id: 1,
            external_id: None,
            settled,
            escalated: false,
            open_reports: 0,
            labels: values.iter().map(|v| label(v)).collect(),
            feedback: Vec::new(),
        }
    }

    fn reasons_of(c: &Candidate, settings: ReviewSettings) -> Vec<Reason> {
        let labels = vec!["pos".to_string(), "neg".to_string(), "mixed".to_string()];
        let settings_kind = Settings::default();
        let schema = Schema {
            kind: Kind::SingleChoice,
            labels: &labels,
            settings: &settings_kind,
        };
        assess(schema, settings, 0, c).reasons
    }

    const NO_SPOTS: ReviewSettings = ReviewSettings {
        review_below: 0.6,
        spot_check_rate: 0.0,
    };

    #[test]
    fn a_settled_tie_needs_review_but_an_open_one_waits() {
        assert_eq!(
            reasons_of(&candidate(&["pos", "neg"], true), NO_SPOTS),
            [Reason::Tie]
        );
        assert!(reasons_of(&candidate(&["pos", "neg"], false), NO_SPOTS).is_empty());
    }

    #[test]
    fn agreement_under_the_threshold_needs_review() {
        let split = candidate(&["pos", "pos", "neg", "mixed"], true);
        assert_eq!(reasons_of(&split, NO_SPOTS), [Reason::LowAgreement]);
        let lenient = ReviewSettings {
            review_below: 0.5,
            ..NO_SPOTS
        };
        assert!(reasons_of(&split, lenient).is_empty());
        assert!(reasons_of(&candidate(&["pos", "pos", "neg"], true), NO_SPOTS).is_empty());
    }

    #[test]
    fn escalation_reports_and_contradicting_feedback_need_review() {
        let mut c = candidate(&["pos", "pos", "pos"], true);
        c.escalated = true;
        c.open_reports = 1;
        c.feedback = vec![ReviewFeedback {
            source: "app".into(),
            value: json!("neg"),
        }];
        assert_eq!(
            reasons_of(&c, NO_SPOTS),
            [Reason::Escalated, Reason::Reported, Reason::Feedback]
        );
        c.feedback[0].value = json!("pos");
        assert_eq!(
            reasons_of(&c, NO_SPOTS),
            [Reason::Escalated, Reason::Reported]
        );
    }

    #[test]
    fn the_spot_check_sample_is_stable_and_near_its_rate() {
        let sampled = (0..20_000).filter(|id| in_spot_check(7, *id, 0.05)).count();
        assert!((800..1_200).contains(&sampled), "{sampled}");
        assert_eq!(in_spot_check(7, 42, 0.05), in_spot_check(7, 42, 0.05));
        assert!(!(0..1000).any(|id| in_spot_check(7, id, 0.0)));
        assert!((0..1000).all(|id| in_spot_check(7, id, 1.0)));
    }

    #[test]
    fn reasons_parse_and_reasons_for_adjudication_are_required() {
        assert_eq!(Reason::parse("low_agreement"), Ok(Reason::LowAgreement));
        assert!(Reason::parse("whim")
            .unwrap_err()
            .reason
            .contains("spot_check"));
        assert!(check_reason("   ").is_err());
        assert_eq!(check_reason(" guideline 3.2 ").unwrap(), "guideline 3.2");
    }
}
