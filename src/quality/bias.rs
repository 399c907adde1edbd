//! Rater bias: leniency/severity against the other raters' values on ordered scales, and
//! each rater's label distribution against the other raters' labels on the same items.
//! Also holds the report's bias section.
//!
//! One bad rater must not make careful raters look biased: with few raters, a spammer who
//! over-uses one label is a large part of everyone else's reference. So the distribution test
//! runs in rounds: each round tests every rater against the labels of the other raters not
//! yet found biased, and the rater with the largest significant shift is found biased and
//! left out of the others' references from then on. Leniency is measured against the mean
//! value of the other raters not found biased.
//!
//! Neither uses the consensus: the other raters' labels need no model, while a Dawid-Skene
//! fit on few items can lean towards the label a spammer over-uses, and its most probable
//! class then over-states that label in everyone else's reference. Both take the other
//! raters' labels themselves rather than their majority, which says the common class more
//! often than any honest rater does (see `paired`): on a scale where most items deserve the
//! top value, honest raters who sometimes err measured 0.3 to 0.5 steps below the majority
//! and were called severe, where their expected distance from the others' mean is zero.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::dataset::Dataset;
use super::drift::RaterDrift;
use super::groups::{PoolPair, PoolSummary, SliceSummary};
use super::guidelines::GuidelineProblems;
use super::homogeneity::{marginal_homogeneity, MarginalTest};
use super::paired::PairedTables;
use super::report::ReportOptions;
use super::stats::{holm, MeanVar};

/// Per-category p-values below this mark a category as over- or under-used.
const CATEGORY_SIGNIFICANCE: f64 = 0.05;

/// The bias section of a report.
#[derive(Debug, Clone, Serialize)]
pub struct Bias {
    /// Per rater: mean signed distance from the other raters' mean value (ordered levels
    /// only).
    pub leniency: Vec<RaterLeniency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leniency_reason: Option<String>,
    /// Per rater: label distribution vs the other raters' labels on the same items.
    pub distribution: Vec<RaterDistribution>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution_reason: Option<String>,
    /// Raters, labels and items per pool.
    pub pools: Vec<PoolSummary>,
    /// Agreement between the consensus labels of each pair of pools.
    pub pool_pairs: Vec<PoolPair>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pools_reason: Option<String>,
    /// The item metadata field used for slices.
    pub slice_field: Option<String>,
    pub slices: Vec<SliceSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slices_reason: Option<String>,
    /// Agreement with consensus early vs late in each rater's session.
    pub drift: Vec<RaterDrift>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_reason: Option<String>,
    /// Items where the most reliable raters agree with each other against the crowd.
    pub guideline_problems: GuidelineProblems,
}

/// A rater's tendency to give higher or lower values than the other raters.
#[derive(Debug, Clone, Serialize)]
pub struct RaterLeniency {
    pub rater: String,
    /// Labels compared (items that another rater not found biased labelled too).
    pub labels: usize,
    /// Mean of (rater's value - the mean of the other raters' values on the item) on the
    /// scale (ranks for ordinal data).
    pub leniency: f64,
    /// 95% interval (Student's t over the rater's shifts, the other raters' values held
    /// fixed).
    pub leniency_ci95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leniency_ci95_reason: Option<String>,
    /// "higher" or "lower" when the rater has at least `min_rater_labels` labels measured,
    /// the interval excludes zero and the shift is at least a quarter of a scale step;
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tendency: Option<String>,
}

/// A rater's label distribution against the other raters' labels on the same items (a test
/// of marginal homogeneity on the paired labels: Stuart-Maxwell's where one other rater
/// labelled each item; see `homogeneity`).
#[derive(Debug, Clone, Serialize)]
pub struct RaterDistribution {
    pub rater: String,
    /// Labels compared (items that another rater not found biased labelled too).
    pub labels: usize,
    /// The chi-square statistic.
    pub chi_square: f64,
    pub df: usize,
    pub p_value: f64,
    /// Holm-adjusted over the raters tested in the same round.
    pub p_adjusted: f64,
    /// Share of the rater's labels that would have to change for their mix of categories to
    /// match the other raters' on the same items (total variation distance, 0 to 1).
    pub shift: f64,
    /// The rater's share of each category, in scale order.
    pub rater_share: Vec<f64>,
    /// The other raters' share of each category on the same items (each item's other
    /// labels weighing one label), in scale order.
    pub consensus_share: Vec<f64>,
    /// Categories this rater uses significantly more than the other raters.
    pub over_used: Vec<String>,
    /// Categories this rater uses significantly less than the other raters.
    pub under_used: Vec<String>,
    /// Raters already found biased, left out of this rater's reference.
    pub reference_excludes: Vec<String>,
    /// Significant after correction and a shift at or above the effect threshold.
    pub biased: bool,
}

/// Each rater's signed distances from the other raters' mean value: their mean and
/// spread.
#[derive(Debug, Clone)]
pub(crate) struct LeniencyShifts {
    per_rater: Vec<RaterShifts>,
    /// Mean distance between neighbouring categories on the scale.
    step: f64,
}

#[derive(Debug, Clone)]
struct RaterShifts {
    /// Labels with a shift (other raters' values to be measured against).
    labels: usize,
    /// The mean shift over those labels (`NaN` without any).
    mean: f64,
    /// The shifts' sample variance (0 for fewer than two).
    variance: f64,
}

/// Signed distances of every label from the mean value of the other raters of its item
/// who are not `left_out` (labels without one are left out), on the level's scale (ranks
/// for ordinal data). Defined only for ordered levels.
pub(crate) fn leniency_shifts(
    data: &Dataset,
    left_out: &[bool],
    options: &ReportOptions,
) -> Result<LeniencyShifts, String> {
    if !options.level.is_ordered() {
        return Err("leniency needs an ordered level (ordinal, interval or ratio)".to_string());
    }
    let scale = data.categories().scale_values(options.level);
    if scale.len() < 2 {
        return Err("the scale has fewer than two categories".to_string());
    }
    let (low, high) = scale
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let counts = |rater: u32| !left_out.get(rater as usize).copied().unwrap_or(false);
    // Each item's sum and count of the values that count.
    let totals: Vec<(f64, u32)> = (0..data.item_count())
        .map(|item| {
            (data.item_labels(item).iter())
                .filter(|label| counts(label.rater))
                .fold((0.0, 0), |(sum, n), label| {
                    (sum + scale[label.value as usize], n + 1)
                })
        })
        .collect();
    // One pass over the labels in the dataset's order, each rater's shifts summed as they
    // come: a rater's labels come in the order a pass over their own would take them, so
    // the sums are the same, without a jump across the dataset for each label.
    let mut sums = vec![ShiftSums::default(); data.rater_count()];
    for label in data.labels() {
        let value = scale[label.value as usize];
        let (mut sum, mut others) = totals[label.item as usize];
        if counts(label.rater) {
            (sum, others) = (sum - value, others - 1);
        }
        if others > 0 {
            sums[label.rater as usize].push(value - sum / f64::from(others));
        }
    }
    let per_rater = sums.iter().map(ShiftSums::shifts).collect();
    Ok(LeniencyShifts {
        per_rater,
        step: (high - low) / (scale.len() - 1) as f64,
    })
}

/// One rater's shifts as they are given, in item order: summed in that order for the mean.
#[derive(Debug, Clone, Copy, Default)]
struct ShiftSums {
    sum: f64,
    spread: MeanVar,
}

impl ShiftSums {
    fn push(&mut self, shift: f64) {
        self.sum += shift;
        self.spread.push(shift);
    }

    fn shifts(&self) -> RaterShifts {
        let labels = self.spread.n as usize;
        RaterShifts {
            labels,
            mean: if labels > 0 {
                self.sum / labels as f64
            } else {
                f64::NAN
            },
            variance: self.spread.variance(),
        }
    }
}

/// The 95% interval of a rater's mean shift: Student's t over the rater's shifts, which
/// are independent given the other raters' labels (each of the rater's labels is on an
/// item of its own). A bootstrap over items would draw a count for each distinct shift,
/// and against the others' mean value there are dozens.
fn mean_interval(shifts: &RaterShifts) -> Result<[f64; 2], String> {
    if shifts.labels < 2 {
        return Err("fewer than two labels measured".to_string());
    }
    let n = shifts.labels as f64;
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .map_err(|e| e.to_string())?
        .inverse_cdf(0.975);
    let half = t * (shifts.variance / n).sqrt();
    Ok([shifts.mean - half, shifts.mean + half])
}

/// Leniency rows from the shifts.
pub(crate) fn leniency(
    data: &Dataset,
    shifts: &LeniencyShifts,
    options: &ReportOptions,
) -> Vec<RaterLeniency> {
    let threshold = options.thresholds.leniency_steps * shifts.step;
    let mut rows: Vec<RaterLeniency> = shifts
        .per_rater
        .iter()
        .enumerate()
        .filter(|(_, shifts)| shifts.mean.is_finite())
        .map(|(rater, rater_shifts)| {
            let RaterShifts { labels, mean, .. } = *rater_shifts;
            let interval = mean_interval(rater_shifts);
            // As for every other flag, a rater with few labels is not judged: among many
            // such raters (a product's users, rating in passing) some interval would miss
            // zero by chance.
            let tendency = match interval {
                _ if labels < options.thresholds.min_rater_labels => None,
                Ok([low, _]) if low > 0.0 && mean >= threshold => Some("higher".to_string()),
                Ok([_, high]) if high < 0.0 && mean <= -threshold => Some("lower".to_string()),
                _ => None,
            };
            let (leniency_ci95, leniency_ci95_reason) = super::figure::split_interval(interval);
            RaterLeniency {
                rater: data.raters()[rater].clone(),
                labels,
                leniency: mean,
                leniency_ci95,
                leniency_ci95_reason,
                tendency,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.rater.cmp(&b.rater));
    rows
}

/// The distribution test's rows, and the raters it found biased (left out of the
/// leniency test's references too).
pub(crate) struct DistributionFindings {
    pub rows: Result<Vec<RaterDistribution>, String>,
    pub left_out: Vec<bool>,
}

/// Test each rater with at least `min_rater_labels` compared labels, in rounds (see the
/// module documentation); p-values are Holm-adjusted within each round.
pub(crate) fn distribution(data: &Dataset, options: &ReportOptions) -> DistributionFindings {
    let raters = data.rater_count();
    if raters < 2 {
        return DistributionFindings {
            rows: Err("there is only one rater".to_string()),
            left_out: vec![false; raters],
        };
    }
    let limits = &options.thresholds;
    let mut rows: Vec<RaterDistribution> = Vec::new();
    let mut paired = PairedTables::new(data);
    for _round in 0..raters {
        let tested: Vec<(usize, usize, MarginalTest)> = (0..raters)
            .filter(|&r| !paired.left_out()[r])
            .filter_map(|r| test_rater(data, &paired, r, options))
            .collect();
        let adjusted = holm(&tested.iter().map(|t| t.2.p_value).collect::<Vec<_>>());
        let found = tested
            .iter()
            .zip(&adjusted)
            .enumerate()
            .filter(|(_, (t, &p))| p < limits.significance && t.2.shift >= limits.bias_effect)
            .max_by(|a, b| (a.1 .0).2.shift.total_cmp(&(b.1 .0).2.shift))
            .map(|(position, _)| position);
        let excluded = names_where(data, paired.left_out());
        let row = |position: usize, biased: bool| {
            let (rater, labels, test) = &tested[position];
            distribution_row(
                data,
                *rater,
                *labels,
                test,
                adjusted[position],
                biased,
                &excluded,
            )
        };
        match found {
            Some(position) => {
                rows.push(row(position, true));
                paired.leave_out(data, tested[position].0);
            }
            None => {
                rows.extend((0..tested.len()).map(|position| row(position, false)));
                break;
            }
        }
    }
    let left_out = paired.left_out().to_vec();
    if rows.is_empty() {
        return DistributionFindings {
            rows: Err(format!(
                "no rater has {} or more labels on items that other raters labelled too",
                limits.min_rater_labels
            )),
            left_out,
        };
    }
    rows.sort_by(|a, b| a.rater.cmp(&b.rater));
    DistributionFindings {
        rows: Ok(rows),
        left_out,
    }
}

/// The rater's labels against their references: `(rater, compared labels, test)`.
fn test_rater(
    data: &Dataset,
    paired: &PairedTables,
    rater: usize,
    options: &ReportOptions,
) -> Option<(usize, usize, MarginalTest)> {
    let paired = paired.table(rater);
    if paired.compared < options.thresholds.min_rater_labels.max(1) {
        return None;
    }
    let test = marginal_homogeneity(paired.table, paired.moments, data.categories().len())?;
    Some((rater, paired.compared, test))
}

fn names_where(data: &Dataset, marked: &[bool]) -> Vec<String> {
    (0..data.rater_count())
        .filter(|&r| marked[r])
        .map(|r| data.raters()[r].clone())
        .collect()
}

fn distribution_row(
    data: &Dataset,
    rater: usize,
    labels: usize,
    test: &MarginalTest,
    p_adjusted: f64,
    biased: bool,
    excluded: &[String],
) -> RaterDistribution {
    let categories = |over: bool| -> Vec<String> {
        test.per_category
            .iter()
            .enumerate()
            .filter(|(_, &(p, sign))| p < CATEGORY_SIGNIFICANCE && (sign > 0.0) == over)
            .map(|(c, _)| data.categories().name(c as u32).to_string())
            .collect()
    };
    RaterDistribution {
        rater: data.raters()[rater].clone(),
        labels,
        chi_square: test.statistic,
        df: test.df,
        p_value: test.p_value,
        p_adjusted,
        shift: test.shift,
        rater_share: test.row_share.clone(),
        consensus_share: test.column_share.clone(),
        over_used: categories(true),
        under_used: categories(false),
        reference_excludes: excluded.to_vec(),
        biased,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::{synth, Categories, DatasetBuilder, Level};

    /// A rater's shifts summed as a report's pass sums them.
    fn rater_shifts(shifts: impl Iterator<Item = f64>) -> RaterShifts {
        let mut sums = ShiftSums::default();
        shifts.for_each(|shift| sums.push(shift));
        sums.shifts()
    }

    /// Each rater's mean shift computed the plain way: for each of the rater's labels in
    /// item order, its value less the mean of the item's other values, summed as floats.
    fn means_rater_by_rater(data: &Dataset, level: Level) -> Vec<f64> {
        let scale = data.categories().scale_values(level);
        (0..data.rater_count())
            .map(|rater| {
                let (mut sum, mut count) = (0.0, 0u32);
                for &index in data.rater_label_indexes(rater) {
                    let label = data.labels()[index as usize];
                    let others: Vec<f64> = (data.item_labels(label.item as usize).iter())
                        .filter(|other| other.rater != label.rater)
                        .map(|other| scale[other.value as usize])
                        .collect();
                    if others.is_empty() {
                        continue;
                    }
                    let mean = others.iter().sum::<f64>() / others.len() as f64;
                    sum += scale[label.value as usize] - mean;
                    count += 1;
                }
                if count > 0 {
                    sum / f64::from(count)
                } else {
                    f64::NAN
                }
            })
            .collect()
    }

    /// Synthetic labels on a scale with these category names.
    fn dataset_on(values: &[&str]) -> Dataset {
        let plain = synth::generate(2_000, 5, 40, values.len(), 7);
        let mut builder = DatasetBuilder::new();
        builder.categories(Categories::ordered(values.to_vec()).expect("distinct values"));
        for label in plain.labels() {
            builder.add_label(
                &plain.items()[label.item as usize],
                &plain.raters()[label.rater as usize],
                values[label.value as usize],
            );
        }
        builder.build().expect("a dataset")
    }

    fn shifts_of(data: &Dataset, level: Level) -> LeniencyShifts {
        let options = ReportOptions {
            level,
            ..ReportOptions::default()
        };
        let everyone = vec![false; data.rater_count()];
        leniency_shifts(data, &everyone, &options).expect("an ordered level")
    }

    #[test]
    fn each_raters_mean_shift_is_their_mean_distance_from_the_others_mean() {
        for (values, level) in [
            (
                ["none", "mild", "moderate", "severe", "fatal"],
                Level::Ordinal,
            ),
            // Not whole numbers: the sum's last bits depend on its order.
            (["0.1", "0.7", "1.3", "2.9", "3.3"], Level::Interval),
        ] {
            let data = dataset_on(&values);
            let shifts = shifts_of(&data, level);
            let expected = means_rater_by_rater(&data, level);
            let means: Vec<f64> = shifts.per_rater.iter().map(|r| r.mean).collect();
            for (mean, expected) in means.iter().zip(&expected) {
                assert!(
                    (mean - expected).abs() < 1e-12,
                    "{level:?}: {mean} against {expected}"
                );
            }
            assert!(means.iter().any(|m| *m > 0.0) && means.iter().any(|m| *m < 0.0));
        }
    }

    #[test]
    fn a_rater_without_a_shift_has_no_mean_and_one_shift_no_interval() {
        let none = rater_shifts([].into_iter());
        assert!(none.mean.is_nan());
        assert!(mean_interval(&none).is_err());
        assert!(mean_interval(&rater_shifts([0.5].into_iter())).is_err());
        // Shifts 1, -1, 1: mean 1/3, sd 2/sqrt(3), t(2) at 97.5% 4.302653.
        let three = rater_shifts([1.0, -1.0, 1.0].into_iter());
        assert_eq!(three.mean, 1.0 / 3.0);
        let [low, high] = mean_interval(&three).expect("an interval");
        let half = 4.302_652_729_911 * (4.0_f64 / 3.0 / 3.0).sqrt();
        assert!((low - (1.0 / 3.0 - half)).abs() < 1e-9, "{low}");
        assert!((high - (1.0 / 3.0 + half)).abs() < 1e-9, "{high}");
    }

    /// The distribution test's rows on a simulated project.
    fn distribution_rows(project: &synth::roster::Project) -> Vec<RaterDistribution> {
        let simulation = synth::roster::simulate(project);
        let findings = distribution(&simulation.data, &ReportOptions::default());
        findings.rows.expect("raters tested")
    }

    /// The names of the raters the distribution test calls biased (rater `n` of the
    /// simulation is `r00n`).
    fn found_biased(project: &synth::roster::Project) -> Vec<String> {
        (distribution_rows(project).into_iter())
            .filter(|row| row.biased)
            .map(|row| row.rater)
            .collect()
    }

    /// Twelve honest raters, each right 65% of the time, on an unbalanced project.
    fn honest_project(overlap: usize, seed: u64) -> synth::roster::Project {
        synth::roster::Project {
            items: 3_000,
            overlap,
            priors: vec![0.8, 0.1, 0.1],
            raters: vec![synth::roster::Behaviour::Careful { accuracy: 0.65 }; 12],
            seed,
        }
    }

    #[test]
    fn honest_raters_who_make_mistakes_are_not_called_biased() {
        // Against the other raters' majority, which says the common class more often than
        // any one of them, two of the raters of the first project were called biased.
        for (overlap, seed) in [(3, 1), (3, 2), (5, 3)] {
            let project = honest_project(overlap, seed);
            assert_eq!(
                found_biased(&project),
                Vec::<String>::new(),
                "overlap {overlap}"
            );
            for row in distribution_rows(&project) {
                assert!(row.shift < 0.04, "{} shifted {}", row.rater, row.shift);
            }
        }
    }

    #[test]
    fn a_rater_who_over_uses_a_rare_class_is_called_biased_and_no_one_else() {
        for (overlap, seed) in [(3, 4), (5, 5)] {
            let mut project = honest_project(overlap, seed);
            project.raters[4] = synth::roster::Behaviour::Spammer {
                favourite: 2,
                share: 0.4,
            };
            assert_eq!(found_biased(&project), ["r004"], "overlap {overlap}");
        }
    }

    #[test]
    fn honest_raters_on_a_scale_most_items_top_are_neither_lenient_nor_severe() {
        // Against the other raters' majority, which says the top value more often than any
        // one of them, these raters measured 0.3 to 0.5 steps low and were called severe.
        for (overlap, seed) in [(3, 6), (5, 7)] {
            let project = synth::roster::Project {
                priors: vec![0.05, 0.05, 0.1, 0.2, 0.6],
                ..honest_project(overlap, seed)
            };
            let simulation = synth::roster::simulate(&project);
            let options = ReportOptions {
                level: Level::Ordinal,
                bootstrap_draws: 200,
                ..ReportOptions::default()
            };
            let report = crate::quality::build_report(&simulation.data, &options);
            assert_eq!(report.bias.leniency.len(), 12);
            for row in &report.bias.leniency {
                assert_eq!(row.tendency, None, "overlap {overlap}: {row:?}");
                assert!(row.leniency.abs() < 0.2, "overlap {overlap}: {row:?}");
            }
            // Chance moves each rater a little either way, and the raters not at all.
            let mean = report
                .bias
                .leniency
                .iter()
                .map(|row| row.leniency)
                .sum::<f64>()
                / 12.0;
            assert!(mean.abs() < 0.05, "overlap {overlap}: {mean}");
        }
    }
}
