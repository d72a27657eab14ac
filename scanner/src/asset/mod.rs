//! The asset model: manifest, contract and lockfile read from the unpacked asset, with every problem a finding.

pub mod contract;
mod lockfile;
mod manifest;
mod paths;
mod spans;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use assay_report::facts::AssetFacts;
use assay_report::{AssetSummary, Finding, Location, codes};
use rustsec::Lockfile;

pub use lockfile::parse_lockfile;
pub use manifest::{DeclaredDependency, DependencyKind, Manifest, check_package_name};
pub use paths::{ManifestPath, path_escapes};

/// Manifest and lockfile larger than this are refused: real ones are a few hundred KiB at most.
const MAX_TOML_BYTES: u64 = 8 * 1024 * 1024;

/// Tool configuration an asset may ship that would change how cargo behaves for us (registries,
/// `rustc` wrappers, toolchains). Removed from the scratch copy so no later step can read it.
const IGNORED_CONFIG: [(&str, &codes::Code); 4] = [
    (".cargo/config", &codes::CARGO_CONFIG_IGNORED),
    (".cargo/config.toml", &codes::CARGO_CONFIG_IGNORED),
    ("rust-toolchain", &codes::TOOLCHAIN_FILE_IGNORED),
    ("rust-toolchain.toml", &codes::TOOLCHAIN_FILE_IGNORED),
];

/// An asset as the later stages see it.
#[derive(Debug)]
pub struct Asset {
    /// Root folder (in the scratch directory).
    pub root: PathBuf,
    /// The manifest, when it could be read.
    pub manifest: Option<Manifest>,
    /// The contract, when present and valid.
    pub contract: Option<assay_report::contract::Contract>,
    /// The lockfile, when present and valid.
    pub lockfile: Option<Lockfile>,
    /// Problems with any of them.
    pub findings: Vec<Finding>,
}

/// Reading the asset failed for reasons that are not the asset's fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssetError {
    /// A file of the scratch copy could not be read or removed.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl Asset {
    /// Reads the asset at `root`, removing tool configuration it must not influence us with.
    pub fn load(root: &Path) -> Result<Self, AssetError> {
        let mut findings = neutralise_config(root)?;

        let manifest_text = read_text(root, "Cargo.toml", &codes::MANIFEST_MISSING, &codes::MANIFEST_INVALID)?;
        let (manifest, contract) = match manifest_text {
            Err(finding) => {
                findings.push(finding);
                (None, None)
            }
            Ok(text) => {
                let spans = spans::TomlText::new(&text);
                match manifest::parse_manifest(&text, &spans, root.join("build.rs").is_file()) {
                    Err(finding) => {
                        findings.push(finding);
                        (None, None)
                    }
                    Ok(manifest) => {
                        findings.extend(manifest.paths.iter().filter(|p| p.outside).map(path_outside));
                        let (contract, contract_findings) = contract::parse_contract(&text, &spans);
                        findings.extend(contract_findings);
                        (Some(manifest), contract)
                    }
                }
            }
        };

        let lockfile = match read_text(root, "Cargo.lock", &codes::LOCKFILE_MISSING, &codes::LOCKFILE_INVALID)? {
            Ok(text) => parse_lockfile(&text).map_err(|finding| findings.push(finding)).ok(),
            Err(finding) => {
                findings.push(finding.help("commit Cargo.lock; `cargo package` includes it in the .crate"));
                None
            }
        };
        Ok(Self { root: root.to_owned(), manifest, contract, lockfile, findings })
    }

    /// The asset as the rules see it; `sha256` is the submitted archive's.
    pub fn facts(&self, sha256: &str) -> Option<AssetFacts> {
        let manifest = self.manifest.as_ref()?;
        Some(AssetFacts {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            kind: self.contract.as_ref().map(|c| c.kind),
            publisher: self.contract.as_ref().map(|c| c.publisher.clone()),
            data_classes: self.contract.as_ref().map(|c| c.data_classes.clone()).unwrap_or_default(),
            license: manifest.license.clone(),
            repository: manifest.repository.clone(),
            description: manifest.description.clone(),
            build_script: manifest.build_script.is_some(),
            proc_macro: manifest.proc_macro,
            sha256: sha256.to_owned(),
        })
    }

    /// The asset as the report summarises it.
    pub fn summary(&self) -> Option<AssetSummary> {
        let manifest = self.manifest.as_ref()?;
        Some(AssetSummary {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            kind: self.contract.as_ref().map(|c| c.kind),
            publisher: self.contract.as_ref().map(|c| c.publisher.clone()),
            summary: self.contract.as_ref().map(|c| c.summary.clone()),
            license: manifest.license.clone(),
            repository: manifest.repository.clone(),
        })
    }
}

/// The finding for a manifest value that points outside the asset.
fn path_outside(path: &ManifestPath) -> Finding {
    let location = match path.line {
        Some(line) => Location::file_line("Cargo.toml", line),
        None => Location::file("Cargo.toml"),
    };
    Finding::new(
        &codes::MANIFEST_PATH_OUTSIDE,
        format!("Cargo.toml's `{}` points at `{}`, outside the asset; nothing there was read", path.key, path.value),
    )
    .at(location.with_key(path.key.clone()))
    .help("a packaged crate depends on published crates only; `cargo package` rewrites path dependencies")
}

/// Reads a TOML file of the asset: `Ok(Err(finding))` when it is missing, too large or not UTF-8.
fn read_text(
    root: &Path,
    name: &str,
    missing: &codes::Code,
    invalid: &codes::Code,
) -> Result<Result<String, Finding>, AssetError> {
    let path = root.join(name);
    let io_error = |source| AssetError::Io { path: path.clone(), source };
    let meta = match fs::metadata(&path) {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => {
            return Ok(Err(Finding::new(invalid, format!("{name} is not a regular file")).at(Location::file(name))));
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Ok(Err(Finding::new(missing, format!("the asset has no {name}")).at(Location::file(name))));
        }
        Err(err) => return Err(io_error(err)),
    };
    if meta.len() > MAX_TOML_BYTES {
        return Ok(Err(Finding::new(
            invalid,
            format!("{name} is {} bytes, over the {MAX_TOML_BYTES}-byte limit", meta.len()),
        )
        .at(Location::file(name))));
    }
    let bytes = fs::read(&path).map_err(io_error)?;
    Ok(String::from_utf8(bytes).map_err(|err| {
        let line = 1 + err.as_bytes()[..err.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        Finding::new(invalid, format!("{name} is not valid UTF-8"))
            .at(Location::file_line(name, u32::try_from(line).unwrap_or(u32::MAX)))
    }))
}

/// Reports and removes `.cargo/config*` and `rust-toolchain*` from the scratch copy.
fn neutralise_config(root: &Path) -> Result<Vec<Finding>, AssetError> {
    let mut findings = Vec::new();
    for (name, code) in IGNORED_CONFIG {
        let path = root.join(name);
        if path.symlink_metadata().is_err() {
            continue;
        }
        findings.push(
            Finding::new(code, format!("`{name}` is shipped with the asset and ignored"))
                .at(Location::file(name))
                .help("leave tool configuration out of the package; the marketplace builds with its own"),
        );
        let removed = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        removed.map_err(|source| AssetError::Io { path, source })?;
    }
    Ok(findings)
}
