//! One stored submission judged again: re-audit its locked dependencies (from its facts), re-run the rules
//! on its facts and evidence, and, when the verdict changes, the new signed report.

use assay_report::audit::AuditResult;
use assay_report::dsse::Envelope;
use assay_report::facts::{AdvisoryFact, Facts};
use assay_report::intoto::{self, AttestationSettings};
use assay_report::{AcceptanceReport, Rejudgement, Verdict, codes};
use assay_rules::RuleSet;
use jiff::Timestamp;

use super::reasons::{self, Difference};
use crate::pipeline::{self, EVIDENCE_FILE, Evidence, FACTS_FILE, SBOM_FILE, ScanOutput, Signer};
use crate::stages::audit::{self, AdvisoryDatabase, Locked};
use crate::store::StoredReport;

/// What the advisories of a re-judgement come from.
#[derive(Clone, Copy)]
pub enum Basis<'a> {
    /// Audit the stored dependencies again against this database.
    Database(&'a AdvisoryDatabase),
    /// Keep each report's own audit (and the database's age as it was): only the rule set is new.
    AsStored,
}

/// How to judge stored submissions again.
pub struct Rejudger<'a> {
    /// The rule set to judge by.
    pub rules: &'a RuleSet,
    /// Where the advisories come from.
    pub basis: Basis<'a>,
    /// Signs the new reports (a dry run needs none).
    pub signer: Option<&'a Signer>,
}

/// A stored submission could not be judged again; it keeps its verdict.
#[derive(Debug, thiserror::Error)]
pub enum RejudgeError {
    /// Stored before evidence was kept: only a new scan can judge it.
    #[error("its report was stored without {EVIDENCE_FILE}: only a new scan can judge it again")]
    NoEvidence,
    /// A stored file does not parse.
    #[error("its stored {file} does not parse: {reason}")]
    Unreadable {
        /// The file.
        file: &'static str,
        /// Why.
        reason: String,
    },
}

/// The outcome for one submission.
#[derive(Debug)]
pub enum Outcome {
    /// The verdict stays.
    Unchanged,
    /// The verdict changes.
    Changed(Box<Rejudged>),
}

/// A changed verdict: the new report and why.
#[derive(Debug)]
pub struct Rejudged {
    /// The verdict before.
    pub previous_verdict: Verdict,
    /// The new report and its files (signed when the re-judger has a signer).
    pub output: ScanOutput,
    /// Why the verdict changed, sorted.
    pub reasons: Vec<String>,
    /// The findings that make the difference.
    pub difference: Difference,
}

impl Rejudger<'_> {
    /// Judges `stored` again at `at`.
    pub fn judge(&self, stored: &StoredReport, at: Timestamp) -> Result<Outcome, RejudgeError> {
        let evidence: Evidence = parse(stored, EVIDENCE_FILE)?.ok_or(RejudgeError::NoEvidence)?;
        let mut facts: Option<Facts> = parse(stored, FACTS_FILE)?;
        let old = &stored.report;
        let (audit, staleness, db) = match self.basis {
            Basis::Database(db) => {
                let audit = reaudit(db, old.audit.as_ref(), facts.as_ref());
                if let (Some(facts), Some(audit)) = (facts.as_mut(), &audit) {
                    facts.advisories =
                        audit.vulnerabilities.iter().chain(&audit.warnings).map(AdvisoryFact::from).collect();
                }
                let staleness = db.staleness(at, old.options.max_db_age_days).filter(|_| evidence.scanned);
                (audit, staleness, Some(db.identity.clone()))
            }
            Basis::AsStored => (old.audit.clone(), stored_staleness(old), old.advisory_db.clone()),
        };
        let judgement = pipeline::judge(&evidence, audit.as_ref(), staleness, facts.as_ref(), self.rules, at);
        if judgement.verdict == old.verdict {
            return Ok(Outcome::Unchanged);
        }
        let reasons = reasons::why(old, audit.as_ref(), db.as_ref(), &self.rules.identity());
        let difference = Difference::between(&old.findings, &judgement.findings);
        let report = AcceptanceReport {
            report_id: pipeline::report_id(&old.subject.sha256, at),
            rules: self.rules.identity(),
            advisory_db: db,
            audit,
            findings: judgement.findings,
            verdict: judgement.verdict,
            signature: pipeline::signature_status(self.signer),
            started_at: format!("{at:.3}"),
            finished_at: format!("{:.3}", Timestamp::now()),
            rejudged: Some(Rejudgement {
                revision: stored.revision + 1,
                scan_report_id: old.rejudged.as_ref().map_or(&old.report_id, |r| &r.scan_report_id).clone(),
                scanned_at: old.rejudged.as_ref().map_or(&old.finished_at, |r| &r.scanned_at).clone(),
                reasons: reasons.clone(),
            }),
            ..old.clone()
        };
        let envelopes = self.signer.map(|signer| sign(&report, stored, signer));
        let output = ScanOutput { report, sbom: stored.files.get(SBOM_FILE).cloned(), envelopes, facts, evidence };
        Ok(Outcome::Changed(Box::new(Rejudged { previous_verdict: old.verdict, output, reasons, difference })))
    }
}

/// The stored dependencies audited against `db`; `None` when the original scan had no audit (no lockfile).
fn reaudit(db: &AdvisoryDatabase, stored: Option<&AuditResult>, facts: Option<&Facts>) -> Option<AuditResult> {
    let (stored, facts) = (stored?, facts?);
    // The facts list every locked package but the asset itself.
    let mut audit = audit::audit_locked(db, facts.dependencies.iter().filter_map(Locked::from_fact), None);
    audit.packages = stored.packages;
    Some(audit)
}

/// The `db-stale` finding of the original judgement, back at its catalogue level, for the rule set to level.
fn stored_staleness(report: &AcceptanceReport) -> Option<assay_report::Finding> {
    report.findings.iter().find(|finding| finding.code == codes::DB_STALE.id).map(|finding| {
        let mut finding = finding.clone();
        finding.severity = codes::DB_STALE.default_severity;
        finding.waived = None;
        finding
    })
}

/// The signed statements of a re-judged report, about the resource the original VSA named.
fn sign(report: &AcceptanceReport, stored: &StoredReport, signer: &Signer) -> Vec<Envelope> {
    let resource_uri =
        original_resource(stored).unwrap_or_else(|| format!("urn:assay:submission:{}", stored.submission_id));
    let settings = AttestationSettings {
        verifier_id: signer.verifier_id.clone(),
        resource_uri,
        policy_uri: report.rules.uri.clone(),
        policy_sha256: report.rules.sha256.clone(),
        sbom_sha256: report.sbom.as_ref().map(|sbom| sbom.sha256.clone()),
    };
    intoto::attest(report, &settings, &signer.key)
}

/// The `resourceUri` of the stored VSA (the first envelope).
fn original_resource(stored: &StoredReport) -> Option<String> {
    let envelopes: Vec<Envelope> = serde_json::from_slice(stored.envelopes()).ok()?;
    let statement: serde_json::Value = serde_json::from_slice(&envelopes.first()?.payload_bytes().ok()?).ok()?;
    statement["predicate"]["resourceUri"].as_str().map(str::to_owned)
}

/// A stored JSON file of the report, if it has one.
fn parse<T: serde::de::DeserializeOwned>(stored: &StoredReport, file: &'static str) -> Result<Option<T>, RejudgeError> {
    stored
        .files
        .get(file)
        .map(|bytes| {
            serde_json::from_slice(bytes).map_err(|err| RejudgeError::Unreadable { file, reason: err.to_string() })
        })
        .transpose()
}
