//! `assay scan` end to end: verdicts and exit codes, report files, determinism, and what the asset
//! model reports about manifests, contracts and shipped tool configuration.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use serde_json::Value;
use support::{Sandbox, codes, exit_code, finding, fixture, hostile_archive as hostile, shared};

/// The report with everything that legitimately varies between runs blanked out: ids, times, and the
/// SBOM's digest (the SBOM carries the scan's timestamp).
fn stable(mut report: Value) -> Value {
    for key in ["report_id", "started_at", "finished_at"] {
        report[key] = Value::from("[varies]");
    }
    if report["sbom"].is_object() {
        report["sbom"]["sha256"] = Value::from("[varies]");
    }
    for stage in report["stages"].as_array_mut().unwrap() {
        stage["duration_ms"] = Value::from(0);
    }
    report
}

#[test]
fn echo_connector_is_accepted_against_the_real_database() {
    let Some(db) = shared("advisory-db") else {
        return;
    };
    let sandbox = Sandbox::new();
    let output = sandbox.scan_with_db(&fixture("connectors/echo"), &db, &[]);
    assert_eq!(exit_code(&output), 0, "stderr:\n{}", String::from_utf8_lossy(&output.stderr));
    let report = sandbox.report();
    assert_eq!(report["verdict"], "accepted");
    assert!(
        codes(&report).iter().all(|c| c == "db-stale"),
        "only the snapshot's age may be flagged: {:?}",
        codes(&report)
    );
    assert_eq!(report["audit"]["packages"], 1);
}

#[test]
fn vulnerable_component_is_rejected_against_the_real_database() {
    let Some(db) = shared("advisory-db") else {
        return;
    };
    let sandbox = Sandbox::new();
    let output = sandbox.scan_with_db(&fixture("connectors/vulnerable"), &db, &[]);
    assert_eq!(exit_code(&output), 1);
    let report = sandbox.report();
    assert_eq!(report["verdict"], "rejected");
    let vulnerability = finding(&report, "vulnerability");
    assert_eq!(vulnerability["severity"], "deny");
    assert_eq!(vulnerability["location"]["kind"], "package");
    assert_eq!(report["audit"]["vulnerabilities"].as_array().unwrap().len(), 4);
    let summary = std::fs::read_to_string(sandbox.path("out/summary.md")).unwrap();
    assert!(summary.contains("**REJECTED**") && summary.contains("RUSTSEC-2021-0003"), "{summary}");
}

#[test]
fn report_shape_is_stable() {
    let sandbox = Sandbox::new();
    let output = sandbox.scan(&fixture("connectors/vulnerable"), &["--no-load", "--max-db-age", "100000"]);
    assert_eq!(exit_code(&output), 1);
    let mut report = stable(sandbox.report());
    report["tool"]["version"] = Value::from("[version]");
    insta::assert_snapshot!("vulnerable_report", serde_json::to_string_pretty(&report).unwrap());
}

#[test]
fn two_scans_of_the_same_input_agree_except_for_times_and_ids() {
    let sandbox = Sandbox::new();
    let input = sandbox.input("demo-0.1.0.crate", &hostile::clean());
    assert_eq!(exit_code(&sandbox.scan(&input, &[])), 0);
    let first = sandbox.report();
    assert_eq!(exit_code(&sandbox.scan(&input, &[])), 0);
    let second = sandbox.report();
    assert_ne!(first["report_id"], second["report_id"], "each scan has its own id");
    assert_eq!(stable(first), stable(second));
}

#[test]
fn json_format_prints_the_report_on_stdout_and_nothing_else() {
    let sandbox = Sandbox::new();
    let output = sandbox.scan(&fixture("connectors/echo"), &["--format", "json"]);
    assert_eq!(exit_code(&output), 0);
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, sandbox.report());
}

#[test]
fn human_format_summarises_on_stderr() {
    let sandbox = Sandbox::new();
    let output = sandbox.scan(&fixture("connectors/vulnerable"), &[]);
    assert!(output.stdout.is_empty(), "stdout is for machine output only");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("REJECTED: vulnerable-component 0.3.1"), "{stderr}");
    assert!(stderr.contains("vulnerability [smallvec 1.6.0]: RUSTSEC-2099-0001"), "{stderr}");
}

#[test]
fn default_output_directory_is_named_after_the_asset() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .assay()
        .current_dir(sandbox.path("in"))
        .arg("scan")
        .arg(fixture("connectors/echo"))
        .arg("--advisory-db")
        .arg(support::synthetic_db())
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 0);
    assert!(sandbox.path("in/assay-out/echo-connector-1.0.0/report.json").is_file());
    assert!(sandbox.path("in/assay-out/echo-connector-1.0.0/summary.md").is_file());
}

#[test]
fn no_load_is_recorded() {
    let sandbox = Sandbox::new();
    sandbox.scan(&fixture("connectors/echo"), &["--no-load"]);
    let report = sandbox.report();
    assert_eq!(report["options"]["load"], "skipped-by-request");
    let load = report["stages"].as_array().unwrap().iter().find(|s| s["name"] == "load").unwrap();
    assert_eq!(load["status"], "skipped");
    assert_eq!(load["note"], "skipped by --no-load");
}

#[test]
fn could_not_run_exits_2_with_a_clear_error() {
    let sandbox = Sandbox::new();
    let missing = sandbox.scan(&sandbox.path("in/nothing.crate"), &[]);
    assert_eq!(exit_code(&missing), 2);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("cannot scan") && stderr.contains("nothing.crate"), "{stderr}");

    let usage = sandbox.assay().args(["scan", "--no-such-flag"]).output().unwrap();
    assert_eq!(exit_code(&usage), 2);

    let no_db = sandbox
        .assay()
        .arg("scan")
        .arg(fixture("connectors/echo"))
        .arg("--advisory-db")
        .arg(sandbox.path("none"))
        .output()
        .unwrap();
    assert_eq!(exit_code(&no_db), 2);
    assert!(String::from_utf8_lossy(&no_db.stderr).contains("assay db fetch"));
}

#[test]
fn shipped_cargo_config_and_toolchain_files_are_reported_and_removed() {
    let sandbox = Sandbox::new();
    let top = hostile::TOP;
    let input = sandbox.input(
        "demo-0.1.0.crate",
        &hostile::clean_plus(vec![
            hostile::Raw::file(&format!("{top}/.cargo/config.toml"), b"[build]\nrustc-wrapper = \"/tmp/evil\"\n"),
            hostile::Raw::file(&format!("{top}/rust-toolchain.toml"), b"[toolchain]\nchannel = \"nightly\"\n"),
        ]),
    );
    let output = sandbox.scan(&input, &[]);
    assert_eq!(exit_code(&output), 0, "ignored configuration is a warning");
    let report = sandbox.report();
    assert_eq!(finding(&report, "cargo-config-ignored")["location"]["path"], ".cargo/config.toml");
    assert_eq!(finding(&report, "toolchain-file-ignored")["severity"], "warn");
}

#[test]
fn contract_problems_are_findings_at_their_line() {
    let sandbox = Sandbox::new();
    let top = hostile::TOP;
    let manifest = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n\n[package.metadata.marketplace]\nkind = \"component\"\npublisher = \"tests\"\nsummary = \"x\"\nflavour = \"vanilla\"\n";
    let input = sandbox.input(
        "demo-0.1.0.crate",
        &hostile::build(vec![
            hostile::Raw::file(&format!("{top}/Cargo.toml"), manifest.as_bytes()),
            hostile::Raw::file(
                &format!("{top}/Cargo.lock"),
                b"version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\n",
            ),
        ]),
    );
    assert_eq!(exit_code(&sandbox.scan(&input, &[])), 0, "an unknown key warns");
    let report = sandbox.report();
    let unknown = finding(&report, "contract-unknown-key");
    assert_eq!(unknown["location"]["line"], 9);
    assert_eq!(unknown["location"]["key"], "package.metadata.marketplace.flavour");

    let without_contract = sandbox.input(
        "bare-0.1.0.crate",
        &hostile::build(vec![
            hostile::Raw::file(&format!("{top}/Cargo.toml"), b"[package]\nname = \"demo\"\nversion = \"0.1.0\"\n"),
            hostile::Raw::file(
                &format!("{top}/Cargo.lock"),
                b"version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\n",
            ),
        ]),
    );
    assert_eq!(exit_code(&sandbox.scan(&without_contract, &[])), 1);
    assert_eq!(finding(&sandbox.report(), "contract-missing")["severity"], "deny");
}

#[test]
fn a_missing_lockfile_is_a_finding_and_the_audit_is_skipped() {
    let sandbox = Sandbox::new();
    let entries = hostile::clean_entries().into_iter().filter(|e| !e.name.ends_with(b"Cargo.lock")).collect();
    let input = sandbox.input("demo-0.1.0.crate", &hostile::build(entries));
    assert_eq!(exit_code(&sandbox.scan(&input, &[])), 1);
    let report = sandbox.report();
    assert_eq!(finding(&report, "lockfile-missing")["location"]["path"], "Cargo.lock");
    let audit = report["stages"].as_array().unwrap().iter().find(|s| s["name"] == "audit").unwrap();
    assert_eq!(audit["status"], "skipped");
}

#[test]
fn several_assets_are_scanned_by_one_process_and_the_gravest_verdict_exits() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .assay()
        .arg("scan")
        .arg(fixture("connectors/echo"))
        .arg(fixture("connectors/vulnerable"))
        .arg("--advisory-db")
        .arg(support::synthetic_db())
        .args(["--max-db-age", "100000", "--timings", "--out"])
        .arg(sandbox.path("out"))
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 1, "{}", String::from_utf8_lossy(&output.stderr));
    assert!(sandbox.path("out/echo-connector-1.0.0/report.json").is_file());
    assert!(sandbox.path("out/vulnerable-component-0.3.1/report.json").is_file());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().filter(|line| line.starts_with("timing: ")).count(), 2, "{stderr}");
    assert!(stderr.lines().any(|line| line.starts_with("memory: peak RSS ") && line.contains(" KiB")), "{stderr}");
}
