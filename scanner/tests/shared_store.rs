//! Two workers with their own local directories sharing one PostgreSQL store and one broker, as on two
//! machines: one is killed -9 in the middle of a batch (with duplicate deliveries), and later in the middle
//! of a re-judgement fan-out; nothing is lost and nothing is judged twice.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::broker::{self, Worker};
use support::postgres::{self, TestDatabase};
use support::{Sandbox, exit_code, fixture, hostile_archive};

const RULES: &str = "version = 1\n[sources]\nallow-git = true\n[levels]\nunaudited-source = \"warn\"\n";

/// The synthetic database without RUSTSEC-2099-0001, at an earlier commit.
fn older_snapshot_at(dir: &Path) -> PathBuf {
    for file in support::walk(&support::synthetic_db()).into_iter().filter(|path| path.is_file()) {
        let relative = file.strip_prefix(support::synthetic_db()).unwrap();
        if !relative.starts_with("crates/smallvec") {
            std::fs::create_dir_all(dir.join(relative).parent().unwrap()).unwrap();
            std::fs::copy(&file, dir.join(relative)).unwrap();
        }
    }
    std::fs::write(
        dir.join("SNAPSHOT"),
        "source: before RUSTSEC-2099-0001\ncommit: 0000000000000000000000000000000000002098\ncommit-date: 2026-11-20T00:00:00Z\n",
    )
    .unwrap();
    dir.to_owned()
}

fn update_to_the_synthetic_db(dir: &Path) {
    let advisory = "crates/smallvec/RUSTSEC-2099-0001.md";
    std::fs::create_dir_all(dir.join("crates/smallvec")).unwrap();
    std::fs::copy(support::synthetic_db().join(advisory), dir.join(advisory)).unwrap();
    std::fs::copy(support::synthetic_db().join("SNAPSHOT"), dir.join("SNAPSHOT")).unwrap();
}

/// Polls `sql` (one count) until it reaches at least `count`; returns it.
fn wait_for_count(database: &TestDatabase, sql: &str, count: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let now: usize = database.query(sql)[0][0].as_deref().unwrap().parse().unwrap();
        if now >= count {
            return now;
        }
        assert!(Instant::now() < deadline, "{sql}: {now} of {count} after {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_workers_on_one_postgres_store_lose_nothing_and_judge_nothing_twice() {
    if !broker::available() || !postgres::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("shared-store");
    let database = TestDatabase::create("shared");
    let store = database.url();
    let output = sandbox.assay().args(["keygen", "--out"]).arg(sandbox.path("keys")).output().unwrap();
    assert_eq!(exit_code(&output), 0);
    let key = sandbox.path("keys/assay-signing.key");
    let vulnerable = sandbox.input(
        "vulnerable-component-0.3.1.crate",
        &hostile_archive::crate_of(&fixture("connectors/vulnerable"), "vulnerable-component-0.3.1"),
    );
    let echo = sandbox.input(
        "echo-connector-1.0.0.crate",
        &hostile_archive::crate_of(&fixture("connectors/echo"), "echo-connector-1.0.0"),
    );
    let rules = sandbox.input("rules.toml", RULES.as_bytes()).display().to_string();
    let extra = ["--rules", rules.as_str(), "--db-check-interval", "1s", "--concurrency", "2"];
    let started = std::cell::Cell::new(0);
    // A worker on `machine`, with the older database (or, for a machine set up later, the current one).
    let start = |machine: &str, current: bool| {
        let home = sandbox.path("in").join(machine);
        let db = home.join("advisory-db");
        if !db.exists() {
            older_snapshot_at(&db);
            if current {
                update_to_the_synthetic_db(&db);
            }
        }
        Worker::start_at(&broker::WorkerSetup {
            prefix: &prefix,
            store: &store,
            archive_root: &sandbox.path("in"),
            home: &home,
            db: &db,
            key: &key,
            log: sandbox.path(&format!("{machine}-{}.log", started.replace(started.get() + 1))),
            extra: &extra,
        })
    };

    // 500 submissions, every tenth sent twice; even ids are the vulnerable component, odd ones echo.
    let ids: Vec<String> = (0..500).map(|i| format!("shared-{i:04}")).collect();
    let message = |i: usize| {
        if i.is_multiple_of(2) {
            broker::submission(&ids[i], &vulnerable, "vulnerable-component", "0.3.1", "acme")
        } else {
            broker::submission(&ids[i], &echo, "echo-connector", "1.0.0", "assay-fixtures")
        }
    };
    let mut batch: Vec<Vec<u8>> = (0..500).map(message).collect();
    batch.extend((0..500).step_by(10).map(message));

    let a = start("a", false);
    let mut b = start("b", false);
    broker::publish(&prefix, &batch);
    wait_for_count(&database, "SELECT count(*) FROM submissions WHERE state = 'judged'", 100, Duration::from_secs(120));
    b.kill_9();
    let b = start("b", false);
    let judged = "SELECT count(*) FROM submissions WHERE state = 'judged'";
    assert_eq!(wait_for_count(&database, judged, 500, Duration::from_secs(300)), 500);

    // Every id: one stored report (revision 0 only), one first event; and its published messages are one
    // message (one message id, one body), however often it was delivered.
    let rows = database.query("SELECT count(*), count(DISTINCT submission_id) FROM reports");
    assert_eq!(rows[0], [Some("500".to_owned()), Some("500".to_owned())]);
    assert_eq!(wait_for_count(&database, "SELECT count(*) FROM verdict_events", 500, Duration::from_secs(5)), 500);
    let published = broker::drain_until(&format!("{prefix}.reports.all"), 500, Duration::from_secs(60));
    let mut bodies: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for message in &published {
        let id = message.message_id.clone().unwrap();
        assert_eq!(support::broker_header(message, "verdict"), "accepted");
        bodies.entry(id).or_default().insert(message.body.clone());
    }
    assert_eq!(bodies.keys().cloned().collect::<Vec<_>>(), ids, "one first-verdict message id per submission");
    assert!(bodies.values().all(|distinct| distinct.len() == 1), "re-publications carry the stored report");

    // The database changes on both machines; whoever fans the round out is killed in the middle of it.
    for machine in ["a", "b"] {
        update_to_the_synthetic_db(&sandbox.path("in").join(machine).join("advisory-db"));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut workers = vec![a, b];
    let fanning = loop {
        let fanning_out = |w: &Worker| {
            w.log_text()
                .lines()
                .any(|line| line.contains("fanning out the re-judgement round") && line.ends_with("submissions=500"))
        };
        if let Some(n) = workers.iter().position(fanning_out) {
            break n;
        }
        assert!(Instant::now() < deadline, "no worker fanned out the round");
        std::thread::sleep(Duration::from_millis(5));
    };
    workers[fanning].kill_9();
    let killed = workers.remove(fanning);
    workers.push(start("c", true));

    // The 250 vulnerable submissions become rejected, once each; echo stays accepted.
    let vulnerable_ids: BTreeSet<String> = ids.iter().step_by(2).cloned().collect();
    let revisions = "SELECT count(*) FROM verdict_events WHERE revision = 1";
    assert_eq!(wait_for_count(&database, revisions, 250, Duration::from_secs(300)), 250);
    let revised: BTreeSet<String> = database
        .query("SELECT submission_id FROM verdict_events WHERE revision = 1 AND verdict = 'rejected'")
        .into_iter()
        .map(|row| row[0].clone().unwrap())
        .collect();
    assert_eq!(revised, vulnerable_ids);
    assert_eq!(database.query("SELECT count(*) FROM verdict_events WHERE revision > 1")[0][0].as_deref(), Some("0"));
    let changes = broker::drain_until(&format!("{prefix}.reports.all"), 250, Duration::from_secs(60));
    let message_ids: BTreeSet<String> = changes.iter().map(|m| m.message_id.clone().unwrap()).collect();
    assert_eq!(message_ids, vulnerable_ids.iter().map(|id| format!("{id}#1")).collect());
    assert!(changes.iter().all(|m| m.routing_key == "report.rejected"));

    // The round was acked by nobody until a surviving worker fanned it out again from the start.
    let fanned_out_again = workers.iter().any(|w| {
        w.log_text()
            .lines()
            .any(|line| line.contains("fanning out the re-judgement round") && line.ends_with("submissions=500"))
    });
    assert!(fanned_out_again, "the killed worker's round was redelivered:\n{}", killed.log_text());
}
