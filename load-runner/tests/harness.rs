//! The harness binary end to end, outside any sandbox: it starts the `fast` load fixture, drives it with goose
//! and answers with measurements on stdout. (Integration tests here also make cargo build the binary that
//! the scanner's load tests run.)

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use assay_load_runner::plan::HarnessResult;

/// Builds `fixtures/load/fast` (std only, offline) into `dir` and returns the binary.
fn build_fast_fixture(dir: &Path) -> std::path::PathBuf {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/load");
    let crate_dir = dir.join("fast");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    for file in ["Cargo.toml", "Cargo.lock", "src/main.rs"] {
        std::fs::copy(fixtures.join("fast").join(file), crate_dir.join(file)).unwrap();
    }
    std::fs::copy(fixtures.join("http.rs"), crate_dir.join("src/http.rs")).unwrap();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline", "--manifest-path"])
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .status()
        .unwrap();
    assert!(status.success());
    dir.join("target/debug/load-fast")
}

/// Runs the harness against a fresh `fast` fixture with this load spec and returns what it measured.
fn measure(spec: serde_json::Value) -> HarnessResult {
    let dir = tempfile::tempdir().unwrap();
    let server = build_fast_fixture(dir.path());
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let plan = serde_json::json!({
        "service": { "prefix": [], "program": server, "cwd": dir.path(), "env": [["HOME", dir.path()]],
                     "port_env": "PORT", "port": port, "ready": "/health" },
        "spec": spec,
        "startup_timeout_ms": 10000, "request_timeout_ms": 5000, "output_limit": 65536
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay-load-harness"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(plan.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_harness_measures_a_real_service() {
    let result = measure(serde_json::json!({ "users": 2, "ramp": "20/s", "duration": "1s",
        "scenario": [{ "name": "items", "request": { "path": "/items" } }] }));
    assert!(result.startup_ms.is_some());
    assert!(result.overall.requests > 10, "{:?}", result.overall);
    assert_eq!(result.overall.errors, 0, "{:?}", result.overall.failures);
    assert_eq!(result.scenarios.len(), 1);
    assert!(result.overall.latency.p50_ms > 0.0 && result.overall.latency.p99_ms >= result.overall.latency.p50_ms);
    assert!(result.service.peak_rss_bytes.is_some_and(|rss| rss > 0));
    assert!(result.exit.is_none(), "the service ran until the harness stopped it");
    assert!(result.service.log_tail.contains("listening on 127.0.0.1"), "{}", result.service.log_tail);
    // Two users at full speed against a service that answers at once keep their thread busy, within one core.
    assert!(
        result.users_busy_percent.is_some_and(|busy| busy > 5.0 && busy <= 100.0),
        "{:?}",
        result.users_busy_percent
    );
}

#[test]
fn a_paced_load_sends_at_its_rate_and_no_faster() {
    // 4 users at 100 requests/s in total: one request per user every 40 ms, 200 in the 2 s window. The fast
    // fixture answers in well under 40 ms, so only the pacing limits the count.
    let result = measure(serde_json::json!({ "users": 4, "ramp": "40/s", "duration": "2s", "rate": "100/s",
        "scenario": [{ "name": "items", "request": { "path": "/items" } }] }));
    assert_eq!(result.overall.errors, 0, "{:?}", result.overall.failures);
    // Each user's schedule has about 50 slots in the window; a user held up during the ramp catches up on
    // slots it missed, so allow 10% over. Unpaced, the fixture answers thousands in 2 s.
    assert!(result.overall.requests <= 220, "pacing must cap the rate: {:?}", result.overall);
    assert!(result.overall.requests >= 100, "pacing must still send: {:?}", result.overall);
    // 100 requests a second leave the users' thread mostly idle: far from saturated.
    assert!(result.users_busy_percent.is_some_and(|busy| busy < 50.0), "{:?}", result.users_busy_percent);
}
