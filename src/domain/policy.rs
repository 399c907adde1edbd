//! Assignment policy of a project: labels wanted per pool, escalation to experts, dynamic
//! overlap, item order, gold questions and problem reports. Pure rules; the store applies
//! them inside its transactions.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::kinds::Consensus;
use super::Invalid;

/// The three kinds of raters.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    PartialOrd,
    Ord,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    Generalist,
    Expert,
    User,
}

impl Pool {
    pub const ALL: [Pool; 3] = [Pool::Generalist, Pool::Expert, Pool::User];

    pub fn as_str(self) -> &'static str {
        match self {
            Pool::Generalist => "generalist",
            Pool::Expert => "expert",
            Pool::User => "user",
        }
    }

    pub fn parse(s: &str) -> Result<Pool, Invalid> {
        match s {
            "generalist" => Ok(Pool::Generalist),
            "expert" => Ok(Pool::Expert),
            "user" => Ok(Pool::User),
            other => Err(Invalid::new(
                "pool",
                format!("unknown pool {other:?}: use generalist, expert or user"),
            )),
        }
    }
}

/// Labels wanted from each pool for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Needs {
    pub generalist: i64,
    pub expert: i64,
    pub user: i64,
}

impl Needs {
    pub fn of(&self, pool: Pool) -> i64 {
        match pool {
            Pool::Generalist => self.generalist,
            Pool::Expert => self.expert,
            Pool::User => self.user,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Import,
    Random,
    Priority,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Import => "import",
            Order::Random => "random",
            Order::Priority => "priority",
        }
    }

    pub fn parse(s: &str) -> Result<Order, Invalid> {
        match s {
            "import" => Ok(Order::Import),
            "random" => Ok(Order::Random),
            "priority" => Ok(Order::Priority),
            other => Err(Invalid::new(
                "order",
                format!("unknown order {other:?}: use import, random or priority"),
            )),
        }
    }
}

/// How a project hands out items.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Policy {
    pub pools: BTreeMap<Pool, i64>,
    pub expertise: Vec<String>,
    pub escalate_below: Option<f64>,
    pub expert_overlap: i64,
    pub min_overlap: Option<i64>,
    pub max_overlap: Option<i64>,
    pub order: Order,
    pub seed: i64,
    pub gold_rate: f64,
    pub min_gold_accuracy: Option<f64>,
    pub gold_min_seen: i64,
    pub report_threshold: Option<i64>,
    /// Share of qualification questions a rater must get right before real items.
    pub qualify_accuracy: Option<f64>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            pools: BTreeMap::from([(Pool::Generalist, 1), (Pool::Expert, 0), (Pool::User, 0)]),
            expertise: Vec::new(),
            escalate_below: None,
            expert_overlap: 1,
            min_overlap: None,
            max_overlap: None,
            order: Order::Import,
            seed: 0,
            gold_rate: 0.0,
            min_gold_accuracy: None,
            gold_min_seen: 5,
            report_threshold: None,
            qualify_accuracy: None,
        }
    }
}

/// What happens to an item after a generalist label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settlement {
    /// Generalist labels to ask for on top of those still wanted.
    pub more_generalist: i64,
    /// Expert labels to ask for: the generalists disagreed too much.
    pub escalate_to_experts: i64,
}

impl Policy {
    pub fn pool_count(&self, pool: Pool) -> i64 {
        self.pools.get(&pool).copied().unwrap_or(0)
    }

    pub fn is_dynamic(&self) -> bool {
        self.min_overlap.is_some() && self.max_overlap.is_some()
    }

    /// Labels wanted per pool for a newly imported item; gold questions want none.
    pub fn initial_needs(&self, is_gold_question: bool) -> Needs {
        if is_gold_question {
            return Needs::default();
        }
        Needs {
            generalist: self
                .min_overlap
                .unwrap_or_else(|| self.pool_count(Pool::Generalist)),
            expert: self.pool_count(Pool::Expert),
            user: self.pool_count(Pool::User),
        }
    }

    /// Whether a rater who answered `seen` of `total` qualification questions, `correct`
    /// of them right, has passed (`Some(true)`), failed (`Some(false)`) or is not done.
    pub fn qualification_outcome(&self, total: i64, seen: i64, correct: i64) -> Option<bool> {
        let needed = self.qualify_accuracy?;
        if total == 0 {
            return Some(true);
        }
        (seen >= total).then(|| correct as f64 / total as f64 >= needed)
    }

    /// The most generalist labels one item can get under this policy.
    pub fn max_generalist(&self) -> i64 {
        self.max_overlap
            .unwrap_or_else(|| self.pool_count(Pool::Generalist))
    }

    /// Decides, once an item has all the generalist labels currently wanted, whether it
    /// needs more (dynamic overlap: no value has `min_overlap` votes as a clear leader yet)
    /// or goes to the experts (share agreeing with the majority below `escalate_below`).
    /// `generalist` is the consensus of the item's generalist labels under the project's
    /// kind, which says how many agree and whether there is a leader at all.
    pub fn settle(&self, generalist: &Consensus, still_wanted: i64) -> Settlement {
        if still_wanted > 0 || generalist.labels == 0 {
            return Settlement::default();
        }
        let n = generalist.labels as i64;
        let top = generalist.agreeing as i64;
        if let (Some(min), Some(max)) = (self.min_overlap, self.max_overlap) {
            let clear_leader = !generalist.is_tie() && top >= min;
            if !clear_leader && n < max {
                return Settlement {
                    more_generalist: 1,
                    escalate_to_experts: 0,
                };
            }
        }
        let share = top as f64 / n as f64;
        let escalate = self
            .escalate_below
            .is_some_and(|threshold| share < threshold);
        Settlement {
            more_generalist: 0,
            escalate_to_experts: if escalate { self.expert_overlap } else { 0 },
        }
    }

    /// Whether a rater should be paused after their gold record changed, and why.
    pub fn gold_pause_reason(&self, seen: i64, correct: i64) -> Option<String> {
        let min = self.min_gold_accuracy?;
        if seen < self.gold_min_seen {
            return None;
        }
        let accuracy = correct as f64 / seen as f64;
        (accuracy < min).then(|| {
            format!(
                "paused: {correct} of {seen} gold questions right ({:.0}%), below the project's {:.0}%",
                accuracy * 100.0,
                min * 100.0
            )
        })
    }
}

/// What dynamic overlap saved: labels given on settled items against a fixed overlap at
/// the maximum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverlapSavings {
    pub settled_items: i64,
    pub labels_given: i64,
    pub labels_at_fixed_max: i64,
    pub labels_saved: i64,
}

impl Policy {
    /// `None` unless the project uses dynamic overlap. `settled` holds, for each item whose
    /// generalist labels are complete, how many it got.
    pub fn overlap_savings(
        &self,
        settled: impl IntoIterator<Item = i64>,
    ) -> Option<OverlapSavings> {
        let max = self.max_overlap.filter(|_| self.is_dynamic())?;
        let (items, given) = settled
            .into_iter()
            .fold((0_i64, 0_i64), |(items, given), labels| {
                (items + 1, given + labels)
            });
        let fixed = max * items;
        Some(OverlapSavings {
            settled_items: items,
            labels_given: given,
            labels_at_fixed_max: fixed,
            labels_saved: fixed - given,
        })
    }
}

/// Policy fields as the API takes them (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub pools: Option<BTreeMap<String, i64>>,
    pub expertise: Option<Vec<String>>,
    pub escalate_below: Option<f64>,
    pub expert_overlap: Option<i64>,
    pub min_overlap: Option<i64>,
    pub max_overlap: Option<i64>,
    pub order: Option<String>,
    pub seed: Option<i64>,
    pub gold_rate: Option<f64>,
    pub min_gold_accuracy: Option<f64>,
    pub gold_min_seen: Option<i64>,
    pub report_threshold: Option<i64>,
    pub qualify_accuracy: Option<f64>,
}

fn share_in(field: &str, value: Option<f64>, low_open: bool) -> Result<Option<f64>, Invalid> {
    match value {
        Some(v) if !(0.0..=1.0).contains(&v) || (low_open && v == 0.0) => {
            Err(Invalid::new(field, "must be a share between 0 and 1"))
        }
        other => Ok(other),
    }
}

impl PolicyInput {
    /// Checks the fields against each other. `overlap` is the project's plain overlap,
    /// used as the generalist count when `pools` does not name one.
    pub fn validate(self, overlap: Option<i64>) -> Result<Policy, Invalid> {
        let mut policy = Policy::default();
        let mut pools = BTreeMap::from([
            (Pool::Generalist, overlap.unwrap_or(1)),
            (Pool::Expert, 0),
            (Pool::User, 0),
        ]);
        if let Some(given) = self.pools {
            for (name, count) in given {
                let pool = Pool::parse(&name).map_err(|e| Invalid::new("pools", e.reason))?;
                if !(0..=100).contains(&count) {
                    return Err(Invalid::new(
                        "pools",
                        format!("{name}: must be between 0 and 100"),
                    ));
                }
                pools.insert(pool, count);
            }
            if let (Some(o), Some(g)) = (overlap, pools.get(&Pool::Generalist)) {
                if o != *g {
                    return Err(Invalid::new(
                        "overlap",
                        "differs from pools.generalist; give one of them",
                    ));
                }
            }
        }
        policy.pools = pools;
        policy.expertise =
            super::user::validate_tags("expertise", &self.expertise.unwrap_or_default())?;
        policy.escalate_below = share_in("escalate_below", self.escalate_below, true)?;
        policy.expert_overlap = self.expert_overlap.unwrap_or(1);
        if !(1..=20).contains(&policy.expert_overlap) {
            return Err(Invalid::new("expert_overlap", "must be between 1 and 20"));
        }
        match (self.min_overlap, self.max_overlap) {
            (None, None) => {}
            (Some(min), Some(max)) if 1 <= min && min <= max && max <= 100 => {
                policy.min_overlap = Some(min);
                policy.max_overlap = Some(max);
                policy.pools.insert(Pool::Generalist, max);
            }
            (Some(_), Some(_)) => {
                return Err(Invalid::new(
                    "min_overlap",
                    "needs 1 <= min_overlap <= max_overlap <= 100",
                ));
            }
            _ => {
                return Err(Invalid::new(
                    "min_overlap",
                    "give min_overlap and max_overlap together",
                ))
            }
        }
        policy.order = Order::parse(self.order.as_deref().unwrap_or("import"))?;
        policy.seed = self.seed.unwrap_or(0);
        policy.gold_rate = share_in("gold_rate", self.gold_rate, false)?.unwrap_or(0.0);
        if policy.gold_rate > 0.5 {
            return Err(Invalid::new("gold_rate", "must be at most 0.5"));
        }
        policy.min_gold_accuracy = share_in("min_gold_accuracy", self.min_gold_accuracy, false)?;
        policy.gold_min_seen = self.gold_min_seen.unwrap_or(5);
        if policy.gold_min_seen < 1 {
            return Err(Invalid::new("gold_min_seen", "must be at least 1"));
        }
        policy.report_threshold = self.report_threshold;
        policy.qualify_accuracy = share_in("qualify_accuracy", self.qualify_accuracy, true)?;
        if policy.report_threshold.is_some_and(|t| t < 1) {
            return Err(Invalid::new("report_threshold", "must be at least 1"));
        }
        if policy.escalate_below.is_some() && policy.pool_count(Pool::Generalist) == 0 {
            return Err(Invalid::new(
                "escalate_below",
                "needs generalist labels to compare",
            ));
        }
        if policy.pools.values().all(|&n| n == 0) {
            return Err(Invalid::new("pools", "ask at least one pool for labels"));
        }
        Ok(policy)
    }
}

/// Where a rater's gold record goes after one more gold answer.
pub fn gold_record_after(seen: i64, correct: i64, was_right: bool) -> (i64, i64) {
    (seen + 1, correct + i64::from(was_right))
}

/// A stable pseudo-random sort key for an item: the same seed gives the same order.
pub fn random_key(seed: i64, position: i64) -> i64 {
    let mut x = (seed as u64) ^ (position as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The consensus of single-choice labels, as the store computes it.
    fn votes(values: &[&str]) -> Consensus {
        let values: Vec<serde_json::Value> = values.iter().map(|v| serde_json::json!(v)).collect();
        crate::domain::kinds::vote(&values)
    }

    fn policy(json: serde_json::Value, overlap: Option<i64>) -> Result<Policy, Invalid> {
        serde_json::from_value::<PolicyInput>(json)
            .unwrap()
            .validate(overlap)
    }

    #[test]
    fn escalation_is_strictly_below_the_threshold() {
        let p = policy(
            serde_json::json!({"pools": {"generalist": 3}, "escalate_below": 0.67}),
            None,
        )
        .unwrap();
        // 2 of 3 agree: 0.6667 < 0.67, escalate.
        assert_eq!(p.settle(&votes(&["a", "a", "b"]), 0).escalate_to_experts, 1);
        let p = policy(
            serde_json::json!({"pools": {"generalist": 3}, "escalate_below": 0.6}),
            None,
        )
        .unwrap();
        assert_eq!(p.settle(&votes(&["a", "a", "b"]), 0).escalate_to_experts, 0);
        let p = policy(
            serde_json::json!({"pools": {"generalist": 2}, "escalate_below": 0.5}),
            None,
        )
        .unwrap();
        // exactly at the threshold: no escalation
        assert_eq!(p.settle(&votes(&["a", "b"]), 0).escalate_to_experts, 0);
        assert_eq!(
            p.settle(&votes(&["a", "b"]), 1),
            Settlement::default(),
            "not settled while labels are still wanted"
        );
    }

    #[test]
    fn dynamic_overlap_stops_on_agreement_and_goes_on_while_split() {
        let p = policy(
            serde_json::json!({"min_overlap": 2, "max_overlap": 4}),
            None,
        )
        .unwrap();
        assert_eq!(p.initial_needs(false).generalist, 2);
        assert_eq!(p.settle(&votes(&["a", "a"]), 0).more_generalist, 0);
        assert_eq!(p.settle(&votes(&["a", "b"]), 0).more_generalist, 1);
        assert_eq!(p.settle(&votes(&["a", "b", "a"]), 0).more_generalist, 0);
        assert_eq!(p.settle(&votes(&["a", "b", "c"]), 0).more_generalist, 1);
        assert_eq!(
            p.settle(&votes(&["a", "b", "c", "d"]), 0).more_generalist,
            0,
            "stops at the maximum"
        );
    }

    #[test]
    fn savings_count_against_the_maximum() {
        let p = policy(
            serde_json::json!({"min_overlap": 2, "max_overlap": 5}),
            None,
        )
        .unwrap();
        let saved = p.overlap_savings([2, 3, 5]).unwrap();
        assert_eq!(saved.labels_at_fixed_max, 15);
        assert_eq!(saved.labels_given, 10);
        assert_eq!(saved.labels_saved, 5);
        assert_eq!(Policy::default().overlap_savings([1]), None);
    }

    #[test]
    fn gold_pause_needs_enough_gold_seen() {
        let p = policy(
            serde_json::json!({"gold_rate": 0.1, "min_gold_accuracy": 0.7, "gold_min_seen": 4}),
            Some(1),
        )
        .unwrap();
        assert_eq!(p.gold_pause_reason(3, 0), None);
        assert!(p.gold_pause_reason(4, 2).unwrap().contains("2 of 4"));
        assert_eq!(p.gold_pause_reason(4, 3), None);
    }

    #[test]
    fn bad_policies_name_the_field() {
        assert_eq!(
            policy(serde_json::json!({"pools": {"robots": 1}}), None)
                .unwrap_err()
                .field,
            "pools"
        );
        assert_eq!(
            policy(
                serde_json::json!({"min_overlap": 3, "max_overlap": 2}),
                None
            )
            .unwrap_err()
            .field,
            "min_overlap"
        );
        assert_eq!(
            policy(serde_json::json!({"gold_rate": 2.0}), None)
                .unwrap_err()
                .field,
            "gold_rate"
        );
        assert_eq!(
            policy(serde_json::json!({"pools": {"generalist": 0}}), None)
                .unwrap_err()
                .field,
            "pools"
        );
        assert_eq!(
            policy(serde_json::json!({"order": "alphabetical"}), None)
                .unwrap_err()
                .field,
            "order"
        );
        assert_eq!(
            policy(serde_json::json!({"pools": {"generalist": 2}}), Some(3))
                .unwrap_err()
                .field,
            "overlap"
        );
    }

    #[test]
    fn random_keys_are_stable_and_spread() {
        assert_eq!(random_key(7, 1), random_key(7, 1));
        assert_ne!(random_key(7, 1), random_key(8, 1));
        let mut keys: Vec<i64> = (0..100).map(|i| random_key(1, i)).collect();
        assert!(keys.iter().all(|&k| k >= 0));
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 100);
    }
}
