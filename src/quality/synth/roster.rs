//! Simulated projects with planted rater faults, for checking that the report ranks and
//! flags raters the way their true accuracy says: spammers who over-use one label and answer
//! fast, careless raters, lenient raters who lean one step up the scale, careful raters and
//! an expert. Unlike [`super::generate`], the truth and each rater's real accuracy come back
//! with the dataset.

use rand::distributions::{Distribution, Uniform, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::quality::{Categories, Dataset, DatasetBuilder, LabelInput};

/// How a simulated rater answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// Right with probability `accuracy`, else a uniformly chosen wrong class; 3-10 s.
    Expert { accuracy: f64 },
    /// Right with probability `accuracy`, else a uniformly chosen wrong class; 2-8 s.
    Careful { accuracy: f64 },
    /// Like careful but with a low accuracy and quicker (1-4 s).
    Careless { accuracy: f64 },
    /// Like careful, then moves a share `lean` of answers one class up the scale.
    Lenient { accuracy: f64, lean: f64 },
    /// Says `favourite` with probability `share`, else a uniformly random class; 0.2-0.6 s.
    Spammer { favourite: usize, share: f64 },
}

impl Behaviour {
    /// Experts and careful raters: the ones a report must never rank below a spammer.
    pub fn is_careful(self) -> bool {
        matches!(self, Behaviour::Expert { .. } | Behaviour::Careful { .. })
    }

    /// True for spammers.
    pub fn is_spammer(self) -> bool {
        matches!(self, Behaviour::Spammer { .. })
    }

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Expert { .. } => "expert",
            Behaviour::Careful { .. } => "careful",
            Behaviour::Careless { .. } => "careless",
            Behaviour::Lenient { .. } => "lenient",
            Behaviour::Spammer { .. } => "spammer",
        }
    }
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub items: usize,
    /// Distinct raters per item (capped at the number of raters).
    pub overlap: usize,
    /// Class priors; the number of classes is their length. Class 0 is the most common in
    /// [`Project::planted`].
    pub priors: Vec<f64>,
    pub raters: Vec<Behaviour>,
    pub seed: u64,
}

impl Project {
    /// Ten raters over four classes with skewed priors (0.45, 0.25, 0.18, 0.12): an expert
    /// (0.95), five careful raters (0.75 to 0.90), a careless one (0.45), a lenient one
    /// (0.85, leaning up on 40% of answers) and two spammers who say the most common class on
    /// 80% of items.
    pub fn planted(items: usize, overlap: usize, seed: u64) -> Self {
        let mut raters = vec![Behaviour::Expert { accuracy: 0.95 }];
        raters
            .extend([0.75, 0.78, 0.82, 0.86, 0.90].map(|accuracy| Behaviour::Careful { accuracy }));
        raters.push(Behaviour::Careless { accuracy: 0.45 });
        raters.push(Behaviour::Lenient {
            accuracy: 0.85,
            lean: 0.4,
        });
        raters.extend([0, 0].map(|favourite| Behaviour::Spammer {
            favourite,
            share: 0.8,
        }));
        Project {
            items,
            overlap,
            priors: vec![0.45, 0.25, 0.18, 0.12],
            raters,
            seed,
        }
    }

    /// The small project of the report's issue: two careful raters (0.85, 0.9) and one
    /// spammer over-using the most common of four classes.
    pub fn two_careful_one_spammer(items: usize, overlap: usize, seed: u64) -> Self {
        Project {
            raters: vec![
                Behaviour::Careful { accuracy: 0.85 },
                Behaviour::Careful { accuracy: 0.9 },
                Behaviour::Spammer {
                    favourite: 0,
                    share: 0.8,
                },
            ],
            ..Project::planted(items, overlap, seed)
        }
    }
}

/// A simulated dataset with what is really true about it.
#[derive(Debug)]
pub struct Simulation {
    pub data: Dataset,
    /// True class of each item, by dataset item index.
    pub truth: Vec<u32>,
    /// Each rater's behaviour, by dataset rater index.
    pub behaviour: Vec<Behaviour>,
    /// Each rater's share of labels equal to the truth, by dataset rater index.
    pub accuracy: Vec<f64>,
}

/// Simulate a project. The same project always gives the same simulation.
pub fn simulate(project: &Project) -> Simulation {
    let classes = project.priors.len().max(1);
    let raters = project.raters.len();
    let overlap = project.overlap.min(raters);
    let mut rng = ChaCha8Rng::seed_from_u64(project.seed);
    let truth_dist = WeightedIndex::new(&project.priors).ok();
    let class_names: Vec<String> = (0..classes).map(|c| c.to_string()).collect();
    let rater_names: Vec<String> = (0..raters).map(|r| format!("r{r:03}")).collect();
    let mut builder = DatasetBuilder::new();
    if let Ok(categories) = Categories::ordered(class_names.clone()) {
        builder.categories(categories);
    }
    let pick_rater = Uniform::new(0, raters.max(1));
    let mut truth_by_item = Vec::with_capacity(project.items);
    let mut chosen = Vec::with_capacity(overlap);
    let mut sequence = vec![0i64; raters];
    for item in 0..project.items {
        let name = format!("item-{item:06}");
        let truth = truth_dist.as_ref().map_or(0, |d| d.sample(&mut rng));
        truth_by_item.push((name.clone(), truth as u32));
        chosen.clear();
        while chosen.len() < overlap {
            let rater = pick_rater.sample(&mut rng);
            if !chosen.contains(&rater) {
                chosen.push(rater);
            }
        }
        for &rater in &chosen {
            let (value, duration_ms) = answer(project.raters[rater], truth, classes, &mut rng);
            sequence[rater] += 1;
            builder.add(LabelInput {
                item: &name,
                rater: &rater_names[rater],
                value: &class_names[value],
                duration_ms: Some(duration_ms),
                sequence: Some(sequence[rater]),
            });
        }
    }
    // Every value is a declared category and no field is empty, so building cannot fail.
    let data = builder.build().unwrap_or_default();
    reveal(data, &truth_by_item, &project.raters)
}

/// Attach the truth and the behaviours in the dataset's own item and rater order.
fn reveal(data: Dataset, truth_by_item: &[(String, u32)], behaviours: &[Behaviour]) -> Simulation {
    let by_name: std::collections::HashMap<&str, u32> = truth_by_item
        .iter()
        .map(|(name, truth)| (name.as_str(), *truth))
        .collect();
    let truth: Vec<u32> = data
        .items()
        .iter()
        .map(|name| by_name.get(name.as_str()).copied().unwrap_or(0))
        .collect();
    let behaviour: Vec<Behaviour> = data
        .raters()
        .iter()
        .map(|name| {
            let index: usize = name[1..].parse().unwrap_or(usize::MAX);
            behaviours
                .get(index)
                .copied()
                .unwrap_or(Behaviour::Careless { accuracy: 0.0 })
        })
        .collect();
    let accuracy = (0..data.rater_count())
        .map(|rater| {
            let indexes = data.rater_label_indexes(rater);
            let right = indexes
                .iter()
                .map(|&i| data.labels()[i as usize])
                .filter(|label| truth[label.item as usize] == label.value)
                .count();
            right as f64 / indexes.len().max(1) as f64
        })
        .collect();
    Simulation {
        data,
        truth,
        behaviour,
        accuracy,
    }
}

fn answer(
    behaviour: Behaviour,
    truth: usize,
    classes: usize,
    rng: &mut ChaCha8Rng,
) -> (usize, u32) {
    match behaviour {
        Behaviour::Expert { accuracy } => (
            right_or_wrong(accuracy, truth, classes, rng),
            rng.gen_range(3000..10_000),
        ),
        Behaviour::Careful { accuracy } => (
            right_or_wrong(accuracy, truth, classes, rng),
            rng.gen_range(2000..8000),
        ),
        Behaviour::Careless { accuracy } => (
            right_or_wrong(accuracy, truth, classes, rng),
            rng.gen_range(1000..4000),
        ),
        Behaviour::Lenient { accuracy, lean } => {
            let mut value = right_or_wrong(accuracy, truth, classes, rng);
            if value + 1 < classes && rng.gen_bool(lean) {
                value += 1;
            }
            (value, rng.gen_range(2000..8000))
        }
        Behaviour::Spammer { favourite, share } => {
            let value = if rng.gen_bool(share) {
                favourite.min(classes - 1)
            } else {
                rng.gen_range(0..classes)
            };
            (value, rng.gen_range(200..600))
        }
    }
}

fn right_or_wrong(accuracy: f64, truth: usize, classes: usize, rng: &mut ChaCha8Rng) -> usize {
    if classes < 2 || rng.gen_bool(accuracy.clamp(0.0, 1.0)) {
        return truth;
    }
    let wrong = rng.gen_range(0..classes - 1);
    if wrong >= truth {
        wrong + 1
    } else {
        wrong
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_project_has_its_rater_kinds_and_true_accuracies() {
        let sim = simulate(&Project::planted(2000, 3, 4));
        assert_eq!(sim.data.item_count(), 2000);
        assert_eq!(sim.data.label_count(), 6000);
        assert_eq!(sim.truth.len(), 2000);
        for (rater, behaviour) in sim.behaviour.iter().enumerate() {
            let accuracy = sim.accuracy[rater];
            match behaviour {
                Behaviour::Expert { accuracy: a } | Behaviour::Careful { accuracy: a } => {
                    assert!((accuracy - a).abs() < 0.06, "{behaviour:?}: {accuracy}")
                }
                Behaviour::Spammer { .. } => assert!(accuracy < 0.5, "{accuracy}"),
                Behaviour::Careless { .. } => assert!(accuracy < 0.55, "{accuracy}"),
                Behaviour::Lenient { .. } => assert!(accuracy < 0.8, "{accuracy}"),
            }
        }
        let again = simulate(&Project::planted(2000, 3, 4));
        assert_eq!(sim.data.labels(), again.data.labels());
    }

    #[test]
    fn tiny_projects_do_not_panic() {
        let none = simulate(&Project {
            items: 5,
            overlap: 4,
            priors: vec![1.0],
            raters: vec![Behaviour::Careless { accuracy: 0.3 }],
            seed: 1,
        });
        assert_eq!(none.data.label_count(), 5);
        assert_eq!(simulate(&Project::planted(0, 2, 1)).data.label_count(), 0);
    }
}
