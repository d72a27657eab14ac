//! Lineage from hand-made facts: each aspect of the diff, and the name checks.

use super::*;
use crate::contract::Contract;
use crate::facts::{AssetFacts, DependencyFact};
use crate::load::{LoadReport, Measurement, Percentiles, ServiceUsage};

fn contract(capabilities: &str) -> Contract {
    toml::from_str(&format!(
        "kind = \"connector\"\npublisher = \"acme\"\nsummary = \"s\"\n[capabilities]\n{capabilities}\n[service]\nbin = \"b\"\nport-env = \"PORT\"\nready = \"/health\"\n[load]\nusers = 1\nramp = \"1/s\"\nduration = \"1s\"\nbudget = {{ p95 = \"20ms\" }}\n[[load.scenario]]\nname = \"echo\"\nrequest = {{ path = \"/\" }}\n"
    ))
    .unwrap()
}

fn dependency(name: &str, version: &str, build_script: bool) -> DependencyFact {
    DependencyFact {
        name: name.into(),
        version: version.into(),
        source_kind: "crates-io".into(),
        kind: "normal".into(),
        build_script,
        ..DependencyFact::default()
    }
}

fn load(p95_ms: f64, peak_rss_bytes: u64) -> LoadReport {
    let measurement = |name: &str| Measurement {
        name: name.into(),
        requests: 100,
        throughput_rps: 50.0,
        latency: Percentiles { p50_ms: 1.0, p95_ms, p99_ms: p95_ms * 2.0, max_ms: p95_ms * 3.0 },
        ..Measurement::default()
    };
    LoadReport {
        overall: measurement("overall"),
        scenarios: vec![measurement("echo")],
        service: ServiceUsage { peak_rss_bytes: Some(peak_rss_bytes), ..ServiceUsage::default() },
        ..LoadReport::default()
    }
}

fn facts(version: &str, capabilities: &str, dependencies: Vec<DependencyFact>, load: Option<LoadReport>) -> Facts {
    Facts {
        asset: AssetFacts {
            name: "echo-connector".into(),
            version: version.into(),
            publisher: Some("acme".into()),
            license: Some("MIT".into()),
            ..AssetFacts::default()
        },
        contract: Some(contract(capabilities)),
        dependencies,
        load,
        ..Facts::default()
    }
}

#[test]
fn gained_grants_name_each_host_and_capability() {
    let before = facts("1.0.0", "network = [\"a.example:443\"]\nenv = [\"PORT\"]", Vec::new(), None);
    let after = facts(
        "1.1.0",
        "network = [\"a.example:443\", \"b.example:443\"]\nenv = [\"PORT\"]\nprocess = true\nfilesystem = \"write\"",
        Vec::new(),
        None,
    );
    let diff = ReleaseDiff::between(&before, &after);
    let gained: Vec<String> = diff.contract.gained.iter().map(ToString::to_string).collect();
    assert_eq!(gained, ["filesystem reads", "filesystem writes", "network host b.example:443", "process spawning"]);
    assert!(diff.contract.dropped.is_empty());
    let back = ReleaseDiff::between(&after, &before);
    assert_eq!(back.contract.dropped.len(), 4);
    assert!(back.contract.gained.is_empty());
}

#[test]
fn dependencies_are_added_removed_upgraded_and_downgraded_by_name() {
    let before = facts(
        "1.0.0",
        "",
        vec![dependency("gone", "1.0.0", false), dependency("up", "1.0.0", false), dependency("down", "2.0.0", false)],
        None,
    );
    let after = facts(
        "1.0.1",
        "",
        vec![dependency("down", "1.9.0", false), dependency("fresh", "0.1.0", true), dependency("up", "1.2.0", true)],
        None,
    );
    let diff = ReleaseDiff::between(&before, &after).dependencies;
    let names = |refs: &[DependencyRef]| refs.iter().map(|r| format!("{} {}", r.name, r.version)).collect::<Vec<_>>();
    assert_eq!(names(&diff.added), ["fresh 0.1.0"]);
    assert_eq!(names(&diff.removed), ["gone 1.0.0"]);
    assert_eq!(diff.upgraded, [VersionChange { name: "up".into(), previous: "1.0.0".into(), current: "1.2.0".into() }]);
    assert_eq!(
        diff.downgraded,
        [VersionChange { name: "down".into(), previous: "2.0.0".into(), current: "1.9.0".into() }]
    );
    let code: Vec<(String, String)> =
        diff.new_build_time_code.iter().map(|c| (c.name.clone(), c.how.clone())).collect();
    assert_eq!(code, [("fresh".to_owned(), "added".to_owned()), ("up".to_owned(), "upgraded".to_owned())]);
}

#[test]
fn semver_orders_versions_not_text() {
    let before = facts("1.0.0", "", vec![dependency("x", "0.9.0", false)], None);
    let after = facts("1.0.1", "", vec![dependency("x", "0.10.0", false)], None);
    let diff = ReleaseDiff::between(&before, &after).dependencies;
    assert_eq!(diff.upgraded.len(), 1);
    assert!(diff.downgraded.is_empty());
}

#[test]
fn performance_compares_each_scenario_and_the_peak_memory() {
    let before = facts("1.0.0", "", Vec::new(), Some(load(2.0, 4 << 20)));
    let after = facts("1.0.1", "", Vec::new(), Some(load(3.0, 4 << 20)));
    let diff = ReleaseDiff::between(&before, &after);
    let p95: Vec<(&str, Option<f64>)> = diff
        .performance
        .iter()
        .filter(|change| change.metric == "p95")
        .map(|change| (change.scenario.as_str(), change.change_percent))
        .collect();
    assert_eq!(p95, [("overall", Some(50.0)), ("echo", Some(50.0))]);
    assert!(diff.performance.iter().any(|c| c.metric == "peak-rss" && c.change_percent == Some(0.0)));
    assert!(ReleaseDiff::between(&before, &facts("1.0.1", "", Vec::new(), None)).performance.is_empty());
}

#[test]
fn metadata_and_budgets_changes_are_listed_by_key() {
    let before = facts("1.0.0", "", Vec::new(), None);
    let mut after = facts("1.0.1", "", Vec::new(), None);
    after.asset.license = Some("GPL-3.0-only".into());
    if let Some(load) = after.contract.as_mut().and_then(|c| c.load.as_mut()) {
        load.budget.p95 = Some("40ms".parse().unwrap());
    }
    let diff = ReleaseDiff::between(&before, &after);
    assert_eq!(
        diff.metadata,
        [FieldChange { field: "license".into(), previous: Some("MIT".into()), current: Some("GPL-3.0-only".into()) }]
    );
    assert_eq!(diff.contract.budgets.len(), 1);
    assert_eq!(diff.contract.budgets[0].field, "load.budget.p95");
    assert!(!diff.is_empty());
    assert!(ReleaseDiff::between(&before, &before).is_empty());
}

#[test]
fn the_same_archive_again_is_a_resubmission_not_an_update() {
    let mut current = facts("1.0.0", "", Vec::new(), None);
    current.asset.sha256 = "ab".repeat(32);
    let baseline = current.clone();
    let previous = PreviousRelease { version: "1.0.0".into(), ..PreviousRelease::default() };
    assert!(Lineage::assess(&current, Some((previous.clone(), &baseline)), &[]).resubmission);
    let mut rebuilt = current.clone();
    rebuilt.asset.sha256 = "cd".repeat(32);
    assert!(!Lineage::assess(&rebuilt, Some((previous, &baseline)), &[]).resubmission);
}

#[test]
fn the_name_is_checked_against_other_publishers_only() {
    let current = facts("1.0.0", "", Vec::new(), None);
    let listed = |name: &str, publisher: &str| ListedRelease { name: name.into(), publisher: Some(publisher.into()) };
    let lineage = Lineage::assess(
        &current,
        None,
        &[
            listed("echo-connector", "acme"),
            listed("echo_connector", "mallory"),
            listed("echo-conector", "eve"),
            listed("echo-conector", "acme"),
            listed("ledger-sync", "eve"),
            ListedRelease { name: "echo-connector".into(), publisher: None },
        ],
    );
    assert_eq!(lineage.name_owners, ["mallory"]);
    let similar: Vec<(&str, &str)> =
        lineage.similar_names.iter().map(|s| (s.name.as_str(), s.publisher.as_str())).collect();
    assert_eq!(similar, [("echo-conector", "eve")]);
    assert!(lineage.previous.is_none() && lineage.diff.is_none());
}
