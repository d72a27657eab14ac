//! A compact on-disk cache of the parsed advisory database, keyed by a fingerprint of the directory that
//! costs file stats, not file reads: a scan then loads ~1200 advisories in milliseconds instead of parsing
//! every Markdown file and hashing it for the database's identity.
//!
//! The fingerprint covers the tool version, the cache format, every advisory file's path, size and mtime,
//! the `SNAPSHOT` file and the git HEAD, so any change to the database (an edit, a `git pull`, a new
//! snapshot) misses the cache and rebuilds it from the files. The cache lives in the operator's cache
//! directory and is trusted like the database itself.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use assay_report::audit::DatabaseIdentity;
use rustsec::Advisory;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::intake::hex;

/// Bumped whenever the cached shape changes.
const FORMAT: u32 = 1;

/// What the cache holds: the advisories as `rustsec` parsed them, and the database's identity.
#[derive(Serialize, Deserialize)]
pub(super) struct CachedDatabase {
    format: u32,
    fingerprint: String,
    pub(super) identity: DatabaseIdentity,
    pub(super) advisories: Vec<Advisory>,
}

impl CachedDatabase {
    pub(super) fn new(fingerprint: String, identity: DatabaseIdentity, advisories: Vec<Advisory>) -> Self {
        Self { format: FORMAT, fingerprint, identity, advisories }
    }
}

/// The advisory files under `crates/` and `rust/`, as paths relative to `root`, sorted.
pub(super) fn advisory_files(root: &Path) -> io::Result<Vec<String>> {
    let mut files = Vec::new();
    for collection in ["crates", "rust"] {
        let dir = root.join(collection);
        if !dir.is_dir() {
            continue;
        }
        for package in fs::read_dir(&dir)? {
            // The entry's own type (from the directory listing) spares a stat per package.
            let package = package?;
            if !package.file_type()?.is_dir() {
                continue;
            }
            for advisory in fs::read_dir(package.path())? {
                let advisory = advisory?.path();
                if advisory.extension().is_some_and(|ext| ext == "md" || ext == "toml") {
                    files.push(advisory.strip_prefix(root).unwrap_or(&advisory).to_string_lossy().into_owned());
                }
            }
        }
    }
    files.sort();
    Ok(files)
}

/// sha256 over the tool version, the cache format, the canonical path, each advisory file's path, size and
/// mtime, the `SNAPSHOT` file and the git HEAD (with the ref it names).
pub(super) fn fingerprint(root: &Path, files: &[String]) -> io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(format!("assay {} cache {FORMAT}\0", env!("CARGO_PKG_VERSION")));
    hasher.update(root.canonicalize()?.to_string_lossy().as_bytes());
    for relative in files {
        let metadata = fs::metadata(root.join(relative))?;
        let mtime = metadata.modified()?.duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        hasher.update(format!("\0{relative}\0{}\0{mtime}", metadata.len()));
    }
    for extra in ["SNAPSHOT", ".git/HEAD"] {
        if let Ok(content) = fs::read(root.join(extra)) {
            hasher.update(b"\0");
            hasher.update(&content);
            if let Some(reference) = std::str::from_utf8(&content).ok().and_then(|head| head.strip_prefix("ref: ")) {
                hasher.update(fs::read(root.join(".git").join(reference.trim())).unwrap_or_default());
            }
        }
    }
    Ok(hex(&hasher.finalize()))
}

/// The cache file for the database at `root`: one per database path, replaced when the fingerprint changes.
pub(super) fn cache_file(cache_dir: &Path, root: &Path) -> PathBuf {
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    let name = hex(&Sha256::digest(canonical.to_string_lossy().as_bytes())[..8]);
    cache_dir.join("advisory-db-parsed").join(format!("{name}.json"))
}

/// The cached database, when the file exists, parses, and carries `fingerprint`.
pub(super) fn load(file: &Path, fingerprint: &str) -> Option<CachedDatabase> {
    let bytes = fs::read(file).ok()?;
    let cached: CachedDatabase = serde_json::from_slice(&bytes).ok()?;
    (cached.format == FORMAT && cached.fingerprint == fingerprint).then_some(cached)
}

/// Writes the cache atomically (a temporary file renamed into place), so a concurrent reader sees either
/// the old cache or the new one.
pub(super) fn store(file: &Path, cached: &CachedDatabase) -> io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut temporary = tempfile::NamedTempFile::new_in(dir)?;
    let mut writer = io::BufWriter::new(temporary.as_file_mut());
    serde_json::to_writer(&mut writer, cached).map_err(io::Error::other)?;
    io::Write::flush(&mut writer)?;
    drop(writer);
    temporary.persist(file).map_err(|err| err.error)?;
    Ok(())
}
