//! 100 raters at once over an overlap-3 project, served by two tally processes on one
//! database, then the invariants checked in the database itself.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Api, TestApp};
use crate::on_both_backends;

on_both_backends!(hundred_raters_on_two_processes_keep_the_invariants);
on_both_backends!(labels_sent_at_once_share_commits_and_each_is_gated);
on_both_backends!(raters_asking_at_once_share_the_slots_without_overfilling_them);
on_both_backends!(batches_keep_serving_after_the_writers_plans_are_made_again);

const RATERS: usize = 100;
const ITEMS: usize = 150;
const OVERLAP: i64 = 3;

/// A `tally serve` child process; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .env("TALLY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tally serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Labels until the project has nothing left for this rater, alternating servers on every
/// request. Returns (labels given, conflicts met).
async fn work(rater: Api, bases: [String; 2], pid: i64, seed: usize) -> (usize, usize) {
    let (mut given, mut conflicts) = (0, 0);
    let mut turn = seed;
    loop {
        let mut api = rater.clone();
        api.base = bases[turn % 2].clone();
        turn += 1;
        let Some(iid) = api.next(pid).await else {
            return (given, conflicts);
        };
        api.base = bases[turn % 2].clone();
        turn += 1;
        if (seed + given) % 11 == 10 {
            let skip = api
                .post_json(
                    &format!("/api/v1/projects/{pid}/items/{iid}/skip"),
                    &json!({}),
                )
                .await;
            assert_eq!(skip.status(), StatusCode::NO_CONTENT);
            continue;
        }
        let value = ["pos", "neg", "neutral"][(seed + iid as usize) % 3];
        match api.label(pid, iid, value).await.status() {
            StatusCode::CREATED => given += 1,
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("label answered {other}"),
        }
    }
}

async fn hundred_raters_on_two_processes_keep_the_invariants(app: TestApp) {
    let admin = app.admin().await;
    let texts: Vec<String> = (0..ITEMS).map(|i| format!("item {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pid = app.project_with_items(&admin, OVERLAP, &refs).await;
    let mut raters = Vec::new();
    for i in 0..RATERS {
        raters.push(app.rater(&format!("rater{i}")).await);
    }
    let a = Server::start(&app.database_url);
    let b = Server::start(&app.database_url);
    let bases = [a.base.clone(), b.base.clone()];

    // A 204 means "nothing for you now": items held by others can come back when their
    // holder skips them, so raters ask again in rounds until a round gives no label.
    let mut total = 0;
    let mut conflicts = 0;
    for round in 0..10 {
        let tasks: Vec<_> = raters
            .iter()
            .enumerate()
            .map(|(i, rater)| tokio::spawn(work(rater.clone(), bases.clone(), pid, i + round)))
            .collect();
        let mut given_this_round = 0;
        for task in tasks {
            let (given, met) = task.await.expect("rater task");
            given_this_round += given;
            conflicts += met;
        }
        total += given_this_round;
        if given_this_round == 0 {
            break;
        }
    }
    drop((a, b));

    assert_eq!(
        conflicts, 0,
        "no rater was handed an item whose slots were all taken"
    );
    assert_eq!(
        total as i64,
        ITEMS as i64 * OVERLAP,
        "every wanted label was given"
    );
    let over = app
        .count("SELECT count(*) FROM (SELECT item_id FROM labels GROUP BY item_id HAVING count(*) > 3) t")
        .await;
    assert_eq!(over, 0, "no item has more than `overlap` labels");
    let twice = app
        .count("SELECT count(*) FROM (SELECT item_id, rater_id FROM labels GROUP BY item_id, rater_id HAVING count(*) > 1) t")
        .await;
    assert_eq!(twice, 0, "no rater labelled an item twice");
    let incomplete = app
        .count("SELECT count(*) FROM items i WHERE (SELECT count(*) FROM labels l WHERE l.item_id = i.id) <> 3")
        .await;
    assert_eq!(
        incomplete, 0,
        "every item ended with exactly `overlap` labels"
    );
    let counters_off = app
        .count("SELECT count(*) FROM items i WHERE label_count <> (SELECT count(*) FROM labels l WHERE l.item_id = i.id) OR need_generalist <> 0")
        .await;
    assert_eq!(
        counters_off, 0,
        "the item counters agree with the labels table"
    );
    let skipped_then_labelled = app
        .count("SELECT count(*) FROM skips s JOIN labels l ON l.item_id = s.item_id AND l.rater_id = s.rater_id")
        .await;
    assert_eq!(
        skipped_then_labelled, 0,
        "a skipped item is not offered to that rater again"
    );
}

/// Every rater holds a lease and sends its label twice at once, while a rater without a
/// lease tries every item and another sends a label to an item of a project it is not in:
/// the labels go through the group commit together, and each is still gated as if alone.
async fn labels_sent_at_once_share_commits_and_each_is_gated(app: TestApp) {
    const ITEMS: usize = 12;
    let admin = app.admin().await;
    let texts: Vec<String> = (0..ITEMS).map(|i| format!("item {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pid = app.project_with_items(&admin, 2, &refs).await;
    let other_pid = app.project_with_items(&admin, 2, &["elsewhere"]).await;
    let mut holders = Vec::new();
    for i in 0..ITEMS * 2 {
        let rater = app.rater(&format!("holder{i}")).await;
        let item = rater.next(pid).await.expect("a slot for every holder");
        holders.push((rater, item));
    }
    let late = app.rater("late").await;
    assert_eq!(late.next(pid).await, None, "every slot is leased");
    let items: Vec<i64> = holders.iter().map(|(_, item)| *item).collect();
    let before = app.store.group_commit();

    let twice = holders.iter().flat_map(|(rater, item)| {
        [
            rater.label(pid, *item, "pos"),
            rater.label(pid, *item, "pos"),
        ]
    });
    let late_tries = items.iter().map(|item| late.label(pid, *item, "neg"));
    let sent = futures::future::join_all(twice);
    let refused = futures::future::join_all(late_tries);
    let astray = holders[0].0.label(other_pid, items[0], "pos");
    let (sent, refused, astray) = tokio::join!(sent, refused, astray);

    let statuses: Vec<StatusCode> = sent.iter().map(|r| r.status()).collect();
    for (pair, (_, item)) in statuses.chunks(2).zip(&holders) {
        let mut pair = pair.to_vec();
        pair.sort();
        assert_eq!(
            pair,
            [StatusCode::CREATED, StatusCode::CONFLICT],
            "item {item}: one label stored, the same rater's second refused"
        );
    }
    assert!(
        refused.iter().all(|r| r.status() == StatusCode::CONFLICT),
        "a rater without a lease gets no slot: {:?}",
        refused.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    assert_eq!(astray.status(), StatusCode::NOT_FOUND);

    let labels = app.count("SELECT count(*) FROM labels").await;
    assert_eq!(labels, ITEMS as i64 * 2, "each leased slot got its label");
    let off = app
        .count(
            "SELECT count(*) FROM items i WHERE i.need_generalist <> 0
               OR i.label_count <> (SELECT count(*) FROM labels l WHERE l.item_id = i.id)
               OR i.label_count <> 2",
        )
        .await;
    assert_eq!(off, 1, "only the other project's item is still open");
    assert_eq!(app.count("SELECT count(*) FROM leases").await, 0);
    let late_labels = app
        .count(
            "SELECT count(*) FROM labels l JOIN users u ON u.id = l.rater_id WHERE u.name = 'late'",
        )
        .await;
    assert_eq!(late_labels, 0);

    let after = app.store.group_commit();
    let batched = after.batched - before.batched;
    let batches = after.batches - before.batches;
    assert!(
        batched >= ITEMS as u64 * 2,
        "every stored label was written in a batch: {before:?} {after:?}"
    );
    assert!(
        batches < batched,
        "some commits carried several labels: {before:?} {after:?}"
    );
}

/// More raters than slots ask for work at once, twice over: each slot goes to one rater,
/// the rest hear that nothing is left, a rater asking again keeps the item they hold, and
/// a rater who labelled an item is never handed it again.
async fn raters_asking_at_once_share_the_slots_without_overfilling_them(app: TestApp) {
    const ITEMS: usize = 8;
    const RATERS: usize = 30;
    let admin = app.admin().await;
    let texts: Vec<String> = (0..ITEMS).map(|i| format!("item {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pid = app.project_with_items(&admin, 2, &refs).await;
    let mut raters = Vec::new();
    for i in 0..RATERS {
        raters.push(app.rater(&format!("asker{i}")).await);
    }
    // The first rater labels the first item: its one slot left is for someone else.
    let labelled = raters[0].next(pid).await.expect("an item");
    assert_eq!(
        raters[0].label(pid, labelled, "pos").await.status(),
        StatusCode::CREATED
    );
    let before = app.store.group_commit();

    let asked = futures::future::join_all(raters.iter().map(|r| r.next(pid))).await;
    let held: Vec<(usize, i64)> = asked
        .iter()
        .enumerate()
        .filter_map(|(i, item)| item.map(|item| (i, item)))
        .collect();
    let slots_left = ITEMS * 2 - 1;
    assert_eq!(
        held.len(),
        slots_left,
        "every free slot was handed out once: {asked:?}"
    );
    let mut per_item = std::collections::HashMap::new();
    for (_, item) in &held {
        *per_item.entry(*item).or_insert(0) += 1;
    }
    assert!(per_item.values().all(|&n| n <= 2), "{per_item:?}");
    assert!(
        held.iter().all(|&(i, item)| !(i == 0 && item == labelled)),
        "the first rater was handed the item they labelled: {held:?}"
    );
    assert!(
        held.iter().any(|&(_, item)| item == labelled),
        "its last slot went to another rater: {held:?}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM leases").await,
        slots_left as i64
    );

    let again = futures::future::join_all(raters.iter().map(|r| r.next(pid))).await;
    assert_eq!(
        again, asked,
        "each rater keeps what they hold; the rest still get nothing"
    );

    let after = app.store.group_commit();
    assert!(
        after.batched - before.batched >= RATERS as u64 * 2,
        "every ask was served by the group commit: {before:?} {after:?}"
    );
    assert!(
        after.batches - before.batches < after.batched - before.batched,
        "some commits served several asks: {before:?} {after:?}"
    );
}

/// Asks and labels at once, in two rounds with the PostgreSQL writers' plans dropped and
/// made again between them: every write of both rounds is decided in a batch (none falls
/// back to the general path), and the project ends with exactly the labels given.
async fn batches_keep_serving_after_the_writers_plans_are_made_again(app: TestApp) {
    const RATERS: usize = 10;
    let admin = app.admin().await;
    let texts: Vec<String> = (0..RATERS * 2).map(|i| format!("item {i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let pid = app.project_with_items(&admin, 1, &refs).await;
    let mut raters = Vec::new();
    for i in 0..RATERS {
        raters.push(app.rater(&format!("steady{i}")).await);
    }
    let before = app.store.group_commit();
    let mut labelled = std::collections::HashSet::new();
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(tally::store::POSTGRES_WRITER_REPLAN_AFTER * 3 / 2).await;
        }
        let asked = futures::future::join_all(raters.iter().map(|r| r.next(pid))).await;
        let items: Vec<i64> = asked
            .iter()
            .map(|item| item.expect("an item for every rater"))
            .collect();
        let statuses = futures::future::join_all(
            raters
                .iter()
                .zip(&items)
                .map(|(r, &item)| async move { r.label(pid, item, "pos").await.status() }),
        )
        .await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::CREATED),
            "round {round}: {statuses:?}"
        );
        labelled.extend(items);
    }
    let after = app.store.group_commit();
    assert_eq!(
        after.alone - before.alone,
        0,
        "no write left the batches: {before:?} {after:?}"
    );
    assert!(
        after.batched - before.batched >= RATERS as u64 * 2,
        "{before:?} {after:?}"
    );
    assert_eq!(labelled.len(), RATERS * 2, "each item was handed out once");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM labels WHERE project_id = {pid}"
        ))
        .await,
        (RATERS * 2) as i64
    );
    assert_eq!(app.count("SELECT count(*) FROM leases").await, 0);
}
