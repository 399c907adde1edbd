//! The demo's items, made from phrase lists so that every item has a known true answer
//! that the simulated raters can be right or wrong about.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const PRODUCTS: [&str; 16] = [
    "kettle",
    "headphones",
    "backpack",
    "desk lamp",
    "blender",
    "phone case",
    "office chair",
    "rain jacket",
    "coffee grinder",
    "keyboard",
    "water bottle",
    "air fryer",
    "monitor stand",
    "running shoes",
    "toaster",
    "e-reader",
];

const POSITIVE: [&str; 12] = [
    "Works exactly as described and arrived a day early.",
    "So comfortable I forget it is there. Worth every penny.",
    "Sturdy, quiet and easy to clean. I bought a second one for my parents.",
    "Setup took two minutes and it has not missed a beat since.",
    "Better than the one I had for twice the price.",
    "Lovely finish, and the battery lasts all weekend.",
    "Customer service replaced a missing part within a day. Great product too.",
    "My favourite purchase this year, hands down.",
    "Solid build; it survived a fall down the stairs without a scratch.",
    "Does one thing and does it very well.",
    "Bright, simple and exactly the size I needed.",
    "Five stars: fast, reliable and it looks good on the shelf.",
];

const NEGATIVE: [&str; 12] = [
    "Stopped working after three weeks and support never answered.",
    "The colour is nothing like the photo and the seams are already fraying.",
    "Loud, flimsy and the lid does not close properly.",
    "Arrived broken and the return label did not work.",
    "The instructions were useless and two screws were missing.",
    "It overheats after ten minutes. Returned it.",
    "Cheap plastic that cracked the first time I used it.",
    "Battery dies by lunchtime. Very disappointed.",
    "Smells of chemicals even after a week of airing out.",
    "Stopped charging on day two; the replacement did the same.",
    "Uncomfortable from the first minute, and it squeaks.",
    "A waste of money: it never worked as advertised.",
];

const NEUTRAL: [&str; 10] = [
    "Arrived on Tuesday as promised. Have not opened it yet.",
    "It is the size stated in the listing. Colour as shown.",
    "Bought it as a gift, so I cannot say how it works.",
    "It does the job. Nothing special, nothing wrong.",
    "Comes in a cardboard box with a manual in four languages.",
    "Same as the model I had before; no changes I can see.",
    "Delivered to the neighbour, but it got here.",
    "Average. Fine for the price, I suppose.",
    "Heavier than I expected, lighter than my old one.",
    "Works with the adapter that came with it.",
];

/// Mixed reviews: praise and complaints balance, so careful raters disagree more often.
const MIXED: [&str; 8] = [
    "Great sound, but the ear cushions started peeling after a month.",
    "Powerful and fast, though louder than I would like for early mornings.",
    "Looks beautiful; sadly the handle gets hot. I still use it daily.",
    "Battery is superb, the app is a mess.",
    "Comfortable, but the sizing runs small, so order one up.",
    "Cheap and cheerful: works, feels cheap.",
    "The first one broke, the replacement has been perfect.",
    "Does what it says; the packaging was excessive.",
];

/// A generated item: its external id, its data, its true answer, and whether it is hard.
pub struct Generated {
    pub external_id: String,
    pub data: serde_json::Value,
    pub truth: serde_json::Value,
    pub hard: bool,
}

pub const SENTIMENTS: [&str; 3] = ["positive", "negative", "neutral"];

/// Product reviews with their true sentiment; mixed ones count as neutral and are hard.
pub fn reviews(count: usize, rng: &mut ChaCha8Rng) -> Vec<Generated> {
    (0..count)
        .map(|i| {
            let product = PRODUCTS[i % PRODUCTS.len()];
            let roll: f64 = rng.gen();
            let (phrase, truth, hard) = if roll < 0.36 {
                (pick(&POSITIVE, rng), "positive", false)
            } else if roll < 0.68 {
                (pick(&NEGATIVE, rng), "negative", false)
            } else if roll < 0.88 {
                (pick(&NEUTRAL, rng), "neutral", false)
            } else {
                (pick(&MIXED, rng), "neutral", true)
            };
            let region = ["EU", "US", "APAC"][rng.gen_range(0..3)];
            Generated {
                external_id: format!("review-{:04}", i + 1),
                data: serde_json::json!({
                    "text": format!("{}: {phrase}", capitalise(product)),
                    "product": product,
                    "region": region,
                    "customer_email": format!("customer{}@example.invalid", i + 1),
                }),
                truth: truth.into(),
                hard,
            }
        })
        .collect()
}

pub const TRIAGE: [&str; 3] = ["self-care", "see a doctor", "urgent"];

const SELF_CARE: [&str; 8] = [
    "I have had a mild headache since this morning after a late night.",
    "My nose has been blocked for two days, no fever.",
    "I bruised my shin on a table yesterday; it is a bit tender.",
    "Can I take ibuprofen for a sore back after gardening?",
    "I got a small paper cut that stings a little.",
    "My lips are chapped from the cold weather.",
    "Slight sore throat, no other symptoms, drinking lots of tea.",
    "I feel a little tired after a long week of travel.",
];
const SEE_DOCTOR: [&str; 8] = [
    "A cough that has lasted three weeks and will not go away.",
    "A mole on my back has changed shape over the last months.",
    "Burning when I pee since four days, and it is getting worse.",
    "My child's ear has hurt for three days and there is a mild fever.",
    "I keep waking up at night needing to urinate and I am always thirsty.",
    "A rash that spreads slowly and itches, for a week now.",
    "Knee swollen for ten days after a run, still painful on stairs.",
    "I lost five kilos in two months without trying.",
];
const URGENT: [&str; 8] = [
    "Crushing chest pain spreading to my left arm, and I am sweating.",
    "My father's face is drooping on one side and his speech is slurred.",
    "Severe allergic reaction: my lips and tongue are swelling.",
    "I cut my hand deeply and it will not stop bleeding after twenty minutes.",
    "Sudden worst headache of my life with a stiff neck.",
    "My toddler swallowed several of my blood pressure tablets.",
    "Short of breath at rest and my lips look blue.",
    "Vomiting blood since an hour ago.",
];
/// Messages that read as one thing and are another: generalists split on these.
const TRICKY: [(&str, &str); 6] = [
    ("Heartburn after dinner again, a bit of pressure in the chest, and I am out of breath on the stairs.", "urgent"),
    ("My period is two weeks late and I have had some cramps.", "see a doctor"),
    ("I hit my head yesterday, felt fine, but today I threw up twice.", "urgent"),
    ("A tick bit me last week and now there is a ring-shaped red patch.", "see a doctor"),
    ("Stomach ache low on the right that got worse overnight, and a fever.", "urgent"),
    ("I feel down most days lately and I do not enjoy things any more.", "see a doctor"),
];

/// Health questions with the triage they need; tricky ones are hard for generalists.
pub fn triage(count: usize, rng: &mut ChaCha8Rng) -> Vec<Generated> {
    (0..count)
        .map(|i| {
            let roll: f64 = rng.gen();
            let (text, truth, hard) = if roll < 0.3 {
                (pick(&SELF_CARE, rng), "self-care", false)
            } else if roll < 0.6 {
                (pick(&SEE_DOCTOR, rng), "see a doctor", false)
            } else if roll < 0.8 {
                (pick(&URGENT, rng), "urgent", false)
            } else {
                let (text, truth) = TRICKY[rng.gen_range(0..TRICKY.len())];
                (text, truth, true)
            };
            let channel = ["app", "web", "phone"][rng.gen_range(0..3)];
            Generated {
                external_id: format!("question-{:04}", i + 1),
                data: serde_json::json!({ "text": text, "channel": channel }),
                truth: truth.into(),
                hard,
            }
        })
        .collect()
}

const QUERIES: [&str; 10] = [
    "how long to boil an egg",
    "reset router password",
    "best time to plant tulips",
    "convert 5 miles to km",
    "why is my bread dense",
    "train times london to oxford",
    "how to remove red wine stain",
    "what is a roth ira",
    "symptoms of low iron",
    "how to tie a bowline knot",
];

const ANSWERS: [(&str, i64); 10] = [
    ("A complete, correct answer with the steps and a source.", 5),
    ("A correct answer in one line, no detail.", 4),
    ("A mostly right answer that skips one important step.", 3),
    (
        "A long page about something nearby that mentions the question once.",
        2,
    ),
    ("An advert for an unrelated product.", 1),
    ("A forum thread where the last post has the answer.", 3),
    ("A correct answer, but for a different country's rules.", 2),
    ("A clear how-to video transcript that answers it fully.", 5),
    (
        "A page that asks you to sign up before showing anything.",
        1,
    ),
    ("A short, correct answer with a helpful diagram.", 4),
];

/// Search answers rated 1 to 5 for helpfulness.
pub fn answers(count: usize, rng: &mut ChaCha8Rng) -> Vec<Generated> {
    (0..count)
        .map(|i| {
            let query = QUERIES[i % QUERIES.len()];
            let (answer, truth) = ANSWERS[rng.gen_range(0..ANSWERS.len())];
            Generated {
                external_id: format!("answer-{:04}", i + 1),
                data: serde_json::json!({ "text": answer, "query": query }),
                truth: truth.into(),
                hard: false,
            }
        })
        .collect()
}

fn pick<'a>(phrases: &[&'a str], rng: &mut ChaCha8Rng) -> &'a str {
    phrases.choose(rng).copied().unwrap_or_default()
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
