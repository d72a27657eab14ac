//! Dependency metadata (licence, description, links, declared dependencies) from `cargo metadata`, cached
//! on disk per `name@version+checksum`: a published crate version never changes, so it is learnt once.
//!
//! `cargo metadata` downloads crates but runs no code. It runs with a controlled `CARGO_HOME`, a cleared
//! environment, a timeout, and only when the asset's manifest points at nothing outside the asset.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{fs, thread};

use rustsec::Lockfile;
use rustsec::package::Package;
use serde::{Deserialize, Serialize};

use crate::asset::{DeclaredDependency, DependencyKind, Manifest, path_escapes};
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
}

/// Where and how to learn metadata.
#[derive(Clone, Debug)]
pub struct MetadataOptions {
    /// Cache root: `crate-metadata/` (one JSON file per crate version) and `cargo-home/` live here.
    pub cache_dir: PathBuf,
    /// Never touch the network.
    pub offline: bool,
    /// Upper bound on one `cargo metadata` run.
    pub timeout: Duration,
}

/// Package identity used as a map key: name and version.
pub type PackageKey = (String, String);

/// The metadata found for a lockfile.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Metadata per package.
    pub by_package: HashMap<PackageKey, CrateMetadata>,
    /// Why some metadata may be missing (cargo metadata failed or was not run), when it is.
    pub problem: Option<String>,
    /// Whether `cargo metadata` ran (false when the cache answered everything).
    pub ran_cargo: bool,
}

/// The key of a package.
pub fn key(package: &Package) -> PackageKey {
    (package.name.to_string(), package.version.to_string())
}

/// Finds metadata for every non-path package of the lockfile: from the cache, else from `cargo metadata`.
pub fn resolve(root: &Path, manifest: &Manifest, lockfile: &Lockfile, options: &MetadataOptions) -> Resolved {
    let cache = MetadataCache::new(&options.cache_dir);
    let mut resolved = Resolved::default();
    let wanted: Vec<&Package> = lockfile.packages.iter().filter(|p| Origin::of(p) != Origin::Path).collect();
    for package in &wanted {
        if let Some(metadata) = cache.get(package) {
            resolved.by_package.insert(key(package), metadata);
        }
    }
    if wanted.iter().all(|p| resolved.by_package.contains_key(&key(p))) {
        return resolved;
    }
    if let Some(outside) = manifest.local_paths.iter().find(|path| path_escapes(path)) {
        resolved.problem =
            Some(format!("cargo metadata was not run: Cargo.toml points outside the asset at `{outside}`"));
        return resolved;
    }
    resolved.ran_cargo = true;
    match run_cargo_metadata(root, options) {
        Err(problem) => resolved.problem = Some(problem),
        Ok(metadata) => {
            let checksums: HashMap<PackageKey, &Package> = wanted.iter().map(|p| (key(p), *p)).collect();
            for package in metadata.packages {
                if package.source.is_none() {
                    continue;
                }
                let package_key = (package.name.to_string(), package.version.to_string());
                let facts = CrateMetadata {
                    license: package.license,
                    license_file: package.license_file.map(|p| p.file_name().unwrap_or(p.as_str()).to_owned()),
                    description: package.description,
                    repository: package.repository,
                    homepage: package.homepage,
                    documentation: package.documentation,
                    dependencies: declared(&package.dependencies),
                };
                if let Some(locked) = checksums.get(&package_key) {
                    cache.put(locked, &facts);
                }
                resolved.by_package.insert(package_key, facts);
            }
        }
    }
    resolved
}

fn declared(dependencies: &[cargo_metadata::Dependency]) -> Vec<DeclaredDependency> {
    let mut declared: Vec<DeclaredDependency> = dependencies
        .iter()
        .map(|dep| DeclaredDependency {
            name: dep.name.clone(),
            kind: match dep.kind {
                cargo_metadata::DependencyKind::Development => DependencyKind::Dev,
                cargo_metadata::DependencyKind::Build => DependencyKind::Build,
                _ => DependencyKind::Normal,
            },
            target: dep.target.as_ref().map(ToString::to_string),
        })
        .collect();
    declared.sort_by(|a, b| (&a.name, a.kind, &a.target).cmp(&(&b.name, b.kind, &b.target)));
    declared.dedup();
    declared
}

/// Variables passed through to cargo: the toolchain, proxies and TLS roots. Nothing else of ours.
const PASSED_ENV: [&str; 11] = [
    "PATH",
    "HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

fn run_cargo_metadata(root: &Path, options: &MetadataOptions) -> Result<cargo_metadata::Metadata, String> {
    let cargo_home = options.cache_dir.join("cargo-home");
    fs::create_dir_all(&cargo_home).map_err(|err| format!("cannot create {}: {err}", cargo_home.display()))?;
    let mut command: Command = cargo_metadata::MetadataCommand::new().current_dir(root).cargo_command();
    command.arg("--locked");
    if options.offline {
        command.arg("--offline");
    }
    command.env_clear();
    for name in PASSED_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
        .env("CARGO_HOME", &cargo_home)
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_NET_RETRY", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|err| format!("cannot run cargo metadata: {err}"))?;
    // Drain both pipes on threads so a chatty cargo cannot block on a full pipe while we wait.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + options.timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("cargo metadata did not finish within {} s", options.timeout.as_secs()));
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(err) => return Err(format!("cannot wait for cargo metadata: {err}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr);
        let reason = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim();
        return Err(format!("cargo metadata failed ({status}): {reason}"));
    }
    let text = String::from_utf8(stdout).map_err(|_| "cargo metadata printed invalid UTF-8".to_owned())?;
    cargo_metadata::MetadataCommand::parse(text).map_err(|err| format!("cannot read cargo metadata output: {err}"))
}

/// One JSON file per crate version, named by name, version and checksum; written atomically.
pub struct MetadataCache {
    dir: PathBuf,
}

impl MetadataCache {
    /// The cache under a cache root (see [`MetadataOptions::cache_dir`]).
    pub fn new(cache_dir: &Path) -> Self {
        Self { dir: cache_dir.join("crate-metadata") }
    }

    fn path(&self, package: &Package) -> Option<PathBuf> {
        // Only registry packages have a checksum; git and path packages can change under the same version.
        let checksum = package.checksum.as_ref()?.to_string();
        Some(self.dir.join(format!("{}-{}-{checksum}.json", package.name, package.version)))
    }

    /// The cached metadata of a registry package.
    pub fn get(&self, package: &Package) -> Option<CrateMetadata> {
        let bytes = fs::read(self.path(package)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores a registry package's metadata. Best effort: a cache that cannot be written only costs a
    /// later `cargo metadata` run.
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
