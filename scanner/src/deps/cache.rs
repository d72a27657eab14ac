//! The crate cache: verified `.crate` files named by their sha256, so a name, a version or a registry can
//! never make one crate stand in for another, and a file is only ever added whole and verified.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::intake::hex;

/// `<cache root>/crates/<first two hex digits>/<sha256>.crate`.
#[derive(Clone, Debug)]
pub struct CrateCache {
    dir: PathBuf,
}

/// Why bytes were not added to the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The bytes are not the ones the lockfile pins: nothing was kept.
    #[error("its sha256 is {actual}, but Cargo.lock pins {expected}")]
    ChecksumMismatch {
        /// The lockfile's checksum.
        expected: String,
        /// What was received.
        actual: String,
    },
    /// More bytes than the cap arrived: nothing was kept.
    #[error("it is larger than the {limit}-byte limit")]
    TooLarge {
        /// The cap.
        limit: u64,
    },
    /// Reading the source failed (a dropped connection, a timeout).
    #[error("the download broke off: {0}")]
    Read(io::Error),
    /// The cache directory could not be written.
    #[error("cannot write the crate cache at {}: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl CrateCache {
    /// The cache under a cache root.
    pub fn new(cache_root: &Path) -> Self {
        Self { dir: cache_root.join("crates") }
    }

    /// Where the crate with this checksum lives (whether or not it is there). `None` for a checksum that is
    /// not 64 hex digits, so a lockfile cannot name a path.
    pub fn path(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| self.dir.join(&sha256[..2]).join(format!("{sha256}.crate")))
    }

    /// The cached crate with this checksum, when present.
    pub fn get(&self, sha256: &str) -> Option<PathBuf> {
        self.path(sha256).filter(|path| path.is_file())
    }

    /// Streams `source` into the cache, keeping it only when it is at most `limit` bytes and its sha256 is
    /// `sha256`. The bytes go to a private temporary file beside the target and are renamed into place, so
    /// a reader (another worker on the same cache) sees the whole verified file or none; two writers of the
    /// same crate write the same bytes, and whichever rename comes last changes nothing.
    pub fn insert(&self, sha256: &str, source: impl Read, limit: u64) -> Result<PathBuf, CacheError> {
        let Some(path) = self.path(sha256) else {
            return Err(CacheError::ChecksumMismatch {
                expected: sha256.to_owned(),
                actual: "not computed".to_owned(),
            });
        };
        let parent = path.parent().unwrap_or(&self.dir);
        let write_error = |source| CacheError::Write { path: parent.to_owned(), source };
        // Private: what is being downloaded is nobody else's business on a shared machine.
        std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700)
            .create(parent)
            .map_err(write_error)?;
        let mut temporary = tempfile::Builder::new().prefix(".part-").tempfile_in(parent).map_err(write_error)?;
        let (size, actual) = copy_hashed(source, temporary.as_file_mut(), limit, parent)?;
        if size > limit {
            return Err(CacheError::TooLarge { limit });
        }
        if actual != sha256 {
            return Err(CacheError::ChecksumMismatch { expected: sha256.to_owned(), actual });
        }
        temporary.as_file().sync_all().map_err(write_error)?;
        temporary.persist(&path).map_err(|err| write_error(err.error))?;
        Ok(path)
    }
}

/// Copies at most `limit + 1` bytes (one more proves "too large"), hashing them; returns size and sha256.
fn copy_hashed(source: impl Read, target: &mut File, limit: u64, dir: &Path) -> Result<(u64, String), CacheError> {
    let mut limited = source.take(limit.saturating_add(1));
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match limited.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(CacheError::Read(err)),
        };
        hasher.update(&buffer[..n]);
        target.write_all(&buffer[..n]).map_err(|source| CacheError::Write { path: dir.to_owned(), source })?;
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn digest(bytes: &[u8]) -> String {
        assay_report::digest::sha256_hex(bytes)
    }

    #[test]
    fn verified_bytes_are_kept_under_their_digest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CrateCache::new(dir.path());
        let sha256 = digest(b"crate bytes");
        let path = cache.insert(&sha256, &b"crate bytes"[..], 1024).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"crate bytes");
        assert_eq!(cache.get(&sha256), Some(path));
    }

    #[test]
    fn a_checksum_mismatch_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CrateCache::new(dir.path());
        let pinned = digest(b"what the lockfile pinned");
        let err = cache.insert(&pinned, &b"something else"[..], 1024).unwrap_err();
        assert!(matches!(err, CacheError::ChecksumMismatch { .. }), "{err}");
        assert_eq!(cache.get(&pinned), None);
        let left: Vec<_> = fs::read_dir(cache.path(&pinned).unwrap().parent().unwrap()).unwrap().collect();
        assert!(left.is_empty(), "no partial file is left behind");
    }

    #[test]
    fn more_than_the_limit_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CrateCache::new(dir.path());
        let bytes = vec![7u8; 100];
        let err = cache.insert(&digest(&bytes), bytes.as_slice(), 99).unwrap_err();
        assert!(matches!(err, CacheError::TooLarge { limit: 99 }), "{err}");
        assert_eq!(cache.get(&digest(&bytes)), None);
    }

    #[test]
    fn a_checksum_that_is_not_hex_names_no_path() {
        let cache = CrateCache::new(Path::new("/cache"));
        assert_eq!(cache.path("../../etc/passwd"), None);
        assert_eq!(cache.path(&"A".repeat(64)), None, "lockfiles write lowercase hex");
        assert!(cache.path(&"a".repeat(64)).is_some());
    }
}
