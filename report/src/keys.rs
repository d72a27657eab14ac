//! Ed25519 signing keys on disk: PKCS#8 PEM private keys (mode 0600) and SPKI PEM public keys, the
//! formats of `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};

/// Key id: lowercase hex sha256 of the raw 32-byte public key.
pub fn key_id(key: &VerifyingKey) -> String {
    crate::digest::sha256_hex(key.as_bytes())
}

/// A key file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file is not the expected PEM.
    #[error("{}: not an Ed25519 {what} in PEM ({detail}); make one with `assay keygen` or `openssl genpkey -algorithm ed25519`", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// `PKCS#8 private key` or `SPKI public key`.
        what: &'static str,
        /// The parser's words.
        detail: String,
    },
    /// A private key readable by others.
    #[error("{}: the private key is readable by group or others (mode {mode:o}); run `chmod 600 {}`", path.display(), path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Refusing to overwrite.
    #[error("{} already exists; remove it or choose another --out", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// No randomness.
    #[error("cannot get randomness from the operating system: {0}")]
    Random(String),
}

/// Reads a PKCS#8 PEM private key, refusing a file that group or others can read.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let io_error = |source| KeyError::Io { path: path.to_owned(), source };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path).map_err(io_error)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions { path: path.to_owned(), mode });
        }
    }
    let text = fs::read_to_string(path).map_err(io_error)?;
    SigningKey::from_pkcs8_pem(&text).map_err(|err| KeyError::Format {
        path: path.to_owned(),
        what: "PKCS#8 private key",
        detail: err.to_string(),
    })
}

/// Parses an SPKI PEM public key.
pub fn parse_public_key(pem: &str) -> Result<VerifyingKey, String> {
    VerifyingKey::from_public_key_pem(pem.trim()).map_err(|err| err.to_string())
}

/// Reads an SPKI PEM public key file.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let text = fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.to_owned(), source })?;
    parse_public_key(&text).map_err(|detail| KeyError::Format {
        path: path.to_owned(),
        what: "SPKI public key",
        detail,
    })
}

/// The SPKI PEM of a public key.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    // Encoding a valid 32-byte key cannot fail; an empty string would make the failure visible.
    key.to_public_key_pem(LineEnding::LF).unwrap_or_default()
}

/// Where [`generate`] wrote the pair.
#[derive(Debug)]
pub struct GeneratedKey {
    /// The private key file (0600).
    pub private_key: PathBuf,
    /// The public key file.
    pub public_key: PathBuf,
    /// Its key id.
    pub key_id: String,
}

/// Generates a key pair into `dir` as `assay-signing.key` (PKCS#8 PEM, created 0600) and `assay-signing.pub`.
pub fn generate(dir: &Path) -> Result<GeneratedKey, KeyError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|err| KeyError::Random(err.to_string()))?;
    let key = SigningKey::from_bytes(&secret);
    let private_key = dir.join("assay-signing.key");
    let public_key = dir.join("assay-signing.pub");
    for path in [&private_key, &public_key] {
        if path.exists() {
            return Err(KeyError::Exists { path: path.clone() });
        }
    }
    fs::create_dir_all(dir).map_err(|source| KeyError::Io { path: dir.to_owned(), source })?;
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|err| KeyError::Format {
        path: private_key.clone(),
        what: "PKCS#8 private key",
        detail: err.to_string(),
    })?;
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| KeyError::Io { path, source }
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&private_key).map_err(io_error(&private_key))?;
    file.write_all(pem.as_bytes()).map_err(io_error(&private_key))?;
    fs::write(&public_key, public_key_pem(&key.verifying_key())).map_err(io_error(&public_key))?;
    Ok(GeneratedKey { private_key, public_key, key_id: key_id(&key.verifying_key()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_with_restrictive_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let generated = generate(dir.path()).unwrap();
        let key = read_signing_key(&generated.private_key).unwrap();
        let public = read_public_key(&generated.public_key).unwrap();
        assert_eq!(key.verifying_key(), public);
        assert_eq!(key_id(&public), generated.key_id);
        assert_eq!(generated.key_id.len(), 64);
        assert!(matches!(generate(dir.path()), Err(KeyError::Exists { .. })), "never overwrites");
    }

    #[cfg(unix)]
    #[test]
    fn a_private_key_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let generated = generate(dir.path()).unwrap();
        fs::set_permissions(&generated.private_key, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_signing_key(&generated.private_key).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
