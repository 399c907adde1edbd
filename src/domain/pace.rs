//! Cost, throughput and ETA: what an hour of each pool's work costs, and the arithmetic
//! that turns the store's counts into spend so far, spend still to come, a finish time and
//! what dynamic overlap and escalation saved. Plain numbers in and out: no SQL, no HTTP.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::policy::{Policy, Pool};
use super::Invalid;

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The highest hourly rate taken: beyond it is a slip of the keyboard, not a wage.
pub const MAX_RATE: f64 = 1_000_000.0;

/// What an hour of each pool's work costs in one project.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PoolRates {
    /// ISO 4217 code, such as `USD` or `EUR`.
    pub currency: String,
    pub generalist: f64,
    pub expert: f64,
    pub user: f64,
}

impl Default for PoolRates {
    fn default() -> Self {
        PoolRates {
            currency: "USD".into(),
            generalist: 0.0,
            expert: 0.0,
            user: 0.0,
        }
    }
}

impl PoolRates {
    pub fn of(&self, pool: Pool) -> f64 {
        match pool {
            Pool::Generalist => self.generalist,
            Pool::Expert => self.expert,
            Pool::User => self.user,
        }
    }

    /// Whether any pool has a rate above zero.
    pub fn any_set(&self) -> bool {
        Pool::ALL.iter().any(|&pool| self.of(pool) > 0.0)
    }

    /// Rates from a JSON object `{"generalist": 12.5, "expert": 90, "user": 0, "currency":
    /// "EUR"}`: a pool left out costs nothing, the currency defaults to USD. Each refusal
    /// names the pool (or key) at fault.
    pub fn from_json(body: &Value) -> Result<PoolRates, Invalid> {
        let Value::Object(fields) = body else {
            return Err(Invalid::new("body", "send a JSON object of rates per pool"));
        };
        let mut rates = PoolRates::default();
        for (key, value) in fields {
            if key == "currency" {
                let code = value
                    .as_str()
                    .ok_or_else(|| Invalid::new("currency", "must be a three-letter code"))?;
                rates.currency = currency(code)?;
                continue;
            }
            let pool = Pool::parse(key).map_err(|_| {
                Invalid::new(
                    key.as_str(),
                    "unknown key: give generalist, expert, user and currency",
                )
            })?;
            let rate = match value {
                Value::Number(n) => n.as_f64(),
                _ => None,
            }
            .ok_or_else(|| Invalid::new(pool.as_str(), "must be a number (per hour)"))?;
            rates.set(pool, rate)?;
        }
        Ok(rates)
    }

    /// Rates as a form sends them: text per pool, empty meaning zero.
    pub fn from_form(fields: [(Pool, &str); 3], currency_text: &str) -> Result<PoolRates, Invalid> {
        let mut rates = PoolRates::default();
        for (pool, text) in fields {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let rate = text
                .parse::<f64>()
                .map_err(|_| Invalid::new(pool.as_str(), format!("{text:?} is not a number")))?;
            rates.set(pool, rate)?;
        }
        if !currency_text.trim().is_empty() {
            rates.currency = currency(currency_text)?;
        }
        Ok(rates)
    }

    fn set(&mut self, pool: Pool, rate: f64) -> Result<(), Invalid> {
        if !rate.is_finite() || rate < 0.0 {
            return Err(Invalid::new(
                pool.as_str(),
                "must be a finite number of at least 0 (per hour)",
            ));
        }
        if rate > MAX_RATE {
            return Err(Invalid::new(
                pool.as_str(),
                format!("must be at most {MAX_RATE} per hour"),
            ));
        }
        match pool {
            Pool::Generalist => self.generalist = rate,
            Pool::Expert => self.expert = rate,
            Pool::User => self.user = rate,
        }
        Ok(())
    }

    /// The rates as the audit log records them.
    pub fn to_json(&self) -> Value {
        json!({
            "currency": self.currency,
            "generalist": self.generalist,
            "expert": self.expert,
            "user": self.user,
        })
    }
}

/// A currency code: three ASCII letters, kept in capitals.
fn currency(text: &str) -> Result<String, Invalid> {
    let code = text.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(Invalid::new(
            "currency",
            format!("{text:?} is not a three-letter currency code such as USD"),
        ))
    }
}

/// The median of `count` sorted values, given the one or two in the middle (the values at
/// positions `(count - 1) / 2` and after, in order): the middle one, or the mean of the two.
pub fn median_from_middle(count: i64, middle: &[i64]) -> Option<f64> {
    match (count, middle) {
        (n, [one, ..]) if n % 2 == 1 => Some(*one as f64),
        (_, [low, high, ..]) => Some((*low as f64 + *high as f64) / 2.0),
        _ => None,
    }
}

/// What the store counts for one pool of one project.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolCounts {
    /// Every label the pool gave, gold and qualification questions included: all took time.
    pub labels: i64,
    /// Labels with a recorded time, and the sum of those times.
    pub timed_labels: i64,
    pub timed_ms: i64,
    /// The median recorded time, in milliseconds.
    pub median_ms: Option<f64>,
    /// Labels on the project's real items (not gold or qualification questions).
    pub real_labels: i64,
    /// Labels still wanted on items in the queue.
    pub still_wanted: i64,
    /// Labels wanted on items held back by problem reports.
    pub held_wanted: i64,
}

/// What the store counts for one project, at `now`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaceCounts {
    pub now: i64,
    pub first_label_at: Option<i64>,
    pub labels_last_hour: i64,
    pub labels_last_day: i64,
    /// Items that are neither gold nor qualification questions.
    pub real_items: i64,
    pub pools: BTreeMap<Pool, PoolCounts>,
}

/// One pool's cost and pace.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PoolPace {
    pub pool: Pool,
    pub hourly_rate: f64,
    pub labels: i64,
    pub timed_labels: i64,
    /// The median recorded time per label, when any label has one.
    pub median_seconds: Option<f64>,
    /// Hours counted: the recorded times, plus the median for each label without one.
    pub hours: f64,
    /// Labels without a recorded time while the pool has no median to count them at.
    pub unpriced_labels: i64,
    pub spend: f64,
    pub still_wanted: i64,
    /// Still wanted x median time x rate; unknown while the pool has no median and a rate.
    pub projected_spend: Option<f64>,
}

/// Whether and when the labels still wanted will be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EtaState {
    /// Nothing is wanted.
    Done,
    /// At the trailing rate.
    Projected,
    /// No label in the trailing window: no pace to project from.
    NoRecentLabels,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Eta {
    pub state: EtaState,
    /// Hours from now, when projected.
    pub hours: Option<f64>,
    /// Epoch milliseconds, when projected.
    pub finish_at: Option<i64>,
}

/// One pool's labels against a fixed plan at the maximum.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PoolSavings {
    pub pool: Pool,
    /// Labels per item the fixed plan asks for.
    pub per_item: i64,
    /// The fixed plan over every real item.
    pub fixed_plan: i64,
    /// Labels given on real items plus labels still wanted (in the queue or held back).
    pub wanted: i64,
    pub saved: i64,
    /// Saved x median time x rate; unknown while the pool has no median and a rate.
    pub money: Option<f64>,
}

/// What dynamic overlap and escalation saved against a fixed overlap at the maximum.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Savings {
    /// Whether the policy adapts (dynamic overlap or escalation); a fixed one saves nothing.
    pub adaptive: bool,
    pub items: i64,
    pub pools: Vec<PoolSavings>,
    pub labels_saved: i64,
    pub money_saved: Option<f64>,
}

/// A project's cost, pace and finish, as the project page and `GET .../pace` show them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pace {
    pub currency: String,
    pub labels_last_hour: i64,
    /// Labels per hour over the trailing window.
    pub labels_per_hour: f64,
    /// The trailing window: the last 24 hours, or the time since the first label when the
    /// project is younger (at least an hour).
    pub trailing_hours: f64,
    pub pools: Vec<PoolPace>,
    pub spend: f64,
    /// Unknown while a pool with labels still wanted and a rate has no median time.
    pub projected_spend: Option<f64>,
    pub still_wanted: i64,
    pub eta: Eta,
    pub savings: Savings,
}

/// Labels per item under a fixed plan at the maximum: the most generalist labels the
/// policy can ask (max overlap), the experts on every item when the policy escalates
/// (their fixed count plus the escalation's), and the users' count.
pub fn fixed_plan_per_item(policy: &Policy, pool: Pool) -> i64 {
    match pool {
        Pool::Generalist => policy.max_generalist(),
        Pool::Expert => {
            let escalated = if policy.escalate_below.is_some() {
                policy.expert_overlap
            } else {
                0
            };
            policy.pool_count(Pool::Expert) + escalated
        }
        Pool::User => policy.pool_count(Pool::User),
    }
}

fn hours_of(ms: f64) -> f64 {
    ms / HOUR_MS as f64
}

/// The cost of `labels` at the pool's median time and rate; zero when the rate is zero or
/// nothing is counted, unknown when the time is.
fn priced(labels: i64, median_ms: Option<f64>, rate: f64) -> Option<f64> {
    if labels == 0 || rate == 0.0 {
        return Some(0.0);
    }
    median_ms.map(|m| labels as f64 * hours_of(m) * rate)
}

/// Sums known amounts; unknown if any is.
fn total(amounts: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    amounts.sum()
}

/// Turns the counts into cost, pace and finish under the rates and the project's policy.
pub fn pace(counts: &PaceCounts, rates: &PoolRates, policy: &Policy) -> Pace {
    let empty = PoolCounts::default();
    let of = |pool: Pool| counts.pools.get(&pool).unwrap_or(&empty);
    let pools: Vec<PoolPace> = Pool::ALL
        .iter()
        .map(|&pool| {
            let c = of(pool);
            let rate = rates.of(pool);
            let untimed = c.labels - c.timed_labels;
            let (counted_ms, unpriced) = match c.median_ms {
                Some(m) => (c.timed_ms as f64 + untimed as f64 * m, 0),
                None => (c.timed_ms as f64, untimed),
            };
            let hours = hours_of(counted_ms);
            PoolPace {
                pool,
                hourly_rate: rate,
                labels: c.labels,
                timed_labels: c.timed_labels,
                median_seconds: c.median_ms.map(|m| m / 1000.0),
                hours,
                unpriced_labels: unpriced,
                spend: hours * rate,
                still_wanted: c.still_wanted,
                projected_spend: priced(c.still_wanted, c.median_ms, rate),
            }
        })
        .collect();
    let still_wanted: i64 = pools.iter().map(|p| p.still_wanted).sum();
    let trailing_hours = counts
        .first_label_at
        .map(|first| hours_of(counts.now.saturating_sub(first) as f64))
        .unwrap_or(24.0)
        .clamp(1.0, 24.0);
    let labels_per_hour = counts.labels_last_day as f64 / trailing_hours;
    let eta = if still_wanted == 0 {
        Eta {
            state: EtaState::Done,
            hours: None,
            finish_at: None,
        }
    } else if labels_per_hour > 0.0 {
        let hours = still_wanted as f64 / labels_per_hour;
        Eta {
            state: EtaState::Projected,
            hours: Some(hours),
            finish_at: Some(counts.now.saturating_add((hours * HOUR_MS as f64) as i64)),
        }
    } else {
        Eta {
            state: EtaState::NoRecentLabels,
            hours: None,
            finish_at: None,
        }
    };
    let saving_pools: Vec<PoolSavings> = Pool::ALL
        .iter()
        .map(|&pool| {
            let c = of(pool);
            let per_item = fixed_plan_per_item(policy, pool);
            let fixed_plan = per_item * counts.real_items;
            let wanted = c.real_labels + c.still_wanted + c.held_wanted;
            let saved = (fixed_plan - wanted).max(0);
            PoolSavings {
                pool,
                per_item,
                fixed_plan,
                wanted,
                saved,
                money: priced(saved, c.median_ms, rates.of(pool)),
            }
        })
        .collect();
    Pace {
        currency: rates.currency.clone(),
        labels_last_hour: counts.labels_last_hour,
        labels_per_hour,
        trailing_hours,
        spend: pools.iter().map(|p| p.spend).sum(),
        projected_spend: total(pools.iter().map(|p| p.projected_spend)),
        still_wanted,
        eta,
        savings: Savings {
            adaptive: policy.is_dynamic() || policy.escalate_below.is_some(),
            items: counts.real_items,
            labels_saved: saving_pools.iter().map(|p| p.saved).sum(),
            money_saved: total(saving_pools.iter().map(|p| p.money)),
            pools: saving_pools,
        },
        pools,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::PolicyInput;

    fn policy(body: Value) -> Policy {
        serde_json::from_value::<PolicyInput>(body)
            .unwrap()
            .validate(None)
            .unwrap()
    }

    fn rates(generalist: f64, expert: f64) -> PoolRates {
        PoolRates {
            currency: "EUR".into(),
            generalist,
            expert,
            user: 0.0,
        }
    }

    #[test]
    fn medians_come_from_the_middle() {
        assert_eq!(median_from_middle(3, &[20, 30]), Some(20.0));
        assert_eq!(median_from_middle(4, &[20, 30]), Some(25.0));
        assert_eq!(median_from_middle(1, &[7]), Some(7.0));
        assert_eq!(median_from_middle(0, &[]), None);
    }

    #[test]
    fn spend_counts_recorded_time_and_the_median_for_untimed_labels() {
        // Generalists: 3 timed labels of 60, 120 and 180 s (median 120 s) and one without
        // a time, counted at the median: 480 s = 2/15 h at 30/h = 4.00.
        // Experts: 2 timed labels of 30 min each = 1 h at 90/h = 90.00.
        let counts = PaceCounts {
            now: 100 * HOUR_MS,
            first_label_at: Some(50 * HOUR_MS),
            labels_last_hour: 3,
            labels_last_day: 48,
            real_items: 10,
            pools: BTreeMap::from([
                (
                    Pool::Generalist,
                    PoolCounts {
                        labels: 4,
                        timed_labels: 3,
                        timed_ms: 360_000,
                        median_ms: Some(120_000.0),
                        real_labels: 4,
                        still_wanted: 6,
                        held_wanted: 0,
                    },
                ),
                (
                    Pool::Expert,
                    PoolCounts {
                        labels: 2,
                        timed_labels: 2,
                        timed_ms: 3_600_000,
                        median_ms: Some(1_800_000.0),
                        real_labels: 2,
                        still_wanted: 1,
                        held_wanted: 0,
                    },
                ),
            ]),
        };
        let pace = pace(&counts, &rates(30.0, 90.0), &Policy::default());
        let g = &pace.pools[0];
        assert_eq!(g.median_seconds, Some(120.0));
        assert!((g.hours - 480.0 / 3600.0).abs() < 1e-12);
        assert!((g.spend - 4.0).abs() < 1e-9);
        // 6 more at 120 s and 30/h = 6.00; 1 expert label at 30 min and 90/h = 45.00.
        assert!((g.projected_spend.unwrap() - 6.0).abs() < 1e-9);
        assert!((pace.pools[1].spend - 90.0).abs() < 1e-9);
        assert!((pace.spend - 94.0).abs() < 1e-9);
        assert!((pace.projected_spend.unwrap() - 51.0).abs() < 1e-9);
        assert_eq!(pace.currency, "EUR");
        // 48 labels in the last 24 h: 2 an hour; 7 still wanted: 3.5 h.
        assert_eq!(pace.labels_per_hour, 2.0);
        assert_eq!(pace.still_wanted, 7);
        assert_eq!(pace.eta.state, EtaState::Projected);
        assert_eq!(pace.eta.hours, Some(3.5));
        assert_eq!(
            pace.eta.finish_at,
            Some(100 * HOUR_MS + 3 * HOUR_MS + HOUR_MS / 2)
        );
    }

    #[test]
    fn a_young_project_paces_over_its_age_and_an_idle_one_has_no_eta() {
        let mut counts = PaceCounts {
            now: 10 * HOUR_MS,
            first_label_at: Some(6 * HOUR_MS),
            labels_last_day: 20,
            real_items: 5,
            pools: BTreeMap::from([(
                Pool::Generalist,
                PoolCounts {
                    still_wanted: 10,
                    ..PoolCounts::default()
                },
            )]),
            ..PaceCounts::default()
        };
        let young = pace(&counts, &PoolRates::default(), &Policy::default());
        assert_eq!(young.trailing_hours, 4.0);
        assert_eq!(young.labels_per_hour, 5.0);
        assert_eq!(young.eta.hours, Some(2.0));
        counts.labels_last_day = 0;
        let idle = pace(&counts, &PoolRates::default(), &Policy::default());
        assert_eq!(idle.eta.state, EtaState::NoRecentLabels);
        assert_eq!(idle.eta.hours, None);
        counts.pools.clear();
        let done = pace(&counts, &PoolRates::default(), &Policy::default());
        assert_eq!(done.eta.state, EtaState::Done);
    }

    #[test]
    fn a_pool_without_times_leaves_its_cost_unknown_unless_it_is_free() {
        let counts = PaceCounts {
            now: HOUR_MS,
            pools: BTreeMap::from([(
                Pool::Expert,
                PoolCounts {
                    labels: 2,
                    still_wanted: 3,
                    ..PoolCounts::default()
                },
            )]),
            ..PaceCounts::default()
        };
        let paid = pace(&counts, &rates(10.0, 80.0), &Policy::default());
        assert_eq!(paid.pools[1].unpriced_labels, 2);
        assert_eq!(paid.pools[1].projected_spend, None);
        assert_eq!(paid.projected_spend, None);
        let free = pace(&counts, &rates(10.0, 0.0), &Policy::default());
        assert_eq!(free.projected_spend, Some(0.0));
    }

    #[test]
    fn savings_compare_wanted_labels_with_the_fixed_maximum() {
        // Up to 5 generalists, 2 at first; 2 experts where they disagree.
        let policy = policy(
            json!({"min_overlap": 2, "max_overlap": 5, "escalate_below": 0.7, "expert_overlap": 2}),
        );
        assert_eq!(fixed_plan_per_item(&policy, Pool::Generalist), 5);
        assert_eq!(fixed_plan_per_item(&policy, Pool::Expert), 2);
        assert_eq!(fixed_plan_per_item(&policy, Pool::User), 0);
        // 10 items: 25 generalist labels given, 3 still wanted, 2 on held items (30 of
        // 50: 20 saved at 60 s and 12/h = 4.00); 4 expert labels given, none wanted (4 of
        // 20: 16 saved at 10 min and 60/h = 160.00).
        let counts = PaceCounts {
            now: HOUR_MS,
            real_items: 10,
            pools: BTreeMap::from([
                (
                    Pool::Generalist,
                    PoolCounts {
                        labels: 27,
                        timed_labels: 27,
                        timed_ms: 27 * 60_000,
                        median_ms: Some(60_000.0),
                        real_labels: 25,
                        still_wanted: 3,
                        held_wanted: 2,
                    },
                ),
                (
                    Pool::Expert,
                    PoolCounts {
                        labels: 4,
                        timed_labels: 4,
                        timed_ms: 4 * 600_000,
                        median_ms: Some(600_000.0),
                        real_labels: 4,
                        ..PoolCounts::default()
                    },
                ),
            ]),
            ..PaceCounts::default()
        };
        let pace = pace(&counts, &rates(12.0, 60.0), &policy);
        let s = &pace.savings;
        assert_eq!(
            (s.pools[0].fixed_plan, s.pools[0].wanted, s.pools[0].saved),
            (50, 30, 20)
        );
        assert_eq!(
            (s.pools[1].fixed_plan, s.pools[1].wanted, s.pools[1].saved),
            (20, 4, 16)
        );
        assert_eq!(s.labels_saved, 36);
        assert!((s.money_saved.unwrap() - 164.0).abs() < 1e-9);
        // A fixed policy saves nothing.
        let fixed = super::pace(&counts, &rates(12.0, 60.0), &Policy::default());
        assert_eq!(fixed.savings.labels_saved, 0);
        assert!(s.adaptive && !fixed.savings.adaptive);
    }

    #[test]
    fn rates_are_checked_and_refusals_name_the_pool() {
        let ok =
            PoolRates::from_json(&json!({"generalist": 12.5, "expert": 90, "currency": "eur"}))
                .unwrap();
        assert_eq!(
            ok,
            PoolRates {
                currency: "EUR".into(),
                generalist: 12.5,
                expert: 90.0,
                user: 0.0
            }
        );
        let field = |body: Value| PoolRates::from_json(&body).unwrap_err().field;
        assert_eq!(field(json!({"expert": -1})), "expert");
        assert_eq!(field(json!({"user": "ten"})), "user");
        assert_eq!(field(json!({"generalist": 2e6})), "generalist");
        assert_eq!(field(json!({"robots": 1})), "robots");
        assert_eq!(field(json!({"currency": "dollars"})), "currency");
        assert_eq!(field(json!([1, 2])), "body");
        let form = |g: &str, e: &str| {
            PoolRates::from_form(
                [(Pool::Generalist, g), (Pool::Expert, e), (Pool::User, "")],
                "",
            )
        };
        assert_eq!(form("NaN", "1").unwrap_err().field, "generalist");
        assert_eq!(form("1", "inf").unwrap_err().field, "expert");
        assert_eq!(form(" 7.5 ", "").unwrap().generalist, 7.5);
        assert_eq!(form("", "").unwrap(), PoolRates::default());
    }
}
