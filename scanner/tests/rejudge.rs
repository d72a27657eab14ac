//! Living verdicts through the real binary, the real broker and both stores (a directory, PostgreSQL): an
//! asset accepted under an older advisory snapshot is rejected under the newer one, with one new revision,
//! one chained event and one message; unchanged assets get none; `rules impact` changes nothing.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::broker::{self, Worker};
use support::postgres::{self, TestDatabase};
use support::{Sandbox, exit_code, fixture, hostile_archive};

/// The synthetic database as it was before RUSTSEC-2099-0001 (smallvec 1.6.0) was filed, at `dir`.
fn older_snapshot_at(older: &Path) -> PathBuf {
    let older = older.to_owned();
    for file in support::walk(&support::synthetic_db()).into_iter().filter(|path| path.is_file()) {
        let relative = file.strip_prefix(support::synthetic_db()).unwrap();
        if relative.starts_with("crates/smallvec") {
            continue;
        }
        std::fs::create_dir_all(older.join(relative).parent().unwrap()).unwrap();
        std::fs::copy(&file, older.join(relative)).unwrap();
    }
    // An earlier commit of the database than the synthetic one's.
    std::fs::write(
        older.join("SNAPSHOT"),
        "source: synthetic test fixture, before RUSTSEC-2099-0001\ncommit: 0000000000000000000000000000000000002098\ncommit-date: 2026-11-20T00:00:00Z\n",
    )
    .unwrap();
    older
}

fn older_snapshot(sandbox: &Sandbox) -> PathBuf {
    older_snapshot_at(&sandbox.path("advisory-db-older"))
}

/// Turns the database at `dir` into the current synthetic one, as `assay db fetch` would.
fn update_to_the_synthetic_db(dir: &Path) {
    std::fs::create_dir_all(dir.join("crates/smallvec")).unwrap();
    let advisory = "crates/smallvec/RUSTSEC-2099-0001.md";
    std::fs::copy(support::synthetic_db().join(advisory), dir.join(advisory)).unwrap();
    std::fs::copy(support::synthetic_db().join("SNAPSHOT"), dir.join("SNAPSHOT")).unwrap();
}

/// The marketplace's rule set in these tests: the bundled one, but the fixture's git and path dependencies
/// only warn, so `vulnerable-component` passes unless an advisory rejects it.
const RULES: &str = "version = 1\n[sources]\nallow-git = true\n[levels]\nunaudited-source = \"warn\"\n";

fn rules(sandbox: &Sandbox) -> String {
    sandbox.input("rules.toml", RULES.as_bytes()).display().to_string()
}

/// A store holding `vulnerable-component` (id `vuln-1`) and `echo-connector` (id `echo-1`), both judged by a
/// worker with the older snapshot; returns the signing key and the worker's published reports.
fn judged_under_the_older_snapshot(sandbox: &Sandbox, prefix: &str, store: &str) -> PathBuf {
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
    let worker = Worker::start_at(&broker::WorkerSetup {
        prefix,
        store,
        archive_root: &sandbox.path("in"),
        home: &sandbox.path("in"),
        db: &older_snapshot(sandbox),
        key: &key,
        log: sandbox.path("worker.log"),
        extra: &["--rules", &rules(sandbox)],
    });
    broker::publish(
        prefix,
        &[
            broker::submission("vuln-1", &vulnerable, "vulnerable-component", "0.3.1", "acme"),
            broker::submission("echo-1", &echo, "echo-connector", "1.0.0", "assay-fixtures"),
        ],
    );
    let first = broker::drain_until(&format!("{prefix}.reports.all"), 2, Duration::from_secs(60));
    let verdicts: Vec<String> = first.iter().map(|m| support::broker_header(m, "verdict")).collect();
    assert_eq!(verdicts, ["accepted", "accepted"], "both pass under the older snapshot");
    assert!(worker.terminate().success());
    key
}

fn json(output: &std::process::Output) -> Value {
    assert_eq!(exit_code(output), 0, "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Rejudges `store` against the current synthetic database and checks everything a change leaves.
fn a_new_advisory_changes_one_verdict(sandbox: &Sandbox, prefix: &str, store: &str, key: &Path) {
    let rejudge = || {
        sandbox
            .assay()
            .args(["rejudge", "--store", store, "--advisory-db"])
            .arg(support::synthetic_db())
            .arg("--key")
            .arg(key)
            .args(["--rules", &rules(sandbox)])
            .args(["--amqp", broker::AMQP, "--prefix", prefix, "--format", "json"])
            .output()
            .unwrap()
    };
    let changes = json(&rejudge());
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let change = &changes[0];
    assert_eq!(change["submission_id"], "vuln-1");
    assert_eq!(change["asset"], serde_json::json!({"name": "vulnerable-component", "version": "0.3.1"}));
    assert_eq!(change["previous_verdict"], "accepted");
    assert_eq!(change["verdict"], "rejected");
    let reasons = change["reasons"].to_string();
    assert!(reasons.contains("RUSTSEC-2099-0001") && reasons.contains("smallvec"), "{reasons}");

    // One message: the new verdict, revision 1, with its own message id.
    let published = broker::drain_until(&format!("{prefix}.reports.all"), 1, Duration::from_secs(30));
    assert_eq!(published.len(), 1);
    let message = &published[0];
    assert_eq!(message.routing_key, "report.rejected");
    assert_eq!(message.message_id.as_deref(), Some("vuln-1#1"));
    assert_eq!(support::broker_header(message, "submission_id"), "vuln-1");
    assert_eq!(support::broker_header(message, "previous_verdict"), "accepted");
    assert_eq!(support::broker_header(message, "revision"), "1");

    // One event, chained to the first; the unchanged asset has only its first.
    let history = |id: &str, extra: &[&str]| {
        sandbox.assay().args(["store", "history", id, "--store", store]).args(extra).output().unwrap()
    };
    let events = json(&history("vuln-1", &["--format", "json", "--check"]));
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["revision"], 1);
    assert_eq!(events[1]["previous_verdict"], "accepted");
    assert_eq!(events[1]["verdict"], "rejected");
    assert_eq!(events[1]["previous_hash"], events[0]["hash"]);
    assert!(events[1]["reason"].as_str().unwrap().contains("RUSTSEC-2099-0001"));
    assert_eq!(json(&history("echo-1", &["--format", "json"])).as_array().unwrap().len(), 1);

    // The new report is signed, says it re-judged the original scan, and verifies as FAILED.
    let out = sandbox.path("vuln-1");
    let get = sandbox.assay().args(["store", "get", "vuln-1", "--store", store, "--out"]).arg(&out).output().unwrap();
    assert_eq!(exit_code(&get), 0, "{}", String::from_utf8_lossy(&get.stderr));
    let report: Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["verdict"], "rejected");
    assert_eq!(report["rejudged"]["revision"], 1);
    assert!(support::codes(&report).contains(&"vulnerability".to_owned()));
    let verify = sandbox
        .assay()
        .arg("verify")
        .arg(out.join("report.dsse.json"))
        .arg("--trust")
        .arg(sandbox.path("keys/assay-signing.pub"))
        .arg("--subject-sha256")
        .arg(report["subject"]["sha256"].as_str().unwrap())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verify.stderr);
    assert_eq!(exit_code(&verify), 1, "verifies, FAILED: {said}");
    assert!(said.starts_with("FAILED"), "{said}");

    // Judged again with nothing new: nothing changes, nothing is published.
    assert_eq!(json(&rejudge()), serde_json::json!([]));
    assert!(broker::drain(&format!("{prefix}.reports.all")).is_empty());

    let list = json(
        &sandbox
            .assay()
            .args(["store", "list", "--store", store, "--verdict", "rejected", "--format", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["submission_id"], "vuln-1");
}

#[test]
fn a_new_advisory_rejects_a_stored_verdict_in_a_directory_store() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("rejudge-dir");
    let store = sandbox.path("store").display().to_string();
    let key = judged_under_the_older_snapshot(&sandbox, &prefix, &store);
    a_new_advisory_changes_one_verdict(&sandbox, &prefix, &store, &key);

    // An edited event breaks the chain, and `--check` names it.
    let events = sandbox.path("store/vulnerable-component/0.3.1/vuln-1/events.jsonl");
    let text = std::fs::read_to_string(&events).unwrap();
    std::fs::write(&events, text.replacen("\"verdict\":\"accepted\"", "\"verdict\":\"rejected\"", 1)).unwrap();
    let check = sandbox.assay().args(["store", "history", "vuln-1", "--check", "--store", &store]).output().unwrap();
    assert_eq!(exit_code(&check), 1);
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("revision 0"),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_new_advisory_rejects_a_stored_verdict_in_a_postgres_store() {
    if !broker::available() || !postgres::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("rejudge-pg");
    let database = TestDatabase::create("rejudge");
    let store = database.url();
    let key = judged_under_the_older_snapshot(&sandbox, &prefix, &store);
    a_new_advisory_changes_one_verdict(&sandbox, &prefix, &store, &key);

    // The table refuses edits; one made past the trigger (as a superuser could) breaks the chain.
    let edited = std::panic::catch_unwind(|| {
        database
            .execute("UPDATE verdict_events SET verdict = 'rejected' WHERE submission_id = 'vuln-1' AND revision = 0")
    });
    assert!(edited.is_err(), "verdict_events is append-only");
    database.execute(
        "ALTER TABLE verdict_events DISABLE TRIGGER verdict_events_append_only; \
         UPDATE verdict_events SET reason = 'edited' WHERE submission_id = 'vuln-1' AND revision = 1;",
    );
    let check = sandbox.assay().args(["store", "history", "vuln-1", "--check", "--store", &store]).output().unwrap();
    assert_eq!(exit_code(&check), 1);
    assert!(String::from_utf8_lossy(&check.stderr).contains("revision 1"));
}

#[test]
fn rules_impact_lists_what_a_licence_change_would_reject_and_changes_nothing() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("impact");
    let store = sandbox.path("store").display().to_string();
    judged_under_the_older_snapshot(&sandbox, &prefix, &store);
    let before = support::walk(&sandbox.path("store"))
        .into_iter()
        .filter(|path| path.is_file())
        .map(|path| (std::fs::read(&path).unwrap(), path))
        .collect::<Vec<_>>();

    // echo-connector is MIT OR Apache-2.0, vulnerable-component MIT: allowing Apache-2.0 alone rejects the latter.
    let rules = sandbox.input("licences.toml", format!("{RULES}[licenses]\nallow = [\"Apache-2.0\"]\n").as_bytes());
    let impact = sandbox
        .assay()
        .args(["rules", "impact", "--store", &store, "--format", "json", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    let changes = json(&impact);
    let ids: Vec<&str> = changes.as_array().unwrap().iter().map(|c| c["submission_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["vuln-1"], "{changes:#}");
    assert_eq!(changes[0]["previous_verdict"], "accepted");
    let added = changes[0]["difference"]["added"].to_string();
    assert!(added.contains("license"), "the findings that make the difference: {added}");
    assert!(changes[0].get("revision").is_none());

    let after = support::walk(&sandbox.path("store"))
        .into_iter()
        .filter(|path| path.is_file())
        .map(|path| (std::fs::read(&path).unwrap(), path))
        .collect::<Vec<_>>();
    assert_eq!(before, after, "rules impact changes nothing in the store");
}

#[test]
fn workers_sharing_a_store_rejudge_through_the_queue_when_the_database_changes() {
    if !broker::available() || !postgres::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("rejudge-queue");
    let database = TestDatabase::create("fanout");
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
    // Two workers on two "machines": each its own database checkout, cache and scratch; one store, one broker.
    let rules = rules(&sandbox);
    let extra = ["--rules", rules.as_str(), "--db-check-interval", "1s"];
    let homes = [sandbox.path("in/a"), sandbox.path("in/b")];
    let dbs: Vec<PathBuf> = homes.iter().map(|home| older_snapshot_at(&home.join("advisory-db"))).collect();
    let workers: Vec<Worker> = homes
        .iter()
        .zip(&dbs)
        .enumerate()
        .map(|(n, (home, db))| {
            Worker::start_at(&broker::WorkerSetup {
                prefix: &prefix,
                store: &store,
                archive_root: &sandbox.path("in"),
                home,
                db,
                key: &key,
                log: sandbox.path(&format!("worker-{n}.log")),
                extra: &extra,
            })
        })
        .collect();
    broker::publish(
        &prefix,
        &[
            broker::submission("vuln-1", &vulnerable, "vulnerable-component", "0.3.1", "acme"),
            broker::submission("echo-1", &echo, "echo-connector", "1.0.0", "assay-fixtures"),
        ],
    );
    let first = broker::drain_until(&format!("{prefix}.reports.all"), 2, Duration::from_secs(60));
    assert!(first.iter().all(|m| support::broker_header(m, "verdict") == "accepted"));

    // A cron'd `assay db fetch` on each machine.
    for db in &dbs {
        update_to_the_synthetic_db(db);
    }
    let changed = broker::drain_until(&format!("{prefix}.reports.all"), 1, Duration::from_secs(60));
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].message_id.as_deref(), Some("vuln-1#1"));
    assert_eq!(changed[0].routing_key, "report.rejected");
    assert_eq!(support::broker_header(&changed[0], "previous_verdict"), "accepted");

    // One round, claimed by one worker; nothing else changes, however long the workers keep checking.
    let rounds = database.query("SELECT count(*) FROM rejudge_rounds WHERE round LIKE 'snapshot:%2099 %'");
    assert_eq!(rounds[0][0].as_deref(), Some("1"));
    std::thread::sleep(Duration::from_secs(3));
    assert!(broker::drain(&format!("{prefix}.reports.all")).is_empty());
    let events = database.query("SELECT submission_id, revision FROM verdict_events ORDER BY submission_id, revision");
    let events: Vec<(String, String)> =
        events.into_iter().map(|row| (row[0].clone().unwrap(), row[1].clone().unwrap())).collect();
    let expected = [("echo-1", "0"), ("vuln-1", "0"), ("vuln-1", "1")];
    assert_eq!(events, expected.map(|(id, revision)| (id.to_owned(), revision.to_owned())));
    for worker in workers {
        assert!(worker.terminate().success());
    }
}
