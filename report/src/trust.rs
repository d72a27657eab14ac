//! Trust stores: which keys may sign reports, for which verifier, when, and whether they are revoked.
//!
//! A trust store is either one SPKI PEM public key (trusted for any verifier, at any time) or a TOML
//! file of `[[key]]` tables; mistakes in it are reported with file, line and key.

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use jiff::Timestamp;
use serde::Deserialize;

use crate::keys::{key_id, parse_public_key};

/// Lifecycle of a trusted key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStatus {
    /// Signs new reports.
    Active,
    /// No longer signs, but its reports stay valid within its validity window (rotation).
    Retired,
    /// Compromised: nothing it signed is trusted, whenever it was signed.
    Revoked,
}

/// A key the verifier trusts.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// sha256 of the raw public key (checked against the key itself when loaded).
    pub id: String,
    /// The public key.
    pub key: VerifyingKey,
    /// The verifier this key speaks for; `None` = any.
    pub verifier_id: Option<String>,
    /// Valid from.
    pub not_before: Option<Timestamp>,
    /// Valid until.
    pub not_after: Option<Timestamp>,
    /// Lifecycle status.
    pub status: KeyStatus,
}

/// The keys a verification may accept.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    /// Trusted keys.
    pub keys: Vec<TrustedKey>,
}

/// A trust store could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// Reading failed.
    #[error("cannot read trust store {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A mistake in the file.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong, naming the key.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default, rename = "key")]
    keys: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct KeyEntry {
    id: toml::Spanned<String>,
    public_key: toml::Spanned<String>,
    verifier_id: Option<String>,
    not_before: Option<toml::Spanned<String>>,
    not_after: Option<toml::Spanned<String>>,
    status: toml::Spanned<KeyStatus>,
}

impl TrustStore {
    /// Trusts one key for any verifier at any time.
    pub fn single(key: VerifyingKey) -> Self {
        Self {
            keys: vec![TrustedKey {
                id: key_id(&key),
                key,
                verifier_id: None,
                not_before: None,
                not_after: None,
                status: KeyStatus::Active,
            }],
        }
    }

    /// Loads a PEM public key or a TOML trust store.
    pub fn load(path: &Path) -> Result<Self, TrustError> {
        let text = fs::read_to_string(path).map_err(|source| TrustError::Io { path: path.to_owned(), source })?;
        if text.trim_start().starts_with("-----BEGIN") {
            return parse_public_key(&text).map(Self::single).map_err(|message| TrustError::Invalid {
                path: path.to_owned(),
                line: 1,
                message,
            });
        }
        Self::parse(&text, path)
    }

    /// Parses a TOML trust store; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, TrustError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let invalid = |offset: usize, message: String| TrustError::Invalid {
            path: path.to_owned(),
            line: line_of(offset),
            message,
        };
        let document: Document = toml::from_str(text)
            .map_err(|err| invalid(err.span().map_or(0, |s| s.start), err.message().trim().to_owned()))?;
        if document.keys.is_empty() {
            return Err(invalid(0, "the trust store has no [[key]] entries".to_owned()));
        }
        let time = |value: &Option<toml::Spanned<String>>, field: &str| -> Result<Option<Timestamp>, TrustError> {
            value
                .as_ref()
                .map(|spanned| {
                    spanned.get_ref().parse::<Timestamp>().map_err(|err| {
                        invalid(spanned.span().start, format!("`{field}` is not an RFC 3339 time: {err}"))
                    })
                })
                .transpose()
        };
        let mut keys: Vec<TrustedKey> = Vec::new();
        let mut seen: Vec<(String, usize)> = Vec::new();
        for entry in document.keys {
            let key = parse_public_key(entry.public_key.get_ref()).map_err(|err| {
                invalid(entry.public_key.span().start, format!("`public-key` is not an Ed25519 SPKI PEM: {err}"))
            })?;
            let actual = key_id(&key);
            if *entry.id.get_ref() != actual {
                return Err(invalid(
                    entry.id.span().start,
                    format!("key id `{}` does not match its public key, whose id is `{actual}`", entry.id.get_ref()),
                ));
            }
            // One key, one status: listed twice (say active, then revoked) its meaning would depend on order.
            if let Some((_, first)) = seen.iter().find(|(id, _)| *id == actual) {
                return Err(invalid(
                    entry.id.span().start,
                    format!("key id `{actual}` is listed twice (first at line {first}); give each key one entry"),
                ));
            }
            seen.push((actual.clone(), line_of(entry.id.span().start)));
            let status = *entry.status.get_ref();
            let not_after = time(&entry.not_after, "not-after")?;
            // A retired key without an end would vouch for backdated reports forever.
            if status == KeyStatus::Retired && not_after.is_none() {
                return Err(invalid(
                    entry.status.span().start,
                    format!("key `{actual}` is retired but has no `not-after`: say until when its reports stay valid"),
                ));
            }
            keys.push(TrustedKey {
                id: actual,
                key,
                verifier_id: entry.verifier_id,
                not_before: time(&entry.not_before, "not-before")?,
                not_after,
                status,
            });
        }
        Ok(Self { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::public_key_pem;
    use ed25519_dalek::SigningKey;

    fn entry(key: &SigningKey) -> String {
        format!(
            "[[key]]\nid = \"{}\"\npublic-key = \"\"\"\n{}\"\"\"\nverifier-id = \"urn:assay:verifier\"\nnot-before = \"2026-01-01T00:00:00Z\"\nstatus = \"active\"\n",
            key_id(&key.verifying_key()),
            public_key_pem(&key.verifying_key())
        )
    }

    #[test]
    fn a_valid_store_loads() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let store = TrustStore::parse(&entry(&key), Path::new("trust.toml")).unwrap();
        assert_eq!(store.keys.len(), 1);
        assert_eq!(store.keys[0].status, KeyStatus::Active);
        assert!(store.keys[0].not_before.is_some());
    }

    #[test]
    fn the_same_key_twice_is_refused_whatever_the_statuses() {
        let key = SigningKey::from_bytes(&[1; 32]);
        for (first, second) in [("active", "revoked"), ("revoked", "active")] {
            let text = format!(
                "{}\n{}",
                entry(&key).replace("status = \"active\"", &format!("status = \"{first}\"")),
                entry(&key).replace("status = \"active\"", &format!("status = \"{second}\""))
            );
            let err = TrustStore::parse(&text, Path::new("trust.toml")).unwrap_err();
            assert!(err.to_string().contains("is listed twice (first at line 2)"), "{err}");
            assert!(err.to_string().starts_with("trust.toml:13:"), "{err}");
        }
    }

    #[test]
    fn a_retired_key_needs_an_end() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let text = entry(&key).replace("status = \"active\"", "status = \"retired\"");
        let err = TrustStore::parse(&text, Path::new("trust.toml")).unwrap_err();
        assert!(err.to_string().starts_with("trust.toml:10:") && err.to_string().contains("no `not-after`"), "{err}");
        let ended = text.replace("status = \"retired\"", "status = \"retired\"\nnot-after = \"2027-01-01T00:00:00Z\"");
        assert!(TrustStore::parse(&ended, Path::new("trust.toml")).is_ok());
    }

    #[test]
    fn a_wrong_key_id_is_reported_at_its_line() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let text = entry(&key).replace(&key_id(&key.verifying_key()), &"0".repeat(64));
        let err = TrustStore::parse(&text, Path::new("trust.toml")).unwrap_err();
        assert!(err.to_string().starts_with("trust.toml:2: key id"), "{err}");
    }

    #[test]
    fn unknown_keys_and_bad_times_are_reported_at_their_line() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let text = entry(&key).replace("status = \"active\"", "status = \"active\"\nexpires = \"never\"");
        let err = TrustStore::parse(&text, Path::new("trust.toml")).unwrap_err();
        assert!(err.to_string().starts_with("trust.toml:11:"), "{err}");
        let text = entry(&key).replace("2026-01-01T00:00:00Z", "last tuesday");
        let err = TrustStore::parse(&text, Path::new("trust.toml")).unwrap_err();
        assert!(err.to_string().contains("trust.toml:9: `not-before` is not an RFC 3339 time"), "{err}");
    }
}
