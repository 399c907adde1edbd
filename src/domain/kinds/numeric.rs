//! Numbers in a range, optionally on a grid of `step`.

use serde_json::Value;

use super::{from_item, Consensus, Settings};
use crate::quality::kinds::{numbers_within, numeric_consensus};

pub(super) fn parse(settings: &Settings, raw: &Value) -> Result<Value, String> {
    let Some(range) = &settings.range else {
        return Err("this project has no range".into());
    };
    let Some(n) = raw.as_f64().filter(|n| n.is_finite() && raw.is_number()) else {
        return Err(format!(
            "must be a number from {} to {}",
            range.min, range.max
        ));
    };
    if n < range.min || n > range.max {
        return Err(format!("{n} is outside {} to {}", range.min, range.max));
    }
    if let Some(step) = range.step {
        let steps = (n - range.min) / step;
        if (steps - steps.round()).abs() > 1e-9 * steps.abs().max(1.0) {
            return Err(format!("must be {} plus a multiple of {step}", range.min));
        }
    }
    Ok(raw.clone())
}

fn tolerance(settings: &Settings) -> f64 {
    settings.tolerance.unwrap_or(0.0)
}

pub(super) fn within(settings: &Settings, value: &Value, gold: &Value) -> bool {
    match (value.as_f64(), gold.as_f64()) {
        (Some(a), Some(b)) => numbers_within(a, b, tolerance(settings)),
        _ => false,
    }
}

/// The median; raters within the tolerance of it agree.
pub(super) fn consensus(settings: &Settings, values: &[Value]) -> Consensus {
    let numbers: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
    from_item(numeric_consensus(&numbers, tolerance(settings)))
}
