//! Dependencies without cargo on the host: Assay downloads each crates.io package locked in `Cargo.lock`
//! itself, keeps it only when its sha256 is the lockfile's checksum, and caches it content-addressed. The
//! SBOM reads their packaged manifests; the load stage unpacks them as the sandboxed build's vendor directory.
//!
//! Git, path and other-registry packages are never fetched or followed: Assay does not run git, and no
//! URL or path a manifest or lockfile names is contacted except the configured registry's download endpoint.

mod cache;
pub mod metadata;
mod parallel;
mod registry;
mod resolver;
mod vendor;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use assay_report::{Finding, Location, codes};
use rustsec::package::Package;

pub use cache::{CacheError, CrateCache};
pub use metadata::{CrateMetadata, MetadataCache, PackageKey, key};
pub use registry::{CRATES_IO_DOWNLOAD, DownloadError, DownloadLimits, RegistryUrl, root_certs};
pub use vendor::{VendorError, Vendored, vendor};

use parallel::in_parallel;

use crate::asset::check_package_name;
use crate::stages::audit::Origin;

/// Where crates come from and how they are kept.
#[derive(Clone, Debug)]
pub struct DependencyOptions {
    /// Cache root: `crates/` (verified `.crate` files) and `crate-metadata/` live here.
    pub cache_dir: PathBuf,
    /// Never touch the network: only cached crates are available.
    pub offline: bool,
    /// The registry's download endpoint.
    pub registry: RegistryUrl,
    /// Bounds on downloads.
    pub limits: DownloadLimits,
}

impl DependencyOptions {
    /// Defaults with this cache root: crates.io, online.
    pub fn new(cache_dir: PathBuf) -> Self {
        Self { cache_dir, offline: false, registry: RegistryUrl::default(), limits: DownloadLimits::default() }
    }
}

/// Why a package's `.crate` is not available (shown after the package: `tiny 0.1.0: <why>`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unavailable {
    /// A git, path or other-registry package: Assay never fetches those.
    NotFetched(&'static str),
    /// crates.io, but the lockfile pins no checksum, so nothing downloaded could be verified.
    NoChecksum,
    /// The lockfile's name is not a crate name (it would become a URL path and a directory name).
    InvalidName,
    /// `--offline`, and the crate is not in the cache.
    NotCached,
    /// The download failed.
    DownloadFailed(String),
    /// The registry served other bytes than the lockfile pins (a `deny` finding too).
    ChecksumMismatch(String),
    /// The scan's download budget is spent.
    OverBudget(u64),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFetched(kind) => write!(f, "from a {kind} source, which Assay never fetches"),
            Self::NoChecksum => f.write_str("no checksum in Cargo.lock, so no download could be verified"),
            Self::InvalidName => f.write_str("not a valid crate name in Cargo.lock, so never fetched"),
            Self::NotCached => f.write_str("not in the crate cache, and the scan is offline"),
            Self::DownloadFailed(why) => write!(f, "download failed: {why}"),
            Self::ChecksumMismatch(why) => write!(f, "refused: {why}"),
            Self::OverBudget(limit) => write!(f, "not downloaded: the scan's {limit}-byte download budget is spent"),
        }
    }
}

/// One scan's dependency crates: what the cache holds, what was downloaded, what could not be had. Each
/// package is looked for once per scan, whichever stage asks first.
#[derive(Debug)]
pub struct Dependencies<'o> {
    options: &'o DependencyOptions,
    cache: CrateCache,
    known: HashMap<Identity, Result<PathBuf, Unavailable>>,
}

/// A locked package: name, version and source (a git package may share a crates.io one's name and version).
type Identity = (String, String, Option<String>);

fn identity(package: &Package) -> Identity {
    (package.name.to_string(), package.version.to_string(), package.source.as_ref().map(ToString::to_string))
}

impl<'o> Dependencies<'o> {
    /// A scan's view of the crate cache.
    pub fn new(options: &'o DependencyOptions) -> Self {
        Self { options, cache: CrateCache::new(&options.cache_dir), known: HashMap::new() }
    }

    /// The options in force.
    pub fn options(&self) -> &DependencyOptions {
        self.options
    }

    /// The verified `.crate` of each package, in order: from the cache, else downloaded (several at once,
    /// bounded) unless offline.
    pub fn crate_files(&mut self, packages: &[&Package]) -> Vec<Result<PathBuf, Unavailable>> {
        let mut missing: Vec<(&Package, String)> = Vec::new();
        for package in packages {
            let id = identity(package);
            if self.known.contains_key(&id) {
                continue;
            }
            match self.lookup(package) {
                Ok(found) => {
                    self.known.insert(id, found);
                }
                Err(checksum) => {
                    // Settled as "being downloaded" so a package listed twice is fetched once.
                    self.known.insert(id, Err(Unavailable::NotCached));
                    missing.push((package, checksum));
                }
            }
        }
        if !missing.is_empty() {
            for (package, result) in self.download_all(missing) {
                self.known.insert(identity(package), result);
            }
        }
        packages
            .iter()
            .map(|package| self.known.get(&identity(package)).cloned().unwrap_or(Err(Unavailable::NotCached)))
            .collect()
    }

    /// A package's outcome without the network: `Ok` when settled, `Err(checksum)` when it must be downloaded.
    fn lookup(&self, package: &Package) -> Result<Result<PathBuf, Unavailable>, String> {
        if let Some(kind) = Origin::of(package).unaudited_kind() {
            return Ok(Err(Unavailable::NotFetched(kind)));
        }
        // cargo-lock does not validate names; this one becomes a URL path and a vendor folder name.
        if check_package_name(package.name.as_str()).is_err() {
            return Ok(Err(Unavailable::InvalidName));
        }
        let Some(checksum) = package.checksum.as_ref().map(ToString::to_string) else {
            return Ok(Err(Unavailable::NoChecksum));
        };
        if let Some(path) = self.cache.get(&checksum) {
            return Ok(Ok(path));
        }
        if self.options.offline {
            return Ok(Err(Unavailable::NotCached));
        }
        Err(checksum)
    }

    /// Downloads `missing` with at most `parallel` requests at once, within the scan's byte budget.
    fn download_all<'p>(
        &self,
        missing: Vec<(&'p Package, String)>,
    ) -> Vec<(&'p Package, Result<PathBuf, Unavailable>)> {
        let limits = &self.options.limits;
        let agent = registry::agent(limits);
        let spent = AtomicU64::new(0);
        in_parallel(missing, limits.parallel, |(package, checksum)| {
            if spent.load(Ordering::Relaxed) >= limits.max_total_bytes {
                return (package, Err(Unavailable::OverBudget(limits.max_total_bytes)));
            }
            let url = self.options.registry.crate_url(package.name.as_str(), &package.version.to_string(), &checksum);
            let result = registry::download(&agent, &url, &self.cache, &checksum, limits)
                .inspect(|path| {
                    spent.fetch_add(std::fs::metadata(path).map_or(0, |m| m.len()), Ordering::Relaxed);
                })
                .map_err(|err| match err {
                    DownloadError::Cache { source: source @ CacheError::ChecksumMismatch { .. }, url } => {
                        Unavailable::ChecksumMismatch(format!("{url}: {source}"))
                    }
                    other => Unavailable::DownloadFailed(other.to_string()),
                });
            (package, result)
        })
    }

    /// One `dependency-checksum-mismatch` finding per package whose download did not match the lockfile.
    pub fn findings(&self) -> Vec<Finding> {
        let mismatched: BTreeMap<(&String, &String), &String> = self
            .known
            .iter()
            .filter_map(|((name, version, _), result)| match result {
                Err(Unavailable::ChecksumMismatch(why)) => Some(((name, version), why)),
                _ => None,
            })
            .collect();
        mismatched
            .into_iter()
            .map(|((name, version), why)| {
                Finding::new(
                    &codes::DEPENDENCY_CHECKSUM_MISMATCH,
                    format!("{name} {version} was refused: {why}; it was not kept, read or built"),
                )
                .at(Location::package(name, version))
                .help(format!(
                    "the registry at {} serves other bytes than Cargo.lock pins: regenerate Cargo.lock against \
                     crates.io, or check the mirror",
                    self.options.registry
                ))
            })
            .collect()
    }
}
