//! A kind's settings beyond its label list, as the API takes them and as they are stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Kind;
use crate::domain::text::check_text;
use crate::domain::Invalid;
use crate::quality::kinds::SpanMatch;

/// A rating scale: whole numbers from `min` to `max`, with words for some points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub min: i64,
    pub max: i64,
    #[serde(default)]
    pub anchors: BTreeMap<String, String>,
}

/// The numbers a numeric project takes: `min` to `max`, on a grid of `step` from `min`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberRange {
    pub min: f64,
    pub max: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
}

/// Settings of a project's kind, stored as JSON beside the kind and its labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    /// Fewest and most labels a multiple-choice answer may hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<NumberRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// A regular expression the whole text must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The item data field the answer is about: the text of spans, the image of boxes and
    /// image choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// How far a rating (in steps) or a number may be from the gold answer or the
    /// consensus and still agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Boxes match when their intersection over union reaches this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iou_threshold: Option<f64>,
    /// Spans match when identical (`exact`) or when they overlap (`overlap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_match: Option<SpanMatch>,
    /// Two span or box lists agree when the F1 of their matching reaches this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_f1: Option<f64>,
    /// Raters may add a free-text comment to any label.
    #[serde(default)]
    pub comment: bool,
}

/// Longest free-text answer a project may allow.
pub const MAX_TEXT_LENGTH: usize = 10_000;
/// Most points a rating scale may have.
pub const MAX_SCALE_POINTS: i64 = 101;

/// The kind settings as `POST /api/v1/projects` takes them (beside `kind` and `labels`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsInput {
    pub min: Option<usize>,
    pub max: Option<usize>,
    pub scale: Option<Scale>,
    pub range: Option<NumberRange>,
    pub max_length: Option<usize>,
    pub pattern: Option<String>,
    pub field: Option<String>,
    pub tolerance: Option<f64>,
    pub iou_threshold: Option<f64>,
    pub span_match: Option<SpanMatch>,
    pub min_f1: Option<f64>,
    pub comment: Option<bool>,
}

fn refuse<T>(field: &str, reason: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid::new(field, reason))
}

/// A setting that belongs to other kinds is refused, so a typo does not pass silently.
fn only_for(kind: Kind, field: &str, given: bool, kinds: &[Kind]) -> Result<(), Invalid> {
    if given && !kinds.contains(&kind) {
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        return refuse(
            field,
            format!(
                "applies to {} projects, not {}",
                names.join(" and "),
                kind.as_str()
            ),
        );
    }
    Ok(())
}

fn share(field: &str, value: Option<f64>) -> Result<Option<f64>, Invalid> {
    match value {
        Some(v) if !(v > 0.0 && v <= 1.0) => refuse(field, "must be above 0 and at most 1"),
        other => Ok(other),
    }
}

impl SettingsInput {
    /// Checks the settings against the kind and its labels; returns the labels the kind
    /// uses (a rating's are its scale points) and the stored settings.
    pub fn validate(
        self,
        kind: Kind,
        labels: Vec<String>,
    ) -> Result<(Vec<String>, Settings), Invalid> {
        use Kind::*;
        only_for(kind, "min", self.min.is_some(), &[MultiChoice])?;
        only_for(kind, "max", self.max.is_some(), &[MultiChoice])?;
        only_for(kind, "scale", self.scale.is_some(), &[Rating])?;
        only_for(kind, "range", self.range.is_some(), &[Numeric])?;
        only_for(kind, "max_length", self.max_length.is_some(), &[Text])?;
        only_for(kind, "pattern", self.pattern.is_some(), &[Text])?;
        only_for(
            kind,
            "field",
            self.field.is_some(),
            &[Spans, Boxes, ImageChoice],
        )?;
        only_for(
            kind,
            "tolerance",
            self.tolerance.is_some(),
            &[Rating, Numeric],
        )?;
        only_for(
            kind,
            "iou_threshold",
            self.iou_threshold.is_some(),
            &[Boxes],
        )?;
        only_for(kind, "span_match", self.span_match.is_some(), &[Spans])?;
        only_for(kind, "min_f1", self.min_f1.is_some(), &[Spans, Boxes])?;
        let mut settings = Settings {
            min: self.min,
            max: self.max,
            scale: self.scale,
            range: self.range,
            max_length: self.max_length,
            pattern: self.pattern,
            field: self.field,
            tolerance: self.tolerance,
            iou_threshold: share("iou_threshold", self.iou_threshold)?,
            span_match: self.span_match,
            min_f1: share("min_f1", self.min_f1)?,
            comment: self.comment.unwrap_or(false),
        };
        if let Some(t) = settings.tolerance {
            if !(t.is_finite() && t >= 0.0) {
                return refuse("tolerance", "must be a number of at least 0");
            }
        }
        let labels = match kind {
            Rating => rating_points(&settings, labels)?,
            Numeric => {
                no_labels(kind, &labels)?;
                check_range(&settings)?;
                labels
            }
            Text => {
                no_labels(kind, &labels)?;
                check_text_settings(&mut settings)?;
                labels
            }
            SingleChoice | ImageChoice => super::choice::check_labels(labels, 2)?,
            MultiChoice => {
                let labels = super::choice::check_labels(labels, 1)?;
                check_selections(&settings, labels.len())?;
                labels
            }
            Spans | Boxes => super::choice::check_labels(labels, 1)?,
        };
        if kind.uses_field() {
            check_field(&settings)?;
        }
        Ok((labels, settings))
    }
}

impl Kind {
    /// Kinds that are about one named field of the item.
    pub fn uses_field(self) -> bool {
        matches!(self, Kind::Spans | Kind::Boxes | Kind::ImageChoice)
    }
}

fn no_labels(kind: Kind, labels: &[String]) -> Result<(), Invalid> {
    if labels.is_empty() {
        Ok(())
    } else {
        refuse(
            "labels",
            format!("{} projects take no labels", kind.as_str()),
        )
    }
}

fn check_field(settings: &Settings) -> Result<(), Invalid> {
    match settings.field.as_deref().map(str::trim) {
        Some(field) if !field.is_empty() => check_text("field", field, 100),
        _ => refuse("field", "name the item data field this kind is about"),
    }
}

fn rating_points(settings: &Settings, labels: Vec<String>) -> Result<Vec<String>, Invalid> {
    let Some(scale) = &settings.scale else {
        return refuse("scale", "give the rating scale: {\"min\": 1, \"max\": 5}");
    };
    if scale.min >= scale.max || scale.max.saturating_sub(scale.min) >= MAX_SCALE_POINTS {
        return refuse(
            "scale",
            format!("min must be below max, with at most {MAX_SCALE_POINTS} points"),
        );
    }
    for (point, words) in &scale.anchors {
        let inside = point
            .parse::<i64>()
            .is_ok_and(|p| (scale.min..=scale.max).contains(&p));
        if !inside {
            return refuse(
                "scale",
                format!("anchor {point:?} is not a point of the scale"),
            );
        }
        check_text("scale", words, 100)?;
    }
    let points: Vec<String> = (scale.min..=scale.max).map(|p| p.to_string()).collect();
    if !labels.is_empty() && labels != points {
        return refuse(
            "labels",
            "a rating's labels are its scale points; leave labels out",
        );
    }
    Ok(points)
}

fn check_range(settings: &Settings) -> Result<(), Invalid> {
    let Some(range) = &settings.range else {
        return refuse("range", "give the range: {\"min\": 0, \"max\": 100}");
    };
    let finite = range.min.is_finite() && range.max.is_finite();
    if !finite || range.min >= range.max {
        return refuse("range", "min must be below max, both finite");
    }
    if let Some(step) = range.step {
        if !(step.is_finite() && step > 0.0) {
            return refuse("range", "step must be above 0");
        }
    }
    Ok(())
}

fn check_text_settings(settings: &mut Settings) -> Result<(), Invalid> {
    let max_length = settings.max_length.unwrap_or(1_000);
    if !(1..=MAX_TEXT_LENGTH).contains(&max_length) {
        return refuse("max_length", format!("must be 1 to {MAX_TEXT_LENGTH}"));
    }
    settings.max_length = Some(max_length);
    if let Some(pattern) = &settings.pattern {
        check_text("pattern", pattern, 500)?;
        super::text::compile(pattern).map_err(|e| Invalid::new("pattern", e))?;
    }
    Ok(())
}

fn check_selections(settings: &Settings, labels: usize) -> Result<(), Invalid> {
    let min = settings.min.unwrap_or(0);
    let max = settings.max.unwrap_or(labels);
    if min > max || max > labels || max == 0 {
        return refuse(
            "max",
            format!("need 0 <= min <= max <= {labels} (the number of labels) and max >= 1"),
        );
    }
    Ok(())
}
