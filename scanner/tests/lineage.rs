//! Version lineage through the real worker, the real broker and both stores: each release of an asset is
//! judged against the last accepted one (capability escalation, versions, names, performance), and
//! `assay diff` / `assay scan --baseline` show the same changes to a person.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::broker::{self, Worker};
use support::load_fixture::{assemble, bubblewrap};
use support::postgres::{self, TestDatabase};
use support::{Sandbox, exit_code, fixture, hostile_archive};

/// What a release changes in the echo connector's `Cargo.toml` (and `Cargo.lock`, where its name and
/// version are).
#[derive(Clone, Copy)]
struct Release<'a> {
    name: &'a str,
    version: &'a str,
    publisher: &'a str,
    /// Declares an outbound host and process spawning on top of echo's capabilities.
    escalated: bool,
}

const ECHO: Release<'static> =
    Release { name: "echo-connector", version: "1.0.0", publisher: "assay-fixtures", escalated: false };

/// `text` with `from` replaced by `to`, which must be there (a fixture edit that stops matching fails here).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the fixture any more");
    text.replacen(from, to, 1)
}

/// The echo connector as `release`, in `dir/<name>-<version>-<publisher>/`.
fn write_release(dir: &Path, release: Release<'_>) -> PathBuf {
    let Release { name, version, publisher, escalated } = release;
    let echo = fixture("connectors/echo");
    let target = dir.join(format!("{name}-{version}-{publisher}"));
    std::fs::create_dir_all(target.join("src")).unwrap();
    std::fs::copy(echo.join("src/main.rs"), target.join("src/main.rs")).unwrap();
    let mut manifest = std::fs::read_to_string(echo.join("Cargo.toml")).unwrap();
    manifest = edit(
        &manifest,
        "name = \"echo-connector\"\nversion = \"1.0.0\"",
        &format!("name = \"{name}\"\nversion = \"{version}\""),
    );
    manifest = edit(&manifest, "publisher = \"assay-fixtures\"", &format!("publisher = \"{publisher}\""));
    if escalated {
        manifest = edit(&manifest, "network = []", "network = [\"api.example.com:443\"]");
        manifest = edit(&manifest, "process = false", "process = true");
    }
    std::fs::write(target.join("Cargo.toml"), manifest).unwrap();
    let lock = std::fs::read_to_string(echo.join("Cargo.lock")).unwrap();
    let lock = edit(
        &lock,
        "name = \"echo-connector\"\nversion = \"1.0.0\"",
        &format!("name = \"{name}\"\nversion = \"{version}\""),
    );
    std::fs::write(target.join("Cargo.lock"), lock).unwrap();
    target
}

/// Submits `release` as `id` to the worker of `prefix` and waits for its first verdict; returns the stored
/// report.
fn judge(sandbox: &Sandbox, prefix: &str, store: &str, id: &str, release: Release<'_>) -> Value {
    let dir = write_release(&sandbox.path("releases"), release);
    let top = format!("{}-{}", release.name, release.version);
    let archive = sandbox.input(&format!("{id}.crate"), &hostile_archive::crate_of(&dir, &top));
    broker::publish(prefix, &[broker::submission(id, &archive, release.name, release.version, release.publisher)]);
    let published = broker::drain_until(&format!("{prefix}.reports.all"), 1, Duration::from_secs(120));
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].message_id.as_deref(), Some(id));
    stored_report(sandbox, store, id)
}

fn stored_report(sandbox: &Sandbox, store: &str, id: &str) -> Value {
    let out = sandbox.path(&format!("got/{id}"));
    let get = sandbox.assay().args(["store", "get", id, "--store", store, "--out"]).arg(&out).output().unwrap();
    assert_eq!(exit_code(&get), 0, "{}", String::from_utf8_lossy(&get.stderr));
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

fn message_of<'a>(report: &'a Value, code: &str) -> &'a str {
    support::finding(report, code)["message"].as_str().unwrap()
}

/// The whole lineage story on `store`, through a worker of `prefix`.
fn releases_are_judged_against_the_last_accepted_one(sandbox: &Sandbox, prefix: &str, store: &str) {
    let output = sandbox.assay().args(["keygen", "--out"]).arg(sandbox.path("keys")).output().unwrap();
    assert_eq!(exit_code(&output), 0);
    let worker = Worker::start_at(&broker::WorkerSetup {
        prefix,
        store,
        archive_root: &sandbox.path("in"),
        home: &sandbox.path("in"),
        db: &support::synthetic_db(),
        key: &sandbox.path("keys/assay-signing.key"),
        log: sandbox.path("worker.log"),
        extra: &[],
    });

    // The first release has nothing to be compared with.
    let first = judge(sandbox, prefix, store, "echo-100", ECHO);
    assert_eq!(first["verdict"], "accepted", "{first:#}");
    assert!(first["lineage"].get("previous").is_none(), "{:#}", first["lineage"]);

    // 1.1.0 declares a new host and process spawning, honestly: a person reviews the escalation.
    let escalated = judge(sandbox, prefix, store, "echo-110", Release { version: "1.1.0", escalated: true, ..ECHO });
    assert_eq!(escalated["verdict"], "needs-review", "{escalated:#}");
    let message = message_of(&escalated, "capability-escalation");
    assert!(message.contains("network host api.example.com:443") && message.contains("process spawning"), "{message}");
    assert_eq!(escalated["lineage"]["previous"]["version"], "1.0.0");
    assert_eq!(escalated["lineage"]["previous"]["submission_id"], "echo-100");

    // 1.0.1 changes nothing against the last accepted release (1.0.0; 1.1.0 awaits review).
    let patch = judge(sandbox, prefix, store, "echo-101", Release { version: "1.0.1", ..ECHO });
    assert_eq!(patch["verdict"], "accepted", "{patch:#}");
    assert_eq!(patch["lineage"]["previous"]["version"], "1.0.0");
    assert!(!support::codes(&patch).contains(&"capability-escalation".to_owned()));

    // A lower version afterwards cannot replace it.
    let older = judge(sandbox, prefix, store, "echo-090", Release { version: "0.9.0", ..ECHO });
    assert_eq!(older["verdict"], "rejected", "{older:#}");
    assert!(message_of(&older, "version-not-increasing").contains("1.0.1"));

    // The same name from another publisher is refused; a near-identical one is reviewed.
    let squat = judge(sandbox, prefix, store, "squat-1", Release { version: "2.0.0", publisher: "mallory", ..ECHO });
    assert_eq!(squat["verdict"], "rejected", "{squat:#}");
    assert!(message_of(&squat, "name-owned-by-another-publisher").contains("assay-fixtures"));
    let similar =
        judge(sandbox, prefix, store, "similar-1", Release { name: "echo-conector", publisher: "mallory", ..ECHO });
    assert_eq!(similar["verdict"], "needs-review", "{similar:#}");
    assert!(message_of(&similar, "name-similar-to-listed").contains("`echo-connector`"));
    assert!(similar["lineage"].get("previous").is_none(), "a new name has no baseline");
    assert!(worker.terminate().success());

    // `assay diff` of two stored submissions shows the escalation to a person, and as JSON.
    let diff = |old: &str, new: &str, format: &str| {
        sandbox.assay().args(["diff", old, new, "--store", store, "--format", format]).output().unwrap()
    };
    let human = diff("echo-100", "echo-110", "human");
    assert_eq!(exit_code(&human), 0, "{}", String::from_utf8_lossy(&human.stderr));
    let shown = String::from_utf8_lossy(&human.stdout);
    assert!(shown.contains("+ network host api.example.com:443") && shown.contains("+ process spawning"), "{shown}");
    let json: Value = serde_json::from_slice(&diff("echo-101", "squat-1", "json").stdout).unwrap();
    assert_eq!(
        json["diff"]["metadata"],
        serde_json::json!([{"field": "publisher", "previous": "assay-fixtures", "current": "mallory"}])
    );
}

#[test]
fn releases_are_judged_against_the_last_accepted_one_in_a_directory_store() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("lineage-dir");
    let store = sandbox.path("store").display().to_string();
    releases_are_judged_against_the_last_accepted_one(&sandbox, &prefix, &store);
}

#[test]
fn releases_are_judged_against_the_last_accepted_one_in_a_postgres_store() {
    if !broker::available() || !postgres::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("lineage-pg");
    let database = TestDatabase::create("lineage");
    releases_are_judged_against_the_last_accepted_one(&sandbox, &prefix, &database.url());
}

/// The `fast` load fixture as release `version`; `slow` takes the `slow` fixture's code (40 ms a request),
/// still within `fast`'s budgets.
fn load_release(sandbox: &Sandbox, version: &str, slow: bool) -> PathBuf {
    let dir = assemble("fast", &sandbox.path(&format!("fast-{version}")));
    if slow {
        std::fs::copy(fixture("load/slow/src/main.rs"), dir.join("src/main.rs")).unwrap();
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let text = edit(
            &text,
            "name = \"load-fast\"\nversion = \"0.1.0\"",
            &format!("name = \"load-fast\"\nversion = \"{version}\""),
        );
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

#[test]
fn a_p95_regression_is_warned_with_both_values() {
    if !broker::available() || !bubblewrap() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("lineage-load");
    let store = sandbox.path("store").display().to_string();
    let output = sandbox.assay().args(["keygen", "--out"]).arg(sandbox.path("keys")).output().unwrap();
    assert_eq!(exit_code(&output), 0);
    let worker = Worker::start_loading(&broker::WorkerSetup {
        prefix: &prefix,
        store: &store,
        archive_root: &sandbox.path("in"),
        home: &sandbox.path("in"),
        db: &support::synthetic_db(),
        key: &sandbox.path("keys/assay-signing.key"),
        log: sandbox.path("worker.log"),
        extra: &[],
    });
    let submit = |id: &str, version: &str, slow: bool| {
        let dir = load_release(&sandbox, version, slow);
        let archive =
            sandbox.input(&format!("{id}.crate"), &hostile_archive::crate_of(&dir, &format!("load-fast-{version}")));
        broker::publish(&prefix, &[broker::submission(id, &archive, "load-fast", version, "assay-fixtures")]);
        broker::drain_until(&format!("{prefix}.reports.all"), 1, Duration::from_secs(300));
        stored_report(&sandbox, &store, id)
    };
    let fast = submit("fast-010", "0.1.0", false);
    assert_eq!(fast["verdict"], "accepted", "{fast:#}");
    let slow = submit("fast-020", "0.2.0", true);
    assert!(worker.terminate().success());
    let diff = sandbox.assay().args(["diff", "fast-010", "fast-020", "--store", &store]).output().unwrap();
    assert_eq!(exit_code(&diff), 0, "{}", String::from_utf8_lossy(&diff.stderr));
    let shown = String::from_utf8_lossy(&diff.stdout);
    assert!(shown.contains("performance") && shown.contains("~ overall p95: "), "{shown}");
    let regressions: Vec<&Value> = slow["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["code"] == "performance-regression")
        .collect();
    let p95 = regressions.iter().find(|finding| finding["message"].as_str().unwrap().starts_with("p95 of `overall`"));
    let p95 = p95.unwrap_or_else(|| panic!("no p95 regression among {regressions:#?}"));
    assert_eq!(p95["severity"], "warn");
    let message = p95["message"].as_str().unwrap();
    let before = fast["load"]["overall"]["latency"]["p95_ms"].as_f64().unwrap();
    let after = slow["load"]["overall"]["latency"]["p95_ms"].as_f64().unwrap();
    assert!(after > before * 1.2, "the slow release is slower: {before} -> {after}");
    assert!(
        message.contains("p95 of `overall`")
            && message.contains(&format!("{before:.2} ms"))
            && message.contains(&format!("{after:.2} ms")),
        "{message}"
    );
}

#[test]
fn scan_with_a_baseline_and_diff_of_two_directories() {
    let sandbox = Sandbox::new();
    let releases = sandbox.path("releases");
    let old = write_release(&releases, ECHO);
    let new = write_release(&releases, Release { version: "1.1.0", escalated: true, ..ECHO });
    let lower = write_release(&releases, Release { version: "0.9.0", ..ECHO });

    let scanned = sandbox.scan(&new, &["--baseline", &old.display().to_string()]);
    assert_eq!(exit_code(&scanned), 3, "{}", String::from_utf8_lossy(&scanned.stderr));
    let report = sandbox.report();
    assert_eq!(report["lineage"]["previous"]["version"], "1.0.0");
    assert!(message_of(&report, "capability-escalation").contains("network host api.example.com:443"));
    assert!(
        sandbox.find("summary.md").iter().any(|summary| {
            std::fs::read_to_string(summary).unwrap().contains("+ network host api.example.com:443")
        })
    );

    let scanned = sandbox.scan(&lower, &["--baseline", &old.display().to_string()]);
    assert_eq!(exit_code(&scanned), 1, "{}", String::from_utf8_lossy(&scanned.stderr));

    let diff = sandbox
        .assay()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .arg("--advisory-db")
        .arg(support::synthetic_db())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(exit_code(&diff), 0, "{}", String::from_utf8_lossy(&diff.stderr));
    let diff: Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!(diff["previous"]["version"], "1.0.0");
    assert_eq!(diff["current"]["version"], "1.1.0");
    assert_eq!(
        diff["diff"]["contract"]["gained"],
        serde_json::json!([{"capability": "network", "item": "api.example.com:443"}, {"capability": "process"}])
    );

    let missing = sandbox.assay().args(["diff", "no-such-release", "echo-100"]).output().unwrap();
    assert_eq!(exit_code(&missing), 2);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--store"));
}
