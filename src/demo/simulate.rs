//! Simulated raters who label through the same gate as people do (`next`, then a label or
//! a skip), each with a planted way of being right or wrong, so that the demo's report has
//! something true to find.

use std::collections::HashMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::domain::project::Project;
use crate::domain::user::User;
use crate::error::AppError;
use crate::store::labels::NewLabel;
use crate::store::Store;

/// How a simulated rater answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Right most of the time, slower on hard items.
    Careful,
    /// Right about half the time, fast.
    Careless,
    /// Passes the entry test, then mostly picks the first answer, very fast.
    Spammer,
    /// On a scale, one step above the truth more often than not.
    Lenient,
    /// Fails the qualification questions.
    Unqualified,
    /// A specialist: right almost always, slow.
    Expert,
    /// A product's user rating in passing: near the truth, give or take a step.
    User,
}

/// The answers a project takes.
#[derive(Debug, Clone, Copy)]
pub enum Answers {
    Choices(&'static [&'static str]),
    Scale { min: i64, max: i64 },
}

/// A simulated rater: the account, how they answer, and how many items they take per round.
pub struct SimRater {
    pub user: User,
    pub behaviour: Behaviour,
    pub per_round: usize,
}

/// What the simulation knows about an item: its true answer, whether it is hard, and
/// whether it is a qualification question.
pub struct Truth {
    pub value: Value,
    pub hard: bool,
    pub qualification: bool,
}

/// Lets the raters label in rounds until `budget` labels are given or nobody gets work.
/// Returns the number of labels given.
pub async fn label(
    store: &Store,
    project: &Project,
    raters: &[SimRater],
    truths: &HashMap<String, Truth>,
    answers: Answers,
    budget: usize,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<usize> {
    let mut active = vec![true; raters.len()];
    let mut given = 0;
    while given < budget && active.iter().any(|a| *a) {
        for (index, rater) in raters.iter().enumerate() {
            for _ in 0..rater.per_round {
                if !active[index] || given >= budget {
                    break;
                }
                match one_turn(store, project, rater, truths, answers, rng).await? {
                    Turn::Labelled => given += 1,
                    Turn::Skipped => {}
                    Turn::Finished => active[index] = false,
                }
            }
        }
    }
    Ok(given)
}

enum Turn {
    Labelled,
    Skipped,
    Finished,
}

async fn one_turn(
    store: &Store,
    project: &Project,
    rater: &SimRater,
    truths: &HashMap<String, Truth>,
    answers: Answers,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Turn> {
    // The gold draw comes from the simulation's seeded generator, so the demo is the same
    // on every run (when its spammer's gold record pauses her decides how many labels she
    // leaves, and so whether the report has enough of them to flag her).
    let gold_draw = rng.gen::<f64>();
    let item = match store.next_item_drawn(project, &rater.user, gold_draw).await {
        Ok(Some(item)) => item,
        Ok(None) => return Ok(Turn::Finished),
        // A pause or a failed qualification ends this rater's work, as it would a person's.
        Err(AppError::Forbidden(_) | AppError::Conflict(_)) => return Ok(Turn::Finished),
        Err(e) => return Err(anyhow::anyhow!("{}", e.public_message())),
    };
    let truth = item
        .external_id
        .as_deref()
        .and_then(|id| truths.get(id))
        .ok_or_else(|| anyhow::anyhow!("demo item {} has no known answer", item.id))?;
    if !truth.qualification && rater.behaviour == Behaviour::Careful && rng.gen_bool(0.02) {
        store
            .skip_item(project, item.id, rater.user.id, Some("unsure"))
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
        return Ok(Turn::Skipped);
    }
    let label = NewLabel {
        item_id: item.id,
        rater_id: rater.user.id,
        value: answer(rater.behaviour, truth, answers, rng),
        duration_ms: Some(duration_ms(rater.behaviour, truth.hard, rng)),
        comment: None,
    };
    match store.submit_label(project, &label).await {
        Ok(outcome) if outcome.paused.is_some() => Ok(Turn::Finished),
        Ok(_) => Ok(Turn::Labelled),
        Err(AppError::Forbidden(_) | AppError::Conflict(_)) => Ok(Turn::Finished),
        Err(e) => Err(anyhow::anyhow!("{}", e.public_message())),
    }
}

/// The answer a rater of this behaviour gives on an item.
fn answer(behaviour: Behaviour, truth: &Truth, answers: Answers, rng: &mut ChaCha8Rng) -> Value {
    let right = match (behaviour, truth.qualification) {
        (Behaviour::Unqualified, true) => 0.2,
        // Everyone else tries hard on the entry test.
        (_, true) => 0.97,
        (Behaviour::Careful | Behaviour::Lenient | Behaviour::Unqualified, false) => {
            if truth.hard {
                0.65
            } else {
                0.92
            }
        }
        (Behaviour::Careless, false) => 0.62,
        (Behaviour::Spammer, false) => 0.0,
        (Behaviour::Expert, false) => {
            if truth.hard {
                0.92
            } else {
                0.98
            }
        }
        (Behaviour::User, false) => 0.6,
    };
    if behaviour == Behaviour::Spammer && !truth.qualification {
        return spam(answers, rng);
    }
    match answers {
        Answers::Choices(labels) => {
            if rng.gen_bool(right) {
                truth.value.clone()
            } else {
                let others: Vec<&&str> = labels
                    .iter()
                    .filter(|l| truth.value.as_str() != Some(**l))
                    .collect();
                let pick = others[rng.gen_range(0..others.len())];
                Value::from(*pick)
            }
        }
        Answers::Scale { min, max } => {
            let true_value = truth.value.as_i64().unwrap_or(min);
            let shift = if behaviour == Behaviour::Lenient && rng.gen_bool(0.7) {
                1
            } else if rng.gen_bool(right) {
                0
            } else if rng.gen_bool(0.5) {
                1
            } else {
                -1
            };
            Value::from((true_value + shift).clamp(min, max))
        }
    }
}

/// A spammer's answer: the first choice (or the top of the scale) four times in five.
fn spam(answers: Answers, rng: &mut ChaCha8Rng) -> Value {
    match answers {
        Answers::Choices(labels) => {
            let index = if rng.gen_bool(0.8) {
                0
            } else {
                rng.gen_range(0..labels.len())
            };
            Value::from(labels[index])
        }
        Answers::Scale { min, max } => {
            if rng.gen_bool(0.8) {
                Value::from(max)
            } else {
                Value::from(rng.gen_range(min..=max))
            }
        }
    }
}

fn duration_ms(behaviour: Behaviour, hard: bool, rng: &mut ChaCha8Rng) -> i64 {
    let (low, high) = match behaviour {
        Behaviour::Careful | Behaviour::Unqualified => (3_500, 9_000),
        Behaviour::Careless => (1_200, 2_500),
        Behaviour::Spammer => (350, 650),
        Behaviour::Lenient => (2_500, 6_000),
        Behaviour::Expert => (7_000, 15_000),
        Behaviour::User => (2_000, 5_000),
    };
    let base = rng.gen_range(low..high);
    if hard {
        base + base / 2
    } else {
        base
    }
}
