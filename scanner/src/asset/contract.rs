//! Reading asset contract v1 (`[package.metadata.marketplace]`, types in `assay_report::contract`) from a
//! manifest, with every problem at its line.
//!
//! Type errors are `contract-invalid` at the offending line; keys contract v1 does not define are
//! `contract-unknown-key` (a typo must not silently disable a check, so they are always reported).

use serde::Deserialize;

use assay_report::contract::{CONTRACT_TABLE, Contract};
use assay_report::{Finding, Location, codes};

use super::spans::TomlText;

#[derive(Deserialize)]
struct Doc {
    package: Option<PackageDoc>,
}

#[derive(Deserialize)]
struct PackageDoc {
    metadata: Option<MetadataDoc>,
}

#[derive(Deserialize)]
struct MetadataDoc {
    marketplace: Option<Contract>,
}

/// Reads the contract from manifest text that is known to be valid TOML.
/// Returns the contract when it is usable, and every problem found.
pub fn parse_contract(text: &str, spans: &TomlText<'_>) -> (Option<Contract>, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut unknown = Vec::new();
    let parsed = toml::de::Deserializer::parse(text).and_then(|deserializer| {
        serde_ignored::deserialize(deserializer, |path| {
            let segments = path_segments(&path);
            if segments.len() > CONTRACT_TABLE.len() && segments[..CONTRACT_TABLE.len()] == CONTRACT_TABLE {
                unknown.push(segments);
            }
        })
    });
    let contract = match parsed {
        Ok(Doc { package: Some(PackageDoc { metadata: Some(MetadataDoc { marketplace: Some(contract) }) }) }) => {
            contract
        }
        Ok(_) => {
            findings.push(
                Finding::new(&codes::CONTRACT_MISSING, "Cargo.toml has no [package.metadata.marketplace] table")
                    .at(Location::file("Cargo.toml"))
                    .help("declare the asset contract v1: kind, publisher, summary and capabilities (see the README)"),
            );
            return (None, findings);
        }
        Err(err) => {
            let location = match spans.line_of_error(&err) {
                Some(line) => Location::file_line("Cargo.toml", line),
                None => Location::file("Cargo.toml"),
            };
            findings.push(
                Finding::new(&codes::CONTRACT_INVALID, format!("asset contract: {}", err.message().trim()))
                    .at(location.with_key(CONTRACT_TABLE.join("."))),
            );
            return (None, findings);
        }
    };

    for segments in unknown {
        let key = segments.join(".");
        let location = at_key(spans, &segments);
        findings.push(
            Finding::new(&codes::CONTRACT_UNKNOWN_KEY, format!("`{key}` is not a key of asset contract v1"))
                .at(location.with_key(key)),
        );
    }
    for (key, message) in contract.problems() {
        let segments: Vec<String> = CONTRACT_TABLE
            .iter()
            .map(|s| (*s).to_owned())
            .chain(key.split(['.', '[', ']']).filter(|s| !s.is_empty()).map(str::to_owned))
            .collect();
        findings.push(
            Finding::new(&codes::CONTRACT_INVALID, message).at(at_key(spans, &segments).with_key(segments.join("."))),
        );
    }
    let usable = findings.iter().all(|f| f.code != codes::CONTRACT_INVALID.id);
    (usable.then_some(contract), findings)
}

fn at_key(spans: &TomlText<'_>, segments: &[String]) -> Location {
    match spans.line_of_key(segments) {
        Some(line) => Location::file_line("Cargo.toml", line),
        None => Location::file("Cargo.toml"),
    }
}

/// The named segments of a serde_ignored path (`Some`/newtype wrappers carry no name).
fn path_segments(path: &serde_ignored::Path<'_>) -> Vec<String> {
    use serde_ignored::Path;
    match path {
        Path::Root => Vec::new(),
        Path::Seq { parent, index } => {
            let mut segments = path_segments(parent);
            segments.push(index.to_string());
            segments
        }
        Path::Map { parent, key } => {
            let mut segments = path_segments(parent);
            segments.push(key.clone());
            segments
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            path_segments(parent)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_report::contract::AssetKind;

    const GOOD: &str = r#"[package]
name = "acme"
version = "1.0.0"

[package.metadata.marketplace]
kind = "connector"
publisher = "acme"
summary = "Sync Acme CRM records"
data-classes = ["pii"]

[package.metadata.marketplace.capabilities]
network = ["api.acme.example:443"]
filesystem = "none"
env = ["PORT"]

[package.metadata.marketplace.service]
bin = "acme"
port-env = "PORT"
ready = "/health"

[package.metadata.marketplace.load]
users = 4
ramp = "4/s"
duration = "5s"
budget = { p95 = "50ms" }

[[package.metadata.marketplace.load.scenario]]
name = "health"
request = { path = "/health" }
"#;

    fn parse(text: &str) -> (Option<Contract>, Vec<Finding>) {
        parse_contract(text, &TomlText::new(text))
    }

    #[test]
    fn a_complete_contract_parses_without_findings() {
        let (contract, findings) = parse(GOOD);
        assert!(findings.is_empty(), "{findings:?}");
        let contract = contract.unwrap();
        assert_eq!(contract.kind, AssetKind::Connector);
        assert_eq!(contract.capabilities.network, ["api.acme.example:443"]);
        assert_eq!(contract.load.unwrap().scenarios[0].request.method, "GET");
    }

    #[test]
    fn unknown_keys_are_reported_at_their_line() {
        let text = GOOD.replace("filesystem = \"none\"", "filesytem = \"none\"");
        let (contract, findings) = parse(&text);
        assert!(contract.is_some(), "an unknown key alone keeps the contract usable");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].code, "contract-unknown-key");
        assert_eq!(
            findings[0].location,
            Some(Location::file_line("Cargo.toml", 13).with_key("package.metadata.marketplace.capabilities.filesytem"))
        );
    }

    #[test]
    fn a_wrong_type_is_invalid_at_its_line() {
        let text = GOOD.replace("kind = \"connector\"", "kind = \"plugin\"");
        let (contract, findings) = parse(&text);
        assert!(contract.is_none());
        assert_eq!(findings[0].code, "contract-invalid");
        assert!(findings[0].message.contains("plugin"), "{}", findings[0].message);
        assert!(
            matches!(findings[0].location, Some(Location::File { line: Some(6), .. })),
            "{:?}",
            findings[0].location
        );
    }

    #[test]
    fn a_bad_budget_value_is_invalid_at_its_line() {
        let text = GOOD.replace("p95 = \"50ms\"", "p95 = \"quick\"");
        let (_, findings) = parse(&text);
        assert_eq!(findings[0].code, "contract-invalid");
        assert!(
            matches!(findings[0].location, Some(Location::File { line: Some(25), .. })),
            "{:?}",
            findings[0].location
        );
    }

    #[test]
    fn semantic_problems_name_their_key() {
        let text = GOOD.replace("api.acme.example:443", "api.acme.example");
        let (contract, findings) = parse(&text);
        assert!(contract.is_none());
        assert_eq!(
            findings[0].location,
            Some(Location::file_line("Cargo.toml", 12).with_key("package.metadata.marketplace.capabilities.network.0"))
        );
    }

    #[test]
    fn a_missing_contract_is_its_own_finding() {
        let (contract, findings) = parse("[package]\nname = \"x\"\nversion = \"0.1.0\"\n");
        assert!(contract.is_none());
        assert_eq!(findings[0].code, "contract-missing");
    }
}
