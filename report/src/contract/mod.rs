//! Asset contract v1 (`[package.metadata.marketplace]`): what an asset is, what it may do, the service it
//! runs and how to load-test it. The asset step parses it with spans (`assay-scanner`); the rules judge it
//! as facts; the load stage runs it.

mod capability;
mod load;

use serde::{Deserialize, Serialize};

pub use capability::Capability;
pub use load::{Budget, LoadSpec, Request, Scenario};

/// The table path of the contract inside `Cargo.toml`.
pub const CONTRACT_TABLE: [&str; 3] = ["package", "metadata", "marketplace"];

/// What an asset is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AssetKind {
    /// A service.
    Connector,
    /// A library.
    Component,
}

impl AssetKind {
    /// Every kind.
    pub const ALL: [AssetKind; 2] = [Self::Connector, Self::Component];

    /// The contract spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connector => "connector",
            Self::Component => "component",
        }
    }

    /// The kind by its contract spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

impl std::fmt::Display for AssetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much of the filesystem the asset may touch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

impl Capabilities {
    /// The capabilities these declarations grant, each with its key under `capabilities`.
    pub fn granted(&self) -> Vec<(Capability, &'static str)> {
        let mut granted = Vec::new();
        if !self.network.is_empty() {
            granted.push((Capability::Network, "network"));
        }
        match self.filesystem {
            FilesystemAccess::None => {}
            FilesystemAccess::Read => granted.push((Capability::FilesystemRead, "filesystem")),
            FilesystemAccess::Write => granted.push((Capability::FilesystemWrite, "filesystem")),
        }
        if !self.env.is_empty() {
            granted.push((Capability::Env, "env"));
        }
        if self.process {
            granted.push((Capability::Process, "process"));
        }
        if self.unsafe_code {
            granted.push((Capability::Unsafe, "unsafe"));
        }
        granted
    }
}

/// The service a connector runs, which the load stage builds and drives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

impl Contract {
    /// Problems the types cannot express, as `(key relative to the contract, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.publisher.trim().is_empty() {
            problems.push(("publisher".to_owned(), "`publisher` is empty".to_owned()));
        }
        for (index, endpoint) in self.capabilities.network.iter().enumerate() {
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
        for (index, name) in self.capabilities.env.iter().enumerate() {
            if name.is_empty() || name.contains('=') {
                problems.push((
                    format!("capabilities.env.{index}"),
                    format!("`{name}` is not an environment variable name"),
                ));
            }
        }
        if let Some(service) = &self.service {
            if !service.ready.starts_with('/') {
                problems.push((
                    "service.ready".to_owned(),
                    format!("`ready` path `{}` must start with `/`", service.ready),
                ));
            }
            if self.kind == AssetKind::Component {
                problems.push(("service".to_owned(), "a component (library) cannot declare a service".to_owned()));
            }
        }
        match (&self.load, &self.service) {
            (Some(_), None) => {
                problems
                    .push(("load".to_owned(), "[load] is declared but there is no [service] to load-test".to_owned()));
            }
            (Some(load), Some(_)) => {
                problems.extend(load.problems().into_iter().map(|(key, message)| (format!("load.{key}"), message)));
            }
            _ => {}
        }
        problems
    }

    /// Every budget the contract declares, with its key under the contract: the overall load budget, then
    /// each scenario's.
    pub fn budgets(&self) -> Vec<(String, &Budget)> {
        let Some(load) = &self.load else { return Vec::new() };
        let mut budgets = vec![("load.budget".to_owned(), &load.budget)];
        for (index, scenario) in load.scenarios.iter().enumerate() {
            if let Some(budget) = &scenario.budget {
                budgets.push((format!("load.scenario[{index}].budget"), budget));
            }
        }
        budgets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(toml_text: &str) -> Contract {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn granted_capabilities_follow_the_declarations() {
        let declared = contract(
            "kind = \"connector\"\npublisher = \"p\"\nsummary = \"s\"\n[capabilities]\nnetwork = [\"a:1\"]\nfilesystem = \"read\"\nprocess = true\n",
        );
        let granted: Vec<Capability> = declared.capabilities.granted().into_iter().map(|(c, _)| c).collect();
        assert_eq!(granted, [Capability::Network, Capability::FilesystemRead, Capability::Process]);
    }

    #[test]
    fn semantic_problems_name_their_key() {
        let declared = contract(
            "kind = \"component\"\npublisher = \" \"\nsummary = \"s\"\n[capabilities]\nnetwork = [\"nohost\"]\n[service]\nbin = \"b\"\nport-env = \"PORT\"\nready = \"health\"\n",
        );
        let keys: Vec<String> = declared.problems().into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["publisher", "capabilities.network.0", "service.ready", "service"]);
    }

    #[test]
    fn only_declared_scenario_budgets_are_listed() {
        let declared = contract(
            "kind = \"connector\"\npublisher = \"p\"\nsummary = \"s\"\n[service]\nbin = \"b\"\nport-env = \"PORT\"\nready = \"/\"\n[load]\nusers = 1\nramp = \"1/s\"\nduration = \"1s\"\n[[load.scenario]]\nname = \"a\"\nrequest = { path = \"/\" }\n[[load.scenario]]\nname = \"b\"\nrequest = { path = \"/\" }\nbudget = { p95 = \"5ms\" }\n",
        );
        let keys: Vec<String> = declared.budgets().into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["load.budget", "load.scenario[1].budget"]);
    }
}
