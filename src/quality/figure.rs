//! Figures that may be undefined: computed as `Result<f64, String>` (the error is the reason)
//! and reported as a value plus a `<name>_reason` sibling.

/// A computed figure, or the reason it is undefined.
pub(crate) type Figure = Result<f64, String>;

/// Turn a raw number into a figure, refusing NaN and infinities.
pub(crate) fn finite(value: f64, what: &str) -> Figure {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(format!("{what} is not a finite number"))
    }
}

/// Split a figure into the value and reason fields of a report.
pub(crate) fn split(figure: Figure) -> (Option<f64>, Option<String>) {
    match figure {
        Ok(value) if value.is_finite() => (Some(value), None),
        Ok(_) => (None, Some("not a finite number".to_string())),
        Err(reason) => (None, Some(reason)),
    }
}

/// Split an optional interval into value and reason fields.
pub(crate) fn split_interval(
    interval: Result<[f64; 2], String>,
) -> (Option<[f64; 2]>, Option<String>) {
    match interval {
        Ok(bounds) if bounds.iter().all(|b| b.is_finite()) => (Some(bounds), None),
        Ok(_) => (None, Some("interval bounds are not finite".to_string())),
        Err(reason) => (None, Some(reason)),
    }
}
