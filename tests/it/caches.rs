//! What each server keeps in memory (a token's user, a project, a rater's membership) never
//! outlives a change: the server that made it sees it on its next request, and a second
//! server on the same database (another process) within moments.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use tally::domain::report_keeping::Keeping;
use tally::store::report::{InputSource, OWN_GENERATION, SHARED_GENERATION};
use tally::web::api::ReportKeeper;

use crate::audit::execute;
use crate::harness::{serve, Api, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    changes_show_at_once_here_and_soon_on_a_second_server,
    a_label_under_old_settings_is_refused_then_accepted,
    a_report_shows_every_change_made_before_it_on_any_server,
    a_report_after_new_labels_reads_only_those_and_is_the_report_of_all_labels,
    a_new_server_reads_the_stored_input_back_and_reports_as_reading_every_label,
    a_change_in_one_project_leaves_the_inputs_of_the_others_in_use,
    a_report_after_edits_reads_only_the_items_changed_and_is_the_report_of_all_labels,
    a_starting_server_prepares_the_report_labelled_last_and_reports_at_once_share_one_read,
    a_server_prepares_the_report_of_the_project_being_labelled_once_labelling_pauses,
    a_server_stores_the_input_it_prepared_again_once_the_stored_one_falls_behind,
    a_server_prepares_and_stores_a_big_project_whose_report_no_one_asked_for_once_labelling_pauses,
    labels_given_while_the_keeper_waits_to_read_are_prepared_once,
);

/// A second server on the same database, with its own store and so its own memory.
async fn second_server(app: &TestApp) -> String {
    let store = tally::Store::connect(&app.database_url)
        .await
        .expect("connect");
    format!("http://{}", serve(store, tally::Config::default()).await)
}

/// A project of `count` numbered items (`prefix`), two choices, two to three labels an item,
/// labels editable for ten minutes.
async fn two_choice_project(
    app: &TestApp,
    admin: &Api,
    name: &str,
    prefix: &str,
    count: usize,
) -> i64 {
    let items = crate::harness::numbered_items(prefix, count);
    let settings = json!({"name": name, "labels": ["pos", "neg"], "min_overlap": 2,
                          "max_overlap": 3, "edit_window_seconds": 600});
    app.project_from(admin, settings, Value::Array(items)).await
}

/// [`second_server`], with its store, to see where its report inputs came from.
async fn another_server(app: &TestApp) -> (String, tally::Store) {
    let store = tally::Store::connect(&app.database_url)
        .await
        .expect("connect");
    let addr = serve(store.clone(), tally::Config::default()).await;
    (format!("http://{addr}"), store)
}

fn on(api: &Api, base: &str) -> Api {
    Api {
        client: api.client.clone(),
        base: base.to_string(),
        token: api.token.clone(),
    }
}

async fn status_of_next(api: &Api, pid: i64) -> StatusCode {
    api.get(&format!("/api/v1/projects/{pid}/next"))
        .await
        .status()
}

/// Asks until `next` answers `want`; panics after two seconds, far past the servers'
/// 25 ms bound, so only a change that never shows fails.
async fn eventually(api: &Api, pid: i64, want: StatusCode, what: &str) {
    let started = Instant::now();
    loop {
        let status = status_of_next(api, pid).await;
        if status == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{what}: the second server still answers {status}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn changes_show_at_once_here_and_soon_on_a_second_server(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b", "c"]).await;
    let ann = app.rater("ann").await;
    let bob = app.rater("bob").await;
    let other = second_server(&app).await;
    let (ann_there, bob_there) = (on(&ann, &other), on(&bob, &other));
    // Both servers now keep ann's and bob's users, the project and their memberships.
    for api in [&ann, &bob, &ann_there, &bob_there] {
        assert_eq!(status_of_next(api, pid).await, StatusCode::OK);
    }

    // Naming ann as the project's only member shuts bob out.
    let added = admin
        .post_json(
            &format!("/api/v1/projects/{pid}/members"),
            &json!({"name": "ann"}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_of_next(&bob, pid).await, StatusCode::FORBIDDEN);
    eventually(&bob_there, pid, StatusCode::FORBIDDEN, "membership").await;
    assert_eq!(status_of_next(&ann_there, pid).await, StatusCode::OK);

    // Revoking ann's tokens shuts her out.
    let ann_id = app.store.user_by_name("ann").await.unwrap().unwrap().id;
    let revoked = admin
        .post_json(&format!("/api/v1/users/{ann_id}/deactivate"), &json!({}))
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_of_next(&ann, pid).await, StatusCode::UNAUTHORIZED);
    eventually(&ann_there, pid, StatusCode::UNAUTHORIZED, "deactivation").await;

    // Archiving the project closes it to raters, here and there.
    let carl = app.rater("carl").await;
    let carl_there = on(&carl, &other);
    let open_to_all = admin
        .delete(&format!("/api/v1/projects/{pid}/members/{ann_id}"))
        .await;
    assert_eq!(open_to_all.status(), StatusCode::NO_CONTENT);
    eventually(&carl_there, pid, StatusCode::OK, "open again").await;
    let archived = admin
        .post_json(&format!("/api/v1/projects/{pid}/archive"), &json!({}))
        .await;
    assert_eq!(archived.status(), StatusCode::OK);
    assert_eq!(status_of_next(&carl, pid).await, StatusCode::FORBIDDEN);
    eventually(&carl_there, pid, StatusCode::FORBIDDEN, "archiving").await;
}

async fn a_label_under_old_settings_is_refused_then_accepted(app: TestApp) {
    let admin = app.admin().await;
    let pid = app.project_with_items(&admin, 2, &["a", "b"]).await;
    let ann = app.rater("ann").await;
    let other = second_server(&app).await;
    let ann_there = on(&ann, &other);
    let iid = ann_there.next(pid).await.expect("an item");

    // The settings change through the first server; the second may still hold the old
    // project for a moment, and the gate inside the write refuses a label checked under it.
    let edited = admin
        .patch_json(
            &format!("/api/v1/projects/{pid}"),
            &json!({"instructions": "Read twice."}),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let started = Instant::now();
    loop {
        let answer = ann_there.label(pid, iid, "pos").await;
        match answer.status() {
            StatusCode::CREATED => break,
            StatusCode::CONFLICT => assert!(
                started.elapsed() < Duration::from_secs(2),
                "the second server kept refusing: {:?}",
                answer.text().await
            ),
            other => panic!("label answered {other}: {:?}", answer.text().await),
        }
    }
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE item_id = {iid}"
        ))
        .await,
        1
    );
}

/// The report's consensus label of each item, and each rater's labels and gold accuracy.
/// A rater's pseudonym, labels and gold accuracy.
type RaterRow = (String, Value, Value);

async fn report_of(admin: &Api, pid: i64) -> (Vec<(String, Value)>, Vec<RaterRow>) {
    let report = admin.report(pid, "").await;
    let consensus = report["consensus"]
        .as_array()
        .expect("consensus")
        .iter()
        .map(|row| {
            let label = match &row["adjudicated"] {
                Value::Null => row["label"].clone(),
                _ => json!(format!("{} (final)", row["label"].as_str().unwrap_or(""))),
            };
            (row["item"].as_str().unwrap_or("").to_string(), label)
        })
        .collect();
    let mut raters: Vec<RaterRow> = report["raters"]
        .as_array()
        .expect("raters")
        .iter()
        .map(|r| {
            let name = r["rater"].as_str().unwrap_or("").to_string();
            (name, r["labels"].clone(), r["gold_accuracy"].clone())
        })
        .collect();
    raters.sort_by(|a, b| a.0.cmp(&b.0));
    (consensus, raters)
}

fn row(item: &str, label: &str) -> (String, Value) {
    (item.to_string(), json!(label))
}

/// Each server keeps the labels it read for a report, and reads them again only when the
/// data changed: a label given, a label edited or a settings edit on another server, and
/// an adjudication, a gold answer or a pseudonym changed in the database directly, all show
/// in the very next report.
async fn a_report_shows_every_change_made_before_it_on_any_server(app: TestApp) {
    let admin = app.admin().await;
    let pid = app
        .project_from(
            &admin,
            json!({"name": "Kept", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 3,
                   "edit_window_seconds": 600}),
            json!([{"external_id": "e1", "data": {"text": "one"}}, {"external_id": "e2", "data": {"text": "two"}}]),
        )
        .await;
    let other = second_server(&app).await;
    let raters = [
        on(&app.rater("r1").await, &other),
        on(&app.rater("r2").await, &other),
        on(&app.rater("r3").await, &other),
    ];
    let e1 = app
        .count("SELECT id FROM items WHERE external_id = 'e1'")
        .await;
    let e2 = app
        .count("SELECT id FROM items WHERE external_id = 'e2'")
        .await;
    for (rater, value) in raters.iter().zip(["pos", "pos", "neg"]) {
        assert_eq!(rater.next(pid).await, Some(e1));
        assert_eq!(
            rater.label(pid, e1, value).await.status(),
            StatusCode::CREATED
        );
    }
    let (consensus, _) = report_of(&admin, pid).await;
    assert_eq!(consensus, vec![row("e1", "pos")]);

    // Nothing changed: the same input serves the next report.
    let skipped = tally::store::report::ItemData::Skipped;
    let first = app.store.report_input(pid, skipped).await.unwrap();
    let again = app.store.report_input(pid, skipped).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again), "the input is kept");

    // A label given on the other server.
    assert_eq!(raters[0].next(pid).await, Some(e2));
    assert_eq!(
        raters[0].label(pid, e2, "neg").await.status(),
        StatusCode::CREATED
    );
    let (consensus, _) = report_of(&admin, pid).await;
    assert_eq!(consensus, vec![row("e1", "pos"), row("e2", "neg")]);

    // A label edited there: r2 changes e1 to neg, which now has the majority.
    let changed = raters[1]
        .put_json(
            &format!("/api/v1/projects/{pid}/items/{e1}/labels"),
            &json!({"value": "neg"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let (consensus, _) = report_of(&admin, pid).await;
    assert_eq!(consensus, vec![row("e1", "neg"), row("e2", "neg")]);

    // A settings edit there (overlap 3 to 2) changes what each item still wants.
    let before = app.store.report_input(pid, skipped).await.unwrap();
    let edited = on(&admin, &other)
        .patch_json(&format!("/api/v1/projects/{pid}"), &json!({"overlap": 2}))
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let after = app.store.report_input(pid, skipped).await.unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&before, &after),
        "read again after the edit"
    );

    // Changes made in the database by another program: a final label, a gold answer and a
    // new pseudonym.
    let admin_id = app.store.user_by_name("admin").await.unwrap().unwrap().id;
    execute(
        &app,
        &format!(
            "INSERT INTO adjudications (item_id, project_id, reviewer_id, value, reason, created_at)
             VALUES ({e1}, {pid}, {admin_id}, '\"pos\"', 'read again', 0)"
        ),
    )
    .await
    .unwrap();
    let (consensus, _) = report_of(&admin, pid).await;
    assert_eq!(consensus, vec![row("e1", "pos (final)"), row("e2", "neg")]);

    let (_, raters_before) = report_of(&admin, pid).await;
    assert!(raters_before.iter().all(|r| r.2.is_null()), "no gold yet");
    execute(
        &app,
        &format!("UPDATE items SET gold = '\"neg\"' WHERE id = {e2}"),
    )
    .await
    .unwrap();
    let (_, raters_after) = report_of(&admin, pid).await;
    let r1 = app.store.user_by_name("r1").await.unwrap().unwrap();
    let r1_row = raters_after
        .iter()
        .find(|r| r.0 == r1.pseudonym)
        .expect("r1 in the report");
    assert_eq!(r1_row.2, json!(1.0), "r1 labelled the gold item neg");

    execute(
        &app,
        &format!(
            "UPDATE users SET pseudonym = 'renamed-r1' WHERE id = {}",
            r1.id
        ),
    )
    .await
    .unwrap();
    let (_, raters) = report_of(&admin, pid).await;
    assert!(raters.iter().any(|r| r.0 == "renamed-r1"), "{raters:?}");
    assert!(raters.iter().all(|r| r.0 != r1.pseudonym), "{raters:?}");
}

/// The label a rater gives an item in the tests below: raters disagree on some items, so
/// that dynamic overlap asks for a third label there.
fn value_for(rater: usize, item: i64) -> &'static str {
    if (rater as i64 + item) % 3 == 0 {
        "neg"
    } else {
        "pos"
    }
}

/// Up to `count` labels by the rater at `index` of `raters`, each on the item `next` hands
/// out; returns how many were given.
async fn label_some(raters: &[Api], index: usize, pid: i64, count: usize) -> usize {
    let mut given = 0;
    while given < count {
        let Some(iid) = raters[index].next(pid).await else {
            break;
        };
        let status = raters[index]
            .label(pid, iid, value_for(index, iid))
            .await
            .status();
        assert_eq!(status, StatusCode::CREATED);
        given += 1;
    }
    given
}

/// How many report inputs the test's server had from each source: read whole, kept with
/// later labels read onto it, kept as it was.
fn inputs_served(app: &TestApp) -> [u64; 3] {
    [
        InputSource::Read,
        InputSource::LaterLabels,
        InputSource::Kept,
    ]
    .map(|source| app.store.report_inputs_served(source))
}

/// On a project being labelled every report comes after a change. The server reads only the
/// labels given since its last report onto the input it kept, and its report is the one a
/// server that reads every label makes: consensus, raters, bias and the labels dynamic
/// overlap saved (items settled by the new labels included), to the last digit.
async fn a_report_after_new_labels_reads_only_those_and_is_the_report_of_all_labels(app: TestApp) {
    let admin = app.admin().await;
    let pid = two_choice_project(&app, &admin, "Growing", "n", 10).await;
    let raters = app.raters(&["g1", "g2", "g3", "g4", "g5"]).await;
    for index in 0..4 {
        assert_eq!(label_some(&raters, index, pid, 5).await, 5);
    }
    let query = "?method=dawid-skene&seed=7";
    let first = admin.report(pid, query).await;
    assert_eq!(inputs_served(&app), [1, 0, 0], "the first report reads all");

    // More labels, from a rater new to the project among them, some settling items that
    // wanted a third label.
    assert_eq!(label_some(&raters, 4, pid, 3).await, 3);
    assert_eq!(label_some(&raters, 0, pid, 2).await, 2);
    let later = admin.report(pid, query).await;
    assert_eq!(
        inputs_served(&app),
        [1, 1, 0],
        "only the labels given since were read"
    );
    assert_ne!(later["raters"], first["raters"]);
    let g5 = app.store.user_by_name("g5").await.unwrap().unwrap();
    let raters_json = later["raters"].as_array().expect("raters");
    assert!(
        raters_json
            .iter()
            .any(|r| r["rater"] == json!(g5.pseudonym)),
        "the new rater is in the report: {raters_json:?}"
    );
    let everything = on(&admin, &second_server(&app).await)
        .report(pid, query)
        .await;
    assert_eq!(later, everything, "the same report as reading every label");
    assert!(later["overlap_savings"]["settled_items"].as_i64() > Some(0));

    // Nothing new: the input is served as kept.
    assert_eq!(admin.report(pid, query).await, later);
    assert_eq!(inputs_served(&app), [1, 1, 1]);

    // An edit is no label added: the item it was on is read again.
    edit_first_label(&app, &raters[0], "g1", pid).await;
    let edited = admin.report(pid, query).await;
    assert_eq!(inputs_served(&app), [1, 1, 1]);
    assert_eq!(app.store.report_inputs_served(InputSource::ChangedItems), 1);
    let everything = on(&admin, &second_server(&app).await)
        .report(pid, query)
        .await;
    assert_eq!(edited, everything, "the same report as reading every label");
}

/// On PostgreSQL a label's id is taken when it is written and the label is seen when its
/// transaction commits, so a label can commit after a label with a later id was read. The
/// next report must still hold it: the server sees that the project holds more labels than
/// it has read, and reads them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_committed_after_a_later_one_was_read_is_in_the_next_report() {
    let name = "a_label_committed_after_a_later_one_was_read_is_in_the_next_report";
    crate::harness::run(Backend::Postgres, name, |app| async move {
        let admin = app.admin().await;
        let items = crate::harness::numbered_items("c", 6);
        let pid = app
            .project_from(
                &admin,
                json!({"name": "Late", "labels": ["pos", "neg"], "overlap": 3}),
                Value::Array(items),
            )
            .await;
        let raters = app.raters(&["l1", "l2", "l3", "l4"]).await;
        for index in 0..2 {
            assert_eq!(label_some(&raters, index, pid, 6).await, 6);
        }
        let query = "?seed=3";
        admin.report(pid, query).await;
        let tally::Store::Postgres(backend) = &app.store else {
            panic!("a PostgreSQL test on SQLite");
        };
        // l3's label takes its id now and commits after l4's, which takes the next one.
        let l3 = app.store.user_by_name("l3").await.unwrap().unwrap();
        let c1 = app.count("SELECT id FROM items WHERE external_id = 'c1'").await;
        let mut late = backend.pool.begin().await.expect("transaction");
        sqlx::query(
            "INSERT INTO labels (project_id, item_id, rater_id, value, duration_ms, created_at, pool, guideline_version)
             VALUES ($1, $2, $3, '\"neg\"', 900, 0, 'generalist', 1)",
        )
        .bind(pid)
        .bind(c1)
        .bind(l3.id)
        .execute(&mut *late)
        .await
        .expect("l3's label");
        assert_eq!(label_some(&raters, 3, pid, 1).await, 1);
        admin.report(pid, query).await;
        assert_eq!(
            inputs_served(&app),
            [1, 1, 0],
            "l4's label read onto the kept input"
        );
        late.commit().await.expect("commit l3's label");

        let report = admin.report(pid, query).await;
        assert_eq!(inputs_served(&app), [2, 1, 0], "read again, whole");
        let l3_row = report["raters"]
            .as_array()
            .expect("raters")
            .iter()
            .find(|r| r["rater"] == json!(l3.pseudonym))
            .cloned();
        assert_eq!(
            l3_row.map(|r| r["labels"].clone()),
            Some(json!(1)),
            "l3's label is in the report"
        );
        let everything = on(&admin, &second_server(&app).await)
            .report(pid, query)
            .await;
        assert_eq!(report, everything);
    })
    .await;
}

/// The rater named `name` (signed in as `rater`) changes their label on their first item
/// of `pid` to "neg".
async fn edit_first_label(app: &TestApp, rater: &Api, name: &str, pid: i64) {
    let item = app
        .count(&format!(
            "SELECT min(item_id) FROM labels WHERE project_id = {pid}
             AND rater_id = (SELECT id FROM users WHERE name = '{name}')"
        ))
        .await;
    let edited = rater
        .put_json(
            &format!("/api/v1/projects/{pid}/items/{item}/labels"),
            &json!({"value": "neg"}),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
}

/// The stored input of `pid`'s report: its label count, once a server has stored it.
async fn stored_labels(app: &TestApp, pid: i64, not: i64) -> i64 {
    let started = Instant::now();
    loop {
        let labels = app
            .count(&format!(
                "SELECT coalesce(max(labels), -1) FROM report_inputs WHERE project_id = {pid}"
            ))
            .await;
        if labels >= 0 && labels != not {
            return labels;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A big project's input, read whole, is stored; a server that starts later (another
/// process, or this one after a restart) reads it back instead of every label, reads the
/// labels given since onto it, and makes the report that reading every label makes; after
/// an edit, it reads the item the edit was on onto it too.
async fn a_new_server_reads_the_stored_input_back_and_reports_as_reading_every_label(app: TestApp) {
    app.store.store_report_inputs_from(1);
    let admin = app.admin().await;
    let pid = two_choice_project(&app, &admin, "Stored", "s", 10).await;
    let raters = app.raters(&["s1", "s2", "s3", "s4"]).await;
    for index in 0..3 {
        assert_eq!(label_some(&raters, index, pid, 5).await, 5);
    }
    let query = "?method=dawid-skene&seed=3";
    let first = admin.report(pid, query).await;
    assert_eq!(stored_labels(&app, pid, -1).await, 15);

    let (base, store) = another_server(&app).await;
    let read_back = on(&admin, &base).report(pid, query).await;
    assert_eq!(read_back, first, "the stored input makes the same report");
    assert_eq!(store.report_inputs_served(InputSource::Stored), 1);
    assert_eq!(store.report_inputs_served(InputSource::Read), 0);

    // Labels given since (up to a quarter as many again), by a rater new to the project
    // among them: read onto it.
    assert_eq!(label_some(&raters, 3, pid, 2).await, 2);
    assert_eq!(label_some(&raters, 0, pid, 1).await, 1);
    let (base, store) = another_server(&app).await;
    let later = on(&admin, &base).report(pid, query).await;
    assert_eq!(
        store.report_inputs_served(InputSource::StoredLaterLabels),
        1
    );
    assert_eq!(store.report_inputs_served(InputSource::Read), 0);
    assert_ne!(later, first);
    execute(
        &app,
        &format!("DELETE FROM report_inputs WHERE project_id = {pid}"),
    )
    .await
    .expect("delete");
    let (base, store) = another_server(&app).await;
    store.store_report_inputs_from(1);
    let everything = on(&admin, &base).report(pid, query).await;
    assert_eq!(store.report_inputs_served(InputSource::Read), 1);
    assert_eq!(later, everything, "the same report as reading every label");
    assert_eq!(stored_labels(&app, pid, -1).await, 18, "stored again");

    // An edit is no label added: the item it was on is read again onto the stored input.
    edit_first_label(&app, &raters[0], "s1", pid).await;
    let reads = app.store.report_inputs_served(InputSource::Read);
    let after_edit = admin.report(pid, query).await;
    assert_eq!(app.store.report_inputs_served(InputSource::Read), reads);
    assert_ne!(after_edit, everything);
    let (base, store) = another_server(&app).await;
    assert_eq!(on(&admin, &base).report(pid, query).await, after_edit);
    assert_eq!(
        store.report_inputs_served(InputSource::StoredChangedItems),
        1
    );
}

/// A server that starts reads back the stored input of the project labelled last and
/// prepares its report, so that the first report it is asked for finds the input kept;
/// two reports asked for at once of a project that a server keeps nothing of share one read.
async fn a_starting_server_prepares_the_report_labelled_last_and_reports_at_once_share_one_read(
    app: TestApp,
) {
    app.store.store_report_inputs_from(1);
    let admin = app.admin().await;
    let raters = app.raters(&["w1", "w2", "w3"]).await;
    let mut pids = Vec::new();
    for (name, prefix) in [("Active", "a"), ("Quiet", "q")] {
        let pid = two_choice_project(&app, &admin, name, prefix, 8).await;
        for index in 0..3 {
            assert_eq!(label_some(&raters, index, pid, 4).await, 4);
        }
        pids.push(pid);
    }
    let (active, quiet) = (pids[0], pids[1]);
    // The project created first is labelled last; the other's input is stored last.
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(label_some(&raters, 0, active, 1).await, 1);
    let query = "?method=dawid-skene&seed=7";
    let active_report = admin.report(active, query).await;
    assert_eq!(stored_labels(&app, active, -1).await, 13);
    let quiet_report = admin.report(quiet, query).await;
    assert_eq!(stored_labels(&app, quiet, -1).await, 12);

    let (base, store) = another_server(&app).await;
    let prepared = first_look(&store).await;
    assert_eq!(prepared, Some(active), "the project labelled last");
    assert_eq!(store.report_inputs_served(InputSource::Stored), 1);
    let on_it = on(&admin, &base);
    assert_eq!(on_it.report(active, query).await, active_report);
    assert_eq!(store.report_inputs_served(InputSource::Kept), 1);
    assert_eq!(store.report_inputs_served(InputSource::Read), 0);

    // Another server, asked for two reports of the other project while a read is under way.
    let (base, store) = another_server(&app).await;
    let on_it = on(&admin, &base);
    let seed_8 = "?method=dawid-skene&seed=8";
    let paused = store.pause_report_reads().await;
    let asked = |query: &'static str| {
        let on_it = on(&on_it, &base);
        tokio::spawn(async move { on_it.report(quiet, query).await })
    };
    let (at_once, beside) = (asked(query), asked(seed_8));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !at_once.is_finished() && !beside.is_finished(),
        "the reports wait for the read under way"
    );
    drop(paused);
    assert_eq!(at_once.await.expect("report"), quiet_report);
    assert_eq!(
        beside.await.expect("report"),
        admin.report(quiet, seed_8).await
    );
    let had = [InputSource::Stored, InputSource::Kept, InputSource::Read]
        .map(|source| store.report_inputs_served(source));
    assert_eq!(
        had,
        [1, 1, 0],
        "one read back, and the other report waited for it"
    );

    // With nothing stored, a server that starts prepares nothing of a project under what a
    // read of all stores.
    execute(&app, "DELETE FROM report_inputs")
        .await
        .expect("delete");
    let (_, store) = another_server(&app).await;
    assert_eq!(first_look(&store).await, None);
    assert_eq!(store.report_inputs_served(InputSource::Read), 0);
}

/// What a server's report keeper does first, once the server starts: prepares the report of
/// the big project labelled last. Returns that project.
async fn first_look(store: &tally::Store) -> Option<i64> {
    let mut keeper = ReportKeeper::new(store.clone(), Keeping::default());
    keeper.look().await.expect("look")
}

/// How many report inputs `store` had from each source, in [`InputSource::ALL`]'s order.
fn inputs_had(store: &tally::Store) -> [u64; 7] {
    InputSource::ALL.map(|source| store.report_inputs_served(source))
}

/// Waits until `done` holds; panics after ten seconds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server keeps the report of the project being labelled prepared: once labelling pauses,
/// it reads the labels given since (on any server) onto the input it holds and prepares the
/// report, so that the next report finds everything kept; while nothing changes it reads
/// nothing.
async fn a_server_prepares_the_report_of_the_project_being_labelled_once_labelling_pauses(
    app: TestApp,
) {
    app.store.store_report_inputs_from(1);
    let admin = app.admin().await;
    let raters = app.raters(&["k1", "k2", "k3"]).await;
    let pid = two_choice_project(&app, &admin, "Kept warm", "k", 10).await;
    for index in 0..3 {
        assert_eq!(label_some(&raters, index, pid, 3).await, 3);
    }
    let query = "?method=dawid-skene&seed=7";
    admin.report(pid, query).await;
    assert_eq!(stored_labels(&app, pid, -1).await, 9);

    // Another server, its keeper looking every 50 ms and preparing once labelling has
    // paused for 400 ms; it starts by reading the stored input back.
    let (base, store) = another_server(&app).await;
    let keeping = Keeping {
        every: Duration::from_millis(50),
        quiet: Duration::from_millis(400),
        at_most_behind: Duration::from_secs(3600),
    };
    let keeper = tally::web::spawn_report_keeping(store.clone(), keeping);
    until("the stored input read back", || {
        store.report_inputs_served(InputSource::Stored) == 1
    })
    .await;

    // Labels given on the first server, then a pause: the keeper reads them onto its input.
    // (On a busy machine the pause may come between the two as well: then it reads twice.)
    assert_eq!(label_some(&raters, 0, pid, 2).await, 2);
    let now = store.report_input_version(pid).await.unwrap();
    until("the labels given read onto the kept input", || {
        store.kept_report_input_version(pid) == Some(now)
    })
    .await;
    let prepared = inputs_had(&store);
    assert!(store.report_inputs_served(InputSource::LaterLabels) >= 1);
    assert_eq!(store.report_inputs_served(InputSource::Read), 0);

    // The next report on that server is one on kept labels, and the first server's report.
    let expected = admin.report(pid, query).await;
    assert_eq!(on(&admin, &base).report(pid, query).await, expected);
    let mut one_more_kept = prepared;
    for (had, source) in one_more_kept.iter_mut().zip(InputSource::ALL) {
        *had += u64::from(source == InputSource::Kept);
    }
    assert_eq!(
        inputs_had(&store),
        one_more_kept,
        "served from the kept input alone"
    );

    // Nothing changes: the keeper looks and reads nothing.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(inputs_had(&store), one_more_kept);
    keeper.abort();

    // A project past what a server keeps is not prepared: its input would be read whole
    // for nothing, as a report of it reads it and lets it go.
    let labels = app
        .count(&format!(
            "SELECT count(*) FROM labels WHERE project_id = {pid}"
        ))
        .await;
    let at_once = Keeping {
        quiet: Duration::ZERO,
        at_most_behind: Duration::ZERO,
        ..keeping
    };
    let mut keeper = ReportKeeper::new(store.clone(), at_once);
    store.keep_report_inputs_up_to(labels - 1);
    assert_eq!(keeper.look().await.expect("look"), None, "too big to keep");
    assert_eq!(inputs_had(&store), one_more_kept, "nothing read");
    store.keep_report_inputs_up_to(labels);
    assert_eq!(keeper.look().await.expect("look"), Some(pid));
}

/// A big project whose report no one has asked for yet: a server prepares it once its
/// labelling pauses (never in the middle of a burst), reading every label and storing the
/// input, so that the first report, on that server or on one that starts later, reads none.
/// A smaller project labelled after it is passed over.
async fn a_server_prepares_and_stores_a_big_project_whose_report_no_one_asked_for_once_labelling_pauses(
    app: TestApp,
) {
    let admin = app.admin().await;
    let raters = app.raters(&["g1", "g2", "g3"]).await;
    let big = two_choice_project(&app, &admin, "Big", "g", 10).await;
    let small = two_choice_project(&app, &admin, "Small", "m", 10).await;
    for index in 0..3 {
        assert_eq!(label_some(&raters, index, big, 3).await, 3);
    }
    // A server that stores (and so prepares unasked) the inputs of projects of six labels
    // or more, preparing once labelling has paused for a second.
    let (base, store) = another_server(&app).await;
    store.store_report_inputs_from(6);
    let keeping = Keeping {
        every: Duration::from_millis(50),
        quiet: Duration::from_secs(1),
        at_most_behind: Duration::ZERO,
    };
    let mut keeper = ReportKeeper::new(store.clone(), keeping);
    assert_eq!(label_some(&raters, 0, big, 1).await, 1);
    assert_eq!(
        keeper.look().await.expect("look"),
        None,
        "raters are labelling, and nothing is stored: not in the burst"
    );
    assert_eq!(inputs_had(&store), [0; 7], "nothing read");

    assert_eq!(label_some(&raters, 1, small, 2).await, 2);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        keeper.look().await.expect("look"),
        Some(big),
        "labelling paused: the big project, not the small one labelled after it"
    );
    assert_eq!(store.report_inputs_served(InputSource::Read), 1);
    assert_eq!(stored_labels(&app, big, -1).await, 10, "its input stored");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM report_inputs WHERE project_id = {small}"
        ))
        .await,
        0,
        "nothing of the small project"
    );

    // The first report on that server is one on kept labels, and the report of all labels.
    let query = "?method=dawid-skene&seed=5";
    let expected = admin.report(big, query).await;
    assert_eq!(on(&admin, &base).report(big, query).await, expected);
    assert_eq!(store.report_inputs_served(InputSource::Kept), 1);
    assert_eq!(store.report_inputs_served(InputSource::Read), 1);

    // A server that starts later reads the stored input back.
    let (base, later) = another_server(&app).await;
    assert_eq!(on(&admin, &base).report(big, query).await, expected);
    assert_eq!(later.report_inputs_served(InputSource::Stored), 1);
    assert_eq!(later.report_inputs_served(InputSource::Read), 0);
}

/// The labels and generation of the input stored for `pid`.
async fn stored_version(app: &TestApp, pid: i64) -> (i64, i64) {
    let sql = |column: &str| format!("SELECT {column} FROM report_inputs WHERE project_id = {pid}");
    (
        app.count(&sql("labels")).await,
        app.count(&sql("generation")).await,
    )
}

/// After a long run of labelling, a server that starts would read back a stored input and
/// then most of the project's labels. So the server that prepares a project's report stores
/// its input again once the stored one is a tenth of its labels behind, or anything else its
/// report reads changed (an edit), and not for fewer labels.
async fn a_server_stores_the_input_it_prepared_again_once_the_stored_one_falls_behind(
    app: TestApp,
) {
    app.store.store_report_inputs_from(1);
    let admin = app.admin().await;
    let raters = app.raters(&["b1", "b2"]).await;
    let items = crate::harness::numbered_items("b", 20);
    let settings = json!({"name": "Behind", "labels": ["pos", "neg"], "min_overlap": 2,
                          "max_overlap": 2, "edit_window_seconds": 600});
    let pid = app
        .project_from(&admin, settings, Value::Array(items))
        .await;
    for index in 0..2 {
        assert_eq!(label_some(&raters, index, pid, 10).await, 10);
    }
    admin.report(pid, "").await;
    assert_eq!(stored_labels(&app, pid, -1).await, 20);
    let at_once = Keeping {
        every: Duration::from_millis(50),
        quiet: Duration::ZERO,
        at_most_behind: Duration::ZERO,
    };
    let mut keeper = ReportKeeper::new(app.store.clone(), at_once);
    assert_eq!(keeper.look().await.expect("look"), Some(pid));

    // One label is under a tenth of the 20 stored: prepared, not stored again. (A store
    // starts two seconds after it is asked for.)
    assert_eq!(label_some(&raters, 0, pid, 1).await, 1);
    assert_eq!(keeper.look().await.expect("look"), Some(pid));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (labels, generation) = stored_version(&app, pid).await;
    assert_eq!(labels, 20, "one label since is not worth a store");

    // A second makes a tenth: the input prepared is stored in its place.
    assert_eq!(label_some(&raters, 0, pid, 1).await, 1);
    assert_eq!(keeper.look().await.expect("look"), Some(pid));
    assert_eq!(stored_labels(&app, pid, 20).await, 22);

    // An edit, with no label added, is stored too.
    let edit = format!(
        "UPDATE labels SET value = '\"neg\"' WHERE id = (SELECT min(id) FROM labels
         WHERE project_id = {pid} AND value <> '\"neg\"')"
    );
    assert_eq!(execute(&app, &edit).await.expect("edit"), 1);
    assert_eq!(keeper.look().await.expect("look"), Some(pid));
    let started = Instant::now();
    while stored_version(&app, pid).await.1 == generation {
        assert!(started.elapsed() < Duration::from_secs(20), "never stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored_version(&app, pid).await.0, 22);

    // What was stored is what a server that starts reads back, and its report is the one
    // made from every label.
    let expected = admin.report(pid, "?seed=3").await;
    let (base, store) = another_server(&app).await;
    assert_eq!(on(&admin, &base).report(pid, "?seed=3").await, expected);
    assert_eq!(store.report_inputs_served(InputSource::Stored), 1);
    assert_eq!(store.report_inputs_served(InputSource::Read), 0);
}

/// The generation of `pid`'s report input: what moves when anything its report reads changes
/// other than labels or items added.
async fn generation_of(app: &TestApp, pid: i64) -> i64 {
    let sql =
        format!("SELECT {SHARED_GENERATION} + {OWN_GENERATION}").replace("$1", &pid.to_string());
    app.count(&sql).await
}

/// Labels edited or removed, an item's gold answer or removal, an adjudication: each moves
/// the generation of its own project's report input and no other's, so that the input a
/// server keeps and the one it stored for another project still serve. A pseudonym, which
/// every project's report reads, moves them all.
async fn a_change_in_one_project_leaves_the_inputs_of_the_others_in_use(app: TestApp) {
    app.store.store_report_inputs_from(1);
    let admin = app.admin().await;
    let mut pids = Vec::new();
    for (name, prefix) in [("Untouched", "u"), ("Edited", "e")] {
        pids.push(two_choice_project(&app, &admin, name, prefix, 10).await);
    }
    let (kept, edited) = (pids[0], pids[1]);
    let raters = app.raters(&["p1", "p2", "p3"]).await;
    for pid in [kept, edited] {
        for index in 0..3 {
            assert_eq!(label_some(&raters, index, pid, 4).await, 4);
        }
    }
    let query = "?method=dawid-skene&seed=5";
    let first = admin.report(kept, query).await;
    assert_eq!(stored_labels(&app, kept, -1).await, 12);
    assert_eq!(inputs_served(&app), [1, 0, 0]);

    let first_label = format!("(SELECT min(id) FROM labels WHERE project_id = {edited})");
    let last_label = format!("(SELECT max(id) FROM labels WHERE project_id = {edited})");
    let first_item = format!("(SELECT min(id) FROM items WHERE project_id = {edited})");
    let last_item = format!("(SELECT max(id) FROM items WHERE project_id = {edited})");
    let changes = [
        format!("UPDATE labels SET value = 'neg' WHERE id = {first_label}"),
        format!("DELETE FROM labels WHERE id = {last_label}"),
        format!("UPDATE items SET gold = 'pos' WHERE id = {first_item}"),
        format!(
            "INSERT INTO adjudications (item_id, project_id, reviewer_id, value, reason, created_at)
             VALUES ({first_item}, {edited}, (SELECT min(id) FROM users), 'pos', 'checked', 1)"
        ),
        format!("UPDATE adjudications SET value = 'neg' WHERE project_id = {edited}"),
        format!("DELETE FROM adjudications WHERE project_id = {edited}"),
        format!("DELETE FROM items WHERE id = {last_item}"),
    ];
    let untouched = generation_of(&app, kept).await;
    for change in &changes {
        let before = generation_of(&app, edited).await;
        assert_eq!(execute(&app, change).await.expect(change), 1, "{change}");
        assert!(generation_of(&app, edited).await > before, "{change}");
        assert_eq!(generation_of(&app, kept).await, untouched, "{change}");
    }
    // One statement over many rows of a project moves its generation too.
    let before = generation_of(&app, edited).await;
    let all_items = format!("UPDATE items SET prediction = 'neg' WHERE project_id = {edited}");
    assert!(execute(&app, &all_items).await.expect("predictions") > 1);
    assert!(generation_of(&app, edited).await > before);
    edit_first_label(&app, &raters[0], "p1", edited).await;
    assert_eq!(generation_of(&app, kept).await, untouched);

    assert_eq!(admin.report(kept, query).await, first);
    assert_eq!(inputs_served(&app), [1, 0, 1], "the kept input served");
    let (base, store) = another_server(&app).await;
    assert_eq!(on(&admin, &base).report(kept, query).await, first);
    assert_eq!(store.report_inputs_served(InputSource::Stored), 1);
    assert_eq!(store.report_inputs_served(InputSource::Read), 0);

    // A setting that changes nothing is not a change.
    let unchanged = format!("UPDATE items SET gold = gold WHERE project_id = {kept}");
    execute(&app, &unchanged).await.expect("no change");
    assert_eq!(generation_of(&app, kept).await, untouched);

    let rename = "UPDATE users SET pseudonym = 'renamed-p1' WHERE name = 'p1'";
    let edited_before = generation_of(&app, edited).await;
    assert_eq!(execute(&app, rename).await.expect("rename"), 1);
    assert!(generation_of(&app, kept).await > untouched);
    assert!(generation_of(&app, edited).await > edited_before);
    let renamed = admin.report(kept, query).await;
    assert_eq!(
        inputs_served(&app),
        [2, 0, 1],
        "read again after the rename"
    );
    let raters_json = renamed["raters"].as_array().expect("raters");
    assert!(
        raters_json
            .iter()
            .any(|r| r["rater"] == json!("renamed-p1")),
        "{raters_json:?}"
    );
}

/// The report of `pid` from a server that reads every label: the stored input is hidden
/// from it (a format no server reads) and given back after.
async fn report_reading_everything(app: &TestApp, admin: &Api, pid: i64, query: &str) -> Value {
    let hide = format!("UPDATE report_inputs SET format = -format WHERE project_id = {pid}");
    execute(app, &hide).await.expect("hide");
    let (base, store) = another_server(app).await;
    let report = on(admin, &base).report(pid, query).await;
    assert_eq!(store.report_inputs_served(InputSource::Read), 1);
    execute(app, &hide).await.expect("give back");
    report
}

/// Edits in a project (a label edited or removed, a known answer, a pre-label, an external
/// id, an adjudication given, changed or removed, an item removed, an item made a
/// qualification question and back, an edit among new labels) make its next report read
/// only the items they were for onto the input the server kept, or another server stored
/// (a settings edit, which may settle or reopen any item, their settled states);
/// and the report is the one a server that reads every label makes. A statement over more
/// items than are worth reading again makes the next report read everything.
async fn a_report_after_edits_reads_only_the_items_changed_and_is_the_report_of_all_labels(
    app: TestApp,
) {
    app.store.store_report_inputs_from(1);
    let admin = app.admin().await;
    let pid = two_choice_project(&app, &admin, "Edited", "c", 12).await;
    let raters = app.raters(&["c1", "c2", "c3", "c4"]).await;
    for index in 0..3 {
        assert_eq!(label_some(&raters, index, pid, 7).await, 7);
    }
    let query = "?method=dawid-skene&seed=11";
    let first = admin.report(pid, query).await;
    assert_eq!(stored_labels(&app, pid, -1).await, 21);
    let served = |source| app.store.report_inputs_served(source);
    assert_eq!(served(InputSource::Read), 1);

    let item = |n: i64| {
        format!("(SELECT id FROM items WHERE project_id = {pid} AND external_id = 'c{n}')")
    };
    let reviewer = "(SELECT min(id) FROM users)";
    let last_label = format!("(SELECT max(id) FROM labels WHERE project_id = {pid})");
    // Each change, and whether the report shows it (a pre-label shows only in labels
    // given after it).
    let changes = [
        // Not the last label: SQLite gives its id to the next label, which a read of the
        // labels after the last one read would miss (the count then reads everything).
        (format!("DELETE FROM labels WHERE id = (SELECT min(id) + 1 FROM labels WHERE project_id = {pid})"), true),
        (format!("UPDATE items SET gold = '\"pos\"' WHERE id = {}", item(2)), true),
        (format!("UPDATE items SET prediction = '\"neg\"' WHERE id = {}", item(3)), false),
        (format!("UPDATE items SET external_id = 'renamed' WHERE id = {}", item(4)), true),
        (
            format!(
                "INSERT INTO adjudications (item_id, project_id, reviewer_id, value, reason, created_at)
                 VALUES ({}, {pid}, {reviewer}, '\"neg\"', 'checked', 1)",
                item(5)
            ),
            true,
        ),
        (format!("UPDATE adjudications SET value = '\"pos\"' WHERE item_id = {}", item(5)), true),
        (
            format!(
                "INSERT INTO adjudications (item_id, project_id, reviewer_id, value, reason, created_at)
                 VALUES ({}, {pid}, {reviewer}, '\"neg\"', 'checked', 1)",
                item(6)
            ),
            true,
        ),
        (format!("DELETE FROM adjudications WHERE item_id = {}", item(6)), true),
        (format!("DELETE FROM items WHERE id = {}", item(7)), true),
        (format!("UPDATE items SET is_qualification = TRUE WHERE id = {}", item(1)), true),
        (format!("UPDATE items SET is_qualification = FALSE WHERE id = {}", item(1)), true),
        // A label's value edited, then another's: each rater's labels stay as they were
        // given, so the engine's dataset is patched rather than made again.
        (flip_value(&last_label), true),
        (flip_value(&format!("(SELECT max(id) FROM labels WHERE project_id = {pid} AND id < {})", last_label)), true),
    ];
    let mut last = first.clone();
    for (n, (change, shows)) in changes.iter().enumerate() {
        assert_eq!(execute(&app, change).await.expect(change), 1, "{change}");
        let here = admin.report(pid, query).await;
        assert_eq!(served(InputSource::ChangedItems), n as u64 + 1, "{change}");
        assert_eq!(served(InputSource::Read), 1, "{change}: read whole");
        if *shows {
            assert_ne!(here, last, "{change}: the report shows it");
        }
        let everything = report_reading_everything(&app, &admin, pid, query).await;
        assert_eq!(here, everything, "{change}: the report of every label");
        last = here;
    }
    // A settings edit: a lower maximum overlap settles the items that wanted a third label.
    let settings = json!({"min_overlap": 2, "max_overlap": 2});
    let patched = (admin.patch_json(&format!("/api/v1/projects/{pid}"), &settings)).await;
    assert_eq!(patched.status(), StatusCode::OK);
    let here = admin.report(pid, query).await;
    assert_eq!(served(InputSource::ChangedItems), changes.len() as u64 + 1);
    assert_eq!(
        served(InputSource::Read),
        1,
        "the settings edit: read whole"
    );
    assert_ne!(here["overlap_savings"], last["overlap_savings"]);
    // An input caught up with a settings edit is stored again, at the new revision.
    let stored_now = format!(
        "SELECT count(*) FROM report_inputs r JOIN projects p ON p.id = r.project_id
         WHERE r.project_id = {pid} AND r.revision = p.revision AND r.format > 0"
    );
    let started = Instant::now();
    while app.count(&stored_now).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never stored again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        here,
        report_reading_everything(&app, &admin, pid, query).await
    );

    // An edit through the API among new labels, one of them by a rater new to the project.
    edit_first_label(&app, &raters[1], "c2", pid).await;
    assert!(label_some(&raters, 3, pid, 3).await > 0);
    let here = admin.report(pid, query).await;
    assert_eq!(served(InputSource::ChangedItems), changes.len() as u64 + 2);
    assert_eq!(served(InputSource::Read), 1);
    assert_eq!(
        here,
        report_reading_everything(&app, &admin, pid, query).await
    );

    // Another server reads the input stored after the settings edit back and reads every
    // change since onto it.
    let (base, store) = another_server(&app).await;
    assert_eq!(on(&admin, &base).report(pid, query).await, here);
    assert_eq!(
        store.report_inputs_served(InputSource::StoredChangedItems),
        1
    );
    assert_eq!(store.report_inputs_served(InputSource::Read), 0);

    // One statement over more items than are read again: everything is read.
    let many = crate::harness::numbered_items("m", 1001);
    let settings = json!({"name": "Many", "labels": ["pos", "neg"], "overlap": 2});
    let big = app.project_from(&admin, settings, Value::Array(many)).await;
    for index in 0..2 {
        assert_eq!(label_some(&raters, index, big, 3).await, 3);
    }
    let before = admin.report(big, query).await;
    let reads = served(InputSource::Read);
    let all_items = format!("UPDATE items SET gold = '\"neg\"' WHERE project_id = {big}");
    assert_eq!(execute(&app, &all_items).await.expect("gold answers"), 1001);
    let after = admin.report(big, query).await;
    assert_eq!(served(InputSource::Read), reads + 1, "read whole");
    assert_ne!(after, before);
}

/// The statement that edits the value of label `id` (a subquery) to the other choice.
fn flip_value(id: &str) -> String {
    format!(
        "UPDATE labels SET value = CASE value WHEN '\"pos\"' THEN '\"neg\"' ELSE '\"pos\"' END
         WHERE id = {id}"
    )
}

/// Labels given after the keeper looked, while its read waits for another, are in what it
/// prepares: its next look finds nothing new and prepares nothing again.
async fn labels_given_while_the_keeper_waits_to_read_are_prepared_once(app: TestApp) {
    app.store.store_report_inputs_from(1);
    let admin = app.admin().await;
    let raters = app.raters(&["w1", "w2", "w3"]).await;
    let pid = two_choice_project(&app, &admin, "Waiting", "w", 10).await;
    for index in 0..3 {
        assert_eq!(label_some(&raters, index, pid, 3).await, 3);
    }
    admin.report(pid, "").await;
    let at_once = Keeping {
        every: Duration::from_millis(50),
        quiet: Duration::ZERO,
        at_most_behind: Duration::ZERO,
    };
    let mut keeper = ReportKeeper::new(app.store.clone(), at_once);
    let paused = app.store.pause_report_reads().await;
    let looking = tokio::spawn(async move {
        let looked = keeper.look().await.expect("look");
        (keeper, looked)
    });
    // The keeper has looked at the project's version and waits for the reads to resume.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(label_some(&raters, 0, pid, 1).await, 1);
    drop(paused);
    let (mut keeper, looked) = looking.await.expect("the look ends");
    assert_eq!(looked, Some(pid));
    let now = app.store.report_input_version(pid).await.unwrap();
    assert_eq!(
        app.store.kept_report_input_version(pid),
        Some(now),
        "the label given is in what was prepared"
    );
    let served = inputs_had(&app.store);
    assert_eq!(
        keeper.look().await.expect("look"),
        None,
        "nothing new since"
    );
    assert_eq!(inputs_had(&app.store), served, "nothing read again");
}
