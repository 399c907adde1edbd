//! The OpenAPI description and the router agree: every API route of the router's own table
//! is described with its method and path, and nothing is described that the router does not
//! serve. A new API route without its `#[utoipa::path]` fails here.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use tally::web::routes::{route_list, Access};

use crate::harness::TestApp;
use crate::on_both_backends;

on_both_backends!(the_description_is_served_to_anyone);

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::to_value(tally::web::api::openapi()).expect("the description is JSON")
}

/// Every (METHOD, path template) the description holds.
fn described(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths is an object");
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

fn served() -> BTreeSet<(String, String)> {
    route_list()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect()
}

#[test]
fn every_api_route_is_described_and_nothing_else() {
    let described = described(&document());
    let served = served();
    assert!(served.len() > 30, "the API has its routes: {served:?}");
    let undocumented: Vec<_> = served.difference(&described).collect();
    let phantom: Vec<_> = described.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "API routes without a #[utoipa::path] listed in src/web/api/openapi.rs: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "described routes the router does not serve: {phantom:?}"
    );
}

fn operation<'a>(document: &'a Value, method: &str, path: &str) -> &'a Value {
    &document["paths"][path][method.to_lowercase()]
}

/// The `{name}` segments of a path template.
fn template_params(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_operation_declares_its_path_parameters_security_and_refusals() {
    let document = document();
    let schemes = &document["components"]["securitySchemes"];
    for route in route_list().iter().filter(|r| r.path.starts_with("/api/")) {
        let op = operation(&document, route.method.as_str(), route.path);
        let what = format!("{} {}", route.method, route.path);
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            declared,
            template_params(route.path),
            "{what}: path parameters"
        );

        let security: Vec<&str> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_object())
            .flat_map(|s| s.keys().map(String::as_str))
            .collect();
        let responses = op["responses"].as_object().expect("responses");
        if route.access == Access::Public {
            assert!(security.is_empty(), "{what} is public: {security:?}");
            continue;
        }
        let expected = match route.access {
            Access::FeedbackKey => "feedback_key",
            _ => "bearer_token",
        };
        assert_eq!(security, [expected], "{what}: security");
        assert!(
            schemes.get(expected).is_some(),
            "scheme {expected} is declared"
        );
        for status in ["401", "403"] {
            assert!(responses.contains_key(status), "{what} documents {status}");
        }
        if !declared.is_empty() {
            for status in ["400", "404"] {
                assert!(responses.contains_key(status), "{what} documents {status}");
            }
        }
        if op.get("requestBody").is_some() {
            assert!(responses.contains_key("422"), "{what} documents 422");
        }
    }
}

async fn the_description_is_served_to_anyone(app: TestApp) {
    let response = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json")));
    let served: Value = response.json().await.unwrap();
    assert_eq!(served, document());
    assert!(served["openapi"].as_str().unwrap().starts_with("3."));
}
