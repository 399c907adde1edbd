//! The whole report: options, the serialisable result, and [`build_report`] that runs every
//! analysis over a [`Dataset`].

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::agreement::{agreement, Agreement};
use super::bias::{
    distribution, leniency, leniency_shifts, Bias, DistributionFindings, RaterDistribution,
    RaterLeniency,
};
use super::bootstrap::alpha_resamples;
use super::consensus::{
    dawid_skene_consensus, majority_vote, Consensus, ConsensusItem, ConsensusMethod,
};
use super::consensus_summary::{summarise, weak_consensus_warning, ConsensusSummary};
use super::dataset::{Dataset, Level};
use super::dawid_skene::DawidSkeneOptions;
use super::drift::drift;
use super::groups::{pools, slices};
use super::guidelines::{guideline_problems, GuidelineProblems};
use super::memo::Memo;
use super::raters::{rater_quality, RaterQuality, RaterSignals};
use super::reference::References;
use super::warning::Warning;

/// What to compute and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportOptions {
    /// Level of measurement for alpha, weighted kappa and leniency.
    pub level: Level,
    /// Consensus method [Dawid-Skene].
    pub method: ConsensusMethod,
    /// Bootstrap draws for alpha's interval (0 switches it off).
    pub bootstrap_draws: usize,
    /// Seed of the bootstrap; the same seed gives the same report.
    pub seed: u64,
    /// Pairs of raters (and pools) sharing fewer items get no kappa.
    pub min_pair_overlap: usize,
    /// A rater whose median time per label is below this is flagged too_fast.
    pub too_fast_ms: Option<u32>,
    /// Item metadata field to slice by.
    pub slice_field: Option<String>,
    /// Dawid-Skene stopping rules.
    pub dawid_skene: DawidSkeneOptions,
    /// Limits for flags and tests.
    pub thresholds: Thresholds,
    /// Worker threads for Dawid-Skene and the bootstrap.
    pub threads: usize,
    /// Most guideline-problem items listed (all are counted).
    pub max_listed_items: usize,
    /// How many categories away from the gold answer a label still counts as right (a
    /// rating project's tolerance, in scale steps); 0 for choices.
    pub gold_tolerance: u32,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            level: Level::Nominal,
            method: ConsensusMethod::DawidSkene,
            bootstrap_draws: 1000,
            seed: 0,
            min_pair_overlap: 5,
            too_fast_ms: Some(1000),
            slice_field: None,
            dawid_skene: DawidSkeneOptions::default(),
            thresholds: Thresholds::default(),
            threads: 2,
            max_listed_items: 100,
            gold_tolerance: 0,
        }
    }
}

/// Limits behind the flags; defaults in brackets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Family-wise significance level after Holm correction [0.05].
    pub significance: f64,
    /// Raters with fewer labels are not tested or flagged as spammers [20].
    pub min_rater_labels: usize,
    /// Gold items needed before low gold accuracy is flagged [5].
    pub min_gold_items: usize,
    /// Gold accuracy whose 95% Wilson upper bound is below this is flagged [0.7].
    pub low_gold_accuracy: f64,
    /// Informativeness below this is flagged `spammer` [0.1].
    pub min_informativeness: f64,
    /// Shift of a rater's label mix from the other raters' majority (total variation
    /// distance) needed, beside significance, to call a label distribution biased [0.15].
    /// Lower, it catches careless raters too: uniform errors at 60% accuracy over four
    /// skewed classes already move about 0.12 of a rater's labels away from the common class.
    pub bias_effect: f64,
    /// Leniency (in scale steps) needed, beside a significant interval, to flag bias [0.25].
    pub leniency_steps: f64,
    /// Change in agreement with consensus needed, beside significance, to flag drift [0.1].
    pub drift_change: f64,
    /// Kappa paradox: raw agreement at least this ... [0.8]
    pub paradox_agreement: f64,
    /// ... while kappa is below this [0.4].
    pub paradox_kappa: f64,
    /// Share of ranked raters treated as most reliable for guideline problems [0.2].
    pub reliable_share: f64,
    /// Share of consensus labels that are ties or rest on one label above which the report
    /// warns that rater figures are weak [0.2].
    pub weak_consensus_share: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            significance: 0.05,
            min_rater_labels: 20,
            min_gold_items: 5,
            low_gold_accuracy: 0.7,
            min_informativeness: 0.1,
            bias_effect: 0.15,
            leniency_steps: 0.25,
            drift_change: 0.1,
            paradox_agreement: 0.8,
            paradox_kappa: 0.4,
            reliable_share: 0.2,
            weak_consensus_share: 0.2,
        }
    }
}

/// The report; its JSON shape is a public contract of the API and the CLI.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Items with at least one label.
    pub items: usize,
    /// Labels kept.
    pub labels: usize,
    pub level: Level,
    /// Category names in scale order; per-category arrays follow this order.
    pub categories: Vec<String>,
    pub consensus_method: ConsensusMethod,
    /// Dawid-Skene fit details, when that method ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dawid_skene: Option<DawidSkeneSummary>,
    /// Ties and single-label items among the consensus labels, and the leave-one-out
    /// exclusions behind the rater figures.
    pub consensus_summary: ConsensusSummary,
    pub agreement: Agreement,
    pub raters: Vec<RaterQuality>,
    pub bias: Bias,
    pub consensus: Vec<ConsensusItem>,
    pub warnings: Vec<Warning>,
}

impl Report {
    /// The report without its consensus row per item, every figure as it is: for answers
    /// that need only the figures (a dashboard), where the rows are most of the bytes.
    pub fn without_consensus_rows(&self) -> Report {
        let Report {
            items,
            labels,
            level,
            categories,
            consensus_method,
            dawid_skene,
            consensus_summary,
            agreement,
            raters,
            bias,
            consensus: _,
            warnings,
        } = self;
        Report {
            items: *items,
            labels: *labels,
            level: *level,
            categories: categories.clone(),
            consensus_method: *consensus_method,
            dawid_skene: dawid_skene.clone(),
            consensus_summary: consensus_summary.clone(),
            agreement: agreement.clone(),
            raters: raters.clone(),
            bias: bias.clone(),
            consensus: Vec::new(),
            warnings: warnings.clone(),
        }
    }
}

/// How the Dawid-Skene fit went.
#[derive(Debug, Clone, Serialize)]
pub struct DawidSkeneSummary {
    pub iterations: usize,
    pub converged: bool,
    /// Estimated class priors in scale order.
    pub priors: Vec<f64>,
}

/// Run every analysis. Never panics on any dataset; undefined figures carry reasons.
pub fn build_report(data: &Dataset, options: &ReportOptions) -> Report {
    build_report_kept(data, options, &KeptConsensus::default())
}

/// A dataset's consensus by one method and the references it makes, kept for the next
/// report of the same dataset: they depend on nothing else (not the level, the bootstrap or
/// its seed, nor the thresholds), and Dawid-Skene's iterations are most of a report's work.
/// The label-distribution test is kept beside it: it depends on the thresholds only, and
/// its rounds of leaving biased raters out were a quarter of a report on kept labels.
/// Keep one per dataset: it does not know which dataset it was fitted on.
#[derive(Default)]
pub struct KeptConsensus {
    fitted: Memo<FittedFor, Fitted>,
    distribution: Memo<Thresholds, DistributionFindings>,
}

/// What a kept consensus was fitted with.
#[derive(PartialEq)]
struct FittedFor {
    method: ConsensusMethod,
    dawid_skene: DawidSkeneOptions,
    /// The E-step's sums are split by thread, which may move the last digits.
    threads: usize,
}

struct Fitted {
    consensus: Consensus,
    references: References,
}

impl KeptConsensus {
    fn get_or_fit(&self, data: &Dataset, options: &ReportOptions) -> Arc<Fitted> {
        let fitted_for = FittedFor {
            method: options.method,
            dawid_skene: options.dawid_skene,
            threads: options.threads,
        };
        self.fitted.get_or_make(fitted_for, || {
            let consensus = match options.method {
                ConsensusMethod::Majority => majority_vote(data),
                ConsensusMethod::DawidSkene => {
                    dawid_skene_consensus(data, &options.dawid_skene, options.threads)
                }
            };
            let references = References::of(data, &consensus, options.threads);
            Fitted {
                consensus,
                references,
            }
        })
    }

    /// The label-distribution test's findings for `options`' thresholds, kept.
    fn distribution_of(
        &self,
        data: &Dataset,
        options: &ReportOptions,
    ) -> Arc<DistributionFindings> {
        (self.distribution).get_or_make(options.thresholds.clone(), || distribution(data, options))
    }

    /// Whether a consensus and a distribution test are kept, for tests.
    #[cfg(test)]
    pub(crate) fn is_prepared(&self) -> bool {
        self.fitted.kept().is_some() && self.distribution.kept().is_some()
    }

    /// Fits the consensus and runs the label-distribution test that a report of `data`
    /// with `options` reads, side by side, and keeps them for it.
    pub fn prepare(&self, data: &Dataset, options: &ReportOptions) {
        super::parallel::join(
            options.threads,
            || self.get_or_fit(data, options),
            || self.distribution_of(data, options),
        );
    }
}

/// [`build_report`] with the consensus taken from `kept` when it was fitted on this dataset
/// with these options, and kept there otherwise.
pub fn build_report_kept(data: &Dataset, options: &ReportOptions, kept: &KeptConsensus) -> Report {
    let mut warnings: Vec<Warning> = data
        .notes()
        .iter()
        .map(|note| Warning::new("input", note.clone()))
        .collect();
    check_inputs(data, options, &mut warnings);
    // The consensus and the figures that do not depend on it (the distribution test, the
    // leniency shifts, the bootstrap and agreement) run side by side: each alone leaves the
    // second core idle for much of its run.
    let (consensus_part, unbiased) = super::parallel::join(
        options.threads,
        || consensus_part(data, options, kept),
        || unbiased_part(data, options, kept),
    );
    let ConsensusPart {
        fitted,
        dawid_skene,
        consensus_summary,
        warnings: consensus_warnings,
    } = consensus_part;
    let Fitted {
        consensus,
        references,
    } = &*fitted;
    let UnbiasedPart {
        agreement,
        found,
        warnings: agreement_warnings,
    } = unbiased;
    warnings.extend(consensus_warnings);
    warnings.extend(agreement_warnings);
    // A row per item is a big project's longest serial step after the join: it goes
    // beside the rater figures.
    let (items, (bias, raters)) = super::parallel::join(
        options.threads,
        || consensus.items(data),
        || {
            let (mut bias, signals) = bias_section(data, consensus, references, found, options);
            let raters = rater_quality(data, consensus, references, &signals, options);
            bias.guideline_problems = guideline_problems(data, &raters, options);
            (bias, raters)
        },
    );
    Report {
        items: data.item_count(),
        labels: data.label_count(),
        level: options.level,
        categories: data.categories().names().to_vec(),
        consensus_method: options.method,
        dawid_skene,
        consensus_summary,
        agreement,
        raters,
        bias,
        consensus: items,
        warnings,
    }
}

/// The consensus, the references it makes and their summary.
struct ConsensusPart {
    fitted: Arc<Fitted>,
    dawid_skene: Option<DawidSkeneSummary>,
    consensus_summary: ConsensusSummary,
    warnings: Vec<Warning>,
}

fn consensus_part(data: &Dataset, options: &ReportOptions, kept: &KeptConsensus) -> ConsensusPart {
    let fitted = kept.get_or_fit(data, options);
    let consensus = &fitted.consensus;
    let dawid_skene = consensus.model.as_ref().map(|model| DawidSkeneSummary {
        iterations: model.iterations,
        converged: model.converged,
        priors: model.priors.clone(),
    });
    let mut warnings = Vec::new();
    if dawid_skene.as_ref().is_some_and(|s| !s.converged) {
        warnings.push(Warning::new(
            "dawid_skene_not_converged",
            format!(
                "Dawid-Skene stopped after {} iterations without converging",
                options.dawid_skene.max_iterations
            ),
        ));
    }
    let consensus_summary = summarise(data, consensus, &fitted.references, options);
    warnings.extend(weak_consensus_warning(
        &consensus_summary,
        options.method,
        data.has_gold(),
    ));
    ConsensusPart {
        fitted,
        dawid_skene,
        consensus_summary,
        warnings,
    }
}

/// The figures that need no consensus: agreement with its intervals, and the bias tests
/// against the majority of the raters not found biased.
struct UnbiasedPart {
    agreement: Agreement,
    found: Findings,
    warnings: Vec<Warning>,
}

fn unbiased_part(data: &Dataset, options: &ReportOptions, kept: &KeptConsensus) -> UnbiasedPart {
    let mut warnings = Vec::new();
    let findings = kept.distribution_of(data, options);
    let agreement = agreement(data, options, alpha_resamples(data, options), &mut warnings);
    let leniency = leniency_shifts(data, &findings.left_out, options)
        .map(|shifts| leniency(data, &shifts, options));
    UnbiasedPart {
        agreement,
        found: Findings {
            leniency,
            distribution: findings.rows.clone(),
        },
        warnings,
    }
}

/// Bias findings computed before the bias section is assembled.
struct Findings {
    leniency: Result<Vec<RaterLeniency>, String>,
    distribution: Result<Vec<RaterDistribution>, String>,
}

fn check_inputs(data: &Dataset, options: &ReportOptions, warnings: &mut Vec<Warning>) {
    if data.label_count() == 0 {
        warnings.push(Warning::new("no_labels", "there are no labels"));
    }
    if data.categories().len() == 1 {
        warnings.push(Warning::new(
            "one_category",
            "only one category was used, so chance-corrected agreement is undefined",
        ));
    }
    let numeric = data.categories().numeric_values().is_some();
    if matches!(options.level, Level::Interval | Level::Ratio) && !numeric {
        warnings.push(Warning::new(
            "ranks_as_values",
            format!(
                "{} level with non-numeric categories: category ranks (1..k) are used as values",
                options.level.name()
            ),
        ));
    }
    if options.level.is_ordered() && !numeric && data.categories().len() > 1 {
        warnings.push(Warning::new(
            "category_order",
            format!(
                "ordered analyses use the category order: {}",
                data.categories().names().join(" < ")
            ),
        ));
    }
}

/// The bias section (without guideline problems, which need rater quality) and the rater
/// flags it implies.
fn bias_section(
    data: &Dataset,
    consensus: &Consensus,
    references: &References,
    found: Findings,
    options: &ReportOptions,
) -> (Bias, RaterSignals) {
    let Findings {
        leniency,
        distribution,
    } = found;
    let raters = data.rater_count();
    let mut signals = RaterSignals {
        biased: vec![false; raters],
        drift: vec![false; raters],
    };
    let positions: HashMap<&str, usize> = data
        .raters()
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();
    let index = |name: &str| positions.get(name).copied();
    let drift = drift(data, references, options);
    for row in leniency
        .iter()
        .flatten()
        .filter(|row| row.tendency.is_some())
    {
        if let Some(r) = index(&row.rater) {
            signals.biased[r] = true;
        }
    }
    for row in distribution.iter().flatten().filter(|row| row.biased) {
        if let Some(r) = index(&row.rater) {
            signals.biased[r] = true;
        }
    }
    for row in drift.iter().flatten().filter(|row| row.drifting) {
        if let Some(r) = index(&row.rater) {
            signals.drift[r] = true;
        }
    }
    let pools = pools(data, options);
    let slices = match &options.slice_field {
        Some(field) => slices(data, consensus, field, options),
        None => Err("no slice field chosen".to_string()),
    };
    let (leniency, leniency_reason) = rows_or_reason(leniency);
    let (distribution, distribution_reason) = rows_or_reason(distribution);
    let (drift, drift_reason) = rows_or_reason(drift);
    let (slices, slices_reason) = rows_or_reason(slices);
    let ((pools, pool_pairs), pools_reason) = match pools {
        Ok(found) => (found, None),
        Err(reason) => ((Vec::new(), Vec::new()), Some(reason)),
    };
    let bias = Bias {
        leniency,
        leniency_reason,
        distribution,
        distribution_reason,
        pools,
        pool_pairs,
        pools_reason,
        slice_field: options.slice_field.clone(),
        slices,
        slices_reason,
        drift,
        drift_reason,
        guideline_problems: GuidelineProblems::default(),
    };
    (bias, signals)
}

fn rows_or_reason<T>(result: Result<Vec<T>, String>) -> (Vec<T>, Option<String>) {
    match result {
        Ok(rows) => (rows, None),
        Err(reason) => (Vec::new(), Some(reason)),
    }
}

#[cfg(test)]
mod tests;
