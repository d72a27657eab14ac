//! Rule sets from the command line: `assay rules check|explain` and `assay scan --rules FILE`.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use support::{Sandbox, codes, exit_code, finding, fixture, hostile_archive};

#[test]
fn the_bundled_rule_set_checks_clean_and_a_broken_one_names_each_line() {
    let sandbox = Sandbox::new();
    let bundled = support::workspace().join("rules/policies/default.toml");
    let output = sandbox.assay().args(["rules", "check"]).arg(&bundled).output().unwrap();
    assert_eq!(exit_code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));

    let broken = sandbox.input(
        "broken.toml",
        b"version = 1\n[levels]\nvulnerability = \"fatal\"\nno-such-code = \"warn\"\n[licenses]\nallow = [\"MIT\", \"Apache2\"]\n[[bans.deny]]\ncrate = \"x\"\nversion = \"<<1\"\n",
    );
    let output = sandbox.assay().args(["rules", "check"]).arg(&broken).output().unwrap();
    assert_eq!(exit_code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in [
        ":3: error: `fatal` is not a level",
        ":4: error: `no-such-code` is not a finding code",
        ":6: error: `Apache2` is not an SPDX licence id",
        ":9: error: `<<1` is not a version requirement",
    ] {
        assert!(stderr.contains(line), "missing `{line}` in:\n{stderr}");
    }
    let syntax = sandbox.input("syntax.toml", b"version = 1\n\n[sources\n");
    let output = sandbox.assay().args(["rules", "check"]).arg(&syntax).output().unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("syntax.toml:3: error:"));
}

#[test]
fn explain_describes_a_code_and_refuses_an_unknown_one() {
    let sandbox = Sandbox::new();
    let output = sandbox.assay().args(["rules", "explain", "undeclared-network"]).output().unwrap();
    assert_eq!(exit_code(&output), 0);
    assert!(String::from_utf8_lossy(&output.stdout).contains("built-in level: deny"));
    let output = sandbox.assay().args(["rules", "explain", "no-such-code"]).output().unwrap();
    assert_eq!(exit_code(&output), 2);
}

#[test]
fn a_rule_set_changes_levels_verdict_and_policy_digest() {
    let sandbox = Sandbox::new();
    sandbox.scan(&fixture("connectors/vulnerable"), &[]);
    let builtin = sandbox.report();
    assert_eq!(builtin["verdict"], "rejected");
    assert_eq!(
        finding(&builtin, "source-not-allowed")["location"]["name"],
        "acme-internal",
        "the bundled rule set refuses git"
    );
    assert_eq!(finding(&builtin, "unaudited-source")["severity"], "review");

    let lenient = sandbox.input(
        "lenient.toml",
        b"version = 1\n[levels]\nvulnerability = \"warn\"\nunaudited-source = \"allow\"\n[sources]\nallow-git = true\n",
    );
    let output = sandbox.scan(&fixture("connectors/vulnerable"), &["--rules", lenient.to_str().unwrap()]);
    assert_eq!(exit_code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));
    let report = sandbox.report();
    assert_eq!(report["verdict"], "accepted");
    assert_eq!(finding(&report, "vulnerability")["severity"], "warn");
    assert!(!codes(&report).contains(&"unaudited-source".to_owned()), "allow drops findings");
    assert!(report["rules"]["uri"].as_str().unwrap().ends_with("lenient.toml"));
    assert_ne!(report["rules"]["sha256"], builtin["rules"]["sha256"]);
}

#[test]
fn a_broken_rule_set_stops_the_scan_with_its_diagnostics() {
    let sandbox = Sandbox::new();
    let broken = sandbox.input("broken.toml", b"version = 2\n");
    let output = sandbox.scan(&fixture("connectors/echo"), &["--rules", broken.to_str().unwrap()]);
    assert_eq!(exit_code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.toml:1: error: unsupported rule-set version 2"));
}

#[test]
fn required_metadata_is_checked() {
    let sandbox = Sandbox::new();
    let input = sandbox.input("demo-0.1.0.crate", &hostile_archive::clean());
    assert_eq!(exit_code(&sandbox.scan(&input, &[])), 0, "missing metadata warns by default");
    let missing = finding(&sandbox.report(), "metadata-missing").clone();
    assert!(missing["message"].as_str().unwrap().contains("description, repository"), "{missing}");
}

#[test]
fn dependency_licences_are_judged_against_the_allow_list() {
    let sandbox = Sandbox::online();
    let strict = sandbox.input("strict.toml", b"version = 1\n[licenses]\nallow = [\"Apache-2.0\"]\nexceptions = [{ crate = \"semver\", allow = [\"MIT\"] }]\n");
    sandbox.scan(&fixture("components/real-deps"), &["--rules", strict.to_str().unwrap()]);
    let report = sandbox.report();
    let refused: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "license-not-allowed")
        .map(|f| f["location"]["name"].as_str().unwrap_or("asset").to_owned())
        .collect();
    // Every dependency is `MIT OR Apache-2.0`-style: Apache-2.0 alone satisfies them.
    assert!(refused.is_empty(), "{refused:?}");
    let stricter = sandbox.input("stricter.toml", b"version = 1\n[licenses]\nallow = [\"BSD-3-Clause\"]\nexceptions = [{ crate = \"semver\", allow = [\"MIT\"] }]\n");
    sandbox.scan(&fixture("components/real-deps"), &["--rules", stricter.to_str().unwrap()]);
    let report = sandbox.report();
    let refused: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "license-not-allowed")
        .map(|f| f["location"]["name"].as_str().unwrap_or("asset").to_owned())
        .collect();
    assert!(refused.contains(&"smallvec".to_owned()) && refused.contains(&"asset".to_owned()), "{refused:?}");
    assert!(!refused.contains(&"semver".to_owned()), "the exception lets semver's MIT through");
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox.path("out/facts.json")).unwrap()).unwrap();
    assert_eq!(facts["asset"]["name"], "real-deps");
    assert!(
        facts["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "smallvec" && d["license"] == "MIT/Apache-2.0")
    );
}
