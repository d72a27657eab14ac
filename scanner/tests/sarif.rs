//! `findings.sarif`: valid SARIF 2.1.0 for every fixture, with results where the findings are.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use serde_json::Value;
use support::{Sandbox, fixture, hostile_archive, schemas};

fn sarif(sandbox: &Sandbox) -> Value {
    serde_json::from_str(&std::fs::read_to_string(sandbox.path("out/findings.sarif")).unwrap()).unwrap()
}

#[test]
fn every_fixture_sarif_validates_against_the_official_schema() {
    let Some(validator) = schemas::validator("sarif-schema-2.1.0.json") else { return };
    let sandbox = Sandbox::new();
    let archives =
        [("traversal.crate", hostile_archive::path_traversal()), ("broken.crate", hostile_archive::broken_manifest())];
    let mut inputs: Vec<std::path::PathBuf> =
        ["connectors/echo", "connectors/vulnerable", "connectors/sneaky", "components/real-deps"]
            .iter()
            .map(|f| fixture(f))
            .collect();
    for (name, bytes) in archives {
        inputs.push(sandbox.input(name, &bytes));
    }
    for input in inputs {
        sandbox.scan(&input, &[]);
        let log = sarif(&sandbox);
        assert_eq!(schemas::errors(&validator, &log), Vec::<String>::new(), "{}", input.display());
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), sandbox.report()["findings"].as_array().unwrap().len(), "one result per finding");
    }
}

#[test]
fn results_point_at_files_lines_and_packages() {
    let sandbox = Sandbox::new();
    sandbox.scan(&fixture("connectors/sneaky"), &[]);
    let log = sarif(&sandbox);
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let network = run["results"].as_array().unwrap().iter().find(|r| r["ruleId"] == "undeclared-network").unwrap();
    assert_eq!(network["level"], "error");
    assert_eq!(rules[network["ruleIndex"].as_u64().unwrap() as usize]["id"], "undeclared-network");
    let physical = &network["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"], "src/main.rs");
    assert_eq!(physical["region"]["startLine"], 8);

    sandbox.scan(&fixture("connectors/vulnerable"), &[]);
    let log = sarif(&sandbox);
    let vulnerability =
        log["runs"][0]["results"].as_array().unwrap().iter().find(|r| r["ruleId"] == "vulnerability").unwrap();
    assert_eq!(vulnerability["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "smallvec@1.6.0");
    assert_eq!(vulnerability["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "Cargo.lock");
}
