//! The acceptance report: the one document that says what was scanned, how, what was found and the verdict.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::audit::{AuditResult, DatabaseIdentity};
use crate::{Finding, Severity};

/// Schema identifier of [`AcceptanceReport`]; bumped on any incompatible change.
pub const REPORT_SCHEMA: &str = "assay.report/v1";

/// The gate's decision, ordered from the mildest to the gravest (`max` of several verdicts is the one that
/// stands for them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No finding blocks the asset.
    Accepted,
    /// No `deny`, but at least one `review` finding: a human decides.
    NeedsReview,
    /// At least one `deny` finding.
    Rejected,
}

impl Verdict {
    /// The verdict that these findings call for: any `deny` rejects, else any `review` asks for review.
    pub fn from_findings(findings: &[Finding]) -> Self {
        match findings.iter().filter(|f| f.waived.is_none()).map(|f| f.severity).max() {
            Some(Severity::Deny) => Self::Rejected,
            Some(Severity::Review) => Self::NeedsReview,
            _ => Self::Accepted,
        }
    }

    /// The upper-case word publishers read first.
    pub fn headline(self) -> &'static str {
        match self {
            Self::Accepted => "ACCEPTED",
            Self::Rejected => "REJECTED",
            Self::NeedsReview => "NEEDS REVIEW",
        }
    }

    /// The kebab-case name used in reports and routing keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::NeedsReview => "needs-review",
        }
    }

    /// The verdict [`Verdict::as_str`] names.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Accepted, Self::NeedsReview, Self::Rejected].into_iter().find(|verdict| verdict.as_str() == text)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tool that wrote the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `assay`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// What was submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    /// A `.crate` file as `cargo package` writes it.
    Crate,
    /// A gzip-compressed tar that is not named `.crate`.
    TarGz,
    /// A directory on disk (local use).
    Directory,
}

/// The thing the verdict is about, identified by content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// File (or directory) name as submitted.
    pub name: String,
    /// What it is.
    pub kind: SubjectKind,
    /// Lowercase hex sha256: of the archive bytes, or for a directory of its canonical listing (see README).
    pub sha256: String,
    /// Size in bytes: of the archive, or the sum of the file sizes of a directory.
    pub size: u64,
}

/// The asset as its manifest and contract describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetSummary {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Connector or component, from the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::contract::AssetKind>,
    /// Publisher, from the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// One-line summary, from the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// SPDX licence expression from the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Repository URL from the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

/// Whether the load stage ran, and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadMode {
    /// Skipped on request (`--no-load`).
    SkippedByRequest,
    /// Not applicable: the contract declares no service.
    NoService,
    /// Built and load-tested inside the bubblewrap sandbox.
    Sandboxed,
    /// Built and load-tested without a sandbox (`--sandbox none`): trusted local development only.
    Unsandboxed,
    /// Not built: a dependency is known to be malicious (`malicious-dependency`), so nothing of it may run.
    RefusedMalicious,
}

/// Options that shaped the scan, recorded so a reader knows what was and was not checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanOptions {
    /// What happened to the load stage.
    pub load: LoadMode,
    /// Maximum advisory database age, in days, before `db-stale`.
    pub max_db_age_days: u32,
}

/// Outcome of one pipeline stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    /// The stage ran to completion (it may have produced findings).
    Ok,
    /// The stage could not complete; its findings say why.
    Failed,
    /// The stage did not run (an earlier stage failed, or it was not requested).
    Skipped,
}

/// One stage of the pipeline, as it ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    /// `intake`, `asset`, `audit`, `load`.
    pub name: String,
    /// How it ended.
    pub status: StageStatus,
    /// Wall-clock time spent, in milliseconds (a timing: it varies between runs).
    pub duration_ms: u64,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The SBOM written beside the report (`sbom.cdx.json`), identified so the report vouches for exactly it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbomSummary {
    /// File name in the report directory.
    pub file: String,
    /// sha256 of the file's bytes.
    pub sha256: String,
    /// CycloneDX spec version.
    pub spec_version: String,
    /// The BOM's serial number (derived from the subject, the advisory database and the tool version).
    pub serial_number: String,
    /// Components listed (every lockfile package but the asset itself).
    pub components: usize,
    /// Vulnerabilities listed.
    pub vulnerabilities: usize,
    /// Components whose licence could not be learnt.
    pub unknown_licenses: usize,
}

/// Whether the report was signed (`report.dsse.json`), and by which key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum SignatureStatus {
    /// No signing key was given: there is no `report.dsse.json` and nothing to gate approval on.
    #[default]
    Unsigned,
    /// Signed into `report.dsse.json`.
    Signed {
        /// Id of the signing key (sha256 of the raw public key).
        key_id: String,
        /// The VSA's `verifier.id`.
        verifier_id: String,
    },
}

/// The rule set a report was judged by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesIdentity {
    /// Where it came from (`urn:assay:rules:builtin` for the built-in one).
    pub uri: String,
    /// sha256 over its canonical form; the VSA's policy digest.
    pub sha256: String,
}

/// The full acceptance report (`report.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceptanceReport {
    /// [`REPORT_SCHEMA`].
    pub schema: String,
    /// Unique id of this report.
    pub report_id: String,
    /// Who wrote it.
    pub tool: Tool,
    /// What was scanned.
    pub subject: Subject,
    /// The asset, when its manifest could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<AssetSummary>,
    /// How the scan was configured.
    pub options: ScanOptions,
    /// The rule set that judged it.
    pub rules: RulesIdentity,
    /// The advisory database used by the audit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory_db: Option<DatabaseIdentity>,
    /// Each stage in pipeline order.
    pub stages: Vec<StageRecord>,
    /// The dependency audit, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditResult>,
    /// The SBOM, when one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom: Option<SbomSummary>,
    /// What the load stage measured, when it ran the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<crate::load::LoadReport>,
    /// The release this one was judged against and what changed since, and the listed names its own
    /// matches or resembles; absent when the scan had no report store and no baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<crate::lineage::Lineage>,
    /// Every finding, sorted (see [`Finding::sort`]).
    pub findings: Vec<Finding>,
    /// The decision.
    pub verdict: Verdict,
    /// Whether (and by which key) the report is signed.
    #[serde(default)]
    pub signature: SignatureStatus,
    /// When the scan started (RFC 3339, UTC).
    pub started_at: String,
    /// When the scan finished (RFC 3339, UTC).
    pub finished_at: String,
    /// Set when this report judges a stored scan again (a newer advisory database or rule set) rather than
    /// a scan of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejudged: Option<Rejudgement>,
}

/// What a re-judgement judged again: the report's stages, SBOM and load results are those of the original
/// scan; its audit, findings and verdict are new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejudgement {
    /// The verdict revision this report is (the first verdict is revision 0).
    pub revision: u32,
    /// The report of the scan whose evidence was judged again.
    pub scan_report_id: String,
    /// When that scan finished: the stages, the SBOM and the load results are from then.
    pub scanned_at: String,
    /// Why the verdict changed (the advisories, or the rule-set digest), sorted.
    pub reasons: Vec<String>,
}

impl AcceptanceReport {
    /// Number of unwaived findings at a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity && f.waived.is_none()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    #[test]
    fn verdict_follows_the_most_severe_finding() {
        let warn = Finding::new(&codes::DB_STALE, "old db");
        let deny = Finding::new(&codes::VULNERABILITY, "vuln");
        let mut review = Finding::new(&codes::DB_STALE, "look");
        review.severity = Severity::Review;

        assert_eq!(Verdict::from_findings(&[]), Verdict::Accepted);
        assert_eq!(Verdict::from_findings(std::slice::from_ref(&warn)), Verdict::Accepted);
        assert_eq!(Verdict::from_findings(&[warn.clone(), review.clone()]), Verdict::NeedsReview);
        assert_eq!(Verdict::from_findings(&[review, deny, warn]), Verdict::Rejected);
    }

    #[test]
    fn the_gravest_verdict_is_the_greatest() {
        assert!(Verdict::Accepted < Verdict::NeedsReview && Verdict::NeedsReview < Verdict::Rejected);
        let verdicts = [Verdict::NeedsReview, Verdict::Rejected, Verdict::Accepted];
        assert_eq!(verdicts.into_iter().max(), Some(Verdict::Rejected));
    }
}
