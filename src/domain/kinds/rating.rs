//! Ratings: a whole number on the project's scale.

use serde_json::Value;

use super::{from_item, Consensus, Settings};
use crate::quality::kinds::rating_consensus;

/// The points of the scale, lowest first (empty without a scale).
pub(super) fn points(settings: &Settings) -> impl Iterator<Item = i64> {
    let (min, max) = settings.scale.as_ref().map_or((1, 0), |s| (s.min, s.max));
    min..=max
}

fn bounds(settings: &Settings) -> (i64, i64) {
    settings.scale.as_ref().map_or((0, -1), |s| (s.min, s.max))
}

pub(super) fn parse(settings: &Settings, raw: &Value) -> Result<Value, String> {
    let (min, max) = bounds(settings);
    match raw.as_i64() {
        Some(n) if raw.is_i64() || raw.is_u64() => {
            if (min..=max).contains(&n) {
                Ok(Value::from(n))
            } else {
                Err(format!("{n} is off the scale {min} to {max}"))
            }
        }
        _ => Err(format!("must be a whole number from {min} to {max}")),
    }
}

pub(super) fn steps(settings: &Settings) -> usize {
    settings.tolerance.unwrap_or(0.0).max(0.0) as usize
}

pub(super) fn within(settings: &Settings, value: &Value, gold: &Value) -> bool {
    match (value.as_i64(), gold.as_i64()) {
        (Some(a), Some(b)) => a.abs_diff(b) <= steps(settings) as u64,
        _ => false,
    }
}

/// The median rating (the lower middle one for an even count, a tie when the two middle
/// ratings differ).
pub(super) fn consensus(settings: &Settings, values: &[Value]) -> Consensus {
    let (min, _) = bounds(settings);
    let positions: Vec<usize> = values
        .iter()
        .filter_map(Value::as_i64)
        .filter_map(|n| usize::try_from(n.saturating_sub(min)).ok())
        .collect();
    let item = rating_consensus(&positions, steps(settings)).map(|c| {
        let value = min.saturating_add(c.value as i64);
        crate::quality::kinds::ItemConsensus {
            value,
            agreeing: c.agreeing,
            raters: c.raters,
            share: c.share,
            tie: c.tie,
        }
    });
    from_item(item)
}
