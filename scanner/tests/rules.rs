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
    for (place, message) in [
        ("broken.toml:3:", "error: `fatal` is not a level"),
        ("broken.toml:4:", "error: `no-such-code` is not a finding code"),
        ("broken.toml:6:", "error: `Apache2` is not an SPDX licence id"),
        ("broken.toml:9:", "error: `<<1` is not a version requirement"),
    ] {
        assert!(stderr.contains(place) && stderr.contains(message), "missing `{place}` `{message}` in:\n{stderr}");
    }
    let syntax = sandbox.input("syntax.toml", b"version = 1\n\n[sources\n");
    let output = sandbox.assay().args(["rules", "check"]).arg(&syntax).output().unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("syntax.toml:3:"));
}

/// `assay rules check` run on `name` (written with `text` under the sandbox's `in/`, with `extra` files
/// beside it) from that folder, so the paths it prints are relative: its stderr.
fn check_output(name: &str, text: &str, extra: &[(&str, &str)]) -> String {
    let sandbox = Sandbox::new();
    sandbox.input(name, text.as_bytes());
    for (path, content) in extra {
        let path = sandbox.path("in").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let output = sandbox.assay().args(["rules", "check", name]).current_dir(sandbox.path("in")).output().unwrap();
    assert_eq!(exit_code(&output), 2);
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn broken_rule_sets_show_the_offending_source_with_a_marker() {
    insta::assert_snapshot!(
        "check_levels_and_licences",
        check_output(
            "levels.toml",
            "version = 1\n[levels]\nvulnerability = \"fatal\"\nno-such-code = \"warn\"\n[licenses]\nallow = [\"MIT\", \"apache-2\"]\n",
            &[],
        )
    );
    insta::assert_snapshot!(
        "check_syntax",
        check_output("syntax.toml", "version = 1\n\n[sources\nallow-git = false\n", &[])
    );
    insta::assert_snapshot!(
        "check_policies",
        check_output(
            "policies.toml",
            "version = 1\n[capabilities]\nforbid = [\n  { kind = \"plugin\", capabilities = [\"network\", \"teleport\"] },\n]\n[ceilings]\np95 = \"fast\"\n[[waivers]]\ncode = \"vulnerability\"\nasset = \"demo\"\nreason = \"\"\napprover = \"sec\"\nexpires = \"soon\"\n",
            &[],
        )
    );
    insta::assert_snapshot!(
        "check_rego",
        check_output(
            "rego.toml",
            "version = 1\nrego = [\"policies/*.rego\"]\n",
            &[(
                "policies/bad.rego",
                "package acme\n\nimport rego.v1\n\ndeny contains {\"code\": \"x\"} if {\n  input.asset.name ==\n}\n"
            )],
        )
    );
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
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: unsupported rule-set version 2") && stderr.contains("broken.toml:1:"), "{stderr}");
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
    let refused = refused_licences(&sandbox.report());
    // Every dependency is `MIT OR Apache-2.0`-style: Apache-2.0 alone satisfies them.
    assert!(refused.is_empty(), "{refused:?}");
    let stricter = sandbox.input("stricter.toml", b"version = 1\n[licenses]\nallow = [\"BSD-3-Clause\"]\nexceptions = [{ crate = \"semver\", allow = [\"MIT\"] }]\n");
    sandbox.scan(&fixture("components/real-deps"), &["--rules", stricter.to_str().unwrap()]);
    let refused = refused_licences(&sandbox.report());
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

#[test]
fn a_rego_rule_rejects_pii_connectors_with_unaccountable_dependencies() {
    let sandbox = Sandbox::new();
    let rules = fixture("rules/pii/rules.toml");
    let rules = rules.to_str().unwrap();
    assert_eq!(exit_code(&sandbox.scan(&fixture("connectors/pii-handler"), &["--rules", rules])), 1);
    let report = sandbox.report();
    let custom = finding(&report, "pii-dependency-without-repository");
    assert_eq!(custom["severity"], "deny");
    assert_eq!(custom["location"]["name"], "vendored-parser");
    assert!(custom["message"].as_str().unwrap().contains("handles pii"));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox.path("out/findings.sarif")).unwrap()).unwrap();
    let rules_list = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules_list.iter().any(|r| r["id"] == "pii-dependency-without-repository"), "custom codes get a descriptor");

    // The same rule is silent on a connector without personal data.
    assert_eq!(exit_code(&sandbox.scan(&fixture("connectors/echo"), &["--rules", rules])), 0);
    assert!(!codes(&sandbox.report()).contains(&"pii-dependency-without-repository".to_owned()));
}

#[test]
fn a_broken_rego_rule_is_reported_at_its_file_and_line() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.path("in/policies")).unwrap();
    std::fs::write(
        sandbox.path("in/policies/bad.rego"),
        "package assay.bad\n\nimport rego.v1\n\ndeny contains x if {\n  x := {\"code\": 1\n}\n",
    )
    .unwrap();
    let rules = sandbox.input("rules.toml", b"version = 1\nrego = [\"policies/*.rego\"]\n");
    let output = sandbox.assay().args(["rules", "check"]).arg(&rules).output().unwrap();
    assert_eq!(exit_code(&output), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: Rego:") && stderr.contains("bad.rego:8:"), "{stderr}");
    let missing = sandbox.input("missing.toml", b"version = 1\n\nrego = [\"nowhere/*.rego\"]\n");
    let output = sandbox.assay().args(["rules", "check"]).arg(&missing).output().unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("missing.toml:3:"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn waivers_accept_findings_until_they_expire_and_unused_ones_are_reported() {
    let sandbox = Sandbox::new();
    let base = "version = 1\n[levels]\nunaudited-source = \"allow\"\n[sources]\nallow-git = true\n";
    let waiver = |expires: &str, code: &str| {
        format!(
            "{base}[[waivers]]\ncode = \"{code}\"\nasset = \"vulnerable-component\"\nversion = \"0.3\"\npackage = \"smallvec\"\nreason = \"not reachable: insert_many is never called\"\napprover = \"security@marketplace.example\"\nexpires = \"{expires}\"\n"
        )
    };
    let active = sandbox.input("active.toml", waiver("2999-12-31", "vulnerability").as_bytes());
    assert_eq!(exit_code(&sandbox.scan(&fixture("connectors/vulnerable"), &["--rules", active.to_str().unwrap()])), 0);
    let report = sandbox.report();
    let waived = finding(&report, "vulnerability");
    assert_eq!(waived["waived"]["approver"], "security@marketplace.example", "waived findings stay in the report");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox.path("out/findings.sarif")).unwrap()).unwrap();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "vulnerability")
        .unwrap()
        .clone();
    assert_eq!(result["suppressions"][0]["kind"], "external");

    let expired = sandbox.input("expired.toml", waiver("2020-01-01", "vulnerability").as_bytes());
    assert_eq!(exit_code(&sandbox.scan(&fixture("connectors/vulnerable"), &["--rules", expired.to_str().unwrap()])), 1);
    let report = sandbox.report();
    assert!(finding(&report, "vulnerability").get("waived").is_none(), "an expired waiver no longer waives");
    assert!(finding(&report, "waiver-expired")["message"].as_str().unwrap().contains("expired on 2020-01-01"));

    let unused = sandbox.input("unused.toml", waiver("2999-12-31", "unsound").as_bytes());
    sandbox.scan(&fixture("connectors/vulnerable"), &["--rules", unused.to_str().unwrap()]);
    assert!(finding(&sandbox.report(), "waiver-unused")["message"].as_str().unwrap().contains("`unsound`"));
}

#[test]
fn facts_follow_their_published_schema() {
    let sandbox = Sandbox::new();
    let output = sandbox.assay().args(["rules", "facts-schema"]).output().unwrap();
    assert_eq!(exit_code(&output), 0);
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    insta::assert_json_snapshot!("facts_schema", schema);
    let validator = jsonschema::validator_for(&schema).unwrap();
    for asset in ["connectors/sneaky", "connectors/vulnerable", "connectors/pii-handler"] {
        sandbox.scan(&fixture(asset), &[]);
        let facts: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(sandbox.path("out/facts.json")).unwrap()).unwrap();
        assert_eq!(facts["schema"], "assay.facts/v1");
        let errors: Vec<String> = validator.iter_errors(&facts).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{asset}: {errors:?}");
    }
}

#[test]
fn forbidden_capabilities_and_budget_ceilings_are_enforced() {
    let sandbox = Sandbox::new();
    let strict = sandbox.input(
        "strict.toml",
        b"version = 1\n[capabilities]\nforbid = [{ kind = \"connector\", capabilities = [\"network\", \"env\"] }]\n[ceilings]\np95 = \"5ms\"\nmin-rps = 500\n",
    );
    sandbox.scan(&fixture("connectors/sneaky"), &["--rules", strict.to_str().unwrap()]);
    let report = sandbox.report();
    let forbidden: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "capability-forbidden")
        .map(|f| format!("{}:{}", f["location"]["path"].as_str().unwrap(), f["location"]["line"]))
        .collect();
    assert!(forbidden.contains(&"src/main.rs:8".to_owned()), "the use of the network is forbidden: {forbidden:?}");
    assert!(forbidden.iter().any(|f| f.starts_with("Cargo.toml")), "so is declaring env: {forbidden:?}");

    sandbox.scan(&fixture("connectors/echo"), &["--rules", strict.to_str().unwrap()]);
    let report = sandbox.report();
    let over: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "budget-over-ceiling")
        .map(|f| f["location"]["key"].as_str().unwrap())
        .collect();
    assert!(over.contains(&"package.metadata.marketplace.load.budget.p95"), "{over:?}");
    assert!(over.contains(&"package.metadata.marketplace.load.budget.min-rps"), "{over:?}");
    assert!(over.contains(&"package.metadata.marketplace.load.scenario[1].budget.p95"), "{over:?}");

    // The bundled ceilings leave the echo connector's budgets alone.
    sandbox.scan(&fixture("connectors/echo"), &[]);
    assert!(!codes(&sandbox.report()).contains(&"budget-over-ceiling".to_owned()));
}

#[test]
fn rules_test_runs_the_bundled_cases_and_reports_a_failing_one() {
    let sandbox = Sandbox::new();
    let run = |dir: &std::path::Path| {
        sandbox
            .assay()
            .args(["rules", "test"])
            .arg(dir)
            .arg("--advisory-db")
            .arg(support::synthetic_db())
            .output()
            .unwrap()
    };
    let output = run(&fixture("rules/cases"));
    assert_eq!(exit_code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "5 passed, 0 failed");

    std::fs::create_dir_all(sandbox.path("in/cases")).unwrap();
    let echo = fixture("connectors/echo");
    std::fs::write(
        sandbox.path("in/cases/wrong.toml"),
        format!("asset = \"{}\"\nverdict = \"rejected\"\ncodes = [\"secret\"]\n", echo.display()),
    )
    .unwrap();
    let output = run(&sandbox.path("in/cases"));
    assert_eq!(exit_code(&output), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("FAIL  wrong")
            && stderr.contains("expected rejected, got accepted")
            && stderr.contains("expected a `secret` finding"),
        "{stderr}"
    );
}

/// Who a report refuses for their licence: dependency names, `asset` for the asset itself.
fn refused_licences(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "license-not-allowed")
        .map(|f| f["location"]["name"].as_str().unwrap_or("asset").to_owned())
        .collect()
}
