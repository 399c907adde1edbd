//! The command line: serve, demo, users, tokens, migrate, report, import.
//! Every failure is one line on stderr and a non-zero exit.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, DEFAULT_MAX_BODY_BYTES};
use crate::domain::audit::{Action, Entry};
use crate::domain::policy::Pool;
use crate::domain::user::{validate_name, validate_password, Role};
use crate::store::password_links::NewPerson;
use crate::store::{Store, DEFAULT_DATABASE_URL};

#[derive(Parser, Debug)]
#[command(
    name = "tally",
    version,
    about = "A self-hosted human-labelling server"
)]
pub struct Cli {
    /// Database: sqlite://FILE (default sqlite://tally.db) or postgres://USER@HOST/DB
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web app and the API
    Serve(ServeArgs),
    /// Build (or reuse) a demo database where every feature has data, then serve it
    Demo(DemoArgs),
    /// Manage users
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Apply database migrations and exit
    Migrate,
    /// Agreement, consensus, rater quality and bias for labels from any tool (no database)
    Report(ReportArgs),
    /// Export a project as a new dataset version (with its card)
    Export(crate::export_cli::ExportArgs),
    /// Check a file of items and import it into a project (streamed, all or nothing)
    Import(crate::import_cli::ImportArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Labels as CSV with the header item,rater,label (optionally duration_ms, sequence)
    #[arg(long)]
    pub labels: std::path::PathBuf,
    /// Known answers as CSV with the header item,label
    #[arg(long)]
    pub gold: Option<std::path::PathBuf>,
    /// Level of measurement: nominal, ordinal, interval or ratio
    #[arg(long, default_value = "nominal")]
    pub level: String,
    /// Consensus method: dawid-skene (the default: it ranks raters best on simulated data,
    /// see the README) or majority
    #[arg(long, default_value = "dawid-skene", value_parser = ["dawid-skene", "majority"])]
    pub method: String,
    /// Output: text for people, json with the same keys as the API
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Also write the consensus as CSV (item,label,confidence)
    #[arg(long)]
    pub consensus_out: Option<std::path::PathBuf>,
    /// Bootstrap draws for alpha's interval
    #[arg(long, default_value_t = 1000)]
    pub draws: usize,
    /// Seed of the bootstrap
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Items two raters must share for a Cohen's kappa
    #[arg(long, default_value_t = 5)]
    pub min_pair_overlap: usize,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Remove the demo database and its logins first, and build it again
    #[arg(long)]
    pub fresh: bool,
    /// Print the demo's logins and links, then exit
    #[arg(long)]
    pub show_logins: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Largest request body accepted, in bytes; larger ones get 413
    #[arg(long, env = "TALLY_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Largest uploaded image, in bytes; larger ones get 413
    #[arg(long, env = "TALLY_MAX_MEDIA_BYTES", default_value_t = crate::domain::media::DEFAULT_MAX_MEDIA_BYTES)]
    pub max_media_bytes: usize,
    /// Send the session cookie only over HTTPS (set when served behind TLS)
    #[arg(long, env = "TALLY_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// A reverse proxy whose X-Forwarded-For names the client for rate limits (repeat or
    /// separate with commas)
    #[arg(
        long = "trusted-proxy",
        env = "TALLY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Minutes an admin's browser session may sit idle before it ends
    #[arg(long, env = "TALLY_ADMIN_IDLE_MINUTES", default_value_t = 120)]
    pub admin_idle_minutes: i64,
    /// A bearer token that may read /metrics (admins always may)
    #[arg(long, env = "TALLY_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<crate::config::Secret>,
    /// Log lines as text for people or JSON objects for a log collector
    #[arg(long, env = "TALLY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Items plus labels in the database from which whole-project figures (agreement, the
    /// queue, pace, health, the report) are kept in memory and refreshed in the background
    /// instead of computed on every view
    #[arg(long, env = "TALLY_KEEP_FIGURES_FROM", default_value_t = crate::store::snapshots::BIG_ROWS)]
    pub keep_figures_from: i64,
    /// Milliseconds a page waits for a kept figure's first computation before it answers
    /// with the figure shown as being computed
    #[arg(long, env = "TALLY_FIGURES_WAIT_MS", default_value_t = 60)]
    pub figures_wait_ms: u64,
}

/// How log lines are written on stderr.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a user; prints a generated password unless --password-stdin is given
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: Role,
        /// Rater pool: generalist (default), expert or user
        #[arg(long, default_value = "generalist")]
        pool: String,
        /// Expertise tags of an expert, comma-separated (e.g. radiology,oncology)
        #[arg(long, value_delimiter = ',')]
        expertise: Vec<String>,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Issue a new API token for a user; prints the token and nothing else
    Issue { name: String },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(log_format(&cli.command));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// The serving commands choose their log format; the others write text.
fn log_format(command: &Command) -> LogFormat {
    match command {
        Command::Serve(args) => args.log_format,
        Command::Demo(args) => args.serve.log_format,
        _ => LogFormat::Text,
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TALLY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => logs.try_init(),
        LogFormat::Json => logs.json().try_init(),
    };
}

async fn open_store(url: Option<&str>) -> anyhow::Result<Store> {
    let url = url.unwrap_or(DEFAULT_DATABASE_URL);
    let store = Store::connect(url).await?;
    store
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.public_message()))
        .context("migrating the database")?;
    Ok(store)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url.as_deref();
    match cli.command {
        Command::Serve(args) => serve(open_store(url).await?, &args).await,
        Command::Demo(args) => {
            let url = url.unwrap_or(crate::demo::DEMO_DATABASE_URL);
            if args.fresh {
                crate::demo::remove_demo_database(url)?;
            }
            let notes = crate::demo::notes_path(url);
            let store = open_store(Some(url)).await?;
            let welcome = crate::demo::prepare(&store, &notes, &args.serve.bind).await?;
            crate::demo::print_welcome(&args.serve.bind, &welcome, &notes);
            if args.show_logins {
                return Ok(());
            }
            serve(store, &args.serve).await
        }
        Command::Users(UsersCommand::Add {
            name,
            role,
            pool,
            expertise,
            password_stdin,
        }) => {
            let pool = Pool::parse(&pool)?;
            let account = NewAccount {
                name: &name,
                role,
                pool,
                expertise: &expertise,
            };
            add_user(&open_store(url).await?, &account, password_stdin).await
        }
        Command::Tokens(TokensCommand::Issue { name }) => {
            issue_token(&open_store(url).await?, &name).await
        }
        Command::Report(args) => crate::offline_report::run(&args),
        Command::Export(args) => crate::export_cli::run(&open_store(url).await?, &args).await,
        Command::Import(args) => crate::import_cli::run(&open_store(url).await?, &args).await,
        Command::Migrate => {
            let store = open_store(url).await?;
            println!("migrations applied ({})", store.backend_name());
            Ok(())
        }
    }
}

fn config_from(args: &ServeArgs) -> Config {
    Config {
        max_body_bytes: args.max_body_bytes,
        max_media_bytes: args.max_media_bytes,
        secure_cookies: args.secure_cookies,
        trusted_proxies: args.trusted_proxies.clone(),
        admin_idle_minutes: args.admin_idle_minutes.max(1),
        metrics_token: args.metrics_token.clone().filter(|t| !t.0.is_empty()),
        ..Config::default()
    }
}

async fn serve(store: Store, args: &ServeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    store.keep_figures_from(args.keep_figures_from);
    store.set_page_wait(std::time::Duration::from_millis(args.figures_wait_ms));
    let state = crate::web::AppState::new(store, config_from(args));
    crate::web::spawn_housekeeping(state.clone());
    crate::web::spawn_report_keeping(state.store.clone(), Default::default());
    let webhooks = crate::webhooks::spawn(state.store.clone(), Default::default())?;
    let app = crate::web::app(state);
    println!("listening on http://{addr}");
    std::io::stdout().flush().ok();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server stopped")?;
    webhooks.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// A user to add from the command line.
struct NewAccount<'a> {
    name: &'a str,
    role: Role,
    pool: Pool,
    expertise: &'a [String],
}

async fn add_user(
    store: &Store,
    account: &NewAccount<'_>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    validate_name(account.name)?;
    let (password, generated) = if password_stdin {
        (read_password_line()?, false)
    } else {
        (crate::auth::generate_password(), true)
    };
    validate_password(&password)?;
    let hash = crate::auth::hash_password_bounded(password.clone()).await?;
    let expertise = crate::domain::user::validate_tags("--expertise", account.expertise)?;
    let person = NewPerson {
        name: account.name.to_string(),
        role: account.role,
        pool: account.pool,
        expertise,
    };
    let entry = Entry::from_cli(None, Action::UserCreated);
    let user = store
        .add_person(&person, Some(&hash), &entry)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
    if generated {
        println!(
            "created {} {} with password: {password}",
            user.role, user.name
        );
        println!("(shown once; it is stored only as an argon2id hash)");
    } else {
        println!("created {} {}", user.role, user.name);
    }
    Ok(())
}

fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

async fn issue_token(store: &Store, name: &str) -> anyhow::Result<()> {
    let user = store
        .user_by_name(name)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?
        .ok_or_else(|| anyhow::anyhow!("no user named {name:?}"))?;
    let (token, hash) = crate::auth::new_api_token();
    let entry = Entry::from_cli(None, Action::TokenCreated);
    store
        .issue_token(user.id, &hash, &entry)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
    println!("{token}");
    Ok(())
}
