//! Process feedback for the demo's review project: a week of thumbs from the product (a
//! steady source) and of star ratings whose widget broke yesterday (a drifting source:
//! nearly every rating since is five stars, all from app version 4.2).

use std::collections::HashMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::simulate::Truth;
use crate::domain::feedback::parse_body;
use crate::domain::project::Project;
use crate::store::feedback::SourceConfig;
use crate::store::Store;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Events are sent in batches well under the API's limit per request.
const BATCH: usize = 400;

pub async fn send(
    store: &Store,
    project: &Project,
    truths: &HashMap<String, Truth>,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<()> {
    configure_sources(store, project).await?;
    let now = crate::domain::now_ms();
    let mut ids: Vec<(&String, &Truth)> = truths.iter().filter(|(_, t)| !t.qualification).collect();
    ids.sort_by(|a, b| a.0.cmp(b.0));
    // Each event is received at its own time: a week back for the baseline, the last day
    // for the recent window that source health compares with it.
    let mut events: Vec<(i64, String)> = Vec::new();
    for (n, (external_id, truth)) in ids.iter().enumerate() {
        let sentiment = truth.value.as_str().unwrap_or("neutral");
        if let Some(thumb) = thumb(sentiment, rng) {
            let at = now - rng.gen_range(HOUR_MS / 6..7 * DAY_MS);
            let event = json!({
                "event_id": format!("thumbs-{n}"), "external_id": external_id, "source": "thumbs",
                "value": thumb, "occurred_at": at, "context": { "surface": if n % 3 == 0 { "email" } else { "app" } },
            });
            events.push((at, event.to_string()));
        }
        let recent = rng.gen_bool(0.3);
        let at = if recent {
            now - rng.gen_range(HOUR_MS..DAY_MS - HOUR_MS)
        } else {
            now - rng.gen_range(DAY_MS + HOUR_MS..7 * DAY_MS)
        };
        let (stars, version) = if recent {
            (
                if rng.gen_bool(0.85) {
                    5
                } else {
                    stars(sentiment, rng)
                },
                "4.2",
            )
        } else {
            (stars(sentiment, rng), "4.1")
        };
        let event = json!({
            "event_id": format!("stars-{n}"), "external_id": external_id, "source": "stars",
            "value": stars.to_string(), "occurred_at": at, "context": { "app_version": version },
        });
        events.push((at, event.to_string()));
    }
    events.sort_by_key(|(at, _)| *at);
    for chunk in events.chunks(BATCH) {
        let received = chunk.last().map(|(at, _)| *at).unwrap_or(now);
        let body: Vec<&str> = chunk.iter().map(|(_, line)| line.as_str()).collect();
        let lines = parse_body(&body.join("\n"), received)
            .map_err(|too_large| anyhow::anyhow!("{too_large}"))?;
        store
            .ingest_feedback_received(project, lines, received)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
    }
    Ok(())
}

async fn configure_sources(store: &Store, project: &Project) -> anyhow::Result<()> {
    let thumbs = SourceConfig {
        source: "thumbs".into(),
        mapping: HashMap::from([
            ("up".to_string(), json!("positive")),
            ("down".to_string(), json!("negative")),
        ]),
        expected_interval_seconds: Some(6 * 3600),
    };
    let stars = SourceConfig {
        source: "stars".into(),
        mapping: HashMap::from([
            ("1".to_string(), json!("negative")),
            ("2".to_string(), json!("negative")),
            ("3".to_string(), json!("neutral")),
            ("4".to_string(), json!("positive")),
            ("5".to_string(), json!("positive")),
        ]),
        expected_interval_seconds: None,
    };
    for source in [thumbs, stars] {
        store
            .upsert_source(project.id, &source)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
    }
    Ok(())
}

/// A thumb for most clear reviews, none for neutral ones; one in ten is the other way.
fn thumb(sentiment: &str, rng: &mut ChaCha8Rng) -> Option<&'static str> {
    if !rng.gen_bool(0.7) {
        return None;
    }
    let agree = rng.gen_bool(0.9);
    match (sentiment, agree) {
        ("positive", true) | ("negative", false) => Some("up"),
        ("negative", true) | ("positive", false) => Some("down"),
        _ => None,
    }
}

fn stars(sentiment: &str, rng: &mut ChaCha8Rng) -> u8 {
    match sentiment {
        "positive" => rng.gen_range(4..=5),
        "negative" => rng.gen_range(1..=2),
        _ => rng.gen_range(2..=4),
    }
}
