//! Webhooks: the events a project announces to URLs its admins name, the JSON body of each
//! call, its signature, the schedule of retries and the rules a webhook's URL must meet.
//!
//! Every call is `POST` with a JSON body `{"event", "project_id", "occurred_at", "data"}`,
//! signed as `X-Tally-Signature: sha256=HEX(HMAC-SHA256(secret, body))` over the exact bytes.

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

use super::Invalid;

/// What a webhook may be called for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    ItemCompleted,
    BatchCompleted,
    DatasetVersionCreated,
    FeedbackSourceSilent,
    FeedbackSourceDrift,
    /// The test button's call; every webhook gets it when asked, none subscribes to it.
    Ping,
}

impl EventKind {
    /// The events a webhook may subscribe to, in the order pages list them.
    pub const SUBSCRIBABLE: [EventKind; 5] = [
        EventKind::ItemCompleted,
        EventKind::BatchCompleted,
        EventKind::DatasetVersionCreated,
        EventKind::FeedbackSourceSilent,
        EventKind::FeedbackSourceDrift,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ItemCompleted => "item.completed",
            EventKind::BatchCompleted => "batch.completed",
            EventKind::DatasetVersionCreated => "dataset_version.created",
            EventKind::FeedbackSourceSilent => "feedback_source.silent",
            EventKind::FeedbackSourceDrift => "feedback_source.drift",
            EventKind::Ping => "ping",
        }
    }

    /// A subscribable event by its name.
    pub fn parse(name: &str) -> Option<EventKind> {
        Self::SUBSCRIBABLE
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// What the event means, for the project page.
    pub fn describe(self) -> &'static str {
        match self {
            EventKind::ItemCompleted => "an item has every label it wants",
            EventKind::BatchCompleted => "every N completed items",
            EventKind::DatasetVersionCreated => "a dataset version is made",
            EventKind::FeedbackSourceSilent => "a feedback source falls silent",
            EventKind::FeedbackSourceDrift => "a feedback source drifts",
            EventKind::Ping => "the test button",
        }
    }
}

/// Something that happened in a project, with what a receiver needs to act on it.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookEvent {
    /// An item has all the labels it wants: none missing in any pool, not waiting for experts.
    ItemCompleted {
        item_id: i64,
        external_id: Option<String>,
        labels: i64,
    },
    /// The next `item_ids.len()` items of the project completed (a webhook's batch size).
    BatchCompleted { item_ids: Vec<i64> },
    /// A dataset version of the project was recorded.
    DatasetVersionCreated {
        version_id: i64,
        format: String,
        rows: i64,
        labels: i64,
        sha256: String,
    },
    /// A feedback source sent nothing for longer than its expected interval.
    FeedbackSourceSilent {
        source: String,
        last_event_at: Option<i64>,
        expected_interval_seconds: Option<i64>,
    },
    /// A feedback source's last day of values moved away from its week before (PSI).
    FeedbackSourceDrift { source: String, psi: Option<f64> },
    /// The test button.
    Ping { webhook_id: i64 },
}

impl WebhookEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            WebhookEvent::ItemCompleted { .. } => EventKind::ItemCompleted,
            WebhookEvent::BatchCompleted { .. } => EventKind::BatchCompleted,
            WebhookEvent::DatasetVersionCreated { .. } => EventKind::DatasetVersionCreated,
            WebhookEvent::FeedbackSourceSilent { .. } => EventKind::FeedbackSourceSilent,
            WebhookEvent::FeedbackSourceDrift { .. } => EventKind::FeedbackSourceDrift,
            WebhookEvent::Ping { .. } => EventKind::Ping,
        }
    }

    /// The `data` member of the body.
    pub fn data(&self) -> Value {
        match self {
            WebhookEvent::ItemCompleted {
                item_id,
                external_id,
                labels,
            } => json!({"item_id": item_id, "external_id": external_id, "labels": labels}),
            WebhookEvent::BatchCompleted { item_ids } => {
                json!({"batch_size": item_ids.len(), "item_ids": item_ids})
            }
            WebhookEvent::DatasetVersionCreated {
                version_id,
                format,
                rows,
                labels,
                sha256,
            } => json!({
                "version_id": version_id,
                "format": format,
                "rows": rows,
                "labels": labels,
                "sha256": sha256,
            }),
            WebhookEvent::FeedbackSourceSilent {
                source,
                last_event_at,
                expected_interval_seconds,
            } => json!({
                "source": source,
                "last_event_at": last_event_at,
                "expected_interval_seconds": expected_interval_seconds,
            }),
            WebhookEvent::FeedbackSourceDrift { source, psi } => {
                json!({"source": source, "psi": psi})
            }
            WebhookEvent::Ping { webhook_id } => json!({"webhook_id": webhook_id}),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    event: &'static str,
    project_id: i64,
    occurred_at: i64,
    data: &'a Value,
}

/// The JSON text sent for an event: these exact bytes are stored, signed and sent.
/// `occurred_at` is epoch milliseconds, like every time in tally's API.
pub fn body(project_id: i64, event: &WebhookEvent, occurred_at: i64) -> String {
    let data = event.data();
    let body = Body {
        event: event.kind().as_str(),
        project_id,
        occurred_at,
        data: &data,
    };
    // A struct of plain values always serializes.
    serde_json::to_string(&body).unwrap_or_else(|_| unreachable!("the body is plain JSON"))
}

/// Header with the signature of the body: `sha256=` and the hex HMAC-SHA256.
pub const SIGNATURE_HEADER: &str = "X-Tally-Signature";
/// Header with the event's name.
pub const EVENT_HEADER: &str = "X-Tally-Event";
/// Header with the delivery's id: the same on every retry, so receivers can ignore repeats.
pub const DELIVERY_HEADER: &str = "X-Tally-Delivery";
/// Header with the time of the attempt, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Tally-Timestamp";

/// The value of [`SIGNATURE_HEADER`] for a body signed with a webhook's secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// When to try a failed delivery again: the delay doubles from `base_ms` up to `cap_ms`,
/// and after `max_attempts` attempts the delivery is given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: i64,
    pub cap_ms: i64,
    pub max_attempts: i64,
}

impl Default for Backoff {
    /// 10 s, 20 s, 40 s ... at most an hour apart; given up after the 8th attempt.
    fn default() -> Self {
        Backoff {
            base_ms: 10_000,
            cap_ms: 3_600_000,
            max_attempts: 8,
        }
    }
}

impl Backoff {
    /// The wait before the next attempt after `attempts` failed ones, or `None` when the
    /// delivery is given up.
    pub fn delay_after(&self, attempts: i64) -> Option<i64> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 62)).unwrap_or(62);
        let factor = 1_i64.checked_shl(doublings).unwrap_or(i64::MAX);
        Some(self.base_ms.saturating_mul(factor).min(self.cap_ms))
    }
}

/// Longest webhook URL taken.
pub const MAX_URL_LENGTH: usize = 2000;
/// Batch size when none is given.
pub const DEFAULT_BATCH_SIZE: i64 = 100;
/// Largest batch size: a batch's ids travel in one body.
pub const MAX_BATCH_SIZE: i64 = 10_000;

/// Checks a webhook URL: absolute http or https with a host, no user or password in it (the
/// signature is how a receiver knows tally) and no fragment (never sent).
pub fn check_url(raw: &str) -> Result<String, Invalid> {
    let raw = raw.trim();
    let bad = |reason: &str| Invalid::new("url", reason);
    if raw.is_empty() {
        return Err(bad("give the URL to call"));
    }
    if raw.len() > MAX_URL_LENGTH {
        return Err(bad(&format!("must be at most {MAX_URL_LENGTH} bytes")));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("{raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(&format!(
            "the scheme must be http or https, not {:?}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the URL must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "no user name or password in the URL: receivers check the signature instead",
        ));
    }
    if url.fragment().is_some() {
        return Err(bad("no #fragment: it is never sent"));
    }
    Ok(url.to_string())
}

/// A webhook as an admin asks for it, before it is checked.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct WebhookSpec {
    /// The http or https URL to POST to.
    pub url: String,
    /// Event names to subscribe to; all of them when absent.
    pub events: Option<Vec<String>>,
    /// Completed items per `batch.completed` (default 100).
    pub batch_size: Option<i64>,
}

/// A checked webhook, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<EventKind>,
    pub batch_size: i64,
}

impl WebhookSpec {
    pub fn validate(&self) -> Result<NewWebhook, Invalid> {
        let url = check_url(&self.url)?;
        let events = match &self.events {
            None => EventKind::SUBSCRIBABLE.to_vec(),
            Some(names) => parse_events(names)?,
        };
        let batch_size = self.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        if !(1..=MAX_BATCH_SIZE).contains(&batch_size) {
            return Err(Invalid::new(
                "batch_size",
                format!("must be 1 to {MAX_BATCH_SIZE}"),
            ));
        }
        Ok(NewWebhook {
            url,
            events,
            batch_size,
        })
    }
}

fn parse_events(names: &[String]) -> Result<Vec<EventKind>, Invalid> {
    let mut events = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let kind = EventKind::parse(name.trim()).ok_or_else(|| {
            let known: Vec<&str> = EventKind::SUBSCRIBABLE.iter().map(|k| k.as_str()).collect();
            Invalid::new(
                format!("events[{i}]"),
                format!("{name:?} is not an event; use {}", known.join(", ")),
            )
        })?;
        if !events.contains(&kind) {
            events.push(kind);
        }
    }
    if events.is_empty() {
        return Err(Invalid::new("events", "subscribe to at least one event"));
    }
    events.sort();
    Ok(events)
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up after the last attempt failed.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn from_stored(text: &str) -> DeliveryStatus {
        match text {
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it failed (the status line and the start of the answer, or the network error).
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What becomes of a delivery after an attempt made at `now` when it had been tried
/// `attempts` times in all: delivered, tried again later, or given up.
pub fn after_attempt(
    attempt: &Attempt,
    attempts: i64,
    now: i64,
    backoff: &Backoff,
) -> (DeliveryStatus, Option<i64>) {
    if attempt.succeeded() {
        return (DeliveryStatus::Delivered, None);
    }
    match backoff.delay_after(attempts) {
        Some(delay) => (DeliveryStatus::Pending, Some(now.saturating_add(delay))),
        None => (DeliveryStatus::Failed, None),
    }
}

/// Longest error kept for the delivery log.
pub const MAX_ERROR_CHARS: usize = 300;

/// A receiver's answer or a network error, shortened for the log.
pub fn short_error(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = clean.trim();
    match trimmed.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_exact_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let a = signature("s", b"{\"a\":1}");
        assert_ne!(a, signature("s", b"{\"a\": 1}"), "one byte changes it");
        assert_ne!(a, signature("t", b"{\"a\":1}"), "the secret changes it");
    }

    #[test]
    fn the_body_has_the_event_the_project_the_time_and_the_data() {
        let event = WebhookEvent::BatchCompleted {
            item_ids: vec![3, 4],
        };
        let text = body(7, &event, 1_000);
        assert_eq!(
            text,
            r#"{"event":"batch.completed","project_id":7,"occurred_at":1000,"data":{"batch_size":2,"item_ids":[3,4]}}"#
        );
        let version = WebhookEvent::DatasetVersionCreated {
            version_id: 2,
            format: "parquet".into(),
            rows: 10,
            labels: 30,
            sha256: "ab".into(),
        };
        let parsed: Value = serde_json::from_str(&body(1, &version, 5)).unwrap();
        assert_eq!(parsed["event"], "dataset_version.created");
        assert_eq!(parsed["data"]["format"], "parquet");
        assert_eq!(parsed["data"]["rows"], 10);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let backoff = Backoff::default();
        let delays: Vec<Option<i64>> = (1..=8).map(|n| backoff.delay_after(n)).collect();
        assert_eq!(
            delays,
            [
                Some(10_000),
                Some(20_000),
                Some(40_000),
                Some(80_000),
                Some(160_000),
                Some(320_000),
                Some(640_000),
                None
            ]
        );
        let capped = Backoff {
            base_ms: 1_000,
            cap_ms: 5_000,
            max_attempts: 100,
        };
        assert_eq!(capped.delay_after(3), Some(4_000));
        assert_eq!(capped.delay_after(4), Some(5_000));
        assert_eq!(capped.delay_after(99), Some(5_000), "no overflow");
    }

    #[test]
    fn an_attempt_delivers_retries_or_gives_up() {
        let backoff = Backoff {
            base_ms: 100,
            cap_ms: 1_000,
            max_attempts: 3,
        };
        let ok = Attempt {
            status: Some(204),
            error: None,
        };
        let refused = Attempt {
            status: Some(500),
            error: Some("500".into()),
        };
        let unreachable = Attempt {
            status: None,
            error: Some("connection refused".into()),
        };
        assert_eq!(
            after_attempt(&ok, 3, 0, &backoff),
            (DeliveryStatus::Delivered, None)
        );
        assert_eq!(
            after_attempt(&refused, 2, 50, &backoff),
            (DeliveryStatus::Pending, Some(250))
        );
        assert_eq!(
            after_attempt(&unreachable, 3, 0, &backoff),
            (DeliveryStatus::Failed, None)
        );
        let redirect = Attempt {
            status: Some(301),
            error: None,
        };
        assert!(!redirect.succeeded(), "a redirect is not a delivery");
    }

    #[test]
    fn urls_must_be_http_or_https_without_credentials() {
        assert_eq!(
            check_url(" https://ci.example.com/hooks/tally?x=1 ").unwrap(),
            "https://ci.example.com/hooks/tally?x=1"
        );
        assert!(check_url("http://127.0.0.1:9000/").is_ok());
        for bad in [
            "",
            "ftp://example.com/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@example.com/",
            "https://user@example.com/",
            "https://example.com/#frag",
            "not a url",
            "/relative/path",
        ] {
            let refused = check_url(bad).unwrap_err();
            assert_eq!(refused.field, "url", "{bad}");
        }
        assert!(check_url(&format!("https://e.com/{}", "a".repeat(MAX_URL_LENGTH))).is_err());
    }

    #[test]
    fn specs_are_checked_field_by_field() {
        let spec = WebhookSpec {
            url: "https://e.com/h".into(),
            events: Some(vec!["batch.completed".into(), "item.completed".into()]),
            batch_size: Some(5),
        };
        let hook = spec.validate().unwrap();
        assert_eq!(
            hook.events,
            [EventKind::ItemCompleted, EventKind::BatchCompleted]
        );
        assert_eq!(hook.batch_size, 5);
        let all = WebhookSpec {
            url: "https://e.com/h".into(),
            ..WebhookSpec::default()
        };
        assert_eq!(all.validate().unwrap().events.len(), 5);
        assert_eq!(all.validate().unwrap().batch_size, DEFAULT_BATCH_SIZE);
        let unknown = WebhookSpec {
            events: Some(vec!["item.completed".into(), "ping".into()]),
            ..spec.clone()
        };
        assert_eq!(unknown.validate().unwrap_err().field, "events[1]");
        let none = WebhookSpec {
            events: Some(vec![]),
            ..spec.clone()
        };
        assert_eq!(none.validate().unwrap_err().field, "events");
        let zero = WebhookSpec {
            batch_size: Some(0),
            ..spec
        };
        assert_eq!(zero.validate().unwrap_err().field, "batch_size");
    }

    #[test]
    fn errors_are_shortened_and_cleaned_for_the_log() {
        assert_eq!(short_error(" 500\nboom\t"), "500 boom");
        let long = "é".repeat(MAX_ERROR_CHARS + 10);
        let short = short_error(&long);
        assert_eq!(short.chars().count(), MAX_ERROR_CHARS + 1);
        assert!(short.ends_with('…'));
    }
}
