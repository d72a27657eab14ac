//! `assay verify`'s inputs: the envelope file (`report.dsse.json`) a marketplace backend receives, the
//! statements inside it, and the trust store.
//!
//! Input: one mode byte, then the body, by mode modulo 4:
//! - 0: the envelope file, verified against a fixed trust store;
//! - 1: a VSA statement, signed here with the trusted key, so its claims are read past the signature check;
//! - 2: a detailed-report statement, signed here beside a VSA that names its digest;
//! - 3: a trust store, against which a well-formed signed pair is verified.

use std::collections::BTreeMap;
use std::path::Path;

use assay_report::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use assay_report::intoto::{
    DETAILED_REPORT_URI, ResourceDescriptor, STATEMENT_TYPE, Statement, VSA_PREDICATE_TYPE, VerificationSummary,
    Verifier,
};
use assay_report::keys::{key_id, public_key_pem};
use assay_report::trust::TrustStore;
use assay_report::verify::{Expectations, parse_envelopes, verify};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

/// The harness's signing key (fixed, so every run signs the same bytes the same way).
fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// A trust store holding the harness's key, active.
fn trust_store(key: &SigningKey) -> TrustStore {
    let text = format!(
        "[[key]]\nid = \"{}\"\npublic-key = \"\"\"\n{}\"\"\"\nverifier-id = \"urn:assay:verifier\"\nnot-before = \"2026-01-01T00:00:00Z\"\nstatus = \"active\"\n",
        key_id(&key.verifying_key()),
        public_key_pem(&key.verifying_key())
    );
    TrustStore::parse(&text, Path::new("trust.toml")).expect("the harness's trust store parses")
}

/// A VSA over the asset `ab…ab` that relies on a detailed report with the payload `detailed`.
fn vsa_for(detailed: &[u8]) -> Vec<u8> {
    let sha256 = |bytes: &[u8]| Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
    let statement = Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: vec![ResourceDescriptor {
            name: Some("demo-0.1.0.crate".to_owned()),
            uri: None,
            digest: BTreeMap::from([("sha256".to_owned(), "ab".repeat(32))]),
        }],
        predicate_type: VSA_PREDICATE_TYPE.to_owned(),
        predicate: VerificationSummary {
            verifier: Verifier { id: "urn:assay:verifier".to_owned() },
            time_verified: "2026-06-01T00:00:00Z".to_owned(),
            resource_uri: "https://marketplace.example/listings/demo".to_owned(),
            policy: ResourceDescriptor {
                name: None,
                uri: Some("urn:assay:rules:builtin".to_owned()),
                digest: BTreeMap::from([("sha256".to_owned(), "cd".repeat(32))]),
            },
            input_attestations: vec![ResourceDescriptor {
                name: None,
                uri: Some(DETAILED_REPORT_URI.to_owned()),
                digest: BTreeMap::from([("sha256".to_owned(), sha256(detailed))]),
            }],
            verification_result: "PASSED".to_owned(),
            verified_levels: vec!["ASSAY_ACCEPTED_V1".to_owned()],
        },
    };
    serde_json::to_vec(&statement).expect("a statement serialises")
}

/// A detailed-report statement about the same asset, as small as verification accepts.
const DETAILED: &str = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"demo-0.1.0.crate","digest":{"sha256":"abababababababababababababababababababababababababababababababab"}}],"predicateType":"urn:assay:predicate:acceptance-report:v1","predicate":{}}"#;

fn signed(payloads: &[&[u8]], key: &SigningKey) -> Vec<Envelope> {
    payloads.iter().map(|payload| Envelope::sign(IN_TOTO_PAYLOAD_TYPE, payload, key)).collect()
}

pub fn run(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else { return };
    let key = signing_key();
    let expect = Expectations { any_subject: true, ..Expectations::default() };
    match mode % 4 {
        0 => {
            if let Ok(envelopes) = parse_envelopes(body) {
                let _ = verify(&envelopes, &trust_store(&key), &expect);
            }
        }
        1 => {
            let _ = verify(&signed(&[body, DETAILED.as_bytes()], &key), &trust_store(&key), &expect);
        }
        2 => {
            let vsa = vsa_for(body);
            let _ = verify(&signed(&[&vsa, body], &key), &trust_store(&key), &expect);
        }
        _ => {
            let Ok(text) = std::str::from_utf8(body) else { return };
            if let Ok(trust) = TrustStore::parse(text, Path::new("trust.toml")) {
                let vsa = vsa_for(DETAILED.as_bytes());
                let _ = verify(&signed(&[&vsa, DETAILED.as_bytes()], &key), &trust, &expect);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_harness_pair_verifies_so_the_modes_reach_past_the_signature() {
        let key = signing_key();
        let vsa = vsa_for(DETAILED.as_bytes());
        let expect = Expectations { any_subject: true, ..Expectations::default() };
        let verified = verify(&signed(&[&vsa, DETAILED.as_bytes()], &key), &trust_store(&key), &expect);
        assert!(verified.expect("the harness's own pair verifies").passed);
    }
}
