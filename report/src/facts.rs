//! Facts: what the stages learnt about an asset, in the shape rules read them (`facts.json`, the `input`
//! of Rego rules). Versioned by [`FACTS_SCHEMA`]; `assay rules facts-schema` prints its JSON Schema.

use serde::{Deserialize, Serialize};

use crate::audit::{AdvisoryMatch, CvssSeverity};
use crate::contract::{AssetKind, Capability, Contract};

/// Schema id of [`Facts`].
pub const FACTS_SCHEMA: &str = "assay.facts/v1";

/// Everything the rules judge besides the stage findings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Facts {
    /// [`FACTS_SCHEMA`].
    pub schema: String,
    /// The asset itself.
    pub asset: AssetFacts,
    /// The asset contract as declared (`[package.metadata.marketplace]`), when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    /// Every locked package but the asset, sorted by name and version.
    pub dependencies: Vec<DependencyFact>,
    /// Advisories matching the dependencies (vulnerabilities and informational ones).
    pub advisories: Vec<AdvisoryFact>,
    /// What the asset's own code does, by file and line.
    pub source: Vec<SourceFact>,
    /// What the load stage measured, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<crate::load::LoadReport>,
    /// How this release relates to what is listed: its baseline and the diff against it, and the names of
    /// other publishers' assets that match or resemble its own. Absent when the scan had no store and no
    /// baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<crate::lineage::Lineage>,
}

/// The asset as its manifest and contract describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AssetFacts {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Connector or component, when the contract says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AssetKind>,
    /// Publisher id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Contract data classes (`pii`, …).
    pub data_classes: Vec<String>,
    /// Licence expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Repository URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it has a build script.
    pub build_script: bool,
    /// Whether it is a proc-macro.
    pub proc_macro: bool,
    /// sha256 of the submitted archive.
    pub sha256: String,
}

/// One locked dependency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DependencyFact {
    /// Package name.
    pub name: String,
    /// Locked version.
    pub version: String,
    /// `crates-io`, `git`, `path` or `registry`.
    pub source_kind: String,
    /// The lockfile source (empty for crates.io and path packages).
    pub source: String,
    /// SHA-256 from the lockfile, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Licence expression, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Repository URL, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `normal`, `build` or `dev`.
    pub kind: String,
    /// Whether its packaged manifest declares a build script (code run at build time).
    #[serde(default)]
    pub build_script: bool,
    /// Whether it is a proc macro (code run inside the compiler).
    #[serde(default)]
    pub proc_macro: bool,
    /// Names of the locked packages that depend on it.
    pub dependents: Vec<String>,
}

/// An advisory that applies to a dependency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AdvisoryFact {
    /// Advisory id.
    pub id: String,
    /// `vulnerability`, `unmaintained`, `unsound` or `notice`.
    pub kind: String,
    /// The package.
    pub package: String,
    /// Its version.
    pub version: String,
    /// CVSS base score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_score: Option<f64>,
    /// CVSS severity (`low` … `critical`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_severity: Option<CvssSeverity>,
}

impl From<&AdvisoryMatch> for AdvisoryFact {
    fn from(matched: &AdvisoryMatch) -> Self {
        Self {
            id: matched.id.clone(),
            kind: matched.kind.clone(),
            package: matched.package.clone(),
            version: matched.version.clone(),
            cvss_score: matched.cvss_score,
            cvss_severity: matched.cvss_severity,
        }
    }
}

/// One capability use found in the asset's source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceFact {
    /// What the code does there.
    pub capability: Capability,
    /// File, relative to the asset root.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// The construct, as written.
    pub detail: String,
}

/// The JSON Schema of [`Facts`].
pub fn facts_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Facts)).unwrap_or_default()
}
