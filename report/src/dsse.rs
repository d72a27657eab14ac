//! DSSE v1 envelopes: the pre-authentication encoding (PAE), signing and signature checking.
//!
//! Spec: <https://github.com/secure-systems-lab/dsse/blob/master/protocol.md>. The signature covers
//! `PAE(payloadType, payload)` over the exact payload bytes; verification never re-serialises anything.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::keys::key_id;

/// The payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// A hint of which key signed (see [`crate::keys::key_id`]); never trusted on its own.
    #[serde(default)]
    pub keyid: String,
    /// Base64 (standard) Ed25519 signature over the PAE.
    pub sig: String,
}

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// The payload's media type.
    pub payload_type: String,
    /// Base64 (standard) payload bytes.
    pub payload: String,
    /// Signatures over `PAE(payloadType, payload bytes)`.
    pub signatures: Vec<EnvelopeSignature>,
}

/// An envelope could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The payload is not valid base64.
    #[error("the envelope payload is not valid base64: {0}")]
    Payload(base64::DecodeError),
}

impl Envelope {
    /// Signs `payload` with `key` and wraps it.
    pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Self {
        let signature = key.sign(&pae(payload_type, payload));
        Self {
            payload_type: payload_type.to_owned(),
            payload: STANDARD.encode(payload),
            signatures: vec![EnvelopeSignature {
                keyid: key_id(&key.verifying_key()),
                sig: STANDARD.encode(signature.to_bytes()),
            }],
        }
    }

    /// The exact payload bytes that were signed.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        STANDARD.decode(&self.payload).map_err(EnvelopeError::Payload)
    }

    /// The bytes the signatures cover.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        Ok(pae(&self.payload_type, &self.payload_bytes()?))
    }

    /// Whether any signature verifies under `key` (strict Ed25519 verification).
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        let Ok(message) = self.signed_bytes() else { return false };
        self.signatures.iter().any(|signature| {
            STANDARD
                .decode(&signature.sig)
                .ok()
                .and_then(|bytes| Signature::from_slice(&bytes).ok())
                .is_some_and(|sig| key.verify_strict(&message, &sig).is_ok())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the DSSE protocol document.
    #[test]
    fn pae_matches_the_spec_test_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn a_signature_verifies_only_for_the_signed_bytes_and_key() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"{\"a\":1}", &key);
        assert!(envelope.is_signed_by(&key.verifying_key()));
        assert!(!envelope.is_signed_by(&other.verifying_key()));
        let mut tampered = envelope.clone();
        tampered.payload = STANDARD.encode(b"{\"a\":2}");
        assert!(!tampered.is_signed_by(&key.verifying_key()));
        let mut retyped = envelope;
        retyped.payload_type = "text/plain".to_owned();
        assert!(!retyped.is_signed_by(&key.verifying_key()), "the type is signed too");
    }

    #[test]
    fn signing_is_deterministic() {
        let key = SigningKey::from_bytes(&[9; 32]);
        assert_eq!(Envelope::sign("t", b"x", &key), Envelope::sign("t", b"x", &key));
    }
}
