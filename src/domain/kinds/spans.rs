//! Text spans: labelled stretches of the item's text field, offsets in Unicode scalar
//! values (`end` exclusive), no two identical.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{decode_all, from_item, Consensus, Settings, MAX_UNITS};
use crate::quality::kinds::{span_consensus, spans_agree, Span, SpanMatch};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpan {
    start: usize,
    end: usize,
    label: String,
}

pub(super) fn parse(labels: &[String], raw: &Value) -> Result<Value, String> {
    let Value::Array(items) = raw else {
        return Err("must be an array of {\"start\", \"end\", \"label\"}".into());
    };
    if items.len() > MAX_UNITS {
        return Err(format!("holds more than {MAX_UNITS} spans"));
    }
    let mut spans = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let span: RawSpan = serde_json::from_value(item.clone()).map_err(|e| {
            format!(
                "span {}: {e} (a span is {{\"start\", \"end\", \"label\"}})",
                i + 1
            )
        })?;
        if span.start >= span.end {
            return Err(format!("span {}: start must be before end", i + 1));
        }
        if !labels.contains(&span.label) {
            return Err(format!(
                "span {}: {:?} is not one of this project's labels ({})",
                i + 1,
                span.label,
                labels.join(", ")
            ));
        }
        spans.push(Span {
            start: span.start,
            end: span.end,
            label: span.label,
        });
    }
    spans.sort();
    if spans.windows(2).any(|w| w[0] == w[1]) {
        return Err("two spans are identical".into());
    }
    serde_json::to_value(spans).map_err(|e| e.to_string())
}

/// Spans must end inside the item's text.
pub(super) fn check_for_item(
    settings: &Settings,
    value: &Value,
    data: &Map<String, Value>,
) -> Result<(), String> {
    let field = settings.field.as_deref().unwrap_or("text");
    let Some(Value::String(text)) = data.get(field) else {
        return Err(format!("the item has no text field {field:?} to mark"));
    };
    let length = text.chars().count();
    let spans: Vec<Span> = serde_json::from_value(value.clone()).unwrap_or_default();
    match spans.iter().find(|s| s.end > length) {
        Some(span) => Err(format!(
            "a span ends at {} but the text has {length} characters",
            span.end
        )),
        None => Ok(()),
    }
}

fn mode(settings: &Settings) -> SpanMatch {
    settings.span_match.unwrap_or(SpanMatch::Exact)
}

fn min_f1(settings: &Settings) -> f64 {
    settings.min_f1.unwrap_or(1.0)
}

fn spans_of(value: &Value) -> Vec<Span> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

pub(super) fn agree(settings: &Settings, value: &Value, gold: &Value) -> bool {
    spans_agree(
        &spans_of(value),
        &spans_of(gold),
        mode(settings),
        min_f1(settings),
    )
}

/// The spans a majority of raters matched, merged.
pub(super) fn consensus(settings: &Settings, values: &[Value]) -> Consensus {
    let lists: Vec<Vec<Span>> = decode_all(values);
    from_item(span_consensus(&lists, mode(settings), min_f1(settings)))
}
