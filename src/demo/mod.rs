//! `tally demo`: a database where every feature has something to show from the first
//! minute: a review project with gold and a qualification set, a triage project that
//! escalates to an expert, a user-pool project with an open and a signed link, process
//! feedback from two sources (one drifting), and a few thousand labels from simulated raters
//! (careful, careless, a spammer, a lenient one, one who fails the entry test, an expert).
//! The logins are kept in a notes file beside the database, so they stay the same across
//! restarts; `--fresh` starts over and `--show-logins` prints them again.

mod feedback;
mod simulate;
mod texts;

use crate::domain::audit::{Action, Entry};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::domain::import::{self, Format};
use crate::domain::policy::Pool;
use crate::domain::project::{NewProject, Project};
use crate::domain::user::{Role, User};
use crate::error::AppError;
use crate::store::Store;
use simulate::{Answers, Behaviour, SimRater, Truth};
use texts::Generated;

pub const DEMO_DATABASE_URL: &str = "sqlite://tally-demo.db";
/// Where the demo keeps its logins: only password hashes are in the database.
pub const DEMO_NOTES: &str = "tally-demo.logins";

const REVIEWS: &str = "Product review sentiment";
const TRIAGE: &str = "Health question triage";
const ANSWERS: &str = "Search answer helpfulness";

/// The demo's accounts: name, role, pool, expertise, behaviour and what to say of them.
const PEOPLE: [(&str, Role, Pool, Behaviour, &str); 10] = [
    (
        "admin",
        Role::Admin,
        Pool::Generalist,
        Behaviour::Careful,
        "admin: projects, report, exports",
    ),
    (
        "alice",
        Role::Rater,
        Pool::Generalist,
        Behaviour::Careful,
        "careful rater",
    ),
    (
        "bob",
        Role::Rater,
        Pool::Generalist,
        Behaviour::Careful,
        "careful rater",
    ),
    (
        "carol",
        Role::Rater,
        Pool::Generalist,
        Behaviour::Careful,
        "careful rater",
    ),
    (
        "dave",
        Role::Rater,
        Pool::Generalist,
        Behaviour::Careless,
        "careless rater",
    ),
    (
        "eve",
        Role::Rater,
        Pool::Generalist,
        Behaviour::Spammer,
        "spammer: fast, mostly one label",
    ),
    (
        "frank",
        Role::Rater,
        Pool::Generalist,
        Behaviour::Lenient,
        "lenient on the 1-5 scale",
    ),
    (
        "gus",
        Role::Rater,
        Pool::Generalist,
        Behaviour::Unqualified,
        "failed the qualification set",
    ),
    (
        "dr-ines",
        Role::Rater,
        Pool::Expert,
        Behaviour::Expert,
        "expert (medicine)",
    ),
    (
        "rita",
        Role::Reviewer,
        Pool::Generalist,
        Behaviour::Careful,
        "reviewer: settles disputed items (/review)",
    ),
];

/// A name, password and role to print for the person trying the demo.
pub struct Login {
    pub name: String,
    pub password: String,
    pub about: &'static str,
}

/// What `tally demo` prints: the logins and the links.
pub struct Welcome {
    pub logins: Vec<Login>,
    pub open_link: Option<String>,
    pub signed_link: Option<String>,
    pub built: Option<String>,
}

/// The notes file for a database URL: beside the SQLite file, or in the working directory.
pub fn notes_path(database_url: &str) -> PathBuf {
    match sqlite_file(database_url) {
        Some(file) => file.with_extension("logins"),
        None => PathBuf::from(DEMO_NOTES),
    }
}

fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// `--fresh`: removes the embedded demo database and its notes, so the demo starts over.
pub fn remove_demo_database(database_url: &str) -> anyhow::Result<()> {
    let Some(file) = sqlite_file(database_url) else {
        anyhow::bail!(
            "--fresh removes a SQLite demo database only; for {database_url}, drop the database yourself"
        );
    };
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", file.display()));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("cannot remove {}: {e}", path.display()),
        }
    }
    remove_if_present(&notes_path(database_url))
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => anyhow::bail!("cannot remove {}: {e}", path.display()),
    }
}

/// Builds the demo where it is missing and returns what to print. Passwords come from the
/// notes file when it has them, so they stay the same across restarts.
pub async fn prepare(store: &Store, notes: &Path, bind: &SocketAddr) -> anyhow::Result<Welcome> {
    let kept = read_notes(notes);
    let mut logins = Vec::new();
    let mut users = HashMap::new();
    for (name, role, pool, _, about) in PEOPLE {
        let (password, user) = account(store, &kept, name, role, pool).await?;
        logins.push(Login {
            name: name.to_string(),
            password,
            about,
        });
        users.insert(name, user);
    }
    write_notes(notes, &logins)?;
    let existing = store.projects().await.map_err(public)?;
    let built = if existing.iter().any(|p| p.name == REVIEWS) {
        None
    } else {
        let started = std::time::Instant::now();
        let labels = build(store, &users).await?;
        Some(format!(
            "built in {:.1} s: 3 projects, {labels} labels from simulated raters",
            started.elapsed().as_secs_f64()
        ))
    };
    let projects = store.projects().await.map_err(public)?;
    let answers = projects.iter().find(|p| p.name == ANSWERS);
    Ok(Welcome {
        logins,
        open_link: answers
            .and_then(|p| p.open_link_url.as_ref())
            .map(|path| format!("http://{bind}{path}")),
        signed_link: answers.map(|p| signed_link(p, bind)),
        built,
    })
}

/// Finds or makes a demo account with the kept password, or a new one.
async fn account(
    store: &Store,
    kept: &HashMap<String, String>,
    name: &str,
    role: Role,
    pool: Pool,
) -> anyhow::Result<(String, User)> {
    let existing = store.user_by_name(name).await.map_err(public)?;
    if let (Some(user), Some(password)) = (&existing, kept.get(name)) {
        return Ok((password.clone(), user.clone()));
    }
    let password = crate::auth::generate_password();
    let hash = crate::auth::hash_password_bounded(password.clone()).await?;
    let user = match existing {
        Some(user) => {
            store
                .set_password_hash(user.id, &hash)
                .await
                .map_err(public)?;
            user
        }
        None => {
            let expertise = if pool == Pool::Expert {
                vec!["medicine".to_string()]
            } else {
                Vec::new()
            };
            store
                .create_user_in_pool(name, role, pool, &expertise, Some(&hash))
                .await
                .map_err(public)?
        }
    };
    Ok((password, user))
}

fn read_notes(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(name, password)| (name.to_string(), password.to_string()))
        .collect()
}

fn write_notes(path: &Path, logins: &[Login]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write the demo logins to {}: {e}", path.display()))?;
    for login in logins {
        writeln!(file, "{}\t{}", login.name, login.password)?;
    }
    Ok(())
}

fn public(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.public_message())
}

/// Makes the three projects, their items and their labels. Returns the labels given.
async fn build(store: &Store, users: &HashMap<&str, User>) -> anyhow::Result<usize> {
    let admin = users.get("admin").map(|u| u.id).unwrap_or_default();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let raters = |names: &[&str]| -> Vec<SimRater> {
        names
            .iter()
            .filter_map(|name| {
                let behaviour = PEOPLE.iter().find(|p| p.0 == *name)?.3;
                Some(SimRater {
                    user: users.get(name)?.clone(),
                    behaviour,
                    per_round: if behaviour == Behaviour::Spammer {
                        2
                    } else {
                        1
                    },
                })
            })
            .collect()
    };

    let reviews = reviews_project(store, admin, &mut rng).await?;
    let mut given = simulate::label(
        store,
        &reviews.project,
        &raters(&["alice", "bob", "carol", "dave", "eve", "gus"]),
        &reviews.truths,
        Answers::Choices(&texts::SENTIMENTS),
        900,
        &mut rng,
    )
    .await?;
    feedback::send(store, &reviews.project, &reviews.truths, &mut rng).await?;

    let triage = triage_project(store, admin, users, &mut rng).await?;
    let generalists = raters(&["alice", "bob", "carol", "dave"]);
    given += simulate::label(
        store,
        &triage.project,
        &generalists,
        &triage.truths,
        Answers::Choices(&texts::TRIAGE),
        260,
        &mut rng,
    )
    .await?;
    given += simulate::label(
        store,
        &triage.project,
        &raters(&["dr-ines"]),
        &triage.truths,
        Answers::Choices(&texts::TRIAGE),
        usize::MAX,
        &mut rng,
    )
    .await?;

    let answers = answers_project(store, admin, &mut rng).await?;
    // The hired raters label a few items a round where the product's users rate one in
    // passing: frank's leniency then rests on enough labels for the report to show it.
    let mut answer_raters: Vec<SimRater> = raters(&["alice", "bob", "frank"])
        .into_iter()
        .map(|rater| SimRater {
            per_round: 4,
            ..rater
        })
        .collect();
    for n in 1..=24 {
        let user = store
            .link_user(answers.project.id, &format!("app:demo-user-{n:02}"))
            .await
            .map_err(public)?;
        answer_raters.push(SimRater {
            user,
            behaviour: Behaviour::User,
            per_round: 1,
        });
    }
    given += simulate::label(
        store,
        &answers.project,
        &answer_raters,
        &answers.truths,
        Answers::Scale { min: 1, max: 5 },
        420,
        &mut rng,
    )
    .await?;
    Ok(given)
}

/// A project with its items imported and what the simulation knows about them.
struct Built {
    project: Project,
    truths: HashMap<String, Truth>,
}

async fn create(store: &Store, admin: i64, spec: Value) -> anyhow::Result<Project> {
    let spec: NewProject = serde_json::from_value(spec)?;
    let spec = spec.validate()?;
    // The demo's setup shows in the audit log as the command line's, for its admin.
    let entry = Entry::from_cli(Some(admin), Action::ProjectCreated);
    store
        .create_project(&spec, admin, &entry)
        .await
        .map_err(public)
}

/// Imports items through the same parser and checks as an upload, and remembers the truth.
async fn import_generated(
    store: &Store,
    project: Project,
    generated: Vec<Generated>,
    extra: impl Fn(usize, &Generated) -> serde_json::Map<String, Value>,
) -> anyhow::Result<Built> {
    let mut lines = String::new();
    let mut truths = HashMap::new();
    for (index, item) in generated.iter().enumerate() {
        let mut row = serde_json::Map::new();
        row.insert("external_id".into(), item.external_id.clone().into());
        row.insert("data".into(), item.data.clone());
        let more = extra(index, item);
        let qualification = more.get("qualification") == Some(&Value::Bool(true));
        row.extend(more);
        lines.push_str(&Value::Object(row).to_string());
        lines.push('\n');
        truths.insert(
            item.external_id.clone(),
            Truth {
                value: item.truth.clone(),
                hard: item.hard,
                qualification,
            },
        );
    }
    let mut items = import::parse(lines.as_bytes(), Format::Ndjson)?;
    import::check_against_project(&mut items, &project)?;
    let entry = Entry::from_cli(None, Action::ItemsImported);
    store
        .import_items(&project, &items, &entry)
        .await
        .map_err(public)?;
    Ok(Built { project, truths })
}

async fn reviews_project(store: &Store, admin: i64, rng: &mut ChaCha8Rng) -> anyhow::Result<Built> {
    let project = create(
        store,
        admin,
        json!({
            "name": REVIEWS,
            "kind": "single_choice",
            "labels": texts::SENTIMENTS,
            "overlap": 3,
            "instructions": "Read the review and pick the customer's **overall** sentiment.\n\n\
                - A review that only states facts is *neutral*.\n\
                - Praise and complaints that balance out: *neutral*.\n\n\
                Keys: 1-3 pick a label, s skips, u undoes.",
            "hidden_fields": ["customer_email"],
            "gold_rate": 0.1,
            "min_gold_accuracy": 0.6,
            "gold_min_seen": 8,
            "qualify_accuracy": 0.75,
            "report_threshold": 2,
            "edit_window_seconds": 120,
        }),
    )
    .await?;
    let mut generated = texts::reviews(420, rng);
    for (n, item) in generated.iter_mut().enumerate().take(4) {
        item.external_id = format!("qualification-{}", n + 1);
    }
    import_generated(store, project, generated, |index, item| {
        let mut extra = serde_json::Map::new();
        if index < 4 {
            extra.insert("qualification".into(), true.into());
            extra.insert("gold".into(), item.truth.clone());
            extra.insert(
                "explanation".into(),
                format!(
                    "The review is {}: judge the review as a whole.",
                    item.truth.as_str().unwrap_or("")
                )
                .into(),
            );
        } else if index < 40 && !item.hard {
            extra.insert("gold".into(), item.truth.clone());
        }
        extra
    })
    .await
}

async fn triage_project(
    store: &Store,
    admin: i64,
    users: &HashMap<&str, User>,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Built> {
    let project = create(
        store,
        admin,
        json!({
            "name": TRIAGE,
            "kind": "single_choice",
            "labels": texts::TRIAGE,
            "pools": { "generalist": 2, "expert": 0 },
            "expertise": ["medicine"],
            "escalate_below": 0.75,
            "expert_overlap": 1,
            "instructions": "How soon should this person see a professional? \
                When in doubt between two answers, pick the more urgent one. \
                Items where two raters disagree go to a doctor.",
        }),
    )
    .await?;
    for name in ["alice", "bob", "carol", "dave", "dr-ines"] {
        if let Some(user) = users.get(name) {
            let entry = Entry::from_cli(Some(admin), Action::MemberAdded);
            store
                .add_member(project.id, user.id, &entry)
                .await
                .map_err(public)?;
        }
    }
    import_generated(store, project, texts::triage(160, rng), |_, _| {
        serde_json::Map::new()
    })
    .await
}

async fn answers_project(store: &Store, admin: i64, rng: &mut ChaCha8Rng) -> anyhow::Result<Built> {
    let project = create(
        store,
        admin,
        json!({
            "name": ANSWERS,
            "kind": "rating",
            "scale": { "min": 1, "max": 5, "anchors": { "1": "useless", "3": "partly helpful", "5": "exactly right" } },
            "pools": { "generalist": 1, "user": 2 },
            "text_field": "text",
            "instructions": "How well does this page answer the search above it?",
            "open_link": true,
            "completion_after": 10,
            "completion_code": "THANKS-2026",
        }),
    )
    .await?;
    import_generated(store, project, texts::answers(220, rng), |_, _| {
        serde_json::Map::new()
    })
    .await
}

/// A signed link for one of the product's users, valid for a week from now.
fn signed_link(project: &Project, bind: &SocketAddr) -> String {
    let exp = crate::domain::now_ms() / 1000 + 7 * 24 * 3600;
    let uid = "demo-visitor";
    let sig = crate::domain::links::sign(&project.link_secret, uid, exp);
    format!(
        "http://{bind}/u/{}?uid={uid}&exp={exp}&sig={sig}",
        project.id
    )
}

/// The logins and links, in a box, after whatever the build printed.
pub fn print_welcome(bind: &SocketAddr, welcome: &Welcome, notes: &Path) {
    let mut lines = vec![
        format!("tally demo: open http://{bind}/ and sign in"),
        String::new(),
    ];
    for login in &welcome.logins {
        lines.push(format!(
            "  {:<8} {:<18}  {}",
            login.name, login.password, login.about
        ));
    }
    lines.push(String::new());
    if let Some(link) = &welcome.open_link {
        lines.push("Open link (anyone, as the product's users):".into());
        lines.push(format!("  {link}"));
    }
    if let Some(link) = &welcome.signed_link {
        lines.push("Signed link for the user \"demo-visitor\" (a week):".into());
        lines.push(format!("  {link}"));
    }
    lines.push(String::new());
    if let Some(built) = &welcome.built {
        lines.push(built.clone());
    }
    lines.push(format!(
        "Logins kept in {} (tally demo --show-logins); --fresh starts over.",
        notes.display()
    ));
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let rule = "─".repeat(width + 2);
    println!("\n┌{rule}┐");
    for line in &lines {
        let pad = width - line.chars().count();
        println!("│ {line}{} │", " ".repeat(pad));
    }
    println!("└{rule}┘\n");
}
