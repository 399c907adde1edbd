//! Rater bias: leniency/severity against the other raters' majority on ordered scales, and
//! each rater's label distribution against the other raters' labels on the same items.
//! Also holds the report's bias section.
//!
//! One bad rater must not make careful raters look biased: with few raters, a spammer who
//! over-uses one label is a large part of everyone else's reference. So the distribution test
//! runs in rounds: each round tests every rater against the labels of the other raters not
//! yet found biased, and the rater with the largest significant shift is found biased and
//! left out of the others' references from then on. Leniency is measured against the
//! majority of the raters not found biased.
//!
//! Neither uses the consensus: the other raters' labels need no model, while a Dawid-Skene
//! fit on few items can lean towards the label a spammer over-uses, and its most probable
//! class then over-states that label in everyone else's reference. The distribution test
//! takes the other raters' labels rather than their majority, which says the common class
//! more often than any honest rater does (see `paired`).

use serde::Serialize;

use rand::Rng;

use super::bootstrap::{group_times, percentile_interval};
use super::dataset::Dataset;
use super::drift::RaterDrift;
use super::groups::{PoolPair, PoolSummary, SliceSummary};
use super::guidelines::GuidelineProblems;
use super::homogeneity::{marginal_homogeneity, MarginalTest};
use super::paired::PairedTables;
use super::reference::References;
use super::report::ReportOptions;
use super::stats::holm;

/// Per-category p-values below this mark a category as over- or under-used.
const CATEGORY_SIGNIFICANCE: f64 = 0.05;

/// The bias section of a report.
#[derive(Debug, Clone, Serialize)]
pub struct Bias {
    /// Per rater: mean signed distance from the other raters' majority (ordered levels only).
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

/// A rater's tendency to give higher or lower values than the other raters' majority.
#[derive(Debug, Clone, Serialize)]
pub struct RaterLeniency {
    pub rater: String,
    /// Labels compared (items where the other raters had a clear majority).
    pub labels: usize,
    /// Mean of (rater's value - the others' majority value) on the scale (ranks for ordinal
    /// data).
    pub leniency: f64,
    /// 95% bootstrap interval (items resampled with replacement, references held fixed).
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

/// Each rater's signed distances from consensus (rater value - consensus value): their
/// mean, and how many of the rater's labels have each distinct distance.
#[derive(Debug, Clone)]
pub(crate) struct LeniencyShifts {
    per_rater: Vec<RaterShifts>,
    /// Mean distance between neighbouring categories on the scale.
    step: f64,
}

#[derive(Debug, Clone)]
struct RaterShifts {
    /// Labels with a shift (a consensus to be measured against).
    labels: usize,
    /// The mean shift over those labels (`NaN` without any).
    mean: f64,
    /// Each distinct shift, smallest first, and how many of the labels have it.
    groups: Vec<(f64, u64)>,
}

impl LeniencyShifts {
    /// Each rater's mean shift in one resample of all `items` items with replacement (`NaN`
    /// for a rater none of whose items came up).
    ///
    /// A rater labels each item once, so the mean depends on the resample only through how
    /// often the rater's items of each shift came up: a few binomial draws per rater (see
    /// [`group_times`]) instead of a weight per item and a pass over every label.
    pub(crate) fn resampled_means<R: Rng>(&self, items: usize, rng: &mut R) -> Vec<f64> {
        self.per_rater
            .iter()
            .map(|rater| {
                let sizes = rater.groups.iter().map(|&(_, size)| size);
                let (mut sum, mut count) = (0.0, 0u64);
                for (times, &(shift, _)) in group_times(items as u64, sizes, rng).zip(&rater.groups)
                {
                    sum += times as f64 * shift;
                    count += times;
                }
                if count > 0 {
                    sum / count as f64
                } else {
                    f64::NAN
                }
            })
            .collect()
    }
}

/// Signed distances of every label from the other raters' majority on its item (labels
/// without one are left out), on the level's scale (ranks for ordinal data). Defined only
/// for ordered levels.
pub(crate) fn leniency_shifts(
    data: &Dataset,
    references: &References,
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
    let per_rater = (0..data.rater_count())
        .map(|rater| {
            let shifts = data.rater_label_indexes(rater).iter().filter_map(|&index| {
                let label = data.labels()[index as usize];
                let agreed = references.class_of(index as usize)? as usize;
                Some(scale[label.value as usize] - scale[agreed])
            });
            rater_shifts(shifts)
        })
        .collect();
    Ok(LeniencyShifts {
        per_rater,
        step: (high - low) / (scale.len() - 1) as f64,
    })
}

/// One rater's shifts, given in item order: summed in that order for the mean, and counted
/// by distinct value.
fn rater_shifts(shifts: impl Iterator<Item = f64>) -> RaterShifts {
    let (mut sum, mut labels) = (0.0, 0usize);
    let mut groups: Vec<(f64, u64)> = Vec::new();
    for shift in shifts {
        sum += shift;
        labels += 1;
        match groups.iter_mut().find(|(value, _)| *value == shift) {
            Some((_, size)) => *size += 1,
            None => groups.push((shift, 1)),
        }
    }
    groups.sort_by(|a, b| a.0.total_cmp(&b.0));
    RaterShifts {
        labels,
        mean: if labels > 0 {
            sum / labels as f64
        } else {
            f64::NAN
        },
        groups,
    }
}

/// Leniency rows from the shifts and the bootstrap's per-draw means (`[draw][rater]`).
pub(crate) fn leniency(
    data: &Dataset,
    shifts: &LeniencyShifts,
    draws: &[Vec<f64>],
    options: &ReportOptions,
) -> Vec<RaterLeniency> {
    let threshold = options.thresholds.leniency_steps * shifts.step;
    let mut rows: Vec<RaterLeniency> = shifts
        .per_rater
        .iter()
        .enumerate()
        .filter(|(_, shifts)| shifts.mean.is_finite())
        .map(|(rater, &RaterShifts { labels, mean, .. })| {
            let estimates = draws
                .iter()
                .map(|draw| draw.get(rater).copied().filter(|v| v.is_finite()))
                .collect();
            let interval = percentile_interval(estimates);
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

/// The distribution test's rows, and the majority references with the raters it found
/// biased left out (kept up to date as it left them out).
pub(crate) struct DistributionFindings {
    pub rows: Result<Vec<RaterDistribution>, String>,
    pub references: References,
}

/// Test each rater with at least `min_rater_labels` compared labels, in rounds (see the
/// module documentation); p-values are Holm-adjusted within each round.
pub(crate) fn distribution(data: &Dataset, options: &ReportOptions) -> DistributionFindings {
    let raters = data.rater_count();
    if raters < 2 {
        return DistributionFindings {
            rows: Err("there is only one rater".to_string()),
            references: References::majority_without(data, &vec![false; raters]),
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
    let references = paired.into_references();
    if rows.is_empty() {
        return DistributionFindings {
            rows: Err(format!(
                "no rater has {} or more labels on items that other raters labelled too",
                limits.min_rater_labels
            )),
            references,
        };
    }
    rows.sort_by(|a, b| a.rater.cmp(&b.rater));
    DistributionFindings {
        rows: Ok(rows),
        references,
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
    use rand::Rng;

    use super::*;
    use crate::quality::{synth, Categories, DatasetBuilder, Level};

    /// Each rater's mean shift summed the plain way: the rater's labels in item order, as
    /// floats.
    fn means_rater_by_rater(
        data: &Dataset,
        references: &References,
        level: Level,
        weights: &[u32],
    ) -> Vec<f64> {
        let scale = data.categories().scale_values(level);
        (0..data.rater_count())
            .map(|rater| {
                let (mut sum, mut count) = (0.0, 0u32);
                for &index in data.rater_label_indexes(rater) {
                    let label = data.labels()[index as usize];
                    let Some(agreed) = references.class_of(index as usize) else {
                        continue;
                    };
                    let weight = weights[label.item as usize];
                    let shift = scale[label.value as usize] - scale[agreed as usize];
                    sum += f64::from(weight) * shift;
                    count += weight;
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

    fn shifts_of(data: &Dataset, level: Level) -> (References, LeniencyShifts) {
        let options = ReportOptions {
            level,
            ..ReportOptions::default()
        };
        let references = References::majority_without(data, &vec![false; data.rater_count()]);
        let shifts = leniency_shifts(data, &references, &options).expect("an ordered level");
        (references, shifts)
    }

    #[test]
    fn each_raters_mean_shift_is_the_plain_float_sum_bit_for_bit() {
        let bits = |v: &[f64]| v.iter().map(|m| m.to_bits()).collect::<Vec<_>>();
        for (values, level) in [
            (
                ["none", "mild", "moderate", "severe", "fatal"],
                Level::Ordinal,
            ),
            // Not whole numbers: the sum's last bits depend on its order.
            (["0.1", "0.7", "1.3", "2.9", "3.3"], Level::Interval),
        ] {
            let data = dataset_on(&values);
            let (references, shifts) = shifts_of(&data, level);
            let all = vec![1u32; data.item_count()];
            let expected = means_rater_by_rater(&data, &references, level, &all);
            let means: Vec<f64> = shifts.per_rater.iter().map(|r| r.mean).collect();
            assert_eq!(bits(&means), bits(&expected), "{level:?}");
            assert!(means.iter().any(|m| *m > 0.0) && means.iter().any(|m| *m < 0.0));
        }
    }

    /// Drawing how often each of a rater's shifts comes up must give the rater's mean shift
    /// the spread that drawing the items one by one gives.
    #[test]
    fn shift_counts_resample_leniency_as_item_draws_do() {
        let data = dataset_on(&["0.1", "0.7", "1.3", "2.9", "3.3"]);
        let (references, shifts) = shifts_of(&data, Level::Interval);
        let items = data.item_count();
        let pick = rand::distributions::Uniform::new(0, items);
        let draws = 2_000;
        let (by_group, by_item): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (0..draws)
            .map(|draw| {
                let rng = &mut crate::quality::bootstrap::draw_rng(3, draw);
                let mut weights = vec![0u32; items];
                for _ in 0..items {
                    weights[rng.sample(pick)] += 1;
                }
                let by_item = means_rater_by_rater(&data, &references, Level::Interval, &weights);
                (shifts.resampled_means(items, rng), by_item)
            })
            .unzip();
        let column = |draws: &[Vec<f64>], rater: usize| -> Vec<f64> {
            draws.iter().map(|d| d[rater]).collect()
        };
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let sd = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        };
        let mut checked = 0;
        for rater in 0..data.rater_count() {
            let (a, b) = (column(&by_group, rater), column(&by_item, rater));
            if b.iter().any(|m| !m.is_finite()) || sd(&b) == 0.0 {
                continue;
            }
            let (m1, m2, s1, s2) = (mean(&a), mean(&b), sd(&a), sd(&b));
            assert!(
                (m1 - m2).abs() < 0.2 * s2,
                "rater {rater}: means {m1} and {m2} (sd {s2})"
            );
            assert!(
                (s1 / s2 - 1.0).abs() < 0.12,
                "rater {rater}: spreads {s1} and {s2}"
            );
            checked += 1;
        }
        assert!(checked >= 30, "{checked} raters compared");
    }

    #[test]
    fn a_rater_without_a_shift_has_no_mean_in_any_resample() {
        let shifts = LeniencyShifts {
            per_rater: vec![
                rater_shifts([].into_iter()),
                rater_shifts([1.0, -1.0, 1.0].into_iter()),
            ],
            step: 1.0,
        };
        let means: Vec<f64> = shifts.per_rater.iter().map(|r| r.mean).collect();
        assert!(means[0].is_nan());
        assert_eq!(means[1], 1.0 / 3.0);
        assert_eq!(shifts.per_rater[1].groups, vec![(-1.0, 1), (1.0, 2)]);
        let rng = &mut crate::quality::bootstrap::draw_rng(1, 1);
        let resampled = shifts.resampled_means(3, rng);
        assert!(resampled[0].is_nan());
        assert!((-1.0..=1.0).contains(&resampled[1]));
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
}
