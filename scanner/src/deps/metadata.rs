//! Dependency metadata (licence, description, links, declared dependencies) read from each verified
//! `.crate`'s own packaged `Cargo.toml` with Assay's manifest parser, and cached on disk per
//! `name@version+checksum`: a published crate version never changes, so it is learnt once. No cargo runs.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use rustsec::Lockfile;
use rustsec::package::Package;
use serde::{Deserialize, Serialize};

use super::Dependencies;
use super::parallel::in_parallel;
use crate::asset::{DeclaredDependency, Manifest, check_package_name};
use crate::intake::{self, IntakeLimits, Select};
use crate::stages::audit::Origin;

/// What the SBOM needs to know about one dependency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateMetadata {
    /// SPDX expression as the crate writes it (may need lax parsing).
    pub license: Option<String>,
    /// Licence file, when no expression is given.
    pub license_file: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Repository URL.
    pub repository: Option<String>,
    /// Homepage URL.
    pub homepage: Option<String>,
    /// Documentation URL.
    pub documentation: Option<String>,
    /// What the crate itself depends on, by kind.
    pub dependencies: Vec<DeclaredDependency>,
    /// Whether its packaged manifest names a build script. Cargo writes `build = "build.rs"` into the
    /// manifest it packages (since 1.80); a crate packaged earlier with an implicit `build.rs` reads as none.
    #[serde(default)]
    pub build_script: bool,
    /// Whether it is a proc macro (`[lib] proc-macro = true`).
    #[serde(default)]
    pub proc_macro: bool,
}

/// Package identity used as a map key: name and version.
pub type PackageKey = (String, String);

/// The key of a package.
pub fn key(package: &Package) -> PackageKey {
    (package.name.to_string(), package.version.to_string())
}

/// Packaged manifests larger than this are not read (real ones are a few KiB).
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// The metadata found for a lockfile.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Metadata per package.
    pub by_package: HashMap<PackageKey, CrateMetadata>,
    /// Why some metadata is missing, when it is: each cause once, with the packages it concerns.
    pub problem: Option<String>,
    /// Whether any `.crate` had to be read (false when the metadata cache answered everything).
    pub read_crates: bool,
}

/// Finds metadata for every non-path package of the lockfile: from the metadata cache, else from its
/// verified `.crate` (cached or downloaded by `dependencies`).
pub fn resolve(lockfile: &Lockfile, dependencies: &mut Dependencies<'_>) -> Resolved {
    let cache = MetadataCache::new(&dependencies.options().cache_dir);
    let mut resolved = Resolved::default();
    let mut misses = Vec::new();
    for package in lockfile.packages.iter().filter(|p| Origin::of(p) != Origin::Path) {
        match cache.get(package) {
            Some(metadata) => {
                resolved.by_package.insert(key(package), metadata);
            }
            None => misses.push(package),
        }
    }
    if misses.is_empty() {
        return resolved;
    }
    resolved.read_crates = true;
    let files = dependencies.crate_files(&misses);
    let max_crate_bytes = dependencies.options().limits.max_crate_bytes;
    let read = |(package, file): (&&Package, Result<PathBuf, super::Unavailable>)| {
        let metadata = file.map_err(|why| why.to_string()).and_then(|path| from_crate(&path, package, max_crate_bytes));
        if let Ok(metadata) = &metadata {
            cache.put(package, metadata);
        }
        metadata
    };
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Each crate is its own gzip stream: one reader per core.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let read_all = in_parallel(misses.iter().zip(files).collect(), cores, read);
    for (package, metadata) in misses.iter().zip(read_all) {
        match metadata {
            Ok(metadata) => {
                resolved.by_package.insert(key(package), metadata);
            }
            Err(why) => problems.entry(why).or_default().push(format!("{} {}", package.name, package.version)),
        }
    }
    if !problems.is_empty() {
        let causes: Vec<String> = problems
            .into_iter()
            .map(|(why, packages)| {
                let more = packages.len().saturating_sub(3);
                let shown = packages.into_iter().take(3).collect::<Vec<_>>().join(", ");
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                format!("{why}: {shown}{more}")
            })
            .collect();
        resolved.problem = Some(causes.join("; "));
    }
    resolved
}

/// Reads the metadata of `package` from its `.crate` at `path`: only `<name>-<version>/Cargo.toml` is
/// unpacked (into a private temporary directory, removed afterwards) and parsed with Assay's own parser.
pub fn from_crate(path: &Path, package: &Package, max_crate_bytes: u64) -> Result<CrateMetadata, String> {
    let folder = format!("{}-{}", package.name, package.version);
    let wanted = Path::new(&folder).join("Cargo.toml");
    let dir = crate::scratch::create(&std::env::temp_dir(), "manifest-")
        .map_err(|err| format!("cannot create a temporary directory: {err}"))?;
    // The entries before the manifest are still checked against intake's limits; only it is written.
    let limits = IntakeLimits { max_archive_bytes: max_crate_bytes, ..IntakeLimits::default() };
    intake::unpack_crate(path, dir.path(), &limits, Select::Only(&wanted))
        .map_err(|err| format!("unreadable .crate: {err}"))?;
    let manifest_path = dir.path().join(&wanted);
    let size = fs::metadata(&manifest_path)
        .map_err(|err| format!("no readable {folder}/Cargo.toml in its .crate: {err}"))?
        .len();
    if size > MAX_MANIFEST_BYTES {
        return Err(format!("{folder}/Cargo.toml is {size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit"));
    }
    let text = fs::read_to_string(&manifest_path).map_err(|err| format!("unreadable {folder}/Cargo.toml: {err}"))?;
    let manifest = Manifest::parse(&text).map_err(|finding| format!("unreadable Cargo.toml: {}", finding.message))?;
    let file_name =
        |path: String| Path::new(&path).file_name().map_or(path.clone(), |n| n.to_string_lossy().into_owned());
    Ok(CrateMetadata {
        license: manifest.license,
        license_file: manifest.license_file.map(file_name),
        description: manifest.description,
        repository: manifest.repository,
        homepage: manifest.homepage,
        documentation: manifest.documentation,
        dependencies: manifest.dependencies,
        build_script: manifest.build_script.is_some(),
        proc_macro: manifest.proc_macro,
    })
}

/// One JSON file per crate version, named by name, version and checksum; written atomically.
pub struct MetadataCache {
    dir: PathBuf,
}

impl MetadataCache {
    /// The cache under a cache root (see [`MetadataOptions::cache_dir`]).
    pub fn new(cache_dir: &Path) -> Self {
        // `v2` since entries record build scripts and proc macros: older entries would say "none".
        Self { dir: cache_dir.join("crate-metadata").join("v2") }
    }

    fn path(&self, package: &Package) -> Option<PathBuf> {
        // Only registry packages have a checksum; git and path packages can change under the same version.
        let checksum = package.checksum.as_ref()?.to_string();
        // The name and checksum come from the lockfile and become a file name: only valid ones do.
        check_package_name(package.name.as_str()).ok()?;
        if !checksum.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.dir.join(format!("{}-{}-{checksum}.json", package.name, package.version)))
    }

    /// The cached metadata of a registry package.
    pub fn get(&self, package: &Package) -> Option<CrateMetadata> {
        let bytes = fs::read(self.path(package)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores a registry package's metadata. Best effort: a cache that cannot be written only costs a
    /// later read of the crate.
    pub fn put(&self, package: &Package, metadata: &CrateMetadata) {
        let Some(path) = self.path(package) else {
            return;
        };
        let Ok(bytes) = serde_json::to_vec(metadata) else {
            return;
        };
        if fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let temporary = path.with_extension(format!("{}.tmp", std::process::id()));
        if fs::write(&temporary, bytes).is_ok() && fs::rename(&temporary, &path).is_err() {
            let _ = fs::remove_file(&temporary);
        }
    }
}
