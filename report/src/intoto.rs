//! in-toto Statements v1 for a report: the SLSA Verification Summary Attestation that gates approval,
//! and the detailed acceptance report under a predicate type of our own. Both are signed as DSSE envelopes.

use std::collections::BTreeMap;

use crate::digest::sha256_hex;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::{AcceptanceReport, Verdict};

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// predicateType of a SLSA Verification Summary Attestation v1.
pub const VSA_PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// predicateType of the detailed acceptance report (versioned with [`crate::REPORT_SCHEMA`]).
pub const REPORT_PREDICATE_TYPE: &str = "urn:assay:predicate:acceptance-report:v1";
/// The verified level a VSA claims for an accepted asset.
pub const ACCEPTED_LEVEL: &str = "ASSAY_ACCEPTED_V1";
/// The verifier id used unless configured.
pub const DEFAULT_VERIFIER_ID: &str = "urn:assay:verifier";

/// An in-toto Statement v1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statement<P> {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// What the statement is about.
    pub subject: Vec<ResourceDescriptor>,
    /// What kind of claim `predicate` is.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The claim.
    pub predicate: P,
}

/// An in-toto ResourceDescriptor (the fields used here).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    /// Name, e.g. the archive file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// URI, e.g. of an input attestation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests by algorithm (`sha256` → lowercase hex).
    pub digest: BTreeMap<String, String>,
}

/// The SLSA VSA v1 predicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationSummary {
    /// Who verified.
    pub verifier: Verifier,
    /// When (RFC 3339).
    pub time_verified: String,
    /// The resource that was verified: the listing URI, else the archive URI.
    pub resource_uri: String,
    /// The policy it was verified against.
    pub policy: ResourceDescriptor,
    /// What the verification relied on: the detailed report statement and the SBOM.
    pub input_attestations: Vec<ResourceDescriptor>,
    /// `PASSED` or `FAILED`.
    pub verification_result: String,
    /// Levels verified (empty when FAILED).
    pub verified_levels: Vec<String>,
}

/// The VSA's verifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verifier {
    /// Verifier URI.
    pub id: String,
}

/// What the signed statements say besides the report itself.
#[derive(Clone, Debug)]
pub struct AttestationSettings {
    /// `verifier.id`.
    pub verifier_id: String,
    /// `resourceUri`.
    pub resource_uri: String,
    /// `policy.uri`.
    pub policy_uri: String,
    /// `policy.digest.sha256`: the rule-set digest.
    pub policy_sha256: String,
    /// sha256 of `sbom.cdx.json`, when written.
    pub sbom_sha256: Option<String>,
}

/// Where a VSA's `inputAttestations` point at the detailed report: the second envelope of `report.dsse.json`.
pub const DETAILED_REPORT_URI: &str = "report.dsse.json#1";

/// Signs the report: returns `[VSA envelope, detailed report envelope]`, the content of `report.dsse.json`.
pub fn attest(report: &AcceptanceReport, settings: &AttestationSettings, key: &SigningKey) -> Vec<Envelope> {
    let mut subject = vec![ResourceDescriptor {
        name: Some(report.subject.name.clone()),
        uri: None,
        digest: BTreeMap::from([("sha256".to_owned(), report.subject.sha256.clone())]),
    }];
    // The binary that ran under load is attested too: a marketplace can deploy exactly what was measured.
    if let Some(binary) = report.load.as_ref().and_then(|load| load.binary.as_ref()) {
        subject.push(ResourceDescriptor {
            name: Some(binary.name.clone()),
            uri: None,
            digest: BTreeMap::from([("sha256".to_owned(), binary.sha256.clone())]),
        });
    }
    let detailed = Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: subject.clone(),
        predicate_type: REPORT_PREDICATE_TYPE.to_owned(),
        predicate: report,
    };
    // Serialising plain data to JSON cannot fail; an empty payload would fail verification visibly.
    let detailed_payload = serde_json::to_vec(&detailed).unwrap_or_default();

    let mut inputs = vec![ResourceDescriptor {
        name: None,
        uri: Some(DETAILED_REPORT_URI.to_owned()),
        digest: BTreeMap::from([("sha256".to_owned(), sha256_hex(&detailed_payload))]),
    }];
    if let Some(sbom) = &settings.sbom_sha256 {
        inputs.push(ResourceDescriptor {
            name: None,
            uri: Some("sbom.cdx.json".to_owned()),
            digest: BTreeMap::from([("sha256".to_owned(), sbom.clone())]),
        });
    }
    let passed = report.verdict == Verdict::Accepted;
    let summary = Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject,
        predicate_type: VSA_PREDICATE_TYPE.to_owned(),
        predicate: VerificationSummary {
            verifier: Verifier { id: settings.verifier_id.clone() },
            time_verified: report.finished_at.clone(),
            resource_uri: settings.resource_uri.clone(),
            policy: ResourceDescriptor {
                name: None,
                uri: Some(settings.policy_uri.clone()),
                digest: BTreeMap::from([("sha256".to_owned(), settings.policy_sha256.clone())]),
            },
            input_attestations: inputs,
            verification_result: if passed { "PASSED" } else { "FAILED" }.to_owned(),
            verified_levels: if passed { vec![ACCEPTED_LEVEL.to_owned()] } else { Vec::new() },
        },
    };
    let summary_payload = serde_json::to_vec(&summary).unwrap_or_default();
    vec![
        Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &summary_payload, key),
        Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &detailed_payload, key),
    ]
}
