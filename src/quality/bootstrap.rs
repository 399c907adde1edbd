//! Seeded, thread-count-independent item bootstrap: every draw has its own generator, seeded
//! from the report's seed and the draw's number, so the same seed gives the same intervals on
//! one thread or many. One resample of items
//! serves every statistic of a draw (alpha and each rater's leniency), so the random numbers
//! are drawn once.

use rand::distributions::{Distribution, Uniform};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::alpha::{alpha_from, UnitProfiles};
use super::bias::LeniencyShifts;
use super::dataset::Dataset;
use super::report::ReportOptions;
use super::stats::percentile_sorted;

/// Stream family of the item resamples (kept apart from any future use of the seed).
const ITEM_STREAMS: u64 = 1;

/// The random generator of draw `draw`. A resample takes one number per item, so over a
/// thousand draws of a big project the generator is most of the bootstrap's work: xoshiro256++
/// makes them at a fraction of a cipher's cost, and its state is filled by SplitMix64 from a
/// key that differs for every draw of one seed (multiplying by an odd constant is one-to-one).
pub(crate) fn draw_rng(seed: u64, draw: u64) -> Xoshiro256PlusPlus {
    let key = ((ITEM_STREAMS << 40) | draw).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Xoshiro256PlusPlus::seed_from_u64(seed ^ key)
}

/// Per-draw estimates from the item bootstrap.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resamples {
    /// Alpha of each resample (`None` where undefined).
    pub alpha: Vec<Option<f64>>,
    /// Each rater's mean shift from consensus in each resample (`NaN` where undefined),
    /// indexed `[draw][rater]`; empty when leniency is not computed.
    pub leniency: Vec<Vec<f64>>,
}

/// Resample items with replacement `options.bootstrap_draws` times and recompute alpha
/// (ordinal distances from each resample's own marginals) and, when given, leniency.
pub(crate) fn resample(
    data: &Dataset,
    options: &ReportOptions,
    shifts: Option<&LeniencyShifts>,
) -> Resamples {
    let items = data.item_count();
    if items == 0 || options.bootstrap_draws == 0 {
        return Resamples::default();
    }
    let k = data.categories().len();
    let scale = data.categories().scale_values(options.level);
    let profiles = UnitProfiles::of_dataset(data);
    let pick = Uniform::new(0, items);
    let draws = run_draws(
        options.bootstrap_draws,
        options.threads,
        options.seed,
        || vec![0u32; items],
        |weights, rng| {
            weights.iter_mut().for_each(|w| *w = 0);
            for _ in 0..items {
                weights[pick.sample(rng)] += 1;
            }
            let alpha = alpha_from(&profiles.coincidence(k, weights), options.level, &scale).ok();
            (alpha, shifts.map(|s| s.means(weights)))
        },
    );
    let mut result = Resamples::default();
    for (alpha, leniency) in draws {
        result.alpha.push(alpha);
        if let Some(leniency) = leniency {
            result.leniency.push(leniency);
        }
    }
    result
}

/// Run `draws` bootstrap draws over up to `threads` threads; `one` gets a per-thread scratch
/// value and the draw's own generator. Results come back in draw order.
fn run_draws<S, T, M, F>(draws: usize, threads: usize, seed: u64, scratch: M, one: F) -> Vec<T>
where
    T: Send,
    M: Fn() -> S + Sync,
    F: Fn(&mut S, &mut Xoshiro256PlusPlus) -> T + Sync,
{
    let threads = threads.clamp(1, draws.max(1));
    let chunk = draws.div_ceil(threads);
    let run_range = |start: usize, end: usize| {
        let mut state = scratch();
        (start..end)
            .map(|draw| one(&mut state, &mut draw_rng(seed, draw as u64)))
            .collect::<Vec<T>>()
    };
    if threads == 1 {
        return run_range(0, draws);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (start, end) = (t * chunk, ((t + 1) * chunk).min(draws));
                let run_range = &run_range;
                scope.spawn(move || run_range(start, end))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    })
}

/// 95% percentile interval of bootstrap estimates; undefined estimates (`None`) are skipped,
/// and the interval is undefined when fewer than half of the draws gave a value.
pub(crate) fn percentile_interval(estimates: Vec<Option<f64>>) -> Result<[f64; 2], String> {
    let total = estimates.len();
    if total == 0 {
        return Err("the bootstrap is switched off (0 draws)".to_string());
    }
    let mut values: Vec<f64> = estimates
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite())
        .collect();
    if values.len() * 2 < total {
        return Err(format!(
            "the figure is undefined in {} of {total} resamples",
            total - values.len()
        ));
    }
    values.sort_unstable_by(f64::total_cmp);
    match (
        percentile_sorted(&values, 0.025),
        percentile_sorted(&values, 0.975),
    ) {
        (Some(low), Some(high)) => Ok([low, high]),
        _ => Err("no bootstrap estimates".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::Level;

    fn sample_data() -> Dataset {
        let mut labels = Vec::new();
        let names: Vec<(String, String, String)> = (0..60)
            .flat_map(|i| {
                (0..3).map(move |r| {
                    let value = if (i * 7 + r * 3) % 5 == 0 {
                        "b"
                    } else if i % 3 == 0 {
                        "c"
                    } else {
                        "a"
                    };
                    (format!("i{i}"), format!("r{r}"), value.to_string())
                })
            })
            .collect();
        for (i, r, v) in &names {
            labels.push((i.as_str(), r.as_str(), v.as_str()));
        }
        Dataset::from_labels(labels).expect("dataset")
    }

    #[test]
    fn interval_is_reproducible_and_independent_of_threads() {
        let data = sample_data();
        let interval = |seed, threads| {
            let options = ReportOptions {
                bootstrap_draws: 200,
                seed,
                threads,
                ..ReportOptions::default()
            };
            percentile_interval(resample(&data, &options, None).alpha).expect("interval")
        };
        let one = interval(42, 1);
        assert_eq!(one, interval(42, 2));
        let alpha = crate::quality::krippendorff_alpha(&data, Level::Nominal).expect("alpha");
        assert!(one[0] <= alpha && alpha <= one[1], "{one:?} vs {alpha}");
        assert_ne!(one, interval(43, 2));
    }

    #[test]
    fn zero_draws_explain_themselves() {
        assert!(percentile_interval(Vec::new()).is_err());
        assert!(percentile_interval(vec![None, None, Some(1.0)]).is_err());
    }
}
