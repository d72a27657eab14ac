//! Facts: what the stages learnt about an asset, in the shape rules read them.

use serde::{Deserialize, Serialize};

/// Everything the rules judge besides the stage findings (schema `assay.facts/v1`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The asset itself.
    pub asset: AssetFacts,
    /// Every locked package but the asset, sorted by name and version.
    pub dependencies: Vec<DependencyFact>,
}

/// The asset as its manifest and contract describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetFacts {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// `connector` or `component`.
    pub kind: Option<String>,
    /// Contract data classes (`pii`, …).
    pub data_classes: Vec<String>,
    /// Licence expression.
    pub license: Option<String>,
    /// Repository URL.
    pub repository: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Whether it has a build script.
    pub build_script: bool,
    /// Whether it is a proc-macro.
    pub proc_macro: bool,
}

/// One locked dependency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyFact {
    /// Package name.
    pub name: String,
    /// Locked version.
    pub version: String,
    /// `crates-io`, `git`, `path` or `registry`.
    pub source_kind: String,
    /// The lockfile source (empty for crates.io and path packages).
    pub source: String,
    /// Licence expression, when known.
    pub license: Option<String>,
    /// Repository URL, when known.
    pub repository: Option<String>,
    /// `normal`, `build` or `dev`.
    pub kind: String,
    /// Names of the locked packages that depend on it.
    pub dependents: Vec<String>,
}
