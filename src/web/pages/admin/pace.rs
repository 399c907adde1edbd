//! The project page's "Cost and pace" section and its rates form: spend so far and to
//! come, labels per hour, the finish, and what dynamic overlap and escalation saved.

use std::future::Future;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::figures::PageFigures;
use super::{project_page_for, Notices};
use crate::domain::audit::Action;
use crate::domain::now_ms;
use crate::domain::pace::{EtaState, Pace, PoolRates};
use crate::domain::policy::Pool;
use crate::domain::project::Project;
use crate::error::{AppError, Result};
use crate::web::csrf;
use crate::web::extract::{Admin, Origin};
use crate::web::flash::{self, Flash};
use crate::web::render::{html_with_status, timestamp};
use crate::web::AppState;

/// An amount with two decimals, thousands apart, and the currency: `1,234.50 EUR`.
pub(crate) fn money(amount: f64, currency: &str) -> String {
    let cents = (amount * 100.0).round() as i64;
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02} {currency}", cents % 100)
}

/// A span of time for people: `45 s`, `2 min 5 s`, `3 h 20 min`, `2 d 4 h`.
pub(crate) fn span(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as i64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 if s % 60 == 0 => format!("{} min", s / 60),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..172_800 if s % 3600 < 60 => format!("{} h", s / 3600),
        3600..172_800 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ if s % 86_400 < 3600 => format!("{} d", s / 86_400),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// One pool's row of the section's table.
pub(crate) struct PoolRow {
    pub pool: &'static str,
    pub rate: String,
    pub labels: i64,
    pub median: String,
    pub hours: String,
    pub unpriced: i64,
    pub spend: String,
    pub still_wanted: i64,
    pub projected: String,
    pub per_item: i64,
    pub fixed_plan: i64,
    pub wanted: i64,
    pub saved: i64,
    pub saved_money: String,
}

/// The "Cost and pace" section of the project page.
pub(crate) struct PacePanel {
    pub rates: PoolRates,
    /// Why the rates asked for were refused.
    pub error: Option<String>,
    /// `None` while a large project's pace is still being computed: the page says so, and
    /// the rates form shows all the same.
    pub figures: Option<PaceFigures>,
}

/// The pace, spend and savings, as the panel shows them.
pub(crate) struct PaceFigures {
    pub rows: Vec<PoolRow>,
    pub last_hour: i64,
    pub per_hour: String,
    pub trailing: String,
    pub still_wanted: i64,
    pub eta: String,
    pub spend: String,
    pub projected: String,
    pub items: i64,
    pub adaptive: bool,
    pub labels_saved: i64,
    pub money_saved: String,
}

fn unknown_or(amount: Option<f64>, currency: &str) -> String {
    amount.map_or_else(|| "unknown".into(), |a| money(a, currency))
}

impl PaceFigures {
    fn new(pace: Pace) -> PaceFigures {
        let currency = pace.currency.as_str();
        let rows = pace
            .pools
            .iter()
            .zip(&pace.savings.pools)
            .map(|(p, s)| PoolRow {
                pool: p.pool.as_str(),
                rate: money(p.hourly_rate, currency),
                labels: p.labels,
                median: p.median_seconds.map_or_else(|| "–".into(), span),
                hours: format!("{:.2}", p.hours),
                unpriced: p.unpriced_labels,
                spend: money(p.spend, currency),
                still_wanted: p.still_wanted,
                projected: unknown_or(p.projected_spend, currency),
                per_item: s.per_item,
                fixed_plan: s.fixed_plan,
                wanted: s.wanted,
                saved: s.saved,
                saved_money: unknown_or(s.money, currency),
            })
            .collect();
        let eta = match pace.eta.state {
            EtaState::Done => "Nothing is left to label.".to_string(),
            EtaState::NoRecentLabels => format!(
                "No labels came in over the last {}, so there is no pace to project a finish from.",
                span(pace.trailing_hours * 3600.0)
            ),
            EtaState::Projected => format!(
                "About {} at this pace, around {}.",
                span(pace.eta.hours.unwrap_or(0.0) * 3600.0),
                timestamp(&pace.eta.finish_at.unwrap_or(0))
            ),
        };
        PaceFigures {
            rows,
            last_hour: pace.labels_last_hour,
            per_hour: format!("{:.1}", pace.labels_per_hour),
            trailing: span(pace.trailing_hours * 3600.0),
            still_wanted: pace.still_wanted,
            eta,
            spend: money(pace.spend, currency),
            projected: unknown_or(pace.projected_spend, currency),
            items: pace.savings.items,
            adaptive: pace.savings.adaptive,
            labels_saved: pace.savings.labels_saved,
            money_saved: unknown_or(pace.savings.money_saved, currency),
        }
    }
}

impl PacePanel {
    /// A rate as the form shows it: empty for zero, else the number as typed.
    pub fn rate_input(&self, pool: &Pool) -> String {
        let rate = self.rates.of(*pool);
        if rate == 0.0 {
            String::new()
        } else {
            rate.to_string()
        }
    }
}

/// The pace panel of a project's overview; its figures are computed beside the page's others.
pub(crate) fn pace_panel(
    state: &AppState,
    figures: &PageFigures,
    project: &Project,
    notices: &Notices,
) -> impl Future<Output = Result<PacePanel>> {
    let for_pace = project.clone();
    let pace = figures.spawn(move |store| async move { store.pace(&for_pace, now_ms()).await });
    let store = state.store.clone();
    let pid = project.id;
    let error = notices.rates_error.clone();
    async move {
        let rates = store.pool_rates(pid).await?;
        Ok(PacePanel {
            rates,
            error,
            figures: pace.ready().await?.map(PaceFigures::new),
        })
    }
}

/// The rates form, as browsers send it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RatesForm {
    csrf: String,
    generalist: String,
    expert: String,
    user: String,
    currency: String,
}

/// Sets the hourly rates; refused rates show on the page with the pool at fault (422).
pub async fn set_rates(
    State(state): State<AppState>,
    Admin(admin): Admin,
    origin: Origin,
    session: Session,
    Path(pid): Path<i64>,
    Form(form): Form<RatesForm>,
) -> Result<Response> {
    csrf::verify(&session, &form.csrf).await?;
    state.store.project(pid).await?;
    let fields = [
        (Pool::Generalist, form.generalist.as_str()),
        (Pool::Expert, form.expert.as_str()),
        (Pool::User, form.user.as_str()),
    ];
    match PoolRates::from_form(fields, &form.currency) {
        Ok(rates) => {
            let entry = origin.entry(&admin, Action::PoolRatesChanged).project(pid);
            state.store.set_pool_rates(pid, &rates, entry).await?;
            flash::set(
                &session,
                Flash {
                    text: "Rates saved.".into(),
                    ok: true,
                    undo: None,
                },
            )
            .await?;
            Ok(Redirect::to(&format!("/admin/projects/{pid}#pace")).into_response())
        }
        Err(invalid) => {
            let e = AppError::from(invalid);
            let notices = Notices {
                rates_error: Some(e.public_message()),
                ..Notices::default()
            };
            let page = project_page_for(&state, &session, admin, pid, notices).await?;
            Ok(html_with_status(e.status(), &page))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_spans_read_plainly() {
        assert_eq!(money(1234.5, "EUR"), "1,234.50 EUR");
        assert_eq!(money(0.004, "USD"), "0.00 USD");
        assert_eq!(money(1_000_000.0, "USD"), "1,000,000.00 USD");
        assert_eq!(span(45.2), "45 s");
        assert_eq!(span(120.0), "2 min");
        assert_eq!(span(125.0), "2 min 5 s");
        assert_eq!(span(3.5 * 3600.0), "3 h 30 min");
        assert_eq!(span(24.0 * 3600.0), "24 h");
        assert_eq!(span(52.0 * 3600.0), "2 d 4 h");
        assert_eq!(span(48.0 * 3600.0), "2 d");
    }
}
