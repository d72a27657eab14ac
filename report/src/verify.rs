//! Verifying signed reports: the checks a marketplace backend runs before it approves a listing.
//!
//! Every check reads the exact signed payload bytes; a failed check names itself. "Verified, but FAILED"
//! ([`Verified::passed`] false) is kept apart from "cannot be trusted" ([`Untrusted`]).

use jiff::Timestamp;

use crate::digest::sha256_hex;
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::intoto::{
    DETAILED_REPORT_URI, REPORT_PREDICATE_TYPE, STATEMENT_TYPE, Statement, VSA_PREDICATE_TYPE, VerificationSummary,
};
use crate::trust::{KeyStatus, TrustStore, TrustedKey};

/// What the caller expects the VSA to be about; each `Some` is checked.
#[derive(Clone, Debug, Default)]
pub struct Expectations {
    /// sha256 of the asset file the backend stores. Required unless `any_subject` says otherwise: a PASSED
    /// report of *some* asset proves nothing about this one.
    pub asset_sha256: Option<String>,
    /// Accept whatever the subject is (the caller says so explicitly, and the result says it was not checked).
    pub any_subject: bool,
    /// The listing URI.
    pub listing: Option<String>,
    /// The rule-set digest.
    pub policy_sha256: Option<String>,
}

/// A VSA whose signature and claims were checked.
#[derive(Clone, Debug)]
pub struct Verified {
    /// Whether its result is PASSED.
    pub passed: bool,
    /// Id of the key that signed it.
    pub key_id: String,
    /// The verified summary.
    pub summary: VerificationSummary,
    /// The subject's sha256.
    pub subject_sha256: String,
}

/// Why a report cannot be trusted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Untrusted {
    /// The input is not a list of DSSE envelopes.
    #[error("not DSSE envelopes: {0}")]
    Malformed(String),
    /// No envelope claims to be a VSA.
    #[error("no SLSA verification summary (predicateType {VSA_PREDICATE_TYPE}) among {0} envelope(s)")]
    NoSummary(usize),
    /// A signature by a trusted key id that does not verify.
    #[error("the signature by key {0} does not verify: the payload or the signature was altered")]
    BadSignature(String),
    /// Signed, but by no key of the trust store.
    #[error("signed by a key that is not in the trust store (key ids: {0})")]
    UnknownKey(String),
    /// Signed by a revoked key.
    #[error("signed by key {0}, which is revoked")]
    Revoked(String),
    /// Signed by a key outside its validity window.
    #[error("signed by key {key}, which was not valid at timeVerified {time}: {why}")]
    KeyNotValid {
        /// The key.
        key: String,
        /// timeVerified.
        time: String,
        /// before not-before, or after not-after.
        why: String,
    },
    /// timeVerified is not a time.
    #[error("timeVerified `{0}` is not an RFC 3339 time")]
    BadTime(String),
    /// The key speaks for another verifier.
    #[error("verifier.id is `{actual}`, but key {key} is trusted only for `{expected}`")]
    WrongVerifier {
        /// The key.
        key: String,
        /// What the trust store allows.
        expected: String,
        /// What the VSA says.
        actual: String,
    },
    /// Not a VSA.
    #[error("the statement's predicateType is `{0}`, not {VSA_PREDICATE_TYPE}")]
    WrongPredicate(String),
    /// Not an in-toto Statement v1.
    #[error("the statement's _type is `{0}`, not {STATEMENT_TYPE}")]
    WrongStatementType(String),
    /// Nothing to check the subject against.
    #[error(
        "no subject to check: pass the asset's digest (--asset FILE or --subject-sha256 HEX), or accept any \
         subject explicitly (--any-subject)"
    )]
    NoSubjectExpected,
    /// The detailed report is not the one the VSA vouches for.
    #[error("the detailed report envelope {0}")]
    DetailedReportMismatch(String),
    /// The subject is another file.
    #[error("the subject digest is sha256:{actual}, but the asset is sha256:{expected}")]
    SubjectMismatch {
        /// The asset's digest.
        expected: String,
        /// The VSA's.
        actual: String,
    },
    /// The listing differs.
    #[error("resourceUri is `{actual}`, not the listing `{expected}`")]
    ListingMismatch {
        /// The expected listing.
        expected: String,
        /// The VSA's.
        actual: String,
    },
    /// The policy differs.
    #[error("the policy digest is sha256:{actual}, not sha256:{expected}")]
    PolicyMismatch {
        /// The expected digest.
        expected: String,
        /// The VSA's.
        actual: String,
    },
}

/// Parses `report.dsse.json`: a JSON array of envelopes (a single envelope object is accepted too).
pub fn parse_envelopes(bytes: &[u8]) -> Result<Vec<Envelope>, Untrusted> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| Untrusted::Malformed(err.to_string()))?;
    let list = if value.is_array() { value } else { serde_json::Value::Array(vec![value]) };
    serde_json::from_value(list).map_err(|err| Untrusted::Malformed(err.to_string()))
}

/// Verifies the VSA among `envelopes` against `trust` and `expect`.
pub fn verify(envelopes: &[Envelope], trust: &TrustStore, expect: &Expectations) -> Result<Verified, Untrusted> {
    // Select by claimed type; nothing from an envelope is acted on until its signature is checked below.
    let mut claimed = None;
    let mut other_predicate = None;
    for envelope in envelopes.iter().filter(|e| e.payload_type == IN_TOTO_PAYLOAD_TYPE) {
        let Ok(payload) = envelope.payload_bytes() else { continue };
        let Ok(statement) = serde_json::from_slice::<Statement<serde_json::Value>>(&payload) else { continue };
        if statement.predicate_type == VSA_PREDICATE_TYPE {
            claimed = Some((envelope, payload));
            break;
        }
        other_predicate.get_or_insert(statement.predicate_type);
    }
    let Some((envelope, payload)) = claimed else {
        return Err(match other_predicate {
            Some(predicate) => Untrusted::WrongPredicate(predicate),
            None => Untrusted::NoSummary(envelopes.len()),
        });
    };
    if expect.asset_sha256.is_none() && !expect.any_subject {
        return Err(Untrusted::NoSubjectExpected);
    }

    let signer = signing_key(envelope, trust)?;
    // Revoked wins, whichever entry of the store matched first.
    if trust.keys.iter().any(|key| key.key == signer.key && key.status == KeyStatus::Revoked) {
        return Err(Untrusted::Revoked(signer.id.clone()));
    }
    let statement: Statement<VerificationSummary> =
        serde_json::from_slice(&payload).map_err(|err| Untrusted::Malformed(format!("the VSA payload: {err}")))?;
    if statement.statement_type != STATEMENT_TYPE {
        return Err(Untrusted::WrongStatementType(statement.statement_type));
    }
    let summary = statement.predicate;
    check_detailed_report(envelopes, &summary, signer)?;
    let time: Timestamp =
        summary.time_verified.parse().map_err(|_| Untrusted::BadTime(summary.time_verified.clone()))?;
    let window =
        |why: String| Untrusted::KeyNotValid { key: signer.id.clone(), time: summary.time_verified.clone(), why };
    if let Some(not_before) = signer.not_before
        && time < not_before
    {
        return Err(window(format!("it is valid from {not_before}")));
    }
    if let Some(not_after) = signer.not_after
        && time > not_after
    {
        return Err(window(format!("it expired at {not_after}")));
    }
    if let Some(expected) = &signer.verifier_id
        && *expected != summary.verifier.id
    {
        return Err(Untrusted::WrongVerifier {
            key: signer.id.clone(),
            expected: expected.clone(),
            actual: summary.verifier.id.clone(),
        });
    }
    let subject_sha256 = statement
        .subject
        .first()
        .and_then(|s| s.digest.get("sha256"))
        .cloned()
        .ok_or_else(|| Untrusted::Malformed("the VSA has no subject with a sha256 digest".to_owned()))?;
    if let Some(expected) = &expect.asset_sha256
        && !statement.subject.iter().any(|s| s.digest.get("sha256") == Some(expected))
    {
        return Err(Untrusted::SubjectMismatch { expected: expected.clone(), actual: subject_sha256 });
    }
    if let Some(expected) = &expect.listing
        && *expected != summary.resource_uri
    {
        return Err(Untrusted::ListingMismatch { expected: expected.clone(), actual: summary.resource_uri.clone() });
    }
    if let Some(expected) = &expect.policy_sha256 {
        let actual = summary.policy.digest.get("sha256").cloned().unwrap_or_default();
        if *expected != actual {
            return Err(Untrusted::PolicyMismatch { expected: expected.clone(), actual });
        }
    }
    Ok(Verified { passed: summary.verification_result == "PASSED", key_id: signer.id.clone(), summary, subject_sha256 })
}

/// The detailed report the VSA's `inputAttestations` names (`report.dsse.json#1`) must be among the envelopes,
/// signed by the same key, an in-toto statement of the report predicate, with exactly the digested payload:
/// otherwise a genuine VSA could travel with a forged report that says something else.
fn check_detailed_report(
    envelopes: &[Envelope],
    summary: &VerificationSummary,
    signer: &TrustedKey,
) -> Result<(), Untrusted> {
    let Some(expected) = summary
        .input_attestations
        .iter()
        .find(|input| input.uri.as_deref() == Some(DETAILED_REPORT_URI))
        .and_then(|input| input.digest.get("sha256"))
    else {
        return Err(Untrusted::DetailedReportMismatch(format!(
            "is not named by the VSA's inputAttestations ({DETAILED_REPORT_URI})"
        )));
    };
    let detailed = envelopes.iter().filter(|e| e.payload_type == IN_TOTO_PAYLOAD_TYPE).find_map(|envelope| {
        let payload = envelope.payload_bytes().ok()?;
        let statement = serde_json::from_slice::<Statement<serde_json::Value>>(&payload).ok()?;
        (statement.predicate_type == REPORT_PREDICATE_TYPE).then_some((envelope, payload, statement))
    });
    let Some((envelope, payload, statement)) = detailed else {
        return Err(Untrusted::DetailedReportMismatch("is missing".to_owned()));
    };
    let actual = sha256_hex(&payload);
    if actual != *expected {
        return Err(Untrusted::DetailedReportMismatch(format!(
            "has sha256 {actual}, but the VSA vouches for {expected}"
        )));
    }
    if statement.statement_type != STATEMENT_TYPE {
        return Err(Untrusted::WrongStatementType(statement.statement_type));
    }
    if !envelope.is_signed_by(&signer.key) {
        return Err(Untrusted::DetailedReportMismatch(format!("is not signed by key {}", signer.id)));
    }
    Ok(())
}

/// The trusted key whose signature verifies. Key ids in the envelope only order the search (DSSE says
/// they are hints); every trusted key is tried.
fn signing_key<'t>(envelope: &Envelope, trust: &'t TrustStore) -> Result<&'t TrustedKey, Untrusted> {
    let hinted: Vec<&str> = envelope.signatures.iter().map(|s| s.keyid.as_str()).collect();
    let mut candidates: Vec<&TrustedKey> = trust.keys.iter().collect();
    candidates.sort_by_key(|key| !hinted.contains(&key.id.as_str()));
    if let Some(key) = candidates.into_iter().find(|key| envelope.is_signed_by(&key.key)) {
        return Ok(key);
    }
    match trust.keys.iter().find(|key| hinted.contains(&key.id.as_str())) {
        Some(key) => Err(Untrusted::BadSignature(key.id.clone())),
        None => Err(Untrusted::UnknownKey(hinted.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::intoto::{AttestationSettings, attest};
    use crate::keys::{key_id, public_key_pem};
    use crate::{
        AcceptanceReport, LoadMode, REPORT_SCHEMA, RulesIdentity, ScanOptions, SignatureStatus, Subject, SubjectKind,
        Tool, Verdict,
    };

    const LISTING: &str = "https://marketplace.example/listings/demo";

    fn report(verdict: Verdict) -> AcceptanceReport {
        AcceptanceReport {
            schema: REPORT_SCHEMA.to_owned(),
            report_id: "id".to_owned(),
            tool: Tool { name: "assay".to_owned(), version: "0".to_owned() },
            subject: Subject {
                name: "demo-0.1.0.crate".to_owned(),
                kind: SubjectKind::Crate,
                sha256: "ab".repeat(32),
                size: 1,
            },
            asset: None,
            options: ScanOptions { load: LoadMode::SkippedByRequest, max_db_age_days: 90 },
            rules: RulesIdentity { uri: "urn:assay:rules:builtin".to_owned(), sha256: "cd".repeat(32) },
            advisory_db: None,
            stages: Vec::new(),
            audit: None,
            sbom: None,
            load: None,
            lineage: None,
            findings: Vec::new(),
            verdict,
            signature: SignatureStatus::Unsigned,
            started_at: "2026-06-01T00:00:00Z".to_owned(),
            finished_at: "2026-06-01T00:00:01Z".to_owned(),
            rejudged: None,
        }
    }

    fn signed(verdict: Verdict, key: &SigningKey) -> Vec<Envelope> {
        let settings = AttestationSettings {
            verifier_id: "urn:assay:verifier".to_owned(),
            resource_uri: LISTING.to_owned(),
            policy_uri: "urn:assay:rules:builtin".to_owned(),
            policy_sha256: "cd".repeat(32),
            sbom_sha256: Some("ef".repeat(32)),
        };
        attest(&report(verdict), &settings, key)
    }

    fn store(key: &SigningKey, extra: &str) -> TrustStore {
        let text = format!(
            "[[key]]\nid = \"{}\"\npublic-key = \"\"\"\n{}\"\"\"\nverifier-id = \"urn:assay:verifier\"\nnot-before = \"2026-01-01T00:00:00Z\"\n{extra}\n",
            key_id(&key.verifying_key()),
            public_key_pem(&key.verifying_key())
        );
        TrustStore::parse(&text, Path::new("trust.toml")).unwrap()
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn expect_all() -> Expectations {
        Expectations {
            asset_sha256: Some("ab".repeat(32)),
            any_subject: false,
            listing: Some(LISTING.to_owned()),
            policy_sha256: Some("cd".repeat(32)),
        }
    }

    #[test]
    fn an_accepted_report_verifies_as_passed() {
        let key = key(1);
        let verified =
            verify(&signed(Verdict::Accepted, &key), &store(&key, "status = \"active\""), &expect_all()).unwrap();
        assert!(verified.passed);
        assert_eq!(verified.summary.verified_levels, ["ASSAY_ACCEPTED_V1"]);
        assert_eq!(verified.summary.input_attestations.len(), 2);
    }

    #[test]
    fn a_rejected_report_verifies_but_failed() {
        let key = key(1);
        let verified =
            verify(&signed(Verdict::Rejected, &key), &store(&key, "status = \"active\""), &expect_all()).unwrap();
        assert!(!verified.passed);
        assert_eq!(verified.summary.verification_result, "FAILED");
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let key = key(1);
        let mut envelopes = signed(Verdict::Rejected, &key);
        let payload = String::from_utf8(envelopes[0].payload_bytes().unwrap()).unwrap();
        envelopes[0].payload = STANDARD.encode(payload.replace("FAILED", "PASSED"));
        let err = verify(&envelopes, &store(&key, "status = \"active\""), &expect_all()).unwrap_err();
        assert!(matches!(err, Untrusted::BadSignature(_)), "{err}");
    }

    #[test]
    fn a_swapped_subject_digest_is_refused() {
        let key = key(1);
        let mut expect = expect_all();
        expect.asset_sha256 = Some("00".repeat(32));
        let err = verify(&signed(Verdict::Accepted, &key), &store(&key, "status = \"active\""), &expect).unwrap_err();
        assert!(matches!(err, Untrusted::SubjectMismatch { .. }), "{err}");
    }

    #[test]
    fn a_signature_by_an_untrusted_key_is_refused() {
        let err = verify(&signed(Verdict::Accepted, &key(2)), &store(&key(1), "status = \"active\""), &expect_all())
            .unwrap_err();
        assert!(matches!(err, Untrusted::UnknownKey(_)), "{err}");
    }

    #[test]
    fn a_revoked_key_is_refused_whatever_the_time() {
        let key = key(1);
        let err =
            verify(&signed(Verdict::Accepted, &key), &store(&key, "status = \"revoked\""), &expect_all()).unwrap_err();
        assert!(matches!(err, Untrusted::Revoked(_)), "{err}");
    }

    #[test]
    fn an_expired_key_is_refused_and_a_retired_one_within_its_window_is_not() {
        let key = key(1);
        let expired = store(&key, "not-after = \"2026-05-01T00:00:00Z\"\nstatus = \"active\"");
        let err = verify(&signed(Verdict::Accepted, &key), &expired, &expect_all()).unwrap_err();
        assert!(matches!(err, Untrusted::KeyNotValid { .. }), "{err}");
        let retired = store(&key, "not-after = \"2026-12-01T00:00:00Z\"\nstatus = \"retired\"");
        assert!(verify(&signed(Verdict::Accepted, &key), &retired, &expect_all()).unwrap().passed);
    }

    #[test]
    fn rotation_with_overlapping_keys_accepts_both() {
        let (old, new) = (key(1), key(2));
        let mut trust = store(&old, "not-after = \"2027-01-01T00:00:00Z\"\nstatus = \"retired\"");
        trust.keys.extend(store(&new, "status = \"active\"").keys);
        assert!(verify(&signed(Verdict::Accepted, &old), &trust, &expect_all()).unwrap().passed);
        assert!(verify(&signed(Verdict::Accepted, &new), &trust, &expect_all()).unwrap().passed);
    }

    #[test]
    fn a_wrong_listing_is_refused() {
        let key = key(1);
        let mut expect = expect_all();
        expect.listing = Some("https://marketplace.example/listings/other".to_owned());
        let err = verify(&signed(Verdict::Accepted, &key), &store(&key, "status = \"active\""), &expect).unwrap_err();
        assert!(matches!(err, Untrusted::ListingMismatch { .. }), "{err}");
    }

    #[test]
    fn a_wrong_policy_digest_is_refused() {
        let key = key(1);
        let mut expect = expect_all();
        expect.policy_sha256 = Some("11".repeat(32));
        let err = verify(&signed(Verdict::Accepted, &key), &store(&key, "status = \"active\""), &expect).unwrap_err();
        assert!(matches!(err, Untrusted::PolicyMismatch { .. }), "{err}");
    }

    #[test]
    fn a_key_trusted_for_another_verifier_is_refused() {
        let key = key(1);
        let mut trust = store(&key, "status = \"active\"");
        trust.keys[0].verifier_id = Some("urn:other:verifier".to_owned());
        let err = verify(&signed(Verdict::Accepted, &key), &trust, &expect_all()).unwrap_err();
        assert!(matches!(err, Untrusted::WrongVerifier { .. }), "{err}");
    }

    #[test]
    fn the_detailed_report_alone_is_not_a_verification_summary() {
        let key = key(1);
        let envelopes = signed(Verdict::Accepted, &key);
        let err = verify(&envelopes[1..], &store(&key, "status = \"active\""), &expect_all()).unwrap_err();
        assert!(matches!(err, Untrusted::WrongPredicate(_)), "{err}");
        let input =
            &verify(&envelopes, &store(&key, "status = \"active\""), &expect_all()).unwrap().summary.input_attestations
                [0];
        let digest: String = { crate::digest::sha256_hex(&envelopes[1].payload_bytes().unwrap()) };
        assert_eq!(input.digest, BTreeMap::from([("sha256".to_owned(), digest)]), "the VSA pins the detailed report");
    }

    #[test]
    fn the_key_id_is_only_a_hint() {
        let (signer, trusted) = (key(2), key(1));
        let mut envelopes = signed(Verdict::Accepted, &signer);
        // Claim the trusted key's id: the signature still has to verify under it.
        for envelope in &mut envelopes {
            envelope.signatures[0].keyid = key_id(&trusted.verifying_key());
        }
        let err = verify(&envelopes, &store(&trusted, "status = \"active\""), &expect_all()).unwrap_err();
        assert!(matches!(err, Untrusted::BadSignature(_)), "{err}");
    }

    #[test]
    fn without_a_subject_to_check_nothing_verifies_unless_any_subject_is_explicit() {
        let key = key(1);
        let trust = store(&key, "status = \"active\"");
        let err = verify(&signed(Verdict::Accepted, &key), &trust, &Expectations::default()).unwrap_err();
        assert_eq!(err, Untrusted::NoSubjectExpected);
        let any = Expectations { any_subject: true, ..Expectations::default() };
        assert!(verify(&signed(Verdict::Accepted, &key), &trust, &any).unwrap().passed);
    }

    #[test]
    fn a_forged_detailed_report_beside_a_genuine_vsa_is_refused() {
        let key = key(1);
        let trust = store(&key, "status = \"active\"");
        let genuine = signed(Verdict::Accepted, &key);
        // Same signer, same subject, another report: its signature verifies, its digest is not the VSA's.
        let other = signed(Verdict::Rejected, &key);
        let err = verify(&[genuine[0].clone(), other[1].clone()], &trust, &expect_all()).unwrap_err();
        assert!(matches!(err, Untrusted::DetailedReportMismatch(ref why) if why.contains("vouches for")), "{err}");
        let err = verify(&genuine[..1], &trust, &expect_all()).unwrap_err();
        assert_eq!(err, Untrusted::DetailedReportMismatch("is missing".to_owned()));
    }

    #[test]
    fn a_statement_that_is_not_in_toto_v1_is_refused() {
        let key = key(1);
        let envelopes = signed(Verdict::Accepted, &key);
        let payload = String::from_utf8(envelopes[0].payload_bytes().unwrap()).unwrap();
        let forged = payload.replace(STATEMENT_TYPE, "https://in-toto.io/Statement/v0.1");
        let resigned = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, forged.as_bytes(), &key);
        let err =
            verify(&[resigned, envelopes[1].clone()], &store(&key, "status = \"active\""), &expect_all()).unwrap_err();
        assert!(matches!(err, Untrusted::WrongStatementType(_)), "{err}");
    }

    #[test]
    fn revoked_wins_whichever_entry_matches_first() {
        let key = key(1);
        let mut trust = store(&key, "status = \"active\"");
        let mut revoked = trust.keys[0].clone();
        revoked.status = KeyStatus::Revoked;
        trust.keys.push(revoked);
        let err = verify(&signed(Verdict::Accepted, &key), &trust, &expect_all()).unwrap_err();
        assert!(matches!(err, Untrusted::Revoked(_)), "{err}");
    }

    #[test]
    fn signing_the_same_report_twice_gives_identical_envelopes() {
        let key = key(3);
        assert_eq!(signed(Verdict::Accepted, &key), signed(Verdict::Accepted, &key));
    }
}
