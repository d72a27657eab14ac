//! The load stage end to end: each load fixture built and run in the bubblewrap sandbox by the real `assay`
//! binary and the real harness, with its expected verdict and finding; the hostile fixture's acts contained.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use support::load_fixture::{assemble, bubblewrap};
use support::{Sandbox, exit_code};

/// Scans the assembled load fixture `name` with the load stage on; `extra` are more `assay scan` options.
fn scan_fixture(sandbox: &Sandbox, name: &str, extra: &[&str]) -> Output {
    scan_asset(sandbox, &assemble(name, &sandbox.path("in")), extra)
}

/// Scans `asset` with the load stage on.
fn scan_asset(sandbox: &Sandbox, asset: &Path, extra: &[&str]) -> Output {
    let output = sandbox
        .assay()
        .env("ASSAY_NO_LOAD", "false")
        .arg("scan")
        .arg(asset)
        .arg("--advisory-db")
        .arg(support::synthetic_db())
        .arg("--out")
        .arg(sandbox.path("out"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(exit_code(&output), 0 | 1 | 3),
        "assay could not scan {}:\n{}",
        asset.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn load_findings(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let code = f["code"].as_str().unwrap();
            code.starts_with("load-") || code.starts_with("sandbox-") || code == "budget-exceeded"
        })
        .map(|f| (f["code"].as_str().unwrap().to_owned(), f["message"].as_str().unwrap().to_owned()))
        .collect()
}

fn has(findings: &[(String, String)], code: &str, needle: &str) -> bool {
    findings.iter().any(|(c, message)| c == code && message.contains(needle))
}

#[test]
fn fast_passes_its_budget_and_is_accepted() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    let output = scan_fixture(&sandbox, "fast", &[]);
    let report = sandbox.report();
    assert_eq!(exit_code(&output), 0, "{:#}", report["findings"]);
    assert_eq!(report["options"]["load"], "sandboxed");
    let load = &report["load"];
    assert_eq!(load["sandbox"], "bubblewrap");
    assert!(load["overall"]["requests"].as_u64().unwrap() > 100, "{load:#}");
    assert_eq!(load["overall"]["errors"], 0);
    assert_eq!(load["scenarios"].as_array().unwrap().len(), 2);
    assert!(load["service"]["peak_rss_bytes"].as_u64().unwrap() > 0);
    assert!(load["service"]["cpu_ms"].as_u64().is_some());
    let busy = load["harness_busy_percent"].as_f64().unwrap();
    assert!(busy > 0.0 && busy <= 100.0, "the users' thread's share of one core: {busy}");
    let saturated = load_findings(&report).iter().any(|(code, _)| code == "load-harness-saturated");
    assert_eq!(saturated, busy >= 85.0, "reported saturated exactly when the thread was {busy}% busy");
    let checks = load["budgets"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["metric"] == "max-rss") && checks.iter().all(|c| c["passed"] == true));
    // Observed, and nothing beyond the loader, the C library and its own directory to report.
    assert!(load["observed"]["phase"].as_str().unwrap().contains("before the measured window"), "{load:#}");
    assert_eq!(load["observed"]["acts"], serde_json::json!([]), "{:#}", load["observed"]);
    assert_eq!(load["build_observed"]["acts"], serde_json::json!([]), "{:#}", load["build_observed"]);
    let written: Value = serde_json::from_slice(&std::fs::read(sandbox.path("out/load.json")).unwrap()).unwrap();
    assert_eq!(&written, load, "load.json is the report's load section");
    let summary = std::fs::read_to_string(sandbox.path("out/summary.md")).unwrap();
    assert!(summary.contains("## Load test") && summary.contains("| items |"), "{summary}");
    let facts: Value = serde_json::from_slice(&std::fs::read(sandbox.path("out/facts.json")).unwrap()).unwrap();
    assert_eq!(facts["load"]["overall"]["requests"], load["overall"]["requests"], "rules see the measurements");
    assert!(sandbox.leftovers().is_empty(), "scratch left behind: {:?}", sandbox.leftovers());
}

#[test]
fn slow_breaks_its_p95_budget() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    assert_eq!(exit_code(&scan_fixture(&sandbox, "slow", &[])), 1);
    let findings = load_findings(&sandbox.report());
    assert!(
        findings.iter().any(|(code, m)| code == "budget-exceeded"
            && m.starts_with("overall: p95 ")
            && m.ends_with("> budget 25ms")),
        "{findings:?}"
    );
}

#[test]
fn flaky_breaks_its_error_budget() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    assert_eq!(exit_code(&scan_fixture(&sandbox, "flaky", &[])), 1);
    let report = sandbox.report();
    let findings = load_findings(&report);
    // Every 10th item request fails; where the window cuts the sequence moves the rate a little around 10%.
    let rate = findings
        .iter()
        .find_map(|(_, message)| {
            message.strip_prefix("scenario `items`: error-rate ")?.split('%').next()?.parse::<f64>().ok()
        })
        .unwrap_or_else(|| panic!("no error-rate breach of `items`: {findings:?}"));
    assert!((9.0..=11.0).contains(&rate), "{findings:?}");
    let failures = &report["load"]["scenarios"][0]["failures"][0];
    assert_eq!(failures["kind"], "HTTP 500", "{:#}", report["load"]);
}

#[test]
fn leaky_breaks_its_memory_budget() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    assert_eq!(exit_code(&scan_fixture(&sandbox, "leaky", &[])), 1);
    let findings = load_findings(&sandbox.report());
    assert!(has(&findings, "budget-exceeded", "overall: max-rss "), "{findings:?}");
    assert!(has(&findings, "budget-exceeded", "> budget 32MiB"), "{findings:?}");
}

#[test]
fn memory_held_by_child_processes_counts_against_the_budget() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    assert_eq!(exit_code(&scan_fixture(&sandbox, "forking", &[])), 1);
    let report = sandbox.report();
    let findings = load_findings(&report);
    assert!(has(&findings, "budget-exceeded", "> budget 96MiB"), "{findings:?}");
    let service = &report["load"]["service"];
    let memory = &service["memory"];
    let total = service["peak_rss_bytes"].as_u64().unwrap();
    let largest = memory["largest"][0]["peak_rss_bytes"].as_u64().unwrap();
    assert!(total >= 3 * 80 * 1024 * 1024, "the three helpers are summed: {total}");
    assert!(largest < 96 * 1024 * 1024, "no process breaks the budget alone: {largest}");
    assert!(memory["peak_processes"].as_u64().unwrap() >= 4, "{memory}");
    assert_eq!(memory["sample_interval_ms"], 50);
    assert!(memory["note"].as_str().unwrap().contains("each process on its own"), "{memory}");
}

#[test]
fn crashy_is_reported_as_crashed_under_load() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    assert_eq!(exit_code(&scan_fixture(&sandbox, "crashy", &[])), 1);
    let report = sandbox.report();
    let findings = load_findings(&report);
    assert!(has(&findings, "load-crashed", "signal 6 (SIGABRT)"), "{findings:?}");
    assert!(has(&findings, "load-crashed", "giving up after 300 requests"), "the log tail is quoted: {findings:?}");
    assert!(!findings.iter().any(|(code, _)| code == "sandbox-limit"), "an abort is not a limit: {findings:?}");
    assert_eq!(report["load"]["service"]["exited"], "signal 6 (SIGABRT) during load");
}

#[test]
fn never_ready_fails_at_startup() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    assert_eq!(exit_code(&scan_fixture(&sandbox, "never-ready", &[])), 1);
    let report = sandbox.report();
    let findings = load_findings(&report);
    assert!(has(&findings, "load-startup-failed", "did not answer GET /health with 2xx within 2.0 s"), "{findings:?}");
    assert!(report["load"]["startup_ms"].is_null());
    assert!(report["load"]["budgets"].as_array().unwrap().is_empty(), "nothing to judge without a ready service");
    let stage = report["stages"].as_array().unwrap().iter().find(|s| s["name"] == "load").unwrap();
    assert_eq!(stage["status"], "failed");
}

/// Every file below `dir`, with its length, except below the folders in `skip`.
fn files_below(dir: &Path, skip: &[&Path]) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if skip.contains(&path.as_path()) {
            continue;
        }
        if path.is_dir() {
            found.extend(files_below(&path, skip));
        } else {
            found.push((path.display().to_string(), entry.metadata().map(|m| m.len()).unwrap_or(0)));
        }
    }
    found.sort();
    found
}

#[test]
fn hostile_acts_are_contained_and_reported() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    // A listener on the host's loopback where the fixture tries to connect.
    let listener = (47391..=47399).find_map(|port| TcpListener::bind(("127.0.0.1", port)).ok()).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::fs::write(sandbox.path("canary.txt"), b"untouched").unwrap();
    let home = std::env::var("HOME").unwrap();
    let cargo_home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{home}/.cargo"));
    let outside = ["/escape.txt", "/usr/escape.txt", "/etc/escape.txt", "/root/escape.txt"]
        .map(String::from)
        .into_iter()
        .chain([format!("{cargo_home}/registry/escape.txt")])
        .collect::<Vec<_>>();
    let asset = assemble("hostile", &sandbox.path("in"));
    // Everything of the test's own but the report folder, Assay's own cache (written by the host process) and
    // the scratch parent (tmp/), the submitted asset included: the scan works on a copy in the scratch dir.
    let skipped = [sandbox.path("out"), sandbox.path("cache"), sandbox.path("tmp")];
    let outside_scratch = || files_below(&sandbox.path(""), &skipped.iter().map(PathBuf::as_path).collect::<Vec<_>>());
    let before = outside_scratch();

    let output = scan_asset(&sandbox, &asset, &["--limit-processes", "64", "--limit-cpu", "1s"]);
    let report = sandbox.report();

    assert!(listener.accept().is_err(), "the sandboxed service reached a listener on the host's loopback");
    assert_eq!(outside_scratch(), before, "files outside the scratch dir changed");
    for path in &outside {
        assert!(!Path::new(path).exists(), "the service wrote {path} on the host");
    }
    assert_eq!(std::fs::read(sandbox.path("canary.txt")).unwrap(), b"untouched");

    assert_eq!(exit_code(&output), 1);
    let findings = load_findings(&report);
    assert!(has(&findings, "sandbox-limit", "process limit (64 tasks)"), "{findings:?}");
    assert!(has(&findings, "sandbox-limit", "CPU time limit (1 s)"), "{findings:?}");
    let log = report["load"]["service"]["log_tail"].as_str().unwrap();
    assert!(log.contains("hostile: connected to host ports []"), "{log}");
    assert!(log.contains("hostile: wrote []"), "{log}");
    assert!(log.contains("hostile: could read []"), "{log}");
    assert!(log.contains("hostile: fork refused after"), "{log}");
}

/// The acts observed in `report`'s findings with a code starting `prefix`: (code, message).
fn observed_findings(report: &Value, prefix: &str) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"].as_str().unwrap().starts_with(prefix))
        .map(|f| (f["code"].as_str().unwrap().to_owned(), f["message"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn acts_at_start_up_are_observed_named_and_not_accepted() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    // The loopback port the service dials, on the host: it must not be reached.
    let listener = TcpListener::bind(("127.0.0.1", 47381)).ok();
    if let Some(listener) = &listener {
        listener.set_nonblocking(true).unwrap();
    }
    let output = scan_fixture(&sandbox, "prying", &[]);
    let report = sandbox.report();
    assert_eq!(exit_code(&output), 1, "rejected: {:#}", report["findings"]);
    if let Some(listener) = &listener {
        assert!(listener.accept().is_err(), "the service reached the host's loopback");
    }
    assert!(!Path::new("/etc/assay-pried.txt").exists(), "the service wrote a host path");

    let findings = observed_findings(&report, "runtime-");
    for (code, needle) in [
        ("runtime-undeclared-network", "connected to 127.0.0.1:47381"),
        ("runtime-undeclared-network", "connected to 10.1.2.3:443"),
        ("runtime-undeclared-network", "looked up the host name `exfil.example.net`"),
        ("runtime-undeclared-process", "executed `/bin/sh -c id`"),
        ("runtime-undeclared-filesystem", "opened /etc/assay-pried.txt for writing"),
    ] {
        assert!(has(&findings, code, needle), "no {code} with {needle:?}: {findings:#?}");
    }
    assert!(findings.iter().all(|(_, message)| message.starts_with("observed at run time: ")), "{findings:#?}");
    let acts = report["load"]["observed"]["acts"].as_array().unwrap();
    let shell = acts.iter().find(|act| act["kind"] == "process" && act["target"] == "/bin/sh").unwrap();
    assert_eq!(shell["args"], serde_json::json!(["-c", "id"]));
    assert_eq!(shell["declared"], false);
    let sarif = std::fs::read_to_string(sandbox.path("out/findings.sarif")).unwrap();
    assert!(sarif.contains("observed at run time: the service executed `/bin/sh -c id`"));
    let summary = std::fs::read_to_string(sandbox.path("out/summary.md")).unwrap();
    assert!(summary.contains("Observed at run time") && summary.contains("/etc/assay-pried.txt"), "{summary}");
    let page = std::fs::read_to_string(sandbox.path("out/report.html")).unwrap();
    assert!(page.contains("Observed at run time") && page.contains("/bin/sh -c id"), "report.html lists the acts");
}

#[test]
fn a_build_script_that_dials_spawns_and_writes_is_observed() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    let output = scan_fixture(&sandbox, "prying-build", &[]);
    let report = sandbox.report();
    assert_eq!(exit_code(&output), 1, "rejected: {:#}", report["findings"]);
    assert!(!Path::new("/etc/assay-pried-by-build.txt").exists(), "the build wrote a host path");
    let mut findings = observed_findings(&report, "build-");
    findings.retain(|(code, _)| code != "build-script");
    for (code, needle) in [
        ("build-network", "connected to 127.0.0.1:47382"),
        ("build-network", "looked up the host name `build-exfil.example.net`"),
        ("build-process", "executed `/bin/sh -c true`"),
        ("build-write-outside-target", "wrote /etc/assay-pried-by-build.txt"),
        ("build-write-outside-target", "wrote /scratch/asset/generated-by-build.rs"),
    ] {
        assert!(has(&findings, code, needle), "no {code} with {needle:?}: {findings:#?}");
    }
    // The compiler's own writes, the toolchain and the C tools are the build's business, not findings.
    assert_eq!(findings.len(), 5, "{findings:#?}");
    assert!(observed_findings(&report, "runtime-").is_empty(), "the service itself is quiet");
}

#[test]
fn a_min_rps_budget_beyond_the_harness_is_unmeasurable_and_the_cpus_are_pinned_apart() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    let asset = assemble("fast", &sandbox.path("in"));
    let manifest = asset.join("Cargo.toml");
    let contract = std::fs::read_to_string(&manifest).unwrap();
    assert!(contract.contains("min-rps = 50,"));
    std::fs::write(&manifest, contract.replace("min-rps = 50,", "min-rps = 50000000,")).unwrap();
    let output = scan_asset(&sandbox, &asset, &[]);
    let report = sandbox.report();
    let load = &report["load"];
    let capacity = load["harness_capacity"]["rps"].as_f64().unwrap();
    assert!(capacity > 100.0, "{:#}", load["harness_capacity"]);
    assert_eq!(load["harness_capacity"]["users"], 8);
    let codes: Vec<&str> = report["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"budget-unmeasurable"), "{codes:?}");
    assert!(!codes.contains(&"budget-exceeded"), "the service is not failed for the harness's limit: {codes:?}");
    assert_eq!(exit_code(&output), 3, "needs review: {codes:?}");
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus >= 2 {
        let (service, harness) =
            (load["pinning"]["service_cpus"].as_str().unwrap(), load["pinning"]["harness_cpus"].as_str().unwrap());
        let service: Vec<&str> = service.split(',').collect();
        assert!(!service.is_empty() && !service.contains(&harness), "{:#}", load["pinning"]);
    } else {
        eprintln!("one CPU: nothing to pin apart");
        assert!(load["pinning"].is_null());
    }
}

#[test]
fn a_connector_on_axum_and_tokio_builds_from_vendored_sources_and_meets_its_budgets() {
    if !bubblewrap() {
        return;
    }
    // Online: its 63 crates are fetched from crates.io (once per build: the cache is shared) and verified.
    let sandbox = Sandbox::online();
    let output = scan_asset(&sandbox, &support::fixture("connectors/inventory-axum"), &[]);
    let report = sandbox.report();
    assert_eq!(exit_code(&output), 0, "accepted: {:#}", report["findings"]);
    let load = &report["load"];
    assert!(load["budgets"].as_array().unwrap().iter().all(|check| check["passed"] == true), "{load:#}");
    assert_eq!(load["observed"]["acts"], serde_json::json!([]), "{:#}", load["observed"]);
    assert_eq!(load["build_observed"]["acts"], serde_json::json!([]), "{:#}", load["build_observed"]);
    let note = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stage| stage["name"] == "load")
        .and_then(|stage| stage["note"].as_str())
        .unwrap()
        .to_owned();
    let vendored: usize = note.split("vendored ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(vendored >= 60, "a real dependency tree: {note}");
}

#[test]
fn check_reproducible_compares_two_builds_in_fresh_sandboxes() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    scan_fixture(&sandbox, "fast", &["--check-reproducible"]);
    let binary = &sandbox.report()["load"]["binary"];
    assert_eq!(binary["reproducible"], true, "{binary:#}");
    assert!(binary["rebuilt_sha256"].is_null());

    let unstable = Sandbox::new();
    let output = scan_fixture(&unstable, "unstable-build", &["--check-reproducible"]);
    let report = unstable.report();
    let binary = &report["load"]["binary"];
    assert_eq!(binary["reproducible"], false, "{binary:#}");
    let rebuilt = binary["rebuilt_sha256"].as_str().unwrap();
    assert_ne!(rebuilt, binary["sha256"].as_str().unwrap());
    let findings = observed_findings(&report, "build-not-reproducible");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert!(findings[0].1.contains(rebuilt), "{findings:#?}");
    assert_eq!(exit_code(&output), 0, "a warning, not a rejection: {:#}", report["findings"]);
    // Without the option nothing is rebuilt.
    let once = Sandbox::new();
    scan_fixture(&once, "unstable-build", &[]);
    assert!(once.report()["load"]["binary"]["reproducible"].is_null());
}

#[test]
fn a_build_failure_carries_the_compilers_message() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    let asset = assemble("fast", &sandbox.path("in"));
    std::fs::write(asset.join("src/main.rs"), "mod http;\nfn main() { let port: u16 = \"not a number\"; }\n").unwrap();
    assert_eq!(exit_code(&scan_asset(&sandbox, &asset, &[])), 1);
    let findings = load_findings(&sandbox.report());
    assert!(has(&findings, "load-build-failed", "error[E0308]: mismatched types"), "{findings:?}");
    assert!(sandbox.report()["load"].is_null());
}

#[test]
fn without_bubblewrap_the_scan_refuses_and_says_how_to_install_it() {
    let sandbox = Sandbox::new();
    let asset = assemble("fast", &sandbox.path("in"));
    let output = sandbox
        .assay()
        .env("ASSAY_NO_LOAD", "false")
        .env("ASSAY_BWRAP", "/nonexistent/bwrap")
        .arg("scan")
        .arg(&asset)
        .arg("--advisory-db")
        .arg(support::synthetic_db())
        .arg("--out")
        .arg(sandbox.path("out"))
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("apt-get install bubblewrap") && stderr.contains("--no-load"), "{stderr}");
    assert!(!sandbox.path("out/report.json").exists(), "no verdict for an untested service");
}

#[test]
fn sandbox_none_is_stamped_into_the_report_and_needs_review() {
    let sandbox = Sandbox::new();
    let output = scan_fixture(&sandbox, "fast", &["--sandbox", "none"]);
    let report = sandbox.report();
    assert_eq!(exit_code(&output), 3, "{:#}", report["findings"]);
    assert_eq!(report["options"]["load"], "unsandboxed");
    assert_eq!(report["load"]["sandbox"], "none");
    assert!(has(&load_findings(&report), "sandbox-disabled", "without bubblewrap"));
}

#[test]
fn the_signed_vsa_names_the_measured_binary_as_its_second_subject() {
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    let keys = sandbox.assay().args(["keygen", "--out"]).arg(sandbox.path("keys")).output().unwrap();
    assert_eq!(exit_code(&keys), 0);
    let key = sandbox.path("keys/assay-signing.key").display().to_string();
    assert_eq!(exit_code(&scan_fixture(&sandbox, "fast", &["--key", &key])), 0);
    let report = sandbox.report();
    let binary = &report["load"]["binary"];
    assert_eq!(binary["name"], "bin/load-fast");
    assert_eq!(binary["profile"], "release");
    assert!(binary["toolchain"].as_str().is_some_and(|t| t.starts_with('1')), "{binary}");
    let sha256 = binary["sha256"].as_str().unwrap();
    assert_eq!(sha256.len(), 64);

    let envelopes: Vec<assay_report::dsse::Envelope> =
        serde_json::from_slice(&std::fs::read(sandbox.path("out/report.dsse.json")).unwrap()).unwrap();
    let vsa: Value = serde_json::from_slice(&envelopes[0].payload_bytes().unwrap()).unwrap();
    let subjects = vsa["subject"].as_array().unwrap();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert_eq!(subjects[0]["digest"]["sha256"], report["subject"]["sha256"]);
    assert_eq!(subjects[1], serde_json::json!({"name": "bin/load-fast", "digest": {"sha256": sha256}}));

    // A marketplace holding the binary verifies the report against it.
    let verify = sandbox
        .assay()
        .arg("verify")
        .arg(sandbox.path("out/report.dsse.json"))
        .arg("--trust")
        .arg(sandbox.path("keys/assay-signing.pub"))
        .args(["--subject-sha256", sha256])
        .output()
        .unwrap();
    assert_eq!(exit_code(&verify), 0, "{}", String::from_utf8_lossy(&verify.stderr));
}
