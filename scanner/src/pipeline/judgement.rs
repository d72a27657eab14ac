//! The verdict from what the stages found (the evidence), the audit and the rule set: the step a scan ends
//! with, and the one a re-judgement repeats against a newer advisory database or rule set.

use assay_report::audit::AuditResult;
use assay_report::facts::Facts;
use assay_report::{Finding, Verdict};
use assay_rules::{JudgedAsset, RuleSet};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::stages::audit;

/// Schema id of `evidence.json`.
pub const EVIDENCE_SCHEMA: &str = "https://assay.dev/schemas/evidence/v1";

/// What the stages found that neither the advisory database nor the rule set decides (`evidence.json`):
/// the findings of intake, the asset, the source, the SBOM and the load test, before any rule set gave them
/// a level. Kept with every stored report, so a verdict can be judged again without the archive.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// [`EVIDENCE_SCHEMA`].
    pub schema: String,
    /// Whether the submission was scanned (`false`: refused before any stage ran; the database's age does
    /// not apply).
    pub scanned: bool,
    /// The stages' findings at their catalogue levels.
    pub findings: Vec<Finding>,
}

impl Evidence {
    /// The evidence of a scan (`scanned`) or of a refusal.
    pub fn new(scanned: bool, findings: Vec<Finding>) -> Self {
        Self { schema: EVIDENCE_SCHEMA.to_owned(), scanned, findings }
    }
}

/// The findings a report lists and the verdict they give.
#[derive(Debug)]
pub struct Judgement {
    /// Every finding, levelled, waived and sorted.
    pub findings: Vec<Finding>,
    /// The verdict.
    pub verdict: Verdict,
}

/// Judges `evidence` together with the audit's findings, the database's `staleness` (a `db-stale` finding,
/// if it is stale) and the rule set's checks of `facts`, on the day of `at` (waivers expire).
pub fn judge(
    evidence: &Evidence,
    audit: Option<&AuditResult>,
    staleness: Option<Finding>,
    facts: Option<&Facts>,
    rules: &RuleSet,
    at: Timestamp,
) -> Judgement {
    let mut findings = evidence.findings.clone();
    if let Some(audit) = audit {
        findings.extend(audit::findings(audit));
    }
    findings.extend(staleness);
    if let Some(facts) = facts {
        findings.extend(rules.evaluate(facts));
    }
    let judged = facts.map(|facts| JudgedAsset {
        name: facts.asset.name.clone(),
        version: facts.asset.version.clone(),
        sha256: facts.asset.sha256.clone(),
        today: at.to_zoned(jiff::tz::TimeZone::UTC).date(),
    });
    let verdict = rules.judge(&mut findings, judged.as_ref());
    Judgement { findings, verdict }
}
