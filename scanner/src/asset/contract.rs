//! Asset contract v1: `[package.metadata.marketplace]`, what the asset is and what it may do.
//!
//! Type errors are `contract-invalid` at the offending line; keys contract v1 does not define are
//! `contract-unknown-key` (a typo must not silently disable a check, so they are always reported).

use serde::{Deserialize, Serialize};

use assay_load_runner::LoadSpec;
use assay_report::{Finding, Location, codes};

use super::spans::TomlText;

/// The table path of the contract inside `Cargo.toml`.
pub const CONTRACT_TABLE: [&str; 3] = ["package", "metadata", "marketplace"];

/// What an asset is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetKind {
    /// A service.
    Connector,
    /// A library.
    Component,
}

impl AssetKind {
    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connector => "connector",
            Self::Component => "component",
        }
    }
}

/// How much of the filesystem the asset may touch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilesystemAccess {
    /// No filesystem access.
    #[default]
    None,
    /// Reads only.
    Read,
    /// Reads and writes.
    Write,
}

/// What the asset's code may do. Omitted keys mean "nothing".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Capabilities {
    /// Outbound connections it may open, as `host:port`.
    #[serde(default)]
    pub network: Vec<String>,
    /// Filesystem access.
    #[serde(default)]
    pub filesystem: FilesystemAccess,
    /// Environment variables it reads.
    #[serde(default)]
    pub env: Vec<String>,
    /// Whether it spawns processes.
    #[serde(default)]
    pub process: bool,
    /// Whether its own sources use `unsafe` or FFI.
    #[serde(default, rename = "unsafe")]
    pub unsafe_code: bool,
}

/// The service a connector runs, which the load stage builds and drives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Service {
    /// The binary target to build and run.
    pub bin: String,
    /// Environment variable that carries the port to listen on (127.0.0.1).
    pub port_env: String,
    /// Path that answers 2xx to GET once the service is ready.
    pub ready: String,
}

/// Asset contract v1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Contract {
    /// Connector or component.
    pub kind: AssetKind,
    /// Publisher id.
    pub publisher: String,
    /// One-line summary for the listing.
    pub summary: String,
    /// Kinds of data handled (policy input), e.g. `pii`.
    #[serde(default)]
    pub data_classes: Vec<String>,
    /// What the code may do.
    #[serde(default)]
    pub capabilities: Capabilities,
    /// The service, when the asset runs one.
    #[serde(default)]
    pub service: Option<Service>,
    /// How to load-test the service.
    #[serde(default)]
    pub load: Option<LoadSpec>,
}

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
    for (key, message) in semantic_problems(&contract) {
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

/// Problems the types cannot express, as `(key relative to the contract, message)`.
fn semantic_problems(contract: &Contract) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if contract.publisher.trim().is_empty() {
        problems.push(("publisher".to_owned(), "`publisher` is empty".to_owned()));
    }
    for (index, endpoint) in contract.capabilities.network.iter().enumerate() {
        let valid = endpoint
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
        if !valid {
            problems.push((
                format!("capabilities.network.{index}"),
                format!("network capability `{endpoint}` is not `host:port`"),
            ));
        }
    }
    for (index, name) in contract.capabilities.env.iter().enumerate() {
        if name.is_empty() || name.contains('=') {
            problems
                .push((format!("capabilities.env.{index}"), format!("`{name}` is not an environment variable name")));
        }
    }
    if let Some(service) = &contract.service {
        if !service.ready.starts_with('/') {
            problems
                .push(("service.ready".to_owned(), format!("`ready` path `{}` must start with `/`", service.ready)));
        }
        if contract.kind == AssetKind::Component {
            problems.push(("service".to_owned(), "a component (library) cannot declare a service".to_owned()));
        }
    }
    match (&contract.load, &contract.service) {
        (Some(_), None) => {
            problems.push(("load".to_owned(), "[load] is declared but there is no [service] to load-test".to_owned()));
        }
        (Some(load), Some(_)) => {
            problems.extend(load.problems().into_iter().map(|(key, message)| (format!("load.{key}"), message)));
        }
        _ => {}
    }
    problems
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
