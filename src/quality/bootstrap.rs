//! Seeded, thread-count-independent item bootstrap: every draw has its own generator, seeded
//! from the report's seed and the draw's number, so the same seed gives the same intervals on
//! one thread or many. A draw resamples the items with replacement, and each figure takes
//! from it only what it depends on: how often some groups of items came up.

use rand::{Rng, SeedableRng};
use rand_distr::{Binomial, Distribution};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::alpha::{alpha_from, UnitProfiles};
use super::dataset::Dataset;
use super::parallel::map_ranges;
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

/// Alpha in each of `options.bootstrap_draws` resamples of the items with replacement
/// (ordinal distances from each resample's own marginals; `None` where undefined).
///
/// Alpha does not need to know which items were drawn, only how often each label profile
/// came up ([`UnitProfiles::resampled_times`], drawn as [`group_times`]): a few random
/// numbers per draw instead of one per item.
pub(crate) fn alpha_resamples(data: &Dataset, options: &ReportOptions) -> Vec<Option<f64>> {
    let items = data.item_count();
    if items == 0 || options.bootstrap_draws == 0 {
        return Vec::new();
    }
    let k = data.categories().len();
    let scale = data.categories().scale_values(options.level);
    let profiles = UnitProfiles::of_dataset(data);
    run_draws(
        options.bootstrap_draws,
        options.threads,
        options.seed,
        |rng| {
            let times = profiles.resampled_times(items, rng);
            let coincidence = profiles.coincidence_of_times(k, &times);
            alpha_from(&coincidence, options.level, &scale).ok()
        },
    )
}

/// How often each of some disjoint groups of items, of `sizes` items each, comes up when
/// all `items` items are drawn again with replacement. The counts are multinomial over the
/// groups' shares of the items (items in no group take the rest), drawn here as a chain of
/// binomials, each group's from the draws the groups before it left: the same distribution
/// as drawing the items one by one.
pub(crate) fn group_times<'a, R: Rng>(
    items: u64,
    sizes: impl IntoIterator<Item = u64> + 'a,
    rng: &'a mut R,
) -> impl Iterator<Item = u64> + 'a {
    let (mut draws_left, mut items_left) = (items, items);
    sizes.into_iter().map(move |size| {
        let share = size as f64 / items_left.max(1) as f64;
        let times = match Binomial::new(draws_left, share.min(1.0)) {
            Ok(binomial) if draws_left > 0 => binomial.sample(rng),
            _ => 0,
        };
        draws_left -= times;
        items_left = items_left.saturating_sub(size);
        times
    })
}

/// Run `draws` bootstrap draws over up to `threads` threads; `one` gets the draw's own
/// generator. Results come back in draw order.
fn run_draws<T, F>(draws: usize, threads: usize, seed: u64, one: F) -> Vec<T>
where
    T: Send,
    F: Fn(&mut Xoshiro256PlusPlus) -> T + Sync,
{
    map_ranges(
        draws,
        threads,
        || (),
        |_, draw| one(&mut draw_rng(seed, draw as u64)),
    )
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
    use rand::distributions::Uniform;

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
            percentile_interval(alpha_resamples(&data, &options)).expect("interval")
        };
        let one = interval(42, 1);
        assert_eq!(one, interval(42, 2));
        let alpha = crate::quality::krippendorff_alpha(&data, Level::Nominal).expect("alpha");
        assert!(one[0] <= alpha && alpha <= one[1], "{one:?} vs {alpha}");
        assert_ne!(one, interval(43, 2));
    }

    /// Drawing how often each profile comes up must give alpha the same spread as drawing
    /// the items themselves.
    #[test]
    fn profile_counts_resample_alpha_as_item_draws_do() {
        let data = crate::quality::synth::generate(2_000, 3, 20, 4, 7);
        let profiles = UnitProfiles::of_dataset(&data);
        let (k, items) = (data.categories().len(), data.item_count());
        let scale = data.categories().scale_values(Level::Nominal);
        let alpha = |c| alpha_from(&c, Level::Nominal, &scale).expect("alpha");
        let pick = Uniform::new(0, items);
        assert_eq!(profiles.sizes.iter().sum::<u64>(), items as u64);
        let (by_profile, by_item): (Vec<f64>, Vec<f64>) = (0..2_000)
            .map(|draw| {
                let rng = &mut draw_rng(5, draw);
                let times = profiles.resampled_times(items, rng);
                let drawn: u32 = times.iter().sum();
                assert_eq!(drawn as usize, items, "every item has a profile");
                let mut weights = vec![0u32; items];
                for _ in 0..items {
                    weights[pick.sample(rng)] += 1;
                }
                (
                    alpha(profiles.coincidence_of_times(k, &times)),
                    alpha(profiles.coincidence(k, &weights)),
                )
            })
            .unzip();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let sd = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        };
        let (m1, m2) = (mean(&by_profile), mean(&by_item));
        let (s1, s2) = (sd(&by_profile), sd(&by_item));
        assert!((m1 - m2).abs() < 0.2 * s2, "means {m1} and {m2} (sd {s2})");
        assert!((s1 / s2 - 1.0).abs() < 0.1, "spreads {s1} and {s2}");
    }

    /// Items with one label have no profile: they take their share of the draws and give
    /// alpha nothing.
    #[test]
    fn items_without_a_profile_take_their_share_of_the_draws() {
        let mut labels = vec![("solo", "r1", "a"), ("solo2", "r1", "b")];
        labels.extend([
            ("x", "r1", "a"),
            ("x", "r2", "a"),
            ("y", "r1", "a"),
            ("y", "r2", "b"),
        ]);
        let data = Dataset::from_labels(labels).expect("dataset");
        let profiles = UnitProfiles::of_dataset(&data);
        assert_eq!(profiles.sizes, vec![1, 1]);
        let draws = 4_000;
        let drawn: u64 = (0..draws)
            .map(|draw| {
                let times = profiles.resampled_times(4, &mut draw_rng(9, draw));
                let drawn: u32 = times.iter().sum();
                assert!(drawn <= 4);
                u64::from(drawn)
            })
            .sum();
        // Half of the four items have a profile, so on average two of four draws land on one.
        let mean = drawn as f64 / draws as f64;
        assert!((mean - 2.0).abs() < 0.1, "{mean}");
    }

    #[test]
    fn zero_draws_explain_themselves() {
        assert!(percentile_interval(Vec::new()).is_err());
        assert!(percentile_interval(vec![None, None, Some(1.0)]).is_err());
    }
}
