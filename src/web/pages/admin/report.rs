//! The project's report page: the headline agreement read in plain words, the rater table
//! (sortable by links, so it works without JavaScript), confusion heatmaps, label
//! distributions, and the pool, slice, feedback and dynamic-overlap panels.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::figures::PageFigures;
use crate::domain::project::Project;
use crate::domain::report::ProjectReport;
use crate::error::Result;
use crate::quality::text::interpret_alpha;
use crate::quality::{RaterQuality, Report};
use crate::store::raters::RaterStanding;
use crate::web::api::{compute_report, ReportQuery};
use crate::web::charts;
use crate::web::extract::Admin;
use crate::web::render::{html, Layout};
use crate::web::AppState;

/// The report page of a large project while its report is being computed.
#[derive(Template)]
#[template(path = "admin/report_computing.html")]
struct ReportComputingPage {
    layout: Layout,
    project: Project,
    labels: i64,
}

/// Heatmaps are drawn for this many raters with the most labels.
const HEATMAP_RATERS: usize = 12;

/// Admins see raters by name; reports and exports carry pseudonyms.
struct Names {
    project_id: i64,
    by_pseudonym: HashMap<String, (i64, String)>,
}

impl Names {
    fn of(standings: Vec<RaterStanding>, project_id: i64) -> Names {
        let by_pseudonym = standings
            .into_iter()
            .map(|s| (s.pseudonym, (s.rater_id, s.name)))
            .collect();
        Names {
            project_id,
            by_pseudonym,
        }
    }

    pub fn display(&self, pseudonym: &str) -> String {
        match self.by_pseudonym.get(pseudonym) {
            Some((_, name)) => name.clone(),
            None => pseudonym.to_string(),
        }
    }

    fn href(&self, pseudonym: &str) -> Option<String> {
        self.by_pseudonym
            .get(pseudonym)
            .map(|(id, _)| format!("/admin/projects/{}#rater-{id}", self.project_id))
    }
}

/// One chart, already drawn as SVG on the server.
pub struct Chart {
    pub title: String,
    pub svg: String,
}

#[derive(Template)]
#[template(path = "admin/report.html")]
struct ReportPage<'a> {
    layout: Layout,
    project: Project,
    as_of: Option<String>,
    /// The categorical report (choices and ratings).
    cat: &'a Report,
    /// Feedback agreement, the overlap saving and the rest beside `cat`.
    report: &'a ProjectReport,
    query: ReportQuery,
    sort: String,
    /// The report settings as a query string, kept by the sorting links.
    settings: String,
    reading: String,
    raters: Vec<RaterRow>,
    /// Each column and flag of the rater table, explained.
    names: Names,
    columns: &'static [(&'static str, &'static str)],
    flags: &'static [(&'static str, &'static str)],
    heatmaps: Vec<Chart>,
    distribution: Option<Chart>,
    leniency: Option<Chart>,
    pool_heatmaps: Vec<Chart>,
}

/// A rater's row: the figures, and for admins the name behind the pseudonym.
struct RaterRow {
    q: RaterQuality,
    name: String,
    /// The rater's row on the project page, where the pause action is.
    href: Option<String>,
    /// Labels on items with a reviewer's final label, and how many matched it.
    finals: Option<(usize, usize)>,
}

const COLUMNS: &[(&str, &str)] = &[
    ("Labels", "labels this rater gave in the project."),
    ("Gold right", "share of gold questions answered as the known answer; higher is better."),
    ("Agrees with consensus", "share of the rater's labels equal to the consensus of the other raters of the same item (leave-one-out; items where the others are tied are left out and counted beside it); higher is better."),
    ("Kappa vs consensus", "Cohen's kappa between the rater and that leave-one-out consensus: agreement beyond what the two label distributions give by chance; 1 is perfect, 0 is chance, below 0 is worse than chance."),
    ("Median s", "median seconds from showing an item to the label; very low values with low agreement suggest clicking through."),
    ("Informativeness", "how much the rater's labels tell about the true class under the Dawid-Skene model (1 = fully informative, 0 = labels unrelated to the class, as a spammer's); higher is better."),
    ("Agrees with reviewers", "of the rater's labels on items a reviewer gave a final label, how many match it; a rater reviewers often overrule reads the guidelines differently."),
];

const FLAGS: &[(&str, &str)] = &[
    ("too_fast", "the median time per label is below the project's too-fast limit."),
    ("low_gold_accuracy", "gold accuracy is below the threshold with enough gold questions seen."),
    ("spammer", "informativeness is near zero: the labels carry little information about the class."),
    ("biased", "the rater's label distribution differs from the other raters' labels on the items they labelled (a test of marginal homogeneity, Holm-corrected), by a share large enough to matter."),
    ("drift", "the rater's agreement with the others' consensus differs significantly between the first and the second half of their labels: fatigue, a changed reading of the guidelines, or a change in who else labelled the same items (a spammer paused half-way improves everyone's later agreement), so look at the other raters' drift figures before acting."),
];

/// Formats a p-value as people read it: "p < 0.001" rather than "0.000".
pub fn format_p(p: &f64) -> String {
    let p = *p;
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

#[derive(Deserialize)]
pub struct ReportPageQuery {
    #[serde(flatten)]
    report: ReportQuery,
    sort: Option<String>,
}

fn sort_raters(raters: &mut [RaterQuality], by: &str) {
    let key = |r: &RaterQuality| -> f64 {
        let value = match by {
            "labels" => Some(r.labels as f64),
            "gold" => r.gold_accuracy,
            "agreement" => r.consensus_agreement,
            "kappa" => r.consensus_kappa,
            "speed" => r.median_ms,
            "spammer" => r.informativeness,
            _ => Some(-(r.flags.len() as f64)),
        };
        value.unwrap_or(f64::INFINITY)
    };
    match by {
        "labels" => raters.sort_by(|a, b| key(b).total_cmp(&key(a))),
        "rater" => raters.sort_by(|a, b| a.rater.cmp(&b.rater)),
        _ => raters.sort_by(|a, b| key(a).total_cmp(&key(b))),
    }
}

fn rater_heatmaps(report: &Report, names: &Names) -> Vec<Chart> {
    let categories = &report.categories;
    let mut busiest: Vec<&RaterQuality> = report.raters.iter().collect();
    busiest.sort_by_key(|r| std::cmp::Reverse(r.labels));
    busiest
        .into_iter()
        .take(HEATMAP_RATERS)
        .map(|r| {
            let counts: Vec<Vec<f64>> = r
                .confusion
                .iter()
                .map(|row| row.iter().map(|&c| f64::from(c)).collect())
                .collect();
            let title = format!(
                "{}: consensus (rows) against the rater's labels (columns)",
                names.display(&r.rater)
            );
            Chart {
                svg: charts::heatmap(&title, categories, categories, &counts),
                title: names.display(&r.rater),
            }
        })
        .collect()
}

fn distribution_chart(report: &Report, names: &Names) -> Option<Chart> {
    let categories = &report.categories;
    let rows: Vec<(String, Vec<f64>)> = report
        .raters
        .iter()
        .map(|r| {
            let used = r.label_counts.iter().map(|&c| f64::from(c)).collect();
            (names.display(&r.rater), used)
        })
        .collect();
    (!rows.is_empty()).then(|| Chart {
        title: "Label distribution per rater: share of each rater's labels".into(),
        svg: charts::stacked_bars("Label distribution per rater", categories, &rows),
    })
}

fn leniency_chart(report: &Report, names: &Names) -> Option<Chart> {
    if !report.level.is_ordered() {
        return None;
    }
    let rows: Vec<charts::IntervalRow> = report
        .bias
        .leniency
        .iter()
        .map(|l| {
            (
                names.display(&l.rater),
                l.leniency,
                l.leniency_ci95.map(|[lo, hi]| (lo, hi)),
            )
        })
        .collect();
    (!rows.is_empty()).then(|| Chart {
        title: "Leniency: mean signed distance from the other raters' mean value in label steps, with 95% intervals (right of zero: higher labels than the other raters)".into(),
        svg: charts::intervals("Leniency per rater", &rows),
    })
}

fn pool_heatmaps(report: &Report) -> Vec<Chart> {
    let categories = &report.categories;
    report
        .bias
        .pool_pairs
        .iter()
        .map(|pair| {
            let counts: Vec<Vec<f64>> = pair
                .confusion
                .iter()
                .map(|row| row.iter().map(|&c| f64::from(c)).collect())
                .collect();
            let title = format!("{} (rows) against {} (columns)", pair.pool_a, pair.pool_b);
            Chart {
                svg: charts::heatmap(&title, categories, categories, &counts),
                title,
            }
        })
        .collect()
}

pub async fn report_page(
    State(state): State<AppState>,
    Admin(admin): Admin,
    session: Session,
    Path(pid): Path<i64>,
    Query(query): Query<ReportPageQuery>,
) -> Result<Response> {
    // Bad settings are refused before anything is computed.
    query.report.options()?;
    let figures = PageFigures::start(&state.store, Some(pid)).await?;
    let settings = query.report.clone();
    let report =
        figures.spawn(move |store| async move { compute_report(&store, pid, &settings).await });
    let Some((project, kept)) = report.ready().await? else {
        let project = state.store.project(pid).await?;
        let labels = state.store.progress(pid).await?.labels;
        return Ok(html(&ReportComputingPage {
            layout: Layout::for_user(&session, admin).await?,
            project,
            labels,
        })?
        .into_response());
    };
    let as_of = kept.as_of.map(|ms| crate::web::render::timestamp(&ms));
    let report = kept.value;
    let layout = Layout::for_user(&session, admin).await?;
    let Some(cat) = report.report.as_ref() else {
        return kinds_page(layout, project, &report, as_of);
    };
    let agreement = &cat.agreement;
    let reading = match agreement.krippendorff_alpha {
        Some(alpha) => interpret_alpha(alpha, agreement.alpha_ci95),
        None => format!(
            "No agreement figure yet: {}.",
            agreement
                .krippendorff_alpha_reason
                .as_deref()
                .unwrap_or("not enough labels")
        ),
    };
    let sort = query.sort.unwrap_or_else(|| "flags".into());
    let settings = settings_query(&query.report);
    let names = Names::of(state.store.rater_rows(pid).await?, pid);
    let mut figures = cat.raters.clone();
    sort_raters(&mut figures, &sort);
    let raters = figures
        .into_iter()
        .map(|q| RaterRow {
            name: names.display(&q.rater),
            href: names.href(&q.rater),
            finals: report
                .adjudication
                .raters
                .iter()
                .find(|f| f.rater == q.rater)
                .map(|f| (f.agreed, f.compared)),
            q,
        })
        .collect();
    let page = ReportPage {
        as_of,
        layout,
        heatmaps: rater_heatmaps(cat, &names),
        distribution: distribution_chart(cat, &names),
        leniency: leniency_chart(cat, &names),
        columns: COLUMNS,
        flags: FLAGS,
        names,
        pool_heatmaps: pool_heatmaps(cat),
        cat,
        project,
        reading,
        raters,
        sort,
        settings,
        query: query.report,
        report: &report,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "admin/report_kinds.html")]
struct KindReportPage<'a> {
    layout: Layout,
    project: Project,
    as_of: Option<String>,
    report: &'a ProjectReport,
}

/// The report of kinds that are not categories: the kind's own measure, the raters and
/// the consensus per item.
fn kinds_page(
    layout: Layout,
    project: Project,
    report: &ProjectReport,
    as_of: Option<String>,
) -> Result<Response> {
    Ok(html(&KindReportPage {
        as_of,
        layout,
        project,
        report,
    })?
    .into_response())
}

/// The report settings as a query string (escaped by the template when written out).
fn settings_query(query: &ReportQuery) -> String {
    let mut parts = Vec::new();
    let mut push = |key: &str, value: &Option<String>| {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            let safe: String = v
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            parts.push(format!("{key}={safe}"));
        }
    };
    push("level", &query.level);
    push("method", &query.method);
    push("slice", &query.slice);
    parts.join("&")
}

/// Formats an optional figure with three decimals, or a dash.
pub fn fig(value: &Option<f64>) -> String {
    value
        .map(|v| format!("{v:.3}"))
        .unwrap_or_else(|| "–".into())
}

/// Formats an optional share as a percentage, or a dash.
pub fn pct(value: &Option<f64>) -> String {
    value
        .map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}
