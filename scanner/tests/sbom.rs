//! The SBOM: schema-valid (official schema and cyclonedx-bom's own checks, plus cyclonedx-python-lib),
//! reproducible, complete, and in agreement with cargo-cyclonedx.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use cyclonedx_bom::models::bom::{Bom, SpecVersion};
use cyclonedx_bom::validation::Validate;
use serde_json::Value;
use support::{Sandbox, exit_code, fixture, schemas};

/// Scans `asset` (online, shared cache) and returns the report and the SBOM.
fn scan(sandbox: &Sandbox, asset: &Path, extra: &[&str]) -> (Value, Value) {
    let output = sandbox.scan(asset, extra);
    assert!(matches!(exit_code(&output), 0 | 1), "{}", String::from_utf8_lossy(&output.stderr));
    let sbom = std::fs::read_to_string(sandbox.path("out/sbom.cdx.json")).unwrap();
    (sandbox.report(), serde_json::from_str(&sbom).unwrap())
}

const FIXTURES: [&str; 3] = ["connectors/echo", "connectors/vulnerable", "components/real-deps"];

#[test]
fn every_fixture_sbom_is_schema_valid_and_passes_cyclonedx_validate() {
    let validator = schemas::validator("bom-1.5.schema.json");
    for name in FIXTURES {
        let sandbox = Sandbox::online();
        let (report, sbom) = scan(&sandbox, &fixture(name), &[]);
        assert_eq!(sbom["specVersion"], "1.5", "{name}");
        if let Some(validator) = &validator {
            assert_eq!(schemas::errors(validator, &sbom), Vec::<String>::new(), "{name}");
        }
        let bytes = std::fs::read(sandbox.path("out/sbom.cdx.json")).unwrap();
        let bom = Bom::parse_from_json_v1_5(bytes.as_slice()).unwrap();
        let result = bom.validate_version(SpecVersion::V1_5);
        assert!(result.passed(), "{name}: {result:?}");
        let digest: String = assay_report::digest::sha256_hex(&bytes);
        assert_eq!(report["sbom"]["sha256"], digest, "the report vouches for exactly this file");
    }
}

/// The trap measured in ARCHITECTURE.md: neither check alone is enough.
#[test]
fn each_check_catches_what_the_other_misses() {
    let Some(validator) = schemas::validator("bom-1.5.schema.json") else {
        return;
    };
    let sandbox = Sandbox::online();
    let (_, sbom) = scan(&sandbox, &fixture("connectors/vulnerable"), &["--offline"]);
    let validate = |value: &Value| {
        let bom = Bom::parse_from_json_v1_5(value.to_string().as_bytes()).unwrap();
        bom.validate_version(SpecVersion::V1_5).passed()
    };
    assert!(validate(&sbom) && schemas::errors(&validator, &sbom).is_empty());

    // A dependency on a component that does not exist: schema-valid, caught by Validate.
    let mut dangling = sbom.clone();
    let root = sbom["metadata"]["component"]["bom-ref"].clone();
    let node = dangling["dependencies"].as_array_mut().unwrap().iter_mut().find(|d| d["ref"] == root).unwrap();
    node["dependsOn"].as_array_mut().unwrap().push(Value::from("pkg:cargo/ghost@1.0.0"));
    assert!(schemas::errors(&validator, &dangling).is_empty(), "the schema cannot see dangling refs");
    assert!(!validate(&dangling), "Validate catches the dangling ref");

    // A key CycloneDX 1.5 does not define: dropped silently by the model, caught by the schema.
    let mut unknown = sbom.clone();
    unknown["components"][0]["flavour"] = Value::from("vanilla");
    assert!(validate(&unknown), "the model ignores unknown keys");
    assert!(!schemas::errors(&validator, &unknown).is_empty(), "the schema refuses them");
}

#[test]
fn cyclonedx_python_lib_accepts_every_fixture_sbom() {
    let sandbox = Sandbox::online();
    let mut files = Vec::new();
    for (i, name) in FIXTURES.iter().enumerate() {
        scan(&sandbox, &fixture(name), &[]);
        let file = sandbox.path(&format!("in/{i}.cdx.json"));
        std::fs::copy(sandbox.path("out/sbom.cdx.json"), &file).unwrap();
        files.push(file);
    }
    let args: Vec<&std::ffi::OsStr> = files.iter().map(|f| f.as_os_str()).collect();
    let Some(output) = support::run_python("validate_sbom.py", &args) else { return };
    assert!(output.status.success(), "cyclonedx-python-lib: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn two_scans_give_the_same_sbom_apart_from_the_timestamp() {
    let sandbox = Sandbox::online();
    let (_, mut first) = scan(&sandbox, &fixture("components/real-deps"), &[]);
    let (_, mut second) = scan(&sandbox, &fixture("components/real-deps"), &[]);
    for sbom in [&mut first, &mut second] {
        sbom["metadata"]["timestamp"] = Value::from("[varies]");
    }
    assert_eq!(first, second);
    assert!(first["serialNumber"].as_str().unwrap().starts_with("urn:uuid:"));
}

#[test]
fn source_date_epoch_makes_sboms_byte_identical() {
    let sandbox = Sandbox::online();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let output = sandbox
            .assay()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .arg("sbom")
            .arg(fixture("connectors/vulnerable"))
            .arg("--advisory-db")
            .arg(support::synthetic_db())
            .arg("--offline")
            .output()
            .unwrap();
        assert_eq!(exit_code(&output), 0, "{}", String::from_utf8_lossy(&output.stderr));
        runs.push(output.stdout);
    }
    assert_eq!(runs[0], runs[1]);
    let sbom: Value = serde_json::from_slice(&runs[0]).unwrap();
    assert_eq!(sbom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
}

#[test]
fn every_lockfile_package_is_a_component_and_a_dependency_node() {
    let sandbox = Sandbox::online();
    let (_, sbom) = scan(&sandbox, &fixture("components/real-deps"), &[]);
    let components: BTreeSet<String> =
        sbom["components"].as_array().unwrap().iter().map(|c| c["bom-ref"].as_str().unwrap().to_owned()).collect();
    assert_eq!(components.len(), 10, "all 11 lockfile packages but the asset itself: {components:?}");
    let root = sbom["metadata"]["component"]["bom-ref"].as_str().unwrap().to_owned();
    assert_eq!(root, "pkg:cargo/real-deps@0.2.0");
    assert_eq!(sbom["metadata"]["component"]["type"], "library");
    assert_eq!(sbom["metadata"]["supplier"]["name"], "assay-fixtures");
    let nodes: BTreeSet<String> =
        sbom["dependencies"].as_array().unwrap().iter().map(|d| d["ref"].as_str().unwrap().to_owned()).collect();
    let mut expected = components.clone();
    expected.insert(root);
    assert_eq!(nodes, expected, "every component is a node");
    for node in sbom["dependencies"].as_array().unwrap() {
        for target in node["dependsOn"].as_array().into_iter().flatten() {
            assert!(expected.contains(target.as_str().unwrap()), "dangling {target}");
        }
    }
    let property = |purl: &str, name: &str| -> String {
        let component = sbom["components"].as_array().unwrap().iter().find(|c| c["purl"] == purl).unwrap();
        let properties = component["properties"].as_array().unwrap();
        properties.iter().find(|p| p["name"] == name).unwrap()["value"].as_str().unwrap().to_owned()
    };
    assert_eq!(property("pkg:cargo/itoa@1.0.11", "assay:dependency-kind"), "dev");
    assert_eq!(property("pkg:cargo/autocfg@1.3.0", "assay:dependency-kind"), "build");
    assert_eq!(property("pkg:cargo/semver@1.0.23", "assay:dependency-kind"), "normal");
    assert_eq!(property("pkg:cargo/winapi@0.3.9", "assay:dependency-kind"), "normal", "platform-specific is kept");
}

#[test]
fn components_agree_with_cargo_cyclonedx() {
    let sandbox = Sandbox::online();
    let (_, sbom) = scan(&sandbox, &fixture("components/real-deps"), &[]);
    let ours: Vec<&Value> = sbom["components"].as_array().unwrap().iter().collect();
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("sboms/real-deps.cargo-cyclonedx-0.5.9.json")).unwrap())
            .unwrap();
    let theirs = recorded["components"].as_array().unwrap();
    assert!(theirs.len() >= 5);
    for reference in theirs {
        let purl = reference["purl"].as_str().unwrap();
        let component = ours.iter().find(|c| c["purl"] == purl).unwrap_or_else(|| panic!("{purl} missing"));
        assert_eq!(component["hashes"][0]["alg"], "SHA-256", "{purl}");
        assert_eq!(component["hashes"][0]["content"], reference["sha256"], "{purl}");
        let licenses: Vec<&Value> =
            component["licenses"].as_array().unwrap().iter().map(|l| &l["expression"]).collect();
        let expected: Vec<&Value> = reference["licenses"].as_array().unwrap().iter().collect();
        assert_eq!(licenses, expected, "{purl}");
        assert_eq!(component["scope"], reference["scope"], "{purl}");
    }
    // What cargo-cyclonedx filtered out (dev-only, other platforms) is still listed by us.
    assert!(ours.len() > theirs.len());
    assert!(ours.iter().any(|c| c["purl"] == "pkg:cargo/itoa@1.0.11"));
    assert!(ours.iter().any(|c| c["purl"] == "pkg:cargo/winapi@0.3.9"));
}

#[test]
fn vulnerabilities_are_listed_with_source_ratings_aliases_and_affected_component() {
    let sandbox = Sandbox::online();
    let (report, sbom) = scan(&sandbox, &fixture("connectors/vulnerable"), &["--offline"]);
    assert_eq!(report["sbom"]["vulnerabilities"], 3, "two advisories of the synthetic DB and its notice");
    let vulnerabilities = sbom["vulnerabilities"].as_array().unwrap();
    let smallvec = vulnerabilities.iter().find(|v| v["id"] == "RUSTSEC-2099-0001").unwrap();
    assert_eq!(smallvec["source"]["name"], "RustSec");
    assert_eq!(smallvec["source"]["url"], "https://rustsec.org/advisories/RUSTSEC-2099-0001");
    assert_eq!(smallvec["ratings"][0]["method"], "CVSSv31");
    assert_eq!(smallvec["ratings"][0]["severity"], "critical");
    assert_eq!(smallvec["ratings"][0]["vector"], "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
    let references: Vec<&str> =
        smallvec["references"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(references, ["CVE-2099-0001", "GHSA-xxxx-yyyy-zzzz"]);
    assert_eq!(smallvec["recommendation"], "Upgrade to a version matching >=1.6.1.");
    assert_eq!(smallvec["affects"][0]["ref"], "pkg:cargo/smallvec@1.6.0");
    assert_eq!(smallvec["affects"][0]["versions"][0]["status"], "affected");
    let affected = smallvec["affects"][0]["ref"].as_str().unwrap();
    assert!(sbom["components"].as_array().unwrap().iter().any(|c| c["bom-ref"] == affected));
}

#[test]
fn git_and_registry_sources_get_qualified_purls() {
    let sandbox = Sandbox::online();
    let (_, sbom) = scan(&sandbox, &fixture("connectors/vulnerable"), &["--offline"]);
    let git = sbom["components"].as_array().unwrap().iter().find(|c| c["name"] == "acme-internal").unwrap();
    assert_eq!(
        git["purl"],
        "pkg:cargo/acme-internal@0.2.0?vcs_url=git%2Bhttps://git.example/acme/internal%404f1c2a7e9b0d3c5f6a8b9c0d1e2f3a4b5c6d7e8f"
    );
    assert!(git.get("hashes").is_none(), "git packages have no checksum");
}

#[test]
fn offline_without_cached_metadata_marks_licences_unknown_and_says_so() {
    let sandbox = Sandbox::online();
    let empty_cache = sandbox.path("empty-cache");
    let output =
        sandbox.scan(&fixture("components/real-deps"), &["--offline", "--cache-dir", empty_cache.to_str().unwrap()]);
    assert_eq!(exit_code(&output), 1, "real-deps pins smallvec 1.6.0, a vulnerability in the synthetic DB");
    let report = sandbox.report();
    let finding = support::finding(&report, "sbom-metadata-unavailable");
    assert_eq!(finding["severity"], "warn");
    assert!(finding["message"].as_str().unwrap().contains("licences of 10 dependencies are unknown"), "{finding}");
    assert_eq!(report["sbom"]["unknown_licenses"], 10);
    let sbom: Value =
        serde_json::from_str(&std::fs::read_to_string(sandbox.path("out/sbom.cdx.json")).unwrap()).unwrap();
    let component = &sbom["components"][0];
    assert!(component.get("licenses").is_none());
    assert!(
        component["properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "assay:license-status" && p["value"] == "unknown")
    );
    if let Some(validator) = schemas::validator("bom-1.5.schema.json") {
        assert!(schemas::errors(&validator, &sbom).is_empty());
    }
}

#[test]
fn repeated_scans_need_no_cargo_metadata() {
    let sandbox = Sandbox::online();
    let cache = sandbox.path("cache");
    let cache_arg = ["--cache-dir", cache.to_str().unwrap()];
    let (first, _) = {
        let output = sandbox.scan(&fixture("components/real-deps"), &cache_arg);
        assert_eq!(exit_code(&output), 1);
        (sandbox.report(), ())
    };
    let sbom_stage =
        |report: &Value| report["stages"].as_array().unwrap().iter().find(|s| s["name"] == "sbom").unwrap().clone();
    assert!(sbom_stage(&first).get("note").is_none(), "the first scan runs cargo metadata");
    assert_eq!(first["sbom"]["unknown_licenses"], 0);
    // Offline now: only the cache can answer, and it answers everything.
    let output = sandbox.scan(&fixture("components/real-deps"), &[cache_arg[0], cache_arg[1], "--offline"]);
    assert_eq!(exit_code(&output), 1);
    let second = sandbox.report();
    assert_eq!(sbom_stage(&second)["note"], "dependency metadata from cache");
    assert_eq!(second["sbom"]["unknown_licenses"], 0);
}

#[test]
fn a_manifest_path_outside_the_asset_is_refused_and_cargo_is_not_run() {
    let sandbox = Sandbox::online();
    let top = support::hostile_archive::TOP;
    let manifest = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n\n[dependencies]\nsecrets = { path = \"../../../../etc\" }\n\n[package.metadata.marketplace]\nkind = \"component\"\npublisher = \"tests\"\nsummary = \"x\"\n";
    let lockfile = "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"secrets\"]\n\n[[package]]\nname = \"secrets\"\nversion = \"0.1.0\"\n";
    let input = sandbox.input(
        "demo-0.1.0.crate",
        &support::hostile_archive::build(vec![
            support::hostile_archive::Raw::file(&format!("{top}/Cargo.toml"), manifest.as_bytes()),
            support::hostile_archive::Raw::file(&format!("{top}/Cargo.lock"), lockfile.as_bytes()),
        ]),
    );
    assert_eq!(exit_code(&sandbox.scan(&input, &["--cache-dir", sandbox.path("cache").to_str().unwrap()])), 1);
    let report = sandbox.report();
    assert_eq!(support::finding(&report, "manifest-path-outside")["severity"], "deny");
    assert!(!sandbox.path("cache/cargo-home").exists(), "cargo metadata never ran");
}
