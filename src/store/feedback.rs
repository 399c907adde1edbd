//! Process feedback: keys, sources, events and the counts behind source health.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use tracing::instrument;

use super::audit::record_audit;
use super::{in_write_tx, on_pool, Store};
use crate::domain::audit::Entry;
use crate::domain::feedback::{map_value, ParsedLine, SourceCounts, StoredFeedback};
use crate::domain::kinds::{display, from_stored, to_stored};
use crate::domain::now_ms;
use crate::domain::project::Project;
use crate::error::Result;

/// A source's settings: how its values map onto labels, how often it should speak.
#[derive(Debug, Clone, Default, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SourceConfig {
    pub source: String,
    #[sqlx(json)]
    pub mapping: HashMap<String, serde_json::Value>,
    pub expected_interval_seconds: Option<i64>,
}

/// What happened to one refused line of a batch.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Refusal {
    pub line: usize,
    pub event_id: Option<String>,
    pub reason: String,
}

/// The answer to a feedback batch: counts, and the first refusals with their reasons.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    pub accepted: usize,
    pub duplicate: usize,
    pub refused: usize,
    /// The first [`MAX_LISTED_REFUSALS`] refused lines, each with its reason.
    pub refusals: Vec<Refusal>,
    /// Refused lines beyond those listed.
    pub refusals_not_listed: usize,
    /// Lines by (source, outcome), for the metrics; the source is empty for a line that
    /// could not be read. Not part of the answer.
    #[serde(skip)]
    pub by_source: BTreeMap<(String, &'static str), usize>,
}

/// Refused lines listed in an answer; the rest are counted.
pub const MAX_LISTED_REFUSALS: usize = 100;

/// Events written per transaction: between chunks other writers (labels, sign-ins) get
/// their turn at the database.
const EVENTS_PER_CHUNK: usize = 100;

impl BatchResult {
    fn refuse(&mut self, source: Option<&str>, refusal: Refusal) {
        self.count(source.unwrap_or_default(), "refused");
        self.refused += 1;
        if self.refusals.len() < MAX_LISTED_REFUSALS {
            self.refusals.push(refusal);
        } else {
            self.refusals_not_listed += 1;
        }
    }

    fn count(&mut self, source: &str, outcome: &'static str) {
        *self
            .by_source
            .entry((source.to_string(), outcome))
            .or_default() += 1;
    }
}

macro_rules! record_refusal {
    ($tx:ident, $project_id:expr, $source:expr, $reason:expr, $now:expr) => {
        sqlx::query("INSERT INTO feedback_refusals (project_id, source, reason, received_at) VALUES ($1, $2, $3, $4)")
            .bind($project_id)
            .bind($source)
            .bind($reason)
            .bind($now)
            .execute(&mut *$tx)
            .await?
    };
}

/// An item made for feedback on an unknown external_id; it enters the queue like an import.
macro_rules! create_item_for_feedback {
    ($tx:ident, $project:expr, $event:expr, $now:expr) => {{
        let position: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) + 1 FROM items WHERE project_id = $1")
            .bind($project.id)
            .fetch_one(&mut *$tx)
            .await?;
        let needs = $project.policy.initial_needs(false);
        let data = serde_json::json!({ "created_from_feedback": $event.source });
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO items (project_id, external_id, data, position, created_at, need_generalist, need_expert, need_user, random_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind($project.id)
        .bind(&$event.external_id)
        .bind(Json(&data))
        .bind(position)
        .bind($now)
        .bind(needs.generalist)
        .bind(needs.expert)
        .bind(needs.user)
        .bind(crate::domain::policy::random_key($project.policy.seed, position))
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}

/// An event as the agreement measure reads it: item, source, value, context.
type EventRow = (
    i64,
    String,
    String,
    Json<serde_json::Map<String, serde_json::Value>>,
);

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

impl Store {
    /// Makes a feedback key for a project and returns it; only its hash is stored.
    pub async fn create_feedback_key(
        &self,
        project_id: i64,
        entry: &Entry,
    ) -> Result<(i64, String)> {
        let key = format!("tfk_{}", crate::auth::random_hex(32));
        let key_hash = crate::auth::hash_token(&key);
        let id = in_write_tx!(self, tx, _lock => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO feedback_keys (project_id, key_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(project_id)
            .bind(&key_hash)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await?;
            let entry = entry.clone().project(project_id).target("feedback_key", id);
            record_audit(&mut tx, &entry).await?;
            id
        });
        Ok((id, key))
    }

    /// A project's feedback keys, by id and age (the keys themselves are never kept).
    pub async fn feedback_keys(
        &self,
        project_id: i64,
    ) -> Result<Vec<crate::store::users::Credential>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT id, created_at FROM feedback_keys WHERE project_id = $1 ORDER BY id")
                .bind(project_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Revokes a feedback key; false when the project has no such key.
    pub async fn delete_feedback_key(
        &self,
        project_id: i64,
        key_id: i64,
        entry: &Entry,
    ) -> Result<bool> {
        let deleted = in_write_tx!(self, tx, _lock => {
            let deleted = sqlx::query("DELETE FROM feedback_keys WHERE id = $1 AND project_id = $2")
                .bind(key_id)
                .bind(project_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 1 {
                let entry = entry.clone().project(project_id).target("feedback_key", key_id);
                record_audit(&mut tx, &entry).await?;
            }
            deleted
        });
        Ok(deleted == 1)
    }

    /// The project a feedback key (given by its hash) writes to.
    pub async fn feedback_key_project(&self, key_hash: &str) -> Result<Option<i64>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT project_id FROM feedback_keys WHERE key_hash = $1")
                .bind(key_hash)
                .fetch_optional(pool)
                .await?
        }))
    }

    pub async fn upsert_source(&self, project_id: i64, config: &SourceConfig) -> Result<()> {
        in_write_tx!(self, tx, _lock => {
            sqlx::query(
                "INSERT INTO feedback_sources (project_id, source, mapping, expected_interval_seconds)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (project_id, source) DO UPDATE SET mapping = excluded.mapping,
                     expected_interval_seconds = excluded.expected_interval_seconds",
            )
            .bind(project_id)
            .bind(&config.source)
            .bind(Json(&config.mapping))
            .bind(config.expected_interval_seconds)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    pub async fn sources(&self, project_id: i64) -> Result<Vec<SourceConfig>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as::<_, SourceConfig>(
                "SELECT source, mapping, expected_interval_seconds FROM feedback_sources WHERE project_id = $1 ORDER BY source",
            )
            .bind(project_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Stores a batch of events: each line lands or is refused on its own, and a repeated
    /// `event_id` counts once. Events are written a chunk per transaction.
    #[instrument(skip_all, fields(project = project.id, lines = lines.len()))]
    pub async fn ingest_feedback(
        &self,
        project: &Project,
        lines: Vec<ParsedLine>,
    ) -> Result<BatchResult> {
        self.ingest_feedback_received(project, lines, now_ms())
            .await
    }

    /// [`Store::ingest_feedback`] with the time of receipt given (the demo backfills a week
    /// of events, so that source health has a baseline to compare the last day with).
    pub async fn ingest_feedback_received(
        &self,
        project: &Project,
        lines: Vec<ParsedLine>,
        now: i64,
    ) -> Result<BatchResult> {
        let mappings: HashMap<String, HashMap<String, serde_json::Value>> = self
            .sources(project.id)
            .await?
            .into_iter()
            .map(|s| (s.source, s.mapping))
            .collect();
        let mut result = BatchResult::default();
        let mut lines = lines.into_iter().peekable();
        while lines.peek().is_some() {
            let chunk: Vec<ParsedLine> = lines.by_ref().take(EVENTS_PER_CHUNK).collect();
            self.ingest_chunk(project, &mappings, chunk, now, &mut result)
                .await?;
        }
        Ok(result)
    }

    async fn ingest_chunk(
        &self,
        project: &Project,
        mappings: &HashMap<String, HashMap<String, serde_json::Value>>,
        chunk: Vec<ParsedLine>,
        now: i64,
        result: &mut BatchResult,
    ) -> Result<()> {
        let no_mapping = HashMap::new();
        in_write_tx!(self, tx, _lock => {
            for (line, parsed) in chunk {
                let outcome = match parsed {
                    Err(reason) => Err((None, None, reason)),
                    Ok(event) => {
                        let mapping = mappings.get(&event.source).unwrap_or(&no_mapping);
                        match map_value(&event.raw_value, mapping, project) {
                            Err(reason) => Err((Some(event.source.clone()), Some(event.event_id.clone()), reason)),
                            Ok(value) => Ok((event, value)),
                        }
                    }
                };
                let (event, value) = match outcome {
                    Ok(ok) => ok,
                    Err((source, event_id, reason)) => {
                        record_refusal!(tx, project.id, source.as_deref(), &reason, now);
                        result.refuse(source.as_deref(), Refusal { line, event_id, reason });
                        continue;
                    }
                };
                let item_id: Option<i64> = sqlx::query_scalar("SELECT id FROM items WHERE project_id = $1 AND external_id = $2")
                    .bind(project.id)
                    .bind(&event.external_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let item_id = match item_id {
                    Some(id) => id,
                    None if project.feedback.feedback_creates_items => {
                        create_item_for_feedback!(tx, project, &event, now)
                    }
                    None => {
                        let reason = format!("no item with external_id {:?} in this project", event.external_id);
                        record_refusal!(tx, project.id, Some(event.source.as_str()), &reason, now);
                        result.refuse(Some(&event.source), Refusal { line, event_id: Some(event.event_id), reason });
                        continue;
                    }
                };
                let inserted = sqlx::query(
                    "INSERT INTO feedback_events (project_id, item_id, event_id, source, value, raw_value, weight, context, occurred_at, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (project_id, event_id) DO NOTHING",
                )
                .bind(project.id)
                .bind(item_id)
                .bind(&event.event_id)
                .bind(&event.source)
                .bind(to_stored(&value))
                .bind(&event.raw_value)
                .bind(event.weight)
                .bind(Json(&event.context))
                .bind(event.occurred_at)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 0 {
                    result.duplicate += 1;
                    result.count(&event.source, "duplicate");
                    continue;
                }
                result.accepted += 1;
                result.count(&event.source, "accepted");
                if project.feedback.feedback_first {
                    let human: Vec<String> = sqlx::query_scalar("SELECT value FROM labels WHERE item_id = $1")
                        .bind(item_id)
                        .fetch_all(&mut *tx)
                        .await?;
                    let human: Vec<serde_json::Value> = human.iter().map(|v| from_stored(v)).collect();
                    let schema = project.schema();
                    let human_consensus = schema.consensus(&human).value;
                    let negative = project.feedback.negative_labels.contains(&display(&value));
                    let contradicts = human_consensus.is_some_and(|m| !schema.matches(&value, &m));
                    if negative || contradicts {
                        sqlx::query("UPDATE items SET feedback_boost = TRUE WHERE id = $1")
                            .bind(item_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
        });
        Ok(())
    }

    /// The counts behind each source's health at `now`.
    pub async fn source_counts(&self, project_id: i64, now: i64) -> Result<Vec<SourceCounts>> {
        let configured = self.sources(project_id).await?;
        let day_ago = now - DAY_MS;
        let week_ago = now - 7 * DAY_MS;
        let names_sql = "SELECT DISTINCT source FROM feedback_events WHERE project_id = $1
                         UNION SELECT DISTINCT source FROM feedback_refusals WHERE project_id = $1 AND source IS NOT NULL";
        let totals_sql = "SELECT count(*), max(received_at),
                CAST(coalesce(sum(CASE WHEN received_at >= $3 THEN 1 ELSE 0 END), 0) AS BIGINT)
            FROM feedback_events WHERE project_id = $1 AND source = $2";
        let refused_sql = "SELECT count(*) FROM feedback_refusals WHERE project_id = $1 AND source = $2 AND received_at >= $3";
        let dist_sql = "SELECT value, count(*) FROM feedback_events
            WHERE project_id = $1 AND source = $2 AND received_at >= $3 AND received_at < $4 GROUP BY value";
        let names: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar(names_sql).bind(project_id).fetch_all(pool).await?
        });
        let mut all: BTreeMap<String, Option<i64>> = names.into_iter().map(|n| (n, None)).collect();
        for config in configured {
            all.insert(config.source, config.expected_interval_seconds);
        }
        let mut out = Vec::new();
        for (source, expected) in all {
            let counts = on_pool!(self, pool => {
                let (total, last, last_day): (i64, Option<i64>, i64) = sqlx::query_as(totals_sql)
                    .bind(project_id).bind(&source).bind(day_ago).fetch_one(pool).await?;
                let refused: i64 = sqlx::query_scalar(refused_sql)
                    .bind(project_id).bind(&source).bind(day_ago).fetch_one(pool).await?;
                let recent: Vec<(String, i64)> = sqlx::query_as(dist_sql)
                    .bind(project_id).bind(&source).bind(day_ago).bind(now + 1).fetch_all(pool).await?;
                let baseline: Vec<(String, i64)> = sqlx::query_as(dist_sql)
                    .bind(project_id).bind(&source).bind(week_ago).bind(day_ago).fetch_all(pool).await?;
                SourceCounts {
                    source: source.clone(),
                    expected_interval_seconds: expected,
                    events_total: total,
                    events_last_day: last_day,
                    refused_last_day: refused,
                    last_event_at: last,
                    recent: recent.into_iter().collect(),
                    baseline: baseline.into_iter().collect(),
                }
            });
            out.push(counts);
        }
        Ok(out)
    }

    /// Every stored event of a project, for agreement with the human consensus.
    pub async fn feedback_events(&self, project_id: i64) -> Result<Vec<StoredFeedback>> {
        let rows: Vec<EventRow> = on_pool!(self, pool => {
            sqlx::query_as("SELECT item_id, source, value, context FROM feedback_events WHERE project_id = $1 ORDER BY id")
                .bind(project_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(item_id, source, value, context)| StoredFeedback {
                item_id,
                source,
                value: from_stored(&value),
                context: context.0,
            })
            .collect())
    }
}
