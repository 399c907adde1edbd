//! The command line: users, tokens, migrate, and one-line failures.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use reqwest::StatusCode;
use tally::domain::user::Role;

use crate::harness::TestApp;
use crate::on_both_backends;

on_both_backends!(
    users_and_tokens_from_the_command_line,
    cli_failures_are_one_clear_line
);

pub(crate) fn tally(database_url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .args(["--database-url", database_url])
        .env("TALLY_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tally");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("tally output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

async fn users_and_tokens_from_the_command_line(app: TestApp) {
    let url = app.database_url.clone();
    let out = tally(&url, &["migrate"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = tally(&url, &["users", "add", "olga", "--role", "admin"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let password = stdout
        .split("password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the generated password is printed")
        .to_string();
    assert!(password.len() >= 16);
    let browser = app.browser();
    assert_eq!(
        browser.login("olga", &password).await.status(),
        StatusCode::SEE_OTHER
    );
    let stored: String = match &app.store {
        tally::Store::Sqlite(b) => {
            sqlx::query_scalar("SELECT password_hash FROM users WHERE name = 'olga'")
                .fetch_one(&b.pool)
                .await
                .unwrap()
        }
        tally::Store::Postgres(b) => {
            sqlx::query_scalar("SELECT password_hash FROM users WHERE name = 'olga'")
                .fetch_one(&b.pool)
                .await
                .unwrap()
        }
    };
    assert!(
        stored.starts_with("$argon2id$"),
        "only an argon2id hash is stored"
    );

    let out = tally(
        &url,
        &["users", "add", "pat", "--role", "rater", "--password-stdin"],
        Some("chosen password 9\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("chosen password 9"));
    assert_eq!(
        app.browser()
            .login("pat", "chosen password 9")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    let out = tally(
        &url,
        &[
            "users",
            "add",
            "doc",
            "--role",
            "rater",
            "--pool",
            "expert",
            "--expertise",
            "radiology,oncology",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = app.store.user_by_name("doc").await.unwrap().unwrap();
    assert_eq!(doc.pool, tally::domain::policy::Pool::Expert);
    assert_eq!(doc.expertise, ["radiology", "oncology"]);

    let out = tally(&url, &["tokens", "issue", "olga"], None);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the token is printed: {stdout:?}"
    );
    let token = stdout.trim();
    assert!(token.starts_with("tly_"));
    let listed = reqwest::Client::new()
        .get(app.url("/api/v1/projects"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 1);
    let _ = Role::Rater;
}

fn assert_one_line_failure(out: &Output, needle: &str) {
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("error: "), "{stderr:?}");
    assert!(
        stderr.contains(needle),
        "{stderr:?} should mention {needle:?}"
    );
    assert!(!stderr.contains("panicked"));
}

async fn cli_failures_are_one_clear_line(app: TestApp) {
    let url = app.database_url.clone();
    assert!(
        tally(&url, &["users", "add", "sam", "--role", "rater"], None)
            .status
            .success()
    );
    assert_one_line_failure(
        &tally(&url, &["users", "add", "sam", "--role", "rater"], None),
        "already exists",
    );
    assert_one_line_failure(
        &tally(
            &url,
            &["users", "add", "tim", "--role", "rater", "--password-stdin"],
            Some("short\n"),
        ),
        "at least 10 characters",
    );
    assert_one_line_failure(
        &tally(&url, &["users", "add", "bad name", "--role", "rater"], None),
        "name",
    );
    assert_one_line_failure(
        &tally(&url, &["tokens", "issue", "nobody"], None),
        "no user named",
    );
    assert_one_line_failure(
        &tally("mysql://localhost/x", &["migrate"], None),
        "unsupported database URL",
    );
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
}
