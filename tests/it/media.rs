//! Uploaded images: upload and dedup, type sniffed from the bytes, size limits, serving
//! headers and who may fetch them, references from items (boxes checked inside the image),
//! and zip or multipart imports that land whole or not at all.

use std::io::Write;

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tally::domain::user::Role;
use tally::Config;

use crate::harness::{attr_of, csrf_in, Api, Backend, TestApp, TEST_MAX_BODY};
use crate::on_both_backends;

on_both_backends!(
    uploads_are_deduplicated_and_served_with_cache_headers,
    only_png_jpeg_webp_and_gif_are_taken,
    media_are_served_only_to_who_may_see_the_project,
    items_name_uploaded_images_and_boxes_stay_inside,
    zip_imports_land_whole_or_not_at_all,
    multipart_imports_bring_their_images,
    the_admin_page_imports_a_zip,
);

/// A PNG header that states its size; all a header reader needs.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes
}

fn gif(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = b"GIF89a".to_vec();
    bytes.extend_from_slice(&width.to_le_bytes());
    bytes.extend_from_slice(&height.to_le_bytes());
    bytes.extend_from_slice(&[0, 0, 0]);
    bytes
}

const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><script>alert(1)</script></svg>";

async fn upload(admin: &Api, pid: i64, files: &[(&str, Vec<u8>)]) -> reqwest::Response {
    let mut form = Form::new();
    for (name, bytes) in files {
        form = form.part(
            "file",
            Part::bytes(bytes.clone()).file_name(name.to_string()),
        );
    }
    admin
        .client
        .post(format!("{}/api/v1/projects/{pid}/media", admin.base))
        .bearer_auth(&admin.token)
        .multipart(form)
        .send()
        .await
        .expect("request")
}

async fn project(app: &TestApp, admin: &Api, body: Value) -> i64 {
    let created = admin.post_json("/api/v1/projects", &body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let _ = app;
    created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

fn boxes_project() -> Value {
    json!({"name": "Boxes", "kind": "boxes", "labels": ["cat", "dog"], "field": "image", "overlap": 2})
}

async fn error_of(response: reqwest::Response) -> String {
    response.json::<Value>().await.unwrap()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn uploads_are_deduplicated_and_served_with_cache_headers(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(&app, &admin, boxes_project()).await;
    let cat = png(30, 20);
    let response = upload(
        &admin,
        pid,
        &[("cat.png", cat.clone()), ("photo.jpg", png(7, 9))],
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let first = &body["media"][0];
    let sha = first["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    assert_eq!(first["url"], format!("/media/{pid}/{sha}"));
    assert_eq!(
        (first["width"].as_u64(), first["height"].as_u64()),
        (Some(30), Some(20))
    );
    assert_eq!(first["new"], true);
    // The type comes from the bytes: a PNG named .jpg is a PNG.
    assert_eq!(body["media"][1]["content_type"], "image/png");
    assert_eq!(body["media"][1]["width"], 7);

    let again: Value = upload(&admin, pid, &[("same-cat.png", cat.clone())])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["media"][0]["sha256"], sha.as_str());
    assert_eq!(again["media"][0]["new"], false);
    assert_eq!(app.count("SELECT count(*) FROM media").await, 2);

    let served = admin.get(&format!("/media/{pid}/{sha}")).await;
    assert_eq!(served.status(), StatusCode::OK);
    let headers = served.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["cache-control"],
        "private, max-age=31536000, immutable"
    );
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{sha}\""));
    assert_eq!(served.bytes().await.unwrap().to_vec(), cat);

    let revalidated = admin
        .client
        .get(app.url(&format!("/media/{pid}/{sha}")))
        .bearer_auth(&admin.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
}

async fn only_png_jpeg_webp_and_gif_are_taken(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(&app, &admin, boxes_project()).await;
    let refused = [
        ("drawing.svg", SVG.to_vec()),
        (
            "noise.png",
            (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        ),
        ("empty.gif", Vec::new()),
    ];
    for (name, bytes) in refused {
        let response = upload(&admin, pid, &[("fine.gif", gif(3, 4)), (name, bytes)]).await;
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{name}"
        );
        let error = error_of(response).await;
        assert!(error.contains(&format!("{name:?}")), "{error}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM media").await,
        0,
        "a refused upload stores none of its files"
    );
    let not_multipart = admin
        .post_json(&format!("/api/v1/projects/{pid}/media"), &json!({}))
        .await;
    assert_eq!(not_multipart.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // An empty form: a clear refusal, whether the multipart reader or tally says so.
    let nothing = upload(&admin, pid, &[]).await.status();
    assert!(
        nothing == StatusCode::UNPROCESSABLE_ENTITY || nothing == StatusCode::BAD_REQUEST,
        "{nothing}"
    );
}

/// The size limit, on a server whose limit is small enough to test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_over_the_size_limit_get_413() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let config = Config {
            max_body_bytes: TEST_MAX_BODY,
            max_media_bytes: 1000,
            ..Config::default()
        };
        let Some(app) = TestApp::start_with(backend, config).await else {
            continue;
        };
        let admin = app.admin().await;
        let pid = project(&app, &admin, boxes_project()).await;
        let mut big = png(10, 10);
        big.resize(1001, 0);
        let response = upload(&admin, pid, &[("big.png", big)]).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error_of(response).await.contains("\"big.png\""));
        let mut fits = png(10, 10);
        fits.resize(1000, 0);
        assert_eq!(
            upload(&admin, pid, &[("fits.png", fits)]).await.status(),
            StatusCode::CREATED
        );
        // A zip entry that unpacks past the limit is refused before it is all read.
        let bomb = zip_of(&[
            (
                "items.jsonl",
                b"{\"data\": {\"image\": \"big.png\"}}".to_vec(),
            ),
            ("big.png", vec![0; 200_000]),
        ]);
        let response = admin
            .post_raw(
                &format!("/api/v1/projects/{pid}/items"),
                "application/zip",
                bomb,
            )
            .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error_of(response).await.contains("\"big.png\""));
        app.cleanup().await;
    }
}

async fn media_are_served_only_to_who_may_see_the_project(app: TestApp) {
    let admin = app.admin().await;
    let a = project(&app, &admin, boxes_project()).await;
    let b = project(&app, &admin, boxes_project()).await;
    let uploaded: Value = upload(&admin, a, &[("cat.png", png(5, 5))])
        .await
        .json()
        .await
        .unwrap();
    let sha = uploaded["media"][0]["sha256"].as_str().unwrap().to_string();
    let member = app.rater("member").await;
    let stranger = app.rater("stranger").await;
    for (pid, name) in [(a, "member"), (b, "stranger")] {
        let added = admin
            .post_json(
                &format!("/api/v1/projects/{pid}/members"),
                &json!({"name": name}),
            )
            .await;
        assert_eq!(added.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(
        member.get(&format!("/media/{a}/{sha}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        stranger.get(&format!("/media/{a}/{sha}")).await.status(),
        StatusCode::FORBIDDEN
    );
    // The stranger's own project does not have the image: project scoping, not a global store.
    assert_eq!(
        stranger.get(&format!("/media/{b}/{sha}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(&format!("/media/{a}/{sha}")))
        .send()
        .await
        .unwrap();
    assert!(anonymous.status() == StatusCode::UNAUTHORIZED || anonymous.status().is_redirection());
    for path in [
        format!("/media/{a}/{}", sha.to_uppercase()),
        format!("/media/{a}/{}", &sha[..63]),
        format!("/media/{a}/..%2F..%2Fetc%2Fpasswd"),
        format!("/media/{a}/%2E%2E"),
        format!("/media/{a}/{sha}%00"),
        format!("/media/{a}/{sha}/..%2F{sha}"),
    ] {
        let status = member.get(&path).await.status();
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{path}: {status}"
        );
    }
}

async fn items_name_uploaded_images_and_boxes_stay_inside(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(&app, &admin, boxes_project()).await;
    let uploaded: Value = upload(&admin, pid, &[("street.png", png(100, 80))])
        .await
        .json()
        .await
        .unwrap();
    let sha = uploaded["media"][0]["sha256"].as_str().unwrap().to_string();

    let unknown = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items"),
            &json!([{"data": {"image": format!("media:{sha}")}}, {"data": {"image": format!("media:{}", "f".repeat(64))}}]),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error = error_of(unknown).await;
    assert!(
        error.contains("line 1") || error.contains("no uploaded image"),
        "{error}"
    );
    let outside_gold = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items"),
            &json!([{"data": {"image": format!("media:{sha}")}, "gold": [{"x": 90, "y": 0, "w": 20, "h": 5, "label": "cat"}]}]),
        )
        .await;
    assert_eq!(outside_gold.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_of(outside_gold).await.contains("100 x 80"));
    assert_eq!(app.count("SELECT count(*) FROM items").await, 0);

    let imported = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/items"),
            &json!([{"external_id": "s1", "data": {"image": format!("media:{sha}")}}]),
        )
        .await;
    assert_eq!(
        imported.status(),
        StatusCode::CREATED,
        "{:?}",
        imported.text().await
    );

    app.user_with_password("looker", Role::Rater, "looker password 1")
        .await;
    let browser = app.browser();
    browser.login("looker", "looker password 1").await;
    let html = browser.page(&format!("/rate/{pid}")).await;
    assert_eq!(
        attr_of(&html, "img#item-image", "src").as_deref(),
        Some(format!("/media/{pid}/{sha}").as_str()),
        "the labelling page shows the uploaded image"
    );
    assert_eq!(
        attr_of(&html, "img#item-image", "width").as_deref(),
        Some("100")
    );
    let iid: i64 = admin.export(pid).await[0]["id"].as_i64().unwrap();
    let rater = app.rater("boxer").await;
    assert_eq!(rater.next(pid).await, Some(iid));
    let outside = rater
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/labels"),
            &json!({"value": [{"x": 50, "y": 50, "w": 10, "h": 40, "label": "dog"}]}),
        )
        .await;
    assert_eq!(outside.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_of(outside)
        .await
        .contains("reaches past the image (100 x 80 pixels)"));
    let inside = rater
        .post_json(
            &format!("/api/v1/projects/{pid}/items/{iid}/labels"),
            &json!({"value": [{"x": 50, "y": 40, "w": 10, "h": 40, "label": "dog"}]}),
        )
        .await;
    assert_eq!(inside.status(), StatusCode::CREATED);
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

async fn zip_imports_land_whole_or_not_at_all(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(&app, &admin, boxes_project()).await;
    let path = format!("/api/v1/projects/{pid}/items");
    let items = |names: &[&str]| -> Vec<u8> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!("{{\"external_id\": \"z{i}\", \"data\": {{\"image\": \"{n}\"}}}}\n")
            })
            .collect::<String>()
            .into_bytes()
    };
    let failing = [
        (
            zip_of(&[
                ("items.jsonl", items(&["a.png", "missing.png"])),
                ("a.png", png(4, 4)),
            ]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "line 2",
        ),
        (
            zip_of(&[
                ("items.jsonl", items(&["a.png"])),
                ("a.png", png(4, 4)),
                ("logo.svg", SVG.to_vec()),
            ]),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "\"logo.svg\"",
        ),
        (
            zip_of(&[("items.jsonl", items(&["a.png"])), ("../a.png", png(4, 4))]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside the archive",
        ),
        (
            zip_of(&[
                ("items.jsonl", items(&["a.png"])),
                ("img/../a.png", png(4, 4)),
            ]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "through \"..\"",
        ),
        (
            zip_of(&[("a.png", png(4, 4))]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no items file",
        ),
        (
            b"PK\x03\x04 not really a zip".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "zip",
        ),
    ];
    for (body, status, fragment) in failing {
        let response = admin.post_raw(&path, "application/zip", body).await;
        assert_eq!(response.status(), status, "{fragment}");
        let error = error_of(response).await;
        assert!(error.contains(fragment), "{error}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM media").await,
        0,
        "nothing of a refused zip stays"
    );
    assert_eq!(app.count("SELECT count(*) FROM items").await, 0);

    let good = zip_of(&[
        (
            "batch/items.jsonl",
            items(&["a.png", "batch/b.gif", "a.png"]),
        ),
        ("batch/a.png", png(4, 4)),
        ("batch/b.gif", gif(6, 3)),
        ("__MACOSX/batch/._a.png", vec![0, 1, 2]),
    ]);
    let response = admin.post_raw(&path, "application/zip", good).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.text().await
    );
    assert_eq!(app.count("SELECT count(*) FROM media").await, 2);
    let rows = admin.export(pid).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["data"]["image"]["width"], 4);
    assert_eq!(rows[0]["data"]["image"]["name"], "batch/a.png");
    assert_eq!(rows[1]["data"]["image"]["height"], 3);
    assert_eq!(
        rows[0]["data"]["image"]["media"],
        rows[2]["data"]["image"]["media"]
    );
    let sha = rows[1]["data"]["image"]["media"].as_str().unwrap();
    let served = admin.get(&format!("/media/{pid}/{sha}")).await;
    assert_eq!(served.headers()["content-type"], "image/gif");
}

async fn multipart_imports_bring_their_images(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(&app, &admin, boxes_project()).await;
    let csv = "external_id,image,note\nm1,cat.png,first\nm2,cat.png,second\n";
    let form = Form::new()
        .part("file", Part::bytes(png(12, 8)).file_name("cat.png"))
        .part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name("items.csv"),
        );
    let response = admin
        .client
        .post(format!("{}/api/v1/projects/{pid}/items", admin.base))
        .bearer_auth(&admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.text().await
    );
    let rows = admin.export(pid).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["data"]["image"]["width"], 12);
    assert_eq!(rows[1]["data"]["note"], "second");
    assert_eq!(app.count("SELECT count(*) FROM media").await, 1);
}

async fn the_admin_page_imports_a_zip(app: TestApp) {
    let admin = app.admin().await;
    let pid = project(&app, &admin, boxes_project()).await;
    app.user_with_password("boss", Role::Admin, "boss password 1")
        .await;
    let browser = app.browser();
    browser.login("boss", "boss password 1").await;
    let page = format!("/admin/projects/{pid}");
    let html = browser.get(&page).await.text().await.unwrap();
    assert!(
        attr_of(&html, "input[type=file]", "accept")
            .unwrap()
            .contains(".zip"),
        "the form offers zips"
    );
    let zip = zip_of(&[
        ("items.csv", b"external_id,image\np1,p.png\n".to_vec()),
        ("p.png", png(9, 9)),
    ]);
    let form = Form::new()
        .text("csrf", csrf_in(&html))
        .part("file", Part::bytes(zip).file_name("batch.zip"));
    let response = browser
        .client
        .post(app.url(&format!("/admin/projects/{pid}/import")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the upload is previewed first"
    );
    assert_eq!(app.count("SELECT count(*) FROM media").await, 0);
    let preview = response.text().await.unwrap();
    let confirm = attr_of(&preview, "form[action$='/confirm']", "action").unwrap();
    let response = browser
        .post_form(&confirm, &[("csrf", &csrf_in(&preview)), ("skip", "")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/admin/projects/{pid}?imported=1&skipped=0").as_str()
    );
    assert_eq!(app.count("SELECT count(*) FROM media").await, 1);
}
