//! The authorization matrix: every route of the router's own table, called by every kind of
//! caller, gets the answer its declared access allows. A route added without a declared
//! access cannot exist (the router is built from the table), so none can be missed here.

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tally::domain::user::Role;
use tally::web::routes::{route_list, Access, RouteInfo};

use crate::harness::{csrf_in, Api, Browser, TestApp};
use crate::on_both_backends;

on_both_backends!(every_route_answers_every_caller_as_declared);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    RaterOfProject,
    RaterOfAnother,
    PausedRater,
    LinkUserOfProject,
    LinkUserOfAnother,
    KeyOfProject,
    KeyOfAnother,
    Admin,
    /// Someone with the reviewer role.
    Reviewer,
    /// An expert rater the project names as its reviewer, not admitted to label it.
    NamedReviewer,
}

const EVERYONE: [Who; 11] = [
    Who::Anonymous,
    Who::RaterOfProject,
    Who::RaterOfAnother,
    Who::PausedRater,
    Who::LinkUserOfProject,
    Who::LinkUserOfAnother,
    Who::KeyOfProject,
    Who::KeyOfAnother,
    Who::Admin,
    Who::Reviewer,
    Who::NamedReviewer,
];

/// What the gate should say: let the caller through (any answer but a refusal), or refuse.
fn allowed(access: Access, who: Who) -> Option<bool> {
    use Who::*;
    Some(match access {
        Access::Public => return None,
        Access::SignedIn => !matches!(who, Anonymous | KeyOfProject | KeyOfAnother),
        Access::Account => matches!(
            who,
            RaterOfProject | RaterOfAnother | PausedRater | Admin | Reviewer | NamedReviewer
        ),
        // No caller here holds the scrape token (tests/it/monitoring.rs tries it).
        Access::Admin | Access::Scraper => who == Admin,
        Access::ProjectRater => matches!(who, RaterOfProject | PausedRater | LinkUserOfProject),
        Access::ProjectWork => matches!(who, RaterOfProject | LinkUserOfProject),
        Access::ProjectViewer => {
            matches!(
                who,
                RaterOfProject | PausedRater | LinkUserOfProject | Admin | Reviewer | NamedReviewer
            )
        }
        Access::ProjectReviewer => matches!(who, Admin | Reviewer | NamedReviewer),
        Access::FeedbackKey => who == KeyOfProject,
    })
}

/// One caller: a bearer token for the API and a browser session for pages, where it has them.
struct Caller {
    who: Who,
    token: Option<String>,
    browser: Option<Browser>,
}

struct World {
    app: TestApp,
    project: i64,
    item: i64,
    victim: i64,
    open_token: String,
    callers: Vec<Caller>,
}

async fn signed_in_browser(app: &TestApp, name: &str, role: Role) -> Browser {
    app.user_with_password(name, role, "matrix password 1")
        .await;
    let browser = app.browser();
    assert_eq!(
        browser.login(name, "matrix password 1").await.status(),
        StatusCode::SEE_OTHER
    );
    browser
}

async fn token_of(app: &TestApp, name: &str) -> String {
    let user = app.store.user_by_name(name).await.unwrap().unwrap();
    let (token, hash) = tally::auth::new_api_token();
    app.store.insert_token(user.id, &hash).await.unwrap();
    token
}

async fn link_browser(app: &TestApp, admin: &Api, pid: i64) -> Browser {
    let project: Value = admin
        .get(&format!("/api/v1/projects/{pid}"))
        .await
        .json()
        .await
        .unwrap();
    let browser = app.browser();
    let entered = browser
        .get(project["open_link_url"].as_str().unwrap())
        .await;
    assert_eq!(entered.status(), StatusCode::SEE_OTHER);
    browser
}

async fn feedback_key(admin: &Api, pid: i64) -> String {
    let made: Value = admin
        .post_json(&format!("/api/v1/projects/{pid}/feedback-keys"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    made["key"].as_str().unwrap().to_string()
}

async fn add_member(admin: &Api, pid: i64, name: &str) {
    let added = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/members"),
            &json!({"name": name}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
}

async fn world(app: TestApp) -> World {
    let admin = app.admin().await;
    let body = |name: &str| json!({"name": name, "labels": ["pos", "neg"], "pools": {"generalist": 2, "user": 2}, "open_link": true});
    let items = json!([{"external_id": "x1", "data": {"text": "one"}}]);
    let a = app.project_from(&admin, body("A"), items.clone()).await;
    let b = app.project_from(&admin, body("B"), items).await;
    let item = admin.export(a).await[0]["id"].as_i64().unwrap();

    let rater_a = signed_in_browser(&app, "rater-a", Role::Rater).await;
    let rater_b = signed_in_browser(&app, "rater-b", Role::Rater).await;
    let paused = signed_in_browser(&app, "paused", Role::Rater).await;
    let boss = signed_in_browser(&app, "boss", Role::Admin).await;
    let reviewer = signed_in_browser(&app, "rev", Role::Reviewer).await;
    let named_reviewer = {
        let hash = tally::auth::hash_password("matrix password 1").unwrap();
        app.store
            .create_user_in_pool(
                "named-rev",
                Role::Rater,
                tally::domain::policy::Pool::Expert,
                &[],
                Some(&hash),
            )
            .await
            .unwrap();
        let browser = app.browser();
        assert_eq!(
            browser
                .login("named-rev", "matrix password 1")
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
        browser
    };
    let named = admin
        .post_json(
            &format!("/api/v1/projects/{a}/reviewers"),
            &json!({"name": "named-rev"}),
        )
        .await;
    assert_eq!(named.status(), StatusCode::NO_CONTENT);
    app.user_with_password("victim", Role::Rater, "matrix password 1")
        .await;
    add_member(&admin, a, "rater-a").await;
    add_member(&admin, a, "paused").await;
    add_member(&admin, b, "rater-b").await;
    let paused_id = app.store.user_by_name("paused").await.unwrap().unwrap().id;
    let pause = admin
        .post_json(
            &format!("/api/v1/projects/{a}/raters/{paused_id}/pause"),
            &json!({}),
        )
        .await;
    assert_eq!(pause.status(), StatusCode::NO_CONTENT);
    let victim = app.store.user_by_name("victim").await.unwrap().unwrap().id;
    let project: Value = admin
        .get(&format!("/api/v1/projects/{a}"))
        .await
        .json()
        .await
        .unwrap();
    let open_token = project["open_link_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let callers = vec![
        Caller {
            who: Who::Anonymous,
            token: None,
            browser: None,
        },
        Caller {
            who: Who::RaterOfProject,
            token: Some(token_of(&app, "rater-a").await),
            browser: Some(rater_a),
        },
        Caller {
            who: Who::RaterOfAnother,
            token: Some(token_of(&app, "rater-b").await),
            browser: Some(rater_b),
        },
        Caller {
            who: Who::PausedRater,
            token: Some(token_of(&app, "paused").await),
            browser: Some(paused),
        },
        Caller {
            who: Who::LinkUserOfProject,
            token: None,
            browser: Some(link_browser(&app, &admin, a).await),
        },
        Caller {
            who: Who::LinkUserOfAnother,
            token: None,
            browser: Some(link_browser(&app, &admin, b).await),
        },
        Caller {
            who: Who::KeyOfProject,
            token: Some(feedback_key(&admin, a).await),
            browser: None,
        },
        Caller {
            who: Who::KeyOfAnother,
            token: Some(feedback_key(&admin, b).await),
            browser: None,
        },
        Caller {
            who: Who::Admin,
            token: Some(token_of(&app, "boss").await),
            browser: Some(boss),
        },
        Caller {
            who: Who::Reviewer,
            token: Some(token_of(&app, "rev").await),
            browser: Some(reviewer),
        },
        Caller {
            who: Who::NamedReviewer,
            token: Some(token_of(&app, "named-rev").await),
            browser: Some(named_reviewer),
        },
    ];
    assert_eq!(callers.len(), EVERYONE.len());
    World {
        app,
        project: a,
        item,
        victim,
        open_token,
        callers,
    }
}

impl World {
    /// The route's path with its parameters filled: ids that exist where the call is
    /// harmless, ids that do not where it would destroy what later calls need.
    fn path(&self, route: &RouteInfo) -> String {
        route
            .path
            .replace("{pid}", &self.project.to_string())
            .replace("{iid}", &self.item.to_string())
            .replace("{rid}", &self.victim.to_string())
            .replace("{uid}", &self.victim.to_string())
            .replace("{kid}", "999999")
            .replace("{tid}", "999999")
            .replace("{wid}", "999999")
            .replace("{token}", &self.open_token)
            .replace("{sha}", &"0".repeat(64))
    }

    async fn call(&self, route: &RouteInfo, caller: &Caller) -> reqwest::Response {
        let path = self.path(route);
        let url = self.app.url(&path);
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let is_api = path.starts_with("/api/");
        let session = caller
            .browser
            .as_ref()
            .filter(|_| !is_api || caller.token.is_none());
        let client = match session {
            Some(browser) => browser.client.clone(),
            None => Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        let mut request = client.request(method.clone(), &url);
        if session.is_none() {
            if let Some(token) = &caller.token {
                request = request.bearer_auth(token);
            }
        }
        if method == Method::GET {
            return request.send().await.unwrap();
        }
        if is_api {
            let body = if path.ends_with("/labels") {
                json!({"value": "pos"})
            } else if path.ends_with("/report") {
                json!({"reason": "broken"})
            } else {
                json!({})
            };
            return request.json(&body).send().await.unwrap();
        }
        // Forms carry the session's CSRF token, except on public routes (sign-in and the
        // links), where a valid token would sign the caller in as someone else.
        let mut form = vec![
            ("value", "pos".to_string()),
            ("reason", "broken".to_string()),
        ];
        // A final label would close the item that later calls label: send the review form
        // without an answer, which passes the gate and is refused as input.
        if path.starts_with("/review/") {
            form.retain(|(key, _)| *key != "value");
        }
        if let (Some(browser), false) = (session, route.access == Access::Public) {
            if let Some(csrf) = csrf_of(browser).await {
                form.push(("csrf", csrf));
            }
        }
        request.form(&form).send().await.unwrap()
    }
}

/// The CSRF token of a signed-in browser, from its start page (or where that leads).
async fn csrf_of(browser: &Browser) -> Option<String> {
    let mut path = "/".to_string();
    for _ in 0..3 {
        let page = browser.get(&path).await;
        if let Some(next) = page.headers().get("location") {
            path = next.to_str().ok()?.to_string();
            continue;
        }
        let html = page.text().await.ok()?;
        return html.contains("name=\"csrf\"").then(|| csrf_in(&html));
    }
    None
}

fn is_refusal(status: StatusCode, location: Option<&str>) -> bool {
    let to_login =
        status == StatusCode::SEE_OTHER && location.is_some_and(|l| l.starts_with("/login"));
    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN || to_login
}

async fn every_route_answers_every_caller_as_declared(app: TestApp) {
    let world = world(app).await;
    let mut routes = route_list();
    // Signing out ends a caller's session, so it comes last.
    routes.sort_by_key(|r| r.path == "/logout");
    let declared: std::collections::HashSet<(String, &str)> = routes
        .iter()
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    assert_eq!(declared.len(), routes.len(), "no route is declared twice");
    assert!(routes.len() > 60, "{} routes", routes.len());
    let mut failures = Vec::new();
    for route in &routes {
        for caller in &world.callers {
            let response = world.call(route, caller).await;
            let status = response.status();
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(String::from);
            let line = format!(
                "{} {} as {:?}: {status} {}",
                route.method,
                route.path,
                caller.who,
                location.as_deref().unwrap_or("")
            );
            if status.is_server_error() {
                failures.push(format!("{line} (server error)"));
                continue;
            }
            match allowed(route.access, caller.who) {
                Some(true) if is_refusal(status, location.as_deref()) => {
                    failures.push(format!("{line} (should pass the gate)"))
                }
                Some(false) if !is_refusal(status, location.as_deref()) => {
                    failures.push(format!("{line} (should be refused)"))
                }
                _ => {}
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} calls answered wrongly:\n{}",
        failures.len(),
        routes.len() * world.callers.len(),
        failures.join("\n")
    );
}
