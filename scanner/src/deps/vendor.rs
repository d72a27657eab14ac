//! The vendor directory of a sandboxed build: every crates.io package of the lockfile, from its verified
//! `.crate`, unpacked with intake's checks into `<name>-<version>/` beside a `.cargo-checksum.json` that
//! pins the lockfile's checksum (cargo's directory-source format). The sandbox mounts it read-only.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rustsec::Lockfile;
use rustsec::package::Package;

use super::{Dependencies, Unavailable};
use crate::intake::{self, IntakeLimits, Select};
use crate::stages::audit::Origin;

/// What was vendored.
#[derive(Debug)]
pub struct Vendored {
    /// The directory (host path).
    pub dir: PathBuf,
    /// Packages unpacked into it.
    pub crates: usize,
    /// Packages the build would need that are not in it, each with the reason, sorted.
    pub missing: Vec<String>,
}

/// The vendor directory could not be written (our disk, not the asset).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VendorError {
    /// A directory or file could not be created.
    #[error("cannot write the vendor directory at {}: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Vendors every non-path package of `lockfile` into `dir` (created; must not exist).
pub fn vendor(dependencies: &mut Dependencies<'_>, lockfile: &Lockfile, dir: &Path) -> Result<Vendored, VendorError> {
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| VendorError::Write { path, source }
    };
    fs::create_dir(dir).map_err(write_error(dir))?;
    let packages: Vec<&Package> = lockfile.packages.iter().filter(|p| Origin::of(p) != Origin::Path).collect();
    let files = dependencies.crate_files(&packages);
    let limits =
        IntakeLimits { max_archive_bytes: dependencies.options().limits.max_crate_bytes, ..IntakeLimits::default() };
    let mut vendored = Vendored { dir: dir.to_owned(), crates: 0, missing: Vec::new() };
    for (index, (package, file)) in packages.iter().zip(files).enumerate() {
        let outcome = match file {
            Ok(path) => unpack_one(package, &path, dir, index, &limits)?,
            Err(why) => Err(why.to_string()),
        };
        match outcome {
            Ok(()) => vendored.crates += 1,
            Err(why) => vendored.missing.push(format!("{} {}: {why}", package.name, package.version)),
        }
    }
    vendored.missing.sort();
    Ok(vendored)
}

/// Unpacks one verified crate; `Ok(Err(why))` when the crate itself is unusable.
fn unpack_one(
    package: &Package,
    file: &Path,
    dir: &Path,
    index: usize,
    limits: &IntakeLimits,
) -> Result<Result<(), String>, VendorError> {
    let folder = format!("{}-{}", package.name, package.version);
    // Unpacked into a staging folder of its own first: a crate's tar decides its top folder's name, and only
    // the one named for this package is moved into place.
    let staging = dir.join(format!(".staging-{index}"));
    fs::create_dir(&staging).map_err(|source| VendorError::Write { path: staging.clone(), source })?;
    let unpacked = intake::unpack_crate(file, &staging, limits, Select::All)
        .map_err(|err| VendorError::Write { path: staging.clone(), source: io::Error::other(err) })?;
    let checksum = package.checksum.as_ref().map(ToString::to_string).unwrap_or_default();
    let result = if unpacked.sha256 != checksum {
        // The cache is content-addressed and verified on insert; a difference means it was altered since.
        Err(Unavailable::ChecksumMismatch(format!("the cached .crate's sha256 is {}, not {checksum}", unpacked.sha256))
            .to_string())
    } else if let Some(refused) = unpacked.findings.first() {
        Err(format!("not unpacked: {}", refused.message))
    } else if !staging.join(&folder).join("Cargo.toml").is_file() {
        Err(format!("no {folder}/Cargo.toml in its .crate"))
    } else {
        let target = dir.join(&folder);
        fs::rename(staging.join(&folder), &target)
            .map_err(|source| VendorError::Write { path: target.clone(), source })?;
        // cargo's directory source: the package checksum must equal the lockfile's; no per-file sums.
        let pin = format!("{{\"files\":{{}},\"package\":\"{checksum}\"}}");
        fs::write(target.join(".cargo-checksum.json"), pin)
            .map_err(|err| format!("not vendored: cannot write its .cargo-checksum.json ({err})"))
    };
    fs::remove_dir_all(&staging).map_err(|source| VendorError::Write { path: staging, source })?;
    Ok(result)
}
