//! What `/metrics` reports, in the Prometheus text format: requests by route, labels,
//! feedback events, sign-in failures, and the queue and pool gauges read at each scrape.
//!
//! Each `AppState` owns its recorder (not the process-wide one of the `metrics` crate), so
//! two servers in one process, as in the tests, count apart.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::domain::policy::Pool;
use crate::store::feedback::BatchResult;
use crate::store::monitoring::{GroupCommitTotals, PoolUsage, ProjectLoad};
use crate::store::report::InputSource;

const REQUESTS: &str = "tally_http_requests_total";
const REQUEST_SECONDS: &str = "tally_http_request_duration_seconds";
const LABELS: &str = "tally_labels_submitted_total";
const FEEDBACK: &str = "tally_feedback_events_total";
const LOGIN_FAILURES: &str = "tally_login_failures_total";
const QUEUE_DEPTH: &str = "tally_queue_depth";
const ACTIVE_LEASES: &str = "tally_active_leases";
const DB_CONNECTIONS: &str = "tally_db_connections";
const DB_MAX_CONNECTIONS: &str = "tally_db_max_connections";
const GROUP_COMMITS: &str = "tally_group_commit_batches_total";
const GROUP_COMMIT_WRITES: &str = "tally_group_commit_writes_total";
const REPORT_INPUTS: &str = "tally_report_inputs_total";

/// Latency buckets in seconds: a label round trip is tens of milliseconds, an export or a
/// report can take seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Feedback sources are named by the callers; past this many distinct names the rest are
/// counted as `other`, so a client that invents names cannot grow the scrape without end.
const MAX_SOURCES: usize = 100;
const MAX_SOURCE_CHARS: usize = 64;

/// The route label of a request that matched no route (a 404 from the fallback).
const UNMATCHED: &str = "unmatched";

/// Why a sign-in failed, as counted.
#[derive(Debug, Clone, Copy)]
pub enum LoginFailure {
    /// Unknown name or wrong password (not told apart, as on the page).
    BadCredentials,
    /// Too many attempts for the account or the address.
    RateLimited,
}

impl LoginFailure {
    fn as_str(self) -> &'static str {
        match self {
            LoginFailure::BadCredentials => "bad_credentials",
            LoginFailure::RateLimited => "rate_limited",
        }
    }
}

/// One server's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    sources: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new();
        // Only an empty bucket list is refused; without buckets latency would be a summary.
        let builder = builder
            .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), &LATENCY_BUCKETS)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "latency buckets refused");
                PrometheusBuilder::new()
            });
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics {
            recorder,
            handle,
            sources: Mutex::new(HashSet::new()),
        };
        metrics.with(describe_all);
        metrics
    }

    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        ::metrics::with_local_recorder(&self.recorder, f)
    }

    /// A request answered: counted by method, route template and status, timed by method
    /// and route template.
    pub fn request_done(&self, method: &Method, route: &str, status: StatusCode, took: Duration) {
        let method = method_label(method);
        let route = route.to_string();
        self.with(|| {
            let status = status.as_str().to_string();
            counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status)
                .increment(1);
            histogram!(REQUEST_SECONDS, "method" => method, "route" => route)
                .record(took.as_secs_f64());
        });
    }

    /// A label stored (after its transaction committed).
    pub fn label_submitted(&self, project_id: i64, pool: Pool) {
        self.with(|| {
            counter!(LABELS, "project" => project_id.to_string(), "pool" => pool.as_str())
                .increment(1);
        });
    }

    /// The outcome of every event of a feedback request, by source.
    pub fn feedback_received(&self, project_id: i64, result: &BatchResult) {
        for ((source, outcome), count) in &result.by_source {
            let source = self.source_label(source);
            self.with(|| {
                counter!(FEEDBACK, "project" => project_id.to_string(), "source" => source, "outcome" => *outcome)
                    .increment(*count as u64);
            });
        }
    }

    pub fn login_failed(&self, why: LoginFailure) {
        self.with(|| counter!(LOGIN_FAILURES, "reason" => why.as_str()).increment(1));
    }

    /// Sets the gauges read at scrape time: each project's queue and leases, the pool.
    pub fn set_gauges(&self, projects: &[ProjectLoad], pool: PoolUsage) {
        self.with(|| {
            for p in projects {
                let project = p.project_id.to_string();
                gauge!(QUEUE_DEPTH, "project" => project.clone()).set(p.open_items as f64);
                gauge!(ACTIVE_LEASES, "project" => project).set(p.active_leases as f64);
            }
            let idle = pool.idle as f64;
            let in_use = f64::from(pool.open).max(idle) - idle;
            gauge!(DB_CONNECTIONS, "state" => "idle").set(idle);
            gauge!(DB_CONNECTIONS, "state" => "in_use").set(in_use);
            gauge!(DB_MAX_CONNECTIONS).set(f64::from(pool.max));
        });
    }

    /// Sets the group commit's counts, kept by the store's writer thread, at scrape time.
    pub fn set_group_commit(&self, totals: GroupCommitTotals) {
        self.with(|| {
            counter!(GROUP_COMMITS).absolute(totals.batches);
            counter!(GROUP_COMMIT_WRITES, "path" => "batch").absolute(totals.batched);
            counter!(GROUP_COMMIT_WRITES, "path" => "alone").absolute(totals.alone);
        });
    }

    /// Sets how the report inputs served came about, kept by the store, at scrape time.
    pub fn set_report_inputs(&self, served: impl Fn(InputSource) -> u64) {
        self.with(|| {
            for source in InputSource::ALL {
                counter!(REPORT_INPUTS, "source" => source.as_str()).absolute(served(source));
            }
        });
    }

    /// Everything recorded so far, in the Prometheus text format.
    pub fn render(&self) -> std::io::Result<String> {
        let mut out = Vec::new();
        self.handle.render_to_write(&mut out)?;
        String::from_utf8(out).map_err(std::io::Error::other)
    }

    fn source_label(&self, source: &str) -> String {
        if source.is_empty() {
            return "unknown".into();
        }
        if source.chars().count() > MAX_SOURCE_CHARS {
            return "other".into();
        }
        let Ok(mut seen) = self.sources.lock() else {
            return "other".into();
        };
        if seen.contains(source) || seen.len() < MAX_SOURCES {
            seen.insert(source.to_string());
            source.to_string()
        } else {
            "other".into()
        }
    }
}

fn describe_all() {
    describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        REQUEST_SECONDS,
        ::metrics::Unit::Seconds,
        "Time to answer an HTTP request (to its headers), by method and route template"
    );
    describe_counter!(LABELS, "Labels stored, by project and rater pool");
    describe_counter!(
        FEEDBACK,
        "Feedback events received, by project, source and outcome (accepted, duplicate, refused)"
    );
    describe_counter!(LOGIN_FAILURES, "Failed sign-ins, by reason");
    describe_gauge!(QUEUE_DEPTH, "Items still wanting labels, by project");
    describe_gauge!(ACTIVE_LEASES, "Leases not yet expired, by project");
    describe_gauge!(
        DB_CONNECTIONS,
        "Database pool connections, by state (idle, in_use)"
    );
    describe_gauge!(DB_MAX_CONNECTIONS, "The database pool's largest size");
    describe_counter!(
        GROUP_COMMITS,
        "Transactions that wrote a batch of labels (and, on SQLite, leases) together"
    );
    describe_counter!(
        GROUP_COMMIT_WRITES,
        "Hot writes sent to the group commit, by path: decided in a batch, or written alone"
    );
    describe_counter!(
        REPORT_INPUTS,
        "Quality reports' inputs, by source: kept unchanged, kept with the labels given or the items changed since read onto it, read back as stored (as it was, or caught up likewise), or read whole"
    );
}

/// Standard methods by name; anything else is `other`, as the method is the caller's choice.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware: counts and times every request under its route template (never the raw
/// path, which carries ids and link secrets).
pub async fn track_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.to_string());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.request_done(&method, &route, response.status(), started.elapsed());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_beyond_the_cap_are_other() {
        let metrics = Metrics::new();
        for i in 0..MAX_SOURCES {
            assert_eq!(metrics.source_label(&format!("s{i}")), format!("s{i}"));
        }
        assert_eq!(metrics.source_label("one-too-many"), "other");
        assert_eq!(metrics.source_label("s7"), "s7");
        assert_eq!(metrics.source_label(&"x".repeat(65)), "other");
        assert_eq!(metrics.source_label(""), "unknown");
    }

    #[test]
    fn latency_is_a_histogram_with_buckets() {
        let metrics = Metrics::new();
        metrics.request_done(
            &Method::GET,
            "/healthz",
            StatusCode::OK,
            Duration::from_millis(3),
        );
        let text = metrics.render().expect("render");
        assert!(
            text.contains("tally_http_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(text.contains(r#"le="0.005""#), "{text}");
    }
}
