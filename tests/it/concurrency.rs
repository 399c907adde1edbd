//! 100 raters at once over an overlap-3 project, served by two tally processes on one
//! database, then the invariants checked in the database itself.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Api, TestApp};
use crate::on_both_backends;

on_both_backends!(hundred_raters_on_two_processes_keep_the_invariants);

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
