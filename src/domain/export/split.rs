//! A deterministic train / validation / test split, stratified by each item's consensus.
//!
//! Items arrive in id order and are assigned one at a time, so the split streams. Within
//! each stratum (a consensus value; items without one form their own) every split keeps a
//! deficit: its share of the items seen so far minus the items it holds. An item goes to a
//! split with a positive deficit, drawn with weights equal to the deficits from a hash of
//! the seed and the item id. Each stratum thus matches the shares within about one item at
//! every point, while which item lands where is decided by the seed.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::options::SplitShares;

pub const SPLIT_NAMES: [&str; 3] = ["train", "validation", "test"];

#[derive(Debug, Default, Clone)]
struct Stratum {
    seen: u64,
    held: [u64; 3],
}

/// Assigns items to splits; the same seed and items give the same assignment.
#[derive(Debug, Clone)]
pub struct Splitter {
    shares: [f64; 3],
    seed: u64,
    strata: HashMap<String, Stratum>,
}

impl Splitter {
    pub fn new(split: &SplitShares) -> Self {
        Splitter {
            shares: [split.train, split.validation, split.test],
            seed: split.seed,
            strata: HashMap::new(),
        }
    }

    /// The split of one item, given its stratum (its consensus as text; empty for none).
    pub fn assign(&mut self, item_id: i64, stratum: &str) -> &'static str {
        let unit = unit_draw(self.seed, item_id);
        let shares = self.shares;
        let entry = self.strata.entry(stratum.to_string()).or_default();
        entry.seen += 1;
        let deficits: Vec<f64> = (0..3)
            .map(|k| (shares[k] * entry.seen as f64 - entry.held[k] as f64).max(0.0))
            .collect();
        let total: f64 = deficits.iter().sum();
        let mut chosen = 0;
        if total > 0.0 {
            let mut point = unit * total;
            chosen = (0..3).rev().find(|&k| deficits[k] > 0.0).unwrap_or(0);
            for (k, deficit) in deficits.iter().enumerate() {
                if *deficit > 0.0 && point < *deficit {
                    chosen = k;
                    break;
                }
                point -= deficit;
            }
        }
        entry.held[chosen] += 1;
        SPLIT_NAMES[chosen]
    }
}

/// A number in [0, 1) from the seed and the item id, the same on every platform.
fn unit_draw(seed: u64, item_id: i64) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(seed.to_le_bytes());
    hasher.update(item_id.to_le_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(seed: u64) -> SplitShares {
        SplitShares {
            train: 0.8,
            validation: 0.1,
            test: 0.1,
            seed,
        }
    }

    fn assign_all(seed: u64, strata: &[&str]) -> Vec<&'static str> {
        let mut splitter = Splitter::new(&shares(seed));
        strata
            .iter()
            .enumerate()
            .map(|(i, s)| splitter.assign(i as i64 + 1, s))
            .collect()
    }

    #[test]
    fn every_stratum_matches_the_shares_within_one_item() {
        // A skewed label: 900 of one, 100 of the other, interleaved.
        let strata: Vec<&str> = (0..1000)
            .map(|i| if i % 10 == 3 { "rare" } else { "common" })
            .collect();
        let splits = assign_all(42, &strata);
        for (stratum, size) in [("rare", 100.0), ("common", 900.0)] {
            for (name, share) in [("train", 0.8), ("validation", 0.1), ("test", 0.1)] {
                let held = strata
                    .iter()
                    .zip(&splits)
                    .filter(|(s, split)| **s == stratum && **split == name)
                    .count() as f64;
                assert!(
                    (held - share * size).abs() <= 1.0,
                    "{stratum} {name}: {held} of {size}"
                );
            }
        }
    }

    #[test]
    fn the_same_seed_repeats_and_another_seed_differs() {
        let strata = vec!["a"; 200];
        assert_eq!(assign_all(1, &strata), assign_all(1, &strata));
        assert_ne!(assign_all(1, &strata), assign_all(2, &strata));
    }

    #[test]
    fn draws_are_units() {
        for id in 0..1000 {
            let u = unit_draw(9, id);
            assert!((0.0..1.0).contains(&u));
        }
    }
}
