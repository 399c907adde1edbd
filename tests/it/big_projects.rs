//! Big projects stay quick: each rater's count of labels and each project's progress are
//! kept as labels come, the items left for a rater are counted only so far, and
//! whole-project figures that cost seconds are kept in memory and dated, while a small
//! project's figures are exact on every view.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{attr_of, select_text, Api, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_small_project_shows_exact_figures_on_every_view,
    a_large_project_serves_kept_figures_with_their_time,
    a_large_projects_pages_answer_while_their_figures_are_computed,
    a_figure_computed_again_is_served_as_kept_when_the_page_stops_waiting,
    a_project_of_many_rows_answers_without_waiting_for_its_figures,
    each_raters_kept_count_follows_their_labels,
    a_projects_kept_progress_follows_every_change_to_its_items,
    an_import_counts_its_items_and_the_labels_they_bring,
    the_items_left_are_counted_to_a_thousand,
    background_work_runs_on_threads_of_its_own_on_postgresql,
    figures_no_one_waits_for_are_computed_one_at_a_time,
);

async fn page(api: &Api, path: &str) -> String {
    let response = api.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.expect("page")
}

async fn label_next(api: &Api, pid: i64) {
    let iid = api.next(pid).await.expect("an item to label");
    let saved = api.label(pid, iid, "pos").await;
    assert_eq!(saved.status(), StatusCode::CREATED);
}

async fn labels_given(admin: &Api, pid: i64) -> (String, Option<String>) {
    let html = page(admin, &format!("/admin/projects/{pid}")).await;
    (
        select_text(&html, "#stat-labels").expect("labels given"),
        select_text(&html, "#figures-as-of"),
    )
}

async fn a_small_project_shows_exact_figures_on_every_view(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b", "c"]).await;
    let ann = app.rater("ann").await;
    assert_eq!(labels_given(&admin, pid).await, ("0".into(), None));
    label_next(&ann, pid).await;
    assert_eq!(labels_given(&admin, pid).await, ("1".into(), None));
}

async fn a_large_project_serves_kept_figures_with_their_time(app: TestApp) {
    // Every database counts as large and every figure as costly; pages wait for figures
    // not kept yet as long as they take.
    app.store.keep_figures(0, Duration::ZERO);
    app.store.set_page_wait(Duration::from_secs(60));
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b", "c"]).await;
    let ann = app.rater("ann").await;
    let (given, _) = labels_given(&admin, pid).await;
    assert_eq!(given, "0");
    let queue_before = page(&admin, &format!("/admin/projects/{pid}")).await;
    // Two labels complete an item, which a recomputed queue would count as done.
    label_next(&ann, pid).await;
    label_next(&app.rater("bob").await, pid).await;
    // Within the figures' freshness the overview shows them as computed, and says when.
    let html = page(&admin, &format!("/admin/projects/{pid}")).await;
    let note = select_text(&html, "#figures-as-of").expect("the page dates kept figures");
    assert!(note.contains("UTC"), "{note}");
    assert_eq!(
        select_text(&html, "#queue"),
        select_text(&queue_before, "#queue"),
        "the kept queue is served until it is refreshed"
    );
    // Progress is kept up to date as labels come, so it is exact even here, on the page
    // and in the API.
    assert_eq!(select_text(&html, "#stat-labels").as_deref(), Some("2"));
    assert_eq!(select_text(&html, "#stat-complete").as_deref(), Some("1"));
    let project = admin.json(&format!("/api/v1/projects/{pid}")).await;
    assert_eq!(project["progress"]["labels"], 2, "{project}");
    // What raters see is never kept: ann's own count moved at once.
    let home = page(&ann, "/").await;
    assert!(home.contains("2 items left for you"), "{home}");
}

async fn a_large_projects_pages_answer_while_their_figures_are_computed(app: TestApp) {
    app.store.keep_figures(0, Duration::ZERO);
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b", "c"]).await;
    let ann = app.rater("ann").await;
    label_next(&ann, pid).await;
    label_next(&app.rater("bob").await, pid).await;

    // While no figure can be computed, every page that shows some answers all the same,
    // with what is kept exact and the rest said to be under way.
    let hold = app.store.hold_figures().await;
    let overview = page(&admin, &format!("/admin/projects/{pid}")).await;
    for section in ["#queue", "#raters", "#pace"] {
        let computing = select_text(
            &overview,
            &format!("{section}[data-computing] .computing-note"),
        );
        assert!(
            computing.is_some_and(|note| note.contains("being computed")),
            "{section} is shown as being computed: {overview}"
        );
    }
    // The address the page's script asks again: the overview's own, also when the page was
    // shown in answer to a form posted elsewhere.
    assert_eq!(
        attr_of(&overview, "#queue", "data-computing"),
        Some(format!("/admin/projects/{pid}"))
    );
    assert_eq!(select_text(&overview, "#stat-labels").as_deref(), Some("2"));
    assert!(
        select_text(&overview, "#raters tbody tr").is_some(),
        "the raters are listed"
    );
    assert!(
        overview.contains("/static/figures.js"),
        "the page fills figures in as they come"
    );
    assert!(
        select_text(&overview, "#rates-form").is_some(),
        "the rates can be set meanwhile"
    );
    let report = page(&admin, &format!("/admin/projects/{pid}/report")).await;
    assert!(
        select_text(&report, "#report-computing[data-computing]").is_some(),
        "{report}"
    );
    let health = page(&admin, &format!("/admin/projects/{pid}/health")).await;
    assert!(
        select_text(&health, "#health-computing[data-computing]").is_some(),
        "{health}"
    );
    let people = page(&admin, "/admin/users").await;
    assert!(
        select_text(&people, "#people[data-computing]").is_some(),
        "{people}"
    );
    assert!(people.contains("ann"), "{people}");

    // The API answers with the figures: it waits for the computation under way.
    let api = admin.clone();
    let report_api =
        tokio::spawn(async move { api.json(&format!("/api/v1/projects/{pid}/report")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !report_api.is_finished(),
        "the report API waits for the report"
    );
    drop(hold);
    let report = report_api.await.expect("the report request");
    assert_eq!(
        report["raters"].as_array().map(Vec::len),
        Some(2),
        "ann's and bob's figures: {report}"
    );

    // What the pages started goes on without them and is kept: the next views show it.
    let mut overview = String::new();
    for _ in 0..100 {
        overview = page(&admin, &format!("/admin/projects/{pid}")).await;
        if select_text(&overview, "[data-computing]").is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        select_text(&overview, "[data-computing]").is_none(),
        "{overview}"
    );
    assert!(!overview.contains("/static/figures.js"));
    assert!(
        select_text(&overview, "#figures-as-of").is_some(),
        "the figures are kept"
    );
    assert!(
        select_text(&overview, "#queue").is_some_and(|queue| queue.contains("1 items done")),
        "{overview}"
    );
    let report = page(&admin, &format!("/admin/projects/{pid}/report")).await;
    assert!(select_text(&report, "#alpha").is_some(), "{report}");
}

async fn a_figure_computed_again_is_served_as_kept_when_the_page_stops_waiting(app: TestApp) {
    // Every figure counts as cheap, so each view computes it again; the first view waits.
    app.store.keep_figures(0, Duration::from_secs(3600));
    app.store.set_page_wait(Duration::from_secs(60));
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b", "c"]).await;
    label_next(&app.rater("ann").await, pid).await;
    let first = page(&admin, &format!("/admin/projects/{pid}")).await;
    assert!(select_text(&first, "[data-computing]").is_none(), "{first}");
    // A page that cannot wait for the new computation shows the kept figures, dated,
    // rather than none.
    app.store.set_page_wait(Duration::ZERO);
    let hold = app.store.hold_figures().await;
    let again = page(&admin, &format!("/admin/projects/{pid}")).await;
    drop(hold);
    assert!(select_text(&again, "[data-computing]").is_none(), "{again}");
    assert!(select_text(&again, "#figures-as-of").is_some(), "{again}");
    assert_eq!(select_text(&again, "#queue"), select_text(&first, "#queue"));
}

/// The pages of a project of many rows answer without waiting for figures not kept yet
/// (their first computation takes far longer than a page waits), however long pages may
/// wait otherwise; a smaller project's pages still wait.
async fn a_project_of_many_rows_answers_without_waiting_for_its_figures(app: TestApp) {
    app.store.keep_figures(0, Duration::ZERO);
    app.store.set_page_wait(Duration::from_secs(60));
    app.store.wait_for_figures_under(10);
    let admin = app.admin().await;
    let small = app.project_with_items(&admin, 2, &["a", "b"]).await;
    let texts: Vec<String> = (0..12).map(|i| format!("item {i}")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let many = app.project_with_items(&admin, 2, &texts).await;

    let hold = app.store.hold_figures().await;
    let started = std::time::Instant::now();
    for (path, computing) in [
        (format!("/admin/projects/{many}"), "#queue[data-computing]"),
        (
            format!("/admin/projects/{many}/report"),
            "#report-computing[data-computing]",
        ),
        (
            format!("/admin/projects/{many}/health"),
            "#health-computing[data-computing]",
        ),
    ] {
        let html = page(&admin, &path).await;
        assert!(select_text(&html, computing).is_some(), "{path}: {html}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the pages did not wait the minute they may: {:?}",
        started.elapsed()
    );
    let api = admin.clone();
    let waiting =
        tokio::spawn(async move { page(&api, &format!("/admin/projects/{small}")).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a small project's page waits for its figures"
    );
    drop(hold);
    let overview = waiting.await.expect("the small project's page");
    assert!(
        select_text(&overview, "[data-computing]").is_none(),
        "{overview}"
    );
}

async fn each_raters_kept_count_follows_their_labels(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b", "c"]).await;
    let other = app.project_with_items(&admin, 1, &["d"]).await;
    let ann = app.rater("ann").await;
    label_next(&ann, pid).await;
    label_next(&ann, pid).await;
    label_next(&ann, other).await;
    let raters = admin.json(&format!("/api/v1/projects/{pid}/raters")).await;
    let row = &raters.as_array().expect("raters")[0];
    assert_eq!(row["labels"], 2, "{raters}");
    let newest = app
        .count(&format!(
            "SELECT max(created_at) FROM labels WHERE project_id = {pid}"
        ))
        .await;
    assert_eq!(row["last_active_at"], newest, "{raters}");
    // The people list sums a person's projects.
    let people = page(&admin, "/admin/users").await;
    let kept = app
        .count("SELECT CAST(sum(labels) AS BIGINT) FROM rater_tallies WHERE rater_id = (SELECT id FROM users WHERE name = 'ann')")
        .await;
    assert_eq!(kept, 3);
    assert_eq!(
        kept,
        app.count("SELECT count(*) FROM labels WHERE rater_id = (SELECT id FROM users WHERE name = 'ann')")
            .await
    );
    assert!(people.contains("ann"), "{people}");
    // A label removed (nothing in tally removes one; a cascade could) leaves the count.
    app.count(&format!(
        "DELETE FROM labels WHERE project_id = {other} RETURNING project_id"
    ))
    .await;
    let left = app
        .count(&format!(
            "SELECT labels FROM rater_tallies WHERE project_id = {other}"
        ))
        .await;
    assert_eq!(left, 0);
    let last = app
        .count(&format!(
            "SELECT count(*) FROM rater_tallies WHERE project_id = {other} AND last_label_at IS NULL"
        ))
        .await;
    assert_eq!(last, 1, "the last label's time goes with it");
}

/// The progress the API gives next to the same figures counted from the items.
async fn assert_progress_is_counted(app: &TestApp, admin: &Api, pid: i64) {
    let project = admin.json(&format!("/api/v1/projects/{pid}")).await;
    let progress = &project["progress"];
    let counted = |what: &str| {
        format!(
            "SELECT CAST(coalesce(sum({what}), 0) AS BIGINT) FROM items
             WHERE project_id = {pid} AND NOT is_gold AND NOT is_qualification"
        )
    };
    let open = "need_generalist + need_expert + need_user";
    for (key, what) in [
        ("items", "1".to_string()),
        ("labels", "label_count".to_string()),
        (
            "items_complete",
            format!("CASE WHEN {open} = 0 THEN 1 ELSE 0 END"),
        ),
        (
            "items_in_progress",
            format!("CASE WHEN {open} > 0 AND label_count > 0 THEN 1 ELSE 0 END"),
        ),
        (
            "items_untouched",
            "CASE WHEN label_count = 0 THEN 1 ELSE 0 END".to_string(),
        ),
    ] {
        assert_eq!(
            progress[key].as_i64(),
            Some(app.count(&counted(&what)).await),
            "{key}: {progress}"
        );
    }
}

async fn a_projects_kept_progress_follows_every_change_to_its_items(app: TestApp) {
    let admin = app.admin().await;
    let items: Vec<Value> = (0..8)
        .map(|i| serde_json::json!({"external_id": format!("e{i}"), "data": {"text": format!("item {i}")}}))
        .chain([serde_json::json!({"external_id": "g", "data": {"text": "gold"}, "gold": "pos"})])
        .collect();
    let pid = app
        .project_from(
            &admin,
            serde_json::json!({"name": "Kept", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 2}),
            Value::from(items),
        )
        .await;
    assert_progress_is_counted(&app, &admin, pid).await;
    let ann = app.rater("ann").await;
    let bob = app.rater("bob").await;
    for rater in [&ann, &ann, &bob, &ann, &bob] {
        label_next(rater, pid).await;
    }
    assert_progress_is_counted(&app, &admin, pid).await;
    // Changes from outside the labelling path: an item closed, one made gold, one deleted
    // with its labels, more wanted of all (any statement that changes items counts).
    let first = app
        .count(&format!(
            "SELECT min(id) FROM items WHERE project_id = {pid} AND NOT is_gold"
        ))
        .await;
    let sql = [
        format!("UPDATE items SET need_generalist = 0 WHERE id = {} RETURNING id", first + 5),
        format!("UPDATE items SET is_gold = TRUE WHERE id = {} RETURNING id", first + 6),
        format!("DELETE FROM items WHERE id = {first} RETURNING id"),
        format!("UPDATE items SET need_generalist = need_generalist + 1 WHERE project_id = {pid} RETURNING id"),
    ];
    for statement in &sql {
        app.count(statement).await;
        assert_progress_is_counted(&app, &admin, pid).await;
    }
    // Many changes pile up rows of differences (on PostgreSQL); a view folds them into one
    // and the figures stay.
    let change_many = || async {
        for n in 0..70 {
            app.count(&format!(
                "UPDATE items SET need_generalist = {} WHERE id = {} RETURNING id",
                n % 2,
                first + 7
            ))
            .await;
        }
    };
    change_many().await;
    assert_progress_is_counted(&app, &admin, pid).await;
    let rows = format!("SELECT count(*) FROM progress_counts WHERE project_id = {pid}");
    assert_eq!(app.count(&rows).await, 1);
    assert_progress_is_counted(&app, &admin, pid).await;
    // The server's housekeeping folds them without a view too.
    change_many().await;
    app.store.fold_all_progress().await.expect("a fold");
    assert_eq!(app.count(&rows).await, 1);
    assert_progress_is_counted(&app, &admin, pid).await;
    // A project that goes takes its counts with it.
    app.count(&format!(
        "DELETE FROM projects WHERE id = {pid} RETURNING id"
    ))
    .await;
    assert_eq!(app.count(&rows).await, 0);
}

/// An import's items are counted once its rows are in (on SQLite, whose triggers run for
/// each row, an import counts them at its end), gold and qualification items left out,
/// with the labels a Label Studio file brings; a refused import counts nothing.
async fn an_import_counts_its_items_and_the_labels_they_bring(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            serde_json::json!({"name": "Imported", "kind": "single_choice", "labels": ["pos", "neg"],
                               "overlap": 2, "gold_rate": 0.1}),
            serde_json::json!([{"external_id": "first", "data": {"text": "first"}}]),
        )
        .await;
    assert_progress_is_counted(&app, &admin, pid).await;
    let path = format!("/api/v1/projects/{pid}/items");
    // More rows than one statement takes, some gold, some qualification questions.
    let rows: String = (0..1234)
        .map(|i| {
            let extra = match i % 100 {
                0 => r#", "gold": "pos""#,
                1 => r#", "gold": "neg", "qualification": true, "explanation": "it is""#,
                _ => "",
            };
            format!("{{\"external_id\": \"r{i}\", \"data\": {{\"text\": \"row {i}\"}}{extra}}}\n")
        })
        .collect();
    let response = admin
        .post_raw(&path, "application/x-ndjson", rows.into_bytes())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_progress_is_counted(&app, &admin, pid).await;
    let project = admin.json(&format!("/api/v1/projects/{pid}")).await;
    assert_eq!(project["progress"]["items"], 1 + 1234 - 26, "{project}");

    let tasks = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/label_studio/sentiment_tasks.json"
    ))
    .expect("fixture");
    let response = admin
        .post_raw(
            &format!("{path}?format=label-studio"),
            "application/json",
            tasks,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_progress_is_counted(&app, &admin, pid).await;
    let project = admin.json(&format!("/api/v1/projects/{pid}")).await;
    assert_eq!(project["progress"]["labels"], 3, "{project}");

    let refused = admin
        .post_raw(
            &path,
            "application/x-ndjson",
            b"{\"external_id\": \"new\", \"data\": {\"text\": \"new\"}}\n{\"external_id\": \"r7\", \"data\": {\"text\": \"again\"}}\n".to_vec(),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(
        admin.json(&format!("/api/v1/projects/{pid}")).await["progress"],
        project["progress"]
    );
    assert_progress_is_counted(&app, &admin, pid).await;
    if let tally::Store::Sqlite(_) = &app.store {
        assert_eq!(app.count("SELECT count(*) FROM item_imports").await, 0);
    }
}

async fn the_items_left_are_counted_to_a_thousand(app: TestApp) {
    let admin = app.admin().await;
    let texts: Vec<String> = (0..1002).map(|i| format!("review {i}")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pid = app.project_with_items(&admin, 1, &texts).await;
    let ann = app.rater("ann").await;
    let home = page(&ann, "/").await;
    assert!(home.contains("more than 1000 items left for you"), "{home}");
    let iid = ann.next(pid).await.expect("an item");
    let item = page(&ann, &format!("/rate/{pid}/items/{iid}")).await;
    let progress = select_text(&item, "#progress").expect("progress line");
    assert!(
        progress.starts_with("item 1 · more than 1000 left for you"),
        "{progress}"
    );
    // Two labels later, 1000 are left: counted exactly again.
    let saved = ann.label(pid, iid, "pos").await;
    assert_eq!(saved.status(), StatusCode::CREATED);
    label_next(&ann, pid).await;
    let home = page(&ann, "/").await;
    assert!(home.contains("1000 items left for you"), "{home}");
    assert!(!home.contains("more than"), "{home}");
}

/// Work no request waits on as it runs (a big database's figures, the report kept prepared)
/// runs on PostgreSQL on threads of its own, through a store whose queries work as the
/// server's do: decoding the millions of rows of a big project's figures on the threads
/// that answer requests held pages up for seconds. On SQLite it runs beside them (its
/// reads have threads of their own). Either way, aborting its handle ends it.
async fn background_work_runs_on_threads_of_its_own_on_postgresql(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b"]).await;
    let (thread, name) = app
        .store
        .spawn_background(move |store| async move {
            let thread = std::thread::current().name().map(str::to_owned);
            (thread, store.project(pid).await.map(|p| p.name))
        })
        .await
        .expect("the background work");
    assert_eq!(name.expect("the project read in the background"), "Reviews");
    let on_background = thread.as_deref() == Some("tally-background");
    let postgres = matches!(app.store, tally::Store::Postgres(_));
    assert_eq!(on_background, postgres, "ran on {thread:?}");

    let (running, ended) = tokio::sync::oneshot::channel::<()>();
    let work = app.store.spawn_background(move |_| async move {
        let _running = running;
        std::future::pending::<()>().await
    });
    work.abort();
    let ended = tokio::time::timeout(Duration::from_secs(30), ended).await;
    assert!(
        matches!(ended, Ok(Err(_))),
        "the work goes on after its handle was aborted"
    );
}

/// Figures that pages started (shown as being computed meanwhile) are computed one at a
/// time, so that they leave a core to the pages asked for meanwhile; a figure a request
/// waits for (the API's) goes at once, even while another waits for its turn, and so does
/// a page's figure that a request comes to wait for.
async fn figures_no_one_waits_for_are_computed_one_at_a_time(app: TestApp) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    app.store.keep_figures(0, Duration::ZERO);
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b"]).await;
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let figure = |what: &'static str| {
        let (store, running, most) = (app.store.clone(), running.clone(), most.clone());
        let compute = move |_| {
            let (running, most) = (running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(what)
            }
        };
        asked_by_a_page(&store, pid, what, compute)
    };
    let pages = [figure("one"), figure("two"), figure("three")];
    for (page, what) in pages.into_iter().zip(["one", "two", "three"]) {
        let computed = page.await.expect("page task").expect("figure");
        assert_eq!(computed, what);
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        1,
        "figures computed side by side"
    );

    // A page's figure takes the turn and holds it until let go; the API's figure comes
    // meanwhile.
    let (let_go, held) = tokio::sync::oneshot::channel::<()>();
    let (took_turn, turn_taken) = tokio::sync::oneshot::channel::<()>();
    let held = Arc::new(tokio::sync::Mutex::new(Some((took_turn, held))));
    let holding = asked_by_a_page(&app.store, pid, "held", move |_| {
        let held = held.clone();
        async move {
            if let Some((took_turn, held)) = held.lock().await.take() {
                let _ = took_turn.send(());
                let _ = held.await;
            }
            Ok("held")
        }
    });
    turn_taken.await.expect("the page's figure took its turn");
    assert_eq!(
        asked_by_the_api(&app.store, pid, "asked", "asked").await,
        "asked"
    );

    // A page's figure waiting for its turn behind the held one goes at once when the API
    // comes to wait for it too: the API gets the page's computation, not one of its own.
    let queued = asked_by_a_page(&app.store, pid, "queued", |_| async { Ok("page's") });
    while !app.store.figure_under_way(pid, "queued") {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let api = asked_by_the_api(&app.store, pid, "queued", "API's").await;
    assert_eq!(api, "page's");
    let page = queued.await.expect("page task").expect("figure");
    assert_eq!(page, "page's");
    assert!(!holding.is_finished(), "the page's figure was let go early");
    let_go.send(()).expect("the page's figure waits");
    let held = holding.await.expect("page task").expect("figure");
    assert_eq!(held, "held");
}

/// Asks for project `pid`'s figure `what` as a page does: the page stops waiting at once,
/// and the figure goes on being computed (by `compute`) in the background; the figure the
/// page got.
fn asked_by_a_page<F, Fut>(
    store: &tally::Store,
    pid: i64,
    what: &'static str,
    compute: F,
) -> tokio::task::JoinHandle<tally::error::Result<&'static str>>
where
    F: Fn(tally::Store) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = tally::error::Result<&'static str>> + Send + 'static,
{
    let store = store.clone();
    let deadline = tokio::time::Instant::now();
    tokio::spawn(
        tally::store::snapshots::PAGE_DEADLINE.scope(deadline, async move {
            let figure = store.snapshot(pid, what, String::new(), compute).await?;
            Ok(*figure.value)
        }),
    )
}

/// Asks for project `pid`'s figure `what` as the API does (it waits for the figure), with
/// `own` as the value of a computation of its own; the figure it gets. Fails when it waits
/// for 10 s: no figure in these tests takes that long.
async fn asked_by_the_api(
    store: &tally::Store,
    pid: i64,
    what: &'static str,
    own: &'static str,
) -> &'static str {
    let asked = store.snapshot(pid, what, String::new(), move |_| async move { Ok(own) });
    let figure = tokio::time::timeout(Duration::from_secs(10), asked)
        .await
        .expect("the API's figure waited for figures before it")
        .expect("figure");
    *figure.value
}
