//! The project health page: throughput, the label distribution with its drift flag,
//! rolling agreement, rater activity and feedback over time, each a small chart drawn on
//! the server with the same figures in a table beneath.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::domain::health::{DriftState, Health, LabelDrift};
use crate::domain::now_ms;
use crate::domain::project::Project;
use crate::error::Result;
use crate::web::api::{source_views, SourceView};
use crate::web::charts;
use crate::web::extract::Admin;
use crate::web::render::{html, Layout};
use crate::web::AppState;

use super::figures::PageFigures;

/// Sources drawn in the feedback chart; the table lists them all.
const CHART_SOURCES: usize = 8;

/// One window's row of the table beneath the charts.
struct WindowRow {
    name: String,
    labels: i64,
    raters: i64,
    agreement: String,
    /// Per category: `12 (40%)`.
    shares: Vec<String>,
    /// Per charted source.
    events: Vec<i64>,
}

/// The charts and the table, once the project has any activity.
struct HealthView {
    /// `hour` or `day`.
    step: &'static str,
    throughput: String,
    distribution: Option<String>,
    agreement: Option<String>,
    activity: String,
    feedback: Option<String>,
    categories: Vec<String>,
    sources: Vec<String>,
    rows: Vec<WindowRow>,
    drift_flagged: bool,
    drift_text: String,
    sample_every: i64,
}

#[derive(Template)]
#[template(path = "admin/health.html")]
struct HealthPage {
    layout: Layout,
    project: Project,
    as_of: Option<String>,
    health: Option<HealthView>,
    /// Whether a large project's health is still being computed.
    computing: bool,
    sources: Vec<SourceView>,
}

/// The drift check in a sentence.
fn drift_text(drift: &LabelDrift, step: &str) -> String {
    let psi = drift.psi.map(|p| format!("{p:.2}")).unwrap_or_default();
    match drift.state {
        DriftState::NotCategorical => {
            "This kind's labels are not categories, so there is no distribution to compare; the quality report has its own measures.".into()
        }
        DriftState::OneWindow => format!("Only one {step} so far: nothing to compare the labels with yet."),
        DriftState::TooFewLabels => format!(
            "Too few labels to judge: the latest {step} has {}, the earlier ones {}; at least {} each are needed.",
            drift.latest_labels, drift.earlier_labels, drift.min_labels
        ),
        DriftState::Steady => format!(
            "Steady: the latest {step}'s labels ({}) follow the earlier ones ({}); population stability index {psi}, at most {:.2} is steady.",
            drift.latest_labels, drift.earlier_labels, drift.threshold
        ),
        DriftState::Drifting => format!(
            "Drifting: the latest {step}'s labels ({}) differ from the earlier ones ({}); population stability index {psi}, above {:.2}. Check the items coming in, the instructions and the raters.",
            drift.latest_labels, drift.earlier_labels, drift.threshold
        ),
    }
}

fn view(health: Health) -> HealthView {
    let step = health.step.as_str();
    let categorical = health.drift.state != DriftState::NotCategorical;
    let names: Vec<String> = health.windows.iter().map(|w| w.name.clone()).collect();
    let per = format!("per {step} (UTC)");
    let single = |value: fn(&crate::domain::health::HealthWindow) -> i64| -> Vec<charts::Column> {
        health
            .windows
            .iter()
            .map(|w| (w.name.clone(), vec![value(w) as f64]))
            .collect()
    };
    let throughput = charts::columns("Labels given", &per, &[], &single(|w| w.labels), false);
    let activity = charts::columns(
        "Active raters",
        &per,
        &[],
        &single(|w| w.active_raters),
        false,
    );
    let distribution = categorical.then(|| {
        let bars: Vec<charts::Column> = health
            .windows
            .iter()
            .map(|w| {
                let counts = health
                    .categories
                    .iter()
                    .map(|c| w.distribution.get(c).copied().unwrap_or(0) as f64)
                    .collect();
                (w.name.clone(), counts)
            })
            .collect();
        charts::columns(
            "Label distribution",
            &format!("share of labels {per}"),
            &health.categories,
            &bars,
            true,
        )
    });
    let agreement = categorical.then(|| {
        let points: Vec<(String, Option<f64>)> = health
            .windows
            .iter()
            .map(|w| (w.name.clone(), w.agreement))
            .collect();
        charts::share_line(
            "Agreeing pairs",
            &format!("items by the {step} of their latest label"),
            &points,
        )
    });
    let mut sources: Vec<(&str, &Vec<i64>)> = health
        .feedback
        .iter()
        .map(|s| (s.source.as_str(), &s.events))
        .collect();
    sources.sort_by_key(|(_, events)| std::cmp::Reverse(events.iter().sum::<i64>()));
    sources.truncate(CHART_SOURCES);
    let feedback = (!sources.is_empty()).then(|| {
        let series: Vec<String> = sources.iter().map(|(s, _)| s.to_string()).collect();
        let bars: Vec<charts::Column> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                (
                    name.clone(),
                    sources.iter().map(|(_, e)| e[i] as f64).collect(),
                )
            })
            .collect();
        charts::columns("Feedback events by source", &per, &series, &bars, false)
    });
    // The table leaves out windows with no labels and no events: the charts show them.
    let rows = health
        .windows
        .iter()
        .enumerate()
        .filter(|(i, w)| w.labels > 0 || sources.iter().any(|(_, e)| e[*i] > 0))
        .map(|(i, w)| {
            let total: i64 = w.distribution.values().sum();
            WindowRow {
                name: w.name.clone(),
                labels: w.labels,
                raters: w.active_raters,
                agreement: match w.agreement {
                    Some(a) => format!("{:.0}% of {} pairs", a * 100.0, w.pairs),
                    None => "–".into(),
                },
                shares: health
                    .categories
                    .iter()
                    .map(|c| {
                        let n = w.distribution.get(c).copied().unwrap_or(0);
                        if total == 0 {
                            "–".to_string()
                        } else {
                            format!("{n} ({:.0}%)", n as f64 * 100.0 / total as f64)
                        }
                    })
                    .collect(),
                events: sources.iter().map(|(_, e)| e[i]).collect(),
            }
        })
        .collect();
    HealthView {
        step,
        throughput,
        distribution,
        agreement,
        activity,
        feedback,
        categories: health.categories.clone(),
        sources: sources.iter().map(|(s, _)| s.to_string()).collect(),
        rows,
        drift_flagged: health.drift.state == DriftState::Drifting,
        drift_text: drift_text(&health.drift, step),
        sample_every: health.sample_every,
    }
}

pub async fn health_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path(pid): Path<i64>,
) -> Result<Response> {
    let project = state.store.project(pid).await?;
    let figures = PageFigures::start(&state.store, Some(pid)).await?;
    let for_health = project.clone();
    let health = figures
        .spawn(move |store| async move { store.health(&for_health, now_ms()).await })
        .ready()
        .await?;
    let page = HealthPage {
        layout: Layout::for_user(&session, admin).await?,
        computing: health.is_none(),
        health: health.flatten().map(view),
        sources: source_views(&state, pid).await?,
        as_of: super::figures_as_of(&state, pid, &["health"]),
        project,
    };
    Ok(html(&page)?.into_response())
}
