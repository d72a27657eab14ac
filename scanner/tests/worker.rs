//! `assay worker` and `assay submit` against the real RabbitMQ broker: verdicts, crash recovery,
//! duplicates, poison messages, a broker restart, and a thousand submissions through two workers.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::broker::{self, Worker};
use support::{Sandbox, exit_code, fixture, hostile_archive};

/// A signing key and a crate file in the sandbox.
fn setup(sandbox: &Sandbox) -> (PathBuf, PathBuf) {
    let output = sandbox.assay().args(["keygen", "--out"]).arg(sandbox.path("keys")).output().unwrap();
    assert_eq!(exit_code(&output), 0);
    let echo = sandbox.input(
        "echo-connector-1.0.0.crate",
        &hostile_archive::crate_of(&fixture("connectors/echo"), "echo-connector-1.0.0"),
    );
    (sandbox.path("keys/assay-signing.key"), echo)
}

/// A v1 submission of `archive`.
fn submission(id: &str, archive: &Path, name: &str, version: &str) -> Vec<u8> {
    let bytes = std::fs::read(archive).unwrap();
    let sha256: String = assay_report::digest::sha256_hex(&bytes);
    serde_json::to_vec(&serde_json::json!({
        "schema": "assay.submission/v1",
        "submission_id": id,
        "asset": { "name": name, "version": version, "publisher": "assay-fixtures" },
        "archive": { "uri": format!("file://{}", archive.display()), "sha256": sha256, "size": bytes.len() },
        "listing": format!("https://marketplace.example/listings/{name}"),
        "rules": "default"
    }))
    .unwrap()
}

fn submit(sandbox: &Sandbox, prefix: &str, asset: &Path) -> std::process::Output {
    sandbox
        .assay()
        .args(["submit", "--amqp", broker::AMQP, "--prefix", prefix, "--wait", "--timeout", "60s"])
        .arg(asset)
        .output()
        .unwrap()
}

#[test]
fn submissions_get_their_verdicts_stored_and_published() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("happy");
    let (key, echo) = setup(&sandbox);
    let vulnerable = sandbox.input(
        "vulnerable-component-0.3.1.crate",
        &hostile_archive::crate_of(&fixture("connectors/vulnerable"), "vulnerable-component-0.3.1"),
    );
    let store = sandbox.path("store");
    let worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &["--metrics", "127.0.0.1:0"]);

    let accepted = submit(&sandbox, &prefix, &echo);
    assert_eq!(exit_code(&accepted), 0, "{}", String::from_utf8_lossy(&accepted.stderr));
    let rejected = submit(&sandbox, &prefix, &vulnerable);
    assert_eq!(exit_code(&rejected), 1, "{}", String::from_utf8_lossy(&rejected.stderr));

    let reports = broker::wait_for_reports(&store, 2, Duration::from_secs(30));
    for dir in &reports {
        for file in ["report.json", "report.dsse.json", "sbom.cdx.json", "summary.md"] {
            assert!(dir.join(file).is_file(), "{} lacks {file}", dir.display());
        }
        // The stored envelopes verify with the worker's public key.
        let verify = sandbox
            .assay()
            .arg("verify")
            .arg(dir.join("report.dsse.json"))
            .arg("--trust")
            .arg(sandbox.path("keys/assay-signing.pub"))
            .arg("--subject-sha256")
            .arg(serde_json::from_slice::<Value>(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()["subject"]["sha256"].as_str().unwrap())
            .output()
            .unwrap();
        assert!(matches!(exit_code(&verify), 0 | 1), "{}", String::from_utf8_lossy(&verify.stderr));
    }
    let published = broker::drain(&format!("{prefix}.reports.all"));
    assert_eq!(published.len(), 2);
    let verdicts: Vec<String> = published.iter().map(|m| support::broker_header(m, "verdict")).collect();
    assert!(verdicts.contains(&"accepted".to_owned()) && verdicts.contains(&"rejected".to_owned()), "{verdicts:?}");
    let envelopes: Value = serde_json::from_slice(&published[0].body).unwrap();
    assert_eq!(envelopes.as_array().unwrap().len(), 2, "the body is the envelopes of report.dsse.json");

    assert!(worker.terminate().success(), "SIGTERM stops the worker cleanly");
}

#[test]
fn a_worker_killed_mid_scan_loses_nothing_and_stores_one_report() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("kill9");
    let (key, _) = setup(&sandbox);
    // Thousands of files make the scan last long enough to be killed in the middle of it.
    let slow = sandbox.input("slow-0.1.0.crate", &slow_crate());
    let store = sandbox.path("store");
    let mut first = Worker::start(&prefix, &store, &key, sandbox.path("first.log"), &[]);
    broker::publish(&prefix, &[submission("kill-9-0001", &slow, "demo", "0.1.0")]);
    first.wait_for_log("scanning", Duration::from_secs(30));
    first.kill_9();

    let second = Worker::start(&prefix, &store, &key, sandbox.path("second.log"), &[]);
    let reports = broker::wait_for_reports(&store, 1, Duration::from_secs(60));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].ends_with("demo/0.1.0/kill-9-0001"));
    let published = broker::drain(&format!("{prefix}.reports.all"));
    assert!(!published.is_empty(), "the report was published");
    let bodies: std::collections::BTreeSet<&Vec<u8>> = published.iter().map(|m| &m.body).collect();
    assert_eq!(bodies.len(), 1, "every publication carries the one stored report");
    drop(second);
}

#[test]
fn a_duplicate_delivery_gives_one_verdict_and_one_stored_report() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("dup");
    let (key, echo) = setup(&sandbox);
    let store = sandbox.path("store");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &["--concurrency", "2"]);
    let message = submission("duplicate-0001", &echo, "echo-connector", "1.0.0");
    broker::publish(&prefix, &[message.clone(), message]);
    let queue = format!("{prefix}.reports.all");
    let mut published = Vec::new();
    support::poll(Duration::from_secs(30), || {
        published.extend(broker::drain(&queue));
        published.len() >= 2
    });
    assert_eq!(broker::stored_reports(&store).len(), 1);
    assert_eq!(published[0].body, published[1].body, "both deliveries publish the same signed report");
}

#[test]
fn a_submission_claiming_another_name_is_rejected_for_it() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("claim");
    let (key, echo) = setup(&sandbox);
    let store = sandbox.path("store");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &[]);
    // The echo connector's archive, listed as somebody else's asset.
    broker::publish(&prefix, &[submission("false-claim-0001", &echo, "acme-connector", "1.2.0")]);
    let reports = broker::wait_for_reports(&store, 1, Duration::from_secs(30));
    let report: Value = serde_json::from_slice(&std::fs::read(reports[0].join("report.json")).unwrap()).unwrap();
    assert_eq!(report["verdict"], "rejected");
    let claim = support::finding(&report, "claim-mismatch");
    assert_eq!(claim["severity"], "deny");
    let message = claim["message"].as_str().unwrap();
    assert!(message.contains("name `acme-connector` (Cargo.toml: `echo-connector`)"), "{message}");
    assert!(message.contains("version `1.2.0` (Cargo.toml: `1.0.0`)"), "{message}");
}

#[test]
fn the_same_id_with_another_archive_gets_no_second_verdict() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("one-id");
    let (key, echo) = setup(&sandbox);
    let demo = sandbox.input("demo-0.1.0.crate", &hostile_archive::clean());
    let store = sandbox.path("store");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &["--concurrency", "1"]);
    let mut other: Value = serde_json::from_slice(&submission("one-id-0001", &demo, "demo", "0.1.0")).unwrap();
    other["asset"]["publisher"] = Value::from("tests");
    broker::publish(
        &prefix,
        &[submission("one-id-0001", &echo, "echo-connector", "1.0.0"), serde_json::to_vec(&other).unwrap()],
    );
    let dlq = format!("{prefix}.submissions.dlq");
    let mut dead = Vec::new();
    support::poll(Duration::from_secs(30), || {
        dead.extend(broker::drain(&dlq));
        !dead.is_empty()
    });
    let reason = support::broker_header(&dead[0], "x-assay-error");
    assert!(reason.contains("already belongs to echo-connector 1.0.0"), "{reason}");
    assert_eq!(broker::stored_reports(&store).len(), 1, "one report for the id");
    let published = broker::drain(&format!("{prefix}.reports.all"));
    assert_eq!(published.len(), 1, "one verdict for the id");
}

#[test]
fn a_source_nested_past_any_stack_is_judged_and_the_worker_judges_the_next_submission() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("deep");
    let (key, echo) = setup(&sandbox);
    // 50,000 nested parentheses in a 100 KB file: enough to overflow any thread's stack in a recursive parser.
    let deep = format!("fn f() {{ {}{} }}\n", "(".repeat(50_000), ")".repeat(50_000));
    let hostile = sandbox.input(
        "demo-0.1.0.crate",
        &hostile_archive::clean_plus(vec![hostile_archive::Raw::file(
            &format!("{}/src/deep.rs", hostile_archive::TOP),
            deep.as_bytes(),
        )]),
    );
    let store = sandbox.path("store");
    let worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &["--concurrency", "1"]);
    let mut deep_message: Value = serde_json::from_slice(&submission("deep-0001", &hostile, "demo", "0.1.0")).unwrap();
    deep_message["asset"]["publisher"] = Value::from("tests");
    broker::publish(
        &prefix,
        &[serde_json::to_vec(&deep_message).unwrap(), submission("deep-0002", &echo, "echo-connector", "1.0.0")],
    );
    let reports = broker::wait_for_reports(&store, 2, Duration::from_secs(60));
    let verdicts: Vec<(String, Value)> = reports
        .iter()
        .map(|dir| {
            let report: Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
            (dir.file_name().unwrap().to_string_lossy().into_owned(), report)
        })
        .collect();
    let (_, deep_report) = verdicts.iter().find(|(id, _)| id == "deep-0001").expect("the deep submission's report");
    let not_analysed = support::finding(deep_report, "source-not-analysed");
    let message = not_analysed["message"].as_str().unwrap();
    assert!(message.contains("src/deep.rs") && message.contains("levels deep"), "{message}");
    assert_eq!(deep_report["verdict"], "needs-review");
    let (_, next) = verdicts.iter().find(|(id, _)| id == "deep-0002").expect("the next submission's report");
    assert_eq!(next["verdict"], "accepted", "the worker judged the next submission as usual");
    let status = worker.terminate();
    assert!(status.success(), "the worker was still running and stopped cleanly: {status:?}");
}

#[test]
fn a_poison_message_is_dead_lettered_with_its_reason_and_the_worker_goes_on() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("poison");
    let (key, echo) = setup(&sandbox);
    let store = sandbox.path("store");
    let worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &[]);
    let mut bad_digest: Value =
        serde_json::from_slice(&submission("bad-digest-0001", &echo, "echo-connector", "1.0.0")).unwrap();
    bad_digest["archive"]["sha256"] = Value::from("0".repeat(64));
    broker::publish(
        &prefix,
        &[
            b"this is not json".to_vec(),
            serde_json::to_vec(&bad_digest).unwrap(),
            submission("after-poison-0001", &echo, "echo-connector", "1.0.0"),
        ],
    );
    let dlq = format!("{prefix}.submissions.dlq");
    let mut dead = Vec::new();
    support::poll(Duration::from_secs(30), || {
        dead.extend(broker::drain(&dlq));
        dead.len() >= 2
    });
    let reasons: Vec<String> = dead.iter().map(|m| support::broker_header(m, "x-assay-error")).collect();
    assert!(reasons.iter().any(|r| r.starts_with("not JSON")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("sha256")), "{reasons:?}");
    // The bad digest had a readable id: it gets a rejected report; the valid message after it is judged.
    let reports = broker::wait_for_reports(&store, 2, Duration::from_secs(30));
    let refused = reports.iter().find(|d| d.ends_with("bad-digest-0001")).unwrap();
    let report: Value = serde_json::from_slice(&std::fs::read(refused.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["verdict"], "rejected");
    assert_eq!(report["findings"][0]["code"], "submission-invalid");
    assert!(reports.iter().any(|d| d.ends_with("after-poison-0001")));
    assert!(worker.log_text().contains("refusing the submission"));
}

#[test]
fn every_submission_survives_a_broker_restart() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("restart");
    let (key, echo) = setup(&sandbox);
    let store = sandbox.path("store");
    let worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &[]);
    let batch: Vec<Vec<u8>> =
        (0..40).map(|i| submission(&format!("restart-{i:04}"), &echo, "echo-connector", "1.0.0")).collect();
    broker::publish(&prefix, &batch);
    worker.wait_for_log("scanning", Duration::from_secs(30));
    let rabbitmqctl = |command: &str| {
        let status = Command::new("rabbitmqctl").arg(command).output().unwrap();
        assert!(status.status.success(), "rabbitmqctl {command}: {}", String::from_utf8_lossy(&status.stderr));
    };
    rabbitmqctl("stop_app");
    rabbitmqctl("start_app");
    let reports = broker::wait_for_reports(&store, 40, Duration::from_secs(120));
    assert_eq!(reports.len(), 40);
    assert!(worker.log_text().contains("reconnecting") || worker.log_text().contains("cannot reach the broker"));
}

#[test]
fn a_thousand_submissions_through_two_workers_none_lost_none_duplicated() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("thousand");
    let (key, echo) = setup(&sandbox);
    let store = sandbox.path("store");
    let _a = Worker::start(&prefix, &store, &key, sandbox.path("a.log"), &["--concurrency", "2"]);
    let _b = Worker::start(&prefix, &store, &key, sandbox.path("b.log"), &["--concurrency", "2"]);
    let batch: Vec<Vec<u8>> =
        (0..1000).map(|i| submission(&format!("bulk-{i:05}"), &echo, "echo-connector", "1.0.0")).collect();
    broker::publish(&prefix, &batch);
    let reports = broker::wait_for_reports(&store, 1000, Duration::from_secs(600));
    assert_eq!(reports.len(), 1000);
    let ids: std::collections::BTreeSet<String> =
        reports.iter().map(|d| d.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(ids.len(), 1000, "each submission stored once");
    let published = broker::drain(&format!("{prefix}.reports.all"));
    let published_ids: std::collections::BTreeSet<String> =
        published.iter().map(|m| support::broker_header(m, "submission_id")).collect();
    assert_eq!(published_ids, ids, "every stored report was published");
}

#[test]
fn the_readme_python_pika_example_submits_and_gets_a_verdict() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("pika");
    let (key, echo) = setup(&sandbox);
    let store = sandbox.path("store");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &[]);
    let Some(output) = support::run_python(
        "submit_pika.py",
        &[echo.as_os_str(), std::ffi::OsStr::new(&*prefix), std::ffi::OsStr::new("assay-fixtures")],
    ) else {
        return;
    };
    assert!(output.status.success(), "pika example: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "accepted");
}

/// A crate of 15 000 small files: valid, accepted, and slow enough to unpack that a kill lands mid-scan.
fn slow_crate() -> Vec<u8> {
    let mut entries = hostile_archive::clean_entries();
    for i in 0..15_000 {
        entries.push(hostile_archive::Raw::file(&format!("{}/data/f{i:05}.txt", hostile_archive::TOP), b"data\n"));
    }
    hostile_archive::build(entries)
}

#[test]
fn the_worker_refuses_to_start_without_a_signing_key() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .assay()
        .args(["worker", "--amqp", broker::AMQP, "--advisory-db"])
        .arg(support::synthetic_db())
        .env_remove("ASSAY_SIGNING_KEY")
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs a signing key"));
}

#[test]
fn metrics_count_scans_by_verdict() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("metrics");
    let (key, echo) = setup(&sandbox);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let _worker =
        Worker::start(&prefix, &sandbox.path("store"), &key, sandbox.path("worker.log"), &["--metrics", &address]);
    assert_eq!(exit_code(&submit(&sandbox, &prefix, &echo)), 0);
    let scrape = || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    };
    let text = scrape();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("content-type: application/openmetrics-text"), "{text}");
    for line in [
        "assay_scans_total{verdict=\"accepted\"} 1",
        "assay_scans_in_flight 0",
        "assay_stage_duration_seconds_count{stage=\"intake\"} 1",
        "assay_dead_lettered_total 0",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
}

#[test]
fn an_archive_is_fetched_over_http() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("http");
    let (key, echo) = setup(&sandbox);
    let bytes = std::fs::read(&echo).unwrap();
    // A one-shot HTTP server on loopback that serves the crate once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = bytes.clone();
    let server = std::thread::spawn(move || {
        for stream in listener.incoming().take(1) {
            use std::io::{BufRead, BufReader, Write};
            let mut stream = stream.unwrap();
            let mut request = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            while reader.read_line(&mut request).unwrap() > 2 && !request.ends_with("\r\n\r\n") {}
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", served.len());
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&served).unwrap();
        }
    });
    let store = sandbox.path("store");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &["--allow-private-fetch"]);
    let mut message: Value =
        serde_json::from_slice(&submission("over-http-0001", &echo, "echo-connector", "1.0.0")).unwrap();
    message["archive"]["uri"] = Value::from(format!("http://127.0.0.1:{port}/uploads/echo-connector-1.0.0.crate"));
    broker::publish(&prefix, &[serde_json::to_vec(&message).unwrap()]);
    let reports = broker::wait_for_reports(&store, 1, Duration::from_secs(30));
    let report: Value = serde_json::from_slice(&std::fs::read(reports[0].join("report.json")).unwrap()).unwrap();
    assert_eq!(report["verdict"], "accepted");
    assert_eq!(report["subject"]["name"], "echo-connector-1.0.0.crate", "named after the URL's last segment");
    server.join().unwrap();
}

#[test]
fn sigterm_finishes_the_scan_in_flight_acks_it_and_exits_0() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("sigterm");
    let (key, _) = setup(&sandbox);
    let slow = sandbox.input("slow-0.1.0.crate", &slow_crate());
    let store = sandbox.path("store");
    let worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &[]);
    broker::publish(&prefix, &[submission("sigterm-0001", &slow, "demo", "0.1.0")]);
    worker.wait_for_log("scanning", Duration::from_secs(30));
    let log = worker.log.clone();
    let status = worker.terminate();
    assert!(status.success(), "exit 0 after draining: {status:?}");
    assert_eq!(broker::stored_reports(&store).len(), 1, "the in-flight scan was finished and stored");
    let text = std::fs::read_to_string(log).unwrap();
    let stopping = text.find("stopping: finishing in-flight scans").expect("the worker drained");
    let stored = text.find("stored").expect("the scan was stored");
    assert!(stopping < stored, "SIGTERM arrived mid-scan and the scan still completed:\n{text}");
    // Acked: nothing is left to redeliver.
    assert!(broker::drain(&format!("{prefix}.submissions")).is_empty());
}

/// Publishes `message` and returns the x-assay-error of its dead letter and the report published for it.
fn refused_with(prefix: &str, store: &Path, message: Value) -> (String, Value) {
    broker::publish(prefix, &[serde_json::to_vec(&message).unwrap()]);
    let dlq = format!("{prefix}.submissions.dlq");
    let mut dead = Vec::new();
    support::poll(Duration::from_secs(30), || {
        dead.extend(broker::drain(&dlq));
        !dead.is_empty()
    });
    let reports = broker::wait_for_reports(store, 1, Duration::from_secs(30));
    let report: Value = serde_json::from_slice(&std::fs::read(reports[0].join("report.json")).unwrap()).unwrap();
    (support::broker_header(&dead[0], "x-assay-error"), report)
}

#[test]
fn file_uris_outside_the_archive_root_or_not_regular_files_are_refused_telling_nothing() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("confined");
    let (key, echo) = setup(&sandbox);
    let store = sandbox.path("store");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &["--concurrency", "1"]);

    // A host file outside the archive root (as the signing key would be): its size and digest go nowhere.
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = elsewhere.path().join("host-secret.key");
    std::fs::write(&secret, "not for publishers").unwrap();
    let digest = support::registry::sha256(b"not for publishers");
    let mut message: Value =
        serde_json::from_slice(&submission("outside-0001", &echo, "echo-connector", "1.0.0")).unwrap();
    message["archive"]["uri"] = Value::from(format!("file://{}", secret.display()));
    let (reason, report) = refused_with(&prefix, &store, message);
    assert!(reason.contains("not name a file under the worker's archive root"), "{reason}");
    let published = serde_json::to_string(&report).unwrap();
    assert!(!published.contains(&digest) && !reason.contains(&digest), "the file's digest leaked");
    assert!(!published.contains("\"size\":18"), "the file's size leaked: {published}");

    // A FIFO under the root: opened without blocking, refused as not a regular file.
    let prefix = broker::prefix("fifo");
    let store = sandbox.path("store-fifo");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker-fifo.log"), &[]);
    let fifo = sandbox.path("in/pipe.crate");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let mut message: Value =
        serde_json::from_slice(&submission("fifo-0001", &echo, "echo-connector", "1.0.0")).unwrap();
    message["archive"]["uri"] = Value::from(format!("file://{}", fifo.display()));
    let (reason, _) = refused_with(&prefix, &store, message);
    assert!(reason.contains("not name a regular file"), "{reason}");
}

#[test]
fn http_archives_on_private_addresses_or_redirected_elsewhere_are_refused() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let (key, echo) = setup(&sandbox);
    let bytes = std::fs::read(&echo).unwrap();
    let target = support::registry::Registry::start(std::collections::HashMap::from([(
        "/crates/echo.crate".to_owned(),
        support::registry::Answer::Bytes(bytes),
    )]));
    let hop = support::registry::Registry::start(std::collections::HashMap::from([(
        "/crates/echo.crate".to_owned(),
        support::registry::Answer::Redirect(format!("{}/echo.crate", target.url)),
    )]));

    // Loopback without --allow-private-fetch: refused after resolution, nothing requested.
    let prefix = broker::prefix("private");
    let store = sandbox.path("store");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &[]);
    let mut message: Value =
        serde_json::from_slice(&submission("private-0001", &echo, "echo-connector", "1.0.0")).unwrap();
    message["archive"]["uri"] = Value::from(format!("{}/echo.crate", target.url));
    let (reason, _) = refused_with(&prefix, &store, message);
    assert!(reason.contains("resolves to 127.0.0.1"), "{reason}");
    assert!(target.requests().is_empty());

    // Allowed to fetch from loopback, but a redirect to another origin (another port) is refused.
    let prefix = broker::prefix("redirect");
    let store = sandbox.path("store-redirect");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker-redirect.log"), &["--allow-private-fetch"]);
    let mut message: Value =
        serde_json::from_slice(&submission("redirect-0001", &echo, "echo-connector", "1.0.0")).unwrap();
    message["archive"]["uri"] = Value::from(format!("{}/echo.crate", hop.url));
    let (reason, _) = refused_with(&prefix, &store, message);
    assert!(reason.contains("redirects to another origin"), "{reason}");
    assert!(target.requests().is_empty(), "the redirect was not followed");
}

#[test]
fn a_scan_over_the_timeout_is_stopped_and_judged_scan_timeout() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("timeout");
    let (key, _) = setup(&sandbox);
    let slow = sandbox.input("slow-0.1.0.crate", &slow_crate());
    let store = sandbox.path("store");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &["--scan-timeout", "10ms"]);
    let mut message: Value = serde_json::from_slice(&submission("timeout-0001", &slow, "demo", "0.1.0")).unwrap();
    message["asset"]["publisher"] = Value::from("tests");
    broker::publish(&prefix, &[serde_json::to_vec(&message).unwrap()]);
    let reports = broker::wait_for_reports(&store, 1, Duration::from_secs(60));
    let report: Value = serde_json::from_slice(&std::fs::read(reports[0].join("report.json")).unwrap()).unwrap();
    assert_eq!(report["verdict"], "rejected");
    assert_eq!(support::finding(&report, "scan-timeout")["severity"], "deny");
    let published = broker::drain(&format!("{prefix}.reports.all"));
    assert_eq!(published.len(), 1, "the backend gets its verdict");
    assert_eq!(support::broker_header(&published[0], "verdict"), "rejected");
    assert!(broker::drain(&format!("{prefix}.submissions")).is_empty(), "acked, not requeued");
    let left: Vec<_> = std::fs::read_dir(Worker::scratch_parent(&store)).unwrap().collect();
    assert!(left.is_empty(), "the stopped scan's scratch is removed before its verdict is published: {left:?}");
}

#[test]
fn the_last_delivery_of_a_failing_submission_is_judged_and_dead_lettered_with_its_reason() {
    if !broker::available() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("abandoned");
    let (key, echo) = setup(&sandbox);
    let store = sandbox.path("store");
    let _worker = Worker::start(&prefix, &store, &key, sandbox.path("worker.log"), &[]);
    // An archive that never arrives under the archive root: every delivery is a retryable failure.
    let mut message: Value =
        serde_json::from_slice(&submission("never-0001", &echo, "echo-connector", "1.0.0")).unwrap();
    message["archive"]["uri"] = Value::from(format!("file://{}", sandbox.path("in/not-uploaded.crate").display()));
    let (reason, report) = refused_with(&prefix, &store, message);
    assert!(reason.contains("no file at archive.uri yet"), "{reason}");
    assert_eq!(report["verdict"], "rejected");
    let abandoned = support::finding(&report, "scan-abandoned");
    assert!(abandoned["message"].as_str().unwrap().contains("5 deliveries"), "{abandoned}");
    let published = broker::drain(&format!("{prefix}.reports.all"));
    assert_eq!(published.len(), 1);
}

#[test]
fn measured_windows_of_concurrent_scans_do_not_overlap() {
    if !broker::available() || !support::load_fixture::bubblewrap() {
        return;
    }
    let _serial = broker::serial();
    let sandbox = Sandbox::new();
    let prefix = broker::prefix("windows");
    let (key, _) = setup(&sandbox);
    let store = sandbox.path("store").display().to_string();
    let lock = sandbox.path("measurement.lock").display().to_string();
    let worker = Worker::start_loading(&broker::WorkerSetup {
        prefix: &prefix,
        store: &store,
        archive_root: &sandbox.path("in"),
        home: &sandbox.path("in"),
        db: &support::synthetic_db(),
        key: &key,
        log: sandbox.path("worker.log"),
        extra: &["--concurrency", "2", "--measurement-lock", &lock],
    });
    let mut messages = Vec::new();
    for (id, fixture_name) in [("window-fast", "fast"), ("window-slow", "slow")] {
        let dir = support::load_fixture::assemble(fixture_name, &sandbox.path("fixtures"));
        let name = format!("load-{fixture_name}");
        let archive = sandbox.input(&format!("{id}.crate"), &hostile_archive::crate_of(&dir, &format!("{name}-0.1.0")));
        messages.push(broker::submission(id, &archive, &name, "0.1.0", "assay-fixtures"));
    }
    broker::publish(&prefix, &messages);
    broker::drain_until(&format!("{prefix}.reports.all"), 2, Duration::from_secs(300));
    assert!(worker.terminate().success());
    let window = |id: &str| {
        let out = sandbox.path(&format!("got/{id}"));
        let get = sandbox.assay().args(["store", "get", id, "--store", &store, "--out"]).arg(&out).output().unwrap();
        assert_eq!(exit_code(&get), 0, "{}", String::from_utf8_lossy(&get.stderr));
        let load: Value = serde_json::from_slice(&std::fs::read(out.join("load.json")).unwrap()).unwrap();
        let window = load["window"].clone();
        assert_eq!(window["exclusive"], true, "{window}");
        let at = |field: &str| window[field].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
        (at("started_at"), at("ended_at"))
    };
    let (fast, slow) = (window("window-fast"), window("window-slow"));
    assert!(fast.1 <= slow.0 || slow.1 <= fast.0, "the windows overlap: fast {fast:?}, slow {slow:?}");
}
