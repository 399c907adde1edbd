//! Krippendorff's alpha through the coincidence matrix, at any level of measurement, for any
//! number of raters and missing labels (Krippendorff 2011, "Computing Krippendorff's
//! Alpha-Reliability").

use rand::Rng;

use super::bootstrap::group_times;
use super::dataset::{count_values, Categories, Dataset, Level};
use super::figure::Figure;

/// The k x k coincidence matrix: `o[c][d]` counts ordered pairs of values (c, d) within
/// units, each unit's pairs weighted by `1 / (m_u - 1)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Coincidence {
    pub k: usize,
    pub cells: Vec<f64>,
}

impl Coincidence {
    pub(crate) fn new(k: usize) -> Self {
        Coincidence {
            k,
            cells: vec![0.0; k * k],
        }
    }

    /// The matrix of a whole dataset (units with one label contribute nothing).
    pub(crate) fn of_dataset(data: &Dataset) -> Self {
        let mut matrix = Coincidence::new(data.categories().len());
        let mut counts = Vec::new();
        for item in 0..data.item_count() {
            data.item_value_counts(item, &mut counts);
            matrix.add_unit(&counts);
        }
        matrix
    }

    /// Adds one unit's pairs, given its value counts.
    fn add_unit(&mut self, counts: &[(u32, u32)]) {
        for (cell, value) in unit_cells(counts, self.k) {
            self.cells[cell as usize] += value;
        }
    }

    /// Row sums `n_c`: how many pairable values are category c.
    pub(crate) fn marginals(&self) -> Vec<f64> {
        self.cells
            .chunks(self.k.max(1))
            .map(|row| row.iter().sum())
            .collect()
    }

    /// The value of cell (c, d).
    pub(crate) fn get(&self, c: usize, d: usize) -> f64 {
        self.cells[c * self.k + d]
    }
}

/// One unit's nonzero coincidence cells as `(c * k + d, value)`, from its value counts.
pub(crate) fn unit_cells(counts: &[(u32, u32)], k: usize) -> Vec<(u32, f64)> {
    let m: u32 = counts.iter().map(|&(_, n)| n).sum();
    if m < 2 {
        return Vec::new();
    }
    let scale = 1.0 / f64::from(m - 1);
    let mut cells = Vec::with_capacity(counts.len() * counts.len());
    for &(c, nc) in counts {
        for &(d, nd) in counts {
            let pairs = if c == d { nc * (nc - 1) } else { nc * nd };
            if pairs > 0 {
                cells.push((
                    (c as usize * k + d as usize) as u32,
                    f64::from(pairs) * scale,
                ));
            }
        }
    }
    cells
}

/// The distance `delta(c, d)` between every pair of categories, as a k x k matrix.
/// The ordinal metric depends on the marginals; the others only on the scale values.
pub(crate) fn distances(level: Level, scale: &[f64], marginals: &[f64]) -> Vec<f64> {
    let k = marginals.len();
    let mut delta = vec![0.0; k * k];
    for c in 0..k {
        for d in 0..k {
            delta[c * k + d] = match level {
                Level::Nominal => f64::from(u8::from(c != d)),
                Level::Ordinal => ordinal_distance(c, d, marginals),
                Level::Interval => (scale[c] - scale[d]).powi(2),
                Level::Ratio => ratio_distance(scale[c], scale[d]),
            };
        }
    }
    delta
}

fn ordinal_distance(c: usize, d: usize, marginals: &[f64]) -> f64 {
    let (low, high) = if c <= d { (c, d) } else { (d, c) };
    let between: f64 = marginals[low..=high].iter().sum();
    (between - (marginals[c] + marginals[d]) / 2.0).powi(2)
}

fn ratio_distance(a: f64, b: f64) -> f64 {
    let sum = a + b;
    if sum == 0.0 {
        0.0
    } else {
        ((a - b) / sum).powi(2)
    }
}

/// Alpha from a coincidence matrix: `1 - (n - 1) * sum(o * delta) / sum(n_c * n_d * delta)`.
pub(crate) fn alpha_from(matrix: &Coincidence, level: Level, scale: &[f64]) -> Figure {
    let marginals = matrix.marginals();
    let n: f64 = marginals.iter().sum();
    if n < 2.0 {
        return Err("no item has two or more labels, so there are no pairable values".to_string());
    }
    let delta = distances(level, scale, &marginals);
    let k = matrix.k;
    let mut observed = 0.0;
    let mut expected = 0.0;
    for c in 0..k {
        for d in 0..k {
            let distance = delta[c * k + d];
            observed += matrix.cells[c * k + d] * distance;
            expected += marginals[c] * marginals[d] * distance;
        }
    }
    if expected <= 0.0 {
        return Err(
            "all pairable values are equivalent, so expected disagreement is zero".to_string(),
        );
    }
    super::figure::finite(1.0 - (n - 1.0) * observed / expected, "alpha")
}

/// Krippendorff's alpha of a dataset at a level of measurement.
pub fn krippendorff_alpha(data: &Dataset, level: Level) -> Result<f64, String> {
    let scale = data.categories().scale_values(level);
    alpha_from(&Coincidence::of_dataset(data), level, &scale)
}

/// Krippendorff's alpha gathered unit by unit, for labels already held as category
/// indices: no [`Dataset`] of names is built.
#[derive(Debug, Clone)]
pub struct AlphaUnits {
    matrix: Coincidence,
    /// One unit's value counts, kept to be filled again.
    counts: Vec<(u32, u32)>,
}

impl AlphaUnits {
    /// No units yet, over `categories` categories.
    pub fn new(categories: usize) -> Self {
        AlphaUnits {
            matrix: Coincidence::new(categories),
            counts: Vec::new(),
        }
    }

    /// One unit's values as category indices, one per rater. A unit with fewer than two
    /// values adds nothing.
    pub fn add(&mut self, values: impl IntoIterator<Item = u32>) {
        count_values(values, &mut self.counts);
        self.matrix.add_unit(&self.counts);
    }

    /// Alpha over the units added, at `level`, the categories in scale order.
    pub fn alpha(&self, categories: &Categories, level: Level) -> Result<f64, String> {
        alpha_from(&self.matrix, level, &categories.scale_values(level))
    }
}

/// Items grouped by identical value counts, so a bootstrap resample only counts how often
/// each profile was drawn and then adds each profile's coincidence cells once.
#[derive(Debug, Clone, Default)]
pub(crate) struct UnitProfiles {
    /// Nonzero coincidence cells of each profile.
    pub cells: Vec<Vec<(u32, f64)>>,
    /// How many items have each profile.
    pub sizes: Vec<u64>,
    /// Profile of each item; [`UnitProfiles::NONE`] for items with fewer than two labels,
    /// which contribute nothing to alpha.
    pub item_profile: Vec<u32>,
}

impl UnitProfiles {
    pub(crate) const NONE: u32 = u32::MAX;

    pub(crate) fn of_dataset(data: &Dataset) -> Self {
        let k = data.categories().len();
        let mut profiles = UnitProfiles::default();
        // Most items repeat a profile seen before: it is looked up before it is copied.
        let mut seen: foldhash::HashMap<Vec<(u32, u32)>, u32> = Default::default();
        let mut counts = Vec::new();
        for item in 0..data.item_count() {
            if data.item_labels(item).len() < 2 {
                profiles.item_profile.push(Self::NONE);
                continue;
            }
            data.item_value_counts(item, &mut counts);
            let profile = match seen.get(&counts) {
                Some(&profile) => profile,
                None => {
                    let next = seen.len() as u32;
                    seen.insert(counts.clone(), next);
                    profiles.cells.push(unit_cells(&counts, k));
                    profiles.sizes.push(0);
                    next
                }
            };
            profiles.sizes[profile as usize] += 1;
            profiles.item_profile.push(profile);
        }
        profiles
    }

    /// The coincidence matrix of a resample in which item `i` was drawn `weights[i]` times:
    /// what drawing the items one by one gives, against which the profile counts are tested.
    #[cfg(test)]
    pub(crate) fn coincidence(&self, k: usize, weights: &[u32]) -> Coincidence {
        let mut times = vec![0u32; self.cells.len()];
        for (&profile, &weight) in self.item_profile.iter().zip(weights) {
            if profile != Self::NONE {
                times[profile as usize] += weight;
            }
        }
        self.coincidence_of_times(k, &times)
    }

    /// The coincidence matrix of a resample in which profile `p` came up `times[p]` times.
    pub(crate) fn coincidence_of_times(&self, k: usize, times: &[u32]) -> Coincidence {
        let mut matrix = Coincidence::new(k);
        for (cells, &times) in self.cells.iter().zip(times) {
            if times == 0 {
                continue;
            }
            let weight = f64::from(times);
            for &(cell, value) in cells {
                matrix.cells[cell as usize] += weight * value;
            }
        }
        matrix
    }

    /// How often each profile comes up when all `items` items are drawn again with
    /// replacement (see [`group_times`]): one random draw per profile instead of one per
    /// item, with the same distribution as drawing the items themselves.
    pub(crate) fn resampled_times<R: Rng>(&self, items: usize, rng: &mut R) -> Vec<u32> {
        group_times(items as u64, self.sizes.iter().copied(), rng)
            .map(|times| u32::try_from(times).unwrap_or(u32::MAX))
            .collect()
    }
}

#[cfg(test)]
mod tests;
