//! The acceptance report from what a scan (or a refusal) concluded: the tool, the rule set and database it
//! was judged by, a unique id, the signature status; then the signed statements over it.

use assay_report::audit::AuditResult;
use assay_report::dsse::Envelope;
use assay_report::intoto::{self, AttestationSettings};
use assay_report::keys::key_id;
use assay_report::lineage::Lineage;
use assay_report::load::LoadReport;
use assay_report::{
    AcceptanceReport, AssetSummary, Finding, LoadMode, REPORT_SCHEMA, SbomSummary, ScanOptions, SignatureStatus,
    StageRecord, Subject, Tool, Verdict,
};
use assay_rules::RuleSet;
use jiff::Timestamp;

use super::{ScanConfig, Signer};
use crate::stages::audit::AdvisoryDatabase;

/// What was concluded about one submission.
pub(super) struct Concluded {
    pub subject: Subject,
    pub asset: Option<AssetSummary>,
    pub load_mode: LoadMode,
    pub stages: Vec<StageRecord>,
    pub audit: Option<AuditResult>,
    pub sbom: Option<SbomSummary>,
    pub load: Option<LoadReport>,
    pub lineage: Option<Lineage>,
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
    pub started_at: Timestamp,
}

/// The report and, with a signer configured, its signed statements (`[VSA, detailed report]`) about
/// `resource_uri`.
pub(super) fn assemble(
    concluded: Concluded,
    rules: &RuleSet,
    db: &AdvisoryDatabase,
    config: &ScanConfig,
    resource_uri: String,
) -> (AcceptanceReport, Option<Vec<Envelope>>) {
    let finished_at = Timestamp::now();
    let report = AcceptanceReport {
        schema: REPORT_SCHEMA.to_owned(),
        report_id: report_id(&concluded.subject.sha256, concluded.started_at),
        tool: Tool { name: "assay".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() },
        subject: concluded.subject,
        asset: concluded.asset,
        options: ScanOptions { load: concluded.load_mode, max_db_age_days: config.max_db_age_days },
        rules: rules.identity(),
        advisory_db: Some(db.identity.clone()),
        stages: concluded.stages,
        audit: concluded.audit,
        sbom: concluded.sbom,
        load: concluded.load,
        lineage: concluded.lineage,
        findings: concluded.findings,
        verdict: concluded.verdict,
        signature: signature_status(config.signer.as_ref()),
        started_at: format!("{:.3}", concluded.started_at),
        finished_at: format!("{finished_at:.3}"),
        rejudged: None,
    };
    let envelopes = config.signer.as_ref().map(|signer| {
        let settings = AttestationSettings {
            verifier_id: signer.verifier_id.clone(),
            resource_uri,
            policy_uri: report.rules.uri.clone(),
            policy_sha256: report.rules.sha256.clone(),
            sbom_sha256: report.sbom.as_ref().map(|s| s.sha256.clone()),
        };
        intoto::attest(&report, &settings, &signer.key)
    });
    (report, envelopes)
}

/// Whether (and by which key) a report signed by `signer` is signed.
pub fn signature_status(signer: Option<&Signer>) -> SignatureStatus {
    match signer {
        Some(signer) => SignatureStatus::Signed {
            key_id: key_id(&signer.key.verifying_key()),
            verifier_id: signer.verifier_id.clone(),
        },
        None => SignatureStatus::Unsigned,
    }
}

/// A unique id: the subject digest, the start time and the process, hashed. Unique per scan, meaningless
/// otherwise.
pub fn report_id(subject_sha256: &str, started_at: Timestamp) -> String {
    let mut seed = subject_sha256.as_bytes().to_vec();
    seed.extend_from_slice(&started_at.as_nanosecond().to_le_bytes());
    seed.extend_from_slice(&std::process::id().to_le_bytes());
    assay_report::digest::sha256_hex(&seed)[..32].to_owned()
}
