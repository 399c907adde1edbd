//! Process feedback: events that production systems send (ratings, clicks, corrections),
//! checked one by one, mapped onto the label set, and measured against human labels.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::kinds::Schema;
use super::project::Project;
use super::text::MAX_CONTEXT_BYTES;

/// One feedback event as it arrives, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackEvent {
    pub event_id: String,
    pub external_id: String,
    pub raw_value: String,
    pub source: String,
    /// Milliseconds since the epoch.
    pub occurred_at: i64,
    pub weight: f64,
    pub context: Map<String, Value>,
}

fn text_field(object: &Map<String, Value>, key: &str, max: usize) -> Result<String, String> {
    let text = match object.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        None | Some(Value::Null) => return Err(format!("\"{key}\" is missing")),
        Some(_) => return Err(format!("\"{key}\" must be a string")),
    };
    if text.is_empty() || text.len() > max {
        return Err(format!("\"{key}\" must be 1 to {max} bytes"));
    }
    Ok(text)
}

fn occurred_at(object: &Map<String, Value>, received_at: i64) -> Result<i64, String> {
    match object.get("occurred_at") {
        None | Some(Value::Null) => Ok(received_at),
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|ms| *ms >= 0)
            .ok_or_else(|| "\"occurred_at\" must be epoch milliseconds or an RFC 3339 time".into()),
        Some(Value::String(s)) => OffsetDateTime::parse(s, &Rfc3339)
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .map_err(|_| format!("\"occurred_at\" {s:?} is not an RFC 3339 time")),
        Some(_) => Err("\"occurred_at\" must be epoch milliseconds or an RFC 3339 time".into()),
    }
}

const EVENT_FIELDS: [&str; 7] = [
    "event_id",
    "external_id",
    "value",
    "source",
    "occurred_at",
    "weight",
    "context",
];

/// Checks one event; the error is the reason it is refused.
pub fn parse_event(value: Value, received_at: i64) -> Result<FeedbackEvent, String> {
    let Value::Object(object) = value else {
        return Err("an event must be a JSON object".into());
    };
    if let Some(unknown) = object.keys().find(|k| !EVENT_FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field {unknown:?}"));
    }
    let weight = match object.get("weight") {
        None | Some(Value::Null) => 1.0,
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|w| w.is_finite() && *w >= 0.0)
            .ok_or("\"weight\" must be a number of at least 0")?,
        Some(_) => return Err("\"weight\" must be a number".into()),
    };
    let context = match object.get("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(c)) => c.clone(),
        Some(_) => return Err("\"context\" must be a JSON object".into()),
    };
    let context_bytes = Value::Object(context.clone()).to_string().len();
    if context_bytes > MAX_CONTEXT_BYTES {
        return Err(format!(
            "\"context\" must be at most {MAX_CONTEXT_BYTES} bytes as JSON"
        ));
    }
    Ok(FeedbackEvent {
        event_id: text_field(&object, "event_id", 200)?,
        external_id: text_field(&object, "external_id", 500)?,
        raw_value: text_field(&object, "value", 200)?,
        source: text_field(&object, "source", 100)?,
        occurred_at: occurred_at(&object, received_at)?,
        weight,
        context,
    })
}

/// Most events one request may carry; a larger batch is refused whole (413), so one client
/// cannot hold the database for long.
pub const MAX_EVENTS_PER_BATCH: usize = 1_000;

/// A batch with more than [`MAX_EVENTS_PER_BATCH`] events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTooLarge {
    pub events: usize,
}

impl std::fmt::Display for BatchTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the batch holds {} events; send at most {MAX_EVENTS_PER_BATCH} per request",
            self.events
        )
    }
}

/// One parsed line of a batch: its line number and the event or why it was refused.
pub type ParsedLine = (usize, Result<FeedbackEvent, String>);

/// Splits a body into events: one JSON object, a JSON array, or NDJSON lines. Each entry
/// is its line number (1 for a single object) and the event or why it was refused. The
/// events are counted before any is parsed, so an oversized batch costs little.
pub fn parse_body(text: &str, received_at: i64) -> Result<Vec<ParsedLine>, BatchTooLarge> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let elements: Vec<&serde_json::value::RawValue> = match serde_json::from_str(text) {
            Ok(elements) => elements,
            Err(e) => return Ok(vec![(e.line(), Err(format!("bad JSON: {e}")))]),
        };
        if elements.len() > MAX_EVENTS_PER_BATCH {
            return Err(BatchTooLarge {
                events: elements.len(),
            });
        }
        return Ok(elements
            .into_iter()
            .enumerate()
            .map(|(i, raw)| {
                let event = serde_json::from_str::<Value>(raw.get())
                    .map_err(|e| format!("bad JSON: {e}"))
                    .and_then(|v| parse_event(v, received_at));
                (i + 1, event)
            })
            .collect());
    }
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .collect();
    if lines.len() > MAX_EVENTS_PER_BATCH {
        return Err(BatchTooLarge {
            events: lines.len(),
        });
    }
    Ok(lines
        .into_iter()
        .map(|(i, line)| {
            let event = serde_json::from_str::<Value>(line)
                .map_err(|e| format!("bad JSON: {e}"))
                .and_then(|v| parse_event(v, received_at));
            (i + 1, event)
        })
        .collect())
}

/// Translates a source's values onto the project's values (thumbs_up → pos, five_stars →
/// 5), then checks them like labels; an unmapped value is read as the kind's value.
pub fn map_value(
    raw: &str,
    mapping: &HashMap<String, Value>,
    project: &Project,
) -> Result<Value, String> {
    let mapped = match mapping.get(raw) {
        Some(value) => value.clone(),
        None => project.kind.value_from_text(raw),
    };
    project.schema().parse(&mapped).map_err(|e| {
        if mapping.contains_key(raw) {
            format!("{raw:?} maps to {mapped}, which {}", e.reason)
        } else {
            e.reason
        }
    })
}

/// Population stability index between two value distributions; `None` when either side
/// is empty. Zero counts are smoothed so that a category new to one side counts, finitely.
pub fn psi(recent: &BTreeMap<String, i64>, baseline: &BTreeMap<String, i64>) -> Option<f64> {
    let recent_total: i64 = recent.values().sum();
    let baseline_total: i64 = baseline.values().sum();
    if recent_total == 0 || baseline_total == 0 {
        return None;
    }
    let categories: BTreeSet<&String> = recent.keys().chain(baseline.keys()).collect();
    const FLOOR: f64 = 1e-4;
    let value = categories
        .into_iter()
        .map(|c| {
            let r = (*recent.get(c).unwrap_or(&0) as f64 / recent_total as f64).max(FLOOR);
            let b = (*baseline.get(c).unwrap_or(&0) as f64 / baseline_total as f64).max(FLOOR);
            (r - b) * (r / b).ln()
        })
        .sum();
    Some(value)
}

/// PSI above this is commonly read as a significant shift.
pub const DRIFT_PSI: f64 = 0.25;
/// Fewer events than this in either window are too few to call drift.
pub const DRIFT_MIN_EVENTS: i64 = 30;

/// What the store counts for one source.
#[derive(Debug, Clone, Default)]
pub struct SourceCounts {
    pub source: String,
    pub expected_interval_seconds: Option<i64>,
    pub events_total: i64,
    pub events_last_day: i64,
    pub refused_last_day: i64,
    pub last_event_at: Option<i64>,
    /// Values in the last day, and in the six days before it.
    pub recent: BTreeMap<String, i64>,
    pub baseline: BTreeMap<String, i64>,
}

/// The health of a source, as the project page and `GET .../sources` show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SourceHealth {
    pub source: String,
    pub events_total: i64,
    pub events_per_hour: f64,
    pub last_event_at: Option<i64>,
    pub refused_share: Option<f64>,
    pub expected_interval_seconds: Option<i64>,
    pub silent: bool,
    pub drift_psi: Option<f64>,
    pub drifting: bool,
    pub flags: Vec<String>,
}

/// Judges a source at `now` (epoch ms): silent past its expected interval, or drifting
/// from its trailing baseline.
pub fn assess(counts: SourceCounts, now: i64) -> SourceHealth {
    let silent = counts.expected_interval_seconds.is_some_and(|interval| {
        counts
            .last_event_at
            .is_none_or(|last| now.saturating_sub(last) > interval.saturating_mul(1000))
    });
    let enough = counts.recent.values().sum::<i64>() >= DRIFT_MIN_EVENTS
        && counts.baseline.values().sum::<i64>() >= DRIFT_MIN_EVENTS;
    let drift_psi = psi(&counts.recent, &counts.baseline);
    let drifting = enough && drift_psi.is_some_and(|p| p > DRIFT_PSI);
    let seen = counts.events_last_day + counts.refused_last_day;
    let mut flags = Vec::new();
    if silent {
        flags.push("silent".to_string());
    }
    if drifting {
        flags.push("drifting".to_string());
    }
    SourceHealth {
        source: counts.source,
        events_total: counts.events_total,
        events_per_hour: counts.events_last_day as f64 / 24.0,
        last_event_at: counts.last_event_at,
        refused_share: (seen > 0).then(|| counts.refused_last_day as f64 / seen as f64),
        expected_interval_seconds: counts.expected_interval_seconds,
        silent,
        drift_psi,
        drifting,
        flags,
    }
}

/// One stored event, as the agreement measure reads it.
#[derive(Debug, Clone)]
pub struct StoredFeedback {
    pub item_id: i64,
    pub source: String,
    pub value: Value,
    pub context: Map<String, Value>,
}

/// How often a group of events agrees with the human consensus.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Agreement {
    pub compared: i64,
    pub agreeing: i64,
    pub agreement: Option<f64>,
}

impl Agreement {
    fn add(&mut self, agrees: bool) {
        self.compared += 1;
        self.agreeing += i64::from(agrees);
        self.agreement = Some(self.agreeing as f64 / self.compared as f64);
    }
}

/// A source's agreement with the human consensus, overall and by each context key's values.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceAgreement {
    pub source: String,
    pub events: i64,
    #[serde(flatten)]
    pub overall: Agreement,
    pub by_context: BTreeMap<String, BTreeMap<String, Agreement>>,
}

fn context_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Compares each source's events with the human consensus label of their items.
pub fn agreement_with_consensus(
    events: &[StoredFeedback],
    consensus: &HashMap<i64, Value>,
    schema: Schema<'_>,
) -> Vec<SourceAgreement> {
    let mut by_source: BTreeMap<&str, SourceAgreement> = BTreeMap::new();
    for event in events {
        let entry = by_source
            .entry(event.source.as_str())
            .or_insert_with(|| SourceAgreement {
                source: event.source.clone(),
                ..SourceAgreement::default()
            });
        entry.events += 1;
        let Some(human) = consensus.get(&event.item_id) else {
            continue;
        };
        let agrees = schema.matches(&event.value, human);
        entry.overall.add(agrees);
        for (key, value) in &event.context {
            entry
                .by_context
                .entry(key.clone())
                .or_default()
                .entry(context_value(value))
                .or_default()
                .add(agrees);
        }
    }
    by_source.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_checked_field_by_field() {
        let ok = parse_event(json!({"event_id": "e1", "external_id": 5, "value": "thumbs_up", "source": "app", "occurred_at": "2026-11-28T10:00:00Z", "weight": 2, "context": {"position": 3}}), 0).unwrap();
        assert_eq!(ok.external_id, "5");
        assert_eq!(ok.occurred_at, 1_795_860_000_000);
        assert_eq!(ok.weight, 2.0);
        assert!(
            parse_event(json!({"external_id": "x", "value": "v", "source": "s"}), 0)
                .unwrap_err()
                .contains("event_id")
        );
        assert!(parse_event(
            json!({"event_id": "e", "external_id": "x", "value": "v", "source": "s", "weight": -1}),
            0
        )
        .is_err());
        assert!(parse_event(
            json!({"event_id": "e", "external_id": "x", "value": "v", "source": "s", "colour": 1}),
            0
        )
        .unwrap_err()
        .contains("colour"));
        assert_eq!(
            parse_event(
                json!({"event_id": "e", "external_id": "x", "value": "v", "source": "s"}),
                77
            )
            .unwrap()
            .occurred_at,
            77
        );
    }

    #[test]
    fn bodies_split_into_numbered_lines() {
        let body = "{\"event_id\":\"a\",\"external_id\":\"x\",\"value\":\"v\",\"source\":\"s\"}\n\nnot json\n";
        let parsed = parse_body(body, 0).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, 1);
        assert!(parsed[0].1.is_ok());
        assert_eq!(parsed[1].0, 3);
        assert!(parsed[1].1.as_ref().unwrap_err().starts_with("bad JSON"));
    }

    #[test]
    fn oversized_batches_and_contexts_are_refused() {
        let line = "{\"event_id\":\"a\",\"external_id\":\"x\",\"value\":\"v\",\"source\":\"s\"}\n";
        let body = line.repeat(MAX_EVENTS_PER_BATCH + 1);
        assert_eq!(
            parse_body(&body, 0).unwrap_err(),
            BatchTooLarge {
                events: MAX_EVENTS_PER_BATCH + 1
            }
        );
        let array = format!("[{}]", vec!["{}"; MAX_EVENTS_PER_BATCH + 2].join(","));
        assert!(parse_body(&array, 0).is_err());
        assert_eq!(parse_body(&line.repeat(3), 0).unwrap().len(), 3);
        let big = "x".repeat(MAX_CONTEXT_BYTES);
        let refused = parse_event(
            json!({"event_id": "e", "external_id": "x", "value": "v", "source": "s", "context": {"k": big}}),
            0,
        )
        .unwrap_err();
        assert!(refused.contains("context"), "{refused}");
    }

    #[test]
    fn psi_is_zero_for_equal_and_large_for_shifted() {
        let a = BTreeMap::from([("pos".to_string(), 50), ("neg".to_string(), 50)]);
        assert!(psi(&a, &a).unwrap().abs() < 1e-12);
        let b = BTreeMap::from([("pos".to_string(), 90), ("neg".to_string(), 10)]);
        // (0.9-0.5)ln(1.8) + (0.1-0.5)ln(0.2) = 0.2351 + 0.6438
        assert!((psi(&b, &a).unwrap() - 0.878_88).abs() < 1e-4);
        assert_eq!(psi(&BTreeMap::new(), &a), None);
    }

    #[test]
    fn silent_and_drifting_sources_are_flagged() {
        let counts = SourceCounts {
            source: "clicks".into(),
            expected_interval_seconds: Some(60),
            last_event_at: Some(0),
            ..SourceCounts::default()
        };
        let health = assess(counts.clone(), 61_000);
        assert!(health.silent);
        assert_eq!(health.flags, ["silent"]);
        assert!(!assess(counts, 59_000).silent);
    }

    #[test]
    fn agreement_by_source_and_context() {
        let consensus = HashMap::from([(1, json!("pos")), (2, json!("neg"))]);
        let ev = |item, value: &str, pos: i64| StoredFeedback {
            item_id: item,
            source: "clicks".into(),
            value: json!(value),
            context: json!({"position": pos}).as_object().unwrap().clone(),
        };
        let events = [
            ev(1, "pos", 1),
            ev(2, "pos", 1),
            ev(2, "neg", 5),
            ev(3, "pos", 1),
        ];
        let project = crate::domain::project::Project::from_spec(
            1,
            crate::domain::project::NewProject::simple("p", &["pos", "neg"], 1, "")
                .validate()
                .unwrap(),
        );
        let result = agreement_with_consensus(&events, &consensus, project.schema());
        assert_eq!(result.len(), 1);
        assert_eq!(result[0].events, 4);
        assert_eq!(result[0].overall.compared, 3);
        assert_eq!(result[0].overall.agreeing, 2);
        let by_position = &result[0].by_context["position"];
        assert_eq!(by_position["1"].compared, 2);
        assert_eq!(by_position["1"].agreement, Some(0.5));
        assert_eq!(by_position["5"].agreement, Some(1.0));
    }
}
