//! `tally demo`: a ready-to-try database with an admin, three raters and a project of
//! short product reviews to label positive / negative / neutral.

use std::net::SocketAddr;

use serde_json::{json, Map, Value};

use crate::domain::import::NewItem;
use crate::domain::project::NewProject;
use crate::domain::user::Role;
use crate::store::Store;

pub const DEMO_DATABASE_URL: &str = "sqlite://tally-demo.db";
const DEMO_PROJECT: &str = "Product review sentiment";
const ADMIN: &str = "admin";
const RATERS: [&str; 3] = ["alice", "bob", "carol"];

/// Reviews written for the demo; a few are mixed or lukewarm so raters disagree.
const REVIEWS: [&str; 60] = [
    "The kettle boils in under two minutes and switches itself off. Exactly what I wanted.",
    "Stopped charging after three weeks. Support never answered my emails.",
    "It does the job. Nothing special, nothing wrong.",
    "These headphones are so comfortable I forget I'm wearing them.",
    "The zipper broke the first time I used the bag.",
    "Arrived on Tuesday as promised. Haven't opened it yet.",
    "Battery lasts all weekend on a single charge. Impressive.",
    "The colour is nothing like the photo; it's a muddy brown.",
    "Fits my desk. The assembly instructions were fine.",
    "Best pizza stone I've owned: crisp bases every time.",
    "Smells strongly of plastic even after a week of airing out.",
    "Comes in a cardboard box with a manual in four languages.",
    "My kids love this board game; we play it every Friday.",
    "The blender is louder than a jet engine and leaks at the base.",
    "Average sound quality for the price.",
    "Beautifully made wallet, stitched by hand and it shows.",
    "The app keeps logging me out and forgets my settings.",
    "Bought it as a gift. The recipient said thanks.",
    "Sharp knives that stay sharp. I cook more since I got them.",
    "Screws were missing and the shelf wobbles.",
    "The lamp is bright enough for reading, dim enough for evenings.",
    "Returned it. The size chart was wrong by two sizes.",
    "It's a phone case. It holds the phone.",
    "Great value: half the price of the brand name and just as good.",
    "Broke within a month, and the warranty process is a maze.",
    "The fabric is soft but it shrank a little in the wash.",
    "Lovely scent, lasts all day without being overpowering.",
    "Customer service replaced the faulty part within two days. Impressed.",
    "The printer eats paper and jams on every other page.",
    "Delivery took eleven days instead of three.",
    "Works with my laptop out of the box; no drivers needed.",
    "The handle gets too hot to touch while cooking.",
    "I expected more from a product with so many good reviews.",
    "Perfect fit, warm, and the hood stays up in the wind.",
    "Cheap materials; the paint flaked off in a week.",
    "It's fine for occasional use, I wouldn't rely on it daily.",
    "The camera takes stunning photos even in low light.",
    "Way too small. The listing should show dimensions.",
    "Came with two extra filters, which was a nice surprise.",
    "The vacuum picks up pet hair better than our old one.",
    "Instructions only in Japanese; had to guess the setup.",
    "Neither better nor worse than the one it replaced.",
    "Super fast shipping and very well packed.",
    "Stopped working after the first firmware update.",
    "The chair is comfortable for an hour, then my back hurts.",
    "Tastes great, though the packaging is hard to open.",
    "A total waste of money.",
    "Quiet, efficient, and the filter is easy to clean.",
    "The strap is a bit stiff at first but softens with wear.",
    "Exactly as described. Would buy again.",
    "The remote stopped pairing with the TV after a week.",
    "It's okay. My old one was better, but this one is cheaper.",
    "Our plants are thriving since we switched to this soil.",
    "Charger gets worryingly hot while in use.",
    "The book arrived with a torn cover but the pages are fine.",
    "Set up in five minutes and it has run flawlessly since.",
    "Sent the wrong colour twice. Gave up and got a refund.",
    "Sturdy enough for camping, light enough to carry all day.",
    "The mattress sagged in the middle after two months.",
    "Packaging says recyclable; the product itself is unremarkable.",
];

/// A name and password to print for the person trying the demo.
pub struct Login {
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// Creates the demo users and project where missing, and gives every demo user a fresh
/// password (only hashes are stored, so a reused database cannot show the old ones).
pub async fn prepare(store: &Store) -> anyhow::Result<Vec<Login>> {
    let mut logins = Vec::new();
    let mut admin_id = None;
    for (name, role) in
        std::iter::once((ADMIN, Role::Admin)).chain(RATERS.iter().map(|r| (*r, Role::Rater)))
    {
        let password = crate::auth::generate_password();
        let hash = crate::auth::hash_password_bounded(password.clone()).await?;
        let user = match store.user_by_name(name).await.map_err(public)? {
            Some(user) => {
                store
                    .set_password_hash(user.id, &hash)
                    .await
                    .map_err(public)?;
                user
            }
            None => store
                .create_user(name, role, Some(&hash))
                .await
                .map_err(public)?,
        };
        if role == Role::Admin {
            admin_id = Some(user.id);
        }
        logins.push(Login {
            name: name.to_string(),
            role,
            password,
        });
    }
    let projects = store.projects().await.map_err(public)?;
    if !projects.iter().any(|p| p.name == DEMO_PROJECT) {
        create_demo_project(store, admin_id.unwrap_or_default()).await?;
    }
    Ok(logins)
}

fn public(e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.public_message())
}

async fn create_demo_project(store: &Store, admin_id: i64) -> anyhow::Result<()> {
    let spec = NewProject::simple(
        DEMO_PROJECT,
        &["positive", "negative", "neutral"],
        3,
        "Read the review and pick the customer's overall sentiment. \
            A review that only states facts, or balances praise and complaints, is neutral. \
            Keys 1-3 pick a label; s skips.",
    )
    .validate()?;
    let project = store
        .create_project(&spec, admin_id)
        .await
        .map_err(public)?;
    let items: Vec<NewItem> = REVIEWS
        .iter()
        .enumerate()
        .map(|(i, text)| NewItem {
            external_id: Some(format!("review-{:03}", i + 1)),
            data: review_data(text),
            gold: None,
            prediction: None,
            from_csv: false,
            priority: None,
            qualification: false,
            explanation: None,
            line: i + 1,
        })
        .collect();
    store.import_items(&project, &items).await.map_err(public)?;
    Ok(())
}

fn review_data(text: &str) -> Map<String, Value> {
    match json!({ "text": text }) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub fn print_welcome(bind: &SocketAddr, logins: &[Login]) {
    println!("tally demo: open http://{bind}/ and sign in as one of:");
    for login in logins {
        println!(
            "  {:<6} {:<6} password: {}",
            login.role, login.name, login.password
        );
    }
    println!("(passwords are new at every start of the demo)");
}
