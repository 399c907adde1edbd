//! The stylesheet and scripts, compiled into the binary so it runs from anywhere.

use super::routes::{Access, Routes};
use axum::http::header;
use axum::response::IntoResponse;

const CSS: &str = include_str!("../../static/app.css");
const KEYS_JS: &str = include_str!("../../static/keys.js");
const SPANS_JS: &str = include_str!("../../static/spans.js");
const BOXES_JS: &str = include_str!("../../static/boxes.js");
const ZOOM_JS: &str = include_str!("../../static/zoom.js");
const FIGURES_JS: &str = include_str!("../../static/figures.js");

pub fn routes() -> Routes {
    Routes::default()
        .get("/static/app.css", Access::Public, || {
            asset("text/css; charset=utf-8", CSS)
        })
        .get("/static/keys.js", Access::Public, || {
            asset("text/javascript; charset=utf-8", KEYS_JS)
        })
        .get("/static/spans.js", Access::Public, || {
            asset("text/javascript; charset=utf-8", SPANS_JS)
        })
        .get("/static/boxes.js", Access::Public, || {
            asset("text/javascript; charset=utf-8", BOXES_JS)
        })
        .get("/static/zoom.js", Access::Public, || {
            asset("text/javascript; charset=utf-8", ZOOM_JS)
        })
        .get("/static/figures.js", Access::Public, || {
            asset("text/javascript; charset=utf-8", FIGURES_JS)
        })
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
