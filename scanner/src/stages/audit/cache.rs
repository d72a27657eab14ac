//! A compact on-disk cache of the parsed advisory database, keyed by a fingerprint that costs one stat per
//! package directory instead of a read of every file: a scan then opens ~1200 advisories in a few
//! milliseconds instead of parsing every Markdown file and hashing it for the database's identity.
//!
//! Each package's advisories are kept as raw JSON and deserialised only when a lockfile names the package,
//! so loading the cache does not allocate the whole database.
//!
//! The fingerprint covers the tool version, the cache format, every package directory's name and mtime,
//! the `SNAPSHOT` file and the git HEAD, ref and index. Adding, removing or replacing an advisory file
//! changes its directory's mtime — `git` (and so `assay db fetch`), editors and `cp` of a new snapshot all
//! replace files — so any such update rebuilds the cache. An edit that rewrites a file in place without
//! touching its directory is not seen; `touch` the directory (or remove the cache) after one. The cache
//! lives in the operator's cache directory and is trusted like the database itself.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use assay_report::audit::DatabaseIdentity;
use rustsec::Advisory;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::intake::hex;

/// Bumped whenever the cached shape changes.
const FORMAT: u32 = 2;

/// What the cache holds: the database's identity, and each package's advisories as `rustsec` parsed them,
/// serialised to JSON and left raw until asked for.
#[derive(Serialize, Deserialize)]
pub(super) struct CachedDatabase {
    format: u32,
    fingerprint: String,
    pub(super) identity: DatabaseIdentity,
    pub(super) packages: HashMap<String, Box<RawValue>>,
}

impl CachedDatabase {
    /// The cache entry of parsed advisories, grouped by package.
    pub(super) fn new(
        fingerprint: String,
        identity: DatabaseIdentity,
        by_package: &HashMap<String, Vec<Advisory>>,
    ) -> io::Result<Self> {
        let packages = by_package
            .iter()
            .map(|(name, list)| Ok((name.clone(), serde_json::value::to_raw_value(list).map_err(io::Error::other)?)))
            .collect::<io::Result<_>>()?;
        Ok(Self { format: FORMAT, fingerprint, identity, packages })
    }
}

/// The advisories of one package, from its raw JSON.
pub(super) fn parse(raw: &RawValue) -> Vec<Advisory> {
    serde_json::from_str(raw.get()).unwrap_or_default()
}

/// sha256 over the tool version, the cache format, the canonical path, each package directory's name and
/// mtime under `crates/` and `rust/`, the `SNAPSHOT` file and the git HEAD, ref and index.
pub(super) fn fingerprint(root: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(format!("assay {} cache {FORMAT}\0", env!("CARGO_PKG_VERSION")));
    hasher.update(root.canonicalize()?.to_string_lossy().as_bytes());
    let mtime = |path: &Path| -> io::Result<u128> {
        Ok(fs::metadata(path)?.modified()?.duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0))
    };
    for collection in ["crates", "rust"] {
        let dir = root.join(collection);
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        let mut packages = Vec::new();
        for entry in entries {
            let entry = entry?;
            packages.push((entry.file_name(), mtime(&entry.path())?));
        }
        packages.sort();
        hasher.update(format!("\0{collection}\0{}", mtime(&dir)?));
        for (name, modified) in packages {
            hasher.update(format!("\0{}\0{modified}", name.to_string_lossy()));
        }
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
    if let Ok(index) = mtime(&root.join(".git/index")) {
        hasher.update(format!("\0index {index}"));
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
