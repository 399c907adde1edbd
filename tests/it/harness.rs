//! TestApp: the real router served on a random port over a fresh database: a temporary
//! SQLite file, or a new PostgreSQL database when TALLY_TEST_POSTGRES_URL is set.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use futures::FutureExt;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use tally::domain::policy::Pool;
use tally::domain::user::Role;
use tally::{Config, Store};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Store,
    pub database_url: String,
    inner: Arc<Resources>,
}

struct Resources {
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

pub const TEST_MAX_BODY: usize = 1024 * 1024;

/// Runs a test body on one backend; PostgreSQL tests say so when they cannot run.
pub async fn run<F, Fut>(backend: Backend, test_name: &str, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(app) = TestApp::start(backend).await else {
        // Written past the test harness's capture so that it shows in every run.
        let _ = writeln!(
            std::io::stderr(),
            "NOT RUN on PostgreSQL: {test_name} (set TALLY_TEST_POSTGRES_URL to run it)"
        );
        return;
    };
    // Clean up even when the test fails, then fail with its panic.
    let outcome = std::panic::AssertUnwindSafe(body(app.clone()))
        .catch_unwind()
        .await;
    app.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `$body` with `$pool` bound to the test database's pool, on either backend.
#[macro_export]
macro_rules! on_test_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            tally::Store::Sqlite(backend) => {
                let $pool = &backend.pool;
                $body
            }
            tally::Store::Postgres(backend) => {
                let $pool = &backend.pool;
                $body
            }
        }
    };
}

/// Declares each listed `async fn(TestApp)` as two tests: `NAME::sqlite` and `NAME::postgres`.
/// The PostgreSQL variant shows as ignored unless TALLY_TEST_POSTGRES_URL was set at build
/// time (build.rs), so a run never counts PostgreSQL coverage it did not have.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::harness::run($crate::harness::Backend::Sqlite, stringify!($name), super::$name).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(tally_postgres),
                ignore = "set TALLY_TEST_POSTGRES_URL when building the tests to run them on PostgreSQL"
            )]
            async fn postgres() {
                $crate::harness::run($crate::harness::Backend::Postgres, stringify!($name), super::$name).await
            }
        }
    )*};
}

fn postgres_url() -> Option<String> {
    std::env::var("TALLY_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The same server URL with another database name.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{database}?{q}"),
        None => format!("{host_part}/{database}"),
    }
}

async fn fresh_postgres_database(admin_url: &str) -> (String, String) {
    use sqlx::Connection;
    let name = format!("tally_it_{}", tally::auth::random_hex(8));
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to TALLY_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    (with_database(admin_url, &name), name)
}

/// Serves tally on a free loopback port, in this process, over `store`.
pub async fn serve(store: Store, config: Config) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = tally::app(tally::AppState::new(store, config));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .ok();
    });
    addr
}

impl TestApp {
    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::start_with(
            backend,
            Config {
                max_body_bytes: TEST_MAX_BODY,
                ..Config::default()
            },
        )
        .await
    }

    pub async fn start_with(backend: Backend, config: Config) -> Option<TestApp> {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_test_writer()
                .with_env_filter("info")
                .try_init();
        }
        let (database_url, dir, postgres) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("tally.db").display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let admin_url = postgres_url()?;
                let (url, name) = fresh_postgres_database(&admin_url).await;
                (url, None, Some((admin_url, name)))
            }
        };
        let store = Store::connect(&database_url).await.expect("connect");
        store.migrate().await.expect("migrate");
        let addr = serve(store.clone(), config).await;
        Some(TestApp {
            addr,
            store,
            database_url,
            inner: Arc::new(Resources {
                _dir: dir,
                postgres,
            }),
        })
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some((admin_url, name)) = &self.inner.postgres {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A user with an API token, made straight in the store (no password hashing).
    pub async fn user_with_token(&self, name: &str, role: Role) -> Api {
        self.pool_member(name, role, Pool::Generalist, &[]).await
    }

    /// A rater of a given pool with expertise tags.
    pub async fn pool_rater(&self, name: &str, pool: Pool, expertise: &[&str]) -> Api {
        self.pool_member(name, Role::Rater, pool, expertise).await
    }

    async fn pool_member(&self, name: &str, role: Role, pool: Pool, expertise: &[&str]) -> Api {
        let tags: Vec<String> = expertise.iter().map(|t| t.to_string()).collect();
        let user = self
            .store
            .create_user_in_pool(name, role, pool, &tags, None)
            .await
            .expect("create user");
        let (token, hash) = tally::auth::new_api_token();
        self.store
            .insert_token(user.id, &hash)
            .await
            .expect("token");
        Api {
            client: Client::new(),
            base: self.url(""),
            token,
        }
    }

    pub async fn admin(&self) -> Api {
        self.user_with_token("admin", Role::Admin).await
    }

    pub async fn rater(&self, name: &str) -> Api {
        self.user_with_token(name, Role::Rater).await
    }

    /// [`Self::rater`] for each name, in order.
    pub async fn raters(&self, names: &[&str]) -> Vec<Api> {
        let mut raters = Vec::new();
        for name in names {
            raters.push(self.rater(name).await);
        }
        raters
    }

    /// A user who signs in with a password through the login page.
    pub async fn user_with_password(&self, name: &str, role: Role, password: &str) {
        let hash = tally::auth::hash_password(password).expect("hash");
        self.store
            .create_user(name, role, Some(&hash))
            .await
            .expect("create user");
    }

    /// A browser signed in as the admin "chief".
    pub async fn signed_in_admin(&self) -> Browser {
        self.user_with_password("chief", Role::Admin, "admin password 1")
            .await;
        let browser = self.browser();
        assert_eq!(
            browser.login("chief", "admin password 1").await.status(),
            StatusCode::SEE_OTHER
        );
        browser
    }

    /// A browser: keeps cookies, does not follow redirects.
    pub fn browser(&self) -> Browser {
        Browser {
            client: Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .expect("client"),
            base: self.url(""),
        }
    }

    /// Counts rows with a query returning one integer.
    pub async fn count(&self, sql: &str) -> i64 {
        match &self.store {
            Store::Sqlite(b) => sqlx::query_scalar(sql).fetch_one(&b.pool).await.expect(sql),
            Store::Postgres(b) => sqlx::query_scalar(sql).fetch_one(&b.pool).await.expect(sql),
        }
    }

    /// The ids of every stored session.
    pub async fn session_ids(&self) -> Vec<String> {
        let sql = "SELECT id FROM sessions";
        match &self.store {
            Store::Sqlite(b) => sqlx::query_scalar(sql).fetch_all(&b.pool).await.expect(sql),
            Store::Postgres(b) => sqlx::query_scalar(sql).fetch_all(&b.pool).await.expect(sql),
        }
    }

    /// The JSONL export of a project, read with a fresh admin token.
    pub async fn admin_export(&self, pid: i64) -> String {
        let admin = self
            .user_with_token(
                &format!("exporter{}", tally::auth::random_hex(3)),
                Role::Admin,
            )
            .await;
        admin
            .get(&format!("/api/v1/projects/{pid}/export"))
            .await
            .text()
            .await
            .expect("export")
    }

    /// Creates a project from a JSON body and imports items; returns its id.
    pub async fn project_from(&self, admin: &Api, body: Value, items: Value) -> i64 {
        let created = admin.post_json("/api/v1/projects", &body).await;
        assert_eq!(
            created.status(),
            StatusCode::CREATED,
            "{:?}",
            created.text().await
        );
        let pid = created.json::<Value>().await.expect("json")["id"]
            .as_i64()
            .expect("id");
        let imported = admin
            .post_json(&format!("/api/v1/projects/{pid}/items"), &items)
            .await;
        assert_eq!(
            imported.status(),
            StatusCode::CREATED,
            "{:?}",
            imported.text().await
        );
        pid
    }

    /// Creates a project through the API and imports `texts` as items.
    pub async fn project_with_items(&self, admin: &Api, overlap: i64, texts: &[&str]) -> i64 {
        let created = admin
            .post_json(
                "/api/v1/projects",
                &json!({"name": "Reviews", "kind": "single_choice", "labels": ["pos", "neg", "neutral"], "overlap": overlap}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let pid = created.json::<Value>().await.expect("json")["id"]
            .as_i64()
            .expect("id");
        let items: Vec<Value> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"external_id": format!("x{}", i + 1), "data": {"text": t}}))
            .collect();
        let imported = admin
            .post_json(&format!("/api/v1/projects/{pid}/items"), &json!(items))
            .await;
        assert_eq!(imported.status(), StatusCode::CREATED);
        pid
    }
}

/// An API client with a bearer token.
#[derive(Clone)]
pub struct Api {
    pub client: Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::PUT, path, body).await
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::PATCH, path, body).await
    }

    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// The project's JSONL export, one JSON value per item.
    pub async fn export(&self, pid: i64) -> Vec<Value> {
        self.get(&format!("/api/v1/projects/{pid}/export"))
            .await
            .text()
            .await
            .expect("export body")
            .lines()
            .map(|line| serde_json::from_str(line).expect("export row"))
            .collect()
    }

    /// The project's quality report as JSON; `query` is empty or starts with `?`.
    pub async fn report(&self, pid: i64, query: &str) -> Value {
        self.json(&format!("/api/v1/projects/{pid}/report{query}"))
            .await
    }

    /// A GET that must answer 200, as JSON.
    pub async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.expect("json")
    }

    /// GET next: the item id, or None on 204.
    pub async fn next(&self, pid: i64) -> Option<i64> {
        let response = self.get(&format!("/api/v1/projects/{pid}/next")).await;
        match response.status() {
            StatusCode::NO_CONTENT => None,
            StatusCode::OK => {
                let body: Value = response.json().await.expect("json");
                Some(body["item"]["id"].as_i64().expect("item id"))
            }
            other => panic!("next answered {other}: {:?}", response.text().await),
        }
    }

    pub async fn label(&self, pid: i64, iid: i64, value: &str) -> reqwest::Response {
        self.post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/labels"),
            &json!({"value": value, "duration_ms": 1200}),
        )
        .await
    }
}

/// A cookie-keeping client that drives the HTML pages.
pub struct Browser {
    pub client: Client,
    pub base: String,
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .expect("request")
    }

    /// The HTML a browser ends up showing for a path: redirects on this site are followed
    /// (the labelling pages send the browser on to the page of the item to label).
    pub async fn page(&self, path: &str) -> String {
        let mut path = path.to_string();
        for _ in 0..5 {
            let response = self.get(&path).await;
            match response.headers().get("location") {
                Some(next) if response.status().is_redirection() => {
                    path = next.to_str().expect("location").to_string();
                }
                _ => return response.text().await.expect("body"),
            }
        }
        panic!("more than five redirects from {path}");
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{}", self.base, path))
            .form(form)
            .send()
            .await
            .expect("request")
    }

    /// The CSRF token of the form on a page.
    pub async fn csrf(&self, path: &str) -> String {
        let html = self.get(path).await.text().await.expect("body");
        csrf_in(&html)
    }

    pub async fn login(&self, name: &str, password: &str) -> reqwest::Response {
        let csrf = self.csrf("/login").await;
        self.post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("name", name),
                ("password", password),
                ("next", "/"),
            ],
        )
        .await
    }
}

/// Items 1 to `n` for an import: external ids `{prefix}1` and on, texts `item 1` and on.
pub fn numbered_items(prefix: &str, n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| json!({"external_id": format!("{prefix}{i}"), "data": {"text": format!("item {i}")}}))
        .collect()
}

pub fn csrf_in(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("input[name=csrf]").expect("selector");
    doc.select(&selector)
        .next()
        .and_then(|e| e.value().attr("value"))
        .expect("page has a csrf field")
        .to_string()
}

pub fn select_text(html: &str, css: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(css).expect("selector");
    doc.select(&selector)
        .next()
        .map(|e| e.text().collect::<String>())
}

/// An attribute of the first element a selector finds on a page.
pub fn attr_of(html: &str, css: &str, attr: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(css).expect("selector");
    doc.select(&selector)
        .next()
        .and_then(|e| e.value().attr(attr))
        .map(String::from)
}
