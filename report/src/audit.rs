//! The audit section of a report: which advisory database was used and what it said about each dependency.

use std::fmt;

use serde::{Deserialize, Serialize};

/// CVSS qualitative severity, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CvssSeverity {
    /// Score 0.0.
    None,
    /// 0.1–3.9.
    Low,
    /// 4.0–6.9.
    Medium,
    /// 7.0–8.9.
    High,
    /// 9.0–10.0.
    Critical,
}

impl CvssSeverity {
    /// Every severity, lowest first.
    pub const ALL: [CvssSeverity; 5] = [Self::None, Self::Low, Self::Medium, Self::High, Self::Critical];

    /// The lowercase name CVSS gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// The severity by its name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|severity| severity.as_str() == name)
    }
}

impl fmt::Display for CvssSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which advisory database a scan used, identified so that two scans can tell whether they saw the same one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseIdentity {
    /// How the identity was established: `git` (a checkout), `snapshot` (a `SNAPSHOT` file) or `content`.
    pub kind: String,
    /// Commit of the database, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Date of that commit (RFC 3339), when known; the database's age is measured from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// sha256 over the advisory files (sorted paths and contents) when the database is not a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    /// Number of advisories loaded.
    pub advisory_count: usize,
}

impl DatabaseIdentity {
    /// One word for the database's state, to compare two of them: `git:<commit>`, `snapshot:<commit>` or
    /// `content:<sha256>`.
    pub fn label(&self) -> String {
        let id = self.commit.as_deref().or(self.content_sha256.as_deref()).unwrap_or("unknown");
        format!("{}:{id}", self.kind)
    }
}

/// What the audit of one lockfile found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditResult {
    /// Packages in the lockfile, the asset itself included.
    pub packages: usize,
    /// Vulnerabilities, sorted by package then advisory id.
    pub vulnerabilities: Vec<AdvisoryMatch>,
    /// Informational advisories (unmaintained, unsound, notice), sorted the same way.
    pub warnings: Vec<AdvisoryMatch>,
    /// Packages the database cannot speak for (git, path, other registries), sorted by name and version.
    pub unaudited: Vec<UnauditedPackage>,
}

/// One advisory that applies to one package of the lockfile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryMatch {
    /// Advisory id, e.g. `RUSTSEC-2021-0003`.
    pub id: String,
    /// `vulnerability`, `unmaintained`, `unsound` or `notice`.
    pub kind: String,
    /// The affected package's name.
    pub package: String,
    /// The affected package's version, as locked.
    pub version: String,
    /// Advisory title.
    pub title: String,
    /// Advisory text (Markdown).
    pub description: String,
    /// Date the advisory was published (YYYY-MM-DD).
    pub date: String,
    /// RustSec categories (e.g. `memory-corruption`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// CVSS vector, when the advisory has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<String>,
    /// CVSS base score computed from the vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_score: Option<f64>,
    /// CVSS qualitative severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_severity: Option<CvssSeverity>,
    /// Version requirements that are patched; empty means no fixed release exists.
    pub patched: Vec<String>,
    /// Other ids of the same issue (CVE, GHSA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Where to read more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A package the advisory database does not cover.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnauditedPackage {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// `git`, `path` or `registry`.
    pub source_kind: String,
    /// The source as the lockfile writes it (empty for path packages).
    pub source: String,
}
